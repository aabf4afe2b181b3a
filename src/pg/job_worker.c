/*
 * job_worker.c - the background worker that runs one training job, and the
 * dispatcher that starts queued jobs.
 *
 * A job worker connects as the submitter's session role and takes the
 * submitter's current_user, both as the server recorded them at submission
 * (they travel in bgw_extra and must match the job's row), so row-level
 * security applies to the query and the model exactly as in the submitting
 * session.  The identity is set with SECURITY_LOCAL_USERID_CHANGE and
 * SECURITY_RESTRICTED_OPERATION: the job's query cannot SET ROLE, RESET
 * ROLE, SET SESSION AUTHORIZATION, create temporary objects or LISTEN.  The
 * job's row is written as the system (job_privilege.c), so its state is
 * recorded even when the submitter lost access.  One function per step of
 * the job's life (see the state diagram in sql/parts/70_jobs.sql):
 *
 *   JobClaim      queued -> running, in a short transaction of its own that
 *                 commits before any of the submitter's code runs
 *   JobLoad       as the submitter: the network and the query's rows
 *   JobPoll       every half second while training: cancel requested?
 *                 model still visible and writable?  (short transactions)
 *   JobEpoch      after every epoch: progress, training_log, NOTIFY; and
 *                 was a stop requested (hanami.stop)?  Then the fit ends
 *                 after this epoch and the job commits like a finished one
 *   JobFinish     running -> succeeded: the commit, in one transaction,
 *                 only if the branch did not move and the job still runs
 *   JobNoCommit   running -> succeeded without a commit: option
 *                 only_if_better found the trained network no better
 *   JobFail       running -> failed or cancelled, with the error text
 *   JobCheckpoint after an epoch when one is due: the fit's state into
 *                 hanami.job_checkpoints (as the system), from which the
 *                 job resumes if its worker dies (JobResume, in JobLoad)
 *
 * Training itself runs outside any transaction, so progress written between
 * epochs is visible at once and the job holds no locks while it computes.
 */
#include "postgres.h"

#include "errors.h"
#include "network.h"
#include "jsonutil.h"
#include "options.h"
#include "dataset.h"
#include "training.h"
#include "device.h"
#include "jobs.h"

#include "core/checkpoint.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

PGDLLEXPORT void HanamiJobMain(Datum arg);
PGDLLEXPORT void HanamiDispatcherMain(Datum arg);


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
	char	   *channel;		/* NOTIFY channel, readable only by readers of the job */
	int64		parent;			/* branch head the job started from */
	HanamiNetwork *net;
	HnNet		bound;
	HanamiOptions opts;
	HanamiQueryData data;
	double		last_poll;
	double		last_epoch_seconds;
	bool		can_stop;		/* the job table has stop_requested (0.2.0 on) */
	bool		stop_requested; /* hanami.stop: end after this epoch */
	bool		checkpoints;	/* the database has job_checkpoints (0.2.0 on) */
	int			resumed_from;	/* epoch of the checkpoint resumed from, or 0 */
	char	   *resume_note;	/* what the job's note says about resuming */
} Job;

/*
 * Start a short transaction with SPI and a snapshot, in a background
 * worker; returns the caller's context (jobs.h).
 */
MemoryContext
HanamiWorkerTxBegin(void)
{
	MemoryContext old = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	return old;
}

/* Commit what HanamiWorkerTxBegin started and return to the caller's context. */
void
HanamiWorkerTxEnd(MemoryContext old)
{
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
	MemoryContextSwitchTo(old);
}

/* Text of column col of the first result row, copied into cxt; NULL if null. */
static char *
GetText(int col, MemoryContext cxt)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col);

	return v ? MemoryContextStrdup(cxt, v) : NULL;
}

/* The job's NOTIFY, as the system (inside a transaction). */
static void
JobNotify(Job *job, const char *payload)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		vals[2];
	HanamiAsSystem sys;

	if (job->channel == NULL)
		return;
	vals[0] = CStringGetTextDatum(job->channel);
	vals[1] = CStringGetTextDatum(payload);
	HanamiAsSystemBegin(&sys);
	HanamiSpiExec("SELECT pg_catalog.pg_notify($1, $2)", 2, types, vals);
	HanamiAsSystemEnd(&sys);
}

