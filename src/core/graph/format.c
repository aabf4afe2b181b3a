/*
 * graph/format.c - the binary image of a graph (graph.h): the checks of its
 * layer records, shared by descriptions and images, sizing and writing a
 * fresh image, and the strict bind of an image that comes from outside.
 */
#include "core/graph/graph.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/rng.h"

_Static_assert(sizeof(GraphLayer) == 80, "GraphLayer must be 80 bytes");
_Static_assert(HANAMI_MAX_LAYERS <= 64, "train masks have 64 bits");

/* Byte offsets of the scaling and parameter areas. */
static size_t
GraphScalingOffset(uint32_t n_layers)
{
	return sizeof(HnHeader) + (size_t) n_layers * sizeof(GraphLayer);
}

static size_t
GraphParamsOffset(uint32_t n_layers, uint32_t n_in, uint32_t n_out)
{
	return GraphScalingOffset(n_layers) +
		2 * sizeof(float) * ((size_t) n_in + (size_t) n_out);
}

/* Units of a layer's sources. */
uint64_t
GraphSourceUnits(const GraphLayer *layers, int l)
{
	uint64_t	n = 0;

	for (int k = 0; k < layers[l].n_sources && k < GRAPH_MAX_SOURCES; k++)
		n += layers[layers[l].sources[k]].count;
	return n;
}

/* Units a layer reads: its sources', then its own earlier rows. */
uint64_t
GraphFanIn(const GraphLayer *layers, int l)
{
	return GraphSourceUnits(layers, l) +
		(uint64_t) layers[l].history * layers[l].count;
}

/* Floats of the state area. */
uint64_t
GraphStateFloats(const GraphLayer *layers, int n)
{
	uint64_t	floats = 0;

	for (int l = 0; l < n; l++)
		floats += (uint64_t) layers[l].history * layers[l].count;
	return floats;
}

/* "layer "name"" or "layer N". */
void
GraphLabel(const GraphLayer *layers, int l, char *buf, size_t len)
{
	if (memchr(layers[l].name, '\0', HANAMI_NAME_LEN) != NULL &&
		layers[l].name[0] != '\0')
		snprintf(buf, len, "layer \"%s\"", layers[l].name);
	else
		snprintf(buf, len, "layer %d", l);
}

/* The index of the layer named name, or -1. */
int
GraphFind(const GraphNet *net, const char *name)
{
	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
		if (net->layers[l].name[0] != '\0' &&
			strncmp(net->layers[l].name, name, HANAMI_NAME_LEN) == 0)
			return (int) l;
	return -1;
}

/* A name: NUL-terminated, printable ASCII, NUL-padded in an image. */
static HnStatus
GraphCheckName(const GraphLayer *ly, int l, bool padded, HnStatus code,
			   HnError *err)
{
	const char *nul = memchr(ly->name, '\0', HANAMI_NAME_LEN);

	if (nul == NULL)
		return HnSetError(err, code,
						  "A layer name has at most 31 bytes and ends with a NUL byte.",
						  "name of layer %d is too long", l);
	for (const char *p = ly->name; p < nul; p++)
		if (*p < 0x20 || *p > 0x7e)
			return HnSetError(err, code,
							  "Layer names may contain printable ASCII characters only.",
							  "name of layer %d contains a non-printable character",
							  l);
	for (const char *p = nul; padded && p < ly->name + HANAMI_NAME_LEN; p++)
		if (*p != '\0')
			return HnSetError(err, code,
							  "The bytes after a layer name must be zero.",
							  "name of layer %d is not zero-padded", l);
	return HANAMI_OK;
}

