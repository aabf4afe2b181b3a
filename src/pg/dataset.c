/*
 * dataset.c - running a query with an SPI cursor and turning its rows into
 * float32 arrays for the engine.
 *
 * Column mapping: the target is the column named by the "target" option, or
 * the last column.  Every other column is a feature, in order: numeric and
 * boolean scalars give one value each, numeric arrays their elements.  An
 * integer or boolean target is a class index; a real or numeric target is a
 * regression value; an array target is one value per output.
 */
#include "glue.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/plancache.h"

#define FETCH_ROWS 1000

/* How one column's values become floats. */
typedef struct ColumnMap
{
	int			attno;			/* 1-based */
	char	   *name;
	Oid			elemtype;		/* scalar type, or the array's element type */
	bool		is_array;
	int			width;			/* values per row; -1 until the first row */
} ColumnMap;

typedef struct Loader
{
	MemoryContext cxt;			/* where the arrays live */
	ColumnMap  *features;
	int			n_features_cols;
	ColumnMap	target;
	bool		class_target;	/* integer or boolean target */
	uint32		n_inputs;
	uint32		n_outputs;
	int64		n;
	int64		cap;
	float	   *x;
	float	   *y;
	int32	   *cls;
	int64		budget;			/* bytes */
} Loader;

static bool
IsNumericScalar(Oid t)
{
	return t == INT2OID || t == INT4OID || t == INT8OID || t == FLOAT4OID ||
		t == FLOAT8OID || t == NUMERICOID || t == BOOLOID;
}

/* Fill a ColumnMap for attribute attno, or error on an unsupported type. */
static void
MapColumn(TupleDesc td, int attno, ColumnMap *c)
{
	Form_pg_attribute att = TupleDescAttr(td, attno - 1);
	Oid			type = getBaseType(att->atttypid);
	Oid			elem = get_element_type(type);

	c->attno = attno;
	c->name = pstrdup(NameStr(att->attname));
	c->width = -1;
	if (OidIsValid(elem) && IsNumericScalar(getBaseType(elem)))
	{
		c->is_array = true;
		c->elemtype = getBaseType(elem);
	}
	else if (IsNumericScalar(type))
	{
		c->is_array = false;
		c->elemtype = type;
		c->width = 1;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" has unsupported type %s",
						c->name, format_type_be(att->atttypid)),
				 errhint("Training columns must be numeric, boolean, or arrays of numbers.")));
}

/* One datum of a numeric scalar type as a double. */
static double
ScalarValue(Datum d, Oid type)
{
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		case INT8OID:
			return (double) DatumGetInt64(d);
		case FLOAT4OID:
			return DatumGetFloat4(d);
		case FLOAT8OID:
			return DatumGetFloat8(d);
		case BOOLOID:
			return DatumGetBool(d) ? 1.0 : 0.0;
		case NUMERICOID:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d));
	}
	elog(ERROR, "unexpected type %u", type);
	return 0;
}

static void
NullError(const ColumnMap *c, int64 row)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("column \"%s\" is null in row " INT64_FORMAT, c->name, row),
			 errhint("Filter out or replace NULLs in the query, e.g. with WHERE or COALESCE.")));
}

/*
 * Write column c of one row into dst (which has room for limit floats);
 * returns the number of values.  Sets the column's width from the first row
 * and insists on it afterwards.
 */
static int
ColumnValues(ColumnMap *c, Datum d, float *dst, int limit, int64 row)
{
	ArrayType  *arr;
	int			n;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;

	if (!c->is_array)
	{
		double		v = ScalarValue(d, c->elemtype);

		if (limit < 1)
			return 1;
		dst[0] = (float) v;
		if (!isfinite(dst[0]))
			ereport(ERROR,
					(errcode(ERRCODE_FLOATING_POINT_EXCEPTION),
					 errmsg("column \"%s\" is not finite in row " INT64_FORMAT,
							c->name, row),
					 errdetail("Value %g cannot be used for training.", v)));
		return 1;
	}

	arr = DatumGetArrayTypeP(d);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("column \"%s\" has a %d-dimensional array in row " INT64_FORMAT,
						c->name, ARR_NDIM(arr), row),
				 errhint("Use one-dimensional arrays.")));
	n = ARR_NDIM(arr) == 0 ? 0 : ARR_DIMS(arr)[0];
	if (c->width < 0)
		c->width = n;
	else if (n != c->width)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("column \"%s\" has %d values in row " INT64_FORMAT " but %d in earlier rows",
						c->name, n, row, c->width)));
	if (n > limit)
		return n;				/* the caller reports the dimension */

	if (c->elemtype == FLOAT4OID && !ARR_HASNULL(arr))
		memcpy(dst, ARR_DATA_PTR(arr), sizeof(float) * n);
	else
	{
		get_typlenbyvalalign(c->elemtype, &typlen, &typbyval, &typalign);
		deconstruct_array(arr, c->elemtype, typlen, typbyval, typalign,
						  &elems, &nulls, &n);
		for (int i = 0; i < n; i++)
		{
			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("column \"%s\" has a null element in row " INT64_FORMAT,
								c->name, row)));
			dst[i] = (float) ScalarValue(elems[i], c->elemtype);
		}
		pfree(elems);
		pfree(nulls);
	}
	for (int i = 0; i < n; i++)
		if (!isfinite(dst[i]))
			ereport(ERROR,
					(errcode(ERRCODE_FLOATING_POINT_EXCEPTION),
					 errmsg("column \"%s\" has a value that is not finite in row " INT64_FORMAT,
							c->name, row),
					 errdetail("Element %d is %g.", i + 1, dst[i])));
	if ((Pointer) arr != DatumGetPointer(d))
		pfree(arr);
	return n;
}

