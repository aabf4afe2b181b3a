-- hanami 0.1.0 -> 0.2.0 upgrade script.
-- Every schema change of 0.2.0 is here as well as in sql/hanami.sql; the
-- upgrade tests check that both give the same catalog.

\echo Use "ALTER EXTENSION hanami UPDATE TO '0.2.0'" to load this file. \quit

-- Checks on stored rows ------------------------------------------------------

CREATE FUNCTION @extschema@.role_exists(r pg_catalog.regrole)
RETURNS pg_catalog.bool
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
	IF r IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.oid OPERATOR(pg_catalog.=) r) THEN
		RAISE EXCEPTION 'role with OID % does not exist', r::pg_catalog.oid USING ERRCODE = '42704',
			DETAIL = 'hanami''s tables name projects, owners and authors by role.',
			HINT = 'Roles are not part of a database''s dump: restore them first (pg_dumpall --globals-only).';
	END IF;
	RETURN true;
END
$$;

COMMENT ON FUNCTION @extschema@.role_exists(pg_catalog.regrole) IS
	'true if the role exists, else an error (a check on hanami''s tables)';

CREATE FUNCTION @extschema@.block_verified(project pg_catalog.regrole, hash pg_catalog.bytea,
										   data pg_catalog.bytea)
RETURNS pg_catalog.bool
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
	IF pg_catalog.sha256(data) IS DISTINCT FROM hash THEN
		RAISE EXCEPTION 'block % of project % does not match its hash',
			pg_catalog.encode(hash, 'hex'), project USING ERRCODE = 'XX001',
			DETAIL = pg_catalog.format('The SHA-256 of its %s bytes is %s.', pg_catalog.length(data),
									   pg_catalog.encode(pg_catalog.sha256(data), 'hex'));
	END IF;
	RETURN true;
END
$$;

COMMENT ON FUNCTION @extschema@.block_verified(pg_catalog.regrole, pg_catalog.bytea, pg_catalog.bytea) IS
	'true if hash is the SHA-256 of data, else an error naming the block (a check on hanami.blocks)';

-- Every stored block is verified now: an upgrade fails, naming the block,
-- if any block's bytes do not match its hash.
ALTER TABLE @extschema@.blocks ADD CONSTRAINT blocks_hash_check
	CHECK (@extschema@.block_verified(project, hash, data));

ALTER TABLE @extschema@.commits DROP CONSTRAINT commits_parent_fkey;

CREATE FUNCTION @extschema@.commits_parent_check()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	IF NEW.parent IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.commits k
					   WHERE k.id OPERATOR(pg_catalog.=) NEW.parent
						 AND k.model_id OPERATOR(pg_catalog.=) NEW.model_id) THEN
		RAISE EXCEPTION 'parent commit % does not exist in the model', NEW.parent USING ERRCODE = '23503';
	END IF;
	RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER commits_parent AFTER INSERT ON @extschema@.commits
	FOR EACH ROW EXECUTE FUNCTION @extschema@.commits_parent_check();

ALTER TABLE @extschema@.projects ADD CONSTRAINT projects_role_check
	CHECK (@extschema@.role_exists(project)) NOT VALID;
ALTER TABLE @extschema@.model_catalog ADD CONSTRAINT model_catalog_role_check
	CHECK (@extschema@.role_exists(project) AND @extschema@.role_exists(owner)) NOT VALID;
ALTER TABLE @extschema@.commits ADD CONSTRAINT commits_role_check
	CHECK (@extschema@.role_exists(author)) NOT VALID;
ALTER TABLE @extschema@.blocks ADD CONSTRAINT blocks_role_check
	CHECK (@extschema@.role_exists(project)) NOT VALID;

ALTER TABLE @extschema@.commits ADD COLUMN origin pg_catalog.jsonb;
COMMENT ON COLUMN @extschema@.commits.origin IS 'for an imported commit: its original id, author, date, model and project';

-- Backups ----------------------------------------------------------------------

SELECT pg_catalog.pg_extension_config_dump('@extschema@.projects', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_catalog', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_catalog_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.commits', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.commits_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.branches', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.blocks', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.commit_blocks', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.job_queue',
	'WHERE state IN (''succeeded'', ''failed'', ''cancelled'')');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.job_queue_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.training_log',
	'WHERE job_id IS NULL OR job_id IN (SELECT j.id FROM @extschema@.job_queue j WHERE j.state IN (''succeeded'', ''failed'', ''cancelled''))');

