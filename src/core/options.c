/*
 * options.c - reading the options object of fit() and verify(): the keys
 * every fit takes; the kind reads its own (fit.h HnKindFit.options).
 */
#include "core/options.h"

#include <float.h>
#include <stdio.h>
#include <string.h>

static const char *const verify_keys[] = {
	"target", "inputs", "targets", "sequence", NULL
};

/* keys every fit takes whatever its kind (ports.h; sequences) */
static const char *const port_keys[] = {"inputs", "targets", "sequence", NULL};
static const char *const early_stopping_keys[] = {"patience", "min_delta", NULL};

/* A number option in [lo, hi]; see options.h. */
HnStatus
HnOptionNumber(const HnJson *v, const char *key, double lo, double hi,
			   bool lo_excl, double *out, HnError *err)
{
	char		detail[HANAMI_ERRMSG_LEN];
	HnStatus	st = HnJsonNumber(v, key, out, err);

	if (st != HANAMI_OK)
		return st;
	if ((lo_excl ? *out <= lo : *out < lo) || *out > hi)
	{
		snprintf(detail, sizeof(detail), "It must be %s %g and at most %g.",
				 lo_excl ? "greater than" : "at least", lo, hi);
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, detail,
						  "option \"%s\" is out of range", key);
	}
	return HANAMI_OK;
}

/* "option "key"", as messages name an option. */
static const char *
OptionName(const char *key, char *buf, size_t len)
{
	snprintf(buf, len, "option \"%s\"", key);
	return buf;
}

/* An integer option; *found says whether obj has it (out untouched if not). */
HnStatus
HnOptionInt(const HnJson *obj, const char *key, int64_t min, int64_t max,
			int64_t *out, bool *found, HnError *err)
{
	const HnJson *v = HnJsonGet(obj, key);
	char		name[64];

	if (found)
		*found = v != NULL;
	if (v == NULL)
		return HANAMI_OK;
	return HnJsonInt(v, OptionName(key, name, sizeof(name)), min, max, out, err);
}

/* A boolean option; out untouched when obj does not have it. */
HnStatus
HnOptionBool(const HnJson *obj, const char *key, bool *out, HnError *err)
{
	const HnJson *v = HnJsonGet(obj, key);
	char		name[64];

	if (v == NULL)
		return HANAMI_OK;
	return HnJsonBool(v, OptionName(key, name, sizeof(name)), out, err);
}

/* A string option (NULL when obj does not have it). */
HnStatus
HnOptionString(const HnJson *obj, const char *key, const char **out,
			   HnError *err)
{
	const HnJson *v = HnJsonGet(obj, key);
	char		name[64];

	*out = NULL;
	if (v == NULL)
		return HANAMI_OK;
	return HnJsonString(v, OptionName(key, name, sizeof(name)), out, err);
}

/* A copy of s from alloc (NULL stays NULL). */
static HnStatus
OptionCopy(const char *s, const HnAllocator *alloc, char **out, HnError *err)
{
	size_t		n;

	*out = NULL;
	if (s == NULL)
		return HANAMI_OK;
	n = strlen(s) + 1;
	*out = HnAlloc(alloc, n);
	if (*out == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for options");
	memcpy(*out, s, n);
	return HANAMI_OK;
}

/*
 * Option key, a query: a string that is not blank, copied from alloc to
 * *out (NULL when absent); detail says what the query is for.
 */
static HnStatus
QueryOption(const HnJson *obj, const char *key, const char *detail,
			const HnAllocator *alloc, char **out, HnError *err)
{
	const char *q;
	HnStatus	st;

	*out = NULL;
	if ((st = HnOptionString(obj, key, &q, err)) != HANAMI_OK)
		return st;
	if (q != NULL && q[strspn(q, " \t\r\n")] == '\0')
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, detail,
						  "option \"%s\" must not be empty", key);
	return OptionCopy(q, alloc, out, err);
}

/*
 * early_stopping: a patience (an integer >= 1) or {"patience": N,
 * "min_delta": D}; restore_best follows it unless given.
 */
