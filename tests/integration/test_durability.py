#!/usr/bin/python3
"""test_durability.py: acknowledged writes survive SIGKILL and SIGTERM;
the sd_notify protocol (READY, STATUS, STOPPING, WATCHDOG)."""

import signal
import socket
import threading
import unittest

from harness import (PARTOO_BUILTINS, ConnectionClosed, Daemon, list_all, main, packb)


class DurabilityTest(unittest.TestCase):

    def setUp(self):
        self.d = Daemon()
        self.addCleanup(self.d.close)

    def _dump_on_failure(self):
        return "\ndaemon stderr:\n" + self.d.stderr_text()[-8000:]

    def make_roles(self, org, n, prefix):
        with self.d.rpc() as c:
            made = [c.ok("role.create", {"org": org, "name": "%s-%03d" % (prefix, i),
                                         "description": "d%d" % i})
                    for i in range(n)]
        return made

    def check_roles(self, org, made):
        with self.d.rpc() as c:
            for r in made:
                err, g = c.call("role.get", {"org": org, "api_id": r["api_id"]})
                self.assertIsNone(err, "%s lost: %r%s" % (r["api_id"], err,
                                                        self._dump_on_failure()))
                self.assertEqual(g, r)

    def test_sigkill_keeps_acknowledged_roles(self):
        with self.d.rpc() as c:
            c.ok("org.add", {"id": 1, "provider": "p"})
        made = self.make_roles(1, 40, "k") + self.make_roles(0, 10, "k0")
        st_before = self.d.status()
        with self.d.rpc() as c:
            page_before = list_all(c, 1)
        self.d.restart(signal.SIGKILL)
        self.check_roles(1, made[:40])
        self.check_roles(0, made[40:])
        st_after = self.d.status()
        self.assertEqual(st_after["roles"], st_before["roles"])
        self.assertEqual(st_after["organizations"], st_before["organizations"])
        with self.d.rpc() as c:
            self.assertEqual(list_all(c, 1), page_before)
            # built-ins were not duplicated by the second start
            self.assertEqual(list_all(c, 1)[1], 40 + len(PARTOO_BUILTINS))

    def test_sigterm_is_graceful(self):
        made = self.make_roles(0, 20, "t")
        since = len(self.d.notify_msgs)
        status = self.d.stop(signal.SIGTERM)
        self.d.wait_notify("STOPPING=1", since=since)
        self.assertEqual(status, 0, "exit status after SIGTERM" + self._dump_on_failure())
        self.d.start()
        self.check_roles(0, made)
        status = self.d.stop(signal.SIGINT)
        self.assertEqual(status, 0, "exit status after SIGINT" + self._dump_on_failure())

    def test_ready_and_status_notifications(self):
        lines = self.d.notify_lines()
        self.assertIn("READY=1", lines)
        self.assertTrue(any(l.startswith("STATUS=") for l in lines),
                        "READY=1 comes with a STATUS= line: %r" % lines)

    def test_credentials_survive_restart(self):
        with self.d.rpc() as c:
            c.ok("org.add", {"id": 7})
            key = c.ok("key.add", {"user_role": "ORG_ADMIN", "org": 7})["api_key"]
            u = c.ok("user.add", {"username": "carol", "roles": ["admin"]})
        self.d.restart(signal.SIGKILL)
        with self.d.rpc() as c:
            self.assertIsNone(c.call("role.create", {"org": 7, "name": "after"},
                                     auth={"api_key": key})[0])
            self.assertIsNone(c.call("role.create", {"org": 0, "name": "after"},
                                     auth={"user_id": u["user_id"], "token": u["token"]})[0])

    def test_kill_during_pipelined_burst(self):
        with self.d.rpc() as c:
            c.ok("org.add", {"id": 2})
        n = 3000
        c = self.d.rpc()
        self.addCleanup(c.close)
        names = {}
        frames = []
        for i in range(n):
            names[i + 1] = "burst-%05d" % i
            frames.append(packb([0, i + 1, "role.create", [{"org": 2, "name": names[i + 1]}]]))
        data = b"".join(frames)

        def sender():
            c.send_raw(data)    # returns False once the daemon is gone
        t = threading.Thread(target=sender, daemon=True)
        t.start()
        acked = {}
        killed = False
        try:
            while True:
                msgid, err, res = c.recv_reply()
                if err is None:
                    self.assertEqual(res["name"], names[msgid])
                    acked[msgid] = res
                else:
                    # a create refused by a shutting-down daemon is fine; any
                    # other error is not
                    self.assertIn(err.get("code"), ("unavailable",), err)
                if not killed and len(acked) >= 200:
                    self.d.kill(signal.SIGKILL)
                    killed = True
        except ConnectionClosed:
            pass
        except socket.timeout:
            self.fail("no reply and no close after SIGKILL")
        t.join(30)
        self.assertTrue(killed, "fewer than 200 of %d creates acknowledged: %d"
                        % (n, len(acked)))
        self.d.wait_exit()
        self.assertGreaterEqual(len(acked), 200)
        self.d.start()
        with self.d.rpc() as c2:
            for msgid, r in sorted(acked.items()):
                err, g = c2.call("role.get", {"org": 2, "api_id": names[msgid]})
                self.assertIsNone(err, "acknowledged create %s lost after kill -9: %r"
                                  % (names[msgid], err))
                self.assertEqual(g["id"], r["id"])
            roles, count = list_all(c2, 2)
            self.assertGreaterEqual(count, len(acked) + len(PARTOO_BUILTINS))
            self.assertEqual(count, len(roles))
            # whatever else made it is whole: only names of the burst
            for r in roles:
                if not r["protected"]:
                    self.assertIn(r["name"], names.values())


    def test_sigterm_during_pipelined_burst(self):
        """SIGTERM finishes in-flight work: every create is answered with
        success (and then stored) or unavailable (and then not stored)."""
        with self.d.rpc() as c:
            c.ok("org.add", {"id": 3})
        n = 3000
        c = self.d.rpc()
        self.addCleanup(c.close)
        names = {i + 1: "term-%05d" % i for i in range(n)}
        data = b"".join(packb([0, m, "role.create", [{"org": 3, "name": nm}]])
                        for m, nm in names.items())
        t = threading.Thread(target=lambda: c.send_raw(data), daemon=True)
        t.start()
        acked, refused = {}, set()
        termed = False
        since = len(self.d.notify_msgs)
        try:
            while True:
                msgid, err, res = c.recv_reply()
                self.assertIn(msgid, names)
                self.assertNotIn(msgid, acked)
                self.assertNotIn(msgid, refused)
                if err is None:
                    acked[msgid] = res
                else:
                    self.assertEqual(err.get("code"), "unavailable", err)
                    refused.add(msgid)
                if not termed and len(acked) >= 100:
                    self.d.kill(signal.SIGTERM)
                    termed = True
        except ConnectionClosed:
            pass
        t.join(30)
        self.assertTrue(termed)
        self.assertEqual(self.d.wait_exit(), 0, self._dump_on_failure())
        self.d.wait_notify("STOPPING=1", since=since)
        self.d.start()
        with self.d.rpc() as c2:
            for msgid, r in acked.items():
                err, g = c2.call("role.get", {"org": 3, "api_id": names[msgid]})
                self.assertIsNone(err, "acknowledged %s lost after SIGTERM: %r"
                                  % (names[msgid], err))
                self.assertEqual(g["id"], r["id"])
            for msgid in refused:
                err, _ = c2.call("role.get", {"org": 3, "api_id": names[msgid]})
                self.assertError(err, "not_found",
                                 "create %s was refused (unavailable) yet stored" % names[msgid])

    def assertError(self, err, code, msg):
        self.assertIsNotNone(err, msg)
        self.assertEqual(err.get("code"), code, "%s: %r" % (msg, err))


class WatchdogTest(unittest.TestCase):

    def test_watchdog_pings(self):
        with Daemon(watchdog_usec=2_000_000) as d:
            d.wait_notify("WATCHDOG=1")
            with d.rpc() as c:
                self.assertIsNone(c.call("server.status", {})[0])


if __name__ == "__main__":
    main()
