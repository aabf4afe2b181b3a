/*
 * test_expr.c - unit tests of custom activations (expr.h): expressions
 * compile and evaluate as their C equivalents; every malformed one is
 * refused with the character it failed at; a program printed and compiled
 * again gives the same instructions; forged programs are refused or run
 * without a crash; the derivative check accepts right derivatives and
 * refuses wrong ones and functions that are not finite; the batch forward
 * and backward agree with single evaluation.
 */
#include "harness.h"

#include <stdlib.h>

#include "core/expr.h"

static double
Swish(double x)
{
	return x / (1.0 + exp(-x));
}

static double
Softplus(double x)
{
	return log(1.0 + exp(x));
}

static double
Poly(double x)
{
	return -(x * x) + 2.0 * x + 1.0;
}

static double
Clip(double x)
{
	return x < -1 ? -1 : x > 1 ? 1 : x;
}

static double
Mixed(double x)
{
	return 0.001 * x + fabs(x) * M_PI - M_E + (x >= 0 ? 1.0 : 0.0) + tanh(x) * sin(x) - cos(x);
}

static double
Pow(double x)
{
	(void) x;
	return 512.0;
}

static const struct
{
	const char *text;
	double		(*ref) (double);
}			Valid[] = {
	{"x * sigmoid(x)", Swish},
	{"log(1 + exp(x))", Softplus},
	{"-x^2 + 2*x + 1", Poly},
	{"min(1, max(-1, x))", Clip},
	{"1e-3*x + abs(x)*pi - e + step(x) + tanh(x)*sin(x) - cos(x)", Mixed},
	{"2^3^2", Pow},
};

static void
TestCompileEval(void)
{
	HnError		err;
	HnExpr		e;
	HnExpr		back;
	char		text[4096];

	for (size_t i = 0; i < sizeof(Valid) / sizeof(Valid[0]); i++)
	{
		bool		ok = HnExprCompile(Valid[i].text, false, &e, &err) == HANAMI_OK &&
			HnExprCheck(&e, false, &err) == HANAMI_OK;
		double		worst = 0;

		for (int k = 0; ok && k <= 40; k++)
		{
			double		x = -5.0 + 0.25 * k;
			double		got = HnExprEval(&e, x, 0);

			worst = fmax(worst, fabs(got - Valid[i].ref(x)) / fmax(1.0, fabs(Valid[i].ref(x))));
		}
		CHECK(ok && worst < 1e-6, "\"%s\" evaluates as its C equivalent (worst %.2g)%s%s",
			  Valid[i].text, worst, ok ? "" : ": ", ok ? "" : err.message);
		ok = ok && HnExprToText(&e, text, sizeof(text), &err) == HANAMI_OK &&
			HnExprCompile(text, false, &back, &err) == HANAMI_OK &&
			memcmp(&back, &e, sizeof(e)) == 0;
		CHECK(ok, "\"%s\" printed as \"%s\" compiles to the same instructions",
			  Valid[i].text, ok ? text : err.message);
	}
}

static void
TestRefusals(void)
{
	static const char *bad[] = {
		"", "x +", "foo(x)", "y", "x)", "(x", "2..3", "max(x)", "x $ 2",
		"sin x", "x x", ".", "exp()", "min(x, 1, 2)", "1e", "--", "x^",
	};
	HnError		err;
	HnExpr		e;
	char		text[2100];
	int			refused = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		HnStatus	st = HnExprCompile(bad[i], false, &e, &err);

		if (st == HANAMI_E_INVALID_SPEC && strstr(err.message, "at character") != NULL)
			refused++;
		else
			TestNote("\"%s\": %s", bad[i], st == HANAMI_OK ? "accepted" : err.message);
	}
	CHECK(refused == (int) (sizeof(bad) / sizeof(bad[0])),
		  "%d malformed expressions refused, each saying at which character", refused);
	CHECK(HnExprCompile("y * (1 - y)", true, &e, &err) == HANAMI_OK && e.uses_y == 1,
		  "a derivative may use y");
	HnExprCompile("y", false, &e, &err);
	CHECK(strstr(err.message, "only appear in a derivative") != NULL,
		  "an activation may not: %s", err.message);
	/* too long, too many steps, too deep */
	memset(text, 'x', 1500);
	text[1500] = '\0';
	CHECK(HnExprCompile(text, false, &e, &err) == HANAMI_E_INVALID_SPEC &&
		  strstr(err.message, "too long"), "a text of 1500 characters is refused");
	strcpy(text, "x");
	for (int i = 0; i < 40; i++)
		strcat(text, "+x");
	CHECK(HnExprCompile(text, false, &e, &err) == HANAMI_E_INVALID_SPEC &&
		  strstr(err.message, "64 steps"), "81 steps are refused: %s", err.message);
	text[0] = '\0';
	for (int i = 0; i < 20; i++)
		strcat(text, "x+(");
	strcat(text, "x");
	for (int i = 0; i < 20; i++)
		strcat(text, ")");
	CHECK(HnExprCompile(text, false, &e, &err) == HANAMI_E_INVALID_SPEC &&
		  strstr(err.message, "deeply"), "a stack deeper than 16 is refused: %s", err.message);
	text[0] = '\0';
	for (int i = 0; i < 70; i++)
		strcat(text, "(");
	strcat(text, "x");
	for (int i = 0; i < 70; i++)
		strcat(text, ")");
	CHECK(HnExprCompile(text, false, &e, &err) == HANAMI_E_INVALID_SPEC,
		  "70 nested parentheses are refused");
}

