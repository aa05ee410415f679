#!/usr/bin/python3
"""test_security.py: security checks against the real daemon, through the
RPC API (the HTTP shim's share of these is listed in README.md):
secrets never in clear in logs or the database, no way for an API key to
reach another organization, no way to overwrite, rename or shadow a
protected built-in role. (Peer credentials: test_auth.py; comparison in
constant time: test-ct-auth.c.)"""

import glob
import os
import signal
import unittest

from harness import Daemon, DaemonTestCase, ORG0_BUILTINS, PARTOO_BUILTINS, list_all


class SecretsTest(unittest.TestCase):

    def test_secrets_not_in_logs_or_database(self):
        d = Daemon(extra_args=["-v"])
        self.addCleanup(d.close)
        secrets = []
        with d.rpc() as c:
            c.ok("org.add", {"id": 5, "provider": "p"})
            for role, extra in (("ORG_ADMIN", {"org": 5}), ("PROVIDER", {"provider": "p"}),
                                ("PUBLISHER", {"org": 5})):
                k = c.ok("key.add", dict(user_role=role, **extra))["api_key"]
                secrets += [k, k[16:]]              # the whole key, its secret half
                # used right, and wrong in the last character and the first of the secret
                c.call("role.list", {"org": 5}, auth={"api_key": k})
                c.call("role.create", {"org": 5, "name": "r" + role}, auth={"api_key": k})
                for bad in (k[:-1] + ("0" if k[-1] != "0" else "1"),
                            k[:16] + ("0" if k[16] != "0" else "1") + k[17:]):
                    err, _ = c.call("role.list", {"org": 5}, auth={"api_key": bad})
                    self.assertEqual(err["code"], "unauthenticated")
                    secrets.append(bad[16:])
            u = c.ok("user.add", {"username": "alice", "roles": ["admin"]})
            secrets.append(u["token"])
            c.ok("role.create", {"name": "rc-role"}, auth={"user_id": u["user_id"], "token": u["token"]})
            err, _ = c.call("role.list", {"org": 0}, auth={"user_id": u["user_id"], "token": u["token"][:-1] + "A"})
            secrets.append(u["token"][:-1] + "A")
            # malformed credentials are not echoed either
            err, _ = c.call("role.list", {"org": 0}, auth={"api_key": "S3CR3T-in-a-wrong-shape"})
            secrets.append("S3CR3T-in-a-wrong-shape")
        self.assertEqual(d.stop(signal.SIGTERM), 0)
        blobs = {"stderr": d.stderr_bytes()}
        for f in glob.glob(os.path.join(d.db, "*")):
            with open(f, "rb") as fh:
                blobs[f] = fh.read()
        self.assertTrue(any(len(b) > 0 for k, b in blobs.items() if k != "stderr"))
        for s in secrets:
            for where, b in blobs.items():
                self.assertNotIn(s.encode(), b, "a secret appears in clear in %s" % where)


