/*
 * test_hanami.c - unit tests of the growing ("hanami") network kind: the
 * description checks, the border walk, growth, splitting, the reduction
 * pass, strict validation of images (targeted mutations and fuzzing),
 * learning, robustness to huge values, and the spiking state.
 */
#include "harness.h"

#include <float.h>
#include <stdlib.h>

#include "core/hanami/kind.h"
#include "core/dense/kind.h"
#include "core/fit.h"
#include "core/pool.h"
#include "core/rng.h"

/* A layered chain along x: inputs, hidden cells, outputs. */
static void
ChainSpec(HkSpec *spec, uint32_t inputs, int n_hidden,
		  const uint32_t *hidden, uint32_t outputs)
{
	memset(spec, 0, sizeof(*spec));
	spec->cells[0] = (HkCellSpec) {0, 0, 0, HK_CELL_INPUT, inputs, -1, "in"};
	for (int h = 0; h < n_hidden; h++)
		spec->cells[1 + h] = (HkCellSpec) {(int16_t) (1 + h), 0, 0,
		HK_CELL_HIDDEN, hidden[h], -1, ""};
	spec->cells[1 + n_hidden] = (HkCellSpec) {(int16_t) (1 + n_hidden), 0, 0,
	HK_CELL_OUTPUT, outputs, -1, "out"};
	spec->n_cells = 2 + n_hidden;
	spec->seed = 3;
}

/* Build a fresh image (malloc) of a spec; NULL when rejected. */
static void *
MakeImage(HkSpec *spec, size_t *len)
{
	HnError		err;
	void	   *img;

	if (HkSpecFinalize(spec, &err) != HANAMI_OK)
	{
		TestNote("spec rejected: %s", err.message);
		return NULL;
	}
	*len = HkSpecImageSize(spec, &err);
	img = malloc(*len);
	if (HkCreate(img, *len, spec, 0, &err) != HANAMI_OK)
	{
		TestNote("create failed: %s", err.message);
		free(img);
		return NULL;
	}
	return img;
}

/* Expect HkSpecFinalize to fail with a message containing text. */
static void
ExpectGrowSpecError(HkSpec *spec, const char *text, const char *what)
{
	HnError		err;
	HnStatus	st = HkSpecFinalize(spec, &err);

	if (!CHECK(st == HANAMI_E_INVALID_SPEC && strstr(err.message, text) != NULL,
			   "grow spec rejects %s", what))
		TestNote("status %d, message \"%s\"", (int) st,
				 st == HANAMI_OK ? "" : err.message);
}

/* Descriptions: defaults, geometry, and every rejection. */
static void
TestGrowSpec(void)
{
	HkSpec *spec = calloc(1, sizeof(HkSpec));
	static const uint32_t h1[] = {0};
	HnError		err;
	size_t		len;
	void	   *img;
	HkNet	net;

	ChainSpec(spec, 4, 1, h1, 2);
	CHECK(HkSpecFinalize(spec, &err) == HANAMI_OK &&
		  spec->cells[1].count == HK_DEFAULT_NEURONS &&
		  spec->max_distance == 1 && spec->refractory == 1 &&
		  spec->reduction_threshold == 1 &&
		  spec->max_blocks == HK_DEFAULT_MAX_BLOCKS,
		  "grow spec defaults: 256 hidden neurons, distance 1, refractory 1");

	ChainSpec(spec, 4, 1, h1, 2);
	img = MakeImage(spec, &len);
	HkBindTrusted(&net, img);
	CHECK(img && net.hdr->kind == HANAMI_KIND_HANAMI && net.hdr->n_inputs == 4 &&
		  net.hdr->n_outputs == 2 && net.gh->n_neurons == 4 + 256 + 2 &&
		  net.gh->n_blocks == 0 && net.cells[0].depth == 0 &&
		  net.cells[1].depth == 1 && net.cells[2].depth == 2 &&
		  net.hdr->n_params == 258 && len == net.hdr->total_size,
		  "a fresh image: counts, depths, parameters (biases)");
	free(img);

	/* a hexagon neighbourhood: distance 1 around (0,0) is 6 cells */
	{
		HkCell	a = {0}, b = {0};

		b.x = 1;
		b.y = -1;
		a.z = 0;
		CHECK(HkCellDistance(&a, &b) == 1, "hexagon distance: (1,-1) is a neighbour");
		b.x = 1;
		b.y = 1;
		CHECK(HkCellDistance(&a, &b) == 2, "hexagon distance: (1,1) is two away");
		b.x = 0;
		b.y = 0;
		b.z = 2;
		CHECK(HkCellDistance(&a, &b) == 2, "distance counts layers in z");
	}

	ChainSpec(spec, 4, 1, h1, 2);
	spec->n_cells = 1;
	ExpectGrowSpecError(spec, "1 cells", "a single cell");
	ChainSpec(spec, 4, 1, h1, 2);
	spec->cells[2].type = HK_CELL_HIDDEN;
	ExpectGrowSpecError(spec, "0 output cells", "no output cell");
	ChainSpec(spec, 4, 1, h1, 2);
	spec->cells[2].x = 5;
	ExpectGrowSpecError(spec, "cannot be reached", "an unreachable output cell");
	ChainSpec(spec, 4, 1, h1, 2);
	spec->cells[2].x = 1;
	ExpectGrowSpecError(spec, "same position", "two cells at one position");
	ChainSpec(spec, 4, 1, h1, 2);
	spec->cells[0].axon = 0;
	ExpectGrowSpecError(spec, "axon", "an axon to itself");
	ChainSpec(spec, 4, 1, h1, 2);
	spec->cells[2].axon = 1;
	ExpectGrowSpecError(spec, "output cell 2 cannot have an axon", "an axon from an output");
	ChainSpec(spec, 4, 1, h1, 2);
	spec->cooldown = 1.0;
	ExpectGrowSpecError(spec, "greater than 1", "neuron_cooldown 1");
	ChainSpec(spec, 4, 1, h1, 2);
	spec->refractory = 256;
	ExpectGrowSpecError(spec, "refractory_time", "refractory_time 256");
	ChainSpec(spec, 4, 1, h1, 2);
	spec->max_distance = 17;
	ExpectGrowSpecError(spec, "max_connection_distance", "distance 17");
	ChainSpec(spec, 4, 1, h1, 2);
	spec->cells[1].count = 70000;
	ExpectGrowSpecError(spec, "neurons", "a cell of 70000 neurons");
	ChainSpec(spec, 4, 1, h1, 2);
	strcpy(spec->cells[1].name, "in");
	ExpectGrowSpecError(spec, "used twice", "duplicate cell names");
	ChainSpec(spec, 4, 1, h1, 2);
	spec->max_blocks = UINT32_MAX;
	ExpectGrowSpecError(spec, "max_sections", "a section limit over 1 GB");
	/* a hidden cell off to the side leads nowhere */
	ChainSpec(spec, 4, 1, h1, 2);
	spec->cells[3] = (HkCellSpec) {1, 1, 0, HK_CELL_HIDDEN, 8, -1, ""};
	spec->n_cells = 4;
	ExpectGrowSpecError(spec, "no cell to grow into", "a dead-end hidden cell");
	/* an axon from the input to a far cell makes it reachable */
	ChainSpec(spec, 4, 1, h1, 2);
	spec->cells[1].x = 5;
	spec->cells[2].x = 6;
	spec->cells[0].axon = 1;
	CHECK(HkSpecFinalize(spec, &err) == HANAMI_OK,
		  "an axon reaches a far cell");
	free(spec);
}

