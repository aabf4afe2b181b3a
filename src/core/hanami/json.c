/*
 * hanami/json.c - the JSON description of a growing ("hanami") network: the
 * cell template (or the layered shorthand) read into an image, the exact
 * text form written back, and the info() summary.  See hanami/json.h.
 */
#include "core/hanami/json.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hanami/kind.h"

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
static const char *const layer_keys[] = {"count", "name", NULL};
static const char *const axon_keys[] = {"from", "to", NULL};
static const char *const trained_keys[] = {"epochs", "samples", "growth", NULL};
static const char *const setup_keys[] = {"sections", "grouped", "data", NULL};

/* What reading a description needs at hand. */
typedef struct Reader
{
	HkSpec	   *spec;
	const HnAllocator *alloc;
	HnError    *err;
} Reader;

/* An array of at most max elements ("too many <noun>" beyond). */
static HnStatus
Elements(const HnJson *v, const char *what, size_t max, const char *noun,
		 HnError *err)
{
	HnStatus	st = HnJsonArray(v, what, err);
	char		detail[HANAMI_ERRMSG_LEN];

	if (st != HANAMI_OK || v->n <= max)
		return st;
	snprintf(detail, sizeof(detail), "At most %zu are allowed.", max);
	return HnSetError(err, HANAMI_E_TOO_LARGE, detail, "too many %s", noun);
}

/* Coordinates in range into xyz. */
static HnStatus
SetPosition(const long *c, int16_t *xyz, const char *what, HnError *err)
{
	for (int i = 0; i < 3; i++)
	{
		if (c[i] < -HK_MAX_COORD || c[i] > HK_MAX_COORD)
			return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
							  "%s has a coordinate out of range (-1000 to 1000)",
							  what);
		xyz[i] = (int16_t) c[i];
	}
	return HANAMI_OK;
}

/* A position written "x,y" or "x,y,z". */
static HnStatus
PositionText(const char *s, int16_t *xyz, const char *what, HnError *err)
{
	long		c[3] = {0, 0, 0};
	int			n = 0;
	const char *p = s;

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
	{
		HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
				   "%s \"%s\" is not a position", what, s);
		return HnSetHint(err, "Write a position as \"x,y\" or \"x,y,z\", or as an array [x, y, z].");
	}
	return SetPosition(c, xyz, what, err);
}

/* A position: [x, y], [x, y, z] or "x,y,z"; coordinates -1000..1000. */
static HnStatus
Position(const HnJson *v, int16_t *xyz, const char *what, HnError *err)
{
	long		c[3] = {0, 0, 0};
	HnStatus	st;

	if (v->type == HN_JSON_STRING)
		return PositionText(v->u.text, xyz, what, err);
	if ((st = Elements(v, what, 3, "coordinates", err)) != HANAMI_OK)
		return st;
	if (v->n < 2)
		return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
						  "%s needs two or three coordinates", what);
	for (size_t i = 0; i < v->n; i++)
	{
		int64_t		x;

		if ((st = HnJsonInt(&v->u.items[i], what, -HK_MAX_COORD, HK_MAX_COORD,
							&x, err)) != HANAMI_OK)
			return st;
		c[i] = (long) x;
	}
	return SetPosition(c, xyz, what, err);
}

/* Index of the cell at a position, or an error. */
static HnStatus
CellAt(const HkSpec *spec, const int16_t *p, const char *what, int *cell,
	   HnError *err)
{
	for (int c = 0; c < spec->n_cells; c++)
		if (spec->cells[c].x == p[0] && spec->cells[c].y == p[1] &&
			spec->cells[c].z == p[2])
		{
			*cell = c;
			return HANAMI_OK;
		}
	return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
					  "%s %d,%d,%d is not a cell", what, p[0], p[1], p[2]);
}

