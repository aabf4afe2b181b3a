/*
 * test_fit.c - unit tests of the fit driver and the evaluator over rows
 * streamed in chunks (fit.h HnRowSource): a streamed fit gives the bytes of
 * a fit in memory for either kind, classes or values, and the streamed
 * evaluation its figures; the output statistics are those of two passes.
 */
#include "harness.h"

#include <stdlib.h>

#include "core/dense/step.h"
#include "core/fit.h"
#include "core/hanami/kind.h"

/*
 * Rows in memory served in chunks: the first pass starts with a chunk of
 * `first` rows (as the glue serves the rows it loaded), then chunks of at
 * most the rows asked for.
 */
typedef struct ChunkSource
{
	const HnDataset *data;
	int64_t		first;
	int64_t		pos;
	int			passes;
} ChunkSource;

/* Begin a pass. */
static void
ChunkStart(void *ctx)
{
	ChunkSource *c = ctx;

	c->pos = 0;
	c->passes++;
}

/* The next chunk: a view of the rows from pos. */
static int64_t
ChunkFetch(void *ctx, int64_t max_rows, HnDataset *rows)
{
	ChunkSource *c = ctx;
	int64_t		k = c->data->n - c->pos;

	if (c->passes == 1 && c->pos == 0 && c->first < max_rows)
		max_rows = c->first;
	if (k > max_rows)
		k = max_rows;
	*rows = *c->data;
	rows->n = k;
	rows->x = c->data->x + (size_t) c->pos * c->data->n_features;
	if (c->data->y)
		rows->y = c->data->y + (size_t) c->pos * c->data->n_outputs;
	else
		rows->cls = c->data->cls + c->pos;
	c->pos += k;
	return k;
}

/* A source over data in chunks of chunk rows, the first pass's first of first. */
static HnRowSource
ChunkSourceOf(ChunkSource *c, const HnDataset *data, int64_t chunk,
			  int64_t first)
{
	HnRowSource s;

	memset(c, 0, sizeof(*c));
	c->data = data;
	c->first = first;
	memset(&s, 0, sizeof(s));
	s.ctx = c;
	s.n_features = data->n_features;
	s.n_outputs = data->n_outputs;
	s.classes = data->cls != NULL;
	s.chunk = chunk;
	s.start = ChunkStart;
	s.fetch = ChunkFetch;
	return s;
}

/* n rows of 5 features in raw units; targets: 2 values, or 3 classes. */
static void
MakeRows(HnDataset *ds, int64_t n, bool values)
{
	float	   *x = malloc(sizeof(float) * n * 5);
	float	   *y = malloc(sizeof(float) * n * 2);
	int32_t    *cls = malloc(sizeof(int32_t) * n);
	uint64_t	st = 41;

	for (int64_t r = 0; r < n; r++)
	{
		float		s = 0.0f;

		for (int j = 0; j < 5; j++)
		{
			x[r * 5 + j] = TestUniform(&st, -3.0f, 3.0f) * 50.0f + 200.0f;
			s += (float) (j + 1) * x[r * 5 + j];
		}
		y[r * 2] = 0.05f * s + 1000.0f;
		y[r * 2 + 1] = TestUniform(&st, 0.0f, 1.0f);
		cls[r] = (int32_t) (r % 3);
	}
	memset(ds, 0, sizeof(*ds));
	ds->n = n;
	ds->n_features = 5;
	ds->n_outputs = values ? 2 : 3;
	ds->x = x;
	if (values)
	{
		ds->y = y;
		free(cls);
	}
	else
	{
		ds->cls = cls;
		free(y);
	}
}

/* Free rows made by MakeRows. */
static void
FreeRows(HnDataset *ds)
{
	free((void *) ds->x);
	free((void *) ds->y);
	free((void *) ds->cls);
}

/* A dense network of 5 inputs bound into hn, its image in tn. */
static void
MakeDense(TestNet *tn, HnNet *hn, bool values)
{
	static const uint32_t c[] = {5, 12, 2};
	static const uint32_t k[] = {5, 12, 3};
	static const HnActivation reg[] = {0, HANAMI_ACT_TANH, HANAMI_ACT_IDENTITY};

	TestNetMake(tn, 3, values ? c : k, values ? reg : NULL,
				values ? HANAMI_LOSS_MSE : HANAMI_LOSS_DEFAULT, 7, true);
	NetBindTrusted(hn, tn->buf);
}

