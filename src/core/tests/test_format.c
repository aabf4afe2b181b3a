/*
 * test_format.c - unit tests of specs and the binary image: defaults and
 * rejections of DenseSpecFinalize, DenseCreate's output, and DenseBind against
 * truncation, targeted mutations and random corruption.
 */
#include "harness.h"

#include <limits.h>
#include <stdlib.h>

#include "core/kind.h"
#include "core/rng.h"

/* Fill a spec with n layers of the given counts and default activations. */
static void
SpecInit(DenseSpec *spec, int n, const uint32_t *counts)
{
	memset(spec, 0, sizeof(*spec));
	spec->n_layers = n;
	for (int l = 0; l < n && l < HANAMI_MAX_LAYERS; l++)
		spec->layers[l].count = counts[l];
}

/* Expect DenseSpecFinalize to fail with code and a message containing text. */
static void
ExpectSpecError(DenseSpec *spec, HnStatus code, const char *text,
				const char *what)
{
	HnError		err;
	HnStatus	st = DenseSpecFinalize(spec, &err);

	if (!CHECK(st == code && strstr(err.message, text) != NULL &&
			   err.message[strlen(err.message) - 1] != '.',
			   "spec rejects %s", what))
		TestNote("status %d, message \"%s\"", (int) st,
				 st == HANAMI_OK ? "" : err.message);
}

