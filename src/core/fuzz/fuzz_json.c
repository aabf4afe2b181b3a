/*
 * fuzz_json.c - libFuzzer target for the JSON reader and NetFromJson.
 *
 * Every network that enters PostgreSQL as text (the type's text input,
 * hanami.network(spec)) is read by HnJsonParse and NetFromJson.  This target
 * feeds arbitrary bytes to both and checks:
 *
 *   - the reader either builds a tree whose strings hold no NUL and whose
 *     numbers convert, or fails with a malformed-JSON or nesting error and
 *     a message;
 *   - NetFromJson fails cleanly with one of the statuses a description may
 *     get (never an internal error), or returns an image that validates,
 *     whose text form reads back to the same bytes, and whose info() is
 *     JSON;
 *   - the shortest-number writer reads back exactly, and base64 decoding
 *     stays in its buffer.
 *
 * Allocations over 4 MB are refused (HANAMI_E_NOMEM, an allowed outcome),
 * so a description of a huge network costs no time.  A broken expectation
 * aborts with a message on stderr, which libFuzzer reports as a crash with
 * its reproducer.  Build and run: `make fuzz`.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/json.h"
#include "core/kind.h"
#include "core/options.h"

#define FUZZ_MAX_ALLOC ((size_t) 4 << 20)

static void
Fail(const char *fmt,...)
__attribute__((format(printf, 1, 2), noreturn));

static void
Fail(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "fuzz_json: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

static void *
CappedAlloc(void *ctx, size_t size)
{
	(void) ctx;
	return size > FUZZ_MAX_ALLOC ? NULL : malloc(size ? size : 1);
}

static void
CappedFree(void *ctx, void *p)
{
	(void) ctx;
	free(p);
}

static const HnAllocator capped = {CappedAlloc, CappedFree, NULL};

/* Every value of a parsed tree: strings without NUL, numbers that convert. */
static void
Walk(const HnJson *v, int depth)
{
	if (depth > HN_JSON_MAX_DEPTH)
		Fail("a tree deeper than %d levels", HN_JSON_MAX_DEPTH);
	switch (v->type)
	{
		case HN_JSON_STRING:
			if (strlen(v->u.text) != v->n)
				Fail("a string of %zu bytes holds a NUL", v->n);
			break;
		case HN_JSON_NUMBER:
			{
				char	   *end;

				if (v->n == 0 || strlen(v->u.text) != v->n)
					Fail("a number token of %zu bytes", v->n);
				(void) strtod(v->u.text, &end);
				if (*end != '\0')
					Fail("number \"%s\" does not convert", v->u.text);
				break;
			}
		case HN_JSON_ARRAY:
			for (size_t i = 0; i < v->n; i++)
				Walk(&v->u.items[i], depth + 1);
			break;
		case HN_JSON_OBJECT:
			for (size_t i = 0; i < v->n; i++)
			{
				const HnJsonMember *m = &v->u.members[i];

				if (strlen(m->key) != m->key_len)
					Fail("a key holds a NUL");
				if (HnJsonGet(v, m->key) == NULL)
					Fail("key \"%s\" is not found", m->key);
				Walk(&m->value, depth + 1);
			}
			break;
		case HN_JSON_BOOL:
		case HN_JSON_NULL:
			break;
		default:
			Fail("a value of type %d", (int) v->type);
	}
}

static void
CheckParse(const uint8_t *data, size_t size)
{
	HnJsonDoc	doc;
	HnError		err;
	HnStatus	st = HnJsonParse((const char *) data, size, &capped, &doc, &err);

	if (st == HANAMI_OK)
	{
		Walk(doc.root, 0);
		HnJsonFree(&doc);
		return;
	}
	if (st != HANAMI_E_MALFORMED_SPEC && st != HANAMI_E_TOO_LARGE &&
		st != HANAMI_E_NOMEM)
		Fail("the reader fails with status %d: %s", st, err.message);
	if (err.message[0] == '\0')
		Fail("the reader fails without a message");
}

/*
 * An accepted network: it validates, its text form reads back to the same
 * bytes, and its info() is JSON.  Out of memory (the cap) may stop it.
 */
static void
CheckAccepted(void *image, size_t len)
{
	HnNet		net;
	HnBuf		text;
	HnBuf		info;
	HnError		err;
	HnStatus	st;
	void	   *again = NULL;
	size_t		again_len;
	HnJsonDoc	doc;

	if (NetBind(&net, image, len, &err) != HANAMI_OK)
		Fail("an accepted description gives an invalid image: %s", err.message);

	HnBufInit(&text, &capped);
	st = NetToJson(&net, &text, &err);
	if (st != HANAMI_OK && st != HANAMI_E_NOMEM)
		Fail("no text form of an accepted network: %s", err.message);
	if (st == HANAMI_OK)
	{
		st = NetFromJson(text.data, text.len, NULL, &capped, &again,
						 &again_len, &err);
		if (st != HANAMI_OK && st != HANAMI_E_NOMEM)
			Fail("the text form of an accepted network is rejected: %s (%s)",
				 err.message, err.detail);
		if (st == HANAMI_OK &&
			(again_len != len || memcmp(again, image, len) != 0))
			Fail("the text form's round trip changes the image");
		free(again);
	}
	HnBufFree(&text);

	HnBufInit(&info, &capped);
	if (NetInfo(&net, &info, &err) != HANAMI_OK)
		Fail("no info() of an accepted network: %s", err.message);
	if (HnJsonParse(info.data, info.len, &capped, &doc, &err) != HANAMI_OK)
		Fail("info() is not JSON: %s (%s)", err.message, err.detail);
	if (doc.root->type != HN_JSON_OBJECT || HnJsonGet(doc.root, "kind") == NULL)
		Fail("info() has no kind");
	HnJsonFree(&doc);
	HnBufFree(&info);
}

