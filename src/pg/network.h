/*
 * network.h - the hanami.network value: a varlena whose payload is an image
 * (core/image.h), always validated through NetBind when it enters
 * (network_type.c); its text form and info() (spec.c); and the kind's
 * inference state for callers that run it (network_type.c).
 */
#ifndef HANAMI_PG_NETWORK_H
#define HANAMI_PG_NETWORK_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/jsonb.h"

#include "core/kind.h"

/* Images are kept 8-byte aligned by the type's alignment. */
typedef struct varlena HanamiNetwork;

#define HANAMI_NET_IMAGE(v)		((void *) VARDATA(v))
#define HANAMI_NET_IMAGE_LEN(v) ((size_t) (VARSIZE(v) - VARHDRSZ))

/* network_type.c */
extern HanamiNetwork *HanamiNetworkFromImage(const void *image, size_t len);
extern HanamiNetwork *HanamiNetworkCopy(HanamiNetwork *src);
extern void HanamiNetworkBind(HanamiNetwork *v, HnNet *net, int errcode);
extern HanamiNetwork *HanamiGetNetworkArg(FunctionCallInfo fcinfo, int argno,
										  HnNet *net);
extern void *HanamiWorkCreate(const HnNet *net, int max_batch,
							  const HnAllocator *alloc);
extern void *HanamiStateSave(const HnNet *net);

/*
 * spec.c: JSON description and text form <-> network, through the engine's
 * reader and the kinds' writers (core/json.h).  errcode: the code of a
 * malformed value (22P02 for the type's text input, 22023 for functions).
 */
extern HanamiNetwork *HanamiNetworkFromText(const char *text, size_t len,
											bool has_seed, uint32 seed,
											int errcode);
extern HanamiNetwork *HanamiNetworkFromJsonb(Jsonb *jb, bool has_seed,
											 uint32 seed, int errcode);
extern char *HanamiNetText(const HnNet *net);
extern Jsonb *HanamiNetInfo(const HnNet *net);

#endif							/* HANAMI_PG_NETWORK_H */
