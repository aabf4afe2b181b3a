/*
 * blob.h - cursors for the engine's own binary blobs (checkpoint.h,
 * online.h): little-endian fields without padding, written in two passes
 * (a cursor without a buffer only counts bytes) and read back from
 * untrusted bytes, where a read past the end marks the cursor bad and
 * yields zeros, so a reader checks once at the end.
 */
#ifndef HANAMI_CORE_BLOB_H
#define HANAMI_CORE_BLOB_H

#include <string.h>

#include "core/common.h"

/* Writing: p NULL only counts. */
typedef struct HnBlobOut
{
	unsigned char *p;
	size_t		at;
} HnBlobOut;

static inline void
BlobPut(HnBlobOut *o, const void *v, size_t n)
{
	if (o->p != NULL && n > 0)
		memcpy(o->p + o->at, v, n);
	o->at += n;
}

static inline void
BlobPutU32(HnBlobOut *o, uint32_t v)
{
	BlobPut(o, &v, 4);
}

static inline void
BlobPutU64(HnBlobOut *o, uint64_t v)
{
	BlobPut(o, &v, 8);
}

static inline void
BlobPutF64(HnBlobOut *o, double v)
{
	BlobPut(o, &v, 8);
}

/* A byte string with its length. */
static inline void
BlobPutBytes(HnBlobOut *o, const void *v, uint64_t n)
{
	BlobPutU64(o, n);
	BlobPut(o, v, (size_t) n);
}

/* Reading an untrusted blob of len bytes. */
typedef struct HnBlobIn
{
	const unsigned char *p;
	size_t		len;
	size_t		at;
	bool		bad;
} HnBlobIn;

static inline void
BlobGet(HnBlobIn *in, void *v, size_t n)
{
	if (in->bad || n > in->len - in->at)
	{
		in->bad = true;
		memset(v, 0, n);
		return;
	}
	memcpy(v, in->p + in->at, n);
	in->at += n;
}

static inline uint32_t
BlobGetU32(HnBlobIn *in)
{
	uint32_t	v;

	BlobGet(in, &v, 4);
	return v;
}

static inline uint64_t
BlobGetU64(HnBlobIn *in)
{
	uint64_t	v;

	BlobGet(in, &v, 8);
	return v;
}

static inline double
BlobGetF64(HnBlobIn *in)
{
	double		v;

	BlobGet(in, &v, 8);
	return v;
}

/* A byte string: its length, checked against what is left, and where. */
static inline const void *
BlobGetBytes(HnBlobIn *in, uint64_t *n)
{
	const void *at;

	*n = BlobGetU64(in);
	if (in->bad || *n > in->len - in->at)
	{
		in->bad = true;
		*n = 0;
		return NULL;
	}
	at = in->p + in->at;
	in->at += (size_t) *n;
	return *n > 0 ? at : NULL;
}

/*
 * A blob's frame: its total length as a u64 at byte 16 (after an 8-byte
 * magic and two u32) and, in its last 8 bytes, a u64 hash (HnHash64) of
 * every byte before them.  HnBlobSeal writes both into a blob of len bytes;
 * HnBlobUnsealed says what is wrong with an untrusted one (NULL: nothing)
 * and, when it is whole, narrows in->len to the fields.
 */
void		HnBlobSeal(void *dst, size_t len);
const char *HnBlobUnsealed(HnBlobIn *in);

#endif							/* HANAMI_CORE_BLOB_H */
