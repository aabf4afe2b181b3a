/*
 * test_dtype.c - compact weight formats of dense networks (dense/dtype.h):
 * the codecs, quantization error bounds, pow2 inference against a float
 * reference, the f16/u8 forward against float32 with the dequantized
 * weights, text round trips, paging, and malformed images refused.
 */
#include "harness.h"

#include <stdlib.h>

#include "core/dense/dense.h"
#include "core/dense/dtype.h"
#include "core/dense/kind.h"
#include "core/json.h"
#include "core/kind.h"

static const int dtypes[] = {DENSE_DTYPE_POW2, DENSE_DTYPE_F16, DENSE_DTYPE_U8};

/* Every finite half converts to a float and back to itself. */
static void
TestHalf(void)
{
	int			bad = 0;
	uint64_t	rng = 11;
	int			worse = 0;

	for (uint32_t h = 0; h < 0x10000; h++)
	{
		if ((h & 0x7c00) == 0x7c00)
			continue;
		if (DenseHalfFromFloat(DenseHalfToFloat((uint16_t) h)) != h)
			bad++;
	}
	CHECK(bad == 0, "f16: every finite half survives a round trip (%d bad)", bad);
	CHECK(DenseHalfToFloat(0x3c00) == 1.0f && DenseHalfToFloat(0x7bff) == 65504.0f &&
		  DenseHalfToFloat(0x0001) == 0x1p-24f && DenseHalfToFloat(0x8000) == 0.0f &&
		  signbit(DenseHalfToFloat(0x8000)),
		  "f16: 1, 65504, the smallest subnormal and -0 decode exactly");
	CHECK(DenseHalfFromFloat(65520.0f) == 0x7c00 &&
		  DenseHalfFromFloat(1.0f + 0x1p-11f) == 0x3c00 &&
		  DenseHalfFromFloat(1.0f + 3 * 0x1p-11f) == 0x3c02,
		  "f16: ties round to even, overflow to infinity");
	/* a random float rounds to a nearest half */
	for (int i = 0; i < 100000; i++)
	{
		float		f = ldexpf(TestUniform(&rng, -1.0f, 1.0f), (int) (i % 40) - 28);
		uint16_t	h = DenseHalfFromFloat(f);
		float		back = DenseHalfToFloat(h);
		float		up = DenseHalfToFloat((uint16_t) (h + 1));
		float		down = (h & 0x7fff) ? DenseHalfToFloat((uint16_t) (h - 1)) : back;

		if (fabsf(f - back) > fabsf(f - up) || fabsf(f - back) > fabsf(f - down))
			worse++;
	}
	CHECK(worse == 0, "f16: 100000 floats round to a nearest half (%d not)", worse);
}

/* pow2 codes: the nearest power of two in the log domain. */
static void
TestPow2Codes(void)
{
	uint64_t	rng = 3;
	int			bad = 0;

	for (int i = 0; i < 200000; i++)
	{
		float		w = ldexpf(TestUniform(&rng, -1.0f, 1.0f), (int) (i % 30) - 20);
		float		r = DensePow2Round(w, -60);
		double		k;

		if (w == 0.0f)
			continue;
		k = log2(fabs((double) r));
		if (r == 0.0f || k != floor(k) || signbit(r) != signbit(w) ||
			fabs(log2(fabs((double) w)) - k) > 0.5 + 1e-12)
			bad++;
	}
	CHECK(bad == 0, "pow2: 200000 weights round to the nearest power of two in the log domain (%d not)",
		  bad);
	CHECK(DensePow2Round(1.4142f, 0) == 1.0f && DensePow2Round(1.4143f, 0) == 2.0f &&
		  DensePow2Round(-0.3f, -10) == -0.25f && DensePow2Round(0.0f, -10) == 0.0f,
		  "pow2: the boundary is sqrt(2) times a power of two");
	CHECK(DensePow2Code(0x1p-20f, -10) == 0 && DensePow2Code(0x1p-10f, -10) == 1 &&
		  DensePow2Code(-0x1p-10f, -10) == 0x81,
		  "pow2: below the layer's base a weight is 0, at it code 1");
	CHECK(DensePow2Base(1.0f) == -126 && DensePow2Base(4.0f) == -124 &&
		  DensePow2Base(0.0f) == DENSE_POW2_MIN_BASE,
		  "pow2: the base keeps 127 octaves under the largest weight");
}

