/*
 * capabilities.c - hanami.capabilities(): what this build can do.
 */
#include "postgres.h"

#include "jsonutil.h"
#include "device.h"

#include "lib/stringinfo.h"

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

/* jsonb describing kinds, activations, losses, optimizers and devices. */
Datum
hanami_capabilities(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"version\": \"%s\", \"format\": %d, \"kinds\": [\"dense\", \"hanami\"], "
					 "\"activations\": [", HANAMI_VERSION_STR, HANAMI_FORMAT_VERSION);
	for (int a = HANAMI_ACT_IDENTITY; a < HANAMI_ACT_COUNT_; a++)
		appendStringInfo(&buf, "%s\"%s\"", a == HANAMI_ACT_IDENTITY ? "" : ", ",
						 ActName(a));
	appendStringInfoString(&buf, "], \"losses\": [\"mse\", \"cross_entropy\"], "
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
