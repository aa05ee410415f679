#!/usr/bin/python3
"""test_limits.py: abuse limits of rolesd, each against the real daemon,
each checking that a well-behaved client is served meanwhile and that the
daemon's own resources (fds, memory) stay bounded. Timeouts are shortened
with --idle-timeout/--stall-timeout; every wait is a bounded poll, no
assertion is on a duration."""

import time
import unittest

from harness import (DaemonTestCase, RawClient, WAIT, FRAME_MAX,
                     closed_by_peer, fd_count, packb, raw_str, rss_kib, wait_for)


def frame_of_size(n, msgid=1):
    """A role.get request of exactly n bytes (an unknown key pads it)."""
    head = b"\x94\x00" + packb(msgid) + packb("role.get") + b"\x91\x82" + packb("org") + packb(0)
    key = packb("pad")
    room = n - len(head) - len(key)
    for hdr in (5, 3, 2, 1):            # str32, str16, str8, fixstr header sizes
        body = room - hdr
        s = raw_str(b"x" * body) if body >= 0 else b""
        if len(s) == room:
            return head + key + s
    raise ValueError(n)


class LimitsTest(DaemonTestCase):
    daemon_kwargs = {"extra_args": ["--max-connections", "16", "--stall-timeout", "2",
                                    "--idle-timeout", "3"]}

    def pid(self):
        return self.d.proc.pid

    def assertServed(self, n=3):
        with self.d.rpc() as c:
            for _ in range(n):
                self.assertIn("version", c.ok("server.status", {}))

    def test_non_reader_is_dropped_others_served(self):
        """Sends requests, never reads: the daemon stops reading it once its
        replies pile up (CONN_OUTBUF_SOFT), keeps its memory bounded, and
        drops it after --stall-timeout; another client is served all along."""
        rss0 = rss_kib(self.pid())
        flood = self.d.rpc()
        self.addCleanup(flood.close)
        flood.sock.setblocking(False)
        req = packb([0, 1, "permission.catalog", [{"org": 0}]]) * 200
        sent = 0
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and sent < 256 * 1024 * 1024:
            try:
                sent += flood.sock.send(req)
            except BlockingIOError:
                break                       # the daemon stopped reading us
            except (BrokenPipeError, ConnectionResetError):
                break
        self.assertLess(sent, 256 * 1024 * 1024, "the daemon never stopped reading a non-reader")
        good = self.d.rpc()
        self.addCleanup(good.close)
        before = good.ok("server.status", {})["connections"]
        served = [0]

        # whether it is gone is asked of the daemon: reading the socket
        # here would make the flooder a reader
        def dropped():
            self.assertIsNone(good.call("role.get", {"org": 0, "name": "admin"})[0])
            served[0] += 1
            return good.ok("server.status", {})["connections"] < before
        wait_for(dropped, interval=0.05, what="the daemon to drop a client that reads nothing")
        self.assertGreater(served[0], 0)
        self.assertIn(b"has not read its replies", self.d.stderr_bytes())
        self.assertLess(rss_kib(self.pid()) - rss0, 64 * 1024,
                        "daemon memory grew by more than 64 MiB for one non-reader")
        self.assertServed()

    def test_connection_limit_refuses_cleanly_without_fd_leak(self):
        held = []
        self.addCleanup(lambda: [c.close() for c in held])
        wait_for(lambda: self.d.status()["connections"] <= 1, what="other connections to close")
        base_fds = fd_count(self.pid())
        # fill every slot (a slot freed late by an earlier client shows up
        # as one more accepted connection, hence the loop)
        def full():
            c = self.d.rpc()
            msgid = c.send_request("server.status", {})
            msg = c.recv_msg()
            if msg[1] == msgid and msg[2] is None:
                held.append(c)
                return msg[3]["connections"] >= 16
            self.assertEqual(msg[2]["code"], "resource_exhausted", msg)
            c.close()
            return held[0].ok("server.status", {})["connections"] >= 16
        wait_for(full, interval=0, what="16 connections to be open")
        for round_ in range(3):
            refused = []
            for _ in range(20):
                c = RawClient(self.d.sock_path)
                refused.append(c)
            for c in refused:
                msg = c.recv_msg()
                self.assertEqual(msg[0], 1)
                self.assertEqual(msg[2]["code"], "resource_exhausted", msg)
                c.drain_until_closed()
                c.close()
            # the held ones still work
            self.assertIn("version", held[round_].ok("server.status", {}))
        for c in held:
            c.close()
        held.clear()
        wait_for(lambda: fd_count(self.pid()) <= base_fds + 1,
                 what="the daemon's fds to return to %d (no leak)" % base_fds)
        self.assertServed()

    def test_frame_of_exactly_the_limit_and_one_more(self):
        with self.d.rpc() as c:
            f = frame_of_size(FRAME_MAX, 7)
            self.assertEqual(len(f), FRAME_MAX)
            c.send_raw(f)
            mid, err, _ = c.recv_reply()
            self.assertEqual(mid, 7)
            self.assertEqual(err["code"], "invalid_argument", err)   # parsed: the pad key is unknown
            self.assertEqual(err.get("field"), "pad")
            self.assertIn("version", c.ok("server.status", {}))
        with self.d.rpc() as c:
            f = frame_of_size(FRAME_MAX + 1, 8)
            c.send_raw(f)
            mid, err, _ = c.recv_reply()
            self.assertEqual(err["code"], "resource_exhausted", err)
            c.drain_until_closed()
        self.assertServed()

    def test_deep_and_huge_nesting(self):
        # 16 levels (the envelope is 2 of them) are fine, 17 are not
        def nested(levels):
            return b"\x91" * levels + b"\xc0"
        with self.d.rpc() as c:
            body = b"\x94\x00\x01" + packb("role.get") + b"\x91\x81" + packb("x") + nested(13)
            c.send_raw(body)
            _, err, _ = c.recv_reply()
            self.assertEqual(err["code"], "invalid_argument")
            self.assertIn("version", c.ok("server.status", {}))
        for frame in (b"\x94\x00\x02" + packb("role.get") + b"\x91\x81" + packb("x") + nested(14),
                      b"\x91" * 100000,                        # deep, sent at once
                      b"\xdd\xff\xff\xff\xff",                # array of 4 G elements
                      b"\xdf\xff\xff\xff\xff",                # map of 4 G pairs
                      b"\x94\x00\x03" + packb("x") + b"\xdd\x00\x10\x00\x00"):  # 1 M params
            with self.d.rpc() as c:
                c.send_raw(frame)
                msg = c.recv_msg()
                self.assertIn(msg[2]["code"], ("invalid_argument", "resource_exhausted"), msg)
                c.drain_until_closed()
        # a frame within the byte limit that declares as many elements as it
        # can: msgpack-c would expand half a million map pairs ~24x, so the
        # scanner also caps elements per frame (RPC_ELEMENTS_MAX = 65536:
        # envelope 4 + params array 1 + 2 per pair)
        rss0 = rss_kib(self.pid())
        with self.d.rpc() as c:
            n = 32765                       # 5 + 2n = 65535: within the cap
            f = b"\x94\x00\x04" + packb("role.get") + b"\x91\xdf" + n.to_bytes(4, "big") + b"\x00\x00" * n
            c.send_raw(f)
            mid, err, _ = c.recv_reply()
            self.assertEqual(mid, 4)
            self.assertEqual(err["code"], "invalid_argument", err)   # decoded; too many params
            self.assertIn("version", c.ok("server.status", {}))
        for n in (32766, (FRAME_MAX - 64) // 2):                  # one over the cap; the most bytes allow
            with self.d.rpc() as c:
                f = b"\x94\x00\x05" + packb("role.get") + b"\x91\xdf" + n.to_bytes(4, "big") + b"\x00\x00" * n
                self.assertLessEqual(len(f), FRAME_MAX)
                c.send_raw(f)
                mid, err, _ = c.recv_reply()
                self.assertEqual(mid, 5)
                self.assertEqual(err["code"], "resource_exhausted", err)
                c.drain_until_closed()
        self.assertLess(rss_kib(self.pid()) - rss0, 32 * 1024)
        self.assertServed()

    def test_idle_connections_time_out(self):
        idle = self.d.rpc()
        self.addCleanup(idle.close)
        idle.ok("server.status", {})
        half = self.d.rpc()                  # a slow-loris: half a frame, then silence
        self.addCleanup(half.close)
        half.send_raw(packb([0, 1, "server.status", [{}]])[:5])
        busy = self.d.rpc()
        self.addCleanup(busy.close)
        # the busy one keeps talking (more often than the timeout) and stays
        wait_for(lambda: busy.ok("server.status", {}) and closed_by_peer(idle.sock),
                 interval=0.2, what="the idle connection to be closed")
        wait_for(lambda: busy.ok("server.status", {}) and closed_by_peer(half.sock),
                 interval=0.2, what="the half-frame connection to be closed")
        self.assertIn("version", busy.ok("server.status", {}))


if __name__ == "__main__":
    unittest.main(verbosity=2)
