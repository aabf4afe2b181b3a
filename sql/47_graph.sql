-- Graphs of named layers (kind "graph"): layers read earlier layers by
-- name ("from"), several input and output layers, a loss per output.
-- scikit-learn's digits, 25 % held out (examples/datasets.py writes
-- data/digits.csv).
SET client_min_messages = warning;
\getenv abs_srcdir PG_ABS_SRCDIR
\set digits_csv :abs_srcdir '/data/digits.csv'
CREATE TABLE gr_digits (id int, x real[], label int, is_test boolean);
COPY gr_digits FROM :'digits_csv' WITH (FORMAT csv, HEADER true);

SELECT hanami.capabilities() -> 'kinds' ? 'graph' AS graph_listed;

-- a chain 64-32-10, and the same with the output also reading the input
CREATE TABLE gr_nets AS
SELECT 'chain' AS name, hanami.network('{"kind": "graph", "layers": [{"count": 64, "name": "in"}, {"count": 32, "name": "h"}, {"count": 10, "name": "out"}]}', 1) AS net
UNION ALL
SELECT 'skip', hanami.network('{"layers": [{"count": 64, "name": "in"}, {"count": 32, "name": "h"}, {"count": 10, "name": "out", "from": ["h", "in"]}]}', 1);
SELECT name, hanami.info(net) ->> 'kind' AS kind,
       hanami.info(net) -> 'parameters' AS parameters,
       hanami.info(net) -> 'edges' AS edges,
       hanami.info(net) -> 'input_layers' AS inputs,
       hanami.info(net) -> 'output_layers' AS outputs
FROM gr_nets ORDER BY name;
-- the skip connection changes the function
SELECT hanami.run(c.net, d.x) <> hanami.run(s.net, d.x) AS outputs_differ
FROM gr_nets c, gr_nets s, gr_digits d
WHERE c.name = 'chain' AND s.name = 'skip' AND d.id = 1;
-- a chain described as a graph computes what the dense network of its seed does
SELECT max(abs(a - b)) < 1e-5 AS chain_is_dense
FROM gr_nets g, gr_digits d,
     LATERAL unnest(hanami.run(g.net, d.x),
                    hanami.run(hanami.network('{"layers": [64, 32, 10]}', 1), d.x)) u(a, b)
WHERE g.name = 'chain' AND d.id <= 20;
-- a description without "from", "input" or "output" stays dense
SELECT hanami.info(hanami.network('{"layers": [64, 32, 10]}', 1)) ->> 'kind' AS plain_is_dense;

-- both learn the digits; held-out accuracy floors
CREATE TABLE gr_trained AS
SELECT name, hanami.fit(net, 'SELECT x, label FROM gr_digits WHERE NOT is_test',
                        '{"epochs": 30, "batch_size": 16, "learning_rate": 0.003, "seed": 1}') AS net
FROM gr_nets;
SELECT name, (hanami.verify(net, 'SELECT x, label FROM gr_digits WHERE is_test') ->> 'accuracy')::float8 >= 0.9 AS accuracy_ge_90,
       hanami.info(net) ->> 'input_scaling' AS input_scaling
FROM gr_trained ORDER BY name;

-- the text form reads back to the same value
SELECT name, hanami.network(net::text::jsonb)::text = net::text AS text_round_trip,
       net::text::hanami.network::bytea = net::bytea AS same_bytes
FROM gr_trained ORDER BY name;

-- two branches merged: relu and tanh views of the input, side by side
SELECT hanami.info(n) -> 'edges' AS edges, hanami.info(n) -> 'parameters' AS parameters,
       (hanami.verify(hanami.fit(n, 'SELECT x, label FROM gr_digits WHERE NOT is_test',
                                 '{"epochs": 30, "batch_size": 16, "learning_rate": 0.003, "seed": 1}'),
                      'SELECT x, label FROM gr_digits WHERE is_test') ->> 'accuracy')::float8 >= 0.9 AS merge_accuracy_ge_90
FROM hanami.network('{"layers": [{"count": 64, "name": "in"},
                                {"count": 24, "name": "a", "activation": "relu"},
                                {"count": 24, "name": "b", "from": "in", "activation": "tanh"},
                                {"count": 10, "name": "out", "from": ["a", "b"]}]}', 2) n;

-- two input layers fed from one array: the top and bottom halves of a digit
SELECT hanami.info(n) -> 'input_layers' AS inputs, hanami.info(n) -> 'edges' AS edges,
       (hanami.verify(hanami.fit(n, 'SELECT x, label FROM gr_digits WHERE NOT is_test',
                                 '{"epochs": 30, "batch_size": 16, "learning_rate": 0.003, "seed": 1}'),
                      'SELECT x, label FROM gr_digits WHERE is_test') ->> 'accuracy')::float8 >= 0.9 AS two_inputs_accuracy_ge_90
FROM hanami.network('{"layers": [{"count": 32, "name": "top"}, {"count": 32, "name": "bottom", "input": true},
                                {"count": 16, "name": "ht", "from": "top"}, {"count": 16, "name": "hb", "from": "bottom"},
                                {"count": 10, "name": "out", "from": ["ht", "hb"]}]}', 3) n;

