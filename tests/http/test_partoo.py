#!/usr/bin/python3
"""test_partoo.py: POST /v2/custom_role (the Partoo seed operation) through
the real rolesd-http: 200, every 400 the body schema allows (each required
field, each type, lengths in characters, forbidden characters, unknown
field, unknown permission, duplicates, org_id disagreement, non-object and
malformed bodies, query errors), 401, 403, 404, and the order of checks
(credential, a body that is not JSON, the organization, the body's schema,
permissions and uniqueness). Every response is validated against the shim's /openapi.json and
the seed document; every rejection is checked to write nothing."""

import json

from httpharness import (ORG_A, ORG_B, ORG_C, ORG_UNKNOWN, PARTOO_EXAMPLE, DELETE,
                         ShimTestCase, main)

FORBIDDEN = ",;/\\|<>"


class PartooCreateSuccess(ShimTestCase):

    def rpc_role(self, org, api_id):
        with self.rpc() as c:
            err, role = c.call("role.get", {"org": org, "api_id": api_id})
        self.assertIsNone(err, "role %r of org %d not visible through RPC: %r"
                          % (api_id, org, err))
        return role

    def test_seed_example_verbatim(self):
        before = self.roles_count()
        r = self.partoo_create(PARTOO_EXAMPLE)
        body = self.check_json(r, 200)
        self.assertEqual(body, {"status": "success", "api_id": "my_custom_role"}, str(r))
        self.assertEqual(self.roles_count(), before + 1)
        role = self.rpc_role(ORG_A, "my_custom_role")
        self.assertEqual(role["name"], "My Custom Role")
        self.assertEqual(role["description"], PARTOO_EXAMPLE["description"])
        self.assertEqual(sorted(role["permissions"]), sorted(PARTOO_EXAMPLE["permissions"]))
        self.assertEqual(role["org"], ORG_A)
        self.assertIs(role["protected"], False)
        # and through rolesctl
        out = self.d.rolesctl("role", "list", "--org", str(ORG_A), "--all", json=True).json
        self.assertListed("my_custom_role", [x["api_id"] for x in out["roles"]],
                          "rolesctl role list --all")

    def test_org_id_in_query_own_org(self):
        b = self.partoo_body()
        r = self.partoo_create(b, query="?org_id=%d" % ORG_A)
        self.assertEqual(self.check_json(r, 200), {"status": "success", "api_id": b["api_id"]})
        self.rpc_role(ORG_A, b["api_id"])

    def test_org_id_in_body_own_org(self):
        b = self.partoo_body(org_id=ORG_A)
        r = self.partoo_create(b)
        self.assertEqual(self.check_json(r, 200), {"status": "success", "api_id": b["api_id"]})
        self.rpc_role(ORG_A, b["api_id"])

    def test_org_id_null_in_body_means_own_org(self):
        b = self.partoo_body(org_id=None)
        r = self.partoo_create(b)
        self.assertEqual(self.check_json(r, 200)["api_id"], b["api_id"])
        self.rpc_role(ORG_A, b["api_id"])

    def test_org_id_query_and_body_agree(self):
        b = self.partoo_body(org_id=ORG_B)
        r = self.partoo_create(b, key="provider_p1", query="?org_id=%d" % ORG_B)
        self.assertEqual(self.check_json(r, 200)["api_id"], b["api_id"])
        self.rpc_role(ORG_B, b["api_id"])

    def test_provider_on_its_orgs(self):
        b = self.partoo_body()
        r = self.partoo_create(b, key="provider_p1", query="?org_id=%d" % ORG_B)
        self.check_json(r, 200)
        self.rpc_role(ORG_B, b["api_id"])
        b = self.partoo_body(org_id=ORG_A)
        r = self.partoo_create(b, key="provider_p1")
        self.check_json(r, 200)
        self.rpc_role(ORG_A, b["api_id"])
        b = self.partoo_body(org_id=ORG_C)
        r = self.partoo_create(b, key="provider_p2")
        self.check_json(r, 200)
        self.rpc_role(ORG_C, b["api_id"])

    def test_description_optional_and_empty_permissions(self):
        b = self.partoo_body(description=DELETE, permissions=[])
        r = self.partoo_create(b)
        self.check_json(r, 200)
        role = self.rpc_role(ORG_A, b["api_id"])
        self.assertEqual(role["permissions"], [])
        self.assertIn(role["description"], (None, ""), role)

    def test_lengths_count_characters(self):
        # 100 'é' = 200 bytes: allowed; 200 'é' description: allowed
        b = self.partoo_body(name="é" * 100, api_id="é" * 100, description="é" * 200)
        r = self.partoo_create(b)
        self.assertEqual(self.check_json(r, 200)["api_id"], "é" * 100)
        role = self.rpc_role(ORG_A, "é" * 100)
        self.assertEqual(role["name"], "é" * 100)
        # 100 astral characters (4 bytes each in UTF-8, 2 UTF-16 units), sent escaped
        emoji = "\U0001F600"
        b = self.partoo_body(name=emoji * 100, api_id="x" + emoji * 99)
        raw = json.dumps(b, ensure_ascii=True)          # \ud83d\ude00 escapes
        r = self.partoo_create(raw)
        self.assertEqual(self.check_json(r, 200)["api_id"], "x" + emoji * 99)
        self.assertEqual(self.rpc_role(ORG_A, "x" + emoji * 99)["name"], emoji * 100)

    def test_length_one_is_enough(self):
        b = self.partoo_body(name="q", api_id="q", description="q")
        self.check_json(self.partoo_create(b), 200)

    def test_all_seed_permissions_exist(self):
        for p in ("business_edit", "business_edit_name", "review_read"):
            b = self.partoo_body(permissions=[p])
            self.check_json(self.partoo_create(b), 200)


