/*
 * loss.c - loss functions of one sample and their gradients with respect to
 * the output layer's pre-activations.
 */
#include "core/loss.h"

#include <math.h>
#include <string.h>

/* Probabilities are clamped to [HANAMI_LOG_EPS, 1] before a log. */
#define HANAMI_LOG_EPS	1e-12

static const char *const loss_names[HANAMI_LOSS_COUNT_] = {
	"default", "mse", "cross_entropy"
};

/* Name of a loss, NULL when out of range. */
const char *
LossName(HnLoss loss)
{
	if ((int) loss < 0 || (int) loss >= HANAMI_LOSS_COUNT_)
		return NULL;
	return loss_names[loss];
}

/* Loss of a name; DEFAULT when unknown. */
HnLoss
LossFromName(const char *name)
{
	if (name == NULL)
		return HANAMI_LOSS_DEFAULT;
	for (int i = HANAMI_LOSS_MSE; i < HANAMI_LOSS_COUNT_; i++)
		if (strcmp(name, loss_names[i]) == 0)
			return (HnLoss) i;
	return HANAMI_LOSS_DEFAULT;
}

/* True for the losses an image may store. */
bool
LossIsValid(int loss)
{
	return loss >= HANAMI_LOSS_MSE && loss < HANAMI_LOSS_COUNT_;
}

/* log(p) with p clamped away from 0. */
static inline double
LossSafeLog(double p)
{
	return log(p > HANAMI_LOG_EPS ? p : HANAMI_LOG_EPS);
}

/* Loss of one sample with outputs y and targets t. */
double
LossValue(HnLoss loss, HnActivation out_act, const float *y, const float *t,
		  size_t n)
{
	double		sum = 0.0;

	if (n == 0)
		return 0.0;
	if (loss == HANAMI_LOSS_CROSS_ENTROPY)
	{
		if (out_act == HANAMI_ACT_SOFTMAX)
		{
			for (size_t i = 0; i < n; i++)
				if (t[i] != 0.0f)
					sum -= (double) t[i] * LossSafeLog(y[i]);
		}
		else
		{
			/* binary cross-entropy of every output, summed */
			for (size_t i = 0; i < n; i++)
			{
				double		yi = y[i];
				double		ti = t[i];

				sum -= ti * LossSafeLog(yi) + (1.0 - ti) * LossSafeLog(1.0 - yi);
			}
		}
		return sum;
	}
	for (size_t i = 0; i < n; i++)
	{
		double		d = (double) y[i] - (double) t[i];

		sum += d * d;
	}
	return sum / (double) n;
}

/* dL/dz of one sample: fused y - t for cross-entropy, else chain rule. */
void
LossGradient(HnLoss loss, HnActivation out_act, const float *z,
			 const float *y, const float *t, float *g, size_t n)
{
	if (loss == HANAMI_LOSS_CROSS_ENTROPY &&
		(out_act == HANAMI_ACT_SOFTMAX || out_act == HANAMI_ACT_SIGMOID))
	{
		for (size_t i = 0; i < n; i++)
			g[i] = y[i] - t[i];
		return;
	}
	if (loss == HANAMI_LOSS_CROSS_ENTROPY)
	{
		/* binary cross-entropy on another activation: dL/dy, then dy/dz */
		for (size_t i = 0; i < n; i++)
		{
			double		yi = y[i];
			double		p = yi < HANAMI_LOG_EPS ? HANAMI_LOG_EPS :
				(yi > 1.0 - HANAMI_LOG_EPS ? 1.0 - HANAMI_LOG_EPS : yi);

			g[i] = (float) ((p - t[i]) / (p * (1.0 - p)));
		}
	}
	else
	{
		float		scale = 2.0f / (float) n;

		for (size_t i = 0; i < n; i++)
			g[i] = scale * (y[i] - t[i]);
	}
	/* a custom activation's derivative is the caller's (dense/act.h) */
	if (out_act != HANAMI_ACT_CUSTOM)
		ActBackward(out_act, z, y, g, n);
}
