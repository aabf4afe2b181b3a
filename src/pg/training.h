/*
 * training.h - training and measuring a network on a query's rows:
 * in memory or streamed (train_query.c), the engine hooks that check for
 * interrupts and report progress (callbacks.c), and the JSON report of a
 * fit (fit.c).
 */
#ifndef HANAMI_PG_TRAINING_H
#define HANAMI_PG_TRAINING_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "core/fit.h"
#include "options.h"

/* train_query.c */
extern HnStatus HanamiTrainQuery(const char *query, const HanamiOptions *opts,
								 HnNet *net, const HnCallbacks *cb,
								 MemoryContext cxt, HnTrainResult *res,
								 HnEvalResult *eval, HnError *err);
extern HnStatus HanamiEvaluate(const HnNet *net, const HnRows *rows,
							   const HnCallbacks *cb, const HnAllocator *alloc,
							   HnEvalResult *res, HnError *err);
extern struct HnPool *HanamiComputePool(MemoryContext cxt);

/* callbacks.c */
extern void HanamiInitCallbacks(HnCallbacks *cb, bool verbose);
extern void HanamiRecordHistory(HnCallbacks *cb, StringInfo out, int64 rows);

/* fit.c */

/*
 * option only_if_better: a trained network and the branch head it came
 * from, measured on one query's rows.  The metric is the accuracy for
 * classifiers (higher is better), else the mean squared error (lower is
 * better); better only when strictly so.
 */
typedef struct HanamiComparison
{
	const char *metric;			/* "accuracy" or "mse" */
	double		trained;
	double		head;
	bool		better;
} HanamiComparison;

extern void HanamiCompareOnQuery(const HnNet *head, const HnNet *trained,
								 const char *query, const HnFitOptions *opts,
								 HanamiComparison *c);
extern char *HanamiComparisonReport(const char *report, const HanamiComparison *c);
extern char *HanamiComparisonRefusal(const HanamiComparison *c);
extern char *HanamiFitReport(const HnTrainResult *res, const HnEvalResult *eval,
							 const char *history);

#endif							/* HANAMI_PG_TRAINING_H */
