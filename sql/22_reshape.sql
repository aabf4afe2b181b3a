-- Changing the architecture of a stored model, keeping its weights:
-- hanami.reshape() on a dense network trained on digits (data/digits.csv,
-- written by examples/datasets.py), the blocks it shares with its parent,
-- diff(), removal, errors and write access.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\set digits_csv :abs_srcdir '/data/digits.csv'

CREATE TABLE rs_digits (id int, x real[], label int, is_test boolean);
COPY rs_digits FROM :'digits_csv' WITH (FORMAT csv, HEADER true);
GRANT SELECT ON rs_digits TO PUBLIC;

SELECT hanami.create_model('rs_dg', '{"layers": [64, 32, 10]}', seed => 1) IS NOT NULL AS created;
SELECT hanami.train('rs_dg', 'SELECT x, label FROM rs_digits WHERE NOT is_test',
                    '{"epochs": 30, "batch_size": 16, "seed": 1}') AS trained \gset
CREATE TABLE rs_acc (stage text, accuracy float8);
INSERT INTO rs_acc SELECT 'trained', (hanami.evaluate('rs_dg', 'SELECT x, label FROM rs_digits WHERE is_test') ->> 'accuracy')::float8;
SELECT accuracy >= 0.9 AS trained_accuracy_ge_90 FROM rs_acc;

-- 1. wider (32 -> 48 units) and deeper (a new layer of 48 after it)
SELECT hanami.reshape('rs_dg', '{"layers": [64, 48, {"count": 48, "from": null}, 10]}',
                      'wider and deeper') AS deeper \gset
SELECT jsonb_path_query_array(hanami.info(hanami.load('rs_dg')), '$.layers[*].count') AS layers,
       jsonb_path_query_array(hanami.info(hanami.load('rs_dg')), '$.layers[*].activation') AS activations,
       hanami.info(hanami.load('rs_dg')) -> 'input_scaling' AS input_scaling,
       hanami.info(hanami.load('rs_dg')) -> 'trained' = hanami.info(hanami.load('rs_dg#' || :trained)) -> 'trained' AS counters_kept;
SELECT message, metrics -> 'reshape' -> 'function_kept' AS function_kept,
       jsonb_path_query_array(metrics, '$.reshape.layers[*].change') AS changes
FROM hanami.log('rs_dg') WHERE commit_id = :deeper;
-- held-out accuracy before any further training: within 1 point of the original
INSERT INTO rs_acc SELECT 'reshaped', (hanami.evaluate('rs_dg', 'SELECT x, label FROM rs_digits WHERE is_test') ->> 'accuracy')::float8;
SELECT r.accuracy >= t.accuracy - 0.01 AS accuracy_kept, r.accuracy = t.accuracy AS accuracy_same
FROM rs_acc t, rs_acc r WHERE t.stage = 'trained' AND r.stage = 'reshaped';
-- the outputs themselves: near-equal on every held-out row
SELECT max(abs(a - b)) < 1e-5 AS outputs_equal, count(DISTINCT d.id) AS rows_compared
FROM rs_digits d,
     LATERAL unnest(hanami.predict('rs_dg#' || :trained, d.x), hanami.predict('rs_dg', d.x)) u(a, b)
WHERE d.is_test;

-- 2. an unchanged layer keeps its bytes: its blocks are shared with the parent
CREATE TABLE rs_nblocks AS SELECT count(*) AS n FROM hanami.blocks;
SELECT hanami.reshape('rs_dg', '{"layers": [64, 48, 48, {"count": 48, "from": null}, 10]}') AS deepest \gset
SELECT (SELECT count(*) FROM hanami.blocks) - n AS new_blocks FROM rs_nblocks;
SELECT k.segment, EXISTS (SELECT 1 FROM hanami.commit_blocks p
                          WHERE p.commit_id = :deeper AND p.hash = k.hash) AS shared_with_parent
