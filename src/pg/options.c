/*
 * options.c - the options object of fit() and verify(): every key is known,
 * every value has the right type and range, or the call fails naming it.
 */
#include "glue.h"

#include <float.h>

#include "core/dense/kind.h"
#include "device.h"
#include "lib/stringinfo.h"

static const char *const train_keys[] = {
	"target", "epochs", "batch_size", "optimizer", "learning_rate",
	"momentum", "beta1", "beta2", "epsilon", "weight_decay", "loss", "seed",
	"shuffle", "max_iterations", "timeout", "error_threshold",
	"validation_split", "to_train", "to_skip", "rescale", "verbose", "device",
	NULL
};
static const char *const eval_keys[] = {"target", NULL};

/* A number option that must lie in [lo, hi] (lo itself excluded when lo_excl). */
double
HanamiOptionNumber(JsonbValue *v, const char *key, double lo, double hi, bool lo_excl)
{
	double		d = HanamiJsonbNumber(v, key);

	if ((lo_excl ? d <= lo : d < lo) || d > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" is out of range", key),
				 errdetail("It must be %s %g and at most %g.",
						   lo_excl ? "greater than" : "at least", lo, hi)));
	return d;
}

/* Index of the layer named or numbered by v, for to_train/to_skip. */
static int
LayerIndex(const DenseNet *net, JsonbValue *v, const char *key)
{
	int			n = (int) net->hdr->n_layers;

	if (v->type == jbvNumeric)
	{
		int64		i = HanamiJsonbInt(v, key, 1, n - 1);

		return (int) i;
	}
	if (v->type == jbvString)
	{
		char	   *name = HanamiJsonbString(v, key);

		for (int l = 1; l < n; l++)
			if (strcmp(net->layers[l].name, name) == 0)
				return l;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" names unknown layer \"%s\"", key, name),
				 errhint("Name layers in the spec ({\"count\": 8, \"name\": \"hidden\"}) or give their index, 1 to %d.",
						 n - 1)));
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s\" must list layer names or indexes", key)));
	return 0;
}

/* Bit mask of the layers listed in an array option. */
static uint64
LayerMask(const DenseNet *net, JsonbValue *v, const char *key)
{
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken tok;
	uint64		mask = 0;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be an array of layer names or indexes", key)));
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
		if (tok == WJB_ELEM)
			mask |= UINT64CONST(1) << LayerIndex(net, &elem, key);
	return mask;
}

/*
 * Parse options for a network.  for_training: fit's options; otherwise only
 * those of verify.  jb may be NULL (all defaults).
 */
