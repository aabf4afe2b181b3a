/*
 * test_train.c - unit tests of TrainFit and TrainEvaluate: learning small
 * problems, determinism, stop conditions, the validation split, input and
 * output scaling, error reporting and evaluation metrics.
 */
#include "harness.h"

#include <stdlib.h>

#include "core/dense/step.h"
#include "core/fit.h"

static const float xor_x[] = {0, 0, 0, 1, 1, 0, 1, 1};
static const int32_t xor_cls[] = {0, 1, 1, 0};

/* A two-class problem of n rows: the class is x0 + x1 > 1 (x in [0,1)). */
typedef struct TestData
{
	HnDataset	ds;
	float	   *x;
	float	   *y;
	int32_t    *cls;
} TestData;

/* Two-class rows; feature 1 optionally scaled and shifted. */
static void
MakeBlobs(TestData *d, int64_t n, uint64_t seed, float x1_scale,
		  float x1_offset)
{
	uint64_t	s = seed;

	memset(d, 0, sizeof(*d));
	d->x = malloc(sizeof(float) * 2 * n);
	d->cls = malloc(sizeof(int32_t) * n);
	for (int64_t r = 0; r < n; r++)
	{
		float		a = TestUniform(&s, 0, 1);
		float		b = TestUniform(&s, 0, 1);

		d->x[2 * r] = a;
		d->x[2 * r + 1] = x1_offset + x1_scale * b;
		d->cls[r] = a + b > 1.0f;
	}
	d->ds.n = n;
	d->ds.n_features = 2;
	d->ds.n_outputs = 2;
	d->ds.x = d->x;
	d->ds.cls = d->cls;
}

/* Regression rows y = offset + scale * sin(3 x) for x in [-1, 1). */
static void
MakeWave(TestData *d, int64_t n, float scale, float offset)
{
	uint64_t	s = 77;

	memset(d, 0, sizeof(*d));
	d->x = malloc(sizeof(float) * n);
	d->y = malloc(sizeof(float) * n);
	for (int64_t r = 0; r < n; r++)
	{
		d->x[r] = TestUniform(&s, -1, 1);
		d->y[r] = offset + scale * sinf(3.0f * d->x[r]);
	}
	d->ds.n = n;
	d->ds.n_features = 1;
	d->ds.n_outputs = 1;
	d->ds.x = d->x;
	d->ds.y = d->y;
}

/* Free a test dataset. */
static void
FreeData(TestData *d)
{
	free(d->x);
	free(d->y);
	free(d->cls);
}

/* Accuracy of net on data, or -1 on error. */
static double
Accuracy(const DenseNet *net, const HnDataset *ds)
{
	HnEvalResult ev = {0};
	HnError		err;

	if (TrainEvaluate(net, ds, NULL, &HnMallocAllocator, &ev, &err) != HANAMI_OK)
		return -1.0;
	return ev.accuracy;
}

/* Callbacks that count calls and drive a fake clock. */
typedef struct CbState
{
	int			interrupts;
	int			stop_after;		/* interrupt returns true on call n+1 */
	int			epochs;
	int64_t		last_rows;
	double		clock;
	double		tick;
	bool		monotone;
	double		last_seconds;
	int			stop_epoch;		/* stop returns true from this epoch on */
	int			stop_calls;
} CbState;

/* Count calls; stop after stop_after of them. */
static bool
CbInterrupt(void *ctx)
{
	CbState    *c = ctx;

	c->interrupts++;
	return c->stop_after > 0 && c->interrupts > c->stop_after;
}

/* Count epochs and check that reports advance. */
static void
CbEpoch(void *ctx, const HnEpochReport *r)
{
	CbState    *c = ctx;

	c->epochs++;
	c->last_rows = r->rows;
	if (r->epoch != c->epochs || r->seconds < c->last_seconds)
		c->monotone = false;
	c->last_seconds = r->seconds;
}

/* Ask to end after epoch stop_epoch. */
static bool
CbStop(void *ctx)
{
	CbState    *c = ctx;

	c->stop_calls++;
	return c->stop_epoch > 0 && c->epochs >= c->stop_epoch;
}

/* A fake clock advancing by tick per call. */
static double
CbNow(void *ctx)
{
	CbState    *c = ctx;

	c->clock += c->tick;
	return c->clock;
}

