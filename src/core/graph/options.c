/*
 * graph/options.c - the options of a graph fit (options.h): the dense
 * kind's optimizer and batch options, and the layers to train named as the
 * graph names them.  A graph trains on the CPU, and its losses are its
 * output layers' own: "device" other than cpu or auto and "loss" are
 * refused with that reason.
 */
#include "core/graph/graph.h"

#include <stdio.h>
#include <string.h>

#include "core/fit.h"
#include "core/options.h"

/* Every key a graph fit takes, those refused with a reason included. */
const char *const GraphOptionKeys[] = {
	"target", "epochs", "batch_size", "optimizer", "learning_rate",
	"momentum", "beta1", "beta2", "epsilon", "weight_decay", "seed",
	"shuffle", "max_iterations", "timeout", "error_threshold",
	"validation_split", "to_train", "to_skip", "rescale", "verbose", "device",
	"only_if_better", "early_stopping", "restore_best", "validation_query",
	"checkpoint_every", "checkpoint_interval", "loss", NULL
};

/* The layer an element of to_train/to_skip names (a name or an index). */
static HnStatus
LayerIndex(const GraphNet *net, const HnJson *v, const char *key, int *out,
		   HnError *err)
{
	int			n = (int) net->hdr->n_layers;
	char		who[HANAMI_NAME_LEN + 16];
	HnStatus	st;

	if (v->type == HN_JSON_NUMBER)
	{
		int64_t		i;

		if ((st = HnJsonInt(v, key, 0, n - 1, &i, err)) != HANAMI_OK)
			return st;
		*out = (int) i;
	}
	else if (v->type == HN_JSON_STRING)
	{
		*out = GraphFind(net, v->u.text);
		if (*out < 0)
		{
			HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
					   "option \"%s\" names unknown layer \"%s\"", key,
					   v->u.text);
			return HnSetHint(err, "Name the graph's layers (hanami.info lists them) or give their index in \"layers\".");
		}
	}
	else
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "option \"%s\" must list layer names or indexes", key);
	if (net->layers[*out].role == GRAPH_ROLE_INPUT && strcmp(key, "to_train") == 0)
	{
		GraphLabel(net->layers, *out, who, sizeof(who));
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "An input layer holds a part of each row's features and has no weights.",
						  "option \"to_train\" lists input %s, which has nothing to train",
						  who);
	}
	if ((net->layers[*out].flags & GRAPH_LAYER_FROZEN) &&
		strcmp(key, "to_train") == 0)
	{
		GraphLabel(net->layers, *out, who, sizeof(who));
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
				   "It came from a network embedded with \"frozen\": true; no fit changes its weights.",
				   "option \"to_train\" lists frozen %s", who);
		return HnSetHint(err, "Embed the network with \"frozen\": false to train its layers.");
	}
	return HANAMI_OK;
}

/* The layers listed in an array option, as a mask. */
static HnStatus
LayerMask(const GraphNet *net, const HnJson *v, const char *key,
		  uint64_t *mask, HnError *err)
{
	*mask = 0;
	if (v->type != HN_JSON_ARRAY)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "option \"%s\" must be an array of layer names or indexes",
						  key);
	for (size_t i = 0; i < v->n; i++)
	{
		int			l = 0;
		HnStatus	st = LayerIndex(net, &v->u.items[i], key, &l, err);

		if (st != HANAMI_OK)
			return st;
		*mask |= (uint64_t) 1 << l;
	}
	return HANAMI_OK;
}

/* Defaults of a graph fit, then the keys only it reads. */
HnStatus
GraphOptions(const HnNet *hn, const HnJson *obj, const HnAllocator *alloc,
			 HnTrainOptions *t, HnError *err)
{
	const GraphNet *net = GraphOf(hn);
	HnOptimizer optimizer = HANAMI_OPT_ADAM;
	const char *name = NULL;
	const HnJson *v;
	uint64_t	mask;
	HnStatus	st;

	if (obj != NULL &&
		(st = HnOptionString(obj, "optimizer", &name, err)) != HANAMI_OK)
		return st;
	if (name != NULL && (optimizer = OptimFromName(name)) == 0)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
				   "unknown optimizer \"%s\"", name);
		return HnSetHint(err, "Valid optimizers are: sgd, adam.");
	}
	TrainOptionsDefaults(t, optimizer);
	t->train_mask = GraphTrainableMask(net);
	/* rows that depend on each other are taken in the query's order */
	t->shuffle = !GraphHasHistory(net);
	if (obj == NULL)
		return HANAMI_OK;
	if (HnJsonGet(obj, "loss") != NULL)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
				   "Each output layer of a graph has its own loss, given in the description.",
				   "option \"loss\" does not apply to networks of kind \"graph\"");
		return HnSetHint(err, "Give an output layer \"loss\" in the description, e.g. {\"count\": 10, \"output\": true, \"loss\": \"cross_entropy\"}.");
	}
	if ((st = HnOptionString(obj, "device", &name, err)) != HANAMI_OK)
		return st;
	if (name != NULL && strcmp(name, "cpu") != 0 && strcmp(name, "auto") != 0)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Graph networks train and run on the CPU; the OpenCL backend runs layered and growing networks.",
						  "option \"device\" \"%s\" does not apply to networks of kind \"graph\"",
						  name);
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
	if ((t->train_mask & GraphTrainableMask(net)) == 0)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "options \"to_train\" and \"to_skip\" leave no layer to train");
	return HANAMI_OK;
}
