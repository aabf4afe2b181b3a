/*
 * fit.h - the one fit driver and the one evaluator, for every kind of
 * network, every source of rows and every place a training step runs.
 *
 * HnFit owns the loop: the checks of rows and options, the seeded
 * validation split and per-epoch shuffles, batches of row pointers, the
 * stop conditions (epochs, max_iterations, timeout, error_threshold,
 * early stopping on the validation loss, the interrupt hook), divergence
 * checks, the counters in the image header, validation after every epoch,
 * the best epoch's weights kept (restore_best) and the epoch reports.  What it does not
 * know comes from two tables:
 *
 *   - the kind's HnKindFit (kind.h HnKind.fit): its checks of options and
 *     targets, what it learns from the training rows before the first epoch
 *     (dense: the input and output scaling), its targets and loss in
 *     network space, and its own stepper;
 *   - a stepper (HnStepperOps), where a batch is trained: the dense CPU
 *     trainer (dense/step.c), the hanami kind's online trainer
 *     (hanami/train.c), or a device (src/opencl/ocl_train.c).
 *
 * Rows come from memory (HnDataset) or from a source that delivers them in
 * chunks (HnRowSource: rows streamed from a query when they do not fit in
 * memory).  A streamed fit shuffles within each chunk and cannot hold rows
 * out for validation; given the rows in the same order with shuffling off,
 * it makes the same batches, learns the same scaling (the input sample of
 * scaling.h, the one-pass statistics of stats.h) and so the same bytes as a
 * fit in memory.  Results never depend on the number of compute threads.
 *
 * HnEvaluate measures a network on rows in memory or from a source, through
 * the kind's inference (kind.h): loss in network space, accuracy and the
 * confusion matrix for rows with a class, mse, mae and r2 in original units
 * for target values.
 */
#ifndef HANAMI_CORE_FIT_H
#define HANAMI_CORE_FIT_H

#include "core/kind.h"
#include "core/rng.h"
#include "core/train.h"

typedef struct HnKindFit HnKindFit;
struct HnJson;
struct HnColumnStats;		/* stats.h */

/*
 * Rows delivered in chunks.  start begins a pass over every row from the
 * first; fetch delivers the next at most max_rows rows (max_rows <= chunk)
 * as rows->n rows of rows->x and rows->y or rows->cls, in buffers of the
 * source that stay valid until the next call, and returns rows->n: 0 at the
 * end of the pass.  The first pass may be cheaper than later ones (rows
 * already read), but every pass gives the same rows in the same order.
 */
typedef struct HnRowSource
{
	void	   *ctx;
	uint32_t	n_features;
	uint32_t	n_outputs;
	bool		classes;		/* rows carry class indices, not values */
	int64_t		chunk;			/* most rows one fetch may deliver, >= 1 */
	void		(*start) (void *ctx);
	int64_t		(*fetch) (void *ctx, int64_t max_rows, HnDataset *rows);
} HnRowSource;

/*
 * Where rows come from: data in memory (all of its rows, or the n rows
 * order names, in that order), or else source.
 */
typedef struct HnRows
{
	const HnDataset *data;
	const int64_t *order;		/* NULL: rows 0 .. data->n - 1 */
	int64_t		n;				/* with order: how many it names */
	const HnRowSource *source;
} HnRows;

/*
 * A batch of count training rows: row k's raw inputs at x[k], its class
 * cls[k] or its target values (original units) at y[k]; rows[k] is its
 * index in the dataset when the rows are in memory (NULL when streamed).
 */
typedef struct HnBatch
{
	int			count;
	const float *const *x;
	const int32_t *cls;
	const float *const *y;
	const int64_t *rows;
	const uint8_t *starts;		/* NULL, or starts[k]: row k begins a
								 * sequence (train.h HnDataset.starts) */
} HnBatch;

/* What a stepper is told when it is made. */
typedef struct HnFitPlan
{
	int			max_batch;		/* rows a batch has at most */
	int64_t		train_rows;		/* rows an epoch trains on */
	const HnDataset *data;		/* the rows when in memory, else NULL */
	HnRng	   *rng;			/* the fit's random stream, for steppers
								 * that draw (after the driver's shuffle of
								 * an epoch, before its first step) */
	HnTrainResult *res;			/* the fit's result, for what only the
								 * stepper counts (removed) */
} HnFitPlan;

/*
 * Where training steps run.  create makes the state of one fit of net (the
 * kind's preparation done), with ctx the stepper's context (a device
 * session); free releases it, whatever happened.  step trains on one batch
 * and adds the batch's summed loss to *loss when it knows it at once;
 * epoch_end adds what it only knows at the end of an epoch (a device reads
 * its rows' losses back), says whether the parameters are all finite, and
 * does the kind's end-of-epoch work (the header already counts the epoch).
 * sync brings the image up to date with every step (a device's weights;
 * NULL: it always is); finish leaves the trained network in the image.
 * A stepper that moves the image (a growing kind) sets net->hdr, net->len
 * and net's view whenever it does.
 *
 * Optional, for checkpoints (checkpoint.h): save_size and save write the
 * state the stepper keeps besides the image (optimizer moments, a
 * schedule's position) after an epoch; load, just after create, restores
 * it from len untrusted bytes, checking every length and value against
 * this fit (HANAMI_E_INVALID_FORMAT when they do not fit).  A stepper
 * without them resumes with a fresh state (not the bytes of an
 * uninterrupted fit).
 */
