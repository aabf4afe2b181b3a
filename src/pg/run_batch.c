/*
 * run_batch.c - hanami.run_batch() and hanami.classify_batch(): run and
 * classify as window functions, so that one SELECT over many rows runs the
 * network on batches of rows (one device round trip per batch on OpenCL,
 * the batched CPU engine otherwise) instead of once per row:
 *
 *   SELECT id, hanami.classify_batch(m.net, d.pixels) OVER ()
 *   FROM digits d, digits_model m;
 *
 * The window partition is read ahead in batches of options.batch_size rows
 * (default 1024); each row gets the result of its own input.  The network
 * and options are those of the partition's first row, and every row must
 * carry the same network (PARTITION BY the model to run several).
 *
 * Where a batch runs: on the device options.device or hanami.device picks
 * (device.c), for any network the OpenCL backend can run (OclCanPredict);
 * otherwise on the CPU engine, whose rows are split across the
 * hanami.threads compute threads, each share with its own workspace, when
 * the network's rows are independent (kind.h rows_independent).  A network
 * whose rows are not (a spiking growing network) runs a batch in order on
 * one thread, each row from the value's own carried state: exactly what
 * run() and classify() give row by row, whatever the order of the rows.
 */
#include "postgres.h"

#include "device.h"
#include "errors.h"
#include "network.h"
#include "jsonutil.h"
#include "run.h"

#include "training.h"

#include "access/detoast.h"
#include "core/fit.h"
#include "core/pool.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "windowapi.h"

PG_FUNCTION_INFO_V1(hanami_run_batch);
PG_FUNCTION_INFO_V1(hanami_classify_batch);

#define HANAMI_BATCH_ROWS	1024

/* Per-partition state, in the partition's memory context. */
typedef struct BatchState
{
	bool		init;
	bool		null_net;		/* the first row's network is NULL */
	MemoryContext cxt;			/* the partition's context */
	MemoryContext tmp;			/* per-row scratch while filling a batch */
	HanamiNetwork *value;		/* the network, detoasted */
	bool		by_toast;		/* the first row's value was on disk */
	struct varatt_external ext;
	HnNet		net;
	int			rows;			/* rows per batch */
	OclPredictor *device;		/* on a device, or NULL */
	bool		independent;	/* HnRowsIndependent */
	HnPool	   *pool;			/* the CPU's compute threads, or NULL */
	int			shares;			/* workspaces: PoolSize(pool) */
	int			share_rows;		/* rows each workspace takes at a time */
	void	  **works;			/* on the CPU: the kind's scratch, one per
								 * share */
	void	   *state0;			/* rows not independent: the value's own
								 * carried state, loaded before every row */
	int			job_rows;		/* rows of the batch on the threads */
	float	   *x;
	float	   *out;
	int32	   *cls;
	bool	   *nulls;
	int64		start;			/* partition position of the batch */
	int			count;			/* rows in the batch */
} BatchState;

static const char *const batch_keys[] = {"device", "batch_size", NULL};

/* True when raw is the partition's network value. */
static bool
SameNetwork(BatchState *st, struct varlena *raw)
{
	size_t		len = HANAMI_NET_IMAGE_LEN(st->value);
	bool		same;

	if (VARATT_IS_EXTERNAL_ONDISK(raw) && st->by_toast)
	{
		struct varatt_external ext;

		VARATT_EXTERNAL_GET_POINTER(ext, raw);
		if (ext.va_valueid == st->ext.va_valueid &&
			ext.va_toastrelid == st->ext.va_toastrelid)
			return true;
	}
	if (!VARATT_IS_EXTENDED(raw))
		return VARSIZE_ANY_EXHDR(raw) == len &&
			memcmp(VARDATA_ANY(raw), HANAMI_NET_IMAGE(st->value), len) == 0;
	/* compressed or in another form: compare the plain bytes */
	raw = detoast_attr(raw);
	same = VARSIZE_ANY_EXHDR(raw) == len &&
		memcmp(VARDATA_ANY(raw), HANAMI_NET_IMAGE(st->value), len) == 0;
	pfree(raw);
	return same;
}

