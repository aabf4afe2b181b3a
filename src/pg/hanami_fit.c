/*
 * hanami_fit.c - fit() and verify() for growing ("hanami") networks: their
 * options, training on a query's rows with an image that may grow, and
 * evaluation.  fit.c dispatches here on the network's kind.
 */
#include "hanami_glue.h"

#include "utils/memutils.h"

#include "core/fit.h"
#include "core/hanami/kind.h"

/* Options of a growing network's fit. */
static const char *const grow_train_keys[] = {
	"target", "epochs", "learning_rate", "learning_rate_end", "seed",
	"shuffle", "growth",
	"reduction", "max_iterations", "timeout", "error_threshold", "verbose",
	"batch_size", "optimizer",
	/* dense options, rejected with a reason below */
	"momentum", "beta1", "beta2", "epsilon", "weight_decay", "loss",
	"validation_split", "to_train", "to_skip", "rescale", "device", NULL
};
static const char *const dense_only_keys[] = {
	"momentum", "beta1", "beta2", "epsilon", "weight_decay", "loss",
	"validation_split", "to_train", "to_skip", "rescale", "device", NULL
};

/* Parse fit options for a growing network: the driver's and the step's. */
static void
HkParseOptions(Jsonb *jb, const HkNet *net, HnTrainOptions *opt,
			   HkTrainOptions *hk, char **target, bool *verbose)
{
	JsonbContainer *obj;
	JsonbValue *v;

	HkTrainOptionsDefaults(opt, hk, net);
	opt->seed = (uint64) net->hdr->seed * 1000003 + net->hdr->epochs;
	*target = NULL;
	*verbose = false;
	if (jb == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object")));
	obj = &jb->root;
	HanamiJsonbCheckKeys(obj, "option", grow_train_keys);
	for (const char *const *k = dense_only_keys; *k; k++)
		if (HanamiJsonbGet(obj, *k) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" does not apply to networks of kind \"hanami\"", *k),
					 errdetail("A growing network learns online with plain gradient steps, one row at a time, on the CPU."),
					 errhint("Its options are: target, epochs, learning_rate, learning_rate_end, seed, shuffle, growth, reduction, max_iterations, timeout, error_threshold, verbose.")));
	if ((v = HanamiJsonbGet(obj, "target")) != NULL)
		*target = HanamiJsonbString(v, "option \"target\"");
	if ((v = HanamiJsonbGet(obj, "epochs")) != NULL)
		opt->epochs = (int) HanamiJsonbInt(v, "option \"epochs\"", 1, 1000000);
	if ((v = HanamiJsonbGet(obj, "learning_rate")) != NULL)
	{
		hk->learning_rate = (float) HanamiOptionNumber(v, "learning_rate", 0, 10, true);
		hk->learning_rate_end = hk->learning_rate / 10;
	}
	if ((v = HanamiJsonbGet(obj, "learning_rate_end")) != NULL)
		hk->learning_rate_end = (float) HanamiOptionNumber(v, "learning_rate_end", 0, 10, false);
	if ((v = HanamiJsonbGet(obj, "seed")) != NULL)
		opt->seed = (uint64) HanamiJsonbInt(v, "option \"seed\"", 0, PG_INT64_MAX);
	if ((v = HanamiJsonbGet(obj, "shuffle")) != NULL)
		opt->shuffle = HanamiJsonbBool(v, "option \"shuffle\"");
	if ((v = HanamiJsonbGet(obj, "growth")) != NULL)
		hk->grow = HanamiJsonbBool(v, "option \"growth\"");
	if ((v = HanamiJsonbGet(obj, "reduction")) != NULL)
		hk->reduction = HanamiJsonbBool(v, "option \"reduction\"");
	if ((v = HanamiJsonbGet(obj, "max_iterations")) != NULL)
		opt->max_iterations = HanamiJsonbInt(v, "option \"max_iterations\"", 0, PG_INT64_MAX);
	if ((v = HanamiJsonbGet(obj, "timeout")) != NULL)
		opt->timeout = HanamiOptionNumber(v, "timeout", 0, 1e9, false);
	if ((v = HanamiJsonbGet(obj, "error_threshold")) != NULL)
		opt->error_threshold = HanamiOptionNumber(v, "error_threshold", 0, 1e300, false);
	if ((v = HanamiJsonbGet(obj, "verbose")) != NULL)
		*verbose = HanamiJsonbBool(v, "option \"verbose\"");
	if ((v = HanamiJsonbGet(obj, "batch_size")) != NULL &&
		HanamiJsonbInt(v, "option \"batch_size\"", 1, 65536) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("networks of kind \"hanami\" train with \"batch_size\" 1"),
				 errdetail("Growth happens row by row, so training is online.")));
	if ((v = HanamiJsonbGet(obj, "optimizer")) != NULL)
	{
		char	   *name = HanamiJsonbString(v, "option \"optimizer\"");

		if (strcmp(name, "sgd") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("networks of kind \"hanami\" train with the \"sgd\" optimizer only")));
	}
}

