/*
 * hanami_engine.c - the growing ("hanami") network kind measured without
 * PostgreSQL: online training (batch 1, one thread) on raw values, epoch
 * time and test accuracy, optionally with corrupted training inputs or the
 * reduction pass.  Built and run by bench/hanami_bench.sh.
 *
 *   hanami_engine --fashion DIR | --csv FILE  [--epochs N] [--hidden 256,256]
 *               [--lr 0.04] [--distance 1] [--corrupt 0.01] [--reduction]
 *               [--reduction-threshold 1] [--seed 1] [--opt-seed N] [--limit ROWS]
 *               [--threads N [--team | --alone]]
 *
 * --fashion reads DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte (gunzipped
 * Fashion-MNIST); --csv reads a file of examples/datasets.py (id, x, label,
 * is_test).  --corrupt F multiplies one value in a fraction F of the
 * training rows by 10^6 of the largest normal value.  Prints one line per
 * epoch: seconds, us/sample, test accuracy, sections, synapses, blocks, bytes
 * and a checksum of the image (the same with any --threads).  --threads N
 * trains on a pool of N compute threads (adaptive; --team: always all of
 * them, --alone: always the caller alone).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fit.h"
#include "core/hanami/kind.h"
#include "core/pool.h"
#include "core/rng.h"

typedef struct Data
{
	int64_t		n;
	uint32_t	nf;
	float	   *x;
	int32_t    *cls;
} Data;

/* FNV-1a of an image: the same bytes, the same sum. */
static uint64_t
Fnv(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t	h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

static double
Now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
Die(const char *msg)
{
	fprintf(stderr, "hanami_engine: %s\n", msg);
	exit(2);
}

static uint32_t
Be32(const unsigned char *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

static unsigned char *
ReadFile(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	unsigned char *buf;

	if (!f)
		Die(path);
	fseek(f, 0, SEEK_END);
	*len = (size_t) ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(*len + 1);
	if (fread(buf, 1, *len, f) != *len)
		Die("short read");
	buf[*len] = 0;
	fclose(f);
	return buf;
}

/* Fashion-MNIST idx files of one split ("train" or "t10k"). */
static void
LoadIdx(const char *dir, const char *split, Data *d)
{
	char		path[4096];
	size_t		len;
	unsigned char *img;
	unsigned char *lab;

	snprintf(path, sizeof(path), "%s/%s-images-idx3-ubyte", dir, split);
	img = ReadFile(path, &len);
	snprintf(path, sizeof(path), "%s/%s-labels-idx1-ubyte", dir, split);
	lab = ReadFile(path, &len);
	d->n = Be32(img + 4);
	d->nf = Be32(img + 8) * Be32(img + 12);
	d->x = malloc(sizeof(float) * d->n * d->nf);
	d->cls = malloc(sizeof(int32_t) * d->n);
	for (int64_t i = 0; i < d->n * d->nf; i++)
		d->x[i] = img[16 + i];
	for (int64_t i = 0; i < d->n; i++)
		d->cls[i] = lab[8 + i];
	free(img);
	free(lab);
}

/* A CSV of examples/datasets.py: rows with is_test == want. */
static void
LoadCsv(const char *path, bool want_test, Data *d)
{
	size_t		len;
	char	   *buf = (char *) ReadFile(path, &len);
	char	   *line = strchr(buf, '\n') + 1;
	int64_t		cap = 1024;

	d->n = 0;
	d->nf = 0;
	d->x = NULL;
	d->cls = malloc(sizeof(int32_t) * cap);
	while (line && *line)
	{
		char	   *nl = strchr(line, '\n');
		char	   *p = strchr(line, '{') + 1;
		char	   *q = strchr(p, '}');
		float		v[4096];
		uint32_t	nv = 0;
		int			label;
		char	   *rest;

		if (nl)
			*nl = 0;
		while (p < q)
		{
			v[nv++] = strtof(p, &p);
			if (*p == ',')
				p++;
		}
		rest = q + 2;			/* past }" or }, */
		if (*rest == ',')
			rest++;
		label = atoi(rest);
		rest = strrchr(line, ',') + 1;
		if ((rest[0] == 't') == want_test)
		{
			if (d->nf == 0)
			{
				d->nf = nv;
				d->x = malloc(sizeof(float) * cap * nv);
			}
			if (d->n == cap)
			{
				cap *= 2;
				d->x = realloc(d->x, sizeof(float) * cap * d->nf);
				d->cls = realloc(d->cls, sizeof(int32_t) * cap);
			}
			memcpy(d->x + d->n * d->nf, v, sizeof(float) * nv);
			d->cls[d->n++] = label;
		}
		line = nl ? nl + 1 : NULL;
	}
	free(buf);
}

/* Accuracy of a network on the test rows, through the evaluator. */
static double
Accuracy(void *img, const Data *d, uint32_t nclass)
{
	HnDataset	ds = {d->n, d->nf, nclass, d->x, NULL, d->cls};
	HnRows		rows = {&ds, NULL, 0, NULL};
	HnEvalResult res;
	HnNet		hn;
	HnError		err;

	NetBindTrusted(&hn, img);
	memset(&res, 0, sizeof(res));
	if (HnEvaluate(&hn, &rows, NULL, &HnMallocAllocator, &res, &err) != HANAMI_OK)
		Die(err.message);
	return res.accuracy;
}

int
main(int argc, char **argv)
{
	Data		train = {0}, test = {0};
	const char *hidden = "256";
	int			epochs = 1;
	float		lr = 0.0f;			/* 0: the engine's default */
	double		corrupt = 0.0;
	bool		reduction = false;
	uint32_t	threshold = 0;	/* 0: the default */
	int			distance = 1;
	uint32_t	seed = 1;
	int64_t		limit = 0;
	int64_t		opt_seed = -1;	/* -1: derived from --seed */
	HkSpec *spec = calloc(1, sizeof(HkSpec));
	HnError		err;
	size_t		len;
	void	   *img;
	HkNet	net;
	uint32_t	nclass = 0;
	int			threads = 1;
	HnPoolMode	mode = HANAMI_POOL_ADAPTIVE;
	HnPool	   *pool = NULL;

	for (int i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--fashion") && v)
		{
			LoadIdx(v, "train", &train);
			LoadIdx(v, "t10k", &test);
			i++;
		}
		else if (!strcmp(a, "--csv") && v)
		{
			LoadCsv(v, false, &train);
			LoadCsv(v, true, &test);
			i++;
		}
		else if (!strcmp(a, "--epochs") && v)
			epochs = atoi(argv[++i]);
		else if (!strcmp(a, "--hidden") && v)
			hidden = argv[++i];
		else if (!strcmp(a, "--lr") && v)
			lr = strtof(argv[++i], NULL);
		else if (!strcmp(a, "--corrupt") && v)
			corrupt = strtod(argv[++i], NULL);
		else if (!strcmp(a, "--distance") && v)
			distance = atoi(argv[++i]);
		else if (!strcmp(a, "--seed") && v)
			seed = (uint32_t) atoi(argv[++i]);
		else if (!strcmp(a, "--opt-seed") && v)
			opt_seed = atoll(argv[++i]);
		else if (!strcmp(a, "--limit") && v)
			limit = atoll(argv[++i]);
		else if (!strcmp(a, "--threads") && v)
			threads = atoi(argv[++i]);
		else if (!strcmp(a, "--team"))
			mode = HANAMI_POOL_ALWAYS_TEAM;
		else if (!strcmp(a, "--alone"))
			mode = HANAMI_POOL_ALWAYS_ALONE;
		else if (!strcmp(a, "--reduction"))
			reduction = true;
		else if (!strcmp(a, "--reduction-threshold") && v)
			threshold = (uint32_t) atoi(argv[++i]);
		else
			Die("usage: hanami_engine --fashion DIR | --csv FILE [--epochs N] [--hidden 256,256] [--lr X] [--distance D] [--corrupt F] [--reduction] [--reduction-threshold N] [--seed S] [--opt-seed N] [--limit N] [--threads N [--team | --alone]]");
	}
	if (train.n == 0 || test.n == 0)
		Die("no data (--fashion DIR or --csv FILE)");
	if (limit > 0 && limit < train.n)
		train.n = limit;
	for (int64_t r = 0; r < train.n; r++)
		if ((uint32_t) train.cls[r] + 1 > nclass)
			nclass = (uint32_t) train.cls[r] + 1;

	if (corrupt > 0)
	{
		HnRng		rng;
		float		maxv = 0;

		for (int64_t i = 0; i < train.n * train.nf; i++)
			if (train.x[i] > maxv)
				maxv = train.x[i];
		RngSeed(&rng, 12345);
		for (int64_t r = 0; r < train.n; r++)
			if (RngUniform(&rng) < corrupt)
				train.x[r * train.nf + RngBelow(&rng, train.nf)] = maxv * 1e6f;
	}

	/* a layered chain: input, hidden cells, output along x */
	spec->cells[spec->n_cells++] = (HkCellSpec) {0, 0, 0, HK_CELL_INPUT, train.nf, -1, ""};
	for (const char *p = hidden; *p;)
	{
		char	   *end;
		long		k = strtol(p, &end, 10);

		spec->cells[spec->n_cells] = (HkCellSpec) {(int16_t) spec->n_cells, 0, 0, HK_CELL_HIDDEN, (uint32_t) k, -1, ""};
		spec->n_cells++;
		p = *end == ',' ? end + 1 : end;
	}
	spec->cells[spec->n_cells] = (HkCellSpec) {(int16_t) spec->n_cells, 0, 0, HK_CELL_OUTPUT, nclass, -1, ""};
	spec->n_cells++;
	spec->max_distance = (uint32_t) distance;
	spec->seed = seed;
	spec->reduction = reduction;
	spec->reduction_threshold = threshold;
	if (HkSpecFinalize(spec, &err) != HANAMI_OK)
		Die(err.message);
	len = HkSpecImageSize(spec, &err);
	img = malloc(len);
	if (HkCreate(img, len, spec, 0, &err) != HANAMI_OK)
		Die(err.message);

	if (threads > 1)
	{
		if ((pool = PoolCreate(threads, &HnMallocAllocator, &err)) == NULL)
			Die(err.message);
		PoolSetMode(pool, mode);
	}
	printf("# rows %lld features %u classes %u hidden %s lr %g corrupt %g reduction %d\n",
		   (long long) train.n, train.nf, nclass, hidden, lr, corrupt, reduction);
	for (int e = 1; e <= epochs; e++)
	{
		HnDataset	ds = {train.n, train.nf, nclass, train.x, NULL, train.cls};
		HnRows		rows = {&ds, NULL, 0, NULL};
		HnTrainOptions opt;
		HkTrainOptions hk;
		HnTrainResult res;
		HnNet		hn;
		HkStats st;
		double		t0;
		double		secs;
		double		acc;

		NetBindTrusted(&hn, img);
		HkTrainOptionsDefaults(&opt, &hk, HkOf(&hn));
		if (lr > 0)
		{
			hk.learning_rate = lr;
			hk.learning_rate_end = lr / 10;
		}
		opt.seed = opt_seed >= 0 ? (uint64_t) opt_seed + (uint64_t) e - 1 :
			(uint64_t) seed * 7919 + (uint64_t) e;
		hk.reduction = reduction;
		opt.pool = pool;
		t0 = Now();
		if (HnFit(&hn, &rows, &opt, NULL, NULL, &HnMallocAllocator, &res, &err) != HANAMI_OK)
			Die(err.message);
		secs = Now() - t0;
		img = hn.hdr;
		len = hn.len;
		HkBindTrusted(&net, img);
		acc = Accuracy(img, &test, nclass);
		HkGetStats(&net, &st);
		printf("epoch %d  %.3f s  %.1f us/sample  test %.2f %%  loss %.4f  sections %u  synapses %llu  blocks %u  bytes %llu  removed %llu  fnv %016llx\n",
			   e, secs, secs * 1e6 / train.n, acc * 100, res.loss, st.sections,
			   (unsigned long long) st.synapses, st.blocks,
			   (unsigned long long) st.bytes, (unsigned long long) res.removed,
			   (unsigned long long) Fnv(img, len));
		fflush(stdout);
		if (HkBind(&net, img, len, &err) != HANAMI_OK)
			Die(err.message);
	}
	if (pool != NULL)
	{
		HnPoolStats ps;

		PoolGetStats(pool, &ps);
		printf("# pool of %d: %llu jobs, %llu alone (%.3f s), %llu with the team (%.3f s, %llu late, %.3f s waiting)\n",
			   threads, (unsigned long long) ps.jobs, (unsigned long long) ps.solo_jobs,
			   ps.solo_ns / 1e9, (unsigned long long) (ps.jobs - ps.solo_jobs),
			   ps.team_ns / 1e9, (unsigned long long) ps.late_jobs, ps.wait_ns / 1e9);
		PoolFree(pool, &HnMallocAllocator);
	}
	return 0;
}
