/*
 * hanami_spec.c - the JSON description of a growing ("hanami") network: the
 * cell template (or the layered shorthand) read into an image, the exact
 * text form written back, and the info() summary.
 *
 * Template (after OpenHanami's cluster templates):
 *   {"kind": "hanami",
 *    "settings": {"max_connection_distance": 1, "neuron_cooldown": null,
 *                 "refractory_time": 1, "enable_reduction": false,
 *                 "reduction_threshold": 1, "neurons": 256,
 *                 "max_sections": 65536},
 *    "cells": [{"position": [0, 0, 0], "input": 64, "name": "pixels"},
 *              {"position": "1,0,0", "neurons": 256},
 *              {"position": [2, 0], "output": 10}],
 *    "axons": ["0,0,0 -> 2,0,0"] or [{"from": [0, 0, 0], "to": [2, 0, 0]}],
 *    "seed": 1}
 * Shorthand: {"kind": "hanami", "layers": [64, 256, 10]} is a chain of
 * cells along x: input, hidden cells, output.
 *
 * Text form: the template with every setting spelled out, plus
 *   "trained": {"epochs": e, "samples": s, "growth": [[epoch, sections,
 *               synapses, blocks], ...]},
 *   "setup": {"sections": n, "data": "<base64 of the neurons and blocks>"}
 * so net::text::hanami.network gives back the same bytes.
 */
#include "hanami_glue.h"

#include <float.h>

#include "common/base64.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

static const char *const grow_keys[] = {
	"format", "kind", "settings", "cells", "layers", "axons", "seed",
	"trained", "setup", NULL
};
static const char *const settings_keys[] = {
	"max_connection_distance", "neuron_cooldown", "refractory_time",
	"enable_reduction", "reduction_threshold", "neurons", "max_sections", NULL
};
static const char *const cell_keys[] = {
	"position", "input", "output", "neurons", "name", NULL
};
static const char *const axon_keys[] = {"from", "to", NULL};
static const char *const trained_keys[] = {"epochs", "samples", "growth", NULL};
static const char *const setup_keys[] = {"sections", "data", NULL};

#define GROW_ERROR(code, ...) \
	ereport(ERROR, (errcode(code), errmsg(__VA_ARGS__)))

/* Whether a description (or text form) asks for the hanami kind. */
bool
HanamiSpecIsHk(Jsonb *jb)
{
	JsonbValue *v;

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		return false;
	v = HanamiJsonbGet(&jb->root, "kind");
	return v != NULL && v->type == jbvString &&
		v->val.string.len == 6 && memcmp(v->val.string.val, "hanami", 6) == 0;
}

/* Object container of v, or an error naming what. */
static JsonbContainer *
HkObject(JsonbValue *v, const char *what, int sqlstate)
{
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		GROW_ERROR(sqlstate, "%s must be an object", what);
	return v->val.binary.data;
}

/* Array container of v, or an error naming what. */
static JsonbContainer *
HkArray(JsonbValue *v, const char *what, int sqlstate)
{
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		GROW_ERROR(sqlstate, "%s must be an array", what);
	return v->val.binary.data;
}

/* The elements of an array container, in order (palloc'd). */
static JsonbValue *
HkElements(JsonbContainer *arr, int *n, int max, const char *what, int sqlstate)
{
	JsonbIterator *it = JsonbIteratorInit(arr);
	JsonbValue	v;
	JsonbIteratorToken tok;
	JsonbValue *out = palloc(sizeof(JsonbValue) * (max + 1));

	*n = 0;
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (*n >= max)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many %s", what),
					 errdetail("At most %d are allowed.", max)));
		out[(*n)++] = v;
	}
	return out;
}

