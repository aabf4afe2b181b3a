/*
 * test_scaling.c - the learned input scaling: the robust statistic of one
 * feature on small inputs (exact values), the fixed-seed row sample, the
 * same bits from rows in memory and rows offered in chunks, robustness to
 * rows whose every value is a million times too large, and the clip flag.
 */
#include "harness.h"

#include <inttypes.h>
#include <stdlib.h>

#include "core/dense/step.h"
#include "core/scaling.h"
#include "core/train.h"

/* ScaleFromValues on a copy of v[0..m). */
static void
FromValues(const float *v, int64_t m, float *shift, float *mul)
{
	float	   *c = TestCopy(v, sizeof(float) * (size_t) m);

	ScaleFromValues(c, m, shift, mul);
	free(c);
}

/* Exact centre and multiplier of small inputs. */
static void
TestStatistic(void)
{
	static const float odd[] = {5, 1, 4, 2, 3};
	static const float wild[] = {3, 1e6f, 1, 4, 2};
	static const float even[] = {4, 1, 3, 2};
	static const float sparse[] = {0, 0, 0, 8, 0, 0, 0, 0, 0, 0};
	static const float skew[] = {0, 0, 0, 0, 0, 1, 16, 16, 16, 16};
	static const float constant[] = {7, 7, 7};
	static const float one[] = {-2.5f};
	static const float zeros[] = {-0.0f, 0.0f, -0.0f};
	static const float huge[] = {-3e38f, 3e38f};
	static const float tiny[] = {0.0f, 1e-45f};
	float		shift,
				mul,
				s2,
				m2;

	/* median 3; quartiles 2 and 4; off-centre distances 1 1 2 2 -> 1.5 */
	FromValues(odd, 5, &shift, &mul);
	CHECK(shift == 3.0f && mul == (float) (1.0 / 6.0),
		  "statistic: 1..5 gives centre 3, range 4 x 1.5 (%g, %g)", shift, mul);
	FromValues(wild, 5, &s2, &m2);
	CHECK(s2 == shift && m2 == mul,
		  "statistic: a value 10^6 replacing 5 changes nothing (%g, %g)", s2, m2);
	/* median 2.5; quartiles 1.75, 3.25; distances .5 .5 1.5 1.5 -> 1 */
	FromValues(even, 4, &shift, &mul);
	CHECK(shift == 2.5f && mul == 0.25f,
		  "statistic: 1..4 gives centre 2.5, range 4 x 1 (%g, %g)", shift, mul);
	/* a border pixel: zero in 9 of 10 rows; the one other value sets it */
	FromValues(sparse, 10, &shift, &mul);
	CHECK(shift == 0.0f && mul == 1.0f / 32.0f,
		  "statistic: a feature at 0 but once (8) gets range 4 x 8 (%g, %g)",
		  shift, mul);
	/* median 0.5: twice the interquartile range 16 beats 4 x 0.5 */
	FromValues(skew, 10, &shift, &mul);
	CHECK(shift == 0.5f && mul == 1.0f / 32.0f,
		  "statistic: interquartile range wins when larger (%g, %g)", shift, mul);
	FromValues(constant, 3, &shift, &mul);
	CHECK(shift == 7.0f && mul == 1.0f,
		  "statistic: a constant feature is centred with multiplier 1");
	FromValues(one, 1, &shift, &mul);
	CHECK(shift == -2.5f && mul == 1.0f,
		  "statistic: a single row is centred with multiplier 1");
	FromValues(zeros, 3, &shift, &mul);
	CHECK(shift == 0.0f && !signbit(shift) && mul == 1.0f,
		  "statistic: -0 counts as +0");
	FromValues(huge, 2, &shift, &mul);
	CHECK(shift == 0.0f && mul > 0.0f && isfinite(mul) &&
		  TestClose(mul, 1.0 / 12e38, 0, 1e-5),
		  "statistic: values near the float limits stay finite (%g)", mul);
	FromValues(tiny, 2, &shift, &mul);
	CHECK(mul == 1.0f && isfinite(shift),
		  "statistic: a range whose inverse overflows gives multiplier 1");
	{
		float		v[7] = {9, -1, 4, 4, 0, 12, 4};
		float		w[7] = {4, 12, 0, 4, 4, -1, 9};

		FromValues(v, 7, &shift, &mul);
		FromValues(w, 7, &s2, &m2);
		/* quartiles 2, 6.5; off-centre distances 4 5 5 8 -> 5 */
		CHECK(shift == 4.0f && s2 == shift && m2 == mul && mul == 0.05f,
			  "statistic: order does not matter (%g, %g)", shift, mul);
	}
}

