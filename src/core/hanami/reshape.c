/*
 * hanami/reshape.c - a new layout of cells for a trained growing network
 * that keeps what it learned (the kind's reshape operation, kind.h).
 *
 * The description is {"cells": [...]} - one entry per cell of the new
 * network, in order: {"from": <old cell index or name>, "neurons": n} takes
 * over an old cell (n: its new neuron count, default the old one);
 * {"position": [x, y, z], "neurons": n, "name": ..} without "from" is a new
 * hidden cell (default 256 neurons).  Old cells keep their order; those no entry takes over
 * are removed.  {"layers": [n0, n1, ...]} is short for taking over every
 * cell with these counts.
 *
 *   - input and output cells are always taken over with their counts (the
 *     network's inputs and outputs stay);
 *   - a hidden cell made wider gets new neurons at the end of its range:
 *     bias 0, no sections, nothing ends in them yet, so they stay at 0 and
 *     the outputs do not change; training grows synapses into them and
 *     sections out of them like into any neuron;
 *   - a new hidden cell has no sections: the outputs do not change.  It
 *     must leave the depth (hops from the input cells) of every old cell
 *     as it was, since the order cells run in and where sections may end
 *     follow from depths;
 *   - a narrower hidden cell drops its last neurons: their chains go, and
 *     the synapses ending in them become gaps (their borders stay, so the
 *     other synapses of the section keep their ranges);
 *   - a removed hidden cell drops its neurons' chains, and every chain of
 *     another neuron is cut before its first section that ends in it (the
 *     last section kept gets an open end).  Removal must leave the depths
 *     of the other cells as they were, too.
 *
 * The function is kept exactly when no section or live synapse went.  The
 * sections kept keep their order and their bytes but for the indices that
 * moved (source neurons after a changed cell, continuations after removed
 * sections, target cells after a removed cell), so unchanged cells keep
 * their stored blocks.  Nothing is random: the same network and
 * description give the same bytes.
 */
#include "core/hanami/kind.h"

#include <float.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"

static const char *const entry_keys[] = {"from", "neurons", "position", "name", NULL};
static const char *const reshape_keys[] = {"kind", "cells", "layers", NULL};

/* One entry of the description. */
typedef struct Entry
{
	int			from;			/* old cell, or -1: new */
	uint32_t	count;
	int16_t		x, y, z;
	char		name[HANAMI_NAME_LEN];
} Entry;

#define SPEC_ERR(...) HnSetError(err, HANAMI_E_INVALID_SPEC, __VA_ARGS__)

/* The old cell an entry's "from" names. */
static HnStatus
ReadFrom(const HkNet *net, const HnJson *v, int i, int *from, HnError *err)
{
	if (v->type == HN_JSON_NULL)
	{
		*from = -1;
		return HANAMI_OK;
	}
	if (v->type == HN_JSON_STRING)
	{
		for (uint32_t c = 0; c < net->gh->n_cells; c++)
			if (net->cells[c].name[0] && strcmp(net->cells[c].name, v->u.text) == 0)
			{
				*from = (int) c;
				return HANAMI_OK;
			}
		return SPEC_ERR(NULL, "cells[%d].from names no cell of the network: \"%s\"",
						i, v->u.text);
	}
	{
		int64_t		c;
		HnStatus	st = HnJsonInt(v, "cells[].from", 0,
								   (int64_t) net->gh->n_cells - 1, &c, err);

		if (st != HANAMI_OK)
			return st;
		*from = (int) c;
	}
	return HANAMI_OK;
}

