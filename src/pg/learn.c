/*
 * learn.c - online learning from a stream: hanami.learn() and the learner,
 * a background worker per model that consumes the model's learning queue.
 *
 * learn() checks that the caller may learn into the model (a writer, or a
 * role a writer named with grant_learn), checks the sample's shape against
 * what enable_learning recorded, and inserts it into hanami.learn_queue as
 * the system: a plain insert in the caller's transaction, so a sample whose
 * transaction rolls back was never queued.  No model is loaded and nothing
 * is trained in the caller.
 *
 * The learner runs as the writer who enabled learning (the role the
 * learning row names, which its policy makes the role that wrote it; it
 * connects as that writer's session role, and the worker checks both
 * again), loads the branch head, trains the queued samples in queue order
 * (the fit driver, one epoch, no shuffle) and stores a commit every
 * commit_every samples or commit_interval seconds.  The transaction that
 * stores the commit also deletes the samples it learned: a sample is
 * either in a commit or still queued, so a crash loses nothing committed
 * and learns nothing twice.  The learner ends when the queue stays empty.
 *
 * Who starts it: two advisory locks per model (the locktag of an advisory
 * lock with a field of its own, so they never meet a user's).  RUNNING is
 * held in exclusive mode by the live learner for its whole life; INFLIGHT
 * is taken in share mode by every transaction that queued a sample, until
 * it ends.  The first learn() of a transaction for a model takes INFLIGHT
 * and tries RUNNING in share mode: when it gets it no learner runs, and one
 * is started when the transaction commits.  A learner about to end takes
 * INFLIGHT in exclusive mode without waiting (so it never holds up a
 * learn()), looks at the queue once more, and only then lets RUNNING go:
 * a sample queued by a transaction the learner had not seen keeps it alive
 * or starts the next one.
 */
#include "postgres.h"

#include <math.h>

#include "errors.h"
#include "network.h"
#include "options.h"
#include "dataset.h"
#include "training.h"
#include "device.h"
#include "jsonutil.h"
#include "jobs.h"

#include "core/checkpoint.h"
#include "core/online.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/wait_event.h"

PG_FUNCTION_INFO_V1(hanami_learn_class);
PG_FUNCTION_INFO_V1(hanami_learn_values);
PG_FUNCTION_INFO_V1(hanami_learning_wake);

PGDLLEXPORT void HanamiLearnerMain(Datum arg);

/* the advisory locktag field that marks the learner's locks */
#define LOCK_INFLIGHT	0x4C51	/* "LQ" */
#define LOCK_RUNNING	0x4C52	/* "LR" */
#define LOCK_FLUSH		0x4C46	/* "LF" */

/*
 * Rows the first fit waits for, unless a flush is asked or commit_interval
 * passes, when the network learns something from its rows first and its
 * kind cannot take it from running statistics: it is learned from them.
 * (A dense network's scaling follows running statistics instead.)
 */
#define LEARNER_FIRST_ROWS 256

/* how long a learner waits on an empty queue before it ends */
#define LEARNER_IDLE_SECONDS 1.0

static void
LearnLockTag(LOCKTAG *tag, int64 model_id, uint16 which)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) ((uint64) model_id >> 32),
						 (uint32) model_id, which);
}

/* ---------------------------------------------------------------------
 * learn()
 * --------------------------------------------------------------------- */

/* What learn() found for a ref, kept until the transaction ends. */
typedef struct LearnTarget
{
	char	   *ref;
	Oid			caller;
	int64		model_id;
	Oid			project;
	int			inputs;
	int			outputs;
	bool		classes;
} LearnTarget;

static List *learn_cache = NIL;		/* of LearnTarget, in TopTransactionContext */
static List *learn_launch = NIL;	/* JobWorkerArgs to start at commit, in TopMemoryContext */

/* learners this backend started lately: not again for a while */
#define LEARN_RELAUNCH_SECONDS 2.0
typedef struct LearnLaunched
{
	int64		model_id;
	double		at;
} LearnLaunched;
static LearnLaunched launched[16];

static double Now(void);

static bool
LaunchedLately(int64 model_id)
{
	double		now = Now();

	for (int i = 0; i < lengthof(launched); i++)
		if (launched[i].model_id == model_id && now - launched[i].at < LEARN_RELAUNCH_SECONDS)
			return true;
	return false;
}

static void
NoteLaunched(int64 model_id)
{
	int			oldest = 0;

	for (int i = 0; i < lengthof(launched); i++)
	{
		if (launched[i].model_id == model_id)
		{
			oldest = i;
			break;
		}
		if (launched[i].at < launched[oldest].at)
			oldest = i;
	}
	launched[oldest].model_id = model_id;
	launched[oldest].at = Now();
}
/* Register the learner of model a->job, as a->login and a->user. */
static bool
LaunchLearner(const JobWorkerArgs *a)
{
	char		name[BGW_MAXLEN];

	snprintf(name, sizeof(name), "hanami learner of model " INT64_FORMAT, a->job);
	return HanamiLaunchWorker("HanamiLearnerMain", "hanami learner", name, a);
}

static bool learn_callbacks = false;

static void
LearnXactCallback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_PRE_PREPARE && learn_launch != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot PREPARE a transaction that called hanami.learn")));
	if (event == XACT_EVENT_COMMIT)
	{
		ListCell   *lc;

		foreach(lc, learn_launch)
		{
			JobWorkerArgs *a = (JobWorkerArgs *) lfirst(lc);

			if (LaunchLearner(a))
				NoteLaunched(a->job);
			else
				ereport(WARNING,
						(errmsg("could not start the learner of hanami model " INT64_FORMAT, a->job),
						 errhint("The samples stay queued; the next hanami.learn() or flush_learning() starts it. Raise max_worker_processes.")));
		}
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		list_free_deep(learn_launch);
		learn_launch = NIL;
		learn_cache = NIL;		/* freed with the transaction */
	}
}

