/*
 * test_kind.c - the network-kind interface: the registry, NetBind's common
 * checks, and each kind's operations against the kind's own functions
 * (inference, outputs, carried state, storage segments, dense view).
 */
#include "harness.h"

#include <stdlib.h>

#include "core/dense/dense.h"
#include "core/dense/kind.h"
#include "core/graph/graph.h"
#include "core/hanami/kind.h"
#include "core/kind.h"

/* Where the segments of an image went: they must tile it in order (a
 * segment may be empty: a fresh hanami network has no sections yet). */
typedef struct SegmentLog
{
	size_t		next;			/* offset the next segment must start at */
	int			count;
	bool		tiled;
	bool		named;
} SegmentLog;

static void
LogSegment(void *ctx, size_t offset, size_t len, const char *name)
{
	SegmentLog *log = ctx;

	log->tiled &= offset == log->next;
	log->named &= name != NULL && name[0] != '\0';
	log->next = offset + len;
	log->count++;
}

/* Segments of a bound network: count, or -1 when they do not tile it. */
static int
Segments(const HnNet *net)
{
	SegmentLog	log = {0, 0, true, true};

	net->kind->segments(net, LogSegment, &log);
	return log.tiled && log.named && log.next == net->len ? log.count : -1;
}

/* A fresh hanami image: 3 inputs, a hidden cell, 2 outputs. */
static void *
HanamiImage(size_t *len, bool spiking)
{
	HkSpec	   *spec = calloc(1, sizeof(HkSpec));
	HnError		err;
	void	   *img = NULL;

	spec->cells[0] = (HkCellSpec) {0, 0, 0, HK_CELL_INPUT, 3, -1, "in"};
	spec->cells[1] = (HkCellSpec) {1, 0, 0, HK_CELL_HIDDEN, 8, -1, ""};
	spec->cells[2] = (HkCellSpec) {2, 0, 0, HK_CELL_OUTPUT, 2, -1, "out"};
	spec->n_cells = 3;
	spec->seed = 9;
	if (spiking)
		spec->cooldown = 2.0;
	if (HkSpecFinalize(spec, &err) == HANAMI_OK &&
		(*len = HkSpecImageSize(spec, &err)) > 0)
	{
		img = malloc(*len);
		if (HkCreate(img, *len, spec, 0, &err) != HANAMI_OK)
		{
			free(img);
			img = NULL;
		}
	}
	if (img == NULL)
		TestNote("hanami image: %s", err.message);
	free(spec);
	return img;
}

/* The registry and the common header. */
static void
TestRegistry(void)
{
	static const uint32_t c[] = {3, 4, 2};
	TestNet		tn;
	HnNet		net;
	HnError		err;
	void	   *copy;

	CHECK(HnKindCount() == 3 && HnKindAt(0) == &HnDenseKind &&
		  HnKindAt(1) == &HnHanamiKind && HnKindAt(2) == &HnGraphKind &&
		  HnKindAt(-1) == NULL,
		  "the registry lists the dense, hanami and graph kinds");
	for (int i = 0; i < HnKindCount(); i++)
	{
		const HnKind *k = HnKindAt(i);

		CHECK(HnKindById(k->id) == k && HnKindByName(k->name) == k &&
			  k->bind && k->bind_trusted && k->work_create && k->work_free &&
			  k->predict && k->outputs && k->state_size && k->segments &&
			  k->rows_independent &&
			  ((k->caps & HANAMI_CAP_LAYERED) != 0) == (k->dense_view != NULL) &&
			  ((k->caps & HANAMI_CAP_SECTIONS) != 0) == (k->section_view != NULL),
			  "kind \"%s\" has every required operation", k->name);
	}
	if (!TestNetMake(&tn, 3, c, NULL, HANAMI_LOSS_DEFAULT, 1, true))
		return;
	copy = TestCopy(tn.buf, tn.len);
	((HnHeader *) copy)->kind = 7;
	CHECK(NetBind(&net, copy, tn.len, &err) == HANAMI_E_INVALID_FORMAT &&
		  strstr(err.message, "invalid network kind 7") != NULL &&
		  strcmp(err.detail, "Known kinds are 1 (dense), 2 (hanami) and 3 (graph).") == 0 &&
		  net.kind == NULL && net.hdr == NULL,
		  "an unknown kind number is refused, listing the known kinds");
	((HnHeader *) copy)->kind = HANAMI_KIND_HANAMI;
	CHECK(NetBind(&net, copy, tn.len, &err) == HANAMI_E_INVALID_FORMAT,
		  "a dense image labelled hanami fails the hanami kind's checks");
	free(copy);
	copy = TestCopy(tn.buf, tn.len);
	CHECK(NetBind(&net, copy, tn.len, &err) == HANAMI_OK &&
		  net.kind == &HnDenseKind && net.hdr == copy && net.len == tn.len &&
		  DenseOf(&net) != NULL && HkOf(&net) == NULL &&
		  DenseOf(&net)->params == tn.net.params - (float *) tn.buf + (float *) copy,
		  "NetBind binds a dense image and its dense view");
	free(copy);
	TestNetFree(&tn);
}

