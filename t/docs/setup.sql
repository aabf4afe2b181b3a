-- Tables the SQL snippets of README.md and docs/*.md query, with the shapes
-- the docs give them: the 8x8 digits (pixels, x: 64 values 0..16; label;
-- is_test) and a small stand-in for Fashion-MNIST (784 raw pixels).
-- Values are random but fixed (setseed).
SELECT setseed(0.5);
CREATE TABLE digits AS
SELECT g AS id,
       ARRAY(SELECT floor(random() * 17)::real FROM generate_series(1, 64) WHERE g > 0) AS pixels,
       (g % 10) AS label,
       g % 5 = 0 AS is_test
FROM generate_series(1, 400) g;
ALTER TABLE digits ADD COLUMN x real[];
UPDATE digits SET x = pixels;
CREATE TABLE fmnist_train AS
SELECT g AS id,
       ARRAY(SELECT floor(random() * 256)::real FROM generate_series(1, 784) WHERE g > 0) AS x,
       (g % 10) AS label
FROM generate_series(1, 200) g;
CREATE TABLE fmnist_test AS
SELECT g AS id,
       ARRAY(SELECT floor(random() * 256)::real FROM generate_series(1, 784) WHERE g > 0) AS x,
       (g % 10) AS label
FROM generate_series(1, 50) g;
-- churn: 12 features in an array, the label
CREATE TABLE churn_all AS
SELECT g AS id,
       ARRAY(SELECT round((random() * 10)::numeric, 2)::real FROM generate_series(1, 12) WHERE g > 0) AS features,
       (g % 3 = 0)::int AS churned
FROM generate_series(1, 600) g;
CREATE TABLE churn_train AS SELECT features, churned FROM churn_all WHERE id % 5 <> 0;
CREATE TABLE churn_test AS SELECT features, churned FROM churn_all WHERE id % 5 = 0;
CREATE TABLE churn_recent AS SELECT features, churned FROM churn_all WHERE id > 500;
CREATE TABLE customers AS SELECT id, features FROM churn_all WHERE id % 7 = 0;