/*
 * queued -> running, as the system, in a transaction of its own that commits
 * before any of the submitter's code runs (the advisory lock that keeps
 * claims within hanami.max_workers is held only here).  The row must name
 * the identity this worker was started with.  Returns false when the job is
 * not ours to run now: not queued any more, no free slot (the attempt is
 * given back), or an identity mismatch (the job fails).
 */
static bool
JobClaim(Job *job, Oid login, Oid user, MemoryContext cxt)
{
	bool		claimed = false;
	bool		v0_1;
	const char *mismatch = NULL;
	HanamiAsSystem sys;
	MemoryContext tx = HanamiWorkerTxBegin();

	HanamiAsSystemBegin(&sys);
	{
		Oid			types[4] = {INT8OID, INT4OID, OIDOID, OIDOID};
		Datum		vals[4] = {Int64GetDatum(job->id), Int32GetDatum(hanami_max_workers),
		ObjectIdGetDatum(login), ObjectIdGetDatum(user)};
		bool		isnull;

		/* a database still at 0.1.0 (before ALTER EXTENSION UPDATE) has no channel or attempts */
		v0_1 = HanamiInstalledVersion() < 200;
		HanamiSpiExec("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('hanami job claim'))",
					  0, NULL, NULL);
		if (HanamiSpiExec("SELECT j.submitted_by::oid = $4 AND j.login_role::oid = $3 "
						  "FROM hanami.job_queue j WHERE j.id = $1 AND j.state = 'queued' FOR UPDATE",
						  4, types, vals) == 1 &&
			!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
			mismatch = "the job's row does not name the identity it was submitted with";
		else if (HanamiSpiExec(psprintf("UPDATE hanami.job_queue j SET state = 'running', started_at = pg_catalog.now(), "
										"worker_pid = pg_catalog.pg_backend_pid() "
										"WHERE j.id = $1 AND j.state = 'queued' "
										"AND (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a "
										"     WHERE a.backend_type = 'hanami training job' "
										"       AND a.application_name LIKE 'hanami job %%') < $2 "
										"RETURNING j.model_id, j.project::oid, j.model, j.branch, j.query, "
										"j.options::text, j.message, %s",
										v0_1 ? "NULL::pg_catalog.text" : "j.channel"),
							   2, types, vals) == 1)
		{
			job->model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			job->project = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
			job->model = GetText(3, cxt);
			job->branch = GetText(4, cxt);
			job->query = GetText(5, cxt);
			job->options = GetText(6, cxt);
			job->message = GetText(7, cxt);
			job->channel = GetText(8, cxt);
			job->can_stop = !v0_1;
			job->checkpoints = !v0_1;
			claimed = true;
			pgstat_report_appname(psprintf("hanami job " INT64_FORMAT, job->id));
		}
		else if (!v0_1)
		{
			/* not started after all: this launch does not count */
			HanamiSpiExec("UPDATE hanami.job_queue j SET attempts = CASE WHEN j.attempts > 0 THEN j.attempts - 1 ELSE 0 END "
						  "WHERE j.id = $1 AND j.state = 'queued'", 1, types, vals);
		}
		if (mismatch)
			HanamiSpiExec("UPDATE hanami.job_queue j SET state = 'failed', finished_at = pg_catalog.now(), "
						  "error = 'the job''s row does not name the identity it was submitted with' "
						  "WHERE j.id = $1", 1, types, vals);
	}
	HanamiAsSystemEnd(&sys);
	HanamiWorkerTxEnd(tx);
	if (mismatch)
		ereport(LOG, (errmsg("hanami job " INT64_FORMAT " not started: %s", job->id, mismatch)));
	return claimed;
}

/*
 * As the system, in JobLoad's transaction (the network, options and rows
 * loaded): continue from the job's checkpoint when it has one that the
 * engine accepts for this network, these options and this job; else start
 * from epoch 0, dropping a refused checkpoint.  The learning curve keeps
 * the epochs up to the checkpoint, once each; the note says what happened
 * when the job was interrupted before.
 */
static void
JobResume(Job *job, MemoryContext cxt)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		vals[2] = {Int64GetDatum(job->id), Int32GetDatum(0)};
	bool		isnull;
	bool		interrupted = false;
	char	   *why = NULL;

	if (HanamiSpiExec("SELECT j.note LIKE 'interrupted%' FROM hanami.job_queue j WHERE j.id = $1",
					  1, types, vals) == 1)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		interrupted = !isnull && DatumGetBool(d);
	}
	if (HanamiSpiExec("SELECT c.state FROM hanami.job_checkpoints c WHERE c.job_id = $1",
					  1, types, vals) == 1)
	{
		bytea	   *b = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		size_t		len = VARSIZE_ANY_EXHDR(b);
		void	   *blob = MemoryContextAllocHuge(cxt, Max(len, 1));
		HnCheckpoint ck;
		HnError		err;

		memcpy(blob, VARDATA_ANY(b), len);
		if (HnCheckpointCheck(&job->bound, &job->opts.train, blob, len, &ck, &err) == HANAMI_OK)
		{
			job->opts.train.resume = blob;
			job->opts.train.resume_len = len;
			job->resumed_from = ck.epoch;
			job->last_epoch_seconds = ck.seconds;
		}
		else
		{
			why = MemoryContextStrdup(cxt, err.message);
			pfree(blob);
			HanamiSpiExec("DELETE FROM hanami.job_checkpoints WHERE job_id = $1", 1, types, vals);
		}
		interrupted = true;
	}
	/* epochs after the checkpoint are trained again: logged once */
	vals[1] = Int32GetDatum(job->resumed_from);
	HanamiSpiExec("DELETE FROM hanami.training_log WHERE job_id = $1 AND epoch > $2", 2, types, vals);
	if (!interrupted)
		return;
	if (job->resumed_from > 0)
		job->resume_note = MemoryContextStrdup(cxt, psprintf("resumed from the checkpoint of epoch %d", job->resumed_from));
	else if (why != NULL)
		job->resume_note = MemoryContextStrdup(cxt, psprintf("restarted from epoch 0: its checkpoint was refused (%s)", why));
	else
		job->resume_note = MemoryContextStrdup(cxt, "restarted from epoch 0: it had no checkpoint yet");
	{
		Oid			t2[2] = {INT8OID, TEXTOID};
		Datum		v2[2] = {Int64GetDatum(job->id), CStringGetTextDatum(job->resume_note)};

		HanamiSpiExec("UPDATE hanami.job_queue SET note = $2 WHERE id = $1", 2, t2, v2);
	}
	ereport(LOG, (errmsg("hanami job " INT64_FORMAT ": %s", job->id, job->resume_note)));
}

