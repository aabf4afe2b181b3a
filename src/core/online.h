/*
 * online.h - what an online learner keeps between the commits it stores,
 * as one versioned, checksummed blob: the running statistics of every
 * sample learned so far (what the dense kind's scaling is taken from while
 * it learns online: HnKindFit.running_scaling) and the stepper's state
 * (optimizer moments and step count: HnTrainOptions.stepper_state), tied to
 * the commit they belong with and to the learning options.
 *
 * Layout, little-endian, no padding: "HNONLN\r\n", u32 version, u32 0, u64
 * total length, u64 commit, u64 options hash, the input statistics and
 * the target statistics (each u32 columns, u64 count, then every mean and
 * every m2 as f64), the stepper's state as a u64 length and its bytes, and
 * a u64 hash of every byte before it.  A blob read back is untrusted:
 * HnOnlineRead checks every length, count and value.
 */
#ifndef HANAMI_CORE_ONLINE_H
#define HANAMI_CORE_ONLINE_H

#include "core/common.h"
#include "core/stats.h"

#define HN_ONLINE_VERSION	1
/* Columns a statistics block may have (a network's inputs are fewer). */
#define HN_ONLINE_MAX_COLUMNS	(1u << 24)

typedef struct HnOnlineState
{
	uint64_t	commit;			/* the commit the state goes with */
	uint64_t	options_hash;	/* the caller's hash of the learning options */
	HnColumnStats in;			/* the inputs' running statistics (n 0: none) */
	HnColumnStats out;			/* the targets' (n 0: none) */
	const void *stepper;		/* HnTrainOptions.stepper_state, or NULL */
	uint64_t	stepper_len;
} HnOnlineState;

/* Bytes of s's blob, and writing it into dst (len: HnOnlineSize). */
size_t		HnOnlineSize(const HnOnlineState *s);
void		HnOnlineWrite(const HnOnlineState *s, void *dst, size_t len);

/*
 * Read an untrusted blob into s: the statistics allocated from alloc
 * (StatsFree them), s->stepper pointing into the blob.
 * HANAMI_E_INVALID_FORMAT when it is not a whole, valid blob.
 */
HnStatus	HnOnlineRead(const void *blob, size_t len, HnOnlineState *s,
						 const HnAllocator *alloc, HnError *err);

#endif							/* HANAMI_CORE_ONLINE_H */
