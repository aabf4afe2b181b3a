/*
 * drop_guard.c - refuse to drop the extension while models are stored.
 *
 * DROP EXTENSION hanami would delete every model, commit and block of the
 * database without a word.  An sql_drop trigger that belongs to the extension
 * does not fire when the extension itself is dropped, and PL/pgSQL cannot see
 * which extension a DROP names, so the guard is a ddl_command_start event
 * trigger written in C that reads the statement's parse tree:
 *
 *   DROP EXTENSION ... hanami ...          (with or without CASCADE)
 *   DROP SCHEMA ... <hanami's schema> ...
 *   DROP OWNED BY ... <the extension's owner> ...
 *
 * are refused while hanami.model_catalog has rows, unless a superuser has set
 * hanami.allow_drop_with_models.  Every other DROP returns at once.
 */
#include "postgres.h"

#include "settings.h"

#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/builtins.h"

bool		hanami_allow_drop_with_models = false;

PG_FUNCTION_INFO_V1(hanami_guard_drop);

/* Does a list of String nodes (a DropStmt's names) contain name? */
static bool
NamesContain(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
	{
		Node	   *n = (Node *) lfirst(lc);

		if (IsA(n, String) && strcmp(strVal(n), name) == 0)
			return true;
	}
	return false;
}

/* Does a list of RoleSpecs (DROP OWNED BY) name the role owner? */
static bool
RolesContain(List *roles, Oid owner)
{
	ListCell   *lc;

	foreach(lc, roles)
	{
		if (get_rolespec_oid((RoleSpec *) lfirst(lc), true) == owner)
			return true;
	}
	return false;
}

/*
 * The schema and owner of the installed extension, or false when it is not
 * installed in this database.  The caller is connected to SPI.
 */
static bool
HanamiExtensionSchema(char **schema, Oid *owner)
{
	bool		isnull;

	if (SPI_execute("SELECT n.nspname::pg_catalog.text, e.extowner "
					"FROM pg_catalog.pg_extension e "
					"JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace "
					"WHERE e.extname OPERATOR(pg_catalog.=) 'hanami'",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up the hanami extension");
	if (SPI_processed == 0)
		return false;
	*schema = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	*owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
											SPI_tuptable->tupdesc, 2, &isnull));
	return *schema != NULL && !isnull;
}

/*
 * Would this statement drop the extension?  Looks the extension up only for
 * statements that could, so other DROPs cost nothing.  Runs inside SPI.
 */
static bool
DropsHanami(Node *parsetree, char **schema)
{
	Oid			owner;

	if (IsA(parsetree, DropStmt) &&
		((DropStmt *) parsetree)->removeType == OBJECT_EXTENSION)
		return NamesContain(((DropStmt *) parsetree)->objects, "hanami")
			&& HanamiExtensionSchema(schema, &owner);

	if (IsA(parsetree, DropStmt) &&
		((DropStmt *) parsetree)->removeType == OBJECT_SCHEMA)
		return HanamiExtensionSchema(schema, &owner)
			&& NamesContain(((DropStmt *) parsetree)->objects, *schema);

	if (IsA(parsetree, DropOwnedStmt))
		return HanamiExtensionSchema(schema, &owner)
			&& RolesContain(((DropOwnedStmt *) parsetree)->roles, owner);

	return false;
}

/* How many models the schema's catalog holds (all projects). */
static int64
StoredModels(const char *schema)
{
	char	   *sql;
	bool		isnull;
	Datum		d;

	sql = psprintf("SELECT pg_catalog.count(*) FROM %s.model_catalog",
				   quote_identifier(schema));
	if (SPI_execute(sql, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not count the stored models");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

/* ddl_command_start on DROP EXTENSION, DROP SCHEMA and DROP OWNED. */
Datum
hanami_guard_drop(PG_FUNCTION_ARGS)
{
	EventTriggerData *trig;
	char	   *schema = NULL;
	int64		models = 0;
	bool		drops;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("hanami.guard_drop() may only be called as an event trigger")));
	trig = (EventTriggerData *) fcinfo->context;

	if (!IsA(trig->parsetree, DropStmt) && !IsA(trig->parsetree, DropOwnedStmt))
		PG_RETURN_VOID();

	SPI_connect();
	drops = DropsHanami(trig->parsetree, &schema);
	if (drops)
		models = StoredModels(schema);
	if (drops && models > 0)
		schema = pstrdup(schema);	/* outlive SPI's memory */
	SPI_finish();

	if (!drops || models == 0)
		PG_RETURN_VOID();

	if (hanami_allow_drop_with_models)
	{
		ereport(WARNING,
				(errmsg_plural("dropping %lld stored hanami model",
								"dropping %lld stored hanami models",
								models, (long long) models),
				 errdetail("hanami.allow_drop_with_models is on.")));
		PG_RETURN_VOID();
	}
	ereport(ERROR,
			(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
			 errmsg_plural("cannot drop extension hanami: %lld model is stored",
							"cannot drop extension hanami: %lld models are stored",
							models, (long long) models),
			 errdetail("%s would delete every model, commit and block in this database.",
					   trig->tag == CMDTAG_DROP_OWNED ? "DROP OWNED" :
					   trig->tag == CMDTAG_DROP_SCHEMA ? "DROP SCHEMA" : "DROP EXTENSION"),
			 errhint("Keep a copy first (pg_dump, or hanami.export() for each model). "
					 "To drop them anyway, a superuser runs SET hanami.allow_drop_with_models = on first.")));
	PG_RETURN_VOID();
}