/*
 * Engine hook after an epoch when a checkpoint is due: the blob replaces
 * the job's checkpoint, as the system, while the job is still this
 * worker's.  A blob too large for a bytea is skipped (the job resumes from
 * an older one, or from the start).
 */
static void
JobCheckpointHook(void *ctx, int epoch, const void *blob, size_t len)
{
	Job		   *job = (Job *) ctx;
	MemoryContext tx;
	bytea	   *b;

	if (len > MaxAllocSize - VARHDRSZ)
	{
		ereport(LOG,
				(errmsg("hanami job " INT64_FORMAT ": checkpoint of epoch %d skipped: %zu bytes is more than a value holds",
						job->id, epoch, len)));
		return;
	}
	tx = HanamiWorkerTxBegin();
	{
		Oid			types[3] = {INT8OID, INT4OID, BYTEAOID};
		Datum		vals[3];
		HanamiAsSystem sys;

		b = palloc(len + VARHDRSZ);
		SET_VARSIZE(b, len + VARHDRSZ);
		memcpy(VARDATA(b), blob, len);
		vals[0] = Int64GetDatum(job->id);
		vals[1] = Int32GetDatum(epoch);
		vals[2] = PointerGetDatum(b);
		HanamiAsSystemBegin(&sys);
		HanamiSpiExec("INSERT INTO hanami.job_checkpoints AS c (job_id, epoch, state) "
					  "SELECT $1, $2, $3 FROM hanami.job_queue j "
					  "WHERE j.id = $1 AND j.state = 'running' AND j.worker_pid = pg_catalog.pg_backend_pid() "
					  "ON CONFLICT (job_id) DO UPDATE SET epoch = excluded.epoch, state = excluded.state, "
					  "saved_at = pg_catalog.now()", 3, types, vals);
		HanamiAsSystemEnd(&sys);
	}
	HanamiWorkerTxEnd(tx);
}

/* Inside a transaction, as the system: the job's checkpoint is no longer needed. */
static void
JobDropCheckpoint(Job *job)
{
	Oid			types[1] = {INT8OID};
	Datum		vals[1] = {Int64GetDatum(job->id)};

	if (HanamiInstalledVersion() >= 200)
		HanamiSpiExec("DELETE FROM hanami.job_checkpoints WHERE job_id = $1", 1, types, vals);
}

