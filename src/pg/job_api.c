/*
 * job_api.c - the SQL entry points that write jobs: submit, cancel, stop,
 * reap.
 *
 * Ordinary roles cannot write hanami.job_queue.  Each function here checks
 * its caller as the caller (row-level security applies), then writes the
 * row as the system through one fixed statement (job_privilege.c).  The
 * identity a job runs with is taken from the server (current_user and the
 * session role of the submitting backend), never from an argument.
 */
#include "postgres.h"

#include "settings.h"
#include "jobs.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/proc.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(hanami_submit_job);
PG_FUNCTION_INFO_V1(hanami_cancel_job);
PG_FUNCTION_INFO_V1(hanami_stop_job);
PG_FUNCTION_INFO_V1(hanami_reap_jobs);

/* An unguessable channel name for the job's notifications. */
static char *
JobChannel(void)
{
	uint8		token[16];
	char	   *name = palloc(sizeof("hanami_job_") + 2 * sizeof(token));
	char	   *p;

	if (!pg_strong_random(token, sizeof(token)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random channel name for the job")));
	p = name + sprintf(name, "hanami_job_");
	for (int i = 0; i < (int) sizeof(token); i++)
		p += sprintf(p, "%02x", token[i]);
	return name;
}

#define ARG_NOT_NULL(n, what) \
	do { \
		if (PG_ARGISNULL(n)) \
			ereport(ERROR, \
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), \
					 errmsg("%s must not be null", what))); \
	} while (0)

/*
 * submit_job(model_id, branch, query, options, message, epochs): queue a
 * training job on a branch the caller may write; its worker starts when the
 * caller's transaction commits.  Returns the job's id.
 */
Datum
hanami_submit_job(PG_FUNCTION_ARGS)
{
	Oid			user = GetUserId();
	Oid			login = GetSessionUserId();
	HanamiAsSystem sys;
	Oid			types[11];
	Datum		vals[11];
	char		nulls[11];
	bool		isnull;
	int64		job;

	ARG_NOT_NULL(0, "model");
	ARG_NOT_NULL(1, "branch");
	ARG_NOT_NULL(2, "query");
	ARG_NOT_NULL(3, "options");
	ARG_NOT_NULL(5, "epochs");

	SPI_connect();

	/* as the caller: the branch exists and the model is writable */
	types[0] = INT8OID;
	vals[0] = PG_GETARG_DATUM(0);
	types[1] = TEXTOID;
	vals[1] = PG_GETARG_DATUM(1);
	if (HanamiSpiExec("SELECT m.id, m.project::pg_catalog.oid, m.name, "
					  "hanami.check_write(m.project, m.owner, m.name) "
					  "FROM hanami.model_catalog m JOIN hanami.branches b "
					  "ON b.model_id OPERATOR(pg_catalog.=) m.id "
					  "WHERE m.id OPERATOR(pg_catalog.=) $1 AND b.name OPERATOR(pg_catalog.=) $2",
					  2, types, vals) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("branch \"%s\" of model " INT64_FORMAT " does not exist",
						TextDatumGetCString(vals[1]), PG_GETARG_INT64(0))));

	/* every value of the row comes from that one checked row or the server */
	memset(nulls, ' ', sizeof(nulls));
	types[0] = INT8OID;
	vals[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	types[1] = OIDOID;
	vals[1] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	types[2] = TEXTOID;
	vals[2] = CStringGetTextDatum(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3));
	types[3] = TEXTOID;
	vals[3] = PG_GETARG_DATUM(1);
	types[4] = TEXTOID;
	vals[4] = PG_GETARG_DATUM(2);
	types[5] = JSONBOID;
	vals[5] = PG_GETARG_DATUM(3);
	types[6] = TEXTOID;
	vals[6] = PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4);
	nulls[6] = PG_ARGISNULL(4) ? 'n' : ' ';
	types[7] = INT4OID;
	vals[7] = PG_GETARG_DATUM(5);
	types[8] = OIDOID;
	vals[8] = ObjectIdGetDatum(user);
	types[9] = OIDOID;
	vals[9] = ObjectIdGetDatum(login);
	types[10] = TEXTOID;
	vals[10] = CStringGetTextDatum(JobChannel());

	HanamiAsSystemBegin(&sys);
	/* the role's queued and running jobs, counted one submitter at a time */
	{
		Oid			t1[1] = {OIDOID};
		Datum		v1[1] = {ObjectIdGetDatum(user)};
		int64		n;

		HanamiSpiExec("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('hanami job submit'), $1::pg_catalog.int4)",
					  1, t1, v1);
		HanamiSpiExec("SELECT pg_catalog.count(*) FROM hanami.job_queue j "
					  "WHERE j.submitted_by::pg_catalog.oid = $1 AND j.state IN ('queued', 'running')",
					  1, t1, v1);
		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (n >= hanami_max_jobs_per_role)
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("role \"%s\" already has " INT64_FORMAT " queued or running jobs",
							GetUserNameFromId(user, false), n),
					 errdetail("hanami.max_jobs_per_role is %d.", hanami_max_jobs_per_role),
					 errhint("Wait for a job to finish, or cancel one with hanami.cancel().")));
	}
	if (SPI_execute_with_args("INSERT INTO hanami.job_queue (model_id, project, model, branch, query, "
							  "options, message, epochs, submitted_by, login_role, channel) "
							  "VALUES ($1, $2::pg_catalog.regrole, $3, $4, $5, $6, $7, $8, "
							  "$9::pg_catalog.regrole, $10::pg_catalog.regrole, $11) RETURNING id",
							  11, types, vals, nulls, false, 0) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "could not queue the job");
	job = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	HanamiAsSystemEnd(&sys);
	SPI_finish();

	HanamiLaunchAtCommit(job, login, user);
	PG_RETURN_INT64(job);
}

