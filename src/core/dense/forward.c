/*
 * dense/forward.c - forward and backward passes of a dense network over a batch of
 * rows, on buffers allocated once in an DenseWork.
 */
#include "core/dense/dense.h"

#include <math.h>
#include <string.h>

#include "core/dense/act.h"
#include "core/dense/dtype.h"
#include "core/simd.h"
#include "core/loss.h"

/* Buffers start on cache-line boundaries inside one allocation. */
#define HANAMI_DENSE_ALIGN	64

/* The public workspace plus scratch only this file uses. */
typedef struct DenseWorkPriv
{
	DenseWork pub;			/* first, so the two pointers coincide */
	float	   *wt;				/* a transposed weight matrix */
	bool		folded;			/* fold_shift and fold_bias are in use */
	bool		fold_clipped;	/* and fold_lo, fold_hi */
	float	   *fold_shift;		/* inference: input shift after folding */
	float	   *fold_bias;		/* inference: layer 1 bias after folding */
	float	   *fold_lo;		/* inference: bounds of the folded inputs */
	float	   *fold_hi;
	float	   *deq;			/* a layer's weights as floats: networks of
								 * another dtype, or trained for pow2 */
} DenseWorkPriv;

/* Whether layers go through deq or the pow2 kernel, not W as stored. */
static bool
DenseNeedsDeq(const DenseNet *net)
{
	return DenseDtypeOf(net) != DENSE_DTYPE_F32 ||
		(net->hdr->flags & HANAMI_FLAG_POW2_QAT);
}

/* Add a buffer of n floats to the layout; false on overflow. */
static bool
DenseReserve(size_t *offset, size_t n, size_t *at)
{
	size_t		bytes;
	size_t		end;

	if (!HnMulSize(n, sizeof(float), &bytes) ||
		!HnAddSize(*offset, HANAMI_DENSE_ALIGN - 1, &end))
		return false;
	end &= ~(size_t) (HANAMI_DENSE_ALIGN - 1);
	*at = end;
	return HnAddSize(end, bytes, offset);
}

/* Allocate a workspace for batches of up to max_batch rows. */
DenseWork *
DenseWorkCreate(const DenseNet *net, int max_batch, bool training,
				const HnAllocator *alloc, HnError *err)
{
	int			n_layers = (int) net->hdr->n_layers;
	size_t		width = DenseMaxWidth(net);
	size_t		batch = (size_t) max_batch;
	size_t		offset = sizeof(DenseWorkPriv);
	size_t		at_a[HANAMI_MAX_LAYERS];
	size_t		at_z[HANAMI_MAX_LAYERS];
	size_t		at_g[2];
	size_t		at_grad = 0;
	size_t		at_wt = 0;
	size_t		at_fs = 0;
	size_t		at_fb = 0;
	size_t		at_lo = 0;
	size_t		at_hi = 0;
	size_t		at_deq = 0;
	size_t		wt_size = 0;
	size_t		deq_size = 0;
	size_t		n;
	char	   *mem;
	char	   *base;
	DenseWorkPriv *priv;

	if (max_batch < 1)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
				   "batch size must be at least 1");
		return NULL;
	}
	for (int l = 0; l < n_layers; l++)
	{
		if (!HnMulSize(batch, net->layers[l].count, &n) ||
			!DenseReserve(&offset, n, &at_a[l]) ||
			(l > 0 && !DenseReserve(&offset, n, &at_z[l])))
			goto too_large;
	}
	if (!HnMulSize(batch, width, &n) ||
		!DenseReserve(&offset, n, &at_g[0]) ||
		!DenseReserve(&offset, n, &at_g[1]))
		goto too_large;
	if (training)
	{
		for (int l = 2; l < n_layers; l++)
		{
			size_t		w = (size_t) net->layers[l - 1].count *
				net->layers[l].count;

			if (w > wt_size)
				wt_size = w;
		}
		if (!DenseReserve(&offset, (size_t) net->hdr->n_params, &at_grad) ||
			!DenseReserve(&offset, wt_size, &at_wt))
			goto too_large;
	}
	else if (!DenseReserve(&offset, net->hdr->n_inputs, &at_fs) ||
			 !DenseReserve(&offset, net->layers[1].count, &at_fb) ||
			 !DenseReserve(&offset, net->hdr->n_inputs, &at_lo) ||
			 !DenseReserve(&offset, net->hdr->n_inputs, &at_hi))
		goto too_large;
	if (DenseNeedsDeq(net))
	{
		for (int l = 1; l < n_layers; l++)
		{
			size_t		w = (size_t) net->layers[l - 1].count *
				net->layers[l].count;

			if (w > deq_size)
				deq_size = w;
		}
		if (!DenseReserve(&offset, deq_size, &at_deq))
			goto too_large;
	}
	if (!HnAddSize(offset, HANAMI_DENSE_ALIGN, &offset))
		goto too_large;

	mem = HnAlloc(alloc, offset);
	if (mem == NULL)
	{
		HnSetError(err, HANAMI_E_NOMEM, NULL,
				   "out of memory for a training workspace of %zu bytes",
				   offset);
		return NULL;
	}
	priv = (DenseWorkPriv *) mem;
	memset(priv, 0, sizeof(*priv));
	/* offsets are aligned relative to base, which is itself aligned */
	base = mem + ((HANAMI_DENSE_ALIGN -
				   ((uintptr_t) mem % HANAMI_DENSE_ALIGN)) % HANAMI_DENSE_ALIGN);
	priv->pub.max_batch = max_batch;
	priv->pub.n_layers = n_layers;
	for (int l = 0; l < n_layers; l++)
	{
		priv->pub.a[l] = (float *) (base + at_a[l]);
		priv->pub.z[l] = l > 0 ? (float *) (base + at_z[l]) : NULL;
	}
	priv->pub.g[0] = (float *) (base + at_g[0]);
	priv->pub.g[1] = (float *) (base + at_g[1]);
	if (training)
	{
		priv->pub.grad = (float *) (base + at_grad);
		priv->wt = (float *) (base + at_wt);
	}
	else
	{
		priv->fold_shift = (float *) (base + at_fs);
		priv->fold_bias = (float *) (base + at_fb);
		priv->fold_lo = (float *) (base + at_lo);
		priv->fold_hi = (float *) (base + at_hi);
	}
	if (deq_size > 0)
		priv->deq = (float *) (base + at_deq);
	return &priv->pub;

