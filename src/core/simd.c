/*
 * simd.c - vector primitives of the dense engine.
 *
 * Loops are written for the compiler to vectorize: contiguous inner loops,
 * restrict pointers and "omp simd" (-fopenmp-simd, no OpenMP runtime).  On
 * x86-64 with GCC the hottest kernels are built for the baseline, x86-64-v3
 * (AVX2, FMA) and x86-64-v4 (AVX-512) and the loader picks one per machine
 * (target_clones); nothing assumes the build machine's CPU.
 */
#include "core/simd.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__SSE2__)
#include <immintrin.h>
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
	!defined(HANAMI_NO_DISPATCH)
#define HANAMI_CLONES \
	__attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#define HANAMI_CLONES_ON
#else
#define HANAMI_CLONES
#endif

#if defined(__GNUC__)
#define HANAMI_INLINE		static inline __attribute__((always_inline))
#define HANAMI_UNROLL		_Pragma("GCC unroll 8")
#else
#define HANAMI_INLINE		static inline
#define HANAMI_UNROLL
#endif

/*
 * Register tile of the matrix product: HANAMI_TILE_MR rows of C by
 * HANAMI_TILE_NV vectors of HANAMI_TILE_W columns.  6 x 16 floats keeps the
 * accumulators in registers with AVX2 and AVX-512 alike (measured: 6 x 2 x 8
 * beats 6 x 1 x 16 on AVX2 and the default build, and is close on AVX-512).
 */
#define HANAMI_TILE_MR		6
#define HANAMI_TILE_NV		2
#define HANAMI_TILE_W		8
#define HANAMI_TILE_NR		(HANAMI_TILE_NV * HANAMI_TILE_W)
#define HANAMI_EDGE_KB		256			/* rows of R per padded edge panel */

/*
 * Optimizer moments smaller than this become zero.  Moments of parameters
 * whose gradient stays zero (inputs that are always 0) decay geometrically
 * into subnormal floats, which many CPUs handle through slow microcode; at
 * this size they no longer change any update.
 */
#define HANAMI_MOMENT_FLOOR	1e-30f

/*
 * One tile of C: rows x ncols (<= HANAMI_TILE_MR x HANAMI_TILE_NR; constants
 * after inlining for full tiles).  The accumulators start from init (row stride
 * ldi: 0 repeats a bias row, ldc continues a partial product) or zero.
 */
HANAMI_INLINE void
SimdGemmTile(const int rows, const size_t ncols, size_t K,
			 const float *restrict L, size_t lsm, size_t lsk,
			 const float *restrict R, size_t ldr, float *restrict C,
			 size_t ldc, const float *restrict init, size_t ldi)
{
	float		c[HANAMI_TILE_MR][HANAMI_TILE_NV][HANAMI_TILE_W];

	/* branches outside the loops: masked loads from NULL are slow */
	if (init != NULL && ncols == HANAMI_TILE_NR)
	{
		HANAMI_UNROLL
		for (int r = 0; r < rows; r++)
		{
			HANAMI_UNROLL
			for (int a = 0; a < HANAMI_TILE_NV; a++)
			{
#pragma omp simd
				for (int j = 0; j < HANAMI_TILE_W; j++)
					c[r][a][j] = init[r * ldi + a * HANAMI_TILE_W + j];
			}
		}
	}
	else
	{
		HANAMI_UNROLL
		for (int r = 0; r < rows; r++)
		{
			HANAMI_UNROLL
			for (int a = 0; a < HANAMI_TILE_NV; a++)
			{
#pragma omp simd
				for (int j = 0; j < HANAMI_TILE_W; j++)
					c[r][a][j] = 0.0f;
			}
		}
		if (init != NULL)
		{
			for (int r = 0; r < rows; r++)
				memcpy(c[r], init + r * ldi, ncols * sizeof(float));
		}
	}
	for (size_t k = 0; k < K; k++)
	{
		const float *restrict rp = R + k * ldr;
		const float *restrict lp = L + k * lsk;

		/* a single row (batch of one) skips zero inputs, common in data */
		if (rows == 1 && lp[0] == 0.0f)
			continue;
		HANAMI_UNROLL
		for (int r = 0; r < rows; r++)
		{
			float		l = lp[r * lsm];

			HANAMI_UNROLL
			for (int a = 0; a < HANAMI_TILE_NV; a++)
			{
#pragma omp simd
				for (int j = 0; j < HANAMI_TILE_W; j++)
					c[r][a][j] += l * rp[a * HANAMI_TILE_W + j];
			}
		}
	}
	if (ncols == HANAMI_TILE_NR)
	{
		HANAMI_UNROLL
		for (int r = 0; r < rows; r++)
		{
			HANAMI_UNROLL
			for (int a = 0; a < HANAMI_TILE_NV; a++)
			{
#pragma omp simd
				for (int j = 0; j < HANAMI_TILE_W; j++)
					C[r * ldc + a * HANAMI_TILE_W + j] = c[r][a][j];
			}
		}
	}
	else
	{
		for (int r = 0; r < rows; r++)
			memcpy(C + r * ldc, c[r], ncols * sizeof(float));
	}
}

