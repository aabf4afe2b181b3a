/*
 * graph/embed.c - nets inside nets: a layer of a graph description that is
 * a whole network, {"name": "enc", "net": {...}, "from": [...], "frozen":
 * true}, with the network's description or text form (weights included)
 * inline.
 *
 * The network (dense, or a graph with one input and one output layer) is
 * built when the description is read, and its layers take the place of
 * the layer "enc": its first layers read what "enc" reads ("from", or the
 * layer before it), its last layer is named "enc" and takes the role and
 * loss of "enc", so later layers read it by that name, and the others are
 * named "enc.<their name>", or "enc.<their index>" when they have none.
 * Every layer it brings is frozen when "enc" says "frozen": true (a fit
 * never changes their weights); otherwise they train on from the weights
 * they came with.
 *
 * Its scaling keeps its meaning, so the layers compute on the values they
 * were trained on:
 *  - when "enc" reads input layers, the network's input scaling becomes
 *    theirs (GRAPH_LAYER_FIXED_SCALING: a fit of the outer network does not
 *    learn it again), clipped as the network clipped it (the outer network
 *    clips all its inputs or none: embedded networks that disagree, or an
 *    unclipped one in a network that learns clipped scaling, are refused);
 *  - when "enc" reads hidden layers, the scaling is folded into the weights
 *    of its layers that read its input (W' = diag(mul) W, b' = b -
 *    (shift * mul) W), and its clipping is not applied;
 *  - a scaling it would learn on its first fit, never fitted yet, is left
 *    to the outer network's fit.
 * An output scaling (regression) is folded into its last layer when that
 * layer's activation is identity, and refused otherwise.
 */
#include "core/graph/graph.h"

#include <stdio.h>
#include <string.h>

#include "core/dense/dtype.h"
#include "core/dense/kind.h"
#include "core/json.h"

/* How an embedded network's input scaling is carried over. */
typedef enum EmbedScaling
{
	EMBED_SCALING_NONE = 0,		/* never fitted: the outer fit learns it */
	EMBED_SCALING_INPUTS,		/* onto the input layers it reads */
	EMBED_SCALING_FOLD			/* into the weights of its first layers */
} EmbedScaling;

typedef struct GraphEmbed
{
	int			at;				/* the placeholder's index in the description */
	char		name[HANAMI_NAME_LEN];
	void	   *image;
	HnNet		net;
	int			n_layers;		/* of the network, its input included */
	int			first;			/* where its layer 1 is after the expansion */
	int			n_src;			/* what it reads, after the expansion */
	uint16_t	src[GRAPH_MAX_SOURCES];
	EmbedScaling scaling;
} GraphEmbed;

struct GraphEmbeds
{
	const HnAllocator *alloc;
	int			n;
	GraphEmbed	e[HANAMI_MAX_LAYERS];
};

GraphEmbeds *
GraphEmbedsCreate(const HnAllocator *alloc, HnError *err)
{
	GraphEmbeds *e = HnAllocZero(alloc, sizeof(GraphEmbeds));

	if (e == NULL)
		HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory");
	else
		e->alloc = alloc;
	return e;
}

void
GraphEmbedsFree(GraphEmbeds *e)
{
	if (e == NULL)
		return;
	for (int i = 0; i < e->n; i++)
		HnFree(e->alloc, e->e[i].image);
	HnFree(e->alloc, e);
}

int
GraphEmbedsCount(const GraphEmbeds *e)
{
	return e != NULL ? e->n : 0;
}

/* The embedded network's layers, whichever kind it is. */

static const HnHeader *
InnerHeader(const GraphEmbed *m)
{
	return m->net.hdr;
}

static uint32_t
InnerCount(const GraphEmbed *m, int k)
{
	const DenseNet *d = DenseOf(&m->net);

	return d ? d->layers[k].count : GraphOf(&m->net)->layers[k].count;
}

