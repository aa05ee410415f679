#!/usr/bin/python3
"""test_heal.py: librolesd's connections that heal, against the real rolesd
(started by harness.py as systemd would), through the C program test-heal
($TEST_HEAL): a call after the daemon closed an idle connection
(--idle-timeout 1) or restarted connects again; a write sent on a
connection lost before its answer fails with -ECONNABORTED (outcome
unknown) and is never sent again, while unsent writes and reads are."""

import os
import signal
import subprocess
import unittest

import harness
from harness import WAIT, Daemon, fresh_org, main


def program():
    p = os.environ.get("TEST_HEAL")
    if not p or not os.access(p, os.X_OK):
        raise harness.HarnessError("TEST_HEAL is not the test-heal program (run through meson)")
    return p


class Heal(harness.FailureTrackingTestCase):

    def daemon(self, *extra):
        d = Daemon(extra_args=extra)
        self.addCleanup(d.close)
        with d.rpc() as c:
            org = fresh_org(c)
        return d, org

    def start(self, d, mode, org):
        p = subprocess.Popen([program(), d.sock_path, mode, str(org)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        return p

    def expect(self, p, prefix):
        line = p.stdout.readline().strip()
        if not line.startswith(prefix):
            p.kill()
            out, err = p.communicate()
            self.fail("test-heal said %r, not %s...: %s%s" % (line, prefix, out, err))
        return line

    def finish(self, p, mode):
        out, err = p.communicate(timeout=WAIT * 4)
        self.assertEqual(p.returncode, 0, "test-heal %s: %s%s" % (mode, out, err))
        harness.report("test-heal %s: %s" % (mode, out.strip()))
        return out

    def test_idle_close(self):
        d, org = self.daemon("--idle-timeout", "1")
        p = self.start(d, "idle", org)
        self.finish(p, "idle")

    def test_restart(self):
        d, org = self.daemon()
        p = self.start(d, "restart", org)
        self.expect(p, "ready")
        d.restart()
        p.stdin.write("restarted\n")
        p.stdin.flush()
        self.finish(p, "restart")

    def test_write_sent_and_lost(self):
        d, org = self.daemon()
        p = self.start(d, "unknown", org)
        self.expect(p, "ready")
        os.kill(d.pid, signal.SIGSTOP)
        try:
            p.stdin.write("stopped\n")
            p.stdin.flush()
            self.expect(p, "sent")
        finally:
            d.restart(signal.SIGKILL)   # stopped: never read what was sent
        p.stdin.write("restarted\n")
        p.stdin.flush()
        self.finish(p, "unknown")


if __name__ == "__main__":
    main()