/*
 * Inside a transaction, as the role that trains (a job's submitter, the
 * learner's writer): the head of a branch the role may write, loaded into
 * into; *head gets the head commit and bound a copy of the image in into,
 * bound, where a fit may move it as it trains.  Errors when the branch is
 * gone, has no network, or the role lost write access.
 */
HanamiNetwork *
HanamiLoadBranchHead(int64 model_id, const char *branch, const char *model,
					 MemoryContext into, int64 *head, HnNet *bound)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		vals[2] = {Int64GetDatum(model_id), CStringGetTextDatum(branch)};
	HanamiNetwork *net;
	bytea	   *img;
	bool		isnull;
	MemoryContext old;

	if (HanamiSpiExec("SELECT b.head, hanami.load_commit(b.head)::pg_catalog.bytea, "
					  "hanami.check_write(m.project, m.owner, m.name) "
					  "FROM hanami.branches b JOIN hanami.model_catalog m ON m.id OPERATOR(pg_catalog.=) b.model_id "
					  "WHERE b.model_id OPERATOR(pg_catalog.=) $1 AND b.name OPERATOR(pg_catalog.=) $2",
					  2, types, vals) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("branch \"%s\" of model \"%s\" does not exist", branch, model)));
	*head = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	img = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the head of branch \"%s\" of model \"%s\" has no network", branch, model)));
	old = MemoryContextSwitchTo(into);
	net = HanamiNetworkFromImage(VARDATA_ANY(img), VARSIZE_ANY_EXHDR(img));
	HanamiNetworkBind(net, bound, ERRCODE_DATA_CORRUPTED);
	{
		void	   *image = palloc_extended(bound->len, MCXT_ALLOC_HUGE);

		memcpy(image, bound->hdr, bound->len);
		NetBindTrusted(bound, image);
	}
	MemoryContextSwitchTo(old);
	return net;
}

/*
 * As the submitter: the branch head's network and the query's rows, loaded
 * into the job's memory.  Fails if the model is no longer writable.
 */
static void
JobLoad(Job *job, MemoryContext cxt)
{
	MemoryContext tx = HanamiWorkerTxBegin();

	{
		MemoryContext old;
		HanamiAsSystem sys;

		/* the model as the submitter sees it; fails if access is gone */
		job->net = HanamiLoadBranchHead(job->model_id, job->branch, job->model, cxt,
										&job->parent, &job->bound);
		old = MemoryContextSwitchTo(cxt);
		HanamiParseJobOptions(HanamiJsonbFromCString(job->options), &job->bound, &job->opts);
		HanamiLoadQueryMapped(job->query, &job->opts, &job->bound, &job->data);
		/* a checkpoint belongs to this job, its options and its query only */
		job->opts.train.checkpoint_key =
			HnHash64(job->options, strlen(job->options),
					 HnHash64(job->query, strlen(job->query), (uint64) job->id));
		MemoryContextSwitchTo(old);

		HanamiAsSystemBegin(&sys);
		if (job->checkpoints)
			JobResume(job, cxt);
		{
			Oid			t3[3] = {INT8OID, INT4OID, INT4OID};
			Datum		v3[3] = {Int64GetDatum(job->id), Int32GetDatum(job->opts.train.epochs),
			Int32GetDatum(job->resumed_from)};

			HanamiSpiExec("UPDATE hanami.job_queue SET epochs = $2, epoch = $3 WHERE id = $1", 3, t3, v3);
		}
		HanamiAsSystemEnd(&sys);
		JobNotify(job, "running");
	}
	HanamiWorkerTxEnd(tx);
}

