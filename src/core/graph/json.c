/*
 * graph/json.c - the graph kind's JSON: reading a description (or a text
 * form with weights) into an image, writing the text form back, and the
 * info() summary with the graph's edges.
 *
 * A description is the dense kind's, with layer objects that may carry
 * "from" (the names, or indices, of earlier layers whose values the layer
 * reads, concatenated in that order; without it a layer reads the layer
 * before it), "input": true (an input layer: no weights; the first layer
 * always is one), "output": true (without any, the outputs are the layers
 * no other layer reads) and "loss" (an output layer's own; the top-level
 * "loss" is the default of every output).  The text form names every edge
 * and role explicitly and adds "trained" and "setup" as the dense kind's.
 *
 * A layer {"name": "enc", "net": {...}, "frozen": true} is a whole network
 * (embed.c): it reads as one layer and becomes that network's layers.  The
 * text form keeps "frozen" on the layers it froze and "fixed_scaling" on
 * the input layers whose scaling it brought.
 *
 * A layer that is not an input may say "history": N (graph.h); setup.data
 * then also holds its carried state, after the weights.
 */
#include "core/graph/graph.h"

#include <stdio.h>
#include <string.h>

#include "core/json.h"

static const char *const spec_keys[] = {
	"format", "kind", "layers", "activation", "loss", "input_scaling",
	"seed", "trained", "setup", NULL
};
static const char *const layer_keys[] = {
	"count", "activation", "name", "from", "input", "output", "loss", "net",
	"frozen", "fixed_scaling", "history", NULL
};
static const char *const setup_keys[] = {
	"input_fitted", "output_fitted", "input_clipped", "data", NULL
};

/* What a layer object said, before roles and defaults are resolved. */
typedef struct LayerIn
{
	const HnJson *from;
	bool		act_named;
	bool		input;
	bool		input_given;
	bool		output;
	int			loss;			/* HnLoss, 0: not given */
} LayerIn;

/* A built-in activation by name (graphs take no custom activations). */
static HnStatus
ReadActivation(const HnJson *v, const char *what, HnActivation *act,
			   HnError *err)
{
	const char *name;
	HnStatus	st;

	if (v->type == HN_JSON_OBJECT)
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "Graph networks use the built-in activations; custom activations are for dense networks.",
						  "%s cannot be a custom activation in a graph", what);
	if ((st = HnJsonString(v, what, &name, err)) != HANAMI_OK)
		return st;
	*act = ActFromName(name);
	if (*act != HANAMI_ACT_DEFAULT)
		return HANAMI_OK;
	HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
			   "unknown activation \"%s\"", name);
	return HnSetHint(err, "Valid activations are: identity, binary, tanh, isrlu, relu, elu, softclip, sin, sinc, gauss, sigmoid, softmax.");
}

/* A loss by name. */
static HnStatus
ReadLoss(const HnJson *v, const char *what, int *loss, HnError *err)
{
	const char *name;
	HnStatus	st;

	if ((st = HnJsonString(v, what, &name, err)) != HANAMI_OK)
		return st;
	*loss = (int) LossFromName(name);
	if (*loss != HANAMI_LOSS_DEFAULT)
		return HANAMI_OK;
	HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL, "unknown loss \"%s\"", name);
	return HnSetHint(err, "Valid losses are: mse, cross_entropy.");
}

/* A boolean member of a layer object that sets flag when true. */
static HnStatus
ReadLayerFlag(const HnJson *v, const char *key, uint32_t flag, GraphLayer *ly,
			  HnError *err)
{
	const HnJson *f = HnJsonGet(v, key);
	bool		b;
	HnStatus	st;

	if (f == NULL)
		return HANAMI_OK;
	if ((st = HnJsonBool(f, key, &b, err)) != HANAMI_OK)
		return st;
	if (b)
		ly->flags |= flag;
	return HANAMI_OK;
}

