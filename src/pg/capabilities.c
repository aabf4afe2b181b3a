/*
 * capabilities.c - hanami.capabilities(): what this build can do.
 */
#include "postgres.h"

#include "jsonutil.h"
#include "device.h"
#include "core/kind.h"

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(hanami_capabilities);

/* The CPU features the engine's dispatched kernels can use here. */
static void
AppendCpuFeatures(StringInfo buf)
{
	bool		first = true;

	appendStringInfoChar(buf, '[');
#if defined(__x86_64__) && defined(__GNUC__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
	{
		appendStringInfoString(buf, "\"avx2\"");
		first = false;
	}
	if (__builtin_cpu_supports("fma"))
	{
		appendStringInfo(buf, "%s\"fma\"", first ? "" : ", ");
		first = false;
	}
	if (__builtin_cpu_supports("avx512f"))
		appendStringInfo(buf, "%s\"avx512f\"", first ? "" : ", ");
#endif
	appendStringInfoChar(buf, ']');
}

/*
 * The custom activations (hanami.activations) the caller can see, as
 * [{"name", "project"}]: row-level security leaves out other projects'.
 */
static void
AppendCustomActivations(StringInfo buf, Oid fn_oid)
{
	Oid			nsp = get_func_namespace(fn_oid);
	char	   *schema = get_namespace_name(nsp);
	char	   *query;
	char	   *list = NULL;
	MemoryContext caller = CurrentMemoryContext;

	if (schema == NULL || !OidIsValid(get_relname_relid("activations", nsp)))
	{
		appendStringInfoString(buf, "[]");
		return;
	}
	query = psprintf("SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object("
					 "'name', a.name, 'project', a.project::pg_catalog.text) "
					 "ORDER BY a.project::pg_catalog.text, a.name), '[]')::pg_catalog.text "
					 "FROM %s.activations a", quote_identifier(schema));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(query, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (v != NULL)
			list = MemoryContextStrdup(caller, v);
	}
	SPI_finish();
	appendStringInfoString(buf, list ? list : "[]");
}

/* jsonb describing kinds, activations, losses, optimizers and devices. */
Datum
hanami_capabilities(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"version\": \"%s\", \"format\": %d, \"kinds\": [",
					 HANAMI_VERSION_STR, HANAMI_FORMAT_VERSION);
	/* every kind of the registry (src/core/kind.c) */
	for (int i = 0; i < HnKindCount(); i++)
		appendStringInfo(&buf, "%s\"%s\"", i ? ", " : "", HnKindAt(i)->name);
	appendStringInfoString(&buf, "], \"activations\": [");
	for (int a = HANAMI_ACT_IDENTITY; a < HANAMI_ACT_CUSTOM; a++)
		appendStringInfo(&buf, "%s\"%s\"", a == HANAMI_ACT_IDENTITY ? "" : ", ",
						 ActName(a));
	/* custom activations: written as expressions (docs/webai.md) */
	appendStringInfoString(&buf, "], \"custom_activations\": ");
	AppendCustomActivations(&buf, fcinfo->flinfo->fn_oid);
	appendStringInfoString(&buf, ", \"losses\": [\"mse\", \"cross_entropy\"], "
						   "\"optimizers\": [\"sgd\", \"adam\"], \"dtypes\": [\"f32\", \"pow2\", \"f16\", \"u8\"], "
						   "\"devices\": [{\"type\": \"cpu\", \"features\": ");
	AppendCpuFeatures(&buf);
	appendStringInfoChar(&buf, '}');
	HanamiAppendOpenCLDevices(&buf);
	appendStringInfoChar(&buf, ']');
	/* training rules of dense fits (option "rule"; docs/graia.md) */
	appendStringInfoString(&buf, ", \"rules\": [\"backprop\", \"hebbian\"]");
	HanamiAppendOpenCLSummary(&buf);
	appendStringInfo(&buf, ", \"limits\": {\"layers\": %d, \"units_per_layer\": %d, "
					 "\"bytes\": %zu}}",
					 HANAMI_MAX_LAYERS, HANAMI_MAX_UNITS, (size_t) HANAMI_MAX_BYTES);
	PG_RETURN_JSONB_P(HanamiJsonbFromCString(buf.data));
}
