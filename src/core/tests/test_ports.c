/*
 * test_ports.c - named inputs and outputs (core/ports.h): each kind's
 * ports, the default for a kind without them, the "inputs" and "targets"
 * options read against them, an input row gathered by name, and the
 * evaluator's figures per output port on a network with several.
 */
#include "harness.h"

#include <stdlib.h>

#include "core/dense/kind.h"
#include "core/fit.h"
#include "core/json.h"
#include "core/kind.h"
#include "core/ports.h"

/* A network from a JSON description, bound; false on error. */
static bool
MakeNet(const char *desc, HnNet *net, void **img)
{
	size_t		len;
	HnError		err;

	*img = NULL;
	if (NetFromJson(desc, strlen(desc), NULL, &HnMallocAllocator, img, &len,
					&err) != HANAMI_OK ||
		NetBind(net, *img, len, &err) != HANAMI_OK)
	{
		TestNote("%s: %s", desc, err.message);
		free(*img);
		*img = NULL;
		return false;
	}
	return true;
}

/* A parsed JSON text (doc), its root or NULL. */
static const HnJson *
Parse(const char *text, HnJsonDoc *doc)
{
	HnError		err;

	if (HnJsonParse(text, strlen(text), &HnMallocAllocator, doc, &err) != HANAMI_OK)
	{
		TestNote("%s: %s", text, err.message);
		return NULL;
	}
	return doc->root;
}

/* Dense: layer 0 and the last layer, named or "input"/"output". */
static void
TestDensePorts(void)
{
	HnNet		net;
	void	   *img;
	HnPort		p[4];

	if (!CHECK(MakeNet("{\"layers\": [5, 8, 3]}", &net, &img), "dense network"))
		return;
	CHECK(HnPorts(&net, false, p, 4) == 1 && strcmp(p[0].name, "input") == 0 &&
		  p[0].offset == 0 && p[0].count == 5 && !p[0].classes,
		  "dense: unnamed input layer is port \"input\" of 5 values");
	CHECK(HnPorts(&net, true, p, 4) == 1 && strcmp(p[0].name, "output") == 0 &&
		  p[0].offset == 0 && p[0].count == 3 && p[0].classes,
		  "dense: unnamed softmax output layer is port \"output\" taking classes");
	CHECK(HnPorts(&net, true, p, 0) == 1, "dense: the count without room");
	free(img);

	if (!CHECK(MakeNet("{\"layers\": [{\"count\": 2, \"name\": \"xy\"}, 4, "
					   "{\"count\": 1, \"name\": \"z\", \"activation\": \"identity\"}]}",
					   &net, &img), "dense network with names"))
		return;
	CHECK(HnPorts(&net, false, p, 4) == 1 && strcmp(p[0].name, "xy") == 0 &&
		  p[0].count == 2, "dense: input port named after its layer");
	CHECK(HnPorts(&net, true, p, 4) == 1 && strcmp(p[0].name, "z") == 0 &&
		  p[0].count == 1 && !p[0].classes,
		  "dense: identity output port takes values, not classes");
	free(img);
}

/* Hanami: a port per input and output cell, in order, with offsets. */
static void
TestHanamiPorts(void)
{
	HnNet		net;
	void	   *img;
	HnPort		p[4];
	int			n;

	if (!CHECK(MakeNet("{\"kind\": \"hanami\", \"cells\": ["
					   "{\"position\": [0, 0], \"input\": 3, \"name\": \"x\"},"
					   "{\"position\": [0, 1], \"input\": 2},"
					   "{\"position\": [1, 0], \"neurons\": 8},"
					   "{\"position\": [2, 0], \"output\": 2, \"name\": \"a\"},"
					   "{\"position\": [1, 1], \"output\": 1, \"name\": \"b\"}]}",
					   &net, &img), "hanami network with two inputs and outputs"))
		return;
	n = HnPorts(&net, false, p, 4);
	CHECK(n == 2 && strcmp(p[0].name, "x") == 0 && p[0].offset == 0 &&
		  p[0].count == 3 && strcmp(p[1].name, "cell1") == 0 &&
		  p[1].offset == 3 && p[1].count == 2,
		  "hanami: input cells are ports; an unnamed one of several is cell<N>");
	n = HnPorts(&net, true, p, 4);
	CHECK(n == 2 && strcmp(p[0].name, "a") == 0 && p[0].offset == 0 &&
		  p[0].count == 2 && p[0].classes && strcmp(p[1].name, "b") == 0 &&
		  p[1].offset == 2 && p[1].count == 1,
		  "hanami: output cells are ports taking classes, offsets in order");
	CHECK(HnPorts(&net, true, p, 1) == 2 && strcmp(p[0].name, "a") == 0,
		  "hanami: the count beyond the room given");
	free(img);

	if (!CHECK(MakeNet("{\"kind\": \"hanami\", \"layers\": [4, 6, 2]}", &net, &img),
			   "hanami layered network"))
		return;
	CHECK(HnPorts(&net, false, p, 4) == 1 && strcmp(p[0].name, "input") == 0 &&
		  p[0].count == 4, "hanami: the only unnamed input cell is \"input\"");
	CHECK(HnPorts(&net, true, p, 4) == 1 && strcmp(p[0].name, "output") == 0 &&
		  p[0].count == 2, "hanami: the only unnamed output cell is \"output\"");
	free(img);
}

