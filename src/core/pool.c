/*
 * pool.c - compute threads for the engine (see pool.h).
 *
 * Jobs are short (tens of microseconds per batch), so a worker spins on the
 * job counter for a while before it sleeps on a condition variable, and the
 * caller spins for a while before it sleeps until the last worker is done.
 * When the pool has more threads than the CPUs the process may use, nobody
 * spins: a spinning thread would only take the CPU from one with work to
 * do.  Threads start with every signal blocked, so a signal sent to the
 * process is always handled by the thread that owns it.
 */
#include "core/pool.h"

#include "core/machine.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

/* Spins before a waiting worker sleeps, and before the caller yields. */
#define HANAMI_POOL_SPINS	(1 << 16)

struct HnPool
{
	int			n_threads;
	pthread_t  *threads;		/* n_threads - 1 */
	int			started;		/* threads actually running */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_cond_t finished;	/* the caller waits here for the last worker */
	int			spins;			/* 0 when threads outnumber the CPUs */
	bool		caller_waits;	/* under lock: the caller sleeps on finished */
	atomic_uint_fast64_t job;	/* incremented for each job (and at stop) */
	atomic_int	done;			/* workers (other than 0) done with the job */
	atomic_int	sleepers;		/* workers waiting on wake */
	atomic_bool stop;
	HnPoolFn	fn;
	void	   *arg;
};

typedef struct PoolStart
{
	HnPool	   *pool;
	int			worker;
} PoolStart;

/* A short pause inside spin loops. */
static inline void
PoolPause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Wait until the job counter moves past seen; returns the new value. */
static uint_fast64_t
PoolWaitJob(HnPool *p, uint_fast64_t seen)
{
	uint_fast64_t j;

	for (int i = 0; i < p->spins; i++)
	{
		j = atomic_load_explicit(&p->job, memory_order_acquire);
		if (j != seen)
			return j;
		PoolPause();
	}
	pthread_mutex_lock(&p->lock);
	atomic_fetch_add(&p->sleepers, 1);
	while ((j = atomic_load(&p->job)) == seen)
		pthread_cond_wait(&p->wake, &p->lock);
	atomic_fetch_sub(&p->sleepers, 1);
	pthread_mutex_unlock(&p->lock);
	return j;
}

/* Body of a pool thread: run each job's share until told to stop. */
static void *
PoolMain(void *arg)
{
	PoolStart	start = *(PoolStart *) arg;
	HnPool	   *p = start.pool;
	uint_fast64_t seen = 0;

	for (;;)
	{
		seen = PoolWaitJob(p, seen);
		if (atomic_load(&p->stop))
			break;
		if (p->fn)
			p->fn(p->arg, start.worker, p->n_threads);
		if (atomic_fetch_add_explicit(&p->done, 1, memory_order_acq_rel) + 1 == p->started)
		{
			/* the last one: wake the caller if it went to sleep */
			pthread_mutex_lock(&p->lock);
			if (p->caller_waits)
				pthread_cond_signal(&p->finished);
			pthread_mutex_unlock(&p->lock);
		}
	}
	return NULL;
}

/* Start a pool of n_threads threads, the caller included. */
HnPool *
PoolCreate(int n_threads, const HnAllocator *alloc, HnError *err)
{
	HnPool	   *p;
	PoolStart  *starts;
	sigset_t	all;
	sigset_t	old;
	int			rc = 0;

	if (n_threads < 1 || n_threads > HANAMI_MAX_THREADS)
	{
		HnSetError(err, HANAMI_E_INVALID_ARGUMENT, NULL,
				   "thread count must be between 1 and %d", HANAMI_MAX_THREADS);
		return NULL;
	}
	p = HnAllocZero(alloc, sizeof(HnPool));
	starts = HnAlloc(alloc, sizeof(PoolStart) * (size_t) n_threads);
	if (p != NULL)
		p->threads = HnAlloc(alloc, sizeof(pthread_t) * (size_t) n_threads);
	if (p == NULL || starts == NULL || p->threads == NULL)
	{
		if (p != NULL)
			HnFree(alloc, p->threads);
		HnFree(alloc, p);
		HnFree(alloc, starts);
		HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for a thread pool");
		return NULL;
	}
	p->n_threads = n_threads;
	p->spins = n_threads <= HnMachineCpus() ? HANAMI_POOL_SPINS : 0;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	pthread_cond_init(&p->finished, NULL);
	atomic_init(&p->job, 0);
	atomic_init(&p->done, 0);
	atomic_init(&p->sleepers, 0);
	atomic_init(&p->stop, false);

	/* new threads inherit the mask: block everything while creating them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int w = 1; w < n_threads; w++)
	{
		starts[w].pool = p;
		starts[w].worker = w;
		rc = pthread_create(&p->threads[w - 1], NULL, PoolMain, &starts[w]);
		if (rc != 0)
			break;
		p->started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	/* the threads copy their start record before the first job: run one */
	if (rc == 0)
	{
		PoolRun(p, NULL, NULL);
		HnFree(alloc, starts);
		return p;
	}
	PoolFree(p, alloc);
	HnFree(alloc, starts);
	HnSetError(err, HANAMI_E_NOMEM, "The system refused to start another thread.",
			   "could not start a compute thread (error %d)", rc);
	return NULL;
}

/* Run a job on every worker; the caller is worker 0. */
void
PoolRun(HnPool *p, HnPoolFn fn, void *arg)
{
	int			others;

	if (p == NULL || p->n_threads == 1)
	{
		if (fn)
			fn(arg, 0, 1);
		return;
	}
	others = p->started;
	p->fn = fn;					/* NULL: a job that only synchronises */
	p->arg = arg;
	atomic_store(&p->done, 0);
	atomic_fetch_add(&p->job, 1);
	if (atomic_load(&p->sleepers) > 0)
	{
		pthread_mutex_lock(&p->lock);
		pthread_cond_broadcast(&p->wake);
		pthread_mutex_unlock(&p->lock);
	}
	if (fn)
		fn(arg, 0, p->n_threads);
	for (int i = 0; i < p->spins; i++)
	{
		if (atomic_load_explicit(&p->done, memory_order_acquire) >= others)
			return;
		PoolPause();
	}
	pthread_mutex_lock(&p->lock);
	p->caller_waits = true;
	while (atomic_load_explicit(&p->done, memory_order_acquire) < others)
		pthread_cond_wait(&p->finished, &p->lock);
	p->caller_waits = false;
	pthread_mutex_unlock(&p->lock);
}

/* Threads in the pool. */
int
PoolSize(const HnPool *p)
{
	return p ? p->n_threads : 1;
}

/* Stop and join every thread, then free. */
void
PoolFree(HnPool *p, const HnAllocator *alloc)
{
	if (p == NULL)
		return;
	atomic_store(&p->stop, true);
	pthread_mutex_lock(&p->lock);
	atomic_fetch_add(&p->job, 1);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->started; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->finished);
	pthread_mutex_destroy(&p->lock);
	HnFree(alloc, p->threads);
	HnFree(alloc, p);
}
