/*
 * train.c - fitting a network to rows in memory (mini-batches, shuffling,
 * validation split, stop conditions, learned scaling) and evaluating it.
 */
#include "core/train.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dense/dense.h"
#include "core/simd.h"
#include "core/rng.h"
#include "core/scaling.h"
#include "core/dense/step.h"

/* Output columns per block when accumulating their statistics on the stack. */
#define HANAMI_STAT_BLOCK	256

/* Rows per batch when evaluating. */
#define HANAMI_EVAL_BATCH	256

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
	}
	return NULL;
}

/* Row index of the k-th selected row (all rows when rows is NULL). */
static inline int64_t
TrainRow(const int64_t *rows, int64_t k)
{
	return rows ? rows[k] : k;
}

/*
 * Mean and standard deviation of each of n columns of a row-major matrix
 * (stride values per row) over the selected rows, written as shift and
 * mul: shift = mean; mul = 1 / sd (inverse) or sd, and 1 for a constant
 * column.
 */
static void
TrainColumnStats(const float *m, size_t stride, size_t n, int64_t n_rows,
				 const int64_t *rows, bool inverse, float *shift, float *mul)
{
	for (size_t b0 = 0; b0 < n; b0 += HANAMI_STAT_BLOCK)
	{
		size_t		bn = n - b0 < HANAMI_STAT_BLOCK ? n - b0 : HANAMI_STAT_BLOCK;
		double		mean[HANAMI_STAT_BLOCK];
		double		var[HANAMI_STAT_BLOCK];

		memset(mean, 0, sizeof(mean));
		memset(var, 0, sizeof(var));
		for (int64_t k = 0; k < n_rows; k++)
		{
			const float *row = m + (size_t) TrainRow(rows, k) * stride + b0;

			for (size_t j = 0; j < bn; j++)
				mean[j] += row[j];
		}
		for (size_t j = 0; j < bn; j++)
			mean[j] /= (double) (n_rows > 0 ? n_rows : 1);
		for (int64_t k = 0; k < n_rows; k++)
		{
			const float *row = m + (size_t) TrainRow(rows, k) * stride + b0;

			for (size_t j = 0; j < bn; j++)
			{
				double		d = row[j] - mean[j];

				var[j] += d * d;
			}
		}
		for (size_t j = 0; j < bn; j++)
		{
			double		sd = sqrt(var[j] / (double) (n_rows > 0 ? n_rows : 1));
			float		f = (float) (inverse ? 1.0 / sd : sd);

			shift[b0 + j] = isfinite(mean[j]) ? (float) mean[j] : 0.0f;
			if (!(sd > 1e-12) || !isfinite(f) || f == 0.0f)
				f = 1.0f;
			mul[b0 + j] = f;
		}
	}
}

/* True when the output scaling applies: mse regression on identity output. */
static bool
TrainOutputScalable(const DenseNet *net, const HnDataset *data)
{
	uint32_t	last = net->hdr->n_layers - 1;

	return data->y != NULL && data->cls == NULL &&
		net->hdr->loss == HANAMI_LOSS_MSE &&
		net->layers[last].activation == HANAMI_ACT_IDENTITY;
}

/*
 * Learn in_shift/in_mul from the selected rows, in their order: the sample
 * ScaleSampleAdd would keep of them a row at a time (so rows streamed in the
 * same order give the same scaling), by row index instead of copies.
 */
