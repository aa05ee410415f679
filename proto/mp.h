/* mp.h: low-level MessagePack helpers on top of msgpack-c, for the wire
 * and for stored records alike: lookups in maps, typed readers that check
 * what they read (strings: valid UTF-8, no NUL, bounded), and packing
 * helpers for strings, key/value pairs and already-encoded bytes. */
#pragma once

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lookup of a string key in a map; NULL when absent or o is not a map. */
const msgpack_object *mp_map_get(const msgpack_object *o, const char *key);
bool mp_str_eq(const msgpack_object *o, const char *s);

/* A string acceptable as text: valid UTF-8, no NUL, at most ROLE_TEXT_MAX bytes. */
bool mp_text_ok(const char *p, size_t n);

/* Typed readers: 0 on success, -EINVAL on a wrong type or value, -ENOMEM. */
int mp_read_str(const msgpack_object *o, char **ret);           /* str, mp_text_ok */
int mp_read_u64(const msgpack_object *o, uint64_t *ret);        /* non-negative integer */
int mp_read_bool(const msgpack_object *o, bool *ret);
int mp_read_strv(const msgpack_object *o, char ***ret, size_t *ret_n); /* array of str (<= ROLE_PERMISSIONS_MAX); NULL-terminated */

/* Decodes the one MessagePack object that fills p[0..n) exactly into u
 * (msgpack_unpacked_init'ed by the caller). 0, or -EINVAL when the bytes
 * are not exactly one object. */
int mp_unpack_whole(const void *p, size_t n, msgpack_unpacked *u);

/* Packing helpers: string key then value. Return msgpack-c's int (0 ok). */
int mp_pack_str(msgpack_packer *pk, const char *s);             /* NULL packs nil */
int mp_pack_strn(msgpack_packer *pk, const char *s, size_t n);
int mp_pack_kv_str(msgpack_packer *pk, const char *key, const char *val); /* val NULL packs nil */
int mp_pack_kv_u64(msgpack_packer *pk, const char *key, uint64_t v);
int mp_pack_kv_bool(msgpack_packer *pk, const char *key, bool v);
int mp_pack_strv(msgpack_packer *pk, char *const *l);   /* NULL-terminated; NULL packs [] */
/* Appends already-encoded MessagePack bytes as the next element. */
int mp_pack_raw(msgpack_packer *pk, const void *p, size_t n);
/* Re-packs the encoded map p[0..n) with room for `extra` more pairs: its
 * header counting them, then its own pairs; the caller packs the extra
 * pairs next. -EINVAL when p does not start with a map header. */
int mp_pack_map_extended(msgpack_packer *pk, const void *p, size_t n, uint32_t extra);
