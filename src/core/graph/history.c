/*
 * graph/history.c - recurrence: layers that read their own values of the
 * rows before (graph.h "history"), their carried state, and forward and
 * backward passes over rows that depend on each other.
 *
 * Rows run one after another.  For each row every layer that is not an
 * input computes z = x W + b from x = its sources' values of this row,
 * then its state (its values of the previous row first, down to N rows
 * back), and its activation; a layer with a history then shifts its state
 * down one row and puts its new values first.  A row that begins a
 * sequence clears every state first, so a sequence never sees the rows of
 * another.
 *
 * Training is backpropagation through time, truncated at the batch: the
 * loss of a batch is the mean loss of its rows, each computed from the
 * state the batch started with (the values of the rows before it, which
 * count as constants) and the rows of the batch before it.  Its exact
 * gradient flows from every row back into the history inputs of the
 * earlier rows of the same batch and sequence, never into rows of an
 * earlier batch.  Rows are taken in reverse: a layer's dL/da at a row sums
 * what the layers reading it at that row passed down, what its own later
 * rows passed down through their history inputs, and its own loss.
 */
#include "core/graph/graph.h"

#include <string.h>

#include "core/simd.h"

/* Whether a layer has a history. */
bool
GraphHasHistory(const GraphNet *net)
{
	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
		if (net->layers[l].history != 0)
			return true;
	return false;
}

/* The state area: right after the parameters. */
float *
GraphState(const GraphNet *net)
{
	return net->params + net->hdr->n_params;
}

size_t
GraphStateSize(const GraphNet *net)
{
	return (size_t) GraphStateFloats(net->layers, (int) net->hdr->n_layers);
}

/* Each layer's state, in layer order in the area. */
void
GraphStateOf(const GraphNet *net, float **state)
{
	float	   *at = GraphState(net);

	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
	{
		const GraphLayer *ly = &net->layers[l];

		state[l] = ly->history ? at : NULL;
		at += (size_t) ly->history * ly->count;
	}
}

/* The input row of layer l: its sources' values of row r, then its state. */
static const float *
RowInput(const GraphNet *net, GraphWork *w, int l, size_t r,
		 const float *state)
{
	const GraphLayer *ly = &net->layers[l];
	size_t		fan_in;
	size_t		at = 0;
	float	   *in;

	if (w->x[l] == NULL)
		return w->a[ly->sources[0]] + r * net->layers[ly->sources[0]].count;
	fan_in = (size_t) GraphFanIn(net->layers, l);
	in = w->x[l] + r * fan_in;
	for (int k = 0; k < ly->n_sources; k++)
	{
		size_t		c = net->layers[ly->sources[k]].count;

		memcpy(in + at, w->a[ly->sources[k]] + r * c, c * sizeof(float));
		at += c;
	}
	if (state != NULL)
		memcpy(in + at, state, (size_t) ly->history * ly->count * sizeof(float));
	return in;
}

/* Forward rows in order, carrying the state; see graph.h. */
void
GraphHistoryForward(const GraphNet *net, GraphWork *w, const float *x,
					const uint8_t *starts, int n, float *y)
{
	size_t		n_in = net->hdr->n_inputs;
	size_t		n_out = net->hdr->n_outputs;
	uint32_t	nl = net->hdr->n_layers;
	float	   *state[HANAMI_MAX_LAYERS];
	int			first = 0;

	GraphStateOf(net, state);
	SimdAffineRows(x, (size_t) n, n_in, net->in_shift, net->in_mul, w->xs);
	if (GraphInputClip(net) > 0.0f)
		SimdClip(w->xs, (size_t) n * n_in, GraphInputClip(net));
	for (size_t r = 0; r < (size_t) n; r++)
	{
		size_t		at = 0;

		if (starts != NULL && starts[r])
		{
			memset(GraphState(net), 0, GraphStateSize(net) * sizeof(float));
			first = (int) r;
		}
		w->first[r] = first;
		for (uint32_t l = 0; l < nl; l++)
		{
			const GraphLayer *ly = &net->layers[l];
			size_t		c = ly->count;
			float	   *a = w->a[l] + r * c;
			float	   *z;
			const float *in;

			if (ly->role == GRAPH_ROLE_INPUT)
			{
				memcpy(a, w->xs + r * n_in + at, c * sizeof(float));
				at += c;
				continue;
			}
			z = w->z[l] + r * c;
			in = RowInput(net, w, (int) l, r, state[l]);
			SimdGemv(c, (size_t) GraphFanIn(net->layers, (int) l), in,
					 GraphWeights(net, (int) l), c, z, GraphBias(net, (int) l));
			memcpy(a, z, c * sizeof(float));
			ActForward((HnActivation) ly->activation, a, c);
			if (state[l] != NULL)
			{
				memmove(state[l] + c, state[l],
						(size_t) (ly->history - 1) * c * sizeof(float));
				memcpy(state[l], a, c * sizeof(float));
			}
		}
		at = 0;
		for (uint32_t l = 0; l < nl; l++)
		{
			size_t		c = net->layers[l].count;

			if (net->layers[l].role != GRAPH_ROLE_OUTPUT)
				continue;
			memcpy(y + r * n_out + at, w->a[l] + r * c, c * sizeof(float));
			at += c;
		}
	}
}