/* The row sample: its size, its slots, uniform over the rows. */
static void
TestSample(void)
{
	HnScaleSample s;
	bool		filled = true;
	int64_t		kept_first = 0;
	int64_t		n = 10 * HANAMI_SCALE_MAX_ROWS;
	int64_t    *slot_row = malloc(sizeof(int64_t) * HANAMI_SCALE_MAX_ROWS);

	CHECK(ScaleSampleRows(64) == 4096 && ScaleSampleRows(2000) == 2097 &&
		  ScaleSampleRows(1 << 20) == 32,
		  "sample: 4096 rows, about 16 MB for wide rows, at least 32");
	ScaleSampleInit(&s, 3);
	for (int64_t i = 0; i < n; i++)
	{
		int64_t		slot = ScaleSampleSlot(&s);

		if (i < s.cap)
			filled &= slot == i;
		if (slot >= 0)
			slot_row[slot] = i;
	}
	for (int64_t k = 0; k < s.cap; k++)
		kept_first += slot_row[k] < n / 2;
	CHECK(filled && ScaleSampleHeld(&s) == s.cap && s.seen == n,
		  "sample: the first rows fill the slots, then it holds %d",
		  HANAMI_SCALE_MAX_ROWS);
	/* binomial(4096, 1/2): sd 32 */
	CHECK(kept_first > 2048 - 160 && kept_first < 2048 + 160,
		  "sample: uniform over the rows (%" PRId64 " of 4096 from the first half)",
		  kept_first);
	free(slot_row);
}

/* Rows of n features: feature j uniform in [j, j + 10 (j + 1)), some at 0. */
static float *
MakeRows(int64_t rows, uint32_t n, uint64_t seed)
{
	float	   *x = malloc(sizeof(float) * (size_t) rows * n);
	uint64_t	st = seed;

	for (int64_t r = 0; r < rows; r++)
		for (uint32_t j = 0; j < n; j++)
		{
			float		u = TestUniform(&st, 0.0f, 1.0f);

			x[r * n + j] = (j % 4 == 3 && u < 0.9f) ? 0.0f :
				(float) j + 10.0f * (float) (j + 1) * TestUniform(&st, 0.0f, 1.0f);
		}
	return x;
}

/*
 * The scaling of a fit in memory (TrainFitScaling), with and without a row
 * selection, against rows offered one chunk at a time to a sample keeping
 * copies, as a streamed fit does; exact with no more rows than the sample.
 */
static void
TestMemoryVsChunks(void)
{
	static const uint32_t c[] = {20, 4, 2};
	const uint32_t n = 20;
	const int64_t rows = 10000;
	float	   *x = MakeRows(rows, n, 5);
	int32_t    *cls = calloc(rows, sizeof(int32_t));
	int64_t    *sel = malloc(sizeof(int64_t) * rows);
	HnDataset	ds = {rows, n, 2, x, NULL, cls};
	TestNet		tn;
	HnError		err;
	float		shift[20],
				mul[20];
	bool		same = true;
	int64_t		n_sel = 0;

	TestNetMake(&tn, 3, c, NULL, HANAMI_LOSS_DEFAULT, 1, true);
	for (int pass = 0; pass < 2; pass++)
	{
		HnScaleSample *s = ScaleSampleCreate(n, &HnMallocAllocator, &err);
		int64_t		k = pass == 0 ? rows : n_sel;
		int64_t		done = 0;
		int			chunk = 1;

		/* pass 1: every third row, backwards, as a validation split picks */
		for (int64_t r = rows - 1; pass == 0 && r >= 0; r--)
			if (r % 3 != 1)
				sel[n_sel++] = r;
		k = pass == 0 ? rows : n_sel;
		TrainFitScaling(&tn.net, &ds, k, pass == 0 ? NULL : sel,
						&HnMallocAllocator, &err);
		while (done < k)
		{
			int64_t		end = done + chunk < k ? done + chunk : k;

			for (; done < end; done++)
				ScaleSampleAdd(s, x + (size_t) (pass == 0 ? done : sel[done]) * n);
			chunk = chunk * 3 + 1;	/* 1, 4, 13, 40, ... rows */
		}
		ScaleSampleFit(s, shift, mul, &HnMallocAllocator, &err);
		same &= memcmp(shift, tn.net.in_shift, sizeof(shift)) == 0 &&
			memcmp(mul, tn.net.in_mul, sizeof(mul)) == 0;
		ScaleSampleFree(s, &HnMallocAllocator);
	}
	CHECK(same && (tn.net.hdr->flags & HANAMI_FLAG_INPUT_FITTED),
		  "sample: rows in chunks give the bits of rows in memory, all or selected");

	/* no more rows than the sample holds: the exact statistic of all rows */
	{
		int64_t		m = 1000;
		float	   *col = malloc(sizeof(float) * m);
		bool		exact = true;

		TrainFitScaling(&tn.net, &ds, m, NULL, &HnMallocAllocator, &err);
		for (uint32_t j = 0; j < n; j++)
		{
			for (int64_t r = 0; r < m; r++)
				col[r] = x[r * n + j];
			ScaleFromValues(col, m, shift + j, mul + j);
		}
		exact = memcmp(shift, tn.net.in_shift, sizeof(shift)) == 0 &&
			memcmp(mul, tn.net.in_mul, sizeof(mul)) == 0;
		CHECK(exact && TestClose(tn.net.in_shift[0], 5.0, 0, 0.1) &&
			  TestClose(tn.net.in_mul[0], 1.0 / 10.0, 0, 0.1),
			  "sample: 1000 rows give the exact statistic of all of them (%g, %g)",
			  tn.net.in_shift[0], tn.net.in_mul[0]);
		free(col);
	}
	TestNetFree(&tn);
	free(x);
	free(cls);
	free(sel);
}

