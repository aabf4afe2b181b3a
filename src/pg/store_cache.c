/*
 * store_cache.c - hanami.predict() and hanami.predict_class() on stored
 * models: the reference is resolved once per statement (per call site), the
 * decoded network is cached per backend by commit id, within
 * hanami.model_cache_memory.
 *
 * A model larger than that budget is paged, when its kind can (kind.h
 * predict_paged: dense networks, and growing ones whose sections are grouped
 * by cell): its entry holds only the head (segment 0: dense: header, layer
 * records, scaling; growing: headers, cells, neurons) and the list of its
 * segments, and the engine asks for each layer's (each cell's) segment as
 * it runs it.  Segments are read
 * from the blocks table through SPI as the current role (row-level security
 * as for every read) and kept in the same budget, least recently used first
 * out, beside the decoded models; a segment larger than the whole budget is
 * read for the call and freed right after.  hanami.predict_batch() runs a
 * window partition's rows in batches, so a paged model's layers are read
 * once per batch rather than once per row.
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
#include "miscadmin.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "windowapi.h"

PG_FUNCTION_INFO_V1(hanami_predict);
PG_FUNCTION_INFO_V1(hanami_predict_class);
PG_FUNCTION_INFO_V1(hanami_predict_named);
PG_FUNCTION_INFO_V1(hanami_predict_batch);
PG_FUNCTION_INFO_V1(hanami_model_cache_stats);

/* Rows per batch of predict_batch(). */
#define HANAMI_PREDICT_BATCH_ROWS	256

/* One segment of a stored image: its blocks (seq_lo..seq_hi) and size. */
typedef struct PageSeg
{
	int32		seq_lo;
	int32		seq_hi;
	Size		bytes;
} PageSeg;

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
	bool		paged;			/* net is the head only (kind.h bind_head) */
	Size		image_bytes;	/* the whole image's */
	int			n_segs;			/* paged: the image's segments, 0 the head */
	PageSeg    *segs;
} CacheEntry;

/* A cached segment of a paged model. */
typedef struct PageKey
{
	int64		commit_id;
	int64		segment;
} PageKey;

typedef struct PageEntry
{
	PageKey		key;			/* hash key */
	char	   *data;			/* in page_cxt */
	Size		len;
	Size		bytes;			/* memory it takes */
	uint64		last_used;
} PageEntry;

static HTAB *model_cache = NULL;
static Size model_cache_bytes = 0;
static uint64 model_cache_clock = 0;
static uint64 model_cache_evictions = 0;	/* entries forgotten so far */
static Size model_cache_peak = 0;	/* most bytes held at once */
static HTAB *page_cache = NULL;
static MemoryContext page_cxt = NULL;
static uint64 page_fetches = 0;	/* segments read from the store */
static int64 pinned_commit = 0;	/* the entry a paged call runs on: never
								 * evicted while it runs */

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

/* Forget one cached segment. */
static void
PageEvict(PageEntry *p)
{
	model_cache_bytes -= p->bytes;
	pfree(p->data);
	hash_search(page_cache, &p->key, HASH_REMOVE, NULL);
}

/* Count bytes newly held. */
static void
CacheAdd(Size bytes)
{
	model_cache_bytes += bytes;
	if (model_cache_bytes > model_cache_peak)
		model_cache_peak = model_cache_bytes;
}

/*
 * Evict least recently used entries and segments until need more bytes fit
 * the budget (never the entry a paged call is running on).
 */
