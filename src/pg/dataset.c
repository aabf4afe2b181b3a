/*
 * dataset.c - running a query with an SPI cursor and turning its rows into
 * float32 arrays for the engine.
 *
 * Column mapping: the target is the column named by the "target" option, or
 * the last column (but the "sequence" column).  Every other column is a feature, in order: numeric and
 * boolean scalars give one value each, numeric arrays their elements.  An
 * integer or boolean target is a class index; a real or numeric target is a
 * regression value; an array target is one value per output.
 *
 * Named ports (core/ports.h): the "inputs" option fills each input port of
 * the network from its columns, in the network's order of ports, and
 * ignores the other columns; "targets" names each output port's column.
 * With one output port that is the "target" option by another name; with
 * several, each port's target (an integer class for a port that takes
 * classes, expanded to one-hot, else its values) lands in its range of
 * the row's target values.
 *
 * Sequences: the "sequence" option names a column that is neither a
 * feature nor a target; a row whose value of it differs from the row
 * before (by the type's equality), and the first row of every pass, begin
 * a sequence (HnDataset.starts).
 *
 * A HanamiRows is an open query read in passes: each pass opens a read-only
 * SPI cursor and converts rows straight into the caller's float arrays, a
 * fetch at a time, so a fit can hold every row in memory (HanamiRowsLoad,
 * HanamiLoadQuery) or stream them again every epoch.
 */
#include "postgres.h"

#include <math.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "settings.h"
#include "dataset.h"

#include "core/simd.h"

#include "access/toast_compression.h"
#include "catalog/pg_type.h"
#include "common/pg_lzcompress.h"
#include "core/pool.h"
#include "core/ports.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/plancache.h"
#include "utils/typcache.h"

#define FETCH_ROWS 256			/* tuples per cursor fetch */
#define RESET_ROWS 32			/* rows converted between context resets */

/* How one column's values become floats. */
typedef struct ColumnMap
{
	int			attno;			/* 1-based */
	char	   *name;
	Oid			elemtype;		/* scalar type, or the array's element type */
	bool		is_array;
	int			width;			/* values per row; -1 until the first row */
} ColumnMap;

/* An open training or evaluation query (see the file comment). */
struct HanamiRows
{
	MemoryContext cxt;			/* where this struct and the maps live */
	MemoryContext row_cxt;		/* conversions; reset after every fetch */
	const char *target_name;	/* the "target" option, or NULL */
	const HnPortMap *in_map;	/* the "inputs" option, or NULL */
	const HnPortMap *out_map;	/* the "targets" option with several output
								 * ports, or NULL */
	HnPort	   *in_ports;		/* with in_map: the network's input ports */
	HnPort	   *out_ports;		/* with out_map: its output ports */
	int		   *port_end;		/* with in_map: features[] index after
								 * each input port's last column */
	ColumnMap  *port_targets;	/* with out_map: each output port's column */
	bool	   *port_class;		/* with out_map: that column is a class */
	const char *seq_name;		/* the "sequence" option, or NULL */
	int			seq_attno;		/* its column (1-based), 0 without */
	FmgrInfo	seq_eq;			/* its type's equality */
	Oid			seq_collation;
	MemoryContext seq_cxt;		/* holds the previous row's value */
	Datum		seq_prev;
	bool		seq_have;		/* seq_prev is set (not the pass's first) */
	int16		seq_typlen;
	bool		seq_byval;
	SPIPlanPtr	plan;
	Portal		portal;			/* cursor of the current pass, or NULL */
	bool		mapped;
	ColumnMap  *features;
	int			n_features_cols;
	ColumnMap	target;
	bool		class_target;	/* integer or boolean target */
	uint32		n_inputs;
	uint32		n_outputs;
	SPITupleTable *tuptable;	/* the fetched block being converted */
	uint64		tup_pos;
	uint64		tup_n;
	int64		row;			/* rows converted in this pass */
	bool		eof;
	HnPool	   *pool;			/* threads that inflate arrays, or NULL */
	struct InflateJob *jobs;	/* FETCH_ROWS of them */
	char	   *scratch;		/* one buffer per thread */
	Size		scratch_len;
};

