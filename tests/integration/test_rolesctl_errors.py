#!/usr/bin/python3
"""test_rolesctl_errors.py: rolesctl's listings and failures as an
administrator and a script meet them, against the real daemon: the total
of `role list --all` from any page, a page past the last, --after, errors
as JSON under --json, the exit status of each error class, --timeout
against a stopped daemon, and secrets that cannot be written."""

import json
import os
import signal
import subprocess
import tempfile
import unittest

from harness import (PARTOO_BUILTINS, WAIT, DaemonTestCase, main, rolesctl_path,
                     run_rolesctl)

EXIT_REFUSED, EXIT_USAGE, EXIT_DENIED, EXIT_UNAVAILABLE, EXIT_SYSTEM = 1, 2, 3, 4, 5


class RolesctlErrorsTest(DaemonTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.d.rpc() as c:
            c.ok("org.add", {"id": 300, "provider": "p300"})
            for i in range(70):
                c.ok("role.create", {"org": 300, "name": "many-%02d" % i})

    @property
    def total(self):
        """Organization 300's roles now (other tests add some)."""
        with self.d.rpc() as c:
            return c.ok("role.list", {"org": 300})["count"]

    def ctl(self, *args, **kw):
        return self.d.rolesctl(*args, **kw)

    def assertFails(self, p, status, code=None, field=None):
        """p exited status with one line on stderr (naming code) and nothing
        on stdout; under --json that line is {"error": {code, message,
        field}}, which is returned."""
        self.assertEqual(p.returncode, status, "%r: %r / %r" % (p.cmd, p.stdout, p.stderr))
        self.assertEqual(p.stdout, "", "nothing on stdout on failure: %r" % p.stdout)
        lines = p.stderr.strip("\n").split("\n")
        self.assertEqual(len(lines), 1, "exactly one stderr line, got %r" % p.stderr)
        if "--json" not in p.cmd:
            if code:
                self.assertIn(code, lines[0])
            return None
        js = json.loads(lines[0])
        self.assertEqual(set(js), {"error"})
        self.assertEqual(set(js["error"]), {"code", "message", "field"})
        self.assertIsInstance(js["error"]["message"], str)
        self.assertTrue(js["error"]["message"])
        if code:
            self.assertEqual(js["error"]["code"], code)
        if field is not None:
            self.assertEqual(js["error"]["field"], field)
        return js["error"]

    def names(self, js):
        return [r["name"] for r in js["roles"]]

    # ------------------------------------------------------------ listings

    def test_all_total_from_any_page(self):
        every = self.names(self.ctl("role", "list", "--org", "300", "--all", json=True).json)
        self.assertGreaterEqual(len(every), 70 + len(PARTOO_BUILTINS))
        self.assertEqual(len(every), self.total)
        js = self.ctl("role", "list", "--org", "300", "--all", json=True).json
        self.assertEqual(js["count"], self.total)
        js = self.ctl("role", "list", "--org", "300", "--all", "--page", "2", "--per-page", "30",
                      json=True).json
        self.assertEqual(self.names(js), every[30:])
        self.assertEqual(js["count"], self.total, "the organization's total, not the roles shown")
        t = self.ctl("role", "list", "--org", "300", "--all", "--page", "2", "--per-page", "30").stdout
        self.assertIn("%d of %d roles" % (self.total - 30, self.total), t)
        t = self.ctl("role", "list", "--org", "300", "--all").stdout
        self.assertIn("\n%d roles in organization 300" % self.total, t)

    def test_page_past_last_is_an_error(self):
        last = self.ctl("role", "list", "--org", "300", "--per-page", "30", json=True).json["max_page"]
        self.assertEqual(last, 3)
        js = self.ctl("role", "list", "--org", "300", "--page", "3", json=True).json
        self.assertEqual(len(js["roles"]), self.total - 60)
        for extra in ([], ["--all"]):
            p = self.ctl("role", "list", "--org", "300", "--page", "9", "--per-page", "30", *extra, check=False)
            self.assertFails(p, EXIT_REFUSED, "invalid_argument")
            self.assertIn("past the last page (3)", p.stderr)
            p = self.ctl("role", "list", "--org", "300", "--page", "4", "--per-page", "30", *extra, check=False,
                         json=True)
            self.assertFails(p, EXIT_REFUSED, "invalid_argument", "page")

    def test_after(self):
        js = self.ctl("role", "list", "--org", "300", "--per-page", "10", json=True).json
        page2 = self.ctl("role", "list", "--org", "300", "--per-page", "10", "--page", "2", json=True).json
        nxt = self.ctl("role", "list", "--org", "300", "--per-page", "10", "--after", js["next"],
                       json=True).json
        self.assertEqual(self.names(nxt), self.names(page2))
        self.assertEqual(nxt["count"], self.total)
        # the text listing says how to get the next page
        t = self.ctl("role", "list", "--org", "300", "--per-page", "10").stdout
        self.assertIn("--after " + js["next"], t)
        # --all from a cursor: everything after it
        rest = self.ctl("role", "list", "--org", "300", "--per-page", "10", "--all", "--after", js["next"],
                        json=True).json
        every = self.names(self.ctl("role", "list", "--org", "300", "--all", json=True).json)
        self.assertEqual(self.names(rest), every[10:])
        # a cursor the daemon did not make; --after with --page
        p = self.ctl("role", "list", "--org", "300", "--after", "zzz", check=False, json=True)
        self.assertFails(p, EXIT_REFUSED, "invalid_argument", "after")
        p = self.ctl("role", "list", "--org", "300", "--after", js["next"], "--page", "2", check=False)
        self.assertFails(p, EXIT_USAGE)

    # ------------------------------------------------------------ errors

    def test_json_errors(self):
        self.ctl("role", "create", "--org", "300", "--name", "Taken")
        e = self.assertFails(self.ctl("role", "create", "--org", "300", "--name", "Taken", check=False,
                                      json=True), EXIT_REFUSED, "duplicate")
        self.assertIn(e["field"], ("name", "api_id"))
        e = self.assertFails(self.ctl("role", "list", "--org", "999", check=False, json=True),
                             EXIT_REFUSED, "not_found", "org")
        e = self.assertFails(self.ctl("role", "get", "--org", "300", "--api-id", "nope", check=False,
                                      json=True), EXIT_REFUSED, "not_found", "api_id")
        self.assertFails(self.ctl("role", "create", "--org", "300", "--name", "a,b", check=False, json=True),
                         EXIT_REFUSED, "invalid_argument", "name")
        dead = tempfile.mkdtemp(prefix="rolesd-it-dead-")
        self.addCleanup(os.rmdir, dead)
        p = run_rolesctl("status", json=True, socket_path=os.path.join(dead, "none.sock"), check=False)
        e = self.assertFails(p, EXIT_UNAVAILABLE, "unavailable", None)
        self.assertIsNone(e["field"])
        self.assertIn("none.sock", e["message"])

    def test_exit_status_by_class(self):
        for args in (["role", "create", "--org", "300", "--name", "many-01"],     # duplicate
                     ["role", "get", "--org", "300", "--name", "nope"],           # not_found
                     ["role", "create", "--org", "300", "--name", "x", "--scope", "Rooms"]):
            self.assertFails(self.ctl(*args, check=False), EXIT_REFUSED)
        for args in (["frobnicate"], ["role", "list", "--timeout", "soon"], ["status", "--timeout", "-1"]):
            self.assertFails(self.ctl(*args, check=False), EXIT_USAGE)
        p = run_rolesctl("status", socket_path="/nonexistent/rolesd.sock", check=False)
        self.assertFails(p, EXIT_UNAVAILABLE, "unavailable")
        self.assertIn("is rolesd running", p.stderr)
        # output that cannot be written: the system's failure
        with open("/dev/full", "w") as full:
            p = subprocess.run([rolesctl_path(), "--socket", self.d.sock_path, "role", "list", "--org", "300"],
                               stdout=full, stderr=subprocess.PIPE, text=True, timeout=WAIT)
        self.assertEqual(p.returncode, EXIT_SYSTEM, p.stderr)
        self.assertIn("cannot write output", p.stderr)

    def test_timeout_against_a_stopped_daemon(self):
        os.kill(self.d.pid, signal.SIGSTOP)
        try:
            p = self.ctl("--timeout", "0.5", "status", check=False)
            self.assertFails(p, EXIT_UNAVAILABLE, "unavailable")
            self.assertIn("did not answer", p.stderr)
            self.assertIn("--timeout", p.stderr)
            p = self.ctl("org", "add", "301", "--timeout", "0.5", check=False, json=True)
            e = self.assertFails(p, EXIT_UNAVAILABLE, "unavailable")
            self.assertIn("unknown", e["message"], "a write's outcome is unknown")
            # without --timeout the default bound ends the wait too (run_rolesctl
            # fails the test if rolesctl does not finish)
            self.assertFails(self.ctl("status", check=False), EXIT_UNAVAILABLE, "unavailable")
        finally:
            os.kill(self.d.pid, signal.SIGCONT)
        self.assertIn("version", self.ctl("status", json=True).json)
        self.assertEqual(self.ctl("status", "--timeout", "0", json=True).returncode, 0)

    # ------------------------------------------------------------ secrets

    def key_ids(self, org):
        with self.d.rpc() as c:
            return [k["key_id"] for k in c.ok("key.list", {"org": org})["keys"]]

    def test_secret_to_a_full_disk_fails_and_keeps_nothing(self):
        def to_full(*args):
            with open("/dev/full", "w") as full:
                return subprocess.run([rolesctl_path(), "--socket", self.d.sock_path] + list(args),
                                      stdout=full, stderr=subprocess.PIPE, text=True, timeout=WAIT)
        before = self.key_ids(300)
        for extra in ([], ["--json"]):
            p = to_full("key", "add", "--user-role", "ORG_ADMIN", "--org", "300", *extra)
            self.assertEqual(p.returncode, EXIT_SYSTEM, p.stderr)
            self.assertIn("cannot write", p.stderr)
            self.assertIn("revoked", p.stderr)
            self.assertEqual(len(p.stderr.strip("\n").split("\n")), 1, p.stderr)
            self.assertEqual(self.key_ids(300), before, "the key nobody saw is revoked")
            p = to_full("user", "add", "carol", *extra)
            self.assertEqual(p.returncode, EXIT_SYSTEM, p.stderr)
            self.assertIn("removed", p.stderr)
            with self.d.rpc() as c:
                err, _ = c.call("user.roles", {"org": 0, "user": "carol"})
            self.assertEqual(err and err["code"], "not_found", "the user nobody has a token of is gone")
        # the same commands written where they can be: the secrets work
        key = self.ctl("key", "add", "--user-role", "ORG_ADMIN", "--org", "300", json=True).json["api_key"]
        self.assertEqual(self.key_ids(300), sorted(before + [key[:16]]))
        u = self.ctl("user", "add", "carol", json=True).json
        with self.d.rpc() as c:
            c.ok("role.list", {"org": 0}, auth={"user_id": u["userId"], "token": u["authToken"]})
            c.ok("role.list", {"org": 300}, auth={"api_key": key})


@unittest.skipUnless(os.geteuid() == 0, "needs root to run rolesctl as nobody")
class RolesctlRefusedPeerTest(DaemonTestCase):
    """A peer the daemon refuses (socket mode 0666, so the kernel lets it
    connect): permission_denied, exit 3."""

    daemon_kwargs = {"socket_mode": 0o666}

    def test_refused_peer_exits_3(self):
        for json_mode in ([], ["--json"]):
            cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", rolesctl_path(),
                   "--socket", self.d.sock_path, "status"] + json_mode
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT * 2, cwd="/")
            self.assertEqual(p.returncode, EXIT_DENIED, p.stderr)
            self.assertEqual(p.stdout, "")
            self.assertIn("permission_denied", p.stderr)


if __name__ == "__main__":
    main()
