/*
 * test_fast.c - the fast paths against their references: the one-row matrix
 * product, the product skipping zero inputs, fused outer-product updates, the trainer's step against
 * DenseForward + DenseBackward + OptimStep, compute threads (same bits as
 * one thread), and folded inference, clipped or not.
 */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "core/dense/dense.h"
#include "core/simd.h"
#include "core/optim.h"
#include "core/machine.h"
#include "core/pool.h"
#include "core/dense/step.h"

/* Random floats in [lo, hi), with about zero_frac of them exactly zero. */
static float *
RandomVec(uint64_t *st, size_t n, float lo, float hi, double zero_frac)
{
	float	   *v = malloc(sizeof(float) * (n ? n : 1));

	for (size_t i = 0; i < n; i++)
	{
		float		u = TestUniform(st, 0.0f, 1.0f);

		v[i] = u < zero_frac ? 0.0f : TestUniform(st, lo, hi);
	}
	return v;
}

/* SimdGemv gives the bits of SimdGemm on one row, zeros skipped. */
static void
TestGemv(void)
{
	static const size_t shapes[][2] = {{10, 128}, {64, 784}, {100, 7}, {128, 784},
	{130, 300}, {1, 1}, {16, 513}};
	uint64_t	st = 11;
	bool		same = true;

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
	{
		size_t		N = shapes[s][0];
		size_t		K = shapes[s][1];
		float	   *x = RandomVec(&st, K, -2.0f, 2.0f, 0.5);
		float	   *w = RandomVec(&st, K * N, -1.0f, 1.0f, 0.0);
		float	   *b = RandomVec(&st, N, -1.0f, 1.0f, 0.0);
		float	   *y1 = malloc(sizeof(float) * N);
		float	   *y2 = malloc(sizeof(float) * N);

		for (int with_bias = 0; with_bias < 2; with_bias++)
		{
			SimdGemm(1, N, K, x, K, 1, w, N, y1, N, with_bias ? b : NULL);
			SimdGemv(N, K, x, w, N, y2, with_bias ? b : NULL);
			same &= memcmp(y1, y2, sizeof(float) * N) == 0;
		}
		free(x);
		free(w);
		free(b);
		free(y1);
		free(y2);
	}
	CHECK(same, "gemv: same bits as the blocked product on one row, 7 shapes");
}

/*
 * SimdGemmSkip gives the bits of SimdGemm: inputs with zeros (often whole
 * columns of a group of rows, as pixels), both layouts of L (rows, and the
 * transpose the weight gradient reads), widths off the vector blocks, groups
 * of 1-4 rows, and more k than one list holds.
 */
static void
TestGemmSkip(void)
{
	static const size_t shapes[][3] = {{64, 128, 784}, {8, 128, 784}, {24, 128, 64},
	{7, 10, 300}, {5, 130, 33}, {1, 64, 17}, {3, 200, 5000}, {13, 77, 0},
	{6, 16, 2049}, {9, 65, 100}};
	uint64_t	st = 17;
	bool		same = true;
	int			cases = 0;

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
	{
		size_t		M = shapes[s][0];
		size_t		N = shapes[s][1];
		size_t		K = shapes[s][2];
		float	   *L = RandomVec(&st, M * K, -2.0f, 2.0f, 0.4);
		float	   *R = RandomVec(&st, K * (N + 3), -1.0f, 1.0f, 0.0);
		float	   *b = RandomVec(&st, N, -1.0f, 1.0f, 0.0);
		float	   *c1 = malloc(sizeof(float) * M * (N + 1) + 1);
		float	   *c2 = malloc(sizeof(float) * M * (N + 1) + 1);

		/* zero columns shared by all rows, as background pixels */
		for (size_t k = 0; k < K; k += 3)
			for (size_t m = 0; m < M; m++)
				L[m * K + k] = 0.0f;
		for (int v = 0; v < 4; v++)
		{
			bool		trans = v & 1;
			const float *bias = v & 2 ? b : NULL;
			size_t		lsm = trans ? 1 : K;
			size_t		lsk = trans ? M : 1;

			memset(c1, 0, sizeof(float) * M * (N + 1));
			memset(c2, 0, sizeof(float) * M * (N + 1));
			SimdGemm(M, N, K, L, lsm, lsk, R, N + 3, c1, N + 1, bias);
			SimdGemmSkip(M, N, K, L, lsm, lsk, R, N + 3, c2, N + 1, bias);
			same &= memcmp(c1, c2, sizeof(float) * M * (N + 1)) == 0;
			cases++;
		}
		free(L);
		free(R);
		free(b);
		free(c1);
		free(c2);
	}
	CHECK(same, "gemm skipping zero inputs: same bits as the blocked product, %d cases",
		  cases);
}