static HnActivation
InnerAct(const GraphEmbed *m, int k)
{
	const DenseNet *d = DenseOf(&m->net);

	return (HnActivation) (d ? d->layers[k].activation :
						   GraphOf(&m->net)->layers[k].activation);
}

/* Earlier rows of its own values inner layer k reads (graphs only). */
static uint32_t
InnerHistory(const GraphEmbed *m, int k)
{
	const GraphNet *g = GraphOf(&m->net);

	return g ? g->layers[k].history : 0;
}

static const char *
InnerName(const GraphEmbed *m, int k)
{
	const DenseNet *d = DenseOf(&m->net);

	return d ? d->layers[k].name : GraphOf(&m->net)->layers[k].name;
}

/* Layer k's sources in the network: a dense layer reads the one before. */
static int
InnerSources(const GraphEmbed *m, int k, uint16_t *src)
{
	const GraphNet *g = GraphOf(&m->net);

	if (g == NULL)
	{
		src[0] = (uint16_t) (k - 1);
		return 1;
	}
	memcpy(src, g->layers[k].sources, sizeof(uint16_t) * g->layers[k].n_sources);
	return g->layers[k].n_sources;
}

static const float *
InnerScaling(const GraphEmbed *m, int which)
{
	const DenseNet *d = DenseOf(&m->net);
	const GraphNet *g = GraphOf(&m->net);

	switch (which)
	{
		case 0:
			return d ? d->in_shift : g->in_shift;
		case 1:
			return d ? d->in_mul : g->in_mul;
		case 2:
			return d ? d->out_shift : g->out_shift;
		default:
			return d ? d->out_mul : g->out_mul;
	}
}

/* Whether its input scaling means something: fitted, fixed, or raw. */
static bool
InnerScalingKept(const GraphEmbed *m)
{
	const HnHeader *h = InnerHeader(m);
	const GraphNet *g = GraphOf(&m->net);

	/* the flag values are the same in both kinds */
	return (h->flags & GRAPH_FLAG_INPUT_FITTED) ||
		!(h->flags & GRAPH_FLAG_SCALE_INPUT) ||
		(g != NULL && (g->layers[0].flags & GRAPH_LAYER_FIXED_SCALING));
}

static bool
InnerClipped(const GraphEmbed *m)
{
	return (InnerHeader(m)->flags & GRAPH_FLAG_INPUT_CLIP) != 0;
}

/* Whether its output scaling is the identity. */
static bool
InnerOutputIdentity(const GraphEmbed *m)
{
	const float *shift = InnerScaling(m, 2);
	const float *mul = InnerScaling(m, 3);

	for (uint32_t j = 0; j < InnerHeader(m)->n_outputs; j++)
		if (shift[j] != 0.0f || mul[j] != 1.0f)
			return false;
	return true;
}

/* Prefix an error of the embedded network with the layer it is in. */
static HnStatus
InnerError(HnError *err, const char *name)
{
	char		msg[HANAMI_ERRMSG_LEN];

	if (err == NULL)
		return HANAMI_E_INVALID_SPEC;
	snprintf(msg, sizeof(msg), "network of layer \"%s\": %.200s", name,
			 err->message);
	memcpy(err->message, msg, sizeof(msg));
	return err->code;
}