/* The dense kind's operations agree with the dense functions. */
static void
TestDenseOps(void)
{
	static const uint32_t c[] = {3, 5, 2};
	static const uint32_t r[] = {3, 5, 1};
	static const HnActivation lin[] = {0, HANAMI_ACT_RELU, HANAMI_ACT_IDENTITY};
	const float x[6] = {0.5f, -1.0f, 2.0f, 0.0f, 3.0f, -0.25f};
	float		want[4];
	float		got[4];
	char		why[HANAMI_ERRMSG_LEN];
	TestNet		tn;
	TestNet		reg;
	HnNet		net;
	HnError		err;
	DenseWork  *dw;
	void	   *work;

	if (!TestNetMake(&tn, 3, c, NULL, HANAMI_LOSS_DEFAULT, 4, true) ||
		!TestNetMake(&reg, 3, r, lin, HANAMI_LOSS_DEFAULT, 4, true))
		return;
	NetBindTrusted(&net, tn.buf);
	dw = DenseWorkCreate(&tn.net, 2, false, &HnMallocAllocator, &err);
	work = net.kind->work_create(&net, 2, &HnMallocAllocator, &err);
	DensePredict(&tn.net, dw, x, 2, want);
	net.kind->predict(&net, work, x, 2, got);
	CHECK(work != NULL && memcmp(want, got, sizeof(want)) == 0,
		  "dense predict through the kind gives the bits of DensePredict");
	net.kind->work_tune(&net, work);
	DenseWorkFold(&tn.net, dw);
	DensePredict(&tn.net, dw, x, 2, want);
	net.kind->predict(&net, work, x, 2, got);
	CHECK(memcmp(want, got, sizeof(want)) == 0,
		  "a tuned dense work folds like DenseWorkFold");
	net.kind->work_free(work, &HnMallocAllocator);
	DenseWorkFree(dw, &HnMallocAllocator);
	CHECK(net.kind->outputs(&net, NULL, 0) == HANAMI_OUTPUTS_CLASSES &&
		  net.kind->state_size(&net) == 0 &&
		  net.kind->dense_view(&net) == DenseOf(&net),
		  "a softmax dense network gives classes, carries no state, is its own dense view");
	CHECK(Segments(&net) == 3,
		  "dense segments tile the image: the header, then one per layer");
	NetBindTrusted(&net, reg.buf);
	why[0] = '\0';
	CHECK(net.kind->outputs(&net, why, sizeof(why)) == HANAMI_OUTPUTS_VALUES &&
		  strcmp(why, "The network's output layer is identity (loss mse), so its outputs are values, not class probabilities.") == 0,
		  "an identity output gives values, and says why");
	TestNetFree(&reg);
	TestNetFree(&tn);
}

