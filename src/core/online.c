/*
 * online.c - an online learner's state between commits as a blob (see
 * online.h): writing it, and reading an untrusted one back.
 */
#include "core/online.h"

#include <math.h>
#include <string.h>

#include "core/blob.h"

static const char OnlineMagic[8] = {'H', 'N', 'O', 'N', 'L', 'N', '\r', '\n'};

static void
PutStats(HnBlobOut *o, const HnColumnStats *st)
{
	uint32_t	n = st->count > 0 ? st->n : 0;

	BlobPutU32(o, n);
	BlobPutU64(o, (uint64_t) (n > 0 ? st->count : 0));
	for (uint32_t j = 0; j < n; j++)
		BlobPutF64(o, st->mean[j]);
	for (uint32_t j = 0; j < n; j++)
		BlobPutF64(o, st->m2[j]);
}

static void
OnlineFields(HnBlobOut *o, const HnOnlineState *s)
{
	BlobPut(o, OnlineMagic, sizeof(OnlineMagic));
	BlobPutU32(o, HN_ONLINE_VERSION);
	BlobPutU32(o, 0);
	BlobPutU64(o, 0);			/* total length, set by the writer */
	BlobPutU64(o, s->commit);
	BlobPutU64(o, s->options_hash);
	PutStats(o, &s->in);
	PutStats(o, &s->out);
	BlobPutBytes(o, s->stepper, s->stepper ? s->stepper_len : 0);
}

size_t
HnOnlineSize(const HnOnlineState *s)
{
	HnBlobOut	o = {NULL, 0};

	OnlineFields(&o, s);
	return o.at + 8;
}

void
HnOnlineWrite(const HnOnlineState *s, void *dst, size_t len)
{
	HnBlobOut	o = {dst, 0};

	OnlineFields(&o, s);
	HnBlobSeal(dst, len);
}

static HnStatus
OnlineCorrupt(HnError *err, const char *why)
{
	return HnSetError(err, HANAMI_E_INVALID_FORMAT,
					  "The online learner's state is damaged or was not written by this version.",
					  "invalid online learning state: %s", why);
}

/* One statistics block; false when it is not valid. */
static bool
GetStats(HnBlobIn *in, HnColumnStats *st, const HnAllocator *alloc,
		 HnError *err, HnStatus *status)
{
	uint32_t	n = BlobGetU32(in);
	uint64_t	count = BlobGetU64(in);

	*status = HANAMI_OK;
	if (in->bad || n > HN_ONLINE_MAX_COLUMNS || count > (uint64_t) INT64_MAX ||
		(n == 0) != (count == 0) ||
		(size_t) n * 16 > in->len - in->at)
		return false;
	*status = StatsInit(st, n, alloc, err);
	if (*status != HANAMI_OK)
		return false;
	st->count = (int64_t) count;
	for (uint32_t j = 0; j < n; j++)
	{
		st->mean[j] = BlobGetF64(in);
		if (!isfinite(st->mean[j]))
			return false;
	}
	for (uint32_t j = 0; j < n; j++)
	{
		st->m2[j] = BlobGetF64(in);
		if (!(st->m2[j] >= 0.0) || !isfinite(st->m2[j]))
			return false;
	}
	return !in->bad;
}

HnStatus
HnOnlineRead(const void *blob, size_t len, HnOnlineState *s,
			 const HnAllocator *alloc, HnError *err)
{
	HnBlobIn	in = {blob, len, 0, false};
	char		magic[8];
	const char *why;
	HnStatus	st = HANAMI_OK;

	memset(s, 0, sizeof(*s));
	if (blob == NULL || len < 48)
		return OnlineCorrupt(err, "too short");
	BlobGet(&in, magic, sizeof(magic));
	if (memcmp(magic, OnlineMagic, sizeof(magic)) != 0)
		return OnlineCorrupt(err, "not an online learning state");
	if (BlobGetU32(&in) != HN_ONLINE_VERSION || BlobGetU32(&in) != 0)
		return OnlineCorrupt(err, "another version");
	if ((why = HnBlobUnsealed(&in)) != NULL)
		return OnlineCorrupt(err, why);
	s->commit = BlobGetU64(&in);
	s->options_hash = BlobGetU64(&in);
	if (!GetStats(&in, &s->in, alloc, err, &st) ||
		!GetStats(&in, &s->out, alloc, err, &st))
	{
		StatsFree(&s->in, alloc);
		StatsFree(&s->out, alloc);
		memset(s, 0, sizeof(*s));
		return st != HANAMI_OK ? st : OnlineCorrupt(err, "bad statistics");
	}
	s->stepper = BlobGetBytes(&in, &s->stepper_len);
	if (in.bad || in.at != in.len)
	{
		StatsFree(&s->in, alloc);
		StatsFree(&s->out, alloc);
		memset(s, 0, sizeof(*s));
		return OnlineCorrupt(err, "its fields do not fill it");
	}
	return HANAMI_OK;
}
