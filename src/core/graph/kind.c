/*
 * graph/kind.c - the operations of the graph kind (kind.h) over its layout
 * (graph.h, format.c), description (json.c), inference (forward.c) and
 * training (step.c, fit.c).  What a graph does not do - reshape, average,
 * quantize, paged inference, OpenCL, the Hebbian rule - is left NULL or
 * refused by its options, so each gives a clear error.
 */
#include "core/graph/graph.h"

#include <stdio.h>
#include <string.h>

#include "core/fit.h"
#include "core/ports.h"

_Static_assert(sizeof(GraphNet) <= HANAMI_VIEW_BYTES,
			   "the graph view must fit HnNet");

static HnStatus
GraphKindBind(HnNet *net, HnError *err)
{
	return GraphBindChecked(GraphOf(net), net->hdr, net->len, err);
}

static void
GraphKindBindTrusted(HnNet *net)
{
	GraphBindTrusted(GraphOf(net), net->hdr);
}

static void *
GraphKindWorkCreate(const HnNet *net, int max_batch, const HnAllocator *alloc,
					HnError *err)
{
	return GraphWorkCreate(GraphOf(net), max_batch, false, alloc, err);
}

static void
GraphKindWorkFree(void *work, const HnAllocator *alloc)
{
	GraphWorkFree(work, alloc);
}

static void
GraphKindPredict(HnNet *net, void *work, const float *x, int n, float *out)
{
	GraphPredict(GraphOf(net), work, x, n, out);
}

/* Rows depend on each other when a layer has a history (graph.h). */
static bool
GraphKindRowsIndependent(const HnNet *net)
{
	return !GraphHasHistory(GraphOf(net));
}

/* The carried state: the history layers' earlier values (history.c). */
static size_t
GraphKindStateSize(const HnNet *net)
{
	return GraphStateSize(GraphOf(net)) * sizeof(float);
}

static void
GraphKindStateSave(const HnNet *net, void *dst)
{
	memcpy(dst, GraphState(GraphOf(net)), GraphKindStateSize(net));
}

static void
GraphKindStateLoad(HnNet *net, const void *src)
{
	memcpy(GraphState(GraphOf(net)), src, GraphKindStateSize(net));
}

static void
GraphKindStateReset(HnNet *net)
{
	memset(GraphState(GraphOf(net)), 0, GraphKindStateSize(net));
}

/*
 * Class probabilities: one output layer, softmax (or sigmoid for 0/1
 * classes), without a learnt output scaling.
 */
static HnOutputs
GraphKindOutputs(const HnNet *hn, char *why, size_t why_len)
{
	const GraphNet *net = GraphOf(hn);
	int			outputs = 0;
	int			last = 0;
	HnActivation act;

	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
		if (net->layers[l].role == GRAPH_ROLE_OUTPUT)
		{
			outputs++;
			last = (int) l;
		}
	act = (HnActivation) net->layers[last].activation;
	if (outputs == 1 &&
		(act == HANAMI_ACT_SOFTMAX || act == HANAMI_ACT_SIGMOID) &&
		!(net->hdr->flags & GRAPH_FLAG_OUTPUT_FITTED))
		return HANAMI_OUTPUTS_CLASSES;
	if (why == NULL)
		return HANAMI_OUTPUTS_VALUES;
	if (outputs > 1)
		snprintf(why, why_len, "The graph has %d output layers, so its outputs are their values side by side, not the probabilities of one set of classes.",
				 outputs);
	else
		snprintf(why, why_len, "The graph's output layer is %s (loss %s), so its outputs are values, not class probabilities.",
				 ActName(act), LossName((HnLoss) net->layers[last].loss));
	return HANAMI_OUTPUTS_VALUES;
}

/*
 * The header with the layers and scaling, then each layer's parameters,
 * then the carried state when a layer has a history.
 */
static void
GraphKindSegments(const HnNet *hn, HnSegmentFn emit, void *ctx)
{
	const GraphNet *net = GraphOf(hn);
	const char *image = (const char *) hn->hdr;
	size_t		start = (size_t) ((const char *) net->params - image);

	emit(ctx, 0, start, "header");
	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
	{
		const GraphLayer *ly = &net->layers[l];
		size_t		bytes;
		char		name[HANAMI_NAME_LEN + 32];

		if (ly->role == GRAPH_ROLE_INPUT)
			continue;
		bytes = (size_t) (GraphFanIn(net->layers, (int) l) + 1) * ly->count *
			sizeof(float);
		if (ly->name[0])
			snprintf(name, sizeof(name), "layer %u (%s)", l, ly->name);
		else
			snprintf(name, sizeof(name), "layer %u", l);
		emit(ctx, start, bytes, name);
		start += bytes;
	}
	if (GraphStateSize(net) > 0)
		emit(ctx, start, GraphStateSize(net) * sizeof(float), "state");
}

/*
 * The ports (ports.h): the input (outputs false) or output layers, in
 * declared order, side by side.  A named layer's port has its name; an
 * unnamed one is "input" or "output" when it is the only one of its
 * direction, else its index in the layers ("3").  An output takes classes
 * when it is a softmax layer, or one sigmoid unit.
 */
static int
GraphKindPorts(const HnNet *hn, bool outputs, HnPort *out, int max)
{
	const GraphNet *net = GraphOf(hn);
	int			role = outputs ? GRAPH_ROLE_OUTPUT : GRAPH_ROLE_INPUT;
	int			n = 0;
	int			total = 0;
	uint32_t	offset = 0;

	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
		total += net->layers[l].role == role;
	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
	{
		const GraphLayer *ly = &net->layers[l];

		if (ly->role != role)
			continue;
		if (n < max)
		{
			HnPort	   *p = &out[n];

			memset(p, 0, sizeof(*p));
			if (ly->name[0])
				memcpy(p->name, ly->name, sizeof(p->name));
			else if (total == 1)
				snprintf(p->name, sizeof(p->name), "%s",
						 outputs ? "output" : "input");
			else
				snprintf(p->name, sizeof(p->name), "%u", l);
			p->offset = offset;
			p->count = ly->count;
			p->classes = outputs &&
				(ly->activation == HANAMI_ACT_SOFTMAX ||
				 (ly->activation == HANAMI_ACT_SIGMOID && ly->count == 1));
		}
		offset += ly->count;
		n++;
	}
	return n;
}

const HnKind HnGraphKind = {
	.id = HANAMI_KIND_GRAPH,
	.name = "graph",
	.caps = 0,
	.bind = GraphKindBind,
	.bind_trusted = GraphKindBindTrusted,
	.from_json = GraphFromJson,
	.to_json = GraphToJson,
	.info = GraphInfoJson,
	.work_create = GraphKindWorkCreate,
	.work_free = GraphKindWorkFree,
	.predict = GraphKindPredict,
	.rows_independent = GraphKindRowsIndependent,
	.outputs = GraphKindOutputs,
	.state_size = GraphKindStateSize,
	.state_save = GraphKindStateSave,
	.state_load = GraphKindStateLoad,
	.state_reset = GraphKindStateReset,
	.segments = GraphKindSegments,
	.fit = &HnGraphFit,
	.ports = GraphKindPorts,
};