too_large:
	HnSetError(err, HANAMI_E_TOO_LARGE,
			   "Use a smaller batch size.",
			   "training workspace is too large");
	return NULL;
}

/* Free a workspace (one allocation). */
void
DenseWorkFree(DenseWork *work, const HnAllocator *alloc)
{
	HnFree(alloc, work);
}

/* Fold small input shifts into layer 1's bias; see dense/dense.h. */
void
DenseWorkFold(const DenseNet *net, DenseWork *work)
{
	DenseWorkPriv *priv = (DenseWorkPriv *) work;
	size_t		n_in = net->hdr->n_inputs;
	size_t		out = net->layers[1].count;
	const float *w = DenseWeights(net, 1);
	const float *b = DenseBias(net, 1);
	float		clip = DenseInputClip(net);

	if (priv->fold_shift == NULL)
		return;					/* a training workspace: never folded */
	if (DenseNeedsDeq(net))
	{
		/* the weights the forward pass uses */
		DenseLayerFloats(net, DenseLayerStart(net, 1), n_in, out, priv->deq);
		w = priv->deq;
		b = DenseSegBias(DenseDtypeOf(net), DenseLayerStart(net, 1), n_in, out);
	}
	for (size_t j = 0; j < out; j++)
	{
		double		sum = b[j];

		for (size_t i = 0; i < n_in; i++)
		{
			double		c = (double) net->in_shift[i] * net->in_mul[i];

			if (fabs(c) <= 1.0)
				sum -= c * w[i * out + j];
		}
		priv->fold_bias[j] = (float) sum;
	}
	for (size_t i = 0; i < n_in; i++)
	{
		double		c = (double) net->in_shift[i] * net->in_mul[i];

		priv->fold_shift[i] = fabs(c) <= 1.0 ? 0.0f : net->in_shift[i];
	}
	/* clipped inputs: x * mul stays within c -+ clip for a folded shift */
	priv->fold_clipped = clip > 0.0f;
	for (size_t i = 0; priv->fold_clipped && i < n_in; i++)
	{
		double		c = (double) net->in_shift[i] * net->in_mul[i];

		if (fabs(c) > 1.0)
			c = 0.0;
		priv->fold_lo[i] = (float) (c - clip);
		priv->fold_hi[i] = (float) (c + clip);
	}
	priv->folded = true;
}

