#!/usr/bin/python3
"""test_partoo_roles.py: the role lifecycle in the Partoo dialect, through
the real rolesd-http and rolesd: PUT and DELETE /v2/custom_role/{api_id}
and POST /v2/custom_role/duplicate. Every row of the contract: the 200
bodies (checked against what the daemon then holds, over RPC), the
create's scope rules (ORG_ADMIN its own organization, PROVIDER by
provider, the other user-roles read only, built-ins 403), each error body
verbatim, and the order of the checks (credential, a body that is not
JSON, the organization, the body's schema, the role, a built-in,
permissions and uniqueness), shown by requests failing two at once. A
refused request commits nothing (the database's revision stays). Every
response validates against the shim's /openapi.json."""

import urllib.parse

from httpharness import ORG_A, ORG_B, ORG_C, ORG_UNKNOWN, PARTOO_404_ORG, main
from lifecyclecase import LifecycleCase

READ_ONLY_KEYS = ("manager_a", "group_manager_a", "business_manager_a", "publisher_a")


def field_error(field, *messages, where="json"):
    return {"errors": {where: {field: list(messages)}}}


class PartooLifecycleCase(LifecycleCase):
    """Helpers: roles made over RPC, requests."""

    def new_role(self, org=ORG_A, **kw):
        n = self.uniq("lc")
        params = {"org": org, "name": "Role " + n, "api_id": "api_" + n, "permissions": ["review_read"]}
        params.update(kw)
        return self.rpc_ok("role.create", params)

    def get_role(self, org, api_id):
        return self.rpc_call("role.get", {"org": org, "api_id": api_id})

    def assertGone(self, org, api_id):
        err, _ = self.get_role(org, api_id)
        self.assertEqual((err or {}).get("code"), "not_found", "%s still in org %d" % (api_id, org))

    def path(self, api_id, query=""):
        return "/v2/custom_role/" + urllib.parse.quote(api_id, safe="") + query

    def put(self, api_id, body, key="admin_a", query=""):
        return self.call("PUT", self.path(api_id, query), body, self.pkey(key) if key else {})

    def delete(self, api_id, key="admin_a", query=""):
        return self.call("DELETE", self.path(api_id, query), None, self.pkey(key) if key else {})

    def duplicate(self, query, key="admin_a", body=None):
        return self.call("POST", "/v2/custom_role/duplicate" + query, body, self.pkey(key) if key else {})