-- Guarding stored models ------------------------------------------------------
--
-- DROP EXTENSION hanami, DROP SCHEMA hanami and DROP OWNED BY the extension's
-- owner are refused while models are stored, unless a superuser has set
-- hanami.allow_drop_with_models (docs/operations.md).

CREATE FUNCTION @extschema@.guard_drop()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'hanami_guard_drop'
LANGUAGE C;

COMMENT ON FUNCTION @extschema@.guard_drop() IS
	'event trigger: refuse to drop the extension, its schema or its owner''s objects while models are stored';

REVOKE ALL ON FUNCTION @extschema@.guard_drop() FROM PUBLIC;

CREATE EVENT TRIGGER hanami_guard_drop ON ddl_command_start
	WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
	EXECUTE FUNCTION @extschema@.guard_drop();

-- Jobs are written by the server only ----------------------------------------
--
-- Ordinary roles lose INSERT and UPDATE on hanami.job_queue and UPDATE on
-- hanami.training_log; hanami.submit_job (called by train_async), cancel and
-- reap_jobs check their caller and write the row themselves, recording the
-- job's identity from the server.  Jobs queued before this update were
-- written under the old rules, so they are not trusted: they fail.

UPDATE @extschema@.job_queue SET state = 'failed', finished_at = pg_catalog.now(),
	error = 'queued before the update to 0.2.0: submit it again'
WHERE state OPERATOR(pg_catalog.=) 'queued';

ALTER TABLE @extschema@.job_queue ADD COLUMN channel pg_catalog.text;
-- (without a "missing value": the column is as a fresh install makes it)
ALTER TABLE @extschema@.job_queue ADD COLUMN attempts pg_catalog.int4;
UPDATE @extschema@.job_queue SET attempts = 0;
ALTER TABLE @extschema@.job_queue ALTER COLUMN attempts SET DEFAULT 0;
ALTER TABLE @extschema@.job_queue ALTER COLUMN attempts SET NOT NULL;
ALTER TABLE @extschema@.job_queue ADD UNIQUE (id, model_id);

DROP POLICY jobs_submit ON @extschema@.job_queue;
DROP POLICY jobs_update ON @extschema@.job_queue;
DROP POLICY jobs_delete ON @extschema@.job_queue;
DROP POLICY training_log_write ON @extschema@.training_log;
DROP POLICY training_log_link ON @extschema@.training_log;
DROP POLICY blocks_add ON @extschema@.blocks;

REVOKE INSERT ON @extschema@.job_queue FROM PUBLIC;
REVOKE UPDATE (state, started_at, finished_at, epoch, epochs, loss, rows_per_second,
			   error, commit_id, worker_pid, cancel_requested)
	ON @extschema@.job_queue FROM PUBLIC;
REVOKE UPDATE (commit_id) ON @extschema@.training_log FROM PUBLIC;

CREATE POLICY jobs_delete ON @extschema@.job_queue FOR DELETE
	USING ((submitted_by OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole
			OR @extschema@.is_admin())
		   AND state IN ('succeeded', 'failed', 'cancelled'));

CREATE POLICY training_log_write ON @extschema@.training_log FOR INSERT
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.model_catalog m
						WHERE m.id OPERATOR(pg_catalog.=) model_id
						  AND m.project OPERATOR(pg_catalog.=) training_log.project
						  AND @extschema@.can_write(m.project, m.owner))
				AND (job_id IS NULL
					 OR EXISTS (SELECT 1 FROM @extschema@.job_queue j
								WHERE j.id OPERATOR(pg_catalog.=) job_id
								  AND j.model_id OPERATOR(pg_catalog.=) training_log.model_id))
				AND (commit_id IS NULL
					 OR EXISTS (SELECT 1 FROM @extschema@.commits k
								WHERE k.id OPERATOR(pg_catalog.=) commit_id
								  AND k.model_id OPERATOR(pg_catalog.=) training_log.model_id)));

CREATE POLICY blocks_add ON @extschema@.blocks FOR INSERT
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.model_catalog m
						WHERE m.project OPERATOR(pg_catalog.=) blocks.project
						  AND @extschema@.can_write(m.project, m.owner)));

