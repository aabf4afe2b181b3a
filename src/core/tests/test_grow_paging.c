/*
 * test_grow_paging.c - paged inference of growing networks: a fit leaves
 * the sections grouped by cell, the segments are the head and one group per
 * cell, and predict_paged on the head gives the bits of predict on the
 * whole image, fetching each group once per batch; failed fetches,
 * malformed groups and heads are errors, never crashes.
 */
#include "harness.h"

#include <stdlib.h>

#include "core/fit.h"
#include "core/hanami/kind.h"

#define NF	6
#define NO	3
#define ROWS 300

/* Segments of an image, by number, as a store would hand them out. */
typedef struct GrowPages
{
	char	   *image;
	size_t		off[HK_MAX_CELLS + 2];
	size_t		len[HK_MAX_CELLS + 2];
	int			count;
	int			fetches;
	int			fail_at;		/* fetch number that fails (0: none) */
	char	   *copy;			/* the last fetched segment, its own buffer */
} GrowPages;

static void
GrowNote(void *ctx, size_t offset, size_t len, const char *name)
{
	GrowPages  *p = ctx;

	if (p->count < HK_MAX_CELLS + 2)
	{
		p->off[p->count] = offset;
		p->len[p->count] = len;
	}
	p->count++;
}

static const void *
GrowFetch(void *ctx, int i, size_t *len, HnError *err)
{
	GrowPages  *p = ctx;

	free(p->copy);
	p->copy = NULL;
	p->fetches++;
	if (i < 1 || i >= p->count || p->fetches == p->fail_at)
	{
		HnSetError(err, HANAMI_E_INTERNAL, NULL, "segment %d cannot be read", i);
		return NULL;
	}
	p->copy = malloc(p->len[i] + 1);
	memcpy(p->copy, p->image + p->off[i], p->len[i]);
	*len = p->len[i];
	return p->copy;
}

/* A trained network: inputs, two hidden cells, outputs; NULL on failure. */
static void *
GrowTrained(size_t *len, const float *x, const int32_t *cls, bool spiking)
{
	HkSpec	   *spec = calloc(1, sizeof(HkSpec));
	HnDataset	ds = {ROWS, NF, NO, x, NULL, cls};
	HnRows		rows = {&ds, NULL, 0, NULL};
	HnTrainOptions opt;
	HkTrainOptions hk;
	HnNet		net;
	HnError		err;
	void	   *img = NULL;

	spec->cells[0] = (HkCellSpec) {0, 0, 0, HK_CELL_INPUT, NF, -1, "in"};
	spec->cells[1] = (HkCellSpec) {1, 0, 0, HK_CELL_HIDDEN, 24, -1, "h1"};
	spec->cells[2] = (HkCellSpec) {2, 0, 0, HK_CELL_HIDDEN, 16, -1, ""};
	spec->cells[3] = (HkCellSpec) {3, 0, 0, HK_CELL_OUTPUT, NO, -1, "out"};
	spec->n_cells = 4;
	spec->max_distance = 2;
	spec->seed = 11;
	if (spiking)
		spec->cooldown = 2.0;
	if (HkSpecFinalize(spec, &err) != HANAMI_OK ||
		(*len = HkSpecImageSize(spec, &err)) == 0 ||
		(img = malloc(*len)) == NULL ||
		HkCreate(img, *len, spec, 0, &err) != HANAMI_OK)
	{
		TestNote("network not made: %s", err.message);
		free(spec);
		free(img);
		return NULL;
	}
	free(spec);
	NetBindTrusted(&net, img);
	HkTrainOptionsDefaults(&opt, &hk, HkOf(&net));
	opt.epochs = 2;
	opt.seed = 7;
	if (HnFit(&net, &rows, &opt, NULL, NULL, &HnMallocAllocator, NULL,
			  &err) != HANAMI_OK)
	{
		TestNote("fit failed: %s", err.message);
		return NULL;
	}
	*len = net.len;
	return net.hdr;
}

