/*
 * store_cache.c - hanami.predict() and hanami.predict_class() on stored
 * models: the reference is resolved once per statement (per call site), the
 * decoded network is cached per backend by commit id, within
 * hanami.model_cache_memory.
 *
 * Access control stays with the resolution: it runs as the current role
 * under row-level security every statement, so the cache only ever serves a
 * commit the current role has just been shown to see.  Commits are immutable
 * (no UPDATE policy, ids never reused), so a cached commit never goes stale.
 */
#include "postgres.h"

#include "settings.h"
#include "errors.h"
#include "network.h"
#include "run.h"

#include "catalog/pg_type.h"
#include "core/fit.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(hanami_predict);
PG_FUNCTION_INFO_V1(hanami_predict_class);

/* One cached commit. */
typedef struct CacheEntry
{
	int64		commit_id;		/* hash key */
	MemoryContext cxt;			/* holds the image and workspace */
	HnNet		net;
	void	   *work;			/* the kind's inference scratch */
	void	   *state;			/* a carried state (kind.h): the stored
								 * one, put back before every row (no
								 * carry); NULL when there is none */
	float	   *out;
	Size		bytes;
	uint64		last_used;
} CacheEntry;

static HTAB *model_cache = NULL;
static Size model_cache_bytes = 0;
static uint64 model_cache_clock = 0;
static uint64 model_cache_evictions = 0;	/* entries forgotten so far */

/* What a call site remembers for the current statement. */
typedef struct PredictState
{
	text	   *ref;			/* the reference last resolved */
	int64		commit_id;
	CacheEntry *entry;			/* its cache entry, valid while no entry */
	uint64		evictions;		/* has been forgotten since (dynahash
								 * entries never move) */
} PredictState;

/* Forget one entry. */
static void
CacheEvict(CacheEntry *e)
{
	model_cache_bytes -= e->bytes;
	model_cache_evictions++;
	MemoryContextDelete(e->cxt);
	hash_search(model_cache, &e->commit_id, HASH_REMOVE, NULL);
}

/* Evict least recently used entries until need more bytes fit the budget. */
static void
CacheMakeRoom(Size need)
{
	Size		budget = (Size) HanamiModelCacheKb() * 1024;

	while (model_cache_bytes + need > budget && hash_get_num_entries(model_cache) > 0)
	{
		HASH_SEQ_STATUS seq;
		CacheEntry *e;
		CacheEntry *oldest = NULL;

		hash_seq_init(&seq, model_cache);
		while ((e = hash_seq_search(&seq)) != NULL)
			if (oldest == NULL || e->last_used < oldest->last_used)
				oldest = e;
		CacheEvict(oldest);
	}
}

/* The commit a reference names, as the current role sees it. */
static int64
ResolveRef(text *ref)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {PointerGetDatum(ref)};
	bool		isnull;
	int64		id;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT commit_id FROM hanami.resolve($1)",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not resolve model reference");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return id;
}

/* Load and decode a commit into a new cache entry. */
static CacheEntry *
CacheLoad(int64 commit_id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(commit_id)};
	bool		isnull;
	bool		found;
	bytea	   *img;
	Datum		d;
	Size		len;
	MemoryContext cxt;
	MemoryContext old;
	HanamiNetwork *v;
	CacheEntry *e;
	HnNet		net;
	void	   *work;
	void	   *state;
	HnAllocator alloc;
	float	   *out;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT pg_catalog.string_agg(b.data, ''::pg_catalog.bytea ORDER BY cb.seq) "
							  "FROM hanami.commit_blocks cb JOIN hanami.blocks b "
							  "ON b.project = cb.project AND b.hash = cb.hash "
							  "WHERE cb.commit_id = $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not load commit " INT64_FORMAT, commit_id);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	/* a model dropped (or hidden) after the reference was resolved */
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("commit " INT64_FORMAT " no longer exists", commit_id),
				 errdetail("Its model was dropped, or became invisible to the current role, after the reference was resolved.")));
	img = DatumGetByteaPP(d);
	len = VARSIZE_ANY_EXHDR(img);

	/* decode into a context of its own that outlives the statement */
	cxt = AllocSetContextCreate(TopMemoryContext, "hanami model cache entry",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		v = HanamiNetworkFromImage(VARDATA_ANY(img), len);
		HanamiNetworkBind(v, &net, ERRCODE_DATA_CORRUPTED);
		alloc = HanamiPallocAllocator(cxt);
		work = HanamiWorkCreate(&net, 1, &alloc);
		state = HanamiStateSave(&net);
		out = palloc(sizeof(float) * net.hdr->n_outputs);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	SPI_finish();

	CacheMakeRoom(MemoryContextMemAllocated(cxt, true));
	e = hash_search(model_cache, &commit_id, HASH_ENTER, &found);
	e->cxt = cxt;
	e->net = net;
	e->work = work;
	e->state = state;
	e->out = out;
	e->bytes = MemoryContextMemAllocated(cxt, true);
	model_cache_bytes += e->bytes;
	return e;
}

