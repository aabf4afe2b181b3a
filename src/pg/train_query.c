/*
 * train_query.c - training on a query's rows: held in memory as float32 when
 * they fit hanami.dataset_memory, otherwise streamed again from the query
 * every epoch; and the compute threads of hanami.threads.
 *
 * Streaming hands the engine's fit driver (core/fit.h) a source that reads
 * the rows through a cursor in chunks that fit the budget, whole batches
 * each.  The driver's first pass (which starts with the rows the attempt to
 * load everything read) checks and counts the rows and learns the scaling
 * from the same sample and one-pass statistics a fit in memory takes (the
 * input sample holds copies of at most 4096 rows, outside the budget), so
 * scaling, batches and updates are exactly those of a fit in memory when
 * the rows come in the same order and "shuffle" is off.  With "shuffle" on,
 * rows are shuffled within each chunk.
 */
#include "postgres.h"

#include <math.h>

#include "settings.h"
#include "errors.h"
#include "options.h"
#include "dataset.h"
#include "training.h"
#include "device.h"

#include "core/fit.h"
#include "core/pool.h"
#include "utils/memutils.h"

/* A pool and the allocator it was made with, for the reset callback. */
typedef struct PoolOwner
{
	HnPool	   *pool;
	HnAllocator alloc;
	MemoryContextCallback cb;
} PoolOwner;

/* Stop and join the threads when their memory context goes away. */
static void
PoolResetCallback(void *arg)
{
	PoolOwner  *o = (PoolOwner *) arg;

	PoolFree(o->pool, &o->alloc);
	o->pool = NULL;
}

/*
 * A pool of hanami.threads compute threads living as long as cxt (joined by
 * a reset callback, also when an error unwinds), or NULL for one thread.
 */
HnPool *
HanamiComputePool(MemoryContext cxt)
{
	PoolOwner  *o;
	HnError		err;

	int			threads = HanamiThreads();

	if (threads <= 1)
		return NULL;
	o = MemoryContextAllocZero(cxt, sizeof(PoolOwner));
	o->alloc = HanamiPallocAllocator(cxt);
	o->pool = PoolCreate(threads, &o->alloc, &err);
	if (o->pool == NULL)
		HanamiReportError(&err, 0);
	o->cb.func = PoolResetCallback;
	o->cb.arg = o;
	MemoryContextRegisterResetCallback(cxt, &o->cb);
	return o->pool;
}

/* Errors while the validation rows are read say so. */
static void
ValidationContext(void *arg)
{
	(void) arg;
	errcontext("reading the rows of option \"validation_query\"");
}

/*
 * A query's rows as a source of chunks for the engine (core/fit.h).  The
 * first pass starts with the rows the attempt to hold them all loaded, then
 * reads on from where it stopped; every later pass runs the query again.
 */
typedef struct QuerySource
{
	HanamiRows *q;
	const HnDataset *first;		/* the rows loaded */
	bool		started;		/* the first pass has begun */
	bool		give_first;		/* the next fetch gives the loaded rows */
	float	   *x;				/* the chunk buffer: cap rows */
	float	   *y;
	int32	   *cls;
	uint8	   *starts;			/* with a "sequence" column */
	int64		cap;
} QuerySource;

/* Begin a pass: the first goes on from the loaded rows. */
static void
QuerySourceStart(void *ctx)
{
	QuerySource *s = ctx;

	if (!s->started)
	{
		s->started = true;
		s->give_first = true;
	}
	else
		HanamiRowsStart(s->q);
}

/* The next chunk of at most max_rows rows. */
static int64_t
QuerySourceFetch(void *ctx, int64_t max_rows, HnDataset *rows)
{
	QuerySource *s = ctx;

	if (s->give_first)
	{
		s->give_first = false;
		*rows = *s->first;
		return rows->n;
	}
	*rows = *s->first;
	rows->x = s->x;
	rows->y = s->y;
	rows->cls = s->cls;
	rows->starts = s->starts;
	rows->n = HanamiRowsFetch(s->q, s->x, s->y, s->cls, s->starts,
							  Min(max_rows, s->cap));
	return rows->n;
}

/*
 * Fit on rows that did not fit in memory, streamed from q chunk by chunk;
 * first holds those that did, and their arrays become the chunk buffer.
 */
