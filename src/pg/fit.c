/*
 * fit.c - hanami.fit() and hanami.verify(): training a network value on a
 * query's rows, and measuring it on them.
 */
#include "postgres.h"

#include <math.h>

#include "errors.h"
#include "network.h"
#include "jsonutil.h"
#include "options.h"
#include "dataset.h"
#include "training.h"

#include "core/ports.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(hanami_fit);
PG_FUNCTION_INFO_V1(hanami_verify);
PG_FUNCTION_INFO_V1(hanami_fit_report);

static void AppendField(StringInfo buf, const char *key, double v);

/* Error for a NULL network or query argument. */
static void
CheckArgs(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("network must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("query must not be null")));
}

/* Options argument argno as jsonb, or NULL when SQL NULL. */
static Jsonb *
OptionsArg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NULL;
	return PG_GETARG_JSONB_P(argno);
}

/*
 * Train a copy of argument 0 on the rows of query argument 1 with options
 * argument 2.  Fills res, and, when eval is not NULL, eval with the trained
 * network measured on the same rows (eval->confusion must be NULL); when
 * history is not NULL, appends the per-epoch figures to it as JSON objects.
 */
static HanamiNetwork *
FitCommon(FunctionCallInfo fcinfo, HnTrainResult *res, HnEvalResult *eval,
		  StringInfo history, HanamiComparison *cmp)
{
	HnNet		in;
	HnNet		net;
	HanamiNetwork *result = NULL;
	char	   *query;
	HanamiOptions opts;
	HnCallbacks cb;
	HnError		err;
	MemoryContext work_cxt;
	MemoryContext old;
	HnStatus	st;
	void	   *image;
	char		note[HANAMI_ERRMSG_LEN];

	CheckArgs(fcinfo);
	query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	HanamiGetNetworkArg(fcinfo, 0, &in);
	HanamiParseOptions(OptionsArg(fcinfo, 2), &in, true, &opts);
	if (opts.only_if_better != NULL && cmp == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"only_if_better\" is for named models"),
				 errdetail("It compares the trained network with the head of the branch it was trained from."),
				 errhint("Use hanami.train() or hanami.train_async(), or compare with hanami.verify().")));
	if (cmp != NULL)
		cmp->metric = NULL;

	/*
	 * Rows, engine buffers and the image trained (a copy: the input value
	 * is never modified; a growing kind may move it) live in one context,
	 * freed on return.
	 */
	work_cxt = AllocSetContextCreate(CurrentMemoryContext, "hanami fit",
									 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work_cxt);
	image = palloc_extended(in.len, MCXT_ALLOC_HUGE);
	memcpy(image, in.hdr, in.len);
	NetBindTrusted(&net, image);
	HanamiInitCallbacks(&cb, opts.verbose);
	if (history != NULL)
		HanamiRecordHistory(&cb, history, 0);
	/* in memory when the rows fit hanami.dataset_memory, else streamed */
	st = HanamiTrainQuery(query, &opts, &net, &cb, work_cxt, res, eval, &err);
	MemoryContextSwitchTo(old);
	note[0] = '\0';
	if (st == HANAMI_OK)
	{
		HnNet		check;

		result = HanamiNetworkFromImage(net.hdr, net.len);
		/* what the engine built is checked like any value that enters */
		HanamiNetworkBind(result, &check, ERRCODE_INTERNAL_ERROR);
		if (opts.verbose && net.kind->fit->fit_note)
			net.kind->fit->fit_note(&in, &check, res, note, sizeof(note));
	}
	MemoryContextDelete(work_cxt);
	HanamiCheck(st, &err);
	/* the input (the branch head) against what it became */
	if (opts.only_if_better != NULL)
	{
		HnNet		trained;

		HanamiNetworkBind(result, &trained, ERRCODE_INTERNAL_ERROR);
		HanamiCompareOnQuery(&in, &trained, opts.only_if_better, &opts, cmp);
	}

	if (opts.verbose)
		ereport(NOTICE,
				(errmsg("trained %d epochs on " INT64_FORMAT " rows, stopped by %s",
						res->epochs, res->train_rows, StopReasonName(res->stop)),
				 errdetail("%.3f s%s.", res->seconds, note)));
	return result;
}

/*
 * fit(net, query, options) -> network: a copy of net trained on the query's
 * rows.  The input value is never modified.
 */
Datum
hanami_fit(PG_FUNCTION_ARGS)
{
	HnTrainResult res;

	PG_RETURN_POINTER(FitCommon(fcinfo, &res, NULL, NULL, NULL));
}

