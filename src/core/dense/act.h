/*
 * dense/act.h - a dense layer's activation, built-in (core/activation.h)
 * or custom (an expression the network embeds, core/expr.h): the forward
 * and backward passes go through these so that both run the same way.
 */
#ifndef HANAMI_CORE_DENSE_ACT_H
#define HANAMI_CORE_DENSE_ACT_H

#include "core/dense/format.h"

/*
 * Apply layer l's activation in place to rows rows of its units (softmax
 * normalises each row; the rest are elementwise).
 */
void		DenseActForward(const DenseNet *net, int l, float *v, size_t rows);

/*
 * Multiply the upstream gradient g (dL/dy) of rows rows of layer l's units
 * in place by dy/dz, given the pre-activations z and outputs y.
 */
void		DenseActBackward(const DenseNet *net, int l, const float *z,
							 const float *y, float *g, size_t rows);

/* True when some layer of net has a custom activation. */
static inline bool
DenseHasCustom(const DenseNet *net)
{
	return net->n_programs > 0;
}

#endif							/* HANAMI_CORE_DENSE_ACT_H */
