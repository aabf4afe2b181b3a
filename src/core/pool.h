/*
 * pool.h - a small pool of compute threads for the engine's kernels.
 *
 * A pool of n threads is the calling thread and n - 1 more.  PoolRun splits
 * a job into shares, calls the job's function once for each share index
 * w = 0..n_workers-1 and returns when all are done.  n_workers is the
 * pool's size, or 1 when the caller runs the job alone: the pool does that
 * when the other threads have made that kind of job slower lately (a busy
 * machine holds them back), trying them again now and then.  Which thread
 * runs which share is not fixed either: the caller also runs the shares no
 * other thread has taken yet.  So a job must give the same values however
 * it is split (n_workers) and whichever thread runs a share, in whatever
 * order or overlap, and a share must not wait for another; a share's index
 * may select its part of the work and its own scratch memory.  Then results
 * do not depend on scheduling or on the threads that really took part.
 *
 * Pool threads run only the functions given to PoolRun: they never
 * allocate, and start with every signal blocked, so in a PostgreSQL backend
 * they never call palloc or ereport and never take the server's signals.
 * A pool of one thread starts nothing.
 */
#ifndef HANAMI_CORE_POOL_H
#define HANAMI_CORE_POOL_H

#include "core/common.h"

/* Most threads a pool may have (the GUC hanami.threads is capped here). */
#define HANAMI_MAX_THREADS	64

typedef struct HnPool HnPool;

/* One share of a job: worker is the share's index, 0..n_workers-1 (above). */
typedef void (*HnPoolFn) (void *arg, int worker, int n_workers);

/*
 * A pool of n_threads threads including the caller (1..HANAMI_MAX_THREADS).
 * NULL with err set when memory or a thread cannot be had.
 */
HnPool	   *PoolCreate(int n_threads, const HnAllocator *alloc, HnError *err);

/* Run fn(arg, w, n) once for every share w < n (above); return when all are done. */
void		PoolRun(HnPool *pool, HnPoolFn fn, void *arg);

/*
 * How PoolRun runs jobs: by default each kind of job (function and
 * argument) the way that has been faster for it lately, with the threads
 * or on the caller alone; or always one way (tests, measurements).
 */
typedef enum HnPoolMode
{
	HANAMI_POOL_ADAPTIVE,
	HANAMI_POOL_ALWAYS_TEAM,
	HANAMI_POOL_ALWAYS_ALONE
} HnPoolMode;

void		PoolSetMode(HnPool *pool, HnPoolMode mode);

/* Jobs a pool of 2 or more threads has run (PoolRun calls with a function). */
typedef struct HnPoolStats
{
	uint64_t	jobs;			/* all of them */
	uint64_t	solo_jobs;		/* run on the caller alone */
	uint64_t	late_jobs;		/* run with the threads, and the caller then
								 * waited for them longer than it ran shares */
	int64_t		solo_ns;		/* time in jobs run alone */
	int64_t		team_ns;		/* time in jobs run with the threads */
	int64_t		wait_ns;		/* of which the caller waited for the others */
} HnPoolStats;

/* What a pool has done so far (zeros for NULL). */
void		PoolGetStats(const HnPool *pool, HnPoolStats *stats);

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