/*
 * One row's compressed feature array, inflated by a pool thread straight
 * into the row's floats.  The threads call nothing of the server but the
 * pure pglz_decompress and read only the fetched tuple's bytes; any doubt
 * (a shape, a null, a value not finite, a corrupt datum) leaves the row to
 * the backend, which converts it as usual and reports the error.
 */
typedef struct InflateJob
{
	const char *src;			/* pglz data of the datum */
	int32		slen;
	int32		rawsize;		/* bytes of the array after its length word */
	float	   *dst;			/* n_inputs floats */
	bool		queued;			/* the row is for the threads */
	bool		done;			/* set by the thread: dst holds the row */
} InflateJob;

typedef struct InflateWork
{
	HanamiRows *q;
	int			n;
	atomic_int	next;
} InflateWork;

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
	if (!SimdAllFinite(dst, (size_t) n))	/* the usual case, vectorized */
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

/* "a", "b" and "c": the columns of input port p, for messages. */
static char *
PortColumnList(const HanamiRows *q, int p)
{
	const HnPortColumns *pc = &q->in_map->ports[p];
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < pc->n_columns; i++)
		appendStringInfo(&buf, "%s\"%s\"",
						 i == 0 ? "" : i + 1 == pc->n_columns ? " and " : ", ",
						 pc->columns[i]);
	return buf.data;
}

/*
 * The features of one row with the "inputs" option: each input port from
 * its columns, checked to fill it exactly.  Returns the values written
 * (n_inputs).
 */
static uint32
PortFeatures(HanamiRows *q, HeapTuple tup, TupleDesc td, float *x, int64 row)
{
	int			i = 0;

	for (int p = 0; p < q->in_map->n; p++)
	{
		const HnPort *port = &q->in_ports[p];
		uint32		used = 0;

		for (; i < q->port_end[p]; i++)
		{
			ColumnMap  *c = &q->features[i];
			bool		isnull;
			Datum		d = SPI_getbinval(tup, td, c->attno, &isnull);

			if (isnull)
				NullError(c, row);
			used += ColumnValues(c, d, x + port->offset + used,
								 (int) (used < port->count ? port->count - used : 0),
								 row);
		}
		if (used != port->count)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("input layer \"%s\" has %u units, but its columns give %u values",
							port->name, port->count, used),
					 errdetail("Its columns (option \"inputs\") are %s.",
							   PortColumnList(q, p))));
	}
	return q->n_inputs;
}

/*
 * The targets of one row with the "targets" option and several output
 * ports: each port's column into its range of y, a class one-hot.
 */
static void
PortTargets(HanamiRows *q, HeapTuple tup, TupleDesc td, float *y, int64 row)
{
	for (int p = 0; p < q->out_map->n; p++)
	{
		const HnPort *port = &q->out_ports[p];
		ColumnMap  *c = &q->port_targets[p];
		float	   *dst = y + port->offset;
		bool		isnull;
		Datum		d = SPI_getbinval(tup, td, c->attno, &isnull);
		int			k;

		if (isnull)
			NullError(c, row);
		if (q->port_class[p])
		{
			double		v = ScalarValue(d, c->elemtype);
			uint32		limit = port->count == 1 ? 2 : port->count;

			if (v < 0 || v >= limit)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("class %.0f of output layer \"%s\" in row " INT64_FORMAT " is out of range",
								v, port->name, row),
						 errdetail("The layer has %u units, so its classes are 0 to %u.",
								   port->count, limit - 1)));
			if (port->count == 1)
				dst[0] = (float) v;
			else
				for (uint32 j = 0; j < port->count; j++)
					dst[j] = j == (uint32) v ? 1.0f : 0.0f;
			continue;
		}
		k = ColumnValues(c, d, dst, (int) port->count, row);
		if (k != (int) port->count)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("target \"%s\" of output layer \"%s\" has %d values, but the layer has %u units",
							c->name, port->name, k, port->count)));
	}
}

/*
 * Convert one tuple into x (n_inputs floats) and the target: cls when the
 * target is a class, else y (n_outputs floats).
 */
