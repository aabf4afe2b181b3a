/*
 * jsonutil.c - small helpers for reading jsonb objects with strict type
 * checks (fit and run options), and for writing JSON text.  A network's
 * description is read by the engine (core/json.h), not here.
 */
#include "postgres.h"

#include <math.h>

#include "jsonutil.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/numeric.h"

/* The value under key in an object container, or NULL when absent. */
JsonbValue *
HanamiJsonbGet(JsonbContainer *obj, const char *key)
{
	return getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);
}

/* Error unless every key of obj is in the NULL-terminated allowed list. */
void
HanamiJsonbCheckKeys(JsonbContainer *obj, const char *what,
					 const char *const *allowed)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		bool		found = false;
		StringInfoData list;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				found = true;
		if (found)
			continue;

		initStringInfo(&list);
		for (const char *const *a = allowed; *a; a++)
			appendStringInfo(&list, "%s%s", a == allowed ? "" : ", ", *a);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unrecognized %s \"%s\"", what, key),
				 errhint("Valid keys are: %s.", list.data)));
	}
}

static void
WrongType(JsonbValue *v, const char *what, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s must be %s, not %s", what, expected, JsonbTypeName(v))));
}

/* A JSON number as a double. */
double
HanamiJsonbNumber(JsonbValue *v, const char *what)
{
	if (v->type != jbvNumeric)
		WrongType(v, what, "a number");
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											  NumericGetDatum(v->val.numeric)));
}

/* A JSON integer within [min, max]. */
int64
HanamiJsonbInt(JsonbValue *v, const char *what, int64 min, int64 max)
{
	double		d = HanamiJsonbNumber(v, what);

	if (d != floor(d))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be an integer", what)));
	if (d < (double) min || d > (double) max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between " INT64_FORMAT " and " INT64_FORMAT,
						what, min, max)));
	return (int64) d;
}

char *
HanamiJsonbString(JsonbValue *v, const char *what)
{
	if (v->type != jbvString)
		WrongType(v, what, "a string");
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* Parse JSON text into jsonb (errors are jsonb_in's). */
Jsonb *
HanamiJsonbFromCString(const char *json)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}

/* Append a number in shortest round-trip form; null for NaN/Inf. */
void
HanamiAppendJsonNumber(StringInfo buf, double v)
{
	if (isnan(v) || isinf(v))
		appendStringInfoString(buf, "null");
	else
		appendStringInfoString(buf, float8out_internal(v));
}

/* Append a JSON string literal. */
void
HanamiAppendJsonString(StringInfo buf, const char *s)
{
	escape_json(buf, s);
}
