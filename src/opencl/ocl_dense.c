/*
 * ocl_dense.c - a dense network on an OpenCL device: its parameters and
 * batch buffers, and the device twins of DenseForward, DenseBackward,
 * OptimStep and DensePredict built from the kernels in kernels/dense.cl,
 * kernels/activation.cl and kernels/optim.cl; compact weights (dense/dtype.h)
 * stay packed on the device and go through kernels/compact.cl.
 */
#include "ocl_int.h"

#include "core/dense/dtype.h"

#include <limits.h>
#include <math.h>
#include <string.h>

/* Below this many rows or columns of C the 16 x 16 product is used. */
#define OCL_GEMM64_MIN		64

/* See OclSetGemmKind. */
static OclGemmKind ocl_gemm_kind = OCL_GEMM_AUTO;

/* See ocl_int.h. */
void
OclSetGemmKind(OclGemmKind kind)
{
	ocl_gemm_kind = kind;
}

/* Fill err for a size the kernels' int indexing cannot address. */
static HnStatus
OclTooLarge(OclError *err, const char *what)
{
	OclErrorClear(err);
	return HnSetError(&err->base, HANAMI_E_TOO_LARGE,
					  "Use a smaller batch size or network, or the device \"cpu\".",
					  "the %s are too large for the OpenCL kernels", what);
}

/* Element count a * b when it fits an int, else 0. */
static size_t
OclCount(size_t a, size_t b)
{
	if (a != 0 && b > (size_t) INT_MAX / a)
		return 0;
	return a * b;
}