/*
 * 1 % of the rows a million times too large move the scaling by a few per
 * cent at most, in memory and in chunks alike (the mean and range moved by
 * a factor of about 10^4).
 */
static void
TestOutlierRows(void)
{
	static const uint32_t c[] = {12, 4, 2};
	const uint32_t n = 12;
	const int64_t rows = 6000;
	float	   *x = MakeRows(rows, n, 9);
	int32_t    *cls = calloc(rows, sizeof(int32_t));
	HnDataset	ds = {rows, n, 2, x, NULL, cls};
	TestNet		tn;
	HnError		err;
	float		shift[12],
				mul[12];
	double		worst_mul = 0.0,
				worst_shift = 0.0;
	HnScaleSample *s;

	TestNetMake(&tn, 3, c, NULL, HANAMI_LOSS_DEFAULT, 1, true);
	TrainFitScaling(&tn.net, &ds, rows, NULL, &HnMallocAllocator, &err);
	memcpy(shift, tn.net.in_shift, sizeof(shift));
	memcpy(mul, tn.net.in_mul, sizeof(mul));
	for (int64_t r = 0; r < rows; r += 100)
		for (uint32_t j = 0; j < n; j++)
			x[r * n + j] *= 1e6f;
	TrainFitScaling(&tn.net, &ds, rows, NULL, &HnMallocAllocator, &err);
	for (uint32_t j = 0; j < n; j++)
	{
		double		dm = fabs((double) tn.net.in_mul[j] / mul[j] - 1.0);
		double		ds_ = fabs(((double) tn.net.in_shift[j] - shift[j]) * mul[j]);

		worst_mul = dm > worst_mul ? dm : worst_mul;
		worst_shift = ds_ > worst_shift ? ds_ : worst_shift;
	}
	CHECK(worst_mul <= 0.1 && worst_shift <= 0.05,
		  "outliers: 1 %% of rows x 10^6 move multipliers by %.3f, shifts by %.3f ranges",
		  worst_mul, worst_shift);
	s = ScaleSampleCreate(n, &HnMallocAllocator, &err);
	for (int64_t r = 0; r < rows; r++)
		ScaleSampleAdd(s, x + r * n);
	ScaleSampleFit(s, shift, mul, &HnMallocAllocator, &err);
	CHECK(memcmp(shift, tn.net.in_shift, sizeof(shift)) == 0 &&
		  memcmp(mul, tn.net.in_mul, sizeof(mul)) == 0,
		  "outliers: the streamed sample gives the same bits");
	ScaleSampleFree(s, &HnMallocAllocator);
	TestNetFree(&tn);
	free(x);
	free(cls);
}

