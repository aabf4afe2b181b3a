/*
 * quantize.c - quantize(net, dtype): a network with its weights stored in a
 * compact format (the kind's quantize operation, core/kind.h; dense:
 * core/dense/dtype.h).
 */
#include "postgres.h"

#include "errors.h"
#include "network.h"

#include "utils/builtins.h"

#include "core/json.h"

PG_FUNCTION_INFO_V1(hanami_quantize);

/* quantize(net, dtype text) -> network; IMMUTABLE STRICT. */
Datum
hanami_quantize(PG_FUNCTION_ARGS)
{
	HnAllocator alloc = HanamiPallocAllocator(CurrentMemoryContext);
	HnNet		net;
	HnError		err;
	char	   *dtype;
	void	   *image;
	size_t		len;
	HanamiNetwork *v;

	HanamiGetNetworkArg(fcinfo, 0, &net);
	dtype = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (NetQuantize(&net, dtype, &alloc, &image, &len, &err) != HANAMI_OK)
		HanamiReportError(&err, ERRCODE_INVALID_PARAMETER_VALUE);
	v = HanamiNetworkFromImage(image, len);
	pfree(image);
	PG_RETURN_POINTER(v);
}