/* Fits that must learn: XOR, 0/1 classes, regression. */
static void
TestLearn(void)
{
	static const uint32_t c[] = {2, 8, 2};
	static const HnActivation a[] = {0, HANAMI_ACT_TANH, HANAMI_ACT_SOFTMAX};
	HnDataset	ds = {4, 2, 2, xor_x, NULL, xor_cls};
	HnTrainOptions opt;
	HnTrainResult res;
	HnError		err;
	TestNet		tn;
	HnStatus	st;

	TestNetMake(&tn, 3, c, a, HANAMI_LOSS_DEFAULT, 1, false);
	TrainOptionsDefaults(&opt, HANAMI_OPT_SGD);
	opt.epochs = 400;
	opt.batch_size = 4;
	opt.optim.learning_rate = 0.1f;
	st = TrainFit(&tn.net, &ds, &opt, NULL, &HnMallocAllocator, &res, &err);
	CHECK(st == HANAMI_OK && Accuracy(&tn.net, &ds) == 1.0 &&
		  res.stop == HANAMI_STOP_EPOCHS && res.epochs == 400,
		  "fit: sgd learns XOR (loss %.4f)", res.loss);
	TestNetFree(&tn);

	TestNetMake(&tn, 3, c, a, HANAMI_LOSS_DEFAULT, 1, false);
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 300;
	opt.batch_size = 2;
	opt.optim.learning_rate = 0.03f;
	st = TrainFit(&tn.net, &ds, &opt, NULL, &HnMallocAllocator, &res, &err);
	CHECK(st == HANAMI_OK && Accuracy(&tn.net, &ds) == 1.0 &&
		  tn.net.hdr->epochs == 300 && tn.net.hdr->samples == 1200,
		  "fit: adam learns XOR in batches of 2; header counts epochs and samples");
	TestNetFree(&tn);

	/* single sigmoid output with 0/1 class values */
	{
		static const uint32_t c1[] = {2, 8, 1};
		static const HnActivation a1[] = {0, HANAMI_ACT_TANH, HANAMI_ACT_SIGMOID};
		static const float y[] = {0, 1, 1, 0};
		HnDataset	dy = {4, 2, 1, xor_x, y, NULL};
		HnDataset	dc = {4, 2, 1, xor_x, NULL, xor_cls};
		HnEvalResult ev = {0};
		int64_t		conf[4];

		TestNetMake(&tn, 3, c1, a1, HANAMI_LOSS_DEFAULT, 2, false);
		opt.epochs = 300;
		st = TrainFit(&tn.net, &dc, &opt, NULL, &HnMallocAllocator, &res, &err);
		ev.confusion = conf;
		CHECK(st == HANAMI_OK &&
			  TrainEvaluate(&tn.net, &dy, NULL, &HnMallocAllocator, &ev, &err) == HANAMI_OK &&
			  ev.accuracy == 1.0 && conf[0] == 2 && conf[3] == 2 && conf[1] == 0,
			  "fit: one sigmoid output learns 0/1 classes; 2x2 confusion");
		TestNetFree(&tn);
	}

	/* regression with output scaling */
	{
		static const uint32_t cr[] = {1, 16, 1};
		static const HnActivation ar[] = {0, HANAMI_ACT_TANH, HANAMI_ACT_IDENTITY};
		TestData	d;
		HnEvalResult ev = {0};

		MakeWave(&d, 200, 100.0f, 5000.0f);
		TestNetMake(&tn, 3, cr, ar, HANAMI_LOSS_DEFAULT, 3, false);
		TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
		opt.epochs = 150;
		opt.batch_size = 16;
		opt.optim.learning_rate = 0.01f;
		st = TrainFit(&tn.net, &d.ds, &opt, NULL, &HnMallocAllocator, &res, &err);
		TrainEvaluate(&tn.net, &d.ds, NULL, &HnMallocAllocator, &ev, &err);
		CHECK(st == HANAMI_OK && ev.r2 >= 0.95 && ev.mae < 20.0 && isnan(ev.accuracy) &&
			  (tn.net.hdr->flags & HANAMI_FLAG_OUTPUT_FITTED) &&
			  TestClose(tn.net.out_shift[0], 5000.0, 0, 0.01),
			  "fit: regression around 5000 learns with output scaling (r2 %.3f, mae %.2f)",
			  ev.r2, ev.mae);
		FreeData(&d);
		TestNetFree(&tn);
	}
}