/* One element of "cells". */
static HnStatus
ReadCell(const HnJson *v, int idx, HkCellSpec *cs, HnError *err)
{
	static const struct
	{
		const char *key;
		HkCellType	type;
		bool		typed;
	}			counts[] = {
		{"input", HK_CELL_INPUT, true},
		{"output", HK_CELL_OUTPUT, true},
		{"neurons", HK_CELL_HIDDEN, false},
	};
	const HnJson *f;
	int16_t		p[3];
	int			kinds = 0;
	char		what[64];
	HnStatus	st;

	snprintf(what, sizeof(what), "cell %d", idx);
	if ((st = HnJsonObject(v, what, err)) != HANAMI_OK ||
		(st = HnJsonCheckKeys(v, "cell key", cell_keys, err)) != HANAMI_OK)
		return st;
	memset(cs, 0, sizeof(*cs));
	cs->axon = -1;
	cs->type = HK_CELL_HIDDEN;
	if ((f = HnJsonGet(v, "position")) == NULL)
	{
		HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
				   "cell %d has no \"position\"", idx);
		return HnSetHint(err, "Give each cell a position such as [1, 0, 0] or \"1,0,0\".");
	}
	snprintf(what, sizeof(what), "position of cell %d", idx);
	if ((st = Position(f, p, what, err)) != HANAMI_OK)
		return st;
	cs->x = p[0];
	cs->y = p[1];
	cs->z = p[2];
	snprintf(what, sizeof(what), "neuron count of cell %d", idx);
	for (int i = 0; i < 3; i++)
	{
		if ((f = HnJsonGet(v, counts[i].key)) == NULL)
			continue;
		if (counts[i].typed)
			cs->type = counts[i].type;
		if ((st = HnJsonU32(f, what, 1, HK_MAX_CELL_NEURONS, &cs->count, err)) != HANAMI_OK)
			return st;
		kinds++;
	}
	if (kinds > 1)
	{
		HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
				   "cell %d has more than one of \"input\", \"output\" and \"neurons\"",
				   idx);
		return HnSetHint(err, "An input cell gives \"input\": n, an output cell \"output\": n, a hidden cell \"neurons\": n (or nothing for the default).");
	}
	if ((f = HnJsonGet(v, "name")) != NULL &&
		(st = HnJsonName(f, "cell", cs->name, err)) != HANAMI_OK)
		return st;
	return HANAMI_OK;
}

/* An axon written "x,y,z -> x,y,z": its source and target cells. */
static HnStatus
AxonText(const Reader *rd, const HnJson *v, int idx, int *from, int *to)
{
	char	   *s = HnAlloc(rd->alloc, v->n + 1);
	char	   *arrow;
	char	   *t;
	size_t		n;
	int16_t		p[3];
	HnStatus	st;

	if (s == NULL)
		return HnSetError(rd->err, HANAMI_E_NOMEM, NULL,
						  "out of memory reading an axon");
	memcpy(s, v->u.text, v->n + 1);
	if ((arrow = strstr(s, "->")) == NULL)
	{
		HnSetError(rd->err, HANAMI_E_MALFORMED_SPEC, NULL,
				   "axon %d \"%s\" has no \"->\"", idx, s);
		st = HnSetHint(rd->err, "Write an axon as \"x,y,z -> x,y,z\".");
		HnFree(rd->alloc, s);
		return st;
	}
	*arrow = '\0';
	n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
	t = arrow + 2;
	while (*t == ' ')
		t++;
	if ((st = PositionText(s, p, "axon source", rd->err)) == HANAMI_OK &&
		(st = CellAt(rd->spec, p, "axon source", from, rd->err)) == HANAMI_OK &&
		(st = PositionText(t, p, "axon target", rd->err)) == HANAMI_OK)
		st = CellAt(rd->spec, p, "axon target", to, rd->err);
	HnFree(rd->alloc, s);
	return st;
}