static void
ConvertRow(HanamiRows *q, HeapTuple tup, TupleDesc td, float *x, float *y,
		   int32 *cls, bool x_done)
{
	int64		row = q->row + 1;
	uint32		used = x_done ? q->n_inputs : 0;
	bool		isnull;
	Datum		d;

	if (q->in_map != NULL && !x_done)
		used = PortFeatures(q, tup, td, x, row);
	for (int i = 0; i < q->n_features_cols && !x_done && q->in_map == NULL; i++)
	{
		ColumnMap  *c = &q->features[i];
		int			k;

		d = SPI_getbinval(tup, td, c->attno, &isnull);
		if (isnull)
			NullError(c, row);
		k = ColumnValues(c, d, x + used, (int) (q->n_inputs - used), row);
		used += k;
		if (used > q->n_inputs)
			break;
	}
	if (used != q->n_inputs)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("query gives %u feature values per row, but the network has %u inputs",
						used, q->n_inputs),
				 q->out_map != NULL ?
				 errhint("The features are every column except the targets.") :
				 errhint("The features are every column except the target \"%s\".",
						 q->target.name)));
	if (q->out_map != NULL)
	{
		PortTargets(q, tup, td, y, row);
		q->row++;
		return;
	}

	d = SPI_getbinval(tup, td, q->target.attno, &isnull);
	if (isnull)
		NullError(&q->target, row);
	if (q->class_target)
	{
		double		v = ScalarValue(d, q->target.elemtype);
		uint32		limit = q->n_outputs == 1 ? 2 : q->n_outputs;

		if (v < 0 || v >= limit)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("class %.0f in row " INT64_FORMAT " is out of range", v, row),
					 errdetail("The network has %u outputs, so classes are 0 to %u.",
							   q->n_outputs, limit - 1)));
		*cls = (int32) v;
	}
	else
	{
		int			k = ColumnValues(&q->target, d, y, (int) q->n_outputs, row);

		if (k != (int) q->n_outputs)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("target \"%s\" has %d values, but the network has %u outputs",
							q->target.name, k, q->n_outputs)));
	}
	q->row++;
}

/*
 * Index (0-based) of the live column called name, or -1; error when the
 * query has several.  what names it in messages ("target column").
 */
static int
FindColumn(TupleDesc td, const char *name, const char *what)
{
	int			col = -1;

	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), name) != 0)
			continue;
		if (col >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_AMBIGUOUS_COLUMN),
					 errmsg("%s \"%s\" appears more than once", what, name)));
		col = i;
	}
	return col;
}

/* The "inputs" option: each input port's columns, in the ports' order. */
static void
MapInputPorts(HanamiRows *q, TupleDesc td)
{
	int			total = 0;
	int			at = 0;

	for (int p = 0; p < q->in_map->n; p++)
		total += q->in_map->ports[p].n_columns;
	q->features = palloc(sizeof(ColumnMap) * total);
	q->port_end = palloc(sizeof(int) * q->in_map->n);
	for (int p = 0; p < q->in_map->n; p++)
	{
		const HnPortColumns *pc = &q->in_map->ports[p];

		for (int i = 0; i < pc->n_columns; i++)
		{
			int			col = FindColumn(td, pc->columns[i], "column");

			if (col < 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("column \"%s\" of input layer \"%s\" is not in the query's result",
								pc->columns[i], pc->port),
						 errhint("Option \"inputs\" names the query's columns for each input layer.")));
			MapColumn(td, col + 1, &q->features[at++]);
		}
		q->port_end[p] = at;
	}
	q->n_features_cols = total;
}

/*
 * The "targets" option with several output ports: each port's column, and
 * whether it is a class index (an integer or boolean column for a port
 * that takes classes).  Marks the target columns in is_target.
 */
static void
MapOutputPorts(HanamiRows *q, TupleDesc td, bool *is_target)
{
	int			n = q->out_map->n;

	q->port_targets = palloc0(sizeof(ColumnMap) * n);
	q->port_class = palloc0(sizeof(bool) * n);
	for (int p = 0; p < n; p++)
	{
		const char *name = q->out_map->ports[p].columns[0];
		const HnPort *port = &q->out_ports[p];
		ColumnMap  *c = &q->port_targets[p];
		int			col = FindColumn(td, name, "target column");

		if (col < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("target column \"%s\" of output layer \"%s\" is not in the query's result",
							name, port->name)));
		is_target[col] = true;
		MapColumn(td, col + 1, c);
		q->port_class[p] = port->classes && !c->is_array &&
			(c->elemtype == INT2OID || c->elemtype == INT4OID ||
			 c->elemtype == INT8OID || c->elemtype == BOOLOID);
		if (!q->port_class[p] && !c->is_array && port->count != 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("target \"%s\" of output layer \"%s\" is a single number, but the layer has %u units",
							c->name, port->name, port->count),
					 port->classes ?
					 errhint("Use an integer class index, or an array with one value per unit.") :
					 errhint("Use an array with one value per unit.")));
	}
}