-- two output layers: the class (softmax) and whether it is even (sigmoid);
-- targets are values, the output layers' side by side
CREATE TABLE gr_two AS
SELECT hanami.fit(hanami.network('{"layers": [{"count": 64, "name": "in"}, {"count": 32, "name": "h"},
                                          {"count": 10, "name": "digit", "output": true},
                                          {"count": 1, "name": "even", "from": "h", "output": true, "activation": "sigmoid"}]}', 4),
                  $$SELECT x, (SELECT array_agg(CASE WHEN i = label THEN 1 ELSE 0 END ORDER BY i) FROM generate_series(0, 9) i)
                              || ARRAY[CASE WHEN label % 2 = 0 THEN 1 ELSE 0 END]::real[]
                     FROM gr_digits WHERE NOT is_test$$,
                  '{"epochs": 20, "batch_size": 16, "learning_rate": 0.003, "seed": 1}') AS net;
SELECT hanami.info(net) -> 'output_layers' AS outputs,
       hanami.info(net) -> 'layers' -> 2 ->> 'loss' AS digit_loss,
       hanami.info(net) -> 'layers' -> 3 ->> 'loss' AS even_loss
FROM gr_two;
SELECT avg(((SELECT k - 1 FROM unnest(o[1:10]) WITH ORDINALITY u(v, k) ORDER BY v DESC LIMIT 1) = label)::int) >= 0.9 AS digit_accuracy_ge_90,
       avg(((o[11] >= 0.5) = (label % 2 = 0))::int) >= 0.9 AS even_accuracy_ge_90
FROM gr_two, gr_digits d, LATERAL hanami.run(net, d.x) o
WHERE d.is_test;

-- inputs and outputs by layer name: run_named
SELECT hanami.run_named(net, jsonb_build_object('in', to_jsonb(x))) ? 'digit' AS has_digit,
       jsonb_array_length(hanami.run_named(net, jsonb_build_object('in', to_jsonb(x))) -> 'even') AS even_values,
       (SELECT array_agg(v::real ORDER BY k) FROM jsonb_array_elements_text(
           hanami.run_named(net, jsonb_build_object('in', to_jsonb(x))) -> 'digit') WITH ORDINALITY e(v, k))
         = (hanami.run(net, x))[1:10] AS same_as_run
FROM gr_two, gr_digits WHERE id = 3;
SELECT hanami.run_named(hanami.network('{"layers": [{"count": 2, "name": "a"}, {"count": 1, "name": "b", "input": true},
                                                   {"count": 1, "name": "sum", "from": ["a", "b"], "activation": "identity"}]}', 1),
                        '{"b": [1], "a": [0, 0]}') -> 'sum' -> 0 IS NOT NULL AS by_name_in_any_order;
\set VERBOSITY default
SELECT hanami.run_named(net, '{"in": [1, 2]}') FROM gr_two;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.run_named(net, '{"input": []}') FROM gr_two;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.run_named(net, '{}') FROM gr_two;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.run_named(hanami.network('{"layers": [4, 2]}'), '{"x": [1, 2, 3, 4]}');
\echo :LAST_ERROR_SQLSTATE
-- a class index cannot score several output layers
SELECT hanami.verify(net, 'SELECT x, label FROM gr_digits WHERE is_test') FROM gr_two;
\echo :LAST_ERROR_SQLSTATE

-- named columns: two input layers and two output layers fed by the
-- "inputs" and "targets" options give the bytes of the same fit from one
-- array and one target array; verify reports each output layer
CREATE TABLE gr_named AS
SELECT n, hanami.fit(n, $$SELECT label % 2 AS is_even, x[33:64] AS lower, label, x[1:32] AS upper
                           FROM gr_digits WHERE NOT is_test$$,
                     '{"epochs": 8, "batch_size": 16, "learning_rate": 0.003, "seed": 1,
                       "inputs": {"bottom": "lower", "top": "upper"},
                       "targets": {"even": "is_even", "digit": "label"}}') AS named,
       hanami.fit(n, $$SELECT x, (SELECT array_agg(CASE WHEN i = label THEN 1 ELSE 0 END ORDER BY i) FROM generate_series(0, 9) i)
                              || ARRAY[label % 2]::real[]
                     FROM gr_digits WHERE NOT is_test$$,
                     '{"epochs": 8, "batch_size": 16, "learning_rate": 0.003, "seed": 1}') AS plain
FROM hanami.network('{"layers": [{"count": 32, "name": "top"}, {"count": 32, "name": "bottom", "input": true},
                                {"count": 24, "name": "h", "from": ["top", "bottom"]},
                                {"count": 10, "name": "digit", "output": true},
                                {"count": 1, "name": "even", "from": "h", "output": true, "activation": "sigmoid"}]}', 6) n;
SELECT named::text = plain::text AS named_columns_same_bytes FROM gr_named;
SELECT (m -> 'outputs' -> 'digit' ->> 'accuracy')::float8 >= 0.85 AS digit_accuracy_ge_85,
       (m -> 'outputs' -> 'even' ->> 'accuracy')::float8 >= 0.85 AS even_accuracy_ge_85
