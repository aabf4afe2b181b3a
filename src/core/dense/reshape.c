/*
 * dense/reshape.c - a new architecture for a trained dense network that
 * keeps what it learned (the kind's reshape operation, kind.h).
 *
 * The description (dense/json.h DenseReadReshape) lists the new layers.
 * Each layer of it either takes over a layer of the old network or is new:
 *
 *   - the input layer and the output layer take over their old ones, whose
 *     unit counts must stay;
 *   - a hidden layer takes over the old hidden layer its "from" names (an
 *     index into the old layers or a layer name; null: a new layer), else
 *     the old hidden layer of its name, else the next old hidden layer
 *     after the last one taken over, else it is new.  Layers keep their
 *     order; old hidden layers no one takes over are removed.
 *
 * What the network computes is kept where it can be:
 *
 *   - a layer taken over keeps its weights and bias; units added to it (a
 *     wider layer) get small random incoming weights, and zero outgoing
 *     weights in the next layer, so the outputs do not change.  A narrower
 *     layer drops its last units (the function changes);
 *   - a new layer starts as the identity of the values it receives: weight
 *     1 from unit i of the layer before to its unit i, 0 elsewhere, bias 0,
 *     and its further units as in a wider layer.  That needs as many units
 *     as the values it passes on, and an activation that passes them
 *     unchanged: identity always; relu, elu and isrlu (x for x >= 0) when
 *     those values are never negative (they come from a relu, sigmoid,
 *     softclip, gauss or binary layer).  Other activations (tanh, sigmoid,
 *     sin, ...) cannot be an identity: an error;
 *   - removed layers are folded into the next layer kept: their weights are
 *     multiplied out as if their activation were the identity, exact only
 *     when it was (the function changes otherwise);
 *   - activations, the loss, the learned input and output scaling, the
 *     flags and the training counters are kept.  A description naming
 *     another activation for a layer taken over is an error.
 *
 * New weights are drawn from a generator seeded by the description's
 * "seed", else by one derived from the network (its seed and counters), so
 * the same reshape of the same network gives the same bytes.  A layer whose
 * inputs and units did not change is copied byte for byte, so the store
 * shares its blocks with the commit it came from.
 */
#include "core/dense/kind.h"
#include "core/dense/dtype.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/dense/json.h"
#include "core/rng.h"

/* New incoming weights: this fraction of a fresh layer's deviation. */
#define RESHAPE_INIT_SCALE 0.1

/* A layer source: an old layer's index, or one of these. */
#define SRC_NEW		(-1)
#define SRC_AUTO	(-2)

/* Whether an activation's outputs are never negative. */
static bool
ActNonNegative(int act)
{
	return act == HANAMI_ACT_RELU || act == HANAMI_ACT_SIGMOID ||
		act == HANAMI_ACT_SOFTCLIP || act == HANAMI_ACT_GAUSS ||
		act == HANAMI_ACT_BINARY || act == HANAMI_ACT_SOFTMAX;
}

/* Whether act(x) == x for every x (any) or for x >= 0 (nonneg). */
static bool
ActPassesOn(int act, bool nonneg)
{
	if (act == HANAMI_ACT_IDENTITY)
		return true;
	return nonneg && (act == HANAMI_ACT_RELU || act == HANAMI_ACT_ELU ||
					  act == HANAMI_ACT_ISRLU);
}

/* The old hidden layer named name, or -1. */
static int
FindHidden(const DenseNet *o, const char *name)
{
	for (uint32_t k = 1; k + 1 < o->hdr->n_layers; k++)
		if (name[0] && strncmp(o->layers[k].name, name, HANAMI_NAME_LEN) == 0)
			return (int) k;
	return -1;
}