/* ga[s] row r += v (c values). */
static void
AddRow(float *dst, const float *v, size_t c)
{
	for (size_t j = 0; j < c; j++)
		dst[j] += v[j];
}

/* Gradient of the mean loss of the last forward rows; see graph.h. */
double
GraphHistoryBackward(const GraphNet *net, GraphWork *w, const float *t,
					 int n, uint64_t mask)
{
	int			nl = (int) net->hdr->n_layers;
	size_t		rows = (size_t) n;
	size_t		n_out = net->hdr->n_outputs;
	size_t		out_at[HANAMI_MAX_LAYERS];
	size_t		at = 0;
	double		loss = 0.0;
	float		inv = 1.0f / (float) n;

	for (int l = 0; l < nl; l++)
	{
		const GraphLayer *ly = &net->layers[l];

		out_at[l] = at;
		if (ly->role == GRAPH_ROLE_OUTPUT)
			at += ly->count;
		if (ly->role != GRAPH_ROLE_INPUT)
			memset(w->ga[l], 0, rows * ly->count * sizeof(float));
	}
	for (size_t r = rows; r-- > 0;)
	{
		for (int l = nl - 1; l >= 1; l--)
		{
			const GraphLayer *ly = &net->layers[l];
			size_t		c = ly->count;
			size_t		fan_in;
			size_t		src;
			size_t		off = 0;
			float	   *gz = w->gz[l] + r * c;
			const float *W;

			if (ly->role == GRAPH_ROLE_INPUT)
				continue;
			/* dL/dz: what was passed down, then the layer's own loss */
			memcpy(gz, w->ga[l] + r * c, c * sizeof(float));
			ActBackward((HnActivation) ly->activation, w->z[l] + r * c,
						w->a[l] + r * c, gz, c);
			if (ly->role == GRAPH_ROLE_OUTPUT)
			{
				const float *tr = t + r * n_out + out_at[l];

				loss += LossValue((HnLoss) ly->loss,
								  (HnActivation) ly->activation,
								  w->a[l] + r * c, tr, c);
				LossGradient((HnLoss) ly->loss, (HnActivation) ly->activation,
							 w->z[l] + r * c, w->a[l] + r * c, tr, w->gt, c);
				for (size_t j = 0; j < c; j++)
					gz[j] += w->gt[j] * inv;
			}
			/* dL/dx = W dL/dz, x being the sources, then the history */
			fan_in = (size_t) GraphFanIn(net->layers, l);
			src = (size_t) GraphSourceUnits(net->layers, l);
			W = GraphWeights(net, l);
			for (size_t i = 0; i < fan_in; i++)
			{
				const float *wi = W + i * c;
				float		s = 0.0f;

				for (size_t j = 0; j < c; j++)
					s += wi[j] * gz[j];
				w->gx[i] = s;
			}
			for (int k = 0; k < ly->n_sources; k++)
			{
				int			s = ly->sources[k];
				size_t		sc = net->layers[s].count;

				if (net->layers[s].role != GRAPH_ROLE_INPUT)
					AddRow(w->ga[s] + r * sc, w->gx + off, sc);
				off += sc;
			}
			/* lag k reached row r - k when it is of this batch and sequence */
			for (size_t k = 1; k <= ly->history && k <= r; k++)
			{
				if ((int) (r - k) < w->first[r])
					break;
				AddRow(w->ga[l] + (r - k) * c, w->gx + src + (k - 1) * c, c);
			}
		}
	}
	for (int l = 1; l < nl; l++)
	{
		const GraphLayer *ly = &net->layers[l];
		size_t		c = ly->count;
		size_t		fan_in = (size_t) GraphFanIn(net->layers, l);
		const float *in;
		float	   *gw;

		if (ly->role == GRAPH_ROLE_INPUT || !(mask & ((uint64_t) 1 << l)))
			continue;
		in = w->x[l] != NULL ? w->x[l] : w->a[ly->sources[0]];
		gw = w->grad + ly->param_offset;
		SimdGemm(fan_in, c, rows, in, 1, fan_in, w->gz[l], c, gw, c, NULL);
		SimdColumnSums(w->gz[l], rows, c, gw + fan_in * c);
	}
	return loss;
}

/* Options a fit of a network with history refuses; see graph.h. */
HnStatus
GraphHistoryCheckOptions(const GraphNet *net, const HnTrainOptions *opt,
						 HnError *err)
{
	if (!GraphHasHistory(net))
		return HANAMI_OK;
	if (opt->shuffle)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
				   "A layer with a history reads its values of the rows before, so the rows are sequences taken in the query's order.",
				   "option \"shuffle\" does not apply to a graph with history");
		return HnSetHint(err, "Leave \"shuffle\" out; order the rows with ORDER BY, and cut them into sequences with the \"sequence\" option.");
	}
	if (opt->validation_split > 0)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
				   "Rows held out at random would cut the sequences.",
				   "option \"validation_split\" does not apply to a graph with history");
		return HnSetHint(err, "Give whole sequences of their own with \"validation_query\".");
	}
	return HANAMI_OK;
}