static HnOutputs
ClassOutputs(const HnNet *net, char *why, size_t why_len)
{
	return HANAMI_OUTPUTS_CLASSES;
}

/* A kind without the ports operation: one port each way. */
static void
TestDefaultPorts(void)
{
	HnKind		bare = {.name = "bare", .outputs = ClassOutputs};
	HnNet		net;
	void	   *img;
	HnPort		p[2];

	if (!CHECK(MakeNet("{\"layers\": [{\"count\": 3, \"name\": \"in\"}, 2]}",
					   &net, &img), "dense network"))
		return;
	net.kind = &bare;
	CHECK(HnPorts(&net, false, p, 2) == 1 && strcmp(p[0].name, "input") == 0 &&
		  p[0].count == 3 && p[0].offset == 0,
		  "no ports operation: one input port \"input\" of every input");
	CHECK(HnPorts(&net, true, p, 2) == 1 && strcmp(p[0].name, "output") == 0 &&
		  p[0].count == 2 && p[0].classes,
		  "no ports operation: one output port \"output\", classes as the kind says");
	free(img);
}

/* HnPortMapRead of options text against net: status, and err. */
static HnStatus
ReadMap(const HnNet *net, const char *text, const char *key, HnPortMap *map,
		HnError *err)
{
	HnJsonDoc	doc = {0};
	const HnJson *root = Parse(text, &doc);
	HnStatus	st;

	if (root == NULL)
		return HANAMI_E_INTERNAL;
	st = HnPortMapRead(net, root, key, &HnMallocAllocator, map, err);
	HnJsonFree(&doc);
	return st;
}

static void
FreeMap(HnPortMap *map)
{
	HnPortMapFree(map, &HnMallocAllocator);
}