/* The decoded network for this call's reference. */
static CacheEntry *
GetModel(FunctionCallInfo fcinfo)
{
	text	   *ref = PG_GETARG_TEXT_PP(0);
	PredictState *st = (PredictState *) fcinfo->flinfo->fn_extra;
	CacheEntry *e;

	if (model_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(CacheEntry);
		model_cache = hash_create("hanami model cache", 16, &ctl,
								  HASH_ELEM | HASH_BLOBS);
	}
	if (st == NULL)
	{
		st = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(PredictState));
		fcinfo->flinfo->fn_extra = st;
	}
	/* resolve once per statement, or again when the reference changes */
	if (st->ref == NULL || VARSIZE_ANY_EXHDR(st->ref) != VARSIZE_ANY_EXHDR(ref) ||
		memcmp(VARDATA_ANY(st->ref), VARDATA_ANY(ref), VARSIZE_ANY_EXHDR(ref)) != 0)
	{
		int64		id = ResolveRef(ref);

		if (st->ref)
			pfree(st->ref);
		st->ref = (text *) MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARSIZE_ANY(ref));
		memcpy(st->ref, ref, VARSIZE_ANY(ref));
		st->commit_id = id;
		st->entry = NULL;
	}

	/* the entry of the previous row, unless an entry went since */
	if (st->entry != NULL && st->evictions == model_cache_evictions)
		e = st->entry;
	else
	{
		e = hash_search(model_cache, &st->commit_id, HASH_FIND, NULL);
		if (e == NULL)
			e = CacheLoad(st->commit_id);
		st->entry = e;
		st->evictions = model_cache_evictions;
	}
	e->last_used = ++model_cache_clock;
	return e;
}

/*
 * Run the cached model on the input array argument 1; the outputs, checked
 * to be finite, are left in e->out.  With classify, the model must be a
 * classifier (HanamiCheckClassifier).
 */
static CacheEntry *
PredictOne(FunctionCallInfo fcinfo, bool classify)
{
	CacheEntry *e = GetModel(fcinfo);
	const float *x;

	if (classify)
		HanamiCheckClassifier(&e->net, "predict_class", "hanami.predict");
	x = HanamiInputArray(PG_GETARG_ARRAYTYPE_P(1), e->net.hdr->n_inputs);

	/* a model with a carried state answers every row from its stored one */
	if (e->state != NULL)
		e->net.kind->state_load(&e->net, e->state);
	e->net.kind->predict(&e->net, e->work, x, 1, e->out);
	HanamiCheckOutputs(e->out, 1, e->net.hdr->n_outputs, -1, NULL);
	return e;
}

/* predict(model, input real[]) -> real[] */
Datum
hanami_predict(PG_FUNCTION_ARGS)
{
	CacheEntry *e = PredictOne(fcinfo, false);

	PG_RETURN_ARRAYTYPE_P(HanamiFloatArray(e->out, (int) e->net.hdr->n_outputs));
}

/* predict_class(model, input real[]) -> int: classify() on a stored model */
Datum
hanami_predict_class(PG_FUNCTION_ARGS)
{
	CacheEntry *e = PredictOne(fcinfo, true);

	PG_RETURN_INT32(HnOutputClass(e->out, e->net.hdr->n_outputs));
}