/* Where each new layer comes from (src[j]: an old index or SRC_NEW). */
static HnStatus
ResolveSources(const DenseNet *o, const DenseSpec *spec,
			   const DenseReshapeIn *rin, int *src, HnError *err)
{
	int			n = spec->n_layers;
	int			n_old = (int) o->hdr->n_layers;
	bool		claimed[HANAMI_MAX_LAYERS] = {false};
	int			last;

	src[0] = 0;
	src[n - 1] = n_old - 1;
	if (rin->from[0] || rin->from[n - 1])
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "The input and output layers always take over the old ones.",
						  "\"from\" is for hidden layers only");
	for (int j = 1; j < n - 1; j++)
	{
		const HnJson *f = rin->from[j];

		src[j] = SRC_AUTO;
		if (f == NULL)
		{
			int			k = FindHidden(o, spec->layers[j].name);

			if (k >= 0)
				src[j] = k;
		}
		else if (f->type == HN_JSON_NULL)
			src[j] = SRC_NEW;
		else if (f->type == HN_JSON_STRING)
		{
			const char *name;
			HnStatus	st = HnJsonString(f, "from", &name, err);

			if (st != HANAMI_OK)
				return st;
			if ((src[j] = FindHidden(o, name)) < 0)
				return HnSetError(err, HANAMI_E_INVALID_SPEC,
								  "\"from\" names a hidden layer of the network (by name or index), or is null for a new layer.",
								  "the network has no hidden layer named \"%s\"",
								  name);
		}
		else
		{
			int64_t		k;
			char		detail[HANAMI_ERRMSG_LEN];
			HnStatus	st;

			snprintf(detail, sizeof(detail),
					 "The network's hidden layers are 1 to %d; \"from\" may also name one, or be null for a new layer.",
					 n_old - 2);
			if (f->type != HN_JSON_NUMBER)
				return HnSetError(err, HANAMI_E_INVALID_SPEC, detail,
								  "\"from\" of layer %d must be a layer index, a layer name or null",
								  j);
			st = HnJsonInt(f, "from", 1, n_old - 2 < 1 ? 1 : n_old - 2, &k,
						   err);
			if (st != HANAMI_OK || n_old - 2 < 1)
			{
				HnSetError(err, HANAMI_E_INVALID_SPEC, detail,
						   "\"from\" of layer %d is not a hidden layer of the network",
						   j);
				return HANAMI_E_INVALID_SPEC;
			}
			src[j] = (int) k;
		}
		if (src[j] >= 0)
		{
			if (claimed[src[j]])
				return HnSetError(err, HANAMI_E_INVALID_SPEC,
								  "Each old layer goes to one new layer at most.",
								  "old layer %d is taken over twice", src[j]);
			claimed[src[j]] = true;
		}
	}
	/* the rest: the next old hidden layer no one claimed, else new */
	last = 0;
	for (int j = 1; j < n - 1; j++)
	{
		if (src[j] == SRC_AUTO)
		{
			int			k = last + 1;

			if (k < n_old - 1 && !claimed[k])
			{
				src[j] = k;
				claimed[k] = true;
			}
			else
				src[j] = SRC_NEW;
		}
		if (src[j] >= 0)
		{
			if (src[j] <= last)
				return HnSetError(err, HANAMI_E_INVALID_SPEC,
								  "Layers keep their order: a reshape widens, narrows, adds and removes layers, it does not reorder them.",
								  "layer %d would take over old layer %d, which comes before old layer %d",
								  j, src[j], last);
			last = src[j];
		}
	}
	return HANAMI_OK;
}

/* Fill in the activations, names and loss the description left out, and
 * check the ones it gave. */
