/*
 * test_custom_act.c - unit tests of custom activations in dense networks:
 * a custom tanh trains as the built-in one does, backprop through swish
 * matches finite differences, the text form round-trips to the same bytes,
 * info lists the activation, and bind refuses forged program areas.
 */
#include "harness.h"

#include <stdlib.h>

#include "core/dense/dense.h"
#include "core/dense/kind.h"
#include "core/fit.h"
#include "core/json.h"
#include "core/kind.h"
#include "core/train.h"

#define SWISH "{\"name\": \"swish\", \"expression\": \"x * sigmoid(x)\", " \
	"\"derivative\": \"sigmoid(x) * (1 + x * (1 - sigmoid(x)))\"}"

/* A network from text (malloc'd image), bound; NULL and err when refused. */
static void *
Read(const char *text, HnNet *net, HnError *err)
{
	void	   *image;
	size_t		len;

	if (NetFromJson(text, strlen(text), NULL, &HnMallocAllocator, &image, &len,
					err) != HANAMI_OK)
		return NULL;
	if (NetBind(net, image, len, err) != HANAMI_OK)
	{
		free(image);
		return NULL;
	}
	return image;
}

/* The text form (or info) of a bound network, malloc'd. */
static char *
Text(const HnNet *net, bool info)
{
	HnBuf		buf;
	HnError		err;

	HnBufInit(&buf, &HnMallocAllocator);
	if ((info ? NetInfo(net, &buf, &err) : NetToJson(net, &buf, &err)) != HANAMI_OK)
	{
		HnBufFree(&buf);
		return NULL;
	}
	return buf.data;
}

/* y = sin(2 x0) * x1 on 256 rows in [-1, 1]. */
static void
Rows(HnDataset *ds, float *x, float *y)
{
	uint64_t	s = 3;

	for (int r = 0; r < 256; r++)
	{
		x[2 * r] = TestUniform(&s, -1.0f, 1.0f);
		x[2 * r + 1] = TestUniform(&s, -1.0f, 1.0f);
		y[r] = sinf(2.0f * x[2 * r]) * x[2 * r + 1];
	}
	memset(ds, 0, sizeof(*ds));
	ds->n = 256;
	ds->n_features = 2;
	ds->n_outputs = 1;
	ds->x = x;
	ds->y = y;
}

/* Custom "tanh(x)" / "1 - y^2" against the built-in tanh. */
static void
TestTanhTrains(void)
{
	const char *custom = "{\"layers\": [2, {\"count\": 12, \"activation\": "
		"{\"name\": \"my_tanh\", \"expression\": \"tanh(x)\", \"derivative\": \"1 - y^2\"}}, 1], "
		"\"seed\": 5, \"loss\": \"mse\"}";
	const char *builtin = "{\"layers\": [2, {\"count\": 12, \"activation\": \"tanh\"}, 1], "
		"\"seed\": 5, \"loss\": \"mse\"}";
	HnNet		a,
				b;
	HnError		err;
	void	   *ia = Read(custom, &a, &err);
	void	   *ib = Read(builtin, &b, &err);
	HnDataset	ds;
	float		x[512],
				y[256];
	HnRows		rows;
	HnTrainOptions opt;
	HnTrainResult ra,
				rb;
	HnStatus	sa,
				sb;
	const DenseNet *da,
			   *db;
	double		first;

	if (!CHECK(ia != NULL && ib != NULL, "custom tanh: both networks built"))
	{
		TestNote("%s", err.message);
		return;
	}
	da = DenseOf(&a);
	db = DenseOf(&b);
	CHECK(da->n_programs == 1 && da->layers[1].activation == HANAMI_ACT_CUSTOM &&
		  da->layers[1].reserved16 == 1 &&
		  memcmp(da->params, db->params, db->hdr->n_params * sizeof(float)) == 0,
		  "custom tanh: one program, and the initial weights of the built-in tanh (gain 1)");
	Rows(&ds, x, y);
	rows = (HnRows) {&ds, NULL, 0, NULL};
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 1;
	opt.batch_size = 16;
	opt.shuffle = false;
	opt.optim.learning_rate = 0.01f;
	sa = HnFit(&a, &rows, &opt, NULL, NULL, &HnMallocAllocator, &ra, &err);
	first = ra.loss;
	opt.epochs = 60;
	sa = sa == HANAMI_OK ?
		HnFit(&a, &rows, &opt, NULL, NULL, &HnMallocAllocator, &ra, &err) : sa;
	opt.epochs = 1;
	sb = HnFit(&b, &rows, &opt, NULL, NULL, &HnMallocAllocator, &rb, &err);
	opt.epochs = 60;
	sb = sb == HANAMI_OK ?
		HnFit(&b, &rows, &opt, NULL, NULL, &HnMallocAllocator, &rb, &err) : sb;
	if (!CHECK(sa == HANAMI_OK && sb == HANAMI_OK && ra.loss < first * 0.5 &&
			   TestClose(ra.loss, rb.loss, 1e-4, 1e-2),
			   "custom tanh: trains to the loss of the built-in tanh (%.6g vs %.6g, from %.6g)",
			   ra.loss, rb.loss, first))
		TestNote("status %d %d: %s", (int) sa, (int) sb, err.message);
	{
		float		pa[256],
					pb[256];
		DenseWork  *wa = DenseWorkCreate(da, 256, false, &HnMallocAllocator, &err);
		DenseWork  *wb = DenseWorkCreate(db, 256, false, &HnMallocAllocator, &err);
		double		worst = 0;

		DensePredict(da, wa, x, 256, pa);
		DensePredict(db, wb, x, 256, pb);
		for (int r = 0; r < 256; r++)
			worst = fmax(worst, fabs((double) pa[r] - pb[r]));
		CHECK(worst < 1e-2, "custom tanh: predictions within 0.01 of the built-in (%.3g)",
			  worst);
		DenseWorkFree(wa, &HnMallocAllocator);
		DenseWorkFree(wb, &HnMallocAllocator);
	}
	free(ia);
	free(ib);
}

