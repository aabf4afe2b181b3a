-- Background training jobs ---------------------------------------------------
--
-- train_async() queues a job; when the submitting transaction commits, a
-- dynamic background worker runs it as the submitter (current_user), so
-- row-level security applies to its query and to the model.  The worker
-- writes progress and the learning curve after every epoch, each in its own
-- short transaction, and the resulting commit at the end.
--
--   queued --(worker claims it)--> running --(commit stored)--> succeeded
--     |                              |--(not better: only_if_better)--> succeeded, no commit, note
--     |                              |--(error, access revoked)--> failed
--     |                              |--(hanami.stop, after the epoch)--> succeeded, commit
--     |                              |--(hanami.cancel)-----------> cancelled
--     +--(hanami.cancel or stop)--> cancelled
--
-- A running job whose worker is gone (server restart, crash, kill) goes back
-- to queued, at most HANAMI_JOB_MAX_ATTEMPTS starts in all, and its next
-- worker continues from the job's last checkpoint (job_checkpoints); after
-- the last attempt it fails.

CREATE TABLE @extschema@.job_queue (
	id pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	model_id pg_catalog.int8 NOT NULL,
	project pg_catalog.regrole NOT NULL,
	model pg_catalog.text NOT NULL,
	branch pg_catalog.text NOT NULL,
	query pg_catalog.text NOT NULL,
	options pg_catalog.jsonb NOT NULL DEFAULT '{}',
	message pg_catalog.text,
	state pg_catalog.text NOT NULL DEFAULT 'queued'
		CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
	submitted_by pg_catalog.regrole NOT NULL DEFAULT CURRENT_USER::pg_catalog.regrole,
	login_role pg_catalog.regrole NOT NULL DEFAULT SESSION_USER::pg_catalog.regrole,
	submitted_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	started_at pg_catalog.timestamptz,
	finished_at pg_catalog.timestamptz,
	epoch pg_catalog.int4,
	epochs pg_catalog.int4,
	loss pg_catalog.float8,
	rows_per_second pg_catalog.float8,
	error pg_catalog.text,
	commit_id pg_catalog.int8,
	worker_pid pg_catalog.int4,
	cancel_requested pg_catalog.bool NOT NULL DEFAULT false,
	FOREIGN KEY (model_id, project) REFERENCES @extschema@.model_catalog (id, project) ON DELETE CASCADE,
	channel pg_catalog.text,
	attempts pg_catalog.int4 NOT NULL DEFAULT 0,
	note pg_catalog.text,
	stop_requested pg_catalog.bool NOT NULL DEFAULT false,
	UNIQUE (id, model_id)
);
CREATE INDEX ON @extschema@.job_queue (state) WHERE state IN ('queued', 'running');

