/*
 * worker.c - the background worker that runs one training job, and the
 * dispatcher that starts queued jobs.
 *
 * A job worker connects as the submitter's session role and takes the
 * submitter's current_user, so row-level security applies to the query and
 * the model exactly as in the submitting session.  One function per step of
 * the job's life (see the state diagram in sql/hanami.sql):
 *
 *   JobClaim      queued -> running, in its own transaction; loads the
 *                 network and the query's rows into the job's memory
 *   JobPoll       every half second while training: cancel requested?
 *                 model still visible and writable?  (short transactions)
 *   JobEpoch      after every epoch: progress, training_log, NOTIFY
 *   JobFinish     running -> succeeded: the commit, in one transaction,
 *                 only if the branch did not move meanwhile
 *   JobFail       running -> failed or cancelled, with the error text
 *
 * Training itself runs outside any transaction, so progress written between
 * epochs is visible at once and the job holds no locks while it computes.
 */
#include "glue.h"

#include "device.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

PGDLLEXPORT void HanamiJobMain(Datum arg);
PGDLLEXPORT void HanamiDispatcherMain(Datum arg);

typedef struct JobWorkerArgs
{
	Oid			db;
	Oid			login;
	Oid			user;
	int64		job;
} JobWorkerArgs;

/* One job while it runs. */
typedef struct Job
{
	int64		id;
	int64		model_id;
	Oid			project;
	char	   *model;
	char	   *branch;
	char	   *query;
	char	   *options;
	char	   *message;
	int64		parent;			/* branch head the job started from */
	HanamiNetwork *net;
	HnNet		bound;
	HanamiOptions opts;
	HanamiQueryData data;
	double		last_poll;
	double		last_epoch_seconds;
} Job;

/* Start a short transaction with SPI and a snapshot; returns the caller's context. */
static MemoryContext
TxBegin(void)
{
	MemoryContext old = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	return old;
}

/* Commit what TxBegin started and return to the caller's context. */
static void
TxEnd(MemoryContext old)
{
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
	MemoryContextSwitchTo(old);
}

/* Execute sql with int8 / text parameters; returns SPI_processed. */
static uint64
Exec(const char *sql, int nargs, Oid *types, Datum *values)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);

	if (rc < 0)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/* Text of column col of the first result row, copied into cxt; NULL if null. */
static char *
GetText(int col, MemoryContext cxt)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col);

	return v ? MemoryContextStrdup(cxt, v) : NULL;
}

/*
 * queued -> running: claim the job if hanami.max_workers allows, and load
 * its network and rows.  Returns false when the job is not ours to run now.
 */
static bool
JobClaim(Job *job, MemoryContext cxt)
{
	bool		claimed = false;

	MemoryContext tx = TxBegin();

	{
		Oid			types[2] = {INT8OID, INT4OID};
		Datum		vals[2] = {Int64GetDatum(job->id), Int32GetDatum(hanami_max_workers)};
		MemoryContext old;
		bool		isnull;

		Exec("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('hanami job claim'))",
			 0, NULL, NULL);
		if (Exec("UPDATE hanami.job_queue j SET state = 'running', started_at = pg_catalog.now(), "
				 "worker_pid = pg_catalog.pg_backend_pid() "
				 "WHERE j.id = $1 AND j.state = 'queued' "
				 "AND (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a "
				 "     WHERE a.backend_type = 'hanami training job' "
				 "       AND a.application_name LIKE 'hanami job %') < $2 "
				 "RETURNING j.model_id, j.project::oid, j.model, j.branch, j.query, j.options::text, j.message",
				 2, types, vals) == 1)
		{
			job->model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			job->project = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
			job->model = GetText(3, cxt);
			job->branch = GetText(4, cxt);
			job->query = GetText(5, cxt);
			job->options = GetText(6, cxt);
			job->message = GetText(7, cxt);
			claimed = true;
		}
		if (claimed)
		{
			Oid			t2[2] = {INT8OID, TEXTOID};
			Datum		v2[2] = {Int64GetDatum(job->model_id), CStringGetTextDatum(job->branch)};
			bytea	   *img;

			pgstat_report_appname(psprintf("hanami job " INT64_FORMAT, job->id));
			/* the model as the submitter sees it; fails if access is gone */
			if (Exec("SELECT b.head, hanami.load_commit(b.head)::pg_catalog.bytea, "
					 "hanami.check_write(m.project, m.owner, m.name) "
					 "FROM hanami.branches b JOIN hanami.model_catalog m ON m.id = b.model_id "
					 "WHERE b.model_id = $1 AND b.name = $2", 2, t2, v2) != 1)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("branch \"%s\" of model \"%s\" does not exist", job->branch, job->model)));
			job->parent = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			img = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
			old = MemoryContextSwitchTo(cxt);
			job->net = HanamiNetworkFromImage(VARDATA_ANY(img), VARSIZE_ANY_EXHDR(img));
			HanamiNetworkBind(job->net, &job->bound, ERRCODE_DATA_CORRUPTED);
			HanamiParseOptions(HanamiJsonbFromCString(job->options), &job->bound, true, &job->opts);
			if (job->opts.loss_set)
				job->bound.hdr->loss = job->opts.loss;
			HanamiLoadQuery(job->query, job->opts.target, &job->bound, &job->data);
			MemoryContextSwitchTo(old);
			{
				Oid			t3[2] = {INT8OID, INT4OID};
				Datum		v3[2] = {Int64GetDatum(job->id), Int32GetDatum(job->opts.train.epochs)};

				Exec("UPDATE hanami.job_queue SET epochs = $2, epoch = 0 WHERE id = $1", 2, t3, v3);
				Exec("SELECT pg_catalog.pg_notify('hanami_job_' || $1, 'running')", 1, t3, v3);
			}
		}
	}
	TxEnd(tx);
	return claimed;
}