/* One element of "axons": "x,y,z -> x,y,z" or {"from": ..., "to": ...}. */
static HnStatus
ReadAxon(const Reader *rd, const HnJson *v, int idx)
{
	HkSpec	   *spec = rd->spec;
	int			from;
	int			to;
	int16_t		p[3];
	HnStatus	st;

	if (v->type == HN_JSON_STRING)
	{
		if ((st = AxonText(rd, v, idx, &from, &to)) != HANAMI_OK)
			return st;
	}
	else
	{
		const HnJson *f;
		const HnJson *t;

		if ((st = HnJsonObject(v, "an axon", rd->err)) != HANAMI_OK ||
			(st = HnJsonCheckKeys(v, "axon key", axon_keys, rd->err)) != HANAMI_OK)
			return st;
		f = HnJsonGet(v, "from");
		t = HnJsonGet(v, "to");
		if (f == NULL || t == NULL)
			return HnSetError(rd->err, HANAMI_E_MALFORMED_SPEC, NULL,
							  "axon %d needs \"from\" and \"to\"", idx);
		if ((st = Position(f, p, "axon source", rd->err)) != HANAMI_OK ||
			(st = CellAt(spec, p, "axon source", &from, rd->err)) != HANAMI_OK ||
			(st = Position(t, p, "axon target", rd->err)) != HANAMI_OK ||
			(st = CellAt(spec, p, "axon target", &to, rd->err)) != HANAMI_OK)
			return st;
	}
	if (spec->cells[from].axon >= 0)
		return HnSetError(rd->err, HANAMI_E_MALFORMED_SPEC, NULL,
						  "cell %d,%d,%d has two axons", spec->cells[from].x,
						  spec->cells[from].y, spec->cells[from].z);
	spec->cells[from].axon = to;
	return HANAMI_OK;
}

/* "settings" into spec. */
static HnStatus
ReadSettings(const HnJson *v, HkSpec *spec, HnError *err)
{
	const HnJson *f;
	HnStatus	st;

	if ((st = HnJsonObject(v, "\"settings\"", err)) != HANAMI_OK ||
		(st = HnJsonCheckKeys(v, "setting", settings_keys, err)) != HANAMI_OK)
		return st;
	if ((f = HnJsonGet(v, "max_connection_distance")) != NULL &&
		(st = HnJsonU32(f, "max_connection_distance", 1, HK_MAX_DISTANCE,
					  &spec->max_distance, err)) != HANAMI_OK)
		return st;
	if ((f = HnJsonGet(v, "neuron_cooldown")) != NULL && f->type != HN_JSON_NULL)
	{
		if ((st = HnJsonNumber(f, "neuron_cooldown", &spec->cooldown, err)) != HANAMI_OK)
			return st;
		if (!(spec->cooldown > 1.0 && spec->cooldown <= FLT_MAX))
			return HnSetError(err, HANAMI_E_MALFORMED_SPEC,
							  "The potential a neuron carries to the next input is divided by it; null turns spiking off.",
							  "neuron_cooldown must be greater than 1");
	}
	if ((f = HnJsonGet(v, "refractory_time")) != NULL &&
		(st = HnJsonU32(f, "refractory_time", 1, HK_MAX_REFRACTORY,
					  &spec->refractory, err)) != HANAMI_OK)
		return st;
	if ((f = HnJsonGet(v, "enable_reduction")) != NULL &&
		(st = HnJsonBool(f, "enable_reduction", &spec->reduction, err)) != HANAMI_OK)
		return st;
	if ((f = HnJsonGet(v, "reduction_threshold")) != NULL &&
		(st = HnJsonU32(f, "reduction_threshold", 1, HK_COUNTER_CAP,
					  &spec->reduction_threshold, err)) != HANAMI_OK)
		return st;
	if ((f = HnJsonGet(v, "neurons")) != NULL &&
		(st = HnJsonU32(f, "settings.neurons", 1, HK_MAX_CELL_NEURONS,
					  &spec->neurons, err)) != HANAMI_OK)
		return st;
	if ((f = HnJsonGet(v, "max_sections")) != NULL &&
		(st = HnJsonU32(f, "max_sections", 1, INT32_MAX, &spec->max_blocks,
					  err)) != HANAMI_OK)
		return st;
	return HANAMI_OK;
}

