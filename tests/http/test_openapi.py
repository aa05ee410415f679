#!/usr/bin/python3
"""test_openapi.py: GET /openapi.json. One OpenAPI 3.1 document for every
endpoint, built from the seeds' documents with their known defects
corrected: 400, 405, 413 and 503 responses listed; examples with real
booleans; header parameters `required: true` as a boolean; the Rocket.Chat
body with `scope` as an enum and `additionalProperties: false`. Its schemas
compile (JSON Schema 2020-12), its examples validate against them, the
seeds' examples and documented bodies validate against it, and its request
schemas keep the seeds' constraints."""

import os

import jsonschema
import yaml

from httpharness import (API_DIR, PARTOO_401, PARTOO_403, PARTOO_404_ORG, PARTOO_EXAMPLE, RC_401,
                         RC_EXAMPLE_1, RC_MESSAGES, ShimTestCase, main)

OPERATIONS = [("POST", "/v2/custom_role"), ("GET", "/v2/custom_role"),
              ("GET", "/v2/custom_role/some_api_id"), ("GET", "/v2/permissions"),
              ("PUT", "/v2/custom_role/some_api_id"), ("DELETE", "/v2/custom_role/some_api_id"),
              ("POST", "/v2/custom_role/duplicate"), ("GET", "/v2/custom_role/duplicate"),
              ("PUT", "/v2/custom_role/duplicate"), ("DELETE", "/v2/custom_role/duplicate"),
              ("POST", "/api/v1/roles.create"), ("GET", "/api/v1/roles.list"),
              ("POST", "/api/v1/roles.update"), ("POST", "/api/v1/roles.delete"),
              ("POST", "/api/v1/roles.addUserToRole"), ("POST", "/api/v1/roles.removeUserFromRole"),
              ("GET", "/api/v1/roles.getUsersInRole"), ("GET", "/api/v1/roles.sync")]
BOOL_FIELDS = {"mandatory2fa", "protected", "success", "is_builtin"}


def walk(node, path=()):
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, path + (i,))