/* One column panel of C (ncols wide): full row tiles, then the rest. */
HANAMI_INLINE void
SimdGemmPanel(size_t M, const size_t ncols, size_t K, const float *L,
			  size_t lsm, size_t lsk, const float *R, size_t ldr, float *C,
			  size_t ldc, const float *init, size_t ldi)
{
	size_t		m0;

	for (m0 = 0; m0 + HANAMI_TILE_MR <= M; m0 += HANAMI_TILE_MR)
		SimdGemmTile(HANAMI_TILE_MR, ncols, K, L + m0 * lsm, lsm, lsk, R, ldr,
					 C + m0 * ldc, ldc, init ? init + m0 * ldi : NULL, ldi);
	L += m0 * lsm;
	C += m0 * ldc;
	if (init != NULL)
		init += m0 * ldi;
	switch (M - m0)
	{
		case 5:
			SimdGemmTile(5, ncols, K, L, lsm, lsk, R, ldr, C, ldc, init, ldi);
			break;
		case 4:
			SimdGemmTile(4, ncols, K, L, lsm, lsk, R, ldr, C, ldc, init, ldi);
			break;
		case 3:
			SimdGemmTile(3, ncols, K, L, lsm, lsk, R, ldr, C, ldc, init, ldi);
			break;
		case 2:
			SimdGemmTile(2, ncols, K, L, lsm, lsk, R, ldr, C, ldc, init, ldi);
			break;
		case 1:
			SimdGemmTile(1, ncols, K, L, lsm, lsk, R, ldr, C, ldc, init, ldi);
			break;
		default:
			break;
	}
}

/* Blocked matrix product; see simd.h. */
HANAMI_CLONES void
SimdGemm(size_t M, size_t N, size_t K, const float *L, size_t lsm, size_t lsk,
		 const float *R, size_t ldr, float *C, size_t ldc, const float *bias)
{
	size_t		n0;

	for (n0 = 0; n0 + HANAMI_TILE_NR <= N; n0 += HANAMI_TILE_NR)
		SimdGemmPanel(M, HANAMI_TILE_NR, K, L, lsm, lsk, R + n0, ldr, C + n0, ldc,
					  bias ? bias + n0 : NULL, 0);
	if (n0 < N)
	{
		/*
		 * The last columns: copy slices of R into a zero-padded panel so the
		 * same full-width tiles run on it, carrying C between slices.
		 */
		float		pad[HANAMI_EDGE_KB][HANAMI_TILE_NR];
		size_t		nr = N - n0;

		for (size_t k0 = 0; k0 < K || k0 == 0; k0 += HANAMI_EDGE_KB)
		{
			size_t		kb = K - k0 < HANAMI_EDGE_KB ? K - k0 : HANAMI_EDGE_KB;

			for (size_t k = 0; k < kb; k++)
			{
				memcpy(pad[k], R + (k0 + k) * ldr + n0, nr * sizeof(float));
				memset(pad[k] + nr, 0, (HANAMI_TILE_NR - nr) * sizeof(float));
			}
			if (k0 == 0)
				SimdGemmPanel(M, nr, kb, L, lsm, lsk, &pad[0][0], HANAMI_TILE_NR,
							  C + n0, ldc, bias ? bias + n0 : NULL, 0);
			else
				SimdGemmPanel(M, nr, kb, L + k0 * lsk, lsm, lsk, &pad[0][0],
							  HANAMI_TILE_NR, C + n0, ldc, C + n0, ldc);
			if (K == 0)
				break;
		}
	}
}