/* The checks of one input layer. */
static HnStatus
GraphCheckInput(const GraphLayer *ly, const char *who, HnStatus code,
				HnError *err)
{
	if (ly->activation != HANAMI_ACT_IDENTITY)
		return HnSetError(err, code,
						  "An input layer passes its values on unchanged; activations belong to the layers that read it.",
						  "input %s cannot have activation \"%s\"", who,
						  ActName((HnActivation) ly->activation) ?
						  ActName((HnActivation) ly->activation) : "?");
	if (ly->n_sources != 0)
		return HnSetError(err, code,
						  "An input layer holds a part of each row's features; it reads no layer.",
						  "input %s cannot read other layers", who);
	if (ly->loss != 0)
		return HnSetError(err, code,
						  "Losses belong to output layers, which have weights; an input layer has none.",
						  "input %s cannot have a loss", who);
	if (ly->flags & GRAPH_LAYER_FROZEN)
		return HnSetError(err, code,
						  "An input layer has no weights to freeze.",
						  "input %s cannot be frozen", who);
	return HANAMI_OK;
}

/* The checks of one layer that is not an input: sources and activation. */
static HnStatus
GraphCheckComputed(const GraphLayer *layers, int n, int l, const char *who,
				   HnStatus code, HnError *err)
{
	const GraphLayer *ly = &layers[l];
	char		src[HANAMI_NAME_LEN + 16];
	char		detail[HANAMI_ERRMSG_LEN];

	if (ly->n_sources < 1 || ly->n_sources > GRAPH_MAX_SOURCES)
	{
		snprintf(detail, sizeof(detail),
				 "A layer reads 1 to %d earlier layers.", GRAPH_MAX_SOURCES);
		return HnSetError(err, code, detail,
						  "%s reads %u layers", who, (unsigned) ly->n_sources);
	}
	for (int k = 0; k < ly->n_sources; k++)
	{
		int			s = ly->sources[k];

		if (s == l)
			return HnSetError(err, code,
							  "A layer reads only layers declared before it, so the graph has no cycle.",
							  "%s reads itself", who);
		if (s >= n)
			return HnSetError(err, code, NULL,
							  "%s reads layer %d, which does not exist", who, s);
		if (s > l)
		{
			GraphLabel(layers, s, src, sizeof(src));
			return HnSetError(err, code,
							  "A layer reads only layers declared before it, so the graph has no cycle; move the layer it reads up the list.",
							  "%s reads %s, which comes after it", who, src);
		}
		for (int j = 0; j < k; j++)
			if (ly->sources[j] == s)
			{
				GraphLabel(layers, s, src, sizeof(src));
				return HnSetError(err, code,
								  "Each layer a layer reads is named once in its \"from\".",
								  "%s reads %s twice", who, src);
			}
	}
	if (ly->flags & GRAPH_LAYER_FIXED_SCALING)
		return HnSetError(err, code,
						  "Only input layers are scaled.",
						  "%s is not an input and cannot have fixed scaling",
						  who);
	if (!ActIsValid(ly->activation) || ly->activation == HANAMI_ACT_CUSTOM)
		return HnSetError(err, code,
						  ly->activation == HANAMI_ACT_CUSTOM ?
						  "Graph networks use the built-in activations." : NULL,
						  "%s has an invalid activation (%u)", who,
						  (unsigned) ly->activation);
	if (ly->activation == HANAMI_ACT_SOFTMAX && ly->role != GRAPH_ROLE_OUTPUT)
		return HnSetError(err, code,
						  "Softmax belongs on output layers only.",
						  "%s cannot have activation \"softmax\"", who);
	if (ly->activation == HANAMI_ACT_SOFTMAX && ly->count < 2)
		return HnSetError(err, code,
						  "A softmax over a single unit is always 1; use sigmoid for a single output.",
						  "softmax %s needs at least 2 units", who);
	if (ly->role != GRAPH_ROLE_OUTPUT && ly->loss != 0)
		return HnSetError(err, code,
						  "Losses belong to output layers.",
						  "%s is not an output and cannot have a loss", who);
	if (ly->role == GRAPH_ROLE_OUTPUT)
	{
		if (!LossIsValid(ly->loss))
			return HnSetError(err, code, NULL,
							  "output %s has an invalid loss (%u)", who,
							  (unsigned) ly->loss);
		if (ly->loss == HANAMI_LOSS_CROSS_ENTROPY &&
			ly->activation != HANAMI_ACT_SOFTMAX &&
			ly->activation != HANAMI_ACT_SIGMOID)
		{
			snprintf(detail, sizeof(detail),
					 "The layer has activation \"%s\"; cross_entropy needs softmax or sigmoid.",
					 ActName((HnActivation) ly->activation));
			return HnSetError(err, code, detail,
							  "loss \"cross_entropy\" does not fit output %s",
							  who);
		}
	}
	return HANAMI_OK;
}