/* See ocl.h. */
OclDense *
OclDenseCreate(OclSession *s, const DenseNet *net, int max_batch,
			   const HnOptimConfig *optim, const HnAllocator *alloc,
			   OclError *err)
{
	OclDense   *d;
	size_t		width;
	size_t		batch = (size_t) (max_batch > 0 ? max_batch : 1);
	float	   *zeros = NULL;
	void	   *qimage = NULL;
	DenseNet	qnet;
	int			dtype;
	size_t		words;

	OclErrorClear(err);
	/* a kind without layers of units has no dense view (kind.h) */
	if (net == NULL)
	{
		HnSetError(&err->base, HANAMI_E_INVALID_ARGUMENT,
				   "Use the device \"cpu\" for this kind of network.",
				   "the OpenCL backend runs dense networks only");
		return NULL;
	}
	if (net->n_programs > 0)
	{
		HnSetError(&err->base, HANAMI_E_UNSUPPORTED,
				   "Use the device \"cpu\" or \"auto\" for a network with custom activations.",
				   "the OpenCL backend cannot run custom activations");
		return NULL;
	}
	/* compact weights (dense/dtype.h) are for inference on the device */
	dtype = DenseDtypeOf(net);
	if ((dtype != DENSE_DTYPE_F32 || (net->hdr->flags & HANAMI_FLAG_POW2_QAT)) &&
		optim != NULL)
	{
		HnSetError(&err->base, HANAMI_E_UNSUPPORTED,
				   "Training for pow2 weights runs on the CPU.",
				   "the OpenCL backend cannot train a network with %s weights",
				   dtype == DENSE_DTYPE_F32 ? "pow2" : DenseDtypeName(dtype));
		HnSetHint(&err->base, "Use the device \"cpu\".");
		return NULL;
	}
	if (dtype == DENSE_DTYPE_F32 && (net->hdr->flags & HANAMI_FLAG_POW2_QAT))
	{
		size_t		qlen;

		/*
		 * Trained for pow2: its forward pass uses the shadow weights rounded
		 * to pow2, which is what quantizing to pow2 stores; the device gets
		 * those codes.
		 */
		if (DenseQuantize(net, DENSE_DTYPE_POW2, alloc, &qimage, &qlen,
						  &err->base) != HANAMI_OK)
			return NULL;
		DenseBindTrusted(&qnet, qimage);
		net = &qnet;
		dtype = DENSE_DTYPE_POW2;
	}
	words = (size_t) net->layers[net->hdr->n_layers - 1].param_offset +
		(size_t) DenseLayerWords(dtype,
								 net->layers[net->hdr->n_layers - 2].count,
								 net->layers[net->hdr->n_layers - 1].count);
	width = DenseMaxWidth(net);
	if (net->hdr->n_params > (uint64_t) INT_MAX || words > (size_t) INT_MAX / 4 ||
		OclCount(batch, width) == 0 || OclCount(batch, net->hdr->n_inputs) == 0)
	{
		OclTooLarge(err, "network's buffers");
		HnFree(alloc, qimage);
		return NULL;
	}
	d = HnAllocZero(alloc, sizeof(OclDense));
	if (d == NULL)
	{
		HnSetError(&err->base, HANAMI_E_NOMEM, NULL,
				   "out of memory for an OpenCL network");
		HnFree(alloc, qimage);
		return NULL;
	}
	d->s = s;
	d->dtype = dtype;
	d->n_layers = (int) net->hdr->n_layers;
	for (int l = 0; l < d->n_layers; l++)
	{
		d->counts[l] = net->layers[l].count;
		d->acts[l] = net->layers[l].activation;
		d->offsets[l] = l == 0 ? 0 : d->offsets[l - 1] +
			(l > 1 ? (size_t) d->counts[l - 2] * d->counts[l - 1] +
			 d->counts[l - 1] : 0);
		if (dtype != DENSE_DTYPE_F32 && l > 0)
		{
			const void *seg = DenseLayerStart(net, l);
			const DenseQuant *q = DenseSegQuant(dtype, seg);

			/* the stored layout: record, packed weights, biases */
			d->offsets[l] = net->layers[l].param_offset;
			d->bias_offsets[l] = (size_t) (DenseSegBias(dtype, seg,
														d->counts[l - 1],
														d->counts[l]) -
										   (const float *) net->params);
			d->q_zero[l] = q->zero;
			d->q_scale[l] = q->scale;
		}
	}
	d->loss = (int) net->hdr->loss;
	d->n_in = net->hdr->n_inputs;
	d->in_clip = DenseInputClip(net);
	d->n_out = net->hdr->n_outputs;
	d->n_params = dtype == DENSE_DTYPE_F32 ? (size_t) net->hdr->n_params : words;
	d->max_batch = (int) batch;
	d->training = optim != NULL;
	if (optim)
		d->optim = *optim;
	d->vector_gemm = ocl_gemm_kind == OCL_GEMM_VECTOR ||
		(ocl_gemm_kind == OCL_GEMM_AUTO && strcmp(s->dev->info.type, "cpu") == 0);

#define OCL_MAKE(field, bytes, init, what) \
	do { \
		if (((field) = OclBuffer(s, (bytes), (init), (what), err)) == NULL) \
			goto fail; \
	} while (0)

	/* the parameter area as stored: float32, or compact weights as packed */
	OCL_MAKE(d->params, d->n_params * sizeof(float), net->params,
			 "network's parameters");
	HnFree(alloc, qimage);
	qimage = NULL;
	OCL_MAKE(d->in_shift, d->n_in * sizeof(float), net->in_shift, "input scaling");
	OCL_MAKE(d->in_mul, d->n_in * sizeof(float), net->in_mul, "input scaling");
	OCL_MAKE(d->out_shift, d->n_out * sizeof(float), net->out_shift, "output scaling");
	OCL_MAKE(d->out_mul, d->n_out * sizeof(float), net->out_mul, "output scaling");
	for (int l = 0; l < d->n_layers; l++)
	{
		size_t		bytes = batch * d->counts[l] * sizeof(float);

		OCL_MAKE(d->a[l], bytes, NULL, "activations of a batch");
		if (l > 0)
			OCL_MAKE(d->z[l], bytes, NULL, "activations of a batch");
	}
	OCL_MAKE(d->g[0], batch * width * sizeof(float), NULL, "gradients of a batch");
	OCL_MAKE(d->g[1], batch * width * sizeof(float), NULL, "gradients of a batch");
	OCL_MAKE(d->raw, batch * d->n_in * sizeof(float), NULL, "input rows of a batch");
	OCL_MAKE(d->t, batch * d->n_out * sizeof(float), NULL, "targets of a batch");
	OCL_MAKE(d->out, batch * d->n_out * sizeof(float), NULL, "outputs of a batch");
	OCL_MAKE(d->cls, batch * sizeof(int32_t), NULL, "classes of a batch");
	OCL_MAKE(d->row_loss, batch * sizeof(float), NULL, "losses of a batch");
	OCL_MAKE(d->flag, sizeof(int32_t), NULL, "flag");
	if (d->training)
	{
		zeros = HnAllocZero(alloc, d->n_params * sizeof(float));
		if (zeros == NULL)
		{
			HnSetError(&err->base, HANAMI_E_NOMEM, NULL,
					   "out of memory for the optimizer state");
			goto fail;
		}
		OCL_MAKE(d->grad, d->n_params * sizeof(float), zeros, "gradients");
		OCL_MAKE(d->m, d->n_params * sizeof(float), zeros, "optimizer state");
		if (d->optim.kind == HANAMI_OPT_ADAM)
			OCL_MAKE(d->v, d->n_params * sizeof(float), zeros, "optimizer state");
		HnFree(alloc, zeros);
		zeros = NULL;
		if (d->vector_gemm)
		{
			size_t		wt = 1;

			for (int l = 2; l < d->n_layers; l++)
				if ((size_t) d->counts[l - 1] * d->counts[l] > wt)
					wt = (size_t) d->counts[l - 1] * d->counts[l];
			OCL_MAKE(d->wt, wt * sizeof(float), NULL, "transposed weights");
		}
	}
#undef OCL_MAKE
	return d;

fail:
	/* the session releases the buffers made so far */
	HnFree(alloc, zeros);
	HnFree(alloc, qimage);
	HnFree(alloc, d);
	return NULL;
}

