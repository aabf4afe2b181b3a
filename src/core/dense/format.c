/*
 * dense/format.c - the binary image of a network: resolving and sizing a spec,
 * writing a fresh image, and DenseBind, the one validation path for images
 * that come from outside.
 */
#include "core/dense/format.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/dense/dtype.h"
#include "core/dense/kind.h"
#include "core/rng.h"

_Static_assert(sizeof(HnHeader) == 72, "HnHeader must be 72 bytes");
_Static_assert(sizeof(DenseLayer) == 48, "DenseLayer must be 48 bytes");
_Static_assert(sizeof(float) == 4, "float must be 32 bits");
_Static_assert(HANAMI_MAX_LAYERS <= 64, "train masks have 64 bits");
_Static_assert(sizeof(DenseProgram) == 1104, "DenseProgram must be 1104 bytes");

/* Byte offset of the scaling area: after the header and layers. */
size_t
DenseScalingOffset(uint32_t n_layers)
{
	return sizeof(HnHeader) + (size_t) n_layers * sizeof(DenseLayer);
}

/* Byte offset of the parameter area: after the four scaling arrays. */
size_t
DenseParamsOffset(uint32_t n_layers, uint32_t n_inputs, uint32_t n_outputs)
{
	return DenseScalingOffset(n_layers) +
		2 * sizeof(float) * ((size_t) n_inputs + (size_t) n_outputs);
}

/* Programs of checked or freshly written layer records. */
uint32_t
DenseCountPrograms(const DenseLayer *layers, uint32_t n_layers)
{
	uint32_t	n = 0;

	for (uint32_t l = 0; l < n_layers; l++)
		if (layers[l].activation == HANAMI_ACT_CUSTOM &&
			layers[l].reserved16 > n)
			n = layers[l].reserved16;
	return n;
}

/* Add a custom activation to a spec, or find the same one there. */
HnStatus
DenseSpecAddProgram(DenseSpec *spec, const DenseProgram *p, uint16_t *index,
					HnError *err)
{
	for (int i = 0; i < spec->n_programs; i++)
	{
		if (strncmp(spec->programs[i].name, p->name,
					DENSE_PROGRAM_NAME_LEN) != 0)
			continue;
		if (memcmp(&spec->programs[i], p, sizeof(*p)) != 0)
			return HnSetError(err, HANAMI_E_INVALID_SPEC,
							  "A network gives each custom activation one expression and one derivative.",
							  "custom activation \"%s\" is given twice with different expressions",
							  p->name);
		*index = (uint16_t) (i + 1);
		return HANAMI_OK;
	}
	if (spec->n_programs >= DENSE_MAX_PROGRAMS)
	{
		char		detail[HANAMI_ERRMSG_LEN];

		snprintf(detail, sizeof(detail),
				 "A network uses at most %d custom activations.",
				 DENSE_MAX_PROGRAMS);
		return HnSetError(err, HANAMI_E_INVALID_SPEC, detail,
						  "too many custom activations");
	}
	spec->programs[spec->n_programs++] = *p;
	*index = (uint16_t) spec->n_programs;
	return HANAMI_OK;
}

/* Units of the widest layer. */
uint32_t
DenseMaxWidth(const DenseNet *net)
{
	uint32_t	w = 0;

	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
		if (net->layers[l].count > w)
			w = net->layers[l].count;
	return w;
}

/*
 * Check a layer name of HANAMI_NAME_LEN bytes: NUL-terminated, printable
 * ASCII, and (when padded is set) nothing but NULs after the terminator.
 */
static HnStatus
FormatCheckName(const char *name, int l, bool padded, HnStatus code,
				HnError *err)
{
	const char *nul = memchr(name, '\0', HANAMI_NAME_LEN);

	if (nul == NULL)
		return HnSetError(err, code,
						  "A layer name has at most 31 bytes and ends with a NUL byte.",
						  "name of layer %d is too long", l);
	for (const char *p = name; p < nul; p++)
		if (*p < 0x20 || *p > 0x7e)
			return HnSetError(err, code,
							  "Layer names may contain printable ASCII characters only.",
							  "name of layer %d contains a non-printable character",
							  l);
	if (padded)
		for (const char *p = nul; p < name + HANAMI_NAME_LEN; p++)
			if (*p != '\0')
				return HnSetError(err, code,
								  "The bytes after a layer name must be zero.",
								  "name of layer %d is not zero-padded", l);
	return HANAMI_OK;
}