/* Check the layer records; see graph.h. */
HnStatus
GraphCheckLayers(const GraphLayer *layers, int n, bool image, HnStatus code,
				 HnError *err)
{
	uint64_t	read = 0;		/* bit l: some layer reads layer l */
	int			outputs = 0;
	uint64_t	offset = 0;
	char		who[HANAMI_NAME_LEN + 16];
	char		detail[HANAMI_ERRMSG_LEN];
	HnStatus	st;

	if (n < 2 || n > HANAMI_MAX_LAYERS)
	{
		snprintf(detail, sizeof(detail),
				 "A graph has between 2 and %d layers, the inputs included.",
				 HANAMI_MAX_LAYERS);
		return HnSetError(err, code, detail, "graph has %d layers", n);
	}
	for (int l = 0; l < n; l++)
	{
		const GraphLayer *ly = &layers[l];

		if ((st = GraphCheckName(ly, l, image, code, err)) != HANAMI_OK)
			return st;
		GraphLabel(layers, l, who, sizeof(who));
		if (ly->count == 0 || ly->count > HANAMI_MAX_UNITS)
		{
			snprintf(detail, sizeof(detail),
					 "A layer has 1 to %d units.", HANAMI_MAX_UNITS);
			return HnSetError(err, code, detail,
							  "%s has %" PRIu32 " units", who, ly->count);
		}
		if ((ly->flags & ~(uint32_t) GRAPH_LAYER_ALL) != 0 || ly->reserved != 0)
			return HnSetError(err, code,
							  "Reserved fields must be zero in this format version.",
							  "%s has a nonzero reserved field", who);
		if (ly->history > GRAPH_MAX_HISTORY)
		{
			snprintf(detail, sizeof(detail),
					 "A layer keeps 0 to %d earlier rows of its values.",
					 GRAPH_MAX_HISTORY);
			return HnSetError(err, code, detail,
							  "%s has a history of %" PRIu32 " rows", who,
							  ly->history);
		}
		if (ly->history != 0 && ly->role == GRAPH_ROLE_INPUT)
			return HnSetError(err, code,
							  "A history feeds a layer's own earlier values back into its weights; an input layer has none.",
							  "input %s cannot have a history", who);
		if (ly->role > GRAPH_ROLE_OUTPUT)
			return HnSetError(err, code, NULL,
							  "%s has an invalid role (%u)", who,
							  (unsigned) ly->role);
		if (l == 0 && ly->role != GRAPH_ROLE_INPUT)
			return HnSetError(err, code,
							  "The first layer of a graph is always an input.",
							  "%s must be an input", who);
		for (int k = ly->n_sources; k < GRAPH_MAX_SOURCES; k++)
			if (ly->sources[k] != 0)
				return HnSetError(err, code,
								  "Unused source slots must be zero.",
								  "%s has a nonzero unused source slot", who);
		if (ly->role == GRAPH_ROLE_INPUT)
			st = GraphCheckInput(ly, who, code, err);
		else
			st = GraphCheckComputed(layers, n, l, who, code, err);
		if (st != HANAMI_OK)
			return st;
		for (int k = 0; k < ly->n_sources; k++)
			read |= (uint64_t) 1 << ly->sources[k];
		if (ly->role == GRAPH_ROLE_OUTPUT)
			outputs++;
		for (int j = 0; j < l && ly->name[0] != '\0'; j++)
			if (strncmp(layers[j].name, ly->name, HANAMI_NAME_LEN) == 0)
			{
				snprintf(detail, sizeof(detail),
						 "Layers %d and %d have the same name; names must be unique.",
						 j, l);
				return HnSetError(err, code, detail,
								  "layer name \"%s\" is used twice", ly->name);
			}
		if (image && ly->param_offset != (ly->role == GRAPH_ROLE_INPUT ? 0 :
										   offset))
		{
			snprintf(detail, sizeof(detail),
					 "Layer %d must start at parameter %" PRIu64 ".", l,
					 ly->role == GRAPH_ROLE_INPUT ? 0 : offset);
			return HnSetError(err, code, detail,
							  "network value has an invalid parameter layout");
		}
		/*
		 * counts <= 2^20, fan-in <= 2^23 + 64 * 2^20 < 2^27, 64 layers: no
		 * overflow
		 */
		if (ly->role != GRAPH_ROLE_INPUT)
			offset += (GraphFanIn(layers, l) + 1) * ly->count;
	}
	if (outputs == 0)
		return HnSetError(err, code,
						  "Mark output layers with \"output\": true, or leave a layer that no other layer reads.",
						  "graph has no output layer");
	for (int l = 0; l < n; l++)
	{
		if ((read >> l) & 1 || layers[l].role == GRAPH_ROLE_OUTPUT)
			continue;
		GraphLabel(layers, l, who, sizeof(who));
		if (layers[l].role == GRAPH_ROLE_INPUT)
			return HnSetError(err, code,
							  "Every input layer's values go somewhere: name it in the \"from\" of a layer.",
							  "input %s is read by no layer", who);
		return HnSetError(err, code,
						  "A layer that is not an output must be read by a later layer.",
						  "%s is read by no layer and is not an output", who);
	}
	return HANAMI_OK;
}

