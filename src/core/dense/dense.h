/*
 * dense/dense.h - forward and backward passes of a dense (layered, fully
 * connected) network over a batch of rows.
 */
#ifndef HANAMI_CORE_DENSE_H
#define HANAMI_CORE_DENSE_H

#include "core/dense/format.h"
#include "core/kind.h"

/*
 * Buffers for batches of up to max_batch rows, allocated once per fit or per
 * inference call, never per row.  a[0] holds the scaled input; for l >= 1,
 * z[l] the pre-activations and a[l] the activations (max_batch * count each,
 * row-major); g is scratch for gradients; grad has n_params floats (NULL when
 * created for inference only).
 */
typedef struct DenseWork
{
	int			max_batch;
	int			n_layers;
	float	   *z[HANAMI_MAX_LAYERS];
	float	   *a[HANAMI_MAX_LAYERS];
	float	   *g[2];			/* two buffers of max_batch * max width */
	float	   *grad;
} DenseWork;

/* Allocate a workspace; NULL with err set on failure. */
DenseWork *DenseWorkCreate(const DenseNet *net, int max_batch, bool training,
							 const HnAllocator *alloc, HnError *err);
void		DenseWorkFree(DenseWork *work, const HnAllocator *alloc);

/*
 * For inference on a workspace created with training false: fold the input
 * shift of every feature whose shift is small against its range (|shift *
 * mul| <= 1, e.g. pixels, counts) into layer 1's bias, so such a feature's
 * raw zero stays zero and DenseForward skips its weights.  Sums are then
 * taken in a different order than without folding (results agree to
 * rounding); every forward pass on a folded workspace gives the same bits
 * for a row, in batches or alone.  A clipped network's folded inputs are
 * clamped to the folded shift -+ the clip.  Call again whenever the
 * weights, the scaling or the flags change.
 */
void		DenseWorkFold(const DenseNet *net, DenseWork *work);

/*
 * Forward n (<= max_batch) rows of raw input x (n * n_inputs floats): apply
 * input scaling (clipped when the network says so), every layer and its
 * activation.  Returns the output
 * activations (n * n_outputs, network space, before output scaling), which
 * live in work.
 */
const float *DenseForward(const DenseNet *net, DenseWork *work,
						  const float *x, int n);

/* DenseForward, then output scaling into out (n * n_outputs). */
void		DensePredict(const DenseNet *net, DenseWork *work, const float *x,
						 int n, float *out);

/*
 * DensePredict on a network of which only the head is in memory (bound by
 * DenseBindHead: params is NULL; work created from it and never folded):
 * for each batch of max_batch rows, layer l's parameters (its segment,
 * kind.h segments: W then bias) come from pager->fetch(ctx, l), used
 * before the next fetch, with the kernels of DenseForward in the same
 * order, so the outputs are the same bits as DensePredict's on the whole
 * image.  A segment of the wrong size or with a non-finite value is an
 * error; so is a failed fetch (its error).
 */
HnStatus	DensePredictPaged(const DenseNet *head, DenseWork *work,
							  const HnPager *pager, const float *x, int n,
							  float *out, HnError *err);

/*
 * After DenseForward on the same n rows: targets t (n * n_outputs, network
 * space).  Overwrites work->grad with the gradient of the mean loss over the
 * n rows for the layers whose bit is set in train_mask (bit l for layer l;
 * other layers' gradients are left unspecified and must not be applied).
 * Returns the sum of the n rows' losses.
 */
double		DenseBackward(const DenseNet *net, DenseWork *work, const float *t,
						  int n, uint64_t train_mask);

#endif							/* HANAMI_CORE_DENSE_H */