static HnStatus
TrainFitInputScaling(DenseNet *net, const HnDataset *data, int64_t n_rows,
					 const int64_t *rows, const HnAllocator *alloc,
					 HnError *err)
{
	HnScaleSample s;
	const float **picked;
	int64_t		m;
	HnStatus	st;

	ScaleSampleInit(&s, net->hdr->n_inputs);
	m = n_rows < s.cap ? n_rows : s.cap;
	if (m < 1)
		return HANAMI_OK;
	picked = HnAlloc(alloc, sizeof(float *) * (size_t) m);
	if (picked == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for the input scaling");
	for (int64_t k = 0; k < n_rows; k++)
	{
		int64_t		slot = ScaleSampleSlot(&s);

		if (slot >= 0)
			picked[slot] = data->x + (size_t) TrainRow(rows, k) * data->n_features;
	}
	st = ScaleFitRows(picked, m, net->hdr->n_inputs, net->in_shift,
					  net->in_mul, alloc, err);
	HnFree(alloc, picked);
	if (st == HANAMI_OK)
		net->hdr->flags |= HANAMI_FLAG_INPUT_FITTED | HANAMI_FLAG_INPUT_CLIP;
	return st;
}

/* Learn out_shift/out_mul from the selected rows. */
static void
TrainFitOutputScaling(DenseNet *net, const HnDataset *data, int64_t n_rows,
					  const int64_t *rows)
{
	TrainColumnStats(data->y, data->n_outputs, net->hdr->n_outputs, n_rows,
					 rows, false, net->out_shift, net->out_mul);
	net->hdr->flags |= HANAMI_FLAG_OUTPUT_FITTED;
}

/* Learn scaling from the selected rows (NULL: rows 0..n_rows-1). */
HnStatus
TrainFitScaling(DenseNet *net, const HnDataset *data, int64_t n_rows,
				const int64_t *rows, const HnAllocator *alloc, HnError *err)
{
	if (n_rows <= 0)
		return HANAMI_OK;
	if (net->hdr->flags & HANAMI_FLAG_SCALE_INPUT)
	{
		HnStatus	st = TrainFitInputScaling(net, data, n_rows, rows, alloc,
											  err);

		if (st != HANAMI_OK)
			return st;
	}
	if (TrainOutputScalable(net, data))
		TrainFitOutputScaling(net, data, n_rows, rows);
	return HANAMI_OK;
}

/* Index of the first row of width w holding a non-finite value, or -1. */
static int64_t
TrainFirstBadRow(const float *v, int64_t n, size_t w)
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

/* Check a dataset against a network: shapes, targets, finite values. */
HnStatus
TrainCheckData(const DenseNet *net, const HnDataset *data, const char *verb,
			   HnError *err)
{
	uint32_t	n_out = net->hdr->n_outputs;
	uint32_t	n_classes = n_out >= 2 ? n_out : 2;
	char		detail[HANAMI_ERRMSG_LEN];
	int64_t		bad;

	if (data->n < 0 || data->x == NULL || (data->y == NULL) == (data->cls == NULL))
		return HnSetError(err, HANAMI_E_INTERNAL, NULL,
						  "invalid dataset passed to the engine");
	if (data->n == 0)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "The query returned no rows.",
						  "no rows to %s", verb);
	if (data->n_features != net->hdr->n_inputs)
	{
		snprintf(detail, sizeof(detail),
				 "The network has %" PRIu32 " inputs but each row has %" PRIu32 " features.",
				 net->hdr->n_inputs, data->n_features);
		return HnSetError(err, HANAMI_E_DIMENSION, detail,
						  "input size does not match the network");
	}
	/* class indices are one value per row whatever n_outputs says */
	if (data->y != NULL && data->n_outputs != n_out)
	{
		snprintf(detail, sizeof(detail),
				 "The network has %" PRIu32 " outputs but the targets have %" PRIu32 " values.",
				 n_out, data->n_outputs);
		return HnSetError(err, HANAMI_E_DIMENSION, detail,
						  "target size does not match the network");
	}
	bad = TrainFirstBadRow(data->x, data->n, data->n_features);
	if (bad >= 0)
		return HnSetError(err, HANAMI_E_NOT_FINITE,
						  "Inputs must be finite numbers.",
						  "input of row %" PRId64 " is not finite", bad + 1);
	if (data->y != NULL)
	{
		bad = TrainFirstBadRow(data->y, data->n, data->n_outputs);
		if (bad >= 0)
			return HnSetError(err, HANAMI_E_NOT_FINITE,
							  "Targets must be finite numbers.",
							  "target of row %" PRId64 " is not finite", bad + 1);
		return TrainCheckTargets(net, data->y, data->n, 0, err);
	}
	else
	{
		for (int64_t r = 0; r < data->n; r++)
			if (data->cls[r] < 0 || (uint32_t) data->cls[r] >= n_classes)
			{
				snprintf(detail, sizeof(detail),
						 "Class indices of this network run from 0 to %" PRIu32 ".",
						 n_classes - 1);
				return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, detail,
								  "class index %" PRId32 " of row %" PRId64 " is out of range",
								  data->cls[r], r + 1);
			}
	}
	return HANAMI_OK;
}

