/* calls.h: what calls.c (librolesd 1.0's calls) shares with lifecycle.c
 * (1.1's): the credential and role-selector params, a role's decoding,
 * and the extractors of synchronous calls. Not installed. */
#pragma once

#include <msgpack.h>
#include <stdbool.h>

#include "rolesd/client.h"

bool has_auth(const rolesd_auth *auth);
/* Packs "auth": {...} (a key and its value). msgpack-c's result. */
int pack_auth(msgpack_packer *pk, const rolesd_auth *auth);

/* by is "id", "api_id" or "name" and value is given: 0, or -EINVAL with
 * err filled. */
int check_role_by(const char *by, const char *value, rolesd_error *err);

/* A decoder's failure (-ENOMEM, or a result of the wrong shape: -EBADMSG). */
int fail_decode(rolesd_error *err, int r, const rolesd_reply *reply);

/* SyncExtract of rolesd_reply_role(), of rolesd_reply_error() (ret
 * unused), and of rolesd_reply_user() (ret: a UserRet). */
int extract_role(rolesd_reply *r, void *ret, rolesd_error *err);
int extract_none(rolesd_reply *r, void *ret, rolesd_error *err);

typedef struct UserRet {
        char **user_id, **token;
} UserRet;
int extract_user(rolesd_reply *r, void *ret, rolesd_error *err);

/* Queues method with params (a JSON object, borrowed; NULL: {}) and, when
 * fd >= 0, a copy of fd sent along. As the *_async() calls. */
int json_submit_fd(rolesd *c, const char *method, json_t *params, int fd, rolesd_reply_fn fn, void *userdata,
                   rolesd_error *err);