/*
 * The "sequence" column: in the result, not a target, of a type with an
 * equality operator.
 */
static void
MapSequence(HanamiRows *q, TupleDesc td, const bool *is_target)
{
	int			col = FindColumn(td, q->seq_name, "sequence column");
	Form_pg_attribute att;
	TypeCacheEntry *tc;

	if (col < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("sequence column \"%s\" is not in the query's result",
						q->seq_name),
				 errhint("Option \"sequence\" names the column whose runs of equal values are the sequences.")));
	if (is_target[col])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column \"%s\" cannot be both the sequence and a target",
						q->seq_name)));
	att = TupleDescAttr(td, col);
	tc = lookup_type_cache(att->atttypid, TYPECACHE_EQ_OPR_FINFO);
	if (!OidIsValid(tc->eq_opr_finfo.fn_oid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("sequence column \"%s\" has type %s, which has no equality operator",
						q->seq_name, format_type_be(att->atttypid))));
	fmgr_info_cxt(tc->eq_opr_finfo.fn_oid, &q->seq_eq, q->cxt);
	q->seq_collation = att->attcollation;
	q->seq_typlen = att->attlen;
	q->seq_byval = att->attbyval;
	q->seq_attno = col + 1;
	q->seq_cxt = AllocSetContextCreate(q->cxt, "hanami sequence",
									   ALLOCSET_SMALL_SIZES);
}

/*
 * Whether a row begins a sequence: the first of the pass, or one whose
 * sequence value differs from the row before.
 */
static bool
SequenceStarts(HanamiRows *q, HeapTuple tup, TupleDesc td)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, td, q->seq_attno, &isnull);
	bool		starts;
	MemoryContext old;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("sequence column \"%s\" is null in row " INT64_FORMAT,
						q->seq_name, q->row + 1),
				 errhint("Every row belongs to a sequence: filter out or replace NULLs.")));
	starts = !q->seq_have ||
		!DatumGetBool(FunctionCall2Coll(&q->seq_eq, q->seq_collation,
										q->seq_prev, d));
	if (starts)
	{
		MemoryContextReset(q->seq_cxt);
		old = MemoryContextSwitchTo(q->seq_cxt);
		q->seq_prev = datumCopy(d, q->seq_byval, q->seq_typlen);
		MemoryContextSwitchTo(old);
		q->seq_have = true;
	}
	return starts;
}

/* Decide which columns are features and which is the target. */
static void
MapColumns(HanamiRows *q, TupleDesc td, const char *target)
{
	int			natts = td->natts;
	int			tcol = -1;
	int			nlive = 0;
	bool	   *is_target = palloc0(sizeof(bool) * Max(natts, 1));

	for (int i = 0; i < natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);

		if (att->attisdropped ||
			(q->seq_name != NULL && strcmp(NameStr(att->attname), q->seq_name) == 0))
			continue;			/* the sequence column is no feature or target */
		nlive++;
		if (!target)
			tcol = i;
	}
	if (q->out_map != NULL)
		MapOutputPorts(q, td, is_target);
	else
	{
		if (target)
			tcol = FindColumn(td, target, "target column");
		if (target && tcol < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("target column \"%s\" is not in the query's result", target)));
		if (nlive < 2 && q->in_map == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("query must return at least two columns: features and a target"),
					 errhint("The target is the last column unless the \"target\" option names one.")));
		if (tcol < 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("query returns no columns")));
		is_target[tcol] = true;

		MapColumn(td, tcol + 1, &q->target);
		q->class_target = !q->target.is_array &&
			(q->target.elemtype == INT2OID || q->target.elemtype == INT4OID ||
			 q->target.elemtype == INT8OID || q->target.elemtype == BOOLOID);
		if (!q->class_target && !q->target.is_array && q->n_outputs != 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("target \"%s\" is a single number, but the network has %u outputs",
							q->target.name, q->n_outputs),
					 errhint("Use an integer class index, or an array with one value per output.")));
	}

	if (q->seq_name != NULL)
		MapSequence(q, td, is_target);
	if (q->in_map != NULL)
	{
		MapInputPorts(q, td);
		return;
	}
	q->features = palloc(sizeof(ColumnMap) * natts);
	q->n_features_cols = 0;
	for (int i = 0; i < natts; i++)
		if (!is_target[i] && i + 1 != q->seq_attno &&
			!TupleDescAttr(td, i)->attisdropped)
			MapColumn(td, i + 1, &q->features[q->n_features_cols++]);
}

