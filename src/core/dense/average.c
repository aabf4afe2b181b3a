/*
 * dense/average.c - what averaging needs of a dense network (kind.h
 * average_check, parameters): two networks are averaged only when they
 * compute the same kind of function on the same scale, so that the mean
 * of their weights means something (models trained from one start on
 * different rows, as sharded training does).
 */
#include "core/dense/kind.h"
#include "core/dense/dtype.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static HnStatus
Differ(HnError *err, const char *what)
{
	return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
					  "Networks are averaged only when they have the same architecture, loss and input and output scaling, as networks trained from one start do.",
					  "the networks cannot be averaged: %s", what);
}

/* The first difference between a and b that keeps them from averaging. */
HnStatus
DenseAverageCheck(const HnNet *an, const HnNet *bn, HnError *err)
{
	const DenseNet *a = DenseOf(an);
	const DenseNet *b = DenseOf(bn);
	const uint32_t scaling = HANAMI_FLAG_SCALE_INPUT | HANAMI_FLAG_INPUT_FITTED |
		HANAMI_FLAG_OUTPUT_FITTED | HANAMI_FLAG_INPUT_CLIP;
	char		what[160];

	if (DenseDtypeOf(a) != DenseDtypeOf(b))
	{
		snprintf(what, sizeof(what), "weights of dtype %s against %s",
				 DenseDtypeName(DenseDtypeOf(a)), DenseDtypeName(DenseDtypeOf(b)));
		return Differ(err, what);
	}
	if (a->hdr->n_layers != b->hdr->n_layers)
	{
		snprintf(what, sizeof(what), "%" PRIu32 " layers against %" PRIu32,
				 a->hdr->n_layers, b->hdr->n_layers);
		return Differ(err, what);
	}
	for (uint32_t l = 0; l < a->hdr->n_layers; l++)
	{
		const DenseLayer *la = &a->layers[l];
		const DenseLayer *lb = &b->layers[l];

		if (la->count != lb->count)
			snprintf(what, sizeof(what), "layer %" PRIu32 " has %" PRIu32 " units against %" PRIu32,
					 l, la->count, lb->count);
		else if (la->activation != lb->activation)
			snprintf(what, sizeof(what), "layer %" PRIu32 " is %s against %s", l,
					 ActName((HnActivation) la->activation),
					 ActName((HnActivation) lb->activation));
		else if (DenseProgramOf(a, (int) l) != NULL &&
				 memcmp(DenseProgramOf(a, (int) l), DenseProgramOf(b, (int) l),
						sizeof(DenseProgram)) != 0)
			snprintf(what, sizeof(what), "layer %" PRIu32 " has another custom activation",
					 l);
		else if (strncmp(la->name, lb->name, HANAMI_NAME_LEN) != 0)
			snprintf(what, sizeof(what), "layer %" PRIu32 " is named \"%.*s\" against \"%.*s\"",
					 l, HANAMI_NAME_LEN, la->name, HANAMI_NAME_LEN, lb->name);
		else
			continue;
		return Differ(err, what);
	}
	if (a->hdr->loss != b->hdr->loss)
		return Differ(err, "their losses differ");
	if ((a->hdr->flags & scaling) != (b->hdr->flags & scaling))
		return Differ(err, "one has learned its scaling and the other not (or not the same)");
	for (uint32_t i = 0; i < a->hdr->n_inputs; i++)
		if (memcmp(&a->in_shift[i], &b->in_shift[i], sizeof(float)) != 0 ||
			memcmp(&a->in_mul[i], &b->in_mul[i], sizeof(float)) != 0)
		{
			snprintf(what, sizeof(what), "their input scaling differs at input %" PRIu32 " (learn it once, before either is trained)",
					 i + 1);
			return Differ(err, what);
		}
	for (uint32_t j = 0; j < a->hdr->n_outputs; j++)
		if (memcmp(&a->out_shift[j], &b->out_shift[j], sizeof(float)) != 0 ||
			memcmp(&a->out_mul[j], &b->out_mul[j], sizeof(float)) != 0)
		{
			snprintf(what, sizeof(what), "their output scaling differs at output %" PRIu32,
					 j + 1);
			return Differ(err, what);
		}
	return HANAMI_OK;
}

/*
 * The weights and biases: the whole parameter area of a network of float32
 * weights; NULL for compact weights (dense/dtype.h), which are averaged as
 * the float networks they came from.
 */
float *
DenseParameters(const HnNet *net, size_t *n)
{
	const DenseNet *d = DenseOf(net);

	*n = 0;
	if (DenseDtypeOf(d) != DENSE_DTYPE_F32)
		return NULL;
	*n = (size_t) d->hdr->n_params;
	return d->params;
}