/* Backprop through swish (hidden and output) against central differences. */
static void
TestSwishGradient(void)
{
	const char *spec = "{\"layers\": [3, {\"count\": 6, \"activation\": " SWISH
		"}, {\"count\": 2, \"activation\": " SWISH "}], \"loss\": \"mse\", "
		"\"seed\": 11, \"input_scaling\": false}";
	HnNet		hn;
	HnError		err;
	void	   *image = Read(spec, &hn, &err);
	DenseNet   *net;
	DenseWork  *work;
	float		x[4 * 3],
				t[4 * 2];
	float	   *grad;
	uint64_t	s = 99;
	int			checked = 0;
	bool		ok = true;
	const float h = 1e-3f;

	if (!CHECK(image != NULL, "swish: network built"))
	{
		TestNote("%s", err.message);
		return;
	}
	net = DenseOf(&hn);
	CHECK(net->n_programs == 1 && net->layers[1].reserved16 == 1 &&
		  net->layers[2].reserved16 == 1,
		  "swish: two layers share one program");
	for (int l = 1; l < 3; l++)
		for (uint32_t j = 0; j < net->layers[l].count; j++)
			DenseBias(net, l)[j] = TestUniform(&s, -0.3f, 0.3f);
	for (int i = 0; i < 12; i++)
		x[i] = TestUniform(&s, -1.5f, 1.5f);
	for (int i = 0; i < 8; i++)
		t[i] = TestUniform(&s, -1.0f, 1.0f);
	work = DenseWorkCreate(net, 4, true, &HnMallocAllocator, &err);
	grad = malloc(sizeof(float) * net->hdr->n_params);
	DenseForward(net, work, x, 4);
	DenseBackward(net, work, t, 4, ~(uint64_t) 1);
	memcpy(grad, work->grad, sizeof(float) * net->hdr->n_params);
	for (size_t p = 0; p < net->hdr->n_params; p += 3)
	{
		float		saved = net->params[p];
		double		lp,
					lm,
					fd;

		net->params[p] = saved + h;
		DenseForward(net, work, x, 4);
		lp = DenseBackward(net, work, t, 4, 0) / 4;
		net->params[p] = saved - h;
		DenseForward(net, work, x, 4);
		lm = DenseBackward(net, work, t, 4, 0) / 4;
		net->params[p] = saved;
		fd = (lp - lm) / (2.0 * h);
		checked++;
		if (!TestClose(grad[p], fd, 2e-4, 3e-2))
		{
			if (ok)
				TestNote("param %zu: analytic %g, numeric %g", p, grad[p], fd);
			ok = false;
		}
	}
	CHECK(ok && checked > 10, "swish: %d gradients match central differences",
		  checked);
	free(grad);
	DenseWorkFree(work, &HnMallocAllocator);
	free(image);
}

