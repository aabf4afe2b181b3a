/*
 * test_online.c - unit tests of what online learning carries between fits:
 * the stepper's state handed from one fit to the next (two fits of halves
 * with the state carried give the weights of one fit of the whole), the
 * dense kind's scaling from running statistics, and the learner's state
 * blob (online.h): round trip, and damaged, truncated or forged blobs
 * refused without a crash.
 */
#include "harness.h"

#include <stdlib.h>

#include "core/checkpoint.h"
#include "core/fit.h"
#include "core/online.h"
#include "core/scaling.h"

/* What the stepper_state hook keeps. */
typedef struct Carry
{
	void	   *state;
	size_t		len;
	int			calls;
} Carry;

static void
KeepState(void *ctx, const void *state, size_t len)
{
	Carry	   *c = ctx;

	free(c->state);
	c->state = malloc(len);
	memcpy(c->state, state, len);
	c->len = len;
	c->calls++;
}

/* Rows first .. first+n-1 of ds, in order. */
static HnRows
Part(const HnDataset *ds, int64_t *order, int64_t first, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		order[i] = first + i;
	return (HnRows) {ds, order, n, NULL};
}

/* The weights and biases of two dense images agree (headers aside). */
static bool
SameParameters(const void *a, const void *b, size_t len)
{
	size_t		h = sizeof(HnHeader);

	return memcmp((const char *) a + h, (const char *) b + h, len - h) == 0;
}

static void
TestCarriedState(void)
{
	static const uint32_t counts[] = {4, 8, 3};
	HnDataset	ds;
	float	   *x;
	int32_t    *cls;
	int64_t		order[120];
	TestNet		tn;
	HnTrainOptions opt;
	HnTrainResult res;
	HnCallbacks cb;
	HnError		err;
	Carry		carry;
	HnNet		whole;
	HnNet		halves;
	HnNet		fresh;
	HnRows		rows;
	bool		ok = true;

	TestMakeData(&ds, &x, &cls, 120, 9);
	TestNetMake(&tn, 3, counts, NULL, HANAMI_LOSS_DEFAULT, 5, false);
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 1;
	opt.batch_size = 1;
	opt.shuffle = false;
	opt.checkpoint_every = 0;
	opt.checkpoint_interval = 0;
	memset(&cb, 0, sizeof(cb));
	memset(&carry, 0, sizeof(carry));
	cb.ctx = &carry;
	cb.stepper_state = KeepState;

	NetBindTrusted(&whole, TestCopy(tn.buf, tn.len));
	rows = Part(&ds, order, 0, 120);
	ok &= HnFit(&whole, &rows, &opt, NULL, NULL, &HnMallocAllocator, &res, &err) == HANAMI_OK;

	NetBindTrusted(&halves, TestCopy(tn.buf, tn.len));
	rows = Part(&ds, order, 0, 60);
	ok &= HnFit(&halves, &rows, &opt, NULL, &cb, &HnMallocAllocator, &res, &err) == HANAMI_OK;
	CHECK(ok && carry.calls == 1 && carry.len > 32,
		  "a fit hands its stepper's state to the hook once (%zu bytes)", carry.len);
	opt.stepper_state = carry.state;
	opt.stepper_state_len = carry.len;
	rows = Part(&ds, order, 60, 60);
	ok &= HnFit(&halves, &rows, &opt, NULL, &cb, &HnMallocAllocator, &res, &err) == HANAMI_OK;
	CHECK(ok && !res.stepper_fresh && SameParameters(whole.hdr, halves.hdr, tn.len),
		  "two fits of halves carrying adam's state give the weights of one fit of the whole");

	/* without the state: adam starts again, other weights */
	NetBindTrusted(&fresh, TestCopy(tn.buf, tn.len));
	opt.stepper_state = NULL;
	opt.stepper_state_len = 0;
	rows = Part(&ds, order, 0, 60);
	ok &= HnFit(&fresh, &rows, &opt, NULL, NULL, &HnMallocAllocator, &res, &err) == HANAMI_OK;
	rows = Part(&ds, order, 60, 60);
	ok &= HnFit(&fresh, &rows, &opt, NULL, NULL, &HnMallocAllocator, &res, &err) == HANAMI_OK;
	CHECK(ok && !SameParameters(whole.hdr, fresh.hdr, tn.len),
		  "without the carried state the second fit starts afresh (other weights)");

	/* a state that does not fit: dropped for a fresh one, said */
	{
		char	   *bad = TestCopy(carry.state, carry.len);
		HnNet		again;

		bad[0] ^= 1;
		NetBindTrusted(&again, TestCopy(tn.buf, tn.len));
		opt.stepper_state = bad;
		opt.stepper_state_len = carry.len;
		rows = Part(&ds, order, 0, 60);
		CHECK(HnFit(&again, &rows, &opt, NULL, NULL, &HnMallocAllocator, &res, &err) == HANAMI_OK &&
			  res.stepper_fresh,
			  "a carried state of another stepper is dropped for a fresh one");
		opt.stepper_state_len = 40;
		memcpy(bad, carry.state, 40);
		CHECK(HnFit(&again, &rows, &opt, NULL, NULL, &HnMallocAllocator, &res, &err) == HANAMI_OK &&
			  res.stepper_fresh,
			  "a truncated carried state is dropped for a fresh one");
		free(bad);
		free(again.hdr);
	}
	free(whole.hdr);
	free(halves.hdr);
	free(fresh.hdr);
	free(carry.state);
	TestNetFree(&tn);
	free(x);
	free(cls);
}