/* DenseSpecFinalize: defaults and every rejection. */
static void
TestSpec(void)
{
	static const uint32_t c3[] = {4, 3, 2};
	static const uint32_t c1[] = {4, 3, 1};
	DenseSpec		spec;
	HnError		err;
	uint32_t	many[HANAMI_MAX_LAYERS + 1];

	for (int i = 0; i <= HANAMI_MAX_LAYERS; i++)
		many[i] = 2;

	SpecInit(&spec, 3, c3);
	CHECK(DenseSpecFinalize(&spec, &err) == HANAMI_OK &&
		  spec.layers[0].activation == HANAMI_ACT_IDENTITY &&
		  spec.layers[1].activation == HANAMI_ACT_RELU &&
		  spec.layers[2].activation == HANAMI_ACT_SOFTMAX &&
		  spec.loss == HANAMI_LOSS_CROSS_ENTROPY,
		  "spec defaults: relu hidden, softmax output, cross_entropy");
	SpecInit(&spec, 3, c1);
	CHECK(DenseSpecFinalize(&spec, &err) == HANAMI_OK &&
		  spec.layers[2].activation == HANAMI_ACT_IDENTITY &&
		  spec.loss == HANAMI_LOSS_MSE,
		  "spec defaults: single output is identity with mse");
	SpecInit(&spec, 3, c1);
	spec.layers[2].activation = HANAMI_ACT_SIGMOID;
	CHECK(DenseSpecFinalize(&spec, &err) == HANAMI_OK &&
		  spec.loss == HANAMI_LOSS_CROSS_ENTROPY,
		  "spec defaults: sigmoid output gets cross_entropy");
	SpecInit(&spec, HANAMI_MAX_LAYERS, many);
	CHECK(DenseSpecFinalize(&spec, &err) == HANAMI_OK,
		  "spec accepts %d layers", HANAMI_MAX_LAYERS);

	SpecInit(&spec, 1, c3);
	ExpectSpecError(&spec, HANAMI_E_INVALID_SPEC, "1 layers", "one layer");
	SpecInit(&spec, HANAMI_MAX_LAYERS + 1, many);
	ExpectSpecError(&spec, HANAMI_E_INVALID_SPEC, "65 layers", "65 layers");
	SpecInit(&spec, INT_MAX, many);
	ExpectSpecError(&spec, HANAMI_E_INVALID_SPEC, "layers", "INT_MAX layers");
	SpecInit(&spec, 3, c3);
	spec.layers[2].count = 0;
	ExpectSpecError(&spec, HANAMI_E_INVALID_SPEC, "layer 2 has 0 units",
					"a layer of 0 units");
	SpecInit(&spec, 3, c3);
	spec.layers[1].count = HANAMI_MAX_UNITS + 1;
	ExpectSpecError(&spec, HANAMI_E_INVALID_SPEC, "layer 1 has too many units",
					"a layer over the unit limit");
	SpecInit(&spec, 3, c3);
	spec.layers[1].count = UINT32_MAX;
	ExpectSpecError(&spec, HANAMI_E_INVALID_SPEC, "too many units",
					"UINT32_MAX units");
	SpecInit(&spec, 3, c3);
	spec.layers[0].activation = HANAMI_ACT_RELU;
	ExpectSpecError(&spec, HANAMI_E_INVALID_SPEC, "input layer",
					"an activation on the input layer");
	SpecInit(&spec, 3, c3);
	spec.layers[1].activation = HANAMI_ACT_SOFTMAX;
	ExpectSpecError(&spec, HANAMI_E_INVALID_SPEC, "layer 1", "a hidden softmax");
	SpecInit(&spec, 3, c1);
	spec.layers[2].activation = HANAMI_ACT_SOFTMAX;
	ExpectSpecError(&spec, HANAMI_E_INVALID_SPEC, "at least 2 units",
					"a one-unit softmax");
	SpecInit(&spec, 3, c3);
	spec.layers[1].activation = (HnActivation) 99;
	ExpectSpecError(&spec, HANAMI_E_INVALID_SPEC, "invalid activation",
					"an unknown activation");
	SpecInit(&spec, 3, c3);
	spec.layers[2].activation = HANAMI_ACT_TANH;
	spec.loss = HANAMI_LOSS_CROSS_ENTROPY;
	ExpectSpecError(&spec, HANAMI_E_INVALID_SPEC, "cross_entropy",
					"cross_entropy on a tanh output");
	SpecInit(&spec, 3, c3);
	spec.loss = (HnLoss) 7;
	ExpectSpecError(&spec, HANAMI_E_INVALID_SPEC, "invalid loss",
					"an unknown loss");
	SpecInit(&spec, 3, c3);
	strcpy(spec.layers[0].name, "in");
	strcpy(spec.layers[2].name, "in");
	ExpectSpecError(&spec, HANAMI_E_INVALID_SPEC, "\"in\" is used twice",
					"duplicate layer names");
	SpecInit(&spec, 3, c3);
	memset(spec.layers[1].name, 'x', HANAMI_NAME_LEN);
	ExpectSpecError(&spec, HANAMI_E_INVALID_SPEC, "too long",
					"a name without NUL");
	SpecInit(&spec, 3, c3);
	strcpy(spec.layers[1].name, "a\tb");
	ExpectSpecError(&spec, HANAMI_E_INVALID_SPEC, "non-printable",
					"a name with a tab");
	CHECK(HnKindByName("hanami") == HnKindById(HANAMI_KIND_HANAMI) &&
		  HnKindByName("dense") == HnKindById(HANAMI_KIND_DENSE) &&
		  HnKindById(HANAMI_KIND_DENSE)->id == HANAMI_KIND_DENSE &&
		  strcmp(NetKindName(HANAMI_KIND_HANAMI), "hanami") == 0,
		  "the registry finds each kind by id and by name");
	CHECK(HnKindById(9) == NULL && HnKindByName("layers") == NULL &&
		  NetKindName(0) == NULL && HnKindAt(HnKindCount()) == NULL,
		  "the registry knows no other kind");
	{
		static const uint32_t big[] = {HANAMI_MAX_UNITS, HANAMI_MAX_UNITS, 2};

		SpecInit(&spec, 3, big);
		ExpectSpecError(&spec, HANAMI_E_TOO_LARGE, "too large",
						"an image over the size limit");
	}
	{
		/* the largest count of a single layer above 2^20 x 2^20 overflows
		 * nothing: 64 layers of 2^20 is checked without wrapping */
		uint32_t	huge[HANAMI_MAX_LAYERS];

		for (int i = 0; i < HANAMI_MAX_LAYERS; i++)
			huge[i] = HANAMI_MAX_UNITS;
		SpecInit(&spec, HANAMI_MAX_LAYERS, huge);
		ExpectSpecError(&spec, HANAMI_E_TOO_LARGE, "too large",
						"64 layers of the maximum width");
	}
}

/* Expect DenseBind to reject buf with a message containing text. */
static bool
ExpectBindError(void *buf, size_t len, const char *text, const char *what)
{
	DenseNet		net;
	HnError		err;
	void	   *copy = TestCopy(buf, len);
	HnStatus	st = DenseBind(&net, copy, len, &err);
	bool		ok = st == HANAMI_E_INVALID_FORMAT &&
		strstr(err.message, text) != NULL &&
		err.message[strlen(err.message) - 1] != '.' &&
		err.message[0] >= 'a' && err.message[0] <= 'z';

	if (!CHECK(ok, "bind rejects %s", what))
		TestNote("status %d, message \"%s\"", (int) st,
				 st == HANAMI_OK ? "" : err.message);
	free(copy);
	return ok;
}