/* Same seeds, same bytes. */
static void
TestDeterminism(void)
{
	static const uint32_t c[] = {2, 12, 6, 2};
	TestData	d;
	HnTrainOptions opt;
	HnError		err;
	TestNet		a,
				b,
				e;

	MakeBlobs(&d, 120, 5, 1.0f, 0.0f);
	TestNetMake(&a, 4, c, NULL, HANAMI_LOSS_DEFAULT, 11, true);
	TestNetMake(&b, 4, c, NULL, HANAMI_LOSS_DEFAULT, 11, true);
	TestNetMake(&e, 4, c, NULL, HANAMI_LOSS_DEFAULT, 11, true);
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 5;
	opt.batch_size = 7;
	opt.validation_split = 0.2;
	opt.seed = 99;
	TrainFit(&a.net, &d.ds, &opt, NULL, &HnMallocAllocator, NULL, &err);
	TrainFit(&b.net, &d.ds, &opt, NULL, &HnMallocAllocator, NULL, &err);
	opt.seed = 100;
	TrainFit(&e.net, &d.ds, &opt, NULL, &HnMallocAllocator, NULL, &err);
	CHECK(memcmp(a.buf, b.buf, a.len) == 0,
		  "determinism: same seeds give a bitwise identical image");
	CHECK(memcmp(a.buf, e.buf, a.len) != 0,
		  "determinism: another shuffle seed gives another image");
	{
		DenseNet		n;
		void	   *copy = TestCopy(a.buf, a.len);

		CHECK(DenseBind(&n, copy, a.len, &err) == HANAMI_OK,
			  "a trained image passes DenseBind");
		free(copy);
	}
	TestNetFree(&a);
	TestNetFree(&b);
	TestNetFree(&e);
	FreeData(&d);
}

