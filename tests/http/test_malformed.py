#!/usr/bin/python3
"""test_malformed.py: hostile and broken input. Truncated JSON, invalid
UTF-8, NUL, lone surrogates, duplicate keys, deep nesting, bodies over
64 KiB (70 KB, chunked, and 10 MB announced by Content-Length), unknown paths
and methods, garbage on the wire, a half-sent request held open. Each gets
the documented answer in the dialect of its prefix, nothing is written
(role count through RPC before and after), and both processes keep
serving."""

import http.client
import json
import os
import socket

from httpharness import BODY_LIMIT, SHIM_LAZY_FDS, ShimTestCase, main, raw_exchange, wait_for

PARTOO = "/v2/custom_role"
RC = "/api/v1/roles.create"


class MalformedBodies(ShimTestCase):

    def both(self, raw, partoo_field="_schema"):
        """Sends raw to both create endpoints; Partoo: 400 on partoo_field
        (None: any json field), Rocket.Chat: invalid role properties."""
        with self.nothing_written(repr(raw)[:200]):
            r = self.partoo_create(raw)
            if partoo_field is None:
                body = self.check_json(r, 400)
                self.assertIsInstance(body.get("errors", {}).get("json"), dict, str(r))
                self.assertTrue(body["errors"]["json"], str(r))
            else:
                self.assertPartooFieldError(r, partoo_field)
            self.assertRCError(self.rc_create(raw), "error-invalid-role-properties")

    def test_truncated_json(self):
        full = json.dumps({"name": "trunc", "api_id": "trunc", "description": "d",
                           "permissions": ["business_edit"]})
        for cut in (1, 5, 9, 17, len(full) // 2, len(full) - 2, len(full) - 1):
            with self.subTest(cut=cut):
                self.both(full[:cut])

    def test_invalid_utf8_in_strings(self):
        for bad in (b"\xff\xfe", b"\xc3", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80",
                    b"\xc0\xaf"):
            with self.subTest(bytes=bad):
                pb = (b'{"name": "a' + bad + b'", "api_id": "inv_utf8", "permissions": []}')
                rb = b'{"name": "a' + bad + b'"}'
                with self.nothing_written(repr(bad)):
                    r = self.partoo_create(pb)
                    body = self.check_json(r, 400)
                    self.assertIsInstance(body.get("errors", {}).get("json"), dict, str(r))
                    self.assertRCError(self.rc_create(rb), "error-invalid-role-properties")

    def test_invalid_utf8_outside_strings(self):
        self.both(b'{"name": "a"\xff}')
        self.both(b'\xef\xbb\xbf\xff{}')

    def test_nul_and_lone_surrogates(self):
        for esc in ("\\u0000", "\\ud800", "\\udfff", "\\ud800x"):
            with self.subTest(escape=esc), self.nothing_written(esc):
                raw = '{"name": "a%sb", "api_id": "esc_%d", "permissions": []}' % (
                    esc, len(esc))
                r = self.partoo_create(raw)
                body = self.check_json(r, 400)
                self.assertIsInstance(body.get("errors", {}).get("json"), dict, str(r))
                self.assertRCError(self.rc_create('{"name": "a%sb"}' % esc),
                                   "error-invalid-role-properties")

    def test_duplicate_keys(self):
        with self.nothing_written():
            r = self.partoo_create('{"name": "dupk_a", "name": "dupk_b", "api_id": "dupk", '
                                   '"permissions": []}')
            body = self.check_json(r, 400)
            self.assertIsInstance(body.get("errors", {}).get("json"), dict, str(r))
            self.assertRCError(self.rc_create('{"name": "dupk_a", "name": "dupk_b"}'),
                               "error-invalid-role-properties")
            self.assertRCError(self.rc_create('{"name": "dupk_c", "scope": "Users", '
                                              '"scope": "Subscriptions"}'),
                               "error-invalid-role-properties")

    def test_deep_nesting(self):
        for depth in (64, 1000, 20000):
            with self.subTest(depth=depth):
                self.both("[" * depth + "]" * depth)
                raw = '{"name": ' + "[" * depth + "]" * depth + "}"
                with self.nothing_written():
                    self.assertRCError(self.rc_create(raw), "error-invalid-role-properties")
                    raw = ('{"name": "x", "api_id": "x", "permissions": ' + "[" * depth
                           + "]" * depth + "}")
                    # a wrong type, or (past the parser's depth limit) not JSON
                    self.assertPartooFieldError(self.partoo_create(raw),
                                                ("permissions", "_schema"))
        self.assertShimAlive()

    def test_wrong_types_everywhere_rc(self):
        for v in (12.5e300, -0.0, 1e400, [], {}, [[]], {"$gt": ""}):
            with self.subTest(value=v):
                try:
                    raw = json.dumps({"name": "t", "scope": v})
                except ValueError:
                    continue
                with self.nothing_written():
                    self.assertRCError(self.rc_create(raw), "error-invalid-role-properties")

    def test_huge_numbers_and_strings(self):
        with self.nothing_written():
            r = self.partoo_create(self.partoo_body(org_id=10 ** 30))
            self.assertIn(r.status, (400, 403), str(r))
            r = self.partoo_create(self.partoo_body(), query="?org_id=" + "9" * 40)
            self.assertIn(r.status, (400, 403), str(r))
            self.check_json(r, r.status)
            r = self.partoo_create(self.partoo_body(name="n" * 60000))
            self.assertPartooFieldError(r, "name")
        self.assertShimAlive()

    def test_non_json_content_type_still_parsed_or_refused(self):
        # whatever the Content-Type, a bad body never creates anything
        with self.nothing_written():
            r = self.call("POST", PARTOO, "name=x&api_id=y", dict(
                self.pkey("admin_a"), **{"Content-Type": "application/x-www-form-urlencoded"}))
            self.assertEqual(r.status, 400, str(r))
            self.check_json(r, 400)


class BodyLimit(ShimTestCase):

    def big(self, path, headers, n, chunked=False, content_length=True):
        chunk = 64 * 1024
        data = b'{"name": "' + b"a" * (n - 12) + b'"}'
        assert len(data) == n
        chunks = [data[i:i + chunk] for i in range(0, n, chunk)]
        return raw_exchange(self.shim.port, "POST", path,
                            dict(headers, **{"Content-Type": "application/json"}),
                            chunks, content_length=(n if content_length else None),
                            chunked=chunked)

    def expect_413(self, path, headers, n, dialect, **kw):
        with self.nothing_written("%d bytes to %s" % (n, path)):
            r, err = self.big(path, headers, n, **kw)
            self.assertIsNotNone(r, "no HTTP response to a %d-byte body on %s (%r)"
                                 % (n, path, err))
            dialect(r, 413)
        self.assertShimAlive()

    def test_70kb(self):
        self.expect_413(PARTOO, self.pkey("admin_a"), 70 * 1000, self.assertPartooDialect)
        self.expect_413(RC, self.rc_auth(), 70 * 1000, self.assertRCDialect)

    def test_70kb_on_get(self):
        for path, h, dialect in (("/v2/custom_role", self.pkey("admin_a"),
                                  self.assertPartooDialect),
                                 ("/api/v1/roles.list", self.rc_auth(), self.assertRCDialect)):
            with self.subTest(path=path):
                r, err = raw_exchange(self.shim.port, "GET", path, h, [b"x" * 70000],
                                      content_length=70000)
                self.assertIsNotNone(r, "no response (%r)" % (err,))
                dialect(r, 413)

    def test_one_byte_over(self):
        self.expect_413(PARTOO, self.pkey("admin_a"), BODY_LIMIT + 1, self.assertPartooDialect)
        self.expect_413(RC, self.rc_auth(), BODY_LIMIT + 1, self.assertRCDialect)

    def test_70kb_chunked(self):
        self.expect_413(PARTOO, self.pkey("admin_a"), 70 * 1000, self.assertPartooDialect,
                        chunked=True, content_length=False)
        self.expect_413(RC, self.rc_auth(), 70 * 1000, self.assertRCDialect,
                        chunked=True, content_length=False)

    def test_10mb_with_content_length(self):
        self.expect_413(PARTOO, self.pkey("admin_a"), 10 * 1024 * 1024,
                        self.assertPartooDialect)
        self.expect_413(RC, self.rc_auth(), 10 * 1024 * 1024, self.assertRCDialect)

    def test_content_length_announced_body_never_sent(self):
        # 10 MB announced, 10 bytes sent, connection held: the shim must
        # answer 413 without waiting for the body, or at least keep serving others
        s = socket.create_connection(("127.0.0.1", self.shim.port), timeout=30)
        self.addCleanup(s.close)
        h = self.rc_auth()
        s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "X-User-Id: %s\r\nX-Auth-Token: %s\r\nContent-Length: %d\r\n\r\n"
                   % (RC, h["X-User-Id"], h["X-Auth-Token"], 10 * 1024 * 1024)).encode()
                  + b'{"name": ')
        self.assertShimAlive()
        roles = self.call("GET", "/api/v1/roles.list", headers=self.rc_auth())
        self.check_json(roles, 200)

    def test_exactly_64_kib_is_not_413(self):
        n = BODY_LIMIT
        with self.nothing_written():
            # a Partoo body of exactly 64 KiB: 400 (name too long), not 413
            head, tail = b'{"api_id": "x64", "permissions": [], "name": "', b'"}'
            raw = head + b"a" * (n - len(head) - len(tail)) + tail
            self.assertEqual(len(raw), n)
            r = self.partoo_create(raw)
            self.assertPartooFieldError(r, "name")


