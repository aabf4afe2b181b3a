/*
 * hanami/train.c - the stepper of a growing network (fit.h): online
 * training one row at a time, the forward pass that grows sections and
 * synapses and splits them, the backward pass through the synapses that
 * took part, and at the end of an epoch the reduction pass and the growth
 * history.  The loop over epochs and rows is the fit driver's.
 *
 * Compute threads.  A row's work is split within each cell into HK_PARTS
 * parts (fixed ranges of the cell's neurons), a number that depends on the
 * network's size only, never on the threads; the pool (pool.h) only decides
 * who runs which part.  Forward, each part walks the chains of its active
 * neurons, reading the image only, tracing the sections into its own trace
 * list and adding their contributions into its own sums; afterwards the
 * parts' sums are added to the row's in part order.  Where a chain would
 * grow (a new section, synapse or split, or a section closed to continue in
 * a new one) the walk stops, and the sequential pass that follows takes up
 * those chains there, in neuron order, with the growing walk: the random
 * draws come in the same order however many threads there are, and its
 * contributions and traces go to the part of the neuron.  Backward, each part replays the
 * traces of its own sources: a section belongs to one source, so no two
 * parts write the same synapse or gradient.  So a fit gives the same bytes
 * with any number of threads, and run alone or with the team.
 */
#include "core/hanami/kind.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "core/fit.h"
#include "core/pool.h"
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

/*
 * Parts of a cell's work (see the top of the file): at most this many, and
 * fewer for a network so large that their sums would take more than
 * HK_PART_SUM_FLOATS floats.
 */
#define HK_PARTS			8
#define HK_PART_SUM_FLOATS	(1u << 23)

/* One part's scratch, all allocated before the fit's first row. */
typedef struct HkPart
{
	float	   *sum;			/* n_neurons; zero outside [lo, hi) */
	uint32_t	lo;				/* neurons its contributions reached */
	uint32_t	hi;
	HkTrace    *trace;			/* the sections it walked this row */
	uint32_t	n_trace;
	uint32_t	cap_trace;
	uint32_t   *cell_start;		/* by position in the cell order: its first */
	uint32_t   *cell_end;		/* trace of that cell, and one past its last */
	uint32_t	n_active;		/* active neurons of the current cell */
	uint32_t	n_dirty;		/* and those the sequential pass takes up */
	char		pad[64];		/* parts run on different threads */
} HkPart;

struct HkTrainer;

/* The argument of a cell's jobs: one per cell, so the pool tells them apart. */
typedef struct HkCellJob
{
	struct HkTrainer *t;
	int			k;				/* position in the cell order */
} HkCellJob;

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
	float	   *grad;			/* dLoss/dpotential per neuron, this row */
	HnPool	   *pool;			/* the fit's compute threads, or NULL */
	int			n_parts;		/* parts of a cell's work, 1..HK_PARTS */
	HkPart		parts[HK_PARTS];
	HkCellJob  *jobs;			/* n_cells */
	uint8_t    *dirty;			/* per neuron: where its chain is taken up
								 * by the sequential pass (HK_RESUME_*) */
	struct HkResume *resume;	/* per neuron: and what it needs */
	uint32_t   *dirty_list;		/* per cell and part, like active: the
								 * neurons the sequential pass takes up */
	const float *x_row;			/* this row's inputs */
} HkTrainer;

/* Whether a section into cell c may grow (or be closed) this fit. */
static inline bool
HkGrowInto(const HkTrainer *t, uint32_t c)
{
	return t->grow && !HkCellFrozen(&t->opt, c);
}

/* Run fn on the pool, or alone without one. */
static void
HkRun(HkTrainer *t, HnPoolFn fn, void *arg)
{
	if (t->pool != NULL)
		PoolRun(t->pool, fn, arg);
	else
		fn(arg, 0, 1);
}

/* Uniform float in [0, 1). */
static inline float
HkRand(HkTrainer *t)
{
	return (float) (RngNext(t->rng) >> 40) * (1.0f / 16777216.0f);
}