/*
 * C = A B (+ bias) through whichever product kernel suits the shape; see
 * hn_gemm64 in kernels/dense.cl for the operand strides.
 */
static HnStatus
OclGemm(OclDense *d, int M, int N, int K,
		cl_mem A, size_t a_off, int a_rs, int a_cs,
		cl_mem B, size_t b_off, int b_rs, int b_cs,
		cl_mem C, size_t c_off, int ldc, cl_mem bias, size_t bias_off,
		OclError *err)
{
	size_t		local[2] = {16, 16};
	size_t		global[2];
	OclKernelId k;

	if (d->vector_gemm)
	{
		if (b_cs != 1)
		{
			OclErrorClear(err);
			return HnSetError(&err->base, HANAMI_E_INTERNAL, NULL,
							  "vector product with a strided operand");
		}
		k = OCL_K_GEMM_VEC;
		local[0] = local[1] = 1;
		global[0] = (size_t) (N + 15) / 16;
		global[1] = (size_t) (M + 3) / 4;
	}
	else if (M >= OCL_GEMM64_MIN && N >= OCL_GEMM64_MIN)
	{
		k = OCL_K_GEMM64;
		global[0] = (size_t) (N + 63) / 64 * 16;
		global[1] = (size_t) (M + 63) / 64 * 16;
	}
	else
	{
		k = OCL_K_GEMM16;
		global[0] = (size_t) N;
		global[1] = (size_t) M;
	}
	return OclRun(d->s, k, 2, global, local, err, "iiimiiimiiimiimii",
				  M, N, K, A, (int) a_off, a_rs, a_cs, B, (int) b_off, b_rs,
				  b_cs, C, (int) c_off, ldc, bias ? bias : C, (int) bias_off,
				  bias != NULL);
}

/*
 * z[l] of n rows for a layer with compact weights, read as stored: 4 x 16
 * blocks in vectors on CPU devices, one value per work-item elsewhere.
 */
static HnStatus
OclDenseCompact(OclDense *d, int l, int n, OclError *err)
{
	int			in = (int) d->counts[l - 1];
	int			out = (int) d->counts[l];
	int			w_off = (int) (d->offsets[l] * 4 + sizeof(DenseQuant));

	if (d->vector_gemm)
	{
		size_t		local[2] = {1, 1};
		size_t		global[2] = {(size_t) (out + 15) / 16, (size_t) (n + 3) / 4};

		return OclRun(d->s, OCL_K_DENSE_COMPACT_VEC, 2, global, local, err,
					  "iiimmiiifmim", n, out, in, d->a[l - 1], d->params,
					  w_off, d->dtype, d->q_zero[l], (double) d->q_scale[l],
					  d->params, (int) d->bias_offsets[l], d->z[l]);
	}
	return OCL_RUN1(d->s, OCL_K_DENSE_COMPACT, (size_t) n * out, err,
					"iiimmiiifmim", n, out, in, d->a[l - 1], d->params,
					w_off, d->dtype, d->q_zero[l], (double) d->q_scale[l],
					d->params, (int) d->bias_offsets[l], d->z[l]);
}