class OpenAPIDocument(ShimTestCase):
    do_provision = False

    def setUp(self):
        self.assertIsNotNone(self.shim_doc, self.shim_doc_problem)
        self.doc = self.shim_doc.doc
        self.od = self.shim_doc

    def request_schema(self, method, path):
        op = self.od.operation(method, path)
        self.assertIsNotNone(op, "no %s %s in /openapi.json" % (method, path))
        rb = self.od.deref(op.get("requestBody"))
        self.assertIsInstance(rb, dict, "%s %s has no requestBody" % (method, path))
        mt = self.od.deref((rb.get("content") or {}).get("application/json"))
        self.assertIsInstance(mt, dict, "%s %s: no application/json body" % (method, path))
        return self.od.deref(mt.get("schema"))

    def test_served_as_json_and_3_1(self):
        r = self.call("GET", "/openapi.json")
        body = self.check_json(r, 200, validate=False)
        self.assertIsInstance(body.get("openapi"), str, str(r)[:500])
        self.assertRegex(body["openapi"], r"^3\.1\.\d+$")
        self.assertIsInstance(body.get("info"), dict)
        self.assertIsInstance(body["info"].get("title"), str)
        self.assertIsInstance(body["info"].get("version"), str)

    def test_valid_against_the_openapi_3_1_schema(self):
        with open(os.path.join(API_DIR, "oas-3.1-schema.yaml"), encoding="utf-8") as f:
            meta = yaml.safe_load(f)
        v = jsonschema.Draft202012Validator(
            meta, format_checker=jsonschema.draft202012_format_checker)
        errs = ["%s at %s" % (e.message[:300], "/".join(map(str, e.absolute_path)))
                for e in v.iter_errors(self.doc)]
        self.assertEqual(errs, [], "/openapi.json is not a valid OpenAPI 3.1 document")

    def test_every_endpoint_documented(self):
        for method, path in OPERATIONS:
            with self.subTest(method=method, path=path):
                self.assertIsNotNone(self.od.operation(method, path),
                                     "%s %s not in /openapi.json (paths: %s)"
                                     % (method, path, list(self.doc.get("paths", {}))))

    def test_error_responses_listed(self):
        partoo = ("200", "400", "401", "403", "404", "405", "413", "503")
        want = {("POST", "/v2/custom_role"): partoo,
                ("PUT", "/v2/custom_role/some_api_id"): partoo,
                ("DELETE", "/v2/custom_role/some_api_id"): partoo,
                ("POST", "/v2/custom_role/duplicate"): partoo,
                ("POST", "/api/v1/roles.create"): ("200", "400", "401", "405", "413", "503"),
                ("POST", "/api/v1/roles.update"): ("200", "400", "401", "405", "413", "503"),
                ("POST", "/api/v1/roles.delete"): ("200", "400", "401", "403", "405", "413", "503"),
                ("POST", "/api/v1/roles.addUserToRole"): ("200", "400", "401", "405", "413", "503"),
                ("POST", "/api/v1/roles.removeUserFromRole"): ("200", "400", "401", "403", "405", "413",
                                                               "503"),
                ("GET", "/api/v1/roles.getUsersInRole"): ("200", "400", "401", "403", "405", "503")}
        for (method, path), codes in want.items():
            op = self.od.operation(method, path)
            self.assertIsNotNone(op)
            resps = op.get("responses") or {}
            for c in codes:
                with self.subTest(method=method, path=path, status=c):
                    self.assertIn(c, resps, "%s %s lists %s" % (method, path, sorted(resps)))
        for method, path in OPERATIONS:
            with self.subTest(method=method, path=path, status="503"):
                op = self.od.operation(method, path)
                if op is not None:
                    self.assertIn("503", op.get("responses") or {})

    def all_schemas(self):
        """(where, schema) for components.schemas and every media type."""
        out = []
        for name, s in ((self.doc.get("components") or {}).get("schemas") or {}).items():
            out.append(("components/schemas/" + name, s))
        for path, node in walk(self.doc):
            if isinstance(node, dict) and "schema" in node and path and \
                    path[-1] in ("application/json",):
                out.append(("/".join(map(str, path)), node["schema"]))
        return out

    def test_schemas_compile(self):
        schemas = self.all_schemas()
        self.assertTrue(schemas)
        for where, s in schemas:
            with self.subTest(where=where):
                jsonschema.Draft202012Validator.check_schema(s)

    def test_examples_use_real_booleans(self):
        bad = []
        for path, v in walk(self.doc):
            if not path:
                continue
            in_example = any(k in ("example", "examples") for k in path if isinstance(k, str))
            if in_example and path[-1] in BOOL_FIELDS and not isinstance(v, bool):
                bad.append(("/".join(map(str, path)), v))
            if len(path) >= 2 and path[-1] == "default" and path[-2] in BOOL_FIELDS \
                    and not isinstance(v, bool):
                bad.append(("/".join(map(str, path)), v))
        self.assertEqual(bad, [], "boolean fields given as non-booleans")

    def test_examples_validate_against_their_schemas(self):
        n = 0
        for path, node in walk(self.doc):
            if not (isinstance(node, dict) and "schema" in node):
                continue
            if not path or path[-1] == "properties":
                continue
            exs = []
            if "example" in node:
                exs.append(("example", node["example"]))
            for k, ex in (node.get("examples") or {}).items():
                ex = self.od.deref(ex)
                if isinstance(ex, dict) and "value" in ex:
                    exs.append((k, ex["value"]))
            for k, v in exs:
                n += 1
                with self.subTest(where="/".join(map(str, path)), example=k):
                    errs = self.od.validate(node["schema"], v)
                    self.assertEqual(errs, [], "example %r" % (v,))
        self.assertGreater(n, 0, "the document has no examples at all (the seeds had some)")

    def test_header_parameters_required_boolean(self):
        seen = []
        for path, node in walk(self.doc):
            if isinstance(node, dict) and node.get("in") == "header" and "name" in node \
                    and "securitySchemes" not in path:     # a parameter, not an apiKey scheme
                seen.append(node["name"].lower())
                with self.subTest(where="/".join(map(str, path))):
                    self.assertIs(node.get("required"), True, node)
        for h in ("x-user-id", "x-auth-token"):
            self.assertIn(h, seen, "Rocket.Chat header parameter %s not documented" % h)

    def test_rocketchat_body_schema(self):
        s = self.request_schema("POST", "/api/v1/roles.create")
        self.assertIs(s.get("additionalProperties"), False, s)
        self.assertIn("name", s.get("required") or [], s)
        props = s.get("properties") or {}
        scope = self.od.deref(props.get("scope") or {})
        self.assertEqual(sorted(scope.get("enum") or []), ["Subscriptions", "Users"], scope)
        self.assertEqual(sorted(props), ["description", "mandatory2fa", "name", "scope"])
        m2 = self.od.deref(props["mandatory2fa"])
        if "default" in m2:
            self.assertIs(m2["default"], False)
        # the seed example with real booleans is valid; unknown properties are not
        fixed = dict(RC_EXAMPLE_1, mandatory2fa=False)
        self.assertEqual(self.od.validate(s, fixed), [])
        self.assertNotEqual(self.od.validate(s, dict(fixed, color="blue")), [])
        self.assertNotEqual(self.od.validate(s, dict(fixed, scope="Global")), [])
        self.assertNotEqual(self.od.validate(s, {"scope": "Users"}), [])

    def test_partoo_body_schema_keeps_seed_constraints(self):
        s = self.request_schema("POST", "/v2/custom_role")
        seed = self.seed_docs[0]
        seed_s = seed.deref(seed.doc["components"]["schemas"]["CustomRoleCreationBody"])
        self.assertEqual(sorted(s.get("required") or []), sorted(seed_s["required"]))
        props = s.get("properties") or {}
        for f in ("name", "api_id", "description"):
            with self.subTest(field=f):
                p = self.od.deref(props.get(f) or {})
                for k in ("type", "minLength", "maxLength"):
                    self.assertEqual(p.get(k), seed_s["properties"][f][k], (f, k, p))
        self.assertEqual(self.od.validate(s, PARTOO_EXAMPLE), [])
        self.assertEqual(self.od.validate(s, dict(PARTOO_EXAMPLE, org_id=42)), [])
        self.assertEqual(self.od.validate(s, dict(PARTOO_EXAMPLE, name="é" * 100)), [])
        for bad in (dict(PARTOO_EXAMPLE, name="é" * 101), dict(PARTOO_EXAMPLE, name="a,b"),
                    dict(PARTOO_EXAMPLE, description="a<b"), {"name": "x"},
                    dict(PARTOO_EXAMPLE, org_id="42")):
            with self.subTest(bad=str(bad)[:60]):
                self.assertNotEqual(self.od.validate(s, bad), [])

    def test_documented_bodies_validate(self):
        cases = [("POST", "/v2/custom_role", 200, {"status": "success", "api_id": "x"}),
                 ("POST", "/v2/custom_role", 401, PARTOO_401),
                 ("POST", "/v2/custom_role", 403, PARTOO_403),
                 ("POST", "/v2/custom_role", 404, PARTOO_404_ORG),
                 ("POST", "/v2/custom_role", 400, {"errors": {"json": {"name": ["x"]}}}),
                 ("POST", "/v2/custom_role", 400, {"errors": {"query": {"org_id": ["x"]}}}),
                 ("POST", "/api/v1/roles.create", 401, RC_401),
                 ("POST", "/api/v1/roles.create", 200, {
                     "role": {"_id": "646c431fa8c3a3ba32d0e1c4", "name": "support1",
                              "scope": "Subscriptions", "description": "Role support tier 1",
                              "protected": False, "mandatory2fa": False,
                              "_updatedAt": "2023-05-23T04:37:51.161Z"},
                     "success": True})]
        for t, msg in RC_MESSAGES.items():
            cases.append(("POST", "/api/v1/roles.create", 400,
                          {"success": False, "error": "%s [%s]" % (msg, t), "errorType": t}))
        for method, path, status, body in cases:
            with self.subTest(method=method, path=path, status=status, body=str(body)[:60]):
                schema, why = self.od.response_schema(method, path, status)
                self.assertIsNotNone(schema, why)
                self.assertEqual(self.od.validate(schema, body), [])

    def test_seed_documents_parse(self):
        # guards the fixtures themselves (tests/http/api: the seeds' OpenAPI documents, verbatim)
        p, rc = self.seed_docs
        self.assertIsNotNone(p.operation("POST", "/v2/custom_role"))
        self.assertIsNotNone(rc.operation("POST", "/api/v1/roles.create"))
        self.assertIsNotNone(p.response_schema("POST", "/v2/custom_role", 200)[0])
        self.assertIsNotNone(rc.response_schema("POST", "/api/v1/roles.create", 401)[0])


if __name__ == "__main__":
    main()
