/*
 * hanami/json.h - the hanami kind's JSON description, text form and info()
 * summary (the kind operations from_json, to_json and info, kind.h).
 *
 * Template (after OpenHanami's cluster templates):
 *   {"kind": "hanami",
 *    "settings": {"max_connection_distance": 1, "neuron_cooldown": null,
 *                 "refractory_time": 1, "enable_reduction": false,
 *                 "reduction_threshold": 1, "neurons": 256,
 *                 "max_sections": 65536},
 *    "cells": [{"position": [0, 0, 0], "input": 64, "name": "pixels"},
 *              {"position": "1,0,0", "neurons": 256},
 *              {"position": [2, 0], "output": 10}],
 *    "axons": ["0,0,0 -> 2,0,0"] or [{"from": [0, 0, 0], "to": [2, 0, 0]}],
 *    "seed": 1}
 * Shorthand: {"kind": "hanami", "layers": [64, 256, 10]} is a chain of
 * cells along x: input, hidden cells, output.
 *
 * Text form: the template with every setting spelled out, plus
 *   "trained": {"epochs": e, "samples": s, "growth": [[epoch, sections,
 *               synapses, blocks], ...]},
 *   "setup": {"sections": n, "data": "<base64 of the neurons and blocks>"}
 * so reading the text form gives back the same bytes.
 */
#ifndef HANAMI_CORE_HANAMI_JSON_H
#define HANAMI_CORE_HANAMI_JSON_H

#include "core/json.h"

HnStatus	HkFromJson(const HnJson *root, const HnJsonIn *in,
					   const HnAllocator *alloc, void **image, size_t *len,
					   HnError *err);
HnStatus	HkToJson(const HnNet *net, HnBuf *out, HnError *err);
HnStatus	HkInfoJson(const HnNet *net, HnBuf *out, HnError *err);

#endif							/* HANAMI_CORE_HANAMI_JSON_H */