/* The layered shorthand: cells along x. */
static HnStatus
ReadLayers(const HnJson *v, HkSpec *spec, HnError *err)
{
	HnStatus	st;

	if ((st = Elements(v, "\"layers\"", HK_MAX_CELLS, "layers", err)) != HANAMI_OK)
		return st;
	if (v->n < 2)
	{
		HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
				   "\"layers\" needs at least an input and an output");
		return HnSetHint(err, "For example {\"kind\": \"hanami\", \"layers\": [64, 256, 10]}.");
	}
	for (size_t i = 0; i < v->n; i++)
	{
		const HnJson *e = &v->u.items[i];
		HkCellSpec *cs = &spec->cells[i];
		char		what[64];

		memset(cs, 0, sizeof(*cs));
		cs->x = (int16_t) i;
		cs->axon = -1;
		cs->type = i == 0 ? HK_CELL_INPUT :
			i == v->n - 1 ? HK_CELL_OUTPUT : HK_CELL_HIDDEN;
		snprintf(what, sizeof(what), "neuron count of layer %zu", i);
		if (e->type == HN_JSON_OBJECT)
		{
			const HnJson *f;

			if ((st = HnJsonCheckKeys(e, "layer key", layer_keys, err)) != HANAMI_OK)
				return st;
			if ((f = HnJsonGet(e, "count")) == NULL)
				return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
								  "layer %zu has no \"count\"", i);
			if ((st = HnJsonU32(f, what, 1, HK_MAX_CELL_NEURONS, &cs->count, err)) != HANAMI_OK)
				return st;
			if ((f = HnJsonGet(e, "name")) != NULL)
			{
				const char *name;

				if ((st = HnJsonString(f, "layer name", &name, err)) != HANAMI_OK)
					return st;
				if (f->n >= HANAMI_NAME_LEN)
					return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
									  "layer name \"%s\" is too long", name);
				memcpy(cs->name, name, f->n + 1);
			}
		}
		else if ((st = HnJsonU32(e, what, 1, HK_MAX_CELL_NEURONS, &cs->count, err)) != HANAMI_OK)
			return st;
	}
	spec->n_cells = (int) v->n;
	return HANAMI_OK;
}

/* Fill spec from a template or text form; *setup and *trained: those
 * members or NULL. */
static HnStatus
ReadSpec(const Reader *rd, const HnJson *root, const HnJson **setup,
		 const HnJson **trained)
{
	HkSpec	   *spec = rd->spec;
	HnError    *err = rd->err;
	const HnJson *v;
	const HnJson *cells = HnJsonGet(root, "cells");
	const HnJson *layers = HnJsonGet(root, "layers");
	HnStatus	st;

	if ((st = HnJsonCheckKeys(root, "network key", grow_keys, err)) != HANAMI_OK)
		return st;
	memset(spec, 0, sizeof(*spec));
	if ((st = NetJsonCheckFormat(root, err)) != HANAMI_OK)
		return st;
	if ((cells == NULL) == (layers == NULL))
	{
		HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
				   "a hanami network needs either \"cells\" or \"layers\"");
		return HnSetHint(err, "Give a cell template {\"cells\": [{\"position\": [0, 0, 0], \"input\": 4}, ...]} or the shorthand {\"layers\": [4, 256, 3]}.");
	}
	if (layers)
	{
		if ((st = ReadLayers(layers, spec, err)) != HANAMI_OK)
			return st;
	}
	else
	{
		if ((st = Elements(cells, "\"cells\"", HK_MAX_CELLS, "cells", err)) != HANAMI_OK)
			return st;
		for (size_t i = 0; i < cells->n; i++)
			if ((st = ReadCell(&cells->u.items[i], (int) i, &spec->cells[i], err)) != HANAMI_OK)
				return st;
		spec->n_cells = (int) cells->n;
	}
	if ((v = HnJsonGet(root, "axons")) != NULL)
	{
		if ((st = Elements(v, "\"axons\"", HK_MAX_CELLS, "axons", err)) != HANAMI_OK)
			return st;
		for (size_t i = 0; i < v->n; i++)
			if ((st = ReadAxon(rd, &v->u.items[i], (int) i)) != HANAMI_OK)
				return st;
	}
	if ((v = HnJsonGet(root, "settings")) != NULL &&
		(st = ReadSettings(v, spec, err)) != HANAMI_OK)
		return st;
	if ((v = HnJsonGet(root, "seed")) != NULL &&
		(st = HnJsonU32(v, "seed", 0, UINT32_MAX, &spec->seed, err)) != HANAMI_OK)
		return st;
	*setup = HnJsonGet(root, "setup");
	*trained = HnJsonGet(root, "trained");
	return HANAMI_OK;
}

