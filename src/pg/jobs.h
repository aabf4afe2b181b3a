/*
 * jobs.h - background training jobs: submitting, launching, the worker's
 * bookkeeping as the system, and what the SQL functions share.
 *
 * Trust model: a job's identity (the submitter's current_user and session
 * role) is recorded by the server when the job is submitted, never taken
 * from a column an ordinary role could write; the worker checks it again,
 * then runs the job's code as the submitter with SECURITY_LOCAL_USERID_CHANGE
 * and SECURITY_RESTRICTED_OPERATION, so the job cannot change role.  The
 * job's bookkeeping (claim, progress, final state) runs as the bootstrap
 * superuser with a pinned search_path, through fixed statements only.
 */
#ifndef HANAMI_PG_JOBS_H
#define HANAMI_PG_JOBS_H

#include "postgres.h"

#include "network.h"

/* a job that could not be started this many times fails */
#define HANAMI_JOB_MAX_ATTEMPTS 3

/* security context the job's own code runs in */
#define HANAMI_JOB_SEC_CONTEXT \
	(SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION)

/* What a job worker needs to know; travels in bgw_extra. */
typedef struct JobWorkerArgs
{
	Oid			db;
	Oid			login;			/* the submitter's session role (can log in) */
	Oid			user;			/* the submitter's current_user */
	int64		job;			/* 0 for a dispatcher */
} JobWorkerArgs;

/* job_privilege.c: fixed statements as the system */
typedef struct HanamiAsSystem
{
	Oid			saved_user;
	int			saved_context;
	int			guc_level;
} HanamiAsSystem;

extern void HanamiAsSystemBegin(HanamiAsSystem *s);
extern void HanamiAsSystemEnd(HanamiAsSystem *s);
extern uint64 HanamiSpiExec(const char *sql, int nargs, Oid *types, Datum *values);
extern int	HanamiInstalledVersion(void);

/* hanami.max_workers (hanami.c), the launcher (job_launcher.c) */
extern int	hanami_max_workers;
extern int	hanami_max_learners;

/*
 * job_worker.c: in a background worker (a job, a learner), a short
 * transaction with SPI and a snapshot; Begin returns the caller's memory
 * context, which End, after the commit, returns to.
 */
extern MemoryContext HanamiWorkerTxBegin(void);
extern void HanamiWorkerTxEnd(MemoryContext old);

/*
 * job_worker.c: in such a transaction, as the role that trains, the head of
 * a branch it may write, and a copy of its image bound for a fit (into).
 */
extern HanamiNetwork *HanamiLoadBranchHead(int64 model_id, const char *branch,
										   const char *model, MemoryContext into,
										   int64 *head, HnNet *bound);
extern void HanamiRegisterLauncher(void);

/* job_launch.c */
extern bool HanamiLaunchWorker(const char *fn, const char *type, const char *name,
							   const JobWorkerArgs *args);
extern bool HanamiLaunchJobWorker(Oid db, Oid login, Oid user, int64 job,
								  bool report_failure);
extern void HanamiLaunchDispatcher(Oid db);
extern void HanamiLaunchAtCommit(int64 job, Oid login, Oid user);

#endif							/* HANAMI_PG_JOBS_H */
