/*
 * expr.h - custom activations: a pointwise function written as a small
 * arithmetic expression, compiled once to the engine's own instructions
 * and evaluated by them (never by SQL, never per value through a parser).
 *
 * The language, over one variable:
 *
 *   expr   := term (('+' | '-') term)*
 *   term   := unary (('*' | '/') unary)*
 *   unary  := '-' unary | power
 *   power  := atom ('^' unary)?                  right-associative
 *   atom   := number | 'x' | 'y' | 'pi' | 'e' | '(' expr ')'
 *           | name '(' expr ')'                  exp log sqrt abs tanh sin
 *                                                cos sigmoid step sign
 *           | ('min' | 'max') '(' expr ',' expr ')'
 *
 * x is the unit's input (its weighted sum); y, allowed only in a
 * derivative, is the function's value at x (so the derivative of sigmoid
 * may be written y * (1 - y)).  step(x) is 1 for x >= 0, else 0; sign(x)
 * is -1, 0 or 1.  Numbers are decimal (1, 0.5, 2e-3).
 *
 * A program is a fixed-size array of instructions for a stack machine (at
 * most HN_EXPR_MAX_INS instructions, HN_EXPR_MAX_DEPTH deep); it is what a
 * network embeds, so a network's value holds its activation whole and a
 * later redefinition of the name cannot change it.  A program read from an
 * untrusted image is checked (HnExprCheck) before it runs.  The text form
 * writes a program back as an expression (HnExprToText) that compiles to
 * the same instructions.
 */
#ifndef HANAMI_CORE_EXPR_H
#define HANAMI_CORE_EXPR_H

#include "core/common.h"

#define HN_EXPR_MAX_INS		64
#define HN_EXPR_MAX_DEPTH	16
/* Longest expression text accepted. */
#define HN_EXPR_MAX_TEXT	1000

/* Instructions: stored in network images, never renumber. */
typedef enum HnExprOp
{
	HN_EXPR_END = 0,			/* unused slots */
	HN_EXPR_CONST = 1,			/* push k */
	HN_EXPR_X = 2,
	HN_EXPR_Y = 3,
	HN_EXPR_ADD = 4,			/* binary: pop b, pop a, push a op b */
	HN_EXPR_SUB = 5,
	HN_EXPR_MUL = 6,
	HN_EXPR_DIV = 7,
	HN_EXPR_POW = 8,
	HN_EXPR_MIN = 9,
	HN_EXPR_MAX = 10,
	HN_EXPR_NEG = 11,			/* unary: replace the top */
	HN_EXPR_EXP = 12,
	HN_EXPR_LOG = 13,
	HN_EXPR_SQRT = 14,
	HN_EXPR_ABS = 15,
	HN_EXPR_TANH = 16,
	HN_EXPR_SIN = 17,
	HN_EXPR_COS = 18,
	HN_EXPR_SIGMOID = 19,
	HN_EXPR_STEP = 20,
	HN_EXPR_SIGN = 21,
	HN_EXPR_COUNT_ = 22
} HnExprOp;

typedef struct HnExprIns
{
	uint32_t	op;				/* HnExprOp */
	float		k;				/* HN_EXPR_CONST's value; 0 otherwise */
} HnExprIns;

typedef struct HnExpr
{
	uint32_t	n;				/* instructions used */
	uint32_t	uses_y;			/* 1 when it reads y */
	HnExprIns	ins[HN_EXPR_MAX_INS];
} HnExpr;

/*
 * Compile text into e.  allow_y: y may appear (a derivative).  Errors
 * (HANAMI_E_INVALID_SPEC) say what is wrong and at which character.
 */
HnStatus	HnExprCompile(const char *text, bool allow_y, HnExpr *e,
						  HnError *err);

/* Check an untrusted program; HANAMI_E_INVALID_FORMAT when it is not one. */
HnStatus	HnExprCheck(const HnExpr *e, bool allow_y, HnError *err);

/* The program as an expression that compiles back to it. */
HnStatus	HnExprToText(const HnExpr *e, char *buf, size_t len, HnError *err);

/* The value at x (y: the function's value there, for a derivative). */
double		HnExprEval(const HnExpr *e, double x, double y);

/* Apply f in place to n values. */
void		HnExprForward(const HnExpr *f, float *v, size_t n);

/* g[i] *= df(z[i], y[i]) for n values: dL/dy to dL/dz. */
void		HnExprBackward(const HnExpr *df, const float *z, const float *y,
						   float *g, size_t n);

/*
 * Whether f is finite on [-8, 8] and df agrees with f's slope there (a
 * central difference at points off the integers, within a tolerance that
 * a wrong derivative misses); HANAMI_E_INVALID_SPEC saying where not.
 */
HnStatus	HnExprCheckPair(const HnExpr *f, const HnExpr *df, HnError *err);

#endif							/* HANAMI_CORE_EXPR_H */
