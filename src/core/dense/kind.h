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

#endif							/* HANAMI_CORE_DENSE_KIND_H */
