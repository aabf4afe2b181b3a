/*
 * make_seeds.c - write the seed corpus of the image fuzzer (fuzz_image.c):
 * small valid images of both kinds, built and trained with the engine (a
 * dense one also quantized to each compact dtype and marked as trained for
 * pow2), and a few damaged ones; and that of the JSON fuzzer (fuzz_json.c): the text
 * forms of the valid images and a few descriptions.  `make fuzz-seeds`
 * runs it into src/core/fuzz/corpus and src/core/fuzz/corpus_json;
 * the files are checked in, so this only needs to run when the format
 * changes.  Every valid seed is checked with DenseBind, every damaged one
 * must be rejected.  The corpus also keeps inputs the fuzzer found that
 * are worth replaying on every run (dense-signed-zero: an exactly zero
 * output whose sign differs between a row alone and a batch); this
 * program leaves those alone.
 *
 * Usage: make_seeds DIR [JSON_DIR]
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dense/step.h"
#include "core/common.h"
#include "core/dense/dtype.h"
#include "core/dense/format.h"
#include "core/hanami/hanami.h"
#include "core/json.h"
#include "core/graph/graph.h"
#include "core/kind.h"
#include "core/fit.h"
#include "core/hanami/kind.h"
#include "core/train.h"

static const char *out_dir;
static const char *json_dir;	/* NULL: no JSON seeds */

/* Write n bytes to path. */
static void
WriteFile(const char *path, const void *data, size_t n)
{
	FILE	   *f = fopen(path, "wb");

	if (f == NULL || fwrite(data, 1, n, f) != n || fclose(f) != 0)
	{
		perror(path);
		exit(1);
	}
}

static void
Die(const char *what, const HnError *err)
{
	fprintf(stderr, "make_seeds: %s%s%s\n", what, err ? ": " : "",
			err ? err->message : "");
	exit(1);
}

