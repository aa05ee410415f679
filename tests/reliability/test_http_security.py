#!/usr/bin/python3
"""test_http_security.py: security checks of rolesd-http against the real
daemon and shim (tests/http/httpharness.py), the HTTP share of
test_security.py:

  OrgIsolation  a Partoo key cannot reach another organization by any
                combination of query org_id and body org_id (absent, own,
                other of the same provider, other provider, unknown, 0,
                negative, huge, string, null) for ORG_ADMIN and PROVIDER
                keys: only what the authorization rules (rolesd-rpc(7),
                AUTHORIZATION) allow creates anything, with the status
                the Partoo API gives for it,
                and every created role lands in the org it should (RPC
                role.list); the same for reads; other user-roles create
                nothing; the Rocket.Chat API reaches the workspace only;
                credentials of one API are not accepted by the other.
  Builtins      no request through either API overwrites, renames or
                shadows a protected built-in role: Partoo api_id or name
                equal to ORG_ADMIN etc.; Rocket.Chat names equal to admin,
                user, ... (their _id too), extra properties naming _id or
                protected; built-ins unchanged afterwards (RPC: every field;
                HTTP: _id, name, description, scope, protected,
                mandatory2fa, _updatedAt; Partoo: the role and is_builtin).
                Case variants ("Admin") are distinct names (rolesd-rpc(7):
                a workspace name "may equal neither an existing role's
                name nor its id"; Rocket.Chat's unique index is
                case-sensitive): created as new roles with their own _id.

Environment: ROLESD, ROLESCTL, ROLESD_HTTP (tests/reliability/meson.build).
"""

import itertools
import json
import urllib.parse

from harness import ORG0_BUILTINS, PARTOO_BUILTINS, list_all, report
from httpharness import (ORG_A, ORG_B, ORG_C, ORG_UNKNOWN, ShimTestCase, main)

PARTOO = "/v2/custom_role"
RC_CREATE = "/api/v1/roles.create"
RC_LIST = "/api/v1/roles.list"
ORGS = (0, ORG_A, ORG_B, ORG_C)
HUGE = 2 ** 63 - 1          # a valid JSON/JSON Schema integer, no such org

# What each slot (query, body) may hold: label -> (query text or ABSENT,
# body value or ABSENT, meaning). Meaning: None (no organization named),
# an int (that organization), "invalid" (400 on that slot).
ABSENT = object()
VALUES = {
    "absent": (ABSENT, ABSENT, None),
    "null": (ABSENT, None, None),                      # body only: null is "none"
    "own": (str(ORG_A), ORG_A, ORG_A),
    "same-provider": (str(ORG_B), ORG_B, ORG_B),
    "other-provider": (str(ORG_C), ORG_C, ORG_C),
    "unknown": (str(ORG_UNKNOWN), ORG_UNKNOWN, ORG_UNKNOWN),
    "zero": ("0", 0, "invalid"),
    "negative": ("-%d" % ORG_A, -ORG_A, "invalid"),
    "huge": (str(HUGE), HUGE, HUGE),
    "string": ("%dx" % ORG_A, str(ORG_A), "invalid"),  # body: "101" is not an integer
}
PROVIDER_OF = {ORG_A: "p1", ORG_B: "p1", ORG_C: "p2"}


def expected_create(key_role, q, b):
    """(statuses allowed, org the role lands in or None) for a create by
    an ORG_ADMIN key of ORG_A or a PROVIDER key of p1."""
    if q == "invalid" or b == "invalid":
        return {400}, None
    if q is not None and b is not None and q != b:
        return {400}, None                      # query and body disagree
    org = q if q is not None else b
    if key_role == "ORG_ADMIN":
        if org is None or org == ORG_A:
            return {200}, ORG_A
        return {403}, None                      # any other org, known or not
    # PROVIDER p1
    if org is None:
        return {400}, None                      # org_id required
    if org not in PROVIDER_OF:
        return {404}, None
    if PROVIDER_OF[org] == "p1":
        return {200}, org
    return {403}, None


