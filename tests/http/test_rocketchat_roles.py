#!/usr/bin/python3
"""test_rocketchat_roles.py: the role lifecycle in the Rocket.Chat dialect,
through the real rolesd-http and rolesd: roles.update, roles.delete,
roles.addUserToRole, roles.removeUserFromRole and roles.getUsersInRole.
Every row of the contract: the 200 bodies (checked against what the daemon
then holds, over RPC), each error body verbatim, and the order of the
checks, shown by requests that fail two of them at once (the first one
wins). A refused request commits nothing (the database's revision stays).
Every response validates against the shim's /openapi.json."""

import datetime

from httpharness import ISO_MS_Z, RC_401, main
from lifecyclecase import LifecycleCase

WS = 0
FORBIDDEN_403 = {"success": False,
                 "error": "User does not have the permissions required for this action "
                          "[error-unauthorized]"}
NO_ROLE_ID = {"success": False, "error": "error-invalid-role-properties"}
ROLE_NOT_FOUND = {"success": False, "error": "error-role-not-found", "errorType": "Role not found"}
UNKNOWN_USER_ADD = ('The required "userId" or "username" param provided does not match any users',
                    "error-invalid-user")


def rc_error(message, error_type):
    """Rocket.Chat's 400 for a Meteor.Error."""
    text = "%s [%s]" % (message, error_type) if message else "[%s]" % error_type
    return {"success": False, "error": text, "errorType": error_type}


INVALID = rc_error("The role properties are invalid.", "error-invalid-role-properties")
NOT_ALLOWED = rc_error("Accessing permissions is not allowed", "error-action-not-allowed")
NO_SUCH_ROLE = rc_error("This role does not exist", "error-invalid-roleId")
DUPLICATE = rc_error("Role name already exists", "error-duplicate-role-names-not-allowed")


def params_error(message):
    return rc_error(message, "invalid-params")