/*
 * SimdGemmSkip: row groups of HANAMI_SKIP_MR rows of L, each with the list of
 * the k (at most HANAMI_SKIP_KB at a time) where one of its rows is nonzero;
 * the product runs over the listed k only, in increasing order.  Wide
 * vectors where the machine has them (GCC vector extensions, a clone per
 * x86-64 level), else SimdGemm's tiles.
 */
#define HANAMI_SKIP_MR		HANAMI_SKIP_GROUP_ROWS
#define HANAMI_SKIP_KB		2048

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
	!defined(HANAMI_NO_DISPATCH)
#define HANAMI_SKIP_WIDE	1

/* The k in [k0, k0 + kb) where one of rows L[0..rows) is nonzero, as k - k0. */
HANAMI_INLINE size_t
SimdSkipList(int rows, size_t k0, size_t kb, const float *restrict L,
			 size_t lsm, size_t lsk, uint16_t *restrict ks)
{
	size_t		n = 0;

	for (size_t k = 0; k < kb; k++)
	{
		const float *lp = L + (k0 + k) * lsk;
		int			nz = 0;

		for (int r = 0; r < rows; r++)
			nz |= lp[r * lsm] != 0.0f;
		ks[n] = (uint16_t) k;
		n += nz;
	}
	return n;
}

/*
 * One group of rows (<= HANAMI_SKIP_MR) of SimdGemmSkip with vectors of type
 * VT (VW floats), NV of them per column block; columns past the last full
 * block in plain loops.  The accumulators start from bias (or zero) at
 * k0 = 0 and from C after that, so slices of k give the same sums.
 */
#define HANAMI_SKIP_GROUP(NAME, VT, VW, NV) \
HANAMI_INLINE void \
NAME(const int rows, size_t N, size_t k0, size_t kb, uint16_t *ks, \
	 const float *restrict L, size_t lsm, size_t lsk, \
	 const float *restrict R, size_t ldr, float *restrict C, size_t ldc, \
	 const float *restrict bias) \
{ \
	size_t		nk = SimdSkipList(rows, k0, kb, L, lsm, lsk, ks); \
	size_t		n0; \
 \
	for (n0 = 0; n0 + (NV) * (VW) <= N; n0 += (NV) * (VW)) \
	{ \
		VT			c[HANAMI_SKIP_MR][NV]; \
 \
		HANAMI_UNROLL \
		for (int r = 0; r < rows; r++) \
		{ \
			HANAMI_UNROLL \
			for (int v = 0; v < (NV); v++) \
			{ \
				if (k0 > 0) \
					memcpy(&c[r][v], C + r * ldc + n0 + v * (VW), sizeof(VT)); \
				else if (bias != NULL) \
					memcpy(&c[r][v], bias + n0 + v * (VW), sizeof(VT)); \
				else \
					c[r][v] = (VT) {0}; \
			} \
		} \
		for (size_t t = 0; t < nk; t++) \
		{ \
			size_t		k = k0 + ks[t]; \
			const float *restrict rp = R + k * ldr + n0; \
			VT			w[NV]; \
 \
			HANAMI_UNROLL \
			for (int v = 0; v < (NV); v++) \
				memcpy(&w[v], rp + v * (VW), sizeof(VT)); \
			HANAMI_UNROLL \
			for (int r = 0; r < rows; r++) \
			{ \
				float		l = L[r * lsm + k * lsk]; \
 \
				HANAMI_UNROLL \
				for (int v = 0; v < (NV); v++) \
					c[r][v] += l * w[v]; \
			} \
		} \
		HANAMI_UNROLL \
		for (int r = 0; r < rows; r++) \
		{ \
			HANAMI_UNROLL \
			for (int v = 0; v < (NV); v++) \
				memcpy(C + r * ldc + n0 + v * (VW), &c[r][v], sizeof(VT)); \
		} \
	} \
	for (int r = 0; r < rows && n0 < N; r++) \
	{ \
		float	   *restrict cr = C + r * ldc; \
 \
		for (size_t j = n0; j < N; j++) \
		{ \
			float		acc = k0 > 0 ? cr[j] : bias != NULL ? bias[j] : 0.0f; \
 \
			for (size_t t = 0; t < nk; t++) \
			{ \
				size_t		k = k0 + ks[t]; \
 \
				acc += L[r * lsm + k * lsk] * R[k * ldr + j]; \
			} \
			cr[j] = acc; \
		} \
	} \
}