/* Inside a transaction: error unless the model is still visible and writable. */
static void
JobCheckAccess(Job *job)
{
	Oid			types[1] = {INT8OID};
	Datum		vals[1] = {Int64GetDatum(job->model_id)};

	if (Exec("SELECT hanami.check_write(m.project, m.owner, m.name) "
			 "FROM hanami.model_catalog m WHERE m.id = $1", 1, types, vals) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("model \"%s\" is no longer visible to role %s", job->model,
						GetUserNameFromId(GetUserId(), false)),
				 errdetail("Access was revoked while the job ran.")));
}

/* While training: has a cancel been requested?  Is the model still ours? */
static bool
JobPoll(Job *job)
{
	bool		cancel = false;
	MemoryContext tx = TxBegin();

	{
		Oid			types[1] = {INT8OID};
		Datum		vals[1] = {Int64GetDatum(job->id)};
		bool		isnull;

		if (Exec("SELECT cancel_requested FROM hanami.job_queue WHERE id = $1", 1, types, vals) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("job " INT64_FORMAT " no longer exists", job->id)));
		cancel = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		JobCheckAccess(job);
	}
	TxEnd(tx);
	return cancel;
}

/* Engine hook, once per batch. */
static bool
JobInterruptHook(void *ctx)
{
	Job		   *job = (Job *) ctx;
	instr_time	t;
	double		now;

	CHECK_FOR_INTERRUPTS();
	INSTR_TIME_SET_CURRENT(t);
	now = INSTR_TIME_GET_DOUBLE(t);
	if (now - job->last_poll < 0.5)
		return false;
	job->last_poll = now;
	return JobPoll(job);
}

static double
JobNowHook(void *ctx)
{
	instr_time	t;

	INSTR_TIME_SET_CURRENT(t);
	return INSTR_TIME_GET_DOUBLE(t);
}

