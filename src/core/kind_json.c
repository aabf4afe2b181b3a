/*
 * kind_json.c - networks from and to JSON through the kind registry: the
 * "kind" key picks the kind whose from_json reads the rest, and every image
 * read goes through NetBind.  See json.h.
 */
#include "core/json.h"

#include <stdio.h>
#include <string.h>

/* The kind of a description without "kind". */
#define DEFAULT_KIND "dense"

/*
 * The kind of a description without "kind": "graph" when a layer object
 * says "from", "input", "output", "net", "frozen" or "fixed_scaling"
 * (which only graphs read), else dense.
 */
static const char *
DefaultKind(const HnJson *root)
{
	const HnJson *layers = HnJsonGet(root, "layers");

	if (layers == NULL || layers->type != HN_JSON_ARRAY)
		return DEFAULT_KIND;
	for (size_t i = 0; i < layers->n; i++)
	{
		const HnJson *ly = &layers->u.items[i];

		if (ly->type == HN_JSON_OBJECT &&
			(HnJsonGet(ly, "from") != NULL || HnJsonGet(ly, "input") != NULL ||
			 HnJsonGet(ly, "output") != NULL || HnJsonGet(ly, "net") != NULL ||
			 HnJsonGet(ly, "frozen") != NULL ||
			 HnJsonGet(ly, "fixed_scaling") != NULL))
			return "graph";
	}
	return DEFAULT_KIND;
}

/* "dense, hanami" */
static void
KindList(char *buf, size_t len)
{
	size_t		at = 0;

	buf[0] = '\0';
	for (int i = 0; i < HnKindCount() && at < len; i++)
		at += (size_t) snprintf(buf + at, len - at, "%s%s", i ? ", " : "",
								HnKindAt(i)->name);
}

HnStatus
NetJsonCheckFormat(const HnJson *root, HnError *err)
{
	const HnJson *v = HnJsonGet(root, "format");
	int64_t		format;
	HnStatus	st;
	char		detail[HANAMI_ERRMSG_LEN];

	if (v == NULL)
		return HANAMI_OK;
	if ((st = HnJsonInt(v, "format", 0, INT32_MAX, &format, err)) != HANAMI_OK)
		return st;
	if (format == HANAMI_FORMAT_VERSION)
		return HANAMI_OK;
	snprintf(detail, sizeof(detail), "This build reads format %d.",
			 HANAMI_FORMAT_VERSION);
	return HnSetError(err, HANAMI_E_UNSUPPORTED, detail,
					  "unsupported network format version");
}

HnStatus
NetFromJsonValue(const HnJson *root, const HnJsonIn *in,
				 const HnAllocator *alloc, void **image, size_t *image_len,
				 HnError *err)
{
	const HnJson *v;
	const HnKind *kind;
	const char *name = DEFAULT_KIND;
	HnJsonIn	none = {false, 0};
	HnNet		net;
	HnStatus	st;

	*image = NULL;
	*image_len = 0;
	if (root == NULL || root->type != HN_JSON_OBJECT)
	{
		HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
				   "network description must be a JSON object");
		return HnSetHint(err, "For example {\"layers\": [4, 8, 3]}.");
	}
	if ((v = HnJsonGet(root, "kind")) != NULL)
	{
		if ((st = HnJsonString(v, "kind", &name, err)) != HANAMI_OK)
			return st;
	}
	else
		name = DefaultKind(root);
	kind = HnKindByName(name);
	if (kind == NULL)
	{
		char		list[128];
		char		hint[HANAMI_ERRMSG_LEN];

		KindList(list, sizeof(list));
		snprintf(hint, sizeof(hint), "Valid kinds are: %s.", list);
		HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
				   "unknown network kind \"%s\"", name);
		return HnSetHint(err, hint);
	}
	if (kind->from_json == NULL)
		return HnSetError(err, HANAMI_E_UNSUPPORTED, NULL,
						  "networks of kind \"%s\" cannot be read from JSON",
						  kind->name);

	st = kind->from_json(root, in ? in : &none, alloc, image, image_len, err);
	if (st != HANAMI_OK)
	{
		HnFree(alloc, *image);
		*image = NULL;
		*image_len = 0;
		return st;
	}
	/* weights from text are untrusted: the one validation path */
	if ((st = NetBind(&net, *image, *image_len, err)) != HANAMI_OK)
	{
		HnFree(alloc, *image);
		*image = NULL;
		*image_len = 0;
	}
	return st;
}

HnStatus
NetFromJson(const char *text, size_t len, const HnJsonIn *in,
			const HnAllocator *alloc, void **image, size_t *image_len,
			HnError *err)
{
	HnJsonDoc	doc;
	HnStatus	st;

	*image = NULL;
	*image_len = 0;
	if ((st = HnJsonParse(text, len, alloc, &doc, err)) != HANAMI_OK)
		return st;
	st = NetFromJsonValue(doc.root, in, alloc, image, image_len, err);
	HnJsonFree(&doc);
	return st;
}