/* Units of the input and output layers, and the parameter count. */
static void
GraphSums(const GraphLayer *layers, int n, uint64_t *n_in, uint64_t *n_out,
		  uint64_t *n_params)
{
	*n_in = *n_out = *n_params = 0;
	for (int l = 0; l < n; l++)
	{
		if (layers[l].role == GRAPH_ROLE_INPUT)
			*n_in += layers[l].count;
		else
			*n_params += (GraphFanIn(layers, l) + 1) * layers[l].count;
		if (layers[l].role == GRAPH_ROLE_OUTPUT)
			*n_out += layers[l].count;
	}
}

/* Image bytes of checked records; 0 with err when too large. */
size_t
GraphImageSize(const GraphLayer *layers, int n, HnError *err)
{
	uint64_t	n_in;
	uint64_t	n_out;
	uint64_t	n_params;
	size_t		bytes;
	char		detail[HANAMI_ERRMSG_LEN];

	GraphSums(layers, n, &n_in, &n_out, &n_params);
	/* n_in, n_out <= 2^26; n_params < 2^54; the state < 2^33 */
	n_params += GraphStateFloats(layers, n);
	if (n_params <= HANAMI_MAX_BYTES / sizeof(float) &&
		HnMulSize((size_t) n_params, sizeof(float), &bytes) &&
		HnAddSize(bytes, GraphParamsOffset((uint32_t) n, (uint32_t) n_in,
										   (uint32_t) n_out), &bytes) &&
		bytes <= HANAMI_MAX_BYTES)
		return bytes;
	snprintf(detail, sizeof(detail),
			 "A network value holds at most %zu bytes; this one would need more.",
			 (size_t) HANAMI_MAX_BYTES);
	HnSetError(err, HANAMI_E_TOO_LARGE, detail, "network is too large");
	return 0;
}

