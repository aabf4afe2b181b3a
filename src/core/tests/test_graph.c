/*
 * test_graph.c - the graph kind: descriptions and their errors, the text
 * form's round trip, the strict bind, gradients against finite differences
 * (a skip connection, a merge of two branches, two inputs, two outputs
 * with different losses), a chain that computes what the dense network of
 * the same seed computes, and fits through the driver.
 */
#include "harness.h"

#include <stdlib.h>

#include "core/dense/kind.h"
#include "core/fit.h"
#include "core/graph/graph.h"
#include "core/json.h"
#include "core/kind.h"
#include "core/ports.h"

/* The text form of net (malloc'd). */
static char *
Text(const HnNet *net)
{
	HnBuf		buf;
	HnError		err;
	char	   *s;

	HnBufInit(&buf, &HnMallocAllocator);
	if (NetToJson(net, &buf, &err) != HANAMI_OK)
	{
		HnBufFree(&buf);
		return NULL;
	}
	s = strdup(buf.data);
	HnBufFree(&buf);
	return s;
}

static char *
Info(const HnNet *net)
{
	HnBuf		buf;
	HnError		err;
	char	   *s;

	HnBufInit(&buf, &HnMallocAllocator);
	if (NetInfo(net, &buf, &err) != HANAMI_OK)
	{
		HnBufFree(&buf);
		return NULL;
	}
	s = strdup(buf.data);
	HnBufFree(&buf);
	return s;
}

/* Fill the parameters and scaling with values other than the defaults. */
static void
Perturb(GraphNet *g, uint64_t seed)
{
	for (uint64_t i = 0; i < g->hdr->n_params; i++)
		g->params[i] = TestUniform(&seed, -0.8f, 0.8f);
	for (uint32_t i = 0; i < g->hdr->n_inputs; i++)
	{
		g->in_shift[i] = TestUniform(&seed, -0.2f, 0.2f);
		g->in_mul[i] = TestUniform(&seed, 0.5f, 1.5f);
	}
}

/*
 * Backpropagation against central differences of the summed loss, for
 * every parameter of the layers in mask, on rows rows of random inputs
 * and targets (targets of softmax outputs one-hot).
 */
static bool
GradCheck(const char *what, const char *json, uint64_t mask)
{
	HnError		err;
	HnNet		net;
	size_t		len;
	void	   *img = TestNetFromSpec(json, &len, &net, &err);
	GraphNet   *g;
	GraphWork  *w;
	const int	rows = 3;
	float	   *x,
			   *t,
			   *y,
			   *grad;
	uint64_t	seed = 77;
	double		worst = 0.0;
	bool		ok = true;

	if (img == NULL)
		return CHECK(false, "graph gradients: %s (%s)", what, err.message);
	g = GraphOf(&net);
	Perturb(g, 5);
	w = GraphWorkCreate(g, rows, true, &HnMallocAllocator, &err);
	x = malloc(sizeof(float) * rows * g->hdr->n_inputs);
	t = calloc((size_t) rows * g->hdr->n_outputs, sizeof(float));
	y = malloc(sizeof(float) * rows * g->hdr->n_outputs);
	grad = malloc(sizeof(float) * g->hdr->n_params);
	for (size_t i = 0; i < (size_t) rows * g->hdr->n_inputs; i++)
		x[i] = TestUniform(&seed, -1.0f, 1.0f);
	for (int r = 0; r < rows; r++)
	{
		uint32_t	at = 0;

		for (uint32_t l = 0; l < g->hdr->n_layers; l++)
		{
			const GraphLayer *ly = &g->layers[l];

			if (ly->role != GRAPH_ROLE_OUTPUT)
				continue;
			for (uint32_t j = 0; j < ly->count; j++)
				t[r * g->hdr->n_outputs + at + j] =
					ly->activation == HANAMI_ACT_SOFTMAX ?
					(float) (j == (uint32_t) r % ly->count) :
					TestUniform(&seed, -1.0f, 1.0f);
			at += ly->count;
		}
	}
	GraphForward(g, w, x, rows, y);
	GraphBackward(g, w, t, rows, mask);
	memcpy(grad, w->grad, sizeof(float) * g->hdr->n_params);
	for (uint32_t l = 1; l < g->hdr->n_layers; l++)
	{
		const GraphLayer *ly = &g->layers[l];
		size_t		np;

		if (ly->role == GRAPH_ROLE_INPUT || !(mask & ((uint64_t) 1 << l)))
			continue;
		np = (size_t) (GraphFanIn(g->layers, (int) l) + 1) * ly->count;
		for (size_t i = 0; i < np; i++)
		{
			float	   *p = g->params + ly->param_offset + i;
			float		keep = *p;
			double		lp,
						lm,
						num;
			const float h = 1e-2f;

			*p = keep + h;
			GraphForward(g, w, x, rows, y);
			lp = GraphLossRows(g, y, t, rows);
			*p = keep - h;
			GraphForward(g, w, x, rows, y);
			lm = GraphLossRows(g, y, t, rows);
			*p = keep;
			num = (lp - lm) / (2.0 * h) / rows;
			if (!TestClose(num, grad[ly->param_offset + i], 2e-3, 2e-2))
			{
				if (ok)
					TestNote("layer %u parameter %zu: numeric %g, backprop %g",
							 l, i, num, grad[ly->param_offset + i]);
				ok = false;
			}
			if (fabs(num - grad[ly->param_offset + i]) > worst)
				worst = fabs(num - grad[ly->param_offset + i]);
		}
	}
	CHECK(ok, "graph gradients match finite differences: %s (worst %.2g)",
		  what, worst);
	free(x);
	free(t);
	free(y);
	free(grad);
	GraphWorkFree(w, &HnMallocAllocator);
	free(img);
	return ok;
}

