/* store-member.c: memberships, a user holding a role of its organization,
 * indexed both ways: role_members (org | seq | username -> user id: a
 * role's holders by name, for paging) and user_roles (user id | 0 | seq ->
 * role id: a user's roles, one range for an access check). Each role's
 * member count lives in its role_meta. See store.h. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "store-internal.h"

int member_key(const Store *s, Key *k, uint64_t org, uint64_t seq, const char *username) {
        size_t n = strlen(username);

        if (n == 0 || 16 + n > s->maxkey)
                return -EINVAL;
        be64_put(k->buf, org);
        be64_put(k->buf + 8, seq);
        memcpy(k->buf + 16, username, n);
        k->val = (MDB_val) { .mv_size = 16 + n, .mv_data = k->buf };
        return 0;
}

int user_roles_prefix(Key *k, const char *user_id) {
        size_t n = strlen(user_id);

        if (n == 0 || n > STORE_USER_ID_MAX)
                return -EINVAL;
        memcpy(k->buf, user_id, n);
        k->buf[n] = 0;          /* ends the id: no id is a prefix of another here */
        k->val = (MDB_val) { .mv_size = n + 1, .mv_data = k->buf };
        return 0;
}

int user_role_key(Key *k, const char *user_id, uint64_t seq) {
        int r = user_roles_prefix(k, user_id);
        if (r < 0)
                return r;
        be64_put(k->buf + k->val.mv_size, seq);
        k->val.mv_size += 8;
        return 0;
}

/* A stored id (not NUL-terminated) copied into buf, or -EUCLEAN. */
static int id_copy(const MDB_val *v, char *buf, size_t size) {
        if (v->mv_size == 0 || v->mv_size >= size || memchr(v->mv_data, 0, v->mv_size))
                return -EUCLEAN;
        memcpy(buf, v->mv_data, v->mv_size);
        buf[v->mv_size] = 0;
        return 0;
}

/* The role and the user of a membership, and its two keys. */
typedef struct Membership {
        MDB_val role_id;
        StoreRoleInfo role;
        StoredUser user;
        Key by_role, by_user;
} Membership;

static void membership_done(Membership *m) {
        stored_user_done(&m->user);
}

static int membership(Store *s, MDB_txn *txn, const char *role_id, const char *user_id, Membership *m,
                      const char **reterr_field) {
        const char *field = "role";
        int r;

        r = role_meta_find(s, txn, role_id, ROLE_ANY_ORG, &m->role_id, &m->role);
        if (r >= 0) {
                field = "user";
                r = store_user_get(s, txn, user_id, &m->user);
        }
        if (r >= 0 && m->user.org != m->role.org)
                r = -EINVAL;
        if (r >= 0)
                r = member_key(s, &m->by_role, m->role.org, m->role.seq, m->user.username);
        if (r >= 0)
                r = user_role_key(&m->by_user, user_id, m->role.seq);
        if (r < 0 && reterr_field)
                *reterr_field = field;
        return r;
}

static int members_add(Store *s, MDB_txn *txn, Membership *m, int delta) {
        if (delta < 0 && m->role.members == 0)
                return -EUCLEAN;
        m->role.members += (uint64_t) (int64_t) delta;
        return role_meta_put(s, txn, &m->role_id, &m->role);
}

int store_member_add(Store *s, MDB_txn *txn, const char *role_id, const char *user_id, const char **reterr_field) {
        _cleanup_(membership_done) Membership m = { 0 };
        int r;

        if (reterr_field)
                *reterr_field = NULL;
        r = membership(s, txn, role_id, user_id, &m, reterr_field);
        if (r < 0)
                return r;
        r = store_absent(txn, s->role_members, &m.by_role.val);
        if (r < 0)
                return r;
        r = store_put(s, txn, s->role_members, &m.by_role.val, user_id, strlen(user_id), MDB_NOOVERWRITE);
        if (r >= 0)
                r = store_put(s, txn, s->user_roles, &m.by_user.val, m.role_id.mv_data, m.role_id.mv_size,
                              MDB_NOOVERWRITE);
        if (r >= 0)
                r = members_add(s, txn, &m, +1);
        return r == -EEXIST ? -EUCLEAN : r;     /* one index had it, the other not */
}