/* Bind without checks. */
void
GraphBindTrusted(GraphNet *net, void *buf)
{
	char	   *base = buf;
	HnHeader   *hdr = buf;
	float	   *scaling = (float *) (base + GraphScalingOffset(hdr->n_layers));

	net->hdr = hdr;
	net->layers = (GraphLayer *) (base + sizeof(HnHeader));
	net->in_shift = scaling;
	net->in_mul = scaling + hdr->n_inputs;
	net->out_shift = scaling + 2 * (size_t) hdr->n_inputs;
	net->out_mul = net->out_shift + hdr->n_outputs;
	net->params = (float *) (base + GraphParamsOffset(hdr->n_layers,
													  hdr->n_inputs,
													  hdr->n_outputs));
}

/* Write the image of a checked spec; see graph.h. */
HnStatus
GraphCreate(void *buf, size_t len, const GraphSpec *spec, bool zero,
			HnError *err)
{
	HnHeader   *hdr = buf;
	GraphNet	net;
	int			n = spec->n_layers;
	uint64_t	n_in;
	uint64_t	n_out;
	uint64_t	n_params;
	uint64_t	offset = 0;
	size_t		size = GraphImageSize(spec->layers, n, err);
	HnRng		rng;

	if (size == 0)
		return err ? err->code : HANAMI_E_TOO_LARGE;
	if (len != size)
		return HnSetError(err, HANAMI_E_INTERNAL, NULL,
						  "network buffer has %zu bytes instead of %zu",
						  len, size);
	GraphSums(spec->layers, n, &n_in, &n_out, &n_params);
	memset(buf, 0, len);
	hdr->magic = HANAMI_MAGIC;
	hdr->version = HANAMI_FORMAT_VERSION;
	hdr->kind = HANAMI_KIND_GRAPH;
	hdr->header_size = sizeof(HnHeader);
	hdr->flags = spec->input_scaling ? GRAPH_FLAG_SCALE_INPUT : 0;
	hdr->total_size = len;
	hdr->n_layers = (uint32_t) n;
	hdr->n_inputs = (uint32_t) n_in;
	hdr->n_outputs = (uint32_t) n_out;
	hdr->n_params = n_params;
	hdr->seed = spec->seed;
	GraphBindTrusted(&net, buf);
	memcpy(net.layers, spec->layers, (size_t) n * sizeof(GraphLayer));
	for (int l = 0; l < n; l++)
	{
		GraphLayer *ly = &net.layers[l];

		ly->param_offset = 0;
		if (ly->role == GRAPH_ROLE_INPUT)
			continue;
		ly->param_offset = offset;
		offset += (GraphFanIn(net.layers, l) + 1) * ly->count;
	}
	for (uint32_t i = 0; i < hdr->n_inputs; i++)
		net.in_mul[i] = 1.0f;
	for (uint32_t i = 0; i < hdr->n_outputs; i++)
		net.out_mul[i] = 1.0f;
	if (zero)
		return HANAMI_OK;
	/* the dense kind's draw, layer after layer: a chain gets its weights */
	RngSeed(&rng, spec->seed);
	for (int l = 1; l < n; l++)
	{
		const GraphLayer *ly = &net.layers[l];
		size_t		fan_in = (size_t) GraphFanIn(net.layers, l);
		size_t		nw = fan_in * ly->count;
		float	   *w = GraphWeights(&net, l);
		double		sd;

		if (ly->role == GRAPH_ROLE_INPUT)
			continue;
		sd = sqrt(ActInitGain((HnActivation) ly->activation) / (double) fan_in);
		for (size_t i = 0; i < nw; i++)
			w[i] = (float) (RngNormal(&rng) * sd);
	}
	return HANAMI_OK;
}

/* Index of the first NaN or infinity among n floats; n when all finite. */
static size_t
GraphFirstNonFinite(const float *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(fabsf(v[i]) <= FLT_MAX))
			return i;
	return n;
}

