/*
 * common.c - error records, overflow-checked size arithmetic and the
 * allocator wrappers shared by every module of the engine.
 */
#include "core/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fill err with a formatted message and an optional detail; return code. */
HnStatus
HnSetError(HnError *err, HnStatus code, const char *detail,
		   const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	if (detail != NULL)
		snprintf(err->detail, sizeof(err->detail), "%s", detail);
	else
		err->detail[0] = '\0';
	err->hint[0] = '\0';
	return code;
}

/* Add a hint to a filled err. */
HnStatus
HnSetHint(HnError *err, const char *hint)
{
	if (err == NULL)
		return HANAMI_E_INTERNAL;
	snprintf(err->hint, sizeof(err->hint), "%s", hint ? hint : "");
	return err->code;
}

/* a + b into *out; false on overflow. */
bool
HnAddSize(size_t a, size_t b, size_t *out)
{
	if (a > SIZE_MAX - b)
		return false;
	*out = a + b;
	return true;
}

/* a * b into *out; false on overflow. */
bool
HnMulSize(size_t a, size_t b, size_t *out)
{
	if (a != 0 && b > SIZE_MAX / a)
		return false;
	*out = a * b;
	return true;
}

/* Allocate size bytes (at least one) through the hooks. */
void *
HnAlloc(const HnAllocator *a, size_t size)
{
	return a->alloc(a->ctx, size == 0 ? 1 : size);
}

/* Allocate size zeroed bytes through the hooks. */
void *
HnAllocZero(const HnAllocator *a, size_t size)
{
	void	   *p = HnAlloc(a, size);

	if (p != NULL && size > 0)
		memset(p, 0, size);
	return p;
}

/* Free through the hooks; NULL is ignored. */
void
HnFree(const HnAllocator *a, void *ptr)
{
	if (ptr != NULL)
		a->free(a->ctx, ptr);
}

/* malloc behind the allocator hooks. */
static void *
MallocAlloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size);
}

/* free behind the allocator hooks. */
static void
MallocFree(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

const HnAllocator HnMallocAllocator = {MallocAlloc, MallocFree, NULL};
