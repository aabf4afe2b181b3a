/*
 * hanami_glue.h - the PostgreSQL side of the growing ("hanami") network kind:
 * fit and verify (its JSON description, text form and info() are the
 * engine's: core/hanami/json.h).
 */
#ifndef HANAMI_PG_GROW_GLUE_H
#define HANAMI_PG_GROW_GLUE_H

#include "glue.h"

#include "lib/stringinfo.h"

#include "core/hanami/hanami.h"

/* hanami_fit.c: fit and verify */
extern HanamiNetwork *HanamiHkFit(HanamiNetwork *in, const char *query,
									Jsonb *options, HnTrainResult *res,
									HnEvalResult *eval, StringInfo history);
extern HnStatus HanamiHkEvaluate(const HnNet *net, const HnDataset *data,
								   const HnCallbacks *cb, HnEvalResult *res,
								   HnError *err);

#endif							/* HANAMI_PG_GROW_GLUE_H */
