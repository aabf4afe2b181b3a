/*
 * kind.c - the registry of network kinds, and the checks of the header every
 * image starts with, before its kind's own.
 */
#include "core/kind.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/dense/kind.h"
#include "core/hanami/kind.h"
#include "core/graph/graph.h"

/* Every kind, one line each. */
static const HnKind *const kinds[] = {
	&HnDenseKind,
	&HnHanamiKind,
	&HnGraphKind,
};

#define N_KINDS ((int) (sizeof(kinds) / sizeof(kinds[0])))

int
HnKindCount(void)
{
	return N_KINDS;
}

const HnKind *
HnKindAt(int i)
{
	return i >= 0 && i < N_KINDS ? kinds[i] : NULL;
}

const HnKind *
HnKindById(int id)
{
	for (int i = 0; i < N_KINDS; i++)
		if ((int) kinds[i]->id == id)
			return kinds[i];
	return NULL;
}

const HnKind *
HnKindByName(const char *name)
{
	for (int i = 0; i < N_KINDS; i++)
		if (name != NULL && strcmp(kinds[i]->name, name) == 0)
			return kinds[i];
	return NULL;
}

const char *
NetKindName(int id)
{
	const HnKind *k = HnKindById(id);

	return k ? k->name : NULL;
}

/* "1 (dense), 2 (hanami) and 3 (graph)" */
static void
KnownKinds(char *buf, size_t len)
{
	size_t		at = 0;

	buf[0] = '\0';
	for (int i = 0; i < N_KINDS && at < len; i++)
		at += snprintf(buf + at, len - at, "%s%d (%s)",
					   i == 0 ? "" : i + 1 == N_KINDS ? " and " : ", ",
					   (int) kinds[i]->id, kinds[i]->name);
}

/* The checks of the common header of len bytes at buf; sets net->kind. */
static HnStatus
NetCheckCommon(HnNet *net, void *buf, size_t len, HnError *err)
{
	HnHeader   *hdr = buf;
	const HnKind *kind;
	char		detail[HANAMI_ERRMSG_LEN];

	memset(net, 0, sizeof(*net));
	if (buf == NULL || ((uintptr_t) buf & 3) != 0)
		return HnSetError(err, HANAMI_E_INTERNAL, NULL,
						  "network image is not 4-byte aligned");
	if (len < sizeof(HnHeader))
	{
		snprintf(detail, sizeof(detail),
				 "The value has %zu bytes; its header alone needs %zu.",
				 len, sizeof(HnHeader));
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, detail,
						  "network value is too short");
	}
	if (hdr->magic != HANAMI_MAGIC)
	{
		snprintf(detail, sizeof(detail),
				 "The value starts with 0x%08" PRIX32 " instead of 0x%08X.",
				 hdr->magic, HANAMI_MAGIC);
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, detail,
						  "network value has an invalid magic number");
	}
	if (hdr->version < 1 || hdr->version > HANAMI_FORMAT_VERSION_MAX)
	{
		snprintf(detail, sizeof(detail),
				 "This version of hanami reads format versions 1 to %d.",
				 HANAMI_FORMAT_VERSION_MAX);
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, detail,
						  "unsupported network format version %u",
						  (unsigned) hdr->version);
	}
	kind = HnKindById(hdr->kind);
	if (kind == NULL)
	{
		char		known[128];

		KnownKinds(known, sizeof(known));
		snprintf(detail, sizeof(detail), "Known kinds are %s.", known);
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, detail,
						  "invalid network kind %u", (unsigned) hdr->kind);
	}
	if (hdr->version > (kind->max_version ? kind->max_version :
						HANAMI_FORMAT_VERSION))
	{
		snprintf(detail, sizeof(detail),
				 "Networks of kind %s are format version %d.", kind->name,
				 kind->max_version ? kind->max_version : HANAMI_FORMAT_VERSION);
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, detail,
						  "unsupported network format version %u",
						  (unsigned) hdr->version);
	}
	net->kind = kind;
	net->hdr = hdr;
	net->len = len;
	return HANAMI_OK;
}

/* Validate an untrusted image and bind net to it; see kind.h. */
HnStatus
NetBind(HnNet *net, void *buf, size_t len, HnError *err)
{
	if (NetCheckCommon(net, buf, len, err) != HANAMI_OK)
		return err->code;
	if (net->kind->bind(net, err) != HANAMI_OK)
	{
		memset(net, 0, sizeof(*net));
		return err->code;
	}
	return HANAMI_OK;
}

/* Validate the head of an image for paged inference; see kind.h. */
HnStatus
NetBindHead(HnNet *net, void *buf, size_t head_len, size_t image_len,
			HnError *err)
{
	if (NetCheckCommon(net, buf, head_len, err) != HANAMI_OK)
		return err->code;
	if (net->kind->bind_head == NULL || net->kind->predict_paged == NULL)
	{
		HnSetError(err, HANAMI_E_UNSUPPORTED, NULL,
				   "networks of kind %s cannot be paged", net->kind->name);
		memset(net, 0, sizeof(*net));
		return err->code;
	}
	if (net->kind->bind_head(net, image_len, err) != HANAMI_OK)
	{
		memset(net, 0, sizeof(*net));
		return err->code;
	}
	return HANAMI_OK;
}

/* Bind an image known to be valid; see kind.h. */
void
NetBindTrusted(HnNet *net, void *buf)
{
	HnHeader   *hdr = buf;

	memset(net, 0, sizeof(*net));
	net->kind = HnKindById(hdr->kind);
	net->hdr = hdr;
	net->len = (size_t) hdr->total_size;
	net->kind->bind_trusted(net);
}
