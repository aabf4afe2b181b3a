/*
 * run_named.c - inference with named inputs and outputs; see run_named.h.
 */
#include "core/run_named.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The values of group i of the inputs, checked, into x. */
static HnStatus
ReadGroup(const HnJson *v, const char *name, uint32_t count, float *x,
		  HnError *err)
{
	char		detail[HANAMI_ERRMSG_LEN];

	if (v->type != HN_JSON_ARRAY)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "input \"%s\" must be an array of numbers", name);
	if (v->n != count)
	{
		snprintf(detail, sizeof(detail),
				 "Input layer \"%s\" has %u units.", name, (unsigned) count);
		return HnSetError(err, HANAMI_E_DIMENSION, detail,
						  "input \"%s\" has %zu values instead of %u", name,
						  v->n, (unsigned) count);
	}
	for (uint32_t j = 0; j < count; j++)
	{
		double		d;

		if (v->u.items[j].type != HN_JSON_NUMBER ||
			HnJsonNumber(&v->u.items[j], "value", &d, err) != HANAMI_OK ||
			!isfinite((float) d))
			return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
							  "value %u of input \"%s\" is not a finite number",
							  (unsigned) j + 1, name);
		x[j] = (float) d;
	}
	return HANAMI_OK;
}

/* See run_named.h. */
HnStatus
NetRunNamed(HnNet *net, const HnJson *inputs, const HnAllocator *alloc,
			HnBuf *out, HnError *err)
{
	uint32_t	n_in = net->hdr->n_inputs;
	uint32_t	n_out = net->hdr->n_outputs;
	int			groups;
	float	   *x = NULL;
	float	   *y = NULL;
	void	   *work = NULL;
	uint32_t	at = 0;
	HnStatus	st = HANAMI_OK;

	if (net->kind->ports == NULL)
	{
		HnSetError(err, HANAMI_E_UNSUPPORTED,
				   "Named inputs and outputs are the input and output layers of a graph.",
				   "networks of kind %s have no named inputs", net->kind->name);
		return HnSetHint(err, "Use hanami.run(net, input) with the values in order.");
	}
	if (inputs == NULL || inputs->type != HN_JSON_OBJECT)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "inputs must be a JSON object of arrays by input layer name");
	groups = net->kind->ports(net, false, 0, NULL, NULL);
	for (size_t k = 0; k < inputs->n; k++)
	{
		bool		known = false;

		for (int i = 0; i < groups && !known; i++)
		{
			const char *name;
			uint32_t	count;

			net->kind->ports(net, false, i, &name, &count);
			known = strcmp(name, inputs->u.members[k].key) == 0;
		}
		if (!known)
			return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
							  "hanami.info(net) -> 'input_layers' lists the network's inputs.",
							  "the network has no input layer \"%s\"",
							  inputs->u.members[k].key);
	}
	x = HnAlloc(alloc, sizeof(float) * (n_in ? n_in : 1));
	y = HnAlloc(alloc, sizeof(float) * (n_out ? n_out : 1));
	if (x == NULL || y == NULL)
		st = HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory");
	for (int i = 0; i < groups && st == HANAMI_OK; i++)
	{
		const char *name;
		uint32_t	count;
		const HnJson *v;

		net->kind->ports(net, false, i, &name, &count);
		if ((v = HnJsonGet(inputs, name)) == NULL)
			st = HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
							"Give every input layer's values, by its name.",
							"input \"%s\" is missing", name);
		else
			st = ReadGroup(v, name, count, x + at, err);
		at += count;
	}
	if (st == HANAMI_OK &&
		(work = net->kind->work_create(net, 1, alloc, err)) == NULL)
		st = err ? err->code : HANAMI_E_NOMEM;
	if (st == HANAMI_OK)
	{
		net->kind->predict(net, work, x, 1, y);
		net->kind->work_free(work, alloc);
		at = 0;
		HnBufAppendChar(out, '{');
		for (int i = 0; i < net->kind->ports(net, true, 0, NULL, NULL); i++)
		{
			const char *name;
			uint32_t	count;

			net->kind->ports(net, true, i, &name, &count);
			HnBufAppend(out, i ? ", " : "");
			HnBufJsonString(out, name);
			HnBufAppend(out, ": [");
			for (uint32_t j = 0; j < count && st == HANAMI_OK; j++)
			{
				if (!isfinite(y[at + j]))
					st = HnSetError(err, HANAMI_E_OUTPUT_NOT_FINITE, NULL,
									"output \"%s\" of the network is not finite",
									name);
				HnBufAppend(out, j ? ", " : "");
				HnBufJsonNumber(out, y[at + j]);
			}
			HnBufAppendChar(out, ']');
			at += count;
		}
		HnBufAppendChar(out, '}');
		if (st == HANAMI_OK)
			st = HnBufCheck(out, err);
	}
	HnFree(alloc, x);
	HnFree(alloc, y);
	return st;
}