/*
 * Inside SPI, as the caller: error unless the job is visible to the caller
 * (row-level security: a job of a project the caller cannot read is one
 * that does not exist) and the caller is its submitter or a writer of its
 * model.  what: "cancel" or "stop".
 */
static void
CheckJobControl(Datum job, const char *what)
{
	Oid			types[1] = {INT8OID};
	Datum		vals[1] = {job};
	bool		isnull;

	if (HanamiSpiExec("SELECT j.submitted_by OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole "
					  "OR EXISTS (SELECT 1 FROM hanami.model_catalog m "
					  "WHERE m.id OPERATOR(pg_catalog.=) j.model_id AND hanami.can_write(m.project, m.owner)) "
					  "FROM hanami.job_queue j WHERE j.id OPERATOR(pg_catalog.=) $1",
					  1, types, vals) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("job " INT64_FORMAT " does not exist", DatumGetInt64(job))));
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s job " INT64_FORMAT, what, DatumGetInt64(job)),
				 errdetail("Only its submitter and the writers of its model may %s a job.", what)));
}

/*
 * cancel(job): a queued job never runs; a running one stops at its next
 * poll.  Its submitter and the model's writers may cancel it.  Returns
 * whether the job was still queued or running.
 */
Datum
hanami_cancel_job(PG_FUNCTION_ARGS)
{
	Oid			types[1] = {INT8OID};
	Datum		vals[1];
	HanamiAsSystem sys;
	bool		found;

	ARG_NOT_NULL(0, "job");
	vals[0] = PG_GETARG_DATUM(0);
	SPI_connect();
	CheckJobControl(vals[0], "cancel");

	HanamiAsSystemBegin(&sys);
	found = HanamiSpiExec("UPDATE hanami.job_queue j SET cancel_requested = true, "
						  "state = CASE WHEN j.state = 'queued' THEN 'cancelled' ELSE j.state END, "
						  "finished_at = CASE WHEN j.state = 'queued' THEN pg_catalog.now() ELSE j.finished_at END "
						  "WHERE j.id = $1 AND j.state IN ('queued', 'running')",
						  1, types, vals) == 1;
	HanamiAsSystemEnd(&sys);
	SPI_finish();
	PG_RETURN_BOOL(found);
}

/*
 * stop(job): a running job ends after its current epoch and commits what
 * it learned, like a job that ran all its epochs (its metrics say "stop":
 * "stopped"); a queued one never runs (it is cancelled: it has learned
 * nothing).  The same callers as cancel.  Returns whether the job was still
 * queued or running.
 */
