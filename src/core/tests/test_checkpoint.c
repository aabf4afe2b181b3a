/*
 * test_checkpoint.c - unit tests of checkpoints (checkpoint.h): a fit
 * resumed from the blob of epoch k gives the bytes of the fit never
 * interrupted (dense with adam, with sgd and momentum, with early stopping
 * and restore_best; the growing kind, whose image grows); making
 * checkpoints changes nothing; a damaged, truncated or forged blob, or one
 * of another network or other options, is refused and never crashes.
 */
#include "harness.h"

#include <stdlib.h>

#include "core/checkpoint.h"
#include "core/fit.h"
#include "core/hanami/kind.h"

/* What the checkpoint hook keeps: the blob of one epoch, and a count. */
typedef struct Keep
{
	int			want;			/* keep the blob of this epoch */
	void	   *blob;
	size_t		len;
	int			calls;
	int			last;
	double		clock;			/* the fake clock: +1 s per call */
} Keep;

static void
KeepBlob(void *ctx, int epoch, const void *blob, size_t len)
{
	Keep	   *k = ctx;

	k->calls++;
	k->last = epoch;
	if (epoch == k->want)
	{
		free(k->blob);
		k->blob = malloc(len);
		memcpy(k->blob, blob, len);
		k->len = len;
	}
}

static double
KeepNow(void *ctx)
{
	return ((Keep *) ctx)->clock += 1.0;
}

/* A fit of a copy of img; the trained image is returned (malloc). */
static void *
RunFit(const void *img, size_t len, const HnRows *rows,
	   const HnTrainOptions *opt, Keep *keep, size_t *out_len,
	   HnTrainResult *res, HnStatus *st, HnError *err)
{
	HnNet		net;
	void	   *buf = TestCopy(img, len);
	HnCallbacks cb;

	memset(&cb, 0, sizeof(cb));
	if (keep != NULL)
	{
		cb.ctx = keep;
		cb.checkpoint = KeepBlob;
	}
	NetBindTrusted(&net, buf);
	*st = HnFit(&net, rows, opt, NULL, &cb, &HnMallocAllocator, res, err);
	*out_len = net.len;
	return net.hdr;
}

/*
 * The fit of `what` three ways: uninterrupted; with checkpoints every
 * epoch (the same bytes); resumed from the checkpoint of epoch k (the
 * same bytes).  Returns the blob of epoch k (caller frees) for more tests.
 */
static void *
CheckResume(const char *what, const void *img, size_t len, const HnRows *rows,
			HnTrainOptions *opt, int k, size_t *blob_len)
{
	HnTrainResult ra;
	HnTrainResult rb;
	HnTrainResult rc;
	HnError		err;
	HnStatus	sa;
	HnStatus	sb;
	HnStatus	sc;
	size_t		la;
	size_t		lb;
	size_t		lc;
	Keep		keep;
	void	   *a;
	void	   *b;
	void	   *c;

	memset(&keep, 0, sizeof(keep));
	keep.want = k;
	a = RunFit(img, len, rows, opt, NULL, &la, &ra, &sa, &err);
	if (sa != HANAMI_OK)
		TestNote("%s: %s", what, err.message);
	opt->checkpoint_every = 1;
	b = RunFit(img, len, rows, opt, &keep, &lb, &rb, &sb, &err);
	CHECK(sa == HANAMI_OK && sb == HANAMI_OK && la == lb &&
		  memcmp(a, b, la) == 0 && keep.blob != NULL &&
		  rb.checkpoints == ra.epochs - 1 && keep.last == ra.epochs - 1,
		  "%s: checkpoints after every epoch but the last (%d) change nothing",
		  what, rb.checkpoints);
	opt->resume = keep.blob;
	opt->resume_len = keep.len;
	c = RunFit(img, len, rows, opt, NULL, &lc, &rc, &sc, &err);
	if (!CHECK(sc == HANAMI_OK && lc == la && memcmp(a, c, la) == 0 &&
			   rc.resumed_epoch == k && !rc.resume_inexact &&
			   !rc.resume_rows_changed && rc.epochs == ra.epochs &&
			   rc.iterations == ra.iterations && rc.loss == ra.loss &&
			   rc.stop == ra.stop && rc.best_epoch == ra.best_epoch &&
			   rc.restored == ra.restored,
			   "%s: resumed after epoch %d of %d, the bytes of the fit never interrupted (%zu)",
			   what, k, ra.epochs, la))
		TestNote("status %d (%s), len %zu vs %zu, resumed %d, epochs %d vs %d",
				 (int) sc, sc == HANAMI_OK ? "" : err.message, lc, la,
				 rc.resumed_epoch, rc.epochs, ra.epochs);
	opt->resume = NULL;
	opt->resume_len = 0;
	opt->checkpoint_every = 0;
	free(a);
	free(b);
	free(c);
	*blob_len = keep.len;
	return keep.blob;
}