static void
TestGradients(void)
{
	GradCheck("skip connection",
			  "{\"kind\": \"graph\", \"layers\": [{\"count\": 4, \"name\": \"in\"},"
			  " {\"count\": 5, \"name\": \"h\", \"activation\": \"tanh\"},"
			  " {\"count\": 3, \"from\": [\"in\", \"h\"]}]}", ~0ULL);
	GradCheck("merge of two branches",
			  "{\"layers\": [{\"count\": 3, \"name\": \"in\"},"
			  " {\"count\": 4, \"name\": \"a\", \"from\": \"in\", \"activation\": \"tanh\"},"
			  " {\"count\": 2, \"name\": \"b\", \"from\": \"in\", \"activation\": \"sigmoid\"},"
			  " {\"count\": 3, \"name\": \"m\", \"from\": [\"b\", \"a\"], \"activation\": \"elu\"},"
			  " {\"count\": 2, \"from\": \"m\", \"activation\": \"identity\"}]}", ~0ULL);
	GradCheck("two inputs",
			  "{\"layers\": [{\"count\": 2, \"name\": \"x1\"},"
			  " {\"count\": 3, \"name\": \"x2\", \"input\": true},"
			  " {\"count\": 4, \"name\": \"h\", \"from\": [\"x2\", \"x1\"], \"activation\": \"tanh\"},"
			  " {\"count\": 3, \"from\": [\"h\", \"x1\"], \"activation\": \"softmax\"}]}", ~0ULL);
	GradCheck("two outputs with different losses, one read further",
			  "{\"layers\": [{\"count\": 3, \"name\": \"in\"},"
			  " {\"count\": 4, \"name\": \"h\", \"activation\": \"tanh\"},"
			  " {\"count\": 3, \"name\": \"cls\", \"output\": true, \"activation\": \"softmax\"},"
			  " {\"count\": 2, \"name\": \"val\", \"from\": [\"h\", \"cls\"], \"output\": true,"
			  "  \"activation\": \"identity\", \"loss\": \"mse\"}]}", ~0ULL);
	GradCheck("only the layers of a mask",
			  "{\"kind\": \"graph\", \"layers\": [{\"count\": 3, \"name\": \"in\"},"
			  " {\"count\": 4, \"name\": \"h\", \"activation\": \"tanh\"},"
			  " {\"count\": 4, \"name\": \"h2\", \"activation\": \"sigmoid\"},"
			  " {\"count\": 2, \"from\": [\"h2\", \"in\"], \"activation\": \"identity\"}]}",
			  (uint64_t) 1 << 1);
}

