/*
 * hanami/options.c - the options of a hanami fit (options.h): its learning
 * rates, growth and reduction.  It learns online with plain gradient steps,
 * one row at a time, on the CPU: the options of the dense optimizers,
 * batches and devices are refused with that reason.
 */
#include "core/hanami/kind.h"

#include <string.h>

#include "core/fit.h"
#include "core/options.h"

/* Every key a hanami fit takes, those refused with a reason included. */
const char *const HkOptionKeys[] = {
	"target", "epochs", "learning_rate", "learning_rate_end", "seed",
	"shuffle", "growth",
	"reduction", "max_iterations", "timeout", "error_threshold", "verbose",
	"batch_size", "optimizer", "only_if_better", "checkpoint_every",
	"checkpoint_interval",
	/* dense options, refused with a reason below */
	"momentum", "beta1", "beta2", "epsilon", "weight_decay", "loss",
	"validation_split", "to_train", "to_skip", "rescale", "device",
	"early_stopping", "restore_best", "validation_query", NULL
};
static const char *const validation_keys[] = {
	"early_stopping", "restore_best", "validation_query", NULL
};
static const char *const dense_only_keys[] = {
	"momentum", "beta1", "beta2", "epsilon", "weight_decay", "loss",
	"validation_split", "to_train", "to_skip", "rescale", "device", NULL
};

/* Defaults of a hanami fit, then the keys only hanami fits take. */
HnStatus
HkOptions(const HnNet *net, const HnJson *obj, const HnAllocator *alloc,
		  HnTrainOptions *t, HnError *err)
{
	HkTrainOptions *hk = HnAlloc(alloc, sizeof(HkTrainOptions));
	const HnJson *v;
	const char *name;
	double		d;
	int64_t		i;
	bool		found;
	HnStatus	st;

	if (hk == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for options");
	HkTrainOptionsDefaults(t, hk, HkOf(net));
	if (obj == NULL)
		return HANAMI_OK;
	for (const char *const *k = dense_only_keys; *k; k++)
		if (HnJsonGet(obj, *k) != NULL)
		{
			HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
					   "A growing network learns online with plain gradient steps, one row at a time, on the CPU.",
					   "option \"%s\" does not apply to networks of kind \"hanami\"", *k);
			return HnSetHint(err, "Its options are: target, epochs, learning_rate, learning_rate_end, seed, shuffle, growth, reduction, max_iterations, timeout, error_threshold, verbose, checkpoint_every, checkpoint_interval.");
		}
	for (const char *const *k = validation_keys; *k; k++)
		if (HnJsonGet(obj, *k) != NULL)
			return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
							  "It needs validation rows, and a growing network trains on every row (validation_split does not apply to it).",
							  "option \"%s\" does not apply to networks of kind \"hanami\"", *k);
	if ((v = HnJsonGet(obj, "learning_rate")) != NULL)
	{
		if ((st = HnOptionNumber(v, "learning_rate", 0, 10, true, &d, err)) != HANAMI_OK)
			return st;
		hk->learning_rate = (float) d;
		hk->learning_rate_end = hk->learning_rate / 10;
	}
	if ((v = HnJsonGet(obj, "learning_rate_end")) != NULL)
	{
		if ((st = HnOptionNumber(v, "learning_rate_end", 0, 10, false, &d, err)) != HANAMI_OK)
			return st;
		hk->learning_rate_end = (float) d;
	}
	if ((st = HnOptionBool(obj, "growth", &hk->grow, err)) != HANAMI_OK ||
		(st = HnOptionBool(obj, "reduction", &hk->reduction, err)) != HANAMI_OK)
		return st;
	if ((st = HnOptionInt(obj, "batch_size", 1, 65536, &i, &found, err)) != HANAMI_OK)
		return st;
	if (found && i != 1)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Growth happens row by row, so training is online.",
						  "networks of kind \"hanami\" train with \"batch_size\" 1");
	if ((st = HnOptionString(obj, "optimizer", &name, err)) != HANAMI_OK)
		return st;
	if (name != NULL && strcmp(name, "sgd") != 0)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "networks of kind \"hanami\" train with the \"sgd\" optimizer only");
	return HANAMI_OK;
}