/* A position: [x, y], [x, y, z] or "x,y,z"; coordinates -1000..1000. */
static void
HkParsePosition(JsonbValue *v, int16 *xyz, const char *what, int sqlstate)
{
	long		c[3] = {0, 0, 0};
	int			n = 0;

	if (v->type == jbvString)
	{
		char	   *s = pnstrdup(v->val.string.val, v->val.string.len);
		char	   *p = s;

		while (n < 3)
		{
			char	   *end;

			while (*p == ' ')
				p++;
			c[n] = strtol(p, &end, 10);
			if (end == p)
				break;
			n++;
			p = end;
			while (*p == ' ')
				p++;
			if (*p != ',')
				break;
			p++;
		}
		if (n < 2 || *p != '\0')
			ereport(ERROR,
					(errcode(sqlstate),
					 errmsg("%s \"%s\" is not a position", what, s),
					 errhint("Write a position as \"x,y\" or \"x,y,z\", or as an array [x, y, z].")));
	}
	else
	{
		JsonbValue *e = HkElements(HkArray(v, what, sqlstate), &n, 3, "coordinates",
									 sqlstate);

		if (n < 2)
			ereport(ERROR,
					(errcode(sqlstate),
					 errmsg("%s needs two or three coordinates", what)));
		for (int i = 0; i < n; i++)
			c[i] = (long) HanamiJsonbInt(&e[i], what, -HK_MAX_COORD,
										 HK_MAX_COORD);
	}
	for (int i = 0; i < 3; i++)
	{
		if (c[i] < -HK_MAX_COORD || c[i] > HK_MAX_COORD)
			GROW_ERROR(sqlstate, "%s has a coordinate out of range (-1000 to 1000)", what);
		xyz[i] = (int16) c[i];
	}
}

/* Index of the cell at a position, or an error. */
static int
HkCellAt(const HkSpec *spec, JsonbValue *v, const char *what, int sqlstate)
{
	int16		p[3];

	HkParsePosition(v, p, what, sqlstate);
	for (int c = 0; c < spec->n_cells; c++)
		if (spec->cells[c].x == p[0] && spec->cells[c].y == p[1] &&
			spec->cells[c].z == p[2])
			return c;
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("%s %d,%d,%d is not a cell", what, p[0], p[1], p[2])));
	return -1;
}

/* One element of "cells". */
static void
HkParseCell(JsonbValue *v, int idx, HkCellSpec *cs, int sqlstate)
{
	JsonbContainer *obj;
	JsonbValue *f;
	int16		p[3];
	int			kinds = 0;
	char		what[64];

	snprintf(what, sizeof(what), "cell %d", idx);
	obj = HkObject(v, what, sqlstate);
	HanamiJsonbCheckKeys(obj, "cell key", cell_keys);
	memset(cs, 0, sizeof(*cs));
	cs->axon = -1;
	cs->type = HK_CELL_HIDDEN;
	if ((f = HanamiJsonbGet(obj, "position")) == NULL)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("cell %d has no \"position\"", idx),
				 errhint("Give each cell a position such as [1, 0, 0] or \"1,0,0\".")));
	snprintf(what, sizeof(what), "position of cell %d", idx);
	HkParsePosition(f, p, what, sqlstate);
	cs->x = p[0];
	cs->y = p[1];
	cs->z = p[2];
	snprintf(what, sizeof(what), "neuron count of cell %d", idx);
	if ((f = HanamiJsonbGet(obj, "input")) != NULL)
	{
		cs->type = HK_CELL_INPUT;
		cs->count = (uint32) HanamiJsonbInt(f, what, 1, HK_MAX_CELL_NEURONS);
		kinds++;
	}
	if ((f = HanamiJsonbGet(obj, "output")) != NULL)
	{
		cs->type = HK_CELL_OUTPUT;
		cs->count = (uint32) HanamiJsonbInt(f, what, 1, HK_MAX_CELL_NEURONS);
		kinds++;
	}
	if ((f = HanamiJsonbGet(obj, "neurons")) != NULL)
	{
		cs->count = (uint32) HanamiJsonbInt(f, what, 1, HK_MAX_CELL_NEURONS);
		kinds++;
	}
	if (kinds > 1)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("cell %d has more than one of \"input\", \"output\" and \"neurons\"", idx),
				 errhint("An input cell gives \"input\": n, an output cell \"output\": n, a hidden cell \"neurons\": n (or nothing for the default).")));
	if ((f = HanamiJsonbGet(obj, "name")) != NULL)
		HanamiJsonbName(f, "cell", cs->name, sqlstate);
}

