/*
 * hanami.c - module entry: PG_MODULE_MAGIC and the GUCs.
 *
 * Nothing here touches devices or starts threads: _PG_init runs in the
 * postmaster when the library is preloaded.
 */
#include "glue.h"

#include <limits.h>

#include "miscadmin.h"
#include "core/pool.h"
#include "device.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

/* Memory a fit or verify may hold for the query's rows, in kB. */
int			hanami_dataset_memory_kb = 1024 * 1024;

/* Compute threads of one fit (1: the backend alone). */
int			hanami_threads = 1;

/* Training jobs that may run at once. */
int			hanami_max_workers = 2;

/* Memory for decoded stored models cached per backend, in kB. */
int			hanami_model_cache_kb = 256 * 1024;

void		_PG_init(void);

/* Define the GUCs. */
void
_PG_init(void)
{
	DefineCustomIntVariable("hanami.dataset_memory",
							"Memory a training or evaluation query's rows may use.",
							"Rows are held as float32; a query whose rows exceed this fails with a hint.",
							&hanami_dataset_memory_kb,
							1024 * 1024, 64, MAX_KILOBYTES,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("hanami.threads",
							"Compute threads one fit may use.",
							"Threads inside the engine split each batch; they never call into the server. Results are the same for any value.",
							&hanami_threads,
							1, 1, HANAMI_MAX_THREADS,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("hanami.model_cache_memory",
							"Memory each backend may use to cache decoded stored models.",
							"predict() keeps recently used commits decoded; the least recently used go first.",
							&hanami_model_cache_kb,
							256 * 1024, 0, MAX_KILOBYTES,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("hanami.max_workers",
							"Background training jobs that may run at the same time.",
							"Jobs beyond this wait in the queue; each also needs a free max_worker_processes slot.",
							&hanami_max_workers,
							2, 1, 64,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("hanami.allow_drop_with_models",
							 "Lets DROP EXTENSION hanami (or its schema) delete stored models.",
							 "Off: dropping the extension while models are stored is refused.",
							 &hanami_allow_drop_with_models,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	/* hanami.device, hanami.opencl_device: no device is touched here */
	HanamiDeviceDefineGucs();

	MarkGUCPrefixReserved("hanami");

	/* recovery of interrupted jobs needs to run at every server start */
	if (process_shared_preload_libraries_in_progress)
		HanamiRegisterLauncher();
}
