/*
 * activation.c - activation functions of dense layers, their derivatives and
 * their names.
 */
#include "core/activation.h"

#include <math.h>
#include <string.h>

/* Below this |x|, sinc and its derivative use their Taylor series. */
#define HANAMI_SINC_TAYLOR	1e-2f

static const char *const act_names[HANAMI_ACT_COUNT_] = {
	"default", "identity", "binary", "tanh", "isrlu", "relu", "elu",
	"softclip", "sin", "sinc", "gauss", "sigmoid", "softmax", "custom"
};

/* Name of an activation, NULL when out of range. */
const char *
ActName(HnActivation act)
{
	if ((int) act < 0 || (int) act >= HANAMI_ACT_COUNT_)
		return NULL;
	return act_names[act];
}

/* Activation of a name; DEFAULT when unknown. */
HnActivation
ActFromName(const char *name)
{
	if (name == NULL)
		return HANAMI_ACT_DEFAULT;
	for (int i = HANAMI_ACT_IDENTITY; i < HANAMI_ACT_CUSTOM; i++)
		if (strcmp(name, act_names[i]) == 0)
			return (HnActivation) i;
	return HANAMI_ACT_DEFAULT;
}

/* True for the activations an image may store. */
bool
ActIsValid(int act)
{
	return act >= HANAMI_ACT_IDENTITY && act < HANAMI_ACT_COUNT_;
}

/* log(1 + e^u) without overflow. */
static inline float
ActSoftplus(float u)
{
	return fmaxf(u, 0.0f) + log1pf(expf(-fabsf(u)));
}

/* Logistic function without overflow for large |u|. */
static inline float
ActLogistic(float u)
{
	if (u >= 0.0f)
		return 1.0f / (1.0f + expf(-u));
	else
	{
		float		e = expf(u);

		return e / (1.0f + e);
	}
}

/* Softmax of one vector in place, max-subtracted so exp never overflows. */
static void
ActSoftmax(float *restrict v, size_t n)
{
	float		max = v[0];
	float		sum = 0.0f;
	float		inv;

	for (size_t i = 1; i < n; i++)
		max = fmaxf(max, v[i]);
	for (size_t i = 0; i < n; i++)
	{
		v[i] = expf(v[i] - max);
		sum += v[i];
	}
	inv = 1.0f / sum;
#pragma omp simd
	for (size_t i = 0; i < n; i++)
		v[i] *= inv;
}

/* Apply an activation in place to n values (softmax: to the whole vector). */
void
ActForward(HnActivation act, float *restrict v, size_t n)
{
	switch (act)
	{
		case HANAMI_ACT_DEFAULT:
		case HANAMI_ACT_IDENTITY:
		case HANAMI_ACT_CUSTOM:
		case HANAMI_ACT_COUNT_:
			break;
		case HANAMI_ACT_BINARY:
#pragma omp simd
			for (size_t i = 0; i < n; i++)
				v[i] = v[i] >= 0.0f ? 1.0f : 0.0f;
			break;
		case HANAMI_ACT_TANH:
			for (size_t i = 0; i < n; i++)
				v[i] = tanhf(v[i]);
			break;
		case HANAMI_ACT_ISRLU:
			for (size_t i = 0; i < n; i++)
			{
				float		x = v[i];

				v[i] = x >= 0.0f ? x : x / sqrtf(1.0f + x * x);
			}
			break;
		case HANAMI_ACT_RELU:
#pragma omp simd
			for (size_t i = 0; i < n; i++)
				v[i] = v[i] > 0.0f ? v[i] : 0.0f;
			break;
		case HANAMI_ACT_ELU:
			for (size_t i = 0; i < n; i++)
				v[i] = v[i] >= 0.0f ? v[i] : expm1f(v[i]);
			break;
		case HANAMI_ACT_SOFTCLIP:
			for (size_t i = 0; i < n; i++)
			{
				float		x = v[i];

				v[i] = 0.5f * (ActSoftplus(2.0f * x) -
							   ActSoftplus(2.0f * (x - 1.0f)));
			}
			break;
		case HANAMI_ACT_SIN:
			for (size_t i = 0; i < n; i++)
				v[i] = sinf(v[i]);
			break;
		case HANAMI_ACT_SINC:
			for (size_t i = 0; i < n; i++)
			{
				float		x = v[i];

				if (fabsf(x) < HANAMI_SINC_TAYLOR)
					v[i] = 1.0f - x * x * (1.0f / 6.0f);
				else
					v[i] = sinf(x) / x;
			}
			break;
		case HANAMI_ACT_GAUSS:
			for (size_t i = 0; i < n; i++)
				v[i] = expf(-v[i] * v[i]);
			break;
		case HANAMI_ACT_SIGMOID:
			for (size_t i = 0; i < n; i++)
				v[i] = ActLogistic(v[i]);
			break;
		case HANAMI_ACT_SOFTMAX:
			if (n > 0)
				ActSoftmax(v, n);
			break;
	}
}