/* Check that non-empty names of the n layers are unique. */
static HnStatus
FormatCheckUniqueNames(const char (*names)[HANAMI_NAME_LEN], size_t stride,
					   int n, HnStatus code, HnError *err)
{
	for (int i = 0; i < n; i++)
	{
		const char *a = (const char *) names + (size_t) i * stride;

		if (a[0] == '\0')
			continue;
		for (int j = i + 1; j < n; j++)
		{
			const char *b = (const char *) names + (size_t) j * stride;

			if (strncmp(a, b, HANAMI_NAME_LEN) == 0)
			{
				char		detail[HANAMI_ERRMSG_LEN];

				snprintf(detail, sizeof(detail),
						 "Layers %d and %d have the same name; names must be unique.",
						 i, j);
				return HnSetError(err, code, detail,
								  "layer name \"%s\" is used twice", a);
			}
		}
	}
	return HANAMI_OK;
}

/* Check the rules every layer stack shares, in a spec or an image. */
static HnStatus
FormatCheckStack(int n_layers, const uint32_t *counts, const int *acts,
				 int loss, HnStatus code, HnError *err)
{
	char		detail[HANAMI_ERRMSG_LEN];
	int			out_act = acts[n_layers - 1];

	for (int l = 0; l < n_layers; l++)
	{
		if (counts[l] == 0)
			return HnSetError(err, code,
							  "Every layer needs at least one unit.",
							  "layer %d has 0 units", l);
		if (counts[l] > HANAMI_MAX_UNITS)
		{
			snprintf(detail, sizeof(detail),
					 "A layer has at most %d units.", HANAMI_MAX_UNITS);
			return HnSetError(err, code, detail,
							  "layer %d has too many units (%" PRIu32 ")",
							  l, counts[l]);
		}
		if (!ActIsValid(acts[l]))
			return HnSetError(err, code, NULL,
							  "layer %d has an invalid activation (%d)",
							  l, acts[l]);
		if (l == 0 && acts[l] != HANAMI_ACT_IDENTITY)
			return HnSetError(err, code,
							  "The input layer (layer 0) passes its values on unchanged; activations belong to the layers after it.",
							  "the input layer cannot have activation \"%s\"",
							  ActName(acts[l]));
		if (acts[l] == HANAMI_ACT_SOFTMAX && l != n_layers - 1)
		{
			snprintf(detail, sizeof(detail),
					 "Layer %d is a hidden layer; softmax belongs on the output layer only.",
					 l);
			return HnSetError(err, code, detail,
							  "layer %d cannot have activation \"softmax\"", l);
		}
	}
	if (out_act == HANAMI_ACT_SOFTMAX && counts[n_layers - 1] < 2)
		return HnSetError(err, code,
						  "A softmax over a single unit is always 1; use sigmoid for a single output.",
						  "softmax output layer needs at least 2 units");
	if (!LossIsValid(loss))
		return HnSetError(err, code, NULL, "invalid loss (%d)", loss);
	if (loss == HANAMI_LOSS_CROSS_ENTROPY &&
		out_act != HANAMI_ACT_SOFTMAX && out_act != HANAMI_ACT_SIGMOID)
	{
		snprintf(detail, sizeof(detail),
				 "The output layer has activation \"%s\"; cross_entropy needs softmax or sigmoid.",
				 ActName(out_act));
		return HnSetError(err, code, detail,
						  "loss \"cross_entropy\" does not fit the output layer");
	}
	return HANAMI_OK;
}

