/*
 * dense/kind.c - the operations of the dense kind (kind.h) over its layout
 * (format.h), inference (dense.h) and training step (step.h).
 */
#include "core/dense/kind.h"

#include <stdio.h>
#include <string.h>

#include "core/dense/dense.h"
#include "core/dense/dtype.h"
#include "core/dense/json.h"
#include "core/dense/step.h"
#include "core/ports.h"

_Static_assert(sizeof(DenseNet) <= HANAMI_VIEW_BYTES,
			   "the dense view must fit HnNet");

static HnStatus
DenseKindBind(HnNet *net, HnError *err)
{
	return DenseBindChecked(DenseOf(net), net->hdr, net->len, err);
}

static void
DenseKindBindTrusted(HnNet *net)
{
	DenseBindTrusted(DenseOf(net), net->hdr);
}

static void *
DenseKindWorkCreate(const HnNet *net, int max_batch, const HnAllocator *alloc,
					HnError *err)
{
	return DenseWorkCreate(DenseOf(net), max_batch, false, alloc, err);
}

static void
DenseKindWorkFree(void *work, const HnAllocator *alloc)
{
	DenseWorkFree(work, alloc);
}

static void
DenseKindWorkTune(const HnNet *net, void *work)
{
	DenseWorkFold(DenseOf(net), work);
}

static void
DenseKindPredict(HnNet *net, void *work, const float *x, int n, float *out)
{
	DensePredict(DenseOf(net), work, x, n, out);
}

static HnStatus
DenseKindBindHead(HnNet *net, size_t image_len, HnError *err)
{
	return DenseBindHead(DenseOf(net), net->hdr, net->len, image_len, err);
}

/* Segment l of the image is layer l's parameters (DenseKindSegments). */
static HnStatus
DenseKindPredictPaged(HnNet *head, void *work, const HnPager *pager,
					  const float *x, int n, float *out, HnError *err)
{
	return DensePredictPaged(DenseOf(head), work, pager, x, n, out, err);
}

/*
 * Class probabilities come from a softmax output layer, or a sigmoid one for
 * 0/1 classes, unless the fit learned an output scaling for it (values).
 */
static HnOutputs
DenseKindOutputs(const HnNet *net, char *why, size_t why_len)
{
	const DenseNet *d = DenseOf(net);
	HnActivation act =
		(HnActivation) d->layers[d->hdr->n_layers - 1].activation;
	bool		probabilities = act == HANAMI_ACT_SOFTMAX ||
		act == HANAMI_ACT_SIGMOID;

	if (probabilities && !(d->hdr->flags & HANAMI_FLAG_OUTPUT_FITTED))
		return HANAMI_OUTPUTS_CLASSES;
	if (why == NULL)
		return HANAMI_OUTPUTS_VALUES;
	if (probabilities)
		snprintf(why, why_len, "The network has learned output scaling, so its outputs are values, not class probabilities.");
	else
		snprintf(why, why_len, "The network's output layer is %s (loss %s), so its outputs are values, not class probabilities.",
				 ActName(act), LossName((HnLoss) d->hdr->loss));
	return HANAMI_OUTPUTS_VALUES;
}

/*
 * One input port, layer 0, and one output port, the last layer, each named
 * after its layer ("input" and "output" when the layer has no name).
 */
static int
DenseKindPorts(const HnNet *net, bool outputs, HnPort *out, int max)
{
	const DenseNet *d = DenseOf(net);
	const DenseLayer *l = &d->layers[outputs ? d->hdr->n_layers - 1 : 0];

	if (max < 1)
		return 1;
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s",
			 l->name[0] ? l->name : outputs ? "output" : "input");
	out->count = l->count;
	out->classes = outputs &&
		DenseKindOutputs(net, NULL, 0) == HANAMI_OUTPUTS_CLASSES;
	return 1;
}

static struct DenseNet *
DenseKindView(const HnNet *net)
{
	return DenseOf(net);
}

static size_t
DenseKindStateSize(const HnNet *net)
{
	return 0;
}

/* The header with the scaling, then one block per layer's parameters. */
static void
DenseKindSegments(const HnNet *net, HnSegmentFn emit, void *ctx)
{
	const DenseNet *d = DenseOf(net);
	const char *image = (const char *) net->hdr;

	emit(ctx, 0, (size_t) ((const char *) d->params - image), "header");
	for (uint32_t l = 1; l < d->hdr->n_layers; l++)
	{
		size_t		start = (size_t) ((const char *) DenseWeights(d, l) - image);
		size_t		end = l + 1 < d->hdr->n_layers ?
			(size_t) ((const char *) DenseWeights(d, l + 1) - image) : net->len;
		char		name[HANAMI_NAME_LEN + 32];

		if (d->layers[l].name[0])
			snprintf(name, sizeof(name), "layer %u (%s)", l, d->layers[l].name);
		else
			snprintf(name, sizeof(name), "layer %u", l);
		emit(ctx, start, end - start, name);
	}
}

/* A new image with the weights in the dtype named (dtype.h). */
static HnStatus
DenseKindQuantize(const HnNet *net, const char *name,
				  const HnAllocator *alloc, void **image, size_t *len,
				  HnError *err)
{
	int			dtype = DenseDtypeFromName(name);
	char		hint[HANAMI_ERRMSG_LEN];

	if (dtype < 0)
	{
		snprintf(hint, sizeof(hint), "Valid dtypes are: %s.", DenseDtypeList());
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
				   "unknown dtype \"%s\"", name);
		return HnSetHint(err, hint);
	}
	return DenseQuantize(DenseOf(net), dtype, alloc, image, len, err);
}

/* A dense network carries nothing from row to row. */
static bool
DenseKindRowsIndependent(const HnNet *net)
{
	return true;
}

const HnKind HnDenseKind = {
	.id = HANAMI_KIND_DENSE,
	.name = "dense",
	.caps = HANAMI_CAP_LAYERED,
	.max_version = DENSE_FORMAT_DTYPE,
	.bind = DenseKindBind,
	.bind_trusted = DenseKindBindTrusted,
	.from_json = DenseFromJson,
	.to_json = DenseToJson,
	.info = DenseInfoJson,
	.work_create = DenseKindWorkCreate,
	.work_free = DenseKindWorkFree,
	.work_tune = DenseKindWorkTune,
	.predict = DenseKindPredict,
	.outputs = DenseKindOutputs,
	.ports = DenseKindPorts,
	.state_size = DenseKindStateSize,
	.rows_independent = DenseKindRowsIndependent,
	.dense_view = DenseKindView,
	.segments = DenseKindSegments,
	.reshape = DenseReshape,
	.bind_head = DenseKindBindHead,
	.predict_paged = DenseKindPredictPaged,
	.average_check = DenseAverageCheck,
	.parameters = DenseParameters,
	.quantize = DenseKindQuantize,
	.fit = &HnDenseFit,
};