/* Scale (and clip) n rows of raw input x into work->a[0]. */
static void
DenseForwardInput(const DenseNet *net, DenseWorkPriv *priv, const float *x,
				  size_t rows)
{
	DenseWork  *work = &priv->pub;

	SimdAffineRows(x, rows, net->hdr->n_inputs,
				   priv->folded ? priv->fold_shift : net->in_shift,
				   net->in_mul, work->a[0]);
	if (priv->folded && priv->fold_clipped)
		SimdClampRows(work->a[0], rows, net->hdr->n_inputs, priv->fold_lo,
					  priv->fold_hi);
	else if (!priv->folded && DenseInputClip(net) > 0.0f)
		SimdClip(work->a[0], rows * net->hdr->n_inputs, DenseInputClip(net));
}

/*
 * Layer l >= 1 on rows rows: a[l-1] -> z[l], a[l], with the layer's stored
 * parameters seg (f32: W (in x out), then the bias).  The one kernel of
 * every forward pass, whole or paged.
 */
static void
DenseForwardLayer(const DenseNet *net, DenseWorkPriv *priv, int l,
				  const void *seg, size_t rows)
{
	DenseWork  *work = &priv->pub;
	size_t		in = net->layers[l - 1].count;
	size_t		out = net->layers[l].count;
	float	   *z = work->z[l];
	float	   *a = work->a[l];
	int			dtype = DenseDtypeOf(net);
	const float *w = seg;
	const float *bias = DenseSegBias(dtype, seg, in, out);

	if (l == 1 && priv->folded)
		bias = priv->fold_bias;
	if (dtype == DENSE_DTYPE_POW2)
		DensePow2Gemm(rows, in, out, work->a[l - 1],
					  DenseSegWeights(dtype, seg), DenseSegQuant(dtype, seg)->zero,
					  bias, z);
	else
	{
		if (DenseNeedsDeq(net))
		{
			DenseLayerFloats(net, seg, in, out, priv->deq);
			w = priv->deq;
		}
		if (rows == 1)
			SimdGemv(out, in, work->a[l - 1], w, out, z, bias);
		else if (l == 1)		/* raw inputs are often zero: skip them */
			SimdGemmSkip(rows, out, in, work->a[0], in, 1, w, out, z, out, bias);
		else
			SimdGemm(rows, out, in, work->a[l - 1], in, 1, w, out, z, out, bias);
	}
	memcpy(a, z, rows * out * sizeof(float));
	DenseActForward(net, l, a, rows);
}

/* Undo the output scaling of rows rows of output activations y into o. */
static void
DenseOutputScale(const DenseNet *net, const float *y, int rows, float *o)
{
	size_t		n_out = net->hdr->n_outputs;

	for (int r = 0; r < rows; r++)
		for (size_t j = 0; j < n_out; j++)
			o[r * n_out + j] = y[r * n_out + j] * net->out_mul[j] +
				net->out_shift[j];
}

/* Forward n rows; returns the output activations in work. */
const float *
DenseForward(const DenseNet *net, DenseWork *work, const float *x, int n)
{
	DenseWorkPriv *priv = (DenseWorkPriv *) work;
	int			n_layers = (int) net->hdr->n_layers;
	size_t		rows = (size_t) n;

	if (n < 1 || n > work->max_batch)
		return NULL;
	DenseForwardInput(net, priv, x, rows);
	for (int l = 1; l < n_layers; l++)
		DenseForwardLayer(net, priv, l, DenseLayerStart(net, l), rows);
	return work->a[n_layers - 1];
}

/* Forward in chunks of max_batch rows, then undo the output scaling. */
void
DensePredict(const DenseNet *net, DenseWork *work, const float *x, int n,
			 float *out)
{
	size_t		n_in = net->hdr->n_inputs;
	size_t		n_out = net->hdr->n_outputs;

	for (int r0 = 0; r0 < n; r0 += work->max_batch)
	{
		int			rows = n - r0 < work->max_batch ? n - r0 : work->max_batch;
		const float *y = DenseForward(net, work, x + (size_t) r0 * n_in, rows);

		DenseOutputScale(net, y, rows, out + (size_t) r0 * n_out);
	}
}

