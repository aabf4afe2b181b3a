-- Named models: create, train, predict, versioning, block sharing, gc.
SET client_min_messages = warning;
\set SHOW_CONTEXT never

CREATE TABLE pairs (a real, b real, y int);
INSERT INTO pairs SELECT a, b, (a::int # b::int) FROM (VALUES (0, 0), (0, 1), (1, 0), (1, 1)) v(a, b), generate_series(1, 25);

SELECT hanami.create_model('xor', '{"layers": [2, {"count": 8, "name": "hidden", "activation": "tanh"}, {"count": 2, "name": "out"}]}', seed => 1) AS model_id;
SELECT name, kind, branches, commits FROM hanami.models;

-- train writes a commit with metrics and moves main
SELECT hanami.train('xor', 'SELECT a, b, y FROM pairs', '{"epochs": 200, "learning_rate": 0.05, "batch_size": 4}', 'first training') AS commit_id \gset
SELECT commit_id, parent, branch, message, metrics->>'rows' AS rows, metrics->>'epochs' AS epochs,
       (metrics->>'accuracy')::float8 AS accuracy, metrics ? 'loss' AS has_loss, metrics ? 'duration' AS has_duration
FROM hanami.log('xor');

-- inline prediction by name, in a SELECT over a table
SELECT a, b, hanami.predict_class('xor', ARRAY[a, b]) AS class
FROM (VALUES (0::real, 0::real), (0, 1), (1, 0), (1, 1)) v(a, b) ORDER BY a, b;
SELECT array_length(hanami.predict('xor', '{1,0}'), 1) AS outputs;
SELECT (hanami.evaluate('xor', 'SELECT a, b, y FROM pairs') ->> 'accuracy')::float8 AS accuracy;
SELECT hanami.load('xor')::bytea = hanami.load('xor@main')::bytea AS same_ref,
       hanami.load('xor')::bytea = hanami.load('xor#' || :commit_id)::bytea AS same_commit,
       hanami.load('xor#1')::bytea = hanami.network('{"layers": [2, {"count": 8, "name": "hidden", "activation": "tanh"}, {"count": 2, "name": "out"}]}', 1)::bytea AS first_is_spec;

-- the next statement after a new commit sees it (cache by commit id)
SELECT hanami.save('xor', hanami.load('xor#1'), 'back to the start') AS saved;
SELECT hanami.predict('xor', '{1,0}') = hanami.run(hanami.load('xor#1'), '{1,0}') AS predict_sees_new_commit;
SELECT hanami.reset('xor', :commit_id) IS NOT NULL AS reset_done;
SELECT hanami.predict('xor', '{1,0}') = hanami.run(hanami.load('xor#' || :commit_id), '{1,0}') AS predict_follows_reset;

-- branches, diff, tree
SELECT hanami.branch('xor', 'experiment') = :commit_id AS branched_at_head;
SELECT hanami.train('xor@experiment', 'SELECT a, b, y FROM pairs', '{"epochs": 3, "to_skip": ["hidden"]}') > :commit_id AS trained_branch;
SELECT hanami.diff('xor', 'xor@experiment') - 'a' - 'b' - 'architecture' AS diff;
SELECT jsonb_path_query_array(hanami.tree('xor'), '$.branches[*].name') AS branches,
       jsonb_path_query_array(hanami.tree('xor'), '$.branches[*].commits.size()') AS commits_per_branch,
       hanami.tree('xor') ->> 'kind' AS kind;
SELECT count(*) AS log_length FROM hanami.log('xor@experiment');

-- freezing layers shares their blocks: a 784-256-10 net, train only the
-- output layer, and only the header and output blocks are new
CREATE TABLE wide AS SELECT array_fill((g % 7)::real, ARRAY[784]) AS x, g % 10 AS y FROM generate_series(1, 50) g;
SELECT hanami.create_model('wide', '{"layers": [784, {"count": 256, "name": "hidden"}, {"count": 10, "name": "out"}]}', seed => 2) IS NOT NULL AS created;
SELECT count(*) AS blocks_first_commit FROM hanami.blocks;
SELECT hanami.train('wide', 'SELECT x, y FROM wide', '{"epochs": 1, "to_skip": ["hidden"]}') IS NOT NULL AS trained;
SELECT count(*) AS blocks_after_frozen_train FROM hanami.blocks;
SELECT hanami.diff('wide#' || (SELECT min(commit_id) FROM hanami.log('wide')), 'wide') -> 'changed' AS changed_segments;
SELECT hanami.train('wide', 'SELECT x, y FROM wide', '{"epochs": 1}') IS NOT NULL AS trained_all;
SELECT count(*) AS blocks_after_full_train FROM hanami.blocks;

-- gc frees only what no commit uses
SELECT hanami.gc() AS collected_while_used;
SELECT hanami.drop_model('wide');
SELECT hanami.gc() > 0 AS collected_after_drop;
SELECT count(*) AS wide_blocks_left FROM hanami.blocks b
WHERE NOT EXISTS (SELECT 1 FROM hanami.commit_blocks cb WHERE cb.hash = b.hash);

-- predict is parallel safe and gives the same answers in parallel workers
CREATE TABLE many AS SELECT (g % 2)::real AS a, ((g / 2) % 2)::real AS b FROM generate_series(1, 20000) g;
ANALYZE many;
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT sum(hanami.predict_class('xor', ARRAY[a, b])) FROM many;
SELECT sum(hanami.predict_class('xor', ARRAY[a, b])) AS parallel_sum FROM many;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT sum(hanami.predict_class('xor', ARRAY[a, b])) AS serial_sum FROM many;

-- memory stays flat over many calls and statements (no leak in the cache or
-- in long-lived contexts)
CREATE FUNCTION backend_bytes() RETURNS bigint LANGUAGE sql
AS $$ SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts $$;
SELECT sum(hanami.predict_class('xor', ARRAY[(g % 2)::real, 1])) >= 0 AS warm FROM generate_series(1, 2000) g;
SELECT backend_bytes() AS before \gset
DO $$
BEGIN
	FOR i IN 1..30 LOOP
		PERFORM sum(hanami.predict_class('xor', ARRAY[(g % 2)::real, 1])) FROM generate_series(1, 2000) g;
		PERFORM sum(hanami.classify(hanami.load('xor'), ARRAY[(g % 2)::real, 1])) FROM generate_series(1, 200) g;
	END LOOP;
END
$$;
SELECT backend_bytes() - :before < 1024 * 1024 AS memory_flat_after_66000_calls;

-- a tiny cache budget still works (entries are evicted)
SET hanami.model_cache_memory = 0;
SELECT hanami.predict_class('xor', '{0,1}') AS class_tiny_cache, hanami.predict_class('xor@experiment', '{0,1}') AS class_other;
-- row after row, each call evicts the other's entry: both load theirs again
SELECT hanami.predict_class('xor', x) AS class_tiny_cache, hanami.predict_class('xor@experiment', x) AS class_other
FROM (VALUES ('{0,1}'::real[]), ('{1,1}'), ('{0,0}')) v(x);
RESET hanami.model_cache_memory;

-- errors
-- (the project is the current role: named here so the output does not
-- depend on which role runs the tests)
DO $$BEGIN
	PERFORM hanami.create_model('xor', '{"layers": [2, 2]}');
EXCEPTION WHEN OTHERS THEN
	RAISE WARNING '% (%)', replace(SQLERRM, 'project ' || current_user, 'project <current_user>'), SQLSTATE;
END$$;
SELECT hanami.create_model('bad/name', '{"layers": [2, 2]}');
SELECT hanami.create_model('ok', '{"layers": [2]}');
SELECT hanami.predict('nope', '{1,0}');
SELECT hanami.predict('xor@nope', '{1,0}');
SELECT hanami.predict('xor#999999', '{1,0}');
SELECT hanami.predict('xor#abc', '{1,0}');
SELECT hanami.predict('xor@a#1', '{1,0}');
SELECT hanami.predict('', '{1,0}');
SELECT hanami.predict('xor', '{1,0,1}');
SELECT hanami.predict('xor', '{1,NULL}');
SELECT hanami.train('xor#1', 'SELECT a, b, y FROM pairs');
SELECT hanami.train('xor', 'SELECT a, y FROM pairs');
SELECT hanami.save('xor#1', hanami.load('xor'));
SELECT hanami.save('xor', NULL);
SELECT hanami.branch('xor', 'experiment');
SELECT hanami.branch('xor', 'x@y');
SELECT hanami.reset('xor#1', 1);
SELECT hanami.reset('xor', 999999);
SELECT hanami.drop_model('nope');
-- a failed train leaves the branch where it was
SELECT count(*) AS commits_before FROM hanami.log('xor');
SELECT hanami.train('xor', 'SELECT a, b, y + 5 FROM pairs');
SELECT count(*) AS commits_after FROM hanami.log('xor');