static HnStatus
EarlyStoppingOption(const HnJson *obj, HnTrainOptions *t, HnError *err)
{
	const HnJson *v = HnJsonGet(obj, "early_stopping");
	const HnJson *d;
	int64_t		i;
	HnStatus	st;

	if (v == NULL)
		return HANAMI_OK;
	if (v->type == HN_JSON_OBJECT)
	{
		if ((st = HnJsonCheckKeys(v, "early_stopping key",
								  early_stopping_keys, err)) != HANAMI_OK)
			return st;
		if (HnJsonGet(v, "patience") == NULL)
			return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
							  "For example {\"patience\": 5, \"min_delta\": 0}.",
							  "option \"early_stopping\" needs \"patience\"");
		if ((st = HnJsonInt(HnJsonGet(v, "patience"),
							"option \"early_stopping\" key \"patience\"",
							1, 1000000, &i, err)) != HANAMI_OK)
			return st;
		if ((d = HnJsonGet(v, "min_delta")) != NULL)
		{
			if ((st = HnJsonNumber(d, "option \"early_stopping\" key \"min_delta\"",
								   &t->min_delta, err)) != HANAMI_OK)
				return st;
			if (!(t->min_delta >= 0 && t->min_delta <= 1e30))
				return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
								  "It must be at least 0 and at most 1e+30.",
								  "option \"early_stopping\" key \"min_delta\" is out of range");
		}
	}
	else if (v->type == HN_JSON_NUMBER)
	{
		if ((st = HnJsonInt(v, "option \"early_stopping\"", 1, 1000000, &i,
							err)) != HANAMI_OK)
			return st;
	}
	else
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Give the patience in epochs (5), or {\"patience\": 5, \"min_delta\": 0}.",
						  "option \"early_stopping\" must be an integer or an object, not %s",
						  HnJsonTypeName(v));
	t->patience = (int) i;
	t->restore_best = true;
	return HANAMI_OK;
}

/* The keys every fit reads the same way, after the kind's. */
static HnStatus
CommonOptions(const HnNet *net, const HnJson *obj, const HnAllocator *alloc,
			  HnFitOptions *o, HnError *err)
{
	HnTrainOptions *t = &o->train;
	const HnJson *v;
	const char *device;
	int64_t		i;
	bool		found;
	HnStatus	st;

	if ((st = HnOptionInt(obj, "epochs", 0, 1000000, &i, &found, err)) != HANAMI_OK)
		return st;
	if (found)
		t->epochs = (int) i;
	if ((st = HnOptionInt(obj, "seed", 0, INT64_MAX, &i, &found, err)) != HANAMI_OK)
		return st;
	if (found)
		t->seed = (uint64_t) i;
	if ((st = HnOptionBool(obj, "shuffle", &t->shuffle, err)) != HANAMI_OK)
		return st;
	if ((st = HnOptionInt(obj, "max_iterations", 0, INT64_MAX, &i, &found, err)) != HANAMI_OK)
		return st;
	if (found)
		t->max_iterations = i;
	if ((v = HnJsonGet(obj, "timeout")) != NULL &&
		(st = HnOptionNumber(v, "timeout", 0, 1e9, false, &t->timeout,
							 err)) != HANAMI_OK)
		return st;
	if ((v = HnJsonGet(obj, "error_threshold")) != NULL &&
		(st = HnOptionNumber(v, "error_threshold", 0, DBL_MAX, false,
							 &t->error_threshold, err)) != HANAMI_OK)
		return st;
	if ((st = EarlyStoppingOption(obj, t, err)) != HANAMI_OK ||
		(st = HnOptionBool(obj, "restore_best", &t->restore_best,
						   err)) != HANAMI_OK)
		return st;
	if ((st = HnOptionBool(obj, "verbose", &o->verbose, err)) != HANAMI_OK)
		return st;
	/* checkpoints of a background job: 0 turns one rule off */
	if ((st = HnOptionInt(obj, "checkpoint_every", 0, 1000000, &i, &found, err)) != HANAMI_OK)
		return HnSetHint(err, "Give the epochs between checkpoints, or 0 for none.");
	if (found)
		t->checkpoint_every = (int) i;
	if ((v = HnJsonGet(obj, "checkpoint_interval")) != NULL &&
		(st = HnOptionNumber(v, "checkpoint_interval", 0, 1e9, false,
							 &t->checkpoint_interval, err)) != HANAMI_OK)
		return HnSetHint(err, "Give the seconds between checkpoints, or 0 for none.");
	if ((st = HnOptionString(obj, "device", &device, err)) != HANAMI_OK ||
		(st = OptionCopy(device, alloc, &o->device, err)) != HANAMI_OK)
		return st;
	/* queries, checked when they run; here only that there are some */
	if ((st = QueryOption(obj, "only_if_better",
						  "It is the query both networks are measured on, like verify()'s.",
						  alloc, &o->only_if_better, err)) != HANAMI_OK)
		return st;
	return QueryOption(obj, "validation_query",
					   "It is the query of the rows measured every epoch, like verify()'s.",
					   alloc, &o->validation_query, err);
}

