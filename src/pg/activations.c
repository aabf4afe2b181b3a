/*
 * activations.c - hanami.check_activation(): a custom activation's
 * expression and derivative compiled and checked by the engine (core/expr.h)
 * before hanami.create_activation() stores them, and their canonical texts.
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "core/activation.h"
#include "core/expr.h"
#include "errors.h"
#include "jsonutil.h"

PG_FUNCTION_INFO_V1(hanami_check_activation);

/* Prefix err's message with the activation's name, then raise it. */
static void
ReportNamed(HnError *err, const char *name)
{
	if (name != NULL)
	{
		char		msg[HANAMI_ERRMSG_LEN];

		snprintf(msg, sizeof(msg), "custom activation \"%.63s\": %.150s", name,
				 err->message);
		snprintf(err->message, sizeof(err->message), "%s", msg);
	}
	HanamiReportError(err, 0);
}

/*
 * check_activation(expression, derivative, name DEFAULT NULL) RETURNS jsonb:
 * {"name", "expression", "derivative"} with the texts as the engine writes
 * them back (they compile to the same programs), or an error saying what is
 * wrong: syntax (at which character), a function not finite on [-8, 8], a
 * derivative that does not match, a name taken by a built-in activation.
 */
Datum
hanami_check_activation(PG_FUNCTION_ARGS)
{
	char	   *expression;
	char	   *derivative;
	char	   *name = NULL;
	HnExpr		f;
	HnExpr		df;
	HnError		err;
	char		ftext[HN_EXPR_MAX_TEXT * 4];
	char		dtext[HN_EXPR_MAX_TEXT * 4];
	StringInfoData buf;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	expression = text_to_cstring(PG_GETARG_TEXT_PP(0));
	derivative = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
	{
		name = text_to_cstring(PG_GETARG_TEXT_PP(2));
		if (name[0] == '\0' || strlen(name) > 63)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid custom activation name \"%s\"", name),
					 errdetail("A custom activation's name has 1 to 63 characters.")));
		if (ActFromName(name) != HANAMI_ACT_DEFAULT || strcmp(name, "custom") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("custom activation name \"%s\" is taken by a built-in activation",
							name),
					 errhint("Choose another name; built-in activations keep theirs.")));
	}
	if (HnExprCompile(expression, false, &f, &err) != HANAMI_OK ||
		HnExprCompile(derivative, true, &df, &err) != HANAMI_OK ||
		HnExprCheckPair(&f, &df, &err) != HANAMI_OK ||
		HnExprToText(&f, ftext, sizeof(ftext), &err) != HANAMI_OK ||
		HnExprToText(&df, dtext, sizeof(dtext), &err) != HANAMI_OK)
		ReportNamed(&err, name);

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"name\": ");
	if (name != NULL)
		HanamiAppendJsonString(&buf, name);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoString(&buf, ", \"expression\": ");
	HanamiAppendJsonString(&buf, ftext);
	appendStringInfoString(&buf, ", \"derivative\": ");
	HanamiAppendJsonString(&buf, dtext);
	appendStringInfoChar(&buf, '}');
	PG_RETURN_JSONB_P(HanamiJsonbFromCString(buf.data));
}
