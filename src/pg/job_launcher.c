/*
 * job_launcher.c - with shared_preload_libraries = 'hanami', a launcher worker
 * that runs once the server accepts connections (after every start and
 * every crash recovery): for each database it starts a dispatcher, which
 * marks jobs interrupted by the restart as failed and starts queued jobs.
 * It then sleeps until shutdown, so it is started again after a crash.
 * Nothing is retried automatically: a job that crashed the server fails
 * instead of crashing it again.
 */
#include "postgres.h"

#include "jobs.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

PGDLLEXPORT void HanamiLauncherMain(Datum arg);

/* Register the launcher; called from _PG_init while preloading. */
void
HanamiRegisterLauncher(void)
{
	BackgroundWorker w;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = 10;
	strlcpy(w.bgw_library_name, "hanami", BGW_MAXLEN);
	strlcpy(w.bgw_function_name, "HanamiLauncherMain", BGW_MAXLEN);
	strlcpy(w.bgw_name, "hanami launcher", BGW_MAXLEN);
	strlcpy(w.bgw_type, "hanami launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&w);
}

/* Start a dispatcher for every database that accepts connections. */
static void
DispatchAllDatabases(void)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	List	   *dbs = NIL;
	ListCell   *lc;
	MemoryContext cxt = CurrentMemoryContext;	/* outlives the transaction */

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (db->datallowconn && !db->datistemplate)
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			dbs = lappend_oid(dbs, db->oid);
			MemoryContextSwitchTo(old);
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	PopActiveSnapshot();
	CommitTransactionCommand();

	foreach(lc, dbs)
		HanamiLaunchDispatcher(lfirst_oid(lc));
}

/* Entry point of the launcher. */
void
HanamiLauncherMain(Datum arg)
{
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	DispatchAllDatabases();

	while (!ShutdownRequestPending)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | WL_TIMEOUT,
						 60 * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
	proc_exit(0);
}
