-- docs/training.md: network values in a table of models.
CREATE TABLE models (name text PRIMARY KEY, net hanami.network);
INSERT INTO models VALUES ('digits', hanami.network('{"layers": [64, 32, 10]}', 1));
-- docs/training.md, early stopping: few noisy rows of a smooth curve.
CREATE TABLE noisy AS
SELECT i / 40.0 AS x, sin(6 * i / 40.0) + ((i * 7919) % 13 - 6) / 10.0 AS y
FROM generate_series(1, 60) i;