/* Checks of a network that may be embedded. */
static HnStatus
CheckInner(const GraphEmbed *m, HnError *err)
{
	const DenseNet *d = DenseOf(&m->net);
	const GraphNet *g = GraphOf(&m->net);
	int			inputs = 0,
				outputs = 0;

	if (d == NULL && g == NULL)
	{
		HnSetError(err, HANAMI_E_INVALID_SPEC,
				   "Dense and graph networks can be layers of a graph.",
				   "layer \"%s\" cannot be a network of kind \"%s\"", m->name,
				   m->net.kind->name);
		return HnSetHint(err, "Embed a dense or graph network.");
	}
	for (int k = 1; d != NULL && k < m->n_layers; k++)
		if (d->layers[k].activation == HANAMI_ACT_CUSTOM)
			return HnSetError(err, HANAMI_E_INVALID_SPEC,
							  "Graph networks use the built-in activations; custom activations are for dense networks.",
							  "network of layer \"%s\" has a custom activation on its layer %d",
							  m->name, k);
	for (int k = 0; g != NULL && k < m->n_layers; k++)
	{
		inputs += g->layers[k].role == GRAPH_ROLE_INPUT;
		outputs += g->layers[k].role == GRAPH_ROLE_OUTPUT;
	}
	if (g != NULL && (inputs != 1 || outputs != 1))
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "A graph embedded as a layer has one input layer, which reads what the layer reads, and one output layer, which is the layer.",
						  "network of layer \"%s\" has %d input and %d output layers",
						  m->name, inputs, outputs);
	if (!InnerOutputIdentity(m) &&
		InnerAct(m, m->n_layers - 1) != HANAMI_ACT_IDENTITY)
	{
		HnSetError(err, HANAMI_E_INVALID_SPEC,
				   "Its output scaling can only be taken into the weights of a last layer with activation identity.",
				   "network of layer \"%s\" scales its outputs after activation \"%s\"",
				   m->name, ActName(InnerAct(m, m->n_layers - 1)));
		return HnSetHint(err, "Embed a network without output scaling, or one whose last layer is identity.");
	}
	return HANAMI_OK;
}

/* Layer l of a description says "net"; see graph.h. */
HnStatus
GraphEmbedRead(GraphEmbeds *e, const HnJson *layer, int l, GraphLayer *ly,
			   HnError *err)
{
	const HnJson *v = HnJsonGet(layer, "net");
	GraphEmbed *m;
	size_t		len;
	uint32_t	count;
	HnStatus	st;

	if (ly->name[0] == '\0')
	{
		HnSetError(err, HANAMI_E_INVALID_SPEC,
				   "The layers a network brings are named after the layer.",
				   "layer %d with \"net\" has no \"name\"", l);
		return HnSetHint(err, "For example {\"name\": \"enc\", \"net\": {...}, \"frozen\": true}.");
	}
	if (v->type == HN_JSON_STRING)
	{
		HnSetError(err, HANAMI_E_INVALID_SPEC,
				   "hanami.network() reads networks inline; a stored one is looked up when a model is created.",
				   "layer \"%s\" names the stored network \"%s\"", ly->name,
				   v->u.text);
		return HnSetHint(err, "Use hanami.create_model(), which resolves it, or hanami.network((hanami.resolve_nets(spec)).resolved).");
	}
	if (v->type != HN_JSON_OBJECT)
		return HnSetError(err, HANAMI_E_MALFORMED_SPEC,
						  "\"net\" is a network's description or text form, or a stored model's reference.",
						  "\"net\" of layer \"%s\" must be an object", ly->name);
	if (l == 0 || HnJsonGet(layer, "input") != NULL ||
		HnJsonGet(layer, "activation") != NULL ||
		(ly->flags & GRAPH_LAYER_FIXED_SCALING))
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "A layer that is a network reads earlier layers, and its activations are the network's.",
						  "layer \"%s\" with \"net\" cannot be an input or have \"activation\" or \"fixed_scaling\"",
						  ly->name);
	if (e->n >= HANAMI_MAX_LAYERS)
		return HnSetError(err, HANAMI_E_TOO_LARGE, NULL, "too many layers");
	m = &e->e[e->n];
	memset(m, 0, sizeof(*m));
	m->at = l;
	memcpy(m->name, ly->name, HANAMI_NAME_LEN);
	if ((st = NetFromJsonValue(v, NULL, e->alloc, &m->image, &len,
							   err)) != HANAMI_OK)
		return InnerError(err, ly->name);
	e->n++;						/* owns the image from now on */
	if ((st = NetBind(&m->net, m->image, len, err)) != HANAMI_OK)
		return InnerError(err, ly->name);
	m->n_layers = (int) m->net.hdr->n_layers;
	if ((st = CheckInner(m, err)) != HANAMI_OK)
		return st;
	count = InnerCount(m, m->n_layers - 1);
	if (ly->count != 0 && ly->count != count)
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "A layer that is a network has its network's output units; \"count\" may be left out.",
						  "layer \"%s\" has \"count\" %u but its network %u outputs",
						  ly->name, ly->count, count);
	ly->count = count;
	ly->activation = (uint16_t) InnerAct(m, m->n_layers - 1);
	return HANAMI_OK;
}