/* The fused outer-product updates against gradient + update. */
static void
TestOuterUpdates(void)
{
	const size_t rows = 37,
				cols = 21;
	uint64_t	st = 5;
	float	   *a = RandomVec(&st, rows, -1.5f, 1.5f, 0.3);
	float	   *d = RandomVec(&st, cols, -0.5f, 0.5f, 0.0);
	float	   *w0 = RandomVec(&st, rows * cols, -1.0f, 1.0f, 0.0);
	float	   *m0 = RandomVec(&st, rows * cols, -0.1f, 0.1f, 0.0);
	float	   *v0 = RandomVec(&st, rows * cols, 0.0f, 0.01f, 0.0);
	size_t		n = rows * cols;
	float	   *g = malloc(sizeof(float) * n);
	float	   *w1 = malloc(sizeof(float) * n),
			   *w2 = malloc(sizeof(float) * n);
	float	   *m1 = malloc(sizeof(float) * n),
			   *m2 = malloc(sizeof(float) * n);
	float	   *v1 = malloc(sizeof(float) * n),
			   *v2 = malloc(sizeof(float) * n);
	double		worst = 0.0;

	for (size_t r = 0; r < rows; r++)
		for (size_t j = 0; j < cols; j++)
			g[r * cols + j] = a[r] * d[j];
	for (int adam = 0; adam < 2; adam++)
		for (int wd = 0; wd < 2; wd++)
		{
			memcpy(w1, w0, sizeof(float) * n);
			memcpy(w2, w0, sizeof(float) * n);
			memcpy(m1, m0, sizeof(float) * n);
			memcpy(m2, m0, sizeof(float) * n);
			memcpy(v1, v0, sizeof(float) * n);
			memcpy(v2, v0, sizeof(float) * n);
			for (int step = 0; step < 3; step++)
			{
				if (adam)
				{
					SimdAdamUpdate(w1, g, m1, v1, n, 0.01f, 0.9f, 0.999f, 1.5f,
								   1e-8f, wd ? 0.01f : 0.0f);
					SimdAdamOuterUpdate(w2, m2, v2, rows, cols, a, d, 0.01f, 0.9f,
										0.999f, 1.5f, 1e-8f, wd ? 0.01f : 0.0f);
				}
				else
				{
					SimdSgdUpdate(w1, g, m1, n, 0.05f, 0.9f, wd ? 0.01f : 0.0f);
					SimdSgdOuterUpdate(w2, m2, rows, cols, a, d, 0.05f, 0.9f,
									   wd ? 0.01f : 0.0f);
				}
			}
			for (size_t i = 0; i < n; i++)
			{
				double		e = fabs((double) w1[i] - w2[i]) +
					fabs((double) m1[i] - m2[i]) + fabs((double) v1[i] - v2[i]);

				worst = e > worst ? e : worst;
			}
		}
	CHECK(worst <= 1e-6,
		  "outer updates: sgd and adam, with and without decay, match gradient + update (%.2g)",
		  worst);
	free(a);
	free(d);
	free(w0);
	free(m0);
	free(v0);
	free(g);
	free(w1);
	free(w2);
	free(m1);
	free(m2);
	free(v1);
	free(v2);
}

/* A classification problem: n rows of nin features, ncls classes. */
typedef struct FastData
{
	int64_t		n;
	float	   *x;
	int32_t    *cls;
	float	   *y;
	HnDataset	ds;
} FastData;

