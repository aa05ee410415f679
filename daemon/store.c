/* store.c: the LMDB environment (see store.h for the layout): opening it
 * and its named databases, the first start's transaction (or the
 * migration of an older schema), transactions and the reader gate that
 * lets store_grow remap while no read transaction is open, LMDB's results
 * as errno, the database's revision and the recording of changes, and the
 * keys, puts, deletes and record fields the store's other files share
 * (store-internal.h). Never logs: every failure is a negative errno for
 * the caller to report. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "limits.h"
#include "store-internal.h"

#define STORE_SCHEMA_VERSION 2u
#define STORE_MAX_DBS 32u              /* named databases: 18 today */
#define STORE_LOCK_FILE "rolesd.lock"

/* The one place LMDB results become errno. */
int store_errno(int r) {
        switch (r) {
        case MDB_SUCCESS:
                return 0;
        case MDB_NOTFOUND:
                return -ENOENT;
        case MDB_KEYEXIST:
                return -EEXIST;
        case MDB_MAP_FULL:
        case MDB_TXN_FULL:
                return -ENOSPC;
        case MDB_CORRUPTED:
        case MDB_PAGE_NOTFOUND:
        case MDB_INVALID:
        case MDB_VERSION_MISMATCH:
                return -EUCLEAN;
        case MDB_READERS_FULL:
                return -EBUSY;
        }
        /* A system errno (EIO, ENOSPC, EACCES, ...), except those that mean
         * protected, in use, conflict and compacted on the wire (proto/rpc.h): a file
         * system gone read-only is a storage failure, not a protected role. */
        if (r == EROFS || r == ENOTEMPTY || r == ESTALE || r == EIDRM)
                return -EIO;
        if (r > 0)
                return -r;
        return -EIO;
}

/* ---- keys ---- */

void store_key_index(const Store *s, Key *k, bool with_org, uint64_t org, const char *text) {
        size_t len = strlen(text), n = 0;

        if (with_org) {
                be64_put(k->buf, org);
                n = 8;
        }
        if (n + len <= s->maxkey) {
                memcpy(k->buf + n, text, len);
                n += len;
        } else {
                k->buf[n++] = 0xff;
                crypto_generichash(k->buf + n, crypto_generichash_BYTES,
                                   (const unsigned char *) text, len, NULL, 0);
                n += crypto_generichash_BYTES;
        }
        k->val = (MDB_val) { .mv_size = n, .mv_data = k->buf };
}

int store_key_text(const Store *s, MDB_val *k, const char *text) {
        size_t len = text ? strlen(text) : 0;
        if (len == 0 || len > s->maxkey)
                return -EINVAL;
        *k = (MDB_val) { .mv_size = len, .mv_data = (void *) text };
        return 0;
}

/* ---- records ---- */

int store_put(Store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k, const void *p, size_t n, unsigned flags) {
        MDB_val v = { .mv_size = n, .mv_data = (void *) p };
        s->writes++;
        return store_errno(mdb_put(txn, dbi, k, &v, flags));
}

int store_del(Store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k) {
        s->writes++;
        return store_errno(mdb_del(txn, dbi, k, NULL));
}

int store_absent(MDB_txn *txn, MDB_dbi dbi, MDB_val *k) {
        MDB_val v;
        int r = store_get(txn, dbi, k, &v);
        return r >= 0 ? -EEXIST : r == -ENOENT ? 0 : r;
}

int store_page(MDB_txn *txn, MDB_dbi dbi, const MDB_val *prefix, const MDB_val *start, bool after, uint64_t offset,
               size_t limit, StorePageEach each, void *userdata, bool *ret_more) {
        _cleanup_(cursor_closep) MDB_cursor *c = NULL;
        MDB_val k = *start, v;
        int r;

        r = store_errno(mdb_cursor_open(txn, dbi, &c));
        if (r < 0)
                return r;
        r = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (r == MDB_SUCCESS && after && k.mv_size == start->mv_size && memcmp(k.mv_data, start->mv_data, k.mv_size) == 0)
                r = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        for (uint64_t i = 0; r == MDB_SUCCESS && store_has_prefix(&k, prefix) && i < offset; i++)
                r = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        for (size_t n = 0; r == MDB_SUCCESS && store_has_prefix(&k, prefix) && n < limit; n++) {
                int q = each(&k, &v, userdata);
                if (q < 0)
                        return q;
                r = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        }
        if (r != MDB_SUCCESS && r != MDB_NOTFOUND)
                return store_errno(r);
        if (ret_more)
                *ret_more = r == MDB_SUCCESS && store_has_prefix(&k, prefix);
        return 0;
}

