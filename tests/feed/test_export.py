#!/usr/bin/python3
"""test_export.py: db.export pages the database as records (JSON Lines for
rolesctl export): every organization by id, and in each its record, its
roles in creation order, its users by username, its memberships by role
then username; no secret; the same records whatever the page size, by a
cursor; one organization alone; bad parameters refused by field.
db.import takes those records back in batches: into an empty database
they make the same one (ids kept, users without a token); run twice,
nothing changes; dry_run says what would change and writes nothing; a
hand-edited record is updated; a bad record refuses its whole batch,
named by index and field, nothing of the batch written."""

import json

from harness import Daemon, DaemonTestCase, fresh_org, list_all, main
from storewalk import walk


def identity(records):
    """What an import must reproduce: records without the revisions and,
    for built-ins (made by their organization's creation), the times."""
    out = []
    for r in records:
        r = dict(r)
        if r["type"] == "role":
            r.pop("revision")
            if r["protected"]:
                r.pop("created_at")
                r.pop("updated_at")
        out.append(r)
    return out


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



class ImportTest(DaemonTestCase):

    def setUp(self):
        self.c = self.d.rpc()
        self.addCleanup(self.c.close)

    def export_all(self, client):
        out, after = [], None
        while True:
            res = client.ok("db.export", {"limit": 1000, **({"after": after} if after else {})})
            out += res["records"]
            after = res.get("next")
            if after is None:
                return out

    def import_batches(self, client, records, size=40, dry_run=False):
        totals = {"created": 0, "updated": 0, "unchanged": 0}
        results = []
        for i in range(0, len(records), size):
            res = client.ok("db.import", {"records": records[i:i + size], "dry_run": dry_run})
            self.assertEqual(res["dry_run"], dry_run)
            self.assertEqual(len(res["results"]), len(records[i:i + size]))
            results += res["results"]
            for k in totals:
                totals[k] += res[k]
        return results, totals

    def test_round_trip_idempotent(self):
        org = fresh_org(self.c, name="Src", provider="p")
        roles = [self.c.ok("role.create", {"org": org, "name": "r%d" % i, "permissions": ["review_read"]})
                 for i in range(30)]
        self.c.ok("role.delete", {"org": org, "id": roles[7]["id"]})
        self.c.ok("role.create", {"org": 0, "name": "ws-role", "description": "x"})
        self.c.ok("role.update", {"org": 0, "name": "admin", "set": {"description": "changed admin"}})
        src_user = self.c.ok("user.add", {"org": org, "username": "ann", "roles": ["r0", "r1"]})
        self.c.ok("user.add", {"username": "wsuser"})
        source = self.export_all(self.c)

        with Daemon() as d2, d2.rpc() as c2:
            before = self.export_all(c2)
            rev0 = c2.ok("server.status", {})["revision"]
            # one batch: a dry run cannot see what an earlier batch would make
            results, totals = self.import_batches(c2, source, size=1000, dry_run=True)
            self.assertGreater(totals["created"], 30)
            self.assertEqual(self.export_all(c2), before, "dry_run wrote")
            self.assertEqual(c2.ok("server.status", {})["revision"], rev0)
            results2, totals2 = self.import_batches(c2, source)
            self.assertEqual(results2, results, "dry_run said otherwise")
            self.assertEqual(totals2["updated"], 1)             # the workspace's admin
            self.assertEqual(identity(self.export_all(c2)), identity(source))
            rev1 = c2.ok("server.status", {})["revision"]
            self.assertEqual(rev1 - rev0, totals2["created"] + totals2["updated"])
            # again: nothing changes
            _, totals3 = self.import_batches(c2, source, size=1000)
            self.assertEqual(totals3, {"created": 0, "updated": 0, "unchanged": len(source)})
            self.assertEqual(c2.ok("server.status", {})["revision"], rev1)
            # imported users have no token yet: the source's is refused
            err, _ = c2.call("role.list", {"org": org}, auth={"user_id": src_user["user_id"],
                                                               "token": src_user["token"]})
            self.assertError(err, "unauthenticated")
            # a hand-edited record is an update
            edited = [dict(r, description="edited") for r in source
                      if r["type"] == "role" and r["org"] == org and r["name"] == "r5"]
            res = c2.ok("db.import", {"records": edited})
            self.assertEqual(res["results"], ["updated"])
            self.assertEqual(c2.ok("role.get", {"org": org, "name": "r5"})["description"], "edited")
            report = walk(d2.db)
            self.assertTrue(report, report)

    def test_bad_batch_writes_nothing(self):
        org = fresh_org(self.c)
        taken = dict(self.c.ok("role.create", {"org": org, "name": "taken"}), type="role")
        new = dict(taken, id="0123456789abcdef01234567", name="fresh", api_id="fresh")
        rev = self.c.ok("server.status", {})["revision"]
        cases = [
            ([new, dict(taken, id="fedcba9876543210fedcba98", api_id="other")], "duplicate", "records.1.name"),
            ([new, {"type": "role", "id": "x"}], "invalid_argument", "records.1"),
            ([new, {"type": "thing"}], "invalid_argument", "records.1.type"),
            ([new, {"type": "org", "id": org, "name": "another"}], "invalid_argument", "records.1.id"),
            ([new, dict(new, id="aaaaaaaaaaaaaaaaaaaaaaaa", org=999999)], "not_found", "records.1.org"),
            ([new, dict(new, id="bbbbbbbbbbbbbbbbbbbbbbbb", name="x;y", api_id="z")], "invalid_argument",
             "records.1.name"),
            ([new, {"type": "member", "org": org, "role": taken["id"], "user": "nobody"}], "not_found",
             "records.1.user"),
            ([new, {"type": "user", "id": "u1", "org": org, "username": ""}], "invalid_argument",
             "records.1.username"),
        ]
        for records, code, field in cases:
            err, _ = self.c.call("db.import", {"records": records})
            self.assertError(err, code, field, repr(records[1]))
            self.assertTrue(err["message"].startswith("record 1: "), err)
        for params, field in (({"records": []}, "records"), ({"records": [1]}, "records"),
                              ({"records": {}}, "records"), ({"records": [new], "dry_run": 1}, "dry_run"),
                              ({"records": [new], "auth": {"api_key": "k" * 40}}, "auth")):
            err, _ = self.c.call("db.import", params)
            self.assertIsNotNone(err, params)
            self.assertEqual(err.get("field"), field, err)
        # nothing of any of those batches was written
        self.assertEqual(self.c.ok("server.status", {})["revision"], rev)
        self.assertError(self.c.call("role.get", {"org": org, "name": "fresh"})[0], "not_found")
        # and the good record alone goes in
        self.assertEqual(self.c.ok("db.import", {"records": [new]})["results"], ["created"])
        self.assertEqual(self.c.ok("role.get", {"org": org, "name": "fresh"})["id"], new["id"])


if __name__ == "__main__":
    main()