/* The text form round-trips; info names the activation. */
static void
TestText(void)
{
	const char *spec = "{\"layers\": [3, {\"count\": 5, \"activation\": " SWISH
		"}, {\"count\": 4, \"activation\": \"relu\"}, {\"count\": 2, \"activation\": "
		"{\"name\": \"soft\", \"expression\": \"x / (1 + abs(x))\", "
		"\"derivative\": \"1 / (1 + abs(x)) ^ 2\"}}], \"loss\": \"mse\", \"seed\": 4}";
	HnNet		a,
				b;
	HnError		err;
	void	   *ia = Read(spec, &a, &err);
	void	   *ib = NULL;
	char	   *text = NULL;
	char	   *info = NULL;

	if (!CHECK(ia != NULL, "text: network with two custom activations built"))
	{
		TestNote("%s", err.message);
		return;
	}
	/* scaling and weights that are not the defaults */
	DenseOf(&a)->in_shift[1] = 0.25f;
	DenseOf(&a)->out_mul[0] = 3.0f;
	text = Text(&a, false);
	if (text != NULL)
		ib = Read(text, &b, &err);
	if (ib == NULL && text != NULL)
		TestNote("%s: %.300s", err.message, text);
	else if (ib != NULL && a.len == b.len)
		for (size_t i = 0; i < a.len; i++)
			if (((char *) ia)[i] != ((char *) ib)[i])
			{
				TestNote("byte %zu of %zu differs", i, a.len);
				break;
			}
	CHECK(text != NULL && ib != NULL && a.len == b.len &&
		  memcmp(ia, ib, a.len) == 0 &&
		  strstr(text, "\"expression\": \"(x * sigmoid(x))\"") != NULL &&
		  strstr(text, "\"name\": \"soft\"") != NULL,
		  "text: the text form reads back to the same bytes");
	info = Text(&a, true);
	CHECK(info != NULL && strstr(info, "\"name\": \"swish\"") != NULL &&
		  strstr(info, "\"derivative\":") != NULL,
		  "info: lists the custom activation with its expressions");
	free(text);
	free(info);
	free(ib);
	free(ia);
}

/* Specs refused, each with its reason. */
static void
TestSpecErrors(void)
{
	static const struct
	{
		const char *act;
		const char *needle;
	}			cases[] = {
		{"{\"name\": \"w\", \"expression\": \"x * sigmoid(x\", \"derivative\": \"1\"}",
		"character"},
		{"{\"name\": \"w\", \"expression\": \"x * x\", \"derivative\": \"x\"}",
		"custom activation \"w\""},
		{"{\"name\": \"w\", \"expression\": \"log(x)\", \"derivative\": \"1 / x\"}",
		"custom activation \"w\""},
		{"{\"name\": \"w\", \"expression\": \"y\", \"derivative\": \"1\"}",
		"custom activation \"w\""},
		{"{\"name\": \"relu\", \"expression\": \"x\", \"derivative\": \"1\"}",
		"built-in"},
		{"{\"name\": \"w\", \"expression\": \"x\"}", "\"derivative\""},
	};
	int			refused = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char		spec[1024];
		HnNet		n;
		HnError		err;
		void	   *image;

		snprintf(spec, sizeof(spec),
				 "{\"layers\": [2, {\"count\": 3, \"activation\": %s}, 1]}",
				 cases[i].act);
		image = Read(spec, &n, &err);
		if (image == NULL && strstr(err.message, cases[i].needle) != NULL)
			refused++;
		else
			TestNote("case %zu: %s", i, image ? "accepted" : err.message);
		free(image);
	}
	CHECK(refused == (int) (sizeof(cases) / sizeof(cases[0])),
		  "spec: %d bad custom activations refused with their reasons", refused);
}

/* A network without custom activations keeps the bytes of version 1. */
static void
TestOldBytes(void)
{
	HnNet		n;
	HnError		err;
	void	   *image = Read("{\"layers\": [3, 4, 2], \"seed\": 1}", &n, &err);

	CHECK(image != NULL && n.hdr->version == 1 && DenseOf(&n)->n_programs == 0 &&
		  n.len == DenseParamsOffset(3, 3, 2) + 4 * (16 + 10),
		  "old layout: no programs area, format version 1");
	free(image);
}

