#!/usr/bin/python3
"""test_crash.py: crash durability under concurrent writers.

CrashDurabilityTest: several clients create roles concurrently and record
every creation the daemon acknowledged; the daemon is killed with SIGKILL
at a random moment, over CYCLES cycles, and restarted on the same
database. After each restart: every acknowledged role is present exactly
once and whole (its record and its three indexes agree: it is found by id,
api_id and name, and listed once); no role appears that was never asked
for; names, api_ids and ids are unique (clients also race for shared
names: at most one creation of each may succeed, and later attempts are
duplicates); the organization's count matches its listing; and mdb_stat
and the consistency walk read the environment cleanly while the daemon is
dead.

LifecycleStormTest: the same kill -9 cycles during a storm of the
lifecycle's writes: each client creates, updates, deletes (with force)
roles, adds and removes members and users, on roles and users of its own
(so the order of its writes is the order they were acknowledged in) and
keeps a model of what it was told. After each restart the database is,
for each client, exactly its model after its acknowledged writes, or after
those and the one write it had in flight: no acknowledged change lost,
nothing half done. mdb_stat and the consistency walk over every index
(tests/lib/storewalk.py) run on the dead daemon's environment: no
membership of a deleted role or user, no index entry without its record.

WatcherCrashTest: the create storm's kill -9 cycles with 10 watchers
attached (changes.watch, each on its own connection). Each cycle, every
watcher resumes from the last revision it saw; at the end, each has
received every revision from the start to the last, exactly once and in
order (no gap, no duplicate across the kills), equal to what changes.list
says, and holding the creation of every role the clients were told was
created; no change of a role that is not there (the walk checks the log
against the data after each kill).

ROLESD_CRASH_CYCLES (default 20) and ROLESD_CRASH_SEED (default: random,
printed) control the run."""

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

import storewalk
from harness import Daemon, RawClient, ConnectionClosed, WAIT, list_all

CYCLES = int(os.environ.get("ROLESD_CRASH_CYCLES", "20"))
CLIENTS = 4
ORG = 7001


class Writer(threading.Thread):
    """One client: creates roles until the connection dies, recording what
    was sent and what was acknowledged."""

    def __init__(self, sock_path, cycle, idx, rng, shared, stop):
        super().__init__(daemon=True)
        self.sock_path, self.cycle, self.idx = sock_path, cycle, idx
        self.rng, self.shared, self.stop = rng, shared, stop
        self.sent = []          # names asked for
        self.acked = {}         # name -> role id the daemon returned
        self.dups = []          # names refused as duplicates
        self.errors = []        # anything else
        self.params_org = ORG

    def run(self):
        try:
            c = RawClient(self.sock_path, timeout=WAIT)
        except OSError:
            return
        n = 0
        try:
            while not self.stop.is_set():
                if n % 4 == 3:      # everybody races for the same few names
                    name = "shared-%d-%d" % (self.cycle, self.rng.randrange(len(self.shared)))
                else:
                    name = "c%d-%d-%d" % (self.cycle, self.idx, n)
                n += 1
                self.sent.append(name)
                params = {"org": self.params_org, "name": name, "description": "cycle %d" % self.cycle,
                          "permissions": ["review_read"]}
                # a few pipelined pairs, so batches hold several writes of one client
                if n % 5 == 0:
                    name2 = name + "-p"
                    self.sent.append(name2)
                    m1 = c.send_request("role.create", params)
                    m2 = c.send_request("role.create", dict(params, name=name2))
                    got = c.recv_replies(2)
                    for mid, nm in ((m1, name), (m2, name2)):
                        self._record(nm, *got[mid])
                else:
                    self._record(name, *c.call("role.create", params))
        except (ConnectionClosed, ConnectionResetError, BrokenPipeError, socket.timeout, OSError):
            pass
        finally:
            c.close()

    def _record(self, name, err, res):
        if err is None:
            if res.get("name") != name:
                self.errors.append(("wrong result", name, res))
            self.acked[name] = res["id"]
        elif err.get("code") == "duplicate":
            self.dups.append(name)
        elif err.get("code") == "unavailable":
            pass
        else:
            self.errors.append((name, err))


