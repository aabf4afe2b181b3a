/*
 * test_hebbian.c - unit tests of Hebbian learning of dense networks
 * (dense/hebbian.c): its options and their errors, weights that stay
 * bounded over many steps (Oja's decay), hidden layers that never see the
 * labels, a read-out that learns, the same bytes for the same seed and for
 * any number of threads, and the refusal of a device's stepper.
 */
#include "harness.h"

#include <stdlib.h>

#include "core/dense/hebbian.h"
#include "core/dense/step.h"
#include "core/fit.h"
#include "core/options.h"
#include "core/pool.h"

#define HB_IN		16
#define HB_HIDDEN	24
#define HB_CLASSES	4
#define HB_ROWS		400

/* Rows around four prototypes in raw units (0..16, like pixels); class c. */
static void
HebbRows(HnDataset *ds, float *x, int32_t *cls)
{
	uint64_t	st = 7;
	float		proto[HB_CLASSES][HB_IN];

	for (int c = 0; c < HB_CLASSES; c++)
		for (int i = 0; i < HB_IN; i++)
			proto[c][i] = TestUniform(&st, 0.0f, 1.0f) < 0.4f ? 14.0f : 1.0f;
	for (int r = 0; r < HB_ROWS; r++)
	{
		cls[r] = r % HB_CLASSES;
		for (int i = 0; i < HB_IN; i++)
			x[r * HB_IN + i] = proto[cls[r]][i] + TestUniform(&st, -3.0f, 3.0f);
	}
	memset(ds, 0, sizeof(*ds));
	ds->n = HB_ROWS;
	ds->n_features = HB_IN;
	ds->n_outputs = HB_CLASSES;
	ds->x = x;
	ds->cls = cls;
}

static bool
HebbNet(TestNet *tn, HnNet *hn, uint32_t seed)
{
	uint32_t	counts[] = {HB_IN, HB_HIDDEN, HB_CLASSES};

	if (!TestNetMake(tn, 3, counts, NULL, HANAMI_LOSS_DEFAULT, seed, true))
		return false;
	NetBindTrusted(hn, tn->buf);
	return true;
}

/* Options of a fit of net from text; kind_options stay (free them). */
static HnStatus
HebbOptions(const HnNet *net, const char *text, HnFitOptions *o, HnError *err)
{
	HnJsonDoc	doc;
	HnStatus	st = HnJsonParse(text, strlen(text), &HnMallocAllocator, &doc, err);

	memset(o, 0, sizeof(*o));
	if (st != HANAMI_OK)
		return st;
	st = HnFitOptionsRead(net, doc.root, true, &HnMallocAllocator, o, err);
	free(o->target);
	free(o->device);
	HnJsonFree(&doc);
	return st;
}

/* A fit of a fresh network (seed) with options text; false on failure. */
static bool
HebbFit(TestNet *tn, HnNet *hn, uint32_t seed, const HnDataset *ds,
		const char *text, HnPool *pool, HnTrainResult *res)
{
	HnFitOptions o;
	HnError		err;
	HnRows		rows = {ds, NULL, 0, NULL};
	HnStatus	st;

	if (!HebbNet(tn, hn, seed))
		return false;
	st = HebbOptions(hn, text, &o, &err);
	if (st == HANAMI_OK)
	{
		o.train.pool = pool;
		st = HnFit(hn, &rows, &o.train, NULL, NULL, &HnMallocAllocator, res,
				   &err);
	}
	free((void *) o.train.kind_options);
	if (st != HANAMI_OK)
		TestNote("fit failed: %s", err.message);
	return st == HANAMI_OK;
}

/* Length of hidden unit j's weights (column j of layer 1's W). */
static double
UnitNorm(const DenseNet *net, int j)
{
	const float *w = DenseWeights(net, 1);
	double		s = 0.0;

	for (int i = 0; i < HB_IN; i++)
		s += (double) w[i * HB_HIDDEN + j] * w[i * HB_HIDDEN + j];
	return sqrt(s);
}

/* Layer 1's parameters (weights and biases) as bytes. */
static const void *
HiddenBytes(const DenseNet *net, size_t *len)
{
	*len = sizeof(float) * (HB_IN * HB_HIDDEN + HB_HIDDEN);
	return DenseWeights(net, 1);
}

/* Accuracy of net on ds. */
static double
HebbAccuracy(const TestNet *tn, const HnDataset *ds)
{
	HnEvalResult r;
	HnError		err;

	memset(&r, 0, sizeof(r));
	if (TrainEvaluate(&tn->net, ds, NULL, &HnMallocAllocator, &r, &err) != HANAMI_OK)
		return -1.0;
	return r.accuracy;
}

