/*
 * expr.c - compiling, checking, printing and running custom activations
 * (see expr.h).
 */
#include "core/expr.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names of the one-argument functions, by instruction. */
static const struct
{
	const char *name;
	HnExprOp	op;
	int			args;
}			ExprFns[] = {
	{"exp", HN_EXPR_EXP, 1}, {"log", HN_EXPR_LOG, 1}, {"sqrt", HN_EXPR_SQRT, 1},
	{"abs", HN_EXPR_ABS, 1}, {"tanh", HN_EXPR_TANH, 1}, {"sin", HN_EXPR_SIN, 1},
	{"cos", HN_EXPR_COS, 1}, {"sigmoid", HN_EXPR_SIGMOID, 1},
	{"step", HN_EXPR_STEP, 1}, {"sign", HN_EXPR_SIGN, 1},
	{"min", HN_EXPR_MIN, 2}, {"max", HN_EXPR_MAX, 2},
};

/* What an instruction does to the stack: pops, and whether it pushes. */
static int
ExprPops(uint32_t op)
{
	if (op == HN_EXPR_CONST || op == HN_EXPR_X || op == HN_EXPR_Y)
		return 0;
	if (op >= HN_EXPR_ADD && op <= HN_EXPR_MAX)
		return 2;
	return 1;
}

/* ------------------------------------------------------------------
 * Compiling
 * ------------------------------------------------------------------ */

typedef struct Parser
{
	const char *text;
	const char *p;
	bool		allow_y;
	HnExpr	   *e;
	int			depth;			/* stack depth of the code so far */
	int			nesting;
	HnError    *err;
	HnStatus	st;
} Parser;

#define EXPR_MAX_NESTING 64

static bool
Fail(Parser *ps, const char *what)
{
	if (ps->st == HANAMI_OK)
		ps->st = HnSetError(ps->err, HANAMI_E_INVALID_SPEC,
							"An activation is an expression of x with numbers, + - * / ^, parentheses and exp, log, sqrt, abs, tanh, sin, cos, sigmoid, step, sign, min, max; a derivative may also use y, the function's value.",
							"%s at character %d of activation \"%.60s\"",
							what, (int) (ps->p - ps->text) + 1, ps->text);
	return false;
}

static bool
Emit(Parser *ps, HnExprOp op, float k)
{
	HnExpr	   *e = ps->e;

	if (e->n >= HN_EXPR_MAX_INS)
		return Fail(ps, "expression too long (at most 64 steps)");
	ps->depth += 1 - ExprPops(op);
	if (ps->depth > HN_EXPR_MAX_DEPTH)
		return Fail(ps, "expression nested too deeply");
	e->ins[e->n].op = (uint32_t) op;
	e->ins[e->n].k = k;
	e->n++;
	if (op == HN_EXPR_Y)
		e->uses_y = 1;
	return true;
}

static void
Skip(Parser *ps)
{
	while (isspace((unsigned char) *ps->p))
		ps->p++;
}

static bool
Accept(Parser *ps, char c)
{
	Skip(ps);
	if (*ps->p != c)
		return false;
	ps->p++;
	return true;
}

static bool ParseExpr(Parser *ps);
static bool ParseUnary(Parser *ps);

static bool
ParseNumber(Parser *ps)
{
	const char *s = ps->p;
	char		buf[64];
	size_t		len;
	double		v;

	while (isdigit((unsigned char) *ps->p))
		ps->p++;
	if (*ps->p == '.')
		ps->p++;
	while (isdigit((unsigned char) *ps->p))
		ps->p++;
	if ((*ps->p == 'e' || *ps->p == 'E') &&
		(isdigit((unsigned char) ps->p[1]) ||
		 ((ps->p[1] == '+' || ps->p[1] == '-') && isdigit((unsigned char) ps->p[2]))))
	{
		ps->p += 2;
		while (isdigit((unsigned char) *ps->p))
			ps->p++;
	}
	len = (size_t) (ps->p - s);
	if (len == 0 || len >= sizeof(buf) || (len == 1 && *s == '.'))
		return Fail(ps, "a number expected");
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtod(buf, NULL);
	if (!isfinite((float) v))
		return Fail(ps, "number out of range");
	return Emit(ps, HN_EXPR_CONST, (float) v);
}