/* A network with random weights and biases, no input scaling. */
static bool
MakeNet(TestNet *tn, int n, const uint32_t *counts, const HnActivation *acts,
		uint32_t seed)
{
	uint64_t	rng = seed;

	if (!TestNetMake(tn, n, counts, acts, HANAMI_LOSS_DEFAULT, seed, false))
		return false;
	for (int l = 1; l < n; l++)
	{
		float	   *b = DenseBias(&tn->net, l);

		for (uint32_t j = 0; j < counts[l]; j++)
			b[j] = TestUniform(&rng, -0.5f, 0.5f);
	}
	return true;
}

/* Quantize tn to dtype; NULL (and a failed check) on error. */
static void *
Quantize(const TestNet *tn, int dtype, size_t *len)
{
	HnNet		hn;
	HnError		err;
	void	   *image;

	NetBindTrusted(&hn, tn->buf);
	if (!CHECK(hn.kind->quantize(&hn, DenseDtypeName(dtype), &HnMallocAllocator,
								 &image, len, &err) == HANAMI_OK,
			   "quantize to %s", DenseDtypeName(dtype)))
	{
		TestNote("%s", err.message);
		return NULL;
	}
	return image;
}

/* pow2 products of inputs outside the normal range: as 0 + x * w. */
static void
TestPow2Extremes(void)
{
	/* weights 0.5 and -0.25 under base -126: codes 126 and 0x80 | 125 */
	const uint8_t codes[2] = {126, 0x80 | 125};
	const float bias[2] = {0.0f, 0.0f};
	const float x[4] = {INFINITY, -INFINITY, 0x1p-140f, 0x1p-149f};
	float		z[8];
	bool		ok = true;

	DensePow2Gemm(4, 1, 2, x, codes, -126, bias, z);
	for (int r = 0; r < 4; r++)
	{
		ok &= memcmp(&z[2 * r], &(float) {0.0f + x[r] * 0.5f}, sizeof(float)) == 0;
		ok &= memcmp(&z[2 * r + 1], &(float) {0.0f + x[r] * -0.25f}, sizeof(float)) == 0;
	}
	CHECK(ok, "pow2: infinite and subnormal inputs give x * w (inf stays inf, subnormals round)");
}

/* Error bounds: u8 <= scale/2, f16 exact on halves, pow2 as rounded. */
static void
TestQuantizeBounds(void)
{
	const uint32_t counts[] = {30, 20, 4};
	TestNet		tn;

	if (!CHECK(MakeNet(&tn, 3, counts, NULL, 7), "bounds: network made"))
		return;
	/* a few values f16 holds exactly */
	DenseWeights(&tn.net, 1)[0] = 0.125f;
	DenseWeights(&tn.net, 1)[1] = -3.0f;
	for (size_t d = 0; d < 3; d++)
	{
		size_t		len;
		void	   *img = Quantize(&tn, dtypes[d], &len);
		DenseNet	q;
		HnError		err;
		double		worst = 0.0;
		double		bound = 0.0;
		bool		exact = true;

		if (img == NULL)
			continue;
		CHECK(DenseBind(&q, img, len, &err) == HANAMI_OK,
			  "%s: the quantized image validates", DenseDtypeName(dtypes[d]));
		for (int l = 1; l < 3; l++)
		{
			size_t		in = counts[l - 1];
			size_t		out = counts[l];
			float	   *deq = malloc(in * out * sizeof(float));
			const float *w = DenseWeights(&tn.net, l);
			const void *seg = DenseLayerStart(&q, l);
			const DenseQuant *qr = DenseSegQuant(dtypes[d], seg);
			float		maxabs = 0.0f;

			DenseDequantize(dtypes[d], seg, in, out, deq);
			for (size_t i = 0; i < in * out; i++)
				if (fabsf(w[i]) > maxabs)
					maxabs = fabsf(w[i]);
			for (size_t i = 0; i < in * out; i++)
			{
				double		e = fabs((double) deq[i] - w[i]);

				if (dtypes[d] == DENSE_DTYPE_U8)
				{
					if (e > worst)
						worst = e;
					bound = qr->scale / 2.0 * (1 + 1e-5);
					exact &= e <= bound;
				}
				else if (dtypes[d] == DENSE_DTYPE_F16)
					exact &= deq[i] == DenseHalfToFloat(DenseHalfFromFloat(w[i]));
				else
					exact &= deq[i] == DensePow2Round(w[i], DensePow2Base(maxabs));
			}
			exact &= memcmp(DenseSegBias(dtypes[d], seg, in, out),
							DenseBias(&tn.net, l), out * sizeof(float)) == 0;
			free(deq);
		}
		if (dtypes[d] == DENSE_DTYPE_U8)
			CHECK(exact, "u8: every weight within scale/2 (worst %.3g, bound %.3g), biases kept",
				  worst, bound);
		else if (dtypes[d] == DENSE_DTYPE_F16)
		{
			CHECK(exact, "f16: weights are their nearest halves, biases kept");
			CHECK(DenseHalfToFloat(((const uint16_t *) DenseSegWeights(dtypes[d], DenseLayerStart(&q, 1)))[0]) == 0.125f &&
				  DenseHalfToFloat(((const uint16_t *) DenseSegWeights(dtypes[d], DenseLayerStart(&q, 1)))[1]) == -3.0f,
				  "f16: representable weights are exact");
		}
		else
			CHECK(exact, "pow2: weights are their nearest powers of two, biases kept");
		free(img);
	}
	TestNetFree(&tn);
}