def mdb_stat(db):
    p = subprocess.run(["mdb_stat", "-a", "-e", db], capture_output=True, text=True, timeout=60)
    return p


def crash_run(test, what, org):
    """A run's random generator (seed from $ROLESD_CRASH_SEED or random,
    printed) and its daemon, with organization org."""
    seed = int(os.environ.get("ROLESD_CRASH_SEED") or random.randrange(1 << 30))
    sys.stderr.write("%s: %d cycles, seed %d (ROLESD_CRASH_SEED)\n" % (what, CYCLES, seed))
    d = Daemon()
    test.addCleanup(d.close)
    with d.rpc() as c:
        c.ok("org.add", {"id": org, "name": what})
    return random.Random(seed), d


def crash(test, d, rng, clients, stop, cycle):
    """Lets the clients write for a random while, kills the daemon with
    SIGKILL, waits for the clients (each must notice), and checks the dead
    daemon's environment: mdb_stat reads it, and it is whole (the walk)."""
    for t in clients:
        t.start()
    time.sleep(rng.uniform(0.02, 0.4))
    os.kill(d.proc.pid, signal.SIGKILL)
    d.wait_exit()
    stop.set()
    for t in clients:
        t.join(WAIT)
        test.assertFalse(t.is_alive(), "a client hung after the daemon died")
        test.assertEqual(t.errors, [], "unexpected replies in cycle %d" % cycle)
    p = mdb_stat(d.db)
    test.assertEqual(p.returncode, 0, "mdb_stat after kill %d: %s%s" % (cycle, p.stdout, p.stderr))
    report = storewalk.walk(d.db)
    test.assertTrue(report, "after kill %d: %r" % (cycle, report))


class CrashDurabilityTest(unittest.TestCase):

    def test_sigkill_cycles(self):
        rng, d = crash_run(self, "crash test", ORG)
        acked = {}          # name -> id, over all cycles
        asked = set()
        total_acked = total_lost = 0
        for cycle in range(CYCLES):
            stop = threading.Event()
            shared = range(3)
            writers = [Writer(d.sock_path, cycle, i, random.Random(rng.random()), shared, stop)
                       for i in range(CLIENTS)]
            crash(self, d, rng, writers, stop, cycle)
            for w in writers:
                asked.update(w.sent)
                for name, rid in w.acked.items():
                    self.assertNotIn(name, acked, "%r acknowledged twice" % name)
                    acked[name] = rid
                total_acked += len(w.acked)

            d.start()
            lost = self.check_state(d, acked, asked, cycle)
            total_lost += lost
        sys.stderr.write("crash test: %d cycles, %d acknowledged creations, %d lost\n"
                         % (CYCLES, total_acked, total_lost))
        self.assertEqual(total_lost, 0)

    def check_state(self, d, acked, asked, cycle):
        with d.rpc() as c:
            roles, count = list_all(c, ORG)
            self.assertEqual(count, len(roles), "count and listing disagree after kill %d" % cycle)
            custom = [r for r in roles if not r.get("protected")]
            names = [r["name"] for r in roles]
            ids = [r["id"] for r in roles]
            api_ids = [r["api_id"] for r in roles]
            for what, l in (("name", names), ("id", ids), ("api_id", api_ids)):
                self.assertEqual(len(l), len(set(l)), "duplicate %s after kill %d" % (what, cycle))
            by_name = {r["name"]: r for r in custom}
            # nothing that was never asked for
            unknown = set(by_name) - asked
            self.assertEqual(unknown, set(), "roles nobody created, after kill %d" % cycle)
            lost = [n for n in acked if n not in by_name]
            self.assertEqual(lost, [], "acknowledged roles lost after kill %d" % cycle)
            for n, rid in acked.items():
                self.assertEqual(by_name[n]["id"], rid, "role %r changed id" % n)
            # every role present is whole: its indexes lead back to it (all of
            # this cycle's, a sample of the older ones: the listing above
            # already shows each acknowledged one once)
            prefix = ("c%d-" % cycle, "shared-%d-" % cycle)
            recent = [r for r in custom if r["name"].startswith(prefix)]
            older = [r for r in custom if not r["name"].startswith(prefix)]
            for r in recent + random.sample(older, min(50, len(older))):
                for by in ("id", "api_id", "name"):
                    got = c.ok("role.get", {"org": ORG, by: r[by]})
                    self.assertEqual(got, r, "role.get by %s of %r after kill %d" % (by, r["name"], cycle))
                self.assertEqual(r["permissions"], ["review_read"])
            # uniqueness still holds for what is stored
            for n in list(by_name)[:5]:
                err, _ = c.call("role.create", {"org": ORG, "name": n})
                self.assertIsNotNone(err)
                self.assertEqual(err["code"], "duplicate")
            st = c.ok("server.status", {})
            self.assertGreaterEqual(st["roles"], len(roles))
        return len(lost)


