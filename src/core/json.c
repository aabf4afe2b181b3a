/*
 * json.c - the engine's JSON: the strict reader, the member helpers with
 * the messages users see, HnBuf and base64.  See json.h.
 */
#include "core/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ============================================================ the arena */

/* A block of the arena; values follow the header. */
typedef struct Chunk
{
	struct Chunk *next;
	size_t		size;			/* bytes after the header */
	size_t		used;
} Chunk;

#define CHUNK_HEADER	((sizeof(Chunk) + 15) & ~(size_t) 15)
#define CHUNK_SIZE		((size_t) 65536)

typedef struct Parser
{
	const char *p;
	const char *end;
	const HnAllocator *alloc;
	Chunk	   *chunks;			/* the current one first */
	/* children of the open arrays and objects, copied out when one closes */
	HnJson	   *items;
	size_t		n_items;
	size_t		cap_items;
	HnJsonMember *members;
	size_t		n_members;
	size_t		cap_members;
	int			depth;
	HnError    *err;
} Parser;

static HnStatus
NoMemory(HnError *err)
{
	return HnSetError(err, HANAMI_E_NOMEM, NULL,
					  "out of memory reading a JSON text");
}

/* size bytes (8-aligned) from the arena; NULL when out of memory. */
static void *
ArenaAlloc(Parser *ps, size_t size)
{
	Chunk	   *c = ps->chunks;
	void	   *p;

	size = (size + 7) & ~(size_t) 7;
	if (c == NULL || c->size - c->used < size)
	{
		size_t		want = size > CHUNK_SIZE / 4 ? size : CHUNK_SIZE;
		size_t		total;

		if (!HnAddSize(want, CHUNK_HEADER, &total))
			return NULL;
		c = HnAlloc(ps->alloc, total);
		if (c == NULL)
			return NULL;
		c->size = want;
		c->used = 0;
		/* a block of its own goes behind the current one, which has room */
		if (want != CHUNK_SIZE && ps->chunks != NULL)
		{
			c->next = ps->chunks->next;
			ps->chunks->next = c;
		}
		else
		{
			c->next = ps->chunks;
			ps->chunks = c;
		}
	}
	p = (char *) c + CHUNK_HEADER + c->used;
	c->used += size;
	return p;
}

static void
ArenaFree(const HnAllocator *alloc, Chunk *c)
{
	while (c != NULL)
	{
		Chunk	   *next = c->next;

		HnFree(alloc, c);
		c = next;
	}
}

/* Grow a stack of elements of size esize to hold one more. */
static bool
StackGrow(Parser *ps, void **stack, size_t *cap, size_t n, size_t esize)
{
	size_t		cap2 = *cap ? *cap * 2 : 64;
	size_t		bytes;
	void	   *p;

	if (n < *cap)
		return true;
	if (!HnMulSize(cap2, esize, &bytes))
		return false;
	p = HnAlloc(ps->alloc, bytes);
	if (p == NULL)
		return false;
	if (n > 0)
		memcpy(p, *stack, n * esize);
	HnFree(ps->alloc, *stack);
	*stack = p;
	*cap = cap2;
	return true;
}

/* ============================================================ the reader */

static bool
IsSpace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
IsDelimiter(char c)
{
	return IsSpace(c) || c == ',' || c == ':' || c == '[' || c == ']' ||
		c == '{' || c == '}' || c == '"';
}

static void
SkipSpace(Parser *ps)
{
	while (ps->p < ps->end && IsSpace(*ps->p))
		ps->p++;
}

/* Error for malformed JSON; detail says what (a printf format). */
static HnStatus
SyntaxError(Parser *ps, const char *fmt,...)
__attribute__((format(printf, 2, 3)));

static HnStatus
SyntaxError(Parser *ps, const char *fmt,...)
{
	char		detail[HANAMI_ERRMSG_LEN];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return HnSetError(ps->err, HANAMI_E_MALFORMED_SPEC, detail,
					  "invalid input syntax for type json");
}

/* The text ended where more was expected. */
static HnStatus
EndError(Parser *ps)
{
	return SyntaxError(ps, "The input string ended unexpectedly.");
}

/* Length of the token at p, for messages: one punctuation character, or
 * up to a delimiter (at most 40 bytes). */
static int
TokenLen(const Parser *ps, const char *p)
{
	const char *q = p + 1;

	if (IsDelimiter(*p) && *p != '"')
		return 1;

	while (q < ps->end && q - p < 40 && !IsDelimiter(*q) && *q != '\0')
		q++;
	return (int) (q - p);
}

/* "found" in an Expected ... message: the token at p, or the end. */
static HnStatus
ExpectedError(Parser *ps, const char *expected)
{
	if (ps->p >= ps->end)
		return EndError(ps);
	if (*ps->p == '\0')
		return SyntaxError(ps, "Expected %s, but found a NUL byte.", expected);
	return SyntaxError(ps, "Expected %s, but found \"%.*s\".", expected,
					   TokenLen(ps, ps->p), ps->p);
}