class UnknownPathsAndMethods(ShimTestCase):

    def test_unknown_paths(self):
        for path, dialect in (("/v2/nope", "partoo"), ("/v2/custom_roles", "partoo"),
                              ("/v2/custom_role/a/b", "partoo"), ("/v2/permissions/x", "partoo"),
                              ("/api/v1/nope", "rc"), ("/api/v1/roles.remove", "rc"),
                              ("/api/v1/roles.create/x", "rc"), ("/api/v1/", "rc"),
                              ("/nope", None), ("/", None), ("/api/v2/roles.list", None),
                              ("/openapi.yaml", None)):
            for method in ("GET", "POST"):
                with self.subTest(method=method, path=path), self.nothing_written():
                    h = dict(self.pkey("admin_a"), **self.rc_auth())
                    body = self.partoo_body() if method == "POST" else None
                    r = self.call(method, path, body, h)
                    if dialect == "partoo":
                        self.assertPartooDialect(r, 404)
                    elif dialect == "rc":
                        self.assertRCDialect(r, 404)
                    else:
                        self.check_json(r, 404)

    def test_wrong_methods(self):
        for method, path, allow, dialect in (
                ("DELETE", "/v2/custom_role", ("GET", "POST"), "partoo"),
                ("PUT", "/v2/custom_role", ("GET", "POST"), "partoo"),
                ("PATCH", "/v2/custom_role", ("GET", "POST"), "partoo"),
                ("POST", "/v2/custom_role/my_role", ("GET",), "partoo"),
                ("PATCH", "/v2/custom_role/my_role", ("GET", "PUT", "DELETE"), "partoo"),
                ("POST", "/v2/permissions", ("GET",), "partoo"),
                ("GET", "/api/v1/roles.create", ("POST",), "rc"),
                ("PUT", "/api/v1/roles.create", ("POST",), "rc"),
                ("DELETE", "/api/v1/roles.create", ("POST",), "rc"),
                ("POST", "/api/v1/roles.list", ("GET",), "rc"),
                ("GET", "/api/v1/roles.delete", ("POST",), "rc"),
                ("POST", "/openapi.json", ("GET",), None),
                ("DELETE", "/openapi.json", ("GET",), None)):
            with self.subTest(method=method, path=path), self.nothing_written():
                h = dict(self.pkey("admin_a"), **self.rc_auth())
                body = {"name": self.uniq("m"), "api_id": self.uniq("m"),
                        "permissions": []} if method in ("POST", "PUT", "PATCH") else None
                r = self.call(method, path, body, h)
                if dialect == "partoo":
                    self.assertPartooDialect(r, 405)
                elif dialect == "rc":
                    self.assertRCDialect(r, 405)
                else:
                    self.check_json(r, 405)
                got = {m.strip().upper() for m in (r.header("Allow") or "").split(",") if m}
                for m in allow:
                    self.assertIn(m, got, "405 without Allow listing %s (RFC 9110)\n%s"
                                  % (m, r))

    def test_unknown_method_token(self):
        with self.nothing_written():
            r = self.call("BREW", PARTOO, None, self.pkey("admin_a"))
            self.assertIn(r.status, (405, 501), str(r))
        self.assertShimAlive()

    def test_path_oddities(self):
        h = self.pkey("admin_a")
        for path in ("/v2/custom_role/%FF", "/v2/custom_role/a%00b", "/v2/custom_role/%",
                     "/v2/custom_role/" + "x" * 3000):
            with self.subTest(path=path[:40]), self.nothing_written():
                r = self.call("GET", path, None, h)
                self.assertIn(r.status, (400, 404), str(r))
                if r.status == 404:
                    self.assertPartooDialect(r, 404)
                else:
                    self.check_json(r, 400)
        r = self.call("GET", "/v2/custom_role?org_id=%FF", None, h)
        self.assertPartooFieldError(r, "org_id", "query")
        self.assertShimAlive()


