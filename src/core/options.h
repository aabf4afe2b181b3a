/*
 * options.h - the options object of fit() and verify(), read from JSON.
 *
 * Every key is known, every value has the right type and range, or the
 * read fails naming it.  The keys every fit takes (target, epochs, seed,
 * shuffle, max_iterations, timeout, error_threshold, verbose, device,
 * only_if_better, and early_stopping and restore_best unless the kind
 * refuses them) are read
 * here; the rest, and which keys a fit of the kind takes at all, come from
 * the kind (fit.h HnKindFit: option_keys, options).  verify() takes
 * "target", "inputs", "targets" and "sequence" only.  "sequence" is taken
 * by networks whose rows depend on each other (kind.h rows_independent),
 * for fits when the kind's stepper knows sequences (HnKindFit.sequences).  Every kind takes "inputs" and
 * "targets" (ports.h), read against the network's ports; "target" and
 * "targets" together are refused.
 */
#ifndef HANAMI_CORE_OPTIONS_H
#define HANAMI_CORE_OPTIONS_H

#include "core/fit.h"
#include "core/json.h"
#include "core/ports.h"

typedef struct HnFitOptions
{
	HnTrainOptions train;		/* kind_options from alloc when the kind has
								 * its own */
	char	   *target;			/* target column, or NULL for the last */
	HnPortMap	inputs;			/* "inputs": columns of each input port
								 * (n = 0: every column but the targets) */
	HnPortMap	targets;		/* "targets": the target column of each
								 * output port (n = 0: target) */
	char	   *sequence;		/* "sequence": the column whose runs of
								 * equal values are the sequences, or NULL
								 * (the rows are one sequence); only for
								 * networks whose rows depend on each
								 * other */
	char	   *device;			/* options.device, unchecked, or NULL */
	char	   *only_if_better;	/* a query the new network must score better
								 * on than the branch head (train and jobs of
								 * named models), or NULL */
	char	   *validation_query;	/* a query whose rows are measured every
									 * epoch (the caller loads them into
									 * train.validation), or NULL */
	bool		verbose;
} HnFitOptions;

/*
 * Read obj (a JSON value, or NULL for none) as the options of a fit of net
 * (for_training) or of a verify(), strings and the kind's options from
 * alloc.  Not an object, an unknown key, a wrong type or a value out of
 * range: HANAMI_E_INVALID_ARGUMENT or HANAMI_E_INVALID_SPEC (22023),
 * naming the option.
 */
HnStatus	HnFitOptionsRead(const HnNet *net, const HnJson *obj,
							 bool for_training, const HnAllocator *alloc,
							 HnFitOptions *o, HnError *err);

/*
 * A number option in [lo, hi] (lo itself excluded when lo_excl): "option
 * "<key>" is out of range", the range in the detail.
 */
HnStatus	HnOptionNumber(const HnJson *v, const char *key, double lo,
						   double hi, bool lo_excl, double *out, HnError *err);

/* The same into a float, when obj has key; nothing when it has not. */
HnStatus	HnOptionFloat(const HnJson *obj, const char *key, double lo,
						  double hi, bool lo_excl, float *out, HnError *err);

/* An option's value read with the JSON helpers, named "option "<key>"". */
HnStatus	HnOptionInt(const HnJson *obj, const char *key, int64_t min,
						int64_t max, int64_t *out, bool *found, HnError *err);
HnStatus	HnOptionBool(const HnJson *obj, const char *key, bool *out,
						 HnError *err);
HnStatus	HnOptionString(const HnJson *obj, const char *key,
						   const char **out, HnError *err);

/*
 * The options of a gradient step that layered kinds share, when obj has
 * them: batch_size, the optimizer's learning_rate, momentum, beta1,
 * beta2, epsilon and weight_decay, validation_split and rescale (each
 * range-checked, named in the error).
 */
HnStatus	HnStepOptionsRead(const HnJson *obj, HnTrainOptions *t,
							  HnError *err);

#endif							/* HANAMI_CORE_OPTIONS_H */
