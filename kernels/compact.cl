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

/*
 * Z[m][n] = sum_k X[m][k] w[k][n] + bias[n] for M rows of K inputs and N
 * outputs, one value of Z per work-item (a 1-D range over M * N).  q_zero
 * is the layer's pow2 base exponent or u8 zero point, q_scale its u8 step.
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
	__global const float *x;
	__global const uchar *w;
	float		acc = 0.0f;

	if (idx >= M * N)
		return;
	x = X + (size_t) m * K;
	w = P + w_off;
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
	Z[(size_t) m * N + n] = acc + bias[bias_off + n];
}
