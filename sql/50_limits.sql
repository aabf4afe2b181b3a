-- Limits a tenant cannot raise: threads, memory, jobs per role, storage
-- quotas; and clean errors where a stale reference or a prepared
-- transaction used to go wrong.
\set SHOW_CONTEXT never

CREATE ROLE regress_lim_alice;
CREATE ROLE regress_lim_bob;
CREATE ROLE regress_lim_admin;
GRANT hanami_admin TO regress_lim_admin;
SELECT hanami.create_project('regress_lim_team');
SELECT hanami.add_member('regress_lim_team', 'regress_lim_alice', 'admin');
SELECT hanami.add_member('regress_lim_team', 'regress_lim_bob');
CREATE TABLE lim_pts AS
	SELECT (g % 2)::real AS a, ((g / 2) % 2)::real AS b, ((g % 2) # ((g / 2) % 2)) AS y
	FROM generate_series(1, 64) g;
GRANT SELECT ON lim_pts TO PUBLIC;

-- 1. the maxima are superuser settings with machine defaults
SELECT current_setting('hanami.max_threads')::int >= 1 AS max_threads_set,
	   pg_size_bytes(current_setting('hanami.max_dataset_memory')) >= 64 * 1024 AS max_memory_set,
	   current_setting('hanami.max_jobs_per_role') AS max_jobs_per_role;
SET hanami.max_threads = 2;
SET hanami.max_dataset_memory = '1MB';
SET ROLE regress_lim_alice;
SET hanami.max_threads = 64;
SET hanami.max_dataset_memory = '2047GB';
SET hanami.max_model_cache_memory = '1TB';
SET hanami.max_jobs_per_role = 1000;
-- an ordinary role's own settings are lowered to the maxima, with a NOTICE
SET hanami.threads = 64;
SET hanami.dataset_memory = '2047GB';
SELECT hanami.fit(hanami.network('{"layers": [2, 4, 2]}', 1), 'SELECT a, b, y FROM lim_pts', '{"epochs": 2}') IS NOT NULL AS trained;
RESET hanami.threads;
RESET hanami.dataset_memory;
RESET ROLE;

-- 2. queued and running jobs per role (the transaction rolls back: no job runs)
SET hanami.max_jobs_per_role = 2;
SET ROLE regress_lim_alice;
SELECT hanami.create_model('lim', '{"layers": [2, 4, 2]}', 'regress_lim_team', 1) > 0 AS created;
BEGIN;
SELECT hanami.train_async('regress_lim_team/lim', 'SELECT a, b, y FROM lim_pts', '{"epochs": 1000000}') > 0 AS first;
SELECT hanami.train_async('regress_lim_team/lim', 'SELECT a, b, y FROM lim_pts', '{"epochs": 1000000}') > 0 AS second;
SELECT hanami.train_async('regress_lim_team/lim', 'SELECT a, b, y FROM lim_pts', '{"epochs": 1000000}') > 0 AS third;
ROLLBACK;
-- a transaction that queued jobs cannot be prepared (it would start them nowhere)
BEGIN;
SELECT hanami.train_async('regress_lim_team/lim', 'SELECT a, b, y FROM lim_pts', '{"epochs": 1}') > 0 AS queued;
PREPARE TRANSACTION 'regress_lim';
SELECT count(*) AS jobs_left FROM hanami.jobs WHERE model = 'lim';
RESET ROLE;
RESET hanami.max_jobs_per_role;

-- 3. storage quotas: admins set them, members read them, commits respect them
SET ROLE regress_lim_bob;
INSERT INTO hanami.quotas (project, max_bytes) VALUES ('regress_lim_team', 1000000000);
SET ROLE regress_lim_admin;
INSERT INTO hanami.quotas (project, max_bytes)
SELECT 'regress_lim_team', bytes + 1000 FROM hanami.storage WHERE project = 'regress_lim_team'::regrole;
SET ROLE regress_lim_bob;
SELECT blocks > 0 AS has_blocks, max_bytes - bytes AS room, used_percent < 100 AS under FROM hanami.storage
WHERE project = 'regress_lim_team'::regrole;
-- a model of 2 * 64 + 64 * 2 weights does not fit in 1000 more bytes
SELECT hanami.create_model('big', '{"layers": [2, 64, 2]}', 'regress_lim_team', 1);
SELECT count(*) AS bobs_models FROM hanami.models WHERE name = 'big';
-- a small one does
SELECT hanami.create_model('small', '{"layers": [2, 2]}', 'regress_lim_team', 1) > 0 AS small_fits;
-- a member cannot raise it
UPDATE hanami.quotas SET max_bytes = 1e12 WHERE project = 'regress_lim_team'::regrole;
SELECT max_bytes < 1e9 AS unchanged FROM hanami.quotas;
SET ROLE regress_lim_admin;
UPDATE hanami.quotas SET max_bytes = 1e9 WHERE project = 'regress_lim_team'::regrole;
SET ROLE regress_lim_bob;
SELECT hanami.create_model('big', '{"layers": [2, 64, 2]}', 'regress_lim_team', 1) > 0 AS fits_now;
RESET ROLE;

-- 4. a reference resolved before its model was dropped: a clean error
-- (no cache: predicting "other" evicts "lim", which must then be read again)
SET hanami.model_cache_memory = 0;
SET ROLE regress_lim_alice;
SELECT hanami.create_model('other', '{"layers": [2, 3, 2]}', 'regress_lim_team', 1) > 0 AS created;
DO $$
DECLARE
	v real[];
BEGIN
	FOR i IN 1 .. 2 LOOP
		v := hanami.predict('regress_lim_team/lim', '{1, 0}');	-- resolved once, kept by the loop
		v := hanami.predict('regress_lim_team/other', '{1, 0}');
		IF i = 1 THEN
			PERFORM hanami.drop_model('regress_lim_team/lim');
		END IF;
	END LOOP;
EXCEPTION WHEN undefined_object THEN
	RAISE NOTICE '% (%)', regexp_replace(SQLERRM, '[0-9]+', 'N'), SQLSTATE;
END
$$;
RESET ROLE;
RESET hanami.model_cache_memory;

-- clean up the roles (they are cluster-wide)
SET hanami.allow_drop_with_models = off;
DELETE FROM hanami.quotas;
SELECT hanami.drop_model(m.project::text || '/' || m.name) FROM hanami.models m
WHERE m.project = 'regress_lim_team'::regrole;
DELETE FROM hanami.projects WHERE project = 'regress_lim_team'::regrole;
DELETE FROM hanami.job_queue;
SELECT hanami.gc() >= 0 AS collected;
DROP TABLE lim_pts;
DROP ROLE regress_lim_alice, regress_lim_bob, regress_lim_admin, regress_lim_team;
