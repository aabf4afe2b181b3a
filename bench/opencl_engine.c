/*
 * opencl_engine.c - the dense engine on an OpenCL device against the CPU
 * engine, without PostgreSQL: the same network, rows and options trained by
 * TrainFit (1 thread, and all threads) and by OclTrainFit, then the test
 * rows predicted in batches by DensePredict and OclDensePredict.  Built and
 * run by bench/opencl_bench.sh.
 *
 *   opencl_engine --fashion DIR [--layers 784,128,10] [--batch 64]
 *                 [--epochs 1] [--optimizer sgd|adam] [--lr 0.01]
 *                 [--limit ROWS] [--threads N] [--device SELECTOR]
 *
 * --fashion reads DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte
 * (gunzipped Fashion-MNIST), raw 0..255 pixels (the network learns its
 * input scaling).  --limit trains on the first ROWS training rows.  Prints
 * one line per engine: epoch seconds, us/sample, samples/s, test accuracy,
 * prediction time for the test rows, and the ratio to the CPU engine with
 * one thread.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/dense/step.h"
#include "core/dense/dense.h"
#include "core/dense/format.h"
#include "core/pool.h"
#include "core/train.h"
#include "opencl/ocl.h"

typedef struct Data
{
	int64_t		n;
	float	   *x;
	int32_t    *cls;
} Data;

/* Monotonic seconds. */
static double
Now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double
NowHook(void *ctx)
{
	(void) ctx;
	return Now();
}

/* A whole file in memory, or exit. */
static unsigned char *
ReadFile(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	unsigned char *buf;
	long		n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0)
	{
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	rewind(f);
	buf = malloc((size_t) n);
	if (fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		fprintf(stderr, "short read on %s\n", path);
		exit(2);
	}
	fclose(f);
	*len = (size_t) n;
	return buf;
}

/* One Fashion-MNIST split ("train" or "t10k") as raw floats and classes. */
static Data
ReadSplit(const char *dir, const char *split)
{
	char		path[4096];
	size_t		len;
	unsigned char *img;
	unsigned char *lab;
	Data		d;

	snprintf(path, sizeof(path), "%s/%s-images-idx3-ubyte", dir, split);
	img = ReadFile(path, &len);
	d.n = (int64_t) (len - 16) / 784;
	snprintf(path, sizeof(path), "%s/%s-labels-idx1-ubyte", dir, split);
	lab = ReadFile(path, &len);
	d.x = malloc(sizeof(float) * d.n * 784);
	d.cls = malloc(sizeof(int32_t) * d.n);
	for (int64_t i = 0; i < d.n * 784; i++)
		d.x[i] = img[16 + i];
	for (int64_t i = 0; i < d.n; i++)
		d.cls[i] = lab[8 + i];
	free(img);
	free(lab);
	return d;
}

/* A fresh network from "784,128,10" (relu hidden, softmax output). */
static void *
MakeNet(const char *layers, DenseNet *net)
{
	DenseSpec		spec;
	HnError		err;
	char	   *copy = strdup(layers);
	size_t		len;
	void	   *buf;

	memset(&spec, 0, sizeof(spec));
	for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ","))
		spec.layers[spec.n_layers++].count = (uint32_t) atoi(tok);
	free(copy);
	spec.seed = 1;
	spec.input_scaling = true;
	if (DenseSpecFinalize(&spec, &err) != HANAMI_OK)
	{
		fprintf(stderr, "bad layers: %s\n", err.message);
		exit(2);
	}
	len = DenseImageSize(&spec, &err);
	buf = malloc(len);
	DenseCreate(buf, len, &spec, &err);
	DenseBindTrusted(net, buf);
	return buf;
}

/* Fraction of rows whose largest output is their class. */
static double
Accuracy(const float *out, const Data *d, uint32_t n_out)
{
	int64_t		ok = 0;

	for (int64_t r = 0; r < d->n; r++)
	{
		const float *o = out + r * n_out;
		uint32_t	best = 0;

		for (uint32_t j = 1; j < n_out; j++)
			if (o[j] > o[best])
				best = j;
		ok += (int32_t) best == d->cls[r];
	}
	return (double) ok / (double) d->n;
}

