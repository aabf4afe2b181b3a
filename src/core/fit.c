/*
 * fit.c - the fit driver (see fit.h): checks, the validation split and what
 * the kind learns first, then epochs of batches through a stepper, with the
 * stop conditions, divergence checks, header counters, validation and
 * epoch reports.
 */
#include "core/fit.h"
#include "core/checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One fit in progress. */
typedef struct Fit
{
	HnNet	   *net;
	const HnKindFit *kf;
	const HnRows *rows;
	const HnTrainOptions *opt;
	const HnStepperOps *ops;
	void	   *ctx;			/* the stepper's context */
	void	   *state;			/* the stepper's state */
	HnCallbacks cb;
	const HnAllocator *alloc;
	HnTrainResult *res;
	HnRng		rng;
	int64_t		n_train;
	int64_t		n_val;
	int			batch;
	int64_t	   *idx;			/* in memory: training rows, then validation */
	int64_t	   *order;			/* streamed: the order of a chunk's rows */
	int64_t		max_rows;		/* streamed: rows fetched at a time */
	const float **xp;			/* the batch */
	const float **yp;
	int32_t    *cls;
	int64_t    *bidx;
	uint8_t    *starts;			/* the batch's sequence starts */
	bool		carries;		/* rows depend on each other: starts are
								 * read (else never looked at) */
	double		t0;
	int			epoch;
	int64_t		epoch_rows;
	double		loss_sum;
	bool		stopped;
	/* early_stopping and restore_best: the validation losses so far */
	double		best_val;		/* lowest */
	double		ref_val;		/* the last that counted as an improvement */
	int			waited;			/* epochs since ref_val */
	void	   *best;			/* restore_best: the image at best_val */
	size_t		best_len;
	double		best_loss;		/* best epoch's training loss, accuracy */
	double		best_acc;
	/* checkpoints (checkpoint.h) */
	bool		hashing;		/* checkpoints or a resume: hash the rows */
	uint64_t	start_hash;		/* the network as the fit started */
	uint64_t	rows_hash;		/* the rows read */
	bool		resuming;		/* opt->resume, accepted into ck */
	HnCheckpoint ck;
	int			epoch0;			/* epochs done before this fit (resumed) */
	int			ck_epoch;		/* epoch of the last checkpoint */
	double		ck_time;		/* and when it was made */
} Fit;