class Update(PartooLifecycleCase):

    def test_update_every_field(self):
        role = self.new_role()
        n = self.uniq("new")
        r = self.put(role["api_id"], {"name": "Name " + n, "api_id": "api_" + n, "description": "changed",
                                      "permissions": ["business_edit", "review_read"]})
        self.assertBody(r, 200, {"status": "success", "api_id": "api_" + n})
        err, now = self.get_role(ORG_A, "api_" + n)
        self.assertIsNone(err)
        self.assertEqual((now["id"], now["name"], now["description"], sorted(now["permissions"])),
                         (role["id"], "Name " + n, "changed", ["business_edit", "review_read"]))
        self.assertGreater(now["revision"], role["revision"])
        self.assertGone(ORG_A, role["api_id"])
        # and through the read endpoint
        body = self.check_json(self.call("GET", self.path("api_" + n), None, self.pkey("admin_a")), 200)
        self.assertEqual(body["name"], "Name " + n)

    def test_one_field_keeps_the_others(self):
        role = self.new_role(description="kept")
        self.assertBody(self.put(role["api_id"], {"permissions": []}), 200,
                        {"status": "success", "api_id": role["api_id"]})
        now = self.get_role(ORG_A, role["api_id"])[1]
        self.assertEqual((now["name"], now["description"], now["permissions"]), (role["name"], "kept", []))

    def test_provider(self):
        role = self.new_role(org=ORG_B)
        self.assertBody(self.put(role["api_id"], {"description": "q"}, key="provider_p1", query="?org_id=%d" % ORG_B),
                        200, {"status": "success", "api_id": role["api_id"]})
        self.assertBody(self.put(role["api_id"], {"description": "b", "org_id": ORG_B}, key="provider_p1"),
                        200, {"status": "success", "api_id": role["api_id"]})
        self.assertEqual(self.get_role(ORG_B, role["api_id"])[1]["description"], "b")
        with self.nothing_committed():
            self.assertBody(self.put(role["api_id"], {"description": "x"}, key="provider_p1"), 400,
                            field_error("org_id", "Missing data for required field."))
            self.assertPartoo403(self.put(role["api_id"], {"description": "x"}, key="provider_p2",
                                          query="?org_id=%d" % ORG_B))
            self.assertPartoo404Org(self.put(role["api_id"], {"description": "x"}, key="provider_p1",
                                             query="?org_id=%d" % ORG_UNKNOWN))

    def test_scope(self):
        role = self.new_role()
        other = self.new_role(org=ORG_C)
        with self.nothing_committed():
            for key in READ_ONLY_KEYS:
                self.assertPartoo403(self.put(role["api_id"], {"description": "x"}, key=key))
            self.assertPartoo403(self.put(other["api_id"], {"description": "x"}, query="?org_id=%d" % ORG_C))
            self.assertPartoo403(self.put(role["api_id"], {"description": "x", "org_id": ORG_UNKNOWN}))
            # an ORG_ADMIN acts in its own organization: org C's role is not in org A
            self.assertBody(self.put(other["api_id"], {"description": "x"}, key="admin_a"), 404, PARTOO_404_ORG)

    def test_builtin(self):
        with self.nothing_committed():
            for api_id in ("ORG_ADMIN", "PUBLISHER"):
                self.assertPartoo403(self.put(api_id, {"description": "x"}))
                self.assertPartoo403(self.put(api_id, {"permissions": ["business_edit"]}))

    def test_unknown_role(self):
        with self.nothing_committed():
            for api_id in ("no_such_role", "duplicate"):
                self.assertBody(self.put(api_id, {"description": "x"}), 404, PARTOO_404_ORG)
            r = self.call("PUT", "/v2/custom_role/%FF", {"description": "x"}, self.pkey("admin_a"))
            self.assertBody(r, 404, PARTOO_404_ORG)

    def test_login(self):
        role = self.new_role()
        with self.nothing_committed():
            self.assertPartoo401(self.put(role["api_id"], {"description": "x"}, key=None))
            self.assertPartoo401(self.put(role["api_id"], {"description": "x"}, key="nope"))
            self.assertPartoo401(self.put(role["api_id"], "{", key=None))

    def test_schema(self):
        role = self.new_role()
        for body, expected in (
                ({}, field_error("_schema", "At least one of name, api_id, description, permissions is required.")),
                ({"org_id": ORG_A},
                 field_error("_schema", "At least one of name, api_id, description, permissions is required.")),
                ({"name": "a" * 101}, field_error("name", "Length must be between 1 and 100.",
                                                  "String does not match expected pattern.")),
                ({"api_id": "a,b"}, field_error("api_id", "String does not match expected pattern.")),
                ({"name": None}, field_error("name", "Field may not be null.")),
                ({"description": None}, field_error("description", "Field may not be null.")),
                ({"description": ""}, field_error("description", "Length must be between 1 and 200.",
                                                  "String does not match expected pattern.")),
                ({"permissions": "review_read"}, field_error("permissions", "Not a valid list.")),
                ({"permissions": [1]}, field_error("permissions", "Not a valid string.")),
                ({"name": "x", "color": "blue"}, field_error("color", "Unknown field.")),
                ({"name": 5}, field_error("name", "Not a valid string.")),
                ({"description": "x", "org_id": "1"}, field_error("org_id", "Not a valid integer.")),
                ("[]", field_error("_schema", "Invalid input type.")),
                ("{", field_error("_schema", "Invalid JSON body.")),
                ("", field_error("_schema", "Invalid JSON body."))):
            with self.subTest(body=body), self.nothing_committed():
                self.assertBody(self.put(role["api_id"], body), 400, expected)

    def test_org_disagrees(self):
        role = self.new_role()
        with self.nothing_committed():
            self.assertBody(self.put(role["api_id"], {"description": "x", "org_id": ORG_B},
                                     query="?org_id=%d" % ORG_A), 400,
                            field_error("org_id", "Does not match the org_id query parameter."))
            self.assertBody(self.put(role["api_id"], {"description": "x"}, query="?org_id=x"), 400,
                            field_error("org_id", "Not a valid integer.", where="query"))

    def test_duplicates(self):
        a, b = self.new_role(), self.new_role()
        with self.nothing_committed():
            self.assertBody(self.put(a["api_id"], {"api_id": b["api_id"]}), 400,
                            field_error("api_id", "A custom role with this api_id already exists."))
            self.assertBody(self.put(a["api_id"], {"name": b["name"]}), 400,
                            field_error("name", "A custom role with this name already exists."))
        # its own name and api_id are no duplicate
        self.assertBody(self.put(a["api_id"], {"name": a["name"], "api_id": a["api_id"]}), 200,
                        {"status": "success", "api_id": a["api_id"]})

    def test_unknown_permissions(self):
        role = self.new_role()
        with self.nothing_committed():
            self.assertBody(self.put(role["api_id"], {"permissions": ["review_read", "nope_a", "nope_b", "nope_a"]}),
                            400, field_error("permissions", "Unknown permission: nope_a.",
                                             "Unknown permission: nope_b."))

    def test_order(self):
        role = self.new_role()
        with self.nothing_committed():
            # credential, then a body that is not JSON, then the organization
            self.assertPartoo401(self.put("no_such_role", "{", key="nope"))
            self.assertBody(self.put(role["api_id"], "{", query="?org_id=%d" % ORG_B), 400,
                            field_error("_schema", "Invalid JSON body."))
            self.assertPartoo403(self.put(role["api_id"], {"color": 1}, query="?org_id=%d" % ORG_B))
            self.assertPartoo403(self.put(role["api_id"], {"color": 1}, key="manager_a"))
            # the schema, then the role, then a built-in, then permissions and names
            self.assertBody(self.put("no_such_role", {"color": 1}), 400, field_error("color", "Unknown field."))
            self.assertBody(self.put("ORG_ADMIN", {"color": 1}), 400, field_error("color", "Unknown field."))
            self.assertBody(self.put("no_such_role", {"permissions": ["nope"]}), 404, PARTOO_404_ORG)
            self.assertPartoo403(self.put("ORG_ADMIN", {"permissions": ["nope"], "name": role["name"]}))
            self.assertBody(self.put(role["api_id"], {"permissions": ["nope"], "name": "ORG_ADMIN"}), 400,
                            field_error("permissions", "Unknown permission: nope."))


