/*
 * optim.cl - parameter updates on the device: SGD with momentum, and Adam.
 *
 * CPU twins: KernSgdUpdate and KernAdamUpdate (src/core/kernels.c), called
 * by OptimStep (src/core/optim.c) for each trained layer's weights (with
 * weight decay) and biases (without).  The bias corrections of Adam are
 * computed on the host, in double, exactly as OptimStep does.
 */

/* Moments smaller than this become zero (as on the CPU: no subnormals). */
#define HN_MOMENT_FLOOR		1e-30f

/* SGD with momentum on w[off .. off + n): g' = g + wd w; m = mom m + g'; w -= lr m. */
__kernel void
hn_sgd(__global float *w, __global const float *g, __global float *m,
	   const int off, const int n, const float lr, const float momentum,
	   const float wd)
{
	int			i = get_global_id(0);
	float		gi;
	float		mi;

	if (i >= n)
		return;
	i += off;
	gi = g[i] + wd * w[i];
	mi = momentum * m[i] + gi;
	mi = fabs(mi) >= HN_MOMENT_FLOOR ? mi : 0.0f;
	m[i] = mi;
	w[i] -= lr * mi;
}

/* Adam on w[off .. off + n); step and vscale carry the bias corrections. */
__kernel void
hn_adam(__global float *w, __global const float *g, __global float *m,
		__global float *v, const int off, const int n, const float step,
		const float b1, const float b2, const float vscale, const float eps,
		const float wd)
{
	int			i = get_global_id(0);
	float		gi;
	float		mi;
	float		vi;

	if (i >= n)
		return;
	i += off;
	gi = g[i] + wd * w[i];
	mi = b1 * m[i] + (1.0f - b1) * gi;
	vi = b2 * v[i] + (1.0f - b2) * gi * gi;
	mi = fabs(mi) >= HN_MOMENT_FLOOR ? mi : 0.0f;
	vi = vi >= HN_MOMENT_FLOOR ? vi : 0.0f;
	m[i] = mi;
	v[i] = vi;
	w[i] -= step * mi / (sqrt(vi * vscale) + eps);
}
