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

/* dense/options.c: the options of its fits (fit.h HnKindFit.options) */
struct HnJson;
extern const char *const DenseOptionKeys[];
HnStatus	DenseOptions(const HnNet *net, const struct HnJson *obj,
						 const HnAllocator *alloc, HnTrainOptions *opt,
						 HnError *err);

#endif							/* HANAMI_CORE_TRAINER_H */