class Delete(PartooLifecycleCase):

    def test_delete(self):
        role = self.new_role()
        self.assertBody(self.delete(role["api_id"]), 200, {"status": "success", "api_id": role["api_id"]})
        self.assertGone(ORG_A, role["api_id"])
        self.assertBody(self.call("GET", self.path(role["api_id"]), None, self.pkey("admin_a")), 404,
                        PARTOO_404_ORG)
        # the names are free again
        again = self.new_role(name=role["name"], api_id=role["api_id"])
        self.assertNotEqual(again["id"], role["id"])

    def test_provider(self):
        role = self.new_role(org=ORG_B)
        with self.nothing_committed():
            self.assertBody(self.delete(role["api_id"], key="provider_p1"), 400,
                            field_error("org_id", "Missing data for required field.", where="query"))
            self.assertPartoo403(self.delete(role["api_id"], key="provider_p2", query="?org_id=%d" % ORG_B))
            self.assertPartoo404Org(self.delete(role["api_id"], key="provider_p1",
                                                query="?org_id=%d" % ORG_UNKNOWN))
        self.assertBody(self.delete(role["api_id"], key="provider_p1", query="?org_id=%d" % ORG_B), 200,
                        {"status": "success", "api_id": role["api_id"]})
        self.assertGone(ORG_B, role["api_id"])

    def test_in_use(self):
        role = self.new_role()
        user = self.uniq("holder")
        self.rpc_ok("user.add", {"org": ORG_A, "username": user, "roles": [role["api_id"]]})
        with self.nothing_committed():
            self.assertBody(self.delete(role["api_id"]), 400,
                            field_error("api_id", "Custom role is assigned to users."))
        self.rpc_ok("member.remove", {"org": ORG_A, "api_id": role["api_id"], "user": user})
        self.assertBody(self.delete(role["api_id"]), 200, {"status": "success", "api_id": role["api_id"]})

    def test_scope_and_builtins(self):
        role = self.new_role()
        with self.nothing_committed():
            for key in READ_ONLY_KEYS:
                self.assertPartoo403(self.delete(role["api_id"], key=key))
            self.assertPartoo403(self.delete(role["api_id"], query="?org_id=%d" % ORG_C))
            self.assertPartoo403(self.delete("ORG_ADMIN"))
            self.assertPartoo403(self.delete("GROUP_MANAGER"))
        self.assertIsNone(self.get_role(ORG_A, role["api_id"])[0])

    def test_unknown(self):
        with self.nothing_committed():
            self.assertBody(self.delete("no_such_role"), 404, PARTOO_404_ORG)
            self.assertBody(self.call("DELETE", "/v2/custom_role/a%00b", None, self.pkey("admin_a")), 404,
                            PARTOO_404_ORG)

    def test_login_and_query(self):
        role = self.new_role()
        with self.nothing_committed():
            self.assertPartoo401(self.delete(role["api_id"], key=None))
            self.assertPartoo401(self.delete(role["api_id"], key="nope", query="?org_id=x"))
            self.assertBody(self.delete(role["api_id"], query="?org_id=0"), 400,
                            field_error("org_id", "Must be greater than or equal to 1.", where="query"))

    def test_order(self):
        role = self.new_role()
        user = self.uniq("holder")
        self.rpc_ok("user.add", {"org": ORG_A, "username": user, "roles": [role["api_id"], "ORG_ADMIN"]})
        with self.nothing_committed():
            self.assertPartoo403(self.delete("no_such_role", query="?org_id=%d" % ORG_B))
            self.assertPartoo403(self.delete("no_such_role", key="publisher_a"))
            # a built-in before its holders
            self.assertPartoo403(self.delete("ORG_ADMIN"))
            self.assertBody(self.delete(role["api_id"]), 400, field_error("api_id", "Custom role is assigned to users."))


