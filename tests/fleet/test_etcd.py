#!/usr/bin/python3
"""test_etcd.py: daemon/etcd.c (fleet mode's etcd client) against real
etcd members from Debian's etcd-server, started by tests/lib/etcd.py on
loopback, through the C program test-etcd ($TEST_ETCD) on an sd-event loop:

- a create as one txn succeeds once; the next reports which key clashed
  (the failure branch's reads), limits refused before sending;
- range paging at a snapshot revision;
- a watch from revision R receives exactly the events after R, in order,
  with their own revisions, across messages cut mid-line (2,000 puts);
- compaction: the watch is canceled with compact_revision;
- an idle watch (silent past its stall time, its member alive) is kept;
- kill -9 of the leader: calls and the watch go on on another endpoint;
- quorum lost (SIGSTOP of two members): a txn fails with -ETIMEDOUT within
  its deadline, the watch reports no leader or a stall; SIGCONT: resumes.

Skipped only when /usr/bin/etcd is absent (scripts/install-deps installs it).
"""

import os
import signal
import subprocess
import sys
import unittest

import etcd
import harness

WAIT = 300


def program():
    p = os.environ.get("TEST_ETCD")
    if not p or not os.access(p, os.X_OK):
        raise harness.HarnessError("TEST_ETCD is not the test-etcd program (run through meson)")
    return p


def run(endpoints, mode):
    p = subprocess.run([program(), endpoints, mode], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=WAIT)
    if p.returncode != 0:
        raise AssertionError("test-etcd %s failed (%d):\n%s%s" % (mode, p.returncode, p.stdout, p.stderr))
    harness.report(p.stdout.strip())
    return p.stdout


class Session:
    """test-etcd in a mode that asks us to act on the members."""

    def __init__(self, endpoints, mode):
        self.mode = mode
        self.p = subprocess.Popen([program(), endpoints, mode], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def expect(self, what):
        line = self.p.stdout.readline().strip()
        if line != what:
            self.fail_with("said %r, not %r" % (line, what))

    def answer(self, text):
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()

    def finish(self):
        out, err = self.p.communicate(timeout=WAIT)
        if self.p.returncode != 0:
            raise AssertionError("test-etcd %s failed (%d):\n%s%s" % (self.mode, self.p.returncode, out, err))
        harness.report(out.strip())
        return out

    def fail_with(self, why):
        self.p.kill()
        out, err = self.p.communicate()
        raise AssertionError("test-etcd %s %s:\n%s%s" % (self.mode, why, out, err))

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def needs_etcd(cls):
    return unittest.skipUnless(etcd.available(), "%s is absent (scripts/install-deps installs etcd-server)"
                               % etcd.etcd_path())(cls)


@needs_etcd
class Operations(unittest.TestCase):
    """One 3-member cluster for the operations that do not hurt it."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = etcd.Cluster(3)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.close()

    def test_txn(self):
        out = run(self.cluster.endpoints, "txn")
        self.assertIn("ok txn", out)
        # What the module wrote, seen by etcd's gateway from another client.
        keys = {k for k, _, _ in self.cluster.get("/t/", prefix=True)}
        self.assertIn("/t/roles/r1", keys)
        self.assertNotIn("/t/roles/r2", keys)
        self.assertNotIn("/t/roles/r4", keys)

    def test_range(self):
        run(self.cluster.endpoints, "range")

    def test_watch(self):
        run(self.cluster.endpoints, "watch")

    def test_zz_compact(self):
        # Last of the class: the compaction would cancel the others' watches.
        run(self.cluster.endpoints, "compact")

    def test_unreachable(self):
        ports = etcd.free_ports(2)
        run(",".join("http://127.0.0.1:%d" % p for p in ports), "unreachable")


@needs_etcd
class Idle(unittest.TestCase):
    """One member, with etcd's default progress notifications (10 min)."""

    def test_idle_watch_is_kept(self):
        with etcd.Cluster(1, progress_notify="10m") as c:
            run(c.endpoints, "idle")


@needs_etcd
class Faults(unittest.TestCase):
    """A cluster of its own for each test: they stop and kill members."""

    def setUp(self):
        self.cluster = etcd.Cluster(3)
        self.addCleanup(self.cluster.close)

    def ordered(self, first):
        """The endpoints with member first in front (the one in use)."""
        urls = self.cluster.urls()
        return ",".join([urls[first]] + [u for i, u in enumerate(urls) if i != first])

    def test_leader_killed(self):
        leader = self.cluster.leader()
        s = Session(self.ordered(leader), "failover")
        self.addCleanup(s.close)
        s.expect("kill")
        self.cluster.signal(leader, signal.SIGKILL)
        s.answer("killed")
        out = s.finish()
        self.assertNotIn(self.cluster.members[leader].url, out.split("now on ")[1].split()[0])
        # The two left elected another leader and hold every key.
        new = self.cluster.leader()
        self.assertNotEqual(new, leader)
        self.assertEqual(len(self.cluster.get("/f/", prefix=True)), 300)

    def quorum(self, in_use, stop):
        s = Session(self.ordered(in_use), "quorum")
        self.addCleanup(s.close)
        s.expect("stop")
        for i in stop:
            self.cluster.signal(i, signal.SIGSTOP)
        s.answer("stopped")
        s.expect("cont")
        for i in stop:
            self.cluster.signal(i, signal.SIGCONT)
        s.answer("continued")
        s.finish()
        self.cluster.wait_healthy()
        self.assertEqual([k for k, _, _ in self.cluster.get("/q/c")], ["/q/c"])

    def test_quorum_lost_member_in_use_alive(self):
        # The member in use answers "no leader".
        self.quorum(0, (1, 2))

    def test_quorum_lost_member_in_use_stopped(self):
        # The member in use is silent: the txn's deadline, the watch's stall.
        self.quorum(0, (0, 1))


if __name__ == "__main__":
    unittest.main(verbosity=2)
