/*
 * hanami/train.c - the stepper of a growing network (fit.h): online
 * training one row at a time, the forward pass that grows sections and
 * synapses and splits them, the backward pass through the synapses that
 * took part, and at the end of an epoch the reduction pass and the growth
 * history.  The loop over epochs and rows is the fit driver's.
 */
#include "core/hanami/kind.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "core/fit.h"
#include "core/rng.h"

/*
 * A potential left at the end of a chain grows a synapse only when it is at
 * least this fraction of the potential that entered: rounding leftovers
 * never grow anything.
 */
#define GROW_MIN_FRACTION	(1.0f / 1024.0f)
/* A synapse splits when the potential ends within this fraction of its middle. */
#define GROW_SPLIT_WINDOW	0.01f
/* ... and only while its border is at least this many grains. */
#define GROW_SPLIT_GRAINS	2.0f
/* Past the first grains, a new border is this fraction of what is covered. */
#define GROW_STEP_RATIO		0.5f
/* New weights are uniform in +-GROW_INIT_WEIGHT. */
#define GROW_INIT_WEIGHT	0.1f

/* Where a section of a neuron in some cell may end: cells with weights. */
typedef struct HkTargets
{
	int			n;
	uint16_t   *cell;
	float	   *cum;			/* cumulative weights, cum[n - 1] = total */
} HkTargets;

/*
 * One section walked by the forward pass of a training row: its first
 * `full` synapses got their whole border, synapse `full` got the fraction
 * `part` of it (when part > 0); x0 is the potential the section took.  The
 * backward pass replays this instead of walking the borders again.
 */
typedef struct HkTrace
{
	uint32_t	block;
	uint32_t	source;
	uint16_t	cell;			/* the source's cell */
	uint16_t	full;
	float		part;
	float		x0;
} HkTrace;

/* Everything one fit needs: the state of the hanami stepper. */
typedef struct HkTrainer
{
	HnNet	   *hn;				/* the fit's network: image, length, view */
	HkNet	   *net;			/* its view */
	size_t		cap;			/* bytes of the image's buffer */
	const HnAllocator *alloc;
	HkWork *work;
	HkTargets *targets;		/* per cell */
	HnRng	   *rng;			/* the fit's random stream */
	HkTrainOptions opt;
	double		total;			/* rows of the whole fit, for the rate */
	int64_t		seen;			/* rows trained so far */
	HnTrainResult *res;			/* the fit's: synapses reduction removed */
	float		lr;
	bool		grow;
	bool		full;			/* no more blocks can be added */
	float	   *target_row;		/* this row's targets, n_outputs */
	HkTrace  *trace;			/* the sections this row walked, in order */
	uint32_t	n_trace;
	uint32_t	cap_trace;
	float	   *grad;			/* dLoss/dpotential per neuron, this row */
} HkTrainer;

/* Uniform float in [0, 1). */
static inline float
HkRand(HkTrainer *t)
{
	return (float) (RngNext(t->rng) >> 40) * (1.0f / 16777216.0f);
}

/* Build the weighted target lists of every cell (nearer is likelier). */
static bool
HkBuildTargets(HkTrainer *t)
{
	const HkNet *net = t->net;
	uint32_t	nc = net->gh->n_cells;

	t->targets = HnAllocZero(t->alloc, sizeof(HkTargets) * nc);
	if (t->targets == NULL)
		return false;
	for (uint32_t a = 0; a < nc; a++)
	{
		HkTargets *gt = &t->targets[a];
		const HkCell *ca = &net->cells[a];
		float		total = 0.0f;

		gt->cell = HnAlloc(t->alloc, sizeof(uint16_t) * nc);
		gt->cum = HnAlloc(t->alloc, sizeof(float) * nc);
		if (gt->cell == NULL || gt->cum == NULL)
			return false;
		if (ca->type == HK_CELL_OUTPUT)
			continue;
		for (uint32_t c = 0; c < nc; c++)
		{
			const HkCell *cc = &net->cells[c];
			int			d;

			if (c == a || cc->type == HK_CELL_INPUT || cc->depth <= ca->depth)
				continue;
			if (ca->axon != HK_NO_AXON)
			{
				d = HkCellDistance(&net->cells[ca->axon], cc);
				if (d >= (int) net->gh->max_distance)
					continue;
				d++;
			}
			else
			{
				d = HkCellDistance(ca, cc);
				if (d > (int) net->gh->max_distance)
					continue;
			}
			total += ldexpf(1.0f, 1 - d);	/* 1, 1/2, 1/4 ... */
			gt->cell[gt->n] = (uint16_t) c;
			gt->cum[gt->n] = total;
			gt->n++;
		}
	}
	return true;
}