int store_field_opt_str(const msgpack_object *map, const char *key, char **ret) {
        const msgpack_object *o = mp_map_get(map, key);
        *ret = NULL;
        if (!o || o->type == MSGPACK_OBJECT_NIL)
                return 0;
        return store_decoded(mp_read_str(o, ret));
}

int store_field_str(const msgpack_object *map, const char *key, char **ret) {
        const msgpack_object *o = mp_map_get(map, key);
        *ret = NULL;
        return store_decoded(o ? mp_read_str(o, ret) : -EINVAL);
}

int store_field_u64(const msgpack_object *map, const char *key, uint64_t *ret) {
        const msgpack_object *o = mp_map_get(map, key);
        if (!o || mp_read_u64(o, ret) < 0)
                return -EUCLEAN;
        return 0;
}

int store_field_hash(const msgpack_object *map, uint8_t ret[static 32]) {
        const msgpack_object *o = mp_map_get(map, "hash");
        if (!o || o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != 32)
                return -EUCLEAN;
        memcpy(ret, o->via.bin.ptr, 32);
        return 0;
}

/* ---- meta ---- */

int store_meta_get_u64(Store *s, MDB_txn *txn, const char *name, uint64_t *ret) {
        MDB_val k = { .mv_size = strlen(name), .mv_data = (void *) name }, v;
        int r = store_get(txn, s->meta, &k, &v);
        if (r < 0)
                return r;
        if (v.mv_size != 8)
                return -EUCLEAN;
        *ret = be64_get(v.mv_data);
        return 0;
}

int store_meta_put_u64(Store *s, MDB_txn *txn, const char *name, uint64_t val) {
        MDB_val k = { .mv_size = strlen(name), .mv_data = (void *) name };
        uint8_t b[8];
        be64_put(b, val);
        return store_put(s, txn, s->meta, &k, b, sizeof b, 0);
}

int store_meta_add(Store *s, MDB_txn *txn, const char *name, int64_t delta) {
        uint64_t v = 0;
        int r = store_meta_get_u64(s, txn, name, &v);
        if (r < 0 && r != -ENOENT)
                return r;
        if (delta < 0 && v < (uint64_t) -delta)
                return -EUCLEAN;        /* a count below zero: it was not what we wrote */
        return store_meta_put_u64(s, txn, name, v + (uint64_t) delta);
}

int store_stats(Store *s, MDB_txn *txn, uint64_t *ret_orgs, uint64_t *ret_roles) {
        MDB_stat st;
        uint64_t roles = 0;
        int r;

        r = store_errno(mdb_stat(txn, s->orgs, &st));
        if (r < 0)
                return r;
        r = store_meta_get_u64(s, txn, "roles", &roles);
        if (r < 0 && r != -ENOENT)
                return r;
        if (ret_orgs)
                *ret_orgs = st.ms_entries;
        if (ret_roles)
                *ret_roles = roles;
        return 0;
}

/* ---- revisions and changes ---- */

int store_revision(Store *s, MDB_txn *txn, uint64_t *ret) {
        int r = store_meta_get_u64(s, txn, "revision", ret);
        if (r == -ENOENT) {
                *ret = 0;
                r = 0;
        }
        return r;
}

int store_revision_next(Store *s, MDB_txn *txn, uint64_t *ret) {
        uint64_t rev;
        int r = store_revision(s, txn, &rev);
        if (r < 0)
                return r;
        if (rev == UINT64_MAX)
                return -EOVERFLOW;
        *ret = rev + 1;
        return 0;
}

int store_change(Store *s, MDB_txn *txn, const StoreChange *c) {
        uint64_t next;
        int r;

        if (!c->principal || (!c->before && !c->after))
                return -EINVAL;
        r = store_revision_next(s, txn, &next);
        if (r < 0)
                return r;
        if (c->revision != next)
                return -EINVAL;
        if (!s->no_change_log) {
                r = change_log_append(s, txn, c);
                if (r < 0)
                        return r;
        }
        r = store_meta_put_u64(s, txn, "revision", next);
        if (r < 0)
                return r;
        if (s->changed)
                s->changed(c, s->changed_userdata);
        return 0;
}