/* qsort order of row indices. */
static int
FitCompareRows(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/* Seconds from the clock hook, 0 without one. */
static double
FitNow(const Fit *f)
{
	return f->cb.now ? f->cb.now(f->cb.ctx) : 0.0;
}

/* Record why the fit stops (the first reason wins). */
static void
FitStop(Fit *f, HnStopReason reason)
{
	if (!f->stopped)
	{
		f->stopped = true;
		f->res->stop = reason;
	}
}

/*
 * A "training diverged" error: the loss v, or a weight (v finite), became
 * NaN or infinite in this epoch.
 */
static HnStatus
FitDiverged(const Fit *f, double v, HnError *err)
{
	char		detail[HANAMI_ERRMSG_LEN];

	snprintf(detail, sizeof(detail), "%s in epoch %d; %s.",
			 isfinite(v) ? "A weight became NaN or infinite" :
			 isnan(v) ? "The loss became NaN" : "The loss became infinite",
			 f->epoch, f->kf->advice);
	return HnSetError(err, HANAMI_E_DIVERGED, detail, "training diverged");
}

/*
 * Train on count rows of ds in the order given, batch after batch, until
 * they are done or a stop condition holds.
 */
static HnStatus
FitRun(Fit *f, const HnDataset *ds, const int64_t *order, int64_t count,
	   HnError *err)
{
	size_t		n_in = ds->n_features;
	size_t		n_out = ds->n_outputs;
	const HnTrainOptions *opt = f->opt;

	for (int64_t r0 = 0; r0 < count && !f->stopped; r0 += f->batch)
	{
		int			n = (int) (count - r0 < f->batch ? count - r0 : f->batch);
		HnBatch		b;
		double		loss = 0.0;
		HnStatus	st;

		/* the caller's hook may longjmp: nothing is half done here */
		if (f->cb.interrupt && f->cb.interrupt(f->cb.ctx))
		{
			FitStop(f, HANAMI_STOP_CALLBACK);
			break;
		}
		for (int k = 0; k < n; k++)
		{
			int64_t		r = order[r0 + k];

			f->bidx[k] = r;
			f->xp[k] = ds->x + (size_t) r * n_in;
			if (ds->y != NULL)
				f->yp[k] = ds->y + (size_t) r * n_out;
			else
				f->cls[k] = ds->cls[r];
		}
		b.count = n;
		b.x = f->xp;
		b.cls = ds->cls != NULL ? f->cls : NULL;
		b.y = ds->y != NULL ? f->yp : NULL;
		b.rows = f->rows->data != NULL ? f->bidx : NULL;
		b.starts = NULL;
		if (f->carries && ds->starts != NULL)
		{
			for (int k = 0; k < n; k++)
				f->starts[k] = ds->starts[order[r0 + k]];
			b.starts = f->starts;
		}
#if defined(__GNUC__)
		/* online training: bring the next row in while this one runs */
		if (n == 1 && r0 + 1 < count)
		{
			const char *next = (const char *) (ds->x + (size_t) order[r0 + 1] * n_in);

			for (size_t o = 0; o < n_in * sizeof(float); o += 64)
				__builtin_prefetch(next + o);
		}
#endif
		st = f->ops->step(f->state, &b, &loss, err);
		if (st != HANAMI_OK)
			return st;
		if (!isfinite(loss))
			return FitDiverged(f, loss, err);
		f->loss_sum += loss;
		f->epoch_rows += n;
		f->res->iterations++;
		if (opt->max_iterations > 0 && f->res->iterations >= opt->max_iterations)
			FitStop(f, HANAMI_STOP_ITERATIONS);
		else if (opt->timeout > 0 && f->cb.now &&
				 FitNow(f) - f->t0 >= opt->timeout)
			FitStop(f, HANAMI_STOP_TIMEOUT);
	}
	return HANAMI_OK;
}

/*
 * The hash of n rows of data (order names them; NULL: the first n), from
 * h: what a resumed fit compares with its checkpoint's.
 */
static uint64_t
FitHashRows(const HnDataset *d, const int64_t *order, int64_t n, uint64_t h)
{
	size_t		nf = d->n_features;
	size_t		no = d->n_outputs;

	if (order == NULL)
	{
		h = HnHash64(d->x, (size_t) n * nf * sizeof(float), h);
		return d->y ? HnHash64(d->y, (size_t) n * no * sizeof(float), h) :
			HnHash64(d->cls, (size_t) n * sizeof(int32_t), h);
	}
	for (int64_t i = 0; i < n; i++)
	{
		int64_t		r = order[i];

		h = HnHash64(d->x + (size_t) r * nf, nf * sizeof(float), h);
		h = d->y ? HnHash64(d->y + (size_t) r * no, no * sizeof(float), h) :
			HnHash64(&d->cls[r], sizeof(int32_t), h);
	}
	return h;
}

/*
 * In memory: the seeded validation split (training rows first, in their
 * order when shuffling is off), then what the kind learns from the
 * training rows.  The rows were checked.
 */
static HnStatus
FitSplit(Fit *f, void *prep, HnError *err)
{
	const HnRows *rows = f->rows;
	int64_t		n = rows->order ? rows->n : rows->data->n;

	if ((uint64_t) n > SIZE_MAX / sizeof(int64_t))
		return HnSetError(err, HANAMI_E_TOO_LARGE, NULL,
						  "too many rows to train on");
	f->n_val = (int64_t) floor((double) n * f->opt->validation_split);
	f->n_train = n - f->n_val;
	if (f->n_train < 1)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Lower validation_split or add rows.",
						  "validation_split leaves no rows to train on");
	f->idx = HnAlloc(f->alloc, (size_t) n * sizeof(int64_t));
	if (f->idx == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for training buffers");
	for (int64_t i = 0; i < n; i++)
		f->idx[i] = rows->order ? rows->order[i] : i;
	if (f->hashing)
		f->rows_hash = FitHashRows(rows->data, rows->order, n, f->rows_hash);
	if (f->n_val > 0)
	{
		RngShuffle(&f->rng, f->idx, n);
		if (!f->opt->shuffle)
			qsort(f->idx, (size_t) f->n_train, sizeof(int64_t), FitCompareRows);
	}
	if (prep != NULL)
		f->kf->prepare_rows(prep, rows->data, f->idx, f->n_train);
	return HANAMI_OK;
}

/*
 * Streamed: the first pass over the rows checks them, counts them and
 * offers them to what the kind learns.
 */
static HnStatus
FitFirstPass(Fit *f, void *prep, HnError *err)
{
	const HnRowSource *src = f->rows->source;
	HnDataset	chunk;
	int64_t		k;

	src->start(src->ctx);
	while ((k = src->fetch(src->ctx, src->chunk, &chunk)) > 0)
	{
		HnStatus	st = HnCheckRows(f->net, &chunk, f->n_train, err);

		if (st != HANAMI_OK)
			return st;
		if (prep != NULL)
			f->kf->prepare_rows(prep, &chunk, NULL, k);
		if (f->hashing)
			f->rows_hash = FitHashRows(&chunk, NULL, k, f->rows_hash);
		f->n_train += k;
	}
	if (f->n_train == 0)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "The query returned no rows.", "no rows to train on");
	return HANAMI_OK;
}