/* Name of the layer k of m after the expansion. */
static HnStatus
ExpandedName(const GraphEmbed *m, int k, char *dst, HnError *err)
{
	char		buf[2 * HANAMI_NAME_LEN + 16];
	const char *own = InnerName(m, k);

	if (k == m->n_layers - 1)
	{
		memcpy(dst, m->name, HANAMI_NAME_LEN);
		return HANAMI_OK;
	}
	if (own[0] != '\0')
		snprintf(buf, sizeof(buf), "%s.%s", m->name, own);
	else
		snprintf(buf, sizeof(buf), "%s.%d", m->name, k);
	if (strlen(buf) >= HANAMI_NAME_LEN)
	{
		HnSetError(err, HANAMI_E_INVALID_SPEC,
				   "The layers a network brings are named \"<layer>.<their name or index>\", at most 31 bytes.",
				   "layer name \"%s\" is too long", buf);
		return HnSetHint(err, "Give the layer that is a network a shorter name.");
	}
	memset(dst, 0, HANAMI_NAME_LEN);
	memcpy(dst, buf, strlen(buf));
	return HANAMI_OK;
}

/* Replace placeholder p (sources src, already renumbered) by m's layers,
 * appended to out at *n. */
static HnStatus
ExpandOne(GraphEmbed *m, const GraphLayer *p, const uint16_t *src, int n_src,
		  GraphLayer *out, int *n, HnError *err)
{
	int			last = m->n_layers - 1;
	uint64_t	width = 0;
	int			inputs = 0;
	HnStatus	st;

	if (InnerAct(m, last) == HANAMI_ACT_SOFTMAX && p->role != GRAPH_ROLE_OUTPUT)
	{
		HnSetError(err, HANAMI_E_INVALID_SPEC,
				   "Softmax belongs on output layers only; this network ends in one.",
				   "layer \"%s\" ends in softmax and is not an output", m->name);
		return HnSetHint(err, "Embed it as an output layer, or embed a network whose last layer has another activation (sigmoid, tanh, relu, identity).");
	}
	for (int k = 0; k < n_src; k++)
	{
		width += out[src[k]].count;
		inputs += out[src[k]].role == GRAPH_ROLE_INPUT;
	}
	if (width != InnerHeader(m)->n_inputs)
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "A layer that is a network reads as many values as the network has inputs.",
						  "layer \"%s\" reads %llu values but its network has %u inputs",
						  m->name, (unsigned long long) width,
						  InnerHeader(m)->n_inputs);
	if (inputs != 0 && inputs != n_src)
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "Its input scaling goes onto the input layers it reads, or into its weights when it reads hidden layers; not both.",
						  "layer \"%s\" reads both input and hidden layers", m->name);
	if (!InnerScalingKept(m))
		m->scaling = EMBED_SCALING_NONE;
	else
		m->scaling = inputs ? EMBED_SCALING_INPUTS : EMBED_SCALING_FOLD;
	m->first = *n;
	m->n_src = n_src;
	memcpy(m->src, src, sizeof(uint16_t) * n_src);
	for (int k = 1; k <= last; k++)
	{
		GraphLayer *ly = &out[*n];
		uint16_t	isrc[GRAPH_MAX_SOURCES];
		int			ni = InnerSources(m, k, isrc);

		if (*n >= HANAMI_MAX_LAYERS)
		{
			char		detail[HANAMI_ERRMSG_LEN];

			snprintf(detail, sizeof(detail),
					 "A network has at most %d layers, those of the networks it embeds included.",
					 HANAMI_MAX_LAYERS);
			return HnSetError(err, HANAMI_E_TOO_LARGE, detail, "too many layers");
		}
		memset(ly, 0, sizeof(*ly));
		if ((st = ExpandedName(m, k, ly->name, err)) != HANAMI_OK)
			return st;
		ly->count = InnerCount(m, k);
		ly->activation = (uint16_t) InnerAct(m, k);
		ly->role = k == last ? p->role : GRAPH_ROLE_HIDDEN;
		ly->loss = k == last ? p->loss : 0;
		ly->flags = p->flags & GRAPH_LAYER_FROZEN;
		ly->history = InnerHistory(m, k);
		for (int j = 0; j < ni; j++)
		{
			int			add = isrc[j] == 0 ? n_src : 1;

			if (ly->n_sources + add > GRAPH_MAX_SOURCES)
			{
				char		detail[HANAMI_ERRMSG_LEN];

				snprintf(detail, sizeof(detail),
						 "A layer reads 1 to %d earlier layers; where the network's layers read its input they read every layer \"%s\" reads.",
						 GRAPH_MAX_SOURCES, m->name);
				return HnSetError(err, HANAMI_E_INVALID_SPEC, detail,
								  "layer \"%s\" would read more than %d layers",
								  ly->name, GRAPH_MAX_SOURCES);
			}
			if (isrc[j] != 0)
				ly->sources[ly->n_sources++] = (uint16_t) (m->first + isrc[j] - 1);
			else
				for (int s = 0; s < n_src; s++)
					ly->sources[ly->n_sources++] = src[s];
		}
		(*n)++;
	}
	return HANAMI_OK;
}