/* The options, read in the network's order, and their errors. */
static void
TestPortMap(void)
{
	HnNet		net;
	void	   *img;
	HnPortMap	map;
	HnError		err;
	HnStatus	st;

	if (!CHECK(MakeNet("{\"kind\": \"hanami\", \"cells\": ["
					   "{\"position\": [0, 0], \"input\": 3, \"name\": \"x\"},"
					   "{\"position\": [0, 1], \"input\": 2, \"name\": \"y\"},"
					   "{\"position\": [1, 0], \"neurons\": 8},"
					   "{\"position\": [2, 0], \"output\": 2, \"name\": \"a\"},"
					   "{\"position\": [1, 1], \"output\": 1, \"name\": \"b\"}]}",
					   &net, &img), "hanami network"))
		return;
	st = ReadMap(&net, "{\"inputs\": {\"y\": \"v\", \"x\": [\"c1\", \"c2\"]}}",
				 "inputs", &map, &err);
	CHECK(st == HANAMI_OK && map.n == 2 &&
		  strcmp(map.ports[0].port, "x") == 0 && map.ports[0].n_columns == 2 &&
		  strcmp(map.ports[0].columns[1], "c2") == 0 &&
		  strcmp(map.ports[1].port, "y") == 0 && map.ports[1].n_columns == 1 &&
		  strcmp(map.ports[1].columns[0], "v") == 0,
		  "inputs: ports in the network's order whatever the keys' order");
	FreeMap(&map);
	st = ReadMap(&net, "{\"epochs\": 1}", "inputs", &map, &err);
	CHECK(st == HANAMI_OK && map.n == 0, "inputs: absent, an empty map");
	st = ReadMap(&net, "{\"inputs\": {\"x\": \"a\", \"y\": \"b\", \"w\": \"c\"}}",
				 "inputs", &map, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT &&
		  strstr(err.message, "unknown input layer \"w\"") != NULL &&
		  strstr(err.hint, "\"x\" and \"y\"") != NULL,
		  "inputs: an unknown layer is named, the layers listed (%s)", err.message);
	FreeMap(&map);
	st = ReadMap(&net, "{\"inputs\": {\"x\": \"a\"}}", "inputs", &map, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT &&
		  strstr(err.message, "input layer \"y\"") != NULL,
		  "inputs: a missing layer is named (%s)", err.message);
	FreeMap(&map);
	st = ReadMap(&net, "{\"inputs\": {\"x\": [\"a\", 2], \"y\": \"b\"}}",
				 "inputs", &map, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT && strstr(err.message, "\"x\"") != NULL,
		  "inputs: a column that is not a string (%s)", err.message);
	FreeMap(&map);
	st = ReadMap(&net, "{\"targets\": {\"a\": \"l\", \"b\": [\"m\"]}}",
				 "targets", &map, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT && strstr(err.message, "\"b\"") != NULL,
		  "targets: one column per output layer, not a list (%s)", err.message);
	FreeMap(&map);
	st = ReadMap(&net, "{\"targets\": {\"b\": \"m\", \"a\": \"l\"}}",
				 "targets", &map, &err);
	CHECK(st == HANAMI_OK && map.n == 2 && strcmp(map.ports[0].port, "a") == 0 &&
		  strcmp(map.ports[0].columns[0], "l") == 0 &&
		  strcmp(map.ports[1].columns[0], "m") == 0,
		  "targets: in the network's order");
	FreeMap(&map);
	st = ReadMap(&net, "{\"targets\": \"l\"}", "targets", &map, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT, "targets: must be an object");
	FreeMap(&map);
	free(img);
}

/* An input row from named arrays. */
static void
TestGather(void)
{
	HnNet		net;
	void	   *img;
	HnJsonDoc	doc = {0};
	HnError		err;
	float		x[5] = {0};
	HnStatus	st;

	if (!CHECK(MakeNet("{\"kind\": \"hanami\", \"cells\": ["
					   "{\"position\": [0, 0], \"input\": 3, \"name\": \"x\"},"
					   "{\"position\": [0, 1], \"input\": 2, \"name\": \"y\"},"
					   "{\"position\": [1, 0], \"neurons\": 8},"
					   "{\"position\": [2, 0], \"output\": 2}]}",
					   &net, &img), "hanami network"))
		return;
	st = HnPortsGather(&net, Parse("{\"y\": [4, 5], \"x\": [1, 2, 3]}", &doc), x, &err);
	CHECK(st == HANAMI_OK && x[0] == 1 && x[2] == 3 && x[3] == 4 && x[4] == 5,
		  "gather: each port's values at its offset");
	HnJsonFree(&doc);
	st = HnPortsGather(&net, Parse("{\"y\": [4], \"x\": [1, 2, 3]}", &doc), x, &err);
	CHECK(st == HANAMI_E_DIMENSION && strstr(err.message, "\"y\"") != NULL,
		  "gather: a wrong count names the layer (%s)", err.message);
	HnJsonFree(&doc);
	st = HnPortsGather(&net, Parse("{\"x\": [1, 2, 3]}", &doc), x, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT && strstr(err.message, "\"y\"") != NULL,
		  "gather: a missing layer is named (%s)", err.message);
	HnJsonFree(&doc);
	st = HnPortsGather(&net, Parse("{\"y\": [4, 5], \"x\": [1, 2, 3], \"z\": []}", &doc), x, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT && strstr(err.message, "\"z\"") != NULL,
		  "gather: an unknown layer is named (%s)", err.message);
	HnJsonFree(&doc);
	st = HnPortsGather(&net, Parse("{\"y\": [4, null], \"x\": [1, 2, 3]}", &doc), x, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT, "gather: a value that is not a number");
	HnJsonFree(&doc);
	st = HnPortsGather(&net, Parse("{\"y\": [4, 1e60], \"x\": [1, 2, 3]}", &doc), x, &err);
	CHECK(st == HANAMI_E_NOT_FINITE, "gather: a value beyond a real");
	HnJsonFree(&doc);
	st = HnPortsGather(&net, Parse("[1, 2, 3, 4, 5]", &doc), x, &err);
	CHECK(st == HANAMI_E_INVALID_ARGUMENT, "gather: not an object");
	HnJsonFree(&doc);
	free(img);
}

