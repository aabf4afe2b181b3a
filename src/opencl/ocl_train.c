/*
 * ocl_train.c - the OpenCL stepper (core/fit.h): the steps of a dense fit on
 * a device, under the fit driver that runs every fit (its checks, split,
 * scaling, shuffles, stop conditions, counters, validation and reports).
 *
 * The rows and their network-space targets are uploaded once; each batch
 * sends only its row indices, then is gathered, run forward and backward and
 * applied on the device; the rows' losses come back once per epoch, the
 * weights when the driver validates and at the end.
 */
#include "ocl_int.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "core/dense/dtype.h"
#include "core/dense/format.h"
#include "core/fit.h"

/* See ocl.h. */
bool
OclAutoPicks(const HnNet *net, bool train, int64_t batch, bool is_gpu)
{
	const DenseNet *d;

	if (!is_gpu || !(net->kind->caps & HANAMI_CAP_LAYERED) ||
		batch * (int64_t) net->hdr->n_params < OCL_AUTO_WORK)
		return false;
	d = net->kind->dense_view(net);
	if (d == NULL || d->n_programs > 0)
		return false;			/* custom activations run on the CPU only */
	/* OclDenseCreate refuses to train these */
	return !train || (DenseDtypeOf(d) == DENSE_DTYPE_F32 &&
					  !(d->hdr->flags & HANAMI_FLAG_POW2_QAT));
}

/* The context of the stepper: the session and where its errors go. */
typedef struct OclStepCtx
{
	OclSession *s;
	OclError   *err;
} OclStepCtx;

/* Host and device buffers of one device fit. */
typedef struct OclStep
{
	OclStepCtx *ctx;
	const HnAllocator *alloc;
	DenseNet   *net;
	OclDense   *d;
	uint64_t	mask;
	cl_mem		x;				/* every row's raw inputs */
	cl_mem		t;				/* every row's targets, network space */
	cl_mem		idx;			/* the epoch's row order, batch by batch */
	cl_mem		losses;			/* per-row losses of an epoch */
	uint32_t   *order;			/* host side of idx */
	float	   *host_losses;	/* an epoch's */
	int64_t		epoch_rows;		/* rows trained in this epoch */
} OclStep;

/* The stepper's error into the driver's (when they differ). */
static HnStatus
OclStepError(const OclStep *f, HnError *err)
{
	if (err != NULL && err != &f->ctx->err->base)
		*err = f->ctx->err->base;
	return f->ctx->err->base.code;
}

/* The network-space targets of every row of data, uploaded. */
static cl_mem
OclStepTargets(OclStep *f, const HnNet *net, const HnDataset *data)
{
	size_t		n_out = net->hdr->n_outputs;
	float	   *targets = HnAlloc(f->alloc, (size_t) data->n * n_out * sizeof(float));
	cl_mem		t;

	if (targets == NULL)
	{
		HnSetError(&f->ctx->err->base, HANAMI_E_NOMEM, NULL,
				   "out of memory for training buffers");
		return NULL;
	}
	for (int64_t r = 0; r < data->n; r++)
		HnRowTarget(net, data, r, targets + (size_t) r * n_out);
	t = OclBuffer(f->ctx->s, (size_t) data->n * n_out * sizeof(float), targets,
				  "training targets", f->ctx->err);
	HnFree(f->alloc, targets);
	return t;
}

/* Stepper: the network, the rows and their targets onto the device. */
static HnStatus
OclStepCreate(void *ctx, HnNet *net, const HnTrainOptions *opt,
			  const HnFitPlan *plan, const HnAllocator *alloc, void **state,
			  HnError *err)
{
	OclStepCtx *c = ctx;
	const HnDataset *data = plan->data;
	OclStep    *f;

	*state = NULL;
	if (data == NULL)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Use the device \"cpu\" for rows that are streamed.",
						  "the OpenCL device needs the training rows in memory");
	if (data->n > INT_MAX)
		return HnSetError(err, HANAMI_E_TOO_LARGE,
						  "Use the device \"cpu\" for more rows.",
						  "too many rows for the OpenCL backend");
	f = HnAllocZero(alloc, sizeof(OclStep));
	if (f == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for training buffers");
	*state = f;
	f->ctx = c;
	f->alloc = alloc;
	f->net = net->kind->dense_view ? net->kind->dense_view(net) : NULL;
	if (f->net == NULL)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Use the device \"cpu\" for this kind of network.",
						  "the OpenCL backend runs dense networks only");
	f->mask = opt->train_mask;
	f->order = HnAlloc(alloc, (size_t) data->n * sizeof(uint32_t));
	f->host_losses = HnAlloc(alloc, (size_t) plan->train_rows * sizeof(float));
	if (f->order == NULL || f->host_losses == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for training buffers");

	/* the network (after scaling), the rows, their targets */
	f->d = OclDenseCreate(c->s, f->net, plan->max_batch, &opt->optim, alloc,
						  c->err);
	if (f->d == NULL ||
		(f->x = OclBuffer(c->s, (size_t) data->n * data->n_features * sizeof(float),
						  data->x, "training rows", c->err)) == NULL ||
		(f->t = OclStepTargets(f, net, data)) == NULL ||
		(f->idx = OclBuffer(c->s, (size_t) data->n * sizeof(uint32_t), NULL,
							"row order", c->err)) == NULL ||
		(f->losses = OclBuffer(c->s, (size_t) plan->train_rows * sizeof(float),
							   NULL, "row losses", c->err)) == NULL)
		return OclStepError(f, err);
	return HANAMI_OK;
}