/* Every stop condition and the validation split. */
static void
TestStops(void)
{
	static const uint32_t c[] = {2, 6, 2};
	TestData	d;
	HnTrainOptions opt;
	HnTrainResult res;
	HnCallbacks cb = {0};
	CbState		cs;
	HnError		err;
	TestNet		tn;
	HnStatus	st;

	MakeBlobs(&d, 100, 6, 1.0f, 0.0f);
	cb.ctx = &cs;
	cb.interrupt = CbInterrupt;
	cb.epoch_done = CbEpoch;

	/* max_iterations */
	TestNetMake(&tn, 3, c, NULL, HANAMI_LOSS_DEFAULT, 1, false);
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.batch_size = 16;
	opt.max_iterations = 9;
	memset(&cs, 0, sizeof(cs));
	cs.monotone = true;
	st = TrainFit(&tn.net, &d.ds, &opt, &cb, &HnMallocAllocator, &res, &err);
	CHECK(st == HANAMI_OK && res.stop == HANAMI_STOP_ITERATIONS &&
		  res.iterations == 9 && res.epochs == 2 && cs.epochs == 2 &&
		  tn.net.hdr->samples == 100 + 2 * 16 &&
		  strcmp(StopReasonName(res.stop), "max_iterations") == 0,
		  "stop: max_iterations 9 with 7 batches per epoch");
	TestNetFree(&tn);

	/* error_threshold */
	TestNetMake(&tn, 3, c, NULL, HANAMI_LOSS_DEFAULT, 1, false);
	opt.max_iterations = 0;
	opt.error_threshold = 5.0;
	memset(&cs, 0, sizeof(cs));
	st = TrainFit(&tn.net, &d.ds, &opt, &cb, &HnMallocAllocator, &res, &err);
	CHECK(st == HANAMI_OK && res.stop == HANAMI_STOP_THRESHOLD && res.epochs == 1 &&
		  cs.interrupts == 7,
		  "stop: error_threshold after the first epoch; interrupt once per batch");
	TestNetFree(&tn);

	/* callback */
	TestNetMake(&tn, 3, c, NULL, HANAMI_LOSS_DEFAULT, 1, false);
	opt.error_threshold = 0;
	memset(&cs, 0, sizeof(cs));
	cs.stop_after = 10;
	st = TrainFit(&tn.net, &d.ds, &opt, &cb, &HnMallocAllocator, &res, &err);
	CHECK(st == HANAMI_OK && res.stop == HANAMI_STOP_CALLBACK && res.iterations == 10 &&
		  res.epochs == 2,
		  "stop: interrupt callback stops cleanly after 10 batches");
	TestNetFree(&tn);

	/* the stop hook: ends after an epoch, as a finished fit */
	TestNetMake(&tn, 3, c, NULL, HANAMI_LOSS_DEFAULT, 1, false);
	memset(&cs, 0, sizeof(cs));
	cs.stop_epoch = 3;
	cb.stop = CbStop;
	opt.epochs = 10;
	st = TrainFit(&tn.net, &d.ds, &opt, &cb, &HnMallocAllocator, &res, &err);
	CHECK(st == HANAMI_OK && res.stop == HANAMI_STOP_REQUESTED && res.epochs == 3 &&
		  cs.epochs == 3 && cs.stop_calls == 3 && tn.net.hdr->epochs == 3 &&
		  res.iterations == 3 * 7 &&
		  strcmp(StopReasonName(res.stop), "stopped") == 0,
		  "stop: the stop hook ends the fit after epoch 3 of 10 (%d epochs)", res.epochs);
	TestNetFree(&tn);
	/* asked during the last epoch: the fit ran all its epochs */
	TestNetMake(&tn, 3, c, NULL, HANAMI_LOSS_DEFAULT, 1, false);
	memset(&cs, 0, sizeof(cs));
	cs.stop_epoch = 1;
	opt.epochs = 1;
	st = TrainFit(&tn.net, &d.ds, &opt, &cb, &HnMallocAllocator, &res, &err);
	CHECK(st == HANAMI_OK && res.stop == HANAMI_STOP_EPOCHS && res.epochs == 1,
		  "stop: a stop asked in the last epoch still reports epochs");
	TestNetFree(&tn);
	cb.stop = NULL;
	opt.epochs = 10;

	/* timeout on a fake clock: 1 s per call */
	TestNetMake(&tn, 3, c, NULL, HANAMI_LOSS_DEFAULT, 1, false);
	memset(&cs, 0, sizeof(cs));
	cs.tick = 1.0;
	cs.monotone = true;
	cb.now = CbNow;
	opt.timeout = 4.5;
	st = TrainFit(&tn.net, &d.ds, &opt, &cb, &HnMallocAllocator, &res, &err);
	CHECK(st == HANAMI_OK && res.stop == HANAMI_STOP_TIMEOUT && res.iterations == 5 &&
		  res.seconds > 4.0 && cs.monotone,
		  "stop: timeout on the clock callback");
	TestNetFree(&tn);

	/* no clock: timeout ignored */
	TestNetMake(&tn, 3, c, NULL, HANAMI_LOSS_DEFAULT, 1, false);
	cb.now = NULL;
	opt.epochs = 2;
	st = TrainFit(&tn.net, &d.ds, &opt, &cb, &HnMallocAllocator, &res, &err);
	CHECK(st == HANAMI_OK && res.stop == HANAMI_STOP_EPOCHS && res.epochs == 2,
		  "stop: without a clock the timeout is ignored");
	TestNetFree(&tn);

	/* validation split */
	TestNetMake(&tn, 3, c, NULL, HANAMI_LOSS_DEFAULT, 1, false);
	opt.timeout = 0;
	opt.epochs = 3;
	opt.validation_split = 0.25;
	memset(&cs, 0, sizeof(cs));
	st = TrainFit(&tn.net, &d.ds, &opt, &cb, &HnMallocAllocator, &res, &err);
	CHECK(st == HANAMI_OK && res.train_rows == 75 && res.val_rows == 25 &&
		  cs.last_rows == 75 && cs.interrupts == 3 * (5 + 2) &&
		  isfinite(res.val_loss) && res.val_accuracy >= 0.0 && res.val_accuracy <= 1.0 &&
		  tn.net.hdr->samples == 225,
		  "validation split 0.25 of 100 rows holds out 25; interrupt asked per training and validation batch");
	/* a stop asked while validating: the fit stops there, as a callback stop */
	memset(&cs, 0, sizeof(cs));
	cs.stop_after = 5;
	st = TrainFit(&tn.net, &d.ds, &opt, &cb, &HnMallocAllocator, &res, &err);
	CHECK(st == HANAMI_OK && res.stop == HANAMI_STOP_CALLBACK && cs.interrupts == 6,
		  "validation: an interrupt between validation batches stops the fit (%d calls)", cs.interrupts);
	opt.validation_split = 0.999;
	st = TrainFit(&tn.net, &d.ds, &opt, &cb, &HnMallocAllocator, &res, &err);
	CHECK(st == HANAMI_OK && res.train_rows == 1 && res.val_rows == 99,
		  "validation split leaves at least the remainder row");
	TestNetFree(&tn);
	FreeData(&d);
}

/* Expect TrainFit to fail with code and text in the message. */
static void
ExpectFitError(TestNet *tn, const HnDataset *ds, const HnTrainOptions *opt,
			   HnStatus code, const char *text, const char *what)
{
	HnError		err;
	HnTrainResult res;
	HnStatus	st = TrainFit(&tn->net, ds, opt, NULL, &HnMallocAllocator, &res, &err);

	if (!CHECK(st == code && strstr(err.message, text) != NULL,
			   "fit rejects %s", what))
		TestNote("status %d: %s", (int) st, st == HANAMI_OK ? "" : err.message);
}