/* One element of "axons": "x,y,z -> x,y,z" or {"from": ..., "to": ...}. */
static void
HkParseAxon(JsonbValue *v, int idx, HkSpec *spec, int sqlstate)
{
	int			from;
	int			to;

	if (v->type == jbvString)
	{
		char	   *s = pnstrdup(v->val.string.val, v->val.string.len);
		char	   *arrow = strstr(s, "->");
		JsonbValue	a;

		if (arrow == NULL)
			ereport(ERROR,
					(errcode(sqlstate),
					 errmsg("axon %d \"%s\" has no \"->\"", idx, s),
					 errhint("Write an axon as \"x,y,z -> x,y,z\".")));
		*arrow = '\0';
		a.type = jbvString;
		a.val.string.val = s;
		a.val.string.len = (int) strlen(s);
		while (a.val.string.len > 0 && s[a.val.string.len - 1] == ' ')
			s[--a.val.string.len] = '\0';
		from = HkCellAt(spec, &a, "axon source", sqlstate);
		a.val.string.val = arrow + 2;
		while (*a.val.string.val == ' ')
			a.val.string.val++;
		a.val.string.len = (int) strlen(a.val.string.val);
		to = HkCellAt(spec, &a, "axon target", sqlstate);
	}
	else
	{
		JsonbContainer *obj = HkObject(v, "an axon", sqlstate);
		JsonbValue *f;
		JsonbValue *t;

		HanamiJsonbCheckKeys(obj, "axon key", axon_keys);
		f = HanamiJsonbGet(obj, "from");
		t = HanamiJsonbGet(obj, "to");
		if (f == NULL || t == NULL)
			GROW_ERROR(sqlstate, "axon %d needs \"from\" and \"to\"", idx);
		from = HkCellAt(spec, f, "axon source", sqlstate);
		to = HkCellAt(spec, t, "axon target", sqlstate);
	}
	if (spec->cells[from].axon >= 0)
		GROW_ERROR(sqlstate, "cell %d,%d,%d has two axons",
				   spec->cells[from].x, spec->cells[from].y, spec->cells[from].z);
	spec->cells[from].axon = to;
}

/* "settings" into spec. */
static void
HkParseSettings(JsonbValue *v, HkSpec *spec, int sqlstate)
{
	JsonbContainer *obj = HkObject(v, "\"settings\"", sqlstate);
	JsonbValue *f;

	HanamiJsonbCheckKeys(obj, "setting", settings_keys);
	if ((f = HanamiJsonbGet(obj, "max_connection_distance")) != NULL)
		spec->max_distance = (uint32) HanamiJsonbInt(f, "max_connection_distance",
													 1, HK_MAX_DISTANCE);
	if ((f = HanamiJsonbGet(obj, "neuron_cooldown")) != NULL && f->type != jbvNull)
	{
		spec->cooldown = HanamiJsonbNumber(f, "neuron_cooldown");
		if (!(spec->cooldown > 1.0 && spec->cooldown <= FLT_MAX))
			ereport(ERROR,
					(errcode(sqlstate),
					 errmsg("neuron_cooldown must be greater than 1"),
					 errdetail("The potential a neuron carries to the next input is divided by it; null turns spiking off.")));
	}
	if ((f = HanamiJsonbGet(obj, "refractory_time")) != NULL)
		spec->refractory = (uint32) HanamiJsonbInt(f, "refractory_time", 1,
												   HK_MAX_REFRACTORY);
	if ((f = HanamiJsonbGet(obj, "enable_reduction")) != NULL)
		spec->reduction = HanamiJsonbBool(f, "enable_reduction");
	if ((f = HanamiJsonbGet(obj, "reduction_threshold")) != NULL)
		spec->reduction_threshold = (uint32) HanamiJsonbInt(f, "reduction_threshold", 1,
															HK_COUNTER_CAP);
	if ((f = HanamiJsonbGet(obj, "neurons")) != NULL)
		spec->neurons = (uint32) HanamiJsonbInt(f, "settings.neurons", 1,
												HK_MAX_CELL_NEURONS);
	if ((f = HanamiJsonbGet(obj, "max_sections")) != NULL)
		spec->max_blocks = (uint32) HanamiJsonbInt(f, "max_sections", 1, PG_INT32_MAX);
}

