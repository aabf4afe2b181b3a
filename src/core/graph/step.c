/*
 * graph/step.c - the training step of a graph on the CPU: forward the
 * batch, backpropagate through the graph (graph/forward.c), and update the
 * trained layers' weights and biases with the fit's optimizer (optim.h).
 * One thread: the values never depend on the fit's compute threads.  A
 * network with history trains on its batches as windows of consecutive
 * rows (graph/history.c), the state carried from one to the next within
 * an epoch.
 */
#include "core/graph/graph.h"

#include <string.h>

#include "core/fit.h"
#include "core/simd.h"

typedef struct GraphStep
{
	GraphNet   *net;
	const HnAllocator *alloc;
	GraphWork  *work;
	HnOptimState *optim;
	uint64_t	mask;
	float	   *x;				/* the batch's inputs, side by side */
	float	   *t;				/* its network-space targets */
	float	   *y;				/* its outputs */
} GraphStep;

static void
GraphStepFree(void *state)
{
	GraphStep  *s = state;

	if (s == NULL)
		return;
	GraphWorkFree(s->work, s->alloc);
	OptimFree(s->optim, s->alloc);
	HnFree(s->alloc, s->x);
	HnFree(s->alloc, s->t);
	HnFree(s->alloc, s->y);
	HnFree(s->alloc, s);
}

/* A stepper for the plan's batches. */
static HnStatus
GraphStepCreate(void *ctx, HnNet *hn, const HnTrainOptions *opt,
				const HnFitPlan *plan, const HnAllocator *alloc,
				void **state, HnError *err)
{
	GraphNet   *net = GraphOf(hn);
	GraphStep  *s = HnAllocZero(alloc, sizeof(GraphStep));
	size_t		rows = (size_t) plan->max_batch;

	*state = NULL;
	if (s == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for a training workspace");
	s->net = net;
	s->alloc = alloc;
	s->mask = opt->train_mask & GraphTrainableMask(net);
	s->work = GraphWorkCreate(net, plan->max_batch, true, alloc, err);
	if (s->work == NULL)
	{
		GraphStepFree(s);
		return err ? err->code : HANAMI_E_NOMEM;
	}
	s->optim = OptimCreateCount(net->hdr->n_params, &opt->optim, alloc, err);
	if (s->optim == NULL)
	{
		GraphStepFree(s);
		return err ? err->code : HANAMI_E_NOMEM;
	}
	/* sizes: a workspace for the same rows was just allocated */
	s->x = HnAlloc(alloc, rows * net->hdr->n_inputs * sizeof(float));
	s->t = HnAlloc(alloc, rows * net->hdr->n_outputs * sizeof(float));
	s->y = HnAlloc(alloc, rows * net->hdr->n_outputs * sizeof(float));
	if (s->x == NULL || s->t == NULL || s->y == NULL)
	{
		GraphStepFree(s);
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for a training workspace");
	}
	*state = s;
	return HANAMI_OK;
}

/* One optimizer step on a batch. */
static HnStatus
GraphStepStep(void *state, const HnBatch *b, double *loss, HnError *err)
{
	GraphStep  *s = state;
	GraphNet   *net = s->net;
	uint32_t	n_in = net->hdr->n_inputs;
	uint32_t	n_out = net->hdr->n_outputs;
	float		step;
	float		vscale;

	for (int k = 0; k < b->count; k++)
	{
		float	   *t = s->t + (size_t) k * n_out;

		memcpy(s->x + (size_t) k * n_in, b->x[k], n_in * sizeof(float));
		HnTargetValues(n_out, b->cls ? b->cls[k] : 0, b->y ? b->y[k] : NULL, t);
		if (b->y != NULL)
			for (uint32_t j = 0; j < n_out; j++)
				t[j] = (t[j] - net->out_shift[j]) / net->out_mul[j];
	}
	GraphForwardRows(net, s->work, s->x, b->starts, b->count, s->y);
	*loss += GraphBackward(net, s->work, s->t, b->count, s->mask);
	OptimBegin(s->optim, &step, &vscale);
	for (uint32_t l = 1; l < net->hdr->n_layers; l++)
	{
		const GraphLayer *ly = &net->layers[l];
		size_t		nw = (size_t) GraphFanIn(net->layers, (int) l) * ly->count;

		if (!(s->mask & ((uint64_t) 1 << l)))
			continue;
		OptimUpdate(s->optim, net->params, s->work->grad, ly->param_offset, nw,
					s->optim->cfg.weight_decay, step, vscale);
		OptimUpdate(s->optim, net->params, s->work->grad,
					ly->param_offset + nw, ly->count, 0.0f, step, vscale);
	}
	return HANAMI_OK;
}

/* Clear the carried state (history): an epoch starts its sequences anew. */
static void
GraphStepEpochBegin(void *state)
{
	GraphStep  *s = state;

	memset(GraphState(s->net), 0, GraphStateSize(s->net) * sizeof(float));
}

/*
 * The parameters stay finite.  The state the epoch's last rows left is
 * cleared: validation starts from a cleared state anyway, and a network
 * at rest carries none.
 */
static HnStatus
GraphStepEpochEnd(void *state, double *loss, bool *finite, HnError *err)
{
	GraphStep  *s = state;

	GraphStepEpochBegin(state);
	*finite = SimdAllFinite(s->net->params, (size_t) s->net->hdr->n_params);
	return HANAMI_OK;
}

/* Checkpoint state: the optimizer's (optim.h OptimSave). */
static size_t
GraphStepSaveSize(void *state)
{
	GraphStep  *s = state;

	return OptimSaveSize(s->optim, (size_t) s->net->hdr->n_params);
}

static void
GraphStepSave(void *state, void *dst)
{
	GraphStep  *s = state;

	OptimSave(s->optim, (size_t) s->net->hdr->n_params, dst);
}

/* Restore the optimizer from untrusted bytes, every value checked. */
static HnStatus
GraphStepLoad(void *state, const void *src, size_t len, HnError *err)
{
	GraphStep  *s = state;

	return OptimLoad(s->optim, (size_t) s->net->hdr->n_params, src, len, err);
}

const HnStepperOps GraphStepper = {
	.name = "cpu",
	.create = GraphStepCreate,
	.epoch_begin = GraphStepEpochBegin,
	.step = GraphStepStep,
	.epoch_end = GraphStepEpochEnd,
	.free = GraphStepFree,
	.save_size = GraphStepSaveSize,
	.save = GraphStepSave,
	.load = GraphStepLoad,
};