class IsolationBase(ShimTestCase):

    def snapshot(self):
        with self.d.rpc() as c:
            return {o: {r["id"]: r for r in list_all(c, o)[0]} for o in ORGS}

    def assertOnly(self, before, expected_new, what):
        """Every org holds what it held (unchanged) plus exactly
        expected_new[org] (sets of api_ids)."""
        after = self.snapshot()
        for o in ORGS:
            for rid, r in before[o].items():
                self.assertEqual(after[o].get(rid), r, "%s: role %s of org %d changed" % (what, rid, o))
            new = {after[o][rid]["api_id"] for rid in set(after[o]) - set(before[o])}
            self.assertEqual(new, expected_new.get(o, set()),
                             "%s: roles created in org %d other than expected" % (what, o))
        return after


class OrgIsolation(IsolationBase):

    def matrix_create(self, key_label, key_role):
        before = self.snapshot()
        expected_new = {}
        failures = []
        seen = {}
        n = 0
        for (qlabel, (qtext, _, qmean)), (blabel, (_, bval, bmean)) in itertools.product(
                VALUES.items(), VALUES.items()):
            if qlabel == "null":
                continue                    # a query has no null
            n += 1
            api_id = "iso_%s_%d" % (key_role.lower(), n)
            body = {"name": "iso %s %d" % (key_role, n), "api_id": api_id,
                    "permissions": ["review_read"]}
            if bval is not ABSENT:
                body["org_id"] = bval
            query = "" if qtext is ABSENT else "?org_id=" + urllib.parse.quote(qtext)
            r = self.partoo_create(body, key=key_label, query=query)
            seen[r.status] = seen.get(r.status, 0) + 1
            statuses, org = expected_create(key_role, qmean, bmean)
            if qlabel == "huge" or blabel == "huge":
                # 2**63-1 is an integer no org has: the org error, or 400
                # if the shim deems it out of range; never a role
                if statuses != {200}:
                    statuses = statuses | {400}
            case = "%s key, query org_id %s (%r), body org_id %s (%r)" % (
                key_role, qlabel, None if qtext is ABSENT else qtext, blabel,
                "(absent)" if bval is ABSENT else bval)
            if r.status not in statuses:
                failures.append("%s: expected %s, observed %d\n%s"
                                % (case, sorted(statuses), r.status, r))
                if r.status == 200:
                    # find where it went, for the message
                    for o, roles in self.snapshot().items():
                        if any(x["api_id"] == api_id for x in roles.values()):
                            failures[-1] += "\n  -> created in org %d" % o
                continue
            # exact bodies
            try:
                if r.status == 200:
                    self.assertPartooExact(r, 200, {"status": "success", "api_id": api_id})
                    expected_new.setdefault(org, set()).add(api_id)
                elif r.status == 403:
                    self.assertPartoo403(r)
                elif r.status == 404:
                    self.assertPartoo404Org(r)
                else:
                    self.assertPartooFieldError(r, "org_id", where=("query", "json"))
            except AssertionError as e:
                failures.append("%s: %s" % (case, e))
        report("%s matrix: %d combinations, statuses %s, created %s"
                         % (key_role, n, dict(sorted(seen.items())),
                            {o: len(v) for o, v in expected_new.items()}))
        self.assertEqual(failures, [], "%d of %d combinations misbehaved:\n\n%s"
                         % (len(failures), n, "\n\n".join(failures[:10])))
        self.assertOnly(before, expected_new, "%s matrix" % key_role)
        return n, expected_new

    def test_org_admin_key_matrix(self):
        n, made = self.matrix_create("admin_a", "ORG_ADMIN")
        self.assertEqual(set(made), {ORG_A})
        # query absent or own (2) x body absent, null or own (3)
        self.assertEqual(len(made[ORG_A]), 6, made)

    def test_provider_key_matrix(self):
        n, made = self.matrix_create("provider_p1", "PROVIDER")
        self.assertEqual(set(made), {ORG_A, ORG_B})
        # per org: query absent or that org with body absent, null or that
        # org, less (absent, absent/null): 2 x 3 - 2 = 4
        self.assertEqual({o: len(v) for o, v in made.items()}, {ORG_A: 4, ORG_B: 4}, made)

    def test_other_user_roles_create_nothing(self):
        before = self.snapshot()
        for label in ("manager_a", "group_manager_a", "business_manager_a", "publisher_a"):
            for q, b in ((None, None), (str(ORG_A), None), (None, ORG_A), (str(ORG_B), ORG_B),
                         (str(ORG_C), None), (str(ORG_UNKNOWN), None)):
                body = self.partoo_body()
                if b is not None:
                    body["org_id"] = b
                r = self.partoo_create(body, key=label, query="" if q is None else "?org_id=" + q)
                self.assertPartoo403(r)
        self.assertOnly(before, {}, "other user-roles")

    def test_reads_stay_in_the_org(self):
        # a marker role in each Partoo org, made over RPC
        with self.d.rpc() as c:
            for o in (ORG_A, ORG_B, ORG_C):
                c.ok("role.create", {"org": o, "name": "marker %d" % o, "api_id": "marker_%d" % o})
        markers = {"marker_%d" % o: o for o in (ORG_A, ORG_B, ORG_C)}
        for key_label, key_role in (("admin_a", "ORG_ADMIN"), ("provider_p1", "PROVIDER")):
            for qlabel, (qtext, _, qmean) in VALUES.items():
                if qlabel == "null":
                    continue
                statuses, org = expected_create(key_role, qmean, None)
                if qlabel == "huge" and statuses != {200}:
                    statuses = statuses | {400}
                query = "" if qtext is ABSENT else "?org_id=" + urllib.parse.quote(qtext)
                case = "%s key, query org_id %s" % (key_role, qlabel)
                with self.subTest(case):
                    r = self.call("GET", PARTOO + query + ("&" if query else "?") + "per_page=100",
                                  headers=self.pkey(key_label))
                    self.assertIn(r.status, statuses, "GET %s: %s" % (case, r))
                    if r.status == 200:
                        got = {x["api_id"] for x in r.json["custom_roles"]}
                        self.assertEqual({m for m in markers if m in got},
                                         {m for m, o in markers.items() if o == org}, str(r))
                    r = self.call("GET", PARTOO + "/marker_%d" % ORG_B + query,
                                  headers=self.pkey(key_label))
                    if org == ORG_B:
                        self.assertEqual(r.status, 200, str(r))
                    else:
                        self.assertIn(r.status, statuses | {404}, str(r))
                        self.assertNotIn(b"marker", r.body, str(r))
                    for other in (ORG_A, ORG_C):
                        r = self.call("GET", PARTOO + "/marker_%d" % other + query,
                                      headers=self.pkey(key_label))
                        if r.status == 200:
                            self.assertEqual(org, other, "%s read org %d's role: %s"
                                             % (case, other, r))
                    r = self.call("GET", "/v2/permissions" + query, headers=self.pkey(key_label))
                    self.assertIn(r.status, statuses, "GET /v2/permissions %s: %s" % (case, r))

    def test_rocketchat_reaches_the_workspace_only(self):
        before = self.snapshot()
        made0 = set()
        # a query org_id is no part of the Rocket.Chat API: the role goes to
        # the workspace (or the request is refused), never to a Partoo org
        for q in ("?org_id=%d" % ORG_A, "?org_id=%d&org=%d" % (ORG_C, ORG_C), "?org=%d" % ORG_A):
            name = self.uniq("rc-q")
            r = self.call("POST", RC_CREATE + q, {"name": name}, self.rc_auth())
            if r.status == 200:
                role = self.assertRCRole(r)
                made0.add(name)
                with self.d.rpc() as c:
                    self.assertEqual(c.ok("role.get", {"org": 0, "id": role["_id"]})["name"], name)
            else:
                self.assertIn(r.status, (400, 404), str(r))
        # org fields in the body: invalid properties
        for extra in ({"org_id": ORG_A}, {"org": ORG_A}, {"org_id": 0}, {"api_id": "x"},
                      {"org_id": None}):
            r = self.rc_create(dict({"name": self.uniq("rc-b")}, **extra))
            self.assertRCError(r, "error-invalid-role-properties")
        # credentials of one API are nothing to the other
        r = self.call("POST", RC_CREATE, {"name": self.uniq("rc-k")}, self.pkey("admin_a"))
        self.assertRC401(r)
        r = self.call("POST", RC_CREATE, {"name": self.uniq("rc-k")},
                      dict(self.pkey("provider_p1"), **{"X-User-Id": self.keys["provider_p1"],
                                                        "X-Auth-Token": self.keys["provider_p1"]}))
        self.assertRC401(r)
        r = self.call("POST", PARTOO + "?org_id=%d" % ORG_A, self.partoo_body(), self.rc_auth())
        self.assertPartoo401(r)
        for token_as_key in (self.rc_auth()["X-Auth-Token"], self.rc_auth()["X-User-Id"]):
            r = self.partoo_create(self.partoo_body(), key=token_as_key, query="?org_id=%d" % ORG_A)
            self.assertPartoo401(r)
        # bob (no access-permissions) cannot create anything
        r = self.rc_create({"name": self.uniq("rc-bob")}, user="bob")
        self.assertRCError(r, "error-action-not-allowed")
        self.assertOnly(before, {0: made0}, "Rocket.Chat isolation")


