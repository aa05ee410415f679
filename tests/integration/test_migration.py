#!/usr/bin/python3
"""test_migration.py: a database of schema version 1 (rolesd 0.1's first
layout: users of the workspace with their roles as a list of names, no
revision, no memberships) is migrated at start, in one transaction: every
organization, role, key and user is kept, users' roles become
memberships, tokens and keys keep working, the workspace's admin gains
the permissions added since, and the result passes the consistency walk.

The version 1 database is made the way version 1 wrote it: a database
filled through the daemon is rewritten to that layout with python3-lmdb
(records re-packed without the new fields, the new named databases
dropped, usernames indexed without organization, meta version 1). Also
shows that the consistency walk sees what is wrong with a broken store."""

import os
import shutil
import struct
import unittest

import lmdb
import msgpack

import storewalk
from harness import Daemon, FailureTrackingTestCase, HarnessError, main

V2_ONLY = (b"role_meta", b"role_acl", b"role_buckets", b"role_members", b"user_roles", b"changes",
           b"changes_org")


def unpack(v):
    return msgpack.unpackb(v, raw=False, strict_map_key=False)


def pack(o):
    return msgpack.packb(o, use_bin_type=True)


def downgrade_to_v1(db, roles_of):
    """Rewrites a version 2 database (workspace users only) as version 1
    wrote it; roles_of maps a user id to its role names."""
    env = lmdb.open(db, max_dbs=32, subdir=True, map_size=max(os.path.getsize(db + "/data.mdb"), 64 << 20))
    try:
        with env.begin(write=True) as txn:
            dbs = {n: env.open_db(n.encode(), txn=txn) for n in storewalk.DBS}
            for k, v in list(txn.cursor(db=dbs["roles"])):
                role = unpack(v)
                del role["revision"]
                txn.put(k, pack(role), db=dbs["roles"])
            for k, v in list(txn.cursor(db=dbs["orgs"])):
                o = unpack(v)
                del o["users"]
                txn.put(k, pack(o), db=dbs["orgs"])
            for k, v in list(txn.cursor(db=dbs["keys"])):
                key = unpack(v)
                del key["created_at"]
                txn.put(k, pack(key), db=dbs["keys"])
            txn.drop(dbs["usernames"], delete=False)
            for k, v in list(txn.cursor(db=dbs["users"])):
                u = unpack(v)
                assert u["org"] == 0, "version 1 had users of the workspace only"
                txn.put(k, pack({"username": u["username"], "hash": u["hash"], "roles": roles_of[k.decode()]}),
                        db=dbs["users"])
                txn.put(u["username"].encode(), k, db=dbs["usernames"])
            for n in V2_ONLY:
                txn.drop(dbs[n.decode()], delete=True)
            txn.put(b"version", struct.pack(">Q", 1), db=dbs["meta"])
            txn.delete(b"revision", db=dbs["meta"])
    finally:
        env.close()


