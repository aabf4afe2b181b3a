/*
 * threads_engine.c - one dense fit on the CPU engine with a given number of
 * compute threads, without PostgreSQL: epoch seconds and a hash of the
 * trained parameters, so that runs with different thread counts can be
 * compared for time and for identical bytes.  Built and run by
 * bench/threads_bench.sh.
 *
 *   threads_engine --fashion DIR [--threads 1] [--layers 784,128,10]
 *                  [--batch 64] [--epochs 1] [--limit ROWS]
 *                  [--optimizer sgd|adam] [--mode adaptive|team|alone]
 *
 * --fashion reads DIR/train-{images-idx3,labels-idx1}-ubyte (gunzipped
 * Fashion-MNIST), raw 0..255 pixels.  --mode: how the pool runs jobs
 * (PoolSetMode; default adaptive).  Prints one line:
 *   threads=N seconds=S epoch_s=E1,E2,... hash=H jobs=J solo=S late=L
 * (hash: FNV-1a of the trained parameters; jobs, solo, late: PoolGetStats).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/dense/dense.h"
#include "core/dense/step.h"
#include "core/dense/format.h"
#include "core/pool.h"
#include "core/train.h"

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

/* Epoch times as the fit reports them. */
typedef struct Epochs
{
	int			n;
	double		last;
	double		s[1024];
} Epochs;

static void
EpochDone(void *ctx, const HnEpochReport *r)
{
	Epochs	   *e = ctx;
	double		now = Now();

	(void) r;
	if (e->n < 1024)
		e->s[e->n++] = now - e->last;
	e->last = now;
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
	if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		fprintf(stderr, "short read on %s\n", path);
		exit(2);
	}
	fclose(f);
	*len = (size_t) n;
	return buf;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	const char *layers = "784,128,10";
	int			batch = 64;
	int			epochs = 1;
	int			threads = 1;
	int64_t		limit = 0;
	HnOptimizer kind = HANAMI_OPT_SGD;
	HnPoolMode	mode = HANAMI_POOL_ADAPTIVE;
	char		path[4096];
	size_t		len;
	unsigned char *img;
	unsigned char *lab;
	int64_t		n;
	float	   *x;
	int32_t    *cls;
	DenseSpec	spec;
	DenseNet	net;
	void	   *buf;
	char	   *copy;
	HnTrainOptions opt;
	HnCallbacks cb = {0};
	HnTrainResult res;
	HnError		err;
	Epochs		ep = {0};
	HnPoolStats stats;
	uint64_t	hash = 1469598103934665603ULL;
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
		else if (strcmp(a, "--mode") == 0)
			mode = strcmp(v, "team") == 0 ? HANAMI_POOL_ALWAYS_TEAM :
				strcmp(v, "alone") == 0 ? HANAMI_POOL_ALWAYS_ALONE : HANAMI_POOL_ADAPTIVE, i++;
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
		fprintf(stderr, "usage: threads_engine --fashion DIR [options]\n");
		return 2;
	}

	/* the training split */
	snprintf(path, sizeof(path), "%s/train-images-idx3-ubyte", dir);
	img = ReadFile(path, &len);
	n = (int64_t) (len - 16) / 784;
	snprintf(path, sizeof(path), "%s/train-labels-idx1-ubyte", dir);
	lab = ReadFile(path, &len);
	if (limit > 0 && limit < n)
		n = limit;
	x = malloc(sizeof(float) * (size_t) n * 784);
	cls = malloc(sizeof(int32_t) * (size_t) n);
	for (int64_t i = 0; i < n * 784; i++)
		x[i] = img[16 + i];
	for (int64_t i = 0; i < n; i++)
		cls[i] = lab[8 + i];

	/* a fresh network: relu hidden layers, softmax output, seed 1 */
	memset(&spec, 0, sizeof(spec));
	copy = strdup(layers);
	for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ","))
		spec.layers[spec.n_layers++].count = (uint32_t) atoi(tok);
	free(copy);
	spec.seed = 1;
	spec.input_scaling = true;
	if (DenseSpecFinalize(&spec, &err) != HANAMI_OK)
	{
		fprintf(stderr, "bad layers: %s\n", err.message);
		return 2;
	}
	len = DenseImageSize(&spec, &err);
	buf = malloc(len);
	DenseCreate(buf, len, &spec, &err);
	DenseBindTrusted(&net, buf);

	TrainOptionsDefaults(&opt, kind);
	opt.epochs = epochs;
	opt.batch_size = batch;
	opt.seed = 1;
	opt.pool = NULL;
	if (threads > 1)
	{
		opt.pool = PoolCreate(threads, &HnMallocAllocator, &err);
		if (opt.pool == NULL)
		{
			fprintf(stderr, "pool: %s\n", err.message);
			return 1;
		}
		PoolSetMode(opt.pool, mode);
	}
	cb.now = NowHook;
	cb.ctx = &ep;
	cb.epoch_done = EpochDone;
	{
		HnDataset	ds = {n, 784, net.hdr->n_outputs, x, NULL, cls};

		t0 = ep.last = Now();
		if (TrainFit(&net, &ds, &opt, &cb, &HnMallocAllocator, &res, &err) != HANAMI_OK)
		{
			fprintf(stderr, "fit: %s\n", err.message);
			return 1;
		}
	}
	t0 = Now() - t0;
	for (size_t i = 0; i < (size_t) net.hdr->n_params * sizeof(float); i++)
	{
		hash ^= ((const unsigned char *) net.params)[i];
		hash *= 1099511628211ULL;
	}
	printf("threads=%d seconds=%.3f epoch_s=", threads, t0);
	for (int i = 0; i < ep.n; i++)
		printf("%s%.3f", i ? "," : "", ep.s[i]);
	PoolGetStats(opt.pool, &stats);
	printf(" hash=%016llx jobs=%llu solo=%llu late=%llu\n", (unsigned long long) hash,
		   (unsigned long long) stats.jobs, (unsigned long long) stats.solo_jobs,
		   (unsigned long long) stats.late_jobs);
	PoolFree(opt.pool, &HnMallocAllocator);
	free(buf);
	free(x);
	free(cls);
	free(img);
	free(lab);
	return 0;
}
