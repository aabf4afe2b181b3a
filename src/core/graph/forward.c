/*
 * graph/forward.c - inference and backpropagation of a graph over a batch
 * of rows, layer after layer in declared (topological) order, on buffers
 * allocated once in a GraphWork.
 *
 * Forward: a layer's input x is its sources' values side by side (the one
 * source's values themselves when it reads one layer), z = x W + b, and
 * its activation.  Backward, in reverse order: a layer's dL/dz is its
 * activation's derivative times dL/da, which sums what every layer that
 * reads it passed down, plus, for an output layer, the gradient of its
 * own loss; dW = x^T dL/dz, db = its column sums, and dL/dx = dL/dz W^T is
 * split back onto the sources.  A network with history runs its rows one
 * after another instead (graph/history.c).
 */
#include "core/graph/graph.h"

#include <string.h>

#include "core/simd.h"

#define GRAPH_ALIGN 64

/* Add a buffer of n floats to a layout; false on overflow. */
static bool
Reserve(size_t *offset, size_t n, size_t *at)
{
	size_t		bytes;
	size_t		end;

	if (!HnMulSize(n, sizeof(float), &bytes) ||
		!HnAddSize(*offset, GRAPH_ALIGN - 1, &end))
		return false;
	end &= ~(size_t) (GRAPH_ALIGN - 1);
	*at = end;
	return HnAddSize(end, bytes, offset);
}

/* Allocate the buffers of a batch; see graph.h. */
GraphWork *
GraphWorkCreate(const GraphNet *net, int max_batch, bool training,
				const HnAllocator *alloc, HnError *err)
{
	int			n = (int) net->hdr->n_layers;
	size_t		batch = (size_t) max_batch;
	size_t		offset = sizeof(GraphWork);
	size_t		at_a[HANAMI_MAX_LAYERS],
				at_z[HANAMI_MAX_LAYERS],
				at_x[HANAMI_MAX_LAYERS],
				at_ga[HANAMI_MAX_LAYERS],
				at_gz[HANAMI_MAX_LAYERS];
	size_t		at_xs,
				at_gx = 0,
				at_wt = 0,
				at_grad = 0,
				at_gt = 0,
				at_first;
	size_t		widest_x = 0;
	size_t		widest_c = 0;
	size_t		widest_w = 0;
	size_t		k;
	char	   *mem;
	char	   *base;
	GraphWork  *w;

	if (max_batch < 1)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
				   "batch size must be at least 1");
		return NULL;
	}
	if (!HnMulSize(batch, net->hdr->n_inputs, &k) || !Reserve(&offset, k, &at_xs))
		goto too_large;
	for (int l = 0; l < n; l++)
	{
		const GraphLayer *ly = &net->layers[l];
		size_t		fan_in = (size_t) GraphFanIn(net->layers, l);

		at_z[l] = at_x[l] = at_ga[l] = at_gz[l] = 0;
		if (!HnMulSize(batch, ly->count, &k) || !Reserve(&offset, k, &at_a[l]))
			goto too_large;
		if (ly->role == GRAPH_ROLE_INPUT)
			continue;
		if (!Reserve(&offset, k, &at_z[l]) ||
			(training && (!Reserve(&offset, k, &at_ga[l]) ||
						  !Reserve(&offset, k, &at_gz[l]))))
			goto too_large;
		if (fan_in > widest_x)
			widest_x = fan_in;
		if (fan_in * ly->count > widest_w)
			widest_w = fan_in * ly->count;
		if (ly->count > widest_c)
			widest_c = ly->count;
		if ((ly->n_sources > 1 || ly->history > 0) &&
			(!HnMulSize(batch, fan_in, &k) || !Reserve(&offset, k, &at_x[l])))
			goto too_large;
	}
	if (training &&
		(!HnMulSize(batch, widest_x, &k) || !Reserve(&offset, k, &at_gx) ||
		 !Reserve(&offset, widest_w, &at_wt) ||
		 !Reserve(&offset, widest_c, &at_gt) ||
		 !Reserve(&offset, (size_t) net->hdr->n_params, &at_grad)))
		goto too_large;
	/* ints, as many bytes as floats */
	if (!Reserve(&offset, batch, &at_first))
		goto too_large;
	if (!HnAddSize(offset, GRAPH_ALIGN, &offset))
		goto too_large;
	mem = HnAlloc(alloc, offset);
	if (mem == NULL)
	{
		HnSetError(err, HANAMI_E_NOMEM, NULL,
				   "out of memory for a workspace of %zu bytes", offset);
		return NULL;
	}
	w = (GraphWork *) mem;
	memset(w, 0, sizeof(*w));
	base = mem + ((GRAPH_ALIGN - ((uintptr_t) mem % GRAPH_ALIGN)) % GRAPH_ALIGN);
	w->max_batch = max_batch;
	w->xs = (float *) (base + at_xs);
	for (int l = 0; l < n; l++)
	{
		bool		computed = net->layers[l].role != GRAPH_ROLE_INPUT;

		w->a[l] = (float *) (base + at_a[l]);
		w->z[l] = computed ? (float *) (base + at_z[l]) : NULL;
		w->x[l] = computed && (net->layers[l].n_sources > 1 ||
							   net->layers[l].history > 0) ?
			(float *) (base + at_x[l]) : NULL;
		w->ga[l] = computed && training ? (float *) (base + at_ga[l]) : NULL;
		w->gz[l] = computed && training ? (float *) (base + at_gz[l]) : NULL;
	}
	if (training)
	{
		w->gx = (float *) (base + at_gx);
		w->wt = (float *) (base + at_wt);
		w->grad = (float *) (base + at_grad);
		w->gt = (float *) (base + at_gt);
	}
	w->first = (int *) (base + at_first);
	return w;

