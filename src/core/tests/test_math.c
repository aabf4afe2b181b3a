/*
 * test_math.c - unit tests of the numeric building blocks: the random
 * generator, activations and their derivatives, losses and their gradients
 * (against central finite differences), and the vector kernels.
 */
#include "harness.h"

#include <stdlib.h>

#include "core/activation.h"
#include "core/simd.h"
#include "core/loss.h"
#include "core/rng.h"

/* Finite-difference step and tolerances for float functions. */
#define FD_H		1e-2f
#define FD_ABS		2e-3
#define FD_REL		2e-2

/* The generator: determinism, ranges, moments, shuffles. */
static void
TestRng(void)
{
	HnRng		a,
				b;
	bool		same = true;
	bool		in_range = true;
	bool		perm = true;
	double		sum = 0.0,
				sumsq = 0.0;
	int64_t		v[100];
	int			seen[100] = {0};
	const int	n = 20000;

	RngSeed(&a, 42);
	RngSeed(&b, 42);
	for (int i = 0; i < 1000; i++)
		same &= RngNext(&a) == RngNext(&b);
	CHECK(same, "rng: same seed gives the same stream");
	RngSeed(&b, 43);
	CHECK(RngNext(&a) != RngNext(&b), "rng: different seeds differ");

	for (int i = 0; i < n; i++)
	{
		double		u = RngUniform(&a);
		uint64_t	k = RngBelow(&a, 7);

		in_range &= u >= 0.0 && u < 1.0 && k < 7;
	}
	CHECK(in_range && RngBelow(&a, 0) == 0 && RngBelow(&a, 1) == 0,
		  "rng: uniform in [0, 1) and RngBelow in range");
	for (int i = 0; i < n; i++)
	{
		double		z = RngNormal(&a);

		sum += z;
		sumsq += z * z;
	}
	CHECK(fabs(sum / n) < 0.05 && fabs(sumsq / n - 1.0) < 0.05,
		  "rng: normal has mean ~0 and variance ~1 (%.3f, %.3f)",
		  sum / n, sumsq / n);
	for (int i = 0; i < 100; i++)
		v[i] = i;
	RngShuffle(&a, v, 100);
	for (int i = 0; i < 100; i++)
	{
		if (v[i] < 0 || v[i] >= 100 || seen[v[i]]++)
			perm = false;
	}
	CHECK(perm, "rng: shuffle is a permutation");
}

/* dL/dz by central differences of sum_i w_i act(z)_i, one z_j at a time. */
static double
FdActivation(HnActivation act, const float *z, const float *w, size_t n,
			 size_t j)
{
	float		zp[8],
				zm[8];
	double		lp = 0.0,
				lm = 0.0;

	memcpy(zp, z, n * sizeof(float));
	memcpy(zm, z, n * sizeof(float));
	zp[j] += FD_H;
	zm[j] -= FD_H;
	ActForward(act, zp, n);
	ActForward(act, zm, n);
	for (size_t i = 0; i < n; i++)
	{
		lp += (double) w[i] * zp[i];
		lm += (double) w[i] * zm[i];
	}
	return (lp - lm) / (2.0 * FD_H);
}

