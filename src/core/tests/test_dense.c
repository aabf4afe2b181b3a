/*
 * test_dense.c - unit tests of the dense passes and the optimizers: whole
 * network gradients against finite differences of the batch mean loss,
 * train masks, batched prediction, and SGD/Adam reducing a loss.
 */
#include "harness.h"

#include <stdlib.h>

#include "core/dense/dense.h"
#include "core/optim.h"

/* Mean loss of a batch, without touching the gradient buffer. */
static double
BatchLoss(const DenseNet *net, DenseWork *work, const float *x, const float *t,
		  int batch)
{
	DenseForward(net, work, x, batch);
	return DenseBackward(net, work, t, batch, 0) / batch;
}

/* Random inputs and targets that suit the output layer. */
static void
RandomBatch(const DenseNet *net, int batch, uint64_t *s, float *x, float *t)
{
	uint32_t	n_in = net->hdr->n_inputs;
	uint32_t	n_out = net->hdr->n_outputs;
	HnActivation out = net->layers[net->hdr->n_layers - 1].activation;

	for (size_t i = 0; i < (size_t) batch * n_in; i++)
		x[i] = TestUniform(s, -1.5f, 1.5f);
	for (int r = 0; r < batch; r++)
		for (uint32_t j = 0; j < n_out; j++)
		{
			float	   *tj = t + (size_t) r * n_out + j;

			if (out == HANAMI_ACT_SOFTMAX)
				*tj = j == (uint32_t) r % n_out ? 1.0f : 0.0f;
			else if (out == HANAMI_ACT_SIGMOID)
				*tj = TestUniform(s, 0.0f, 1.0f);
			else
				*tj = TestUniform(s, -1.0f, 1.0f);
		}
}

/*
 * Compare DenseBackward's gradient with central differences of the batch
 * mean loss for a sample of weights and biases of every layer in mask.
 */
static void
GradCheck(int n_layers, const uint32_t *counts, const HnActivation *acts,
		  int batch, uint64_t mask, float h, const char *what)
{
	TestNet		tn;
	DenseNet	   *net;
	DenseWork *work;
	HnError		err;
	uint64_t	s = 1234;
	float	   *x,
			   *t,
			   *grad;
	bool		ok = true;
	int			checked = 0;

	if (!TestNetMake(&tn, n_layers, counts, acts, HANAMI_LOSS_DEFAULT, 17, false))
	{
		CHECK(false, "gradient check %s: network created", what);
		return;
	}
	net = &tn.net;
	/* nonzero biases so they matter */
	for (int l = 1; l < n_layers; l++)
		for (uint32_t j = 0; j < counts[l]; j++)
			DenseBias(net, l)[j] = TestUniform(&s, -0.3f, 0.3f);
	work = DenseWorkCreate(net, batch, true, &HnMallocAllocator, &err);
	x = malloc(sizeof(float) * batch * counts[0]);
	t = malloc(sizeof(float) * batch * counts[n_layers - 1]);
	grad = malloc(sizeof(float) * net->hdr->n_params);
	RandomBatch(net, batch, &s, x, t);
	DenseForward(net, work, x, batch);
	DenseBackward(net, work, t, batch, mask);
	memcpy(grad, work->grad, sizeof(float) * net->hdr->n_params);

	for (int l = 1; l < n_layers; l++)
	{
		size_t		nw = (size_t) counts[l - 1] * counts[l];
		size_t		np = nw + counts[l];

		if (!(mask & ((uint64_t) 1 << l)))
			continue;
		for (int k = 0; k < 12; k++)
		{
			/* spread over weights, then the biases */
			size_t		i = k < 8 ? (size_t) k * 7919 % nw :
				nw + (size_t) k % counts[l];
			size_t		p = net->layers[l].param_offset + i;
			float		saved = net->params[p];
			double		lp,
						lm,
						fd;

			if (i >= np)
				continue;
			net->params[p] = saved + h;
			lp = BatchLoss(net, work, x, t, batch);
			net->params[p] = saved - h;
			lm = BatchLoss(net, work, x, t, batch);
			net->params[p] = saved;
			fd = (lp - lm) / (2.0 * h);
			checked++;
			if (!TestClose(grad[p], fd, 2e-4, 3e-2))
			{
				if (ok)
					TestNote("layer %d param %zu: analytic %g, numeric %g", l, i,
							 grad[p], fd);
				ok = false;
			}
		}
	}
	CHECK(ok && checked > 0, "gradient check %s: %d parameters match",
		  what, checked);
	free(grad);
	free(t);
	free(x);
	DenseWorkFree(work, &HnMallocAllocator);
	TestNetFree(&tn);
}

