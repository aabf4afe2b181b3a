/*
 * test_main.c - the engine's unit test runner: the harness, shared helpers
 * and main, which runs every suite and prints "N passed, N failed".
 */
#include "harness.h"

#include <stdarg.h>
#include <stdlib.h>

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

/* Run every suite; exit 1 if anything failed. */
int
main(void)
{
	TestMathSuite();
	TestFormatSuite();
	TestDenseSuite();
	TestTrainSuite();
	TestFastSuite();
	TestScalingSuite();
	TestGrowSuite();
	TestJsonSuite();
	printf("%d passed, %d failed\n", tests_run - tests_failed, tests_failed);
	return tests_failed == 0 ? 0 : 1;
}
