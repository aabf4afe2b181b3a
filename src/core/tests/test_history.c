/*
 * test_history.c - graph layers with a history (recurrence): descriptions,
 * the text form with a carried state, the strict bind, the carried state
 * and sequence starts in inference and evaluation, gradients of truncated
 * backpropagation through time against finite differences of the unrolled
 * loss, and a sequence task that a graph without history cannot learn.
 */
#include "harness.h"

#include <stdlib.h>

#include "core/fit.h"
#include "core/graph/graph.h"
#include "core/json.h"
#include "core/kind.h"

/* The text form (info) of net, malloc'd. */
static char *
Json(const HnNet *net, bool info)
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

#define ELMAN "{\"kind\": \"graph\", \"layers\": [{\"count\": 2, \"name\": \"in\"}," \
	" {\"count\": 3, \"name\": \"h\", \"activation\": \"tanh\", \"history\": 2}," \
	" {\"count\": 2, \"name\": \"out\", \"activation\": \"identity\"}], \"seed\": 3}"

/* Descriptions, sizes, the text form and info. */
static void
TestHistoryDescriptions(void)
{
	HnError		err;
	HnNet		net,
				back;
	size_t		len,
				len2;
	void	   *img = TestNetFromSpec(ELMAN, &len, &net, &err);
	void	   *img2 = NULL;
	GraphNet   *g;
	char	   *text,
			   *info;

	if (img == NULL)
	{
		CHECK(false, "history: a description with \"history\" (%s)", err.message);
		return;
	}
	g = GraphOf(&net);
	/* h: (2 + 2 * 3 + 1) * 3 = 27, out: (3 + 1) * 2 = 8; state 2 * 3 */
	CHECK(g->hdr->n_params == 35 && GraphStateSize(g) == 6 &&
		  GraphFanIn(g->layers, 1) == 8 && GraphSourceUnits(g->layers, 1) == 2 &&
		  net.kind->state_size(&net) == 6 * sizeof(float) &&
		  !HnRowsIndependent(&net),
		  "history: W[fan_in + N * count][count], a state of N * count values, rows not independent");
	for (size_t i = 0; i < GraphStateSize(g); i++)
		GraphState(g)[i] = 0.25f * (float) i;
	text = Json(&net, false);
	info = Json(&net, true);
	CHECK(text != NULL && strstr(text, "\"history\": 2") != NULL &&
		  info != NULL && strstr(info, "\"history\": 2") != NULL &&
		  strstr(info, "\"parameters\": 27") != NULL,
		  "history: the text form and info show it");
	if (text != NULL)
		img2 = TestNetFromSpec(text, &len2, &back, &err);
	CHECK(img2 != NULL && len2 == len && memcmp(img, img2, len) == 0,
		  "history: the text form round-trips, carried state included");
	free(text);
	free(info);
	free(img2);
	free(img);
	CHECK(TestSpecRefused("{\"kind\": \"graph\", \"layers\": [{\"count\": 2, \"history\": 1}, 3]}",
				  HANAMI_E_INVALID_SPEC, "cannot have a history"),
		  "history: refused on an input layer");
	CHECK(TestSpecRefused("{\"kind\": \"graph\", \"layers\": [2, {\"count\": 3, \"history\": 65}]}",
				  HANAMI_E_INVALID_SPEC, "history must be between 0 and 64") &&
		  TestSpecRefused("{\"kind\": \"graph\", \"layers\": [2, {\"count\": 3, \"history\": -1}]}",
				  HANAMI_E_INVALID_SPEC, "history must be between 0 and 64") &&
		  TestSpecRefused("{\"kind\": \"graph\", \"layers\": [2, {\"count\": 3, \"history\": \"2\"}]}",
				  HANAMI_E_INVALID_SPEC, "history must be a number"),
		  "history: more than 64 rows, a negative or a non-number history is refused");
	CHECK(TestSpecRefused("{\"kind\": \"graph\", \"layers\": [2, {\"count\": 1000000, \"history\": 64}]}",
				  HANAMI_E_TOO_LARGE, "too large"),
		  "history: a network too large for its weights is refused");
	img = TestNetFromSpec("{\"kind\": \"graph\", \"layers\": [2, {\"count\": 3, \"history\": 0}]}",
			   &len, &net, &err);
	CHECK(img != NULL && HnRowsIndependent(&net) &&
		  net.kind->state_size(&net) == 0,
		  "history: 0 is no history; rows stay independent");
	free(img);
}

