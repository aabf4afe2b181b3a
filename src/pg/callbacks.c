/*
 * callbacks.c - the engine's hooks inside a backend: interrupts (cancel,
 * statement_timeout, termination), the clock, and per-epoch progress.
 */
#include "postgres.h"

#include <math.h>

#include "jsonutil.h"
#include "training.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "portability/instr_time.h"

/* Called once per batch: lets cancel and statement_timeout in. */
static bool
InterruptHook(void *ctx)
{
	CHECK_FOR_INTERRUPTS();
	return false;
}

/* Monotonic seconds. */
static double
NowHook(void *ctx)
{
	instr_time	t;

	INSTR_TIME_SET_CURRENT(t);
	return INSTR_TIME_GET_DOUBLE(t);
}

/* With options.verbose: one NOTICE per epoch. */
static void
EpochNoticeHook(void *ctx, const HnEpochReport *r)
{
	if (isnan(r->val_loss))
		ereport(NOTICE,
				(errmsg("epoch %d: loss %.4g", r->epoch, r->loss),
				 errdetail("%.3f s since the fit started, " INT64_FORMAT " updates.",
						   r->seconds, r->iterations)));
	else if (isnan(r->val_accuracy))
		ereport(NOTICE,
				(errmsg("epoch %d: loss %.4g, validation loss %.4g",
						r->epoch, r->loss, r->val_loss),
				 errdetail("%.3f s since the fit started, " INT64_FORMAT " updates.",
						   r->seconds, r->iterations)));
	else
		ereport(NOTICE,
				(errmsg("epoch %d: loss %.4g, validation loss %.4g, validation accuracy %.4f",
						r->epoch, r->loss, r->val_loss, r->val_accuracy),
				 errdetail("%.3f s since the fit started, " INT64_FORMAT " updates.",
						   r->seconds, r->iterations)));
}

/* Hooks for a fit or an evaluation in this backend. */
void
HanamiInitCallbacks(HnCallbacks *cb, bool verbose)
{
	memset(cb, 0, sizeof(*cb));
	cb->interrupt = InterruptHook;
	cb->now = NowHook;
	cb->epoch_done = verbose ? EpochNoticeHook : NULL;
}

/* State of HistoryHook: the JSON being built and the hook it wraps. */
typedef struct HistoryState
{
	StringInfo	out;
	int64		rows;
	void		(*inner) (void *ctx, const HnEpochReport *r);
	void	   *inner_ctx;
	double		last_seconds;
} HistoryState;

/* Append one epoch as a JSON object, then call the wrapped hook. */
static void
HistoryHook(void *ctx, const HnEpochReport *r)
{
	HistoryState *h = (HistoryState *) ctx;
	double		dt = r->seconds - h->last_seconds;

	appendStringInfo(h->out, "%s{\"epoch\": %d, \"loss\": ", h->out->len ? ", " : "",
					 r->epoch);
	HanamiAppendJsonNumber(h->out, r->loss);
	appendStringInfoString(h->out, ", \"val_loss\": ");
	HanamiAppendJsonNumber(h->out, r->val_loss);
	appendStringInfoString(h->out, ", \"val_accuracy\": ");
	HanamiAppendJsonNumber(h->out, r->val_accuracy);
	appendStringInfoString(h->out, ", \"rows_per_second\": ");
	HanamiAppendJsonNumber(h->out, dt > 0 ? r->rows / dt : NAN);
	appendStringInfoString(h->out, ", \"seconds\": ");
	HanamiAppendJsonNumber(h->out, r->seconds);
	appendStringInfoChar(h->out, '}');
	h->last_seconds = r->seconds;
	if (h->inner)
		h->inner(h->inner_ctx, r);
}

/*
 * Make cb also record every epoch into out (comma-separated JSON objects),
 * keeping whatever epoch hook it had.
 */
void
HanamiRecordHistory(HnCallbacks *cb, StringInfo out, int64 rows)
{
	HistoryState *h = palloc0(sizeof(HistoryState));

	h->out = out;
	h->rows = rows;
	h->inner = cb->epoch_done;
	h->inner_ctx = cb->ctx;
	cb->epoch_done = HistoryHook;
	cb->ctx = h;
}
