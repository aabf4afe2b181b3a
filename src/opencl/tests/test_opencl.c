/*
 * test_opencl.c - parity tests of the OpenCL backend against its CPU twins,
 * run on whatever device OpenCL offers (PoCL in the test suite): forward,
 * backward, loss, optimizer updates, prediction with argmax, and whole fits,
 * each compared within a stated tolerance; plus device selection, buffer
 * limits and release.  Uses the engine tests' harness (harness.h): "ok N -
 * ..." lines and "N passed, N failed".
 *
 * A device is required: without one the run fails, unless
 * HANAMI_OPENCL_OPTIONAL=1 (a machine without OpenCL), which skips every
 * test and prints "0 passed, 0 failed".  HANAMI_TEST_DEVICE picks the device
 * to test on, as hanami.opencl_device does.
 *
 * Tolerances (float32 sums in another order, fused multiply-adds):
 *   forward outputs          |d| <= 1e-5 + 1e-4 |y|
 *   loss of a batch          relative 1e-5
 *   gradients                |d| <= 1e-5 max|g| + 1e-7
 *   one optimizer step       |d| <= 1e-6 + 1e-5 |w|
 *   prediction, classes      outputs as forward; classes equal
 *   whole fit (5 epochs)     weights |d| <= 2e-3 + 2e-3 |w|, loss rel 1e-3,
 *                            counters and learned scaling identical
 *   growing network          sigmoid outputs |d| <= 1e-5; classes equal
 *                            where the two largest outputs are 1e-5 apart
 *   compact weights          pow2: bitwise equal outputs; f16, u8 and a
 *                            pow2-trained float network: as forward;
 *                            classes equal
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dense/step.h"
#include "core/dense/dense.h"
#include "core/dense/format.h"
#include "core/dense/dtype.h"
#include "core/json.h"
#include "core/optim.h"
#include "core/fit.h"
#include "core/hanami/hanami.h"
#include "core/kind.h"
#include "core/train.h"
#include "opencl/ocl.h"
#include "opencl/ocl_int.h"

#include "core/tests/harness.h"

/* A second network with the same bytes. */
static void
NetClone(TestNet *dst, const TestNet *src)
{
	dst->len = src->len;
	dst->buf = TestCopy(src->buf, src->len);
	DenseBindTrusted(&dst->net, dst->buf);
}

/* Largest |a - b| beyond abs + rel |b|, as a ratio (<= 1 passes). */
static double
WorstRatio(const float *a, const float *b, size_t n, double abs_tol,
		   double rel_tol, size_t *at)
{
	double		worst = 0.0;

	for (size_t i = 0; i < n; i++)
	{
		double		d = fabs((double) a[i] - (double) b[i]);
		double		lim = abs_tol + rel_tol * fabs((double) b[i]);
		double		r = d / lim;

		if (!(r <= worst))		/* NaN counts as worst */
		{
			worst = isnan(r) ? INFINITY : r;
			if (at)
				*at = i;
		}
	}
	return worst;
}

/* Largest |v|. */
static double
MaxAbs(const float *v, size_t n)
{
	double		m = 0.0;

	for (size_t i = 0; i < n; i++)
		if (fabs(v[i]) > m)
			m = fabs(v[i]);
	return m;
}

/* Give the scaling of a network something else than identity. */
static void
SetScaling(DenseNet *net, uint64_t *seed)
{
	for (uint32_t i = 0; i < net->hdr->n_inputs; i++)
	{
		net->in_shift[i] = TestUniform(seed, -1.0f, 1.0f);
		net->in_mul[i] = TestUniform(seed, 0.5f, 2.0f);
	}
	for (uint32_t j = 0; j < net->hdr->n_outputs; j++)
	{
		net->out_shift[j] = TestUniform(seed, -3.0f, 3.0f);
		net->out_mul[j] = TestUniform(seed, 0.5f, 4.0f);
	}
}

static OclDevice *device;

/*
 * Forward, loss and backward of one net on one batch: CPU against device;
 * with clip, the network clips its scaled inputs and a fifth of the inputs
 * are far past the bound.
 */
static void
ParityBatch(const char *name, int n_layers, const uint32_t *counts,
			const HnActivation *acts, HnLoss loss, int rows, uint64_t mask,
			bool clip)
{
	TestNet		tn;
	OclError	err;
	HnError		herr;
	OclSession *s;
	OclDense   *d;
	DenseWork *work;
	HnOptimConfig oc = {HANAMI_OPT_SGD, 0.01f, 0.9f, 0.9f, 0.999f, 1e-8f, 0.0f};
	uint64_t	seed = 12345 + (uint64_t) rows;
	size_t		n_in;
	size_t		n_out;
	size_t		n_params;
	float	   *x;
	float	   *t;
	float	   *y_dev;
	float	   *grad_dev;
	const float *y_cpu;
	double		loss_cpu;
	double		loss_dev = 0.0;
	double		worst;
	double		gmax;
	size_t		at = 0;
	HnActivation out_act = acts[n_layers - 1];

	if (!TestNetMake(&tn, n_layers, counts, acts, loss, 7, true))
	{
		CHECK(false, "%s: network", name);
		return;
	}
	SetScaling(&tn.net, &seed);
	n_in = tn.net.hdr->n_inputs;
	n_out = tn.net.hdr->n_outputs;
	n_params = (size_t) tn.net.hdr->n_params;
	x = malloc(sizeof(float) * rows * n_in);
	t = calloc((size_t) rows * n_out, sizeof(float));
	y_dev = malloc(sizeof(float) * rows * n_out);
	grad_dev = malloc(sizeof(float) * n_params);
	for (size_t i = 0; i < (size_t) rows * n_in; i++)
		x[i] = TestUniform(&seed, -2.0f, 2.0f) * (clip && i % 5 == 0 ? 1000.0f : 1.0f);
	if (clip)
		tn.net.hdr->flags |= HANAMI_FLAG_INPUT_CLIP;
	for (int r = 0; r < rows; r++)
	{
		if (out_act == HANAMI_ACT_SOFTMAX)
			t[r * n_out + (size_t) (TestUniform(&seed, 0.0f, (float) n_out - 0.01f))] = 1.0f;
		else if (out_act == HANAMI_ACT_SIGMOID)
			for (size_t j = 0; j < n_out; j++)
				t[r * n_out + j] = TestUniform(&seed, 0.0f, 1.0f) < 0.5f ? 0.0f : 1.0f;
		else
			for (size_t j = 0; j < n_out; j++)
				t[r * n_out + j] = TestUniform(&seed, -1.0f, 1.0f);
	}

	work = DenseWorkCreate(&tn.net, rows, true, &HnMallocAllocator, &herr);
	y_cpu = DenseForward(&tn.net, work, x, rows);
	s = OclSessionCreate(device, &HnMallocAllocator, &err);
	d = OclDenseCreate(s, &tn.net, rows, &oc, &HnMallocAllocator, &err);
	if (d == NULL || OclDenseForward(d, x, rows, y_dev, &err) != HANAMI_OK)
	{
		CHECK(false, "%s: device forward: %s", name, err.base.message);
		goto done;
	}
	worst = WorstRatio(y_dev, y_cpu, (size_t) rows * n_out, 1e-5, 1e-4, &at);
	if (!CHECK(worst <= 1.0, "%s: forward of %d rows matches the CPU", name, rows))
		TestNote("output %zu: device %.9g, cpu %.9g", at, y_dev[at], y_cpu[at]);

	loss_cpu = DenseBackward(&tn.net, work, t, rows, mask);
	if (OclDenseBackward(d, t, rows, mask, &loss_dev, grad_dev, &err) != HANAMI_OK)
	{
		CHECK(false, "%s: device backward: %s", name, err.base.message);
		goto done;
	}
	if (!CHECK(fabs(loss_dev - loss_cpu) <= 1e-5 * fabs(loss_cpu) + 1e-6,
			   "%s: loss of the batch matches the CPU", name))
		TestNote("device %.9g, cpu %.9g", loss_dev, loss_cpu);
	gmax = 0.0;
	worst = 0.0;
	for (int l = 1; l < n_layers; l++)
	{
		size_t		off = tn.net.layers[l].param_offset;
		size_t		cnt = (size_t) counts[l - 1] * counts[l] + counts[l];

		if (mask & ((uint64_t) 1 << l))
		{
			double		m = MaxAbs(work->grad + off, cnt);

			if (m > gmax)
				gmax = m;
		}
	}
	for (int l = 1; l < n_layers; l++)
	{
		size_t		off = tn.net.layers[l].param_offset;
		size_t		cnt = (size_t) counts[l - 1] * counts[l] + counts[l];
		size_t		lat = 0;
		double		w;

		if (!(mask & ((uint64_t) 1 << l)))
			continue;
		w = WorstRatio(grad_dev + off, work->grad + off, cnt, 1e-5 * gmax + 1e-7,
					   0.0, &lat);
		if (w > worst)
		{
			worst = w;
			at = off + lat;
		}
	}
	if (!CHECK(worst <= 1.0, "%s: gradients match the CPU", name))
		TestNote("parameter %zu: device %.9g, cpu %.9g (max |g| %.3g)", at,
			 grad_dev[at], work->grad[at], gmax);

done:
	OclSessionFree(s, &HnMallocAllocator);
	free(d);
	DenseWorkFree(work, &HnMallocAllocator);
	free(grad_dev);
	free(y_dev);
	free(t);
	free(x);
	free(tn.buf);
}

