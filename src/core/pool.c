/*
 * pool.c - compute threads for the engine (see pool.h).
 *
 * A job run with the team is n shares, one per thread of the pool.  The
 * caller publishes the job and then claims shares itself like any pool
 * thread, so a share is run by whichever thread claims it first, and the
 * caller never waits for a thread that has not started yet: only for shares
 * already being run.  Pool threads spin a few microseconds for the next job,
 * then sleep on a condition variable; the caller spins a few microseconds
 * for the last shares, then sleeps until the last one is done.  When the
 * pool has more threads than the CPUs the process may use, nobody spins.
 *
 * Alone or with the team.  The team is not always faster: on a busy
 * machine a pool thread can be descheduled in the middle of a share, and
 * the caller then waits a whole timeslice of the system, far longer than
 * the job; threads on two SMT siblings of one core share its floating-point
 * units, and memory-bound work gains nothing from a second one.  So for
 * each kind of job (its function and argument: a trainer's passes, its
 * update) the caller times every job, keeps a recent average of both ways,
 * runs the jobs the faster way, and now and then runs a few jobs the other
 * way (a trial) to see whether that changed.  After a trial or a run with
 * the team that lost more time than it saved, the next trial of the team
 * waits twice as long (in time and in jobs, up to a limit), so on a loaded
 * machine the cost of trying is a small part of the fit.  Running alone is
 * the job's function called once with n_workers = 1 on the caller, while
 * the pool threads sleep.
 *
 * None of this changes results: pool.h asks that a job give the same values
 * however it is split and whichever thread runs a share, so a job run alone
 * gives the same bytes as one run by the team, and the choice, which
 * depends on timings, never shows in the values.
 *
 * Threads start with every signal blocked, so a signal sent to the process
 * is always handled by the thread that owns it.
 */
#include "core/pool.h"

#include "core/machine.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* How long a pool thread spins for the next job before it sleeps (ns). */
#define HANAMI_POOL_IDLE_SPIN_NS	50000

/* How long the caller spins for the last shares before it sleeps (ns). */
#define HANAMI_POOL_WAIT_SPIN_NS	20000

/* Pauses between two looks at the clock while spinning. */
#define HANAMI_POOL_SPIN_CHECK	32

/* Jobs in a trial of the other way. */
#define HANAMI_POOL_TRIAL_JOBS	4

/*
 * After the team lost, it is tried again once both this long and this many
 * jobs of the kind have passed; both double each time the team lost more
 * than it saved since its trial began, up to GAP_LEVELS times.  While the
 * team is faster, running alone is tried again every ALONE_GAP.
 */
#define HANAMI_POOL_TEAM_GAP_NS		2000000
#define HANAMI_POOL_TEAM_GAP_JOBS	8
#define HANAMI_POOL_GAP_LEVELS		9
#define HANAMI_POOL_ALONE_GAP_NS	50000000

/* Kinds of job whose timings a pool keeps. */
#define HANAMI_POOL_KEYS	4

/* The two ways to run a job. */
#define POOL_ALONE	0
#define POOL_TEAM	1

/* What a pool has learnt about one kind of job (function and argument). */
typedef struct PoolKey
{
	HnPoolFn	fn;
	void	   *arg;
	uint64_t	last_used;		/* jobs of the pool when it was last run */
	double		est[2];			/* recent ns per job, by way; 0: not known */
	int			pref;			/* the way jobs run outside trials */
	int			trial;			/* the way on trial */
	int			trial_left;		/* jobs left in the trial */
	uint64_t	jobs;			/* jobs of this kind */
	int64_t		next_trial;		/* when the other way is tried again */
	uint64_t	next_trial_job; /* and after how many jobs */
	int			gap_level;		/* the team's gap: GAP_NS and GAP_JOBS << it */
	double		credit;			/* ns the team saved since its trial began */
} PoolKey;

/* The claim word: the job's sequence number above, the next share below. */
#define HANAMI_POOL_SHARE_BITS	16
#define HANAMI_POOL_SHARE_MASK	((1u << HANAMI_POOL_SHARE_BITS) - 1)

