"""storewalk.py: a consistency walk over every index of a rolesd database
(schema version 2, daemon/store.h), from outside the daemon.

Opens the LMDB environment read-only with python3-lmdb (while the daemon
runs or after it died), reads every named database once, and checks that
records and indexes agree both ways:

  - every role record decodes to a role map of its organization, and has
    its role_meta (org, seq), its role_seq, role_api and role_name entries
    and its ACL (api_id and permissions as the record says);
  - every index entry (role_api, role_name, role_seq, role_meta, role_acl,
    role_buckets, usernames, role_members, user_roles) leads to a record
    that says what the entry says (no index entry without its record);
  - counts hold: meta "roles", each organization's count, next_seq and
    users, each bucket's live roles, each role's members;
  - memberships are whole: each role_members entry has its user_roles
    twin and the other way round, between a user and a role of the same
    organization (so no membership of a deleted role or user);
  - no role's revision is above the database's;
  - the change log: every record decodes to {revision, time, op, kind,
    org, id, before?, after?, principal} under its own revision, the
    revisions are contiguous up to the database's, times never go back,
    no record holds a secret, and changes_org indexes exactly the records;
  - the log and the data agree: every role whose revision the log still
    covers has that revision's record (its own, or its organization's
    creation for a Partoo built-in), and the last record of each role,
    user and key the log names says what the data holds (created or
    updated: it is there, a role as the record's after; deleted: it is
    gone), so no record is without its change and no change without its
    record.

    report = walk(db_dir)
    report.problems   # [str], empty when consistent
    report.counts     # {"roles": n, "users": n, "members": n, ...}

WalkedTestCase: a harness.DaemonTestCase whose tests end with the walk.
"""

import hashlib
import struct

import lmdb
import msgpack

from harness import DaemonTestCase

MAXKEY = 511                    # LMDB's default key limit (the store's key space)
BUCKET_SHIFT = 10
ROLE_KEYS = {"id", "org", "api_id", "name", "description", "scope", "permissions",
             "mandatory2fa", "protected", "created_at", "updated_at", "revision"}
DBS = ("meta", "orgs", "roles", "role_meta", "role_acl", "role_api", "role_name", "role_seq",
       "role_buckets", "catalogs", "perms", "keys", "users", "usernames", "role_members",
       "user_roles", "changes", "changes_org")


class Report:
    def __init__(self):
        self.problems = []
        self.counts = {}

    def bad(self, fmt, *args):
        if len(self.problems) < 200:
            self.problems.append(fmt % args if args else fmt)

    def __bool__(self):
        return not self.problems

    def __repr__(self):
        return "Report(%d problems%s, %r)" % (len(self.problems),
                                              (": " + "; ".join(self.problems[:5])) if self.problems else "",
                                              self.counts)


def u64(b):
    return struct.unpack(">Q", b)[0]


def index_key(org, text):
    """store_key_index(): org | text, or org | 0xff | BLAKE2b-256(text) past the key limit."""
    t = text.encode()
    head = struct.pack(">Q", org)
    if len(head) + len(t) <= MAXKEY:
        return head + t
    return head + b"\xff" + hashlib.blake2b(t, digest_size=32).digest()


def unpack(v):
    return msgpack.unpackb(v, raw=False, strict_map_key=False)


def acl_decode(v):
    """A role_acl value: u32 api_len | api_id | u32 n | u32 end[n] | names,
    the names sorted (bytes, then length). (api_id, [names])."""
    if len(v) < 8:
        raise ValueError("truncated")
    api_len = struct.unpack(">I", v[:4])[0]
    api_id = v[4:4 + api_len]
    if len(api_id) != api_len or len(v) < 8 + api_len:
        raise ValueError("truncated api_id")
    n = struct.unpack(">I", v[4 + api_len:8 + api_len])[0]
    ends = struct.unpack(">%dI" % n, v[8 + api_len:8 + api_len + 4 * n])
    names_area = v[8 + api_len + 4 * n:]
    names, start = [], 0
    for end in ends:
        if end < start or end > len(names_area):
            raise ValueError("bad offsets")
        names.append(names_area[start:end])
        start = end
    if start != len(names_area):
        raise ValueError("names past the last offset")
    if names != sorted(names):
        raise ValueError("names not sorted")
    return api_id.decode(), [x.decode() for x in names]


def records(r, items, what):
    """(key as text, decoded record) of each (key, value) that decodes;
    the others are problems."""
    for k, v in items:
        try:
            yield k.decode(), unpack(v)
        except Exception as e:
            r.bad("%s %r: record does not decode (%s)", what, k, e)


