/*
 * loss.h - loss functions and their gradients with respect to outputs.
 */
#ifndef HANAMI_CORE_LOSS_H
#define HANAMI_CORE_LOSS_H

#include "core/activation.h"

/* Stored in the binary format: never renumber. */
typedef enum HnLoss
{
	HANAMI_LOSS_DEFAULT = 0,	/* only in a spec before DenseSpecFinalize */
	HANAMI_LOSS_MSE = 1,		/* sum over outputs of (y - t)^2, divided by n */
	HANAMI_LOSS_CROSS_ENTROPY = 2,	/* softmax: -sum t log y; sigmoid: binary CE */
	HANAMI_LOSS_COUNT_ = 3
} HnLoss;

const char *LossName(HnLoss loss);	/* "mse", "cross_entropy" */
HnLoss		LossFromName(const char *name);	/* DEFAULT if unknown */
bool		LossIsValid(int loss);

/* Loss of one sample: outputs y and targets t, n values each. */
double		LossValue(HnLoss loss, HnActivation out_act, const float *y,
					  const float *t, size_t n);

/*
 * Gradient of one sample's loss with respect to the output layer's
 * pre-activation z (dL/dz), written to g.  For cross-entropy with softmax or
 * sigmoid this is the fused y - t; otherwise dL/dy passed through
 * ActBackward (for HANAMI_ACT_CUSTOM: dL/dy, the caller applies the
 * derivative, dense/act.h).
 */
void		LossGradient(HnLoss loss, HnActivation out_act, const float *z,
						 const float *y, const float *t, float *g, size_t n);

#endif							/* HANAMI_CORE_LOSS_H */