/* A random target cell for a new section from cell a. */
static uint16_t
HkPickCell(HkTrainer *t, int a)
{
	const HkTargets *gt = &t->targets[a];
	float		r = HkRand(t) * gt->cum[gt->n - 1];

	for (int k = 0; k < gt->n - 1; k++)
		if (r < gt->cum[k])
			return gt->cell[k];
	return gt->cell[gt->n - 1];
}

/*
 * Append a zeroed block, growing the buffer when needed.  Returns its index,
 * or HK_NONE when the network is at max_sections or out of memory
 * (growth then simply stops).  Pointers into the image move: callers keep
 * indices.
 */
static uint32_t
HkAppendBlock(HkTrainer *t)
{
	HkHeader *gh = t->net->gh;
	size_t		need;

	if (t->full || gh->n_blocks >= gh->max_blocks)
	{
		t->full = true;
		return HK_NONE;
	}
	need = t->hn->len + sizeof(HkBlock);
	if (need > HANAMI_MAX_BYTES)
	{
		t->full = true;
		return HK_NONE;
	}
	if (need > t->cap)
	{
		size_t		cap = t->cap + t->cap / 2 + 64 * sizeof(HkBlock);
		void	   *nb;

		if (cap > HANAMI_MAX_BYTES)
			cap = HANAMI_MAX_BYTES;
		nb = HnAlloc(t->alloc, cap);
		if (nb == NULL)
		{
			t->full = true;
			return HK_NONE;
		}
		memcpy(nb, t->hn->hdr, t->hn->len);
		HnFree(t->alloc, t->hn->hdr);
		t->cap = cap;
		/* the fit's network follows its image */
		t->hn->hdr = nb;
		HkBindTrusted(t->net, nb);
		gh = t->net->gh;
	}
	memset((char *) t->hn->hdr + t->hn->len, 0, sizeof(HkBlock));
	t->hn->len = need;
	t->net->hdr->total_size = need;
	gh->n_blocks++;
	return gh->n_blocks - 1;
}

/* Fill a new synapse with border x into target neuron k of cell tc. */
static void
HkNewSynapse(HkTrainer *t, HkSynapse *s, float x, uint32_t k)
{
	s->weight = (2.0f * HkRand(t) - 1.0f) * GROW_INIT_WEIGHT;
	s->border = x;
	s->target = (uint16_t) k;
	s->counter = 0;
	s->reserved = 0;
	t->net->gh->n_synapses++;
	t->net->hdr->n_params++;
}

/*
 * A new section of neuron i (of cell c) starting at potential lower, into a
 * cell picked by distance.  A section from a hidden neuron into an output
 * cell is parallel and is made whole at once: one synapse per output neuron
 * (beyond 64 outputs, parallel continuations with the same lower bound).
 * Returns the first new block, or HK_NONE.
 */
static uint32_t
HkNewSection(HkTrainer *t, uint32_t i, int c, float lower, float grain,
			   uint8_t flags)
{
	uint16_t	tc = HkPickCell(t, c);
	bool		parallel = t->net->cells[c].type == HK_CELL_HIDDEN &&
		t->net->cells[tc].type == HK_CELL_OUTPUT;
	uint32_t	n_out = t->net->cells[tc].n_neurons;
	uint32_t	first = HK_NONE;
	uint32_t	prev = HK_NONE;
	uint32_t	base = 0;

	do
	{
		uint32_t	b = HkAppendBlock(t);
		HkBlock *blk;

		if (b == HK_NONE)
			break;
		blk = &t->net->blocks[b];
		blk->source = i;
		blk->next = HK_NONE;
		blk->lower = lower;
		blk->range = FLT_MAX;
		blk->target_cell = tc;
		blk->grain = grain;
		blk->flags = flags;
		if (parallel)
		{
			blk->flags |= HK_SECTION_PARALLEL;
			if (prev != HK_NONE)
				blk->flags |= HK_SECTION_CONTINUATION;
			for (; base < n_out && blk->n_used < HK_SYNAPSES; base++)
				HkNewSynapse(t, &blk->syn[blk->n_used++], 1.0f, base);
		}
		if (prev != HK_NONE)
			t->net->blocks[prev].next = b;
		else
			first = b;
		prev = b;
	} while (parallel && base < n_out);
	return first;
}

