/*
 * stats.h - the mean and spread of columns of values, in one pass over the
 * rows (Welford's update): what a fit learns as the output scaling and what
 * the evaluator takes r2's total sum of squares from, the same arithmetic
 * whether the rows are in memory or streamed in chunks.
 *
 * Each row updates, for every column, count, mean and m2 (the sum of the
 * squared deviations from the mean):
 *
 *     d = v - mean;  mean += d / count;  m2 += d * (v - mean)
 *
 * which stays accurate when the mean is large against the spread, unlike a
 * sum of squares minus a squared sum.  The result depends on the order of
 * the rows only through rounding: rows in the same order give the same bits.
 */
#ifndef HANAMI_CORE_STATS_H
#define HANAMI_CORE_STATS_H

#include "core/common.h"

typedef struct HnColumnStats
{
	uint32_t	n;				/* columns */
	int64_t		count;			/* rows added */
	double	   *mean;			/* n */
	double	   *m2;				/* n */
} HnColumnStats;

/* Empty statistics of n columns; HANAMI_E_NOMEM when out of memory. */
HnStatus	StatsInit(HnColumnStats *s, uint32_t n, const HnAllocator *alloc,
					  HnError *err);

/* Add one row of n values. */
void		StatsAdd(HnColumnStats *s, const float *row);

/* Sum of every column's m2: the total sum of squares about the means. */
double		StatsSumM2(const HnColumnStats *s);

/* Free the arrays (the struct is the caller's); accepts a zeroed struct. */
void		StatsFree(HnColumnStats *s, const HnAllocator *alloc);

#endif							/* HANAMI_CORE_STATS_H */