/*
 * early_stopping or restore_best without validation rows: what to add.
 */
static HnStatus
FitNeedsValidation(const Fit *f, HnError *err)
{
	const char *what = f->opt->patience > 0 ? "early_stopping" : "restore_best";

	if (f->rows->source != NULL)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Streamed rows cannot be held out: add validation_query, a query of validation rows of their own.",
						  "%s needs validation rows", what);
	if (f->opt->validation_split > 0)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "validation_split holds out no row of so few: raise it or add rows.",
						  "%s needs validation rows", what);
	return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
					  "Add validation_split (for example 0.2) to hold rows out, or validation_query.",
					  "%s needs validation rows", what);
}

/* Everything before the first epoch: rows, split, what the kind learns. */
static HnStatus
FitPrepare(Fit *f, HnError *err)
{
	const HnRows *rows = f->rows;
	bool		values = rows->data ? rows->data->y != NULL : !rows->source->classes;
	void	   *prep = NULL;
	HnStatus	st;

	if (f->opt->validation != NULL)
	{
		if (f->opt->validation_split > 0)
			return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
							  "Use one of them: rows held out of the training query, or rows of a query of their own.",
							  "options \"validation_split\" and \"validation_query\" exclude each other");
		if (f->opt->validation->n == 0)
			return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
							  "The validation query returned no rows.",
							  "no rows to validate on");
		st = HnCheckRows(f->net, f->opt->validation, 0, err);
		if (st != HANAMI_OK)
			return st;
		if (f->hashing)
			f->rows_hash = FitHashRows(f->opt->validation, NULL,
									   f->opt->validation->n, f->rows_hash);
	}
	if (rows->data != NULL)
	{
		if (rows->data->n == 0 || (rows->order && rows->n == 0))
			return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
							  "The query returned no rows.",
							  "no rows to train on");
		st = HnCheckRows(f->net, rows->data, 0, err);
		if (st != HANAMI_OK)
			return st;
	}
	else if (f->opt->validation_split > 0)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Streamed rows cannot be held out.",
						  "validation_split needs the rows in memory");
	else if ((f->opt->patience > 0 || f->opt->restore_best) &&
			 f->opt->validation == NULL)
		return FitNeedsValidation(f, err);
	/* resumed: what the kind learns first is in the checkpoint's image */
	if (f->kf->prepare_begin != NULL && !f->resuming)
	{
		st = f->kf->prepare_begin(f->net, f->opt, values, rows->data != NULL,
								  f->alloc, &prep, err);
		if (st != HANAMI_OK)
			return st;
	}
	st = rows->data ? FitSplit(f, prep, err) : FitFirstPass(f, prep, err);
	/* validation rows of their own: every training row trains */
	if (st == HANAMI_OK && f->opt->validation != NULL)
		f->n_val = f->opt->validation->n;
	if (st == HANAMI_OK && f->n_val == 0 &&
		(f->opt->patience > 0 || f->opt->restore_best))
		st = FitNeedsValidation(f, err);
	if (prep != NULL)
	{
		if (st == HANAMI_OK)
			st = f->kf->prepare_end(prep, f->net, err);
		else
			f->kf->prepare_discard(prep);
	}
	return st;
}

/* Buffers of a batch, and of a chunk's order when streamed. */
static HnStatus
FitBuffers(Fit *f, HnError *err)
{
	size_t		b = (size_t) f->batch;

	f->xp = HnAlloc(f->alloc, b * sizeof(float *));
	f->yp = HnAlloc(f->alloc, b * sizeof(float *));
	f->cls = HnAlloc(f->alloc, b * sizeof(int32_t));
	f->bidx = HnAlloc(f->alloc, b * sizeof(int64_t));
	f->starts = HnAlloc(f->alloc, b);
	if (f->rows->source != NULL)
	{
		/* whole batches per chunk, so batches are those of rows in memory */
		int64_t		chunk = f->rows->source->chunk;

		f->max_rows = chunk >= f->batch ? chunk / f->batch * f->batch : chunk;
		if ((uint64_t) f->max_rows <= SIZE_MAX / sizeof(int64_t))
			f->order = HnAlloc(f->alloc, (size_t) f->max_rows * sizeof(int64_t));
	}
	if (f->xp == NULL || f->yp == NULL || f->cls == NULL || f->bidx == NULL ||
		f->starts == NULL || (f->rows->source != NULL && f->order == NULL))
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for training buffers");
	return HANAMI_OK;
}