static void
TestForged(void)
{
	HnError		err;
	HnExpr		e;
	HnExpr		f;
	uint64_t	seed = 5;
	int			accepted = 0;
	int			printed = 0;

	HnExprCompile("x * sigmoid(x) + max(x, 0.5)", false, &e, &err);
	f = e;
	f.ins[0].op = HN_EXPR_ADD;
	CHECK(HnExprCheck(&f, false, &err) == HANAMI_E_INVALID_FORMAT,
		  "a program taking values that are not there is refused");
	f = e;
	f.n--;
	CHECK(HnExprCheck(&f, false, &err) == HANAMI_E_INVALID_FORMAT,
		  "a program leaving two values is refused");
	f = e;
	f.ins[f.n + 3].op = HN_EXPR_X;
	CHECK(HnExprCheck(&f, false, &err) == HANAMI_E_INVALID_FORMAT,
		  "bytes after the end are refused");
	f = e;
	f.ins[0].op = HN_EXPR_Y;
	f.uses_y = 1;
	CHECK(HnExprCheck(&f, false, &err) == HANAMI_E_INVALID_FORMAT &&
		  HnExprCheck(&f, true, &err) == HANAMI_OK,
		  "y is refused in an activation and allowed in a derivative");
	f = e;
	f.ins[1].op = HN_EXPR_COUNT_;
	CHECK(HnExprCheck(&f, false, &err) == HANAMI_E_INVALID_FORMAT,
		  "an unknown instruction is refused");
	for (int i = 0; i < 1000; i++)
	{
		unsigned char *b = (unsigned char *) &f;

		f = e;
		for (int j = 0; j < 1 + i % 3; j++)
			b[(size_t) (TestUniform(&seed, 0.0f, 1.0f) * 100.0f) % sizeof(f)] ^=
				(unsigned char) (1 + (i * 13 + j) % 255);
		if (HnExprCheck(&f, true, &err) == HANAMI_OK)
		{
			char		text[4096];
			HnExpr		again;

			accepted++;
			(void) HnExprEval(&f, 0.3, 0.2);
			/* a checked program prints, and what it prints compiles */
			if (HnExprToText(&f, text, sizeof(text), &err) == HANAMI_OK &&
				HnExprCompile(text, true, &again, &err) == HANAMI_OK)
				printed++;
		}
	}
	CHECK(printed == accepted,
		  "1000 forged programs: refused, or checked, run and printed as an expression that compiles (%d)", accepted);
}

static void
TestPairs(void)
{
	static const char *const good[][2] = {
		{"x * sigmoid(x)", "sigmoid(x) * (1 + x * (1 - sigmoid(x)))"},
		{"log(1 + exp(x))", "sigmoid(x)"},
		{"sigmoid(x)", "y * (1 - y)"},
		{"x^2 / 10", "x / 5"},
		{"abs(x)", "sign(x)"},
		{"max(x, 0.1 * x)", "step(x) + 0.1 * (1 - step(x))"},
	};
	static const char *const wrong[][3] = {
		{"x^2", "x", "does not match"},
		{"tanh(x)", "1 - tanh(x)", "does not match"},
		{"log(x)", "1 / x", "not finite"},
		{"sqrt(x)", "0.5 / sqrt(x)", "not finite"},
		{"exp(x^3)", "3 * x^2 * y", "not finite"},
		{"x", "1 + 0 * log(x)", "derivative is not finite"},
	};
	HnError		err;
	HnExpr		f;
	HnExpr		df;
	int			ok = 0;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		if (HnExprCompile(good[i][0], false, &f, &err) == HANAMI_OK &&
			HnExprCompile(good[i][1], true, &df, &err) == HANAMI_OK &&
			HnExprCheckPair(&f, &df, &err) == HANAMI_OK)
			ok++;
		else
			TestNote("%s / %s: %s", good[i][0], good[i][1], err.message);
	}
	CHECK(ok == (int) (sizeof(good) / sizeof(good[0])),
		  "%d activations with their derivatives pass the gradient check", ok);
	ok = 0;
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
	{
		if (HnExprCompile(wrong[i][0], false, &f, &err) == HANAMI_OK &&
			HnExprCompile(wrong[i][1], true, &df, &err) == HANAMI_OK &&
			HnExprCheckPair(&f, &df, &err) == HANAMI_E_INVALID_SPEC &&
			strstr(err.message, wrong[i][2]) != NULL)
			ok++;
		else
			TestNote("%s / %s: %s", wrong[i][0], wrong[i][1], err.message);
	}
	CHECK(ok == (int) (sizeof(wrong) / sizeof(wrong[0])),
		  "%d wrong derivatives or functions not finite are refused, saying why", ok);
}

static void
TestBatch(void)
{
	HnError		err;
	HnExpr		f;
	HnExpr		df;
	float		z[200];
	float		y[200];
	float		g[200];
	int			bad = 0;

	HnExprCompile("x * sigmoid(x)", false, &f, &err);
	HnExprCompile("sigmoid(x) * (1 + x * (1 - sigmoid(x)))", true, &df, &err);
	for (int i = 0; i < 200; i++)
	{
		z[i] = -6.0f + 0.06f * (float) i;
		y[i] = z[i];
		g[i] = 0.5f;
	}
	HnExprForward(&f, y, 200);
	HnExprBackward(&df, z, y, g, 200);
	for (int i = 0; i < 200; i++)
		if (y[i] != (float) HnExprEval(&f, z[i], 0) ||
			g[i] != (float) (0.5 * HnExprEval(&df, z[i], y[i])))
			bad++;
	CHECK(bad == 0, "forward and backward over 200 values (blocks of 64) equal single evaluation");
}

void
TestExprSuite(void)
{
	TestCompileEval();
	TestRefusals();
	TestForged();
	TestPairs();
	TestBatch();
}