/* Options of the partition's first row: device and batch_size. */
static const char *
BatchOptions(WindowObject winobj, FunctionCallInfo fcinfo, BatchState *st)
{
	bool		isnull;
	Datum		d;
	Jsonb	   *jb;
	JsonbValue *v;
	const char *device = NULL;

	st->rows = HANAMI_BATCH_ROWS;
	if (PG_NARGS() < 3)
		return NULL;
	d = WinGetFuncArgCurrent(winobj, 2, &isnull);
	if (isnull)
		return NULL;
	jb = DatumGetJsonbP(d);
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object")));
	HanamiJsonbCheckKeys(&jb->root, "option", batch_keys);
	if ((v = HanamiJsonbGet(&jb->root, "device")) != NULL)
		device = HanamiDeviceCheckOption(HanamiJsonbString(v, "option \"device\""));
	if ((v = HanamiJsonbGet(&jb->root, "batch_size")) != NULL)
		st->rows = (int) HanamiJsonbInt(v, "option \"batch_size\"", 1, 65536);
	return device;
}

/*
 * Set up the partition: network, device or CPU workspace, buffers.  With
 * classify, the network must be a classifier.
 */
static void
BatchInit(WindowObject winobj, FunctionCallInfo fcinfo, BatchState *st,
		  bool classify)
{
	MemoryContext old;
	struct varlena *raw;
	const char *device;
	OclDevice  *dev;
	HnAllocator alloc;
	OclError	oerr;
	bool		isnull;
	Datum		d;
	uint32		n_in;
	uint32		n_out;

	st->init = true;
	st->cxt = GetMemoryChunkContext(st);
	d = WinGetFuncArgCurrent(winobj, 0, &isnull);
	if (isnull)
	{
		st->null_net = true;
		return;
	}
	old = MemoryContextSwitchTo(st->cxt);
	device = BatchOptions(winobj, fcinfo, st);
	raw = (struct varlena *) DatumGetPointer(d);
	st->by_toast = VARATT_IS_EXTERNAL_ONDISK(raw);
	if (st->by_toast)
		VARATT_EXTERNAL_GET_POINTER(st->ext, raw);
	st->value = (HanamiNetwork *) PG_DETOAST_DATUM_COPY(d);
	HanamiNetworkBind(st->value, &st->net, ERRCODE_DATA_CORRUPTED);
	st->independent = HnRowsIndependent(&st->net);
	if (classify)
		HanamiCheckClassifier(&st->net, "classify_batch", "hanami.run_batch");
	n_in = st->net.hdr->n_inputs;
	n_out = st->net.hdr->n_outputs;
	st->tmp = AllocSetContextCreate(st->cxt, "hanami batch rows",
									ALLOCSET_DEFAULT_SIZES);
	st->x = palloc_extended(sizeof(float) * n_in * st->rows, MCXT_ALLOC_HUGE);
	st->out = palloc_extended(sizeof(float) * n_out * st->rows, MCXT_ALLOC_HUGE);
	st->cls = palloc(sizeof(int32) * st->rows);
	st->nulls = palloc(sizeof(bool) * st->rows);
	st->start = -1;

	alloc = HanamiPallocAllocator(st->cxt);
	dev = HanamiDeviceChoose(device, &st->net, st->rows);
	if (dev != NULL)
	{
		/* released with the partition's context, also on error */
		OclSession *s = HanamiDeviceSession(st->cxt, dev);

		st->device = OclPredictorCreate(s, &st->net, st->rows, &alloc, &oerr);
		if (st->device == NULL)
			HanamiDeviceReport(&oerr);
	}
	else if (st->independent)
	{
		/*
		 * A workspace per share of the rows, made here: the pool's threads
		 * never allocate.  The pool lives as long as the partition.
		 */
		st->pool = HanamiComputePool(st->cxt);
		st->shares = Min(PoolSize(st->pool), st->rows);
		st->share_rows = (st->rows + st->shares - 1) / st->shares;
		st->works = palloc(sizeof(void *) * st->shares);
		for (int w = 0; w < st->shares; w++)
			st->works[w] = HanamiWorkCreate(&st->net, st->share_rows, &alloc);
	}
	else
	{
		st->shares = 1;
		st->share_rows = 1;
		st->works = palloc(sizeof(void *));
		st->works[0] = HanamiWorkCreate(&st->net, 1, &alloc);
		st->state0 = HanamiStateSave(&st->net);
	}
	MemoryContextSwitchTo(old);
}