typedef float SimdV16 __attribute__((vector_size(64), aligned(4)));
typedef float SimdV8 __attribute__((vector_size(32), aligned(4)));

HANAMI_SKIP_GROUP(SimdSkipGroup16, SimdV16, 16, 4)
HANAMI_SKIP_GROUP(SimdSkipGroup8, SimdV8, 8, 2)

/* The rows of one group, by their number (constant after inlining). */
#define HANAMI_SKIP_ROWS(GROUP, rows, ...) \
	switch (rows) \
	{ \
		case 4: GROUP(4, __VA_ARGS__); break; \
		case 3: GROUP(3, __VA_ARGS__); break; \
		case 2: GROUP(2, __VA_ARGS__); break; \
		default: GROUP(1, __VA_ARGS__); break; \
	}

/* SimdGemmSkip with the vectors of one x86-64 level (GROUP: its groups). */
#define HANAMI_SKIP_GEMM(NAME, ARCH, GROUP) \
__attribute__((target(ARCH))) static void \
NAME(size_t M, size_t N, size_t K, const float *L, size_t lsm, size_t lsk, \
	 const float *R, size_t ldr, float *C, size_t ldc, const float *bias) \
{ \
	uint16_t	ks[HANAMI_SKIP_KB]; \
 \
	for (size_t m0 = 0; m0 < M; m0 += HANAMI_SKIP_MR) \
	{ \
		int			rows = M - m0 < HANAMI_SKIP_MR ? (int) (M - m0) : HANAMI_SKIP_MR; \
		const float *lm = L + m0 * lsm; \
		float	   *cm = C + m0 * ldc; \
 \
		for (size_t k0 = 0; k0 < K || k0 == 0; k0 += HANAMI_SKIP_KB) \
		{ \
			size_t		kb = K - k0 < HANAMI_SKIP_KB ? K - k0 : HANAMI_SKIP_KB; \
			HANAMI_SKIP_ROWS(GROUP, rows, N, k0, kb, ks, lm, lsm, lsk, R, ldr, \
							 cm, ldc, bias); \
			if (K == 0) \
				break; \
		} \
	} \
}

HANAMI_SKIP_GEMM(SimdGemmSkipV4, "arch=x86-64-v4", SimdSkipGroup16)
HANAMI_SKIP_GEMM(SimdGemmSkipV3, "arch=x86-64-v3", SimdSkipGroup8)
#endif

/* Product skipping zero inputs by groups of rows; see simd.h. */
void
SimdGemmSkip(size_t M, size_t N, size_t K, const float *L, size_t lsm,
			 size_t lsk, const float *R, size_t ldr, float *C, size_t ldc,
			 const float *bias)
{
#ifdef HANAMI_SKIP_WIDE
	if (__builtin_cpu_supports("x86-64-v4"))
	{
		SimdGemmSkipV4(M, N, K, L, lsm, lsk, R, ldr, C, ldc, bias);
		return;
	}
	if (__builtin_cpu_supports("x86-64-v3"))
	{
		SimdGemmSkipV3(M, N, K, L, lsm, lsk, R, ldr, C, ldc, bias);
		return;
	}
#endif
	SimdGemm(M, N, K, L, lsm, lsk, R, ldr, C, ldc, bias);
}

/*
 * One block of nb <= HANAMI_GEMV_NV * vw columns of SimdGemv, vw floats per
 * vector.  nb and vw are constants after inlining for full blocks, so the
 * accumulators live in registers.  Every column sums the same terms in the
 * same order (its bias, then the nonzero inputs in order) whatever the
 * block width, so the width changes no bit of the result.
 */
