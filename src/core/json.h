/*
 * json.h - JSON in the engine: a strict reader (RFC 8259) into HnJson
 * values, the one set of helpers that read the members of a description
 * with the messages users see, HnBuf (a growing text buffer that writes
 * JSON strings, numbers and base64), and the registry's entry points that
 * turn JSON text into a network image and back (kind_json.c).
 *
 * Reading.  HnJsonParse reads a whole text into a tree of HnJson values
 * allocated in one arena from an HnAllocator (HnJsonFree releases it all).
 * Numbers keep their token text, so a reader converts them exactly: an
 * integer up to 2^64 - 1 (a sample counter) as well as a double.  Strings
 * are unescaped (\uXXXX surrogate pairs included) into NUL-terminated UTF-8;
 * \u0000 is refused, as PostgreSQL's jsonb refuses it.  Bytes of 0x80 and
 * above pass through as they are (the text is in the database's encoding).
 * An object keeps every member in text order, duplicates included;
 * HnJsonGet returns the last member of a key, the value jsonb keeps.
 * Arrays and objects nest at most HN_JSON_MAX_DEPTH levels.  Parsing is
 * linear in the length of the text.
 *
 * Errors.  Every failure fills an HnError with the message, detail and hint
 * users see:
 *   HANAMI_E_INVALID_SPEC   a member of the wrong type or out of range, an
 *                           unknown key (22023 wherever it comes from);
 *   HANAMI_E_MALFORMED_SPEC malformed JSON or a description that cannot be
 *                           read (the caller's code: 22P02 for the type's
 *                           text input, 22023 for functions);
 *   HANAMI_E_TOO_LARGE      more elements or nesting than allowed;
 *   HANAMI_E_UNSUPPORTED    a text form of another format version;
 *   HANAMI_E_NOMEM          an allocation failed.
 */
#ifndef HANAMI_CORE_JSON_H
#define HANAMI_CORE_JSON_H

#include "core/common.h"
#include "core/kind.h"

/* Levels of arrays and objects a text may nest. */
#define HN_JSON_MAX_DEPTH	256

/*
 * The longest text a network value may have: the server's largest single
 * allocation (1 GB - 1).  A text form whose base64 would not fit is refused.
 */
#define HN_TEXT_MAX			((size_t) 0x3FFFFFFF)

/* Bytes in front of an image in a stored value (its length word): info()
 * counts them in "bytes", the size of the value. */
#define HN_VALUE_HEADER		4

typedef enum HnJsonType
{
	HN_JSON_NULL = 0,
	HN_JSON_BOOL,
	HN_JSON_NUMBER,
	HN_JSON_STRING,
	HN_JSON_ARRAY,
	HN_JSON_OBJECT
} HnJsonType;

typedef struct HnJson HnJson;
typedef struct HnJsonMember HnJsonMember;

struct HnJson
{
	HnJsonType	type;
	size_t		n;				/* string: bytes; number: token bytes;
								 * array: items; object: members */
	union
	{
		bool		boolean;
		const char *text;		/* string: NUL-terminated, no NUL inside;
								 * number: the token, NUL-terminated */
		const HnJson *items;
		const HnJsonMember *members;
	}			u;
};

struct HnJsonMember
{
	const char *key;			/* NUL-terminated, no NUL inside */
	size_t		key_len;
	HnJson		value;
};

/* A parsed text: root and the arena that holds every value. */
typedef struct HnJsonDoc
{
	const HnJson *root;
	const HnAllocator *alloc;
	void	   *chunks;			/* private */
} HnJsonDoc;

/*
 * Parse len bytes of text (a NUL byte is not an end: it is an error
 * anywhere, as in the text input of a value).  On success doc->root is the
 * value; HnJsonFree(doc) frees everything, on failure too.
 */
HnStatus	HnJsonParse(const char *text, size_t len, const HnAllocator *alloc,
						HnJsonDoc *doc, HnError *err);
void		HnJsonFree(HnJsonDoc *doc);

/* "null", "boolean", "number", "string", "array" or "object" (as jsonb). */
const char *HnJsonTypeName(const HnJson *v);