/* See ocl_int.h: forward n rows whose scaled input is in a[0]. */
HnStatus
OclDenseForwardRows(OclDense *d, int n, OclError *err)
{
	HnStatus	st;

	for (int l = 1; l < d->n_layers; l++)
	{
		int			in = (int) d->counts[l - 1];
		int			out = (int) d->counts[l];
		size_t		w = d->offsets[l];

		if (d->dtype != DENSE_DTYPE_F32)
			st = OclDenseCompact(d, l, n, err);
		else
			st = OclGemm(d, n, out, in, d->a[l - 1], 0, in, 1, d->params, w,
						 out, 1, d->z[l], 0, out, d->params,
						 w + (size_t) in * out, err);
		if (st != HANAMI_OK)
			return st;
		if (d->acts[l] == HANAMI_ACT_SOFTMAX)
			st = OCL_RUN1(d->s, OCL_K_SOFTMAX, n, err, "mmii",
						  d->z[l], d->a[l], n, out);
		else
			st = OCL_RUN1(d->s, OCL_K_ACT_FORWARD, (size_t) n * out, err, "immi",
						  d->acts[l], d->z[l], d->a[l], n * out);
		if (st != HANAMI_OK)
			return st;
	}
	return HANAMI_OK;
}

/* See ocl_int.h: per-row loss of n rows against targets t, and dL/dz. */
HnStatus
OclDenseLossRows(OclDense *d, cl_mem t, int n, cl_mem row_loss, int loss_off,
				 bool want_grad, OclError *err)
{
	int			last = d->n_layers - 1;

	return OCL_RUN1(d->s, OCL_K_LOSS_ROWS, n, err, "iimmmmmiiifi",
					d->loss, d->acts[last], d->z[last], d->a[last], t,
					d->g[0], row_loss, loss_off, n, (int) d->n_out,
					(double) (1.0f / (float) n), want_grad ? 1 : 0);
}

/* Lowest layer selected by a train mask, or 0 when none is. */
static int
OclLowestTrained(const OclDense *d, uint64_t train_mask)
{
	for (int l = 1; l < d->n_layers; l++)
		if (train_mask & ((uint64_t) 1 << l))
			return l;
	return 0;
}

/* See ocl_int.h: gradients from dL/dz of the output layer in g[0]. */
HnStatus
OclDenseBackwardRows(OclDense *d, int n, uint64_t train_mask, OclError *err)
{
	int			lo = OclLowestTrained(d, train_mask);
	int			cur = 0;
	HnStatus	st;

	if (lo == 0 || !d->training)
		return HANAMI_OK;
	for (int l = d->n_layers - 1; l >= lo; l--)
	{
		int			in = (int) d->counts[l - 1];
		int			out = (int) d->counts[l];
		size_t		w = d->offsets[l];

		if (train_mask & ((uint64_t) 1 << l))
		{
			/* dW = a[l-1]^T g, db = column sums of g */
			st = OclGemm(d, in, out, n, d->a[l - 1], 0, 1, in, d->g[cur], 0,
						 out, 1, d->grad, w, out, NULL, 0, err);
			if (st == HANAMI_OK)
				st = OCL_RUN1(d->s, OCL_K_COLSUM, out, err, "miimi",
							  d->g[cur], n, out, d->grad,
							  (int) (w + (size_t) in * out));
			if (st != HANAMI_OK)
				return st;
		}
		if (l > lo)
		{
			int			act = d->acts[l - 1];

			/* dL/da[l-1] = g W^T, then through the activation of l-1 */
			if (d->vector_gemm)
			{
				/* W^T with contiguous rows first, as the CPU engine does */
				st = OCL_RUN1(d->s, OCL_K_TRANSPOSE, (size_t) in * out, err,
							  "miiim", d->params, (int) w, in, out, d->wt);
				if (st == HANAMI_OK)
					st = OclGemm(d, n, in, out, d->g[cur], 0, out, 1, d->wt, 0,
								 in, 1, d->g[1 - cur], 0, in, NULL, 0, err);
			}
			else
				st = OclGemm(d, n, in, out, d->g[cur], 0, out, 1, d->params, w,
							 1, out, d->g[1 - cur], 0, in, NULL, 0, err);
			if (st != HANAMI_OK)
				return st;
			if (act == HANAMI_ACT_SOFTMAX)
				st = OCL_RUN1(d->s, OCL_K_SOFTMAX_BACKWARD, n, err, "mmii",
							  d->a[l - 1], d->g[1 - cur], n, in);
			else
				st = OCL_RUN1(d->s, OCL_K_ACT_BACKWARD, (size_t) n * in, err,
							  "immmi", act, d->z[l - 1], d->a[l - 1],
							  d->g[1 - cur], n * in);
			if (st != HANAMI_OK)
				return st;
			cur = 1 - cur;
		}
	}
	return HANAMI_OK;
}

