-- Batched inference of growing ("hanami" kind) networks: run_batch and
-- classify_batch against run and classify row by row, on the CPU with 1, 2
-- and 3 compute threads (identical bits), a spiking network (rows run in
-- order, each from the value's own state, like run()), and on the OpenCL
-- device (outputs within 1e-5, the same classes).
SET client_min_messages = warning;
-- PoCL cannot build kernels in a backend where JIT loaded its own LLVM
SET jit = off;
CREATE SCHEMA hanami_grow_batch_test;
SET search_path = hanami_grow_batch_test, public;

-- raw values of very different magnitudes, three classes
CREATE TABLE pts AS
SELECT i, ARRAY[100 * sin(i), 3 * cos(i * 0.3), (i % 5) - 2, 1000 * sin(i * 0.01)]::real[] AS x,
       (CASE WHEN sin(i) > 0.3 THEN 0 WHEN cos(i * 0.3) > 0 THEN 1 ELSE 2 END) AS y
FROM generate_series(1, 2000) i;
CREATE TABLE mdl AS
SELECT 1 AS id, hanami.fit(hanami.network('{"kind": "hanami", "layers": [4, 64, 3]}', 3),
                           'SELECT x, y FROM hanami_grow_batch_test.pts WHERE i <= 1500',
                           '{"epochs": 2}') AS net
UNION ALL
SELECT 2, hanami.fit(hanami.network('{"kind": "hanami", "layers": [4, 32, 16, 3], "settings": {"max_connection_distance": 2}}', 4),
                     'SELECT x, y FROM hanami_grow_batch_test.pts WHERE i <= 1500',
                     '{"epochs": 1}') AS net;
-- both grew sections (a batch walks real chains) and learned something
SELECT id, (hanami.info(net) ->> 'sections')::int > 10 AS grew,
       (hanami.verify(net, 'SELECT x, y FROM hanami_grow_batch_test.pts WHERE i > 1500') ->> 'accuracy')::float > 0.6 AS learned
FROM mdl ORDER BY id;

-- CPU: the same bits as run() and classify(), two models in one query
CREATE TABLE cpu1 AS
SELECT p.i, m.id,
       hanami.run_batch(m.net, p.x, '{"device": "cpu", "batch_size": 100}') OVER (PARTITION BY m.id) AS out,
       hanami.classify_batch(m.net, p.x, '{"device": "cpu", "batch_size": 100}') OVER (PARTITION BY m.id) AS c
FROM pts p, mdl m;
SELECT q.id, count(*) AS rows,
       bool_and(q.out = hanami.run(m.net, p.x)) AS same_outputs,
       bool_and(q.c = hanami.classify(m.net, p.x)) AS same_classes
FROM cpu1 q JOIN pts p USING (i) JOIN mdl m USING (id)
GROUP BY 1 ORDER BY 1;

-- compute threads: 1, 2 and 3 give the same bits, batch sizes that split
-- evenly and unevenly (small batches: many jobs, so the pool runs some
-- with its threads whatever it learns about this machine)
SET hanami.max_threads = 4;
CREATE TABLE thr (threads text, i int, id int, out real[], c int);
SET hanami.threads = 1;
INSERT INTO thr SELECT '1', p.i, m.id,
       hanami.run_batch(m.net, p.x, '{"batch_size": 16}') OVER (PARTITION BY m.id),
       hanami.classify_batch(m.net, p.x, '{"batch_size": 7}') OVER (PARTITION BY m.id)
FROM pts p, mdl m;
SET hanami.threads = 2;
INSERT INTO thr SELECT '2', p.i, m.id,
       hanami.run_batch(m.net, p.x, '{"batch_size": 16}') OVER (PARTITION BY m.id),
       hanami.classify_batch(m.net, p.x, '{"batch_size": 7}') OVER (PARTITION BY m.id)
FROM pts p, mdl m;
SET hanami.threads = 3;
INSERT INTO thr SELECT '3', p.i, m.id,
       hanami.run_batch(m.net, p.x, '{"batch_size": 16}') OVER (PARTITION BY m.id),
       hanami.classify_batch(m.net, p.x, '{"batch_size": 7}') OVER (PARTITION BY m.id)
FROM pts p, mdl m;
-- two rows: fewer rows than threads
INSERT INTO thr SELECT '3, 2 rows', p.i, m.id,
       hanami.run_batch(m.net, p.x) OVER (PARTITION BY m.id),
       hanami.classify_batch(m.net, p.x) OVER (PARTITION BY m.id)
FROM pts p, mdl m WHERE p.i <= 2;
RESET hanami.threads;
SELECT t.threads, count(*) AS rows,
       bool_and(t.out = c.out) AS same_outputs, bool_and(t.c = c.c) AS same_classes
FROM thr t JOIN cpu1 c USING (i, id)
GROUP BY 1 ORDER BY 1;

-- dense networks share the path: the same values on 1 and 3 threads
CREATE TABLE dn AS
SELECT ARRAY[x[1] / 100, x[2], x[3], x[4] / 1000]::real[] AS x, i
FROM pts;
CREATE TABLE dn1 AS
SELECT i, hanami.run_batch(hanami.network('{"layers": [4, 16, 3]}', 6), x, '{"batch_size": 50}') OVER () AS out FROM dn;
SET hanami.threads = 3;
CREATE TABLE dn3 AS
SELECT i, hanami.run_batch(hanami.network('{"layers": [4, 16, 3]}', 6), x, '{"batch_size": 50}') OVER () AS out FROM dn;
RESET hanami.threads;
SELECT count(*) AS rows, bool_and(a.out = b.out) AS dense_same_values
FROM dn1 a JOIN dn3 b USING (i);

-- NULL inputs give NULL, rows keep their own results in any window order
SELECT i, c IS NULL AS null_class, c = hanami.classify(net, x) AS same
FROM (SELECT i, x, net,
             hanami.classify_batch(net, CASE WHEN i % 2 = 0 THEN x END, '{"batch_size": 2}') OVER (ORDER BY i DESC) AS c
      FROM pts, mdl WHERE id = 1 AND i <= 5) q ORDER BY i;

-- a spiking network: the rows of a batch run in order on one thread, each
-- from the state stored in the value, so the results are those of run()
-- row by row, with any number of threads and any batch size; the state
-- does not carry from row to row as it does in run(net, x, reset)
CREATE TABLE spk AS
SELECT hanami.fit(hanami.network('{"kind": "hanami", "layers": [4, 32, 3], "settings": {"neuron_cooldown": 2, "refractory_time": 2}}', 5),
                  'SELECT x, y FROM hanami_grow_batch_test.pts WHERE i <= 500 ORDER BY i') AS net;
SELECT (hanami.info(net) ->> 'spiking')::bool AS spiking FROM spk;
SET hanami.threads = 3;
SELECT count(*) AS rows,
       bool_and(q.out = hanami.run(spk.net, p.x)) AS same_as_run,
       bool_and(q.c = hanami.classify(spk.net, p.x)) AS same_as_classify
FROM (SELECT i, hanami.run_batch(net, x, '{"batch_size": 33}') OVER (ORDER BY i) AS out,
             hanami.classify_batch(net, x) OVER (ORDER BY i DESC) AS c
      FROM pts, spk WHERE i <= 300) q
JOIN pts p USING (i) CROSS JOIN spk;
RESET hanami.threads;
SELECT bool_or(b.out <> s.out) AS sequence_differs
FROM (SELECT i, hanami.run_batch(net, x) OVER (ORDER BY i) AS out FROM pts, spk WHERE i <= 300) b
JOIN (SELECT i, hanami.run(net, x, i = 1) AS out
      FROM (SELECT * FROM pts ORDER BY i) p, spk WHERE i <= 300) s USING (i);

-- OpenCL: one work-item per row, within 1e-5 of the CPU, the same classes
CREATE TABLE dev AS
SELECT p.i, m.id,
       hanami.run_batch(m.net, p.x, '{"device": "opencl", "batch_size": 300}') OVER (PARTITION BY m.id) AS out,
       hanami.classify_batch(m.net, p.x, '{"device": "opencl"}') OVER (PARTITION BY m.id) AS c
FROM pts p, mdl m;
SELECT d.id, count(DISTINCT d.i) AS rows,
       max(abs(o.v - r.v)) <= 1e-5 AS outputs_within_1e_5,
       bool_and(d.c = c.c) AS same_classes
FROM dev d JOIN cpu1 c USING (i, id)
CROSS JOIN LATERAL unnest(d.out) WITH ORDINALITY o(v, k)
CROSS JOIN LATERAL unnest(c.out) WITH ORDINALITY r(v, k)
WHERE o.k = r.k
GROUP BY 1 ORDER BY 1;
-- hanami.device picks it for the two-argument form
SET hanami.device = opencl;
SELECT count(*) AS rows, bool_and(q.c = c.c) AS same_classes
FROM (SELECT i, hanami.classify_batch(net, x) OVER () AS c FROM pts, mdl WHERE id = 2) q
JOIN cpu1 c ON c.i = q.i AND c.id = 2;
-- a spiking network stays on the CPU: asking for the device is an error
\set VERBOSITY terse
SELECT hanami.classify_batch(net, x) OVER () FROM pts, spk WHERE i <= 3;
RESET hanami.device;
SELECT hanami.run_batch(net, x, '{"device": "opencl"}') OVER () FROM pts, spk WHERE i <= 3;
-- auto never picks a CPU device (PoCL), and a growing network only when asked
SELECT count(*) AS rows FROM (SELECT hanami.classify_batch(net, x, '{"device": "auto"}') OVER () FROM pts, spk) q;
\set VERBOSITY default

DROP SCHEMA hanami_grow_batch_test CASCADE;
