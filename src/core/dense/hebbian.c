/*
 * dense/hebbian.c - local (Hebbian) learning of a dense network: the
 * options of "rule": "hebbian" and the stepper that trains with it (see
 * dense/hebbian.h; the rule and its equations are in docs/graia.md).
 *
 * Each batch: one forward pass with the weights as they are; every hidden
 * layer l that learns then takes a competitive Oja step from its own input
 * a = a[l-1] (layer 1: the scaled input) and its units' drives
 * y_j = sum_i a_i W[i][j] (the pre-activation less the bias):
 *
 *   the k units of largest drive (ties: the lower index) win, g_j = 1;
 *   with anti_hebbian delta > 0 the unit ranked k + 1 gets g_j = -delta;
 *   winners:  dW[.][j] = eta * sum_rows g_j y_j (a - y_j W[.][j] / r^2)
 *   the unit ranked k + 1:
 *             dW[.][j] = eta * sum_rows g_j y_j (a - y_j W[.][j] / |W[.][j]|^2)
 *
 * (r: hebbian_norm).  The winners' rule is Oja's, whose decay term pulls
 * the length of a unit's weights to r; the second form pushes the runner-up
 * away from the input at a constant length (its change is orthogonal to
 * its weights, and a unit only pushed in a batch is scaled back to the
 * length it had).  The step of a unit is capped so that its decay factor
 * eta * sum g y^2 / r^2 stays at most 1/2, so one batch never overshoots:
 * weights stay bounded whatever the inputs.  Units that neither win nor
 * come next do not change; biases do not change.  Then the read-out: the
 * CPU trainer (dense/step.c) on the output layer alone, one optimizer step
 * of the loss's gradient (the delta rule).  Labels reach the output layer
 * only.  Everything is computed in one order on one thread (the read-out
 * on the fit's threads, which give the same values), so the result does
 * not depend on the number of threads.
 */
#include "core/dense/hebbian.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/dense/dense.h"
#include "core/dense/kind.h"
#include "core/dense/step.h"
#include "core/loss.h"
#include "core/options.h"
#include "core/simd.h"

/* Options of the read-out's optimizer, refused when it does not learn. */
static const char *const readout_keys[] = {
	"optimizer", "learning_rate", "momentum", "beta1", "beta2", "epsilon",
	"weight_decay", NULL
};

/* Options that apply only with "rule": "hebbian". */
static const char *const hebb_keys[] = {
	"hebbian_rule", "hebbian_learning_rate", "winners", "anti_hebbian",
	"hebbian_norm", "readout", NULL
};

/* Units of the narrowest hidden layer that learns (0: none learns). */
static uint32_t
HebbNarrowest(const DenseNet *net, uint64_t mask)
{
	uint32_t	n = 0;

	for (uint32_t l = 1; l + 1 < net->hdr->n_layers; l++)
		if ((mask & ((uint64_t) 1 << l)) &&
			(n == 0 || net->layers[l].count < n))
			n = net->layers[l].count;
	return n;
}