/* Write len bytes to DIR/name; valid says whether DenseBind must accept. */
static void
Write(const char *name, const void *image, size_t len, int valid)
{
	char		path[4096];
	void	   *copy = malloc(len ? len : 1);
	HnNet		net;
	HnError		err;
	int			ok;

	memcpy(copy, image, len);
	ok = NetBind(&net, copy, len, &err) == HANAMI_OK;
	free(copy);
	if (ok != valid)
	{
		fprintf(stderr, "make_seeds: %s is %s\n", name,
				ok ? "accepted" : err.message);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s", out_dir, name);
	WriteFile(path, image, len);
	printf("%-28s %6zu bytes%s\n", name, len, valid ? "" : " (rejected)");

	/* the text form of a valid image seeds the JSON fuzzer */
	if (valid && json_dir)
	{
		HnBuf		text;

		copy = malloc(len ? len : 1);
		memcpy(copy, image, len);
		NetBindTrusted(&net, copy);
		HnBufInit(&text, &HnMallocAllocator);
		if (NetToJson(&net, &text, &err) != HANAMI_OK)
			Die(name, &err);
		snprintf(path, sizeof(path), "%s/%s.json", json_dir, name);
		WriteFile(path, text.data, text.len);
		printf("%-28s %6zu bytes\n", "  its text form", text.len);
		HnBufFree(&text);
		free(copy);
	}
}

/* Descriptions (and a few near misses) for the JSON fuzzer. */
static void
WriteDescriptions(void)
{
	static const struct
	{
		const char *name;
		const char *text;
	}			seeds[] = {
		{"spec-dense", "{\"layers\": [4, 8, 3]}"},
		{"spec-dense-full", "{\"format\": 1, \"kind\": \"dense\", \"layers\": "
			"[2, {\"count\": 3, \"activation\": \"tanh\", \"name\": \"h\\u00e9\"}, "
			"{\"count\": 1, \"activation\": \"sigmoid\"}], \"activation\": \"elu\", "
			"\"loss\": \"cross_entropy\", \"input_scaling\": false, \"seed\": 7, "
			"\"trained\": {\"epochs\": 2, \"samples\": 18446744073709551615}}"},
		{"spec-hanami-layers", "{\"kind\": \"hanami\", \"layers\": [3, {\"count\": 4, \"name\": \"mid\"}, 2]}"},
		{"spec-hanami-cells", "{\"kind\": \"hanami\", \"seed\": 3, \"settings\": "
			"{\"max_connection_distance\": 2, \"neuron_cooldown\": 1.5, \"refractory_time\": 2, "
			"\"enable_reduction\": true, \"reduction_threshold\": 3, \"neurons\": 5, "
			"\"max_sections\": 100}, \"cells\": [{\"position\": [0, 0, 0], \"input\": 2}, "
			"{\"position\": \"1,0\"}, {\"position\": [0, 1]}, {\"position\": [4, 0], \"output\": 2}], "
			"\"axons\": [\"1,0 -> 4,0\", {\"from\": [0, 1], \"to\": \"4,0,0\"}]}"},
		{"spec-dense-custom", "{\"layers\": [2, {\"count\": 3, \"activation\": "
			"{\"name\": \"swish\", \"expression\": \"x * sigmoid(x)\", "
			"\"derivative\": \"sigmoid(x) * (1 + x * (1 - sigmoid(x)))\"}}, "
			"{\"count\": 1, \"activation\": {\"name\": \"soft\", \"expression\": "
			"\"x / (1 + abs(x))\", \"derivative\": \"1 / (1 + abs(x)) ^ 2\"}}], "
			"\"loss\": \"mse\"}"},
		{"spec-graph", "{\"layers\": [{\"count\": 3, \"name\": \"in\"}, "
			"{\"count\": 2, \"name\": \"aux\", \"input\": true}, {\"count\": 4, \"name\": \"h\", "
			"\"from\": [\"in\", \"aux\"], \"activation\": \"tanh\"}, {\"count\": 2, \"name\": \"c\", "
			"\"from\": [\"h\", \"in\"], \"output\": true}, {\"count\": 1, \"from\": [\"h\", 1], "
			"\"output\": true, \"activation\": \"identity\", \"loss\": \"mse\"}], \"seed\": 5}"},
		{"bad-escapes", "{\"layers\": [1, 1], \"\\ud83d\\ude00\": \"\\u0041\\n\"}"},
		{"bad-nesting", "[[[[[[[[[[[[[[[[{\"a\": [1e400, -0.0e-5, true, null]}]]]]]]]]]]]]]]]]"},
	};
	char		path[4096];

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
	{
		snprintf(path, sizeof(path), "%s/%s.json", json_dir, seeds[i].name);
		WriteFile(path, seeds[i].text, strlen(seeds[i].text));
		printf("%-28s %6zu bytes\n", seeds[i].name, strlen(seeds[i].text));
	}
}

/* Deterministic uniform float in [lo, hi). */
static float
Uniform(uint64_t *state, float lo, float hi)
{
	*state = *state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return lo + (hi - lo) * (float) (*state >> 40) / 16777216.0f;
}

/* ------------------------------------------------------------------ dense */

typedef struct SeedLayer
{
	uint32_t	count;
	HnActivation act;
	const char *name;
} SeedLayer;

/* A dense image (malloc) of the given layers. */
static void *
DenseMake(const SeedLayer *layers, int n, HnLoss loss, bool scaling,
		  uint32_t seed, size_t *len)
{
	DenseSpec		spec;
	HnError		err;
	void	   *image;

	memset(&spec, 0, sizeof(spec));
	spec.n_layers = n;
	for (int l = 0; l < n; l++)
	{
		spec.layers[l].count = layers[l].count;
		spec.layers[l].activation = layers[l].act;
		if (layers[l].name)
			snprintf(spec.layers[l].name, HANAMI_NAME_LEN, "%s", layers[l].name);
	}
	spec.loss = loss;
	spec.input_scaling = scaling;
	spec.seed = seed;
	if (DenseSpecFinalize(&spec, &err) != HANAMI_OK)
		Die("dense spec", &err);
	*len = DenseImageSize(&spec, &err);
	image = malloc(*len);
	if (DenseCreate(image, *len, &spec, &err) != HANAMI_OK)
		Die("dense create", &err);
	return image;
}

/* Train a dense image on rows of ordinary values, targets in [0, 1]. */
static void
DenseTrain(void *image, int epochs)
{
	DenseNet		net;
	HnTrainOptions opt;
	HnTrainResult res;
	HnError		err;
	uint64_t	st = 17;
	enum
	{
	N = 24};
	float	   *x;
	float	   *y;
	HnDataset	ds;

	DenseBindTrusted(&net, image);
	x = malloc(sizeof(float) * N * net.hdr->n_inputs);
	y = malloc(sizeof(float) * N * net.hdr->n_outputs);
	for (size_t i = 0; i < (size_t) N * net.hdr->n_inputs; i++)
		x[i] = Uniform(&st, -20.0f, 80.0f);
	for (int r = 0; r < N; r++)
		for (uint32_t j = 0; j < net.hdr->n_outputs; j++)
			y[r * net.hdr->n_outputs + j] = net.hdr->n_outputs == 1 ?
				(float) (x[r * net.hdr->n_inputs] > 30.0f) :
				(float) (j == (uint32_t) r % net.hdr->n_outputs);
	ds = (HnDataset) {N, net.hdr->n_inputs, net.hdr->n_outputs, x, y, NULL};
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = epochs;
	opt.batch_size = 8;
	opt.seed = 3;
	if (TrainFit(&net, &ds, &opt, NULL, &HnMallocAllocator, &res, &err) != HANAMI_OK)
		Die("dense fit", &err);
	free(x);
	free(y);
}

/* ------------------------------------------------------------------- grow */

/* A growing image (malloc) of a description. */
static void *
HkMake(HkSpec *spec, size_t *len)
{
	HnError		err;
	void	   *image;

	if (HkSpecFinalize(spec, &err) != HANAMI_OK)
		Die("grow spec", &err);
	*len = HkSpecImageSize(spec, &err);
	image = malloc(*len);
	if (HkCreate(image, *len, spec, 0, &err) != HANAMI_OK)
		Die("grow create", &err);
	return image;
}

/*
 * Train a growing image on the given rows (x NULL: random rows of mixed
 * sign) in their order; returns the moved image.
 */
static void *
HkTrain(void *image, size_t *len, int epochs, int rows, uint64_t seed,
		  const float *given)
{
	HnNet		net;
	HnRows		r_in;
	HnTrainOptions opt;
	HkTrainOptions hk;
	HnTrainResult res;
	HnError		err;
	uint64_t	st = seed;
	float	   *x;
	float	   *y;
	HnDataset	ds;

	NetBindTrusted(&net, image);
	x = malloc(sizeof(float) * rows * net.hdr->n_inputs);
	y = malloc(sizeof(float) * rows * net.hdr->n_outputs);
	for (size_t i = 0; i < (size_t) rows * net.hdr->n_inputs; i++)
		x[i] = given ? given[i] : Uniform(&st, -50.0f, 200.0f);
	for (int r = 0; r < rows; r++)
		for (uint32_t j = 0; j < net.hdr->n_outputs; j++)
			y[r * net.hdr->n_outputs + j] = (float) (j == (uint32_t) r % net.hdr->n_outputs);
	ds = (HnDataset) {rows, net.hdr->n_inputs, net.hdr->n_outputs, x, y, NULL};
	r_in = (HnRows) {&ds, NULL, 0, NULL};
	HkTrainOptionsDefaults(&opt, &hk, HkOf(&net));
	opt.epochs = epochs;
	opt.seed = seed;
	opt.shuffle = false;
	if (HnFit(&net, &r_in, &opt, NULL, NULL, &HnMallocAllocator, &res, &err) != HANAMI_OK)
		Die("grow fit", &err);
	free(x);
	free(y);
	*len = net.len;
	return net.hdr;
}

/* A chain of cells along x: one input, hidden cells, one output. */
static void
HkChain(HkSpec *spec, uint32_t inputs, int n_hidden, uint32_t hidden,
		  uint32_t outputs)
{
	memset(spec, 0, sizeof(*spec));
	spec->cells[0] = (HkCellSpec) {0, 0, 0, HK_CELL_INPUT, inputs, -1, "in"};
	for (int h = 0; h < n_hidden; h++)
		spec->cells[1 + h] = (HkCellSpec) {(int16_t) (1 + h), 0, 0,
		HK_CELL_HIDDEN, hidden, -1, ""};
	spec->cells[1 + n_hidden] = (HkCellSpec) {(int16_t) (1 + n_hidden), 0, 0,
	HK_CELL_OUTPUT, outputs, -1, "out"};
	spec->n_cells = 2 + n_hidden;
	spec->seed = 9;
}

/* Graphs: two inputs, a skip, two outputs; trained-looking; damaged. */
static void
GraphSeeds(void)
{
	const char *spec = "{\"layers\": [{\"count\": 3, \"name\": \"in\"}, "
		"{\"count\": 2, \"name\": \"aux\", \"input\": true}, "
		"{\"count\": 4, \"name\": \"h\", \"from\": [\"in\", \"aux\"], \"activation\": \"tanh\"}, "
		"{\"count\": 2, \"name\": \"c\", \"from\": [\"h\", \"in\"], \"output\": true}, "
		"{\"count\": 1, \"from\": [\"h\", 1], \"output\": true, \"activation\": \"identity\"}], "
		"\"seed\": 5}";
	void	   *img;
	void	   *bad;
	size_t		len;
	HnError		err;
	GraphNet	g;

	if (NetFromJson(spec, strlen(spec), NULL, &HnMallocAllocator, &img, &len,
					&err) != HANAMI_OK)
		Die("graph", &err);
	Write("graph-two-inputs-outputs", img, len, 1);
	bad = malloc(len);
	memcpy(bad, img, len);
	GraphBindTrusted(&g, bad);
	g.hdr->flags |= GRAPH_FLAG_INPUT_FITTED | GRAPH_FLAG_INPUT_CLIP;
	g.in_shift[0] = 0.5f;
	g.in_mul[1] = 4.0f;
	g.hdr->epochs = 3;
	Write("graph-fitted", bad, len, 1);
	memcpy(bad, img, len);
	g.layers[2].sources[1] = 3;
	Write("bad-graph-later-source", bad, len, 0);
	memcpy(bad, img, len);
	g.layers[3].history = 2;
	Write("bad-graph-history", bad, len, 0);
	memcpy(bad, img, len);
	g.params[5] = NAN;
	Write("bad-graph-nan-weight", bad, len, 0);
	free(bad);
	free(img);
	/* layers with a history, a carried state */
	spec = "{\"kind\": \"graph\", \"layers\": [{\"count\": 2, \"name\": \"in\"}, "
		"{\"count\": 3, \"name\": \"h\", \"activation\": \"tanh\", \"history\": 2}, "
		"{\"count\": 2, \"from\": [\"h\", \"in\"], \"history\": 1}], \"seed\": 6}";
	if (NetFromJson(spec, strlen(spec), NULL, &HnMallocAllocator, &img, &len,
					&err) != HANAMI_OK)
		Die("graph with history", &err);
	GraphBindTrusted(&g, img);
	GraphState(&g)[1] = 0.5f;
	Write("graph-history", img, len, 1);
	GraphState(&g)[1] = NAN;
	Write("bad-graph-history-state", img, len, 0);
	free(img);
}

int
main(int argc, char **argv)
{
	HkSpec *spec = calloc(1, sizeof(HkSpec));
	void	   *img;
	void	   *bad;
	size_t		len;
	DenseNet		net;
	HnError		err;
	HkNet	g;

	if (argc != 2 && argc != 3)
	{
		fprintf(stderr, "usage: make_seeds DIR [JSON_DIR]\n");
		return 2;
	}
	out_dir = argv[1];
	json_dir = argc == 3 ? argv[2] : NULL;
	if (json_dir)
		WriteDescriptions();
	GraphSeeds();

	/* dense: the smallest network */
	{
		static const SeedLayer l[] = {{1, 0, NULL}, {1, HANAMI_ACT_IDENTITY, NULL}};

		img = DenseMake(l, 2, HANAMI_LOSS_MSE, false, 1, &len);
		Write("dense-minimal", img, len, 1);
		free(img);
	}
	/* dense: every activation, names, input scaling on */
	{
		static const SeedLayer l[] = {
			{3, 0, "in"}, {3, HANAMI_ACT_BINARY, "binary"},
			{3, HANAMI_ACT_TANH, NULL}, {3, HANAMI_ACT_ISRLU, "isrlu"},
			{3, HANAMI_ACT_RELU, NULL}, {3, HANAMI_ACT_ELU, "elu"},
			{3, HANAMI_ACT_SOFTCLIP, NULL}, {3, HANAMI_ACT_SIN, "sin"},
			{3, HANAMI_ACT_SINC, NULL}, {3, HANAMI_ACT_GAUSS, "gauss"},
			{3, HANAMI_ACT_SIGMOID, NULL}, {2, HANAMI_ACT_SOFTMAX, "out"}};

		img = DenseMake(l, 12, HANAMI_LOSS_CROSS_ENTROPY, true, 2, &len);
		Write("dense-activations", img, len, 1);

		/* damaged: truncated, a NaN weight, an unknown activation */
		Write("bad-dense-truncated", img, 150, 0);
		bad = malloc(len);
		memcpy(bad, img, len);
		DenseBindTrusted(&net, bad);
		DenseWeights(&net, 2)[1] = NAN;
		Write("bad-dense-nan-weight", bad, len, 0);
		memcpy(bad, img, len);
		net.layers[4].activation = 99;
		Write("bad-dense-activation", bad, len, 0);
		free(bad);
		free(img);
	}
	/* dense: custom activations (their programs between scaling and weights) */
	{
		const char *spec = "{\"layers\": [2, {\"count\": 3, \"activation\": "
			"{\"name\": \"swish\", \"expression\": \"x * sigmoid(x)\", "
			"\"derivative\": \"sigmoid(x) * (1 + x * (1 - sigmoid(x)))\"}}, "
			"{\"count\": 1, \"activation\": {\"name\": \"soft\", \"expression\": "
			"\"x / (1 + abs(x))\", \"derivative\": \"1 / (1 + abs(x)) ^ 2\"}}], "
			"\"loss\": \"mse\", \"seed\": 3}";
		void	   *img;
		size_t		len;
		HnError	err;

		if (NetFromJson(spec, strlen(spec), NULL, &HnMallocAllocator, &img, &len,
						&err) != HANAMI_OK)
			Die("dense-custom", &err);
		Write("dense-custom", img, len, 1);
		free(img);
	}
	/* dense: trained regression (fitted input and output scaling) */
	{
		static const SeedLayer l[] = {
			{4, 0, NULL}, {6, HANAMI_ACT_RELU, "hidden"},
			{2, HANAMI_ACT_IDENTITY, NULL}};

		img = DenseMake(l, 3, HANAMI_LOSS_MSE, true, 3, &len);
		DenseTrain(img, 3);
		Write("dense-trained-mse", img, len, 1);
		/* compact weights (dense/dtype.h): one image per dtype */
		for (int dt = DENSE_DTYPE_POW2; dt < DENSE_DTYPE_COUNT_; dt++)
		{
			char		name[64];
			void	   *q;
			size_t		qlen;

			DenseBindTrusted(&net, img);
			if (DenseQuantize(&net, dt, &HnMallocAllocator, &q, &qlen,
							  &err) != HANAMI_OK)
				Die("quantize", &err);
			snprintf(name, sizeof(name), "dense-%s", DenseDtypeName(dt));
			Write(name, q, qlen, 1);
			if (dt == DENSE_DTYPE_POW2)
			{
				/* damaged: the weight 0 with a sign */
				DenseBindTrusted(&net, q);
				((unsigned char *) DenseLayerStart(&net, 1))[sizeof(DenseQuant)] = 0x80;
				Write("bad-dense-pow2-code", q, qlen, 0);
			}
			free(q);
		}
		/* trained for pow2: float shadow weights */
		DenseBindTrusted(&net, img);
		net.hdr->flags |= HANAMI_FLAG_POW2_QAT;
		Write("dense-pow2-trained", img, len, 1);
		free(img);
	}
	/* dense: trained single sigmoid output */
	{
		static const SeedLayer l[] = {
			{5, 0, NULL}, {4, HANAMI_ACT_TANH, NULL}, {4, HANAMI_ACT_ELU, NULL},
			{1, HANAMI_ACT_SIGMOID, "p"}};

		img = DenseMake(l, 4, HANAMI_LOSS_CROSS_ENTROPY, false, 4, &len);
		DenseTrain(img, 2);
		Write("dense-trained-sigmoid", img, len, 1);
		free(img);
	}

	/* grow: fresh, no sections yet */
	HkChain(spec, 2, 1, 4, 2);
	img = HkMake(spec, &len);
	Write("grow-fresh", img, len, 1);
	free(img);

	/* grow: trained, with negative, continued and parallel sections */
	HkChain(spec, 3, 1, 5, 2);
	img = HkMake(spec, &len);
	img = HkTrain(img, &len, 2, 6, 5, NULL);
	Write("grow-trained", img, len, 1);
	{
		/* damaged: truncated in the blocks, a chain that loops back */
		Write("bad-grow-truncated", img, len - 500, 0);
		bad = malloc(len);
		memcpy(bad, img, len);
		HkBindTrusted(&g, bad);
		if (g.gh->n_blocks > 0)
		{
			g.blocks[g.gh->n_blocks - 1].next = 0;
			Write("bad-grow-chain", bad, len, 0);
		}
		memcpy(bad, img, len);
		g.gh->n_synapses++;
		Write("bad-grow-count", bad, len, 0);
		free(bad);
	}
	free(img);

	/* grow: values from 8 to 3e38 fill a section and continue it */
	{
		static const float big[] = {8.0f, 20.0f, 8e6f, 1e12f, 1e20f, 1e30f, 3e38f};

		HkChain(spec, 1, 1, 2, 1);
		img = HkMake(spec, &len);
		img = HkTrain(img, &len, 1, 7, 2, big);
		Write("grow-continued", img, len, 1);
		free(img);
	}

	/* grow: more outputs than a section holds: parallel continuations */
	HkChain(spec, 2, 1, 2, HK_SYNAPSES + 6);
	img = HkMake(spec, &len);
	img = HkTrain(img, &len, 1, 2, 4, NULL);
	Write("grow-wide-output", img, len, 1);
	free(img);

	/* grow: spiking, with state carried by the last inputs */
	HkChain(spec, 2, 1, 4, 2);
	spec->cooldown = 2.5;
	spec->refractory = 3;
	img = HkMake(spec, &len);
	img = HkTrain(img, &len, 1, 5, 8, NULL);
	{
		HkWork *w;
		float		x[2] = {120.0f, -40.0f};
		float		out[2];

		HkBindTrusted(&g, img);
		w = HkWorkCreate(&g, false, &HnMallocAllocator, NULL);
		for (int r = 0; r < 3; r++)
			HkPredict(&g, w, x, out);
		HkWorkFree(w, &HnMallocAllocator);
	}
	Write("grow-spiking", img, len, 1);
	free(img);

	/* grow: layers in z, an axon, distance 2, reduction, growth history */
	memset(spec, 0, sizeof(*spec));
	spec->cells[0] = (HkCellSpec) {0, 0, 0, HK_CELL_INPUT, 2, -1, "a"};
	spec->cells[1] = (HkCellSpec) {0, 0, 1, HK_CELL_INPUT, 1, -1, "b"};
	spec->cells[2] = (HkCellSpec) {1, 0, 0, HK_CELL_HIDDEN, 3, 4, "h1"};
	spec->cells[3] = (HkCellSpec) {1, -1, 0, HK_CELL_HIDDEN, 3, -1, ""};
	spec->cells[4] = (HkCellSpec) {2, 0, 0, HK_CELL_HIDDEN, 2, -1, "far"};
	spec->cells[5] = (HkCellSpec) {3, 0, 0, HK_CELL_OUTPUT, 2, -1, "out"};
	spec->n_cells = 6;
	spec->max_distance = 2;
	spec->reduction = true;
	spec->reduction_threshold = 1;
	spec->max_blocks = 40;
	spec->seed = 21;
	img = HkMake(spec, &len);
	img = HkTrain(img, &len, 2, 4, 13, NULL);
	Write("grow-axon", img, len, 1);
	free(img);

	free(spec);
	return 0;
}