too_large:
	HnSetError(err, HANAMI_E_TOO_LARGE, "Use a smaller batch size.",
			   "workspace is too large");
	return NULL;
}

void
GraphWorkFree(GraphWork *w, const HnAllocator *alloc)
{
	HnFree(alloc, w);
}

/* Layer l's activation in place on rows rows (softmax row by row). */
static void
ActRows(const GraphLayer *ly, float *v, size_t rows)
{
	HnActivation act = (HnActivation) ly->activation;

	if (act == HANAMI_ACT_SOFTMAX)
		for (size_t r = 0; r < rows; r++)
			ActForward(act, v + r * ly->count, ly->count);
	else
		ActForward(act, v, rows * ly->count);
}

/* dL/da into dL/dz in place, rows rows of layer l. */
static void
ActBackRows(const GraphLayer *ly, const float *z, const float *a, float *g,
			size_t rows)
{
	HnActivation act = (HnActivation) ly->activation;
	size_t		c = ly->count;

	if (act == HANAMI_ACT_SOFTMAX)
		for (size_t r = 0; r < rows; r++)
			ActBackward(act, z + r * c, a + r * c, g + r * c, c);
	else
		ActBackward(act, z, a, g, rows * c);
}

/* The input of layer l for rows rows: its sources side by side. */
static const float *
LayerInput(const GraphNet *net, GraphWork *w, int l, size_t rows)
{
	const GraphLayer *ly = &net->layers[l];
	size_t		fan_in;
	size_t		at = 0;

	if (ly->n_sources == 1)
		return w->a[ly->sources[0]];
	fan_in = (size_t) GraphFanIn(net->layers, l);
	for (int k = 0; k < ly->n_sources; k++)
	{
		size_t		c = net->layers[ly->sources[k]].count;
		const float *src = w->a[ly->sources[k]];

		for (size_t r = 0; r < rows; r++)
			memcpy(w->x[l] + r * fan_in + at, src + r * c, c * sizeof(float));
		at += c;
	}
	return w->x[l];
}

/* Forward n rows, sequences starting where starts says; see graph.h. */
void
GraphForwardRows(const GraphNet *net, GraphWork *w, const float *x,
				 const uint8_t *starts, int n, float *y)
{
	if (GraphHasHistory(net))
		GraphHistoryForward(net, w, x, starts, n, y);
	else
		GraphForward(net, w, x, n, y);
}