static HnStatus
ResolveLayers(const DenseNet *o, DenseSpec *spec, const DenseReshapeIn *rin,
			  const int *src, HnError *err)
{
	int			n = spec->n_layers;
	bool		nonneg = false; /* the values layer j - 1 passes on */

	for (int j = 1; j < n; j++)
	{
		DenseLayerSpec *ls = &spec->layers[j];
		bool		named = rin->act_named[j] || (rin->hidden_named && j < n - 1);

		if (src[j] >= 0)
		{
			const DenseLayer *ol = &o->layers[src[j]];

			if (named && ls->activation != (HnActivation) ol->activation)
			{
				HnSetError(err, HANAMI_E_INVALID_SPEC,
						   "A reshape keeps the activations of the layers it keeps.",
						   "layer %d (old layer %d) has activation \"%s\", not \"%s\"",
						   j, src[j], ActName((HnActivation) ol->activation),
						   ActName(ls->activation));
				return HnSetHint(err, "Leave \"activation\" out for the layers kept, or add a new layer (\"from\": null).");
			}
			ls->activation = (HnActivation) ol->activation;
			if (DenseProgramOf(o, src[j]) != NULL)
			{
				HnStatus	st = DenseSpecAddProgram(spec,
													 DenseProgramOf(o, src[j]),
													 &ls->program, err);

				if (st != HANAMI_OK)
					return st;
			}
			if (ls->name[0] == '\0')
				memcpy(ls->name, ol->name, HANAMI_NAME_LEN);
			nonneg = ActNonNegative(ol->activation);
			continue;
		}
		if (!named)
			ls->activation = nonneg ? HANAMI_ACT_RELU : HANAMI_ACT_IDENTITY;
		if (!ActPassesOn(ls->activation, nonneg))
		{
			if (ls->activation == HANAMI_ACT_RELU ||
				ls->activation == HANAMI_ACT_ELU ||
				ls->activation == HANAMI_ACT_ISRLU)
			{
				HnSetError(err, HANAMI_E_INVALID_SPEC,
						   "A new layer starts as the identity, so that the network computes what it did; its activation passes negative values on changed, and the values it receives may be negative.",
						   "new layer %d cannot start as an identity with activation \"%s\"",
						   j, ActName(ls->activation));
				return HnSetHint(err, "Give it activation \"identity\", or add it after a relu layer.");
			}
			HnSetError(err, HANAMI_E_INVALID_SPEC,
					   "A new layer starts as the identity, so that the network computes what it did; only identity, relu, elu and isrlu can pass values on unchanged.",
					   "new layer %d cannot start as an identity with activation \"%s\"",
					   j, ActName(ls->activation));
			return HnSetHint(err, "Give it activation \"identity\" or \"relu\".");
		}
	}
	if (spec->loss == HANAMI_LOSS_DEFAULT)
		spec->loss = (HnLoss) o->hdr->loss;
	else if (spec->loss != (HnLoss) o->hdr->loss)
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "A reshape keeps the loss the network was trained with.",
						  "the network's loss is \"%s\", not \"%s\"",
						  LossName((HnLoss) o->hdr->loss),
						  LossName(spec->loss));
	return HANAMI_OK;
}

/* Append {"layer": j, ...} for a layer of the new network. */
static void
NoteLayer(HnBuf *out, bool *first, int j, int from, uint32_t old_units,
		  uint32_t units, const char *change)
{
	if (j >= 0)
		HnBufPrintf(out, "%s{\"layer\": %d, ", *first ? "" : ", ", j);
	else
		HnBufPrintf(out, "%s{\"layer\": null, ", *first ? "" : ", ");
	if (from >= 0)
		HnBufPrintf(out, "\"from\": %d, \"units\": [%u, %u], ", from,
					old_units, units);
	else
		HnBufPrintf(out, "\"from\": null, \"units\": [0, %u], ", units);
	HnBufAppend(out, "\"change\": ");
	HnBufJsonString(out, change);
	HnBufAppendChar(out, '}');
	*first = false;
}

/* Weights of new layer j: the affine map m (p x cols, row-major) with
 * bias c for its first keep units, the rest drawn. */
static void
FillLayer(DenseNet *d, int j, const float *m, const float *c, uint32_t p,
		  uint32_t cols, uint32_t keep, HnRng *rng)
{
	uint32_t	rows = d->layers[j - 1].count;
	uint32_t	units = d->layers[j].count;
	float	   *w = DenseWeights(d, j);
	float	   *b = DenseBias(d, j);
	double		sd = RESHAPE_INIT_SCALE *
		sqrt(ActInitGain((HnActivation) d->layers[j].activation) / rows);

	for (uint32_t i = 0; i < rows; i++)
		for (uint32_t u = 0; u < units; u++)
		{
			float		v;

			if (u >= keep)
				v = (float) (RngNormal(rng) * sd);	/* into a new unit */
			else if (i < p)
				v = m[(size_t) i * cols + u];
			else
				v = 0.0f;		/* out of a new unit */
			w[(size_t) i * units + u] = v;
		}
	for (uint32_t u = 0; u < units; u++)
		b[u] = u < keep ? c[u] : 0.0f;
}