/* Replace every placeholder by its network's layers; see graph.h. */
HnStatus
GraphEmbedExpand(GraphEmbeds *e, GraphSpec *spec, HnError *err)
{
	GraphLayer	old[HANAMI_MAX_LAYERS];
	uint16_t	map[HANAMI_MAX_LAYERS];
	int			n_old = spec->n_layers;
	int			n = 0;
	int			next = 0;
	HnStatus	st;

	memcpy(old, spec->layers, sizeof(GraphLayer) * (size_t) n_old);
	for (int l = 0; l < n_old; l++)
	{
		const GraphLayer *p = &old[l];
		uint16_t	src[GRAPH_MAX_SOURCES];

		/* resolved sources are earlier layers: already renumbered */
		for (int k = 0; k < p->n_sources; k++)
			src[k] = map[p->sources[k]];
		if (next < e->n && e->e[next].at == l)
		{
			if ((st = ExpandOne(&e->e[next++], p, src, p->n_sources,
								spec->layers, &n, err)) != HANAMI_OK)
				return st;
		}
		else
		{
			if (n >= HANAMI_MAX_LAYERS)
				return HnSetError(err, HANAMI_E_TOO_LARGE,
								  "A network has at most 64 layers, those of the networks it embeds included.",
								  "too many layers");
			spec->layers[n] = *p;
			memcpy(spec->layers[n].sources, src,
				   sizeof(uint16_t) * p->n_sources);
			n++;
		}
		map[l] = (uint16_t) (n - 1);
	}
	spec->n_layers = n;
	return HANAMI_OK;
}