/* Update count parameters at off with the configured optimizer. */
static HnStatus
OclUpdateRange(OclDense *d, size_t off, size_t count, float wd, float step,
			   float vscale, OclError *err)
{
	const HnOptimConfig *c = &d->optim;

	if (c->kind == HANAMI_OPT_SGD)
		return OCL_RUN1(d->s, OCL_K_SGD, count, err, "mmmiifff",
						d->params, d->grad, d->m, (int) off, (int) count,
						(double) c->learning_rate, (double) c->momentum,
						(double) wd);
	return OCL_RUN1(d->s, OCL_K_ADAM, count, err, "mmmmiiffffff",
					d->params, d->grad, d->m, d->v, (int) off, (int) count,
					(double) step, (double) c->beta1, (double) c->beta2,
					(double) vscale, (double) c->epsilon, (double) wd);
}

/* See ocl_int.h: one optimizer step, as OptimStep. */
HnStatus
OclDenseStepRows(OclDense *d, uint64_t train_mask, OclError *err)
{
	const HnOptimConfig *c = &d->optim;
	float		step = 0.0f;
	float		vscale = 1.0f;

	if (!d->training)
		return HANAMI_OK;
	d->step++;
	if (c->kind == HANAMI_OPT_ADAM)
	{
		double		t = (double) d->step;

		step = (float) (c->learning_rate / (1.0 - pow(c->beta1, t)));
		vscale = (float) (1.0 / (1.0 - pow(c->beta2, t)));
	}
	for (int l = 1; l < d->n_layers; l++)
	{
		size_t		off = d->offsets[l];
		size_t		nw = (size_t) d->counts[l - 1] * d->counts[l];
		HnStatus	st;

		if (!(train_mask & ((uint64_t) 1 << l)))
			continue;
		st = OclUpdateRange(d, off, nw, c->weight_decay, step, vscale, err);
		if (st == HANAMI_OK)
			st = OclUpdateRange(d, off + nw, d->counts[l], 0.0f, step, vscale,
								err);
		if (st != HANAMI_OK)
			return st;
	}
	return HANAMI_OK;
}

/* See ocl_int.h: whether every parameter is finite. */
HnStatus
OclDenseParamsFinite(OclDense *d, bool *finite, OclError *err)
{
	int32_t		flag = 0;
	size_t		n = d->n_params < 65536 ? d->n_params : 65536;
	HnStatus	st;

	st = OclWrite(d->s, d->flag, 0, sizeof(flag), &flag, true, err);
	if (st == HANAMI_OK)
		st = OCL_RUN1(d->s, OCL_K_CHECK_FINITE, n, err, "mim",
					  d->params, (int) d->n_params, d->flag);
	if (st == HANAMI_OK)
		st = OclRead(d->s, d->flag, 0, sizeof(flag), &flag, err);
	*finite = flag == 0;
	return st;
}

/* Upload n raw rows and scale them into a[0]. */
static HnStatus
OclDenseInput(OclDense *d, const float *x, int n, bool blocking, OclError *err)
{
	HnStatus	st;

	st = OclWrite(d->s, d->raw, 0, (size_t) n * d->n_in * sizeof(float), x,
				  blocking, err);
	if (st != HANAMI_OK)
		return st;
	return OCL_RUN1(d->s, OCL_K_GATHER_INPUT, (size_t) n * d->n_in, err,
					"mmiiiimmfm", d->raw, d->cls, 0, 0, n, (int) d->n_in,
					d->in_shift, d->in_mul, (double) d->in_clip, d->a[0]);
}