/* ---- transactions ---- */

static void gate_leave(Store *s) {
        pthread_mutex_lock(&s->lock);
        if (--s->readers == 0)
                pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
}

static void gate_enter(Store *s) {
        pthread_mutex_lock(&s->lock);
        while (s->growing)
                pthread_cond_wait(&s->cond, &s->lock);
        s->readers++;
        pthread_mutex_unlock(&s->lock);
}

int store_read_begin(Store *s, MDB_txn **ret) {
        int r;

        gate_enter(s);
        r = store_errno(mdb_txn_begin(s->env, NULL, MDB_RDONLY, ret));
        if (r < 0) {
                *ret = NULL;
                gate_leave(s);
        }
        return r;
}

void store_read_end(Store *s, MDB_txn *txn) {
        if (!txn)
                return;
        mdb_txn_abort(txn);
        gate_leave(s);
}

int store_read_renew(Store *s, MDB_txn **txn) {
        int r;

        if (!*txn)
                return store_read_begin(s, txn);
        gate_enter(s);
        r = store_errno(mdb_txn_renew(*txn));
        if (r < 0)
                gate_leave(s);
        return r;
}

void store_read_reset(Store *s, MDB_txn *txn) {
        if (!txn)
                return;
        mdb_txn_reset(txn);
        gate_leave(s);
}

int store_write_begin(Store *s, MDB_txn **ret) {
        int r = store_errno(mdb_txn_begin(s->env, NULL, 0, ret));
        if (r < 0)
                *ret = NULL;
        return r;
}

int store_write_commit(Store *s, MDB_txn *txn) {
        uint64_t revision = 0;
        int r;

        r = store_revision(s, txn, &revision);
        if (r < 0) {
                mdb_txn_abort(txn);
                return r;
        }
        r = store_errno(mdb_txn_commit(txn));
        if (r >= 0)
                __atomic_store_n(&s->committed_revision, revision, __ATOMIC_RELEASE);
        return r;
}

int store_nested_begin(Store *s, MDB_txn *parent, StoreNested *ret) {
        int r = store_errno(mdb_txn_begin(s->env, parent, 0, &ret->txn));

        if (r < 0)
                ret->txn = NULL;
        ret->writes = s->writes;
        return r;
}

int store_nested_commit(Store *s, StoreNested *n) {
        int r = store_errno(mdb_txn_commit(n->txn));

        n->txn = NULL;
        if (r < 0)      /* the child is gone, and with it what it wrote */
                s->writes = n->writes;
        return r;
}

void store_nested_abort(Store *s, StoreNested *n) {
        if (!n->txn)
                return;
        mdb_txn_abort(n->txn);
        n->txn = NULL;
        s->writes = n->writes;  /* nothing of it stayed */
}

int store_backup(Store *s, int fd, uint64_t *ret_revision, uint64_t *ret_bytes) {
        MDB_txn *txn = NULL;
        off_t start, end;
        int r;

        start = lseek(fd, 0, SEEK_CUR);
        if (start < 0)
                return -errno;
        /* Our read transaction holds the gate for the whole copy (the
         * copy's own transaction is not LMDB's only one in this process:
         * MDB_NOTLS), so no remap happens under it. It began before the
         * copy's: everything up to its revision is in the copy. */
        r = store_read_begin(s, &txn);
        if (r < 0)
                return r;
        r = store_revision(s, txn, ret_revision);
        if (r >= 0)
                r = store_errno(mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT));
        store_read_end(s, txn);
        if (r < 0)
                return r;
        if (fsync(fd) < 0)
                return -errno;
        end = lseek(fd, 0, SEEK_CUR);
        if (end < 0)
                return -errno;
        *ret_bytes = (uint64_t) (end - start);
        return 0;
}

uint64_t store_committed_revision(Store *s) {
        return __atomic_load_n(&s->committed_revision, __ATOMIC_ACQUIRE);
}

void store_write_abort(Store *s, MDB_txn *txn) {
        if (txn)
                mdb_txn_abort(txn);
}

uint64_t store_writes(const Store *s) {
        return s->writes;
}

size_t store_mapsize(Store *s) {
        size_t n;
        pthread_mutex_lock(&s->lock);
        n = s->mapsize;
        pthread_mutex_unlock(&s->lock);
        return n;
}