/* The layered shorthand: cells along x. */
static void
HkParseLayers(JsonbValue *v, HkSpec *spec, int sqlstate)
{
	int			n;
	JsonbValue *e = HkElements(HkArray(v, "\"layers\"", sqlstate), &n,
								 HK_MAX_CELLS, "layers", sqlstate);

	if (n < 2)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("\"layers\" needs at least an input and an output"),
				 errhint("For example {\"kind\": \"hanami\", \"layers\": [64, 256, 10]}.")));
	for (int i = 0; i < n; i++)
	{
		HkCellSpec *cs = &spec->cells[i];
		char		what[64];

		memset(cs, 0, sizeof(*cs));
		cs->x = (int16) i;
		cs->axon = -1;
		cs->type = i == 0 ? HK_CELL_INPUT :
			i == n - 1 ? HK_CELL_OUTPUT : HK_CELL_HIDDEN;
		snprintf(what, sizeof(what), "neuron count of layer %d", i);
		if (e[i].type == jbvBinary && JsonContainerIsObject(e[i].val.binary.data))
		{
			JsonbContainer *obj = e[i].val.binary.data;
			static const char *const lkeys[] = {"count", "name", NULL};
			JsonbValue *f;

			HanamiJsonbCheckKeys(obj, "layer key", lkeys);
			if ((f = HanamiJsonbGet(obj, "count")) == NULL)
				GROW_ERROR(sqlstate, "layer %d has no \"count\"", i);
			cs->count = (uint32) HanamiJsonbInt(f, what, 1, HK_MAX_CELL_NEURONS);
			if ((f = HanamiJsonbGet(obj, "name")) != NULL)
			{
				char	   *name = HanamiJsonbString(f, "layer name");

				if (strlen(name) >= HANAMI_NAME_LEN)
					GROW_ERROR(sqlstate, "layer name \"%s\" is too long", name);
				strlcpy(cs->name, name, HANAMI_NAME_LEN);
			}
		}
		else
			cs->count = (uint32) HanamiJsonbInt(&e[i], what, 1, HK_MAX_CELL_NEURONS);
	}
	spec->n_cells = n;
}

/* Fill spec from a template or text form; returns setup and trained. */
static void
HkParseSpec(JsonbContainer *root, HkSpec *spec, JsonbValue **setup,
			  JsonbValue **trained, int sqlstate)
{
	JsonbValue *v;
	JsonbValue *cells = HanamiJsonbGet(root, "cells");
	JsonbValue *layers = HanamiJsonbGet(root, "layers");

	HanamiJsonbCheckKeys(root, "network key", grow_keys);
	memset(spec, 0, sizeof(*spec));
	if ((v = HanamiJsonbGet(root, "format")) != NULL &&
		HanamiJsonbInt(v, "format", 0, INT32_MAX) != HANAMI_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("unsupported network format version"),
				 errdetail("This build reads format %d.", HANAMI_FORMAT_VERSION)));
	if ((cells == NULL) == (layers == NULL))
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("a hanami network needs either \"cells\" or \"layers\""),
				 errhint("Give a cell template {\"cells\": [{\"position\": [0, 0, 0], \"input\": 4}, ...]} or the shorthand {\"layers\": [4, 256, 3]}.")));
	if (layers)
		HkParseLayers(layers, spec, sqlstate);
	else
	{
		int			n;
		JsonbValue *e = HkElements(HkArray(cells, "\"cells\"", sqlstate), &n,
									 HK_MAX_CELLS, "cells", sqlstate);

		for (int i = 0; i < n; i++)
			HkParseCell(&e[i], i, &spec->cells[i], sqlstate);
		spec->n_cells = n;
	}
	if ((v = HanamiJsonbGet(root, "axons")) != NULL)
	{
		int			n;
		JsonbValue *e = HkElements(HkArray(v, "\"axons\"", sqlstate), &n,
									 HK_MAX_CELLS, "axons", sqlstate);

		for (int i = 0; i < n; i++)
			HkParseAxon(&e[i], i, spec, sqlstate);
	}
	if ((v = HanamiJsonbGet(root, "settings")) != NULL)
		HkParseSettings(v, spec, sqlstate);
	if ((v = HanamiJsonbGet(root, "seed")) != NULL)
		spec->seed = (uint32) HanamiJsonbInt(v, "seed", 0, PG_UINT32_MAX);
	*setup = HanamiJsonbGet(root, "setup");
	*trained = HanamiJsonbGet(root, "trained");
}

