/*
 * run.h - what inference on values (run.c, run_batch.c) and on stored
 * models (store_cache.c) share: input arrays, output arrays and their
 * checks (run.c), inputs and outputs by port name (run_named.c).
 */
#ifndef HANAMI_PG_RUN_H
#define HANAMI_PG_RUN_H

#include "postgres.h"

#include "utils/array.h"
#include "utils/jsonb.h"

#include "core/kind.h"

extern const float *HanamiInputArray(ArrayType *arr, uint32 want);
extern ArrayType *HanamiFloatArray(const float *v, int n);
extern void HanamiCheckOutputs(const float *out, int64 n_rows, uint32 n_out,
							   int64 row0, const bool *skip);
extern void HanamiCheckClassifier(const HnNet *net, const char *fn,
								  const char *alternative);

/* inputs and outputs by port name (run_named.c) */
extern float *HanamiNamedInputs(const HnNet *net, Jsonb *inputs);
extern Jsonb *HanamiNamedOutputs(const HnNet *net, const float *out);

#endif							/* HANAMI_PG_RUN_H */