class PartooCreateBadBody(ShimTestCase):
    """400 {"errors":{"json":{FIELD:[...]}}} and nothing written."""

    def expect_field(self, body, field, key="admin_a", query="", where=("json",)):
        with self.nothing_written(repr(body)[:200]):
            r = self.partoo_create(body, key=key, query=query)
            return self.assertPartooFieldError(r, field, where)

    def test_each_required_field_missing(self):
        for f in ("name", "api_id", "permissions"):
            with self.subTest(missing=f):
                self.expect_field(self.partoo_body(**{f: DELETE}), f)

    def test_all_required_missing_names_each(self):
        with self.nothing_written():
            r = self.partoo_create({})
            for f in ("name", "api_id", "permissions"):
                self.assertPartooFieldError(r, f)

    def test_wrong_types(self):
        cases = [
            ("name", 12), ("name", None), ("name", True), ("name", ["a"]), ("name", {"a": 1}),
            ("api_id", 12), ("api_id", None), ("api_id", False), ("api_id", ["a"]),
            ("api_id", {}),
            ("description", 12), ("description", None), ("description", True),
            ("description", ["d"]), ("description", {}),
            ("permissions", "business_edit"), ("permissions", None), ("permissions", 1),
            ("permissions", {"business_edit": True}), ("permissions", [1]),
            ("permissions", [None]), ("permissions", [["business_edit"]]),
            ("org_id", "abc"), ("org_id", "%d" % ORG_A), ("org_id", 1.5), ("org_id", True),
            ("org_id", [ORG_A]), ("org_id", {"id": ORG_A}),
        ]
        for field, value in cases:
            with self.subTest(field=field, value=value):
                self.expect_field(self.partoo_body(**{field: value}), field)

    def test_empty_strings(self):
        for f in ("name", "api_id", "description"):
            with self.subTest(field=f):
                self.expect_field(self.partoo_body(**{f: ""}), f)

    def test_too_long_in_characters(self):
        for f, n in (("name", 100), ("api_id", 100), ("description", 200)):
            with self.subTest(field=f, chars=n + 1):
                self.expect_field(self.partoo_body(**{f: "é" * (n + 1)}), f)
            with self.subTest(field=f, chars=n + 1, ascii=True):
                self.expect_field(self.partoo_body(**{f: "a" * (n + 1)}), f)

    def test_forbidden_characters(self):
        for f in ("name", "api_id", "description"):
            for ch in FORBIDDEN:
                with self.subTest(field=f, char=ch):
                    self.expect_field(self.partoo_body(**{f: "a%sb" % ch}), f)

    def test_unknown_field(self):
        msgs = self.expect_field(self.partoo_body(color="blue"), "color")
        self.assertTrue(msgs)
        # Rocket.Chat fields are not Partoo fields
        self.expect_field(self.partoo_body(scope="Users"), "scope")
        self.expect_field(self.partoo_body(mandatory2fa=False), "mandatory2fa")

    def test_unknown_permission(self):
        self.expect_field(self.partoo_body(permissions=["no_such_permission"]), "permissions")
        self.expect_field(self.partoo_body(permissions=["business_edit", "nope"]),
                          "permissions")
        # a Rocket.Chat permission is not in a Partoo org's catalog
        self.expect_field(self.partoo_body(permissions=["access-permissions"]), "permissions")

    def test_duplicate_api_id(self):
        b = self.partoo_body()
        self.check_json(self.partoo_create(b), 200)
        self.expect_field(self.partoo_body(api_id=b["api_id"]), "api_id")
        # same api_id as a built-in role
        self.expect_field(self.partoo_body(api_id="ORG_ADMIN"), "api_id")

    def test_duplicate_name(self):
        b = self.partoo_body()
        self.check_json(self.partoo_create(b), 200)
        self.expect_field(self.partoo_body(name=b["name"]), "name")
        self.expect_field(self.partoo_body(name="ORG_MANAGER"), "name")

    def test_same_name_in_other_org_is_fine(self):
        b = self.partoo_body()
        self.check_json(self.partoo_create(b), 200)
        self.check_json(self.partoo_create(dict(b), key="admin_c"), 200)

    def test_org_id_query_and_body_disagree(self):
        b = self.partoo_body(org_id=ORG_B)
        self.expect_field(b, "org_id", key="provider_p1", query="?org_id=%d" % ORG_A,
                          where=("json", "query"))

    def test_provider_without_org_id(self):
        self.expect_field(self.partoo_body(), "org_id", key="provider_p1",
                          where=("json", "query"))

    def test_body_not_an_object(self):
        for raw in ("[]", '"x"', "42", "null", "true", '[{"name":"a"}]'):
            with self.subTest(body=raw):
                self.expect_field(raw, "_schema")

    def test_malformed_json(self):
        for raw in ("{", '{"name": "a",', '{"name": "a" "api_id": "b"}', "{'name': 'a'}",
                    "", "   ", "nul", '{"name": "a"} trailing', '{"name": "a",}'):
            with self.subTest(body=raw):
                self.expect_field(raw, "_schema")

    def test_permissions_limit_is_documented(self):
        # 1025 names (all valid, repeated): valid against the seed schema and,
        # unless it declares a maxItems, against the shim's own document
        b = self.partoo_body(permissions=["review_read"] * 1025)
        r = self.partoo_create(b)
        if r.status == 200:
            self.check_json(r, 200)
            return
        self.assertPartooFieldError(r, "permissions")
        doc = self.shim_doc
        self.assertIsNotNone(doc, self.shim_doc_problem)
        op = doc.operation("POST", "/v2/custom_role")
        schema = doc.deref(doc.deref(doc.deref(op["requestBody"])["content"]
                                     ["application/json"])["schema"])
        perms = doc.deref(schema["properties"]["permissions"])
        self.assertIn("maxItems", perms,
                      "the shim refuses more than N permissions, but its /openapi.json "
                      "does not say so (no maxItems on CustomRoleCreationBody.permissions)"
                      "\n%s" % r)
        self.assertLess(perms["maxItems"], 1025)

    def test_provider_with_null_org_id(self):
        self.expect_field(self.partoo_body(org_id=None), "org_id", key="provider_p1",
                          where=("json", "query"))

    def test_query_errors(self):
        for q, field in (("?org_id=abc", "org_id"), ("?org_id=", "org_id"),
                         ("?org_id=1.5", "org_id"), ("?org_id=-1x", "org_id")):
            with self.subTest(query=q):
                with self.nothing_written():
                    r = self.partoo_create(self.partoo_body(), query=q)
                    self.assertPartooFieldError(r, field, "query")


