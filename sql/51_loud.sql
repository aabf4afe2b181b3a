-- Wrong results are errors: outputs that overflow, classes of a regression
-- network, softmax trained on raw reals; seeds of network() and
-- create_model().
SET client_min_messages = warning;
-- PoCL, the OpenCL driver of the test machines, cannot build kernels in a
-- backend where PostgreSQL's JIT compiler loaded its own LLVM
-- (docs/devices.md)
SET jit = off;
\set SHOW_CONTEXT never
CREATE SCHEMA hanami_loud_test;
SET search_path = hanami_loud_test, public;

-- the SQLSTATE and message a statement fails with
CREATE FUNCTION err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ' ' || SQLERRM;
END $$;

-- 1. Finite inputs that overflow inside the network ------------------------
-- 3e38 is a finite real; a few weights later it is not
CREATE TABLE big (net hanami.network);
INSERT INTO big VALUES (hanami.network('{"layers": [2, 8, 3]}', 1));
CREATE TABLE rows3 (i int, x real[]);
INSERT INTO rows3 VALUES (1, '{1, 2}'), (2, '{3e38, 3e38}'), (3, NULL);
SELECT hanami.create_model('loud_big', '{"layers": [2, 8, 3]}', seed => 1) > 0 AS created;

-- an error for every function, never NaN or class 0
SELECT f, err(q) AS result FROM (VALUES
  ('run', $q$SELECT hanami.run(net, '{3e38, 3e38}') FROM big$q$),
  ('classify', $q$SELECT hanami.classify(net, '{3e38, 3e38}') FROM big$q$),
  ('predict', $q$SELECT hanami.predict('loud_big', '{3e38, 3e38}')$q$),
  ('predict_class', $q$SELECT hanami.predict_class('loud_big', '{3e38, 3e38}')$q$),
  ('run_batch cpu', $q$SELECT hanami.run_batch(net, x, '{"device": "cpu"}') OVER (ORDER BY i) FROM big, rows3$q$),
  ('run_batch opencl', $q$SELECT hanami.run_batch(net, x, '{"device": "opencl"}') OVER (ORDER BY i) FROM big, rows3$q$),
  ('classify_batch cpu', $q$SELECT hanami.classify_batch(net, x, '{"device": "cpu"}') OVER (ORDER BY i) FROM big, rows3$q$),
  ('classify_batch opencl', $q$SELECT hanami.classify_batch(net, x, '{"device": "opencl"}') OVER (ORDER BY i) FROM big, rows3$q$),
  ('verify', $q$SELECT hanami.verify(net, 'SELECT ARRAY[3e38, 3e38]::real[], 1') FROM big$q$),
  ('verify regression', $q$SELECT hanami.verify(net, 'SELECT ARRAY[3e38, 3e38]::real[], ARRAY[0.2, 0.3, 0.5]::real[]') FROM big$q$),
  ('evaluate', $q$SELECT hanami.evaluate('loud_big', 'SELECT x, 1 FROM hanami_loud_test.rows3 WHERE x IS NOT NULL')$q$)
) v(f, q);
-- what the errors say
SELECT hanami.run(net, '{3e38, 3e38}') FROM big;
SELECT hanami.run_batch(net, x) OVER (ORDER BY i) FROM big, rows3;
SELECT hanami.classify_batch(net, x, '{"device": "opencl"}') OVER (ORDER BY i) FROM big, rows3;
SELECT hanami.evaluate('loud_big', 'SELECT x, 1 FROM hanami_loud_test.rows3 WHERE x IS NOT NULL');
-- an identity output overflows to infinity
SELECT hanami.run(hanami.network('{"layers": [2, 8, 1]}', 1), '{3e38, 3e38}');
-- the same networks on ordinary inputs, and rows without the overflow
SELECT array_length(hanami.run(net, '{1, 2}'), 1) AS outputs, hanami.classify(net, '{1, 2}') BETWEEN 0 AND 2 AS a_class,
       hanami.predict('loud_big', '{1, 2}') = hanami.run(net, '{1, 2}') AS predict_same,
       hanami.predict_class('loud_big', '{1, 2}') = hanami.classify(net, '{1, 2}') AS predict_class_same
FROM big;
SELECT count(*) AS rows, count(c) AS classes
FROM (SELECT hanami.classify_batch(net, x) OVER () AS c FROM big, rows3 WHERE i <> 2) q;
SELECT (hanami.verify(net, 'SELECT ARRAY[1, 2]::real[], 1') ->> 'rows')::int AS verified FROM big;

-- the growing kind saturates: its outputs are sigmoids of sums bounded by
-- the synapse weights, so huge inputs still give finite outputs
CREATE TABLE g AS
SELECT hanami.fit(hanami.network('{"kind": "hanami", "layers": [2, 8, 2]}', 2),
                  'SELECT ARRAY[a, b]::real[], (a > b)::int FROM (SELECT (g % 7) * 1e30 AS a, (g % 5) * 1e30 AS b FROM generate_series(1, 200) g) s',
                  '{"epochs": 2}') AS net;
