/*
 * test_reshape.c - the kind operation reshape (kind.h, dense/reshape.c):
 * widening and adding layers keeps the outputs, unchanged layers keep their
 * bytes, removing and narrowing are reported, the same reshape gives the
 * same bytes, and bad descriptions are refused with a clear error.
 */
#include "harness.h"

#include <stdlib.h>

#include "core/dense/kind.h"
#include "core/fit.h"
#include "core/hanami/kind.h"
#include "core/json.h"
#include "core/kind.h"

/* A network from a JSON description, bound; NULL (with a note) on error. */
static void *
FromJson(const char *text, HnNet *net)
{
	HnJsonIn	in = {false, 0};
	HnError		err;
	void	   *img;
	size_t		len;

	if (NetFromJson(text, strlen(text), &in, &HnMallocAllocator, &img, &len,
					&err) != HANAMI_OK)
	{
		TestNote("network: %s", err.message);
		return NULL;
	}
	if (NetBind(net, img, len, &err) != HANAMI_OK)
	{
		TestNote("bind: %s", err.message);
		free(img);
		return NULL;
	}
	return img;
}

/* Give a dense network learned-looking scaling and biases. */
static void
Perturb(HnNet *net)
{
	DenseNet   *d = DenseOf(net);
	uint64_t	s = 77;

	for (uint32_t i = 0; i < d->hdr->n_inputs; i++)
	{
		d->in_shift[i] = TestUniform(&s, -1.0f, 1.0f);
		d->in_mul[i] = TestUniform(&s, 0.5f, 2.0f);
	}
	d->hdr->flags |= HANAMI_FLAG_INPUT_FITTED;
	for (uint32_t l = 1; l < d->hdr->n_layers; l++)
		for (uint32_t u = 0; u < d->layers[l].count; u++)
			DenseBias(d, (int) l)[u] = TestUniform(&s, -0.3f, 0.3f);
	d->hdr->epochs = 12;
	d->hdr->samples = 3456;
}

/* Outputs of net for n rows of x. */
static void
Run(HnNet *net, const float *x, int n, float *out)
{
	HnError		err;
	void	   *work = net->kind->work_create(net, n, &HnMallocAllocator, &err);

	net->kind->predict(net, work, x, n, out);
	net->kind->work_free(work, &HnMallocAllocator);
}

/*
 * Reshape net by the description text: the bound result in *out (its image
 * returned), the changes in *changes (malloc'ed); NULL with err set.
 */
static void *
Reshape(const HnNet *net, const char *text, HnNet *out, char **changes,
		HnError *err)
{
	HnJsonDoc	doc;
	HnBuf		buf;
	void	   *img = NULL;
	size_t		len;

	*changes = NULL;
	if (HnJsonParse(text, strlen(text), &HnMallocAllocator, &doc, err) != HANAMI_OK)
		return NULL;
	HnBufInit(&buf, &HnMallocAllocator);
	if (NetReshape(net, doc.root, &HnMallocAllocator, &img, &len, &buf,
				   err) == HANAMI_OK &&
		NetBind(out, img, len, err) == HANAMI_OK)
		*changes = strdup(buf.data);
	else
	{
		free(img);
		img = NULL;
	}
	HnBufFree(&buf);
	HnJsonFree(&doc);
	return img;
}

/* Largest |a - b| over n values. */
static double
MaxDiff(const float *a, const float *b, int n)
{
	double		m = 0;

	for (int i = 0; i < n; i++)
		if (fabs((double) a[i] - b[i]) > m)
			m = fabs((double) a[i] - b[i]);
	return m;
}

#define ROWS 16

