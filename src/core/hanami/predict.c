/*
 * hanami/predict.c - inference of a growing network: the border walk along a section,
 * the forward pass over the cells in depth order, the spiking state, and the
 * per-call workspace.
 */
#include "core/hanami/hanami.h"

#include <math.h>
#include <string.h>

/* Allocate a workspace for net; NULL with err set on failure. */
HkWork *
HkWorkCreate(const HkNet *net, bool training, const HnAllocator *alloc,
			   HnError *err)
{
	uint32_t	n = net->gh->n_neurons;
	uint32_t	nc = net->gh->n_cells;
	HkWork *w = HnAllocZero(alloc, sizeof(HkWork));

	if (w == NULL)
		goto nomem;
	w->n_neurons = n;
	w->n_cells = nc;
	w->order = HnAlloc(alloc, sizeof(uint16_t) * nc);
	w->value = HnAllocZero(alloc, sizeof(float) * n);
	w->sum = HnAllocZero(alloc, sizeof(float) * n);
	w->pre = HnAllocZero(alloc, sizeof(float) * n);
	w->took = HnAllocZero(alloc, n);
	if (!w->order || !w->value || !w->sum || !w->pre || !w->took)
		goto nomem;
	if (training)
	{
		w->delta = HnAllocZero(alloc, sizeof(float) * n);
		w->active = HnAlloc(alloc, sizeof(uint32_t) * n);
		w->n_active = HnAllocZero(alloc, sizeof(uint32_t) * nc);
		if (!w->delta || !w->active || !w->n_active)
			goto nomem;
	}
	/* cells by depth, ties by index (insertion sort: at most 256 cells) */
	for (uint32_t c = 0; c < nc; c++)
	{
		uint32_t	j = c;

		while (j > 0)
		{
			const HkCell *prev = &net->cells[w->order[j - 1]];

			if (prev->depth <= net->cells[c].depth)
				break;
			w->order[j] = w->order[j - 1];
			j--;
		}
		w->order[j] = (uint16_t) c;
	}
	return w;

nomem:
	HkWorkFree(w, alloc);
	HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for a network workspace");
	return NULL;
}

/* A workspace for paged inference on a head; see hanami.h. */
HkWork *
HkWorkCreatePaged(const HkNet *head, int max_batch, const HnAllocator *alloc,
				  HnError *err)
{
	HkWork	   *w = HkWorkCreate(head, false, alloc, err);
	uint32_t	nc = head->gh->n_cells;
	uint32_t	batch = max_batch > 1 ? (uint32_t) max_batch : 1;
	uint32_t	most = (4u << 20) / head->gh->n_neurons;

	if (w == NULL)
		return NULL;
	if (batch > most)
		batch = most > 1 ? most : 1;
	w->batch = batch;
	w->group_seg = HnAlloc(alloc, sizeof(int32_t) * nc);
	w->group_lo = HnAlloc(alloc, sizeof(uint32_t) * nc);
	w->group_hi = HnAlloc(alloc, sizeof(uint32_t) * nc);
	if (batch > 1)
		w->bsum = HnAlloc(alloc, sizeof(float) * head->gh->n_neurons * (size_t) batch);
	if (w->group_seg == NULL || w->group_lo == NULL || w->group_hi == NULL ||
		(batch > 1 && w->bsum == NULL))
	{
		HkWorkFree(w, alloc);
		HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for a network workspace");
		return NULL;
	}
	/* the head was checked: this finds the groups it was checked with */
	if (HkGroupRanges(head, w->group_seg, w->group_lo, w->group_hi, err) != HANAMI_OK)
	{
		HkWorkFree(w, alloc);
		return NULL;
	}
	return w;
}

/* Free a workspace (NULL is fine). */
void
HkWorkFree(HkWork *w, const HnAllocator *alloc)
{
	if (w == NULL)
		return;
	HnFree(alloc, w->order);
	HnFree(alloc, w->value);
	HnFree(alloc, w->sum);
	HnFree(alloc, w->pre);
	HnFree(alloc, w->took);
	HnFree(alloc, w->delta);
	HnFree(alloc, w->active);
	HnFree(alloc, w->n_active);
	HnFree(alloc, w->bsum);
	HnFree(alloc, w->group_seg);
	HnFree(alloc, w->group_lo);
	HnFree(alloc, w->group_hi);
	HnFree(alloc, w);
}