/* Forward and backward parity over activations, losses, shapes and masks. */
static void
TestParityBatches(void)
{
	static const HnActivation elementwise[] = {
		HANAMI_ACT_IDENTITY, HANAMI_ACT_BINARY, HANAMI_ACT_TANH,
		HANAMI_ACT_ISRLU, HANAMI_ACT_RELU, HANAMI_ACT_ELU,
		HANAMI_ACT_SOFTCLIP, HANAMI_ACT_SIN, HANAMI_ACT_SINC,
		HANAMI_ACT_GAUSS, HANAMI_ACT_SIGMOID
	};
	uint32_t	small[] = {7, 13, 9, 5};

	for (size_t i = 0; i < sizeof(elementwise) / sizeof(elementwise[0]); i++)
	{
		HnActivation acts[] = {HANAMI_ACT_IDENTITY, elementwise[i],
		elementwise[i], HANAMI_ACT_SOFTMAX};
		char		name[64];

		snprintf(name, sizeof(name), "7-13-9-5 %s", ActName(elementwise[i]));
		ParityBatch(name, 4, small, acts, HANAMI_LOSS_CROSS_ENTROPY, 37,
					~(uint64_t) 0, false);
	}
	{
		HnActivation acts[] = {HANAMI_ACT_IDENTITY, HANAMI_ACT_TANH,
		HANAMI_ACT_RELU, HANAMI_ACT_IDENTITY};

		ParityBatch("7-13-9-5 mse identity output", 4, small, acts,
					HANAMI_LOSS_MSE, 37, ~(uint64_t) 0, false);
	}
	{
		HnActivation acts[] = {HANAMI_ACT_IDENTITY, HANAMI_ACT_ELU,
		HANAMI_ACT_SIGMOID, HANAMI_ACT_SIGMOID};

		ParityBatch("7-13-9-5 binary cross-entropy", 4, small, acts,
					HANAMI_LOSS_CROSS_ENTROPY, 20, ~(uint64_t) 0, false);
	}
	{
		HnActivation acts[] = {HANAMI_ACT_IDENTITY, HANAMI_ACT_TANH,
		HANAMI_ACT_GAUSS, HANAMI_ACT_SOFTMAX};

		ParityBatch("7-13-9-5 mse on softmax", 4, small, acts,
					HANAMI_LOSS_MSE, 9, ~(uint64_t) 0, false);
	}
	{
		HnActivation acts[] = {HANAMI_ACT_IDENTITY, HANAMI_ACT_RELU,
		HANAMI_ACT_TANH, HANAMI_ACT_SOFTMAX};

		ParityBatch("7-13-9-5 first layer frozen", 4, small, acts,
					HANAMI_LOSS_CROSS_ENTROPY, 16, (uint64_t) 0xC, false);
		ParityBatch("7-13-9-5 one row", 4, small, acts,
					HANAMI_LOSS_CROSS_ENTROPY, 1, ~(uint64_t) 0, false);
		ParityBatch("7-13-9-5 clipped inputs", 4, small, acts,
					HANAMI_LOSS_CROSS_ENTROPY, 23, ~(uint64_t) 0, true);
	}
	{
		uint32_t	big[] = {150, 130, 70, 10};
		HnActivation acts[] = {HANAMI_ACT_IDENTITY, HANAMI_ACT_RELU,
		HANAMI_ACT_TANH, HANAMI_ACT_SOFTMAX};

		ParityBatch("150-130-70-10 large tiles", 4, big, acts,
					HANAMI_LOSS_CROSS_ENTROPY, 100, ~(uint64_t) 0, false);
	}
}