/* The strict bind of images with a history. */
static void
TestHistoryBind(void)
{
	HnError		err;
	HnNet		net,
				check;
	size_t		len;
	void	   *img = TestNetFromSpec(ELMAN, &len, &net, &err);
	char	   *copy;
	GraphNet	g;
	bool		ok = true;

	if (img == NULL)
	{
		CHECK(false, "history: bind test network (%s)", err.message);
		return;
	}
	copy = TestCopy(img, len);
	GraphBindTrusted(&g, copy);
	GraphState(&g)[1] = NAN;
	ok &= NetBind(&check, copy, len, &err) == HANAMI_E_INVALID_FORMAT &&
		strstr(err.message, "state") != NULL;
	GraphState(&g)[1] = 1e30f;
	ok &= NetBind(&check, copy, len, &err) == HANAMI_OK;
	g.layers[1].history = 65;
	ok &= NetBind(&check, copy, len, &err) == HANAMI_E_INVALID_FORMAT;
	g.layers[1].history = 3;	/* the sizes no longer match */
	ok &= NetBind(&check, copy, len, &err) == HANAMI_E_INVALID_FORMAT;
	g.layers[1].history = 2;
	g.layers[0].history = 1;
	ok &= NetBind(&check, copy, len, &err) == HANAMI_E_INVALID_FORMAT;
	g.layers[0].history = 0;
	ok &= NetBind(&check, copy, len - 4, &err) == HANAMI_E_INVALID_FORMAT;
	ok &= NetBind(&check, copy, len, &err) == HANAMI_OK;
	CHECK(ok, "history: bind refuses a state that is not finite, a history over 64, sizes that do not match, an input's history, a short image");
	free(copy);
	free(img);
}

/* Fill parameters and scaling with values of a seed. */
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
 * The carried state: rows run in one call, or one call per row, give the
 * same outputs; a start clears the state; the kind's state operations.
 */
static void
TestHistoryState(void)
{
	HnError		err;
	HnNet		net;
	size_t		len;
	void	   *img = TestNetFromSpec(ELMAN, &len, &net, &err);
	GraphNet   *g;
	void	   *work;
	const int	rows = 7;
	float		x[7 * 2],
				all[7 * 2],
				one[7 * 2],
				fresh[2],
				again[2];
	uint8_t		starts[7] = {0, 0, 0, 0, 1, 0, 0};
	uint64_t	seed = 9;
	float	   *saved;
	bool		same = true;
	GraphWork  *w;

	if (img == NULL)
	{
		CHECK(false, "history: state test network (%s)", err.message);
		return;
	}
	g = GraphOf(&net);
	Perturb(g, 11);
	for (int i = 0; i < rows * 2; i++)
		x[i] = TestUniform(&seed, -1.0f, 1.0f);
	work = net.kind->work_create(&net, rows, &HnMallocAllocator, &err);
	net.kind->predict(&net, work, x, rows, all);
	net.kind->state_reset(&net);
	for (int r = 0; r < rows; r++)
		net.kind->predict(&net, work, x + r * 2, 1, one + r * 2);
	for (int i = 0; i < rows * 2; i++)
		same &= all[i] == one[i];
	CHECK(same, "history: rows in one call give the outputs of one call per row, the state carried");
	saved = malloc(net.kind->state_size(&net));
	net.kind->state_save(&net, saved);
	net.kind->state_reset(&net);
	net.kind->predict(&net, work, x + 4 * 2, 1, fresh);
	net.kind->state_load(&net, saved);
	net.kind->predict(&net, work, x + 4 * 2, 1, again);
	CHECK(memcmp(fresh, all + 4 * 2, sizeof(fresh)) != 0 &&
		  memcmp(again, fresh, sizeof(fresh)) != 0,
		  "history: the output of a row depends on the state; save and load keep it");
	/* a start in the middle clears the state: row 4 as if it were first */
	w = GraphWorkCreate(g, rows, false, &HnMallocAllocator, &err);
	memset(GraphState(g), 0, GraphStateSize(g) * sizeof(float));
	GraphForwardRows(g, w, x, starts, rows, one);
	memset(GraphState(g), 0, GraphStateSize(g) * sizeof(float));
	GraphForwardRows(g, w, x + 4 * 2, NULL, 3, all);
	same = memcmp(one + 4 * 2, all, 3 * 2 * sizeof(float)) == 0;
	CHECK(same, "history: a row that begins a sequence runs as if it were the first");
	GraphWorkFree(w, &HnMallocAllocator);
	net.kind->work_free(work, &HnMallocAllocator);
	free(saved);
	free(img);
}

