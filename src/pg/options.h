/*
 * options.h - the options of fit(), verify() and background jobs, read by
 * the engine (core/options.h) from jsonb (options.c).
 */
#ifndef HANAMI_PG_OPTIONS_H
#define HANAMI_PG_OPTIONS_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "core/options.h"

typedef HnFitOptions HanamiOptions;

/* for_training: fit's options; otherwise verify's.  jb may be NULL. */
extern void HanamiParseOptions(Jsonb *jb, const HnNet *net, bool for_training,
							   HanamiOptions *opts);

/* A fit's options, for a kind whose fits may run as background jobs. */
extern void HanamiParseJobOptions(Jsonb *jb, const HnNet *net,
								  HanamiOptions *opts);

#endif							/* HANAMI_PG_OPTIONS_H */
