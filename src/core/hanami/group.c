/*
 * hanami/group.c - grouping a growing network's blocks by their source's
 * cell (hanami.h HkGroup), so that each cell's sections are one run of the
 * image: a segment the store keeps, and paged inference fetches, on its own.
 */
#include "core/hanami/hanami.h"

#include <string.h>

/* Put the blocks in the order of their source's cell; see hanami.h. */
bool
HkGroup(HkNet *net, const HnAllocator *alloc)
{
	uint32_t	nb = net->gh->n_blocks;
	uint32_t	nc = net->gh->n_cells;
	uint32_t	nn = net->gh->n_neurons;
	uint32_t   *cell_of;
	uint32_t   *where;
	HkBlock    *copy;
	uint32_t	start[HK_MAX_CELLS + 1];

	if (nb == 0)
		return true;
	cell_of = HnAlloc(alloc, sizeof(uint32_t) * nn);
	where = HnAlloc(alloc, sizeof(uint32_t) * nb);
	copy = HnAlloc(alloc, sizeof(HkBlock) * (size_t) nb);
	if (cell_of == NULL || where == NULL || copy == NULL)
	{
		HnFree(alloc, cell_of);
		HnFree(alloc, where);
		HnFree(alloc, copy);
		return false;
	}
	for (uint32_t c = 0; c < nc; c++)
		for (uint32_t j = 0; j < net->cells[c].n_neurons; j++)
			cell_of[net->cells[c].first_neuron + j] = c;

	/* a counting sort by cell: each cell's blocks in their old order */
	memset(start, 0, sizeof(start));
	for (uint32_t b = 0; b < nb; b++)
		start[cell_of[net->blocks[b].source] + 1]++;
	for (uint32_t c = 0; c < nc; c++)
		start[c + 1] += start[c];
	for (uint32_t b = 0; b < nb; b++)
		where[b] = start[cell_of[net->blocks[b].source]]++;

	memcpy(copy, net->blocks, sizeof(HkBlock) * (size_t) nb);
	for (uint32_t b = 0; b < nb; b++)
	{
		HkBlock    *blk = &net->blocks[where[b]];

		*blk = copy[b];
		if (blk->next != HK_NONE)
			blk->next = where[blk->next];
	}
	for (uint32_t i = 0; i < nn; i++)
	{
		HkNeuron   *nr = &net->neurons[i];

		if (nr->section != HK_NONE)
			nr->section = where[nr->section];
		if (nr->section_neg != HK_NONE)
			nr->section_neg = where[nr->section_neg];
	}
	net->gh->flags |= HK_GROUPED;
	HnFree(alloc, cell_of);
	HnFree(alloc, where);
	HnFree(alloc, copy);
	return true;
}
