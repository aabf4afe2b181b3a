/*
 * optim.h - parameter updates: SGD with momentum, and Adam.
 */
#ifndef HANAMI_CORE_OPTIM_H
#define HANAMI_CORE_OPTIM_H

#include "core/common.h"

struct DenseNet;				/* dense/format.h: the parameters updated */

typedef enum HnOptimizer
{
	HANAMI_OPT_SGD = 1,
	HANAMI_OPT_ADAM = 2
} HnOptimizer;

const char *OptimName(HnOptimizer opt);		/* "sgd", "adam" */
HnOptimizer OptimFromName(const char *name);	/* 0 if unknown */

typedef struct HnOptimConfig
{
	HnOptimizer kind;
	float		learning_rate;
	float		momentum;		/* sgd */
	float		beta1;			/* adam */
	float		beta2;			/* adam */
	float		epsilon;		/* adam */
	float		weight_decay;	/* L2 added to the gradient, both kinds */
} HnOptimConfig;

/* Moments of every parameter (velocity for sgd; m and v for adam). */
typedef struct HnOptimState
{
	HnOptimConfig cfg;
	int64_t		step;
	float	   *m;
	float	   *v;				/* adam only */
} HnOptimState;

HnOptimState *OptimCreate(const struct DenseNet *net, const HnOptimConfig *cfg,
						  const HnAllocator *alloc, HnError *err);
void		OptimFree(HnOptimState *st, const HnAllocator *alloc);

/* Moments for n parameters of any layout (kinds other than dense). */
HnOptimState *OptimCreateCount(uint64_t n, const HnOptimConfig *cfg,
							   const HnAllocator *alloc, HnError *err);

/*
 * One step over parameter ranges of another layout: OptimBegin counts the
 * step and gives the factors, OptimUpdate updates count parameters at off
 * (weight decay wd: weights only), as OptimStep does layer by layer.
 */
/*
 * The optimizer's state as checkpoint bytes, for count parameters: the
 * optimizer (u32 kind), its step count (i64), the parameter count (u64),
 * then the moments: sgd's velocities, adam's m and v, one float per
 * parameter each.  OptimLoad restores it from untrusted bytes, checking
 * every length and value (HANAMI_E_INVALID_FORMAT otherwise).
 */
size_t		OptimSaveSize(const HnOptimState *st, size_t count);
void		OptimSave(const HnOptimState *st, size_t count, void *dst);
HnStatus	OptimLoad(HnOptimState *st, size_t count, const void *src,
					  size_t len, HnError *err);

void		OptimBegin(HnOptimState *st, float *step, float *vscale);
void		OptimUpdate(HnOptimState *st, float *params, const float *grad,
						size_t off, size_t count, float wd, float step,
						float vscale);

/* Apply one update from grad (n_params floats) to layers in train_mask. */
void		OptimStep(const struct DenseNet *net, HnOptimState *st, const float *grad,
					  uint64_t train_mask);

#endif							/* HANAMI_CORE_OPTIM_H */
