/*
 * graph/graph.h - the graph kind: named layers joined by edges, several
 * input and output layers.  Its binary layout, the bound view of an image,
 * and the functions the kind's files share.
 *
 * One contiguous, little-endian image, like every kind's (image.h):
 *
 *   HnHeader            72 bytes; kind HANAMI_KIND_GRAPH, n_layers layers,
 *                       loss 0 (each output layer has its own), n_inputs the
 *                       units of the input layers, n_outputs those of the
 *                       output layers, flags GRAPH_FLAG_*
 *   GraphLayer[n_layers]   80 bytes each, in declared order: a layer reads
 *                       only layers before it, so the order is a
 *                       topological order and the graph is acyclic
 *   scaling             float in_shift[n_inputs], in_mul[n_inputs],
 *                       out_shift[n_outputs], out_mul[n_outputs]
 *   parameters          for each layer that is not an input, at its
 *                       param_offset (in floats from the start of the
 *                       area, contiguous in layer order):
 *                       W[fan_in][count] row-major, then bias[count];
 *                       fan_in = the units of its sources, in the order of
 *                       "from", plus history * count (below)
 *   state               float[history * count] for each layer with a
 *                       history, in layer order, right after the
 *                       parameters (n_params floats): the carried state
 *                       (kind.h), zero in a value at rest (see below)
 *
 * A row's features are the input layers' values concatenated in declared
 * order; a prediction is the output layers' values concatenated the same
 * way.  A layer's input is its sources' values concatenated in the order
 * of its source list, then, for a layer with a history of N rows
 * (recurrence, 1..GRAPH_MAX_HISTORY; never an input), its own values of
 * the N rows before: the previous row's count values first, then the one
 * before it, down to N rows back, so rows fan_in - N * count .. fan_in - 1
 * of W are its weights on its own past, N blocks of count rows.  Those
 * values are the layer's state, in the same order (the previous row
 * first): a row reads it as the tail of its input and, once computed,
 * shifts it down one block and puts its own values first.  Before the
 * first row of a sequence the state is zero (graph/history.c).  A network
 * with a history has rows that depend on each other (kind.h
 * rows_independent): its rows run in order, one at a time.
 *
 * Scaling works as the dense kind's (dense/format.h): the network computes
 * on (x - in_shift) * in_mul, clipped to -+GRAPH_INPUT_CLIP when
 * GRAPH_FLAG_INPUT_CLIP is set; a prediction is y * out_mul + out_shift.
 *
 * Every reserved field is zero.  A layer's `flags` (GRAPH_LAYER_*) come
 * from nets inside nets (embed.c): a frozen layer's weights no fit
 * changes, and an input layer with fixed scaling keeps the in_shift/in_mul
 * an embedded network brought, which a fit does not learn again.
 */
#ifndef HANAMI_CORE_GRAPH_H
#define HANAMI_CORE_GRAPH_H

#include "core/activation.h"
#include "core/common.h"
#include "core/image.h"
#include "core/kind.h"
#include "core/loss.h"
#include "core/train.h"

/* Header flags: the dense kind's meanings and values. */
#define GRAPH_FLAG_SCALE_INPUT		0x0001	/* learn input scaling on first fit */
#define GRAPH_FLAG_INPUT_FITTED		0x0002
#define GRAPH_FLAG_OUTPUT_FITTED	0x0004
#define GRAPH_FLAG_INPUT_CLIP		0x0008
#define GRAPH_FLAG_ALL				0x000F

#define GRAPH_INPUT_CLIP			5.0f

/* A layer reads at most this many layers. */
#define GRAPH_MAX_SOURCES			8

/* A layer keeps at most this many earlier rows of its values. */
#define GRAPH_MAX_HISTORY			64

/* GraphLayer.role */
#define GRAPH_ROLE_HIDDEN			0
#define GRAPH_ROLE_INPUT			1
#define GRAPH_ROLE_OUTPUT			2

/* GraphLayer.flags */
#define GRAPH_LAYER_FROZEN			0x0001	/* not an input: no fit changes
											 * its weights */
#define GRAPH_LAYER_FIXED_SCALING	0x0002	/* an input: its scaling came
											 * with an embedded network */
#define GRAPH_LAYER_ALL				0x0003

#pragma pack(push, 4)

typedef struct GraphLayer
{
	uint32_t	count;			/* units, 1..HANAMI_MAX_UNITS */
	uint16_t	activation;		/* HnActivation; IDENTITY for inputs */
	uint16_t	role;			/* GRAPH_ROLE_* */
	uint16_t	loss;			/* HnLoss of an output layer; else 0 */
	uint16_t	n_sources;		/* 0 for inputs; else 1..GRAPH_MAX_SOURCES */
	uint16_t	sources[GRAPH_MAX_SOURCES];	/* indices of earlier layers;
											 * unused slots zero */
	uint32_t	history;		/* earlier rows of its own values it reads,
								 * 0..GRAPH_MAX_HISTORY; 0 for inputs */
	uint32_t	flags;			/* GRAPH_LAYER_* */
	uint32_t	reserved;		/* zero */
	uint64_t	param_offset;	/* floats into the parameter area; 0 for
								 * inputs */
	char		name[HANAMI_NAME_LEN];	/* NUL-terminated, NUL-padded; may be
										 * "" */
} GraphLayer;