class Duplicate(PartooLifecycleCase):

    def test_duplicate(self):
        role = self.new_role(description="to copy", permissions=["business_edit", "review_read"])
        q = "?custom_role_api_id=" + urllib.parse.quote(role["api_id"])
        self.assertBody(self.duplicate(q), 200, {"name": role["name"] + " - 2", "api_id": role["api_id"] + "_2",
                                                 "description": "to copy", "org_id": ORG_A, "is_builtin": False})
        self.assertBody(self.duplicate(q), 200, {"name": role["name"] + " - 3", "api_id": role["api_id"] + "_3",
                                                 "description": "to copy", "org_id": ORG_A, "is_builtin": False})
        copy = self.get_role(ORG_A, role["api_id"] + "_2")[1]
        self.assertEqual((sorted(copy["permissions"]), copy["protected"]), (["business_edit", "review_read"], False))
        self.assertNotEqual(copy["id"], role["id"])

    def test_no_description_and_provider(self):
        role = self.new_role(org=ORG_B)
        q = "?custom_role_api_id=%s&org_id=%d" % (role["api_id"], ORG_B)
        self.assertBody(self.duplicate(q, key="provider_p1"), 200,
                        {"name": role["name"] + " - 2", "api_id": role["api_id"] + "_2", "description": None,
                         "org_id": ORG_B, "is_builtin": False})

    def test_body_is_not_read(self):
        role = self.new_role()
        r = self.duplicate("?custom_role_api_id=" + role["api_id"], body="{not json")
        self.assertEqual(self.check_json(r, 200)["api_id"], role["api_id"] + "_2")

    def test_too_long(self):
        role = self.new_role(name="n" * 100, api_id="a" * 98)
        with self.nothing_committed():
            self.assertBody(self.duplicate("?custom_role_api_id=" + role["api_id"]), 400,
                            field_error("name", "Length must be between 1 and 100."))
        role = self.new_role(name="n" * 60, api_id="b" * 99)
        with self.nothing_committed():
            self.assertBody(self.duplicate("?custom_role_api_id=" + role["api_id"]), 400,
                            field_error("api_id", "Length must be between 1 and 100."))

    def test_query(self):
        with self.nothing_committed():
            for q in ("", "?org_id=%d" % ORG_A, "?custom_role_apiid=x"):
                self.assertBody(self.duplicate(q), 400,
                                field_error("custom_role_api_id", "Missing data for required field.", where="query"))
            self.assertBody(self.duplicate("?org_id=x"), 400,
                            {"errors": {"query": {"custom_role_api_id": ["Missing data for required field."],
                                                  "org_id": ["Not a valid integer."]}}})
            self.assertPartoo401(self.duplicate("", key=None))

    def test_scope_builtins_unknown(self):
        role = self.new_role()
        q = "?custom_role_api_id=" + role["api_id"]
        with self.nothing_committed():
            for key in READ_ONLY_KEYS:
                self.assertPartoo403(self.duplicate(q, key=key))
            self.assertPartoo403(self.duplicate(q + "&org_id=%d" % ORG_C))
            self.assertPartoo403(self.duplicate("?custom_role_api_id=ORG_ADMIN"))
            self.assertBody(self.duplicate("?custom_role_api_id=no_such_role"), 404, PARTOO_404_ORG)
            self.assertBody(self.duplicate(q, key="provider_p1"), 400,
                            field_error("org_id", "Missing data for required field.", where="query"))
            self.assertPartoo401(self.duplicate(q, key="nope"))
            # order: the organization before the role
            self.assertPartoo403(self.duplicate("?custom_role_api_id=no_such_role&org_id=%d" % ORG_C))


