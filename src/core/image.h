/*
 * image.h - what every network image starts with, whatever its kind.
 *
 * A network is one contiguous, little-endian image: the same bytes are the
 * payload of the hanami.network varlena (after its 4-byte length word), what
 * the store cuts into blocks and what a device uploads.  It starts with an
 * HnHeader; `kind` says which kind's layout follows (kind.h finds the kind,
 * the kind's own header describes the rest: dense/format.h, hanami/hanami.h).
 */
#ifndef HANAMI_CORE_IMAGE_H
#define HANAMI_CORE_IMAGE_H

#include "core/common.h"

#define HANAMI_MAGIC			0x494D4E48u	/* "HNMI" little-endian */
#define HANAMI_FORMAT_VERSION	1
/*
 * The newest format version any kind reads: a kind writes version 1 unless
 * its image needs a later one (dense: 2 for weights of another dtype than
 * float32, dense/dtype.h), and says the newest it reads (HnKind).
 */
#define HANAMI_FORMAT_VERSION_MAX	2

/* Network kinds (stored: never renumber); each is registered in kind.c. */
typedef enum HnKindId
{
	HANAMI_KIND_DENSE = 1,		/* layers of units: dense/ */
	HANAMI_KIND_HANAMI = 2,		/* the growing network: hanami/ */
	HANAMI_KIND_GRAPH = 3		/* named layers joined by edges: graph/ */
} HnKindId;

/*
 * The image sits right after a 4-byte varlena length word, so it is only
 * 4-byte aligned: pack the records to 4 so 64-bit fields are read legally.
 * The layout is the same as with natural alignment.
 */
#pragma pack(push, 4)

typedef struct HnHeader
{
	uint32_t	magic;			/* HANAMI_MAGIC */
	uint16_t	version;		/* HANAMI_FORMAT_VERSION */
	uint16_t	kind;			/* HnKindId */
	uint32_t	header_size;	/* sizeof(HnHeader) */
	uint32_t	flags;			/* the kind's flags (dense: HANAMI_FLAG_*) */
	uint64_t	total_size;		/* bytes of the whole image */
	uint32_t	n_layers;		/* dense: layers incl. input; hanami: cells */
	uint32_t	loss;			/* HnLoss */
	uint32_t	n_inputs;		/* values a row gives */
	uint32_t	n_outputs;		/* values a prediction has */
	uint64_t	n_params;		/* trainable parameters */
	uint32_t	seed;			/* seed of the initial weights */
	uint32_t	epochs;			/* epochs trained so far */
	uint64_t	samples;		/* samples trained on so far */
	uint32_t	reserved[2];	/* zero; dense format version 2: reserved[0]
								 * is the weight dtype (dense/dtype.h) */
} HnHeader;

#pragma pack(pop)

#endif							/* HANAMI_CORE_IMAGE_H */