FROM gr_named, hanami.verify(named, 'SELECT x[1:32] AS upper, x[33:64] AS lower, label, label % 2 AS is_even FROM gr_digits WHERE is_test',
                             '{"inputs": {"top": "upper", "bottom": "lower"}, "targets": {"digit": "label", "even": "is_even"}}') m;

-- named models: create_model, train with to_skip, predict, evaluate
SELECT hanami.create_model('gr_model', '{"layers": [{"count": 64, "name": "in"}, {"count": 32, "name": "h"}, {"count": 10, "name": "out", "from": ["h", "in"]}]}', seed => 5) IS NOT NULL AS created;
SELECT hanami.train('gr_model', 'SELECT x, label FROM gr_digits WHERE NOT is_test',
                    '{"epochs": 20, "batch_size": 16, "learning_rate": 0.003}') IS NOT NULL AS trained;
SELECT (hanami.evaluate('gr_model', 'SELECT x, label FROM gr_digits WHERE is_test') ->> 'accuracy')::float8 >= 0.9 AS model_accuracy_ge_90,
       hanami.predict_class('gr_model', x) = label AS predicts_row_1
FROM gr_digits WHERE id = 1;
-- layers to train or skip are named as the graph names them
SELECT hanami.train('gr_model', 'SELECT x, label FROM gr_digits WHERE NOT is_test',
                    '{"epochs": 1, "to_skip": ["h"]}') IS NOT NULL AS trained_output_only;

-- what graphs refuse, each with its SQLSTATE
\set VERBOSITY default
SELECT hanami.network('{"kind": "graph", "layers": [{"count": 4, "name": "in"}, {"count": 2, "from": "hidden"}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.network('{"layers": [4, {"count": 3, "name": "h", "from": "h"}, 2]}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.network('{"layers": [{"count": 4, "name": "in"}, {"count": 3, "name": "a", "from": "b"}, {"count": 2, "name": "b"}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.network('{"layers": [{"count": 4, "name": "in"}, {"count": 3, "name": "in", "from": "in"}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.network('{"layers": [{"count": 4, "name": "in"}, {"count": 3, "name": "lost"}, {"count": 2, "from": "in", "output": true}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.network('{"layers": [{"count": 4, "name": "in"}, {"count": 3, "name": "extra", "input": true}, {"count": 2, "from": "in"}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.network('{"layers": [{"count": 4, "name": "in"}, {"count": 3, "name": "h", "activation": "softmax"}, {"count": 2, "from": ["h", "in"]}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.network('{"layers": [{"count": 4, "name": "in"}, {"count": 2, "from": "in", "activation": "relu", "loss": "cross_entropy"}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.network('{"kind": "dense", "layers": [{"count": 4, "name": "in"}, {"count": 2, "from": "in"}]}');
\echo :LAST_ERROR_SQLSTATE
-- class targets with two output layers; options that do not apply
SELECT hanami.fit(net, 'SELECT x, label FROM gr_digits LIMIT 5') FROM gr_two;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(net, 'SELECT x, label FROM gr_digits LIMIT 5', '{"loss": "mse"}') FROM gr_nets WHERE name = 'skip';
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(net, 'SELECT x, label FROM gr_digits LIMIT 5', '{"device": "opencl"}') FROM gr_nets WHERE name = 'skip';
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(net, 'SELECT x, label FROM gr_digits LIMIT 5', '{"rule": "hebbian"}') FROM gr_nets WHERE name = 'skip';
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(net, 'SELECT x, label FROM gr_digits LIMIT 5', '{"to_train": ["in"]}') FROM gr_nets WHERE name = 'skip';
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(net, 'SELECT x, label FROM gr_digits LIMIT 5', '{"to_skip": ["nope"]}') FROM gr_nets WHERE name = 'skip';
\echo :LAST_ERROR_SQLSTATE
-- what other kinds can do and graphs cannot
SELECT hanami.reshape_report(net, '{"layers": [64, 48, 10]}') FROM gr_nets WHERE name = 'skip';
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.quantize(net, 'f16') FROM gr_nets WHERE name = 'skip';
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.average(net) FROM gr_nets WHERE name = 'skip';
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.run_batch(net, d.x, '{"device": "opencl"}') OVER () FROM gr_nets g, gr_digits d WHERE g.name = 'skip' AND d.id = 1;
\echo :LAST_ERROR_SQLSTATE
-- a stored graph larger than the model cache runs whole (graphs are not paged)
SELECT hanami.create_model('gr_big', '{"layers": [{"count": 64, "name": "in"}, {"count": 512, "name": "h"}, {"count": 10, "from": ["h", "in"]}]}', seed => 6) IS NOT NULL AS created;
SET hanami.model_cache_memory = '64kB';
SELECT (SELECT bytes FROM hanami.commits ORDER BY id DESC LIMIT 1) > 64 * 1024 AS larger_than_cache,
       hanami.predict('gr_big', x) = hanami.run(hanami.load('gr_big'), x) AS runs_whole
FROM gr_digits WHERE id = 2;
RESET hanami.model_cache_memory;