/* Stepper: an epoch's losses start at position 0. */
static void
OclStepEpochBegin(void *state)
{
	((OclStep *) state)->epoch_rows = 0;
}

/*
 * Stepper: upload the batch's row indices after the epoch's earlier ones
 * (not waiting: that host memory is written again only after the epoch's
 * losses were read, which waits for the queue), then gather, forward,
 * losses, backward and update on the device.
 */
static HnStatus
OclStepStep(void *state, const HnBatch *b, double *loss, HnError *err)
{
	OclStep    *f = state;
	OclDense   *d = f->d;
	OclSession *s = f->ctx->s;
	OclError   *oerr = f->ctx->err;
	int			pos = (int) f->epoch_rows;
	HnStatus	st;

	(void) loss;
	for (int k = 0; k < b->count; k++)
		f->order[pos + k] = (uint32_t) b->rows[k];
	st = OclWrite(s, f->idx, (size_t) pos * sizeof(uint32_t),
				  (size_t) b->count * sizeof(uint32_t), f->order + pos, false,
				  oerr);
	if (st == HANAMI_OK)
		st = OCL_RUN1(s, OCL_K_GATHER_INPUT, (size_t) b->count * d->n_in, oerr,
					  "mmiiiimmfm", f->x, f->idx, pos, 1, b->count,
					  (int) d->n_in, d->in_shift, d->in_mul,
					  (double) d->in_clip, d->a[0]);
	if (st == HANAMI_OK)
		st = OCL_RUN1(s, OCL_K_GATHER_ROWS, (size_t) b->count * d->n_out, oerr,
					  "mmiiim", f->t, f->idx, pos, b->count, (int) d->n_out,
					  d->t);
	if (st == HANAMI_OK)
		st = OclDenseForwardRows(d, b->count, oerr);
	if (st == HANAMI_OK)
		st = OclDenseLossRows(d, d->t, b->count, f->losses, pos, true, oerr);
	if (st == HANAMI_OK)
		st = OclDenseBackwardRows(d, b->count, f->mask, oerr);
	if (st == HANAMI_OK)
		st = OclDenseStepRows(d, f->mask, oerr);
	if (st == HANAMI_OK)
		st = OclThrottle(s, oerr);
	if (st != HANAMI_OK)
		return OclStepError(f, err);
	f->epoch_rows += b->count;
	return HANAMI_OK;
}

/* Stepper: the epoch's losses (summed in row order) and finite weights. */
static HnStatus
OclStepEpochEnd(void *state, double *loss, bool *finite, HnError *err)
{
	OclStep    *f = state;
	double		sum = 0.0;

	if (OclRead(f->ctx->s, f->losses, 0, (size_t) f->epoch_rows * sizeof(float),
				f->host_losses, f->ctx->err) != HANAMI_OK ||
		OclDenseParamsFinite(f->d, finite, f->ctx->err) != HANAMI_OK)
		return OclStepError(f, err);
	for (int64_t i = 0; i < f->epoch_rows; i++)
		sum += f->host_losses[i];
	*loss += sum;
	return HANAMI_OK;
}

/* Stepper: the device's weights into the image. */
static HnStatus
OclStepSync(void *state, HnError *err)
{
	OclStep    *f = state;

	if (OclDenseReadParams(f->d, f->net->params, f->ctx->err) != HANAMI_OK)
		return OclStepError(f, err);
	return HANAMI_OK;
}

/* Stepper: host buffers (the device buffers belong to the session). */
static void
OclStepFree(void *state)
{
	OclStep    *f = state;

	HnFree(f->alloc, f->d);
	HnFree(f->alloc, f->host_losses);
	HnFree(f->alloc, f->order);
	HnFree(f->alloc, f);
}

static const HnStepperOps OclStepper = {
	.name = "opencl",
	.create = OclStepCreate,
	.epoch_begin = OclStepEpochBegin,
	.step = OclStepStep,
	.epoch_end = OclStepEpochEnd,
	.sync = OclStepSync,
	.finish = OclStepSync,
	.free = OclStepFree,
};

/* See ocl.h. */
HnStatus
OclTrainFit(OclSession *s, DenseNet *net, const HnDataset *data,
			const HnTrainOptions *opt, const HnCallbacks *cb,
			const HnAllocator *alloc, HnTrainResult *res, OclError *err)
{
	OclStepCtx	ctx = {s, err};
	HnStepper	stepper = {&OclStepper, &ctx};
	HnRows		rows = {data, NULL, 0, NULL};
	HnNet		hn;

	OclErrorClear(err);
	NetBindTrusted(&hn, net->hdr);
	return HnFit(&hn, &rows, opt, &stepper, cb, alloc, res, &err->base);
}