/* The forward pass of a float reference: scalar sums in input order. */
static void
Reference(const DenseNet *q, const float *x, float *y)
{
	float		a[2][256];
	int			cur = 0;
	int			dtype = DenseDtypeOf(q);

	memcpy(a[0], x, q->hdr->n_inputs * sizeof(float));
	for (uint32_t l = 1; l < q->hdr->n_layers; l++)
	{
		size_t		in = q->layers[l - 1].count;
		size_t		out = q->layers[l].count;
		const void *seg = DenseLayerStart(q, (int) l);
		float	   *w = malloc(in * out * sizeof(float));
		const float *b = DenseSegBias(dtype, seg, in, out);

		DenseDequantize(dtype, seg, in, out, w);
		for (size_t j = 0; j < out; j++)
		{
			float		acc = 0.0f;

			for (size_t i = 0; i < in; i++)
				acc += a[cur][i] * w[i * out + j];
			a[1 - cur][j] = acc + b[j];
		}
		ActForward((HnActivation) q->layers[l].activation, a[1 - cur], out);
		cur = 1 - cur;
		free(w);
	}
	memcpy(y, a[cur], q->hdr->n_outputs * sizeof(float));
}

/*
 * pow2 inference: bit for bit the float reference with the dequantized
 * weights; f16 and u8: bit for bit a float32 network holding them.
 */