HnStatus
NetToJson(const HnNet *net, HnBuf *out, HnError *err)
{
	if (net->kind->to_json == NULL)
		return HnSetError(err, HANAMI_E_UNSUPPORTED, NULL,
						  "networks of kind \"%s\" have no text form",
						  net->kind->name);
	return net->kind->to_json(net, out, err);
}

HnStatus
NetInfo(const HnNet *net, HnBuf *out, HnError *err)
{
	if (net->kind->info == NULL)
		return HnSetError(err, HANAMI_E_UNSUPPORTED, NULL,
						  "networks of kind \"%s\" have no summary",
						  net->kind->name);
	return net->kind->info(net, out, err);
}

HnStatus
NetReshape(const HnNet *net, const HnJson *spec, const HnAllocator *alloc,
		   void **image, size_t *len, HnBuf *changes, HnError *err)
{
	const HnJson *v;
	const char *name;
	HnNet		check;
	HnStatus	st;

	*image = NULL;
	*len = 0;
	if (net->kind->reshape == NULL)
	{
		HnSetError(err, HANAMI_E_UNSUPPORTED,
				   "This kind of network has no reshape operation.",
				   "reshape is not supported for kind %s", net->kind->name);
		return HnSetHint(err, "For another layout create a new model with hanami.create_model().");
	}
	if (spec == NULL || spec->type != HN_JSON_OBJECT)
	{
		HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
				   "reshape description must be a JSON object");
		return HnSetHint(err, "For example {\"layers\": [64, 48, 32, 10]}.");
	}
	if ((v = HnJsonGet(spec, "kind")) != NULL)
	{
		if ((st = HnJsonString(v, "kind", &name, err)) != HANAMI_OK)
			return st;
		if (strcmp(name, net->kind->name) != 0)
			return HnSetError(err, HANAMI_E_INVALID_SPEC,
							  "A reshape keeps the kind of the network; leave \"kind\" out or name the network's own.",
							  "cannot reshape a network of kind %s into kind %s",
							  net->kind->name, name);
	}
	st = net->kind->reshape(net, spec, alloc, image, len, changes, err);
	/* the new image goes through the one validation path, like any other */
	if (st == HANAMI_OK)
		st = NetBind(&check, *image, *len, err);
	if (st != HANAMI_OK)
	{
		HnFree(alloc, *image);
		*image = NULL;
		*len = 0;
	}
	return st;
}

HnStatus
NetQuantize(const HnNet *net, const char *dtype, const HnAllocator *alloc,
			void **image, size_t *len, HnError *err)
{
	HnNet		check;
	HnStatus	st;

	*image = NULL;
	*len = 0;
	if (net->kind->quantize == NULL)
	{
		HnSetError(err, HANAMI_E_UNSUPPORTED,
				   "Compact weight formats (pow2, f16, u8) are for dense networks.",
				   "networks of kind %s cannot be quantized", net->kind->name);
		return HnSetHint(err, "This network keeps its weights as they are; only dense networks take compact formats.");
	}
	st = net->kind->quantize(net, dtype, alloc, image, len, err);
	/* the new image goes through the one validation path, like any other */
	if (st == HANAMI_OK)
		st = NetBind(&check, *image, *len, err);
	if (st != HANAMI_OK)
	{
		HnFree(alloc, *image);
		*image = NULL;
		*len = 0;
	}
	return st;
}

/* See json.h. */
HnStatus
NetJsonReadTrained(const HnJson *trained, HnHeader *h, HnError *err)
{
	static const char *const keys[] = {"epochs", "samples", NULL};
	const HnJson *v;
	HnStatus	st;

	if ((st = HnJsonObject(trained, "\"trained\"", err)) != HANAMI_OK ||
		(st = HnJsonCheckKeys(trained, "\"trained\" key", keys, err)) != HANAMI_OK)
		return st;
	if ((v = HnJsonGet(trained, "epochs")) != NULL &&
		(st = HnJsonU32(v, "trained.epochs", 0, UINT32_MAX, &h->epochs, err)) != HANAMI_OK)
		return st;
	if ((v = HnJsonGet(trained, "samples")) != NULL)
	{
		uint64_t	samples;

		if ((st = HnJsonUint64(v, "trained.samples", &samples, err)) != HANAMI_OK)
			return st;
		h->samples = samples;
	}
	return HANAMI_OK;
}

/* See json.h. */
HnStatus
NetJsonReadFlag(const HnJson *setup, const char *key, uint32_t flag,
				HnHeader *h, HnError *err)
{
	const HnJson *v = HnJsonGet(setup, key);
	char		what[64];
	bool		b;
	HnStatus	st;

	if (v == NULL)
		return HANAMI_OK;
	snprintf(what, sizeof(what), "setup.%s", key);
	if ((st = HnJsonBool(v, what, &b, err)) != HANAMI_OK)
		return st;
	if (b)
		h->flags |= flag;
	return HANAMI_OK;
}
