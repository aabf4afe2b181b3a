/*
 * train.c - the defaults of a fit's options, and the names of the reasons
 * a fit stops.
 */
#include "core/train.h"

#include <string.h>


/* Fill opt with the documented defaults for an optimizer. */
void
TrainOptionsDefaults(HnTrainOptions *opt, HnOptimizer kind)
{
	memset(opt, 0, sizeof(*opt));
	opt->epochs = 10;
	opt->batch_size = 32;
	opt->optim.kind = kind == HANAMI_OPT_SGD ? HANAMI_OPT_SGD : HANAMI_OPT_ADAM;
	opt->optim.learning_rate = kind == HANAMI_OPT_SGD ? 0.01f : 0.001f;
	opt->optim.momentum = 0.9f;
	opt->optim.beta1 = 0.9f;
	opt->optim.beta2 = 0.999f;
	opt->optim.epsilon = 1e-8f;
	opt->optim.weight_decay = 0.0f;
	opt->seed = 0;
	opt->shuffle = true;
	opt->train_mask = ~(uint64_t) 0;
	opt->checkpoint_every = 10;
	opt->checkpoint_interval = 60.0;
}

/* Name of a stop reason as reports show it. */
const char *
StopReasonName(HnStopReason r)
{
	switch (r)
	{
		case HANAMI_STOP_EPOCHS:
			return "epochs";
		case HANAMI_STOP_ITERATIONS:
			return "max_iterations";
		case HANAMI_STOP_TIMEOUT:
			return "timeout";
		case HANAMI_STOP_THRESHOLD:
			return "error_threshold";
		case HANAMI_STOP_CALLBACK:
			return "interrupt";
		case HANAMI_STOP_EARLY:
			return "early_stopping";
		case HANAMI_STOP_REQUESTED:
			return "stopped";
	}
	return NULL;
}