/* Resolve a spec's defaults and check it. */
HnStatus
DenseSpecFinalize(DenseSpec *spec, HnError *err)
{
	uint32_t	counts[HANAMI_MAX_LAYERS];
	int			acts[HANAMI_MAX_LAYERS];
	int			n;
	HnStatus	st;
	char		detail[HANAMI_ERRMSG_LEN];

	n = spec->n_layers;
	if (n < 2 || n > HANAMI_MAX_LAYERS)
	{
		snprintf(detail, sizeof(detail),
				 "A network has between 2 and %d layers, the input layer included.",
				 HANAMI_MAX_LAYERS);
		return HnSetError(err, HANAMI_E_INVALID_SPEC, detail,
						  "network has %d layers", n);
	}
	for (int l = 0; l < n; l++)
	{
		DenseLayerSpec *ls = &spec->layers[l];

		if (ls->activation == HANAMI_ACT_DEFAULT)
		{
			if (l == 0)
				ls->activation = HANAMI_ACT_IDENTITY;
			else if (l < n - 1)
				ls->activation = HANAMI_ACT_RELU;
			else
				ls->activation = ls->count >= 2 ? HANAMI_ACT_SOFTMAX :
					HANAMI_ACT_IDENTITY;
		}
		if (ls->activation != HANAMI_ACT_CUSTOM)
			ls->program = 0;
		else if (ls->program < 1 || ls->program > spec->n_programs)
			return HnSetError(err, HANAMI_E_INTERNAL, NULL,
							  "layer %d has no custom activation", l);
		st = FormatCheckName(ls->name, l, false, HANAMI_E_INVALID_SPEC, err);
		if (st != HANAMI_OK)
			return st;
		counts[l] = ls->count;
		acts[l] = (int) ls->activation;
	}
	/* keep the custom activations the layers use, in their order */
	{
		uint16_t	map[DENSE_MAX_PROGRAMS + 1] = {0};
		DenseProgram old[DENSE_MAX_PROGRAMS];
		int			kept = 0;

		memcpy(old, spec->programs, sizeof(old));

		for (int l = 0; l < n; l++)
		{
			uint16_t	p = spec->layers[l].program;

			if (p == 0)
				continue;
			if (map[p] == 0)
			{
				map[p] = (uint16_t) ++kept;
				spec->programs[kept - 1] = old[p - 1];
			}
			spec->layers[l].program = map[p];
		}
		spec->n_programs = kept;
	}
	if (spec->loss == HANAMI_LOSS_DEFAULT)
		spec->loss = (acts[n - 1] == HANAMI_ACT_SOFTMAX ||
					  acts[n - 1] == HANAMI_ACT_SIGMOID) ?
			HANAMI_LOSS_CROSS_ENTROPY : HANAMI_LOSS_MSE;
	st = FormatCheckStack(n, counts, acts, (int) spec->loss,
						  HANAMI_E_INVALID_SPEC, err);
	if (st != HANAMI_OK)
		return st;
	st = FormatCheckUniqueNames(&spec->layers[0].name, sizeof(DenseLayerSpec), n,
								HANAMI_E_INVALID_SPEC, err);
	if (st != HANAMI_OK)
		return st;
	if (DenseImageSize(spec, err) == 0)
		return err ? err->code : HANAMI_E_TOO_LARGE;
	return HANAMI_OK;
}

/* Image bytes of a finalized spec; 0 with err set when over the limit. */
size_t
DenseImageSize(const DenseSpec *spec, HnError *err)
{
	size_t		n_params = 0;
	size_t		bytes;
	int			n = spec->n_layers;
	char		detail[HANAMI_ERRMSG_LEN];

	if (n < 2 || n > HANAMI_MAX_LAYERS)
	{
		HnSetError(err, HANAMI_E_INVALID_SPEC, NULL,
				   "network has %d layers", n);
		return 0;
	}
	/* the programs area: at most DENSE_MAX_PROGRAMS records */
	n_params = (size_t) spec->n_programs * sizeof(DenseProgram) / sizeof(float);
	for (int l = 1; l < n; l++)
	{
		/* counts <= 2^20 (checked): no overflow in the words */
		size_t		w = (size_t) DenseLayerWords(spec->dtype,
												 spec->layers[l - 1].count,
												 spec->layers[l].count);

		if (!HnAddSize(n_params, w, &n_params))
			goto too_large;
	}
	if (!HnMulSize(n_params, sizeof(float), &bytes) ||
		!HnAddSize(bytes, DenseParamsOffset((uint32_t) n,
										  spec->layers[0].count,
										  spec->layers[n - 1].count),
				   &bytes) ||
		bytes > HANAMI_MAX_BYTES)
		goto too_large;
	return bytes;

too_large:
	snprintf(detail, sizeof(detail),
			 "A network value holds at most %zu bytes; this one would need more.",
			 (size_t) HANAMI_MAX_BYTES);
	HnSetError(err, HANAMI_E_TOO_LARGE, detail, "network is too large");
	return 0;
}

