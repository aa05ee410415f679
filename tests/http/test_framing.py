#!/usr/bin/python3
"""test_framing.py: HTTP/1.1 message framing as RFC 9112 asks, so that
rolesd-http is safe behind a reverse proxy: a request whose body could be
read two ways (Content-Length together with Transfer-Encoding, lengths that
disagree, chunked not last) is refused with 400 and the connection closed
(nothing after it on the connection is read as a request); an unknown
transfer coding gets 501 at once, without waiting for a body it cannot
read; HTTP/1.1 without Host (or with two) gets 400; a header line without a
colon, whitespace before a colon, or a Content-Length that is no number gets
400 with a JSON body. Every error is in the dialect of the request's path,
and nothing is written. Percent-escapes in the path are decoded before
routing (/v2/custom_rol%65 is /v2/custom_role)."""

import json
import socket

from httpharness import ShimTestCase, main
from test_malformed import parse_responses

PARTOO = "/v2/custom_role"
RC = "/api/v1/roles.create"
READ_BOUND = 10.0       # seconds: a liveness bound, not a measurement


def exchange(port, data):
    """Sends data and reads until the shim closes the connection (or
    READ_BOUND passes without a byte). Returns ([(status, headers, body)],
    stray bytes, closed)."""
    chunks, closed = [], True
    with socket.create_connection(("127.0.0.1", port), timeout=READ_BOUND) as s:
        try:
            s.sendall(data)
        except OSError:
            pass                # refused early: what was answered is still read
        try:
            while d := s.recv(65536):
                chunks.append(d)
        except socket.timeout:
            closed = False
        except ConnectionResetError:
            pass
    resps, stray = parse_responses(b"".join(chunks))
    return resps, stray, closed


