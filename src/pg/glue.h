/*
 * glue.h - declarations shared by the PostgreSQL side of hanami: error
 * reporting for engine results, the palloc allocator, network datums, the
 * JSON description, training options and query datasets.
 */
#ifndef HANAMI_PG_GLUE_H
#define HANAMI_PG_GLUE_H

#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "core/common.h"
#include "core/dense/format.h"
#include "core/kind.h"
#include "core/options.h"
#include "core/train.h"

/* GUCs (hanami.c) */
extern int	hanami_dataset_memory_kb;
extern int	hanami_threads;
extern int	hanami_model_cache_kb;
extern bool hanami_allow_drop_with_models;	/* drop_guard.c */
extern int	hanami_max_jobs_per_role;
extern int	HanamiThreads(void);
extern int	HanamiDatasetMemoryKb(bool notice);
extern int	HanamiModelCacheKb(void);

/* errors.c */
extern void HanamiReportError(const HnError *err, int default_errcode)
			pg_attribute_noreturn();

/* The hint of "network output is not finite" (22003). */
#define HANAMI_HINT_OUTPUT_NOT_FINITE \
	"A value overflowed the range of real (about 3.4e38) inside the network: " \
	"give inputs in the units and range the network was trained on."

extern void HanamiCheck(HnStatus st, const HnError *err);
extern HnAllocator HanamiPallocAllocator(MemoryContext cxt);

/*
 * network_type.c: a network datum is a varlena whose payload is the image of
 * core/format.h.  Images are kept 8-byte aligned by the type's alignment.
 */
typedef struct varlena HanamiNetwork;

#define HANAMI_NET_IMAGE(v)		((void *) VARDATA(v))
#define HANAMI_NET_IMAGE_LEN(v) ((size_t) (VARSIZE(v) - VARHDRSZ))

extern HanamiNetwork *HanamiNetworkFromImage(const void *image, size_t len);
extern HanamiNetwork *HanamiNetworkCopy(HanamiNetwork *src);
extern void HanamiNetworkBind(HanamiNetwork *v, HnNet *net, int errcode);
extern HanamiNetwork *HanamiGetNetworkArg(FunctionCallInfo fcinfo, int argno,
										  HnNet *net);
extern void *HanamiWorkCreate(const HnNet *net, int max_batch,
							  const HnAllocator *alloc);
extern void *HanamiStateSave(const HnNet *net);

/*
 * spec.c: JSON description and text form <-> network, through the engine's
 * reader and the kinds' writers (core/json.h).  errcode: the code of a
 * malformed value (22P02 for the type's text input, 22023 for functions).
 */
extern HanamiNetwork *HanamiNetworkFromText(const char *text, size_t len,
											bool has_seed, uint32 seed,
											int errcode);
extern HanamiNetwork *HanamiNetworkFromJsonb(Jsonb *jb, bool has_seed,
											 uint32 seed, int errcode);
extern char *HanamiNetText(const HnNet *net);
extern Jsonb *HanamiNetInfo(const HnNet *net);

/* jsonutil.c: reading jsonb objects (options), writing JSON text */
extern JsonbValue *HanamiJsonbGet(JsonbContainer *obj, const char *key);
extern void HanamiJsonbCheckKeys(JsonbContainer *obj, const char *what,
								 const char *const *allowed);
extern int64 HanamiJsonbInt(JsonbValue *v, const char *what, int64 min,
							int64 max);
extern double HanamiJsonbNumber(JsonbValue *v, const char *what);
extern bool HanamiJsonbBool(JsonbValue *v, const char *what);
extern char *HanamiJsonbString(JsonbValue *v, const char *what);
extern Jsonb *HanamiJsonbFromCString(const char *json);
extern void HanamiAppendJsonNumber(StringInfo buf, double v);
extern void HanamiAppendJsonString(StringInfo buf, const char *s);

/* options.c: fit/verify options, read by the engine (core/options.h) */
typedef HnFitOptions HanamiOptions;

extern void HanamiParseOptions(Jsonb *jb, const HnNet *net, bool for_training,
							   HanamiOptions *opts);
extern void HanamiParseJobOptions(Jsonb *jb, const HnNet *net,
								  HanamiOptions *opts);

/* dataset.c: a query's rows as float32 arrays */
typedef struct HanamiQueryData
{
	HnDataset	ds;
	int64		bytes;			/* memory held by the arrays */
} HanamiQueryData;

extern void HanamiLoadQuery(const char *query, const char *target,
							const HnNet *net, HanamiQueryData *out);

/* dataset.c: an open query read in passes (see dataset.c) */
typedef struct HanamiRows HanamiRows;

extern HanamiRows *HanamiRowsOpen(const char *query, const char *target,
								  const HnNet *net);
extern void HanamiRowsStart(HanamiRows *q);
extern int64 HanamiRowsFetch(HanamiRows *q, float *x, float *y, int32 *cls,
							 int64 max_rows);
extern bool HanamiRowsLoad(HanamiRows *q, int64 budget, HanamiQueryData *out);
extern bool HanamiRowsClassTarget(const HanamiRows *q);
extern void HanamiRowsClose(HanamiRows *q);

/* train_query.c: fit on a query's rows, in memory or streamed */
extern HnStatus HanamiTrainQuery(const char *query, const HanamiOptions *opts,
								 HnNet *net, const HnCallbacks *cb,
								 MemoryContext cxt, HnTrainResult *res,
								 HnEvalResult *eval, HnError *err);
extern HnStatus HanamiEvaluate(const HnNet *net, const struct HnRows *rows,
							   const HnCallbacks *cb, const HnAllocator *alloc,
							   HnEvalResult *res, HnError *err);
extern struct HnPool *HanamiComputePool(MemoryContext cxt);

/* run.c: shared by inference on values and on stored models */
extern const float *HanamiInputArray(ArrayType *arr, uint32 want);
extern ArrayType *HanamiFloatArray(const float *v, int n);
extern void HanamiCheckOutputs(const float *out, int64 n_rows, uint32 n_out,
							   int64 row0, const bool *skip);
extern void HanamiCheckClassifier(const HnNet *net, const char *fn,
								  const char *alternative);

/* fit.c */
extern char *HanamiFitReport(const HnTrainResult *res, const HnEvalResult *eval,
							 const char *history);

/* options.c */
extern Datum hanami_check_options(PG_FUNCTION_ARGS);

/* jobs.h: background training jobs */
extern int	hanami_max_workers;
extern void HanamiRegisterLauncher(void);

/* callbacks.c: engine hooks that check for interrupts and report progress */
extern void HanamiInitCallbacks(HnCallbacks *cb, bool verbose);
extern void HanamiRecordHistory(HnCallbacks *cb, StringInfo out, int64 rows);

#endif							/* HANAMI_PG_GLUE_H */