static void
TestForward(void)
{
	const uint32_t counts[] = {40, 64, 24, 6};
	const HnActivation acts[] = {HANAMI_ACT_IDENTITY, HANAMI_ACT_TANH,
	HANAMI_ACT_RELU, HANAMI_ACT_SOFTMAX};
	TestNet		tn;
	float		x[33 * 40];
	uint64_t	rng = 9;

	if (!CHECK(MakeNet(&tn, 4, counts, acts, 21), "forward: network made"))
		return;
	for (int i = 0; i < 33 * 40; i++)
		x[i] = (i % 7 == 0) ? 0.0f : TestUniform(&rng, -3.0f, 3.0f);
	/* extremes: a subnormal and a huge input take the ldexpf path */
	x[1] = 0x1p-140f;
	x[2] = 0x1p100f;
	for (size_t d = 0; d < 3; d++)
	{
		size_t		len;
		void	   *img = Quantize(&tn, dtypes[d], &len);
		HnNet		hn;
		HnError		err;
		void	   *work;
		float		got[33 * 6];
		float		one[33 * 6];
		float		want[33 * 6];
		bool		same = true;
		bool		rows_same;

		if (img == NULL)
			continue;
		NetBindTrusted(&hn, img);
		work = hn.kind->work_create(&hn, 16, &HnMallocAllocator, &err);
		hn.kind->predict(&hn, work, x, 33, got);
		for (int r = 0; r < 33; r++)
			hn.kind->predict(&hn, work, x + r * 40, 1, one + r * 6);
		rows_same = memcmp(got, one, sizeof(got)) == 0;
		if (dtypes[d] == DENSE_DTYPE_POW2)
		{
			for (int r = 0; r < 33; r++)
				Reference(DenseOf(&hn), x + r * 40, want + r * 6);
			CHECK(memcmp(got, want, sizeof(got)) == 0,
				  "pow2: exponent arithmetic gives the bits of a float reference with the dequantized weights");
			CHECK(rows_same, "pow2: rows alone and in batches give the same bits");
		}
		else
		{
			/* a float32 network with the dequantized weights */
			TestNet		ft;
			HnNet		fn;
			void	   *fw;

			MakeNet(&ft, 4, counts, acts, 21);
			for (int l = 1; l < 4; l++)
			{
				const void *seg = DenseLayerStart(DenseOf(&hn), l);

				DenseDequantize(dtypes[d], seg, counts[l - 1], counts[l],
								DenseWeights(&ft.net, l));
			}
			NetBindTrusted(&fn, ft.buf);
			fw = fn.kind->work_create(&fn, 16, &HnMallocAllocator, &err);
			fn.kind->predict(&fn, fw, x, 33, want);
			CHECK(memcmp(got, want, sizeof(got)) == 0,
				  "%s: the forward pass gives the bits of float32 with the dequantized weights",
				  DenseDtypeName(dtypes[d]));
			fn.kind->work_free(fw, &HnMallocAllocator);
			TestNetFree(&ft);
		}
		for (int i = 0; i < 33 * 6; i++)
			same &= isfinite(got[i]);
		CHECK(same, "%s: outputs finite", DenseDtypeName(dtypes[d]));
		hn.kind->work_free(work, &HnMallocAllocator);
		free(img);
	}
	TestNetFree(&tn);
}

/* Tuned (folded) inference agrees with untuned within rounding. */
static void
TestTuned(void)
{
	const uint32_t counts[] = {12, 16, 3};
	TestNet		tn;
	float		x[8 * 12];
	uint64_t	rng = 4;

	if (!CHECK(TestNetMake(&tn, 3, counts, NULL, HANAMI_LOSS_DEFAULT, 2, true),
			   "tuned: network made"))
		return;
	for (int i = 0; i < 12; i++)
	{
		tn.net.in_shift[i] = 0.25f;
		tn.net.in_mul[i] = 2.0f;
	}
	for (int i = 0; i < 8 * 12; i++)
		x[i] = TestUniform(&rng, 0.0f, 1.0f);
	for (size_t d = 0; d < 3; d++)
	{
		size_t		len;
		void	   *img = Quantize(&tn, dtypes[d], &len);
		HnNet		hn;
		HnError		err;
		void	   *w1;
		void	   *w2;
		float		a[8 * 3];
		float		b[8 * 3];
		bool		close = true;

		if (img == NULL)
			continue;
		NetBindTrusted(&hn, img);
		w1 = hn.kind->work_create(&hn, 8, &HnMallocAllocator, &err);
		w2 = hn.kind->work_create(&hn, 8, &HnMallocAllocator, &err);
		hn.kind->work_tune(&hn, w2);
		hn.kind->predict(&hn, w1, x, 8, a);
		hn.kind->predict(&hn, w2, x, 8, b);
		for (int i = 0; i < 8 * 3; i++)
			close &= TestClose(a[i], b[i], 1e-5, 1e-4);
		CHECK(close, "%s: folded input shifts give the same outputs to rounding",
			  DenseDtypeName(dtypes[d]));
		hn.kind->work_free(w1, &HnMallocAllocator);
		hn.kind->work_free(w2, &HnMallocAllocator);
		free(img);
	}
	TestNetFree(&tn);
}