/*
 * Truncated backpropagation through time against central differences of
 * the unrolled loss: rows rows from the same incoming state (constants),
 * with a sequence start at row start (none when 0), the mean loss of the
 * rows as a function of every parameter.
 */
static bool
GradCheck(const char *what, const char *json, int start)
{
	HnError		err;
	HnNet		net;
	size_t		len;
	void	   *img = TestNetFromSpec(json, &len, &net, &err);
	GraphNet   *g;
	GraphWork  *w;
	const int	rows = 6;
	uint8_t		starts[6] = {0};
	float	   *x,
			   *t,
			   *y,
			   *grad,
			   *state0;
	size_t		ns;
	uint64_t	seed = 21;
	double		worst = 0.0;
	bool		ok = true;

	if (img == NULL)
		return CHECK(false, "history gradients: %s (%s)", what, err.message);
	g = GraphOf(&net);
	Perturb(g, 5);
	ns = GraphStateSize(g);
	state0 = malloc(sizeof(float) * ns);
	for (size_t i = 0; i < ns; i++)
		state0[i] = GraphState(g)[i] = TestUniform(&seed, -0.9f, 0.9f);
	if (start > 0)
		starts[start] = 1;
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
	GraphForwardRows(g, w, x, starts, rows, y);
	GraphBackward(g, w, t, rows, ~0ULL);
	memcpy(grad, w->grad, sizeof(float) * g->hdr->n_params);
	for (uint64_t i = 0; i < g->hdr->n_params; i++)
	{
		float	   *p = g->params + i;
		float		keep = *p;
		double		lp,
					lm,
					num;
		const float h = 1e-2f;

		*p = keep + h;
		memcpy(GraphState(g), state0, sizeof(float) * ns);
		GraphForwardRows(g, w, x, starts, rows, y);
		lp = GraphLossRows(g, y, t, rows);
		*p = keep - h;
		memcpy(GraphState(g), state0, sizeof(float) * ns);
		GraphForwardRows(g, w, x, starts, rows, y);
		lm = GraphLossRows(g, y, t, rows);
		*p = keep;
		num = (lp - lm) / (2.0 * h) / rows;
		if (!TestClose(num, grad[i], 2e-3, 2e-2))
		{
			if (ok)
				TestNote("parameter %llu: numeric %g, backprop %g",
						 (unsigned long long) i, num, grad[i]);
			ok = false;
		}
		if (fabs(num - grad[i]) > worst)
			worst = fabs(num - grad[i]);
	}
	CHECK(ok, "history gradients match finite differences of the unrolled loss: %s (worst %.2g)",
		  what, worst);
	free(x);
	free(t);
	free(y);
	free(grad);
	free(state0);
	GraphWorkFree(w, &HnMallocAllocator);
	free(img);
	return ok;
}

static void
TestHistoryGradients(void)
{
	GradCheck("a hidden layer with a history of 2", ELMAN, 0);
	GradCheck("the same with a sequence starting at row 3", ELMAN, 3);
	GradCheck("an output layer with a history, softmax",
			  "{\"kind\": \"graph\", \"layers\": [{\"count\": 3, \"name\": \"in\"},"
			  " {\"count\": 4, \"name\": \"h\", \"activation\": \"sigmoid\"},"
			  " {\"count\": 3, \"from\": [\"h\", \"in\"], \"activation\": \"softmax\", \"history\": 1}]}",
			  0);
	GradCheck("two layers with histories, a merge and two outputs",
			  "{\"kind\": \"graph\", \"layers\": [{\"count\": 2, \"name\": \"in\"},"
			  " {\"count\": 3, \"name\": \"a\", \"activation\": \"tanh\", \"history\": 3},"
			  " {\"count\": 2, \"name\": \"b\", \"from\": [\"in\", \"a\"], \"activation\": \"elu\", \"history\": 1},"
			  " {\"count\": 2, \"name\": \"v\", \"from\": \"b\", \"output\": true, \"activation\": \"identity\"},"
			  " {\"count\": 1, \"name\": \"p\", \"from\": [\"a\", \"b\"], \"output\": true, \"activation\": \"sigmoid\"}]}",
			  2);
}

/*
 * n rows of sequences of len rows: a random bit x, class x XOR the bit
 * before (0 before the first); starts mark each sequence's first row.
 */