/* "trained" onto a fresh image: counters and the growth history. */
static void
HkApplyTrained(HkNet *net, JsonbValue *trained, int sqlstate)
{
	JsonbContainer *obj = HkObject(trained, "\"trained\"", sqlstate);
	JsonbValue *v;

	HanamiJsonbCheckKeys(obj, "\"trained\" key", trained_keys);
	if ((v = HanamiJsonbGet(obj, "epochs")) != NULL)
		net->hdr->epochs = (uint32) HanamiJsonbInt(v, "trained.epochs", 0, PG_UINT32_MAX);
	if ((v = HanamiJsonbGet(obj, "samples")) != NULL)
		net->hdr->samples = HanamiJsonbUint64(v, "trained.samples");
	if ((v = HanamiJsonbGet(obj, "growth")) != NULL)
	{
		int			n;
		JsonbValue *e = HkElements(HkArray(v, "trained.growth", sqlstate), &n,
									 HK_HISTORY, "growth entries", sqlstate);

		for (int i = 0; i < n; i++)
		{
			int			k;
			JsonbValue *f = HkElements(HkArray(&e[i], "a growth entry", sqlstate),
										 &k, 4, "values in a growth entry", sqlstate);
			HkEpoch *h = &net->gh->history[i];

			if (k != 4)
				GROW_ERROR(sqlstate, "a growth entry has four numbers: epoch, sections, synapses, blocks");
			h->epoch = (uint32) HanamiJsonbInt(&f[0], "growth epoch", 0, PG_UINT32_MAX);
			h->sections = (uint32) HanamiJsonbInt(&f[1], "growth sections", 0, PG_UINT32_MAX);
			h->synapses = (uint32) HanamiJsonbInt(&f[2], "growth synapses", 0, PG_UINT32_MAX);
			h->blocks = (uint32) HanamiJsonbInt(&f[3], "growth blocks", 0, PG_UINT32_MAX);
		}
		net->gh->n_history = (uint32) n;
	}
}

/*
 * Build a growing network from a template or its text form.  has_seed/seed
 * override the description's seed.  The result went through DenseBind.
 */
HanamiNetwork *
HanamiHkFromJsonb(Jsonb *jb, bool has_seed, uint32 seed, int sqlstate)
{
	HkSpec *spec = palloc(sizeof(HkSpec));
	JsonbValue *setup;
	JsonbValue *trained;
	JsonbValue *v;
	HnError		err;
	size_t		size;
	size_t		want = 0;
	uint32		n_blocks = 0;
	char	   *data = NULL;
	HanamiNetwork *result;
	HkNet	net;
	HnNet		bound;

	HkParseSpec(&jb->root, spec, &setup, &trained, sqlstate);
	if (has_seed)
		spec->seed = seed;
	if (HkSpecFinalize(spec, &err) != HANAMI_OK)
		HanamiReportError(&err, 0);
	if (setup)
	{
		JsonbContainer *obj = HkObject(setup, "\"setup\"", sqlstate);

		HanamiJsonbCheckKeys(obj, "\"setup\" key", setup_keys);
		if ((v = HanamiJsonbGet(obj, "sections")) == NULL ||
			(v = HanamiJsonbGet(obj, "data")) == NULL)
			GROW_ERROR(sqlstate, "\"setup\" needs \"sections\" and \"data\"");
		n_blocks = (uint32) HanamiJsonbInt(HanamiJsonbGet(obj, "sections"),
										   "setup.sections", 0, spec->max_blocks);
		data = HanamiJsonbString(v, "setup.data");
	}
	{
		uint32		neurons = 0;

		for (int c = 0; c < spec->n_cells; c++)
			neurons += spec->cells[c].count;
		size = HkImageSize((uint32) spec->n_cells, neurons, n_blocks, &err);
		if (size == 0)
			HanamiReportError(&err, 0);
		/* the data must fit what it claims before anything is allocated */
		want = size - sizeof(HnHeader) - sizeof(HkHeader) -
			sizeof(HkCell) * (size_t) spec->n_cells;
	}
	if (data && ((size_t) pg_b64_dec_len((int) strlen(data)) < want ||
				 (size_t) pg_b64_dec_len((int) strlen(data)) > want + 3))
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("setup.data does not match the cells and sections"),
				 errdetail("They need %zu bytes; setup.data holds about %d.",
						   want, pg_b64_dec_len((int) strlen(data)))));
	result = palloc_extended(size + VARHDRSZ, MCXT_ALLOC_HUGE);
	SET_VARSIZE(result, size + VARHDRSZ);
	if (HkCreate(HANAMI_NET_IMAGE(result), size, spec, n_blocks, &err) != HANAMI_OK)
		HanamiReportError(&err, 0);
	HkBindTrusted(&net, HANAMI_NET_IMAGE(result));
	if (trained)
		HkApplyTrained(&net, trained, sqlstate);
	if (data)
	{
		char	   *dst = (char *) net.neurons;
		int			len = (int) strlen(data);
		int			got;

		got = pg_b64_decode(data, len, dst, (int) want);
		if (got < 0 || (size_t) got != want)
			ereport(ERROR,
					(errcode(sqlstate),
					 errmsg("setup.data is not valid base64 of %zu bytes", want)));
	}
	HkRecount(&net);
	/* the data is untrusted: the one validation path */
	HanamiNetworkBind(result, &bound, sqlstate);
	pfree(spec);
	return result;
}