/* One element of "layers": a unit count or an object. */
static HnStatus
ReadLayer(const HnJson *v, int idx, GraphLayer *ly, LayerIn *li, HnError *err)
{
	char		what[64];
	const HnJson *f;
	HnActivation act;
	HnStatus	st;

	memset(ly, 0, sizeof(*ly));
	memset(li, 0, sizeof(*li));
	snprintf(what, sizeof(what), "unit count of layer %d", idx);
	if (v->type == HN_JSON_NUMBER)
		return HnJsonU32(v, what, 1, HANAMI_MAX_UNITS, &ly->count, err);
	if (v->type != HN_JSON_OBJECT)
		return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
						  "layer %d must be a unit count or an object", idx);
	if ((st = HnJsonCheckKeys(v, "layer key", layer_keys, err)) != HANAMI_OK)
		return st;
	if ((f = HnJsonGet(v, "count")) == NULL && HnJsonGet(v, "net") == NULL)
		return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
						  "layer %d has no \"count\"", idx);
	if (f != NULL &&
		(st = HnJsonU32(f, what, 1, HANAMI_MAX_UNITS, &ly->count, err)) != HANAMI_OK)
		return st;
	if ((st = ReadLayerFlag(v, "frozen", GRAPH_LAYER_FROZEN, ly, err)) != HANAMI_OK ||
		(st = ReadLayerFlag(v, "fixed_scaling", GRAPH_LAYER_FIXED_SCALING, ly,
							err)) != HANAMI_OK)
		return st;
	if ((f = HnJsonGet(v, "name")) != NULL &&
		(st = HnJsonName(f, "layer", ly->name, err)) != HANAMI_OK)
		return st;
	if ((f = HnJsonGet(v, "activation")) != NULL)
	{
		if ((st = ReadActivation(f, "activation", &act, err)) != HANAMI_OK)
			return st;
		ly->activation = (uint16_t) act;
		li->act_named = true;
	}
	if ((f = HnJsonGet(v, "input")) != NULL)
	{
		if ((st = HnJsonBool(f, "input", &li->input, err)) != HANAMI_OK)
			return st;
		li->input_given = true;
	}
	if ((f = HnJsonGet(v, "output")) != NULL &&
		(st = HnJsonBool(f, "output", &li->output, err)) != HANAMI_OK)
		return st;
	if ((f = HnJsonGet(v, "loss")) != NULL &&
		(st = ReadLoss(f, "loss", &li->loss, err)) != HANAMI_OK)
		return st;
	if ((f = HnJsonGet(v, "history")) != NULL &&
		(st = HnJsonU32(f, "history", 0, GRAPH_MAX_HISTORY, &ly->history,
						err)) != HANAMI_OK)
		return st;
	li->from = HnJsonGet(v, "from");
	return HANAMI_OK;
}

/* The index of the layer a "from" element names, as seen from layer l. */
static HnStatus
ReadSource(const GraphSpec *spec, int l, const HnJson *v, uint16_t *out,
		   HnError *err)
{
	char		who[HANAMI_NAME_LEN + 16];
	int			n = spec->n_layers;

	GraphLabel(spec->layers, l, who, sizeof(who));
	if (v->type == HN_JSON_NUMBER)
	{
		int64_t		i;
		HnStatus	st = HnJsonInt(v, "\"from\" index", 0, n - 1, &i, err);

		if (st != HANAMI_OK)
			return st;
		*out = (uint16_t) i;
		return HANAMI_OK;
	}
	if (v->type != HN_JSON_STRING)
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "\"from\" names earlier layers: a name, or a list of names.",
						  "\"from\" of %s must list layer names", who);
	for (int j = 0; j < n; j++)
		if (spec->layers[j].name[0] != '\0' &&
			strncmp(spec->layers[j].name, v->u.text, HANAMI_NAME_LEN) == 0)
		{
			*out = (uint16_t) j;
			return HANAMI_OK;
		}
	HnSetError(err, HANAMI_E_INVALID_SPEC, NULL,
			   "%s reads unknown layer \"%s\"", who, v->u.text);
	return HnSetHint(err, "Give the layers a layer reads a \"name\" and list those names in its \"from\".");
}