STORM_ORG = 7002
STORM_CLIENTS = 4


class Model:
    """What one storm client owns: its roles (name -> description, members)
    and its users."""

    def __init__(self):
        self.roles = {}
        self.users = set()

    def copy(self):
        m = Model()
        m.roles = {n: {"desc": r["desc"], "members": set(r["members"])} for n, r in self.roles.items()}
        m.users = set(self.users)
        return m

    def apply(self, op):
        kind, arg = op[0], op[1:]
        if kind == "role.create":
            self.roles[arg[0]] = {"desc": arg[1], "members": set()}
        elif kind == "role.update":
            self.roles[arg[0]]["desc"] = arg[1]
        elif kind == "role.delete":
            del self.roles[arg[0]]
        elif kind == "member.add":
            self.roles[arg[0]]["members"].add(arg[1])
        elif kind == "member.remove":
            self.roles[arg[0]]["members"].discard(arg[1])
        elif kind == "user.add":
            self.users.add(arg[0])
        elif kind == "user.remove":
            self.users.discard(arg[0])
            for r in self.roles.values():
                r["members"].discard(arg[0])
        return self

    def __eq__(self, other):
        return self.roles == other.roles and self.users == other.users

    def __repr__(self):
        return "Model(roles=%r, users=%r)" % (self.roles, sorted(self.users))


class StormClient(threading.Thread):
    """Writes one at a time (each waits for its answer), on what it owns."""

    def __init__(self, sock_path, idx, model, rng, stop):
        super().__init__(daemon=True)
        self.sock_path, self.idx, self.rng, self.stop = sock_path, idx, rng, stop
        self.model = model              # after the acknowledged writes
        self.pending = None             # the write in flight when the connection died
        self.acked = 0
        self.errors = []
        self.n = 0

    def next_op(self):
        m, rng, k = self.model, self.rng, self.idx
        self.n += 1
        token = "c%d-%d" % (k, self.n)
        roles = sorted(m.roles)
        users = sorted(m.users)
        choice = rng.random()
        if choice < 0.15 or not roles:
            name = "r%d-%d" % (k, rng.randrange(12))
            if name not in m.roles:
                return ("role.create", name, token), {"org": STORM_ORG, "name": name, "description": token}
        if choice < 0.25 or not users:
            user = "u%d-%d" % (k, rng.randrange(8))
            if user not in m.users:
                return ("user.add", user), {"org": STORM_ORG, "username": user}
            return ("user.remove", user), {"org": STORM_ORG, "user": user}
        name = rng.choice(roles)
        if choice < 0.5:
            return ("role.update", name, token), {"org": STORM_ORG, "name": name, "set": {"description": token}}
        if choice < 0.6:
            return ("role.delete", name), {"org": STORM_ORG, "name": name, "force": True}
        user = rng.choice(users)
        if user in m.roles[name]["members"]:
            return ("member.remove", name, user), {"org": STORM_ORG, "name": name, "user": user}
        return ("member.add", name, user), {"org": STORM_ORG, "name": name, "user": user}

    def run(self):
        try:
            c = RawClient(self.sock_path, timeout=WAIT)
        except OSError:
            return
        try:
            while not self.stop.is_set():
                op, params = self.next_op()
                method = op[0]
                self.pending = op
                err, res = c.call(method, params)
                self.pending = None
                if err is not None:
                    self.errors.append((op, err))
                    return
                self.model.apply(op)
                self.acked += 1
        except (ConnectionClosed, ConnectionResetError, BrokenPipeError, socket.timeout, OSError):
            pass
        finally:
            c.close()