/* Read "rule" and the Hebbian options; see dense/hebbian.h. */
HnStatus
DenseHebbReadOptions(const DenseNet *net, const HnJson *obj,
					 const HnAllocator *alloc, HnTrainOptions *opt,
					 HnError *err)
{
	DenseHebbOptions h = {DENSE_HEBB_MAGIC, DENSE_HEBB_RATE,
	DENSE_HEBB_WINNERS, DENSE_HEBB_ANTI, DENSE_HEBB_NORM, true};
	uint64_t	out_bit = (uint64_t) 1 << (net->hdr->n_layers - 1);
	const char *rule = NULL;
	const char *name = NULL;
	DenseHebbOptions *copy;
	uint32_t	narrowest;
	int64_t		i;
	bool		found;
	HnStatus	st;

	opt->kind_options = NULL;
	if (obj == NULL)
		return HANAMI_OK;
	if ((st = HnOptionString(obj, "rule", &rule, err)) != HANAMI_OK)
		return st;
	if (rule != NULL && strcmp(rule, "backprop") != 0 &&
		strcmp(rule, "hebbian") != 0)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
				   "unknown training rule \"%s\" in option \"rule\"", rule);
		return HnSetHint(err, "Valid rules are: backprop, hebbian.");
	}
	if (rule == NULL || strcmp(rule, "backprop") == 0)
	{
		for (const char *const *k = hebb_keys; *k; k++)
			if (HnJsonGet(obj, *k) != NULL)
			{
				HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						   "The rule is \"backprop\" (the default), which trains every layer by the gradient of the loss.",
						   "option \"%s\" applies only with \"rule\": \"hebbian\"",
						   *k);
				return HnSetHint(err, "Add \"rule\": \"hebbian\", or leave the option out.");
			}
		return HANAMI_OK;
	}

	if ((st = HnOptionString(obj, "hebbian_rule", &name, err)) != HANAMI_OK)
		return st;
	if (name != NULL && strcmp(name, "oja") != 0)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
				   "unknown Hebbian rule \"%s\" in option \"hebbian_rule\"",
				   name);
		return HnSetHint(err, "Valid Hebbian rules are: oja (competitive Oja, see \"winners\" and \"anti_hebbian\").");
	}
	if ((st = HnOptionFloat(obj, "hebbian_learning_rate", 0, 1, true, &h.rate,
						 err)) != HANAMI_OK ||
		(st = HnOptionFloat(obj, "anti_hebbian", 0, 1, false, &h.anti,
						 err)) != HANAMI_OK ||
		(st = HnOptionFloat(obj, "hebbian_norm", 0, 100, true, &h.norm,
						 err)) != HANAMI_OK ||
		(st = HnOptionBool(obj, "readout", &h.readout, err)) != HANAMI_OK ||
		(st = HnOptionInt(obj, "winners", 1, HANAMI_MAX_UNITS, &i, &found,
						  err)) != HANAMI_OK)
		return st;
	if (found)
		h.winners = (int) i;
	if (!h.readout)
		opt->train_mask &= ~out_bit;
	narrowest = HebbNarrowest(net, opt->train_mask);
	if (narrowest > 0 && (uint32_t) h.winners >= narrowest)
	{
		char		detail[HANAMI_ERRMSG_LEN];

		snprintf(detail, sizeof(detail),
				 "The narrowest hidden layer that learns has %u units; the winners must be fewer (when every unit wins, all learn the same).",
				 narrowest);
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, detail,
						  "option \"winners\" is %d, too many for the layer",
						  h.winners);
	}
	if (!(opt->train_mask & out_bit))
		for (const char *const *k = readout_keys; *k; k++)
			if (HnJsonGet(obj, *k) != NULL)
			{
				HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						   "With \"rule\": \"hebbian\" the optimizer trains only the read-out (the output layer), and this fit leaves the output layer as it is (\"readout\": false or \"to_skip\").",
						   "option \"%s\" does not apply: the read-out does not learn",
						   *k);
				return HnSetHint(err, "The hidden layers learn at \"hebbian_learning_rate\".");
			}
	if (opt->train_mask == 0)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "options \"to_train\", \"to_skip\" and \"readout\" leave no layer to train");
	copy = HnAlloc(alloc, sizeof(*copy));
	if (copy == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for options");
	*copy = h;
	opt->kind_options = copy;
	return HANAMI_OK;
}

/* See dense/hebbian.h. */
const DenseHebbOptions *
DenseHebbOf(const HnTrainOptions *opt)
{
	const DenseHebbOptions *h = opt->kind_options;

	return h != NULL && h->magic == DENSE_HEBB_MAGIC ? h : NULL;
}

/* See dense/hebbian.h. */
const HnStepperOps *
DenseRuleStepper(const HnNet *net, const HnTrainOptions *opt,
				 const char **why)
{
	(void) net;
	if (DenseHebbOf(opt) == NULL)
		return NULL;
	if (why != NULL)
		*why = "Hebbian learning (\"rule\": \"hebbian\") runs on the CPU engine only.";
	return &DenseHebbStepper;
}

/* The state of a Hebbian fit. */
typedef struct HebbStep
{
	DenseNet   *net;
	const HnAllocator *alloc;
	DenseHebbOptions h;
	uint64_t	hidden;			/* bit l: hidden layer l learns */
	int			max_batch;
	int			picks;			/* units ranked per row: k, or k + 1 */
	HnTrainer  *readout;		/* the output layer's trainer, or NULL */
	DenseWork  *work;			/* the forward pass */
	float	   *x;				/* the batch's raw rows, contiguous */
	float	   *acc;			/* sum of g y a, in x out of a layer */
	double	   *dec;			/* per unit: sum of g y^2 (winners) */
	double	   *anti;			/* per unit: sum of g y^2 (runner-up) */
	int		   *rank;			/* picks units of one row */
	float	   *t;				/* targets of one row */
} HebbStep;

static void
HebbFree(void *state)
{
	HebbStep   *s = state;

	if (s == NULL)
		return;
	TrainerFree(s->readout);
	DenseWorkFree(s->work, s->alloc);
	HnFree(s->alloc, s->x);
	HnFree(s->alloc, s->acc);
	HnFree(s->alloc, s->dec);
	HnFree(s->alloc, s->anti);
	HnFree(s->alloc, s->rank);
	HnFree(s->alloc, s->t);
	HnFree(s->alloc, s);
}

