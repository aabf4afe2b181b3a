/*
 * test_fit.c - unit tests of the fit driver and the evaluator over rows
 * streamed in chunks (fit.h HnRowSource): a streamed fit gives the bytes of
 * a fit in memory for either kind, classes or values, and the streamed
 * evaluation its figures; the output statistics are those of two passes.
 * Early stopping and restore_best on a network that overfits noise.
 */
#include "harness.h"

#include <stdlib.h>

#include "core/dense/step.h"
#include "core/fit.h"
#include "core/hanami/kind.h"
#include "core/options.h"

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

/* n rows of 3 features, a smooth target with noise: few are easy to overfit. */
static void
MakeNoise(HnDataset *ds, int64_t n)
{
	float	   *x = malloc(sizeof(float) * n * 3);
	float	   *y = malloc(sizeof(float) * n);
	uint64_t	st = 77;

	for (int64_t r = 0; r < n; r++)
	{
		for (int j = 0; j < 3; j++)
			x[r * 3 + j] = TestUniform(&st, -1.0f, 1.0f);
		y[r] = sinf(2.0f * x[r * 3]) + 0.5f * x[r * 3 + 1] +
			TestUniform(&st, -0.6f, 0.6f);
	}
	memset(ds, 0, sizeof(*ds));
	ds->n = n;
	ds->n_features = 3;
	ds->n_outputs = 1;
	ds->x = x;
	ds->y = y;
}

/* A wide regression network of 3 inputs, bound into hn. */
static void
MakeWide(TestNet *tn, HnNet *hn)
{
	static const uint32_t c[] = {3, 48, 1};
	static const HnActivation a[] = {0, HANAMI_ACT_TANH, HANAMI_ACT_IDENTITY};

	TestNetMake(tn, 3, c, a, HANAMI_LOSS_MSE, 11, true);
	NetBindTrusted(hn, tn->buf);
}

/* Validation losses the epoch reports give, by epoch. */
typedef struct ValLog
{
	int			n;
	double		val[400];
} ValLog;

static void
LogEpoch(void *ctx, const HnEpochReport *r)
{
	ValLog	   *l = ctx;

	if (r->epoch <= 400)
		l->val[r->epoch - 1] = r->val_loss;
	l->n = r->epoch;
}

/* The options of a fit of net read from text. */
static HnStatus
ReadOptions(const HnNet *net, const char *text, HnFitOptions *o, HnError *err)
{
	HnJsonDoc	doc;
	HnStatus	st = HnJsonParse(text, strlen(text), &HnMallocAllocator, &doc, err);

	memset(o, 0, sizeof(*o));
	if (st != HANAMI_OK)
		return st;
	st = HnFitOptionsRead(net, doc.root, true, &HnMallocAllocator, o, err);
	free(o->target);
	free(o->device);
	free((void *) o->train.kind_options);
	HnJsonFree(&doc);
	return st;
}

/*
 * early_stopping on noise: validation loss bottoms out, the fit stops
 * patience epochs after its lowest, well before the last epoch, and
 * restore_best leaves the bytes of a fit that stopped at the best epoch,
 * the counters apart.  Without restore_best the last epoch's weights stay.
 */