/* Make room for one more row, within the memory budget. */
static void
Grow(Loader *ld)
{
	int64		newcap;
	Size		row_bytes;
	MemoryContext old;

	if (ld->n < ld->cap)
		return;
	newcap = ld->cap ? ld->cap * 2 : 1024;
	row_bytes = sizeof(float) * (ld->n_inputs + (ld->class_target ? 0 : ld->n_outputs)) +
		(ld->class_target ? sizeof(int32) : 0);
	if ((double) newcap * row_bytes > (double) ld->budget)
	{
		newcap = ld->budget / row_bytes;
		if (newcap <= ld->n)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("training data exceeds hanami.dataset_memory"),
					 errdetail("The query returned more than " INT64_FORMAT " rows of %zu bytes each.",
							   ld->n, row_bytes),
					 errhint("Raise hanami.dataset_memory (now %d kB), or train on fewer rows.",
							 hanami_dataset_memory_kb)));
	}
	old = MemoryContextSwitchTo(ld->cxt);
	if (ld->cap == 0)
	{
		ld->x = palloc_extended(sizeof(float) * ld->n_inputs * newcap, MCXT_ALLOC_HUGE);
		if (ld->class_target)
			ld->cls = palloc_extended(sizeof(int32) * newcap, MCXT_ALLOC_HUGE);
		else
			ld->y = palloc_extended(sizeof(float) * ld->n_outputs * newcap, MCXT_ALLOC_HUGE);
	}
	else
	{
		ld->x = repalloc_huge(ld->x, sizeof(float) * ld->n_inputs * newcap);
		if (ld->class_target)
			ld->cls = repalloc_huge(ld->cls, sizeof(int32) * newcap);
		else
			ld->y = repalloc_huge(ld->y, sizeof(float) * ld->n_outputs * newcap);
	}
	MemoryContextSwitchTo(old);
	ld->cap = newcap;
}

/* Convert one tuple into row ld->n. */
static void
LoadRow(Loader *ld, HeapTuple tup, TupleDesc td)
{
	int64		row = ld->n + 1;
	float	   *x;
	uint32		used = 0;
	bool		isnull;
	Datum		d;

	Grow(ld);
	x = ld->x + (size_t) ld->n * ld->n_inputs;
	for (int i = 0; i < ld->n_features_cols; i++)
	{
		ColumnMap  *c = &ld->features[i];
		int			k;

		d = SPI_getbinval(tup, td, c->attno, &isnull);
		if (isnull)
			NullError(c, row);
		k = ColumnValues(c, d, x + used, (int) (ld->n_inputs - used), row);
		used += k;
		if (used > ld->n_inputs)
			break;
	}
	if (used != ld->n_inputs)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("query gives %u feature values per row, but the network has %u inputs",
						used, ld->n_inputs),
				 errhint("The features are every column except the target \"%s\".",
						 ld->target.name)));

	d = SPI_getbinval(tup, td, ld->target.attno, &isnull);
	if (isnull)
		NullError(&ld->target, row);
	if (ld->class_target)
	{
		double		v = ScalarValue(d, ld->target.elemtype);
		uint32		limit = ld->n_outputs == 1 ? 2 : ld->n_outputs;

		if (v < 0 || v >= limit)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("class %.0f in row " INT64_FORMAT " is out of range", v, row),
					 errdetail("The network has %u outputs, so classes are 0 to %u.",
							   ld->n_outputs, limit - 1)));
		ld->cls[ld->n] = (int32) v;
	}
	else
	{
		int			k = ColumnValues(&ld->target, d,
									 ld->y + (size_t) ld->n * ld->n_outputs,
									 (int) ld->n_outputs, row);

		if (k != (int) ld->n_outputs)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("target \"%s\" has %d values, but the network has %u outputs",
							ld->target.name, k, ld->n_outputs)));
	}
	ld->n++;
}