/* Engine hook after every epoch: progress, learning curve, NOTIFY. */
static void
JobEpochHook(void *ctx, const HnEpochReport *r)
{
	Job		   *job = (Job *) ctx;
	double		dt = r->seconds - job->last_epoch_seconds;
	double		rps = dt > 0 ? r->rows / dt : 0;

	job->last_epoch_seconds = r->seconds;
	MemoryContext tx = TxBegin();

	{
		Oid			types[9] = {INT8OID, INT8OID, OIDOID, INT4OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID};
		Datum		vals[9];

		vals[0] = Int64GetDatum(job->id);
		vals[1] = Int64GetDatum(job->model_id);
		vals[2] = ObjectIdGetDatum(job->project);
		vals[3] = Int32GetDatum(r->epoch);
		vals[4] = Float8GetDatum(r->loss);
		vals[5] = Float8GetDatum(r->val_loss);
		vals[6] = Float8GetDatum(r->val_accuracy);
		vals[7] = Float8GetDatum(rps);
		vals[8] = Float8GetDatum(r->seconds);
		JobCheckAccess(job);
		Exec("INSERT INTO hanami.training_log (job_id, model_id, project, epoch, loss, val_loss, "
			 "val_accuracy, rows_per_second, seconds) VALUES ($1, $2, $3::pg_catalog.regrole, $4, $5, "
			 "NULLIF($6, 'NaN'), NULLIF($7, 'NaN'), $8, $9)", 9, types, vals);
		Exec("UPDATE hanami.job_queue SET epoch = $4, loss = $5, rows_per_second = $8 WHERE id = $1",
			 9, types, vals);
		Exec("SELECT pg_catalog.pg_notify('hanami_job_' || $1, 'epoch ' || $4)", 9, types, vals);
	}
	TxEnd(tx);
}

/* running -> succeeded: store the commit if the branch did not move. */
static void
JobFinish(Job *job, const char *report)
{
	MemoryContext tx = TxBegin();

	{
		Oid			types[7] = {INT8OID, TEXTOID, INT8OID, BYTEAOID, TEXTOID, TEXTOID, INT8OID};
		Datum		vals[7];
		bool		isnull;
		int64		head;
		int64		cid;

		vals[0] = Int64GetDatum(job->model_id);
		vals[1] = CStringGetTextDatum(job->branch);
		vals[2] = Int64GetDatum(job->parent);
		vals[3] = PointerGetDatum(job->net);	/* a varlena either way */
		vals[4] = CStringGetTextDatum(job->message ? job->message : "train (background)");
		vals[5] = CStringGetTextDatum(report);
		vals[6] = Int64GetDatum(job->id);
		if (Exec("SELECT head FROM hanami.branches WHERE model_id = $1 AND name = $2 FOR UPDATE",
				 2, types, vals) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("branch \"%s\" of model \"%s\" no longer exists", job->branch, job->model)));
		head = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (head != job->parent)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("branch \"%s\" of model \"%s\" moved while the job ran", job->branch, job->model),
					 errdetail("The job started from commit " INT64_FORMAT "; the branch is now at " INT64_FORMAT ".",
							   job->parent, head),
					 errhint("Submit the job again to train from the new head.")));
		Exec("SELECT hanami.commit_network($1, $2, $3, $4::hanami.network, $5, $6::pg_catalog.jsonb)",
			 6, types, vals);
		cid = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		vals[2] = Int64GetDatum(cid);
		Exec("UPDATE hanami.training_log SET commit_id = $3 WHERE job_id = $7", 7, types, vals);
		Exec("UPDATE hanami.job_queue SET state = 'succeeded', commit_id = $3, "
			 "finished_at = pg_catalog.now() WHERE id = $7", 7, types, vals);
		Exec("SELECT pg_catalog.pg_notify('hanami_job_' || $7, 'succeeded')", 7, types, vals);
	}
	TxEnd(tx);
}

/* running -> failed or cancelled. */
static void
JobFail(int64 id, const char *state, const char *error)
{
	MemoryContext tx = TxBegin();

	{
		Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
		Datum		vals[3] = {Int64GetDatum(id), CStringGetTextDatum(state),
			error ? CStringGetTextDatum(error) : (Datum) 0};
		bool		nulls_dummy;

		(void) nulls_dummy;
		if (error)
			Exec("UPDATE hanami.job_queue SET state = $2, error = $3, finished_at = pg_catalog.now() "
				 "WHERE id = $1 AND state IN ('queued', 'running')", 3, types, vals);
		else
			Exec("UPDATE hanami.job_queue SET state = $2, finished_at = pg_catalog.now() "
				 "WHERE id = $1 AND state IN ('queued', 'running')", 2, types, vals);
		Exec("SELECT pg_catalog.pg_notify('hanami_job_' || $1, $2)", 2, types, vals);
	}
	TxEnd(tx);
}