static bool
ParseCall(Parser *ps, const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(ExprFns) / sizeof(ExprFns[0]); i++)
	{
		if (strlen(ExprFns[i].name) != len || strncmp(name, ExprFns[i].name, len) != 0)
			continue;
		if (!Accept(ps, '('))
			return Fail(ps, "\"(\" expected after a function name");
		if (!ParseExpr(ps))
			return false;
		if (ExprFns[i].args == 2)
		{
			if (!Accept(ps, ','))
				return Fail(ps, "\",\" expected: min and max take two arguments");
			if (!ParseExpr(ps))
				return false;
		}
		if (!Accept(ps, ')'))
			return Fail(ps, "\")\" expected");
		return Emit(ps, ExprFns[i].op, 0.0f);
	}
	ps->p = name;
	return Fail(ps, "unknown name");
}

static bool
ParseAtom(Parser *ps)
{
	Skip(ps);
	if (isdigit((unsigned char) *ps->p) || *ps->p == '.')
		return ParseNumber(ps);
	if (*ps->p == '(')
	{
		bool		ok;

		ps->p++;
		if (++ps->nesting > EXPR_MAX_NESTING)
			return Fail(ps, "parentheses nested too deeply");
		ok = ParseExpr(ps);
		ps->nesting--;
		if (ok && !Accept(ps, ')'))
			return Fail(ps, "\")\" expected");
		return ok;
	}
	if (isalpha((unsigned char) *ps->p))
	{
		const char *name = ps->p;
		size_t		len;

		while (isalnum((unsigned char) *ps->p) || *ps->p == '_')
			ps->p++;
		len = (size_t) (ps->p - name);
		if (len == 1 && *name == 'x')
			return Emit(ps, HN_EXPR_X, 0.0f);
		if (len == 1 && *name == 'y')
		{
			if (!ps->allow_y)
			{
				ps->p = name;
				return Fail(ps, "y (the function's value) may only appear in a derivative");
			}
			return Emit(ps, HN_EXPR_Y, 0.0f);
		}
		if (len == 2 && strncmp(name, "pi", 2) == 0)
			return Emit(ps, HN_EXPR_CONST, (float) M_PI);
		if (len == 1 && *name == 'e')
			return Emit(ps, HN_EXPR_CONST, (float) M_E);
		return ParseCall(ps, name, len);
	}
	return Fail(ps, *ps->p ? "unexpected character" : "unexpected end");
}

static bool
ParsePower(Parser *ps)
{
	if (!ParseAtom(ps))
		return false;
	if (Accept(ps, '^'))
	{
		if (!ParseUnary(ps))
			return false;
		return Emit(ps, HN_EXPR_POW, 0.0f);
	}
	return true;
}

static bool
ParseUnary(Parser *ps)
{
	if (Accept(ps, '-'))
	{
		bool		ok;

		if (++ps->nesting > EXPR_MAX_NESTING)
			return Fail(ps, "too many signs");
		ok = ParseUnary(ps) && Emit(ps, HN_EXPR_NEG, 0.0f);
		ps->nesting--;
		return ok;
	}
	return ParsePower(ps);
}

static bool
ParseTerm(Parser *ps)
{
	if (!ParseUnary(ps))
		return false;
	for (;;)
	{
		HnExprOp	op;

		if (Accept(ps, '*'))
			op = HN_EXPR_MUL;
		else if (Accept(ps, '/'))
			op = HN_EXPR_DIV;
		else
			return true;
		if (!ParseUnary(ps) || !Emit(ps, op, 0.0f))
			return false;
	}
}

