/*
 * train.h - what fits and evaluations of every kind take and give (rows in
 * memory, options, hooks, results); the driver and the evaluator
 * themselves are in fit.h.
 */
#ifndef HANAMI_CORE_TRAIN_H
#define HANAMI_CORE_TRAIN_H

#include "core/common.h"
#include "core/optim.h"

/*
 * Rows in memory, row-major float32.  Exactly one of y and cls is set:
 * y holds n * n_outputs target values (regression, multi-output, or 0/1 for
 * a single-output classifier); cls holds n class indices in
 * 0..n_outputs-1 (one-hot targets, n_outputs >= 2).
 *
 * starts (NULL: none) marks the rows that begin a sequence (nonzero): a
 * network whose rows depend on each other (kind.h rows_independent)
 * clears its carried state before such a row, as it does before the
 * first row of every pass.  It is read only for such networks.
 */
typedef struct HnDataset
{
	int64_t		n;
	uint32_t	n_features;
	uint32_t	n_outputs;
	const float *x;
	const float *y;
	const int32_t *cls;
	const uint8_t *starts;
} HnDataset;

typedef struct HnTrainOptions
{
	int			epochs;			/* passes over the training rows, >= 1 */
	int			batch_size;		/* >= 1 */
	HnOptimConfig optim;
	uint64_t	seed;			/* shuffle and validation split */
	bool		shuffle;
	int64_t		max_iterations; /* optimizer steps; 0 = no limit */
	double		timeout;		/* seconds; 0 = no limit */
	double		error_threshold;	/* stop when epoch loss <= this; 0 = off */
	double		validation_split;	/* fraction held out, 0 <= f < 1 */
	uint64_t	train_mask;		/* bit l: layer l is trained */
	bool		rescale;		/* refit scaling even if already fitted */
	struct HnPool *pool;		/* compute threads (pool.h); NULL: one */
	const void *kind_options;	/* the step options of a kind that has its
								 * own (hanami.h HkTrainOptions); NULL: its
								 * defaults */
	int			loss;			/* HnLoss the fit trains with and the
								 * network keeps; 0: the network's own */
	int			patience;		/* early stopping: stop after this many
								 * epochs without a validation loss lower
								 * than the best by more than min_delta;
								 * 0 = off.  Needs validation rows. */
	double		min_delta;		/* >= 0 */
	bool		restore_best;	/* end with the weights of the epoch of the
								 * lowest validation loss (needs validation
								 * rows; counters keep every epoch trained) */
	const struct HnDataset *validation;	/* validation rows of their own,
										 * in memory (the caller's
										 * validation_query), measured every
										 * epoch in place of held-out ones;
										 * NULL: validation_split */
	/* checkpoints (checkpoint.h), written through HnCallbacks.checkpoint */
	int			checkpoint_every;	/* after every N epochs; 0 = off */
	double		checkpoint_interval;	/* when this many seconds passed
										 * since the last one; 0 = off */
	uint64_t	checkpoint_key;	/* the caller's: ties a checkpoint to what
								 * it was made for (a job), checked at resume */
	const void *resume;			/* a checkpoint to continue from (untrusted:
								 * checked, refused when it does not match the
								 * network and options); NULL: from the start */
	size_t		resume_len;
	/*
	 * The stepper's state to start from (untrusted), as the stepper_state
	 * hook handed it at the end of an earlier fit of this network: an online
	 * learner's optimizer moments and step count carried from one call to
	 * the next.  A state the stepper does not accept (another stepper,
	 * other shapes) is dropped for a fresh one (res->stepper_fresh).  NULL:
	 * a fresh state.  Ignored when resuming from a checkpoint.
	 */
	const void *stepper_state;
	size_t		stepper_state_len;
} HnTrainOptions;

/* Defaults: 10 epochs, batch 32, adam lr 0.001 (sgd: lr 0.01, momentum 0.9),
 * shuffle, seed 0, all layers, no limits; a checkpoint every 10 epochs or
 * 60 seconds when the caller takes them. */
void		TrainOptionsDefaults(HnTrainOptions *opt, HnOptimizer kind);

typedef enum HnStopReason
{
	HANAMI_STOP_EPOCHS = 0,
	HANAMI_STOP_ITERATIONS,
	HANAMI_STOP_TIMEOUT,
	HANAMI_STOP_THRESHOLD,
	HANAMI_STOP_CALLBACK,
	HANAMI_STOP_EARLY,			/* early_stopping: no better validation
								 * loss for `patience` epochs */
	HANAMI_STOP_REQUESTED		/* the stop hook asked to end after an
								 * epoch (a job's hanami.stop) */
} HnStopReason;

