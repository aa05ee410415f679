#!/usr/bin/python3
"""test_feed.py: the change feed seen by an independent MessagePack client
(python3-msgpack): changes.list pages, changes.watch's notifications
[2, "changes.event", [CHANGE]] (history from `after`, then live, in order,
none missing, none twice, across the switch from history to live while
writes go on), changes.unwatch, changes.lost for a watcher that stops
reading (the connection and its calls go on, and it resumes with after),
server.status's revision and compacted_revision, and every bad input
refused by field with the connection still serving."""

import os
import threading
import unittest

from harness import (DaemonTestCase, RawClient, fresh_org, main, packb, request_frame)
from storewalk import WalkedTestCase, walk


def create_pipelined(client, org, names, description=None):
    """role.create of every name, pipelined on one connection; returns the
    roles created (in the order of the names)."""
    ids = {}
    for name in names:
        p = {"org": org, "name": name}
        if description is not None:
            p["description"] = description
        ids[client.send_request("role.create", p)] = name
    got = client.recv_replies(len(ids))
    out = []
    for msgid in ids:
        err, res = got[msgid]
        if err is not None:
            raise AssertionError("role.create %r: %r" % (ids[msgid], err))
        out.append(res)
    return out


class Watcher:
    """A connection with a watch: its events (records, in arrival order),
    the replies it got meanwhile, and changes.lost if it came."""

    def __init__(self, d, after=None, org=None):
        self.c = d.rpc()
        self.events = []
        self.replies = {}
        self.lost = None
        p = {}
        if after is not None:
            p["after"] = after
        if org is not None:
            p["org"] = org
        self.msgid = self.c.send_request("changes.watch", p)
        self.started = self.next_reply(self.msgid)

    def close(self):
        self.c.close()

    def _take(self):
        msg = self.c.recv_msg()
        if msg[0] == 2:
            if msg[1] == "changes.event":
                assert isinstance(msg[2], list) and len(msg[2]) == 1, msg
                self.events.append(msg[2][0])
            elif msg[1] == "changes.lost":
                self.lost = msg[2][0]
            else:
                raise AssertionError("unknown notification %r" % (msg,))
            return
        assert msg[0] == 1, msg
        self.replies[msg[1]] = (msg[2], msg[3])

    def next_reply(self, msgid):
        while msgid not in self.replies:
            self._take()
        err, res = self.replies.pop(msgid)
        if err is not None:
            raise AssertionError("call %d failed: %r" % (msgid, err))
        return res

    def until_revision(self, revision):
        while not self.events or self.events[-1]["revision"] < revision:
            self._take()
            if self.lost is not None:
                raise AssertionError("watch lost: %r" % (self.lost,))

    def call(self, method, params=None):
        return self.next_reply(self.c.send_request(method, params))