SELECT (SELECT bool_and(v BETWEEN 0 AND 1) FROM unnest(hanami.run(net, '{3e38, -3e38}')) v) AS finite_outputs,
       hanami.classify(net, '{3e38, -3e38}') BETWEEN 0 AND 1 AS a_class
FROM g;
SELECT (hanami.verify(net, 'SELECT ARRAY[3e38, 3e38]::real[], 1') ->> 'rows')::int AS verified FROM g;

-- 2. Classes only from a classification network -----------------------------
-- a classifier: softmax output, or sigmoid for 0/1 classes (grow: sigmoid);
-- everything else gives values, whose argmax means nothing
CREATE TABLE kinds (name text, net hanami.network);
INSERT INTO kinds VALUES
  ('softmax', hanami.network('{"layers": [2, 4, 3]}', 1)),
  ('sigmoid one', hanami.network('{"layers": [2, 4, {"count": 1, "activation": "sigmoid"}]}', 1)),
  ('sigmoid mse', hanami.network('{"layers": [2, 4, {"count": 2, "activation": "sigmoid"}], "loss": "mse"}', 1)),
  ('grow', hanami.network('{"kind": "hanami", "layers": [2, 8, 2]}', 1)),
  ('identity one', hanami.network('{"layers": [2, 4, 1]}', 1)),
  ('identity two', hanami.network('{"layers": [2, 4, {"count": 2, "activation": "identity"}]}', 1)),
  ('tanh', hanami.network('{"layers": [2, 4, {"count": 2, "activation": "tanh"}]}', 1));
SELECT name, err(format('SELECT hanami.classify(%L::hanami.network, ''{1, 2}'')', net::text)) AS classify,
       err(format('SELECT hanami.classify_batch(%L::hanami.network, ''{1, 2}'') OVER ()', net::text)) AS classify_batch
FROM kinds ORDER BY name;
-- one sigmoid output: class 1 when the output is at least 0.5
SELECT bool_and(hanami.classify(net, x) = ((hanami.run(net, x))[1] >= 0.5)::int) AS one_output_rule
FROM kinds, (SELECT ARRAY[a, b]::real[] AS x FROM generate_series(-3, 3) a, generate_series(-3, 3) b) s
WHERE name = 'sigmoid one';
-- a trained regression network, by value and stored
CREATE TABLE line AS SELECT ARRAY[x]::real[] AS x, (3 * x + 100)::real AS y FROM generate_series(-20, 20) x;
SELECT hanami.create_model('loud_line', '{"layers": [1, 8, 1]}', seed => 4) > 0 AS created;
SELECT hanami.train('loud_line', 'SELECT x, y FROM hanami_loud_test.line', '{"epochs": 5}') > 0 AS trained;
SELECT array_length(hanami.predict('loud_line', '{10}'), 1) AS predict_works;
SELECT hanami.predict_class('loud_line', '{10}');
SELECT hanami.classify(hanami.load('loud_line'), '{10}');
SELECT hanami.classify_batch(hanami.load('loud_line'), x) OVER () FROM line;
-- a softmax network stored keeps predict_class
SELECT hanami.predict_class('loud_big', '{1, 2}') BETWEEN 0 AND 2 AS softmax_predict_class;