/* Optimizer steps from the same gradients on both sides. */
static void
TestParityOptim(HnOptimizer kind, float wd)
{
	uint32_t	counts[] = {9, 70, 66, 4};
	HnActivation acts[] = {HANAMI_ACT_IDENTITY, HANAMI_ACT_TANH,
	HANAMI_ACT_RELU, HANAMI_ACT_SOFTMAX};
	HnOptimConfig oc = {kind, kind == HANAMI_OPT_SGD ? 0.05f : 0.01f, 0.9f,
	0.9f, 0.999f, 1e-8f, wd};
	uint64_t	mask = (uint64_t) 0xA;	/* layers 1 and 3 */
	uint64_t	seed = 99;
	TestNet		tn;
	HnError		herr;
	OclError	err;
	OclSession *s;
	OclDense   *d;
	HnOptimState *st;
	float	   *grad;
	float	   *w_dev;
	size_t		n;
	double		worst;
	size_t		at = 0;
	bool		ok = true;

	if (!TestNetMake(&tn, 4, counts, acts, HANAMI_LOSS_CROSS_ENTROPY, 3, true))
	{
		CHECK(false, "%s: network", OptimName(kind));
		return;
	}
	n = (size_t) tn.net.hdr->n_params;
	grad = malloc(n * sizeof(float));
	w_dev = malloc(n * sizeof(float));
	st = OptimCreate(&tn.net, &oc, &HnMallocAllocator, &herr);
	s = OclSessionCreate(device, &HnMallocAllocator, &err);
	d = OclDenseCreate(s, &tn.net, 4, &oc, &HnMallocAllocator, &err);
	for (int step = 0; ok && step < 3; step++)
	{
		for (size_t i = 0; i < n; i++)
			grad[i] = TestUniform(&seed, -1.0f, 1.0f) * (i % 7 == 0 ? 1e-3f : 1.0f);
		OptimStep(&tn.net, st, grad, mask);
		ok = d != NULL &&
			OclWrite(s, d->grad, 0, n * sizeof(float), grad, true, &err) == HANAMI_OK &&
			OclDenseOptimStep(d, mask, &err) == HANAMI_OK;
	}
	if (!ok || OclDenseReadParams(d, w_dev, &err) != HANAMI_OK)
		CHECK(false, "%s step on the device: %s", OptimName(kind), err.base.message);
	else
	{
		worst = WorstRatio(w_dev, tn.net.params, n, 1e-6, 1e-5, &at);
		if (!CHECK(worst <= 1.0, "%s%s: three steps match OptimStep",
				   OptimName(kind), wd > 0 ? " with weight decay" : ""))
			TestNote("parameter %zu: device %.9g, cpu %.9g", at, w_dev[at],
				 tn.net.params[at]);
	}
	OclSessionFree(s, &HnMallocAllocator);
	free(d);
	OptimFree(st, &HnMallocAllocator);
	free(w_dev);
	free(grad);
	free(tn.buf);
}

/* Batched prediction with output scaling and argmax, in several chunks. */
static void
TestParityPredict(void)
{
	uint32_t	counts[] = {5, 24, 6};
	HnActivation acts[] = {HANAMI_ACT_IDENTITY, HANAMI_ACT_TANH,
	HANAMI_ACT_IDENTITY};
	uint32_t	counts1[] = {5, 8, 1};
	HnActivation acts1[] = {HANAMI_ACT_IDENTITY, HANAMI_ACT_ELU,
	HANAMI_ACT_SIGMOID};
	uint64_t	seed = 4242;

	for (int v = 0; v < 2; v++)
	{
		TestNet		tn;
		HnError		herr;
		OclError	err;
		OclSession *s;
		OclDense   *d;
		DenseWork *work;
		const int	rows = 203;
		float	   *x;
		float	   *out_cpu;
		float	   *out_dev;
		int32_t    *cls;
		size_t		n_out;
		size_t		at = 0;
		int			wrong = 0;

		if (!TestNetMake(&tn, 3, v ? counts1 : counts, v ? acts1 : acts,
					 v ? HANAMI_LOSS_CROSS_ENTROPY : HANAMI_LOSS_MSE, 11, true))
		{
			CHECK(false, "prediction: network");
			return;
		}
		if (v == 0)
			SetScaling(&tn.net, &seed);
		n_out = tn.net.hdr->n_outputs;
		x = malloc(sizeof(float) * rows * 5);
		out_cpu = malloc(sizeof(float) * rows * n_out);
		out_dev = malloc(sizeof(float) * rows * n_out);
		cls = malloc(sizeof(int32_t) * rows);
		for (int i = 0; i < rows * 5; i++)
			x[i] = TestUniform(&seed, -3.0f, 3.0f);
		work = DenseWorkCreate(&tn.net, 64, false, &HnMallocAllocator, &herr);
		DensePredict(&tn.net, work, x, rows, out_cpu);
		s = OclSessionCreate(device, &HnMallocAllocator, &err);
		d = OclDenseCreate(s, &tn.net, 64, NULL, &HnMallocAllocator, &err);
		if (d == NULL || OclDensePredict(d, x, rows, out_dev, cls, &err) != HANAMI_OK)
			CHECK(false, "predict on the device: %s", err.base.message);
		else
		{
			double		worst = WorstRatio(out_dev, out_cpu, (size_t) rows * n_out,
										   1e-5, 1e-4, &at);

			if (!CHECK(worst <= 1.0, "%s: prediction of %d rows in chunks of 64 matches DensePredict",
					   v ? "sigmoid" : "scaled regression", rows))
				TestNote("output %zu: device %.9g, cpu %.9g", at, out_dev[at], out_cpu[at]);
			for (int r = 0; r < rows; r++)
			{
				const float *o = out_cpu + (size_t) r * n_out;
				int			best = 0;

				if (v == 1)
				{
					/* one output: the class is y >= 0.5 (before scaling) */
					best = o[0] >= 0.5f ? 1 : 0;
				}
				else
				{
					float		bv;

					/* argmax of network-space outputs = (o - shift) / mul */
					bv = (o[0] - tn.net.out_shift[0]) / tn.net.out_mul[0];
					for (size_t j = 1; j < n_out; j++)
					{
						float		vj = (o[j] - tn.net.out_shift[j]) / tn.net.out_mul[j];

						if (vj > bv)
						{
							bv = vj;
							best = (int) j;
						}
					}
				}
				wrong += cls[r] != best;
			}
			CHECK(wrong == 0, "%s: argmax of %d rows matches the CPU (%d differ)",
				  v ? "sigmoid" : "scaled regression", rows, wrong);
		}
		OclSessionFree(s, &HnMallocAllocator);
		free(d);
		DenseWorkFree(work, &HnMallocAllocator);
		free(cls);
		free(out_dev);
		free(out_cpu);
		free(x);
		free(tn.buf);
	}
}

/*
 * Compact weights read natively: a network quantized to pow2, f16 and u8
 * (and one trained for pow2) goes up with its parameter area as stored, and
 * the device's predictions match the CPU's: pow2 bit for bit (same products,
 * same order of sums; with exact activations: tanh and exp differ by ulps),
 * including inputs whose products leave the normal
 * range; f16, u8 and the pow2-trained float network within the forward
 * tolerance, with equal classes.  Training such a network is refused.
 */