/* Check that softmax targets are probability rows; see train.h. */
HnStatus
TrainCheckTargets(const DenseNet *net, const float *y, int64_t n, int64_t row0,
				  HnError *err)
{
	uint32_t	n_out = net->hdr->n_outputs;
	char		detail[HANAMI_ERRMSG_LEN];

	if (net->layers[net->hdr->n_layers - 1].activation != HANAMI_ACT_SOFTMAX)
		return HANAMI_OK;
	for (int64_t r = 0; r < n; r++)
	{
		const float *t = y + (size_t) r * n_out;
		double		sum = 0.0;
		uint32_t	bad = n_out;

		for (uint32_t j = 0; j < n_out; j++)
		{
			if (!(t[j] >= 0.0f && t[j] <= 1.0f) && bad == n_out)
				bad = j;
			sum += t[j];
		}
		if (bad < n_out)
			snprintf(detail, sizeof(detail),
					 "Value %" PRIu32 " is %g; a softmax output layer predicts probabilities, so each target lies between 0 and 1 and a row sums to 1.",
					 bad + 1, (double) t[bad]);
		else if (fabs(sum - 1.0) > HANAMI_PROB_SUM_TOLERANCE)
			snprintf(detail, sizeof(detail),
					 "The values sum to %g; a softmax output layer predicts probabilities, so a row of targets sums to 1.",
					 sum);
		else
			continue;
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, detail,
				   "target of row %" PRId64 " is not a probability distribution",
				   row0 + r + 1);
		return HnSetHint(err, "For real-valued targets use an identity output layer and loss \"mse\", e.g. {\"count\": 2, \"activation\": \"identity\"}; for classes give an integer class index.");
	}
	return HANAMI_OK;
}

/* Check that outputs are finite after output scaling; see train.h. */
HnStatus
TrainCheckOutputs(const DenseNet *net, const float *y, int64_t n, int64_t row0,
				  HnError *err)
{
	uint32_t	n_out = net->hdr->n_outputs;
	bool		scaled = (net->hdr->flags & HANAMI_FLAG_OUTPUT_FITTED) != 0;
	char		detail[HANAMI_ERRMSG_LEN];

	if (!scaled && SimdAllFinite(y, (size_t) n * n_out))
		return HANAMI_OK;		/* the usual case, checked vectorized */
	for (int64_t r = 0; r < n; r++)
		for (uint32_t j = 0; j < n_out; j++)
		{
			/* the arithmetic of DensePredict */
			float		v = y[(size_t) r * n_out + j] * net->out_mul[j] +
				net->out_shift[j];

			if (isfinite(v))
				continue;
			snprintf(detail, sizeof(detail), "Output %" PRIu32 " of row %" PRId64 " is %s.",
					 j + 1, row0 + r + 1,
					 isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
			return HnSetError(err, HANAMI_E_OUTPUT_NOT_FINITE, detail,
							  "network output is not finite");
		}
	return HANAMI_OK;
}

/* Check training options. */
HnStatus
TrainCheckOptions(const DenseNet *net, const HnTrainOptions *opt, HnError *err)
{
	const HnOptimConfig *o = &opt->optim;
	uint64_t	layers = 0;

	for (uint32_t l = 1; l < net->hdr->n_layers; l++)
		layers |= (uint64_t) 1 << l;
	if (opt->epochs < 1)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "epochs must be at least 1");
	if (opt->batch_size < 1)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "batch_size must be at least 1");
	if (o->kind != HANAMI_OPT_SGD && o->kind != HANAMI_OPT_ADAM)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Known optimizers are \"sgd\" and \"adam\".",
						  "invalid optimizer (%d)", (int) o->kind);
	if (!(o->learning_rate > 0.0f) || !isfinite(o->learning_rate))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "learning_rate must be a positive number");
	if (!(o->momentum >= 0.0f && o->momentum < 1.0f))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "momentum must be at least 0 and less than 1");
	if (o->kind == HANAMI_OPT_ADAM &&
		(!(o->beta1 >= 0.0f && o->beta1 < 1.0f) ||
		 !(o->beta2 >= 0.0f && o->beta2 < 1.0f)))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "beta1 and beta2 must be at least 0 and less than 1");
	if (o->kind == HANAMI_OPT_ADAM &&
		(!(o->epsilon > 0.0f) || !isfinite(o->epsilon)))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "epsilon must be a positive number");
	if (!(o->weight_decay >= 0.0f) || !isfinite(o->weight_decay))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "weight_decay must be zero or positive");
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
	if ((opt->train_mask & layers) == 0)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Layer 0 is the input layer and has no parameters.",
						  "no layer selected for training");
	return HANAMI_OK;
}

