/*
 * dense/kind.h - the dense kind in the registry, and its view of an HnNet.
 */
#ifndef HANAMI_CORE_DENSE_KIND_H
#define HANAMI_CORE_DENSE_KIND_H

#include "core/dense/format.h"
#include "core/kind.h"

extern const HnKind HnDenseKind;

/* The dense view of a bound network, or NULL when it is of another kind. */
static inline DenseNet *
DenseOf(const HnNet *net)
{
	return net->kind == &HnDenseKind ? (DenseNet *) net->view.bytes : NULL;
}

/* Averaging (dense/average.c; kind.h average_check, parameters). */
HnStatus	DenseAverageCheck(const HnNet *a, const HnNet *b, HnError *err);
float	   *DenseParameters(const HnNet *net, size_t *n);

#endif							/* HANAMI_CORE_DENSE_KIND_H */