def iso(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000.0, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


class RocketChatLifecycleCase(LifecycleCase):
    """Helpers: users and roles made over RPC, requests, role answers."""

    def new_user(self, roles=None, name=None):
        """A workspace user (default role: user); returns (username, headers)."""
        username = self.uniq("u")
        params = {"username": username}
        if roles is not None:
            params["roles"] = roles
        if name is not None:
            params["name"] = name
        res = self.rpc_ok("user.add", params)
        return username, {"X-User-Id": res["user_id"], "X-Auth-Token": res["token"]}

    def new_role(self, **kw):
        params = {"org": WS, "name": self.uniq("role")}
        params.update(kw)
        return self.rpc_ok("role.create", params)

    def get_role(self, **sel):
        return self.rpc_call("role.get", dict({"org": WS}, **sel))

    def held(self, username):
        return self.rpc_ok("user.roles", {"org": WS, "user": username})["roles"]

    def headers_of(self, user):
        return self.rc_auth(user) if isinstance(user, str) else user

    def post(self, endpoint, body, user="alice"):
        h = self.headers_of(user) if user is not None else {}
        return self.call("POST", "/api/v1/" + endpoint, body, h)

    def get(self, query, user="alice"):
        h = self.headers_of(user) if user is not None else {}
        return self.call("GET", "/api/v1/roles.getUsersInRole" + query, None, h)

    def assertRoleAnswer(self, r, role):
        """200 {"role": ..., "success": true} showing the daemon's role."""
        body = self.check_json(r, 200)
        self.assertEqual(body, {"role": {
            "_id": role["id"], "name": role["name"], "scope": role["scope"],
            "description": role["description"] or "", "protected": role["protected"],
            "mandatory2fa": role["mandatory2fa"], "_updatedAt": iso(role["updated_at"])},
            "success": True}, str(r))
        self.assertRegex(body["role"]["_updatedAt"], ISO_MS_Z)
        return body["role"]


class Update(RocketChatLifecycleCase):

    def update(self, body, user="alice"):
        return self.post("roles.update", body, user)

    def test_update_every_field(self):
        role = self.new_role(description="old")
        name = self.uniq("renamed")
        r = self.update({"roleId": role["id"], "name": name, "description": "new",
                         "scope": "Subscriptions", "mandatory2fa": True})
        err, now = self.get_role(id=role["id"])
        self.assertIsNone(err)
        self.assertRoleAnswer(r, now)
        self.assertEqual((now["name"], now["api_id"], now["description"], now["scope"],
                          now["mandatory2fa"]), (name, name, "new", "Subscriptions", True))
        self.assertEqual(now["created_at"], role["created_at"])
        self.assertGreater(now["revision"], role["revision"])
        self.assertEqual(self.get_role(name=role["name"])[0]["code"], "not_found")

    def test_omitted_fields_as_rocketchat_fills_them(self):
        # description -> "", scope -> Users, mandatory2fa kept
        role = self.new_role(description="kept?", scope="Subscriptions", mandatory2fa=True)
        r = self.update({"roleId": role["id"], "name": role["name"]})
        now = self.get_role(id=role["id"])[1]
        self.assertRoleAnswer(r, now)
        self.assertEqual((now["description"], now["scope"], now["mandatory2fa"]), ("", "Users", True))

    def test_nulls(self):
        role = self.new_role(description="d", scope="Subscriptions", mandatory2fa=True)
        r = self.update({"roleId": role["id"], "name": role["name"], "description": None,
                         "scope": None, "mandatory2fa": None})
        now = self.get_role(id=role["id"])[1]
        self.assertRoleAnswer(r, now)
        self.assertEqual((now["description"], now["scope"], now["mandatory2fa"]), ("", "Users", False))

    def test_empty_name_keeps_the_name(self):
        role = self.new_role()
        for name in ("", None):
            r = self.update({"roleId": role["id"], "name": name, "description": "x"})
            now = self.get_role(id=role["id"])[1]
            self.assertRoleAnswer(r, now)
            self.assertEqual((now["name"], now["description"]), (role["name"], "x"))

    def test_coercion(self):
        role = self.new_role()
        name = str(900000 + next(self._uniq))
        r = self.update({"roleId": role["id"], "name": int(name), "description": 12.5,
                         "mandatory2fa": "true"})
        now = self.get_role(id=role["id"])[1]
        self.assertRoleAnswer(r, now)
        self.assertEqual((now["name"], now["description"], now["mandatory2fa"]), (name, "12.5", True))

    def test_builtin_description_and_mandatory2fa_may_change(self):
        r = self.update({"roleId": "livechat-agent", "name": "livechat-agent", "description": "agents",
                         "mandatory2fa": True})
        now = self.get_role(id="livechat-agent")[1]
        self.assertRoleAnswer(r, now)
        self.assertEqual((now["description"], now["mandatory2fa"], now["protected"]), ("agents", True, True))
        # an empty name is no rename, and a Subscriptions built-in may keep its scope
        r = self.update({"roleId": "moderator", "name": "", "scope": "Subscriptions", "description": "m"})
        self.assertRoleAnswer(r, self.get_role(id="moderator")[1])

    def test_protected(self):
        for body in ({"roleId": "admin", "name": "boss"},
                     {"roleId": "user", "name": "user", "scope": "Subscriptions"},
                     # an omitted scope is Users: a Subscriptions built-in would change
                     {"roleId": "moderator", "name": "moderator", "description": "x"}):
            with self.subTest(body=body), self.nothing_committed():
                self.assertBody(self.update(body), 400, rc_error("Role is protected", "error-role-protected"))

    def test_duplicate_name(self):
        a, b = self.new_role(), self.new_role()
        for name in (b["name"], b["id"], "bot"):
            with self.subTest(name=name), self.nothing_committed():
                self.assertBody(self.update({"roleId": a["id"], "name": name}), 400, DUPLICATE)

    def test_unknown_role(self):
        role = self.new_role()
        # by _id only: a name is not a roleId here
        for rid in ("no-such-role", role["name"], "", "x" * 5000):
            with self.subTest(roleId=rid[:20]), self.nothing_committed():
                self.assertBody(self.update({"roleId": rid, "name": "n"}), 400, NO_SUCH_ROLE)

    def test_invalid_body(self):
        role = self.new_role()
        for body in ({}, {"name": "x"}, {"roleId": role["id"]},
                     {"roleId": role["id"], "name": "x", "color": 1},
                     {"roleId": role["id"], "name": "x", "scope": "Global"},
                     {"roleId": role["id"], "name": ["x"]},
                     {"roleId": role["id"], "name": "x", "mandatory2fa": "yes"},
                     {"roleId": {}, "name": "x"}, "[]", "{", ""):
            with self.subTest(body=body), self.nothing_committed():
                self.assertBody(self.update(body), 400, INVALID)

    def test_not_allowed(self):
        role = self.new_role()
        with self.nothing_committed():
            self.assertBody(self.update({"roleId": role["id"], "name": "x"}, user="bob"), 400, NOT_ALLOWED)

    def test_login(self):
        role = self.new_role()
        for h in ({}, {"X-User-Id": self.creds["users"]["alice"]["userId"], "X-Auth-Token": "wrong"}):
            with self.subTest(headers=h), self.nothing_committed():
                self.assertBody(self.update({"roleId": role["id"], "name": "x"}, user=h), 401, RC_401)
                self.assertBody(self.update("{", user=h), 401, RC_401)

    def test_order(self):
        role = self.new_role()
        with self.nothing_committed():
            # body before permission, permission before the role, the role
            # before protection, protection before the name
            self.assertBody(self.update({"roleId": "nope", "name": "x", "scope": "Bad"}, user="bob"),
                            400, INVALID)
            self.assertBody(self.update({"roleId": "nope", "name": "x"}, user="bob"), 400, NOT_ALLOWED)
            self.assertBody(self.update({"roleId": "admin", "name": "user"}, user="bob"), 400, NOT_ALLOWED)
            self.assertBody(self.update({"roleId": "admin", "name": "user"}), 400,
                            rc_error("Role is protected", "error-role-protected"))
            self.assertBody(self.update({"roleId": role["id"], "name": "admin"}), 400, DUPLICATE)


class Delete(RocketChatLifecycleCase):

    def delete(self, body, user="alice"):
        return self.post("roles.delete", body, user)

    def test_delete_by_id_and_by_name(self):
        for by in ("id", "name"):
            with self.subTest(by=by):
                role = self.new_role()
                self.assertBody(self.delete({"roleId": role[by]}), 200, {"success": True})
                self.assertEqual(self.get_role(id=role["id"])[0]["code"], "not_found")

    def test_coerced_roleid(self):
        n = 700000 + next(self._uniq)
        role = self.new_role(name=str(n))
        self.assertBody(self.delete({"roleId": n}), 200, {"success": True})
        self.assertEqual(self.get_role(id=role["id"])[0]["code"], "not_found")

    def test_invalid_params(self):
        for body, message in (({}, "must have required property 'roleId'"),
                              ({"name": "x"}, "must have required property 'roleId'"),
                              ({"roleId": "x", "force": True}, "must NOT have additional properties"),
                              ({"roleId": ["x"]}, "must be string"),
                              ({"roleId": {"a": 1}}, "must be string"),
                              ("[]", "must be object"), ("{", "must be object"), ("", "must be object")):
            with self.subTest(body=body), self.nothing_committed():
                self.assertBody(self.delete(body), 400, params_error(message))

    def test_unknown_role(self):
        with self.nothing_committed():
            self.assertBody(self.delete({"roleId": "no-such-role"}), 400, NO_SUCH_ROLE)

    def test_protected(self):
        for rid in ("admin", "user", "livechat-monitor"):
            with self.subTest(roleId=rid), self.nothing_committed():
                self.assertBody(self.delete({"roleId": rid}), 400,
                                rc_error("Cannot delete a protected role", "error-role-protected"))

    def test_in_use(self):
        role = self.new_role()
        username, _ = self.new_user(roles=[role["name"]])
        with self.nothing_committed():
            self.assertBody(self.delete({"roleId": role["id"]}), 400,
                            rc_error("Cannot delete role because it's in use", "error-role-in-use"))
        self.assertIn(role["name"], self.held(username))

    def test_forbidden(self):
        role = self.new_role()
        with self.nothing_committed():
            self.assertBody(self.delete({"roleId": role["id"]}, user="bob"), 403, FORBIDDEN_403)
        self.assertIsNone(self.get_role(id=role["id"])[0])

    def test_login(self):
        role = self.new_role()
        with self.nothing_committed():
            self.assertBody(self.delete({"roleId": role["id"]}, user=None), 401, RC_401)
            self.assertBody(self.delete({}, user={"X-User-Id": "x", "X-Auth-Token": "y"}), 401, RC_401)

    def test_order(self):
        role = self.new_role()
        self.new_user(roles=[role["name"]])
        with self.nothing_committed():
            self.assertBody(self.delete({}, user="bob"), 400,
                            params_error("must have required property 'roleId'"))
            self.assertBody(self.delete({"roleId": "no-such-role"}, user="bob"), 403, FORBIDDEN_403)
            # protected before in use: bob holds user
            self.assertBody(self.delete({"roleId": "user"}), 400,
                            rc_error("Cannot delete a protected role", "error-role-protected"))


class AddUserToRole(RocketChatLifecycleCase):

    def add(self, body, user="alice"):
        return self.post("roles.addUserToRole", body, user)

    def test_add(self):
        role = self.new_role()
        username, _ = self.new_user()
        r = self.add({"username": username, "roleId": role["id"]})
        self.assertRoleAnswer(r, role)
        self.assertEqual(self.held(username), ["user", role["name"]])
        # a null or empty roomId is no room
        other = self.new_role()
        self.assertRoleAnswer(self.add({"username": username, "roleId": other["id"], "roomId": None}), other)
        third = self.new_role()
        self.assertRoleAnswer(self.add({"username": username, "roleId": third["id"], "roomId": ""}), third)

    def test_add_builtin_and_admin(self):
        username, _ = self.new_user()
        self.assertRoleAnswer(self.add({"username": username, "roleId": "bot"}), self.get_role(id="bot")[1])
        self.assertRoleAnswer(self.add({"username": username, "roleId": "admin"}), self.get_role(id="admin")[1])
        self.assertIn("admin", self.held(username))

    def test_invalid_params(self):
        for body, message in (({}, "must have required property 'username'"),
                              ({"roleId": "bot"}, "must have required property 'username'"),
                              ({"username": "bob", "roleId": "bot", "roleName": "bot"},
                               "must NOT have additional properties"),
                              ({"username": ["bob"], "roleId": "bot"}, "must be string"),
                              ({"username": "bob", "roleId": {}}, "must be string"),
                              ({"username": "bob", "roleId": "bot", "roomId": []}, "must be string"),
                              ("{", "must be object"), ("null", "must be object")):
            with self.subTest(body=body), self.nothing_committed():
                self.assertBody(self.add(body), 400, params_error(message))

    def test_unknown_user(self):
        with self.nothing_committed():
            for u in ("nobody-here", ""):
                self.assertBody(self.add({"username": u, "roleId": "bot"}), 400, rc_error(*UNKNOWN_USER_ADD))

    def test_no_role_id(self):
        username, _ = self.new_user()
        with self.nothing_committed():
            self.assertBody(self.add({"username": username}), 400, NO_ROLE_ID)
            self.assertBody(self.add({"username": username, "roleId": ""}), 400, NO_ROLE_ID)
            self.assertBody(self.add({"username": username, "roleId": None}), 400, NO_ROLE_ID)

    def test_unknown_role(self):
        username, _ = self.new_user()
        role = self.new_role()
        with self.nothing_committed():
            # by _id only
            for rid in ("no-such-role", role["name"]):
                self.assertBody(self.add({"username": username, "roleId": rid}), 400, ROLE_NOT_FOUND)

    def test_already_held(self):
        username, _ = self.new_user()
        with self.nothing_committed():
            self.assertBody(self.add({"username": username, "roleId": "user"}), 400,
                            rc_error("User already in role", "error-user-already-in-role"))

    def test_not_allowed(self):
        username, _ = self.new_user()
        role = self.new_role()
        with self.nothing_committed():
            self.assertBody(self.add({"username": username, "roleId": role["id"]}, user="bob"), 400, NOT_ALLOWED)
        self.assertEqual(self.held(username), ["user"])

    def test_assigning_admin_needs_assign_admin_role(self):
        keeper = self.new_role(permissions=["access-permissions"])
        _, h = self.new_user(roles=[keeper["name"]])
        username, _ = self.new_user()
        with self.nothing_committed():
            self.assertBody(self.add({"username": username, "roleId": "admin"}, user=h), 400,
                            rc_error("Assigning admin is not allowed", "error-action-not-allowed"))
        role = self.new_role()
        self.assertRoleAnswer(self.add({"username": username, "roleId": role["id"]}, user=h), role)

    def test_room(self):
        username, _ = self.new_user()
        role = self.new_role()
        with self.nothing_committed():
            self.assertBody(self.add({"username": username, "roleId": role["id"], "roomId": "GENERAL"}), 400,
                            rc_error("User is not part of given room", "error-invalid-user"))

    def test_login(self):
        username, _ = self.new_user()
        with self.nothing_committed():
            self.assertBody(self.add({"username": username, "roleId": "bot"}, user=None), 401, RC_401)
            self.assertBody(self.add({}, user={"X-User-Id": "x", "X-Auth-Token": "y"}), 401, RC_401)
            self.assertBody(self.add({"username": "nobody"}, user={"X-User-Id": "x", "X-Auth-Token": "y"}),
                            401, RC_401)

    def test_order(self):
        # Rocket.Chat checks body, user, roleId, role, membership,
        # permission, room: bob (no permission) sees each of the first
        username, _ = self.new_user()
        role = self.new_role()
        with self.nothing_committed():
            self.assertBody(self.add({"roleId": "nope"}, user="bob"), 400,
                            params_error("must have required property 'username'"))
            self.assertBody(self.add({"username": "nobody-here", "roomId": "GENERAL"}, user="bob"), 400,
                            rc_error(*UNKNOWN_USER_ADD))
            self.assertBody(self.add({"username": "nobody-here", "roleId": "nope"}, user="bob"), 400,
                            rc_error(*UNKNOWN_USER_ADD))
            self.assertBody(self.add({"username": username, "roomId": "GENERAL"}, user="bob"), 400, NO_ROLE_ID)
            self.assertBody(self.add({"username": username, "roleId": "nope", "roomId": "GENERAL"}, user="bob"),
                            400, ROLE_NOT_FOUND)
            self.assertBody(self.add({"username": username, "roleId": "user", "roomId": "GENERAL"}, user="bob"),
                            400, rc_error("User already in role", "error-user-already-in-role"))
            self.assertBody(self.add({"username": username, "roleId": role["id"], "roomId": "GENERAL"},
                                     user="bob"), 400, NOT_ALLOWED)
            self.assertBody(self.add({"username": username, "roleId": "admin", "roomId": "GENERAL"},
                                     user="bob"), 400, NOT_ALLOWED)
            # alice: the same order down to the room
            self.assertBody(self.add({"username": "nobody-here", "roleId": "nope"}), 400,
                            rc_error(*UNKNOWN_USER_ADD))
            self.assertBody(self.add({"username": username, "roleId": "nope"}), 400, ROLE_NOT_FOUND)
            self.assertBody(self.add({"username": username, "roleId": "user", "roomId": "GENERAL"}), 400,
                            rc_error("User already in role", "error-user-already-in-role"))


class RemoveUserFromRole(RocketChatLifecycleCase):

    def remove(self, body, user="alice"):
        return self.post("roles.removeUserFromRole", body, user)

    def test_remove(self):
        role = self.new_role()
        username, _ = self.new_user(roles=["user", role["name"]])
        self.assertRoleAnswer(self.remove({"username": username, "roleId": role["id"]}), role)
        self.assertEqual(self.held(username), ["user"])
        # a room changes nothing: memberships are the workspace's
        self.assertRoleAnswer(self.remove({"username": username, "roleId": "user", "scope": "GENERAL",
                                           "roomId": None}), self.get_role(id="user")[1])
        self.assertEqual(self.held(username), [])

    def test_invalid_params(self):
        for body, message in (({}, "must have required property 'username'"),
                              ({"username": "bob", "roleId": "user", "roleName": "user"},
                               "must NOT have additional properties"),
                              ({"username": {}, "roleId": "user"}, "must be string"),
                              ({"username": "bob", "roleId": "user", "scope": ["x"]}, "must be string"),
                              ("[1]", "must be object")):
            with self.subTest(body=body), self.nothing_committed():
                self.assertBody(self.remove(body), 400, params_error(message))

    def test_no_role_id(self):
        with self.nothing_committed():
            # before the user is looked at
            self.assertBody(self.remove({"username": "nobody-here"}), 400, NO_ROLE_ID)

    def test_unknown_user(self):
        with self.nothing_committed():
            self.assertBody(self.remove({"username": "nobody-here", "roleId": "nope"}), 400,
                            rc_error("There is no user with this username", "error-invalid-user"))

    def test_unknown_role(self):
        username, _ = self.new_user()
        role = self.new_role()
        with self.nothing_committed():
            for rid in ("nope", role["name"]):
                self.assertBody(self.remove({"username": username, "roleId": rid}), 400, NO_SUCH_ROLE)

    def test_not_held(self):
        username, _ = self.new_user()
        with self.nothing_committed():
            self.assertBody(self.remove({"username": username, "roleId": "bot"}), 400,
                            rc_error("User is not in this role", "error-user-not-in-role"))

    def test_forbidden(self):
        username, _ = self.new_user()
        with self.nothing_committed():
            self.assertBody(self.remove({"username": username, "roleId": "user"}, user="bob"), 403, FORBIDDEN_403)
            # the permission before roleId, user and role
            self.assertBody(self.remove({"username": "nobody-here"}, user="bob"), 403, FORBIDDEN_403)
            # the body before it
            self.assertBody(self.remove({}, user="bob"), 400, params_error("must have required property 'username'"))
        self.assertEqual(self.held(username), ["user"])

    def test_login(self):
        with self.nothing_committed():
            self.assertBody(self.remove({"username": "bob", "roleId": "user"}, user=None), 401, RC_401)
            self.assertBody(self.remove("{", user={"X-User-Id": "x", "X-Auth-Token": "y"}), 401, RC_401)


class LastAdmin(RocketChatLifecycleCase):
    """The workspace keeps one admin (alice, provisioned, is the only one)."""

    def test_last_admin(self):
        admins = self.rpc_ok("member.list", {"org": WS, "id": "admin"})
        self.assertEqual([u["username"] for u in admins["users"]], ["alice"])
        with self.nothing_committed():
            self.assertBody(self.post("roles.removeUserFromRole", {"username": "alice", "roleId": "admin"}),
                            400, rc_error("You need to have at least one admin", "error-admin-required"))
        username, _ = self.new_user()
        self.assertRoleAnswer(self.post("roles.addUserToRole", {"username": username, "roleId": "admin"}),
                              self.get_role(id="admin")[1])
        # two admins: either may go, then the other is the last
        self.assertRoleAnswer(self.post("roles.removeUserFromRole", {"username": "alice", "roleId": "admin"}),
                              self.get_role(id="admin")[1])
        with self.nothing_committed():
            r = self.post("roles.removeUserFromRole", {"username": username, "roleId": "admin"}, user="alice")
            # alice is no admin any more: the route's permission comes first
            self.assertBody(r, 403, FORBIDDEN_403)
        r = self.post("roles.removeUserFromRole", {"username": username, "roleId": "admin"},
                      user=self.manager_headers())
        self.assertBody(r, 400, rc_error("You need to have at least one admin", "error-admin-required"))

    def manager_headers(self):
        """A user whose role grants access-permissions, not admin."""
        keeper = self.new_role(permissions=["access-permissions"])
        _, h = self.new_user(roles=[keeper["name"]])
        return h


class GetUsersInRole(RocketChatLifecycleCase):

    def test_users_by_username(self):
        role = self.new_role()
        made = {}
        for display in ("Zed", None, "Émile"):
            username, h = self.new_user(roles=[role["name"]], name=display)
            made[username] = (h["X-User-Id"], display)
        before = self.rpc_ok("member.list", {"org": WS, "id": role["id"]})["users"]
        r = self.get("?role=" + role["id"])
        body = self.check_json(r, 200)
        self.assertEqual(body["total"], 3, str(r))
        self.assertIs(body["success"], True)
        self.assertEqual([u["username"] for u in body["users"]], sorted(made), str(r))
        by_name = {u["username"]: u for u in before}
        for u in body["users"]:
            uid, display = made[u["username"]]
            want = {"_id": uid, "username": u["username"],
                    "createdAt": iso(by_name[u["username"]]["created_at"]),
                    "_updatedAt": iso(by_name[u["username"]]["created_at"])}
            if display is not None:
                want["name"] = display
            self.assertEqual(u, want, str(r))
        # by name too
        self.assertEqual(self.check_json(self.get("?role=" + role["name"]), 200), body)

    def test_paging(self):
        role = self.new_role()
        names = sorted(self.new_user(roles=[role["name"]])[0] for _ in range(105))
        for query, want in (("", names[:50]), ("&count=0", names[:50]), ("&count=100", names[:100]),
                            ("&count=1000", names[:100]), ("&offset=100", names[100:]),
                            ("&offset=10&count=5", names[10:15]), ("&offset=500", [])):
            with self.subTest(query=query):
                body = self.check_json(self.get("?role=%s%s" % (role["id"], query)), 200)
                self.assertEqual([u["username"] for u in body["users"]], want)
                self.assertEqual(body["total"], 105)

    def test_builtin_and_empty(self):
        body = self.check_json(self.get("?role=admin"), 200)
        self.assertIn("alice", [u["username"] for u in body["users"]])
        role = self.new_role()
        self.assertBody(self.get("?role=" + role["id"]), 200, {"users": [], "total": 0, "success": True})

    def test_role_required(self):
        for q in ("", "?role=", "?offset=0", "?count=5"):
            with self.subTest(query=q):
                self.assertBody(self.get(q), 400,
                                rc_error('Query param "role" is required', "error-param-not-provided"))

    def test_unknown_role(self):
        for role in ("no-such-role", "%FF", "a%00b", "admin+"):
            with self.subTest(role=role):
                self.assertBody(self.get("?role=" + role), 400, rc_error(None, "error-invalid-roleId"))

    def test_bad_paging(self):
        for q, message in (("&count=abc", "must be integer"), ("&offset=1.5", "must be integer"),
                           ("&offset=-1", "must be >= 0"), ("&count=-5", "must be >= 0")):
            with self.subTest(query=q):
                self.assertBody(self.get("?role=admin" + q), 400, params_error(message))

    def test_forbidden(self):
        for q in ("?role=admin", "", "?role=no-such-role&count=x"):
            with self.subTest(query=q):
                self.assertBody(self.get(q, user="bob"), 403, FORBIDDEN_403)

    def test_login(self):
        self.assertBody(self.get("?role=admin", user=None), 401, RC_401)
        self.assertBody(self.get("", user={"X-User-Id": "x", "X-Auth-Token": "y"}), 401, RC_401)

    def test_head(self):
        r = self.call("HEAD", "/api/v1/roles.getUsersInRole?role=admin", None, self.rc_auth())
        self.assertEqual(r.status, 200, str(r))


class Routing(RocketChatLifecycleCase):

    def test_methods(self):
        for method, path, allow in (("GET", "/api/v1/roles.update", "POST"),
                                    ("GET", "/api/v1/roles.delete", "POST"),
                                    ("PUT", "/api/v1/roles.addUserToRole", "POST"),
                                    ("DELETE", "/api/v1/roles.removeUserFromRole", "POST"),
                                    ("POST", "/api/v1/roles.getUsersInRole", "GET, HEAD")):
            with self.subTest(method=method, path=path):
                r = self.call(method, path, None, self.rc_auth())
                self.assertRCDialect(r, 405)
                self.assertEqual(r.header("Allow"), allow)


if __name__ == "__main__":
    main()
