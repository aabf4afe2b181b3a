-- Accuracy floors on real data with raw, unscaled values (the network learns
-- its input scaling): scikit-learn's digits, wine and diabetes, 25 % held out.
-- The CSV files are written by examples/datasets.py into data/.
SET client_min_messages = warning;
\getenv abs_srcdir PG_ABS_SRCDIR
\set digits_csv :abs_srcdir '/data/digits.csv'
\set wine_csv :abs_srcdir '/data/wine.csv'
\set diabetes_csv :abs_srcdir '/data/diabetes.csv'

CREATE TABLE digits (id int, x real[], label int, is_test boolean);
COPY digits FROM :'digits_csv' WITH (FORMAT csv, HEADER true);
CREATE TABLE wine (id int, x real[], label int, is_test boolean);
COPY wine FROM :'wine_csv' WITH (FORMAT csv, HEADER true);
CREATE TABLE diabetes (id int, x real[], target real, is_test boolean);
COPY diabetes FROM :'diabetes_csv' WITH (FORMAT csv, HEADER true);

SELECT (SELECT max(v) FROM digits, unnest(x) v) AS digits_max_pixel,
       (SELECT max(v) FROM wine, unnest(x) v) AS wine_max_value;

-- digits: 64 raw pixels (0..16), 10 classes; floor 95 %
CREATE TABLE digits_model AS
SELECT hanami.fit(hanami.network('{"layers": [64, 64, 10]}', 1),
                  'SELECT x, label FROM digits WHERE NOT is_test',
                  '{"epochs": 40, "batch_size": 16}') AS net;
SELECT (hanami.verify(net, 'SELECT x, label FROM digits WHERE is_test') ->> 'accuracy')::float8 >= 0.95 AS digits_accuracy_ge_95,
       (hanami.verify(net, 'SELECT x, label FROM digits WHERE is_test') ->> 'rows')::int AS test_rows
FROM digits_model;
-- inline prediction agrees with verify
SELECT avg((hanami.classify(m.net, d.x) = d.label)::int) >= 0.95 AS inline_accuracy_ge_95
FROM digits d, digits_model m WHERE d.is_test;

-- wine: 13 raw features up to 1680, 3 classes; floor 90 %
SELECT (hanami.verify(n, 'SELECT x, label FROM wine WHERE is_test') ->> 'accuracy')::float8 >= 0.90 AS wine_accuracy_ge_90
FROM (SELECT hanami.fit(hanami.network('{"layers": [13, 16, 3]}', 1),
                        'SELECT x, label FROM wine WHERE NOT is_test',
                        '{"epochs": 100, "batch_size": 8}') AS n) s;

-- without learned scaling the same net on raw wine values does worse
SELECT (hanami.verify(n, 'SELECT x, label FROM wine WHERE is_test') ->> 'accuracy')::float8 < 0.90 AS unscaled_is_worse
FROM (SELECT hanami.fit(hanami.network('{"layers": [13, 16, 3], "input_scaling": false}', 1),
                        'SELECT x, label FROM wine WHERE NOT is_test',
                        '{"epochs": 100, "batch_size": 8}') AS n) s;

-- diabetes regression (target 25..346): test mse clearly below the mse of
-- predicting the training mean
WITH model AS (
	SELECT hanami.fit(hanami.network('{"layers": [10, 16, 1], "activation": "tanh"}', 1),
	                  'SELECT x, target FROM diabetes WHERE NOT is_test',
	                  '{"epochs": 60, "batch_size": 16, "weight_decay": 0.001}') AS net
), baseline AS (
	SELECT avg((d.target - m.mean) ^ 2) AS mse
	FROM diabetes d, (SELECT avg(target) AS mean FROM diabetes WHERE NOT is_test) m
	WHERE d.is_test
)
SELECT (hanami.verify(net, 'SELECT x, target FROM diabetes WHERE is_test') ->> 'mse')::float8 <= 0.75 * b.mse AS beats_mean_by_25_percent,
       (hanami.verify(net, 'SELECT x, target FROM diabetes WHERE is_test') ->> 'r2')::float8 >= 0.25 AS r2_ge_025
FROM model, baseline b;