/*
 * Build the weighted target lists of every cell (nearer is likelier); frozen
 * cells are no targets, so a cell may have none.
 */
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

			if (c == a || cc->type == HK_CELL_INPUT || cc->depth <= ca->depth ||
				HkCellFrozen(&t->opt, c))
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

/* A random target cell for a new section from cell a (which has targets). */
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
	gh->flags &= ~(uint32_t) HK_GROUPED;	/* HkGroup at the end of the fit */
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
 * Returns the first new block, or HK_NONE (also when every cell it could
 * grow into is frozen: then nothing is drawn).
 */
static uint32_t
HkNewSection(HkTrainer *t, uint32_t i, int c, float lower, float grain,
			   uint8_t flags)
{
	uint16_t	tc;
	bool		parallel;
	uint32_t	n_out;
	uint32_t	first = HK_NONE;
	uint32_t	prev = HK_NONE;
	uint32_t	base = 0;

	if (t->targets[c].n == 0)
		return HK_NONE;
	tc = HkPickCell(t, c);
	parallel = t->net->cells[c].type == HK_CELL_HIDDEN &&
		t->net->cells[tc].type == HK_CELL_OUTPUT;
	n_out = t->net->cells[tc].n_neurons;
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
 * Returns the potential left.  It may start at synapse i with x left there
 * (x0 entered the section): the growing walk then takes up a section whose
 * first i synapses the parallel walk added already.
 */
static float
HkTrainSectionFrom(HkTrainer *t, HkBlock *blk, float x, float x0, int i,
				   float p, float *sum, HkTrace *tr)
{
	const HkCell *tc = &t->net->cells[blk->target_cell];
	bool		grow = HkGrowInto(t, blk->target_cell);
	float		min_left = p * GROW_MIN_FRACTION;
	int			full;
	HkSynapse  *sy;
	int			n;

	tr->x0 = x0;
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
		if (grow && n < HK_SYNAPSES && sy[i].target != HK_GAP &&
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
	while (x > 0.0f && grow && i < HK_SYNAPSES && x > min_left)
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

/* HkTrainSectionFrom from the section's start. */
static inline float
HkTrainSection(HkTrainer *t, HkBlock *blk, float x, float p, float *sum,
			   HkTrace *tr)
{
	return HkTrainSectionFrom(t, blk, x, x, 0, p, sum, tr);
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

/* Room for more trace entries in part p; false when out of memory. */
static bool
HkTraceGrow(HkTrainer *t, HkPart *pt)
{
	uint32_t	cap = pt->cap_trace ? pt->cap_trace * 2 : 1024;
	HkTrace    *nt = HnAlloc(t->alloc, sizeof(HkTrace) * cap);

	if (nt == NULL)
		return false;
	if (pt->n_trace > 0)
		memcpy(nt, pt->trace, sizeof(HkTrace) * pt->n_trace);
	HnFree(t->alloc, pt->trace);
	pt->trace = nt;
	pt->cap_trace = cap;
	return true;
}

/* The part's sums reach the neurons of cell tc. */
static inline void
HkPartTouch(const HkTrainer *t, HkPart *pt, uint32_t tc)
{
	const HkCell *cell = &t->net->cells[tc];

	if (cell->first_neuron < pt->lo)
		pt->lo = cell->first_neuron;
	if (cell->first_neuron + cell->n_neurons > pt->hi)
		pt->hi = cell->first_neuron + cell->n_neurons;
}

/*
 * Where the sequential pass takes up a chain that the parallel walk left
 * because it would grow (HkResume.stage, with HkTrainer.dirty).
 */
#define HK_RESUME_NONE		0	/* walked; nothing left to do */
#define HK_RESUME_START		1	/* the chain from its start (it has none) */
#define HK_RESUME_BLOCK		2	/* from section `block` (no room to trace it) */
#define HK_RESUME_SECTION	3	/* section `block` from synapse syn with x
								 * left there, then on */
#define HK_RESUME_AFTER		4	/* section `block` is walked, x is left:
								 * continue it in a new section, then on */

typedef struct HkResume
{
	uint32_t	block;
	uint32_t	trace;			/* SECTION, AFTER: its trace entry in the part */
	float		x;
	uint16_t	syn;
} HkResume;

/*
 * Send potential p of neuron i (cell c) down its chain (negative: the chain
 * of negative values), growing it as needed, adding to the sums of part pt
 * and tracing what it walks there; stage and rs say where to take it up
 * (HK_RESUME_START: the whole chain).  Sequential only: it draws from the
 * fit's random stream and may move the image.  False when out of memory.
 */
static bool
HkTrainChain(HkTrainer *t, HkPart *pt, uint32_t i, int c, float p,
			 bool negative, int stage, const HkResume *rs)
{
	uint8_t		flags = negative ? HK_SECTION_NEGATIVE : 0;
	uint32_t	b;
	bool		resumed = false;
	float		left = 0.0f;
	HkTrace  *tr;

	if (stage == HK_RESUME_START)
	{
		b = negative ? t->net->neurons[i].section_neg : t->net->neurons[i].section;
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
	}
	else
	{
		b = rs->block;
		if (stage == HK_RESUME_SECTION)
		{
			HkBlock    *blk = &t->net->blocks[b];

			tr = &pt->trace[rs->trace];
			left = HkTrainSectionFrom(t, blk, rs->x, tr->x0, rs->syn, p,
									  pt->sum + t->net->cells[blk->target_cell].first_neuron,
									  tr);
			resumed = true;
		}
		else if (stage == HK_RESUME_AFTER)
		{
			left = rs->x;
			resumed = true;
		}
	}
	for (;;)
	{
		HkBlock *blk;

		if (!resumed)
		{
			float		x;

			if (b == HK_NONE)
				break;
			blk = &t->net->blocks[b];
			x = p - blk->lower;
			if (x <= 0.0f)
				break;
			if (x > blk->range)
				x = blk->range;
			if (pt->n_trace == pt->cap_trace && !HkTraceGrow(t, pt))
				return false;
			tr = &pt->trace[pt->n_trace++];
			tr->block = b;
			tr->source = i;
			tr->cell = (uint16_t) c;
			HkPartTouch(t, pt, blk->target_cell);
			left = HkTrainSection(t, blk, x, p,
								  pt->sum + t->net->cells[blk->target_cell].first_neuron,
								  tr);
		}
		resumed = false;
		blk = &t->net->blocks[b];
		if (left > p * GROW_MIN_FRACTION && HkGrowInto(t, blk->target_cell) &&
			blk->next == HK_NONE &&
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

/*
 * The parallel twin of HkTrainSection: walk a section with x of potential
 * (p entered the chain) without changing it, adding to sum[] and tracing
 * it.  Returns the potential left, or -1 where the growing walk would
 * change the section (split a synapse or grow one): then *stop and *xs are
 * the synapse and the potential left there, for HkTrainSectionFrom.
 */
static inline float
HkStepSection(const HkBlock *blk, float x, float p, bool grow, float *sum,
			  HkTrace *tr, int *stop, float *xs)
{
	const HkSynapse *sy = blk->syn;
	int			n = blk->n_used;
	int			i = 0;

	tr->x0 = x;
	tr->part = 0.0f;
	if (blk->flags & HK_SECTION_PARALLEL)
	{
		for (int k = 0; k < n; k++)
			if (sy[k].target != HK_GAP)
				sum[sy[k].target] += sy[k].weight * x;
		tr->full = (uint16_t) n;
		return 0.0f;
	}
	for (; i < n; i++)
	{
		float		border = sy[i].border;

		if (x < border)
			break;
		if (sy[i].target != HK_GAP)
			sum[sy[i].target] += sy[i].weight;
		x -= border;
	}
	tr->full = (uint16_t) i;
	if (i < n)
	{
		float		border = sy[i].border;

		if (x <= 0.0f)
			return 0.0f;
		if (grow && n < HK_SYNAPSES && sy[i].target != HK_GAP &&
			border >= GROW_SPLIT_GRAINS * blk->grain &&
			fabsf(x - 0.5f * border) < GROW_SPLIT_WINDOW * border)
			goto stop;
		tr->part = x / border;
		if (sy[i].target != HK_GAP)
			sum[sy[i].target] += sy[i].weight * tr->part;
		return 0.0f;
	}
	if (x > 0.0f && grow && i < HK_SYNAPSES && x > p * GROW_MIN_FRACTION)
		goto stop;
	return x > 0.0f ? x : 0.0f;

stop:
	*stop = i;
	*xs = x;
	return -1.0f;
}

/*
 * Walk the chain of neuron i (cell c) with potential p into part pt without
 * growing it (a pool thread may run this: it writes only the part's sums
 * and traces and the neuron's own entries).  Where the chain would grow, or
 * the part's trace list is full, it stops, says where the sequential pass
 * takes it up (t->dirty[i], t->resume[i]) and returns true.
 */
static bool
HkWalkChain(HkTrainer *t, HkPart *pt, uint32_t i, int c, float p,
			bool negative)
{
	const HkNet *net = t->net;
	uint32_t	b = negative ? net->neurons[i].section_neg : net->neurons[i].section;
	HkResume   *rs = &t->resume[i];

	if (b == HK_NONE)
	{
		if (t->grow && t->targets[c].n > 0)
		{
			t->dirty[i] = HK_RESUME_START;
			return true;
		}
		return false;
	}
	while (b != HK_NONE)
	{
		const HkBlock *blk = &net->blocks[b];
		float		x = p - blk->lower;
		bool		grow;
		HkTrace    *tr;
		float		left;
		int			stop = 0;
		float		xs = 0.0f;

		if (x <= 0.0f)
			break;
		if (x > blk->range)
			x = blk->range;
		if (pt->n_trace == pt->cap_trace)
		{
			t->dirty[i] = HK_RESUME_BLOCK;
			rs->block = b;
			return true;
		}
		grow = HkGrowInto(t, blk->target_cell);
		tr = &pt->trace[pt->n_trace++];
		tr->block = b;
		tr->source = i;
		tr->cell = (uint16_t) c;
		HkPartTouch(t, pt, blk->target_cell);
		left = HkStepSection(blk, x, p, grow,
							 pt->sum + net->cells[blk->target_cell].first_neuron,
							 tr, &stop, &xs);
		if (left < 0.0f)
		{
			t->dirty[i] = HK_RESUME_SECTION;
			rs->block = b;
			rs->trace = pt->n_trace - 1;
			rs->syn = (uint16_t) stop;
			rs->x = xs;
			return true;
		}
		if (left > p * GROW_MIN_FRACTION && grow && blk->next == HK_NONE &&
			blk->n_used == HK_SYNAPSES && blk->range == FLT_MAX &&
			t->targets[c].n > 0)
		{
			t->dirty[i] = HK_RESUME_AFTER;
			rs->block = b;
			rs->trace = pt->n_trace - 1;
			rs->x = left;
			return true;
		}
		b = blk->next;
	}
	return false;
}

/*
 * Forward pass of part pt of cell order[k]: the values of its neurons in
 * the part's range, and the chains of the active ones (HkWalkChain).
 */
static void
HkForwardPart(HkTrainer *t, int k, int p)
{
	HkWork	   *w = t->work;
	HkNet	   *net = t->net;
	int			c = w->order[k];
	const HkCell *cell = &net->cells[c];
	HkPart	   *pt = &t->parts[p];
	uint32_t	first = cell->first_neuron;
	size_t		lo;
	size_t		hi;
	uint32_t   *act;
	uint32_t   *dl;
	uint32_t	na = 0;
	uint32_t	nd = 0;

	PoolRange(cell->n_neurons, p, t->n_parts, &lo, &hi);
	act = w->active + first + lo;
	dl = t->dirty_list + first + lo;
	if (cell->type == HK_CELL_INPUT)
	{
		const float *in = t->x_row + cell->io_offset;

		for (size_t j = lo; j < hi; j++)
		{
			uint32_t	i = first + (uint32_t) j;

			w->value[i] = in[j];
			if (in[j] == 0.0f)
				continue;
			act[na++] = i;
			if (HkWalkChain(t, pt, i, c, fabsf(in[j]), in[j] < 0.0f))
				dl[nd++] = i;
		}
	}
	else
	{
		bool		spiking = (net->gh->flags & HK_SPIKING) != 0;
		float		decay = net->gh->cooldown > 0.0f ? 1.0f / net->gh->cooldown : 0.0f;

		for (size_t j = lo; j < hi; j++)
		{
			uint32_t	i = first + (uint32_t) j;
			HkNeuron   *nr = &net->neurons[i];
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
					nr->refractory = (uint16_t) (net->gh->refractory - 1);
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
				if (HkWalkChain(t, pt, i, c, w->value[i], false))
					dl[nd++] = i;
			}
		}
	}
	pt->n_active = na;
	pt->n_dirty = nd;
}

/* Pool job: the forward parts of one cell (a share runs a range of parts). */
static void
HkForwardJob(void *arg, int worker, int n_workers)
{
	HkCellJob  *job = arg;
	size_t		lo;
	size_t		hi;

	PoolRange((size_t) job->t->n_parts, worker, n_workers, &lo, &hi);
	for (size_t p = lo; p < hi; p++)
		HkForwardPart(job->t, job->k, (int) p);
}

/*
 * Forward pass of one training row, growing as it goes; false on OOM.  Per
 * input and hidden cell, in depth order: the parts (on the pool), then the
 * chains that grow in neuron order, then the parts' sums into the row's.
 */
static bool
HkTrainForward(HkTrainer *t, const float *x)
{
	HkWork *w = t->work;
	bool		ok = true;

	t->x_row = x;
	for (int p = 0; p < t->n_parts; p++)
		t->parts[p].n_trace = 0;
	memset(w->sum, 0, sizeof(float) * w->n_neurons);
	for (uint32_t k = 0; k < w->n_cells; k++)
	{
		int			c = w->order[k];
		const HkCell *cell = &t->net->cells[c];
		uint32_t	first = cell->first_neuron;
		uint32_t	n = cell->n_neurons;
		uint32_t	na = 0;

		for (int p = 0; p < t->n_parts; p++)
			t->parts[p].cell_start[k] = t->parts[p].n_trace;
		if (cell->type == HK_CELL_OUTPUT)
		{
			for (uint32_t j = 0; j < n; j++)
			{
				uint32_t	i = first + j;

				w->value[i] = 1.0f / (1.0f + expf(-(w->sum[i] + t->net->neurons[i].bias)));
			}
			for (int p = 0; p < t->n_parts; p++)
				t->parts[p].cell_end[k] = t->parts[p].n_trace;
			w->n_active[c] = 0;
			continue;
		}
		HkRun(t, HkForwardJob, &t->jobs[k]);

		/* the chains that grow, in neuron order; the active lists joined */
		for (int p = 0; p < t->n_parts; p++)
		{
			HkPart	   *pt = &t->parts[p];
			size_t		lo;
			size_t		hi;

			PoolRange(n, p, t->n_parts, &lo, &hi);
			for (uint32_t d = 0; d < pt->n_dirty; d++)
			{
				uint32_t	i = t->dirty_list[first + lo + d];
				float		v = w->value[i];

				ok &= HkTrainChain(t, pt, i, c, fabsf(v), v < 0.0f,
								   t->dirty[i], &t->resume[i]);
			}
			pt->cell_end[k] = pt->n_trace;
			if (na != lo && pt->n_active > 0)
				memmove(w->active + first + na, w->active + first + lo,
						sizeof(uint32_t) * pt->n_active);
			na += pt->n_active;
		}
		w->n_active[c] = na;

		/* the parts' sums into the row's, in part order */
		for (int p = 0; p < t->n_parts; p++)
		{
			HkPart	   *pt = &t->parts[p];
			float	   *restrict dst = w->sum;
			float	   *restrict src = pt->sum;

			/* element by element: the same sums however it is vectorized */
#pragma omp simd
			for (uint32_t i = pt->lo; i < pt->hi; i++)
				dst[i] += src[i];
			if (pt->hi > pt->lo)
				memset(src + pt->lo, 0, sizeof(float) * (pt->hi - pt->lo));
			pt->lo = UINT32_MAX;
			pt->hi = 0;
		}
	}
	return ok;
}

/*
 * Replay one traced section backward: update the weights of the synapses
 * that took part, count the ones that helped, and return the gradient for
 * the potential that entered it.  A walked section's response is piecewise
 * linear with many kinks; the gradient used is its secant slope, the
 * section's contribution divided by its potential, which is smooth in the
 * potential (for a parallel section it is the exact slope).  A section into
 * a frozen cell passes the gradient on and changes nothing.
 */
static inline __attribute__((always_inline)) float
HkBackSectionAs(const HkTrainer *t, const HkTrace *tr, HkBlock *blk,
				bool learn)
{
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
			if (!learn)
				continue;
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
		if (!learn)
			continue;
		/* helped: its contribution moved the target the right way */
		sy->counter += (uint8_t) ((d * w < 0.0f) &
								  (sy->counter < HK_COUNTER_CAP));
		sy->weight = w - lr * d;
	}
	return gs / tr->x0;
}

/* HkBackSection, compiled apart for learning and frozen target cells. */
static inline float
HkBackSection(const HkTrainer *t, const HkTrace *tr)
{
	HkBlock    *blk = &t->net->blocks[tr->block];

	if (!HkCellFrozen(&t->opt, blk->target_cell))
		return HkBackSectionAs(t, tr, blk, true);
	return HkBackSectionAs(t, tr, blk, false);
}

/* Pool job: replay the traces of one cell, part by part, each backward. */
static void
HkBackwardJob(void *arg, int worker, int n_workers)
{
	HkCellJob  *job = arg;
	HkTrainer  *t = job->t;
	size_t		lo;
	size_t		hi;

	PoolRange((size_t) t->n_parts, worker, n_workers, &lo, &hi);
	for (size_t p = lo; p < hi; p++)
	{
		const HkPart *pt = &t->parts[p];

		for (int64_t r = (int64_t) pt->cell_end[job->k] - 1;
			 r >= (int64_t) pt->cell_start[job->k]; r--)
		{
			const HkTrace *tr = &pt->trace[r];

			t->grad[tr->source] += HkBackSection(t, tr);
		}
	}
}

/*
 * Deltas of the active hidden neurons of cell c, from the gradients their
 * sections collected: d log2(1 + m) / dm = 1 / ((1 + m) ln 2).  A frozen
 * cell keeps its biases.
 */
static void
HkFinishCell(HkTrainer *t, int c)
{
	HkWork *w = t->work;
	const HkCell *cell = &t->net->cells[c];
	const uint32_t *act = w->active + cell->first_neuron;
	bool		learn = !HkCellFrozen(&t->opt, (uint32_t) c);

	if (cell->type != HK_CELL_HIDDEN)
		return;
	for (uint32_t j = 0; j < w->n_active[c]; j++)
	{
		uint32_t	i = act[j];
		float		d = w->took[i] ? t->grad[i] / ((1.0f + w->pre[i]) * 0.69314718f) : 0.0f;

		w->delta[i] = d;
		if (learn)
			t->net->neurons[i].bias -= t->lr * d;
		t->grad[i] = 0.0f;
	}
}

/*
 * Backward pass of one row: output deltas from the targets (sigmoid with
 * binary cross-entropy), then the traced sections cell by cell from the
 * deepest up: a hidden cell's deltas are complete before the sections into
 * it are replayed.  Returns the row's loss.
 */
static double
HkTrainBackward(HkTrainer *t)
{
	HkWork *w = t->work;
	HkNet  *net = t->net;
	double		loss = 0.0;

	memset(w->delta, 0, sizeof(float) * w->n_neurons);
	for (uint32_t c = 0; c < net->gh->n_cells; c++)
	{
		const HkCell *oc = &net->cells[c];
		bool		learn = !HkCellFrozen(&t->opt, c);

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
			if (learn)
				net->neurons[i].bias -= t->lr * (o - y);
		}
	}
	for (int k = (int) w->n_cells - 1; k >= 0; k--)
	{
		bool		any = false;

		for (int p = 0; p < t->n_parts; p++)
			any |= t->parts[p].cell_end[k] > t->parts[p].cell_start[k];
		if (!any)
			continue;
		HkRun(t, HkBackwardJob, &t->jobs[k]);
		HkFinishCell(t, w->order[k]);
	}
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
	HnFree(t->alloc, t->grad);
	for (int p = 0; p < HK_PARTS; p++)
	{
		HnFree(t->alloc, t->parts[p].sum);
		HnFree(t->alloc, t->parts[p].trace);
		HnFree(t->alloc, t->parts[p].cell_start);
		HnFree(t->alloc, t->parts[p].cell_end);
	}
	HnFree(t->alloc, t->jobs);
	HnFree(t->alloc, t->dirty);
	HnFree(t->alloc, t->resume);
	HnFree(t->alloc, t->dirty_list);
}


/*
 * The parts' scratch and the cells' job arguments.  The number of parts
 * depends on the network's neurons only (see the top of the file).
 */
static bool
HkPartsCreate(HkTrainer *t)
{
	uint32_t	nn = t->net->gh->n_neurons;
	uint32_t	nc = t->net->gh->n_cells;

	t->n_parts = HK_PARTS;
	while (t->n_parts > 1 && (uint64_t) nn * t->n_parts > HK_PART_SUM_FLOATS)
		t->n_parts /= 2;
	t->dirty = HnAllocZero(t->alloc, nn);
	t->resume = HnAllocZero(t->alloc, sizeof(HkResume) * nn);
	t->dirty_list = HnAlloc(t->alloc, sizeof(uint32_t) * nn);
	t->jobs = HnAlloc(t->alloc, sizeof(HkCellJob) * nc);
	if (t->dirty == NULL || t->resume == NULL || t->dirty_list == NULL ||
		t->jobs == NULL)
		return false;
	for (uint32_t k = 0; k < nc; k++)
	{
		t->jobs[k].t = t;
		t->jobs[k].k = (int) k;
	}
	for (int p = 0; p < t->n_parts; p++)
	{
		HkPart	   *pt = &t->parts[p];

		pt->sum = HnAllocZero(t->alloc, sizeof(float) * nn);
		pt->cell_start = HnAllocZero(t->alloc, sizeof(uint32_t) * nc);
		pt->cell_end = HnAllocZero(t->alloc, sizeof(uint32_t) * nc);
		pt->lo = UINT32_MAX;
		pt->hi = 0;
		if (pt->sum == NULL || pt->cell_start == NULL || pt->cell_end == NULL ||
			!HkTraceGrow(t, pt))
			return false;
	}
	return true;
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
	t->pool = PoolSize(opt->pool) > 1 ? opt->pool : NULL;
	t->work = HkWorkCreate(t->net, true, alloc, err);
	t->target_row = HnAlloc(alloc, sizeof(float) * hn->hdr->n_outputs);
	t->grad = HnAllocZero(alloc, sizeof(float) * t->net->gh->n_neurons);
	if (t->work == NULL || t->target_row == NULL || t->grad == NULL ||
		!HkBuildTargets(t) || !HkPartsCreate(t))
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
		t->res->removed += (int64_t) HkReduceFrozen(t->net, &t->opt);
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
	/* each cell's sections one run: the store can page it (hanami.h) */
	HkGroup(t->net, t->alloc);
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