/* A hand-made section for the walk tests: borders 1, 2, 4; weights 1, 10, 100. */
static void
WalkBlock(HkBlock *b)
{
	memset(b, 0, sizeof(*b));
	b->n_used = 3;
	b->range = FLT_MAX;
	b->grain = 1.0f;
	for (int i = 0; i < 3; i++)
	{
		b->syn[i].border = (float) (1 << i);
		b->syn[i].weight = (float) (i == 0 ? 1 : i == 1 ? 10 : 100);
		b->syn[i].target = (uint16_t) i;
	}
}

/* The border walk: partial and full synapses, saturation, gaps. */
static void
TestGrowWalk(void)
{
	HkBlock b;
	float		sum[3];
	float		left;

	WalkBlock(&b);
	memset(sum, 0, sizeof(sum));
	left = HkWalkSection(&b, 0.5f, sum);
	CHECK(sum[0] == 0.5f && sum[1] == 0 && sum[2] == 0 && left == 0,
		  "walk: 0.5 fills half the first synapse");
	memset(sum, 0, sizeof(sum));
	left = HkWalkSection(&b, 2.0f, sum);
	CHECK(sum[0] == 1.0f && sum[1] == 5.0f && sum[2] == 0 && left == 0,
		  "walk: 2 fills the first and half the second");
	memset(sum, 0, sizeof(sum));
	left = HkWalkSection(&b, 5.0f, sum);
	CHECK(sum[0] == 1.0f && sum[1] == 10.0f && sum[2] == 50.0f && left == 0,
		  "walk: larger values reach further down the section");
	memset(sum, 0, sizeof(sum));
	left = HkWalkSection(&b, 1e30f, sum);
	CHECK(sum[0] == 1.0f && sum[1] == 10.0f && sum[2] == 100.0f && left > 1e29f,
		  "walk: a huge value saturates at the sum of the weights");
	b.syn[1].target = HK_GAP;
	b.syn[1].weight = 0;
	memset(sum, 0, sizeof(sum));
	left = HkWalkSection(&b, 5.0f, sum);
	CHECK(sum[0] == 1.0f && sum[1] == 0 && sum[2] == 50.0f,
		  "walk: a gap keeps its border and adds nothing");
}

/* Train rows (class targets) on an image; returns the (moved) image. */
static void *
Fit(void *img, size_t *len, const float *x, const int32_t *cls, int64_t n,
	uint32_t nf, uint32_t no, int epochs, bool grow, bool shuffle,
	bool reduction, HnTrainResult *res)
{
	HnDataset	ds = {n, nf, no, x, NULL, cls};
	HnRows		rows = {&ds, NULL, 0, NULL};
	HnTrainOptions opt;
	HkTrainOptions hk;
	HnNet		net;
	HnError		err;

	NetBindTrusted(&net, img);
	HkTrainOptionsDefaults(&opt, &hk, HkOf(&net));
	opt.epochs = epochs;
	opt.shuffle = shuffle;
	opt.seed = 11;
	hk.grow = grow;
	hk.reduction = reduction;
	if (HnFit(&net, &rows, &opt, NULL, NULL, &HnMallocAllocator, res,
			  &err) != HANAMI_OK)
		TestNote("fit failed: %s", err.message);
	*len = net.len;
	return net.hdr;
}

/* Growth: sections for active inputs, borders by grain and steps, appending. */
static void
TestGrowGrowth(void)
{
	HkSpec *spec = calloc(1, sizeof(HkSpec));
	static const uint32_t h1[] = {16};
	float		x[4] = {8.0f, 0.0f, -2.0f, 0.0f};
	int32_t		cls[1] = {1};
	size_t		len;
	void	   *img;
	HkNet	net;
	HnError		err;
	const HkBlock *b;
	uint32_t	blocks1;
	HkBlock first;

	ChainSpec(spec, 4, 1, h1, 2);
	img = MakeImage(spec, &len);
	img = Fit(img, &len, x, cls, 1, 4, 2, 1, true, false, false, NULL);
	HkBindTrusted(&net, img);
	CHECK(HkBind(&net, img, len, &err) == HANAMI_OK, "a grown image validates");
	CHECK(net.neurons[0].section != HK_NONE &&
		  net.neurons[1].section == HK_NONE &&
		  net.neurons[2].section_neg != HK_NONE &&
		  net.neurons[2].section == HK_NONE,
		  "growth: sections only for active inputs, negative values in their own chain");
	b = &net.blocks[net.neurons[0].section];
	CHECK(b->n_used == 6 && b->grain == 1.0f &&
		  b->syn[0].border == 1.0f && b->syn[2].border == 1.0f &&
		  b->syn[3].border == 1.5f && b->syn[4].border == 2.25f &&
		  b->syn[5].border == 1.25f &&
		  b->target_cell == 1 && b->lower == 0.0f && b->range == FLT_MAX,
		  "growth: a first value of 8 grows borders 1, 1, 1, then half the potential covered (1.5, 2.25), then the rest");
	CHECK(net.blocks[net.neurons[2].section_neg].flags == HK_SECTION_NEGATIVE,
		  "growth: the negative chain is flagged");
	{
		bool		parallel_ok = false;

		for (uint32_t k = 0; k < net.gh->n_blocks; k++)
			if (net.blocks[k].flags & HK_SECTION_PARALLEL)
				parallel_ok = net.blocks[k].n_used == 2 &&
					net.blocks[k].target_cell == 2 &&
					net.blocks[k].syn[0].target == 0 &&
					net.blocks[k].syn[1].target == 1 &&
					net.blocks[k].syn[0].border == 1.0f;
		CHECK(parallel_ok, "growth: hidden neurons get a parallel section into the outputs");
	}

	/* a larger value extends the chain with growing steps */
	memcpy(&first, &net.blocks[0], sizeof(first));
	blocks1 = net.gh->n_blocks;
	x[0] = 20.0f;
	img = Fit(img, &len, x, cls, 1, 4, 2, 1, true, false, false, NULL);
	HkBindTrusted(&net, img);
	b = &net.blocks[net.neurons[0].section];
	CHECK(b->n_used == 9 && b->syn[6].border == 4.0f && b->syn[7].border == 6.0f &&
		  b->syn[8].border == 2.0f,
		  "growth: a larger value adds borders of half the potential covered (4, 6), then the rest (2)");
	CHECK(net.gh->n_blocks >= blocks1 && net.blocks[0].source == first.source &&
		  net.blocks[0].target_cell == first.target_cell &&
		  net.blocks[0].lower == first.lower && net.blocks[0].flags == first.flags,
		  "growth appends: an early block keeps its place and identity");

	/* a value a million times larger grows logarithmically many synapses */
	{
		uint32_t	before = b->n_used;

		x[0] = 8e6f;
		img = Fit(img, &len, x, cls, 1, 4, 2, 1, true, false, false, NULL);
		HkBindTrusted(&net, img);
		b = &net.blocks[net.neurons[0].section];
		CHECK(b->n_used > before && b->n_used <= before + 40 &&
			  HkBind(&net, img, len, &err) == HANAMI_OK,
			  "growth: a value 10^6 times larger adds at most 40 synapses (%u -> %u)",
			  before, (unsigned) b->n_used);
	}

	/* without growth nothing is added */
	{
		uint32_t	nb = net.gh->n_blocks;
		uint32_t	ns = net.gh->n_synapses;

		x[1] = 5.0f;
		img = Fit(img, &len, x, cls, 1, 4, 2, 1, false, false, false, NULL);
		HkBindTrusted(&net, img);
		CHECK(net.gh->n_blocks == nb && net.gh->n_synapses == ns &&
			  net.neurons[1].section == HK_NONE,
			  "growth off: no sections or synapses are added");
	}
	free(img);
	free(spec);
}