/*
 * Split synapse i of blk where the potential keeps landing near its middle:
 * two synapses of half the border and half the weight each; the first keeps
 * the target, the second goes to a new one, so the response keeps its shape
 * up to the middle and the section gains a target where values are dense.
 * Returns the new border of synapse i.
 */
static float
HkSplit(HkTrainer *t, HkBlock *blk, int i, const HkCell *tc)
{
	HkSynapse *s = &blk->syn[i];

	memmove(&blk->syn[i + 1], &blk->syn[i],
			sizeof(HkSynapse) * (size_t) (blk->n_used - i));
	blk->n_used++;
	s->border *= 0.5f;
	s->weight *= 0.5f;
	blk->syn[i + 1].border = s->border;
	blk->syn[i + 1].weight = s->weight;
	blk->syn[i + 1].counter = 0;
	blk->syn[i + 1].target = (uint16_t) RngBelow(t->rng, tc->n_neurons);
	t->net->gh->n_synapses++;
	t->net->hdr->n_params++;
	return s->border;
}

/*
 * Training walk of one section with x of potential (p entered the chain):
 * grows a synapse at the end while potential is left, splits a synapse the
 * potential ends near the middle of, and adds the contributions to sum[].
 * Returns the potential left.
 */
static float
HkTrainSection(HkTrainer *t, HkBlock *blk, float x, float p, float *sum,
				 HkTrace *tr)
{
	const HkCell *tc = &t->net->cells[blk->target_cell];
	float		min_left = p * GROW_MIN_FRACTION;
	int			full;
	HkSynapse  *sy;
	int			n;
	float		x0;
	int			i = 0;

	tr->x0 = x;
	tr->part = 0.0f;
	if (blk->flags & HK_SECTION_PARALLEL)
	{
		for (int i = 0; i < blk->n_used; i++)
			if (blk->syn[i].target != HK_GAP)
				sum[blk->syn[i].target] += blk->syn[i].weight * x;
		tr->full = blk->n_used;
		return 0.0f;
	}
	sy = blk->syn;
	n = blk->n_used;
	x0 = x;

	/* synapses the potential passes whole */
	for (; i < n; i++)
	{
		float		border = sy[i].border;

		if (x < border)
			break;
		if (sy[i].target != HK_GAP)
			sum[sy[i].target] += sy[i].weight;
		x -= border;
	}
	full = i;
	if (i < n)
	{
		/* the potential ends inside synapse i */
		float		border = sy[i].border;

		if (x <= 0.0f)
			goto done;
		if (t->grow && n < HK_SYNAPSES && sy[i].target != HK_GAP &&
			border >= GROW_SPLIT_GRAINS * blk->grain &&
			fabsf(x - 0.5f * border) < GROW_SPLIT_WINDOW * border)
		{
			border = HkSplit(t, blk, i, tc);
			if (x >= border)
			{
				/* past the first half: it is whole, the second half partial */
				sum[sy[i].target] += sy[i].weight;
				x -= border;
				full = ++i;
				if (x <= 0.0f)
					goto done;
			}
		}
		tr->part = x / border;
		if (sy[i].target != HK_GAP)
			sum[sy[i].target] += sy[i].weight * tr->part;
		x = 0.0f;
		goto done;
	}
	/* past the last synapse: grow while potential is left */
	while (x > 0.0f && t->grow && i < HK_SYNAPSES && x > min_left)
	{
		/*
		 * A grain at a time near zero, then steps growing with the potential
		 * covered so far: a value reaches several targets, and a value of
		 * any magnitude needs only logarithmically many.
		 */
		float		covered = blk->lower + (x0 - x);
		float		step = fmaxf(blk->grain, GROW_STEP_RATIO * covered);
		float		border = x > 1.25f * step ? step : x;

		HkNewSynapse(t, &sy[i], border, RngBelow(t->rng, tc->n_neurons));
		blk->n_used++;
		sum[sy[i].target] += sy[i].weight;
		x -= border;
		full = ++i;
	}

done:
	tr->full = (uint16_t) full;
	return x > 0.0f ? x : 0.0f;
}