-- 3. Softmax targets are classes or probabilities ---------------------------
CREATE TABLE pairs AS
SELECT ARRAY[a, b]::real[] AS x, a::int # b::int AS y,
       ARRAY[a * 3.5, b - 1.2]::real[] AS raw,
       ARRAY[(a::int # b::int)::real, 1 - (a::int # b::int)]::real[] AS onehot,
       ARRAY[0.25, 0.75]::real[] AS prob
FROM (VALUES (0, 0), (0, 1), (1, 0), (1, 1)) v(a, b), generate_series(1, 10);
SELECT hanami.fit(hanami.network('{"layers": [2, 4, 2]}', 1), 'SELECT x, raw FROM hanami_loud_test.pairs');
SELECT hanami.fit(hanami.network('{"layers": [2, 4, 2]}', 1), 'SELECT x, ARRAY[0.3, 0.3]::real[] FROM hanami_loud_test.pairs');
-- the same with loss mse, on the OpenCL device, and in verify
SELECT err($q$SELECT hanami.fit(hanami.network('{"layers": [2, 4, 2], "loss": "mse"}', 1), 'SELECT x, raw FROM hanami_loud_test.pairs')$q$) AS mse;
SELECT err($q$SELECT hanami.fit(hanami.network('{"layers": [2, 4, 2]}', 1), 'SELECT x, raw FROM hanami_loud_test.pairs', '{"device": "opencl"}')$q$) AS opencl;
SELECT err($q$SELECT hanami.verify(hanami.network('{"layers": [2, 4, 2]}', 1), 'SELECT x, raw FROM hanami_loud_test.pairs')$q$) AS verify;
-- streamed rows are checked too, the row named as in the query
SET hanami.dataset_memory = 64;
SELECT hanami.fit(hanami.network('{"layers": [200, 2]}', 1),
                  'SELECT array_fill(1.0::real, ARRAY[200]), CASE WHEN g = 1500 THEN ARRAY[2, -1] ELSE ARRAY[1, 0] END::real[] FROM generate_series(1, 2000) g');
SELECT (hanami.info(hanami.fit(hanami.network('{"layers": [200, 2]}', 1),
                  'SELECT array_fill(1.0::real, ARRAY[200]), ARRAY[g % 2, 1 - g % 2]::real[] FROM generate_series(1, 2000) g',
                  '{"epochs": 1}')) -> 'trained' ->> 'samples')::int AS streamed_onehot_samples;
RESET hanami.dataset_memory;
-- what a softmax output can learn: class indices, one-hot and probability
-- rows (summing to 1 within 0.01); raw reals take an identity output
SELECT t AS target, (hanami.info(hanami.fit(hanami.network('{"layers": [2, 4, 2]}', 1),
                     format('SELECT x, %s FROM hanami_loud_test.pairs', t), '{"epochs": 1}')) -> 'trained' ->> 'samples')::int AS samples
FROM unnest(ARRAY['y', 'onehot', 'prob', 'ARRAY[0.333, 0.666]::real[]']) t;
SELECT (hanami.info(hanami.fit(hanami.network('{"layers": [2, 4, {"count": 2, "activation": "identity"}], "loss": "mse"}', 1),
                               'SELECT x, raw FROM hanami_loud_test.pairs', '{"epochs": 1}')) ->> 'output_scaling')::bool AS identity_learns_raw;

-- 4. Seeds ---------------------------------------------------------------
-- network() is IMMUTABLE: a NULL seed is the spec's "seed", or 0
SELECT p.provolatile AS network_volatility FROM pg_proc p
WHERE p.oid = 'hanami.network(jsonb, integer)'::regprocedure;
SELECT hanami.network('{"layers": [2, 3, 2]}')::bytea = hanami.network('{"layers": [2, 3, 2]}', 0)::bytea AS null_seed_is_0,
       hanami.network('{"layers": [2, 3, 2], "seed": 5}')::bytea = hanami.network('{"layers": [2, 3, 2]}', 5)::bytea AS spec_seed,
       hanami.network('{"layers": [2, 3, 2]}', 5)::bytea <> hanami.network('{"layers": [2, 3, 2]}', 6)::bytea AS seeds_differ;
-- create_model() without a seed draws one, so two such models differ; the
-- first commit records the seed, which rebuilds the same weights
SELECT hanami.create_model('loud_u1', '{"layers": [2, 3, 2]}') > 0 AS u1,
       hanami.create_model('loud_u2', '{"layers": [2, 3, 2]}') > 0 AS u2,
       hanami.create_model('loud_s1', '{"layers": [2, 3, 2]}', seed => 7) > 0 AS s1,
       hanami.create_model('loud_s2', '{"layers": [2, 3, 2]}', seed => 7) > 0 AS s2,
       hanami.create_model('loud_spec', '{"layers": [2, 3, 2], "seed": 4000000000}') > 0 AS spec;
CREATE TABLE firsts AS
SELECT m, (SELECT metrics FROM hanami.log(m) ORDER BY commit_id LIMIT 1) AS metrics, hanami.load(m) AS net
FROM unnest(ARRAY['loud_u1', 'loud_u2', 'loud_s1', 'loud_s2', 'loud_spec']) m;
SELECT a.net::bytea <> b.net::bytea AS unseeded_differ,
       a.metrics ->> 'seed' <> b.metrics ->> 'seed' AS seeds_recorded_differ,
       (a.metrics ->> 'seed')::int8 BETWEEN 0 AND 2147483647 AS seed_in_range
FROM firsts a, firsts b WHERE a.m = 'loud_u1' AND b.m = 'loud_u2';
SELECT a.net::bytea = b.net::bytea AS seeded_equal, a.metrics AS s1_metrics, b.metrics AS s2_metrics,
       a.net::bytea = hanami.network('{"layers": [2, 3, 2]}', 7)::bytea AS is_network_7
FROM firsts a, firsts b WHERE a.m = 'loud_s1' AND b.m = 'loud_s2';
SELECT m, metrics FROM firsts WHERE m = 'loud_spec';
SELECT bool_and(net::bytea = hanami.network('{"layers": [2, 3, 2]}', (metrics ->> 'seed')::int)::bytea) AS recorded_seed_rebuilds
FROM firsts WHERE m IN ('loud_u1', 'loud_u2', 'loud_s1');

SELECT count(*) AS dropped
FROM (SELECT hanami.drop_model(m) FROM unnest(ARRAY['loud_big', 'loud_line', 'loud_u1', 'loud_u2', 'loud_s1', 'loud_s2', 'loud_spec']) m) s;
DROP SCHEMA hanami_loud_test CASCADE;
