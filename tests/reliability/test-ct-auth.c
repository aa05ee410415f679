/* test-ct-auth.c: a wrong credential costs what a right one does to
 * compare. Two parts:
 *  1. the mechanism (exact): auth_check() is linked with crypto_verify_32
 *     and crypto_generichash_update wrapped (-Wl,--wrap); for a right key,
 *     a key wrong in its first or last secret digit, a key of an unknown
 *     id, a key of the wrong shape, and the same for workspace tokens,
 *     each check makes exactly one crypto_verify_32 call on 32-byte
 *     digests and hashes one BLAKE2b block's worth (<= 128 bytes), so the
 *     work before the verdict does not depend on where the secret differs;
 *  2. a statistical sanity check (generous): interleaved timings of
 *     keys wrong in the first and in the last secret digit have medians
 *     within a factor of 2 of each other and of a right key's. Timing on a
 *     shared 2-core box is noisy; this would only catch a gross early-exit
 *     comparison, part 1 is the real assertion. */
#include <errno.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/auth.h"
#include "daemon/seed.h"
#include "daemon/store.h"

#define check(x)                                                                        \
        do {                                                                            \
                if (!(x)) {                                                             \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x); \
                        exit(EXIT_FAILURE);                                             \
                }                                                                       \
        } while (0)

static unsigned verify_calls;
static size_t hashed_bytes;

int __real_crypto_verify_32(const unsigned char *x, const unsigned char *y);
int __wrap_crypto_verify_32(const unsigned char *x, const unsigned char *y);
int __wrap_crypto_verify_32(const unsigned char *x, const unsigned char *y) {
        verify_calls++;
        return __real_crypto_verify_32(x, y);
}

int __real_crypto_generichash_update(crypto_generichash_state *st, const unsigned char *in,
                                     unsigned long long n);
int __wrap_crypto_generichash_update(crypto_generichash_state *st, const unsigned char *in,
                                     unsigned long long n);
int __wrap_crypto_generichash_update(crypto_generichash_state *st, const unsigned char *in,
                                     unsigned long long n) {
        hashed_bytes += n;
        return __real_crypto_generichash_update(st, in, n);
}

static char dir[] = "/tmp/test-ct-auth-XXXXXX";
static Store *store;

static int rm_one(const char *p, const struct stat *st, int f, struct FTW *w) {
        return remove(p);
}

static int run_check(Auth *a, uint64_t org) {
        MDB_txn *txn;
        uint64_t eff;
        const char *field = NULL;
        int r;

        check(store_read_begin(store, &txn) == 0);
        r = auth_check(store, txn, a, (OptU64) { .set = true, .v = org }, ACCESS_READ, &eff, &field);
        store_read_end(store, txn);
        return r;
}

static void mechanism(const char *what, Auth *a, uint64_t org, int expect) {
        verify_calls = 0;
        hashed_bytes = 0;
        int r = run_check(a, org);
        if (r != expect || verify_calls != 1 || hashed_bytes > 128) {
                fprintf(stderr, "%s: r=%d (want %d), crypto_verify_32 calls=%u (want 1), hashed %zu bytes\n",
                        what, r, expect, verify_calls, hashed_bytes);
                exit(EXIT_FAILURE);
        }
        printf("ok: %-40s verdict %d, 1 constant-time comparison, %zu bytes hashed\n", what, r, hashed_bytes);
}

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

#define SAMPLES 20000

int main(void) {
        MDB_txn *txn;
        StoredKey k = { .user_role = (char *) "ORG_ADMIN", .has_org = true, .org = 1 };
        StoredUser u = { .username = (char *) "alice" };
        char *key = NULL, *uid = NULL, *token = NULL;
        const char *field = NULL;

        check(sodium_init() >= 0);
        check(mkdtemp(dir));
        check(store_open(dir, &(StoreOptions) { .nosync = true, .seed = seed_workspace }, &store) == 0);
        check(store_write_begin(store, &txn) == 0);
        check(seed_org(store, txn, &(StoredOrg) { .id = 1 }, 0, 0) == 0);
        check(auth_key_new(store, txn, &k, &key) == 0);
        check(auth_user_new(store, txn, &u, &uid, &token, &field) == 0);
        check(store_member_add(store, txn, "admin", uid, &field) == 0);
        check(store_write_commit(store, txn) == 0);

        char first[81], last[81], unknown[81];
        strcpy(first, key);
        first[16] = first[16] == '0' ? '1' : '0';
        strcpy(last, key);
        last[79] = last[79] == '0' ? '1' : '0';
        strcpy(unknown, key);
        unknown[0] = unknown[0] == '0' ? '1' : '0';
        char tok_bad[64];
        snprintf(tok_bad, sizeof tok_bad, "%s", token);
        tok_bad[0] = tok_bad[0] == 'A' ? 'B' : 'A';

        Auth right = { .present = true, .api_key = key };
        Auth wrong_first = { .present = true, .api_key = first };
        Auth wrong_last = { .present = true, .api_key = last };
        Auth wrong_id = { .present = true, .api_key = unknown };
        Auth shape = { .present = true, .api_key = (char *) "short" };
        Auth empty = { .present = true, .api_key = (char *) "" };
        Auth user_right = { .present = true, .user_id = uid, .token = token };
        Auth user_wrong = { .present = true, .user_id = uid, .token = tok_bad };
        Auth user_unknown = { .present = true, .user_id = (char *) "NoSuchUser1234567", .token = token };

        mechanism("right API key", &right, 1, 0);
        mechanism("API key wrong in its first secret digit", &wrong_first, 1, -EKEYREJECTED);
        mechanism("API key wrong in its last digit", &wrong_last, 1, -EKEYREJECTED);
        mechanism("API key of an unknown id", &wrong_id, 1, -EKEYREJECTED);
        mechanism("API key of the wrong shape", &shape, 1, -EKEYREJECTED);
        mechanism("empty API key", &empty, 1, -EKEYREJECTED);
        mechanism("right user token", &user_right, 0, 0);
        mechanism("wrong user token", &user_wrong, 0, -EKEYREJECTED);
        mechanism("unknown user id", &user_unknown, 0, -EKEYREJECTED);

        /* Statistical sanity check, interleaved so drift hits all alike. */
        static uint64_t t[3][SAMPLES];
        Auth *which[3] = { &right, &wrong_first, &wrong_last };
        for (unsigned i = 0; i < SAMPLES; i++)
                for (unsigned j = 0; j < 3; j++) {
                        Auth *a = which[(i + j) % 3];
                        uint64_t t0 = now_ns();
                        (void) run_check(a, 1);
                        t[(i + j) % 3][i] = now_ns() - t0;
                }
        uint64_t med[3];
        for (unsigned j = 0; j < 3; j++) {
                qsort(t[j], SAMPLES, sizeof(uint64_t), cmp_u64);
                med[j] = t[j][SAMPLES / 2];
        }
        printf("median ns: right %llu, wrong first digit %llu, wrong last digit %llu\n",
               (unsigned long long) med[0], (unsigned long long) med[1], (unsigned long long) med[2]);
        for (unsigned a = 0; a < 3; a++)
                for (unsigned b = 0; b < 3; b++)
                        check(med[a] <= 2 * med[b] + 2000);     /* + 2 us: clock granularity, noise */

        free(key);
        free(uid);
        free(token);
        store_close(store);
        nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
        return 0;
}