/* Whether key is one of keys (NULL-terminated). */
static bool
OptionListed(const char *const *keys, const char *key)
{
	for (; *keys; keys++)
		if (strcmp(*keys, key) == 0)
			return true;
	return false;
}

/*
 * Error unless every key of obj is one of keys or of port_keys: the kind's
 * list and the keys of every kind, checked as one list.
 */
static HnStatus
CheckKeys(const HnJson *obj, const char *const *keys,
		  const HnAllocator *alloc, HnError *err)
{
	const char **all;
	size_t		n = 0;
	size_t		k = 0;
	HnStatus	st;

	while (keys[n])
		n++;
	all = HnAlloc(alloc, (n + sizeof(port_keys) / sizeof(port_keys[0])) *
				  sizeof(char *));
	if (all == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for options");
	for (size_t i = 0; i < n; i++)
		all[k++] = keys[i];
	for (const char *const *p = port_keys; *p; p++)
		if (!OptionListed(keys, *p))
			all[k++] = *p;
	all[k] = NULL;
	st = HnJsonCheckKeys(obj, "option", all, err);
	HnFree(alloc, all);
	return st;
}

/*
 * "sequence": a column name, for a network whose rows depend on each other
 * and, in a fit, a kind whose stepper knows where sequences begin.
 */
static HnStatus
SequenceOption(const HnNet *net, const HnJson *obj, bool for_training,
			   const HnAllocator *alloc, char **out, HnError *err)
{
	const char *name;
	HnStatus	st;

	if ((st = HnOptionString(obj, "sequence", &name, err)) != HANAMI_OK)
		return st;
	if (name == NULL)
		return HANAMI_OK;
	if (HnRowsIndependent(net))
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
				   "The rows of this network never depend on each other, so there is no sequence to cut.",
				   "option \"sequence\" does not apply to this network");
		return HnSetHint(err, "Sequences are for networks that carry a state from row to row: a graph with \"history\" layers.");
	}
	if (for_training && !net->kind->fit->sequences)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Its fits take the rows as one sequence; verify() takes the option.",
						  "option \"sequence\" does not apply to fits of networks of kind \"%s\"",
						  net->kind->name);
	if (name[0] == '\0')
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "It names the column whose runs of equal values are the sequences.",
						  "option \"sequence\" must not be empty");
	return OptionCopy(name, alloc, out, err);
}