/* The weights and biases of m's layers into the image. */
static void
CopyWeights(const GraphEmbed *m, GraphNet *net)
{
	const DenseNet *d = DenseOf(&m->net);
	const GraphNet *g = GraphOf(&m->net);

	for (int k = 1; k < m->n_layers; k++)
	{
		int			o = m->first + k - 1;
		size_t		in = (size_t) GraphFanIn(net->layers, o);
		size_t		out = net->layers[o].count;

		if (d != NULL)
		{
			const void *seg = DenseLayerStart(d, k);

			DenseLayerFloats(d, seg, in, out, GraphWeights(net, o));
			memcpy(GraphBias(net, o), DenseSegBias(DenseDtypeOf(d), seg, in, out),
				   out * sizeof(float));
		}
		else
			memcpy(GraphWeights(net, o), GraphWeights(g, k),
				   (in + 1) * out * sizeof(float));
	}
}

/*
 * The input scaling into the layers that read the network's input:
 * their rows of W for it times mul, and their biases less (shift * mul) W.
 */
static void
FoldInput(const GraphEmbed *m, GraphNet *net)
{
	const float *shift = InnerScaling(m, 0);
	const float *mul = InnerScaling(m, 1);
	uint32_t	n_in = InnerHeader(m)->n_inputs;

	for (int k = 1; k < m->n_layers; k++)
	{
		int			o = m->first + k - 1;
		size_t		c = net->layers[o].count;
		float	   *w = GraphWeights(net, o);
		float	   *b = GraphBias(net, o);
		uint16_t	isrc[GRAPH_MAX_SOURCES];
		int			ni = InnerSources(m, k, isrc);
		size_t		row = 0;

		for (int j = 0; j < ni; j++)
		{
			if (isrc[j] != 0)
			{
				row += InnerCount(m, isrc[j]);
				continue;
			}
			for (size_t u = 0; u < c; u++)
			{
				double		sum = 0.0;

				for (uint32_t i = 0; i < n_in; i++)
				{
					float	   *wi = &w[(row + i) * c + u];

					*wi *= mul[i];
					sum += (double) shift[i] * (double) *wi;
				}
				b[u] = (float) ((double) b[u] - sum);
			}
			row += n_in;
		}
	}
}

/* The output scaling into the last (identity) layer. */
static void
FoldOutput(const GraphEmbed *m, GraphNet *net)
{
	const float *shift = InnerScaling(m, 2);
	const float *mul = InnerScaling(m, 3);
	int			o = m->first + m->n_layers - 2;
	size_t		in = (size_t) GraphFanIn(net->layers, o);
	size_t		c = net->layers[o].count;
	float	   *w = GraphWeights(net, o);
	float	   *b = GraphBias(net, o);

	for (size_t i = 0; i < in; i++)
		for (size_t u = 0; u < c; u++)
			w[i * c + u] *= mul[u];
	for (size_t u = 0; u < c; u++)
		b[u] = b[u] * mul[u] + shift[u];
}

/* Offsets of the input layers among the network's inputs. */
static void
InputOffsets(const GraphNet *net, uint32_t *at)
{
	uint32_t	sum = 0;

	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
	{
		at[l] = sum;
		if (net->layers[l].role == GRAPH_ROLE_INPUT)
			sum += net->layers[l].count;
	}
}

/*
 * The network's input scaling onto the input layers it reads; fixed
 * (bit set) is what earlier networks fixed, which must be the same.
 */
static HnStatus
ScaleInputs(const GraphEmbed *m, GraphNet *net, const uint32_t *at,
			uint64_t *fixed, HnError *err)
{
	const float *shift = InnerScaling(m, 0);
	const float *mul = InnerScaling(m, 1);
	uint32_t	from = 0;

	for (int k = 0; k < m->n_src; k++)
	{
		int			s = m->src[k];
		GraphLayer *ly = &net->layers[s];
		size_t		bytes = ly->count * sizeof(float);

		if ((*fixed >> s) & 1)
		{
			if (memcmp(net->in_shift + at[s], shift + from, bytes) != 0 ||
				memcmp(net->in_mul + at[s], mul + from, bytes) != 0)
			{
				char		who[HANAMI_NAME_LEN + 16];

				GraphLabel(net->layers, s, who, sizeof(who));
				HnSetError(err, HANAMI_E_INVALID_SPEC,
						   "Networks that read an input layer give it their input scaling; these give different ones.",
						   "input %s is read by networks with different input scaling",
						   who);
				return HnSetHint(err, "Let one network read the input layer, or embed networks trained on the same scaling.");
			}
		}
		else
		{
			memcpy(net->in_shift + at[s], shift + from, bytes);
			memcpy(net->in_mul + at[s], mul + from, bytes);
			ly->flags |= GRAPH_LAYER_FIXED_SCALING;
			*fixed |= (uint64_t) 1 << s;
		}
		from += ly->count;
	}
	return HANAMI_OK;
}

