-- The fast paths against their references, on small data: compute threads
-- (hanami.threads) give the bytes of one thread; rows streamed from the
-- query when they exceed hanami.dataset_memory give the bytes of rows held
-- in memory; inline inference one row at a time agrees with verify()'s
-- batches; online training (batch 1, fused update) learns.
SET client_min_messages = warning;
\getenv abs_srcdir PG_ABS_SRCDIR
\set digits_csv :abs_srcdir '/data/digits.csv'
\set diabetes_csv :abs_srcdir '/data/diabetes.csv'

CREATE TABLE fp_digits (id int, x real[], label int, is_test boolean);
COPY fp_digits FROM :'digits_csv' WITH (FORMAT csv, HEADER true);
CREATE TABLE fp_diabetes (id int, x real[], target real, is_test boolean);
COPY fp_diabetes FROM :'diabetes_csv' WITH (FORMAT csv, HEADER true);
CREATE TABLE fast_models (name text PRIMARY KEY, net hanami.network);

SHOW hanami.threads;

-- threads: the same bytes as one thread, mini-batches and batch 1
INSERT INTO fast_models
SELECT 'b16_t' || t, hanami.fit(hanami.network('{"layers": [64, 32, 10]}', 3),
                                'SELECT x, label FROM fp_digits WHERE NOT is_test ORDER BY id',
                                '{"epochs": 3, "batch_size": 16}')
FROM (SELECT set_config('hanami.threads', t::text, false), t FROM generate_series(1, 3) t) s;
INSERT INTO fast_models
SELECT 'b1_t' || t, hanami.fit(hanami.network('{"layers": [64, 32, 10]}', 3),
                               'SELECT x, label FROM fp_digits WHERE NOT is_test ORDER BY id',
                               '{"epochs": 2, "batch_size": 1, "optimizer": "sgd", "learning_rate": 0.005}')
FROM (SELECT set_config('hanami.threads', t::text, false), t FROM generate_series(1, 2) t) s;
RESET hanami.threads;
SELECT (SELECT net::bytea FROM fast_models WHERE name = 'b16_t1') = (SELECT net::bytea FROM fast_models WHERE name = 'b16_t2') AS two_threads_same_bytes,
       (SELECT net::bytea FROM fast_models WHERE name = 'b16_t1') = (SELECT net::bytea FROM fast_models WHERE name = 'b16_t3') AS three_threads_same_bytes,
       (SELECT net::bytea FROM fast_models WHERE name = 'b1_t1') = (SELECT net::bytea FROM fast_models WHERE name = 'b1_t2') AS batch1_threads_same_bytes;
-- threads inflate compressed feature arrays: the rows and the errors of one
-- thread (rows compressed inline, stored out of line, or small, mixed)
CREATE TABLE fp_wide (id int, x real[], label int);
INSERT INTO fp_wide
SELECT i, ARRAY(SELECT ((i * j) % 17)::real FROM generate_series(1, 700) j), i % 3
FROM generate_series(1, 300) i;
INSERT INTO fp_wide
SELECT 300 + i, ARRAY(SELECT (random() * 1000)::real FROM generate_series(1, 700) j), i % 3
FROM generate_series(1, 20) i;
ALTER TABLE fp_wide ALTER COLUMN x SET COMPRESSION lz4;
INSERT INTO fp_wide
SELECT 320 + i, ARRAY(SELECT ((i * j) % 13)::real FROM generate_series(1, 700) j), i % 3
FROM generate_series(1, 20) i;
SELECT count(*) FILTER (WHERE pg_column_compression(x) = 'pglz') >= 300 AS compressed_rows,
       count(*) FILTER (WHERE pg_column_compression(x) = 'lz4') >= 1 AS lz4_rows,
       count(*) FILTER (WHERE pg_column_compression(x) IS NULL) >= 1 AS plain_rows
FROM fp_wide;
INSERT INTO fast_models
SELECT 'wide_t' || t, hanami.fit(hanami.network('{"layers": [700, 8, 3]}', 3),
                                 'SELECT x, label FROM fp_wide ORDER BY id', '{"epochs": 1}')
FROM (SELECT set_config('hanami.threads', t::text, false), t FROM generate_series(1, 2) t) s;
SELECT (SELECT net::bytea FROM fast_models WHERE name = 'wide_t1') = (SELECT net::bytea FROM fast_models WHERE name = 'wide_t2') AS inflated_same_bytes;
UPDATE fp_wide SET x[350] = 'NaN' WHERE id = 200;
UPDATE fp_wide SET x = x[1:699] WHERE id = 250;
UPDATE fp_wide SET x[10] = NULL WHERE id = 100;
SET hanami.threads = 2;
SELECT hanami.fit(hanami.network('{"layers": [700, 8, 3]}', 3), 'SELECT x, label FROM fp_wide ORDER BY id', '{"epochs": 1}');
SELECT hanami.fit(hanami.network('{"layers": [700, 8, 3]}', 3), 'SELECT x, label FROM fp_wide WHERE id > 100 ORDER BY id', '{"epochs": 1}');
SELECT hanami.fit(hanami.network('{"layers": [700, 8, 3]}', 3), 'SELECT x, label FROM fp_wide WHERE id > 200 ORDER BY id', '{"epochs": 1}');
RESET hanami.threads;
SELECT hanami.fit(hanami.network('{"layers": [700, 8, 3]}', 3), 'SELECT x, label FROM fp_wide ORDER BY id', '{"epochs": 1}');
SELECT hanami.fit(hanami.network('{"layers": [700, 8, 3]}', 3), 'SELECT x, label FROM fp_wide WHERE id > 100 ORDER BY id', '{"epochs": 1}');
SELECT hanami.fit(hanami.network('{"layers": [700, 8, 3]}', 3), 'SELECT x, label FROM fp_wide WHERE id > 200 ORDER BY id', '{"epochs": 1}');