/* Bad data and options get clear errors. */
static void
TestErrors(void)
{
	static const uint32_t c[] = {2, 4, 3};
	TestNet		tn;
	TestData	d;
	HnTrainOptions opt;
	HnDataset	ds;
	float	   *bad;

	TestNetMake(&tn, 3, c, NULL, HANAMI_LOSS_DEFAULT, 1, false);
	MakeBlobs(&d, 20, 2, 1.0f, 0.0f);
	d.ds.n_outputs = 3;
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 1;

	ds = d.ds;
	ds.n = 0;
	ExpectFitError(&tn, &ds, &opt, HANAMI_E_INVALID_ARGUMENT, "no rows to train on",
				   "zero rows");
	ds = d.ds;
	ds.n_features = 3;
	ExpectFitError(&tn, &ds, &opt, HANAMI_E_DIMENSION, "input size", "a wrong feature count");
	bad = calloc(20 * 4, sizeof(float));
	ds = d.ds;
	ds.cls = NULL;
	ds.y = bad;
	ds.n_outputs = 4;
	ExpectFitError(&tn, &ds, &opt, HANAMI_E_DIMENSION, "target size", "a wrong output count");
	free(bad);
	d.cls[6] = 3;
	ExpectFitError(&tn, &d.ds, &opt, HANAMI_E_INVALID_ARGUMENT,
				   "class index 3 of row 7 is out of range", "a class index out of range");
	d.cls[6] = -1;
	ExpectFitError(&tn, &d.ds, &opt, HANAMI_E_INVALID_ARGUMENT, "row 7",
				   "a negative class index");
	d.cls[6] = 0;
	d.x[2 * 4 + 1] = NAN;
	ExpectFitError(&tn, &d.ds, &opt, HANAMI_E_NOT_FINITE, "input of row 5 is not finite",
				   "NaN in an input");
	d.x[2 * 4 + 1] = INFINITY;
	ExpectFitError(&tn, &d.ds, &opt, HANAMI_E_NOT_FINITE, "row 5", "infinity in an input");
	d.x[2 * 4 + 1] = 0.5f;

	bad = calloc(20 * 3, sizeof(float));
	bad[3 * 11 + 2] = NAN;
	ds = d.ds;
	ds.cls = NULL;
	ds.y = bad;
	ExpectFitError(&tn, &ds, &opt, HANAMI_E_NOT_FINITE, "target of row 12",
				   "NaN in a target");
	free(bad);

	opt.batch_size = 0;
	ExpectFitError(&tn, &d.ds, &opt, HANAMI_E_INVALID_ARGUMENT, "batch_size", "batch size 0");
	opt.batch_size = 8;
	opt.epochs = -1;
	ExpectFitError(&tn, &d.ds, &opt, HANAMI_E_INVALID_ARGUMENT, "epochs", "negative epochs");
	opt.epochs = 1;
	opt.optim.learning_rate = 0;
	ExpectFitError(&tn, &d.ds, &opt, HANAMI_E_INVALID_ARGUMENT, "learning_rate",
				   "learning rate 0");
	opt.optim.learning_rate = 0.01f;
	opt.validation_split = 1.0;
	ExpectFitError(&tn, &d.ds, &opt, HANAMI_E_INVALID_ARGUMENT, "validation_split",
				   "validation split 1");
	opt.validation_split = 0;
	opt.train_mask = 1;
	ExpectFitError(&tn, &d.ds, &opt, HANAMI_E_INVALID_ARGUMENT, "no layer",
				   "a mask with only the input layer");
	opt.train_mask = ~(uint64_t) 0;
	opt.optim.kind = (HnOptimizer) 5;
	ExpectFitError(&tn, &d.ds, &opt, HANAMI_E_INVALID_ARGUMENT, "optimizer",
				   "an unknown optimizer");
	TestNetFree(&tn);
	FreeData(&d);

	/* divergence: huge raw inputs and a huge learning rate */
	{
		static const uint32_t cr[] = {1, 8, 1};
		static const HnActivation ar[] = {0, HANAMI_ACT_IDENTITY, HANAMI_ACT_IDENTITY};

		MakeWave(&d, 50, 1.0f, 0.0f);
		for (int i = 0; i < 50; i++)
			d.x[i] *= 1e6f;
		TestNetMake(&tn, 3, cr, ar, HANAMI_LOSS_DEFAULT, 1, false);
		TrainOptionsDefaults(&opt, HANAMI_OPT_SGD);
		opt.optim.learning_rate = 10.0f;
		opt.epochs = 50;
		ExpectFitError(&tn, &d.ds, &opt, HANAMI_E_DIVERGED, "training diverged",
					   "a diverging fit");
		TestNetFree(&tn);
		FreeData(&d);
	}
}

