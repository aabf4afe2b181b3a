/*
 * ocl_train.c - TrainFit on an OpenCL device.
 *
 * The same fit as src/core/train.c, step for step: the same checks, the
 * seeded validation split and per-epoch shuffles (drawn on the host from
 * the same generator), the same learned scaling, stop conditions, counters
 * and callbacks.  The rows and their network-space targets are uploaded
 * once, the row order once per epoch; batches are gathered, run forward and
 * backward and applied on the device; only the rows' losses (once per
 * epoch), the validation results and finally the weights come back.
 */
#include "ocl_int.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

/* qsort order of row indices. */
static int
OclCompareRows(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/*
 * Learn the scaling TrainFit would learn: input scaling when asked for and
 * not yet fitted (or on rescale), output scaling likewise for mse
 * regression on an identity output.  TrainFitScaling learns both; what must
 * not change is put back.
 */
static HnStatus
OclFitScaling(DenseNet *net, const HnDataset *data, const HnTrainOptions *opt,
			  int64_t n_train, const int64_t *idx, const HnAllocator *alloc,
			  OclError *err)
{
	uint32_t	flags = net->hdr->flags;
	uint32_t	in_flags = HANAMI_FLAG_INPUT_FITTED | HANAMI_FLAG_INPUT_CLIP;
	uint32_t	last = net->hdr->n_layers - 1;
	size_t		n_in = net->hdr->n_inputs;
	size_t		n_out = net->hdr->n_outputs;
	bool		want_in = (flags & HANAMI_FLAG_SCALE_INPUT) &&
		(opt->rescale || !(flags & HANAMI_FLAG_INPUT_FITTED));
	bool		scalable = data->y != NULL && data->cls == NULL &&
		net->hdr->loss == HANAMI_LOSS_MSE &&
		net->layers[last].activation == HANAMI_ACT_IDENTITY;
	bool		want_out = scalable &&
		(opt->rescale || !(flags & HANAMI_FLAG_OUTPUT_FITTED));
	float	   *saved;

	if (!want_in && !want_out)
		return HANAMI_OK;
	saved = HnAlloc(alloc, (2 * n_in + 2 * n_out) * sizeof(float));
	if (saved == NULL)
		return HnSetError(&err->base, HANAMI_E_NOMEM, NULL,
						  "out of memory for training buffers");
	memcpy(saved, net->in_shift, n_in * sizeof(float));
	memcpy(saved + n_in, net->in_mul, n_in * sizeof(float));
	memcpy(saved + 2 * n_in, net->out_shift, n_out * sizeof(float));
	memcpy(saved + 2 * n_in + n_out, net->out_mul, n_out * sizeof(float));
	if (TrainFitScaling(net, data, n_train, idx, alloc,
						&err->base) != HANAMI_OK)
	{
		HnFree(alloc, saved);
		return err->base.code;
	}
	if (!want_in)
	{
		memcpy(net->in_shift, saved, n_in * sizeof(float));
		memcpy(net->in_mul, saved + n_in, n_in * sizeof(float));
		net->hdr->flags = (net->hdr->flags & ~in_flags) | (flags & in_flags);
	}
	if (!want_out)
	{
		memcpy(net->out_shift, saved + 2 * n_in, n_out * sizeof(float));
		memcpy(net->out_mul, saved + 2 * n_in + n_out, n_out * sizeof(float));
		net->hdr->flags = (net->hdr->flags & ~HANAMI_FLAG_OUTPUT_FITTED) |
			(flags & HANAMI_FLAG_OUTPUT_FITTED);
	}
	HnFree(alloc, saved);
	return HANAMI_OK;
}

/* Host and device buffers of one device fit. */
typedef struct OclFit
{
	OclSession *s;
	OclDense   *d;
	const DenseNet *net;
	const HnDataset *data;
	int64_t		n_train;
	int64_t		n_val;
	int			batch;
	cl_mem		x;				/* every row's raw inputs */
	cl_mem		t;				/* every row's targets, network space */
	cl_mem		idx;			/* row order: training rows, then validation */
	cl_mem		losses;			/* per-row losses of an epoch */
	cl_mem		val_losses;		/* per-row losses of the validation rows */
	float	   *host_losses;	/* max(n_train, n_val) */
	int32_t    *host_cls;		/* n_val */
} OclFit;

/* Enqueue the gathers of count rows from position pos of the row order. */
static HnStatus
OclFitGather(OclFit *f, int64_t pos, int count, OclError *err)
{
	OclDense   *d = f->d;
	HnStatus	st;

	st = OCL_RUN1(f->s, OCL_K_GATHER_INPUT, (size_t) count * d->n_in, err,
				  "mmiiiimmfm", f->x, f->idx, (int) pos, 1, count,
				  (int) d->n_in, d->in_shift, d->in_mul, (double) d->in_clip,
				  d->a[0]);
	if (st == HANAMI_OK)
		st = OCL_RUN1(f->s, OCL_K_GATHER_ROWS, (size_t) count * d->n_out, err,
					  "mmiiim", f->t, f->idx, (int) pos, count,
					  (int) d->n_out, d->t);
	return st;
}

/* Sum of n per-row losses read back from buf, in double. */
static HnStatus
OclFitLossSum(OclFit *f, cl_mem buf, int64_t n, double *sum, OclError *err)
{
	HnStatus	st = OclRead(f->s, buf, 0, (size_t) n * sizeof(float),
							 f->host_losses, err);

	*sum = 0.0;
	for (int64_t i = 0; st == HANAMI_OK && i < n; i++)
		*sum += f->host_losses[i];
	return st;
}

/* Mean loss and accuracy over the validation rows (TrainValidate). */
static HnStatus
OclFitValidate(OclFit *f, const int64_t *val_rows, double *val_loss,
			   double *val_acc, OclError *err)
{
	OclDense   *d = f->d;
	int64_t		correct = 0;
	int64_t		labelled = 0;
	double		sum;
	HnStatus	st = HANAMI_OK;

	for (int64_t r0 = 0; st == HANAMI_OK && r0 < f->n_val; r0 += f->batch)
	{
		int			count = (int) (f->n_val - r0 < f->batch ?
								   f->n_val - r0 : f->batch);

		st = OclFitGather(f, f->n_train + r0, count, err);
		if (st == HANAMI_OK)
			st = OclDenseForwardRows(d, count, err);
		if (st == HANAMI_OK)
			st = OclDenseLossRows(d, d->t, count, f->val_losses, (int) r0,
								  false, err);
		if (st == HANAMI_OK)
			st = OCL_RUN1(f->s, OCL_K_ARGMAX, count, err, "miim",
						  d->a[d->n_layers - 1], count, (int) d->n_out, d->cls);
		if (st == HANAMI_OK)
			st = OclRead(f->s, d->cls, 0, (size_t) count * sizeof(int32_t),
						 f->host_cls + r0, err);
	}
	if (st == HANAMI_OK)
		st = OclFitLossSum(f, f->val_losses, f->n_val, &sum, err);
	if (st != HANAMI_OK)
		return st;
	for (int64_t k = 0; k < f->n_val; k++)
	{
		int			c = TrainTrueClass(f->net, f->data, val_rows[k]);

		if (c >= 0)
		{
			labelled++;
			correct += f->host_cls[k] == c;
		}
	}
	*val_loss = sum / (double) f->n_val;
	*val_acc = labelled == f->n_val ?
		(double) correct / (double) f->n_val : NAN;
	return HANAMI_OK;
}

/* Upload count entries of the row order from position pos. */
static HnStatus
OclFitOrder(OclFit *f, const int64_t *idx, int64_t pos, int64_t count,
			uint32_t *tmp, OclError *err)
{
	for (int64_t i = 0; i < count; i++)
		tmp[i] = (uint32_t) idx[pos + i];
	/* blocking: tmp is reused, and the epoch's batches read the order */
	return OclWrite(f->s, f->idx, (size_t) pos * sizeof(uint32_t),
					(size_t) count * sizeof(uint32_t), tmp, true, err);
}

/* A "training diverged" error for an epoch. */
static HnStatus
OclDiverged(OclError *err, const char *what, int epoch)
{
	char		detail[HANAMI_ERRMSG_LEN];

	OclErrorClear(err);
	snprintf(detail, sizeof(detail),
			 "%s in epoch %d; try a lower learning rate or scaled inputs.",
			 what, epoch);
	return HnSetError(&err->base, HANAMI_E_DIVERGED, detail,
					  "training diverged");
}

/* See ocl.h. */
HnStatus
OclTrainFit(OclSession *s, DenseNet *net, const HnDataset *data,
			const HnTrainOptions *opt, const HnCallbacks *cb,
			const HnAllocator *alloc, HnTrainResult *res, OclError *err)
{
	HnCallbacks nocb = {0};
	HnTrainResult local;
	OclFit		f;
	HnRng		rng;
	HnStatus	st;
	int64_t		n = data->n;
	int64_t	   *idx = NULL;
	uint32_t   *order = NULL;
	float	   *targets = NULL;
	uint64_t	mask = opt->train_mask;
	size_t		n_out = net->hdr->n_outputs;
	double		t0;
	bool		stop = false;

	OclErrorClear(err);
	memset(&f, 0, sizeof(f));
	if (cb == NULL)
		cb = &nocb;
	if (res == NULL)
		res = &local;
	memset(res, 0, sizeof(*res));
	res->loss = res->val_loss = res->val_accuracy = NAN;

	st = TrainCheckData(net, data, "train on", &err->base);
	if (st == HANAMI_OK)
		st = TrainCheckOptions(net, opt, &err->base);
	if (st != HANAMI_OK)
		return st;
	if (n > INT_MAX)
		return HnSetError(&err->base, HANAMI_E_TOO_LARGE,
						  "Use the device \"cpu\" for more rows.",
						  "too many rows for the OpenCL backend");
	f.s = s;
	f.net = net;
	f.data = data;
	f.n_val = (int64_t) floor((double) n * opt->validation_split);
	f.n_train = n - f.n_val;
	if (f.n_train < 1)
		return HnSetError(&err->base, HANAMI_E_INVALID_ARGUMENT,
						  "Lower validation_split or add rows.",
						  "validation_split leaves no rows to train on");
	f.batch = f.n_train < opt->batch_size ? (int) f.n_train : opt->batch_size;

	idx = HnAlloc(alloc, (size_t) n * sizeof(int64_t));
	order = HnAlloc(alloc, (size_t) n * sizeof(uint32_t));
	targets = HnAlloc(alloc, (size_t) n * n_out * sizeof(float));
	f.host_losses = HnAlloc(alloc, (size_t) n * sizeof(float));
	f.host_cls = HnAlloc(alloc, (size_t) (f.n_val > 0 ? f.n_val : 1) * sizeof(int32_t));
	if (idx == NULL || order == NULL || targets == NULL ||
		f.host_losses == NULL || f.host_cls == NULL)
	{
		st = HnSetError(&err->base, HANAMI_E_NOMEM, NULL,
						"out of memory for training buffers");
		goto done;
	}

	/* validation split by a seeded shuffle; training rows follow */
	for (int64_t i = 0; i < n; i++)
		idx[i] = i;
	RngSeed(&rng, opt->seed);
	if (f.n_val > 0)
	{
		RngShuffle(&rng, idx, n);
		if (!opt->shuffle)
			qsort(idx, (size_t) f.n_train, sizeof(int64_t), OclCompareRows);
	}
	res->train_rows = f.n_train;
	res->val_rows = f.n_val;
	st = OclFitScaling(net, data, opt, f.n_train, idx, alloc, err);
	if (st != HANAMI_OK)
		goto done;
	for (int64_t r = 0; r < n; r++)
		TrainTarget(net, data, r, targets + (size_t) r * n_out);

	/* the network (after scaling), the rows, their targets and order */
	f.d = OclDenseCreate(s, net, f.batch, &opt->optim, alloc, err);
	if (f.d == NULL)
	{
		st = err->base.code;
		goto done;
	}
	if ((f.x = OclBuffer(s, (size_t) n * data->n_features * sizeof(float),
						 data->x, "training rows", err)) == NULL ||
		(f.t = OclBuffer(s, (size_t) n * n_out * sizeof(float), targets,
						 "training targets", err)) == NULL ||
		(f.idx = OclBuffer(s, (size_t) n * sizeof(uint32_t), NULL,
						   "row order", err)) == NULL ||
		(f.losses = OclBuffer(s, (size_t) f.n_train * sizeof(float), NULL,
							  "row losses", err)) == NULL ||
		(f.val_losses = OclBuffer(s, (size_t) (f.n_val > 0 ? f.n_val : 1) * sizeof(float),
								  NULL, "row losses", err)) == NULL)
	{
		st = err->base.code;
		goto done;
	}
	HnFree(alloc, targets);
	targets = NULL;
	st = OclFitOrder(&f, idx, 0, n, order, err);
	if (st != HANAMI_OK)
		goto done;

	t0 = cb->now ? cb->now(cb->ctx) : 0.0;
	for (int epoch = 1; epoch <= opt->epochs && !stop; epoch++)
	{
		double		loss_sum = 0.0;
		int64_t		done_rows = 0;
		bool		finite;
		HnEpochReport rep;

		if (opt->shuffle)
		{
			RngShuffle(&rng, idx, f.n_train);
			st = OclFitOrder(&f, idx, 0, f.n_train, order, err);
			if (st != HANAMI_OK)
				goto done;
		}
		for (int64_t r0 = 0; r0 < f.n_train; r0 += f.batch)
		{
			int			count = (int) (f.n_train - r0 < f.batch ?
									   f.n_train - r0 : f.batch);

			/* the caller's signal mask here: the hook may longjmp */
			if (cb->interrupt && cb->interrupt(cb->ctx))
			{
				res->stop = HANAMI_STOP_CALLBACK;
				stop = true;
				break;
			}
			st = OclFitGather(&f, r0, count, err);
			if (st == HANAMI_OK)
				st = OclDenseForwardRows(f.d, count, err);
			if (st == HANAMI_OK)
				st = OclDenseLossRows(f.d, f.d->t, count, f.losses, (int) r0,
									  true, err);
			if (st == HANAMI_OK)
				st = OclDenseBackwardRows(f.d, count, mask, err);
			if (st == HANAMI_OK)
				st = OclDenseStepRows(f.d, mask, err);
			if (st == HANAMI_OK)
				st = OclThrottle(s, err);
			if (st != HANAMI_OK)
				goto done;
			done_rows += count;
			res->iterations++;
			if (opt->max_iterations > 0 &&
				res->iterations >= opt->max_iterations)
			{
				res->stop = HANAMI_STOP_ITERATIONS;
				stop = true;
				break;
			}
			if (opt->timeout > 0 && cb->now &&
				cb->now(cb->ctx) - t0 >= opt->timeout)
			{
				res->stop = HANAMI_STOP_TIMEOUT;
				stop = true;
				break;
			}
		}
		if (done_rows == 0)
			break;
		st = OclFitLossSum(&f, f.losses, done_rows, &loss_sum, err);
		if (st != HANAMI_OK)
			goto done;
		if (!isfinite(loss_sum))
		{
			st = OclDiverged(err, isnan(loss_sum) ? "The loss became NaN" :
							 "The loss became infinite", epoch);
			goto done;
		}
		st = OclDenseParamsFinite(f.d, &finite, err);
		if (st != HANAMI_OK)
			goto done;
		if (!finite)
		{
			st = OclDiverged(err, "A weight became NaN or infinite", epoch);
			goto done;
		}

		rep.epoch = epoch;
		rep.iterations = res->iterations;
		rep.rows = done_rows;
		rep.loss = loss_sum / (double) done_rows;
		rep.val_loss = NAN;
		rep.val_accuracy = NAN;
		if (f.n_val > 0)
		{
			st = OclFitValidate(&f, idx + f.n_train, &rep.val_loss,
								&rep.val_accuracy, err);
			if (st != HANAMI_OK)
				goto done;
		}
		rep.seconds = cb->now ? cb->now(cb->ctx) - t0 : 0.0;

		res->epochs = epoch;
		res->loss = rep.loss;
		res->val_loss = rep.val_loss;
		res->val_accuracy = rep.val_accuracy;
		res->seconds = rep.seconds;
		if (net->hdr->epochs < UINT32_MAX)
			net->hdr->epochs++;
		net->hdr->samples += (uint64_t) done_rows;
		if (cb->epoch_done)
			cb->epoch_done(cb->ctx, &rep);

		if (!stop && opt->error_threshold > 0 &&
			rep.loss <= opt->error_threshold)
		{
			res->stop = HANAMI_STOP_THRESHOLD;
			stop = true;
		}
	}
	if (!stop)
		res->stop = HANAMI_STOP_EPOCHS;
	st = OclDenseReadParams(f.d, net->params, err);
	res->seconds = cb->now ? cb->now(cb->ctx) - t0 : 0.0;

done:
	HnFree(alloc, f.d);			/* its buffers belong to the session */
	HnFree(alloc, f.host_cls);
	HnFree(alloc, f.host_losses);
	HnFree(alloc, targets);
	HnFree(alloc, order);
	HnFree(alloc, idx);
	return st;
}