typedef struct Result
{
	double		fit_s;
	double		predict_s;
	double		accuracy;
} Result;

/* Train and predict on the CPU engine with threads threads. */
static Result
RunCpu(const char *layers, const Data *train, const Data *test,
	   const HnTrainOptions *base, int threads)
{
	DenseNet		net;
	void	   *buf = MakeNet(layers, &net);
	HnTrainOptions opt = *base;
	HnCallbacks cb = {0};
	HnTrainResult res;
	HnError		err;
	HnDataset	ds = {train->n, 784, net.hdr->n_outputs, train->x, NULL, train->cls};
	DenseWork *work;
	float	   *out = malloc(sizeof(float) * test->n * net.hdr->n_outputs);
	Result		r;
	double		t0;

	cb.now = NowHook;
	opt.pool = threads > 1 ? PoolCreate(threads, &HnMallocAllocator, &err) : NULL;
	t0 = Now();
	if (TrainFit(&net, &ds, &opt, &cb, &HnMallocAllocator, &res, &err) != HANAMI_OK)
	{
		fprintf(stderr, "cpu fit: %s\n", err.message);
		exit(1);
	}
	r.fit_s = Now() - t0;
	work = DenseWorkCreate(&net, 1024, false, &HnMallocAllocator, &err);
	t0 = Now();
	DensePredict(&net, work, test->x, (int) test->n, out);
	r.predict_s = Now() - t0;
	r.accuracy = Accuracy(out, test, net.hdr->n_outputs);
	DenseWorkFree(work, &HnMallocAllocator);
	PoolFree(opt.pool, &HnMallocAllocator);
	free(out);
	free(buf);
	return r;
}

/* Train and predict on an OpenCL device (the program is built already). */
static Result
RunOcl(OclDevice *dev, const char *layers, const Data *train,
	   const Data *test, const HnTrainOptions *opt)
{
	DenseNet		net;
	void	   *buf = MakeNet(layers, &net);
	HnCallbacks cb = {0};
	HnTrainResult res;
	OclError	err;
	HnDataset	ds = {train->n, 784, net.hdr->n_outputs, train->x, NULL, train->cls};
	OclSession *s = OclSessionCreate(dev, &HnMallocAllocator, &err);
	OclDense   *d;
	float	   *out = malloc(sizeof(float) * test->n * net.hdr->n_outputs);
	Result		r;
	double		t0;

	cb.now = NowHook;
	t0 = Now();
	if (OclTrainFit(s, &net, &ds, opt, &cb, &HnMallocAllocator, &res, &err) != HANAMI_OK)
	{
		fprintf(stderr, "opencl fit: %s %s\n", err.base.message, err.base.detail);
		exit(1);
	}
	r.fit_s = Now() - t0;
	OclSessionRelease(s);
	d = OclDenseCreate(s, &net, 1024, NULL, &HnMallocAllocator, &err);
	t0 = Now();
	if (d == NULL || OclDensePredict(d, test->x, test->n, out, NULL, &err) != HANAMI_OK)
	{
		fprintf(stderr, "opencl predict: %s\n", err.base.message);
		exit(1);
	}
	r.predict_s = Now() - t0;
	r.accuracy = Accuracy(out, test, net.hdr->n_outputs);
	OclSessionFree(s, &HnMallocAllocator);
	free(d);
	free(out);
	free(buf);
	return r;
}

