/*
 * average.c - hanami.average(net [, weight]): the aggregate that averages
 * networks of one architecture (core/average.h), with combine, serial and
 * deserial functions so that it runs in parallel query.
 *
 * The transition state lives in the aggregate's memory context.  Its
 * serial form: the template image's length and bytes, the number of
 * parameters and their sums, the total weight and the count.  A serial
 * form only comes from serialfunc (a function taking internal cannot be
 * called from SQL with a value of one's own), but deserialfunc still
 * checks every length and binds the image through the validating path.
 */
#include "postgres.h"

#include <math.h>

#include "errors.h"
#include "network.h"

#include "core/average.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(hanami_average_trans);
PG_FUNCTION_INFO_V1(hanami_average_combine);
PG_FUNCTION_INFO_V1(hanami_average_serial);
PG_FUNCTION_INFO_V1(hanami_average_deserial);
PG_FUNCTION_INFO_V1(hanami_average_final);

static MemoryContext
AggContext(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext cxt;

	if (!AggCheckCallContext(fcinfo, &cxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s called outside an aggregate", fn)));
	return cxt;
}

static HnAverage *
NewState(MemoryContext cxt)
{
	return MemoryContextAllocZero(cxt, sizeof(HnAverage));
}

/* average(net [, weight]): add one network; NULL networks are skipped. */
Datum
hanami_average_trans(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = AggContext(fcinfo, "hanami_average_trans");
	HnAverage  *acc = PG_ARGISNULL(0) ? NewState(cxt) : (HnAverage *) PG_GETARG_POINTER(0);
	double		w = 1.0;
	HnNet		net;
	HnError		err;
	HnAllocator alloc = HanamiPallocAllocator(cxt);

	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(acc);
	if (PG_NARGS() > 2)
	{
		if (PG_ARGISNULL(2))
			PG_RETURN_POINTER(acc);
		w = PG_GETARG_FLOAT8(2);
	}
	(void) HanamiGetNetworkArg(fcinfo, 1, &net);
	HanamiCheck(HnAverageAdd(acc, &net, w, &alloc, &err), &err);
	PG_RETURN_POINTER(acc);
}

Datum
hanami_average_combine(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = AggContext(fcinfo, "hanami_average_combine");
	HnAverage  *a = PG_ARGISNULL(0) ? NULL : (HnAverage *) PG_GETARG_POINTER(0);
	HnAverage  *b = PG_ARGISNULL(1) ? NULL : (HnAverage *) PG_GETARG_POINTER(1);
	HnError		err;
	HnAllocator alloc = HanamiPallocAllocator(cxt);

	if (b == NULL)
		PG_RETURN_POINTER(a ? a : NewState(cxt));
	if (a == NULL)
		a = NewState(cxt);
	HanamiCheck(HnAverageMerge(a, b, &alloc, &err), &err);
	PG_RETURN_POINTER(a);
}

Datum
hanami_average_serial(PG_FUNCTION_ARGS)
{
	HnAverage  *acc = (HnAverage *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	(void) AggContext(fcinfo, "hanami_average_serial");
	pq_begintypsend(&buf);
	pq_sendint64(&buf, (int64) acc->len);
	if (acc->image != NULL)
	{
		pq_sendbytes(&buf, acc->image, (int) acc->len);
		pq_sendint64(&buf, (int64) acc->n);
		for (size_t i = 0; i < acc->n; i++)
			pq_sendfloat8(&buf, acc->sum[i]);
		pq_sendfloat8(&buf, acc->weight);
		pq_sendint64(&buf, acc->count);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

static void
BadState(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid state of hanami.average")));
}

Datum
hanami_average_deserial(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = AggContext(fcinfo, "hanami_average_deserial");
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	HnAverage  *acc = NewState(cxt);
	int64		len;

	buf.data = VARDATA_ANY(b);
	buf.len = VARSIZE_ANY_EXHDR(b);
	buf.maxlen = 0;
	buf.cursor = 0;
	if (buf.len < 8)
		BadState();
	len = pq_getmsgint64(&buf);
	if (len > 0)
	{
		HnNet		net;
		HnError		err;
		int64		n;

		if (len > buf.len - buf.cursor || len > (int64) HANAMI_MAX_BYTES)
			BadState();
		acc->image = MemoryContextAllocHuge(cxt, (Size) len);
		memcpy(acc->image, pq_getmsgbytes(&buf, (int) len), (size_t) len);
		acc->len = (size_t) len;
		if (NetBind(&net, acc->image, acc->len, &err) != HANAMI_OK ||
			net.kind->parameters == NULL)
			BadState();
		(void) net.kind->parameters(&net, &acc->n);
		n = pq_getmsgint64(&buf);
		if (n < 0 || (size_t) n != acc->n || n > (buf.len - buf.cursor) / 8)
			BadState();
		acc->sum = MemoryContextAllocHuge(cxt, sizeof(double) * Max(n, 1));
		for (int64 i = 0; i < n; i++)
			acc->sum[i] = pq_getmsgfloat8(&buf);
		acc->weight = pq_getmsgfloat8(&buf);
		acc->count = pq_getmsgint64(&buf);
	}
	else if (len < 0)
		BadState();
	if (buf.cursor != buf.len)
		BadState();
	PG_RETURN_POINTER(acc);
}

Datum
hanami_average_final(PG_FUNCTION_ARGS)
{
	HnAverage  *acc = PG_ARGISNULL(0) ? NULL : (HnAverage *) PG_GETARG_POINTER(0);
	HnAllocator alloc = HanamiPallocAllocator(CurrentMemoryContext);
	HnError		err;
	void	   *image;
	HanamiNetwork *v;

	(void) AggContext(fcinfo, "hanami_average_final");
	if (acc == NULL || acc->image == NULL)
		PG_RETURN_NULL();
	HanamiCheck(HnAverageResult(acc, &alloc, &image, &err), &err);
	v = HanamiNetworkFromImage(image, acc->len);
	PG_RETURN_POINTER(v);
}
