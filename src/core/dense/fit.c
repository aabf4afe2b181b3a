/*
 * dense/fit.c - what the dense kind contributes to training and evaluation
 * (fit.h HnKindFit): the checks of its optimizer options and of softmax
 * targets, the scaling it learns from the training rows before the first
 * epoch, its targets and loss in network space.  Its step is dense/step.c.
 */
#include "core/dense/dtype.h"
#include "core/dense/kind.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/dense/hebbian.h"
#include "core/dense/step.h"
#include "core/fit.h"
#include "core/scaling.h"
#include "core/stats.h"

/* What a fit learns from the training rows, while they are offered. */
typedef struct DensePrep
{
	const HnAllocator *alloc;
	DenseNet   *net;
	bool		want_in;		/* input scaling */
	bool		want_out;		/* output scaling */
	HnScaleSample held;			/* the sample's slots, rows kept in place */
	const float **picked;		/* held: slot -> row */
	HnScaleSample *copies;		/* or a sample holding copies of rows */
	HnColumnStats ystats;		/* target values */
} DensePrep;

/* True when the output scaling applies: mse regression on identity output. */
static bool
DenseOutputScalable(const DenseNet *net, bool values)
{
	return values && net->hdr->loss == HANAMI_LOSS_MSE &&
		net->layers[net->hdr->n_layers - 1].activation == HANAMI_ACT_IDENTITY;
}

/* Free what learning the scaling holds. */
static void
DensePrepFree(DensePrep *p)
{
	if (p == NULL)
		return;
	HnFree(p->alloc, p->picked);
	ScaleSampleFree(p->copies, p->alloc);
	StatsFree(&p->ystats, p->alloc);
	HnFree(p->alloc, p);
}

/*
 * Start learning the input scaling (want_in) and the output scaling
 * (want_out) of net; stay: the rows offered stay in place.
 */