/* One result line. */
static void
Line(const char *engine, const Result *r, const Result *ref, int64_t rows,
	 int epochs)
{
	double		per_epoch = r->fit_s / epochs;

	printf("%-34s %8.3f s/epoch %8.1f us/sample %9.0f samples/s  acc %5.2f %%  predict %7.1f ms  fit x%.2f  predict x%.2f\n",
		   engine, per_epoch, per_epoch / (double) rows * 1e6,
		   (double) rows / per_epoch, 100.0 * r->accuracy, 1e3 * r->predict_s,
		   ref->fit_s / r->fit_s, ref->predict_s / r->predict_s);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	const char *layers = "784,128,10";
	const char *selector = NULL;
	int			batch = 64;
	int			epochs = 1;
	int			threads = 2;
	int64_t		limit = 0;
	HnOptimizer kind = HANAMI_OPT_SGD;
	double		lr = -1;
	HnTrainOptions opt;
	Data		train;
	Data		test;
	OclDevice  *dev;
	OclError	err;
	Result		cpu1;
	Result		cpun;
	Result		ocl;
	char		name[256];
	double		t0;

	for (int i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : "";

		if (strcmp(a, "--fashion") == 0)
			dir = v, i++;
		else if (strcmp(a, "--layers") == 0)
			layers = v, i++;
		else if (strcmp(a, "--batch") == 0)
			batch = atoi(v), i++;
		else if (strcmp(a, "--epochs") == 0)
			epochs = atoi(v), i++;
		else if (strcmp(a, "--threads") == 0)
			threads = atoi(v), i++;
		else if (strcmp(a, "--limit") == 0)
			limit = atoll(v), i++;
		else if (strcmp(a, "--device") == 0)
			selector = v, i++;
		else if (strcmp(a, "--lr") == 0)
			lr = atof(v), i++;
		else if (strcmp(a, "--optimizer") == 0)
			kind = strcmp(v, "adam") == 0 ? HANAMI_OPT_ADAM : HANAMI_OPT_SGD, i++;
		else
		{
			fprintf(stderr, "unknown argument %s\n", a);
			return 2;
		}
	}
	if (dir == NULL)
	{
		fprintf(stderr, "usage: opencl_engine --fashion DIR [options]\n");
		return 2;
	}
	train = ReadSplit(dir, "train");
	test = ReadSplit(dir, "t10k");
	if (limit > 0 && limit < train.n)
		train.n = limit;

	TrainOptionsDefaults(&opt, kind);
	opt.epochs = epochs;
	opt.batch_size = batch;
	opt.seed = 1;
	if (lr > 0)
		opt.optim.learning_rate = (float) lr;

	t0 = Now();
	dev = OclGetDevice(selector, &err);
	if (dev == NULL)
	{
		fprintf(stderr, "no OpenCL device: %s %s\n", err.base.message, err.base.detail);
		return 1;
	}
	printf("# %s, batch %d, %s lr %g, %d epoch(s) on %lld rows, %lld test rows\n",
		   layers, batch, OptimName(kind), opt.optim.learning_rate, epochs,
		   (long long) train.n, (long long) test.n);
	printf("# OpenCL device: %s (%s, %u compute units); program ready in %.2f s\n",
		   OclDeviceGetInfo(dev)->name, OclDeviceGetInfo(dev)->type,
		   OclDeviceGetInfo(dev)->compute_units, Now() - t0);

	cpu1 = RunCpu(layers, &train, &test, &opt, 1);
	Line("cpu engine, 1 thread", &cpu1, &cpu1, train.n, epochs);
	if (threads > 1)
	{
		cpun = RunCpu(layers, &train, &test, &opt, threads);
		snprintf(name, sizeof(name), "cpu engine, %d threads", threads);
		Line(name, &cpun, &cpu1, train.n, epochs);
	}
	{
		/* warm-up: drivers that compile kernels at their first launch
		 * (PoCL) do it here, not in the measured fit */
		Data		few = train;
		Data		some = test;
		HnTrainOptions wopt = opt;

		few.n = 2 * batch + 1;
		some.n = 1100;
		wopt.epochs = 1;
		t0 = Now();
		RunOcl(dev, layers, &few, &some, &wopt);
		printf("# OpenCL warm-up (first launches) %.2f s\n", Now() - t0);
	}
	ocl = RunOcl(dev, layers, &train, &test, &opt);
	snprintf(name, sizeof(name), "opencl %.24s", OclDeviceGetInfo(dev)->name);
	Line(name, &ocl, &cpu1, train.n, epochs);
	return 0;
}
