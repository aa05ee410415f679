#!/usr/bin/python3
"""test_rolesctl_lifecycle.py: rolesctl's lifecycle commands against the
real daemon, in text and --json: role update, delete, duplicate; member
add, remove, list; user add (any org, a display name), roles, list,
remove; check (exit 0 allowed, 1 denied, 2 error); org list; key list and
revoke. Each command's effect is read back over RPC by a client of our
own."""

import json

from harness import DaemonTestCase, main

EXIT_REFUSED, EXIT_USAGE = 1, 2


class RolesctlLifecycleTest(DaemonTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.d.rpc() as c:
            c.ok("org.add", {"id": 500, "name": "Acme", "provider": "acme"})

    def ctl(self, *args, **kw):
        return self.d.rolesctl(*args, **kw)

    def rpc(self, method, params):
        with self.d.rpc() as c:
            return c.call(method, params)

    def ok(self, method, params):
        with self.d.rpc() as c:
            return c.ok(method, params)

    def assertFails(self, p, status, code=None):
        self.assertEqual(p.returncode, status, "%r: %r / %r" % (p.cmd, p.stdout, p.stderr))
        self.assertEqual(p.stdout, "")
        lines = p.stderr.strip("\n").split("\n")
        self.assertEqual(len(lines), 1, p.stderr)
        if code and "--json" in p.cmd:
            self.assertEqual(json.loads(lines[0])["error"]["code"], code)
        elif code:
            self.assertIn(code, lines[0])

    # ------------------------------------------------------------ roles

    def test_role_update(self):
        r = self.ctl("role", "create", "--org", "500", "--name", "Upd", "--api-id", "upd",
                     "--permission", "business_edit", json=True).json
        self.assertGreater(r["revision"], 0)
        u = self.ctl("role", "update", "--org", "500", "--api-id", "upd", "--set-name", "Updated",
                     "--description", "new words", "--permission", "review_read", "--mandatory2fa",
                     "--if-revision", str(r["revision"]), json=True).json
        self.assertEqual(u["id"], r["id"])
        self.assertEqual((u["name"], u["api_id"], u["description"]), ("Updated", "upd", "new words"))
        self.assertEqual(u["permissions"], ["review_read"])
        self.assertIs(u["mandatory2fa"], True)
        self.assertGreater(u["revision"], r["revision"])
        self.assertEqual(self.ok("role.get", {"org": 500, "api_id": "upd"}), u)
        # a stale revision: conflict, exit 1, nothing changed
        p = self.ctl("role", "update", "--org", "500", "--id", r["id"], "--no-mandatory2fa",
                     "--if-revision", str(r["revision"]), check=False, json=True)
        self.assertFails(p, EXIT_REFUSED, "conflict")
        self.assertIs(self.ok("role.get", {"org": 500, "api_id": "upd"})["mandatory2fa"], True)
        # text; --no-mandatory2fa; a new api_id
        t = self.ctl("role", "update", "--org", "500", "--name", "Updated", "--no-mandatory2fa",
                     "--set-api-id", "upd2").stdout
        self.assertIn("upd2", t)
        self.assertIn("revision:", t)
        self.assertIs(self.ok("role.get", {"org": 500, "api_id": "upd2"})["mandatory2fa"], False)
        # built-ins are protected; usage errors
        self.assertFails(self.ctl("role", "update", "--org", "500", "--api-id", "ORG_ADMIN", "--description", "x",
                                  check=False), EXIT_REFUSED, "protected")
        self.assertFails(self.ctl("role", "update", "--org", "500", "--api-id", "upd2", "--id", "x",
                                  "--description", "x", check=False), EXIT_USAGE)
        self.assertFails(self.ctl("role", "update", "--org", "500", "--api-id", "upd2", "--mandatory2fa",
                                  "--no-mandatory2fa", check=False), EXIT_USAGE)
        self.assertFails(self.ctl("role", "update", "--org", "500", "--api-id", "upd2", check=False, json=True),
                         EXIT_REFUSED, "invalid_argument")
        # the workspace: api_id follows the name
        self.ctl("role", "create", "--org", "0", "--name", "ws-role")
        u = self.ctl("role", "update", "--org", "0", "--name", "ws-role", "--set-name", "ws-renamed",
                     json=True).json
        self.assertEqual((u["name"], u["api_id"]), ("ws-renamed", "ws-renamed"))

    def test_role_duplicate_and_delete(self):
        self.ctl("role", "create", "--org", "500", "--name", "Orig", "--api-id", "orig",
                 "--description", "d", "--permission", "review_read")
        d = self.ctl("role", "duplicate", "--org", "500", "--api-id", "orig", json=True).json
        self.assertEqual((d["name"], d["api_id"], d["description"], d["permissions"]),
                         ("Orig - 2", "orig_2", "d", ["review_read"]))
        t = self.ctl("role", "duplicate", "--org", "500", "--name", "Orig").stdout
        self.assertIn("Orig - 3", t)
        self.assertFails(self.ctl("role", "duplicate", "--org", "500", "--api-id", "PUBLISHER", check=False),
                         EXIT_REFUSED, "protected")
        # delete: by api_id, text; --if-revision stale; held: in_use unless --force
        t = self.ctl("role", "delete", "--org", "500", "--api-id", "orig_3").stdout
        self.assertIn("Orig - 3", t)
        err, _ = self.rpc("role.get", {"org": 500, "api_id": "orig_3"})
        self.assertEqual(err["code"], "not_found")
        self.ok("user.add", {"org": 500, "username": "holder", "roles": ["orig_2"]})
        self.assertFails(self.ctl("role", "delete", "--org", "500", "--api-id", "orig_2", check=False, json=True),
                         EXIT_REFUSED, "in_use")
        self.assertFails(self.ctl("role", "delete", "--org", "500", "--api-id", "orig_2", "--force",
                                  "--if-revision", str(d["revision"] - 1), check=False), EXIT_REFUSED, "conflict")
        js = self.ctl("role", "delete", "--org", "500", "--id", d["id"], "--force", "--if-revision",
                      str(d["revision"]), json=True).json
        self.assertEqual((js["id"], js["api_id"], js["name"]), (d["id"], "orig_2", "Orig - 2"))
        self.assertGreater(js["revision"], d["revision"])
        self.assertEqual(self.ok("user.roles", {"org": 500, "user": "holder"})["roles"], [])
        self.assertFails(self.ctl("role", "delete", "--org", "500", "--api-id", "ORG_ADMIN", check=False),
                         EXIT_REFUSED, "protected")
        self.assertFails(self.ctl("role", "delete", "--org", "500", check=False), EXIT_USAGE)

    # ------------------------------------------------------------ members and checks

    def test_members_and_check(self):
        self.ctl("role", "create", "--org", "500", "--name", "Readers", "--api-id", "readers",
                 "--permission", "review_read")
        self.ctl("role", "create", "--org", "500", "--name", "Editors", "--api-id", "editors",
                 "--permission", "business_edit", "--permission", "review_read")
        for u in ("mia", "leo", "zoe"):
            self.ctl("user", "add", u, "--org", "500", "--name", u.title() + " Example")
        js = self.ctl("member", "add", "--org", "500", "--role", "readers", "mia", json=True).json
        self.assertEqual(js, {"user": "mia", "roles": ["readers"]})
        t = self.ctl("member", "add", "--org", "500", "--role", "editors", "mia").stdout
        self.assertRegex(t, r"roles:\s+readers, editors")
        for u in ("zoe", "leo"):
            self.ctl("member", "add", "--org", "500", "--role", "readers", u)
        self.assertFails(self.ctl("member", "add", "--org", "500", "--role", "readers", "mia", check=False,
                                  json=True), EXIT_REFUSED, "duplicate")
        self.assertFails(self.ctl("member", "add", "--org", "500", "--role", "readers", "nobody", check=False),
                         EXIT_REFUSED, "not_found")
        self.assertFails(self.ctl("member", "add", "--org", "500", "mia", check=False), EXIT_USAGE)

        # member list: by username, paged with a cursor
        js = self.ctl("member", "list", "--org", "500", "--role", "readers", json=True).json
        self.assertEqual([u["username"] for u in js["users"]], ["leo", "mia", "zoe"])
        self.assertEqual(js["total"], 3)
        self.assertEqual(js["users"][1]["name"], "Mia Example")
        p1 = self.ctl("member", "list", "--org", "500", "--role", "readers", "--count", "2", json=True).json
        self.assertEqual([u["username"] for u in p1["users"]], ["leo", "mia"])
        p2 = self.ctl("member", "list", "--org", "500", "--role", "readers", "--count", "2",
                      "--after", p1["next"], json=True).json
        self.assertEqual([u["username"] for u in p2["users"]], ["zoe"])
        self.assertNotIn("next", p2)
        t = self.ctl("member", "list", "--org", "500", "--role", "readers", "--count", "2").stdout
        self.assertIn("3 members of role readers", t)
        self.assertIn("--after " + p1["next"], t)
        self.assertIn("Mia Example", t)
        off = self.ctl("member", "list", "--org", "500", "--role", "readers", "--offset", "2", json=True).json
        self.assertEqual([u["username"] for u in off["users"]], ["zoe"])

        # user roles
        self.assertEqual(self.ctl("user", "roles", "--org", "500", "mia", json=True).json,
                         {"user": "mia", "roles": ["readers", "editors"]})
        self.assertFails(self.ctl("user", "roles", "--org", "500", "nobody", check=False), EXIT_REFUSED,
                         "not_found")

        # check: 0 allowed (the granting roles), 1 denied, 2 error
        p = self.ctl("check", "--org", "500", "mia", "review_read")
        self.assertEqual(p.returncode, 0)
        self.assertIn("readers, editors", p.stdout)
        js = self.ctl("check", "--org", "500", "leo", "review_read", json=True).json
        self.assertEqual(js, {"allowed": True, "roles": ["readers"]})
        p = self.ctl("check", "--org", "500", "leo", "business_edit", check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("denied", p.stdout)
        self.assertEqual(p.stderr, "")
        p = self.ctl("check", "--org", "500", "leo", "business_edit", check=False, json=True)
        self.assertEqual((p.returncode, json.loads(p.stdout)), (1, {"allowed": False, "roles": []}))
        p = self.ctl("check", "--org", "500", "nobody", "review_read", check=False)
        self.assertEqual(p.returncode, 1, "an unknown user is allowed nothing")
        for args in (["--org", "500", "leo", "no_such_permission"],     # invalid_argument
                     ["--org", "99999", "leo", "review_read"],          # not_found
                     ["--org", "500", "leo"]):                          # usage
            p = self.ctl("check", *args, check=False)
            self.assertEqual(p.returncode, 2, "%r: %r" % (args, p.stderr))
            self.assertEqual(len(p.stderr.strip().split("\n")), 1)
        p = self.ctl("check", "--org", "500", "leo", "review_read", check=False, socket_path="/nonexistent.sock")
        self.assertEqual(p.returncode, 2, p.stderr)

        # member remove
        js = self.ctl("member", "remove", "--org", "500", "--role", "readers", "mia", json=True).json
        self.assertEqual(js, {"user": "mia", "roles": ["editors"]})
        self.assertFails(self.ctl("member", "remove", "--org", "500", "--role", "readers", "mia", check=False,
                                  json=True), EXIT_REFUSED, "not_found")
        self.assertEqual(self.ok("member.list", {"org": 500, "api_id": "readers"})["total"], 2)

    def test_workspace_last_admin(self):
        self.ctl("user", "add", "boss", "--role", "admin")
        self.assertFails(self.ctl("member", "remove", "--org", "0", "--role", "admin", "boss", check=False,
                                  json=True), EXIT_REFUSED, "protected")
        self.assertFails(self.ctl("user", "remove", "--org", "0", "boss", check=False), EXIT_REFUSED, "protected")

    # ------------------------------------------------------------ users, orgs, keys

    def test_users(self):
        self.ok("org.add", {"id": 501})
        js = self.ctl("user", "add", "amy", "--org", "501", "--name", "Amy Pond", json=True).json
        self.assertEqual(set(js), {"userId", "authToken"})
        self.ctl("user", "add", "bea", "--org", "501")
        self.assertFails(self.ctl("user", "add", "amy", "--org", "501", check=False), EXIT_REFUSED, "duplicate")
        lst = self.ctl("user", "list", "--org", "501", json=True).json
        self.assertEqual(lst["total"], 2)
        self.assertEqual([(u["username"], u["name"], u["id"]) for u in lst["users"]],
                         [("amy", "Amy Pond", js["userId"]), ("bea", None, lst["users"][1]["id"])])
        t = self.ctl("user", "list", "--org", "501").stdout
        self.assertIn("Amy Pond", t)
        self.assertIn("2 users in organization 501", t)
        p1 = self.ctl("user", "list", "--org", "501", "--count", "1", json=True).json
        p2 = self.ctl("user", "list", "--org", "501", "--count", "1", "--after", p1["next"], json=True).json
        self.assertEqual([u["username"] for u in p1["users"] + p2["users"]], ["amy", "bea"])
        self.assertFails(self.ctl("user", "list", "--org", "501", "--after", "x", "--offset", "1", check=False),
                         EXIT_USAGE)
        # the workspace's users are the default
        self.ctl("user", "add", "wsuser")
        self.assertIn("wsuser", [u["username"] for u in self.ctl("user", "list", "--count", "100",
                                                                   json=True).json["users"]])
        # remove: the user and its token go
        js2 = self.ctl("user", "remove", "--org", "501", "amy", json=True).json
        self.assertEqual(js2, {"id": js["userId"], "username": "amy"})
        self.assertFails(self.ctl("user", "remove", "--org", "501", "amy", check=False, json=True),
                         EXIT_REFUSED, "not_found")
        self.assertFails(self.ctl("user", "remove", "amy", check=False), EXIT_USAGE)     # --org is required
        self.assertEqual(self.ok("user.list", {"org": 501})["total"], 1)
        self.assertIn("\n1 user in organization 501\n", self.ctl("user", "list", "--org", "501").stdout)

    def test_org_list(self):
        self.ok("org.add", {"id": 502, "name": "Listed", "provider": "lp"})
        js = self.ctl("org", "list", "--count", "100", json=True).json
        byid = {o["id"]: o for o in js["orgs"]}
        self.assertEqual(byid[0]["roles"], 12)
        self.assertEqual((byid[502]["name"], byid[502]["provider"], byid[502]["roles"]), ("Listed", "lp", 5))
        self.assertEqual(js["total"], len(js["orgs"]))
        t = self.ctl("org", "list", "--count", "100").stdout
        self.assertRegex(t, r"\n502\s+Listed\s+lp\s+5\n")
        self.assertIn("%d organizations" % js["total"], t)
        one = self.ctl("org", "list", "--offset", "1", "--count", "1", json=True).json
        self.assertEqual([o["id"] for o in one["orgs"]], [js["orgs"][1]["id"]])

    def test_keys(self):
        self.ok("org.add", {"id": 503, "provider": "kp"})
        key = self.ctl("key", "add", "--user-role", "ORG_MANAGER", "--org", "503", json=True).json["api_key"]
        pkey = self.ctl("key", "add", "--user-role", "PROVIDER", "--provider", "kp", json=True).json["api_key"]
        js = self.ctl("key", "list", "--org", "503", json=True).json
        self.assertEqual([k["key_id"] for k in js["keys"]], [key[:16]])
        self.assertEqual(js["keys"][0]["user_role"], "ORG_MANAGER")
        self.assertNotIn(key, json.dumps(js), "never the key itself")
        js = self.ctl("key", "list", "--provider", "kp", json=True).json
        self.assertEqual(sorted(k["key_id"] for k in js["keys"]), sorted([key[:16], pkey[:16]]))
        t = self.ctl("key", "list", "--provider", "kp").stdout
        self.assertIn(key[:16], t)
        self.assertIn("PROVIDER", t)
        self.assertNotIn(key, t)
        self.assertIn("\n2 keys\n", t)           # key.list has no total: the rows are counted
        self.assertIn("\n1 key\n", self.ctl("key", "list", "--org", "503").stdout)
        # revoke: refused from the next request on
        with self.d.rpc() as c:
            c.ok("role.list", {"org": 503}, auth={"api_key": key})
        self.assertEqual(self.ctl("key", "revoke", key[:16], json=True).json, {"key_id": key[:16]})
        with self.d.rpc() as c:
            err, _ = c.call("role.list", {"org": 503}, auth={"api_key": key})
        self.assertEqual(err["code"], "unauthenticated")
        self.assertFails(self.ctl("key", "revoke", key[:16], check=False, json=True), EXIT_REFUSED, "not_found")
        self.assertEqual(self.ctl("key", "list", "--org", "503", json=True).json["keys"], [])
        self.assertFails(self.ctl("key", "revoke", check=False), EXIT_USAGE)


if __name__ == "__main__":
    main()
