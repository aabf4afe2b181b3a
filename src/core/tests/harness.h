/*
 * harness.h - a tiny test harness for the engine's unit tests and the
 * OpenCL parity tests: numbered "ok N - ..." / "not ok N - ..." lines and a
 * closing "N passed, N failed" (t/run-all.sh counts these lines).  Also
 * helpers shared by the test files.  Implemented in harness.c.
 */
#ifndef HANAMI_TEST_HARNESS_H
#define HANAMI_TEST_HARNESS_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "core/dense/format.h"

/* Record one result; returns ok so callers can chain on failure. */
bool		TestReport(bool ok, const char *file, int line, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

/* Print an indented diagnostic line under the last result. */
void		TestNote(const char *fmt,...) __attribute__((format(printf, 1, 2)));

#define CHECK(cond, ...) TestReport((cond), __FILE__, __LINE__, __VA_ARGS__)

/* Print "N passed, N failed"; returns 0 when nothing failed, else 1. */
int			TestSummary(void);

/* |a - b| <= abs_tol + rel_tol * max(|a|, |b|) */
static inline bool
TestClose(double a, double b, double abs_tol, double rel_tol)
{
	double		m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);

	return fabs(a - b) <= abs_tol + rel_tol * m;
}

/* A network image owned by a test. */
typedef struct TestNet
{
	void	   *buf;
	size_t		len;
	DenseNet		net;
} TestNet;

/*
 * Build a network with the given unit counts and activations (acts may be
 * NULL for defaults; acts[0] is ignored).  Returns false and prints the
 * error when the spec is rejected.
 */
bool		TestNetMake(TestNet *tn, int n_layers, const uint32_t *counts,
						const HnActivation *acts, HnLoss loss, uint32_t seed,
						bool input_scaling);
void		TestNetFree(TestNet *tn);

/* A copy of an image in a fresh buffer of exactly len bytes. */
void	   *TestCopy(const void *buf, size_t len);

/* Deterministic uniform float in [lo, hi) from a 64-bit state. */
float		TestUniform(uint64_t *state, float lo, float hi);

/*
 * n rows of 4 features in [0, 10), 3 classes, from a seed (x and cls are
 * malloc'd; ds points at them).
 */
struct HnDataset;
void		TestMakeData(struct HnDataset *ds, float **x, int32_t **cls,
						 int64_t n, uint64_t seed);

/*
 * A network from a JSON description, bound to net when net is not NULL
 * (the image is malloc'd); NULL with err filled when it is refused.
 */
struct HnNet;
void	   *TestNetFromSpec(const char *json, size_t *len, struct HnNet *net,
							HnError *err);

/* Whether a description is refused with code and a message containing s. */
bool		TestSpecRefused(const char *json, HnStatus code, const char *s);

/* The suites, one per test file. */
void		TestMathSuite(void);
void		TestFormatSuite(void);
void		TestDenseSuite(void);
void		TestTrainSuite(void);
void		TestFastSuite(void);
void		TestScalingSuite(void);
void		TestGrowSuite(void);
void		TestKindSuite(void);
void		TestPortsSuite(void);
void		TestFitSuite(void);
void		TestJsonSuite(void);
void		TestCheckpointSuite(void);
void		TestReshapeSuite(void);
void		TestOnlineSuite(void);
void		TestExprSuite(void);
void		TestDtypeSuite(void);
void		TestGrowPagingSuite(void);
void		TestHebbianSuite(void);
void		TestCustomActSuite(void);
void		TestGraphSuite(void);
void		TestEmbedSuite(void);
void		TestHistorySuite(void);

#endif							/* HANAMI_TEST_HARNESS_H */