/* "trained" onto a fresh image: counters and the growth history. */
static HnStatus
ApplyTrained(HkNet *net, const HnJson *trained, HnError *err)
{
	const HnJson *v;
	HnStatus	st;

	if ((st = HnJsonObject(trained, "\"trained\"", err)) != HANAMI_OK ||
		(st = HnJsonCheckKeys(trained, "\"trained\" key", trained_keys, err)) != HANAMI_OK)
		return st;
	if ((v = HnJsonGet(trained, "epochs")) != NULL &&
		(st = HnJsonU32(v, "trained.epochs", 0, UINT32_MAX, &net->hdr->epochs,
					  err)) != HANAMI_OK)
		return st;
	if ((v = HnJsonGet(trained, "samples")) != NULL)
	{
		uint64_t	samples;

		if ((st = HnJsonUint64(v, "trained.samples", &samples, err)) != HANAMI_OK)
			return st;
		net->hdr->samples = samples;
	}
	if ((v = HnJsonGet(trained, "growth")) != NULL)
	{
		if ((st = Elements(v, "trained.growth", HK_HISTORY, "growth entries",
						   err)) != HANAMI_OK)
			return st;
		for (size_t i = 0; i < v->n; i++)
		{
			const HnJson *e = &v->u.items[i];
			HkEpoch    *h = &net->gh->history[i];

			if ((st = Elements(e, "a growth entry", 4,
							   "values in a growth entry", err)) != HANAMI_OK)
				return st;
			if (e->n != 4)
				return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
								  "a growth entry has four numbers: epoch, sections, synapses, blocks");
			if ((st = HnJsonU32(&e->u.items[0], "growth epoch", 0, UINT32_MAX,
							  &h->epoch, err)) != HANAMI_OK ||
				(st = HnJsonU32(&e->u.items[1], "growth sections", 0, UINT32_MAX,
							  &h->sections, err)) != HANAMI_OK ||
				(st = HnJsonU32(&e->u.items[2], "growth synapses", 0, UINT32_MAX,
							  &h->synapses, err)) != HANAMI_OK ||
				(st = HnJsonU32(&e->u.items[3], "growth blocks", 0, UINT32_MAX,
							  &h->blocks, err)) != HANAMI_OK)
				return st;
		}
		net->gh->n_history = (uint32_t) v->n;
	}
	return HANAMI_OK;
}