/* Write the image of a finalized spec without weights into buf. */
HnStatus
DenseCreateLayout(void *buf, size_t len, const DenseSpec *spec, HnError *err)
{
	size_t		size = DenseImageSize(spec, err);
	DenseNet		net;
	HnHeader   *hdr = buf;
	uint32_t	n = (uint32_t) spec->n_layers;
	uint64_t	offset = 0;
	uint64_t	n_params = 0;

	if (size == 0)
		return err ? err->code : HANAMI_E_INVALID_SPEC;
	if (len != size)
		return HnSetError(err, HANAMI_E_INTERNAL, NULL,
						  "network buffer has %zu bytes instead of %zu",
						  len, size);
	memset(buf, 0, len);
	hdr->magic = HANAMI_MAGIC;
	hdr->version = spec->dtype == DENSE_DTYPE_F32 ? HANAMI_FORMAT_VERSION :
		DENSE_FORMAT_DTYPE;
	hdr->reserved[0] = (uint32_t) spec->dtype;
	hdr->kind = HANAMI_KIND_DENSE;
	hdr->header_size = sizeof(HnHeader);
	hdr->flags = spec->input_scaling ? HANAMI_FLAG_SCALE_INPUT : 0;
	if (spec->pow2_qat)
		hdr->flags |= HANAMI_FLAG_POW2_QAT;
	hdr->total_size = len;
	hdr->n_layers = n;
	hdr->loss = (uint32_t) spec->loss;
	hdr->n_inputs = spec->layers[0].count;
	hdr->n_outputs = spec->layers[n - 1].count;
	hdr->seed = spec->seed;
	DenseBindTrusted(&net, buf);
	for (uint32_t l = 0; l < n; l++)
	{
		DenseLayer    *lay = &net.layers[l];
		const DenseLayerSpec *ls = &spec->layers[l];
		size_t		nlen = strnlen(ls->name, HANAMI_NAME_LEN - 1);

		lay->count = ls->count;
		lay->activation = (uint16_t) ls->activation;
		lay->reserved16 = ls->activation == HANAMI_ACT_CUSTOM ?
			ls->program : 0;
		memcpy(lay->name, ls->name, nlen);
		if (l > 0)
		{
			lay->param_offset = offset;
			offset += DenseLayerWords(spec->dtype, spec->layers[l - 1].count,
									  ls->count);
			n_params += (uint64_t) spec->layers[l - 1].count * ls->count +
				ls->count;
		}
	}
	hdr->n_params = n_params;
	DenseBindTrusted(&net, buf);
	if (net.n_programs != (uint32_t) spec->n_programs)
		return HnSetError(err, HANAMI_E_INTERNAL, NULL,
						  "a custom activation of the network is not used");
	if (spec->n_programs > 0)
		memcpy(net.programs, spec->programs,
			   (size_t) spec->n_programs * sizeof(DenseProgram));
	for (uint32_t i = 0; i < hdr->n_inputs; i++)
		net.in_mul[i] = 1.0f;
	for (uint32_t i = 0; i < hdr->n_outputs; i++)
		net.out_mul[i] = 1.0f;
	return HANAMI_OK;
}

/* Write a fresh image of a finalized spec into buf of len bytes. */
HnStatus
DenseCreate(void *buf, size_t len, const DenseSpec *spec, HnError *err)
{
	DenseNet	net;
	uint32_t	n = (uint32_t) spec->n_layers;
	HnRng		rng;
	HnStatus	st;

	if (spec->dtype != DENSE_DTYPE_F32)
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "Networks are created with float32 weights (or trained for pow2 with \"dtype\": \"pow2\").",
						  "a new network cannot have %s weights",
						  DenseDtypeName(spec->dtype));
	st = DenseCreateLayout(buf, len, spec, err);
	if (st != HANAMI_OK)
		return st;
	DenseBindTrusted(&net, buf);

	/* weights: normal * sqrt(gain / fan_in); biases stay zero */
	RngSeed(&rng, spec->seed);
	for (uint32_t l = 1; l < n; l++)
	{
		float	   *w = DenseWeights(&net, (int) l);
		size_t		fan_in = net.layers[l - 1].count;
		size_t		nw = fan_in * net.layers[l].count;
		double		sd = sqrt(ActInitGain(net.layers[l].activation) /
							  (double) fan_in);

		for (size_t i = 0; i < nw; i++)
			w[i] = (float) (RngNormal(&rng) * sd);
	}
	return HANAMI_OK;
}