/* Every activation against finite differences, plus edge values. */
static void
TestActivations(void)
{
	/* points away from kinks at 0; 0.003 exercises sinc's series */
	static const float pts[] = {-2.3f, -0.9f, -0.2f, 0.003f, 0.35f, 0.8f, 1.7f,
	2.6f};
	const size_t np = sizeof(pts) / sizeof(pts[0]);
	uint64_t	s = 7;

	CHECK(strcmp(ActName(HANAMI_ACT_SOFTCLIP), "softclip") == 0 &&
		  ActFromName("gauss") == HANAMI_ACT_GAUSS &&
		  ActFromName("nope") == HANAMI_ACT_DEFAULT &&
		  ActName((HnActivation) 99) == NULL &&
		  !ActIsValid(0) && ActIsValid(12) && ActIsValid(13) &&
		  !ActIsValid(14) && ActFromName("custom") == HANAMI_ACT_DEFAULT,
		  "activation: names round trip");

	for (int act = HANAMI_ACT_IDENTITY; act < HANAMI_ACT_SOFTMAX; act++)
	{
		bool		ok = true;

		for (size_t i = 0; i < np; i++)
		{
			float		z = pts[i];
			float		y = z;
			float		g = 1.0f;
			double		fd;
			float		one = 1.0f;

			if (act == HANAMI_ACT_RELU && fabsf(z) < 0.01f)
				continue;
			ActForward((HnActivation) act, &y, 1);
			ActBackward((HnActivation) act, &z, &y, &g, 1);
			fd = FdActivation((HnActivation) act, &z, &one, 1, 0);
			if (act == HANAMI_ACT_BINARY)
				fd = 0.0;		/* flat away from the step */
			if (!TestClose(g, fd, FD_ABS, FD_REL))
			{
				TestNote("%s at %g: analytic %g, numeric %g",
						 ActName((HnActivation) act), z, g, fd);
				ok = false;
			}
		}
		CHECK(ok, "activation %s: derivative matches finite differences",
			  ActName((HnActivation) act));
	}

	/* values at known points */
	{
		float		v[] = {0.0f, 1e-20f, -3.0f, 40.0f, -40.0f};
		float		sc[] = {-50.0f, 0.5f, 50.0f};
		float		sg[] = {-100.0f, 0.0f, 100.0f};
		float		bi[] = {-0.5f, 0.0f, 0.5f};

		ActForward(HANAMI_ACT_SINC, v, 5);
		CHECK(v[0] == 1.0f && v[1] == 1.0f && isfinite(v[3]) &&
			  TestClose(v[2], sin(-3.0) / -3.0, 1e-6, 1e-5),
			  "activation sinc: 1 at 0, finite elsewhere");
		ActForward(HANAMI_ACT_SOFTCLIP, sc, 3);
		CHECK(TestClose(sc[0], 0.0, 1e-6, 0) && TestClose(sc[2], 1.0, 1e-6, 0) &&
			  sc[1] > 0.2f && sc[1] < 0.8f,
			  "activation softclip: clips to [0, 1] without overflow");
		ActForward(HANAMI_ACT_SIGMOID, sg, 3);
		CHECK(sg[0] >= 0.0f && sg[0] < 1e-30f && sg[1] == 0.5f && sg[2] == 1.0f,
			  "activation sigmoid: stable at +-100");
		ActForward(HANAMI_ACT_BINARY, bi, 3);
		CHECK(bi[0] == 0.0f && bi[1] == 1.0f && bi[2] == 1.0f,
			  "activation binary: step at 0");
	}

	/* softmax: stability and the full Jacobian */
	{
		float		big[4] = {1000.0f, 1001.0f, 999.0f, -1000.0f};
		float		z[5],
					y[5],
					w[5],
					g[5];
		double		sum = 0.0;
		bool		ok = true;

		ActForward(HANAMI_ACT_SOFTMAX, big, 4);
		for (int i = 0; i < 4; i++)
			sum += big[i];
		CHECK(isfinite(big[0]) && TestClose(sum, 1.0, 1e-6, 0) && big[1] > big[0],
			  "activation softmax: stable with large inputs, sums to 1");
		for (int i = 0; i < 5; i++)
		{
			z[i] = TestUniform(&s, -2.0f, 2.0f);
			w[i] = TestUniform(&s, -1.0f, 1.0f);
		}
		memcpy(y, z, sizeof(z));
		ActForward(HANAMI_ACT_SOFTMAX, y, 5);
		memcpy(g, w, sizeof(w));
		ActBackward(HANAMI_ACT_SOFTMAX, z, y, g, 5);
		for (int j = 0; j < 5; j++)
		{
			double		fd = FdActivation(HANAMI_ACT_SOFTMAX, z, w, 5, j);

			if (!TestClose(g[j], fd, FD_ABS, FD_REL))
			{
				TestNote("softmax d/dz%d: analytic %g, numeric %g", j, g[j], fd);
				ok = false;
			}
		}
		CHECK(ok, "activation softmax: Jacobian matches finite differences");
	}
	CHECK(ActInitGain(HANAMI_ACT_RELU) == 2.0 && ActInitGain(HANAMI_ACT_ELU) == 2.0 &&
		  ActInitGain(HANAMI_ACT_TANH) == 1.0,
		  "activation: init gains");
}

