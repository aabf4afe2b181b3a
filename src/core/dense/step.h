/*
 * dense/step.h - the step-by-step training loop of a dense network, for callers
 * that bring rows in batches of their own: TrainFit over rows in memory, and
 * the PostgreSQL glue streaming a query's rows when they do not fit.
 *
 * One step: scale the batch's inputs, forward, backward, and an optimizer
 * update fused with the weight gradients (the full gradient is never
 * stored; with one row the gradient is an outer product applied directly).
 * With a pool of threads the rows of the batch are split between threads for
 * the forward and backward passes, and the weight rows for the gradient and
 * update; every value is computed by the same operations in the same order
 * whatever the thread count, so results do not depend on it.
 *
 * The learned input scaling, the same for rows in memory and rows streamed,
 * is in scaling.h.
 */
#ifndef HANAMI_CORE_TRAINER_H
#define HANAMI_CORE_TRAINER_H

#include "core/pool.h"
#include "core/train.h"

typedef struct HnTrainer HnTrainer;

/*
 * A batch of count rows: x[k] points at row k's n_inputs raw values; cls[k]
 * is its class index (classification) or y[k] points at its n_outputs target
 * values in original units (regression).
 */
typedef struct HnBatch
{
	int			count;
	const float *const *x;
	const int32_t *cls;
	const float *const *y;
} HnBatch;

/*
 * A trainer for batches of up to max_batch rows.  opt is checked as TrainFit
 * checks it; pool may be NULL (one thread).  Scaling must already be fitted
 * or off.  NULL with err set on failure.
 */
HnTrainer  *TrainerCreate(DenseNet *net, const HnTrainOptions *opt, int max_batch,
						  HnPool *pool, const HnCallbacks *cb,
						  const HnAllocator *alloc, HnError *err);
void		TrainerFree(HnTrainer *t);

/* Start an epoch (loss and row counts start from zero). */
void		TrainerEpochBegin(HnTrainer *t);

/*
 * One optimizer step on a batch.  Calls the interrupt hook first.  Sets
 * *go_on to false when training must stop: interrupted (before the step),
 * max_iterations or timeout reached (after it).  HANAMI_E_DIVERGED when the
 * loss is not finite.
 */
HnStatus	TrainerStep(HnTrainer *t, const HnBatch *b, bool *go_on,
						HnError *err);

/* Rows trained in the current epoch. */
int64_t		TrainerEpochRows(const HnTrainer *t);

/*
 * Close an epoch that trained at least one row: check the weights, count it
 * in the header, fill the report (val_loss/val_accuracy as given, NaN when
 * none), call epoch_done, and set *stop when error_threshold is reached.
 */
HnStatus	TrainerEpochEnd(HnTrainer *t, double val_loss, double val_accuracy,
							bool *stop, HnError *err);

/* The result so far; stop is the reason recorded (epochs if none). */
void		TrainerResult(const HnTrainer *t, HnTrainResult *res);

/* Record why training stopped (TrainerStep records its own reasons). */
void		TrainerSetStop(HnTrainer *t, HnStopReason reason);

#endif							/* HANAMI_CORE_TRAINER_H */