/* Widening and deepening keep the outputs; the result trains on. */
static void
TestGrow(void)
{
	HnNet		old;
	HnNet		net;
	HnNet		again;
	HnError		err;
	float		x[ROWS * 4];
	float		want[ROWS * 3];
	float		got[ROWS * 3];
	uint64_t	s = 5;
	char	   *changes = NULL;
	char	   *changes2 = NULL;
	void	   *a = FromJson("{\"layers\": [4, 6, {\"count\": 5, \"name\": \"h2\"}, 3], \"seed\": 3}", &old);
	void	   *b;
	void	   *c;
	DenseNet   *d;
	DenseNet   *od;

	if (!CHECK(a != NULL, "a dense network to reshape"))
		return;
	Perturb(&old);
	for (int i = 0; i < ROWS * 4; i++)
		x[i] = TestUniform(&s, -3.0f, 3.0f);
	Run(&old, x, ROWS, want);

	b = Reshape(&old, "{\"layers\": [4, 10, {\"count\": 8, \"from\": null}, 5, 3]}", &net, &changes, &err);
	if (!CHECK(b != NULL, "widen layer 1 and add a layer after it"))
	{
		TestNote("%s (%s)", err.message, err.detail);
		free(a);
		return;
	}
	d = DenseOf(&net);
	od = DenseOf(&old);
	Run(&net, x, ROWS, got);
	CHECK(d->hdr->n_layers == 5 && d->layers[1].count == 10 &&
		  d->layers[2].count == 8 && d->layers[2].activation == HANAMI_ACT_RELU &&
		  strcmp(d->layers[3].name, "h2") == 0,
		  "the new layers: 10 units, an added relu layer of 8, h2 kept");
	CHECK(MaxDiff(want, got, ROWS * 3) <= 1e-6,
		  "the outputs are kept (max abs diff %.3g)", MaxDiff(want, got, ROWS * 3));
	CHECK(memcmp(d->in_shift, od->in_shift, 4 * sizeof(float)) == 0 &&
		  memcmp(d->in_mul, od->in_mul, 4 * sizeof(float)) == 0 &&
		  (d->hdr->flags & HANAMI_FLAG_INPUT_FITTED) &&
		  d->hdr->epochs == 12 && d->hdr->samples == 3456 &&
		  d->hdr->seed == od->hdr->seed,
		  "the learned input scaling, flags, counters and seed are kept");
	CHECK(memcmp(DenseWeights(d, 4), DenseWeights(od, 3),
				 sizeof(float) * (5 * 3 + 3)) == 0,
		  "the output layer, whose inputs did not change, keeps its bytes");
	CHECK(changes && strstr(changes, "\"change\": \"widened\"") &&
		  strstr(changes, "\"change\": \"added\"") &&
		  strstr(changes, "\"function_kept\": true"),
		  "the changes say widened, added, function kept: %s", changes);
	/* added units: zero outgoing weights, nonzero incoming ones */
	{
		bool		zero_out = true;
		bool		some_in = false;

		for (uint32_t i = 6; i < 10; i++)
			for (uint32_t u = 0; u < 6; u++)
				zero_out &= DenseWeights(d, 2)[i * 8 + u] == 0.0f;
		for (uint32_t i = 0; i < 4; i++)
			for (uint32_t u = 6; u < 10; u++)
				some_in |= DenseWeights(d, 1)[i * 10 + u] != 0.0f;
		CHECK(zero_out && some_in,
			  "added units have zero outgoing and random incoming weights");
	}
	c = Reshape(&old, "{\"layers\": [4, 10, {\"count\": 8, \"from\": null}, 5, 3]}", &again, &changes2, &err);
	CHECK(c != NULL && net.len == again.len && memcmp(b, c, net.len) == 0,
		  "the same reshape gives the same bytes");
	free(c);
	free(changes2);
	c = Reshape(&old, "{\"layers\": [4, 10, {\"count\": 8, \"from\": null}, 5, 3], \"seed\": 99}", &again, &changes2, &err);
	CHECK(c != NULL && memcmp(b, c, net.len) != 0 &&
		  strstr(changes2, "\"seed\": 99"),
		  "a seed in the description draws other new weights");
	free(c);
	free(changes2);

	/* nothing changed: every byte of the parameters is the old one */
	c = Reshape(&old, "{\"layers\": [4, 6, 5, 3]}", &again, &changes2, &err);
	CHECK(c != NULL && again.len == old.len &&
		  memcmp(DenseOf(&again)->params, od->params,
				 sizeof(float) * od->hdr->n_params) == 0 &&
		  strstr(changes2, "widened") == NULL,
		  "the same architecture keeps every parameter byte");
	free(c);
	free(changes2);
	free(changes);
	free(b);
	free(a);
}

