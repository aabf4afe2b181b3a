/*
 * average.h - the weighted mean of networks of one architecture
 * (hanami.average): the first network added is the template, every other
 * must pass its kind's average_check against it, and each adds weight
 * times its parameters to sums kept in double, so that the mean does not
 * depend on how many networks went in beyond rounding.  Two accumulators
 * merge (parallel aggregation).  The result is the template with every
 * parameter the sum over the total weight, rounded to float.
 */
#ifndef HANAMI_CORE_AVERAGE_H
#define HANAMI_CORE_AVERAGE_H

#include "core/common.h"
#include "core/kind.h"

typedef struct HnAverage
{
	void	   *image;			/* the template's image (alloc'd); NULL: empty */
	size_t		len;
	double	   *sum;			/* weight x parameter, summed */
	size_t		n;				/* parameters */
	double		weight;			/* total weight */
	int64_t		count;			/* networks added */
} HnAverage;

/*
 * Add net with weight w (finite, >= 0) to acc (zeroed to start); memory
 * from alloc.  HANAMI_E_INVALID_ARGUMENT for a bad weight or a network that
 * cannot be averaged with the others, HANAMI_E_UNSUPPORTED for a kind that
 * cannot be averaged.
 */
HnStatus	HnAverageAdd(HnAverage *acc, const HnNet *net, double w,
						 const HnAllocator *alloc, HnError *err);

/* Add everything in b to a (b unchanged). */
HnStatus	HnAverageMerge(HnAverage *a, const HnAverage *b,
						   const HnAllocator *alloc, HnError *err);

/*
 * The mean network: a new image of acc->len bytes from alloc.
 * HANAMI_E_INVALID_ARGUMENT when the weights sum to zero, or a mean is not
 * finite.
 */
HnStatus	HnAverageResult(const HnAverage *acc, const HnAllocator *alloc,
							void **image, HnError *err);

#endif							/* HANAMI_CORE_AVERAGE_H */
