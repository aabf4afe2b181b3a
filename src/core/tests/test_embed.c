/*
 * test_embed.c - nets inside nets (graph/embed.c): a dense network and a
 * graph embedded as layers of a graph compute what they compute alone on
 * the same raw inputs (scaling carried onto an input layer, or folded into
 * the weights behind a hidden one; output scaling folded), frozen layers
 * and fixed scaling are kept by a fit while the other layers learn, the
 * text form round-trips, and malformed embeddings are refused.
 */
#include "harness.h"

#include <stdlib.h>

#include "core/fit.h"
#include "core/graph/graph.h"
#include "core/json.h"
#include "core/kind.h"
#include "core/options.h"

/* The text form (what) of net, malloc'd. */
static char *
Text(const HnNet *net, bool info)
{
	HnBuf		buf;
	HnError		err;
	char	   *s = NULL;

	HnBufInit(&buf, &HnMallocAllocator);
	if ((info ? NetInfo(net, &buf, &err) : NetToJson(net, &buf, &err)) == HANAMI_OK)
		s = strdup(buf.data);
	HnBufFree(&buf);
	return s;
}

/* printf into a malloc'd string. */
static char *
Fmt(const char *fmt, const char *a, const char *b)
{
	size_t		n = strlen(fmt) + strlen(a) + (b ? strlen(b) : 0) + 1;
	char	   *s = malloc(n);

	snprintf(s, n, fmt, a, b ? b : "");
	return s;
}

/* Fit net through the driver on rows for epochs, with options json. */
static bool
Fit(HnNet *net, const HnDataset *ds, int epochs, const char *json)
{
	HnJsonDoc	doc;
	HnFitOptions o;
	HnRows		rows = {ds, NULL, 0, NULL};
	HnTrainResult res;
	HnError		err;
	HnStatus	st;

	memset(&o, 0, sizeof(o));
	if (HnJsonParse(json, strlen(json), &HnMallocAllocator, &doc, &err) != HANAMI_OK)
		return false;
	st = HnFitOptionsRead(net, doc.root, true, &HnMallocAllocator, &o, &err);
	HnJsonFree(&doc);
	if (st == HANAMI_OK)
	{
		o.train.epochs = epochs;
		st = HnFit(net, &rows, &o.train, NULL, NULL, &HnMallocAllocator, &res,
				   &err);
	}
	if (st != HANAMI_OK)
		TestNote("fit: %s", err.message);
	free(o.target);
	free(o.device);
	free((void *) o.train.kind_options);
	return st == HANAMI_OK;
}

/* Rows of 4 features in [0, 10) with two value targets. */
static void
Values(HnDataset *ds, float *x, float *y, int n, uint64_t seed)
{
	for (int r = 0; r < n; r++)
	{
		for (int j = 0; j < 4; j++)
			x[r * 4 + j] = TestUniform(&seed, 0.0f, 10.0f);
		y[r * 2] = x[r * 4] + x[r * 4 + 1];
		y[r * 2 + 1] = 3.0f * x[r * 4 + 2] - x[r * 4 + 3] + 50.0f;
	}
	memset(ds, 0, sizeof(*ds));
	ds->n = n;
	ds->n_features = 4;
	ds->n_outputs = 2;
	ds->x = x;
	ds->y = y;
}

/* A trained network's text form (malloc'd): fitted input and output scaling. */
static char *
Trained(const char *spec, const HnDataset *ds)
{
	HnError		err;
	HnNet		net;
	size_t		len;
	void	   *img = TestNetFromSpec(spec, &len, &net, &err);
	char	   *text = NULL;

	if (img == NULL)
		TestNote("%s", err.message);
	else if (Fit(&net, ds, 20, "{\"learning_rate\": 0.01}") &&
			 (net.hdr->flags & GRAPH_FLAG_INPUT_FITTED) &&
			 (net.hdr->flags & GRAPH_FLAG_OUTPUT_FITTED) &&
			 (net.hdr->flags & GRAPH_FLAG_INPUT_CLIP))
		text = Text(&net, false);
	free(img);
	return text;
}

