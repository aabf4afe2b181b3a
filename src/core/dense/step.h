/*
 * dense/step.h - the training step of a dense network on the CPU: the
 * stepper (fit.h) the fit driver runs dense fits on unless a device does.
 *
 * One step: scale the batch's inputs, forward, backward, and an optimizer
 * update fused with the weight gradients (the full gradient is never
 * stored; with one row the gradient is an outer product applied directly).
 * With a pool of threads the rows of the batch are split between threads for
 * the forward and backward passes, and the weight rows for the gradient and
 * update; every value is computed by the same operations in the same order
 * whatever the thread count, so results do not depend on it.
 */
#ifndef HANAMI_CORE_TRAINER_H
#define HANAMI_CORE_TRAINER_H

#include "core/dense/format.h"
#include "core/fit.h"
#include "core/pool.h"

typedef struct HnTrainer HnTrainer;

/*
 * A trainer for batches of up to max_batch rows with opt's optimizer and
 * train_mask; pool may be NULL (one thread).  Scaling must already be
 * fitted or off.  NULL with err set on failure.
 */
HnTrainer  *TrainerCreate(DenseNet *net, const HnTrainOptions *opt, int max_batch,
						  HnPool *pool, const HnAllocator *alloc, HnError *err);
void		TrainerFree(HnTrainer *t);

/*
 * One optimizer step on a batch; *loss gets the batch's summed loss (the
 * caller checks that it is finite).
 */
HnStatus	TrainerStep(HnTrainer *t, const HnBatch *b, double *loss,
						HnError *err);

/*
 * Target values of n rows (n_outputs each, original units) into network
 * space, in place: (y - out_shift) / out_mul.
 */
void		DenseScaleTargets(const DenseNet *net, float *t, int n);

/* The dense CPU stepper, and what the dense kind contributes to fits. */
extern const HnStepperOps DenseStepper;
extern const struct HnKindFit HnDenseFit;

/* dense/fit.c: the dense entry points over rows in memory */

/*
 * Learn the scaling of a dense network from the rows, as a fit learns it
 * (dense/fit.c): input shift/mul from each feature's median and spread over
 * a fixed-seed sample of the rows (scaling.h), when HANAMI_FLAG_SCALE_INPUT
 * is set; output shift/mul from the targets' mean and standard deviation
 * (one pass, stats.h; mul 1 for a constant target) when y is set, the loss
 * is mse and the output activation is identity.  Sets the FITTED flags.
 * rows selects n_rows row indices; NULL means rows 0..n_rows-1.  Fails only
 * for want of memory.
 */
HnStatus	TrainFitScaling(DenseNet *net, const HnDataset *data, int64_t n_rows,
							const int64_t *rows, const HnAllocator *alloc,
							HnError *err);

/*
 * The dense kind's check of target values (y, n rows of n_outputs,
 * finite): a network whose output layer is softmax predicts a probability
 * distribution, so each row's targets must lie between 0 and 1 and sum to 1
 * (within HANAMI_PROB_SUM_TOLERANCE): a one-hot row or class probabilities.
 * HANAMI_E_INVALID_ARGUMENT, with a hint, naming row row0 + k + 1 of the
 * first row k that breaks it.  Other output layers take any finite values.
 */
#define HANAMI_PROB_SUM_TOLERANCE	0.01
HnStatus	TrainCheckTargets(const DenseNet *net, const float *y, int64_t n,
							  int64_t row0, HnError *err);

/*
 * Train a dense network in place on rows in memory, on the CPU: HnFit
 * (fit.h), which checks the rows and options, learns the scaling not yet
 * fitted (all of it with opt->rescale), updates the header's epochs and
 * samples, and returns HANAMI_E_DIVERGED if a loss or weight becomes NaN or
 * infinite (the caller then discards the copy).  res may be NULL.
 */
HnStatus	TrainFit(DenseNet *net, const HnDataset *data,
					 const HnTrainOptions *opt, const HnCallbacks *cb,
					 const HnAllocator *alloc, HnTrainResult *res,
					 HnError *err);

/*
 * Evaluate a dense network on rows in memory: HnEvaluate (fit.h).  With cls:
 * accuracy and, when res->confusion is set, the confusion matrix.  With y:
 * loss, plus mse/mae/r2 in original units; a single-output sigmoid network
 * with 0/1 targets also gets accuracy (threshold 0.5) and a 2x2 confusion
 * matrix.  An output that is not finite is an error, never a figure.
 */
HnStatus	TrainEvaluate(const DenseNet *net, const HnDataset *data,
						  const HnCallbacks *cb, const HnAllocator *alloc,
						  HnEvalResult *res, HnError *err);

/* dense/options.c: the options of its fits (fit.h HnKindFit.options) */
struct HnJson;
extern const char *const DenseOptionKeys[];
HnStatus	DenseOptions(const HnNet *net, const struct HnJson *obj,
						 const HnAllocator *alloc, HnTrainOptions *opt,
						 HnError *err);

#endif							/* HANAMI_CORE_TRAINER_H */
