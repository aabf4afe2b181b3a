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

/* Send potential p (> 0) down the chain starting at block first. */
static void
HkWalkChain(const HkNet *net, uint32_t first, float p, float *sum)
{
	uint32_t	b = first;

	while (b != HK_NONE)
	{
		const HkBlock *blk = &net->blocks[b];
		float	   *tsum = sum + net->cells[blk->target_cell].first_neuron;
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

/* One row through the network; outputs to out. */
void
HkPredict(HkNet *net, HkWork *w, const float *x, float *out)
{
	bool		spiking = (net->gh->flags & HK_SPIKING) != 0;
	float		decay = net->gh->cooldown > 0.0f ? 1.0f / net->gh->cooldown : 0.0f;

	memset(w->sum, 0, sizeof(float) * w->n_neurons);
	for (uint32_t k = 0; k < w->n_cells; k++)
	{
		const HkCell *cell = &net->cells[w->order[k]];
		uint32_t	first = cell->first_neuron;
		uint32_t	n = cell->n_neurons;

		if (cell->type == HK_CELL_INPUT)
		{
			const float *in = x + cell->io_offset;

			for (uint32_t j = 0; j < n; j++)
			{
				const HkNeuron *nr = &net->neurons[first + j];

				if (in[j] > 0.0f)
					HkWalkChain(net, nr->section, in[j], w->sum);
				else if (in[j] < 0.0f)
					HkWalkChain(net, nr->section_neg, -in[j], w->sum);
			}
		}
		else if (cell->type == HK_CELL_HIDDEN)
		{
			for (uint32_t j = 0; j < n; j++)
			{
				uint32_t	i = first + j;
				float		m = HkPotential(net, i, w->sum[i], spiking, decay,
											  &w->took[i]);
				float		h = HkActivate(m);

				w->value[i] = h;
				if (h > 0.0f)
					HkWalkChain(net, net->neurons[i].section, h, w->sum);
			}
		}
		else
		{
			float	   *o = out + cell->io_offset;

			for (uint32_t j = 0; j < n; j++)
			{
				uint32_t	i = first + j;

				o[j] = 1.0f / (1.0f + expf(-(w->sum[i] + net->neurons[i].bias)));
			}
		}
	}
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