/* Splitting: a potential ending near the middle of a wide synapse splits it. */
static void
TestGrowSplit(void)
{
	HkSpec *spec = calloc(1, sizeof(HkSpec));
	static const uint32_t h1[] = {16};
	float		x[1] = {8.0f};
	int32_t		cls[1] = {0};
	size_t		len;
	void	   *img;
	HkNet	net;
	HkBlock *b;
	HkSynapse old;
	HnError		err;

	ChainSpec(spec, 1, 1, h1, 2);
	img = MakeImage(spec, &len);
	x[0] = 16.0f;				/* grain 2: borders 2, 2, 2, 3, 4.5, 2.5 */
	img = Fit(img, &len, x, cls, 1, 1, 2, 1, true, false, false, NULL);
	x[0] = 40.0f;				/* covered 16: borders 8, 12, then the rest 4 */
	img = Fit(img, &len, x, cls, 1, 1, 2, 1, true, false, false, NULL);
	HkBindTrusted(&net, img);
	b = &net.blocks[net.neurons[0].section];
	CHECK(b->n_used == 9 && b->syn[5].border == 2.5f && b->syn[6].border == 8.0f &&
		  b->syn[7].border == 12.0f,
		  "split setup: a synapse of border 8 after 16");
	old = b->syn[6];
	x[0] = 20.0f;				/* ends at 4 of 8: the middle */
	img = Fit(img, &len, x, cls, 1, 1, 2, 1, true, false, false, NULL);
	HkBindTrusted(&net, img);
	b = &net.blocks[net.neurons[0].section];
	CHECK(b->n_used == 10 && b->syn[6].border == 4.0f && b->syn[7].border == 4.0f &&
		  b->syn[8].border == 12.0f && b->syn[6].target == old.target &&
		  fabsf(b->syn[6].weight - 0.5f * old.weight) < 0.05f &&
		  b->syn[7].counter == 0,
		  "split: two halves of border 4, the first keeps the target and half the weight");

	CHECK(HkBind(&net, img, len, &err) == HANAMI_OK, "split: the image validates");
	x[0] = 17.0f;				/* ends at 1 of 4: not the middle */
	img = Fit(img, &len, x, cls, 1, 1, 2, 1, true, false, false, NULL);
	HkBindTrusted(&net, img);
	b = &net.blocks[net.neurons[0].section];
	CHECK(b->n_used == 10, "split: not away from the middle");
	x[0] = 18.0f;				/* middle of a border of 4 = 2 grains: splits */
	img = Fit(img, &len, x, cls, 1, 1, 2, 1, true, false, false, NULL);
	HkBindTrusted(&net, img);
	b = &net.blocks[net.neurons[0].section];
	x[0] = 17.0f;				/* middle of a border of 2 = 1 grain: too fine */
	{
		uint8_t		n = b->n_used;

		img = Fit(img, &len, x, cls, 1, 1, 2, 1, true, false, false, NULL);
		HkBindTrusted(&net, img);
		b = &net.blocks[net.neurons[0].section];
		CHECK(n == 11 && b->n_used == 11 && b->syn[6].border == 2.0f,
			  "split: down to two grains, never finer (%u, %u)", n, b->n_used);
	}
	free(img);
	free(spec);
}

/* Reduction: removal, gaps that keep ranges, merging, persistence. */
static void
TestGrowReduce(void)
{
	HkSpec *spec = calloc(1, sizeof(HkSpec));
	static const uint32_t h1[] = {16};
	float		x[1] = {8.0f};
	int32_t		cls[1] = {0};
	size_t		len;
	void	   *img;
	HkNet	net;
	HkBlock *b;
	HnError		err;
	float		before[16];
	float		after[16];
	uint64_t	removed;

	ChainSpec(spec, 1, 1, h1, 2);
	img = MakeImage(spec, &len);
	img = Fit(img, &len, x, cls, 1, 1, 2, 1, true, false, false, NULL);
	HkBindTrusted(&net, img);
	/* every other synapse is persistent, so only this section changes */
	for (uint32_t k = 0; k < net.gh->n_blocks; k++)
		for (int i = 0; i < net.blocks[k].n_used; i++)
			net.blocks[k].syn[i].counter = HK_COUNTER_CAP;
	b = &net.blocks[net.neurons[0].section];
	/* borders 1, 1, 1, 1.5, 2.25, 1.25 */
	for (int i = 0; i < b->n_used; i++)
		b->syn[i].counter = 0;
	b->syn[0].counter = 3;		/* helped */
	b->syn[4].counter = HK_COUNTER_CAP;	/* persistent */
	b->syn[5].counter = 1;		/* helped once: enough for threshold 1 */
	net.gh->reduction_threshold = 1;
	memset(before, 0, sizeof(before));
	before[b->syn[0].target] += b->syn[0].weight;
	before[b->syn[4].target] += b->syn[4].weight;
	before[b->syn[5].target] += b->syn[5].weight;
	removed = HkReduce(&net);
	memset(after, 0, sizeof(after));
	HkWalkSection(b, 8.0f, after);
	CHECK(removed == 3 && b->n_used == 4 &&
		  b->syn[0].counter == 0 && b->syn[0].border == 1.0f &&
		  b->syn[1].target == HK_GAP && b->syn[1].border == 3.5f &&
		  b->syn[2].counter == HK_COUNTER_CAP && b->syn[2].border == 2.25f &&
		  b->syn[3].border == 1.25f && b->syn[3].counter == 0,
		  "reduction: removed synapses become one merged gap, the others keep their ranges");

	CHECK(memcmp(before, after, sizeof(before)) == 0,
		  "reduction: survivors contribute exactly as before");
	{
		uint32_t	others = 0;

		for (uint32_t k = 0; k < net.gh->n_blocks; k++)
			if (k != net.neurons[0].section)
				others += net.blocks[k].n_used;
		CHECK(HkBind(&net, img, len, &err) == HANAMI_OK &&
			  net.gh->n_synapses == 3 + others,
			  "reduction: the image validates and counts match");
	}
	b->syn[0].counter = 5;
	removed = HkReduce(&net);
	CHECK(removed == 1 && b->n_used == 3 && b->syn[2].counter == HK_COUNTER_CAP &&
		  HkBind(&net, img, len, &err) == HANAMI_OK,
		  "reduction: trailing gaps go, persistent synapses stay");
	free(img);
	free(spec);
}