/* locks taken in an aborted subtransaction are gone: look again */
static void
LearnSubXactCallback(SubXactEvent event, SubTransactionId sub,
					 SubTransactionId parent, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		learn_cache = NIL;
}

/* Start the learner of a model at commit, as the role that enabled learning. */
static void
LearnLaunchAtCommit(int64 model_id, Oid login, Oid user)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	JobWorkerArgs *a = palloc(sizeof(JobWorkerArgs));
	ListCell   *lc;

	foreach(lc, learn_launch)
	{
		if (((JobWorkerArgs *) lfirst(lc))->job == model_id)
		{
			MemoryContextSwitchTo(old);
			pfree(a);
			return;
		}
	}
	a->db = MyDatabaseId;
	a->login = login;
	a->user = user;
	a->job = model_id;
	learn_launch = lappend(learn_launch, a);
	MemoryContextSwitchTo(old);
}

/*
 * Inside SPI, as the system: the learner's identity for a model (false when
 * learning is not enabled).
 */
static bool
LearnIdentity(int64 model_id, Oid *login, Oid *user)
{
	Oid			types[1] = {INT8OID};
	Datum		vals[1] = {Int64GetDatum(model_id)};
	bool		isnull;

	if (HanamiSpiExec("SELECT l.login_role::pg_catalog.oid, l.enabled_by::pg_catalog.oid "
					  "FROM hanami.learning l WHERE l.model_id OPERATOR(pg_catalog.=) $1",
					  1, types, vals) != 1)
		return false;
	*login = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*user = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	return true;
}

/*
 * The model ref names, for the caller: one whose learning is enabled and
 * that the caller may learn into (a writer of it, or a member of a role
 * granted learn).  Anything else is an error that tells a role nothing
 * about models it cannot see.
 */