/* The largest difference between layer l of a graph and net alone, over rows. */
static double
Worst(const HnNet *outer, int l, HnNet *inner, const float *x, int rows)
{
	HnError		err;
	GraphNet   *g = GraphOf(outer);
	GraphWork  *w = GraphWorkCreate(g, rows, false, &HnMallocAllocator, &err);
	void	   *wi = inner->kind->work_create(inner, rows, &HnMallocAllocator, &err);
	size_t		c = g->layers[l].count;
	float	   *y = malloc(sizeof(float) * rows * (g->hdr->n_outputs + c));
	float	   *yi = malloc(sizeof(float) * rows * c);
	double		worst = 0.0;

	GraphForward(g, w, x, rows, y);
	inner->kind->predict(inner, wi, x, rows, yi);
	for (size_t i = 0; i < rows * c; i++)
	{
		double		d = fabs((double) w->a[l][i] - yi[i]) /
			(1.0 + fabs((double) yi[i]));

		if (d > worst)
			worst = d;
	}
	GraphWorkFree(w, &HnMallocAllocator);
	inner->kind->work_free(wi, &HnMallocAllocator);
	free(y);
	free(yi);
	return worst;
}

/*
 * A trained dense network read by an input layer: its scaling becomes that
 * layer's, its output scaling goes into its last layer, and its layer
 * computes what it computes alone (wild values clipped alike).  A fit of
 * the outer network then trains the head only.
 */