/* Run one job from claim to its final state. */
static void
JobRun(int64 id, MemoryContext cxt)
{
	Job		   *job = MemoryContextAllocZero(cxt, sizeof(Job));
	volatile bool claimed = false;

	job->id = id;
	PG_TRY();
	{
		HnCallbacks cb;
		HnTrainResult res;
		HnEvalResult eval;
		HnAllocator alloc = HanamiPallocAllocator(cxt);
		HnError		err;
		HnStatus	st;

		claimed = JobClaim(job, cxt);
		if (claimed)
		{
			memset(&cb, 0, sizeof(cb));
			cb.ctx = job;
			cb.interrupt = JobInterruptHook;
			cb.now = JobNowHook;
			cb.epoch_done = JobEpochHook;
			/* on the CPU or an OpenCL device, as options.device says */
			st = HanamiDeviceTrainFit(&job->bound, &job->data.ds, job->opts.device,
									  &job->opts.train, &cb, &alloc, &res, &err);
			HanamiCheck(st, &err);
			if (res.stop == HANAMI_STOP_CALLBACK)
				JobFail(id, "cancelled", NULL);
			else
			{
				memset(&eval, 0, sizeof(eval));
				st = TrainEvaluate(&job->bound, &job->data.ds, NULL, &alloc, &eval, &err);
				HanamiCheck(st, &err);
				JobFinish(job, HanamiFitReport(&res, &eval, NULL));
			}
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		MemoryContext ecxt;

		HOLD_INTERRUPTS();
		ecxt = MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		MemoryContextSwitchTo(ecxt);
		EmitErrorReport();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		QueryCancelPending = false;
		RESUME_INTERRUPTS();
		JobFail(id, "failed", edata->message);
	}
	PG_END_TRY();
	pgstat_report_appname("hanami idle");
}

/* Entry point of a job worker. */
void
HanamiJobMain(Datum arg)
{
	JobWorkerArgs a;
	MemoryContext cxt;

	memcpy(&a, MyBgworkerEntry->bgw_extra, sizeof(a));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(a.db, a.login, 0);
	/* the submitter's current_user, as SET ROLE would make it */
	StartTransactionCommand();
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(a.user)))
		ereport(FATAL,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role %u of hanami job " INT64_FORMAT " no longer exists", a.user, a.job)));
	SetCurrentRoleId(a.user, superuser_arg(a.user));
	CommitTransactionCommand();
	pgstat_report_appname("hanami idle");

	cxt = AllocSetContextCreate(TopMemoryContext, "hanami job", ALLOCSET_DEFAULT_SIZES);
	JobRun(a.job, cxt);
	MemoryContextDelete(cxt);

	/* let the dispatcher start whatever waited for a free slot */
	HanamiLaunchDispatcher(a.db);
	proc_exit(0);
}

/*
 * Entry point of a dispatcher: as the bootstrap superuser, mark jobs whose
 * worker vanished as failed and start queued jobs up to hanami.max_workers.
 */
void
HanamiDispatcherMain(Datum arg)
{
	JobWorkerArgs a;

	memcpy(&a, MyBgworkerEntry->bgw_extra, sizeof(a));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(a.db, InvalidOid, 0);

	MemoryContext tx = TxBegin();

	{
		bool		isnull;

		if (Exec("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'hanami' "
				 "AND pg_catalog.to_regprocedure('hanami.reap_jobs()') IS NOT NULL", 0, NULL, NULL) == 1)
		{
			Oid			types[1] = {INT4OID};
			Datum		vals[1] = {Int32GetDatum(hanami_max_workers)};
			uint64		n;

			Exec("SELECT hanami.reap_jobs()", 0, NULL, NULL);
			n = Exec("SELECT j.id, j.login_role::oid, j.submitted_by::oid FROM hanami.job_queue j "
					 "WHERE j.state = 'queued' ORDER BY j.id "
					 "LIMIT GREATEST(0, $1 - (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a "
					 "  WHERE a.backend_type = 'hanami training job'))", 1, types, vals);
			for (uint64 i = 0; i < n; i++)
			{
				HeapTuple	t = SPI_tuptable->vals[i];
				TupleDesc	td = SPI_tuptable->tupdesc;

				HanamiLaunchJobWorker(a.db,
									  DatumGetObjectId(SPI_getbinval(t, td, 2, &isnull)),
									  DatumGetObjectId(SPI_getbinval(t, td, 3, &isnull)),
									  DatumGetInt64(SPI_getbinval(t, td, 1, &isnull)), false);
			}
		}
	}
	TxEnd(tx);
	proc_exit(0);
}
