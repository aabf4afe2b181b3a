/*
 * format.h - the versioned binary layout of a network.
 *
 * One contiguous, little-endian image: the same bytes are the payload of the
 * hanami.network varlena (after its 4-byte length word), what the store cuts
 * into blocks and what a device uploads.
 *
 *   HnHeader            72 bytes
 *   HnLayer[n_layers]   48 bytes each; layer 0 is the input layer
 *   scaling             float in_shift[n_inputs],  in_mul[n_inputs],
 *                       float out_shift[n_outputs], out_mul[n_outputs]
 *   parameters          for each layer l = 1..n_layers-1, at its param_offset
 *                       (in floats from the start of the parameter area):
 *                       W[in][out] (in = units of layer l-1, out = units of l,
 *                       row-major, so row i holds input i's weights to every
 *                       unit of l), then bias[out]
 *
 * Input scaling: the network computes on (x - in_shift) * in_mul, clipped
 * to [-HANAMI_INPUT_CLIP, HANAMI_INPUT_CLIP] when HANAMI_FLAG_INPUT_CLIP is
 * set (a fit sets it when it learns the input scaling; images without it,
 * such as those fitted before the flag existed, are not clipped).  Output
 * scaling (regression): a prediction is y * out_mul + out_shift.  Identity
 * scaling is shift 0, mul 1.
 *
 * Every reserved field must be zero; NetBind rejects anything else, so later
 * versions can give them meaning.
 */
#ifndef HANAMI_CORE_FORMAT_H
#define HANAMI_CORE_FORMAT_H

#include "core/common.h"
#include "core/activation.h"
#include "core/loss.h"

#define HANAMI_MAGIC			0x494D4E48u	/* "HNMI" little-endian */
#define HANAMI_FORMAT_VERSION	1

/* Network kinds (stored: never renumber). */
typedef enum HnKind
{
	HANAMI_KIND_DENSE = 1,
	HANAMI_KIND_HANAMI = 2		/* the growing "hanami" kind: hanami/hanami.h */
} HnKind;

/* Header flags. */
#define HANAMI_FLAG_SCALE_INPUT		0x0001	/* learn input scaling on first fit */
#define HANAMI_FLAG_INPUT_FITTED	0x0002	/* in_shift/in_mul hold learned values */
#define HANAMI_FLAG_OUTPUT_FITTED	0x0004	/* out_shift/out_mul hold learned values */
#define HANAMI_FLAG_INPUT_CLIP		0x0008	/* scaled inputs are clipped */
#define HANAMI_FLAG_ALL				0x000F

/*
 * Bound of a scaled input when HANAMI_FLAG_INPUT_CLIP is set: five robust
 * ranges (scaling.h; ten interquartile ranges) either side of the median.
 * Clean data rarely comes near it; a value a million times too large is
 * held there instead of swamping the sums of layer 1 and the gradients.
 */
#define HANAMI_INPUT_CLIP			5.0f

/*
 * The image sits right after a 4-byte varlena length word, so it is only
 * 4-byte aligned: pack the records to 4 so 64-bit fields are read legally.
 * The layout is the same as with natural alignment.
 */
#pragma pack(push, 4)

typedef struct HnHeader
{
	uint32_t	magic;			/* HANAMI_MAGIC */
	uint16_t	version;		/* HANAMI_FORMAT_VERSION */
	uint16_t	kind;			/* HnKind */
	uint32_t	header_size;	/* sizeof(HnHeader) */
	uint32_t	flags;			/* HANAMI_FLAG_* */
	uint64_t	total_size;		/* bytes of the whole image */
	uint32_t	n_layers;		/* including the input layer, >= 2 */
	uint32_t	loss;			/* HnLoss */
	uint32_t	n_inputs;		/* units of layer 0 */
	uint32_t	n_outputs;		/* units of the last layer */
	uint64_t	n_params;		/* floats in the parameter area */
	uint32_t	seed;			/* seed of the initial weights */
	uint32_t	epochs;			/* epochs trained so far */
	uint64_t	samples;		/* samples trained on so far */
	uint32_t	reserved[2];	/* zero */
} HnHeader;

