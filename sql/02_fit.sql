-- fit, run, classify and verify on small data; options; bad queries.
SET client_min_messages = warning;

-- XOR: a classic that needs the hidden layer
CREATE TABLE xor (a real, b real, y int);
INSERT INTO xor SELECT a, b, (a::int # b::int) FROM (VALUES (0, 0), (0, 1), (1, 0), (1, 1)) v(a, b), generate_series(1, 25);

CREATE TABLE m AS
SELECT hanami.fit(hanami.network('{"layers": [2, 8, 2], "activation": "tanh"}', 1),
                  'SELECT a, b, y FROM xor', '{"epochs": 200, "learning_rate": 0.05, "batch_size": 4}') AS net;
SELECT a, b, hanami.classify(net, ARRAY[a, b]::real[]) AS class
FROM m, (VALUES (0, 0), (0, 1), (1, 0), (1, 1)) v(a, b) ORDER BY a, b;
SELECT (hanami.verify(net, 'SELECT a, b, y FROM xor') ->> 'accuracy')::float8 AS accuracy,
       hanami.verify(net, 'SELECT a, b, y FROM xor') -> 'confusion_matrix' AS confusion
FROM m;

-- outputs are probabilities that sum to one
SELECT abs((SELECT sum(v) FROM unnest(hanami.run(net, '{1,0}')) v) - 1) < 1e-5 AS sums_to_one,
       array_length(hanami.run(net, '{1,0}'), 1) AS outputs FROM m;

-- fit never changes its input value and is deterministic given the seeds
SELECT hanami.fit(n, 'SELECT a, b, y FROM xor', '{"epochs": 3}')::bytea =
       hanami.fit(n, 'SELECT a, b, y FROM xor', '{"epochs": 3}')::bytea AS deterministic,
       hanami.fit(n, 'SELECT a, b, y FROM xor', '{"epochs": 3}')::bytea <> n::bytea AS changed
FROM (SELECT hanami.network('{"layers": [2, 4, 2]}', 3) AS n) s;
SELECT hanami.fit(n, 'SELECT a, b, y FROM xor', '{"epochs": 3, "seed": 1}')::bytea =
       hanami.fit(n, 'SELECT a, b, y FROM xor', '{"epochs": 3, "seed": 2}')::bytea AS same_with_other_seed
FROM (SELECT hanami.network('{"layers": [2, 4, 2]}', 3) AS n) s;

-- training counters and scaling show in info
SELECT hanami.info(net) -> 'trained' AS trained, hanami.info(net) ->> 'input_scaling' AS scaling FROM m;

-- sgd with momentum, a sigmoid output with 0/1 targets, boolean target
SELECT hanami.classify(hanami.fit(hanami.network('{"layers": [2, 8, {"count": 1, "activation": "sigmoid"}], "activation": "tanh"}', 2),
                                  'SELECT a, b, y::bool FROM xor',
                                  '{"epochs": 300, "optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9, "batch_size": 4}'),
                       ARRAY[a, b]::real[]) AS class
FROM (VALUES (0, 0), (0, 1), (1, 0), (1, 1)) v(a, b) ORDER BY a, b;

-- regression with a real target and multi-output with an array target
CREATE TABLE line AS SELECT x::real AS x, (3 * x + 100)::real AS y FROM generate_series(-50, 50) x;
SELECT (hanami.verify(n, 'SELECT x, y FROM line') ->> 'r2')::float8 > 0.99 AS fits_line,
       abs((hanami.run(n, '{10}'))[1] - 130) < 3 AS predicts_130
FROM (SELECT hanami.fit(hanami.network('{"layers": [1, 8, 1]}', 4), 'SELECT x, y FROM line', '{"epochs": 200, "learning_rate": 0.01}') AS n) s;
SELECT (hanami.verify(n, 'SELECT x, ARRAY[y, -y] FROM line') ->> 'r2')::float8 > 0.99 AS fits_two_outputs
FROM (SELECT hanami.fit(hanami.network('{"layers": [1, 8, {"count": 2, "activation": "identity"}]}', 4),
                        'SELECT x, ARRAY[y, -y] FROM line', '{"epochs": 200}') AS n) s;

-- features from several columns of several types, target by name
CREATE TABLE mixed (i int2, b bool, arr float8[], n numeric, label int8, extra int);
INSERT INTO mixed SELECT g % 3, g % 2 = 0, ARRAY[g, g * 2], g / 7.0, g % 2, 0 FROM generate_series(1, 40) g;
SELECT hanami.info(hanami.fit(hanami.network('{"layers": [6, 3, 2]}', 1),
                   'SELECT i, b, arr, n, label, extra FROM mixed', '{"target": "label", "epochs": 2}')) -> 'trained' AS trained;

-- stop conditions
SELECT hanami.info(hanami.fit(hanami.network('{"layers": [2, 4, 2]}', 1), 'SELECT a, b, y FROM xor',
                              '{"epochs": 50, "max_iterations": 7, "batch_size": 10}')) -> 'trained' AS max_iterations;
SELECT (hanami.info(hanami.fit(hanami.network('{"layers": [2, 4, 2]}', 1), 'SELECT a, b, y FROM xor',
                               '{"epochs": 1000, "error_threshold": 1e6}')) -> 'trained' ->> 'epochs')::int AS error_threshold_epochs;
SELECT (hanami.info(hanami.fit(hanami.network('{"layers": [2, 4, 2]}', 1), 'SELECT a, b, y FROM xor',
                               '{"epochs": 1000000, "timeout": 0.2}')) -> 'trained' ->> 'epochs')::int < 1000000 AS timeout_stops;
SELECT hanami.info(hanami.fit(hanami.network('{"layers": [2, 4, 2]}', 1), 'SELECT a, b, y FROM xor',
                              '{"epochs": 2, "validation_split": 0.25}')) -> 'trained' AS with_validation;

-- to_train / to_skip freeze layers: image = 72-byte header, 3 layer records
-- of 48 bytes, 32 bytes of scaling, then layer 1 (48 bytes), layer 2 (40 bytes)
SELECT substring(n::bytea FROM 249 FOR 48) = substring(f::bytea FROM 249 FOR 48) AS hidden_frozen,
       substring(n::bytea FROM 297 FOR 40) <> substring(f::bytea FROM 297 FOR 40) AS output_trained,
       length(n::bytea) AS bytes
FROM (SELECT n, hanami.fit(n, 'SELECT a, b, y FROM xor', '{"epochs": 2, "to_skip": ["hidden"]}') AS f
      FROM (SELECT hanami.network('{"layers": [2, {"count": 4, "name": "hidden"}, 2], "input_scaling": false}', 1) AS n) s) t;
SELECT substring(n::bytea FROM 249 FOR 48) <> substring(f::bytea FROM 249 FOR 48) AS hidden_trained,
       substring(n::bytea FROM 297 FOR 40) = substring(f::bytea FROM 297 FOR 40) AS output_frozen
FROM (SELECT n, hanami.fit(n, 'SELECT a, b, y FROM xor', '{"epochs": 2, "to_train": [1]}') AS f
      FROM (SELECT hanami.network('{"layers": [2, {"count": 4, "name": "hidden"}, 2], "input_scaling": false}', 1) AS n) s) t;

-- zero epochs: the rows are read and checked and the scaling is learned,
-- no weight moves and no epoch is counted
SELECT hanami.info(f) -> 'trained' AS trained,
       hanami.info(n) ->> 'input_scaling' AS before,
       hanami.info(f) ->> 'input_scaling' AS after,
       hanami.run(f, '{0.5, 0.5}') <> hanami.run(n, '{0.5, 0.5}') AS scaling_changes_outputs
FROM (SELECT n, hanami.fit(n, 'SELECT a, b, y FROM xor', '{"epochs": 0}') AS f
      FROM (SELECT hanami.network('{"layers": [2, 4, 2]}', 1) AS n) s) t;
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y FROM xor WHERE false', '{"epochs": 0}');

-- verbose is accepted (its NOTICEs per epoch are checked in t/060_progress.pl)
SELECT hanami.info(hanami.fit(hanami.network('{"layers": [2, 4, 2]}', 1), 'SELECT a, b, y FROM xor',
                              '{"epochs": 2, "verbose": true, "validation_split": 0.2}')) -> 'trained' AS trained;

-- bad options
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y FROM xor', '{"epoch": 3}');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y FROM xor', '{"epochs": "3"}');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y FROM xor', '{"epochs": -1}');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y FROM xor', '{"batch_size": 1.5}');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y FROM xor', '{"learning_rate": -1}');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y FROM xor', '{"optimizer": "rmsprop"}');
SELECT hanami.fit(hanami.network('{"layers": [2, {"count": 2, "activation": "identity"}]}', 1), 'SELECT a, b, y FROM xor', '{"loss": "cross_entropy"}');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y FROM xor', '{"loss": "l1"}');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y FROM xor', '{"validation_split": 1}');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y FROM xor', '{"shuffle": 1}');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y FROM xor', '{"to_skip": [1]}');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y FROM xor', '{"to_train": ["nope"]}');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y FROM xor', '[1]');
SELECT hanami.verify(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y FROM xor', '{"epochs": 3}');

-- bad queries and data
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y FROM xor WHERE false');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, y FROM xor');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, a, y FROM xor');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y + 2 FROM xor');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, -1 FROM xor');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y::real FROM xor');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b::text, y FROM xor');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, NULLIF(b, 1), y FROM xor');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT ARRAY[a, NULL], y FROM xor');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT CASE WHEN a = 1 THEN ARRAY[a, b] ELSE ARRAY[a, b, b] END, y FROM xor');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT ARRAY[[a, b]], y FROM xor');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, ''NaN''::float8, y FROM xor');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT y FROM xor');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y FROM xor', '{"target": "z"}');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y, y FROM xor', '{"target": "y"}');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'DELETE FROM xor RETURNING a, b, y');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'WITH d AS (DELETE FROM xor RETURNING *) SELECT a, b, y FROM d');
SELECT count(*) AS xor_rows_kept FROM xor;
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT a, b, y FROM no_such_table');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), 'SELECT 1; SELECT 2');
SELECT hanami.fit(hanami.network('{"layers": [2, 2]}', 1), NULL);
SELECT hanami.fit(NULL, 'SELECT a, b, y FROM xor');
SET hanami.dataset_memory = 64;
-- fit streams rows that exceed the budget (see 20_fastpaths); verify holds them
SELECT hanami.verify(hanami.network('{"layers": [200, 2]}', 1), 'SELECT array_fill(1.0::real, ARRAY[200]), g % 2 FROM generate_series(1, 1000) g');
RESET hanami.dataset_memory;
SET hanami.no_such_setting = 1;

-- bad inputs to run and classify
SELECT hanami.run(net, '{1}') FROM m;
SELECT hanami.run(net, '{1,2,3}') FROM m;
SELECT hanami.run(net, '{}') FROM m;
SELECT hanami.run(net, '{{1,2}}') FROM m;
SELECT hanami.run(net, '{1,NULL}') FROM m;
SELECT hanami.run(net, '{1,NaN}') FROM m;
SELECT hanami.run(net, '{1,Infinity}') FROM m;
SELECT hanami.run(net, NULL) IS NULL AS strict_null FROM m;

-- statement_timeout cancels a long fit
SET statement_timeout = '300ms';
SELECT hanami.fit(hanami.network('{"layers": [2, 64, 2]}', 1), 'SELECT a, b, y FROM xor', '{"epochs": 1000000}');
RESET statement_timeout;
SELECT 1 AS still_alive;