static LearnTarget *
LearnResolve(const char *ref)
{
	Oid			caller = GetUserId();
	ListCell   *lc;
	LearnTarget *t;
	HanamiAsSystem sys;
	uint64		n;
	bool		isnull;
	MemoryContext old;
	Oid			login = InvalidOid,
				user = InvalidOid;

	foreach(lc, learn_cache)
	{
		t = (LearnTarget *) lfirst(lc);
		if (t->caller == caller && strcmp(t->ref, ref) == 0)
			return t;
	}
	if (strchr(ref, '#') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot learn into a commit"),
				 errhint("Name the model (or model@branch) learning was enabled for.")));

	SPI_connect();
	HanamiAsSystemBegin(&sys);
	{
		Oid			types[2] = {TEXTOID, OIDOID};
		Datum		vals[2] = {CStringGetTextDatum(ref), ObjectIdGetDatum(caller)};

		/*
		 * [project/]model[@branch]; the caller's rights as pg_has_role
		 * reports them for the caller (the statement runs as the system).
		 */
		n = HanamiSpiExec(
			"WITH p AS (SELECT pg_catalog.split_part($1, '@', 1) AS name_part, "
			"                  NULLIF(pg_catalog.split_part($1, '@', 2), '') AS branch), "
			"q AS (SELECT CASE WHEN pg_catalog.strpos(p.name_part, '/') OPERATOR(pg_catalog.>) 0 "
			"                  THEN pg_catalog.split_part(p.name_part, '/', 1) END AS proj, "
			"             CASE WHEN pg_catalog.strpos(p.name_part, '/') OPERATOR(pg_catalog.>) 0 "
			"                  THEN pg_catalog.substr(p.name_part, pg_catalog.strpos(p.name_part, '/') OPERATOR(pg_catalog.+) 1) "
			"                  ELSE p.name_part END AS model, p.branch FROM p) "
			"SELECT l.model_id, l.project::pg_catalog.oid, l.inputs, l.outputs, "
			"       l.targets OPERATOR(pg_catalog.=) 'classes', l.login_role::pg_catalog.oid, "
			"       l.enabled_by::pg_catalog.oid, l.branch OPERATOR(pg_catalog.=) COALESCE(q.branch, l.branch) "
			"FROM q, hanami.model_catalog m "
			"JOIN hanami.learning l ON l.model_id OPERATOR(pg_catalog.=) m.id "
			"JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) m.project "
			"WHERE m.name OPERATOR(pg_catalog.=) q.model "
			"  AND (q.proj IS NULL OR r.rolname OPERATOR(pg_catalog.=) q.proj) "
			"  AND ((m.owner::pg_catalog.oid OPERATOR(pg_catalog.=) $2 "
			"        AND pg_catalog.pg_has_role($2, m.project::pg_catalog.oid, 'USAGE')) "
			"       OR pg_catalog.pg_has_role($2, m.project::pg_catalog.oid, 'USAGE WITH ADMIN OPTION') "
			"       OR pg_catalog.pg_has_role($2, 'hanami_admin', 'USAGE') "
			"       OR EXISTS (SELECT 1 FROM hanami.learn_grants g "
			"                  WHERE g.model_id OPERATOR(pg_catalog.=) m.id "
			"                    AND pg_catalog.pg_has_role($2, g.grantee::pg_catalog.oid, 'USAGE')))",
			2, types, vals);
	}
	HanamiAsSystemEnd(&sys);
	if (n > 1)
		ereport(ERROR,
				(errcode(ERRCODE_AMBIGUOUS_ALIAS),
				 errmsg("model name \"%s\" is ambiguous", ref),
				 errhint("Qualify it with its project: project/model.")));
	if (n == 0)
	{
		/*
		 * Say more only to those who may see the model: the same lookup as
		 * the caller (row-level security applies) decides which message.
		 */
		Oid			types[1] = {TEXTOID};
		Datum		vals[1] = {CStringGetTextDatum(ref)};
		bool		writer = false;
		bool		found;
		char	   *bare = pstrdup(ref);

		if (strchr(bare, '@'))
			*strchr(bare, '@') = '\0';
		vals[0] = CStringGetTextDatum(bare);
		found = HanamiSpiExec("SELECT hanami.can_write(r.project, r.owner) FROM hanami.resolve($1) r",
							  1, types, vals) == 1;
		if (found)
			writer = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (writer)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("learning is not enabled for model \"%s\"", ref),
					 errhint("Enable it with hanami.enable_learning().")));
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to learn into model \"%s\"", ref),
				 errdetail("Its writers may learn into it, and the roles they granted learn with hanami.grant_learn().")));
	}
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 8, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("learning of model \"%s\" is enabled for another branch", ref),
				 errhint("Learn into the branch enable_learning named, or enable learning for this one.")));

	old = MemoryContextSwitchTo(TopTransactionContext);
	t = palloc0(sizeof(LearnTarget));
	t->ref = pstrdup(ref);
	t->caller = caller;
	t->model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	t->project = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	t->inputs = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	t->outputs = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
	t->classes = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull));
	login = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6, &isnull));
	user = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 7, &isnull));
	learn_cache = lappend(learn_cache, t);
	MemoryContextSwitchTo(old);
	SPI_finish();

	if (!learn_callbacks)
	{
		RegisterXactCallback(LearnXactCallback, NULL);
		RegisterSubXactCallback(LearnSubXactCallback, NULL);
		learn_callbacks = true;
	}
	/* this transaction queues samples; is a learner running? */
	{
		LOCKTAG		tag;

		LearnLockTag(&tag, t->model_id, LOCK_INFLIGHT);
		(void) LockAcquire(&tag, ShareLock, false, false);
		LearnLockTag(&tag, t->model_id, LOCK_RUNNING);
		/* one started by this backend lately keeps going until it sees our samples */
		if (!LaunchedLately(t->model_id) &&
			LockAcquire(&tag, ShareLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
			LearnLaunchAtCommit(t->model_id, login, user);
	}
	return t;
}

/* A float4[] argument as n values, checked: one dimension, no NULLs, finite. */
static float *
LearnArray(ArrayType *a, const char *what, int want, int *n)
{
	Datum	   *d;
	bool	   *nulls;
	float	   *v;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must have one dimension", what)));
	deconstruct_array(a, FLOAT4OID, 4, true, TYPALIGN_INT, &d, &nulls, n);
	if (*n != want)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s has %d values; the model takes %d", what, *n, want)));
	v = palloc(sizeof(float) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s has a NULL at position %d", what, i + 1)));
		v[i] = DatumGetFloat4(d[i]);
		if (isnan(v[i]) || isinf(v[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s has a value that is not finite at position %d", what, i + 1)));
	}
	return v;
}

static void
LearnQueue(FunctionCallInfo fcinfo, bool classes)
{
	char	   *ref;
	LearnTarget *t;
	int			n;
	HanamiAsSystem sys;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("model reference must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("input must not be null")));
	if (PG_ARGISNULL(2))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("target must not be null")));
	ref = text_to_cstring(PG_GETARG_TEXT_PP(0));
	t = LearnResolve(ref);
	(void) LearnArray(PG_GETARG_ARRAYTYPE_P(1), "input", t->inputs, &n);
	if (classes != t->classes)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("model \"%s\" learns %s, not %s", ref,
						t->classes ? "classes" : "target values",
						t->classes ? "target values" : "classes"),
				 errhint(t->classes ? "Pass the class as an integer, or enable learning with {\"targets\": \"values\"}."
						 : "Pass the targets as real[], or enable learning with {\"targets\": \"classes\"}.")));
	if (classes)
	{
		int32		c = PG_GETARG_INT32(2);

		if (c < 0 || (t->outputs > 1 && c >= t->outputs) || (t->outputs == 1 && c > 1))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("class %d is out of range for model \"%s\" (0 to %d)", c, ref,
							t->outputs > 1 ? t->outputs - 1 : 1)));
	}
	else
		(void) LearnArray(PG_GETARG_ARRAYTYPE_P(2), "target", t->outputs, &n);

	SPI_connect();
	HanamiAsSystemBegin(&sys);
	{
		Oid			types[5] = {INT8OID, OIDOID, FLOAT4ARRAYOID, INT4OID, FLOAT4ARRAYOID};
		Datum		vals[5];
		char		nulls[5] = {' ', ' ', ' ', classes ? ' ' : 'n', classes ? 'n' : ' '};
		Oid			t6[6] = {INT8OID, OIDOID, FLOAT4ARRAYOID, INT4OID, FLOAT4ARRAYOID, OIDOID};
		Datum		v6[6];
		char		n6[6];
		int			rc;

		vals[0] = Int64GetDatum(t->model_id);
		vals[1] = ObjectIdGetDatum(t->project);
		vals[2] = PG_GETARG_DATUM(1);
		vals[3] = classes ? PG_GETARG_DATUM(2) : (Datum) 0;
		vals[4] = classes ? (Datum) 0 : PG_GETARG_DATUM(2);
		memcpy(v6, vals, sizeof(vals));
		v6[5] = ObjectIdGetDatum(t->caller);
		memcpy(n6, nulls, sizeof(nulls));
		n6[5] = ' ';
		rc = SPI_execute_with_args("INSERT INTO hanami.learn_queue (model_id, project, input, class, target, queued_by) "
								   "VALUES ($1, $2::pg_catalog.regrole, $3, $4, $5, $6::pg_catalog.regrole)",
								   6, t6, v6, n6, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "could not queue the sample: %s", SPI_result_code_string(rc));
		(void) types;
	}
	HanamiAsSystemEnd(&sys);
	SPI_finish();
}