static void
TestDenseOnInput(const HnDataset *ds, const char *dense)
{
	HnError		err;
	HnNet		d,
				g;
	size_t		dl,
				gl;
	char	   *spec = Fmt("{\"layers\": [{\"count\": 4, \"name\": \"in\"},"
						   " {\"name\": \"enc\", \"net\": %s, \"frozen\": true},"
						   " {\"count\": 3, \"name\": \"head\", \"from\": \"enc\"}], \"seed\": 2}",
						   dense, NULL);
	void	   *di = TestNetFromSpec(dense, &dl, &d, &err);
	void	   *gi = TestNetFromSpec(spec, &gl, &g, &err);
	GraphNet   *gn;
	float		x[6 * 4];
	uint64_t	seed = 17;
	size_t		frozen_n;
	float	   *before;
	float		shift[4],
				mul[4];
	double		worst;
	bool		ok;

	if (di == NULL || gi == NULL)
	{
		CHECK(false, "embed: a dense network as a layer (%s)", err.message);
		free(spec);
		free(di);
		free(gi);
		return;
	}
	gn = GraphOf(&g);
	ok = gn->hdr->n_layers == 4 && strcmp(gn->layers[1].name, "enc.h") == 0 &&
		strcmp(gn->layers[2].name, "enc") == 0 &&
		gn->layers[3].sources[0] == 2 &&
		(gn->layers[1].flags & GRAPH_LAYER_FROZEN) &&
		(gn->layers[2].flags & GRAPH_LAYER_FROZEN) &&
		!(gn->layers[3].flags & GRAPH_LAYER_FROZEN) &&
		(gn->layers[0].flags & GRAPH_LAYER_FIXED_SCALING) &&
		(gn->hdr->flags & GRAPH_FLAG_INPUT_CLIP) &&
		!(gn->hdr->flags & GRAPH_FLAG_INPUT_FITTED);
	CHECK(ok, "embed: a dense network becomes layers \"enc.h\" and \"enc\", frozen, the head reads \"enc\", the input layer's scaling is fixed and clipped");
	for (int i = 0; i < 6 * 4; i++)
		x[i] = TestUniform(&seed, -1.0f, 11.0f);
	x[5] = 1e4f;				/* clipped in both */
	x[22] = -3e3f;
	worst = Worst(&g, 2, &d, x, 6);
	CHECK(worst < 1e-5,
		  "embed: layer \"enc\" computes the dense network's outputs on the same raw rows, output scaling included (worst %.2g)",
		  worst);

	/* a fit of the graph: the head learns; the frozen layers and the fixed
	 * scaling stay as they are */
	frozen_n = (size_t) ((4 + 1) * 6 + (6 + 1) * 2);
	before = malloc(frozen_n * sizeof(float));
	memcpy(before, GraphWeights(gn, 1), frozen_n * sizeof(float));
	memcpy(shift, gn->in_shift, sizeof(shift));
	memcpy(mul, gn->in_mul, sizeof(mul));
	{
		HnDataset	cls = *ds;
		int32_t    *c = malloc(sizeof(int32_t) * ds->n);
		float		head0 = GraphWeights(gn, 3)[0];

		for (int64_t r = 0; r < ds->n; r++)
			c[r] = (int32_t) ((ds->x[r * 4] + ds->x[r * 4 + 1] > 10.0f) +
							  (ds->x[r * 4 + 2] > 7.0f));
		cls.y = NULL;
		cls.cls = c;
		cls.n_outputs = 3;
		ok = Fit(&g, &cls, 3, "{}");
		CHECK(ok && memcmp(before, GraphWeights(gn, 1), frozen_n * sizeof(float)) == 0 &&
			  memcmp(shift, gn->in_shift, sizeof(shift)) == 0 &&
			  memcmp(mul, gn->in_mul, sizeof(mul)) == 0 &&
			  GraphWeights(gn, 3)[0] != head0 &&
			  (gn->hdr->flags & GRAPH_FLAG_INPUT_FITTED),
			  "embed: a fit trains the head and leaves the frozen layers' weights and the fixed input scaling as they were");
		free(c);
	}
	worst = Worst(&g, 2, &d, x, 6);
	CHECK(worst < 1e-5, "embed: after the fit \"enc\" still computes the dense network (worst %.2g)",
		  worst);
	{
		HnFitOptions o;
		HnJsonDoc	doc;
		const char *opt = "{\"to_train\": [\"head\", \"enc.h\"]}";
		HnStatus	st;

		memset(&o, 0, sizeof(o));
		HnJsonParse(opt, strlen(opt), &HnMallocAllocator, &doc, &err);
		st = HnFitOptionsRead(&g, doc.root, true, &HnMallocAllocator, &o, &err);
		HnJsonFree(&doc);
		free((void *) o.train.kind_options);
		CHECK(st == HANAMI_E_INVALID_ARGUMENT &&
			  strstr(err.message, "lists frozen layer \"enc.h\"") != NULL,
			  "embed: to_train naming a frozen layer is refused: %s", err.message);
	}

	/* the text form keeps the flags and gives the same bytes back */
	{
		char	   *text = Text(&g, false);
		char	   *info = Text(&g, true);
		size_t		l2;
		void	   *again = text ? TestNetFromSpec(text, &l2, NULL, &err) : NULL;

		CHECK(again != NULL && l2 == gl && memcmp(again, gi, gl) == 0 &&
			  strstr(text, "\"frozen\": true") != NULL &&
			  strstr(text, "\"fixed_scaling\": true") != NULL &&
			  info != NULL && strstr(info, "\"frozen\": true") != NULL,
			  "embed: the text form round-trips with \"frozen\" and \"fixed_scaling\"; info shows them");
		free(text);
		free(info);
		free(again);
	}
	/* clipping: a graph clips all its inputs or none */
	{
		char	   *mixed = Fmt("{\"layers\": [{\"count\": 4, \"name\": \"in\"}, {\"name\": \"a\", \"net\": %s},"
								" {\"name\": \"b\", \"from\": \"in\", \"net\": {\"layers\": [4, {\"count\": 2, \"activation\": \"identity\"}], \"input_scaling\": false}},"
								" {\"count\": 2, \"from\": [\"a\", \"b\"]}], \"input_scaling\": false}", dense, NULL);
		char	   *other = Fmt("{\"layers\": [{\"count\": 4, \"name\": \"in\"}, {\"count\": 1, \"name\": \"other\", \"input\": true},"
								" {\"name\": \"a\", \"from\": \"in\", \"net\": %s}, {\"count\": 2, \"from\": [\"a\", \"other\"]}],"
								" \"input_scaling\": false}", dense, NULL);
		char	   *twice = Fmt("{\"layers\": [{\"count\": 4, \"name\": \"in\"}, {\"name\": \"a\", \"net\": %s},"
								" {\"name\": \"b\", \"from\": \"in\", \"net\": %s}, {\"count\": 2, \"from\": [\"a\", \"b\"]}]}",
								dense, dense);
		size_t		l3;
		void	   *ti = TestNetFromSpec(twice, &l3, NULL, &err);

		char	   *two = Fmt("{\"layers\": [{\"count\": 4, \"name\": \"in\"}, {\"count\": 4, \"name\": \"in2\", \"input\": true},"
							  " {\"name\": \"a\", \"from\": \"in\", \"net\": %s},"
							  " {\"name\": \"b\", \"from\": \"in2\", \"net\": {\"layers\": [4, {\"count\": 2, \"activation\": \"identity\"}], \"input_scaling\": false}},"
							  " {\"count\": 2, \"from\": [\"a\", \"b\"]}], \"input_scaling\": false}", dense, NULL);

		CHECK(TestSpecRefused(mixed, HANAMI_E_INVALID_SPEC, "input layer \"in\" is read by networks with different input scaling") &&
			  TestSpecRefused(two, HANAMI_E_INVALID_SPEC, "one with clipped scaling and one without") &&
			  TestSpecRefused(other, HANAMI_E_INVALID_SPEC, "input layer \"other\" has no scaling but would be clipped") &&
			  ti != NULL,
			  "embed: networks of different scaling on one input, clipped and unclipped networks on one graph's inputs, and an unscaled input that would be clipped are refused; two networks of one scaling share an input");
		free(mixed);
		free(two);
		free(other);
		free(twice);
		free(ti);
	}
	free(before);
	free(spec);
	free(di);
	free(gi);
}

