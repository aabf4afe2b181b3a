/*
 * harness.c - the unit tests' harness, shared by the engine's tests
 * (test_core) and the OpenCL parity tests (test_opencl): numbered results,
 * notes, the closing summary line, and helpers that build test networks.
 */
#include "harness.h"

#include <stdarg.h>
#include <stdlib.h>

#include "core/kind.h"
#include "core/train.h"

static int	tests_run;
static int	tests_failed;

/* Print one numbered result and count it. */
bool
TestReport(bool ok, const char *file, int line, const char *fmt,...)
{
	va_list		ap;

	tests_run++;
	if (!ok)
		tests_failed++;
	printf("%sok %d - ", ok ? "" : "not ", tests_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!ok)
		printf(" (%s:%d)", file, line);
	printf("\n");
	fflush(stdout);
	return ok;
}

/* Print the closing "N passed, N failed" line; main's exit status. */
int
TestSummary(void)
{
	printf("%d passed, %d failed\n", tests_run - tests_failed, tests_failed);
	fflush(stdout);
	return tests_failed == 0 ? 0 : 1;
}

/* Print a diagnostic line. */
void
TestNote(const char *fmt,...)
{
	va_list		ap;

	printf("#   ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Finalize a spec and create its image. */
bool
TestNetMake(TestNet *tn, int n_layers, const uint32_t *counts,
			const HnActivation *acts, HnLoss loss, uint32_t seed,
			bool input_scaling)
{
	DenseSpec		spec;
	HnError		err;

	memset(tn, 0, sizeof(*tn));
	memset(&spec, 0, sizeof(spec));
	spec.n_layers = n_layers;
	for (int l = 0; l < n_layers; l++)
	{
		spec.layers[l].count = counts[l];
		spec.layers[l].activation = (acts && l > 0) ? acts[l] :
			HANAMI_ACT_DEFAULT;
	}
	spec.loss = loss;
	spec.seed = seed;
	spec.input_scaling = input_scaling;
	if (DenseSpecFinalize(&spec, &err) != HANAMI_OK)
	{
		TestNote("spec rejected: %s", err.message);
		return false;
	}
	tn->len = DenseImageSize(&spec, &err);
	tn->buf = malloc(tn->len);
	if (DenseCreate(tn->buf, tn->len, &spec, &err) != HANAMI_OK)
	{
		TestNote("create failed: %s", err.message);
		free(tn->buf);
		tn->buf = NULL;
		return false;
	}
	DenseBindTrusted(&tn->net, tn->buf);
	return true;
}

/* Free a test network. */
void
TestNetFree(TestNet *tn)
{
	free(tn->buf);
	tn->buf = NULL;
}

/* Copy bytes into a buffer of exactly that size. */
void *
TestCopy(const void *buf, size_t len)
{
	void	   *p = malloc(len > 0 ? len : 1);

	if (len > 0)
		memcpy(p, buf, len);
	return p;
}

/* Linear congruential uniform float for test data. */
float
TestUniform(uint64_t *state, float lo, float hi)
{
	uint64_t	x;

	*state = *state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	x = *state >> 40;			/* 24 bits */
	return lo + (hi - lo) * (float) x / 16777216.0f;
}

/* n rows of 4 features, 3 classes, from a seed. */
void
TestMakeData(HnDataset *ds, float **x, int32_t **cls, int64_t n, uint64_t seed)
{
	*x = malloc(sizeof(float) * (size_t) n * 4);
	*cls = malloc(sizeof(int32_t) * (size_t) n);
	for (int64_t r = 0; r < n; r++)
	{
		for (int j = 0; j < 4; j++)
			(*x)[r * 4 + j] = TestUniform(&seed, 0.0f, 10.0f);
		(*cls)[r] = (int32_t) (((*x)[r * 4] + (*x)[r * 4 + 1] > 10.0f) +
							   ((*x)[r * 4 + 2] > 7.0f));
	}
	memset(ds, 0, sizeof(*ds));
	ds->n = n;
	ds->n_features = 4;
	ds->n_outputs = 3;
	ds->x = *x;
	ds->cls = *cls;
}

/* See harness.h. */
void *
TestNetFromSpec(const char *json, size_t *len, HnNet *net, HnError *err)
{
	void	   *img = NULL;

	if (NetFromJson(json, strlen(json), NULL, &HnMallocAllocator, &img, len,
					err) != HANAMI_OK)
		return NULL;
	if (net != NULL && NetBind(net, img, *len, err) != HANAMI_OK)
	{
		free(img);
		return NULL;
	}
	return img;
}

/* See harness.h. */
bool
TestSpecRefused(const char *json, HnStatus code, const char *s)
{
	HnError		err;
	size_t		len;
	void	   *img = TestNetFromSpec(json, &len, NULL, &err);

	if (img != NULL)
	{
		TestNote("accepted: %s", json);
		free(img);
		return false;
	}
	if (err.code != code || strstr(err.message, s) == NULL)
		TestNote("got %d: %s", (int) err.code, err.message);
	return err.code == code && strstr(err.message, s) != NULL;
}