/* Sum of the borders of a section's synapses. */
static float
HkSectionSpan(const HkBlock *blk)
{
	float		span = 0.0f;

	for (int i = 0; i < blk->n_used; i++)
		span += blk->syn[i].border;
	return span;
}

/* Room for more trace entries; false when out of memory. */
static bool
HkTraceGrow(HkTrainer *t)
{
	uint32_t	cap = t->cap_trace ? t->cap_trace * 2 : 1024;
	HkTrace  *nt = HnAlloc(t->alloc, sizeof(HkTrace) * cap);

	if (nt == NULL)
		return false;
	if (t->n_trace > 0)
		memcpy(nt, t->trace, sizeof(HkTrace) * t->n_trace);
	HnFree(t->alloc, t->trace);
	t->trace = nt;
	t->cap_trace = cap;
	return true;
}

/*
 * Send potential p of neuron i (cell c) down its chain (negative: the chain
 * of negative values), growing it as needed and tracing what it walks.
 * False when out of memory.
 */
static bool
HkTrainChain(HkTrainer *t, uint32_t i, int c, float p, bool negative)
{
	uint8_t		flags = negative ? HK_SECTION_NEGATIVE : 0;
	uint32_t	b = negative ? t->net->neurons[i].section_neg : t->net->neurons[i].section;
	HkTrace  *tr;

	if (b == HK_NONE)
	{
		if (!t->grow)
			return true;
		b = HkNewSection(t, i, c, 0.0f, p / HK_GRAIN, flags);
		if (b == HK_NONE)
			return true;
		if (negative)
			t->net->neurons[i].section_neg = b;
		else
			t->net->neurons[i].section = b;
	}
	while (b != HK_NONE)
	{
		HkBlock *blk = &t->net->blocks[b];
		float		x = p - blk->lower;
		float		left;

		if (x <= 0.0f)
			break;
		if (x > blk->range)
			x = blk->range;
		if (t->n_trace == t->cap_trace && !HkTraceGrow(t))
			return false;
		tr = &t->trace[t->n_trace++];
		tr->block = b;
		tr->source = i;
		tr->cell = (uint16_t) c;
		left = HkTrainSection(t, blk, x, p,
								t->work->sum + t->net->cells[blk->target_cell].first_neuron,
								tr);
		if (left > p * GROW_MIN_FRACTION && t->grow && blk->next == HK_NONE &&
			blk->n_used == HK_SYNAPSES && blk->range == FLT_MAX)
		{
			/* the section is full: close its range and continue elsewhere */
			uint32_t	nb;

			blk->range = HkSectionSpan(blk);
			nb = HkNewSection(t, i, c, blk->lower + blk->range, blk->grain,
								flags | HK_SECTION_CONTINUATION);
			if (nb == HK_NONE)
			{
				t->net->blocks[b].range = FLT_MAX;
				break;
			}
			t->net->blocks[b].next = nb;	/* the image may have moved */
		}
		b = t->net->blocks[b].next;
	}
	return true;
}

