#!/usr/bin/python3
"""test_rocketchat.py: POST /api/v1/roles.create (the Rocket.Chat seed
operation) through the real rolesd-http: 200 with defaults and
Rocket.Chat's type coercion, the three typed 400s, 401, and the order of
checks (login, body, permission, duplicate). Responses are validated against
the shim's /openapi.json and the seed document; rejections write nothing."""

import datetime

from httpharness import RC_EXAMPLE_1, ShimTestCase, main


class RocketChatCreate(ShimTestCase):

    def rpc_role(self, name):
        with self.rpc() as c:
            err, role = c.call("role.get", {"org": 0, "name": name})
        self.assertIsNone(err, "role %r not visible through RPC: %r" % (name, err))
        return role

    def created(self, body, user="alice"):
        before = self.roles_count()
        r = self.rc_create(body, user)
        role = self.assertRCRole(r)
        self.assertEqual(self.roles_count(), before + 1, str(r))
        return role, r

    def test_seed_example_1_verbatim(self):
        role, r = self.created(RC_EXAMPLE_1)
        self.assertEqual(role["name"], "Test Role", str(r))
        self.assertEqual(role["scope"], "Users", str(r))
        self.assertEqual(role["description"], "Testing Role for API", str(r))
        self.assertIs(role["mandatory2fa"], False, str(r))
        rr = self.rpc_role("Test Role")
        self.assertEqual(rr["id"], role["_id"])
        self.assertIs(rr["mandatory2fa"], False)
        self.assertEqual(rr["org"], 0)
        # _updatedAt is the stored updated_at, ISO 8601 with ms and Z
        iso = datetime.datetime.fromtimestamp(rr["updated_at"] / 1000.0,
                                              datetime.timezone.utc)
        self.assertEqual(role["_updatedAt"],
                         iso.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (rr["updated_at"] % 1000))
        out = self.d.rolesctl("role", "list", "--org", "0", "--all", json=True).json
        self.assertListed("Test Role", [x["name"] for x in out["roles"]],
                          "rolesctl role list --all")

    def test_defaults(self):
        n = self.uniq("rc")
        role, r = self.created({"name": n})
        self.assertEqual(role["name"], n)
        self.assertEqual(role["scope"], "Users", str(r))
        self.assertEqual(role["description"], "", str(r))
        self.assertIs(role["mandatory2fa"], False, str(r))
        self.assertIs(role["protected"], False, str(r))
        self.assertNotEqual(role["_id"], n, "a custom role's _id is opaque, not its name")

    def test_subscriptions_and_mandatory2fa_true(self):
        n = self.uniq("rc")
        role, r = self.created({"name": n, "scope": "Subscriptions", "description": "tier 1",
                                "mandatory2fa": True})
        self.assertEqual(role["scope"], "Subscriptions", str(r))
        self.assertEqual(role["description"], "tier 1")
        self.assertIs(role["mandatory2fa"], True)
        rr = self.rpc_role(n)
        self.assertEqual(rr["scope"], "Subscriptions")
        self.assertIs(rr["mandatory2fa"], True)

    def test_coercion_name_number(self):
        role, r = self.created({"name": 918273645})
        self.assertEqual(role["name"], "918273645", str(r))
        self.rpc_role("918273645")
        role, r = self.created({"name": True})
        self.assertEqual(role["name"], "true", str(r))
        role, r = self.created({"name": False})
        self.assertEqual(role["name"], "false", str(r))
        role, r = self.created({"name": 0})
        self.assertEqual(role["name"], "0", str(r))

    def test_coercion_mandatory2fa(self):
        for value, expected in (("false", False), ("true", True), (1, True), (0, False),
                                (None, False), (False, False), (True, True)):
            with self.subTest(value=value):
                n = self.uniq("m2fa")
                role, r = self.created({"name": n, "mandatory2fa": value})
                self.assertIs(role["mandatory2fa"], expected, str(r))
                self.assertIs(self.rpc_role(n)["mandatory2fa"], expected)

    def test_coercion_description(self):
        for value, expected in ((None, ""), (5, "5"), (True, "true"), ("", "")):
            with self.subTest(value=value):
                n = self.uniq("desc")
                role, r = self.created({"name": n, "description": value})
                self.assertEqual(role["description"], expected, str(r))

    def test_no_partoo_restrictions_on_names(self):
        for n in ("a,b;c/d\\e|f<g>h", "é" * 300, "x" * 5000):
            with self.subTest(name=n[:20]):
                role, r = self.created({"name": n})
                self.assertEqual(role["name"], n)

    def test_body_of_exactly_64_kib_is_accepted(self):
        prefix = '{"name": "'
        suffix = '"}'
        n = 65536 - len(prefix) - len(suffix)
        tag = self.uniq("big")
        raw = prefix + tag + "n" * (n - len(tag)) + suffix
        self.assertEqual(len(raw.encode()), 65536)
        before = self.roles_count()
        r = self.rc_create(raw)
        self.assertRCRole(r)
        self.assertEqual(self.roles_count(), before + 1)