static bool
ParseExpr(Parser *ps)
{
	if (!ParseTerm(ps))
		return false;
	for (;;)
	{
		HnExprOp	op;

		if (Accept(ps, '+'))
			op = HN_EXPR_ADD;
		else if (Accept(ps, '-'))
			op = HN_EXPR_SUB;
		else
			return true;
		if (!ParseTerm(ps) || !Emit(ps, op, 0.0f))
			return false;
	}
}

HnStatus
HnExprCompile(const char *text, bool allow_y, HnExpr *e, HnError *err)
{
	Parser		ps;

	memset(e, 0, sizeof(*e));
	memset(&ps, 0, sizeof(ps));
	ps.text = ps.p = text;
	ps.allow_y = allow_y;
	ps.e = e;
	ps.err = err;
	if (strlen(text) > HN_EXPR_MAX_TEXT)
		return HnSetError(err, HANAMI_E_INVALID_SPEC, NULL,
						  "activation expression too long (at most %d characters)",
						  HN_EXPR_MAX_TEXT);
	if (ParseExpr(&ps))
	{
		Skip(&ps);
		if (*ps.p != '\0')
			Fail(&ps, "unexpected character");
	}
	if (ps.st != HANAMI_OK)
		memset(e, 0, sizeof(*e));
	return ps.st;
}

/* ------------------------------------------------------------------
 * Checking an untrusted program
 * ------------------------------------------------------------------ */

HnStatus
HnExprCheck(const HnExpr *e, bool allow_y, HnError *err)
{
	int			depth = 0;
	bool		y = false;

	if (e->n == 0 || e->n > HN_EXPR_MAX_INS || e->uses_y > 1)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL,
						  "invalid activation program: %u instructions", e->n);
	for (uint32_t i = 0; i < HN_EXPR_MAX_INS; i++)
	{
		uint32_t	op = e->ins[i].op;

		if (i >= e->n)
		{
			if (op != HN_EXPR_END || e->ins[i].k != 0.0f)
				return HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL,
								  "invalid activation program: bytes after its end");
			continue;
		}
		if (op == HN_EXPR_END || op >= HN_EXPR_COUNT_ ||
			!isfinite(e->ins[i].k) || (op != HN_EXPR_CONST && e->ins[i].k != 0.0f))
			return HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL,
							  "invalid activation program: instruction %u", i);
		if (op == HN_EXPR_Y)
			y = true;
		depth -= ExprPops(op);
		if (depth < 0)
			return HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL,
							  "invalid activation program: instruction %u takes values that are not there", i);
		depth++;
		if (depth > HN_EXPR_MAX_DEPTH)
			return HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL,
							  "invalid activation program: too deep");
	}
	if (depth != 1 || (y && !allow_y) || (uint32_t) y != e->uses_y)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL,
						  "invalid activation program: it does not leave one value of x%s",
						  allow_y ? " and y" : "");
	return HANAMI_OK;
}

/* ------------------------------------------------------------------
 * Printing
 * ------------------------------------------------------------------ */

static const char *
ExprFnName(uint32_t op)
{
	for (size_t i = 0; i < sizeof(ExprFns) / sizeof(ExprFns[0]); i++)
		if ((uint32_t) ExprFns[i].op == op)
			return ExprFns[i].name;
	return NULL;
}

