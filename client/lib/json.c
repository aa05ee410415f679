/* json.c: the JSON (jansson) <-> MessagePack conversion of rolesd_call()
 * and rolesd_reply_json(): maps, arrays, strings, integers, floats,
 * booleans and nil one to one; what JSON cannot say (binary, extension
 * types, integers past 2^63, non-finite floats, non-UTF-8 strings and
 * keys) is refused. */

#include <errno.h>
#include <limits.h>
#include <math.h>

#include "client/lib/conn.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/utf8.h"
#include "proto/wire.h"

_Static_assert(sizeof(json_int_t) == sizeof(long long), "json_int_t is long long");

int json_to_mp(msgpack_packer *pk, json_t *v, unsigned depth) {
        int r = 0;

        if (depth > RPC_DEPTH_MAX)
                return -E2BIG;
        switch (json_typeof(v)) {
        case JSON_OBJECT: {
                const char *key;
                size_t key_len;
                json_t *x;

                r = msgpack_pack_map(pk, json_object_size(v));
                json_object_keylen_foreach(v, key, key_len, x) {
                        if (r != 0)
                                break;
                        r = mp_pack_strn(pk, key, key_len);
                        if (r == 0)
                                r = json_to_mp(pk, x, depth + 1);
                }
                return r;
        }
        case JSON_ARRAY: {
                size_t i;
                json_t *x;

                r = msgpack_pack_array(pk, json_array_size(v));
                json_array_foreach(v, i, x) {
                        if (r != 0)
                                break;
                        r = json_to_mp(pk, x, depth + 1);
                }
                return r;
        }
        case JSON_STRING:
                return mp_pack_strn(pk, json_string_value(v), json_string_length(v));
        case JSON_INTEGER: {
                json_int_t i = json_integer_value(v);
                return i >= 0 ? msgpack_pack_uint64(pk, (uint64_t) i) : msgpack_pack_int64(pk, (int64_t) i);
        }
        case JSON_REAL:
                return msgpack_pack_double(pk, json_real_value(v));
        case JSON_TRUE:
                return msgpack_pack_true(pk);
        case JSON_FALSE:
                return msgpack_pack_false(pk);
        case JSON_NULL:
                return msgpack_pack_nil(pk);
        }
        return -EINVAL;
}

int mp_to_json(const msgpack_object *o, json_t **ret, const char **reterr_why) {
        _cleanup_(json_decrefp) json_t *v = NULL;

        switch (o->type) {
        case MSGPACK_OBJECT_NIL:
                v = json_null();
                break;
        case MSGPACK_OBJECT_BOOLEAN:
                v = json_boolean(o->via.boolean);
                break;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
                if (o->via.u64 > (uint64_t) LLONG_MAX) {
                        *reterr_why = "integer out of range";
                        return -EBADMSG;
                }
                v = json_integer((json_int_t) o->via.u64);
                break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
                v = json_integer((json_int_t) o->via.i64);
                break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
                if (!isfinite(o->via.f64)) {
                        *reterr_why = "non-finite number";
                        return -EBADMSG;
                }
                v = json_real(o->via.f64);
                break;
        case MSGPACK_OBJECT_STR:
                if (!utf8_valid(o->via.str.ptr, o->via.str.size)) {
                        *reterr_why = "string is not valid UTF-8";
                        return -EBADMSG;
                }
                v = json_stringn(o->via.str.ptr, o->via.str.size);
                break;
        case MSGPACK_OBJECT_ARRAY:
                v = json_array();
                if (!v)
                        break;
                for (uint32_t i = 0; i < o->via.array.size; i++) {
                        json_t *x = NULL;
                        int r = mp_to_json(&o->via.array.ptr[i], &x, reterr_why);
                        if (r < 0)
                                return r;
                        if (json_array_append_new(v, x) < 0)
                                return -ENOMEM;
                }
                break;
        case MSGPACK_OBJECT_MAP:
                v = json_object();
                if (!v)
                        break;
                for (uint32_t i = 0; i < o->via.map.size; i++) {
                        const msgpack_object_kv *kv = &o->via.map.ptr[i];
                        json_t *x = NULL;
                        int r;

                        if (kv->key.type != MSGPACK_OBJECT_STR ||
                            !utf8_valid(kv->key.via.str.ptr, kv->key.via.str.size)) {
                                *reterr_why = "map key is not a UTF-8 string";
                                return -EBADMSG;
                        }
                        r = mp_to_json(&kv->val, &x, reterr_why);
                        if (r < 0)
                                return r;
                        if (json_object_setn_new(v, kv->key.via.str.ptr, kv->key.via.str.size, x) < 0)
                                return -ENOMEM;
                }
                break;
        default:
                *reterr_why = "binary or extension value";
                return -EBADMSG;
        }
        if (!v)
                return -ENOMEM;
        *ret = TAKE_PTR(v);
        return 0;
}