def all_users(c, method, params):
    """Every user of a member.list or user.list, following the cursors."""
    p = dict(params, count=100)
    while True:
        page = c.ok(method, p)
        yield from page["users"]
        if "next" not in page:
            return
        p["after"] = page["next"]


def read_models(c):
    """The database's roles, members and users of the storm org, per client."""
    models = [Model() for _ in range(STORM_CLIENTS)]
    roles, count = list_all(c, STORM_ORG)
    for r in roles:
        if r["protected"]:
            continue
        k = int(r["name"][1:].split("-")[0])
        members = {u["username"] for u in all_users(c, "member.list", {"org": STORM_ORG, "id": r["id"]})}
        models[k].roles[r["name"]] = {"desc": r["description"], "members": members}
    for u in all_users(c, "user.list", {"org": STORM_ORG}):
        models[int(u["username"][1:].split("-")[0])].users.add(u["username"])
    return models


class LifecycleStormTest(unittest.TestCase):

    def test_sigkill_during_lifecycle_storm(self):
        rng, d = crash_run(self, "lifecycle storm", STORM_ORG)
        models = [Model() for _ in range(STORM_CLIENTS)]
        acked = in_flight = applied_in_flight = 0
        for cycle in range(CYCLES):
            stop = threading.Event()
            clients = [StormClient(d.sock_path, k, models[k], random.Random(rng.random()), stop)
                       for k in range(STORM_CLIENTS)]
            crash(self, d, rng, clients, stop, cycle)
            acked += sum(t.acked for t in clients)

            d.start()
            with d.rpc() as c:
                actual = read_models(c)
            for k, t in enumerate(clients):
                if actual[k] == t.model:
                    if t.pending:
                        in_flight += 1
                    continue
                self.assertIsNotNone(t.pending, "client %d after kill %d: acknowledged writes lost or "
                                     "changed: %r, expected %r" % (k, cycle, actual[k], t.model))
                done = t.model.copy().apply(t.pending)
                self.assertEqual(actual[k], done, "client %d after kill %d: neither before nor after its "
                                 "write in flight %r" % (k, cycle, t.pending))
                models[k] = done
                in_flight += 1
                applied_in_flight += 1
        sys.stderr.write("lifecycle storm: %d cycles, %d acknowledged writes kept, %d writes in flight at "
                         "the kill (%d of them committed), walk clean after each\n"
                         % (CYCLES, acked, in_flight, applied_in_flight))


WATCH_ORG = 7003
WATCHERS = 10