/* Resolve "from", roles, default activations and losses of every layer. */
static HnStatus
ResolveLayers(GraphSpec *spec, LayerIn *in, HnActivation hidden,
			  int top_loss, GraphEmbeds *embeds, HnError *err)
{
	int			n = spec->n_layers;
	bool		any_output = false;
	uint64_t	read = 0;
	char		who[HANAMI_NAME_LEN + 16];
	HnStatus	st;

	for (int l = 0; l < n; l++)
	{
		GraphLayer *ly = &spec->layers[l];
		const HnJson *f = in[l].from;

		GraphLabel(spec->layers, l, who, sizeof(who));
		if (l == 0 && in[l].input_given && !in[l].input)
			return HnSetError(err, HANAMI_E_INVALID_SPEC,
							  "The first layer of a graph is always an input.",
							  "%s must be an input", who);
		if (l == 0 || in[l].input)
		{
			ly->role = GRAPH_ROLE_INPUT;
			if (f != NULL)
				return HnSetError(err, HANAMI_E_INVALID_SPEC,
								  "An input layer holds a part of each row's features; it reads no layer.",
								  "input %s cannot have \"from\"", who);
			if (in[l].output)
				return HnSetError(err, HANAMI_E_INVALID_SPEC,
								  "An output layer computes from the layers it reads; an input reads none.",
								  "input %s cannot be an output", who);
			if (!in[l].act_named)
				ly->activation = HANAMI_ACT_IDENTITY;
			continue;
		}
		if (f == NULL)
			ly->sources[ly->n_sources++] = (uint16_t) (l - 1);
		else if (f->type == HN_JSON_ARRAY)
		{
			if (f->n < 1 || f->n > GRAPH_MAX_SOURCES)
			{
				char		detail[HANAMI_ERRMSG_LEN];

				snprintf(detail, sizeof(detail),
						 "A layer reads 1 to %d earlier layers.",
						 GRAPH_MAX_SOURCES);
				return HnSetError(err, HANAMI_E_INVALID_SPEC, detail,
								  "\"from\" of %s lists %zu layers", who, f->n);
			}
			for (size_t k = 0; k < f->n; k++)
				if ((st = ReadSource(spec, l, &f->u.items[k],
									 &ly->sources[ly->n_sources++],
									 err)) != HANAMI_OK)
					return st;
		}
		else if ((st = ReadSource(spec, l, f, &ly->sources[ly->n_sources++],
								  err)) != HANAMI_OK)
			return st;
		for (int k = 0; k < ly->n_sources; k++)
			if (ly->sources[k] < 64)
				read |= (uint64_t) 1 << ly->sources[k];
		if (in[l].output)
		{
			ly->role = GRAPH_ROLE_OUTPUT;
			any_output = true;
		}
	}
	/* no layer marked: the outputs are the layers no other layer reads */
	for (int l = 1; l < n && !any_output; l++)
		if (spec->layers[l].role != GRAPH_ROLE_INPUT && !((read >> l) & 1))
			spec->layers[l].role = GRAPH_ROLE_OUTPUT;
	for (int l = 1; l < n; l++)
	{
		GraphLayer *ly = &spec->layers[l];

		if (ly->role == GRAPH_ROLE_INPUT)
			continue;
		if (!in[l].act_named)
			ly->activation = (uint16_t) (ly->role != GRAPH_ROLE_OUTPUT ?
										 hidden :
										 ly->count >= 2 ? HANAMI_ACT_SOFTMAX :
										 HANAMI_ACT_IDENTITY);
		if (in[l].loss != 0 && ly->role != GRAPH_ROLE_OUTPUT)
		{
			GraphLabel(spec->layers, l, who, sizeof(who));
			return HnSetError(err, HANAMI_E_INVALID_SPEC,
							  "Losses belong to output layers; another layer reads this one.",
							  "%s is not an output and cannot have a loss", who);
		}
		if (ly->role != GRAPH_ROLE_OUTPUT)
			continue;
		ly->loss = (uint16_t) (in[l].loss ? in[l].loss : top_loss);
		if (ly->loss == HANAMI_LOSS_DEFAULT)
			ly->loss = (ly->activation == HANAMI_ACT_SOFTMAX ||
						ly->activation == HANAMI_ACT_SIGMOID) ?
				HANAMI_LOSS_CROSS_ENTROPY : HANAMI_LOSS_MSE;
	}
	/* the layers that are networks become their layers */
	if (GraphEmbedsCount(embeds) > 0 &&
		(st = GraphEmbedExpand(embeds, spec, err)) != HANAMI_OK)
		return st;
	return GraphCheckLayers(spec->layers, spec->n_layers, false,
							HANAMI_E_INVALID_SPEC, err);
}