/*
 * Prepare query (a single read-only SELECT) for rows shaped for net.  Connects
 * to SPI: the caller ends with HanamiRowsClose in the same function.  What
 * the rows need is allocated in the memory context current at this call.
 */
HanamiRows *
HanamiRowsOpen(const char *query, const char *target, const HnNet *net)
{
	HnFitOptions opts;

	memset(&opts, 0, sizeof(opts));
	opts.target = (char *) target;
	return HanamiRowsOpenMapped(query, &opts, net);
}

/*
 * HanamiRowsOpen with the columns mapped by opts: "target", or "inputs"
 * and "targets" (read against net's ports by HnFitOptionsRead).
 */
HanamiRows *
HanamiRowsOpenMapped(const char *query, const HnFitOptions *opts,
					 const HnNet *net)
{
	HanamiRows *q;
	List	   *sources;
	ListCell   *lc;
	int			ret;

	q = palloc0(sizeof(HanamiRows));
	q->cxt = CurrentMemoryContext;
	q->target_name = opts->target ? pstrdup(opts->target) : NULL;
	q->seq_name = opts->sequence ? pstrdup(opts->sequence) : NULL;
	q->n_inputs = net->hdr->n_inputs;
	q->n_outputs = net->hdr->n_outputs;
	if (opts->inputs.n > 0)
	{
		q->in_map = &opts->inputs;
		q->in_ports = palloc(sizeof(HnPort) * opts->inputs.n);
		(void) HnPorts(net, false, q->in_ports, opts->inputs.n);
	}
	if (opts->targets.n == 1)	/* "target" by another name */
		q->target_name = pstrdup(opts->targets.ports[0].columns[0]);
	else if (opts->targets.n > 1)
	{
		q->out_map = &opts->targets;
		q->out_ports = palloc(sizeof(HnPort) * opts->targets.n);
		(void) HnPorts(net, true, q->out_ports, opts->targets.n);
	}

	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(ret));

	q->plan = SPI_prepare(query, 0, NULL);
	if (q->plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	sources = SPI_plan_get_plan_sources(q->plan);
	if (list_length(sources) != 1 ||
		((CachedPlanSource *) linitial(sources))->commandTag != CMDTAG_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("query must be a single SELECT"),
				 errhint("Pass a SELECT, VALUES or TABLE query; training only reads rows.")));
	foreach(lc, ((CachedPlanSource *) linitial(sources))->query_list)
	{
		Query	   *qry = lfirst_node(Query, lc);

		if (qry->commandType != CMD_SELECT || qry->hasModifyingCTE)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("query must not modify data"),
					 errhint("Training only reads rows; run data changes separately.")));
	}
	/* conversions allocate (detoasting, numeric); reset once per fetch */
	q->row_cxt = AllocSetContextCreate(q->cxt, "hanami rows",
									   ALLOCSET_DEFAULT_SIZES);
	q->jobs = palloc0(sizeof(InflateJob) * FETCH_ROWS);
	return q;
}

/* Release the fetched block, if any. */
static void
ReleaseBlock(HanamiRows *q)
{
	if (q->tuptable != NULL)
	{
		SPI_freetuptable(q->tuptable);
		q->tuptable = NULL;
	}
	q->tup_pos = q->tup_n = 0;
	MemoryContextReset(q->row_cxt);
}