/* Stepper: the forward workspace, the layers' sums and the read-out. */
static HnStatus
HebbCreate(void *ctx, HnNet *hn, const HnTrainOptions *opt,
		   const HnFitPlan *plan, const HnAllocator *alloc, void **state,
		   HnError *err)
{
	DenseNet   *net = DenseOf(hn);
	const DenseHebbOptions *h = DenseHebbOf(opt);
	int			last = (int) net->hdr->n_layers - 1;
	size_t		most = 0;
	size_t		widest = DenseMaxWidth(net);
	HebbStep   *s;

	(void) ctx;
	*state = NULL;
	if (h == NULL)
		return HnSetError(err, HANAMI_E_INTERNAL, NULL,
						  "Hebbian stepper without Hebbian options");
	s = HnAllocZero(alloc, sizeof(HebbStep));
	if (s == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for a training workspace");
	s->net = net;
	s->alloc = alloc;
	s->h = *h;
	s->max_batch = plan->max_batch;
	s->picks = h->winners + (h->anti > 0);
	for (int l = 1; l < last; l++)
		if (opt->train_mask & ((uint64_t) 1 << l))
		{
			size_t		n = (size_t) net->layers[l - 1].count *
				net->layers[l].count;

			s->hidden |= (uint64_t) 1 << l;
			if (n > most)
				most = n;
		}
	*state = s;
	s->work = DenseWorkCreate(net, plan->max_batch, false, alloc, err);
	if (s->work == NULL)
		return err ? err->code : HANAMI_E_NOMEM;
	s->x = HnAlloc(alloc, sizeof(float) * (size_t) plan->max_batch *
				   net->hdr->n_inputs);
	s->acc = HnAlloc(alloc, sizeof(float) * (most > 0 ? most : 1));
	s->dec = HnAlloc(alloc, sizeof(double) * widest);
	s->anti = HnAlloc(alloc, sizeof(double) * widest);
	s->rank = HnAlloc(alloc, sizeof(int) * (size_t) (s->picks + 1));
	s->t = HnAlloc(alloc, sizeof(float) * net->hdr->n_outputs);
	if (s->x == NULL || s->acc == NULL || s->dec == NULL ||
		s->anti == NULL || s->rank == NULL || s->t == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for a training workspace");
	if (opt->train_mask & ((uint64_t) 1 << last))
	{
		HnTrainOptions ro = *opt;

		ro.train_mask = (uint64_t) 1 << last;
		s->readout = TrainerCreate(net, &ro, plan->max_batch, opt->pool,
								   alloc, err);
		if (s->readout == NULL)
			return err ? err->code : HANAMI_E_NOMEM;
	}
	return HANAMI_OK;
}

/*
 * The picks units of largest y (of out), largest first, ties to the lower
 * index, into rank.
 */
static void
HebbRank(const float *y, int out, int picks, int *rank)
{
	int			n = 0;

	for (int j = 0; j < out; j++)
	{
		int			at = n < picks ? n : picks;

		while (at > 0 && y[j] > y[rank[at - 1]])
			at--;
		if (at >= picks)
			continue;
		for (int m = (n < picks ? n : picks - 1); m > at; m--)
			rank[m] = rank[m - 1];
		rank[at] = j;
		if (n < picks)
			n++;
	}
}

/* One competitive Oja step of hidden layer l over the batch's n rows. */
static void
HebbLayer(HebbStep *s, int l, int n)
{
	DenseNet   *net = s->net;
	DenseWork  *w = s->work;
	size_t		in = net->layers[l - 1].count;
	size_t		out = net->layers[l].count;
	float	   *W = DenseWeights(net, l);
	const float *bias = DenseBias(net, l);
	double		r2 = (double) s->h.norm * s->h.norm;

	memset(s->acc, 0, sizeof(float) * in * out);
	memset(s->dec, 0, sizeof(double) * out);
	memset(s->anti, 0, sizeof(double) * out);
	for (int r = 0; r < n; r++)
	{
		const float *a = w->a[l - 1] + (size_t) r * in;
		float	   *y = w->z[l] + (size_t) r * out;

		/* the drive: the pre-activation less the bias */
		for (size_t j = 0; j < out; j++)
			y[j] -= bias[j];
		HebbRank(y, (int) out, s->picks, s->rank);
		for (int p = 0; p < s->picks; p++)
		{
			int			j = s->rank[p];
			bool		winner = p < s->h.winners;
			float		c = winner ? y[j] : -s->h.anti * y[j];

			if (c == 0.0f)
				continue;
			for (size_t i = 0; i < in; i++)
				s->acc[i * out + j] += c * a[i];
			if (winner)
				s->dec[j] += (double) c * y[j];
			else
				s->anti[j] += (double) c * y[j];
		}
	}
	for (size_t j = 0; j < out; j++)
	{
		double		len2 = 0.0;
		double		d;
		double		eta = s->h.rate;

		if (s->dec[j] == 0.0 && s->anti[j] == 0.0)
			continue;
		if (s->anti[j] != 0.0)
		{
			for (size_t i = 0; i < in; i++)
				len2 += (double) W[i * out + j] * W[i * out + j];
			if (!(len2 > 1e-30))
				len2 = 1e-30;
		}
		d = s->dec[j] / r2 + (s->anti[j] != 0.0 ? s->anti[j] / len2 : 0.0);
		if (eta * fabs(d) > 0.5)
			eta = 0.5 / fabs(d);
		for (size_t i = 0; i < in; i++)
			W[i * out + j] += (float) (eta * ((double) s->acc[i * out + j] -
											  d * W[i * out + j]));
		if (s->dec[j] == 0.0)
		{
			/* only pushed away: back to the length it had */
			double		now = 0.0;
			double		f;

			for (size_t i = 0; i < in; i++)
				now += (double) W[i * out + j] * W[i * out + j];
			f = now > 1e-30 ? sqrt(len2 / now) : 1.0;
			for (size_t i = 0; i < in; i++)
				W[i * out + j] = (float) (W[i * out + j] * f);
		}
	}
}

/* Stepper: the hidden layers' rule, then the read-out's step. */
static HnStatus
HebbStepBatch(void *state, const HnBatch *b, double *loss, HnError *err)
{
	HebbStep   *s = state;
	DenseNet   *net = s->net;
	size_t		n_in = net->hdr->n_inputs;
	uint32_t	n_out = net->hdr->n_outputs;
	int			last = (int) net->hdr->n_layers - 1;
	const float *out;

	if (b->count < 1 || b->count > s->max_batch)
		return HnSetError(err, HANAMI_E_INTERNAL, NULL,
						  "batch of %d rows passed to a trainer for %d",
						  b->count, s->max_batch);
	for (int r = 0; r < b->count; r++)
		memcpy(s->x + (size_t) r * n_in, b->x[r], n_in * sizeof(float));
	out = DenseForward(net, s->work, s->x, b->count);
	if (s->readout == NULL)
	{
		/* the loss of the network as it came in, as a trainer reports it */
		HnActivation act = (HnActivation) net->layers[last].activation;

		for (int r = 0; r < b->count; r++)
		{
			HnTargetValues(n_out, b->cls ? b->cls[r] : 0,
						   b->y ? b->y[r] : NULL, s->t);
			if (b->y != NULL)
				DenseScaleTargets(net, s->t, 1);
			*loss += LossValue((HnLoss) net->hdr->loss, act,
							   out + (size_t) r * n_out, s->t, n_out);
		}
	}
	for (int l = 1; l < last; l++)
		if (s->hidden & ((uint64_t) 1 << l))
			HebbLayer(s, l, b->count);
	return s->readout != NULL ? TrainerStep(s->readout, b, loss, err) :
		HANAMI_OK;
}

/* Stepper: the parameters stay finite. */
static HnStatus
HebbEpochEnd(void *state, double *loss, bool *finite, HnError *err)
{
	const DenseNet *net = ((HebbStep *) state)->net;

	(void) loss;
	(void) err;
	*finite = SimdAllFinite(net->params, (size_t) net->hdr->n_params);
	return HANAMI_OK;
}

/*
 * Checkpoints: the rule keeps nothing besides the weights; the read-out's
 * optimizer state is the CPU trainer's (dense/step.c), none without one.
 */
static size_t
HebbSaveSize(void *state)
{
	HebbStep   *s = state;

	return s->readout ? DenseStepper.save_size(s->readout) : 0;
}

static void
HebbSave(void *state, void *dst)
{
	HebbStep   *s = state;

	if (s->readout)
		DenseStepper.save(s->readout, dst);
}

static HnStatus
HebbLoad(void *state, const void *src, size_t len, HnError *err)
{
	HebbStep   *s = state;

	if (s->readout)
		return DenseStepper.load(s->readout, src, len, err);
	if (len != 0)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "It was made for another network or options.",
						  "invalid checkpoint: %zu bytes of optimizer state for a fit without a read-out",
						  len);
	return HANAMI_OK;
}

const HnStepperOps DenseHebbStepper = {
	.name = "cpu-hebbian",
	.create = HebbCreate,
	.step = HebbStepBatch,
	.epoch_end = HebbEpochEnd,
	.free = HebbFree,
	.save_size = HebbSaveSize,
	.save = HebbSave,
	.load = HebbLoad,
};
