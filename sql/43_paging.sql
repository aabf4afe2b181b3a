-- Stored models larger than hanami.model_cache_memory: predict() and
-- predict_batch() page them, reading one layer at a time from the blocks
-- as the current role, within the budget, with the bits of the whole model.
SET client_min_messages = warning;
\set SHOW_CONTEXT never

CREATE ROLE regress_pg_alice;
CREATE ROLE regress_pg_bob;
SELECT hanami.create_project('regress_pg_team'), hanami.create_project('regress_pg_other');
SELECT hanami.add_member('regress_pg_team', 'regress_pg_alice', 'admin');
SELECT hanami.add_member('regress_pg_other', 'regress_pg_bob', 'admin');

-- 600 rows of 784 inputs, a third of them zero
CREATE TABLE paging_rows AS
SELECT g AS id,
       ARRAY(SELECT CASE WHEN (g + i) % 3 = 0 THEN 0 ELSE sin(g * 7 + i) * 2 END::real
             FROM generate_series(1, 784) i) AS x
FROM generate_series(1, 600) g;
GRANT SELECT ON paging_rows TO PUBLIC;

SET ROLE regress_pg_alice;
-- about 7.4 MB: layers of 3.2 MB, 4.2 MB and 40 kB
SELECT hanami.create_model('big', '{"layers": [784, 1024, 1024, 10]}', 'regress_pg_team', 7) > 0 AS created;
SET hanami.model_cache_memory = '5MB';
SELECT c.bytes AS model_bytes, c.bytes > (s->>'budget_bytes')::bigint AS larger_than_budget,
       (s->>'budget_bytes')::bigint AS budget_bytes
FROM hanami.commits c, hanami.model_cache_stats() s ORDER BY c.id DESC LIMIT 1;

-- 1. paged, in batches: every layer is read at most once per batch of 256
-- rows (3 batches; the small last layer stays cached), the cache never
-- holds more than the budget
CREATE TEMP TABLE paged AS
SELECT id, hanami.predict_batch('big', x) OVER () AS y FROM paging_rows;
SELECT (s->>'paged_models')::int AS paged_models,
       (s->>'page_fetches')::int BETWEEN 6 AND 9 AS once_per_batch,
       (s->>'peak_bytes')::bigint <= (s->>'budget_bytes')::bigint AS peak_within_budget,
       (s->>'bytes')::bigint <= (s->>'budget_bytes')::bigint AS within_budget,
       (s->>'peak_bytes')::bigint > 4 * 1024 * 1024 AS holds_a_layer
FROM hanami.model_cache_stats() s;
-- what the memory contexts say (the view is for superusers)
RESET ROLE;
SELECT sum(total_bytes) <= 5 * 1024 * 1024 AS contexts_within_budget,
       sum(total_bytes) > 4 * 1024 * 1024 AS contexts_hold_a_layer
FROM pg_backend_memory_contexts WHERE name LIKE 'hanami model cache%';
SET ROLE regress_pg_alice;

-- 2. paged, row by row: predict() and predict_class() read the layers
CREATE TEMP TABLE paged_rows AS
SELECT id, hanami.predict('big', x) AS y, hanami.predict_class('big', x) AS c
FROM paging_rows WHERE id <= 4;
SELECT (s->>'page_fetches')::int > 9 AS read_again,
       (s->>'peak_bytes')::bigint <= (s->>'budget_bytes')::bigint AS peak_within_budget
FROM hanami.model_cache_stats() s;

-- 3. a budget smaller than a layer: such a layer is read for the call only
SET hanami.model_cache_memory = '2MB';
CREATE TEMP TABLE paged_small AS
SELECT id, hanami.predict_batch('big', x) OVER () AS y FROM paging_rows WHERE id <= 300;
SELECT (s->>'bytes')::bigint <= (s->>'budget_bytes')::bigint AS within_budget,
       (s->>'pages')::int AS pages_cached
FROM hanami.model_cache_stats() s;

-- 4. the whole model, with the default budget: the entry is loaded again
RESET hanami.model_cache_memory;
CREATE TEMP TABLE whole AS
SELECT id, hanami.predict('big', x) AS y, hanami.predict_class('big', x) AS c FROM paging_rows;
CREATE TEMP TABLE whole_batch AS
SELECT id, hanami.predict_batch('big', x) OVER () AS y FROM paging_rows;
SELECT (s->>'paged_models')::int AS paged_models, (s->>'models')::int AS models
FROM hanami.model_cache_stats() s;

-- the same bits everywhere
SELECT count(*) AS rows,
       count(*) FILTER (WHERE array_send(p.y) = array_send(w.y)) AS paged_batch_same_bits,
       count(*) FILTER (WHERE array_send(b.y) = array_send(w.y)) AS whole_batch_same_bits
FROM whole w JOIN paged p USING (id) JOIN whole_batch b USING (id);
SELECT count(*) AS rows,
       count(*) FILTER (WHERE array_send(r.y) = array_send(w.y) AND r.c = w.c) AS paged_rows_same_bits
FROM whole w JOIN paged_rows r USING (id);
SELECT count(*) AS rows,
       count(*) FILTER (WHERE array_send(s.y) = array_send(w.y)) AS paged_small_same_bits
FROM whole w JOIN paged_small s USING (id);
-- (outputs are softmax probabilities, not a constant)
SELECT count(DISTINCT c) > 1 AS several_classes, min(y[1]) < max(y[1]) AS outputs_vary FROM whole;

-- 5. tenancy: paging reads the blocks as the caller; another project's
-- role gets "does not exist", cached layers or not
SET hanami.model_cache_memory = '5MB';
SELECT count(y) AS alice_again
FROM (SELECT hanami.predict_batch('big', x) OVER () AS y FROM paging_rows WHERE id <= 10) p;
SET ROLE regress_pg_bob;
SELECT hanami.predict_batch('regress_pg_team/big', x) OVER () FROM paging_rows WHERE id <= 2;
SELECT hanami.predict('regress_pg_team/big', x) FROM paging_rows WHERE id <= 2;

-- 6. every row of a partition names the same model; NULL inputs give NULL
SET ROLE regress_pg_alice;
SELECT hanami.predict_batch(CASE WHEN id = 1 THEN 'big' ELSE 'other' END, x) OVER (ORDER BY id)
FROM paging_rows WHERE id <= 2;
SELECT id, hanami.predict_batch('big', CASE WHEN id = 2 THEN NULL ELSE x END) OVER (ORDER BY id) IS NULL AS is_null
FROM paging_rows WHERE id <= 3 ORDER BY id;
RESET hanami.model_cache_memory;

SELECT hanami.drop_model('big');
DROP TABLE paged, paged_rows, paged_small, whole, whole_batch;
RESET ROLE;
DROP TABLE paging_rows;
DELETE FROM hanami.projects WHERE project IN ('regress_pg_team'::regrole, 'regress_pg_other'::regrole);
SELECT hanami.gc() >= 0 AS collected;
DROP ROLE regress_pg_alice, regress_pg_bob, regress_pg_team, regress_pg_other;