/*
 * The same network behind a hidden layer: its scaling folded into its
 * first layer's weights.  The hidden layer passes the raw inputs on.
 */
static void
TestDenseFolded(const char *dense)
{
	HnError		err;
	HnNet		d,
				g;
	size_t		dl,
				gl;
	char	   *spec = Fmt("{\"layers\": [{\"count\": 4, \"name\": \"in\"},"
						   " {\"count\": 4, \"name\": \"pre\", \"activation\": \"identity\"},"
						   " {\"name\": \"enc\", \"net\": %s, \"from\": \"pre\"},"
						   " {\"count\": 3, \"from\": \"enc\"}], \"input_scaling\": false}",
						   dense, NULL);
	void	   *di = TestNetFromSpec(dense, &dl, &d, &err);
	void	   *gi = TestNetFromSpec(spec, &gl, &g, &err);
	float		x[5 * 4];
	uint64_t	seed = 5;
	double		worst = 1.0;

	if (di && gi)
	{
		GraphNet   *gn = GraphOf(&g);
		float	   *w = GraphWeights(gn, 1);

		memset(w, 0, (4 + 1) * 4 * sizeof(float));
		for (int i = 0; i < 4; i++)
			w[i * 4 + i] = 1.0f;
		for (int i = 0; i < 5 * 4; i++)
			x[i] = TestUniform(&seed, 0.0f, 10.0f);
		worst = Worst(&g, 3, &d, x, 5);
		CHECK(!(gn->layers[0].flags & GRAPH_LAYER_FIXED_SCALING) &&
			  !(gn->layers[2].flags & GRAPH_LAYER_FROZEN) &&
			  !(gn->hdr->flags & GRAPH_FLAG_INPUT_CLIP) && worst < 1e-4,
			  "embed: behind a hidden layer its scaling is folded into its weights, and it computes the same (worst %.2g)",
			  worst);
	}
	else
		CHECK(false, "embed: a dense network behind a hidden layer (%s)", err.message);
	free(spec);
	free(di);
	free(gi);
}

