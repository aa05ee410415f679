#!/usr/bin/python3
"""test_http_limits.py: abuse limits of rolesd-http, each against the real
daemon and the real shim (tests/http/httpharness.py), each while a
well-behaved client keeps making requests: a thread doing
GET /api/v1/roles.list and POST /v2/custom_role with valid credentials in a
loop, every answer checked. "Keeps being served" means: every one of its
requests got the right answer within a generous bound (GOOD_BOUND seconds
each), during the abuse and afterwards. No assertion is on a throughput or
a latency ratio; the figures are printed (ROLESD_IT_VERBOSE is not needed).

  SlowHeaderFlood 1,100 connections from 8 addresses trickling header lines
                  and reopening when closed (more than the shim's
                  connection limit): the shim closes heads not complete
                  within HTTP_HEAD_TIMEOUT_SEC, and near the limit the one
                  waiting longest makes room for a newcomer
  PerAddressLimit past HTTP_PER_IP_CONNECTIONS_MAX from one address: 503 in
                  the dialect of the path, the connection closed
  SlowLoris       many connections (from 127.0.0.1, 127.0.0.2 and, past the
                  per-IP limit, 127.0.0.3) trickling a request line, header
                  or body a byte a second and never finishing; afterwards
                  the shim releases them once closed
  HeaderFlood     connections sending endless headers (thousands of lines,
                  one huge value, a huge request line, folded lines): cut
                  off with 400/413/414/431 or closed; the shim's RSS stays
                  within +64 MiB
  BodyOverLimit   70 KB and 10 MB bodies, with Content-Length and chunked,
                  through both APIs: 413 in the dialect, nothing written;
                  bodies trickled slowly (over the limit: 413; within it:
                  created once); Content-Length together with chunked
  FrozenDaemon    rolesd stopped with SIGSTOP: GET /openapi.json still
                  answered, role requests answered 503 within GOOD_BOUND,
                  served again once rolesd continues

Environment: ROLESD, ROLESCTL, ROLESD_HTTP (tests/reliability/meson.build).
"""

import contextlib
import http.client
import json
import os
import signal
import socket
import sys
import threading
import time

from harness import closed_by_peer, fd_count, list_all, report, rss_kib, unix_connections
from httpharness import (ORG_A, ORG_B, ORG_C, SHIM_LAZY_FDS, SHIM_WORKERS, ShimTestCase, http_call, main,
                         raw_exchange, wait_for)

GOOD_BOUND = 10.0       # seconds: the most any well-behaved request may take
ABUSE_SECONDS = 3       # each abuse goes on at least this long, in rounds
SETTLE = 10             # seconds: releasing closed connections (below the shim's 30 s idle timeout)
RSS_BOUND_KIB = 64 * 1024
PARTOO = "/v2/custom_role"
RC_CREATE = "/api/v1/roles.create"
RC_LIST = "/api/v1/roles.list"
ORGS = (0, ORG_A, ORG_B, ORG_C)