/* Loss of z through the activation, for finite differences. */
static double
LossOfZ(HnLoss loss, HnActivation act, const float *z, const float *t,
		size_t n)
{
	float		y[8];

	memcpy(y, z, n * sizeof(float));
	ActForward(act, y, n);
	return LossValue(loss, act, y, t, n);
}

/* Every loss gradient against finite differences. */
static void
TestLosses(void)
{
	static const struct
	{
		HnLoss		loss;
		HnActivation act;
		bool		one_hot;
	}			cases[] = {
		{HANAMI_LOSS_MSE, HANAMI_ACT_IDENTITY, false},
		{HANAMI_LOSS_MSE, HANAMI_ACT_TANH, false},
		{HANAMI_LOSS_MSE, HANAMI_ACT_SIGMOID, false},
		{HANAMI_LOSS_MSE, HANAMI_ACT_SIN, false},
		{HANAMI_LOSS_MSE, HANAMI_ACT_SOFTCLIP, false},
		{HANAMI_LOSS_MSE, HANAMI_ACT_SOFTMAX, true},
		{HANAMI_LOSS_CROSS_ENTROPY, HANAMI_ACT_SOFTMAX, true},
		{HANAMI_LOSS_CROSS_ENTROPY, HANAMI_ACT_SIGMOID, false},
	};
	uint64_t	s = 11;
	const size_t n = 4;

	CHECK(strcmp(LossName(HANAMI_LOSS_CROSS_ENTROPY), "cross_entropy") == 0 &&
		  LossFromName("mse") == HANAMI_LOSS_MSE &&
		  LossFromName("l1") == HANAMI_LOSS_DEFAULT &&
		  !LossIsValid(0) && LossIsValid(2) && !LossIsValid(3),
		  "loss: names round trip");
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
	{
		float		z[4],
					y[4],
					t[4],
					g[4];
		bool		ok = true;

		for (size_t i = 0; i < n; i++)
		{
			z[i] = TestUniform(&s, -1.5f, 1.5f);
			t[i] = cases[c].one_hot ? 0.0f : TestUniform(&s, 0.0f, 1.0f);
		}
		if (cases[c].one_hot)
			t[2] = 1.0f;
		memcpy(y, z, sizeof(z));
		ActForward(cases[c].act, y, n);
		LossGradient(cases[c].loss, cases[c].act, z, y, t, g, n);
		for (size_t j = 0; j < n; j++)
		{
			float		zp[4],
						zm[4];
			double		fd;

			memcpy(zp, z, sizeof(z));
			memcpy(zm, z, sizeof(z));
			zp[j] += FD_H;
			zm[j] -= FD_H;
			fd = (LossOfZ(cases[c].loss, cases[c].act, zp, t, n) -
				  LossOfZ(cases[c].loss, cases[c].act, zm, t, n)) / (2.0 * FD_H);
			if (!TestClose(g[j], fd, FD_ABS, FD_REL))
			{
				TestNote("dL/dz%zu: analytic %g, numeric %g", j, g[j], fd);
				ok = false;
			}
		}
		CHECK(ok, "loss %s with %s output: gradient matches finite differences",
			  LossName(cases[c].loss), ActName(cases[c].act));
	}

	/* values */
	{
		float		y[2] = {0.0f, 1.0f};
		float		t[2] = {1.0f, 0.0f};
		float		a[3] = {1, 2, 3},
					b[3] = {1, 0, 6};
		double		ce = LossValue(HANAMI_LOSS_CROSS_ENTROPY, HANAMI_ACT_SOFTMAX,
								   y, t, 2);
		double		bce = LossValue(HANAMI_LOSS_CROSS_ENTROPY,
									HANAMI_ACT_SIGMOID, y, t, 2);

		CHECK(isfinite(ce) && ce > 20.0 && isfinite(bce) && bce > 40.0,
			  "loss cross_entropy: clamped logs stay finite (%g, %g)", ce, bce);
		CHECK(TestClose(LossValue(HANAMI_LOSS_MSE, HANAMI_ACT_IDENTITY, a, b, 3),
						13.0 / 3.0, 1e-9, 1e-9),
			  "loss mse: sum of squares over n");
	}
}