/* Check a row count against the buffers. */
static HnStatus
OclCheckRows(OclDense *d, int n, OclError *err)
{
	if (n < 1 || n > d->max_batch)
	{
		OclErrorClear(err);
		return HnSetError(&err->base, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "batch of %d rows does not fit buffers for %d",
						  n, d->max_batch);
	}
	return HANAMI_OK;
}

/* See ocl.h. */
HnStatus
OclDenseForward(OclDense *d, const float *x, int n, float *y, OclError *err)
{
	HnStatus	st = OclCheckRows(d, n, err);

	if (st == HANAMI_OK)
		st = OclDenseInput(d, x, n, y == NULL, err);
	if (st == HANAMI_OK)
		st = OclDenseForwardRows(d, n, err);
	if (st == HANAMI_OK && y != NULL)
		st = OclRead(d->s, d->a[d->n_layers - 1], 0,
					 (size_t) n * d->n_out * sizeof(float), y, err);
	return st;
}

/* See ocl.h. */
HnStatus
OclDenseBackward(OclDense *d, const float *t, int n, uint64_t train_mask,
				 double *loss_sum, float *grad, OclError *err)
{
	float		losses[256];
	HnStatus	st = OclCheckRows(d, n, err);
	bool		want_grad = OclLowestTrained(d, train_mask) > 0 && d->training;

	if (st == HANAMI_OK)
		st = OclWrite(d->s, d->t, 0, (size_t) n * d->n_out * sizeof(float), t,
					  false, err);
	if (st == HANAMI_OK)
		st = OclDenseLossRows(d, d->t, n, d->row_loss, 0, want_grad, err);
	if (st == HANAMI_OK)
		st = OclDenseBackwardRows(d, n, train_mask, err);
	*loss_sum = 0.0;
	for (int r0 = 0; st == HANAMI_OK && r0 < n; r0 += 256)
	{
		int			cnt = n - r0 < 256 ? n - r0 : 256;

		st = OclRead(d->s, d->row_loss, (size_t) r0 * sizeof(float),
					 (size_t) cnt * sizeof(float), losses, err);
		for (int i = 0; st == HANAMI_OK && i < cnt; i++)
			*loss_sum += losses[i];
	}
	if (st == HANAMI_OK && grad != NULL && d->training)
		st = OclRead(d->s, d->grad, 0, d->n_params * sizeof(float), grad, err);
	return st;
}

/* See ocl.h. */
HnStatus
OclDenseOptimStep(OclDense *d, uint64_t train_mask, OclError *err)
{
	return OclDenseStepRows(d, train_mask, err);
}

/* See ocl.h. */
HnStatus
OclDenseReadParams(OclDense *d, float *params, OclError *err)
{
	return OclRead(d->s, d->params, 0, d->n_params * sizeof(float), params, err);
}

/* See ocl.h. */
HnStatus
OclDensePredict(OclDense *d, const float *x, int64_t n, float *out,
				int32_t *cls, OclError *err)
{
	for (int64_t r0 = 0; r0 < n; r0 += d->max_batch)
	{
		int			rows = (int) (n - r0 < d->max_batch ? n - r0 : d->max_batch);
		cl_mem		y = d->a[d->n_layers - 1];
		HnStatus	st;

		/* x must outlive the upload: wait for it when nothing is read back */
		st = OclDenseInput(d, x + (size_t) r0 * d->n_in, rows,
						   out == NULL && cls == NULL, err);
		if (st == HANAMI_OK)
			st = OclDenseForwardRows(d, rows, err);
		if (st == HANAMI_OK && out != NULL)
			st = OCL_RUN1(d->s, OCL_K_OUTPUT_SCALE, (size_t) rows * d->n_out,
						  err, "miimmm", y, rows, (int) d->n_out,
						  d->out_shift, d->out_mul, d->out);
		if (st == HANAMI_OK && cls != NULL)
			st = OCL_RUN1(d->s, OCL_K_ARGMAX, rows, err, "miim",
						  y, rows, (int) d->n_out, d->cls);
		if (st == HANAMI_OK && out != NULL)
			st = OclRead(d->s, d->out, 0, (size_t) rows * d->n_out * sizeof(float),
						 out + (size_t) r0 * d->n_out, err);
		if (st == HANAMI_OK && cls != NULL)
			st = OclRead(d->s, d->cls, 0, (size_t) rows * sizeof(int32_t),
						 cls + r0, err);
		if (st != HANAMI_OK)
			return st;
	}
	return HANAMI_OK;
}