static void
TestParityCompact(void)
{
	uint32_t	counts[] = {21, 40, 17, 6};
	HnActivation acts[] = {HANAMI_ACT_IDENTITY, HANAMI_ACT_RELU,
	HANAMI_ACT_TANH, HANAMI_ACT_IDENTITY};
	/* exact activations, so that bitwise parity is that of the products */
	HnActivation exact[] = {HANAMI_ACT_IDENTITY, HANAMI_ACT_RELU,
	HANAMI_ACT_RELU, HANAMI_ACT_IDENTITY};
	const int	dtypes[] = {DENSE_DTYPE_POW2, DENSE_DTYPE_F16, DENSE_DTYPE_U8,
	DENSE_DTYPE_POW2, DENSE_DTYPE_F32};
	const char *names[] = {"pow2", "f16", "u8", "pow2, tiny weights",
	"pow2-trained f32"};
	const int	rows = 203;
	const size_t n_in = 21;
	const size_t n_out = 6;

	for (int v = 0; v < 5; v++)
	{
		TestNet		tn;
		DenseNet	qnet;
		void	   *image = NULL;
		size_t		len = 0;
		HnError		herr;
		OclError	err;
		OclSession *s;
		OclDense   *d;
		DenseWork *work;
		HnOptimConfig oc = {HANAMI_OPT_SGD, 0.01f, 0.9f, 0.9f, 0.999f, 1e-8f, 0.0f};
		uint64_t	seed = 777 + (uint64_t) v;
		float	   *x = malloc(sizeof(float) * rows * n_in);
		float	   *out_cpu = malloc(sizeof(float) * rows * n_out);
		float	   *out_dev = malloc(sizeof(float) * rows * n_out);
		int32_t    *cls = malloc(sizeof(int32_t) * rows);
		size_t		at = 0;
		size_t		bytes = 0;
		int			wrong = 0;

		if (!TestNetMake(&tn, 4, counts, v == 0 || v == 3 ? exact : acts,
						 HANAMI_LOSS_MSE, 31 + v, false))
		{
			CHECK(false, "%s: network", names[v]);
			return;
		}
		for (int l = 1; l < 4; l++)
		{
			float	   *w = DenseWeights(&tn.net, l);
			float	   *b = DenseBias(&tn.net, l);

			for (uint32_t i = 0; i < counts[l - 1] * counts[l]; i++)
				w[i] *= (v == 3 && l == 1) ? 1e-36f : 1.0f;
			for (uint32_t j = 0; j < counts[l]; j++)
				b[j] = TestUniform(&seed, -0.5f, 0.5f);
		}
		if (dtypes[v] == DENSE_DTYPE_F32)
		{
			tn.net.hdr->flags |= HANAMI_FLAG_POW2_QAT;
			qnet = tn.net;
		}
		else
		{
			if (DenseQuantize(&tn.net, dtypes[v], &HnMallocAllocator, &image,
							  &len, &herr) != HANAMI_OK)
			{
				CHECK(false, "%s: quantize: %s", names[v], herr.message);
				free(tn.buf);
				return;
			}
			DenseBindTrusted(&qnet, image);
		}
		for (size_t i = 0; i < (size_t) rows * n_in; i++)
			x[i] = TestUniform(&seed, -3.0f, 3.0f);
		/* rows of zeros, subnormals, tiny and huge values */
		for (size_t i = 0; i < n_in; i++)
		{
			x[0 * n_in + i] = 0.0f;
			x[1 * n_in + i] = (i % 2 ? -1.0f : 1.0f) * 1e-39f * (float) (i + 1);
			x[2 * n_in + i] = (i % 3 ? 1.0f : -1.0f) * 1e-6f * (float) (i + 1);
			x[3 * n_in + i] = (i % 2 ? -1.0f : 1.0f) * 1e30f * (float) (i + 1);
		}
		work = DenseWorkCreate(&qnet, 64, false, &HnMallocAllocator, &herr);
		DensePredict(&qnet, work, x, rows, out_cpu);
		s = OclSessionCreate(device, &HnMallocAllocator, &err);
		d = OclDenseCreate(s, &qnet, 64, NULL, &HnMallocAllocator, &err);
		if (d != NULL)
			clGetMemObjectInfo(d->params, CL_MEM_SIZE, sizeof(bytes), &bytes, NULL);
		if (d == NULL || OclDensePredict(d, x, rows, out_dev, cls, &err) != HANAMI_OK)
			CHECK(false, "%s: predict on the device: %s", names[v], err.base.message);
		else if (v == 0 || v == 3)
		{
			CHECK(memcmp(out_dev, out_cpu, sizeof(float) * rows * n_out) == 0,
				  "%s: %d rows on the device are bitwise the CPU's", names[v], rows);
			for (size_t i = 0; i < (size_t) rows * n_out; i++)
				if (memcmp(out_dev + i, out_cpu + i, sizeof(float)) != 0)
				{
					TestNote("output %zu: device %.9g, cpu %.9g", i, out_dev[i], out_cpu[i]);
					break;
				}
		}
		else
		{
			double		worst = WorstRatio(out_dev, out_cpu, (size_t) rows * n_out,
										   1e-5, 1e-4, &at);

			if (!CHECK(worst <= 1.0, "%s: %d rows on the device match DensePredict",
					   names[v], rows))
				TestNote("output %zu: device %.9g, cpu %.9g", at, out_dev[at], out_cpu[at]);
		}
		if (d != NULL)
		{
			for (int r = 0; r < rows; r++)
			{
				const float *o = out_cpu + (size_t) r * n_out;
				int			best = 0;

				for (size_t j = 1; j < n_out; j++)
					if (o[j] > o[best])
						best = (int) j;
				wrong += cls[r] != best;
			}
			CHECK(wrong == 0, "%s: classes of %d rows match the CPU (%d differ)",
				  names[v], rows, wrong);
			if (dtypes[v] != DENSE_DTYPE_F32)
				CHECK(bytes == len - DenseParamsOffset(4, counts[0], counts[3]),
					  "%s: the device holds the %zu bytes of parameters as stored (%zu as float32)",
					  names[v], bytes, (size_t) tn.net.hdr->n_params * sizeof(float));
			else
				CHECK(bytes < (size_t) tn.net.hdr->n_params * sizeof(float) / 3,
					  "%s: the device holds pow2 codes, %zu bytes (%zu as float32)",
					  names[v], bytes, (size_t) tn.net.hdr->n_params * sizeof(float));
		}
		{
			HnNet		hn;
			HnNet		fn;
			int64_t		big = OCL_AUTO_WORK;

			/* "device": "auto": inference may go to a GPU, training never */
			NetBindTrusted(&hn, dtypes[v] == DENSE_DTYPE_F32 ? tn.buf : image);
			NetBindTrusted(&fn, tn.buf);
			CHECK(OclAutoPicks(&hn, false, big, true) &&
				  !OclAutoPicks(&hn, true, big, true) &&
				  !OclAutoPicks(&hn, false, big, false) &&
				  !OclAutoPicks(&hn, false, 1, true),
				  "%s: auto takes a GPU for large inference only, never to train it",
				  names[v]);
			if (v == 0)
			{
				CHECK(OclAutoPicks(&fn, true, big, true) &&
					  !OclAutoPicks(&fn, true, big, false),
					  "f32: auto takes a GPU (not a CPU device) to train a large fit");
			}
		}
		OclSessionFree(s, &HnMallocAllocator);
		free(d);
		s = OclSessionCreate(device, &HnMallocAllocator, &err);
		d = OclDenseCreate(s, &qnet, 64, &oc, &HnMallocAllocator, &err);
		CHECK(d == NULL && err.base.code == HANAMI_E_UNSUPPORTED,
			  "%s: training on the device is refused: %s", names[v],
			  err.base.message);
		OclSessionFree(s, &HnMallocAllocator);
		free(d);
		DenseWorkFree(work, &HnMallocAllocator);
		free(cls);
		free(out_dev);
		free(out_cpu);
		free(x);
		free(image);
		free(tn.buf);
	}
}