/* The batches of one epoch: shuffled rows in memory, or chunk by chunk. */
static HnStatus
FitEpochRows(Fit *f, HnError *err)
{
	const HnRowSource *src = f->rows->source;
	HnDataset	chunk;
	int64_t		k;

	if (src == NULL)
	{
		if (f->opt->shuffle)
			RngShuffle(&f->rng, f->idx, f->n_train);
		return FitRun(f, f->rows->data, f->idx, f->n_train, err);
	}
	src->start(src->ctx);
	while (!f->stopped && (k = src->fetch(src->ctx, f->max_rows, &chunk)) > 0)
	{
		HnStatus	st;

		for (int64_t i = 0; i < k; i++)
			f->order[i] = i;
		if (f->opt->shuffle)
			RngShuffle(&f->rng, f->order, k);
		st = FitRun(f, &chunk, f->order, k, err);
		if (st != HANAMI_OK)
			return st;
	}
	return HANAMI_OK;
}

/*
 * Mean loss and accuracy over the validation rows, through the evaluator.
 * Sets *interrupted when the interrupt hook stopped it.
 */
static HnStatus
FitValidate(Fit *f, HnEpochReport *rep, bool *interrupted, HnError *err)
{
	HnRows		held = {f->rows->data, f->idx + f->n_train, f->n_val, NULL};
	HnRows		own = {f->opt->validation, NULL, 0, NULL};
	const HnRows *val = f->opt->validation != NULL ? &own : &held;
	HnEvalResult ev;
	HnStatus	st = HANAMI_OK;

	memset(&ev, 0, sizeof(ev));
	if (f->ops->sync != NULL)
		st = f->ops->sync(f->state, err);
	if (st == HANAMI_OK)
		st = HnEvaluateRows(f->net, val,
							f->n_val < f->batch ? (int) f->n_val : f->batch,
							true, &f->cb, f->alloc, &ev, err);
	*interrupted = ev.interrupted;
	rep->val_loss = ev.loss;
	rep->val_accuracy = ev.accuracy;
	return st;
}

/*
 * After an epoch's validation: a new lowest validation loss is the best
 * epoch (restore_best copies the image, brought up to date by the
 * validation); early stopping counts the epochs since the validation loss
 * last fell more than min_delta below the previous such improvement.
 */
static HnStatus
FitTrackBest(Fit *f, const HnEpochReport *rep, HnError *err)
{
	double		v = rep->val_loss;

	if (!isnan(v) && v < f->ref_val - f->opt->min_delta)
	{
		f->ref_val = v;
		f->waited = 0;
	}
	else
		f->waited++;
	if (isnan(v) || !(v < f->best_val))
		return HANAMI_OK;
	f->best_val = v;
	f->best_loss = rep->loss;
	f->best_acc = rep->val_accuracy;
	f->res->best_epoch = f->epoch;
	if (!f->opt->restore_best)
		return HANAMI_OK;
	if (f->best != NULL && f->best_len != f->net->len)
	{
		HnFree(f->alloc, f->best);
		f->best = NULL;
	}
	if (f->best == NULL)
	{
		f->best = HnAlloc(f->alloc, f->net->len);
		if (f->best == NULL)
			return HnSetError(err, HANAMI_E_NOMEM,
							  "restore_best keeps a copy of the network.",
							  "out of memory for the best epoch's weights");
		f->best_len = f->net->len;
	}
	memcpy(f->best, f->net->hdr, f->net->len);
	return HANAMI_OK;
}

/*
 * restore_best, after the stepper finished: the best epoch's image, with
 * the counters of every epoch trained.
 */
static HnStatus
FitRestoreBest(Fit *f, HnError *err)
{
	HnHeader   *hdr = f->net->hdr;
	uint32_t	epochs = hdr->epochs;
	uint64_t	samples = hdr->samples;

	if (f->best == NULL)
		return HANAMI_OK;
	if (f->best_len != f->net->len)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "The network changed size after its best epoch.",
						  "restore_best cannot restore a network that grows");
	memcpy(hdr, f->best, f->best_len);
	hdr->epochs = epochs;
	hdr->samples = samples;
	f->res->restored = true;
	f->res->loss = f->best_loss;
	f->res->val_loss = f->best_val;
	f->res->val_accuracy = f->best_acc;
	return HANAMI_OK;
}

/* Entries of f->idx: the rows in memory, training then held out. */
static int64_t
FitOrderLength(const Fit *f)
{
	if (f->idx == NULL)
		return 0;
	return f->rows->order ? f->rows->n : f->rows->data->n;
}

/*
 * The fit's state as a checkpoint blob, handed to the hook.  A blob that
 * cannot be made (no memory) is skipped: the fit goes on without it.
 */