/* Start a pass: (re)open the cursor, which runs the query again. */
void
HanamiRowsStart(HanamiRows *q)
{
	ReleaseBlock(q);
	if (q->portal != NULL)
		SPI_cursor_close(q->portal);
	/* read-only, so SPI refuses writes, and every pass sees one snapshot */
	q->portal = SPI_cursor_open(NULL, q->plan, NULL, NULL, true);
	if (!q->mapped)
	{
		MemoryContext old = MemoryContextSwitchTo(q->cxt);

		MapColumns(q, q->portal->tupDesc, q->target_name);
		MemoryContextSwitchTo(old);
		q->mapped = true;
	}
	q->row = 0;
	q->eof = false;
	q->seq_have = false;
}

/* Let the threads of pool inflate compressed feature arrays (InflateJob). */
void
HanamiRowsSetPool(HanamiRows *q, HnPool *pool)
{
	q->pool = PoolSize(pool) > 1 ? pool : NULL;
}

/* Pool job: claim rows and inflate them into their floats. */
static void
InflateRows(void *arg, int w, int n_workers)
{
	InflateWork *work = arg;
	HanamiRows *q = work->q;
	struct varlena *buf = (struct varlena *) (q->scratch + (Size) w * q->scratch_len);
	uint32		n = q->n_inputs;

	(void) n_workers;
	for (;;)
	{
		int			i = atomic_fetch_add(&work->next, 1);
		InflateJob *job;
		ArrayType  *a;

		if (i >= work->n)
			break;
		job = &q->jobs[i];
		if (!job->queued)
			continue;
		if (pglz_decompress(job->src, job->slen, VARDATA(buf), job->rawsize,
							true) != job->rawsize)
			continue;
		SET_VARSIZE(buf, job->rawsize + VARHDRSZ);
		a = (ArrayType *) buf;
		if (ARR_NDIM(a) != 1 || ARR_HASNULL(a) || ARR_ELEMTYPE(a) != FLOAT4OID ||
			ARR_DIMS(a)[0] != (int) n ||
			ARR_OVERHEAD_NONULLS(1) + sizeof(float) * n != (Size) job->rawsize + VARHDRSZ)
			continue;
		/* checked while in cache; the rows' array is filled once */
		if (!SimdAllFinite((const float *) ARR_DATA_PTR(a), n))
			continue;
		SimdCopyStream(job->dst, (const float *) ARR_DATA_PTR(a), n);
		job->done = true;
	}
}

/*
 * Before the rows [tup_pos, tup_pos + count) of the block are converted one
 * by one: inflate those whose only feature column is a float4 array stored
 * compressed inline with pglz straight into their floats, on the pool's
 * threads (or the backend alone: one reused buffer instead of a detoasted
 * copy per row).  Only when the query's features are that one column, of
 * the width of the network's inputs.
 */
static void
InflateBlock(HanamiRows *q, float *x, int64 count)
{
	ColumnMap  *c = &q->features[0];
	InflateWork work;
	int			n = 0;
	Size		need = 0;

	for (int64 k = 0; k < count; k++)
		q->jobs[k].queued = q->jobs[k].done = false;
	if (q->n_features_cols != 1 || !c->is_array ||
		c->elemtype != FLOAT4OID || c->width != (int) q->n_inputs)
		return;
	for (int64 k = 0; k < count; k++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(q->tuptable->vals[q->tup_pos + k],
									  q->tuptable->tupdesc, c->attno, &isnull);
		struct varlena *v = (struct varlena *) DatumGetPointer(d);
		InflateJob *job = &q->jobs[k];

		/* only arrays of the row's size: any other goes the usual way */
		if (isnull || !VARATT_IS_COMPRESSED(v) ||
			VARDATA_COMPRESSED_GET_COMPRESS_METHOD(v) != TOAST_PGLZ_COMPRESSION_ID ||
			VARDATA_COMPRESSED_GET_EXTSIZE(v) + VARHDRSZ !=
			ARR_OVERHEAD_NONULLS(1) + sizeof(float) * q->n_inputs)
			continue;
		job->src = (const char *) v + VARHDRSZ_COMPRESSED;
		job->slen = VARSIZE(v) - VARHDRSZ_COMPRESSED;
		job->rawsize = VARDATA_COMPRESSED_GET_EXTSIZE(v);
		job->dst = x + (size_t) k * q->n_inputs;
		job->queued = true;
		need = Max(need, (Size) job->rawsize + VARHDRSZ);
		n++;
	}
	if (n == 0)
		return;
	need = MAXALIGN(need);
	if (need > q->scratch_len)
	{
		if (q->scratch)
			pfree(q->scratch);
		q->scratch = MemoryContextAlloc(q->cxt, need * PoolSize(q->pool));
		q->scratch_len = need;
	}
	work.q = q;
	work.n = (int) count;
	atomic_init(&work.next, 0);
	PoolRun(q->pool, InflateRows, &work);
}