/* Forward pass of one training row, growing as it goes; false on OOM. */
static bool
HkTrainForward(HkTrainer *t, const float *x)
{
	HkWork *w = t->work;
	bool		spiking = (t->net->gh->flags & HK_SPIKING) != 0;
	float		decay = t->net->gh->cooldown > 0.0f ? 1.0f / t->net->gh->cooldown : 0.0f;
	bool		ok = true;

	t->n_trace = 0;
	memset(w->sum, 0, sizeof(float) * w->n_neurons);
	for (uint32_t k = 0; k < w->n_cells; k++)
	{
		int			c = w->order[k];
		const HkCell *cell = &t->net->cells[c];
		uint32_t	first = cell->first_neuron;
		uint32_t	n = cell->n_neurons;
		uint32_t   *act = w->active + first;
		uint32_t	na = 0;

		if (cell->type == HK_CELL_INPUT)
		{
			const float *in = x + cell->io_offset;

			for (uint32_t j = 0; j < n; j++)
			{
				w->value[first + j] = in[j];
				if (in[j] == 0.0f)
					continue;
				act[na++] = first + j;
				ok &= HkTrainChain(t, first + j, c, fabsf(in[j]), in[j] < 0.0f);
				cell = &t->net->cells[c];	/* the image may have moved */
			}
		}
		else if (cell->type == HK_CELL_HIDDEN)
		{
			for (uint32_t j = 0; j < n; j++)
			{
				uint32_t	i = first + j;
				HkNeuron *nr = &t->net->neurons[i];
				float		m;

				if (!spiking)
				{
					m = w->sum[i] + nr->bias;
					w->took[i] = 1;
				}
				else
				{
					m = nr->potential * decay;
					if (nr->refractory == 0)
					{
						m += w->sum[i] + nr->bias;
						nr->refractory = (uint16_t) (t->net->gh->refractory - 1);
						w->took[i] = 1;
					}
					else
					{
						nr->refractory--;
						w->took[i] = 0;
					}
					if (!(fabsf(m) <= 1e30f))
						m = m > 0.0f ? 1e30f : -1e30f;
					nr->potential = m;
				}
				w->pre[i] = m;
				w->value[i] = m > 0.0f ? log2f(1.0f + m) : 0.0f;
				if (w->value[i] > 0.0f)
				{
					act[na++] = i;
					ok &= HkTrainChain(t, i, c, w->value[i], false);
				}
			}
		}
		else
		{
			for (uint32_t j = 0; j < n; j++)
			{
				uint32_t	i = first + j;

				w->value[i] = 1.0f / (1.0f + expf(-(w->sum[i] + t->net->neurons[i].bias)));
			}
		}
		w->n_active[c] = na;
	}
	return ok;
}

/*
 * Replay one traced section backward: update the weights of the synapses
 * that took part, count the ones that helped, and return the gradient for
 * the potential that entered it.  A walked section's response is piecewise
 * linear with many kinks; the gradient used is its secant slope, the
 * section's contribution divided by its potential, which is smooth in the
 * potential (for a parallel section it is the exact slope).
 */
static inline float
HkBackSection(HkTrainer *t, const HkTrace *tr)
{
	HkBlock *blk = &t->net->blocks[tr->block];
	const float *dl = t->work->delta + t->net->cells[blk->target_cell].first_neuron;
	HkSynapse *s = blk->syn;
	float		lr = t->lr;
	float		gs = 0.0f;
	int			full = tr->full;

	if (blk->flags & HK_SECTION_PARALLEL)
	{
		float		x = tr->x0;

		for (int k = 0; k < full; k++)
		{
			HkSynapse *sy = &s[k];
			float		w = sy->weight;
			float		d;

			if (sy->target == HK_GAP)
				continue;
			d = dl[sy->target];
			gs += d * w;
			sy->counter += (uint8_t) ((d * w < 0.0f) &
									  (sy->counter < HK_COUNTER_CAP));
			sy->weight = w - lr * d * x;
		}
		return gs;
	}
	/* the first `full` synapses had a = 1, synapse `full` had a = part */
	for (int k = 0; k <= full && k < blk->n_used; k++)
	{
		HkSynapse *sy = &s[k];
		float		a = k < full ? 1.0f : tr->part;
		float		w = sy->weight;
		float		d;

		if (sy->target == HK_GAP || a == 0.0f)
			continue;
		d = dl[sy->target] * a;
		gs += d * w;
		/* helped: its contribution moved the target the right way */
		sy->counter += (uint8_t) ((d * w < 0.0f) &
								  (sy->counter < HK_COUNTER_CAP));
		sy->weight = w - lr * d;
	}
	return gs / tr->x0;
}

/*
 * Deltas of the active hidden neurons of cell c, from the gradients their
 * sections collected: d log2(1 + m) / dm = 1 / ((1 + m) ln 2).
 */
static void
HkFinishCell(HkTrainer *t, int c)
{
	HkWork *w = t->work;
	const HkCell *cell = &t->net->cells[c];
	const uint32_t *act = w->active + cell->first_neuron;

	if (cell->type != HK_CELL_HIDDEN)
		return;
	for (uint32_t j = 0; j < w->n_active[c]; j++)
	{
		uint32_t	i = act[j];
		float		d = w->took[i] ? t->grad[i] / ((1.0f + w->pre[i]) * 0.69314718f) : 0.0f;

		w->delta[i] = d;
		t->net->neurons[i].bias -= t->lr * d;
		t->grad[i] = 0.0f;
	}
}