Datum
hanami_learn_class(PG_FUNCTION_ARGS)
{
	LearnQueue(fcinfo, true);
	PG_RETURN_VOID();
}

Datum
hanami_learn_values(PG_FUNCTION_ARGS)
{
	LearnQueue(fcinfo, false);
	PG_RETURN_VOID();
}

/*
 * learning_wake(model_id, flush): for a writer of the model, start its
 * learner now unless one runs, and with flush ask it to commit as soon as
 * the queue is consumed.
 */
Datum
hanami_learning_wake(PG_FUNCTION_ARGS)
{
	int64		model_id = PG_GETARG_INT64(0);
	bool		flush = PG_GETARG_BOOL(1);
	Oid			types[1] = {INT8OID};
	Datum		vals[1] = {Int64GetDatum(model_id)};
	bool		isnull;
	bool		ok;
	Oid			login,
				user;
	HanamiAsSystem sys;
	LOCKTAG		tag;

	SPI_connect();
	ok = HanamiSpiExec("SELECT hanami.can_write_model($1)", 1, types, vals) == 1 &&
		DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for model " INT64_FORMAT, model_id)));
	HanamiAsSystemBegin(&sys);
	ok = LearnIdentity(model_id, &login, &user);
	HanamiAsSystemEnd(&sys);
	SPI_finish();
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("learning is not enabled for model " INT64_FORMAT, model_id)));

	/*
	 * A flush is a lock the learner sees at once (a flag written here would
	 * wait for this transaction's end): held from the first call with flush
	 * until one without, or the end of the transaction.
	 */
	LearnLockTag(&tag, model_id, LOCK_FLUSH);
	if (flush)
	{
		if (!LockHeldByMe(&tag, ShareLock))
			(void) LockAcquire(&tag, ShareLock, false, false);
	}
	else
	{
		if (LockHeldByMe(&tag, ShareLock))
			LockRelease(&tag, ShareLock, false);
		PG_RETURN_VOID();
	}

	LearnLockTag(&tag, model_id, LOCK_RUNNING);
	if (LockAcquire(&tag, ShareLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
	{
		JobWorkerArgs a = {MyDatabaseId, login, user, model_id};

		LockRelease(&tag, ShareLock, false);
		if (!LaunchLearner(&a))
			ereport(WARNING,
					(errmsg("could not start the learner of hanami model " INT64_FORMAT, model_id)));
	}
	PG_RETURN_VOID();
}

/* ---------------------------------------------------------------------
 * The learner
 * --------------------------------------------------------------------- */

typedef struct Learner
{
	int64		model_id;
	Oid			login;
	Oid			user;
	char	   *model;			/* name, for messages */
	char	   *branch;
	char	   *options;		/* the fit's options, as enable_learning recorded them */
	int			commit_every;
	double		commit_interval;
	bool		classes;
	bool		flush;
	/* the network learning, and the commit it started from */
	HanamiNetwork *net;
	HnNet		bound;
	HanamiOptions opts;
	int64		parent;
	/* learned since the last commit */
	int64		pending;
	int64	   *ids;
	int64		ids_cap;
	int64		last_fetched;
	int			first_rows;		/* rows the first fit waits for, or 0 */
	/* kept between commits (online.h), in netcxt */
	bool		running;		/* scaling from running statistics */
	HnColumnStats in_stats;
	HnColumnStats out_stats;
	void	   *stepper;		/* the optimizer's state, carried */
	size_t		stepper_len;
	uint64		options_hash;
	double		loaded_at;
	double		loss_sum;
	double		last_commit_at;
	MemoryContext cxt;			/* the learner's */
	MemoryContext netcxt;		/* the network's and options' (reset on reload) */
} Learner;

static double
Now(void)
{
	instr_time	t;

	INSTR_TIME_SET_CURRENT(t);
	return INSTR_TIME_GET_DOUBLE(t);
}

/*
 * As the system: the learning row, which must still name this learner's
 * identity.  False when learning was disabled or re-enabled by another role.
 */
static bool
LearnerSettings(Learner *l)
{
	bool		ok = false;
	MemoryContext tx = HanamiWorkerTxBegin();
	HanamiAsSystem sys;

	HanamiAsSystemBegin(&sys);
	{
		Oid			types[1] = {INT8OID};
		Datum		vals[1] = {Int64GetDatum(l->model_id)};
		bool		isnull;

		if (HanamiSpiExec("SELECT l.login_role::oid, l.enabled_by::oid, l.branch, l.options::text, "
						  "l.commit_every, l.commit_interval, l.targets = 'classes', m.name "
						  "FROM hanami.learning l JOIN hanami.model_catalog m ON m.id = l.model_id "
						  "WHERE l.model_id = $1", 1, types, vals) == 1)
		{
			HeapTuple	t = SPI_tuptable->vals[0];
			TupleDesc	td = SPI_tuptable->tupdesc;
			char	   *branch = SPI_getvalue(t, td, 3);
			char	   *options = SPI_getvalue(t, td, 4);

			ok = DatumGetObjectId(SPI_getbinval(t, td, 1, &isnull)) == l->login &&
				DatumGetObjectId(SPI_getbinval(t, td, 2, &isnull)) == l->user;
			if (ok && l->net != NULL &&
				(strcmp(branch, l->branch) != 0 || strcmp(options, l->options) != 0 ||
				 DatumGetBool(SPI_getbinval(t, td, 7, &isnull)) != l->classes))
				ok = false;		/* re-enabled with other settings: start again */
			if (ok)
			{
				if (l->branch == NULL)
				{
					l->branch = MemoryContextStrdup(l->cxt, branch);
					l->options = MemoryContextStrdup(l->cxt, options);
					l->model = MemoryContextStrdup(l->cxt, SPI_getvalue(t, td, 8));
					l->classes = DatumGetBool(SPI_getbinval(t, td, 7, &isnull));
				}
				l->commit_every = DatumGetInt32(SPI_getbinval(t, td, 5, &isnull));
				l->commit_interval = DatumGetFloat8(SPI_getbinval(t, td, 6, &isnull));
			}
		}
	}
	HanamiAsSystemEnd(&sys);
	HanamiWorkerTxEnd(tx);
	/* a flush_learning() waits? */
	{
		LOCKTAG		tag;

		LearnLockTag(&tag, l->model_id, LOCK_FLUSH);
		l->flush = LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL;
		if (!l->flush)
			LockRelease(&tag, ExclusiveLock, true);
	}
	return ok;
}

/*
 * What the learner kept at its last commit (online.h), when that commit is
 * still the branch head and learning has the same options: the running
 * statistics and the optimizer's state continue.  Otherwise they start
 * afresh: running statistics when the network learns something from its
 * rows first (a dense network without scaling yet) and its kind can take
 * it from them; for a kind that cannot, the first fit waits for enough
 * rows to learn it from.
 */
static void
LearnerState(Learner *l)
{
	HnError		err;
	const HnKindFit *kf = HnKindFitOf(&l->bound, "train", &err);
	HnAllocator alloc = HanamiPallocAllocator(l->netcxt);
	HnOnlineState kept;
	bool		have = false;
	void	   *prep = NULL;

	l->options_hash = HnHash64(l->options, strlen(l->options), l->classes);
	l->first_rows = 0;
	l->running = false;
	l->stepper = NULL;
	l->stepper_len = 0;
	memset(&l->in_stats, 0, sizeof(l->in_stats));
	memset(&l->out_stats, 0, sizeof(l->out_stats));
	{
		HanamiAsSystem sys;
		Oid			types[1] = {INT8OID};
		Datum		vals[1] = {Int64GetDatum(l->model_id)};
		bool		isnull;

		HanamiAsSystemBegin(&sys);
		if (HanamiSpiExec("SELECT state FROM hanami.learning WHERE model_id = $1 AND state IS NOT NULL",
						  1, types, vals) == 1)
		{
			bytea	   *b = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

			have = HnOnlineRead(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), &kept, &alloc, &err) == HANAMI_OK &&
				kept.commit == (uint64) l->parent && kept.options_hash == l->options_hash;
		}
		HanamiAsSystemEnd(&sys);
	}
	if (have)
	{
		if (kept.in.n > 0 && kf != NULL && kf->running_scaling != NULL)
		{
			l->running = true;
			l->in_stats = kept.in;
			l->out_stats = kept.out;
		}
		if (kept.stepper != NULL)
		{
			l->stepper = MemoryContextAlloc(l->netcxt, kept.stepper_len);
			memcpy(l->stepper, kept.stepper, kept.stepper_len);
			l->stepper_len = kept.stepper_len;
		}
		return;
	}
	if (kf == NULL || kf->prepare_begin == NULL ||
		kf->prepare_begin(&l->bound, &l->opts.train, !l->classes, true, &alloc, &prep, &err) != HANAMI_OK ||
		prep == NULL)
		return;
	kf->prepare_discard(prep);
	if (kf->running_scaling == NULL)
	{
		l->first_rows = LEARNER_FIRST_ROWS;
		return;
	}
	l->running = true;
	if (StatsInit(&l->in_stats, l->bound.hdr->n_inputs, &alloc, &err) != HANAMI_OK ||
		(!l->classes && StatsInit(&l->out_stats, l->bound.hdr->n_outputs, &alloc, &err) != HANAMI_OK))
		HanamiCheck(err.code, &err);
}