#define HANAMI_GEMV_NV		8
#define HANAMI_GEMV_WMAX	16
#define HANAMI_GEMV_KB		256			/* inputs per block of nonzero indices */

HANAMI_INLINE void
SimdGemvBlock(const size_t nb, const int vw, size_t K,
			  const float *restrict x, const float *restrict W, size_t ldw,
			  float *restrict y, const float *restrict bias)
{
	float		c[HANAMI_GEMV_NV][HANAMI_GEMV_WMAX];

	if (nb == (size_t) (HANAMI_GEMV_NV * vw))
	{
		HANAMI_UNROLL
		for (int a = 0; a < HANAMI_GEMV_NV; a++)
		{
#pragma omp simd
			for (int j = 0; j < vw; j++)
				c[a][j] = bias ? bias[a * vw + j] : 0.0f;
		}
		for (size_t k0 = 0; k0 < K; k0 += HANAMI_GEMV_KB)
		{
			size_t		kb = K - k0 < HANAMI_GEMV_KB ? K - k0 : HANAMI_GEMV_KB;
			uint16_t	nz[HANAMI_GEMV_KB];
			size_t		nnz = 0;

			/* the nonzero inputs of the block, without branches */
			for (size_t k = 0; k < kb; k++)
			{
				nz[nnz] = (uint16_t) k;
				nnz += x[k0 + k] != 0.0f;
			}
			for (size_t t = 0; t < nnz; t++)
			{
				size_t		k = k0 + nz[t];
				const float *restrict w = W + k * ldw;
				float		l = x[k];

				HANAMI_UNROLL
				for (int a = 0; a < HANAMI_GEMV_NV; a++)
				{
#pragma omp simd
					for (int j = 0; j < vw; j++)
						c[a][j] += l * w[a * vw + j];
				}
			}
		}
		HANAMI_UNROLL
		for (int a = 0; a < HANAMI_GEMV_NV; a++)
		{
#pragma omp simd
			for (int j = 0; j < vw; j++)
				y[a * vw + j] = c[a][j];
		}
	}
	else
	{
		float	   *cf = &c[0][0];

		for (size_t j = 0; j < nb; j++)
			cf[j] = bias ? bias[j] : 0.0f;
		for (size_t k = 0; k < K; k++)
		{
			const float *restrict w = W + k * ldw;
			float		l = x[k];

			if (l == 0.0f)
				continue;
#pragma omp simd
			for (size_t j = 0; j < nb; j++)
				cf[j] += l * w[j];
		}
		memcpy(y, cf, nb * sizeof(float));
	}
}

/* Blocks of nv-float vectors over the N columns. */
HANAMI_INLINE void
SimdGemvWidth(const int vw, size_t N, size_t K, const float *x,
			  const float *W, size_t ldw, float *y, const float *bias)
{
	const size_t nb = (size_t) (HANAMI_GEMV_NV * vw);
	size_t		n0;

	for (n0 = 0; n0 + nb <= N; n0 += nb)
		SimdGemvBlock(nb, vw, K, x, W + n0, ldw, y + n0,
					  bias ? bias + n0 : NULL);
	if (n0 < N)
		SimdGemvBlock(N - n0, vw, K, x, W + n0, ldw, y + n0,
					  bias ? bias + n0 : NULL);
}

/*
 * One row times a matrix; see simd.h.  With AVX-512 a block is 8 vectors of
 * 16 floats (128 columns: a 784-128 layer reads each input's weights once,
 * about twice as fast as two blocks of 8 x 8), otherwise 8 x 8.
 */
HANAMI_CLONES void
SimdGemv(size_t N, size_t K, const float *x, const float *W, size_t ldw,
		 float *y, const float *bias)
{
#if defined(HANAMI_CLONES_ON)
	if (__builtin_cpu_supports("avx512f"))
	{
		SimdGemvWidth(16, N, K, x, W, ldw, y, bias);
		return;
	}
#endif
	SimdGemvWidth(8, N, K, x, W, ldw, y, bias);
}