class FeedWatcher(threading.Thread):
    """One watcher: watches from its last seen revision until the
    connection dies; every record it gets is kept, and its revision must
    follow the last one (the whole log is watched: no gap)."""

    def __init__(self, sock_path, last, events):
        super().__init__(daemon=True)
        self.sock_path, self.last, self.events = sock_path, last, events
        self.ready = threading.Event()
        self.errors = []

    def run(self):
        try:
            c = RawClient(self.sock_path, timeout=WAIT)
        except OSError:
            self.ready.set()
            return
        try:
            msgid = c.send_request("changes.watch", {"after": self.last})
            while True:
                msg = c.recv_msg()
                if msg[0] == 1 and msg[1] == msgid:
                    if msg[2] is not None:
                        self.errors.append(("watch refused", msg[2]))
                        return
                    self.ready.set()
                elif msg[0] == 2 and msg[1] == "changes.event":
                    ch = msg[2][0]
                    if ch["revision"] != self.last + 1:
                        self.errors.append(("gap or duplicate", self.last, ch["revision"]))
                        return
                    self.last = ch["revision"]
                    self.events.append(ch)
                else:
                    self.errors.append(("unexpected", msg))
                    return
        except (ConnectionClosed, ConnectionResetError, BrokenPipeError, socket.timeout, OSError):
            pass
        finally:
            self.ready.set()
            c.close()


class WatcherCrashTest(unittest.TestCase):

    def test_sigkill_with_watchers(self):
        rng, d = crash_run(self, "watchers crash", WATCH_ORG)
        start = d.status()["revision"]
        logs = [[] for _ in range(WATCHERS)]
        last = [start] * WATCHERS
        acked = {}
        cycles = min(CYCLES, 10)
        for cycle in range(cycles):
            stop = threading.Event()
            watchers = [FeedWatcher(d.sock_path, last[k], logs[k]) for k in range(WATCHERS)]
            for t in watchers:
                t.start()
            for t in watchers:
                self.assertTrue(t.ready.wait(WAIT), "a watcher did not start")
            writers = [Writer(d.sock_path, cycle, i, random.Random(rng.random()), range(3), stop)
                       for i in range(CLIENTS)]
            for w in writers:
                w.params_org = WATCH_ORG
            crash(self, d, rng, writers, stop, cycle)
            for k, t in enumerate(watchers):
                t.join(WAIT)
                self.assertFalse(t.is_alive(), "a watcher hung after the daemon died")
                self.assertEqual(t.errors, [], "watcher %d in cycle %d" % (k, cycle))
                last[k] = t.last
            for w in writers:
                acked.update(w.acked)
            d.start()
        # the last resume: each catches up with what was committed
        with d.rpc() as c:
            end = c.ok("server.status", {})["revision"]
            logged = []
            after = start
            while after < end:
                res = c.ok("changes.list", {"after": after, "limit": 1000})
                logged += res["changes"]
                after = res["next_after"]
            roles, _ = list_all(c, WATCH_ORG)
        watchers = [FeedWatcher(d.sock_path, last[k], logs[k]) for k in range(WATCHERS)]
        for t in watchers:
            t.start()
        for t in watchers:
            self.assertTrue(t.ready.wait(WAIT))
        for k in range(WATCHERS):
            deadline = time.monotonic() + WAIT
            while watchers[k].last < end and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertEqual(watchers[k].errors, [])
            self.assertEqual([e["revision"] for e in logs[k]], list(range(start + 1, end + 1)),
                             "watcher %d: not every revision once, in order" % k)
            self.assertEqual(logs[k], logged, "watcher %d saw other records than the log's" % k)
        created = {e["id"] for e in logged if e["kind"] == "role" and e["op"] == "create"}
        missing = set(acked.values()) - created
        self.assertEqual(missing, set(), "acknowledged creations no watcher received")
        self.assertEqual({r["id"] for r in roles if not r["protected"]}, created,
                         "roles and the creations in the feed differ")
        d.stop()
        sys.stderr.write("watchers crash: %d cycles, %d watchers, %d acknowledged creations, "
                         "%d revisions each watcher received once\n"
                         % (cycles, WATCHERS, len(acked), end - start))


if __name__ == "__main__":
    unittest.main(verbosity=2)