/* Bind net to an image already known to be valid. */
void
DenseBindTrusted(DenseNet *net, void *buf)
{
	char	   *base = buf;
	HnHeader   *hdr = buf;
	float	   *scaling = (float *) (base + DenseScalingOffset(hdr->n_layers));

	net->hdr = hdr;
	net->layers = (DenseLayer *) (base + sizeof(HnHeader));
	net->in_shift = scaling;
	net->in_mul = scaling + hdr->n_inputs;
	net->out_shift = scaling + 2 * (size_t) hdr->n_inputs;
	net->out_mul = net->out_shift + hdr->n_outputs;
	net->n_programs = DenseCountPrograms(net->layers, hdr->n_layers);
	net->programs = net->n_programs == 0 ? NULL :
		(DenseProgram *) (base + DenseParamsOffset(hdr->n_layers,
												   hdr->n_inputs,
												   hdr->n_outputs));
	net->params = (float *) (base + DenseParamsOffset(hdr->n_layers,
													hdr->n_inputs,
													hdr->n_outputs) +
							 (size_t) net->n_programs * sizeof(DenseProgram));
}

/* Index of the first NaN or infinity among n floats; n when all finite. */
static size_t
FormatFirstNonFinite(const float *v, size_t n)
{
	const size_t chunk = 4096;

	for (size_t start = 0; start < n; start += chunk)
	{
		size_t		end = n - start < chunk ? n : start + chunk;
		int			bad = 0;

#pragma omp simd reduction(|:bad)
		for (size_t i = start; i < end; i++)
			bad |= !(fabsf(v[i]) <= FLT_MAX);
		if (bad)
		{
			for (size_t i = start; i < end; i++)
				if (!isfinite(v[i]))
					return i;
		}
	}
	return n;
}

/* Check the scaling area: finite shifts, finite nonzero multipliers. */
static HnStatus
FormatCheckScaling(const DenseNet *net, HnError *err)
{
	const struct
	{
		const char *name;
		const float *v;
		uint32_t	n;
		bool		mul;
	}			parts[4] = {
		{"in_shift", net->in_shift, net->hdr->n_inputs, false},
		{"in_mul", net->in_mul, net->hdr->n_inputs, true},
		{"out_shift", net->out_shift, net->hdr->n_outputs, false},
		{"out_mul", net->out_mul, net->hdr->n_outputs, true},
	};

	for (int p = 0; p < 4; p++)
	{
		size_t		i = FormatFirstNonFinite(parts[p].v, parts[p].n);

		if (i < parts[p].n)
			return HnSetError(err, HANAMI_E_INVALID_FORMAT,
							  "Scaling values must be finite numbers.",
							  "scaling value %s[%zu] is not finite",
							  parts[p].name, i);
		if (parts[p].mul)
			for (uint32_t j = 0; j < parts[p].n; j++)
				if (parts[p].v[j] == 0.0f)
					return HnSetError(err, HANAMI_E_INVALID_FORMAT,
									  "Scaling multipliers must be nonzero.",
									  "scaling value %s[%" PRIu32 "] is zero",
									  parts[p].name, j);
	}
	return HANAMI_OK;
}

/*
 * Whether a checked program is the one its text compiles to, so that the
 * text form reads back to the same bytes.
 */
static HnStatus
FormatCheckCanonical(const HnExpr *e, bool allow_y, HnError *err)
{
	char		text[HN_EXPR_MAX_TEXT * 4];
	HnExpr		again;

	if (HnExprToText(e, text, sizeof(text), err) != HANAMI_OK ||
		HnExprCompile(text, allow_y, &again, err) != HANAMI_OK ||
		memcmp(&again, e, sizeof(again)) != 0)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL,
						  "an activation program is not the one its expression compiles to");
	return HANAMI_OK;
}

/*
 * Check the programs area: names (unique, not built-in), then both
 * programs of each: valid, canonical, and a function with its derivative.
 */
