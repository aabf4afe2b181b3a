/*
 * activation.cl - activation functions of dense layers and their
 * derivatives, on the device.
 *
 * The CPU twins are ActForward and ActBackward in src/core/activation.c; the
 * numbers are those of src/core/activation.h's HnActivation (stored in the
 * binary format, never renumbered).  Every kernel source file is
 * concatenated into one program in file-name order, so this file comes first.
 */

#define HN_ACT_IDENTITY		1
#define HN_ACT_BINARY		2
#define HN_ACT_TANH			3
#define HN_ACT_ISRLU		4
#define HN_ACT_RELU			5
#define HN_ACT_ELU			6
#define HN_ACT_SOFTCLIP		7
#define HN_ACT_SIN			8
#define HN_ACT_SINC			9
#define HN_ACT_GAUSS		10
#define HN_ACT_SIGMOID		11
#define HN_ACT_SOFTMAX		12

#define HN_LOSS_MSE			1
#define HN_LOSS_CROSS_ENTROPY 2

/* Below this |x|, sinc and its derivative use their Taylor series. */
#define HN_SINC_TAYLOR		1e-2f

/* Probabilities are clamped to at least this before a log. */
#define HN_LOG_EPS			1e-12f

/* log(1 + e^u) without overflow. */
float
hn_softplus(float u)
{
	return fmax(u, 0.0f) + log1p(exp(-fabs(u)));
}

/* Logistic function without overflow for large |u|. */
float
hn_logistic(float u)
{
	if (u >= 0.0f)
		return 1.0f / (1.0f + exp(-u));
	else
	{
		float		e = exp(u);

		return e / (1.0f + e);
	}
}

/* One elementwise activation (softmax is done per row elsewhere). */
float
hn_act(int act, float x)
{
	switch (act)
	{
		case HN_ACT_BINARY:
			return x >= 0.0f ? 1.0f : 0.0f;
		case HN_ACT_TANH:
			return tanh(x);
		case HN_ACT_ISRLU:
			return x >= 0.0f ? x : x / sqrt(1.0f + x * x);
		case HN_ACT_RELU:
			return x > 0.0f ? x : 0.0f;
		case HN_ACT_ELU:
			return x >= 0.0f ? x : expm1(x);
		case HN_ACT_SOFTCLIP:
			return 0.5f * (hn_softplus(2.0f * x) - hn_softplus(2.0f * (x - 1.0f)));
		case HN_ACT_SIN:
			return sin(x);
		case HN_ACT_SINC:
			return fabs(x) < HN_SINC_TAYLOR ? 1.0f - x * x * (1.0f / 6.0f) : sin(x) / x;
		case HN_ACT_GAUSS:
			return exp(-x * x);
		case HN_ACT_SIGMOID:
			return hn_logistic(x);
		default:
			return x;
	}
}

/* dL/dz from dL/dy for one elementwise activation, given z and y. */
float
hn_act_grad(int act, float z, float y, float g)
{
	switch (act)
	{
		case HN_ACT_BINARY:
			return 0.0f;
		case HN_ACT_TANH:
			return g * (1.0f - y * y);
		case HN_ACT_ISRLU:
			{
				float		r = 1.0f / sqrt(1.0f + z * z);

				return g * (z >= 0.0f ? 1.0f : r * r * r);
			}
		case HN_ACT_RELU:
			return z > 0.0f ? g : 0.0f;
		case HN_ACT_ELU:
			return g * (z >= 0.0f ? 1.0f : y + 1.0f);
		case HN_ACT_SOFTCLIP:
			return g * (hn_logistic(2.0f * z) - hn_logistic(2.0f * (z - 1.0f)));
		case HN_ACT_SIN:
			return g * cos(z);
		case HN_ACT_SINC:
			if (fabs(z) < HN_SINC_TAYLOR)
				return g * (z * (z * z * (1.0f / 30.0f) - 1.0f / 3.0f));
			return g * ((cos(z) - y) / z);
		case HN_ACT_GAUSS:
			return g * (-2.0f * z * y);
		case HN_ACT_SIGMOID:
			return g * (y * (1.0f - y));
		default:
			return g;
	}
}

/* a[i] = act(z[i]) for n values (not softmax). */
__kernel void
hn_act_forward(const int act, __global const float *z, __global float *a,
			   const int n)
{
	int			i = get_global_id(0);

	if (i < n)
		a[i] = hn_act(act, z[i]);
}

/* Softmax of each of rows rows of cols values: a = softmax(z). */
__kernel void
hn_softmax_rows(__global const float *z, __global float *a, const int rows,
				const int cols)
{
	int			r = get_global_id(0);
	__global const float *zr;
	__global float *ar;
	float		mx;
	float		sum = 0.0f;
	float		inv;

	if (r >= rows)
		return;
	zr = z + (size_t) r * cols;
	ar = a + (size_t) r * cols;
	mx = zr[0];
	for (int i = 1; i < cols; i++)
		mx = fmax(mx, zr[i]);
	for (int i = 0; i < cols; i++)
	{
		float		e = exp(zr[i] - mx);

		ar[i] = e;
		sum += e;
	}
	inv = 1.0f / sum;
	for (int i = 0; i < cols; i++)
		ar[i] *= inv;
}

/* g[i] = dL/dz from dL/dy in place, elementwise (not softmax). */
__kernel void
hn_act_backward(const int act, __global const float *z,
				__global const float *y, __global float *g, const int n)
{
	int			i = get_global_id(0);

	if (i < n)
		g[i] = hn_act_grad(act, z[i], y[i], g[i]);
}

/* Softmax Jacobian per row: g_i <- y_i (g_i - sum_j g_j y_j). */
__kernel void
hn_softmax_backward_rows(__global const float *y, __global float *g,
						 const int rows, const int cols)
{
	int			r = get_global_id(0);
	__global const float *yr;
	__global float *gr;
	float		s = 0.0f;

	if (r >= rows)
		return;
	yr = y + (size_t) r * cols;
	gr = g + (size_t) r * cols;
	for (int i = 0; i < cols; i++)
		s += gr[i] * yr[i];
	for (int i = 0; i < cols; i++)
		gr[i] = yr[i] * (gr[i] - s);
}