/* Targets of one row in network space (see train.h). */
void
TrainTarget(const DenseNet *net, const HnDataset *data, int64_t row, float *t)
{
	uint32_t	n_out = net->hdr->n_outputs;

	if (data->cls != NULL)
	{
		int32_t		c = data->cls[row];

		if (n_out == 1)
			t[0] = (float) c;
		else
		{
			memset(t, 0, n_out * sizeof(float));
			t[c] = 1.0f;
		}
	}
	else
	{
		const float *y = data->y + (size_t) row * data->n_outputs;

		for (uint32_t j = 0; j < n_out; j++)
			t[j] = (y[j] - net->out_shift[j]) / net->out_mul[j];
	}
}

/* Copy count rows (inputs and network-space targets) into a batch. */
static void
TrainGather(const DenseNet *net, const HnDataset *data, const int64_t *rows,
			int count, float *xb, float *tb)
{
	size_t		n_in = data->n_features;
	size_t		n_out = net->hdr->n_outputs;

	for (int k = 0; k < count; k++)
	{
		int64_t		r = TrainRow(rows, k);

		memcpy(xb + k * n_in, data->x + (size_t) r * n_in, n_in * sizeof(float));
		TrainTarget(net, data, r, tb + k * n_out);
	}
}

/* Predicted class of one output row: argmax, or y >= 0.5 for one output. */
static int
TrainPredictClass(const float *y, size_t n_out)
{
	size_t		best = 0;

	if (n_out == 1)
		return y[0] >= 0.5f ? 1 : 0;
	for (size_t j = 1; j < n_out; j++)
		if (y[j] > y[best])
			best = j;
	return (int) best;
}

/* True target class of a row, or -1 when the row has no class. */
int
TrainTrueClass(const DenseNet *net, const HnDataset *data, int64_t row)
{
	if (data->cls != NULL)
		return data->cls[row];
	if (net->hdr->n_outputs == 1 &&
		net->layers[net->hdr->n_layers - 1].activation == HANAMI_ACT_SIGMOID)
	{
		float		y = data->y[row];

		if (y == 0.0f || y == 1.0f)
			return (int) y;
	}
	return -1;
}

/*
 * Mean loss and accuracy over the validation rows.  Asks cb whether to stop
 * before every batch; returns false when it said so (nothing is set then).
 */
static bool
TrainValidate(const DenseNet *net, const HnDataset *data, DenseWork *work,
			  const int64_t *rows, int64_t n_rows, float *xb, float *tb,
			  const HnCallbacks *cb, double *val_loss, double *val_acc)
{
	size_t		n_out = net->hdr->n_outputs;
	HnActivation out_act =
		(HnActivation) net->layers[net->hdr->n_layers - 1].activation;
	double		loss = 0.0;
	int64_t		correct = 0;
	int64_t		labelled = 0;

	for (int64_t r0 = 0; r0 < n_rows; r0 += work->max_batch)
	{
		int			count = (int) (n_rows - r0 < work->max_batch ?
								   n_rows - r0 : work->max_batch);
		const float *y;

		if (cb && cb->interrupt && cb->interrupt(cb->ctx))
			return false;
		TrainGather(net, data, rows + r0, count, xb, tb);
		y = DenseForward(net, work, xb, count);
		for (int k = 0; k < count; k++)
		{
			int			c = TrainTrueClass(net, data, rows[r0 + k]);

			loss += LossValue((HnLoss) net->hdr->loss, out_act, y + k * n_out,
							  tb + k * n_out, n_out);
			if (c >= 0)
			{
				labelled++;
				correct += TrainPredictClass(y + k * n_out, n_out) == c;
			}
		}
	}
	*val_loss = loss / (double) n_rows;
	*val_acc = labelled == n_rows ? (double) correct / (double) n_rows : NAN;
	return true;
}