/* Validate an image whose common header NetBind checked; bind net. */
HnStatus
GraphBindChecked(GraphNet *net, void *buf, size_t len, HnError *err)
{
	HnHeader   *hdr = buf;
	const GraphLayer *layers;
	uint32_t	n;
	uint64_t	n_in;
	uint64_t	n_out;
	uint64_t	n_params;
	uint64_t	expect;
	size_t		bad;
	char		detail[HANAMI_ERRMSG_LEN];
	HnStatus	st;

	if (hdr->header_size != sizeof(HnHeader))
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL,
						  "invalid network header size %" PRIu32,
						  hdr->header_size);
	if (hdr->version != HANAMI_FORMAT_VERSION)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "Graph networks are format version 1.",
						  "unsupported network format version %u",
						  (unsigned) hdr->version);
	if ((hdr->flags & ~(uint32_t) GRAPH_FLAG_ALL) != 0)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "The value may come from a newer version of hanami.",
						  "network value has unknown flags 0x%" PRIX32,
						  hdr->flags & ~(uint32_t) GRAPH_FLAG_ALL);
	if (hdr->total_size != (uint64_t) len)
	{
		snprintf(detail, sizeof(detail),
				 "The header says %" PRIu64 " bytes but the value has %zu.",
				 hdr->total_size, len);
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, detail,
						  "network value size does not match its header");
	}
	if (hdr->reserved[0] != 0 || hdr->reserved[1] != 0 || hdr->loss != 0)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "Reserved fields must be zero; a graph's losses are on its output layers.",
						  "network header has nonzero reserved fields");
	n = hdr->n_layers;
	if (n < 2 || n > HANAMI_MAX_LAYERS)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL,
						  "network value has an invalid layer count (%" PRIu32 ")",
						  n);
	if (len < GraphScalingOffset(n))
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL,
						  "network value is truncated");
	layers = (const GraphLayer *) ((char *) buf + sizeof(HnHeader));
	st = GraphCheckLayers(layers, (int) n, true, HANAMI_E_INVALID_FORMAT, err);
	if (st != HANAMI_OK)
		return st;
	GraphSums(layers, (int) n, &n_in, &n_out, &n_params);
	if (hdr->n_inputs != n_in || hdr->n_outputs != n_out ||
		hdr->n_params != n_params)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "The header's inputs, outputs and parameters are those of the layers.",
						  "network header does not match its layers");
	expect = (uint64_t) GraphParamsOffset(n, (uint32_t) n_in,
										  (uint32_t) n_out) +
		(n_params + GraphStateFloats(layers, (int) n)) * 4;
	if (expect != (uint64_t) len)
	{
		snprintf(detail, sizeof(detail),
				 "Its layers need %" PRIu64 " bytes but the value has %zu.",
				 expect, len);
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, detail,
						  "network value size does not match its layers");
	}
	GraphBindTrusted(net, buf);
	bad = GraphFirstNonFinite(net->in_shift,
							  2 * ((size_t) n_in + (size_t) n_out));
	if (bad < 2 * ((size_t) n_in + (size_t) n_out))
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "Scaling values must be finite numbers.",
						  "a scaling value is not finite");
	for (uint32_t i = 0; i < n_in; i++)
		if (net->in_mul[i] == 0.0f)
			return HnSetError(err, HANAMI_E_INVALID_FORMAT,
							  "Scaling multipliers must be nonzero.",
							  "scaling value in_mul[%" PRIu32 "] is zero", i);
	for (uint32_t i = 0; i < n_out; i++)
		if (net->out_mul[i] == 0.0f)
			return HnSetError(err, HANAMI_E_INVALID_FORMAT,
							  "Scaling multipliers must be nonzero.",
							  "scaling value out_mul[%" PRIu32 "] is zero", i);
	bad = GraphFirstNonFinite(net->params, (size_t) n_params);
	if (bad < n_params)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "Weights and biases must be finite numbers.",
						  "parameter %zu of the network is not finite", bad);
	expect = GraphStateFloats(layers, (int) n);
	if (GraphFirstNonFinite(net->params + n_params, (size_t) expect) < expect)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "The values a layer keeps of earlier rows must be finite numbers.",
						  "the carried state of the network is not finite");
	return HANAMI_OK;
}
