/*
 * hanami/kind.h - the hanami (growing) kind in the registry, and its view
 * of an HnNet.
 */
#ifndef HANAMI_CORE_HANAMI_KIND_H
#define HANAMI_CORE_HANAMI_KIND_H

#include "core/hanami/hanami.h"
#include "core/kind.h"

extern const HnKind HnHanamiKind;

/* The hanami view of a bound network, or NULL when it is of another kind. */
static inline HkNet *
HkOf(const HnNet *net)
{
	return net->kind == &HnHanamiKind ? (HkNet *) net->view.bytes : NULL;
}

#endif							/* HANAMI_CORE_HANAMI_KIND_H */