/* Read the description into entries; n gets their count. */
static HnStatus
ReadEntries(const HkNet *net, const HnJson *spec, Entry *e, int *n,
			HnError *err)
{
	const HnJson *cells = HnJsonGet(spec, "cells");
	const HnJson *layers = HnJsonGet(spec, "layers");
	HnStatus	st;

	if ((st = HnJsonCheckKeys(spec, "reshape key", reshape_keys, err)) != HANAMI_OK)
		return st;
	if ((cells == NULL) == (layers == NULL))
	{
		HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
				   "a reshape of a growing network needs \"cells\" or \"layers\" (one of them)");
		return HnSetHint(err, "For example {\"layers\": [64, 320, 10]}, or {\"cells\": [{\"from\": 0}, {\"from\": 1, \"neurons\": 320}, {\"position\": [1, 1], \"neurons\": 64}, {\"from\": 2}]}.");
	}
	if (layers != NULL)
	{
		if ((st = HnJsonArray(layers, "\"layers\"", err)) != HANAMI_OK)
			return st;
		if (layers->n != net->gh->n_cells)
			return SPEC_ERR("\"layers\" gives a neuron count for every cell; to add or remove cells use \"cells\".",
							"\"layers\" has %zu counts but the network has %u cells",
							layers->n, net->gh->n_cells);
		for (size_t i = 0; i < layers->n; i++)
		{
			memset(&e[i], 0, sizeof(Entry));
			e[i].from = (int) i;
			if ((st = HnJsonU32(&layers->u.items[i], "layers[]", 1,
								HK_MAX_CELL_NEURONS, &e[i].count, err)) != HANAMI_OK)
				return st;
		}
		*n = (int) layers->n;
		return HANAMI_OK;
	}
	if ((st = HnJsonArray(cells, "\"cells\"", err)) != HANAMI_OK)
		return st;
	if (cells->n < 2 || cells->n > HK_MAX_CELLS)
		return SPEC_ERR(NULL, "\"cells\" must have between 2 and %d entries, not %zu",
						HK_MAX_CELLS, cells->n);
	for (size_t i = 0; i < cells->n; i++)
	{
		const HnJson *c = &cells->u.items[i];
		const HnJson *v;
		int64_t		k;

		memset(&e[i], 0, sizeof(Entry));
		e[i].from = -1;
		if ((st = HnJsonObject(c, "cells[]", err)) != HANAMI_OK ||
			(st = HnJsonCheckKeys(c, "reshape cell key", entry_keys, err)) != HANAMI_OK)
			return st;
		if ((v = HnJsonGet(c, "from")) != NULL &&
			(st = ReadFrom(net, v, (int) i, &e[i].from, err)) != HANAMI_OK)
			return st;
		if ((v = HnJsonGet(c, "neurons")) != NULL &&
			(st = HnJsonU32(v, "cells[].neurons", 1, HK_MAX_CELL_NEURONS,
							&e[i].count, err)) != HANAMI_OK)
			return st;
		if (e[i].from >= 0)
		{
			if (HnJsonGet(c, "position") || HnJsonGet(c, "name"))
				return SPEC_ERR("A cell taken over keeps its position and name.",
								"cells[%zu] takes over cell %d and cannot give \"position\" or \"name\"",
								i, e[i].from);
			if (e[i].count == 0)
				e[i].count = net->cells[e[i].from].n_neurons;
			continue;
		}
		v = HnJsonGet(c, "position");
		if (v == NULL || v->type != HN_JSON_ARRAY || v->n < 2 || v->n > 3)
			return SPEC_ERR("A new cell needs its place: \"position\": [x, y] or [x, y, z].",
							"cells[%zu] is a new cell without a place", i);
		for (size_t d = 0; d < v->n; d++)
		{
			if ((st = HnJsonInt(&v->u.items[d], "cells[].position[]", -HK_MAX_COORD,
								HK_MAX_COORD, &k, err)) != HANAMI_OK)
				return st;
			if (d == 0)
				e[i].x = (int16_t) k;
			else if (d == 1)
				e[i].y = (int16_t) k;
			else
				e[i].z = (int16_t) k;
		}
		if ((v = HnJsonGet(c, "name")) != NULL &&
			(st = HnJsonName(v, "cell", e[i].name, err)) != HANAMI_OK)
			return st;
		if (e[i].count == 0)
			e[i].count = HK_DEFAULT_NEURONS;
	}
	*n = (int) cells->n;
	return HANAMI_OK;
}