/* Fill spec from a description; *setup and *trained: those members. */
static HnStatus
ReadSpec(const HnJson *root, GraphSpec *spec, GraphEmbeds *embeds,
		 const HnJson **setup, const HnJson **trained, HnError *err)
{
	LayerIn		in[HANAMI_MAX_LAYERS];
	HnActivation hidden = HANAMI_ACT_RELU;
	int			top_loss = 0;
	const HnJson *v;
	HnStatus	st;

	memset(spec, 0, sizeof(*spec));
	spec->input_scaling = true;
	if ((st = HnJsonCheckKeys(root, "network key", spec_keys, err)) != HANAMI_OK ||
		(st = NetJsonCheckFormat(root, err)) != HANAMI_OK)
		return st;
	if ((v = HnJsonGet(root, "activation")) != NULL &&
		(st = ReadActivation(v, "activation", &hidden, err)) != HANAMI_OK)
		return st;
	if ((v = HnJsonGet(root, "loss")) != NULL &&
		(st = ReadLoss(v, "loss", &top_loss, err)) != HANAMI_OK)
		return st;
	if ((v = HnJsonGet(root, "layers")) == NULL)
	{
		HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
				   "network has no \"layers\"");
		return HnSetHint(err, "For example {\"kind\": \"graph\", \"layers\": [{\"count\": 4, \"name\": \"in\"}, {\"count\": 8, \"name\": \"h\"}, {\"count\": 3, \"from\": [\"in\", \"h\"]}]}.");
	}
	if ((st = HnJsonArray(v, "\"layers\"", err)) != HANAMI_OK)
		return st;
	if (v->n > HANAMI_MAX_LAYERS)
	{
		char		detail[HANAMI_ERRMSG_LEN];

		snprintf(detail, sizeof(detail), "A network has at most %d layers.",
				 HANAMI_MAX_LAYERS);
		return HnSetError(err, HANAMI_E_TOO_LARGE, detail, "too many layers");
	}
	spec->n_layers = (int) v->n;
	for (size_t i = 0; i < v->n; i++)
	{
		const HnJson *ly = &v->u.items[i];

		if ((st = ReadLayer(ly, (int) i, &spec->layers[i], &in[i],
							err)) != HANAMI_OK)
			return st;
		/* a network: one layer of its output count until expanded */
		if (ly->type == HN_JSON_OBJECT && HnJsonGet(ly, "net") != NULL)
		{
			if ((st = GraphEmbedRead(embeds, ly, (int) i, &spec->layers[i],
									 err)) != HANAMI_OK)
				return st;
			in[i].act_named = true;
		}
	}
	if (spec->n_layers < 2)
		return GraphCheckLayers(spec->layers, spec->n_layers, false,
								HANAMI_E_INVALID_SPEC, err);
	if ((st = ResolveLayers(spec, in, hidden, top_loss, embeds, err)) != HANAMI_OK)
		return st;
	if ((v = HnJsonGet(root, "input_scaling")) != NULL &&
		(st = HnJsonBool(v, "input_scaling", &spec->input_scaling, err)) != HANAMI_OK)
		return st;
	if ((v = HnJsonGet(root, "seed")) != NULL &&
		(st = HnJsonU32(v, "seed", 0, UINT32_MAX, &spec->seed, err)) != HANAMI_OK)
		return st;
	*setup = HnJsonGet(root, "setup");
	*trained = HnJsonGet(root, "trained");
	if (*setup != NULL && GraphEmbedsCount(embeds) > 0)
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "The weights of a layer that is a network come with that network; \"setup\" belongs to a text form, which has no such layer.",
						  "a description with a \"net\" layer cannot have \"setup\"");
	return HANAMI_OK;
}