static void
CacheMakeRoom(Size need)
{
	Size		budget = (Size) HanamiModelCacheKb() * 1024;

	while (model_cache_bytes + need > budget)
	{
		HASH_SEQ_STATUS seq;
		CacheEntry *e;
		CacheEntry *oldest = NULL;
		PageEntry  *p;
		PageEntry  *oldest_page = NULL;

		hash_seq_init(&seq, model_cache);
		while ((e = hash_seq_search(&seq)) != NULL)
			if (e->commit_id != pinned_commit &&
				(oldest == NULL || e->last_used < oldest->last_used))
				oldest = e;
		if (page_cache != NULL)
		{
			hash_seq_init(&seq, page_cache);
			while ((p = hash_seq_search(&seq)) != NULL)
				if (oldest_page == NULL || p->last_used < oldest_page->last_used)
					oldest_page = p;
		}
		if (oldest_page != NULL &&
			(oldest == NULL || oldest_page->last_used < oldest->last_used))
			PageEvict(oldest_page);
		else if (oldest != NULL)
			CacheEvict(oldest);
		else
			break;
	}
}

/* A commit whose blocks went after its reference was resolved. */
static void
CommitGone(int64 commit_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("commit " INT64_FORMAT " no longer exists", commit_id),
			 errdetail("Its model was dropped, or became invisible to the current role, after the reference was resolved.")));
}

/*
 * The segments of a commit's image, from its blocks as the current role
 * sees them: runs of consecutive blocks of one segment name.  Sets *total to
 * the image's bytes; NULL (no segments) when the commit has no blocks.
 */
static pg_noinline PageSeg *
LoadSegmentList(int64 commit_id, int *n_segs, Size *total)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(commit_id)};
	MemoryContext caller = CurrentMemoryContext;
	PageSeg    *segs = NULL;
	char	   *prev = NULL;
	int			n = 0;

	*total = 0;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT cb.seq, cb.segment, pg_catalog.length(b.data)::pg_catalog.int8 "
							  "FROM hanami.commit_blocks cb JOIN hanami.blocks b "
							  "ON b.project = cb.project AND b.hash = cb.hash "
							  "WHERE cb.commit_id = $1 ORDER BY cb.seq",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the blocks of commit " INT64_FORMAT, commit_id);
	if (SPI_processed > 0)
		segs = MemoryContextAlloc(caller, sizeof(PageSeg) * SPI_processed);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int32		seq = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		char	   *name = SPI_getvalue(tup, desc, 2);
		int64		len = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));

		if (seq != (int32) i)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("blocks of commit " INT64_FORMAT " are not numbered in order", commit_id),
					 errdetail("Block %d comes where block " UINT64_FORMAT " should.", seq, i)));
		if (n == 0 || strcmp(name, prev) != 0)
		{
			segs[n].seq_lo = seq;
			segs[n].bytes = 0;
			n++;
		}
		segs[n - 1].seq_hi = seq;
		segs[n - 1].bytes += (Size) len;
		*total += (Size) len;
		prev = name;
	}
	SPI_finish();
	*n_segs = n;
	return segs;
}

/*
 * Segment i of a commit's image, read from its blocks as the current role
 * sees them, in a new chunk of cxt.
 */
static char *
LoadSegment(int64 commit_id, const PageSeg *seg, MemoryContext cxt)
{
	Oid			argtypes[3] = {INT8OID, INT4OID, INT4OID};
	Datum		args[3] = {Int64GetDatum(commit_id), Int32GetDatum(seg->seq_lo),
	Int32GetDatum(seg->seq_hi)};
	bool		isnull;
	Datum		d;
	bytea	   *b;
	char	   *data;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT pg_catalog.string_agg(b.data, ''::pg_catalog.bytea ORDER BY cb.seq) "
							  "FROM hanami.commit_blocks cb JOIN hanami.blocks b "
							  "ON b.project = cb.project AND b.hash = cb.hash "
							  "WHERE cb.commit_id = $1 AND cb.seq BETWEEN $2 AND $3",
							  3, argtypes, args, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not load commit " INT64_FORMAT, commit_id);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		CommitGone(commit_id);
	b = DatumGetByteaPP(d);
	if (VARSIZE_ANY_EXHDR(b) != seg->bytes)
		CommitGone(commit_id);
	data = MemoryContextAllocExtended(cxt, Max(seg->bytes, 1), MCXT_ALLOC_HUGE);
	memcpy(data, VARDATA_ANY(b), seg->bytes);
	SPI_finish();
	return data;
}