/* Expect HkBind (through NetBind) to reject a mutated image. */
static bool
ExpectGrowReject(const void *img, size_t len, const char *what)
{
	void	   *copy = TestCopy(img, len);
	HnNet		net;
	HnError		err;
	HnStatus	st = NetBind(&net, copy, len, &err);
	bool		ok = st == HANAMI_E_INVALID_FORMAT &&
		err.message[0] >= 'a' && err.message[0] <= 'z';

	if (!CHECK(ok, "grow bind rejects %s", what))
		TestNote("status %d, message \"%s\"", (int) st,
				 st == HANAMI_OK ? "" : err.message);
	free(copy);
	return ok;
}

/* A small trained image with hidden and parallel sections. */
static void *
TrainedImage(size_t *len)
{
	HkSpec *spec = calloc(1, sizeof(HkSpec));
	static const uint32_t h1[] = {12};
	float		x[3 * 6];
	int32_t		cls[6];
	uint64_t	st = 5;
	void	   *img;

	ChainSpec(spec, 3, 1, h1, 3);
	for (int r = 0; r < 6; r++)
	{
		for (int j = 0; j < 3; j++)
			x[r * 3 + j] = TestUniform(&st, -50.0f, 200.0f);
		cls[r] = r % 3;
	}
	img = MakeImage(spec, len);
	img = Fit(img, len, x, cls, 6, 3, 3, 3, true, true, false, NULL);
	free(spec);
	return img;
}

/* NetBind on growing images: accepts, and rejects every kind of damage. */
static void
TestGrowBind(void)
{
	size_t		len;
	void	   *img = TrainedImage(&len);
	void	   *m = malloc(len);
	HkNet	g;
	HnNet		net;
	HnError		err;
	HnRng		rng;
	int			rejected = 0;
	int			accepted_mutations = 0;
	int			walk_failures = 0;
	char		first_failure[512] = "";

	memcpy(m, img, len);
	CHECK(NetBind(&net, m, len, &err) == HANAMI_OK && net.hdr == m &&
		  HkOf(&net) != NULL && HkOf(&net)->gh != NULL && DenseOf(&net) == NULL,
		  "NetBind accepts a grown image and binds the hanami view only");
	HkBindTrusted(&g, img);
	CHECK(g.gh->n_blocks > 3, "the trained image has %u blocks", g.gh->n_blocks);

#define MUT(stmt, what) do { memcpy(m, img, len); HkBindTrusted(&g, m); stmt; \
	ExpectGrowReject(m, len, what); } while (0)

	MUT(g.gh->grow_size = 100, "a wrong growth header size");
	MUT(g.gh->n_blocks++, "a block count that does not match the size");
	MUT(g.gh->n_cells = 1, "one cell");
	MUT(g.hdr->n_layers = 4, "a layer count unlike the cells");
	MUT(g.gh->flags |= 0x80, "unknown growth flags");
	MUT(g.gh->flags |= HK_SPIKING, "a spiking flag without settings");
	MUT(g.gh->cooldown = 0.5f, "a cooldown below 1");
	MUT(g.gh->refractory = 0, "refractory 0");
	MUT(g.gh->reserved[1] = 1, "a reserved header field");
	MUT(g.gh->n_history = 17, "a history longer than 16");
	MUT(g.gh->max_blocks = 1, "fewer allowed blocks than present");
	MUT(g.gh->n_synapses++, "a wrong synapse count");
	MUT(g.hdr->n_params--, "a wrong parameter count");
	MUT(g.hdr->loss = HANAMI_LOSS_MSE, "a loss other than cross_entropy");
	MUT(g.hdr->flags = 1, "dense flags on a growing image");
	MUT(g.hdr->n_inputs = 2, "an input count unlike the cells");
	MUT(g.cells[1].depth = 5, "a wrong cell depth");
	MUT(g.cells[1].x = 7, "a cell moved out of reach");
	MUT(g.cells[2].x = 0, "two cells at one position");
	MUT(g.cells[1].type = 7, "an unknown cell type");
	MUT(g.cells[0].n_neurons = 2, "a cell of the wrong size");
	MUT(g.cells[2].io_offset = 1, "a wrong output offset");
	MUT(g.cells[0].axon = 0, "an axon to itself");
	MUT(g.cells[1].name[31] = 'x', "a cell name without NUL");
	MUT(g.neurons[0].bias = 1.0f, "an input neuron with a bias");
	MUT(g.neurons[4].bias = NAN, "a NaN bias");
	MUT(g.neurons[4].potential = 1.0f, "state in a non-spiking network");
	MUT(g.neurons[0].section = g.gh->n_blocks, "a root past the blocks");
	MUT(g.neurons[1].section = g.neurons[0].section, "two neurons sharing a chain");
	MUT(g.neurons[15].section = 0, "an output neuron with a section");
	MUT(g.neurons[4].section_neg = 0, "a negative chain on a hidden neuron");
	MUT(g.blocks[0].next = 0, "a section continuing into itself");
	MUT(g.blocks[0].source = 99999, "a section of a missing neuron");
	MUT(g.blocks[0].target_cell = 0, "a section into an input cell");
	MUT(g.blocks[0].target_cell = 2, "an input section into the output cell, beyond reach");
	MUT(g.blocks[0].lower = 1.0f, "a root starting above 0");
	MUT(g.blocks[0].range = 0.0f, "a range of 0");
	MUT(g.blocks[0].grain = -1.0f, "a negative grain");
	MUT(g.blocks[0].flags |= 0x40, "unknown section flags");
	MUT(g.blocks[0].flags |= HK_SECTION_PARALLEL, "a parallel input section");
	MUT(g.blocks[0].reserved[0] = 1, "a reserved section field");
	MUT(g.blocks[0].n_used = 65, "a section using 65 synapses");
	MUT(g.blocks[0].syn[0].border = 0.0f, "a border of 0");
	MUT(g.blocks[0].syn[0].border = INFINITY, "an infinite border");
	MUT(g.blocks[0].syn[0].weight = NAN, "a NaN weight");
	MUT(g.blocks[0].syn[0].target = 500, "a target past the cell");
	MUT(g.blocks[0].syn[0].counter = 200, "a counter over the cap");
	MUT(g.blocks[0].syn[0].target = HK_GAP, "a gap with a weight");
	MUT(g.blocks[0].syn[63].weight = 1.0f, "data in an unused synapse");
	{
		/* the last block is in a chain; damage its bookkeeping */
		uint32_t	last = g.gh->n_blocks - 1;

		MUT(g.blocks[last].flags ^= HK_SECTION_CONTINUATION,
			"a continuation flag that does not match the chain");
		MUT(g.blocks[last].source = (g.blocks[last].source + 1) % 3,
			"a section in another neuron's chain");
	}
	for (uint32_t k = 0; k < g.gh->n_blocks; k++)
		if (g.blocks[k].flags & HK_SECTION_PARALLEL)
		{
			MUT(g.blocks[k].syn[0].border = 2.0f, "a parallel synapse with border 2");
			MUT(g.blocks[k].range = 5.0f, "a parallel section with a closed range");
			MUT(g.blocks[k].flags &= (uint8_t) ~HK_SECTION_PARALLEL,
				"a hidden-to-output section that is not parallel");
			break;
		}