typedef struct HnStepperOps
{
	const char *name;
	HnStatus	(*create) (void *ctx, HnNet *net, const HnTrainOptions *opt,
						   const HnFitPlan *plan, const HnAllocator *alloc,
						   void **state, HnError *err);
	void		(*epoch_begin) (void *state);
	HnStatus	(*step) (void *state, const HnBatch *b, double *loss,
						 HnError *err);
	HnStatus	(*epoch_end) (void *state, double *loss, bool *finite,
							  HnError *err);
	HnStatus	(*sync) (void *state, HnError *err);
	HnStatus	(*finish) (void *state, HnError *err);
	void		(*free) (void *state);
	size_t		(*save_size) (void *state);
	void		(*save) (void *state, void *dst);
	HnStatus	(*load) (void *state, const void *src, size_t len,
						 HnError *err);
} HnStepperOps;

/* A stepper and its context. */
typedef struct HnStepper
{
	const HnStepperOps *ops;
	void	   *ctx;
} HnStepper;

/*
 * What a kind contributes to training and evaluation (HnKind.fit).
 *
 * check_options checks the options of the kind's step (the driver checks
 * the loop's); check_targets (NULL: any finite values) checks n rows of
 * target values, naming row row0 + k + 1.  seed (NULL: the seed as given)
 * turns options.seed into the seed of the fit's random stream.  online
 * kinds train one row at a time, whatever batch_size says.  advice ends
 * the detail of a "training diverged" error ("try a lower learning rate").
 *
 * prepare_* (NULL: nothing to learn) learn from the training rows before
 * the first epoch: begin says whether there is anything to learn this time
 * (*prep NULL: nothing), rows offers n rows (order names them, NULL: all),
 * end stores what was learnt in the image and frees prep, discard frees it
 * unused.  values: the targets are values, not classes; stay: the rows
 * stay where they are until end (rows in memory), so they need no copies.
 *
 * targets (NULL: unchanged) turns n rows of target values in original
 * units into network space, in place; loss is the summed loss of n rows of
 * outputs out, as the kind's predict gives them (it may overwrite out),
 * against network-space targets t.
 */
struct HnKindFit
{
	/*
	 * Options (options.h): every key a fit of the kind takes, the shared
	 * ones included; options sets the kind's defaults in opt (and
	 * opt->kind_options, from alloc, when it has step options of its own)
	 * and reads the keys only it takes from obj (NULL: none), refusing
	 * those that do not apply with a reason.  jobs: its fits may run as
	 * background jobs.
	 */
	const char *const *option_keys;
	HnStatus	(*options) (const HnNet *net, const struct HnJson *obj,
							const HnAllocator *alloc, HnTrainOptions *opt,
							HnError *err);
	bool		jobs;

	const HnStepperOps *stepper;

	/*
	 * Optional: the stepper of a training rule of the kind's own (dense:
	 * "rule": "hebbian"), when opt asks for one, else NULL.  Such a fit
	 * runs only on it: a device's stepper is refused, with *why (a
	 * sentence) as the detail.
	 */
	const HnStepperOps *(*rule_stepper) (const HnNet *net,
										 const HnTrainOptions *opt,
										 const char **why);
	bool		online;

	/*
	 * Its stepper clears a network's carried state before the rows that
	 * begin a sequence (HnBatch.starts), so a fit may take the "sequence"
	 * option (options.h).
	 */
	bool		sequences;

	/*
	 * Optional: what a report of a finished fit adds about the network
	 * (after, trained from before), as "; ..." appended to "1.234 s" (the
	 * hanami kind: its sections and synapses and how they grew).
	 */
	void		(*fit_note) (const HnNet *before, const HnNet *after,
							 const HnTrainResult *res, char *buf,
							 size_t len);
	const char *advice;
	HnStatus	(*check_options) (const HnNet *net, const HnTrainOptions *opt,
								  HnError *err);
	HnStatus	(*check_targets) (const HnNet *net, const float *y, int64_t n,
								  int64_t row0, HnError *err);
	uint64_t	(*seed) (const HnNet *net, uint64_t seed);
	HnStatus	(*prepare_begin) (HnNet *net, const HnTrainOptions *opt,
								  bool values, bool stay,
								  const HnAllocator *alloc, void **prep,
								  HnError *err);
	void		(*prepare_rows) (void *prep, const HnDataset *rows,
								 const int64_t *order, int64_t n);
	HnStatus	(*prepare_end) (void *prep, HnNet *net, HnError *err);
	void		(*prepare_discard) (void *prep);

