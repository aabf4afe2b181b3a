/*
 * dense/dtype.c - compact weight formats of a dense network: the codecs
 * (pow2, f16, u8), the layout of a quantized layer, its validation, the
 * pow2 kernel and quantization of a float network.  See dense/dtype.h.
 */
#include "core/dense/dtype.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(DenseQuant) == 8, "DenseQuant must be 8 bytes");

static const char *const dtype_names[DENSE_DTYPE_COUNT_] = {
	"f32", "pow2", "f16", "u8"
};

const char *
DenseDtypeName(int dtype)
{
	return dtype >= 0 && dtype < DENSE_DTYPE_COUNT_ ? dtype_names[dtype] : NULL;
}

int
DenseDtypeFromName(const char *name)
{
	if (name == NULL)
		return -1;
	if (strcmp(name, "float32") == 0)
		return DENSE_DTYPE_F32;
	for (int i = 0; i < DENSE_DTYPE_COUNT_; i++)
		if (strcmp(name, dtype_names[i]) == 0)
			return i;
	return -1;
}

const char *
DenseDtypeList(void)
{
	return "f32, pow2, f16, u8";
}

static inline uint32_t
FloatBits(float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static inline float
BitsFloat(uint32_t u)
{
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

uint64_t
DenseWeightBytes(int dtype, uint64_t in, uint64_t out)
{
	uint64_t	n = in * out;

	switch (dtype)
	{
		case DENSE_DTYPE_F16:
			return 2 * n;
		case DENSE_DTYPE_POW2:
		case DENSE_DTYPE_U8:
			return n;
		default:
			return 4 * n;
	}
}

uint64_t
DenseLayerWords(int dtype, uint64_t in, uint64_t out)
{
	if (dtype == DENSE_DTYPE_F32)
		return in * out + out;
	return sizeof(DenseQuant) / 4 + (DenseWeightBytes(dtype, in, out) + 3) / 4 +
		out;
}

const DenseQuant *
DenseSegQuant(int dtype, const void *seg)
{
	return dtype == DENSE_DTYPE_F32 ? NULL : (const DenseQuant *) seg;
}

const void *
DenseSegWeights(int dtype, const void *seg)
{
	return dtype == DENSE_DTYPE_F32 ? seg :
		(const char *) seg + sizeof(DenseQuant);
}

const float *
DenseSegBias(int dtype, const void *seg, size_t in, size_t out)
{
	return (const float *) seg + (DenseLayerWords(dtype, in, out) - out);
}

/* IEEE half from float, round to nearest even. */
uint16_t
DenseHalfFromFloat(float f)
{
	uint32_t	x = FloatBits(f);
	uint32_t	sign = (x >> 16) & 0x8000;
	int32_t		exp = (int32_t) ((x >> 23) & 0xff);
	uint32_t	mant = x & 0x7fffff;

	if (exp == 0xff)			/* inf or nan */
		return (uint16_t) (sign | 0x7c00 | (mant ? 0x200 : 0));
	exp = exp - 127 + 15;
	if (exp >= 31)
		return (uint16_t) (sign | 0x7c00);
	if (exp <= 0)
	{
		/* a half subnormal (or zero) */
		uint32_t	shift;
		uint32_t	m;
		uint32_t	rest;
		uint32_t	half;

		if (exp < -10)
			return (uint16_t) sign;
		m = mant | 0x800000;
		shift = (uint32_t) (14 - exp);
		half = 1u << (shift - 1);
		rest = m & ((1u << shift) - 1);
		m >>= shift;
		if (rest > half || (rest == half && (m & 1)))
			m++;
		return (uint16_t) (sign | m);
	}
	else
	{
		uint32_t	h = ((uint32_t) exp << 10) | (mant >> 13);
		uint32_t	rest = mant & 0x1fff;

		if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
			h++;				/* may carry into the exponent: still right */
		return (uint16_t) (sign | h);
	}
}

/* Float from an IEEE half (finite ones; exact). */
float
DenseHalfToFloat(uint16_t h)
{
	uint32_t	mag = (uint32_t) (h & 0x7fff) << 13;
	uint32_t	sign = (uint32_t) (h & 0x8000) << 16;

	if ((h & 0x7c00) == 0x7c00)
		return BitsFloat(sign | 0x7f800000 | mag);
	return BitsFloat(FloatBits(BitsFloat(mag) * 0x1p112f) | sign);
}

/* The exponent of the power of two nearest |w| in the log domain. */
static int
Pow2Exponent(float w)
{
	int			e;
	double		m = frexp(fabs((double) w), &e);	/* |w| = m 2^e, m in [.5, 1) */

	/* log2 m >= -1/2 exactly when m >= 2^-1/2 */
	return m >= M_SQRT1_2 ? e : e - 1;
}

int
DensePow2Base(float maxabs)
{
	int			base;

	if (!(maxabs > 0.0f))
		return DENSE_POW2_MIN_BASE;
	base = Pow2Exponent(maxabs) - 126;
	if (base < DENSE_POW2_MIN_BASE)
		base = DENSE_POW2_MIN_BASE;
	if (base > DENSE_POW2_MAX_BASE)
		base = DENSE_POW2_MAX_BASE;
	return base;
}

uint8_t
DensePow2Code(float w, int base)
{
	int			k;
	uint8_t		sign = signbit(w) ? 0x80 : 0;

	if (w == 0.0f || !isfinite(w))
		return 0;
	k = Pow2Exponent(w);
	if (k < base)
	{
		/* below the smallest: 0 unless nearer 2^base in the log domain */
		if (k < base - 1 || fabs((double) w) < ldexp(M_SQRT1_2, base))
			return 0;
		k = base;
	}
	if (k > base + 126)
		k = base + 126;
	return (uint8_t) (sign | (uint8_t) (k - base + 1));
}

float
DensePow2Value(uint8_t code, int base)
{
	int			c = code & 0x7f;
	float		v;

	if (c == 0)
		return 0.0f;
	v = ldexpf(1.0f, base + c - 1);
	return (code & 0x80) ? -v : v;
}

/* Check a quantized layer's stored parameters. */
HnStatus
DenseCheckSegment(int dtype, const void *seg, size_t len, size_t in,
				  size_t out, int l, HnError *err)
{
	const DenseQuant *q = (const DenseQuant *) seg;
	const unsigned char *w = (const unsigned char *) seg + sizeof(DenseQuant);
	size_t		n = in * out;
	size_t		wbytes = (size_t) DenseWeightBytes(dtype, in, out);
	const float *bias;

	if (len != (size_t) DenseLayerWords(dtype, in, out) * 4)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "The network's header says how large each layer is.",
						  "layer %d of the network has %zu bytes instead of %zu",
						  l, len, (size_t) DenseLayerWords(dtype, in, out) * 4);
	switch (dtype)
	{
		case DENSE_DTYPE_POW2:
			if (q->scale != 0.0f || q->zero < DENSE_POW2_MIN_BASE ||
				q->zero > DENSE_POW2_MAX_BASE)
				return HnSetError(err, HANAMI_E_INVALID_FORMAT,
								  "A pow2 layer has a base exponent from -126 to 1 and a zero scale.",
								  "layer %d has an invalid pow2 record", l);
			for (size_t i = 0; i < n; i++)
				if (w[i] == 0x80)
					return HnSetError(err, HANAMI_E_INVALID_FORMAT,
									  "The weight 0 is stored as code 0, without a sign.",
									  "weight %zu of layer %d has the invalid pow2 code 0x80",
									  i, l);
			break;
		case DENSE_DTYPE_F16:
			if (q->scale != 0.0f || q->zero != 0)
				return HnSetError(err, HANAMI_E_INVALID_FORMAT,
								  "An f16 layer's record is zero.",
								  "layer %d has an invalid f16 record", l);
			for (size_t i = 0; i < n; i++)
			{
				uint16_t	h;

				memcpy(&h, w + 2 * i, 2);
				if ((h & 0x7c00) == 0x7c00)
					return HnSetError(err, HANAMI_E_INVALID_FORMAT,
									  "Weights and biases must be finite numbers.",
									  "parameter %zu of layer %d is not finite",
									  i, l);
			}
			break;
		case DENSE_DTYPE_U8:
			if (!(q->scale > 0.0f) || !isfinite(q->scale) || q->zero < 0 ||
				q->zero > 255)
				return HnSetError(err, HANAMI_E_INVALID_FORMAT,
								  "A u8 layer has a finite positive scale and a zero point from 0 to 255.",
								  "layer %d has an invalid u8 record", l);
			/* scale * 255 stays finite: checked through a dequantized max */
			if (!isfinite(q->scale * 255.0f))
				return HnSetError(err, HANAMI_E_INVALID_FORMAT,
								  "A u8 layer's weights must be finite numbers.",
								  "layer %d has a u8 scale too large", l);
			break;
		default:
			return HnSetError(err, HANAMI_E_INTERNAL, NULL,
							  "invalid dtype %d", dtype);
	}
	for (size_t i = sizeof(DenseQuant) + wbytes;
		 i < sizeof(DenseQuant) + (wbytes + 3) / 4 * 4; i++)
		if (((const unsigned char *) seg)[i] != 0)
			return HnSetError(err, HANAMI_E_INVALID_FORMAT,
							  "The padding after a layer's weights must be zero.",
							  "layer %d has nonzero padding", l);
	bias = DenseSegBias(dtype, seg, in, out);
	for (size_t j = 0; j < out; j++)
		if (!isfinite(bias[j]))
			return HnSetError(err, HANAMI_E_INVALID_FORMAT,
							  "Weights and biases must be finite numbers.",
							  "parameter %zu of layer %d is not finite",
							  n + j, l);
	return HANAMI_OK;
}

/* The layer's weights as floats. */
void
DenseDequantize(int dtype, const void *seg, size_t in, size_t out, float *dst)
{
	const DenseQuant *q = (const DenseQuant *) seg;
	const unsigned char *w = (const unsigned char *) seg + sizeof(DenseQuant);
	size_t		n = in * out;

	switch (dtype)
	{
		case DENSE_DTYPE_F32:
			memcpy(dst, seg, n * sizeof(float));
			break;
		case DENSE_DTYPE_POW2:
			{
				float		table[256];

				for (int c = 0; c < 256; c++)
					table[c] = DensePow2Value((uint8_t) c, q->zero);
				for (size_t i = 0; i < n; i++)
					dst[i] = table[w[i]];
				break;
			}
		case DENSE_DTYPE_F16:
			{
				const uint16_t *h = (const uint16_t *) (const void *) w;

#pragma omp simd
				for (size_t i = 0; i < n; i++)
				{
					uint32_t	mag = (uint32_t) (h[i] & 0x7fff) << 13;
					uint32_t	sign = (uint32_t) (h[i] & 0x8000) << 16;

					dst[i] = BitsFloat(FloatBits(BitsFloat(mag) * 0x1p112f) | sign);
				}
				break;
			}
		case DENSE_DTYPE_U8:
			{
				float		scale = q->scale;
				float		zero = (float) q->zero;

#pragma omp simd
				for (size_t i = 0; i < n; i++)
					dst[i] = scale * ((float) w[i] - zero);
				break;
			}
	}
}

/* The weights a forward pass uses, as floats; see dtype.h. */
void
DenseLayerFloats(const DenseNet *net, const void *seg, size_t in, size_t out,
				 float *dst)
{
	int			dtype = DenseDtypeOf(net);

	if (dtype == DENSE_DTYPE_F32 && (net->hdr->flags & HANAMI_FLAG_POW2_QAT))
	{
		const float *w = seg;
		size_t		n = in * out;
		float		maxabs = 0.0f;
		int			base;

		for (size_t i = 0; i < n; i++)
			if (fabsf(w[i]) > maxabs)
				maxabs = fabsf(w[i]);
		base = DensePow2Base(maxabs);
		for (size_t i = 0; i < n; i++)
			dst[i] = DensePow2Round(w[i], base);
		return;
	}
	DenseDequantize(dtype, seg, in, out, dst);
}

/* pow2 rows x in x out, by exponent arithmetic; see dtype.h. */
void
DensePow2Gemm(size_t rows, size_t in, size_t out, const float *x,
			  const uint8_t *codes, int base, const float *bias, float *z)
{
	memset(z, 0, rows * out * sizeof(float));
	for (size_t i = 0; i < in; i++)
	{
		const uint8_t *c = codes + i * out;
		uint32_t	lo = 0x7f;
		uint32_t	hi = 0;

		/* the exponent codes this input's weights use (0: the weight 0) */
#pragma omp simd reduction(min:lo) reduction(max:hi)
		for (size_t j = 0; j < out; j++)
		{
			uint32_t	e = c[j] & 0x7f;

			lo = e && e < lo ? e : lo;
			hi = e > hi ? e : hi;
		}
		if (hi == 0)
			continue;			/* every weight of this input is 0 */
		for (size_t r = 0; r < rows; r++)
		{
			float		xi = x[r * in + i];
			uint32_t	xb = FloatBits(xi);
			int			ex = (int) ((xb >> 23) & 0xff);
			float	   *zr = z + r * out;

			if (xi == 0.0f)
				continue;
			if (ex >= 1 && ex <= 254 &&
				ex + base - 1 + (int) lo >= 1 && ex + base - 1 + (int) hi <= 254)
			{
				/* every product is normal: add the exponent to x's bits */
				uint32_t	adj = xb + ((uint32_t) (base - 1) << 23);

#pragma omp simd
				for (size_t j = 0; j < out; j++)
				{
					uint32_t	cj = c[j];
					uint32_t	e = cj & 0x7f;
					uint32_t	vb = (adj + (e << 23)) ^ ((cj & 0x80) << 24);

					zr[j] += e ? BitsFloat(vb) : 0.0f;
				}
			}
			else
			{
				/* subnormal, huge or non-finite x or products: ldexpf
				 * rounds like x * w */
				for (size_t j = 0; j < out; j++)
				{
					int			e = c[j] & 0x7f;

					if (e)
						zr[j] += ldexpf((c[j] & 0x80) ? -xi : xi, base + e - 1);
				}
			}
		}
	}
	for (size_t r = 0; r < rows; r++)
		for (size_t j = 0; j < out; j++)
			z[r * out + j] += bias[j];
}

/* Quantize in x out float weights w into the segment seg (zeroed). */
static HnStatus
QuantizeLayer(int dtype, const float *w, const float *bias, size_t in,
			  size_t out, void *seg, int l, HnError *err)
{
	DenseQuant *q = (DenseQuant *) seg;
	unsigned char *dst = (unsigned char *) seg + sizeof(DenseQuant);
	size_t		n = in * out;
	float		lo = 0.0f;
	float		hi = 0.0f;

	for (size_t i = 0; i < n; i++)
	{
		if (w[i] < lo)
			lo = w[i];
		if (w[i] > hi)
			hi = w[i];
	}
	switch (dtype)
	{
		case DENSE_DTYPE_POW2:
			q->zero = DensePow2Base(hi > -lo ? hi : -lo);
			for (size_t i = 0; i < n; i++)
				dst[i] = DensePow2Code(w[i], q->zero);
			break;
		case DENSE_DTYPE_F16:
			for (size_t i = 0; i < n; i++)
			{
				uint16_t	h = DenseHalfFromFloat(w[i]);

				if ((h & 0x7c00) == 0x7c00)
					return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
									  "Half precision holds magnitudes up to 65504.",
									  "weight %zu of layer %d (%g) is too large for f16",
									  i, l, (double) w[i]);
				memcpy(dst + 2 * i, &h, 2);
			}
			break;
		case DENSE_DTYPE_U8:
			{
				double		scale = ((double) hi - (double) lo) / 255.0;
				long		zero;

				if (!(scale > 0.0) || (float) scale == 0.0f)
					scale = 1.0;	/* every weight is 0 */
				zero = lround(-(double) lo / (float) scale);
				if (zero < 0)
					zero = 0;
				if (zero > 255)
					zero = 255;
				q->scale = (float) scale;
				q->zero = (int32_t) zero;
				for (size_t i = 0; i < n; i++)
				{
					long		v = lround((double) w[i] / q->scale) + zero;

					dst[i] = (unsigned char) (v < 0 ? 0 : v > 255 ? 255 : v);
				}
				break;
			}
	}
	memcpy((float *) seg + DenseLayerWords(dtype, in, out) - out, bias,
		   out * sizeof(float));
	return HANAMI_OK;
}