static void
TestEarlyStopping(void)
{
	HnDataset	ds;
	TestNet		a;
	TestNet		b;
	TestNet		c;
	HnNet		ha;
	HnNet		hb;
	HnNet		hc;
	HnTrainOptions opt;
	HnTrainResult ra;
	HnTrainResult rb;
	HnTrainResult rc;
	HnError		err;
	HnRows		mem;
	ValLog		log;
	HnCallbacks cb = {&log, NULL, LogEpoch, NULL};
	int			best = 0;
	HnStatus	st;
	uint32_t	epochs0;

	MakeNoise(&ds, 64);
	MakeWide(&a, &ha);
	MakeWide(&b, &hb);
	MakeWide(&c, &hc);
	mem = (HnRows) {&ds, NULL, 0, NULL};
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 300;
	opt.batch_size = 8;
	opt.seed = 3;
	opt.optim.learning_rate = 0.02f;
	opt.validation_split = 0.25;
	opt.patience = 5;
	opt.restore_best = true;
	epochs0 = ha.hdr->epochs;
	memset(&log, 0, sizeof(log));
	st = HnFit(&ha, &mem, &opt, NULL, &cb, &HnMallocAllocator, &ra, &err);
	for (int e = 1; e <= log.n; e++)
		if (best == 0 || log.val[e - 1] < log.val[best - 1])
			best = e;
	if (!CHECK(st == HANAMI_OK && ra.stop == HANAMI_STOP_EARLY &&
			   strcmp(StopReasonName(ra.stop), "early_stopping") == 0 &&
			   ra.epochs < 300 && ra.epochs == log.n &&
			   ra.best_epoch == best && best >= 3 && ra.epochs == best + 5,
			   "early_stopping: stopped after epoch %d, 5 after the best (%d)",
			   ra.epochs, ra.best_epoch))
		TestNote("status %d, stop %d, %d epochs logged, best %d", (int) st,
				 (int) ra.stop, log.n, best);
	CHECK(ra.restored && ra.val_loss == log.val[best - 1] &&
		  ha.hdr->epochs == epochs0 + (uint32_t) ra.epochs &&
		  ha.hdr->samples == (uint64_t) ra.epochs * 48,
		  "restore_best: the best epoch's validation loss, every epoch counted (%u)",
		  ha.hdr->epochs);

	/* the same fit stopped at the best epoch: the same weights, exactly */
	opt.patience = 0;
	opt.restore_best = false;
	opt.epochs = best;
	st = HnFit(&hb, &mem, &opt, NULL, NULL, &HnMallocAllocator, &rb, &err);
	hb.hdr->epochs = ha.hdr->epochs;
	hb.hdr->samples = ha.hdr->samples;
	if (!CHECK(st == HANAMI_OK && rb.val_loss == ra.val_loss &&
			   rb.loss == ra.loss && a.len == b.len &&
			   memcmp(a.buf, b.buf, a.len) == 0,
			   "restore_best: the bytes of a fit of %d epochs, validation loss %.9g",
			   best, rb.val_loss))
		TestNote("status %d; val losses %.17g %.17g", (int) st, rb.val_loss,
				 ra.val_loss);

	/* restore_best alone runs every epoch; without it, the last weights */
	opt.epochs = 40;
	opt.restore_best = true;
	memset(&log, 0, sizeof(log));
	st = HnFit(&hc, &mem, &opt, NULL, &cb, &HnMallocAllocator, &rc, &err);
	best = 0;
	for (int e = 1; e <= log.n; e++)
		if (best == 0 || log.val[e - 1] < log.val[best - 1])
			best = e;
	CHECK(st == HANAMI_OK && rc.stop == HANAMI_STOP_EPOCHS && rc.epochs == 40 &&
		  rc.best_epoch == best && rc.restored && rc.val_loss == log.val[best - 1],
		  "restore_best without early_stopping: every epoch, the best (%d) kept",
		  best);
	opt.patience = 3;
	opt.restore_best = false;
	opt.epochs = 300;
	memcpy(b.buf, c.buf, c.len);
	memset(&log, 0, sizeof(log));
	st = HnFit(&hb, &mem, &opt, NULL, &cb, &HnMallocAllocator, &rb, &err);
	CHECK(st == HANAMI_OK && rb.stop == HANAMI_STOP_EARLY && !rb.restored &&
		  rb.epochs == rb.best_epoch + 3 && rb.val_loss == log.val[log.n - 1] &&
		  rb.val_loss > log.val[rb.best_epoch - 1],
		  "early_stopping without restore_best: the last epoch's weights");

	/* an improvement must beat min_delta to count */
	memcpy(b.buf, c.buf, c.len);
	opt.min_delta = 1e6;
	st = HnFit(&hb, &mem, &opt, NULL, NULL, &HnMallocAllocator, &rb, &err);
	CHECK(st == HANAMI_OK && rb.stop == HANAMI_STOP_EARLY && rb.epochs == 4,
		  "early_stopping: a huge min_delta stops after 1 + patience epochs (%d)",
		  rb.epochs);
	opt.min_delta = -1;
	st = HnFit(&hb, &mem, &opt, NULL, NULL, &HnMallocAllocator, &rb, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT && strstr(err.message, "min_delta"),
		  "early_stopping: a negative min_delta is refused");
	TestNetFree(&a);
	TestNetFree(&b);
	TestNetFree(&c);
	FreeRows(&ds);
}

/* Without validation rows early_stopping and restore_best are refused. */
static void
TestStoppingNeedsValidation(void)
{
	HnDataset	ds;
	TestNet		a;
	HnNet		ha;
	HnTrainOptions opt;
	HnTrainResult r;
	HnError		err;
	HnRows		mem;
	HnRows		str;
	ChunkSource cs;
	HnRowSource src;
	HnStatus	st;

	MakeNoise(&ds, 64);
	MakeWide(&a, &ha);
	mem = (HnRows) {&ds, NULL, 0, NULL};
	src = ChunkSourceOf(&cs, &ds, 20, 20);
	str = (HnRows) {NULL, NULL, 0, &src};
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 2;
	opt.patience = 2;
	st = HnFit(&ha, &mem, &opt, NULL, NULL, &HnMallocAllocator, &r, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT &&
		  strcmp(err.message, "early_stopping needs validation rows") == 0 &&
		  strstr(err.detail, "validation_split") != NULL,
		  "early_stopping without validation_split: \"%s\" (%s)", err.message,
		  err.detail);
	opt.patience = 0;
	opt.restore_best = true;
	st = HnFit(&ha, &mem, &opt, NULL, NULL, &HnMallocAllocator, &r, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT &&
		  strcmp(err.message, "restore_best needs validation rows") == 0,
		  "restore_best without validation_split: \"%s\"", err.message);
	st = HnFit(&ha, &str, &opt, NULL, NULL, &HnMallocAllocator, &r, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT && cs.passes == 0 &&
		  strcmp(err.message, "restore_best needs validation rows") == 0 &&
		  strstr(err.detail, "Streamed") != NULL,
		  "restore_best on streamed rows: refused before reading them");
	opt.validation_split = 0.01;
	st = HnFit(&ha, &mem, &opt, NULL, NULL, &HnMallocAllocator, &r, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT &&
		  strcmp(err.message, "restore_best needs validation rows") == 0 &&
		  strstr(err.detail, "raise it") != NULL,
		  "restore_best with a split that holds no row out: refused");
	TestNetFree(&a);
	FreeRows(&ds);
}

