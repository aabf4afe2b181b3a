/*
 * dense.cl - kernels of the dense path: matrix products with bias, column
 * sums, row gathers with input scaling, per-row loss and output gradient,
 * output scaling, argmax and a finiteness check.
 *
 * CPU twins: KernGemm, KernColumnSums, KernAffineRows and KernClip
 * (src/core/kernels.c), DenseForward and DenseBackward (src/core/dense.c),
 * LossValue and LossGradient (src/core/loss.c), HanamiArgmax (src/pg/run.c).
 * Matrices are row-major float32 at an offset (in floats) into a buffer; a
 * matrix operand is read through a row stride and a column stride, so the
 * same kernel multiplies by a matrix or by its transpose.
 */

/*
 * C[m][n] = sum_k A[m][k] B[k][n] (+ bias[n]) for an M x K operand A read as
 * A[a_off + m * a_rs + k * a_cs], a K x N operand B read as
 * B[b_off + k * b_rs + n * b_cs], into C[c_off + m * ldc + n].
 *
 * The large-tile version: 64 x 64 tiles of C, 16 x 16 work-items, each
 * computing a 4 x 4 block held in registers; operand tiles 16 deep go
 * through local memory, loaded along whichever stride is contiguous.
 */
#define HN_TM	64
#define HN_TN	64
#define HN_TK	16

__kernel __attribute__((reqd_work_group_size(16, 16, 1))) void
hn_gemm64(const int M, const int N, const int K,
		  __global const float *A, const int a_off, const int a_rs, const int a_cs,
		  __global const float *B, const int b_off, const int b_rs, const int b_cs,
		  __global float *C, const int c_off, const int ldc,
		  __global const float *bias, const int bias_off, const int use_bias)
{
	__local float As[HN_TK][HN_TM + 1];	/* As[k][m] */
	__local float Bs[HN_TK][HN_TN + 1];	/* Bs[k][n] */
	const int	tx = get_local_id(0);
	const int	ty = get_local_id(1);
	const int	tid = ty * 16 + tx;
	const int	m0 = get_group_id(1) * HN_TM;
	const int	n0 = get_group_id(0) * HN_TN;
	float		acc[4][4];

	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			acc[i][j] = 0.0f;

	for (int k0 = 0; k0 < K; k0 += HN_TK)
	{
		for (int p = 0; p < 4; p++)
		{
			int			e = tid + p * 256;
			int			mm;
			int			kk;
			int			gm;
			int			gk;

			if (a_cs == 1)
			{
				kk = e & (HN_TK - 1);
				mm = e >> 4;
			}
			else
			{
				mm = e & (HN_TM - 1);
				kk = e >> 6;
			}
			gm = m0 + mm;
			gk = k0 + kk;
			As[kk][mm] = (gm < M && gk < K) ? A[a_off + gm * a_rs + gk * a_cs] : 0.0f;
		}
		for (int p = 0; p < 4; p++)
		{
			int			e = tid + p * 256;
			int			nn;
			int			kk;
			int			gn;
			int			gk;

			if (b_cs == 1)
			{
				nn = e & (HN_TN - 1);
				kk = e >> 6;
			}
			else
			{
				kk = e & (HN_TK - 1);
				nn = e >> 4;
			}
			gn = n0 + nn;
			gk = k0 + kk;
			Bs[kk][nn] = (gk < K && gn < N) ? B[b_off + gk * b_rs + gn * b_cs] : 0.0f;
		}
		barrier(CLK_LOCAL_MEM_FENCE);
		for (int k = 0; k < HN_TK; k++)
		{
			float		a[4];
			float		b[4];

			for (int i = 0; i < 4; i++)
				a[i] = As[k][ty + 16 * i];
			for (int j = 0; j < 4; j++)
				b[j] = Bs[k][tx + 16 * j];
			for (int i = 0; i < 4; i++)
				for (int j = 0; j < 4; j++)
					acc[i][j] += a[i] * b[j];
		}
		barrier(CLK_LOCAL_MEM_FENCE);
	}

	for (int i = 0; i < 4; i++)
	{
		int			m = m0 + ty + 16 * i;

		if (m >= M)
			continue;
		for (int j = 0; j < 4; j++)
		{
			int			n = n0 + tx + 16 * j;

			if (n < N)
				C[c_off + m * ldc + n] = use_bias ?
					acc[i][j] + bias[bias_off + n] : acc[i][j];
		}
	}
}

