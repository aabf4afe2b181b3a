-- Compact weights: hanami.quantize() to pow2 (signed powers of two), f16
-- and u8; the text, binary and bytea forms, info(), inference, the store
-- and paging, and the errors.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
\getenv abs_builddir PG_ABS_BUILDDIR
\set bin_file :abs_builddir '/results/23_dtype.bin'

SELECT hanami.capabilities() -> 'dtypes' AS dtypes;

-- three classes of points in 6 dimensions
CREATE TABLE dt_rows AS
SELECT g AS id,
       ARRAY(SELECT (sin(g * 1.7 + i * 2.3) * 3 + (g % 3) * (i % 2) * 2)::real
             FROM generate_series(1, 6) i) AS x,
       g % 3 AS label
FROM generate_series(1, 600) g;
CREATE TABLE dt_f32 AS
SELECT hanami.fit(hanami.network('{"layers": [6, 200, 3]}', 3),
                  'SELECT x, label FROM dt_rows WHERE id <= 450',
                  '{"epochs": 30, "batch_size": 16}') AS net;
CREATE TABLE dt_nets AS
SELECT d AS dtype, hanami.quantize(net, d) AS net
FROM dt_f32, unnest(ARRAY['f32', 'pow2', 'f16', 'u8']) WITH ORDINALITY AS u(d, ord)
ORDER BY ord;

-- info: the dtype, the format version, the bytes
SELECT dtype, hanami.info(net) ->> 'dtype' AS info_dtype,
       hanami.info(net) ->> 'format' AS format,
       (hanami.info(net) ->> 'bytes')::int AS bytes,
       (hanami.info(net) ->> 'weight_bytes')::int AS weight_bytes,
       hanami.info(net) ->> 'parameters' AS parameters
FROM dt_nets;

-- quantize again to the same dtype: the same value; f32 of f32 too
SELECT dtype, hanami.quantize(net, dtype)::bytea = net::bytea AS idempotent
FROM dt_nets;
SELECT hanami.quantize(net, 'float32')::bytea = net::bytea AS float32_alias FROM dt_f32;

-- text, bytea and binary COPY round trips are exact
SELECT dtype, (net::text::hanami.network)::bytea = net::bytea AS text_round_trip,
       (net::bytea::hanami.network)::bytea = net::bytea AS bytea_round_trip,
       hanami.network_send(net) = net::bytea AS send_is_image,
       net::text::jsonb ->> 'dtype' AS text_dtype
FROM dt_nets;
COPY dt_nets TO :'bin_file' WITH (FORMAT binary);
CREATE TABLE dt_back (LIKE dt_nets);
COPY dt_back FROM :'bin_file' WITH (FORMAT binary);
SELECT b.dtype, b.net::bytea = n.net::bytea AS binary_round_trip
FROM dt_back b JOIN dt_nets n USING (dtype);

-- inference: close to float32 (pow2 the coarsest), classes mostly agree
SELECT n.dtype,
       max(abs(a - b)) < CASE n.dtype WHEN 'f16' THEN 0.01 WHEN 'u8' THEN 0.1 ELSE 0.5 END AS outputs_close,
       avg((hanami.classify(n.net, r.x) = hanami.classify(f.net, r.x))::int) >= 0.8 AS classes_agree
FROM dt_nets n, dt_f32 f, dt_rows r,
     LATERAL unnest(hanami.run(n.net, r.x), hanami.run(f.net, r.x)) AS u(a, b)
WHERE r.id > 450
GROUP BY n.dtype ORDER BY n.dtype;
SELECT n.dtype,
       (hanami.verify(n.net, 'SELECT x, label FROM dt_rows WHERE id > 450') ->> 'accuracy')::float8 >=
       (hanami.verify(f.net, 'SELECT x, label FROM dt_rows WHERE id > 450') ->> 'accuracy')::float8 - 0.05
         AS verify_within_5_points
FROM dt_nets n, dt_f32 f ORDER BY n.dtype;
-- batched inference (window functions) gives what run() gives, to rounding
SELECT n.dtype, max(abs(a - b)) < 1e-5 AS batch_matches_run
FROM dt_nets n,
     LATERAL (SELECT r.x, hanami.run_batch(n.net, r.x) OVER () AS y
              FROM dt_rows r WHERE r.id > 590) p,
     LATERAL unnest(p.y, hanami.run(n.net, p.x)) AS u(a, b)
GROUP BY n.dtype ORDER BY n.dtype;

-- OpenCL (PoCL here) against the CPU for every dtype: outputs within
-- float32 rounding, the same classes
SELECT n.dtype, max(abs(a - b)) < 1e-4 AS opencl_matches_cpu,
       bool_and(c1 = c2) AS same_classes
FROM dt_nets n,
     LATERAL (SELECT hanami.run_batch(n.net, r.x, '{"device": "cpu"}') OVER () AS y1,
                     hanami.run_batch(n.net, r.x, '{"device": "opencl"}') OVER () AS y2,
                     hanami.classify_batch(n.net, r.x, '{"device": "cpu"}') OVER () AS c1,
                     hanami.classify_batch(n.net, r.x, '{"device": "opencl"}') OVER () AS c2
              FROM dt_rows r WHERE r.id > 500) p,
     LATERAL unnest(p.y1, p.y2) AS u(a, b)
GROUP BY n.dtype ORDER BY n.dtype;

-- training for pow2: "device": "auto" trains it on the CPU, an explicit
-- "opencl" is refused; a reshape keeps the training for pow2 and the function
CREATE TABLE dt_qat AS
SELECT hanami.fit(hanami.network('{"layers": [6, 16, 3], "dtype": "pow2"}', 5),
                  'SELECT x, label FROM dt_rows WHERE id <= 450',
                  '{"epochs": 2, "batch_size": 16, "device": "auto"}') AS net;
