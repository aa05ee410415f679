#!/usr/bin/python3
"""test_roles_sync.py: Rocket.Chat's GET /api/v1/roles.sync through the
real rolesd-http and rolesd: the roles created or changed after
updatedSince (as they are now, each once) and the tombstones of those
deleted after it, in Rocket.Chat's shape ({"roles": {"update", "remove"},
"success": true}); nothing without the parameter; its errors in
Rocket.Chat's bodies (401 without a login, 400 [invalid-params] for a
date that does not parse or another parameter). Every response
validates against the shim's /openapi.json."""

import datetime
import time
import urllib.parse

from httpharness import RC_401, main
from lifecyclecase import LifecycleCase

WS = 0


def iso(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000.0, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def params_error(message):
    return {"success": False, "error": "%s [invalid-params]" % message, "errorType": "invalid-params"}


BAD_DATE = params_error('The "updatedSince" query parameter must be a valid date.')
OTHER_PARAM = params_error("must NOT have additional properties")


class RolesSyncTest(LifecycleCase):

    def sync(self, query=None, headers=None):
        path = "/api/v1/roles.sync"
        if query is not None:
            path += "?" + query
        return self.call("GET", path, None, self.rc_auth() if headers is None else headers)

    def since(self, ms):
        return "updatedSince=" + urllib.parse.quote(iso(ms))

    def test_changes_and_tombstones_after_a_time(self):
        kept = self.rpc_ok("role.create", {"org": WS, "name": self.uniq("kept")})
        time.sleep(0.01)
        t0 = kept["updated_at"]
        made = self.rpc_ok("role.create", {"org": WS, "name": self.uniq("made")})
        gone = self.rpc_ok("role.create", {"org": WS, "name": self.uniq("gone")})
        changed = self.rpc_ok("role.update", {"org": WS, "id": made["id"],
                                              "set": {"description": "changed"}})
        deleted = self.rpc_ok("role.delete", {"org": WS, "id": gone["id"]})
        body = self.check_json(self.sync(self.since(t0)), 200)
        self.assertIs(body["success"], True)
        update = body["roles"]["update"]
        ids = [r["_id"] for r in update]
        self.assertIn(made["id"], ids)
        self.assertEqual(ids.count(made["id"]), 1)              # changed twice, listed once
        self.assertNotIn(kept["id"], ids)                        # not changed after t0
        self.assertNotIn(gone["id"], ids)                        # deleted: a tombstone instead
        mine = next(r for r in update if r["_id"] == made["id"])
        self.assertEqual(mine, {"_id": made["id"], "name": made["name"], "scope": "Users",
                                "description": "changed", "protected": False, "mandatory2fa": False,
                                "_updatedAt": iso(changed["updated_at"])})
        remove = body["roles"]["remove"]
        tomb = [r for r in remove if r["_id"] == gone["id"]]
        self.assertEqual(len(tomb), 1, remove)
        self.assertEqual(tomb[0]["name"], gone["name"])
        self.assertRegex(tomb[0]["_deletedAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertGreaterEqual(tomb[0]["_deletedAt"], iso(t0))
        del deleted
        # after everything: nothing
        later = self.rpc_ok("role.get", {"org": WS, "id": made["id"]})["updated_at"] + 1
        now = max(later, int(time.time() * 1000) + 1000)
        body = self.check_json(self.sync(self.since(now)), 200)
        self.assertEqual(body, {"roles": {"update": [], "remove": []}, "success": True})

    def test_other_date_forms(self):
        role = self.rpc_ok("role.create", {"org": WS, "name": self.uniq("forms")})
        before = role["updated_at"] - 1000
        day = datetime.datetime.fromtimestamp(before / 1000.0, datetime.timezone.utc)
        # a date alone (UTC midnight), seconds without ms, and an offset
        for q in [day.strftime("%Y-%m-%d"), day.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  (day + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")]:
            body = self.check_json(self.sync("updatedSince=" + urllib.parse.quote(q)), 200)
            self.assertIn(role["id"], [r["_id"] for r in body["roles"]["update"]], q)

    def test_without_the_parameter_nothing(self):
        self.rpc_ok("role.create", {"org": WS, "name": self.uniq("none")})
        self.assertBody(self.sync(), 200, {"roles": {"update": [], "remove": []}, "success": True})

    def test_errors_in_rocketchats_bodies(self):
        self.assertBody(self.sync(self.since(0), headers={}), 401, RC_401)
        for bad in ["yesterday", "2026-13-01", "2026-02-30", "2026-01-01T25:00:00Z", "", "2026-01-01T10"]:
            self.assertBody(self.sync("updatedSince=" + urllib.parse.quote(bad)), 400, BAD_DATE)
        self.assertBody(self.sync(self.since(0) + "&count=5"), 400, OTHER_PARAM)
        self.assertBody(self.sync("since=2026-01-01"), 400, OTHER_PARAM)
        self.assertShimAlive()

    def test_head_and_other_methods(self):
        r = self.call("HEAD", "/api/v1/roles.sync?" + self.since(0), None, self.rc_auth())
        self.assertEqual(r.status, 200)
        r = self.call("POST", "/api/v1/roles.sync", {}, self.rc_auth())
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header("Allow"), "GET, HEAD")


if __name__ == "__main__":
    main()
