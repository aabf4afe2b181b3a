/*
 * store_blocks.c - cutting a network image into the blocks the store keeps.
 *
 * A stored network is the concatenation of its blocks.  Blocks follow the
 * image's own segments (the kind's: for a dense network the header with
 * layer records and scaling, then each layer's parameters), each cut into
 * pieces of at
 * most HANAMI_BLOCK_BYTES, so a layer that did not change between two
 * commits yields the same blocks and is stored once.
 */
#include "postgres.h"

#include "network.h"

#include "funcapi.h"
#include "utils/builtins.h"

#define HANAMI_BLOCK_BYTES 32768

PG_FUNCTION_INFO_V1(hanami_network_blocks);

/* Where the pieces of the segments go. */
typedef struct BlockSink
{
	ReturnSetInfo *rsinfo;
	const char *image;
	int32		seq;
} BlockSink;

/* Emit the pieces of one segment [off, off + len) labelled name. */
static void
EmitSegment(void *ctx, size_t off, size_t len, const char *name)
{
	BlockSink  *sink = ctx;

	for (size_t done = 0; done < len; done += HANAMI_BLOCK_BYTES)
	{
		size_t		n = Min((size_t) HANAMI_BLOCK_BYTES, len - done);
		bytea	   *b = palloc(n + VARHDRSZ);
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		SET_VARSIZE(b, n + VARHDRSZ);
		memcpy(VARDATA(b), sink->image + off + done, n);
		values[0] = Int32GetDatum(sink->seq++);
		values[1] = CStringGetTextDatum(name);
		values[2] = PointerGetDatum(b);
		tuplestore_putvalues(sink->rsinfo->setResult, sink->rsinfo->setDesc,
							 values, nulls);
		pfree(b);
	}
}

/*
 * network_blocks(net) -> setof (seq int, segment text, data bytea): the
 * blocks of net in order; concatenated they give back the binary image.
 * The segments are the kind's (kind.h segments).
 */
Datum
hanami_network_blocks(PG_FUNCTION_ARGS)
{
	BlockSink	sink;
	HnNet		net;

	InitMaterializedSRF(fcinfo, 0);
	HanamiGetNetworkArg(fcinfo, 0, &net);
	sink.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	sink.image = (const char *) net.hdr;
	sink.seq = 0;
	net.kind->segments(&net, EmitSegment, &sink);
	PG_RETURN_NULL();
}