/*
 * Convert up to max_rows of the current pass into x (n_inputs floats a row)
 * and cls or y (whichever the target needs; the other may be NULL), and
 * with a sequence column into starts (HnDataset.starts; may be NULL).
 * Returns the rows written, 0 at the end of the pass.
 */
int64
HanamiRowsFetch(HanamiRows *q, float *x, float *y, int32 *cls, uint8 *starts,
				int64 max_rows)
{
	int64		k = 0;

	while (k < max_rows && !q->eof)
	{
		MemoryContext old;
		int64		count;

		if (q->tup_pos >= q->tup_n)
		{
			ReleaseBlock(q);
			CHECK_FOR_INTERRUPTS();
			SPI_cursor_fetch(q->portal, true, FETCH_ROWS);
			if (SPI_processed == 0)
			{
				if (SPI_tuptable)
					SPI_freetuptable(SPI_tuptable);
				q->eof = true;
				break;
			}
			q->tuptable = SPI_tuptable;
			q->tup_n = SPI_processed;
		}
		/* compressed feature arrays inflated on the pool's threads first */
		count = Min(max_rows - k, (int64) (q->tup_n - q->tup_pos));
		InflateBlock(q, x + (size_t) k * q->n_inputs, count);
		old = MemoryContextSwitchTo(q->row_cxt);
		for (int64 j = 0; j < count; j++)
		{
			if (q->seq_attno > 0 && starts != NULL)
				starts[k] = SequenceStarts(q, q->tuptable->vals[q->tup_pos],
										   q->tuptable->tupdesc);
			ConvertRow(q, q->tuptable->vals[q->tup_pos],
					   q->tuptable->tupdesc,
					   x + (size_t) k * q->n_inputs,
					   y ? y + (size_t) k * q->n_outputs : NULL,
					   cls ? cls + k : NULL, q->jobs[j].done);
			q->tup_pos++;
			k++;
			/* detoasted copies are garbage once converted */
			if (q->tup_pos % RESET_ROWS == 0)
				MemoryContextReset(q->row_cxt);
		}
		MemoryContextSwitchTo(old);
	}
	return k;
}

/* True when the target is a class index (known once a pass started). */
bool
HanamiRowsClassTarget(const HanamiRows *q)
{
	return q->class_target;
}

/* Close the cursor and the SPI connection. */
void
HanamiRowsClose(HanamiRows *q)
{
	ReleaseBlock(q);
	if (q->portal != NULL)
		SPI_cursor_close(q->portal);
	q->portal = NULL;
	SPI_finish();
}

/* True when the rows carry sequence starts (the "sequence" option). */
bool
HanamiRowsSequences(const HanamiRows *q)
{
	return q->seq_attno > 0;
}

/* Bytes of one row held in memory. */
static Size
RowBytes(const HanamiRows *q)
{
	return sizeof(float) * (q->n_inputs + (q->class_target ? 0 : q->n_outputs)) +
		(q->class_target ? sizeof(int32) : 0) + (q->seq_attno > 0 ? 1 : 0);
}

/*
 * Fault in the pages of [p, p + bytes) with one call, ahead of filling them
 * row by row (one page fault per 4 kB page otherwise); a hint, so a kernel
 * without it changes nothing.
 */
static void
Prefault(void *p, Size bytes)
{
#if defined(MADV_POPULATE_WRITE)
	const uintptr_t page = 4096;
	uintptr_t	lo = ((uintptr_t) p + page - 1) & ~(page - 1);
	uintptr_t	hi = ((uintptr_t) p + bytes) & ~(page - 1);

	if (hi > lo)
		(void) madvise((void *) lo, hi - lo, MADV_POPULATE_WRITE);
#endif
}

