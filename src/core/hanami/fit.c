/*
 * hanami/fit.c - what the hanami (growing) kind contributes to training and
 * evaluation (fit.h HnKindFit): its options and their defaults, the check
 * that targets lie in [0, 1], the seed of a fit, and its loss.  Its step is
 * hanami/train.c.
 */
#include "core/hanami/kind.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/fit.h"

/* Defaults of a fit; see hanami.h. */
void
HkTrainOptionsDefaults(HnTrainOptions *opt, HkTrainOptions *hk,
					   const HkNet *net)
{
	TrainOptionsDefaults(opt, HANAMI_OPT_SGD);
	opt->epochs = 1;
	opt->batch_size = 1;
	opt->shuffle = (net->gh->flags & HK_SPIKING) == 0;
	opt->kind_options = hk;
	memset(hk, 0, sizeof(*hk));
	hk->learning_rate = 0.04f;
	hk->learning_rate_end = 0.004f;
	hk->grow = true;
	hk->reduction = (net->gh->flags & HK_REDUCTION) != 0;
}

/* The step options of a fit; see hanami.h. */
void
HkTrainOptionsOf(const HnTrainOptions *opt, const HnNet *net,
				 HkTrainOptions *hk)
{
	HnTrainOptions defaults;

	if (opt->kind_options != NULL)
		*hk = *(const HkTrainOptions *) opt->kind_options;
	else
		HkTrainOptionsDefaults(&defaults, hk, HkOf(net));
}

/* The learning rates are finite, the first positive. */
static HnStatus
HkCheckOptions(const HnNet *net, const HnTrainOptions *opt, HnError *err)
{
	HkTrainOptions hk;

	HkTrainOptionsOf(opt, net, &hk);
	if (!(hk.learning_rate > 0.0f) || !isfinite(hk.learning_rate) ||
		!(hk.learning_rate_end >= 0.0f) || !isfinite(hk.learning_rate_end))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "invalid training options");
	return HANAMI_OK;
}

/* Sigmoid outputs: every target value lies between 0 and 1. */
static HnStatus
HkCheckTargets(const HnNet *net, const float *y, int64_t n, int64_t row0,
			   HnError *err)
{
	uint32_t	n_out = net->hdr->n_outputs;

	for (int64_t r = 0; r < n; r++)
		for (uint32_t j = 0; j < n_out; j++)
		{
			float		v = y[(size_t) r * n_out + j];

			if (!(v >= 0.0f && v <= 1.0f))
				return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
								  "A growing network has sigmoid outputs, so its targets lie between 0 and 1.",
								  "target %g in row %" PRId64 " is not between 0 and 1",
								  v, row0 + r + 1);
		}
	return HANAMI_OK;
}

/*
 * The seed of a fit's random stream (shuffles and growth): options.seed
 * mixed with the network's own seed and the samples it has seen, so a
 * refit of a grown network draws afresh.
 */
static uint64_t
HkSeed(const HnNet *net, uint64_t seed)
{
	return seed ^ ((uint64_t) net->hdr->seed << 32) ^ net->hdr->samples;
}

/*
 * Summed loss of n rows: the binary cross-entropy of every sigmoid output
 * (clamped away from 0 and 1) against its target.
 */
static double
HkLoss(const HnNet *net, float *out, const float *t, int n)
{
	size_t		count = (size_t) n * net->hdr->n_outputs;
	double		loss = 0.0;

	for (size_t i = 0; i < count; i++)
	{
		float		o = fminf(fmaxf(out[i], 1e-7f), 1.0f - 1e-7f);

		loss -= t[i] * logf(o) + (1.0f - t[i]) * logf(1.0f - o);
	}
	return loss;
}

/* Sections and synapses after a fit, and how they grew; see fit.h. */
static void
HkFitNote(const HnNet *before, const HnNet *after, const HnTrainResult *res,
		  char *buf, size_t len)
{
	HkStats		b;
	HkStats		a;

	HkGetStats(HkOf(before), &b);
	HkGetStats(HkOf(after), &a);
	snprintf(buf, len, "; %u sections and %llu synapses now (%+lld synapses, %+lld blocks; reduction removed %llu)",
			 a.sections, (unsigned long long) a.synapses,
			 (long long) a.synapses - (long long) b.synapses,
			 (long long) a.blocks - (long long) b.blocks,
			 (unsigned long long) res->removed);
}

const HnKindFit HnHanamiFit = {
	.fit_note = HkFitNote,
	.option_keys = HkOptionKeys,
	.options = HkOptions,
	.jobs = true,
	.stepper = &HkStepper,
	.online = true,
	.advice = "lower \"learning_rate\"",
	.check_options = HkCheckOptions,
	.check_targets = HkCheckTargets,
	.seed = HkSeed,
	.loss = HkLoss,
};