int store_member_remove(Store *s, MDB_txn *txn, const char *role_id, const char *user_id) {
        _cleanup_(membership_done) Membership m = { 0 };
        MDB_val v;
        int r;

        r = membership(s, txn, role_id, user_id, &m, NULL);
        if (r == -EINVAL)
                return -ENOENT;         /* a user of another organization holds none of its roles */
        if (r < 0)
                return r;
        r = store_get(txn, s->role_members, &m.by_role.val, &v);
        if (r < 0)
                return r;
        r = store_del(s, txn, s->role_members, &m.by_role.val);
        if (r >= 0)
                r = store_del(s, txn, s->user_roles, &m.by_user.val);
        if (r >= 0)
                r = members_add(s, txn, &m, -1);
        return r == -ENOENT ? -EUCLEAN : r;
}

int store_member_held(Store *s, MDB_txn *txn, const char *role_id, const char *user_id) {
        _cleanup_(membership_done) Membership m = { 0 };
        MDB_val v;
        int r;

        r = membership(s, txn, role_id, user_id, &m, NULL);
        if (r == -EINVAL || r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = store_get(txn, s->role_members, &m.by_role.val, &v);
        return r == -ENOENT ? 0 : r < 0 ? r : 1;
}

typedef struct MemberPage {
        StoreMemberVisit visit;
        void *userdata;
} MemberPage;

/* A role_members entry: org | seq | username -> user id. */
static int member_page_each(const MDB_val *k, const MDB_val *v, void *userdata) {
        MemberPage *p = userdata;
        char username[STORE_KEY_BUF + 1], user_id[STORE_USER_ID_MAX + 1];
        MDB_val name = { .mv_size = k->mv_size - 16, .mv_data = (uint8_t *) k->mv_data + 16 };
        int r = id_copy(&name, username, sizeof username);

        if (r >= 0)
                r = id_copy(v, user_id, sizeof user_id);
        return r < 0 ? r : p->visit(user_id, username, p->userdata);
}

int store_member_list(Store *s, MDB_txn *txn, const char *role_id, const char *after, uint64_t offset,
                      size_t limit, StoreMemberVisit visit, void *userdata, bool *ret_more) {
        StoreRoleInfo info;
        MDB_val id, prefix;
        Key start;
        int r;

        r = role_meta_find(s, txn, role_id, ROLE_ANY_ORG, &id, &info);
        if (r < 0)
                return r;
        if (after && *after) {
                if (member_key(s, &start, info.org, info.seq, after) < 0)
                        return -EINVAL;
        } else {
                be64_put(start.buf, info.org);
                be64_put(start.buf + 8, info.seq);
                start.val = (MDB_val) { .mv_size = 16, .mv_data = start.buf };
        }
        prefix = (MDB_val) { .mv_size = 16, .mv_data = start.buf };
        return store_page(txn, s->role_members, &prefix, &start.val, after && *after, offset, limit, member_page_each,
                          &(MemberPage) { .visit = visit, .userdata = userdata }, ret_more);
}

typedef struct UserRolesPage {
        Store *store;
        MDB_txn *txn;
        const char *permission;
        StoreUserRoleVisit visit;
        void *userdata;
} UserRolesPage;

/* A user_roles entry: user id | 0 | seq -> role id, whose ACL answers. */
static int user_roles_each(const MDB_val *k, const MDB_val *v, void *userdata) {
        UserRolesPage *p = userdata;
        const char *api;
        size_t api_len;
        bool grants;
        int r = role_acl_read(p->store, p->txn, v, p->permission, &api, &api_len, &grants);

        return r < 0 ? r : p->visit(api, api_len, grants, p->userdata);
}

int store_user_roles(Store *s, MDB_txn *txn, const char *user_id, const char *permission,
                     StoreUserRoleVisit visit, void *userdata) {
        Key prefix;

        if (user_roles_prefix(&prefix, user_id) < 0)
                return 0;       /* no such id: no roles */
        return store_page(txn, s->user_roles, &prefix.val, &prefix.val, false, 0, SIZE_MAX, user_roles_each,
                          &(UserRolesPage) { .store = s, .txn = txn, .permission = permission, .visit = visit,
                                             .userdata = userdata }, NULL);
}

/* Removes every entry of dbi under prefix, calling each(k, v) before it
 * goes. Seeks the prefix again after each removal (a cursor's position
 * after a delete is not worth relying on): O(log n) per entry. */
static int remove_range(Store *s, MDB_txn *txn, MDB_dbi dbi, const MDB_val *prefix,
                        int (*each)(Store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *userdata),
                        void *userdata, uint64_t *ret_n) {
        _cleanup_(cursor_closep) MDB_cursor *c = NULL;
        uint64_t n = 0;
        int r;

        r = store_errno(mdb_cursor_open(txn, dbi, &c));
        if (r < 0)
                return r;
        for (;;) {
                MDB_val k = *prefix, v;
                r = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
                if (r == MDB_NOTFOUND || (r == MDB_SUCCESS && !store_has_prefix(&k, prefix)))
                        break;
                if (r != MDB_SUCCESS)
                        return store_errno(r);
                r = each(s, txn, &k, &v, userdata);
                if (r < 0)
                        return r;
                s->writes++;
                r = store_errno(mdb_cursor_del(c, 0));
                if (r < 0)
                        return r;
                n++;
        }
        if (ret_n)
                *ret_n = n;
        return 0;
}

typedef struct UserRemoval {
        uint64_t org;
        const char *username;
} UserRemoval;

/* One of a user's roles (user_roles entry k -> role id v): its
 * role_members entry and one member of its count go. */
static int remove_user_role(Store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *userdata) {
        const UserRemoval *u = userdata;
        StoreRoleInfo info;
        Key mk;
        int r;

        if (k->mv_size < 9)
                return -EUCLEAN;
        r = role_meta_get(s, txn, v, &info);
        if (r < 0)
                return r == -ENOENT ? -EUCLEAN : r;
        if (info.org != u->org || info.seq != be64_get((const uint8_t *) k->mv_data + k->mv_size - 8) ||
            info.members == 0)
                return -EUCLEAN;
        r = member_key(s, &mk, u->org, info.seq, u->username);
        if (r >= 0)
                r = store_del(s, txn, s->role_members, &mk.val);
        if (r == -ENOENT)
                return -EUCLEAN;
        info.members--;
        return r < 0 ? r : role_meta_put(s, txn, v, &info);
}

int member_remove_user(Store *s, MDB_txn *txn, const char *user_id, uint64_t org, const char *username) {
        Key prefix;
        int r = user_roles_prefix(&prefix, user_id);
        if (r < 0)
                return r;
        return remove_range(s, txn, s->user_roles, &prefix.val, remove_user_role,
                            &(UserRemoval) { .org = org, .username = username }, NULL);
}

/* One holder of a role being deleted (role_members entry k -> user id v):
 * its user_roles entry goes. */
static int remove_role_member(Store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *userdata) {
        char user_id[STORE_USER_ID_MAX + 1];
        Key uk;
        int r = id_copy(v, user_id, sizeof user_id);

        if (r >= 0)
                r = user_role_key(&uk, user_id, be64_get((const uint8_t *) k->mv_data + 8));
        if (r >= 0)
                r = store_del(s, txn, s->user_roles, &uk.val);
        return r == -ENOENT || r == -EINVAL ? -EUCLEAN : r;
}

int member_remove_role(Store *s, MDB_txn *txn, uint64_t org, uint64_t seq, uint64_t *ret_n) {
        uint8_t kb[16];
        MDB_val prefix = key_seq(kb, org, seq);

        return remove_range(s, txn, s->role_members, &prefix, remove_role_member, NULL, ret_n);
}