/* The same product with 16 x 16 tiles, one value of C per work-item. */
__kernel __attribute__((reqd_work_group_size(16, 16, 1))) void
hn_gemm16(const int M, const int N, const int K,
		  __global const float *A, const int a_off, const int a_rs, const int a_cs,
		  __global const float *B, const int b_off, const int b_rs, const int b_cs,
		  __global float *C, const int c_off, const int ldc,
		  __global const float *bias, const int bias_off, const int use_bias)
{
	__local float As[16][17];	/* As[m][k] */
	__local float Bs[16][17];	/* Bs[k][n] */
	const int	tx = get_local_id(0);
	const int	ty = get_local_id(1);
	const int	m = get_group_id(1) * 16 + ty;
	const int	n = get_group_id(0) * 16 + tx;
	float		acc = 0.0f;

	for (int k0 = 0; k0 < K; k0 += 16)
	{
		int			ka = k0 + tx;
		int			kb = k0 + ty;

		As[ty][tx] = (m < M && ka < K) ? A[a_off + m * a_rs + ka * a_cs] : 0.0f;
		Bs[ty][tx] = (kb < K && n < N) ? B[b_off + kb * b_rs + n * b_cs] : 0.0f;
		barrier(CLK_LOCAL_MEM_FENCE);
		for (int k = 0; k < 16; k++)
			acc += As[ty][k] * Bs[k][tx];
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	if (m < M && n < N)
		C[c_off + m * ldc + n] = use_bias ? acc + bias[bias_off + n] : acc;
}

/*
 * The same product for CPU devices (PoCL): explicit 16-wide vectors, one
 * 4 x 16 block of C per work-item in registers, work-groups of one, no
 * local memory; accumulators start from the bias like KernGemm's.  B must
 * have contiguous rows (b_cs == 1): multiply by a transpose through
 * hn_transpose first.
 */
__kernel void
hn_gemm_vec(const int M, const int N, const int K,
			__global const float *A, const int a_off, const int a_rs, const int a_cs,
			__global const float *B, const int b_off, const int b_rs, const int b_cs,
			__global float *C, const int c_off, const int ldc,
			__global const float *bias, const int bias_off, const int use_bias)
{
	const int	n0 = get_global_id(0) * 16;
	const int	m0 = get_global_id(1) * 4;
	int			rows;
	__global const float *a0;
	__global const float *a1;
	__global const float *a2;
	__global const float *a3;

	if (n0 >= N || m0 >= M)
		return;
	rows = min(4, M - m0);
	/* rows past M read row m0 again and are not stored */
	a0 = A + a_off + m0 * a_rs;
	a1 = A + a_off + (rows > 1 ? m0 + 1 : m0) * a_rs;
	a2 = A + a_off + (rows > 2 ? m0 + 2 : m0) * a_rs;
	a3 = A + a_off + (rows > 3 ? m0 + 3 : m0) * a_rs;
	if (n0 + 16 <= N)
	{
		float16		init = use_bias ? vload16(0, bias + bias_off + n0) : (float16) (0.0f);
		float16		c0 = init;
		float16		c1 = init;
		float16		c2 = init;
		float16		c3 = init;

		for (int k = 0; k < K; k++)
		{
			float16		b = vload16(0, B + b_off + k * b_rs + n0);
			int			ka = k * a_cs;

			c0 += a0[ka] * b;
			c1 += a1[ka] * b;
			c2 += a2[ka] * b;
			c3 += a3[ka] * b;
		}
		vstore16(c0, 0, C + c_off + m0 * ldc + n0);
		if (rows > 1)
			vstore16(c1, 0, C + c_off + (m0 + 1) * ldc + n0);
		if (rows > 2)
			vstore16(c2, 0, C + c_off + (m0 + 2) * ldc + n0);
		if (rows > 3)
			vstore16(c3, 0, C + c_off + (m0 + 3) * ldc + n0);
		return;
	}
	/* the last, narrower columns */
	for (int n = n0; n < N; n++)
	{
		float		init = use_bias ? bias[bias_off + n] : 0.0f;
		float		c0 = init;
		float		c1 = init;
		float		c2 = init;
		float		c3 = init;

		for (int k = 0; k < K; k++)
		{
			float		b = B[b_off + k * b_rs + n];
			int			ka = k * a_cs;

			c0 += a0[ka] * b;
			c1 += a1[ka] * b;
			c2 += a2[ka] * b;
			c3 += a3[ka] * b;
		}
		C[c_off + m0 * ldc + n] = c0;
		if (rows > 1)
			C[c_off + (m0 + 1) * ldc + n] = c1;
		if (rows > 2)
			C[c_off + (m0 + 2) * ldc + n] = c2;
		if (rows > 3)
			C[c_off + (m0 + 3) * ldc + n] = c3;
	}
}

/* dst (cols x rows) = transpose of src[src_off ..] (rows x cols). */
__kernel void
hn_transpose(__global const float *src, const int src_off, const int rows,
			 const int cols, __global float *dst)
{
	int			i = get_global_id(0);
	int			r;
	int			c;

	if (i >= rows * cols)
		return;
	r = i / cols;
	c = i - r * cols;
	dst[c * rows + r] = src[src_off + i];
}

/* out[out_off + j] = sum over rows r of g[r * cols + j]. */
__kernel void
hn_colsum(__global const float *g, const int rows, const int cols,
		  __global float *out, const int out_off)
{
	int			j = get_global_id(0);
	float		s = 0.0f;

	if (j >= cols)
		return;
	for (int r = 0; r < rows; r++)
		s += g[(size_t) r * cols + j];
	out[out_off + j] = s;
}

/*
 * Rows idx[idx_off + k] (k < count) of the n_in-wide matrix x, scaled:
 * xb[k][j] = (x[row][j] - shift[j]) * mul[j], clipped to [-clip, clip] when
 * clip > 0.  With no idx (use_idx 0) the rows are 0..count-1.
 */
__kernel void
hn_gather_input(__global const float *x, __global const uint *idx,
				const int idx_off, const int use_idx, const int count,
				const int n_in, __global const float *shift,
				__global const float *mul, const float clip,
				__global float *xb)
{
	int			i = get_global_id(0);
	int			k;
	int			j;
	ulong		row;
	float		v;

	if (i >= count * n_in)
		return;
	k = i / n_in;
	j = i - k * n_in;
	row = use_idx ? (ulong) idx[idx_off + k] : (ulong) k;
	v = (x[row * (ulong) n_in + j] - shift[j]) * mul[j];
	if (clip > 0.0f)
	{
		v = v < -clip ? -clip : v;
		v = v > clip ? clip : v;
	}
	xb[i] = v;
}

/* Rows idx[idx_off + k] of the width-wide matrix t, unchanged. */
__kernel void
hn_gather_rows(__global const float *t, __global const uint *idx,
			   const int idx_off, const int count, const int width,
			   __global float *tb)
{
	int			i = get_global_id(0);
	int			k;
	int			j;

	if (i >= count * width)
		return;
	k = i / width;
	j = i - k * width;
	tb[i] = t[(ulong) idx[idx_off + k] * (ulong) width + j];
}

/*
 * Per row r < rows of the output layer (n_out units, activation out_act,
 * pre-activations z, outputs y, targets t): its loss into
 * row_loss[loss_off + r] and, when want_grad, dL/dz of the mean loss over
 * the batch (times inv_n) into g.  CPU twins: LossValue, LossGradient, and
 * DenseBackward's scaling by 1/n.
 */
__kernel void
hn_loss_rows(const int loss, const int out_act,
			 __global const float *z, __global const float *y,
			 __global const float *t, __global float *g,
			 __global float *row_loss, const int loss_off,
			 const int rows, const int n_out, const float inv_n,
			 const int want_grad)
{
	int			r = get_global_id(0);
	size_t		base;
	float		sum = 0.0f;

	if (r >= rows)
		return;
	base = (size_t) r * n_out;

	/* the loss */
	if (loss == HN_LOSS_CROSS_ENTROPY && out_act == HN_ACT_SOFTMAX)
	{
		for (int i = 0; i < n_out; i++)
		{
			float		ti = t[base + i];

			if (ti != 0.0f)
				sum -= ti * log(fmax(y[base + i], HN_LOG_EPS));
		}
	}
	else if (loss == HN_LOSS_CROSS_ENTROPY)
	{
		for (int i = 0; i < n_out; i++)
		{
			float		yi = y[base + i];
			float		ti = t[base + i];

			sum -= ti * log(fmax(yi, HN_LOG_EPS)) +
				(1.0f - ti) * log(fmax(1.0f - yi, HN_LOG_EPS));
		}
	}
	else
	{
		for (int i = 0; i < n_out; i++)
		{
			float		d = y[base + i] - t[base + i];

			sum += d * d;
		}
		sum /= (float) n_out;
	}
	row_loss[loss_off + r] = sum;
	if (!want_grad)
		return;

	/* dL/dz */
	if (loss == HN_LOSS_CROSS_ENTROPY &&
		(out_act == HN_ACT_SOFTMAX || out_act == HN_ACT_SIGMOID))
	{
		for (int i = 0; i < n_out; i++)
			g[base + i] = (y[base + i] - t[base + i]) * inv_n;
		return;
	}
	if (loss == HN_LOSS_CROSS_ENTROPY)
	{
		for (int i = 0; i < n_out; i++)
		{
			float		p = clamp(y[base + i], HN_LOG_EPS, 1.0f - 6e-8f);

			g[base + i] = (p - t[base + i]) / (p * (1.0f - p));
		}
	}
	else
	{
		float		scale = 2.0f / (float) n_out;

		for (int i = 0; i < n_out; i++)
			g[base + i] = scale * (y[base + i] - t[base + i]);
	}
	if (out_act == HN_ACT_SOFTMAX)
	{
		float		s = 0.0f;

		for (int i = 0; i < n_out; i++)
			s += g[base + i] * y[base + i];
		for (int i = 0; i < n_out; i++)
			g[base + i] = y[base + i] * (g[base + i] - s) * inv_n;
	}
	else
	{
		for (int i = 0; i < n_out; i++)
			g[base + i] = hn_act_grad(out_act, z[base + i], y[base + i],
									  g[base + i]) * inv_n;
	}
}

/* out = y * mul + shift per output: network space to the target's units. */
__kernel void
hn_output_scale(__global const float *y, const int rows, const int n_out,
				__global const float *shift, __global const float *mul,
				__global float *out)
{
	int			i = get_global_id(0);
	int			j;

	if (i >= rows * n_out)
		return;
	j = i % n_out;
	out[i] = y[i] * mul[j] + shift[j];
}

/*
 * Class of each row: index of the largest output; one output: y >= 0.5.
 * A row with an output that is NaN or infinite gets -1, which the host
 * reports as an error instead of a class.
 */
__kernel void
hn_argmax_rows(__global const float *y, const int rows, const int n_out,
			   __global int *cls)
{
	int			r = get_global_id(0);
	__global const float *yr;
	int			best = 0;
	int			bad;

	if (r >= rows)
		return;
	yr = y + (size_t) r * n_out;
	bad = !isfinite(yr[0]);
	for (int j = 1; j < n_out; j++)
	{
		bad |= !isfinite(yr[j]);
		if (yr[j] > yr[best])
			best = j;
	}
	if (bad)
		cls[r] = -1;
	else if (n_out == 1)
		cls[r] = yr[0] >= 0.5f ? 1 : 0;
	else
		cls[r] = best;
}

/* flag[0] = 1 when any of n values is NaN or infinite. */
__kernel void
hn_check_finite(__global const float *v, const int n, __global int *flag)
{
	int			stride = get_global_size(0);
	int			bad = 0;

	for (int i = get_global_id(0); i < n; i += stride)
		bad |= !isfinite(v[i]);
	if (bad)
		flag[0] = 1;
}