static HnStatus
StreamFit(HanamiRows *q, HanamiQueryData *first, HnNet *net,
		  const HnTrainOptions *opt, const HnCallbacks *cb,
		  const HnAllocator *alloc, HnTrainResult *res, HnEvalResult *eval,
		  HnError *err)
{
	bool		class_target = HanamiRowsClassTarget(q);
	uint32		n_in = net->hdr->n_inputs;
	uint32		n_out = net->hdr->n_outputs;
	int64		batch = opt->batch_size;
	QuerySource qs;
	HnRowSource src;
	HnRows		rows = {NULL, NULL, 0, &src};
	HnStatus	st;

	if (opt->validation_split > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("validation_split needs the rows in memory"),
				 errdetail("The query's rows need more than hanami.dataset_memory (%d kB), so they are streamed.",
						   HanamiDatasetMemoryKb(false)),
				 errhint("Raise hanami.dataset_memory, or hold out rows with a WHERE clause and use verify().")));

	memset(&qs, 0, sizeof(qs));
	qs.q = q;
	qs.first = &first->ds;
	qs.cap = first->ds.n;
	if (qs.cap >= batch)
	{
		qs.x = (float *) first->ds.x;
		qs.y = (float *) first->ds.y;
		qs.cls = (int32 *) first->ds.cls;
		qs.starts = (uint8 *) first->ds.starts;
	}
	else
	{
		/* not even one batch fits the budget: hold one batch anyway */
		qs.cap = batch;
		qs.x = palloc_extended(sizeof(float) * n_in * batch, MCXT_ALLOC_HUGE);
		qs.y = class_target ? NULL :
			palloc_extended(sizeof(float) * n_out * batch, MCXT_ALLOC_HUGE);
		qs.cls = class_target ? palloc(sizeof(int32) * batch) : NULL;
		qs.starts = HanamiRowsSequences(q) ? palloc(batch) : NULL;
	}
	src.ctx = &qs;
	src.n_features = n_in;
	src.n_outputs = n_out;
	src.classes = class_target;
	src.chunk = Max(qs.cap, first->ds.n);
	src.start = QuerySourceStart;
	src.fetch = QuerySourceFetch;

	st = HnFit(net, &rows, opt, NULL, cb, alloc, res, err);
	if (st == HANAMI_OK && eval != NULL)
		st = HanamiEvaluate(net, &rows, cb, alloc, eval, err);
	return st;
}

/*
 * HnEvaluate, on a copy of the image when the network carries a state from
 * row to row (kind.h): the network measured is left as it was.
 */
HnStatus
HanamiEvaluate(const HnNet *net, const HnRows *rows, const HnCallbacks *cb,
			   const HnAllocator *alloc, HnEvalResult *res, HnError *err)
{
	HnNet		copy = *net;

	if (net->kind->state_size(net) > 0)
	{
		void	   *image = palloc_extended(net->len, MCXT_ALLOC_HUGE);

		memcpy(image, net->hdr, net->len);
		NetBindTrusted(&copy, image);
	}
	return HnEvaluate(&copy, rows, cb, alloc, res, err);
}

/*
 * Train net in place on the rows of query with opts; cb are the engine
 * hooks; buffers are allocated in cxt, and so must net's image be: a kind
 * whose networks grow may move it to a larger buffer from cxt (net->hdr and
 * net->len then say where).  Fills res, and eval (measured on the same
 * rows) when it is not NULL.
 */
HnStatus
HanamiTrainQuery(const char *query, const HanamiOptions *opts, HnNet *net,
				 const HnCallbacks *cb, MemoryContext cxt, HnTrainResult *res,
				 HnEvalResult *eval, HnError *err)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	HnAllocator alloc = HanamiPallocAllocator(cxt);
	HnTrainOptions topt = opts->train;
	bool		layered = (net->kind->caps & HANAMI_CAP_LAYERED) != 0;
	HanamiQueryData data;
	HanamiQueryData vdata;
	HanamiRows *q;
	HnStatus	st;

	topt.pool = HanamiComputePool(cxt);
	/* validation rows of their own, held in memory (within the budget) */
	if (opts->validation_query != NULL)
	{
		ErrorContextCallback ctx = {error_context_stack, ValidationContext, NULL};

		error_context_stack = &ctx;
		HanamiLoadQueryMapped(opts->validation_query, opts, net, &vdata);
		error_context_stack = ctx.previous;
		topt.validation = &vdata.ds;
	}
	q = HanamiRowsOpenMapped(query, opts, net);
	HanamiRowsSetPool(q, topt.pool);
	HanamiRowsStart(q);
	/* the rows may take 15/16 of the budget; the rest is for reading them */
	if (HanamiRowsLoad(q, (int64) HanamiDatasetMemoryKb(true) * 1024 / 16 * 15, &data))
	{
		if (data.ds.n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("training query returned no rows")));
		/* the CPU engine or an OpenCL device, as options.device says */
		st = HanamiDeviceFit(net, &data.ds, opts->device, &topt, cb,
							 &alloc, res, err);
		if (st == HANAMI_OK && eval != NULL)
		{
			HnRows		rows = {&data.ds, NULL, 0, NULL};

			st = HanamiEvaluate(net, &rows, cb, &alloc, eval, err);
		}
	}
	else
	{
		if (opts->verbose)
			ereport(NOTICE,
					(errmsg("streaming the rows: they need more than hanami.dataset_memory (%d kB)",
							HanamiDatasetMemoryKb(false)),
					 errdetail("The query runs again for every epoch; " INT64_FORMAT " rows are held at a time.",
							   data.ds.n)));
		if (layered && HanamiDeviceWantsOpenCL(opts->device))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the OpenCL device needs the training rows in memory"),
					 errdetail("The query's rows need more than hanami.dataset_memory (%d kB), so they would be streamed.",
							   HanamiDatasetMemoryKb(false)),
					 errhint("Raise hanami.dataset_memory, or use the device \"cpu\".")));
		st = StreamFit(q, &data, net, &topt, cb, &alloc, res, eval, err);
	}
	HanamiRowsClose(q);
	MemoryContextSwitchTo(old);
	return st;
}
