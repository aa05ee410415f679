#!/usr/bin/python3
"""test_frames.py: malformed, wrong, oversized, deep and split frames. The
daemon answers where it can address a reply, closes at worst the offending
connection, and every other connection carries on."""

import socket

from harness import FRAME_MAX, DaemonTestCase, main, packb


def padded_request(msgid, total):
    """[0, msgid, "role.get", [{"org": 0, "pad": "xxx..."}]] of exactly
    `total` bytes (a str32 pad, so the header size does not change)."""
    def frame(n):
        return packb([0, msgid, "role.get", [{"org": 0, "pad": "x" * n}]])
    base = len(frame(70000)) - 70000
    n = total - base
    assert n >= 65536, "pad must be a str32"
    f = frame(n)
    assert len(f) == total, (len(f), total)
    return f


class FramesTest(DaemonTestCase):

    def assertAlive(self):
        with self.d.rpc() as c:
            st = c.ok("server.status", {})
            self.assertIn("version", st)

    def test_malformed_byte_closes_only_that_connection(self):
        other = self.d.rpc()
        self.addCleanup(other.close)
        self.assertIsNone(other.call("server.status", {})[0])
        bad = self.d.rpc()
        self.addCleanup(bad.close)
        bad.send_raw(b"\xc1")
        msgid, err, res = bad.recv_reply()
        self.assertIsNone(msgid, "no msgid can be read from 0xc1")
        self.assertError(err, "invalid_argument")
        self.assertIsNone(res)
        self.assertEqual(bad.drain_until_closed(), [], "nothing after the error reply")
        # the connection opened before is unaffected
        self.assertIsNone(other.call("server.status", {})[0])
        self.assertIsNone(other.call("role.get", {"org": 0, "name": "admin"})[0])
        self.assertAlive()

    def test_malformed_inside_request(self):
        # 0xc1 where the method name should be: msgid 12 was readable
        with self.d.rpc() as c:
            c.send_raw(b"\x94\x00\x0c\xc1")
            msgid, err, _ = c.recv_reply()
            self.assertIn(msgid, (12, None))
            self.assertError(err, "invalid_argument")
        self.assertAlive()

    def test_wrong_envelopes(self):
        cases = [
            # (frame, msgid the reply must carry, or a tuple of acceptable ones)
            (packb([0, 1, "role.get"]), (1, None)),
            (packb(["x"]), None),
            (packb({"a": 1}), None),
            (packb([0, -1, "m", []]), None),
            (packb([0, 1, 5, []]), 1),
            (packb([0, 1, "m", 7]), 1),
            (packb([0, 2, "server.status", [{}, {}]]), 2),
            (packb([0, 3, "server.status", [5]]), 3),
            (packb([7, 5, "server.status", [{}]]), (5, None)),
            (packb(42), None),
        ]
        with self.d.rpc() as c:
            for frame, want in cases:
                c.send_raw(frame)
                msgid, err, res = c.recv_reply()
                if isinstance(want, tuple):
                    self.assertIn(msgid, want, "frame %r" % frame)
                else:
                    self.assertEqual(msgid, want, "frame %r" % frame)
                self.assertError(err, "invalid_argument", msg="frame %r" % frame)
                self.assertIsNone(res)
                # the connection stays usable
                err, st = c.call("server.status", {})
                self.assertIsNone(err, "after frame %r: %r" % (frame, err))
                self.assertIn("version", st)

    def test_oversized_frame(self):
        other = self.d.rpc()
        self.addCleanup(other.close)
        self.assertIsNone(other.call("server.status", {})[0])
        big = self.d.rpc()
        self.addCleanup(big.close)
        frame = packb([0, 77, "role.get", [{"org": 0, "name": "x" * (2 * 1024 * 1024)}]])
        big.send_raw(frame)     # the daemon may close while we are still sending
        msgid, err, _ = big.recv_reply()
        self.assertIn(msgid, (77, None))
        self.assertError(err, "resource_exhausted")
        big.drain_until_closed()
        self.assertIsNone(other.call("server.status", {})[0])
        self.assertAlive()

    def test_exactly_frame_max_is_accepted(self):
        frame = padded_request(31, FRAME_MAX)
        self.assertEqual(len(frame), 1048576)
        with self.d.rpc() as c:
            self.assertTrue(c.send_raw(frame), "daemon closed a 1 MiB frame")
            msgid, err, _ = c.recv_reply()
            self.assertEqual(msgid, 31)
            # the pad is an unknown key (or too long a string): any error but size
            self.assertIsNotNone(err)
            self.assertNotEqual(err.get("code"), "resource_exhausted", err)
            self.assertEqual(err.get("code"), "invalid_argument", err)
            # and the connection carries on
            self.assertIsNone(c.call("server.status", {})[0])

    def test_frame_max_plus_one_is_refused(self):
        frame = padded_request(32, FRAME_MAX + 1)
        self.assertEqual(len(frame), 1048577)
        with self.d.rpc() as c:
            c.send_raw(frame)
            msgid, err, _ = c.recv_reply()
            self.assertIn(msgid, (32, None))
            self.assertError(err, "resource_exhausted")
        self.assertAlive()

    def test_huge_array_header(self):
        with self.d.rpc() as c:
            # top level: array32 declaring 4,294,967,295 elements
            c.send_raw(b"\xdd\xff\xff\xff\xff")
            msgid, err, _ = c.recv_reply()
            self.assertIsNone(msgid)
            self.assertError(err, "resource_exhausted")
        with self.d.rpc() as c:
            # inside the params of an addressed request; also a huge map and str
            c.send_raw(b"\x94\x00\x09" + packb("role.get") + b"\x91\xdd\xff\xff\xff\xfe")
            msgid, err, _ = c.recv_reply()
            self.assertIn(msgid, (9, None))
            self.assertError(err, "resource_exhausted")
        with self.d.rpc() as c:
            c.send_raw(b"\x94\x00\x0a" + packb("role.get") + b"\x91\xdf\xff\xff\xff\xff")
            msgid, err, _ = c.recv_reply()
            self.assertError(err, "resource_exhausted")
        with self.d.rpc() as c:
            c.send_raw(b"\xdb\xff\xff\xff\xff")
            msgid, err, _ = c.recv_reply()
            self.assertError(err, "resource_exhausted")
        self.assertAlive()

    def test_deep_nesting(self):
        deep = {"org": 0}
        v = 0
        for _ in range(100):
            v = [v]
        deep["name"] = v
        with self.d.rpc() as c:
            c.send_raw(packb([0, 5, "role.get", [deep]]))
            msgid, err, _ = c.recv_reply()
            self.assertIn(msgid, (5, None))
            self.assertError(err, "invalid_argument")
        with self.d.rpc() as c:
            # unterminated nesting: 100 array headers, nothing else
            c.send_raw(b"\x91" * 100)
            msgid, err, _ = c.recv_reply()
            self.assertIsNone(msgid)
            self.assertError(err, "invalid_argument")
        self.assertAlive()

    def test_one_byte_at_a_time(self):
        with self.d.rpc() as c:
            c.send_bytewise(packb([0, 41, "role.get", [{"org": 0, "name": "admin"}]]))
            msgid, err, res = c.recv_reply()
            self.assertEqual(msgid, 41)
            self.assertIsNone(err)
            self.assertEqual(res["name"], "admin")
            # two requests split across one write boundary
            f = packb([0, 42, "server.status", [{}]]) + packb([0, 43, "role.get",
                                                             [{"org": 0, "id": "user"}]])
            c.send_raw(f[:7])
            c.send_raw(f[7:20])
            c.send_raw(f[20:])
            got = c.recv_replies(2)
            self.assertEqual(set(got), {42, 43})
            self.assertIsNone(got[42][0])
            self.assertEqual(got[43][1]["name"], "user")

    def test_notification_gets_no_reply(self):
        with self.d.rpc() as c:
            c.send_notify("server.status", {})
            c.send_notify("no.such.method", {})
            c.send_raw(packb([2, "role.create", [{"org": 0, "name": "from-notify"}]]))
            self.assertIsNone(c.call("server.status", {})[0])   # asserts its msgid
            self.assertIsNone(c.call("server.status", {})[0])
        self.assertAlive()

    def test_many_connections(self):
        conns = [self.d.rpc() for _ in range(50)]
        try:
            for i, c in enumerate(conns):
                c.send_request("server.status", {}, msgid=i)
            for i, c in enumerate(conns):
                msgid, err, _ = c.recv_reply()
                self.assertEqual(msgid, i)
                self.assertIsNone(err)
        finally:
            for c in conns:
                c.close()

    def test_msgid_range(self):
        with self.d.rpc() as c:
            for mid in (0, 2**32 - 1, 127, 128, 65536):
                c.send_raw(packb([0, mid, "server.status", [{}]]))
                msgid, err, _ = c.recv_reply()
                self.assertEqual(msgid, mid)
                self.assertIsNone(err)

    def test_reader_that_never_reads_does_not_wedge(self):
        flood = self.d.rpc()
        self.addCleanup(flood.close)
        flood.sock.setblocking(False)
        req = packb([0, 1, "role.get", [{"org": 0, "name": "admin"}]]) * 1000
        sent = 0
        while sent < 64 * 1024 * 1024:          # bounded: stops when the daemon stops reading
            try:
                sent += flood.sock.send(req)
            except BlockingIOError:
                break
            except (BrokenPipeError, ConnectionResetError):
                break
        # everyone else is still served
        with self.d.rpc() as c:
            self.assertIsNone(c.call("server.status", {})[0])
            self.assertIsNone(c.call("role.get", {"org": 0, "name": "user"})[0])
        flood.close()
        self.assertAlive()

    def test_half_frame_then_close(self):
        c = self.d.rpc()
        c.send_raw(packb([0, 1, "server.status", [{}]])[:5])
        c.sock.shutdown(socket.SHUT_WR)
        c.close()
        self.assertAlive()


if __name__ == "__main__":
    main()