static void
MakeFastData(FastData *f, int64_t n, uint32_t nin, uint32_t nout, bool regression,
			 uint64_t seed)
{
	uint64_t	st = seed;

	f->n = n;
	f->x = RandomVec(&st, (size_t) n * nin, 0.0f, 200.0f, 0.4);
	f->cls = malloc(sizeof(int32_t) * n);
	f->y = malloc(sizeof(float) * n * nout);
	for (int64_t r = 0; r < n; r++)
	{
		float		s = 0;

		for (uint32_t i = 0; i < nin; i++)
			s += f->x[r * nin + i] * (i % 3 == 0 ? 1.0f : -0.5f);
		f->cls[r] = (int32_t) ((uint32_t) (s > 0 ? s : -s) / 97 % nout);
		for (uint32_t j = 0; j < nout; j++)
			f->y[r * nout + j] = s * (j + 1) * 0.01f + 3.0f;
	}
	f->ds.n = n;
	f->ds.n_features = nin;
	f->ds.n_outputs = nout;
	f->ds.x = f->x;
	f->ds.y = regression ? f->y : NULL;
	f->ds.cls = regression ? NULL : f->cls;
}

static void
FreeFastData(FastData *f)
{
	free(f->x);
	free(f->cls);
	free(f->y);
}

/* Largest absolute difference between two networks' parameters. */
static double
ParamDiff(const DenseNet *a, const DenseNet *b)
{
	double		worst = 0.0;

	for (uint64_t i = 0; i < a->hdr->n_params; i++)
	{
		double		e = fabs((double) a->params[i] - b->params[i]);

		worst = e > worst ? e : worst;
	}
	return worst;
}

/*
 * Reference training: the same batches through DenseForward, DenseBackward
 * and OptimStep (no shuffle, scaling already fitted).
 */
static void
ReferenceFit(DenseNet *net, const HnDataset *ds, const HnTrainOptions *opt)
{
	HnError		err;
	int			batch = opt->batch_size;
	DenseWork *w = DenseWorkCreate(net, batch, true, &HnMallocAllocator, &err);
	HnOptimState *o = OptimCreate(net, &opt->optim, &HnMallocAllocator, &err);
	uint32_t	nin = ds->n_features,
				nout = net->hdr->n_outputs;
	float	   *x = malloc(sizeof(float) * batch * nin);
	float	   *t = malloc(sizeof(float) * batch * nout);

	for (int e = 0; e < opt->epochs; e++)
		for (int64_t r0 = 0; r0 < ds->n; r0 += batch)
		{
			int			count = (int) (ds->n - r0 < batch ? ds->n - r0 : batch);

			memcpy(x, ds->x + r0 * nin, sizeof(float) * count * nin);
			for (int k = 0; k < count; k++)
			{
				if (ds->cls)
				{
					memset(t + k * nout, 0, sizeof(float) * nout);
					t[k * nout + ds->cls[r0 + k]] = 1.0f;
				}
				else
					for (uint32_t j = 0; j < nout; j++)
						t[k * nout + j] = (ds->y[(r0 + k) * nout + j] - net->out_shift[j]) /
							net->out_mul[j];
			}
			DenseForward(net, w, x, count);
			DenseBackward(net, w, t, count, opt->train_mask);
			OptimStep(net, o, w->grad, opt->train_mask);
		}
	free(x);
	free(t);
	OptimFree(o, &HnMallocAllocator);
	DenseWorkFree(w, &HnMallocAllocator);
}