static HnStatus
FormatCheckPrograms(const DenseNet *net, HnError *err)
{
	for (uint32_t i = 0; i < net->n_programs; i++)
	{
		const DenseProgram *p = &net->programs[i];
		const char *nul = memchr(p->name, '\0', DENSE_PROGRAM_NAME_LEN);
		HnStatus	st;

		if (nul == NULL || nul == p->name)
			return HnSetError(err, HANAMI_E_INVALID_FORMAT,
							  "A custom activation's name has 1 to 63 bytes and ends with a NUL byte.",
							  "custom activation %" PRIu32 " has an invalid name",
							  i + 1);
		for (const char *c = p->name; c < p->name + DENSE_PROGRAM_NAME_LEN; c++)
			if (c < nul ? (*c < 0x20 || *c > 0x7e) : *c != '\0')
				return HnSetError(err, HANAMI_E_INVALID_FORMAT,
								  "A custom activation's name is printable ASCII, padded with NUL bytes.",
								  "custom activation %" PRIu32 " has an invalid name",
								  i + 1);
		if (ActFromName(p->name) != HANAMI_ACT_DEFAULT ||
			strcmp(p->name, "custom") == 0)
			return HnSetError(err, HANAMI_E_INVALID_FORMAT,
							  "Built-in activations keep their names.",
							  "custom activation %" PRIu32 " has the name of a built-in activation",
							  i + 1);
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(net->programs[j].name, p->name) == 0)
				return HnSetError(err, HANAMI_E_INVALID_FORMAT,
								  "A network holds each custom activation once.",
								  "custom activation \"%s\" is there twice", p->name);
		if ((st = HnExprCheck(&p->f, false, err)) != HANAMI_OK ||
			(st = HnExprCheck(&p->df, true, err)) != HANAMI_OK ||
			(st = FormatCheckCanonical(&p->f, false, err)) != HANAMI_OK ||
			(st = FormatCheckCanonical(&p->df, true, err)) != HANAMI_OK ||
			(st = HnExprCheckPair(&p->f, &p->df, err)) != HANAMI_OK)
		{
			char		msg[HANAMI_ERRMSG_LEN];

			snprintf(msg, sizeof(msg), "custom activation \"%.63s\": %.150s",
					 p->name, err ? err->message : "invalid program");
			return HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL, "%s", msg);
		}
	}
	return HANAMI_OK;
}

/*
 * The checks of DenseBindChecked on everything before the parameters: have
 * bytes at buf (at least the header, layer records and scaling) of an image
 * of image_len bytes.  Binds net (params points where the parameters start
 * in the whole image) and sets *n_params.
 */
