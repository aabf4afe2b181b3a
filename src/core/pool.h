/*
 * pool.h - a small pool of compute threads for the engine's kernels.
 *
 * The calling thread is worker 0; a pool of n threads starts n - 1 more.
 * PoolRun hands the same function to every worker with its index and waits
 * for all of them, so callers split work statically by index and results do
 * not depend on scheduling.  Pool threads run only the functions given to
 * PoolRun: they never allocate, and start with every signal blocked, so in a
 * PostgreSQL backend they never call palloc or ereport and never take the
 * server's signals.  A pool of one thread starts nothing.
 */
#ifndef HANAMI_CORE_POOL_H
#define HANAMI_CORE_POOL_H

#include "core/common.h"

/* Most threads a pool may have (the GUC hanami.threads is capped here). */
#define HANAMI_MAX_THREADS	64

typedef struct HnPool HnPool;

/* One worker's share of a job: worker is 0..n_workers-1. */
typedef void (*HnPoolFn) (void *arg, int worker, int n_workers);

/*
 * A pool of n_threads threads including the caller (1..HANAMI_MAX_THREADS).
 * NULL with err set when memory or a thread cannot be had.
 */
HnPool	   *PoolCreate(int n_threads, const HnAllocator *alloc, HnError *err);

/* Run fn(arg, w, n) for every worker w, the caller as w = 0; wait for all. */
void		PoolRun(HnPool *pool, HnPoolFn fn, void *arg);

/* Threads in the pool (1 for NULL). */
int			PoolSize(const HnPool *pool);

/* Stop and join the threads, then free the pool.  NULL is ignored. */
void		PoolFree(HnPool *pool, const HnAllocator *alloc);

/* [*lo, *hi): worker w's share of n items split into n_workers ranges. */
static inline void
PoolRange(size_t n, int w, int n_workers, size_t *lo, size_t *hi)
{
	*lo = n * (size_t) w / (size_t) n_workers;
	*hi = n * (size_t) (w + 1) / (size_t) n_workers;
}

#endif							/* HANAMI_CORE_POOL_H */