/* A small network image to mutate. */
static TestNet
SmallNet(void)
{
	static const uint32_t counts[] = {4, 3, 2};
	static const HnActivation acts[] = {0, HANAMI_ACT_TANH, HANAMI_ACT_SOFTMAX};
	TestNet		tn;

	TestNetMake(&tn, 3, counts, acts, HANAMI_LOSS_DEFAULT, 5, true);
	strcpy(tn.net.layers[1].name, "hidden");
	return tn;
}

/* DenseCreate images bind and hold what the spec asked for. */
static void
TestBindAccepts(void)
{
	TestNet		tn = SmallNet();
	DenseNet		net;
	HnError		err;
	void	   *copy = TestCopy(tn.buf, tn.len);
	HnStatus	st = DenseBind(&net, copy, tn.len, &err);
	bool		weights_ok = true;
	double		sum = 0.0,
				sumsq = 0.0;
	static const uint32_t wide_c[] = {400, 300, 1};
	TestNet		wide;

	if (!CHECK(st == HANAMI_OK, "bind accepts DenseCreate's image"))
	{
		TestNote("%s", err.message);
		DenseBindTrusted(&net, copy);
	}
	CHECK(tn.len == sizeof(HnHeader) + 3 * sizeof(DenseLayer) + 4 * (2 * 4 + 2 * 2) +
		  4 * (4 * 3 + 3 + 3 * 2 + 2) &&
		  net.hdr->n_params == 23 && net.layers[2].param_offset == 15 &&
		  net.hdr->total_size == tn.len && net.hdr->flags == HANAMI_FLAG_SCALE_INPUT &&
		  net.hdr->seed == 5,
		  "create: sizes, offsets, flags and seed in the header");
	for (int i = 0; i < 4; i++)
		weights_ok &= net.in_shift[i] == 0.0f && net.in_mul[i] == 1.0f;
	for (int j = 0; j < 3; j++)
		weights_ok &= DenseBias(&net, 1)[j] == 0.0f;
	CHECK(weights_ok, "create: identity scaling and zero biases");
	CHECK(DenseMaxWidth(&net) == 4, "DenseMaxWidth");
	CHECK(strcmp(NetKindName(HANAMI_KIND_DENSE), "dense") == 0 &&
		  NetKindName(7) == NULL, "NetKindName");
	free(copy);
	TestNetFree(&tn);

	/* init scale: relu gets He (var 2/fan_in) */
	{
		static const HnActivation acts[] = {0, HANAMI_ACT_RELU, HANAMI_ACT_IDENTITY};
		TestNet		a,
					b;
		size_t		nw = 400 * 300;
		float	   *w;

		TestNetMake(&wide, 3, wide_c, acts, HANAMI_LOSS_DEFAULT, 1, false);
		w = DenseWeights(&wide.net, 1);
		for (size_t i = 0; i < nw; i++)
		{
			sum += w[i];
			sumsq += (double) w[i] * w[i];
		}
		CHECK(fabs(sum / nw) < 0.005 && TestClose(sumsq / nw, 2.0 / 400, 0, 0.03),
			  "create: relu weights have variance 2/fan_in (%g)", sumsq / nw);
		TestNetMake(&a, 3, wide_c, acts, HANAMI_LOSS_DEFAULT, 1, false);
		TestNetMake(&b, 3, wide_c, acts, HANAMI_LOSS_DEFAULT, 2, false);
		CHECK(memcmp(a.buf, wide.buf, a.len) == 0 &&
			  memcmp(DenseWeights(&a.net, 1), DenseWeights(&b.net, 1), 64) != 0,
			  "create: same seed gives the same image, another seed another");
		TestNetFree(&a);
		TestNetFree(&b);
		TestNetFree(&wide);
	}
}