/* What the engine's fetches of one paged call need (HnPager.ctx). */
typedef struct PageCall
{
	CacheEntry *e;
	MemoryContext cxt;			/* the call's: a segment over the budget */
	char	   *transient;		/* such a segment, freed at the next fetch */
} PageCall;

/* HnPager.fetch: segment i of the call's model, cached or read. */
static const void *
PageFetch(void *ctx, int i, size_t *len, HnError *err)
{
	PageCall   *pc = ctx;
	CacheEntry *e = pc->e;
	Size		budget = (Size) HanamiModelCacheKb() * 1024;
	PageKey		key;
	PageEntry  *p;
	bool		found;
	char	   *data;
	Size		need;

	CHECK_FOR_INTERRUPTS();
	if (pc->transient != NULL)
	{
		pfree(pc->transient);
		pc->transient = NULL;
	}
	if (i < 1 || i >= e->n_segs)
	{
		HnSetError(err, HANAMI_E_INVALID_FORMAT, NULL,
				   "the stored network has no segment %d", i);
		return NULL;
	}
	memset(&key, 0, sizeof(key));
	key.commit_id = e->commit_id;
	key.segment = i;
	if (page_cache == NULL)
	{
		HASHCTL		hctl;

		hctl.keysize = sizeof(PageKey);
		hctl.entrysize = sizeof(PageEntry);
		page_cache = hash_create("hanami model cache pages", 64, &hctl,
								 HASH_ELEM | HASH_BLOBS);
		page_cxt = AllocSetContextCreate(TopMemoryContext,
										 "hanami model cache pages",
										 ALLOCSET_DEFAULT_SIZES);
	}
	p = hash_search(page_cache, &key, HASH_FIND, NULL);
	if (p != NULL)
	{
		p->last_used = ++model_cache_clock;
		*len = p->len;
		return p->data;
	}
	page_fetches++;
	/* the memory the segment will take: its chunk, with the header */
	need = MAXALIGN(e->segs[i].bytes) + 64;
	if (need + e->bytes > budget)
	{
		/* more than the budget beside the head: for this layer of this call */
		pc->transient = LoadSegment(e->commit_id, &e->segs[i], pc->cxt);
		*len = e->segs[i].bytes;
		return pc->transient;
	}
	CacheMakeRoom(need);
	data = LoadSegment(e->commit_id, &e->segs[i], page_cxt);
	p = hash_search(page_cache, &key, HASH_ENTER, &found);
	p->data = data;
	p->len = e->segs[i].bytes;
	p->bytes = GetMemoryChunkSpace(data);
	p->last_used = ++model_cache_clock;
	CacheAdd(p->bytes);
	*len = p->len;
	return p->data;
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

/*
 * The head of a commit whose image (total bytes in segs) is larger than the
 * budget, bound for paged inference into a context of its own (*cxt); NULL
 * when its kind cannot page.
 */
static void *
LoadHead(int64 commit_id, PageSeg *segs, Size total, HnNet *net,
		 MemoryContext *cxt)
{
	HnError		err;
	volatile HnStatus st = HANAMI_OK;
	char	   *volatile head = NULL;

	*cxt = AllocSetContextCreate(TopMemoryContext, "hanami model cache entry",
								 ALLOCSET_SMALL_SIZES);
	PG_TRY();
	{
		head = LoadSegment(commit_id, &segs[0], *cxt);
		st = NetBindHead(net, head, segs[0].bytes, total, &err);
		if (st != HANAMI_OK && st != HANAMI_E_UNSUPPORTED)
			HanamiReportError(&err, ERRCODE_DATA_CORRUPTED);
	}
	PG_CATCH();
	{
		MemoryContextDelete(*cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (st == HANAMI_OK)
		return head;
	MemoryContextDelete(*cxt);
	*cxt = NULL;
	return NULL;
}

/*
 * Load and decode a commit into a new cache entry: the whole image, or
 * only its head and segment list when the image is larger than the budget
 * and its kind can page.
 */
static CacheEntry *
CacheLoad(int64 commit_id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(commit_id)};
	bool		isnull;
	bool		found;
	bytea	   *volatile img = NULL;
	Datum		d;
	Size		len;
	MemoryContext cxt = NULL;
	MemoryContext old;
	HanamiNetwork *v;
	CacheEntry *e;
	HnNet		net;
	void	   *work;
	void	   *state;
	HnAllocator alloc;
	float	   *out;
	PageSeg    *volatile segs;
	int			n_segs;
	Size		total;
	volatile bool paged = false;

	segs = LoadSegmentList(commit_id, &n_segs, &total);
	/* a model dropped (or hidden) after the reference was resolved */
	if (n_segs == 0)
		CommitGone(commit_id);
	if (total > (Size) HanamiModelCacheKb() * 1024 && n_segs > 1)
		paged = LoadHead(commit_id, (PageSeg *) segs, total, &net, &cxt) != NULL;

	if (!paged)
	{
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
		if (isnull)
			CommitGone(commit_id);
		img = DatumGetByteaPP(d);
		/* decode into a context of its own that outlives the statement */
		cxt = AllocSetContextCreate(TopMemoryContext, "hanami model cache entry",
									ALLOCSET_SMALL_SIZES);
	}

	old = MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		if (!paged)
		{
			len = VARSIZE_ANY_EXHDR(img);
			v = HanamiNetworkFromImage(VARDATA_ANY(img), len);
			HanamiNetworkBind(v, &net, ERRCODE_DATA_CORRUPTED);
		}
		else
		{
			PageSeg    *copy = palloc(sizeof(PageSeg) * n_segs);

			memcpy(copy, (PageSeg *) segs, sizeof(PageSeg) * n_segs);
			segs = copy;
		}
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
	if (!paged)
		SPI_finish();

	CacheMakeRoom(MemoryContextMemAllocated(cxt, true));
	e = hash_search(model_cache, &commit_id, HASH_ENTER, &found);
	e->cxt = cxt;
	e->net = net;
	e->work = work;
	e->state = state;
	e->out = out;
	e->paged = paged;
	e->image_bytes = total;
	e->n_segs = paged ? n_segs : 0;
	e->segs = paged ? (PageSeg *) segs : NULL;
	e->bytes = MemoryContextMemAllocated(cxt, true);
	CacheAdd(e->bytes);
	return e;
}

/*
 * Run n rows of x through a cached model into out.  A paged model reads its
 * segments through PageFetch, its entry pinned meanwhile.
 */
static void
CacheRun(CacheEntry *e, void *work, const float *x, int n, float *out)
{
	PageCall	pc;
	HnPager		pager;
	HnError		err;
	HnStatus	st;

	if (!e->paged)
	{
		e->net.kind->predict(&e->net, work, x, n, out);
		return;
	}
	pc.e = e;
	pc.cxt = CurrentMemoryContext;
	pc.transient = NULL;
	pager.ctx = &pc;
	pager.fetch = PageFetch;
	pinned_commit = e->commit_id;
	st = e->net.kind->predict_paged(&e->net, work, &pager, x, n, out, &err);
	pinned_commit = 0;
	if (pc.transient != NULL)
		pfree(pc.transient);
	if (st != HANAMI_OK)
		HanamiReportError(&err, ERRCODE_DATA_CORRUPTED);
}

/*
 * Whether an entry was loaded under another budget: paged, and the image now
 * fits; or whole, larger than the budget now, and its kind can page.
 */
static bool
CacheStale(const CacheEntry *e)
{
	Size		budget = (Size) HanamiModelCacheKb() * 1024;

	if (e->paged)
		return e->image_bytes <= budget;
	return e->image_bytes > budget && e->net.kind->predict_paged != NULL;
}

/* The cache entry of a commit the current role was just shown to see. */
static CacheEntry *
CacheGet(int64 commit_id)
{
	CacheEntry *e;

	if (model_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(CacheEntry);
		model_cache = hash_create("hanami model cache", 16, &ctl,
								  HASH_ELEM | HASH_BLOBS);
	}
	pinned_commit = 0;			/* a call that failed left it set */
	CacheMakeRoom(0);			/* within a budget lowered since */
	e = hash_search(model_cache, &commit_id, HASH_FIND, NULL);
	/* loaded under another budget: whole now, or paged now */
	if (e != NULL && CacheStale(e))
	{
		CacheEvict(e);
		e = NULL;
	}
	if (e == NULL)
		e = CacheLoad(commit_id);
	e->last_used = ++model_cache_clock;
	return e;
}

/* The decoded network for this call's reference. */
static CacheEntry *
GetModel(FunctionCallInfo fcinfo)
{
	text	   *ref = PG_GETARG_TEXT_PP(0);
	PredictState *st = (PredictState *) fcinfo->flinfo->fn_extra;
	CacheEntry *e;

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
	if (st->entry != NULL && st->evictions == model_cache_evictions &&
		!CacheStale(st->entry))
	{
		e = st->entry;
		e->last_used = ++model_cache_clock;
		pinned_commit = 0;
	}
	else
	{
		e = CacheGet(st->commit_id);
		st->entry = e;
		st->evictions = model_cache_evictions;
	}
	return e;
}

/*
 * Run the cached model on the input array argument 1 (named: a jsonb
 * object of the input ports' values); the outputs, checked
 * to be finite, are left in e->out.  With classify, the model must be a
 * classifier (HanamiCheckClassifier).
 */
static CacheEntry *
PredictOne(FunctionCallInfo fcinfo, bool classify, bool named)
{
	CacheEntry *e = GetModel(fcinfo);
	const float *x;

	if (classify)
		HanamiCheckClassifier(&e->net, "predict_class", "hanami.predict");
	if (named)
		x = HanamiNamedInputs(&e->net, PG_GETARG_JSONB_P(1));
	else
		x = HanamiInputArray(PG_GETARG_ARRAYTYPE_P(1), e->net.hdr->n_inputs);

	/* a model with a carried state answers every row from its stored one */
	if (e->state != NULL)
		e->net.kind->state_load(&e->net, e->state);
	CacheRun(e, e->work, x, 1, e->out);
	HanamiCheckOutputs(e->out, 1, e->net.hdr->n_outputs, -1, NULL);
	return e;
}

/* predict(model, input real[]) -> real[] */
Datum
hanami_predict(PG_FUNCTION_ARGS)
{
	CacheEntry *e = PredictOne(fcinfo, false, false);

	PG_RETURN_ARRAYTYPE_P(HanamiFloatArray(e->out, (int) e->net.hdr->n_outputs));
}

/* predict_class(model, input real[]) -> int: classify() on a stored model */
Datum
hanami_predict_class(PG_FUNCTION_ARGS)
{
	CacheEntry *e = PredictOne(fcinfo, true, false);

	PG_RETURN_INT32(HnOutputClass(e->out, e->net.hdr->n_outputs));
}

/*
 * predict_named(model, inputs jsonb) -> jsonb: run_named() on a stored
 * model, the inputs and outputs by the names of its ports.
 */
Datum
hanami_predict_named(PG_FUNCTION_ARGS)
{
	CacheEntry *e = PredictOne(fcinfo, false, true);

	PG_RETURN_JSONB_P(HanamiNamedOutputs(&e->net, e->out));
}

/* Per-partition state of predict_batch(), in the partition's context. */
typedef struct PredictBatchState
{
	bool		init;
	bool		null_ref;		/* the first row's reference is NULL */
	text	   *ref;			/* the partition's reference */
	int64		commit_id;
	MemoryContext tmp;			/* per-row scratch while filling a batch */
	void	   *work;			/* the kind's scratch for a batch */
	bool		independent;	/* HnRowsIndependent */
	int			rows;			/* rows per batch */
	uint32		n_in;
	uint32		n_out;
	float	   *x;
	float	   *out;
	bool	   *nulls;
	int64		start;			/* partition position of the batch */
	int			count;			/* rows in the batch */
} PredictBatchState;

/* Set up the partition: resolve its reference, make a batch's scratch. */
static void
PredictBatchInit(WindowObject winobj, PredictBatchState *st)
{
	MemoryContext cxt = GetMemoryChunkContext(st);
	MemoryContext old;
	CacheEntry *e;
	HnAllocator alloc;
	bool		isnull;
	Datum		d;

	st->init = true;
	d = WinGetFuncArgCurrent(winobj, 0, &isnull);
	if (isnull)
	{
		st->null_ref = true;
		return;
	}
	old = MemoryContextSwitchTo(cxt);
	st->ref = DatumGetTextPCopy(d);
	MemoryContextSwitchTo(old);
	st->commit_id = ResolveRef(st->ref);
	e = CacheGet(st->commit_id);

	old = MemoryContextSwitchTo(cxt);
	st->independent = HnRowsIndependent(&e->net);
	st->rows = st->independent ? HANAMI_PREDICT_BATCH_ROWS : 1;
	st->n_in = e->net.hdr->n_inputs;
	st->n_out = e->net.hdr->n_outputs;
	/* the work depends on the network's shape only: it outlives e */
	alloc = HanamiPallocAllocator(cxt);
	st->work = HanamiWorkCreate(&e->net, st->rows, &alloc);
	st->tmp = AllocSetContextCreate(cxt, "hanami predict_batch rows",
									ALLOCSET_DEFAULT_SIZES);
	st->x = palloc_extended(sizeof(float) * st->n_in * HANAMI_PREDICT_BATCH_ROWS,
							MCXT_ALLOC_HUGE);
	st->out = palloc_extended(sizeof(float) * st->n_out * HANAMI_PREDICT_BATCH_ROWS,
							  MCXT_ALLOC_HUGE);
	st->nulls = palloc(sizeof(bool) * HANAMI_PREDICT_BATCH_ROWS);
	st->start = -1;
	MemoryContextSwitchTo(old);
}

/* Read the batch of rows starting at partition position pos and run it. */
static void
PredictBatchFill(WindowObject winobj, PredictBatchState *st, int64 pos)
{
	MemoryContext old;
	CacheEntry *e;
	int			n = 0;

	old = MemoryContextSwitchTo(st->tmp);
	for (int k = 0; k < HANAMI_PREDICT_BATCH_ROWS; k++)
	{
		bool		isnull;
		bool		isout;
		Datum		d;
		text	   *ref;

		MemoryContextReset(st->tmp);
		/* the mark at the batch's first row lets earlier rows go */
		d = WinGetFuncArgInPartition(winobj, 0, pos + k, WINDOW_SEEK_HEAD,
									 k == 0, &isnull, &isout);
		if (isout)
			break;
		ref = isnull ? NULL : DatumGetTextPP(d);
		if (ref == NULL || VARSIZE_ANY_EXHDR(ref) != VARSIZE_ANY_EXHDR(st->ref) ||
			memcmp(VARDATA_ANY(ref), VARDATA_ANY(st->ref), VARSIZE_ANY_EXHDR(ref)) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("every row of a window partition must have the same model reference"),
					 errdetail("Row " INT64_FORMAT " of the partition has another reference than its first row.",
							   pos + k + 1),
					 errhint("Add PARTITION BY the reference, e.g. OVER (PARTITION BY model).")));
		d = WinGetFuncArgInPartition(winobj, 1, pos + k, WINDOW_SEEK_HEAD,
									 false, &isnull, &isout);
		st->nulls[k] = isnull;
		if (isnull)
			memset(st->x + (size_t) k * st->n_in, 0, sizeof(float) * st->n_in);
		else
			memcpy(st->x + (size_t) k * st->n_in,
				   HanamiInputArray(DatumGetArrayTypeP(d), st->n_in),
				   sizeof(float) * st->n_in);
		n++;
	}
	MemoryContextReset(st->tmp);
	MemoryContextSwitchTo(old);
	st->start = pos;
	st->count = n;
	if (n == 0)
		return;

	/* the commit stays what the partition resolved; its entry may have gone */
	e = CacheGet(st->commit_id);
	if (st->independent)
		CacheRun(e, st->work, st->x, n, st->out);
	else
	{
		/* in order, each row from the stored carried state, like predict() */
		for (int k = 0; k < n; k++)
		{
			CHECK_FOR_INTERRUPTS();
			e = CacheGet(st->commit_id);
			if (e->state != NULL)
				e->net.kind->state_load(&e->net, e->state);
			CacheRun(e, st->work, st->x + (size_t) k * st->n_in, 1,
					 st->out + (size_t) k * st->n_out);
		}
	}
	HanamiCheckOutputs(st->out, n, st->n_out, pos, st->nulls);
}

/*
 * predict_batch(model text, input real[]) OVER (...) -> real[]: predict()
 * for each row of a window partition, computed in batches of rows, so a
 * paged model reads each layer once per batch.  Every row of a partition
 * names the same model; the reference is resolved once per partition.
 */
Datum
hanami_predict_batch(PG_FUNCTION_ARGS)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	PredictBatchState *st = WinGetPartitionLocalMemory(winobj,
													   sizeof(PredictBatchState));
	int64		pos = WinGetCurrentPosition(winobj);
	int			k;

	if (!st->init)
		PredictBatchInit(winobj, st);
	if (st->null_ref)
		PG_RETURN_NULL();
	if (pos < st->start || pos >= st->start + st->count)
		PredictBatchFill(winobj, st, pos);
	k = (int) (pos - st->start);
	if (k < 0 || k >= st->count || st->nulls[k])
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(HanamiFloatArray(st->out + (size_t) k * st->n_out,
										   (int) st->n_out));
}

