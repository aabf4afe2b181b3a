/*
 * spec.c - the JSON description of a network: reading a spec (or a full text
 * form with weights) into an image, writing an image back as JSON, and the
 * info() summary.
 *
 * Text form, written by HanamiNetworkToJson and read by
 * HanamiNetworkFromJsonb:
 *   {"format": 1, "kind": "dense",
 *    "layers": [{"count": 64, "activation": "identity"}, ...],
 *    "loss": "cross_entropy", "input_scaling": true, "seed": 42,
 *    "trained": {"epochs": 30, "samples": 40440},
 *    "setup": {"input_fitted": true, "output_fitted": false,
 *              "data": "<base64 of the scaling and parameter areas>"}}
 * A spec is the same object without setup and trained; layers may be plain
 * counts, and "activation" at the top names the hidden layers' default.
 */
#include "glue.h"
#include "core/dense/kind.h"
#include "hanami_glue.h"

#include "common/base64.h"
#include "lib/stringinfo.h"
#include "utils/memutils.h"

static const char *const spec_keys[] = {
	"format", "kind", "layers", "activation", "loss", "input_scaling",
	"seed", "trained", "setup", NULL
};
static const char *const layer_keys[] = {"count", "activation", "name", NULL};
static const char *const trained_keys[] = {"epochs", "samples", NULL};
static const char *const setup_keys[] = {
	"input_fitted", "output_fitted", "input_clipped", "data", NULL
};

/* Error for an invalid spec, with the given errcode. */
#define SPEC_ERROR(code, ...) \
	ereport(ERROR, (errcode(code), errmsg(__VA_ARGS__)))

/* Parse an activation name, erroring with the list of valid ones. */
static HnActivation
ParseActivation(JsonbValue *v, const char *what, int sqlstate)
{
	char	   *name = HanamiJsonbString(v, what);
	HnActivation act = ActFromName(name);

	if (act == HANAMI_ACT_DEFAULT)
	{
		StringInfoData list;

		initStringInfo(&list);
		for (int a = HANAMI_ACT_IDENTITY; a < HANAMI_ACT_COUNT_; a++)
			appendStringInfo(&list, "%s%s", a == HANAMI_ACT_IDENTITY ? "" : ", ",
							 ActName(a));
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("unknown activation \"%s\"", name),
				 errhint("Valid activations are: %s.", list.data)));
	}
	return act;
}

/*
 * Read one element of "layers" into ls; returns whether it named its
 * activation.
 */
static bool
ParseLayer(JsonbValue *v, int idx, HnActivation hidden_default,
		   DenseLayerSpec *ls, int sqlstate)
{
	char		what[64];

	snprintf(what, sizeof(what), "unit count of layer %d", idx);
	memset(ls, 0, sizeof(*ls));
	ls->activation = idx == 0 ? HANAMI_ACT_DEFAULT : hidden_default;

	if (v->type == jbvNumeric)
	{
		ls->count = (uint32) HanamiJsonbInt(v, what, 1, HANAMI_MAX_UNITS);
		return false;
	}
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		SPEC_ERROR(sqlstate, "layer %d must be a unit count or an object", idx);

	{
		JsonbContainer *obj = v->val.binary.data;
		JsonbValue *f;

		HanamiJsonbCheckKeys(obj, "layer key", layer_keys);
		f = HanamiJsonbGet(obj, "count");
		if (!f)
			SPEC_ERROR(sqlstate, "layer %d has no \"count\"", idx);
		ls->count = (uint32) HanamiJsonbInt(f, what, 1, HANAMI_MAX_UNITS);

		if ((f = HanamiJsonbGet(obj, "activation")) != NULL)
			ls->activation = ParseActivation(f, "activation", sqlstate);

		if ((f = HanamiJsonbGet(obj, "name")) != NULL)
			HanamiJsonbName(f, "layer", ls->name, sqlstate);
		return HanamiJsonbGet(obj, "activation") != NULL;
	}
}