/* As the writer: the branch head and the fit's options. */
static void
LearnerLoad(Learner *l)
{
	MemoryContext tx = HanamiWorkerTxBegin();
	MemoryContext old;

	MemoryContextReset(l->netcxt);
	l->net = HanamiLoadBranchHead(l->model_id, l->branch, l->model, l->netcxt,
								  &l->parent, &l->bound);
	old = MemoryContextSwitchTo(l->netcxt);
	{
		char	   *o = psprintf("%s", l->options);
		char	   *end = strrchr(o, '}');

		/* one pass, in queue order */
		if (end)
			*end = '\0';
		o = psprintf("%s%s\"epochs\": 1, \"shuffle\": false}", o,
					 strcmp(o, "{") == 0 ? "" : ", ");
		HanamiParseJobOptions(HanamiJsonbFromCString(o), &l->bound, &l->opts);
	}
	LearnerState(l);
	MemoryContextSwitchTo(old);
	HanamiWorkerTxEnd(tx);
	l->pending = 0;
	l->loss_sum = 0;
	l->last_fetched = 0;
	l->last_commit_at = Now();
	l->loaded_at = l->last_commit_at;
}

/* Keep the optimizer's state for the next batch (HnCallbacks.stepper_state). */
static void
LearnerKeepStepper(void *ctx, const void *state, size_t len)
{
	Learner    *l = ctx;
	void	   *keep = MemoryContextAllocHuge(l->netcxt, len);

	memcpy(keep, state, len);
	if (l->stepper != NULL)
		pfree(l->stepper);
	l->stepper = keep;
	l->stepper_len = len;
}

/*
 * The running statistics take in a batch's rows before it is trained, and
 * the network's scaling follows them (HnKindFit.running_scaling).
 */