/* The trainer's step against the reference path. */
static void
TestTrainerVsReference(void)
{
	static const uint32_t c[] = {12, 9, 7, 4};
	static const HnActivation a[] = {0, HANAMI_ACT_TANH, HANAMI_ACT_RELU, HANAMI_ACT_SOFTMAX};
	struct
	{
		int			batch;
		HnOptimizer opt;
		float		wd;
		uint64_t	mask;
		double		tol;		/* 0: same bits */
	}			cases[] = {
		{8, HANAMI_OPT_SGD, 0.0f, ~(uint64_t) 0, 0},
		{5, HANAMI_OPT_ADAM, 0.01f, ~(uint64_t) 0, 0},
		{8, HANAMI_OPT_SGD, 0.001f, (uint64_t) 1 << 2 | (uint64_t) 1 << 3, 0},
		{1, HANAMI_OPT_SGD, 0.0f, ~(uint64_t) 0, 1e-5},
		{1, HANAMI_OPT_ADAM, 0.001f, ~(uint64_t) 0, 1e-5},
	};
	FastData	f;

	MakeFastData(&f, 60, 12, 4, false, 3);	/* no last batch of one row */
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
	{
		TestNet		t1,
					t2;
		HnTrainOptions opt;
		HnTrainResult res;
		HnError		err;
		double		diff;

		TestNetMake(&t1, 4, c, a, HANAMI_LOSS_DEFAULT, 9, true);
		TrainFitScaling(&t1.net, &f.ds, f.n, NULL, &HnMallocAllocator, NULL);
		t2.buf = TestCopy(t1.buf, t1.len);
		t2.len = t1.len;
		DenseBindTrusted(&t2.net, t2.buf);
		TrainOptionsDefaults(&opt, cases[k].opt);
		opt.epochs = 2;
		opt.batch_size = cases[k].batch;
		opt.shuffle = false;
		opt.optim.weight_decay = cases[k].wd;
		opt.train_mask = cases[k].mask;
		opt.optim.learning_rate = cases[k].opt == HANAMI_OPT_SGD ? 0.05f : 0.01f;
		TrainFit(&t1.net, &f.ds, &opt, NULL, &HnMallocAllocator, &res, &err);
		ReferenceFit(&t2.net, &f.ds, &opt);
		diff = ParamDiff(&t1.net, &t2.net);
		if (cases[k].tol == 0)
			CHECK(memcmp(t1.net.params, t2.net.params,
						 sizeof(float) * t1.net.hdr->n_params) == 0,
				  "trainer: batch %d %s matches the reference bit for bit (diff %.2g)",
				  cases[k].batch, OptimName(cases[k].opt), diff);
		else
			CHECK(diff <= cases[k].tol,
				  "trainer: batch %d %s (fused update) within %.0g of the reference (%.2g)",
				  cases[k].batch, OptimName(cases[k].opt), cases[k].tol, diff);
		TestNetFree(&t1);
		TestNetFree(&t2);
	}
	FreeFastData(&f);
}

/* A job that marks its items: every share adds 1 to its range of 1000. */
typedef struct MarkArg
{
	int		   *v;
	int			size;			/* the pool's size */
	atomic_int	bad_split;		/* calls with an n that is neither size nor 1 */
} MarkArg;

static void
MarkJob(void *arg, int w, int n)
{
	MarkArg    *m = arg;
	size_t		lo,
				hi;

	if ((n != m->size && n != 1) || w < 0 || w >= n)
		atomic_fetch_add(&m->bad_split, 1);
	PoolRange(1000, w, n, &lo, &hi);
	for (size_t i = lo; i < hi; i++)
		m->v[i]++;
}

/* Run jobs MarkJob jobs on a pool; true when each item was marked once per job. */
static bool
MarkJobs(HnPool *p, int jobs)
{
	MarkArg		m;
	bool		ok;

	m.v = calloc(1000, sizeof(int));
	m.size = PoolSize(p);
	atomic_init(&m.bad_split, 0);
	for (int rep = 0; rep < jobs; rep++)
		PoolRun(p, MarkJob, &m);
	ok = atomic_load(&m.bad_split) == 0;
	for (int i = 0; i < 1000; i++)
		ok &= m.v[i] == jobs;
	free(m.v);
	return ok;
}

/*
 * A job of 3 units of 1 ms of sleep: alone (one share) 3 ms, with 3 threads
 * about 1 ms.  With slow set, a unit run by a thread other than the caller
 * takes 10 ms, so the team is slower than the caller alone.
 */
typedef struct NapArg
{
	pthread_t	caller;
	bool		slow;
	atomic_int	units;
} NapArg;

