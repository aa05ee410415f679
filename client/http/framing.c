/* framing.c: the checks of RFC 9112 on a request's head that
 * libmicrohttpd 0.9.75 does not make, so that rolesd-http frames every
 * request as a reverse proxy in front of it does (a message it could read
 * two ways is refused, never guessed: the request-smuggling shapes), and
 * the percent-escapes of the request path decoded before routing.
 *
 * libmicrohttpd itself refuses (400, through errors.c) a header line
 * without a colon and a Content-Length that is not a number when no
 * Transfer-Encoding is present; it takes a field name with whitespace
 * before the colon as a name ending in whitespace, ignores Content-Length
 * beside Transfer-Encoding, reads a body of unknown coding until the
 * connection closes, and needs no Host: those are checked here, once the
 * head is in (the handler's first call), before any byte of the body is
 * read. */

#include "client/http/framing.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* What the head's fields say about framing, gathered in one pass. */
typedef struct Fields {
        bool bad_name;                  /* a field name that is not a token */
        unsigned n_host;
        bool bad_host;                  /* a Host value that is no uri-host[:port] */
        unsigned n_length;
        const char *length;             /* the first Content-Length */
        bool lengths_differ;
        unsigned n_te;
        unsigned n_chunked;             /* "chunked" in the transfer codings */
        bool other_coding;              /* a coding other than chunked */
        bool chunked_last;              /* the last coding is chunked */
} Fields;

/* RFC 9110 5.6.2: tchar. */
static bool is_tchar(unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!is_tchar((unsigned char) *s))
                        return false;
        return true;
}

/* RFC 9112 3.2 (RFC 3986 3.2.2, 3.2.3): uri-host [ ":" port ], or empty. */
static bool is_host(const char *s) {
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      strchr("-._~!$&'()*+,;=:[]%", c)))
                        return false;
        }
        return true;
}

/* One Transfer-Encoding field value: a comma-separated list of codings,
 * each perhaps with parameters; empty elements are allowed (RFC 9110 5.6.1). */
static void codings_add(Fields *f, const char *v) {
        while (*v) {
                size_t n = strcspn(v, ","), len;
                const char *e = v;

                while (e < v + n && (*e == ' ' || *e == '\t'))
                        e++;
                len = strcspn(e, ",; \t");
                if (len > (size_t) (v + n - e))
                        len = (size_t) (v + n - e);
                if (len > 0) {
                        bool chunked = len == 7 && strncasecmp(e, "chunked", 7) == 0;

                        f->n_chunked += chunked;
                        f->other_coding |= !chunked;
                        f->chunked_last = chunked;
                }
                v += n;
                if (*v == ',')
                        v++;
        }
}

static enum MHD_Result field_seen(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        Fields *f = cls;

        (void) kind;
        if (!key || !is_token(key)) {
                f->bad_name = true;
                return MHD_YES;
        }
        value = value ? value : "";
        if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
                f->n_host++;
                f->bad_host |= !is_host(value);
        } else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
                if (f->n_length++ == 0)
                        f->length = value;
                else if (strcmp(f->length, value) != 0)
                        f->lengths_differ = true;
        } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
                f->n_te++;
                codings_add(f, value);
        }
        return MHD_YES;
}

unsigned http_framing_check(struct MHD_Connection *con, const char *version) {
        bool http11 = !version || strcmp(version, MHD_HTTP_VERSION_1_0) != 0;
        Fields f = {0};

        (void) MHD_get_connection_values(con, MHD_HEADER_KIND, field_seen, &f);
        if (f.bad_name)
                return MHD_HTTP_BAD_REQUEST;            /* RFC 9112 5.1 */
        if (f.n_host > 1 || f.bad_host || (http11 && f.n_host == 0))
                return MHD_HTTP_BAD_REQUEST;            /* RFC 9112 3.2 */
        if (f.n_te > 0) {
                if (f.n_length > 0 || !http11)
                        return MHD_HTTP_BAD_REQUEST;    /* RFC 9112 6.1, 6.3 */
                if (f.n_chunked > 0 && !f.chunked_last)
                        return MHD_HTTP_BAD_REQUEST;    /* RFC 9112 6.3 (4) */
                if (f.other_coding)
                        return MHD_HTTP_NOT_IMPLEMENTED;/* RFC 9112 6.1 */
                if (f.n_chunked != 1)
                        return MHD_HTTP_BAD_REQUEST;    /* none, or chunked twice */
        }
        if (f.lengths_differ)
                return MHD_HTTP_BAD_REQUEST;            /* RFC 9110 8.6 */
        return 0;
}

/* A hex digit's value, or -1. */
static int unhex(char c) {
        static const char digits[] = "0123456789abcdef";
        const char *d = c ? strchr(digits, c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c) : NULL;

        return d ? (int) (d - digits) : -1;
}

void http_path_decode(char *path) {
        char *w = path;

        for (const char *p = path; *p; p++) {
                int hi, lo;
                unsigned char c;

                if (*p != '%' || (hi = unhex(p[1])) < 0 || (lo = unhex(p[2])) < 0) {
                        *w++ = *p;
                        continue;
                }
                c = (unsigned char) (hi << 4 | lo);
                if (c < 0x20 || c == 0x7f || strchr("%/?#", c)) {
                        *w++ = *p;      /* the escape stays; its digits follow as they are */
                        continue;
                }
                *w++ = (char) c;
                p += 2;
        }
        *w = '\0';
}