const char *StopReasonName(HnStopReason r);	/* "epochs", "max_iterations", ... */

typedef struct HnEpochReport
{
	int			epoch;			/* 1-based within this fit */
	int64_t		iterations;		/* optimizer steps so far in this fit */
	int64_t		rows;			/* training rows per epoch */
	double		loss;			/* mean training loss of the epoch */
	double		val_loss;		/* NaN without validation rows */
	double		val_accuracy;	/* NaN unless classification with validation */
	double		seconds;		/* since the fit started */
} HnEpochReport;

/*
 * Hooks into the caller.  interrupt is called once per batch, of training
 * or of evaluation (validation included), and may longjmp (PostgreSQL's
 * CHECK_FOR_INTERRUPTS) as long as the allocator's memory is reclaimed by
 * the caller; returning true stops the fit or evaluation cleanly.
 * now returns monotonic seconds.  stop is called after every epoch (after
 * epoch_done); returning true ends the fit there, as a finished one, with
 * HANAMI_STOP_REQUESTED.  checkpoint is called after an epoch when one
 * is due (options checkpoint_every, checkpoint_interval; never after the
 * last epoch) with the serialized state of the fit (checkpoint.h), valid
 * during the call; options.resume continues a fit from such a blob.  Any
 * hook may be NULL.
 */
typedef struct HnCallbacks
{
	void	   *ctx;
	bool		(*interrupt) (void *ctx);
	void		(*epoch_done) (void *ctx, const HnEpochReport *r);
	double		(*now) (void *ctx);
	bool		(*stop) (void *ctx);
	void		(*checkpoint) (void *ctx, int epoch, const void *blob,
							   size_t len);
	/*
	 * Called once at the end of a fit that succeeded, with the stepper's
	 * state (its name, then HnStepperOps.save's bytes; valid during the
	 * call) for options.stepper_state of a later fit; not called for a
	 * stepper that saves nothing.
	 */
	void		(*stepper_state) (void *ctx, const void *state, size_t len);
} HnCallbacks;

typedef struct HnTrainResult
{
	int			epochs;
	int64_t		iterations;
	int64_t		train_rows;
	int64_t		val_rows;
	bool		val_own;		/* the validation rows were options.validation's,
								 * not held out of the training rows */
	double		loss;			/* last epoch's training loss */
	double		val_loss;
	double		val_accuracy;
	double		seconds;
	HnStopReason stop;
	int64_t		removed;		/* parameters the fit removed (hanami:
								 * synapses its reduction passes removed) */
	int			best_epoch;		/* epoch of the lowest validation loss
								 * when early_stopping or restore_best
								 * tracked it, else 0 */
	bool		restored;		/* the image holds best_epoch's weights;
								 * loss, val_loss and val_accuracy are
								 * that epoch's */
	int			resumed_epoch;	/* continued from a checkpoint after this
								 * epoch; 0: from the start */
	bool		resume_rows_changed;	/* the rows differ from those the
										 * checkpoint was made on */
	bool		resume_inexact; /* the stepper's state (optimizer moments)
								 * could not be restored: not the bytes of
								 * an uninterrupted fit */
	bool		stepper_fresh;	/* options.stepper_state was not accepted:
								 * the stepper started afresh */
	int			checkpoints;	/* checkpoints handed to the hook */
} HnTrainResult;




/*
 * The figures of one output port (ports.h) of a network with several:
 * accuracy for a port that takes classes when every row's target for it
 * is a class (one-hot, or 0/1 for one unit), else NaN; mse, mae and r2 of
 * its values in original units.
 */
typedef struct HnPortMetrics
{
	char		name[HANAMI_NAME_LEN];
	bool		classes;
	double		accuracy;
	double		mse;
	double		mae;
	double		r2;
} HnPortMetrics;

typedef struct HnEvalResult
{
	int64_t		n;
	double		loss;			/* mean loss in network space */
	double		accuracy;		/* classification; NaN otherwise */
	double		mse;			/* regression, original units; NaN otherwise */
	double		mae;
	double		r2;
	int64_t    *confusion;		/* k^2 with k = max(2, n_outputs),
								 * [true][predicted]; caller's buffer or NULL */
	bool		interrupted;	/* the interrupt hook stopped it: the figures
								 * cover the first n rows */
	HnPortMetrics *ports;		/* caller's buffer of HANAMI_MAX_PORTS, or
								 * NULL: figures per output port */
	int			n_ports;		/* ports filled: 0 unless the network has
								 * several output ports and the rows carry
								 * target values */
} HnEvalResult;


#endif							/* HANAMI_CORE_TRAIN_H */