/*
 * model_cache_stats() -> jsonb: this backend's model cache: its budget, the
 * bytes it holds now and at most so far, the models and paged models
 * cached, the segments of paged models cached, how many segments were read
 * from the store and how many models were evicted.
 */
Datum
hanami_model_cache_stats(PG_FUNCTION_ARGS)
{
	StringInfoData buf;
	long		models = model_cache ? hash_get_num_entries(model_cache) : 0;
	long		pages = page_cache ? hash_get_num_entries(page_cache) : 0;
	long		paged = 0;

	if (model_cache != NULL)
	{
		HASH_SEQ_STATUS seq;
		CacheEntry *e;

		hash_seq_init(&seq, model_cache);
		while ((e = hash_seq_search(&seq)) != NULL)
			paged += e->paged ? 1 : 0;
	}
	initStringInfo(&buf);
	appendStringInfo(&buf,
					 "{\"budget_bytes\": " INT64_FORMAT ", \"bytes\": " INT64_FORMAT
					 ", \"peak_bytes\": " INT64_FORMAT ", \"models\": %ld"
					 ", \"paged_models\": %ld, \"pages\": %ld"
					 ", \"page_fetches\": " UINT64_FORMAT ", \"evictions\": " UINT64_FORMAT "}",
					 (int64) HanamiModelCacheKb() * 1024, (int64) model_cache_bytes,
					 (int64) model_cache_peak, models, paged, pages,
					 page_fetches, model_cache_evictions);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