/* Walk one section with x of potential; returns what is left. */
float
HkWalkSection(const HkBlock *b, float x, float *sum)
{
	const HkSynapse *s = b->syn;
	int			n = b->n_used;
	int			i = 0;

	/* synapses the potential passes whole, then the one it ends in */
	for (; i < n && x >= s[i].border; i++)
	{
		if (s[i].target != HK_GAP)
			sum[s[i].target] += s[i].weight;
		x -= s[i].border;
	}
	if (i == n)
		return x;
	if (x > 0.0f && s[i].target != HK_GAP)
		sum[s[i].target] += s[i].weight * (x / s[i].border);
	return 0.0f;
}

/* A parallel section: every synapse adds weight * x. */
static inline void
HkParallelSection(const HkBlock *b, float x, float *sum)
{
	for (int i = 0; i < b->n_used; i++)
		if (b->syn[i].target != HK_GAP)
			sum[b->syn[i].target] += b->syn[i].weight * x;
}

/*
 * Send potential p (> 0) down the chain starting at block first; blocks
 * holds the image's blocks from index base on (the whole image: base 0; a
 * paged segment: its first block's index).
 */
static void
HkWalkChain(const HkCell *cells, const HkBlock *blocks, uint32_t base,
			uint32_t first, float p, float *sum)
{
	uint32_t	b = first;

	while (b != HK_NONE)
	{
		const HkBlock *blk = &blocks[b - base];
		float	   *tsum = sum + cells[blk->target_cell].first_neuron;
		float		x = p - blk->lower;

		if (x <= 0.0f)
			break;
		if (x > blk->range)
			x = blk->range;
		if (blk->flags & HK_SECTION_PARALLEL)
			HkParallelSection(blk, x, tsum);
		else
			HkWalkSection(blk, x, tsum);
		b = blk->next;
	}
}

/* Hidden activation: log2(1 + max(0, m)). */
static inline float
HkActivate(float m)
{
	return m > 0.0f ? log2f(1.0f + m) : 0.0f;
}

/*
 * The pre-activation of hidden neuron i from this row's summed input: plain
 * sum + bias, or with spiking the carried potential divided by the cooldown
 * plus this input unless the neuron is refractory.  Updates the state and
 * tells whether the neuron took this input.
 */
static inline float
HkPotential(HkNet *net, uint32_t i, float in, bool spiking, float decay,
			  uint8_t *took)
{
	HkNeuron *nr = &net->neurons[i];
	float		m;

	if (!spiking)
	{
		*took = 1;
		return in + nr->bias;
	}
	m = nr->potential * decay;
	if (nr->refractory == 0)
	{
		m += in + nr->bias;
		nr->refractory = (uint16_t) (net->gh->refractory - 1);
		*took = 1;
	}
	else
	{
		nr->refractory--;
		*took = 0;
	}
	/* keep the carried state finite whatever comes in */
	if (!(fabsf(m) <= 1e30f))
		m = m > 0.0f ? 1e30f : -1e30f;
	nr->potential = m;
	return m;
}

/*
 * One cell of one row: an input cell sends x's values down its neurons'
 * chains, a hidden cell activates its neurons and sends theirs, an output
 * cell writes its sigmoids to out.  blocks and base as for HkWalkChain: the
 * chains of this cell's neurons lie there.  Not inlined, so the whole and
 * the paged walk run the very same code (the same bits).
 */