#undef MUT

	/* truncation at every length up to the first blocks */
	for (size_t l = 0; l < len; l += (l < 2000 ? 1 : 97))
	{
		void	   *t = TestCopy(img, l);

		if (NetBind(&net, t, l, &err) == HANAMI_OK)
			rejected = -1000000;
		else
			rejected++;
		free(t);
	}
	CHECK(rejected > 0, "grow bind rejects every truncation");

	/*
	 * random byte damage: never a crash; an accepted image gets working
	 * memory, its walk writes every output as a probability, and the walk
	 * leaves it as valid as it found it
	 */
	RngSeed(&rng, 99);
	for (int trial = 0; trial < 3000; trial++)
	{
		int			nbytes = 1 + (int) RngBelow(&rng, 4);

		memcpy(m, img, len);
		for (int k = 0; k < nbytes; k++)
			((unsigned char *) m)[RngBelow(&rng, len)] ^= (unsigned char) (1 + RngBelow(&rng, 255));
		if (NetBind(&net, m, len, &err) == HANAMI_OK)
		{
			HkWork *w;
			float		xin[3] = {1e30f, -3.0f, 77.0f};
			float		out[3] = {-1.0f, -1.0f, -1.0f};	/* never a sigmoid */
			bool		walked = true;
			bool		valid = true;

			accepted_mutations++;
			HkBindTrusted(&g, m);
			w = HkWorkCreate(&g, false, &HnMallocAllocator, NULL);
			if (w == NULL)
				walked = false;
			else
			{
				HkPredict(&g, w, xin, out);
				HkWorkFree(w, &HnMallocAllocator);
				for (int j = 0; j < 3; j++)
					walked &= out[j] >= 0.0f && out[j] <= 1.0f;
				valid = NetBind(&net, m, len, &err) == HANAMI_OK;
			}
			if (!(walked && valid) && walk_failures++ == 0)
				snprintf(first_failure, sizeof(first_failure),
						 "trial %d: %s, outputs %g %g %g, after the walk: %s",
						 trial, w == NULL ? "no working memory" : "walked",
						 out[0], out[1], out[2], valid ? "valid" : err.message);
		}
	}
	/* the damage is real: the validator turns most of it away */
	if (!CHECK(accepted_mutations > 0 && accepted_mutations < 3000 / 2 &&
			   walk_failures == 0,
			   "random damage: %d of 3000 images accepted (weights), each walked to outputs in [0, 1] and still valid after",
			   accepted_mutations) && walk_failures > 0)
		TestNote("%d failed; the first: %s", walk_failures, first_failure);
	free(m);
	free(img);
}

/* A two-class task whose classes differ in raw magnitude and pattern. */
static void
MakeBlobs(float *x, int32_t *cls, int n, uint32_t nf, uint64_t seed, float scale)
{
	uint64_t	st = seed;

	for (int r = 0; r < n; r++)
	{
		int			k = r % 3;

		cls[r] = k;
		for (uint32_t j = 0; j < nf; j++)
		{
			float		center = (float) (((j + (uint32_t) k * 3) % nf) < nf / 2 ? 200 : 20);

			x[(size_t) r * nf + j] = scale * (center + TestUniform(&st, -60.0f, 60.0f));
		}
	}
}

/* Accuracy of a network on rows. */
static double
HkAccuracy(void *img, const float *x, const int32_t *cls, int n, uint32_t nf)
{
	HnNet		net;
	HnDataset	ds = {n, nf, 3, x, NULL, cls};
	HnRows		rows = {&ds, NULL, 0, NULL};
	HnEvalResult res;
	HnError		err;

	NetBindTrusted(&net, img);
	memset(&res, 0, sizeof(res));
	if (HnEvaluate(&net, &rows, NULL, &HnMallocAllocator, &res, &err) != HANAMI_OK)
		return -1;
	return res.accuracy;
}