/* One network measured on loaded rows: the comparison's metric. */
static double
Score(const HnNet *net, HanamiQueryData *data, const char **metric)
{
	HnRows		rows = {&data->ds, NULL, 0, NULL};
	HnCallbacks cb;
	HnEvalResult res;
	HnAllocator alloc = HanamiPallocAllocator(CurrentMemoryContext);
	HnError		err;

	memset(&res, 0, sizeof(res));
	HanamiInitCallbacks(&cb, false);
	HanamiCheck(HanamiEvaluate(net, &rows, &cb, &alloc, &res, &err), &err);
	*metric = !isnan(res.accuracy) ? "accuracy" : "mse";
	return !isnan(res.accuracy) ? res.accuracy : res.mse;
}

/*
 * Measure head and trained on the rows of query (run as the current user,
 * like every query of a fit); see training.h.
 */
void
HanamiCompareOnQuery(const HnNet *head, const HnNet *trained, const char *query,
					 const HnFitOptions *opts, HanamiComparison *c)
{
	HanamiQueryData data;
	const char *m1;
	const char *m2;

	HanamiLoadQueryMapped(query, opts, trained, &data);
	c->trained = Score(trained, &data, &m1);
	c->head = Score(head, &data, &m2);
	if (strcmp(m1, m2) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot compare the trained network with the branch head"),
				 errdetail("One is measured by %s, the other by %s.", m1, m2)));
	c->metric = m1;
	/* strictly better; a NaN score is never better */
	c->better = strcmp(m1, "accuracy") == 0 ? c->trained > c->head
		: c->trained < c->head;
}

/* report (a JSON object) with the comparison added as "only_if_better". */
char *
HanamiComparisonReport(const char *report, const HanamiComparison *c)
{
	StringInfoData buf;
	size_t		n = strlen(report);

	Assert(n > 0 && report[n - 1] == '}');
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, report, n - 1);
	appendStringInfo(&buf, ", \"only_if_better\": {\"metric\": \"%s\", \"trained\": ", c->metric);
	HanamiAppendJsonNumber(&buf, c->trained);
	appendStringInfoString(&buf, ", \"head\": ");
	HanamiAppendJsonNumber(&buf, c->head);
	appendStringInfo(&buf, ", \"better\": %s}}", c->better ? "true" : "false");
	return buf.data;
}

/* Why nothing was committed: both scores and the metric. */
char *
HanamiComparisonRefusal(const HanamiComparison *c)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "not committed: the trained network's %s on the only_if_better query is ",
					 c->metric);
	HanamiAppendJsonNumber(&buf, c->trained);
	appendStringInfoString(&buf, ", the branch head's ");
	HanamiAppendJsonNumber(&buf, c->head);
	appendStringInfo(&buf, " (%s is better)",
					 strcmp(c->metric, "accuracy") == 0 ? "higher" : "lower");
	return buf.data;
}

/*
 * The JSON report of a fit: rows, epochs, stop reason, the best epoch
 * (early_stopping, restore_best), losses, accuracy on the training rows
 * (eval), duration, and the per-epoch history (comma
 * separated JSON objects, or NULL).
 */
char *
HanamiFitReport(const HnTrainResult *res, const HnEvalResult *eval,
				const char *history)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"rows\": " INT64_FORMAT ", \"validation_rows\": " INT64_FORMAT
					 ", \"epochs\": %d, \"iterations\": " INT64_FORMAT ", \"stop\": \"%s\"",
					 res->train_rows + (res->val_own ? 0 : res->val_rows),
					 res->val_rows, res->epochs,
					 res->iterations, StopReasonName(res->stop));
	if (res->best_epoch > 0)
		appendStringInfo(&buf, ", \"best_epoch\": %d, \"restored\": %s",
						 res->best_epoch, res->restored ? "true" : "false");
	AppendField(&buf, "loss", res->loss);
	AppendField(&buf, "accuracy", eval->accuracy);
	AppendField(&buf, "val_loss", res->val_loss);
	AppendField(&buf, "val_accuracy", res->val_accuracy);
	if (!isnan(eval->mse))
	{
		AppendField(&buf, "mse", eval->mse);
		AppendField(&buf, "r2", eval->r2);
	}
	AppendField(&buf, "duration", res->seconds);
	if (history)
		appendStringInfo(&buf, ", \"history\": [%s]", history);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * fit_report(net, query, options) -> (net, report jsonb): fit, plus what
 * happened, for the metrics of a stored commit.
 */