static void
LearnerRunningScaling(Learner *l, const HnDataset *ds)
{
	HnError		err;
	const HnKindFit *kf = HnKindFitOf(&l->bound, "train", &err);

	for (int64 r = 0; r < ds->n; r++)
	{
		StatsAdd(&l->in_stats, ds->x + (size_t) r * ds->n_features);
		if (l->out_stats.n > 0 && ds->y != NULL)
			StatsAdd(&l->out_stats, ds->y + (size_t) r * ds->n_outputs);
	}
	kf->running_scaling(&l->bound, &l->in_stats,
						l->out_stats.n > 0 ? &l->out_stats : NULL);
}

static bool
LearnerInterrupt(void *ctx)
{
	CHECK_FOR_INTERRUPTS();
	return false;
}

/*
 * As the writer: the next batch of queued samples after the last fetched
 * (in id order), trained at once.  Returns how many.
 */
static int64
LearnerStep(Learner *l)
{
	MemoryContext tx;
	HanamiQueryData data;
	int64		n = 0;
	int64	   *ids = NULL;
	int			want = (int) Max(Max(1, l->first_rows), Min(l->commit_every - l->pending, 4096));
	StringInfoData list;
	MemoryContext scratch = AllocSetContextCreate(l->cxt, "hanami learner batch", ALLOCSET_DEFAULT_SIZES);

	memset(&data, 0, sizeof(data));
	tx = HanamiWorkerTxBegin();
	{
		Oid			types[3] = {INT8OID, INT8OID, INT4OID};
		Datum		vals[3] = {Int64GetDatum(l->model_id), Int64GetDatum(l->last_fetched), Int32GetDatum(want)};
		bool		isnull;

		n = (int64) HanamiSpiExec("SELECT q.id FROM hanami.learn_queue q "
								  "WHERE q.model_id OPERATOR(pg_catalog.=) $1 AND q.id OPERATOR(pg_catalog.>) $2 "
								  "ORDER BY q.id LIMIT $3", 3, types, vals);
		/* a first fit that learns scaling waits for enough rows */
		if (n > 0 && n < l->first_rows && !l->flush && Now() - l->loaded_at < l->commit_interval)
			n = 0;
		if (n > 0)
		{
			MemoryContext old = MemoryContextSwitchTo(scratch);

			/* the load sees at least what the ids were read from */
			PopActiveSnapshot();
			PushActiveSnapshot(GetTransactionSnapshot());
			ids = palloc(sizeof(int64) * n);
			initStringInfo(&list);
			for (int64 i = 0; i < n; i++)
			{
				ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
				appendStringInfo(&list, "%s" INT64_FORMAT, i ? "," : "", ids[i]);
			}
			HanamiLoadQuery(psprintf("SELECT q.input, %s FROM hanami.learn_queue q "
									 "WHERE q.model_id OPERATOR(pg_catalog.=) " INT64_FORMAT
									 " AND q.id OPERATOR(pg_catalog.=) ANY ('{%s}'::pg_catalog.int8[]) ORDER BY q.id",
									 l->classes ? "q.class" : "q.target", l->model_id, list.data),
							NULL, &l->bound, &data);
			MemoryContextSwitchTo(old);
			if (data.ds.n != n)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("queued samples of model \"%s\" vanished while the learner read them", l->model)));
		}
	}
	HanamiWorkerTxEnd(tx);
	if (n > 0)
	{
		HnCallbacks cb;
		HnTrainResult res;
		HnAllocator alloc = HanamiPallocAllocator(l->netcxt);
		HnError		err;
		HnStatus	st;

		HanamiInitCallbacks(&cb, false);
		cb.interrupt = LearnerInterrupt;
		cb.ctx = l;
		cb.stepper_state = LearnerKeepStepper;
		memset(&res, 0, sizeof(res));
		if (l->running)
			LearnerRunningScaling(l, &data.ds);
		l->opts.train.stepper_state = l->stepper;
		l->opts.train.stepper_state_len = l->stepper_len;
		st = HanamiDeviceFit(&l->bound, &data.ds, "cpu", &l->opts.train, &cb, &alloc, &res, &err);
		HanamiCheck(st, &err);
		if (l->pending + n > l->ids_cap)
		{
			l->ids_cap = Max(l->ids_cap * 2, l->pending + n + 64);
			l->ids = l->ids ? repalloc_huge(l->ids, sizeof(int64) * l->ids_cap)
				: MemoryContextAllocHuge(l->cxt, sizeof(int64) * l->ids_cap);
		}
		memcpy(l->ids + l->pending, ids, sizeof(int64) * n);
		l->first_rows = 0;
		l->pending += n;
		l->last_fetched = ids[n - 1];
		if (isfinite(res.loss))
			l->loss_sum += res.loss * n;
	}
	MemoryContextDelete(scratch);
	return n;
}

/*
 * As the system, in the transaction of commit cid: what goes on from it
 * (online.h) into the learning row.
 */
static void
LearnerSaveState(Learner *l, int64 cid)
{
	HnOnlineState kept;
	size_t		len;
	bytea	   *b;
	Oid			types[2] = {INT8OID, BYTEAOID};
	Datum		vals[2];

	memset(&kept, 0, sizeof(kept));
	kept.commit = (uint64) cid;
	kept.options_hash = l->options_hash;
	if (l->running)
	{
		kept.in = l->in_stats;
		kept.out = l->out_stats;
	}
	kept.stepper = l->stepper;
	kept.stepper_len = l->stepper_len;
	len = HnOnlineSize(&kept);
	b = palloc_extended(len + VARHDRSZ, MCXT_ALLOC_HUGE);
	SET_VARSIZE(b, len + VARHDRSZ);
	HnOnlineWrite(&kept, VARDATA(b), len);
	vals[0] = Int64GetDatum(l->model_id);
	vals[1] = PointerGetDatum(b);
	HanamiSpiExec("UPDATE hanami.learning SET state = $2 WHERE model_id = $1", 2, types, vals);
}