/* "trained" and "setup" (scaling and weights) onto a fresh image. */
static HnStatus
ApplySetup(GraphNet *net, const HnJson *setup, const HnJson *trained,
		   HnError *err)
{
	const HnJson *v;
	HnStatus	st;

	if (trained &&
		(st = NetJsonReadTrained(trained, net->hdr, err)) != HANAMI_OK)
		return st;
	if (setup)
	{
		char	   *to = (char *) net->in_shift;
		const char *data;
		size_t		want = net->hdr->total_size - (size_t) (to - (char *) net->hdr);
		size_t		about;

		if ((st = HnJsonObject(setup, "\"setup\"", err)) != HANAMI_OK ||
			(st = HnJsonCheckKeys(setup, "\"setup\" key", setup_keys, err)) != HANAMI_OK ||
			(st = NetJsonReadFlag(setup, "input_fitted", GRAPH_FLAG_INPUT_FITTED,
								   net->hdr, err)) != HANAMI_OK ||
			(st = NetJsonReadFlag(setup, "output_fitted", GRAPH_FLAG_OUTPUT_FITTED,
								   net->hdr, err)) != HANAMI_OK ||
			(st = NetJsonReadFlag(setup, "input_clipped", GRAPH_FLAG_INPUT_CLIP,
								   net->hdr, err)) != HANAMI_OK)
			return st;
		if ((v = HnJsonGet(setup, "data")) == NULL)
			return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
							  "\"setup\" has no \"data\"");
		if ((st = HnJsonString(v, "setup.data", &data, err)) != HANAMI_OK)
			return st;
		about = HnBase64DecodedLen(v->n);
		if (about < want || about > want + 3)
		{
			char		detail[HANAMI_ERRMSG_LEN];

			snprintf(detail, sizeof(detail),
					 "The layers need %zu bytes of scaling and weights; setup.data holds about %zu.",
					 want, about);
			return HnSetError(err, HANAMI_E_MALFORMED_SPEC, detail,
							  "setup.data does not match the layers");
		}
		if (HnBase64Decode(data, v->n, to, want) != (int64_t) want)
			return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
							  "setup.data is not valid base64 of %zu bytes", want);
	}
	return HANAMI_OK;
}