/* A graph with a skip connection inside a graph. */
static void
TestGraphInGraph(const HnDataset *ds)
{
	HnError		err;
	HnNet		inner,
				g;
	size_t		il,
				gl;
	char	   *text = Trained("{\"layers\": [{\"count\": 4, \"name\": \"x\"},"
							   " {\"count\": 5, \"name\": \"a\", \"activation\": \"tanh\"},"
							   " {\"count\": 2, \"name\": \"y\", \"from\": [\"a\", \"x\"], \"activation\": \"identity\"}], \"seed\": 3}",
							   ds);
	char	   *spec = text ? Fmt("{\"layers\": [{\"count\": 4, \"name\": \"in\"},"
								  " {\"name\": \"g\", \"net\": %s},"
								  " {\"count\": 1, \"from\": [\"g\", \"in\"]}]}", text, NULL) : NULL;
	void	   *ii = text ? TestNetFromSpec(text, &il, &inner, &err) : NULL;
	void	   *gi = spec ? TestNetFromSpec(spec, &gl, &g, &err) : NULL;
	float		x[4 * 4];
	uint64_t	seed = 8;

	if (ii && gi)
	{
		GraphNet   *gn = GraphOf(&g);
		double		worst;

		for (int i = 0; i < 16; i++)
			x[i] = TestUniform(&seed, 0.0f, 10.0f);
		worst = Worst(&g, 2, &inner, x, 4);
		CHECK(strcmp(gn->layers[1].name, "g.a") == 0 &&
			  gn->layers[2].n_sources == 2 && gn->layers[2].sources[0] == 1 &&
			  gn->layers[2].sources[1] == 0 && worst < 1e-5,
			  "embed: a graph's layers read what its layer reads where they read its input, and compute the same (worst %.2g)",
			  worst);
	}
	else
		CHECK(false, "embed: a graph as a layer (%s)", text ? err.message : "not trained");
	free(text);
	free(spec);
	free(ii);
	free(gi);
}