class MigrationTest(FailureTrackingTestCase):

    def test_v1_database_is_migrated(self):
        d = Daemon()
        self.addCleanup(d.close)
        long_name = "w" * 600            # past the key limit: hashed index keys
        with d.rpc() as c:
            c.ok("org.add", {"id": 31, "name": "Thirty-one", "provider": "p31"})
            c.ok("org.add", {"id": 32})
            for i in range(40):
                c.ok("role.create", {"org": 31, "name": "r%02d" % i, "permissions": ["review_read"]})
            c.ok("role.create", {"org": 0, "name": "support", "permissions": ["view-logs"]})
            c.ok("role.create", {"org": 0, "name": long_name})
            key = c.ok("key.add", {"user_role": "ORG_ADMIN", "org": 31})["api_key"]
            pkey = c.ok("key.add", {"user_role": "PROVIDER", "provider": "p31"})["api_key"]
            users = {}
            for name, roles in (("ann", ["admin"]), ("bob", ["user", "support"]), ("cid", ["user"]),
                                ("dan", ["support", long_name]), ("eve", ["guest"])):
                users[name] = c.ok("user.add", {"username": name, "roles": roles})
            roles_before = {o: c.ok("role.list", {"org": o, "per_page": 100})["roles"] for o in (0, 31, 32)}
            held = {n: c.ok("user.roles", {"org": 0, "user": n})["roles"] for n in users}
            admin_perms = c.ok("role.get", {"org": 0, "name": "admin"})["permissions"]
        self.assertIn("assign-admin-role", admin_perms)
        self.assertEqual(d.stop(), 0)

        roles_of = {users[n]["user_id"]: held[n] for n in users}
        downgrade_to_v1(d.db, roles_of)
        # the walk sees a version 1 store for what it is
        report = storewalk.walk(d.db)
        self.assertFalse(report)
        self.assertIn("missing", " ".join(report.problems))
        # version 1 had no assign-admin-role: take it out of the catalog and admin
        env = lmdb.open(d.db, max_dbs=32, subdir=True, map_size=max(os.path.getsize(d.db + "/data.mdb"), 64 << 20))
        with env.begin(write=True) as txn:
            perms = env.open_db(b"perms", txn=txn)
            roles = env.open_db(b"roles", txn=txn)
            txn.delete(struct.pack(">Q", 0) + b"assign-admin-role", db=perms)
            admin = unpack(txn.get(b"admin", db=roles))
            admin["permissions"].remove("assign-admin-role")
            txn.put(b"admin", pack(admin), db=roles)
        env.close()

        # A migration that fails leaves version 1 as it was: a user record
        # that is not one stops it (and the daemon), nothing written.
        def user_record(value=None):
            env = lmdb.open(d.db, max_dbs=32, subdir=True)
            with env.begin(write=True) as txn:
                udb = env.open_db(b"users", txn=txn)
                uid = users["eve"]["user_id"].encode()
                old = txn.get(uid, db=udb)
                if value is not None:
                    txn.put(uid, value, db=udb)
            env.close()
            return old
        good = user_record(b"\xc1not a record")
        with self.assertRaises(HarnessError):
            d.start()
        self.assertNotEqual(d.proc.wait(30), 0)
        self.assertIn("Cannot open", d.stderr_text())
        env = lmdb.open(d.db, readonly=True, max_dbs=32, subdir=True)
        with env.begin() as txn:
            meta = env.open_db(b"meta", txn=txn, create=False)
            self.assertEqual(txn.get(b"version", db=meta), struct.pack(">Q", 1))
            self.assertIsNone(txn.get(b"revision", db=meta))
            for n in V2_ONLY:
                with self.assertRaises(lmdb.NotFoundError):
                    env.open_db(n, txn=txn, create=False)
        env.close()
        user_record(good)

        d.start()
        report = storewalk.walk(d.db)
        self.assertTrue(report, report)
        self.assertEqual(report.counts["revision"], 0)
        with d.rpc() as c:
            st = c.ok("server.status", {})
            self.assertEqual(st["revision"], 0)
            self.assertEqual(st["organizations"], 3)
            for o in (0, 31, 32):
                after = c.ok("role.list", {"org": o, "per_page": 100})["roles"]
                self.assertEqual(len(after), len(roles_before[o]))
                for a, b in zip(after, roles_before[o]):
                    self.assertEqual(a["revision"], 0)
                    if a["id"] == "admin":      # its permissions follow the catalog
                        self.assertEqual(a["permissions"], admin_perms)
                    self.assertEqual({k: v for k, v in a.items() if k != "revision"},
                                     {k: v for k, v in b.items() if k != "revision"})
            for n, tok in users.items():
                self.assertEqual(c.ok("user.roles", {"org": 0, "user": n})["roles"], held[n], n)
                # tokens keep working
                self.assertEqual(c.ok("auth.check", {}, auth={"user_id": tok["user_id"], "token": tok["token"]}),
                                 {"org": 0})
            self.assertEqual(c.ok("member.list", {"org": 0, "name": "support"})["total"], 2)
            self.assertEqual(c.ok("member.list", {"org": 0, "name": long_name})["users"][0]["username"], "dan")
            listed = c.ok("user.list", {"org": 0})
            self.assertEqual(listed["total"], len(users))
            self.assertEqual([u["username"] for u in listed["users"]], sorted(users))
            self.assertEqual([u["name"] for u in listed["users"]], [None] * len(users))
            # keys too, listed with created_at 0
            self.assertEqual(c.ok("role.get", {"name": "r00"}, auth={"api_key": key})["org"], 31)
            self.assertEqual(c.ok("role.get", {"org": 31, "name": "r00"}, auth={"api_key": pkey})["org"], 31)
            self.assertEqual({k["created_at"] for k in c.ok("key.list", {})["keys"]}, {0})
            self.assertEqual({o["id"]: o["roles"] for o in c.ok("org.list", {})["orgs"]},
                             {0: len(roles_before[0]), 31: 45, 32: 5})
            # the admin role got the permissions added since; Rocket.Chat's admin may give admin
            self.assertTrue(c.ok("access.check", {"org": 0, "user": "ann", "permission": "assign-admin-role"})["allowed"])
            ann = {"user_id": users["ann"]["user_id"], "token": users["ann"]["token"]}
            c.ok("member.add", {"name": "admin", "user": "eve"}, auth=ann)     # revision 1
            # and it all goes on from there
            r = c.ok("role.create", {"org": 31, "name": "after migration"})
            self.assertEqual(r["revision"], 2)
            c.ok("role.delete", {"org": 31, "name": "r05"})
            c.ok("user.remove", {"org": 0, "user": "cid"})
        self.assertEqual(d.stop(), 0)
        report = storewalk.walk(d.db)
        self.assertTrue(report, report)
        # a second start migrates nothing
        d.start()
        with d.rpc() as c:
            self.assertEqual(c.ok("server.status", {})["revision"], 4)
        self.assertTrue(storewalk.walk(d.db))

    def test_walk_sees_broken_indexes(self):
        d = Daemon()
        self.addCleanup(d.close)
        with d.rpc() as c:
            c.ok("org.add", {"id": 9})
            c.ok("role.create", {"org": 9, "name": "a"})
            c.ok("user.add", {"username": "u", "org": 9, "roles": ["a"]})
        self.assertEqual(d.stop(), 0)
        self.assertTrue(storewalk.walk(d.db))

        def broken(edit, expect):
            copy = d.db + "-broken"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(d.db, copy)
            env = lmdb.open(copy, max_dbs=32, subdir=True)
            with env.begin(write=True) as txn:
                edit(txn, lambda n: env.open_db(n, txn=txn))
            env.close()
            report = storewalk.walk(copy)
            shutil.rmtree(copy, ignore_errors=True)
            self.assertFalse(report, "the walk missed: %s" % expect)
            self.assertIn(expect, " ".join(report.problems))

        def drop_first(name):
            def edit(txn, db):
                k = next(iter(txn.cursor(db=db(name))))[0]
                txn.delete(k, db=db(name))
            return edit
        broken(drop_first(b"user_roles"), "no user_roles twin")
        broken(drop_first(b"role_members"), "no role_members twin")
        broken(drop_first(b"role_acl"), "ACL")
        broken(drop_first(b"usernames"), "no usernames entry")

        def stray_api(txn, db):
            txn.put(struct.pack(">Q", 9) + b"ghost", b"no-such-role", db=db(b"role_api"))
        broken(stray_api, "role_api entry without its record")

        def drop_role(txn, db):
            rid = txn.get(struct.pack(">Q", 9) + b"a", db=db(b"role_name"))
            txn.delete(rid, db=db(b"roles"))
        broken(drop_role, "membership of a role that is gone")

        # the change log, and the log against the data
        def log_edit(fn):
            def edit(txn, db):
                changes = db(b"changes")
                items = [(k, msgpack.unpackb(v, raw=False)) for k, v in txn.cursor(db=changes)]
                fn(txn, db, changes, items)
            return edit

        def drop_role_record(txn, db, changes, items):
            k = next(k for k, c in items if c["kind"] == "role")
            txn.delete(k, db=changes)
        broken(log_edit(drop_role_record), "no record")

        def drop_org_index(txn, db, changes, items):
            k = next(iter(txn.cursor(db=db(b"changes_org"))))[0]
            txn.delete(k, db=db(b"changes_org"))
        broken(log_edit(drop_org_index), "no changes_org entry")

        def record_without_change(txn, db, changes, items):
            k, c = items[-1]
            rev = c["revision"] + 1
            c = dict(c, revision=rev, op="create", kind="role", id="6b11ffffffffffffffffffff")
            c.pop("before", None)
            c["after"] = {"id": c["id"]}
            txn.put(struct.pack(">Q", rev), pack(c), db=changes)
            txn.put(struct.pack(">QQ", c["org"], rev), b"", db=db(b"changes_org"))
            txn.put(b"revision", struct.pack(">Q", rev), db=db(b"meta"))
        broken(log_edit(record_without_change), "not there")

        def time_backwards(txn, db, changes, items):
            k, c = items[-1]
            c["time"] = items[0][1]["time"] - 1
            txn.put(k, pack(c), db=changes)
        broken(log_edit(time_backwards), "before the previous record")

        def secret(txn, db, changes, items):
            k, c = items[-1]
            c["principal"]["token"] = "x"
            txn.put(k, pack(c), db=changes)
        broken(log_edit(secret), "principal")


if __name__ == "__main__":
    main()