/* Naive reference of SimdGemm. */
static void
RefGemm(size_t M, size_t N, size_t K, const float *L, size_t lsm, size_t lsk,
		const float *R, size_t ldr, float *C, size_t ldc, const float *bias)
{
	for (size_t m = 0; m < M; m++)
		for (size_t n = 0; n < N; n++)
		{
			double		acc = bias ? bias[n] : 0.0;

			for (size_t k = 0; k < K; k++)
				acc += (double) L[m * lsm + k * lsk] * R[k * ldr + n];
			C[m * ldc + n] = (float) acc;
		}
}

/* The kernels against naive references. */
static void
TestKernels(void)
{
	static const size_t dims[] = {1, 2, 5, 6, 7, 13, 16, 17, 33, 40};
	const size_t nd = sizeof(dims) / sizeof(dims[0]);
	uint64_t	s = 3;
	bool		ok = true;
	int			cases = 0;

	for (size_t a = 0; a < nd; a++)
		for (size_t b = 0; b < nd; b++)
			for (size_t c = 0; c < nd; c += 3)
			{
				size_t		M = dims[a],
							N = dims[b],
							K = dims[c];
				bool		trans = (a + b + c) % 2 == 1;
				size_t		ldr = N + 3,
							ldc = N + 1;
				float	   *L = malloc(M * K * sizeof(float));
				float	   *R = malloc(K * ldr * sizeof(float));
				float	   *C = malloc(M * ldc * sizeof(float));
				float	   *E = malloc(M * ldc * sizeof(float));
				float	   *bias = malloc(N * sizeof(float));
				bool		use_bias = (a + c) % 2 == 0;

				for (size_t i = 0; i < M * K; i++)
					L[i] = (i % 5 == 0) ? 0.0f : TestUniform(&s, -1, 1);
				for (size_t i = 0; i < K * ldr; i++)
					R[i] = TestUniform(&s, -1, 1);
				for (size_t i = 0; i < N; i++)
					bias[i] = TestUniform(&s, -1, 1);
				/* L as M x K row-major, or its transpose stored K x M */
				SimdGemm(M, N, K, L, trans ? 1 : K, trans ? M : 1, R, ldr, C, ldc,
						 use_bias ? bias : NULL);
				RefGemm(M, N, K, L, trans ? 1 : K, trans ? M : 1, R, ldr, E, ldc,
						use_bias ? bias : NULL);
				for (size_t m = 0; m < M; m++)
					for (size_t n = 0; n < N; n++)
						if (!TestClose(C[m * ldc + n], E[m * ldc + n], 1e-4, 1e-4))
						{
							if (ok)
								TestNote("gemm %zux%zux%zu at %zu,%zu: %g vs %g",
										 M, N, K, m, n, C[m * ldc + n],
										 E[m * ldc + n]);
							ok = false;
						}
				cases++;
				free(L);
				free(R);
				free(C);
				free(E);
				free(bias);
			}
	/* long edge panels that span several padded slices, and K = 0 */
	{
		static const size_t big[][3] = {{7, 10, 600}, {13, 35, 257}, {1, 3, 513},
		{6, 16, 300}, {5, 21, 0}};

		for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		{
			size_t		M = big[i][0],
						N = big[i][1],
						K = big[i][2];
			float	   *L = malloc((M * K + 1) * sizeof(float));
			float	   *R = malloc((K * N + 1) * sizeof(float));
			float	   *C = malloc(M * N * sizeof(float));
			float	   *E = malloc(M * N * sizeof(float));
			float	   *bias = malloc(N * sizeof(float));

			for (size_t j = 0; j < M * K; j++)
				L[j] = TestUniform(&s, -1, 1);
			for (size_t j = 0; j < K * N; j++)
				R[j] = TestUniform(&s, -1, 1);
			for (size_t j = 0; j < N; j++)
				bias[j] = TestUniform(&s, -1, 1);
			SimdGemm(M, N, K, L, K, 1, R, N, C, N, i % 2 ? bias : NULL);
			RefGemm(M, N, K, L, K, 1, R, N, E, N, i % 2 ? bias : NULL);
			for (size_t j = 0; j < M * N; j++)
				if (!TestClose(C[j], E[j], 1e-4, 1e-4))
				{
					if (ok)
						TestNote("gemm %zux%zux%zu at %zu: %g vs %g", M, N, K, j,
								 C[j], E[j]);
					ok = false;
				}
			cases++;
			free(L);
			free(R);
			free(C);
			free(E);
			free(bias);
		}
	}
	CHECK(ok, "kernel gemm matches the naive product in %d shapes", cases);

	/* the optimizer kernels against double-precision references */
	{
		float		w[37],
					g[37],
					m[37],
					v[37];
		double		wr[37],
					mr[37],
					vr[37];
		bool		adam_ok = true;

		for (int i = 0; i < 37; i++)
		{
			wr[i] = w[i] = TestUniform(&s, -1, 1);
			mr[i] = m[i] = TestUniform(&s, -0.1f, 0.1f);
			vr[i] = v[i] = i == 0 ? 0.0f : TestUniform(&s, 0, i < 10 ? 1e-6f : 1.0f);
			g[i] = i == 0 ? 0.0f : TestUniform(&s, -1, 1);
		}
		m[0] = 0.0f;
		mr[0] = 0.0;
		SimdAdamUpdate(w, g, m, v, 37, 0.01f, 0.9f, 0.999f, 2.0f, 1e-8f, 0.1f);
		for (int i = 0; i < 37; i++)
		{
			double		gi = g[i] + (double) 0.1f * wr[i];

			/* the kernel's float constants, exactly */
			mr[i] = (double) 0.9f * mr[i] + (double) (1.0f - 0.9f) * gi;
			vr[i] = (double) 0.999f * vr[i] + (double) (1.0f - 0.999f) * gi * gi;
			wr[i] -= 0.01 * mr[i] / (sqrt(vr[i] * 2.0) + 1e-8);
			if (!(TestClose(w[i], wr[i], 1e-6, 1e-5) &&
				  TestClose(m[i], mr[i], 1e-9, 1e-5) &&
				  TestClose(v[i], vr[i], 1e-12, 1e-5)))
			{
				if (adam_ok)
					TestNote("adam %d: w %g/%g m %g/%g v %g/%g", i, w[i], wr[i],
							 m[i], mr[i], v[i], vr[i]);
				adam_ok = false;
			}
		}
		CHECK(adam_ok, "kernel adam update matches a reference");
	}

	{
		float		src[6] = {1, 2, 3, 4, 5, 6},
					dst[6],
					sums[3];
		float		nan = NAN;
		float		fin[3] = {1, 2, 3};

		SimdTranspose(src, 2, 3, dst);
		SimdColumnSums(src, 2, 3, sums);
		CHECK(dst[0] == 1 && dst[1] == 4 && dst[2] == 2 && dst[5] == 6 &&
			  sums[0] == 5 && sums[2] == 9,
			  "kernel transpose and column sums");
		CHECK(SimdAllFinite(fin, 3) && !SimdAllFinite(&nan, 1),
			  "kernel finiteness check");
	}
}

/* Run the numeric tests. */
void
TestMathSuite(void)
{
	TestRng();
	TestActivations();
	TestLosses();
	TestKernels();
}