/* Append a position as [x, y, z]. */
static void
HkAppendPosition(StringInfo buf, const HkCell *c)
{
	appendStringInfo(buf, "[%d, %d, %d]", c->x, c->y, c->z);
}

/* Append "settings": {...}. */
static void
HkAppendSettings(StringInfo buf, const HkNet *net)
{
	const HkHeader *gh = net->gh;

	appendStringInfoString(buf, "\"settings\": {\"max_connection_distance\": ");
	appendStringInfo(buf, "%u, \"neuron_cooldown\": ", gh->max_distance);
	if (gh->cooldown > 0.0f)
		appendStringInfo(buf, "%.9g", (double) gh->cooldown);
	else
		appendStringInfoString(buf, "null");
	appendStringInfo(buf, ", \"refractory_time\": %u, \"enable_reduction\": %s, "
					 "\"reduction_threshold\": %u, \"max_sections\": %u}",
					 gh->refractory,
					 (gh->flags & HK_REDUCTION) ? "true" : "false",
					 gh->reduction_threshold, gh->max_blocks);
}

/* Append the settings, cells and axons of a template. */
static void
HkAppendTemplate(StringInfo buf, const HkNet *net)
{
	const HkHeader *gh = net->gh;
	bool		any_axon = false;

	HkAppendSettings(buf, net);
	appendStringInfoString(buf, ", \"cells\": [");
	for (uint32 c = 0; c < gh->n_cells; c++)
	{
		const HkCell *cell = &net->cells[c];

		appendStringInfoString(buf, c ? ", {\"position\": " : "{\"position\": ");
		HkAppendPosition(buf, cell);
		appendStringInfo(buf, ", \"%s\": %u",
						 cell->type == HK_CELL_INPUT ? "input" :
						 cell->type == HK_CELL_OUTPUT ? "output" : "neurons",
						 cell->n_neurons);
		if (cell->name[0])
		{
			appendStringInfoString(buf, ", \"name\": ");
			HanamiAppendJsonString(buf, cell->name);
		}
		appendStringInfoChar(buf, '}');
		any_axon |= cell->axon != HK_NO_AXON;
	}
	appendStringInfoChar(buf, ']');
	if (any_axon)
	{
		bool		first = true;

		appendStringInfoString(buf, ", \"axons\": [");
		for (uint32 c = 0; c < gh->n_cells; c++)
		{
			const HkCell *a = &net->cells[c];
			const HkCell *b;

			if (a->axon == HK_NO_AXON)
				continue;
			b = &net->cells[a->axon];
			appendStringInfo(buf, "%s\"%d,%d,%d -> %d,%d,%d\"", first ? "" : ", ",
							 a->x, a->y, a->z, b->x, b->y, b->z);
			first = false;
		}
		appendStringInfoChar(buf, ']');
	}
}

/* The text form of a growing network (exact). */
char *
HanamiHkToJson(const HnNet *bound)
{
	StringInfoData buf;
	HkNet	net;
	const char *data;
	size_t		nbytes;

	HkBindTrusted(&net, bound->hdr);
	data = (const char *) net.neurons;
	nbytes = (size_t) ((const char *) net.hdr + net.hdr->total_size - data);
	if (nbytes > (size_t) (MaxAllocSize / 4 * 3 - 65536))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("network is too large for its text form"),
				 errhint("Use the binary form (COPY ... WITH (FORMAT binary)) or a cast to bytea.")));
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"format\": %d, \"kind\": \"hanami\", ", HANAMI_FORMAT_VERSION);
	HkAppendTemplate(&buf, &net);
	appendStringInfo(&buf, ", \"seed\": %u, \"trained\": {\"epochs\": %u, \"samples\": %llu, \"growth\": [",
					 net.hdr->seed, net.hdr->epochs, (unsigned long long) net.hdr->samples);
	for (uint32 i = 0; i < net.gh->n_history; i++)
	{
		const HkEpoch *h = &net.gh->history[i];

		appendStringInfo(&buf, "%s[%u, %u, %u, %u]", i ? ", " : "",
						 h->epoch, h->sections, h->synapses, h->blocks);
	}
	appendStringInfo(&buf, "]}, \"setup\": {\"sections\": %u, \"data\": \"", net.gh->n_blocks);
	HanamiAppendBase64(&buf, data, nbytes);
	appendStringInfoString(&buf, "\"}}");
	return buf.data;
}