/* Two blobs; 1 % of the training rows a million times too large. */
static void
TestOutlierFit(void)
{
	static const uint32_t c[] = {2, 8, 2};
	static const HnActivation a[] = {0, HANAMI_ACT_TANH, HANAMI_ACT_SOFTMAX};
	const int64_t rows = 600;
	float	   *x = malloc(sizeof(float) * 2 * rows);
	float	   *xt = malloc(sizeof(float) * 2 * rows);
	int32_t    *cls = malloc(sizeof(int32_t) * rows);
	uint64_t	st = 17;
	HnDataset	train = {rows, 2, 2, x, NULL, cls};
	HnDataset	test = {rows, 2, 2, xt, NULL, cls};
	double		acc[2];

	for (int64_t r = 0; r < rows; r++)
	{
		float		u = TestUniform(&st, 0, 1);
		float		v = TestUniform(&st, 0, 1);

		x[2 * r] = xt[2 * r] = 300.0f + 40.0f * u;
		x[2 * r + 1] = xt[2 * r + 1] = 5.0f * v;
		cls[r] = u + v > 1.0f;
	}
	for (int k = 0; k < 2; k++)
	{
		TestNet		tn;
		HnTrainOptions opt;
		HnTrainResult res;
		HnEvalResult ev = {0};
		HnError		err;

		if (k == 1)
			for (int64_t r = 0; r < rows; r += 100)
			{
				x[2 * r] *= 1e6f;
				x[2 * r + 1] *= 1e6f;
			}
		TestNetMake(&tn, 3, c, a, HANAMI_LOSS_DEFAULT, 4, true);
		TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
		opt.epochs = 30;
		opt.batch_size = 16;
		opt.optim.learning_rate = 0.02f;
		TrainFit(&tn.net, &train, &opt, NULL, &HnMallocAllocator, &res, &err);
		TrainEvaluate(&tn.net, &test, NULL, &HnMallocAllocator, &ev, &err);
		acc[k] = ev.accuracy;
		TestNetFree(&tn);
	}
	CHECK(acc[0] >= 0.95 && acc[1] >= acc[0] - 0.02,
		  "outliers: a fit with 1 %% of rows x 10^6 keeps its accuracy (%.3f vs %.3f clean)",
		  acc[1], acc[0]);
	free(x);
	free(xt);
	free(cls);
}

/* The clip flag is a known flag: an image carrying it binds. */
static void
TestClipFlag(void)
{
	static const uint32_t c[] = {3, 2};
	TestNet		tn;
	DenseNet		bound;
	HnError		err;
	void	   *copy;

	TestNetMake(&tn, 2, c, NULL, HANAMI_LOSS_DEFAULT, 1, true);
	tn.net.hdr->flags |= HANAMI_FLAG_INPUT_FITTED | HANAMI_FLAG_INPUT_CLIP;
	copy = TestCopy(tn.buf, tn.len);
	CHECK(DenseBind(&bound, copy, tn.len, &err) == HANAMI_OK &&
		  DenseInputClip(&bound) == HANAMI_INPUT_CLIP,
		  "format: an image with the clip flag binds and clips at %g",
		  (double) HANAMI_INPUT_CLIP);
	free(copy);
	TestNetFree(&tn);
}

/*
 * ScaleFitRows (a radix sort per feature) gives the bits of ScaleFromValues
 * (qsort) on features of every shape: negative and positive values, -0 and
 * +0, many ties, tiny and huge magnitudes, one value everywhere, and sample
 * sizes from 1 up.
 */
static void
TestSortPaths(void)
{
	static const int64_t sizes[] = {1, 2, 7, 100, 4096};
	const uint32_t n = 6;
	HnRng		rng;
	bool		same = true;

	RngSeed(&rng, 7);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
	{
		int64_t		m = sizes[s];
		float	   *x = malloc(sizeof(float) * (size_t) m * n);
		const float **rows = malloc(sizeof(float *) * (size_t) m);
		float	   *col = malloc(sizeof(float) * (size_t) m);
		float		shift[6], mul[6], shift2[6], mul2[6];
		HnError		err;

		for (int64_t r = 0; r < m; r++)
		{
			float	   *row = x + (size_t) r * n;
			double		u = RngUniform(&rng);

			row[0] = (float) (u * 2.0 - 1.0);					/* both signs */
			row[1] = RngBelow(&rng, 3) == 0 ? -0.0f : (float) RngBelow(&rng, 4);	/* ties, -0 */
			row[2] = (float) ((u - 0.5) * 1e30);				/* huge */
			row[3] = (float) ((u - 0.3) * 1e-30);				/* tiny, subnormal */
			row[4] = 3.5f;										/* constant */
			row[5] = -(float) RngBelow(&rng, 1000) / 7.0f;		/* negative */
			rows[r] = row;
		}
		same &= ScaleFitRows(rows, m, n, shift, mul, &HnMallocAllocator, &err) == HANAMI_OK;
		for (uint32_t j = 0; j < n; j++)
		{
			for (int64_t r = 0; r < m; r++)
				col[r] = x[(size_t) r * n + j];
			ScaleFromValues(col, m, shift2 + j, mul2 + j);
		}
		same &= memcmp(shift, shift2, sizeof(shift)) == 0 &&
			memcmp(mul, mul2, sizeof(mul)) == 0;
		free(x);
		free(rows);
		free(col);
	}
	CHECK(same, "radix-sorted features give the bits of qsort-sorted ones");
}

void
TestScalingSuite(void)
{
	TestStatistic();
	TestSortPaths();
	TestSample();
	TestMemoryVsChunks();
	TestOutlierRows();
	TestOutlierFit();
	TestClipFlag();
}
