/*
 * errors.h - engine results as PostgreSQL errors, and the palloc-backed
 * allocator the engine uses inside a backend (errors.c).
 */
#ifndef HANAMI_PG_ERRORS_H
#define HANAMI_PG_ERRORS_H

#include "postgres.h"

#include "core/common.h"

/* Raise err as an ERROR; default_errcode for statuses without their own. */
extern void HanamiReportError(const HnError *err, int default_errcode)
			pg_attribute_noreturn();

/* Raise err unless st is HANAMI_OK. */
extern void HanamiCheck(HnStatus st, const HnError *err);

/* The hint of "network output is not finite" (22003). */
#define HANAMI_HINT_OUTPUT_NOT_FINITE \
	"A value overflowed the range of real (about 3.4e38) inside the network: " \
	"give inputs in the units and range the network was trained on."

/* An engine allocator drawing from cxt, never raising an error. */
extern HnAllocator HanamiPallocAllocator(MemoryContext cxt);

#endif							/* HANAMI_PG_ERRORS_H */
