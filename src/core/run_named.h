/*
 * run_named.h - inference with named inputs and outputs: a JSON object of
 * arrays by the names of a network's input groups in, a JSON object of
 * arrays by the names of its output groups out (hanami.run_named), for the
 * kinds whose values have names (kind.h ports: a graph's layers).
 */
#ifndef HANAMI_CORE_RUN_NAMED_H
#define HANAMI_CORE_RUN_NAMED_H

#include "core/json.h"
#include "core/kind.h"

/*
 * Run one row given as inputs (an object: every input group's name ->
 * an array of its count of finite numbers, nothing else) and write the
 * outputs to out as {"name": [values], ...} in the network's order.
 * HANAMI_E_UNSUPPORTED for a kind without names; HANAMI_E_INVALID_ARGUMENT
 * naming the group for a missing, unknown or malformed one;
 * HANAMI_E_DIMENSION for an array of the wrong length;
 * HANAMI_E_OUTPUT_NOT_FINITE when an output is not finite.
 */
HnStatus	NetRunNamed(HnNet *net, const HnJson *inputs,
						const HnAllocator *alloc, HnBuf *out, HnError *err);

#endif							/* HANAMI_CORE_RUN_NAMED_H */
