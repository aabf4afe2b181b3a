-- Paged inference of a stored growing ("hanami") model: a fit leaves its
-- sections grouped by cell, each cell's sections are a segment of the
-- store, and a model larger than hanami.model_cache_memory is run from its
-- head (cells and neurons) reading each cell's sections once per batch,
-- with the bits of the whole model.  Digits from data/digits.csv (written
-- by examples/datasets.py).
SET client_min_messages = warning;
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\set digits_csv :abs_srcdir '/data/digits.csv'

CREATE TABLE gp_digits (id int, x real[], label int, is_test boolean);
COPY gp_digits FROM :'digits_csv' WITH (FORMAT csv, HEADER true);

SELECT hanami.create_model('gp', '{"kind": "hanami", "layers": [64, 256, 10]}', seed => 1) IS NOT NULL AS created;
SELECT hanami.train('gp', 'SELECT x, label FROM gp_digits WHERE NOT is_test',
                    '{"epochs": 4, "learning_rate": 0.05, "seed": 1}') > 0 AS trained;
-- the stored blocks: the head, then the sections of each cell that sends any
SELECT DISTINCT segment FROM hanami.commit_blocks
WHERE commit_id = (SELECT commit_id FROM hanami.resolve('gp')) ORDER BY 1;

-- a budget of 60 % of the model
CREATE TEMP TABLE gp_size AS
SELECT c.bytes FROM hanami.commits c WHERE c.id = (SELECT commit_id FROM hanami.resolve('gp'));
SELECT set_config('hanami.model_cache_memory', (bytes * 6 / 10 / 1024)::int || 'kB', false) IS NOT NULL AS budget_set
FROM gp_size;
SELECT (s->>'budget_bytes')::bigint < g.bytes AS model_larger_than_budget,
       g.bytes > 200 * 1024 AS model_over_200kb
FROM gp_size g, hanami.model_cache_stats() s;

-- 1. paged, in batches of 256 rows: 1797 rows are 8 batches, each cell's
-- sections read at most once per batch (two cells send sections)
CREATE TEMP TABLE gp_paged AS
SELECT id, hanami.predict_batch('gp', x) OVER () AS y FROM gp_digits;
SELECT (s->>'paged_models')::int AS paged_models,
       (s->>'page_fetches')::int BETWEEN 1 AND 16 AS at_most_once_per_batch,
       (s->>'peak_bytes')::bigint <= (s->>'budget_bytes')::bigint AS peak_within_budget,
       (s->>'bytes')::bigint <= (s->>'budget_bytes')::bigint AS within_budget
FROM hanami.model_cache_stats() s;

-- 2. paged, row by row: predict() and predict_class()
CREATE TEMP TABLE gp_rows AS
SELECT id, hanami.predict('gp', x) AS y, hanami.predict_class('gp', x) AS c
FROM gp_digits WHERE id % 9 = 0;
SELECT (s->>'peak_bytes')::bigint <= (s->>'budget_bytes')::bigint AS peak_within_budget
FROM hanami.model_cache_stats() s;

-- 3. the whole model: the default budget, and the network value itself
RESET hanami.model_cache_memory;
CREATE TEMP TABLE gp_whole AS
SELECT d.id, hanami.predict('gp', d.x) AS y, hanami.predict_class('gp', d.x) AS c,
       hanami.run(n.net, d.x) AS run_y, hanami.classify(n.net, d.x) AS run_c
FROM gp_digits d, (SELECT hanami.load('gp') AS net) n;
SELECT (s->>'paged_models')::int AS paged_models, (s->>'models')::int AS models
FROM hanami.model_cache_stats() s;

-- the same bits everywhere
SELECT count(*) AS rows,
       count(*) FILTER (WHERE array_send(p.y) = array_send(w.y)) AS paged_batch_same_bits,
       count(*) FILTER (WHERE array_send(p.y) = array_send(w.run_y)) AS paged_batch_same_as_run
FROM gp_whole w JOIN gp_paged p USING (id);
SELECT count(*) AS rows,
       count(*) FILTER (WHERE array_send(r.y) = array_send(w.run_y) AND r.c = w.run_c
                        AND r.c = w.c) AS paged_rows_same_bits_and_class
FROM gp_whole w JOIN gp_rows r USING (id);
-- (real class scores, not a constant; and the model learned)
SELECT count(DISTINCT c) = 10 AS all_classes, min(y[1]) < max(y[1]) AS outputs_vary,
       avg((c = label)::int) >= 0.8 AS accuracy_ge_80
FROM gp_whole JOIN gp_digits USING (id) WHERE is_test;

-- 4. a spiking model carries its state in the head: paged too, row by row
SELECT hanami.create_model('gp_spike', '{"kind": "hanami", "layers": [64, 256, 10], "settings": {"neuron_cooldown": 2}}', seed => 1) IS NOT NULL AS created;
SELECT hanami.train('gp_spike', 'SELECT x, label FROM gp_digits WHERE NOT is_test AND id % 3 = 0',
                    '{"epochs": 2, "seed": 1}') > 0 AS trained;
SELECT set_config('hanami.model_cache_memory', (c.bytes * 6 / 10 / 1024)::int || 'kB', false) IS NOT NULL AS budget_set
FROM hanami.commits c WHERE c.id = (SELECT commit_id FROM hanami.resolve('gp_spike'));
CREATE TEMP TABLE gp_spike_paged AS
SELECT id, hanami.predict_batch('gp_spike', x) OVER (ORDER BY id) AS y FROM gp_digits WHERE id <= 300;
SELECT (s->>'paged_models')::int >= 1 AS paged FROM hanami.model_cache_stats() s;
RESET hanami.model_cache_memory;
CREATE TEMP TABLE gp_spike_whole AS
SELECT id, hanami.predict_batch('gp_spike', x) OVER (ORDER BY id) AS y FROM gp_digits WHERE id <= 300;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE array_send(p.y) = array_send(w.y)) AS spiking_same_bits
FROM gp_spike_whole w JOIN gp_spike_paged p USING (id);

SELECT hanami.drop_model('gp'), hanami.drop_model('gp_spike');
DROP TABLE gp_digits, gp_size, gp_paged, gp_rows, gp_whole, gp_spike_paged, gp_spike_whole;
