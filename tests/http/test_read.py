#!/usr/bin/python3
"""test_read.py: the GET endpoints (/v2/custom_role paging, one role,
/v2/permissions, /api/v1/roles.list), visibility between HTTP, RPC and
rolesctl in both directions, and keep-alive on one connection."""

import json
import os
import signal
import socket
import threading
import time
import urllib.parse

from harness import ORG0_BUILTINS, PARTOO_BUILTINS, catalog_names, list_all, wait_for
from httpharness import (ORG_A, ORG_B, ORG_C, ORG_UNKNOWN, PARTOO_EXAMPLE, WAIT, Shim,
                         ShimTestCase, main)


def create_workspace_roles(d, names, **fields):
    """Creates roles named names in the workspace (org 0), in that order,
    over one pipelined RPC connection, 500 in flight at most."""
    with d.rpc() as c:
        for i in range(0, len(names), 500):
            batch = names[i:i + 500]
            for n in batch:
                c.send_request("role.create", dict(fields, org=0, name=n))
            replies = c.recv_replies(len(batch))
            if not all(err is None for err, _ in replies.values()):
                raise AssertionError("role.create failed: %r" % replies)


def check_listed_once(tc, body, names, prefix):
    """roles.list's body holds each role once, the names starting with
    prefix being names in creation order, and as many as role.list counts."""
    listed = [x["name"] for x in body["roles"]]
    tc.assertEqual(len(listed), len(set(listed)), "a role listed twice")
    tc.assertEqual([n for n in listed if n.startswith(prefix)], names,
                   "every role once, in creation order")
    with tc.rpc() as c:
        tc.assertEqual(len(listed), c.ok("role.list", {"org": 0, "per_page": 1})["count"])