/* The kind's from_json. */
HnStatus
GraphFromJson(const HnJson *root, const HnJsonIn *in,
			  const HnAllocator *alloc, void **image, size_t *len,
			  HnError *err)
{
	GraphSpec  *spec;
	GraphEmbeds *embeds;
	const HnJson *setup = NULL;
	const HnJson *trained = NULL;
	size_t		size = 0;
	GraphNet	net;
	HnStatus	st;

	*image = NULL;
	*len = 0;
	spec = HnAlloc(alloc, sizeof(GraphSpec));
	if (spec == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory");
	if ((embeds = GraphEmbedsCreate(alloc, err)) == NULL)
	{
		HnFree(alloc, spec);
		return err ? err->code : HANAMI_E_NOMEM;
	}
	st = ReadSpec(root, spec, embeds, &setup, &trained, err);
	if (st == HANAMI_OK && in->has_seed)
		spec->seed = in->seed;
	if (st == HANAMI_OK &&
		(size = GraphImageSize(spec->layers, spec->n_layers, err)) == 0)
		st = err ? err->code : HANAMI_E_TOO_LARGE;
	if (st == HANAMI_OK && (*image = HnAlloc(alloc, size)) == NULL)
		st = HnSetError(err, HANAMI_E_NOMEM, NULL,
						"out of memory for a network of %zu bytes", size);
	/* a text form's data replaces every weight: none are drawn for it */
	if (st == HANAMI_OK)
		st = GraphCreate(*image, size, spec, setup != NULL, err);
	if (st == HANAMI_OK)
	{
		GraphBindTrusted(&net, *image);
		st = ApplySetup(&net, setup, trained, err);
	}
	if (st == HANAMI_OK && GraphEmbedsCount(embeds) > 0)
		st = GraphEmbedApply(embeds, &net, err);
	GraphEmbedsFree(embeds);
	HnFree(alloc, spec);
	if (st != HANAMI_OK)
	{
		HnFree(alloc, *image);
		*image = NULL;
		return st;
	}
	*len = size;
	return HANAMI_OK;
}

/* A layer as JSON: its name, or its index when it has none. */
static void
AppendRef(HnBuf *buf, const GraphNet *net, int l)
{
	if (net->layers[l].name[0] != '\0')
		HnBufJsonString(buf, net->layers[l].name);
	else
		HnBufPrintf(buf, "%d", l);
}

static const char *
RoleName(int role)
{
	return role == GRAPH_ROLE_INPUT ? "input" :
		role == GRAPH_ROLE_OUTPUT ? "output" : "hidden";
}

/* The layer list; info adds each layer's role and parameters. */
static void
AppendLayers(HnBuf *buf, const GraphNet *net, bool info)
{
	HnBufAppendChar(buf, '[');
	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
	{
		const GraphLayer *ly = &net->layers[l];

		HnBufPrintf(buf, "%s{", l ? ", " : "");
		if (info || ly->name[0] != '\0')
		{
			HnBufAppend(buf, "\"name\": ");
			AppendRef(buf, net, (int) l);
			HnBufAppend(buf, ", ");
		}
		HnBufPrintf(buf, "\"count\": %u, \"activation\": ", ly->count);
		HnBufJsonString(buf, ActName((HnActivation) ly->activation));
		if (info)
			HnBufPrintf(buf, ", \"role\": \"%s\"", RoleName(ly->role));
		else if (ly->role == GRAPH_ROLE_INPUT)
			HnBufAppend(buf, ", \"input\": true");
		if (ly->role != GRAPH_ROLE_INPUT)
		{
			HnBufAppend(buf, ", \"from\": [");
			for (int k = 0; k < ly->n_sources; k++)
			{
				if (k)
					HnBufAppend(buf, ", ");
				AppendRef(buf, net, ly->sources[k]);
			}
			HnBufAppendChar(buf, ']');
		}
		if (ly->history != 0)
			HnBufPrintf(buf, ", \"history\": %u", ly->history);
		if (ly->role == GRAPH_ROLE_OUTPUT)
		{
			if (!info)
				HnBufAppend(buf, ", \"output\": true");
			HnBufAppend(buf, ", \"loss\": ");
			HnBufJsonString(buf, LossName((HnLoss) ly->loss));
		}
		if (ly->flags & GRAPH_LAYER_FROZEN)
			HnBufAppend(buf, ", \"frozen\": true");
		if (ly->flags & GRAPH_LAYER_FIXED_SCALING)
			HnBufAppend(buf, ", \"fixed_scaling\": true");
		if (info)
			HnBufPrintf(buf, ", \"parameters\": %llu",
						ly->role == GRAPH_ROLE_INPUT ? 0ULL :
						(unsigned long long) ((GraphFanIn(net->layers, (int) l) + 1) *
											  ly->count));
		HnBufAppendChar(buf, '}');
	}
	HnBufAppendChar(buf, ']');
}

static const char *
Bool(bool b)
{
	return b ? "true" : "false";
}

/* The kind's to_json: the text form, floats as base64. */
HnStatus
GraphToJson(const HnNet *any, HnBuf *buf, HnError *err)
{
	const GraphNet *net = GraphOf(any);
	const HnHeader *h = net->hdr;
	const char *from = (const char *) net->in_shift;
	size_t		nbytes = h->total_size - (size_t) (from - (const char *) h);

	if (nbytes > HN_TEXT_MAX / 4 * 3 - 1024)
	{
		HnSetError(err, HANAMI_E_TOO_LARGE, NULL,
				   "network is too large for its text form");
		return HnSetHint(err, "Use the binary form (COPY ... WITH (FORMAT binary)) or a cast to bytea.");
	}
	HnBufReserve(buf, HnBase64EncodedLen(nbytes) + 512 +
				 (160 + 40 * GRAPH_MAX_SOURCES) * (size_t) h->n_layers);
	HnBufPrintf(buf, "{\"format\": %d, \"kind\": \"graph\", \"layers\": ",
				HANAMI_FORMAT_VERSION);
	AppendLayers(buf, net, false);
	HnBufPrintf(buf, ", \"input_scaling\": %s, \"seed\": %u, "
				"\"trained\": {\"epochs\": %u, \"samples\": %llu}, "
				"\"setup\": {\"input_fitted\": %s, \"output_fitted\": %s",
				Bool(h->flags & GRAPH_FLAG_SCALE_INPUT), h->seed, h->epochs,
				(unsigned long long) h->samples,
				Bool(h->flags & GRAPH_FLAG_INPUT_FITTED),
				Bool(h->flags & GRAPH_FLAG_OUTPUT_FITTED));
	if (h->flags & GRAPH_FLAG_INPUT_CLIP)
		HnBufAppend(buf, ", \"input_clipped\": true");
	HnBufAppend(buf, ", \"data\": \"");
	HnBufBase64(buf, from, nbytes);
	HnBufAppend(buf, "\"}}");
	return HnBufCheck(buf, err);
}

/* A list of the layers of one role. */
static void
AppendRole(HnBuf *buf, const GraphNet *net, int role)
{
	bool		first = true;

	HnBufAppendChar(buf, '[');
	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
		if (net->layers[l].role == role)
		{
			if (!first)
				HnBufAppend(buf, ", ");
			AppendRef(buf, net, (int) l);
			first = false;
		}
	HnBufAppendChar(buf, ']');
}

/* The kind's info: layers, edges, inputs and outputs, sizes, counters. */
HnStatus
GraphInfoJson(const HnNet *any, HnBuf *buf, HnError *err)
{
	const GraphNet *net = GraphOf(any);
	const HnHeader *h = net->hdr;
	const char *scaling;
	bool		first = true;

	if (!(h->flags & GRAPH_FLAG_SCALE_INPUT))
		scaling = "off";
	else if (h->flags & GRAPH_FLAG_INPUT_FITTED)
		scaling = "fitted";
	else
		scaling = "on first fit";
	HnBufPrintf(buf, "{\"kind\": \"graph\", \"format\": %d, \"inputs\": %u, "
				"\"outputs\": %u, \"layers\": ",
				(int) h->version, h->n_inputs, h->n_outputs);
	AppendLayers(buf, net, true);
	HnBufAppend(buf, ", \"edges\": [");
	for (uint32_t l = 0; l < h->n_layers; l++)
		for (int k = 0; k < net->layers[l].n_sources; k++)
		{
			HnBufAppend(buf, first ? "[" : ", [");
			AppendRef(buf, net, net->layers[l].sources[k]);
			HnBufAppend(buf, ", ");
			AppendRef(buf, net, (int) l);
			HnBufAppendChar(buf, ']');
			first = false;
		}
	HnBufAppend(buf, "], \"input_layers\": ");
	AppendRole(buf, net, GRAPH_ROLE_INPUT);
	HnBufAppend(buf, ", \"output_layers\": ");
	AppendRole(buf, net, GRAPH_ROLE_OUTPUT);
	HnBufPrintf(buf, ", \"parameters\": %llu, \"bytes\": %llu, "
				"\"input_scaling\": \"%s\", \"output_scaling\": %s, "
				"\"seed\": %u, \"trained\": {\"epochs\": %u, \"samples\": %llu}}",
				(unsigned long long) h->n_params,
				(unsigned long long) h->total_size + HN_VALUE_HEADER,
				scaling, Bool(h->flags & GRAPH_FLAG_OUTPUT_FITTED), h->seed,
				h->epochs, (unsigned long long) h->samples);
	return HnBufCheck(buf, err);
}