/* Whole rows one by one, then paged in batches of 16: the same bits. */
static void
GrowPagedSame(void *img, size_t len, const float *x, bool spiking)
{
	const char *what = spiking ? "spiking" : "plain";
	HnNet		whole;
	HnNet		head;
	HnError		err;
	GrowPages	pages = {0};
	HnPager		pager = {&pages, GrowFetch};
	HkNet	   *h;
	void	   *head_buf;
	void	   *w_whole;
	void	   *w_paged;
	float	   *a = calloc(ROWS * NO, sizeof(float));
	float	   *b = calloc(ROWS * NO, sizeof(float));
	int			groups = 0;
	int			batch = spiking ? 1 : 16;
	int			n = spiking ? 40 : ROWS;
	HnStatus	st;

	CHECK(NetBind(&whole, img, len, &err) == HANAMI_OK,
		  "grow paging (%s): the trained image is valid", what);
	h = HkOf(&whole);
	CHECK((h->gh->flags & HK_GROUPED) && HkBlocksGrouped(h) && h->gh->n_blocks > 0,
		  "grow paging (%s): a fit leaves its %u sections grouped by cell",
		  what, h->gh->n_blocks);
	pages.image = img;
	whole.kind->segments(&whole, GrowNote, &pages);
	for (uint32_t c = 0; c < h->gh->n_cells; c++)
	{
		bool		any = false;

		for (uint32_t b2 = 0; b2 < h->gh->n_blocks; b2++)
			any |= h->blocks[b2].source >= h->cells[c].first_neuron &&
				h->blocks[b2].source < h->cells[c].first_neuron + h->cells[c].n_neurons;
		groups += any;
	}
	CHECK(pages.count == 1 + groups && groups >= 2,
		  "grow paging (%s): the head and one segment per cell with sections (%d segments, %d groups)",
		  what, pages.count, groups);
	head_buf = TestCopy(img, pages.len[0]);
	CHECK(NetBindHead(&head, head_buf, pages.len[0], len, &err) == HANAMI_OK,
		  "grow paging (%s): the head binds", what);
	w_whole = whole.kind->work_create(&whole, 1, &HnMallocAllocator, &err);
	w_paged = head.kind->work_create(&head, batch, &HnMallocAllocator, &err);
	if (!CHECK(w_whole != NULL && w_paged != NULL,
			   "grow paging (%s): works made", what))
		return;
	for (int r = 0; r < n; r++)
		whole.kind->predict(&whole, w_whole, x + r * NF, 1, a + r * NO);
	st = head.kind->predict_paged(&head, w_paged, &pager, x, n, b, &err);
	CHECK(st == HANAMI_OK && memcmp(a, b, sizeof(float) * n * NO) == 0,
		  "grow paging (%s): %d rows paged in batches of %d give the bits of whole rows one by one",
		  what, n, batch);
	/* every group but the output cell's (which has none) once per batch */
	CHECK(pages.fetches == groups * ((n + batch - 1) / batch),
		  "grow paging (%s): each group fetched once per batch (%d fetches)",
		  what, pages.fetches);
	if (spiking)
	{
		const HkNet *hh = HkOf(&head);
		const HkNet *ww = HkOf(&whole);

		CHECK(memcmp(hh->neurons, ww->neurons,
					 sizeof(HkNeuron) * ww->gh->n_neurons) == 0,
			  "grow paging (spiking): the carried state lives in the head and ends the same");
	}
	else
	{
		/* a failed fetch is the fetch's error */
		pages.fetches = 0;
		pages.fail_at = 2;
		st = head.kind->predict_paged(&head, w_paged, &pager, x, 4, b, &err);
		CHECK(st == HANAMI_E_INTERNAL, "grow paging: a failed fetch is an error: %s",
			  err.message);
		pages.fail_at = 0;

		/* malformed groups: short, out of its group, a bad target */
		pages.len[1] -= sizeof(HkBlock);
		st = head.kind->predict_paged(&head, w_paged, &pager, x, 1, b, &err);
		CHECK(st == HANAMI_E_INVALID_FORMAT,
			  "grow paging: a group of the wrong size is refused: %s", err.message);
		pages.len[1] += sizeof(HkBlock);
		{
			char	   *bad = TestCopy(img, len);
			HkNet		bn;

			pages.image = bad;
			HkBindTrusted(&bn, bad);
			bn.blocks[0].syn[0].target = 60000;
			st = head.kind->predict_paged(&head, w_paged, &pager, x, 1, b, &err);
			CHECK(st == HANAMI_E_INVALID_FORMAT,
				  "grow paging: a synapse to a neuron that does not exist is refused: %s",
				  err.message);
			memcpy(bad, img, len);
			bn.blocks[0].source = bn.cells[3].first_neuron;
			st = head.kind->predict_paged(&head, w_paged, &pager, x, 1, b, &err);
			CHECK(st == HANAMI_E_INVALID_FORMAT,
				  "grow paging: a section of another cell's neuron is refused: %s",
				  err.message);
			memcpy(bad, img, len);
			bn.blocks[0].next = bn.gh->n_blocks - 1;
			st = head.kind->predict_paged(&head, w_paged, &pager, x, 1, b, &err);
			CHECK(st == HANAMI_E_INVALID_FORMAT,
				  "grow paging: a continuation outside the group is refused: %s",
				  err.message);
			pages.image = img;
			free(bad);
		}

		/* malformed or ungrouped heads */
		{
			char	   *hb = TestCopy(img, pages.len[0]);
			HkNet		hn;
			HnNet		x2;

			HkBindTrusted(&hn, hb);
			hn.neurons[0].section = hn.gh->n_blocks + 5;
			CHECK(NetBindHead(&x2, hb, pages.len[0], len, &err) == HANAMI_E_INVALID_FORMAT,
				  "grow paging: a head pointing past the sections is refused: %s",
				  err.message);
			memcpy(hb, img, pages.len[0]);
			CHECK(NetBindHead(&x2, hb, pages.len[0] - 8, len, &err) == HANAMI_E_INVALID_FORMAT,
				  "grow paging: a truncated head is refused: %s", err.message);
			CHECK(NetBindHead(&x2, hb, pages.len[0], len + sizeof(HkBlock), &err) == HANAMI_E_INVALID_FORMAT,
				  "grow paging: a head of another image size is refused: %s", err.message);
			hn.gh->flags &= ~(uint32_t) HK_GROUPED;
			CHECK(NetBindHead(&x2, hb, pages.len[0], len, &err) == HANAMI_E_UNSUPPORTED,
				  "grow paging: a network whose sections are not grouped runs whole: %s",
				  err.message);
			free(hb);
		}
	}
	free(pages.copy);
	whole.kind->work_free(w_whole, &HnMallocAllocator);
	head.kind->work_free(w_paged, &HnMallocAllocator);
	free(head_buf);
	free(a);
	free(b);
}