# --------------------------------------------------------------------------

RC_FIELDS = ("_id", "name", "description", "scope", "protected", "mandatory2fa", "_updatedAt")


class Builtins(IsolationBase):

    def rc_list(self):
        r = self.call("GET", RC_LIST, headers=self.rc_auth())
        body = self.check_json(r, 200)
        return {x["_id"]: x for x in body["roles"]}

    def partoo_builtins(self, key="admin_a", query=""):
        out = {}
        for b in PARTOO_BUILTINS:
            r = self.call("GET", PARTOO + "/" + b + query, headers=self.pkey(key))
            out[b] = self.check_json(r, 200)
            self.assertIs(out[b].get("is_builtin"), True, str(r))
        r = self.call("GET", PARTOO + (query or "?") + ("&" if query else "") + "per_page=100",
                      headers=self.pkey(key))
        listed = {x["api_id"]: x for x in self.check_json(r, 200)["custom_roles"]
                  if x.get("is_builtin")}
        return out, listed

    def test_partoo_builtins_untouchable(self):
        before = self.snapshot()
        http_before = {k: self.partoo_builtins(k, q) for k, q in
                       (("admin_a", ""), ("provider_p1", "?org_id=%d" % ORG_B))}
        attempts = []
        for b in PARTOO_BUILTINS:
            for key, query in (("admin_a", ""), ("admin_a", "?org_id=%d" % ORG_A),
                               ("provider_p1", "?org_id=%d" % ORG_A),
                               ("provider_p1", "?org_id=%d" % ORG_B)):
                for body, field in (({"name": b, "api_id": b}, ("api_id", "name")),
                                    ({"name": "n-" + b, "api_id": b}, "api_id"),
                                    ({"name": b, "api_id": "other_" + b}, "name"),
                                    ({"name": b, "api_id": b, "description": "pwned"},
                                     ("api_id", "name"))):
                    attempts.append((key, query, dict(body, permissions=["review_read"]), field))
        for key, query, body, field in attempts:
            with self.subTest(key=key, query=query, body=body):
                r = self.partoo_create(body, key=key, query=query)
                self.assertPartooFieldError(r, field)
        # case and whitespace variants: distinct strings, so either created
        # as new custom roles (never marked built-in) or refused; the
        # built-ins stay as they were
        made = {}
        variants = []
        for b in PARTOO_BUILTINS:
            for variant in (b.lower(), b.title(), b + " ", " " + b):
                r = self.partoo_create({"name": variant, "api_id": variant,
                                        "permissions": ["review_read"]})
                if r.status == 200:
                    self.assertPartooExact(r, 200, {"status": "success", "api_id": variant})
                    made.setdefault(ORG_A, set()).add(variant)
                    g = self.call("GET", PARTOO + "/" + urllib.parse.quote(variant),
                                  headers=self.pkey("admin_a"))
                    self.assertIsNot(self.check_json(g, 200).get("is_builtin"), True, str(g))
                else:
                    self.assertEqual(r.status, 400, str(r))
                variants.append((variant, r.status))
        report("Partoo built-in case/space variants (own org): %r" % variants)
        after = self.assertOnly(before, made, "Partoo built-ins")
        for o in (ORG_A, ORG_B, ORG_C):
            for b in PARTOO_BUILTINS:
                olds = [r for r in before[o].values() if r["api_id"] == b]
                self.assertEqual(len(olds), 1, (o, b))
                self.assertEqual(after[o][olds[0]["id"]], olds[0])
                self.assertTrue(olds[0]["protected"])
                with self.d.rpc() as c:
                    for by in ("id", "api_id", "name"):
                        self.assertEqual(c.ok("role.get", {"org": o, by: olds[0][by]}), olds[0],
                                         "role.get by %s of built-in %s in org %d" % (by, b, o))
        http_after = {k: self.partoo_builtins(k, q) for k, q in
                      (("admin_a", ""), ("provider_p1", "?org_id=%d" % ORG_B))}
        self.assertEqual(http_after, http_before)

    def test_rocketchat_builtins_untouchable(self):
        before = self.snapshot()
        rc_before = self.rc_list()
        for b in ORG0_BUILTINS:
            self.assertIn(b, rc_before)
            self.assertIs(rc_before[b]["protected"], True)
        custom = self.assertRCRole(self.rc_create({"name": "custom-one"}))
        made = {"custom-one"}
        for b in ORG0_BUILTINS:
            for body in ({"name": b}, {"name": b, "scope": "Subscriptions"},
                         {"name": b, "description": "pwned", "mandatory2fa": True},
                         {"name": b, "scope": "Users", "description": ""}):
                with self.subTest(body=body):
                    # admin: duplicate; a user without the permission: not
                    # allowed (permission comes before the duplicate check)
                    self.assertRCError(self.rc_create(body), "error-duplicate-role-names-not-allowed")
                    self.assertRCError(self.rc_create(body, user="bob"), "error-action-not-allowed")
            # properties that would name the built-in another way
            for body in ({"name": "x-" + b, "_id": b}, {"name": "x-" + b, "id": b},
                         {"name": "x-" + b, "protected": True}, {"name": b, "_id": b},
                         {"name": "x-" + b, "api_id": b}, {"name": "x-" + b, "_updatedAt": "1"}):
                with self.subTest(body=body):
                    self.assertRCError(self.rc_create(body), "error-invalid-role-properties")
        # a name equal to another (custom) role's _id
        if custom["_id"] != custom["name"]:
            self.assertRCError(self.rc_create({"name": custom["_id"]}),
                               "error-duplicate-role-names-not-allowed")
        # a name sent twice in one object: whichever the shim takes, never a
        # second "admin"
        r = self.call("POST", RC_CREATE, b'{"name": "dup-key-admin", "name": "admin"}',
                      self.rc_auth())
        if r.status == 200:
            role = self.assertRCRole(r)
            self.assertNotIn(role["name"], ORG0_BUILTINS, str(r))
            self.assertNotIn(role["_id"], ORG0_BUILTINS, str(r))
            made.add(role["name"])
        else:
            self.assertEqual(r.status, 400, str(r))
        # case and whitespace variants are other names (case-sensitive
        # uniqueness, as Rocket.Chat's): created, with an _id of their own
        variants = ["Admin", "ADMIN", "User", "admin ", " user", "Livechat-Agent"]
        for v in variants:
            role = self.assertRCRole(self.rc_create({"name": v}))
            self.assertEqual(role["name"], v)
            self.assertNotIn(role["_id"], ORG0_BUILTINS,
                             "the role named %r got a built-in's _id" % v)
            made.add(v)
            # and once there, it is a duplicate like any other name
            self.assertRCError(self.rc_create({"name": v}), "error-duplicate-role-names-not-allowed")
        # the built-ins are refused still, variants or not
        for b in ("admin", "user"):
            self.assertRCError(self.rc_create({"name": b}), "error-duplicate-role-names-not-allowed")
        after = self.assertOnly(before, {0: made}, "Rocket.Chat built-ins")
        rc_after = self.rc_list()
        for b in ORG0_BUILTINS:
            self.assertEqual({k: rc_after[b].get(k) for k in RC_FIELDS},
                             {k: rc_before[b].get(k) for k in RC_FIELDS},
                             "built-in %s changed (roles.list)" % b)
            old = before[0][b]
            self.assertEqual(after[0][b], old)
            with self.d.rpc() as c:
                for by in ("id", "name", "api_id"):
                    self.assertEqual(c.ok("role.get", {"org": 0, by: b}), old,
                                     "role.get by %s of built-in %s" % (by, b))
        # exactly one role per name in the listing (no shadow)
        names = [x["name"] for x in rc_after.values()]
        self.assertEqual(len(names), len(set(names)), json.dumps(sorted(names)))


if __name__ == "__main__":
    main()