/*
 * Evaluate a bound growing network on rows in order.  A spiking network's
 * state carries from row to row, on a copy: the value is not changed.
 */
HnStatus
HanamiHkEvaluate(const HnNet *bound, const HnDataset *data,
				 const HnCallbacks *cb, HnEvalResult *res, HnError *err)
{
	HnNet		net;
	HnRows		rows = {data, NULL, 0, NULL};
	HnAllocator alloc = HanamiPallocAllocator(CurrentMemoryContext);
	void	   *image = bound->hdr;

	NetBindTrusted(&net, image);
	if (net.kind->state_size(&net) > 0)
	{
		image = palloc_extended(net.len, MCXT_ALLOC_HUGE);
		memcpy(image, bound->hdr, net.len);
		NetBindTrusted(&net, image);
	}
	return HnEvaluate(&net, &rows, cb, &alloc, res, err);
}

/*
 * fit() of a growing network: a trained (and usually grown) copy of in,
 * with res, and eval on the training rows when eval is not NULL; history
 * collects the per-epoch reports when not NULL.
 */
HanamiNetwork *
HanamiHkFit(HanamiNetwork *in, const char *query, Jsonb *options,
			HnTrainResult *res, HnEvalResult *eval, StringInfo history)
{
	HnNet		bound;
	HkNet		net;
	HnNet		hn;
	HnTrainOptions opt;
	HkTrainOptions hk;
	char	   *target;
	bool		verbose;
	MemoryContext work_cxt;
	MemoryContext old;
	HanamiQueryData data;
	HnRows		rows = {&data.ds, NULL, 0, NULL};
	HnCallbacks cb;
	HnAllocator alloc;
	HnError		err;
	HnStatus	st;
	void	   *image;
	size_t		len = HANAMI_NET_IMAGE_LEN(in);
	HanamiNetwork *result = NULL;
	HkStats		before;
	HkStats		after;

	memset(&after, 0, sizeof(after));
	HanamiNetworkBind(in, &bound, ERRCODE_DATA_CORRUPTED);
	HkBindTrusted(&net, HANAMI_NET_IMAGE(in));
	HkGetStats(&net, &before);
	HkParseOptions(options, &net, &opt, &hk, &target, &verbose);

	/* rows, the growing image and scratch live in one context */
	work_cxt = AllocSetContextCreate(CurrentMemoryContext, "hanami grow fit",
									 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work_cxt);
	HanamiLoadQuery(query, target, &bound, &data);
	alloc = HanamiPallocAllocator(work_cxt);
	image = HnAlloc(&alloc, len);
	if (image == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory for a network of %zu bytes", len)));
	memcpy(image, HANAMI_NET_IMAGE(in), len);
	HanamiInitCallbacks(&cb, verbose);
	if (history != NULL)
		HanamiRecordHistory(&cb, history, data.ds.n);
	/* growth may move the image to a larger buffer from alloc */
	NetBindTrusted(&hn, image);
	st = HnFit(&hn, &rows, &opt, NULL, &cb, &alloc, res, &err);
	image = hn.hdr;
	len = hn.len;
	if (st == HANAMI_OK && eval != NULL)
	{
		HnNet		tmp;

		NetBindTrusted(&tmp, image);
		st = HanamiHkEvaluate(&tmp, &data.ds, &cb, eval, &err);
	}
	MemoryContextSwitchTo(old);
	if (st == HANAMI_OK)
	{
		HnNet		check;

		result = HanamiNetworkFromImage(image, len);
		/* what the engine grew is checked like any value that enters */
		HanamiNetworkBind(result, &check, ERRCODE_INTERNAL_ERROR);
		HkBindTrusted(&net, HANAMI_NET_IMAGE(result));
		HkGetStats(&net, &after);
	}
	MemoryContextDelete(work_cxt);
	HanamiCheck(st, &err);

	if (verbose)
		ereport(NOTICE,
				(errmsg("trained %d epochs on " INT64_FORMAT " rows, stopped by %s",
						res->epochs, res->train_rows, StopReasonName(res->stop)),
				 errdetail("%.3f s; %u sections and %llu synapses now (%+lld synapses, %+lld blocks; reduction removed %llu).",
						   res->seconds, after.sections,
						   (unsigned long long) after.synapses,
						   (long long) after.synapses - (long long) before.synapses,
						   (long long) after.blocks - (long long) before.blocks,
						   (unsigned long long) res->removed)));
	return result;
}
