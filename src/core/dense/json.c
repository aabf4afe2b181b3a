/*
 * dense/json.c - the dense kind's JSON description: reading a description
 * (or a whole text form with weights) into an image, writing an image back
 * as its text form, and the info() summary.  See dense/json.h.
 */
#include "core/dense/json.h"

#include <stdio.h>
#include <string.h>

#include "core/dense/dtype.h"
#include "core/dense/kind.h"

static const char *const spec_keys[] = {
	"format", "kind", "layers", "activation", "loss", "input_scaling",
	"seed", "trained", "setup", "dtype", NULL
};
static const char *const layer_keys[] = {"count", "activation", "name", NULL};
/* a reshape's description: layers only, and "from" on a layer */
static const char *const reshape_keys[] = {
	"format", "kind", "layers", "activation", "loss", "seed", NULL
};
static const char *const reshape_layer_keys[] = {
	"count", "activation", "name", "from", NULL
};
static const char *const custom_keys[] = {
	"name", "expression", "derivative", NULL
};
static const char *const setup_keys[] = {
	"input_fitted", "output_fitted", "input_clipped", "pow2_shadow", "data",
	NULL
};

/* Prefix err's message with the custom activation's name. */
static HnStatus
CustomError(HnError *err, const char *name)
{
	char		msg[HANAMI_ERRMSG_LEN];

	if (err == NULL)
		return HANAMI_E_INVALID_SPEC;
	snprintf(msg, sizeof(msg), "custom activation \"%.63s\": %.150s", name,
			 err->message);
	snprintf(err->message, sizeof(err->message), "%s", msg);
	return err->code;
}

/*
 * A custom activation given as {"name", "expression", "derivative"}:
 * compiled, checked as a pair (HnExprCheckPair) and added to spec.
 */
static HnStatus
ReadCustom(const HnJson *v, DenseSpec *spec, uint16_t *program, HnError *err)
{
	DenseProgram p;
	const char *name;
	const char *text;
	const HnJson *f;
	HnStatus	st;

	memset(&p, 0, sizeof(p));
	if ((st = HnJsonCheckKeys(v, "custom activation key", custom_keys,
							  err)) != HANAMI_OK)
		return st;
	if ((f = HnJsonGet(v, "name")) == NULL ||
		HnJsonGet(v, "expression") == NULL || HnJsonGet(v, "derivative") == NULL)
	{
		HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
				   "a custom activation needs \"name\", \"expression\" and \"derivative\"");
		return HnSetHint(err, "For example {\"name\": \"swish\", \"expression\": \"x * sigmoid(x)\", \"derivative\": \"sigmoid(x) * (1 + x * (1 - sigmoid(x)))\"}.");
	}
	if ((st = HnJsonString(f, "custom activation name", &name, err)) != HANAMI_OK)
		return st;
	if (name[0] == '\0' || strlen(name) >= DENSE_PROGRAM_NAME_LEN)
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "A custom activation's name has 1 to 63 characters.",
						  "invalid custom activation name");
	for (const char *c = name; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			return HnSetError(err, HANAMI_E_INVALID_SPEC,
							  "A custom activation's name is printable ASCII.",
							  "invalid custom activation name");
	if (ActFromName(name) != HANAMI_ACT_DEFAULT || strcmp(name, "custom") == 0)
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "Built-in activations keep their names.",
						  "custom activation name \"%s\" is taken by a built-in activation",
						  name);
	memcpy(p.name, name, strlen(name));
	if ((st = HnJsonString(HnJsonGet(v, "expression"), "expression", &text,
						   err)) != HANAMI_OK ||
		(st = HnExprCompile(text, false, &p.f, err)) != HANAMI_OK)
		return st == HANAMI_OK ? st : CustomError(err, name);
	if ((st = HnJsonString(HnJsonGet(v, "derivative"), "derivative", &text,
						   err)) != HANAMI_OK ||
		(st = HnExprCompile(text, true, &p.df, err)) != HANAMI_OK)
		return CustomError(err, name);
	if ((st = HnExprCheckPair(&p.f, &p.df, err)) != HANAMI_OK)
		return CustomError(err, name);
	return DenseSpecAddProgram(spec, &p, program, err);
}

/*
 * An activation: a built-in name, or a custom activation as an object
 * (then *act is CUSTOM and *program its index in spec); else an error
 * listing the valid ones.
 */
