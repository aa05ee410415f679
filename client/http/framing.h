/* framing.h: what RFC 9112 asks of a request's head that libmicrohttpd
 * 0.9.75 lets through, checked once the head is in; and the request
 * path's percent-escapes, decoded before routing (framing.c). */
#pragma once

#include <microhttpd.h>

/* 0 when the head of con's request (HTTP version version) frames a
 * message rolesd-http can read unambiguously; else the status to answer
 * before closing the connection: 400 (a field name that is not a token,
 * or has whitespace before its colon; no Host, or more than one, in
 * HTTP/1.1; Content-Length together with Transfer-Encoding; Content-Length
 * values that disagree; a transfer coding list that does not end with
 * chunked once, or any in HTTP/1.0), 501 (a transfer coding other than
 * chunked). */
unsigned http_framing_check(struct MHD_Connection *con, const char *version);

/* Decodes, in place, the percent-escapes of path (a request target's
 * path, without its query) that routing must see decoded
 * (/v2/custom_rol%65 is /v2/custom_role). Escapes that would change how
 * the path is split or read once more stay as they are, for the route's
 * argument to decode once: %25 ('%'), %2F ('/'), %3F ('?'), %23 ('#'),
 * and control characters (%00-%1F, %7F). */
void http_path_decode(char *path);
