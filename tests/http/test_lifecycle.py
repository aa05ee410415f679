#!/usr/bin/python3
"""test_lifecycle.py: rolesd-http as a systemd service. READY=1 on
NOTIFY_SOCKET, socket activation (LISTEN_FDS via systemd-socket-activate),
ROLESD_SOCKET, --help/--version and clear start-up failures, SIGTERM; 503 in
each dialect while rolesd is down (SIGTERM, SIGKILL, socket file gone, not
started yet) and recovery when rolesd comes back on the same socket without
restarting the shim."""

import os
import signal
import socket
import subprocess
import unittest

from httpharness import (ORG_A, WAIT, Daemon, Shim, ShimTestCase,
                         http_call, main, provision, shim_path, wait_for)


def established_to(port):
    """Established TCP connections to a local port (from /proc/net/tcp)."""
    n = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            local, state = parts[1], parts[3]
            if state == "01" and int(local.split(":")[1], 16) == port:
                n += 1
    return n


def run_shim(*args, timeout=WAIT):
    try:
        return subprocess.run([shim_path()] + list(args), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=timeout,
                              env={k: v for k, v in os.environ.items()
                                   if k not in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID")})
    except subprocess.TimeoutExpired as e:
        raise AssertionError("rolesd-http %r did not exit within %ss (stderr so far: %r)"
                             % (args, timeout, e.stderr))


class CommandLine(unittest.TestCase):

    def test_version(self):
        p = run_shim("--version")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.strip(), "--version printed nothing")

    def test_help(self):
        p = run_shim("--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("--listen", p.stdout)
        self.assertIn("--socket", p.stdout)

    def one_line_failure(self, *args):
        p = run_shim(*args)
        self.assertNotEqual(p.returncode, 0, "rolesd-http %r succeeded" % (args,))
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, "expected one clear line on stderr for %r, got:\n%s"
                         % (args, p.stderr))
        return lines[0]

    def test_unknown_option(self):
        self.one_line_failure("--no-such-option")

    def test_bad_listen_address(self):
        self.one_line_failure("--listen", "not-an-address")

    def test_port_in_use(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(s.close)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        self.one_line_failure("--listen", "127.0.0.1:%d" % port, "--socket", "/nonexistent.sock")


class Readiness(ShimTestCase):

    def test_ready_notification(self):
        wait_for(lambda: self.shim.has_ready(self.shim.ready_since),
                 what="READY=1 from rolesd-http on NOTIFY_SOCKET (got %r)"
                 % (self.shim.notify_lines(),))

    def test_sigterm_exits_0(self):
        d = self.d
        sh = Shim(d.sock_path)
        self.addCleanup(sh.close)
        sh.start()
        r = http_call(sh.port, "GET", "/api/v1/roles.list", headers=self.rc_auth())
        self.check_json(r, 200)
        rc = sh.stop(signal.SIGTERM)
        self.assertEqual(rc, 0, "rolesd-http exit status after SIGTERM; stderr:\n%s"
                         % sh.stderr_text())

    def test_sigterm_with_requests_waiting_on_rolesd(self):
        # Requests suspended while their calls wait on a frozen rolesd: the
        # shim answers them (503) and exits 0, promptly (libmicrohttpd must
        # not be stopped with suspended connections).
        import threading
        d = self.d
        sh = Shim(d.sock_path)
        self.addCleanup(sh.close)
        sh.start()
        self.check_json(http_call(sh.port, "GET", "/api/v1/roles.list", headers=self.rc_auth()), 200)
        os.kill(d.proc.pid, signal.SIGSTOP)
        self.addCleanup(lambda: d.running() and os.kill(d.proc.pid, signal.SIGCONT))
        results = []

        def get():
            try:
                results.append(http_call(sh.port, "GET", "/api/v1/roles.list", headers=self.rc_auth()))
            except OSError as e:
                results.append(e)
        ts = [threading.Thread(target=get, daemon=True) for _ in range(8)]
        for t in ts:
            t.start()
        wait_for(lambda: established_to(sh.port) >= 8, what="8 requests to reach the shim")
        rc = sh.stop(signal.SIGTERM)
        os.kill(d.proc.pid, signal.SIGCONT)
        for t in ts:
            t.join(WAIT)
        self.assertEqual(rc, 0, "rolesd-http exit status after SIGTERM with requests waiting; "
                         "stderr:\n%s" % sh.stderr_text())
        self.assertEqual(len(results), 8)
        answered = [r for r in results if not isinstance(r, OSError)]
        self.assertTrue(answered, "no request waiting on rolesd was answered: %r" % results)
        for r in answered:          # one not yet read when the shim stopped sees the close
            self.assertRCDialect(r, 503)


class SocketActivation(ShimTestCase):
    shim_kwargs = {"activate": True}

    def test_ready_and_serves_passed_socket(self):
        wait_for(lambda: self.shim.has_ready(self.shim.ready_since),
                 what="READY=1 from the socket-activated rolesd-http")
        self.check_json(self.call("GET", "/api/v1/roles.list", headers=self.rc_auth()), 200)
        self.assertRCRole(self.rc_create({"name": "activated"}))
        b = self.partoo_body()
        self.check_json(self.partoo_create(b), 200)
        with self.rpc() as c:
            self.assertIsNone(c.call("role.get", {"org": ORG_A, "api_id": b["api_id"]})[0])

    def test_same_process_keeps_serving(self):
        pid = self.shim.proc.pid
        for _ in range(5):
            self.check_json(self.call("GET", "/v2/permissions", headers=self.pkey("admin_a")),
                            200)
        self.assertEqual(self.shim.proc.pid, pid)
        self.assertTrue(self.shim.running())


class RolesdSocketFromEnvironment(ShimTestCase):
    shim_kwargs = {"socket_arg": False}

    def test_uses_ROLESD_SOCKET(self):
        self.check_json(self.call("GET", "/api/v1/roles.list", headers=self.rc_auth()), 200)
        self.assertRCRole(self.rc_create({"name": "via-env"}))


class DaemonDown(ShimTestCase):

    def requests(self):
        """(description, method, path, body, headers, dialect assertion)."""
        return [
            ("partoo create", "POST", "/v2/custom_role", self.partoo_body(),
             self.pkey("admin_a"), self.assertPartooDialect),
            ("partoo list", "GET", "/v2/custom_role", None, self.pkey("admin_a"),
             self.assertPartooDialect),
            ("partoo one", "GET", "/v2/custom_role/ORG_ADMIN", None, self.pkey("admin_a"),
             self.assertPartooDialect),
            ("partoo permissions", "GET", "/v2/permissions", None, self.pkey("admin_a"),
             self.assertPartooDialect),
            ("rc create", "POST", "/api/v1/roles.create", {"name": self.uniq("down")},
             self.rc_auth(), self.assertRCDialect),
            ("rc list", "GET", "/api/v1/roles.list", None, self.rc_auth(),
             self.assertRCDialect),
            ("partoo update", "PUT", "/v2/custom_role/some_role", {"description": "d"},
             self.pkey("admin_a"), self.assertPartooDialect),
            ("partoo delete", "DELETE", "/v2/custom_role/some_role", None, self.pkey("admin_a"),
             self.assertPartooDialect),
            ("partoo duplicate", "POST", "/v2/custom_role/duplicate?custom_role_api_id=some_role",
             None, self.pkey("admin_a"), self.assertPartooDialect),
            ("rc update", "POST", "/api/v1/roles.update", {"roleId": "bot", "name": "bot"},
             self.rc_auth(), self.assertRCDialect),
            ("rc delete", "POST", "/api/v1/roles.delete", {"roleId": "some"}, self.rc_auth(),
             self.assertRCDialect),
            ("rc add user", "POST", "/api/v1/roles.addUserToRole",
             {"username": "bob", "roleId": "bot"}, self.rc_auth(), self.assertRCDialect),
            ("rc remove user", "POST", "/api/v1/roles.removeUserFromRole",
             {"username": "bob", "roleId": "bot"}, self.rc_auth(), self.assertRCDialect),
            ("rc users in role", "GET", "/api/v1/roles.getUsersInRole?role=admin", None,
             self.rc_auth(), self.assertRCDialect),
        ]

    def expect_503_everywhere(self, conn=None):
        for desc, m, p, b, h, dialect in self.requests():
            with self.subTest(desc):
                dialect(self.call(m, p, b, h), 503)
        if conn is not None:
            r = self.call("GET", "/api/v1/roles.list", None, self.rc_auth(), conn=conn)
            self.assertRCDialect(r, 503)

    def wait_recovered(self):
        def ok():
            r = self.call("GET", "/api/v1/roles.list", headers=self.rc_auth())
            return r.status == 200
        wait_for(ok, what="rolesd-http to reach the restarted rolesd")

    def burst(self, n=40):
        """n concurrent requests on n connections, so that every worker
        thread of the shim (and its rolesd connection) gets some."""
        from test_concurrency import run_threads
        rs = run_threads(n, lambda i: self.call("GET", "/api/v1/roles.list",
                                                headers=self.rc_auth()))
        return rs

    def test_503_and_recovery(self):
        pid = self.shim.proc.pid
        for r in self.burst():          # every worker holds a rolesd connection now
            self.assertNotIsInstance(r, BaseException, repr(r))
            self.check_json(r, 200)
        conn = self.shim.conn()
        self.addCleanup(conn.close)
        self.check_json(self.call("GET", "/api/v1/roles.list", None, self.rc_auth(),
                                  conn=conn), 200)
        self.check_json(self.partoo_create(self.partoo_body()), 200)
        for sig, unlink in ((signal.SIGTERM, False), (signal.SIGKILL, True)):
            with self.subTest(signal=sig, socket_removed=unlink):
                self.d.stop(sig)
                if unlink:
                    os.unlink(self.d.sock_path)
                self.expect_503_everywhere(conn if sig == signal.SIGTERM else None)
                # nothing crashed meanwhile, and 503s do not accumulate into a wedge
                self.assertTrue(self.shim.running(), self.shim.stderr_text())
                self.d.start()
                self.wait_recovered()
                self.assertEqual(self.shim.proc.pid, pid, "the shim was restarted")
                # no worker answers from a stale rolesd connection
                for r in self.burst():
                    self.assertNotIsInstance(r, BaseException, repr(r))
                    self.check_json(r, 200)
                b = self.partoo_body()
                self.assertEqual(self.check_json(self.partoo_create(b), 200)["api_id"],
                                 b["api_id"])
                role = self.assertRCRole(self.rc_create({"name": self.uniq("back")}))
                with self.rpc() as c:
                    self.assertIsNone(c.call("role.get", {"org": ORG_A,
                                                          "api_id": b["api_id"]})[0])
                    self.assertIsNone(c.call("role.get", {"org": 0, "id": role["_id"]})[0])


class FrozenDaemon(ShimTestCase):
    """rolesd alive but not answering (SIGSTOP: a hung or overloaded daemon).
    The shim must not hang with it: requests that need rolesd get an answer
    (503) and GET /openapi.json, which needs no rolesd, is still served.
    FROZEN_BOUND is generous for both (a static document; an RPC timeout),
    and keeps the suite's wall time bounded when the shim has no timeout."""

    FROZEN_BOUND = 20

    def test_requests_while_rolesd_is_frozen(self):
        from test_concurrency import run_threads
        self.check_json(self.call("GET", "/api/v1/roles.list", headers=self.rc_auth()), 200)
        os.kill(self.d.proc.pid, signal.SIGSTOP)
        self.addCleanup(lambda: self.d.running() and os.kill(self.d.proc.pid, signal.SIGCONT))
        results = {}

        def stuck(i):
            return http_call(self.shim.port, "GET", "/api/v1/roles.list",
                             headers=self.rc_auth(), timeout=self.FROZEN_BOUND)
        import threading
        t = threading.Thread(target=lambda: results.update(
            lists=run_threads(12, stuck)), daemon=True)
        t.start()
        wait_for(lambda: self.shim_connections() >= 12 or not t.is_alive(),
                 what="12 requests to reach the shim")
        try:
            r = http_call(self.shim.port, "GET", "/openapi.json", timeout=self.FROZEN_BOUND)
            static = r.status
        except OSError as e:
            static = e
        t.join(self.FROZEN_BOUND + 30)
        os.kill(self.d.proc.pid, signal.SIGCONT)
        self.assertEqual(static, 200, "GET /openapi.json while rolesd is frozen: %r (no "
                         "answer within %ss)" % (static, self.FROZEN_BOUND))
        for r in results.get("lists", []):
            self.assertNotIsInstance(r, BaseException,
                                     "roles.list while rolesd is frozen: no answer within %ss "
                                     "(%r); expected 503" % (self.FROZEN_BOUND, r))
            self.assertRCDialect(r, 503)
        wait_for(lambda: self.call("GET", "/api/v1/roles.list",
                                   headers=self.rc_auth()).status == 200,
                 what="service after rolesd resumed")

    def shim_connections(self):
        return established_to(self.shim.port)


class ShimBeforeDaemon(ShimTestCase):
    """The shim starts while rolesd is not there yet."""
    daemon_kwargs = {"start": False}
    do_provision = False

    def test_503_then_serves(self):
        self.assertPartooDialect(self.call("POST", "/v2/custom_role", self.partoo_body(),
                                           {"x-APIKey": "k" * 40}), 503)
        self.assertRCDialect(self.call("GET", "/api/v1/roles.list", None,
                                       {"X-User-Id": "someone", "X-Auth-Token": "t" * 20}), 503)
        self.d.start()
        type(self).creds = provision(self.d)
        wait_for(lambda: self.call("GET", "/api/v1/roles.list",
                                   headers=self.rc_auth()).status == 200,
                 what="rolesd-http to reach rolesd once it is up")
        self.check_json(self.call("GET", "/api/v1/roles.list", headers=self.rc_auth()), 200)
        self.check_json(self.partoo_create(self.partoo_body()), 200)


if __name__ == "__main__":
    main()