/* Removing and narrowing change the function, and say so. */
static void
TestShrink(void)
{
	HnNet		old;
	HnNet		net;
	HnError		err;
	float		x[ROWS * 4];
	float		want[ROWS * 3];
	float		got[ROWS * 3];
	uint64_t	s = 9;
	char	   *changes;
	void	   *a = FromJson("{\"layers\": [4, 6, {\"count\": 5, \"activation\": \"identity\"}, 3], \"seed\": 4}", &old);
	void	   *b;

	if (!CHECK(a != NULL, "a network with an identity hidden layer"))
		return;
	Perturb(&old);
	for (int i = 0; i < ROWS * 4; i++)
		x[i] = TestUniform(&s, -3.0f, 3.0f);
	Run(&old, x, ROWS, want);
	b = Reshape(&old, "{\"layers\": [4, 6, 3]}", &net, &changes, &err);
	if (CHECK(b != NULL && DenseOf(&net)->hdr->n_layers == 3 &&
			  strstr(changes, "\"change\": \"removed\"") &&
			  strstr(changes, "\"function_kept\": true"),
			  "removing an identity layer folds it into the next: %s",
			  b ? changes : err.message))
	{
		Run(&net, x, ROWS, got);
		CHECK(MaxDiff(want, got, ROWS * 3) <= 1e-5,
			  "folded outputs equal the old ones (max abs diff %.3g)",
			  MaxDiff(want, got, ROWS * 3));
		free(changes);
	}
	free(b);
	b = Reshape(&old, "{\"layers\": [4, 5, 3]}", &net, &changes, &err);
	CHECK(b != NULL && strstr(changes, "\"change\": \"narrowed\"") &&
		  strstr(changes, "\"function_kept\": false"),
		  "narrowing drops units and says the function changed: %s",
		  b ? changes : err.message);
	if (b)
		free(changes);
	free(b);
	b = Reshape(&old, "{\"layers\": [4, 6, {\"count\": 4, \"from\": null}, {\"count\": 5, \"from\": 2}, 3]}",
				&net, &changes, &err);
	CHECK(b == NULL && strstr(err.message, "needs at least 6"),
		  "an added layer narrower than the values it passes on: %s",
		  err.message);
	free(b);
	free(a);
}