static HnStatus
FitCheckpoint(Fit *f, HnError *err)
{
	HnCheckpoint ck;
	void	   *state = NULL;
	void	   *blob;
	size_t		len;
	HnStatus	st;

	if (f->ops->sync != NULL && (st = f->ops->sync(f->state, err)) != HANAMI_OK)
		return st;
	memset(&ck, 0, sizeof(ck));
	ck.flags = f->rows->source != NULL ? HN_CKPT_STREAMED : 0;
	ck.start_hash = f->start_hash;
	ck.options_hash = HnCheckpointOptionsHash(f->opt);
	ck.rows_hash = f->rows_hash;
	ck.n_train = f->n_train;
	ck.n_val = f->n_val;
	ck.epoch = f->epoch;
	ck.waited = f->waited;
	ck.best_epoch = f->res->best_epoch;
	ck.iterations = f->res->iterations;
	ck.removed = f->res->removed;
	ck.seconds = FitNow(f) - f->t0;
	if (!(ck.seconds >= 0))
		ck.seconds = 0;
	memcpy(ck.rng, f->rng.s, sizeof(ck.rng));
	ck.best_val = f->best_val;
	ck.ref_val = f->ref_val;
	ck.best_loss = f->best_loss;
	ck.best_acc = f->best_acc;
	ck.image = f->net->hdr;
	ck.image_len = f->net->len;
	ck.best = f->best;
	ck.best_len = f->best ? f->best_len : 0;
	ck.order = f->idx;
	ck.n_order = (uint64_t) FitOrderLength(f);
	snprintf(ck.stepper, sizeof(ck.stepper), "%s", f->ops->name ? f->ops->name : "");
	if (f->ops->save_size != NULL && f->ops->save != NULL)
	{
		ck.state_len = f->ops->save_size(f->state);
		state = ck.state_len > 0 ? HnAlloc(f->alloc, ck.state_len) : NULL;
		if (ck.state_len > 0 && state == NULL)
			return HANAMI_OK;
		if (state != NULL)
			f->ops->save(f->state, state);
		ck.state = state;
		ck.flags |= HN_CKPT_STEPPER;
	}
	len = HnCheckpointSize(&ck);
	blob = len > 0 ? HnAlloc(f->alloc, len) : NULL;
	if (blob != NULL)
	{
		HnCheckpointWrite(&ck, blob, len);
		f->ck_epoch = f->epoch;
		f->ck_time = FitNow(f);
		f->res->checkpoints++;
		/* the hook may longjmp: the allocator's memory is the caller's */
		f->cb.checkpoint(f->cb.ctx, f->epoch, blob, len);
		HnFree(f->alloc, blob);
	}
	HnFree(f->alloc, state);
	return HANAMI_OK;
}

/* Is a checkpoint due after this epoch? */
static bool
FitCheckpointDue(const Fit *f)
{
	const HnTrainOptions *opt = f->opt;

	if (f->cb.checkpoint == NULL || f->stopped || f->epoch >= opt->epochs)
		return false;
	if (opt->checkpoint_every > 0 && f->epoch - f->ck_epoch >= opt->checkpoint_every)
		return true;
	return opt->checkpoint_interval > 0 && f->cb.now != NULL &&
		FitNow(f) - f->ck_time >= opt->checkpoint_interval;
}

/* qsort order of int64 values (FitCompareRows by another name). */
#define FitCompareInt64 FitCompareRows

/*
 * The row order of the checkpoint, when it names the rows of this fit (a
 * permutation of them): into f->idx.  Else the order stays that of a fresh
 * split, and the rows count as changed.
 */
static HnStatus
FitResumeOrder(Fit *f, HnError *err)
{
	const HnCheckpoint *ck = &f->ck;
	int64_t		n = FitOrderLength(f);
	int64_t    *a;
	int64_t    *b;
	bool		same;

	if (n == 0 || ck->n_order != (uint64_t) n || ck->n_train != f->n_train ||
		ck->n_val != f->n_val)
	{
		f->res->resume_rows_changed = true;
		return HANAMI_OK;
	}
	a = HnAlloc(f->alloc, (size_t) n * sizeof(int64_t));
	b = HnAlloc(f->alloc, (size_t) n * sizeof(int64_t));
	if (a == NULL || b == NULL)
	{
		HnFree(f->alloc, a);
		HnFree(f->alloc, b);
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for training buffers");
	}
	memcpy(a, ck->order, (size_t) n * sizeof(int64_t));
	memcpy(b, f->idx, (size_t) n * sizeof(int64_t));
	qsort(a, (size_t) n, sizeof(int64_t), FitCompareInt64);
	qsort(b, (size_t) n, sizeof(int64_t), FitCompareInt64);
	same = memcmp(a, b, (size_t) n * sizeof(int64_t)) == 0;
	HnFree(f->alloc, b);
	if (same)
		memcpy(f->idx, ck->order, (size_t) n * sizeof(int64_t));
	HnFree(f->alloc, a);
	if (!same)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "The checkpoint is damaged or was not written by this version.",
						  "invalid checkpoint: its row order is not an order of the rows");
	return HANAMI_OK;
}

