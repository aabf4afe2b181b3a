/*
 * hanami/reduce.c - the reduction pass of a growing network: synapses that did
 * not help since the last pass are removed, leaving their border as a gap so
 * the synapses after them keep their ranges.
 */
#include "core/hanami/hanami.h"

#include <float.h>
#include <string.h>

/*
 * Merge neighbouring gaps of a section and drop trailing ones; a parallel
 * section, whose order does not matter, drops all of them.
 */
static void
HkCompactSection(HkBlock *blk)
{
	int			out = 0;
	bool		parallel = (blk->flags & HK_SECTION_PARALLEL) != 0;

	for (int i = 0; i < blk->n_used; i++)
	{
		HkSynapse s = blk->syn[i];

		if (parallel && s.target == HK_GAP)
			continue;

		if (s.target == HK_GAP && out > 0 &&
			blk->syn[out - 1].target == HK_GAP)
		{
			float		b = blk->syn[out - 1].border + s.border;

			blk->syn[out - 1].border = b <= FLT_MAX ? b : FLT_MAX;
			continue;
		}
		blk->syn[out++] = s;
	}
	while (out > 0 && blk->syn[out - 1].target == HK_GAP)
		out--;
	memset(&blk->syn[out], 0, sizeof(HkSynapse) * (size_t) (HK_SYNAPSES - out));
	blk->n_used = (uint8_t) out;
}

/* Remove the synapses that helped too rarely; returns how many. */
uint64_t
HkReduce(HkNet *net)
{
	return HkReduceFrozen(net, NULL);
}

/* The same, sparing the sections into frozen cells; see hanami.h. */
uint64_t
HkReduceFrozen(HkNet *net, const HkTrainOptions *hk)
{
	uint32_t	threshold = net->gh->reduction_threshold;
	uint64_t	removed = 0;

	for (uint32_t b = 0; b < net->gh->n_blocks; b++)
	{
		HkBlock *blk = &net->blocks[b];
		bool		any = false;

		if (hk != NULL && HkCellFrozen(hk, blk->target_cell))
			continue;

		for (int i = 0; i < blk->n_used; i++)
		{
			HkSynapse *s = &blk->syn[i];

			if (s->target == HK_GAP)
				continue;
			if (s->counter >= HK_COUNTER_CAP)
				continue;		/* persistent */
			if (s->counter < threshold)
			{
				s->target = HK_GAP;
				s->weight = 0.0f;
				removed++;
				any = true;
			}
			s->counter = 0;
		}
		if (any)
			HkCompactSection(blk);
	}
	HkRecount(net);
	return removed;
}