/* The checksum of a blob changed on purpose, made right again. */
static void
Reseal(void *blob, size_t len)
{
	uint64_t	sum = HnHash64(blob, len - 8, 0);

	memcpy((char *) blob + len - 8, &sum, 8);
}

/* Refusals: damaged, truncated, of other options or another network. */
static void
CheckRefusals(const void *img, size_t len, const HnRows *rows,
			  HnTrainOptions *opt, const void *blob, size_t blen)
{
	HnTrainResult r;
	HnError		err;
	HnStatus	st;
	size_t		lo;
	void	   *out;
	void	   *bad = TestCopy(blob, blen);
	void	   *other;
	uint64_t	seed = 77;
	int			crashes = 0;
	int			accepted = 0;

	opt->resume = bad;
	opt->resume_len = blen;
	((char *) bad)[blen / 2] ^= 0x10;
	out = RunFit(img, len, rows, opt, NULL, &lo, &r, &st, &err);
	CHECK(st == HANAMI_E_INVALID_FORMAT && strstr(err.message, "checksum"),
		  "a damaged checkpoint is refused: %s", st ? err.message : "accepted");
	free(out);
	memcpy(bad, blob, blen);
	opt->resume_len = blen - 100;
	out = RunFit(img, len, rows, opt, NULL, &lo, &r, &st, &err);
	CHECK(st == HANAMI_E_INVALID_FORMAT && strstr(err.message, "length"),
		  "a truncated checkpoint is refused: %s", st ? err.message : "accepted");
	free(out);
	opt->resume_len = 10;
	out = RunFit(img, len, rows, opt, NULL, &lo, &r, &st, &err);
	CHECK(st == HANAMI_E_INVALID_FORMAT, "ten bytes are no checkpoint: %s",
		  st ? err.message : "accepted");
	free(out);
	opt->resume_len = blen;
	opt->seed++;
	out = RunFit(img, len, rows, opt, NULL, &lo, &r, &st, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT && strstr(err.message, "options"),
		  "a checkpoint of other options is refused: %s", st ? err.message : "accepted");
	free(out);
	opt->seed--;
	opt->checkpoint_key = 12345;
	out = RunFit(img, len, rows, opt, NULL, &lo, &r, &st, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT,
		  "a checkpoint made for another job (checkpoint_key) is refused");
	free(out);
	opt->checkpoint_key = 0;
	other = TestCopy(img, len);
	((HnHeader *) other)->epochs += 1;
	out = RunFit(other, len, rows, opt, NULL, &lo, &r, &st, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT && strstr(err.message, "network"),
		  "a checkpoint of a fit from another network is refused: %s",
		  st ? err.message : "accepted");
	free(out);
	free(other);
	/* forged: random bytes changed and the checksum made right; never a crash */
	for (int i = 0; i < 300; i++)
	{
		size_t		at;

		memcpy(bad, blob, blen);
		for (int j = 0; j < 1 + i % 4; j++)
		{
			at = 24 + (size_t) (TestUniform(&seed, 0.0f, 1.0f) * (float) (blen - 32));
			if (at >= blen - 8)
				at = blen - 9;
			((unsigned char *) bad)[at] ^= (unsigned char) (1 + (i * 37 + j) % 255);
		}
		Reseal(bad, blen);
		out = RunFit(img, len, rows, opt, NULL, &lo, &r, &st, &err);
		if (st == HANAMI_OK)
			accepted++;
		else if (st != HANAMI_E_INVALID_FORMAT && st != HANAMI_E_INVALID_ARGUMENT &&
				 st != HANAMI_E_UNSUPPORTED && st != HANAMI_E_DIVERGED &&
				 st != HANAMI_E_INVALID_SPEC && st != HANAMI_E_NOT_FINITE &&
				 st != HANAMI_E_TOO_LARGE)
			crashes++;
		free(out);
	}
	CHECK(crashes == 0,
		  "300 forged checkpoints (checksum right): each refused cleanly or trains (%d trained)",
		  accepted);
	opt->resume = NULL;
	opt->resume_len = 0;
	free(bad);
}