FROM hanami.commit_blocks k WHERE k.commit_id = :deepest ORDER BY k.seq;
SELECT d -> 'architecture' -> 'same' AS same,
       jsonb_path_query_array(d, '$.architecture.a[*].count') AS a,
       jsonb_path_query_array(d, '$.architecture.b[*].count') AS b,
       jsonb_path_query_array(d, '$.architecture.reshapes[*].changes.layers[*] ? (@.change == "added" || @.change == "widened").units') AS grown
FROM hanami.diff('rs_dg#' || :trained, 'rs_dg') d;
SELECT hanami.diff('rs_dg', 'rs_dg') #> '{architecture,same}' AS same_commit_same,
       hanami.diff('rs_dg', 'rs_dg') #> '{architecture,reshapes}' AS no_reshapes;

-- 3. training goes on from the reshaped network
-- (fine-tuning: a smaller step than the first training's)
SELECT hanami.train('rs_dg', 'SELECT x, label FROM rs_digits WHERE NOT is_test',
                    '{"epochs": 10, "batch_size": 16, "seed": 2, "learning_rate": 0.0003}') IS NOT NULL AS trained_on;
INSERT INTO rs_acc SELECT 'trained on', (hanami.evaluate('rs_dg', 'SELECT x, label FROM rs_digits WHERE is_test') ->> 'accuracy')::float8;
SELECT n.accuracy >= t.accuracy AS kept_or_improved
FROM rs_acc t, rs_acc n WHERE t.stage = 'trained' AND n.stage = 'trained on';
SELECT hanami.load('rs_dg')::bytea <> hanami.load('rs_dg#' || :deepest)::bytea AS weights_moved;

-- 4. removing a layer and narrowing one (on a branch): the function changes, and the commit says so
SELECT hanami.branch('rs_dg', 'small', 'rs_dg#' || :deeper) IS NOT NULL AS branched;
SELECT hanami.reshape('rs_dg@small', '{"layers": [64, 24, 10]}') IS NOT NULL AS shrunk;
SELECT metrics -> 'reshape' -> 'function_kept' AS function_kept,
       jsonb_path_query_array(metrics, '$.reshape.layers[*].change') AS changes,
       jsonb_path_query_array(hanami.info(hanami.load('rs_dg@small')), '$.layers[*].count') AS layers
FROM hanami.log('rs_dg@small') LIMIT 1;
SELECT (hanami.evaluate('rs_dg@small', 'SELECT x, label FROM rs_digits WHERE is_test') ->> 'rows')::int AS still_runs;
-- main did not move
SELECT jsonb_path_query_array(hanami.info(hanami.load('rs_dg')), '$.layers[*].count') AS main_layers;

-- 5. errors
SELECT hanami.reshape('no_such_model', '{"layers": [64, 10]}');
SELECT hanami.reshape('rs_dg@no_such_branch', '{"layers": [64, 10]}');
SELECT hanami.reshape('rs_dg#' || :trained, '{"layers": [64, 48, 10]}');
SELECT hanami.reshape('rs_dg', NULL);
SELECT hanami.reshape('rs_dg', '[64, 48, 10]');
SELECT hanami.reshape('rs_dg', '{"layers": [63, 48, 10]}');
SELECT hanami.reshape('rs_dg', '{"layers": [64, 48, 9]}');
SELECT hanami.reshape('rs_dg', '{"layers": [64, {"count": 48, "activation": "tanh"}, 48, 48, 10]}');
SELECT hanami.reshape('rs_dg', '{"layers": [64, 48, 48, 48, {"count": 48, "activation": "sigmoid", "from": null}, 10]}');
SELECT hanami.reshape('rs_dg', '{"layers": [64, {"count": 64, "activation": "relu", "from": null}, 48, 48, 48, 10]}');
SELECT hanami.reshape('rs_dg', '{"layers": [64, 48, 48, 48, {"count": 20, "from": null}, 10]}');
SELECT hanami.reshape('rs_dg', '{"layers": [64, 48, 10], "epochs": 3}');
SELECT hanami.create_model('rs_grow', '{"kind": "hanami", "layers": [4, 8, 2]}', seed => 1) IS NOT NULL AS growing;
SELECT hanami.reshape('rs_grow', '{"layers": [4, 16, 3]}');
-- (a growing network: its outputs stay too)
-- their SQLSTATEs
CREATE FUNCTION rs_sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN EXECUTE q; RETURN 'no error'; EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE; END $f$;
SELECT rs_sqlstate(q) AS sqlstate, q FROM (VALUES
	($$SELECT hanami.reshape('no_such_model', '{"layers": [64, 10]}')$$),
	($$SELECT hanami.reshape('rs_dg#1', '{"layers": [64, 10]}')$$),
	($$SELECT hanami.reshape('rs_dg', NULL)$$),
	($$SELECT hanami.reshape('rs_dg', '{"layers": [63, 48, 10]}')$$),
	($$SELECT hanami.reshape('rs_dg', '{"layers": [64, 48, 10], "epochs": 3}')$$),
	($$SELECT hanami.reshape('rs_grow', '{"layers": [4, 16, 3]}')$$)) v(q);
SELECT count(*) AS commits_after_errors FROM hanami.log('rs_dg');

-- 6. write access: the same rules and errors as train()
CREATE ROLE regress_reshape_owner;
CREATE ROLE regress_reshape_member;
CREATE ROLE regress_reshape_other;
SELECT hanami.create_project('regress_reshape_team'), hanami.create_project('regress_reshape_elsewhere');
SELECT hanami.add_member('regress_reshape_team', 'regress_reshape_owner');
SELECT hanami.add_member('regress_reshape_team', 'regress_reshape_member');
SELECT hanami.add_member('regress_reshape_elsewhere', 'regress_reshape_other');
SET ROLE regress_reshape_owner;
SELECT hanami.create_model('team_net', '{"layers": [4, 8, 2]}', 'regress_reshape_team', 1) IS NOT NULL AS owner_created;
SELECT hanami.reshape('team_net', '{"layers": [4, 12, 2]}') IS NOT NULL AS owner_reshaped;
SET ROLE regress_reshape_member;
SELECT hanami.train('team_net', 'SELECT 1::real, 2::real, 3::real, 4::real, 0');
SELECT hanami.reshape('team_net', '{"layers": [4, 16, 2]}');
SET ROLE regress_reshape_other;
SELECT hanami.train('team_net', 'SELECT 1::real, 2::real, 3::real, 4::real, 0');
SELECT hanami.reshape('team_net', '{"layers": [4, 16, 2]}');
SELECT hanami.reshape('regress_reshape_team/team_net', '{"layers": [4, 16, 2]}');
RESET ROLE;
SELECT jsonb_path_query_array(hanami.info(hanami.load('team_net')), '$.layers[*].count') AS team_net_layers;
SELECT hanami.drop_model('team_net');
SET ROLE regress_reshape_owner;
DELETE FROM hanami.projects WHERE project IN ('regress_reshape_team'::regrole, 'regress_reshape_elsewhere'::regrole);
RESET ROLE;
DELETE FROM hanami.projects WHERE project IN ('regress_reshape_team'::regrole, 'regress_reshape_elsewhere'::regrole);
SELECT hanami.gc() >= 0 AS collected;
DROP ROLE regress_reshape_owner, regress_reshape_member, regress_reshape_other,
	regress_reshape_team, regress_reshape_elsewhere;
SELECT hanami.drop_model('rs_dg'), hanami.drop_model('rs_grow');
SELECT hanami.gc() >= 0 AS collected;
DROP TABLE rs_digits, rs_acc, rs_nblocks;
DROP FUNCTION rs_sqlstate(text);