/* Multiply the upstream gradient g by dy/dz (softmax: its full Jacobian). */
void
ActBackward(HnActivation act, const float *restrict z, const float *restrict y,
			float *restrict g, size_t n)
{
	switch (act)
	{
		case HANAMI_ACT_DEFAULT:
		case HANAMI_ACT_IDENTITY:
		case HANAMI_ACT_CUSTOM:
		case HANAMI_ACT_COUNT_:
			break;
		case HANAMI_ACT_BINARY:
			memset(g, 0, n * sizeof(float));
			break;
		case HANAMI_ACT_TANH:
#pragma omp simd
			for (size_t i = 0; i < n; i++)
				g[i] *= 1.0f - y[i] * y[i];
			break;
		case HANAMI_ACT_ISRLU:
			for (size_t i = 0; i < n; i++)
			{
				float		x = z[i];
				float		r = 1.0f / sqrtf(1.0f + x * x);

				g[i] *= x >= 0.0f ? 1.0f : r * r * r;
			}
			break;
		case HANAMI_ACT_RELU:
#pragma omp simd
			for (size_t i = 0; i < n; i++)
				g[i] = z[i] > 0.0f ? g[i] : 0.0f;
			break;
		case HANAMI_ACT_ELU:
#pragma omp simd
			for (size_t i = 0; i < n; i++)
				g[i] *= z[i] >= 0.0f ? 1.0f : y[i] + 1.0f;
			break;
		case HANAMI_ACT_SOFTCLIP:
			for (size_t i = 0; i < n; i++)
				g[i] *= ActLogistic(2.0f * z[i]) -
					ActLogistic(2.0f * (z[i] - 1.0f));
			break;
		case HANAMI_ACT_SIN:
			for (size_t i = 0; i < n; i++)
				g[i] *= cosf(z[i]);
			break;
		case HANAMI_ACT_SINC:
			for (size_t i = 0; i < n; i++)
			{
				float		x = z[i];

				if (fabsf(x) < HANAMI_SINC_TAYLOR)
					g[i] *= x * (x * x * (1.0f / 30.0f) - 1.0f / 3.0f);
				else
					g[i] *= (cosf(x) - y[i]) / x;
			}
			break;
		case HANAMI_ACT_GAUSS:
#pragma omp simd
			for (size_t i = 0; i < n; i++)
				g[i] *= -2.0f * z[i] * y[i];
			break;
		case HANAMI_ACT_SIGMOID:
#pragma omp simd
			for (size_t i = 0; i < n; i++)
				g[i] *= y[i] * (1.0f - y[i]);
			break;
		case HANAMI_ACT_SOFTMAX:
			{
				float		s = 0.0f;

				for (size_t i = 0; i < n; i++)
					s += g[i] * y[i];
#pragma omp simd
				for (size_t i = 0; i < n; i++)
					g[i] = y[i] * (g[i] - s);
			}
			break;
	}
}

/* Weight init gain: 2 (He) for the relu family, 1 otherwise. */
double
ActInitGain(HnActivation act)
{
	switch (act)
	{
		case HANAMI_ACT_RELU:
		case HANAMI_ACT_ELU:
		case HANAMI_ACT_ISRLU:
			return 2.0;
		default:
			return 1.0;
	}
}
