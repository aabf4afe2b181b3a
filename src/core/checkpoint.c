/*
 * checkpoint.c - a fit's state as a versioned, checksummed blob (see
 * checkpoint.h): writing it, and reading an untrusted one back.
 */
#include "core/checkpoint.h"

#include <math.h>
#include <string.h>

#include "core/blob.h"
#include "core/kind.h"

static const char CkptMagic[8] = {'H', 'N', 'C', 'K', 'P', 'T', '\r', '\n'};

/* One 64-bit word into the hash. */
static inline uint64_t
HashMix(uint64_t h, uint64_t w)
{
	h ^= w;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* A 64-bit hash of n bytes; see checkpoint.h. */
uint64_t
HnHash64(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = p;
	size_t		i = 0;
	uint64_t	w;

	h = HashMix(h ^ 0x9e3779b97f4a7c15ULL, (uint64_t) n);
	for (; i + 8 <= n; i += 8)
	{
		memcpy(&w, b + i, 8);
		h = HashMix(h, w);
	}
	if (i < n)
	{
		w = 0;
		memcpy(&w, b + i, n - i);
		h = HashMix(h, w ^ 0x8000000000000000ULL);
	}
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 32;
	return h;
}

/* A double into the hash by its bits. */
static uint64_t
HashDouble(uint64_t h, double d)
{
	return HnHash64(&d, sizeof(d), h);
}

/* The options a resumed fit must share with the one checkpointed. */
uint64_t
HnCheckpointOptionsHash(const HnTrainOptions *opt)
{
	uint64_t	h = HnHash64("hanami fit options", 18, 0);
	uint64_t	v[] = {
		(uint64_t) opt->epochs, (uint64_t) opt->batch_size,
		(uint64_t) opt->optim.kind, opt->seed, opt->shuffle,
		(uint64_t) opt->max_iterations, opt->train_mask, opt->rescale,
		(uint64_t) opt->loss, (uint64_t) opt->patience, opt->restore_best,
		opt->validation != NULL, opt->checkpoint_key
	};
	double		d[] = {
		opt->optim.learning_rate, opt->optim.momentum, opt->optim.beta1,
		opt->optim.beta2, opt->optim.epsilon, opt->optim.weight_decay,
		opt->timeout, opt->error_threshold, opt->validation_split,
		opt->min_delta
	};

	h = HnHash64(v, sizeof(v), h);
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		h = HashDouble(h, d[i]);
	return h;
}

/* Every field of ck, in the order of the layout (checkpoint.h). */
static void
CkptFields(HnBlobOut *o, const HnCheckpoint *ck)
{
	BlobPut(o, CkptMagic, sizeof(CkptMagic));
	BlobPutU32(o, HN_CKPT_VERSION);
	BlobPutU32(o, ck->flags);
	BlobPutU64(o, 0);				/* total length, set by the writer */
	BlobPutU64(o, ck->start_hash);
	BlobPutU64(o, ck->options_hash);
	BlobPutU64(o, ck->rows_hash);
	BlobPutU64(o, (uint64_t) ck->n_train);
	BlobPutU64(o, (uint64_t) ck->n_val);
	BlobPutU32(o, (uint32_t) ck->epoch);
	BlobPutU32(o, (uint32_t) ck->waited);
	BlobPutU32(o, (uint32_t) ck->best_epoch);
	BlobPutU64(o, (uint64_t) ck->iterations);
	BlobPutU64(o, (uint64_t) ck->removed);
	BlobPutF64(o, ck->seconds);
	for (int i = 0; i < 4; i++)
		BlobPutU64(o, ck->rng[i]);
	BlobPutF64(o, ck->best_val);
	BlobPutF64(o, ck->ref_val);
	BlobPutF64(o, ck->best_loss);
	BlobPutF64(o, ck->best_acc);
	BlobPutBytes(o, ck->image, ck->image_len);
	BlobPutBytes(o, ck->best, ck->best ? ck->best_len : 0);
	BlobPutBytes(o, ck->order, ck->n_order * sizeof(int64_t));
	BlobPutBytes(o, ck->stepper, strnlen(ck->stepper, sizeof(ck->stepper)));
	BlobPutBytes(o, ck->state, ck->state_len);
}

/* Bytes of ck's blob; see checkpoint.h. */
size_t
HnCheckpointSize(const HnCheckpoint *ck)
{
	HnBlobOut	o = {NULL, 0};
	uint64_t	big = ck->image_len + ck->best_len + ck->state_len;

	/* lengths come from the fit's own buffers, but stay within size_t */
	if (ck->image_len > SIZE_MAX / 4 || ck->best_len > SIZE_MAX / 4 ||
		ck->state_len > SIZE_MAX / 4 || ck->n_order > SIZE_MAX / 32 ||
		big > SIZE_MAX / 2)
		return 0;
	CkptFields(&o, ck);
	return o.at + 8;
}

/* Write ck's blob of len bytes (HnCheckpointSize) into dst. */
void
HnCheckpointWrite(const HnCheckpoint *ck, void *dst, size_t len)
{
	HnBlobOut	o = {dst, 0};

	CkptFields(&o, ck);
	HnBlobSeal(dst, len);
}

/* See blob.h. */
void
HnBlobSeal(void *dst, size_t len)
{
	uint64_t	total = len;
	uint64_t	sum;

	memcpy((unsigned char *) dst + 16, &total, 8);
	sum = HnHash64(dst, len - 8, 0);
	memcpy((unsigned char *) dst + len - 8, &sum, 8);
}

/* See blob.h; in is at byte 16, the total length next. */
const char *
HnBlobUnsealed(HnBlobIn *in)
{
	uint64_t	total = BlobGetU64(in);
	uint64_t	sum;

	if (in->bad || total != in->len || in->len < 32)
		return "its length is wrong (truncated?)";
	memcpy(&sum, in->p + in->len - 8, 8);
	if (sum != HnHash64(in->p, in->len - 8, 0))
		return "its checksum does not match";
	in->len -= 8;				/* the fields end before the checksum */
	return NULL;
}

/* A refusal of a blob that is not a whole checkpoint of this format. */
static HnStatus
CkptCorrupt(HnError *err, const char *why)
{
	return HnSetError(err, HANAMI_E_INVALID_FORMAT,
					  "The checkpoint is damaged or was not written by this version.",
					  "invalid checkpoint: %s", why);
}

/* Read an untrusted blob; see checkpoint.h. */
HnStatus
HnCheckpointRead(const void *blob, size_t len, HnCheckpoint *ck,
				 HnError *err)
{
	HnBlobIn	in = {blob, len, 0, false};
	char		magic[8];
	const char *why;
	uint64_t	n;
	const void *name;

	memset(ck, 0, sizeof(*ck));
	if (blob == NULL || len < 32 + 8)
		return CkptCorrupt(err, "too short");
	BlobGet(&in, magic, sizeof(magic));
	if (memcmp(magic, CkptMagic, sizeof(magic)) != 0)
		return CkptCorrupt(err, "not a checkpoint");
	ck->version = BlobGetU32(&in);
	if (ck->version != HN_CKPT_VERSION)
		return HnSetError(err, HANAMI_E_UNSUPPORTED,
						  "This build reads checkpoints of version 1.",
						  "checkpoint version %u is not supported",
						  ck->version);
	ck->flags = BlobGetU32(&in);
	if ((why = HnBlobUnsealed(&in)) != NULL)
		return CkptCorrupt(err, why);
	if (ck->flags & ~(uint32_t) (HN_CKPT_STEPPER | HN_CKPT_STREAMED))
		return CkptCorrupt(err, "unknown flags");
	ck->start_hash = BlobGetU64(&in);
	ck->options_hash = BlobGetU64(&in);
	ck->rows_hash = BlobGetU64(&in);
	ck->n_train = (int64_t) BlobGetU64(&in);
	ck->n_val = (int64_t) BlobGetU64(&in);
	ck->epoch = (int32_t) BlobGetU32(&in);
	ck->waited = (int32_t) BlobGetU32(&in);
	ck->best_epoch = (int32_t) BlobGetU32(&in);
	ck->iterations = (int64_t) BlobGetU64(&in);
	ck->removed = (int64_t) BlobGetU64(&in);
	ck->seconds = BlobGetF64(&in);
	for (int i = 0; i < 4; i++)
		ck->rng[i] = BlobGetU64(&in);
	ck->best_val = BlobGetF64(&in);
	ck->ref_val = BlobGetF64(&in);
	ck->best_loss = BlobGetF64(&in);
	ck->best_acc = BlobGetF64(&in);
	ck->image = BlobGetBytes(&in, &ck->image_len);
	ck->best = BlobGetBytes(&in, &ck->best_len);
	ck->order = BlobGetBytes(&in, &n);
	ck->n_order = n / sizeof(int64_t);
	if (n % sizeof(int64_t) != 0)
		return CkptCorrupt(err, "the row order is not whole");
	name = BlobGetBytes(&in, &n);
	if (n >= sizeof(ck->stepper))
		return CkptCorrupt(err, "the stepper's name is too long");
	if (n > 0)
		memcpy(ck->stepper, name, (size_t) n);
	ck->state = BlobGetBytes(&in, &ck->state_len);
	if (in.bad)
		return CkptCorrupt(err, "a length runs past its end");
	if (in.at != in.len)
		return CkptCorrupt(err, "bytes after its last field");
	if (ck->image == NULL)
		return CkptCorrupt(err, "it holds no network");
	if (ck->n_train < 1 || ck->n_val < 0 || ck->epoch < 1 || ck->waited < 0 ||
		ck->best_epoch < 0 || ck->best_epoch > ck->epoch ||
		ck->iterations < 0 || ck->removed < 0 ||
		!(ck->seconds >= 0 && ck->seconds < 1e12) ||
		(ck->rng[0] | ck->rng[1] | ck->rng[2] | ck->rng[3]) == 0 ||
		isnan(ck->best_val) || isnan(ck->ref_val))
		return CkptCorrupt(err, "a counter is out of range");
	if (ck->n_order != 0 &&
		(ck->flags & HN_CKPT_STREAMED || ck->n_order < (uint64_t) ck->n_train))
		return CkptCorrupt(err, "the row order does not match its row counts");
	if (!(ck->flags & HN_CKPT_STEPPER) && ck->state != NULL)
		return CkptCorrupt(err, "stepper state without its flag");
	return HANAMI_OK;
}

/* Whether blob may continue this fit; see checkpoint.h. */
HnStatus
HnCheckpointCheck(const HnNet *net, const HnTrainOptions *opt,
				  const void *blob, size_t len, HnCheckpoint *out,
				  HnError *err)
{
	HnCheckpoint local;
	HnCheckpoint *ck = out ? out : &local;
	HnStatus	st = HnCheckpointRead(blob, len, ck, err);
	const HnHeader *h;

	if (st != HANAMI_OK)
		return st;
	if (ck->start_hash != HnHash64(net->hdr, net->len, 0))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "It was made by a fit that started from another network.",
						  "the checkpoint does not match the network");
	if (ck->options_hash != HnCheckpointOptionsHash(opt))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "It was made by a fit with other options.",
						  "the checkpoint does not match the options");
	if (ck->epoch > opt->epochs)
		return CkptCorrupt(err, "more epochs than the fit has");
	if (ck->image_len < sizeof(HnHeader))
		return CkptCorrupt(err, "its network is too short");
	h = ck->image;
	{
		HnHeader	hdr;

		memcpy(&hdr, h, sizeof(hdr));
		if (hdr.kind != net->hdr->kind || hdr.n_inputs != net->hdr->n_inputs ||
			hdr.n_outputs != net->hdr->n_outputs)
			return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
							  "Its network has another kind or shape.",
							  "the checkpoint does not match the network");
	}
	return HANAMI_OK;
}