/* Descriptions: defaults, the kind picked, and every refusal. */
static void
TestDescriptions(void)
{
	HnError		err;
	HnNet		net;
	size_t		len;
	void	   *img;
	char	   *info;

	img = TestNetFromSpec("{\"layers\": [4, 8, 3]}", &len, &net, &err);
	CHECK(img && net.kind == &HnDenseKind,
		  "graph: a description without from, input or output stays dense");
	free(img);
	img = TestNetFromSpec("{\"layers\": [{\"count\": 4, \"name\": \"in\"}, {\"count\": 8, \"name\": \"h\"},"
			   " {\"count\": 3, \"name\": \"out\", \"from\": [\"in\", \"h\"]}]}", &len, &net, &err);
	CHECK(img && net.kind == &HnGraphKind && net.hdr->n_params == (4 + 1) * 8 + (12 + 1) * 3 &&
		  GraphOf(&net)->layers[1].activation == HANAMI_ACT_RELU &&
		  GraphOf(&net)->layers[2].activation == HANAMI_ACT_SOFTMAX &&
		  GraphOf(&net)->layers[2].loss == HANAMI_LOSS_CROSS_ENTROPY,
		  "graph: \"from\" picks the graph kind; defaults as dense (relu hidden, softmax + cross_entropy out)");
	info = img ? Info(&net) : NULL;
	CHECK(info && strstr(info, "\"edges\": [[\"in\", \"h\"], [\"in\", \"out\"], [\"h\", \"out\"]]") &&
		  strstr(info, "\"input_layers\": [\"in\"], \"output_layers\": [\"out\"]"),
		  "graph: info lists the edges, inputs and outputs");
	if (info)
		TestNote("%.300s", info);
	free(info);
	free(img);

	CHECK(TestSpecRefused("{\"kind\": \"graph\", \"layers\": [{\"count\": 2, \"name\": \"a\"}, {\"count\": 2, \"from\": \"b\"}]}",
				  HANAMI_E_INVALID_SPEC, "layer 1 reads unknown layer \"b\""),
		  "graph: an unknown name is refused, naming the layer");
	CHECK(TestSpecRefused("{\"kind\": \"graph\", \"layers\": [2, {\"count\": 2, \"name\": \"s\", \"from\": \"s\"}]}",
				  HANAMI_E_INVALID_SPEC, "layer \"s\" reads itself"),
		  "graph: a layer reading itself is refused");
	CHECK(TestSpecRefused("{\"kind\": \"graph\", \"layers\": [2, {\"count\": 2, \"name\": \"a\", \"from\": \"b\"}, {\"count\": 2, \"name\": \"b\"}]}",
				  HANAMI_E_INVALID_SPEC, "layer \"a\" reads layer \"b\", which comes after it"),
		  "graph: reading a later layer (a cycle) is refused");
	CHECK(TestSpecRefused("{\"kind\": \"graph\", \"layers\": [{\"count\": 2, \"name\": \"a\"}, {\"count\": 2, \"name\": \"a\"}]}",
				  HANAMI_E_INVALID_SPEC, "layer name \"a\" is used twice"),
		  "graph: duplicate names are refused");
	CHECK(TestSpecRefused("{\"kind\": \"graph\", \"layers\": [{\"count\": 2, \"name\": \"a\"}, {\"count\": 3, \"name\": \"h\"}, {\"count\": 2, \"from\": \"a\", \"output\": true}]}",
				  HANAMI_E_INVALID_SPEC, "layer \"h\" is read by no layer and is not an output"),
		  "graph: with outputs marked, a hidden layer nobody reads is refused");
	CHECK(TestSpecRefused("{\"layers\": [{\"count\": 2, \"name\": \"a\"}, {\"count\": 3, \"name\": \"b\", \"input\": true}, {\"count\": 2, \"from\": \"a\"}]}",
				  HANAMI_E_INVALID_SPEC, "input layer \"b\" is read by no layer"),
		  "graph: an input nobody reads is refused");
	CHECK(TestSpecRefused("{\"layers\": [{\"count\": 2, \"name\": \"a\"}, {\"count\": 3, \"input\": true, \"from\": \"a\"}, {\"count\": 2}]}",
				  HANAMI_E_INVALID_SPEC, "cannot have \"from\""),
		  "graph: an input with \"from\" is refused");
	CHECK(TestSpecRefused("{\"layers\": [{\"count\": 2, \"name\": \"a\", \"input\": false}, {\"count\": 2, \"from\": \"a\"}]}",
				  HANAMI_E_INVALID_SPEC, "must be an input"),
		  "graph: the first layer is always an input");
	CHECK(TestSpecRefused("{\"layers\": [{\"count\": 2, \"name\": \"a\"}, {\"count\": 3, \"name\": \"h\", \"activation\": \"softmax\"}, {\"count\": 2, \"from\": [\"h\", \"a\"]}]}",
				  HANAMI_E_INVALID_SPEC, "cannot have activation \"softmax\""),
		  "graph: softmax on a hidden layer is refused");
	CHECK(TestSpecRefused("{\"layers\": [{\"count\": 2, \"name\": \"a\"}, {\"count\": 3, \"name\": \"h\", \"loss\": \"mse\"}, {\"count\": 2, \"from\": [\"h\", \"a\"]}]}",
				  HANAMI_E_INVALID_SPEC, "is not an output and cannot have a loss"),
		  "graph: a loss on a hidden layer is refused");
	CHECK(TestSpecRefused("{\"layers\": [{\"count\": 2, \"name\": \"a\"}, {\"count\": 2, \"from\": \"a\", \"activation\": \"relu\", \"loss\": \"cross_entropy\"}]}",
				  HANAMI_E_INVALID_SPEC, "loss \"cross_entropy\" does not fit output layer 1"),
		  "graph: cross_entropy on a relu output is refused");
	CHECK(TestSpecRefused("{\"layers\": [{\"count\": 2, \"name\": \"a\"}, {\"count\": 2, \"from\": [\"a\", \"a\"]}]}",
				  HANAMI_E_INVALID_SPEC, "reads layer \"a\" twice"),
		  "graph: a source listed twice is refused");
	CHECK(TestSpecRefused("{\"layers\": [{\"count\": 2, \"name\": \"a\"}, {\"count\": 2, \"from\": [], \"output\": true}]}",
				  HANAMI_E_INVALID_SPEC, "lists 0 layers"),
		  "graph: an empty \"from\" is refused");
	CHECK(TestSpecRefused("{\"kind\": \"graph\", \"layers\": [{\"count\": 2}, {\"count\": 2, \"activation\": {\"name\": \"sq\", \"expression\": \"x*x\", \"derivative\": \"2*x\"}}]}",
				  HANAMI_E_INVALID_SPEC, "cannot be a custom activation"),
		  "graph: custom activations are refused with a reason");
}

