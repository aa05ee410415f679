/* handlers.c: what the handler modules share (see handlers.h): naming a
 * role, paging, refusing REST credentials to provisioning, lists packed
 * once their length is known, a user's roles, and recording a change with
 * its principal. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "handlers.h"
#include "proto/limits.h"
#include "proto/macro.h"

void role_selector_done(RoleSelector *sel) {
        free(sel->id);
        free(sel->api_id);
        free(sel->name);
        *sel = (RoleSelector) { .id = NULL };
}

int role_selector_check(const RoleSelector *sel, RpcErr *err) {
        if (!!sel->id + !!sel->api_id + !!sel->name != 1)
                return rpc_fail(err, -EINVAL, sel->id ? "id" : sel->api_id ? "api_id" : "name",
                                "give exactly one of id, api_id, name");
        return 0;
}

const char *role_selector_by(const RoleSelector *sel) {
        return sel->id ? "id" : sel->api_id ? "api_id" : "name";
}

const char *role_selector_value(const RoleSelector *sel) {
        return sel->id ? sel->id : sel->api_id ? sel->api_id : sel->name;
}

int role_find(Store *s, MDB_txn *txn, uint64_t org, const RoleSelector *sel, Role *ret,
              const void **ret_blob, size_t *ret_len, RpcErr *err) {
        const char *by = role_selector_by(sel), *value = role_selector_value(sel);
        const void *blob;
        size_t len;
        int r;

        r = store_role_get(s, txn, org, by, value, &blob, &len);
        if (r == -ENOENT)
                return rpc_failf(err, r, by, "no such role: %s", value);
        if (r < 0)
                return r;
        r = role_decode(blob, len, ret);
        if (r < 0)
                return r == -ENOMEM ? r : -EUCLEAN;     /* a stored role that is not one */
        if (ret_blob) {
                *ret_blob = blob;
                *ret_len = len;
        }
        return 0;
}

void role_target_done(RoleTarget *t) {
        auth_done(&t->auth);
        role_selector_done(&t->sel);
}

int role_target_check(void *args, RpcErr *err) {
        return role_selector_check(&((RoleTarget *) args)->sel, err);
}

int role_target_find(Store *s, MDB_txn *txn, RoleTarget *t, Access access, uint64_t *ret_org, Role *ret,
                     const void **ret_blob, size_t *ret_len, RpcErr *err) {
        int r = auth_check(s, txn, &t->auth, t->org, access, ret_org, &err->field);
        if (r < 0)
                return r;
        return role_find(s, txn, *ret_org, &t->sel, ret, ret_blob, ret_len, err);
}

int args_parse(const ArgsSpec *spec, const msgpack_object *params, void **ret_args, RpcErr *err) {
        void *a;
        int r;

        if (spec->local_only) {
                r = refuse_auth(params, err);
                if (r < 0)
                        return r;
        }
        a = calloc(1, spec->size);
        if (!a)
                return -ENOMEM;
        if (spec->takes_fd)
                *(int *) ((char *) a + spec->fd_offset) = -1;
        r = params_parse(params, spec->table, a, NULL, &err->field);
        if (r >= 0 && spec->check)
                r = spec->check(a, err);
        if (r < 0) {
                args_free(spec, a);
                return r;
        }
        *ret_args = a;
        return 0;
}

int args_take_fd(const ArgsSpec *spec, void *args, int *fd, RpcErr *err) {
        if (!fd || *fd < 0)
                return rpc_fail(err, -EINVAL, NULL,
                                "no file descriptor came with the request: send one (SCM_RIGHTS) with its bytes");
        *(int *) ((char *) args + spec->fd_offset) = *fd;
        *fd = -1;
        return 0;
}

void args_free(const ArgsSpec *spec, void *args) {
        if (!args)
                return;
        if (spec->takes_fd) {
                int fd = *(int *) ((char *) args + spec->fd_offset);
                if (fd >= 0)
                        close(fd);
        }
        for (const ParamField *f = spec->table; f->name; f++) {
                void *p = (char *) args + f->offset;
                if (f->parse == param_str)
                        free(*(char **) p);
                else if (f->parse == param_strv)
                        strv_free(*(char ***) p);
                else if (f->parse == param_auth)
                        auth_done(p);
        }
        if (spec->done)
                spec->done(args);
        free(args);
}

int param_opt_bool(const msgpack_object *o, void *dst) {
        OptBool *b = dst;
        int r = mp_read_bool(o, &b->v);
        if (r < 0)
                return r;
        b->set = true;
        return 0;
}

int param_str_or_nil(const msgpack_object *o, void *dst) {
        return o->type == MSGPACK_OBJECT_NIL ? 0 : param_str(o, dst);
}