/* Text form, sizes, info, requantizing, refusals. */
static void
TestTextAndSizes(void)
{
	const uint32_t counts[] = {784, 128, 10};
	TestNet		tn;
	size_t		f32_len;

	if (!CHECK(MakeNet(&tn, 3, counts, NULL, 5), "sizes: network made"))
		return;
	f32_len = tn.len;
	for (size_t d = 0; d < 3; d++)
	{
		size_t		len;
		void	   *img = Quantize(&tn, dtypes[d], &len);
		HnNet		hn;
		HnBuf		buf;
		HnError		err;
		void	   *back = NULL;
		size_t		back_len = 0;
		double		ratio;

		if (img == NULL)
			continue;
		ratio = (double) f32_len / (double) len;
		if (dtypes[d] == DENSE_DTYPE_F16)
			CHECK(ratio >= 1.95, "f16: 784-128-10 image %.2fx smaller (%zu bytes)",
				  ratio, len);
		else
			CHECK(ratio >= 3.5, "%s: 784-128-10 image %.2fx smaller (%zu bytes)",
				  DenseDtypeName(dtypes[d]), ratio, len);
		NetBindTrusted(&hn, img);
		HnBufInit(&buf, &HnMallocAllocator);
		CHECK(NetToJson(&hn, &buf, &err) == HANAMI_OK &&
			  NetFromJson(buf.data, buf.len, NULL, &HnMallocAllocator, &back,
						  &back_len, &err) == HANAMI_OK &&
			  back_len == len && memcmp(back, img, len) == 0,
			  "%s: the text form reads back to the same bytes",
			  DenseDtypeName(dtypes[d]));
		free(back);
		HnBufFree(&buf);
		HnBufInit(&buf, &HnMallocAllocator);
		CHECK(NetInfo(&hn, &buf, &err) == HANAMI_OK &&
			  strstr(buf.data, DenseDtypeName(dtypes[d])) != NULL &&
			  strstr(buf.data, "\"format\": 2") != NULL,
			  "%s: info names the dtype and format 2", DenseDtypeName(dtypes[d]));
		HnBufFree(&buf);

		/* the same dtype again: the same bytes; another: refused */
		{
			void	   *again;
			size_t		again_len;
			int			other = dtypes[(d + 1) % 3];

			CHECK(hn.kind->quantize(&hn, DenseDtypeName(dtypes[d]), &HnMallocAllocator,
									&again, &again_len, &err) == HANAMI_OK &&
				  again_len == len && memcmp(again, img, len) == 0,
				  "%s: quantizing again to the same dtype changes nothing",
				  DenseDtypeName(dtypes[d]));
			free(again);
			CHECK(hn.kind->quantize(&hn, DenseDtypeName(other), &HnMallocAllocator,
									&again, &again_len, &err) == HANAMI_E_INVALID_ARGUMENT,
				  "%s: quantizing to %s is refused: %s", DenseDtypeName(dtypes[d]),
				  DenseDtypeName(other), err.message);
			CHECK(hn.kind->quantize(&hn, "f32", &HnMallocAllocator,
									&again, &again_len, &err) == HANAMI_E_INVALID_ARGUMENT,
				  "%s: back to f32 is refused", DenseDtypeName(dtypes[d]));
			CHECK(hn.kind->quantize(&hn, "int4", &HnMallocAllocator,
									&again, &again_len, &err) == HANAMI_E_INVALID_ARGUMENT &&
				  strstr(err.hint, "pow2") != NULL,
				  "unknown dtype refused with the list: %s", err.hint);
		}
		free(img);
	}
	{
		HnNet		hn;
		HnError		err;
		void	   *img;
		size_t		len;

		NetBindTrusted(&hn, tn.buf);
		CHECK(hn.kind->quantize(&hn, "f32", &HnMallocAllocator, &img, &len,
								&err) == HANAMI_OK && len == tn.len &&
			  memcmp(img, tn.buf, len) == 0,
			  "f32 to f32: the same bytes, format version 1");
		free(img);
	}
	{
		void	   *img;
		size_t		len;
		HnError		err;

		const char *u8 = "{\"layers\": [2, 2], \"dtype\": \"u8\"}";
		const char *q3 = "{\"layers\": [2, 2], \"dtype\": \"q3\"}";

		CHECK(NetFromJson(u8, strlen(u8), NULL,
						  &HnMallocAllocator, &img, &len, &err) == HANAMI_E_INVALID_SPEC &&
			  strstr(err.hint, "quantize") != NULL,
			  "a new u8 network is refused with a hint: %s", err.message);
		CHECK(NetFromJson(q3, strlen(q3), NULL,
						  &HnMallocAllocator, &img, &len, &err) == HANAMI_E_MALFORMED_SPEC,
			  "an unknown dtype in a spec is refused: %s", err.message);
	}
	TestNetFree(&tn);
}