/* The text form reads back to the same bytes, trained or not. */
static void
TestRoundTrip(void)
{
	const char *json =
		"{\"layers\": [{\"count\": 3, \"name\": \"x1\"}, {\"count\": 2, \"input\": true},"
		" {\"count\": 4, \"name\": \"h\", \"from\": [1, \"x1\"], \"activation\": \"tanh\"},"
		" {\"count\": 2, \"name\": \"c\", \"output\": true},"
		" {\"count\": 1, \"from\": [\"h\", \"c\"], \"output\": true, \"activation\": \"identity\"}],"
		" \"seed\": 3}";
	HnError		err;
	HnNet		net,
				back;
	size_t		len,
				len2 = 0;
	void	   *img = TestNetFromSpec(json, &len, &net, &err);
	void	   *img2 = NULL;
	char	   *text = NULL;

	if (img != NULL)
	{
		Perturb(GraphOf(&net), 11);
		net.hdr->flags |= GRAPH_FLAG_INPUT_FITTED | GRAPH_FLAG_INPUT_CLIP;
		net.hdr->epochs = 4;
		net.hdr->samples = 1234;
		text = Text(&net);
		img2 = text ? TestNetFromSpec(text, &len2, &back, &err) : NULL;
	}
	CHECK(img2 && len2 == len && memcmp(img, img2, len) == 0,
		  "graph: the text form (unnamed layers by index) reads back to the same bytes");
	if (text)
		TestNote("%.200s", text);
	free(text);
	free(img);
	free(img2);
}

