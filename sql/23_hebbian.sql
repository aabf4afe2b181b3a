-- Hebbian learning of dense networks ("rule": "hebbian"): hidden layers
-- learn from their inputs by competitive Oja, the output layer is a
-- read-out trained on the labels.  scikit-learn's digits, 25 % held out
-- (examples/datasets.py writes data/digits.csv).
SET client_min_messages = warning;
\getenv abs_srcdir PG_ABS_SRCDIR
\set digits_csv :abs_srcdir '/data/digits.csv'
CREATE TABLE hb_digits (id int, x real[], label int, is_test boolean);
COPY hb_digits FROM :'digits_csv' WITH (FORMAT csv, HEADER true);

SELECT hanami.capabilities() -> 'rules' AS rules;

-- 64-256-10: the Hebbian hidden layer against the same network with its
-- random hidden layer frozen (only the read-out trained), same epochs and
-- read-out settings; and backpropagation of every layer
CREATE TABLE hb_runs AS
SELECT name, (hanami.verify(hanami.fit(
         hanami.network('{"layers": [64, {"count": 256, "name": "hidden"}, 10]}', 1),
         'SELECT x, label FROM hb_digits WHERE NOT is_test',
         o || '{"epochs": 40, "batch_size": 16}'),
       'SELECT x, label FROM hb_digits WHERE is_test') ->> 'accuracy')::float8 AS acc
FROM (VALUES ('hebbian', '{"rule": "hebbian"}'::jsonb),
             ('frozen', '{"to_skip": ["hidden"]}'),
             ('backprop', '{}')) v(name, o);
SELECT h.acc >= 0.95 AS hebbian_ge_95,
       h.acc >= f.acc - 0.02 AS hebbian_within_2_points_of_frozen_random,
       f.acc >= 0.95 AS frozen_ge_95,
       b.acc >= 0.96 AS backprop_ge_96
FROM hb_runs h, hb_runs f, hb_runs b
WHERE h.name = 'hebbian' AND f.name = 'frozen' AND b.name = 'backprop';

-- labels never reach the hidden layers: without a read-out, labels
-- permuted give the same network, byte for byte
SELECT hanami.fit(n, 'SELECT x, label FROM hb_digits WHERE NOT is_test', o)::text
     = hanami.fit(n, 'SELECT x, (label + 3) % 10 FROM hb_digits WHERE NOT is_test', o)::text
       AS same_bytes_with_permuted_labels
FROM (SELECT hanami.network('{"layers": [64, 32, 10]}', 2) AS n,
             '{"rule": "hebbian", "readout": false, "epochs": 3, "winners": 2, "anti_hebbian": 0.2}'::jsonb AS o) s;
-- with the read-out the output layer learns from the labels
SELECT hanami.fit(n, 'SELECT x, label FROM hb_digits WHERE NOT is_test', o)::text
    <> hanami.fit(n, 'SELECT x, (label + 3) % 10 FROM hb_digits WHERE NOT is_test', o)::text
       AS readout_differs
FROM (SELECT hanami.network('{"layers": [64, 32, 10]}', 2) AS n,
             '{"rule": "hebbian", "epochs": 2}'::jsonb AS o) s;

-- named models: train() takes the rule
SELECT hanami.create_model('hebb', '{"layers": [64, {"count": 64, "name": "hidden"}, 10]}', seed => 1) IS NOT NULL AS created;
SELECT hanami.train('hebb', 'SELECT x, label FROM hb_digits WHERE NOT is_test',
                    '{"rule": "hebbian", "epochs": 20, "winners": 2}') IS NOT NULL AS trained;
SELECT (hanami.evaluate('hebb', 'SELECT x, label FROM hb_digits WHERE is_test') ->> 'accuracy')::float8 >= 0.85 AS model_accuracy_ge_85;

-- refused with the option named
\set VERBOSITY default
SELECT hanami.fit(hanami.network('{"layers": [4, 8, 2]}', 1), 'SELECT ARRAY[1,2,3,4]::real[], 0', '{"rule": "oja"}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(hanami.network('{"layers": [4, 8, 2]}', 1), 'SELECT ARRAY[1,2,3,4]::real[], 0', '{"winners": 2}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(hanami.network('{"layers": [4, 8, 2]}', 1), 'SELECT ARRAY[1,2,3,4]::real[], 0', '{"rule": "hebbian", "hebbian_rule": "bcm"}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(hanami.network('{"layers": [4, 8, 2]}', 1), 'SELECT ARRAY[1,2,3,4]::real[], 0', '{"rule": "hebbian", "winners": 8}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(hanami.network('{"layers": [4, 8, 2]}', 1), 'SELECT ARRAY[1,2,3,4]::real[], 0', '{"rule": "hebbian", "readout": false, "learning_rate": 0.1}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(hanami.network('{"layers": [4, 8, 2]}', 1), 'SELECT ARRAY[1,2,3,4]::real[], 0', '{"rule": "hebbian", "hebbian_learning_rate": 2}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(hanami.network('{"layers": [4, 8, 2]}', 1), 'SELECT ARRAY[1,2,3,4]::real[], 0', '{"rule": "hebbian", "device": "opencl"}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(hanami.network('{"kind": "hanami", "layers": [4, 8, 2]}', 1), 'SELECT ARRAY[1,2,3,4]::real[], 0', '{"rule": "hebbian"}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.train_async('hebb', 'SELECT x, label FROM hb_digits', '{"rule": "hebbian", "anti_hebbian": -1}');
\echo :LAST_ERROR_SQLSTATE

DROP TABLE hb_digits, hb_runs;