/* Weights and scaling of the embedded networks into the image; see graph.h. */
HnStatus
GraphEmbedApply(const GraphEmbeds *e, GraphNet *net, HnError *err)
{
	uint32_t	at[HANAMI_MAX_LAYERS];
	uint64_t	fixed = 0;
	const char *clipped = NULL;
	const char *raw = NULL;
	HnStatus	st;

	InputOffsets(net, at);
	for (int i = 0; i < e->n; i++)
	{
		const GraphEmbed *m = &e->e[i];

		CopyWeights(m, net);
		if (m->scaling == EMBED_SCALING_FOLD)
			FoldInput(m, net);
		else if (m->scaling == EMBED_SCALING_INPUTS)
		{
			if ((st = ScaleInputs(m, net, at, &fixed, err)) != HANAMI_OK)
				return st;
			if (InnerClipped(m))
				clipped = m->name;
			else
				raw = m->name;
		}
		if (!InnerOutputIdentity(m))
			FoldOutput(m, net);
	}
	if (clipped != NULL && raw != NULL)
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "A graph clips all its scaled inputs or none.",
						  "the networks of layers \"%s\" and \"%s\" read input layers, one with clipped scaling and one without",
						  clipped, raw);
	if (raw != NULL && (net->hdr->flags & GRAPH_FLAG_SCALE_INPUT))
	{
		HnSetError(err, HANAMI_E_INVALID_SPEC,
				   "It computes on unclipped inputs; a graph that learns its input scaling clips every input.",
				   "the network of layer \"%s\" reads an input layer without clipping",
				   raw);
		return HnSetHint(err, "Give the graph \"input_scaling\": false, or embed a network whose input scaling was fitted.");
	}
	if (clipped == NULL)
		return HANAMI_OK;
	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
		if (net->layers[l].role == GRAPH_ROLE_INPUT && !((fixed >> l) & 1) &&
			!(net->hdr->flags & GRAPH_FLAG_SCALE_INPUT))
		{
			char		who[HANAMI_NAME_LEN + 16];

			GraphLabel(net->layers, (int) l, who, sizeof(who));
			HnSetError(err, HANAMI_E_INVALID_SPEC,
					   "The embedded network clips its scaled inputs, and a graph clips all its inputs or none: the raw values of this one would be clipped.",
					   "input %s has no scaling but would be clipped", who);
			return HnSetHint(err, "Leave \"input_scaling\" on (the default), so that the graph learns this input's scaling.");
		}
	net->hdr->flags |= GRAPH_FLAG_INPUT_CLIP;
	return HANAMI_OK;
}

/* A fit's learnt input scaling, except the fixed input layers'; see graph.h. */
void
GraphSetInputScaling(GraphNet *net, const float *shift, const float *mul)
{
	uint32_t	at = 0;

	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
	{
		const GraphLayer *ly = &net->layers[l];

		if (ly->role != GRAPH_ROLE_INPUT)
			continue;
		if (!(ly->flags & GRAPH_LAYER_FIXED_SCALING))
		{
			memcpy(net->in_shift + at, shift + at, ly->count * sizeof(float));
			memcpy(net->in_mul + at, mul + at, ly->count * sizeof(float));
		}
		at += ly->count;
	}
}
