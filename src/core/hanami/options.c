/*
 * hanami/options.c - the options of a hanami fit (options.h): its learning
 * rates, growth and reduction, and the cells to train.  It learns online
 * with plain gradient steps, one row at a time, on the CPU: the options of
 * the dense optimizers, batches and devices are refused with that reason.
 */
#include "core/hanami/kind.h"

#include <stdio.h>
#include <string.h>

#include "core/fit.h"
#include "core/options.h"

/* Every key a hanami fit takes, those refused with a reason included. */
const char *const HkOptionKeys[] = {
	"target", "epochs", "learning_rate", "learning_rate_end", "seed",
	"shuffle", "growth",
	"reduction", "max_iterations", "timeout", "error_threshold", "verbose",
	"batch_size", "optimizer", "only_if_better", "to_train", "to_skip",
	"checkpoint_every", "checkpoint_interval",
	/* dense options, refused with a reason below */
	"momentum", "beta1", "beta2", "epsilon", "weight_decay", "loss",
	"validation_split", "rescale", "device",
	"early_stopping", "restore_best", "validation_query", NULL
};
static const char *const validation_keys[] = {
	"early_stopping", "restore_best", "validation_query", NULL
};
static const char *const dense_only_keys[] = {
	"momentum", "beta1", "beta2", "epsilon", "weight_decay", "loss",
	"validation_split", "rescale", "device", NULL
};

/*
 * Index of the cell named or numbered (0-based, description order) by v,
 * for to_train/to_skip.
 */
static HnStatus
CellIndex(const HkNet *net, const HnJson *v, const char *key, int *out,
		  HnError *err)
{
	int			n = (int) net->gh->n_cells;
	char		detail[HANAMI_ERRMSG_LEN];
	HnStatus	st;

	if (v->type == HN_JSON_NUMBER)
	{
		int64_t		i;

		st = HnJsonInt(v, key, 0, n - 1, &i, err);
		*out = (int) i;
		return st;
	}
	if (v->type == HN_JSON_STRING)
	{
		for (int c = 0; c < n; c++)
			if (net->cells[c].name[0] != '\0' &&
				strcmp(net->cells[c].name, v->u.text) == 0)
			{
				*out = c;
				return HANAMI_OK;
			}
		snprintf(detail, sizeof(detail),
				 "Name cells in the description ({\"position\": [1, 0], \"name\": \"hidden\"}) or give their index, 0 to %d in the order of \"cells\" (hanami.info lists them).",
				 n - 1);
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
				   "option \"%s\" names unknown cell \"%s\"", key, v->u.text);
		return HnSetHint(err, detail);
	}
	return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
					  "option \"%s\" must list cell names or indexes", key);
}

/* A cell's name for a message: its name, or its index. */
static void
CellLabel(const HkNet *net, int c, char *buf, size_t len)
{
	if (net->cells[c].name[0] != '\0')
		snprintf(buf, len, "\"%s\"", net->cells[c].name);
	else
		snprintf(buf, len, "%d", c);
}

/*
 * The cells listed in an array option, as a mask.  An input cell has
 * nothing to learn (no section ends in it, its neurons have no bias): to
 * train one is an error, since the fit would not do what was asked; to
 * skip one is allowed, it changes nothing.
 */
static HnStatus
CellMask(const HkNet *net, const HnJson *v, const char *key,
		 uint64_t *mask, HnError *err)
{
	memset(mask, 0, sizeof(uint64_t) * (HK_MAX_CELLS / 64));
	if (v->type != HN_JSON_ARRAY)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "option \"%s\" must be an array of cell names or indexes",
						  key);
	for (size_t i = 0; i < v->n; i++)
	{
		int			c = 0;
		HnStatus	st = CellIndex(net, &v->u.items[i], key, &c, err);
		char		label[HANAMI_NAME_LEN + 8];

		if (st != HANAMI_OK)
			return st;
		if (net->cells[c].type == HK_CELL_INPUT && strcmp(key, "to_train") == 0)
		{
			CellLabel(net, c, label, sizeof(label));
			return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
							  "An input cell holds the input values: no section ends in it and its neurons have no bias.",
							  "option \"to_train\" lists input cell %s, which has nothing to train",
							  label);
		}
		mask[c / 64] |= (uint64_t) 1 << (c % 64);
	}
	return HANAMI_OK;
}

/*
 * to_train and to_skip into hk->frozen: the cells listed in to_train (all
 * when it is absent), less those in to_skip, learn; at least one must.
 */
static HnStatus
TrainCells(const HkNet *net, const HnJson *obj, HkTrainOptions *hk,
		   HnError *err)
{
	uint64_t	train[HK_MAX_CELLS / 64];
	uint64_t	skip[HK_MAX_CELLS / 64];
	const HnJson *v;
	HnStatus	st;
	bool		any = false;

	memset(train, 0, sizeof(train));
	memset(skip, 0, sizeof(skip));
	if ((v = HnJsonGet(obj, "to_train")) != NULL)
	{
		if ((st = CellMask(net, v, "to_train", train, err)) != HANAMI_OK)
			return st;
	}
	else
		for (uint32_t c = 0; c < net->gh->n_cells; c++)
			train[c / 64] |= (uint64_t) 1 << (c % 64);
	if ((v = HnJsonGet(obj, "to_skip")) != NULL &&
		(st = CellMask(net, v, "to_skip", skip, err)) != HANAMI_OK)
		return st;
	memset(hk->frozen, 0, sizeof(hk->frozen));
	for (uint32_t c = 0; c < net->gh->n_cells; c++)
	{
		bool		learns = ((train[c / 64] & ~skip[c / 64]) >> (c % 64)) & 1;

		if (net->cells[c].type == HK_CELL_INPUT)
			continue;
		if (learns)
			any = true;
		else
			hk->frozen[c / 64] |= (uint64_t) 1 << (c % 64);
	}
	if (!any)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "options \"to_train\" and \"to_skip\" leave no cell to train");
	return HANAMI_OK;
}

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
			return HnSetHint(err, "Its options are: target, epochs, learning_rate, learning_rate_end, seed, shuffle, growth, reduction, to_train, to_skip, max_iterations, timeout, error_threshold, verbose, checkpoint_every, checkpoint_interval.");
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
		(st = HnOptionBool(obj, "reduction", &hk->reduction, err)) != HANAMI_OK ||
		(st = TrainCells(HkOf(net), obj, hk, err)) != HANAMI_OK)
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