/* Bind refuses every malformed image, and accepts the good one. */
static void
TestBind(void)
{
	HnError		err;
	HnNet		net,
				check;
	size_t		len;
	void	   *img = TestNetFromSpec("{\"layers\": [{\"count\": 3, \"name\": \"in\"}, {\"count\": 4, \"name\": \"h\"},"
						   " {\"count\": 2, \"from\": [\"in\", \"h\"]}]}", &len, &net, &err);
	struct
	{
		const char *what;
		size_t		off;		/* in the layer records */
		uint32_t	value;
		int			bytes;
	}			cases[] = {
		{"a source after the layer", offsetof(GraphLayer, sources), 2, 2},
		{"a source out of range", offsetof(GraphLayer, sources), 900, 2},
		{"a history its sizes leave no room for", offsetof(GraphLayer, history), 1, 4},
		{"an unknown layer flag", offsetof(GraphLayer, flags), 0x100, 4},
		{"a nonzero reserved field", offsetof(GraphLayer, reserved), 1, 4},
		{"an invalid role", offsetof(GraphLayer, role), 7, 2},
		{"a loss on an output that does not fit", offsetof(GraphLayer, loss), 9, 2},
		{"no sources", offsetof(GraphLayer, n_sources), 0, 2},
		{"too many sources", offsetof(GraphLayer, n_sources), 9, 2},
		{"a custom activation", offsetof(GraphLayer, activation), HANAMI_ACT_CUSTOM, 2},
		{"a wrong count", offsetof(GraphLayer, count), 5, 4},
		{"a nonzero unused source slot", offsetof(GraphLayer, sources) + 6, 1, 2},
	};
	int			refused = 0;

	if (img == NULL)
	{
		CHECK(false, "graph: bind test network (%s)", err.message);
		return;
	}
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
	{
		char	   *copy = TestCopy(img, len);
		char	   *at = copy + sizeof(HnHeader) + 2 * sizeof(GraphLayer) + cases[c].off;

		if (cases[c].bytes == 2)
		{
			uint16_t	v = (uint16_t) cases[c].value;

			memcpy(at, &v, 2);
		}
		else
			memcpy(at, &cases[c].value, 4);
		if (NetBind(&check, copy, len, &err) != HANAMI_OK &&
			err.code == HANAMI_E_INVALID_FORMAT)
			refused++;
		else
			TestNote("not refused: %s", cases[c].what);
		free(copy);
	}
	CHECK(refused == (int) (sizeof(cases) / sizeof(cases[0])),
		  "graph: bind refuses %d kinds of malformed layer records", refused);
	{
		char	   *copy = TestCopy(img, len);
		GraphNet	g;
		bool		ok = true;

		GraphBindTrusted(&g, copy);
		g.params[3] = NAN;
		ok &= NetBind(&check, copy, len, &err) == HANAMI_E_INVALID_FORMAT;
		g.params[3] = 0;
		g.in_mul[1] = 0;
		ok &= NetBind(&check, copy, len, &err) == HANAMI_E_INVALID_FORMAT;
		g.in_mul[1] = 1;
		((HnHeader *) copy)->loss = 1;
		ok &= NetBind(&check, copy, len, &err) == HANAMI_E_INVALID_FORMAT;
		((HnHeader *) copy)->loss = 0;
		((HnHeader *) copy)->n_params++;
		ok &= NetBind(&check, copy, len, &err) == HANAMI_E_INVALID_FORMAT;
		((HnHeader *) copy)->n_params--;
		ok &= NetBind(&check, copy, len - 4, &err) == HANAMI_E_INVALID_FORMAT;
		((HnHeader *) copy)->flags |= 0x100;
		ok &= NetBind(&check, copy, len, &err) == HANAMI_E_INVALID_FORMAT;
		((HnHeader *) copy)->flags &= ~0x100u;
		g.layers[0].sources[1] = 1;
		ok &= NetBind(&check, copy, len, &err) == HANAMI_E_INVALID_FORMAT;
		g.layers[0].sources[1] = 0;
		ok &= NetBind(&check, copy, len, &err) == HANAMI_OK;
		CHECK(ok, "graph: bind refuses a NaN weight, a zero multiplier, a header loss, a wrong parameter count, a short image, unknown flags, an input's source slot");
		free(copy);
	}
	free(img);
}