/* Descriptions and images that are refused, each with its reason. */
static void
TestRefusals(void)
{
	HnError		err;
	size_t		len;
	void	   *img;
	HnNet		net;
	struct
	{
		const char *json;
		HnStatus	code;
		const char *msg;
	}			cases[] = {
		{"{\"layers\": [4, {\"name\": \"e\", \"net\": \"encoder@main\"}]}",
		HANAMI_E_INVALID_SPEC, "names the stored network \"encoder@main\""},
		{"{\"layers\": [4, {\"net\": {\"layers\": [4, 2]}}]}",
		HANAMI_E_INVALID_SPEC, "with \"net\" has no \"name\""},
		{"{\"layers\": [4, {\"name\": \"e\", \"net\": 5}]}",
		HANAMI_E_MALFORMED_SPEC, "must be an object"},
		{"{\"layers\": [{\"name\": \"e\", \"net\": {\"layers\": [4, 2]}}, 2]}",
		HANAMI_E_INVALID_SPEC, "cannot be an input"},
		{"{\"layers\": [4, {\"name\": \"e\", \"activation\": \"tanh\", \"net\": {\"layers\": [4, 2]}}]}",
		HANAMI_E_INVALID_SPEC, "cannot be an input or have \"activation\""},
		{"{\"layers\": [3, {\"name\": \"e\", \"net\": {\"kind\": \"hanami\", \"layers\": [3, 4, 2]}}]}",
		HANAMI_E_INVALID_SPEC, "cannot be a network of kind \"hanami\""},
		{"{\"layers\": [4, {\"name\": \"e\", \"count\": 3, \"net\": {\"layers\": [4, 2]}}]}",
		HANAMI_E_INVALID_SPEC, "has \"count\" 3 but its network 2 outputs"},
		{"{\"layers\": [5, {\"name\": \"e\", \"net\": {\"layers\": [4, 2]}}]}",
		HANAMI_E_INVALID_SPEC, "reads 5 values but its network has 4 inputs"},
		{"{\"layers\": [4, {\"name\": \"e\", \"net\": {\"layers\": [{\"count\": 2, \"name\": \"a\"}, {\"count\": 2, \"name\": \"b\", \"input\": true}, {\"count\": 2, \"from\": [\"a\", \"b\"]}]}}]}",
		HANAMI_E_INVALID_SPEC, "has 2 input and 1 output layers"},
		{"{\"layers\": [4, {\"name\": \"e\", \"net\": {\"layers\": [4, 3]}}, 2]}",
		HANAMI_E_INVALID_SPEC, "ends in softmax and is not an output"},
		{"{\"layers\": [{\"count\": 2, \"name\": \"in\"}, {\"count\": 2, \"name\": \"h\"}, {\"name\": \"e\", \"from\": [\"in\", \"h\"], \"net\": {\"layers\": [4, 2]}}]}",
		HANAMI_E_INVALID_SPEC, "reads both input and hidden layers"},
		{"{\"layers\": [4, {\"name\": \"e\", \"net\": {\"layers\": [4, 2]}}], \"setup\": {\"data\": \"\"}}",
		HANAMI_E_INVALID_SPEC, "cannot have \"setup\""},
		{"{\"layers\": [4, {\"name\": \"abcdefghijklmnopqrstuvwxyz012\", \"net\": {\"layers\": [4, {\"count\": 3, \"name\": \"hidden\"}, 2]}}]}",
		HANAMI_E_INVALID_SPEC, "is too long"},
		{"{\"layers\": [4, {\"name\": \"e\", \"net\": {\"layers\": [4, 0]}}]}",
		HANAMI_E_INVALID_SPEC, "network of layer \"e\": "},
		{"{\"layers\": [4, {\"name\": \"e\", \"net\": {\"layers\": [4, 2], \"input_scaling\": false}}]}",
		HANAMI_E_INVALID_SPEC, "reads an input layer without clipping"},
		{"{\"layers\": [2, {\"name\": \"e\", \"net\": {\"layers\": [2, {\"count\": 3, \"activation\": {\"name\": \"w\", \"expression\": \"x\", \"derivative\": \"1\"}}, {\"count\": 1, \"activation\": \"identity\"}]}}]}",
		HANAMI_E_INVALID_SPEC, "has a custom activation on its layer 1"},
		{"{\"layers\": [{\"count\": 2, \"frozen\": true}, 2]}",
		HANAMI_E_INVALID_SPEC, "cannot be frozen"},
		{"{\"layers\": [2, {\"count\": 2, \"fixed_scaling\": true}]}",
		HANAMI_E_INVALID_SPEC, "cannot have fixed scaling"},
		{"{\"layers\": [4, {\"name\": \"e\", \"frozen\": 1, \"net\": {\"layers\": [4, 2]}}]}",
		HANAMI_E_INVALID_SPEC, "frozen must be a boolean"},
	};
	int			refused = 0;

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		if (TestSpecRefused(cases[c].json, cases[c].code, cases[c].msg))
			refused++;
	CHECK(refused == (int) (sizeof(cases) / sizeof(cases[0])),
		  "embed: %d malformed embeddings are refused with their reason", refused);

	img = TestNetFromSpec("{\"layers\": [4, {\"name\": \"e\", \"net\": \"m@main\"}]}", &len, NULL, &err);
	CHECK(img == NULL && strstr(err.hint, "resolve_nets") != NULL &&
		  strstr(err.hint, "create_model") != NULL,
		  "embed: the hint of a stored reference names create_model and resolve_nets");
	free(img);

	/* an unclipped network on an input layer, in a graph that never clips */
	img = TestNetFromSpec("{\"layers\": [4, {\"name\": \"e\", \"net\": {\"layers\": [4, 2], \"input_scaling\": false}, \"frozen\": true}],"
			   " \"input_scaling\": false}", &len, &net, &err);
	CHECK(img != NULL && GraphOf(&net) != NULL &&
		  (GraphOf(&net)->layers[0].flags & GRAPH_LAYER_FIXED_SCALING) &&
		  !(net.hdr->flags & GRAPH_FLAG_INPUT_CLIP),
		  "embed: a layered description with \"net\" is a graph; raw inputs stay raw in a graph without input scaling");
	free(img);

	/* a network whose scaling was never fitted: the outer fit learns it */
	img = TestNetFromSpec("{\"layers\": [4, {\"name\": \"e\", \"net\": {\"layers\": [4, 2]}}]}",
			   &len, &net, &err);
	CHECK(img != NULL && !(GraphOf(&net)->layers[0].flags & GRAPH_LAYER_FIXED_SCALING) &&
		  !(net.hdr->flags & GRAPH_FLAG_INPUT_CLIP),
		  "embed: an input scaling never fitted is left to the outer network's fit");
	free(img);

	/* an image: the frozen flag on an input, fixed scaling elsewhere */
	img = TestNetFromSpec("{\"layers\": [{\"count\": 3, \"name\": \"in\"}, {\"count\": 2, \"frozen\": true}]}",
			   &len, &net, &err);
	if (img != NULL)
	{
		GraphNet	g;
		HnNet		check;
		bool		ok = true;

		GraphBindTrusted(&g, img);
		g.layers[0].flags = GRAPH_LAYER_FROZEN;
		ok &= NetBind(&check, img, len, &err) == HANAMI_E_INVALID_FORMAT;
		g.layers[0].flags = GRAPH_LAYER_FIXED_SCALING;
		g.layers[1].flags = GRAPH_LAYER_FIXED_SCALING;
		ok &= NetBind(&check, img, len, &err) == HANAMI_E_INVALID_FORMAT;
		g.layers[1].flags = GRAPH_LAYER_FROZEN;
		ok &= NetBind(&check, img, len, &err) == HANAMI_OK;
		g.layers[1].flags = 0x10;
		ok &= NetBind(&check, img, len, &err) == HANAMI_E_INVALID_FORMAT;
		CHECK(ok, "embed: bind takes frozen computed layers and fixed-scaling inputs, and refuses them elsewhere and unknown flags");
	}
	else
		CHECK(false, "embed: a frozen layer in a description (%s)", err.message);
	free(img);
	/* every layer frozen: nothing to train */
	img = TestNetFromSpec("{\"layers\": [{\"count\": 3, \"name\": \"in\"}, {\"count\": 2, \"frozen\": true}]}",
			   &len, &net, &err);
	if (img != NULL)
	{
		HnDataset	ds;
		float	   *x;
		int32_t    *c;

		TestMakeData(&ds, &x, &c, 10, 1);
		ds.n_features = 3;
		ds.n_outputs = 2;
		for (int r = 0; r < 10; r++)
			c[r] = r % 2;
		CHECK(!Fit(&net, &ds, 1, "{}"), "embed: a graph whose layers are all frozen has nothing to fit");
		free(x);
		free(c);
	}
	free(img);
}

void
TestEmbedSuite(void)
{
	enum
	{
		N = 400
	};
	float	   *x = malloc(sizeof(float) * N * 4);
	float	   *y = malloc(sizeof(float) * N * 2);
	HnDataset	ds;
	char	   *dense;

	Values(&ds, x, y, N, 11);
	dense = Trained("{\"layers\": [4, {\"count\": 6, \"name\": \"h\", \"activation\": \"tanh\"}, {\"count\": 2, \"activation\": \"identity\"}], \"seed\": 7}",
					&ds);
	CHECK(dense != NULL, "embed: a dense network trained with input and output scaling");
	if (dense != NULL)
	{
		TestDenseOnInput(&ds, dense);
		TestDenseFolded(dense);
	}
	TestGraphInGraph(&ds);
	TestRefusals();
	free(dense);
	free(x);
	free(y);
}
