/*
 * grow_reduce.c - the reduction pass of a growing network: synapses that did
 * not help since the last pass are removed, leaving their border as a gap so
 * the synapses after them keep their ranges.
 */
#include "grow.h"

#include <float.h>
#include <string.h>

/*
 * Merge neighbouring gaps of a section and drop trailing ones; a parallel
 * section, whose order does not matter, drops all of them.
 */
static void
GrowCompactSection(HnGrowBlock *blk)
{
	int			out = 0;
	bool		parallel = (blk->flags & HANAMI_SECTION_PARALLEL) != 0;

	for (int i = 0; i < blk->n_used; i++)
	{
		HnGrowSynapse s = blk->syn[i];

		if (parallel && s.target == HANAMI_GROW_GAP)
			continue;

		if (s.target == HANAMI_GROW_GAP && out > 0 &&
			blk->syn[out - 1].target == HANAMI_GROW_GAP)
		{
			float		b = blk->syn[out - 1].border + s.border;

			blk->syn[out - 1].border = b <= FLT_MAX ? b : FLT_MAX;
			continue;
		}
		blk->syn[out++] = s;
	}
	while (out > 0 && blk->syn[out - 1].target == HANAMI_GROW_GAP)
		out--;
	memset(&blk->syn[out], 0, sizeof(HnGrowSynapse) * (size_t) (HANAMI_GROW_SYNAPSES - out));
	blk->n_used = (uint8_t) out;
}

/* Remove the synapses that helped too rarely; returns how many. */
uint64_t
GrowReduce(HnGrowNet *net)
{
	uint32_t	threshold = net->gh->reduction_threshold;
	uint64_t	removed = 0;

	for (uint32_t b = 0; b < net->gh->n_blocks; b++)
	{
		HnGrowBlock *blk = &net->blocks[b];
		bool		any = false;

		for (int i = 0; i < blk->n_used; i++)
		{
			HnGrowSynapse *s = &blk->syn[i];

			if (s->target == HANAMI_GROW_GAP)
				continue;
			if (s->counter >= HANAMI_GROW_COUNTER_CAP)
				continue;		/* persistent */
			if (s->counter < threshold)
			{
				s->target = HANAMI_GROW_GAP;
				s->weight = 0.0f;
				removed++;
				any = true;
			}
			s->counter = 0;
		}
		if (any)
			GrowCompactSection(blk);
	}
	GrowRecount(net);
	return removed;
}