/* Learned input scaling and its refits. */
static void
TestScaling(void)
{
	static const uint32_t c[] = {2, 8, 2};
	static const HnActivation a[] = {0, HANAMI_ACT_TANH, HANAMI_ACT_SOFTMAX};
	TestData	raw,
				pre;
	TestNet		s,
				p;
	HnTrainOptions opt;
	HnTrainResult res;
	HnError		err;
	double		acc_s,
				acc_p;
	float		range = 50.0f;

	/* same problem: feature 1 around 1000 raw, or standardized by hand */
	MakeBlobs(&raw, 300, 8, 50.0f, 1000.0f);
	MakeBlobs(&pre, 300, 8, 1.0f, 0.0f);
	for (int r = 0; r < 300; r++)
	{
		pre.x[2 * r] = (pre.x[2 * r] - 0.5f) * sqrtf(12.0f);
		pre.x[2 * r + 1] = (pre.x[2 * r + 1] - 0.5f) * sqrtf(12.0f);
	}
	TestNetMake(&s, 3, c, a, HANAMI_LOSS_DEFAULT, 4, true);
	TestNetMake(&p, 3, c, a, HANAMI_LOSS_DEFAULT, 4, false);
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 40;
	opt.batch_size = 16;
	opt.optim.learning_rate = 0.02f;
	TrainFit(&s.net, &raw.ds, &opt, NULL, &HnMallocAllocator, &res, &err);
	TrainFit(&p.net, &pre.ds, &opt, NULL, &HnMallocAllocator, &res, &err);
	acc_s = Accuracy(&s.net, &raw.ds);
	acc_p = Accuracy(&p.net, &pre.ds);
	CHECK((s.net.hdr->flags & HANAMI_FLAG_INPUT_FITTED) &&
		  !(s.net.hdr->flags & HANAMI_FLAG_OUTPUT_FITTED) &&
		  TestClose(s.net.in_shift[1], 1025.0, 0, 0.01) &&
		  TestClose(s.net.in_mul[1], 1.0 / range, 0, 0.1),
		  "scaling: learned shift and multiplier of a feature near 1000");
	CHECK(acc_s >= 0.95 && acc_s >= acc_p - 0.03,
		  "scaling: raw feature near 1000 trains as well as scaled (%.3f vs %.3f)",
		  acc_s, acc_p);
	{
		float		shift = s.net.in_shift[1];

		/* a second fit keeps the fitted scaling, rescale refits */
		for (int r = 0; r < 300; r++)
			raw.x[2 * r + 1] += 5000.0f;
		opt.epochs = 1;
		TrainFit(&s.net, &raw.ds, &opt, NULL, &HnMallocAllocator, &res, &err);
		CHECK(s.net.in_shift[1] == shift, "scaling: kept on a second fit");
		opt.rescale = true;
		TrainFit(&s.net, &raw.ds, &opt, NULL, &HnMallocAllocator, &res, &err);
		CHECK(s.net.in_shift[1] != shift, "scaling: refit with rescale");
	}
	{
		/* TrainFitScaling: constant feature gets mul 1 */
		float		x[6] = {1, 7, 2, 7, 3, 7};
		int32_t		cl[3] = {0, 1, 0};
		HnDataset	ds = {3, 2, 2, x, NULL, cl};

		TrainFitScaling(&s.net, &ds, 3, NULL, &HnMallocAllocator, &err);
		CHECK(s.net.in_mul[1] == 1.0f && s.net.in_shift[1] == 7.0f &&
			  s.net.in_shift[0] == 2.0f && s.net.in_mul[0] == 0.25f,
			  "scaling: a constant feature keeps multiplier 1");
	}
	TestNetFree(&s);
	TestNetFree(&p);
	FreeData(&raw);
	FreeData(&pre);
}