/* Read the options of a fit or a verify; see options.h. */
HnStatus
HnFitOptionsRead(const HnNet *net, const HnJson *obj, bool for_training,
				 const HnAllocator *alloc, HnFitOptions *o, HnError *err)
{
	const HnKindFit *kf = net->kind->fit;
	const char *target;
	HnStatus	st;

	memset(o, 0, sizeof(*o));
	if (obj != NULL && HnJsonObject(obj, "options", err) != HANAMI_OK)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "options must be a JSON object");
	if (for_training && kf == NULL)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "networks of kind \"%s\" cannot be trained",
						  net->kind->name);
	/* a kind that learns by one rule only says so, naming the option */
	if (obj != NULL && for_training && HnJsonGet(obj, "rule") != NULL &&
		!OptionListed(kf->option_keys, "rule"))
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
				   "option \"rule\" does not apply to networks of kind \"%s\"",
				   net->kind->name);
		return HnSetHint(err, "Networks of this kind learn by their own rule only; \"rule\": \"hebbian\" is for layered networks (docs/graia.md).");
	}
	if (obj != NULL &&
		(st = CheckKeys(obj, for_training ? kf->option_keys : verify_keys,
						alloc, err)) != HANAMI_OK)
		return st;
	if (obj != NULL &&
		((st = HnOptionString(obj, "target", &target, err)) != HANAMI_OK ||
		 (st = OptionCopy(target, alloc, &o->target, err)) != HANAMI_OK))
		return st;
	if (o->target != NULL && HnJsonGet(obj, "targets") != NULL)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "\"target\" names the one target column; \"targets\" names one for each output layer.",
						  "options \"target\" and \"targets\" cannot be given together");
	if ((st = HnPortMapRead(net, obj, "inputs", alloc, &o->inputs,
							err)) != HANAMI_OK ||
		(st = HnPortMapRead(net, obj, "targets", alloc, &o->targets,
							err)) != HANAMI_OK)
		return st;
	if (obj != NULL &&
		(st = SequenceOption(net, obj, for_training, alloc, &o->sequence,
							 err)) != HANAMI_OK)
		return st;
	if (!for_training)
		return HANAMI_OK;
	/* the kind's defaults and keys, then the shared ones */
	st = kf->options(net, obj, alloc, &o->train, err);
	if (st != HANAMI_OK)
		return st;
	/* each fit of a network draws differently unless a seed is given */
	o->train.seed = (uint64_t) net->hdr->seed * 1000003 + net->hdr->epochs;
	return obj == NULL ? HANAMI_OK : CommonOptions(net, obj, alloc, o, err);
}

/* See options.h. */
HnStatus
HnOptionFloat(const HnJson *obj, const char *key, double lo, double hi,
			  bool lo_excl, float *out, HnError *err)
{
	const HnJson *v = HnJsonGet(obj, key);
	double		d;
	HnStatus	st;

	if (v == NULL)
		return HANAMI_OK;
	st = HnOptionNumber(v, key, lo, hi, lo_excl, &d, err);
	if (st == HANAMI_OK)
		*out = (float) d;
	return st;
}

/* See options.h. */
HnStatus
HnStepOptionsRead(const HnJson *obj, HnTrainOptions *t, HnError *err)
{
	const HnJson *v;
	int64_t		i;
	bool		found;
	HnStatus	st;

	if ((st = HnOptionInt(obj, "batch_size", 1, 65536, &i, &found, err)) != HANAMI_OK)
		return st;
	if (found)
		t->batch_size = (int) i;
	if ((st = HnOptionFloat(obj, "learning_rate", 0, 1e3, true,
							&t->optim.learning_rate, err)) != HANAMI_OK ||
		(st = HnOptionFloat(obj, "momentum", 0, 0.999999, false,
							&t->optim.momentum, err)) != HANAMI_OK ||
		(st = HnOptionFloat(obj, "beta1", 0, 0.999999, false,
							&t->optim.beta1, err)) != HANAMI_OK ||
		(st = HnOptionFloat(obj, "beta2", 0, 0.999999999, false,
							&t->optim.beta2, err)) != HANAMI_OK ||
		(st = HnOptionFloat(obj, "epsilon", 0, 1, true,
							&t->optim.epsilon, err)) != HANAMI_OK ||
		(st = HnOptionFloat(obj, "weight_decay", 0, 1, false,
							&t->optim.weight_decay, err)) != HANAMI_OK)
		return st;
	if ((v = HnJsonGet(obj, "validation_split")) != NULL &&
		(st = HnOptionNumber(v, "validation_split", 0, 0.99, false,
							 &t->validation_split, err)) != HANAMI_OK)
		return st;
	return HnOptionBool(obj, "rescale", &t->rescale, err);
}