/* Descriptions that are refused, with the reason. */
static void
TestRefused(void)
{
	static const struct
	{
		const char *spec;
		const char *msg;
	}			cases[] = {
		{"{\"layers\": [5, 6, 3]}", "has 4 inputs, not 5"},
		{"{\"layers\": [4, 6, 2]}", "has 3 outputs, not 2"},
		{"{\"layers\": [4, {\"count\": 6, \"activation\": \"tanh\"}, 3]}", "has activation \"relu\", not \"tanh\""},
		{"{\"layers\": [4, 6, {\"count\": 6, \"activation\": \"tanh\"}, 3]}", "cannot start as an identity with activation \"tanh\""},
		{"{\"layers\": [4, {\"count\": 4, \"activation\": \"relu\", \"from\": null}, 6, 3]}", "cannot start as an identity with activation \"relu\""},
		{"{\"layers\": [4, {\"count\": 6, \"from\": 7}, 3]}", "is not a hidden layer"},
		{"{\"layers\": [4, {\"count\": 6, \"from\": \"nope\"}, 3]}", "no hidden layer named \"nope\""},
		{"{\"layers\": [4, 6, 3], \"loss\": \"mse\"}", "loss is \"cross_entropy\""},
		{"{\"layers\": [4, 6, 3], \"setup\": {}}", "reshape key \"setup\""},
		{"{\"layers\": [4, 6, 3], \"kind\": \"hanami\"}", "into kind hanami"},
		{"{\"layers\": [4, {\"count\": 6, \"from\": 1}, {\"count\": 6, \"from\": 1}, 3]}", "taken over twice"},
	};
	HnNet		old;
	HnNet		net;
	HnError		err;
	char	   *changes;
	void	   *a = FromJson("{\"layers\": [4, 6, 3], \"seed\": 5}", &old);
	void	   *b;

	if (!CHECK(a != NULL, "a network for the refusals"))
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		err.message[0] = '\0';
		b = Reshape(&old, cases[i].spec, &net, &changes, &err);
		CHECK(b == NULL && strstr(err.message, cases[i].msg) != NULL,
			  "refused: %s (%s)", cases[i].spec, err.message);
		free(b);
	}
	free(a);

	/* order: two old hidden layers taken in reverse */
	a = FromJson("{\"layers\": [4, {\"count\": 6, \"name\": \"a\"}, {\"count\": 5, \"name\": \"b\"}, 3]}", &old);
	b = a ? Reshape(&old, "{\"layers\": [4, {\"count\": 5, \"name\": \"b\"}, {\"count\": 6, \"name\": \"a\"}, 3]}",
					&net, &changes, &err) : NULL;
	CHECK(a && b == NULL && strstr(err.message, "comes before"),
		  "layers are never reordered: %s", err.message);
	free(b);
	free(a);
}

/* A growing network has no reshape: a clear error. */
#define GNF 5
#define GROWS 200

/* Predict rows of nf inputs through a bound network into out. */
static void
GrowRun(HnNet *net, const float *x, int rows, int nf, float *out)
{
	HnError		err;
	void	   *w = net->kind->work_create(net, 1, &HnMallocAllocator, &err);

	for (int r = 0; r < rows; r++)
		net->kind->predict(net, w, x + r * nf, 1, out + r * net->hdr->n_outputs);
	net->kind->work_free(w, &HnMallocAllocator);
}

/* Expect a reshape of net by text to fail with code, naming text. */
static void
GrowReshapeError(HnNet *net, const char *text, HnStatus code, const char *what)
{
	HnNet		out;
	HnError		err;
	char	   *changes;
	void	   *img = Reshape(net, text, &out, &changes, &err);

	CHECK(img == NULL && err.code == code && strstr(err.message, what) != NULL,
		  "grow reshape refuses %s: %s", text, err.message);
	free(img);
}

/*
 * The growing kind: a trained network widened, given a new cell, narrowed
 * and pruned of a cell; the outputs stay where no section goes, unchanged
 * cells keep their sections' bytes, the same reshape gives the same bytes,
 * and bad descriptions are errors.
 */
