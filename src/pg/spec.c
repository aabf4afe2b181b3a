/*
 * spec.c - the PostgreSQL side of a network's JSON description: JSON text
 * (the type's text input, or a jsonb spec) into the engine's reader, and
 * the text form and info() summary out of the kind's writers.  Reading and
 * writing live in the engine (core/json.h, one reader and writer per kind);
 * this file only moves text in and out and turns errors into ereports.
 */
#include "postgres.h"

#include "errors.h"
#include "network.h"
#include "jsonutil.h"

#include "core/json.h"

/*
 * A network from JSON text: a description or a whole text form.
 * has_seed/seed override the description's seed.  sqlstate is the code of
 * a malformed value (ERRCODE_INVALID_TEXT_REPRESENTATION for type input).
 */
HanamiNetwork *
HanamiNetworkFromText(const char *text, size_t len, bool has_seed,
					  uint32 seed, int sqlstate)
{
	HnAllocator alloc = HanamiPallocAllocator(CurrentMemoryContext);
	HnJsonIn	in = {has_seed, seed};
	HnJsonDoc	doc;
	HnError		err;
	void	   *image;
	size_t		image_len;
	HanamiNetwork *result;

	if (HnJsonParse(text, len, &alloc, &doc, &err) != HANAMI_OK)
	{
		/*
		 * Malformed JSON: the server's own parser words it as for any json
		 * value (and places it in the text); ours speaks where it accepts.
		 */
		if (err.code == HANAMI_E_MALFORMED_SPEC)
			(void) HanamiJsonbFromCString(pnstrdup(text, len));
		HanamiReportError(&err, sqlstate);
	}
	if (NetFromJsonValue(doc.root, &in, &alloc, &image, &image_len,
						 &err) != HANAMI_OK)
		HanamiReportError(&err, sqlstate);
	HnJsonFree(&doc);
	result = HanamiNetworkFromImage(image, image_len);
	pfree(image);
	return result;
}

/* The same from a jsonb spec (hanami.network(spec, seed)). */
HanamiNetwork *
HanamiNetworkFromJsonb(Jsonb *jb, bool has_seed, uint32 seed, int sqlstate)
{
	char	   *text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));

	return HanamiNetworkFromText(text, strlen(text), has_seed, seed, sqlstate);
}

/* The text form of a bound network (exact: floats travel as base64). */
char *
HanamiNetText(const HnNet *net)
{
	HnAllocator alloc = HanamiPallocAllocator(CurrentMemoryContext);
	HnBuf		buf;
	HnError		err;

	HnBufInit(&buf, &alloc);
	if (NetToJson(net, &buf, &err) != HANAMI_OK)
		HanamiReportError(&err, 0);
	return buf.data;
}

/* The info() summary of a bound network as jsonb. */
Jsonb *
HanamiNetInfo(const HnNet *net)
{
	HnAllocator alloc = HanamiPallocAllocator(CurrentMemoryContext);
	HnBuf		buf;
	HnError		err;
	Jsonb	   *result;

	HnBufInit(&buf, &alloc);
	if (NetInfo(net, &buf, &err) != HANAMI_OK)
		HanamiReportError(&err, 0);
	result = HanamiJsonbFromCString(buf.data);
	HnBufFree(&buf);
	return result;
}