static void
XorRows(HnDataset *ds, float **x, int32_t **cls, uint8_t **starts, int64_t n,
		int len, uint64_t seed)
{
	*x = malloc(sizeof(float) * n);
	*cls = malloc(sizeof(int32_t) * n);
	*starts = malloc(n);
	for (int64_t r = 0; r < n; r++)
	{
		int			bit = TestUniform(&seed, 0.0f, 1.0f) < 0.5f;
		int			prev = r % len == 0 ? 0 : (*x)[r - 1] > 0.5f;

		(*x)[r] = (float) bit;
		(*cls)[r] = bit ^ prev;
		(*starts)[r] = r % len == 0;
	}
	*ds = (HnDataset) {n, 1, 2, *x, NULL, *cls, *starts};
}

/* Train a graph on the XOR task; its accuracy on held-out sequences. */
static double
XorAccuracy(const char *json, bool *refusals)
{
	HnError		err;
	HnNet		net;
	size_t		len;
	void	   *img = TestNetFromSpec(json, &len, &net, &err);
	HnDataset	train,
				test;
	float	   *x1,
			   *x2;
	int32_t    *c1,
			   *c2;
	uint8_t    *s1,
			   *s2;
	HnTrainOptions opt;
	HnTrainResult res;
	HnEvalResult ev = {0};
	HnEvalResult ev2 = {0};
	HnRows		rows,
				held;
	double		acc = -1.0;

	if (img == NULL)
	{
		TestNote("%s", err.message);
		return acc;
	}
	XorRows(&train, &x1, &c1, &s1, 1200, 20, 1);
	XorRows(&test, &x2, &c2, &s2, 400, 20, 2);
	rows = (HnRows) {&train, NULL, 0, NULL};
	held = (HnRows) {&test, NULL, 0, NULL};
	GraphOptions(&net, NULL, &HnMallocAllocator, &opt, &err);
	opt.epochs = 40;
	opt.batch_size = 10;
	opt.optim.learning_rate = 0.02f;
	if (refusals != NULL)
	{
		HnTrainOptions bad = opt;

		*refusals = !opt.shuffle;
		bad.shuffle = true;
		*refusals &= HnFit(&net, &rows, &bad, NULL, NULL, &HnMallocAllocator,
						   &res, &err) == HANAMI_E_INVALID_ARGUMENT &&
			strstr(err.message, "shuffle") != NULL;
		bad.shuffle = false;
		bad.validation_split = 0.2;
		*refusals &= HnFit(&net, &rows, &bad, NULL, NULL, &HnMallocAllocator,
						   &res, &err) == HANAMI_E_INVALID_ARGUMENT &&
			strstr(err.message, "validation_split") != NULL;
	}
	if (HnFit(&net, &rows, &opt, NULL, NULL, &HnMallocAllocator, &res, &err) == HANAMI_OK &&
		HnEvaluate(&net, &held, NULL, &HnMallocAllocator, &ev, &err) == HANAMI_OK &&
		HnEvaluate(&net, &held, NULL, &HnMallocAllocator, &ev2, &err) == HANAMI_OK)
		acc = ev.accuracy;
	else
		TestNote("%s", err.message);
	if (refusals != NULL)
	{
		bool		rest = true;

		for (size_t i = 0; i < GraphStateSize(GraphOf(&net)); i++)
			rest &= GraphState(GraphOf(&net))[i] == 0.0f;
		*refusals &= rest && ev.accuracy == ev2.accuracy && ev.loss == ev2.loss;
	}
	free(x1);
	free(x2);
	free(c1);
	free(c2);
	free(s1);
	free(s2);
	free(img);
	return acc;
}

static void
TestHistoryFit(void)
{
	bool		refusals = false;
	double		with = XorAccuracy("{\"kind\": \"graph\", \"layers\": [1,"
								   " {\"count\": 8, \"activation\": \"tanh\", \"history\": 1},"
								   " {\"count\": 2, \"activation\": \"softmax\"}], \"seed\": 4}",
								   &refusals);
	double		without = XorAccuracy("{\"kind\": \"graph\", \"layers\": [1,"
									  " {\"count\": 8, \"activation\": \"tanh\"},"
									  " {\"count\": 2, \"activation\": \"softmax\"}], \"seed\": 4}",
									  NULL);

	CHECK(refusals, "history: a fit takes the rows in order, refuses shuffle and validation_split, leaves no state; evaluation starts from a cleared state");
	CHECK(with >= 0.95 && without >= 0.0 && without <= 0.65,
		  "history: x XOR the bit before, held-out sequences: %.3f with a history of 1 (>= 0.95), %.3f without (<= 0.65)",
		  with, without);
}

void
TestHistorySuite(void)
{
	TestHistoryDescriptions();
	TestHistoryBind();
	TestHistoryState();
	TestHistoryGradients();
	TestHistoryFit();
}