HnStatus
HnExprToText(const HnExpr *e, char *buf, size_t len, HnError *err)
{
	/* each value on the stack: where its text starts in work */
	char		work[HN_EXPR_MAX_TEXT * 4];
	size_t		at[HN_EXPR_MAX_DEPTH + 1];
	size_t		used = 0;
	int			depth = 0;
	HnStatus	st = HnExprCheck(e, true, err);

	if (st != HANAMI_OK)
		return st;
	for (uint32_t i = 0; i < e->n; i++)
	{
		uint32_t	op = e->ins[i].op;
		int			pops = ExprPops(op);
		char		piece[HN_EXPR_MAX_TEXT * 4];
		const char *a = pops >= 1 ? work + at[depth - pops] : "";
		const char *b = pops == 2 ? work + at[depth - 1] : "";
		static const char binops[] = {'+', '-', '*', '/', '^'};
		int			w;

		if (op == HN_EXPR_CONST)
			w = snprintf(piece, sizeof(piece), e->ins[i].k < 0 ? "(-%.9g)" : "%.9g",
						 fabs((double) e->ins[i].k));
		else if (op == HN_EXPR_X || op == HN_EXPR_Y)
			w = snprintf(piece, sizeof(piece), "%s", op == HN_EXPR_X ? "x" : "y");
		else if (op >= HN_EXPR_ADD && op <= HN_EXPR_POW)
			w = snprintf(piece, sizeof(piece), "(%s %c %s)", a, binops[op - HN_EXPR_ADD], b);
		else if (op == HN_EXPR_MIN || op == HN_EXPR_MAX)
			w = snprintf(piece, sizeof(piece), "%s(%s, %s)", ExprFnName(op), a, b);
		else if (op == HN_EXPR_NEG)
			w = snprintf(piece, sizeof(piece), "(-%s)", a);
		else
			w = snprintf(piece, sizeof(piece), "%s(%s)", ExprFnName(op), a);
		if (w < 0 || (size_t) w >= sizeof(piece))
			return HnSetError(err, HANAMI_E_TOO_LARGE, NULL,
							  "activation expression too long to print");
		depth -= pops;
		used = depth > 0 ? at[depth - 1] + strlen(work + at[depth - 1]) + 1 : 0;
		if (used + (size_t) w + 1 > sizeof(work))
			return HnSetError(err, HANAMI_E_TOO_LARGE, NULL,
							  "activation expression too long to print");
		memcpy(work + used, piece, (size_t) w + 1);
		at[depth++] = used;
	}
	if (strlen(work) + 1 > len)
		return HnSetError(err, HANAMI_E_TOO_LARGE, NULL,
						  "activation expression too long to print");
	memcpy(buf, work, strlen(work) + 1);
	return HANAMI_OK;
}

/* ------------------------------------------------------------------
 * Running: instruction by instruction over blocks of values
 * ------------------------------------------------------------------ */

#define EXPR_BLOCK 64

static double
Sigmoid(double v)
{
	return v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
}

/* Run e over n <= EXPR_BLOCK values; the result lands in out. */
static void
RunBlock(const HnExpr *e, const double *x, const double *y, int n, double *out)
{
	double		s[HN_EXPR_MAX_DEPTH][EXPR_BLOCK];
	int			d = 0;

	for (uint32_t i = 0; i < e->n; i++)
	{
		const HnExprIns *ins = &e->ins[i];
		double	   *t = s[d - 1 < 0 ? 0 : d - 1];
		double	   *u = s[d];

		switch ((HnExprOp) ins->op)
		{
			case HN_EXPR_CONST:
				for (int j = 0; j < n; j++)
					u[j] = ins->k;
				d++;
				continue;
			case HN_EXPR_X:
			case HN_EXPR_Y:
				{
					const double *src = ins->op == HN_EXPR_X ? x : y;

					for (int j = 0; j < n; j++)
						u[j] = src ? src[j] : 0.0;
					d++;
					continue;
				}
			default:
				break;
		}
		if (ExprPops(ins->op) == 2)
		{
			double	   *a = s[d - 2];

			for (int j = 0; j < n; j++)
			{
				double		p = a[j],
							q = t[j];

				switch ((HnExprOp) ins->op)
				{
					case HN_EXPR_ADD:
						a[j] = p + q;
						break;
					case HN_EXPR_SUB:
						a[j] = p - q;
						break;
					case HN_EXPR_MUL:
						a[j] = p * q;
						break;
					case HN_EXPR_DIV:
						a[j] = p / q;
						break;
					case HN_EXPR_POW:
						a[j] = pow(p, q);
						break;
					case HN_EXPR_MIN:
						a[j] = p < q ? p : q;
						break;
					default:
						a[j] = p > q ? p : q;
						break;
				}
			}
			d--;
			continue;
		}
		for (int j = 0; j < n; j++)
		{
			double		v = t[j];

			switch ((HnExprOp) ins->op)
			{
				case HN_EXPR_NEG:
					v = -v;
					break;
				case HN_EXPR_EXP:
					v = exp(v);
					break;
				case HN_EXPR_LOG:
					v = log(v);
					break;
				case HN_EXPR_SQRT:
					v = sqrt(v);
					break;
				case HN_EXPR_ABS:
					v = fabs(v);
					break;
				case HN_EXPR_TANH:
					v = tanh(v);
					break;
				case HN_EXPR_SIN:
					v = sin(v);
					break;
				case HN_EXPR_COS:
					v = cos(v);
					break;
				case HN_EXPR_SIGMOID:
					v = Sigmoid(v);
					break;
				case HN_EXPR_STEP:
					v = v >= 0 ? 1.0 : 0.0;
					break;
				default:
					v = v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0;
					break;
			}
			t[j] = v;
		}
	}
	memcpy(out, s[0], sizeof(double) * (size_t) n);
}