/* The hanami kind's operations agree with the hanami functions. */
static void
TestHanamiOps(void)
{
	const float x[6] = {1.0f, 250.0f, -3.0f, 0.0f, 7.0f, 1e6f};
	float		want[4];
	float		got[4];
	size_t		len;
	void	   *img = HanamiImage(&len, false);
	void	   *spk;
	HnNet		net;
	HkNet		h;
	HnError		err;
	HkWork	   *hw;
	void	   *work;
	void	   *state;

	if (img == NULL)
		return;
	CHECK(NetBind(&net, img, len, &err) == HANAMI_OK &&
		  net.kind == &HnHanamiKind && HkOf(&net) != NULL && DenseOf(&net) == NULL,
		  "NetBind binds a hanami image and its hanami view");
	HkBindTrusted(&h, img);
	hw = HkWorkCreate(&h, false, &HnMallocAllocator, &err);
	work = net.kind->work_create(&net, 2, &HnMallocAllocator, &err);
	HkPredict(&h, hw, x, want);
	HkPredict(&h, hw, x + 3, want + 2);
	net.kind->predict(&net, work, x, 2, got);
	CHECK(work != NULL && memcmp(want, got, sizeof(want)) == 0,
		  "hanami predict through the kind runs the rows in order like HkPredict");
	CHECK(net.kind->outputs(&net, NULL, 0) == HANAMI_OUTPUTS_CLASSES &&
		  net.kind->state_size(&net) == 0 && net.kind->dense_view == NULL &&
		  !(net.kind->caps & HANAMI_CAP_LAYERED) &&
		  net.kind->section_view(&net) == HkOf(&net) && HnRowsIndependent(&net),
		  "a hanami network gives class scores, has a section view and no dense view, and without spiking its rows are independent");
	CHECK(Segments(&net) == 2,
		  "hanami segments tile the image: the header, then the sections");
	net.kind->work_free(work, &HnMallocAllocator);
	HkWorkFree(hw, &HnMallocAllocator);
	free(img);

	spk = HanamiImage(&len, true);
	if (spk == NULL)
		return;
	NetBindTrusted(&net, spk);
	work = net.kind->work_create(&net, 1, &HnMallocAllocator, &err);
	CHECK(net.kind->state_size(&net) == sizeof(HkNeuron) * HkOf(&net)->gh->n_neurons,
		  "a spiking network's state is its neuron records");
	CHECK(!HnRowsIndependent(&net),
		  "a spiking network's rows are not independent");
	state = malloc(net.kind->state_size(&net));
	net.kind->state_save(&net, state);
	net.kind->predict(&net, work, x, 1, want);
	net.kind->predict(&net, work, x + 3, 1, want + 2);
	net.kind->state_load(&net, state);
	net.kind->predict(&net, work, x, 1, got);
	net.kind->predict(&net, work, x + 3, 1, got + 2);
	CHECK(memcmp(want, got, sizeof(want)) == 0,
		  "a loaded state replays the same sequence");
	net.kind->state_reset(&net);
	{
		HkNet	   *v = HkOf(&net);
		bool		clear = true;

		for (uint32_t i = 0; i < v->gh->n_neurons; i++)
			clear &= v->neurons[i].potential == 0.0f && v->neurons[i].refractory == 0;
		CHECK(clear, "state_reset clears every carried potential");
	}
	net.kind->work_free(work, &HnMallocAllocator);
	free(state);
	free(spk);
}

/* Segments of an image, by number, as a store would hand them out. */
typedef struct PageLog
{
	const char *image;
	size_t		off[HANAMI_MAX_LAYERS + 1];
	size_t		len[HANAMI_MAX_LAYERS + 1];
	int			count;
	int			fetches;
	char	   *copy;			/* the last fetched segment, in its own buffer */
} PageLog;

static void
NoteSegment(void *ctx, size_t offset, size_t len, const char *name)
{
	PageLog    *log = ctx;

	if (log->count <= HANAMI_MAX_LAYERS)
	{
		log->off[log->count] = offset;
		log->len[log->count] = len;
	}
	log->count++;
}

static const void *
FetchSegment(void *ctx, int i, size_t *len, HnError *err)
{
	PageLog    *log = ctx;

	free(log->copy);
	log->copy = NULL;
	if (i < 1 || i >= log->count)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL, "no segment %d", i);
		return NULL;
	}
	log->fetches++;
	log->copy = malloc(log->len[i] + 1);
	memcpy(log->copy, log->image + log->off[i], log->len[i]);
	*len = log->len[i];
	return log->copy;
}