static void
TestHanamiKind(void)
{
	HnNet		net;
	HnNet		out;
	HnNet		out2;
	HnError		err;
	char	   *changes;
	void	   *b;
	void	   *b2;
	float	   *x = malloc(sizeof(float) * GNF * GROWS);
	int32_t    *cls = malloc(sizeof(int32_t) * GROWS);
	float		before[GROWS * 3];
	float		after[GROWS * 3];
	uint64_t	rng = 3;
	void	   *a = FromJson("{\"kind\": \"hanami\", \"settings\": {\"max_connection_distance\": 2}, \"cells\": ["
							 "{\"position\": [0, 0], \"input\": 5, \"name\": \"in\"},"
							 "{\"position\": [1, 0], \"neurons\": 16, \"name\": \"h1\"},"
							 "{\"position\": [2, 0], \"neurons\": 12, \"name\": \"h2\"},"
							 "{\"position\": [3, 0], \"output\": 3, \"name\": \"out\"}]}", &net);

	if (!CHECK(a != NULL, "a growing network"))
		return;
	for (int r = 0; r < GROWS; r++)
	{
		float		sum = 0;

		for (int i = 0; i < GNF; i++)
			sum += (x[r * GNF + i] = TestUniform(&rng, 0.0f, 16.0f));
		cls[r] = sum < 33 ? 0 : sum < 47 ? 1 : 2;
	}
	{
		HnDataset	ds = {GROWS, GNF, 3, x, NULL, cls};
		HnRows		rows = {&ds, NULL, 0, NULL};
		HnTrainOptions opt;
		HkTrainOptions hk;

		HkTrainOptionsDefaults(&opt, &hk, HkOf(&net));
		opt.epochs = 3;
		opt.seed = 2;
		CHECK(HnFit(&net, &rows, &opt, NULL, NULL, &HnMallocAllocator, NULL, &err) == HANAMI_OK &&
			  HkOf(&net)->gh->n_blocks > 0,
			  "grow reshape: a trained growing network (%u sections)", HkOf(&net)->gh->n_blocks);
		a = net.hdr;
	}
	GrowRun(&net, x, GROWS, GNF, before);

	/* 1. wider: the outputs are the same bits, the sections the same bytes */
	b = Reshape(&net, "{\"layers\": [5, 24, 12, 3]}", &out, &changes, &err);
	if (CHECK(b != NULL, "grow reshape: h1 widened from 16 to 24: %s", b ? changes : err.message))
	{
		HkNet	   *o = HkOf(&out);
		HkNet	   *n0 = HkOf(&net);
		bool		same;

		GrowRun(&out, x, GROWS, GNF, after);
		CHECK(memcmp(before, after, sizeof(before)) == 0,
			  "grow reshape: widened, the outputs are the same bits on %d rows", GROWS);
		same = o->gh->n_blocks == n0->gh->n_blocks;

		/* sources after the widened cell move by its new neurons */
		for (uint32_t k = 0; same && k < n0->gh->n_blocks; k++)
			if (n0->blocks[k].source < n0->cells[2].first_neuron)
				same = memcmp(&o->blocks[k], &n0->blocks[k], sizeof(HkBlock)) == 0;
			else
				same = o->blocks[k].source == n0->blocks[k].source + 8;
		CHECK(o->cells[1].n_neurons == 24 && same,
			  "grow reshape: widened, the sections of the cells up to it keep their bytes, the later ones their source moved by 8");
		CHECK(strstr(changes, "\"change\": \"widened\"") && strstr(changes, "\"function_kept\": true"),
			  "grow reshape: the changes say widened, function kept: %s", changes);
		free(changes);
		b2 = Reshape(&net, "{\"layers\": [5, 24, 12, 3]}", &out2, &changes, &err);
		CHECK(b2 != NULL && out2.len == out.len && memcmp(b, b2, out.len) == 0,
			  "grow reshape: the same reshape gives the same bytes");
		free(b2);
		free(changes);
		free(b);
	}

	/* 2. a new hidden cell beside h1: no sections, the outputs stay */
	b = Reshape(&net, "{\"cells\": [{\"from\": 0}, {\"from\": \"h1\"}, {\"position\": [1, -1], \"neurons\": 8, \"name\": \"new\"}, {\"from\": 2}, {\"from\": 3}]}",
				&out, &changes, &err);
	if (CHECK(b != NULL, "grow reshape: a new cell: %s", b ? changes : err.message))
	{
		GrowRun(&out, x, GROWS, GNF, after);
		CHECK(memcmp(before, after, sizeof(before)) == 0 && HkOf(&out)->gh->n_cells == 5 &&
			  strstr(changes, "\"change\": \"added\"") && strstr(changes, "\"function_kept\": true"),
			  "grow reshape: a new cell leaves the outputs the same bits: %s", changes);
		free(changes);
		/* removing it again gives back the network */
		b2 = Reshape(&out, "{\"cells\": [{\"from\": 0}, {\"from\": 1}, {\"from\": 3}, {\"from\": 4}]}",
					 &out2, &changes, &err);
		CHECK(b2 != NULL && out2.len == net.len && memcmp(b2, net.hdr, net.len) == 0 &&
			  strstr(changes, "\"removed\": [{\"cell\": 2, \"name\": \"new\""),
			  "grow reshape: removing the new cell gives back the same bytes: %s",
			  b2 ? changes : err.message);
		if (b2)
			free(changes);
		free(b2);
		free(b);
	}

	/* 3. narrower: the chains of the dropped neurons go */
	b = Reshape(&net, "{\"layers\": [5, 6, 12, 3]}", &out, &changes, &err);
	if (CHECK(b != NULL, "grow reshape: h1 narrowed: %s", b ? changes : err.message))
	{
		CHECK(HkOf(&out)->cells[1].n_neurons == 6 && strstr(changes, "\"narrowed\"") &&
			  strstr(changes, "\"function_kept\": false"),
			  "grow reshape: narrowed, the function changes: %s", changes);
		free(changes);
		free(b);
	}

	/* 4. h2 removed: its chains and the sections into it go */
	b = Reshape(&net, "{\"cells\": [{\"from\": 0}, {\"from\": 1}, {\"from\": 3}]}",
				&out, &changes, &err);
	if (b != NULL)
	{
		HkNet	   *o = HkOf(&out);
		bool		none = true;

		for (uint32_t k = 0; k < o->gh->n_blocks; k++)
			none &= o->blocks[k].target_cell < 3;
		CHECK(o->gh->n_cells == 3 && none && strstr(changes, "\"removed\": [{\"cell\": 2"),
			  "grow reshape: a removed cell takes its sections along: %s", changes);
		free(changes);
		free(b);
	}
	else
		CHECK(err.code == HANAMI_E_INVALID_SPEC &&
			  (strstr(err.message, "depth") || strstr(err.message, "cannot be reached")),
			  "grow reshape: a removal that cuts the output cell off is refused: %s", err.message);

	/* 5. errors */
	GrowReshapeError(&net, "{\"cells\": [{\"from\": 1}, {\"from\": 2}, {\"from\": 3}]}",
					 HANAMI_E_INVALID_SPEC, "cannot remove input cell 0");
	GrowReshapeError(&net, "{\"layers\": [5, 16, 12, 4]}",
					 HANAMI_E_INVALID_SPEC, "neuron count of output cell 3");
	GrowReshapeError(&net, "{\"layers\": [5, 16, 3]}",
					 HANAMI_E_INVALID_SPEC, "\"layers\" has 3 counts");
	GrowReshapeError(&net, "{\"cells\": [{\"from\": 0}, {\"from\": 2}, {\"from\": 1}, {\"from\": 3}]}",
					 HANAMI_E_INVALID_SPEC, "after cell 2");
	GrowReshapeError(&net, "{\"cells\": [{\"from\": 0}, {\"neurons\": 4}, {\"from\": 1}, {\"from\": 2}, {\"from\": 3}]}",
					 HANAMI_E_INVALID_SPEC, "without a place");
	GrowReshapeError(&net, "{\"cells\": [{\"from\": 0}, {\"from\": \"nope\"}, {\"from\": 3}]}",
					 HANAMI_E_INVALID_SPEC, "names no cell");
	GrowReshapeError(&net, "{\"layers\": [5, 16, 12, 3], \"bogus\": 1}",
					 HANAMI_E_INVALID_SPEC, "bogus");
	GrowReshapeError(&net, "{}", HANAMI_E_MALFORMED_SPEC, "\"cells\" or \"layers\"");
	GrowReshapeError(&net, "{\"cells\": [{\"from\": 0}, {\"from\": 1}, {\"position\": [1, 0]}, {\"from\": 2}, {\"from\": 3}]}",
					 HANAMI_E_INVALID_SPEC, "");
	free(x);
	free(cls);
	free(a);
}

void
TestReshapeSuite(void)
{
	TestGrow();
	TestShrink();
	TestRefused();
	TestHanamiKind();
}