/*
 * Store what was learned as a commit, as the writer, and in the same
 * transaction delete the samples it learned (as the system).  When the
 * branch moved meanwhile, the learned steps are dropped and learning starts
 * again from the new head (the samples are still queued).
 */
static void
LearnerCommit(Learner *l)
{
	MemoryContext tx = HanamiWorkerTxBegin();
	bool		moved = false;

	{
		Oid			types[6] = {INT8OID, TEXTOID, INT8OID, BYTEAOID, TEXTOID, TEXTOID};
		Datum		vals[6];
		bool		isnull;
		int64		head,
					cid;
		HanamiNetwork *v;
		ArrayType  *arr;
		Datum	   *elems = palloc(sizeof(Datum) * l->pending);
		HanamiAsSystem sys;
		int64		first = l->ids[0],
					last = l->ids[0];

		for (int64 i = 0; i < l->pending; i++)
		{
			elems[i] = Int64GetDatum(l->ids[i]);
			first = Min(first, l->ids[i]);
			last = Max(last, l->ids[i]);
		}
		vals[0] = Int64GetDatum(l->model_id);
		vals[1] = CStringGetTextDatum(l->branch);
		if (HanamiSpiExec("SELECT head FROM hanami.branches WHERE model_id = $1 AND name = $2 FOR UPDATE",
						  2, types, vals) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("branch \"%s\" of model \"%s\" no longer exists", l->branch, l->model)));
		head = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (head != l->parent)
			moved = true;
		else
		{
			v = palloc_extended(l->bound.len + VARHDRSZ, MCXT_ALLOC_HUGE);
			SET_VARSIZE(v, l->bound.len + VARHDRSZ);
			memcpy(HANAMI_NET_IMAGE(v), l->bound.hdr, l->bound.len);
			vals[2] = Int64GetDatum(l->parent);
			vals[3] = PointerGetDatum(v);
			vals[4] = CStringGetTextDatum(psprintf("learn: " INT64_FORMAT " sample%s", l->pending,
												   l->pending == 1 ? "" : "s"));
			vals[5] = CStringGetTextDatum(psprintf("{\"learned\": " INT64_FORMAT ", \"first_sample\": " INT64_FORMAT
												   ", \"last_sample\": " INT64_FORMAT ", \"loss\": %.17g}",
												   l->pending, first, last,
												   l->pending > 0 ? l->loss_sum / l->pending : 0.0));
			HanamiSpiExec("SELECT hanami.commit_network($1, $2, $3, $4::hanami.network, $5, $6::pg_catalog.jsonb)",
						  6, types, vals);
			cid = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			arr = construct_array(elems, (int) l->pending, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
			HanamiAsSystemBegin(&sys);
			{
				Oid			t4[4] = {INT8OID, INT8ARRAYOID, INT8OID, INT8OID};
				Datum		v4[4] = {Int64GetDatum(l->model_id), PointerGetDatum(arr),
				Int64GetDatum(cid), Int64GetDatum(l->pending)};

				if (HanamiSpiExec("DELETE FROM hanami.learn_queue WHERE model_id = $1 AND id = ANY ($2)",
								  2, t4, v4) != (uint64) l->pending)
					ereport(ERROR,
							(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
							 errmsg("samples learned by the learner of model \"%s\" are no longer queued", l->model)));
				HanamiSpiExec("UPDATE hanami.learning SET learned = learned + $4, last_commit = $3, "
							  "committed_at = pg_catalog.now(), error = NULL WHERE model_id = $1",
							  4, t4, v4);
				LearnerSaveState(l, cid);
			}
			HanamiAsSystemEnd(&sys);
			l->parent = cid;
		}
	}
	HanamiWorkerTxEnd(tx);
	if (moved)
	{
		ereport(LOG,
				(errmsg("hanami learner of model \"%s\": branch \"%s\" moved; learning again from its new head",
						l->model, l->branch)));
		LearnerLoad(l);
		return;
	}
	l->pending = 0;
	l->loss_sum = 0;
	l->last_fetched = 0;
	l->last_commit_at = Now();
}

/* Is anything queued for the model (committed)? */
static bool
LearnerQueued(Learner *l, int64 after)
{
	bool		any;
	MemoryContext tx = HanamiWorkerTxBegin();
	HanamiAsSystem sys;
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		vals[2] = {Int64GetDatum(l->model_id), Int64GetDatum(after)};

	HanamiAsSystemBegin(&sys);
	any = HanamiSpiExec("SELECT 1 FROM hanami.learn_queue WHERE model_id = $1 AND id > $2 LIMIT 1",
						2, types, vals) > 0;
	HanamiAsSystemEnd(&sys);
	HanamiWorkerTxEnd(tx);
	return any;
}

/* Record the learner's error for the model's writers, as the system. */
static void
LearnerRecordError(int64 model_id, const char *msg)
{
	MemoryContext tx = HanamiWorkerTxBegin();
	HanamiAsSystem sys;
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		vals[2] = {Int64GetDatum(model_id), CStringGetTextDatum(msg)};

	HanamiAsSystemBegin(&sys);
	HanamiSpiExec("UPDATE hanami.learning SET error = $2 WHERE model_id = $1",
				  2, types, vals);
	HanamiAsSystemEnd(&sys);
	HanamiWorkerTxEnd(tx);
}