/* Gradient checks over several stacks of activations. */
static void
TestGradients(void)
{
	const uint64_t all = ~(uint64_t) 0;

	{
		static const uint32_t c[] = {5, 7, 6, 4};
		static const HnActivation a[] = {0, HANAMI_ACT_TANH, HANAMI_ACT_SIGMOID,
		HANAMI_ACT_SOFTMAX};

		GradCheck(4, c, a, 3, all, 1e-2f, "tanh-sigmoid-softmax/ce, batch 3");
	}
	{
		static const uint32_t c[] = {4, 6, 5, 3};
		static const HnActivation a[] = {0, HANAMI_ACT_ELU, HANAMI_ACT_SOFTCLIP,
		HANAMI_ACT_IDENTITY};

		GradCheck(4, c, a, 4, all, 1e-2f, "elu-softclip-identity/mse, batch 4");
	}
	{
		static const uint32_t c[] = {3, 8, 2};
		static const HnActivation a[] = {0, HANAMI_ACT_GAUSS, HANAMI_ACT_SIGMOID};

		GradCheck(3, c, a, 5, all, 1e-2f, "gauss-sigmoid/ce, batch 5");
	}
	{
		static const uint32_t c[] = {6, 5, 5, 5, 2};
		static const HnActivation a[] = {0, HANAMI_ACT_SIN, HANAMI_ACT_SINC,
		HANAMI_ACT_ISRLU, HANAMI_ACT_TANH};

		GradCheck(5, c, a, 2, all, 1e-2f, "sin-sinc-isrlu-tanh/mse, batch 2");
		GradCheck(5, c, a, 2, (1u << 1) | (1u << 3),
				  1e-2f, "with layers 2 and 4 skipped by the mask");
	}
	{
		static const uint32_t c[] = {20, 33, 17, 3};
		static const HnActivation a[] = {0, HANAMI_ACT_RELU, HANAMI_ACT_TANH,
		HANAMI_ACT_SOFTMAX};

		GradCheck(4, c, a, 13, all, 1e-3f, "relu-tanh-softmax, batch 13 (full tiles)");
		GradCheck(4, c, a, 1, all, 1e-3f, "relu-tanh-softmax, batch 1");
	}
}

/* A train mask that skips a layer leaves its parameters untouched. */
static void
TestMask(void)
{
	static const uint32_t c[] = {4, 6, 5, 3};
	TestNet		tn;
	DenseNet	   *net;
	DenseWork *work;
	HnOptimState *opt;
	HnOptimConfig cfg = {HANAMI_OPT_ADAM, 0.01f, 0.9f, 0.9f, 0.999f, 1e-8f, 0.01f};
	HnError		err;
	uint64_t	s = 8;
	float		x[4 * 4],
				t[4 * 3];
	float	   *before;
	uint64_t	mask = (1u << 1) | (1u << 3);
	size_t		o1,
				o2,
				o3,
				end;

	TestNetMake(&tn, 4, c, NULL, HANAMI_LOSS_DEFAULT, 3, false);
	net = &tn.net;
	work = DenseWorkCreate(net, 4, true, &HnMallocAllocator, &err);
	opt = OptimCreate(net, &cfg, &HnMallocAllocator, &err);
	before = TestCopy(net->params, sizeof(float) * net->hdr->n_params);
	RandomBatch(net, 4, &s, x, t);
	for (int i = 0; i < 3; i++)
	{
		DenseForward(net, work, x, 4);
		DenseBackward(net, work, t, 4, mask);
		OptimStep(net, opt, work->grad, mask);
	}
	o1 = net->layers[1].param_offset;
	o2 = net->layers[2].param_offset;
	o3 = net->layers[3].param_offset;
	end = net->hdr->n_params;
	CHECK(memcmp(before + o2, net->params + o2, (o3 - o2) * sizeof(float)) == 0 &&
		  memcmp(before + o1, net->params + o1, (o2 - o1) * sizeof(float)) != 0 &&
		  memcmp(before + o3, net->params + o3, (end - o3) * sizeof(float)) != 0,
		  "train mask: a skipped layer is untouched, the others move");
	CHECK(strcmp(OptimName(HANAMI_OPT_ADAM), "adam") == 0 &&
		  OptimFromName("sgd") == HANAMI_OPT_SGD && OptimFromName("x") == 0,
		  "optimizer names round trip");
	free(before);
	OptimFree(opt, &HnMallocAllocator);
	DenseWorkFree(work, &HnMallocAllocator);
	TestNetFree(&tn);
}