SET hanami.threads = 0;
SET hanami.threads = 65;
RESET hanami.threads;

-- online training (batch 1, the fused update) learns fp_digits
SELECT (hanami.verify(net, 'SELECT x, label FROM fp_digits WHERE is_test') ->> 'accuracy')::float8 >= 0.9 AS batch1_accuracy_ge_90
FROM fast_models WHERE name = 'b1_t1';

-- streamed: 1347 rows of 64 values need 345 kB, more than 64 kB, so every
-- epoch runs the query again; with shuffle off the bytes are those of a fit
-- in memory (classes and regression alike)
SET hanami.dataset_memory = 64;
INSERT INTO fast_models
SELECT 'stream', hanami.fit(hanami.network('{"layers": [64, 32, 10]}', 3),
                            'SELECT x, label FROM fp_digits WHERE NOT is_test ORDER BY id',
                            '{"epochs": 3, "batch_size": 16, "shuffle": false}');
INSERT INTO fast_models
SELECT 'stream_reg', hanami.fit(hanami.network('{"layers": [10, 8, 1]}', 3),
                                'SELECT x, target FROM fp_diabetes WHERE NOT is_test ORDER BY id',
                                '{"epochs": 3, "batch_size": 8, "shuffle": false}');
INSERT INTO fast_models
SELECT 'stream_shuffled', hanami.fit(hanami.network('{"layers": [64, 32, 10]}', 3),
                                     'SELECT x, label FROM fp_digits WHERE NOT is_test ORDER BY id',
                                     '{"epochs": 20, "batch_size": 16}');
SET client_min_messages = notice;
\set VERBOSITY terse
SELECT hanami.info(hanami.fit(hanami.network('{"layers": [64, 32, 10]}', 3),
                              'SELECT x, label FROM fp_digits WHERE NOT is_test',
                              '{"epochs": 1, "verbose": true}')) -> 'trained' AS streamed_verbose;
\set VERBOSITY default
SET client_min_messages = warning;
SELECT hanami.fit(hanami.network('{"layers": [64, 32, 10]}', 3),
                  'SELECT x, label FROM fp_digits', '{"validation_split": 0.2}');
RESET hanami.dataset_memory;
INSERT INTO fast_models
SELECT 'memory', hanami.fit(hanami.network('{"layers": [64, 32, 10]}', 3),
                            'SELECT x, label FROM fp_digits WHERE NOT is_test ORDER BY id',
                            '{"epochs": 3, "batch_size": 16, "shuffle": false}');
INSERT INTO fast_models
SELECT 'memory_reg', hanami.fit(hanami.network('{"layers": [10, 8, 1]}', 3),
                                'SELECT x, target FROM fp_diabetes WHERE NOT is_test ORDER BY id',
                                '{"epochs": 3, "batch_size": 8, "shuffle": false}');
SELECT (SELECT net::bytea FROM fast_models WHERE name = 'stream') = (SELECT net::bytea FROM fast_models WHERE name = 'memory') AS streamed_same_bytes,
       (SELECT hanami.info(net) -> 'trained' FROM fast_models WHERE name = 'stream') AS streamed_trained;
SELECT max(abs(a - b)) < 1e-4 AS streamed_regression_close
FROM (SELECT unnest(hanami.run(s.net, d.x)) AS a, unnest(hanami.run(m.net, d.x)) AS b
      FROM fp_diabetes d, fast_models s, fast_models m
      WHERE s.name = 'stream_reg' AND m.name = 'memory_reg') r;
-- shuffled within chunks, streaming still learns
SELECT (hanami.verify(net, 'SELECT x, label FROM fp_digits WHERE is_test') ->> 'accuracy')::float8 >= 0.9 AS streamed_shuffled_accuracy_ge_90
FROM fast_models WHERE name = 'stream_shuffled';

-- inference: one row at a time (classify, run) agrees with verify()'s
-- batches exactly, and with the training path's validation within rounding
SELECT (SELECT (hanami.verify(net, 'SELECT x, label FROM fp_digits WHERE is_test') ->> 'accuracy')::float8
        FROM fast_models WHERE name = 'memory')
       = (SELECT avg((hanami.classify(m.net, d.x) = d.label)::int)::float8
          FROM fp_digits d, fast_models m WHERE d.is_test AND m.name = 'memory') AS classify_equals_verify;
SELECT count(*) AS rows_checked,
       bool_and(hanami.classify(m.net, d.x) = (SELECT i - 1 FROM unnest(hanami.run(m.net, d.x)) WITH ORDINALITY u(v, i)
                                              ORDER BY v DESC, i LIMIT 1)) AS classify_is_argmax_of_run
FROM fp_digits d, fast_models m WHERE m.name = 'memory';
-- a zero input skips its weights: the same outputs as an input of tiny values
SELECT max(abs(a - b)) < 1e-4 AS zeros_close_to_tiny
FROM (SELECT unnest(hanami.run(net, array_fill(0::real, ARRAY[64]))) AS a,
             unnest(hanami.run(net, array_fill(1e-30::real, ARRAY[64]))) AS b
      FROM fast_models WHERE name = 'memory') r;