/*
 * A kind of two output ports over a dense network: every operation the
 * evaluator calls is the dense kind's, on the network seen as dense.
 */
static HnKindFit split_fit;

static HnNet
AsDense(const HnNet *net)
{
	HnNet		d = *net;

	d.kind = &HnDenseKind;
	return d;
}

static void *
SplitWorkCreate(const HnNet *net, int max_batch, const HnAllocator *alloc,
				HnError *err)
{
	HnNet		d = AsDense(net);

	return HnDenseKind.work_create(&d, max_batch, alloc, err);
}

static void
SplitWorkTune(const HnNet *net, void *work)
{
	HnNet		d = AsDense(net);

	HnDenseKind.work_tune(&d, work);
}

static void
SplitPredict(HnNet *net, void *work, const float *x, int n, float *out)
{
	HnNet		d = AsDense(net);

	HnDenseKind.predict(&d, work, x, n, out);
}

static HnOutputs
SplitOutputs(const HnNet *net, char *why, size_t why_len)
{
	HnNet		d = AsDense(net);

	return HnDenseKind.outputs(&d, why, why_len);
}

static HnStatus
SplitCheckTargets(const HnNet *net, const float *y, int64_t n, int64_t row0,
				  HnError *err)
{
	HnNet		d = AsDense(net);

	return HnDenseKind.fit->check_targets ?
		HnDenseKind.fit->check_targets(&d, y, n, row0, err) : HANAMI_OK;
}

static void
SplitTargets(const HnNet *net, float *t, int n)
{
	HnNet		d = AsDense(net);

	if (HnDenseKind.fit->targets)
		HnDenseKind.fit->targets(&d, t, n);
}

static double
SplitLoss(const HnNet *net, float *out, const float *t, int n)
{
	HnNet		d = AsDense(net);

	return HnDenseKind.fit->loss(&d, out, t, n);
}

/* Two ports of a dense network's three outputs: "cls" (2, classes), "val". */
static int
SplitPorts(const HnNet *net, bool outputs, HnPort *out, int max)
{
	HnPort		p[2] = {{"cls", 0, 2, true}, {"val", 2, 1, false}};
	int			n = outputs ? 2 : 1;

	if (!outputs)
	{
		HnNet		d = AsDense(net);

		return HnDenseKind.ports(&d, false, out, max);
	}
	for (int i = 0; i < n && i < max; i++)
		out[i] = p[i];
	return n;
}