/* qsort order of row indices. */
static int
TrainCompareRows(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/* Train net in place on data; see train.h. */
HnStatus
TrainFit(DenseNet *net, const HnDataset *data, const HnTrainOptions *opt,
		 const HnCallbacks *cb, const HnAllocator *alloc, HnTrainResult *res,
		 HnError *err)
{
	HnCallbacks nocb = {0};
	HnTrainResult local;
	HnStatus	st;
	HnRng		rng;
	int64_t		n = data->n;
	int64_t		n_val;
	int64_t		n_train;
	int64_t	   *idx = NULL;
	const float **xp = NULL;
	const float **yp = NULL;
	int32_t    *cls = NULL;
	float	   *xb = NULL;
	float	   *tb = NULL;
	DenseWork *work = NULL;
	HnTrainer  *trainer = NULL;
	int			batch;
	bool		stop = false;

	if (cb == NULL)
		cb = &nocb;
	if (res == NULL)
		res = &local;
	memset(res, 0, sizeof(*res));
	res->loss = res->val_loss = res->val_accuracy = NAN;

	st = TrainCheckData(net, data, "train on", err);
	if (st != HANAMI_OK)
		return st;
	st = TrainCheckOptions(net, opt, err);
	if (st != HANAMI_OK)
		return st;
	n_val = (int64_t) floor((double) n * opt->validation_split);
	n_train = n - n_val;
	if (n_train < 1)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Lower validation_split or add rows.",
						  "validation_split leaves no rows to train on");
	batch = n_train < opt->batch_size ? (int) n_train : opt->batch_size;

	/* buffers (a batch is at most INT_MAX rows of at most 2^20 values) */
	if ((uint64_t) n > SIZE_MAX / sizeof(int64_t))
		return HnSetError(err, HANAMI_E_TOO_LARGE, NULL,
						  "too many rows to train on");
	idx = HnAlloc(alloc, (size_t) n * sizeof(int64_t));
	xp = HnAlloc(alloc, (size_t) batch * sizeof(float *));
	yp = HnAlloc(alloc, (size_t) batch * sizeof(float *));
	cls = HnAlloc(alloc, (size_t) batch * sizeof(int32_t));
	if (idx == NULL || xp == NULL || yp == NULL || cls == NULL)
	{
		st = HnSetError(err, HANAMI_E_NOMEM, NULL,
						"out of memory for training buffers");
		goto done;
	}
	if (n_val > 0)
	{
		/* validation goes through the inference path, in batches */
		int			vb = n_val < batch ? (int) n_val : batch;

		xb = HnAlloc(alloc, (size_t) vb * data->n_features * sizeof(float));
		tb = HnAlloc(alloc, (size_t) vb * net->hdr->n_outputs * sizeof(float));
		if (xb == NULL || tb == NULL)
		{
			st = HnSetError(err, HANAMI_E_NOMEM, NULL,
							"out of memory for training buffers");
			goto done;
		}
		work = DenseWorkCreate(net, vb, false, alloc, err);
		if (work == NULL)
		{
			st = err ? err->code : HANAMI_E_NOMEM;
			goto done;
		}
	}
	trainer = TrainerCreate(net, opt, batch, opt->pool, cb, alloc, err);
	if (trainer == NULL)
	{
		st = err ? err->code : HANAMI_E_NOMEM;
		goto done;
	}

	/* validation split by a seeded shuffle; training rows follow */
	for (int64_t i = 0; i < n; i++)
		idx[i] = i;
	RngSeed(&rng, opt->seed);
	if (n_val > 0)
	{
		RngShuffle(&rng, idx, n);
		if (!opt->shuffle)
			qsort(idx, (size_t) n_train, sizeof(int64_t), TrainCompareRows);
	}
	res->train_rows = n_train;
	res->val_rows = n_val;

	/* scaling: learn what is not fitted yet, or all of it on rescale */
	if ((net->hdr->flags & HANAMI_FLAG_SCALE_INPUT) &&
		(opt->rescale || !(net->hdr->flags & HANAMI_FLAG_INPUT_FITTED)))
	{
		st = TrainFitInputScaling(net, data, n_train, idx, alloc, err);
		if (st != HANAMI_OK)
			goto done;
	}
	if (TrainOutputScalable(net, data) &&
		(opt->rescale || !(net->hdr->flags & HANAMI_FLAG_OUTPUT_FITTED)))
		TrainFitOutputScaling(net, data, n_train, idx);

	for (int epoch = 1; epoch <= opt->epochs && !stop; epoch++)
	{
		double		val_loss = NAN;
		double		val_acc = NAN;

		if (opt->shuffle)
			RngShuffle(&rng, idx, n_train);
		TrainerEpochBegin(trainer);
		for (int64_t r0 = 0; r0 < n_train; r0 += batch)
		{
			int			count = (int) (n_train - r0 < batch ? n_train - r0 : batch);
			HnBatch		b;
			bool		go_on;

			for (int k = 0; k < count; k++)
			{
				int64_t		r = idx[r0 + k];

				xp[k] = data->x + (size_t) r * data->n_features;
				if (data->y != NULL)
					yp[k] = data->y + (size_t) r * data->n_outputs;
				else
					cls[k] = data->cls[r];
			}
			b.count = count;
			b.x = xp;
			b.cls = data->cls != NULL ? cls : NULL;
			b.y = data->y != NULL ? yp : NULL;
#if defined(__GNUC__)
			/* online training: bring the next row in while this one runs */
			if (count == 1 && r0 + 1 < n_train)
			{
				const char *next = (const char *) (data->x +
												   (size_t) idx[r0 + 1] * data->n_features);

				for (size_t o = 0; o < data->n_features * sizeof(float); o += 64)
					__builtin_prefetch(next + o);
			}
#endif
			st = TrainerStep(trainer, &b, &go_on, err);
			if (st != HANAMI_OK)
				goto done;
			if (!go_on)
			{
				stop = true;
				break;
			}
		}
		if (TrainerEpochRows(trainer) == 0)
			break;
		if (n_val > 0 &&
			!TrainValidate(net, data, work, idx + n_train, n_val, xb, tb, cb,
						   &val_loss, &val_acc))
		{
			TrainerSetStop(trainer, HANAMI_STOP_CALLBACK);
			break;
		}
		{
			bool		threshold;

			st = TrainerEpochEnd(trainer, val_loss, val_acc, &threshold, err);
			if (st != HANAMI_OK)
				goto done;
			stop |= threshold;
		}
	}
	TrainerResult(trainer, res);
	res->train_rows = n_train;
	res->val_rows = n_val;
	st = HANAMI_OK;

done:
	TrainerFree(trainer);
	DenseWorkFree(work, alloc);
	HnFree(alloc, tb);
	HnFree(alloc, xb);
	HnFree(alloc, cls);
	HnFree(alloc, yp);
	HnFree(alloc, xp);
	HnFree(alloc, idx);
	return st;
}