/* Fill spec from the object; returns the "setup" and "trained" values. */
static void
ParseSpec(JsonbContainer *root, DenseSpec *spec, JsonbValue **setup,
		  JsonbValue **trained, int sqlstate)
{
	JsonbValue *v;
	HnActivation hidden_default = HANAMI_ACT_DEFAULT;
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken tok;
	int			n = 0;
	bool		named_activation = false;

	HanamiJsonbCheckKeys(root, "network key", spec_keys);
	memset(spec, 0, sizeof(*spec));
	spec->input_scaling = true;

	if ((v = HanamiJsonbGet(root, "format")) != NULL &&
		HanamiJsonbInt(v, "format", 0, INT32_MAX) != HANAMI_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("unsupported network format version"),
				 errdetail("This build reads format %d.", HANAMI_FORMAT_VERSION)));

	if ((v = HanamiJsonbGet(root, "kind")) != NULL)
	{
		char	   *kind = HanamiJsonbString(v, "kind");

		/* "hanami" never gets here: HanamiNetworkFromJsonb dispatches */
		if (strcmp(kind, "dense") != 0)
			ereport(ERROR,
					(errcode(sqlstate),
					 errmsg("unknown network kind \"%s\"", kind),
					 errhint("Valid kinds are: dense, hanami.")));
	}

	if ((v = HanamiJsonbGet(root, "activation")) != NULL)
		hidden_default = ParseActivation(v, "activation", sqlstate);

	v = HanamiJsonbGet(root, "layers");
	if (!v)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("network has no \"layers\""),
				 errhint("Give at least an input and an output layer, as in {\"layers\": [4, 8, 3]}.")));
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		SPEC_ERROR(sqlstate, "\"layers\" must be an array");

	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (n >= HANAMI_MAX_LAYERS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many layers"),
					 errdetail("A network has at most %d layers.", HANAMI_MAX_LAYERS)));
		named_activation = ParseLayer(&elem, n, hidden_default,
									  &spec->layers[n], sqlstate);
		n++;
	}
	spec->n_layers = n;
	/* the top-level "activation" is for hidden layers, not the output */
	if (n >= 2 && !named_activation)
		spec->layers[n - 1].activation = HANAMI_ACT_DEFAULT;

	if ((v = HanamiJsonbGet(root, "loss")) != NULL)
	{
		char	   *name = HanamiJsonbString(v, "loss");

		spec->loss = LossFromName(name);
		if (spec->loss == HANAMI_LOSS_DEFAULT)
			ereport(ERROR,
					(errcode(sqlstate),
					 errmsg("unknown loss \"%s\"", name),
					 errhint("Valid losses are: mse, cross_entropy.")));
	}
	if ((v = HanamiJsonbGet(root, "input_scaling")) != NULL)
		spec->input_scaling = HanamiJsonbBool(v, "input_scaling");
	if ((v = HanamiJsonbGet(root, "seed")) != NULL)
		spec->seed = (uint32) HanamiJsonbInt(v, "seed", 0, PG_UINT32_MAX);

	*setup = HanamiJsonbGet(root, "setup");
	*trained = HanamiJsonbGet(root, "trained");
}

/* Object container of v, or an error naming what. */
static JsonbContainer *
ObjectOf(JsonbValue *v, const char *what, int sqlstate)
{
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		SPEC_ERROR(sqlstate, "\"%s\" must be an object", what);
	return v->val.binary.data;
}