/*
 * Backward pass of one row: output deltas from the targets (sigmoid with
 * binary cross-entropy), then the traced sections from the last to the
 * first, which is from the deepest cells up: a hidden cell's deltas are
 * complete before the sections into it are replayed.  Returns the row's
 * loss.
 */
static double
HkTrainBackward(HkTrainer *t)
{
	HkWork *w = t->work;
	HkNet  *net = t->net;
	double		loss = 0.0;
	int			cell = -1;

	memset(w->delta, 0, sizeof(float) * w->n_neurons);
	for (uint32_t c = 0; c < net->gh->n_cells; c++)
	{
		const HkCell *oc = &net->cells[c];

		if (oc->type != HK_CELL_OUTPUT)
			continue;
		for (uint32_t j = 0; j < oc->n_neurons; j++)
		{
			uint32_t	i = oc->first_neuron + j;
			float		o = w->value[i];
			float		y = t->target_row[oc->io_offset + j];
			float		ocl = fminf(fmaxf(o, 1e-7f), 1.0f - 1e-7f);

			loss -= y * logf(ocl) + (1.0f - y) * logf(1.0f - ocl);
			w->delta[i] = o - y;
			net->neurons[i].bias -= t->lr * (o - y);
		}
	}
	for (int64_t r = (int64_t) t->n_trace - 1; r >= 0; r--)
	{
		const HkTrace *tr = &t->trace[r];

		if (tr->cell != cell)
		{
			if (cell >= 0)
				HkFinishCell(t, cell);
			cell = tr->cell;
		}
		t->grad[tr->source] += HkBackSection(t, tr);
	}
	if (cell >= 0)
		HkFinishCell(t, cell);
	return loss;
}

/* Append this epoch's sizes to the growth history (oldest dropped). */
static void
HkRecordEpoch(HkNet *net)
{
	HkHeader *gh = net->gh;
	HkStats st;
	HkEpoch *e;

	HkGetStats(net, &st);
	if (gh->n_history == HK_HISTORY)
	{
		memmove(&gh->history[0], &gh->history[1],
				sizeof(HkEpoch) * (HK_HISTORY - 1));
		gh->n_history--;
	}
	e = &gh->history[gh->n_history++];
	e->epoch = net->hdr->epochs;
	e->sections = st.sections;
	e->synapses = (uint32_t) (st.synapses > UINT32_MAX ? UINT32_MAX : st.synapses);
	e->blocks = st.blocks;
}

/* Free the trainer's scratch (not the image). */
static void
HkTrainerFree(HkTrainer *t)
{
	if (t->targets)
	{
		for (uint32_t c = 0; c < t->net->gh->n_cells; c++)
		{
			HnFree(t->alloc, t->targets[c].cell);
			HnFree(t->alloc, t->targets[c].cum);
		}
		HnFree(t->alloc, t->targets);
	}
	HkWorkFree(t->work, t->alloc);
	HnFree(t->alloc, t->trace);
	HnFree(t->alloc, t->grad);
}


/*
 * Stepper: a trainer for one fit of net.  Its random stream is the fit's,
 * drawn from after the driver's shuffle of an epoch, so growth depends on
 * the seed alone; the learning rate falls linearly over the rows of the
 * whole fit (train_rows times epochs, or max_iterations when fewer).
 */
