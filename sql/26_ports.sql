-- Named inputs and outputs: the "inputs" and "targets" options map a
-- query's columns onto a network's input and output layers by name,
-- whatever the order of the columns; run_named() and predict_named() take
-- and give values by layer name; verify() reports each output layer of a
-- network with several.
\set VERBOSITY terse
SET client_min_messages = warning;

CREATE TABLE pt AS
SELECT i AS id, (i % 7)::real AS a, (i % 5)::float8 AS b, (i % 3)::int AS c,
       ARRAY[(i % 11)::real, ((i * 7) % 13)::real] AS v,
       ((i % 7) + (i % 5) > 5)::int AS label, (i % 2) AS odd
FROM generate_series(1, 4000) i;

CREATE TABLE pt_net AS
SELECT hanami.network('{"layers": [{"count": 5, "name": "feat"}, 8, {"count": 2, "name": "cls"}]}', 3) AS net;

-- the same network bytes as the plain query: three scalar columns and an
-- array column, fed in another order than the query's; the label under
-- another name, named for the output layer; unnamed columns ignored
SELECT hanami.fit(net, 'SELECT a, b, c, v, label FROM pt WHERE id <= 300 ORDER BY id',
                  '{"epochs": 3, "shuffle": false}')::bytea
     = hanami.fit(net, 'SELECT label AS y, v, id, odd, c, a, b FROM pt WHERE id <= 300 ORDER BY id',
                  '{"epochs": 3, "shuffle": false, "targets": {"cls": "y"},
                    "inputs": {"feat": ["a", "b", "c", "v"]}}')::bytea AS same_bytes
FROM pt_net;

-- a single column for a layer, and "target" with "inputs"
SELECT hanami.fit(n, 'SELECT v, label FROM pt WHERE id <= 100 ORDER BY id',
                  '{"epochs": 2, "shuffle": false}')::bytea
     = hanami.fit(n, 'SELECT label, id, v FROM pt WHERE id <= 100 ORDER BY id',
                  '{"epochs": 2, "shuffle": false, "target": "label", "inputs": {"feat": "v"}}')::bytea
       AS single_column_same_bytes
FROM hanami.network('{"layers": [{"count": 2, "name": "feat"}, 8, 2]}', 3) n;

-- streamed rows (over hanami.dataset_memory) give the bytes of rows in memory
SET hanami.dataset_memory = 64;
CREATE TABLE pt_streamed AS
SELECT hanami.fit(net, 'SELECT label AS y, v, id, c, a, b FROM pt ORDER BY id',
                  '{"epochs": 2, "shuffle": false, "targets": {"cls": "y"},
                    "inputs": {"feat": ["a", "b", "c", "v"]}}') AS net
FROM pt_net;
RESET hanami.dataset_memory;
SELECT s.net::bytea = hanami.fit(p.net, 'SELECT a, b, c, v, label FROM pt ORDER BY id',
                                 '{"epochs": 2, "shuffle": false}')::bytea AS streamed_same_bytes
FROM pt_streamed s, pt_net p;

-- verify and evaluate: the same figures either way
SELECT hanami.verify(s.net, 'SELECT a, b, c, v, label FROM pt')
     = hanami.verify(s.net, 'SELECT v, label AS y, b, c, a FROM pt',
                     '{"inputs": {"feat": ["a", "b", "c", "v"]}, "targets": {"cls": "y"}}') AS same_figures
FROM pt_streamed s;
SELECT hanami.create_model('pt_model', '{"layers": [{"count": 5, "name": "feat"}, 8, {"count": 2, "name": "cls"}]}', seed => 3) IS NOT NULL AS created;
SELECT hanami.train('pt_model', 'SELECT v, label AS y, b, c, a FROM pt WHERE id <= 500',
                    '{"epochs": 2, "inputs": {"feat": ["a", "b", "c", "v"]}, "targets": {"cls": "y"}}') IS NOT NULL AS trained;
SELECT hanami.evaluate('pt_model', 'SELECT a, b, c, v, label FROM pt')
     = hanami.evaluate('pt_model', 'SELECT v, label AS y, b, c, a FROM pt',
                       '{"inputs": {"feat": ["a", "b", "c", "v"]}, "targets": {"cls": "y"}}') AS same_evaluation;

-- run_named: the values run() gives, by layer name
SELECT hanami.run_named(net, '{"feat": [1, 2, 0, 4, 5]}') AS named FROM pt_streamed;
SELECT bool_and(ARRAY(SELECT x::real FROM jsonb_array_elements_text(
                  hanami.run_named(s.net, jsonb_build_object('feat', ARRAY[a, b, c, v[1], v[2]])) -> 'cls') x)
                = hanami.run(s.net, ARRAY[a, b, c, v[1], v[2]]::real[])) AS run_named_is_run
FROM pt_streamed s, pt WHERE id <= 50;
SELECT hanami.run_named(hanami.network('{"layers": [3, 2]}', 1), '{"input": [0.5, 1, -2]}') ? 'output' AS default_names;
SELECT bool_and(ARRAY(SELECT x::real FROM jsonb_array_elements_text(
                  hanami.predict_named('pt_model', jsonb_build_object('feat', ARRAY[a, b, c, v[1], v[2]])) -> 'cls') x)
                = hanami.predict('pt_model', ARRAY[a, b, c, v[1], v[2]]::real[])) AS predict_named_is_predict
FROM pt WHERE id <= 50;