static HnStatus
DenseCheckHead(DenseNet *net, void *buf, size_t have, size_t image_len,
			   uint64_t *n_params, HnError *err)
{
	size_t		len = image_len;
	const char *base = buf;
	HnHeader   *hdr = buf;
	const DenseLayer *layers;
	uint32_t	n;
	uint32_t	counts[HANAMI_MAX_LAYERS];
	int			acts[HANAMI_MAX_LAYERS];
	uint64_t	offset = 0;
	uint64_t	count = 0;
	uint64_t	expect;
	uint32_t	used = 0;
	uint32_t	n_programs = 0;
	size_t		prog_bytes;
	int			dtype;
	HnStatus	st;
	char		detail[HANAMI_ERRMSG_LEN];

	if (hdr->header_size != sizeof(HnHeader))
	{
		snprintf(detail, sizeof(detail),
				 "Format version %d has a header of %zu bytes.",
				 HANAMI_FORMAT_VERSION, sizeof(HnHeader));
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, detail,
						  "invalid network header size %" PRIu32,
						  hdr->header_size);
	}
	if ((hdr->flags & ~(uint32_t) HANAMI_FLAG_ALL) != 0)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "The value may come from a newer version of hanami.",
						  "network value has unknown flags 0x%" PRIX32,
						  hdr->flags & ~(uint32_t) HANAMI_FLAG_ALL);
	if (hdr->total_size != (uint64_t) len)
	{
		snprintf(detail, sizeof(detail),
				 "The header says %" PRIu64 " bytes but the value has %zu.",
				 hdr->total_size, len);
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, detail,
						  "network value size does not match its header");
	}
	if (hdr->reserved[1] != 0 ||
		(hdr->version < DENSE_FORMAT_DTYPE && hdr->reserved[0] != 0))
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "Reserved fields must be zero in this format version.",
						  "network header has nonzero reserved fields");
	if (hdr->version >= DENSE_FORMAT_DTYPE &&
		(hdr->reserved[0] == DENSE_DTYPE_F32 ||
		 DenseDtypeName((int) hdr->reserved[0]) == NULL))
	{
		snprintf(detail, sizeof(detail),
				 "Format version %d holds weights of dtype %s; float32 networks are format version %d.",
				 DENSE_FORMAT_DTYPE, "pow2, f16 or u8", HANAMI_FORMAT_VERSION);
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, detail,
						  "network value has an invalid dtype (%" PRIu32 ")",
						  hdr->reserved[0]);
	}
	dtype = hdr->version >= DENSE_FORMAT_DTYPE ? (int) hdr->reserved[0] :
		DENSE_DTYPE_F32;
	if ((hdr->flags & HANAMI_FLAG_POW2_QAT) && dtype != DENSE_DTYPE_F32)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "Only float32 weights can be trained for pow2.",
						  "network value has pow2 training and %s weights",
						  DenseDtypeName(dtype));
	n = hdr->n_layers;
	if (n < 2 || n > HANAMI_MAX_LAYERS)
	{
		snprintf(detail, sizeof(detail),
				 "A network has between 2 and %d layers.", HANAMI_MAX_LAYERS);
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, detail,
						  "network value has an invalid layer count (%" PRIu32 ")",
						  n);
	}
	if (have < DenseScalingOffset(n))
	{
		snprintf(detail, sizeof(detail),
				 "The value has %zu bytes; its %" PRIu32 " layer records end at byte %zu.",
				 have, n, DenseScalingOffset(n));
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, detail,
						  "network value is truncated");
	}

	/* layer records */
	layers = (const DenseLayer *) (base + sizeof(HnHeader));
	for (uint32_t l = 0; l < n; l++)
	{
		const DenseLayer *lay = &layers[l];

		if (lay->activation == HANAMI_ACT_CUSTOM)
		{
			if (lay->reserved16 < 1 || lay->reserved16 > DENSE_MAX_PROGRAMS)
				return HnSetError(err, HANAMI_E_INVALID_FORMAT,
								  "A custom layer names one of the network's custom activations by its 1-based index.",
								  "layer %" PRIu32 " has an invalid custom activation index (%u)",
								  l, (unsigned) lay->reserved16);
			/* numbered in the order of first use, as a spec numbers them */
			if (!(used & (1u << (lay->reserved16 - 1))) &&
				lay->reserved16 != n_programs + 1)
				return HnSetError(err, HANAMI_E_INVALID_FORMAT,
								  "Custom activations are numbered in the order the layers first use them.",
								  "layer %" PRIu32 " has an invalid custom activation index (%u)",
								  l, (unsigned) lay->reserved16);
			used |= 1u << (lay->reserved16 - 1);
			if (lay->reserved16 > n_programs)
				n_programs = lay->reserved16;
		}
		else if (lay->reserved16 != 0)
			return HnSetError(err, HANAMI_E_INVALID_FORMAT,
							  "Reserved fields must be zero in this format version.",
							  "layer %" PRIu32 " has a nonzero reserved field", l);
		st = FormatCheckName(lay->name, (int) l, true,
							 HANAMI_E_INVALID_FORMAT, err);
		if (st != HANAMI_OK)
			return st;
		counts[l] = lay->count;
		acts[l] = lay->activation;
	}
	if (used != (n_programs == 32 ? ~0u : (1u << n_programs) - 1))
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "Every custom activation a network holds is used by a layer.",
						  "network value has an unused custom activation");
	prog_bytes = (size_t) n_programs * sizeof(DenseProgram);
	st = FormatCheckStack((int) n, counts, acts, (int) hdr->loss,
						  HANAMI_E_INVALID_FORMAT, err);
	if (st != HANAMI_OK)
		return st;
	st = FormatCheckUniqueNames(&layers[0].name, sizeof(DenseLayer), (int) n,
								HANAMI_E_INVALID_FORMAT, err);
	if (st != HANAMI_OK)
		return st;
	if (hdr->n_inputs != counts[0] || hdr->n_outputs != counts[n - 1])
	{
		snprintf(detail, sizeof(detail),
				 "The header says %" PRIu32 " inputs and %" PRIu32 " outputs; the layers have %" PRIu32 " and %" PRIu32 ".",
				 hdr->n_inputs, hdr->n_outputs, counts[0], counts[n - 1]);
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, detail,
						  "network header does not match its layers");
	}

	/* parameters must be laid out contiguously in layer order */
	for (uint32_t l = 0; l < n; l++)
	{
		if (layers[l].param_offset != offset)
		{
			snprintf(detail, sizeof(detail),
					 "Layer %" PRIu32 " must start at parameter %" PRIu64 ", not %" PRIu64 ".",
					 l, offset, layers[l].param_offset);
			return HnSetError(err, HANAMI_E_INVALID_FORMAT, detail,
							  "network value has an invalid parameter layout");
		}
		/* counts <= 2^20 and n <= 64, so this cannot overflow */
		if (l > 0)
		{
			offset += DenseLayerWords(dtype, counts[l - 1], counts[l]);
			count += (uint64_t) counts[l - 1] * counts[l] + counts[l];
		}
	}
	if (hdr->n_params != count)
	{
		snprintf(detail, sizeof(detail),
				 "The header says %" PRIu64 " parameters; the layers have %" PRIu64 ".",
				 hdr->n_params, count);
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, detail,
						  "network value has an invalid parameter count");
	}
	expect = (uint64_t) DenseParamsOffset(n, counts[0], counts[n - 1]) +
		prog_bytes + offset * sizeof(float);
	if (expect != (uint64_t) len)
	{
		snprintf(detail, sizeof(detail),
				 "Its layers need %" PRIu64 " bytes but the value has %zu.",
				 expect, len);
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, detail,
						  "network value size does not match its layers");
	}

	if (have < DenseParamsOffset(n, counts[0], counts[n - 1]) + prog_bytes)
	{
		snprintf(detail, sizeof(detail),
				 "The head has %zu bytes; its scaling and programs end at byte %zu.",
				 have, DenseParamsOffset(n, counts[0], counts[n - 1]) +
				 prog_bytes);
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, detail,
						  "network head is truncated");
	}

	/* every byte of the head is now known to be inside the buffer */
	DenseBindTrusted(net, buf);
	*n_params = offset;
	st = FormatCheckScaling(net, err);
	if (st != HANAMI_OK)
		return st;
	return FormatCheckPrograms(net, err);
}

