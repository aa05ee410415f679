#!/usr/bin/python3
"""test_rpc.py: every RPC method through an independent MessagePack-RPC
client, pipelining, paging, parameter validation and the role rules."""


from harness import (DaemonTestCase, ORG0_BUILTINS, PARTOO_BUILTINS, catalog_names,
                     fresh_org, list_all, main, raw_str, packb,
                     request_frame_raw_params)

ROLE_KEYS = {"id", "org", "api_id", "name", "description", "scope", "permissions",
             "mandatory2fa", "protected", "created_at", "updated_at", "revision"}


class RpcTest(DaemonTestCase):

    def setUp(self):
        self.c = self.d.rpc()
        self.addCleanup(self.c.close)

    def assertRole(self, r):
        self.assertIsInstance(r, dict, r)
        self.assertEqual(set(r.keys()), ROLE_KEYS, r)
        self.assertIsInstance(r["id"], str)
        self.assertTrue(r["id"])
        self.assertIsInstance(r["org"], int)
        self.assertIsInstance(r["created_at"], int)
        self.assertIsInstance(r["updated_at"], int)
        self.assertIsInstance(r["revision"], int)
        self.assertIsInstance(r["permissions"], list)
        self.assertIsInstance(r["mandatory2fa"], bool)
        self.assertIsInstance(r["protected"], bool)

    # ---------------------------------------------------------------- happy paths

    def test_server_status(self):
        st = self.c.ok("server.status", {})
        for k in ("version", "organizations", "roles"):
            self.assertIn(k, st)
        self.assertIsInstance(st["version"], str)
        self.assertIsInstance(st["organizations"], int)
        self.assertIsInstance(st["roles"], int)
        # the workspace (org 0) with its 12 built-ins exists from the first start
        self.assertGreaterEqual(st["roles"], len(ORG0_BUILTINS))

    def test_org_add(self):
        before = self.c.ok("server.status", {})
        res = self.c.ok("org.add", {"id": 4242, "name": "Acme", "provider": "prov-x"})
        self.assertEqual(res, {"id": 4242, "name": "Acme", "provider": "prov-x"})
        after = self.c.ok("server.status", {})
        self.assertEqual(after["organizations"], before["organizations"] + 1)
        # the new org's built-ins count as roles
        self.assertEqual(after["roles"], before["roles"] + len(PARTOO_BUILTINS))
        err, _ = self.c.call("org.add", {"id": 4242})
        self.assertError(err, "duplicate")
        res = self.c.ok("org.add", {"id": 4243})
        self.assertEqual(res["id"], 4243)
        self.assertIsNone(res.get("provider"))

    def test_org_add_id_zero_or_missing(self):
        err, _ = self.c.call("org.add", {"id": 0})
        self.assertError(err, "invalid_argument", "id", msg="org 0 is the reserved workspace")
        err, _ = self.c.call("org.add", {})
        self.assertError(err, "invalid_argument", "id")

    def test_key_add_and_user_add(self):
        org = fresh_org(self.c)
        res = self.c.ok("key.add", {"user_role": "ORG_ADMIN", "org": org})
        self.assertEqual(set(res), {"api_key"})
        self.assertIsInstance(res["api_key"], str)
        self.assertGreaterEqual(len(res["api_key"]), 16)
        res2 = self.c.ok("key.add", {"user_role": "ORG_ADMIN", "org": org})
        self.assertNotEqual(res["api_key"], res2["api_key"])
        res = self.c.ok("user.add", {"username": "rpc-user-1"})
        self.assertEqual(set(res), {"user_id", "token"})
        self.assertTrue(res["user_id"] and res["token"])
        res = self.c.ok("user.add", {"username": "rpc-admin-1", "roles": ["admin"]})
        self.assertEqual(set(res), {"user_id", "token"})
        err, _ = self.c.call("key.add", {"user_role": "NOT_A_ROLE", "org": org})
        self.assertError(err, "invalid_argument", "user_role")

    def test_role_create_get(self):
        org = fresh_org(self.c)
        r = self.c.ok("role.create", {
            "org": org, "name": "Editors", "api_id": "editors",
            "description": "edit things", "scope": "Subscriptions",
            "permissions": ["business_edit", "review_read"], "mandatory2fa": True})
        self.assertRole(r)
        self.assertEqual(r["org"], org)
        self.assertEqual(r["name"], "Editors")
        self.assertEqual(r["api_id"], "editors")
        self.assertEqual(r["description"], "edit things")
        self.assertEqual(r["scope"], "Subscriptions")
        self.assertEqual(sorted(r["permissions"]), ["business_edit", "review_read"])
        self.assertIs(r["mandatory2fa"], True)
        self.assertIs(r["protected"], False)
        self.assertLessEqual(r["created_at"], r["updated_at"])
        self.assertGreater(r["created_at"], 1_500_000_000_000)  # ms since the epoch
        for by in ("id", "api_id", "name"):
            g = self.c.ok("role.get", {"org": org, by: r[by]})
            self.assertEqual(g, r, "role.get by %s" % by)
        # defaults
        r2 = self.c.ok("role.create", {"org": org, "name": "Plain"})
        self.assertEqual(r2["api_id"], "Plain")
        self.assertEqual(r2["scope"], "Users")
        self.assertIsNone(r2["description"])
        self.assertEqual(r2["permissions"], [])
        self.assertIs(r2["mandatory2fa"], False)
        self.assertNotEqual(r2["id"], r["id"])
        err, _ = self.c.call("role.get", {"org": org, "api_id": "nope"})
        self.assertError(err, "not_found")

    def test_role_get_needs_exactly_one_key(self):
        err, _ = self.c.call("role.get", {"org": 0})
        self.assertError(err, "invalid_argument")
        err, _ = self.c.call("role.get", {"org": 0, "name": "admin", "id": "admin"})
        self.assertError(err, "invalid_argument")

    def test_role_list_and_catalog_happy(self):
        org = fresh_org(self.c)
        res = self.c.ok("role.list", {"org": org})
        self.assertEqual(res["count"], len(PARTOO_BUILTINS))
        self.assertEqual(res["page"], 1)
        self.assertEqual(res["max_page"], 1)
        self.assertNotIn("next", res)
        for r in res["roles"]:
            self.assertRole(r)
        cat = self.c.ok("permission.catalog", {"org": org})
        self.assertIsInstance(cat["sections"], list)
        self.assertTrue(cat["sections"])

    # ---------------------------------------------------------------- built-ins

    def test_org0_builtins(self):
        roles, count = list_all(self.c, 0)
        builtin = {r["name"]: r for r in roles if r["protected"]}
        self.assertEqual(set(builtin), set(ORG0_BUILTINS))
        for name, r in builtin.items():
            self.assertRole(r)
            self.assertEqual(r["id"], name, "org 0 built-in _id == name")
            self.assertEqual(r["org"], 0)
            g = self.c.ok("role.get", {"org": 0, "id": name})
            self.assertEqual(g["name"], name)

    def test_partoo_builtins(self):
        org = fresh_org(self.c)
        roles, count = list_all(self.c, org)
        self.assertEqual(count, len(PARTOO_BUILTINS))
        self.assertEqual({r["name"] for r in roles}, set(PARTOO_BUILTINS))
        for r in roles:
            self.assertIs(r["protected"], True, r)
            self.assertEqual(r["org"], org)
        # a built-in name cannot be taken again
        err, _ = self.c.call("role.create", {"org": org, "name": "ORG_ADMIN"})
        self.assertError(err, "duplicate")

    def test_permission_catalogs(self):
        org = fresh_org(self.c)
        names = catalog_names(self.c.ok("permission.catalog", {"org": org}))
        for p in ("business_edit", "business_edit_name", "review_read"):
            self.assertIn(p, names)
        names0 = catalog_names(self.c.ok("permission.catalog", {"org": 0}))
        self.assertIn("access-permissions", names0)
        err, _ = self.c.call("permission.catalog", {"org": 987654})
        self.assertError(err, "not_found", "org")

    # ---------------------------------------------------------------- pipelining

    def test_pipelined_1000_creates(self):
        org = fresh_org(self.c)
        before = self.c.ok("server.status", {})["roles"]
        n = 1000
        frames = []
        ids = {}
        for i in range(n):
            msgid = 10_000 + i
            ids[msgid] = "pipe-%04d" % i
            frames.append(packb([0, msgid, "role.create",
                                 [{"org": org, "name": ids[msgid]}]]))
        self.assertTrue(self.c.send_raw(b"".join(frames)), "daemon closed while sending")
        replies = self.c.recv_replies(n)    # asserts each msgid once
        self.assertEqual(set(replies), set(ids))
        for msgid, (err, res) in replies.items():
            self.assertIsNone(err, "msgid %d: %r" % (msgid, err))
            self.assertEqual(res["name"], ids[msgid])
        after = self.c.ok("server.status", {})["roles"]
        self.assertEqual(after, before + n)
        self.assertEqual(self.c.ok("role.list", {"org": org})["count"],
                         n + len(PARTOO_BUILTINS))

    def test_reads_see_the_connections_own_writes(self):
        """Session consistency: pipelined reads behind writes of the same
        connection wait for them and see them; writes behind writes still
        share commits; nothing is reordered."""
        org = fresh_org(self.c)
        frames, kinds = [], {}
        msgid = 1
        for i in range(40):
            name = "sess-%02d" % i
            frames.append(packb([0, msgid, "role.create", [{"org": org, "name": name}]]))
            kinds[msgid] = ("create", name)
            msgid += 1
            if i % 4 == 3:      # four creates, then reads of all of them so far
                for j in range(i - 3, i + 1):
                    frames.append(packb([0, msgid, "role.get", [{"org": org, "name": "sess-%02d" % j}]]))
                    kinds[msgid] = ("get", "sess-%02d" % j)
                    msgid += 1
                frames.append(packb([0, msgid, "role.list", [{"org": org, "per_page": 100}]]))
                kinds[msgid] = ("list", i + 1)
                msgid += 1
        before = self.c.ok("server.status", {})
        self.c.send_raw(b"".join(frames))
        order, created = [], {}
        for _ in range(len(kinds)):
            mid, err, res = self.c.recv_reply()
            self.assertIsNone(err, "%r: %r" % (kinds[mid], err))
            order.append(mid)
            kind, what = kinds[mid]
            if kind == "create":
                created[what] = res
            elif kind == "get":
                self.assertIn(what, created, "a read answered before the write it follows")
                self.assertEqual(res, created[what])
            else:
                names = [r["name"] for r in res["roles"] if not r["protected"]]
                self.assertEqual(names, ["sess-%02d" % k for k in range(what)])
        # every reply comes after those of the writes sent before it
        for pos, mid in enumerate(order):
            earlier = set(order[:pos])
            for m in range(1, mid):
                if kinds[m][0] == "create" and kinds[mid][0] != "create":
                    self.assertIn(m, earlier, "reply %d before the write %d it follows" % (mid, m))
        after = self.c.ok("server.status", {})
        self.assertEqual(after["writes"] - before["writes"], 40)
        # the four creates between two reads share commits (fewer commits than writes)
        self.assertLess(after["write_batches"] - before["write_batches"], 40)

    def test_pipelined_duplicates_in_one_batch(self):
        """Uniqueness holds inside one group commit: the same names and
        api_ids pipelined on one connection and raced on two connections."""
        org = fresh_org(self.c)
        before = self.c.ok("role.list", {"org": org})["count"]
        frames = []
        for i in range(100):
            frames.append(packb([0, 2 * i + 1, "role.create",
                                 [{"org": org, "name": "same-%02d" % i}]]))
            frames.append(packb([0, 2 * i + 2, "role.create",
                                 [{"org": org, "name": "same-%02d" % i}]]))
        self.c.send_raw(b"".join(frames))
        got = self.c.recv_replies(200)
        for i in range(100):
            a, b = got[2 * i + 1], got[2 * i + 2]
            self.assertEqual(sorted([a[0] is None, b[0] is None]), [False, True],
                             "same-%02d: exactly one create succeeds: %r %r" % (i, a, b))
            self.assertEqual((a[0] or b[0]).get("code"), "duplicate")
        # two connections racing for the same api_ids under different names
        c2 = self.d.rpc()
        self.addCleanup(c2.close)
        fa = b"".join(packb([0, i + 1, "role.create",
                             [{"org": org, "name": "ra-%03d" % i, "api_id": "race-%03d" % i}]])
                      for i in range(300))
        fb = b"".join(packb([0, i + 1, "role.create",
                             [{"org": org, "name": "rb-%03d" % i, "api_id": "race-%03d" % i}]])
                      for i in range(300))
        self.c.send_raw(fa)
        c2.send_raw(fb)
        ga = self.c.recv_replies(300)
        gb = c2.recv_replies(300)
        for i in range(300):
            a, b = ga[i + 1], gb[i + 1]
            self.assertEqual(sorted([a[0] is None, b[0] is None]), [False, True],
                             "race-%03d: exactly one create succeeds: %r %r" % (i, a, b))
            err = a[0] or b[0]
            self.assertEqual((err.get("code"), err.get("field")), ("duplicate", "api_id"))
        res = self.c.ok("role.list", {"org": org})
        self.assertEqual(res["count"], before + 100 + 300)
        roles, count = list_all(self.c, org)
        self.assertEqual(len({r["api_id"] for r in roles}), count)
        self.assertEqual(len({r["name"] for r in roles}), count)

    # ---------------------------------------------------------------- paging

    def test_role_list_paging(self):
        org = fresh_org(self.c)
        for i in range(52):
            self.c.ok("role.create", {"org": org, "name": "page-%02d" % i})
        total = 52 + len(PARTOO_BUILTINS)      # 57
        per = 10
        numbered = []
        for page in range(1, 7):
            res = self.c.ok("role.list", {"org": org, "page": page, "per_page": per})
            self.assertEqual(res["count"], total)
            self.assertEqual(res["page"], page)
            self.assertEqual(res["max_page"], 6)
            self.assertEqual(len(res["roles"]), per if page < 6 else total - 50)
            if page < 6:
                self.assertIn("next", res)
            else:
                self.assertNotIn("next", res, "no next on the last page")
            numbered += res["roles"]
        ids = [r["id"] for r in numbered]
        self.assertEqual(len(set(ids)), total, "numbered pages visit every role once")
        # default page size 30
        res = self.c.ok("role.list", {"org": org})
        self.assertEqual(len(res["roles"]), 30)
        self.assertEqual(res["max_page"], 2)
        self.assertEqual([r["id"] for r in res["roles"]], ids[:30])
        # per_page 100: one page
        res = self.c.ok("role.list", {"org": org, "per_page": 100})
        self.assertEqual(res["max_page"], 1)
        self.assertEqual([r["id"] for r in res["roles"]], ids)
        # cursor chain
        res = self.c.ok("role.list", {"org": org, "per_page": per})
        chain = list(res["roles"])
        hops = 0
        while "next" in res:
            self.assertIsInstance(res["next"], str)
            res = self.c.ok("role.list", {"org": org, "per_page": per, "after": res["next"]})
            self.assertEqual(res["count"], total)
            chain += res["roles"]
            hops += 1
            self.assertLess(hops, 20, "cursor chain does not end")
        self.assertEqual([r["id"] for r in chain], ids,
                         "the cursor chain visits every role once, in page order")
        # a page past the end is empty
        res = self.c.ok("role.list", {"org": org, "page": 7, "per_page": per})
        self.assertEqual(res["roles"], [])
        self.assertEqual(res["count"], total)

    def test_role_list_bad_paging(self):
        org = fresh_org(self.c)
        for params, field in (({"per_page": 0}, "per_page"), ({"per_page": 101}, "per_page"),
                              ({"page": 0}, "page"), ({"page": -1}, "page"),
                              ({"per_page": "10"}, "per_page"), ({"after": 5}, "after")):
            p = dict(params, org=org)
            err, _ = self.c.call("role.list", p)
            self.assertError(err, "invalid_argument", field, msg=repr(p))
        err, _ = self.c.call("role.list", {"org": 987654})
        self.assertError(err, "not_found", "org")

    # ---------------------------------------------------------------- params

    def test_unknown_param_key(self):
        err, _ = self.c.call("role.get", {"org": 0, "name": "admin", "bogus": 1})
        self.assertError(err, "invalid_argument", "bogus")
        err, _ = self.c.call("server.status", {"verbose": True})
        self.assertError(err, "invalid_argument", "verbose")

    def test_unknown_method(self):
        err, _ = self.c.call("role.frobnicate", {})
        self.assertError(err, "not_found")
        # the connection goes on
        self.c.ok("server.status", {})

    def test_missing_required(self):
        err, _ = self.c.call("role.create", {"org": 0})
        self.assertError(err, "invalid_argument", "name")
        err, _ = self.c.call("role.create", {"name": "x"})
        self.assertError(err, "invalid_argument", "org")

    def test_wrong_types_role_create(self):
        org = fresh_org(self.c)
        good = {"org": org, "name": "typed", "api_id": "typed", "description": "d",
                "scope": "Users", "permissions": ["review_read"], "mandatory2fa": False}
        bad = [("org", "1"), ("org", -1), ("org", 1.5), ("org", None), ("org", [org]),
               ("name", 5), ("name", None), ("name", b"bin"), ("name", ["x"]),
               ("api_id", 5), ("api_id", True),
               ("description", 5), ("description", {"a": 1}),
               ("scope", 5), ("scope", "Everyone"), ("scope", "users"),
               ("permissions", "review_read"), ("permissions", [1]),
               ("permissions", {"review_read": True}),
               ("mandatory2fa", "true"), ("mandatory2fa", 1), ("mandatory2fa", None)]
        for field, value in bad:
            p = dict(good, **{field: value})
            err, _ = self.c.call("role.create", p)
            self.assertError(err, "invalid_argument", field, msg="%s=%r" % (field, value))
        # none of them was created
        err, _ = self.c.call("role.get", {"org": org, "name": "typed"})
        self.assertError(err, "not_found")
        self.c.ok("role.create", good)

    # ---------------------------------------------------------------- Partoo rules

    def test_partoo_lengths_count_characters(self):
        org = fresh_org(self.c)
        err, _ = self.c.call("role.create", {"org": org, "name": "n" * 101})
        self.assertError(err, "invalid_argument", "name")
        err, _ = self.c.call("role.create", {"org": org, "name": "ok1", "api_id": "a" * 101})
        self.assertError(err, "invalid_argument", "api_id")
        r = self.c.ok("role.create", {"org": org, "name": "n" * 100})
        self.assertEqual(len(r["name"]), 100)
        # 100 two-byte characters: 200 bytes, 100 characters
        r = self.c.ok("role.create", {"org": org, "name": "\u00e9" * 100})
        self.assertEqual(r["name"], "\u00e9" * 100)
        self.assertEqual(r["api_id"], "\u00e9" * 100)
        # 100 four-byte characters
        self.c.ok("role.create", {"org": org, "name": "\U0001F600" * 100})
        err, _ = self.c.call("role.create", {"org": org, "name": "\u00e9" * 101})
        self.assertError(err, "invalid_argument", "name")
        err, _ = self.c.call("role.create", {"org": org, "name": "d1", "description": "x" * 201})
        self.assertError(err, "invalid_argument", "description")
        self.c.ok("role.create", {"org": org, "name": "d2", "description": "\u00e9" * 200})
        err, _ = self.c.call("role.create", {"org": org, "name": ""})
        self.assertError(err, "invalid_argument", "name")
        err, _ = self.c.call("role.create", {"org": org, "name": "d3", "description": ""})
        self.assertError(err, "invalid_argument", "description")

    def test_partoo_forbidden_characters(self):
        org = fresh_org(self.c)
        for ch in ",;/\\|<>":
            for field in ("name", "api_id", "description"):
                p = {"org": org, "name": "fc-ok", field: "a%sb" % ch}
                err, _ = self.c.call("role.create", p)
                self.assertError(err, "invalid_argument", field, msg=repr(p))
        self.c.ok("role.create", {"org": org, "name": "fc-ok"})

    def test_duplicates(self):
        org = fresh_org(self.c)
        self.c.ok("role.create", {"org": org, "name": "Alpha", "api_id": "alpha"})
        err, _ = self.c.call("role.create", {"org": org, "name": "Beta", "api_id": "alpha"})
        self.assertError(err, "duplicate", "api_id")
        err, _ = self.c.call("role.create", {"org": org, "name": "Alpha", "api_id": "other"})
        self.assertError(err, "duplicate", "name")
        # the same name in another org is fine
        org2 = fresh_org(self.c)
        self.c.ok("role.create", {"org": org2, "name": "Alpha", "api_id": "alpha"})

    def test_tenant_isolation(self):
        o1, o2 = fresh_org(self.c), fresh_org(self.c)
        r2 = self.c.ok("role.create", {"org": o2, "name": "Secret2", "api_id": "secret2"})
        for by in ("id", "api_id", "name"):
            err, res = self.c.call("role.get", {"org": o1, by: r2[by]})
            self.assertError(err, "not_found", msg="org %d's role fetched through org %d by %s: %r"
                             % (o2, o1, by, res))
        err, res = self.c.call("role.get", {"org": 0, "id": r2["id"]})
        self.assertError(err, "not_found")
        self.assertNotIn(r2["id"], [r["id"] for r in list_all(self.c, o1)[0]])
        # name and api_id are separate namespaces within an org
        self.c.ok("role.create", {"org": o1, "name": "x1", "api_id": "y1"})
        self.c.ok("role.create", {"org": o1, "name": "y1", "api_id": "x1"})
        self.assertEqual(self.c.ok("role.get", {"org": o1, "name": "y1"})["api_id"], "x1")
        self.assertEqual(self.c.ok("role.get", {"org": o1, "api_id": "y1"})["name"], "x1")

    def test_unknown_org(self):
        err, _ = self.c.call("role.create", {"org": 987654, "name": "x"})
        self.assertError(err, "not_found", "org")
        err, _ = self.c.call("role.get", {"org": 987654, "name": "x"})
        self.assertError(err, "not_found")

    def test_permission_not_in_catalog(self):
        org = fresh_org(self.c)
        err, _ = self.c.call("role.create", {"org": org, "name": "p1",
                                             "permissions": ["business_edit", "no_such_perm"]})
        self.assertError(err, "invalid_argument", "permissions")
        # Rocket.Chat permission names are not in a Partoo catalog
        err, _ = self.c.call("role.create", {"org": org, "name": "p2",
                                             "permissions": ["access-permissions"]})
        self.assertError(err, "invalid_argument", "permissions")
        r = self.c.ok("role.create", {"org": org, "name": "p3",
                                      "permissions": ["business_edit_name"]})
        self.assertEqual(r["permissions"], ["business_edit_name"])

    # ---------------------------------------------------------------- org 0 rules

    def test_org0_rules(self):
        err, _ = self.c.call("role.create", {"org": 0, "name": "rc-a", "api_id": "rc-b"})
        self.assertError(err, "invalid_argument", "api_id")
        r = self.c.ok("role.create", {"org": 0, "name": "rc-same", "api_id": "rc-same"})
        self.assertEqual(r["api_id"], "rc-same")
        err, _ = self.c.call("role.create", {"org": 0, "name": "admin"})
        self.assertError(err, "duplicate", "name")
        err, _ = self.c.call("role.create", {"org": 0, "name": "rc-same"})
        self.assertError(err, "duplicate", "name")
        # a name equal to an existing role's _id is a duplicate too
        err, _ = self.c.call("role.create", {"org": 0, "name": r["id"]})
        if r["id"] != "rc-same":
            self.assertError(err, "duplicate", msg="name equal to _id %r" % r["id"])
        # Rocket.Chat names: no 100-character limit, and ,;/ are fine
        long_name = "L" * 10_000
        r = self.c.ok("role.create", {"org": 0, "name": long_name})
        self.assertEqual(r["name"], long_name)
        self.assertEqual(self.c.ok("role.get", {"org": 0, "name": long_name})["id"], r["id"])
        self.c.ok("role.create", {"org": 0, "name": "a,b;c/d"})
        # at most 64 KiB (bytes) of name
        self.c.ok("role.create", {"org": 0, "name": "M" * 65536})
        err, _ = self.c.call("role.create", {"org": 0, "name": "N" * 65537})
        self.assertError(err, "invalid_argument", "name")
        err, _ = self.c.call("role.create", {"org": 0, "name": ""})
        self.assertError(err, "invalid_argument", "name")

    def test_invalid_utf8_and_nul(self):
        org = fresh_org(self.c)
        for o in (0, org):
            for bad in (b"ab\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf"):
                frame = request_frame_raw_params(77, "role.create",
                                                 [("org", packb(o)), ("name", raw_str(bad))])
                self.c.send_raw(frame)
                msgid, err, _ = self.c.recv_reply()
                self.assertEqual(msgid, 77)
                self.assertError(err, "invalid_argument", "name", msg="org %d %r" % (o, bad))
            err, _ = self.c.call("role.create", {"org": o, "name": "nul\x00inside"})
            self.assertError(err, "invalid_argument", "name")
        self.c.ok("server.status", {})


if __name__ == "__main__":
    main()