def read_all(db_dir):
    env = lmdb.open(db_dir, readonly=True, max_dbs=32, subdir=True, lock=True)
    try:
        data = {}
        with env.begin() as txn:
            for name in DBS:
                try:
                    db = env.open_db(name.encode(), txn=txn, create=False)
                except lmdb.NotFoundError:
                    data[name] = None
                    continue
                data[name] = dict(txn.cursor(db=db))
        return data
    finally:
        env.close()


def walk(db_dir):
    r = Report()
    d = read_all(db_dir)
    for name in DBS:
        if d[name] is None:
            r.bad("named database %s is missing", name)
            return r

    meta = {k.decode(): u64(v) for k, v in d["meta"].items()}
    if meta.get("version") != 2:
        r.bad("schema version %r, not 2", meta.get("version"))
    revision = meta.get("revision", 0)

    orgs = {}
    for k, v in d["orgs"].items():
        o = unpack(v)
        if u64(k) != o.get("id"):
            r.bad("org record %d says id %r", u64(k), o.get("id"))
        orgs[u64(k)] = o

    # roles and what they promise
    roles = {}
    role_of_seq = {}
    for rid, role in records(r, d["roles"].items(), "role"):
        k = rid.encode()
        if not isinstance(role, dict) or set(role) != ROLE_KEYS:
            r.bad("role %s: keys %r", rid, sorted(role) if isinstance(role, dict) else role)
            continue
        if role["id"] != rid:
            r.bad("role %s: record says id %r", rid, role["id"])
        roles[rid] = role
        if role["org"] not in orgs:
            r.bad("role %s of unknown org %d", rid, role["org"])
        if role["revision"] > revision:
            r.bad("role %s at revision %d, above the database's %d", rid, role["revision"], revision)
        m = d["role_meta"].get(k)
        if m is None or len(m) != 24:
            r.bad("role %s without its role_meta", rid)
            continue
        org, seq, _ = struct.unpack(">QQQ", m)
        if org != role["org"]:
            r.bad("role %s: role_meta org %d, record %d", rid, org, role["org"])
        role_of_seq[(org, seq)] = rid
        if d["role_seq"].get(struct.pack(">QQ", org, seq)) != k:
            r.bad("role %s: no role_seq entry (%d, %d)", rid, org, seq)
        for dbn, field in (("role_api", "api_id"), ("role_name", "name")):
            if d[dbn].get(index_key(org, role[field])) != k:
                r.bad("role %s: no %s entry for %r", rid, dbn, role[field])
        acl = d["role_acl"].get(k)
        try:
            api_id, perms = acl_decode(acl) if acl is not None else (None, None)
        except ValueError as e:
            r.bad("role %s: ACL does not decode (%s)", rid, e)
            continue
        if api_id != role["api_id"] or perms != sorted(role["permissions"], key=lambda p: p.encode()):
            r.bad("role %s: ACL (%r, %r) differs from the record (%r, %r)", rid, api_id, perms,
                  role["api_id"], role["permissions"])

    # index entries lead to records that say the same
    for k, v in d["role_meta"].items():
        if k.decode() not in roles:
            r.bad("role_meta of a role without its record: %s", k.decode())
    for k, v in d["role_acl"].items():
        if k.decode() not in roles:
            r.bad("role_acl of a role without its record: %s", k.decode())
    for dbn, field in (("role_api", "api_id"), ("role_name", "name")):
        for k, v in d[dbn].items():
            role = roles.get(v.decode())
            if role is None:
                r.bad("%s entry without its record: -> %s", dbn, v.decode())
            elif index_key(role["org"], role[field]) != k:
                r.bad("%s entry %r leads to role %s whose %s is %r", dbn, k, role["id"], field, role[field])
    per_org = {}
    buckets = {}
    for k, v in d["role_seq"].items():
        org, seq = struct.unpack(">QQ", k)
        if role_of_seq.get((org, seq)) != v.decode():
            r.bad("role_seq (%d, %d) -> %s, which is not that role", org, seq, v.decode())
        per_org.setdefault(org, []).append(seq)
        buckets[(org, seq >> BUCKET_SHIFT)] = buckets.get((org, seq >> BUCKET_SHIFT), 0) + 1
    stored_buckets = {struct.unpack(">QQ", k): u64(v) for k, v in d["role_buckets"].items()}
    if stored_buckets != buckets:
        wrong = sorted(set(stored_buckets.items()) ^ set(buckets.items()))[:5]
        r.bad("role_buckets disagree with role_seq: %r", wrong)

    if meta.get("roles", 0) != len(roles):
        r.bad("meta roles %d, %d role records", meta.get("roles", 0), len(roles))
    for oid, o in orgs.items():
        seqs = per_org.get(oid, [])
        if o.get("count") != len(seqs):
            r.bad("org %d: count %r, %d roles listed", oid, o.get("count"), len(seqs))
        if seqs and o.get("next_seq", 0) <= max(seqs):
            r.bad("org %d: next_seq %r not past %d", oid, o.get("next_seq"), max(seqs))

    # users
    users = {}
    users_per_org = {}
    for uid, u in records(r, d["users"].items(), "user"):
        k = uid.encode()
        users[uid] = u
        if u.get("org") not in orgs:
            r.bad("user %s of unknown org %r", uid, u.get("org"))
            continue
        users_per_org[u["org"]] = users_per_org.get(u["org"], 0) + 1
        if d["usernames"].get(index_key(u["org"], u["username"])) != k:
            r.bad("user %s: no usernames entry for %r", uid, u["username"])
    for k, v in d["usernames"].items():
        u = users.get(v.decode())
        if u is None:
            r.bad("usernames entry without its user: -> %s", v.decode())
        elif index_key(u["org"], u["username"]) != k:
            r.bad("usernames entry %r leads to user %s named %r", k, v.decode(), u["username"])
    for oid, o in orgs.items():
        if o.get("users") != users_per_org.get(oid, 0):
            r.bad("org %d: users %r, %d user records", oid, o.get("users"), users_per_org.get(oid, 0))

    # memberships, both ways
    members = {}
    for k, v in d["role_members"].items():
        org, seq = struct.unpack(">QQ", k[:16])
        username, uid = k[16:].decode(), v.decode()
        rid = role_of_seq.get((org, seq))
        u = users.get(uid)
        if rid is None:
            r.bad("membership of a role that is gone: (%d, %d) %s", org, seq, username)
        if u is None:
            r.bad("membership of a user that is gone: %s (%s)", username, uid)
        elif u["username"] != username or u["org"] != org:
            r.bad("membership %s of (%d, %d) leads to user %s named %r of org %r", username, org, seq,
                  uid, u["username"], u["org"])
        twin = d["user_roles"].get(uid.encode() + b"\0" + struct.pack(">Q", seq))
        if rid is not None and twin != rid.encode():
            r.bad("membership %s of role %s has no user_roles twin", username, rid)
        if rid is not None:
            members[rid] = members.get(rid, 0) + 1
    for k, v in d["user_roles"].items():
        nul = k.find(b"\0")
        if nul <= 0 or len(k) != nul + 9:
            r.bad("user_roles key %r is malformed", k)
            continue
        uid, seq = k[:nul].decode(), u64(k[nul + 1:])
        u = users.get(uid)
        role = roles.get(v.decode())
        if u is None or role is None:
            r.bad("user_roles %s -> %s: user or role gone", uid, v.decode())
            continue
        m = struct.unpack(">QQQ", d["role_meta"][v])
        if m[1] != seq or m[0] != u["org"]:
            r.bad("user_roles %s seq %d -> role %s of (%d, %d)", uid, seq, v.decode(), m[0], m[1])
        if d["role_members"].get(struct.pack(">QQ", m[0], m[1]) + u["username"].encode()) != k[:nul]:
            r.bad("user_roles %s -> %s has no role_members twin", uid, v.decode())
    for rid in roles:
        m = d["role_meta"].get(rid.encode())
        if m is not None and struct.unpack(">QQQ", m)[2] != members.get(rid, 0):
            r.bad("role %s: role_meta members %d, %d memberships", rid, struct.unpack(">QQQ", m)[2],
                  members.get(rid, 0))

    # keys, catalogs
    for kid, key in records(r, d["keys"].items(), "key"):
        if key.get("org") is not None and key["org"] not in orgs:
            r.bad("key %s of unknown org %r", kid, key["org"])
    for k in d["catalogs"]:
        if u64(k) not in orgs:
            r.bad("catalog of unknown org %d", u64(k))

    first = walk_log(r, d, revision, roles, users)

    r.counts = {"roles": len(roles), "users": len(users), "members": len(d["role_members"]),
                "orgs": len(orgs), "keys": len(d["keys"]), "revision": revision,
                "changes": len(d["changes"]), "compacted_revision": first}
    return r