/*
 * A dense fit on 203 rows (no batch divides it) in memory and streamed in
 * chunks, shuffling off: the same bytes and the same result; the streamed
 * evaluation gives the figures of the evaluation in memory.
 */
static void
TestStreamEqualsMemory(bool values)
{
	const char *what = values ? "regression" : "classes";
	HnDataset	ds;
	TestNet		a;
	TestNet		b;
	HnNet		ha;
	HnNet		hb;
	HnTrainOptions opt;
	HnTrainResult ra;
	HnTrainResult rb;
	HnEvalResult ea;
	HnEvalResult eb;
	HnError		err;
	ChunkSource cs;
	HnRowSource src;
	HnRows		mem;
	HnRows		str;
	HnStatus	sa;
	HnStatus	sb;

	MakeRows(&ds, 203, values);
	MakeDense(&a, &ha, values);
	MakeDense(&b, &hb, values);
	src = ChunkSourceOf(&cs, &ds, 45, 70);
	mem = (HnRows) {&ds, NULL, 0, NULL};
	str = (HnRows) {NULL, NULL, 0, &src};
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 3;
	opt.batch_size = 8;
	opt.shuffle = false;
	opt.optim.learning_rate = 0.01f;
	sa = HnFit(&ha, &mem, &opt, NULL, NULL, &HnMallocAllocator, &ra, &err);
	sb = HnFit(&hb, &str, &opt, NULL, NULL, &HnMallocAllocator, &rb, &err);
	if (!CHECK(sa == HANAMI_OK && sb == HANAMI_OK && a.len == b.len &&
			   memcmp(a.buf, b.buf, a.len) == 0 && ra.loss == rb.loss &&
			   ra.iterations == rb.iterations && rb.train_rows == 203 &&
			   cs.passes == 4,
			   "%s: a streamed fit gives the bytes of a fit in memory (%d passes)",
			   what, cs.passes))
		TestNote("status %d %d; losses %.9g %.9g", (int) sa, (int) sb,
				 ra.loss, rb.loss);
	if (values)
		CHECK(a.net.hdr->flags & HANAMI_FLAG_OUTPUT_FITTED,
			  "regression: the output scaling was learnt");

	memset(&ea, 0, sizeof(ea));
	memset(&eb, 0, sizeof(eb));
	sa = HnEvaluate(&ha, &mem, NULL, &HnMallocAllocator, &ea, &err);
	sb = HnEvaluate(&ha, &str, NULL, &HnMallocAllocator, &eb, &err);
	CHECK(sa == HANAMI_OK && sb == HANAMI_OK && ea.n == 203 && eb.n == 203 &&
		  TestClose(ea.loss, eb.loss, 0, 1e-12) &&
		  (values ? ea.mse == eb.mse && ea.mae == eb.mae && ea.r2 == eb.r2 :
		   ea.accuracy == eb.accuracy),
		  "%s: a streamed evaluation gives the figures of one in memory", what);

	/* shuffling within chunks: deterministic, and a held-out split refused */
	opt.shuffle = true;
	sa = HnFit(&ha, &str, &opt, NULL, NULL, &HnMallocAllocator, &ra, &err);
	sb = HnFit(&hb, &str, &opt, NULL, NULL, &HnMallocAllocator, &rb, &err);
	CHECK(sa == HANAMI_OK && sb == HANAMI_OK && memcmp(a.buf, b.buf, a.len) == 0,
		  "%s: streamed fits shuffled within chunks repeat exactly", what);
	opt.validation_split = 0.2;
	sb = HnFit(&hb, &str, &opt, NULL, NULL, &HnMallocAllocator, &rb, &err);
	CHECK(sb == HANAMI_E_INVALID_ARGUMENT &&
		  strstr(err.message, "validation_split") != NULL,
		  "%s: streamed rows cannot be held out for validation", what);
	TestNetFree(&a);
	TestNetFree(&b);
	FreeRows(&ds);
}

