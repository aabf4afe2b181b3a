/*
 * run_named.c - inputs and outputs by the names of a network's ports
 * (core/ports.h), for hanami.run_named() (run.c) and
 * hanami.predict_named() (store_cache.c): a jsonb object of arrays in, the
 * input row; the outputs, a jsonb object of arrays out.
 */
#include "postgres.h"

#include <math.h>

#include "errors.h"
#include "jsonutil.h"
#include "run.h"

#include "common/shortest_dec.h"
#include "core/json.h"
#include "core/ports.h"
#include "lib/stringinfo.h"

/*
 * The input row of net (n_inputs floats, palloc'd) from inputs, an object
 * giving every input port an array of its values (HnPortsGather).
 */
float *
HanamiNamedInputs(const HnNet *net, Jsonb *inputs)
{
	HnAllocator alloc = HanamiPallocAllocator(CurrentMemoryContext);
	float	   *x = palloc0(sizeof(float) * Max(net->hdr->n_inputs, 1));
	char	   *text = JsonbToCString(NULL, &inputs->root, VARSIZE(inputs));
	HnJsonDoc	doc = {0};
	HnError		err;
	HnStatus	st;

	st = HnJsonParse(text, strlen(text), &alloc, &doc, &err);
	if (st == HANAMI_OK)
		st = HnPortsGather(net, doc.root, x, &err);
	HnJsonFree(&doc);
	pfree(text);
	if (st != HANAMI_OK)
		HanamiReportError(&err, ERRCODE_INVALID_PARAMETER_VALUE);
	return x;
}

/*
 * The outputs of net (n_outputs floats) as an object of its output ports,
 * each an array of its values written as real[] prints them, so that each
 * reads back as the same real.
 */
Jsonb *
HanamiNamedOutputs(const HnNet *net, const float *out)
{
	HnPort		ports[HANAMI_MAX_PORTS];
	int			n = HnPorts(net, true, ports, HANAMI_MAX_PORTS);
	StringInfoData buf;
	char		num[FLOAT_SHORTEST_DECIMAL_LEN];

	if (n > HANAMI_MAX_PORTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the network has more than %d output layers",
						HANAMI_MAX_PORTS)));
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int p = 0; p < n; p++)
	{
		appendStringInfoString(&buf, p ? ", " : "");
		HanamiAppendJsonString(&buf, ports[p].name);
		appendStringInfoString(&buf, ": [");
		for (uint32 j = 0; j < ports[p].count; j++)
		{
			float_to_shortest_decimal_buf(out[ports[p].offset + j], num);
			appendStringInfo(&buf, "%s%s", j ? ", " : "", num);
		}
		appendStringInfoChar(&buf, ']');
	}
	appendStringInfoChar(&buf, '}');
	return HanamiJsonbFromCString(buf.data);
}