static void
TestRunningScaling(void)
{
	static const uint32_t counts[] = {4, 8, 3};
	HnDataset	ds;
	float	   *x;
	int32_t    *cls;
	float	   *xc;
	TestNet		tn;
	HnNet		net;
	HnColumnStats st;
	HnError		err;
	const HnKindFit *kf;
	DenseNet   *d;
	bool		ok = true;
	HnTrainOptions opt;
	HnRows		rows;
	float		shift0;

	TestMakeData(&ds, &x, &cls, 200, 3);
	xc = TestCopy(x, sizeof(float) * 200 * 4);
	for (int r = 0; r < 200; r++)
		xc[r * 4 + 3] = 2.5f;	/* a constant feature */
	ds.x = xc;
	TestNetMake(&tn, 3, counts, NULL, HANAMI_LOSS_DEFAULT, 5, true);
	NetBindTrusted(&net, tn.buf);
	kf = HnKindFitOf(&net, "trained", &err);
	CHECK(kf != NULL && kf->running_scaling != NULL,
		  "the dense kind takes its scaling from running statistics");
	StatsInit(&st, 4, &HnMallocAllocator, &err);
	for (int r = 0; r < 200; r++)
		StatsAdd(&st, xc + r * 4);
	kf->running_scaling(&net, &st, NULL);
	d = (DenseNet *) net.view.bytes;
	for (int i = 0; i < 3; i++)
	{
		double		sd = sqrt(st.m2[i] / 200.0);

		ok &= d->in_shift[i] == (float) st.mean[i] &&
			TestClose(d->in_mul[i], 1.0 / (HANAMI_SCALE_SD_RANGE * sd), 0, 1e-6);
	}
	CHECK(ok && d->in_shift[3] == 2.5f && d->in_mul[3] == 1.0f &&
		  (net.hdr->flags & HANAMI_FLAG_INPUT_FITTED) &&
		  (net.hdr->flags & HANAMI_FLAG_INPUT_CLIP),
		  "shift is the running mean, mul one over %.3f deviations, 1 for a constant feature; fitted",
		  HANAMI_SCALE_SD_RANGE);

	/* a fit then keeps it: nothing learnt first again */
	shift0 = d->in_shift[0];
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 1;
	rows = (HnRows) {&ds, NULL, 0, NULL};
	CHECK(HnFit(&net, &rows, &opt, NULL, NULL, &HnMallocAllocator, NULL, &err) == HANAMI_OK &&
		  d->in_shift[0] == shift0,
		  "a fit after it keeps the running scaling");
	StatsFree(&st, &HnMallocAllocator);
	TestNetFree(&tn);
	free(xc);
	free(x);
	free(cls);
}