/* Transpose in 16 x 16 blocks so both sides stay in cache. */
void
SimdTranspose(const float *restrict src, size_t rows, size_t cols,
			  float *restrict dst)
{
	const size_t b = 16;

	for (size_t r0 = 0; r0 < rows; r0 += b)
	{
		size_t		r1 = r0 + b < rows ? r0 + b : rows;

		for (size_t c0 = 0; c0 < cols; c0 += b)
		{
			size_t		c1 = c0 + b < cols ? c0 + b : cols;

			for (size_t r = r0; r < r1; r++)
				for (size_t c = c0; c < c1; c++)
					dst[c * rows + r] = src[r * cols + c];
		}
	}
}

/* Sum each column over the rows (bias gradients). */
void
SimdColumnSums(const float *restrict m, size_t rows, size_t cols,
			   float *restrict out)
{
	memset(out, 0, cols * sizeof(float));
	for (size_t r = 0; r < rows; r++)
	{
		const float *restrict row = m + r * cols;

#pragma omp simd
		for (size_t j = 0; j < cols; j++)
			out[j] += row[j];
	}
}

/* Scale n values in place. */
void
SimdScale(float *restrict v, size_t n, float s)
{
#pragma omp simd
	for (size_t i = 0; i < n; i++)
		v[i] *= s;
}

/* Shift and scale every row (input scaling). */
void
SimdAffineRows(const float *restrict src, size_t rows, size_t n,
			   const float *restrict shift, const float *restrict mul,
			   float *restrict dst)
{
	for (size_t r = 0; r < rows; r++)
	{
		const float *restrict s = src + r * n;
		float	   *restrict d = dst + r * n;

#pragma omp simd
		for (size_t i = 0; i < n; i++)
			d[i] = (s[i] - shift[i]) * mul[i];
	}
}

/* Clip n values to [-clip, clip]. */
void
SimdClip(float *restrict v, size_t n, float clip)
{
#pragma omp simd
	for (size_t i = 0; i < n; i++)
	{
		float		x = v[i] < -clip ? -clip : v[i];

		v[i] = x > clip ? clip : x;
	}
}

/* Clamp every row to per-value bounds. */
void
SimdClampRows(float *restrict v, size_t rows, size_t n,
			  const float *restrict lo, const float *restrict hi)
{
	for (size_t r = 0; r < rows; r++)
	{
		float	   *restrict d = v + r * n;

#pragma omp simd
		for (size_t i = 0; i < n; i++)
		{
			float		x = d[i] < lo[i] ? lo[i] : d[i];

			d[i] = x > hi[i] ? hi[i] : x;
		}
	}
}

/* SGD with momentum over n parameters. */
HANAMI_CLONES void
SimdSgdUpdate(float *restrict w, const float *restrict g, float *restrict m,
			  size_t n, float lr, float momentum, float wd)
{
#pragma omp simd
	for (size_t i = 0; i < n; i++)
	{
		float		gi = g[i] + wd * w[i];
		float		mi = momentum * m[i] + gi;

		mi = fabsf(mi) >= HANAMI_MOMENT_FLOOR ? mi : 0.0f;	/* see Adam */

		m[i] = mi;
		w[i] -= lr * mi;
	}
}

/* SGD with momentum on an outer-product gradient (batch of one). */
HANAMI_CLONES void
SimdSgdOuterUpdate(float *restrict w, float *restrict m, size_t rows,
				   size_t cols, const float *restrict a,
				   const float *restrict d, float lr, float momentum,
				   float wd)
{
	for (size_t r = 0; r < rows; r++)
	{
		float		ar = a[r];
		float	   *restrict wr = w + r * cols;
		float	   *restrict mr = m + r * cols;

#pragma omp simd
		for (size_t j = 0; j < cols; j++)
		{
			float		gi = ar * d[j] + wd * wr[j];
			float		mi = momentum * mr[j] + gi;

			mi = fabsf(mi) >= HANAMI_MOMENT_FLOOR ? mi : 0.0f;
			mr[j] = mi;
			wr[j] -= lr * mi;
		}
	}
}

/*
 * sqrt(x) for x >= 0 in plain arithmetic: a bit-level first guess of
 * 1/sqrt(x) refined by three Newton steps (relative error about 1e-7).  The
 * libm call would keep the Adam loop scalar wherever math functions must set
 * errno, which is the default.
 */