/* Inside a transaction: error unless the model is still visible and writable. */
static void
JobCheckAccess(Job *job)
{
	Oid			types[1] = {INT8OID};
	Datum		vals[1] = {Int64GetDatum(job->model_id)};

	if (HanamiSpiExec("SELECT hanami.check_write(m.project, m.owner, m.name) "
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
	MemoryContext tx = HanamiWorkerTxBegin();

	{
		Oid			types[1] = {INT8OID};
		Datum		vals[1] = {Int64GetDatum(job->id)};
		bool		isnull;

		HanamiAsSystem sys;
		uint64		n;

		HanamiAsSystemBegin(&sys);
		n = HanamiSpiExec("SELECT cancel_requested OR state <> 'running' FROM hanami.job_queue WHERE id = $1",
						  1, types, vals);
		if (n == 1)
			cancel = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		HanamiAsSystemEnd(&sys);
		if (n != 1)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("job " INT64_FORMAT " no longer exists", job->id)));
		JobCheckAccess(job);
	}
	HanamiWorkerTxEnd(tx);
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
	MemoryContext tx;

	job->last_epoch_seconds = r->seconds;
	tx = HanamiWorkerTxBegin();

	{
		Oid			types[9] = {INT8OID, INT8OID, OIDOID, INT4OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID};
		Datum		vals[9];
		HanamiAsSystem sys;

		vals[0] = Int64GetDatum(job->id);
		vals[1] = Int64GetDatum(job->model_id);
		vals[2] = ObjectIdGetDatum(job->project);
		vals[3] = Int32GetDatum(r->epoch);
		vals[4] = Float8GetDatum(r->loss);
		vals[5] = Float8GetDatum(r->val_loss);
		vals[6] = Float8GetDatum(r->val_accuracy);
		vals[7] = Float8GetDatum(rps);
		vals[8] = Float8GetDatum(r->seconds);

		/* the learning curve is written as the submitter: it needs write access */
		JobCheckAccess(job);
		HanamiSpiExec("INSERT INTO hanami.training_log (job_id, model_id, project, epoch, loss, val_loss, "
					  "val_accuracy, rows_per_second, seconds) VALUES ($1, $2, $3::pg_catalog.regrole, $4, $5, "
					  "NULLIF($6, 'NaN'), NULLIF($7, 'NaN'), $8, $9)", 9, types, vals);
		HanamiAsSystemBegin(&sys);
		HanamiSpiExec("UPDATE hanami.job_queue SET epoch = $4, loss = $5, rows_per_second = $8 WHERE id = $1",
					  9, types, vals);
		/* hanami.stop: end after this epoch and commit what was learned */
		if (job->can_stop && !job->stop_requested &&
			HanamiSpiExec("SELECT stop_requested FROM hanami.job_queue WHERE id = $1",
						  1, types, vals) == 1)
		{
			bool		isnull;

			job->stop_requested =
				DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) &&
				!isnull;
		}
		HanamiAsSystemEnd(&sys);
		JobNotify(job, psprintf("epoch %d", r->epoch));
	}
	HanamiWorkerTxEnd(tx);
}

/* Engine hook after every epoch (after JobEpochHook): end the fit here? */
static bool
JobStopHook(void *ctx)
{
	return ((Job *) ctx)->stop_requested;
}

/* Add a sentence to the job's note, as the system (0.2.0 on). */
static void
JobNote(Job *job, const char *text)
{
	MemoryContext tx;

	if (!job->checkpoints)
		return;
	tx = HanamiWorkerTxBegin();
	{
		Oid			types[2] = {INT8OID, TEXTOID};
		Datum		vals[2] = {Int64GetDatum(job->id), CStringGetTextDatum(text)};
		HanamiAsSystem sys;

		HanamiAsSystemBegin(&sys);
		HanamiSpiExec("UPDATE hanami.job_queue SET note = pg_catalog.concat_ws('; ', note, $2) WHERE id = $1",
					  2, types, vals);
		HanamiAsSystemEnd(&sys);
	}
	HanamiWorkerTxEnd(tx);
}