CHANGE_KEYS = ("revision", "time", "op", "kind", "org", "id")
SECRET_KEYS = {"hash", "token", "api_key", "authToken", "secret"}
PRINCIPALS = {"peer": {"kind", "uid", "gid", "pid"}, "api_key": {"kind", "key_id", "user_role"},
              "user": {"kind", "user_id"}}


def secrets_in(obj):
    if isinstance(obj, dict):
        return [k for k in obj if k in SECRET_KEYS] + [s for v in obj.values() for s in secrets_in(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in secrets_in(v)]
    return []


def walk_log(r, d, revision, roles, users):
    """The change log's own checks, then the log against the data. Returns
    compacted_revision (the oldest revision kept, or revision + 1)."""
    log = {}
    prev_rev, prev_time = None, 0
    for k, v in d["changes"].items():
        rev = u64(k)
        try:
            c = unpack(v)
        except Exception as e:
            r.bad("change %d does not decode (%s)", rev, e)
            continue
        if not isinstance(c, dict) or list(c)[:6] != list(CHANGE_KEYS) or \
                set(c) - set(CHANGE_KEYS) - {"before", "after", "principal"} or "principal" not in c:
            r.bad("change %d: keys %r", rev, list(c) if isinstance(c, dict) else c)
            continue
        if c["revision"] != rev:
            r.bad("change %d says revision %r", rev, c["revision"])
        if prev_rev is not None and rev != prev_rev + 1:
            r.bad("change log jumps from %d to %d", prev_rev, rev)
        if c["time"] < prev_time:
            r.bad("change %d: time %d before the previous record's %d", rev, c["time"], prev_time)
        prev_rev, prev_time = rev, c["time"]
        p = c["principal"]
        if not isinstance(p, dict) or PRINCIPALS.get(p.get("kind")) != set(p):
            r.bad("change %d: principal %r", rev, p)
        if secrets_in(c):
            r.bad("change %d holds %r", rev, secrets_in(c))
        if ("before" in c) != (c["op"] in ("update", "delete", "remove")) or \
                ("after" in c) != (c["op"] in ("create", "update", "add")):
            r.bad("change %d: %s with before %s, after %s", rev, c["op"], "before" in c, "after" in c)
        if struct.pack(">QQ", c["org"], rev) not in d["changes_org"]:
            r.bad("change %d has no changes_org entry for org %r", rev, c["org"])
        log[rev] = c
    for k in d["changes_org"]:
        org, rev = struct.unpack(">QQ", k)
        if rev not in log or log[rev]["org"] != org:
            r.bad("changes_org (%d, %d) without its record", org, rev)
    if not log:
        return revision + 1
    first, last = min(log), max(log)
    if last != revision:
        r.bad("the log ends at %d, the database is at %d", last, revision)

    # every role the log covers has its revision's record
    for rid, role in roles.items():
        rev = role["revision"]
        if rev < first or rev == 0:
            continue
        c = log.get(rev)
        if c is None:
            r.bad("role %s at revision %d: no record", rid, rev)
        elif not ((c["kind"] == "role" and c["id"] == rid and c["op"] in ("create", "update")) or
                  (c["kind"] == "org" and c["op"] == "create" and c["org"] == role["org"] and role["protected"])):
            r.bad("role %s at revision %d: the record is %s %s %s", rid, rev, c["op"], c["kind"], c["id"])
    # the last record of each role, user and key says what the data holds
    last_of = {}
    for rev in sorted(log):
        c = log[rev]
        if c["kind"] in ("role", "user", "key"):
            last_of[(c["kind"], c["id"])] = c
    keys = {k.decode() for k in d["keys"]}
    for (kind, ident), c in last_of.items():
        present = ident in (roles if kind == "role" else users if kind == "user" else keys)
        if c["op"] == "delete" and present:
            r.bad("%s %s: deleted at revision %d, still there", kind, ident, c["revision"])
        elif c["op"] != "delete" and not present:
            r.bad("%s %s: %s at revision %d, not there", kind, ident, c["op"], c["revision"])
        elif kind == "role" and present and c["op"] != "delete":
            if roles[ident]["revision"] != c["revision"]:
                r.bad("role %s at revision %d, its last record %d", ident, roles[ident]["revision"],
                      c["revision"])
            elif c.get("after") != roles[ident]:
                r.bad("role %s differs from its last record's after", ident)
    return first


class WalkedTestCase(DaemonTestCase):
    """A DaemonTestCase whose tests each get a connection (self.c) and end
    with the consistency walk of the daemon's store."""

    def setUp(self):
        self.c = self.d.rpc()
        self.addCleanup(self.c.close)

    def tearDown(self):
        report = walk(self.d.db)
        self.assertTrue(report, report)

    def revision(self):
        return self.c.ok("server.status", {})["revision"]
