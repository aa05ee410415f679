#!/usr/bin/python3
"""test_export.py: db.export pages the database as records (JSON Lines for
rolesctl export): every organization by id, and in each its record, its
roles in creation order, its users by username, its memberships by role
then username; no secret; the same records whatever the page size, by a
cursor; one organization alone; bad parameters refused by field."""

import json

from harness import DaemonTestCase, fresh_org, list_all, main


class ExportTest(DaemonTestCase):

    def setUp(self):
        self.c = self.d.rpc()
        self.addCleanup(self.c.close)

    def export(self, limit=None, org=None):
        out, after, pages = [], None, 0
        while True:
            p = {}
            if limit is not None:
                p["limit"] = limit
            if org is not None:
                p["org"] = org
            if after is not None:
                p["after"] = after
            res = self.c.ok("db.export", p)
            self.assertLessEqual(len(res["records"]), limit or 100)
            self.assertIsInstance(res["revision"], int)
            out += res["records"]
            pages += 1
            after = res.get("next")
            if after is None:
                return out, pages
            self.assertLess(pages, 10000, "db.export does not end")

    def fill(self):
        org = fresh_org(self.c, name="Exported", provider="acme")
        roles = [self.c.ok("role.create", {"org": org, "name": "r%d" % i}) for i in range(10)]
        self.c.ok("role.delete", {"org": org, "id": roles[3]["id"]})
        users = {}
        for i, name in enumerate(["zoe", "al", "mo"]):
            held = [roles[k]["api_id"] for k in (0, 1, 5, 9)[:i + 1]]
            users[name] = self.c.ok("user.add", {"org": org, "username": name, "roles": held})
        return org

    def test_one_organization_in_canonical_order(self):
        org = self.fill()
        records, _ = self.export(org=org)
        self.assertEqual(records[0], {"type": "org", "id": org, "name": "Exported", "provider": "acme"})
        roles, _ = list_all(self.c, org)
        got_roles = [r for r in records if r["type"] == "role"]
        self.assertEqual([dict(r, type="role") for r in roles], got_roles)
        users = [r for r in records if r["type"] == "user"]
        self.assertEqual([u["username"] for u in users], ["al", "mo", "zoe"])
        for u in users:
            self.assertEqual(set(u), {"type", "id", "org", "username", "name", "created_at"})
        members = [(m["api_id"], m["user"]) for m in records if m["type"] == "member"]
        self.assertEqual(members, [("r0", "al"), ("r0", "mo"), ("r0", "zoe"), ("r1", "al"), ("r1", "mo"),
                                   ("r5", "mo")])
        by_name = {u["username"]: u["id"] for u in users}
        for m in records:
            if m["type"] == "member":
                self.assertEqual(m["user_id"], by_name[m["user"]])
                self.assertEqual(m["org"], org)
        # the phases in order: org, roles, users, members
        kinds = [r["type"] for r in records]
        self.assertEqual(kinds, sorted(kinds, key=["org", "role", "user", "member"].index))
        # no secret anywhere
        text = json.dumps(records)
        for word in ("token", "hash", "api_key", "secret"):
            self.assertNotIn(word, text)

    def test_pages_make_the_same_records(self):
        org = self.fill()
        self.c.ok("key.add", {"user_role": "ORG_ADMIN", "org": org})    # keys are not exported
        whole, pages = self.export(limit=1000)
        self.assertEqual(pages, 1)
        for limit in (1, 2, 7, 100):
            paged, pages = self.export(limit=limit)
            self.assertEqual(paged, whole, "pages of %d" % limit)
            self.assertGreaterEqual(pages, len(whole) // limit)
        orgs = [r["id"] for r in whole if r["type"] == "org"]
        self.assertEqual(orgs, sorted(orgs))
        self.assertEqual(orgs[0], 0)
        self.assertIn(org, orgs)
        # organization by organization, the same again
        self.assertEqual([r for o in orgs for r in self.export(org=o, limit=3)[0]], whole)
        st = self.c.ok("server.status", {})
        self.assertEqual(len([r for r in whole if r["type"] == "role"]), st["roles"])

    def test_bad_parameters(self):
        org = fresh_org(self.c)
        first = self.c.ok("db.export", {"limit": 2})
        for params, code, field in (
                ({"limit": 0}, "invalid_argument", "limit"),
                ({"limit": 1001}, "invalid_argument", "limit"),
                ({"limit": "5"}, "invalid_argument", "limit"),
                ({"after": 5}, "invalid_argument", "after"),
                ({"after": "junk"}, "invalid_argument", "after"),
                ({"after": "0:x:0:"}, "invalid_argument", "after"),
                ({"after": "0:u:0:6"}, "invalid_argument", "after"),
                ({"after": "999999:r:0:"}, "invalid_argument", "after"),
                ({"after": first["next"], "org": org}, "invalid_argument", "after"),
                ({"org": 999999}, "not_found", "org"),
                ({"org": -1}, "invalid_argument", "org"),
                ({"format": "json"}, "invalid_argument", "format"),
                ({"auth": {"api_key": "k" * 40}}, "permission_denied", "auth")):
            err, _ = self.c.call("db.export", params)
            self.assertError(err, code, field, repr(params))
        self.assertIsNone(self.c.call("server.status", {})[0])


if __name__ == "__main__":
    main()