-- foreign keys carry the model or the project of the row they point at
ALTER TABLE @extschema@.commits ADD UNIQUE (id, project);
ALTER TABLE @extschema@.commit_blocks DROP CONSTRAINT commit_blocks_commit_id_fkey;
ALTER TABLE @extschema@.commit_blocks ADD FOREIGN KEY (commit_id, project)
	REFERENCES @extschema@.commits (id, project) ON DELETE CASCADE;
ALTER TABLE @extschema@.training_log DROP CONSTRAINT training_log_job_id_fkey;
ALTER TABLE @extschema@.training_log DROP CONSTRAINT training_log_commit_id_fkey;
ALTER TABLE @extschema@.training_log ADD FOREIGN KEY (job_id, model_id)
	REFERENCES @extschema@.job_queue (id, model_id) ON DELETE CASCADE;
ALTER TABLE @extschema@.training_log ADD FOREIGN KEY (commit_id, model_id)
	REFERENCES @extschema@.commits (id, model_id) ON DELETE CASCADE;

CREATE OR REPLACE VIEW @extschema@.jobs WITH (security_invoker = true) AS
SELECT j.id, j.model, j.branch, j.state,
	   CASE WHEN j.state OPERATOR(pg_catalog.=) 'succeeded' THEN 100.0
			WHEN j.epochs OPERATOR(pg_catalog.>) 0
			THEN pg_catalog.round(100.0 * COALESCE(j.epoch, 0) / j.epochs, 1) END AS progress,
	   j.epoch, j.epochs, j.loss, j.rows_per_second,
	   j.submitted_by, j.submitted_at, j.started_at, j.finished_at,
	   j.error, j.commit_id, j.project, j.worker_pid, j.channel
FROM @extschema@.job_queue j;

COMMENT ON VIEW @extschema@.jobs IS
	'background training jobs you can see: state, progress %, epoch, loss, rows/s, times, error, resulting commit, NOTIFY channel';

COMMENT ON FUNCTION @extschema@.launch_at_commit(pg_catalog.int8) IS
	'start a background worker for a queued job when the current transaction commits (internal)';

REVOKE ALL ON FUNCTION @extschema@.launch_at_commit(pg_catalog.int8) FROM PUBLIC;

CREATE FUNCTION @extschema@.submit_job(model_id pg_catalog.int8, branch pg_catalog.text,
									   query pg_catalog.text, options pg_catalog.jsonb,
									   message pg_catalog.text, epochs pg_catalog.int4)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'hanami_submit_job'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.submit_job(pg_catalog.int8, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text, pg_catalog.int4) IS
	'queue a job on a branch the caller may write, run as the caller when this transaction commits (used by train_async)';

CREATE OR REPLACE FUNCTION @extschema@.reap_jobs()
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'hanami_reap_jobs'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE OR REPLACE FUNCTION @extschema@.cancel(job pg_catalog.int8)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'hanami_cancel_job'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE OR REPLACE FUNCTION @extschema@.train_async(model pg_catalog.text, query pg_catalog.text,
										options pg_catalog.jsonb DEFAULT '{}',
										message pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
	can_login pg_catalog.bool;
BEGIN
	IF query IS NULL THEN
		RAISE EXCEPTION 'query must not be null' USING ERRCODE = '22004';
	END IF;
	IF pg_catalog.strpos(model, '#') OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'cannot train a commit' USING ERRCODE = '22023',
			HINT = 'Train a branch (model or model@branch); make one from the commit with hanami.branch().';
	END IF;
	SELECT r2.rolcanlogin INTO can_login FROM pg_catalog.pg_roles r2
	WHERE r2.rolname OPERATOR(pg_catalog.=) SESSION_USER;
	IF NOT COALESCE(can_login, false) THEN
		RAISE EXCEPTION 'cannot run a background job for session role "%"', SESSION_USER
			USING ERRCODE = '42501',
			DETAIL = 'Background workers connect as the session role, which cannot log in.',
			HINT = 'Submit the job from a session of a role with LOGIN; SET ROLE to the project role is fine.';
	END IF;
	SELECT * INTO r FROM @extschema@.resolve(model);
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	PERFORM @extschema@.check_options(@extschema@.load_commit(r.commit_id), options);
	PERFORM @extschema@.reap_jobs();
	RETURN @extschema@.submit_job(r.model_id, r.branch, query, COALESCE(options, '{}'), message,
		COALESCE((options OPERATOR(pg_catalog.->>) 'epochs')::pg_catalog.int4, 10));
END
$$;