/* Evaluation metrics and the confusion matrix. */
static void
TestEvaluate(void)
{
	static const uint32_t c[] = {2, 8, 3};
	TestNet		tn;
	TestData	d;
	HnEvalResult ev = {0};
	HnError		err;
	int64_t		conf[9];
	int64_t		sum = 0,
				diag = 0;
	HnStatus	st;
	HnTrainOptions opt;

	MakeBlobs(&d, 301, 9, 1.0f, 0.0f);
	for (int r = 0; r < 301; r++)
		d.cls[r] = (d.x[2 * r] > 0.66f) ? 2 : d.cls[r];
	d.ds.n_outputs = 3;
	TestNetMake(&tn, 3, c, NULL, HANAMI_LOSS_DEFAULT, 1, false);
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 5;
	TrainFit(&tn.net, &d.ds, &opt, NULL, &HnMallocAllocator, NULL, &err);
	ev.confusion = conf;
	st = TrainEvaluate(&tn.net, &d.ds, NULL, &HnMallocAllocator, &ev, &err);
	for (int i = 0; i < 9; i++)
		sum += conf[i];
	for (int i = 0; i < 3; i++)
		diag += conf[i * 3 + i];
	CHECK(st == HANAMI_OK && ev.n == 301 && sum == 301 &&
		  TestClose(ev.accuracy, (double) diag / 301, 1e-12, 0) &&
		  isfinite(ev.loss) && isnan(ev.mse),
		  "evaluate: confusion matrix sums to n and its trace gives accuracy");
	d.ds.n = 0;
	st = TrainEvaluate(&tn.net, &d.ds, NULL, &HnMallocAllocator, &ev, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT && strstr(err.message, "no rows to evaluate"),
		  "evaluate: zero rows is an error");
	TestNetFree(&tn);
	FreeData(&d);
}

/* An allocator that fails after a budget of allocations and counts. */
typedef struct FailAlloc
{
	int			budget;
	int			live;
} FailAlloc;

/* Allocate unless the budget is spent. */
static void *
FailAllocAlloc(void *ctx, size_t size)
{
	FailAlloc  *f = ctx;
	void	   *p;

	if (f->budget-- <= 0)
		return NULL;
	p = malloc(size);
	if (p != NULL)
		f->live++;
	return p;
}

/* Free and count. */
static void
FailAllocFree(void *ctx, void *ptr)
{
	FailAlloc  *f = ctx;

	f->live--;
	free(ptr);
}

/* Every allocation failure gives NOMEM and frees what was allocated. */
static void
TestAllocFailures(void)
{
	static const uint32_t c[] = {2, 6, 5, 2};
	TestNet		tn;
	TestData	d;
	HnTrainOptions opt;
	HnTrainResult res;
	HnEvalResult ev = {0};
	HnError		err;
	FailAlloc	f;
	HnAllocator a = {FailAllocAlloc, FailAllocFree, &f};
	bool		ok = true;
	int			budget;
	HnStatus	st = HANAMI_E_NOMEM;

	MakeBlobs(&d, 40, 3, 1.0f, 0.0f);
	TestNetMake(&tn, 4, c, NULL, HANAMI_LOSS_DEFAULT, 1, true);
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 1;
	opt.validation_split = 0.2;
	for (budget = 0; budget < 50 && st == HANAMI_E_NOMEM; budget++)
	{
		f.budget = budget;
		f.live = 0;
		st = TrainFit(&tn.net, &d.ds, &opt, NULL, &a, &res, &err);
		ok &= f.live == 0 && (st == HANAMI_OK || st == HANAMI_E_NOMEM);
	}
	CHECK(ok && st == HANAMI_OK && budget > 2,
		  "fit: each of %d allocation failures reports NOMEM and leaks nothing",
		  budget - 1);
	ok = true;
	st = HANAMI_E_NOMEM;
	for (budget = 0; budget < 50 && st == HANAMI_E_NOMEM; budget++)
	{
		f.budget = budget;
		f.live = 0;
		st = TrainEvaluate(&tn.net, &d.ds, NULL, &a, &ev, &err);
		ok &= f.live == 0 && (st == HANAMI_OK || st == HANAMI_E_NOMEM);
	}
	CHECK(ok && st == HANAMI_OK && budget > 1,
		  "evaluate: each of %d allocation failures reports NOMEM and leaks nothing",
		  budget - 1);
	TestNetFree(&tn);
	FreeData(&d);
}

/*
 * Loud failures: softmax targets that are not probability rows, and
 * outputs that overflow, are errors rather than numbers.
 */
