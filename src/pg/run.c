/*
 * run.c - hanami.run() and hanami.classify(): inference on one input row.
 *
 * Called once per row of a SELECT, so the decoded network, its workspace and
 * the input buffer are cached in fn_extra for as long as the same value keeps
 * arriving (the usual case: one model joined to many rows).
 */
#include "postgres.h"

#include <math.h>

#include "errors.h"
#include "network.h"
#include "run.h"

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "core/fit.h"
#include "core/simd.h"
#include "utils/array.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(hanami_run);
PG_FUNCTION_INFO_V1(hanami_classify);
PG_FUNCTION_INFO_V1(hanami_run_sequence);
PG_FUNCTION_INFO_V1(hanami_run_named);

typedef struct RunCache
{
	MemoryContext cxt;			/* holds everything below; reset on a miss */
	bool		valid;
	bool		by_toast;		/* keyed by the TOAST pointer */
	struct varatt_external ext;
	Size		rawlen;			/* keyed by the raw bytes */
	char	   *raw;
	HnNet		net;			/* the cached copy: a carried state
								 * (kind.h) carries from row to row */
	void	   *work;			/* the kind's inference scratch */
	void	   *state0;			/* the value's own carried state, restored
								 * before each call of the pure run(); NULL
								 * when the network carries none */
	float	   *out;
} RunCache;

/* True when the raw datum is the value cached. */
static bool
CacheHit(RunCache *c, struct varlena *raw)
{
	if (!c->valid)
		return false;
	if (VARATT_IS_EXTERNAL_ONDISK(raw))
	{
		struct varatt_external ext;

		VARATT_EXTERNAL_GET_POINTER(ext, raw);
		return c->by_toast && ext.va_valueid == c->ext.va_valueid &&
			ext.va_toastrelid == c->ext.va_toastrelid;
	}
	if (VARATT_IS_EXTERNAL(raw))
		return false;			/* in-memory pointers: no stable key */
	return !c->by_toast && VARSIZE_ANY(raw) == c->rawlen &&
		memcmp(raw, c->raw, c->rawlen) == 0;
}

/* The cached network for argument 0, decoding it on a miss. */
static RunCache *
GetRunCache(FunctionCallInfo fcinfo)
{
	RunCache   *c = (RunCache *) fcinfo->flinfo->fn_extra;
	struct varlena *raw = (struct varlena *) PG_GETARG_POINTER(0);
	MemoryContext old;
	HanamiNetwork *v;
	HnAllocator alloc;

	if (c == NULL)
	{
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(RunCache));
		c->cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "hanami run cache",
									   ALLOCSET_DEFAULT_SIZES);
		fcinfo->flinfo->fn_extra = c;
	}
	if (CacheHit(c, raw))
		return c;

	c->valid = false;
	MemoryContextReset(c->cxt);
	c->work = NULL;
	c->state0 = NULL;
	old = MemoryContextSwitchTo(c->cxt);
	v = (HanamiNetwork *) PG_DETOAST_DATUM_COPY(PointerGetDatum(raw));
	HanamiNetworkBind(v, &c->net, ERRCODE_DATA_CORRUPTED);
	alloc = HanamiPallocAllocator(c->cxt);
	c->work = HanamiWorkCreate(&c->net, 1, &alloc);
	/* dense: zero inputs skip their weights; verify() does the same */
	if (c->net.kind->work_tune)
		c->net.kind->work_tune(&c->net, c->work);
	c->state0 = HanamiStateSave(&c->net);
	c->out = palloc(sizeof(float) * c->net.hdr->n_outputs);
	c->by_toast = VARATT_IS_EXTERNAL_ONDISK(raw);
	if (c->by_toast)
		VARATT_EXTERNAL_GET_POINTER(c->ext, raw);
	else if (!VARATT_IS_EXTERNAL(raw))
	{
		c->rawlen = VARSIZE_ANY(raw);
		c->raw = palloc(c->rawlen);
		memcpy(c->raw, raw, c->rawlen);
	}
	MemoryContextSwitchTo(old);
	c->valid = !VARATT_IS_EXTERNAL(raw) || c->by_toast;
	if (!c->valid)
		c->rawlen = 0;
	/* an uncacheable value is still usable for this call */
	return c;
}

/*
 * The floats of an input array for a network with want inputs, after
 * checking shape, NULLs and finiteness; points into the array.
 */
const float *
HanamiInputArray(ArrayType *arr, uint32 want)
{
	int			n;
	const float *x;

	if (ARR_ELEMTYPE(arr) != FLOAT4OID)
		elog(ERROR, "input array must be real[]");
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("input must be a one-dimensional array")));
	n = ARR_NDIM(arr) == 0 ? 0 : ARR_DIMS(arr)[0];
	if ((uint32) n != want)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("input has %d values, but the network has %u inputs", n, want)));
	if (ARR_HASNULL(arr) && array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("input array contains a null")));
	x = (const float *) ARR_DATA_PTR(arr);
	if (SimdAllFinite(x, (size_t) n))
		return x;				/* the usual case, checked vectorized */
	for (int i = 0; i < n; i++)
		if (!isfinite(x[i]))
			ereport(ERROR,
					(errcode(ERRCODE_FLOATING_POINT_EXCEPTION),
					 errmsg("input value %d is not finite", i + 1)));
	return x;
}

/*
 * Run the network on argument 1 (named: a jsonb object of the input
 * ports' values); the outputs are left in c->out, checked
 * to be finite.  With classify, the network must be a classifier.  With
 * pure, a growing network starts from the value's own spiking state, so the
 * IMMUTABLE run() and classify() depend on their arguments only; without,
 * the state carries on from the previous call (run(net, x, reset)).
 */