/* The output scaling of targets far from zero: the two-pass figures. */
static void
TestOutputStats(void)
{
	HnDataset	ds;
	TestNet		tn;
	HnNet		hn;
	double		mean = 0.0;
	double		var = 0.0;
	float	   *y;

	MakeRows(&ds, 500, true);
	y = (float *) ds.y;
	for (int64_t r = 0; r < ds.n; r++)
	{
		y[r * 2] = 3e6f + (float) (r % 7) * 0.25f;
		mean += y[r * 2];
	}
	mean /= (double) ds.n;
	for (int64_t r = 0; r < ds.n; r++)
		var += (y[r * 2] - mean) * (y[r * 2] - mean);
	MakeDense(&tn, &hn, true);
	TrainFitScaling(&tn.net, &ds, ds.n, NULL, &HnMallocAllocator, NULL);
	CHECK(TestClose(tn.net.out_shift[0], mean, 0, 1e-7) &&
		  TestClose(tn.net.out_mul[0], sqrt(var / (double) ds.n), 0, 1e-6),
		  "output scaling: mean %.9g and sd %.6g as two passes give (%.9g, %.6g)",
		  (double) tn.net.out_shift[0], (double) tn.net.out_mul[0], mean,
		  sqrt(var / (double) ds.n));
	TestNetFree(&tn);
	FreeRows(&ds);
}

/*
 * A growing network through the same driver: streamed rows give the bytes
 * of rows in memory, growth (the image moving) included.
 */
static void
TestStreamGrowing(void)
{
	HkSpec	   *spec = calloc(1, sizeof(HkSpec));
	HnDataset	ds;
	void	   *img[2];
	size_t		len = 0;
	HnNet		hn[2];
	HnTrainOptions opt;
	HkTrainOptions hk;
	HnTrainResult res[2];
	HnError		err;
	ChunkSource cs;
	HnRowSource src;
	HnRows		rows[2];
	HnStatus	st[2];
	HnEvalResult ev;

	MakeRows(&ds, 120, false);
	spec->cells[0] = (HkCellSpec) {0, 0, 0, HK_CELL_INPUT, 5, -1, "in"};
	spec->cells[1] = (HkCellSpec) {1, 0, 0, HK_CELL_HIDDEN, 32, -1, ""};
	spec->cells[2] = (HkCellSpec) {2, 0, 0, HK_CELL_OUTPUT, 3, -1, "out"};
	spec->n_cells = 3;
	spec->seed = 5;
	src = ChunkSourceOf(&cs, &ds, 50, 50);
	rows[0] = (HnRows) {&ds, NULL, 0, NULL};
	rows[1] = (HnRows) {NULL, NULL, 0, &src};
	if (HkSpecFinalize(spec, &err) == HANAMI_OK)
		len = HkSpecImageSize(spec, &err);
	for (int k = 0; k < 2; k++)
	{
		img[k] = malloc(len);
		HkCreate(img[k], len, spec, 0, &err);
		NetBindTrusted(&hn[k], img[k]);
		HkTrainOptionsDefaults(&opt, &hk, HkOf(&hn[k]));
		opt.epochs = 2;
		opt.shuffle = false;
		opt.seed = 9;
		st[k] = HnFit(&hn[k], &rows[k], &opt, NULL, NULL, &HnMallocAllocator,
					  &res[k], &err);
	}
	CHECK(st[0] == HANAMI_OK && st[1] == HANAMI_OK && hn[0].len > len &&
		  hn[0].len == hn[1].len &&
		  memcmp(hn[0].hdr, hn[1].hdr, hn[0].len) == 0 &&
		  res[0].loss == res[1].loss && res[1].iterations == 240,
		  "hanami: a streamed fit grows the bytes of a fit in memory (%zu bytes from %zu)",
		  hn[0].len, len);
	memset(&ev, 0, sizeof(ev));
	CHECK(HnEvaluate(&hn[1], &rows[1], NULL, &HnMallocAllocator, &ev, &err) == HANAMI_OK &&
		  ev.n == 120 && ev.accuracy >= 0.0 && isnan(ev.mse),
		  "hanami: a streamed evaluation has accuracy, no regression figures");
	free(hn[0].hdr);
	free(hn[1].hdr);
	free(spec);
	FreeRows(&ds);
}

/* Run the fit driver tests. */
void
TestFitSuite(void)
{
	TestStreamEqualsMemory(false);
	TestStreamEqualsMemory(true);
	TestOutputStats();
	TestStreamGrowing();
}