/*
 * Continue from the checkpoint in f->ck (HnCheckpointCheck accepted it):
 * its image (validated like any that enters), the best epoch's, the row
 * order, the random stream and the counters.  The stepper's state comes
 * after the stepper is made (FitTrain).
 */
static HnStatus
FitResume(Fit *f, HnError *err)
{
	const HnCheckpoint *ck = &f->ck;
	HnNet		nn;
	void	   *buf;
	HnStatus	st;

	if ((ck->flags & HN_CKPT_STREAMED) != (f->rows->source != NULL ? HN_CKPT_STREAMED : 0) ||
		ck->rows_hash != f->rows_hash)
		f->res->resume_rows_changed = true;
	if (ck->best != NULL && !f->opt->restore_best)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "The checkpoint is damaged or was not written by this version.",
						  "invalid checkpoint: a best epoch without restore_best");
	if (ck->image_len > SIZE_MAX || ck->best_len > SIZE_MAX)
		return HnSetError(err, HANAMI_E_TOO_LARGE, NULL, "checkpoint too large");
	if (ck->best != NULL)
	{
		f->best = HnAlloc(f->alloc, (size_t) ck->best_len);
		if (f->best == NULL)
			return HnSetError(err, HANAMI_E_NOMEM, NULL,
							  "out of memory for the best epoch's weights");
		memcpy(f->best, ck->best, (size_t) ck->best_len);
		f->best_len = (size_t) ck->best_len;
		if ((st = NetBind(&nn, f->best, f->best_len, err)) != HANAMI_OK ||
			nn.kind != f->net->kind)
			return st != HANAMI_OK ? st :
				HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL,
						   "invalid checkpoint: its best network is of another kind");
	}
	buf = HnAlloc(f->alloc, (size_t) ck->image_len);
	if (buf == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for the checkpoint's network");
	memcpy(buf, ck->image, (size_t) ck->image_len);
	if ((st = NetBind(&nn, buf, (size_t) ck->image_len, err)) != HANAMI_OK ||
		nn.kind != f->net->kind)
	{
		HnFree(f->alloc, buf);
		return st != HANAMI_OK ? st :
			HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL,
					   "invalid checkpoint: its network is of another kind");
	}
	if (nn.len == f->net->len)
	{
		memcpy(f->net->hdr, buf, nn.len);
		HnFree(f->alloc, buf);
		NetBindTrusted(f->net, f->net->hdr);
	}
	else
	{
		/* a network that grew: it moves, as a growing fit moves it */
		HnFree(f->alloc, f->net->hdr);
		NetBindTrusted(f->net, buf);
	}
	if (f->rows->source == NULL && (st = FitResumeOrder(f, err)) != HANAMI_OK)
		return st;
	memcpy(f->rng.s, ck->rng, sizeof(f->rng.s));
	f->epoch0 = f->ck_epoch = ck->epoch;
	f->res->epochs = ck->epoch;
	f->res->iterations = ck->iterations;
	f->res->removed = ck->removed;
	f->res->best_epoch = ck->best_epoch;
	f->res->resumed_epoch = ck->epoch;
	f->waited = ck->waited;
	f->best_val = ck->best_val;
	f->ref_val = ck->ref_val;
	f->best_loss = ck->best_loss;
	f->best_acc = ck->best_acc;
	f->t0 = FitNow(f) - ck->seconds;
	return HANAMI_OK;
}

/*
 * Close an epoch that trained rows: count it in the header, let the stepper
 * finish it, check for divergence, validate, report, and stop at the
 * error threshold.
 */