/* Apply "trained" and "setup" (weights) to a freshly created image. */
static void
ApplySetup(DenseNet *net, JsonbValue *setup, JsonbValue *trained, int sqlstate)
{
	if (trained)
	{
		JsonbContainer *obj = ObjectOf(trained, "trained", sqlstate);
		JsonbValue *v;

		HanamiJsonbCheckKeys(obj, "\"trained\" key", trained_keys);
		if ((v = HanamiJsonbGet(obj, "epochs")) != NULL)
			net->hdr->epochs = (uint32) HanamiJsonbInt(v, "trained.epochs", 0, PG_UINT32_MAX);
		if ((v = HanamiJsonbGet(obj, "samples")) != NULL)
			net->hdr->samples = HanamiJsonbUint64(v, "trained.samples");
	}
	if (setup)
	{
		JsonbContainer *obj = ObjectOf(setup, "setup", sqlstate);
		JsonbValue *v;
		size_t		off = DenseScalingOffset(net->hdr->n_layers);
		size_t		want = net->hdr->total_size - off;
		char	   *data;
		int			len;
		int			got;

		HanamiJsonbCheckKeys(obj, "\"setup\" key", setup_keys);
		if ((v = HanamiJsonbGet(obj, "input_fitted")) != NULL &&
			HanamiJsonbBool(v, "setup.input_fitted"))
			net->hdr->flags |= HANAMI_FLAG_INPUT_FITTED;
		if ((v = HanamiJsonbGet(obj, "output_fitted")) != NULL &&
			HanamiJsonbBool(v, "setup.output_fitted"))
			net->hdr->flags |= HANAMI_FLAG_OUTPUT_FITTED;
		if ((v = HanamiJsonbGet(obj, "input_clipped")) != NULL &&
			HanamiJsonbBool(v, "setup.input_clipped"))
			net->hdr->flags |= HANAMI_FLAG_INPUT_CLIP;
		if ((v = HanamiJsonbGet(obj, "data")) == NULL)
			SPEC_ERROR(sqlstate, "\"setup\" has no \"data\"");
		data = HanamiJsonbString(v, "setup.data");
		len = (int) strlen(data);
		if ((size_t) pg_b64_dec_len(len) < want ||
			(size_t) pg_b64_dec_len(len) > want + 3)
			ereport(ERROR,
					(errcode(sqlstate),
					 errmsg("setup.data does not match the layers"),
					 errdetail("The layers need %zu bytes of weights; setup.data holds about %d.",
							   want, pg_b64_dec_len(len))));
		got = pg_b64_decode(data, len, (char *) net->hdr + off, (int) want);
		if (got < 0 || (size_t) got != want)
			ereport(ERROR,
					(errcode(sqlstate),
					 errmsg("setup.data is not valid base64 of %zu bytes", want)));
	}
}

/*
 * Build a network from a JSON spec or text form.  has_seed/seed override
 * the spec's seed.  sqlstate is used for malformed input
 * (ERRCODE_INVALID_TEXT_REPRESENTATION for type input).
 */
HanamiNetwork *
HanamiNetworkFromJsonb(Jsonb *jb, bool has_seed, uint32 seed, int sqlstate)
{
	DenseSpec	   *spec = palloc(sizeof(DenseSpec));
	JsonbValue *setup;
	JsonbValue *trained;
	HnError		err;
	size_t		size;
	HanamiNetwork *result;
	DenseNet		net;

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("network description must be a JSON object"),
				 errhint("For example {\"layers\": [4, 8, 3]}.")));
	if (HanamiSpecIsHk(jb))
		return HanamiHkFromJsonb(jb, has_seed, seed, sqlstate);

	ParseSpec(&jb->root, spec, &setup, &trained, sqlstate);
	if (has_seed)
		spec->seed = seed;

	if (DenseSpecFinalize(spec, &err) != HANAMI_OK)
		HanamiReportError(&err, 0);
	size = DenseImageSize(spec, &err);
	if (size == 0)
		HanamiReportError(&err, 0);

	result = palloc0(size + VARHDRSZ);
	SET_VARSIZE(result, size + VARHDRSZ);
	if (DenseCreate(HANAMI_NET_IMAGE(result), size, spec, &err) != HANAMI_OK)
		HanamiReportError(&err, 0);

	DenseBindTrusted(&net, HANAMI_NET_IMAGE(result));
	ApplySetup(&net, setup, trained, sqlstate);
	/* weights from text are untrusted: run the one validation path */
	{
		HnNet		check;

		HanamiNetworkBind(result, &check, sqlstate);
	}
	pfree(spec);
	return result;
}

/* Append the layer list (shared by the text form and info). */
static void
AppendLayers(StringInfo buf, const DenseNet *net, bool with_params)
{
	appendStringInfoChar(buf, '[');
	for (uint32 l = 0; l < net->hdr->n_layers; l++)
	{
		const DenseLayer *ly = &net->layers[l];

		appendStringInfo(buf, "%s{\"count\": %u, \"activation\": ",
						 l ? ", " : "", ly->count);
		HanamiAppendJsonString(buf, ActName(ly->activation));
		if (ly->name[0])
		{
			appendStringInfoString(buf, ", \"name\": ");
			HanamiAppendJsonString(buf, ly->name);
		}
		if (with_params)
			appendStringInfo(buf, ", \"parameters\": %llu",
							 l == 0 ? 0ULL :
							 (unsigned long long) (net->layers[l - 1].count + 1) * ly->count);
		appendStringInfoChar(buf, '}');
	}
	appendStringInfoChar(buf, ']');
}