/* A chain described as a graph: the dense network's weights and outputs. */
static void
TestChainMatchesDense(void)
{
	HnError		err;
	HnNet		d,
				g;
	size_t		dl,
				gl;
	void	   *di = TestNetFromSpec("{\"layers\": [5, {\"count\": 7, \"activation\": \"tanh\"}, 6, 3], \"seed\": 21}",
						  &dl, &d, &err);
	void	   *gi = TestNetFromSpec("{\"kind\": \"graph\", \"layers\": [5, {\"count\": 7, \"activation\": \"tanh\"}, 6, 3], \"seed\": 21}",
						  &gl, &g, &err);
	float		x[4 * 5],
				yd[4 * 3],
				yg[4 * 3];
	uint64_t	seed = 3;
	bool		same = false;
	double		worst = 0.0;

	if (di && gi)
	{
		const DenseNet *dn = d.kind->dense_view(&d);
		void	   *wd = d.kind->work_create(&d, 4, &HnMallocAllocator, &err);
		void	   *wg = g.kind->work_create(&g, 4, &HnMallocAllocator, &err);

		same = d.hdr->n_params == g.hdr->n_params &&
			memcmp(dn->params, GraphOf(&g)->params, d.hdr->n_params * 4) == 0;
		for (int i = 0; i < 20; i++)
			x[i] = TestUniform(&seed, -2.0f, 2.0f);
		d.kind->predict(&d, wd, x, 4, yd);
		g.kind->predict(&g, wg, x, 4, yg);
		for (int i = 0; i < 12; i++)
			if (fabs(yd[i] - yg[i]) > worst)
				worst = fabs(yd[i] - yg[i]);
		d.kind->work_free(wd, &HnMallocAllocator);
		g.kind->work_free(wg, &HnMallocAllocator);
	}
	CHECK(same && worst < 1e-5,
		  "graph: a chain as a graph draws the dense weights of its seed and predicts the same (worst %.2g)",
		  worst);
	free(di);
	free(gi);
}

/* Fits through the driver: a skip graph learns; a skipped layer stays. */
static void
TestFit(void)
{
	HnError		err;
	HnNet		net;
	size_t		len;
	void	   *img = TestNetFromSpec("{\"layers\": [{\"count\": 4, \"name\": \"in\"}, {\"count\": 16, \"name\": \"h\"},"
						   " {\"count\": 3, \"name\": \"out\", \"from\": [\"in\", \"h\"]}], \"seed\": 1}",
						   &len, &net, &err);
	HnDataset	ds;
	float	   *x;
	int32_t    *cls;
	HnTrainOptions opt;
	HnTrainResult res;
	HnEvalResult ev = {0};
	HnRows		rows;
	float	   *h_before;
	bool		fitted;
	size_t		h_n;
	GraphNet   *g;

	if (img == NULL)
	{
		CHECK(false, "graph fit network (%s)", err.message);
		return;
	}
	g = GraphOf(&net);
	TestMakeData(&ds, &x, &cls, 300, 4);
	rows = (HnRows) {&ds, NULL, 0, NULL};
	if (GraphOptions(&net, NULL, &HnMallocAllocator, &opt, &err) != HANAMI_OK)
		TestNote("%s", err.message);
	opt.epochs = 30;
	opt.optim.learning_rate = 0.01f;
	fitted = HnFit(&net, &rows, &opt, NULL, NULL, &HnMallocAllocator, &res, &err) == HANAMI_OK &&
		HnEvaluate(&net, &rows, NULL, &HnMallocAllocator, &ev, &err) == HANAMI_OK;
	CHECK(fitted && ev.accuracy >= 0.85 && (net.hdr->flags & GRAPH_FLAG_INPUT_FITTED),
		  "graph: a skip-connection graph fits through the driver (accuracy %.3f >= 0.85), input scaling learnt",
		  ev.accuracy);
	/* to_skip "h": its weights stay as they are */
	h_n = (size_t) (4 + 1) * 16;
	h_before = malloc(h_n * sizeof(float));
	memcpy(h_before, GraphWeights(g, 1), h_n * sizeof(float));
	opt.train_mask &= ~((uint64_t) 1 << 1);
	opt.epochs = 2;
	CHECK(HnFit(&net, &rows, &opt, NULL, NULL, &HnMallocAllocator, &res, &err) == HANAMI_OK &&
		  memcmp(h_before, GraphWeights(g, 1), h_n * sizeof(float)) == 0,
		  "graph: a layer left out of the train mask keeps its weights");
	free(h_before);
	free(x);
	free(cls);
	free(img);
}