HnStatus
DenseReshape(const HnNet *net, const HnJson *root, const HnAllocator *alloc,
			 void **image, size_t *len, HnBuf *changes, HnError *err)
{
	const DenseNet *o = DenseOf(net);
	DenseSpec	spec;
	DenseReshapeIn rin;
	int			src[HANAMI_MAX_LAYERS];
	int			n;
	size_t		size;
	DenseNet	d;
	HnRng		rng;
	HnStatus	st;
	float	   *m = NULL;
	float	   *c = NULL;
	uint32_t	p;
	int			prev;
	bool		first = true;
	bool		kept = true;
	uint32_t	seed;

	*image = NULL;
	*len = 0;
	if (DenseDtypeOf(o) != DENSE_DTYPE_F32)
	{
		HnSetError(err, HANAMI_E_UNSUPPORTED,
				   "A reshape keeps float32 weights; compact weights are for inference.",
				   "cannot reshape a network with %s weights",
				   DenseDtypeName(DenseDtypeOf(o)));
		return HnSetHint(err, "Reshape the float32 network, then quantize it with hanami.quantize().");
	}
	if ((st = DenseReadReshape(root, &spec, &rin, err)) != HANAMI_OK)
		return st;
	n = spec.n_layers;
	if (n < 2)
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "A network has an input and an output layer at least.",
						  "network has %d layers", n);
	if (spec.layers[0].count != o->hdr->n_inputs)
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "A reshape keeps the inputs: the network reads the same rows.",
						  "the network has %u inputs, not %u",
						  o->hdr->n_inputs, spec.layers[0].count);
	if (spec.layers[n - 1].count != o->hdr->n_outputs)
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "A reshape keeps the outputs: the network predicts the same targets.",
						  "the network has %u outputs, not %u",
						  o->hdr->n_outputs, spec.layers[n - 1].count);
	if (rin.act_named[0] && spec.layers[0].activation != HANAMI_ACT_IDENTITY)
		return HnSetError(err, HANAMI_E_INVALID_SPEC, NULL,
						  "the input layer cannot have activation \"%s\"",
						  ActName(spec.layers[0].activation));
	if ((st = ResolveSources(o, &spec, &rin, src, err)) != HANAMI_OK ||
		(st = ResolveLayers(o, &spec, &rin, src, err)) != HANAMI_OK)
		return st;
	if (spec.layers[0].name[0] == '\0')
		memcpy(spec.layers[0].name, o->layers[0].name, HANAMI_NAME_LEN);
	spec.layers[0].activation = HANAMI_ACT_IDENTITY;
	seed = rin.has_seed ? spec.seed :
		(uint32_t) (o->hdr->seed * 2654435761u ^ o->hdr->epochs * 40503u ^
					(uint32_t) o->hdr->samples ^ 0x5e5a9e1u);
	spec.seed = o->hdr->seed;	/* the header keeps the first weights' seed */
	spec.input_scaling = (o->hdr->flags & HANAMI_FLAG_SCALE_INPUT) != 0;
	if ((st = DenseSpecFinalize(&spec, err)) != HANAMI_OK)
		return st;
	if ((size = DenseImageSize(&spec, err)) == 0)
		return err->code;
	*image = HnAlloc(alloc, size);
	if (*image == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for a network of %zu bytes", size);
	if ((st = DenseCreateLayout(*image, size, &spec, err)) != HANAMI_OK)
		goto fail;
	DenseBindTrusted(&d, *image);
	d.hdr->flags = o->hdr->flags;
	d.hdr->epochs = o->hdr->epochs;
	d.hdr->samples = o->hdr->samples;
	memcpy(d.in_shift, o->in_shift, sizeof(float) * o->hdr->n_inputs);
	memcpy(d.in_mul, o->in_mul, sizeof(float) * o->hdr->n_inputs);
	memcpy(d.out_shift, o->out_shift, sizeof(float) * o->hdr->n_outputs);
	memcpy(d.out_mul, o->out_mul, sizeof(float) * o->hdr->n_outputs);
	RngSeed(&rng, seed);

	HnBufPrintf(changes, "{\"seed\": %u, \"layers\": [", seed);
	prev = 0;					/* the old layer whose values ... */
	p = o->hdr->n_inputs;		/* ... the first p units of layer j - 1 give */
	for (int j = 1; j < n; j++)
	{
		uint32_t	units = d.layers[j].count;

		if (src[j] == SRC_NEW)
		{
			/* the identity on the p values passed on */
			if (units < p)
			{
				HnSetError(err, HANAMI_E_INVALID_SPEC,
						   "A new layer starts as the identity of the values it receives, one unit for each.",
						   "new layer %d has %u units; it needs at least %u",
						   j, units, p);
				st = HnSetHint(err, "Give it more units, or widen the layer before it later.");
				goto fail;
			}
			m = HnAllocZero(alloc, sizeof(float) * ((size_t) p * p + p));
			if (m == NULL)
				goto nomem;
			for (uint32_t i = 0; i < p; i++)
				m[(size_t) i * p + i] = 1.0f;
			FillLayer(&d, j, m, m + (size_t) p * p, p, p, p, &rng);
			HnFree(alloc, m);
			m = NULL;
			NoteLayer(changes, &first, j, SRC_NEW, 0, units, "added");
			continue;
		}
		else
		{
			int			k = src[j];
			uint32_t	cols = o->layers[k].count;
			uint32_t	keep = units < cols ? units : cols;
			const char *change;

			/* the old layers prev + 1 .. k as one affine map on p values */
			{
				uint32_t	c1 = o->layers[prev + 1].count;
				const float *w1 = DenseWeights(o, prev + 1);

				m = HnAlloc(alloc, sizeof(float) * (size_t) p * c1);
				c = HnAlloc(alloc, sizeof(float) * c1);
				if (m == NULL || c == NULL)
					goto nomem;
				memcpy(m, w1, sizeof(float) * (size_t) p * c1);	/* rows 0..p-1 */
				memcpy(c, DenseBias(o, prev + 1), sizeof(float) * c1);
				for (int r = prev + 1; r < k; r++)
				{
					uint32_t	a = o->layers[r].count;
					uint32_t	bcount = o->layers[r + 1].count;
					const float *w = DenseWeights(o, r + 1);
					const float *bias = DenseBias(o, r + 1);
					float	   *m2 = HnAllocZero(alloc, sizeof(float) * (size_t) p * bcount);
					float	   *c2 = HnAlloc(alloc, sizeof(float) * bcount);

					if (m2 == NULL || c2 == NULL)
					{
						HnFree(alloc, m2);
						HnFree(alloc, c2);
						goto nomem;
					}
					for (uint32_t i = 0; i < p; i++)
						for (uint32_t t = 0; t < a; t++)
						{
							float		x = m[(size_t) i * a + t];

							for (uint32_t u = 0; u < bcount; u++)
								m2[(size_t) i * bcount + u] += x * w[(size_t) t * bcount + u];
						}
					for (uint32_t u = 0; u < bcount; u++)
					{
						double		s = bias[u];

						for (uint32_t t = 0; t < a; t++)
							s += (double) c[t] * w[(size_t) t * bcount + u];
						c2[u] = (float) s;
					}
					HnFree(alloc, m);
					HnFree(alloc, c);
					m = m2;
					c = c2;
					if (o->layers[r].activation != HANAMI_ACT_IDENTITY)
						kept = false;
					NoteLayer(changes, &first, -1, r, o->layers[r].count, 0,
							  "removed");
				}
			}
			FillLayer(&d, j, m, c, p, cols, keep, &rng);
			HnFree(alloc, m);
			HnFree(alloc, c);
			m = c = NULL;
			if (units < cols)
			{
				change = "narrowed";
				kept = false;
			}
			else if (units > cols)
				change = "widened";
			else if (k != prev + 1 || d.layers[j - 1].count != o->layers[k - 1].count ||
					 p != o->layers[k - 1].count)
				change = "inputs";
			else
				change = "same";
			NoteLayer(changes, &first, j, k, cols, units, change);
			prev = k;
			p = keep;
		}
	}
	HnBufPrintf(changes, "], \"function_kept\": %s}", kept ? "true" : "false");
	if ((st = HnBufCheck(changes, err)) != HANAMI_OK)
		goto fail;
	*len = size;
	return HANAMI_OK;

nomem:
	st = HnSetError(err, HANAMI_E_NOMEM, NULL,
					"out of memory while reshaping a network");
fail:
	HnFree(alloc, m);
	HnFree(alloc, c);
	HnFree(alloc, *image);
	*image = NULL;
	return st;
}