static HnStatus
HkStepperCreate(void *ctx, HnNet *hn, const HnTrainOptions *opt,
				const HnFitPlan *plan, const HnAllocator *alloc,
				void **state, HnError *err)
{
	HkTrainer  *t = HnAllocZero(alloc, sizeof(HkTrainer));

	(void) ctx;
	*state = t;
	if (t == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for training");
	t->hn = hn;
	t->net = HkOf(hn);
	t->cap = hn->len;
	t->alloc = alloc;
	t->rng = plan->rng;
	t->res = plan->res;
	HkTrainOptionsOf(opt, hn, &t->opt);
	t->total = (double) plan->train_rows * opt->epochs;
	if (opt->max_iterations > 0 && opt->max_iterations < t->total)
		t->total = (double) opt->max_iterations;
	t->lr = t->opt.learning_rate;
	t->grow = t->opt.grow;
	t->work = HkWorkCreate(t->net, true, alloc, err);
	t->target_row = HnAlloc(alloc, sizeof(float) * hn->hdr->n_outputs);
	t->grad = HnAllocZero(alloc, sizeof(float) * t->net->gh->n_neurons);
	if (t->work == NULL || t->target_row == NULL || t->grad == NULL ||
		!HkBuildTargets(t))
		return HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for training");
	return HANAMI_OK;
}

/* Stepper: every epoch starts from a cleared spiking state. */
static void
HkStepperEpochBegin(void *state)
{
	HkResetState(((HkTrainer *) state)->net);
}

/* Stepper: the rows of a batch, one after another. */
static HnStatus
HkStepperStep(void *state, const HnBatch *b, double *loss, HnError *err)
{
	HkTrainer  *t = state;
	HkTrainOptions *o = &t->opt;
	uint32_t	n_out = t->net->hdr->n_outputs;

	for (int k = 0; k < b->count; k++)
	{
		/* the rate falls linearly from the first row to the last */
		t->lr = o->learning_rate + (o->learning_rate_end - o->learning_rate) *
			(float) ((double) t->seen / t->total);
		HnTargetValues(n_out, b->cls ? b->cls[k] : 0, b->y ? b->y[k] : NULL,
					   t->target_row);
		if (!HkTrainForward(t, b->x[k]))
			return HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for training");
		*loss += HkTrainBackward(t);
		t->seen++;
	}
	return HANAMI_OK;
}

/* Stepper: the reduction pass, and the epoch in the growth history. */
static HnStatus
HkStepperEpochEnd(void *state, double *loss, bool *finite, HnError *err)
{
	HkTrainer  *t = state;

	(void) loss;
	(void) finite;
	(void) err;
	if (t->opt.reduction)
		t->res->removed += (int64_t) HkReduce(t->net);
	HkRecordEpoch(t->net);
	return HANAMI_OK;
}

/* Stepper: the network is left with a cleared state and its counts. */
static HnStatus
HkStepperFinish(void *state, HnError *err)
{
	HkTrainer  *t = state;

	(void) err;
	HkResetState(t->net);
	HkRecount(t->net);
	return HANAMI_OK;
}

/* Stepper: free the trainer's scratch (not the image). */
static void
HkStepperFree(void *state)
{
	HkTrainer  *t = state;

	HkTrainerFree(t);
	HnFree(t->alloc, t->target_row);
	HnFree(t->alloc, t);
}

/*
 * Stepper state for checkpoints: the rows trained so far (the position of
 * the learning-rate schedule, i64) and whether the image is full (u8).
 */
static size_t
HkStepperSaveSize(void *state)
{
	(void) state;
	return 9;
}

static void
HkStepperSave(void *state, void *dst)
{
	HkTrainer  *t = state;
	unsigned char full = t->full;

	memcpy(dst, &t->seen, 8);
	memcpy((unsigned char *) dst + 8, &full, 1);
}

static HnStatus
HkStepperLoad(void *state, const void *src, size_t len, HnError *err)
{
	HkTrainer  *t = state;
	int64_t		seen;
	unsigned char full;

	if (src == NULL || len != 9)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL,
						  "invalid checkpoint: the growing network's state has %zu bytes, not 9",
						  len);
	memcpy(&seen, src, 8);
	memcpy(&full, (const unsigned char *) src + 8, 1);
	if (seen < 0 || full > 1)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL,
						  "invalid checkpoint: the growing network's state is out of range");
	t->seen = seen;
	t->full = full;
	return HANAMI_OK;
}

const HnStepperOps HkStepper = {
	.name = "hanami",
	.create = HkStepperCreate,
	.epoch_begin = HkStepperEpochBegin,
	.step = HkStepperStep,
	.epoch_end = HkStepperEpochEnd,
	.finish = HkStepperFinish,
	.free = HkStepperFree,
	.save_size = HkStepperSaveSize,
	.save = HkStepperSave,
	.load = HkStepperLoad,
};