static HK_NOINLINE void
HkCellStep(HkNet *net, const HkBlock *blocks, uint32_t base,
		   const HkCell *cell, const float *x, float *sum, float *value,
		   uint8_t *took, float *out)
{
	bool		spiking = (net->gh->flags & HK_SPIKING) != 0;
	float		decay = net->gh->cooldown > 0.0f ? 1.0f / net->gh->cooldown : 0.0f;
	uint32_t	first = cell->first_neuron;
	uint32_t	n = cell->n_neurons;

	if (cell->type == HK_CELL_INPUT)
	{
		const float *in = x + cell->io_offset;

		for (uint32_t j = 0; j < n; j++)
		{
			const HkNeuron *nr = &net->neurons[first + j];

			if (in[j] > 0.0f)
				HkWalkChain(net->cells, blocks, base, nr->section, in[j], sum);
			else if (in[j] < 0.0f)
				HkWalkChain(net->cells, blocks, base, nr->section_neg, -in[j],
							sum);
		}
	}
	else if (cell->type == HK_CELL_HIDDEN)
	{
		for (uint32_t j = 0; j < n; j++)
		{
			uint32_t	i = first + j;
			float		m = HkPotential(net, i, sum[i], spiking, decay,
										&took[i]);
			float		h = HkActivate(m);

			value[i] = h;
			if (h > 0.0f)
				HkWalkChain(net->cells, blocks, base, net->neurons[i].section,
							h, sum);
		}
	}
	else
	{
		float	   *o = out + cell->io_offset;

		for (uint32_t j = 0; j < n; j++)
		{
			uint32_t	i = first + j;

			o[j] = 1.0f / (1.0f + expf(-(sum[i] + net->neurons[i].bias)));
		}
	}
}

/* One row through the network; outputs to out. */
void
HkPredict(HkNet *net, HkWork *w, const float *x, float *out)
{
	memset(w->sum, 0, sizeof(float) * w->n_neurons);
	for (uint32_t k = 0; k < w->n_cells; k++)
		HkCellStep(net, net->blocks, 0, &net->cells[w->order[k]], x, w->sum,
				   w->value, w->took, out);
}

/*
 * The paged walk (see hanami.h HkPredictPaged): rows in chunks of the
 * work's batch; per chunk, cell by cell in the order of HkPredict, the
 * cell's segment fetched once and its step run for every row of the chunk.
 * A row's cells run in the same order with the same code as HkPredict, and
 * a spiking neuron's state still sees the rows in order, so the outputs are
 * HkPredict's bits.
 */
HnStatus
HkPredictPaged(HkNet *head, HkWork *w, const HnPager *pager, const float *x,
			   int n, float *out, HnError *err)
{
	size_t		n_in = head->hdr->n_inputs;
	size_t		n_out = head->hdr->n_outputs;
	size_t		nn = w->n_neurons;
	uint32_t	batch = w->batch > 0 ? w->batch : 1;

	if (w->group_seg == NULL)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "the workspace was not made for paged inference");
	for (int r0 = 0; r0 < n; r0 += (int) batch)
	{
		int			rows = n - r0 < (int) batch ? n - r0 : (int) batch;
		float	   *bsum = w->bsum != NULL ? w->bsum : w->sum;

		memset(bsum, 0, sizeof(float) * nn * (size_t) rows);
		for (uint32_t k = 0; k < w->n_cells; k++)
		{
			uint32_t	c = w->order[k];
			const HkCell *cell = &head->cells[c];
			const HkBlock *blocks = NULL;
			uint32_t	lo = w->group_lo[c];

			/* output cells walk nothing; a cell without sections neither */
			if (cell->type != HK_CELL_OUTPUT && w->group_seg[c] > 0)
			{
				size_t		len = 0;
				HnStatus	st;

				blocks = pager->fetch(pager->ctx, w->group_seg[c], &len, err);
				if (blocks == NULL)
					return err->code;
				st = HkCheckSegment(head, c, blocks, len, lo, w->group_hi[c],
									err);
				if (st != HANAMI_OK)
					return st;
			}
			for (int r = 0; r < rows; r++)
				HkCellStep(head, blocks, lo, cell,
						   x + (size_t) (r0 + r) * n_in, bsum + nn * (size_t) r,
						   w->value, w->took, out + (size_t) (r0 + r) * n_out);
		}
	}
	return HANAMI_OK;
}

/* Clear every neuron's carried potential and refractory counter. */
void
HkResetState(HkNet *net)
{
	for (uint32_t i = 0; i < net->gh->n_neurons; i++)
	{
		net->neurons[i].potential = 0.0f;
		net->neurons[i].refractory = 0;
	}
}