class PartooRead(ShimTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # 7 custom roles in org A (plus 5 built-ins = 12), by three routes
        cls.custom = []
        with cls.d.rpc() as c:
            for i in range(3):
                c.ok("role.create", {"org": ORG_A, "name": "rpc role %d" % i,
                                     "api_id": "rpc_role_%d" % i,
                                     "permissions": ["review_read"]})
                cls.custom.append("rpc_role_%d" % i)
        for i in range(2):
            cls.d.rolesctl("role", "create", "--org", str(ORG_A), "--name", "ctl role %d" % i,
                           "--permission", "business_edit", "--permission", "review_read",
                           json=True)
            cls.custom.append("ctl role %d" % i)        # api_id defaults to the name
        cls.d.rolesctl("role", "create", "--org", str(ORG_A), "--name", "Rôle é",
                       "--api-id", "rôle_é", "--description", "accents", json=True)
        cls.custom.append("rôle_é")
        cls.http_ok = False

    def get(self, path, key="admin_a"):
        return self.call("GET", path, headers=self.pkey(key) if key else {})

    def test_01_http_created_role_is_listed_and_readable(self):
        r = self.partoo_create(PARTOO_EXAMPLE)
        self.check_json(r, 200)
        type(self).custom.append("my_custom_role")
        body = self.check_json(self.get("/v2/custom_role/my_custom_role"), 200)
        self.assertEqual(body.get("api_id"), "my_custom_role", body)
        self.assertEqual(body.get("name"), "My Custom Role", body)
        self.assertEqual(sorted(body.get("permissions") or []),
                         sorted(PARTOO_EXAMPLE["permissions"]), body)
        self.assertIs(body.get("is_builtin"), False, body)

    def collect(self, per_page, key="admin_a", query=""):
        pages = []
        page = 1
        while True:
            r = self.get("/v2/custom_role?page=%d&per_page=%d%s" % (page, per_page, query), key)
            body = self.check_json(r, 200)
            for k in ("page", "max_page", "count"):
                self.assertIsInstance(body.get(k), int, "%s\n%s" % (k, r))
            self.assertIsInstance(body.get("custom_roles"), list, str(r))
            self.assertEqual(body["page"], page, str(r))
            self.assertLessEqual(len(body["custom_roles"]), per_page, str(r))
            pages.append(body)
            if page >= body["max_page"]:
                return pages
            self.assertEqual(len(body["custom_roles"]), per_page,
                             "a page before the last is not full\n%s" % r)
            page += 1
            self.assertLess(page, 1000)

    def test_02_paging(self):
        with self.rpc() as c:
            rpc_roles, rpc_count = list_all(c, ORG_A)
        for per_page in (1, 2, 5, 100):
            with self.subTest(per_page=per_page):
                pages = self.collect(per_page)
                count = pages[0]["count"]
                self.assertEqual(count, rpc_count)
                self.assertEqual(count, len(PARTOO_BUILTINS) + len(self.custom),
                                 "count includes built-ins")
                self.assertEqual(pages[0]["max_page"], -(-count // per_page))
                items = [x for p in pages for x in p["custom_roles"]]
                ids = [x.get("api_id") for x in items]
                self.assertEqual(len(ids), len(set(ids)), "a role on two pages: %r" % ids)
                self.assertEqual(sorted(ids), sorted(x["api_id"] for x in rpc_roles))
                for x in items:
                    self.assertIsInstance(x.get("name"), str, x)
                    self.assertIs(x.get("is_builtin"), x["api_id"] in PARTOO_BUILTINS, x)
                for b in PARTOO_BUILTINS:
                    self.assertIn(b, ids)
                for cst in self.custom:
                    self.assertIn(cst, ids, "role made through RPC/rolesctl/HTTP missing")

    def test_03_default_paging(self):
        body = self.check_json(self.get("/v2/custom_role"), 200)
        self.assertEqual(body["page"], 1)
        self.assertEqual(body["count"], len(PARTOO_BUILTINS) + len(self.custom))
        self.assertEqual(len(body["custom_roles"]), min(30, body["count"]))

    def test_provider_lists_with_org_id(self):
        body = self.check_json(self.get("/v2/custom_role?org_id=%d" % ORG_B, "provider_p1"),
                               200)
        self.assertEqual(body["count"], len(PARTOO_BUILTINS), body)
        names = {x["api_id"]: x["is_builtin"] for x in body["custom_roles"]}
        self.assertEqual(names, {b: True for b in PARTOO_BUILTINS})

    def test_list_errors(self):
        with self.subTest("unauthenticated"):
            self.assertPartoo401(self.get("/v2/custom_role", key=None))
            self.assertPartoo401(self.get("/v2/custom_role", key="wrong"))
        with self.subTest("other org"):
            self.assertPartoo403(self.get("/v2/custom_role?org_id=%d" % ORG_C))
            self.assertPartoo403(self.get("/v2/custom_role?org_id=%d" % ORG_UNKNOWN))
            self.assertPartoo403(self.get("/v2/custom_role?org_id=%d" % ORG_C, "provider_p1"))
            self.assertPartoo404Org(self.get("/v2/custom_role?org_id=%d" % ORG_UNKNOWN,
                                             "provider_p1"))
        with self.subTest("provider without org_id"):
            for path in ("/v2/custom_role", "/v2/permissions", "/v2/custom_role/ORG_ADMIN"):
                self.assertPartooFieldError(self.get(path, "provider_p1"), "org_id",
                                            ("query", "json"))
        for q, field in (("page=0", "page"), ("page=-1", "page"), ("page=abc", "page"),
                         ("per_page=0", "per_page"), ("per_page=101", "per_page"),
                         ("per_page=x", "per_page"), ("org_id=abc", "org_id")):
            with self.subTest(query=q):
                self.assertPartooFieldError(self.get("/v2/custom_role?" + q), field, "query")

    def test_head(self):
        for path, h in (("/v2/custom_role", self.pkey("admin_a")),
                        ("/api/v1/roles.list", self.rc_auth()), ("/openapi.json", {})):
            with self.subTest(path=path):
                r = self.call("HEAD", path, headers=h)
                self.assertEqual(r.status, 200, str(r))
                self.assertEqual(r.body, b"", str(r))
                self.assertEqual((r.header("Content-Type") or "").split(";")[0],
                                 "application/json", str(r))

    def test_per_page_100_is_allowed(self):
        self.check_json(self.get("/v2/custom_role?per_page=100"), 200)

    def test_one_role(self):
        for api_id, perms, builtin in (("ctl role 0", ["business_edit", "review_read"], False),
                                       ("rôle_é", [], False), ("rpc_role_1", ["review_read"],
                                                               False),
                                       ("ORG_ADMIN", None, True)):
            with self.subTest(api_id=api_id):
                r = self.get("/v2/custom_role/" + urllib.parse.quote(api_id))
                body = self.check_json(r, 200)
                self.assertEqual(body.get("api_id"), api_id, str(r))
                self.assertIsInstance(body.get("permissions"), list, str(r))
                if perms is not None:
                    self.assertEqual(sorted(body["permissions"]), sorted(perms), str(r))
                self.assertIs(body.get("is_builtin"), builtin, str(r))

    def test_reserved_characters_in_api_id_round_trip(self):
        for a in ("a+b c?d#e%f", "100%", "x&y=z", "é ü", "..", ".", "tab\there"):
            with self.subTest(api_id=a):
                self.check_json(self.partoo_create({"name": "N " + a, "api_id": a,
                                                    "permissions": ["review_read"]}), 200)
                r = self.get("/v2/custom_role/" + urllib.parse.quote(a, safe=""))
                body = self.check_json(r, 200)
                self.assertEqual(body["api_id"], a, str(r))
                self.assertEqual(body["permissions"], ["review_read"], str(r))
                type(self).custom.append(a)

    def test_percent_encoded_query(self):
        body = self.check_json(self.get("/v2/custom_role?org_id=%31%30%32&per_page=1",
                                        "provider_p1"), 200)
        self.assertEqual(body["count"], len(PARTOO_BUILTINS))

    def test_one_role_errors(self):
        self.assertPartooDialect(self.get("/v2/custom_role/no_such_role"), 404)
        self.assertPartoo401(self.get("/v2/custom_role/ORG_ADMIN", key=None))
        self.assertPartoo403(self.get("/v2/custom_role/ORG_ADMIN?org_id=%d" % ORG_C))
        # a role of another org is not found in one's own
        r = self.partoo_create(self.partoo_body(api_id="only_in_c"), key="admin_c")
        self.check_json(r, 200)
        self.assertPartooDialect(self.get("/v2/custom_role/only_in_c"), 404)
        body = self.check_json(self.get("/v2/custom_role/only_in_c?org_id=%d" % ORG_C,
                                        "provider_p2"), 200)
        self.assertEqual(body["api_id"], "only_in_c")

    def test_permissions(self):
        r = self.get("/v2/permissions")
        body = self.check_json(r, 200)
        self.assertIsInstance(body.get("sections"), list, str(r))
        self.assertTrue(body["sections"], str(r))
        names = catalog_names(body)
        for p in ("business_edit", "business_edit_name", "review_read"):
            self.assertIn(p, names, str(r)[:2000])
        with self.rpc() as c:
            self.assertEqual(names, catalog_names(c.ok("permission.catalog", {"org": ORG_A})))
        body = self.check_json(self.get("/v2/permissions?org_id=%d" % ORG_B, "provider_p1"),
                               200)
        self.assertIn("business_edit", catalog_names(body))
        self.assertPartoo401(self.get("/v2/permissions", key=None))
        self.assertPartoo403(self.get("/v2/permissions?org_id=%d" % ORG_C))


class RocketChatRead(ShimTestCase):

    def roles_list(self, user="alice"):
        return self.call("GET", "/api/v1/roles.list", headers=self.rc_auth(user))

    def listed(self, user="alice"):
        r = self.roles_list(user)
        body = self.check_json(r, 200)
        self.assertIs(body.get("success"), True, str(r))
        self.assertIsInstance(body.get("roles"), list, str(r))
        return {x["name"]: x for x in body["roles"]}, r

    def test_builtins(self):
        roles, r = self.listed()
        for n in ORG0_BUILTINS:
            self.assertIn(n, roles, str(r)[:2000])
            self.assertIs(roles[n].get("protected"), True, roles[n])
            self.assertEqual(roles[n].get("_id"), n, roles[n])
            self.assertIn(roles[n].get("scope"), ("Users", "Subscriptions"), roles[n])
            self.assertRegex(roles[n].get("_updatedAt", ""),
                             r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(len(roles), len(ORG0_BUILTINS), "only the built-ins so far")

    def test_roles_made_elsewhere_are_listed(self):
        self.d.rolesctl("role", "create", "--org", "0", "--name", "from-ctl", "--scope",
                        "Subscriptions", "--mandatory2fa", json=True)
        with self.rpc() as c:
            rid = c.ok("role.create", {"org": 0, "name": "from-rpc"})["id"]
        self.assertRCRole(self.rc_create({"name": "from-http", "description": "h"}))
        roles, r = self.listed()
        self.assertEqual(roles["from-ctl"]["scope"], "Subscriptions")
        self.assertIs(roles["from-ctl"]["mandatory2fa"], True)
        self.assertIs(roles["from-ctl"]["protected"], False)
        self.assertEqual(roles["from-rpc"]["_id"], rid)
        self.assertEqual(roles["from-http"]["description"], "h")
        out = self.d.rolesctl("role", "list", "--org", "0", "--all", json=True).json
        self.assertListed("from-http", [x["name"] for x in out["roles"]],
                          "rolesctl role list --all")
        # Partoo roles never show up in the workspace
        for n in ("ORG_ADMIN", "ORG_MANAGER"):
            self.assertNotIn(n, roles)

    def test_plain_user_may_list(self):
        roles, _ = self.listed("bob")
        self.assertIn("admin", roles)

    def test_many_pages(self):
        # roles.list has no paging: rolesd-http follows role.list's cursors
        # (100 roles a page) to the end, one RPC per page.
        names = ["page-%04d" % i for i in range(350)]
        create_workspace_roles(self.d, names)
        check_listed_once(self, self.check_json(self.roles_list(), 200), names, "page-")

    def test_unauthenticated(self):
        self.assertRC401(self.call("GET", "/api/v1/roles.list"))
        self.assertRC401(self.call("GET", "/api/v1/roles.list", headers={
            "X-User-Id": self.creds["users"]["alice"]["userId"], "X-Auth-Token": "bad"}))


def raw_get(port, path, headers, version="HTTP/1.1", rcvbuf=None, after_head=None,
            timeout=WAIT, progress=None):
    """GET with raw bytes, reading the answer until the server closes (HTTP/1.0)
    or ends the chunked body. rcvbuf: the socket's receive buffer (a small one
    keeps the server from getting far ahead of the reader); after_head: called
    once the status line and headers are in. Returns (head, body bytes as
    received, whether the server closed the connection)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(timeout)
        s.connect(("127.0.0.1", port))
        req = "GET %s %s\r\nHost: 127.0.0.1\r\n" % (path, version)
        req += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
        s.sendall(req.encode("latin-1"))
        data = b""
        while b"\r\n\r\n" not in data:
            d = s.recv(1024)
            if not d:
                raise AssertionError("connection closed before the head: %r" % data)
            data += d
        head, body = data.split(b"\r\n\r\n", 1)
        if after_head:
            after_head()
        closed = False
        while not body.endswith(b"\r\n0\r\n\r\n") or version != "HTTP/1.1":
            d = s.recv(65536)
            if not d:
                closed = True
                break
            body += d
            if progress is not None:
                progress[0] = len(body)
        return head.decode("latin-1"), body, closed
    finally:
        s.close()


def dechunk(body):
    """The payload of a chunked body, and whether its last chunk arrived."""
    out, pos = b"", 0
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            return out, False
        n = int(body[pos:eol].split(b";")[0], 16)
        if n == 0:
            return out, True
        if eol + 2 + n + 2 > len(body):
            return out + body[eol + 2:eol + 2 + n], False
        out += body[eol + 2:eol + 2 + n]
        pos = eol + 2 + n + 2


class LongList(ShimTestCase):
    """GET /api/v1/roles.list of a workspace whose list is megabytes long:
    rolesd-http sends it in parts as it pages through role.list (chunked),
    so that its memory does not grow with the list; a daemon lost midway
    cuts the body short instead of ending it."""

    ROLES = 4000
    DESCRIPTION = "d" * 2000    # about 2 KB of JSON a role: 8 MB in all

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.names = ["long-%05d" % i for i in range(cls.ROLES)]
        create_workspace_roles(cls.d, cls.names, description=cls.DESCRIPTION)

    def roles_list(self):
        return self.call("GET", "/api/v1/roles.list", headers=self.rc_auth())

    def check_list(self, body):
        check_listed_once(self, body, self.names, "long-")
        self.assertTrue(body["success"])

    def test_sent_in_parts(self):
        r = self.roles_list()
        self.assertGreater(len(r.body), 8_000_000)
        self.assertEqual((r.header("Transfer-Encoding") or "").lower(), "chunked", str(r)[:2000])
        self.assertIsNone(r.header("Content-Length"))
        self.check_list(self.check_json(r, 200, validate=False))

    def test_keep_alive_after_parts(self):
        conn = self.shim.conn()
        self.addCleanup(conn.close)
        for _ in range(2):
            r = self.call("GET", "/api/v1/roles.list", headers=self.rc_auth(), conn=conn)
            self.check_list(self.check_json(r, 200, validate=False))
        sock = conn.sock
        self.check_json(self.call("GET", "/openapi.json", conn=conn), 200, validate=False)
        self.assertIs(conn.sock, sock, "the connection was not kept after a chunked answer")

    def test_head_has_the_length_and_no_body(self):
        # HEAD and a second request sent together on one connection: the
        # second answer must follow the HEAD's header block at once (a
        # chunked HEAD answer from libmicrohttpd 0.9.75 carried a last
        # chunk, a body, which the client took for the next response).
        length = len(self.roles_list().body)
        auth = "".join("%s: %s\r\n" % kv for kv in self.rc_auth().items())
        req = ("HEAD /api/v1/roles.list HTTP/1.1\r\nHost: x\r\n%s\r\n"
               "GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n" % auth).encode()
        with socket.create_connection(("127.0.0.1", self.shim.port), timeout=WAIT) as s:
            s.sendall(req)
            data = b""
            while data.count(b"\r\n\r\n") < 2:
                d = s.recv(65536)
                self.assertTrue(d, "connection closed: %r" % data[:2000])
                data += d
        head, rest = data.split(b"\r\n\r\n", 1)
        head = head.decode("latin-1").lower()
        self.assertIn(" 200 ", head.split("\r\n")[0], head)
        self.assertIn("content-length: %d\r\n" % length, head + "\r\n")
        self.assertNotIn("chunked", head)
        self.assertTrue(rest.startswith(b"HTTP/1.1 200 "), "after the HEAD answer: %r" % rest[:200])

    def test_http10_client_gets_it_until_close(self):
        head, body, closed = raw_get(self.shim.port, "/api/v1/roles.list", self.rc_auth(),
                                     version="HTTP/1.0")
        self.assertTrue(head.startswith("HTTP/1.") and " 200 " in head.split("\r\n")[0], head)
        self.assertNotIn("chunked", head.lower())
        self.assertTrue(closed)
        self.check_list(json.loads(body))

    def test_cut_short_when_rolesd_stops_answering_midway(self):
        # The reader holds the shim back (a 4 KiB receive buffer; the shim's
        # own send buffer is at most 4 MiB, net.ipv4.tcp_wmem): once the
        # head is in, rolesd freezes; the shim runs out of pages, gives up
        # on the next after its RPC timeout, and closes without the last
        # chunk, so the client cannot take what it got for the whole list.
        pid = self.d.proc.pid
        self.addCleanup(lambda: self.d.running() and os.kill(pid, signal.SIGCONT))
        head, body, closed = raw_get(self.shim.port, "/api/v1/roles.list", self.rc_auth(),
                                     rcvbuf=4096, after_head=lambda: os.kill(pid, signal.SIGSTOP))
        os.kill(pid, signal.SIGCONT)
        self.assertIn(" 200 ", head.split("\r\n")[0], head)
        self.assertIn("transfer-encoding: chunked", head.lower())
        self.assertTrue(closed, "the shim kept the connection after a failed answer")
        payload, ended = dechunk(body)
        self.assertFalse(ended, "a list cut short was ended as if complete")
        self.assertTrue(payload.startswith(b'{"roles":['), payload[:100])
        self.assertLess(len(payload), 8_000_000)
        # Still serving, the whole list again once rolesd is back.
        wait_for(lambda: self.roles_list().status == 200, what="roles.list after SIGCONT")
        self.check_list(self.check_json(self.roles_list(), 200, validate=False))

    def test_sigterm_while_a_part_waits_on_rolesd(self):
        # A shim of its own, stopped while the list's next page waits on a
        # frozen rolesd: it exits 0 (libmicrohttpd must not be stopped with
        # the connection suspended) and the client sees the body cut short.
        sh = Shim(self.d.sock_path)
        self.addCleanup(sh.close)
        sh.start()
        pid = self.d.proc.pid
        self.addCleanup(lambda: self.d.running() and os.kill(pid, signal.SIGCONT))
        got, out = [0], []

        def get():
            try:
                out.append(raw_get(sh.port, "/api/v1/roles.list", self.rc_auth(), rcvbuf=4096,
                                   after_head=lambda: os.kill(pid, signal.SIGSTOP), progress=got))
            except OSError as e:
                out.append(e)
        t = threading.Thread(target=get, daemon=True)
        t.start()
        # Until the client stops getting bytes: the shim waits for a page.
        last = [-1, time.monotonic()]

        def settled():
            if got[0] != last[0]:
                last[:] = [got[0], time.monotonic()]
            return got[0] > 0 and time.monotonic() - last[1] > 0.3
        wait_for(settled, what="the shim to send what it had")
        rc = sh.stop(signal.SIGTERM)
        os.kill(pid, signal.SIGCONT)
        t.join(WAIT)
        self.assertEqual(rc, 0, "rolesd-http exit status after SIGTERM mid-list; stderr:\n%s"
                         % sh.stderr_text())
        self.assertEqual(len(out), 1)
        if not isinstance(out[0], OSError):     # a reset is cut short too
            head, body, closed = out[0]
            self.assertTrue(closed)
            self.assertFalse(dechunk(body)[1], "a list cut short was ended as if complete")
        self.check_list(self.check_json(self.roles_list(), 200, validate=False))


class KeepAlive(ShimTestCase):

    def test_requests_on_one_connection(self):
        conn = self.shim.conn()
        self.addCleanup(conn.close)
        seq = [
            ("GET", "/openapi.json", None, {}, 200),
            ("GET", "/api/v1/roles.list", None, self.rc_auth(), 200),
            ("POST", "/api/v1/roles.create", {"name": "ka-1"}, self.rc_auth(), 200),
            ("POST", "/api/v1/roles.create", {"name": "ka-1"}, self.rc_auth(), 400),
            ("POST", "/v2/custom_role", self.partoo_body(), self.pkey("admin_a"), 200),
            ("POST", "/v2/custom_role", {"name": 1}, self.pkey("admin_a"), 400),
            ("GET", "/v2/custom_role?per_page=2", None, self.pkey("admin_a"), 200),
            ("GET", "/v2/custom_role", None, {"x-APIKey": "wrong"}, 401),
            ("GET", "/v2/permissions", None, self.pkey("admin_a"), 200),
            ("GET", "/v2/no-such-thing", None, self.pkey("admin_a"), 404),
            ("GET", "/api/v1/roles.list", None, self.rc_auth(), 200),
        ]
        first_sock = None
        for i, (m, p, b, h, st) in enumerate(seq):
            r = self.call(m, p, b, h, conn=conn)
            self.check_json(r, st)
            self.assertIsNotNone(conn.sock, "http.client closed the connection after "
                                 "request %d\n%s" % (i, r))
            if first_sock is None:
                first_sock = conn.sock
            self.assertIs(conn.sock, first_sock, "a new connection was opened for request "
                          "%d\n%s" % (i, r))
            conn_hdr = (r.header("Connection") or "").lower()
            self.assertNotIn("close", conn_hdr, "server closed after request %d\n%s" % (i, r))

    def test_hundreds_of_requests_on_one_connection(self):
        conn = self.shim.conn()
        self.addCleanup(conn.close)
        sock = None
        for i in range(300):
            if i % 3 == 0:
                r = self.call("POST", "/api/v1/roles.create", {"name": "many-%d" % i},
                              self.rc_auth(), conn=conn)
                self.assertEqual(r.status, 200, str(r))
            elif i % 3 == 1:
                r = self.call("POST", "/v2/custom_role", "{", self.pkey("admin_a"), conn=conn)
                self.assertEqual(r.status, 400, str(r))
            else:
                r = self.call("GET", "/v2/custom_role?per_page=1", None, self.pkey("admin_a"),
                              conn=conn)
                self.assertEqual(r.status, 200, str(r))
            if sock is None:
                sock = conn.sock
            self.assertIs(conn.sock, sock, "connection not reused at request %d\n%s" % (i, r))

    def test_pipelined_requests(self):
        # two requests written back to back before reading either
        import socket
        s = socket.create_connection(("127.0.0.1", self.shim.port), timeout=30)
        self.addCleanup(s.close)
        h = self.rc_auth()
        req = ("GET /api/v1/roles.list HTTP/1.1\r\nHost: x\r\nX-User-Id: %s\r\n"
               "X-Auth-Token: %s\r\n\r\n" % (h["X-User-Id"], h["X-Auth-Token"])).encode()
        s.sendall(req + req)
        import http.client
        f = s.makefile("rb")          # one buffered reader for both responses
        self.addCleanup(f.close)

        class NoClose:
            def __getattr__(self, name):
                return getattr(f, name)

            def close(self):
                pass

        class OneFile:
            def makefile(self, *a, **k):
                return NoClose()
        for i in range(2):
            resp = http.client.HTTPResponse(OneFile(), method="GET")
            resp.begin()
            data = resp.read()
            self.assertEqual(resp.status, 200, "pipelined response %d: %r" % (i, data[:300]))


if __name__ == "__main__":
    main()