/* Learning on raw values, at any scale, robust to huge corrupted values. */
static void
TestGrowLearn(void)
{
	HkSpec *spec = calloc(1, sizeof(HkSpec));
	static const uint32_t h1[] = {64};
	enum
	{
	NF = 12, N = 300};
	float	   *x = malloc(sizeof(float) * NF * N);
	float	   *xt = malloc(sizeof(float) * NF * N);
	int32_t		cls[N];
	int32_t		clst[N];
	size_t		len;
	void	   *img;
	double		acc_clean;
	double		acc;
	HnRng		rng;
	HnTrainResult res;

	MakeBlobs(x, cls, N, NF, 1, 1.0f);
	MakeBlobs(xt, clst, N, NF, 2, 1.0f);
	ChainSpec(spec, NF, 1, h1, 3);
	img = MakeImage(spec, &len);
	img = Fit(img, &len, x, cls, N, NF, 3, 5, true, true, false, &res);
	acc_clean = HkAccuracy(img, xt, clst, N, NF);
	CHECK(acc_clean >= 0.95, "learns a 3-class task on raw values (%.3f)", acc_clean);
	CHECK(res.epochs == 5 && res.iterations == 5 * N && res.loss < 1.0,
		  "fit reports epochs, rows and loss (%.3f)", res.loss);
	{
		HkNet	net;

		HkBindTrusted(&net, img);
		CHECK(net.gh->n_history == 5 && net.gh->history[4].epoch == 5 &&
			  net.gh->history[4].synapses == net.gh->n_synapses &&
			  net.hdr->epochs == 5 && net.hdr->samples == 5 * N,
			  "the growth history has one entry per epoch");
	}
	free(img);

	/* the same task at a scale 10^4 larger, unscaled */
	MakeBlobs(x, cls, N, NF, 1, 1e4f);
	MakeBlobs(xt, clst, N, NF, 2, 1e4f);
	img = MakeImage(spec, &len);
	img = Fit(img, &len, x, cls, N, NF, 3, 5, true, true, false, NULL);
	acc = HkAccuracy(img, xt, clst, N, NF);
	CHECK(acc >= 0.95, "learns the same task 10^4 times larger, raw (%.3f)", acc);
	free(img);

	/* 2 % of training rows with one value 10^6 times too large */
	MakeBlobs(x, cls, N, NF, 1, 1.0f);
	MakeBlobs(xt, clst, N, NF, 2, 1.0f);
	RngSeed(&rng, 4);
	for (int k = 0; k < N / 50; k++)
		x[RngBelow(&rng, N) * NF + RngBelow(&rng, NF)] = 260.0f * 1e6f;
	img = MakeImage(spec, &len);
	img = Fit(img, &len, x, cls, N, NF, 3, 5, true, true, false, NULL);
	acc = HkAccuracy(img, xt, clst, N, NF);
	CHECK(acc >= acc_clean - 0.02, "huge corrupted values cost at most 2 points (%.3f vs %.3f)",
		  acc, acc_clean);
	/* and a huge value at inference saturates instead of exploding */
	{
		HkNet	net;
		HkWork *w;
		float		out[3];

		HkBindTrusted(&net, img);
		w = HkWorkCreate(&net, false, &HnMallocAllocator, NULL);
		xt[0] = 3e38f;
		HkPredict(&net, w, xt, out);
		CHECK(isfinite(out[0]) && out[0] >= 0 && out[0] <= 1,
			  "a value near FLT_MAX gives finite outputs");
		HkWorkFree(w, &HnMallocAllocator);
	}
	free(img);

	/* reduction removes synapses that never helped, keeping accuracy */
	{
		HkNet	a;
		HkNet	b;
		void	   *img2;
		size_t		len2;
		double		acc_red;

		MakeBlobs(x, cls, N, NF, 1, 1.0f);
		img = MakeImage(spec, &len);
		img = Fit(img, &len, x, cls, N, NF, 3, 8, true, true, false, NULL);
		img2 = MakeImage(spec, &len2);
		img2 = Fit(img2, &len2, x, cls, N, NF, 3, 8, true, true, true, &res);
		HkBindTrusted(&a, img);
		HkBindTrusted(&b, img2);
		acc = HkAccuracy(img, xt, clst, N, NF);
		acc_red = HkAccuracy(img2, xt, clst, N, NF);
		CHECK(res.removed > 0 && b.gh->n_synapses < a.gh->n_synapses &&
			  acc_red >= acc - 0.02,
			  "reduction: %u synapses instead of %u, accuracy %.3f vs %.3f",
			  b.gh->n_synapses, a.gh->n_synapses, acc_red, acc);
		free(img2);
		free(img);
	}
	free(x);
	free(xt);
	free(spec);
}

/*
 * Spiking: a sequence of (cue, blank) pairs.  The class of a blank row is
 * the previous row's cue, so it can only be answered from the carried state.
 */
static void
TestGrowSpiking(void)
{
	HkSpec *spec = calloc(1, sizeof(HkSpec));
	static const uint32_t h1[] = {32};
	enum
	{
	N = 400};
	float		x[2 * N];
	int32_t		cls[N];
	uint64_t	st = 8;
	size_t		len;
	void	   *img;
	HkNet	net;
	HkWork *w;
	float		out[2];
	int			right = 0;
	int			blanks = 0;
	float		a0;
	float		a1;

	for (int r = 0; r < N; r += 2)
	{
		int			cue = TestUniform(&st, 0, 1) < 0.5f ? 0 : 1;

		x[2 * r] = cue == 0 ? 10.0f : 0.0f;
		x[2 * r + 1] = cue == 1 ? 10.0f : 0.0f;
		x[2 * r + 2] = 0.0f;
		x[2 * r + 3] = 0.0f;
		cls[r] = cue;
		cls[r + 1] = cue;
	}
	ChainSpec(spec, 2, 1, h1, 2);
	spec->cooldown = 2.0;
	img = MakeImage(spec, &len);
	HkBindTrusted(&net, img);
	CHECK(net.gh->flags & HK_SPIKING, "a cooldown makes the network spiking");
	{
		HnTrainOptions opt;
		HkTrainOptions hk;

		HkTrainOptionsDefaults(&opt, &hk, &net);
		CHECK(!opt.shuffle, "spiking networks train on their rows in order");
	}
	img = Fit(img, &len, x, cls, N, 2, 2, 20, true, false, false, NULL);
	HkBindTrusted(&net, img);
	w = HkWorkCreate(&net, false, &HnMallocAllocator, NULL);
	HkResetState(&net);
	for (int r = 0; r < N; r++)
	{
		HkPredict(&net, w, x + 2 * r, out);
		if (r % 2 == 1)
		{
			blanks++;
			right += (out[1] > out[0]) == (cls[r] == 1);
		}
	}
	CHECK(right >= blanks * 95 / 100,
		  "spiking: the answer to a blank row comes from the previous row (%d of %d)",
		  right, blanks);

	/* after a reset the blank row knows nothing of the cue */
	{
		float		cue0[2] = {10.0f, 0.0f};
		float		cue1[2] = {0.0f, 10.0f};
		float		blank[2] = {0.0f, 0.0f};
		float		b0[2];
		float		b1[2];

		HkPredict(&net, w, cue0, out);
		HkPredict(&net, w, blank, b0);
		HkPredict(&net, w, cue1, out);
		HkPredict(&net, w, blank, b1);
		CHECK((b0[0] > b0[1]) && (b1[1] > b1[0]), "spiking: blank after cue 0 says 0, after cue 1 says 1");
		HkPredict(&net, w, cue0, out);
		HkResetState(&net);
		HkPredict(&net, w, blank, b0);
		HkPredict(&net, w, cue1, out);
		HkResetState(&net);
		HkPredict(&net, w, blank, b1);
		a0 = b0[0];
		a1 = b1[0];
		CHECK(a0 == a1 && b0[1] == b1[1],
			  "spiking: after a reset the output no longer depends on the earlier cue");
	}
	HkWorkFree(w, &HnMallocAllocator);
	free(img);

	/* without a cooldown the same task is not learned on blank rows */
	ChainSpec(spec, 2, 1, h1, 2);
	img = MakeImage(spec, &len);
	img = Fit(img, &len, x, cls, N, 2, 2, 20, true, false, false, NULL);
	HkBindTrusted(&net, img);
	w = HkWorkCreate(&net, false, &HnMallocAllocator, NULL);
	right = 0;
	for (int r = 1; r < N; r += 2)
	{
		HkPredict(&net, w, x + 2 * (r - 1), out);
		HkPredict(&net, w, x + 2 * r, out);
		right += (out[1] > out[0]) == (cls[r] == 1);
	}
	CHECK(right <= blanks * 70 / 100,
		  "not spiking: blank rows are guesses (%d of %d)", right, blanks);
	HkWorkFree(w, &HnMallocAllocator);
	free(img);

	/* refractory time: a neuron that took an input skips the next ones */
	ChainSpec(spec, 2, 1, h1, 2);
	spec->refractory = 3;
	img = MakeImage(spec, &len);
	img = Fit(img, &len, x, cls, 8, 2, 2, 1, true, false, false, NULL);
	HkBindTrusted(&net, img);
	CHECK((net.gh->flags & HK_SPIKING) && net.gh->cooldown == 0.0f,
		  "a refractory time alone makes the network spiking");
	{
		HnError		err;
		uint32_t	h0 = net.cells[1].first_neuron;

		w = HkWorkCreate(&net, false, &HnMallocAllocator, NULL);
		HkPredict(&net, w, x, out);
		CHECK(net.neurons[h0].refractory == 2 &&
			  HkBind(&net, img, len, &err) == HANAMI_OK,
			  "refractory counters are state in the image, and it validates");
		HkPredict(&net, w, x, out);
		HkPredict(&net, w, x, out);
		CHECK(net.neurons[h0].refractory == 0, "refractory counters count down");
		HkWorkFree(w, &HnMallocAllocator);
	}
	free(img);
	free(spec);
}