class FeedTest(WalkedTestCase):
    """Each test has a connection (self.c) and ends with the walk."""

    def assertContiguous(self, events, first, last, what="events"):
        revs = [e["revision"] for e in events]
        self.assertEqual(revs, list(range(first, last + 1)),
                         "%s: not exactly %d..%d once each, in order" % (what, first, last))

    # ---- server.status and changes.list

    def test_status_shows_the_log(self):
        st = self.c.ok("server.status", {})
        for k in ("revision", "compacted_revision", "changes", "changes_retain", "watches"):
            self.assertIsInstance(st[k], int, k)
        self.assertEqual(st["changes_retain"], 1000000)
        org = fresh_org(self.c)
        st2 = self.c.ok("server.status", {})
        self.assertGreater(st2["revision"], st["revision"])
        self.assertLessEqual(st2["compacted_revision"], st["revision"] + 1)
        self.assertEqual(st2["changes"], st2["revision"] - st2["compacted_revision"] + 1)
        res = self.c.ok("changes.list", {"after": st["revision"]})
        self.assertEqual(res["changes"][0]["op"], "create")
        self.assertEqual(res["changes"][0]["kind"], "org")
        self.assertEqual(res["changes"][0]["org"], org)

    def test_list_pages_in_order(self):
        org = fresh_org(self.c)
        start = self.revision()
        roles = create_pipelined(self.c, org, ["r%d" % i for i in range(250)])
        end = self.revision()
        self.assertEqual(end, start + 250)
        seen, after = [], start
        while True:
            res = self.c.ok("changes.list", {"after": after, "limit": 64})
            self.assertEqual(res["revision"], end)
            self.assertLessEqual(len(res["changes"]), 64)
            seen += res["changes"]
            if not res["changes"] or res["next_after"] == end:
                break
            self.assertEqual(res["next_after"], res["changes"][-1]["revision"])
            after = res["next_after"]
        self.assertContiguous(seen, start + 1, end, "changes.list pages")
        by_id = {r["id"]: r for r in roles}
        for ch in seen:
            self.assertEqual(set(ch), {"revision", "time", "op", "kind", "org", "id", "after", "principal"})
            self.assertEqual((ch["op"], ch["kind"], ch["org"]), ("create", "role", org))
            self.assertEqual(ch["after"], by_id[ch["id"]])
            self.assertEqual(ch["principal"], {"kind": "peer", "uid": os.getuid(), "gid": os.getgid(),
                                               "pid": os.getpid()})
        times = [ch["time"] for ch in seen]
        self.assertEqual(times, sorted(times))
        # the default page is 100, and a page past the end is empty
        self.assertEqual(len(self.c.ok("changes.list", {"after": start})["changes"]), 100)
        res = self.c.ok("changes.list", {"after": end})
        self.assertEqual((res["changes"], res["next_after"]), ([], end))

    def test_list_by_org(self):
        a, b = fresh_org(self.c), fresh_org(self.c)
        start = self.revision()
        for i in range(30):
            self.c.ok("role.create", {"org": a if i % 3 else b, "name": "x%d" % i})
        res = self.c.ok("changes.list", {"after": start, "org": b, "limit": 4})
        got = res["changes"]
        while res["next_after"] != res["revision"]:
            res = self.c.ok("changes.list", {"after": res["next_after"], "org": b, "limit": 4})
            got += res["changes"]
        self.assertEqual(len(got), 10)
        self.assertTrue(all(ch["org"] == b for ch in got))
        revs = [ch["revision"] for ch in got]
        self.assertEqual(revs, sorted(set(revs)))

    def test_deletes_and_updates_say_before_and_after(self):
        org = fresh_org(self.c)
        role = self.c.ok("role.create", {"org": org, "name": "old"})
        start = self.revision()
        upd = self.c.ok("role.update", {"org": org, "id": role["id"], "set": {"name": "new"}})
        self.c.ok("role.delete", {"org": org, "id": role["id"]})
        upd_ch, del_ch = self.c.ok("changes.list", {"after": start})["changes"]
        self.assertEqual((upd_ch["op"], upd_ch["before"], upd_ch["after"]), ("update", role, upd))
        self.assertEqual((del_ch["op"], del_ch["before"]), ("delete", upd))
        self.assertNotIn("after", del_ch)

    # ---- role.sync

    def test_role_sync(self):
        import time
        t0 = int(time.time() * 1000) - 1
        a = self.c.ok("role.create", {"org": 0, "name": "sync-a"})
        b = self.c.ok("role.create", {"org": 0, "name": "sync-b"})
        a2 = self.c.ok("role.update", {"org": 0, "id": a["id"], "set": {"description": "changed"}})
        self.c.ok("role.delete", {"org": 0, "id": b["id"]})
        c = self.c.ok("role.create", {"org": 0, "name": "sync-c"})
        self.c.ok("role.delete", {"org": 0, "id": c["id"]})
        other = fresh_org(self.c)
        self.c.ok("role.create", {"org": other, "name": "elsewhere"})
        res = self.c.ok("role.sync", {"since": t0, "org": 0})
        self.assertEqual(res["update"], [a2])
        self.assertEqual([(x["id"], x["name"]) for x in res["remove"]],
                         [(b["id"], "sync-b"), (c["id"], "sync-c")])
        for x in res["remove"]:
            self.assertGreaterEqual(x["deleted_at"], t0)
        # a user's token reads it too (the workspace's roles)
        user = self.c.ok("user.add", {"username": "sync-reader"})
        res2 = self.c.ok("role.sync", {"since": t0}, auth={"user_id": user["user_id"], "token": user["token"]})
        self.assertEqual(res2, res)
        # nothing after now; every change after a time, by organization
        self.assertEqual(self.c.ok("role.sync", {"since": int(time.time() * 1000) + 60000, "org": 0}),
                         {"update": [], "remove": []})
        res = self.c.ok("role.sync", {"since": t0, "org": other})
        self.assertEqual([x["name"] for x in res["update"]], ["elsewhere"])
        for params, code, field in (({"org": 0}, "invalid_argument", "since"),
                                    ({"since": -1, "org": 0}, "invalid_argument", "since"),
                                    ({"since": "yesterday", "org": 0}, "invalid_argument", "since"),
                                    ({"since": 0, "org": 999999}, "not_found", "org")):
            self.assertError(self.c.call("role.sync", params)[0], code, field)
        err, _ = self.c.call("role.sync", {"since": 0}, auth={"user_id": user["user_id"], "token": "x" * 43})
        self.assertError(err, "unauthenticated")

    # ---- watches

    def test_history_then_live_while_writes_go_on(self):
        """A watch from long ago reads its history page by page while
        another connection keeps creating: it receives every revision
        from after + 1 to the end exactly once, in order, its history and
        the live changes joined without a gap or a duplicate."""
        org = fresh_org(self.c)
        start = self.revision()
        create_pipelined(self.c, org, ["h%d" % i for i in range(1500)],
                         description="history " * 10)
        stop = threading.Event()
        made = []

        def storm():
            with self.d.rpc() as w:
                i = 0
                while not stop.is_set():
                    made.extend(create_pipelined(w, org, ["l%d-%d" % (i, k) for k in range(20)]))
                    i += 1

        t = threading.Thread(target=storm)
        t.start()
        try:
            watcher = Watcher(self.d, after=start)
            self.addCleanup(watcher.close)
            self.assertGreaterEqual(watcher.started["revision"], start + 1500)
            # read part of the history, then let the storm go on a while
            watcher.until_revision(start + 700)
            watcher.until_revision(start + 1600)
        finally:
            stop.set()
            t.join()
        end = self.revision()
        watcher.until_revision(end)
        self.assertContiguous(watcher.events, start + 1, end, "watch events")
        self.assertGreater(len(made), 0)
        ids = {e["id"] for e in watcher.events}
        self.assertTrue(all(r["id"] in ids for r in made))
        self.assertEqual(watcher.events, self.list_all(start, end))

    def list_all(self, after, end):
        out = []
        while after < end:
            res = self.c.ok("changes.list", {"after": after, "limit": 1000})
            out += res["changes"]
            after = res["next_after"]
        return out

    def test_watch_from_now_is_live(self):
        org = fresh_org(self.c)
        # after absent means 0: the whole log, then live
        watcher = Watcher(self.d)
        self.addCleanup(watcher.close)
        now = watcher.started["revision"]
        watcher.until_revision(now)
        self.assertContiguous(watcher.events, 1, now)
        self.assertEqual(watcher.events[0]["revision"], self.c.ok("server.status", {})["compacted_revision"])
        live = Watcher(self.d, after=self.revision())
        self.addCleanup(live.close)
        r = self.c.ok("role.create", {"org": org, "name": "live"})
        live.until_revision(r["revision"])
        self.assertEqual([e["id"] for e in live.events], [r["id"]])

    def test_org_watch_and_calls_on_the_same_connection(self):
        a, b = fresh_org(self.c), fresh_org(self.c)
        start = self.revision()
        watcher = Watcher(self.d, after=start, org=a)
        self.addCleanup(watcher.close)
        # a write on the watching connection: its reply comes before its event
        msgid = watcher.c.send_request("role.create", {"org": a, "name": "mine"})
        other = self.c.ok("role.create", {"org": b, "name": "theirs"})
        res = watcher.next_reply(msgid)
        self.assertEqual(watcher.events, [])
        last = self.c.ok("role.create", {"org": a, "name": "last"})
        watcher.until_revision(last["revision"])
        self.assertEqual([e["id"] for e in watcher.events], [res["id"], last["id"]])
        self.assertNotIn(other["id"], [e["id"] for e in watcher.events])
        # reads on it are answered as ever
        self.assertEqual(watcher.call("role.get", {"org": a, "name": "mine"})["id"], res["id"])

    def test_unwatch_stops_the_events(self):
        org = fresh_org(self.c)
        watcher = Watcher(self.d, after=self.revision())
        self.addCleanup(watcher.close)
        r1 = self.c.ok("role.create", {"org": org, "name": "u1"})
        watcher.until_revision(r1["revision"])
        res = watcher.call("changes.unwatch", {"watch": watcher.msgid})
        self.assertEqual(res, {"watch": watcher.msgid, "revision": r1["revision"]})
        self.c.ok("role.create", {"org": org, "name": "u2"})
        # the create was acknowledged: an event would come before this reply
        watcher.call("server.status", {})
        self.assertEqual(len(watcher.events), 1)
        # and a new watch on the same connection is allowed
        msgid = watcher.c.send_request("changes.watch", {"after": r1["revision"]})
        watcher.next_reply(msgid)
        watcher.until_revision(r1["revision"] + 1)
        self.assertEqual(watcher.events[-1]["after"]["name"], "u2")
        self.assertEqual(watcher.call("server.status", {})["watches"], 1)

    def test_lost_then_resume(self):
        """A watcher that stops reading is sent changes.lost once its
        unsent output passes the soft limit (1 MiB); the others and its
        own connection go on, and it resumes with after = the revision
        lost said, receiving the rest without a gap."""
        start = self.revision()
        slow = Watcher(self.d, after=start)
        self.addCleanup(slow.close)
        fast = Watcher(self.d, after=start)
        self.addCleanup(fast.close)
        big = "d" * 16000
        made = []
        for round_ in range(12):
            made += create_pipelined(self.c, 0, ["lost%d-%d" % (round_, i) for i in range(20)],
                                     description=big)
            fast.until_revision(made[-1]["revision"])
        end = self.revision()
        # the slow one reads now: events, then lost, then nothing more
        while slow.lost is None:
            slow._take()
        self.assertEqual(set(slow.lost), {"revision", "watch"})
        self.assertEqual(slow.lost["watch"], slow.msgid)
        self.assertContiguous(slow.events, start + 1, slow.lost["revision"], "events before lost")
        self.assertLess(slow.lost["revision"], end)
        self.assertEqual(slow.call("server.status", {})["revision"], end)
        # it resumes
        lost, slow.lost = slow.lost, None
        res = slow.call("changes.watch", {"after": lost["revision"]})
        self.assertEqual(res["revision"], end)
        slow.until_revision(end)
        self.assertContiguous(slow.events, start + 1, end, "events across the resume")
        self.assertContiguous(fast.events, start + 1, end, "the fast watcher's")
        self.assertIsNone(slow.lost)
        self.assertIn("lost at revision %d" % lost["revision"], self.d.stderr_text())

    # ---- bad input

    def test_bad_input_named_and_the_connection_serves_on(self):
        rev = self.revision()
        cases = [
            ("changes.list", {"after": -1}, "invalid_argument", "after"),
            ("changes.list", {"after": "5"}, "invalid_argument", "after"),
            ("changes.list", {"after": 1.5}, "invalid_argument", "after"),
            ("changes.list", {"after": rev + 1000}, "invalid_argument", "after"),
            ("changes.list", {"limit": 0}, "invalid_argument", "limit"),
            ("changes.list", {"limit": 1001}, "invalid_argument", "limit"),
            ("changes.list", {"limit": True}, "invalid_argument", "limit"),
            ("changes.list", {"org": -3}, "invalid_argument", "org"),
            ("changes.list", {"since": 1}, "invalid_argument", "since"),
            ("changes.list", {"auth": {"api_key": "k" * 40}}, "permission_denied", "auth"),
            ("changes.watch", {"after": -1}, "invalid_argument", "after"),
            ("changes.watch", {"after": None}, "invalid_argument", "after"),
            ("changes.watch", {"after": rev + 1000}, "invalid_argument", "after"),
            ("changes.watch", {"org": "x"}, "invalid_argument", "org"),
            ("changes.watch", {"limit": 5}, "invalid_argument", "limit"),
            ("changes.unwatch", {"watch": 12345}, "not_found", "watch"),
            ("changes.unwatch", {}, "invalid_argument", "watch"),
            ("changes.unwatch", {"watch": "1"}, "invalid_argument", "watch"),
            ("changes.unwatch", {"watch": -1}, "invalid_argument", "watch"),
        ]
        # pipelined, with a good call between each: every bad one is
        # answered by field, every good one as ever, on one connection
        sent = []
        for method, params, code, field in cases:
            sent.append((self.c.send_request(method, params), method, params, code, field))
            sent.append((self.c.send_request("server.status", {}), None, None, None, None))
        got = self.c.recv_replies(len(sent))
        for msgid, method, params, code, field in sent:
            err, res = got[msgid]
            if method is None:
                self.assertIsNone(err)
                self.assertGreaterEqual(res["revision"], rev)
            else:
                self.assertError(err, code, field, "%s %r" % (method, params))
        # a second watch on one connection: refused, the first goes on
        watcher = Watcher(self.d, after=self.revision())
        self.addCleanup(watcher.close)
        msgid = watcher.c.send_request("changes.watch", {})
        while msgid not in watcher.replies:
            watcher._take()
        err, _ = watcher.replies.pop(msgid)
        self.assertError(err, "resource_exhausted")
        r = self.c.ok("role.create", {"org": 0, "name": "after-bad-watch"})
        watcher.until_revision(r["revision"])
        self.assertEqual(watcher.events[-1]["id"], r["id"])
        # the daemon is fine
        self.assertIsNone(self.c.call("server.status", {})[0])