static void
TestOnlineBlob(void)
{
	HnOnlineState s;
	HnOnlineState back;
	HnError		err;
	float		row[3] = {1.0f, -2.0f, 7.5f};
	float		row2[3] = {3.0f, 0.0f, 7.5f};
	char		stepper[50];
	size_t		len;
	unsigned char *blob;
	unsigned char *bad;
	uint64_t	seed = 11;
	int			accepted = 0;
	int			odd = 0;

	memset(&s, 0, sizeof(s));
	s.commit = 42;
	s.options_hash = 0x1234;
	StatsInit(&s.in, 3, &HnMallocAllocator, &err);
	StatsAdd(&s.in, row);
	StatsAdd(&s.in, row2);
	for (int i = 0; i < 50; i++)
		stepper[i] = (char) i;
	s.stepper = stepper;
	s.stepper_len = sizeof(stepper);
	len = HnOnlineSize(&s);
	blob = malloc(len);
	HnOnlineWrite(&s, blob, len);
	CHECK(HnOnlineRead(blob, len, &back, &HnMallocAllocator, &err) == HANAMI_OK &&
		  back.commit == 42 && back.options_hash == 0x1234 &&
		  back.in.n == 3 && back.in.count == 2 &&
		  memcmp(back.in.mean, s.in.mean, 24) == 0 &&
		  memcmp(back.in.m2, s.in.m2, 24) == 0 && back.out.n == 0 &&
		  back.stepper_len == 50 && memcmp(back.stepper, stepper, 50) == 0,
		  "an online state round-trips (%zu bytes)", len);
	StatsFree(&back.in, &HnMallocAllocator);
	StatsFree(&back.out, &HnMallocAllocator);

	bad = TestCopy(blob, len);
	bad[len / 2] ^= 4;
	CHECK(HnOnlineRead(bad, len, &back, &HnMallocAllocator, &err) == HANAMI_E_INVALID_FORMAT &&
		  strstr(err.message, "checksum"), "a damaged state is refused: %s", err.message);
	CHECK(HnOnlineRead(blob, len - 9, &back, &HnMallocAllocator, &err) == HANAMI_E_INVALID_FORMAT,
		  "a truncated state is refused");
	CHECK(HnOnlineRead(blob, 20, &back, &HnMallocAllocator, &err) == HANAMI_E_INVALID_FORMAT,
		  "twenty bytes are no state");
	for (int i = 0; i < 300; i++)
	{
		uint64_t	sum;
		HnStatus	st;

		memcpy(bad, blob, len);
		for (int j = 0; j < 1 + i % 3; j++)
		{
			size_t		at = 16 + (size_t) (TestUniform(&seed, 0.0f, 1.0f) * (float) (len - 24));

			if (at >= len - 8)
				at = len - 9;
			bad[at] ^= (unsigned char) (1 + (i * 31 + j) % 255);
		}
		sum = HnHash64(bad, len - 8, 0);
		memcpy(bad + len - 8, &sum, 8);
		st = HnOnlineRead(bad, len, &back, &HnMallocAllocator, &err);
		if (st != HANAMI_OK && st != HANAMI_E_INVALID_FORMAT)
			odd++;
		if (st == HANAMI_OK)
		{
			accepted++;
			for (uint32_t j = 0; j < back.in.n; j++)
				if (!isfinite(back.in.mean[j]) || !(back.in.m2[j] >= 0))
					odd++;
			StatsFree(&back.in, &HnMallocAllocator);
			StatsFree(&back.out, &HnMallocAllocator);
		}
	}
	CHECK(odd == 0,
		  "300 forged states (checksum right): refused as invalid, or read with finite statistics (%d accepted)",
		  accepted);
	free(bad);
	free(blob);
	StatsFree(&s.in, &HnMallocAllocator);
}

void
TestOnlineSuite(void)
{
	TestCarriedState();
	TestRunningScaling();
	TestOnlineBlob();
}