bool streq_null(const char *a, const char *b) {
        return a && b ? strcmp(a, b) == 0 : a == b;
}

int param_map(const msgpack_object *o, void *dst) {
        if (o->type != MSGPACK_OBJECT_MAP)
                return -EINVAL;
        *(const msgpack_object **) dst = o;
        return 0;
}

void paging_done(Paging *p) {
        free(p->after);
        p->after = NULL;
}

int paging_check(const Paging *p, uint64_t *ret_offset, size_t *ret_count, RpcErr *err) {
        uint64_t count = LIST_COUNT_DEFAULT;

        if (p->count.set) {
                if (p->count.v < 1 || p->count.v > LIST_COUNT_MAX)
                        return rpc_failf(err, -EINVAL, "count", "count must be 1 to %u", LIST_COUNT_MAX);
                count = p->count.v;
        }
        if (p->after && p->offset.set)
                return rpc_fail(err, -EINVAL, "after", "give offset or after, not both");
        if (p->after && !*p->after)
                return rpc_fail(err, -EINVAL, "after", "not a cursor returned by this method");
        *ret_offset = p->offset.set ? p->offset.v : 0;
        *ret_count = (size_t) count;
        return 0;
}

int list_params_parse(const msgpack_object *params, const ParamField table[], void *args, const Paging *paging,
                      bool local_only, uint64_t *ret_offset, size_t *ret_count, RpcErr *err) {
        int r = local_only ? refuse_auth(params, err) : 0;

        if (r >= 0)
                r = params_parse(params, table, args, NULL, &err->field);
        if (r >= 0)
                r = paging_check(paging, ret_offset, ret_count, err);
        return r;
}

int refuse_auth(const msgpack_object *params, RpcErr *err) {
        if (mp_map_get(params, "auth"))
                return rpc_fail(err, -EACCES, "auth", "provisioning is for local administrators, not REST credentials");
        return 0;
}

int check_text(const char *s, size_t max, const char *field, RpcErr *err) {
        size_t n = strlen(s);

        if (n == 0 || n > max)
                return rpc_failf(err, -EINVAL, field, "%s must be 1 to %zu bytes", field, max);
        return 0;
}

void list_begin(ListBuf *l) {
        *l = (ListBuf) { .n = 0 };
        msgpack_packer_init(&l->pk, &l->buf, buf_pack_write);
}

void list_done(ListBuf *l) {
        buf_done(&l->buf);
}

int list_end(ListBuf *l, msgpack_packer *pk) {
        int r = 0;

        if (l->buf.oom || msgpack_pack_array(pk, l->n) < 0 ||
            mp_pack_raw(pk, buf_head(&l->buf), buf_pending(&l->buf)) < 0)
                r = -ENOMEM;
        list_done(l);
        return r;
}

int pack_page(msgpack_packer *pk, const char *key, ListBuf *l, uint64_t total, const char *next) {
        int r;

        if (msgpack_pack_map(pk, next ? 3 : 2) < 0 || mp_pack_str(pk, key) < 0) {
                list_done(l);
                return -ENOMEM;
        }
        r = list_end(l, pk);
        if (r >= 0 && (mp_pack_kv_u64(pk, "total", total) < 0 || (next && mp_pack_kv_str(pk, "next", next) < 0)))
                r = -ENOMEM;
        return r;
}

static int pack_api_id(const char *api_id, size_t len, bool grants, void *userdata) {
        ListBuf *l = userdata;

        l->n++;
        return mp_pack_strn(&l->pk, api_id, len) < 0 ? -ENOMEM : 0;
}

int pack_user_roles(msgpack_packer *pk, Store *s, MDB_txn *txn, const char *user_id) {
        ListBuf l;
        int r;

        list_begin(&l);
        r = store_user_roles(s, txn, user_id, NULL, pack_api_id, &l);
        if (r < 0) {
                list_done(&l);
                return r;
        }
        return list_end(&l, pk);
}

int pack_user_and_roles(msgpack_packer *pk, Store *s, MDB_txn *txn, const char *username, const char *user_id) {
        if (msgpack_pack_map(pk, 2) < 0 || mp_pack_kv_str(pk, "user", username) < 0 || mp_pack_str(pk, "roles") < 0)
                return -ENOMEM;
        return pack_user_roles(pk, s, txn, user_id);
}

int record_change(Store *s, MDB_txn *txn, const Auth *auth, const StorePeer *peer, StoreChange *c) {
        StorePrincipal p;

        int r;

        auth_principal(auth, peer, &p);
        c->principal = &p;
        r = store_change(s, txn, c);
        c->principal = NULL;            /* p goes with this frame */
        return r;
}