/*
 * Rows whose finite inputs overflow inside the network: the device's classes
 * mark them -1 (the glue reports an error), exactly where the CPU's outputs
 * are not finite; the other rows keep their class.
 */
static void
TestDeviceNotFinite(void)
{
	uint32_t	counts[] = {2, 8, 3};
	HnActivation acts[] = {HANAMI_ACT_IDENTITY, HANAMI_ACT_RELU,
	HANAMI_ACT_SOFTMAX};
	TestNet		tn;
	HnError		herr;
	OclError	err;
	OclSession *s;
	OclDense   *d;
	DenseWork *work;
	const int	rows = 40;
	float		x[40 * 2];
	float		out[40 * 3];
	int32_t		cls[40];
	int			bad_rows = 0;
	int			wrong = 0;

	if (!TestNetMake(&tn, 3, counts, acts, HANAMI_LOSS_CROSS_ENTROPY, 1, true))
	{
		CHECK(false, "classes of rows that overflow: network");
		return;
	}
	for (int r = 0; r < rows; r++)
	{
		x[2 * r] = r % 4 == 1 ? 3e38f : (float) r / 10.0f;
		x[2 * r + 1] = r % 4 == 1 ? 3e38f : 1.0f - (float) r / 20.0f;
	}
	work = DenseWorkCreate(&tn.net, rows, false, &HnMallocAllocator, &herr);
	DensePredict(&tn.net, work, x, rows, out);
	s = OclSessionCreate(device, &HnMallocAllocator, &err);
	d = OclDenseCreate(s, &tn.net, 16, NULL, &HnMallocAllocator, &err);
	if (d == NULL || OclDensePredict(d, x, rows, NULL, cls, &err) != HANAMI_OK)
		CHECK(false, "classes on the device: %s", err.base.message);
	else
	{
		for (int r = 0; r < rows; r++)
		{
			const float *o = out + r * 3;
			bool		finite = isfinite(o[0]) && isfinite(o[1]) && isfinite(o[2]);
			int			best = o[1] > o[0] ? 1 : 0;

			best = o[2] > o[best] ? 2 : best;
			bad_rows += !finite;
			wrong += finite ? cls[r] != best : cls[r] != -1;
		}
		CHECK(bad_rows == rows / 4 && wrong == 0,
			  "device classes are -1 where outputs are not finite (%d rows), else the argmax (%d differ)",
			  bad_rows, wrong);
	}
	OclSessionFree(s, &HnMallocAllocator);
	free(d);
	DenseWorkFree(work, &HnMallocAllocator);
	free(tn.buf);
}

/* Synthetic rows: three blobs in 6 features, or a smooth regression. */
static void
MakeRows(int n, bool classes, float *x, int32_t *cls, float *y)
{
	uint64_t	seed = 777;

	for (int r = 0; r < n; r++)
	{
		int			c = r % 3;
		float		s = 0.0f;

		for (int j = 0; j < 6; j++)
		{
			x[r * 6 + j] = TestUniform(&seed, -1.0f, 1.0f) + (classes ? (float) (c * (j % 3 == c)) * 2.0f : 0.0f);
			x[r * 6 + j] = x[r * 6 + j] * 40.0f + 100.0f;	/* raw units */
			s += (float) (j + 1) * x[r * 6 + j];
		}
		if (classes)
			cls[r] = c;
		else
			y[r] = 0.01f * s + 5.0f * sinf(x[r * 6] / 40.0f);
	}
}

/*
 * restore_best on a device: the stepper's weights are brought back for each
 * validation and finished into the image, then the best epoch's copy
 * replaces them; it equals a device fit that ran to the best epoch only.
 */
static void
TestDeviceRestoreBest(void)
{
	uint32_t	counts[] = {6, 16, 12, 1};
	HnActivation acts[] = {HANAMI_ACT_IDENTITY, HANAMI_ACT_TANH,
		HANAMI_ACT_RELU, HANAMI_ACT_IDENTITY};
	const int	n = 120;
	TestNet		a;
	TestNet		b;
	HnDataset	data;
	HnTrainOptions opt;
	HnTrainResult ra;
	HnTrainResult rb;
	OclError	err;
	OclSession *s;
	float	   *x = malloc(sizeof(float) * n * 6);
	int32_t    *cls = malloc(sizeof(int32_t) * n);
	float	   *y = malloc(sizeof(float) * n);
	HnStatus	sa = HANAMI_E_INTERNAL;
	HnStatus	sb = HANAMI_E_INTERNAL;

	MakeRows(n, false, x, cls, y);
	memset(&data, 0, sizeof(data));
	data.n = n;
	data.n_features = 6;
	data.n_outputs = 1;
	data.x = x;
	data.y = y;
	if (!TestNetMake(&a, 4, counts, acts, HANAMI_LOSS_MSE, 5, true))
	{
		CHECK(false, "restore_best on the device: network");
		free(y);
		free(cls);
		free(x);
		return;
	}
	NetClone(&b, &a);
	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 30;
	opt.batch_size = 8;
	opt.seed = 4;
	opt.optim.learning_rate = 0.03f;
	opt.validation_split = 0.3;
	opt.patience = 3;
	opt.restore_best = true;
	s = OclSessionCreate(device, &HnMallocAllocator, &err);
	if (s != NULL)
	{
		sa = OclTrainFit(s, &a.net, &data, &opt, NULL, &HnMallocAllocator, &ra, &err);
		opt.epochs = ra.best_epoch;
		opt.patience = 0;
		opt.restore_best = false;
		if (sa == HANAMI_OK && ra.best_epoch > 0)
			sb = OclTrainFit(s, &b.net, &data, &opt, NULL, &HnMallocAllocator, &rb, &err);
		OclSessionFree(s, &HnMallocAllocator);
	}
	if (!CHECK(sa == HANAMI_OK && sb == HANAMI_OK && ra.restored &&
			   ra.val_loss == rb.val_loss &&
			   memcmp(a.net.params, b.net.params,
					  sizeof(float) * (size_t) a.net.hdr->n_params) == 0 &&
			   a.net.hdr->epochs == (uint32_t) ra.epochs,
			   "restore_best on the device: the weights of a fit of the best epoch's %d (of %d, stopped by %s)",
			   ra.best_epoch, ra.epochs, StopReasonName(ra.stop)))
		TestNote("status %d %d: %s; val losses %.9g %.9g", (int) sa, (int) sb,
				 err.base.message, ra.val_loss, rb.val_loss);
	free(a.buf);
	free(b.buf);
	free(y);
	free(cls);
	free(x);
}

