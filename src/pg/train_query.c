/*
 * train_query.c - training on a query's rows: held in memory as float32 when
 * they fit hanami.dataset_memory, otherwise streamed again from the query
 * every epoch; and the compute threads of hanami.threads.
 *
 * Streaming reads the rows through a cursor in chunks that fit the budget.
 * The first pass (the attempt to load everything) also counts the rows and
 * learns the input scaling from the same fixed-seed sample of rows a fit in
 * memory takes (core/scaling.h; the sample holds copies of at most 4096
 * rows, outside the budget), so scaling, batches and updates are exactly
 * those of a fit in memory when the rows come in the same order and
 * "shuffle" is off.  With "shuffle" on, rows are shuffled within each chunk.
 */
#include "glue.h"

#include <math.h>

#include "core/pool.h"
#include "core/rng.h"
#include "core/scaling.h"
#include "core/dense/step.h"
#include "device.h"
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

/* Rows held at once while streaming, and where they are. */
typedef struct Chunk
{
	int64		cap;			/* rows; a multiple of the batch size */
	float	   *x;
	float	   *y;
	int32	   *cls;
} Chunk;

/* Sums for the output scaling of a streamed regression. */
typedef struct OutputSums
{
	double	   *sum;
	double	   *sq;
} OutputSums;

/* Add k rows of y (n values each) to the output sums. */
static void
AddOutputSums(OutputSums *o, const float *y, int64 k, uint32 n)
{
	for (int64 r = 0; r < k; r++)
		for (uint32 j = 0; j < n; j++)
		{
			double		v = y[(size_t) r * n + j];

			o->sum[j] += v;
			o->sq[j] += v * v;
		}
}

/* True when fits learn output scaling: mse regression on identity output. */
static bool
OutputScalable(const DenseNet *net, bool class_target)
{
	return !class_target && net->hdr->loss == HANAMI_LOSS_MSE &&
		net->layers[net->hdr->n_layers - 1].activation == HANAMI_ACT_IDENTITY;
}

/*
 * The rest of the first pass: count the rows, check their targets as a fit
 * in memory does (TrainCheckTargets), and learn what scaling is not fitted
 * yet from all of them, the rows already loaded first.  Returns the number
 * of rows.
 */
static int64
StreamFirstPass(HanamiRows *q, const HanamiQueryData *first, Chunk *ch,
				DenseNet *net, const HnTrainOptions *opt, bool class_target,
				const HnAllocator *alloc)
{
	uint32		n_in = net->hdr->n_inputs;
	uint32		n_out = net->hdr->n_outputs;
	bool		need_in = (net->hdr->flags & HANAMI_FLAG_SCALE_INPUT) &&
		(opt->rescale || !(net->hdr->flags & HANAMI_FLAG_INPUT_FITTED));
	bool		need_out = OutputScalable(net, class_target) &&
		(opt->rescale || !(net->hdr->flags & HANAMI_FLAG_OUTPUT_FITTED));
	HnScaleSample *sample = NULL;
	OutputSums	osum = {0};
	HnError		err;
	int64		n = first->ds.n;
	int64		k;

	if (need_in)
	{
		sample = ScaleSampleCreate(n_in, alloc, &err);
		if (sample == NULL)
			HanamiReportError(&err, 0);
		for (int64 r = 0; r < first->ds.n; r++)
			ScaleSampleAdd(sample, first->ds.x + (size_t) r * n_in);
	}
	/* targets a softmax output cannot learn, before any training */
	if (!class_target &&
		TrainCheckTargets(net, first->ds.y, first->ds.n, 0, &err) != HANAMI_OK)
		HanamiReportError(&err, 0);
	if (need_out)
	{
		osum.sum = palloc0(sizeof(double) * n_out);
		osum.sq = palloc0(sizeof(double) * n_out);
		AddOutputSums(&osum, first->ds.y, first->ds.n, n_out);
	}
	while ((k = HanamiRowsFetch(q, ch->x, ch->y, ch->cls, ch->cap)) > 0)
	{
		if (!class_target &&
			TrainCheckTargets(net, ch->y, k, n, &err) != HANAMI_OK)
			HanamiReportError(&err, 0);
		if (need_in)
			for (int64 r = 0; r < k; r++)
				ScaleSampleAdd(sample, ch->x + (size_t) r * n_in);
		if (need_out)
			AddOutputSums(&osum, ch->y, k, n_out);
		n += k;
	}
	if (need_in)
	{
		if (ScaleSampleFit(sample, net->in_shift, net->in_mul, alloc,
						   &err) != HANAMI_OK)
			HanamiReportError(&err, 0);
		net->hdr->flags |= HANAMI_FLAG_INPUT_FITTED | HANAMI_FLAG_INPUT_CLIP;
		ScaleSampleFree(sample, alloc);
	}
	if (need_out && n > 0)
	{
		for (uint32 j = 0; j < n_out; j++)
		{
			double		mean = osum.sum[j] / (double) n;
			double		var = osum.sq[j] / (double) n - mean * mean;
			double		sd = sqrt(var > 0 ? var : 0);
			float		f = (float) sd;

			net->out_shift[j] = isfinite(mean) ? (float) mean : 0.0f;
			if (!(sd > 1e-12) || !isfinite(f) || f == 0.0f)
				f = 1.0f;
			net->out_mul[j] = f;
		}
		net->hdr->flags |= HANAMI_FLAG_OUTPUT_FITTED;
	}
	return n;
}