static HnStatus
InvalidToken(Parser *ps, const char *p)
{
	if (*p == '\0')
		return SyntaxError(ps, "Character with value 0x00 must be escaped.");
	return SyntaxError(ps, "Token \"%.*s\" is invalid.", TokenLen(ps, p), p);
}

static int
HexValue(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at p (p + 4 <= end checked by the caller), or -1. */
static long
Hex4(const char *p)
{
	long		v = 0;

	for (int i = 0; i < 4; i++)
	{
		int			h = HexValue(p[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Write code point cp as UTF-8; returns the bytes written. */
static int
Utf8(unsigned long cp, char *dst)
{
	if (cp < 0x80)
	{
		dst[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		dst[0] = (char) (0xC0 | (cp >> 6));
		dst[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		dst[0] = (char) (0xE0 | (cp >> 12));
		dst[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		dst[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	dst[0] = (char) (0xF0 | (cp >> 18));
	dst[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	dst[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	dst[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/* Bytes that end a run of plain string bytes: the quote, the backslash
 * and the control characters. */
static const bool string_special[256] = {
	[0] = true, [1] = true, [2] = true, [3] = true, [4] = true, [5] = true,
	[6] = true, [7] = true, [8] = true, [9] = true, [10] = true, [11] = true,
	[12] = true, [13] = true, [14] = true, [15] = true, [16] = true,
	[17] = true, [18] = true, [19] = true, [20] = true, [21] = true,
	[22] = true, [23] = true, [24] = true, [25] = true, [26] = true,
	[27] = true, [28] = true, [29] = true, [30] = true, [31] = true,
	['"'] = true, ['\\'] = true,
};

/*
 * The string at ps->p (its opening quote) into the arena: *out and *len.
 * Escapes only ever shorten a string, so its raw length bounds the result.
 */
static HnStatus
ParseString(Parser *ps, const char **out, size_t *len)
{
	const char *q = ps->p + 1;
	const char *body = q;
	bool		escapes = false;
	char	   *dst;
	char	   *w;

	while (q < ps->end && *q != '"')
	{
		unsigned char c = (unsigned char) *q;

		if (!string_special[c])
		{
			q++;
			continue;
		}
		if (c == '\\')
		{
			escapes = true;
			q += 2;
			continue;
		}
		if (c < 0x20)
			return SyntaxError(ps, "Character with value 0x%02x must be escaped.",
							   c);
		q++;
	}
	if (q >= ps->end)
		return EndError(ps);

	dst = ArenaAlloc(ps, (size_t) (q - body) + 1);
	if (dst == NULL)
		return NoMemory(ps->err);
	if (!escapes)
	{
		memcpy(dst, body, (size_t) (q - body));
		w = dst + (q - body);
	}
	else
	{
		const char *r = body;

		w = dst;
		while (r < q)
		{
			char		c = *r++;
			long		cp;

			if (c != '\\')
			{
				*w++ = c;
				continue;
			}
			c = *r++;
			switch (c)
			{
				case '"':
				case '\\':
				case '/':
					*w++ = c;
					break;
				case 'b':
					*w++ = '\b';
					break;
				case 'f':
					*w++ = '\f';
					break;
				case 'n':
					*w++ = '\n';
					break;
				case 'r':
					*w++ = '\r';
					break;
				case 't':
					*w++ = '\t';
					break;
				case 'u':
					if (q - r < 4 || (cp = Hex4(r)) < 0)
						return SyntaxError(ps, "\"\\u\" must be followed by four hexadecimal digits.");
					r += 4;
					if (cp >= 0xD800 && cp <= 0xDBFF)
					{
						long		lo;

						if (q - r < 6 || r[0] != '\\' || r[1] != 'u')
							return SyntaxError(ps, "Unicode low surrogate must follow a high surrogate.");
						if ((lo = Hex4(r + 2)) < 0)
							return SyntaxError(ps, "\"\\u\" must be followed by four hexadecimal digits.");
						if (lo >= 0xD800 && lo <= 0xDBFF)
							return SyntaxError(ps, "Unicode high surrogate must not follow a high surrogate.");
						if (lo < 0xDC00 || lo > 0xDFFF)
							return SyntaxError(ps, "Unicode low surrogate must follow a high surrogate.");
						r += 6;
						cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					}
					else if (cp >= 0xDC00 && cp <= 0xDFFF)
						return SyntaxError(ps, "Unicode low surrogate must follow a high surrogate.");
					else if (cp == 0)
						return SyntaxError(ps, "\\u0000 cannot be converted to text.");
					w += Utf8((unsigned long) cp, w);
					break;
				default:
					return SyntaxError(ps, "Escape sequence \"\\%.*s\" is invalid.",
									   c == '\0' ? 0 : 1, &c);
			}
		}
	}
	*w = '\0';
	*out = dst;
	*len = (size_t) (w - dst);
	ps->p = q + 1;
	return HANAMI_OK;
}

static bool
IsDigit(char c)
{
	return c >= '0' && c <= '9';
}

/* A number token: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static HnStatus
ParseNumber(Parser *ps, HnJson *out)
{
	const char *s = ps->p;
	const char *q = s;
	char	   *text;

	if (q < ps->end && *q == '-')
		q++;
	if (q < ps->end && *q == '0')
		q++;
	else if (q < ps->end && IsDigit(*q))
		while (q < ps->end && IsDigit(*q))
			q++;
	else
		return InvalidToken(ps, s);
	if (q < ps->end && *q == '.')
	{
		q++;
		if (q >= ps->end || !IsDigit(*q))
			return InvalidToken(ps, s);
		while (q < ps->end && IsDigit(*q))
			q++;
	}
	if (q < ps->end && (*q == 'e' || *q == 'E'))
	{
		q++;
		if (q < ps->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= ps->end || !IsDigit(*q))
			return InvalidToken(ps, s);
		while (q < ps->end && IsDigit(*q))
			q++;
	}
	/* "01", "1x", "1.2.3": one bad token, not a number and something */
	if (q < ps->end && !IsDelimiter(*q) && *q != '\0')
		return InvalidToken(ps, s);

	text = ArenaAlloc(ps, (size_t) (q - s) + 1);
	if (text == NULL)
		return NoMemory(ps->err);
	memcpy(text, s, (size_t) (q - s));
	text[q - s] = '\0';
	out->type = HN_JSON_NUMBER;
	out->n = (size_t) (q - s);
	out->u.text = text;
	ps->p = q;
	return HANAMI_OK;
}

/* true, false or null */
static HnStatus
ParseLiteral(Parser *ps, HnJson *out)
{
	static const struct
	{
		const char *word;
		HnJsonType	type;
		bool		value;
	}			words[] = {
		{"true", HN_JSON_BOOL, true},
		{"false", HN_JSON_BOOL, false},
		{"null", HN_JSON_NULL, false},
	};

	for (int i = 0; i < 3; i++)
	{
		size_t		n = strlen(words[i].word);

		if ((size_t) (ps->end - ps->p) >= n &&
			memcmp(ps->p, words[i].word, n) == 0 &&
			(ps->p + n == ps->end || IsDelimiter(ps->p[n])))
		{
			out->type = words[i].type;
			out->n = 0;
			out->u.boolean = words[i].value;
			ps->p += n;
			return HANAMI_OK;
		}
	}
	return InvalidToken(ps, ps->p);
}

static HnStatus ParseValue(Parser *ps, HnJson *out);

static HnStatus
TooDeep(Parser *ps)
{
	char		detail[HANAMI_ERRMSG_LEN];

	snprintf(detail, sizeof(detail),
			 "Arrays and objects nest at most %d levels deep.",
			 HN_JSON_MAX_DEPTH);
	return HnSetError(ps->err, HANAMI_E_TOO_LARGE, detail,
					  "JSON value is nested too deeply");
}

static HnStatus
ParseArray(Parser *ps, HnJson *out)
{
	size_t		mark = ps->n_items;
	HnStatus	st;
	HnJson	   *items;
	size_t		n;

	if (++ps->depth > HN_JSON_MAX_DEPTH)
		return TooDeep(ps);
	ps->p++;					/* [ */
	SkipSpace(ps);
	if (ps->p < ps->end && *ps->p == ']')
		ps->p++;
	else
	{
		for (;;)
		{
			HnJson		v;

			if ((st = ParseValue(ps, &v)) != HANAMI_OK)
				return st;
			if (!StackGrow(ps, (void **) &ps->items, &ps->cap_items,
						   ps->n_items, sizeof(HnJson)))
				return NoMemory(ps->err);
			ps->items[ps->n_items++] = v;
			SkipSpace(ps);
			if (ps->p < ps->end && *ps->p == ',')
			{
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == ']')
			{
				ps->p++;
				break;
			}
			return ExpectedError(ps, "\",\" or \"]\"");
		}
	}
	n = ps->n_items - mark;
	items = NULL;
	if (n > 0)
	{
		items = ArenaAlloc(ps, n * sizeof(HnJson));
		if (items == NULL)
			return NoMemory(ps->err);
		memcpy(items, ps->items + mark, n * sizeof(HnJson));
	}
	ps->n_items = mark;
	out->type = HN_JSON_ARRAY;
	out->n = n;
	out->u.items = items;
	ps->depth--;
	return HANAMI_OK;
}

static HnStatus
ParseObject(Parser *ps, HnJson *out)
{
	size_t		mark = ps->n_members;
	HnStatus	st;
	HnJsonMember *members;
	size_t		n;

	if (++ps->depth > HN_JSON_MAX_DEPTH)
		return TooDeep(ps);
	ps->p++;					/* { */
	SkipSpace(ps);
	if (ps->p < ps->end && *ps->p == '}')
		ps->p++;
	else
	{
		for (;;)
		{
			HnJsonMember m;

			if (ps->p >= ps->end || *ps->p != '"')
				return ExpectedError(ps, "string");
			if ((st = ParseString(ps, &m.key, &m.key_len)) != HANAMI_OK)
				return st;
			SkipSpace(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return ExpectedError(ps, "\":\"");
			ps->p++;
			if ((st = ParseValue(ps, &m.value)) != HANAMI_OK)
				return st;
			if (!StackGrow(ps, (void **) &ps->members, &ps->cap_members,
						   ps->n_members, sizeof(HnJsonMember)))
				return NoMemory(ps->err);
			ps->members[ps->n_members++] = m;
			SkipSpace(ps);
			if (ps->p < ps->end && *ps->p == ',')
			{
				ps->p++;
				SkipSpace(ps);
				continue;
			}
			if (ps->p < ps->end && *ps->p == '}')
			{
				ps->p++;
				break;
			}
			return ExpectedError(ps, "\",\" or \"}\"");
		}
	}
	n = ps->n_members - mark;
	members = NULL;
	if (n > 0)
	{
		members = ArenaAlloc(ps, n * sizeof(HnJsonMember));
		if (members == NULL)
			return NoMemory(ps->err);
		memcpy(members, ps->members + mark, n * sizeof(HnJsonMember));
	}
	ps->n_members = mark;
	out->type = HN_JSON_OBJECT;
	out->n = n;
	out->u.members = members;
	ps->depth--;
	return HANAMI_OK;
}

static HnStatus
ParseValue(Parser *ps, HnJson *out)
{
	SkipSpace(ps);
	if (ps->p >= ps->end)
		return EndError(ps);
	switch (*ps->p)
	{
		case '{':
			return ParseObject(ps, out);
		case '[':
			return ParseArray(ps, out);
		case '"':
			out->type = HN_JSON_STRING;
			return ParseString(ps, &out->u.text, &out->n);
		case '-':
		case '0':
		case '1':
		case '2':
		case '3':
		case '4':
		case '5':
		case '6':
		case '7':
		case '8':
		case '9':
			return ParseNumber(ps, out);
		case 't':
		case 'f':
		case 'n':
			return ParseLiteral(ps, out);
		case ',':
		case ':':
		case ']':
		case '}':
			return ExpectedError(ps, "JSON value");
		default:
			return InvalidToken(ps, ps->p);
	}
}

HnStatus
HnJsonParse(const char *text, size_t len, const HnAllocator *alloc,
			HnJsonDoc *doc, HnError *err)
{
	Parser		ps;
	HnJson	   *root;
	HnStatus	st;

	memset(&ps, 0, sizeof(ps));
	ps.p = text;
	ps.end = text + len;
	ps.alloc = alloc;
	ps.err = err;
	doc->root = NULL;
	doc->alloc = alloc;
	doc->chunks = NULL;

	root = ArenaAlloc(&ps, sizeof(HnJson));
	if (root == NULL)
		st = NoMemory(err);
	else if ((st = ParseValue(&ps, root)) == HANAMI_OK)
	{
		SkipSpace(&ps);
		if (ps.p < ps.end)
			st = ExpectedError(&ps, "end of input");
	}
	HnFree(alloc, ps.items);
	HnFree(alloc, ps.members);
	doc->chunks = ps.chunks;
	if (st != HANAMI_OK)
	{
		HnJsonFree(doc);
		return st;
	}
	doc->root = root;
	return HANAMI_OK;
}

void
HnJsonFree(HnJsonDoc *doc)
{
	if (doc == NULL)
		return;
	ArenaFree(doc->alloc, doc->chunks);
	doc->chunks = NULL;
	doc->root = NULL;
}

const char *
HnJsonTypeName(const HnJson *v)
{
	switch (v ? v->type : HN_JSON_NULL)
	{
		case HN_JSON_BOOL:
			return "boolean";
		case HN_JSON_NUMBER:
			return "number";
		case HN_JSON_STRING:
			return "string";
		case HN_JSON_ARRAY:
			return "array";
		case HN_JSON_OBJECT:
			return "object";
		default:
			return "null";
	}
}

/* ============================================================ helpers */

const HnJson *
HnJsonGet(const HnJson *obj, const char *key)
{
	size_t		klen = strlen(key);

	if (obj == NULL || obj->type != HN_JSON_OBJECT)
		return NULL;
	for (size_t i = obj->n; i-- > 0;)
	{
		const HnJsonMember *m = &obj->u.members[i];

		if (m->key_len == klen && memcmp(m->key, key, klen) == 0)
			return &m->value;
	}
	return NULL;
}

/* Whether key a comes before key b in a jsonb object: shorter first, then
 * byte order. */
static bool
JsonbKeyBefore(const HnJsonMember *a, const HnJsonMember *b)
{
	if (a->key_len != b->key_len)
		return a->key_len < b->key_len;
	return memcmp(a->key, b->key, a->key_len) < 0;
}

HnStatus
HnJsonCheckKeys(const HnJson *obj, const char *what,
				const char *const *allowed, HnError *err)
{
	const HnJsonMember *bad = NULL;
	char		hint[HANAMI_ERRHINT_LEN];
	size_t		at;

	if (obj == NULL || obj->type != HN_JSON_OBJECT)
		return HANAMI_OK;
	for (size_t i = 0; i < obj->n; i++)
	{
		const HnJsonMember *m = &obj->u.members[i];
		bool		found = false;

		for (const char *const *a = allowed; *a && !found; a++)
			found = strlen(*a) == m->key_len &&
				memcmp(*a, m->key, m->key_len) == 0;
		if (!found && (bad == NULL || JsonbKeyBefore(m, bad)))
			bad = m;
	}
	if (bad == NULL)
		return HANAMI_OK;

	at = (size_t) snprintf(hint, sizeof(hint), "Valid keys are: ");
	for (const char *const *a = allowed; *a && at < sizeof(hint); a++)
		at += (size_t) snprintf(hint + at, sizeof(hint) - at, "%s%s",
								a == allowed ? "" : ", ", *a);
	if (at < sizeof(hint))
		snprintf(hint + at, sizeof(hint) - at, ".");
	HnSetError(err, HANAMI_E_INVALID_SPEC, NULL, "unrecognized %s \"%s\"",
			   what, bad->key);
	return HnSetHint(err, hint);
}

static HnStatus
WrongType(const HnJson *v, const char *what, const char *expected,
		  HnError *err)
{
	return HnSetError(err, HANAMI_E_INVALID_SPEC, NULL, "%s must be %s, not %s",
					  what, expected, HnJsonTypeName(v));
}

HnStatus
HnJsonNumber(const HnJson *v, const char *what, double *out, HnError *err)
{
	if (v == NULL || v->type != HN_JSON_NUMBER)
		return WrongType(v, what, "a number", err);
	*out = strtod(v->u.text, NULL);
	return HANAMI_OK;
}

HnStatus
HnJsonInt(const HnJson *v, const char *what, int64_t min, int64_t max,
		  int64_t *out, HnError *err)
{
	double		d;
	HnStatus	st = HnJsonNumber(v, what, &d, err);

	if (st != HANAMI_OK)
		return st;
	if (d != floor(d))
		return HnSetError(err, HANAMI_E_INVALID_SPEC, NULL,
						  "%s must be an integer", what);
	if (d < (double) min || d > (double) max)
		return HnSetError(err, HANAMI_E_INVALID_SPEC, NULL,
						  "%s must be between %" PRId64 " and %" PRId64,
						  what, min, max);
	*out = (int64_t) d;
	return HANAMI_OK;
}

/* HnJsonInt into a uint32_t; see json.h. */
HnStatus
HnJsonU32(const HnJson *v, const char *what, int64_t min, int64_t max,
		  uint32_t *out, HnError *err)
{
	int64_t		i;
	HnStatus	st = HnJsonInt(v, what, min, max, &i, err);

	if (st == HANAMI_OK)
		*out = (uint32_t) i;
	return st;
}

/*
 * As the server read it: the value as numeric (exact, with a display scale
 * of the fraction digits less the exponent) printed back must be only
 * digits, and fit 64 bits.  So 1, 1e3 and -0 are integers; 1.0, 1.50e1 and
 * 100e-2 are not.
 */
HnStatus
HnJsonUint64(const HnJson *v, const char *what, uint64_t *out, HnError *err)
{
	const char *s;
	const char *int_digits;
	size_t		n_int = 0;
	const char *frac_digits = NULL;
	size_t		n_frac = 0;
	long		exp10 = 0;
	bool		neg = false;
	bool		zero = true;
	uint64_t	u = 0;
	size_t		n_digits = 0;

	if (v == NULL || v->type != HN_JSON_NUMBER)
		return WrongType(v, what, "a number", err);
	s = v->u.text;
	if (*s == '-')
	{
		neg = true;
		s++;
	}
	int_digits = s;
	while (IsDigit(*s))
	{
		n_int++;
		s++;
	}
	if (*s == '.')
	{
		frac_digits = ++s;
		while (IsDigit(*s))
		{
			n_frac++;
			s++;
		}
	}
	if (*s == 'e' || *s == 'E')
	{
		bool		eneg = false;

		s++;
		if (*s == '+' || *s == '-')
			eneg = *s++ == '-';
		while (IsDigit(*s))
		{
			if (exp10 < 1000000)
				exp10 = exp10 * 10 + (*s - '0');
			s++;
		}
		if (eneg)
			exp10 = -exp10;
	}
	for (size_t i = 0; i < n_int; i++)
		zero &= int_digits[i] == '0';
	for (size_t i = 0; i < n_frac; i++)
		zero &= frac_digits[i] == '0';

	/* a display scale above zero prints a fraction; a minus sign a sign */
	if ((long) n_frac - exp10 > 0 || (neg && !zero))
		goto bad;
	if (!zero)
	{
		/* the digits, then exp10 - n_frac zeros */
		for (size_t i = 0; i < n_int + n_frac; i++)
		{
			int			d = i < n_int ? int_digits[i] - '0' :
				frac_digits[i - n_int] - '0';

			if (n_digits == 0 && d == 0)
				continue;
			if (++n_digits > 20 || u > (UINT64_MAX - (uint64_t) d) / 10)
				goto bad;
			u = u * 10 + (uint64_t) d;
		}
		for (long z = 0; z < exp10 - (long) n_frac; z++)
		{
			if (u > UINT64_MAX / 10)
				goto bad;
			u *= 10;
		}
	}
	*out = u;
	return HANAMI_OK;

bad:
	return HnSetError(err, HANAMI_E_INVALID_SPEC, NULL,
					  "%s must be an integer between 0 and %" PRIu64,
					  what, UINT64_MAX);
}

HnStatus
HnJsonBool(const HnJson *v, const char *what, bool *out, HnError *err)
{
	if (v == NULL || v->type != HN_JSON_BOOL)
		return WrongType(v, what, "a boolean", err);
	*out = v->u.boolean;
	return HANAMI_OK;
}

HnStatus
HnJsonString(const HnJson *v, const char *what, const char **out,
			 HnError *err)
{
	if (v == NULL || v->type != HN_JSON_STRING)
		return WrongType(v, what, "a string", err);
	*out = v->u.text;
	return HANAMI_OK;
}

HnStatus
HnJsonName(const HnJson *v, const char *what, char *dst, HnError *err)
{
	char		label[64];
	const char *name = NULL;
	HnStatus	st;

	snprintf(label, sizeof(label), "%s name", what);
	if ((st = HnJsonString(v, label, &name, err)) != HANAMI_OK)
		return st;
	if (v->n >= HANAMI_NAME_LEN)
		return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
						  "%s name \"%s\" is too long", what, name);
	for (const char *c = name; *c; c++)
		if ((unsigned char) *c < 0x20 || *c == 0x7f)
			return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
							  "%s name contains a control character", what);
	memset(dst, 0, HANAMI_NAME_LEN);
	memcpy(dst, name, v->n);
	return HANAMI_OK;
}

HnStatus
HnJsonObject(const HnJson *v, const char *what, HnError *err)
{
	if (v == NULL || v->type != HN_JSON_OBJECT)
		return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
						  "%s must be an object", what);
	return HANAMI_OK;
}

HnStatus
HnJsonArray(const HnJson *v, const char *what, HnError *err)
{
	if (v == NULL || v->type != HN_JSON_ARRAY)
		return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
						  "%s must be an array", what);
	return HANAMI_OK;
}

/* ============================================================ HnBuf */

void
HnBufInit(HnBuf *buf, const HnAllocator *alloc)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->alloc = alloc;
	buf->failed = false;
}

void
HnBufFree(HnBuf *buf)
{
	HnFree(buf->alloc, buf->data);
	buf->data = NULL;
	buf->len = buf->cap = 0;
}

bool
HnBufReserve(HnBuf *buf, size_t extra)
{
	size_t		need;
	size_t		cap;
	char	   *p;

	if (buf->failed)
		return false;
	if (!HnAddSize(buf->len, extra, &need) || !HnAddSize(need, 1, &need) ||
		need > HN_TEXT_MAX + 1)
	{
		buf->failed = true;
		return false;
	}
	if (need <= buf->cap)
		return true;
	cap = buf->cap < 256 ? 256 : buf->cap;
	while (cap < need)
		cap = cap > (HN_TEXT_MAX + 1) / 2 ? HN_TEXT_MAX + 1 : cap * 2;
	p = HnAlloc(buf->alloc, cap);
	if (p == NULL)
	{
		buf->failed = true;
		return false;
	}
	if (buf->data != NULL)
		memcpy(p, buf->data, buf->len);
	p[buf->len] = '\0';
	HnFree(buf->alloc, buf->data);
	buf->data = p;
	buf->cap = cap;
	return true;
}

void
HnBufAppendN(HnBuf *buf, const char *s, size_t n)
{
	if (!HnBufReserve(buf, n))
		return;
	memcpy(buf->data + buf->len, s, n);
	buf->len += n;
	buf->data[buf->len] = '\0';
}

void
HnBufAppend(HnBuf *buf, const char *s)
{
	HnBufAppendN(buf, s, strlen(s));
}

void
HnBufAppendChar(HnBuf *buf, char c)
{
	HnBufAppendN(buf, &c, 1);
}

void
HnBufPrintf(HnBuf *buf, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (!HnBufReserve(buf, 64))
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf->data + buf->len, buf->cap - buf->len, fmt, ap);
	va_end(ap);
	if (n < 0)
	{
		buf->failed = true;
		return;
	}
	if ((size_t) n >= buf->cap - buf->len)
	{
		if (!HnBufReserve(buf, (size_t) n))
			return;
		va_start(ap, fmt);
		vsnprintf(buf->data + buf->len, buf->cap - buf->len, fmt, ap);
		va_end(ap);
	}
	buf->len += (size_t) n;
}

void
HnBufJsonString(HnBuf *buf, const char *s)
{
	HnBufAppendChar(buf, '"');
	for (const char *p = s; *p; p++)
	{
		switch (*p)
		{
			case '\b':
				HnBufAppend(buf, "\\b");
				break;
			case '\f':
				HnBufAppend(buf, "\\f");
				break;
			case '\n':
				HnBufAppend(buf, "\\n");
				break;
			case '\r':
				HnBufAppend(buf, "\\r");
				break;
			case '\t':
				HnBufAppend(buf, "\\t");
				break;
			case '"':
				HnBufAppend(buf, "\\\"");
				break;
			case '\\':
				HnBufAppend(buf, "\\\\");
				break;
			default:
				if ((unsigned char) *p < ' ')
					HnBufPrintf(buf, "\\u%04x", (int) *p);
				else
					HnBufAppendChar(buf, *p);
		}
	}
	HnBufAppendChar(buf, '"');
}

/*
 * Shortest round-trip digits, as PostgreSQL's float8 output (Ryu) finds
 * them: the fewest significant digits whose decimal lies strictly between
 * the midpoints to the neighbouring doubles (a decimal exactly on a
 * midpoint does not count, even where strtod would round it back), and of
 * those the nearest to the value.
 */

/* One midpoint between a double and a neighbour: n * 2^p, n odd. */
typedef struct Midpoint
{
	uint64_t	n;
	int			p;
} Midpoint;

/* v2 and v5 of x > 0: strips the factors and counts them. */
static int
StripFactor(uint64_t *x, unsigned f)
{
	int			k = 0;

	while (*x % f == 0)
	{
		*x /= f;
		k++;
	}
	return k;
}

/* Whether the decimal d * 10^q (d > 0) is exactly the midpoint m. */
static bool
IsMidpoint(uint64_t d, int q, const Midpoint *m)
{
	uint64_t	rd = d;
	uint64_t	rn = m->n;
	int			d2 = StripFactor(&rd, 2);
	int			d5 = StripFactor(&rd, 5);
	int			n5 = StripFactor(&rn, 5);

	/* d 2^(d2+q) 5^(d5+q) r == 2^p 5^n5 r' with r, r' free of 2 and 5 */
	return d2 + q == m->p && d5 + q == n5 && rd == rn;
}

/* Whether digits * 10^(exp10 - len + 1) reads back as a and lies strictly
 * inside its rounding interval. */
static bool
RoundTrips(const char *digits, int exp10, double a, const Midpoint *mid)
{
	char		text[48];
	int			n = (int) strlen(digits);
	uint64_t	d = strtoull(digits, NULL, 10);

	snprintf(text, sizeof(text), "%c.%se%d", digits[0], digits + 1, exp10);
	if (strtod(text, NULL) != a)
		return false;
	return d == 0 || (!IsMidpoint(d, exp10 - n + 1, &mid[0]) &&
					  !IsMidpoint(d, exp10 - n + 1, &mid[1]));
}

/*
 * digits gets the significant digits of a > 0 (no trailing zeros), *exp10
 * the decimal exponent of the first.  For each length, the correctly
 * rounded digits; at a power of two the gap below is half the gap above,
 * so the next decimal up may lie inside where the nearest does not.
 */
static void
ShortestDigits(double a, char *digits, int *exp10)
{
	Midpoint	mid[2];
	uint64_t	m;
	int			e2;
	bool		asymmetric;

	/* a = m * 2^e2, m < 2^53 */
	frexp(a, &e2);
	e2 -= 53;
	if (e2 < -1074)
		e2 = -1074;
	m = (uint64_t) ldexp(a, -e2);
	asymmetric = m == (UINT64_C(1) << 52) && e2 > -1074;
	mid[0].n = 2 * m + 1;
	mid[0].p = e2 - 1;
	mid[1].n = asymmetric ? 4 * m - 1 : 2 * m - 1;
	mid[1].p = asymmetric ? e2 - 2 : e2 - 1;

	for (int p = 1; p <= 17; p++)
	{
		char		tmp[40];
		char	   *e;
		int			n = 0;

		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, a);
		e = strchr(tmp, 'e');
		for (char *c = tmp; c < e; c++)
			if (IsDigit(*c))
				digits[n++] = *c;
		digits[n] = '\0';
		*exp10 = atoi(e + 1);
		if (p == 17 || RoundTrips(digits, *exp10, a, mid))
			break;
		if (asymmetric)
		{
			char		up[24];
			int			x = *exp10;
			int			i;

			memcpy(up, digits, (size_t) n + 1);
			for (i = n - 1; i >= 0 && up[i] == '9'; i--)
				up[i] = '0';
			if (i >= 0)
				up[i]++;
			else
			{
				up[0] = '1';
				x++;
			}
			if (RoundTrips(up, x, a, mid))
			{
				memcpy(digits, up, (size_t) n + 1);
				*exp10 = x;
				break;
			}
		}
	}
	/* no trailing zeros */
	for (size_t n = strlen(digits); n > 1 && digits[n - 1] == '0'; n--)
		digits[n - 1] = '\0';
}

size_t
HnFormatDouble(double v, char *dst)
{
	char		digits[24];
	int			e;
	int			n;
	char	   *w = dst;

	if (v == 0.0)
		return (size_t) snprintf(dst, HN_DOUBLE_TEXT_LEN, "%s",
								 signbit(v) ? "-0" : "0");
	if (v < 0)
		*w++ = '-';
	ShortestDigits(fabs(v), digits, &e);
	n = (int) strlen(digits);
	if (e >= -4 && e < 15)
	{
		if (e < 0)
		{
			*w++ = '0';
			*w++ = '.';
			for (int i = 0; i < -e - 1; i++)
				*w++ = '0';
			memcpy(w, digits, (size_t) n);
			w += n;
		}
		else if (n <= e + 1)
		{
			memcpy(w, digits, (size_t) n);
			w += n;
			for (int i = n; i < e + 1; i++)
				*w++ = '0';
		}
		else
		{
			memcpy(w, digits, (size_t) e + 1);
			w += e + 1;
			*w++ = '.';
			memcpy(w, digits + e + 1, (size_t) (n - e - 1));
			w += n - e - 1;
		}
		*w = '\0';
	}
	else
	{
		*w++ = digits[0];
		if (n > 1)
		{
			*w++ = '.';
			memcpy(w, digits + 1, (size_t) n - 1);
			w += n - 1;
		}
		w += snprintf(w, 8, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
	}
	return (size_t) (w - dst);
}

void
HnBufJsonNumber(HnBuf *buf, double v)
{
	char		text[HN_DOUBLE_TEXT_LEN];

	if (isnan(v) || isinf(v))
	{
		HnBufAppend(buf, "null");
		return;
	}
	HnBufAppendN(buf, text, HnFormatDouble(v, text));
}

void
HnBufBase64(HnBuf *buf, const void *data, size_t n)
{
	size_t		enc = HnBase64EncodedLen(n);

	if (n > (HN_TEXT_MAX / 4) * 3 || !HnBufReserve(buf, enc))
	{
		buf->failed = true;
		return;
	}
	HnBase64Encode(data, n, buf->data + buf->len);
	buf->len += enc;
	buf->data[buf->len] = '\0';
}

HnStatus
HnBufCheck(const HnBuf *buf, HnError *err)
{
	if (buf->failed)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory writing a JSON text");
	return HANAMI_OK;
}

/* ============================================================ base64 */

static const char b64_chars[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
HnBase64EncodedLen(size_t n)
{
	return (n + 2) / 3 * 4;
}

size_t
HnBase64DecodedLen(size_t len)
{
	return len / 4 * 3 + (len % 4) * 3 / 4;
}

void
HnBase64Encode(const void *src, size_t n, char *dst)
{
	const unsigned char *s = src;
	size_t		i = 0;

	for (; i + 3 <= n; i += 3)
	{
		uint32_t	b = (uint32_t) s[i] << 16 | (uint32_t) s[i + 1] << 8 | s[i + 2];

		*dst++ = b64_chars[(b >> 18) & 0x3F];
		*dst++ = b64_chars[(b >> 12) & 0x3F];
		*dst++ = b64_chars[(b >> 6) & 0x3F];
		*dst++ = b64_chars[b & 0x3F];
	}
	if (i < n)
	{
		uint32_t	b = (uint32_t) s[i] << 16;

		if (i + 1 < n)
			b |= (uint32_t) s[i + 1] << 8;
		*dst++ = b64_chars[(b >> 18) & 0x3F];
		*dst++ = b64_chars[(b >> 12) & 0x3F];
		*dst++ = i + 1 < n ? b64_chars[(b >> 6) & 0x3F] : '=';
		*dst++ = '=';
	}
}

/* The value of a base64 character, -1 for any other byte. */
static const int8_t b64_values[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

/*
 * Groups of four characters; '=' ends the data: the first one, third or
 * fourth in a group, says whether the group holds one or two bytes, and
 * every group after it (the server's decoder reads them too) as many.
 */
int64_t
HnBase64Decode(const char *src, size_t len, void *dst, size_t dstlen)
{
	unsigned char *out = dst;
	size_t		w = 0;
	uint32_t	b = 0;
	int			pos = 0;
	int			end = 0;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) src[i];
		int			v = b64_values[c];

		/* whole groups without padding, the bulk of any text form */
		if (pos == 0 && !end && v >= 0 && len - i >= 4)
		{
			int			v1 = b64_values[(unsigned char) src[i + 1]];
			int			v2 = b64_values[(unsigned char) src[i + 2]];
			int			v3 = b64_values[(unsigned char) src[i + 3]];

			if ((v1 | v2 | v3) >= 0)
			{
				if (w + 3 > dstlen)
					goto bad;
				b = (uint32_t) v << 18 | (uint32_t) v1 << 12 |
					(uint32_t) v2 << 6 | (uint32_t) v3;
				out[w++] = (unsigned char) (b >> 16);
				out[w++] = (unsigned char) (b >> 8);
				out[w++] = (unsigned char) b;
				b = 0;
				i += 3;
				continue;
			}
		}
		if (c == '=')
		{
			if (!end)
			{
				if (pos == 2)
					end = 1;
				else if (pos == 3)
					end = 2;
				else
					goto bad;
			}
			v = 0;
		}
		else if (v < 0)
			goto bad;
		b = (b << 6) | (uint32_t) v;
		if (++pos == 4)
		{
			if (w + 1 > dstlen)
				goto bad;
			out[w++] = (unsigned char) (b >> 16);
			if (end == 0 || end > 1)
			{
				if (w + 1 > dstlen)
					goto bad;
				out[w++] = (unsigned char) (b >> 8);
			}
			if (end == 0)
			{
				if (w + 1 > dstlen)
					goto bad;
				out[w++] = (unsigned char) b;
			}
			b = 0;
			pos = 0;
		}
	}
	if (pos != 0)
		goto bad;
	return (int64_t) w;

bad:
	if (dstlen > 0)
		memset(dst, 0, dstlen);
	return -1;
}