/* Growth needs a larger buffer: the image moves, earlier blocks stay put. */
static void
TestGrowMoves(void)
{
	HkSpec *spec = calloc(1, sizeof(HkSpec));
	static const uint32_t h1[] = {64};
	enum
	{
	NF = 40, N = 50};
	float	   *x = malloc(sizeof(float) * NF * N);
	int32_t		cls[N];
	size_t		len;
	void	   *img;
	HkNet	net;
	HnError		err;

	MakeBlobs(x, cls, N, NF, 3, 1.0f);
	ChainSpec(spec, NF, 1, h1, 3);
	spec->max_blocks = 30;
	img = MakeImage(spec, &len);
	img = Fit(img, &len, x, cls, N, NF, 3, 1, true, true, false, NULL);
	HkBindTrusted(&net, img);
	CHECK(net.gh->n_blocks == 30 && HkBind(&net, img, len, &err) == HANAMI_OK &&
		  len == net.hdr->total_size,
		  "growth stops at max_sections and the image stays valid");
	free(img);
	free(x);
	free(spec);
}

/*
 * A template with two input cells, two output cells, a 3D cell, distance 2
 * and an axon: inputs and outputs are concatenated in cell order, sections
 * reach every allowed cell, and it learns.
 */
static void
TestGrowTemplate(void)
{
	HkSpec *spec = calloc(1, sizeof(HkSpec));
	enum
	{
	NF = 12, N = 300};
	float	   *x = malloc(sizeof(float) * NF * N);
	float	   *xt = malloc(sizeof(float) * NF * N);
	int32_t		cls[N];
	int32_t		clst[N];
	size_t		len;
	void	   *img;
	HkNet	net;
	HnError		err;
	bool		reach[8] = {false};
	double		acc;

	MakeBlobs(x, cls, N, NF, 1, 1.0f);
	MakeBlobs(xt, clst, N, NF, 2, 1.0f);
	spec->cells[0] = (HkCellSpec) {0, 0, 0, HK_CELL_INPUT, 5, -1, "a"};
	spec->cells[1] = (HkCellSpec) {0, 1, 0, HK_CELL_INPUT, 7, -1, "b"};
	spec->cells[2] = (HkCellSpec) {1, 0, 0, HK_CELL_HIDDEN, 32, -1, ""};
	spec->cells[3] = (HkCellSpec) {1, 0, 1, HK_CELL_HIDDEN, 16, 5, ""};
	spec->cells[4] = (HkCellSpec) {2, 0, 0, HK_CELL_OUTPUT, 1, -1, "first"};
	spec->cells[5] = (HkCellSpec) {2, 0, 1, HK_CELL_OUTPUT, 2, -1, "rest"};
	spec->n_cells = 6;
	spec->max_distance = 2;
	img = MakeImage(spec, &len);
	HkBindTrusted(&net, img);
	CHECK(img && net.hdr->n_inputs == 12 && net.hdr->n_outputs == 3 &&
		  net.cells[1].io_offset == 5 && net.cells[5].io_offset == 1 &&
		  net.cells[3].axon == 5,
		  "template: inputs and outputs concatenate in cell order");
	img = Fit(img, &len, x, cls, N, NF, 3, 5, true, true, false, NULL);
	HkBindTrusted(&net, img);
	CHECK(HkBind(&net, img, len, &err) == HANAMI_OK, "template: the grown image validates");
	for (uint32_t b = 0; b < net.gh->n_blocks; b++)
		reach[net.blocks[b].target_cell] = true;
	CHECK(reach[2] && reach[3] && reach[4] && reach[5] && !reach[0] && !reach[1],
		  "template: sections reach hidden and output cells, never input cells");
	acc = HkAccuracy(img, xt, clst, N, NF);
	CHECK(acc >= 0.9, "template: learns across two input and two output cells (%.3f)", acc);
	free(img);
	free(x);
	free(xt);
	free(spec);
}

/*
 * Fit with compute threads (0: no pool; ALWAYS_TEAM so the threads really
 * share every job) and frozen cells (bits of cell indexes); returns the
 * (moved) image.
 */
static void *
FitThreads(void *img, size_t *len, const float *x, const int32_t *cls,
		   int64_t n, uint32_t nf, uint32_t no, int threads, uint64_t frozen,
		   bool reduction)
{
	HnDataset	ds = {n, nf, no, x, NULL, cls};
	HnRows		rows = {&ds, NULL, 0, NULL};
	HnTrainOptions opt;
	HkTrainOptions hk;
	HnNet		net;
	HnError		err;
	HnPool	   *pool = NULL;

	if (threads > 1)
	{
		pool = PoolCreate(threads, &HnMallocAllocator, &err);
		PoolSetMode(pool, HANAMI_POOL_ALWAYS_TEAM);
	}
	NetBindTrusted(&net, img);
	HkTrainOptionsDefaults(&opt, &hk, HkOf(&net));
	opt.epochs = 2;
	opt.seed = 5;
	opt.pool = pool;
	hk.reduction = reduction;
	hk.frozen[0] = frozen;
	if (HnFit(&net, &rows, &opt, NULL, NULL, &HnMallocAllocator, NULL,
			  &err) != HANAMI_OK)
		TestNote("fit failed: %s", err.message);
	PoolFree(pool, &HnMallocAllocator);
	*len = net.len;
	return net.hdr;
}