/* Two output layers: values side by side; class targets are refused. */
static void
TestTwoOutputsFit(void)
{
	HnError		err;
	HnNet		net;
	size_t		len;
	void	   *img = TestNetFromSpec("{\"layers\": [{\"count\": 2, \"name\": \"in\"}, {\"count\": 8, \"name\": \"h\", \"activation\": \"tanh\"},"
						   " {\"count\": 2, \"name\": \"c\", \"output\": true},"
						   " {\"count\": 1, \"name\": \"v\", \"from\": \"h\", \"output\": true, \"activation\": \"identity\"}], \"seed\": 4}",
						   &len, &net, &err);
	const int	n = 200;
	float	   *x = malloc(sizeof(float) * n * 2);
	float	   *y = malloc(sizeof(float) * n * 3);
	int32_t    *cls = calloc(n, sizeof(int32_t));
	uint64_t	seed = 9;
	HnDataset	ds = {n, 2, 3, x, y, NULL};
	HnDataset	dc = {n, 2, 3, x, NULL, cls};
	HnRows		rows = {&ds, NULL, 0, NULL};
	HnRows		crows = {&dc, NULL, 0, NULL};
	HnTrainOptions opt;
	HnTrainResult res;
	HnEvalResult ev = {0};
	double		first = 0;
	bool		fitted;

	for (int r = 0; r < n && img; r++)
	{
		float		a = TestUniform(&seed, -1, 1);
		float		b = TestUniform(&seed, -1, 1);

		x[2 * r] = a;
		x[2 * r + 1] = b;
		y[3 * r] = a > b;
		y[3 * r + 1] = a <= b;
		y[3 * r + 2] = 3 * a - b + 10;
	}
	if (img && GraphOptions(&net, NULL, &HnMallocAllocator, &opt, &err) == HANAMI_OK)
	{
		opt.epochs = 1;
		HnFit(&net, &rows, &opt, NULL, NULL, &HnMallocAllocator, &res, &err);
		first = res.loss;
		opt.epochs = 40;
		opt.optim.learning_rate = 0.02f;
	}
	fitted = img && HnFit(&net, &rows, &opt, NULL, NULL, &HnMallocAllocator, &res, &err) == HANAMI_OK &&
		HnEvaluate(&net, &rows, NULL, &HnMallocAllocator, &ev, &err) == HANAMI_OK;
	CHECK(fitted && res.loss < first / 4 && ev.mae < 1.0,
		  "graph: two outputs (softmax + mse) train together (loss %.3f from %.3f, mae %.3f)",
		  res.loss, first, ev.mae);
	CHECK(img && HnFit(&net, &crows, &opt, NULL, NULL, &HnMallocAllocator, &res, &err) == HANAMI_E_INVALID_ARGUMENT &&
		  strstr(err.message, "class targets need a graph with one output layer"),
		  "graph: class targets on two output layers are refused");
	free(x);
	free(y);
	free(cls);
	free(img);
}