static void
TestLoud(void)
{
	static const uint32_t c[] = {2, 4, 2};
	static const HnActivation id[] = {0, HANAMI_ACT_RELU, HANAMI_ACT_IDENTITY};
	TestNet		sm;
	TestNet		reg;
	TestData	d;
	HnTrainOptions opt;
	HnEvalResult ev;
	HnError		err;
	HnStatus	st;
	float	   *y;

	TestNetMake(&sm, 3, c, NULL, HANAMI_LOSS_DEFAULT, 1, false);
	TestNetMake(&reg, 3, c, id, HANAMI_LOSS_MSE, 1, false);
	MakeBlobs(&d, 20, 3, 1.0f, 0.0f);
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 1;
	y = malloc(sizeof(float) * 20 * 2);
	for (int r = 0; r < 20; r++)
	{
		y[2 * r] = 0.25f;
		y[2 * r + 1] = 0.75f;
	}
	d.ds.cls = NULL;
	d.ds.y = y;
	st = TrainFit(&sm.net, &d.ds, &opt, NULL, &HnMallocAllocator, NULL, &err);
	CHECK(st == HANAMI_OK, "softmax: probability rows train");
	y[2 * 6] = 3.5f;
	ExpectFitError(&sm, &d.ds, &opt, HANAMI_E_INVALID_ARGUMENT,
				   "target of row 7 is not a probability distribution",
				   "a softmax target above 1");
	st = TrainCheckTargets(&sm.net, y, 20, 100, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT && strstr(err.message, "row 107") != NULL &&
		  strstr(err.hint, "identity output layer") != NULL,
		  "TrainCheckTargets numbers rows from row0 and gives a hint");
	y[2 * 6] = 0.5f;
	ExpectFitError(&sm, &d.ds, &opt, HANAMI_E_INVALID_ARGUMENT,
				   "target of row 7", "softmax targets summing to 1.25");
	y[2 * 6] = 0.255f;
	st = TrainFit(&sm.net, &d.ds, &opt, NULL, &HnMallocAllocator, NULL, &err);
	CHECK(st == HANAMI_OK, "softmax: a row summing to 1 within 0.01 trains");
	y[2 * 6] = 3.5f;
	st = TrainFit(&reg.net, &d.ds, &opt, NULL, &HnMallocAllocator, NULL, &err);
	CHECK(st == HANAMI_OK, "identity output: raw real targets train");
	memset(&ev, 0, sizeof(ev));
	st = TrainEvaluate(&sm.net, &d.ds, NULL, &HnMallocAllocator, &ev, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT, "softmax: evaluate rejects raw targets too");

	/* finite inputs that overflow: an error naming the row, not NaN */
	d.ds.y = NULL;
	d.ds.cls = d.cls;
	d.x[2 * 4] = 3e38f;
	d.x[2 * 4 + 1] = 3e38f;
	memset(&ev, 0, sizeof(ev));
	st = TrainEvaluate(&sm.net, &d.ds, NULL, &HnMallocAllocator, &ev, &err);
	if (!CHECK(st == HANAMI_E_OUTPUT_NOT_FINITE &&
			   strcmp(err.message, "network output is not finite") == 0 &&
			   strstr(err.detail, "of row 5 is") != NULL,
			   "evaluate: an output that overflows is an error naming the row"))
		TestNote("status %d: %s / %s", (int) st, err.message, err.detail);
	{
		/* a finite output whose output scaling overflows, in a selection */
		static const int64_t pick[] = {4, 1};
		HnDataset	dy = d.ds;
		HnRows		rows = {&dy, pick, 2, NULL};
		HnNet		hn;

		dy.cls = NULL;
		dy.y = y;
		d.x[2 * 4] = d.x[2 * 4 + 1] = 0.5f;
		reg.net.hdr->flags |= HANAMI_FLAG_OUTPUT_FITTED;
		DenseBias(&reg.net, 2)[0] = 1e6f;
		reg.net.out_mul[0] = 1e38f;
		NetBindTrusted(&hn, reg.net.hdr);
		memset(&ev, 0, sizeof(ev));
		st = HnEvaluate(&hn, &rows, NULL, &HnMallocAllocator, &ev, &err);
		if (!CHECK(st == HANAMI_E_OUTPUT_NOT_FINITE &&
				   strstr(err.detail, "Output 1 of row 5 is Infinity") != NULL,
				   "evaluate looks at the scaled outputs, naming the output and the row"))
			TestNote("status %d: %s / %s", (int) st, err.message, err.detail);
	}
	free(y);
	FreeData(&d);
	TestNetFree(&sm);
	TestNetFree(&reg);
}

/* Run the training tests. */
void
TestTrainSuite(void)
{
	TestLearn();
	TestDeterminism();
	TestStops();
	TestErrors();
	TestScaling();
	TestEvaluate();
	TestLoud();
	TestAllocFailures();
}