/* Forged program areas: refused by bind, never a crash. */
static void
TestForged(void)
{
	const char *spec = "{\"layers\": [2, {\"count\": 3, \"activation\": " SWISH
		"}, 1], \"loss\": \"mse\"}";
	HnNet		n;
	HnError		err;
	void	   *image = Read(spec, &n, &err);
	size_t		len = n.len;
	size_t		prog;
	size_t		layer1;
	int			refused = 0;
	int			accepted = 0;
	int			flips_refused = 0;
	uint64_t	s = 5;

	if (!CHECK(image != NULL, "forged: network built"))
		return;
	prog = (size_t) ((char *) DenseOf(&n)->programs - (char *) image);
	layer1 = sizeof(HnHeader) + sizeof(DenseLayer);
	for (int c = 0; c < 11; c++)
	{
		char	   *b = TestCopy(image, len);
		DenseLayer *ly = (DenseLayer *) (b + layer1);
		DenseProgram *p = (DenseProgram *) (b + prog);
		HnNet		m;

		switch (c)
		{
			case 0:
				ly->reserved16 = 2;		/* past the programs */
				break;
			case 1:
				ly->reserved16 = 0;
				break;
			case 2:
				ly->reserved16 = 9;
				break;
			case 3:
				memset(p->name, 'a', DENSE_PROGRAM_NAME_LEN);	/* no NUL */
				break;
			case 4:
				p->name[40] = 'z';		/* after the NUL */
				break;
			case 5:
				p->f.ins[p->f.n].op = HN_EXPR_X;	/* past its end */
				break;
			case 6:
				p->f.ins[0].op = HN_EXPR_Y; /* y in a function */
				break;
			case 7:
				p->df.ins[0].op = 200;
				break;
			case 8:
				ly->activation = HANAMI_ACT_TANH;	/* index on a built-in */
				break;
			case 9:
				memcpy(p->name, "tanh", 5);	/* a built-in's name */
				break;
			case 10:
				p->df.ins[0].k = 0.0f;	/* another derivative: a wrong one */
				p->df.ins[0].op = HN_EXPR_CONST;
				break;
		}
		if (NetBind(&m, b, len, &err) == HANAMI_E_INVALID_FORMAT)
			refused++;
		else
			TestNote("forgery %d accepted", c);
		free(b);
	}
	CHECK(refused == 11, "forged: %d forged program areas refused", refused);
	for (int i = 0; i < 2000; i++)
	{
		char	   *b = TestCopy(image, len);
		size_t		at = prog + (size_t) (TestUniform(&s, 0.0f, 1.0f) *
										  (float) sizeof(DenseProgram));
		HnNet		m;
		HnStatus	st;

		if (at >= prog + sizeof(DenseProgram))
			at = prog;
		b[at] ^= (char) (1 + (int) (TestUniform(&s, 0.0f, 254.0f)));
		st = NetBind(&m, b, len, &err);

		if (st == HANAMI_E_INVALID_FORMAT)
			flips_refused++;
		else if (st == HANAMI_OK)
		{
			float		in[2] = {0.5f, -0.5f};
			float		out[1];
			DenseWork  *w = DenseWorkCreate(DenseOf(&m), 1, false,
											&HnMallocAllocator, &err);

			DensePredict(DenseOf(&m), w, in, 1, out);
			DenseWorkFree(w, &HnMallocAllocator);
			accepted++;
		}
		free(b);
	}
	CHECK(flips_refused > 0 && flips_refused + accepted == 2000,
		  "forged: 2000 flipped bytes in a program: %d refused, the other %d checked and run",
		  flips_refused, accepted);
	free(image);
}

