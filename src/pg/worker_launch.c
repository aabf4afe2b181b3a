/*
 * worker_launch.c - starting background workers for training jobs.
 *
 * train_async() queues a job and calls launch_at_commit(); the worker is
 * registered when (and only if) the submitting transaction commits.  A job
 * worker runs as the submitter; a dispatcher worker (per database, as the
 * bootstrap superuser) starts queued jobs up to hanami.max_workers and marks
 * jobs whose worker vanished as failed.  When the library is preloaded, a
 * launcher runs a dispatcher for every database after each server start.
 */
#include "glue.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(hanami_launch_at_commit);

/* What a job worker needs to know; travels in bgw_extra. */
typedef struct JobWorkerArgs
{
	Oid			db;
	Oid			login;			/* the submitter's session role (can log in) */
	Oid			user;			/* the submitter's current_user */
	int64		job;			/* 0 for a dispatcher */
} JobWorkerArgs;

StaticAssertDecl(sizeof(JobWorkerArgs) <= BGW_EXTRALEN, "job worker args fit bgw_extra");

/* Jobs submitted in the current transaction, started at commit. */
static List *pending_jobs = NIL;
static bool xact_callback_registered = false;

/* Register a dynamic worker running function fn with args. */
static bool
LaunchWorker(const char *fn, const char *type, const JobWorkerArgs *args)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *handle;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(w.bgw_library_name, "hanami", BGW_MAXLEN);
	strlcpy(w.bgw_function_name, fn, BGW_MAXLEN);
	strlcpy(w.bgw_type, type, BGW_MAXLEN);
	if (args->job)
		snprintf(w.bgw_name, BGW_MAXLEN, "hanami training job " INT64_FORMAT, args->job);
	else
		snprintf(w.bgw_name, BGW_MAXLEN, "hanami job dispatcher");
	memcpy(w.bgw_extra, args, sizeof(*args));
	w.bgw_notify_pid = 0;
	return RegisterDynamicBackgroundWorker(&w, &handle);
}

/*
 * Start a worker for a queued job.  Without a free worker slot the job stays
 * queued (a dispatcher or the launcher starts it later); report_failure
 * says whether to warn about that.
 */
void
HanamiLaunchJobWorker(Oid db, Oid login, Oid user, int64 job, bool report_failure)
{
	JobWorkerArgs a = {db, login, user, job};

	if (!LaunchWorker("HanamiJobMain", "hanami training job", &a) && report_failure)
		ereport(WARNING,
				(errmsg("could not start a background worker for hanami job " INT64_FORMAT, job),
				 errhint("The job stays queued. Raise max_worker_processes, or wait for running jobs to finish.")));
}

/* Start a dispatcher for database db. */
void
HanamiLaunchDispatcher(Oid db)
{
	JobWorkerArgs a = {db, InvalidOid, InvalidOid, 0};

	(void) LaunchWorker("HanamiDispatcherMain", "hanami job dispatcher", &a);
}

/* At commit, start the workers of the jobs this transaction queued. */
static void
LaunchAtCommitCallback(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	if (event == XACT_EVENT_COMMIT)
		foreach(lc, pending_jobs)
		{
			JobWorkerArgs *a = (JobWorkerArgs *) lfirst(lc);

			HanamiLaunchJobWorker(a->db, a->login, a->user, a->job, true);
		}
	list_free_deep(pending_jobs);
	pending_jobs = NIL;
}

/* launch_at_commit(job): start the job's worker when this transaction commits. */
Datum
hanami_launch_at_commit(PG_FUNCTION_ARGS)
{
	JobWorkerArgs *a;
	MemoryContext old;

	if (!xact_callback_registered)
	{
		RegisterXactCallback(LaunchAtCommitCallback, NULL);
		xact_callback_registered = true;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	a = palloc(sizeof(JobWorkerArgs));
	a->db = MyDatabaseId;
	a->login = GetSessionUserId();
	a->user = GetUserId();
	a->job = PG_GETARG_INT64(0);
	pending_jobs = lappend(pending_jobs, a);
	MemoryContextSwitchTo(old);
	PG_RETURN_VOID();
}
