/*
 * stats.c - one-pass column statistics (see stats.h).
 */
#include "core/stats.h"

#include <string.h>

/* Empty statistics of n columns. */
HnStatus
StatsInit(HnColumnStats *s, uint32_t n, const HnAllocator *alloc,
		  HnError *err)
{
	size_t		bytes = (size_t) (n > 0 ? n : 1) * sizeof(double);

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->mean = HnAllocZero(alloc, bytes);
	s->m2 = HnAllocZero(alloc, bytes);
	if (s->mean == NULL || s->m2 == NULL)
	{
		StatsFree(s, alloc);
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for column statistics");
	}
	return HANAMI_OK;
}

/* Welford's update of every column by one row. */
void
StatsAdd(HnColumnStats *s, const float *row)
{
	double		count = (double) ++s->count;

	for (uint32_t j = 0; j < s->n; j++)
	{
		double		v = row[j];
		double		d = v - s->mean[j];

		s->mean[j] += d / count;
		s->m2[j] += d * (v - s->mean[j]);
	}
}

/* Total sum of squares about the column means. */
double
StatsSumM2(const HnColumnStats *s)
{
	double		sum = 0.0;

	for (uint32_t j = 0; j < s->n; j++)
		sum += s->m2[j];
	return sum;
}

/* Free the arrays. */
void
StatsFree(HnColumnStats *s, const HnAllocator *alloc)
{
	HnFree(alloc, s->mean);
	HnFree(alloc, s->m2);
	s->mean = NULL;
	s->m2 = NULL;
}
