/*
 * hanami_glue.h - the PostgreSQL side of the growing ("hanami") network kind:
 * its JSON description and text form, info(), fit and verify, the per-call
 * inference state and reset_state().  Everything else dispatches here on
 * the kind (core/hanami/kind.h).
 */
#ifndef HANAMI_PG_GROW_GLUE_H
#define HANAMI_PG_GROW_GLUE_H

#include "glue.h"

#include "lib/stringinfo.h"

#include "core/hanami/hanami.h"

/* hanami_spec.c: description and text form */
extern bool HanamiSpecIsHk(Jsonb *jb);
extern HanamiNetwork *HanamiHkFromJsonb(Jsonb *jb, bool has_seed, uint32 seed,
										  int sqlstate);
extern char *HanamiHkToJson(const HnNet *net);
extern Jsonb *HanamiHkInfo(const HnNet *net);

/* hanami_fit.c: fit and verify */
extern HanamiNetwork *HanamiHkFit(HanamiNetwork *in, const char *query,
									Jsonb *options, HnTrainResult *res,
									HnEvalResult *eval, StringInfo history);
extern HnStatus HanamiHkEvaluate(const HnNet *net, const HnDataset *data,
								   const HnCallbacks *cb, HnEvalResult *res,
								   HnError *err);

#endif							/* HANAMI_PG_GROW_GLUE_H */
