/*
 * ports.c - a network's named inputs and outputs (ports.h): the kind's
 * list or the default of one port each way, the "inputs" and "targets"
 * options read against them, and an input row gathered from named arrays.
 */
#include "core/ports.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"

/* The ports of net; see ports.h. */
int
HnPorts(const HnNet *net, bool outputs, HnPort *out, int max)
{
	if (net->kind->ports != NULL)
		return net->kind->ports(net, outputs, out, max);
	if (max >= 1)
	{
		memset(out, 0, sizeof(*out));
		snprintf(out->name, sizeof(out->name), "%s",
				 outputs ? "output" : "input");
		out->offset = 0;
		out->count = outputs ? net->hdr->n_outputs : net->hdr->n_inputs;
		out->classes = outputs &&
			net->kind->outputs(net, NULL, 0) == HANAMI_OUTPUTS_CLASSES;
	}
	return 1;
}

/* "input layers are a, b and c" into buf, for hints. */
static void
PortList(const HnPort *ports, int n, bool outputs, char *buf, size_t len)
{
	size_t		at;

	at = (size_t) snprintf(buf, len, "The network's %s layer%s ",
						   outputs ? "output" : "input",
						   n == 1 ? " is" : "s are");
	for (int i = 0; i < n && at < len; i++)
		at += (size_t) snprintf(buf + at, len - at, "%s\"%s\"",
								i == 0 ? "" : i + 1 == n ? " and " : ", ",
								ports[i].name);
	if (at < len)
		snprintf(buf + at, len - at, ".");
}

/* Index of the port called name, or -1. */
static int
PortIndex(const HnPort *ports, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(ports[i].name, name) == 0)
			return i;
	return -1;
}

/* A copy of s from alloc, or NULL. */
static char *
CopyString(const char *s, const HnAllocator *alloc)
{
	size_t		n = strlen(s) + 1;
	char	   *d = HnAlloc(alloc, n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

/* A column name: a string that is not empty. */
static HnStatus
ColumnName(const HnJson *v, const char *key, const char *port,
		   const char **out, HnError *err)
{
	if (v->type != HN_JSON_STRING)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  strcmp(key, "inputs") == 0 ?
						  "Give a column name, or an array of column names, for each input layer." :
						  "Give the name of the target column of each output layer.",
						  "option \"%s\": the columns of layer \"%s\" must be %s, not %s",
						  key, port,
						  strcmp(key, "inputs") == 0 ?
						  "column names" : "a column name",
						  HnJsonTypeName(v));
	if (v->u.text[0] == '\0')
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "option \"%s\": layer \"%s\" names an empty column",
						  key, port);
	*out = v->u.text;
	return HANAMI_OK;
}

/* The columns of one port from its value v. */
static HnStatus
ReadColumns(const HnJson *v, const char *key, const char *port,
			const HnAllocator *alloc, HnPortColumns *pc, HnError *err)
{
	bool		many = v->type == HN_JSON_ARRAY;
	size_t		n = many ? v->n : 1;
	HnStatus	st;

	if (many && strcmp(key, "inputs") != 0)
		return ColumnName(v, key, port, NULL, err);
	if (many && n == 0)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Every input layer needs at least one column.",
						  "option \"%s\": layer \"%s\" has an empty list of columns",
						  key, port);
	if (n > 65536)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "option \"%s\": layer \"%s\" has too many columns",
						  key, port);
	pc->port = CopyString(port, alloc);
	pc->columns = HnAlloc(alloc, n * sizeof(char *));
	if (pc->port == NULL || pc->columns == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for options");
	memset(pc->columns, 0, n * sizeof(char *));
	pc->n_columns = (int) n;
	for (size_t i = 0; i < n; i++)
	{
		const char *col;

		if ((st = ColumnName(many ? &v->u.items[i] : v, key, port, &col,
							 err)) != HANAMI_OK)
			return st;
		if ((pc->columns[i] = CopyString(col, alloc)) == NULL)
			return HnSetError(err, HANAMI_E_NOMEM, NULL,
							  "out of memory for options");
	}
	return HANAMI_OK;
}

/* Free a map's strings; see ports.h. */
void
HnPortMapFree(HnPortMap *map, const HnAllocator *alloc)
{
	for (int p = 0; p < map->n; p++)
	{
		HnPortColumns *pc = &map->ports[p];

		for (int i = 0; i < pc->n_columns; i++)
			HnFree(alloc, pc->columns[i]);
		HnFree(alloc, pc->columns);
		HnFree(alloc, pc->port);
	}
	HnFree(alloc, map->ports);
	memset(map, 0, sizeof(*map));
}

