/*
 * planner.c - queries that call hanami's functions are planned without JIT.
 *
 * The time of an inference or training query goes into hanami's C functions
 * (a network's products, reading rows), which JIT compilation cannot make
 * faster, while compiling the query's expressions costs tens to hundreds of
 * milliseconds.  The planner switches JIT on from its cost estimate alone,
 * and the usual form of inference, a never-analyzed one-row model table
 * joined to the rows (`FROM rows, models`), is estimated at a thousand
 * model rows or so (the planner assumes ten pages for a table it knows
 * nothing about), so such a query over ten thousand rows crossed
 * jit_above_cost and paid for JIT it could not use.
 *
 * The hook plans as usual and then, when the plan would use JIT and the
 * query calls a function of hanami's schema (in its target list, quals,
 * subqueries or CTEs, as written; a call hidden in a PL/pgSQL function is
 * planned with that function's own query), clears the plan's JIT flags,
 * unless hanami.allow_jit is on.  It is installed when the library loads:
 * at server start with shared_preload_libraries, otherwise at the first
 * call of a hanami function in a session (whose own query was planned
 * before, so preloading is what makes every query covered).
 */
#include "postgres.h"

#include "settings.h"

#include "catalog/namespace.h"
#include "jit/jit.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "utils/lsyscache.h"

bool		hanami_allow_jit = false;

static planner_hook_type prev_planner_hook = NULL;

/* Does the tree call a function of schema nsp? */
static bool
CallsSchemaWalker(Node *node, Oid *nsp)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncExpr) &&
		get_func_namespace(((FuncExpr *) node)->funcid) == *nsp)
		return true;
	if (IsA(node, WindowFunc) &&
		get_func_namespace(((WindowFunc *) node)->winfnoid) == *nsp)
		return true;
	if (IsA(node, Aggref) &&
		get_func_namespace(((Aggref *) node)->aggfnoid) == *nsp)
		return true;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, CallsSchemaWalker, nsp, 0);
	return expression_tree_walker(node, CallsSchemaWalker, nsp);
}

/* Does the query call one of hanami's functions? */
static bool
CallsHanami(Query *parse)
{
	Oid			nsp = get_namespace_oid("hanami", true);

	if (!OidIsValid(nsp))
		return false;
	return CallsSchemaWalker((Node *) parse, &nsp);
}

/* The planner, then no JIT for queries that call hanami's functions. */
static PlannedStmt *
HanamiPlanner(Query *parse, const char *query_string, int cursorOptions,
			  ParamListInfo boundParams)
{
	bool		calls = false;
	PlannedStmt *result;

	/* looked at before planning, which rewrites sublinks into plans */
	if (jit_enabled && !hanami_allow_jit)
		calls = CallsHanami(parse);
	if (prev_planner_hook)
		result = prev_planner_hook(parse, query_string, cursorOptions,
								   boundParams);
	else
		result = standard_planner(parse, query_string, cursorOptions,
								  boundParams);
	if (calls && (result->jitFlags & PGJIT_PERFORM))
		result->jitFlags = PGJIT_NONE;
	return result;
}

/* Install the hook (once per process, from _PG_init). */
void
HanamiInstallPlannerHook(void)
{
	prev_planner_hook = planner_hook;
	planner_hook = HanamiPlanner;
}
