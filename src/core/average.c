/*
 * average.c - the weighted mean of networks (see average.h).
 */
#include "core/average.h"

#include <math.h>
#include <string.h>

/* Make acc's template a copy of image, with sums for its parameters. */
static HnStatus
AverageStart(HnAverage *acc, const void *image, size_t len,
			 const HnAllocator *alloc, HnError *err)
{
	HnNet		net;
	size_t		bytes;

	acc->image = HnAlloc(alloc, len);
	if (acc->image == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for an average");
	memcpy(acc->image, image, len);
	acc->len = len;
	NetBindTrusted(&net, acc->image);
	(void) net.kind->parameters(&net, &acc->n);
	if (!HnMulSize(acc->n > 0 ? acc->n : 1, sizeof(double), &bytes) ||
		(acc->sum = HnAllocZero(alloc, bytes)) == NULL)
	{
		HnFree(alloc, acc->image);
		acc->image = NULL;
		return HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for an average");
	}
	return HANAMI_OK;
}

/* Whether net may join acc's template. */
static HnStatus
AverageFits(const HnAverage *acc, const HnNet *net, HnError *err)
{
	HnNet		tmpl;

	NetBindTrusted(&tmpl, acc->image);
	if (tmpl.kind != net->kind)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "the networks cannot be averaged: one is of kind %s, another of kind %s",
						  tmpl.kind->name, net->kind->name);
	return tmpl.kind->average_check(&tmpl, net, err);
}

HnStatus
HnAverageAdd(HnAverage *acc, const HnNet *net, double w,
			 const HnAllocator *alloc, HnError *err)
{
	const float *p;
	size_t		n;
	HnStatus	st;

	if (net->kind->average_check == NULL || net->kind->parameters == NULL)
		return HnSetError(err, HANAMI_E_UNSUPPORTED,
						  "Averaging is defined for dense networks.",
						  "networks of kind %s cannot be averaged", net->kind->name);
	if (net->kind->parameters(net, &n) == NULL)
		return HnSetError(err, HANAMI_E_UNSUPPORTED,
						  "Average the float32 networks, then quantize the mean.",
						  "networks with compact weights cannot be averaged");
	if (!isfinite(w) || w < 0)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
						  "the weight of a network in an average must be a finite number >= 0, not %g", w);
	if (acc->image == NULL)
		st = AverageStart(acc, net->hdr, net->len, alloc, err);
	else
		st = AverageFits(acc, net, err);
	if (st != HANAMI_OK)
		return st;
	p = net->kind->parameters(net, &n);
	if (n != acc->n)
		return HnSetError(err, HANAMI_E_INTERNAL, NULL,
						  "networks of one architecture with %zu and %zu parameters", acc->n, n);
	for (size_t i = 0; i < n; i++)
		acc->sum[i] += w * (double) p[i];
	acc->weight += w;
	acc->count++;
	return HANAMI_OK;
}

HnStatus
HnAverageMerge(HnAverage *a, const HnAverage *b, const HnAllocator *alloc,
			   HnError *err)
{
	HnStatus	st;

	if (b->image == NULL)
		return HANAMI_OK;
	if (a->image == NULL)
		st = AverageStart(a, b->image, b->len, alloc, err);
	else
	{
		HnNet		bn;

		NetBindTrusted(&bn, b->image);
		st = AverageFits(a, &bn, err);
	}
	if (st != HANAMI_OK)
		return st;
	for (size_t i = 0; i < a->n; i++)
		a->sum[i] += b->sum[i];
	a->weight += b->weight;
	a->count += b->count;
	return HANAMI_OK;
}

HnStatus
HnAverageResult(const HnAverage *acc, const HnAllocator *alloc, void **image,
				HnError *err)
{
	HnNet		net;
	float	   *p;
	size_t		n;

	*image = NULL;
	if (acc->image == NULL)
		return HANAMI_OK;
	if (!(acc->weight > 0))
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "Give at least one network a weight above zero.",
						  "the weights of the averaged networks sum to zero");
	*image = HnAlloc(alloc, acc->len);
	if (*image == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for an average");
	memcpy(*image, acc->image, acc->len);
	NetBindTrusted(&net, *image);
	p = net.kind->parameters(&net, &n);
	for (size_t i = 0; i < n; i++)
	{
		float		v = (float) (acc->sum[i] / acc->weight);

		if (!isfinite(v))
		{
			HnFree(alloc, *image);
			*image = NULL;
			return HnSetError(err, HANAMI_E_NOT_FINITE, NULL,
							  "the average of parameter %zu is not finite", i + 1);
		}
		p[i] = v;
	}
	return HANAMI_OK;
}