static HnStatus
ReadActivation(const HnJson *v, const char *what, DenseSpec *spec,
			   HnActivation *act, uint16_t *program, HnError *err)
{
	const char *name;
	HnStatus	st;
	char		list[HANAMI_ERRMSG_LEN];
	char		hint[HANAMI_ERRHINT_LEN];
	size_t		at = 0;

	*program = 0;
	if (v->type == HN_JSON_OBJECT)
	{
		*act = HANAMI_ACT_CUSTOM;
		return ReadCustom(v, spec, program, err);
	}
	if ((st = HnJsonString(v, what, &name, err)) != HANAMI_OK)
		return st;
	*act = ActFromName(name);
	if (*act != HANAMI_ACT_DEFAULT)
		return HANAMI_OK;

	list[0] = '\0';
	for (int a = HANAMI_ACT_IDENTITY; a < HANAMI_ACT_CUSTOM && at < sizeof(list); a++)
		at += (size_t) snprintf(list + at, sizeof(list) - at, "%s%s",
								a == HANAMI_ACT_IDENTITY ? "" : ", ",
								ActName((HnActivation) a));
	snprintf(hint, sizeof(hint),
			 "Valid activations are: %s. A custom activation is given inline, {\"name\": \"%.63s\", \"expression\": ..., \"derivative\": ...}; hanami.activation('%.63s') returns a stored one so.",
			 list, name, name);
	HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
			   "unknown activation \"%s\"", name);
	return HnSetHint(err, hint);
}

/*
 * One element of "layers" into ls; *named says whether it named its
 * activation.
 */
static HnStatus
ReadLayer(const HnJson *v, int idx, HnActivation hidden_default,
		  uint16_t hidden_program, DenseSpec *spec, DenseLayerSpec *ls,
		  bool *named, const HnJson **from, HnError *err)
{
	char		what[64];
	const HnJson *f;
	HnStatus	st;

	snprintf(what, sizeof(what), "unit count of layer %d", idx);
	memset(ls, 0, sizeof(*ls));
	ls->activation = idx == 0 ? HANAMI_ACT_DEFAULT : hidden_default;
	ls->program = idx == 0 ? 0 : hidden_program;
	*named = false;

	if (v->type == HN_JSON_NUMBER)
		return HnJsonU32(v, what, 1, HANAMI_MAX_UNITS, &ls->count, err);
	if (v->type != HN_JSON_OBJECT)
		return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
						  "layer %d must be a unit count or an object", idx);

	if ((st = HnJsonCheckKeys(v, "layer key",
							  from ? reshape_layer_keys : layer_keys,
							  err)) != HANAMI_OK)
		return st;
	if (from)
		*from = HnJsonGet(v, "from");
	if ((f = HnJsonGet(v, "count")) == NULL)
		return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
						  "layer %d has no \"count\"", idx);
	if ((st = HnJsonU32(f, what, 1, HANAMI_MAX_UNITS, &ls->count, err)) != HANAMI_OK)
		return st;
	if ((f = HnJsonGet(v, "activation")) != NULL)
	{
		if ((st = ReadActivation(f, "activation", spec, &ls->activation,
								 &ls->program, err)) != HANAMI_OK)
			return st;
		*named = true;
	}
	if ((f = HnJsonGet(v, "name")) != NULL &&
		(st = HnJsonName(f, "layer", ls->name, err)) != HANAMI_OK)
		return st;
	return HANAMI_OK;
}

/*
 * Fill spec from the object; *setup and *trained: those members or NULL.
 * With rin (a reshape's description), only the keys of one are taken, and
 * rin says which activations were named and where each layer comes "from".
 */