/* Reshape (widen the custom layer) and quantize keep the program. */
static void
TestReshapeQuantize(void)
{
	const char *spec = "{\"layers\": [2, {\"count\": 3, \"activation\": " SWISH
		"}, 1], \"loss\": \"mse\", \"seed\": 2, \"input_scaling\": false}";
	HnNet		n,
				w,
				q;
	HnError		err;
	void	   *image = Read(spec, &n, &err);
	void	   *wide = NULL;
	void	   *small = NULL;
	size_t		len;
	HnJsonDoc	doc;
	HnBuf		changes;
	float		in[2] = {0.7f, -1.2f};
	float		o1,
				o2,
				o3;

	if (!CHECK(image != NULL, "reshape: network built"))
		return;
	HnBufInit(&changes, &HnMallocAllocator);
	if (HnJsonParse("{\"layers\": [2, 6, 1]}", 21, &HnMallocAllocator, &doc,
					&err) == HANAMI_OK)
	{
		if (NetReshape(&n, doc.root, &HnMallocAllocator, &wide, &len, &changes,
					   &err) != HANAMI_OK || NetBind(&w, wide, len, &err) != HANAMI_OK)
		{
			free(wide);
			wide = NULL;
		}
		HnJsonFree(&doc);
	}
	HnBufFree(&changes);
	if (NetQuantize(&n, "f16", &HnMallocAllocator, &small, &len, &err) != HANAMI_OK ||
		NetBind(&q, small, len, &err) != HANAMI_OK)
	{
		free(small);
		small = NULL;
	}
	if (CHECK(wide != NULL && small != NULL &&
			  DenseProgramOf(DenseOf(&w), 1) != NULL &&
			  DenseProgramOf(DenseOf(&q), 1) != NULL &&
			  memcmp(DenseProgramOf(DenseOf(&w), 1), DenseProgramOf(DenseOf(&n), 1),
					 sizeof(DenseProgram)) == 0,
			  "reshape and quantize: the custom activation is kept"))
	{
		DenseWork  *w1 = DenseWorkCreate(DenseOf(&n), 1, false, &HnMallocAllocator, &err);
		DenseWork  *w2 = DenseWorkCreate(DenseOf(&w), 1, false, &HnMallocAllocator, &err);
		DenseWork  *w3 = DenseWorkCreate(DenseOf(&q), 1, false, &HnMallocAllocator, &err);

		DensePredict(DenseOf(&n), w1, in, 1, &o1);
		DensePredict(DenseOf(&w), w2, in, 1, &o2);
		DensePredict(DenseOf(&q), w3, in, 1, &o3);
		CHECK(fabsf(o1 - o2) < 1e-5f && fabsf(o1 - o3) < 1e-2f,
			  "reshape and quantize: outputs kept (%g, widened %g, f16 %g)",
			  o1, o2, o3);
		DenseWorkFree(w1, &HnMallocAllocator);
		DenseWorkFree(w2, &HnMallocAllocator);
		DenseWorkFree(w3, &HnMallocAllocator);
	}
	else
		TestNote("%s", err.message);
	{
		HnNet		h;
		size_t		head = (size_t) ((char *) DenseOf(&n)->params - (char *) image);

		CHECK(NetBindHead(&h, image, head, n.len, &err) == HANAMI_OK &&
			  DenseOf(&h)->n_programs == 1 &&
			  NetBindHead(&h, image, head - sizeof(DenseProgram), n.len, &err) != HANAMI_OK,
			  "paging: a head holds the header, layers, scaling and programs");
	}
	free(wide);
	free(small);
	free(image);
}

/*
 * Bind asks a program to be the one its text compiles to: true of every
 * compiled expression (signs, powers, constants, y), so none is refused.
 */
static void
TestCanonical(void)
{
	static const char *const texts[] = {
		"-2 * x", "x * -0.5 + pi - e", "- -x", "x ^ -2", "2 ^ 3 ^ x",
		"min(x, -1.5) + max(-x, 2e-3)", "1e-40 * x", "0.1 * x", "x - -1",
		"1/3*x", "-0 + x", "3.4e38*x", "sigmoid(-x)*-1", "--1*x",
		"-1e-45*x", "(1 - y) * y", "-y", "x - (x - x)", "sign(x) * step(x - 0.25)"
	};
	int			canonical = 0;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
	{
		HnExpr		a,
					b;
		HnError		err;
		char		buf[HN_EXPR_MAX_TEXT * 4];

		if (HnExprCompile(texts[i], true, &a, &err) == HANAMI_OK &&
			HnExprToText(&a, buf, sizeof(buf), &err) == HANAMI_OK &&
			HnExprCompile(buf, true, &b, &err) == HANAMI_OK &&
			memcmp(&a, &b, sizeof(a)) == 0)
			canonical++;
		else
			TestNote("not canonical: %s", texts[i]);
	}
	CHECK(canonical == (int) (sizeof(texts) / sizeof(texts[0])),
		  "canonical: %d compiled expressions print and compile back to themselves",
		  canonical);
}

void
TestCustomActSuite(void)
{
	TestCanonical();
	TestReshapeQuantize();
	TestTanhTrains();
	TestSwishGradient();
	TestText();
	TestSpecErrors();
	TestOldBytes();
	TestForged();
}