/*
 * A whole fit on both sides from the same network, rows and options:
 * classes (3, softmax), binary (one sigmoid output, 0/1 classes) or
 * regression; mask selects the trained layers.
 */
static void
TestParityFit(const char *name, bool classes, bool binary, HnOptimizer kind,
			  double validation_split, int64_t max_iterations, uint64_t mask)
{
	uint32_t	counts[] = {6, 16, 12, binary ? 1 : classes ? 3 : 1};
	HnActivation acts[] = {HANAMI_ACT_IDENTITY, HANAMI_ACT_TANH,
		HANAMI_ACT_RELU, binary ? HANAMI_ACT_SIGMOID :
	classes ? HANAMI_ACT_SOFTMAX : HANAMI_ACT_IDENTITY};
	const int	n = 301;
	TestNet		cpu;
	TestNet		dev;
	HnDataset	data;
	HnTrainOptions opt;
	HnTrainResult r_cpu;
	HnTrainResult r_dev;
	HnError		herr;
	OclError	err;
	OclSession *s;
	float	   *x = malloc(sizeof(float) * n * 6);
	int32_t    *cls = malloc(sizeof(int32_t) * n);
	float	   *y = malloc(sizeof(float) * n);
	HnStatus	st_cpu;
	HnStatus	st_dev;
	size_t		at = 0;

	MakeRows(n, classes, x, cls, y);
	if (binary)
		for (int r = 0; r < n; r++)
			cls[r] = cls[r] == 1;
	memset(&data, 0, sizeof(data));
	data.n = n;
	data.n_features = 6;
	data.n_outputs = counts[3];
	data.x = x;
	data.cls = classes ? cls : NULL;
	data.y = classes ? NULL : y;
	if (!TestNetMake(&cpu, 4, counts, acts, classes ? HANAMI_LOSS_CROSS_ENTROPY : HANAMI_LOSS_MSE, 5, true))
	{
		CHECK(false, "%s: network", name);
		free(y);
		free(cls);
		free(x);
		return;
	}
	NetClone(&dev, &cpu);
	TrainOptionsDefaults(&opt, kind);
	opt.epochs = 5;
	opt.batch_size = 16;
	opt.seed = 17;
	opt.validation_split = validation_split;
	opt.max_iterations = max_iterations;
	opt.train_mask = mask;
	if (kind == HANAMI_OPT_SGD)
		opt.optim.weight_decay = 1e-4f;

	st_cpu = TrainFit(&cpu.net, &data, &opt, NULL, &HnMallocAllocator, &r_cpu, &herr);
	s = OclSessionCreate(device, &HnMallocAllocator, &err);
	st_dev = OclTrainFit(s, &dev.net, &data, &opt, NULL, &HnMallocAllocator, &r_dev, &err);
	OclSessionFree(s, &HnMallocAllocator);
	if (!CHECK(st_cpu == HANAMI_OK && st_dev == HANAMI_OK, "%s: both fits run", name))
	{
		TestNote("cpu: %s; device: %s", st_cpu ? herr.message : "ok",
			 st_dev ? err.base.message : "ok");
		goto done;
	}
	CHECK(r_cpu.epochs == r_dev.epochs && r_cpu.iterations == r_dev.iterations &&
		  r_cpu.stop == r_dev.stop && r_cpu.train_rows == r_dev.train_rows &&
		  r_cpu.val_rows == r_dev.val_rows &&
		  cpu.net.hdr->epochs == dev.net.hdr->epochs &&
		  cpu.net.hdr->samples == dev.net.hdr->samples &&
		  cpu.net.hdr->flags == dev.net.hdr->flags,
		  "%s: same epochs (%d), updates (%lld), stop reason and counters", name,
		  r_dev.epochs, (long long) r_dev.iterations);
	{
		size_t		ns = (size_t) (DenseParamsOffset(cpu.net.hdr->n_layers, 6, counts[3]) -
								   DenseScalingOffset(cpu.net.hdr->n_layers));

		CHECK(memcmp(cpu.net.in_shift, dev.net.in_shift, ns) == 0,
			  "%s: the same learned scaling", name);
	}
	if (!CHECK(fabs(r_cpu.loss - r_dev.loss) <= 1e-3 * fabs(r_cpu.loss) + 1e-6,
			   "%s: last epoch's loss matches (%.6g)", name, r_cpu.loss))
		TestNote("device %.9g, cpu %.9g", r_dev.loss, r_cpu.loss);
	if (validation_split > 0)
	{
		if (!CHECK(fabs(r_cpu.val_loss - r_dev.val_loss) <= 1e-3 * fabs(r_cpu.val_loss) + 1e-6 &&
				   (isnan(r_cpu.val_accuracy) ? isnan(r_dev.val_accuracy) :
					fabs(r_cpu.val_accuracy - r_dev.val_accuracy) <= 0.02),
				   "%s: validation loss and accuracy match", name))
			TestNote("device %.9g %.4f, cpu %.9g %.4f", r_dev.val_loss, r_dev.val_accuracy,
				 r_cpu.val_loss, r_cpu.val_accuracy);
	}
	{
		double		worst = WorstRatio(dev.net.params, cpu.net.params,
									   (size_t) cpu.net.hdr->n_params, 2e-3, 2e-3, &at);

		if (!CHECK(worst <= 1.0, "%s: trained weights match within 2e-3", name))
			TestNote("parameter %zu: device %.9g, cpu %.9g", at, dev.net.params[at],
				 cpu.net.params[at]);
		else
		{
			double		d = 0.0;

			for (size_t i = 0; i < (size_t) cpu.net.hdr->n_params; i++)
				d = fmax(d, fabs((double) dev.net.params[i] - cpu.net.params[i]));
			TestNote("largest weight difference %.3g (%.3g of the tolerance)", d, worst);
		}
	}

done:
	free(cpu.buf);
	free(dev.buf);
	free(y);
	free(cls);
	free(x);
}