/* Forward n rows; see graph.h. */
void
GraphForward(const GraphNet *net, GraphWork *w, const float *x, int n,
			 float *y)
{
	size_t		rows = (size_t) n;
	size_t		n_in = net->hdr->n_inputs;
	size_t		n_out = net->hdr->n_outputs;
	size_t		at = 0;

	/* rows that depend on each other run one after another */
	if (GraphHasHistory(net))
	{
		GraphHistoryForward(net, w, x, NULL, n, y);
		return;
	}

	SimdAffineRows(x, rows, n_in, net->in_shift, net->in_mul, w->xs);
	if (GraphInputClip(net) > 0.0f)
		SimdClip(w->xs, rows * n_in, GraphInputClip(net));
	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
	{
		const GraphLayer *ly = &net->layers[l];
		size_t		c = ly->count;

		if (ly->role == GRAPH_ROLE_INPUT)
		{
			for (size_t r = 0; r < rows; r++)
				memcpy(w->a[l] + r * c, w->xs + r * n_in + at, c * sizeof(float));
			at += c;
		}
		else
		{
			size_t		fan_in = (size_t) GraphFanIn(net->layers, (int) l);
			const float *in = LayerInput(net, w, (int) l, rows);

			SimdGemm(rows, c, fan_in, in, fan_in, 1, GraphWeights(net, (int) l),
					 c, w->z[l], c, GraphBias(net, (int) l));
			memcpy(w->a[l], w->z[l], rows * c * sizeof(float));
			ActRows(ly, w->a[l], rows);
		}
	}
	/* the outputs, side by side in declared order */
	at = 0;
	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
	{
		size_t		c = net->layers[l].count;

		if (net->layers[l].role != GRAPH_ROLE_OUTPUT)
			continue;
		for (size_t r = 0; r < rows; r++)
			memcpy(y + r * n_out + at, w->a[l] + r * c, c * sizeof(float));
		at += c;
	}
}

/* Forward in chunks, then the output scaling; see graph.h. */
void
GraphPredict(const GraphNet *net, GraphWork *w, const float *x, int n,
			 float *out)
{
	size_t		n_in = net->hdr->n_inputs;
	size_t		n_out = net->hdr->n_outputs;

	for (int r0 = 0; r0 < n; r0 += w->max_batch)
	{
		int			rows = n - r0 < w->max_batch ? n - r0 : w->max_batch;
		float	   *o = out + (size_t) r0 * n_out;

		GraphForward(net, w, x + (size_t) r0 * n_in, rows, o);
		for (int r = 0; r < rows; r++)
			for (size_t j = 0; j < n_out; j++)
				o[r * n_out + j] = o[r * n_out + j] * net->out_mul[j] +
					net->out_shift[j];
	}
}

/* Summed loss of n rows; see graph.h. */
double
GraphLossRows(const GraphNet *net, const float *y, const float *t, int n)
{
	size_t		n_out = net->hdr->n_outputs;
	double		sum = 0.0;

	for (int r = 0; r < n; r++)
	{
		size_t		at = 0;

		for (uint32_t l = 0; l < net->hdr->n_layers; l++)
		{
			const GraphLayer *ly = &net->layers[l];

			if (ly->role != GRAPH_ROLE_OUTPUT)
				continue;
			sum += LossValue((HnLoss) ly->loss, (HnActivation) ly->activation,
							 y + r * n_out + at, t + r * n_out + at, ly->count);
			at += ly->count;
		}
	}
	return sum;
}