/* A segment of a bound image (pager ctx: the image). */
static const void *
DtypeFetch(void *c, int i, size_t *n, HnError *e)
{
	HnNet		hn;
	const DenseNet *d;
	int			dtype;

	NetBindTrusted(&hn, c);
	d = DenseOf(&hn);
	dtype = DenseDtypeOf(d);
	*n = (size_t) DenseLayerWords(dtype, d->layers[i - 1].count,
								  d->layers[i].count) * 4;
	return DenseLayerStart(d, i);
}

/* Paged inference of a quantized network: the bits of the whole one. */
static void
TestPaged(void)
{
	const uint32_t counts[] = {9, 21, 5};
	TestNet		tn;

	if (!CHECK(MakeNet(&tn, 3, counts, NULL, 8), "paged: network made"))
		return;
	for (size_t d = 0; d < 3; d++)
	{
		size_t		len;
		void	   *img = Quantize(&tn, dtypes[d], &len);
		HnNet		whole;
		HnNet		head;
		HnError		err;
		size_t		head_len;
		void	   *head_buf;
		void	   *ww;
		void	   *wp;
		float		x[10 * 9];
		float		a[10 * 5];
		float		b[10 * 5];
		uint64_t	rng = 1;
		bool		ok = true;

		if (img == NULL)
			continue;
		for (int i = 0; i < 90; i++)
			x[i] = TestUniform(&rng, -1.0f, 1.0f);
		NetBindTrusted(&whole, img);
		head_len = (size_t) ((char *) DenseOf(&whole)->params - (char *) img);
		head_buf = TestCopy(img, head_len);
		ok &= NetBindHead(&head, head_buf, head_len, len, &err) == HANAMI_OK;
		ww = whole.kind->work_create(&whole, 4, &HnMallocAllocator, &err);
		wp = head.kind->work_create(&head, 4, &HnMallocAllocator, &err);
		whole.kind->predict(&whole, ww, x, 10, a);
		{
			/* segments straight from the image */
			HnPager		pager = {img, DtypeFetch};

			ok &= head.kind->predict_paged(&head, wp, &pager, x, 10, b,
										   &err) == HANAMI_OK;
		}
		CHECK(ok && memcmp(a, b, sizeof(a)) == 0,
			  "%s: paged inference gives the bits of the whole network",
			  DenseDtypeName(dtypes[d]));
		whole.kind->work_free(ww, &HnMallocAllocator);
		head.kind->work_free(wp, &HnMallocAllocator);
		free(head_buf);
		free(img);
	}
	TestNetFree(&tn);
}