/* Selection errors, buffer limits, release. */
static void
TestErrors(void)
{
	OclError	err;
	OclSession *s;
	int64_t		before = OclLiveBuffers();
	cl_mem		m;

	CHECK(OclGetDevice("no such device, surely", &err) == NULL && err.no_device &&
		  strstr(err.base.message, "no OpenCL device matches") != NULL,
		  "an unknown device name is a \"no device\" error");
	CHECK(OclGetDevice("7:99", &err) == NULL && err.no_device,
		  "an index out of range is a \"no device\" error");

	s = OclSessionCreate(device, &HnMallocAllocator, &err);
	m = OclBuffer(s, (size_t) OclDeviceGetInfo(device)->max_alloc + 1, NULL, "test rows", &err);
	CHECK(m == NULL && err.base.code == HANAMI_E_TOO_LARGE &&
		  strstr(err.base.message, "do not fit in one OpenCL buffer") != NULL,
		  "a buffer over the device's largest allocation is refused");
	m = OclBuffer(s, 1024, NULL, "test", &err);
	CHECK(m != NULL && OclLiveBuffers() == before + 1, "buffers are counted");
	{
		size_t		g[2] = {14, 14};
		size_t		l[2] = {7, 7};	/* the kernel requires 16 x 16 */

		CHECK(OclRun(s, OCL_K_GEMM16, 2, g, l, &err, "") != HANAMI_OK &&
			  err.cl_status == CL_INVALID_WORK_GROUP_SIZE &&
			  strcmp(err.base.message, "OpenCL call clEnqueueNDRangeKernel(hn_gemm16) failed: CL_INVALID_WORK_GROUP_SIZE (-54)") == 0,
			  "a CL error names the call and the CL error: %s", err.base.message);
	}
	OclSessionRelease(s);
	OclSessionRelease(s);
	CHECK(OclLiveBuffers() == before && OclSessionBuffers(s) == 0,
		  "release frees every buffer and may run twice");
	OclSessionFree(s, &HnMallocAllocator);
}

/*
 * A grown network (hanami kind) on the device against HkPredict: a chain
 * of cells trained on raw values of very different magnitudes (so sections
 * continue, split and run past their last synapse), then every row through
 * OclPredictor in chunks; a spiking network is refused.
 */
static void
TestGrowPredict(void)
{
	const int	rows = 300;
	const uint32_t nf = 5;
	const uint32_t no = 3;
	HkSpec	   *spec = calloc(1, sizeof(HkSpec));
	uint64_t	seed = 77;
	float	   *x = malloc(sizeof(float) * rows * nf);
	int32_t    *cls = malloc(sizeof(int32_t) * rows);
	float	   *out_cpu = malloc(sizeof(float) * rows * no);
	float	   *out_dev = malloc(sizeof(float) * rows * no);
	int32_t    *cls_dev = malloc(sizeof(int32_t) * rows);
	void	   *img = NULL;
	size_t		len;
	HnError		herr;
	OclError	err;
	HnNet		net;
	HkNet		h;
	HkWork	   *w = NULL;
	OclSession *s = NULL;
	OclPredictor *p;
	char		why[HANAMI_ERRMSG_LEN];

	for (int r = 0; r < rows; r++)
	{
		for (uint32_t j = 0; j < nf; j++)
			x[r * nf + j] = TestUniform(&seed, -1.0f, 1.0f) *
				(j == 0 ? 1000.0f : j == 1 ? 3.0f : j == 2 ? 1e6f : 50.0f);
		cls[r] = x[r * nf] > 200.0f ? 0 : x[r * nf + 1] > 0.0f ? 1 : 2;
	}
	spec->cells[0] = (HkCellSpec) {0, 0, 0, HK_CELL_INPUT, nf, -1, "in"};
	spec->cells[1] = (HkCellSpec) {1, 0, 0, HK_CELL_HIDDEN, 24, -1, ""};
	spec->cells[2] = (HkCellSpec) {2, 0, 0, HK_CELL_HIDDEN, 12, -1, ""};
	spec->cells[3] = (HkCellSpec) {3, 0, 0, HK_CELL_OUTPUT, no, -1, "out"};
	spec->n_cells = 4;
	spec->max_distance = 2;
	spec->seed = 5;
	if (HkSpecFinalize(spec, &herr) == HANAMI_OK &&
		(len = HkSpecImageSize(spec, &herr)) > 0)
	{
		img = malloc(len);
		if (HkCreate(img, len, spec, 0, &herr) != HANAMI_OK)
		{
			free(img);
			img = NULL;
		}
	}
	if (!CHECK(img != NULL, "growing network: created"))
		goto done;
	{
		HnDataset	ds = {rows, nf, no, x, NULL, cls};
		HnRows		hrows = {&ds, NULL, 0, NULL};
		HnTrainOptions opt;
		HkTrainOptions hk;
		HnTrainResult res;

		NetBindTrusted(&net, img);
		HkBindTrusted(&h, img);
		HkTrainOptionsDefaults(&opt, &hk, &h);
		opt.epochs = 2;
		opt.seed = 3;
		if (!CHECK(HnFit(&net, &hrows, &opt, NULL, NULL, &HnMallocAllocator, &res,
						 &herr) == HANAMI_OK, "growing network: trained"))
			goto done;
		img = net.hdr;
		HkBindTrusted(&h, img);
		CHECK(h.gh->n_blocks > 10, "growing network: grew %u sections", h.gh->n_blocks);
	}
	w = HkWorkCreate(&h, false, &HnMallocAllocator, &herr);
	for (int r = 0; w != NULL && r < rows; r++)
		HkPredict(&h, w, x + (size_t) r * nf, out_cpu + (size_t) r * no);
	CHECK(OclCanPredict(&net, why, sizeof(why)),
		  "growing network: the backend can run it");
	s = OclSessionCreate(device, &HnMallocAllocator, &err);
	p = s ? OclPredictorCreate(s, &net, 64, &HnMallocAllocator, &err) : NULL;
	if (p == NULL ||
		OclPredictorRun(p, x, rows, out_dev, NULL, &err) != HANAMI_OK ||
		OclPredictorRun(p, x, rows, NULL, cls_dev, &err) != HANAMI_OK)
		CHECK(false, "growing network on the device: %s", err.base.message);
	else
	{
		double		worst = 0.0;
		size_t		at = 0;
		int			wrong = 0;

		for (size_t i = 0; i < (size_t) rows * no; i++)
			if (fabs((double) out_dev[i] - out_cpu[i]) > worst)
			{
				worst = fabs((double) out_dev[i] - out_cpu[i]);
				at = i;
			}
		if (!CHECK(worst <= 1e-5, "growing network: %d rows in chunks of 64 within 1e-5 of HkPredict (worst %.3g)",
				   rows, worst))
			TestNote("output %zu: device %.9g, cpu %.9g", at, out_dev[at], out_cpu[at]);
		for (int r = 0; r < rows; r++)
		{
			const float *o = out_cpu + (size_t) r * no;
			int			best = HnOutputClass(o, no);
			bool		tie = false;

			for (uint32_t j = 0; j < no; j++)
				tie |= (int) j != best && o[best] - o[j] < 1e-5f;
			if (cls_dev[r] != best && !tie)
				wrong++;
		}
		CHECK(wrong == 0, "growing network: the device's classes are HkPredict's (%d differ)", wrong);
	}
	if (s)
		OclSessionFree(s, &HnMallocAllocator);
	/* spiking: rows carry state, so the backend refuses it */
	h.gh->flags |= HK_SPIKING;
	h.gh->cooldown = 2.0f;
	CHECK(!OclCanPredict(&net, why, sizeof(why)) && strstr(why, "spiking") != NULL,
		  "a spiking growing network stays on the CPU: %s", why);
	s = OclSessionCreate(device, &HnMallocAllocator, &err);
	CHECK(s != NULL && OclPredictorCreate(s, &net, 64, &HnMallocAllocator, &err) == NULL &&
		  strstr(err.base.message, "spiking") != NULL && OclSessionBuffers(s) == 0,
		  "OclPredictorCreate refuses it without a buffer");
	if (s)
		OclSessionFree(s, &HnMallocAllocator);
done:
	HkWorkFree(w, &HnMallocAllocator);
	free(img);
	free(spec);
	free(x);
	free(cls);
	free(out_cpu);
	free(out_dev);
	free(cls_dev);
}