void
HanamiParseOptions(Jsonb *jb, const HnNet *any, bool for_training,
				   HanamiOptions *o)
{
	const DenseNet *net = DenseOf(any);	/* the options of a dense fit */
	JsonbContainer *obj;
	JsonbValue *v;
	HnOptimizer optimizer = HANAMI_OPT_ADAM;
	uint64		all_layers = 0;

	memset(o, 0, sizeof(*o));
	/* fit() and train() handle growing networks in hanami_fit.c */
	if (for_training && net == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("background training of networks of kind \"%s\" is not supported yet",
						any->kind->name),
				 errhint("Train them with hanami.fit() or hanami.train().")));
	for (uint32 l = 1; l < any->hdr->n_layers; l++)
		all_layers |= UINT64CONST(1) << l;

	if (jb && (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object")));
	obj = jb ? &jb->root : NULL;
	if (obj)
		HanamiJsonbCheckKeys(obj, "option", for_training ? train_keys : eval_keys);

	if (obj && (v = HanamiJsonbGet(obj, "target")) != NULL)
		o->target = HanamiJsonbString(v, "option \"target\"");

	if (obj && (v = HanamiJsonbGet(obj, "optimizer")) != NULL)
	{
		char	   *name = HanamiJsonbString(v, "option \"optimizer\"");

		optimizer = OptimFromName(name);
		if (optimizer == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown optimizer \"%s\"", name),
					 errhint("Valid optimizers are: sgd, adam.")));
	}
	TrainOptionsDefaults(&o->train, optimizer);
	o->train.train_mask = all_layers;
	o->train.seed = (uint64) any->hdr->seed * 1000003 + any->hdr->epochs;
	if (!obj || !for_training)
		return;

	if ((v = HanamiJsonbGet(obj, "epochs")) != NULL)
		o->train.epochs = (int) HanamiJsonbInt(v, "option \"epochs\"", 1, 1000000);
	if ((v = HanamiJsonbGet(obj, "batch_size")) != NULL)
		o->train.batch_size = (int) HanamiJsonbInt(v, "option \"batch_size\"", 1, 65536);
	if ((v = HanamiJsonbGet(obj, "learning_rate")) != NULL)
		o->train.optim.learning_rate = HanamiOptionNumber(v, "learning_rate", 0, 1e3, true);
	if ((v = HanamiJsonbGet(obj, "momentum")) != NULL)
		o->train.optim.momentum = HanamiOptionNumber(v, "momentum", 0, 0.999999, false);
	if ((v = HanamiJsonbGet(obj, "beta1")) != NULL)
		o->train.optim.beta1 = HanamiOptionNumber(v, "beta1", 0, 0.999999, false);
	if ((v = HanamiJsonbGet(obj, "beta2")) != NULL)
		o->train.optim.beta2 = HanamiOptionNumber(v, "beta2", 0, 0.999999999, false);
	if ((v = HanamiJsonbGet(obj, "epsilon")) != NULL)
		o->train.optim.epsilon = HanamiOptionNumber(v, "epsilon", 0, 1, true);
	if ((v = HanamiJsonbGet(obj, "weight_decay")) != NULL)
		o->train.optim.weight_decay = HanamiOptionNumber(v, "weight_decay", 0, 1, false);
	if ((v = HanamiJsonbGet(obj, "seed")) != NULL)
		o->train.seed = (uint64) HanamiJsonbInt(v, "option \"seed\"", 0, PG_INT64_MAX);
	if ((v = HanamiJsonbGet(obj, "shuffle")) != NULL)
		o->train.shuffle = HanamiJsonbBool(v, "option \"shuffle\"");
	if ((v = HanamiJsonbGet(obj, "max_iterations")) != NULL)
		o->train.max_iterations = HanamiJsonbInt(v, "option \"max_iterations\"", 0, PG_INT64_MAX);
	if ((v = HanamiJsonbGet(obj, "timeout")) != NULL)
		o->train.timeout = HanamiOptionNumber(v, "timeout", 0, 1e9, false);
	if ((v = HanamiJsonbGet(obj, "error_threshold")) != NULL)
		o->train.error_threshold = HanamiOptionNumber(v, "error_threshold", 0, DBL_MAX, false);
	if ((v = HanamiJsonbGet(obj, "validation_split")) != NULL)
		o->train.validation_split = HanamiOptionNumber(v, "validation_split", 0, 0.99, false);
	if ((v = HanamiJsonbGet(obj, "rescale")) != NULL)
		o->train.rescale = HanamiJsonbBool(v, "option \"rescale\"");
	if ((v = HanamiJsonbGet(obj, "verbose")) != NULL)
		o->verbose = HanamiJsonbBool(v, "option \"verbose\"");
	if ((v = HanamiJsonbGet(obj, "device")) != NULL)
		o->device = HanamiDeviceCheckOption(HanamiJsonbString(v, "option \"device\""));

	if ((v = HanamiJsonbGet(obj, "to_train")) != NULL)
		o->train.train_mask = LayerMask(net, v, "to_train");
	if ((v = HanamiJsonbGet(obj, "to_skip")) != NULL)
		o->train.train_mask &= ~LayerMask(net, v, "to_skip");
	if (o->train.train_mask == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"to_train\" and \"to_skip\" leave no layer to train")));

	if ((v = HanamiJsonbGet(obj, "loss")) != NULL)
	{
		char	   *name = HanamiJsonbString(v, "option \"loss\"");
		HnActivation out = net->layers[net->hdr->n_layers - 1].activation;

		o->loss = LossFromName(name);
		if (o->loss == HANAMI_LOSS_DEFAULT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown loss \"%s\"", name),
					 errhint("Valid losses are: mse, cross_entropy.")));
		if (o->loss == HANAMI_LOSS_CROSS_ENTROPY &&
			out != HANAMI_ACT_SOFTMAX && out != HANAMI_ACT_SIGMOID)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("loss \"cross_entropy\" needs a softmax or sigmoid output layer"),
					 errdetail("The output layer's activation is %s.", ActName(out))));
		o->loss_set = true;
	}
}

PG_FUNCTION_INFO_V1(hanami_check_options);

/* check_options(net, options): the error fit() would raise, if any. */
Datum
hanami_check_options(PG_FUNCTION_ARGS)
{
	HanamiOptions opts;
	HnNet		net;

	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();
	HanamiGetNetworkArg(fcinfo, 0, &net);
	HanamiParseOptions(PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1), &net, true, &opts);
	PG_RETURN_VOID();
}