static void
NapJob(void *arg, int w, int n)
{
	NapArg	   *a = arg;
	size_t		lo,
				hi;
	bool		helper = !pthread_equal(pthread_self(), a->caller);

	PoolRange(3, w, n, &lo, &hi);
	for (size_t i = lo; i < hi; i++)
	{
		struct timespec ts = {0, (a->slow && helper ? 10 : 1) * 1000000L};

		nanosleep(&ts, NULL);
		atomic_fetch_add(&a->units, 1);
	}
}

/*
 * Threads: every share runs once, however the pool runs a job; the pool
 * runs jobs alone when its threads make them slower and goes back to them
 * when they help; fits give the same bits as one thread.
 */
static void
TestThreads(void)
{
	static const uint32_t c[] = {30, 40, 5};
	static const uint32_t cbig[] = {30, 100, 130, 5};	/* 16,650 weights */
	HnError		err;
	HnPool	   *p3 = PoolCreate(3, &HnMallocAllocator, &err);
	HnPool	   *p2 = PoolCreate(2, &HnMallocAllocator, &err);
	HnPool	   *p2team = PoolCreate(2, &HnMallocAllocator, &err);
	HnPool	   *p3team = PoolCreate(3, &HnMallocAllocator, &err);
	HnPoolStats st;
	FastData	f;

	if (p3 == NULL || p2 == NULL || p2team == NULL || p3team == NULL)
	{
		CHECK(false, "pool: pools of 2 and 3 threads start (%s)", err.message);
		return;
	}
	PoolSetMode(p2team, HANAMI_POOL_ALWAYS_TEAM);
	PoolSetMode(p3team, HANAMI_POOL_ALWAYS_TEAM);
	CHECK(PoolSize(p3) == 3 && PoolSize(NULL) == 1, "pool: sizes");
	CHECK(MarkJobs(p3, 50), "pool: 3 threads, each item done once per job, 50 jobs");
	CHECK(MarkJobs(p3team, 200), "pool: 3 threads always together, each item done once per job, 200 jobs");
	PoolGetStats(p3team, &st);
	CHECK(st.jobs == 200 && st.solo_jobs == 0, "pool: always together: no job alone (%llu of %llu)",
		  (unsigned long long) st.solo_jobs, (unsigned long long) st.jobs);
	{
		HnPool	   *alone = PoolCreate(2, &HnMallocAllocator, &err);

		PoolSetMode(alone, HANAMI_POOL_ALWAYS_ALONE);
		CHECK(MarkJobs(alone, 20), "pool: always alone, each item done once per job");
		PoolGetStats(alone, &st);
		CHECK(st.jobs == 20 && st.solo_jobs == 20, "pool: always alone: every job alone");
		PoolFree(alone, &HnMallocAllocator);
	}
	CHECK(PoolCreate(0, &HnMallocAllocator, &err) == NULL &&
		  err.code == HANAMI_E_INVALID_ARGUMENT, "pool: 0 threads is refused");
	{
		/* more threads than CPUs: nobody spins, every share still runs once */
		int			n = HnMachineCpus() + 3;
		HnPool	   *big = PoolCreate(n, &HnMallocAllocator, &err);

		CHECK(big != NULL && MarkJobs(big, 200),
			  "pool: %d threads on %d CPUs (no spinning), each item done once per job, 200 jobs",
			  n, HnMachineCpus());
		PoolSetMode(big, HANAMI_POOL_ALWAYS_TEAM);
		CHECK(big != NULL && MarkJobs(big, 200),
			  "pool: %d threads on %d CPUs always together, each item done once per job, 200 jobs",
			  n, HnMachineCpus());
		PoolFree(big, &HnMallocAllocator);
	}
	{
		/* helpers that make a job slower: mostly alone; then back to them */
		HnPool	   *p = PoolCreate(3, &HnMallocAllocator, &err);
		NapArg		a;
		HnPoolStats before;
		uint64_t	team;

		a.caller = pthread_self();
		a.slow = true;
		atomic_init(&a.units, 0);
		for (int i = 0; i < 100; i++)
			PoolRun(p, NapJob, &a);
		PoolGetStats(p, &st);
		CHECK(atomic_load(&a.units) == 300 && st.jobs == 100 && st.solo_jobs >= 60 &&
			  st.late_jobs >= 1,
			  "pool: helpers that slow a job down: %llu of 100 jobs alone (at least 60), %llu late",
			  (unsigned long long) st.solo_jobs, (unsigned long long) st.late_jobs);
		before = st;
		a.slow = false;
		for (int i = 0; i < 300; i++)
			PoolRun(p, NapJob, &a);
		PoolGetStats(p, &st);
		team = (st.jobs - st.solo_jobs) - (before.jobs - before.solo_jobs);
		CHECK(atomic_load(&a.units) == 1200 && team >= 150,
			  "pool: helpers that speed a job up again: %llu of 300 jobs with them (at least 150)",
			  (unsigned long long) team);
		PoolFree(p, &HnMallocAllocator);
	}

	/*
	 * Fits: the same bytes with 1 thread and with pools run every way; a
	 * network large enough for the update to run on the pool too (few rows,
	 * one epoch: the unit tests also run under valgrind).
	 */
	{
		HnPool	   *p2alone = PoolCreate(2, &HnMallocAllocator, &err);
		HnPool	   *pools[6] = {NULL, p2, p3, p2team, p3team, p2alone};

		PoolSetMode(p2alone, HANAMI_POOL_ALWAYS_ALONE);
		for (int big = 0; big < 2; big++)
		{
			int			n_pools = big ? 4 : 6;

			MakeFastData(&f, big ? 100 : 300, 30, 5, false, 8);
			for (int regression = 0; regression < 2 - big; regression++)
			{
				f.ds.cls = regression ? NULL : f.cls;
				f.ds.y = regression ? f.y : NULL;
				for (int batch = 1; batch <= 64; batch *= 8)
				{
					TestNet		t[6];
					HnTrainOptions opt;
					HnTrainResult res[6];
					bool		same = true;

					for (int k = 0; k < n_pools; k++)
					{
						TestNetMake(&t[k], big ? 4 : 3, big ? cbig : c, NULL,
									regression ? HANAMI_LOSS_MSE : HANAMI_LOSS_DEFAULT, 4, true);
						if (regression)
							t[k].net.layers[2].activation = HANAMI_ACT_IDENTITY;
						TrainOptionsDefaults(&opt, batch == 1 ? HANAMI_OPT_SGD : HANAMI_OPT_ADAM);
						opt.epochs = big ? 1 : 3;
						opt.batch_size = batch;
						opt.seed = 77;
						opt.validation_split = 0.1;
						opt.pool = pools[k];
						if (TrainFit(&t[k].net, &f.ds, &opt, NULL, &HnMallocAllocator, &res[k], &err) != HANAMI_OK)
							same = false;
					}
					for (int k = 1; k < n_pools; k++)
						same &= memcmp(t[0].buf, t[k].buf, t[0].len) == 0 &&
							res[0].loss == res[k].loss && res[0].val_loss == res[k].val_loss;
					if (big)
						CHECK(same, "threads: classes, update on the pool too, batch %d: 2 and 3 threads, as the pool learns and always together, give the bytes and losses of 1",
							  batch);
					else
						CHECK(same, "threads: %s, batch %d: 2 and 3 threads, as the pool learns, always together and alone, give the bytes and losses of 1",
							  regression ? "regression" : "classes", batch);
					for (int k = 0; k < n_pools; k++)
						TestNetFree(&t[k]);
				}
			}
			FreeFastData(&f);
		}
		PoolFree(p2alone, &HnMallocAllocator);
	}
	PoolFree(p2, &HnMallocAllocator);
	PoolFree(p3, &HnMallocAllocator);
	PoolFree(p2team, &HnMallocAllocator);
	PoolFree(p3team, &HnMallocAllocator);
}