static HnStatus
ReadSpec(const HnJson *root, DenseSpec *spec, const HnJson **setup,
		 const HnJson **trained, DenseReshapeIn *rin, HnError *err)
{
	const HnJson *v;
	HnActivation hidden_default = HANAMI_ACT_DEFAULT;
	uint16_t	hidden_program = 0;
	bool		named = false;
	HnStatus	st;

	if ((st = HnJsonCheckKeys(root, rin ? "reshape key" : "network key",
							  rin ? reshape_keys : spec_keys, err)) != HANAMI_OK)
	{
		if (rin)
			HnSetHint(err, "A reshape describes layers: \"layers\" (each a count or {\"count\", \"activation\", \"name\", \"from\"}), and optionally \"activation\", \"loss\" and \"seed\".");
		return st;
	}
	memset(spec, 0, sizeof(*spec));
	if (rin)
		memset(rin, 0, sizeof(*rin));
	spec->input_scaling = true;

	if ((st = NetJsonCheckFormat(root, err)) != HANAMI_OK)
		return st;
	/* "kind" is "dense": the registry chose this kind by it */

	if ((v = HnJsonGet(root, "activation")) != NULL)
	{
		if ((st = ReadActivation(v, "activation", spec, &hidden_default,
								 &hidden_program, err)) != HANAMI_OK)
			return st;
		if (rin)
			rin->hidden_named = true;
	}

	v = HnJsonGet(root, "layers");
	if (v == NULL)
	{
		HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
				   "network has no \"layers\"");
		return HnSetHint(err, "Give at least an input and an output layer, as in {\"layers\": [4, 8, 3]}.");
	}
	if ((st = HnJsonArray(v, "\"layers\"", err)) != HANAMI_OK)
		return st;
	for (size_t i = 0; i < v->n; i++)
	{
		if (i >= HANAMI_MAX_LAYERS)
		{
			char		detail[HANAMI_ERRMSG_LEN];

			snprintf(detail, sizeof(detail), "A network has at most %d layers.",
					 HANAMI_MAX_LAYERS);
			return HnSetError(err, HANAMI_E_TOO_LARGE, detail, "too many layers");
		}
		if ((st = ReadLayer(&v->u.items[i], (int) i, hidden_default,
							hidden_program, spec, &spec->layers[i], &named,
							rin ? &rin->from[i] : NULL, err)) != HANAMI_OK)
			return st;
		if (rin)
			rin->act_named[i] = named;
	}
	spec->n_layers = (int) v->n;
	/* the top-level "activation" is for hidden layers, not the output */
	if (spec->n_layers >= 2 && !named)
		spec->layers[spec->n_layers - 1].activation = HANAMI_ACT_DEFAULT;

	if ((v = HnJsonGet(root, "loss")) != NULL)
	{
		const char *name;

		if ((st = HnJsonString(v, "loss", &name, err)) != HANAMI_OK)
			return st;
		spec->loss = LossFromName(name);
		if (spec->loss == HANAMI_LOSS_DEFAULT)
		{
			HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
					   "unknown loss \"%s\"", name);
			return HnSetHint(err, "Valid losses are: mse, cross_entropy.");
		}
	}
	if ((v = HnJsonGet(root, "input_scaling")) != NULL &&
		(st = HnJsonBool(v, "input_scaling", &spec->input_scaling, err)) != HANAMI_OK)
		return st;
	if ((v = HnJsonGet(root, "seed")) != NULL)
	{
		if ((st = HnJsonU32(v, "seed", 0, UINT32_MAX, &spec->seed, err)) != HANAMI_OK)
			return st;
		if (rin)
			rin->has_seed = true;
	}

	if ((v = HnJsonGet(root, "dtype")) != NULL)
	{
		const char *name;
		char		hint[HANAMI_ERRMSG_LEN];

		if ((st = HnJsonString(v, "dtype", &name, err)) != HANAMI_OK)
			return st;
		spec->dtype = DenseDtypeFromName(name);
		if (spec->dtype < 0)
		{
			snprintf(hint, sizeof(hint), "Valid dtypes are: %s.",
					 DenseDtypeList());
			HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
					   "unknown dtype \"%s\"", name);
			return HnSetHint(err, hint);
		}
	}

	*setup = HnJsonGet(root, "setup");
	*trained = HnJsonGet(root, "trained");
	return HANAMI_OK;
}

/*
 * "dtype": "pow2" describes a network trained for pow2 weights (float
 * shadow weights) unless a text form's setup holds packed pow2 weights
 * ("pow2_shadow" absent or false).
 */
static HnStatus
ResolveDtype(DenseSpec *spec, const HnJson *setup, HnError *err)
{
	const HnJson *v;
	bool		shadow = setup == NULL;
	HnStatus	st;

	if (setup != NULL && setup->type == HN_JSON_OBJECT &&
		(v = HnJsonGet(setup, "pow2_shadow")) != NULL &&
		(st = HnJsonBool(v, "setup.pow2_shadow", &shadow, err)) != HANAMI_OK)
		return st;
	if (spec->dtype == DENSE_DTYPE_POW2 && shadow)
	{
		spec->dtype = DENSE_DTYPE_F32;
		spec->pow2_qat = true;
	}
	else if (shadow && setup != NULL)
		return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
						  "setup.pow2_shadow needs \"dtype\": \"pow2\"");
	if (setup == NULL && spec->dtype != DENSE_DTYPE_F32)
	{
		HnSetError(err, HANAMI_E_INVALID_SPEC,
				   "Networks are created with float32 weights, or with \"dtype\": \"pow2\" trained for pow2 weights.",
				   "a new network cannot have %s weights",
				   DenseDtypeName(spec->dtype));
		return HnSetHint(err, "Train a float32 network, then convert it with hanami.quantize(net, dtype).");
	}
	return HANAMI_OK;
}