/* Evaluate net on data; see train.h. */
HnStatus
TrainEvaluate(const DenseNet *net, const HnDataset *data, const HnCallbacks *cb,
			  const HnAllocator *alloc, HnEvalResult *res, HnError *err)
{
	uint32_t	n_out = net->hdr->n_outputs;
	uint32_t	n_cls = n_out >= 2 ? n_out : 2;
	HnActivation out_act =
		(HnActivation) net->layers[net->hdr->n_layers - 1].activation;
	int64_t    *confusion = res->confusion;
	DenseWork *work = NULL;
	float	   *tb = NULL;
	double	   *ymean = NULL;
	int			batch;
	int64_t		n;
	int64_t		done_rows = 0;
	int64_t		labelled = 0;
	int64_t		correct = 0;
	double		loss = 0.0;
	double		se = 0.0;
	double		ae = 0.0;
	double		ss_tot = 0.0;
	HnStatus	st;

	memset(res, 0, sizeof(*res));
	res->confusion = confusion;
	res->loss = res->accuracy = res->mse = res->mae = res->r2 = NAN;
	st = TrainCheckData(net, data, "evaluate", err);
	if (st != HANAMI_OK)
		return st;
	n = data->n;
	batch = n < HANAMI_EVAL_BATCH ? (int) n : HANAMI_EVAL_BATCH;
	if (confusion != NULL)
		memset(confusion, 0, (size_t) n_cls * n_cls * sizeof(int64_t));

	tb = HnAlloc(alloc, (size_t) batch * n_out * sizeof(float));
	ymean = HnAllocZero(alloc, (size_t) n_out * sizeof(double));
	work = DenseWorkCreate(net, batch, false, alloc, err);
	if (work == NULL)
	{
		st = err ? err->code : HANAMI_E_NOMEM;
		goto done;
	}
	/* the same arithmetic as inline inference (run, classify) */
	DenseWorkFold(net, work);
	if (tb == NULL || ymean == NULL)
	{
		st = HnSetError(err, HANAMI_E_NOMEM, NULL,
						"out of memory for evaluation buffers");
		goto done;
	}
	if (data->y != NULL)
	{
		/* target means first, for a stable total sum of squares */
		for (int64_t r = 0; r < n; r++)
			for (uint32_t j = 0; j < n_out; j++)
				ymean[j] += data->y[(size_t) r * n_out + j];
		for (uint32_t j = 0; j < n_out; j++)
			ymean[j] /= (double) n;
	}

	for (int64_t r0 = 0; r0 < n; r0 += batch)
	{
		int			count = (int) (n - r0 < batch ? n - r0 : batch);
		const float *y;

		if (cb && cb->interrupt && cb->interrupt(cb->ctx))
			break;
		/* targets through the fit's path, with rows r0.. in order */
		for (int k = 0; k < count; k++)
			TrainTarget(net, data, r0 + k, tb + (size_t) k * n_out);
		y = DenseForward(net, work, data->x + (size_t) r0 * data->n_features,
						 count);
		st = TrainCheckOutputs(net, y, count, r0, err);
		if (st != HANAMI_OK)
			goto done;
		for (int k = 0; k < count; k++)
		{
			const float *yk = y + (size_t) k * n_out;
			int			c = TrainTrueClass(net, data, r0 + k);

			loss += LossValue((HnLoss) net->hdr->loss, out_act, yk,
							  tb + (size_t) k * n_out, n_out);
			if (c >= 0)
			{
				int			p = TrainPredictClass(yk, n_out);

				labelled++;
				correct += p == c;
				if (confusion != NULL)
					confusion[(size_t) c * n_cls + (size_t) p]++;
			}
			if (data->y != NULL)
			{
				const float *t = data->y + (size_t) (r0 + k) * n_out;

				for (uint32_t j = 0; j < n_out; j++)
				{
					double		pred = (double) yk[j] * net->out_mul[j] +
						net->out_shift[j];
					double		d = pred - t[j];

					se += d * d;
					ae += fabs(d);
					ss_tot += (t[j] - ymean[j]) * (t[j] - ymean[j]);
				}
			}
		}
		done_rows += count;
	}
	res->n = done_rows;
	if (done_rows > 0)
	{
		double		cnt = (double) done_rows * n_out;

		res->loss = loss / (double) done_rows;
		if (labelled == done_rows)
			res->accuracy = (double) correct / (double) done_rows;
		if (data->y != NULL)
		{
			res->mse = se / cnt;
			res->mae = ae / cnt;
			if (ss_tot > 0.0)
				res->r2 = 1.0 - se / ss_tot;
			else
				res->r2 = se == 0.0 ? 1.0 : NAN;
		}
	}
	st = HANAMI_OK;

done:
	DenseWorkFree(work, alloc);
	HnFree(alloc, ymean);
	HnFree(alloc, tb);
	return st;
}