/* The ports' columns of option key; see HnPortMapRead. */
static HnStatus
PortMapFill(const HnNet *net, const HnJson *obj, const char *key,
			  const HnAllocator *alloc, HnPortMap *map, HnError *err)
{
	bool		outputs = strcmp(key, "targets") == 0;
	HnPort		ports[HANAMI_MAX_PORTS];
	char		hint[HANAMI_ERRHINT_LEN];
	const HnJson *v = obj ? HnJsonGet(obj, key) : NULL;
	int			n;
	HnStatus	st;

	memset(map, 0, sizeof(*map));
	if (v == NULL)
		return HANAMI_OK;
	n = HnPorts(net, outputs, ports, HANAMI_MAX_PORTS);
	if (n > HANAMI_MAX_PORTS)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "option \"%s\": the network has more than %d %s layers",
						  key, HANAMI_MAX_PORTS, outputs ? "output" : "input");
	PortList(ports, n, outputs, hint, sizeof(hint));
	if (v->type != HN_JSON_OBJECT)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
				   "option \"%s\" must be an object, not %s", key,
				   HnJsonTypeName(v));
		return HnSetHint(err, outputs ?
						 "For example {\"targets\": {\"output\": \"label\"}}: each output layer and its target column." :
						 "For example {\"inputs\": {\"input\": [\"x1\", \"x2\"]}}: each input layer and its columns.");
	}
	/* every key a port */
	for (size_t i = 0; i < v->n; i++)
		if (PortIndex(ports, n, v->u.members[i].key) < 0)
		{
			HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
					   "option \"%s\" names unknown %s layer \"%s\"", key,
					   outputs ? "output" : "input", v->u.members[i].key);
			return HnSetHint(err, hint);
		}
	map->ports = HnAlloc(alloc, (size_t) n * sizeof(HnPortColumns));
	if (map->ports == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for options");
	memset(map->ports, 0, (size_t) n * sizeof(HnPortColumns));
	map->n = n;					/* entries not yet read stay empty */
	/* every port named, in the network's order */
	for (int p = 0; p < n; p++)
	{
		const HnJson *cols = HnJsonGet(v, ports[p].name);

		if (cols == NULL)
		{
			HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
					   "option \"%s\" has no %s for %s layer \"%s\"", key,
					   outputs ? "target column" : "columns",
					   outputs ? "output" : "input", ports[p].name);
			return HnSetHint(err, outputs ?
							 "Every output layer needs a target column." :
							 "Every input layer needs its columns.");
		}
		if ((st = ReadColumns(cols, key, ports[p].name, alloc, &map->ports[p],
							  err)) != HANAMI_OK)
			return st;
	}
	return HANAMI_OK;
}

/* Read option "inputs" or "targets"; see ports.h. */
HnStatus
HnPortMapRead(const HnNet *net, const HnJson *obj, const char *key,
			  const HnAllocator *alloc, HnPortMap *map, HnError *err)
{
	HnStatus	st = PortMapFill(net, obj, key, alloc, map, err);

	if (st != HANAMI_OK)
		HnPortMapFree(map, alloc);
	return st;
}

/* The input row of net from named arrays; see ports.h. */
HnStatus
HnPortsGather(const HnNet *net, const HnJson *obj, float *x, HnError *err)
{
	HnPort		ports[HANAMI_MAX_PORTS];
	char		hint[HANAMI_ERRHINT_LEN];
	int			n = HnPorts(net, false, ports, HANAMI_MAX_PORTS);

	if (n > HANAMI_MAX_PORTS)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "the network has more than %d input layers",
						  HANAMI_MAX_PORTS);
	PortList(ports, n, false, hint, sizeof(hint));
	if (obj == NULL || obj->type != HN_JSON_OBJECT)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
				   "inputs must be an object, not %s",
				   obj ? HnJsonTypeName(obj) : "nothing");
		return HnSetHint(err, "Give each input layer its values: {\"input\": [1, 2, 3]}.");
	}
	for (size_t i = 0; i < obj->n; i++)
		if (PortIndex(ports, n, obj->u.members[i].key) < 0)
		{
			HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
					   "inputs name unknown input layer \"%s\"",
					   obj->u.members[i].key);
			return HnSetHint(err, hint);
		}
	for (int p = 0; p < n; p++)
	{
		const HnJson *v = HnJsonGet(obj, ports[p].name);

		if (v == NULL)
		{
			HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
					   "inputs have no values for input layer \"%s\"",
					   ports[p].name);
			return HnSetHint(err, hint);
		}
		if (v->type != HN_JSON_ARRAY)
			return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
							  "Give an array of numbers, even for one value: [0.5].",
							  "the values of input layer \"%s\" must be an array, not %s",
							  ports[p].name, HnJsonTypeName(v));
		if (v->n != ports[p].count)
			return HnSetError(err, HANAMI_E_DIMENSION, NULL,
							  "input layer \"%s\" has %u values, but %zu were given",
							  ports[p].name, (unsigned) ports[p].count, v->n);
		for (size_t j = 0; j < v->n; j++)
		{
			const HnJson *e = &v->u.items[j];
			double		d;

			if (e->type != HN_JSON_NUMBER)
				return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
								  "value %zu of input layer \"%s\" must be a number, not %s",
								  j + 1, ports[p].name, HnJsonTypeName(e));
			if (HnJsonNumber(e, "value", &d, err) != HANAMI_OK)
				return err->code;
			x[ports[p].offset + j] = (float) d;
			if (!isfinite(x[ports[p].offset + j]))
				return HnSetError(err, HANAMI_E_NOT_FINITE, NULL,
								  "value %zu of input layer \"%s\" is not finite as a real",
								  j + 1, ports[p].name);
		}
	}
	return HANAMI_OK;
}