class RetentionTest(DaemonTestCase):
    """--changes-retain N: the log keeps the last N records, trimmed in the
    background in bounded steps (at most 512 records each: -v logs each
    step); older revisions are `compacted`."""

    daemon_kwargs = {"extra_args": ["--changes-retain", "50", "-v"]}

    def test_trimmed_to_n_and_compacted(self):
        import re
        with self.d.rpc() as c:
            org = fresh_org(c)
            create_pipelined(c, org, ["t%d" % i for i in range(1300)])
            st = c.ok("server.status", {})
            self.assertEqual(st["changes_retain"], 50)
            # the trim runs after the writes, in steps
            from harness import wait_for
            st = wait_for(lambda: (lambda s: s if s["changes"] == 50 else None)(c.ok("server.status", {})),
                          what="the log trimmed to 50 records")
            rev = st["revision"]
            self.assertEqual(st["compacted_revision"], rev - 49)
            steps = [int(n) for n in re.findall(r"Trimmed (\d+) records", self.d.stderr_text())]
            self.assertEqual(sum(steps), rev - 50)
            self.assertGreaterEqual(len(steps), 3)
            self.assertLessEqual(max(steps), 512)
            res = c.ok("changes.list", {"after": rev - 50, "limit": 1000})
            self.assertEqual([ch["revision"] for ch in res["changes"]], list(range(rev - 49, rev + 1)))
            for bad in (0, rev - 51, 17):
                err, _ = c.call("changes.list", {"after": bad})
                self.assertError(err, "compacted", "after")
                err, _ = c.call("changes.watch", {"after": bad})
                self.assertError(err, "compacted", "after")
            self.assertIsNone(c.call("changes.watch", {"after": rev - 50})[0])
            # role.sync from before the log's horizon: every role updated
            # after it (from the roles themselves), built-ins included
            with self.d.rpc() as c2:        # c watches now
                res = c2.ok("role.sync", {"since": 0, "org": org})
            self.assertEqual(len(res["update"]), 1305)
            self.assertEqual(res["remove"], [])
        report = walk(self.d.db)
        self.assertTrue(report, report)


if __name__ == "__main__":
    main()
