/*
 * job_launch.c - starting background workers for training jobs.
 *
 * hanami.submit_job() (called by train_async) queues a job; its worker is
 * registered when (and only if) the submitting transaction commits, not when
 * the subtransaction that queued it rolled back, and never for a prepared
 * transaction.  A job worker runs as the submitter, with the identity the
 * server recorded at submission; a dispatcher worker (per database, as the
 * bootstrap superuser) starts queued jobs up to hanami.max_workers and marks
 * jobs whose worker vanished as failed.  When the library is preloaded, a
 * launcher runs a dispatcher for every database after each server start.
 */
#include "postgres.h"

#include "jobs.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(hanami_launch_at_commit);

/* JobWorkerArgs (jobs.h) travel in bgw_extra. */
StaticAssertDecl(sizeof(JobWorkerArgs) <= BGW_EXTRALEN, "job worker args fit bgw_extra");

/* Jobs submitted in the current transaction, started at commit. */
typedef struct PendingJob
{
	JobWorkerArgs args;
	SubTransactionId subxact;	/* forgotten if this subtransaction aborts */
} PendingJob;

static List *pending_jobs = NIL;
static bool xact_callback_registered = false;

/* Register a dynamic worker running function fn with args (jobs.h). */
bool
HanamiLaunchWorker(const char *fn, const char *type, const char *name,
				   const JobWorkerArgs *args)
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
	strlcpy(w.bgw_name, name, BGW_MAXLEN);
	memcpy(w.bgw_extra, args, sizeof(*args));
	w.bgw_notify_pid = 0;
	return RegisterDynamicBackgroundWorker(&w, &handle);
}

/*
 * Start a worker for a queued job.  Without a free worker slot the job stays
 * queued (a dispatcher or the launcher starts it later); report_failure
 * says whether to warn about that.
 */
bool
HanamiLaunchJobWorker(Oid db, Oid login, Oid user, int64 job, bool report_failure)
{
	JobWorkerArgs a = {db, login, user, job};
	char		name[BGW_MAXLEN];

	snprintf(name, sizeof(name), "hanami training job " INT64_FORMAT, job);
	if (HanamiLaunchWorker("HanamiJobMain", "hanami training job", name, &a))
		return true;
	if (report_failure)
		ereport(WARNING,
				(errmsg("could not start a background worker for hanami job " INT64_FORMAT, job),
				 errhint("The job stays queued. Raise max_worker_processes, or wait for running jobs to finish.")));
	return false;
}

/* Start a dispatcher for database db. */
void
HanamiLaunchDispatcher(Oid db)
{
	JobWorkerArgs a = {db, InvalidOid, InvalidOid, 0};

	(void) HanamiLaunchWorker("HanamiDispatcherMain", "hanami job dispatcher",
							  "hanami job dispatcher", &a);
}

/* Forget the jobs queued in a subtransaction that rolled back. */
static void
LaunchSubXactCallback(SubXactEvent event, SubTransactionId sub,
					  SubTransactionId parent, void *arg)
{
	ListCell   *lc;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	foreach(lc, pending_jobs)
	{
		PendingJob *p = (PendingJob *) lfirst(lc);

		if (p->subxact == sub)
		{
			pending_jobs = foreach_delete_current(pending_jobs, lc);
			pfree(p);
		}
	}
}

/* At commit, start the workers of the jobs this transaction queued. */
static void
LaunchAtCommitCallback(XactEvent event, void *arg)
{
	ListCell   *lc;

	/* a prepared transaction may commit in another session: no launch then */
	if (event == XACT_EVENT_PRE_PREPARE && pending_jobs != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot PREPARE a transaction that submitted hanami jobs"),
				 errhint("Submit background jobs in a transaction that commits directly.")));
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	/*
	 * At most hanami.max_workers workers, however many jobs the transaction
	 * queued: the others wait in the queue, and each worker that ends starts
	 * the dispatcher, which starts them (fairly between submitters) as slots
	 * free up.  So one transaction never takes every worker slot.
	 */
	if (event == XACT_EVENT_COMMIT)
	{
		int			launched = 0;

		foreach(lc, pending_jobs)
		{
			PendingJob *p = (PendingJob *) lfirst(lc);

			if (launched >= hanami_max_workers)
				break;
			if (HanamiLaunchJobWorker(p->args.db, p->args.login, p->args.user, p->args.job, true))
				launched++;
		}
	}
	list_free_deep(pending_jobs);
	pending_jobs = NIL;
}

/*
 * Start the worker of job when the current transaction commits, with the
 * identity the server recorded for it (never one read back from the table).
 */
void
HanamiLaunchAtCommit(int64 job, Oid login, Oid user)
{
	PendingJob *p;
	MemoryContext old;

	if (!xact_callback_registered)
	{
		RegisterXactCallback(LaunchAtCommitCallback, NULL);
		RegisterSubXactCallback(LaunchSubXactCallback, NULL);
		xact_callback_registered = true;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	p = palloc(sizeof(PendingJob));
	p->args.db = MyDatabaseId;
	p->args.login = login;
	p->args.user = user;
	p->args.job = job;
	p->subxact = GetCurrentSubTransactionId();
	pending_jobs = lappend(pending_jobs, p);
	MemoryContextSwitchTo(old);
}

/*
 * launch_at_commit(job): the 0.1.0 submit path (its train_async inserts the
 * row itself, then calls this).  Starts the job only if the row says the
 * caller submitted it in this very session role, so a row forged by
 * another role never runs; in 0.2.0 the function is not executable by
 * PUBLIC and hanami.submit_job() does both steps.
 */
Datum
hanami_launch_at_commit(PG_FUNCTION_ARGS)
{
	int64		job = PG_GETARG_INT64(0);
	Oid			types[3] = {INT8OID, OIDOID, OIDOID};
	Datum		vals[3] = {Int64GetDatum(job), ObjectIdGetDatum(GetUserId()),
	ObjectIdGetDatum(GetSessionUserId())};
	HanamiAsSystem sys;
	uint64		n;

	SPI_connect();
	HanamiAsSystemBegin(&sys);
	n = HanamiSpiExec("SELECT 1 FROM hanami.job_queue j WHERE j.id OPERATOR(pg_catalog.=) $1 "
					  "AND j.state OPERATOR(pg_catalog.=) 'queued' "
					  "AND j.submitted_by::pg_catalog.oid OPERATOR(pg_catalog.=) $2 "
					  "AND j.login_role::pg_catalog.oid OPERATOR(pg_catalog.=) $3",
					  3, types, vals);
	HanamiAsSystemEnd(&sys);
	SPI_finish();
	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("job " INT64_FORMAT " is not a queued job submitted by the current role in this session", job)));
	HanamiLaunchAtCommit(job, GetSessionUserId(), GetUserId());
	PG_RETURN_VOID();
}