static RunCache *
RunOne(FunctionCallInfo fcinfo, bool pure, bool classify, bool named)
{
	RunCache   *c = GetRunCache(fcinfo);
	const float *x;

	if (classify)
		HanamiCheckClassifier(&c->net, "classify", "hanami.run");

	if (pure && c->state0 != NULL)
		c->net.kind->state_load(&c->net, c->state0);
	/* argument 1: an array, or named arrays (run_named) */
	if (named)
		x = HanamiNamedInputs(&c->net, PG_GETARG_JSONB_P(1));
	else
		x = HanamiInputArray(PG_GETARG_ARRAYTYPE_P(1), c->net.hdr->n_inputs);

	c->net.kind->predict(&c->net, c->work, x, 1, c->out);
	HanamiCheckOutputs(c->out, 1, c->net.hdr->n_outputs, -1, NULL);
	return c;
}

/*
 * Error when an output of n_rows rows (n_outputs each) is NaN or infinite:
 * finite inputs that overflow inside the network must not come back as
 * NaN, or as class 0.  row0 < 0: one row of a row-at-a-time call;
 * otherwise the rows are those of a window partition from position row0,
 * and rows whose skip flag is set (NULL inputs) are not looked at.
 */
void
HanamiCheckOutputs(const float *out, int64 n_rows, uint32 n_out, int64 row0,
				   const bool *skip)
{
	HnError		err;
	char		detail[HANAMI_ERRMSG_LEN];

	if (SimdAllFinite(out, (size_t) n_rows * n_out))
		return;					/* the usual case, checked vectorized */
	for (int64 r = 0; r < n_rows; r++)
	{
		if (skip != NULL && skip[r])
			continue;
		for (uint32 j = 0; j < n_out; j++)
		{
			float		v = out[(size_t) r * n_out + j];
			const char *what = isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";

			if (isfinite(v))
				continue;
			if (row0 < 0)
				snprintf(detail, sizeof(detail), "Output %u is %s.", j + 1, what);
			else
				snprintf(detail, sizeof(detail),
						 "Output %u of row " INT64_FORMAT " of the window partition is %s.",
						 j + 1, row0 + r + 1, what);
			HnSetError(&err, HANAMI_E_OUTPUT_NOT_FINITE, detail,
					   "network output is not finite");
			HanamiReportError(&err, 0);
		}
	}
}

/*
 * Error unless net's outputs are class scores (the kind says: kind.h
 * outputs), for classify() and its kin (fn names it, alternative the
 * function giving the outputs instead): the largest (or, for one output,
 * >= 0.5) is the class.  The values of a regression have no class.
 */
void
HanamiCheckClassifier(const HnNet *net, const char *fn, const char *alternative)
{
	char		why[HANAMI_ERRMSG_LEN];

	if (net->kind->outputs(net, why, sizeof(why)) == HANAMI_OUTPUTS_CLASSES)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s() needs a classification network", fn),
			 errdetail("%s", why),
			 errhint("Use %s() for the output values. A classifier has a softmax output layer, or a sigmoid one for 0/1 classes.",
					 alternative)));
}

/* A one-dimensional real[] holding n floats. */
ArrayType *
HanamiFloatArray(const float *v, int n)
{
	Size		size = ARR_OVERHEAD_NONULLS(1) + sizeof(float) * n;
	ArrayType  *a = palloc0(size);

	SET_VARSIZE(a, size);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = FLOAT4OID;
	ARR_DIMS(a)[0] = n;
	ARR_LBOUND(a)[0] = 1;
	memcpy(ARR_DATA_PTR(a), v, sizeof(float) * n);
	return a;
}

/*
 * run(net, input real[], reset boolean) -> real[]: run() for the rows of a
 * sequence.  A spiking network's state carries from one call to the next in
 * the same query; reset clears it before this input (the first row of a
 * sequence).  Without spiking state, the same as run().
 */
Datum
hanami_run_sequence(PG_FUNCTION_ARGS)
{
	RunCache   *c;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	c = GetRunCache(fcinfo);
	if (!PG_ARGISNULL(2) && PG_GETARG_BOOL(2) && c->state0 != NULL)
		c->net.kind->state_reset(&c->net);
	c = RunOne(fcinfo, false, false, false);
	PG_RETURN_ARRAYTYPE_P(HanamiFloatArray(c->out, (int) c->net.hdr->n_outputs));
}

/* run(net, input real[]) -> real[]: the network's outputs. */
Datum
hanami_run(PG_FUNCTION_ARGS)
{
	RunCache   *c = RunOne(fcinfo, true, false, false);

	PG_RETURN_ARRAYTYPE_P(HanamiFloatArray(c->out, (int) c->net.hdr->n_outputs));
}

/*
 * run_named(net, inputs jsonb) -> jsonb: run() with the inputs and outputs
 * by the names of the network's ports, {"layer": [values], ...}.
 */
Datum
hanami_run_named(PG_FUNCTION_ARGS)
{
	RunCache   *c = RunOne(fcinfo, true, false, true);

	PG_RETURN_JSONB_P(HanamiNamedOutputs(&c->net, c->out));
}

/*
 * classify(net, input real[]) -> int: the class (HnOutputClass); only for a
 * classifier (HanamiCheckClassifier).
 */
Datum
hanami_classify(PG_FUNCTION_ARGS)
{
	RunCache   *c = RunOne(fcinfo, true, true, false);

	PG_RETURN_INT32(HnOutputClass(c->out, c->net.hdr->n_outputs));
}
