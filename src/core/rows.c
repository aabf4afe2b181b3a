/*
 * rows.c - what the fit driver and the evaluator check before they use rows
 * and options (the same checks for every kind, then the kind's own), and the
 * targets of a row.
 */
#include "core/fit.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/simd.h"

/* Index of the first row of width w holding a non-finite value, or -1. */
static int64_t
RowsFirstBad(const float *v, int64_t n, size_t w)
{
	const int64_t chunk = 1024;

	for (int64_t r0 = 0; r0 < n; r0 += chunk)
	{
		int64_t		r1 = n - r0 < chunk ? n : r0 + chunk;

		if (SimdAllFinite(v + (size_t) r0 * w, (size_t) (r1 - r0) * w))
			continue;
		for (int64_t r = r0; r < r1; r++)
			if (!SimdAllFinite(v + (size_t) r * w, w))
				return r;
	}
	return -1;
}

/* HANAMI_E_NOT_FINITE naming the first row of v holding NaN or infinity. */
static HnStatus
RowsCheckFinite(const float *v, int64_t n, size_t w, int64_t row0,
				const char *what, const char *detail, HnError *err)
{
	int64_t		bad = RowsFirstBad(v, n, w);

	if (bad < 0)
		return HANAMI_OK;
	return HnSetError(err, HANAMI_E_NOT_FINITE, detail,
					  "%s of row %" PRId64 " is not finite", what,
					  row0 + bad + 1);
}

/* Class indices of n rows in range: 0 .. max(2, n_outputs) - 1. */
static HnStatus
RowsCheckClasses(const HnNet *net, const int32_t *cls, int64_t n,
				 int64_t row0, HnError *err)
{
	uint32_t	n_out = net->hdr->n_outputs;
	uint32_t	n_classes = n_out >= 2 ? n_out : 2;
	char		detail[HANAMI_ERRMSG_LEN];

	for (int64_t r = 0; r < n; r++)
		if (cls[r] < 0 || (uint32_t) cls[r] >= n_classes)
		{
			snprintf(detail, sizeof(detail),
					 "Class indices of this network run from 0 to %" PRIu32 ".",
					 n_classes - 1);
			return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, detail,
							  "class index %" PRId32 " of row %" PRId64 " is out of range",
							  cls[r], row0 + r + 1);
		}
	return HANAMI_OK;
}

/* Check rows against a network; see fit.h. */
HnStatus
HnCheckRows(const HnNet *net, const HnDataset *rows, int64_t row0,
			HnError *err)
{
	uint32_t	n_in = net->hdr->n_inputs;
	uint32_t	n_out = net->hdr->n_outputs;
	char		detail[HANAMI_ERRMSG_LEN];
	HnStatus	st;

	if (rows->n < 0 || (rows->n > 0 && rows->x == NULL) ||
		(rows->y == NULL) == (rows->cls == NULL))
		return HnSetError(err, HANAMI_E_INTERNAL, NULL,
						  "invalid dataset passed to the engine");
	if (rows->n_features != n_in)
	{
		snprintf(detail, sizeof(detail),
				 "The network has %" PRIu32 " inputs but each row has %" PRIu32 " features.",
				 n_in, rows->n_features);
		return HnSetError(err, HANAMI_E_DIMENSION, detail,
						  "input size does not match the network");
	}
	/* class indices are one value per row whatever n_outputs says */
	if (rows->y != NULL && rows->n_outputs != n_out)
	{
		snprintf(detail, sizeof(detail),
				 "The network has %" PRIu32 " outputs but the targets have %" PRIu32 " values.",
				 n_out, rows->n_outputs);
		return HnSetError(err, HANAMI_E_DIMENSION, detail,
						  "target size does not match the network");
	}
	st = RowsCheckFinite(rows->x, rows->n, n_in, row0, "input",
						 "Inputs must be finite numbers.", err);
	if (st != HANAMI_OK)
		return st;
	if (rows->y == NULL)
		return RowsCheckClasses(net, rows->cls, rows->n, row0, err);
	st = RowsCheckFinite(rows->y, rows->n, n_out, row0, "target",
						 "Targets must be finite numbers.", err);
	if (st != HANAMI_OK)
		return st;
	if (net->kind->fit->check_targets != NULL)
		return net->kind->fit->check_targets(net, rows->y, rows->n, row0, err);
	return HANAMI_OK;
}

/*
 * What net's kind contributes to fits, or NULL with an error saying that
 * networks of its kind cannot be trained or evaluated (verb).
 */
const HnKindFit *
HnKindFitOf(const HnNet *net, const char *verb, HnError *err)
{
	if (net->kind->fit == NULL)
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
				   "networks of kind \"%s\" cannot be %s", net->kind->name,
				   verb);
	return net->kind->fit;
}

/* The class of a row of n outputs; see fit.h. */
int
HnOutputClass(const float *out, uint32_t n)
{
	uint32_t	best = 0;

	if (n == 1)
		return out[0] >= 0.5f ? 1 : 0;
	for (uint32_t j = 1; j < n; j++)
		if (out[j] > out[best])
			best = j;
	return (int) best;
}

/* Check the loop's options, then the kind's; see fit.h. */
HnStatus
HnCheckOptions(const HnNet *net, const HnTrainOptions *opt, HnError *err)
{
	if (opt->epochs < 0)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "epochs must not be negative");
	if (opt->batch_size < 1)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "batch_size must be at least 1");
	if (opt->max_iterations < 0)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "max_iterations must be zero or positive");
	if (!(opt->timeout >= 0.0) || !isfinite(opt->timeout))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "timeout must be zero or a positive number of seconds");
	if (!(opt->error_threshold >= 0.0) || !isfinite(opt->error_threshold))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "error_threshold must be zero or positive");
	if (!(opt->validation_split >= 0.0 && opt->validation_split < 1.0))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "validation_split must be at least 0 and less than 1");
	if (opt->patience < 0)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "early_stopping patience must be zero (off) or positive");
	if (!(opt->min_delta >= 0.0) || !isfinite(opt->min_delta))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "early_stopping min_delta must be zero or positive");
	if (opt->checkpoint_every < 0 || !(opt->checkpoint_interval >= 0.0) ||
		!isfinite(opt->checkpoint_interval))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "checkpoint_every and checkpoint_interval must be zero (off) or positive");
	return net->kind->fit->check_options(net, opt, err);
}

/* Targets of a row in original units; see fit.h. */
void
HnTargetValues(uint32_t n_outputs, int32_t cls, const float *y, float *t)
{
	if (y != NULL)
		memcpy(t, y, n_outputs * sizeof(float));
	else if (n_outputs == 1)
		t[0] = (float) cls;
	else
	{
		memset(t, 0, n_outputs * sizeof(float));
		t[cls] = 1.0f;
	}
}

/* Network-space targets of one row of data; see fit.h. */
void
HnRowTarget(const HnNet *net, const HnDataset *data, int64_t row, float *t)
{
	uint32_t	n_out = net->hdr->n_outputs;

	HnTargetValues(n_out, data->cls ? data->cls[row] : 0,
				   data->y ? data->y + (size_t) row * n_out : NULL, t);
	if (data->y != NULL && net->kind->fit->targets != NULL)
		net->kind->fit->targets(net, t, 1);
}