typedef struct HnLayer
{
	uint32_t	count;			/* units, 1..HANAMI_MAX_UNITS */
	uint16_t	activation;		/* HnActivation; IDENTITY for layer 0 */
	uint16_t	reserved16;		/* zero */
	uint64_t	param_offset;	/* floats into the parameter area; 0 for layer 0 */
	char		name[HANAMI_NAME_LEN];	/* NUL-terminated, NUL-padded; may be "" */
} HnLayer;

#pragma pack(pop)

/* A network bound to its image: pointers into the one buffer. */
typedef struct HnNet
{
	HnHeader   *hdr;
	HnLayer    *layers;
	float	   *in_shift;
	float	   *in_mul;
	float	   *out_shift;
	float	   *out_mul;
	float	   *params;
} HnNet;

/* A parsed network description, before the image exists. */
typedef struct HnLayerSpec
{
	uint32_t	count;
	HnActivation activation;	/* DEFAULT: relu hidden; softmax (count >= 2)
								 * or identity (count 1) for the output */
	char		name[HANAMI_NAME_LEN];
} HnLayerSpec;

typedef struct HnSpec
{
	HnKind		kind;
	int			n_layers;
	HnLayerSpec layers[HANAMI_MAX_LAYERS];
	HnLoss		loss;			/* DEFAULT: cross_entropy for softmax/sigmoid
								 * output, else mse */
	bool		input_scaling;	/* learn input scaling on first fit */
	uint32_t	seed;
} HnSpec;

/*
 * Resolve defaults and check a spec: 2..MAX_LAYERS layers, counts
 * 1..MAX_UNITS, input layer identity (DEFAULT becomes identity, anything else
 * is an error), softmax only on the output layer, cross_entropy only with a
 * softmax or sigmoid output, names unique when non-empty, total size within
 * HANAMI_MAX_BYTES.
 */
HnStatus	SpecFinalize(HnSpec *spec, HnError *err);

/* Bytes of the image for a finalized spec; 0 with err set when too large. */
size_t		SpecImageSize(const HnSpec *spec, HnError *err);

/*
 * Write the image of a finalized spec into buf (exactly SpecImageSize bytes):
 * header, layers, identity scaling, weights initialised from spec->seed
 * (He or Xavier normal by activation gain, biases zero).
 */
HnStatus	NetCreate(void *buf, size_t len, const HnSpec *spec, HnError *err);

/*
 * Validate an image of len bytes and bind net to it.  The single validation
 * path for every way a network enters: text input, binary receive, casts,
 * function arguments.  Checks magic, version, kind, sizes (overflow-checked,
 * total_size == len), reserved fields, layer records, offsets, names, flags,
 * and that every float is finite.  buf must be 4-byte aligned.  An image of
 * kind HANAMI_KIND_HANAMI is checked as strictly by HkBind (hanami/hanami.h); then
 * only net->hdr is set (the other pointers are NULL): callers dispatch on
 * net->hdr->kind and bind the grow view with HkBindTrusted.
 */
HnStatus	NetBind(HnNet *net, void *buf, size_t len, HnError *err);

/* Bind without validation: for images this process just built or checked. */
void		NetBindTrusted(HnNet *net, void *buf);

/* Parameters (weights + biases) of layer l >= 1. */
static inline float *
NetWeights(const HnNet *net, int l)
{
	return net->params + net->layers[l].param_offset;
}

static inline float *
NetBias(const HnNet *net, int l)
{
	return NetWeights(net, l) +
		(size_t) net->layers[l - 1].count * net->layers[l].count;
}

/* The bound of scaled inputs: HANAMI_INPUT_CLIP, or 0 when not clipped. */
static inline float
NetInputClip(const HnNet *net)
{
	return (net->hdr->flags & HANAMI_FLAG_INPUT_CLIP) ?
		HANAMI_INPUT_CLIP : 0.0f;
}

/* Offset in bytes of the scaling area and of the parameter area. */
size_t		NetScalingOffset(uint32_t n_layers);
size_t		NetParamsOffset(uint32_t n_layers, uint32_t n_inputs,
							uint32_t n_outputs);

/* Name of a kind ("dense", "hanami"), or NULL when unknown. */
const char *NetKindName(int kind);

/* Largest layer width (for scratch buffers). */
uint32_t	NetMaxWidth(const HnNet *net);

#endif							/* HANAMI_CORE_FORMAT_H */