/* Dense networks: adam, sgd with momentum, early stopping. */
static void
TestCheckpointDense(void)
{
	static const uint32_t counts[] = {4, 9, 7, 3};
	HnDataset	ds;
	HnDataset	ds2;
	float	   *x;
	float	   *x2;
	int32_t    *cls;
	int32_t    *cls2;
	TestNet		tn;
	HnRows		rows;
	HnRows		rows2;
	HnTrainOptions opt;
	HnTrainResult r;
	HnError		err;
	HnStatus	st;
	size_t		blen;
	size_t		lo;
	void	   *blob;
	void	   *out;
	Keep		keep;

	TestMakeData(&ds, &x, &cls, 150, 5);
	rows = (HnRows) {&ds, NULL, 0, NULL};
	TestNetMake(&tn, 4, counts, NULL, HANAMI_LOSS_DEFAULT, 3, true);

	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 9;
	opt.batch_size = 16;
	opt.seed = 4;
	opt.checkpoint_every = 0;
	blob = CheckResume("dense adam", tn.buf, tn.len, &rows, &opt, 4, &blen);

	/* more of the same blob: refusals */
	if (blob != NULL)
		CheckRefusals(tn.buf, tn.len, &rows, &opt, blob, blen);

	/* other rows: resumed anyway, and said */
	TestMakeData(&ds2, &x2, &cls2, 150, 6);
	rows2 = (HnRows) {&ds2, NULL, 0, NULL};
	opt.resume = blob;
	opt.resume_len = blen;
	out = RunFit(tn.buf, tn.len, &rows2, &opt, NULL, &lo, &r, &st, &err);
	CHECK(st == HANAMI_OK && r.resume_rows_changed && r.resumed_epoch == 4 &&
		  r.epochs == 9,
		  "rows that changed since the checkpoint: resumed, and said");
	free(out);
	ds2.n = 120;
	out = RunFit(tn.buf, tn.len, &rows2, &opt, NULL, &lo, &r, &st, &err);
	CHECK(st == HANAMI_OK && r.resume_rows_changed && r.resumed_epoch == 4,
		  "fewer rows than at the checkpoint: resumed with a fresh order, and said");
	free(out);
	opt.resume = NULL;
	opt.resume_len = 0;
	free(blob);

	/* sgd with momentum: the velocities are saved */
	TrainOptionsDefaults(&opt, HANAMI_OPT_SGD);
	opt.epochs = 8;
	opt.batch_size = 8;
	opt.seed = 2;
	opt.checkpoint_every = 0;
	blob = CheckResume("dense sgd+momentum", tn.buf, tn.len, &rows, &opt, 3, &blen);
	free(blob);

	/* shuffling off, validation split, early stopping, restore_best */
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 60;
	opt.batch_size = 4;
	opt.seed = 8;
	opt.optim.learning_rate = 0.05f;
	opt.validation_split = 0.3;
	opt.patience = 4;
	opt.restore_best = true;
	opt.checkpoint_every = 0;
	blob = CheckResume("dense early stopping + restore_best", tn.buf, tn.len,
					   &rows, &opt, 3, &blen);
	free(blob);

	/* the interval: checkpoints by the clock, none by epochs */
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 6;
	opt.checkpoint_every = 0;
	opt.checkpoint_interval = 1000.0;
	memset(&keep, 0, sizeof(keep));
	{
		HnNet		net;
		HnCallbacks cb = {&keep, NULL, NULL, KeepNow, NULL, KeepBlob};
		void	   *buf = TestCopy(tn.buf, tn.len);

		NetBindTrusted(&net, buf);
		st = HnFit(&net, &rows, &opt, NULL, &cb, &HnMallocAllocator, &r, &err);
		CHECK(st == HANAMI_OK && r.checkpoints == 0,
			  "checkpoint_interval: none before the interval passed");
		memcpy(buf, tn.buf, tn.len);
		opt.checkpoint_interval = 1.0;
		st = HnFit(&net, &rows, &opt, NULL, &cb, &HnMallocAllocator, &r, &err);
		CHECK(st == HANAMI_OK && r.checkpoints == 5,
			  "checkpoint_interval: after every epoch when each takes longer (%d)",
			  r.checkpoints);
		memcpy(buf, tn.buf, tn.len);
		opt.checkpoint_interval = 0;
		st = HnFit(&net, &rows, &opt, NULL, &cb, &HnMallocAllocator, &r, &err);
		CHECK(st == HANAMI_OK && r.checkpoints == 0,
			  "checkpoint_every and checkpoint_interval 0: no checkpoints");
		opt.checkpoint_every = -1;
		st = HnFit(&net, &rows, &opt, NULL, &cb, &HnMallocAllocator, &r, &err);
		CHECK(st == HANAMI_E_INVALID_ARGUMENT && strstr(err.message, "checkpoint_every"),
			  "a negative checkpoint_every is refused by the driver too");
		opt.checkpoint_every = 0;
		free(buf);
	}
	free(keep.blob);
	TestNetFree(&tn);
	free(x);
	free(cls);
	free(x2);
	free(cls2);
}