static HnStatus
FitEndEpoch(Fit *f, HnError *err)
{
	HnHeader   *hdr = f->net->hdr;
	HnEpochReport rep;
	double		more = 0.0;
	bool		finite = true;
	bool		interrupted = false;
	HnStatus	st;

	if (hdr->epochs < UINT32_MAX)
		hdr->epochs++;
	hdr->samples += (uint64_t) f->epoch_rows;
	f->res->epochs = f->epoch;
	if (f->ops->epoch_end != NULL)
	{
		st = f->ops->epoch_end(f->state, &more, &finite, err);
		if (st != HANAMI_OK)
			return st;
	}
	f->loss_sum += more;
	if (!isfinite(f->loss_sum))
		return FitDiverged(f, f->loss_sum, err);
	if (!finite)
		return FitDiverged(f, 0.0, err);

	memset(&rep, 0, sizeof(rep));
	rep.epoch = f->epoch;
	rep.iterations = f->res->iterations;
	rep.rows = f->epoch_rows;
	rep.loss = f->loss_sum / (double) f->epoch_rows;
	rep.val_loss = rep.val_accuracy = NAN;
	f->res->loss = rep.loss;
	if (f->n_val > 0)
	{
		st = FitValidate(f, &rep, &interrupted, err);
		if (st != HANAMI_OK)
			return st;
		if (interrupted)
		{
			FitStop(f, HANAMI_STOP_CALLBACK);
			return HANAMI_OK;
		}
	}
	rep.seconds = FitNow(f) - f->t0;
	f->res->val_loss = rep.val_loss;
	f->res->val_accuracy = rep.val_accuracy;
	if (f->cb.epoch_done)
		f->cb.epoch_done(f->cb.ctx, &rep);
	if (f->n_val > 0 && (f->opt->patience > 0 || f->opt->restore_best))
	{
		st = FitTrackBest(f, &rep, err);
		if (st != HANAMI_OK)
			return st;
	}
	if (!f->stopped && f->opt->error_threshold > 0 &&
		rep.loss <= f->opt->error_threshold)
		FitStop(f, HANAMI_STOP_THRESHOLD);
	if (!f->stopped && f->opt->patience > 0 && f->waited >= f->opt->patience)
		FitStop(f, HANAMI_STOP_EARLY);
	/* asked to end after this epoch (not after the last one: that is "epochs") */
	if (!f->stopped && f->epoch < f->opt->epochs && f->cb.stop && f->cb.stop(f->cb.ctx))
		FitStop(f, HANAMI_STOP_REQUESTED);
	if (FitCheckpointDue(f))
		return FitCheckpoint(f, err);
	return HANAMI_OK;
}

/* What the stepper is told about the fit. */
static void
FitPlan(Fit *f, HnFitPlan *plan)
{
	plan->max_batch = f->batch;
	plan->train_rows = f->n_train;
	plan->data = f->rows->data;
	plan->rng = &f->rng;
	plan->res = f->res;
}

/* Bytes of the stepper's name that lead a carried state. */
#define FIT_STATE_NAME 32

/*
 * Continue from options.stepper_state: the stepper's name, then its saved
 * state.  A state of another stepper, or one its load refuses, leaves a
 * fresh state (made again, since a refused load may have written part).
 */
static HnStatus
FitCarriedState(Fit *f, HnError *err)
{
	const char *blob = f->opt->stepper_state;
	size_t		len = f->opt->stepper_state_len;
	char		name[FIT_STATE_NAME];
	HnError		ignored;

	memset(name, 0, sizeof(name));
	if (f->ops->name != NULL)
		strncpy(name, f->ops->name, sizeof(name) - 1);
	if (f->ops->load != NULL && len >= FIT_STATE_NAME &&
		memcmp(blob, name, FIT_STATE_NAME) == 0 &&
		f->ops->load(f->state, blob + FIT_STATE_NAME, len - FIT_STATE_NAME,
					 &ignored) == HANAMI_OK)
		return HANAMI_OK;
	f->res->stepper_fresh = true;
	f->ops->free(f->state);
	f->state = NULL;
	{
		HnFitPlan	plan;

		FitPlan(f, &plan);
		return f->ops->create(f->ctx, f->net, f->opt, &plan, f->alloc,
							  &f->state, err);
	}
}

