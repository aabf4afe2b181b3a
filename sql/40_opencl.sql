-- The OpenCL backend on whatever device OpenCL offers (PoCL in the test
-- suite): devices in capabilities(), options.device and the GUCs, fits on
-- the device against fits on the CPU, accuracy on real data, errors, and
-- cancel releasing every device buffer.
--
-- Tolerances: predictions of the two trained networks within 1e-4, losses
-- within 0.1 % (float32 sums in another order); counters and classes equal.
SET client_min_messages = warning;
-- PoCL, the OpenCL driver of the test machines, cannot build kernels in a
-- backend where PostgreSQL's JIT compiler loaded its own LLVM
-- (docs/devices.md)
SET jit = off;
-- tables of their own: the regression tests share one database
CREATE SCHEMA hanami_opencl_test;
SET search_path = hanami_opencl_test, public;
\getenv abs_srcdir PG_ABS_SRCDIR
\set digits_csv :abs_srcdir '/data/digits.csv'

-- an OpenCL device is listed with its memory and compute units
SELECT d->>'id' ~ '^[0-9]+:[0-9]+$' AS has_id,
       d->>'platform' <> '' AS has_platform,
       (d->>'compute_units')::int > 0 AS has_compute_units,
       (d->>'global_memory')::bigint > 0 AS has_memory,
       (d->>'max_alloc')::bigint > 0 AS has_max_alloc,
       d->>'device_type' IN ('cpu', 'gpu', 'accelerator', 'other') AS has_type
FROM jsonb_array_elements(hanami.capabilities() -> 'devices') d
WHERE d->>'type' = 'opencl' LIMIT 1;
SELECT hanami.capabilities() -> 'devices' -> 0 ->> 'type' AS first_device,
       hanami.capabilities() -> 'opencl' -> 'error' AS opencl_error,
       jsonb_array_length(hanami.capabilities() -> 'opencl' -> 'platforms') >= 1 AS has_platforms,
       hanami.capabilities() -> 'opencl' ->> 'device' AS device_setting,
       (SELECT count(*) FROM jsonb_array_elements(hanami.capabilities() -> 'devices') d
        WHERE (d->>'selected')::bool) AS selected;

