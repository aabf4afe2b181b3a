/*
 * options.c - the options object of fit(), verify() and train_async(): the
 * engine reads it (core/options.h: the keys every fit takes, the kind's
 * own); here the jsonb becomes its text, strings land in palloc'd memory
 * and options.device is checked against the devices there are.
 */
#include "postgres.h"

#include "errors.h"
#include "network.h"
#include "options.h"
#include "device.h"

#include "core/options.h"

/*
 * Parse options for a network.  for_training: fit's options; otherwise only
 * those of verify.  jb may be NULL (all defaults).
 */
void
HanamiParseOptions(Jsonb *jb, const HnNet *net, bool for_training,
				   HanamiOptions *o)
{
	HnAllocator alloc = HanamiPallocAllocator(CurrentMemoryContext);
	HnJsonDoc	doc = {0};
	HnError		err;
	char	   *text = NULL;
	HnStatus	st = HANAMI_OK;

	if (jb != NULL)
	{
		text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
		st = HnJsonParse(text, strlen(text), &alloc, &doc, &err);
	}
	if (st == HANAMI_OK)
		st = HnFitOptionsRead(net, doc.root, for_training, &alloc, o, &err);
	HnJsonFree(&doc);
	if (text != NULL)
		pfree(text);
	if (st != HANAMI_OK)
		HanamiReportError(&err, ERRCODE_INVALID_PARAMETER_VALUE);
	if (o->device != NULL)
		o->device = HanamiDeviceCheckOption(o->device);
}

/*
 * The options of a background job: those of a fit, for a kind whose fits
 * may run as jobs.
 */
void
HanamiParseJobOptions(Jsonb *jb, const HnNet *net, HanamiOptions *o)
{
	if (net->kind->fit == NULL || !net->kind->fit->jobs)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("background training of networks of kind \"%s\" is not supported yet",
						net->kind->name),
				 errhint("Train them with hanami.fit() or hanami.train().")));
	HanamiParseOptions(jb, net, true, o);
}

PG_FUNCTION_INFO_V1(hanami_check_options);

/* check_options(net, options): the error train_async() would raise, if any. */
Datum
hanami_check_options(PG_FUNCTION_ARGS)
{
	HanamiOptions opts;
	HnNet		net;

	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();
	HanamiGetNetworkArg(fcinfo, 0, &net);
	HanamiParseJobOptions(PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1), &net, &opts);
	PG_RETURN_VOID();
}