/* A copy of an image (malloc). */
static void *
CopyImage(const void *img, size_t len)
{
	void	   *c = malloc(len);

	memcpy(c, img, len);
	return c;
}

/*
 * Whether two sections are the same bytes but for their continuation's
 * index (a fit groups the blocks by cell, which moves them).
 */
static bool
SameSection(const HkBlock *x, const HkBlock *y)
{
	HkBlock		u = *x;
	HkBlock		v = *y;

	u.next = v.next = 0;
	return memcmp(&u, &v, sizeof(HkBlock)) == 0;
}

/*
 * Compare the sections ending in cell c of before and after, chain by
 * chain and position by position (blocks move when a fit groups them):
 * *same is whether they are all the same (none added, none changed), the
 * result whether some weight of one changed.
 */
static bool
CellCompare(const void *before, const void *after, uint32_t c, bool *same)
{
	HkNet		b;
	HkNet		a;
	bool		learned = false;

	HkBindTrusted(&b, (void *) before);
	HkBindTrusted(&a, (void *) after);
	*same = true;
	for (uint32_t i = 0; i < a.gh->n_neurons; i++)
		for (int neg = 0; neg < 2; neg++)
		{
			uint32_t	ka = neg ? a.neurons[i].section_neg : a.neurons[i].section;
			uint32_t	kb = neg ? b.neurons[i].section_neg : b.neurons[i].section;

			for (; ka != HK_NONE; ka = a.blocks[ka].next)
			{
				const HkBlock *x = &a.blocks[ka];
				const HkBlock *y = kb != HK_NONE ? &b.blocks[kb] : NULL;

				if (x->target_cell == c)
				{
					if (y == NULL || !SameSection(x, y))
						*same = false;
					if (y != NULL && y->target_cell == c)
						for (int s = 0; s < x->n_used && s < y->n_used; s++)
							if (x->syn[s].weight != y->syn[s].weight)
								learned = true;
				}
				kb = y != NULL ? y->next : HK_NONE;
			}
		}
	return learned;
}

/*
 * Whether the sections ending in cell c and the biases of its neurons are
 * the same bytes in after as in before.
 */
static bool
CellUnchanged(const void *before, const void *after, uint32_t c)
{
	HkNet		b;
	HkNet		a;
	bool		same;

	CellCompare(before, after, c, &same);
	if (!same)
		return false;
	HkBindTrusted(&b, (void *) before);
	HkBindTrusted(&a, (void *) after);
	for (uint32_t j = 0; j < a.cells[c].n_neurons; j++)
		if (memcmp(&a.neurons[a.cells[c].first_neuron + j].bias,
				   &b.neurons[b.cells[c].first_neuron + j].bias, sizeof(float)) != 0)
			return false;
	return true;
}

/* Whether some weight of a section ending in cell c changed. */
static bool
CellLearned(const void *before, const void *after, uint32_t c)
{
	bool		same;

	return CellCompare(before, after, c, &same);
}

/* Threads give the same bytes; frozen cells learn nothing. */
static void
TestGrowThreads(void)
{
	HkSpec	   *spec = calloc(1, sizeof(HkSpec));
	static const uint32_t hid[] = {24, 12};
	enum
	{
	NF = 30, N = 240};
	float	   *x = malloc(sizeof(float) * NF * N);
	int32_t		cls[N];
	size_t		len;
	size_t		l1;
	size_t		l2;
	size_t		l3;
	void	   *base;
	void	   *i1;
	void	   *i2;
	void	   *i3;

	MakeBlobs(x, cls, N, NF, 9, 3.0f);
	for (int r = 0; r < N * NF; r += 7)
		x[r] = -x[r];			/* negative chains too */
	for (int pass = 0; pass < 4; pass++)
	{
		/* pass 0: plain; 1: reduction; 2: hidden cell 2 frozen; 3: both */
		uint64_t	frozen = pass >= 2 ? (uint64_t) 1 << 2 : 0;
		bool		reduction = pass % 2 == 1;
		HkNet		net;

		ChainSpec(spec, NF, 2, hid, 3);
		spec->max_distance = 2;
		spec->reduction_threshold = 2;
		base = MakeImage(spec, &len);
		/* from a fresh image (frozen cells: grown first, to have sections) */
		if (frozen)
			base = FitThreads(base, &len, x, cls, N / 2, NF, 3, 1, 0, false);
		l1 = l2 = l3 = len;
		i1 = FitThreads(CopyImage(base, len), &l1, x, cls, N, NF, 3, 1, frozen, reduction);
		i2 = FitThreads(CopyImage(base, len), &l2, x, cls, N, NF, 3, 2, frozen, reduction);
		i3 = FitThreads(CopyImage(base, len), &l3, x, cls, N, NF, 3, 3, frozen, reduction);
		HkBindTrusted(&net, i1);
		CHECK(net.gh->n_synapses > 0 && l1 == l2 && l1 == l3 &&
			  memcmp(i1, i2, l1) == 0 && memcmp(i1, i3, l1) == 0,
			  "threads: 1, 2 and 3 threads train the same bytes, growth included (%s; %u blocks, %u grown, %u synapses)",
			  pass == 0 ? "plain" : pass == 1 ? "reduction" :
			  pass == 2 ? "a frozen cell" : "a frozen cell and reduction",
			  net.gh->n_blocks, (unsigned) ((l1 - len) / sizeof(HkBlock)),
			  net.gh->n_synapses);
		if (frozen)
		{
			CHECK(CellUnchanged(base, i1, 2) && CellLearned(base, i1, 1) &&
				  CellLearned(base, i1, 3),
				  "frozen: the sections into the frozen cell and its biases stay the same bytes, the others learn%s",
				  reduction ? " (reduction spares them)" : "");
		}
		free(base);
		free(i1);
		free(i2);
		free(i3);
	}

	/* the output cell frozen: only the hidden cells learn */
	{
		ChainSpec(spec, NF, 2, hid, 3);
		base = MakeImage(spec, &len);
		base = FitThreads(base, &len, x, cls, N / 2, NF, 3, 1, 0, false);
		l1 = len;
		i1 = FitThreads(CopyImage(base, len), &l1, x, cls, N, NF, 3, 2,
						(uint64_t) 1 << 3, true);
		CHECK(CellUnchanged(base, i1, 3) && CellLearned(base, i1, 1),
			  "frozen: a frozen output cell keeps its sections and biases, gradients still reach the hidden cells");
		free(base);
		free(i1);
	}
	free(x);
	free(spec);
}

/* All grow tests. */
void
TestGrowSuite(void)
{
	TestGrowSpec();
	TestGrowWalk();
	TestGrowGrowth();
	TestGrowSplit();
	TestGrowReduce();
	TestGrowBind();
	TestGrowLearn();
	TestGrowSpiking();
	TestGrowMoves();
	TestGrowTemplate();
	TestGrowThreads();
}