	/*
	 * Optional (NULL: nothing to learn first, or only from whole rows):
	 * what online learning does in place of prepare_*, which would learn
	 * from the first rows alone.  Sets what a fit learns first from running
	 * statistics of every row seen so far (in: the inputs; out: the targets
	 * of a regression, NULL for classes) and marks it learnt, so that the
	 * next fit does not learn it again (dense: the input scaling, and an
	 * mse regression's output scaling).  Called before each batch of rows
	 * with the statistics including them; whether it applies to a network
	 * is prepare_begin's answer (something to learn first) when online
	 * learning starts.
	 */
	void		(*running_scaling) (HnNet *net, const struct HnColumnStats *in,
									const struct HnColumnStats *out);
	void		(*targets) (const HnNet *net, float *t, int n);
	double		(*loss) (const HnNet *net, float *out, const float *t, int n);
};

/*
 * Train net in place on rows.  stepper NULL: the kind's own.  Checks the
 * options and every row (HnCheckRows, the kind's check_targets), learns
 * what the kind learns first, then trains epoch after epoch until a stop
 * condition; the header counts epochs and samples.  A kind whose networks
 * grow may move the image: it then lies in a new buffer from alloc (the
 * old one freed through alloc, so it must come from alloc) and net->hdr
 * and net->len say where, also when the fit fails.  On failure (a bad row
 * or option, HANAMI_E_DIVERGED, no memory) the image is left half-trained:
 * the caller discards it.  res may be NULL.
 *
 * Checkpoints: with cb->checkpoint, a blob of the fit's state after every
 * opt->checkpoint_every epochs or opt->checkpoint_interval seconds (see
 * checkpoint.h).  With opt->resume, the fit continues from such a blob
 * (refused unless HnCheckpointCheck accepts it): the image becomes the
 * blob's (moved when its length differs), what the kind learns first is
 * not learnt again, and epochs, counters, the random stream, row order,
 * early stopping and the stepper's state continue, so that with the same
 * rows the result is the bytes of the fit never interrupted.  Rows that
 * differ from the checkpoint's are used anyway and say so in
 * res->resume_rows_changed.
 */
HnStatus	HnFit(HnNet *net, const HnRows *rows, const HnTrainOptions *opt,
				  const HnStepper *stepper, const HnCallbacks *cb,
				  const HnAllocator *alloc, HnTrainResult *res, HnError *err);

/*
 * Measure net on rows, in order: the mean loss in network space; accuracy
 * (a row's class: its class index, or a 0/1 target of a network with one
 * class output; predicted: the argmax, or >= 0.5 for one output) when
 * every row has a class, and the confusion matrix into res->confusion when
 * it is set; mse, mae and r2 in original units for target values.  A
 * network whose rows depend on each other (spiking, history) runs them in
 * order, its carried state cleared before the first row and before every
 * row that begins a sequence (HnDataset.starts), and restored as it was
 * at the end.  An
 * output that is not finite is HANAMI_E_OUTPUT_NOT_FINITE naming the row.
 * When cb->interrupt says stop, the figures cover the rows before and
 * res->interrupted is set.
 */
HnStatus	HnEvaluate(HnNet *net, const HnRows *rows, const HnCallbacks *cb,
					   const HnAllocator *alloc, HnEvalResult *res,
					   HnError *err);

/*
 * HnEvaluate in batches of max_batch rows, without checking rows that were
 * checked already (checked: the fit's validation rows).
 */
HnStatus	HnEvaluateRows(HnNet *net, const HnRows *rows, int max_batch,
						   bool checked, const HnCallbacks *cb,
						   const HnAllocator *alloc, HnEvalResult *res,
						   HnError *err);

/* rows.c: checks of rows, their targets and the class of outputs */

/*
 * Check rows->n rows against net: shapes, finite inputs and targets, class
 * indices in range, then the kind's check of target values.  Rows are
 * named row0 + k + 1.
 */
HnStatus	HnCheckRows(const HnNet *net, const HnDataset *rows, int64_t row0,
						HnError *err);

/*
 * What net's kind contributes to fits, or NULL with an error saying that
 * networks of its kind cannot be trained or evaluated (verb).
 */
const HnKindFit *HnKindFitOf(const HnNet *net, const char *verb,
							 HnError *err);

/*
 * The class a row of n outputs gives: the index of the largest, or for a
 * single output 1 when it is at least 0.5.
 */
int			HnOutputClass(const float *out, uint32_t n);

/* Check the loop's options, then the kind's (check_options). */
HnStatus	HnCheckOptions(const HnNet *net, const HnTrainOptions *opt,
						   HnError *err);

/*
 * Targets of a row in original units, n_outputs values: one-hot for class
 * cls (one output: the class itself, 0 or 1) when y is NULL, else y.
 */
void		HnTargetValues(uint32_t n_outputs, int32_t cls, const float *y,
						   float *t);

/* Network-space targets of row `row` of data (the kind's targets). */
void		HnRowTarget(const HnNet *net, const HnDataset *data, int64_t row,
						float *t);

#endif							/* HANAMI_CORE_FIT_H */