/* DenseBind rejects targeted mutations, truncations and corruption. */
static void
TestBindRejects(void)
{
	TestNet		tn = SmallNet();
	size_t		len = tn.len;
	char	   *m = malloc(len);
	DenseNet		n;
	HnHeader   *h;
	DenseLayer    *lay;
	HnError		err;
	bool		all = true;

#define RESET() (memcpy(m, tn.buf, len), DenseBindTrusted(&n, m), h = n.hdr, lay = n.layers)

	RESET();
	h->magic ^= 1;
	ExpectBindError(m, len, "magic", "a bad magic number");
	RESET();
	h->version = 3;
	ExpectBindError(m, len, "version 3", "an unknown version");
	RESET();
	h->version = 2;
	ExpectBindError(m, len, "dtype", "version 2 without a weight dtype");
	RESET();
	h->kind = HANAMI_KIND_HANAMI;
	ExpectBindError(m, len, "network value",
					"a dense image relabelled as the hanami kind");
	RESET();
	h->kind = 0;
	ExpectBindError(m, len, "kind", "kind 0");
	RESET();
	h->header_size = 64;
	ExpectBindError(m, len, "header size", "a wrong header size");
	RESET();
	h->flags |= 0x100;
	ExpectBindError(m, len, "unknown flags", "unknown flags");
	RESET();
	h->total_size = len + 4;
	ExpectBindError(m, len, "size does not match its header", "a total_size mismatch");
	RESET();
	h->reserved[1] = 1;
	ExpectBindError(m, len, "reserved", "a nonzero reserved header field");
	RESET();
	h->n_layers = 1;
	ExpectBindError(m, len, "layer count", "one layer");
	RESET();
	h->n_layers = INT_MAX;
	ExpectBindError(m, len, "layer count", "INT_MAX layers");
	RESET();
	h->n_layers = 4;
	ExpectBindError(m, len, "", "one layer more than stored");
	RESET();
	h->loss = 9;
	ExpectBindError(m, len, "invalid loss", "an unknown loss");
	RESET();
	h->loss = HANAMI_LOSS_CROSS_ENTROPY;
	lay[2].activation = HANAMI_ACT_IDENTITY;
	ExpectBindError(m, len, "cross_entropy", "cross_entropy on an identity output");
	RESET();
	lay[1].count = 0;
	ExpectBindError(m, len, "layer 1 has 0 units", "a layer of 0 units");
	RESET();
	lay[1].count = INT_MAX;
	ExpectBindError(m, len, "too many units", "a layer of INT_MAX units");
	RESET();
	lay[1].count = HANAMI_MAX_UNITS;
	ExpectBindError(m, len, "", "a layer count that does not fit the size");
	RESET();
	lay[1].activation = 77;
	ExpectBindError(m, len, "invalid activation", "an unknown activation");
	RESET();
	lay[1].activation = 0;
	ExpectBindError(m, len, "invalid activation", "activation 0 (default)");
	RESET();
	lay[0].activation = HANAMI_ACT_RELU;
	ExpectBindError(m, len, "input layer", "an activation on layer 0");
	RESET();
	lay[1].activation = HANAMI_ACT_SOFTMAX;
	ExpectBindError(m, len, "layer 1 cannot have activation \"softmax\"",
					"a hidden softmax");
	RESET();
	lay[2].reserved16 = 1;
	ExpectBindError(m, len, "reserved", "a nonzero layer reserved field");
	RESET();
	memset(lay[1].name, 'a', HANAMI_NAME_LEN);
	ExpectBindError(m, len, "too long", "a name without NUL");
	RESET();
	lay[1].name[2] = 0x7f;
	ExpectBindError(m, len, "non-printable", "a name with DEL");
	RESET();
	lay[1].name[2] = (char) 0xc3;
	ExpectBindError(m, len, "non-printable", "a name with a high byte");
	RESET();
	lay[1].name[20] = 'z';
	ExpectBindError(m, len, "zero-padded", "garbage after a name's NUL");
	RESET();
	strcpy(lay[2].name, "hidden");
	ExpectBindError(m, len, "used twice", "duplicate names");
	RESET();
	lay[0].param_offset = 1;
	ExpectBindError(m, len, "parameter layout", "a nonzero offset on layer 0");
	RESET();
	lay[2].param_offset -= 1;
	ExpectBindError(m, len, "parameter layout", "overlapping parameters");
	RESET();
	lay[2].param_offset = UINT64_MAX;
	ExpectBindError(m, len, "parameter layout", "a huge offset");
	RESET();
	h->n_params += 1;
	ExpectBindError(m, len, "parameter count", "a wrong parameter count");
	RESET();
	h->n_params = UINT64_MAX;
	ExpectBindError(m, len, "parameter count", "UINT64_MAX parameters");
	RESET();
	h->n_inputs = 5;
	ExpectBindError(m, len, "does not match its layers", "n_inputs unlike layer 0");
	RESET();
	n.in_shift[1] = NAN;
	ExpectBindError(m, len, "in_shift[1] is not finite", "NaN in in_shift");
	RESET();
	n.out_shift[0] = INFINITY;
	ExpectBindError(m, len, "out_shift[0] is not finite", "infinity in out_shift");
	RESET();
	n.in_mul[3] = 0.0f;
	ExpectBindError(m, len, "in_mul[3] is zero", "a zero in_mul");
	RESET();
	n.out_mul[1] = -0.0f;
	ExpectBindError(m, len, "out_mul[1] is zero", "a zero out_mul");
	RESET();
	DenseWeights(&n, 2)[3] = NAN;
	ExpectBindError(m, len, "parameter 3 of layer 2 is not finite", "a NaN weight");
	RESET();
	DenseBias(&n, 1)[2] = -INFINITY;
	ExpectBindError(m, len, "parameter 14 of layer 1 is not finite",
					"an infinite bias");

	/* a value grown or shrunk by whole floats with total_size to match */
	{
		char	   *big = calloc(1, len + 8);

		memcpy(big, tn.buf, len);
		((HnHeader *) big)->total_size = len + 8;
		ExpectBindError(big, len + 8, "does not match its layers",
						"trailing bytes");
		free(big);
	}

	/* every truncation, with and without a matching total_size */
	for (size_t cut = 0; cut < len; cut++)
	{
		char	   *t = malloc(cut > 0 ? cut : 1);

		memcpy(t, tn.buf, cut);
		if (DenseBind(&n, t, cut, &err) != HANAMI_E_INVALID_FORMAT)
			all = false;
		if (cut >= sizeof(HnHeader))
		{
			((HnHeader *) t)->total_size = cut;
			if (DenseBind(&n, t, cut, &err) != HANAMI_E_INVALID_FORMAT)
				all = false;
		}
		free(t);
	}
	CHECK(all, "bind rejects every truncation of a %zu-byte image", len);

	/* random corruption: never a crash; header damage never passes */
	{
		HnRng		rng;
		int			accepted = 0,
					rejected = 0;
		bool		header_ok = true;

		RngSeed(&rng, 99);
		for (int iter = 0; iter < 4000; iter++)
		{
			int			flips = 1 + (int) RngBelow(&rng, 4);
			bool		touched_header = false;

			memcpy(m, tn.buf, len);
			for (int f = 0; f < flips; f++)
			{
				size_t		pos = (size_t) RngBelow(&rng, len);

				m[pos] ^= (char) (1 + RngBelow(&rng, 255));
			}
			/* header bytes whose every change must be caught: all but the
			 * flags, the low byte of the loss and seed/epochs/samples */
			for (size_t pos = 0; pos < sizeof(HnHeader); pos++)
				if (m[pos] != ((char *) tn.buf)[pos] &&
					!(pos >= 12 && pos < 16) && pos != 28 &&
					!(pos >= 48 && pos < 64))
					touched_header = true;
			if (DenseBind(&n, m, len, &err) == HANAMI_OK)
			{
				accepted++;
				if (touched_header)
					header_ok = false;
			}
			else
				rejected++;
		}
		CHECK(rejected > 0 && header_ok,
			  "bind survives 4000 random corruptions (%d rejected, %d still valid)",
			  rejected, accepted);
	}
	free(m);
	TestNetFree(&tn);
#undef RESET
}