/* The image of a read spec: setup's blocks and data, trained's counters. */
static HnStatus
Build(const Reader *rd, const HnJson *setup, const HnJson *trained,
	  void **image, size_t *len)
{
	HkSpec	   *spec = rd->spec;
	HnError    *err = rd->err;
	const HnJson *v;
	const char *data = NULL;
	size_t		data_len = 0;
	uint32_t	n_blocks = 0;
	uint32_t	neurons = 0;
	bool		grouped = false;
	size_t		size;
	size_t		want;
	HkNet		net;
	HnStatus	st;

	if (setup)
	{
		if ((st = HnJsonObject(setup, "\"setup\"", err)) != HANAMI_OK ||
			(st = HnJsonCheckKeys(setup, "\"setup\" key", setup_keys, err)) != HANAMI_OK)
			return st;
		if (HnJsonGet(setup, "sections") == NULL ||
			(v = HnJsonGet(setup, "data")) == NULL)
			return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
							  "\"setup\" needs \"sections\" and \"data\"");
		if ((st = HnJsonU32(HnJsonGet(setup, "sections"), "setup.sections", 0,
						  spec->max_blocks, &n_blocks, err)) != HANAMI_OK ||
			(st = HnJsonString(v, "setup.data", &data, err)) != HANAMI_OK)
			return st;
		data_len = v->n;
		if ((v = HnJsonGet(setup, "grouped")) != NULL &&
			(st = HnJsonBool(v, "setup.grouped", &grouped, err)) != HANAMI_OK)
			return st;
	}
	for (int c = 0; c < spec->n_cells; c++)
		neurons += spec->cells[c].count;
	if ((size = HkImageSize((uint32_t) spec->n_cells, neurons, n_blocks, err)) == 0)
		return err->code;
	/* the data must fit what it claims before anything is allocated */
	want = size - sizeof(HnHeader) - sizeof(HkHeader) -
		sizeof(HkCell) * (size_t) spec->n_cells;
	if (data && (HnBase64DecodedLen(data_len) < want ||
				 HnBase64DecodedLen(data_len) > want + 3))
	{
		char		detail[HANAMI_ERRMSG_LEN];

		snprintf(detail, sizeof(detail),
				 "They need %zu bytes; setup.data holds about %zu.",
				 want, HnBase64DecodedLen(data_len));
		return HnSetError(err, HANAMI_E_MALFORMED_SPEC, detail,
						  "setup.data does not match the cells and sections");
	}
	*image = HnAlloc(rd->alloc, size);	/* HkCreate writes every byte */
	if (*image == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for a network of %zu bytes", size);
	if ((st = HkCreate(*image, size, spec, n_blocks, err)) != HANAMI_OK)
		return st;
	HkBindTrusted(&net, *image);
	if (trained && (st = ApplyTrained(&net, trained, err)) != HANAMI_OK)
		return st;
	if (data && HnBase64Decode(data, data_len, net.neurons, want) != (int64_t) want)
		return HnSetError(err, HANAMI_E_MALFORMED_SPEC, NULL,
						  "setup.data is not valid base64 of %zu bytes", want);
	HkRecount(&net);
	/* sections grouped by cell (hanami.h HK_GROUPED): checked by the bind */
	if (grouped)
		net.gh->flags |= HK_GROUPED;
	*len = size;
	return HANAMI_OK;
}

