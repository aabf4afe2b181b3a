-- Batched inference: run_batch and classify_batch as window functions, on
-- the CPU engine and on the OpenCL device, against run and classify row by
-- row; several models with PARTITION BY; NULLs; errors.
--
-- Tolerances: outputs within 1e-5 of run(); classes equal to classify()
-- except where the two largest outputs are within 1e-5 (a near tie).
SET client_min_messages = warning;
-- PoCL, the OpenCL driver of the test machines, cannot build kernels in a
-- backend where PostgreSQL's JIT compiler loaded its own LLVM
-- (docs/devices.md)
SET jit = off;
-- tables of their own: the regression tests share one database
CREATE SCHEMA hanami_batch_test;
SET search_path = hanami_batch_test, public;

CREATE TABLE pts AS
SELECT i, ARRAY[sin(i), cos(i * 0.3), (i % 5) - 2]::real[] AS x
FROM generate_series(1, 2500) i;
CREATE TABLE mdl AS
SELECT 1 AS id, hanami.network('{"layers": [3, 16, 4]}', 3) AS net
UNION ALL
SELECT 2, hanami.network('{"layers": [3, 8, {"count": 4, "activation": "sigmoid"}], "activation": "tanh"}', 4);
-- a regression network (identity outputs) with learned output scaling
CREATE TABLE reg AS
SELECT hanami.fit(hanami.network('{"layers": [3, 8, {"count": 2, "activation": "identity"}], "activation": "tanh", "loss": "mse"}', 5),
                  'SELECT x, ARRAY[100 * x[1] + 7, x[2] - 50]::real[] FROM pts WHERE i <= 300',
                  '{"epochs": 2}') AS net;
SELECT (hanami.info(net) ->> 'output_scaling')::bool AS has_output_scaling FROM reg;

-- gap between the two largest outputs (near ties may classify either way)
CREATE FUNCTION top_gap(o real[]) RETURNS float8 LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN cardinality(o) < 2 THEN 1 ELSE v[1] - v[2] END
   FROM (SELECT array_agg(e ORDER BY e DESC) AS v FROM unnest(o) e) s $$;

-- both devices, two models in one query, batches of 300 rows
SELECT q.device, q.id, count(*) AS rows,
       bool_and(q.c = hanami.classify(m.net, p.x) OR top_gap(hanami.run(m.net, p.x)) < 1e-5) AS same_classes
FROM (SELECT d.device, p.i, m.id,
             hanami.classify_batch(m.net, p.x, jsonb_build_object('device', d.device, 'batch_size', 300))
               OVER (PARTITION BY d.device, m.id) AS c
      FROM pts p, mdl m, (VALUES ('cpu'), ('opencl')) d(device)) q
JOIN pts p USING (i) JOIN mdl m USING (id)
GROUP BY 1, 2 ORDER BY 1, 2;
SELECT q.device, q.id, max(abs(o.v - r.v)) < 1e-5 AS same_outputs
FROM (SELECT d.device, p.i, m.id,
             hanami.run_batch(m.net, p.x, jsonb_build_object('device', d.device))
               OVER (PARTITION BY d.device, m.id) AS out
      FROM pts p, mdl m, (VALUES ('cpu'), ('opencl')) d(device)) q
JOIN pts p USING (i) JOIN mdl m USING (id)
CROSS JOIN LATERAL unnest(q.out) WITH ORDINALITY o(v, k)
CROSS JOIN LATERAL unnest(hanami.run(m.net, p.x)) WITH ORDINALITY r(v, k)
WHERE o.k = r.k
GROUP BY 1, 2 ORDER BY 1, 2;
-- output scaling is applied; a regression network has no classes
SELECT q.device,
       max(abs(o.v - r.v) / greatest(1, abs(r.v))) < 1e-5 AS same_scaled_outputs
FROM (SELECT d.device, p.i,
             hanami.run_batch(reg.net, p.x, jsonb_build_object('device', d.device, 'batch_size', 64)) OVER w AS out
      FROM pts p, reg, (VALUES ('cpu'), ('opencl')) d(device)
      WHERE p.i <= 500
      WINDOW w AS (PARTITION BY d.device)) q
JOIN pts p USING (i) CROSS JOIN reg
CROSS JOIN LATERAL unnest(q.out) WITH ORDINALITY o(v, k)
CROSS JOIN LATERAL unnest(hanami.run(reg.net, p.x)) WITH ORDINALITY r(v, k)
WHERE o.k = r.k
GROUP BY 1 ORDER BY 1;
SELECT hanami.classify_batch(net, x, '{"device": "cpu"}') OVER () FROM pts, reg WHERE i <= 3;
SELECT hanami.classify_batch(net, x, '{"device": "opencl"}') OVER () FROM pts, reg WHERE i <= 3;

-- the two-argument form follows hanami.device
SET hanami.device = opencl;
SELECT count(*) AS rows, sum(c) = (SELECT sum(hanami.classify(net, x)) FROM pts, mdl WHERE id = 1) AS same_sum
FROM (SELECT hanami.classify_batch(net, x) OVER () AS c FROM pts, mdl WHERE id = 1) q;
RESET hanami.device;

-- rows keep their order and their own results; ORDER BY inside the window
SELECT i, c = hanami.classify(net, x) AS same
FROM (SELECT i, x, net, hanami.classify_batch(net, x, '{"batch_size": 2}') OVER (ORDER BY i DESC) AS c
      FROM pts, mdl WHERE id = 1 AND i <= 5) q ORDER BY i;

-- NULL inputs give NULL; a NULL network gives NULL for every row
SELECT i, hanami.classify_batch(net, CASE WHEN i % 2 = 0 THEN x END, '{"device": "opencl", "batch_size": 2}') OVER () IS NULL AS is_null
FROM pts, mdl WHERE id = 1 AND i <= 4 ORDER BY i;
SELECT count(*) FILTER (WHERE c IS NULL) AS nulls
FROM (SELECT hanami.run_batch(NULL::hanami.network, x) OVER () AS c FROM pts WHERE i <= 10) q;
-- no rows, no calls
SELECT count(*) FROM (SELECT hanami.classify_batch(net, x) OVER () FROM pts, mdl WHERE false) q;

-- errors
SELECT hanami.classify_batch(net, x) OVER (ORDER BY id, i) FROM pts, mdl WHERE i <= 3;
SELECT hanami.classify_batch(net, x[1:2]) OVER () FROM pts, mdl WHERE i <= 3 AND id = 1;
SELECT hanami.classify_batch(net, x, '{"batch_size": 0}') OVER () FROM pts, mdl WHERE i <= 3 AND id = 1;
SELECT hanami.classify_batch(net, x, '{"batch": 10}') OVER () FROM pts, mdl WHERE i <= 3 AND id = 1;
SELECT hanami.classify_batch(net, x, '{"device": "tpu"}') OVER () FROM pts, mdl WHERE i <= 3 AND id = 1;
SELECT hanami.classify_batch(net, x, '[]') OVER () FROM pts, mdl WHERE i <= 3 AND id = 1;
SELECT hanami.classify_batch(net, ARRAY[1, 'NaN', 3]::real[]) OVER () FROM mdl WHERE id = 1;
SELECT hanami.classify_batch(net, x) FROM pts, mdl WHERE i <= 3 AND id = 1;
SELECT (hanami.capabilities() -> 'opencl' ->> 'live_buffers')::int AS live_buffers;

RESET search_path;
DROP SCHEMA hanami_batch_test CASCADE;