/* The text form of a bound network (exact: floats travel as base64). */
char *
HanamiNetworkToJson(const HnNet *any)
{
	StringInfoData buf;
	const DenseNet *net = DenseOf(any);
	const HnHeader *h = any->hdr;
	size_t		off;
	size_t		nbytes;

	if (net == NULL)
		return HanamiHkToJson(any);
	off = DenseScalingOffset(h->n_layers);
	nbytes = h->total_size - off;

	if (nbytes > (size_t) (MaxAllocSize / 4 * 3 - 1024))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("network is too large for its text form"),
				 errhint("Use the binary form (COPY ... WITH (FORMAT binary)) or a cast to bytea.")));

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"format\": %d, \"kind\": \"dense\", \"layers\": ",
					 HANAMI_FORMAT_VERSION);
	AppendLayers(&buf, net, false);
	appendStringInfoString(&buf, ", \"loss\": ");
	HanamiAppendJsonString(&buf, LossName(h->loss));
	appendStringInfo(&buf, ", \"input_scaling\": %s, \"seed\": %u, "
					 "\"trained\": {\"epochs\": %u, \"samples\": %llu}, "
					 "\"setup\": {\"input_fitted\": %s, \"output_fitted\": %s",
					 (h->flags & HANAMI_FLAG_SCALE_INPUT) ? "true" : "false",
					 h->seed, h->epochs, (unsigned long long) h->samples,
					 (h->flags & HANAMI_FLAG_INPUT_FITTED) ? "true" : "false",
					 (h->flags & HANAMI_FLAG_OUTPUT_FITTED) ? "true" : "false");
	/* only when set: networks that do not clip keep their old text form */
	if (h->flags & HANAMI_FLAG_INPUT_CLIP)
		appendStringInfoString(&buf, ", \"input_clipped\": true");
	appendStringInfoString(&buf, ", \"data\": \"");

	HanamiAppendBase64(&buf, (const char *) h + off, nbytes);
	appendStringInfoString(&buf, "\"}}");
	return buf.data;
}

/* A jsonb summary of a network: kind, sizes, layers, training counters. */
Jsonb *
HanamiNetworkInfo(const HnNet *any)
{
	StringInfoData buf;
	const DenseNet *net = DenseOf(any);
	const HnHeader *h = any->hdr;
	const char *scaling;

	if (net == NULL)
		return HanamiHkInfo(any);
	if (!(h->flags & HANAMI_FLAG_SCALE_INPUT))
		scaling = "off";
	else if (h->flags & HANAMI_FLAG_INPUT_FITTED)
		scaling = "fitted";
	else
		scaling = "on first fit";

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"kind\": \"dense\", \"format\": %d, \"inputs\": %u, "
					 "\"outputs\": %u, \"layers\": ",
					 HANAMI_FORMAT_VERSION, h->n_inputs, h->n_outputs);
	AppendLayers(&buf, net, true);
	appendStringInfoString(&buf, ", \"loss\": ");
	HanamiAppendJsonString(&buf, LossName(h->loss));
	appendStringInfo(&buf, ", \"parameters\": %llu, \"bytes\": %llu, "
					 "\"input_scaling\": \"%s\", \"output_scaling\": %s, "
					 "\"seed\": %u, \"trained\": {\"epochs\": %u, \"samples\": %llu}}",
					 (unsigned long long) h->n_params,
					 (unsigned long long) h->total_size + VARHDRSZ,
					 scaling,
					 (h->flags & HANAMI_FLAG_OUTPUT_FITTED) ? "true" : "false",
					 h->seed, h->epochs, (unsigned long long) h->samples);
	return HanamiJsonbFromCString(buf.data);
}