/* Hand the stepper's state to the stepper_state hook, when both exist. */
static HnStatus
FitHandState(Fit *f, HnError *err)
{
	size_t		len;
	char	   *blob;

	if (f->cb.stepper_state == NULL || f->ops->save_size == NULL ||
		f->ops->save == NULL)
		return HANAMI_OK;
	len = f->ops->save_size(f->state);
	blob = HnAlloc(f->alloc, FIT_STATE_NAME + len);
	if (blob == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for the stepper's state");
	memset(blob, 0, FIT_STATE_NAME);
	if (f->ops->name != NULL)
		strncpy(blob, f->ops->name, FIT_STATE_NAME - 1);
	f->ops->save(f->state, blob + FIT_STATE_NAME);
	f->cb.stepper_state(f->cb.ctx, blob, FIT_STATE_NAME + len);
	HnFree(f->alloc, blob);
	return HANAMI_OK;
}

/* The stepper, then epoch after epoch until a stop condition holds. */
static HnStatus
FitTrain(Fit *f, HnError *err)
{
	HnFitPlan	plan;
	HnStatus	st;

	FitPlan(f, &plan);
	st = f->ops->create(f->ctx, f->net, f->opt, &plan, f->alloc, &f->state,
						err);
	if (st != HANAMI_OK)
		return st;
	if (f->resuming)
	{
		/* the stepper's own state, when this stepper saved it */
		if ((f->ck.flags & HN_CKPT_STEPPER) && f->ops->load != NULL &&
			strcmp(f->ck.stepper, f->ops->name ? f->ops->name : "") == 0)
		{
			st = f->ops->load(f->state, f->ck.state, (size_t) f->ck.state_len,
							  err);
			if (st != HANAMI_OK)
				return st;
		}
		else
			f->res->resume_inexact = true;
	}
	else if (f->opt->stepper_state != NULL)
	{
		st = FitCarriedState(f, err);
		if (st != HANAMI_OK)
			return st;
	}
	if (f->cb.checkpoint != NULL)
		f->ck_time = FitNow(f);
	for (f->epoch = f->epoch0 + 1; f->epoch <= f->opt->epochs && !f->stopped; f->epoch++)
	{
		f->epoch_rows = 0;
		f->loss_sum = 0.0;
		if (f->ops->epoch_begin != NULL)
			f->ops->epoch_begin(f->state);
		st = FitEpochRows(f, err);
		if (st != HANAMI_OK)
			return st;
		if (f->epoch_rows == 0)
			break;
		st = FitEndEpoch(f, err);
		if (st != HANAMI_OK)
			return st;
	}
	if (f->ops->finish != NULL)
	{
		st = f->ops->finish(f->state, err);
		if (st != HANAMI_OK)
			return st;
	}
	st = FitHandState(f, err);
	if (st != HANAMI_OK)
		return st;
	return f->opt->restore_best ? FitRestoreBest(f, err) : HANAMI_OK;
}

/* Train net on rows; see fit.h. */
HnStatus
HnFit(HnNet *net, const HnRows *rows, const HnTrainOptions *opt,
	  const HnStepper *stepper, const HnCallbacks *cb,
	  const HnAllocator *alloc, HnTrainResult *res, HnError *err)
{
	HnTrainResult local;
	Fit			f;
	HnStatus	st;

	memset(&f, 0, sizeof(f));
	if (res == NULL)
		res = &local;
	memset(res, 0, sizeof(*res));
	res->loss = res->val_loss = res->val_accuracy = NAN;
	res->stop = HANAMI_STOP_EPOCHS;
	f.best_val = f.ref_val = INFINITY;
	f.kf = HnKindFitOf(net, "trained", err);
	if (f.kf == NULL)
		return err ? err->code : HANAMI_E_INVALID_ARGUMENT;
	f.net = net;
	f.carries = !HnRowsIndependent(net);
	f.rows = rows;
	f.opt = opt;
	f.ops = stepper ? stepper->ops : f.kf->stepper;
	f.ctx = stepper ? stepper->ctx : NULL;
	if (f.kf->rule_stepper != NULL)
	{
		const char *why = NULL;
		const HnStepperOps *rule = f.kf->rule_stepper(net, opt, &why);

		if (rule != NULL && stepper != NULL)
			return HnSetError(err, HANAMI_E_UNSUPPORTED, why,
							  "this training rule cannot run on the %s stepper",
							  stepper->ops->name ? stepper->ops->name : "chosen");
		if (rule != NULL)
			f.ops = rule;
	}
	if (cb != NULL)
		f.cb = *cb;
	f.alloc = alloc;
	f.res = res;
	f.t0 = FitNow(&f);
	RngSeed(&f.rng, f.kf->seed ? f.kf->seed(net, opt->seed) : opt->seed);

	st = HnCheckOptions(net, opt, err);
	/* checkpoints name the network the fit starts from, and the rows */
	f.hashing = (f.cb.checkpoint != NULL || opt->resume != NULL);
	if (st == HANAMI_OK && f.hashing)
		f.start_hash = HnHash64(net->hdr, net->len, 0);
	if (st == HANAMI_OK && opt->resume != NULL)
	{
		st = HnCheckpointCheck(net, opt, opt->resume, opt->resume_len, &f.ck,
							   err);
		f.resuming = st == HANAMI_OK;
	}
	/* a loss chosen by the options is the network's from now on */
	if (st == HANAMI_OK && opt->loss != 0)
		net->hdr->loss = (uint32_t) opt->loss;
	if (st == HANAMI_OK)
		st = FitPrepare(&f, err);
	if (st == HANAMI_OK)
	{
		f.batch = f.kf->online ? 1 :
			f.n_train < opt->batch_size ? (int) f.n_train : opt->batch_size;
		st = FitBuffers(&f, err);
	}
	if (st == HANAMI_OK && f.resuming)
		st = FitResume(&f, err);
	if (st == HANAMI_OK)
		st = FitTrain(&f, err);
	res->train_rows = f.n_train;
	res->val_rows = f.n_val;
	res->val_own = opt->validation != NULL;
	res->seconds = FitNow(&f) - f.t0;

	if (f.state != NULL)
		f.ops->free(f.state);
	HnFree(alloc, f.bidx);
	HnFree(alloc, f.starts);
	HnFree(alloc, f.cls);
	HnFree(alloc, f.yp);
	HnFree(alloc, f.xp);
	HnFree(alloc, f.order);
	HnFree(alloc, f.idx);
	HnFree(alloc, f.best);
	return st;
}
