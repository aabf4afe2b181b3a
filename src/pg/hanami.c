/*
 * hanami.c - module entry: PG_MODULE_MAGIC and the GUCs.
 *
 * Nothing here touches devices or starts threads: _PG_init runs in the
 * postmaster when the library is preloaded.
 */
#include "postgres.h"

#include <limits.h>

#include "settings.h"
#include "device.h"
#include "jobs.h"

#include "core/machine.h"
#include "core/pool.h"
#include "miscadmin.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

/* Memory a fit or verify may hold for the query's rows, in kB. */
int			hanami_dataset_memory_kb = 1024 * 1024;

/* Compute threads of one fit (1: the backend alone). */
int			hanami_threads = 1;

/* Training jobs that may run at once. */
int			hanami_max_workers = 2;

/* Learners (online learning from a stream) that may run at once. */
int			hanami_max_learners = 4;

/* Memory for decoded stored models cached per backend, in kB. */
int			hanami_model_cache_kb = 256 * 1024;

/*
 * Maxima of the three settings above, which ordinary roles can SET: only a
 * superuser changes these; their defaults come from the machine as the
 * server sees it (CPUs of its affinity mask and cgroup quota, memory of its
 * cgroup or the system).
 */
int			hanami_max_threads = 1;
int			hanami_max_dataset_memory_kb = 1024 * 1024;
int			hanami_max_model_cache_kb = 256 * 1024;

/* Queued and running jobs one role may have. */
int			hanami_max_jobs_per_role = 8;

#define DATASET_MEMORY_DEFAULT_KB (1024 * 1024)
#define MODEL_CACHE_DEFAULT_KB (256 * 1024)

/* A fraction of the machine's memory in kB, within a GUC's kB range. */
static int
MachineMemoryKb(int divisor, int floor_kb)
{
	uint64		kb = HnMachineMemory() / 1024 / (uint64) divisor;

	if (kb < (uint64) floor_kb)
		kb = (uint64) floor_kb;
	if (kb > (uint64) MAX_KILOBYTES)
		kb = MAX_KILOBYTES;
	return (int) kb;
}

/*
 * value, at most max.  When a role asked for more than the maximum (a value
 * other than the default), say so once with a NOTICE if notice is set.
 */
static int
Bounded(int value, int max, int boot, const char *name, const char *unit, bool notice)
{
	if (value <= max)
		return value;
	if (notice && value != boot)
		ereport(NOTICE,
				(errmsg("%s = %d%s is above hanami.max_%s = %d%s: using %d%s",
						name, value, unit, name + strlen("hanami."), max, unit, max, unit),
				 errhint("A superuser sets the maximum.")));
	return max;
}

/* The compute threads a fit uses. */
int
HanamiThreads(void)
{
	return Bounded(hanami_threads, hanami_max_threads, 1, "hanami.threads", "", true);
}

/* The memory a fit or verify may hold for rows, in kB. */
int
HanamiDatasetMemoryKb(bool notice)
{
	return Bounded(hanami_dataset_memory_kb, hanami_max_dataset_memory_kb,
				   DATASET_MEMORY_DEFAULT_KB, "hanami.dataset_memory", "kB", notice);
}

/* The per-backend model cache budget, in kB (lowered silently). */
int
HanamiModelCacheKb(void)
{
	return Bounded(hanami_model_cache_kb, hanami_max_model_cache_kb,
				   MODEL_CACHE_DEFAULT_KB, "hanami.model_cache_memory", "kB", false);
}

void		_PG_init(void);

/* Define the GUCs. */
void
_PG_init(void)
{
	DefineCustomIntVariable("hanami.dataset_memory",
							"Memory a training or evaluation query's rows may use.",
							"Rows are held as float32; a query whose rows exceed this fails with a hint. At most hanami.max_dataset_memory.",
							&hanami_dataset_memory_kb,
							DATASET_MEMORY_DEFAULT_KB, 64, MAX_KILOBYTES,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("hanami.threads",
							"Compute threads one fit, or one partition of run_batch or classify_batch, may use.",
							"Threads inside the engine split each batch; they never call into the server. Results are the same for any value. At most hanami.max_threads.",
							&hanami_threads,
							1, 1, HANAMI_MAX_THREADS,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("hanami.model_cache_memory",
							"Memory each backend may use to cache decoded stored models.",
							"predict() keeps recently used commits decoded; the least recently used go first. At most hanami.max_model_cache_memory.",
							&hanami_model_cache_kb,
							MODEL_CACHE_DEFAULT_KB, 0, MAX_KILOBYTES,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("hanami.max_workers",
							"Background training jobs that may run at the same time.",
							"Jobs beyond this wait in the queue; each also needs a free max_worker_processes slot.",
							&hanami_max_workers,
							2, 1, 64,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("hanami.max_learners",
							"Learners (hanami.learn's background workers) that may run at the same time.",
							"One role's learners may hold at most half of them (at least one); a model beyond that keeps its samples queued until a learner slot frees.",
							&hanami_max_learners,
							4, 1, 64,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("hanami.max_threads",
							"Most compute threads any fit may use (hanami.threads is lowered to it).",
							"Default: the CPUs the server may use (affinity mask, cgroup CPU quota).",
							&hanami_max_threads,
							Min(HnMachineCpus(), HANAMI_MAX_THREADS), 1, HANAMI_MAX_THREADS,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("hanami.max_dataset_memory",
							"Most memory any fit or verify may hold for rows (hanami.dataset_memory is lowered to it).",
							"Default: a quarter of the memory the server may use (cgroup limit or system).",
							&hanami_max_dataset_memory_kb,
							MachineMemoryKb(4, 64 * 1024), 64, MAX_KILOBYTES,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("hanami.max_model_cache_memory",
							"Most memory any backend's model cache may use (hanami.model_cache_memory is lowered to it).",
							"Default: an eighth of the memory the server may use (cgroup limit or system).",
							&hanami_max_model_cache_kb,
							MachineMemoryKb(8, 16 * 1024), 0, MAX_KILOBYTES,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("hanami.max_jobs_per_role",
							"Queued and running background jobs one role may have.",
							"train_async() beyond this fails until one of the role's jobs ends.",
							&hanami_max_jobs_per_role,
							8, 1, 10000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("hanami.allow_drop_with_models",
							 "Lets DROP EXTENSION hanami (or its schema) delete stored models.",
							 "Off: dropping the extension while models are stored is refused.",
							 &hanami_allow_drop_with_models,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("hanami.allow_jit",
							 "Lets the planner JIT-compile queries that call hanami's functions.",
							 "Off: such queries are planned without JIT, which cannot speed up a network and costs milliseconds to compile.",
							 &hanami_allow_jit,
							 false,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	/* hanami.device, hanami.opencl_device: no device is touched here */
	HanamiDeviceDefineGucs();

	MarkGUCPrefixReserved("hanami");

	HanamiInstallPlannerHook();

	/* recovery of interrupted jobs needs to run at every server start */
	if (process_shared_preload_libraries_in_progress)
		HanamiRegisterLauncher();
}