/* running -> succeeded: store the commit if the branch did not move. */
static void
JobFinish(Job *job, const char *report)
{
	MemoryContext tx = HanamiWorkerTxBegin();

	{
		Oid			types[7] = {INT8OID, TEXTOID, INT8OID, BYTEAOID, TEXTOID, TEXTOID, INT8OID};
		Datum		vals[7];
		bool		isnull;
		int64		head;
		int64		cid;
		uint64		done;
		HanamiAsSystem sys;

		vals[0] = Int64GetDatum(job->model_id);
		vals[1] = CStringGetTextDatum(job->branch);
		vals[2] = Int64GetDatum(job->parent);
		vals[3] = PointerGetDatum(job->net);	/* a varlena either way */
		vals[4] = CStringGetTextDatum(job->message ? job->message : "train (background)");
		vals[5] = CStringGetTextDatum(report);
		vals[6] = Int64GetDatum(job->id);
		if (HanamiSpiExec("SELECT head FROM hanami.branches WHERE model_id = $1 AND name = $2 FOR UPDATE",
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
		HanamiSpiExec("SELECT hanami.commit_network($1, $2, $3, $4::hanami.network, $5, $6::pg_catalog.jsonb)",
			 6, types, vals);
		cid = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		vals[2] = Int64GetDatum(cid);
		HanamiAsSystemBegin(&sys);
		HanamiSpiExec("UPDATE hanami.training_log SET commit_id = $3 WHERE job_id = $7", 7, types, vals);
		done = HanamiSpiExec("UPDATE hanami.job_queue SET state = 'succeeded', commit_id = $3, "
							 "finished_at = pg_catalog.now() WHERE id = $7 AND state = 'running'",
							 7, types, vals);
		JobDropCheckpoint(job);
		HanamiAsSystemEnd(&sys);
		/* cancelled or reaped meanwhile: the commit is not kept */
		if (done != 1)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("job " INT64_FORMAT " is no longer running", job->id),
					 errdetail("It was cancelled or marked failed while it finished; its commit was not stored.")));
		JobNotify(job, "succeeded");
	}
	HanamiWorkerTxEnd(tx);
}

/*
 * running -> succeeded without a commit (the trained network was not better
 * than the branch head on the only_if_better query), as the system; note
 * says why.
 */
static void
JobNoCommit(Job *job, const char *note)
{
	MemoryContext tx = HanamiWorkerTxBegin();

	{
		Oid			types[2] = {INT8OID, TEXTOID};
		Datum		vals[2] = {Int64GetDatum(job->id), CStringGetTextDatum(note)};
		HanamiAsSystem sys;

		HanamiAsSystemBegin(&sys);
		/* a database still at 0.1.0 has no note column: the reason goes in error */
		HanamiSpiExec(HanamiInstalledVersion() < 200
					  ? "UPDATE hanami.job_queue SET state = 'succeeded', error = $2, "
					  "finished_at = pg_catalog.now() WHERE id = $1 AND state = 'running'"
					  : "UPDATE hanami.job_queue SET state = 'succeeded', "
					  "note = pg_catalog.concat_ws('; ', note, $2), "
					  "finished_at = pg_catalog.now() WHERE id = $1 AND state = 'running'",
					  2, types, vals);
		JobDropCheckpoint(job);
		HanamiAsSystemEnd(&sys);
		JobNotify(job, "succeeded");
	}
	HanamiWorkerTxEnd(tx);
	ereport(LOG, (errmsg("hanami job " INT64_FORMAT ": %s", job->id, note)));
}

/* queued or running -> failed or cancelled, as the system. */
static void
JobFail(Job *job, const char *state, const char *error)
{
	MemoryContext tx = HanamiWorkerTxBegin();

	{
		Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
		Datum		vals[3] = {Int64GetDatum(job->id), CStringGetTextDatum(state),
		CStringGetTextDatum(error ? error : "")};
		HanamiAsSystem sys;

		HanamiAsSystemBegin(&sys);
		HanamiSpiExec("UPDATE hanami.job_queue SET state = $2, error = NULLIF($3, ''), "
					  "finished_at = pg_catalog.now() "
					  "WHERE id = $1 AND state IN ('queued', 'running')", 3, types, vals);
		JobDropCheckpoint(job);
		HanamiAsSystemEnd(&sys);
		JobNotify(job, state);
	}
	HanamiWorkerTxEnd(tx);
}

