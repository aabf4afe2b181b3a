/*
 * dense/options.c - the options of a dense fit (options.h): the optimizer
 * and its settings, batches, the validation split, rescaling, the layers
 * to train and the loss.
 */
#include "core/dense/kind.h"

#include <float.h>
#include <stdio.h>
#include <string.h>

#include "core/dense/hebbian.h"
#include "core/dense/step.h"
#include "core/fit.h"
#include "core/options.h"

/* Every key a dense fit takes. */
const char *const DenseOptionKeys[] = {
	"target", "epochs", "batch_size", "optimizer", "learning_rate",
	"momentum", "beta1", "beta2", "epsilon", "weight_decay", "loss", "seed",
	"shuffle", "max_iterations", "timeout", "error_threshold",
	"validation_split", "to_train", "to_skip", "rescale", "verbose", "device",
	"only_if_better", "early_stopping", "restore_best", "validation_query", "checkpoint_every",
	"checkpoint_interval",
	DENSE_HEBB_OPTION_KEYS,
	NULL
};

/* Index of the layer named or numbered by v, for to_train/to_skip. */
static HnStatus
LayerIndex(const DenseNet *net, const HnJson *v, const char *key, int *out,
		   HnError *err)
{
	int			n = (int) net->hdr->n_layers;
	char		detail[HANAMI_ERRMSG_LEN];
	HnStatus	st;

	if (v->type == HN_JSON_NUMBER)
	{
		int64_t		i;

		st = HnJsonInt(v, key, 1, n - 1, &i, err);
		*out = (int) i;
		return st;
	}
	if (v->type == HN_JSON_STRING)
	{
		for (int l = 1; l < n; l++)
			if (strcmp(net->layers[l].name, v->u.text) == 0)
			{
				*out = l;
				return HANAMI_OK;
			}
		snprintf(detail, sizeof(detail),
				 "Name layers in the spec ({\"count\": 8, \"name\": \"hidden\"}) or give their index, 1 to %d.",
				 n - 1);
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
				   "option \"%s\" names unknown layer \"%s\"", key, v->u.text);
		return HnSetHint(err, detail);
	}
	return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
					  "option \"%s\" must list layer names or indexes", key);
}

/* Bit mask of the layers listed in an array option. */
static HnStatus
LayerMask(const DenseNet *net, const HnJson *v, const char *key,
		  uint64_t *mask, HnError *err)
{
	*mask = 0;
	if (v->type != HN_JSON_ARRAY)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "option \"%s\" must be an array of layer names or indexes",
						  key);
	for (size_t i = 0; i < v->n; i++)
	{
		int			l;
		HnStatus	st = LayerIndex(net, &v->u.items[i], key, &l, err);

		if (st != HANAMI_OK)
			return st;
		*mask |= (uint64_t) 1 << l;
	}
	return HANAMI_OK;
}

/* The loss option: a known loss that the output layer can learn. */
static HnStatus
LossOption(const DenseNet *net, const HnJson *obj, HnTrainOptions *t,
		   HnError *err)
{
	const char *name;
	HnActivation out = net->layers[net->hdr->n_layers - 1].activation;
	char		detail[HANAMI_ERRMSG_LEN];
	HnLoss		loss;
	HnStatus	st = HnOptionString(obj, "loss", &name, err);

	if (st != HANAMI_OK || name == NULL)
		return st;
	loss = LossFromName(name);
	if (loss == HANAMI_LOSS_DEFAULT)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
				   "unknown loss \"%s\"", name);
		return HnSetHint(err, "Valid losses are: mse, cross_entropy.");
	}
	if (loss == HANAMI_LOSS_CROSS_ENTROPY &&
		out != HANAMI_ACT_SOFTMAX && out != HANAMI_ACT_SIGMOID)
	{
		snprintf(detail, sizeof(detail), "The output layer's activation is %s.",
				 ActName(out));
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, detail,
						  "loss \"cross_entropy\" needs a softmax or sigmoid output layer");
	}
	t->loss = (int) loss;
	return HANAMI_OK;
}

/* Defaults of a dense fit, then the keys only dense fits take. */
HnStatus
DenseOptions(const HnNet *hn, const HnJson *obj, const HnAllocator *alloc,
			 HnTrainOptions *t, HnError *err)
{
	const DenseNet *net = DenseOf(hn);
	HnOptimizer optimizer = HANAMI_OPT_ADAM;
	const char *name;
	const HnJson *v;
	uint64_t	mask;
	HnStatus	st;

	if (obj != NULL &&
		(st = HnOptionString(obj, "optimizer", &name, err)) != HANAMI_OK)
		return st;
	if (obj != NULL && name != NULL)
	{
		optimizer = OptimFromName(name);
		if (optimizer == 0)
		{
			HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
					   "unknown optimizer \"%s\"", name);
			return HnSetHint(err, "Valid optimizers are: sgd, adam.");
		}
	}
	TrainOptionsDefaults(t, optimizer);
	t->train_mask = 0;
	for (uint32_t l = 1; l < net->hdr->n_layers; l++)
		t->train_mask |= (uint64_t) 1 << l;
	if (obj == NULL)
		return HANAMI_OK;

	if ((st = HnStepOptionsRead(obj, t, err)) != HANAMI_OK)
		return st;
	if ((v = HnJsonGet(obj, "to_train")) != NULL)
	{
		if ((st = LayerMask(net, v, "to_train", &mask, err)) != HANAMI_OK)
			return st;
		t->train_mask = mask;
	}
	if ((v = HnJsonGet(obj, "to_skip")) != NULL)
	{
		if ((st = LayerMask(net, v, "to_skip", &mask, err)) != HANAMI_OK)
			return st;
		t->train_mask &= ~mask;
	}
	if (t->train_mask == 0)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "options \"to_train\" and \"to_skip\" leave no layer to train");
	if ((st = LossOption(net, obj, t, err)) != HANAMI_OK)
		return st;
	/* the training rule: backpropagation, or Hebbian (dense/hebbian.c) */
	return DenseHebbReadOptions(net, obj, alloc, t, err);
}