def parse_responses(data, method="POST"):
    """Splits raw bytes into HTTP responses: returns ([(status, headers,
    body)], leftover bytes that do not form one more whole response)."""
    import io

    class FakeSock:
        def __init__(self, f):
            self.f = f

        def makefile(self, *a, **k):
            return self.f
    class Unclosable(io.BytesIO):
        def close(self):            # HTTPResponse closes its file when done
            pass
    f = Unclosable(data)
    out = []
    while f.tell() < len(data):
        pos = f.tell()
        r = http.client.HTTPResponse(FakeSock(f), method=method)
        try:
            r.begin()
            cl = r.getheader("Content-Length")
            body = f.read(int(cl)) if cl is not None else f.read()
        except (http.client.HTTPException, ValueError):
            f.seek(pos)
            return out, f.read()
        out.append((r.status, r.getheaders(), body))
    return out, b""


def raw_roundtrip(port, data):
    """Sends raw bytes (without half-closing) and reads until the shim
    closes, or until one complete response arrived on a connection the
    shim keeps open."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    out = b""
    try:
        try:
            s.sendall(data)
        except OSError:
            pass
        while True:
            try:
                d = s.recv(65536)
            except ConnectionResetError:
                break
            if not d:
                break
            out += d
            resps, left = parse_responses(out)
            if resps and not left and all(
                    dict((k.lower(), v.lower()) for k, v in h).get("connection") != "close"
                    for _, h, _ in resps):
                break
    finally:
        s.close()
    return out


class TransportErrors(ShimTestCase):
    """Requests that libmicrohttpd itself refuses. rolesd-http(8): "Every
    response is application/json"; HTTP/1.1: one response per request,
    framed by its Content-Length."""

    CASES = [
        ("Content-Length -5", b"POST /v2/custom_role HTTP/1.1\r\nHost: x\r\n"
                              b"Content-Length: -5\r\n\r\n{}"),
        ("Content-Length abc", b"POST /v2/custom_role HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Length: abc\r\n\r\n{}"),
        ("Content-Length '1 2'", b"POST /api/v1/roles.create HTTP/1.1\r\nHost: x\r\n"
                                 b"Content-Length: 1 2\r\n\r\n{}"),
        ("Content-Length past 2^64", b"POST /v2/custom_role HTTP/1.1\r\nHost: x\r\n"
                                     b"Content-Length: 99999999999999999999999\r\n\r\n{}"),
        ("70 KB URL", b"GET /v2/custom_role/" + b"x" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("70 KB header", b"GET /api/v1/roles.list HTTP/1.1\r\nHost: x\r\nX-Pad: "
                         + b"p" * 70000 + b"\r\n\r\n"),
        ("300 KB URL", b"GET /v2/custom_role/" + b"x" * 300000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("300 KB header", b"GET /api/v1/roles.list HTTP/1.1\r\nHost: x\r\nX-Pad: "
                          + b"p" * 300000 + b"\r\n\r\n"),
        ("HTTP/9.9", b"GET /v2/custom_role HTTP/9.9\r\nHost: x\r\n\r\n"),
    ]

    def exchange(self, data):
        with self.nothing_written():
            out = raw_roundtrip(self.shim.port, data)
        self.assertShimAlive()
        return out

    def test_one_well_formed_response(self):
        for label, data in self.CASES:
            with self.subTest(label):
                out = self.exchange(data)
                if not out:
                    continue            # refused by closing: acceptable
                resps, left = parse_responses(out)
                self.assertEqual((len(resps), left), (1, b""),
                                 "expected exactly one HTTP response, got %d and %d stray "
                                 "bytes:\n%r" % (len(resps), len(left), out[:600]))

    def test_error_bodies_are_json(self):
        for label, data in self.CASES:
            with self.subTest(label):
                out = self.exchange(data)
                if not out:
                    continue
                resps, _ = parse_responses(out)
                self.assertTrue(resps, "unparsable response: %r" % out[:300])
                status, headers, body = resps[0]
                self.assertGreaterEqual(status, 400)
                ct = dict((k.lower(), v) for k, v in headers).get("content-type", "")
                self.assertEqual(ct.split(";")[0].strip(), "application/json",
                                 "status %d, raw response:\n%r" % (status, out[:400]))
                try:
                    json.loads(body)
                except ValueError:
                    self.fail("body is not JSON: %r" % out[:400])

    # libmicrohttpd 0.9.75 (Debian 12) rejects a Content-Length it cannot
    # parse before our handler runs, and its own answer repeats the header
    # block (fixed upstream in 1.0.0): the shim writes the answer itself
    # (client/http/errors.c) and the library closes the connection.
    def test_content_length_overflow_is_413_in_dialect(self):
        out = self.exchange(dict(self.CASES)["Content-Length past 2^64"])
        resps, _ = parse_responses(out)
        self.assertTrue(resps, "no response: %r" % out[:300])
        status, headers, body = resps[0]
        self.assertEqual(status, 413, out[:400])
        try:
            doc = json.loads(body)
        except ValueError:
            self.fail("413 body is not JSON (expected {\"errors\":{\"json\":...}}):\n%r"
                      % out[:400])
        self.assertIsInstance(doc.get("errors", {}).get("json"), str, out[:400])


class HeaderHandling(ShimTestCase):

    def test_header_names_are_case_insensitive(self):
        k = self.keys["admin_a"]
        for name in ("X-APIKEY", "x-apikey", "X-ApiKey"):
            with self.subTest(name=name):
                self.check_json(self.partoo_create(self.partoo_body(), key=None,
                                                   headers={name: k}), 200)
        u = self.creds["users"]["alice"]
        self.assertRCRole(self.rc_create({"name": self.uniq("lc")}, user=None, headers={
            "x-user-id": u["userId"], "x-auth-token": u["authToken"]}))

    def test_surrounding_whitespace_is_not_part_of_the_value(self):
        # RFC 9110 5.5: a field value excludes leading and trailing whitespace
        k = self.keys["admin_a"]
        u = self.creds["users"]["alice"]
        for desc, v in (("leading", " \t" + k), ("trailing", k + " "), ("both", " " + k + "\t")):
            with self.subTest(key=desc):
                raw = ("POST /v2/custom_role HTTP/1.1\r\nHost: x\r\nContent-Type: "
                       "application/json\r\nx-APIKey:%s\r\nContent-Length: %%d\r\n"
                       "Connection: close\r\n\r\n" % v)
                body = json.dumps(self.partoo_body()).encode()
                out = raw_roundtrip(self.shim.port, (raw % len(body)).encode() + body)
                resps, _ = parse_responses(out)
                self.assertTrue(resps, out[:300])
                self.assertEqual(resps[0][0], 200, "x-APIKey with %s whitespace:\n%r"
                                 % (desc, out[:400]))
        r = self.rc_create({"name": self.uniq("ws")}, user=None, headers={
            "X-User-Id": u["userId"] + " ", "X-Auth-Token": u["authToken"] + "\t"})
        self.assertRCRole(r)


class WireAbuse(ShimTestCase):

    def raw(self, data, read=True):
        s = socket.create_connection(("127.0.0.1", self.shim.port), timeout=30)
        try:
            try:
                s.sendall(data)
                if not read:
                    return b""
                s.shutdown(socket.SHUT_WR)
            except OSError:
                return b""          # the shim refused and closed early: fine
            out = b""
            s.settimeout(3)         # not an assertion: a still-open connection is fine
            while True:
                try:
                    d = s.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    break
                if not d:
                    break
                out += d
            return out
        finally:
            s.close()

    def test_garbage(self):
        with self.nothing_written():
            for data in (b"GARBAGE\r\n\r\n", b"\x00\x01\x02\xff" * 100, b"GET\r\n\r\n",
                         b"GET / HTTP/9.9\r\n\r\n", b"POST /v2/custom_role HTTP/1.1\r\n"
                         b"Host: x\r\nContent-Length: -5\r\n\r\n{}",
                         b"POST /v2/custom_role HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
                         b"\r\n" * 1000, b"G" * 100000):
                with self.subTest(data=data[:30]):
                    self.raw(data)
                    self.assertShimAlive()

    def test_invalid_utf8_in_headers(self):
        with self.nothing_written():
            r = self.call("POST", RC, {"name": self.uniq("h")},
                          {"X-User-Id": b"\xff\xfe", "X-Auth-Token": b"\xc3("})
            self.assertRC401(r)
            r = self.call("POST", PARTOO, self.partoo_body(), {"x-APIKey": b"\xff\xfe\x80"})
            self.assertPartoo401(r)

    def test_huge_header(self):
        with self.nothing_written():
            try:
                r = self.call("POST", RC, {"name": self.uniq("hh")},
                              dict(self.rc_auth(), **{"X-Pad": "p" * 200000}))
            except (OSError, http.client.HTTPException):
                r = None            # refused by closing: fine
            if r is not None:
                self.assertGreaterEqual(r.status, 400, str(r))
        self.assertShimAlive()

    def test_slow_client_does_not_wedge(self):
        # a half-sent request held open, then a burst of normal requests
        slow = socket.create_connection(("127.0.0.1", self.shim.port), timeout=30)
        self.addCleanup(slow.close)
        slow.sendall(b"POST /api/v1/roles.create HTTP/1.1\r\nHost: x\r\nContent-Len")
        slow2 = socket.create_connection(("127.0.0.1", self.shim.port), timeout=30)
        self.addCleanup(slow2.close)
        slow2.sendall(b"POST /v2/custom_role HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                      b"x-APIKey: " + self.keys["admin_a"].encode() + b"\r\n\r\n{\"na")
        for _ in range(5):
            self.check_json(self.call("GET", "/api/v1/roles.list", headers=self.rc_auth()), 200)
        self.assertRCRole(self.rc_create({"name": self.uniq("notwedged")}))

    def test_many_connections_opened_and_dropped(self):
        socks = []
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", self.shim.port), timeout=30)
            socks.append(s)
        for s in socks:
            s.close()
        self.assertShimAlive()
        self.check_json(self.call("GET", "/v2/permissions", headers=self.pkey("admin_a")), 200)

    def test_client_disconnects_mid_request(self):
        with self.nothing_written():
            for i in range(10):
                s = socket.create_connection(("127.0.0.1", self.shim.port), timeout=30)
                s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n"
                           "x-APIKey: %s\r\n\r\n{\"name\":" % (PARTOO, self.keys["admin_a"]))
                          .encode())
                s.close()
        self.assertShimAlive()


class Descriptors(ShimTestCase):
    """Connections the clients have closed are released (own shim: a leak
    here would lock 127.0.0.1 out of the next tests' requests)."""

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.shim.proc.pid))

    def warm_baseline(self):
        from test_concurrency import run_threads
        for r in run_threads(24, lambda i: self.call("GET", "/api/v1/roles.list",
                                                     headers=self.rc_auth())):
            self.assertNotIsInstance(r, BaseException)
        return self.fds()

    # Releasing a connection the client has closed takes the shim
    # milliseconds; SETTLE is a generous bound for it, yet well below the
    # shim's idle timeout (HTTP_CONNECTION_TIMEOUT_SEC, 30 s), which would
    # otherwise release them anyway and hide the leak.
    SETTLE = 10

    def test_no_descriptor_leak(self):
        base = self.warm_baseline()
        for i in range(150):
            self.call("POST", RC, {"name": self.uniq("fd")}, self.rc_auth())
            self.call("POST", PARTOO, "{", self.pkey("admin_a"))
            self.call("GET", "/nope")
        wait_for(lambda: self.fds() <= base + SHIM_LAZY_FDS + 4, timeout=self.SETTLE,
                 what="rolesd-http's descriptors to settle (baseline %d, now %d)"
                 % (base, self.fds()))


