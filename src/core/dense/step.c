/*
 * dense/step.c - the training step of a dense network (see dense/step.h): batched
 * forward and backward passes split by rows, weight gradients fused with the
 * optimizer update and split by weight rows, on buffers allocated once.
 */
#include "core/dense/step.h"

#include "core/dense/dtype.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "core/dense/act.h"
#include "core/dense/dense.h"
#include "core/dense/kind.h"
#include "core/simd.h"
#include "core/loss.h"

/* Weight rows per block of the fused gradient + update (a multiple of 6). */
#define HANAMI_TRAINER_RB	24

/* Rows per thread below which the forward/backward pass stays on one thread. */
#define HANAMI_TRAINER_MIN_ROWS	2

/*
 * Rows per piece of the forward/backward pass handed to threads.  Pieces are
 * claimed one at a time, so a thread the system holds back delays only the
 * piece it has; what each value is made of never depends on who makes it.
 */
#define HANAMI_TRAINER_ROW_PIECE	8

/* SimdGemmSkip's row groups must not straddle pieces or update blocks. */
_Static_assert(HANAMI_TRAINER_ROW_PIECE % HANAMI_SKIP_GROUP_ROWS == 0 &&
			   HANAMI_TRAINER_RB % HANAMI_SKIP_GROUP_ROWS == 0,
			   "skip groups must align with the trainer's pieces and blocks");

/* Weights below which the update stays on one thread. */
#define HANAMI_TRAINER_MIN_PARAMS	16384

/* Buffers start on cache-line boundaries. */
#define HANAMI_TRAINER_ALIGN	64

struct HnTrainer
{
	DenseNet   *net;
	const HnAllocator *alloc;
	HnPool	   *pool;
	int			max_batch;
	int			n_layers;
	int			lo;				/* lowest trained layer */
	uint64_t	mask;
	uint64_t	n_update;		/* weights of the trained layers */
	HnOptimState *optim;
	void	   *mem;			/* every buffer below */
	float	   *a[HANAMI_MAX_LAYERS];	/* activations; a[0] scaled input */
	float	   *z[HANAMI_MAX_LAYERS];	/* pre-activations */
	float	   *d[HANAMI_MAX_LAYERS];	/* dL/dz, for layers >= lo */
	float	   *wt[HANAMI_MAX_LAYERS];	/* transposed weights, layers > lo */
	float	   *tgt;			/* network-space targets of the batch */
	double	   *row_loss;
	float	   *scratch;		/* per thread: RB * max width */
	size_t		scratch_len;
	float	   *qw;				/* HANAMI_FLAG_POW2_QAT: the weights rounded
								 * to pow2 for this step (parameter layout),
								 * or NULL: the weights as they are */

	/* the step in progress */
	atomic_size_t next_piece;	/* next piece of work to claim */
	const HnBatch *batch;
	int			count;
	float		step;			/* adam: step size with bias correction */
	float		vscale;
};

/* Add n floats to a layout at *offset (aligned); false on overflow. */
static bool
TrainerReserve(size_t *offset, size_t n, size_t *at)
{
	size_t		bytes;
	size_t		end;

	if (!HnMulSize(n, sizeof(float), &bytes) ||
		!HnAddSize(*offset, HANAMI_TRAINER_ALIGN - 1, &end))
		return false;
	end &= ~(size_t) (HANAMI_TRAINER_ALIGN - 1);
	*at = end;
	return HnAddSize(end, bytes, offset);
}