/* The reshaped image; see the top of the file. */
HnStatus
HkReshape(const HnNet *hn, const HnJson *json, const HnAllocator *alloc,
		  void **image, size_t *len, HnBuf *changes, HnError *err)
{
	const HkNet *old = HkOf(hn);
	uint32_t	onc = old->gh->n_cells;
	uint32_t	onb = old->gh->n_blocks;
	Entry	   *e = HnAllocZero(alloc, sizeof(Entry) * HK_MAX_CELLS);
	HkSpec	   *spec = HnAllocZero(alloc, sizeof(HkSpec));
	int			new_of[HK_MAX_CELLS];	/* old cell -> new, or -1 */
	uint32_t   *nmap = NULL;	/* old neuron -> new, or HK_NONE */
	uint32_t   *bmap = NULL;	/* old block -> new, or HK_NONE */
	bool	   *keep = NULL;
	HkNet		net;
	uint32_t	nb = 0;
	uint64_t	synapses_removed = 0;
	uint32_t	sections_removed = 0;
	int			n = 0;
	int			last = -1;
	HnStatus	st;

	*image = NULL;
	*len = 0;
	if (e == NULL || spec == NULL)
	{
		st = HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for a reshape");
		goto done;
	}
	if ((st = ReadEntries(old, json, e, &n, err)) != HANAMI_OK)
		goto done;

	/* which old cells go where */
	for (uint32_t c = 0; c < onc; c++)
		new_of[c] = -1;
	for (int i = 0; i < n; i++)
	{
		if (e[i].from < 0)
			continue;
		if (e[i].from <= last)
		{
			st = SPEC_ERR("Cells taken over keep their order, each once.",
						  "cells[%d] takes over cell %d after cell %d", i, e[i].from, last);
			goto done;
		}
		last = e[i].from;
		new_of[e[i].from] = i;
	}
	for (uint32_t c = 0; c < onc; c++)
	{
		const HkCell *cell = &old->cells[c];
		int			i = new_of[c];

		if (cell->type == HK_CELL_HIDDEN)
			continue;
		if (i < 0)
		{
			st = SPEC_ERR("The input and output cells are the network's inputs and outputs: every reshape keeps them.",
						  "cannot remove %s cell %u", HkCellTypeName(cell->type), c);
			goto done;
		}
		if (e[i].count != cell->n_neurons)
		{
			st = SPEC_ERR("The input and output cells are the network's inputs and outputs: their neuron counts stay.",
						  "cannot change the neuron count of %s cell %u from %u to %u",
						  HkCellTypeName(cell->type), c, cell->n_neurons, e[i].count);
			goto done;
		}
	}

	/* the new description: old settings, cells taken over or new */
	spec->n_cells = n;
	spec->max_distance = old->gh->max_distance;
	spec->cooldown = old->gh->cooldown;
	spec->refractory = old->gh->refractory;
	spec->reduction = (old->gh->flags & HK_REDUCTION) != 0;
	spec->reduction_threshold = old->gh->reduction_threshold;
	spec->max_blocks = old->gh->max_blocks;
	spec->seed = old->hdr->seed;
	for (int i = 0; i < n; i++)
	{
		HkCellSpec *cs = &spec->cells[i];

		if (e[i].from >= 0)
		{
			const HkCell *cell = &old->cells[e[i].from];

			cs->x = cell->x;
			cs->y = cell->y;
			cs->z = cell->z;
			cs->type = (HkCellType) cell->type;
			cs->axon = cell->axon == HK_NO_AXON ? -1 : new_of[cell->axon];
			memcpy(cs->name, cell->name, HANAMI_NAME_LEN);
		}
		else
		{
			cs->x = e[i].x;
			cs->y = e[i].y;
			cs->z = e[i].z;
			cs->type = HK_CELL_HIDDEN;
			cs->axon = -1;
			memcpy(cs->name, e[i].name, HANAMI_NAME_LEN);
		}
		cs->count = e[i].count;
	}
	if ((st = HkSpecFinalize(spec, err)) != HANAMI_OK)
		goto done;

	/* neurons and sections kept */
	nmap = HnAlloc(alloc, sizeof(uint32_t) * old->gh->n_neurons);
	bmap = HnAlloc(alloc, sizeof(uint32_t) * (onb + 1));
	keep = HnAllocZero(alloc, onb + 1);
	if (nmap == NULL || bmap == NULL || keep == NULL)
	{
		st = HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for a reshape");
		goto done;
	}
	{
		uint32_t	first = 0;
		uint32_t	firsts[HK_MAX_CELLS];

		for (int i = 0; i < n; i++)
		{
			firsts[i] = first;
			first += e[i].count;
		}
		for (uint32_t c = 0; c < onc; c++)
			for (uint32_t j = 0; j < old->cells[c].n_neurons; j++)
				nmap[old->cells[c].first_neuron + j] =
					new_of[c] >= 0 && j < e[new_of[c]].count ?
					firsts[new_of[c]] + j : HK_NONE;
	}
	/* each kept neuron's chains up to the first section into a removed cell */
	for (uint32_t i = 0; i < old->gh->n_neurons; i++)
		for (int neg = 0; neg < 2; neg++)
		{
			uint32_t	b = neg ? old->neurons[i].section_neg : old->neurons[i].section;

			if (nmap[i] == HK_NONE)
				continue;
			for (; b != HK_NONE; b = old->blocks[b].next)
			{
				if (new_of[old->blocks[b].target_cell] < 0)
					break;
				keep[b] = true;
			}
		}
	for (uint32_t b = 0; b < onb; b++)
	{
		bmap[b] = keep[b] ? nb++ : HK_NONE;
		if (!keep[b])
		{
			sections_removed++;
			for (int s = 0; s < old->blocks[b].n_used; s++)
				synapses_removed += old->blocks[b].syn[s].target != HK_GAP;
		}
	}

	*len = HkSpecImageSize(spec, err);
	if (*len == 0 || (*len = HkImageSize((uint32_t) n, HkSpecNeurons(spec), nb, err)) == 0)
	{
		st = err->code;
		goto done;
	}
	*image = HnAlloc(alloc, *len);
	if (*image == NULL)
	{
		st = HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for a reshape");
		goto done;
	}
	if ((st = HkCreate(*image, *len, spec, nb, err)) != HANAMI_OK)
		goto done;
	HkBindTrusted(&net, *image);
	for (uint32_t c = 0; c < onc; c++)
		if (new_of[c] >= 0 && net.cells[new_of[c]].depth != old->cells[c].depth)
		{
			st = SPEC_ERR("Cells run in the order of their depth (hops from the input cells) and sections only end in deeper cells, so a reshape that moves a cell's depth would change what the network computes.",
						  "the new layout moves cell %u from depth %u to depth %u",
						  c, old->cells[c].depth, net.cells[new_of[c]].depth);
			HnSetHint(err, "Place new cells no nearer to the input cells than the cells around them, and remove only cells no other cell's depth goes through.");
			goto done;
		}
	net.hdr->epochs = old->hdr->epochs;
	net.hdr->samples = old->hdr->samples;
	net.gh->n_history = old->gh->n_history;
	memcpy(net.gh->history, old->gh->history, sizeof(old->gh->history));
	for (uint32_t i = 0; i < old->gh->n_neurons; i++)
	{
		HkNeuron   *nr;

		if (nmap[i] == HK_NONE)
			continue;
		nr = &net.neurons[nmap[i]];
		*nr = old->neurons[i];
		nr->section = nr->section == HK_NONE ? HK_NONE : bmap[nr->section];
		nr->section_neg = nr->section_neg == HK_NONE ? HK_NONE : bmap[nr->section_neg];
	}
	for (uint32_t b = 0; b < onb; b++)
	{
		HkBlock    *blk;
		const HkCell *tc;

		if (!keep[b])
			continue;
		blk = &net.blocks[bmap[b]];
		*blk = old->blocks[b];
		blk->source = nmap[blk->source];
		blk->target_cell = (uint16_t) new_of[blk->target_cell];
		if (blk->next != HK_NONE && !keep[blk->next])
		{
			/* the chain is cut here: its last section is open */
			blk->next = HK_NONE;
			blk->range = FLT_MAX;
		}
		else if (blk->next != HK_NONE)
			blk->next = bmap[blk->next];
		tc = &net.cells[blk->target_cell];
		for (int s = 0; s < blk->n_used; s++)
			if (blk->syn[s].target != HK_GAP && blk->syn[s].target >= tc->n_neurons)
			{
				blk->syn[s].target = HK_GAP;
				blk->syn[s].weight = 0.0f;
				blk->syn[s].counter = 0;
				synapses_removed++;
			}
	}
	HkRecount(&net);
	if ((old->gh->flags & HK_GROUPED) && nb > 0 && HkBlocksGrouped(&net))
		net.gh->flags |= HK_GROUPED;
	{
		HkNet		check;

		if (HkBind(&check, *image, *len, err) != HANAMI_OK)
		{
			char		msg[HANAMI_ERRMSG_LEN];

			snprintf(msg, sizeof(msg), "%s", err->message);
			st = SPEC_ERR("The sections kept must still be valid in the new layout.",
						  "the new layout cannot keep the network's sections: %s", msg);
			goto done;
		}
	}

	/* what changed */
	HnBufPrintf(changes, "{\"kind\": \"hanami\", \"cells\": [");
	for (int i = 0; i < n; i++)
	{
		const char *what = "added";
		uint32_t	was = 0;

		if (e[i].from >= 0)
		{
			was = old->cells[e[i].from].n_neurons;
			what = e[i].count > was ? "widened" : e[i].count < was ? "narrowed" : "kept";
		}
		HnBufPrintf(changes, "%s{\"cell\": %d, \"name\": ", i ? ", " : "", i);
		HnBufJsonString(changes, net.cells[i].name);
		HnBufPrintf(changes, ", \"type\": \"%s\", \"change\": \"%s\", ",
					HkCellTypeName(net.cells[i].type), what);
		if (e[i].from >= 0)
			HnBufPrintf(changes, "\"from\": %d, \"was\": %u, ", e[i].from, was);
		else
			HnBufPrintf(changes, "\"from\": null, \"was\": null, ");
		HnBufPrintf(changes, "\"neurons\": %u}", e[i].count);
	}
	HnBufPrintf(changes, "], \"removed\": [");
	{
		bool		any = false;

		for (uint32_t c = 0; c < onc; c++)
			if (new_of[c] < 0)
			{
				HnBufPrintf(changes, "%s{\"cell\": %u, \"name\": ", any ? ", " : "", c);
				HnBufJsonString(changes, old->cells[c].name);
				HnBufPrintf(changes, ", \"neurons\": %u}", old->cells[c].n_neurons);
				any = true;
			}
	}
	HnBufPrintf(changes, "], \"sections_removed\": %u, \"synapses_removed\": %llu, \"function_kept\": %s}",
				sections_removed, (unsigned long long) synapses_removed,
				sections_removed == 0 && synapses_removed == 0 ? "true" : "false");
	st = HANAMI_OK;

done:
	if (st != HANAMI_OK)
	{
		HnFree(alloc, *image);
		*image = NULL;
		*len = 0;
	}
	HnFree(alloc, e);
	HnFree(alloc, spec);
	HnFree(alloc, nmap);
	HnFree(alloc, bmap);
	HnFree(alloc, keep);
	return st;
}