def connect_from(src, port, timeout=GOOD_BOUND):
    """A TCP connection to the shim from loopback address src."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


# --------------------------------------------------------------------------
# The well-behaved client

class WellBehaved(threading.Thread):
    """GET /api/v1/roles.list (alice) and POST /v2/custom_role (ORG_ADMIN of
    ORG_A, a fresh role each time), each on a new connection, in a loop
    until stopped. Every answer is checked; anything else (wrong status or
    body, a connection error, a timeout, more than GOOD_BOUND seconds) is a
    failure recorded with the request, the expected and the observed."""

    def __init__(self, tc, label):
        super().__init__(daemon=True)
        self.tc = tc
        self.label = label
        self.port = tc.shim.port
        self.rc_headers = tc.rc_auth()
        self.key_headers = tc.pkey("admin_a")
        self.stop_ev = threading.Event()
        self.failures = []
        self.lat = {"list": [], "create": []}
        self.created = []           # api_ids acknowledged with 200
        self.expected_extra = {}    # org -> api_ids the test itself expects created
        self.n = 0

    def one(self, kind, method, path, body, headers, check):
        t0 = time.monotonic()
        try:
            r = http_call(self.port, method, path, body, headers, timeout=GOOD_BOUND)
        except (OSError, http.client.HTTPException) as e:
            self.failures.append("%s %s: expected an answer within %ss, observed %s: %s after "
                                 "%.2fs" % (method, path, GOOD_BOUND, type(e).__name__, e,
                                            time.monotonic() - t0))
            return
        dt = time.monotonic() - t0
        problem = check(r)
        if problem is None and dt > GOOD_BOUND:
            problem = "answered after %.2fs (bound %ss)" % (dt, GOOD_BOUND)
        if problem is not None:
            self.failures.append("%s\n%s" % (problem, r))
            return
        self.lat[kind].append(dt)

    def check_list(self, r):
        if r.status != 200:
            return "expected 200 with the workspace's roles, observed %d" % r.status
        try:
            body = json.loads(r.body)
        except ValueError:
            return "expected a JSON body"
        if body.get("success") is not True or not isinstance(body.get("roles"), list):
            return "expected {\"roles\":[...],\"success\":true}"
        if "admin" not in [x.get("_id") for x in body["roles"] if isinstance(x, dict)]:
            return "expected the built-in admin role in the list"
        return None

    def run(self):
        while not self.stop_ev.is_set():
            self.n += 1
            self.one("list", "GET", RC_LIST, None, self.rc_headers, self.check_list)
            api_id = "wb_%s_%d" % (self.label, self.n)
            body = {"name": "wb %s %d" % (self.label, self.n), "api_id": api_id,
                    "permissions": ["review_read"]}

            def check_create(r, api_id=api_id):
                if r.status != 200:
                    return "expected 200 (role created), observed %d" % r.status
                try:
                    b = json.loads(r.body)
                except ValueError:
                    return "expected a JSON body"
                if b != {"status": "success", "api_id": api_id}:
                    return "expected {\"status\":\"success\",\"api_id\":%r}" % api_id
                self.created.append(api_id)
                return None
            self.one("create", "POST", PARTOO, body, self.key_headers, check_create)
            self.stop_ev.wait(0.02)

    def stop(self):
        self.stop_ev.set()
        self.join(3 * GOOD_BOUND)

    def figures(self):
        parts = []
        for k, v in self.lat.items():
            parts.append("%s n=%d p50=%.1fms p99=%.1fms max=%.1fms"
                         % (k, len(v), 1000 * pct(v, 50), 1000 * pct(v, 99),
                            1000 * (max(v) if v else float("nan"))))
        return "; ".join(parts)


class AbuseTestCase(ShimTestCase):
    """ShimTestCase (own daemon + shim per class) plus the well-behaved
    client and the checks that the abuse wrote nothing."""

    def shim_pid(self):
        return self.shim.proc.pid

    def snapshot(self):
        with self.d.rpc() as c:
            return {o: {r["id"]: r for r in list_all(c, o)[0]} for o in ORGS}

    @contextlib.contextmanager
    def served_meanwhile(self, label, min_rounds=3):
        """Runs the well-behaved client around the block; afterwards
        asserts every one of its requests was answered right, that it made
        at least min_rounds of each, that the roles it was told were
        created are in ORG_A, and that nothing else was written anywhere."""
        before = self.snapshot()
        wb = WellBehaved(self, label)
        t0 = time.monotonic()
        wb.start()
        try:
            yield wb
        finally:
            wb.stop()
        elapsed = time.monotonic() - t0
        report("%s: well-behaved client during the abuse (%.1fs): %s; %d failures"
               % (label, elapsed, wb.figures(), len(wb.failures)))
        self.assertFalse(wb.is_alive(), "the well-behaved client is stuck in a request")
        self.assertEqual(wb.failures, [], "%s: %d of the well-behaved client's requests were "
                         "not served right during the abuse; first ones:\n%s"
                         % (label, len(wb.failures), "\n\n".join(wb.failures[:5])))
        for k, v in wb.lat.items():
            self.assertGreaterEqual(len(v), min_rounds, "%s: the well-behaved client made only "
                                    "%d %s requests during the abuse" % (label, len(v), k))
        expected = {o: set(v) for o, v in wb.expected_extra.items()}
        expected.setdefault(ORG_A, set()).update(wb.created)
        self.assertNothingElseWritten(before, expected, label)

    def assertNothingElseWritten(self, before, expected_new, label):
        """Every org holds what it held before (unchanged) plus exactly the
        roles expected_new names (org -> set of api_ids)."""
        after = self.snapshot()
        for o in ORGS:
            for rid, r in before[o].items():
                self.assertEqual(after[o].get(rid), r, "%s: role %s of org %d changed or vanished"
                                 % (label, rid, o))
            new = {after[o][rid]["api_id"] for rid in set(after[o]) - set(before[o])}
            self.assertEqual(new, expected_new.get(o, set()),
                             "%s: org %d gained other roles than expected" % (label, o))

    def assertServedAfter(self, label, rounds=3):
        """The well-behaved client again, alone, for a few rounds."""
        before = self.snapshot()
        wb = WellBehaved(self, label + "-after")
        wb.start()
        wait_for(lambda: len(wb.lat["create"]) + len(wb.failures) >= rounds or not wb.is_alive(),
                 timeout=rounds * 2 * GOOD_BOUND + 5,
                 what="%d well-behaved rounds after the abuse" % rounds)
        wb.stop()
        self.assertEqual(wb.failures, [], "%s: the well-behaved client was not served right "
                         "after the abuse:\n%s" % (label, "\n\n".join(wb.failures[:5])))
        self.assertNothingElseWritten(before, {ORG_A: set(wb.created)}, label + " (after)")

    def warm_fds(self):
        for _ in range(16):
            http_call(self.shim.port, "GET", RC_LIST, headers=self.rc_auth())
        return fd_count(self.shim_pid())


# --------------------------------------------------------------------------
# (1) slow-loris

class SlowLoris(AbuseTestCase):
    PER_IP = 256                # HTTP_PER_IP_CONNECTIONS_MAX
    LORIS_SECONDS = 6           # below HTTP_HEAD_TIMEOUT_SEC (10), with room for a loaded machine

    def loris_heads(self):
        """What each kind of slow-loris trickles, a byte at a time (none is
        ever finished)."""
        key = self.keys["admin_a"].encode()
        rc = self.rc_auth()
        rc_h = ("X-User-Id: %s\r\nX-Auth-Token: %s\r\n" % (rc["X-User-Id"], rc["X-Auth-Token"])).encode()
        pad = b"a" * 4000
        return [
            # the request line, never ended
            b"GET /api/v1/roles.list?x=" + pad,
            # headers, never ended
            b"POST /v2/custom_role HTTP/1.1\r\nHost: x\r\nx-APIKey: " + key + b"\r\nX-Slow: " + pad,
            # a whole head, then a body that never completes (announced 60000 bytes)
            b"POST /v2/custom_role HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"x-APIKey: " + key + b"\r\nContent-Length: 60000\r\n\r\n"
            b'{"name": "loris", "api_id": "loris", "permissions": [], "description": "' + pad,
            b"POST /api/v1/roles.create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + rc_h + b"Transfer-Encoding: chunked\r\n\r\n" + b"ea60\r\n" + b'{"name": "loris-' + pad,
        ]

    def test_slow_loris(self):
        port = self.shim.port
        base_fds = self.warm_fds()
        heads = self.loris_heads()
        # (source address, connections): 127.0.0.1 is shared with the
        # well-behaved client and stays well below the per-IP limit;
        # 127.0.0.3 tries to go past it
        plan = [("127.0.0.1", 100), ("127.0.0.2", 100), ("127.0.0.3", self.PER_IP + 44)]
        loris = []          # [sock, src, head, pos, closed_at_round]
        self.addCleanup(lambda: [l[0].close() for l in loris])
        with self.served_meanwhile("slow-loris", min_rounds=3) as wb:
            refused_connect = {}
            for src, n in plan:
                for i in range(n):
                    try:
                        s = connect_from(src, port)
                    except OSError:
                        refused_connect[src] = refused_connect.get(src, 0) + 1
                        continue
                    loris.append([s, src, heads[len(loris) % len(heads)], 0, None])
            # trickle: one byte per connection per round, a round a second
            for rnd in range(self.LORIS_SECONDS):
                for l in loris:
                    if l[4] is not None:
                        continue
                    s, _, head, pos, _ = l
                    if closed_by_peer(s):
                        l[4] = rnd
                        continue
                    try:
                        s.send(head[pos:pos + 1])
                        l[3] = pos + 1
                    except OSError:
                        l[4] = rnd
                wb.stop_ev.wait(1.0)
            for l in loris:
                if l[4] is None and closed_by_peer(l[0]):
                    l[4] = self.LORIS_SECONDS
            open_by = {}
            for src, _ in plan:
                open_by[src] = sum(1 for l in loris if l[1] == src and l[4] is None)
            fds_during = fd_count(self.shim_pid())
        report("slow-loris: %s connections attempted, still open after %ds: %s; connect refused: "
               "%s; shim fds %d (baseline %d)" % (dict(plan), self.LORIS_SECONDS, open_by,
                                                  refused_connect, fds_during, base_fds))
        # the per-IP limit held for the address that went past it, and the
        # others (below it) were not cut off
        self.assertLessEqual(open_by["127.0.0.3"], self.PER_IP,
                             "more than HTTP_PER_IP_CONNECTIONS_MAX connections from one address "
                             "are held open: %r" % open_by)
        for src, n in plan[:2]:
            self.assertEqual(open_by[src], n, "slow connections from %s below the per-IP limit "
                             "were closed (%d of %d still open); this is allowed only after the "
                             "head deadline (HTTP_HEAD_TIMEOUT_SEC), and they were never idle"
                             % (src, open_by[src], n))
        # abandoned: closed by the clients, released by the shim
        for l in loris:
            l[0].close()
        try:
            wait_for(lambda: fd_count(self.shim_pid()) <= base_fds + SHIM_LAZY_FDS + 8, timeout=SETTLE,
                     what="the shim to release closed slow-loris connections")
        except AssertionError:
            pass
        held = fd_count(self.shim_pid()) - base_fds
        report("slow-loris: %d shim descriptors above baseline %ss after the clients closed"
               % (held, SETTLE))
        self.assertLessEqual(held, SHIM_LAZY_FDS + 8, "%d descriptors still held %ss after %d slow-loris clients "
                             "closed their connections (baseline %d)"
                             % (held, SETTLE, len(loris), base_fds))
        self.assertServedAfter("slow-loris")
        self.assertShimAlive()


# --------------------------------------------------------------------------
# (1b) a flood of slow heads past the connection limit

class SlowHeaderFlood(AbuseTestCase):
    """1,100 connections (more than HTTP_CONNECTIONS_MAX) from 8 loopback
    addresses, each sending a request line and then a header line every
    half second, never ending its head, and opening a new connection
    whenever the shim closes one. Without a deadline on the head
    (libmicrohttpd 0.9.75 has none) they hold every slot and the
    well-behaved client is not served at all; with the shim's own
    bookkeeping it keeps getting its answers."""
    SOURCES = ["127.0.0.%d" % i for i in range(2, 10)]
    FLOODERS = 1100
    CONNECTIONS_MAX = 1024          # HTTP_CONNECTIONS_MAX
    HEAD_TIMEOUT = 10               # HTTP_HEAD_TIMEOUT_SEC
    ROUNDS = 2 * HEAD_TIMEOUT + 8   # half seconds: past one head deadline

    @classmethod
    def setUpClass(cls):
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 4 * cls.FLOODERS
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
        super().setUpClass()

    def open_one(self, i):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((self.SOURCES[i % len(self.SOURCES)], 0))
            s.settimeout(GOOD_BOUND)
            s.connect(("127.0.0.1", self.shim.port))
            s.setblocking(False)
            s.send(b"GET /api/v1/roles.list HTTP/1.1\r\nHost: x\r\n")
        except OSError:
            s.close()
            return None
        return s

    def test_slow_header_flood(self):
        base_fds = self.warm_fds()
        flood = [None] * self.FLOODERS
        self.addCleanup(lambda: [s.close() for s in flood if s is not None])
        closed_by_shim = 0
        refused = 0
        most_fds = 0
        with self.served_meanwhile("slow-header-flood", min_rounds=3):
            for rnd in range(self.ROUNDS):
                for i, s in enumerate(flood):
                    if s is not None:
                        try:
                            if closed_by_peer(s):
                                raise ConnectionResetError
                            s.send(b"X-Slow-%d: %d\r\n" % (rnd, i))
                            continue
                        except OSError:
                            s.close()
                            closed_by_shim += 1
                    flood[i] = self.open_one(i)
                    refused += flood[i] is None
                most_fds = max(most_fds, fd_count(self.shim_pid()))
                time.sleep(0.5)
        report("slow-header-flood: %d flooders from %d addresses for %.0fs: %d of their connections "
               "closed by the shim, %d connects failed; shim fds at most %d (baseline %d)"
               % (self.FLOODERS, len(self.SOURCES), self.ROUNDS / 2, closed_by_shim, refused,
                  most_fds, base_fds))
        # the flood did fill the shim, and the shim cut slow heads off
        self.assertGreaterEqual(most_fds - base_fds, self.CONNECTIONS_MAX - 64,
                                "the flood never came near the connection limit")
        self.assertGreater(closed_by_shim, 0, "no slow head was ever closed")
        for s in flood:
            if s is not None:
                s.close()
        flood[:] = [None] * len(flood)
        try:
            wait_for(lambda: fd_count(self.shim_pid()) <= base_fds + SHIM_LAZY_FDS + 8, timeout=SETTLE,
                     what="the shim to release the flood's connections")
        except AssertionError:
            pass
        self.assertLessEqual(fd_count(self.shim_pid()) - base_fds, SHIM_LAZY_FDS + 8,
                             "descriptors still held %ss after the flood ended" % SETTLE)
        self.assertServedAfter("slow-header-flood")
        self.assertShimAlive()


# --------------------------------------------------------------------------
# (1c) past the per-address connection limit

class PerAddressLimit(AbuseTestCase):
    """HTTP_PER_IP_CONNECTIONS_MAX connections from one address, each
    served; one more from it gets 503 in the dialect of its path and is
    closed (libmicrohttpd alone closed it unanswered); past
    HTTP_PER_IP_REFUSALS_MAX more held at once, they are closed unanswered.
    Other addresses are served meanwhile; once one of the address's
    connections closes, it is served again."""
    SRC = "127.0.0.4"
    PER_IP = 256                # HTTP_PER_IP_CONNECTIONS_MAX
    REFUSALS = 16               # HTTP_PER_IP_REFUSALS_MAX

    def request(self, s, path, headers, close=False):
        head = "GET %s HTTP/1.1\r\nHost: x\r\n%s%s\r\n" % (
            path, "".join("%s: %s\r\n" % kv for kv in headers.items()),
            "Connection: close\r\n" if close else "")
        s.sendall(head.encode())
        r = http.client.HTTPResponse(s, method="GET")
        r.begin()
        body = r.read()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body

    def assertClosed(self, s, what):
        s.settimeout(GOOD_BOUND)
        try:
            self.assertEqual(s.recv(1), b"", what + ": the connection stayed open")
        except ConnectionResetError:
            pass

    def test_503_past_the_per_address_limit(self):
        held = []
        self.addCleanup(lambda: [s.close() for s in held])
        with self.served_meanwhile("per-address-limit", min_rounds=3):
            for i in range(self.PER_IP):
                s = connect_from(self.SRC, self.shim.port)
                held.append(s)
                st, _, body = self.request(s, "/openapi.json", {})
                self.assertEqual(st, 200, "connection %d from %s (below the limit): expected 200, "
                                 "observed %d %r" % (i + 1, self.SRC, st, body[:200]))
            for path, headers, dialect in ((PARTOO, self.pkey("admin_a"), "partoo"),
                                           (RC_LIST, self.rc_auth(), "rc")):
                s = connect_from(self.SRC, self.shim.port)
                try:
                    st, h, body = self.request(s, path, headers)
                    what = ("GET %s on connection %d from %s: expected 503 in the dialect, then "
                            "the connection closed; observed %d %r %r"
                            % (path, self.PER_IP + 1, self.SRC, st, h, body[:300]))
                    self.assertEqual(st, 503, what)
                    self.assertEqual(h.get("content-type", "").split(";")[0], "application/json", what)
                    doc = json.loads(body)
                    if dialect == "rc":
                        self.assertEqual(doc.get("success"), False, what)
                        self.assertIsInstance(doc.get("error"), str, what)
                    else:
                        self.assertIsInstance(doc.get("errors", {}).get("json"), str, what)
                    self.assertEqual(h.get("connection", "").lower(), "close", what)
                    self.assertClosed(s, what)
                finally:
                    s.close()
            # past the refusals held at once: closed unanswered
            extra = [connect_from(self.SRC, self.shim.port) for _ in range(self.REFUSALS + 8)]
            held.extend(extra)
            wait_for(lambda: sum(closed_by_peer(s) for s in extra) >= 8, timeout=GOOD_BOUND,
                     what="connections past %d + %d from one address to be closed"
                     % (self.PER_IP, self.REFUSALS))
            for s in extra:
                s.close()
            # a connection of the address closes: it is served again
            held.pop(0).close()
            served = []

            def one_served():
                s = connect_from(self.SRC, self.shim.port)
                try:
                    st, _, _ = self.request(s, "/openapi.json", {}, close=True)
                except (OSError, http.client.HTTPException):
                    return False
                finally:
                    s.close()
                served.append(st)
                return st == 200
            wait_for(one_served, timeout=GOOD_BOUND,
                     what="a new connection from %s to be served once one of its %d closed"
                     % (self.SRC, self.PER_IP))
        report("per-address-limit: %d held from %s, the next answered 503 in each dialect; "
               "served again after %d tries once one closed" % (self.PER_IP, self.SRC, len(served)))
        self.assertShimAlive()


# --------------------------------------------------------------------------
# (2) header flood

class HeaderFlood(AbuseTestCase):
    FLOOD_BYTES = 4 * 1024 * 1024       # what each flooder tries to send
    CUT_STATUSES = (400, 413, 414, 431)

    def floods(self):
        """(label, head, generator of endless-ish chunks)."""
        key = self.keys["admin_a"].encode()

        def many_lines():
            i = 0
            while True:
                yield b"".join(b"X-Flood-%d: %s\r\n" % (i + j, b"v" * 20) for j in range(256))
                i += 256

        def huge_value():
            while True:
                yield b"v" * 65536

        def folded():
            while True:
                yield b" folded continuation line\r\n" * 2048

        def tiny():
            while True:
                yield b"a:\r\n" * 16384

        return [
            ("thousands of header lines (/v2)",
             b"POST /v2/custom_role HTTP/1.1\r\nHost: x\r\nx-APIKey: " + key + b"\r\n", many_lines),
            ("thousands of header lines (/api/v1)",
             b"GET /api/v1/roles.list HTTP/1.1\r\nHost: x\r\n", many_lines),
            ("one multi-MB header value", b"GET /api/v1/roles.list HTTP/1.1\r\nHost: x\r\nX-Big: ",
             huge_value),
            ("multi-MB request line", b"GET /v2/custom_role?x=", huge_value),
            ("obs-fold continuation lines",
             b"GET /v2/permissions HTTP/1.1\r\nHost: x\r\nX-Fold: a\r\n", folded),
            ("tiny empty-valued headers", b"GET /v2/permissions HTTP/1.1\r\nHost: x\r\n", tiny),
        ]

    def flood_one(self, label, head, gen, out):
        """Sends head + chunks up to FLOOD_BYTES (from a thread), reads the
        answer here; out gets (label, sent, status line or None, how it ended)."""
        t0 = time.monotonic()
        s = socket.create_connection(("127.0.0.1", self.shim.port), timeout=GOOD_BOUND)
        sent = [0]
        send_end = []

        def sender():
            try:
                s.sendall(head)
                sent[0] += len(head)
                for c in gen():
                    if sent[0] >= self.FLOOD_BYTES:
                        break
                    s.sendall(c)
                    sent[0] += len(c)
                send_end.append("sent all")
            except OSError as e:
                send_end.append("send stopped: %s" % (e.strerror or e))
        t = threading.Thread(target=sender, daemon=True)
        t.start()
        status, ended, ctype, t_ans = None, None, None, None
        try:
            r = http.client.HTTPResponse(s, method="GET")
            r.begin()
            status = r.status
            ctype = r.getheader("Content-Type")
            r.read()
            t_ans = time.monotonic() - t0
            ended = "answered"
            # then the shim closes the connection (EOF or reset), whatever
            # the sender is still pushing
            s.settimeout(GOOD_BOUND)
            try:
                while s.recv(65536):
                    pass
            except socket.timeout:
                ended = "answered, then held open"
            except OSError:
                pass
        except socket.timeout:
            ended = "silent"       # neither answered nor closed within GOOD_BOUND
        except (http.client.HTTPException, OSError) as e:
            ended = "closed (%s)" % type(e).__name__
        finally:
            if t_ans is None:
                t_ans = time.monotonic() - t0
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            t.join(GOOD_BOUND)
            s.close()
        out.append((label, sent[0], status, ended, ctype, send_end[0] if send_end else "?",
                    t_ans, time.monotonic() - t0))

    def test_header_flood(self):
        pid = self.shim_pid()
        base_fds = self.warm_fds()
        rss0 = rss_kib(pid)
        peak = [rss0]
        sampling = threading.Event()

        def sampler():
            while not sampling.is_set():
                try:
                    peak[0] = max(peak[0], rss_kib(pid))
                except OSError:
                    return
                sampling.wait(0.02)
        st = threading.Thread(target=sampler, daemon=True)
        st.start()
        out = []
        rounds = 0
        with self.served_meanwhile("header-flood", min_rounds=3):
            t_end = time.monotonic() + ABUSE_SECONDS
            while rounds < 3 or time.monotonic() < t_end:
                rounds += 1
                ts = [threading.Thread(target=self.flood_one, args=(l, h, g, out), daemon=True)
                      for l, h, g in self.floods() for _k in range(3)]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join(4 * GOOD_BOUND)
                self.assertFalse(any(t.is_alive() for t in ts), "a flooder is stuck")
        sampling.set()
        st.join(5)
        grown = peak[0] - rss0
        by = {}
        for label, sent, status, ended, ctype, send_end, t_ans, t_all in out:
            e = by.setdefault(label, {"max_sent": 0, "outcomes": set(), "t_ans": 0, "t_all": 0})
            e["max_sent"] = max(e["max_sent"], sent)
            e["t_ans"] = max(e["t_ans"], t_ans)
            e["t_all"] = max(e["t_all"], t_all)
            e["outcomes"].add("%s %s%s" % (ended, status or "",
                                           (" [%s]" % ctype) if status else ""))
        for label, e in by.items():
            report("header-flood: %-36s most bytes sent before the cut: %8d; slowest answer "
                   "%.2fs (sender done %.2fs); outcomes: %s"
                   % (label, e["max_sent"], e["t_ans"], e["t_all"], sorted(e["outcomes"])))
        report("header-flood: shim RSS %d KiB before, peak %d KiB (+%d KiB) over %d flooders "
               "in %d rounds" % (rss0, peak[0], grown, len(out), rounds))
        for label, sent, status, ended, ctype, send_end, _, _ in out:
            what = ("%s: %d bytes of request head sent (%s): expected an error status in %s or "
                    "the connection closed, observed %s %s"
                    % (label, sent, send_end, self.CUT_STATUSES, ended, status))
            self.assertIn(ended.split(" (")[0], ("answered", "closed"), what)
            if status is not None:
                self.assertIn(status, self.CUT_STATUSES, what)
        self.assertLess(grown, RSS_BOUND_KIB, "rolesd-http's RSS grew by %d KiB under the header "
                        "flood (bound %d KiB)" % (grown, RSS_BOUND_KIB))
        try:
            wait_for(lambda: fd_count(pid) <= base_fds + SHIM_LAZY_FDS + 8, timeout=SETTLE,
                     what="the shim to release the flood connections")
        except AssertionError:
            pass
        self.assertLessEqual(fd_count(pid) - base_fds, SHIM_LAZY_FDS + 8, "descriptors still held %ss after the "
                             "header flood (baseline %d, now %d)"
                             % (SETTLE, base_fds, fd_count(pid)))
        self.assertServedAfter("header-flood")
        self.assertShimAlive()


# --------------------------------------------------------------------------
# (3) bodies over the limit

class BodyOverLimit(AbuseTestCase):

    def targets(self):
        return [(PARTOO, dict(self.pkey("admin_a")), self.assertPartooDialect),
                (RC_CREATE, dict(self.rc_auth()), self.assertRCDialect)]

    @staticmethod
    def big_body(n, tag):
        head = b'{"name": "big-' + tag.encode() + b'", "api_id": "big_' + tag.encode() + \
            b'", "permissions": [], "description": "'
        tail = b'"}'
        return head + b"d" * (n - len(head) - len(tail)) + tail

    def expect_413(self, path, headers, data, dialect, what, **kw):
        chunk = 64 * 1024
        chunks = [data[i:i + chunk] for i in range(0, len(data), chunk)]
        h = dict(headers, **{"Content-Type": "application/json"})
        r, err = raw_exchange(self.shim.port, "POST", path, h, chunks, **kw)
        self.assertIsNotNone(r, "%s: POST %s with a %d-byte body (%s): expected 413 in the "
                             "dialect, observed no HTTP response (%r)"
                             % (what, path, len(data), kw, err))
        dialect(r, 413)

    def test_bodies_over_the_limit(self):
        cases = []
        for size, sname in ((70 * 1000, "70KB"), (10 * 1024 * 1024, "10MB")):
            for framing, kw in (("content-length", {"content_length": size}),
                                ("chunked", {"chunked": True})):
                for path, h, dialect in self.targets():
                    cases.append(("%s %s %s" % (sname, framing, path), path, h, size, dialect, kw))
        # Content-Length and chunked together (TE wins: the body is 70 KB):
        # 413 or 400 (ambiguous framing refused), never a role
        smuggle = []
        failed = {}         # case -> (count, first message)
        timings = {}
        rounds = 0
        with self.served_meanwhile("body-over-limit", min_rounds=3):
            t_end = time.monotonic() + ABUSE_SECONDS
            while rounds < 2 or time.monotonic() < t_end:
                rounds += 1
                for i, (what, path, h, size, dialect, kw) in enumerate(cases):
                    t0 = time.monotonic()
                    try:
                        self.expect_413(path, h, self.big_body(size, "%d" % i), dialect, what,
                                        **kw)
                    except AssertionError as e:
                        n, first = failed.get(what, (0, str(e)))
                        failed[what] = (n + 1, first)
                    timings.setdefault(what, []).append(time.monotonic() - t0)
                for path, h, _ in self.targets():
                    data = self.big_body(70 * 1000, "te-cl")
                    chunks = [data[i:i + 4096] for i in range(0, len(data), 4096)]
                    r, err = raw_exchange(self.shim.port, "POST", path, dict(h, **{
                        "Content-Type": "application/json", "Content-Length": "10"}), chunks,
                        chunked=True)
                    smuggle.append((path, r.status if r else None, err and type(err).__name__))
        for what, ts in timings.items():
            report("body-over-limit: %-40s x%d, max %.3fs, %s"
                   % (what, len(ts), max(ts), "%d failed" % failed[what][0] if what in failed
                      else "all 413 in the dialect"))
        for what, *_ in cases:
            with self.subTest(what):
                if what in failed:
                    self.fail("%s (%d of %d attempts): %s" % (what, failed[what][0], rounds,
                                                              failed[what][1]))
        for path, status, err in smuggle:
            with self.subTest("Content-Length: 10 with chunked 70KB " + path):
                self.assertIn(status, (400, 413), "POST %s with Content-Length: 10 and a 70 KB "
                              "chunked body: expected 413 (or 400), observed %s (%s)"
                              % (path, status, err))
        report("body-over-limit: Content-Length + chunked: %r" % (sorted(set(smuggle), key=repr),))
        self.assertShimAlive()

    def trickle(self, path, headers, pieces, delay, content_length=None, chunked=False):
        return raw_exchange(self.shim.port, "POST", path,
                            dict(headers, **{"Content-Type": "application/json"}),
                            _Trickle(pieces, delay), content_length=content_length,
                            chunked=chunked, timeout=GOOD_BOUND + 60 * delay)

    def test_trickled_bodies(self):
        results = []
        with self.served_meanwhile("body-trickle", min_rounds=3) as wb:
            for path, h, dialect in self.targets():
                # over the limit, chunked, 4 KiB every 50 ms: 413 once it ends
                data = self.big_body(70 * 1000, "trickle-chunked")
                pieces = [data[i:i + 4096] for i in range(0, len(data), 4096)]
                with self.subTest("trickled 70KB chunked " + path):
                    r, err = self.trickle(path, h, pieces, 0.05, chunked=True)
                    results.append(("70KB chunked trickled", path, r.status if r else err))
                    self.assertIsNotNone(r, "POST %s, a 70 KB chunked body trickled 4 KiB per "
                                         "50 ms: expected 413, observed no response (%r)"
                                         % (path, err))
                    dialect(r, 413)
                # over the limit, announced: 413 without waiting for the trickle
                with self.subTest("trickled 70KB with Content-Length " + path):
                    r, err = self.trickle(path, h, pieces, 0.05, content_length=len(data))
                    results.append(("70KB content-length trickled", path, r.status if r else err))
                    self.assertIsNotNone(r, "no response (%r)" % (err,))
                    dialect(r, 413)
            # within the limit, trickled 16 bytes every 100 ms: created, once
            made = {}
            for path, h, _ in self.targets():
                if path == PARTOO:
                    body = json.dumps({"name": "slow body", "api_id": "slow_body",
                                       "permissions": ["review_read"]}).encode()
                else:
                    body = json.dumps({"name": "slow-body", "description": "trickled"}).encode()
                pieces = [body[i:i + 16] for i in range(0, len(body), 16)]
                for framing, kw in (("content-length", {"content_length": len(body)}),):
                    with self.subTest("trickled valid body " + path):
                        r, err = self.trickle(path, h, pieces, 0.1, **kw)
                        results.append(("valid body trickled", path, r.status if r else err))
                        self.assertIsNotNone(r, "no response (%r)" % (err,))
                        b = self.check_json(r, 200)
                        made[path] = b
                        if path == PARTOO:
                            wb.expected_extra.setdefault(ORG_A, set()).add("slow_body")
                        else:
                            wb.expected_extra.setdefault(0, set()).add("slow-body")
        report("body-trickle: %r" % (results,))
        # the two slow valid bodies are there, once, where they belong
        with self.d.rpc() as c:
            if PARTOO in made:
                role = c.ok("role.get", {"org": ORG_A, "api_id": "slow_body"})
                self.assertEqual(role["name"], "slow body")
            if RC_CREATE in made:
                role = c.ok("role.get", {"org": 0, "name": "slow-body"})
                self.assertEqual(role["id"], made[RC_CREATE]["role"]["_id"])
        self.assertShimAlive()


# --------------------------------------------------------------------------
# (4) a frozen daemon

class FrozenDaemon(AbuseTestCase):
    """rolesd stopped (SIGSTOP) while requests arrive: the shim must not
    wedge. GET /openapi.json needs no daemon and is answered; role requests
    are answered (503 in the dialect: rolesd is unreachable) within
    GOOD_BOUND rather than held for as long as the daemon is frozen; once
    rolesd continues, the well-behaved client is served. The pending
    requests all wait at once on the shim's pipelined connections: rolesd
    never sees more connections than the shim has workers."""

    PENDING = 48            # twelve times the shim's worker threads

    def test_frozen_daemon_does_not_wedge_the_shim(self):
        pid = self.d.proc.pid
        self.assertServedAfter("before-freeze", rounds=2)
        os.kill(pid, signal.SIGSTOP)
        self.addCleanup(lambda: os.kill(pid, signal.SIGCONT) if self.d.running() else None)
        results = [None] * self.PENDING

        def get(i):
            t0 = time.monotonic()
            path, h = ((RC_LIST, self.rc_auth()) if i % 2 else
                       ("/v2/custom_role?per_page=1", self.pkey("admin_a")))
            try:
                r = http_call(self.shim.port, "GET", path, headers=h, timeout=GOOD_BOUND)
                results[i] = (r, time.monotonic() - t0)
            except (OSError, http.client.HTTPException) as e:
                results[i] = ("GET %s: %s: %s" % (path, type(e).__name__, e),
                              time.monotonic() - t0)
        ts = [threading.Thread(target=get, args=(i,), daemon=True) for i in range(self.PENDING)]
        for t in ts:
            t.start()
        time.sleep(0.5)             # let them reach the shim's workers
        rpc_conns = unix_connections(self.shim_pid())   # while all of them wait on rolesd
        t0 = time.monotonic()
        try:
            doc = http_call(self.shim.port, "GET", "/openapi.json", timeout=GOOD_BOUND)
            doc_res = (doc.status, time.monotonic() - t0)
        except (OSError, http.client.HTTPException) as e:
            doc_res = ("%s: %s" % (type(e).__name__, e), time.monotonic() - t0)
        for t in ts:
            t.join(2 * GOOD_BOUND)
        os.kill(pid, signal.SIGCONT)
        report("frozen-daemon: GET /openapi.json -> %r after %.2fs; shim's rolesd connections "
               "while they waited: %d; %d role reads -> %s"
               % (doc_res[0], doc_res[1], rpc_conns, self.PENDING,
                  sorted(("%s after %.1fs" % (x[0].status if hasattr(x[0], "status")
                                              else x[0].split(": ")[1], x[1]))
                         for x in results if x)))
        self.assertServedAfter("after-freeze", rounds=2)
        self.assertLessEqual(rpc_conns, SHIM_WORKERS,
                             "%d requests pending at once: the shim holds %d connections to rolesd, "
                             "with %d workers of one pipelined connection each"
                             % (self.PENDING, rpc_conns, SHIM_WORKERS))
        self.assertGreaterEqual(rpc_conns, 1, "no connection to rolesd while requests wait on it")
        self.assertEqual(doc_res[0], 200, "GET /openapi.json while rolesd is frozen (SIGSTOP) "
                         "and %d role requests are pending: expected 200 within %ss (it needs no "
                         "daemon), observed %r after %.2fs"
                         % (self.PENDING, GOOD_BOUND, doc_res[0], doc_res[1]))
        for x in results:
            self.assertIsNotNone(x)
            self.assertNotIsInstance(x[0], str, "a role read while rolesd is frozen: expected "
                                     "503 in the dialect within %ss, observed %s after %.2fs"
                                     % (GOOD_BOUND, x[0], x[1]))
            if x[0].req[1].startswith("/v2"):
                self.assertPartooDialect(x[0], 503)
            else:
                self.assertRCDialect(x[0], 503)


class _Trickle:
    """An iterable of body pieces that sleeps before each piece after the
    first (raw_exchange sends them from its sender thread)."""

    def __init__(self, pieces, delay):
        self.pieces = pieces
        self.delay = delay

    def __iter__(self):
        for i, p in enumerate(self.pieces):
            if i:
                time.sleep(self.delay)
            yield p


if __name__ == "__main__":
    main()
