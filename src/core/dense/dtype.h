/*
 * dense/dtype.h - compact weight formats of a dense network.
 *
 * A dense network stores its weights in one dtype for every layer:
 *
 *   f32   IEEE single (format version 1: the layout of format.h, unchanged)
 *   pow2  a signed power of two per weight, one byte: bit 7 the sign, bits
 *         0..6 an exponent code c; c = 0 is the weight 0, c >= 1 the weight
 *         +-2^(base + c - 1) with the layer's base exponent (-126..1), so
 *         every weight is a normal float and x * w is exact (Graia's
 *         shift weights: applying one adds its exponent to x's)
 *   f16   IEEE half, finite
 *   u8    affine: w = scale * (q - zero) with the layer's scale (finite,
 *         > 0) and zero point (0..255)
 *
 * A network of another dtype than f32 is an image of format version 2,
 * whose header's reserved[0] holds the dtype (DenseDtype); its parameter
 * area holds, for each layer l >= 1 at its param_offset (in 4-byte words),
 * a DenseQuant record (8 bytes), the weights W[in][out] in the dtype,
 * zero-padded to a multiple of 4 bytes, then bias[out] as floats.  Biases
 * and the scaling stay float32: they are a sliver of the size.  An f32
 * network is always written as format version 1, so its bytes (and its
 * stored blocks) are those it had before dtypes existed.
 *
 * Quantized networks are for inference: they are refused by fit and
 * reshape.  The pow2 dtype can also be trained for (quantization-aware
 * training): a network created with "dtype": "pow2" is an f32 image with
 * HANAMI_FLAG_POW2_QAT, whose float weights are shadow weights: every
 * forward pass, in training and inference, uses them rounded to pow2, and
 * the gradient passes the rounding unchanged (straight-through); quantize
 * to pow2 drops the shadow weights, keeping the same predictions.
 */
#ifndef HANAMI_CORE_DENSE_DTYPE_H
#define HANAMI_CORE_DENSE_DTYPE_H

#include "core/dense/format.h"

typedef enum DenseDtype
{
	DENSE_DTYPE_F32 = 0,
	DENSE_DTYPE_POW2 = 1,
	DENSE_DTYPE_F16 = 2,
	DENSE_DTYPE_U8 = 3,
	DENSE_DTYPE_COUNT_
} DenseDtype;

/* Format version of images with a dtype other than f32. */
#define DENSE_FORMAT_DTYPE		2

/* pow2: the bounds of a layer's base exponent (normal floats only). */
#define DENSE_POW2_MIN_BASE		(-126)
#define DENSE_POW2_MAX_BASE		1

#pragma pack(push, 4)
/* What a quantized layer starts with (zero fields when unused). */
typedef struct DenseQuant
{
	float		scale;			/* u8: the step; else 0 */
	int32_t		zero;			/* u8: the zero point; pow2: the base
								 * exponent; f16: 0 */
} DenseQuant;
#pragma pack(pop)

/* "f32", "pow2", "f16", "u8"; NULL when unknown. */
const char *DenseDtypeName(int dtype);

/* The dtype named name ("float32" is f32 too); -1 when unknown. */
int			DenseDtypeFromName(const char *name);

/* "f32, pow2, f16, u8": for hints. */
const char *DenseDtypeList(void);

/* The dtype of a bound network's stored weights. */
static inline int
DenseDtypeOf(const DenseNet *net)
{
	return net->hdr->version >= DENSE_FORMAT_DTYPE ?
		(int) net->hdr->reserved[0] : DENSE_DTYPE_F32;
}

/* 4-byte words of a layer of in x out units in dtype (record, W, bias). */
uint64_t	DenseLayerWords(int dtype, uint64_t in, uint64_t out);

/* Bytes of the packed weights of in x out units, before padding. */
uint64_t	DenseWeightBytes(int dtype, uint64_t in, uint64_t out);

/* A layer's parameters as stored: its first byte. */
static inline void *
DenseLayerStart(const DenseNet *net, int l)
{
	return net->params + net->layers[l].param_offset;
}

/*
 * The parts of a layer's stored parameters seg (its segment): the record
 * (NULL for f32), the packed weights, the biases.
 */
const DenseQuant *DenseSegQuant(int dtype, const void *seg);
const void *DenseSegWeights(int dtype, const void *seg);
const float *DenseSegBias(int dtype, const void *seg, size_t in, size_t out);

/* Check a layer's stored parameters (len bytes at seg): record, codes,
 * finite values.  Error names layer l. */
HnStatus	DenseCheckSegment(int dtype, const void *seg, size_t len,
							  size_t in, size_t out, int l, HnError *err);

/* The layer's in x out weights as floats into dst. */
void		DenseDequantize(int dtype, const void *seg, size_t in, size_t out,
							float *dst);

/*
 * The in x out weights a forward pass of net uses for a layer stored as seg,
 * as floats into dst: dequantized, or (HANAMI_FLAG_POW2_QAT) the float
 * weights rounded to pow2 as quantizing would.
 */
void		DenseLayerFloats(const DenseNet *net, const void *seg, size_t in,
							 size_t out, float *dst);

/* IEEE half conversions (round to nearest even; overflow gives infinity). */
uint16_t	DenseHalfFromFloat(float f);
float		DenseHalfToFloat(uint16_t h);

/* pow2: the code of w for a layer of base exponent base (sign | c). */
uint8_t		DensePow2Code(float w, int base);
/* pow2: the layer's base exponent for weights of largest magnitude maxabs. */
int			DensePow2Base(float maxabs);
/* pow2: the value of a code. */
float		DensePow2Value(uint8_t code, int base);
/* pow2: w rounded to the nearest power of two in the log domain, as a
 * layer of base exponent base holds it. */
static inline float
DensePow2Round(float w, int base)
{
	return DensePow2Value(DensePow2Code(w, base), base);
}

/*
 * pow2: z[r][j] = sum_i x[r][i] * w[i][j] + bias[j] over rows rows, where
 * the product is formed by adding w's exponent to x's float bits (and
 * flipping its sign), or ldexpf where that leaves the normal range; sums
 * run over i in order from zero, so the result is bitwise that of a float
 * reference with the dequantized weights in the same order.
 */
void		DensePow2Gemm(size_t rows, size_t in, size_t out, const float *x,
						  const uint8_t *codes, int base, const float *bias,
						  float *z);

/*
 * A new image (from alloc) of net with its weights in dtype: f32 only from
 * f32 networks (a copy), pow2 from an f32 network or a pow2-trained one
 * (whose shadow weights are dropped), f16 and u8 from f32 ones.  The same
 * network always gives the same bytes.
 */
HnStatus	DenseQuantize(const DenseNet *net, int dtype,
						  const HnAllocator *alloc, void **image, size_t *len,
						  HnError *err);

#endif							/* HANAMI_CORE_DENSE_DTYPE_H */