-- the driver's start left the backend's signal handlers as they were: a
-- parallel query, whose workers report through SIGUSR1, still finishes
-- (PoCL's LLVM had replaced that handler and such a query waited forever)
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET statement_timeout = '20s';
CREATE TABLE parallel_rows AS SELECT i FROM generate_series(1, 100000) i;
EXPLAIN (COSTS OFF) SELECT count(*) FROM parallel_rows;
SELECT count(*) AS parallel_count FROM parallel_rows;
RESET statement_timeout;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SHOW hanami.device;

-- three classes in four raw features
CREATE TABLE blobs AS
SELECT i, ARRAY[(i % 3) * 2 + sin(i * 1.3), (i % 3) - cos(i * 0.7),
                3 * sin(i * 0.37), (i % 7) / 7.0]::real[] AS x, i % 3 AS y
FROM generate_series(1, 600) i;
CREATE TABLE line AS
SELECT x::real AS x, (3 * x + 100 + 20 * sin(x / 5.0))::real AS y FROM generate_series(-60, 60) x;

-- a fit on the device: deterministic, and the same as on the CPU
SELECT hanami.fit(n, 'SELECT x, y FROM blobs', '{"epochs": 3, "device": "opencl"}')::bytea =
       hanami.fit(n, 'SELECT x, y FROM blobs', '{"epochs": 3, "device": "opencl"}')::bytea AS deterministic
FROM (SELECT hanami.network('{"layers": [4, 16, 3]}', 3) AS n) s;
CREATE TABLE fits AS
SELECT d.device, c.name,
       hanami.fit(hanami.network(c.spec, 7), c.query,
                  c.options || jsonb_build_object('device', d.device)) AS net
FROM (VALUES ('cpu'), ('opencl')) d(device),
     (VALUES ('adam, validation', '{"layers": [4, 32, 16, 3], "activation": "tanh"}'::jsonb,
              'SELECT x, y FROM blobs',
              '{"epochs": 5, "batch_size": 32, "validation_split": 0.1}'::jsonb),
             ('sgd, relu, weight decay', '{"layers": [4, 24, {"count": 3, "activation": "softmax"}]}',
              'SELECT x, y FROM blobs',
              '{"epochs": 4, "batch_size": 10, "optimizer": "sgd", "weight_decay": 0.001}'),
             ('regression, scaled output', '{"layers": [1, 16, 1], "activation": "elu"}',
              'SELECT x, y FROM line',
              '{"epochs": 20, "batch_size": 8, "learning_rate": 0.01}'),
             ('frozen first layer', '{"layers": [4, {"count": 12, "name": "h"}, 3]}',
              'SELECT x, y FROM blobs',
              '{"epochs": 2, "to_skip": ["h"]}')) c(name, spec, query, options);
SELECT c.name, hanami.info(c.net) -> 'trained' = hanami.info(g.net) -> 'trained' AS same_counters,
       hanami.info(g.net) -> 'trained' AS trained
FROM fits c JOIN fits g USING (name) WHERE c.device = 'cpu' AND g.device = 'opencl' ORDER BY 1;
SELECT c.name,
       max(abs(u.v - w.v)) < 1e-4 AS same_outputs
FROM fits c JOIN fits g USING (name),
     LATERAL (SELECT x FROM blobs WHERE c.name <> 'regression, scaled output'
              UNION ALL SELECT ARRAY[x] FROM line WHERE c.name = 'regression, scaled output') r,
     LATERAL unnest(hanami.run(c.net, r.x) ) WITH ORDINALITY u(v, k),
     LATERAL unnest(hanami.run(g.net, r.x) ) WITH ORDINALITY w(v, k)
WHERE c.device = 'cpu' AND g.device = 'opencl' AND u.k = w.k
GROUP BY 1 ORDER BY 1;
SELECT c.name,
       abs((hanami.verify(c.net, q) ->> 'loss')::float8 - (hanami.verify(g.net, q) ->> 'loss')::float8)
         <= 1e-3 * (hanami.verify(c.net, q) ->> 'loss')::float8 AS same_loss
FROM fits c JOIN fits g USING (name),
     LATERAL (SELECT CASE WHEN c.name LIKE 'regression%' THEN 'SELECT x, y FROM line'
                          ELSE 'SELECT x, y FROM blobs' END AS q) s
WHERE c.device = 'cpu' AND g.device = 'opencl' ORDER BY 1;
-- real data on the device: digits, raw pixels; floor 95 % like the CPU test
CREATE TABLE digits (id int, x real[], label int, is_test boolean);
COPY digits FROM :'digits_csv' WITH (FORMAT csv, HEADER true);
SELECT (hanami.verify(net, 'SELECT x, label FROM digits WHERE is_test') ->> 'accuracy')::float8 >= 0.95 AS digits_accuracy_ge_95
FROM (SELECT hanami.fit(hanami.network('{"layers": [64, 64, 10]}', 1),
                        'SELECT x, label FROM digits WHERE NOT is_test',
                        '{"epochs": 30, "batch_size": 16, "device": "opencl"}') AS net) s;

-- the GUCs: hanami.device = opencl for every fit, hanami.opencl_device picks
SET hanami.device = opencl;
SET hanami.opencl_device = '0:0';
SELECT hanami.info(hanami.fit(hanami.network('{"layers": [4, 8, 3]}', 1), 'SELECT x, y FROM blobs',
                              '{"epochs": 1}')) -> 'trained' AS trained_on_gpu_setting;
SELECT hanami.info(hanami.fit(hanami.network('{"layers": [4, 8, 3]}', 1), 'SELECT x, y FROM blobs',
                              '{"epochs": 1, "device": "cpu"}')) -> 'trained' AS option_wins;
SET hanami.opencl_device = 'no such device';
SELECT hanami.fit(hanami.network('{"layers": [4, 8, 3]}', 1), 'SELECT x, y FROM blobs');
SET hanami.device = auto;
SELECT hanami.info(hanami.fit(hanami.network('{"layers": [4, 8, 3]}', 1), 'SELECT x, y FROM blobs',
                              '{"epochs": 1}')) -> 'trained' AS auto_never_fails;
RESET hanami.opencl_device;
RESET hanami.device;
SET hanami.device = 'gpu';

-- options.device
SELECT hanami.fit(hanami.network('{"layers": [4, 8, 3]}', 1), 'SELECT x, y FROM blobs', '{"device": "gpu"}');
SELECT hanami.fit(hanami.network('{"layers": [4, 8, 3]}', 1), 'SELECT x, y FROM blobs', '{"device": 1}');
SELECT hanami.fit(hanami.network('{"layers": [4, 8, 3]}', 1), 'SELECT x, y FROM blobs', '{"device": "opencl:99:0"}');
SELECT hanami.info(hanami.fit(hanami.network('{"layers": [4, 8, 3]}', 1), 'SELECT x, y FROM blobs',
                              '{"epochs": 1, "device": "opencl:0:0"}')) -> 'trained' AS by_index;
-- the engine's own errors come through unchanged
SELECT hanami.fit(hanami.network('{"layers": [4, 8, 3]}', 1), 'SELECT x, y + 5 FROM blobs', '{"device": "opencl"}');
SELECT hanami.fit(hanami.network('{"layers": [4, 8, 3]}', 1), 'SELECT x, y FROM blobs',
                  '{"device": "opencl", "validation_split": 0.99, "batch_size": 1000}') IS NOT NULL AS tiny_training_set;
SELECT hanami.fit(hanami.network('{"layers": [1, 8, 1], "activation": "identity", "input_scaling": false}', 1),
                  'SELECT x * 1e15, y FROM line', '{"device": "opencl", "optimizer": "sgd", "learning_rate": 1}');

-- cancel: statement_timeout stops a long fit on the device, and no device
-- buffer is left behind
SET statement_timeout = '500ms';
SELECT hanami.fit(hanami.network('{"layers": [4, 64, 3]}', 1), 'SELECT x, y FROM blobs',
                  '{"epochs": 1000000, "batch_size": 1, "device": "opencl"}');
RESET statement_timeout;
SELECT (hanami.capabilities() -> 'opencl' ->> 'live_buffers')::int AS live_buffers_after_cancel,
       (hanami.capabilities() -> 'opencl' ->> 'programs_built')::int AS programs_built_once;
-- and the backend goes on using the device
SELECT hanami.info(hanami.fit(hanami.network('{"layers": [4, 8, 3]}', 1), 'SELECT x, y FROM blobs',
                              '{"epochs": 1, "device": "opencl"}')) -> 'trained' AS after_cancel;
SELECT (hanami.capabilities() -> 'opencl' ->> 'live_buffers')::int AS live_buffers_after_fit;

RESET search_path;
DROP SCHEMA hanami_opencl_test CASCADE;