/* A new image of net in dtype; see dtype.h. */
HnStatus
DenseQuantize(const DenseNet *net, int dtype, const HnAllocator *alloc,
			  void **image, size_t *len, HnError *err)
{
	const HnHeader *h = net->hdr;
	int			from = DenseDtypeOf(net);
	uint32_t	nl = h->n_layers;
	size_t		head = (size_t) ((const char *) net->params - (const char *) h);
	uint64_t	words = 0;
	size_t		size;
	char	   *buf;
	DenseNet	q;

	*image = NULL;
	*len = 0;
	if (DenseDtypeName(dtype) == NULL)
		return HnSetError(err, HANAMI_E_INTERNAL, NULL, "invalid dtype %d",
						  dtype);
	if (from != DENSE_DTYPE_F32 && from != dtype)
	{
		char		detail[HANAMI_ERRMSG_LEN];

		snprintf(detail, sizeof(detail),
				 "Its weights are %s already; quantizing again would lose more.",
				 DenseDtypeName(from));
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, detail,
				   "cannot quantize a %s network to %s", DenseDtypeName(from),
				   DenseDtypeName(dtype));
		return HnSetHint(err, "Quantize the float32 network it came from.");
	}
	if ((h->flags & HANAMI_FLAG_POW2_QAT) && dtype != DENSE_DTYPE_POW2)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
				   "The network was trained for pow2 weights (its spec said \"dtype\": \"pow2\").",
				   "cannot quantize a pow2-trained network to %s",
				   DenseDtypeName(dtype));
		return HnSetHint(err, "Quantize it to pow2.");
	}
	for (uint32_t l = 1; l < nl; l++)
		words += DenseLayerWords(dtype, net->layers[l - 1].count,
								 net->layers[l].count);
	size = head + (size_t) words * 4;
	buf = HnAlloc(alloc, size);
	if (buf == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for a network of %zu bytes", size);
	memset(buf, 0, size);
	memcpy(buf, h, head);
	DenseBindTrusted(&q, buf);
	q.hdr->total_size = size;
	q.hdr->flags &= ~(uint32_t) HANAMI_FLAG_POW2_QAT;
	if (dtype != DENSE_DTYPE_F32)
	{
		q.hdr->version = DENSE_FORMAT_DTYPE;
		q.hdr->reserved[0] = (uint32_t) dtype;
	}
	if (from == dtype)
	{
		/* the same weights (f32 to f32, pow2 to pow2): a copy */
		memcpy(buf + head, net->params, size - head);
		*image = buf;
		*len = size;
		return HANAMI_OK;
	}
	words = 0;
	for (uint32_t l = 1; l < nl; l++)
	{
		size_t		in = net->layers[l - 1].count;
		size_t		out = net->layers[l].count;
		HnStatus	st;

		q.layers[l].param_offset = words;
		st = QuantizeLayer(dtype, DenseWeights(net, (int) l),
						   DenseBias(net, (int) l), in, out,
						   q.params + words, (int) l, err);
		if (st != HANAMI_OK)
		{
			HnFree(alloc, buf);
			*image = NULL;
			*len = 0;
			return st;
		}
		words += DenseLayerWords(dtype, in, out);
	}
	*image = buf;
	*len = size;
	return HANAMI_OK;
}