/* Decide which columns are features and which is the target. */
static void
MapColumns(Loader *ld, TupleDesc td, const char *target)
{
	int			natts = td->natts;
	int			tcol = -1;
	int			nlive = 0;

	for (int i = 0; i < natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);

		if (att->attisdropped)
			continue;
		nlive++;
		if (target && strcmp(NameStr(att->attname), target) == 0)
		{
			if (tcol >= 0)
				ereport(ERROR,
						(errcode(ERRCODE_AMBIGUOUS_COLUMN),
						 errmsg("target column \"%s\" appears more than once", target)));
			tcol = i;
		}
		else if (!target)
			tcol = i;
	}
	if (target && tcol < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("target column \"%s\" is not in the query's result", target)));
	if (nlive < 2)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("query must return at least two columns: features and a target"),
				 errhint("The target is the last column unless the \"target\" option names one.")));

	MapColumn(td, tcol + 1, &ld->target);
	ld->class_target = !ld->target.is_array &&
		(ld->target.elemtype == INT2OID || ld->target.elemtype == INT4OID ||
		 ld->target.elemtype == INT8OID || ld->target.elemtype == BOOLOID);
	if (!ld->class_target && !ld->target.is_array && ld->n_outputs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target \"%s\" is a single number, but the network has %u outputs",
						ld->target.name, ld->n_outputs),
				 errhint("Use an integer class index, or an array with one value per output.")));

	ld->features = palloc(sizeof(ColumnMap) * natts);
	ld->n_features_cols = 0;
	for (int i = 0; i < natts; i++)
		if (i != tcol && !TupleDescAttr(td, i)->attisdropped)
			MapColumn(td, i + 1, &ld->features[ld->n_features_cols++]);
}

/*
 * Run query (read-only) and load every row into out, shaped for net.  The
 * arrays are allocated in the caller's memory context.
 */
void
HanamiLoadQuery(const char *query, const char *target, const HnNet *net,
				HanamiQueryData *out)
{
	Loader		ld;
	SPIPlanPtr	plan;
	Portal		portal;
	int			ret;
	MemoryContext batch_cxt;
	List	   *sources;
	ListCell   *lc;

	memset(&ld, 0, sizeof(ld));
	ld.cxt = CurrentMemoryContext;
	ld.n_inputs = net->hdr->n_inputs;
	ld.n_outputs = net->hdr->n_outputs;
	ld.budget = (int64) hanami_dataset_memory_kb * 1024;

	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(ret));

	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	sources = SPI_plan_get_plan_sources(plan);
	if (list_length(sources) != 1 ||
		((CachedPlanSource *) linitial(sources))->commandTag != CMDTAG_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("query must be a single SELECT"),
				 errhint("Pass a SELECT, VALUES or TABLE query; training only reads rows.")));
	foreach(lc, ((CachedPlanSource *) linitial(sources))->query_list)
	{
		Query	   *q = lfirst_node(Query, lc);

		if (q->commandType != CMD_SELECT || q->hasModifyingCTE)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("query must not modify data"),
					 errhint("Training only reads rows; run data changes separately.")));
	}
	/* and read-only, so SPI refuses writes too */
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);

	{
		TupleDesc	td = portal->tupDesc;
		MemoryContext old = MemoryContextSwitchTo(ld.cxt);

		MapColumns(&ld, td, target);
		MemoryContextSwitchTo(old);
	}

	/* conversions allocate (detoasting, numeric); reset once per fetch */
	batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "hanami rows",
									  ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		MemoryContext old;

		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		old = MemoryContextSwitchTo(batch_cxt);
		for (uint64 i = 0; i < SPI_processed; i++)
			LoadRow(&ld, SPI_tuptable->vals[i], SPI_tuptable->tupdesc);
		MemoryContextSwitchTo(old);
		MemoryContextReset(batch_cxt);
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_finish();

	if (ld.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("training query returned no rows")));

	memset(out, 0, sizeof(*out));
	out->ds.n = ld.n;
	out->ds.n_features = ld.n_inputs;
	out->ds.n_outputs = ld.n_outputs;
	out->ds.x = ld.x;
	out->ds.y = ld.y;
	out->ds.cls = ld.cls;
	out->bytes = ld.cap * (int64) (sizeof(float) * ld.n_inputs) +
		(ld.cls ? ld.cap * (int64) sizeof(int32) :
		 ld.cap * (int64) (sizeof(float) * ld.n_outputs));
}
