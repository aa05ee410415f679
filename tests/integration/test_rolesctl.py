#!/usr/bin/python3
"""test_rolesctl.py: the real rolesctl against the real daemon, in text and
--json modes: output shapes, exit statuses and the one-line errors."""

import json
import os
import subprocess
import tempfile

from harness import (PARTOO_BUILTINS, DaemonTestCase, main, rolesctl_path,
                     rolesd_path, run_rolesctl)


def roles_of(js):
    """The roles in `role list --json` output (the role.list result, or a
    bare array)."""
    if isinstance(js, dict):
        return js["roles"]
    return js


class RolesctlTest(DaemonTestCase):

    def ctl(self, *args, **kw):
        return self.d.rolesctl(*args, **kw)

    def assertOneLineError(self, p, status, word=None):
        self.assertEqual(p.returncode, status, "%r: %r / %r" % (p.cmd, p.stdout, p.stderr))
        lines = p.stderr.strip("\n").split("\n")
        self.assertEqual(len(lines), 1, "exactly one stderr line, got %r" % p.stderr)
        self.assertTrue(lines[0].strip(), "an empty error line")
        if word:
            self.assertIn(word, lines[0])

    # ------------------------------------------------------------ programs

    def test_help_and_version(self):
        status = self.ctl("status", json=True).json
        for prog in (rolesctl_path(), rolesd_path()):
            for flag in ("--help", "--version"):
                p = subprocess.run([prog, flag], capture_output=True, text=True, timeout=30,
                                   stdin=subprocess.DEVNULL)
                self.assertEqual(p.returncode, 0, "%s %s: %r" % (prog, flag, p.stderr))
                self.assertTrue(p.stdout.strip(), "%s %s printed nothing" % (prog, flag))
            p = subprocess.run([prog, "--version"], capture_output=True, text=True, timeout=30)
            self.assertIn(status["version"], p.stdout)
        p = subprocess.run([rolesctl_path(), "--help"], capture_output=True, text=True)
        for word in ("status", "role", "org", "key", "user", "--json", "--socket"):
            self.assertIn(word, p.stdout)

    # ------------------------------------------------------------ status

    def test_status(self):
        p = self.ctl("status", json=True)
        js = p.json
        self.assertIsInstance(js["version"], str)
        self.assertIsInstance(js["organizations"], int)
        self.assertIsInstance(js["roles"], int)
        self.assertGreaterEqual(js["roles"], 12)
        t = self.ctl("status")
        self.assertIn(js["version"], t.stdout)
        self.assertIn(str(js["roles"]), t.stdout)
        self.assertEqual(t.stderr, "")

    def test_socket_option_position_and_env(self):
        a = self.ctl("status", json=True).json
        b = self.ctl("status", json=True, socket_after=True).json
        self.assertEqual(a["version"], b["version"])
        # --json between the command words' options too
        p = run_rolesctl("--socket", self.d.sock_path, "status", "--json")
        self.assertEqual(p.returncode, 0)
        # $ROLESD_SOCKET when there is no --socket
        p = run_rolesctl("status", "--json", env={"ROLESD_SOCKET": self.d.sock_path})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("version", p.stdout)

    # ------------------------------------------------------------ org / role

    def test_org_add_and_roles(self):
        before = self.ctl("status", json=True).json
        p = self.ctl("org", "add", "101", "--name", "Acme", "--provider", "prov", json=True)
        self.assertEqual(p.json, {"id": 101, "name": "Acme", "provider": "prov"})
        p = self.ctl("org", "add", "102")
        self.assertEqual(p.returncode, 0)
        after = self.ctl("status", json=True).json
        self.assertEqual(after["organizations"], before["organizations"] + 2)
        self.assertEqual(after["roles"], before["roles"] + 2 * len(PARTOO_BUILTINS))

        # create, --json
        p = self.ctl("role", "create", "--org", "101", "--name", "Editors",
                     "--api-id", "editors", "--description", "they edit",
                     "--scope", "Subscriptions", "--permission", "business_edit",
                     "--permission", "review_read", "--mandatory2fa", json=True)
        r = p.json
        self.assertEqual(r["org"], 101)
        self.assertEqual(r["name"], "Editors")
        self.assertEqual(r["api_id"], "editors")
        self.assertEqual(r["description"], "they edit")
        self.assertEqual(r["scope"], "Subscriptions")
        self.assertEqual(sorted(r["permissions"]), ["business_edit", "review_read"])
        self.assertIs(r["mandatory2fa"], True)
        self.assertIs(r["protected"], False)
        with self.d.rpc() as c:
            self.assertEqual(c.ok("role.get", {"org": 101, "api_id": "editors"})["id"], r["id"])
        # create, text (global options after the command words)
        p = self.ctl("role", "create", "--org", "101", "--name", "Readers", socket_after=True)
        self.assertIn("Readers", p.stdout)
        with self.d.rpc() as c:
            g = c.ok("role.get", {"org": 101, "name": "Readers"})
            self.assertEqual(g["api_id"], "Readers")
            self.assertEqual(g["scope"], "Users")
            self.assertIs(g["mandatory2fa"], False)

        # list, --json and text
        js = self.ctl("role", "list", "--org", "101", json=True).json
        names = {x["name"] for x in roles_of(js)}
        self.assertEqual(names, set(PARTOO_BUILTINS) | {"Editors", "Readers"})
        if isinstance(js, dict):
            self.assertEqual(js["count"], len(PARTOO_BUILTINS) + 2)
        t = self.ctl("role", "list", "--org", "101").stdout
        for n in names:
            self.assertIn(n, t)

    def test_role_list_default_org_is_workspace(self):
        js = self.ctl("role", "list", json=True).json
        names = {x["name"] for x in roles_of(js)}
        self.assertIn("admin", names)
        self.assertIn("livechat-monitor", names)

    def test_role_get(self):
        self.ctl("org", "add", "103")
        r = self.ctl("role", "create", "--org", "103", "--name", "Getme",
                     "--api-id", "getme", json=True).json
        for by, val in (("--id", r["id"]), ("--api-id", "getme"), ("--name", "Getme")):
            g = self.ctl("role", "get", "--org", "103", by, val, json=True).json
            self.assertEqual(g, r, "role get %s" % by)
        t = self.ctl("role", "get", "--org", "103", "--api-id", "getme").stdout
        self.assertIn("Getme", t)
        self.assertIn(r["id"], t)
        p = self.ctl("role", "get", "--org", "103", "--api-id", "nope", check=False)
        self.assertOneLineError(p, 1, "not_found")
        p = self.ctl("role", "get", "--org", "103", check=False)
        self.assertOneLineError(p, 2)

    def test_permissions(self):
        self.ctl("org", "add", "107")
        js = self.ctl("permissions", "--org", "107", json=True).json
        self.assertIsInstance(js["sections"], list)
        flat = json.dumps(js)
        for p in ("business_edit", "business_edit_name", "review_read"):
            self.assertIn('"%s"' % p, flat)
        js0 = self.ctl("permissions", "--org", "0", json=True).json
        self.assertIn('"access-permissions"', json.dumps(js0))
        t = self.ctl("permissions", "--org", "107").stdout
        self.assertIn("business_edit_name", t)

    def test_role_list_all(self):
        self.ctl("org", "add", "104")
        with self.d.rpc() as c:
            for i in range(70):
                c.ok("role.create", {"org": 104, "name": "many-%02d" % i})
        total = 70 + len(PARTOO_BUILTINS)
        js = self.ctl("role", "list", "--org", "104", json=True).json
        self.assertEqual(len(roles_of(js)), 30, "one default page without --all")
        js = self.ctl("role", "list", "--org", "104", "--all", json=True).json
        got = [x["name"] for x in roles_of(js)]
        self.assertEqual(len(got), total)
        self.assertEqual(len(set(got)), total)
        t = self.ctl("role", "list", "--org", "104", "--all").stdout
        for i in range(70):
            self.assertIn("many-%02d" % i, t)

    # ------------------------------------------------------------ credentials

    def test_key_add_and_user_add(self):
        self.ctl("org", "add", "105", "--provider", "pp")
        js = self.ctl("key", "add", "--user-role", "ORG_ADMIN", "--org", "105", json=True).json
        self.assertEqual(set(js), {"api_key"})
        key = js["api_key"]
        with self.d.rpc() as c:
            err, r = c.call("role.create", {"org": 105, "name": "by-key"},
                            auth={"api_key": key})
            self.assertIsNone(err, err)
        js = self.ctl("key", "add", "--user-role", "PROVIDER", "--provider", "pp", json=True).json
        self.assertEqual(set(js), {"api_key"})
        t = self.ctl("key", "add", "--user-role", "ORG_MANAGER", "--org", "105")
        self.assertTrue(t.stdout.strip())
        self.assertEqual(t.stderr, "")

        js = self.ctl("user", "add", "dave", "--role", "admin", json=True).json
        self.assertEqual(set(js), {"userId", "authToken"})
        with self.d.rpc() as c:
            err, r = c.call("role.create", {"org": 0, "name": "by-dave"},
                            auth={"user_id": js["userId"], "token": js["authToken"]})
            self.assertIsNone(err, err)
        js = self.ctl("user", "add", "erin", json=True).json     # default role: user
        with self.d.rpc() as c:
            err, r = c.call("role.create", {"org": 0, "name": "by-erin"},
                            auth={"user_id": js["userId"], "token": js["authToken"]})
            self.assertEqual(err and err.get("code"), "permission_denied", err)
        t = self.ctl("user", "add", "frank")
        self.assertTrue(t.stdout.strip())

    # ------------------------------------------------------------ errors

    def test_usage_errors_exit_2(self):
        for args in (["frobnicate"], ["--no-such-option", "status"], [],
                     ["role", "create", "--org", "1"],          # --name missing
                     ["role", "create", "--org", "x", "--name", "n"],
                     ["org", "add"],
                     ["key", "add", "--org", "1"]):             # --user-role missing
            p = self.ctl(*args, check=False)
            self.assertOneLineError(p, 2)
            self.assertEqual(p.stdout, "", "nothing on stdout for %r" % args)

    def test_errors_exit_1_naming_the_code(self):
        self.ctl("org", "add", "106")
        self.ctl("role", "create", "--org", "106", "--name", "Dup")
        for json_mode in (False, True):
            p = self.ctl("role", "create", "--org", "106", "--name", "Dup", check=False,
                         json=json_mode)
            self.assertOneLineError(p, 1, "duplicate")
            self.assertEqual(p.stdout, "", "nothing on stdout on failure")
            p = self.ctl("role", "create", "--org", "999", "--name", "x", check=False,
                         json=json_mode)
            self.assertOneLineError(p, 1, "not_found")
            p = self.ctl("role", "create", "--org", "106", "--name", "a,b", check=False,
                         json=json_mode)
            self.assertOneLineError(p, 1, "invalid_argument")
        p = self.ctl("org", "add", "106", check=False)
        self.assertOneLineError(p, 1, "duplicate")
        p = self.ctl("role", "list", "--org", "999", check=False)
        self.assertOneLineError(p, 1, "not_found")

    def test_no_daemon_is_unavailable(self):
        dead = tempfile.mkdtemp(prefix="rolesd-it-dead-")
        self.addCleanup(os.rmdir, dead)
        for args in (["status"], ["role", "list"], ["org", "add", "5"]):
            p = run_rolesctl(*args, socket_path=os.path.join(dead, "none.sock"), check=False)
            self.assertOneLineError(p, 4, "unavailable")     # exit 4: unavailable (rolesctl(1))
            self.assertEqual(p.stdout, "")


if __name__ == "__main__":
    main()
