/*
 * checkpoint.h - the state of a fit in progress as one blob, so a fit can
 * continue after a crash exactly where it left off.
 *
 * The fit driver (fit.c) makes a blob after an epoch when one is due
 * (options checkpoint_every, checkpoint_interval) and hands it to the
 * caller's hook (HnCallbacks.checkpoint); options.resume gives one back.
 * A blob holds everything the next epoch depends on: the network image
 * (the whole image: a growing network's grows), the epoch and step
 * counts, the random stream (row order, validation split, growth draws),
 * the order of the rows, early stopping's state and the best epoch's
 * image (restore_best), the stepper's own state (optimizer moments, a
 * learning-rate schedule's position: HnStepperOps.save/load), the
 * seconds trained, and three hashes: of the network the fit started from,
 * of its options (with the caller's checkpoint_key) and of the rows read.
 *
 * Layout, little-endian, no padding: "HNCKPT\r\n", u32 version, u32 flags
 * (HN_CKPT_*), u64 total length, then the fields in the order of
 * HnCheckpoint below, each byte string preceded by its u64 length, and a
 * u64 hash of every byte before it.  A blob read back is untrusted:
 * HnCheckpointRead checks every length, count and value and refuses
 * anything else with HANAMI_E_INVALID_FORMAT; the driver then checks it
 * against the network and options of the fit (HANAMI_E_INVALID_ARGUMENT).
 */
#ifndef HANAMI_CORE_CHECKPOINT_H
#define HANAMI_CORE_CHECKPOINT_H

#include "core/common.h"
#include "core/kind.h"
#include "core/train.h"

#define HN_CKPT_VERSION		1
#define HN_CKPT_STEPPER		0x1		/* the stepper's state is in it */
#define HN_CKPT_STREAMED	0x2		/* rows were streamed: no row order */

/* A blob's contents, pointing into the blob. */
typedef struct HnCheckpoint
{
	uint32_t	version;
	uint32_t	flags;
	uint64_t	start_hash;		/* the network the fit started from */
	uint64_t	options_hash;	/* HnCheckpointOptionsHash */
	uint64_t	rows_hash;		/* the rows read (training, validation) */
	int64_t		n_train;
	int64_t		n_val;
	int32_t		epoch;			/* epochs done */
	int32_t		waited;			/* early stopping: epochs without improving */
	int32_t		best_epoch;
	int64_t		iterations;
	int64_t		removed;
	double		seconds;		/* trained so far */
	uint64_t	rng[4];
	double		best_val;
	double		ref_val;
	double		best_loss;
	double		best_acc;
	const void *image;
	uint64_t	image_len;
	const void *best;			/* restore_best's image; NULL: none */
	uint64_t	best_len;
	const void *order;			/* n_order int64 row indices, unaligned */
	uint64_t	n_order;
	char		stepper[32];	/* the stepper's name (HnStepperOps.name) */
	const void *state;			/* its state (HN_CKPT_STEPPER) */
	uint64_t	state_len;
} HnCheckpoint;

/* A 64-bit hash of n bytes, continuing from h (0 to start). */
uint64_t	HnHash64(const void *p, size_t n, uint64_t h);

/* The hash of the options a checkpoint must share with the fit resuming it. */
uint64_t	HnCheckpointOptionsHash(const HnTrainOptions *opt);

/*
 * Bytes of a blob of ck (its pointers and lengths set); 0 when it would
 * pass SIZE_MAX.  HnCheckpointWrite writes it into dst, its checksum
 * included.
 */
size_t		HnCheckpointSize(const HnCheckpoint *ck);
void		HnCheckpointWrite(const HnCheckpoint *ck, void *dst, size_t len);

/*
 * Read an untrusted blob of len bytes: its magic, version, length,
 * checksum, and every length and count inside it; ck points into blob.
 * The network image is not validated here (NetBind does that).
 */
HnStatus	HnCheckpointRead(const void *blob, size_t len, HnCheckpoint *ck,
							 HnError *err);

/*
 * Whether blob may continue a fit of net (as the fit starts, before any
 * change) with options opt: HnCheckpointRead, then the network it started
 * from and the options must be those of this fit, and the image of the
 * same kind and shape.  HANAMI_E_INVALID_FORMAT or
 * HANAMI_E_INVALID_ARGUMENT with the reason; ck (may be NULL) gets what
 * it says.
 */
HnStatus	HnCheckpointCheck(const HnNet *net, const HnTrainOptions *opt,
							  const void *blob, size_t len, HnCheckpoint *ck,
							  HnError *err);

#endif							/* HANAMI_CORE_CHECKPOINT_H */