/*
 * Pool job (argument: the partition's state): share w of the batch's rows,
 * on workspace w, share_rows rows per call of predict.  The rows are
 * independent, so how the batch is split does not change the outputs.
 * Runs on a pool thread: no palloc, no ereport.
 */
static void
BatchShare(void *arg, int w, int n_workers)
{
	BatchState *st = (BatchState *) arg;
	size_t		n_in = st->net.hdr->n_inputs;
	size_t		n_out = st->net.hdr->n_outputs;
	size_t		lo;
	size_t		hi;

	PoolRange((size_t) st->job_rows, w, n_workers, &lo, &hi);
	for (size_t r = lo; r < hi; r += (size_t) st->share_rows)
	{
		int			cnt = (int) Min(hi - r, (size_t) st->share_rows);

		st->net.kind->predict(&st->net, st->works[w], st->x + r * n_in, cnt,
							  st->out + r * n_out);
	}
}

/* n rows of st->x into st->out on the CPU engine. */
static void
BatchPredictCpu(BatchState *st, int n)
{
	size_t		n_in = st->net.hdr->n_inputs;
	size_t		n_out = st->net.hdr->n_outputs;

	if (st->independent)
	{
		/* st is the job's argument: the pool learns per partition */
		st->job_rows = n;
		if (st->pool != NULL && st->shares == PoolSize(st->pool))
			PoolRun(st->pool, BatchShare, st);
		else
			BatchShare(st, 0, 1);	/* fewer rows than threads */
		return;
	}
	/* in order, each row from the value's state, like run() */
	for (int k = 0; k < n; k++)
	{
		CHECK_FOR_INTERRUPTS();
		if (st->state0 != NULL)
			st->net.kind->state_load(&st->net, st->state0);
		st->net.kind->predict(&st->net, st->works[0], st->x + (size_t) k * n_in,
							  1, st->out + (size_t) k * n_out);
	}
}

/*
 * After classes of n rows from the device: the error of HanamiCheckOutputs
 * for the first row (not NULL) whose outputs were not finite, which the
 * device marks with class -1.
 */
static void
CheckDeviceClasses(BatchState *st, int64 pos, int n)
{
	for (int k = 0; k < n; k++)
		if (st->cls[k] < 0 && !st->nulls[k])
		{
			HnError		err;
			char		detail[HANAMI_ERRMSG_LEN];

			snprintf(detail, sizeof(detail),
					 "An output of row " INT64_FORMAT " of the window partition is NaN or infinite.",
					 pos + k + 1);
			HnSetError(&err, HANAMI_E_OUTPUT_NOT_FINITE, detail,
					   "network output is not finite");
			HanamiReportError(&err, 0);
		}
}