static HnStatus
DensePrepStart(DenseNet *net, bool want_in, bool want_out, bool stay,
			   const HnAllocator *alloc, DensePrep **out, HnError *err)
{
	DensePrep  *p = HnAllocZero(alloc, sizeof(DensePrep));
	HnStatus	st = HANAMI_OK;

	*out = NULL;
	if (p == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for the scaling");
	p->alloc = alloc;
	p->net = net;
	p->want_in = want_in;
	p->want_out = want_out;
	if (want_in && stay)
	{
		ScaleSampleInit(&p->held, net->hdr->n_inputs);
		p->picked = HnAlloc(alloc, sizeof(float *) * (size_t) p->held.cap);
		if (p->picked == NULL)
			st = HnSetError(err, HANAMI_E_NOMEM, NULL,
							"out of memory for the input scaling");
	}
	else if (want_in)
	{
		p->copies = ScaleSampleCreate(net->hdr->n_inputs, alloc, err);
		if (p->copies == NULL)
			st = err ? err->code : HANAMI_E_NOMEM;
	}
	if (st == HANAMI_OK && want_out)
		st = StatsInit(&p->ystats, net->hdr->n_outputs, alloc, err);
	if (st != HANAMI_OK)
	{
		DensePrepFree(p);
		return st;
	}
	*out = p;
	return HANAMI_OK;
}

/*
 * Offer n rows, in the order given (NULL: as they are): the input sample
 * keeps the rows ScaleSampleSlot picks, the statistics take every target.
 */
static void
DensePrepRows(void *prep, const HnDataset *rows, const int64_t *order,
			  int64_t n)
{
	DensePrep  *p = prep;
	size_t		n_in = rows->n_features;
	size_t		n_out = rows->n_outputs;

	for (int64_t k = 0; k < n; k++)
	{
		int64_t		r = order ? order[k] : k;
		const float *x = rows->x + (size_t) r * n_in;

		if (p->copies != NULL)
			ScaleSampleAdd(p->copies, x);
		else if (p->want_in)
		{
			int64_t		slot = ScaleSampleSlot(&p->held);

			if (slot >= 0)
				p->picked[slot] = x;
		}
		if (p->want_out)
			StatsAdd(&p->ystats, rows->y + (size_t) r * n_out);
	}
}

/*
 * Store what was learnt: the input scaling of the sample (scaling.h), and
 * the output scaling shift = mean, mul = standard deviation (1 for a
 * constant target); then free prep.
 */
/* An output scaling of the targets' mean and standard deviation. */
static void
DenseOutputScaling(DenseNet *net, const HnColumnStats *y)
{
	for (uint32_t j = 0; j < net->hdr->n_outputs; j++)
	{
		double		mean = y->mean[j];
		double		sd = sqrt(y->m2[j] / (double) y->count);
		float		f = (float) sd;

		net->out_shift[j] = isfinite(mean) ? (float) mean : 0.0f;
		if (!(sd > 1e-12) || !isfinite(f) || f == 0.0f)
			f = 1.0f;
		net->out_mul[j] = f;
	}
	net->hdr->flags |= HANAMI_FLAG_OUTPUT_FITTED;
}

static HnStatus
DensePrepEnd(void *prep, HnNet *hn, HnError *err)
{
	DensePrep  *p = prep;
	DenseNet   *net = p->net;
	HnStatus	st = HANAMI_OK;

	(void) hn;
	if (p->copies != NULL && ScaleSampleHeld(p->copies) > 0)
		st = ScaleSampleFit(p->copies, net->in_shift, net->in_mul, p->alloc,
							err);
	else if (p->want_in && ScaleSampleHeld(&p->held) > 0)
		st = ScaleFitRows(p->picked, ScaleSampleHeld(&p->held),
						  net->hdr->n_inputs, net->in_shift, net->in_mul,
						  p->alloc, err);
	if (st == HANAMI_OK && p->want_in &&
		(p->copies ? ScaleSampleHeld(p->copies) : ScaleSampleHeld(&p->held)) > 0)
		net->hdr->flags |= HANAMI_FLAG_INPUT_FITTED | HANAMI_FLAG_INPUT_CLIP;
	if (st == HANAMI_OK && p->want_out && p->ystats.count > 0)
		DenseOutputScaling(net, &p->ystats);
	DensePrepFree(p);
	return st;
}

/*
 * Online learning: the input scaling from running means and standard
 * deviations (centre the mean, range HANAMI_SCALE_SD_RANGE deviations; a
 * constant feature gets mul 1), an mse regression's output scaling as a
 * first fit learns it (the targets' mean and standard deviation).
 */
static void
DenseRunningScaling(HnNet *hn, const HnColumnStats *in,
					const HnColumnStats *out)
{
	DenseNet   *net = DenseOf(hn);

	if ((net->hdr->flags & HANAMI_FLAG_SCALE_INPUT) && in != NULL &&
		in->count > 0 && in->n == net->hdr->n_inputs)
	{
		for (uint32_t i = 0; i < in->n; i++)
		{
			double		mean = in->mean[i];
			double		range = HANAMI_SCALE_SD_RANGE *
				sqrt(in->m2[i] / (double) in->count);
			float		mul = (float) (1.0 / range);

			net->in_shift[i] = isfinite(mean) ? (float) mean : 0.0f;
			net->in_mul[i] = (range > 0.0 && isfinite(mul) && mul != 0.0f) ?
				mul : 1.0f;
		}
		net->hdr->flags |= HANAMI_FLAG_INPUT_FITTED | HANAMI_FLAG_INPUT_CLIP;
	}
	if (out != NULL && out->count > 0 && out->n == net->hdr->n_outputs &&
		DenseOutputScalable(net, true))
		DenseOutputScaling(net, out);
}
/* Drop what was being learnt. */
static void
DensePrepDiscard(void *prep)
{
	DensePrepFree(prep);
}

/*
 * What a fit learns first: the input scaling when asked for and not fitted
 * yet, the output scaling of an mse regression on an identity output when
 * not fitted yet; all of it again with opt->rescale.
 */
static HnStatus
DensePrepareBegin(HnNet *hn, const HnTrainOptions *opt, bool values,
				  bool stay, const HnAllocator *alloc, void **prep,
				  HnError *err)
{
	DenseNet   *net = DenseOf(hn);
	uint32_t	flags = net->hdr->flags;
	bool		want_in = (flags & HANAMI_FLAG_SCALE_INPUT) &&
		(opt->rescale || !(flags & HANAMI_FLAG_INPUT_FITTED));
	bool		want_out = DenseOutputScalable(net, values) &&
		(opt->rescale || !(flags & HANAMI_FLAG_OUTPUT_FITTED));

	*prep = NULL;
	if (!want_in && !want_out)
		return HANAMI_OK;
	return DensePrepStart(net, want_in, want_out, stay, alloc,
						  (DensePrep **) prep, err);
}

/* Learn scaling from the selected rows (NULL: rows 0..n_rows-1). */
HnStatus
TrainFitScaling(DenseNet *net, const HnDataset *data, int64_t n_rows,
				const int64_t *rows, const HnAllocator *alloc, HnError *err)
{
	DensePrep  *p;
	HnStatus	st;

	if (n_rows <= 0)
		return HANAMI_OK;
	st = DensePrepStart(net, (net->hdr->flags & HANAMI_FLAG_SCALE_INPUT) != 0,
						DenseOutputScalable(net, data->y != NULL), true,
						alloc, &p, err);
	if (st != HANAMI_OK)
		return st;
	DensePrepRows(p, data, rows, n_rows);
	return DensePrepEnd(p, NULL, err);
}

/* Check that softmax targets are probability rows; see train.h. */
HnStatus
TrainCheckTargets(const DenseNet *net, const float *y, int64_t n, int64_t row0,
				  HnError *err)
{
	uint32_t	n_out = net->hdr->n_outputs;
	char		detail[HANAMI_ERRMSG_LEN];

	if (net->layers[net->hdr->n_layers - 1].activation != HANAMI_ACT_SOFTMAX)
		return HANAMI_OK;
	for (int64_t r = 0; r < n; r++)
	{
		const float *t = y + (size_t) r * n_out;
		double		sum = 0.0;
		uint32_t	bad = n_out;

		for (uint32_t j = 0; j < n_out; j++)
		{
			if (!(t[j] >= 0.0f && t[j] <= 1.0f) && bad == n_out)
				bad = j;
			sum += t[j];
		}
		if (bad < n_out)
			snprintf(detail, sizeof(detail),
					 "Value %" PRIu32 " is %g; a softmax output layer predicts probabilities, so each target lies between 0 and 1 and a row sums to 1.",
					 bad + 1, (double) t[bad]);
		else if (fabs(sum - 1.0) > HANAMI_PROB_SUM_TOLERANCE)
			snprintf(detail, sizeof(detail),
					 "The values sum to %g; a softmax output layer predicts probabilities, so a row of targets sums to 1.",
					 sum);
		else
			continue;
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, detail,
				   "target of row %" PRId64 " is not a probability distribution",
				   row0 + r + 1);
		return HnSetHint(err, "For real-valued targets use an identity output layer and loss \"mse\", e.g. {\"count\": 2, \"activation\": \"identity\"}; for classes give an integer class index.");
	}
	return HANAMI_OK;
}