/* Make a trainer; see dense/step.h. */
HnTrainer *
TrainerCreate(DenseNet *net, const HnTrainOptions *opt, int max_batch,
			  HnPool *pool, const HnAllocator *alloc, HnError *err)
{
	HnTrainer  *t;
	int			n_layers = (int) net->hdr->n_layers;
	size_t		width = DenseMaxWidth(net);
	size_t		batch = (size_t) max_batch;
	size_t		offset = 0;
	size_t		at_a[HANAMI_MAX_LAYERS];
	size_t		at_z[HANAMI_MAX_LAYERS];
	size_t		at_d[HANAMI_MAX_LAYERS];
	size_t		at_wt[HANAMI_MAX_LAYERS];
	size_t		at_tgt;
	size_t		at_scratch;
	size_t		n;
	int			threads = PoolSize(pool);
	char	   *base;

	if (max_batch < 1)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
				   "batch size must be at least 1");
		return NULL;
	}
	t = HnAllocZero(alloc, sizeof(HnTrainer));
	if (t == NULL)
		goto nomem;
	t->net = net;
	t->alloc = alloc;
	t->pool = pool;
	t->max_batch = max_batch;
	t->n_layers = n_layers;
	t->mask = opt->train_mask;
	for (int l = n_layers - 1; l >= 1; l--)
		if (t->mask & ((uint64_t) 1 << l))
		{
			t->lo = l;
			t->n_update += (uint64_t) net->layers[l - 1].count *
				net->layers[l].count;
		}
	if (t->lo == 0)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
				   "Layer 0 is the input layer and has no parameters.",
				   "no layer selected for training");
		HnFree(alloc, t);
		return NULL;
	}

	/* the layout of every buffer, in one allocation */
	for (int l = 0; l < n_layers; l++)
	{
		size_t		w = (size_t) net->layers[l].count;

		at_z[l] = at_d[l] = at_wt[l] = 0;
		if (!HnMulSize(batch, w, &n) || !TrainerReserve(&offset, n, &at_a[l]))
			goto too_large;
		if (l > 0 && !TrainerReserve(&offset, n, &at_z[l]))
			goto too_large;
		if (l >= t->lo && !TrainerReserve(&offset, n, &at_d[l]))
			goto too_large;
		if (l > t->lo &&
			(!HnMulSize(w, net->layers[l - 1].count, &n) ||
			 !TrainerReserve(&offset, n, &at_wt[l])))
			goto too_large;
	}
	if (!HnMulSize(batch, net->hdr->n_outputs, &n) ||
		!TrainerReserve(&offset, n, &at_tgt) ||
		!HnMulSize(width, HANAMI_TRAINER_RB, &t->scratch_len) ||
		!HnMulSize(t->scratch_len, (size_t) threads, &n) ||
		!TrainerReserve(&offset, n, &at_scratch) ||
		!HnAddSize(offset, HANAMI_TRAINER_ALIGN, &offset))
		goto too_large;

	t->mem = HnAlloc(alloc, offset);
	t->row_loss = HnAlloc(alloc, batch * sizeof(double));
	if (t->mem == NULL || t->row_loss == NULL)
		goto nomem;
	base = (char *) t->mem + ((HANAMI_TRAINER_ALIGN -
							   ((uintptr_t) t->mem % HANAMI_TRAINER_ALIGN)) %
							  HANAMI_TRAINER_ALIGN);
	for (int l = 0; l < n_layers; l++)
	{
		t->a[l] = (float *) (base + at_a[l]);
		t->z[l] = l > 0 ? (float *) (base + at_z[l]) : NULL;
		t->d[l] = l >= t->lo ? (float *) (base + at_d[l]) : NULL;
		t->wt[l] = l > t->lo ? (float *) (base + at_wt[l]) : NULL;
	}
	t->tgt = (float *) (base + at_tgt);
	t->scratch = (float *) (base + at_scratch);

	t->optim = OptimCreate(net, &opt->optim, alloc, err);
	if (t->optim == NULL)
	{
		TrainerFree(t);
		return NULL;
	}
	if (net->hdr->flags & HANAMI_FLAG_POW2_QAT)
	{
		t->qw = HnAlloc(alloc, (size_t) net->hdr->n_params * sizeof(float));
		if (t->qw == NULL)
		{
			TrainerFree(t);
			HnSetError(err, HANAMI_E_NOMEM, NULL,
					   "out of memory for a training workspace");
			return NULL;
		}
	}
	return t;

too_large:
	HnFree(alloc, t);
	HnSetError(err, HANAMI_E_TOO_LARGE, "Use a smaller batch size.",
			   "training workspace is too large");
	return NULL;