int store_grow(Store *s) {
        MDB_envinfo info;
        int r;

        pthread_mutex_lock(&s->lock);
        while (s->growing)              /* one grower at a time (there is one writer anyway) */
                pthread_cond_wait(&s->cond, &s->lock);
        s->growing = true;
        while (s->readers > 0)
                pthread_cond_wait(&s->cond, &s->lock);

        r = store_errno(mdb_env_info(s->env, &info));
        if (r >= 0) {
                if (info.me_mapsize > SIZE_MAX / 2)
                        r = -ENOSPC;
                else
                        r = store_errno(mdb_env_set_mapsize(s->env, info.me_mapsize * 2));
        }
        if (r >= 0)
                r = store_errno(mdb_env_info(s->env, &info));
        if (r >= 0)
                s->mapsize = info.me_mapsize;

        s->growing = false;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        return r;
}

/* ---- open, close ---- */

/* Opens every named database, and fills a new database, in one transaction. */
static int store_init(Store *s, const StoreOptions *opts) {
        static const struct {
                const char *name;
                size_t offset;
        } dbs[] = {
                { "meta", offsetof(Store, meta) },
                { "orgs", offsetof(Store, orgs) },
                { "roles", offsetof(Store, roles) },
                { "role_meta", offsetof(Store, role_meta) },
                { "role_acl", offsetof(Store, role_acl) },
                { "role_api", offsetof(Store, role_api) },
                { "role_name", offsetof(Store, role_name) },
                { "role_seq", offsetof(Store, role_seq) },
                { "role_buckets", offsetof(Store, role_buckets) },
                { "catalogs", offsetof(Store, catalogs) },
                { "perms", offsetof(Store, perms) },
                { "keys", offsetof(Store, keys) },
                { "users", offsetof(Store, users) },
                { "usernames", offsetof(Store, usernames) },
                { "role_members", offsetof(Store, role_members) },
                { "user_roles", offsetof(Store, user_roles) },
                { "changes", offsetof(Store, changes) },
                { "changes_org", offsetof(Store, changes_org) },
        };
        _cleanup_(txn_abortp) MDB_txn *txn = NULL;
        uint64_t version = 0;
        int r;

        r = store_write_begin(s, &txn);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(dbs); i++) {
                r = store_errno(mdb_dbi_open(txn, dbs[i].name, MDB_CREATE,
                                             (MDB_dbi *) ((uint8_t *) s + dbs[i].offset)));
                if (r < 0)
                        return r;
        }

        r = store_meta_get_u64(s, txn, "version", &version);
        if (r == -ENOENT) {
                r = store_meta_put_u64(s, txn, "revision", 0);
                if (r >= 0 && opts && opts->seed)
                        r = opts->seed(s, txn, opts->seed_userdata);
        } else if (r >= 0 && version == 1) {
                r = store_migrate_v1(s, txn);   /* in this transaction: all of it, or none */
                if (r >= 0 && opts && opts->migrated)
                        r = opts->migrated(s, txn, opts->seed_userdata);
        }
        else if (r >= 0 && version != STORE_SCHEMA_VERSION)
                r = -EPROTONOSUPPORT;
        if (r >= 0 && version != STORE_SCHEMA_VERSION)
                r = store_meta_put_u64(s, txn, "version", STORE_SCHEMA_VERSION);
        if (r < 0)
                return r;
        r = store_changes_last_time(s, txn, &s->change_time_ms);
        if (r < 0)
                return r;

        return store_write_commit(s, TAKE_PTR(txn));
}

/* After open: the map is at least the size recorded in the environment
 * (it may have grown in an earlier run), the file, and what was asked. */
static int store_fit_map(Store *s, const char *dir, size_t want) {
        _cleanup_free_ char *path = NULL;
        MDB_envinfo info;
        struct stat st;
        int r;

        r = store_errno(mdb_env_set_mapsize(s->env, 0));
        if (r < 0)
                return r;

        if (asprintf(&path, "%s/data.mdb", dir) < 0)
                return -ENOMEM;
        if (stat(path, &st) < 0)
                return negative_errno();
        if ((uint64_t) st.st_size > want)
                want = (size_t) st.st_size;

        r = store_errno(mdb_env_info(s->env, &info));
        if (r < 0)
                return r;
        if (info.me_mapsize < want)
                r = store_errno(mdb_env_set_mapsize(s->env, want));
        return r;
}

/* mkdir -p: the missing parents of dir with mode 0755, dir itself with
 * 0700 (both less the umask). */