/* The kind's check of target values. */
static HnStatus
DenseCheckTargets(const HnNet *hn, const float *y, int64_t n, int64_t row0,
				  HnError *err)
{
	return TrainCheckTargets(DenseOf(hn), y, n, row0, err);
}

/* Check the optimizer's options and the layers to train. */
static HnStatus
DenseCheckOptions(const HnNet *hn, const HnTrainOptions *opt, HnError *err)
{
	const DenseNet *net = DenseOf(hn);
	const HnOptimConfig *o = &opt->optim;
	uint64_t	layers = 0;

	if (DenseDtypeOf(net) != DENSE_DTYPE_F32)
	{
		HnSetError(err, HANAMI_E_UNSUPPORTED,
				   "Networks with compact weights are for inference; training needs float32 weights.",
				   "a network with %s weights cannot be trained",
				   DenseDtypeName(DenseDtypeOf(net)));
		return HnSetHint(err, "Train the float32 network and quantize it again with hanami.quantize(); for pow2, train a network created with \"dtype\": \"pow2\".");
	}
	for (uint32_t l = 1; l < net->hdr->n_layers; l++)
		layers |= (uint64_t) 1 << l;
	if (o->kind != HANAMI_OPT_SGD && o->kind != HANAMI_OPT_ADAM)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Known optimizers are \"sgd\" and \"adam\".",
						  "invalid optimizer (%d)", (int) o->kind);
	if (!(o->learning_rate > 0.0f) || !isfinite(o->learning_rate))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "learning_rate must be a positive number");
	if (!(o->momentum >= 0.0f && o->momentum < 1.0f))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "momentum must be at least 0 and less than 1");
	if (o->kind == HANAMI_OPT_ADAM &&
		(!(o->beta1 >= 0.0f && o->beta1 < 1.0f) ||
		 !(o->beta2 >= 0.0f && o->beta2 < 1.0f)))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "beta1 and beta2 must be at least 0 and less than 1");
	if (o->kind == HANAMI_OPT_ADAM &&
		(!(o->epsilon > 0.0f) || !isfinite(o->epsilon)))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "epsilon must be a positive number");
	if (!(o->weight_decay >= 0.0f) || !isfinite(o->weight_decay))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "weight_decay must be zero or positive");
	if ((opt->train_mask & layers) == 0)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Layer 0 is the input layer and has no parameters.",
						  "no layer selected for training");
	return HANAMI_OK;
}