/*
 * Folded inference: close to unfolded, and the same bits alone or batched;
 * for a network that does not clip its scaled inputs (fitted before the
 * clip existed) and for one that does, with rows holding wild values.
 */
static void
TestFold(void)
{
	static const uint32_t c[] = {20, 16, 3};

	for (int clip = 0; clip < 2; clip++)
	{
		TestNet		tn;
		FastData	f;
		HnError		err;
		DenseWork *plain;
		DenseWork *fold;
		DenseWork *fold1;
		float		o1[3],
					ob[30 * 3],
					op[3];
		double		worst = 0.0;
		bool		same = true;
		const char *kind = clip ? "clipped" : "unclipped";

		MakeFastData(&f, 30, 20, 3, false, 21);
		/* a feature with a large offset against its range stays unfolded */
		for (int r = 0; r < 30; r++)
			f.x[r * 20 + 3] = 5000.0f + (float) (r % 7);
		TestNetMake(&tn, 3, c, NULL, HANAMI_LOSS_DEFAULT, 2, true);
		TrainFitScaling(&tn.net, &f.ds, f.n, NULL, &HnMallocAllocator, NULL);
		CHECK(tn.net.hdr->flags & HANAMI_FLAG_INPUT_CLIP,
			  "fold: learning the scaling sets the clip flag");
		if (!clip)
			tn.net.hdr->flags &= ~HANAMI_FLAG_INPUT_CLIP;
		else
			for (int r = 0; r < 30; r += 4)
			{
				/* past the bound: a folded and an unfolded feature */
				f.x[r * 20 + 0] *= (r % 8 ? -1e6f : 1e6f);
				f.x[r * 20 + 3] *= 1e6f;
			}
		plain = DenseWorkCreate(&tn.net, 30, false, &HnMallocAllocator, &err);
		fold = DenseWorkCreate(&tn.net, 30, false, &HnMallocAllocator, &err);
		fold1 = DenseWorkCreate(&tn.net, 1, false, &HnMallocAllocator, &err);
		DenseWorkFold(&tn.net, fold);
		DenseWorkFold(&tn.net, fold1);
		DensePredict(&tn.net, fold, f.x, 30, ob);
		for (int r = 0; r < 30; r++)
		{
			DensePredict(&tn.net, fold1, f.x + r * 20, 1, o1);
			DensePredict(&tn.net, plain, f.x + r * 20, 1, op);
			same &= memcmp(o1, ob + r * 3, sizeof(o1)) == 0;
			for (int j = 0; j < 3; j++)
			{
				double		e = fabs((double) o1[j] - op[j]);

				worst = e > worst ? e : worst;
			}
		}
		CHECK(same, "fold, %s: one row at a time gives the bits of a batch", kind);
		CHECK(worst <= 1e-5,
			  "fold, %s: outputs within 1e-5 of the unfolded network (%.2g)",
			  kind, worst);
		if (clip)
		{
			float		o2[3];

			/* ten times further past the bound: the same outputs */
			DensePredict(&tn.net, plain, f.x, 1, op);
			DensePredict(&tn.net, fold1, f.x, 1, o1);
			f.x[0] *= 10.0f;
			f.x[3] *= 10.0f;
			DensePredict(&tn.net, plain, f.x, 1, o2);
			CHECK(memcmp(op, o2, sizeof(op)) == 0,
				  "clip: values past the bound give the same outputs");
			DensePredict(&tn.net, fold1, f.x, 1, o2);
			CHECK(memcmp(o1, o2, sizeof(o1)) == 0,
				  "clip: the same on a folded workspace");
		}
		else
		{
			/* not clipped: a larger value changes the outputs */
			DensePredict(&tn.net, plain, f.x, 1, op);
			f.x[0] = f.x[0] * 1e6f + 1e6f;
			DensePredict(&tn.net, plain, f.x, 1, o1);
			CHECK(memcmp(op, o1, sizeof(op)) != 0,
				  "clip: a network without the flag is not clipped");
		}
		DenseWorkFree(plain, &HnMallocAllocator);
		DenseWorkFree(fold, &HnMallocAllocator);
		DenseWorkFree(fold1, &HnMallocAllocator);
		TestNetFree(&tn);
		FreeFastData(&f);
	}
}

void
TestFastSuite(void)
{
	TestGemv();
	TestGemmSkip();
	TestOuterUpdates();
	TestTrainerVsReference();
	TestThreads();
	TestFold();
}