struct HnPool
{
	int			n_threads;
	pthread_t  *threads;		/* n_threads - 1 */
	int			started;		/* threads actually running */
	bool		spin;			/* false when threads outnumber the CPUs */
	HnPoolMode	mode;
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* pool threads wait here for a job */
	pthread_cond_t finished;	/* the caller waits here for the last share */
	bool		caller_waits;	/* under lock: the caller sleeps on finished */
	atomic_uint_fast64_t job;	/* sequence of the latest job (and stop) */
	atomic_uint_fast64_t claim; /* job << SHARE_BITS | next share to claim */
	atomic_int	done;			/* shares of the job finished */
	atomic_int	sleepers;		/* pool threads waiting on wake */
	atomic_bool stop;
	HnPoolFn	fn;
	void	   *arg;

	/* the caller's own (only the caller reads and writes these) */
	uint64_t	seq;			/* jobs published */
	PoolKey		keys[HANAMI_POOL_KEYS];
	HnPoolStats stats;
};

/* Monotonic nanoseconds. */
static inline int64_t
PoolNow(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A short pause inside spin loops. */
static inline void
PoolPause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Wait until the job counter moves past seen; returns the new value. */
static uint_fast64_t
PoolWaitJob(HnPool *p, uint_fast64_t seen)
{
	uint_fast64_t j;

	if (p->spin)
	{
		int64_t		end = PoolNow() + HANAMI_POOL_IDLE_SPIN_NS;

		for (;;)
		{
			for (int i = 0; i < HANAMI_POOL_SPIN_CHECK; i++)
			{
				j = atomic_load_explicit(&p->job, memory_order_acquire);
				if (j != seen)
					return j;
				PoolPause();
			}
			if (PoolNow() >= end)
				break;
		}
	}
	pthread_mutex_lock(&p->lock);
	atomic_fetch_add(&p->sleepers, 1);
	while ((j = atomic_load(&p->job)) == seen)
		pthread_cond_wait(&p->wake, &p->lock);
	atomic_fetch_sub(&p->sleepers, 1);
	pthread_mutex_unlock(&p->lock);
	return j;
}

/*
 * Claim and run shares of job seq until none is left (or the pool has moved
 * on to another job).  A share claimed here belongs to job seq: the caller
 * does not publish another job before every share of this one is done, so
 * fn and arg stay as they were when the share was claimed.
 */
static void
PoolRunShares(HnPool *p, uint_fast64_t seq, bool caller)
{
	uint_fast64_t tag = seq << HANAMI_POOL_SHARE_BITS;
	uint_fast64_t c = atomic_load_explicit(&p->claim, memory_order_acquire);

	for (;;)
	{
		if ((c & ~(uint_fast64_t) HANAMI_POOL_SHARE_MASK) != tag ||
			(c & HANAMI_POOL_SHARE_MASK) >= (uint_fast64_t) p->n_threads)
			return;
		if (!atomic_compare_exchange_weak_explicit(&p->claim, &c, c + 1,
												   memory_order_acq_rel,
												   memory_order_acquire))
			continue;
		p->fn(p->arg, (int) (c & HANAMI_POOL_SHARE_MASK), p->n_threads);
		if (atomic_fetch_add_explicit(&p->done, 1, memory_order_acq_rel) + 1 ==
			p->n_threads && !caller)
		{
			/* the last share: wake the caller if it went to sleep */
			pthread_mutex_lock(&p->lock);
			if (p->caller_waits)
				pthread_cond_signal(&p->finished);
			pthread_mutex_unlock(&p->lock);
		}
		c = atomic_load_explicit(&p->claim, memory_order_acquire);
	}
}

/* Body of a pool thread: run shares of each job until told to stop. */
static void *
PoolMain(void *arg)
{
	HnPool	   *p = (HnPool *) arg;
	uint_fast64_t seen = 0;

	for (;;)
	{
		seen = PoolWaitJob(p, seen);
		if (atomic_load(&p->stop))
			break;
		PoolRunShares(p, seen, false);
	}
	return NULL;
}

/* Start a pool of n_threads threads, the caller included. */
HnPool *
PoolCreate(int n_threads, const HnAllocator *alloc, HnError *err)
{
	HnPool	   *p;
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
	if (p != NULL)
		p->threads = HnAlloc(alloc, sizeof(pthread_t) * (size_t) n_threads);
	if (p == NULL || p->threads == NULL)
	{
		if (p != NULL)
			HnFree(alloc, p->threads);
		HnFree(alloc, p);
		HnSetError(err, HANAMI_E_NOMEM, NULL, "out of memory for a thread pool");
		return NULL;
	}
	p->n_threads = n_threads;
	p->spin = n_threads <= HnMachineCpus();
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	pthread_cond_init(&p->finished, NULL);
	atomic_init(&p->job, 0);
	atomic_init(&p->claim, 0);
	atomic_init(&p->done, 0);
	atomic_init(&p->sleepers, 0);
	atomic_init(&p->stop, false);

	/* new threads inherit the mask: block everything while creating them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int w = 1; w < n_threads; w++)
	{
		rc = pthread_create(&p->threads[w - 1], NULL, PoolMain, p);
		if (rc != 0)
			break;
		p->started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		return p;
	PoolFree(p, alloc);
	HnSetError(err, HANAMI_E_NOMEM, "The system refused to start another thread.",
			   "could not start a compute thread (error %d)", rc);
	return NULL;
}

/* The key of a kind of job: its function and argument (LRU among KEYS). */
static PoolKey *
PoolKeyFor(HnPool *p, HnPoolFn fn, void *arg)
{
	PoolKey    *k = &p->keys[0];

	for (int i = 0; i < HANAMI_POOL_KEYS; i++)
	{
		if (p->keys[i].fn == fn && p->keys[i].arg == arg)
		{
			k = &p->keys[i];
			k->last_used = p->stats.jobs;
			return k;
		}
		if (p->keys[i].last_used < k->last_used)
			k = &p->keys[i];
	}
	memset(k, 0, sizeof(*k));
	k->fn = fn;
	k->arg = arg;
	k->last_used = p->stats.jobs;
	k->pref = POOL_ALONE;		/* one job alone, then a trial of the team */
	k->trial = -1;
	return k;
}

/* Jobs of this kind run alone from now on, until the team's next trial. */
static void
PoolPreferAlone(PoolKey *k, int64_t now)
{
	/* the team lost more than it saved since its trial: try it less often */
	if (k->pref == POOL_TEAM || k->trial == POOL_TEAM)
	{
		if (k->credit >= 0)
			k->gap_level = 0;
		else if (k->gap_level < HANAMI_POOL_GAP_LEVELS)
			k->gap_level++;
	}
	k->pref = POOL_ALONE;
	k->next_trial = now + ((int64_t) HANAMI_POOL_TEAM_GAP_NS << k->gap_level);
	k->next_trial_job = k->jobs + ((uint64_t) HANAMI_POOL_TEAM_GAP_JOBS << k->gap_level);
}

/*
 * Learn from one job of kind k that ran way mode and took ns nanoseconds.
 */
static void
PoolLearn(PoolKey *k, int mode, int64_t now, int64_t ns)
{
	/* a trial's mean, then a moving average over about the last 8 jobs */
	if (k->trial_left > 0)
		k->est[mode] += ((double) ns - k->est[mode]) /
			(double) (HANAMI_POOL_TRIAL_JOBS + 1 - k->trial_left);
	else if (k->est[mode] <= 0)
		k->est[mode] = (double) ns;
	else
		k->est[mode] += ((double) ns - k->est[mode]) * 0.125;
	if (mode == POOL_TEAM && k->est[POOL_ALONE] > 0)
		k->credit += k->est[POOL_ALONE] - (double) ns;

	if (k->trial_left > 0)
	{
		if (--k->trial_left > 0)
			return;
		/* the trial is over: the team when it was faster */
		if (k->est[POOL_TEAM] < k->est[POOL_ALONE])
		{
			k->pref = POOL_TEAM;
			k->next_trial = now + HANAMI_POOL_ALONE_GAP_NS;
			k->next_trial_job = k->jobs;
		}
		else
			PoolPreferAlone(k, now);
		k->trial = -1;
	}
	else if (k->pref == POOL_TEAM && k->est[POOL_TEAM] > k->est[POOL_ALONE])
		PoolPreferAlone(k, now);
}

/*
 * Run a job's shares.  Each kind of job (function and argument) runs the
 * way that has been faster for it lately, alone or with the team, and now
 * and then a few jobs the other way to see whether that changed.
 */
void
PoolRun(HnPool *p, HnPoolFn fn, void *arg)
{
	PoolKey    *k;
	int			mode;
	int64_t		start;
	int64_t		mid;
	int64_t		end;

	if (p == NULL || p->n_threads == 1)
	{
		if (fn)
			fn(arg, 0, 1);
		return;
	}
	if (fn == NULL)
		return;
	p->stats.jobs++;
	start = PoolNow();
	if (p->mode == HANAMI_POOL_ADAPTIVE)
	{
		k = PoolKeyFor(p, fn, arg);
		k->jobs++;
		if (k->trial_left == 0 && start >= k->next_trial &&
			k->jobs > k->next_trial_job && k->est[POOL_ALONE] > 0)
		{
			k->trial = 1 - k->pref;
			k->trial_left = HANAMI_POOL_TRIAL_JOBS;
			k->est[k->trial] = 0;
			if (k->trial == POOL_TEAM)
				k->credit = 0;
		}
		mode = k->trial_left > 0 ? k->trial : k->pref;
	}
	else
	{
		k = NULL;
		mode = p->mode == HANAMI_POOL_ALWAYS_ALONE ? POOL_ALONE : POOL_TEAM;
	}

	if (mode == POOL_ALONE)
	{
		/* alone: the whole job as one share, here (the same values) */
		fn(arg, 0, 1);
		end = PoolNow();
		p->stats.solo_jobs++;
		p->stats.solo_ns += end - start;
		if (k != NULL)
			PoolLearn(k, mode, end, end - start);
		return;
	}

	/* publish: fn, arg and the claim word before the job number */
	p->seq++;
	p->fn = fn;
	p->arg = arg;
	atomic_store_explicit(&p->done, 0, memory_order_relaxed);
	atomic_store_explicit(&p->claim, p->seq << HANAMI_POOL_SHARE_BITS,
						  memory_order_release);
	atomic_store(&p->job, p->seq);
	if (atomic_load(&p->sleepers) > 0)
	{
		pthread_mutex_lock(&p->lock);
		pthread_cond_broadcast(&p->wake);
		pthread_mutex_unlock(&p->lock);
	}

	PoolRunShares(p, p->seq, true);
	mid = PoolNow();

	/* the shares other threads are still running */
	if (atomic_load_explicit(&p->done, memory_order_acquire) < p->n_threads)
	{
		int64_t		spin_end = mid + (p->spin ? HANAMI_POOL_WAIT_SPIN_NS : 0);
		bool		all_done = false;

		while (!all_done && PoolNow() < spin_end)
			for (int i = 0; i < HANAMI_POOL_SPIN_CHECK && !all_done; i++)
			{
				all_done = atomic_load_explicit(&p->done, memory_order_acquire) >=
					p->n_threads;
				PoolPause();
			}
		if (!all_done)
		{
			pthread_mutex_lock(&p->lock);
			p->caller_waits = true;
			while (atomic_load_explicit(&p->done, memory_order_acquire) < p->n_threads)
				pthread_cond_wait(&p->finished, &p->lock);
			p->caller_waits = false;
			pthread_mutex_unlock(&p->lock);
		}
	}
	end = PoolNow();
	p->stats.team_ns += end - start;
	p->stats.wait_ns += end - mid;
	if (end - mid > mid - start)
		p->stats.late_jobs++;
	if (k != NULL)
		PoolLearn(k, mode, end, end - start);
}

/* Threads in the pool. */
int
PoolSize(const HnPool *p)
{
	return p ? p->n_threads : 1;
}

/* How jobs run from now on. */
void
PoolSetMode(HnPool *p, HnPoolMode mode)
{
	if (p != NULL)
		p->mode = mode;
}

/* What the pool has done so far. */
void
PoolGetStats(const HnPool *p, HnPoolStats *s)
{
	if (p == NULL)
		memset(s, 0, sizeof(*s));
	else
		*s = p->stats;
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
