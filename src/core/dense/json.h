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
#include "core/dense/format.h"

/*
 * A reshape's description (DenseReshape, dense.h): the keys "format",
 * "kind", "layers", "activation", "loss" and "seed" only, and on a layer
 * also "from".  The spec's activations stay DEFAULT where the description
 * does not name them; rin says which it named (act_named[l], or every
 * hidden one when hidden_named: the top-level "activation"), each layer's
 * "from" member or NULL, and whether "seed" was given.
 */
typedef struct DenseReshapeIn
{
	bool		act_named[HANAMI_MAX_LAYERS];
	bool		hidden_named;
	bool		has_seed;
	const HnJson *from[HANAMI_MAX_LAYERS];
} DenseReshapeIn;

HnStatus	DenseReadReshape(const HnJson *root, DenseSpec *spec,
							 DenseReshapeIn *rin, HnError *err);

/* The kind's reshape (kind.h; dense/reshape.c says what it keeps). */
HnStatus	DenseReshape(const HnNet *net, const HnJson *spec,
						 const HnAllocator *alloc, void **image, size_t *len,
						 HnBuf *changes, HnError *err);

HnStatus	DenseFromJson(const HnJson *root, const HnJsonIn *in,
						  const HnAllocator *alloc, void **image,
						  size_t *len, HnError *err);
HnStatus	DenseToJson(const HnNet *net, HnBuf *out, HnError *err);
HnStatus	DenseInfoJson(const HnNet *net, HnBuf *out, HnError *err);

#endif							/* HANAMI_CORE_DENSE_JSON_H */