class Routing(PartooLifecycleCase):

    def test_a_role_named_duplicate(self):
        role = self.new_role(api_id="duplicate")
        body = self.check_json(self.call("GET", "/v2/custom_role/duplicate", None, self.pkey("admin_a")), 200)
        self.assertEqual(body["api_id"], "duplicate")
        self.assertBody(self.put("duplicate", {"description": "via put"}), 200,
                        {"status": "success", "api_id": "duplicate"})
        self.assertEqual(self.get_role(ORG_A, "duplicate")[1]["description"], "via put")
        # POST copies it
        self.assertEqual(self.check_json(self.duplicate("?custom_role_api_id=duplicate"), 200)["api_id"],
                         "duplicate_2")
        self.assertBody(self.delete("duplicate"), 200, {"status": "success", "api_id": "duplicate"})
        self.assertGone(ORG_A, "duplicate")
        self.assertIsNone(self.get_role(ORG_A, "duplicate_2")[0])
        self.assertEqual(role["org"], ORG_A)

    def test_methods(self):
        for method, path, allow in (("POST", "/v2/custom_role/some_role", "GET, HEAD, PUT, DELETE"),
                                    ("PATCH", "/v2/custom_role/some_role", "GET, HEAD, PUT, DELETE"),
                                    ("PATCH", "/v2/custom_role/duplicate", "GET, HEAD, POST, PUT, DELETE")):
            with self.subTest(method=method, path=path), self.nothing_committed():
                r = self.call(method, path, {"description": "x"}, self.pkey("admin_a"))
                self.assertPartooDialect(r, 405)
                self.assertEqual(r.header("Allow"), allow)


if __name__ == "__main__":
    main()
