#!/usr/bin/python3
"""test_members.py: who holds which role, over RPC: user.add in every
organization, member.add, member.remove, member.list, user.roles,
access.check, user.list, user.remove, org.list, key.list, key.revoke and
auth.check's access kinds; every row of the contract with each error code
and field, the workspace's last admin, REST credentials (Partoo keys,
Rocket.Chat users: access-permissions, assign-admin-role), and params
validated as role.create's. Each test ends with the consistency walk."""

import time

from storewalk import WalkedTestCase
from harness import fresh_org, main


class MembersTest(WalkedTestCase):


    # ------------------------------------------------------------ users

    def test_user_add_in_organizations(self):
        org = fresh_org(self.c)
        self.c.ok("role.create", {"org": org, "name": "Editor", "api_id": "editor"})
        u = self.c.ok("user.add", {"username": "ua-ann", "org": org, "name": "Ann A.", "roles": ["editor"]})
        self.assertEqual(sorted(u), ["token", "user_id"])
        self.assertEqual(self.c.ok("user.roles", {"org": org, "user": "ua-ann"}),
                         {"user": "ua-ann", "roles": ["editor"]})
        # none by default outside the workspace; ["user"] in it
        self.c.ok("user.add", {"username": "ua-bob", "org": org})
        self.assertEqual(self.c.ok("user.roles", {"org": org, "user": "ua-bob"})["roles"], [])
        self.c.ok("user.add", {"username": "ua-bob"})
        self.assertEqual(self.c.ok("user.roles", {"org": 0, "user": "ua-bob"})["roles"], ["user"])
        # the same username in another organization is another user
        err, _ = self.c.call("user.add", {"username": "ua-ann", "org": org})
        self.assertError(err, "duplicate", "username")
        other = fresh_org(self.c)
        self.c.ok("user.add", {"username": "ua-ann", "org": other})
        # roles are api_ids of that organization's roles, each held once
        u = self.c.ok("user.add", {"username": "ua-cid", "org": org, "roles": ["editor", "ORG_ADMIN", "editor"]})
        self.assertEqual(self.c.ok("user.roles", {"org": org, "user": "ua-cid"})["roles"], ["ORG_ADMIN", "editor"])
        before = self.revision()
        for params, code, field in (
                ({"username": "x1", "org": org, "roles": ["nope"]}, "not_found", "roles"),
                ({"username": "x2", "org": other, "roles": ["editor"]}, "not_found", "roles"),
                ({"username": "x3", "org": 987654}, "not_found", "org"),
                ({"username": "x4", "org": -1}, "invalid_argument", "org"),
                ({"username": "x5", "name": ""}, "invalid_argument", "name"),
                ({"username": "x6", "name": "n" * 257}, "invalid_argument", "name"),
                ({"username": "x7", "name": 7}, "invalid_argument", "name"),
                ({"username": ""}, "invalid_argument", "username"),
                ({"username": "u" * 257}, "invalid_argument", "username"),
                ({"username": "x8", "roles": ["user"] * 65}, "invalid_argument", "roles"),
                ({"username": "x9", "extra": 1}, "invalid_argument", "extra")):
            err, _ = self.c.call("user.add", params)
            self.assertError(err, code, field, msg=repr(params))
        self.assertEqual(self.revision(), before, "a refused user.add took a revision")
        err, _ = self.c.call("user.add", {"username": "x10", "auth": {"api_key": "x"}})
        self.assertError(err, "permission_denied", "auth")
        # ids as Rocket.Chat's look (17 characters of Meteor's alphabet), each new one above the last
        ids = [self.c.ok("user.add", {"username": "ua-id-%d" % i, "org": other})["user_id"] for i in range(20)]
        alphabet = set("23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz")
        for i in ids:
            self.assertEqual(len(i), 17, i)
            self.assertLessEqual(set(i), alphabet, i)
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), len(ids))

    def test_user_list(self):
        org = fresh_org(self.c)
        self.c.ok("role.create", {"org": org, "name": "R", "api_id": "r"})
        names = ["ul-%03d" % i for i in range(120)]
        for i, n in enumerate(reversed(names)):
            self.c.send_request("user.add", {"username": n, "org": org, "name": "N%d" % i,
                                             "roles": ["r"] if i % 2 else []})
        for err, _ in self.c.recv_replies(len(names)).values():
            self.assertIsNone(err)
        res = self.c.ok("user.list", {"org": org})
        self.assertEqual(res["total"], 120)
        self.assertEqual([u["username"] for u in res["users"]], names[:50])      # by username, 50
        first = res["users"][0]
        self.assertEqual(sorted(first), ["id", "name", "roles", "username"])
        self.assertEqual(first["roles"], ["r"] if names.index(first["username"]) % 2 == 0 else [])
        chain, res = list(res["users"]), res
        while "next" in res:
            res = self.c.ok("user.list", {"org": org, "after": res["next"], "count": 30})
            chain += res["users"]
        self.assertEqual([u["username"] for u in chain], names)
        res = self.c.ok("user.list", {"org": org, "offset": 110, "count": 100})
        self.assertEqual([u["username"] for u in res["users"]], names[110:])
        self.assertNotIn("next", res)
        for params, field in (({"org": org, "count": 0}, "count"), ({"org": org, "count": 101}, "count"),
                              ({"org": org, "offset": 1, "after": "x"}, "after"),
                              ({"org": org, "offset": "1"}, "offset"), ({}, "org")):
            err, _ = self.c.call("user.list", params)
            self.assertError(err, "invalid_argument", field, msg=repr(params))
        err, _ = self.c.call("user.list", {"org": 987654})
        self.assertError(err, "not_found", "org")

    def test_user_remove(self):
        org = fresh_org(self.c)
        self.c.ok("role.create", {"org": org, "name": "R", "api_id": "r"})
        tok = self.c.ok("user.add", {"username": "ur-dan", "org": org, "roles": ["r", "ORG_ADMIN"]})
        auth = {"user_id": tok["user_id"], "token": tok["token"]}
        self.assertIsNone(self.c.call("role.get", {"name": "R"}, auth=auth)[0])
        res = self.c.ok("user.remove", {"org": org, "user": "ur-dan"})
        self.assertEqual(res, {"id": tok["user_id"], "username": "ur-dan"})
        # its memberships went with it; its token stops working at once
        self.assertEqual(self.c.ok("member.list", {"org": org, "api_id": "r"})["total"], 0)
        err, _ = self.c.call("role.get", {"name": "R"}, auth=auth)
        self.assertError(err, "unauthenticated")
        err, _ = self.c.call("user.remove", {"org": org, "user": "ur-dan"})
        self.assertError(err, "not_found", "user")
        self.assertEqual(self.c.ok("user.list", {"org": org})["total"], 0)
        # the name can be taken again: a new user
        tok2 = self.c.ok("user.add", {"username": "ur-dan", "org": org})
        self.assertNotEqual(tok2["user_id"], tok["user_id"])
        self.assertEqual(self.c.ok("user.roles", {"org": org, "user": "ur-dan"})["roles"], [])
        for params, code, field in (({"org": org}, "invalid_argument", "user"),
                                    ({"org": org, "user": ""}, "invalid_argument", "user"),
                                    ({"org": org, "user": "u" * 257}, "invalid_argument", "user"),
                                    ({"user": "ur-dan"}, "invalid_argument", "org"),
                                    ({"org": 987654, "user": "ur-dan"}, "not_found", "org"),
                                    ({"org": org, "user": "ur-dan", "auth": {"api_key": "k"}},
                                     "permission_denied", "auth")):
            err, _ = self.c.call("user.remove", params)
            self.assertError(err, code, field, msg=repr(params))

    def test_workspace_keeps_an_admin(self):
        # Once the workspace has an admin, the last one stays.
        c = self.c
        c.ok("user.add", {"username": "wk-a1", "roles": ["admin"]})
        c.ok("user.add", {"username": "wk-a2", "roles": ["admin", "user"]})
        for u in c.ok("member.list", {"org": 0, "name": "admin", "count": 100})["users"]:
            if u["username"] not in ("wk-a1", "wk-a2"):     # admins other tests of the class made
                c.ok("member.remove", {"org": 0, "name": "admin", "user": u["username"]})
        self.assertEqual(c.ok("member.list", {"org": 0, "name": "admin"})["total"], 2)
        c.ok("member.remove", {"org": 0, "name": "admin", "user": "wk-a1"})
        err, _ = c.call("member.remove", {"org": 0, "name": "admin", "user": "wk-a2"})
        self.assertError(err, "protected", "user")
        err, _ = c.call("user.remove", {"org": 0, "user": "wk-a2"})
        self.assertError(err, "protected", "user")
        err, _ = c.call("role.delete", {"org": 0, "name": "admin", "force": True})
        self.assertError(err, "protected")
        # another admin, and the first may go
        c.ok("member.add", {"org": 0, "name": "admin", "user": "wk-a1"})
        c.ok("user.remove", {"org": 0, "user": "wk-a2"})
        self.assertEqual([u["username"] for u in c.ok("member.list", {"org": 0, "name": "admin"})["users"]],
                         ["wk-a1"])
        # a user that is not the last admin leaves freely, also from a Partoo org's ORG_ADMIN
        org = fresh_org(c)
        c.ok("user.add", {"username": "wk-p", "org": org, "roles": ["ORG_ADMIN"]})
        c.ok("member.remove", {"org": org, "name": "ORG_ADMIN", "user": "wk-p"})

    # ------------------------------------------------------------ members

    def test_member_add_remove(self):
        org = fresh_org(self.c)
        r = self.c.ok("role.create", {"org": org, "name": "Team", "api_id": "team"})
        self.c.ok("role.create", {"org": org, "name": "Other", "api_id": "other"})
        self.c.ok("user.add", {"username": "ma-eve", "org": org, "roles": ["other"]})
        before = self.revision()
        res = self.c.ok("member.add", {"org": org, "api_id": "team", "user": "ma-eve"})
        self.assertEqual(res, {"user": "ma-eve", "roles": ["team", "other"]})     # in the roles' order
        self.assertEqual(self.revision(), before + 1)
        self.assertEqual(self.c.ok("role.get", {"org": org, "id": r["id"]}), r)   # the role's own revision stays
        for by, value in (("id", r["id"]), ("name", "Team"), ("api_id", "team")):
            err, _ = self.c.call("member.add", {"org": org, by: value, "user": "ma-eve"})
            self.assertError(err, "duplicate", "user")
        err, _ = self.c.call("member.add", {"org": org, "api_id": "team", "user": "nobody"})
        self.assertError(err, "not_found", "user")
        err, _ = self.c.call("member.add", {"org": org, "api_id": "nothing", "user": "ma-eve"})
        self.assertError(err, "not_found", "api_id")
        # unknown user before unknown role, as Rocket.Chat checks them
        err, _ = self.c.call("member.add", {"org": org, "api_id": "nothing", "user": "nobody"})
        self.assertError(err, "not_found", "user")
        # a user of another organization is not found here
        other = fresh_org(self.c)
        self.c.ok("user.add", {"username": "ma-out", "org": other})
        err, _ = self.c.call("member.add", {"org": org, "api_id": "team", "user": "ma-out"})
        self.assertError(err, "not_found", "user")
        self.assertEqual(self.revision(), before + 3)       # the org.add and user.add in between
        res = self.c.ok("member.remove", {"org": org, "name": "Team", "user": "ma-eve"})
        self.assertEqual(res, {"user": "ma-eve", "roles": ["other"]})
        err, _ = self.c.call("member.remove", {"org": org, "name": "Team", "user": "ma-eve"})
        self.assertError(err, "not_found", "member")
        err, _ = self.c.call("member.remove", {"org": org, "name": "Team", "user": "nobody"})
        self.assertError(err, "not_found", "user")
        err, _ = self.c.call("member.remove", {"org": org, "name": "Nothing", "user": "ma-eve"})
        self.assertError(err, "not_found", "name")
        for method in ("member.add", "member.remove"):
            for params, field in (({"org": org, "name": "Team"}, "user"),
                                  ({"org": org, "user": "ma-eve"}, "name"),
                                  ({"org": org, "name": "Team", "user": 5}, "user"),
                                  ({"org": org, "name": "Team", "user": ""}, "user"),
                                  ({"org": org, "name": "Team", "user": "ma-eve", "role": "x"}, "role")):
                err, _ = self.c.call(method, params)
                self.assertError(err, "invalid_argument", field, msg="%s %r" % (method, params))

    def test_member_list(self):
        org = fresh_org(self.c)
        self.c.ok("role.create", {"org": org, "name": "Crowd", "api_id": "crowd"})
        names = ["ml-%03d" % i for i in range(130)]
        started_ms = int(time.time() * 1000)
        for n in reversed(names):
            self.c.send_request("user.add", {"username": n, "org": org, "name": n.upper(), "roles": ["crowd"]})
        for err, _ in self.c.recv_replies(len(names)).values():
            self.assertIsNone(err)
        res = self.c.ok("member.list", {"org": org, "api_id": "crowd"})
        self.assertEqual(res["total"], 130)
        self.assertEqual(len(res["users"]), 50)             # count defaults to 50
        first = res["users"][0]
        self.assertEqual(first, {"id": first["id"], "username": "ml-000", "name": "ML-000",
                                 "created_at": first["created_at"]})
        self.assertTrue(started_ms <= first["created_at"] <= int(time.time() * 1000), first)
        chain = list(res["users"])
        while "next" in res:
            res = self.c.ok("member.list", {"org": org, "api_id": "crowd", "after": res["next"], "count": 100})
            chain += res["users"]
            self.assertEqual(res["total"], 130)
        self.assertEqual([u["username"] for u in chain], names)
        res = self.c.ok("member.list", {"org": org, "name": "Crowd", "offset": 125})
        self.assertEqual([u["username"] for u in res["users"]], names[125:])
        self.assertNotIn("next", res)
        res = self.c.ok("member.list", {"org": org, "name": "Crowd", "offset": 500})
        self.assertEqual((res["users"], res["total"]), ([], 130))
        # a cursor whose user left still pages on
        res = self.c.ok("member.list", {"org": org, "name": "Crowd", "count": 10})
        self.c.ok("member.remove", {"org": org, "name": "Crowd", "user": res["next"]})
        res = self.c.ok("member.list", {"org": org, "name": "Crowd", "count": 10, "after": res["next"]})
        self.assertEqual([u["username"] for u in res["users"]], names[10:20])
        self.assertEqual(self.c.ok("member.list", {"org": org, "name": "ORG_ADMIN"}),
                         {"users": [], "total": 0})
        for params, code, field in (({"org": org, "name": "Crowd", "count": 0}, "invalid_argument", "count"),
                                    ({"org": org, "name": "Crowd", "count": 101}, "invalid_argument", "count"),
                                    ({"org": org, "name": "Crowd", "offset": -1}, "invalid_argument", "offset"),
                                    ({"org": org, "name": "Crowd", "after": 3}, "invalid_argument", "after"),
                                    ({"org": org, "name": "Crowd", "after": ""}, "invalid_argument", "after"),
                                    ({"org": org, "name": "Crowd", "after": "a", "offset": 2},
                                     "invalid_argument", "after"),
                                    ({"org": org}, "invalid_argument", "name"),
                                    ({"org": org, "name": "Nope"}, "not_found", "name")):
            err, _ = self.c.call("member.list", params)
            self.assertError(err, code, field, msg=repr(params))

    # ------------------------------------------------------------ access.check

    def test_access_check(self):
        org = fresh_org(self.c)
        self.c.ok("role.create", {"org": org, "name": "Readers", "api_id": "readers",
                                  "permissions": ["review_read", "business_read"]})
        self.c.ok("role.create", {"org": org, "name": "Writers", "api_id": "writers",
                                  "permissions": ["review_read", "review_reply"]})
        self.c.ok("role.create", {"org": org, "name": "None", "api_id": "none"})
        self.c.ok("user.add", {"username": "ac-fay", "org": org, "roles": ["readers", "writers", "none"]})
        self.assertEqual(self.c.ok("access.check", {"org": org, "user": "ac-fay", "permission": "review_read"}),
                         {"allowed": True, "roles": ["readers", "writers"]})
        self.assertEqual(self.c.ok("access.check", {"org": org, "user": "ac-fay", "permission": "review_reply"}),
                         {"allowed": True, "roles": ["writers"]})
        self.assertEqual(self.c.ok("access.check", {"org": org, "user": "ac-fay", "permission": "business_edit"}),
                         {"allowed": False, "roles": []})
        self.assertEqual(self.c.ok("access.check", {"org": org, "user": "nobody", "permission": "review_read"}),
                         {"allowed": False, "roles": []})
        err, _ = self.c.call("access.check", {"org": org, "user": "ac-fay", "permission": "fly"})
        self.assertError(err, "invalid_argument", "permission")
        err, _ = self.c.call("access.check", {"org": org, "user": "ac-fay", "permission": "access-permissions"})
        self.assertError(err, "invalid_argument", "permission")     # the workspace's, not Partoo's
        # it follows every change at once (and on the same connection, in order)
        self.c.ok("role.update", {"org": org, "api_id": "writers", "set": {"permissions": ["review_reply"]}})
        self.assertEqual(self.c.ok("access.check", {"org": org, "user": "ac-fay", "permission": "review_read"})["roles"],
                         ["readers"])
        self.c.ok("role.update", {"org": org, "api_id": "readers", "set": {"api_id": "reading"}})
        self.assertEqual(self.c.ok("access.check", {"org": org, "user": "ac-fay", "permission": "review_read"})["roles"],
                         ["reading"])
        self.c.ok("member.remove", {"org": org, "api_id": "reading", "user": "ac-fay"})
        self.assertFalse(self.c.ok("access.check", {"org": org, "user": "ac-fay", "permission": "review_read"})["allowed"])
        self.c.ok("role.delete", {"org": org, "api_id": "writers", "force": True})
        self.assertFalse(self.c.ok("access.check", {"org": org, "user": "ac-fay", "permission": "review_reply"})["allowed"])
        # the workspace: admin holds everything
        self.c.ok("user.add", {"username": "ac-root", "roles": ["admin"]})
        self.assertEqual(self.c.ok("access.check", {"org": 0, "user": "ac-root", "permission": "assign-admin-role"}),
                         {"allowed": True, "roles": ["admin"]})
        for params, code, field in (({"org": org, "user": "ac-fay"}, "invalid_argument", "permission"),
                                    ({"org": org, "permission": "review_read"}, "invalid_argument", "user"),
                                    ({"org": org, "user": "a", "permission": 1}, "invalid_argument", "permission"),
                                    ({"user": "a", "permission": "p"}, "invalid_argument", "org"),
                                    ({"org": 987654, "user": "a", "permission": "p"}, "not_found", "org"),
                                    ({"org": org, "user": "a", "permission": "p", "x": 1}, "invalid_argument", "x")):
            err, _ = self.c.call("access.check", params)
            self.assertError(err, code, field, msg=repr(params))
        err, _ = self.c.call("user.roles", {"org": org, "user": "nobody"})
        self.assertError(err, "not_found", "user")

    # ------------------------------------------------------------ credentials

    def test_orgs_and_keys(self):
        org = fresh_org(self.c, provider="ok-prov", name="OK org")
        self.c.ok("role.create", {"org": org, "name": "one"})
        res = self.c.ok("org.list", {"count": 100})
        self.assertEqual(res["total"], len(res["orgs"]) if res["total"] <= 100 else res["total"])
        by_id = {o["id"]: o for o in res["orgs"]}
        self.assertEqual(by_id[0]["roles"], self.c.ok("role.list", {"org": 0})["count"])
        self.assertEqual(by_id[org], {"id": org, "name": "OK org", "provider": "ok-prov", "roles": 6})
        self.assertEqual([o["id"] for o in res["orgs"]], sorted(by_id))
        page = self.c.ok("org.list", {"offset": 1, "count": 1})
        self.assertEqual(page["orgs"], res["orgs"][1:2])
        k1 = self.c.ok("key.add", {"user_role": "ORG_ADMIN", "org": org})["api_key"]
        k2 = self.c.ok("key.add", {"user_role": "PROVIDER", "provider": "ok-prov"})["api_key"]
        keys = self.c.ok("key.list", {})["keys"]
        mine = {k["key_id"]: k for k in keys if k["key_id"] in (k1[:16], k2[:16])}
        self.assertEqual(set(mine), {k1[:16], k2[:16]})
        self.assertEqual(sorted(mine[k1[:16]]), ["created_at", "key_id", "org", "provider", "user_role"])
        self.assertEqual((mine[k1[:16]]["org"], mine[k1[:16]]["user_role"]), (org, "ORG_ADMIN"))
        self.assertNotIn("org", mine[k2[:16]])
        self.assertGreater(mine[k2[:16]]["created_at"], 0)
        for k in keys:
            self.assertNotIn(k1, repr(k))
            self.assertNotIn("hash", k)
        self.assertEqual([k["key_id"] for k in self.c.ok("key.list", {"org": org})["keys"]], [k1[:16]])
        self.assertEqual(sorted(k["key_id"] for k in self.c.ok("key.list", {"provider": "ok-prov"})["keys"]),
                         sorted([k1[:16], k2[:16]]))
        self.assertEqual(self.c.ok("key.list", {"org": org, "provider": "other"})["keys"], [])
        # revoked: refused from the next request on
        self.assertIsNone(self.c.call("role.get", {"name": "one"}, auth={"api_key": k1})[0])
        self.assertEqual(self.c.ok("key.revoke", {"key_id": k1[:16]}), {"key_id": k1[:16]})
        err, _ = self.c.call("role.get", {"name": "one"}, auth={"api_key": k1})
        self.assertError(err, "unauthenticated")
        err, _ = self.c.call("key.revoke", {"key_id": k1[:16]})
        self.assertError(err, "not_found", "key_id")
        self.assertEqual(self.c.ok("key.list", {"org": org})["keys"], [])
        for method, params, code, field in (("key.revoke", {}, "invalid_argument", "key_id"),
                                            ("key.revoke", {"key_id": 5}, "invalid_argument", "key_id"),
                                            ("key.list", {"org": "x"}, "invalid_argument", "org"),
                                            ("org.list", {"count": 101}, "invalid_argument", "count"),
                                            ("org.list", {"after": "x"}, "invalid_argument", "after"),
                                            ("key.list", {"auth": {"api_key": k2}}, "permission_denied", "auth"),
                                            ("org.list", {"auth": {"api_key": k2}}, "permission_denied", "auth"),
                                            ("user.list", {"org": 0, "auth": {"api_key": k2}},
                                             "permission_denied", "auth"),
                                            ("key.revoke", {"key_id": k2[:16], "auth": {"api_key": k2}},
                                             "permission_denied", "auth")):
            err, _ = self.c.call(method, params)
            self.assertError(err, code, field, msg="%s %r" % (method, params))

    # ------------------------------------------------------------ params

    def test_params_checked_as_role_create_s(self):
        """Every new method refuses an unknown key (named), a value of the
        wrong type (named), and writes nothing for it."""
        calls = {
            "role.update": {"org": 1, "name": "x", "set": {"description": "d"}, "if_revision": 1},
            "role.delete": {"org": 1, "name": "x", "if_revision": 1, "force": True},
            "role.duplicate": {"org": 1, "name": "x"},
            "member.add": {"org": 1, "name": "x", "user": "u"},
            "member.remove": {"org": 1, "api_id": "x", "user": "u"},
            "member.list": {"org": 1, "id": "x", "offset": 0, "count": 5},
            "user.roles": {"org": 1, "user": "u"},
            "access.check": {"org": 1, "user": "u", "permission": "p"},
            "org.list": {"offset": 0, "count": 5},
            "user.list": {"org": 1, "count": 5, "after": "a"},
            "user.remove": {"org": 1, "user": "u"},
            "key.list": {"org": 1, "provider": "p"},
            "key.revoke": {"key_id": "k"},
            "user.add": {"username": "u", "org": 1, "name": "n", "roles": []},
        }
        before = self.revision()
        for method, params in calls.items():
            err, _ = self.c.call(method, dict(params, zzz=1))
            self.assertError(err, "invalid_argument", "zzz", msg=method)
            for key in params:
                err, _ = self.c.call(method, dict(params, **{key: [[1]]}))
                self.assertError(err, "invalid_argument", key, msg="%s %s" % (method, key))
        self.assertEqual(self.revision(), before)

    # ------------------------------------------------------------ REST credentials

    def test_partoo_keys_on_members(self):
        org = fresh_org(self.c)
        admin = {"api_key": self.c.ok("key.add", {"user_role": "ORG_ADMIN", "org": org})["api_key"]}
        mgr = {"api_key": self.c.ok("key.add", {"user_role": "ORG_MANAGER", "org": org})["api_key"]}
        self.c.ok("user.add", {"username": "pk-gus", "org": org})
        self.c.ok("member.add", {"api_id": "PUBLISHER", "user": "pk-gus"}, auth=admin)
        err, _ = self.c.call("member.add", {"api_id": "ORG_MANAGER", "user": "pk-gus"}, auth=mgr)
        self.assertError(err, "permission_denied")
        # reading who holds what is a read
        self.assertEqual(self.c.ok("member.list", {"api_id": "PUBLISHER"}, auth=mgr)["total"], 1)
        self.assertEqual(self.c.ok("user.roles", {"user": "pk-gus"}, auth=mgr)["roles"], ["PUBLISHER"])
        self.assertFalse(self.c.ok("access.check", {"user": "pk-gus", "permission": "review_read"},
                                   auth=mgr)["allowed"])
        err, _ = self.c.call("member.remove", {"api_id": "PUBLISHER", "user": "pk-gus"}, auth=mgr)
        self.assertError(err, "permission_denied")
        self.c.ok("member.remove", {"api_id": "PUBLISHER", "user": "pk-gus"}, auth=admin)
        err, _ = self.c.call("member.list", {"org": org + 1, "api_id": "PUBLISHER"}, auth=mgr)
        self.assertError(err, "permission_denied")

    def test_rocketchat_users_on_members(self):
        c = self.c
        c.ok("role.create", {"org": 0, "name": "perm-managers", "permissions": ["access-permissions"]})
        root = c.ok("user.add", {"username": "rcm-root", "roles": ["admin"]})
        mgr = c.ok("user.add", {"username": "rcm-mgr", "roles": ["perm-managers"]})
        c.ok("user.add", {"username": "rcm-plain"})
        root = {"user_id": root["user_id"], "token": root["token"]}
        mgr = {"user_id": mgr["user_id"], "token": mgr["token"]}
        plain = c.ok("user.add", {"username": "rcm-other"})
        plain = {"user_id": plain["user_id"], "token": plain["token"]}
        # access-permissions: members may be managed ...
        c.ok("member.add", {"name": "moderator", "user": "rcm-plain"}, auth=mgr)
        c.ok("member.remove", {"name": "moderator", "user": "rcm-plain"}, auth=mgr)
        # ... but giving admin also needs assign-admin-role
        err, _ = c.call("member.add", {"name": "admin", "user": "rcm-plain"}, auth=mgr)
        self.assertError(err, "permission_denied")
        c.ok("member.add", {"name": "admin", "user": "rcm-plain"}, auth=root)
        c.ok("member.remove", {"name": "admin", "user": "rcm-plain"}, auth=mgr)
        # without access-permissions, not even reading who holds a role
        for method, params in (("member.add", {"name": "bot", "user": "rcm-plain"}),
                               ("member.list", {"name": "bot"}),
                               ("user.roles", {"user": "rcm-plain"}),
                               ("access.check", {"user": "rcm-plain", "permission": "view-logs"})):
            err, _ = c.call(method, params, auth=plain)
            self.assertError(err, "permission_denied", msg=method)
        self.assertEqual(c.ok("member.list", {"name": "perm-managers"}, auth=mgr)["total"], 1)
        # auth.check names each kind of access
        for access, allowed in (("read", True), ("read-members", False), ("create", False), ("update", False),
                                ("delete", False), ("members", False), ("assign-admin", False)):
            err, res = c.call("auth.check", {"access": access}, auth=plain)
            self.assertEqual(err is None, allowed, (access, err))
        for access in ("read", "read-members", "create", "update", "delete", "members"):
            self.assertEqual(c.ok("auth.check", {"access": access}, auth=mgr), {"org": 0}, access)
        err, _ = c.call("auth.check", {"access": "assign-admin"}, auth=mgr)
        self.assertError(err, "permission_denied")
        self.assertEqual(c.ok("auth.check", {"access": "assign-admin"}, auth=root), {"org": 0})
        err, _ = c.call("auth.check", {"access": "fly"}, auth=root)
        self.assertError(err, "invalid_argument", "access")
        # a user of a Partoo organization acts there, and reads only
        org = fresh_org(c)
        pu = c.ok("user.add", {"username": "rcm-partoo", "org": org})
        pu = {"user_id": pu["user_id"], "token": pu["token"]}
        self.assertEqual(c.ok("auth.check", {}, auth=pu), {"org": org})
        err, _ = c.call("role.get", {"org": 0, "name": "admin"}, auth=pu)
        self.assertError(err, "permission_denied")
        err, _ = c.call("role.create", {"name": "x"}, auth=pu)
        self.assertError(err, "permission_denied")


if __name__ == "__main__":
    main()