#pragma pack(pop)

/* A graph bound to its image. */
typedef struct GraphNet
{
	HnHeader   *hdr;
	GraphLayer *layers;
	float	   *in_shift;
	float	   *in_mul;
	float	   *out_shift;
	float	   *out_mul;
	float	   *params;
} GraphNet;

extern const HnKind HnGraphKind;

/* The graph view of a bound network, or NULL when it is of another kind. */
static inline GraphNet *
GraphOf(const HnNet *net)
{
	return net->kind == &HnGraphKind ? (GraphNet *) net->view.bytes : NULL;
}

/* A description before the image exists (graph/json.c fills it). */
typedef struct GraphSpec
{
	int			n_layers;
	GraphLayer	layers[HANAMI_MAX_LAYERS];	/* param_offset unset */
	bool		input_scaling;
	uint32_t	seed;
} GraphSpec;

/* format.c */

/*
 * Units a layer reads: the sum of its sources' counts, plus history *
 * count.  GraphSourceUnits: the sources' part alone.
 */
uint64_t	GraphFanIn(const GraphLayer *layers, int l);
uint64_t	GraphSourceUnits(const GraphLayer *layers, int l);

/* Floats of the state area of layer records: the sum of history * count. */
uint64_t	GraphStateFloats(const GraphLayer *layers, int n);

/* "layer \"name\"" or "layer N" for messages. */
void		GraphLabel(const GraphLayer *layers, int l, char *buf, size_t len);

/*
 * Check the layer records of a spec (code HANAMI_E_INVALID_SPEC) or an
 * image (HANAMI_E_INVALID_FORMAT): roles, sources, activations, losses,
 * names, reserved fields, that every input and every layer that is not an
 * output is read.  With an image also param_offset.
 */
HnStatus	GraphCheckLayers(const GraphLayer *layers, int n, bool image,
							 HnStatus code, HnError *err);

/* Bytes of the image of checked layer records; 0 with err when too large. */
size_t		GraphImageSize(const GraphLayer *layers, int n, HnError *err);

/*
 * Write the image of a checked spec into buf (GraphImageSize bytes):
 * header, layers, identity scaling, and weights drawn from spec->seed as
 * the dense kind draws them (normal, sqrt(gain / fan_in); biases zero),
 * unless zero is set (a text form fills the weights itself).
 */
HnStatus	GraphCreate(void *buf, size_t len, const GraphSpec *spec,
						bool zero, HnError *err);

HnStatus	GraphBindChecked(GraphNet *net, void *buf, size_t len,
							 HnError *err);
void		GraphBindTrusted(GraphNet *net, void *buf);

static inline float *
GraphWeights(const GraphNet *net, int l)
{
	return net->params + net->layers[l].param_offset;
}

static inline float *
GraphBias(const GraphNet *net, int l)
{
	return GraphWeights(net, l) +
		(size_t) GraphFanIn(net->layers, l) * net->layers[l].count;
}

static inline float
GraphInputClip(const GraphNet *net)
{
	return (net->hdr->flags & GRAPH_FLAG_INPUT_CLIP) ? GRAPH_INPUT_CLIP : 0.0f;
}

/* The index of the layer named name, or -1. */
int			GraphFind(const GraphNet *net, const char *name);

/* json.c: the kind's description operations */
HnStatus	GraphFromJson(const struct HnJson *root, const HnJsonIn *in,
						  const HnAllocator *alloc, void **image, size_t *len,
						  HnError *err);
HnStatus	GraphToJson(const HnNet *net, struct HnBuf *out, HnError *err);
HnStatus	GraphInfoJson(const HnNet *net, struct HnBuf *out, HnError *err);

/* forward.c: inference and backpropagation over a batch */

/*
 * Buffers for batches of up to max_batch rows: for every layer its values
 * a[l] (rows x count, inputs scaled) and for the others z[l] (before the
 * activation) and x[l] (a layer with several sources: their values side
 * by side); with training also ga/gz per layer and grad (n_params).
 */
typedef struct GraphWork
{
	int			max_batch;
	float	   *xs;				/* scaled inputs, rows x n_inputs */
	float	   *a[HANAMI_MAX_LAYERS];
	float	   *z[HANAMI_MAX_LAYERS];
	float	   *x[HANAMI_MAX_LAYERS];	/* NULL: the one source's a (a
										 * layer with one source and no
										 * history) */
	float	   *ga[HANAMI_MAX_LAYERS];	/* training: dL/da */
	float	   *gz[HANAMI_MAX_LAYERS];	/* training: dL/dz */
	float	   *gx;				/* training: dL/dx of one layer */
	float	   *wt;				/* training: a transposed W */
	float	   *grad;			/* training: n_params */
	float	   *gt;				/* training: one row of a loss gradient */
	int		   *first;			/* history: for each row of the last
								 * forward pass, the first row of the batch
								 * in its sequence (0 also when the sequence
								 * began before the batch) */
} GraphWork;