-- a growing network with two input and two output cells: each output
-- cell trained on its own target, and verify's figures per output layer
-- are those counted from run_named()
CREATE TABLE pt_grow AS
SELECT hanami.fit(hanami.network('{"kind": "hanami", "cells": [
         {"position": [0, 0], "input": 3, "name": "x"}, {"position": [0, 1], "input": 2, "name": "w"},
         {"position": [1, 0], "neurons": 16},
         {"position": [2, 0], "output": 2, "name": "big"}, {"position": [1, 1], "output": 1, "name": "parity"}]}', 5),
       'SELECT a, b, c, v, label, odd FROM pt WHERE id <= 2000',
       '{"epochs": 1, "inputs": {"w": "v", "x": ["a", "b", "c"]}, "targets": {"parity": "odd", "big": "label"}}') AS net;
CREATE TABLE pt_fig AS
SELECT hanami.verify(net, 'SELECT a, b, c, v, label, odd FROM pt WHERE id > 2000',
                     '{"inputs": {"w": "v", "x": ["a", "b", "c"]}, "targets": {"parity": "odd", "big": "label"}}') AS f
FROM pt_grow;
SELECT jsonb_object_keys(f -> 'outputs') AS output_layer FROM pt_fig ORDER BY 1;
WITH o AS (
  SELECT p.label, p.odd, hanami.run_named(g.net, jsonb_build_object('x', ARRAY[p.a, p.b, p.c], 'w', p.v)) AS y
  FROM pt p, pt_grow g WHERE p.id > 2000),
counted AS (
  SELECT avg(((((y -> 'big' ->> 1)::real > (y -> 'big' ->> 0)::real)::int) = label)::int) AS big,
         avg((((y -> 'parity' ->> 0)::real >= 0.5)::int = odd)::int) AS parity
  FROM o)
SELECT abs((f -> 'outputs' -> 'big' ->> 'accuracy')::float8 - big) < 1e-9 AS big_accuracy_counted,
       abs((f -> 'outputs' -> 'parity' ->> 'accuracy')::float8 - parity) < 1e-9 AS parity_accuracy_counted,
       (f -> 'outputs' -> 'big' ->> 'accuracy')::float8 >= 0.6 AS big_accuracy_ge_60
FROM pt_fig, counted;
-- without the options: the targets one array of every output, as before;
-- the figures per output layer all the same
SELECT (hanami.verify(net, 'SELECT a, b, c, v, ARRAY[1 - label, label, odd]::real[] FROM pt WHERE id > 2000') ? 'outputs') AS array_target_has_outputs
FROM pt_grow;

-- errors, each with its SQLSTATE
\set VERBOSITY default
SELECT hanami.fit(net, 'SELECT a, b, c, v, label FROM pt', '{"inputs": {"features": ["a", "b", "c", "v"]}}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(net, 'SELECT a, b, c, v, label FROM pt', '{"inputs": {}}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(net, 'SELECT a, b, c, v, label FROM pt', '{"inputs": {"feat": ["a", "b", "nope"]}}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(net, 'SELECT a, b, c, v, label FROM pt', '{"inputs": {"feat": ["a", "b", "v"]}}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(net, 'SELECT a, b, c, v, label FROM pt', '{"inputs": {"feat": ["a", "b", "c", "v", "odd"]}}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(net, 'SELECT a, b, c, v, label FROM pt', '{"inputs": {"feat": []}}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(net, 'SELECT a, b, c, v, label FROM pt', '{"inputs": {"feat": ["a", 2]}}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(net, 'SELECT a, b, c, v, label FROM pt', '{"inputs": ["a", "b", "c", "v"]}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(net, 'SELECT a, b, c, v, label FROM pt', '{"targets": {"out": "label"}}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(net, 'SELECT a, b, c, v, label FROM pt', '{"targets": {"cls": ["label"]}}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.fit(net, 'SELECT a, b, c, v, label FROM pt', '{"targets": {"cls": "nope"}}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.verify(net, 'SELECT a, b, c, v, label FROM pt', '{"target": "label", "targets": {"cls": "label"}}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.verify(net, 'SELECT a, b, c, v, label, v AS w FROM pt', '{"inputs": {"x": ["a", "b", "c"], "w": "w"}, "targets": {"big": "label", "parity": "nope"}}') FROM pt_grow;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.verify(net, 'SELECT a, b, c, v, label, odd FROM pt', '{"inputs": {"x": ["a", "b", "c"], "w": "v"}, "targets": {"big": "label", "parity": "a"}}') FROM pt_grow;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.verify(net, 'SELECT a, b, c, v, label, odd FROM pt', '{"inputs": {"x": ["a", "b", "c"], "w": "v"}, "targets": {"big": "c", "parity": "odd"}}') FROM pt_grow;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.verify(net, 'SELECT a, b, c, v, label, odd FROM pt', '{"inputs": {"x": ["a", "b", "c"], "w": "v"}, "targets": {"big": "label"}}') FROM pt_grow;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.check_options(net, '{"inputs": {"feat": "v"}, "targets": {"nope": "label"}}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.run_named(net, '{"feat": [1, 2, 3, 4]}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.run_named(net, '{"feat": [1, 2, 3, 4, 5], "extra": [1]}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.run_named(net, '{}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.run_named(net, '{"feat": [1, 2, "3", 4, 5]}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.run_named(net, '{"feat": 1}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.run_named(net, '[1, 2, 3, 4, 5]') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.run_named(net, '{"feat": [1, 2, 3, 4, 1e300]}') FROM pt_net;
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.predict_named('pt_model', '{"input": [1, 2, 3, 4, 5]}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.predict_named('no_such_model', '{"feat": [1, 2, 3, 4, 5]}');
\echo :LAST_ERROR_SQLSTATE
SELECT hanami.run_named(NULL, '{}') IS NULL AS strict;

SELECT hanami.drop_model('pt_model');
DROP TABLE pt, pt_net, pt_streamed, pt_grow, pt_fig;