class PartooCreateAuth(ShimTestCase):
    """401, 403, 404."""

    def test_missing_key(self):
        with self.nothing_written():
            self.assertPartoo401(self.partoo_create(self.partoo_body(), key=None))

    def test_wrong_key(self):
        for k in ("wrong", "0" * 80, self.keys["admin_a"] + "x", self.keys["admin_a"][:-1],
                  ""):
            with self.subTest(key=k):
                with self.nothing_written():
                    self.assertPartoo401(self.partoo_create(self.partoo_body(), key=k))

    def test_rocketchat_credentials_are_not_a_partoo_key(self):
        with self.nothing_written():
            r = self.partoo_create(self.partoo_body(), key=None, headers=self.rc_auth("alice"))
            self.assertPartoo401(r)

    def test_org_admin_naming_other_known_org(self):
        for where in ("query", "body"):
            for org in (ORG_B, ORG_C):
                with self.subTest(where=where, org=org):
                    with self.nothing_written():
                        if where == "query":
                            r = self.partoo_create(self.partoo_body(), query="?org_id=%d" % org)
                        else:
                            r = self.partoo_create(self.partoo_body(org_id=org))
                        self.assertPartoo403(r)

    def test_org_admin_naming_unknown_org(self):
        for where in ("query", "body"):
            with self.subTest(where=where):
                with self.nothing_written():
                    if where == "query":
                        r = self.partoo_create(self.partoo_body(),
                                               query="?org_id=%d" % ORG_UNKNOWN)
                    else:
                        r = self.partoo_create(self.partoo_body(org_id=ORG_UNKNOWN))
                    self.assertPartoo403(r)

    def test_org_admin_naming_workspace_org_0(self):
        # org 0 is the Rocket.Chat workspace: another org (403) or, Partoo org
        # ids being positive, an invalid query parameter (400); never written
        for key, q, body in (("admin_a", "?org_id=0", self.partoo_body()),
                             ("provider_p1", "?org_id=0", self.partoo_body()),
                             ("admin_a", "", self.partoo_body(org_id=0))):
            with self.subTest(key=key, query=q, body_org=body.get("org_id")), \
                    self.nothing_written():
                r = self.partoo_create(body, key=key, query=q)
                if r.status == 400:
                    self.assertPartooFieldError(r, "org_id", ("query", "json"))
                else:
                    self.assertPartoo403(r)

    def test_other_user_roles_may_not_create(self):
        for label in ("manager_a", "group_manager_a", "business_manager_a", "publisher_a"):
            with self.subTest(key=label):
                with self.nothing_written():
                    self.assertPartoo403(self.partoo_create(self.partoo_body(), key=label))
                    self.assertPartoo403(self.partoo_create(self.partoo_body(), key=label,
                                                            query="?org_id=%d" % ORG_A))

    def test_provider_on_other_providers_org(self):
        for where in ("query", "body"):
            with self.subTest(where=where):
                with self.nothing_written():
                    if where == "query":
                        r = self.partoo_create(self.partoo_body(), key="provider_p1",
                                               query="?org_id=%d" % ORG_C)
                    else:
                        r = self.partoo_create(self.partoo_body(org_id=ORG_C),
                                               key="provider_p1")
                    self.assertPartoo403(r)

    def test_provider_on_unknown_org(self):
        for where in ("query", "body"):
            with self.subTest(where=where):
                with self.nothing_written():
                    if where == "query":
                        r = self.partoo_create(self.partoo_body(), key="provider_p1",
                                               query="?org_id=%d" % ORG_UNKNOWN)
                    else:
                        r = self.partoo_create(self.partoo_body(org_id=ORG_UNKNOWN),
                                               key="provider_p1")
                    self.assertPartoo404Org(r)


    def test_zz_secrets_are_not_logged(self):
        # runs last in its class: nothing sent above (valid keys, wrong keys,
        # tokens) shows up in either process's log
        secret_wrong = "f00d" * 20
        self.assertPartoo401(self.partoo_create(self.partoo_body(), key=secret_wrong))
        self.assertRC401(self.rc_create({"name": "x"}, user=None, headers={
            "X-User-Id": self.creds["users"]["alice"]["userId"], "X-Auth-Token": secret_wrong}))
        logs = self.shim.stderr_text() + self.d.stderr_text()
        secrets = list(self.keys.values()) + [u["authToken"] for u in
                                              self.creds["users"].values()] + [secret_wrong]
        for sec in secrets:
            self.assertNotIn(sec, logs, "a secret appears in the logs:\n%s" % logs[-3000:])


