/*
 * test_json.c - the JSON reader (every error path, nesting, big integers,
 * escapes, numbers), HnBuf's writers and base64, and the networks' JSON:
 * descriptions read with the messages users see, and the text form's round
 * trip (reading to_json's text gives the same bytes) for both kinds.
 */
#include "harness.h"

#include <float.h>
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "core/dense/kind.h"
#include "core/fit.h"
#include "core/hanami/kind.h"
#include "core/json.h"

/* ------------------------------------------------------------ helpers */

/* An allocator that counts blocks and fails after a budget of calls. */
typedef struct Counting
{
	long		calls;
	long		live;
	long		fail_at;		/* the call that fails; < 0: none */
} Counting;

static void *
CountingAlloc(void *ctx, size_t size)
{
	Counting   *c = ctx;

	if (c->fail_at >= 0 && c->calls++ >= c->fail_at)
		return NULL;
	c->live++;
	return malloc(size ? size : 1);
}

static void
CountingFree(void *ctx, void *p)
{
	Counting   *c = ctx;

	if (p)
	{
		c->live--;
		free(p);
	}
}

/* Parse text; NULL and the error when it is rejected. */
static const HnJson *
Parse(const char *text, HnJsonDoc *doc, HnError *err)
{
	if (HnJsonParse(text, strlen(text), &HnMallocAllocator, doc, err) != HANAMI_OK)
		return NULL;
	return doc->root;
}

/* A text is rejected with code, message and (when not NULL) detail. */
static void
ExpectParseError(const char *text, size_t len, HnStatus code,
				 const char *message, const char *detail)
{
	HnJsonDoc	doc;
	HnError		err;
	HnStatus	st = HnJsonParse(text, len, &HnMallocAllocator, &doc, &err);
	char		label[41];
	size_t		n = 0;

	/* the text on one line */
	for (; n < len && n < sizeof(label) - 1; n++)
		label[n] = (unsigned char) text[n] < 0x20 ? '?' : text[n];
	label[n] = '\0';
	if (!CHECK(st == code && strcmp(err.message, message) == 0 &&
			   (detail == NULL || strcmp(err.detail, detail) == 0),
			   "json: %s is rejected: %s", label, detail ? detail : message))
		TestNote("got %d: %s / %s", st, st ? err.message : "", st ? err.detail : "");
	if (st == HANAMI_OK)
		HnJsonFree(&doc);
}

#define SYNTAX(text, detail) \
	ExpectParseError(text, strlen(text), HANAMI_E_MALFORMED_SPEC, \
					 "invalid input syntax for type json", detail)

/* ------------------------------------------------------------ the reader */

static void
TestValues(void)
{
	HnJsonDoc	doc;
	HnError		err;
	const HnJson *r = Parse(" {\"a\": [1, -2.5e+3, true, false, null, \"x\"], "
							"\"b\": {}, \"c\": [], \"a\": 7}\r\n\t", &doc, &err);
	const HnJson *a;

	if (!CHECK(r != NULL && r->type == HN_JSON_OBJECT && r->n == 4,
			   "json: an object of four members"))
	{
		TestNote("%s: %s", err.message, err.detail);
		return;
	}
	a = &r->u.members[0].value;
	CHECK(a->type == HN_JSON_ARRAY && a->n == 6 &&
		  a->u.items[0].type == HN_JSON_NUMBER &&
		  strcmp(a->u.items[1].u.text, "-2.5e+3") == 0 &&
		  a->u.items[2].type == HN_JSON_BOOL && a->u.items[2].u.boolean &&
		  a->u.items[3].type == HN_JSON_BOOL && !a->u.items[3].u.boolean &&
		  a->u.items[4].type == HN_JSON_NULL &&
		  a->u.items[5].type == HN_JSON_STRING &&
		  strcmp(a->u.items[5].u.text, "x") == 0,
		  "json: array items in order; numbers keep their token text");
	CHECK(HnJsonGet(r, "b")->type == HN_JSON_OBJECT && HnJsonGet(r, "b")->n == 0 &&
		  HnJsonGet(r, "c")->type == HN_JSON_ARRAY && HnJsonGet(r, "c")->n == 0,
		  "json: empty object and array");
	CHECK(HnJsonGet(r, "a")->type == HN_JSON_NUMBER &&
		  strcmp(HnJsonGet(r, "a")->u.text, "7") == 0,
		  "json: a duplicate key gives its last value, as jsonb keeps it");
	CHECK(HnJsonGet(r, "z") == NULL && HnJsonGet(a, "a") == NULL,
		  "json: a missing key, or an array, gives NULL");
	CHECK(strcmp(HnJsonTypeName(&a->u.items[0]), "number") == 0 &&
		  strcmp(HnJsonTypeName(&a->u.items[2]), "boolean") == 0 &&
		  strcmp(HnJsonTypeName(&a->u.items[4]), "null") == 0 &&
		  strcmp(HnJsonTypeName(&a->u.items[5]), "string") == 0 &&
		  strcmp(HnJsonTypeName(a), "array") == 0 &&
		  strcmp(HnJsonTypeName(r), "object") == 0,
		  "json: type names as jsonb gives them");
	HnJsonFree(&doc);

	r = Parse("42", &doc, &err);
	CHECK(r && r->type == HN_JSON_NUMBER && strcmp(r->u.text, "42") == 0,
		  "json: a scalar at the top");
	HnJsonFree(&doc);
	r = Parse("\"\"", &doc, &err);
	CHECK(r && r->type == HN_JSON_STRING && r->n == 0 && r->u.text[0] == '\0',
		  "json: the empty string");
	HnJsonFree(&doc);
}