/* ------------------------------------------------------------ helpers
 *
 * what names the member in messages ("seed", "trained.epochs", "unit count
 * of layer 2").  Each returns HANAMI_OK and its value, or the error.
 */

/* The value of key in an object (the last one of duplicates), or NULL. */
const HnJson *HnJsonGet(const HnJson *obj, const char *key);

/*
 * Error (INVALID_SPEC) unless every key of obj is in the NULL-terminated
 * allowed list: "unrecognized <what> "<key>"" with the valid keys as the
 * hint.  Of several unknown keys the one jsonb lists first is named (the
 * shortest, then in byte order), as the server always did.
 */
HnStatus	HnJsonCheckKeys(const HnJson *obj, const char *what,
							const char *const *allowed, HnError *err);

/* A number as a double ("<what> must be a number, not <type>"). */
HnStatus	HnJsonNumber(const HnJson *v, const char *what, double *out,
						 HnError *err);

/* An integer in [min, max] (read as a double, like the server's numeric). */
HnStatus	HnJsonInt(const HnJson *v, const char *what, int64_t min,
					  int64_t max, int64_t *out, HnError *err);

/* HnJsonInt into a uint32_t (min and max within its range). */
HnStatus	HnJsonU32(const HnJson *v, const char *what, int64_t min,
					  int64_t max, uint32_t *out, HnError *err);

/* An integer in [0, 2^64 - 1], exact over the whole range: written without
 * a fraction (1, 1e3; not 1.0). */
HnStatus	HnJsonUint64(const HnJson *v, const char *what, uint64_t *out,
						 HnError *err);

HnStatus	HnJsonBool(const HnJson *v, const char *what, bool *out,
					   HnError *err);

/* A string (valid while the document lives). */
HnStatus	HnJsonString(const HnJson *v, const char *what, const char **out,
						 HnError *err);

/*
 * A layer or cell name into dst (HANAMI_NAME_LEN bytes): a string of fewer
 * bytes than that, without control characters.  what: "layer", "cell".
 * Too long or a control character: MALFORMED_SPEC.
 */
HnStatus	HnJsonName(const HnJson *v, const char *what, char *dst,
					   HnError *err);

/* Type checks of a container: "<what> must be an object" / "an array"
 * (MALFORMED_SPEC). */
HnStatus	HnJsonObject(const HnJson *v, const char *what, HnError *err);
HnStatus	HnJsonArray(const HnJson *v, const char *what, HnError *err);

/* ------------------------------------------------------------- HnBuf */

/*
 * A growing NUL-terminated text from an allocator.  Appends never fail
 * loudly: a failed allocation marks the buffer, and HnBufCheck reports it
 * (HANAMI_E_NOMEM) once the text is written.  The text never grows past
 * HN_TEXT_MAX.
 */
typedef struct HnBuf
{
	char	   *data;			/* NUL-terminated; NULL before the first
								 * append or after a failure */
	size_t		len;
	size_t		cap;
	const HnAllocator *alloc;
	bool		failed;
} HnBuf;

void		HnBufInit(HnBuf *buf, const HnAllocator *alloc);
void		HnBufFree(HnBuf *buf);

/* Make room for extra more bytes (and the NUL) at once. */
bool		HnBufReserve(HnBuf *buf, size_t extra);