/* Paged inference: the same bits as the whole image, layer by layer. */
static void
TestDensePaged(void)
{
	const uint32_t counts[] = {7, 33, 17, 3};
	TestNet		tn;
	HnNet		whole;
	HnNet		head;
	HnError		err;
	PageLog		log = {0};
	HnPager		pager = {&log, FetchSegment};
	void	   *head_buf;
	void	   *w_whole;
	void	   *w_paged;
	float		x[40 * 7];
	float		a[40 * 3];
	float		b[40 * 3];
	uint64_t	rng = 5;
	HnStatus	st;

	if (!CHECK(TestNetMake(&tn, 4, counts, NULL, HANAMI_LOSS_DEFAULT, 3, false),
			   "paged: network made"))
		return;
	NetBindTrusted(&whole, tn.buf);
	log.image = tn.buf;
	whole.kind->segments(&whole, NoteSegment, &log);
	CHECK(log.count == 4, "paged: a head and three layer segments (%d)", log.count);
	head_buf = TestCopy(tn.buf, log.len[0]);
	CHECK(NetBindHead(&head, head_buf, log.len[0], tn.len, &err) == HANAMI_OK,
		  "paged: head binds");
	CHECK(NetBindHead(&head, head_buf, log.len[0], tn.len + 4, &err) != HANAMI_OK,
		  "paged: a head of another image size is refused: %s", err.message);
	CHECK(NetBindHead(&head, head_buf, log.len[0] - 4, tn.len, &err) != HANAMI_OK,
		  "paged: a truncated head is refused: %s", err.message);
	CHECK(NetBindHead(&head, head_buf, log.len[0], tn.len, &err) == HANAMI_OK,
		  "paged: head binds again");
	for (int i = 0; i < 40 * 7; i++)
		x[i] = (i % 5 == 0) ? 0.0f : TestUniform(&rng, -2.0f, 2.0f);

	w_whole = whole.kind->work_create(&whole, 1, &HnMallocAllocator, &err);
	w_paged = head.kind->work_create(&head, 16, &HnMallocAllocator, &err);
	for (int r = 0; r < 40; r++)
		whole.kind->predict(&whole, w_whole, x + r * 7, 1, a + r * 3);
	st = head.kind->predict_paged(&head, w_paged, &pager, x, 40, b, &err);
	CHECK(st == HANAMI_OK, "paged: predict_paged runs");
	CHECK(memcmp(a, b, sizeof(a)) == 0,
		  "paged: 40 rows in batches of 16 give the bits of whole rows one by one");
	CHECK(log.fetches == 3 * 3, "paged: each layer fetched once per batch (%d)",
		  log.fetches);

	/* a segment of the wrong size, or a failed fetch, is an error */
	log.len[2] -= 4;
	st = head.kind->predict_paged(&head, w_paged, &pager, x, 1, b, &err);
	CHECK(st == HANAMI_E_INVALID_FORMAT, "paged: a short layer is refused: %s",
		  err.message);
	log.len[2] += 4;
	log.count = 2;
	st = head.kind->predict_paged(&head, w_paged, &pager, x, 1, b, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT, "paged: a failed fetch is the fetch's error");

	{
		size_t		hlen;
		void	   *himg = HanamiImage(&hlen, false);
		HnNet		h;

		CHECK(himg != NULL && NetBindHead(&h, himg, hlen, hlen, &err) == HANAMI_E_UNSUPPORTED,
			  "paged: a growing network whose sections are not grouped (here: none yet) runs whole");
		free(himg);
	}
	free(log.copy);
	whole.kind->work_free(w_whole, &HnMallocAllocator);
	head.kind->work_free(w_paged, &HnMallocAllocator);
	free(head_buf);
	TestNetFree(&tn);
}

void
TestKindSuite(void)
{
	TestRegistry();
	TestDenseOps();
	TestHanamiOps();
	TestDensePaged();
}