/* Train on the streamed rows, one pass of the query per epoch. */
static HnStatus
StreamTrain(HanamiRows *q, Chunk *ch, int64 n, DenseNet *net,
			const HnTrainOptions *opt, const HnCallbacks *cb,
			const HnAllocator *alloc, HnTrainResult *res, HnError *err)
{
	uint32		n_in = net->hdr->n_inputs;
	uint32		n_out = net->hdr->n_outputs;
	int			batch = n < opt->batch_size ? (int) n : opt->batch_size;
	HnTrainer  *t;
	HnRng		rng;
	int64	   *order;
	const float **xp;
	const float **yp;
	int32	   *bcls;
	bool		stop = false;
	HnStatus	st = HANAMI_OK;

	t = TrainerCreate(net, opt, batch, opt->pool, cb, alloc, err);
	if (t == NULL)
		return err->code;
	order = palloc_extended(sizeof(int64) * ch->cap, MCXT_ALLOC_HUGE);	/* row ids: may pass 1 GB */
	xp = palloc(sizeof(float *) * batch);
	yp = palloc(sizeof(float *) * batch);
	bcls = palloc(sizeof(int32) * batch);
	RngSeed(&rng, opt->seed);

	for (int epoch = 1; epoch <= opt->epochs && !stop; epoch++)
	{
		int64		k;

		TrainerEpochBegin(t);
		HanamiRowsStart(q);
		while (!stop && (k = HanamiRowsFetch(q, ch->x, ch->y, ch->cls, ch->cap)) > 0)
		{
			for (int64 i = 0; i < k; i++)
				order[i] = i;
			if (opt->shuffle)
				RngShuffle(&rng, order, k);
			for (int64 r0 = 0; r0 < k; r0 += batch)
			{
				int			count = (int) (k - r0 < batch ? k - r0 : batch);
				HnBatch		b;
				bool		go_on;

				for (int i = 0; i < count; i++)
				{
					int64		r = order[r0 + i];

					xp[i] = ch->x + (size_t) r * n_in;
					if (ch->cls != NULL)
						bcls[i] = ch->cls[r];
					else
						yp[i] = ch->y + (size_t) r * n_out;
				}
				b.count = count;
				b.x = xp;
				b.cls = ch->cls != NULL ? bcls : NULL;
				b.y = ch->cls != NULL ? NULL : yp;
				st = TrainerStep(t, &b, &go_on, err);
				if (st != HANAMI_OK)
					goto done;
				if (!go_on)
				{
					stop = true;
					break;
				}
			}
		}
		if (TrainerEpochRows(t) == 0)
			break;
		{
			bool		threshold;

			st = TrainerEpochEnd(t, NAN, NAN, &threshold, err);
			if (st != HANAMI_OK)
				goto done;
			stop |= threshold;
		}
	}
	TrainerResult(t, res);
	res->train_rows = n;
	res->val_rows = 0;

done:
	TrainerFree(t);
	return st;
}

/*
 * Evaluate on the streamed rows a chunk at a time, merging the chunks'
 * figures (no confusion matrix).
 */
static HnStatus
StreamEvaluate(HanamiRows *q, Chunk *ch, DenseNet *net, const HnCallbacks *cb,
			   const HnAllocator *alloc, HnEvalResult *res, HnError *err)
{
	uint32		n_in = net->hdr->n_inputs;
	uint32		n_out = net->hdr->n_outputs;
	double		loss = 0.0;
	double		correct = 0.0;
	double		se = 0.0;
	double		ae = 0.0;
	bool		has_accuracy = true;
	int64		n = 0;
	int64		k;
	OutputSums	osum = {0};

	memset(res, 0, sizeof(*res));
	res->loss = res->accuracy = res->mse = res->mae = res->r2 = NAN;
	if (ch->y != NULL)
	{
		osum.sum = palloc0(sizeof(double) * n_out);
		osum.sq = palloc0(sizeof(double) * n_out);
	}
	HanamiRowsStart(q);
	while ((k = HanamiRowsFetch(q, ch->x, ch->y, ch->cls, ch->cap)) > 0)
	{
		HnDataset	ds = {k, n_in, n_out, ch->x, ch->y, ch->cls};
		HnEvalResult ev;
		HnStatus	st;

		memset(&ev, 0, sizeof(ev));
		st = TrainEvaluate(net, &ds, cb, alloc, &ev, err);
		if (st != HANAMI_OK)
			return st;
		loss += ev.loss * (double) ev.n;
		if (isnan(ev.accuracy))
			has_accuracy = false;
		else
			correct += rint(ev.accuracy * (double) ev.n);
		if (ch->y != NULL)
		{
			se += ev.mse * (double) ev.n * n_out;
			ae += ev.mae * (double) ev.n * n_out;
			AddOutputSums(&osum, ch->y, k, n_out);
		}
		n += ev.n;
	}
	res->n = n;
	if (n == 0)
		return HANAMI_OK;
	res->loss = loss / (double) n;
	if (has_accuracy)
		res->accuracy = correct / (double) n;
	if (ch->y != NULL)
	{
		double		ss_tot = 0.0;

		for (uint32 j = 0; j < n_out; j++)
			ss_tot += osum.sq[j] - osum.sum[j] * osum.sum[j] / (double) n;
		res->mse = se / ((double) n * n_out);
		res->mae = ae / ((double) n * n_out);
		if (ss_tot > 0.0)
			res->r2 = 1.0 - se / ss_tot;
		else
			res->r2 = se == 0.0 ? 1.0 : NAN;
	}
	return HANAMI_OK;
}