-- The latest checkpoint of a running job: the fit's whole state (network,
-- optimizer, counters, random stream) as the engine serializes it
-- (src/core/checkpoint.h), written and read only by the server as the
-- system (the job's worker, reaping); no policy and no grant, so no ordinary
-- role reads or writes any of it.  One row per job, replaced at every
-- checkpoint and deleted when the job ends.  Stored uncompressed out of
-- line: weights barely compress, and the row is rewritten whole every time.
CREATE TABLE @extschema@.job_checkpoints (
	job_id pg_catalog.int8 PRIMARY KEY REFERENCES @extschema@.job_queue (id) ON DELETE CASCADE,
	epoch pg_catalog.int4 NOT NULL,
	saved_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	state pg_catalog.bytea NOT NULL
);
ALTER TABLE @extschema@.job_checkpoints ALTER COLUMN state SET STORAGE EXTERNAL;
ALTER TABLE @extschema@.job_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.job_checkpoints FORCE ROW LEVEL SECURITY;
REVOKE ALL ON @extschema@.job_checkpoints FROM PUBLIC;
COMMENT ON TABLE @extschema@.job_checkpoints IS
	'the latest checkpoint of each running background job, from which it resumes after a crash (server only)';

CREATE TABLE @extschema@.training_log (
	job_id pg_catalog.int8,
	commit_id pg_catalog.int8,
	model_id pg_catalog.int8 NOT NULL,
	project pg_catalog.regrole NOT NULL,
	epoch pg_catalog.int4 NOT NULL,
	loss pg_catalog.float8,
	val_loss pg_catalog.float8,
	val_accuracy pg_catalog.float8,
	rows_per_second pg_catalog.float8,
	seconds pg_catalog.float8,
	logged_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	FOREIGN KEY (model_id, project) REFERENCES @extschema@.model_catalog (id, project) ON DELETE CASCADE,
	FOREIGN KEY (job_id, model_id) REFERENCES @extschema@.job_queue (id, model_id) ON DELETE CASCADE,
	FOREIGN KEY (commit_id, model_id) REFERENCES @extschema@.commits (id, model_id) ON DELETE CASCADE
);
CREATE INDEX ON @extschema@.training_log (job_id);
CREATE INDEX ON @extschema@.training_log (commit_id);

COMMENT ON TABLE @extschema@.job_queue IS 'background training jobs (read them through the hanami.jobs view)';
COMMENT ON TABLE @extschema@.training_log IS 'loss and metrics per epoch of every training, synchronous or in a job';

ALTER TABLE @extschema@.job_queue ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.job_queue FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.training_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.training_log FORCE ROW LEVEL SECURITY;

CREATE POLICY jobs_read ON @extschema@.job_queue FOR SELECT
	USING (@extschema@.can_read(project)
		   OR submitted_by OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole);
-- Only the server writes jobs (hanami.submit_job, cancel, reap_jobs and the
-- workers, after checking their caller); their submitters and admins may
-- delete finished ones.
CREATE POLICY jobs_delete ON @extschema@.job_queue FOR DELETE
	USING ((submitted_by OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole
			OR @extschema@.is_admin())
		   AND state IN ('succeeded', 'failed', 'cancelled'));

CREATE POLICY training_log_read ON @extschema@.training_log FOR SELECT
	USING (@extschema@.can_read(project));
-- a writer of the model logs, in the model's project; the job and commit it
-- names are of the same model and visible to the writer (so a hidden id is
-- never found or pinned)
CREATE POLICY training_log_write ON @extschema@.training_log FOR INSERT
	WITH CHECK (@extschema@.can_write_model(model_id)
				AND EXISTS (SELECT 1 FROM @extschema@.model_catalog m
							WHERE m.id OPERATOR(pg_catalog.=) model_id
							  AND m.project OPERATOR(pg_catalog.=) training_log.project)
				AND (job_id IS NULL
					 OR EXISTS (SELECT 1 FROM @extschema@.job_queue j
								WHERE j.id OPERATOR(pg_catalog.=) job_id
								  AND j.model_id OPERATOR(pg_catalog.=) training_log.model_id))
				AND (commit_id IS NULL
					 OR EXISTS (SELECT 1 FROM @extschema@.commits k
								WHERE k.id OPERATOR(pg_catalog.=) commit_id
								  AND k.model_id OPERATOR(pg_catalog.=) training_log.model_id)));

GRANT SELECT, DELETE ON @extschema@.job_queue TO PUBLIC;
GRANT SELECT, INSERT ON @extschema@.training_log TO PUBLIC;

CREATE VIEW @extschema@.jobs WITH (security_invoker = true) AS
SELECT j.id, j.model, j.branch, j.state,
	   CASE WHEN j.state OPERATOR(pg_catalog.=) 'succeeded' THEN 100.0
			WHEN j.epochs OPERATOR(pg_catalog.>) 0
			THEN pg_catalog.round(100.0 * COALESCE(j.epoch, 0) / j.epochs, 1) END AS progress,
	   j.epoch, j.epochs, j.loss, j.rows_per_second,
	   j.submitted_by, j.submitted_at, j.started_at, j.finished_at,
	   j.error, j.commit_id, j.project, j.worker_pid, j.channel, j.note
FROM @extschema@.job_queue j;

COMMENT ON VIEW @extschema@.jobs IS
	'background training jobs you can see: state, progress %, epoch, loss, rows/s, times, error, resulting commit, NOTIFY channel, note (why a succeeded job made no commit)';
GRANT SELECT ON @extschema@.jobs TO PUBLIC;

CREATE FUNCTION @extschema@.check_options(net @extschema@.network, options pg_catalog.jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'hanami_check_options'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.check_options(@extschema@.network, pg_catalog.jsonb) IS
	'raise the error fit() would raise for these options on this network, if any';

CREATE FUNCTION @extschema@.launch_at_commit(job pg_catalog.int8)
RETURNS void
AS 'MODULE_PATHNAME', 'hanami_launch_at_commit'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

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

-- Running jobs whose worker is gone (killed, server restarted): back to
-- queued to resume from their checkpoint, or failed after the last attempt.
CREATE FUNCTION @extschema@.reap_jobs()
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'hanami_reap_jobs'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.reap_jobs() IS
	'find running jobs whose worker no longer exists: they resume from their last checkpoint (a dispatcher requeues them) or, after the last attempt, fail; returns how many';

CREATE FUNCTION @extschema@.train_async(model pg_catalog.text, query pg_catalog.text,
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

COMMENT ON FUNCTION @extschema@.train_async(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text) IS
	'queue training of a branch in a background worker that starts when this transaction commits; returns the job id';

CREATE FUNCTION @extschema@.cancel(job pg_catalog.int8)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'hanami_cancel_job'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.cancel(pg_catalog.int8) IS
	'cancel a job: a queued job never runs; a running one stops within about a second, leaving its branch unchanged';

CREATE FUNCTION @extschema@.stop(job pg_catalog.int8)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'hanami_stop_job'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.stop(pg_catalog.int8) IS
	'stop a job early: a running one ends after its current epoch and commits what it learned (metrics "stop": "stopped"); a queued one never runs';

CREATE FUNCTION @extschema@.wait(job pg_catalog.int8, timeout pg_catalog.interval DEFAULT '1 hour')
RETURNS pg_catalog.text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	s pg_catalog.text;
	deadline pg_catalog.timestamptz := pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) timeout;
BEGIN
	LOOP
		PERFORM @extschema@.reap_jobs();
		SELECT j.state INTO s FROM @extschema@.job_queue j WHERE j.id OPERATOR(pg_catalog.=) job;
		IF s IS NULL THEN
			RAISE EXCEPTION 'job % does not exist', job USING ERRCODE = '42704';
		END IF;
		EXIT WHEN s IN ('succeeded', 'failed', 'cancelled')
			OR pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>=) deadline;
		PERFORM pg_catalog.pg_sleep(0.05);
	END LOOP;
	RETURN s;
END
$$;

COMMENT ON FUNCTION @extschema@.wait(pg_catalog.int8, pg_catalog.interval) IS
	'wait until a job has finished (or the timeout passed) and return its state; for scripts';
