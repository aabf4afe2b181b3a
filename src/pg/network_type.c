/*
 * network_type.c - the hanami.network type: text and binary I/O, casts to
 * and from bytea, and fetching a validated network from a function argument.
 *
 * Every way a value enters (text, binary receive, bytea cast) ends in
 * NetBind, the engine's single validation path (core/kind.h).
 */
#include "postgres.h"

#include "errors.h"
#include "network.h"
#include "jsonutil.h"

#include "libpq/pqformat.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(network_in);
PG_FUNCTION_INFO_V1(network_out);
PG_FUNCTION_INFO_V1(network_recv);
PG_FUNCTION_INFO_V1(network_send);
PG_FUNCTION_INFO_V1(network_to_bytea);
PG_FUNCTION_INFO_V1(network_from_bytea);

/* Validate v and bind net to it; errcode for malformed images. */
void
HanamiNetworkBind(HanamiNetwork *v, HnNet *net, int errcode)
{
	HnError		err;

	if (NetBind(net, HANAMI_NET_IMAGE(v), HANAMI_NET_IMAGE_LEN(v), &err) != HANAMI_OK)
		HanamiReportError(&err, errcode);
}

/* A new varlena holding a copy of an image (not validated). */
HanamiNetwork *
HanamiNetworkFromImage(const void *image, size_t len)
{
	HanamiNetwork *v;

	if (len > HANAMI_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("network value is too large"),
				 errdetail("It has %zu bytes; the limit is %zu.",
						   len, (size_t) HANAMI_MAX_BYTES)));
	v = palloc(len + VARHDRSZ);
	SET_VARSIZE(v, len + VARHDRSZ);
	memcpy(HANAMI_NET_IMAGE(v), image, len);
	return v;
}

/* A writable copy of a (detoasted) network. */
HanamiNetwork *
HanamiNetworkCopy(HanamiNetwork *src)
{
	return HanamiNetworkFromImage(HANAMI_NET_IMAGE(src), HANAMI_NET_IMAGE_LEN(src));
}

/*
 * Detoast argument argno, validate it and bind net.  Stored values were
 * validated when they entered, but the bytes on disk are not trusted: the
 * check is linear in the size and cheap next to any use of the weights.
 */
HanamiNetwork *
HanamiGetNetworkArg(FunctionCallInfo fcinfo, int argno, HnNet *net)
{
	HanamiNetwork *v = (HanamiNetwork *) PG_DETOAST_DATUM(PG_GETARG_DATUM(argno));

	HanamiNetworkBind(v, net, ERRCODE_DATA_CORRUPTED);
	return v;
}

/*
 * The kind's inference scratch for batches of up to max_batch rows, from
 * alloc; an error when there is no memory for it.
 */
void *
HanamiWorkCreate(const HnNet *net, int max_batch, const HnAllocator *alloc)
{
	HnError		err;
	void	   *work = net->kind->work_create(net, max_batch, alloc, &err);

	if (work == NULL)
		HanamiReportError(&err, 0);
	return work;
}

/*
 * A palloc'd copy of the state net carries from row to row (kind.h), or
 * NULL when it carries none.
 */
void *
HanamiStateSave(const HnNet *net)
{
	size_t		n = net->kind->state_size(net);
	void	   *state;

	if (n == 0)
		return NULL;
	state = palloc_extended(n, MCXT_ALLOC_HUGE);
	net->kind->state_save(net, state);
	return state;
}

/* Text input: the JSON text form (or a bare spec). */
Datum
network_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	Jsonb	   *jb = HanamiJsonbFromCString(str);

	PG_RETURN_POINTER(HanamiNetworkFromJsonb(jb, false, 0,
											 ERRCODE_INVALID_TEXT_REPRESENTATION));
}

/* Text output: the JSON text form with base64 weights. */
Datum
network_out(PG_FUNCTION_ARGS)
{
	HnNet		net;

	HanamiGetNetworkArg(fcinfo, 0, &net);
	PG_RETURN_CSTRING(HanamiNetText(&net));
}

/* Binary input: the raw image, validated like every other entry. */
Datum
network_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len = buf->len - buf->cursor;
	HanamiNetwork *v;
	HnNet		net;

	v = HanamiNetworkFromImage(pq_getmsgbytes(buf, len), len);
	HanamiNetworkBind(v, &net, ERRCODE_INVALID_BINARY_REPRESENTATION);
	PG_RETURN_POINTER(v);
}

/* Binary output: the raw image (little-endian). */
Datum
network_send(PG_FUNCTION_ARGS)
{
	HanamiNetwork *v;
	HnNet		net;
	StringInfoData buf;

	v = HanamiGetNetworkArg(fcinfo, 0, &net);
	pq_begintypsend(&buf);
	pq_sendbytes(&buf, HANAMI_NET_IMAGE(v), HANAMI_NET_IMAGE_LEN(v));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Cast network -> bytea: the binary image. */
Datum
network_to_bytea(PG_FUNCTION_ARGS)
{
	HanamiNetwork *v;
	HnNet		net;

	v = HanamiGetNetworkArg(fcinfo, 0, &net);
	PG_RETURN_BYTEA_P(HanamiNetworkCopy(v));
}

/* Cast bytea -> network, validated like binary input. */
Datum
network_from_bytea(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	HanamiNetwork *v;
	HnNet		net;

	v = HanamiNetworkFromImage(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	HanamiNetworkBind(v, &net, ERRCODE_INVALID_BINARY_REPRESENTATION);
	PG_RETURN_POINTER(v);
}