/* Whether HnPortsGather refuses inputs with code. */
static bool
GatherRefused(HnNet *net, const char *inputs, HnStatus code)
{
	HnJsonDoc	doc;
	HnError		err;
	HnStatus	st;
	float		x[8];

	if (HnJsonParse(inputs, strlen(inputs), &HnMallocAllocator, &doc, &err) != HANAMI_OK)
		return false;
	st = HnPortsGather(net, doc.root, x, &err);
	HnJsonFree(&doc);
	return st == code;
}

/* The ports of a graph: its input and output layers, side by side. */
static void
TestPortsOfGraph(void)
{
	HnError		err;
	HnNet		net,
				one;
	size_t		len,
				olen;
	void	   *img = TestNetFromSpec("{\"layers\": [{\"count\": 2, \"name\": \"a\"}, {\"count\": 1, \"input\": true},"
						   " {\"count\": 3, \"name\": \"h\", \"from\": [\"a\", 1]},"
						   " {\"count\": 2, \"name\": \"p\", \"output\": true},"
						   " {\"count\": 1, \"name\": \"v\", \"from\": [\"h\", 1], \"output\": true, \"activation\": \"identity\"}],"
						   " \"seed\": 2}", &len, &net, &err);
	void	   *oimg = TestNetFromSpec("{\"kind\": \"graph\", \"layers\": [2, 3, 1]}", &olen, &one, &err);
	HnPort		in[4],
				out[4];
	const char *named = "{\"1\": [0.25], \"a\": [1, -2]}";
	float		x[3] = {0, 0, 0};
	HnJsonDoc	doc;
	bool		ok = false;

	if (img && oimg &&
		HnPorts(&net, false, in, 4) == 2 && HnPorts(&net, true, out, 4) == 2)
		ok = strcmp(in[0].name, "a") == 0 && in[0].offset == 0 && in[0].count == 2 &&
			strcmp(in[1].name, "1") == 0 && in[1].offset == 2 && in[1].count == 1 &&
			strcmp(out[0].name, "p") == 0 && out[0].offset == 0 && out[0].classes &&
			strcmp(out[1].name, "v") == 0 && out[1].offset == 2 && !out[1].classes;
	CHECK(ok, "graph: ports are the input and output layers in declared order (an unnamed one of several by its index)");
	ok = oimg && HnPorts(&one, false, in, 4) == 1 && HnPorts(&one, true, out, 4) == 1 &&
		strcmp(in[0].name, "input") == 0 && strcmp(out[0].name, "output") == 0 &&
		out[0].count == 1 && !out[0].classes;
	CHECK(ok, "graph: a lone unnamed input or output layer is \"input\" / \"output\"");
	ok = false;
	if (img && HnJsonParse(named, strlen(named), &HnMallocAllocator, &doc, &err) == HANAMI_OK)
	{
		ok = HnPortsGather(&net, doc.root, x, &err) == HANAMI_OK &&
			x[0] == 1 && x[1] == -2 && x[2] == 0.25f;
		HnJsonFree(&doc);
	}
	CHECK(ok, "graph: named inputs in any order give the row in declared order");
	CHECK(img &&
		  GatherRefused(&net, "{\"a\": [1, 2]}", HANAMI_E_INVALID_ARGUMENT) &&
		  GatherRefused(&net, "{\"a\": [1], \"1\": [0]}", HANAMI_E_DIMENSION) &&
		  GatherRefused(&net, "{\"a\": [1, \"x\"], \"1\": [0]}", HANAMI_E_INVALID_ARGUMENT) &&
		  GatherRefused(&net, "{\"a\": [1, 2], \"1\": [0], \"b\": [1]}", HANAMI_E_INVALID_ARGUMENT),
		  "graph: a missing, short, malformed or unknown named input is refused");
	free(img);
	free(oimg);
}

void
TestGraphSuite(void)
{
	TestPortsOfGraph();
	TestDescriptions();
	TestRoundTrip();
	TestBind();
	TestGradients();
	TestChainMatchesDense();
	TestFit();
	TestTwoOutputsFit();
}