static int mkdir_parents(const char *dir) {
        _cleanup_free_ char *p = strdup(dir);
        size_t n;

        if (!p)
                return -ENOMEM;
        n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
                p[--n] = 0;
        for (char *c = p + 1; *c; c++) {
                if (*c != '/' || c[-1] == '/')
                        continue;
                *c = 0;
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                *c = '/';
        }
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

static char *lock_path(const char *dir) {
        char *p;
        return asprintf(&p, "%s/" STORE_LOCK_FILE, dir) < 0 ? NULL : p;
}

/* One process at a time opens an environment: an exclusive flock on
 * dir/rolesd.lock, held while the store is open (the kernel drops it when
 * the process dies, however it dies). Our pid goes into the file, for
 * the message of the one refused. -EBUSY when another process holds it. */
static int lock_dir(const char *dir, int *ret_fd) {
        _cleanup_free_ char *path = lock_path(dir);
        _cleanup_close_ int fd = -1;
        char pid[24];
        int n;

        if (!path)
                return -ENOMEM;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : negative_errno();
        n = snprintf(pid, sizeof pid, "%d\n", (int) getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t) n, 0) != n) {
                /* only the message of a refused daemon would miss it */
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int store_lock_owner(const char *dir, pid_t *ret) {
        _cleanup_free_ char *path = lock_path(dir);
        _cleanup_close_ int fd = -1;
        char buf[24] = "";
        ssize_t n;
        int pid;

        if (!path)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, sizeof buf - 1);
        if (n <= 0 || sscanf(buf, "%d", &pid) != 1 || pid <= 0)
                return -ENODATA;
        *ret = (pid_t) pid;
        return 0;
}

int store_open(const char *dir, const StoreOptions *opts, Store **ret) {
        size_t mapsize = opts && opts->initial_mapsize ? opts->initial_mapsize : STORE_MAPSIZE_DEFAULT;
        unsigned flags = MDB_NOTLS | (opts && opts->nosync ? MDB_NOSYNC : 0);
        MDB_envinfo info;
        Store *s;
        int dead, r;

        if (sodium_init() < 0)
                return -EIO;
        r = mkdir_parents(dir);
        if (r < 0)
                return r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->lock_fd = -1;
        s->changed = opts ? opts->changed : NULL;
        s->changed_userdata = opts ? opts->changed_userdata : NULL;
        s->no_change_log = opts && opts->no_change_log;
        msgpack_sbuffer_init(&s->change_buf);
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->cond, NULL);
        r = lock_dir(dir, &s->lock_fd);
        if (r < 0)
                goto fail;

        r = store_errno(mdb_env_create(&s->env));
        if (r < 0) {
                s->env = NULL;
                goto fail;
        }
        r = store_errno(mdb_env_set_maxdbs(s->env, STORE_MAX_DBS));
        if (r >= 0)
                r = store_errno(mdb_env_set_maxreaders(s->env, STORE_MAX_READERS));
        if (r >= 0)
                r = store_errno(mdb_env_set_mapsize(s->env, mapsize));
        if (r >= 0)
                r = store_errno(mdb_env_open(s->env, dir, flags, 0600));
        if (r >= 0)
                r = store_fit_map(s, dir, mapsize);
        if (r >= 0)
                r = store_errno(mdb_reader_check(s->env, &dead));
        if (r >= 0)
                r = store_errno(mdb_env_info(s->env, &info));
        if (r < 0)
                goto fail;
        s->mapsize = info.me_mapsize;

        s->maxkey = (size_t) mdb_env_get_maxkeysize(s->env);
        if (s->maxkey > STORE_KEY_BUF)
                s->maxkey = STORE_KEY_BUF;
        if (s->maxkey < 8 + STORE_HASH_KEY_LEN) {
                r = -EINVAL;
                goto fail;
        }

        for (;;) {
                r = store_init(s, opts);
                if (r != -ENOSPC)
                        break;
                r = store_grow(s);
                if (r < 0)
                        break;
        }
        if (r < 0)
                goto fail;

        *ret = s;
        return 0;

fail:
        store_close(s);
        return r;
}

Store *store_close(Store *s) {
        if (!s)
                return NULL;
        if (s->env)
                mdb_env_close(s->env);
        if (s->lock_fd >= 0)
                close(s->lock_fd);      /* after the environment: then another may open it */
        msgpack_sbuffer_destroy(&s->change_buf);
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
}