GraphWork  *GraphWorkCreate(const GraphNet *net, int max_batch, bool training,
							const HnAllocator *alloc, HnError *err);
void		GraphWorkFree(GraphWork *w, const HnAllocator *alloc);

/* Forward n <= max_batch rows of raw input x; the outputs (network space,
 * before output scaling) into y (n x n_outputs). */
void		GraphForward(const GraphNet *net, GraphWork *w, const float *x,
						 int n, float *y);

/*
 * GraphForward for a network with history: the rows one after another,
 * reading and updating the state in the image; starts (NULL: none) marks
 * the rows that begin a sequence, before which the state is cleared.
 * Without history, the same as GraphForward.
 */
void		GraphForwardRows(const GraphNet *net, GraphWork *w, const float *x,
							 const uint8_t *starts, int n, float *y);

/* Forward in chunks of max_batch rows, with output scaling, into out. */
void		GraphPredict(const GraphNet *net, GraphWork *w, const float *x,
						 int n, float *out);

/*
 * After GraphForward on the same n rows, with network-space targets t
 * (n x n_outputs): the gradient of the mean loss into w->grad for the
 * layers whose bit is set in mask (others' entries unspecified).  Returns
 * the summed loss of the n rows.
 */
double		GraphBackward(const GraphNet *net, GraphWork *w, const float *t,
						  int n, uint64_t mask);

/* history.c: the carried state and the rows of a network with history */

/* Whether a layer of the network has a history. */
bool		GraphHasHistory(const GraphNet *net);

/* The state area (after the parameters) and its floats. */
float	   *GraphState(const GraphNet *net);
size_t		GraphStateSize(const GraphNet *net);

/* Each layer's state in the area (NULL for layers without history). */
void		GraphStateOf(const GraphNet *net, float **state);

/*
 * Forward and backward of a network with history (GraphForwardRows,
 * GraphBackward call them): truncated backpropagation through time over
 * the rows of one call; see history.c.
 */
void		GraphHistoryForward(const GraphNet *net, GraphWork *w,
								const float *x, const uint8_t *starts,
								int n, float *y);
double		GraphHistoryBackward(const GraphNet *net, GraphWork *w,
								 const float *t, int n, uint64_t mask);

/*
 * A network with history trains on its rows in order: "shuffle" and
 * "validation_split" are refused (HANAMI_E_INVALID_ARGUMENT).
 */
HnStatus	GraphHistoryCheckOptions(const GraphNet *net,
									 const HnTrainOptions *opt, HnError *err);

/* Summed loss of n rows of network-space outputs y against targets t. */
double		GraphLossRows(const GraphNet *net, const float *y, const float *t,
						  int n);

/* step.c, fit.c, options.c: training */
extern const struct HnStepperOps GraphStepper;
extern const struct HnKindFit HnGraphFit;
extern const char *const GraphOptionKeys[];
HnStatus	GraphOptions(const HnNet *net, const struct HnJson *obj,
						 const HnAllocator *alloc, HnTrainOptions *opt,
						 HnError *err);

/* The layers a fit may train: every layer that is neither an input nor
 * frozen. */
uint64_t	GraphTrainableMask(const GraphNet *net);

/*
 * embed.c: nets inside nets.  A layer {"name": "enc", "net": {...}} of a
 * description is read as one placeholder layer (GraphEmbedRead: the
 * network is built, and gives the placeholder its output count and
 * activation); once every layer's sources and role are resolved,
 * GraphEmbedExpand replaces each placeholder by the network's layers, and
 * after the image is written GraphEmbedApply copies their weights and
 * scaling into it.
 */
typedef struct GraphEmbeds GraphEmbeds;

GraphEmbeds *GraphEmbedsCreate(const HnAllocator *alloc, HnError *err);
void		GraphEmbedsFree(GraphEmbeds *e);
int			GraphEmbedsCount(const GraphEmbeds *e);
HnStatus	GraphEmbedRead(GraphEmbeds *e, const struct HnJson *layer, int l,
						   GraphLayer *ly, HnError *err);
HnStatus	GraphEmbedExpand(GraphEmbeds *e, GraphSpec *spec, HnError *err);
HnStatus	GraphEmbedApply(const GraphEmbeds *e, GraphNet *net, HnError *err);

/*
 * The input scaling a fit learnt (shift and mul of every input, from
 * ScaleSampleFit) into net, except the input layers with fixed scaling,
 * which keep theirs.
 */
void		GraphSetInputScaling(GraphNet *net, const float *shift,
								 const float *mul);

#endif							/* HANAMI_CORE_GRAPH_H */
