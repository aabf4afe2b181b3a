/*
 * simd.h - vector primitives of the dense engine: a blocked matrix
 * product, row and column helpers, and the optimizer update loops.  The
 * hottest ones are compiled several times for x86-64 levels and picked at
 * run time; every one has a portable default.
 */
#ifndef HANAMI_CORE_KERNELS_H
#define HANAMI_CORE_KERNELS_H

#include <stddef.h>

/*
 * C = init + L * R for an M x K matrix L, a K x N row-major matrix R (row
 * stride ldr) and an M x N row-major result C (row stride ldc).  L is read as
 * L[m * lsm + k * lsk], so the same kernel takes L or its transpose.  init is
 * bias[n] for every row when bias is set, else zero.
 */
void		SimdGemm(size_t M, size_t N, size_t K,
					 const float *L, size_t lsm, size_t lsk,
					 const float *R, size_t ldr,
					 float *C, size_t ldc, const float *bias);

/*
 * SimdGemm for an L with many zeros (scaled inputs): the rows of L in groups
 * of four (rows 0-3, 4-7, ... of this call), each summing only over the k
 * where one of its rows is nonzero, in the same order.  Identical to
 * SimdGemm on the same machine, as each term skipped is a zero product,
 * except where a partial sum is -0 (0 is added, giving +0) or R holds an
 * infinity or NaN against a zero of L.
 */
#define HANAMI_SKIP_GROUP_ROWS	4

void		SimdGemmSkip(size_t M, size_t N, size_t K,
						 const float *L, size_t lsm, size_t lsk,
						 const float *R, size_t ldr,
						 float *C, size_t ldc, const float *bias);

/*
 * y = init + x W for one row x of K values and a K x N row-major W (row
 * stride ldw); init is bias when set, else zero.  The same sums in the same
 * order as SimdGemm on one row (zero inputs are skipped), so results are
 * identical; faster for one row because the columns stay in registers.
 */
void		SimdGemv(size_t N, size_t K, const float *x, const float *W,
					 size_t ldw, float *y, const float *bias);

/* dst (cols x rows) = transpose of src (rows x cols), both row-major. */
void		SimdTranspose(const float *src, size_t rows, size_t cols, float *dst);

/* out[j] = sum over rows r of m[r * cols + j]. */
void		SimdColumnSums(const float *m, size_t rows, size_t cols, float *out);

/* v[i] *= s. */
void		SimdScale(float *v, size_t n, float s);

/* dst[r][i] = (src[r][i] - shift[i]) * mul[i] for rows x n values. */
void		SimdAffineRows(const float *src, size_t rows, size_t n,
						   const float *shift, const float *mul, float *dst);

/* v[i] = min(max(v[i], -clip), clip) for n values (clip > 0). */
void		SimdClip(float *v, size_t n, float clip);

/* v[r][i] = min(max(v[r][i], lo[i]), hi[i]) for rows x n values. */
void		SimdClampRows(float *v, size_t rows, size_t n, const float *lo,
						  const float *hi);

/* SGD with momentum: g' = g + wd w; m = mom m + g'; w -= lr m. */
void		SimdSgdUpdate(float *w, const float *g, float *m, size_t n,
						  float lr, float momentum, float wd);

/*
 * SimdSgdUpdate for the outer-product gradient of one row: g[r][j] =
 * a[r] * d[j] for a rows x cols block w (and its moments m), fused so the
 * gradient is never stored (batch size 1).
 */
void		SimdSgdOuterUpdate(float *w, float *m, size_t rows, size_t cols,
							   const float *a, const float *d, float lr,
							   float momentum, float wd);

/*
 * Adam: g' = g + wd w; m = b1 m + (1 - b1) g'; v = b2 v + (1 - b2) g'^2;
 * w -= step * m / (sqrt(v * vscale) + eps), where step and vscale carry the
 * bias corrections.
 */
void		SimdAdamUpdate(float *w, const float *g, float *m, float *v,
						   size_t n, float step, float b1, float b2,
						   float vscale, float eps, float wd);

/* SimdAdamUpdate for the outer-product gradient a[r] * d[j] (batch 1). */
void		SimdAdamOuterUpdate(float *w, float *m, float *v, size_t rows,
								size_t cols, const float *a, const float *d,
								float step, float b1, float b2, float vscale,
								float eps, float wd);

/* True when every one of n values is finite. */
int			SimdAllFinite(const float *v, size_t n);

/* Copy n floats that will not be read soon, without reading dst's lines. */
void		SimdCopyStream(float *dst, const float *src, size_t n);

#endif							/* HANAMI_CORE_KERNELS_H */
