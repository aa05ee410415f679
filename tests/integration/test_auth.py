#!/usr/bin/python3
"""test_auth.py: peer-credential authorization on the socket, Partoo API
keys, Rocket.Chat users, provisioning refusing REST credentials, and
secrets kept out of the database file and the logs."""

import grp
import json
import os
import subprocess
import unittest

from harness import WAIT, DaemonTestCase, main

TEST_GROUP = "rolesdtest"

# Runs as `nobody`: connects, sends server.status (and optionally org.add),
# prints one JSON line describing what happened.
PEER_SCRIPT = r'''
import json, socket, sys
import msgpack
out = {"connect": None, "replies": [], "closed": False}
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(%(timeout)d)
try:
    s.connect(sys.argv[1])
    out["connect"] = "ok"
except OSError as e:
    out["connect"] = "error: %%s" %% e
    print(json.dumps(out)); sys.exit(0)
u = msgpack.Unpacker(raw=False)
try:
    s.sendall(msgpack.packb([0, 1, "server.status", [{}]]))
    s.sendall(msgpack.packb([0, 2, "org.add", [{"id": int(sys.argv[2])}]]))
except OSError as e:
    out["send_error"] = str(e)
try:
    while len(out["replies"]) < 2:
        data = s.recv(65536)
        if not data:
            out["closed"] = True
            break
        u.feed(data)
        for m in u:
            out["replies"].append(m)
except ConnectionResetError:
    out["closed"] = True
except socket.timeout:
    out["timeout"] = True
print(json.dumps(out))
'''


def ensure_group():
    try:
        return grp.getgrnam(TEST_GROUP).gr_gid
    except KeyError:
        pass
    subprocess.run(["groupadd", "-f", TEST_GROUP], capture_output=True, text=True)
    try:
        return grp.getgrnam(TEST_GROUP).gr_gid
    except KeyError:
        # no groupadd: fall back to an existing group that nobody is not in
        return grp.getgrnam("users").gr_gid


