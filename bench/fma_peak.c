/*
 * bench/fma_peak.c - this machine's single-thread float32 FMA throughput.
 *
 *     cc -O2 -march=native -o fma_peak bench/fma_peak.c && ./fma_peak
 *
 * Runs many independent accumulator chains of vector fused multiply-adds
 * (acc = acc * m + a), enough of them to cover the FMA latency on every FMA
 * port, with every vector width the compiler was allowed to use
 * (-march=native): 512, 256 and 128 bits, and scalar fmaf as a floor. Each
 * width runs several times, the widths taking turns (on a shared machine a
 * sibling hardware thread can halve the rate for a while); the best run of
 * the best width is the peak.
 *
 * The first line of the output is machine-readable:
 *
 *     <G FMA/s> <GFLOP/s> <width in bits> <lanes> <chains> <runs>
 *
 * (one FMA = one multiply and one add = 2 floating-point operations, per
 * float32 lane); the lines after it give each width's best for the record.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#endif

#define CHAINS 12				/* independent accumulators per width */
#define ITERS  5000000L			/* FMAs per chain and run */
#define RUNS   30

static volatile float seed_m = 0.9999999f;
static volatile float seed_a = 1e-7f;
static volatile float sink;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define CHAIN_STEP(OP) \
	OP(0); OP(1); OP(2); OP(3); OP(4); OP(5); \
	OP(6); OP(7); OP(8); OP(9); OP(10); OP(11)

/*
 * One width's run: CHAINS accumulators of type VT, LANES floats each, the
 * chains written out (CHAIN_STEP) so they stay in registers; FMADD_NOW names
 * the width's FMA where DEFINE_RUN is used.
 */
#define FMA_STEP(c) acc[c] = FMADD_NOW(acc[c], m, a)
#define DEFINE_RUN(NAME, VT, LANES, SET1, ADD, STOREU) \
static double \
NAME(long iters) \
{ \
	VT			acc[CHAINS]; \
	VT			m = SET1(seed_m); \
	VT			a = SET1(seed_a); \
	float		out[LANES]; \
	double		t; \
 \
	for (int c = 0; c < CHAINS; c++) \
		acc[c] = SET1(1.0f + c); \
	t = now(); \
	for (long i = 0; i < iters; i++) \
	{ \
		CHAIN_STEP(FMA_STEP); \
	} \
	t = now() - t; \
	for (int c = 1; c < CHAINS; c++) \
		acc[0] = ADD(acc[0], acc[c]); \
	STOREU(out, acc[0]); \
	sink = out[0]; \
	return t; \
}

#ifdef __AVX512F__
#define FMADD_NOW _mm512_fmadd_ps
DEFINE_RUN(run512, __m512, 16, _mm512_set1_ps, _mm512_add_ps, _mm512_storeu_ps)
#undef FMADD_NOW
#endif

#ifdef __FMA__
#define FMADD_NOW _mm256_fmadd_ps
DEFINE_RUN(run256, __m256, 8, _mm256_set1_ps, _mm256_add_ps, _mm256_storeu_ps)
#undef FMADD_NOW
#define FMADD_NOW _mm_fmadd_ps
DEFINE_RUN(run128, __m128, 4, _mm_set1_ps, _mm_add_ps, _mm_storeu_ps)
#undef FMADD_NOW
#endif

static double
run_scalar(long iters)
{
	float		acc[CHAINS];
	float		m = seed_m;
	float		a = seed_a;
	double		t;

	for (int c = 0; c < CHAINS; c++)
		acc[c] = 1.0f + c;
	t = now();
	for (long i = 0; i < iters; i++)
	{
#define F1(c) acc[c] = fmaf(acc[c], m, a)
		CHAIN_STEP(F1);
	}
	t = now() - t;
	for (int c = 1; c < CHAINS; c++)
		acc[0] += acc[c];
	sink = acc[0];
	return t;
}

struct width
{
	const char *name;
	int			bits;
	int			lanes;
	long		iters;
	double		(*run) (long);
};

int
main(void)
{
	struct width widths[] = {
#ifdef __AVX512F__
		{"AVX-512", 512, 16, ITERS, run512},
#endif
#ifdef __FMA__
		{"AVX2/FMA", 256, 8, ITERS, run256},
		{"SSE/FMA", 128, 4, ITERS, run128},
#endif
		{"scalar fmaf", 32, 1, ITERS / 8, run_scalar},
	};
	int			n = sizeof(widths) / sizeof(widths[0]);
	double		best_rate[8];
	int			best = 0;

	for (int w = 0; w < n; w++)
	{
		widths[w].run(widths[w].iters / 10);	/* warm up the clock */
		best_rate[w] = 0;
	}
	for (int r = 0; r < RUNS; r++)
		for (int w = 0; w < n; w++)
		{
			double		s = widths[w].run(widths[w].iters);
			double		rate = (double) widths[w].iters * CHAINS * widths[w].lanes / s / 1e9;

			if (rate > best_rate[w])
				best_rate[w] = rate;
		}
	for (int w = 0; w < n; w++)
		if (best_rate[w] > best_rate[best])
			best = w;
	printf("%.2f %.2f %d %d %d %d\n", best_rate[best], 2 * best_rate[best],
		   widths[best].bits, widths[best].lanes, CHAINS, RUNS);
	for (int w = 0; w < n; w++)
		printf("%s (%d lanes, %d chains): %.2f G FMA/s = %.2f GFLOP/s, best of %d runs\n",
			   widths[w].name, widths[w].lanes, CHAINS, best_rate[w], 2 * best_rate[w], RUNS);
	return 0;
}
