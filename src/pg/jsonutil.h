/*
 * jsonutil.h - reading small jsonb option objects (run_batch's options)
 * and writing JSON text the way the server prints it (jsonutil.c).
 */
#ifndef HANAMI_PG_JSONUTIL_H
#define HANAMI_PG_JSONUTIL_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

extern JsonbValue *HanamiJsonbGet(JsonbContainer *obj, const char *key);
extern void HanamiJsonbCheckKeys(JsonbContainer *obj, const char *what,
								 const char *const *allowed);
extern int64 HanamiJsonbInt(JsonbValue *v, const char *what, int64 min,
							int64 max);
extern double HanamiJsonbNumber(JsonbValue *v, const char *what);
extern char *HanamiJsonbString(JsonbValue *v, const char *what);
extern Jsonb *HanamiJsonbFromCString(const char *json);
extern void HanamiAppendJsonNumber(StringInfo buf, double v);
extern void HanamiAppendJsonString(StringInfo buf, const char *s);

#endif							/* HANAMI_PG_JSONUTIL_H */