/* A network with a custom activation stays on the CPU. */
static void
TestCustomRefused(void)
{
	const char *spec = "{\"layers\": [2, {\"count\": 3, \"activation\": "
		"{\"name\": \"sq\", \"expression\": \"x / (1 + abs(x))\", "
		"\"derivative\": \"1 / (1 + abs(x)) ^ 2\"}}, 1], \"loss\": \"mse\"}";
	void	   *img = NULL;
	size_t		len;
	HnNet		net;
	HnError		herr;
	OclError	err;
	OclSession *s;
	char		why[HANAMI_ERRMSG_LEN] = "";

	if (!CHECK(NetFromJson(spec, strlen(spec), NULL, &HnMallocAllocator, &img,
						   &len, &herr) == HANAMI_OK,
			   "custom activation: network built"))
		return;
	NetBindTrusted(&net, img);
	CHECK(!OclCanPredict(&net, why, sizeof(why)) && strstr(why, "custom") != NULL,
		  "custom activation: the backend declines it: %s", why);
	s = OclSessionCreate(device, &HnMallocAllocator, &err);
	CHECK(s != NULL &&
		  OclDenseCreate(s, net.kind->dense_view(&net), 8, NULL, &HnMallocAllocator, &err) == NULL &&
		  err.base.code == HANAMI_E_UNSUPPORTED && OclSessionBuffers(s) == 0,
		  "custom activation: OclDenseCreate refuses it (unsupported), without a buffer");
	if (s)
		OclSessionFree(s, &HnMallocAllocator);
	free(img);
}

int
main(void)
{
	const OclPlatformInfo *plats;
	const OclDeviceInfo *devs;
	int			np;
	int			nd;
	OclError	err;

	if (OclEnumerate(&plats, &np, &devs, &nd, &err) != HANAMI_OK)
	{
		const char *optional = getenv("HANAMI_OPENCL_OPTIONAL");

		/*
		 * A device is required (PoCL at least): without one nothing here
		 * runs.  A machine without OpenCL opts out explicitly.
		 */
		if (optional != NULL && strcmp(optional, "1") == 0)
		{
			printf("# SKIP every OpenCL parity test (HANAMI_OPENCL_OPTIONAL=1): %s\n",
				   err.base.message);
			return TestSummary();
		}
		CHECK(false, "an OpenCL device to test on: %s", err.base.message);
		TestNote("%s", err.base.detail);
		TestNote("install an OpenCL driver (PoCL: pocl-opencl-icd), or set HANAMI_OPENCL_OPTIONAL=1 to skip these tests");
		return TestSummary();
	}
	CHECK(np >= 1 && nd >= 1, "%d platform(s), %d device(s)", np, nd);
	for (int i = 0; i < nd; i++)
		TestNote("%d:%d %s / %s (%s, %u compute units, %llu MB)",
			 devs[i].platform_index, devs[i].device_index, devs[i].platform,
			 devs[i].name, devs[i].type, devs[i].compute_units,
			 (unsigned long long) (devs[i].global_memory >> 20));
	device = OclGetDevice(getenv("HANAMI_TEST_DEVICE"), &err);
	if (!CHECK(device != NULL, "the program builds on the device"))
	{
		TestNote("%s %s", err.base.message, err.base.detail);
		return TestSummary();
	}
	TestNote("testing on %s", OclDeviceGetInfo(device)->name);
	/* both product kernels, whatever the device would pick */
	TestNote("tiled matrix products (the kernels for GPUs)");
	OclSetGemmKind(OCL_GEMM_TILED);
	TestParityBatches();
	TestNote("vector matrix products (the kernels for CPU devices)");
	OclSetGemmKind(OCL_GEMM_VECTOR);
	TestParityBatches();
	OclSetGemmKind(OCL_GEMM_AUTO);
	TestParityOptim(HANAMI_OPT_SGD, 0.0f);
	TestParityOptim(HANAMI_OPT_SGD, 0.01f);
	TestParityOptim(HANAMI_OPT_ADAM, 0.0f);
	TestParityOptim(HANAMI_OPT_ADAM, 0.01f);
	TestParityPredict();
	TestNote("compact weights, one value per work-item (the kernel for GPUs)");
	OclSetGemmKind(OCL_GEMM_TILED);
	TestParityCompact();
	TestNote("compact weights, 4 x 16 blocks (the kernel for CPU devices)");
	OclSetGemmKind(OCL_GEMM_VECTOR);
	TestParityCompact();
	OclSetGemmKind(OCL_GEMM_AUTO);
	TestDeviceNotFinite();
	TestGrowPredict();
	TestParityFit("classification, adam", true, false, HANAMI_OPT_ADAM, 0.0, 0, ~(uint64_t) 0);
	TestDeviceRestoreBest();
	TestParityFit("classification, sgd, validation", true, false, HANAMI_OPT_SGD, 0.2, 0, ~(uint64_t) 0);
	TestParityFit("classification, first layer frozen", true, false, HANAMI_OPT_ADAM, 0.0, 0, (uint64_t) 0xC);
	TestParityFit("binary, sigmoid output, validation", true, true, HANAMI_OPT_ADAM, 0.2, 0, ~(uint64_t) 0);
	TestParityFit("regression, adam, validation", false, false, HANAMI_OPT_ADAM, 0.25, 0, ~(uint64_t) 0);
	TestParityFit("regression, sgd, max_iterations", false, false, HANAMI_OPT_SGD, 0.0, 50, ~(uint64_t) 0);
	OclSetGemmKind(OCL_GEMM_TILED);
	TestParityFit("classification, sgd, validation, tiled products", true, false, HANAMI_OPT_SGD, 0.2, 0, ~(uint64_t) 0);
	OclSetGemmKind(OCL_GEMM_AUTO);
	TestErrors();
	TestCustomRefused();
	return TestSummary();
}
