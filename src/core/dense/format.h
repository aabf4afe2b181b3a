/*
 * dense/format.h - the versioned binary layout of a network.
 *
 * One contiguous, little-endian image: the same bytes are the payload of the
 * hanami.network varlena (after its 4-byte length word), what the store cuts
 * into blocks and what a device uploads.
 *
 *   HnHeader            72 bytes
 *   DenseLayer[n_layers]   48 bytes each; layer 0 is the input layer
 *   scaling             float in_shift[n_inputs],  in_mul[n_inputs],
 *                       float out_shift[n_outputs], out_mul[n_outputs]
 *   programs            DenseProgram[n_programs], 1104 bytes each: the
 *                       custom activations (HANAMI_ACT_CUSTOM) the layers
 *                       use, each layer's reserved16 giving the 1-based
 *                       index of its program; n_programs is the largest
 *                       index, every index 1..n_programs is used, and a
 *                       network without custom layers has no such area
 *                       (its bytes are those of earlier versions)
 *   parameters          for each layer l = 1..n_layers-1, at its param_offset
 *                       (in floats from the start of the parameter area):
 *                       W[in][out] (in = units of layer l-1, out = units of l,
 *                       row-major, so row i holds input i's weights to every
 *                       unit of l), then bias[out]; in a network of
 *                       another weight dtype (format version 2), each
 *                       layer's parameters are laid out as dense/dtype.h
 *                       says, and param_offset counts 4-byte words
 *
 * Input scaling: the network computes on (x - in_shift) * in_mul, clipped
 * to [-HANAMI_INPUT_CLIP, HANAMI_INPUT_CLIP] when HANAMI_FLAG_INPUT_CLIP is
 * set (a fit sets it when it learns the input scaling; images without it,
 * such as those fitted before the flag existed, are not clipped).  Output
 * scaling (regression): a prediction is y * out_mul + out_shift.  Identity
 * scaling is shift 0, mul 1.
 *
 * Every reserved field must be zero; DenseBind rejects anything else, so later
 * versions can give them meaning.
 */
#ifndef HANAMI_CORE_DENSE_FORMAT_H
#define HANAMI_CORE_DENSE_FORMAT_H

#include "core/common.h"
#include "core/image.h"
#include "core/activation.h"
#include "core/loss.h"
#include "core/expr.h"

/* Header flags. */
#define HANAMI_FLAG_SCALE_INPUT		0x0001	/* learn input scaling on first fit */
#define HANAMI_FLAG_INPUT_FITTED	0x0002	/* in_shift/in_mul hold learned values */
#define HANAMI_FLAG_OUTPUT_FITTED	0x0004	/* out_shift/out_mul hold learned values */
#define HANAMI_FLAG_INPUT_CLIP		0x0008	/* scaled inputs are clipped */
#define HANAMI_FLAG_POW2_QAT		0x0010	/* f32 shadow weights, used rounded
											 * to pow2 (dense/dtype.h) */
#define HANAMI_FLAG_ALL				0x001F

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

typedef struct DenseLayer
{
	uint32_t	count;			/* units, 1..HANAMI_MAX_UNITS */
	uint16_t	activation;		/* HnActivation; IDENTITY for layer 0 */
	uint16_t	reserved16;		/* CUSTOM: 1-based program index; else zero */
	uint64_t	param_offset;	/* floats (4-byte words) into the parameter
								 * area; 0 for layer 0 */
	char		name[HANAMI_NAME_LEN];	/* NUL-terminated, NUL-padded; may be "" */
} DenseLayer;

/*
 * A custom activation as a network embeds it: its name (NUL-terminated,
 * NUL-padded, printable ASCII, not empty), the function and its derivative
 * as programs (core/expr.h).
 */
#define DENSE_PROGRAM_NAME_LEN	64
#define DENSE_MAX_PROGRAMS		8

typedef struct DenseProgram
{
	char		name[DENSE_PROGRAM_NAME_LEN];
	HnExpr		f;
	HnExpr		df;
} DenseProgram;

#pragma pack(pop)

/* A network bound to its image: pointers into the one buffer. */
typedef struct DenseNet
{
	HnHeader   *hdr;
	DenseLayer    *layers;
	float	   *in_shift;
	float	   *in_mul;
	float	   *out_shift;
	float	   *out_mul;
	float	   *params;
	DenseProgram *programs;		/* n_programs of them; NULL when none */
	uint32_t	n_programs;
} DenseNet;

/* A parsed network description, before the image exists. */
typedef struct DenseLayerSpec
{
	uint32_t	count;
	HnActivation activation;	/* DEFAULT: relu hidden; softmax (count >= 2)
								 * or identity (count 1) for the output */
	uint16_t	program;		/* CUSTOM: 1-based index in spec->programs */
	char		name[HANAMI_NAME_LEN];
} DenseLayerSpec;

