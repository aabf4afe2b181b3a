/*
 * optim.c - parameter updates of dense layers: SGD with momentum and Adam,
 * applied layer by layer to the layers a train mask selects.
 */
#include "core/optim.h"

#include <math.h>
#include <string.h>

#include "core/dense/format.h"
#include "core/simd.h"

/* Name of an optimizer, NULL when unknown. */
const char *
OptimName(HnOptimizer opt)
{
	switch (opt)
	{
		case HANAMI_OPT_SGD:
			return "sgd";
		case HANAMI_OPT_ADAM:
			return "adam";
	}
	return NULL;
}

/* Optimizer of a name; 0 when unknown. */
HnOptimizer
OptimFromName(const char *name)
{
	if (name != NULL && strcmp(name, "sgd") == 0)
		return HANAMI_OPT_SGD;
	if (name != NULL && strcmp(name, "adam") == 0)
		return HANAMI_OPT_ADAM;
	return (HnOptimizer) 0;
}

/* Allocate zeroed moments for every parameter of net. */
HnOptimState *
OptimCreate(const DenseNet *net, const HnOptimConfig *cfg,
			const HnAllocator *alloc, HnError *err)
{
	return OptimCreateCount(net->hdr->n_params, cfg, alloc, err);
}

/* Allocate zeroed moments for n parameters. */
HnOptimState *
OptimCreateCount(uint64_t n_params, const HnOptimConfig *cfg,
				 const HnAllocator *alloc, HnError *err)
{
	size_t		n = (size_t) n_params;
	size_t		bytes;
	HnOptimState *st;

	if (cfg->kind != HANAMI_OPT_SGD && cfg->kind != HANAMI_OPT_ADAM)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
				   "Known optimizers are \"sgd\" and \"adam\".",
				   "invalid optimizer (%d)", (int) cfg->kind);
		return NULL;
	}
	if (!HnMulSize(n, sizeof(float), &bytes))
	{
		HnSetError(err, HANAMI_E_TOO_LARGE, NULL,
				   "optimizer state is too large");
		return NULL;
	}
	st = HnAllocZero(alloc, sizeof(HnOptimState));
	if (st == NULL)
		goto nomem;
	st->cfg = *cfg;
	st->m = HnAllocZero(alloc, bytes);
	if (st->m == NULL)
		goto nomem;
	if (cfg->kind == HANAMI_OPT_ADAM)
	{
		st->v = HnAllocZero(alloc, bytes);
		if (st->v == NULL)
			goto nomem;
	}
	return st;

nomem:
	OptimFree(st, alloc);
	HnSetError(err, HANAMI_E_NOMEM, NULL,
			   "out of memory for the optimizer state of %zu parameters", n);
	return NULL;
}

/* Free the moments and the state; NULL is ignored. */
void
OptimFree(HnOptimState *st, const HnAllocator *alloc)
{
	if (st == NULL)
		return;
	HnFree(alloc, st->m);
	HnFree(alloc, st->v);
	HnFree(alloc, st);
}

/* Update count parameters at offset off; wd applies to weights only. */
static void
OptimUpdateRange(HnOptimState *st, float *params, const float *grad,
				 size_t off, size_t count, float wd, float step,
				 float vscale)
{
	const HnOptimConfig *c = &st->cfg;

	if (c->kind == HANAMI_OPT_SGD)
		SimdSgdUpdate(params + off, grad + off, st->m + off, count,
					  c->learning_rate, c->momentum, wd);
	else
		SimdAdamUpdate(params + off, grad + off, st->m + off, st->v + off,
					   count, step, c->beta1, c->beta2, vscale, c->epsilon,
					   wd);
}

/* Count a step and give its factors; see optim.h. */
void
OptimBegin(HnOptimState *st, float *step, float *vscale)
{
	const HnOptimConfig *c = &st->cfg;

	*step = 0.0f;
	*vscale = 1.0f;
	st->step++;
	if (c->kind == HANAMI_OPT_ADAM)
	{
		double		t = (double) st->step;

		*step = (float) (c->learning_rate / (1.0 - pow(c->beta1, t)));
		*vscale = (float) (1.0 / (1.0 - pow(c->beta2, t)));
	}
}

/* Update a range of parameters; see optim.h. */
void
OptimUpdate(HnOptimState *st, float *params, const float *grad, size_t off,
			size_t count, float wd, float step, float vscale)
{
	OptimUpdateRange(st, params, grad, off, count, wd, step, vscale);
}

/* One optimizer step on the layers selected by train_mask. */
void
OptimStep(const DenseNet *net, HnOptimState *st, const float *grad,
		  uint64_t train_mask)
{
	const HnOptimConfig *c = &st->cfg;
	float		step;
	float		vscale;

	OptimBegin(st, &step, &vscale);
	for (uint32_t l = 1; l < net->hdr->n_layers; l++)
	{
		size_t		off = net->layers[l].param_offset;
		size_t		nw = (size_t) net->layers[l - 1].count * net->layers[l].count;

		if (!(train_mask & ((uint64_t) 1 << l)))
			continue;
		OptimUpdateRange(st, net->params, grad, off, nw, c->weight_decay,
						 step, vscale);
		OptimUpdateRange(st, net->params, grad, off + nw,
						 net->layers[l].count, 0.0f, step, vscale);
	}
}

/* See optim.h. */
size_t
OptimSaveSize(const HnOptimState *st, size_t count)
{
	return 4 + 8 + 8 + count * sizeof(float) *
		(st->cfg.kind == HANAMI_OPT_ADAM ? 2 : 1);
}

/* See optim.h. */
void
OptimSave(const HnOptimState *st, size_t count, void *dst)
{
	unsigned char *p = dst;
	uint32_t	kind = (uint32_t) st->cfg.kind;
	uint64_t	n = count;

	memcpy(p, &kind, 4);
	memcpy(p + 4, &st->step, 8);
	memcpy(p + 12, &n, 8);
	memcpy(p + 20, st->m, count * sizeof(float));
	if (st->v != NULL)
		memcpy(p + 20 + count * sizeof(float), st->v, count * sizeof(float));
}

/* See optim.h. */
HnStatus
OptimLoad(HnOptimState *st, size_t count, const void *src, size_t len,
		  HnError *err)
{
	const unsigned char *p = src;
	bool		adam = st->cfg.kind == HANAMI_OPT_ADAM;
	uint32_t	kind;
	int64_t		step;
	uint64_t	n;

	if (src == NULL || len != OptimSaveSize(st, count))
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "It was made for another network or optimizer.",
						  "invalid checkpoint: the optimizer state has %zu bytes, not %zu",
						  len, OptimSaveSize(st, count));
	memcpy(&kind, p, 4);
	memcpy(&step, p + 4, 8);
	memcpy(&n, p + 12, 8);
	if (kind != (uint32_t) st->cfg.kind || n != count || step < 0)
		return HnSetError(err, HANAMI_E_INVALID_FORMAT,
						  "It was made for another network or optimizer.",
						  "invalid checkpoint: the optimizer state does not match");
	memcpy(st->m, p + 20, count * sizeof(float));
	if (adam)
		memcpy(st->v, p + 20 + count * sizeof(float), count * sizeof(float));
	if (!SimdAllFinite(st->m, count) || (adam && !SimdAllFinite(st->v, count)))
		return HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL,
						  "invalid checkpoint: the optimizer state is not finite");
	for (size_t i = 0; adam && i < count; i++)
		if (st->v[i] < 0)
			return HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL,
							  "invalid checkpoint: a negative second moment");
	st->step = step;
	return HANAMI_OK;
}