Datum
hanami_fit_report(PG_FUNCTION_ARGS)
{
	HnTrainResult res;
	HnEvalResult eval;
	HanamiNetwork *net;
	TupleDesc	td;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	StringInfoData history;
	HanamiComparison cmp;
	char	   *report;

	memset(&eval, 0, sizeof(eval));
	initStringInfo(&history);
	net = FitCommon(fcinfo, &res, &eval, &history, &cmp);
	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "fit_report must return a composite type");

	values[0] = PointerGetDatum(net);
	report = HanamiFitReport(&res, &eval, history.data);
	if (cmp.metric != NULL)
		report = HanamiComparisonReport(report, &cmp);
	values[1] = JsonbPGetDatum(HanamiJsonbFromCString(report));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(td), values, nulls)));
}

/* Append "key": number. */
static void
AppendField(StringInfo buf, const char *key, double v)
{
	appendStringInfo(buf, ", \"%s\": ", key);
	HanamiAppendJsonNumber(buf, v);
}

/*
 * Append "outputs": {"layer": {figures}, ...}: each output port's accuracy
 * when it takes classes and its targets are classes, else its mse, mae and
 * r2.
 */
static void
AppendPortMetrics(StringInfo buf, const HnPortMetrics *m, int n)
{
	appendStringInfoString(buf, ", \"outputs\": {");
	for (int p = 0; p < n; p++)
	{
		appendStringInfoString(buf, p ? ", " : "");
		HanamiAppendJsonString(buf, m[p].name);
		if (m[p].classes && !isnan(m[p].accuracy))
		{
			appendStringInfoString(buf, ": {\"accuracy\": ");
			HanamiAppendJsonNumber(buf, m[p].accuracy);
		}
		else
		{
			appendStringInfoString(buf, ": {\"mse\": ");
			HanamiAppendJsonNumber(buf, m[p].mse);
			AppendField(buf, "mae", m[p].mae);
			AppendField(buf, "r2", m[p].r2);
		}
		appendStringInfoChar(buf, '}');
	}
	appendStringInfoChar(buf, '}');
}

/*
 * verify(net, query, options) -> jsonb: rows, loss, and accuracy with a
 * confusion matrix (classification) or mse, mae and r2 (regression);
 * with several output ports, "outputs" gives each port's figures.
 */
Datum
hanami_verify(PG_FUNCTION_ARGS)
{
	HnNet		net;
	char	   *query;
	HanamiOptions opts;
	HanamiQueryData data;
	HnCallbacks cb;
	HnEvalResult res;
	HnError		err;
	HnAllocator alloc;
	HnStatus	st;
	StringInfoData buf;
	uint32		k;
	bool		confusion;

	CheckArgs(fcinfo);
	query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	HanamiGetNetworkArg(fcinfo, 0, &net);
	HanamiParseOptions(OptionsArg(fcinfo, 2), &net, false, &opts);
	HanamiLoadQueryMapped(query, &opts, &net, &data);

	k = net.hdr->n_outputs == 1 ? 2 : net.hdr->n_outputs;
	memset(&res, 0, sizeof(res));
	confusion = (size_t) k * k <= 1024 * 1024;
	if (confusion)
		res.confusion = palloc0(sizeof(int64) * k * k);
	res.ports = palloc0(sizeof(HnPortMetrics) * HANAMI_MAX_PORTS);
	HanamiInitCallbacks(&cb, false);
	alloc = HanamiPallocAllocator(CurrentMemoryContext);
	{
		HnRows		rows = {&data.ds, NULL, 0, NULL};

		st = HanamiEvaluate(&net, &rows, &cb, &alloc, &res, &err);
	}
	HanamiCheck(st, &err);

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"rows\": " INT64_FORMAT, res.n);
	AppendField(&buf, "loss", res.loss);
	if (!isnan(res.accuracy))
	{
		AppendField(&buf, "accuracy", res.accuracy);
		if (confusion)
		{
			appendStringInfoString(&buf, ", \"confusion_matrix\": [");
			for (uint32 t = 0; t < k; t++)
			{
				appendStringInfo(&buf, "%s[", t ? ", " : "");
				for (uint32 p = 0; p < k; p++)
					appendStringInfo(&buf, "%s" INT64_FORMAT, p ? ", " : "",
									 res.confusion[(size_t) t * k + p]);
				appendStringInfoChar(&buf, ']');
			}
			appendStringInfoChar(&buf, ']');
		}
	}
	if (!isnan(res.mse))
	{
		AppendField(&buf, "mse", res.mse);
		AppendField(&buf, "mae", res.mae);
		AppendField(&buf, "r2", res.r2);
	}
	if (res.n_ports > 0)
		AppendPortMetrics(&buf, res.ports, res.n_ports);
	appendStringInfoChar(&buf, '}');
	PG_RETURN_JSONB_P(HanamiJsonbFromCString(buf.data));
}