class RocketChatErrors(ShimTestCase):

    def invalid(self, body, user="alice"):
        with self.nothing_written(repr(body)[:200]):
            self.assertRCError(self.rc_create(body, user), "error-invalid-role-properties")

    def test_missing_name(self):
        self.invalid({})
        self.invalid({"scope": "Users", "description": "x"})

    def test_unknown_property(self):
        for extra in ({"color": "blue"}, {"_id": "x"}, {"api_id": "x"},
                      {"permissions": ["access-permissions"]}, {"protected": False}):
            with self.subTest(extra=extra):
                b = {"name": self.uniq("u")}
                b.update(extra)
                self.invalid(b)

    def test_scope_not_in_enum(self):
        for s in ("Global", "users", "", None, 1, "Users "):
            with self.subTest(scope=s):
                self.invalid({"name": self.uniq("s"), "scope": s})

    def test_arrays_and_objects_never_coerced(self):
        for field in ("name", "description", "scope", "mandatory2fa"):
            for v in ([], ["a"], {}, {"a": 1}):
                with self.subTest(field=field, value=v):
                    b = {"name": self.uniq("ao")}
                    b[field] = v
                    self.invalid(b)

    def test_uncoercible_booleans(self):
        for v in ("yes", "False", "TRUE", "1", "0", "", 2, -1, 0.5, "no"):
            with self.subTest(value=v):
                self.invalid({"name": self.uniq("b"), "mandatory2fa": v})

    def test_empty_name(self):
        self.invalid({"name": ""})

    def test_invalid_json(self):
        for raw in ("{", '{"name": "a"', '{"name": "a",}', "{'name': 'a'}", "", "nul",
                    '{"name": "a"} x'):
            with self.subTest(body=raw):
                self.invalid(raw)

    def test_body_not_an_object(self):
        for raw in ("[]", '"x"', "12", "null", "true", '[{"name": "a"}]'):
            with self.subTest(body=raw):
                self.invalid(raw)

    def test_action_not_allowed(self):
        with self.nothing_written():
            r = self.rc_create({"name": self.uniq("bob")}, user="bob")
            self.assertRCError(r, "error-action-not-allowed")
            r = self.rc_create(dict(RC_EXAMPLE_1, name=self.uniq("bob")), user="bob")
            self.assertRCError(r, "error-action-not-allowed")

    def test_permission_comes_from_roles_holding_access_permissions(self):
        # not the role's name: any role with access-permissions lets its users create
        self.d.rolesctl("role", "create", "--org", "0", "--name", "perm-keeper",
                        "--permission", "access-permissions", json=True)
        self.d.rolesctl("role", "create", "--org", "0", "--name", "log-viewer",
                        "--permission", "view-logs", json=True)
        carol = self.d.rolesctl("user", "add", "carol", "--role", "perm-keeper", json=True).json
        dave = self.d.rolesctl("user", "add", "dave", "--role", "log-viewer", "--role",
                               "moderator", json=True).json
        self.assertRCRole(self.rc_create({"name": self.uniq("by-carol")}, user=None, headers={
            "X-User-Id": carol["userId"], "X-Auth-Token": carol["authToken"]}))
        with self.nothing_written():
            r = self.rc_create({"name": self.uniq("by-dave")}, user=None, headers={
                "X-User-Id": dave["userId"], "X-Auth-Token": dave["authToken"]})
            self.assertRCError(r, "error-action-not-allowed")

    def test_duplicate_name(self):
        n = self.uniq("dup")
        self.assertRCRole(self.rc_create({"name": n}))
        with self.nothing_written():
            self.assertRCError(self.rc_create({"name": n}),
                               "error-duplicate-role-names-not-allowed")
            self.assertRCError(self.rc_create({"name": n, "scope": "Subscriptions"}),
                               "error-duplicate-role-names-not-allowed")

    def test_builtin_names(self):
        for n in ("admin", "user", "livechat-monitor"):
            with self.subTest(name=n), self.nothing_written():
                self.assertRCError(self.rc_create({"name": n}),
                                   "error-duplicate-role-names-not-allowed")

    def test_name_equal_to_existing_id(self):
        role = self.assertRCRole(self.rc_create({"name": self.uniq("byid")}))
        with self.nothing_written():
            self.assertRCError(self.rc_create({"name": role["_id"]}),
                               "error-duplicate-role-names-not-allowed")

    def test_name_of_a_partoo_role_is_free_in_the_workspace(self):
        # uniqueness is per organization
        self.assertRCRole(self.rc_create({"name": "ORG_ADMIN"}))

    def test_unauthenticated(self):
        alice = self.creds["users"]["alice"]
        bob = self.creds["users"]["bob"]
        for desc, h in (
                ("no headers", {}),
                ("only X-User-Id", {"X-User-Id": alice["userId"]}),
                ("only X-Auth-Token", {"X-Auth-Token": alice["authToken"]}),
                ("wrong token", {"X-User-Id": alice["userId"], "X-Auth-Token": "nope"}),
                ("empty token", {"X-User-Id": alice["userId"], "X-Auth-Token": ""}),
                ("bob's token for alice", {"X-User-Id": alice["userId"],
                                           "X-Auth-Token": bob["authToken"]}),
                ("unknown user", {"X-User-Id": "NoSuchUser1234567",
                                  "X-Auth-Token": alice["authToken"]}),
                ("partoo key", {"x-APIKey": self.keys["admin_a"]})):
            with self.subTest(desc), self.nothing_written():
                self.assertRC401(self.rc_create({"name": self.uniq("x")}, user=None,
                                                headers=h))

    def test_order_bad_login_and_bad_body(self):
        with self.nothing_written():
            for raw in ("{", '{"color": 1}', "[]"):
                self.assertRC401(self.rc_create(raw, user=None))
                self.assertRC401(self.rc_create(raw, user=None, headers={
                    "X-User-Id": self.creds["users"]["alice"]["userId"],
                    "X-Auth-Token": "wrong"}))

    def test_order_bob_and_bad_body(self):
        for raw in ("{", '{"color": 1}', '{"name": "x", "scope": "Nope"}', "{}"):
            with self.subTest(body=raw):
                self.invalid(raw, user="bob")

    def test_order_permission_before_duplicate(self):
        with self.nothing_written():
            self.assertRCError(self.rc_create({"name": "admin"}, user="bob"),
                               "error-action-not-allowed")

    def test_order_body_before_duplicate(self):
        self.invalid({"name": "admin", "scope": "Nope"})


if __name__ == "__main__":
    main()
