/*
 * compact.cl - the forward product of a dense layer whose weights are stored
 * in a compact dtype (src/core/dense/dtype.h), read as stored: the device
 * holds the network's parameter area byte for byte, so a layer's weights are
 * bytes at w_off and its float biases at bias_off (in floats) of the same
 * buffer.
 *
 * CPU twins: DensePow2Gemm (src/core/dense/dtype.c) for pow2, which this
 * matches bit for bit (products are exact, sums run over k in order from
 * zero, then the bias is added); DenseDequantize followed by the float
 * product (src/core/dense/forward.c) for f16 and u8, which sums in another
 * order.
 */

/* dtype codes of DenseDtype */
#define HN_DT_POW2	1
#define HN_DT_F16	2
#define HN_DT_U8	3

/*
 * x * 2^sh, exactly as the CPU forms it: the exponent added to x's float
 * bits when x and the result are normal, else ldexp (subnormal or infinite
 * results, subnormal, infinite or NaN inputs).
 */
inline float
hn_pow2_apply(const float x, const int sh)
{
	const uint	xb = as_uint(x);
	const int	ex = (int) ((xb >> 23) & 0xff);

	if (ex >= 1 && ex <= 254 && ex + sh >= 1 && ex + sh <= 254)
		return as_float(xb + ((uint) sh << 23));
	return ldexp(x, sh);
}

/* The sum over k of X[m][k] w[k][n], from zero in order of k. */
inline float
hn_compact_dot(const int N, const int K, __global const float *x,
			   __global const uchar *w, const int n, const int dtype,
			   const int q_zero, const float q_scale)
{
	float		acc = 0.0f;

	if (dtype == HN_DT_POW2)
	{
		for (int k = 0; k < K; k++)
		{
			const uint	c = w[(size_t) k * N + n];
			const int	e = (int) (c & 0x7f);
			float		p;

			if (e == 0)
				continue;		/* the weight 0 */
			p = hn_pow2_apply(x[k], q_zero + e - 1);
			acc += (c & 0x80) ? -p : p;
		}
	}
	else if (dtype == HN_DT_F16)
	{
		__global const half *h = (__global const half *) w;

		for (int k = 0; k < K; k++)
			acc += x[k] * vload_half((size_t) k * N + n, h);
	}
	else
	{
		const float zero = (float) q_zero;

		for (int k = 0; k < K; k++)
		{
			const float wk = q_scale * ((float) w[(size_t) k * N + n] - zero);

			acc += x[k] * wk;
		}
	}
	return acc;
}

/*
 * Z[m][n] = sum_k X[m][k] w[k][n] + bias[n] for M rows of K inputs and N
 * outputs, one value of Z per work-item (a 1-D range over M * N; the kernel
 * for GPUs).  q_zero is the layer's pow2 base exponent or u8 zero point,
 * q_scale its u8 step.
 */
__kernel void
hn_dense_compact(const int M, const int N, const int K,
				 __global const float *X,
				 __global const uchar *P, const int w_off, const int dtype,
				 const int q_zero, const float q_scale,
				 __global const float *bias, const int bias_off,
				 __global float *Z)
{
	const int	idx = get_global_id(0);
	const int	m = idx / (N > 0 ? N : 1);
	const int	n = idx - m * N;

	if (idx >= M * N)
		return;
	Z[(size_t) m * N + n] = hn_compact_dot(N, K, X + (size_t) m * K, P + w_off,
										   n, dtype, q_zero, q_scale) +
		bias[bias_off + n];
}

/* 16 pow2 weights of codes c applied to x, as hn_pow2_apply each. */
inline float16
hn_pow2_apply16(const float x, const uchar16 c, const int q_zero)
{
	const int16 e = convert_int16(c & (uchar) 0x7f);
	const int16 sh = (int16) (q_zero - 1) + e;
	const int	ex = (int) ((as_uint(x) >> 23) & 0xff);
	const int16 er = (int16) ex + sh;
	const int16 fast = (int16) (ex >= 1 && ex <= 254 ? -1 : 0) &
		(er >= (int16) 1) & (er <= (int16) 254);
	float16		p = as_float16((uint16) as_uint(x) + (as_uint16(sh) << 23));
	const uint16 sign = convert_uint16(c & (uchar) 0x80) << 24;

	if (any(fast == (int16) 0))
		p = select(ldexp((float16) x, sh), p, fast);
	p = as_float16(as_uint16(p) ^ sign);
	return select(p, (float16) 0.0f, e == (int16) 0);
}