nomem:
	if (t != NULL)
	{
		HnFree(alloc, t->mem);
		HnFree(alloc, t->row_loss);
		HnFree(alloc, t);
	}
	HnSetError(err, HANAMI_E_NOMEM, NULL,
			   "out of memory for a training workspace");
	return NULL;
}

/* Free a trainer (the pool belongs to the caller). */
void
TrainerFree(HnTrainer *t)
{
	if (t == NULL)
		return;
	OptimFree(t->optim, t->alloc);
	HnFree(t->alloc, t->qw);
	HnFree(t->alloc, t->mem);
	HnFree(t->alloc, t->row_loss);
	HnFree(t->alloc, t);
}

/*
 * The weights of layer l the forward and backward passes use: the float
 * weights, or (pow2 training) those rounded to pow2 at the start of the
 * step; their gradient goes to the float weights unchanged (straight-
 * through estimator).
 */
static inline const float *
TrainerWeights(const HnTrainer *t, int l)
{
	return t->qw ? t->qw + t->net->layers[l].param_offset :
		DenseWeights(t->net, l);
}

/* Target values into network space; see dense/step.h. */
void
DenseScaleTargets(const DenseNet *net, float *t, int n)
{
	uint32_t	n_out = net->hdr->n_outputs;

	for (int k = 0; k < n; k++)
		for (uint32_t j = 0; j < n_out; j++)
			t[(size_t) k * n_out + j] = (t[(size_t) k * n_out + j] -
										 net->out_shift[j]) / net->out_mul[j];
}

/* Network-space targets of batch row k into dst. */
static void
TrainerTarget(const HnTrainer *t, int k, float *dst)
{
	const HnBatch *b = t->batch;

	HnTargetValues(t->net->hdr->n_outputs, b->cls ? b->cls[k] : 0,
				   b->y ? b->y[k] : NULL, dst);
	if (b->y != NULL)
		DenseScaleTargets(t->net, dst, 1);
}

/*
 * Forward and backward for batch rows [r0, r1): scaled inputs, activations,
 * per-row losses and dL/dz of every layer down to lo.  The same operations
 * as DenseForward and DenseBackward, row by row.
 */
static void
TrainerRows(HnTrainer *t, size_t r0, size_t r1)
{
	DenseNet	   *net = t->net;
	int			last = t->n_layers - 1;
	size_t		rows = r1 - r0;
	size_t		n_in = net->hdr->n_inputs;
	size_t		n_out = net->hdr->n_outputs;
	HnActivation out_act = (HnActivation) net->layers[last].activation;
	HnLoss		loss = (HnLoss) net->hdr->loss;

	for (size_t r = r0; r < r1; r++)
	{
		SimdAffineRows(t->batch->x[r], 1, n_in, net->in_shift, net->in_mul,
					   t->a[0] + r * n_in);
		if (DenseInputClip(net) > 0.0f)
			SimdClip(t->a[0] + r * n_in, n_in, DenseInputClip(net));
	}
	for (int l = 1; l <= last; l++)
	{
		size_t		in = net->layers[l - 1].count;
		size_t		out = net->layers[l].count;
		const float *src = t->a[l - 1] + r0 * in;
		float	   *z = t->z[l] + r0 * out;

		if (rows == 1)
			SimdGemv(out, in, src, TrainerWeights(t, l), out, z, DenseBias(net, l));
		else if (l == 1)
		{
			/*
			 * scaled inputs hold many zeros (pixels at their median 0): skip
			 * them by groups of four rows, which start at r0 (a multiple of
			 * the piece size), so the sums do not depend on the threads
			 */
			SimdGemmSkip(rows, out, in, src, in, 1, TrainerWeights(t, l), out,
						 z, out, DenseBias(net, l));
		}
		else
			SimdGemm(rows, out, in, src, in, 1, TrainerWeights(t, l), out, z, out,
					 DenseBias(net, l));
		memcpy(t->a[l] + r0 * out, z, rows * out * sizeof(float));
		DenseActForward(net, l, t->a[l] + r0 * out, rows);
	}
	for (size_t r = r0; r < r1; r++)
	{
		float	   *tr = t->tgt + r * n_out;

		TrainerTarget(t, (int) r, tr);
		t->row_loss[r] = LossValue(loss, out_act, t->a[last] + r * n_out, tr,
								   n_out);
		LossGradient(loss, out_act, t->z[last] + r * n_out,
					 t->a[last] + r * n_out, tr, t->d[last] + r * n_out, n_out);
	}
	if (out_act == HANAMI_ACT_CUSTOM)
		DenseActBackward(net, last, t->z[last] + r0 * n_out,
						 t->a[last] + r0 * n_out, t->d[last] + r0 * n_out, rows);
	SimdScale(t->d[last] + r0 * n_out, rows * n_out, 1.0f / (float) t->count);
	for (int l = last; l > t->lo; l--)
	{
		size_t		in = net->layers[l - 1].count;
		size_t		out = net->layers[l].count;
		float	   *dn = t->d[l - 1] + r0 * in;

		if (rows == 1)
		{
			/* one row: dot products with W's rows, no transposed copy */
			const float *w = TrainerWeights(t, l);
			const float *d = t->d[l] + r0 * out;

			for (size_t i = 0; i < in; i++)
			{
				float		sum = 0.0f;

				for (size_t j = 0; j < out; j++)
					sum += d[j] * w[i * out + j];
				dn[i] = sum;
			}
		}
		else
			SimdGemm(rows, in, out, t->d[l] + r0 * out, out, 1, t->wt[l], in,
					 dn, in, NULL);
		DenseActBackward(net, l - 1, t->z[l - 1] + r0 * in,
						 t->a[l - 1] + r0 * in, dn, rows);
	}
}