/* The options early_stopping and restore_best as fit() reads them. */
static void
TestStoppingOptions(void)
{
	static const char *const bad[] = {
		"{\"early_stopping\": 0}", "{\"early_stopping\": 2.5}",
		"{\"early_stopping\": \"5\"}", "{\"early_stopping\": true}",
		"{\"early_stopping\": {}}", "{\"early_stopping\": {\"min_delta\": 0}}",
		"{\"early_stopping\": {\"patience\": 2, \"delta\": 0}}",
		"{\"early_stopping\": {\"patience\": 2, \"min_delta\": -0.5}}",
		"{\"early_stopping\": {\"patience\": 2, \"min_delta\": \"0\"}}",
		"{\"restore_best\": 1}"
	};
	static const char *const hk_spec = "{\"kind\": \"hanami\", \"layers\": [3, 4, 2]}";
	TestNet		a;
	HnNet		ha;
	HnFitOptions o;
	HnError		err;
	HnJsonIn	in = {true, 1};
	void	   *image = NULL;
	size_t		len = 0;
	HnNet		hk;
	int			refused = 0;

	MakeWide(&a, &ha);
	CHECK(ReadOptions(&ha, "{}", &o, &err) == HANAMI_OK &&
		  o.train.patience == 0 && !o.train.restore_best,
		  "options: no early stopping, no restore_best by default");
	CHECK(ReadOptions(&ha, "{\"early_stopping\": 5}", &o, &err) == HANAMI_OK &&
		  o.train.patience == 5 && o.train.min_delta == 0 && o.train.restore_best,
		  "options: early_stopping 5 is a patience of 5, restore_best on");
	CHECK(ReadOptions(&ha, "{\"restore_best\": false, \"early_stopping\": {\"patience\": 3, \"min_delta\": 0.25}}",
					  &o, &err) == HANAMI_OK &&
		  o.train.patience == 3 && o.train.min_delta == 0.25 &&
		  !o.train.restore_best,
		  "options: an object gives patience and min_delta; restore_best off");
	CHECK(ReadOptions(&ha, "{\"restore_best\": true}", &o, &err) == HANAMI_OK &&
		  o.train.patience == 0 && o.train.restore_best,
		  "options: restore_best alone");
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
	{
		HnStatus	st = ReadOptions(&ha, bad[k], &o, &err);

		if ((st == HANAMI_E_INVALID_ARGUMENT || st == HANAMI_E_INVALID_SPEC) &&
			(strstr(err.message, "early_stopping") != NULL ||
			 strstr(err.message, "restore_best") != NULL))
			refused++;
		else
			TestNote("%s: status %d, \"%s\"", bad[k], (int) st, err.message);
	}
	CHECK(refused == (int) (sizeof(bad) / sizeof(bad[0])),
		  "options: %d bad values refused naming the option", refused);
	if (NetFromJson(hk_spec, strlen(hk_spec), &in, &HnMallocAllocator, &image,
					&len, &err) == HANAMI_OK)
	{
		NetBindTrusted(&hk, image);
		CHECK(ReadOptions(&hk, "{\"early_stopping\": 5}", &o, &err) == HANAMI_E_INVALID_ARGUMENT &&
			  strstr(err.message, "does not apply") != NULL &&
			  strstr(err.detail, "validation rows") != NULL,
			  "options: a growing network refuses early_stopping: %s", err.message);
		CHECK(ReadOptions(&hk, "{\"restore_best\": true}", &o, &err) == HANAMI_E_INVALID_ARGUMENT,
			  "options: a growing network refuses restore_best");
		free(image);
	}
	else
		CHECK(false, "the hanami network is refused: %s", err.message);
	TestNetFree(&a);
}

/* Run the fit driver tests. */
void
TestFitSuite(void)
{
	TestStreamEqualsMemory(false);
	TestStreamEqualsMemory(true);
	TestOutputStats();
	TestStreamGrowing();
	TestEarlyStopping();
	TestStoppingNeedsValidation();
	TestStoppingOptions();
}
