/*
 * store_blocks.c - cutting a network image into the blocks the store keeps.
 *
 * A stored network is the concatenation of its blocks.  Blocks follow the
 * image's own segments (for a dense network: the header with layer records
 * and scaling, then each layer's parameters), each cut into pieces of at
 * most HANAMI_BLOCK_BYTES, so a layer that did not change between two
 * commits yields the same blocks and is stored once.
 */
#include "glue.h"
#include "core/hanami/hanami.h"

#include "funcapi.h"
#include "utils/builtins.h"

#define HANAMI_BLOCK_BYTES 32768

PG_FUNCTION_INFO_V1(hanami_network_blocks);

/* Emit the pieces of one segment [off, off + len) labelled name. */
static void
EmitSegment(ReturnSetInfo *rsinfo, const char *image, size_t off, size_t len,
			const char *name, int32 *seq)
{
	for (size_t done = 0; done < len; done += HANAMI_BLOCK_BYTES)
	{
		size_t		n = Min((size_t) HANAMI_BLOCK_BYTES, len - done);
		bytea	   *b = palloc(n + VARHDRSZ);
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		SET_VARSIZE(b, n + VARHDRSZ);
		memcpy(VARDATA(b), image + off + done, n);
		values[0] = Int32GetDatum((*seq)++);
		values[1] = CStringGetTextDatum(name);
		values[2] = PointerGetDatum(b);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pfree(b);
	}
}

/*
 * network_blocks(net) -> setof (seq int, segment text, data bytea): the
 * blocks of net in order; concatenated they give back the binary image.
 */
Datum
hanami_network_blocks(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DenseNet		net;
	HanamiNetwork *v;
	const char *image;
	size_t		len;
	int32		seq = 0;

	InitMaterializedSRF(fcinfo, 0);
	v = HanamiGetNetworkArg(fcinfo, 0, &net);
	image = (const char *) HANAMI_NET_IMAGE(v);
	len = HANAMI_NET_IMAGE_LEN(v);

	if (net.hdr->kind == HANAMI_KIND_DENSE)
	{
		size_t		params = (const char *) net.params - image;

		EmitSegment(rsinfo, image, 0, params, "header", &seq);
		for (uint32 l = 1; l < net.hdr->n_layers; l++)
		{
			size_t		start = (const char *) DenseWeights(&net, l) - image;
			size_t		end = l + 1 < net.hdr->n_layers ?
				(size_t) ((const char *) DenseWeights(&net, l + 1) - image) : len;
			char		name[HANAMI_NAME_LEN + 16];

			if (net.layers[l].name[0])
				snprintf(name, sizeof(name), "layer %u (%s)", l, net.layers[l].name);
			else
				snprintf(name, sizeof(name), "layer %u", l);
			EmitSegment(rsinfo, image, start, end - start, name, &seq);
		}
	}
	else if (net.hdr->kind == HANAMI_KIND_HANAMI)
	{
		/* headers, cells and neurons; then the synapse blocks, which only
		 * ever grow at the end */
		HkNet	grow;
		size_t		blocks;

		HkBindTrusted(&grow, (void *) image);
		blocks = (const char *) grow.blocks - image;
		EmitSegment(rsinfo, image, 0, blocks, "header", &seq);
		EmitSegment(rsinfo, image, blocks, len - blocks, "sections", &seq);
	}
	else
		EmitSegment(rsinfo, image, 0, len, "data", &seq);
	PG_RETURN_NULL();
}