/* DenseBind rejects random buffers. */
static void
TestBindGarbage(void)
{
	HnRng		rng;
	DenseNet		n;
	HnError		err;
	bool		none = true;

	/* random bytes behind a valid magic/version/kind: always rejected */
	RngSeed(&rng, 5);
	for (int iter = 0; iter < 2000; iter++)
	{
		size_t		len = (size_t) (RngBelow(&rng, 600) & ~(uint64_t) 3);
		uint32_t   *w = malloc(len > 0 ? len : 4);
		HnHeader   *h = (HnHeader *) w;

		for (size_t i = 0; i < len / 4; i++)
			w[i] = (uint32_t) RngNext(&rng);
		if (len >= sizeof(HnHeader) && iter % 2 == 0)
		{
			h->magic = HANAMI_MAGIC;
			h->version = HANAMI_FORMAT_VERSION;
			h->kind = HANAMI_KIND_DENSE;
			h->header_size = sizeof(HnHeader);
			h->flags &= HANAMI_FLAG_ALL;
			h->total_size = len;
			h->reserved[0] = h->reserved[1] = 0;
			h->n_layers = 2 + (uint32_t) RngBelow(&rng, 3);
		}
		if (DenseBind(&n, w, len, &err) == HANAMI_OK)
			none = false;
		free(w);
	}
	CHECK(none, "bind rejects 2000 random buffers");
}

/* Run the spec and format tests. */
void
TestFormatSuite(void)
{
	TestSpec();
	TestBindAccepts();
	TestBindRejects();
	TestBindGarbage();
}