static void
TestEscapes(void)
{
	HnJsonDoc	doc;
	HnError		err;
	const HnJson *r;

	r = Parse("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t\"", &doc, &err);
	CHECK(r && strcmp(r->u.text, "q\" b\\ s/ \b\f\n\r\t") == 0 && r->n == 14,
		  "json: the short escapes");
	HnJsonFree(&doc);
	r = Parse("\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"", &doc, &err);
	CHECK(r && strcmp(r->u.text, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80") == 0 &&
		  r->n == 10,
		  "json: \\u escapes as UTF-8, a surrogate pair as one code point");
	HnJsonFree(&doc);
	r = Parse("\"caf\xc3\xa9 \x7f\"", &doc, &err);
	CHECK(r && strcmp(r->u.text, "caf\xc3\xa9 \x7f") == 0,
		  "json: bytes from 0x7f up pass through");
	HnJsonFree(&doc);
	r = Parse("{\"k\\u0065y\": 1}", &doc, &err);
	CHECK(r && HnJsonGet(r, "key") != NULL, "json: escapes in keys");
	HnJsonFree(&doc);

	SYNTAX("\"\\ud83d\"", "Unicode low surrogate must follow a high surrogate.");
	SYNTAX("\"\\ud83dx\"", "Unicode low surrogate must follow a high surrogate.");
	SYNTAX("\"\\ud83d\\u0041\"", "Unicode low surrogate must follow a high surrogate.");
	SYNTAX("\"\\ud83d\\ud83d\"", "Unicode high surrogate must not follow a high surrogate.");
	SYNTAX("\"\\ude00\"", "Unicode low surrogate must follow a high surrogate.");
	SYNTAX("\"\\u0000\"", "\\u0000 cannot be converted to text.");
	SYNTAX("\"\\u12G4\"", "\"\\u\" must be followed by four hexadecimal digits.");
	SYNTAX("\"\\u12\"", "\"\\u\" must be followed by four hexadecimal digits.");
	SYNTAX("\"\\ud83d\\uZZZZ\"", "\"\\u\" must be followed by four hexadecimal digits.");
	SYNTAX("\"\\x\"", "Escape sequence \"\\x\" is invalid.");
	SYNTAX("\"a\nb\"", "Character with value 0x0a must be escaped.");
	SYNTAX("\"a\tb\"", "Character with value 0x09 must be escaped.");
	SYNTAX("\"abc", "The input string ended unexpectedly.");
	SYNTAX("\"abc\\", "The input string ended unexpectedly.");
	SYNTAX("\"abc\\\"", "The input string ended unexpectedly.");
	ExpectParseError("\"a\0b\"", 5, HANAMI_E_MALFORMED_SPEC,
					 "invalid input syntax for type json",
					 "Character with value 0x00 must be escaped.");
}

static void
TestSyntax(void)
{
	SYNTAX("", "The input string ended unexpectedly.");
	SYNTAX("  \n", "The input string ended unexpectedly.");
	SYNTAX("[1, 2", "The input string ended unexpectedly.");
	SYNTAX("{\"a\": 1", "The input string ended unexpectedly.");
	SYNTAX("{\"a\"", "The input string ended unexpectedly.");
	SYNTAX("{\"a\":", "The input string ended unexpectedly.");
	SYNTAX("[1,]", "Expected JSON value, but found \"]\".");
	SYNTAX("[,1]", "Expected JSON value, but found \",\".");
	SYNTAX("[1 2]", "Expected \",\" or \"]\", but found \"2\".");
	SYNTAX("{\"a\" 1}", "Expected \":\", but found \"1\".");
	SYNTAX("{\"a\": 1,}", "Expected string, but found \"}\".");
	SYNTAX("{1: 2}", "Expected string, but found \"1\".");
	SYNTAX("{\"a\": 1 \"b\": 2}", "Expected \",\" or \"}\", but found \"\"b\".");
	SYNTAX("{\"a\": 1}}", "Expected end of input, but found \"}\".");
	SYNTAX("[1] x", "Expected end of input, but found \"x\".");
	SYNTAX("not json", "Token \"not\" is invalid.");
	SYNTAX("tru", "Token \"tru\" is invalid.");
	SYNTAX("nulls", "Token \"nulls\" is invalid.");
	SYNTAX("True", "Token \"True\" is invalid.");
	SYNTAX("01", "Token \"01\" is invalid.");
	SYNTAX("1.", "Token \"1.\" is invalid.");
	SYNTAX(".5", "Token \".5\" is invalid.");
	SYNTAX("-", "Token \"-\" is invalid.");
	SYNTAX("-a", "Token \"-a\" is invalid.");
	SYNTAX("1e", "Token \"1e\" is invalid.");
	SYNTAX("1e+", "Token \"1e+\" is invalid.");
	SYNTAX("+1", "Token \"+1\" is invalid.");
	SYNTAX("1x", "Token \"1x\" is invalid.");
	SYNTAX("0x10", "Token \"0x10\" is invalid.");
	SYNTAX("[1.5.2]", "Token \"1.5.2\" is invalid.");
	SYNTAX("'a'", "Token \"'a'\" is invalid.");
	ExpectParseError("[1]\0", 4, HANAMI_E_MALFORMED_SPEC,
					 "invalid input syntax for type json",
					 "Expected end of input, but found a NUL byte.");
	ExpectParseError("\0", 1, HANAMI_E_MALFORMED_SPEC,
					 "invalid input syntax for type json",
					 "Character with value 0x00 must be escaped.");

	/* numbers of every shape RFC 8259 allows */
	{
		const char *ok[] = {"0", "-0", "12", "-12", "0.5", "-0.5", "1e5",
			"1E5", "1e+5", "1e-5", "1.25E-05", "123456789012345678901234567890", NULL};

		for (const char **t = ok; *t; t++)
		{
			HnJsonDoc	doc;
			HnError		err;
			const HnJson *r = Parse(*t, &doc, &err);

			CHECK(r && r->type == HN_JSON_NUMBER && strcmp(r->u.text, *t) == 0,
				  "json: number %s", *t);
			HnJsonFree(&doc);
		}
	}
}

static void
TestDepth(void)
{
	char		text[2 * (HN_JSON_MAX_DEPTH + 1) + 8];
	HnJsonDoc	doc;
	HnError		err;
	int			n;

	for (n = 0; n < HN_JSON_MAX_DEPTH; n++)
		text[n] = '[';
	for (int i = 0; i < HN_JSON_MAX_DEPTH; i++)
		text[n++] = ']';
	text[n] = '\0';
	CHECK(Parse(text, &doc, &err) != NULL, "json: %d levels of nesting",
		  HN_JSON_MAX_DEPTH);
	HnJsonFree(&doc);

	for (n = 0; n <= HN_JSON_MAX_DEPTH; n++)
		text[n] = '[';
	for (int i = 0; i <= HN_JSON_MAX_DEPTH; i++)
		text[n++] = ']';
	text[n] = '\0';
	ExpectParseError(text, strlen(text), HANAMI_E_TOO_LARGE,
					 "JSON value is nested too deeply",
					 "Arrays and objects nest at most 256 levels deep.");
}

/* Out of memory at every allocation: a clean error, nothing left over. */
static void
TestAllocFailure(void)
{
	const char *text = "{\"a\": [1, 2, {\"b\": \"some string\"}], \"c\": \"\\u00e9\"}";
	long		ok_at = -1;
	bool		clean = true;

	for (long f = 0; f < 64 && ok_at < 0; f++)
	{
		Counting	c = {0, 0, f};
		HnAllocator a = {CountingAlloc, CountingFree, &c};
		HnJsonDoc	doc;
		HnError		err;
		HnStatus	st = HnJsonParse(text, strlen(text), &a, &doc, &err);

		if (st == HANAMI_OK)
		{
			ok_at = f;
			HnJsonFree(&doc);
		}
		else
			clean &= st == HANAMI_E_NOMEM;
		clean &= c.live == 0;
	}
	CHECK(ok_at > 0 && clean,
		  "json: a failed allocation is HANAMI_E_NOMEM and frees everything (%ld)",
		  ok_at);
}

/* ------------------------------------------------------------ helpers */

static void
TestHelpers(void)
{
	HnJsonDoc	doc;
	HnError		err;
	const HnJson *r = Parse("{\"i\": 7, \"f\": 7.5, \"s\": \"str\", \"b\": true, "
							"\"n\": null, \"big\": 18446744073709551615, "
							"\"over\": 18446744073709551616, \"e3\": 1e3, "
							"\"one0\": 1.0, \"e1\": 1.50e1, \"cent\": 100e-2, "
							"\"neg\": -1, \"negzero\": -0, \"huge\": 1e400, "
							"\"fivee19\": 5e19, \"x\": 1.5e1}",
							&doc, &err);
	int64_t		i;
	double		d;
	uint64_t	u;
	bool		b;
	const char *s;
	char		name[HANAMI_NAME_LEN];
	static const char *const allowed[] = {"i", "f", "s", NULL};

	if (!CHECK(r != NULL, "json: helper document"))
		return;
	CHECK(HnJsonInt(HnJsonGet(r, "i"), "i", 1, 10, &i, &err) == HANAMI_OK && i == 7,
		  "json: an integer in range");
	CHECK(HnJsonInt(HnJsonGet(r, "e3"), "e3", 0, 1000, &i, &err) == HANAMI_OK && i == 1000 &&
		  HnJsonInt(HnJsonGet(r, "one0"), "one0", 0, 1, &i, &err) == HANAMI_OK && i == 1,
		  "json: 1e3 and 1.0 are integers (the value counts)");
	CHECK(HnJsonInt(HnJsonGet(r, "i"), "seed", 8, 10, &i, &err) == HANAMI_E_INVALID_SPEC &&
		  strcmp(err.message, "seed must be between 8 and 10") == 0,
		  "json: an integer out of range");
	CHECK(HnJsonInt(HnJsonGet(r, "f"), "epochs", 0, 10, &i, &err) == HANAMI_E_INVALID_SPEC &&
		  strcmp(err.message, "epochs must be an integer") == 0,
		  "json: a fraction is not an integer");
	CHECK(HnJsonInt(HnJsonGet(r, "huge"), "count", 1, 10, &i, &err) == HANAMI_E_INVALID_SPEC &&
		  strcmp(err.message, "count must be between 1 and 10") == 0,
		  "json: a number beyond double range is out of range");
	CHECK(HnJsonInt(HnJsonGet(r, "s"), "unit count of layer 1", 1, 10, &i, &err) == HANAMI_E_INVALID_SPEC &&
		  strcmp(err.message, "unit count of layer 1 must be a number, not string") == 0,
		  "json: a string is not a number");
	CHECK(HnJsonInt(NULL, "x", 1, 10, &i, &err) == HANAMI_E_INVALID_SPEC &&
		  strcmp(err.message, "x must be a number, not null") == 0,
		  "json: nothing is not a number");
	CHECK(HnJsonNumber(HnJsonGet(r, "f"), "f", &d, &err) == HANAMI_OK && d == 7.5 &&
		  HnJsonNumber(HnJsonGet(r, "huge"), "f", &d, &err) == HANAMI_OK && isinf(d),
		  "json: numbers as doubles");
	CHECK(HnJsonNumber(HnJsonGet(r, "b"), "rate", &d, &err) == HANAMI_E_INVALID_SPEC &&
		  strcmp(err.message, "rate must be a number, not boolean") == 0,
		  "json: a boolean is not a number");

	CHECK(HnJsonUint64(HnJsonGet(r, "big"), "s", &u, &err) == HANAMI_OK &&
		  u == UINT64_MAX, "json: 2^64 - 1 exactly");
	CHECK(HnJsonUint64(HnJsonGet(r, "e3"), "s", &u, &err) == HANAMI_OK && u == 1000 &&
		  HnJsonUint64(HnJsonGet(r, "e1"), "s", &u, &err) == HANAMI_E_INVALID_SPEC &&
		  HnJsonUint64(HnJsonGet(r, "x"), "s", &u, &err) == HANAMI_OK && u == 15 &&
		  HnJsonUint64(HnJsonGet(r, "fivee19"), "s", &u, &err) == HANAMI_E_INVALID_SPEC &&
		  HnJsonUint64(HnJsonGet(r, "negzero"), "s", &u, &err) == HANAMI_OK && u == 0,
		  "json: 1e3, 1.5e1 and -0 are 64-bit integers; 1.50e1 and 5e19 are not");
	CHECK(HnJsonUint64(HnJsonGet(r, "over"), "trained.samples", &u, &err) == HANAMI_E_INVALID_SPEC &&
		  strcmp(err.message, "trained.samples must be an integer between 0 and 18446744073709551615") == 0 &&
		  HnJsonUint64(HnJsonGet(r, "one0"), "s", &u, &err) == HANAMI_E_INVALID_SPEC &&
		  HnJsonUint64(HnJsonGet(r, "cent"), "s", &u, &err) == HANAMI_E_INVALID_SPEC &&
		  HnJsonUint64(HnJsonGet(r, "neg"), "s", &u, &err) == HANAMI_E_INVALID_SPEC &&
		  HnJsonUint64(HnJsonGet(r, "huge"), "s", &u, &err) == HANAMI_E_INVALID_SPEC,
		  "json: 2^64, 1.0, 100e-2, -1 and 1e400 are not");
	CHECK(HnJsonUint64(HnJsonGet(r, "s"), "s", &u, &err) == HANAMI_E_INVALID_SPEC &&
		  strcmp(err.message, "s must be a number, not string") == 0,
		  "json: a 64-bit integer must be a number");

	CHECK(HnJsonBool(HnJsonGet(r, "b"), "b", &b, &err) == HANAMI_OK && b &&
		  HnJsonBool(HnJsonGet(r, "n"), "input_scaling", &b, &err) == HANAMI_E_INVALID_SPEC &&
		  strcmp(err.message, "input_scaling must be a boolean, not null") == 0,
		  "json: booleans");
	CHECK(HnJsonString(HnJsonGet(r, "s"), "s", &s, &err) == HANAMI_OK &&
		  strcmp(s, "str") == 0 &&
		  HnJsonString(HnJsonGet(r, "i"), "loss", &s, &err) == HANAMI_E_INVALID_SPEC &&
		  strcmp(err.message, "loss must be a string, not number") == 0,
		  "json: strings");
	CHECK(HnJsonObject(HnJsonGet(r, "s"), "\"setup\"", &err) == HANAMI_E_MALFORMED_SPEC &&
		  strcmp(err.message, "\"setup\" must be an object") == 0 &&
		  HnJsonObject(r, "x", &err) == HANAMI_OK &&
		  HnJsonArray(r, "\"layers\"", &err) == HANAMI_E_MALFORMED_SPEC &&
		  strcmp(err.message, "\"layers\" must be an array") == 0,
		  "json: containers");

	CHECK(HnJsonCheckKeys(HnJsonGet(r, "n"), "key", allowed, &err) == HANAMI_OK,
		  "json: keys of a non-object are not checked");
	CHECK(HnJsonCheckKeys(r, "network key", allowed, &err) == HANAMI_E_INVALID_SPEC &&
		  strcmp(err.message, "unrecognized network key \"b\"") == 0 &&
		  strcmp(err.hint, "Valid keys are: i, f, s.") == 0,
		  "json: of unknown keys the one jsonb lists first (shortest, then bytes)");
	HnJsonFree(&doc);

	r = Parse("{\"zz\": 1, \"ab\": 1, \"aa\": 1, \"i\": 2}", &doc, &err);
	CHECK(HnJsonCheckKeys(r, "setting", allowed, &err) == HANAMI_E_INVALID_SPEC &&
		  strcmp(err.message, "unrecognized setting \"aa\"") == 0,
		  "json: of unknown keys of one length the first in byte order");
	HnJsonFree(&doc);

	r = Parse("[\"pixels\", \"0123456789012345678901234567890\", "
			  "\"01234567890123456789012345678901\", \"tab\\there\", \"del\x7f\", 5]",
			  &doc, &err);
	CHECK(HnJsonName(&r->u.items[0], "layer", name, &err) == HANAMI_OK &&
		  strcmp(name, "pixels") == 0 &&
		  HnJsonName(&r->u.items[1], "layer", name, &err) == HANAMI_OK &&
		  strlen(name) == HANAMI_NAME_LEN - 1,
		  "json: names up to 31 bytes");
	CHECK(HnJsonName(&r->u.items[2], "cell", name, &err) == HANAMI_E_MALFORMED_SPEC &&
		  strcmp(err.message, "cell name \"01234567890123456789012345678901\" is too long") == 0,
		  "json: a name of 32 bytes is too long");
	CHECK(HnJsonName(&r->u.items[3], "layer", name, &err) == HANAMI_E_MALFORMED_SPEC &&
		  strcmp(err.message, "layer name contains a control character") == 0 &&
		  HnJsonName(&r->u.items[4], "layer", name, &err) == HANAMI_E_MALFORMED_SPEC,
		  "json: names without control characters");
	CHECK(HnJsonName(&r->u.items[5], "layer", name, &err) == HANAMI_E_INVALID_SPEC &&
		  strcmp(err.message, "layer name must be a string, not number") == 0,
		  "json: a name is a string");
	HnJsonFree(&doc);
}

/* ------------------------------------------------------------ HnBuf */

/* The text PostgreSQL's float8 output gives (extra_float_digits = 1). */
static const struct
{
	double		v;
	const char *text;
}			numbers[] = {
	{0.0, "0"}, {-0.0, "-0"}, {1.0, "1"}, {-2.5, "-2.5"}, {0.1, "0.1"},
	{1.0 / 3, "0.3333333333333333"}, {2.0 / 3, "0.6666666666666666"},
	{100.0, "100"}, {1e14, "100000000000000"}, {1e15, "1e+15"},
	{123456789012345.6, "123456789012345.6"},
	{1234567890123456.0, "1.234567890123456e+15"}, {1e16, "1e+16"},
	{0.0001, "0.0001"}, {0.00012345, "0.00012345"}, {1e-5, "1e-05"},
	{1.5e-7, "1.5e-07"}, {1e21, "1e+21"}, {1e23, "9.999999999999999e+22"},
	{5e-324, "5e-324"}, {2.2250738585072014e-308, "2.2250738585072014e-308"},
	{1.7976931348623157e308, "1.7976931348623157e+308"},
	{9007199254740993.0, "9.007199254740992e+15"}, {4503599627370497.0, "4.503599627370497e+15"}, {999999999999999.0, "999999999999999"},
	{30892612233637952.0, "3.0892612233637952e+16"},
	{-2.1406127740768002e+19, "-2.1406127740768002e+19"},
	{(double) 0.1f, "0.10000000149011612"}, {(double) FLT_MAX, "3.4028234663852886e+38"},
	{9.5367431640625e-07, "9.5367431640625e-07"}, {1.0 / 1024, "0.0009765625"},
	{2305843009213693952.0, "2.305843009213694e+18"},
	{4.450147717014403e-308, "4.450147717014403e-308"},
};

static void
TestNumbers(void)
{
	bool		ok = true;
	HnBuf		buf;

	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
	{
		char		text[HN_DOUBLE_TEXT_LEN];

		HnFormatDouble(numbers[i].v, text);
		if (strcmp(text, numbers[i].text) != 0)
		{
			ok = false;
			TestNote("%.17g: %s, not %s", numbers[i].v, text, numbers[i].text);
		}
	}
	CHECK(ok, "buf: numbers as the server prints a float8");

	/* every length reads back exactly */
	{
		uint64_t	state = 12345;
		int			bad = 0;

		for (int i = 0; i < 20000; i++)
		{
			uint64_t	bits;
			double		v;
			char		text[HN_DOUBLE_TEXT_LEN];

			state = state * UINT64_C(6364136223846793005) + 1442695040888963407u;
			bits = state;
			memcpy(&v, &bits, sizeof(v));
			if (isnan(v) || isinf(v))
				continue;
			HnFormatDouble(v, text);
			bad += strtod(text, NULL) != v || (v == 0 && signbit(v) != (text[0] == '-'));
		}
		CHECK(bad == 0, "buf: 20000 random doubles read back exactly (%d do not)", bad);
	}

	HnBufInit(&buf, &HnMallocAllocator);
	HnBufJsonNumber(&buf, NAN);
	HnBufAppendChar(&buf, ' ');
	HnBufJsonNumber(&buf, -INFINITY);
	HnBufAppendChar(&buf, ' ');
	HnBufJsonNumber(&buf, 0.25);
	CHECK(HnBufCheck(&buf, NULL) == HANAMI_OK &&
		  strcmp(buf.data, "null null 0.25") == 0, "buf: NaN and infinities as null");
	HnBufFree(&buf);
}

static void
TestBuf(void)
{
	HnBuf		buf;
	char		big[5000];

	HnBufInit(&buf, &HnMallocAllocator);
	HnBufJsonString(&buf, "a\"b\\c/\b\f\n\r\t\x01\x1f\x7f\xc3\xa9");
	CHECK(strcmp(buf.data, "\"a\\\"b\\\\c/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\xc3\xa9\"") == 0,
		  "buf: strings escaped as escape_json does");
	HnBufFree(&buf);

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	HnBufInit(&buf, &HnMallocAllocator);
	HnBufPrintf(&buf, "%d-%s", 42, big);
	HnBufAppend(&buf, "!");
	CHECK(HnBufCheck(&buf, NULL) == HANAMI_OK && buf.len == 3 + 4999 + 1 &&
		  strncmp(buf.data, "42-xx", 5) == 0 && buf.data[buf.len - 1] == '!' &&
		  buf.data[buf.len] == '\0', "buf: printf longer than the room left");
	HnBufFree(&buf);

	{
		Counting	c = {0, 0, 1};
		HnAllocator a = {CountingAlloc, CountingFree, &c};
		HnError		err;

		HnBufInit(&buf, &a);
		HnBufAppend(&buf, "x");
		HnBufAppendN(&buf, big, sizeof(big) - 1);
		HnBufAppend(&buf, "y");
		CHECK(HnBufCheck(&buf, &err) == HANAMI_E_NOMEM && buf.failed,
			  "buf: a failed allocation is reported once the text is written");
		HnBufFree(&buf);
		CHECK(c.live == 0, "buf: freed");
	}
}

static void
TestBase64(void)
{
	static const struct
	{
		const char *raw;
		const char *b64;
	}			rfc[] = {
		{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
		{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
		{"\xff\xfe\xfd", "//79"}, {"\xfb\xef", "++8="},
	};
	bool		ok = true;
	unsigned char raw[300];
	char		enc[400];
	unsigned char dec[300];

	for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++)
	{
		size_t		n = strlen(rfc[i].raw);
		HnBuf		buf;

		HnBufInit(&buf, &HnMallocAllocator);
		HnBufBase64(&buf, rfc[i].raw, n);
		ok &= HnBase64EncodedLen(n) == strlen(rfc[i].b64) &&
			strcmp(buf.data ? buf.data : "", rfc[i].b64) == 0 &&
			HnBase64Decode(rfc[i].b64, strlen(rfc[i].b64), dec, n) == (int64_t) n &&
			memcmp(dec, rfc[i].raw, n) == 0;
		HnBufFree(&buf);
	}
	CHECK(ok, "base64: the RFC 4648 test vectors both ways");

	for (size_t n = 0; n <= sizeof(raw) && ok; n++)
	{
		size_t		len = HnBase64EncodedLen(n);

		for (size_t i = 0; i < n; i++)
			raw[i] = (unsigned char) (i * 37 + n);
		HnBase64Encode(raw, n, enc);
		ok &= HnBase64DecodedLen(len) >= n && HnBase64DecodedLen(len) <= n + 2 &&
			HnBase64Decode(enc, len, dec, n) == (int64_t) n &&
			memcmp(dec, raw, n) == 0;
	}
	CHECK(ok, "base64: every length up to 300 round-trips");
	CHECK(HnBase64DecodedLen(76) == 57 && HnBase64DecodedLen(3) == 2 &&
		  HnBase64DecodedLen((size_t) 1 << 40) == ((size_t) 3 << 38),
		  "base64: decoded length as len * 3 / 4, without overflow");

	CHECK(HnBase64Decode("Zm9v", 4, dec, 2) == -1 && dec[0] == 0 && dec[1] == 0,
		  "base64: no room is an error, and the room is zeroed");
	CHECK(HnBase64Decode("Zm 9v", 5, dec, 10) == -1 &&
		  HnBase64Decode("Zm9v\n", 5, dec, 10) == -1 &&
		  HnBase64Decode("Zm9!", 4, dec, 10) == -1 &&
		  HnBase64Decode("Zm9\xc3", 4, dec, 10) == -1 &&
		  HnBase64Decode("Zm9", 3, dec, 10) == -1 &&
		  HnBase64Decode("Z===", 4, dec, 10) == -1 &&
		  HnBase64Decode("=AAA", 4, dec, 10) == -1,
		  "base64: whitespace, other characters, short groups and early padding are errors");
	/* as the server's decoder: groups after the padding count like it */
	CHECK(HnBase64Decode("Zg==Zm8=", 8, dec, 10) == 2 && dec[0] == 'f' && dec[1] == 'f',
		  "base64: groups after padding decode as the server decodes them");
}

/* ------------------------------------------------------------ networks */

static bool
StartsWith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Read a network from text; NULL and err when rejected. */
static void *
ReadNet(const char *text, size_t *len, HnError *err)
{
	void	   *image;

	if (NetFromJson(text, strlen(text), NULL, &HnMallocAllocator, &image, len,
					err) != HANAMI_OK)
		return NULL;
	return image;
}

/* The text form of an image (malloc'd), or NULL. */
static char *
TextOf(void *image, HnError *err)
{
	HnNet		net;
	HnBuf		buf;

	NetBindTrusted(&net, image);
	HnBufInit(&buf, &HnMallocAllocator);
	if (NetToJson(&net, &buf, err) != HANAMI_OK)
	{
		HnBufFree(&buf);
		return NULL;
	}
	return buf.data;
}

/* from_json(to_json(image)) gives the same bytes; returns the text. */
static char *
RoundTrip(const char *label, void *image, size_t len)
{
	HnError		err;
	char	   *text = TextOf(image, &err);
	void	   *again;
	size_t		again_len = 0;

	if (!CHECK(text != NULL, "%s: text form", label))
	{
		TestNote("%s", err.message);
		return NULL;
	}
	again = ReadNet(text, &again_len, &err);
	if (!CHECK(again != NULL && again_len == len && memcmp(again, image, len) == 0,
			   "%s: reading the text form gives the same %zu bytes", label, len))
		TestNote("%s", again ? "the bytes differ" : err.message);
	free(again);
	return text;
}

/* info() is one JSON object whose "kind" is kind. */
static void
CheckInfo(const char *label, void *image, const char *kind)
{
	HnNet		net;
	HnBuf		buf;
	HnError		err;
	HnJsonDoc	doc;
	const HnJson *k;

	NetBindTrusted(&net, image);
	HnBufInit(&buf, &HnMallocAllocator);
	if (!CHECK(NetInfo(&net, &buf, &err) == HANAMI_OK &&
			   HnJsonParse(buf.data, buf.len, &HnMallocAllocator, &doc, &err) == HANAMI_OK,
			   "%s: info() is JSON", label))
	{
		HnBufFree(&buf);
		return;
	}
	k = HnJsonGet(doc.root, "kind");
	CHECK(k && k->type == HN_JSON_STRING && strcmp(k->u.text, kind) == 0 &&
		  HnJsonGet(doc.root, "bytes") != NULL,
		  "%s: info() names the kind and the size", label);
	HnJsonFree(&doc);
	HnBufFree(&buf);
}

/* A description is rejected with code and texts (NULL: not checked). */
static void
ExpectNetError(const char *text, HnStatus code, const char *message,
			   const char *detail, const char *hint)
{
	HnError	    err;
	size_t		len;
	void	   *image = ReadNet(text, &len, &err);

	if (!CHECK(image == NULL && err.code == code &&
			   strcmp(err.message, message) == 0 &&
			   (detail == NULL || strcmp(err.detail, detail) == 0) &&
			   (hint == NULL || strcmp(err.hint, hint) == 0),
			   "net: %s", message))
	{
		TestNote("text: %s", text);
		if (image)
			TestNote("accepted");
		else
			TestNote("got %d: %s / %s / %s", err.code, err.message, err.detail,
					 err.hint);
	}
	free(image);
}

static void
TestDense(void)
{
	HnError		err;
	size_t		len;
	void	   *image;
	char	   *text;
	HnJsonIn	in = {true, 99};
	DenseNet	d;

	image = ReadNet("{\"layers\": [4, 8, 3]}", &len, &err);
	if (!CHECK(image != NULL, "dense: a description"))
	{
		TestNote("%s", err.message);
		return;
	}
	text = RoundTrip("dense", image, len);
	CHECK(text && StartsWith(text, "{\"format\": 1, \"kind\": \"dense\", \"layers\": "
						  "[{\"count\": 4, \"activation\": \"identity\"}, "
						  "{\"count\": 8, \"activation\": \"relu\"}, "
						  "{\"count\": 3, \"activation\": \"softmax\"}], "
						  "\"loss\": \"cross_entropy\", \"input_scaling\": true, "
						  "\"seed\": 0, \"trained\": {\"epochs\": 0, \"samples\": 0}, "
						  "\"setup\": {\"input_fitted\": false, \"output_fitted\": false, "
						  "\"data\": \""),
		  "dense: the text form as network_out always wrote it");
	CheckInfo("dense", image, "dense");
	free(text);
	free(image);

	/* every setting, a trained value with extreme counters and odd weights */
	image = ReadNet("{\"layers\": [3, {\"count\": 5, \"name\": \"hid\\\"den\\\\\", \"activation\": \"tanh\"}, "
					"{\"count\": 1, \"activation\": \"sigmoid\", \"name\": \"out\"}], "
					"\"activation\": \"elu\", \"loss\": \"cross_entropy\", "
					"\"input_scaling\": false, \"seed\": 4294967295}", &len, &err);
	if (CHECK(image != NULL, "dense: a description with names and settings"))
	{
		DenseBindTrusted(&d, image);
		CHECK(d.hdr->seed == 4294967295u && !(d.hdr->flags & HANAMI_FLAG_SCALE_INPUT) &&
			  strcmp(d.layers[1].name, "hid\"den\\") == 0 &&
			  d.layers[1].activation == HANAMI_ACT_TANH &&
			  d.layers[2].activation == HANAMI_ACT_SIGMOID,
			  "dense: the settings are read");
		d.hdr->epochs = 4000000000u;
		d.hdr->samples = UINT64_MAX;
		d.hdr->flags |= HANAMI_FLAG_INPUT_FITTED | HANAMI_FLAG_OUTPUT_FITTED |
			HANAMI_FLAG_INPUT_CLIP;
		d.in_mul[0] = 3.0f;
		d.in_shift[2] = -1e-30f;
		DenseWeights(&d, 1)[0] = -0.0f;
		DenseBias(&d, 2)[0] = FLT_MAX;
		text = RoundTrip("dense trained", image, len);
		CHECK(text && strstr(text, "\"samples\": 18446744073709551615") &&
			  strstr(text, "\"input_clipped\": true"),
			  "dense: the text form carries the counters and the clip flag");
		CheckInfo("dense trained", image, "dense");
		free(text);
		free(image);
	}

	/* the seed argument overrides the description's */
	if (NetFromJson("{\"layers\": [2, 2], \"seed\": 5}", 29, &in, &HnMallocAllocator,
					&image, &len, &err) == HANAMI_OK)
	{
		CHECK(((HnHeader *) image)->seed == 99, "dense: the seed argument wins");
		free(image);
	}
	else
		CHECK(false, "dense: the seed argument wins (%s)", err.message);

	/* the messages of 01_network, and every other path */
	ExpectNetError("[1, 2]", HANAMI_E_MALFORMED_SPEC,
				   "network description must be a JSON object", NULL,
				   "For example {\"layers\": [4, 8, 3]}.");
	ExpectNetError("{\"layers\": [4, 2], \"kind\": \"conv\"}", HANAMI_E_MALFORMED_SPEC,
				   "unknown network kind \"conv\"", NULL,
				   "Valid kinds are: dense, hanami, graph.");
	ExpectNetError("{\"layers\": [4, 2], \"kind\": 1}", HANAMI_E_INVALID_SPEC,
				   "kind must be a string, not number", NULL, NULL);
	ExpectNetError("{\"layers\": [4, 2], \"dropout\": 0.5}", HANAMI_E_INVALID_SPEC,
				   "unrecognized network key \"dropout\"", NULL,
				   "Valid keys are: format, kind, layers, activation, loss, input_scaling, seed, trained, setup, dtype.");
	ExpectNetError("{\"layers\": [4, 2], \"format\": 2}", HANAMI_E_UNSUPPORTED,
				   "unsupported network format version", "This build reads format 1.", NULL);
	ExpectNetError("{\"layers\": [4, 2], \"format\": 1.5}", HANAMI_E_INVALID_SPEC,
				   "format must be an integer", NULL, NULL);
	ExpectNetError("{}", HANAMI_E_MALFORMED_SPEC, "network has no \"layers\"", NULL,
				   "Give at least an input and an output layer, as in {\"layers\": [4, 8, 3]}.");
	ExpectNetError("{\"layers\": {}}", HANAMI_E_MALFORMED_SPEC,
				   "\"layers\" must be an array", NULL, NULL);
	ExpectNetError("{\"layers\": [4, \"8\"]}", HANAMI_E_MALFORMED_SPEC,
				   "layer 1 must be a unit count or an object", NULL, NULL);
	ExpectNetError("{\"layers\": [4, 0]}", HANAMI_E_INVALID_SPEC,
				   "unit count of layer 1 must be between 1 and 1048576", NULL, NULL);
	ExpectNetError("{\"layers\": [4, {\"activation\": \"relu\"}]}", HANAMI_E_MALFORMED_SPEC,
				   "layer 1 has no \"count\"", NULL, NULL);
	ExpectNetError("{\"layers\": [4, {\"count\": 2, \"units\": 3}]}", HANAMI_E_INVALID_SPEC,
				   "unrecognized layer key \"units\"", NULL,
				   "Valid keys are: count, activation, name.");
	ExpectNetError("{\"layers\": [4, {\"count\": 2, \"activation\": \"swish\"}]}",
				   HANAMI_E_MALFORMED_SPEC, "unknown activation \"swish\"", NULL,
				   "Valid activations are: identity, binary, tanh, isrlu, relu, elu, softclip, sin, sinc, gauss, sigmoid, softmax. A custom activation is given inline, {\"name\": \"swish\", \"expression\": ..., \"derivative\": ...}; hanami.activation('swish') returns a stored one so.");
	ExpectNetError("{\"layers\": [4, 2], \"activation\": 3}", HANAMI_E_INVALID_SPEC,
				   "activation must be a string, not number", NULL, NULL);
	ExpectNetError("{\"layers\": [4, {\"count\": 2, \"name\": \"a\\nb\"}]}",
				   HANAMI_E_MALFORMED_SPEC, "layer name contains a control character", NULL, NULL);
	ExpectNetError("{\"layers\": [4, 2], \"loss\": \"hinge\"}", HANAMI_E_MALFORMED_SPEC,
				   "unknown loss \"hinge\"", NULL, "Valid losses are: mse, cross_entropy.");
	ExpectNetError("{\"layers\": [4, 2], \"input_scaling\": 1}", HANAMI_E_INVALID_SPEC,
				   "input_scaling must be a boolean, not number", NULL, NULL);
	ExpectNetError("{\"layers\": [4, 2], \"seed\": 4294967296}", HANAMI_E_INVALID_SPEC,
				   "seed must be between 0 and 4294967295", NULL, NULL);
	ExpectNetError("{\"layers\": [4]}", HANAMI_E_INVALID_SPEC, "network has 1 layers", NULL, NULL);
	{
		char		many[400] = "{\"layers\": [1";

		for (int i = 0; i < 64; i++)
			strcat(many, ", 1");
		strcat(many, "]}");
		ExpectNetError(many, HANAMI_E_TOO_LARGE, "too many layers",
					   "A network has at most 64 layers.", NULL);
	}
	ExpectNetError("{\"layers\": [2, 2], \"trained\": []}", HANAMI_E_MALFORMED_SPEC,
				   "\"trained\" must be an object", NULL, NULL);
	ExpectNetError("{\"layers\": [2, 2], \"trained\": {\"steps\": 1}}", HANAMI_E_INVALID_SPEC,
				   "unrecognized \"trained\" key \"steps\"", NULL, "Valid keys are: epochs, samples.");
	ExpectNetError("{\"layers\": [2, 2], \"trained\": {\"epochs\": -1}}", HANAMI_E_INVALID_SPEC,
				   "trained.epochs must be between 0 and 4294967295", NULL, NULL);
	ExpectNetError("{\"layers\": [2, 2], \"trained\": {\"samples\": 1.5}}", HANAMI_E_INVALID_SPEC,
				   "trained.samples must be an integer between 0 and 18446744073709551615", NULL, NULL);
	ExpectNetError("{\"layers\": [2, 2], \"setup\": 1}", HANAMI_E_MALFORMED_SPEC,
				   "\"setup\" must be an object", NULL, NULL);
	ExpectNetError("{\"layers\": [2, 2], \"setup\": {\"weights\": 1}}", HANAMI_E_INVALID_SPEC,
				   "unrecognized \"setup\" key \"weights\"", NULL,
				   "Valid keys are: input_fitted, output_fitted, input_clipped, pow2_shadow, data.");
	ExpectNetError("{\"layers\": [2, 2], \"setup\": {\"input_fitted\": 1, \"data\": \"\"}}",
				   HANAMI_E_INVALID_SPEC, "setup.input_fitted must be a boolean, not number", NULL, NULL);
	ExpectNetError("{\"layers\": [2, 2], \"setup\": {\"input_fitted\": true}}", HANAMI_E_MALFORMED_SPEC,
				   "\"setup\" has no \"data\"", NULL, NULL);
	ExpectNetError("{\"layers\": [2, 2], \"setup\": {\"data\": 5}}", HANAMI_E_INVALID_SPEC,
				   "setup.data must be a string, not number", NULL, NULL);
	ExpectNetError("{\"layers\": [2, 2], \"setup\": {\"data\": \"AAAA\"}}", HANAMI_E_MALFORMED_SPEC,
				   "setup.data does not match the layers",
				   "The layers need 56 bytes of weights; setup.data holds about 3.", NULL);
	{
		/* 56 bytes: 76 characters; one of them not base64 */
		char		t[200];

		snprintf(t, sizeof(t), "{\"layers\": [2, 2], \"setup\": {\"data\": \"!%075d\"}}", 0);
		ExpectNetError(t, HANAMI_E_MALFORMED_SPEC,
					   "setup.data is not valid base64 of 56 bytes", NULL, NULL);
		/* valid base64 whose weights are not finite: NetBind says so */
		{
			unsigned char ones[56];
			char		b64[80];

			memset(ones, 0xff, sizeof(ones));
			HnBase64Encode(ones, sizeof(ones), b64);
			b64[HnBase64EncodedLen(sizeof(ones))] = '\0';
			snprintf(t, sizeof(t), "{\"layers\": [2, 2], \"setup\": {\"data\": \"%s\"}}", b64);
		}
		image = ReadNet(t, &len, &err);
		CHECK(image == NULL && err.code == HANAMI_E_INVALID_FORMAT,
			  "dense: weights from text go through NetBind (%s)", err.message);
		free(image);
	}
	ExpectNetError("{\"layers\": [2, 2],", HANAMI_E_MALFORMED_SPEC,
				   "invalid input syntax for type json", "The input string ended unexpectedly.", NULL);
}

static void
TestHanami(void)
{
	HnError		err;
	size_t		len;
	void	   *image;
	char	   *text;

	image = ReadNet("{\"kind\": \"hanami\", \"layers\": [3, {\"count\": 6, \"name\": \"mid\"}, 2]}",
					&len, &err);
	if (!CHECK(image != NULL, "hanami: the layered shorthand"))
	{
		TestNote("%s", err.message);
		return;
	}
	text = RoundTrip("hanami", image, len);
	CHECK(text && StartsWith(text, "{\"format\": 1, \"kind\": \"hanami\", \"settings\": "
						  "{\"max_connection_distance\": 1, \"neuron_cooldown\": null, "
						  "\"refractory_time\": 1, \"enable_reduction\": false, "
						  "\"reduction_threshold\": 1, \"max_sections\": 65536}, "
						  "\"cells\": [{\"position\": [0, 0, 0], \"input\": 3}, "
						  "{\"position\": [1, 0, 0], \"neurons\": 6, \"name\": \"mid\"}, "
						  "{\"position\": [2, 0, 0], \"output\": 2}], \"seed\": 0, "
						  "\"trained\": {\"epochs\": 0, \"samples\": 0, \"growth\": []}, "
						  "\"setup\": {\"sections\": 0, \"data\": \""),
		  "hanami: the text form as network_out always wrote it");
	CheckInfo("hanami", image, "hanami");
	free(text);

	/* trained: blocks, synapses and a growth history travel in the text */
	{
		HnTrainOptions opt;
		HkTrainOptions hk;
		HnTrainResult res;
		HnNet		hn;
		HkNet		net;
		float		x[8 * 3];
		int32_t		cls[8];
		HnDataset	ds;
		HnRows		rows = {&ds, NULL, 0, NULL};
		HnStatus	st;

		for (int r = 0; r < 8; r++)
		{
			for (int j = 0; j < 3; j++)
				x[r * 3 + j] = (float) ((r * 7 + j * 3) % 5) - 1.5f;
			cls[r] = r % 2;
		}
		ds = (HnDataset) {8, 3, 2, x, NULL, cls};
		NetBindTrusted(&hn, image);
		HkTrainOptionsDefaults(&opt, &hk, HkOf(&hn));
		opt.epochs = 3;
		opt.seed = 11;
		/* growth may move the image: it comes from the same allocator */
		st = HnFit(&hn, &rows, &opt, NULL, NULL, &HnMallocAllocator, &res, &err);
		image = hn.hdr;
		len = hn.len;
		if (CHECK(st == HANAMI_OK, "hanami: a short fit"))
		{
			HkBindTrusted(&net, image);
			net.hdr->samples = UINT64_MAX - 1;
			CHECK(net.gh->n_blocks > 0 && net.gh->n_history > 0,
				  "hanami: the fit grew sections (%u)", net.gh->n_blocks);
			text = RoundTrip("hanami trained", image, len);
			CheckInfo("hanami trained", image, "hanami");
			free(text);

			/* a text form whose last section claims more synapses than it
			 * has room for is rejected, and read no further than its end */
			{
				uint8_t		used = net.blocks[net.gh->n_blocks - 1].n_used;
				size_t		bad_len;
				void	   *bad;

				net.blocks[net.gh->n_blocks - 1].n_used = 255;
				text = TextOf(image, &err);
				bad = text ? ReadNet(text, &bad_len, &err) : NULL;
				CHECK(text && bad == NULL && err.code == HANAMI_E_INVALID_FORMAT,
					  "hanami: a section of 255 synapses in the text form is rejected (%s)",
					  err.message);
				free(bad);
				free(text);
				net.blocks[net.gh->n_blocks - 1].n_used = used;
			}
		}
		else
			TestNote("%s", err.message);
	}
	free(image);

	/* a template with every part */
	image = ReadNet("{\"kind\": \"hanami\", \"seed\": 7, "
					"\"settings\": {\"max_connection_distance\": 2, \"neuron_cooldown\": 1.5, "
					"\"refractory_time\": 3, \"enable_reduction\": true, "
					"\"reduction_threshold\": 4, \"neurons\": 9, \"max_sections\": 1000}, "
					"\"cells\": [{\"position\": [0, 0, 0], \"input\": 2, \"name\": \"in\"}, "
					"{\"position\": \" 1 , 0 \"}, {\"position\": [0, 1]}, "
					"{\"position\": \"4,0,0\", \"output\": 3}], "
					"\"axons\": [\" 1,0 -> 4,0\", {\"from\": [0, 1], \"to\": \"4,0,0\"}]}",
					&len, &err);
	if (CHECK(image != NULL, "hanami: a template with settings and axons"))
	{
		HkNet		net;

		HkBindTrusted(&net, image);
		CHECK(net.gh->cooldown == 1.5f && net.gh->max_distance == 2 &&
			  net.gh->refractory == 3 && (net.gh->flags & HK_REDUCTION) &&
			  net.gh->reduction_threshold == 4 && net.gh->max_blocks == 1000 &&
			  net.cells[1].n_neurons == 9 && net.cells[1].axon == 3 &&
			  net.cells[2].axon == 3 && net.cells[0].axon == HK_NO_AXON &&
			  strcmp(net.cells[0].name, "in") == 0 && net.hdr->seed == 7,
			  "hanami: the template is read");
		text = RoundTrip("hanami template", image, len);
		CHECK(text && strstr(text, "\"neuron_cooldown\": 1.5,") &&
			  strstr(text, "\"axons\": [\"1,0,0 -> 4,0,0\", \"0,1,0 -> 4,0,0\"]"),
			  "hanami: the text form spells the settings and axons out");
		CheckInfo("hanami template", image, "hanami");
		free(text);
		free(image);
	}

	/* the messages of 30_grow, and every other path */
#define HK "{\"kind\": \"hanami\", "
#define TWO "\"cells\": [{\"position\": [0, 0], \"input\": 2}, {\"position\": [1, 0], \"output\": 2}]"
	ExpectNetError(HK "\"kind\": \"hanami\"}", HANAMI_E_MALFORMED_SPEC,
				   "a hanami network needs either \"cells\" or \"layers\"", NULL,
				   "Give a cell template {\"cells\": [{\"position\": [0, 0, 0], \"input\": 4}, ...]} or the shorthand {\"layers\": [4, 256, 3]}.");
	ExpectNetError(HK "\"layers\": [4, 2], \"cells\": []}", HANAMI_E_MALFORMED_SPEC,
				   "a hanami network needs either \"cells\" or \"layers\"", NULL, NULL);
	ExpectNetError(HK "\"layers\": [4]}", HANAMI_E_MALFORMED_SPEC,
				   "\"layers\" needs at least an input and an output", NULL,
				   "For example {\"kind\": \"hanami\", \"layers\": [64, 256, 10]}.");
	ExpectNetError(HK "\"layers\": 4}", HANAMI_E_MALFORMED_SPEC,
				   "\"layers\" must be an array", NULL, NULL);
	ExpectNetError(HK "\"layers\": [4, 70000, 2]}", HANAMI_E_INVALID_SPEC,
				   "neuron count of layer 1 must be between 1 and 65535", NULL, NULL);
	ExpectNetError(HK "\"layers\": [4, {\"name\": \"x\"}, 2]}", HANAMI_E_MALFORMED_SPEC,
				   "layer 1 has no \"count\"", NULL, NULL);
	ExpectNetError(HK "\"layers\": [4, {\"count\": 2, \"activation\": \"x\"}]}",
				   HANAMI_E_INVALID_SPEC, "unrecognized layer key \"activation\"", NULL,
				   "Valid keys are: count, name.");
	ExpectNetError(HK "\"layers\": [4, {\"count\": 2, \"name\": \"0123456789abcdef0123456789abcdef\"}]}",
				   HANAMI_E_MALFORMED_SPEC,
				   "layer name \"0123456789abcdef0123456789abcdef\" is too long", NULL, NULL);
	ExpectNetError(HK "\"layers\": [4, {\"count\": 2, \"name\": 1}]}", HANAMI_E_INVALID_SPEC,
				   "layer name must be a string, not number", NULL, NULL);
	ExpectNetError(HK "\"layers\": [4, 2], \"activation\": \"relu\"}", HANAMI_E_INVALID_SPEC,
				   "unrecognized network key \"activation\"", NULL,
				   "Valid keys are: format, kind, settings, cells, layers, axons, seed, trained, setup.");
	ExpectNetError(HK "\"layers\": [2, 2], \"format\": 2}", HANAMI_E_UNSUPPORTED,
				   "unsupported network format version", "This build reads format 1.", NULL);
	ExpectNetError(HK "\"layers\": [4, 2], \"settings\": []}", HANAMI_E_MALFORMED_SPEC,
				   "\"settings\" must be an object", NULL, NULL);
	ExpectNetError(HK "\"layers\": [4, 2], \"settings\": {\"neuron_cooldown\": 1}}",
				   HANAMI_E_MALFORMED_SPEC, "neuron_cooldown must be greater than 1",
				   "The potential a neuron carries to the next input is divided by it; null turns spiking off.", NULL);
	ExpectNetError(HK "\"layers\": [4, 2], \"settings\": {\"neuron_cooldown\": 1e39}}",
				   HANAMI_E_MALFORMED_SPEC, "neuron_cooldown must be greater than 1", NULL, NULL);
	ExpectNetError(HK "\"layers\": [4, 2], \"settings\": {\"neuron_cooldown\": \"2\"}}",
				   HANAMI_E_INVALID_SPEC, "neuron_cooldown must be a number, not string", NULL, NULL);
	ExpectNetError(HK "\"layers\": [4, 2], \"settings\": {\"refractory_time\": 0}}",
				   HANAMI_E_INVALID_SPEC, "refractory_time must be between 1 and 255", NULL, NULL);
	ExpectNetError(HK "\"layers\": [4, 2], \"settings\": {\"max_connection_distance\": 17}}",
				   HANAMI_E_INVALID_SPEC, "max_connection_distance must be between 1 and 16", NULL, NULL);
	ExpectNetError(HK "\"layers\": [4, 2], \"settings\": {\"enable_reduction\": 1}}",
				   HANAMI_E_INVALID_SPEC, "enable_reduction must be a boolean, not number", NULL, NULL);
	ExpectNetError(HK "\"layers\": [4, 2], \"settings\": {\"reduction_threshold\": 101}}",
				   HANAMI_E_INVALID_SPEC, "reduction_threshold must be between 1 and 100", NULL, NULL);
	ExpectNetError(HK "\"layers\": [4, 2], \"settings\": {\"neurons\": 0}}",
				   HANAMI_E_INVALID_SPEC, "settings.neurons must be between 1 and 65535", NULL, NULL);
	ExpectNetError(HK "\"layers\": [4, 2], \"settings\": {\"max_sections\": 0}}",
				   HANAMI_E_INVALID_SPEC, "max_sections must be between 1 and 2147483647", NULL, NULL);
	ExpectNetError(HK "\"layers\": [4, 2], \"settings\": {\"cooldown\": 2}}",
				   HANAMI_E_INVALID_SPEC, "unrecognized setting \"cooldown\"", NULL, NULL);
	ExpectNetError(HK "\"cells\": {}}", HANAMI_E_MALFORMED_SPEC,
				   "\"cells\" must be an array", NULL, NULL);
	ExpectNetError(HK "\"cells\": [1, 2]}", HANAMI_E_MALFORMED_SPEC,
				   "cell 0 must be an object", NULL, NULL);
	ExpectNetError(HK "\"cells\": [{\"position\": [0, 0], \"bias\": 2}]}", HANAMI_E_INVALID_SPEC,
				   "unrecognized cell key \"bias\"", NULL,
				   "Valid keys are: position, input, output, neurons, name.");
	ExpectNetError(HK "\"cells\": [{\"position\": \"0,0,x\", \"input\": 2}, {\"position\": [1, 0], \"output\": 2}]}",
				   HANAMI_E_MALFORMED_SPEC, "position of cell 0 \"0,0,x\" is not a position", NULL,
				   "Write a position as \"x,y\" or \"x,y,z\", or as an array [x, y, z].");
	ExpectNetError(HK "\"cells\": [{\"position\": \"7\", \"input\": 2}]}",
				   HANAMI_E_MALFORMED_SPEC, "position of cell 0 \"7\" is not a position", NULL, NULL);
	ExpectNetError(HK "\"cells\": [{\"position\": \"1,2,3,4\", \"input\": 2}]}",
				   HANAMI_E_MALFORMED_SPEC, "position of cell 0 \"1,2,3,4\" is not a position", NULL, NULL);
	ExpectNetError(HK "\"cells\": [{\"position\": [0, 0, 0, 0], \"input\": 2}, {\"position\": [1, 0], \"output\": 2}]}",
				   HANAMI_E_TOO_LARGE, "too many coordinates", "At most 3 are allowed.", NULL);
	ExpectNetError(HK "\"cells\": [{\"position\": [0], \"input\": 2}]}",
				   HANAMI_E_MALFORMED_SPEC, "position of cell 0 needs two or three coordinates", NULL, NULL);
	ExpectNetError(HK "\"cells\": [{\"position\": 5, \"input\": 2}]}",
				   HANAMI_E_MALFORMED_SPEC, "position of cell 0 must be an array", NULL, NULL);
	ExpectNetError(HK "\"cells\": [{\"position\": [5000, 0], \"input\": 2}, {\"position\": [1, 0], \"output\": 2}]}",
				   HANAMI_E_INVALID_SPEC, "position of cell 0 must be between -1000 and 1000", NULL, NULL);
	ExpectNetError(HK "\"cells\": [{\"position\": \"5000,0\", \"input\": 2}]}",
				   HANAMI_E_MALFORMED_SPEC,
				   "position of cell 0 has a coordinate out of range (-1000 to 1000)", NULL, NULL);
	ExpectNetError(HK "\"cells\": [{\"input\": 2}, {\"position\": [1, 0], \"output\": 2}]}",
				   HANAMI_E_MALFORMED_SPEC, "cell 0 has no \"position\"", NULL,
				   "Give each cell a position such as [1, 0, 0] or \"1,0,0\".");
	ExpectNetError(HK "\"cells\": [{\"position\": [0, 0], \"input\": 2, \"output\": 3}, {\"position\": [1, 0], \"output\": 2}]}",
				   HANAMI_E_MALFORMED_SPEC,
				   "cell 0 has more than one of \"input\", \"output\" and \"neurons\"", NULL,
				   "An input cell gives \"input\": n, an output cell \"output\": n, a hidden cell \"neurons\": n (or nothing for the default).");
	ExpectNetError(HK "\"cells\": [{\"position\": [0, 0], \"input\": 0}]}",
				   HANAMI_E_INVALID_SPEC, "neuron count of cell 0 must be between 1 and 65535", NULL, NULL);
	ExpectNetError(HK "\"cells\": [{\"position\": [0, 0], \"input\": 2, \"name\": \"a\"}, {\"position\": [1, 0], \"output\": 2, \"name\": \"a\"}]}",
				   HANAMI_E_INVALID_SPEC, "cell name \"a\" is used twice", NULL, NULL);
	ExpectNetError(HK TWO ", \"axons\": [\"0,0 -> 5,5\"]}", HANAMI_E_MALFORMED_SPEC,
				   "axon target 5,5,0 is not a cell", NULL, NULL);
	ExpectNetError(HK TWO ", \"axons\": [\"9,9 -> 1,0\"]}", HANAMI_E_MALFORMED_SPEC,
				   "axon source 9,9,0 is not a cell", NULL, NULL);
	ExpectNetError(HK TWO ", \"axons\": [\"0,0 => 1,0\"]}", HANAMI_E_MALFORMED_SPEC,
				   "axon 0 \"0,0 => 1,0\" has no \"->\"", NULL,
				   "Write an axon as \"x,y,z -> x,y,z\".");
	ExpectNetError(HK TWO ", \"axons\": [\"0,x -> 1,0\"]}", HANAMI_E_MALFORMED_SPEC,
				   "axon source \"0,x\" is not a position", NULL, NULL);
	ExpectNetError(HK TWO ", \"axons\": [\"0,0 -> 1,0\", \"0,0 -> 1,0\"]}", HANAMI_E_MALFORMED_SPEC,
				   "cell 0,0,0 has two axons", NULL, NULL);
	ExpectNetError(HK TWO ", \"axons\": [{\"from\": [0, 0]}]}", HANAMI_E_MALFORMED_SPEC,
				   "axon 0 needs \"from\" and \"to\"", NULL, NULL);
	ExpectNetError(HK TWO ", \"axons\": [{\"from\": [0, 0], \"to\": [1, 0], \"via\": 1}]}",
				   HANAMI_E_INVALID_SPEC, "unrecognized axon key \"via\"", NULL, "Valid keys are: from, to.");
	ExpectNetError(HK TWO ", \"axons\": [5]}", HANAMI_E_MALFORMED_SPEC,
				   "an axon must be an object", NULL, NULL);
	ExpectNetError(HK TWO ", \"axons\": \"0,0 -> 1,0\"}", HANAMI_E_MALFORMED_SPEC,
				   "\"axons\" must be an array", NULL, NULL);
	ExpectNetError(HK TWO ", \"axons\": [\"1,0 -> 0,0\"]}", HANAMI_E_INVALID_SPEC,
				   "output cell 1 cannot have an axon", NULL, NULL);
	ExpectNetError(HK "\"layers\": [2, 2], \"seed\": -1}", HANAMI_E_INVALID_SPEC,
				   "seed must be between 0 and 4294967295", NULL, NULL);
	ExpectNetError(HK "\"layers\": [2, 2], \"setup\": []}", HANAMI_E_MALFORMED_SPEC,
				   "\"setup\" must be an object", NULL, NULL);
	ExpectNetError(HK "\"layers\": [2, 2], \"setup\": {\"blocks\": 1}}", HANAMI_E_INVALID_SPEC,
				   "unrecognized \"setup\" key \"blocks\"", NULL, "Valid keys are: sections, grouped, data.");
	ExpectNetError(HK "\"layers\": [2, 2], \"setup\": {\"sections\": 0}}", HANAMI_E_MALFORMED_SPEC,
				   "\"setup\" needs \"sections\" and \"data\"", NULL, NULL);
	ExpectNetError(HK "\"layers\": [2, 2], \"setup\": {\"sections\": 70000, \"data\": \"\"}}",
				   HANAMI_E_INVALID_SPEC, "setup.sections must be between 0 and 65536", NULL, NULL);
	ExpectNetError(HK "\"layers\": [2, 2], \"setup\": {\"sections\": 0, \"data\": \"AAAA\"}}",
				   HANAMI_E_MALFORMED_SPEC, "setup.data does not match the cells and sections",
				   "They need 96 bytes; setup.data holds about 3.", NULL);
	ExpectNetError(HK "\"layers\": [2, 2], \"trained\": 1}", HANAMI_E_MALFORMED_SPEC,
				   "\"trained\" must be an object", NULL, NULL);
	ExpectNetError(HK "\"layers\": [2, 2], \"trained\": {\"growth\": [[1, 2, 3]]}}",
				   HANAMI_E_MALFORMED_SPEC,
				   "a growth entry has four numbers: epoch, sections, synapses, blocks", NULL, NULL);
	ExpectNetError(HK "\"layers\": [2, 2], \"trained\": {\"growth\": [[1, 2, 3, 4, 5]]}}",
				   HANAMI_E_TOO_LARGE, "too many values in a growth entry", "At most 4 are allowed.", NULL);
	ExpectNetError(HK "\"layers\": [2, 2], \"trained\": {\"growth\": [1]}}",
				   HANAMI_E_MALFORMED_SPEC, "a growth entry must be an array", NULL, NULL);
	ExpectNetError(HK "\"layers\": [2, 2], \"trained\": {\"growth\": [[1, 2, 3, -4]]}}",
				   HANAMI_E_INVALID_SPEC, "growth blocks must be between 0 and 4294967295", NULL, NULL);
	ExpectNetError(HK "\"layers\": [2, 2], \"trained\": {\"growth\": "
				   "[[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0],"
				   "[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0]]}}",
				   HANAMI_E_TOO_LARGE, "too many growth entries", "At most 16 are allowed.", NULL);
	ExpectNetError(HK "\"layers\": [2, 2], \"trained\": {\"samples\": -1}}", HANAMI_E_INVALID_SPEC,
				   "trained.samples must be an integer between 0 and 18446744073709551615", NULL, NULL);
#undef HK
#undef TWO
}

/* A text form of several MB is written and read back in time linear in
 * its length (the bound is for slow runs under valgrind: anything
 * quadratic would take hours). */
static void
TestLarge(void)
{
	HnError		err;
	size_t		len;
	void	   *image = ReadNet("{\"layers\": [600, 1000, 10], \"seed\": 3}", &len, &err);
	char	   *text;
	clock_t		t0;
	double		secs;

	if (!CHECK(image != NULL, "large: a network of %zu bytes", len))
		return;
	t0 = clock();
	text = RoundTrip("large", image, len);
	secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
	CHECK(text && strlen(text) > 3000000 && secs < 60.0,
		  "large: %zu bytes of text written and read in %.2f s",
		  text ? strlen(text) : 0, secs);
	free(text);
	free(image);
}

void
TestJsonSuite(void)
{
	TestValues();
	TestEscapes();
	TestSyntax();
	TestDepth();
	TestAllocFailure();
	TestHelpers();
	TestNumbers();
	TestBuf();
	TestBase64();
	TestDense();
	TestHanami();
	TestLarge();
}