static void
TestHebbOptions(void)
{
	TestNet		tn;
	HnNet		hn;
	HnFitOptions o;
	HnError		err;
	const DenseHebbOptions *h;
	HnStatus	st;
	static const struct
	{
		const char *text;
		const char *needle;
	}			bad[] = {
		{"{\"rule\": \"hopfield\"}", "\"rule\""},
		{"{\"winners\": 2}", "\"winners\" applies only with \"rule\": \"hebbian\""},
		{"{\"readout\": false}", "\"readout\" applies only"},
		{"{\"rule\": \"hebbian\", \"hebbian_rule\": \"bcm\"}", "\"hebbian_rule\""},
		{"{\"rule\": \"hebbian\", \"hebbian_learning_rate\": 0}", "\"hebbian_learning_rate\" is out of range"},
		{"{\"rule\": \"hebbian\", \"anti_hebbian\": 1.5}", "\"anti_hebbian\" is out of range"},
		{"{\"rule\": \"hebbian\", \"winners\": 24}", "\"winners\" is 24"},
		{"{\"rule\": \"hebbian\", \"winners\": 30, \"anti_hebbian\": 0.1}", "\"winners\" is 30"},
		{"{\"rule\": \"hebbian\", \"readout\": false, \"learning_rate\": 0.1}", "\"learning_rate\" does not apply"},
		{"{\"rule\": \"hebbian\", \"to_skip\": [2], \"optimizer\": \"sgd\"}", "\"optimizer\" does not apply"},
		{"{\"rule\": \"hebbian\", \"readout\": false, \"to_skip\": [1]}", "leave no layer to train"},
	};

	if (!HebbNet(&tn, &hn, 1))
		return;
	st = HebbOptions(&hn, "{\"rule\": \"hebbian\", \"winners\": 2, \"anti_hebbian\": 0.2, \"hebbian_norm\": 2, \"hebbian_learning_rate\": 0.05, \"readout\": false}", &o, &err);
	h = st == HANAMI_OK ? DenseHebbOf(&o.train) : NULL;
	CHECK(h != NULL && h->winners == 2 && h->anti == 0.2f && h->norm == 2.0f &&
		  h->rate == 0.05f && !h->readout && o.train.train_mask == 2 &&
		  DenseRuleStepper(&hn, &o.train, NULL) == &DenseHebbStepper,
		  "hebbian options: read, and the output layer left out without a read-out");
	free((void *) o.train.kind_options);
	st = HebbOptions(&hn, "{\"rule\": \"backprop\"}", &o, &err);
	CHECK(st == HANAMI_OK && DenseHebbOf(&o.train) == NULL &&
		  DenseRuleStepper(&hn, &o.train, NULL) == NULL,
		  "rule backprop: the usual stepper");
	st = HebbOptions(&hn, "{\"rule\": \"hebbian\"}", &o, &err);
	h = st == HANAMI_OK ? DenseHebbOf(&o.train) : NULL;
	CHECK(h != NULL && h->winners == DENSE_HEBB_WINNERS &&
		  h->rate == (float) DENSE_HEBB_RATE && h->readout &&
		  o.train.train_mask == 6,
		  "rule hebbian: defaults, every layer learns");
	free((void *) o.train.kind_options);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		st = HebbOptions(&hn, bad[i].text, &o, &err);
		if (!CHECK(st == HANAMI_E_INVALID_ARGUMENT &&
				   strstr(err.message, bad[i].needle) != NULL,
				   "refused: %s", bad[i].text))
			TestNote("status %d: %s", (int) st, err.message);
		if (st == HANAMI_OK)
			free((void *) o.train.kind_options);
	}
	TestNetFree(&tn);
}

/*
 * Oja's decay: over many steps at a high rate the units that learn end at
 * the length hebbian_norm asks for, the others keep theirs, none grows.
 */
static void
TestHebbBounded(void)
{
	static float x[HB_ROWS * HB_IN];
	static int32_t cls[HB_ROWS];
	HnDataset	ds;
	const double norms[] = {1.0, 2.0};
	const char *const opts[] = {
		"{\"rule\": \"hebbian\", \"readout\": false, \"epochs\": 100, \"batch_size\": 1, \"hebbian_learning_rate\": 0.2, \"winners\": 2, \"anti_hebbian\": 0.5}",
		"{\"rule\": \"hebbian\", \"readout\": false, \"epochs\": 100, \"batch_size\": 16, \"hebbian_learning_rate\": 1, \"hebbian_norm\": 2}",
	};

	HebbRows(&ds, x, cls);
	for (int c = 0; c < 2; c++)
	{
		TestNet		a;
		HnNet		ha;
		TestNet		init;
		HnNet		hi;
		int			near = 0;
		int			learnt = 0;
		bool		bounded = true;
		double		top = 0.0;

		if (!HebbNet(&init, &hi, 1) || !HebbFit(&a, &ha, 1, &ds, opts[c], NULL, NULL))
			continue;
		for (int j = 0; j < HB_HIDDEN; j++)
		{
			double		n0 = UnitNorm(&init.net, j);
			double		n = UnitNorm(&a.net, j);
			double		cap = (n0 > norms[c] ? n0 : norms[c]) * 1.25;

			learnt += fabs(n - n0) > 1e-6;
			near += fabs(n - norms[c]) < 0.02 * norms[c];
			bounded = bounded && n <= cap;
			top = n > top ? n : top;
		}
		if (!CHECK(learnt >= HB_CLASSES && near >= HB_CLASSES && bounded,
				   "bounded weights (norm %g): %d units learnt, %d at the norm, none a quarter longer than it or its start (longest %.4f) after 40000 rows",
				   norms[c], learnt, near, top))
			TestNote("learnt %d near %d bounded %d", learnt, near, (int) bounded);
		CHECK(memcmp(DenseWeights(&a.net, 2), DenseWeights(&init.net, 2),
					 sizeof(float) * (HB_HIDDEN * HB_CLASSES + HB_CLASSES)) == 0,
			  "readout false: the output layer is left as it was");
		TestNetFree(&a);
		TestNetFree(&init);
	}
}