Datum
hanami_stop_job(PG_FUNCTION_ARGS)
{
	Oid			types[1] = {INT8OID};
	Datum		vals[1];
	HanamiAsSystem sys;
	bool		found;

	ARG_NOT_NULL(0, "job");
	vals[0] = PG_GETARG_DATUM(0);
	SPI_connect();
	CheckJobControl(vals[0], "stop");

	HanamiAsSystemBegin(&sys);
	found = HanamiSpiExec("UPDATE hanami.job_queue j SET "
						  "stop_requested = (j.state = 'running'), "
						  "cancel_requested = (j.cancel_requested OR j.state = 'queued'), "
						  "state = CASE WHEN j.state = 'queued' THEN 'cancelled' ELSE j.state END, "
						  "finished_at = CASE WHEN j.state = 'queued' THEN pg_catalog.now() ELSE j.finished_at END "
						  "WHERE j.id = $1 AND j.state IN ('queued', 'running')",
						  1, types, vals) == 1;
	HanamiAsSystemEnd(&sys);
	SPI_finish();
	PG_RETURN_BOOL(found);
}

/*
 * reap_jobs(): running jobs whose worker no longer exists (killed, server
 * restarted).  A dispatcher (a background worker) puts each back to queued
 * to resume from its last checkpoint, within HANAMI_JOB_MAX_ATTEMPTS
 * starts in all; after the last one the job fails.  Called in a session,
 * it fails only those that used up their starts and starts a dispatcher
 * for the rest (once per transaction), which requeues and launches them in
 * transactions of its own.  A database still at 0.1.0 (no checkpoints, no
 * attempts) fails them all, as 0.1.0 did.  Returns how many jobs it found.
 * Harmless for anyone to call: it only acts on jobs that can no longer
 * end by themselves.
 */
Datum
hanami_reap_jobs(PG_FUNCTION_ARGS)
{
	static LocalTransactionId dispatched = InvalidLocalTransactionId;
	HanamiAsSystem sys;
	uint64		n;
	int			version;

#define HANAMI_DEAD_WORKER \
	"j.state = 'running' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a " \
	"WHERE a.pid = j.worker_pid AND a.backend_type = 'hanami training job')"

	/* see workers that started since this transaction first looked */
	pgstat_clear_snapshot();
	SPI_connect();
	HanamiAsSystemBegin(&sys);
	version = HanamiInstalledVersion();
	if (version < 200)
		n = HanamiSpiExec("UPDATE hanami.job_queue j SET state = 'failed', finished_at = pg_catalog.now(), "
						  "error = 'the job''s worker exited before finishing (server restart, crash or termination)' "
						  "WHERE " HANAMI_DEAD_WORKER, 0, NULL, NULL);
	else
	{
		Oid			types[1] = {INT4OID};
		Datum		vals[1] = {Int32GetDatum(HANAMI_JOB_MAX_ATTEMPTS)};
		uint64		left;

		/* started as often as a job may be: it fails (its checkpoint goes) */
		n = HanamiSpiExec("UPDATE hanami.job_queue j SET state = 'failed', finished_at = pg_catalog.now(), "
						  "error = 'the job''s worker exited before finishing ' || (j.attempts + 1) || "
						  "' times (server restart, crash or termination)' "
						  "WHERE " HANAMI_DEAD_WORKER " AND j.attempts + 1 >= $1", 1, types, vals);
		if (IsBackgroundWorker)
			left = HanamiSpiExec("UPDATE hanami.job_queue j SET state = 'queued', worker_pid = NULL, "
								 "note = 'interrupted at epoch ' || COALESCE(j.epoch, 0) || "
								 "'; it resumes from its last checkpoint' "
								 "WHERE " HANAMI_DEAD_WORKER " AND j.attempts + 1 < $1", 1, types, vals);
		else
		{
			left = HanamiSpiExec("SELECT 1 FROM hanami.job_queue j WHERE " HANAMI_DEAD_WORKER
								 " AND j.attempts + 1 < $1", 1, types, vals);
			if (left > 0 && dispatched != MyProc->lxid)
			{
				dispatched = MyProc->lxid;
				HanamiLaunchDispatcher(MyDatabaseId);
			}
		}
		n += left;
		HanamiSpiExec("DELETE FROM hanami.job_checkpoints c WHERE NOT EXISTS (SELECT 1 FROM hanami.job_queue j "
					  "WHERE j.id = c.job_id AND j.state IN ('queued', 'running'))", 0, NULL, NULL);
	}
	HanamiAsSystemEnd(&sys);
	SPI_finish();
	PG_RETURN_INT64((int64) n);
}
