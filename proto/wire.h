/* wire.h: reading and writing the maps carried in RPC params and results.
 * Params are decoded by a static table of fields (name, parser, offset),
 * so every method validates its arguments the same way. Strings read from
 * the wire are copied into NUL-terminated heap strings after checking that
 * they are valid UTF-8 and contain no NUL. */
#pragma once

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mp.h"

/* A params table: one entry per accepted key. */
typedef int (*ParamParser)(const msgpack_object *o, void *dst);
typedef struct ParamField {
        const char *name;
        ParamParser parse;
        size_t offset;          /* offsetof the destination in the target struct */
        bool required;
} ParamField;

/* Parsers usable in tables (dst is the field's address). */
int param_str(const msgpack_object *o, void *dst);      /* char ** */
int param_u64(const msgpack_object *o, void *dst);      /* uint64_t * */
int param_bool(const msgpack_object *o, void *dst);     /* bool * */
int param_strv(const msgpack_object *o, void *dst);     /* char *** (NULL-terminated) */

/* Applies a table to a params map (NULL means an empty map). Unknown keys,
 * duplicate keys, a missing required key or a value its parser rejects
 * give -EINVAL with *reterr_field naming the key (static or table string;
 * an unknown key is named by a per-thread copy of its first 64 bytes,
 * valid until the next params_parse() on that thread, or "params" when it
 * is not clean text). A params value that is not a map, a non-str key or
 * more than RPC_PARAMS_MAX keys name "params".
 * Strings already parsed stay in dst; the caller frees dst either way.
 * `ignore` names keys that are accepted but skipped (NULL-terminated list,
 * may be NULL), e.g. "auth", parsed separately. */
int params_parse(const msgpack_object *map, const ParamField table[], void *dst,
                 const char *const *ignore, const char **reterr_field);