/*
 * Pool job: claim pieces of the batch rows until none is left; as the only
 * share (the pool runs the job on one thread), all the rows at once.
 */
static void
TrainerRowsJob(void *arg, int w, int n_workers)
{
	HnTrainer  *t = (HnTrainer *) arg;
	size_t		n = (size_t) t->count;
	size_t		p;

	(void) w;
	if (n_workers == 1)
	{
		TrainerRows(t, 0, n);
		return;
	}
	while ((p = atomic_fetch_add(&t->next_piece, 1)) * HANAMI_TRAINER_ROW_PIECE < n)
	{
		size_t		r0 = p * HANAMI_TRAINER_ROW_PIECE;
		size_t		r1 = r0 + HANAMI_TRAINER_ROW_PIECE < n ? r0 + HANAMI_TRAINER_ROW_PIECE : n;

		TrainerRows(t, r0, r1);
	}
}

/* The optimizer update of count values at p (gradient g, moments at off). */
static void
TrainerApply(HnTrainer *t, float *p, const float *g, size_t off, size_t count,
			 float wd)
{
	HnOptimState *st = t->optim;
	const HnOptimConfig *c = &st->cfg;

	if (c->kind == HANAMI_OPT_SGD)
		SimdSgdUpdate(p, g, st->m + off, count, c->learning_rate, c->momentum,
					  wd);
	else
		SimdAdamUpdate(p, g, st->m + off, st->v + off, count, t->step,
					   c->beta1, c->beta2, t->vscale, c->epsilon, wd);
}

/*
 * Gradient and update of weight rows [i0, i1) of layer l: with one row the
 * outer product a x d fused into the update; otherwise blocks of rows of
 * a^T d into scratch, each updated while it is in cache.
 */