class IsolationTest(DaemonTestCase):
    """An ORG_ADMIN key acts on its own organization only, a PROVIDER key on
    its provider's: whatever org the call names (absent, own, other of the
    same provider, other provider, unknown, the workspace 0)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.d.rpc() as c:
            for oid, prov in ((11, "p"), (12, "p"), (13, "q")):
                c.ok("org.add", {"id": oid, "provider": prov})
            cls.admin = {"api_key": c.ok("key.add", {"user_role": "ORG_ADMIN", "org": 11})["api_key"]}
            cls.prov = {"api_key": c.ok("key.add", {"user_role": "PROVIDER", "provider": "p"})["api_key"]}

    def snapshot(self, c):
        return {o: list_all(c, o)[0] for o in (0, 11, 12, 13)}

    def test_org_admin_cannot_leave_its_org(self):
        with self.d.rpc() as c:
            before = self.snapshot(c)
            n = 0
            for org in (None, 11, 12, 13, 999, 0, 2 ** 64 - 1):
                p = {} if org is None else {"org": org}
                allowed = org in (None, 11)
                for method, extra in (("role.create", {"name": "iso-%d" % n}), ("role.list", {}),
                                      ("role.get", {"name": "ORG_ADMIN"}), ("permission.catalog", {}),
                                      ("auth.check", {"access": "create"})):
                    n += 1
                    err, res = c.call(method, dict(p, **extra), auth=self.admin)
                    if allowed:
                        self.assertIsNone(err, "%s org=%r: %r" % (method, org, err))
                        if method == "role.create":
                            self.assertEqual(res["org"], 11)
                    else:
                        self.assertEqual(err["code"], "permission_denied", "%s org=%r: %r" % (method, org, err))
            after = self.snapshot(c)
            for o in (0, 12, 13):
                self.assertEqual(before[o], after[o], "org %d changed through another org's key" % o)

    def test_provider_stays_with_its_provider(self):
        with self.d.rpc() as c:
            before = self.snapshot(c)
            for org, code in ((11, None), (12, None), (13, "permission_denied"), (0, "permission_denied"),
                              (999, "not_found"), (None, "invalid_argument")):
                p = {} if org is None else {"org": org}
                err, res = c.call("role.create", dict(p, name="prov-%s" % org), auth=self.prov)
                if code is None:
                    self.assertIsNone(err, (org, err))
                    self.assertEqual(res["org"], org)
                else:
                    self.assertEqual(err["code"], code, (org, err))
            after = self.snapshot(c)
            self.assertEqual(before[13], after[13])
            self.assertEqual(before[0], after[0])


class BuiltinsTest(DaemonTestCase):
    """Protected built-in roles cannot be overwritten, renamed or shadowed
    by any create, whoever asks."""

    def test_builtins_untouchable(self):
        with self.d.rpc() as c:
            c.ok("org.add", {"id": 21})
            u = c.ok("user.add", {"username": "root-ish", "roles": ["admin"]})
            rc = {"user_id": u["user_id"], "token": u["token"]}
            key = {"api_key": c.ok("key.add", {"user_role": "ORG_ADMIN", "org": 21})["api_key"]}
            before = {o: {r["id"]: r for r in list_all(c, o)[0]} for o in (0, 21)}
            custom = c.ok("role.create", {"org": 0, "name": "custom-one"})
            attempts = []
            for b in ORG0_BUILTINS:
                for auth in (None, rc):
                    attempts += [({"org": 0, "name": b}, auth), ({"org": 0, "name": "x-" + b, "api_id": b}, auth),
                                 ({"org": 0, "name": b, "api_id": b, "scope": "Subscriptions"}, auth)]
            attempts.append(({"org": 0, "name": custom["id"]}, None))      # another role's _id
            for b in PARTOO_BUILTINS:
                for auth in (None, key):
                    attempts += [({"org": 21, "name": b}, auth), ({"org": 21, "name": "n-" + b, "api_id": b}, auth),
                                 ({"org": 21, "name": b, "api_id": "other-" + b}, auth)]
            for params, auth in attempts:
                err, res = c.call("role.create", params, auth=auth)
                self.assertIsNotNone(err, "created %r: %r" % (params, res))
                self.assertIn(err["code"], ("duplicate", "invalid_argument"), (params, err))
            after = {o: {r["id"]: r for r in list_all(c, o)[0]} for o in (0, 21)}
            for o in (0, 21):
                for rid, r in before[o].items():
                    if r["protected"]:
                        self.assertEqual(after[o][rid], r, "built-in %s changed" % rid)
                        for by in ("id", "name", "api_id"):
                            self.assertEqual(c.ok("role.get", {"org": o, by: r[by]}), r)
            # nothing new but custom-one
            self.assertEqual(set(after[0]) - set(before[0]), {custom["id"]})
            self.assertEqual(set(after[21]), set(before[21]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
