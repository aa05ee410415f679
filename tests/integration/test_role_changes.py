#!/usr/bin/python3
"""test_role_changes.py: role.update, role.delete and role.duplicate over
RPC, every row of the contract: results, each error code and field, the
dialects' rules (Partoo organizations, the Rocket.Chat workspace), what
built-ins keep, if_revision, the database's revision, and who may call
them with a REST credential. Each test ends with the consistency walk of
the store (tests/lib/storewalk.py)."""

from storewalk import WalkedTestCase
from harness import PARTOO_BUILTINS, fresh_org, list_all, main


class RoleChangesTest(WalkedTestCase):


    def role(self, org, name, **kw):
        return self.c.ok("role.create", dict({"org": org, "name": name}, **kw))

    # ------------------------------------------------------------ role.update

    def test_update_result(self):
        org = fresh_org(self.c)
        r = self.role(org, "Reviewer", description="reads", permissions=["review_read"])
        before = self.revision()
        got = self.c.ok("role.update", {"org": org, "api_id": "Reviewer",
                                        "set": {"name": "Senior reviewer", "api_id": "senior",
                                                "description": "reads and replies",
                                                "permissions": ["review_read", "review_reply"],
                                                "scope": "Subscriptions", "mandatory2fa": True}})
        self.assertEqual(got["id"], r["id"])
        self.assertEqual(got["created_at"], r["created_at"])
        self.assertGreaterEqual(got["updated_at"], r["updated_at"])
        self.assertEqual(got["revision"], before + 1)
        self.assertEqual(self.revision(), before + 1)
        self.assertEqual((got["name"], got["api_id"], got["description"], got["scope"], got["mandatory2fa"]),
                         ("Senior reviewer", "senior", "reads and replies", "Subscriptions", True))
        self.assertEqual(got["permissions"], ["review_read", "review_reply"])
        # found by its new keys only, and listed in its old place
        for by, value in (("id", r["id"]), ("api_id", "senior"), ("name", "Senior reviewer")):
            self.assertEqual(self.c.ok("role.get", {"org": org, by: value}), got)
        for by, value in (("api_id", "Reviewer"), ("name", "Reviewer")):
            err, _ = self.c.call("role.get", {"org": org, by: value})
            self.assertError(err, "not_found", by)
        roles, count = list_all(self.c, org)
        self.assertEqual([x["id"] for x in roles][len(PARTOO_BUILTINS):], [r["id"]])
        self.assertEqual(roles[-1], got)
        # the old keys are free again
        self.role(org, "Reviewer")
        # one field alone; the others stay
        got2 = self.c.ok("role.update", {"org": org, "id": r["id"], "set": {"mandatory2fa": False}})
        self.assertEqual({k: v for k, v in got2.items() if k not in ("mandatory2fa", "updated_at", "revision")},
                         {k: v for k, v in got.items() if k not in ("mandatory2fa", "updated_at", "revision")})
        self.assertFalse(got2["mandatory2fa"])
        self.assertEqual(got2["revision"], got["revision"] + 2)    # the create in between took one

    def test_update_workspace_api_id_follows_name(self):
        r = self.role(0, "wsrole", description="d")
        got = self.c.ok("role.update", {"org": 0, "id": r["id"], "set": {"name": "wsrole2"}})
        self.assertEqual((got["name"], got["api_id"]), ("wsrole2", "wsrole2"))
        self.assertEqual(self.c.ok("role.get", {"org": 0, "api_id": "wsrole2"})["id"], r["id"])
        err, _ = self.c.call("role.update", {"org": 0, "id": r["id"], "set": {"name": "x", "api_id": "y"}})
        self.assertError(err, "invalid_argument", "api_id")
        got = self.c.ok("role.update", {"org": 0, "id": r["id"], "set": {"name": "wsrole3", "api_id": "wsrole3"}})
        self.assertEqual(got["api_id"], "wsrole3")
        # the workspace's names: any non-empty text; not another role's name or _id
        err, _ = self.c.call("role.update", {"org": 0, "id": r["id"], "set": {"name": ""}})
        self.assertError(err, "invalid_argument", "name")
        other = self.role(0, "wsother")
        for taken in ("wsother", "admin", other["id"]):
            err, _ = self.c.call("role.update", {"org": 0, "id": r["id"], "set": {"name": taken}})
            self.assertError(err, "duplicate", "name", msg=taken)
        # its own id is not another role's
        got = self.c.ok("role.update", {"org": 0, "id": r["id"], "set": {"name": r["id"]}})
        self.assertEqual(got["name"], r["id"])
        # a description of any text, "" included
        got = self.c.ok("role.update", {"org": 0, "id": r["id"], "set": {"description": ""}})
        self.assertEqual(got["description"], "")

    def test_update_partoo_rules(self):
        org = fresh_org(self.c)
        r = self.role(org, "P1", api_id="p1")
        self.role(org, "P2", api_id="p2")
        cases = [
            ({"name": "x" * 101}, "invalid_argument", "name"),
            ({"name": ""}, "invalid_argument", "name"),
            ({"name": "a,b"}, "invalid_argument", "name"),
            ({"api_id": "a/b"}, "invalid_argument", "api_id"),
            ({"api_id": "é" * 101}, "invalid_argument", "api_id"),
            ({"description": "d" * 201}, "invalid_argument", "description"),
            ({"description": ""}, "invalid_argument", "description"),
            ({"permissions": ["review_read", "no_such_permission"]}, "invalid_argument", "permissions"),
            ({"scope": "Everyone"}, "invalid_argument", "scope"),
            ({"name": "P2"}, "duplicate", "name"),
            ({"api_id": "p2"}, "duplicate", "api_id"),
            ({"api_id": "p2", "name": "P2"}, "duplicate", "api_id"),     # api_id first, as create
        ]
        for set_, code, field in cases:
            before = self.revision()
            err, _ = self.c.call("role.update", {"org": org, "api_id": "p1", "set": set_})
            self.assertError(err, code, field, msg=repr(set_))
            self.assertEqual(self.revision(), before, "a refused update took a revision: %r" % set_)
            self.assertEqual(self.c.ok("role.get", {"org": org, "id": r["id"]}), r, "a refused update wrote")
        # lengths count characters: 100 two-byte characters are fine
        got = self.c.ok("role.update", {"org": org, "api_id": "p1", "set": {"name": "é" * 100}})
        self.assertEqual(got["name"], "é" * 100)
        # repeated permissions are dropped, as by create
        got = self.c.ok("role.update", {"org": org, "api_id": "p1",
                                        "set": {"permissions": ["review_read", "review_read"]}})
        self.assertEqual(got["permissions"], ["review_read"])

    def test_update_bad_params(self):
        org = fresh_org(self.c)
        self.role(org, "B1")
        cases = [
            ({"org": org, "name": "B1"}, "set"),                                   # set required
            ({"org": org, "name": "B1", "set": {}}, "set"),                        # empty
            ({"org": org, "name": "B1", "set": []}, "set"),
            ({"org": org, "name": "B1", "set": {"bogus": 1}}, "bogus"),           # unknown key named
            ({"org": org, "name": "B1", "set": {"name": 5}}, "name"),
            ({"org": org, "name": "B1", "set": {"permissions": "x"}}, "permissions"),
            ({"org": org, "name": "B1", "set": {"mandatory2fa": "true"}}, "mandatory2fa"),
            ({"org": org, "name": "B1", "set": {"name": "x"}, "if_revision": -1}, "if_revision"),
            ({"org": org, "name": "B1", "set": {"name": "x"}, "if_revision": "1"}, "if_revision"),
            ({"org": org, "set": {"name": "x"}}, "name"),                          # which role?
            ({"org": org, "name": "B1", "id": "x", "set": {"name": "x"}}, "id"),
            ({"org": org, "name": "B1", "set": {"name": "x"}, "extra": True}, "extra"),
        ]
        for params, field in cases:
            err, _ = self.c.call("role.update", params)
            self.assertError(err, "invalid_argument", field, msg=repr(params))
        err, _ = self.c.call("role.update", {"org": org, "name": "nope", "set": {"name": "x"}})
        self.assertError(err, "not_found", "name")
        err, _ = self.c.call("role.update", {"org": 987654, "name": "B1", "set": {"name": "x"}})
        self.assertError(err, "not_found", "org")
        # a role of another organization is not found there
        other = fresh_org(self.c)
        r = self.c.ok("role.get", {"org": org, "name": "B1"})
        err, _ = self.c.call("role.update", {"org": other, "id": r["id"], "set": {"name": "x"}})
        self.assertError(err, "not_found", "id")

    def test_update_builtins(self):
        org = fresh_org(self.c)
        # Partoo built-ins change not at all
        for set_ in ({"description": "x"}, {"permissions": []}, {"name": "ORG_ADMIN"}, {"mandatory2fa": True}):
            err, _ = self.c.call("role.update", {"org": org, "api_id": "ORG_ADMIN", "set": set_})
            self.assertError(err, "protected", msg=repr(set_))
        # workspace built-ins keep id, name, api_id and scope
        mod = self.c.ok("role.get", {"org": 0, "name": "moderator"})
        for set_, field in (({"name": "mod"}, "name"), ({"scope": "Users"}, "scope")):
            err, _ = self.c.call("role.update", {"org": 0, "name": "moderator", "set": set_})
            self.assertError(err, "protected", field, msg=repr(set_))
        # ... and may change the rest (and "change" a kept field to itself)
        got = self.c.ok("role.update", {"org": 0, "name": "moderator",
                                        "set": {"description": "Moderators", "mandatory2fa": True,
                                                "permissions": mod["permissions"] + ["view-logs"],
                                                "name": "moderator", "scope": "Subscriptions"}})
        self.assertEqual((got["id"], got["name"], got["api_id"], got["scope"], got["protected"]),
                         ("moderator", "moderator", "moderator", "Subscriptions", True))
        self.assertEqual(got["description"], "Moderators")
        self.assertIn("view-logs", got["permissions"])
        self.c.ok("role.update", {"org": 0, "name": "moderator",
                                  "set": {"description": mod["description"], "mandatory2fa": False,
                                          "permissions": mod["permissions"]}})

    def test_if_revision(self):
        org = fresh_org(self.c)
        r = self.role(org, "Rev")
        err, _ = self.c.call("role.update", {"org": org, "id": r["id"], "set": {"description": "a"},
                                             "if_revision": r["revision"] + 1})
        self.assertError(err, "conflict", "if_revision")
        got = self.c.ok("role.update", {"org": org, "id": r["id"], "set": {"description": "a"},
                                        "if_revision": r["revision"]})
        # the same if_revision again: the role moved on
        err, _ = self.c.call("role.update", {"org": org, "id": r["id"], "set": {"description": "b"},
                                             "if_revision": r["revision"]})
        self.assertError(err, "conflict", "if_revision")
        err, _ = self.c.call("role.delete", {"org": org, "id": r["id"], "if_revision": r["revision"]})
        self.assertError(err, "conflict", "if_revision")
        self.assertEqual(self.c.ok("role.get", {"org": org, "id": r["id"]}), got)
        res = self.c.ok("role.delete", {"org": org, "id": r["id"], "if_revision": got["revision"]})
        self.assertEqual(res["id"], r["id"])

    def test_revisions(self):
        """Every committed write advances the revision by one; a refused one
        not at all; memberships move the database's, not the role's."""
        org = fresh_org(self.c)
        rev0 = self.revision()
        r = self.role(org, "R")
        self.assertEqual(r["revision"], rev0 + 1)
        err, _ = self.c.call("role.create", {"org": org, "name": "R"})
        self.assertError(err, "duplicate")
        self.assertEqual(self.revision(), rev0 + 1)
        self.c.ok("user.add", {"username": "rev-user", "org": org})
        self.assertEqual(self.revision(), rev0 + 2)
        self.c.ok("member.add", {"org": org, "id": r["id"], "user": "rev-user"})
        self.assertEqual(self.revision(), rev0 + 3)
        self.assertEqual(self.c.ok("role.get", {"org": org, "id": r["id"]})["revision"], r["revision"])
        res = self.c.ok("role.delete", {"org": org, "id": r["id"], "force": True})
        self.assertEqual(res["revision"], rev0 + 4)
        self.assertEqual(self.revision(), rev0 + 4)
        # org.add's built-ins carry its revision
        org2 = fresh_org(self.c)
        self.assertEqual(self.c.ok("role.get", {"org": org2, "name": "ORG_ADMIN"})["revision"], rev0 + 5)

    # ------------------------------------------------------------ role.delete

    def test_delete(self):
        org = fresh_org(self.c)
        r = self.role(org, "Gone", api_id="gone")
        keep = self.role(org, "Kept")
        count = self.c.ok("role.list", {"org": org})["count"]
        res = self.c.ok("role.delete", {"org": org, "name": "Gone"})
        self.assertEqual(res, {"id": r["id"], "api_id": "gone", "name": "Gone", "revision": self.revision()})
        for by in ("id", "api_id", "name"):
            err, _ = self.c.call("role.get", {"org": org, by: r[by]})
            self.assertError(err, "not_found", by)
        self.assertEqual(self.c.ok("role.list", {"org": org})["count"], count - 1)
        roles, n = list_all(self.c, org)
        self.assertEqual(n, count - 1)
        self.assertNotIn(r["id"], [x["id"] for x in roles])
        self.assertEqual(roles[-1], keep)
        err, _ = self.c.call("role.delete", {"org": org, "name": "Gone"})
        self.assertError(err, "not_found", "name")
        # its name and api_id are free again, with a new id
        again = self.role(org, "Gone", api_id="gone")
        self.assertNotEqual(again["id"], r["id"])
        for params, field in (({"org": org, "name": "Kept", "force": 1}, "force"),
                              ({"org": org, "name": "Kept", "if_revision": True}, "if_revision"),
                              ({"org": org}, "name"),
                              ({"org": org, "name": "Kept", "set": {}}, "set")):
            err, _ = self.c.call("role.delete", params)
            self.assertError(err, "invalid_argument", field, msg=repr(params))

    def test_delete_in_use_and_force(self):
        org = fresh_org(self.c)
        r = self.role(org, "Held")
        for u in ("ann", "ben", "cid"):
            self.c.ok("user.add", {"username": u, "org": org, "roles": ["Held"]})
        before = self.revision()
        for by, value in (("id", r["id"]), ("name", "Held"), ("api_id", "Held")):
            err, _ = self.c.call("role.delete", {"org": org, by: value})
            self.assertError(err, "in_use", by)
        err, _ = self.c.call("role.delete", {"org": org, "name": "Held", "force": False})
        self.assertError(err, "in_use", "name")
        self.assertEqual(self.revision(), before)
        self.assertEqual(self.c.ok("member.list", {"org": org, "name": "Held"})["total"], 3)
        self.c.ok("role.delete", {"org": org, "name": "Held", "force": True})
        for u in ("ann", "ben", "cid"):
            self.assertEqual(self.c.ok("user.roles", {"org": org, "user": u})["roles"], [])
        # a role held by nobody any more is deleted without force
        r2 = self.role(org, "Once held")
        self.c.ok("member.add", {"org": org, "id": r2["id"], "user": "ann"})
        self.c.ok("member.remove", {"org": org, "id": r2["id"], "user": "ann"})
        self.c.ok("role.delete", {"org": org, "id": r2["id"]})

    def test_delete_builtins(self):
        org = fresh_org(self.c)
        for o, name in ((org, "ORG_ADMIN"), (org, "PUBLISHER"), (0, "admin"), (0, "guest")):
            err, _ = self.c.call("role.delete", {"org": o, "name": name, "force": True})
            self.assertError(err, "protected", "name", msg=name)
            self.c.ok("role.get", {"org": o, "name": name})

    def test_delete_keeps_paging_right(self):
        """Offset pages stay right once roles are deleted (the buckets),
        and cursors keep walking past deleted roles."""
        org = fresh_org(self.c)
        names = ["pg-%04d" % i for i in range(1200)]
        for i in range(0, len(names), 100):
            frames = [(n, self.c.send_request("role.create", {"org": org, "name": n})) for n in names[i:i + 100]]
            got = self.c.recv_replies(len(frames))
            for n, m in frames:
                self.assertIsNone(got[m][0], n)
        gone = set(names[3:1100:7]) | {names[0], names[-1]}
        for i, n in enumerate(sorted(gone)):
            self.c.send_request("role.delete", {"org": org, "name": n})
        for err, _ in self.c.recv_replies(len(gone)).values():
            self.assertIsNone(err)
        expect = list(PARTOO_BUILTINS) + [n for n in names if n not in gone]
        roles, count = list_all(self.c, org, per_page=100)
        self.assertEqual(count, len(expect))
        self.assertEqual([x["name"] for x in roles], expect)
        for page in (1, 5, 11, 12):
            res = self.c.ok("role.list", {"org": org, "page": page, "per_page": 100})
            self.assertEqual([x["name"] for x in res["roles"]], expect[(page - 1) * 100:page * 100], page)
        # a cursor taken before deletions still pages on
        res = self.c.ok("role.list", {"org": org, "per_page": 100})
        victims = [x["name"] for x in self.c.ok("role.list", {"org": org, "page": 2, "per_page": 100})["roles"]][:10]
        for n in victims:
            self.c.ok("role.delete", {"org": org, "name": n})
        chain = [x["name"] for x in res["roles"]]
        while "next" in res:
            res = self.c.ok("role.list", {"org": org, "per_page": 100, "after": res["next"]})
            chain += [x["name"] for x in res["roles"]]
        self.assertEqual(chain, [n for n in expect if n not in victims])
        err, _ = self.c.call("role.list", {"org": org, "after": "2.999999"})
        self.assertError(err, "invalid_argument", "after")

    # ------------------------------------------------------------ role.duplicate

    def test_duplicate_partoo(self):
        org = fresh_org(self.c)
        src = self.role(org, "Support", api_id="support", description="helps",
                        permissions=["review_read", "review_reply"], scope="Subscriptions", mandatory2fa=True)
        c2 = self.c.ok("role.duplicate", {"org": org, "api_id": "support"})
        self.assertEqual((c2["name"], c2["api_id"]), ("Support - 2", "support_2"))
        for k in ("description", "scope", "permissions", "mandatory2fa", "org"):
            self.assertEqual(c2[k], src[k], k)
        self.assertFalse(c2["protected"])
        self.assertNotEqual(c2["id"], src["id"])
        self.assertEqual(c2["revision"], self.revision())
        c3 = self.c.ok("role.duplicate", {"org": org, "id": src["id"]})
        self.assertEqual((c3["name"], c3["api_id"]), ("Support - 3", "support_3"))
        # the first N at which both are free
        self.role(org, "Support - 4", api_id="other4")
        self.role(org, "other5", api_id="support_5")
        c6 = self.c.ok("role.duplicate", {"org": org, "name": "Support"})
        self.assertEqual((c6["name"], c6["api_id"]), ("Support - 6", "support_6"))
        # a copy of a copy
        cc = self.c.ok("role.duplicate", {"org": org, "name": "Support - 2"})
        self.assertEqual((cc["name"], cc["api_id"]), ("Support - 2 - 2", "support_2_2"))
        # over 100 characters: refused, nothing written
        self.role(org, "n" * 97, api_id="long")
        before = self.revision()
        err, _ = self.c.call("role.duplicate", {"org": org, "api_id": "long"})
        self.assertError(err, "invalid_argument", "name")
        self.role(org, "short", api_id="a" * 99)
        err, _ = self.c.call("role.duplicate", {"org": org, "name": "short"})
        self.assertError(err, "invalid_argument", "api_id")
        self.assertEqual(self.revision(), before + 1)
        # built-ins of Partoo are not copied; unknown roles not found
        err, _ = self.c.call("role.duplicate", {"org": org, "name": "ORG_ADMIN"})
        self.assertError(err, "protected", "name")
        err, _ = self.c.call("role.duplicate", {"org": org, "name": "nope"})
        self.assertError(err, "not_found", "name")
        err, _ = self.c.call("role.duplicate", {"org": org, "name": "Support", "set": {}})
        self.assertError(err, "invalid_argument", "set")

    def test_duplicate_workspace(self):
        src = self.role(0, "dupws", description="w", permissions=["view-logs"])
        c2 = self.c.ok("role.duplicate", {"org": 0, "name": "dupws"})
        self.assertEqual((c2["name"], c2["api_id"], c2["description"], c2["permissions"]),
                         ("dupws - 2", "dupws - 2", "w", ["view-logs"]))
        # a workspace built-in may be copied: the copy is not protected
        a2 = self.c.ok("role.duplicate", {"org": 0, "name": "admin"})
        self.assertEqual((a2["name"], a2["protected"]), ("admin - 2", False))
        self.assertEqual(a2["permissions"], self.c.ok("role.get", {"org": 0, "name": "admin"})["permissions"])
        self.c.ok("role.delete", {"org": 0, "id": a2["id"]})
        self.c.ok("role.delete", {"org": 0, "id": c2["id"]})
        self.c.ok("role.delete", {"org": 0, "id": src["id"]})

    # ------------------------------------------------------------ REST credentials

    def test_partoo_keys(self):
        org = fresh_org(self.c, provider="prov-rc")
        other = fresh_org(self.c, provider="prov-rc")
        foreign = fresh_org(self.c, provider="prov-zz")
        admin = {"api_key": self.c.ok("key.add", {"user_role": "ORG_ADMIN", "org": org})["api_key"]}
        pub = {"api_key": self.c.ok("key.add", {"user_role": "PUBLISHER", "org": org})["api_key"]}
        prov = {"api_key": self.c.ok("key.add", {"user_role": "PROVIDER", "provider": "prov-rc"})["api_key"]}
        for o in (org, other, foreign):
            self.role(o, "K", api_id="k")
        calls = [("role.update", {"api_id": "k", "set": {"description": "new"}}),
                 ("role.duplicate", {"api_id": "k"}),
                 ("role.delete", {"api_id": "k"})]
        # ORG_ADMIN: its own org (the default), none other, known or not
        for method, params in calls:
            err, _ = self.c.call(method, dict(params, org=other), auth=admin)
            self.assertError(err, "permission_denied", msg=method)
            err, _ = self.c.call(method, dict(params, org=987654), auth=admin)
            self.assertError(err, "permission_denied", msg=method)
            # other user-roles only read
            err, _ = self.c.call(method, dict(params), auth=pub)
            self.assertError(err, "permission_denied", msg=method)
            # PROVIDER: org required, its provider's orgs only
            err, _ = self.c.call(method, dict(params), auth=prov)
            self.assertError(err, "invalid_argument", "org", msg=method)
            err, _ = self.c.call(method, dict(params, org=foreign), auth=prov)
            self.assertError(err, "permission_denied", msg=method)
            err, _ = self.c.call(method, dict(params, org=987654), auth=prov)
            self.assertError(err, "not_found", "org", msg=method)
        for method, params in calls:
            self.assertIsNone(self.c.call(method, dict(params), auth=admin)[0], method)
            self.assertIsNone(self.c.call(method, dict(params, org=other), auth=prov)[0], method)
        # built-ins stay built-in whoever asks
        err, _ = self.c.call("role.delete", {"name": "ORG_ADMIN"}, auth=admin)
        self.assertError(err, "protected")
        wrong = admin["api_key"][:-1] + ("1" if admin["api_key"][-1] == "0" else "0")
        err, _ = self.c.call("role.update", {"name": "k", "set": {"name": "x"}}, auth={"api_key": wrong})
        self.assertError(err, "unauthenticated")

    def test_rocketchat_users(self):
        admin_tok = self.c.ok("user.add", {"username": "rc-admin", "roles": ["admin"]})
        plain_tok = self.c.ok("user.add", {"username": "rc-plain"})
        admin = {"user_id": admin_tok["user_id"], "token": admin_tok["token"]}
        plain = {"user_id": plain_tok["user_id"], "token": plain_tok["token"]}
        self.role(0, "rc-target")
        err, _ = self.c.call("role.update", {"name": "rc-target", "set": {"description": "x"}}, auth=plain)
        self.assertError(err, "permission_denied")
        err, _ = self.c.call("role.update", {"org": 5, "name": "rc-target", "set": {"description": "x"}},
                             auth=admin)
        self.assertError(err, "permission_denied")
        got = self.c.ok("role.update", {"name": "rc-target", "set": {"description": "x"}}, auth=admin)
        self.assertEqual(got["description"], "x")
        dup = self.c.ok("role.duplicate", {"name": "rc-target"}, auth=admin)
        err, _ = self.c.call("role.delete", {"id": dup["id"]}, auth=plain)
        self.assertError(err, "permission_denied")
        self.c.ok("role.delete", {"id": dup["id"]}, auth=admin)
        self.c.ok("role.delete", {"name": "rc-target"}, auth=admin)
        self.c.ok("user.remove", {"org": 0, "user": "rc-plain"})
        err, _ = self.c.call("role.get", {"name": "admin"}, auth=plain)
        self.assertError(err, "unauthenticated")        # its token went with it


if __name__ == "__main__":
    main()