/* The kind's from_json: a template or text form into a new image. */
HnStatus
HkFromJson(const HnJson *root, const HnJsonIn *in, const HnAllocator *alloc,
		   void **image, size_t *len, HnError *err)
{
	Reader		rd;
	const HnJson *setup = NULL;
	const HnJson *trained = NULL;
	HnStatus	st;

	*image = NULL;
	*len = 0;
	rd.alloc = alloc;
	rd.err = err;
	rd.spec = HnAlloc(alloc, sizeof(HkSpec));
	if (rd.spec == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory reading a network description");
	st = ReadSpec(&rd, root, &setup, &trained);
	if (st == HANAMI_OK)
	{
		if (in->has_seed)
			rd.spec->seed = in->seed;
		st = HkSpecFinalize(rd.spec, err);
	}
	if (st == HANAMI_OK)
		st = Build(&rd, setup, trained, image, len);
	HnFree(alloc, rd.spec);
	if (st != HANAMI_OK)
	{
		HnFree(alloc, *image);
		*image = NULL;
		*len = 0;
	}
	return st;
}

/* A position as [x, y, z]. */
static void
AppendPosition(HnBuf *buf, const HkCell *c)
{
	HnBufPrintf(buf, "[%d, %d, %d]", c->x, c->y, c->z);
}

/* "settings": {...} */
static void
AppendSettings(HnBuf *buf, const HkNet *net)
{
	const HkHeader *gh = net->gh;

	HnBufAppend(buf, "\"settings\": {\"max_connection_distance\": ");
	HnBufPrintf(buf, "%u, \"neuron_cooldown\": ", gh->max_distance);
	if (gh->cooldown > 0.0f)
		HnBufPrintf(buf, "%.9g", (double) gh->cooldown);
	else
		HnBufAppend(buf, "null");
	HnBufPrintf(buf, ", \"refractory_time\": %u, \"enable_reduction\": %s, "
				"\"reduction_threshold\": %u, \"max_sections\": %u}",
				gh->refractory,
				(gh->flags & HK_REDUCTION) ? "true" : "false",
				gh->reduction_threshold, gh->max_blocks);
}

/* The settings, cells and axons of a template. */
static void
AppendTemplate(HnBuf *buf, const HkNet *net)
{
	const HkHeader *gh = net->gh;
	bool		any_axon = false;

	AppendSettings(buf, net);
	HnBufAppend(buf, ", \"cells\": [");
	for (uint32_t c = 0; c < gh->n_cells; c++)
	{
		const HkCell *cell = &net->cells[c];

		HnBufAppend(buf, c ? ", {\"position\": " : "{\"position\": ");
		AppendPosition(buf, cell);
		HnBufPrintf(buf, ", \"%s\": %u",
					cell->type == HK_CELL_INPUT ? "input" :
					cell->type == HK_CELL_OUTPUT ? "output" : "neurons",
					cell->n_neurons);
		if (cell->name[0])
		{
			HnBufAppend(buf, ", \"name\": ");
			HnBufJsonString(buf, cell->name);
		}
		HnBufAppendChar(buf, '}');
		any_axon |= cell->axon != HK_NO_AXON;
	}
	HnBufAppendChar(buf, ']');
	if (any_axon)
	{
		bool		first = true;

		HnBufAppend(buf, ", \"axons\": [");
		for (uint32_t c = 0; c < gh->n_cells; c++)
		{
			const HkCell *a = &net->cells[c];
			const HkCell *b;

			if (a->axon == HK_NO_AXON)
				continue;
			b = &net->cells[a->axon];
			HnBufPrintf(buf, "%s\"%d,%d,%d -> %d,%d,%d\"", first ? "" : ", ",
						a->x, a->y, a->z, b->x, b->y, b->z);
			first = false;
		}
		HnBufAppendChar(buf, ']');
	}
}

/* The kind's to_json: the text form (exact). */
HnStatus
HkToJson(const HnNet *any, HnBuf *buf, HnError *err)
{
	const HkNet *net = HkOf(any);
	const char *data = (const char *) net->neurons;
	size_t		nbytes = (size_t) ((const char *) net->hdr +
								   net->hdr->total_size - data);

	if (nbytes > HN_TEXT_MAX / 4 * 3 - 65536)
	{
		HnSetError(err, HANAMI_E_TOO_LARGE, NULL,
				   "network is too large for its text form");
		return HnSetHint(err, "Use the binary form (COPY ... WITH (FORMAT binary)) or a cast to bytea.");
	}
	HnBufReserve(buf, HnBase64EncodedLen(nbytes) + 1024 +
				 128 * (size_t) net->gh->n_cells);
	HnBufPrintf(buf, "{\"format\": %d, \"kind\": \"hanami\", ",
				HANAMI_FORMAT_VERSION);
	AppendTemplate(buf, net);
	HnBufPrintf(buf, ", \"seed\": %u, \"trained\": {\"epochs\": %u, \"samples\": %llu, \"growth\": [",
				net->hdr->seed, net->hdr->epochs,
				(unsigned long long) net->hdr->samples);
	for (uint32_t i = 0; i < net->gh->n_history; i++)
	{
		const HkEpoch *h = &net->gh->history[i];

		HnBufPrintf(buf, "%s[%u, %u, %u, %u]", i ? ", " : "",
					h->epoch, h->sections, h->synapses, h->blocks);
	}
	HnBufPrintf(buf, "]}, \"setup\": {\"sections\": %u, %s\"data\": \"",
				net->gh->n_blocks,
				(net->gh->flags & HK_GROUPED) ? "\"grouped\": true, " : "");
	HnBufBase64(buf, data, nbytes);
	HnBufAppend(buf, "\"}}");
	return HnBufCheck(buf, err);
}

/* The kind's info: cells, neurons, sections, synapses, blocks, growth. */
HnStatus
HkInfoJson(const HnNet *any, HnBuf *buf, HnError *err)
{
	const HkNet *net = HkOf(any);
	HkStats		st;
	uint32_t	cell_sections[HK_MAX_CELLS];
	uint64_t	cell_synapses[HK_MAX_CELLS];

	HkGetStats(net, &st);
	memset(cell_sections, 0, sizeof(cell_sections));
	memset(cell_synapses, 0, sizeof(cell_synapses));
	/* blocks of a neuron's cell; neurons are in cell order */
	for (uint32_t b = 0; b < net->gh->n_blocks; b++)
	{
		const HkBlock *blk = &net->blocks[b];
		uint32_t	live = 0;
		uint32_t	c;

		for (c = 0; c + 1 < net->gh->n_cells &&
			 net->cells[c + 1].first_neuron <= blk->source; c++)
			;
		for (int i = 0; i < blk->n_used; i++)
			live += blk->syn[i].target != HK_GAP;
		cell_sections[c] += live > 0;
		cell_synapses[c] += live;
	}
	HnBufPrintf(buf, "{\"kind\": \"hanami\", \"format\": %d, \"inputs\": %u, "
				"\"outputs\": %u, \"cells\": [",
				HANAMI_FORMAT_VERSION, net->hdr->n_inputs, net->hdr->n_outputs);
	for (uint32_t c = 0; c < net->gh->n_cells; c++)
	{
		const HkCell *cell = &net->cells[c];

		HnBufAppend(buf, c ? ", {\"position\": " : "{\"position\": ");
		AppendPosition(buf, cell);
		HnBufPrintf(buf, ", \"type\": \"%s\", \"neurons\": %u, \"depth\": %u, "
					"\"sections\": %u, \"synapses\": %llu",
					HkCellTypeName(cell->type), cell->n_neurons, cell->depth,
					cell_sections[c], (unsigned long long) cell_synapses[c]);
		if (cell->name[0])
		{
			HnBufAppend(buf, ", \"name\": ");
			HnBufJsonString(buf, cell->name);
		}
		if (cell->axon != HK_NO_AXON)
		{
			HnBufAppend(buf, ", \"axon\": ");
			AppendPosition(buf, &net->cells[cell->axon]);
		}
		HnBufAppendChar(buf, '}');
	}
	HnBufPrintf(buf, "], \"neurons\": %u, \"sections\": %u, \"synapses\": %llu, "
				"\"blocks\": %u, \"block_bytes\": %zu, \"bytes\": %llu, "
				"\"parameters\": %llu, \"spiking\": %s, \"loss\": \"cross_entropy\", ",
				st.neurons, st.sections, (unsigned long long) st.synapses,
				st.blocks, sizeof(HkBlock),
				(unsigned long long) st.bytes + HN_VALUE_HEADER,
				(unsigned long long) net->hdr->n_params,
				(net->gh->flags & HK_SPIKING) ? "true" : "false");
	AppendSettings(buf, net);
	HnBufPrintf(buf, ", \"seed\": %u, \"trained\": {\"epochs\": %u, \"samples\": %llu}, "
				"\"growth\": [",
				net->hdr->seed, net->hdr->epochs,
				(unsigned long long) net->hdr->samples);
	for (uint32_t i = 0; i < net->gh->n_history; i++)
	{
		const HkEpoch *h = &net->gh->history[i];
		const HkEpoch *p = i > 0 ? &net->gh->history[i - 1] : NULL;

		HnBufPrintf(buf, "%s{\"epoch\": %u, \"sections\": %u, \"synapses\": %u, "
					"\"blocks\": %u",
					i ? ", " : "", h->epoch, h->sections, h->synapses, h->blocks);
		if (p)
			HnBufPrintf(buf, ", \"new_synapses\": %lld, \"new_blocks\": %lld",
						(long long) h->synapses - (long long) p->synapses,
						(long long) h->blocks - (long long) p->blocks);
		HnBufAppendChar(buf, '}');
	}
	HnBufAppend(buf, "]}");
	return HnBufCheck(buf, err);
}