/*
 * Labels never reach a hidden layer: labels permuted, the hidden layer's
 * bytes are the same (the read-out's differ); the read-out learns; the same
 * seed gives the same bytes, with or without threads.
 */
static void
TestHebbLabels(void)
{
	static float x[HB_ROWS * HB_IN];
	static int32_t cls[HB_ROWS];
	static int32_t perm[HB_ROWS];
	const char *text = "{\"rule\": \"hebbian\", \"epochs\": 20, \"batch_size\": 8, \"seed\": 5}";
	HnDataset	ds;
	HnDataset	dp;
	TestNet		a;
	TestNet		b;
	TestNet		c;
	TestNet		d;
	TestNet		init;
	HnNet		ha;
	HnNet		hb;
	HnNet		hc;
	HnNet		hd;
	HnNet		hi;
	HnTrainResult ra;
	HnError		err;
	HnPool	   *pool;
	size_t		la = 0;
	size_t		lb = 0;
	uint64_t	st = 99;
	double		before;
	double		after;

	HebbRows(&ds, x, cls);
	memcpy(perm, cls, sizeof(cls));
	for (int r = HB_ROWS - 1; r > 0; r--)
	{
		int			k = (int) (TestUniform(&st, 0.0f, 1.0f) * (float) (r + 1)) % (r + 1);
		int32_t		t = perm[r];

		perm[r] = perm[k];
		perm[k] = t;
	}
	dp = ds;
	dp.cls = perm;
	if (!HebbNet(&init, &hi, 3) ||
		!HebbFit(&a, &ha, 3, &ds, text, NULL, &ra) ||
		!HebbFit(&b, &hb, 3, &dp, text, NULL, NULL) ||
		!HebbFit(&c, &hc, 3, &ds, text, NULL, NULL))
		return;
	CHECK(memcmp(HiddenBytes(&a.net, &la), HiddenBytes(&b.net, &lb), la) == 0 &&
		  memcmp(HiddenBytes(&a.net, &la), HiddenBytes(&init.net, &lb), la) != 0 &&
		  memcmp(DenseWeights(&a.net, 2), DenseWeights(&b.net, 2),
				 sizeof(float) * HB_HIDDEN * HB_CLASSES) != 0,
		  "labels permuted: the hidden layer's bytes are the same, the read-out's differ");
	before = HebbAccuracy(&init, &ds);
	after = HebbAccuracy(&a, &ds);
	CHECK(after >= 0.95 && after > before + 0.2 && isfinite(ra.loss),
		  "the read-out learns: accuracy %.3f, %.3f before", after, before);
	CHECK(a.len == c.len && memcmp(a.buf, c.buf, a.len) == 0,
		  "the same seed: the same bytes");
	pool = PoolCreate(3, &HnMallocAllocator, &err);
	if (pool != NULL && HebbFit(&d, &hd, 3, &ds, text, pool, NULL))
	{
		CHECK(a.len == d.len && memcmp(a.buf, d.buf, a.len) == 0,
			  "three threads: the bytes of one");
		TestNetFree(&d);
	}
	PoolFree(pool, &HnMallocAllocator);
	TestNetFree(&a);
	TestNetFree(&b);
	TestNetFree(&c);
	TestNetFree(&init);
}

/* A device's stepper cannot run the rule: refused, not ignored. */
static void
TestHebbDevice(void)
{
	static float x[HB_ROWS * HB_IN];
	static int32_t cls[HB_ROWS];
	HnDataset	ds;
	TestNet		a;
	HnNet		ha;
	HnFitOptions o;
	HnError		err;
	HnStepper	other = {&DenseStepper, NULL};
	HnRows		rows;
	HnStatus	st;

	HebbRows(&ds, x, cls);
	rows = (HnRows) {&ds, NULL, 0, NULL};
	if (!HebbNet(&a, &ha, 1) ||
		HebbOptions(&ha, "{\"rule\": \"hebbian\"}", &o, &err) != HANAMI_OK)
		return;
	st = HnFit(&ha, &rows, &o.train, &other, NULL, &HnMallocAllocator, NULL,
			   &err);
	CHECK(st == HANAMI_E_UNSUPPORTED && strstr(err.detail, "CPU") != NULL,
		  "a device's stepper is refused: %s (%s)", err.message, err.detail);
	free((void *) o.train.kind_options);
	TestNetFree(&a);
}

void
TestHebbianSuite(void)
{
	TestHebbOptions();
	TestHebbBounded();
	TestHebbLabels();
	TestHebbDevice();
}
