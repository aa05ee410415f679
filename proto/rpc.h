/* rpc.h: the MessagePack-RPC envelope. Decodes one complete frame (as
 * found by scan.h) into an RpcMessage, and encodes requests, responses
 * and error replies. Also owns the error codes of the wire and their
 * mapping to and from negative errno. */
#pragma once

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum RpcType {
        RPC_REQUEST  = 0,       /* [0, msgid, method, params] */
        RPC_RESPONSE = 1,       /* [1, msgid, error, result] */
        RPC_NOTIFY   = 2,       /* [2, method, params] */
} RpcType;

typedef enum RpcCode {
        RPC_OK = 0,
        RPC_INVALID_ARGUMENT,
        RPC_DUPLICATE,
        RPC_NOT_FOUND,
        RPC_PERMISSION_DENIED,
        RPC_UNAUTHENTICATED,
        RPC_RESOURCE_EXHAUSTED,
        RPC_UNAVAILABLE,
        RPC_INTERNAL,
        /* The role lifecycle's (appended: the codes above keep their numbers). */
        RPC_PROTECTED,                  /* a built-in role, or the workspace's last admin */
        RPC_IN_USE,                     /* a role still held by users */
        RPC_CONFLICT,                   /* if_revision no longer matches */
        /* The change feed's (appended likewise). */
        RPC_COMPACTED,                  /* a revision older than the retained change log */
        _RPC_CODE_MAX,
} RpcCode;

typedef struct RpcMessage {
        RpcType type;
        bool has_msgid;                 /* msgid was read (also set when decoding fails later) */
        uint32_t msgid;
        const char *method;             /* request/notify: not NUL-terminated */
        size_t method_len;
        const msgpack_object *params;   /* request/notify: the params map, NULL for [] or [{}] absent */
        const msgpack_object *error;    /* response: nil or the error map */
        const msgpack_object *result;   /* response */
} RpcMessage;

/* Decodes one complete frame. The message points into *u, which the
 * caller owns (msgpack_unpacked_init/destroy), and into frame (msgpack-c
 * does not copy strings), so both must outlive it. Returns 0, or -EBADMSG
 * when the frame is not MessagePack, or -EINVAL when the envelope is
 * wrong (or -ENOMEM if msgpack-c runs out of memory); in each case
 * *reterr_message says why (a static string) and ret->has_msgid tells
 * whether the error reply can be addressed. A response whose msgid is nil
 * (an error reply that could not be addressed) decodes with has_msgid
 * false. */
/* When u->zone is set (e.g. msgpack_zone_new once), that zone is cleared
 * and reused instead of a new one being made per frame. */
int rpc_decode(const char *frame, size_t len, msgpack_unpacked *u, RpcMessage *ret,
               const char **reterr_message);

/* Writes [0, msgid, method, [ and leaves one params element due: the
 * caller packs exactly one map next. */
int rpc_pack_request_begin(msgpack_packer *pk, uint32_t msgid, const char *method);
/* The same with the msgid always on 5 bytes (0xce + 4), at offset 2 of the
 * frame, where rpc_frame_set_msgid() can replace it in place. */
int rpc_pack_request_begin_fixed(msgpack_packer *pk, uint32_t msgid, const char *method);
bool rpc_frame_set_msgid(char *frame, size_t n, uint32_t msgid);
/* The msgid of a request or response frame (type RPC_REQUEST or
 * RPC_RESPONSE) from its first bytes; false when they do not say. */
bool rpc_frame_msgid(const char *frame, size_t n, unsigned type, uint32_t *ret);
/* Writes [2, method, [ and leaves one params element due: the caller
 * packs exactly one value next (a notification the daemon sends). */
int rpc_pack_notify_begin(msgpack_packer *pk, const char *method);
/* Writes [1, msgid, nil, and leaves the result due: the caller packs it next. */
int rpc_pack_result_begin(msgpack_packer *pk, uint32_t msgid);
/* Why a call failed, for its error reply. field names the offending param
 * (a static or table string, or NULL); the message is text when it is not
 * empty, else message (a static string), else NULL: the replier derives
 * one from the errno. Copies keep their meaning (no pointer into text). */
#define RPC_ERR_TEXT_MAX 160u
typedef struct RpcErr {
        const char *field;
        const char *message;
        char text[RPC_ERR_TEXT_MAX];
} RpcErr;

/* Fill err and return r, for `return rpc_fail(err, -EINVAL, "name", "...")`.
 * rpc_failf formats the message into err->text, cut (on a character
 * boundary) to fit. */
int rpc_fail(RpcErr *err, int r, const char *field, const char *message);
int rpc_failf(RpcErr *err, int r, const char *field, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* err's message as described above, or NULL. */
const char *rpc_err_text(const RpcErr *err);

/* Writes a whole error response [1, msgid|nil, {code, message[, field]}, nil]. */
int rpc_pack_error(msgpack_packer *pk, bool has_msgid, uint32_t msgid, RpcCode code,
                   const char *message, const char *field);

const char *rpc_code_to_string(RpcCode c);           /* "invalid_argument", ... */
RpcCode rpc_code_from_string(const char *s, size_t n); /* unknown text: RPC_INTERNAL */
/* Maps a negative errno to the wire code:
 *   EINVAL EBADMSG EPROTO EILSEQ EDOM ERANGE ENOTUNIQ -> invalid_argument
 *   EEXIST -> duplicate;  ENOENT ENOSYS ENXIO -> not_found
 *   EPERM EACCES -> permission_denied;  EKEYREJECTED ENOKEY -> unauthenticated
 *   ENOSPC EMSGSIZE E2BIG ENOBUFS ENOMEM EMFILE ENFILE EUSERS EDQUOT -> resource_exhausted
 *   ESHUTDOWN EAGAIN ECONNREFUSED ENOTCONN ECONNRESET ECONNABORTED EPIPE ETIMEDOUT
 *     -> unavailable
 *   EROFS -> protected (read-only: a built-in role, the workspace's last admin)
 *   ENOTEMPTY -> in_use (as rmdir: the role still has members)
 *   ESTALE -> conflict (the caller's if_revision is stale)
 *   EIDRM -> compacted (identifier removed: the revision's change record
 *            was trimmed from the log)
 *   anything else -> internal
 * The last four are ours alone: no other code maps them, librolesd uses
 * none of them for failures of its own, and the daemon's store turns a
 * system error of these numbers (a file system gone read-only, say) into
 * EIO before it could reach a reply. */
RpcCode rpc_code_from_errno(int r);
/* The inverse used by clients: a negative errno for a wire code (-EINVAL,
 * -EEXIST, -ENOENT, -EACCES, -EKEYREJECTED, -ENOSPC, -ESHUTDOWN, -EIO,
 * -EROFS, -ENOTEMPTY, -ESTALE, -EIDRM). */
int rpc_code_to_errno(RpcCode c);