static void
CheckNetwork(const uint8_t *data, size_t size)
{
	void	   *image;
	size_t		len;
	HnError		err;
	HnStatus	st = NetFromJson((const char *) data, size, NULL, &capped,
								 &image, &len, &err);

	if (st != HANAMI_OK)
	{
		if (st != HANAMI_E_INVALID_SPEC && st != HANAMI_E_MALFORMED_SPEC &&
			st != HANAMI_E_TOO_LARGE && st != HANAMI_E_UNSUPPORTED &&
			st != HANAMI_E_INVALID_FORMAT && st != HANAMI_E_NOMEM)
			Fail("a description fails with status %d: %s", st, err.message);
		if (err.message[0] == '\0')
			Fail("a description fails without a message");
		if (image != NULL)
			Fail("a failed description leaves an image");
		return;
	}
	CheckAccepted(image, len);
	free(image);
}

/* The first 8 bytes as a double: its shortest text reads back exactly. */
static void
CheckNumber(const uint8_t *data, size_t size)
{
	double		v;
	char		text[HN_DOUBLE_TEXT_LEN];
	size_t		n;

	if (size < sizeof(v))
		return;
	memcpy(&v, data, sizeof(v));
	if (isnan(v) || isinf(v))
		return;
	n = HnFormatDouble(v, text);
	if (n != strlen(text) || n >= HN_DOUBLE_TEXT_LEN)
		Fail("%.17g printed in %zu bytes", v, n);
	if (strtod(text, NULL) != v || signbit(strtod(text, NULL)) != signbit(v))
		Fail("%.17g printed as %s", v, text);
}

/* Decoding stays in its buffer; with padding only at the end, what decodes
 * encodes back to as many characters (the same ones without padding). */
static void
CheckBase64(const uint8_t *data, size_t size)
{
	size_t		room = HnBase64DecodedLen(size);
	unsigned char *dec = malloc(room ? room : 1);
	int64_t		got = HnBase64Decode((const char *) data, size, dec, room);
	const uint8_t *pad = memchr(data, '=', size);

	if (got > (int64_t) room)
		Fail("decoded %lld bytes into %zu", (long long) got, room);
	if (got >= 0 && (pad == NULL || pad >= data + size - 2))
	{
		char	   *enc = malloc(HnBase64EncodedLen((size_t) got) + 1);

		HnBase64Encode(dec, (size_t) got, enc);
		if (HnBase64EncodedLen((size_t) got) != size ||
			(pad == NULL && memcmp(enc, data, size) != 0))
			Fail("base64 of %lld bytes does not encode back", (long long) got);
		free(enc);
	}
	free(dec);
}


/*
 * The text as the options of fit() and verify() of a dense and a hanami
 * network: read, or refused with a message; nothing leaks.  Options read
 * have epochs >= 0, batches of at least 1 row, a patience >= 0 and a finite
 * min_delta >= 0, and no early stopping for the growing network.
 */
static void
CheckOptions(const uint8_t *data, size_t size)
{
	static const char *const specs[] = {
		"{\"layers\": [3, {\"count\": 4, \"name\": \"hidden\"}, 2]}",
		"{\"kind\": \"hanami\", \"layers\": [3, 4, 2]}"
	};
	HnJsonDoc	doc;
	HnError		err;

	if (HnJsonParse((const char *) data, size, &capped, &doc, &err) != HANAMI_OK)
		return;
	for (int k = 0; k < 2; k++)
	{
		HnJsonIn	in = {true, 1};
		void	   *image = NULL;
		size_t		len = 0;
		HnNet		net;

		if (NetFromJson(specs[k], strlen(specs[k]), &in, &HnMallocAllocator,
						&image, &len, &err) != HANAMI_OK)
			Fail("the fixed network %d is refused: %s", k, err.message);
		NetBindTrusted(&net, image);
		for (int training = 0; training < 2; training++)
		{
			HnFitOptions o;
			HnStatus	st = HnFitOptionsRead(&net, doc.root, training, &capped,
											  &o, &err);

			if (st != HANAMI_OK && err.message[0] == '\0')
				Fail("options refused without a message");
			if (st == HANAMI_OK && training &&
				(o.train.epochs < 0 || o.train.batch_size < 1))
				Fail("options read to %d epochs, batches of %d",
					 o.train.epochs, o.train.batch_size);
			if (st == HANAMI_OK && training &&
				(o.train.patience < 0 || !(o.train.min_delta >= 0) ||
				 !isfinite(o.train.min_delta) ||
				 (o.train.patience > 0 && k == 1)))
				Fail("options read to early stopping after %d epochs, min_delta %g",
					 o.train.patience, o.train.min_delta);
			CappedFree(NULL, o.target);
			CappedFree(NULL, o.device);
			if (st == HANAMI_OK && o.only_if_better != NULL &&
				o.only_if_better[strspn(o.only_if_better, " \t\r\n")] == '\0')
				Fail("an empty only_if_better query is accepted");
			CappedFree(NULL, o.only_if_better);
			if (st == HANAMI_OK && o.validation_query != NULL &&
				o.validation_query[strspn(o.validation_query, " \t\r\n")] == '\0')
				Fail("an empty validation_query is accepted");
			CappedFree(NULL, o.validation_query);
			CappedFree(NULL, (void *) o.train.kind_options);
		}
		free(image);
	}
	HnJsonFree(&doc);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CheckParse(data, size);
	CheckNetwork(data, size);
	CheckNumber(data, size);
	CheckBase64(data, size);
	CheckOptions(data, size);
	return 0;
}