/* Gradient of the mean loss of the last forward pass; see graph.h. */
double
GraphBackward(const GraphNet *net, GraphWork *w, const float *t, int n,
			  uint64_t mask)
{
	int			nl = (int) net->hdr->n_layers;
	size_t		rows = (size_t) n;
	size_t		n_out = net->hdr->n_outputs;
	uint64_t	need = 0;		/* bit l: layer l's dL/dz is wanted */
	uint64_t	got = 0;		/* bit l: something was added to ga[l] */
	size_t		out_at[HANAMI_MAX_LAYERS];
	size_t		at = 0;
	double		loss = 0.0;
	float		inv = 1.0f / (float) n;

	if (GraphHasHistory(net))
		return GraphHistoryBackward(net, w, t, n, mask);
	/* a layer's gradient is wanted when it, or a layer below it, trains */
	for (int l = 0; l < nl; l++)
	{
		const GraphLayer *ly = &net->layers[l];

		out_at[l] = at;
		if (ly->role == GRAPH_ROLE_OUTPUT)
			at += ly->count;
		if (ly->role == GRAPH_ROLE_INPUT)
			continue;
		if (mask & ((uint64_t) 1 << l))
			need |= (uint64_t) 1 << l;
		for (int k = 0; k < ly->n_sources; k++)
			if (need & ((uint64_t) 1 << ly->sources[k]))
				need |= (uint64_t) 1 << l;
	}
	for (int l = nl - 1; l >= 1; l--)
	{
		const GraphLayer *ly = &net->layers[l];
		size_t		c = ly->count;
		size_t		fan_in;
		float	   *gz = w->gz[l];
		const float *in;

		if (ly->role == GRAPH_ROLE_INPUT)
			continue;
		if (ly->role == GRAPH_ROLE_OUTPUT)
			for (size_t r = 0; r < rows; r++)
				loss += LossValue((HnLoss) ly->loss,
								  (HnActivation) ly->activation,
								  w->a[l] + r * c, t + r * n_out + out_at[l], c);
		if (!(need & ((uint64_t) 1 << l)))
			continue;
		/* dL/dz: what the readers passed down, then the layer's own loss */
		if (got & ((uint64_t) 1 << l))
		{
			memcpy(gz, w->ga[l], rows * c * sizeof(float));
			ActBackRows(ly, w->z[l], w->a[l], gz, rows);
		}
		else
			memset(gz, 0, rows * c * sizeof(float));
		if (ly->role == GRAPH_ROLE_OUTPUT)
			for (size_t r = 0; r < rows; r++)
			{
				float	   *g = w->ga[l] + r * c;	/* free once copied */
				const float *tr = t + r * n_out + out_at[l];

				LossGradient((HnLoss) ly->loss, (HnActivation) ly->activation,
							 w->z[l] + r * c, w->a[l] + r * c, tr, g, c);
				for (size_t j = 0; j < c; j++)
					gz[r * c + j] += g[j] * inv;
			}
		fan_in = (size_t) GraphFanIn(net->layers, l);
		in = LayerInput(net, w, l, rows);
		if (mask & ((uint64_t) 1 << l))
		{
			float	   *gw = w->grad + net->layers[l].param_offset;

			SimdGemm(fan_in, c, rows, in, 1, fan_in, gz, c, gw, c, NULL);
			SimdColumnSums(gz, rows, c, gw + fan_in * c);
		}
		/* dL/dx = dL/dz W^T, onto the sources that want it */
		{
			bool		pass = false;
			size_t		off = 0;

			for (int k = 0; k < ly->n_sources; k++)
				pass |= (need >> ly->sources[k]) & 1;
			if (!pass)
				continue;
			SimdTranspose(GraphWeights(net, l), fan_in, c, w->wt);
			SimdGemm(rows, fan_in, c, gz, c, 1, w->wt, fan_in, w->gx, fan_in,
					 NULL);
			for (int k = 0; k < ly->n_sources; k++)
			{
				int			s = ly->sources[k];
				size_t		sc = net->layers[s].count;

				if ((need >> s) & 1)
				{
					float	   *ga = w->ga[s];
					bool		first = !((got >> s) & 1);

					for (size_t r = 0; r < rows; r++)
						for (size_t j = 0; j < sc; j++)
							ga[r * sc + j] = (first ? 0.0f : ga[r * sc + j]) +
								w->gx[r * fan_in + off + j];
					got |= (uint64_t) 1 << s;
				}
				off += sc;
			}
		}
	}
	return loss;
}