/*
 * Read the rest of the current pass into arrays allocated in the memory
 * context that was current at HanamiRowsOpen, within budget bytes.  Returns true when every row fit;
 * false when the budget ran out, with out holding the rows that fit (the
 * pass goes on from there).
 */
bool
HanamiRowsLoad(HanamiRows *q, int64 budget, HanamiQueryData *out)
{
	Size		row_bytes = RowBytes(q);
	int64		cap = 0;
	int64		n = 0;
	float	   *x = NULL;
	float	   *y = NULL;
	int32	   *cls = NULL;
	uint8	   *starts = NULL;
	bool		fits = true;

	memset(out, 0, sizeof(*out));
	for (;;)
	{
		int64		k;

		if (n == cap)
		{
			int64		newcap = cap ? cap * 2 : 1024;

			if ((double) newcap * row_bytes > (double) budget)
				newcap = budget / (int64) row_bytes;
			if (newcap <= n)
			{
				fits = false;
				break;
			}
			/* huge chunks are realloc'ed in place: no copy, no double peak */
			if (cap == 0)
			{
				x = MemoryContextAllocExtended(q->cxt, sizeof(float) * q->n_inputs * newcap,
											   MCXT_ALLOC_HUGE);
				if (q->class_target)
					cls = MemoryContextAllocExtended(q->cxt, sizeof(int32) * newcap,
													 MCXT_ALLOC_HUGE);
				else
					y = MemoryContextAllocExtended(q->cxt, sizeof(float) * q->n_outputs * newcap,
												   MCXT_ALLOC_HUGE);
				if (q->seq_attno > 0)
					starts = MemoryContextAllocExtended(q->cxt, newcap,
														MCXT_ALLOC_HUGE);
			}
			else
			{
				x = repalloc_huge(x, sizeof(float) * q->n_inputs * newcap);
				if (q->class_target)
					cls = repalloc_huge(cls, sizeof(int32) * newcap);
				else
					y = repalloc_huge(y, sizeof(float) * q->n_outputs * newcap);
				if (starts != NULL)
					starts = repalloc_huge(starts, newcap);
			}
			Prefault(x + (size_t) n * q->n_inputs,
					 sizeof(float) * q->n_inputs * (size_t) (newcap - n));
			cap = newcap;
		}
		k = HanamiRowsFetch(q, x + (size_t) n * q->n_inputs,
							y ? y + (size_t) n * q->n_outputs : NULL,
							cls ? cls + n : NULL, starts ? starts + n : NULL,
							cap - n);
		if (k == 0)
			break;
		n += k;
	}
	out->ds.n = n;
	out->ds.n_features = q->n_inputs;
	out->ds.n_outputs = q->n_outputs;
	out->ds.x = x;
	out->ds.y = y;
	out->ds.cls = cls;
	out->ds.starts = starts;
	out->bytes = cap * (int64) row_bytes;
	return fits;
}

/*
 * Run query (read-only) and load every row into out, shaped for net, or
 * fail when the rows need more than hanami.dataset_memory.  The arrays are
 * allocated in the caller's memory context.
 */
void
HanamiLoadQuery(const char *query, const char *target, const HnNet *net,
				HanamiQueryData *out)
{
	HnFitOptions opts;

	memset(&opts, 0, sizeof(opts));
	opts.target = (char *) target;
	HanamiLoadQueryMapped(query, &opts, net, out);
}

/* HanamiLoadQuery with the columns mapped by opts (HanamiRowsOpenMapped). */
void
HanamiLoadQueryMapped(const char *query, const HnFitOptions *opts,
					  const HnNet *net, HanamiQueryData *out)
{
	HanamiRows *q = HanamiRowsOpenMapped(query, opts, net);

	HanamiRowsStart(q);
	if (!HanamiRowsLoad(q, (int64) HanamiDatasetMemoryKb(true) * 1024, out))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("training data exceeds hanami.dataset_memory"),
				 errdetail("The query returned more than " INT64_FORMAT " rows of %zu bytes each.",
						   out->ds.n, RowBytes(q)),
				 errhint("Raise hanami.dataset_memory (now %d kB), or train on fewer rows.",
						 HanamiDatasetMemoryKb(false))));
	HanamiRowsClose(q);
	if (out->ds.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("training query returned no rows")));
}
