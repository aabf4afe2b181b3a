/*
 * reshape.c - reshape_report(net, spec): a network's architecture changed
 * as a jsonb description says, keeping what it learned (the kind's reshape
 * operation, core/kind.h), with what changed.  hanami.reshape() commits it
 * on a model's branch (sql/parts/62_models.sql).
 */
#include "postgres.h"

#include "errors.h"
#include "jsonutil.h"
#include "network.h"

#include "access/htup_details.h"
#include "funcapi.h"

#include "core/json.h"

PG_FUNCTION_INFO_V1(hanami_reshape_report);

/*
 * reshape_report(net, spec jsonb) -> (net, changes jsonb): the reshaped
 * network and a JSON object of the changes (layers kept, widened, narrowed,
 * added, removed; whether the function was kept; the seed of new weights).
 */
Datum
hanami_reshape_report(PG_FUNCTION_ARGS)
{
	HnAllocator alloc = HanamiPallocAllocator(CurrentMemoryContext);
	HnNet		net;
	HnJsonDoc	doc;
	HnBuf		changes;
	HnError		err;
	Jsonb	   *spec;
	char	   *text;
	void	   *image;
	size_t		len;
	TupleDesc	td;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("network must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("reshape description must not be null")));
	HanamiGetNetworkArg(fcinfo, 0, &net);
	spec = PG_GETARG_JSONB_P(1);
	text = JsonbToCString(NULL, &spec->root, VARSIZE(spec));
	if (HnJsonParse(text, strlen(text), &alloc, &doc, &err) != HANAMI_OK)
		HanamiReportError(&err, ERRCODE_INVALID_PARAMETER_VALUE);
	HnBufInit(&changes, &alloc);
	if (NetReshape(&net, doc.root, &alloc, &image, &len, &changes,
				   &err) != HANAMI_OK)
		HanamiReportError(&err, ERRCODE_INVALID_PARAMETER_VALUE);
	HnJsonFree(&doc);
	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "reshape_report must return a composite type");
	values[0] = PointerGetDatum(HanamiNetworkFromImage(image, len));
	values[1] = JsonbPGetDatum(HanamiJsonbFromCString(changes.data));
	pfree(image);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(td),
													  values, nulls)));
}
