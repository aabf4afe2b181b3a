/*
 * common.h - shared definitions of the hanami engine: status codes, the error
 * record, the allocator hooks and the limits every module checks against.
 *
 * The engine (src/core) never includes PostgreSQL headers.  Functions that can
 * fail return an HnStatus and fill an HnError; the PostgreSQL glue turns that
 * into an ereport with a matching errcode.
 */
#ifndef HANAMI_CORE_COMMON_H
#define HANAMI_CORE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Status codes; the glue maps each one to a SQLSTATE. */
typedef enum HnStatus
{
	HANAMI_OK = 0,
	HANAMI_E_INVALID_SPEC,		/* bad network description (22023) */
	HANAMI_E_INVALID_FORMAT,	/* malformed binary network value (22P03) */
	HANAMI_E_INVALID_ARGUMENT,	/* bad argument or option value (22023) */
	HANAMI_E_DIMENSION,			/* wrong input or target size (22000) */
	HANAMI_E_NOT_FINITE,		/* NaN or infinity in input or weights (22P02) */
	HANAMI_E_TOO_LARGE,			/* a size over the limits below (54000) */
	HANAMI_E_NOMEM,				/* allocation failed (53200) */
	HANAMI_E_DIVERGED,			/* training produced NaN/Inf (22003) */
	HANAMI_E_OUTPUT_NOT_FINITE, /* a network output is NaN/Inf (22003) */
	HANAMI_E_MALFORMED_SPEC,	/* malformed JSON or description: the
								 * caller's code (22P02 for text input, else
								 * 22023) */
	HANAMI_E_UNSUPPORTED,		/* a format version this build cannot read
								 * (0A000) */
	HANAMI_E_INTERNAL			/* cannot happen (XX000) */
} HnStatus;

#define HANAMI_ERRMSG_LEN 256
#define HANAMI_ERRHINT_LEN 512	/* a hint may list every option of a fit */

/* Error record filled by a failing engine call. */
typedef struct HnError
{
	HnStatus	code;
	char		message[HANAMI_ERRMSG_LEN];	/* lowercase, no period */
	char		detail[HANAMI_ERRMSG_LEN];	/* full sentence or empty */
	char		hint[HANAMI_ERRHINT_LEN];	/* full sentence or empty */
} HnError;

/*
 * Allocator hooks.  alloc returns NULL on failure (never longjmps), and the
 * memory is not zeroed.  free accepts NULL.
 */
typedef struct HnAllocator
{
	void	   *(*alloc) (void *ctx, size_t size);
	void		(*free) (void *ctx, void *ptr);
	void	   *ctx;
} HnAllocator;

/* Limits (checked by the spec and format validators). */
#define HANAMI_MAX_LAYERS		64
#define HANAMI_MAX_UNITS		(1 << 20)	/* units in one layer */
#define HANAMI_MAX_BYTES		((size_t) 0x3FFFFFFF - 64)	/* < 1 GB varlena */
#define HANAMI_NAME_LEN			32	/* layer name incl. NUL */

/*
 * Fill err and return its code. printf-style message; detail may be NULL.
 * The hint is cleared: HnSetHint adds one.
 */
HnStatus	HnSetError(HnError *err, HnStatus code, const char *detail,
					   const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

/* Add a hint (what to do about it) to a filled err; returns its code. */
HnStatus	HnSetHint(HnError *err, const char *hint);

/* Overflow-checked size arithmetic: return false on overflow. */
bool		HnAddSize(size_t a, size_t b, size_t *out);
bool		HnMulSize(size_t a, size_t b, size_t *out);

/* Allocate through the hooks; NULL on failure. */
void	   *HnAlloc(const HnAllocator *a, size_t size);
void	   *HnAllocZero(const HnAllocator *a, size_t size);
void		HnFree(const HnAllocator *a, void *ptr);

/* An allocator on malloc/free (tests, command-line use). */
extern const HnAllocator HnMallocAllocator;

#endif							/* HANAMI_CORE_COMMON_H */