/* Target values into network space: (y - out_shift) / out_mul. */
static void
DenseTargets(const HnNet *hn, float *t, int n)
{
	DenseScaleTargets(DenseOf(hn), t, n);
}

/*
 * Summed loss of n rows of predicted outputs (output scaling applied; taken
 * back to network space here) against network-space targets t.
 */
static double
DenseLoss(const HnNet *hn, float *out, const float *t, int n)
{
	const DenseNet *net = DenseOf(hn);
	uint32_t	n_out = net->hdr->n_outputs;
	HnActivation act =
		(HnActivation) net->layers[net->hdr->n_layers - 1].activation;
	double		loss = 0.0;

	for (int k = 0; k < n; k++)
	{
		float	   *y = out + (size_t) k * n_out;

		for (uint32_t j = 0; j < n_out; j++)
			y[j] = (y[j] - net->out_shift[j]) / net->out_mul[j];
		loss += LossValue((HnLoss) net->hdr->loss, act, y,
						  t + (size_t) k * n_out, n_out);
	}
	return loss;
}

const HnKindFit HnDenseFit = {
	.option_keys = DenseOptionKeys,
	.options = DenseOptions,
	.jobs = true,
	.stepper = &DenseStepper,
	.rule_stepper = DenseRuleStepper,
	.online = false,
	.advice = "try a lower learning rate or scaled inputs",
	.check_options = DenseCheckOptions,
	.check_targets = DenseCheckTargets,
	.prepare_begin = DensePrepareBegin,
	.prepare_rows = DensePrepRows,
	.prepare_end = DensePrepEnd,
	.prepare_discard = DensePrepDiscard,
	.running_scaling = DenseRunningScaling,
	.targets = DenseTargets,
	.loss = DenseLoss,
};

/* Train net in place on data: HnFit on the CPU; see dense/step.h. */
HnStatus
TrainFit(DenseNet *net, const HnDataset *data, const HnTrainOptions *opt,
		 const HnCallbacks *cb, const HnAllocator *alloc, HnTrainResult *res,
		 HnError *err)
{
	HnNet		hn;
	HnRows		rows = {data, NULL, 0, NULL};

	NetBindTrusted(&hn, net->hdr);
	return HnFit(&hn, &rows, opt, NULL, cb, alloc, res, err);
}

/* Evaluate net on data: HnEvaluate; see dense/step.h. */
HnStatus
TrainEvaluate(const DenseNet *net, const HnDataset *data, const HnCallbacks *cb,
			  const HnAllocator *alloc, HnEvalResult *res, HnError *err)
{
	HnNet		hn;
	HnRows		rows = {data, NULL, 0, NULL};

	NetBindTrusted(&hn, net->hdr);
	return HnEvaluate(&hn, &rows, cb, alloc, res, err);
}