double
HnExprEval(const HnExpr *e, double x, double y)
{
	double		out;

	RunBlock(e, &x, &y, 1, &out);
	return out;
}

void
HnExprForward(const HnExpr *f, float *v, size_t n)
{
	double		x[EXPR_BLOCK];
	double		out[EXPR_BLOCK];

	for (size_t i = 0; i < n; i += EXPR_BLOCK)
	{
		int			m = (int) (n - i < EXPR_BLOCK ? n - i : EXPR_BLOCK);

		for (int j = 0; j < m; j++)
			x[j] = v[i + j];
		RunBlock(f, x, NULL, m, out);
		for (int j = 0; j < m; j++)
			v[i + j] = (float) out[j];
	}
}

void
HnExprBackward(const HnExpr *df, const float *z, const float *y, float *g,
			   size_t n)
{
	double		x[EXPR_BLOCK];
	double		fx[EXPR_BLOCK];
	double		out[EXPR_BLOCK];

	for (size_t i = 0; i < n; i += EXPR_BLOCK)
	{
		int			m = (int) (n - i < EXPR_BLOCK ? n - i : EXPR_BLOCK);

		for (int j = 0; j < m; j++)
		{
			x[j] = z[i + j];
			fx[j] = y[i + j];
		}
		RunBlock(df, x, fx, m, out);
		for (int j = 0; j < m; j++)
			g[i + j] = (float) (g[i + j] * out[j]);
	}
}

HnStatus
HnExprCheckPair(const HnExpr *f, const HnExpr *df, HnError *err)
{
	const double h = 1e-5;

	for (int i = 0; i <= 160; i++)
	{
		double		x = -8.0 + 0.1 * i + 0.0137;
		double		fx = HnExprEval(f, x, 0.0);
		double		d = HnExprEval(df, x, fx);
		double		num;

		if (!isfinite(fx) || !isfinite((float) fx))
			return HnSetError(err, HANAMI_E_INVALID_SPEC,
							  "An activation must give a finite value for every input; it is checked on [-8, 8].",
							  "the activation is not finite at x = %.4g", x);
		if (!isfinite(d) || !isfinite((float) d))
			return HnSetError(err, HANAMI_E_INVALID_SPEC, NULL,
							  "the derivative is not finite at x = %.4g", x);
		num = (HnExprEval(f, x + h, 0.0) - HnExprEval(f, x - h, 0.0)) / (2 * h);
		/* a kink between x - h and x + h (abs, step, min, max): skip */
		if (fabs(HnExprEval(df, x - h, HnExprEval(f, x - h, 0.0)) -
				 HnExprEval(df, x + h, HnExprEval(f, x + h, 0.0))) > 1e-3 + 0.01 * fabs(d))
			continue;
		if (fabs(num - d) > 1e-4 + 1e-3 * fabs(num))
			return HnSetError(err, HANAMI_E_INVALID_SPEC,
							  "The derivative must be the slope of the activation (it is compared with a central difference on [-8, 8]).",
							  "the derivative does not match the activation at x = %.4g: %.6g, the activation's slope is %.6g",
							  x, d, num);
	}
	return HANAMI_OK;
}
