/*
 * dense/json.h - the dense kind's JSON description, text form and info()
 * summary (the kind operations from_json, to_json and info, kind.h).
 *
 * Text form:
 *   {"format": 1, "kind": "dense",
 *    "layers": [{"count": 64, "activation": "identity"}, ...],
 *    "loss": "cross_entropy", "input_scaling": true, "seed": 42,
 *    "trained": {"epochs": 30, "samples": 40440},
 *    "setup": {"input_fitted": true, "output_fitted": false,
 *              "data": "<base64 of the scaling and parameter areas>"}}
 * ("input_clipped": true in "setup" only when set).  A description is the
 * same object without setup and trained; layers may be plain counts, and
 * "activation" at the top names the hidden layers' default.
 */
#ifndef HANAMI_CORE_DENSE_JSON_H
#define HANAMI_CORE_DENSE_JSON_H

#include "core/json.h"

HnStatus	DenseFromJson(const HnJson *root, const HnJsonIn *in,
						  const HnAllocator *alloc, void **image,
						  size_t *len, HnError *err);
HnStatus	DenseToJson(const HnNet *net, HnBuf *out, HnError *err);
HnStatus	DenseInfoJson(const HnNet *net, HnBuf *out, HnError *err);

#endif							/* HANAMI_CORE_DENSE_JSON_H */