/* A grouped image's order is checked; grouping keeps predict's bits. */
static void
GrowGroupChecks(void *img, size_t len, const float *x)
{
	char	   *bad = TestCopy(img, len);
	HnNet		net;
	HnError		err;
	HkNet		h;
	uint32_t	last;

	HkBindTrusted(&h, bad);
	last = h.gh->n_blocks - 1;
	/* swap the first and the last block: each chain still valid, not grouped */
	{
		HkBlock		t = h.blocks[0];

		h.blocks[0] = h.blocks[last];
		h.blocks[last] = t;
	}
	for (uint32_t i = 0; i < h.gh->n_neurons; i++)
	{
		if (h.neurons[i].section == 0)
			h.neurons[i].section = last;
		else if (h.neurons[i].section == last)
			h.neurons[i].section = 0;
		if (h.neurons[i].section_neg == 0)
			h.neurons[i].section_neg = last;
		else if (h.neurons[i].section_neg == last)
			h.neurons[i].section_neg = 0;
	}
	if (h.blocks[0].next == HK_NONE && h.blocks[last].next == HK_NONE)
	{
		float		o1[NO];
		float		o2[NO];
		HnNet		good;
		void	   *w1;
		void	   *w2;

		CHECK(NetBind(&net, bad, len, &err) == HANAMI_E_INVALID_FORMAT,
			  "grow paging: sections out of their cell's order under the grouped flag are refused: %s",
			  err.message);
		h.gh->flags &= ~(uint32_t) HK_GROUPED;
		CHECK(NetBind(&net, bad, len, &err) == HANAMI_OK,
			  "grow paging: the same sections without the flag are valid");
		CHECK(HkGroup(&h, &HnMallocAllocator) && NetBind(&net, bad, len, &err) == HANAMI_OK &&
			  (h.gh->flags & HK_GROUPED),
			  "grow paging: HkGroup groups them again");
		NetBind(&good, img, len, &err);
		w1 = good.kind->work_create(&good, 1, &HnMallocAllocator, &err);
		w2 = net.kind->work_create(&net, 1, &HnMallocAllocator, &err);
		good.kind->predict(&good, w1, x, 1, o1);
		net.kind->predict(&net, w2, x, 1, o2);
		CHECK(memcmp(o1, o2, sizeof(o1)) == 0,
			  "grow paging: the regrouped sections give the same outputs");
		good.kind->work_free(w1, &HnMallocAllocator);
		net.kind->work_free(w2, &HnMallocAllocator);
	}
	else
		TestNote("first and last sections continue: swap test skipped");
	free(bad);
}

void
TestGrowPagingSuite(void)
{
	float	   *x = malloc(sizeof(float) * ROWS * NF);
	int32_t    *cls = malloc(sizeof(int32_t) * ROWS);
	uint64_t	rng = 17;
	size_t		len;
	void	   *img;

	for (int r = 0; r < ROWS; r++)
	{
		float		s = 0.0f;

		for (int i = 0; i < NF; i++)
		{
			x[r * NF + i] = TestUniform(&rng, -3.0f, 40.0f);
			s += x[r * NF + i];
		}
		cls[r] = s < 60.0f ? 0 : s < 120.0f ? 1 : 2;
	}
	img = GrowTrained(&len, x, cls, false);
	if (CHECK(img != NULL, "grow paging: a plain network trained"))
	{
		GrowPagedSame(img, len, x, false);
		GrowGroupChecks(img, len, x);
		free(img);
	}
	img = GrowTrained(&len, x, cls, true);
	if (CHECK(img != NULL, "grow paging: a spiking network trained"))
	{
		GrowPagedSame(img, len, x, true);
		free(img);
	}
	free(x);
	free(cls);
}