/* A jsonb summary: cells, neurons, sections, synapses, blocks, growth. */
Jsonb *
HanamiHkInfo(const HnNet *bound)
{
	StringInfoData buf;
	HkNet	net;
	HkStats st;
	uint32	   *cell_sections;
	uint64	   *cell_synapses;

	HkBindTrusted(&net, bound->hdr);
	HkGetStats(&net, &st);
	cell_sections = palloc0(sizeof(uint32) * net.gh->n_cells);
	cell_synapses = palloc0(sizeof(uint64) * net.gh->n_cells);
	{
		uint32		c = 0;

		/* blocks of a neuron's cell; neurons are in cell order */
		for (uint32 b = 0; b < net.gh->n_blocks; b++)
		{
			const HkBlock *blk = &net.blocks[b];
			uint32		live = 0;

			for (c = 0; c + 1 < net.gh->n_cells &&
				 net.cells[c + 1].first_neuron <= blk->source; c++)
				;
			for (int i = 0; i < blk->n_used; i++)
				live += blk->syn[i].target != HK_GAP;
			cell_sections[c] += live > 0;
			cell_synapses[c] += live;
		}
	}
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"kind\": \"hanami\", \"format\": %d, \"inputs\": %u, "
					 "\"outputs\": %u, \"cells\": [",
					 HANAMI_FORMAT_VERSION, net.hdr->n_inputs, net.hdr->n_outputs);
	for (uint32 c = 0; c < net.gh->n_cells; c++)
	{
		const HkCell *cell = &net.cells[c];

		appendStringInfoString(&buf, c ? ", {\"position\": " : "{\"position\": ");
		HkAppendPosition(&buf, cell);
		appendStringInfo(&buf, ", \"type\": \"%s\", \"neurons\": %u, \"depth\": %u, "
						 "\"sections\": %u, \"synapses\": %llu",
						 HkCellTypeName(cell->type), cell->n_neurons, cell->depth,
						 cell_sections[c], (unsigned long long) cell_synapses[c]);
		if (cell->name[0])
		{
			appendStringInfoString(&buf, ", \"name\": ");
			HanamiAppendJsonString(&buf, cell->name);
		}
		if (cell->axon != HK_NO_AXON)
		{
			appendStringInfoString(&buf, ", \"axon\": ");
			HkAppendPosition(&buf, &net.cells[cell->axon]);
		}
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfo(&buf, "], \"neurons\": %u, \"sections\": %u, \"synapses\": %llu, "
					 "\"blocks\": %u, \"block_bytes\": %zu, \"bytes\": %llu, "
					 "\"parameters\": %llu, \"spiking\": %s, \"loss\": \"cross_entropy\", ",
					 st.neurons, st.sections, (unsigned long long) st.synapses,
					 st.blocks, sizeof(HkBlock),
					 (unsigned long long) st.bytes + VARHDRSZ,
					 (unsigned long long) net.hdr->n_params,
					 (net.gh->flags & HK_SPIKING) ? "true" : "false");
	HkAppendSettings(&buf, &net);
	appendStringInfo(&buf, ", \"seed\": %u, \"trained\": {\"epochs\": %u, \"samples\": %llu}, "
					 "\"growth\": [",
					 net.hdr->seed, net.hdr->epochs, (unsigned long long) net.hdr->samples);
	for (uint32 i = 0; i < net.gh->n_history; i++)
	{
		const HkEpoch *h = &net.gh->history[i];
		const HkEpoch *p = i > 0 ? &net.gh->history[i - 1] : NULL;

		appendStringInfo(&buf, "%s{\"epoch\": %u, \"sections\": %u, \"synapses\": %u, "
						 "\"blocks\": %u",
						 i ? ", " : "", h->epoch, h->sections, h->synapses, h->blocks);
		if (p)
			appendStringInfo(&buf, ", \"new_synapses\": %lld, \"new_blocks\": %lld",
							 (long long) h->synapses - (long long) p->synapses,
							 (long long) h->blocks - (long long) p->blocks);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "]}");
	return HanamiJsonbFromCString(buf.data);
}