/* Malformed quantized images are refused, never read outside. */
static void
TestMalformed(void)
{
	const uint32_t counts[] = {5, 6, 3};
	TestNet		tn;
	uint64_t	rng = 77;

	if (!CHECK(MakeNet(&tn, 3, counts, NULL, 12), "malformed: network made"))
		return;
	for (size_t d = 0; d < 3; d++)
	{
		size_t		len;
		void	   *img = Quantize(&tn, dtypes[d], &len);
		HnNet		hn;
		HnError		err;
		char	   *m;
		DenseNet	v;
		int			accepted = 0;
		int			refused = 0;

		if (img == NULL)
			continue;
		NetBindTrusted(&hn, img);
		v = *DenseOf(&hn);
#define MUT(stmt, what) \
		do { \
			HnHeader   *h; \
			char	   *seg1; \
			DenseQuant *q1; \
			m = TestCopy(img, len); \
			h = (HnHeader *) m; \
			seg1 = m + ((char *) DenseLayerStart(&v, 1) - (char *) img); \
			q1 = (DenseQuant *) seg1; \
			(void) h; (void) q1; \
			stmt; \
			CHECK(NetBind(&hn, m, len, &err) == HANAMI_E_INVALID_FORMAT, \
				  "%s: %s is refused: %s", DenseDtypeName(dtypes[d]), what, err.message); \
			free(m); \
		} while (0)

		MUT(h->reserved[0] = 0, "format 2 with dtype f32");
		MUT(h->reserved[0] = 9, "an unknown dtype");
		MUT(h->version = 1, "format 1 with a dtype");
		MUT(h->flags |= HANAMI_FLAG_POW2_QAT, "pow2 training on compact weights");
		MUT(h->reserved[1] = 1, "a reserved field");
		MUT(((float *) (seg1 + (DenseLayerWords(dtypes[d], 5, 6) - 6) * 4))[2] = NAN,
			"a NaN bias");
		MUT(h->reserved[0] = (uint32_t) dtypes[(d + 1) % 3], "another dtype's layout");
		if (dtypes[d] == DENSE_DTYPE_POW2)
		{
			MUT(seg1[sizeof(DenseQuant) + 3] = (char) 0x80, "the code 0x80");
			MUT(q1->zero = 2, "a base exponent above 1");
			MUT(q1->zero = -127, "a base exponent below -126");
			MUT(q1->scale = 1.0f, "a nonzero scale");
			MUT(seg1[sizeof(DenseQuant) + 30] = 1, "nonzero padding");
		}
		else if (dtypes[d] == DENSE_DTYPE_F16)
		{
			MUT(memcpy(seg1 + sizeof(DenseQuant) + 4, "\x00\x7c", 2), "an infinite weight");
			MUT(memcpy(seg1 + sizeof(DenseQuant) + 4, "\x01\xfe", 2), "a NaN weight");
			MUT(q1->zero = 1, "a nonzero record");
		}
		else
		{
			MUT(q1->scale = 0.0f, "a zero scale");
			MUT(q1->scale = -1.0f, "a negative scale");
			MUT(q1->scale = NAN, "a NaN scale");
			MUT(q1->scale = 3e38f, "a scale too large");
			MUT(q1->zero = 256, "a zero point of 256");
			MUT(seg1[sizeof(DenseQuant) + 30] = 1, "nonzero padding");
		}
		/* random byte changes: refused or run, never a crash */
		for (int t = 0; t < 3000; t++)
		{
			size_t		at = (size_t) (TestUniform(&rng, 0.0f, 1.0f) * (float) len) % len;

			m = TestCopy(img, len);
			m[at] ^= (char) (1 + (int) (TestUniform(&rng, 0.0f, 255.0f)));
			if (NetBind(&hn, m, len, &err) == HANAMI_OK)
			{
				void	   *w = hn.kind->work_create(&hn, 2, &HnMallocAllocator, &err);
				float		x[10] = {1, -2, 3, 0, 5, 1, 1, 1, 1, 1};
				float		y[6];

				if (w)
				{
					hn.kind->predict(&hn, w, x, 2, y);
					hn.kind->work_free(w, &HnMallocAllocator);
				}
				accepted++;
			}
			else
				refused++;
			free(m);
		}
		CHECK(refused > 0, "%s: 3000 random byte changes: %d refused, %d still valid, no crash",
			  DenseDtypeName(dtypes[d]), refused, accepted);
		/* truncated */
		m = TestCopy(img, len - 4);
		CHECK(NetBind(&hn, m, len - 4, &err) == HANAMI_E_INVALID_FORMAT,
			  "%s: a truncated image is refused", DenseDtypeName(dtypes[d]));
		free(m);
		free(img);
	}
	TestNetFree(&tn);
}

void
TestDtypeSuite(void)
{
	TestHalf();
	TestPow2Codes();
	TestPow2Extremes();
	TestQuantizeBounds();
	TestForward();
	TestTuned();
	TestTextAndSizes();
	TestPaged();
	TestMalformed();
}