/* A reshape's description (json.h). */
HnStatus
DenseReadReshape(const HnJson *root, DenseSpec *spec, DenseReshapeIn *rin,
				 HnError *err)
{
	const HnJson *setup = NULL;
	const HnJson *trained = NULL;

	return ReadSpec(root, spec, &setup, &trained, rin, err);
}

/* Apply "trained" and "setup" (weights) to a freshly created image. */
static HnStatus
ApplySetup(DenseNet *net, const DenseSpec *spec, const HnJson *setup,
		   const HnJson *trained, HnError *err)
{
	const HnJson *v;
	HnStatus	st;

	if (trained &&
		(st = NetJsonReadTrained(trained, net->hdr, err)) != HANAMI_OK)
		return st;
	if (setup)
	{
		size_t		off = DenseScalingOffset(net->hdr->n_layers);
		size_t		prog = (size_t) spec->n_programs * sizeof(DenseProgram);
		size_t		want = net->hdr->total_size - off - prog;
		char	   *to = (char *) net->hdr + off + prog;
		const char *data;
		size_t		len;
		size_t		about;

		if ((st = HnJsonObject(setup, "\"setup\"", err)) != HANAMI_OK ||
			(st = HnJsonCheckKeys(setup, "\"setup\" key", setup_keys, err)) != HANAMI_OK ||
			(st = NetJsonReadFlag(setup, "input_fitted", HANAMI_FLAG_INPUT_FITTED,
								   net->hdr, err)) != HANAMI_OK ||
			(st = NetJsonReadFlag(setup, "output_fitted", HANAMI_FLAG_OUTPUT_FITTED,
								   net->hdr, err)) != HANAMI_OK ||
			(st = NetJsonReadFlag(setup, "input_clipped", HANAMI_FLAG_INPUT_CLIP,
								   net->hdr, err)) != HANAMI_OK)
			return st;
		if ((v = HnJsonGet(setup, "data")) == NULL)
			return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
							  "\"setup\" has no \"data\"");
		if ((st = HnJsonString(v, "setup.data", &data, err)) != HANAMI_OK)
			return st;
		len = v->n;
		about = HnBase64DecodedLen(len);
		if (about < want || about > want + 3)
		{
			char		detail[HANAMI_ERRMSG_LEN];

			snprintf(detail, sizeof(detail),
					 "The layers need %zu bytes of weights; setup.data holds about %zu.",
					 want, about);
			return HnSetError(err, HANAMI_E_MALFORMED_SPEC, detail,
							  "setup.data does not match the layers");
		}
		/* data holds the scaling and the parameters, not the programs:
		 * decode it behind them, then move the scaling into place */
		if (HnBase64Decode(data, len, to, want) != (int64_t) want)
			return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
							  "setup.data is not valid base64 of %zu bytes", want);
		if (prog > 0)
		{
			memmove((char *) net->hdr + off, to,
					(size_t) ((char *) net->params - (char *) net->hdr) - off - prog);
			memcpy(net->programs, spec->programs, prog);
		}
	}
	return HANAMI_OK;
}