static void
TrainerUpdateRows(HnTrainer *t, int l, size_t i0, size_t i1, float *scratch)
{
	DenseNet	   *net = t->net;
	HnOptimState *st = t->optim;
	const HnOptimConfig *c = &st->cfg;
	size_t		in = net->layers[l - 1].count;
	size_t		out = net->layers[l].count;
	size_t		off = net->layers[l].param_offset;
	float	   *w = DenseWeights(net, l);

	if (t->count == 1)
	{
		size_t		o = off + i0 * out;

		if (c->kind == HANAMI_OPT_SGD)
			SimdSgdOuterUpdate(w + i0 * out, st->m + o, i1 - i0, out,
							   t->a[l - 1] + i0, t->d[l], c->learning_rate,
							   c->momentum, c->weight_decay);
		else
			SimdAdamOuterUpdate(w + i0 * out, st->m + o, st->v + o, i1 - i0,
								out, t->a[l - 1] + i0, t->d[l], t->step,
								c->beta1, c->beta2, t->vscale, c->epsilon,
								c->weight_decay);
		return;
	}
	for (size_t ib = i0; ib < i1; ib += HANAMI_TRAINER_RB)
	{
		size_t		rb = i1 - ib < HANAMI_TRAINER_RB ? i1 - ib : HANAMI_TRAINER_RB;

		/* layer 1's inputs: zeros skipped by groups of four weight rows */
		if (l == 1)
			SimdGemmSkip(rb, out, (size_t) t->count, t->a[l - 1] + ib, 1, in,
						 t->d[l], out, scratch, out, NULL);
		else
			SimdGemm(rb, out, (size_t) t->count, t->a[l - 1] + ib, 1, in,
					 t->d[l], out, scratch, out, NULL);
		TrainerApply(t, w + ib * out, scratch, off + ib * out, rb * out,
					 c->weight_decay);
	}
}

/* Gradient and update of layer l's biases. */
static void
TrainerUpdateBias(HnTrainer *t, int l, float *scratch)
{
	DenseNet	   *net = t->net;
	size_t		in = net->layers[l - 1].count;
	size_t		out = net->layers[l].count;
	size_t		off = net->layers[l].param_offset + in * out;
	const float *g = t->d[l];

	if (t->count > 1)
	{
		SimdColumnSums(t->d[l], (size_t) t->count, out, scratch);
		g = scratch;
	}
	TrainerApply(t, DenseBias(net, l), g, off, out, 0.0f);
}

/*
 * Pool job: claim blocks of weight rows (HANAMI_TRAINER_RB rows of one
 * layer; then each layer's biases) until none is left.  The blocks are the
 * same for any number of threads, and so are the values.
 */
static void
TrainerUpdateJob(void *arg, int w, int n_workers)
{
	HnTrainer  *t = (HnTrainer *) arg;
	float	   *scratch = t->scratch + (size_t) w * t->scratch_len;

	(void) n_workers;
	for (;;)
	{
		size_t		p = atomic_fetch_add(&t->next_piece, 1);
		bool		found = false;

		for (int l = t->lo; l < t->n_layers && !found; l++)
		{
			size_t		in = t->net->layers[l - 1].count;
			size_t		blocks = (in + HANAMI_TRAINER_RB - 1) / HANAMI_TRAINER_RB;

			if (!(t->mask & ((uint64_t) 1 << l)))
				continue;
			if (p < blocks + 1)
			{
				if (p < blocks)
				{
					size_t		i0 = p * HANAMI_TRAINER_RB;
					size_t		i1 = i0 + HANAMI_TRAINER_RB < in ? i0 + HANAMI_TRAINER_RB : in;

					TrainerUpdateRows(t, l, i0, i1, scratch);
				}
				else
					TrainerUpdateBias(t, l, scratch);
				found = true;
			}
			else
				p -= blocks + 1;
		}
		if (!found)
			break;
	}
}

