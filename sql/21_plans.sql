--
-- Plans of inference queries: the documented forms, on a freshly created
-- model table that was never analyzed and with default settings, are
-- planned without JIT (which cannot speed up a network and costs
-- milliseconds to compile), while the same join without hanami's functions
-- still gets JIT from the same estimate.
--
SET client_min_messages = warning;
SHOW jit;
SHOW hanami.allow_jit;

CREATE TABLE plan_rows AS
SELECT i AS id, ARRAY[(i % 7)::real, (i % 3)::real] AS x, (i % 2) AS y
FROM generate_series(1, 20000) i;
CREATE TABLE plan_model AS
SELECT hanami.fit(hanami.network('{"layers": [2, 4, 2]}', 1),
                  'SELECT x, y FROM plan_rows WHERE id <= 200', '{"epochs": 1}') AS net;

-- true when EXPLAIN shows that the plan would be JIT-compiled
CREATE FUNCTION plan_uses_jit(q text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    p json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO p;
    RETURN (p -> 0 -> 'JIT') IS NOT NULL;
END $$;

-- the planner's estimate for the never-analyzed model table is far above
-- its one row, so the join's cost crosses jit_above_cost
SELECT (plan_uses_jit('SELECT count(*) FROM plan_rows r, plan_model m WHERE length(m.net::text) > r.id')) AS join_without_hanami_uses_jit;

-- the README's form, and its kin
SELECT plan_uses_jit('SELECT r.id, hanami.classify(m.net, r.x) FROM plan_rows r, plan_model m') AS classify;
SELECT plan_uses_jit('SELECT count(*) FILTER (WHERE hanami.classify(m.net, r.x) = r.y) FROM plan_rows r, plan_model m') AS classify_count;
SELECT plan_uses_jit('SELECT hanami.run(m.net, r.x) FROM plan_rows r, plan_model m') AS run;
SELECT plan_uses_jit('SELECT r.id, hanami.classify_batch(m.net, r.x) OVER () FROM plan_rows r, plan_model m') AS classify_batch;
SELECT plan_uses_jit('SELECT r.id FROM plan_rows r WHERE r.id IN (SELECT hanami.classify(m.net, r2.x) FROM plan_rows r2, plan_model m)') AS in_a_sublink;
SELECT plan_uses_jit('WITH c AS (SELECT hanami.classify(m.net, r.x) AS k FROM plan_rows r, plan_model m) SELECT count(*) FROM c') AS in_a_cte;

-- the plan is the plain one: the rows scanned once, the model materialized
EXPLAIN (COSTS OFF) SELECT r.id, hanami.classify(m.net, r.x) FROM plan_rows r, plan_model m;

-- hanami.allow_jit gives the planner its own way
SET hanami.allow_jit = on;
SELECT plan_uses_jit('SELECT r.id, hanami.classify(m.net, r.x) FROM plan_rows r, plan_model m') AS classify_allowed;
RESET hanami.allow_jit;
-- and jit = off stays off
SET jit = off;
SELECT plan_uses_jit('SELECT count(*) FROM plan_rows r, plan_model m WHERE length(m.net::text) > r.id') AS jit_off;
RESET jit;

DROP FUNCTION plan_uses_jit(text);
DROP TABLE plan_rows, plan_model;