/* The kind's from_json: a description or text form into a new image. */
HnStatus
DenseFromJson(const HnJson *root, const HnJsonIn *in,
			  const HnAllocator *alloc, void **image, size_t *len,
			  HnError *err)
{
	DenseSpec	spec;
	const HnJson *setup = NULL;
	const HnJson *trained = NULL;
	size_t		size;
	DenseNet	net;
	HnStatus	st;

	*image = NULL;
	*len = 0;
	if ((st = ReadSpec(root, &spec, &setup, &trained, NULL, err)) != HANAMI_OK)
		return st;
	if (in->has_seed)
		spec.seed = in->seed;
	if ((st = ResolveDtype(&spec, setup, err)) != HANAMI_OK)
		return st;
	if ((st = DenseSpecFinalize(&spec, err)) != HANAMI_OK)
		return st;
	if ((size = DenseImageSize(&spec, err)) == 0)
		return err->code;

	*image = HnAlloc(alloc, size);	/* the create functions write every byte */
	if (*image == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for a network of %zu bytes", size);
	/* a text form's data replaces every weight: none are drawn for it */
	st = setup ? DenseCreateLayout(*image, size, &spec, err) :
		DenseCreate(*image, size, &spec, err);
	if (st == HANAMI_OK)
	{
		DenseBindTrusted(&net, *image);
		st = ApplySetup(&net, &spec, setup, trained, err);
	}
	if (st != HANAMI_OK)
	{
		HnFree(alloc, *image);
		*image = NULL;
		return st;
	}
	*len = size;
	return HANAMI_OK;
}

/* A custom activation as {"name", "expression", "derivative"}. */
static void
AppendCustom(HnBuf *buf, const DenseProgram *p)
{
	char		text[HN_EXPR_MAX_TEXT * 4];

	HnBufAppend(buf, "{\"name\": ");
	HnBufJsonString(buf, p->name);
	HnBufAppend(buf, ", \"expression\": ");
	if (HnExprToText(&p->f, text, sizeof(text), NULL) != HANAMI_OK)
		text[0] = '\0';		/* checked programs always print */
	HnBufJsonString(buf, text);
	HnBufAppend(buf, ", \"derivative\": ");
	if (HnExprToText(&p->df, text, sizeof(text), NULL) != HANAMI_OK)
		text[0] = '\0';
	HnBufJsonString(buf, text);
	HnBufAppendChar(buf, '}');
}

/* Base64 of two byte ranges as if they were one. */
static void
DenseBase64Two(HnBuf *buf, const char *a, size_t na, const char *b, size_t nb)
{
	size_t		whole = na - na % 3;
	size_t		k = na - whole;

	HnBufBase64(buf, a, whole);
	if (k > 0)
	{
		char		mid[3];
		size_t		take = nb < 3 - k ? nb : 3 - k;

		memcpy(mid, a + whole, k);
		memcpy(mid + k, b, take);
		HnBufBase64(buf, mid, k + take);
		b += take;
		nb -= take;
	}
	HnBufBase64(buf, b, nb);
}

/* The layer list (shared by the text form and info). */
static void
AppendLayers(HnBuf *buf, const DenseNet *net, bool with_params)
{
	HnBufAppendChar(buf, '[');
	for (uint32_t l = 0; l < net->hdr->n_layers; l++)
	{
		const DenseLayer *ly = &net->layers[l];

		const DenseProgram *p = DenseProgramOf(net, (int) l);

		HnBufPrintf(buf, "%s{\"count\": %u, \"activation\": ",
					l ? ", " : "", ly->count);
		if (p != NULL)
			AppendCustom(buf, p);
		else
			HnBufJsonString(buf, ActName((HnActivation) ly->activation));
		if (ly->name[0])
		{
			HnBufAppend(buf, ", \"name\": ");
			HnBufJsonString(buf, ly->name);
		}
		if (with_params)
			HnBufPrintf(buf, ", \"parameters\": %llu",
						l == 0 ? 0ULL :
						(unsigned long long) (net->layers[l - 1].count + 1) * ly->count);
		HnBufAppendChar(buf, '}');
	}
	HnBufAppendChar(buf, ']');
}

static const char *
Bool(bool b)
{
	return b ? "true" : "false";
}

/* The kind's to_json: the text form (exact: floats travel as base64). */
HnStatus
DenseToJson(const HnNet *any, HnBuf *buf, HnError *err)
{
	const DenseNet *net = DenseOf(any);
	const HnHeader *h = net->hdr;
	size_t		off = DenseScalingOffset(h->n_layers);
	size_t		sbytes = (size_t) ((const char *) (net->programs ? (void *) net->programs : (void *) net->params) - ((const char *) h + off));
	size_t		pbytes = h->total_size - (size_t) ((const char *) net->params - (const char *) h);
	size_t		nbytes = sbytes + pbytes;

	if (nbytes > HN_TEXT_MAX / 4 * 3 - 1024)
	{
		HnSetError(err, HANAMI_E_TOO_LARGE, NULL,
				   "network is too large for its text form");
		return HnSetHint(err, "Use the binary form (COPY ... WITH (FORMAT binary)) or a cast to bytea.");
	}
	HnBufReserve(buf, HnBase64EncodedLen(nbytes) + 512 + 160 * (size_t) h->n_layers +
				 (size_t) net->n_programs * 2 * HN_EXPR_MAX_TEXT);
	HnBufPrintf(buf, "{\"format\": %d, \"kind\": \"dense\", \"layers\": ",
				HANAMI_FORMAT_VERSION);
	AppendLayers(buf, net, false);
	HnBufAppend(buf, ", \"loss\": ");
	HnBufJsonString(buf, LossName((HnLoss) h->loss));
	HnBufPrintf(buf, ", \"input_scaling\": %s, \"seed\": %u, ",
				Bool(h->flags & HANAMI_FLAG_SCALE_INPUT), h->seed);
	/* only for other dtypes: float32 networks keep their old text form */
	if (DenseDtypeOf(net) != DENSE_DTYPE_F32 || (h->flags & HANAMI_FLAG_POW2_QAT))
		HnBufPrintf(buf, "\"dtype\": \"%s\", ",
					(h->flags & HANAMI_FLAG_POW2_QAT) ? "pow2" :
					DenseDtypeName(DenseDtypeOf(net)));
	HnBufPrintf(buf, "\"trained\": {\"epochs\": %u, \"samples\": %llu}, "
				"\"setup\": {\"input_fitted\": %s, \"output_fitted\": %s",
				h->epochs, (unsigned long long) h->samples,
				Bool(h->flags & HANAMI_FLAG_INPUT_FITTED),
				Bool(h->flags & HANAMI_FLAG_OUTPUT_FITTED));
	/* only when set: networks that do not clip keep their old text form */
	if (h->flags & HANAMI_FLAG_INPUT_CLIP)
		HnBufAppend(buf, ", \"input_clipped\": true");
	if (h->flags & HANAMI_FLAG_POW2_QAT)
		HnBufAppend(buf, ", \"pow2_shadow\": true");
	/* data: the scaling and the parameters (the programs are above) */
	HnBufAppend(buf, ", \"data\": \"");
	if (net->n_programs == 0)
		HnBufBase64(buf, (const char *) h + off, nbytes);
	else
		DenseBase64Two(buf, (const char *) h + off, sbytes,
					   (const char *) net->params, pbytes);
	HnBufAppend(buf, "\"}}");
	return HnBufCheck(buf, err);
}

/* The kind's info: kind, sizes, layers, training counters. */
HnStatus
DenseInfoJson(const HnNet *any, HnBuf *buf, HnError *err)
{
	const DenseNet *net = DenseOf(any);
	const HnHeader *h = net->hdr;
	const char *scaling;

	if (!(h->flags & HANAMI_FLAG_SCALE_INPUT))
		scaling = "off";
	else if (h->flags & HANAMI_FLAG_INPUT_FITTED)
		scaling = "fitted";
	else
		scaling = "on first fit";

	HnBufPrintf(buf, "{\"kind\": \"dense\", \"format\": %d, \"inputs\": %u, "
				"\"outputs\": %u, \"layers\": ",
				(int) h->version, h->n_inputs, h->n_outputs);
	AppendLayers(buf, net, true);
	HnBufAppend(buf, ", \"loss\": ");
	HnBufJsonString(buf, LossName((HnLoss) h->loss));
	HnBufPrintf(buf, ", \"parameters\": %llu, \"bytes\": %llu, "
				"\"input_scaling\": \"%s\", \"output_scaling\": %s, "
				"\"seed\": %u, \"trained\": {\"epochs\": %u, \"samples\": %llu}, "
				"\"dtype\": \"%s\", \"weight_bytes\": %llu",
				(unsigned long long) h->n_params,
				(unsigned long long) h->total_size + HN_VALUE_HEADER,
				scaling,
				Bool(h->flags & HANAMI_FLAG_OUTPUT_FITTED),
				h->seed, h->epochs, (unsigned long long) h->samples,
				(h->flags & HANAMI_FLAG_POW2_QAT) ? "pow2" :
				DenseDtypeName(DenseDtypeOf(net)),
				(unsigned long long) (h->total_size -
									  (size_t) ((const char *) net->params -
												(const char *) h)));
	/* trained for pow2: float shadow weights until quantized */
	if (h->flags & HANAMI_FLAG_POW2_QAT)
		HnBufAppend(buf, ", \"pow2_shadow\": true");
	HnBufAppendChar(buf, '}');
	return HnBufCheck(buf, err);
}