class PartooCheckOrder(ShimTestCase):
    """credential (401); body not JSON (400); organization (403/404); body
    schema, permissions, uniqueness (400)."""

    def test_wrong_key_with_malformed_body(self):
        for key in (None, "wrong"):
            with self.subTest(key=key), self.nothing_written():
                self.assertPartoo401(self.partoo_create("{not json", key=key))
                self.assertPartoo401(self.partoo_create("[]", key=key))

    def test_wrong_key_with_schema_invalid_body(self):
        with self.nothing_written():
            self.assertPartoo401(self.partoo_create({"name": 12}, key="wrong"))

    def test_wrong_key_with_bad_query_or_other_org(self):
        with self.nothing_written():
            self.assertPartoo401(self.partoo_create(self.partoo_body(), key="wrong",
                                                    query="?org_id=abc"))
            self.assertPartoo401(self.partoo_create(self.partoo_body(), key="wrong",
                                                    query="?org_id=%d" % ORG_UNKNOWN))

    def test_malformed_json_naming_other_org_is_400(self):
        with self.nothing_written():
            r = self.partoo_create('{"name": "x", "org_id": %d' % ORG_C,
                                   query="?org_id=%d" % ORG_C)
            self.assertPartooFieldError(r, "_schema")
            r = self.partoo_create("{", key="provider_p1", query="?org_id=%d" % ORG_UNKNOWN)
            self.assertPartooFieldError(r, "_schema")

    def test_malformed_body_before_query_errors(self):
        with self.nothing_written():
            r = self.partoo_create("{", query="?org_id=abc")
            self.assertPartooFieldError(r, "_schema")

    def test_schema_invalid_body_for_other_org_is_403(self):
        cases = [
            ({"org_id": ORG_C}, ""),                                    # all fields missing
            (self.partoo_body(name="a" * 101, org_id=ORG_C), ""),
            (self.partoo_body(color="blue", org_id=ORG_B), ""),
            (self.partoo_body(permissions=["nope"], org_id=ORG_B), ""),
            (self.partoo_body(name=12), "?org_id=%d" % ORG_B),
            (self.partoo_body(api_id="a;b"), "?org_id=%d" % ORG_UNKNOWN),
        ]
        for body, q in cases:
            with self.subTest(body=body, query=q), self.nothing_written():
                self.assertPartoo403(self.partoo_create(body, query=q))

    def test_duplicate_for_other_org_is_403(self):
        b = self.partoo_body()
        self.check_json(self.partoo_create(b, key="admin_c"), 200)
        with self.nothing_written():
            self.assertPartoo403(self.partoo_create(dict(b), query="?org_id=%d" % ORG_C))

    def test_forbidden_role_with_invalid_body_is_403(self):
        with self.nothing_written():
            self.assertPartoo403(self.partoo_create({"name": 12}, key="manager_a"))

    def test_schema_invalid_body_for_unknown_org_is_404_for_provider(self):
        with self.nothing_written():
            r = self.partoo_create({"name": 12, "org_id": ORG_UNKNOWN}, key="provider_p1")
            self.assertPartoo404Org(r)

    def test_schema_then_uniqueness(self):
        b = self.partoo_body()
        self.check_json(self.partoo_create(b), 200)
        # a duplicate name with another field invalid: still a 400 on the body
        with self.nothing_written():
            r = self.partoo_create(self.partoo_body(name=b["name"], api_id="a|b"))
            self.assertPartooFieldError(r, "api_id")


if __name__ == "__main__":
    main()