def run_as_nobody(sock_path, groups=None, org=31337):
    """Runs PEER_SCRIPT as nobody:nogroup with the given supplementary gids."""
    cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup"]
    if groups:
        cmd.append("--groups=" + ",".join(str(g) for g in groups))
    else:
        cmd.append("--clear-groups")
    cmd += ["/usr/bin/python3", "-c", PEER_SCRIPT % {"timeout": int(WAIT)}, sock_path, str(org)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT * 2, cwd="/",
                       env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    if p.returncode != 0:
        raise AssertionError("peer as nobody failed (%d): %s" % (p.returncode, p.stderr))
    return json.loads(p.stdout)


NEED_ROOT = unittest.skipUnless(os.geteuid() == 0, "needs root to run a peer as nobody "
                                "and to chgrp the socket")


@NEED_ROOT
class PeerCredentialsTest(DaemonTestCase):
    """Socket mode 0666 and group rolesdtest: the kernel lets everyone
    connect, so what is refused is refused by the daemon's own check."""

    @classmethod
    def setUpClass(cls):
        cls.gid = ensure_group()
        cls.daemon_kwargs = {"socket_gid": cls.gid, "socket_mode": 0o666}
        super().setUpClass()

    def test_root_is_admitted(self):
        with self.d.rpc() as c:
            self.assertIn("version", c.ok("server.status", {}))

    def test_stranger_is_refused(self):
        out = run_as_nobody(self.d.sock_path)
        self.assertEqual(out["connect"], "ok", out)
        for m in out["replies"]:
            self.assertEqual(m[0], 1, out)
            self.assertIsNotNone(m[2], "an unauthorized peer's call succeeded: %r" % (out,))
            self.assertEqual(m[2].get("code"), "permission_denied", out)
        self.assertTrue(out["replies"] or out["closed"],
                        "neither an error nor a close for an unauthorized peer: %r" % (out,))
        # nothing was provisioned by the stranger
        with self.d.rpc() as c:
            err, _ = c.call("role.list", {"org": 31337})
            self.assertError(err, "not_found", "org")
            self.assertIn("version", c.ok("server.status", {}))

    def test_socket_group_member_is_admitted(self):
        out = run_as_nobody(self.d.sock_path, groups=[self.gid], org=31338)
        self.assertEqual(out["connect"], "ok", out)
        self.assertEqual(len(out["replies"]), 2, out)
        by_id = {m[1]: m for m in out["replies"]}
        self.assertIsNone(by_id[1][2], "status as a member of the socket's group: %r" % (out,))
        self.assertIn("version", by_id[1][3])
        self.assertIsNone(by_id[2][2], "org.add as a member of the socket's group: %r" % (out,))


@NEED_ROOT
class GroupOnlySocketTest(DaemonTestCase):
    """Socket mode 0660, group rolesdtest: the deployment shape."""

    @classmethod
    def setUpClass(cls):
        cls.gid = ensure_group()
        cls.daemon_kwargs = {"socket_gid": cls.gid, "socket_mode": 0o660}
        super().setUpClass()

    def test_member_admitted_stranger_not(self):
        out = run_as_nobody(self.d.sock_path, groups=[self.gid])
        self.assertEqual(out["connect"], "ok", out)
        by_id = {m[1]: m for m in out["replies"]}
        self.assertIn(1, by_id, out)
        self.assertIsNone(by_id[1][2], out)
        out = run_as_nobody(self.d.sock_path)
        if out["connect"] == "ok":
            for m in out["replies"]:
                self.assertIsNotNone(m[2], out)
        with self.d.rpc() as c:
            self.assertIn("version", c.ok("server.status", {}))


class CredentialsTest(DaemonTestCase):
    """API keys and Rocket.Chat users, through raw RPC with "auth"."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.d.rpc() as c:
            c.ok("org.add", {"id": 1, "name": "one", "provider": "p1"})
            c.ok("org.add", {"id": 2, "name": "two", "provider": "p2"})
            c.ok("org.add", {"id": 3, "name": "three", "provider": "p1"})
            cls.k_admin1 = c.ok("key.add", {"user_role": "ORG_ADMIN", "org": 1})["api_key"]
            cls.k_prov1 = c.ok("key.add", {"user_role": "PROVIDER", "provider": "p1"})["api_key"]
            cls.k_mgr1 = c.ok("key.add", {"user_role": "ORG_MANAGER", "org": 1})["api_key"]
            cls.alice = c.ok("user.add", {"username": "alice", "roles": ["admin"]})
            cls.bob = c.ok("user.add", {"username": "bob"})
        cls.n = 0

    def setUp(self):
        self.c = self.d.rpc()
        self.addCleanup(self.c.close)

    def create(self, org, auth, name=None):
        type(self).n += 1
        p = {"name": name or ("auth-role-%d" % type(self).n)}
        if org is not None:
            p["org"] = org
        return self.c.call("role.create", p, auth=auth)

    def test_org_admin_key(self):
        a = {"api_key": self.k_admin1}
        err, r = self.create(1, a)
        self.assertOk(err)
        self.assertEqual(r["org"], 1)
        err, _ = self.create(2, a)
        self.assertError(err, "permission_denied", msg="ORG_ADMIN of 1 in org 2")
        err, _ = self.create(999, a)
        self.assertError(err, "permission_denied",
                         msg="ORG_ADMIN naming an unknown org must not learn it is unknown")
        err, _ = self.create(0, a)
        self.assertError(err, "permission_denied", msg="ORG_ADMIN in the workspace")
        # reading its own org works
        err, res = self.c.call("role.list", {"org": 1}, auth=a)
        self.assertOk(err)
        self.assertGreaterEqual(res["count"], 5)

    def test_provider_key(self):
        a = {"api_key": self.k_prov1}
        err, r = self.create(3, a)
        self.assertOk(err)
        self.assertEqual(r["org"], 3)
        err, _ = self.create(1, a)
        self.assertOk(err, "provider p1 in org 1 (provider p1)")
        err, _ = self.create(2, a)
        self.assertError(err, "permission_denied", msg="provider p1 in org 2 (provider p2)")
        err, _ = self.create(999, a)
        self.assertError(err, "not_found", "org", msg="provider in an unknown org")
        err, _ = self.create(None, a)
        self.assertError(err, "invalid_argument", "org", msg="provider key without org")

    def test_other_user_roles_denied(self):
        err, _ = self.create(1, {"api_key": self.k_mgr1})
        self.assertError(err, "permission_denied", msg="ORG_MANAGER")

    def test_bad_keys(self):
        for key in (self.k_admin1[:-1] + ("A" if self.k_admin1[-1] != "A" else "B"),
                    "garbage", "", "x" * 1000, "\u00e9\u00e9\u00e9"):
            err, _ = self.create(1, {"api_key": key})
            self.assertError(err, "unauthenticated", msg="api_key %r" % key[:40])

    def test_rocketchat_users(self):
        alice = {"user_id": self.alice["user_id"], "token": self.alice["token"]}
        bob = {"user_id": self.bob["user_id"], "token": self.bob["token"]}
        err, r = self.create(0, alice)
        self.assertOk(err, "alice (admin) in the workspace")
        self.assertEqual(r["org"], 0)
        err, _ = self.create(0, bob)
        self.assertError(err, "permission_denied", msg="bob (user) in the workspace")
        err, _ = self.create(0, {"user_id": self.alice["user_id"], "token": "wrong"})
        self.assertError(err, "unauthenticated")
        err, _ = self.create(0, {"user_id": self.alice["user_id"], "token": self.bob["token"]})
        self.assertError(err, "unauthenticated", msg="bob's token for alice")
        err, _ = self.create(0, {"user_id": "no-such-user", "token": self.alice["token"]})
        self.assertError(err, "unauthenticated")
        err, _ = self.create(1, alice)
        self.assertError(err, "permission_denied", msg="alice in a Partoo org")

    def test_access_permissions_grants_creation(self):
        with self.d.rpc() as c:
            c.ok("role.create", {"org": 0, "name": "granter",
                                 "permissions": ["access-permissions"]})
            c.ok("role.create", {"org": 0, "name": "powerless"})
            g = c.ok("user.add", {"username": "gina", "roles": ["granter"]})
            p = c.ok("user.add", {"username": "pete", "roles": ["powerless", "user"]})
        err, _ = self.create(0, {"user_id": g["user_id"], "token": g["token"]})
        self.assertOk(err, "a user whose custom role holds access-permissions")
        err, _ = self.create(0, {"user_id": p["user_id"], "token": p["token"]})
        self.assertError(err, "permission_denied", msg="roles without access-permissions")

    def test_provisioning_refuses_auth(self):
        for auth in ({"api_key": self.k_prov1}, {"api_key": self.k_admin1},
                     {"user_id": self.alice["user_id"], "token": self.alice["token"]}):
            err, _ = self.c.call("org.add", {"id": 555}, auth=auth)
            self.assertError(err, "permission_denied", msg="org.add with %r" % list(auth))
            err, _ = self.c.call("key.add", {"user_role": "ORG_ADMIN", "org": 1}, auth=auth)
            self.assertError(err, "permission_denied", msg="key.add with auth")
            err, _ = self.c.call("user.add", {"username": "mallory"}, auth=auth)
            self.assertError(err, "permission_denied", msg="user.add with auth")
        err, _ = self.c.call("role.list", {"org": 555})
        self.assertError(err, "not_found", "org")

    def test_secrets_not_stored_or_logged(self):
        with self.d.rpc() as c:
            key = c.ok("key.add", {"user_role": "ORG_ADMIN", "org": 2})["api_key"]
            u = c.ok("user.add", {"username": "secret-keeper", "roles": ["admin"]})
            # use them once, so a lookup path has run too
            self.assertIsNone(c.call("role.list", {"org": 2}, auth={"api_key": key})[0])
            self.assertIsNone(c.call("role.create", {"org": 0, "name": "secret-user-role"},
                                     auth={"user_id": u["user_id"],
                                           "token": u["token"]})[0])
        secrets = [key, u["token"], self.k_admin1, self.k_prov1, self.alice["token"]]
        blobs = {}
        for fn in os.listdir(self.d.db):
            with open(os.path.join(self.d.db, fn), "rb") as f:
                blobs[fn] = f.read()
        self.assertIn("data.mdb", blobs)
        blobs["stderr"] = self.d.stderr_bytes()
        for s in secrets:
            self.assertGreaterEqual(len(s), 16, "secret too short to grep for: %r" % s)
            for name, blob in blobs.items():
                self.assertNotIn(s.encode(), blob, "a secret is readable in %s" % name)


if __name__ == "__main__":
    main()