/* Read the batch of rows starting at partition position pos and run it. */
static void
BatchFill(WindowObject winobj, BatchState *st, int64 pos, bool classify)
{
	uint32		n_in = st->net.hdr->n_inputs;
	uint32		n_out = st->net.hdr->n_outputs;
	int			n = 0;
	MemoryContext old;

	old = MemoryContextSwitchTo(st->tmp);
	for (int k = 0; k < st->rows; k++)
	{
		bool		isnull;
		bool		isout;
		Datum		d;

		MemoryContextReset(st->tmp);
		/* the mark at the batch's first row lets earlier rows go */
		d = WinGetFuncArgInPartition(winobj, 0, pos + k, WINDOW_SEEK_HEAD,
									 k == 0, &isnull, &isout);
		if (isout)
			break;
		if (isnull || !SameNetwork(st, (struct varlena *) DatumGetPointer(d)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("every row of a window partition must have the same network"),
					 errdetail("Row " INT64_FORMAT " of the partition has another network than its first row.",
							   pos + k + 1),
					 errhint("Add PARTITION BY the model, e.g. OVER (PARTITION BY model_id).")));
		d = WinGetFuncArgInPartition(winobj, 1, pos + k, WINDOW_SEEK_HEAD,
									 false, &isnull, &isout);
		st->nulls[k] = isnull;
		if (isnull)
			memset(st->x + (size_t) k * n_in, 0, sizeof(float) * n_in);
		else
			memcpy(st->x + (size_t) k * n_in,
				   HanamiInputArray(DatumGetArrayTypeP(d), n_in),
				   sizeof(float) * n_in);
		n++;
	}
	MemoryContextSwitchTo(old);
	st->start = pos;
	st->count = n;
	if (n == 0)
		return;

	if (st->device != NULL)
	{
		OclError	oerr;

		/* classes come from the device alone: -1 marks outputs not finite */
		if (OclPredictorRun(st->device, st->x, n, classify ? NULL : st->out,
							classify ? st->cls : NULL, &oerr) != HANAMI_OK)
			HanamiDeviceReport(&oerr);
		if (classify)
			CheckDeviceClasses(st, pos, n);
		else
			HanamiCheckOutputs(st->out, n, n_out, pos, st->nulls);
	}
	else
	{
		BatchPredictCpu(st, n);
		HanamiCheckOutputs(st->out, n, n_out, pos, st->nulls);
		if (classify)
			for (int k = 0; k < n; k++)
				st->cls[k] = HnOutputClass(st->out + (size_t) k * n_out, n_out);
	}
}

/* The state of this partition with the current row's batch computed. */
static BatchState *
BatchCurrent(FunctionCallInfo fcinfo, bool classify, int *k)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	BatchState *st = WinGetPartitionLocalMemory(winobj, sizeof(BatchState));
	int64		pos = WinGetCurrentPosition(winobj);

	if (!st->init)
		BatchInit(winobj, fcinfo, st, classify);
	if (st->null_net)
		return NULL;
	if (pos < st->start || pos >= st->start + st->count)
		BatchFill(winobj, st, pos, classify);
	*k = (int) (pos - st->start);
	if (*k < 0 || *k >= st->count || st->nulls[*k])
		return NULL;
	return st;
}

/*
 * run_batch(net, input real[] [, options jsonb]) OVER (...) -> real[]: the
 * outputs of run() for each row, computed in batches.
 */
Datum
hanami_run_batch(PG_FUNCTION_ARGS)
{
	int			k;
	BatchState *st = BatchCurrent(fcinfo, false, &k);
	uint32		n_out;

	if (st == NULL)
		PG_RETURN_NULL();
	n_out = st->net.hdr->n_outputs;
	PG_RETURN_ARRAYTYPE_P(HanamiFloatArray(st->out + (size_t) k * n_out,
										   (int) n_out));
}

/*
 * classify_batch(net, input real[] [, options jsonb]) OVER (...) -> int:
 * classify() for each row, computed in batches; only for a classifier.
 */
Datum
hanami_classify_batch(PG_FUNCTION_ARGS)
{
	int			k;
	BatchState *st = BatchCurrent(fcinfo, true, &k);

	if (st == NULL)
		PG_RETURN_NULL();
	PG_RETURN_INT32(st->cls[k]);
}
