/*
 * graph/fit.c - what the graph kind brings to fits and evaluations
 * (fit.h HnKindFit): the input scaling (and the output scaling of mse
 * outputs on identity layers) learnt from the training rows before the
 * first epoch, as the dense kind learns them (scaling.h, stats.h); the
 * checks of options and targets; targets and loss in network space.
 */
#include "core/graph/graph.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "core/fit.h"
#include "core/scaling.h"
#include "core/stats.h"

/* The layers a fit may train: every one that is neither input nor frozen. */
uint64_t
GraphTrainableMask(const GraphNet *net)
{
	uint64_t	mask = 0;

	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
		if (net->layers[l].role != GRAPH_ROLE_INPUT &&
			!(net->layers[l].flags & GRAPH_LAYER_FROZEN))
			mask |= (uint64_t) 1 << l;
	return mask;
}

/* Output layers: whether value j of a row belongs to an mse identity one. */
static bool
GraphValueScalable(const GraphNet *net, uint32_t j)
{
	uint32_t	at = 0;

	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
	{
		const GraphLayer *ly = &net->layers[l];

		if (ly->role != GRAPH_ROLE_OUTPUT)
			continue;
		if (j < at + ly->count)
			return ly->loss == HANAMI_LOSS_MSE &&
				ly->activation == HANAMI_ACT_IDENTITY;
		at += ly->count;
	}
	return false;
}

static bool
GraphOutputScalable(const GraphNet *net)
{
	for (uint32_t j = 0; j < net->hdr->n_outputs; j++)
		if (GraphValueScalable(net, j))
			return true;
	return false;
}

static int
GraphOutputLayers(const GraphNet *net)
{
	int			n = 0;

	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
		n += net->layers[l].role == GRAPH_ROLE_OUTPUT;
	return n;
}

/* What a fit learns first, while the rows are offered. */
typedef struct GraphPrep
{
	const HnAllocator *alloc;
	GraphNet   *net;
	HnScaleSample *sample;		/* input rows; NULL: not learnt */
	bool		want_out;
	HnColumnStats ystats;
} GraphPrep;

static void
GraphPrepDiscard(void *prep)
{
	GraphPrep  *p = prep;

	if (p == NULL)
		return;
	ScaleSampleFree(p->sample, p->alloc);
	StatsFree(&p->ystats, p->alloc);
	HnFree(p->alloc, p);
}

/*
 * The input scaling when asked for and not learnt yet, the output scaling
 * of mse identity outputs for value targets when not learnt yet (all again
 * with rescale).  Class targets need one output layer.
 */
static HnStatus
GraphPrepareBegin(HnNet *hn, const HnTrainOptions *opt, bool values,
				  bool stay, const HnAllocator *alloc, void **prep,
				  HnError *err)
{
	GraphNet   *net = GraphOf(hn);
	uint32_t	flags = net->hdr->flags;
	bool		want_in = (flags & GRAPH_FLAG_SCALE_INPUT) &&
		(opt->rescale || !(flags & GRAPH_FLAG_INPUT_FITTED));
	bool		want_out = values && GraphOutputScalable(net) &&
		(opt->rescale || !(flags & GRAPH_FLAG_OUTPUT_FITTED));
	GraphPrep  *p;
	HnStatus	st = HANAMI_OK;

	*prep = NULL;
	if (!values && GraphOutputLayers(net) > 1)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
				   "A class index says which output of one output layer is right; this graph has several output layers.",
				   "class targets need a graph with one output layer");
		return HnSetHint(err, "Name each output layer's target column with the \"targets\" option, or give a real[] of every output layer's values side by side in declared order (one-hot for a softmax layer).");
	}
	if (!want_in && !want_out)
		return HANAMI_OK;
	p = HnAllocZero(alloc, sizeof(GraphPrep));
	if (p == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for the scaling");
	p->alloc = alloc;
	p->net = net;
	p->want_out = want_out;
	if (want_in && (p->sample = ScaleSampleCreate(net->hdr->n_inputs, alloc,
												  err)) == NULL)
		st = err ? err->code : HANAMI_E_NOMEM;
	if (st == HANAMI_OK && want_out)
		st = StatsInit(&p->ystats, net->hdr->n_outputs, alloc, err);
	if (st != HANAMI_OK)
	{
		GraphPrepDiscard(p);
		return st;
	}
	*prep = p;
	return HANAMI_OK;
}

static void
GraphPrepareRows(void *prep, const HnDataset *rows, const int64_t *order,
				 int64_t n)
{
	GraphPrep  *p = prep;

	for (int64_t k = 0; k < n; k++)
	{
		int64_t		r = order ? order[k] : k;

		if (p->sample != NULL)
			ScaleSampleAdd(p->sample, rows->x + (size_t) r * rows->n_features);
		if (p->want_out)
			StatsAdd(&p->ystats, rows->y + (size_t) r * rows->n_outputs);
	}
}