class AbandonedConnections(Descriptors):
    """Own shim again: this one may leave 127.0.0.1 locked out."""

    test_no_descriptor_leak = None

    def test_abandoned_partial_requests_are_released(self):
        """Clients that send part of a request and close their socket must
        not keep holding the shim's connections (HTTP_PER_IP_CONNECTIONS_MAX
        is 256: holding them locks the client address out)."""
        base = self.warm_baseline()
        partials = [b"GET /openapi.json HTTP/1.1\r\n",
                    b"POST /v2/custom_role HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{",
                    b"GET /api/v1/roles.list HTTP/1.1\r\nHost: x\r\nX-User-Id: a"]
        for i in range(600):
            s = socket.create_connection(("127.0.0.1", self.shim.port), timeout=30)
            s.sendall(partials[i % len(partials)])
            s.close()
        try:
            wait_for(lambda: self.fds() <= base + SHIM_LAZY_FDS + 8, timeout=self.SETTLE,
                     what="the shim to release connections its clients closed")
        except AssertionError:
            pass
        held = self.fds() - base
        try:
            r = self.call("GET", "/api/v1/roles.list", headers=self.rc_auth())
            status = r.status
        except OSError as e:
            status = e
        self.assertLessEqual(held, SHIM_LAZY_FDS + 8, "%d descriptors still held %ss after 600 clients sent a "
                             "partial request and closed; a new request from the same "
                             "address got: %r" % (held, self.SETTLE, status))
        self.assertEqual(status, 200)


if __name__ == "__main__":
    main()
