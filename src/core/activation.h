/*
 * activation.h - activation functions of dense layers and their derivatives.
 */
#ifndef HANAMI_CORE_ACTIVATION_H
#define HANAMI_CORE_ACTIVATION_H

#include "core/common.h"

/* Stored in the binary format: never renumber. */
typedef enum HnActivation
{
	HANAMI_ACT_DEFAULT = 0,		/* only in a spec before DenseSpecFinalize */
	HANAMI_ACT_IDENTITY = 1,
	HANAMI_ACT_BINARY = 2,		/* x >= 0 ? 1 : 0; derivative 0 */
	HANAMI_ACT_TANH = 3,
	HANAMI_ACT_ISRLU = 4,		/* x >= 0 ? x : x / sqrt(1 + x^2) */
	HANAMI_ACT_RELU = 5,
	HANAMI_ACT_ELU = 6,			/* x >= 0 ? x : exp(x) - 1 */
	HANAMI_ACT_SOFTCLIP = 7,	/* log((1 + e^(2x)) / (1 + e^(2(x-1)))) / 2 */
	HANAMI_ACT_SIN = 8,
	HANAMI_ACT_SINC = 9,		/* sin(x) / x, 1 at 0 */
	HANAMI_ACT_GAUSS = 10,		/* exp(-x^2) */
	HANAMI_ACT_SIGMOID = 11,
	HANAMI_ACT_SOFTMAX = 12,	/* output layer only */
	HANAMI_ACT_CUSTOM = 13,		/* an expression (core/expr.h) the network
								 * embeds; ActForward/ActBackward leave
								 * values unchanged, dense/act.h runs it */
	HANAMI_ACT_COUNT_ = 14
} HnActivation;

/* Name of an activation ("relu"), or NULL when out of range. */
const char *ActName(HnActivation act);

/*
 * Parse a name (case-sensitive, as ActName prints it); DEFAULT if unknown.
 * "custom" is not a name a spec can use: a custom activation is given as
 * an object with its expression (dense/json.c).
 */
HnActivation ActFromName(const char *name);

/* True when act is a valid stored activation (IDENTITY..CUSTOM). */
bool		ActIsValid(int act);

/*
 * Apply act in place to n values (z -> y).  Softmax normalises the whole
 * vector of n values; every other activation is elementwise.
 */
void		ActForward(HnActivation act, float *v, size_t n);

/*
 * Multiply the upstream gradient g (dL/dy) in place by dy/dz, given the
 * pre-activation z and the output y of n units, giving dL/dz.  For softmax it
 * applies the full Jacobian: g_i <- y_i * (g_i - sum_j g_j y_j).
 */
void		ActBackward(HnActivation act, const float *z, const float *y,
						float *g, size_t n);

/* Standard deviation factor for weight init: He (2) for relu-like, else 1. */
double		ActInitGain(HnActivation act);

#endif							/* HANAMI_CORE_ACTIVATION_H */