/* The evaluator's figures per output port, against a direct count. */
static void
TestEvaluatePorts(void)
{
	HnKind		split = {.name = "split", .ports = SplitPorts};
	HnNet		net;
	void	   *img;
	enum
	{
		N = 40
	};
	float		x[N * 2];
	float		y[N * 3];
	float		out[3];
	HnDataset	ds = {N, 2, 3, x, y, NULL};
	HnRows		rows = {&ds, NULL, 0, NULL};
	HnPortMetrics m[HANAMI_MAX_PORTS];
	HnEvalResult res;
	HnError		err;
	void	   *work;
	uint64_t	seed = 7;
	int64_t		correct = 0;
	double		se_val = 0.0;
	double		ae_val = 0.0;
	double		se_cls = 0.0;
	double		mean = 0.0;
	double		ss = 0.0;
	HnStatus	st;

	split_fit = *HnDenseKind.fit;
	split_fit.check_targets = SplitCheckTargets;
	split_fit.targets = SplitTargets;
	split_fit.loss = SplitLoss;
	split.fit = &split_fit;
	split.work_create = SplitWorkCreate;
	split.work_free = HnDenseKind.work_free;
	split.work_tune = SplitWorkTune;
	split.predict = SplitPredict;
	split.outputs = SplitOutputs;
	split.rows_independent = HnDenseKind.rows_independent;
	if (!CHECK(MakeNet("{\"layers\": [2, 6, {\"count\": 3, \"activation\": \"sigmoid\"}], \"loss\": \"mse\"}",
					   &net, &img), "dense network of 3 outputs"))
		return;
	net.kind = &split;
	for (int r = 0; r < N; r++)
	{
		x[r * 2] = TestUniform(&seed, -1, 1);
		x[r * 2 + 1] = TestUniform(&seed, -1, 1);
		y[r * 3] = r % 2 == 0 ? 1.0f : 0.0f;
		y[r * 3 + 1] = r % 2 == 0 ? 0.0f : 1.0f;
		y[r * 3 + 2] = TestUniform(&seed, 0, 1);
		mean += y[r * 3 + 2] / N;
	}
	/* the figures counted directly, through the same inference */
	work = net.kind->work_create(&net, 1, &HnMallocAllocator, &err);
	net.kind->work_tune(&net, work);
	for (int r = 0; r < N; r++)
	{
		double		d;

		net.kind->predict(&net, work, x + r * 2, 1, out);
		correct += HnOutputClass(out, 2) == (r % 2 == 0 ? 0 : 1);
		for (int j = 0; j < 2; j++)
			se_cls += ((double) out[j] - y[r * 3 + j]) * ((double) out[j] - y[r * 3 + j]);
		d = (double) out[2] - y[r * 3 + 2];
		se_val += d * d;
		ae_val += fabs(d);
		ss += (y[r * 3 + 2] - mean) * (y[r * 3 + 2] - mean);
	}
	net.kind->work_free(work, &HnMallocAllocator);

	memset(&res, 0, sizeof(res));
	res.ports = m;
	st = HnEvaluate(&net, &rows, NULL, &HnMallocAllocator, &res, &err);
	if (!CHECK(st == HANAMI_OK && res.n_ports == 2, "evaluate: two output ports measured"))
		return;
	CHECK(strcmp(m[0].name, "cls") == 0 && m[0].classes &&
		  TestClose(m[0].accuracy, (double) correct / N, 1e-12, 0),
		  "evaluate: accuracy of the classes port (%g, counted %g)",
		  m[0].accuracy, (double) correct / N);
	CHECK(TestClose(m[0].mse, se_cls / (N * 2), 1e-9, 1e-9),
		  "evaluate: mse of the classes port over its own units");
	CHECK(strcmp(m[1].name, "val") == 0 && !m[1].classes && isnan(m[1].accuracy) &&
		  TestClose(m[1].mse, se_val / N, 1e-9, 1e-9) &&
		  TestClose(m[1].mae, ae_val / N, 1e-9, 1e-9) &&
		  TestClose(m[1].r2, 1.0 - se_val / ss, 1e-9, 1e-6),
		  "evaluate: mse, mae and r2 of the values port (r2 %g, counted %g)",
		  m[1].r2, 1.0 - se_val / ss);
	CHECK(TestClose(res.mse, (se_cls + se_val) / (N * 3), 1e-9, 1e-9),
		  "evaluate: the whole network's mse is unchanged");

	/* one port, or no buffer: nothing per port */
	net.kind = &HnDenseKind;
	memset(&res, 0, sizeof(res));
	res.ports = m;
	st = HnEvaluate(&net, &rows, NULL, &HnMallocAllocator, &res, &err);
	CHECK(st == HANAMI_OK && res.n_ports == 0, "evaluate: one output port, no figures per port");
	net.kind = &split;
	memset(&res, 0, sizeof(res));
	st = HnEvaluate(&net, &rows, NULL, &HnMallocAllocator, &res, &err);
	CHECK(st == HANAMI_OK && res.n_ports == 0, "evaluate: no buffer, no figures per port");
	free(img);
}

void
TestPortsSuite(void)
{
	TestDensePorts();
	TestHanamiPorts();
	TestDefaultPorts();
	TestPortMap();
	TestGather();
	TestEvaluatePorts();
}