/* 16 weights of row k from column n0, as floats (f16 and u8). */
inline float16
hn_compact_row16(__global const uchar *w, const int N, const int k,
				 const int n0, const int dtype, const float zero,
				 const float q_scale)
{
	if (dtype == HN_DT_F16)
		return vload_half16(0, (__global const half *) w + (size_t) k * N + n0);
	return q_scale * (convert_float16(vload16(0, w + (size_t) k * N + n0)) - zero);
}

/*
 * The same product for CPU devices (PoCL): one 4 x 16 block of Z per
 * work-item, in 16-wide vectors, work-groups of one (like hn_gemm_vec); a
 * block past the last 16 columns goes column by column.  Each value is summed
 * over k in order from zero, as hn_dense_compact sums it.
 */
__kernel void
hn_dense_compact_vec(const int M, const int N, const int K,
					 __global const float *X,
					 __global const uchar *P, const int w_off, const int dtype,
					 const int q_zero, const float q_scale,
					 __global const float *bias, const int bias_off,
					 __global float *Z)
{
	const int	n0 = get_global_id(0) * 16;
	const int	m0 = get_global_id(1) * 4;
	__global const uchar *w = P + w_off;
	const float zero = (float) q_zero;
	int			rows;
	__global const float *x[4];

	if (n0 >= N || m0 >= M)
		return;
	rows = min(4, M - m0);
	/* rows past M read row m0 again and are not stored */
	for (int r = 0; r < 4; r++)
		x[r] = X + (size_t) (r < rows ? m0 + r : m0) * K;
	if (n0 + 16 <= N)
	{
		float16		c0 = (float16) (0.0f);
		float16		c1 = (float16) (0.0f);
		float16		c2 = (float16) (0.0f);
		float16		c3 = (float16) (0.0f);
		const float16 b = vload16(0, bias + bias_off + n0);

		for (int k = 0; k < K; k++)
		{
			const float x0 = x[0][k];
			const float x1 = x[1][k];
			const float x2 = x[2][k];
			const float x3 = x[3][k];

			if (dtype == HN_DT_POW2)
			{
				const uchar16 c = vload16(0, w + (size_t) k * N + n0);

				if (!any((c & (uchar) 0x7f) != (uchar) 0))
					continue;	/* every weight of this input is 0 */
				/* a zero input adds nothing (the CPU skips it too) */
				if (x0 != 0.0f)
					c0 += hn_pow2_apply16(x0, c, q_zero);
				if (x1 != 0.0f)
					c1 += hn_pow2_apply16(x1, c, q_zero);
				if (x2 != 0.0f)
					c2 += hn_pow2_apply16(x2, c, q_zero);
				if (x3 != 0.0f)
					c3 += hn_pow2_apply16(x3, c, q_zero);
			}
			else
			{
				const float16 wk = hn_compact_row16(w, N, k, n0, dtype, zero,
													q_scale);

				c0 += x0 * wk;
				c1 += x1 * wk;
				c2 += x2 * wk;
				c3 += x3 * wk;
			}
		}
		vstore16(c0 + b, 0, Z + (size_t) m0 * N + n0);
		if (rows > 1)
			vstore16(c1 + b, 0, Z + (size_t) (m0 + 1) * N + n0);
		if (rows > 2)
			vstore16(c2 + b, 0, Z + (size_t) (m0 + 2) * N + n0);
		if (rows > 3)
			vstore16(c3 + b, 0, Z + (size_t) (m0 + 3) * N + n0);
		return;
	}
	for (int r = 0; r < rows; r++)
		for (int n = n0; n < N; n++)
			Z[(size_t) (m0 + r) * N + n] =
				hn_compact_dot(N, K, x[r], w, n, dtype, q_zero, q_scale) +
				bias[bias_off + n];
}
