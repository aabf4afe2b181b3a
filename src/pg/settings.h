/*
 * settings.h - the server settings (GUCs) of hanami that the glue reads
 * (hanami.c defines them, drop_guard.c its own), and the effective values
 * of those clamped to what the machine has.
 */
#ifndef HANAMI_PG_SETTINGS_H
#define HANAMI_PG_SETTINGS_H

#include "postgres.h"

extern int	hanami_dataset_memory_kb;
extern int	hanami_threads;
extern int	hanami_model_cache_kb;
extern bool hanami_allow_drop_with_models;	/* drop_guard.c */
extern int	hanami_max_jobs_per_role;
extern bool hanami_allow_jit;	/* planner.c */

/* no JIT for queries that call hanami's functions (planner.c) */
extern void HanamiInstallPlannerHook(void);

/* hanami.threads, hanami.dataset_memory, hanami.model_cache_memory within
 * their hanami.max_* limits (notice: say so when clamped) */
extern int	HanamiThreads(void);
extern int	HanamiDatasetMemoryKb(bool notice);
extern int	HanamiModelCacheKb(void);

#endif							/* HANAMI_PG_SETTINGS_H */