typedef struct DenseSpec
{
	int			n_layers;
	DenseLayerSpec layers[HANAMI_MAX_LAYERS];
	HnLoss		loss;			/* DEFAULT: cross_entropy for softmax/sigmoid
								 * output, else mse */
	bool		input_scaling;	/* learn input scaling on first fit */
	uint32_t	seed;
	int			dtype;			/* DenseDtype of the stored weights (0: f32) */
	bool		pow2_qat;		/* f32 shadow weights trained for pow2 */
	int			n_programs;		/* custom activations the layers use */
	DenseProgram programs[DENSE_MAX_PROGRAMS];
} DenseSpec;

/*
 * The 1-based index of program p in spec (adding it when new, at most
 * DENSE_MAX_PROGRAMS); a name already there with another program is an
 * error (HANAMI_E_INVALID_SPEC).
 */
HnStatus	DenseSpecAddProgram(DenseSpec *spec, const DenseProgram *p,
								uint16_t *index, HnError *err);

/* The program of custom layer l (NULL when l is not custom). */
static inline const DenseProgram *
DenseProgramOf(const struct DenseNet *net, int l)
{
	uint16_t	i = net->layers[l].reserved16;

	return net->layers[l].activation == HANAMI_ACT_CUSTOM && i >= 1 &&
		i <= net->n_programs ? &net->programs[i - 1] : NULL;
}

/*
 * Resolve defaults and check a spec: 2..MAX_LAYERS layers, counts
 * 1..MAX_UNITS, input layer identity (DEFAULT becomes identity, anything else
 * is an error), softmax only on the output layer, cross_entropy only with a
 * softmax or sigmoid output, names unique when non-empty, total size within
 * HANAMI_MAX_BYTES.
 */
HnStatus	DenseSpecFinalize(DenseSpec *spec, HnError *err);

/* Bytes of the image for a finalized spec; 0 with err set when too large. */
size_t		DenseImageSize(const DenseSpec *spec, HnError *err);

/*
 * Write the image of a finalized spec into buf (exactly DenseImageSize bytes):
 * header, layers, identity scaling, weights initialised from spec->seed
 * (He or Xavier normal by activation gain, biases zero).
 */
HnStatus	DenseCreate(void *buf, size_t len, const DenseSpec *spec, HnError *err);

/* The same without weights: every parameter zero (for a reader that fills
 * the scaling and parameter areas itself, as the text form does). */
HnStatus	DenseCreateLayout(void *buf, size_t len, const DenseSpec *spec,
							  HnError *err);

/*
 * Validate an image of len bytes that must be dense (NetBind, then its kind)
 * and bind net to it: for callers that only handle dense networks (tests,
 * the OpenCL benchmarks).  Checks magic, version, kind, sizes
 * (overflow-checked, total_size == len), reserved fields, layer records,
 * offsets, names, flags, and that every float is finite.  buf must be
 * 4-byte aligned.
 */
HnStatus	DenseBind(DenseNet *net, void *buf, size_t len, HnError *err);

/* The dense part of DenseBind, for an image whose common header was checked
 * (the kind's bind operation, kind.h). */
HnStatus	DenseBindChecked(DenseNet *net, void *buf, size_t len,
							 HnError *err);

/*
 * Validate the head of an image of image_len bytes (its first segment: the
 * header, layer records and scaling, head_len bytes at buf) as
 * DenseBindChecked would, and bind net to it with params NULL: the layers'
 * parameters are elsewhere (paged inference, dense.h DensePredictPaged).
 */
HnStatus	DenseBindHead(DenseNet *net, void *buf, size_t head_len,
						  size_t image_len, HnError *err);

/* Bind without validation: for images this process just built or checked. */
void		DenseBindTrusted(DenseNet *net, void *buf);

/* Parameters (weights + biases) of layer l >= 1. */
static inline float *
DenseWeights(const DenseNet *net, int l)
{
	return net->params + net->layers[l].param_offset;
}

static inline float *
DenseBias(const DenseNet *net, int l)
{
	return DenseWeights(net, l) +
		(size_t) net->layers[l - 1].count * net->layers[l].count;
}

/* The bound of scaled inputs: HANAMI_INPUT_CLIP, or 0 when not clipped. */
static inline float
DenseInputClip(const DenseNet *net)
{
	return (net->hdr->flags & HANAMI_FLAG_INPUT_CLIP) ?
		HANAMI_INPUT_CLIP : 0.0f;
}

/*
 * Offset in bytes of the scaling area and of the programs area (where the
 * parameters start in a network without custom activations); add
 * n_programs * sizeof(DenseProgram) for the parameters otherwise (or use
 * net->params).
 */
size_t		DenseScalingOffset(uint32_t n_layers);
size_t		DenseParamsOffset(uint32_t n_layers, uint32_t n_inputs,
							uint32_t n_outputs);

/* Programs of an image's layer records (largest reserved16 of a custom
 * layer); for records already checked or written by this process. */
uint32_t	DenseCountPrograms(const DenseLayer *layers, uint32_t n_layers);

/* Name of a kind ("dense", "hanami"), or NULL when unknown. */
const char *NetKindName(int kind);

/* Largest layer width (for scratch buffers). */
uint32_t	DenseMaxWidth(const DenseNet *net);

#endif							/* HANAMI_CORE_DENSE_FORMAT_H */