/* Store what was learnt: the dense kind's rules. */
static HnStatus
GraphPrepareEnd(void *prep, HnNet *hn, HnError *err)
{
	GraphPrep  *p = prep;
	GraphNet   *net = p->net;
	HnStatus	st = HANAMI_OK;

	if (p->sample != NULL && ScaleSampleHeld(p->sample) > 0)
	{
		uint32_t	n_in = net->hdr->n_inputs;
		float	   *learnt = HnAlloc(p->alloc, 2 * sizeof(float) * n_in);

		if (learnt == NULL)
			st = HnSetError(err, HANAMI_E_NOMEM, NULL,
							"out of memory for the scaling");
		else
			st = ScaleSampleFit(p->sample, learnt, learnt + n_in, p->alloc,
								err);
		/* input layers whose scaling an embedded network brought keep it */
		if (st == HANAMI_OK)
		{
			GraphSetInputScaling(net, learnt, learnt + n_in);
			net->hdr->flags |= GRAPH_FLAG_INPUT_FITTED | GRAPH_FLAG_INPUT_CLIP;
		}
		HnFree(p->alloc, learnt);
	}
	if (st == HANAMI_OK && p->want_out && p->ystats.count > 0)
	{
		for (uint32_t j = 0; j < net->hdr->n_outputs; j++)
		{
			double		mean = p->ystats.mean[j];
			double		sd = sqrt(p->ystats.m2[j] / (double) p->ystats.count);
			float		f = (float) sd;

			if (!GraphValueScalable(net, j))
			{
				net->out_shift[j] = 0.0f;
				net->out_mul[j] = 1.0f;
				continue;
			}
			net->out_shift[j] = isfinite(mean) ? (float) mean : 0.0f;
			if (!(sd > 1e-12) || !isfinite(f) || f == 0.0f)
				f = 1.0f;
			net->out_mul[j] = f;
		}
		net->hdr->flags |= GRAPH_FLAG_OUTPUT_FITTED;
	}
	GraphPrepDiscard(p);
	return st;
}

/* Targets of softmax output layers are probability rows. */
static HnStatus
GraphCheckTargets(const HnNet *hn, const float *y, int64_t n, int64_t row0,
				  HnError *err)
{
	const GraphNet *net = GraphOf(hn);
	uint32_t	n_out = net->hdr->n_outputs;
	char		detail[HANAMI_ERRMSG_LEN];
	char		who[HANAMI_NAME_LEN + 16];

	for (int64_t r = 0; r < n; r++)
	{
		uint32_t	at = 0;

		for (uint32_t l = 0; l < net->hdr->n_layers; l++)
		{
			const GraphLayer *ly = &net->layers[l];
			const float *t = y + (size_t) r * n_out + at;
			double		sum = 0.0;
			bool		bad = false;

			if (ly->role != GRAPH_ROLE_OUTPUT)
				continue;
			at += ly->count;
			if (ly->activation != HANAMI_ACT_SOFTMAX)
				continue;
			for (uint32_t j = 0; j < ly->count; j++)
			{
				bad |= !(t[j] >= 0.0f && t[j] <= 1.0f);
				sum += t[j];
			}
			if (!bad && fabs(sum - 1.0) <= 0.01)
				continue;
			GraphLabel(net->layers, (int) l, who, sizeof(who));
			snprintf(detail, sizeof(detail),
					 "The values of softmax output %s lie between 0 and 1 and sum to 1 (one-hot for a class).",
					 who);
			return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, detail,
							  "target of row %" PRId64 " is not a probability distribution",
							  row0 + r + 1);
		}
	}
	return HANAMI_OK;
}

/* Check the optimizer's options and the layers to train. */
static HnStatus
GraphCheckOptions(const HnNet *hn, const HnTrainOptions *opt, HnError *err)
{
	const HnOptimConfig *o = &opt->optim;

	if (o->kind != HANAMI_OPT_SGD && o->kind != HANAMI_OPT_ADAM)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Known optimizers are \"sgd\" and \"adam\".",
						  "invalid optimizer (%d)", (int) o->kind);
	if (!(o->learning_rate > 0.0f) || !isfinite(o->learning_rate))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "learning_rate must be a positive number");
	if ((opt->train_mask & GraphTrainableMask(GraphOf(hn))) == 0)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Input layers have no parameters, and frozen layers keep theirs.",
						  "no layer selected for training");
	return GraphHistoryCheckOptions(GraphOf(hn), opt, err);
}

/* Target values into network space: (y - out_shift) / out_mul. */
static void
GraphTargets(const HnNet *hn, float *t, int n)
{
	const GraphNet *net = GraphOf(hn);
	uint32_t	n_out = net->hdr->n_outputs;

	for (int k = 0; k < n; k++)
		for (uint32_t j = 0; j < n_out; j++)
			t[(size_t) k * n_out + j] = (t[(size_t) k * n_out + j] -
										 net->out_shift[j]) / net->out_mul[j];
}

/* Summed loss of n rows of predictions, taken back to network space. */
static double
GraphLoss(const HnNet *hn, float *out, const float *t, int n)
{
	const GraphNet *net = GraphOf(hn);
	uint32_t	n_out = net->hdr->n_outputs;

	for (int k = 0; k < n; k++)
		for (uint32_t j = 0; j < n_out; j++)
			out[(size_t) k * n_out + j] = (out[(size_t) k * n_out + j] -
										   net->out_shift[j]) / net->out_mul[j];
	return GraphLossRows(net, out, t, n);
}

const HnKindFit HnGraphFit = {
	.option_keys = GraphOptionKeys,
	.options = GraphOptions,
	.jobs = true,
	.stepper = &GraphStepper,
	.online = false,
	.sequences = true,
	.advice = "try a lower learning rate or scaled inputs",
	.check_options = GraphCheckOptions,
	.check_targets = GraphCheckTargets,
	.prepare_begin = GraphPrepareBegin,
	.prepare_rows = GraphPrepareRows,
	.prepare_end = GraphPrepareEnd,
	.prepare_discard = GraphPrepDiscard,
	.targets = GraphTargets,
	.loss = GraphLoss,
};