/* The growing kind: the image grows between the checkpoint and the end. */
static void
TestCheckpointGrowing(void)
{
	HkSpec	   *spec = calloc(1, sizeof(HkSpec));
	HnDataset	ds;
	float	   *x;
	int32_t    *cls;
	HnRows		rows;
	HnTrainOptions opt;
	HkTrainOptions hk;
	HnNet		hn;
	HnError		err;
	size_t		len = 0;
	size_t		blen = 0;
	void	   *img;
	void	   *blob;

	TestMakeData(&ds, &x, &cls, 90, 9);
	rows = (HnRows) {&ds, NULL, 0, NULL};
	spec->cells[0] = (HkCellSpec) {0, 0, 0, HK_CELL_INPUT, 4, -1, "in"};
	spec->cells[1] = (HkCellSpec) {1, 0, 0, HK_CELL_HIDDEN, 24, -1, ""};
	spec->cells[2] = (HkCellSpec) {2, 0, 0, HK_CELL_OUTPUT, 3, -1, "out"};
	spec->n_cells = 3;
	spec->seed = 5;
	if (HkSpecFinalize(spec, &err) == HANAMI_OK)
		len = HkSpecImageSize(spec, &err);
	img = malloc(len);
	HkCreate(img, len, spec, 0, &err);
	NetBindTrusted(&hn, img);
	HkTrainOptionsDefaults(&opt, &hk, HkOf(&hn));
	opt.epochs = 6;
	opt.seed = 21;
	opt.checkpoint_every = 0;
	blob = CheckResume("growing network", img, len, &rows, &opt, 2, &blen);
	if (blob != NULL)
	{
		HnCheckpoint ck;
		HnStatus	st = HnCheckpointRead(blob, blen, &ck, &err);

		CHECK(st == HANAMI_OK &&
			  ck.image_len > len && strcmp(ck.stepper, "hanami") == 0 &&
			  (ck.flags & HN_CKPT_STEPPER),
			  "growing network: the checkpoint holds the grown image (%llu bytes from %zu)",
			  (unsigned long long) ck.image_len, len);
		CheckRefusals(img, len, &rows, &opt, blob, blen);
	}
	free(blob);
	free(img);
	free(spec);
	free(x);
	free(cls);
}

void
TestCheckpointSuite(void)
{
	TestCheckpointDense();
	TestCheckpointGrowing();
}
