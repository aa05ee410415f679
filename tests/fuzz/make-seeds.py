#!/usr/bin/python3
"""make-seeds.py: (re)writes the seed corpora in tests/fuzz/corpus/.

    make-seeds.py BUILD_DIR

1. Records real traffic: starts the built rolesd on a temporary database
   behind a recording proxy and runs the built rolesctl through it (status,
   org/key/user provisioning, role create/list/get, permissions); every
   client-to-daemon byte stream becomes a fuzz-dispatch seed (and, with a
   control byte in front, a fuzz-frame seed).
2. Adds the requests librolesd's REST translation sends, with the
   credentials the fuzz targets make at setup (deterministic; read from
   `fuzz-dispatch` run with ROLESD_FUZZ_PRINT_SETUP=1), so seeds reach the
   authorized paths; and the HTTP requests of the seeds' documents (Partoo
   POST /v2/custom_role, Rocket.Chat POST /api/v1/roles.create) plus their
   GETs and the role lifecycle's requests (update, delete, duplicate,
   members) for the REST fuzzers.
Needs Debian's /usr/bin/python3 with python3-msgpack.
"""
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def save(target, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def req(msgid, method, params):
    return msgpack.packb([0, msgid, method, [params]], use_bin_type=True)


def record(build):
    """Runs rolesctl through a proxy; returns the client byte streams."""
    streams = []
    tmp = tempfile.mkdtemp(prefix="rolesd-seeds-")
    real = os.path.join(tmp, "real.sock")
    front = os.path.join(tmp, "front.sock")
    d = subprocess.Popen([os.path.join(build, "daemon", "rolesd"), "--socket", real,
                          "--db", os.path.join(tmp, "db")], stderr=subprocess.DEVNULL)
    for _ in range(500):
        if os.path.exists(real):
            break
        time.sleep(0.01)
    ls = socket.socket(socket.AF_UNIX)
    ls.bind(front)
    ls.listen(8)

    def pump(a, b, sink):
        while True:
            data = a.recv(65536)
            if not data:
                b.shutdown(socket.SHUT_WR)
                return
            if sink is not None:
                sink.append(data)
            b.sendall(data)

    def serve():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            u = socket.socket(socket.AF_UNIX)
            u.connect(real)
            sink = []
            streams.append(sink)
            threading.Thread(target=pump, args=(c, u, sink), daemon=True).start()
            threading.Thread(target=pump, args=(u, c, None), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    ctl = os.path.join(build, "client", "rolesctl")
    cmds = [["status"], ["--json", "status"],
            ["org", "add", "42", "--name", "Acme", "--provider", "acme"],
            ["key", "add", "--user-role", "ORG_ADMIN", "--org", "42"],
            ["key", "add", "--user-role", "PROVIDER", "--provider", "acme"],
            ["user", "add", "alice", "--role", "admin"],
            ["role", "create", "--org", "42", "--name", "My Custom Role", "--api-id", "my_custom_role",
             "--description", "This Custom Role is just an example for our API documentation",
             "--permission", "business_edit", "--permission", "business_edit_name",
             "--permission", "review_read"],
            ["role", "create", "--org", "0", "--name", "newRole", "--scope", "Subscriptions",
             "--description", "Role description", "--mandatory2fa"],
            ["role", "list", "--org", "42"], ["role", "list"], ["--json", "role", "list", "--org", "0"],
            ["role", "get", "--org", "42", "--api-id", "my_custom_role"],
            ["permissions", "--org", "42"]]
    for c in cmds:
        subprocess.run([ctl, "--socket", front] + c, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)
    time.sleep(0.2)
    ls.close()
    d.terminate()
    d.wait(30)
    subprocess.run(["rm", "-rf", tmp])
    return [b"".join(s) for s in streams if s]


def setup_credentials(build):
    out = subprocess.run([os.path.join(build, "tests", "fuzz", "fuzz-dispatch"), "-runs=0"],
                         env=dict(os.environ, ROLESD_FUZZ_PRINT_SETUP="1"),
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[0])


def generated(k):
    a_admin = {"api_key": k["key_org_admin"]}
    a_prov = {"api_key": k["key_provider"]}
    a_pub = {"api_key": k["key_publisher"]}
    a_rc = {"user_id": k["admin_user_id"], "token": k["admin_token"]}
    a_bob = {"user_id": k["plain_user_id"], "token": k["plain_token"]}
    perms = ["business_edit", "business_edit_name", "review_read"]
    reqs = [
        ("role.create", {"auth": a_admin, "name": "My Custom Role", "api_id": "my_custom_role",
                         "description": "This Custom Role is just an example", "permissions": perms}),
        ("role.create", {"auth": a_admin, "org": 1, "name": "x", "permissions": []}),
        ("role.create", {"auth": a_admin, "org": 2, "name": "other org"}),
        ("role.create", {"auth": a_prov, "org": 2, "name": "by provider", "api_id": "p"}),
        ("role.create", {"auth": a_prov, "org": 3, "name": "wrong provider"}),
        ("role.create", {"auth": a_prov, "name": "no org"}),
        ("role.create", {"auth": a_pub, "org": 1, "name": "publisher"}),
        ("role.create", {"auth": a_rc, "org": 0, "name": "newRole", "scope": "Subscriptions",
                         "description": "Role description", "mandatory2fa": False}),
        ("role.create", {"auth": a_rc, "name": "admin"}),
        ("role.create", {"auth": a_bob, "name": "not allowed"}),
        ("role.create", {"org": 1, "name": "ORG_ADMIN"}),
        ("role.create", {"org": 0, "name": "existing-rc", "api_id": "existing-rc"}),
        ("role.create", {"org": 1, "name": "Existing", "api_id": "fresh"}),
        ("role.get", {"auth": a_admin, "api_id": "existing"}),
        ("role.get", {"auth": a_rc, "org": 0, "name": "admin"}),
        ("role.get", {"org": 1, "id": "1-ORG_ADMIN"}),
        ("role.list", {"auth": a_admin, "page": 1, "per_page": 2}),
        ("role.list", {"org": 1, "after": "2.3", "per_page": 2}),
        ("role.list", {"auth": a_rc, "org": 0, "per_page": 100}),
        ("permission.catalog", {"auth": a_admin}),
        ("permission.catalog", {"org": 0}),
        ("auth.check", {"auth": a_admin, "org": 1, "access": "create"}),
        ("auth.check", {"auth": a_prov, "org": 3, "access": "read"}),
        ("auth.check", {"auth": a_rc}),
        ("org.add", {"id": 77, "name": "n", "provider": "acme"}),
        ("key.add", {"user_role": "ORG_ADMIN", "org": 1}),
        ("user.add", {"username": "carol", "roles": ["user", "admin"]}),
        ("server.status", {}),
        # the lifecycle
        ("role.update", {"auth": a_admin, "api_id": "existing",
                         "set": {"name": "Renamed", "api_id": "renamed", "description": "d",
                                 "permissions": perms, "scope": "Subscriptions", "mandatory2fa": True}}),
        ("role.update", {"org": 1, "name": "Existing", "set": {"description": "x"}, "if_revision": 9}),
        ("role.update", {"org": 0, "name": "moderator", "set": {"name": "mod"}}),
        ("role.update", {"auth": a_rc, "name": "existing-rc", "set": {"name": "renamed-rc", "api_id": "renamed-rc"}}),
        ("role.update", {"org": 1, "name": "ORG_ADMIN", "set": {"description": "no"}}),
        ("role.update", {"org": 1, "name": "Existing", "set": {}}),
        ("role.delete", {"org": 1, "api_id": "existing"}),
        ("role.delete", {"auth": a_admin, "api_id": "existing", "force": True, "if_revision": 0}),
        ("role.delete", {"auth": a_rc, "id": "admin"}),
        ("role.delete", {"auth": a_bob, "name": "existing-rc"}),
        ("role.duplicate", {"auth": a_admin, "name": "Existing"}),
        ("role.duplicate", {"org": 0, "name": "admin"}),
        ("role.duplicate", {"auth": a_prov, "org": 2, "name": "ORG_ADMIN"}),
        ("member.add", {"auth": a_admin, "api_id": "existing", "user": "dora"}),
        ("member.add", {"org": 1, "api_id": "existing", "user": "carl"}),
        ("member.add", {"auth": a_rc, "name": "admin", "user": "bob"}),
        ("member.add", {"auth": a_bob, "name": "guest", "user": "bob"}),
        ("member.add", {"org": 1, "name": "Existing", "user": "nobody"}),
        ("member.remove", {"org": 1, "api_id": "existing", "user": "carl"}),
        ("member.remove", {"org": 0, "name": "admin", "user": "alice"}),
        ("member.remove", {"auth": a_rc, "name": "existing-rc", "user": "bob"}),
        ("member.list", {"auth": a_pub, "api_id": "existing", "count": 10}),
        ("member.list", {"org": 1, "api_id": "existing", "after": "carl", "count": 100}),
        ("member.list", {"org": 0, "name": "admin", "offset": 1}),
        ("user.roles", {"auth": a_pub, "user": "carl"}),
        ("user.roles", {"org": 0, "user": "alice"}),
        ("access.check", {"auth": a_pub, "user": "carl", "permission": "review_read"}),
        ("access.check", {"org": 0, "user": "alice", "permission": "access-permissions"}),
        ("access.check", {"org": 0, "user": "nobody", "permission": "nope"}),
        ("auth.check", {"auth": a_rc, "access": "assign-admin"}),
        ("auth.check", {"auth": a_bob, "access": "read-members"}),
        ("auth.check", {"auth": a_pub, "access": "members"}),
        ("org.list", {"offset": 1, "count": 2}),
        ("user.list", {"org": 1, "count": 1}),
        ("user.list", {"org": 1, "after": "carl"}),
        ("user.remove", {"org": 1, "user": "dora"}),
        ("user.remove", {"org": 0, "user": "alice"}),
        ("user.add", {"username": "erin", "org": 1, "name": "Erin", "roles": ["existing"]}),
        ("key.list", {"org": 1}),
        ("key.list", {"provider": "acme"}),
        ("key.revoke", {"key_id": k["key_publisher"][:16]}),
        ("key.revoke", {"key_id": "0000000000000000"}),
        # the change feed, audit, backup, export and import
        ("changes.list", {}),
        ("changes.list", {"after": 1, "limit": 2, "org": 1}),
        ("changes.list", {"after": 99999}),
        ("changes.watch", {"after": 0, "org": 1}),
        ("changes.watch", {}),
        ("changes.unwatch", {"watch": 1}),
        ("changes.unwatch", {"watch": 7}),
        ("role.sync", {"auth": a_rc, "since": 0}),
        ("role.sync", {"org": 1, "since": 1700000000000}),
        ("db.backup", {}),
        ("db.export", {"limit": 3}),
        ("db.export", {"org": 1, "after": "1:u:0:6361726c"}),
        ("db.export", {"after": "0:m:2:"}),
        ("db.import", {"dry_run": True, "records": [
            {"type": "org", "id": 5, "name": "five", "provider": None},
            {"type": "role", "id": "0123456789abcdef01234567", "org": 5, "api_id": "imp", "name": "imp",
             "description": None, "scope": "Users", "permissions": ["review_read"], "mandatory2fa": False,
             "protected": False, "created_at": 1, "updated_at": 2, "revision": 3},
            {"type": "user", "id": "imported-user-0001", "org": 5, "username": "ivy", "name": None,
             "created_at": 4},
            {"type": "member", "org": 5, "role": "0123456789abcdef01234567", "user": "ivy"}]}),
        ("db.import", {"records": [{"type": "org", "id": 1, "name": "other"}]}),
        ("db.import", {"records": [{"type": "role", "id": "1-ORG_ADMIN", "org": 1, "api_id": "ORG_ADMIN",
                                    "name": "ORG_ADMIN", "description": "changed", "scope": "Users",
                                    "permissions": [], "mandatory2fa": False, "protected": True,
                                    "created_at": 0, "updated_at": 0, "revision": 0}]}),
        ("db.import", {"records": [{"type": "member", "org": 1, "role": "1-ORG_ADMIN", "user": "carl"},
                                   {"type": "nothing"}]}),
    ]
    out = [req(i + 1, m, p) for i, (m, p) in enumerate(reqs)]
    # a pipelined stream, a notification, a response frame, an unknown method
    out.append(b"".join(out[:6]))
    # a lifecycle in one stream: reads behind writes, writes behind writes
    life = [m for m in reqs if m[0].startswith(("role.update", "role.delete", "role.duplicate", "member.",
                                                 "user.roles", "access.check"))]
    out.append(b"".join(req(100 + i, m, p) for i, (m, p) in enumerate(life)))
    out.append(msgpack.packb([2, "role.create", [{"org": 1, "name": "notified"}]]))
    out.append(msgpack.packb([1, 5, None, {}]))
    out.append(req(9, "no.such", {}))
    return out


def rest_seeds(k):
    j = json.dumps
    partoo = [
        ("POST", "/custom_role", {"x-APIKey": k["key_org_admin"], "Content-Type": "application/json"},
         j({"name": "My Custom Role", "api_id": "my_custom_role",
            "description": "This Custom Role is just an example for our API documentation",
            "permissions": ["business_edit", "business_edit_name", "review_read"], "org_id": 1})),
        ("POST", "/custom_role?org_id=2", {"x-APIKey": k["key_provider"]}, j({"name": "r", "org_id": 2})),
        ("POST", "/custom_role?org_id=1", {"x-APIKey": k["key_org_admin"]}, j({"name": "r", "org_id": 2})),
        ("POST", "/custom_role", {"x-APIKey": k["key_provider"]}, j({"name": "needs org"})),
        ("POST", "/custom_role", {"x-APIKey": k["key_publisher"]}, j({"name": "n"})),
        ("POST", "/custom_role", {"x-APIKey": "wrong"}, j({"name": "n"})),
        ("POST", "/custom_role", {"x-APIKey": k["key_org_admin"]}, "{not json"),
        ("POST", "/custom_role", {"x-APIKey": k["key_org_admin"]}, j({"name": "ORG_ADMIN"})),
        ("GET", "/custom_role?page=1&per_page=2", {"x-APIKey": k["key_org_admin"]}, ""),
        ("GET", "/custom_role/existing", {"x-APIKey": k["key_org_admin"]}, ""),
        ("GET", "/custom_role/my%20role?org_id=1", {"x-APIKey": k["key_provider"]}, ""),
        ("GET", "/permissions?org_id=2", {"x-APIKey": k["key_provider"]}, ""),
        ("DELETE", "/custom_role", {"x-APIKey": k["key_org_admin"]}, ""),
        ("GET", "/nowhere", {}, ""),
        # the lifecycle: org 1's role "existing" is held by carl
        ("PUT", "/custom_role/existing", {"x-APIKey": k["key_org_admin"], "Content-Type": "application/json"},
         j({"description": "changed", "permissions": ["review_read", "business_edit"]})),
        ("PUT", "/custom_role/existing?org_id=1", {"x-APIKey": k["key_provider"]},
         j({"name": "Renamed", "api_id": "renamed", "org_id": 1})),
        ("PUT", "/custom_role/ORG_ADMIN", {"x-APIKey": k["key_org_admin"]}, j({"description": "x"})),
        ("PUT", "/custom_role/nope", {"x-APIKey": k["key_org_admin"]}, j({"org_id": 1})),
        ("PUT", "/custom_role/existing", {"x-APIKey": k["key_publisher"]}, j({"permissions": ["nope"]})),
        ("PUT", "/custom_role/existing", {"x-APIKey": k["key_org_admin"]}, "{not json"),
        ("DELETE", "/custom_role/existing", {"x-APIKey": k["key_org_admin"]}, ""),
        ("DELETE", "/custom_role/nope?org_id=1", {"x-APIKey": k["key_provider"]}, ""),
        ("DELETE", "/custom_role/ORG_ADMIN?org_id=3", {"x-APIKey": k["key_org_admin"]}, ""),
        ("POST", "/custom_role/duplicate?custom_role_api_id=existing", {"x-APIKey": k["key_org_admin"]}, ""),
        ("POST", "/custom_role/duplicate?custom_role_api_id=existing&org_id=1", {"x-APIKey": k["key_provider"]},
         ""),
        ("POST", "/custom_role/duplicate?custom_role_api_id=ORG_ADMIN", {"x-APIKey": k["key_org_admin"]}, ""),
        ("POST", "/custom_role/duplicate", {"x-APIKey": k["key_org_admin"]}, j({"custom_role_api_id": "x"})),
        ("GET", "/custom_role/duplicate", {"x-APIKey": k["key_org_admin"]}, ""),
    ]
    rc_auth = {"X-User-Id": k["admin_user_id"], "X-Auth-Token": k["admin_token"],
               "Content-Type": "application/json"}
    bob_auth = {"X-User-Id": k["plain_user_id"], "X-Auth-Token": k["plain_token"],
                "Content-Type": "application/json"}
    rocket = [
        ("POST", "/roles.create", rc_auth, j({"name": "newRole", "scope": "Subscriptions",
                                               "description": "Role description", "mandatory2fa": False})),
        ("POST", "/roles.create", rc_auth, j({"name": 12, "mandatory2fa": "false", "description": None})),
        ("POST", "/roles.create", rc_auth, j({"name": "admin"})),
        ("POST", "/roles.create", rc_auth, j({"name": "x", "extra": 1})),
        ("POST", "/roles.create", rc_auth, "[1,2"),
        ("POST", "/roles.create", {"X-User-Id": k["plain_user_id"], "X-Auth-Token": k["plain_token"]},
         j({"name": "y"})),
        ("POST", "/roles.create", {"X-User-Id": "nobody", "X-Auth-Token": "x"}, j({"name": "z"})),
        ("GET", "/roles.list", rc_auth, ""),
        ("PUT", "/roles.create", rc_auth, ""),
        ("GET", "/nowhere", {}, ""),
        # the lifecycle: bob holds user and existing-rc; alice is the only admin
        ("POST", "/roles.update", rc_auth, j({"roleId": "bot", "name": "bot", "description": "d",
                                               "mandatory2fa": "true"})),
        ("POST", "/roles.update", rc_auth, j({"roleId": "admin", "name": "boss", "scope": None})),
        ("POST", "/roles.update", bob_auth, j({"roleId": "nope", "name": 12})),
        ("POST", "/roles.delete", rc_auth, j({"roleId": "existing-rc"})),
        ("POST", "/roles.delete", rc_auth, j({"roleId": "admin"})),
        ("POST", "/roles.delete", bob_auth, j({})),
        ("POST", "/roles.addUserToRole", rc_auth, j({"username": "bob", "roleId": "bot"})),
        ("POST", "/roles.addUserToRole", rc_auth, j({"username": "bob", "roleId": "admin", "roomId": "GENERAL"})),
        ("POST", "/roles.addUserToRole", bob_auth, j({"username": "alice", "roleId": "user"})),
        ("POST", "/roles.addUserToRole", rc_auth, j({"username": "nobody", "roleName": "bot"})),
        ("POST", "/roles.removeUserFromRole", rc_auth, j({"username": "bob", "roleId": "user", "scope": "x"})),
        ("POST", "/roles.removeUserFromRole", rc_auth, j({"username": "alice", "roleId": "admin"})),
        ("POST", "/roles.removeUserFromRole", bob_auth, j({"username": "bob"})),
        ("GET", "/roles.getUsersInRole?role=existing-rc&offset=0&count=5", rc_auth, ""),
        ("GET", "/roles.getUsersInRole?role=admin&count=1000", rc_auth, ""),
        ("GET", "/roles.getUsersInRole?count=x", bob_auth, ""),
        ("GET", "/roles.getUsersInRole?role=%FF", rc_auth, ""),
    ]
    def http(m, path, headers, body):
        head = "%s %s\n" % (m, path) + "".join("%s: %s\n" % kv for kv in headers.items()) + "\n"
        return (head + body).encode()
    return [http(*r) for r in partoo], [http(*r) for r in rocket]


def main():
    build = os.path.abspath(sys.argv[1])
    k = setup_credentials(build)
    streams = record(build) + generated(k)
    for s in streams:
        save("fuzz-dispatch", s)
        save("fuzz-frame", b"\x08" + s)
    for ctl in (0x01, 0x05, 0x13, 0x27):
        save("fuzz-frame", bytes([ctl]) + streams[0][:64])
    save("fuzz-frame", b"\x08" + b"\x91" * 17 + b"\xc0")          # too deep
    save("fuzz-frame", b"\x08\xdd\xff\xff\xff\xff")                  # huge array header
    save("fuzz-frame", b"\x08\x94\x00\x01\xc1")                      # malformed
    p, r = rest_seeds(k)
    for s in p:
        save("fuzz-rest-partoo", s)
    for s in r:
        save("fuzz-rest-rocketchat", s)
    print("seeds: %d recorded streams, %d files" % (
        len(streams), sum(len(fs) for _, _, fs in os.walk(CORPUS))))


if __name__ == "__main__":
    main()