void		HnBufAppend(HnBuf *buf, const char *s);
void		HnBufAppendN(HnBuf *buf, const char *s, size_t n);
void		HnBufAppendChar(HnBuf *buf, char c);
void		HnBufPrintf(HnBuf *buf, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/*
 * A JSON string literal: quotes, \" \\ \b \f \n \r \t, other bytes below
 * 0x20 as \u00xx, everything else as it is (PostgreSQL's escape_json).
 */
void		HnBufJsonString(HnBuf *buf, const char *s);

/*
 * A JSON number: the shortest text that reads back as the same double, as
 * PostgreSQL prints a float8 (extra_float_digits > 0, the default): fixed
 * notation for decimal exponents -4..14, else 1.5e+20; "-0" for negative
 * zero; null for NaN and infinities.
 */
void		HnBufJsonNumber(HnBuf *buf, double v);

/* n bytes as base64 (no quotes), the alphabet and padding of RFC 4648. */
void		HnBufBase64(HnBuf *buf, const void *data, size_t n);

/* HANAMI_OK, or HANAMI_E_NOMEM when an append failed. */
HnStatus	HnBufCheck(const HnBuf *buf, HnError *err);

/* The shortest round-trip text of a finite double, as HnBufJsonNumber
 * writes it, into dst (at least HN_DOUBLE_TEXT_LEN bytes); its length. */
#define HN_DOUBLE_TEXT_LEN 32
size_t		HnFormatDouble(double v, char *dst);

/* ------------------------------------------------------------ base64 */

/* Characters of the base64 of n bytes; bytes that len characters decode to
 * at most (the exact count is up to 2 less, for padding). */
size_t		HnBase64EncodedLen(size_t n);
size_t		HnBase64DecodedLen(size_t len);

/* Write the base64 of n bytes (HnBase64EncodedLen(n) characters, no NUL). */
void		HnBase64Encode(const void *src, size_t n, char *dst);

/*
 * Decode len characters into dst of dstlen bytes, as PostgreSQL's
 * pg_b64_decode: no whitespace, padding only where a group ends.  Returns
 * the bytes written, or -1 when the text is not base64 or does not fit.
 */
int64_t		HnBase64Decode(const char *src, size_t len, void *dst,
						   size_t dstlen);

/* ------------------------------------------------- networks (kind_json.c) */

/*
 * A network image from JSON text: a description ({"layers": [4, 8, 3]}) or
 * the whole text form of a value.  The root must be an object; "kind"
 * names the kind (absent: dense), whose from_json builds the image; the
 * image then goes through NetBind, the single validation path.  On success
 * *image (from alloc, free it with alloc) holds *image_len bytes.  in may
 * be NULL (no seed override).
 */
HnStatus	NetFromJson(const char *text, size_t len, const HnJsonIn *in,
						const HnAllocator *alloc, void **image,
						size_t *image_len, HnError *err);

/* The same from a parsed root. */
HnStatus	NetFromJsonValue(const HnJson *root, const HnJsonIn *in,
							 const HnAllocator *alloc, void **image,
							 size_t *image_len, HnError *err);

/*
 * For a kind's from_json: check that "format", when given, is the version
 * this build reads (HANAMI_E_UNSUPPORTED otherwise).
 */
HnStatus	NetJsonCheckFormat(const HnJson *root, HnError *err);

/*
 * For a kind's from_json: "trained" ({"epochs", "samples"}, both optional)
 * onto the header's counters; and a boolean member key of "setup" that
 * sets flag in the header when true (named "setup.<key>" in errors).
 */
struct HnHeader;
HnStatus	NetJsonReadTrained(const HnJson *trained, struct HnHeader *h,
							   HnError *err);
HnStatus	NetJsonReadFlag(const HnJson *setup, const char *key,
							uint32_t flag, struct HnHeader *h, HnError *err);

/* The text form of a bound network, and its info() summary (a JSON
 * object), appended to out. */
/*
 * A new image of net's architecture changed as spec describes, keeping what
 * it learned (the kind's reshape, kind.h), with a JSON object of the changes
 * appended to changes.  A kind without the operation: HANAMI_E_UNSUPPORTED
 * naming it.
 */
HnStatus	NetReshape(const HnNet *net, const HnJson *spec,
					   const HnAllocator *alloc, void **image, size_t *len,
					   HnBuf *changes, HnError *err);

/*
 * A new image of net with its weights in the format named dtype (the kind's
 * quantize, kind.h), validated.  A kind without the operation:
 * HANAMI_E_UNSUPPORTED naming it.
 */
HnStatus	NetQuantize(const HnNet *net, const char *dtype,
						const HnAllocator *alloc, void **image, size_t *len,
						HnError *err);

HnStatus	NetToJson(const HnNet *net, HnBuf *out, HnError *err);
HnStatus	NetInfo(const HnNet *net, HnBuf *out, HnError *err);

#endif							/* HANAMI_CORE_JSON_H */
