/*
 * callbacks.c - the engine's hooks inside a backend: interrupts (cancel,
 * statement_timeout, termination), the clock, and per-epoch progress.
 */
#include "glue.h"

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