/* One optimizer step; see dense/step.h. */
HnStatus
TrainerStep(HnTrainer *t, const HnBatch *b, double *loss, HnError *err)
{
	DenseNet   *net = t->net;
	HnOptimState *st = t->optim;
	int			threads = PoolSize(t->pool);
	double		sum = 0.0;

	if (b->count < 1 || b->count > t->max_batch)
		return HnSetError(err, HANAMI_E_INTERNAL, NULL,
						  "batch of %d rows passed to a trainer for %d",
						  b->count, t->max_batch);
	t->batch = b;
	t->count = b->count;

	/* pow2 training: this step's rounded weights */
	for (int l = 1; t->qw && l < t->n_layers; l++)
		DenseLayerFloats(net, DenseWeights(net, l), net->layers[l - 1].count,
						 net->layers[l].count,
						 t->qw + net->layers[l].param_offset);

	/* weights of layers that pass gradients down, transposed */
	for (int l = t->lo + 1; l < t->n_layers && b->count > 1; l++)
		SimdTranspose(TrainerWeights(t, l), net->layers[l - 1].count,
					  net->layers[l].count, t->wt[l]);

	if (threads > 1 && t->count >= HANAMI_TRAINER_MIN_ROWS * threads)
	{
		atomic_store(&t->next_piece, 0);
		PoolRun(t->pool, TrainerRowsJob, t);
	}
	else
		TrainerRows(t, 0, (size_t) t->count);

	for (int r = 0; r < t->count; r++)
		sum += t->row_loss[r];
	*loss += sum;

	/* the optimizer step, as OptimStep counts and corrects it */
	st->step++;
	if (st->cfg.kind == HANAMI_OPT_ADAM)
	{
		double		s = (double) st->step;

		t->step = (float) (st->cfg.learning_rate / (1.0 - pow(st->cfg.beta1, s)));
		t->vscale = (float) (1.0 / (1.0 - pow(st->cfg.beta2, s)));
	}
	atomic_store(&t->next_piece, 0);
	if (threads > 1 && t->n_update >= HANAMI_TRAINER_MIN_PARAMS)
		PoolRun(t->pool, TrainerUpdateJob, t);
	else
		TrainerUpdateJob(t, 0, 1);
	t->batch = NULL;
	return HANAMI_OK;
}

/* Stepper: a trainer for the plan's batches, on opt->pool's threads. */
static HnStatus
DenseStepperCreate(void *ctx, HnNet *net, const HnTrainOptions *opt,
				   const HnFitPlan *plan, const HnAllocator *alloc,
				   void **state, HnError *err)
{
	(void) ctx;
	*state = TrainerCreate(DenseOf(net), opt, plan->max_batch, opt->pool,
						   alloc, err);
	return *state != NULL ? HANAMI_OK : err ? err->code : HANAMI_E_NOMEM;
}

/* Stepper: one step. */
static HnStatus
DenseStepperStep(void *state, const HnBatch *b, double *loss, HnError *err)
{
	return TrainerStep(state, b, loss, err);
}

/* Stepper: the parameters stay finite. */
static HnStatus
DenseStepperEpochEnd(void *state, double *loss, bool *finite, HnError *err)
{
	const DenseNet *net = ((HnTrainer *) state)->net;

	(void) loss;
	(void) err;
	*finite = SimdAllFinite(net->params, (size_t) net->hdr->n_params);
	return HANAMI_OK;
}

/* Stepper: free the trainer. */
static void
DenseStepperFree(void *state)
{
	TrainerFree(state);
}

/* Stepper state for checkpoints: the optimizer's (optim.h OptimSave). */
static size_t
DenseStepperSaveSize(void *state)
{
	const HnTrainer *t = state;

	return OptimSaveSize(t->optim, (size_t) t->net->hdr->n_params);
}

static void
DenseStepperSave(void *state, void *dst)
{
	const HnTrainer *t = state;

	OptimSave(t->optim, (size_t) t->net->hdr->n_params, dst);
}

/* Restore the optimizer from untrusted bytes: every length and value checked. */
static HnStatus
DenseStepperLoad(void *state, const void *src, size_t len, HnError *err)
{
	HnTrainer  *t = state;

	return OptimLoad(t->optim, (size_t) t->net->hdr->n_params, src, len, err);
}

const HnStepperOps DenseStepper = {
	.name = "cpu",
	.create = DenseStepperCreate,
	.step = DenseStepperStep,
	.epoch_end = DenseStepperEpochEnd,
	.free = DenseStepperFree,
	.save_size = DenseStepperSaveSize,
	.save = DenseStepperSave,
	.load = DenseStepperLoad,
};