/* Run one job from claim to its final state. */
static void
JobRun(int64 id, Oid login, Oid user, MemoryContext cxt)
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

		claimed = JobClaim(job, login, user, cxt);
		if (claimed)
		{
			JobLoad(job, cxt);
			memset(&cb, 0, sizeof(cb));
			cb.ctx = job;
			cb.interrupt = JobInterruptHook;
			cb.now = JobNowHook;
			cb.epoch_done = JobEpochHook;
			cb.stop = JobStopHook;
			if (job->checkpoints)
				cb.checkpoint = JobCheckpointHook;
			/* on the CPU or an OpenCL device, as options.device says */
			st = HanamiDeviceFit(&job->bound, &job->data.ds, job->opts.device,
								 &job->opts.train, &cb, &alloc, &res, &err);
			HanamiCheck(st, &err);
			if (res.stop == HANAMI_STOP_CALLBACK)
				JobFail(job, "cancelled", NULL);
			else
			{
				HnRows		rows = {&job->data.ds, NULL, 0, NULL};
				HanamiComparison cmp;
				char	   *report;

				memset(&eval, 0, sizeof(eval));
				st = HanamiEvaluate(&job->bound, &rows, NULL, &alloc, &eval, &err);
				HanamiCheck(st, &err);
				report = HanamiFitReport(&res, &eval, NULL);
				if (res.resumed_epoch > 0)
				{
					/* the metrics say the job resumed, and how exactly */
					report[strlen(report) - 1] = '\0';
					report = psprintf("%s, \"resumed_from_epoch\": %d, \"resume_rows_changed\": %s, "
									  "\"resume_exact\": %s}", report, res.resumed_epoch,
									  res.resume_rows_changed ? "true" : "false",
									  res.resume_inexact || res.resume_rows_changed ? "false" : "true");
				}
				if (res.resume_rows_changed || res.resume_inexact)
					JobNote(job, res.resume_rows_changed
							? "the rows differ from those read before the interruption: resumed anyway, the result is not that of an uninterrupted job"
							: "the device's optimizer state was not saved: resumed with a fresh one, the result is not that of an uninterrupted job");
				/* only_if_better: the head (job->net still) against the result */
				cmp.metric = NULL;
				if (job->opts.only_if_better != NULL)
				{
					HnNet		head;
					MemoryContext tx;

					HanamiNetworkBind(job->net, &head, ERRCODE_DATA_CORRUPTED);
					tx = HanamiWorkerTxBegin();
					HanamiCompareOnQuery(&head, &job->bound, job->opts.only_if_better,
										 &job->opts, &cmp);
					HanamiWorkerTxEnd(tx);
				}
				if (cmp.metric != NULL && !cmp.better)
					JobNoCommit(job, HanamiComparisonRefusal(&cmp));
				else
				{
					if (cmp.metric != NULL)
						report = HanamiComparisonReport(report, &cmp);
					/* the value stored: the image as the fit left it */
					job->net = MemoryContextAllocHuge(cxt, job->bound.len + VARHDRSZ);
					SET_VARSIZE(job->net, job->bound.len + VARHDRSZ);
					memcpy(HANAMI_NET_IMAGE(job->net), job->bound.hdr, job->bound.len);
					JobFinish(job, report);
				}
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
		JobFail(job, "failed", edata->message);
	}
	PG_END_TRY();
	/* no longer counted as a running job by the dispatcher it starts */
	pgstat_report_appname("hanami done");
}

/*
 * Entry point of a job worker: connect as the submitter's session role and
 * become its current_user, as the server recorded them.
 */
void
HanamiJobMain(Datum arg)
{
	JobWorkerArgs a;
	MemoryContext cxt;
	const char *refused = NULL;

	memcpy(&a, MyBgworkerEntry->bgw_extra, sizeof(a));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(a.db, a.login, 0);
	pgstat_report_appname("hanami idle");
	cxt = AllocSetContextCreate(TopMemoryContext, "hanami job", ALLOCSET_DEFAULT_SIZES);

	/* the session role may act as the submitter, as SET ROLE would require */
	StartTransactionCommand();
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(a.user)))
		refused = "the role that submitted it no longer exists";
	else if (!is_member_of_role(a.login, a.user))
		refused = "its session role is no longer a member of the role that submitted it";
	CommitTransactionCommand();

	if (refused)
	{
		Job		   *job = MemoryContextAllocZero(cxt, sizeof(Job));

		job->id = a.job;
		JobFail(job, "failed", refused);
	}
	else
	{
		/* for good: the job's code cannot change role, and runs restricted */
		SetUserIdAndSecContext(a.user, HANAMI_JOB_SEC_CONTEXT);
		/*
		 * Outside transactions allocate in the job's context, not in
		 * TopMemoryContext: what the engine or a device holds (and the
		 * callbacks that release it) goes with the context, error or not.
		 */
		MemoryContextSwitchTo(cxt);
		JobRun(a.job, a.login, a.user, cxt);
		MemoryContextSwitchTo(TopMemoryContext);
	}
	MemoryContextDelete(cxt);

	/* let the dispatcher start whatever waited for a free slot */
	HanamiLaunchDispatcher(a.db);
	proc_exit(0);
}