static void
LearnerLoop(Learner *l)
{
	double		idle_since = 0;
	LOCKTAG		inflight;
	int64		n;

	LearnLockTag(&inflight, l->model_id, LOCK_INFLIGHT);
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (!LearnerSettings(l))
			return;				/* disabled: what was not committed stays queued */
		if (l->net == NULL)
			LearnerLoad(l);
		n = LearnerStep(l);
		if (l->pending > 0 &&
			(l->pending >= l->commit_every ||
			 Now() - l->last_commit_at >= l->commit_interval ||
			 (l->flush && n == 0)))
			LearnerCommit(l);
		if (n > 0)
		{
			idle_since = 0;
			continue;
		}
		/* nothing new after the last fetched: samples committed late (lower ids) wait for the commit */
		if (l->flush && l->pending == 0 && LearnerQueued(l, 0))
			continue;
		if (idle_since == 0)
			idle_since = Now();
		if (l->pending == 0 && Now() - idle_since >= LEARNER_IDLE_SECONDS)
		{
			/* end, unless a transaction that queued samples is still open */
			if (LockAcquire(&inflight, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL)
			{
				bool		more = LearnerQueued(l, 0);

				if (!more)
					return;		/* with INFLIGHT held: RUNNING goes first */
				LockRelease(&inflight, ExclusiveLock, true);
				idle_since = 0;
				continue;
			}
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 50,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * A learner slot: at most hanami.max_learners learners run at once, and one
 * session role's at most half of them (at least one), so one tenant's
 * streams cannot take every worker slot from the others' learners and jobs.
 * Counted and taken (the application name that marks a running learner) under
 * one advisory lock, as the system.  false: no slot now; the samples stay
 * queued and the next learn() or flush_learning() starts a learner again.
 */
static bool
LearnerClaimSlot(const JobWorkerArgs *a)
{
	bool		ok;
	MemoryContext tx = HanamiWorkerTxBegin();
	HanamiAsSystem sys;

	HanamiAsSystemBegin(&sys);
	{
		Oid			types[3] = {INT4OID, INT4OID, OIDOID};
		Datum		vals[3] = {Int32GetDatum(hanami_max_learners),
		Int32GetDatum(Max(1, hanami_max_learners / 2)), ObjectIdGetDatum(a->login)};
		bool		isnull;

		HanamiSpiExec("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('hanami learner claim'))",
					  0, NULL, NULL);
		HanamiSpiExec("SELECT pg_catalog.count(*) < $1 AND pg_catalog.count(*) FILTER (WHERE a.usesysid = $3) < $2 "
					  "FROM pg_catalog.pg_stat_activity a WHERE a.backend_type = 'hanami learner' "
					  "AND a.application_name LIKE 'hanami learner %' "
					  "AND a.application_name <> 'hanami learner starting' "
					  "AND a.pid <> pg_catalog.pg_backend_pid()", 3, types, vals);
		ok = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (ok)
			pgstat_report_appname(psprintf("hanami learner " INT64_FORMAT, a->job));
	}
	HanamiAsSystemEnd(&sys);
	HanamiWorkerTxEnd(tx);
	if (!ok)
		ereport(LOG,
				(errmsg("hanami learner of model " INT64_FORMAT " not started: hanami.max_learners learners run already",
						a->job),
				 errdetail("Its samples stay queued; the next hanami.learn() or flush_learning() tries again.")));
	return ok;
}

void
HanamiLearnerMain(Datum arg)
{
	JobWorkerArgs a;
	Learner    *l;
	MemoryContext cxt;
	LOCKTAG		running,
				inflight;
	const char *refused = NULL;
	double		start;
	bool		got = false;

	memcpy(&a, MyBgworkerEntry->bgw_extra, sizeof(a));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(a.db, a.login, 0);
	pgstat_report_appname("hanami learner starting");
	cxt = AllocSetContextCreate(TopMemoryContext, "hanami learner", ALLOCSET_DEFAULT_SIZES);

	StartTransactionCommand();
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(a.user)))
		refused = "the role that enabled learning no longer exists";
	else if (!is_member_of_role(a.login, a.user))
		refused = "its session role is no longer a member of the role that enabled learning";
	CommitTransactionCommand();
	if (refused)
	{
		LearnerRecordError(a.job, refused);
		proc_exit(0);
	}

	/* one learner per model: wait a little for transactions that queued to end */
	LearnLockTag(&running, a.job, LOCK_RUNNING);
	LearnLockTag(&inflight, a.job, LOCK_INFLIGHT);
	start = Now();
	while (!(got = LockAcquire(&running, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL))
	{
		bool		other;
		MemoryContext tx;

		if (Now() - start > 10.0)
			break;
		tx = HanamiWorkerTxBegin();
		other = HanamiSpiExec(psprintf("SELECT 1 FROM pg_catalog.pg_stat_activity "
									   "WHERE application_name = 'hanami learner " INT64_FORMAT "' "
									   "AND pid <> pg_catalog.pg_backend_pid()", a.job), 0, NULL, NULL) > 0;
		HanamiWorkerTxEnd(tx);
		if (other)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 50, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	if (!got || !LearnerClaimSlot(&a))
		proc_exit(0);

	/* for good: the learner's code cannot change role, and runs restricted */
	SetUserIdAndSecContext(a.user, HANAMI_JOB_SEC_CONTEXT);
	l = MemoryContextAllocZero(cxt, sizeof(Learner));
	l->model_id = a.job;
	l->login = a.login;
	l->user = a.user;
	l->cxt = cxt;
	l->netcxt = AllocSetContextCreate(cxt, "hanami learner network", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		LearnerLoop(l);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		EmitErrorReport();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		QueryCancelPending = false;
		RESUME_INTERRUPTS();
		LearnerRecordError(a.job, edata->message);
	}
	PG_END_TRY();
	/* RUNNING before INFLIGHT (see the top of this file) */
	LockRelease(&running, ExclusiveLock, true);
	LockReleaseAll(USER_LOCKMETHOD, true);
	proc_exit(0);
}
