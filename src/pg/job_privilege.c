/*
 * job_privilege.c - running the jobs' fixed bookkeeping statements as the
 * system.
 *
 * Ordinary roles have no INSERT or UPDATE on hanami.job_queue: the server
 * writes jobs.  The code that does (submitting, claiming, progress, final
 * states, cancel, reap) first checks its caller, then switches to the
 * bootstrap superuser for one fixed statement at a time.  While switched,
 * search_path is pinned to pg_catalog and pg_temp, so neither objects in a
 * schema the caller controls nor a search_path the job's own query set can
 * take part in those statements; the switch is local (a SET ROLE in the
 * middle is refused) and undone by the end call or by the transaction's
 * abort.
 */
#include "postgres.h"

#include "jobs.h"

#include "catalog/pg_authid.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"

/* Become the system, with a pinned search_path, until HanamiAsSystemEnd. */
void
HanamiAsSystemBegin(HanamiAsSystem *s)
{
	GetUserIdAndSecContext(&s->saved_user, &s->saved_context);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID,
						   s->saved_context | SECURITY_LOCAL_USERID_CHANGE);
	s->guc_level = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_SUSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
}

/* Back to the caller's identity and search_path. */
void
HanamiAsSystemEnd(HanamiAsSystem *s)
{
	AtEOXact_GUC(true, s->guc_level);
	SetUserIdAndSecContext(s->saved_user, s->saved_context);
}

/* Execute sql with parameters inside SPI; returns SPI_processed. */
uint64
HanamiSpiExec(const char *sql, int nargs, Oid *types, Datum *values)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);

	if (rc < 0)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/*
 * The installed extension's version in this database as 100 * minor +
 * patch for 0.x.y (0.1.0 -> 100, 0.2.0 -> 200), or -1 when it is not
 * installed.  Inside SPI.
 */
int
HanamiInstalledVersion(void)
{
	char	   *v;
	int			major = 0,
				minor = 0,
				patch = 0;

	if (HanamiSpiExec("SELECT e.extversion FROM pg_catalog.pg_extension e "
					  "WHERE e.extname OPERATOR(pg_catalog.=) 'hanami'", 0, NULL, NULL) != 1)
		return -1;
	v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (v == NULL || sscanf(v, "%d.%d.%d", &major, &minor, &patch) != 3)
		return -1;
	return major * 10000 + minor * 100 + patch;
}
