-- Projects and row-level security, exercised as ordinary roles: a role of
-- one project never sees or touches another project's models.
SET client_min_messages = warning;
\set SHOW_CONTEXT never

CREATE ROLE regress_alice;		-- admin of team_a
CREATE ROLE regress_carol;		-- member of team_a
CREATE ROLE regress_dave;		-- member of team_a
CREATE ROLE regress_bob;		-- admin of team_b
CREATE ROLE regress_root;		-- hanami administrator
GRANT hanami_admin TO regress_root;
SELECT hanami.create_project('regress_team_a'), hanami.create_project('regress_team_b');
SELECT hanami.add_member('regress_team_a', 'regress_alice', 'admin');
SELECT hanami.add_member('regress_team_a', 'regress_carol');
SELECT hanami.add_member('regress_team_a', 'regress_dave');
SELECT hanami.add_member('regress_team_b', 'regress_bob', 'admin');

CREATE TABLE pts (a real, b real, y int);
INSERT INTO pts SELECT a, b, (a::int # b::int) FROM (VALUES (0, 0), (0, 1), (1, 0), (1, 1)) v(a, b), generate_series(1, 10);
GRANT SELECT ON pts TO PUBLIC;

-- the same model name in two projects, different weights
SET ROLE regress_alice;
SELECT hanami.create_model('shared', '{"layers": [2, 4, 2]}', 'regress_team_a', 1) IS NOT NULL AS alice_created;
SELECT hanami.train('shared', 'SELECT a, b, y FROM pts', '{"epochs": 2}') IS NOT NULL AS alice_trained;
SET ROLE regress_bob;
SELECT hanami.create_model('shared', '{"layers": [2, 4, 2]}', 'regress_team_b', 2) IS NOT NULL AS bob_created_same_name;
RESET ROLE;

-- 1. a member uses the project's models
SET ROLE regress_carol;
SELECT name, project, owner FROM hanami.models ORDER BY name;
SELECT array_length(hanami.predict('shared', '{1,0}'), 1) AS carol_predicts;
SELECT project, role FROM hanami.my_projects ORDER BY project::text;

-- 2. a role of another project sees none of team_a's rows, through every table and view
SET ROLE regress_bob;
SELECT (SELECT count(*) FROM hanami.model_catalog WHERE project = 'regress_team_a'::regrole) AS models,
       (SELECT count(*) FROM hanami.commits WHERE project = 'regress_team_a'::regrole) AS commits,
       (SELECT count(*) FROM hanami.branches WHERE project = 'regress_team_a'::regrole) AS branches,
       (SELECT count(*) FROM hanami.blocks WHERE project = 'regress_team_a'::regrole) AS blocks,
       (SELECT count(*) FROM hanami.commit_blocks WHERE project = 'regress_team_a'::regrole) AS commit_blocks,
       (SELECT count(*) FROM hanami.projects WHERE project = 'regress_team_a'::regrole) AS projects,
       (SELECT count(*) FROM hanami.models WHERE project = 'regress_team_a'::regrole) AS models_view,
       (SELECT count(*) FROM hanami.my_projects WHERE project = 'regress_team_a'::regrole) AS my_projects;

-- 3. ... nor through any function; the error is the one for a model that does not exist
SELECT hanami.predict('regress_team_a/shared', '{1,0}');
SELECT hanami.predict('regress_team_a/no_such_model', '{1,0}');
SELECT hanami.load('regress_team_a/shared');
SELECT * FROM hanami.log('regress_team_a/shared');
SELECT hanami.tree('regress_team_a/shared');
SELECT hanami.diff('regress_team_a/shared', 'shared');
SELECT hanami.evaluate('regress_team_a/shared', 'SELECT a, b, y FROM pts');
SELECT hanami.load_commit(1) IS NULL AS commit_1_invisible;
-- by name alone, bob gets his own model
SELECT hanami.load('shared')::bytea = hanami.load('regress_team_b/shared')::bytea AS own_model_by_name;

-- 4. no writes into another project
SELECT hanami.create_model('intruder', '{"layers": [2, 2]}', 'regress_team_a');
INSERT INTO hanami.model_catalog (project, name, kind) VALUES ('regress_team_a', 'intruder', 'dense');
INSERT INTO hanami.blocks (project, hash, data) VALUES ('regress_team_a', '\x00', '\x00');
SELECT hanami.train('regress_team_a/shared', 'SELECT a, b, y FROM pts');
SELECT hanami.branch('regress_team_a/shared', 'hijack');
SELECT hanami.drop_model('regress_team_a/shared');
DELETE FROM hanami.blocks WHERE project = 'regress_team_a'::regrole;
UPDATE hanami.branches SET head = head WHERE project = 'regress_team_a'::regrole;
SELECT hanami.gc() AS bob_gc;
RESET ROLE;
SELECT count(*) AS team_a_blocks_intact FROM hanami.blocks WHERE project = 'regress_team_a'::regrole;

-- 5. the same prepared statement under two roles, with a warm cache, serves
--    each role its own project's model
PREPARE p(text) AS SELECT hanami.predict($1, '{1,0}') AS out;
SET ROLE regress_carol;
EXECUTE p('shared') \gset carol_
SET ROLE regress_bob;
EXECUTE p('shared') \gset bob_
SET ROLE regress_carol;
SELECT :'carol_out'::real[] = hanami.run(hanami.load('regress_team_a/shared'), '{1,0}') AS carol_got_team_a;
SET ROLE regress_bob;
SELECT :'bob_out'::real[] = hanami.run(hanami.load('regress_team_b/shared'), '{1,0}') AS bob_got_team_b,
       :'bob_out'::real[] <> :'carol_out'::real[] AS they_differ;
-- a commit id that only team_a can see stays hidden right after the cache was warmed with it
RESET ROLE;
SELECT max(id) AS team_a_head FROM hanami.commits WHERE project = 'regress_team_a'::regrole \gset
SET ROLE regress_bob;
SELECT hanami.predict('regress_team_a/shared#' || :team_a_head, '{1,0}');
SELECT hanami.predict('shared#' || :team_a_head, '{1,0}');
RESET ROLE;
DEALLOCATE p;

-- 5b. growing networks: a member infers row by row and in batches (on
--     threads); another project's role gets neither, with the error of a
--     model that does not exist
SET ROLE regress_alice;
SELECT hanami.create_model('sprout', '{"kind": "hanami", "layers": [2, 8, 2]}', 'regress_team_a', 4) IS NOT NULL AS alice_created_growing;
SELECT hanami.train('sprout', 'SELECT a, b, y FROM pts', '{"epochs": 3}') IS NOT NULL AS alice_trained_growing;
SET ROLE regress_carol;
SET hanami.threads = 2;
SELECT count(*) AS rows, count(*) FILTER (WHERE c = hanami.predict_class('sprout', ARRAY[a, b])) AS batch_equals_predict
FROM (SELECT a, b, hanami.classify_batch(hanami.load('sprout'), ARRAY[a, b]) OVER () AS c FROM pts) s;
RESET hanami.threads;
SET ROLE regress_bob;
SELECT hanami.classify_batch(hanami.load('regress_team_a/sprout'), ARRAY[a, b]) OVER () FROM pts;
SELECT hanami.run_batch(hanami.load('regress_team_a/sprout'), ARRAY[a, b], '{"device": "cpu"}') OVER () FROM pts;
SELECT hanami.predict_class('regress_team_a/sprout', '{1,0}');
SET ROLE regress_alice;
SELECT hanami.drop_model('sprout');
RESET ROLE;

-- 6. members write only their own models; project admins write all
SET ROLE regress_carol;
SELECT hanami.create_model('carols', '{"layers": [2, 3, 2]}', 'regress_team_a', 3) IS NOT NULL AS carol_created;
SELECT hanami.train('shared', 'SELECT a, b, y FROM pts');
SELECT hanami.save('shared', hanami.load('shared'));
SET ROLE regress_dave;
SELECT hanami.train('regress_team_a/carols', 'SELECT a, b, y FROM pts');
SELECT hanami.reset('regress_team_a/carols', 1);
SELECT hanami.drop_model('regress_team_a/carols');
DELETE FROM hanami.model_catalog WHERE name = 'carols';
SELECT count(*) AS carols_still_there FROM hanami.models WHERE name = 'carols';
SET ROLE regress_alice;
SELECT hanami.train('carols', 'SELECT a, b, y FROM pts', '{"epochs": 1}') IS NOT NULL AS admin_trains_members_model;
SET ROLE regress_carol;
SELECT hanami.train('carols', 'SELECT a, b, y FROM pts', '{"epochs": 1}') IS NOT NULL AS owner_trains_own_model;
SELECT author::text, message FROM hanami.log('carols') ORDER BY commit_id;
-- the write policies themselves, for statements on the tables: a member who
-- sees carol's model cannot write it through any of them; carol can, only
-- into the model's own project
RESET ROLE;
SELECT m.id AS carols_id, b.head AS carols_head
FROM hanami.model_catalog m JOIN hanami.branches b ON b.model_id = m.id AND b.name = 'main'
WHERE m.name = 'carols' \gset
SET ROLE regress_dave;
SELECT (SELECT count(*) FROM hanami.branches WHERE model_id = :carols_id) AS dave_sees_carols_branches,
       hanami.can_write_model(:carols_id) AS dave_may_write;
INSERT INTO hanami.commits (model_id, project, branch, bytes) VALUES (:carols_id, 'regress_team_a', 'main', 1);
INSERT INTO hanami.branches (model_id, project, name, head) VALUES (:carols_id, 'regress_team_a', 'daves', :carols_head);
WITH u AS (UPDATE hanami.branches SET head = head WHERE model_id = :carols_id RETURNING 1)
SELECT count(*) AS dave_updated_branches FROM u;
WITH d AS (DELETE FROM hanami.branches WHERE model_id = :carols_id RETURNING 1)
SELECT count(*) AS dave_deleted_branches FROM d;
INSERT INTO hanami.commit_blocks (commit_id, seq, project, segment, hash)
SELECT :carols_head, 99, 'regress_team_a', 'x', hash FROM hanami.commit_blocks WHERE commit_id = :carols_head LIMIT 1;
INSERT INTO hanami.training_log (model_id, project, epoch) VALUES (:carols_id, 'regress_team_a', 1);
SET ROLE regress_bob;
SELECT hanami.can_write_model(:carols_id) AS bob_may_write_hidden, hanami.can_write_model(-1) AS bob_may_write_missing;
SET ROLE regress_carol;
SELECT hanami.can_write_model(:carols_id) AS carol_may_write;
BEGIN;
INSERT INTO hanami.commits (model_id, project, branch, bytes) VALUES (:carols_id, 'regress_team_a', 'main', 1)
RETURNING author::text AS carol_commits;
INSERT INTO hanami.branches (model_id, project, name, head) VALUES (:carols_id, 'regress_team_a', 'carols_own', :carols_head)
RETURNING name AS carol_branches;
WITH u AS (UPDATE hanami.branches SET head = head WHERE model_id = :carols_id RETURNING 1)
SELECT count(*) AS carol_updated_branches FROM u;
WITH d AS (DELETE FROM hanami.branches WHERE model_id = :carols_id AND name = 'carols_own' RETURNING 1)
SELECT count(*) AS carol_deleted_branches FROM d;
INSERT INTO hanami.commit_blocks (commit_id, seq, project, segment, hash)
SELECT :carols_head, 99, 'regress_team_a', 'x', hash FROM hanami.commit_blocks WHERE commit_id = :carols_head LIMIT 1
RETURNING seq AS carol_commit_blocks;
INSERT INTO hanami.training_log (model_id, project, epoch) VALUES (:carols_id, 'regress_team_a', 1)
RETURNING epoch AS carol_logs;
ROLLBACK;
INSERT INTO hanami.training_log (model_id, project, epoch) VALUES (:carols_id, 'regress_team_b', 1);

-- 7. commits are immutable, even for their authors
UPDATE hanami.commits SET message = 'rewritten';
UPDATE hanami.commit_blocks SET seq = seq;
RESET ROLE;

-- 8. membership is managed with the roles: only project admins add members
SET ROLE regress_carol;
SELECT hanami.add_member('regress_team_a', 'regress_bob');
SET ROLE regress_alice;
SELECT hanami.add_member('regress_team_a', 'regress_bob', 'owner');
RESET ROLE;

-- 9. a hanami administrator sees every project
SET ROLE regress_root;
SELECT project::text, name FROM hanami.models WHERE project::text LIKE 'regress%' ORDER BY 1, 2;
RESET ROLE;

-- 10. removing a member takes their access away at once
SELECT hanami.remove_member('regress_team_a', 'regress_dave');
SET ROLE regress_dave;
SELECT count(*) AS dave_sees_after_removal FROM hanami.models;
SELECT hanami.predict('regress_team_a/shared', '{1,0}');
RESET ROLE;

-- clean up the roles (they are cluster-wide)
SET ROLE regress_alice;
SELECT hanami.drop_model('carols'), hanami.drop_model('shared');
SET ROLE regress_bob;
SELECT hanami.drop_model('shared');
RESET ROLE;
DELETE FROM hanami.projects;
SELECT hanami.gc() >= 0 AS collected;
DROP TABLE pts;
DROP ROLE regress_alice, regress_carol, regress_dave, regress_bob, regress_root, regress_team_a, regress_team_b;