/* Fit on rows that did not fit in memory; first holds those that did. */
static HnStatus
StreamFit(HanamiRows *q, HanamiQueryData *first, DenseNet *net,
		  const HnTrainOptions *opt, const HnCallbacks *cb,
		  const HnAllocator *alloc, HnTrainResult *res, HnEvalResult *eval,
		  HnError *err)
{
	bool		class_target = HanamiRowsClassTarget(q);
	uint32		n_in = net->hdr->n_inputs;
	uint32		n_out = net->hdr->n_outputs;
	int64		batch = opt->batch_size;
	Chunk		ch;
	int64		n;
	HnStatus	st;

	if (opt->validation_split > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("validation_split needs the rows in memory"),
				 errdetail("The query's rows need more than hanami.dataset_memory (%d kB), so they are streamed.",
						   HanamiDatasetMemoryKb(false)),
				 errhint("Raise hanami.dataset_memory, or hold out rows with a WHERE clause and use verify().")));

	/* the rows already loaded become the chunk buffer: whole batches */
	ch.cap = first->ds.n / batch * batch;
	if (ch.cap >= batch)
	{
		ch.x = (float *) first->ds.x;
		ch.y = (float *) first->ds.y;
		ch.cls = (int32 *) first->ds.cls;
	}
	else
	{
		/* not even one batch fits the budget: hold one batch anyway */
		ch.cap = batch;
		ch.x = palloc_extended(sizeof(float) * n_in * batch, MCXT_ALLOC_HUGE);
		ch.y = class_target ? NULL :
			palloc_extended(sizeof(float) * n_out * batch, MCXT_ALLOC_HUGE);
		ch.cls = class_target ? palloc(sizeof(int32) * batch) : NULL;
	}
	/* the loaded rows are counted; then the rest of the pass */
	n = StreamFirstPass(q, first, &ch, net, opt, class_target, alloc);

	st = StreamTrain(q, &ch, n, net, opt, cb, alloc, res, err);
	if (st == HANAMI_OK && eval != NULL)
		st = StreamEvaluate(q, &ch, net, cb, alloc, eval, err);
	return st;
}

/*
 * Train net in place on the rows of query with opts; cb are the engine
 * hooks; buffers are allocated in cxt.  Fills res, and eval (measured on the
 * same rows, without confusion matrix) when it is not NULL.
 */
HnStatus
HanamiTrainQuery(const char *query, const HanamiOptions *opts, DenseNet *net,
				 const HnCallbacks *cb, MemoryContext cxt, HnTrainResult *res,
				 HnEvalResult *eval, HnError *err)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	HnAllocator alloc = HanamiPallocAllocator(cxt);
	HnTrainOptions topt = opts->train;
	HanamiQueryData data;
	HanamiRows *q;
	HnStatus	st;

	topt.pool = HanamiComputePool(cxt);
	{
		HnNet		any;

		NetBindTrusted(&any, net->hdr);
		q = HanamiRowsOpen(query, opts->target, &any);
	}
	HanamiRowsStart(q);
	/* the rows may take 15/16 of the budget; the rest is for reading them */
	if (HanamiRowsLoad(q, (int64) HanamiDatasetMemoryKb(true) * 1024 / 16 * 15, &data))
	{
		if (data.ds.n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("training query returned no rows")));
		/* the CPU engine or an OpenCL device, as options.device says */
		st = HanamiDeviceTrainFit(net, &data.ds, opts->device, &topt, cb,
								  &alloc, res, err);
		if (st == HANAMI_OK && eval != NULL)
			st = TrainEvaluate(net, &data.ds, cb, &alloc, eval, err);
	}
	else
	{
		if (opts->verbose)
			ereport(NOTICE,
					(errmsg("streaming the rows: they need more than hanami.dataset_memory (%d kB)",
							HanamiDatasetMemoryKb(false)),
					 errdetail("The query runs again for every epoch; " INT64_FORMAT " rows are held at a time.",
							   data.ds.n)));
		if (HanamiDeviceWantsOpenCL(opts->device))
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
