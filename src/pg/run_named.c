/*
 * run_named.c - hanami.run_named(net, inputs jsonb) -> jsonb: one row of
 * inference with the values of each input layer given by its name and
 * the outputs returned by output layer name (core/run_named.h).
 */
#include "postgres.h"

#include "errors.h"
#include "jsonutil.h"
#include "network.h"

#include "core/json.h"
#include "core/run_named.h"
#include "utils/jsonb.h"

PG_FUNCTION_INFO_V1(hanami_run_named);

Datum
hanami_run_named(PG_FUNCTION_ARGS)
{
	HnNet		net;
	Jsonb	   *inputs;
	HnAllocator alloc = HanamiPallocAllocator(CurrentMemoryContext);
	HnJsonDoc	doc;
	HnBuf		out;
	HnError		err;
	char	   *text;
	Jsonb	   *result;

	HanamiGetNetworkArg(fcinfo, 0, &net);
	inputs = PG_GETARG_JSONB_P(1);
	text = JsonbToCString(NULL, &inputs->root, VARSIZE(inputs));
	if (HnJsonParse(text, strlen(text), &alloc, &doc, &err) != HANAMI_OK)
		HanamiReportError(&err, ERRCODE_INVALID_PARAMETER_VALUE);
	HnBufInit(&out, &alloc);
	if (NetRunNamed(&net, doc.root, &alloc, &out, &err) != HANAMI_OK)
		HanamiReportError(&err, ERRCODE_INVALID_PARAMETER_VALUE);
	result = HanamiJsonbFromCString(out.data);
	HnBufFree(&out);
	HnJsonFree(&doc);
	PG_RETURN_JSONB_P(result);
}