/* DensePredict on a head, layer by layer through pager; see dense.h. */
HnStatus
DensePredictPaged(const DenseNet *head, DenseWork *work, const HnPager *pager,
				  const float *x, int n, float *out, HnError *err)
{
	DenseWorkPriv *priv = (DenseWorkPriv *) work;
	int			n_layers = (int) head->hdr->n_layers;
	size_t		n_in = head->hdr->n_inputs;
	size_t		n_out = head->hdr->n_outputs;
	int			dtype = DenseDtypeOf(head);

	for (int r0 = 0; r0 < n; r0 += work->max_batch)
	{
		int			rows = n - r0 < work->max_batch ? n - r0 : work->max_batch;

		DenseForwardInput(head, priv, x + (size_t) r0 * n_in, (size_t) rows);
		for (int l = 1; l < n_layers; l++)
		{
			size_t		in = head->layers[l - 1].count;
			size_t		units = head->layers[l].count;
			size_t		want = (size_t) DenseLayerWords(dtype, in, units) * 4;
			size_t		len = 0;
			const float *w = pager->fetch(pager->ctx, l, &len, err);

			if (w == NULL)
				return err->code;
			if (len != want || ((uintptr_t) w & 3) != 0)
				return HnSetError(err, HANAMI_E_INVALID_FORMAT,
								  "The network's header says how large each layer is.",
								  "layer %d of the network has %zu bytes instead of %zu",
								  l, len, want);
			if (dtype != DENSE_DTYPE_F32)
			{
				if (DenseCheckSegment(dtype, w, len, in, units, l,
									  err) != HANAMI_OK)
					return err->code;
			}
			else if (!SimdAllFinite(w, in * units + units))
				return HnSetError(err, HANAMI_E_INVALID_FORMAT,
								  "Weights and biases must be finite numbers.",
								  "a parameter of layer %d is not finite", l);
			DenseForwardLayer(head, priv, l, w, (size_t) rows);
		}
		DenseOutputScale(head, work->a[n_layers - 1], rows,
						 out + (size_t) r0 * n_out);
	}
	return HANAMI_OK;
}

/* Gradient of the mean loss over the n rows of the last forward pass. */
double
DenseBackward(const DenseNet *net, DenseWork *work, const float *t, int n,
			  uint64_t train_mask)
{
	DenseWorkPriv *priv = (DenseWorkPriv *) work;
	int			n_layers = (int) net->hdr->n_layers;
	int			last = n_layers - 1;
	HnActivation out_act = (HnActivation) net->layers[last].activation;
	HnLoss		loss = (HnLoss) net->hdr->loss;
	size_t		rows = (size_t) n;
	size_t		n_out = net->layers[last].count;
	float	   *g = work->g[0];
	float	   *g_next = work->g[1];
	double		loss_sum = 0.0;
	int			lo = 0;

	for (int l = 1; l < n_layers; l++)
		if (train_mask & ((uint64_t) 1 << l))
		{
			lo = l;
			break;
		}

	/* dL/dz of the output layer, one row at a time */
	for (size_t r = 0; r < rows; r++)
	{
		const float *z = work->z[last] + r * n_out;
		const float *y = work->a[last] + r * n_out;
		const float *tr = t + r * n_out;

		loss_sum += LossValue(loss, out_act, y, tr, n_out);
		if (lo > 0)
			LossGradient(loss, out_act, z, y, tr, g + r * n_out, n_out);
	}
	if (lo > 0 && out_act == HANAMI_ACT_CUSTOM)
		DenseActBackward(net, last, work->z[last], work->a[last], g, rows);
	if (lo == 0)
		return loss_sum;
	SimdScale(g, rows * n_out, 1.0f / (float) n);

	for (int l = last; l >= lo; l--)
	{
		size_t		in = net->layers[l - 1].count;
		size_t		out = net->layers[l].count;
		float	   *gw = work->grad + net->layers[l].param_offset;

		if (train_mask & ((uint64_t) 1 << l))
		{
			/* dW = a[l-1]^T g, db = column sums of g */
			SimdGemm(in, out, rows, work->a[l - 1], 1, in, g, out, gw, out,
					 NULL);
			SimdColumnSums(g, rows, out, gw + in * out);
		}
		if (l > lo)
		{
			float	   *tmp;

			/* dL/da[l-1] = g W^T, then through the activation of l-1 */
			SimdTranspose(DenseWeights(net, l), in, out, priv->wt);
			SimdGemm(rows, in, out, g, out, 1, priv->wt, in, g_next, in, NULL);
			DenseActBackward(net, l - 1, work->z[l - 1], work->a[l - 1],
							 g_next, rows);
			tmp = g;
			g = g_next;
			g_next = tmp;
		}
	}
	return loss_sum;
}
