/*
 * errors.c - turning engine status codes into PostgreSQL errors, and the
 * palloc-backed allocator the engine uses inside a backend.
 */
#include "postgres.h"

#include "errors.h"

#include "utils/memutils.h"

/* SQLSTATE for an engine status, or default_errcode when it has none. */
static int
StatusErrcode(HnStatus code, int default_errcode)
{
	switch (code)
	{
		case HANAMI_E_INVALID_SPEC:
		case HANAMI_E_INVALID_ARGUMENT:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case HANAMI_E_INVALID_FORMAT:
			return default_errcode ? default_errcode :
				ERRCODE_INVALID_BINARY_REPRESENTATION;
		case HANAMI_E_MALFORMED_SPEC:
			return default_errcode ? default_errcode :
				ERRCODE_INVALID_PARAMETER_VALUE;
		case HANAMI_E_UNSUPPORTED:
			return ERRCODE_FEATURE_NOT_SUPPORTED;
		case HANAMI_E_DIMENSION:
			return ERRCODE_ARRAY_SUBSCRIPT_ERROR;
		case HANAMI_E_NOT_FINITE:
			return ERRCODE_FLOATING_POINT_EXCEPTION;
		case HANAMI_E_TOO_LARGE:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		case HANAMI_E_NOMEM:
			return ERRCODE_OUT_OF_MEMORY;
		case HANAMI_E_DIVERGED:
		case HANAMI_E_OUTPUT_NOT_FINITE:
			return ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
		default:
			return ERRCODE_INTERNAL_ERROR;
	}
}

/* The hint of an engine status, or NULL. */
static const char *
StatusHint(HnStatus code)
{
	switch (code)
	{
		case HANAMI_E_DIVERGED:
			return "Lower \"learning_rate\", or use the \"adam\" optimizer.";
		case HANAMI_E_OUTPUT_NOT_FINITE:
			return HANAMI_HINT_OUTPUT_NOT_FINITE;
		default:
			return NULL;
	}
}

/* Raise err as an ERROR, with its own hint or its status's. */
void
HanamiReportError(const HnError *err, int default_errcode)
{
	int			code = StatusErrcode(err->code, default_errcode);
	const char *hint = err->hint[0] ? err->hint : StatusHint(err->code);

	ereport(ERROR,
			(errcode(code),
			 errmsg("%s", err->message),
			 err->detail[0] ? errdetail("%s", err->detail) : 0,
			 hint ? errhint("%s", hint) : 0));
	pg_unreachable();
}

/* Raise err unless st is HANAMI_OK. */
void
HanamiCheck(HnStatus st, const HnError *err)
{
	if (st != HANAMI_OK)
		HanamiReportError(err, 0);
}

/* palloc in the given context, NULL on failure instead of an ERROR. */
static void *
PallocHook(void *ctx, size_t size)
{
	if (size == 0)
		size = 1;
	return MemoryContextAllocExtended((MemoryContext) ctx, size,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

static void
PfreeHook(void *ctx, void *ptr)
{
	if (ptr)
		pfree(ptr);
}

/* An engine allocator drawing from cxt; freed wholesale with cxt. */
HnAllocator
HanamiPallocAllocator(MemoryContext cxt)
{
	HnAllocator a;

	a.alloc = PallocHook;
	a.free = PfreeHook;
	a.ctx = cxt;
	return a;
}