/* Batched prediction equals row-by-row forward, with output scaling. */
static void
TestPredict(void)
{
	static const uint32_t c[] = {7, 19, 3};
	static const HnActivation a[] = {0, HANAMI_ACT_RELU, HANAMI_ACT_IDENTITY};
	TestNet		tn;
	DenseNet	   *net;
	DenseWork *w3,
			   *w1;
	HnError		err;
	uint64_t	s = 21;
	float		x[10 * 7],
				out[10 * 3];
	bool		ok = true;

	TestNetMake(&tn, 3, c, a, HANAMI_LOSS_DEFAULT, 9, false);
	net = &tn.net;
	for (int j = 0; j < 3; j++)
	{
		net->out_mul[j] = 2.0f;
		net->out_shift[j] = 1.0f;
	}
	for (int i = 0; i < 70; i++)
		x[i] = (i % 3 == 0) ? 0.0f : TestUniform(&s, -1, 1);
	w3 = DenseWorkCreate(net, 3, false, &HnMallocAllocator, &err);
	w1 = DenseWorkCreate(net, 1, false, &HnMallocAllocator, &err);
	DensePredict(net, w3, x, 10, out);
	for (int r = 0; r < 10; r++)
	{
		const float *y = DenseForward(net, w1, x + r * 7, 1);

		for (int j = 0; j < 3; j++)
			ok &= TestClose(out[r * 3 + j], y[j] * 2.0f + 1.0f, 1e-5, 1e-5);
	}
	CHECK(ok, "predict: batches of 3 match single rows, output scaling applied");
	CHECK(DenseForward(net, w3, x, 4) == NULL && DenseForward(net, w3, x, 0) == NULL,
		  "forward refuses more rows than the workspace holds");
	CHECK(w3->grad == NULL && DenseWorkCreate(net, 0, false, &HnMallocAllocator, &err) == NULL &&
		  err.code == HANAMI_E_INVALID_ARGUMENT,
		  "workspace: no gradient for inference, batch 0 rejected");
	DenseWorkFree(w3, &HnMallocAllocator);
	DenseWorkFree(w1, &HnMallocAllocator);
	TestNetFree(&tn);
}

/* Train XOR by hand with one optimizer; return the final mean loss. */
static double
TrainXor(HnOptimizer kind, float lr, double *first)
{
	static const uint32_t c[] = {2, 8, 2};
	static const HnActivation a[] = {0, HANAMI_ACT_TANH, HANAMI_ACT_SOFTMAX};
	static const float x[] = {0, 0, 0, 1, 1, 0, 1, 1};
	static const float t[] = {1, 0, 0, 1, 0, 1, 1, 0};
	HnOptimConfig cfg = {kind, lr, 0.9f, 0.9f, 0.999f, 1e-8f, 0.0f};
	TestNet		tn;
	DenseWork *work;
	HnOptimState *opt;
	HnError		err;
	double		loss = 0.0;

	TestNetMake(&tn, 3, c, a, HANAMI_LOSS_DEFAULT, 4, false);
	work = DenseWorkCreate(&tn.net, 4, true, &HnMallocAllocator, &err);
	opt = OptimCreate(&tn.net, &cfg, &HnMallocAllocator, &err);
	for (int step = 0; step < 500; step++)
	{
		DenseForward(&tn.net, work, x, 4);
		loss = DenseBackward(&tn.net, work, t, 4, ~(uint64_t) 0) / 4;
		if (step == 0)
			*first = loss;
		OptimStep(&tn.net, opt, work->grad, ~(uint64_t) 0);
	}
	OptimFree(opt, &HnMallocAllocator);
	DenseWorkFree(work, &HnMallocAllocator);
	TestNetFree(&tn);
	return loss;
}

/* SGD and Adam learn XOR; weight decay spares biases. */
static void
TestOptimizers(void)
{
	double		first,
				last;

	last = TrainXor(HANAMI_OPT_SGD, 0.1f, &first);
	CHECK(last < 0.05 && last < first, "sgd with momentum learns XOR (loss %.3f -> %.4f)",
		  first, last);
	last = TrainXor(HANAMI_OPT_ADAM, 0.05f, &first);
	CHECK(last < 0.05 && last < first, "adam learns XOR (loss %.3f -> %.4f)",
		  first, last);

	/* weight decay alone shrinks weights and leaves biases */
	{
		static const uint32_t c[] = {3, 2};
		static const HnActivation a[] = {0, HANAMI_ACT_IDENTITY};
		HnOptimConfig cfg = {HANAMI_OPT_SGD, 0.1f, 0.0f, 0, 0, 0, 0.5f};
		TestNet		tn;
		HnOptimState *opt;
		HnError		err;
		float	   *zero;

		TestNetMake(&tn, 2, c, a, HANAMI_LOSS_DEFAULT, 2, false);
		DenseBias(&tn.net, 1)[0] = 1.0f;
		zero = calloc(tn.net.hdr->n_params, sizeof(float));
		opt = OptimCreate(&tn.net, &cfg, &HnMallocAllocator, &err);
		{
			float		w0 = DenseWeights(&tn.net, 1)[0];

			OptimStep(&tn.net, opt, zero, ~(uint64_t) 0);
			CHECK(TestClose(DenseWeights(&tn.net, 1)[0], w0 * 0.95f, 1e-7, 1e-6) &&
				  DenseBias(&tn.net, 1)[0] == 1.0f,
				  "weight decay shrinks weights, not biases");
		}
		OptimFree(opt, &HnMallocAllocator);
		free(zero);
		TestNetFree(&tn);
	}
}

/* Run the dense and optimizer tests. */
void
TestDenseSuite(void)
{
	TestGradients();
	TestMask();
	TestPredict();
	TestOptimizers();
}