HANAMI_INLINE float
SimdSqrt(float x)
{
	float		xs = x + 1e-30f;	/* never 0, exact for x >= 1e-22 */
	float		y;
	uint32_t	u;

	memcpy(&u, &xs, sizeof(u));
	u = UINT32_C(0x5f375a86) - (u >> 1);
	memcpy(&y, &u, sizeof(y));
	y = y * (1.5f - 0.5f * xs * y * y);
	y = y * (1.5f - 0.5f * xs * y * y);
	y = y * (1.5f - 0.5f * xs * y * y);
	return x * y;
}

/* Adam over n parameters; step and vscale hold the bias corrections. */
HANAMI_CLONES void
SimdAdamUpdate(float *restrict w, const float *restrict g, float *restrict m,
			   float *restrict v, size_t n, float step, float b1, float b2,
			   float vscale, float eps, float wd)
{
	float		c1 = 1.0f - b1;
	float		c2 = 1.0f - b2;

#pragma omp simd
	for (size_t i = 0; i < n; i++)
	{
		float		gi = g[i] + wd * w[i];
		float		mi = b1 * m[i] + c1 * gi;
		float		vi = b2 * v[i] + c2 * gi * gi;

		/* flush decaying moments before they turn subnormal (slow) */
		mi = fabsf(mi) >= HANAMI_MOMENT_FLOOR ? mi : 0.0f;
		vi = vi >= HANAMI_MOMENT_FLOOR ? vi : 0.0f;
		m[i] = mi;
		v[i] = vi;
		w[i] -= step * mi / (SimdSqrt(vi * vscale) + eps);
	}
}

/* Adam on an outer-product gradient (batch of one). */
HANAMI_CLONES void
SimdAdamOuterUpdate(float *restrict w, float *restrict m, float *restrict v,
					size_t rows, size_t cols, const float *restrict a,
					const float *restrict d, float step, float b1, float b2,
					float vscale, float eps, float wd)
{
	float		c1 = 1.0f - b1;
	float		c2 = 1.0f - b2;

	for (size_t r = 0; r < rows; r++)
	{
		float		ar = a[r];
		float	   *restrict wr = w + r * cols;
		float	   *restrict mr = m + r * cols;
		float	   *restrict vr = v + r * cols;

#pragma omp simd
		for (size_t j = 0; j < cols; j++)
		{
			float		gi = ar * d[j] + wd * wr[j];
			float		mi = b1 * mr[j] + c1 * gi;
			float		vi = b2 * vr[j] + c2 * gi * gi;

			mi = fabsf(mi) >= HANAMI_MOMENT_FLOOR ? mi : 0.0f;
			vi = vi >= HANAMI_MOMENT_FLOOR ? vi : 0.0f;
			mr[j] = mi;
			vr[j] = vi;
			wr[j] -= step * mi / (SimdSqrt(vi * vscale) + eps);
		}
	}
}

/*
 * Copy n floats to memory that will not be read soon (a large array filled
 * once): on x86-64 with streaming stores, which skip reading the
 * destination's cache lines before writing them, then a store fence so the
 * data is visible to whoever synchronizes with the caller next.
 */
void
SimdCopyStream(float *restrict dst, const float *restrict src, size_t n)
{
#if defined(__x86_64__) && defined(__SSE2__)
	size_t		i = 0;

	while (i < n && ((uintptr_t) (dst + i) & 15) != 0)
	{
		dst[i] = src[i];
		i++;
	}
	for (; i + 4 <= n; i += 4)
		_mm_stream_ps(dst + i, _mm_loadu_ps(src + i));
	for (; i < n; i++)
		dst[i] = src[i];
	_mm_sfence();
#else
	memcpy(dst, src, n * sizeof(float));
#endif
}

/* True when no value is NaN or infinite. */
int
SimdAllFinite(const float *restrict v, size_t n)
{
	int			bad = 0;

#pragma omp simd reduction(|:bad)
	for (size_t i = 0; i < n; i++)
		bad |= !(fabsf(v[i]) <= FLT_MAX);
	return !bad;
}