/*
 * The dense checks of an image whose common header NetBind checked (the
 * kind's bind operation): sizes, layers, offsets, names, flags, floats.
 */
HnStatus
DenseBindChecked(DenseNet *net, void *buf, size_t len, HnError *err)
{
	const DenseLayer *layers = (const DenseLayer *) ((char *) buf + sizeof(HnHeader));
	uint32_t	n = ((HnHeader *) buf)->n_layers;
	uint64_t	offset;
	size_t		bad;
	HnStatus	st;
	int			dtype;

	st = DenseCheckHead(net, buf, len, len, &offset, err);
	if (st != HANAMI_OK)
		return st;
	dtype = DenseDtypeOf(net);
	if (dtype != DENSE_DTYPE_F32)
	{
		for (uint32_t l = 1; l < n; l++)
		{
			size_t		in = layers[l - 1].count;
			size_t		out = layers[l].count;

			st = DenseCheckSegment(dtype, DenseLayerStart(net, (int) l),
								   (size_t) DenseLayerWords(dtype, in, out) * 4,
								   in, out, (int) l, err);
			if (st != HANAMI_OK)
				return st;
		}
		return HANAMI_OK;
	}
	bad = FormatFirstNonFinite(net->params, (size_t) offset);
	if (bad < offset)
	{
		uint32_t	l = 1;

		while (l + 1 < n && layers[l + 1].param_offset <= bad)
			l++;
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "Weights and biases must be finite numbers.",
						  "parameter %zu of layer %" PRIu32 " is not finite",
						  (size_t) (bad - layers[l].param_offset), l);
	}
	return HANAMI_OK;
}

/* Validate the head of an image (paged inference); see format.h. */
HnStatus
DenseBindHead(DenseNet *net, void *buf, size_t head_len, size_t image_len,
			  HnError *err)
{
	uint64_t	n_params;
	HnStatus	st;

	st = DenseCheckHead(net, buf, head_len, image_len, &n_params, err);
	if (st != HANAMI_OK)
		return st;
	if (head_len != (size_t) ((char *) net->params - (char *) buf))
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "The head of a dense network is its header, layer records and scaling.",
						  "network head has %zu bytes instead of %zu", head_len,
						  (size_t) ((char *) net->params - (char *) buf));
	net->params = NULL;			/* fetched layer by layer */
	return HANAMI_OK;
}

/* Validate an untrusted image that must be dense; see format.h. */
HnStatus
DenseBind(DenseNet *net, void *buf, size_t len, HnError *err)
{
	HnNet		any;
	HnStatus	st = NetBind(&any, buf, len, err);

	if (st != HANAMI_OK)
		return st;
	if (DenseOf(&any) == NULL)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "network of kind \"%s\" is not dense",
						  any.kind->name);
	*net = *DenseOf(&any);
	return HANAMI_OK;
}
