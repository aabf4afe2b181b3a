/*
 * dataset.h - a query's rows as float32 arrays shaped for a network:
 * loaded at once, or read in passes through a cursor (dataset.c).
 */
#ifndef HANAMI_PG_DATASET_H
#define HANAMI_PG_DATASET_H

#include "postgres.h"

#include "core/kind.h"
#include "core/options.h"
#include "core/train.h"

typedef struct HanamiQueryData
{
	HnDataset	ds;
	int64		bytes;			/* memory held by the arrays */
} HanamiQueryData;

extern void HanamiLoadQuery(const char *query, const char *target,
							const HnNet *net, HanamiQueryData *out);
extern void HanamiLoadQueryMapped(const char *query, const HnFitOptions *opts,
								  const HnNet *net, HanamiQueryData *out);

/* an open query read in passes (see dataset.c) */
typedef struct HanamiRows HanamiRows;

extern HanamiRows *HanamiRowsOpen(const char *query, const char *target,
								  const HnNet *net);
extern HanamiRows *HanamiRowsOpenMapped(const char *query,
										const HnFitOptions *opts,
										const HnNet *net);
extern void HanamiRowsSetPool(HanamiRows *q, struct HnPool *pool);
extern void HanamiRowsStart(HanamiRows *q);
extern int64 HanamiRowsFetch(HanamiRows *q, float *x, float *y, int32 *cls,
							 uint8 *starts, int64 max_rows);
extern bool HanamiRowsSequences(const HanamiRows *q);
extern bool HanamiRowsLoad(HanamiRows *q, int64 budget, HanamiQueryData *out);
extern bool HanamiRowsClassTarget(const HanamiRows *q);
extern void HanamiRowsClose(HanamiRows *q);

#endif							/* HANAMI_PG_DATASET_H */