/*
 * Entry point of a dispatcher: as the bootstrap superuser, requeue jobs
 * whose worker vanished (they resume from their checkpoint) or fail them
 * after their last attempt (hanami.reap_jobs), fail jobs that could not be started
 * HANAMI_JOB_MAX_ATTEMPTS times, and start queued jobs up to
 * hanami.max_workers.  The identities it starts them with were recorded by
 * the server: ordinary roles cannot write the job table from 0.2.0 on, so a
 * database still at 0.1.0 gets no dispatching (its jobs start from their
 * submitting transaction only) until ALTER EXTENSION hanami UPDATE.
 */
void
HanamiDispatcherMain(Datum arg)
{
	JobWorkerArgs a;
	MemoryContext tx;

	memcpy(&a, MyBgworkerEntry->bgw_extra, sizeof(a));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(a.db, InvalidOid, 0);
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);

	/* interrupted jobs: requeued (committed before any is launched) or failed */
	tx = HanamiWorkerTxBegin();
	if (HanamiInstalledVersion() >= 0 &&
		HanamiSpiExec("SELECT 1 WHERE pg_catalog.to_regprocedure('hanami.reap_jobs()') IS NOT NULL",
					  0, NULL, NULL) == 1)
		HanamiSpiExec("SELECT hanami.reap_jobs()", 0, NULL, NULL);
	HanamiWorkerTxEnd(tx);

	tx = HanamiWorkerTxBegin();
	{
		int			version = HanamiInstalledVersion();
		bool		isnull;

		if (version >= 200)
		{
			Oid			types[2] = {INT4OID, INT4OID};
			Datum		vals[2] = {Int32GetDatum(hanami_max_workers), Int32GetDatum(HANAMI_JOB_MAX_ATTEMPTS)};
			uint64		n;
			List	   *jobs = NIL;
			ListCell   *lc;

			/*
			 * One dispatcher at a time (every finished job starts one): a
			 * second waits here, and its statements then see the attempts
			 * the first counted, so a job is never launched more often
			 * than HANAMI_JOB_MAX_ATTEMPTS times.
			 */
			HanamiSpiExec("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('hanami dispatch'))",
						  0, NULL, NULL);
			HanamiSpiExec("UPDATE hanami.job_queue j SET state = 'failed', finished_at = pg_catalog.now(), "
						  "error = 'its worker could not be started (' || j.attempts || ' attempts)' "
						  "WHERE j.state = 'queued' AND j.attempts >= $2", 2, types, vals);
			/*
			 * Fair between submitters: a job's rank is its place among its
			 * submitter's queued jobs plus the submitter's running jobs, so
			 * a submitter with fewer jobs running goes first; oldest first
			 * within a rank.
			 */
			n = HanamiSpiExec("SELECT j.id, j.login_role::oid, j.submitted_by::oid FROM hanami.job_queue j "
							  "WHERE j.state = 'queued' "
							  "ORDER BY pg_catalog.row_number() OVER (PARTITION BY j.submitted_by ORDER BY j.id) "
							  "  + (SELECT pg_catalog.count(*) FROM hanami.job_queue r "
							  "     WHERE r.submitted_by = j.submitted_by AND r.state = 'running'), j.id "
							  "LIMIT GREATEST(0, $1 - (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a "
							  "  WHERE a.backend_type = 'hanami training job' "
							  "    AND a.application_name IS DISTINCT FROM 'hanami done'))", 2, types, vals);
			for (uint64 i = 0; i < n; i++)
			{
				HeapTuple	t = SPI_tuptable->vals[i];
				TupleDesc	td = SPI_tuptable->tupdesc;
				int64		id = DatumGetInt64(SPI_getbinval(t, td, 1, &isnull));

				if (HanamiLaunchJobWorker(a.db,
										  DatumGetObjectId(SPI_getbinval(t, td, 2, &isnull)),
										  DatumGetObjectId(SPI_getbinval(t, td, 3, &isnull)),
										  id, false))
					jobs = lappend(jobs, psprintf(INT64_FORMAT, id));
			}
			/* each launch counts (a worker that finds no free slot gives it back) */
			foreach(lc, jobs)
			{
				Oid			t1[1] = {INT8OID};
				Datum		v1[1] = {DirectFunctionCall1(int8in, CStringGetDatum(lfirst(lc)))};

				HanamiSpiExec("UPDATE hanami.job_queue SET attempts = attempts + 1 WHERE id = $1", 1, t1, v1);
			}
		}
	}
	HanamiWorkerTxEnd(tx);
	proc_exit(0);
}