class Framing(ShimTestCase):

    def head(self, path, *lines, method="POST", version="HTTP/1.1", host=True):
        h = "%s %s %s\r\n" % (method, path, version)
        if host:
            h += "Host: 127.0.0.1\r\n"
        if path == PARTOO:
            h += "x-APIKey: %s\r\n" % self.keys["admin_a"]
        elif path.startswith("/api"):
            h += "".join("%s: %s\r\n" % kv for kv in self.rc_auth().items())
        return (h + "".join(l + "\r\n" for l in lines) + "\r\n").encode("latin-1")

    def body(self, path):
        if path == PARTOO:
            return json.dumps(self.partoo_body(api_id=self.uniq("fr").replace("-", "_"))).encode()
        return json.dumps({"name": self.uniq("fr")}).encode()

    def assertRefused(self, what, path, data, status, then=b""):
        """data (plus then, a second request on the same connection)
        gets exactly one answer: status, as JSON in path's dialect, with
        the connection closed after it; nothing is written."""
        with self.nothing_written(what):
            resps, stray, closed = exchange(self.shim.port, data + then)
        self.assertTrue(resps, "%s: expected %d in the dialect of %s, observed no response "
                        "(stray bytes %r, closed %s)" % (what, status, path, stray[:200], closed))
        st, headers, body = resps[0]
        msg = "%s: expected %d in the dialect of %s and the connection closed; observed %d %r " \
              "(%d responses, closed %s)" % (what, status, path, st, body[:300], len(resps), closed)
        self.assertEqual(st, status, msg)
        ct = dict((k.lower(), v) for k, v in headers).get("content-type", "")
        self.assertEqual(ct.split(";")[0].strip(), "application/json", msg)
        try:
            doc = json.loads(body)
        except ValueError:
            self.fail(msg + ": the body is not JSON")
        if path.startswith("/api"):
            self.assertIs(doc.get("success"), False, msg)
            self.assertIsInstance(doc.get("error"), str, msg)
        else:
            self.assertIsInstance(doc.get("errors", {}).get("json"), str, msg)
        self.assertEqual((len(resps), stray), (1, b""), msg + ": one response only")
        self.assertTrue(closed, msg + ": the connection stayed open")

    def paths(self):
        return (PARTOO, RC)

    def test_content_length_with_transfer_encoding_is_400_and_closes(self):
        for path in self.paths():
            b = self.body(path)
            chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(b), b)
            # a second request hides in what one reading of the first one's
            # body would leave: the smuggling shape
            smuggled = self.head(path, "Content-Type: application/json",
                                 "Content-Length: %d" % len(self.body(path)))
            for label, lines in (
                    ("Content-Length then Transfer-Encoding",
                     ["Content-Length: %d" % len(chunked), "Transfer-Encoding: chunked"]),
                    ("Transfer-Encoding then Content-Length",
                     ["Transfer-Encoding: chunked", "Content-Length: 4"])):
                with self.subTest(path=path, order=label):
                    self.assertRefused(label, path,
                                       self.head(path, "Content-Type: application/json", *lines) + chunked,
                                       400, then=smuggled + self.body(path))

    def test_unknown_transfer_coding_is_501_at_once(self):
        for path in self.paths():
            for te in ("gzip", "gzip, chunked", "identity", "x-unknown"):
                with self.subTest(path=path, te=te):
                    # the body is never sent: the answer cannot wait for it
                    self.assertRefused("Transfer-Encoding: " + te, path,
                                       self.head(path, "Content-Type: application/json",
                                                 "Transfer-Encoding: " + te), 501)

    def test_chunked_not_last_or_twice_is_400(self):
        for path in self.paths():
            for lines in (["Transfer-Encoding: chunked, gzip"],
                          ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
                          ["Transfer-Encoding: chunked, chunked"],
                          ["Transfer-Encoding: "]):
                with self.subTest(path=path, te=lines):
                    self.assertRefused(repr(lines), path,
                                       self.head(path, "Content-Type: application/json", *lines)
                                       + b"0\r\n\r\n", 400)

    def test_transfer_encoding_in_http_1_0_is_400(self):
        for path in self.paths():
            with self.subTest(path=path):
                self.assertRefused("HTTP/1.0 chunked", path,
                                   self.head(path, "Transfer-Encoding: chunked", version="HTTP/1.0")
                                   + b"0\r\n\r\n", 400)

    def test_http_1_1_needs_one_host(self):
        for path in self.paths():
            with self.subTest(path=path, host="none"):
                self.assertRefused("no Host", path, self.head(path, "Content-Length: 0", host=False), 400)
            with self.subTest(path=path, host="two"):
                self.assertRefused("two Host", path,
                                   self.head(path, "Host: example.com", "Content-Length: 0"), 400)
            with self.subTest(path=path, host="bad value"):
                self.assertRefused("Host with a space", path,
                                   self.head(path, "Content-Length: 0", host=False)[:-2]
                                   + b"Host: a b\r\n\r\n", 400)
        # HTTP/1.0 needs none
        r = exchange(self.shim.port, b"GET /openapi.json HTTP/1.0\r\n\r\n")
        self.assertTrue(r[0] and r[0][0][0] == 200, "HTTP/1.0 without Host: expected 200, observed %r"
                        % (r[0][:1],))

    def test_malformed_header_lines_are_400_with_a_body(self):
        for path in self.paths():
            for label, line in (("a line without a colon", "X-No-Colon"),
                                ("whitespace before the colon", "X-Space : v"),
                                ("a tab before the colon", "X-Tab\t: v"),
                                ("a name with a space", "X Bad: v")):
                with self.subTest(path=path, what=label):
                    self.assertRefused(label, path, self.head(path, line, "Content-Length: 2") + b"{}", 400)
            with self.subTest(path=path, what="whitespace before the credential's colon"):
                # the credential would be ignored (401): refused as malformed instead
                data = self.head(path, "Content-Length: 2") + b"{}"
                data = data.replace(b"x-APIKey:", b"x-APIKey :").replace(b"X-User-Id:", b"X-User-Id :")
                self.assertRefused("whitespace before the credential's colon", path, data, 400)

    def test_bad_content_length_is_400_with_a_body(self):
        for path in self.paths():
            for value in ("abc", "-5", "1 2", "+2", "0x10", "2, 3"):
                with self.subTest(path=path, content_length=value):
                    self.assertRefused("Content-Length: " + value, path,
                                       self.head(path, "Content-Length: " + value) + b"{}", 400)
            with self.subTest(path=path, content_length="two that differ"):
                self.assertRefused("Content-Length twice", path,
                                   self.head(path, "Content-Length: 2", "Content-Length: 3") + b"{} ", 400)
            with self.subTest(path=path, content_length="past 2^64"):
                self.assertRefused("Content-Length past 2^64", path,
                                   self.head(path, "Content-Length: 99999999999999999999999") + b"{}", 413)

    def test_same_content_length_twice_is_one(self):
        b = self.body(PARTOO)
        resps, _, _ = exchange(self.shim.port, self.head(PARTOO, "Content-Type: application/json",
                                                         "Content-Length: %d" % len(b),
                                                         "Content-Length: %d" % len(b),
                                                         "Connection: close") + b)
        self.assertTrue(resps, "no response")
        self.assertEqual(resps[0][0], 200, resps[0])

    def test_percent_encoded_paths_are_routed_decoded(self):
        plain = self.call("GET", "/v2/custom_role?per_page=5", headers=self.pkey("admin_a"))
        self.check_json(plain, 200)
        for path in ("/v2/custom_rol%65", "/v2/custom%5Frole", "/%76%32/custom_role", "/v2/custom_r%6fle"):
            with self.subTest(path=path):
                r = self.call("GET", path + "?per_page=5", headers=self.pkey("admin_a"))
                self.check_json(r, 200)
                self.assertEqual(json.loads(r.body), json.loads(plain.body), str(r))
        r = self.call("GET", "/api/v1/roles.lis%74", headers=self.rc_auth())
        self.assertEqual(self.check_json(r, 200).get("success"), True, str(r))
        name = self.uniq("pct")
        r = self.call("POST", "/api/v1/roles.cr%65ate", {"name": name}, self.rc_auth())
        self.assertEqual(self.assertRCRole(r)["name"], name)
        # an escaped '/' is part of a role's api_id, not a separator; an
        # escaped '%' is decoded once
        for path in ("/v2/custom_role%2Fmy", "/v2/custom_role/a%2Fb", "/v2/custom_role/a%2541"):
            with self.subTest(path=path):
                r = self.call("GET", path, headers=self.pkey("admin_a"))
                self.assertPartooDialect(r, 404)


if __name__ == "__main__":
    main()