SELECT hanami.info(net) ->> 'pow2_shadow' AS auto_trained_shadow FROM dt_qat;
SELECT hanami.fit(net, 'SELECT x, label FROM dt_rows', '{"epochs": 1, "device": "opencl"}') FROM dt_qat;
SELECT hanami.info(r.net) ->> 'pow2_shadow' AS reshaped_shadow,
       jsonb_path_query_array(hanami.info(r.net), '$.layers[*].count') AS layers,
       r.changes -> 'function_kept' AS function_kept,
       max(abs(a - b)) = 0 AS outputs_same,
       max(abs(c - b)) < 1e-5 AS quantized_close
FROM dt_qat q, hanami.reshape_report(q.net, '{"layers": [6, 24, 3]}') r, dt_rows d,
     LATERAL unnest(hanami.run(r.net, d.x), hanami.run(q.net, d.x),
                    hanami.run(hanami.quantize(r.net, 'pow2'), d.x)) AS u(a, b, c)
WHERE d.id > 580 GROUP BY 1, 2, 3;
SELECT hanami.info(hanami.fit(r.net, 'SELECT x, label FROM dt_rows WHERE id <= 450',
                              '{"epochs": 1}')) ->> 'pow2_shadow' AS reshaped_trains_for_pow2
FROM dt_qat q, hanami.reshape_report(q.net, '{"layers": [6, 24, 3]}') r;

-- errors
SELECT hanami.quantize(net, 'int4') FROM dt_f32;
SELECT hanami.quantize(net, 'u8') FROM dt_nets WHERE dtype = 'pow2';
SELECT hanami.quantize(net, 'f32') FROM dt_nets WHERE dtype = 'f16';
SELECT hanami.quantize(hanami.network('{"kind": "hanami", "layers": [4, 8, 2]}', 1), 'pow2');
SELECT hanami.quantize(NULL, 'pow2') IS NULL AS strict;
SELECT hanami.fit(net, 'SELECT x, label FROM dt_rows', '{"epochs": 1}') FROM dt_nets WHERE dtype = 'u8';
SELECT hanami.network('{"layers": [2, 2], "dtype": "f16"}');
SELECT hanami.network('{"layers": [2, 2], "dtype": "bf16"}');
DO $$
BEGIN
	PERFORM hanami.quantize(hanami.network('{"kind": "hanami", "layers": [4, 8, 2]}', 1), 'u8');
EXCEPTION WHEN feature_not_supported THEN
	RAISE WARNING 'growing kind: feature_not_supported (%)', SQLSTATE;
END
$$;
-- a malformed quantized value is refused
SELECT set_byte(net::bytea, 64, 7)::hanami.network FROM dt_nets WHERE dtype = 'u8';
SELECT set_byte(net::bytea, 64, 0)::hanami.network FROM dt_nets WHERE dtype = 'u8';
SELECT set_byte(net::bytea, 4, 1)::hanami.network FROM dt_nets WHERE dtype = 'pow2';

-- the store: save, load, predict (cached and paged) for every dtype
CREATE ROLE regress_dt_alice;
SELECT hanami.create_project('regress_dt_team');
SELECT hanami.add_member('regress_dt_team', 'regress_dt_alice', 'admin');
GRANT SELECT ON dt_nets, dt_rows TO regress_dt_alice;
SET ROLE regress_dt_alice;
SELECT count(hanami.create_model('dt_' || dtype, '{"layers": [6, 200, 3]}', 'regress_dt_team', 1)) AS models
FROM dt_nets;
SELECT dtype, hanami.save('dt_' || dtype, net, 'quantized') > 0 AS saved FROM dt_nets;
SELECT dtype, hanami.load('dt_' || dtype)::bytea = net::bytea AS load_is_value FROM dt_nets;
SELECT n.dtype, max(abs(a - b)) < 1e-5 AS predict_matches_run
FROM dt_nets n, dt_rows r,
     LATERAL unnest(hanami.predict('dt_' || n.dtype, r.x), hanami.run(n.net, r.x)) AS u(a, b)
WHERE r.id > 580 GROUP BY n.dtype ORDER BY n.dtype;
-- saving the same weights again stores no new block (dedup)
CREATE TEMP TABLE dt_blocks AS SELECT count(*) AS n FROM hanami.blocks;
SELECT count(hanami.save('dt_' || dtype, net, 'again')) AS saved_again FROM dt_nets;
SELECT n > 0 AS sees_blocks, (SELECT count(*) FROM hanami.blocks) = n AS no_new_blocks FROM dt_blocks;
-- paged: a cache smaller than the model reads it layer by layer, with the
-- kernels of the whole network
DISCARD ALL;
SET ROLE regress_dt_alice;
SET hanami.model_cache_memory = '1kB';
SELECT n.dtype, max(abs(a - b)) < 1e-5 AS paged_matches_run, count(*) AS values
FROM dt_nets n,
     LATERAL (SELECT r.x, hanami.predict_batch('dt_' || n.dtype, r.x) OVER () AS y
              FROM dt_rows r WHERE r.id > 590) p,
     LATERAL unnest(p.y, hanami.run(n.net, p.x)) AS u(a, b)
GROUP BY n.dtype ORDER BY n.dtype;
SELECT (s->>'paged_models')::int AS paged_models, (s->>'page_fetches')::int >= 8 AS layers_fetched
FROM hanami.model_cache_stats() s;
RESET hanami.model_cache_memory;
RESET ROLE;
