#!/usr/bin/python3
"""test_async.py: librolesd's asynchronous API against the real rolesd
(started by harness.py as systemd would), through the C program
test-async ($TEST_ASYNC): 10,000 calls in flight answered out of order, a
callback per call; rolesd_free() with calls in flight; deadlines passing
on a stopped (SIGSTOP) daemon."""

import os
import signal
import subprocess

import harness
from harness import WAIT, DaemonTestCase, fresh_org, main


def program():
    p = os.environ.get("TEST_ASYNC")
    if not p or not os.access(p, os.X_OK):
        raise harness.HarnessError("TEST_ASYNC is not the test-async program (run through meson)")
    return p


class AsyncApi(DaemonTestCase):

    def org(self):
        with self.d.rpc() as c:
            return fresh_org(c)

    def run_mode(self, mode):
        p = subprocess.run([program(), self.d.sock_path, mode, str(self.org())],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=WAIT * 10)
        self.assertEqual(p.returncode, 0, "test-async %s: %s%s" % (mode, p.stdout, p.stderr))
        harness.report("test-async %s: %s" % (mode, p.stdout.strip()))
        return p.stdout

    def test_10000_calls_in_flight(self):
        out = self.run_mode("inflight")
        self.assertIn("10000 callbacks", out)

    def test_free_with_calls_in_flight(self):
        self.run_mode("free")

    def test_deadline_on_a_stopped_daemon(self):
        p = subprocess.Popen([program(), self.d.sock_path, "deadline", str(self.org())],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            self.assertEqual(p.stdout.readline().strip(), "ready")
            os.kill(self.d.pid, signal.SIGSTOP)
            try:
                p.stdin.write("go\n")
                p.stdin.flush()
                out, err = p.communicate(timeout=WAIT * 2)
            finally:
                os.kill(self.d.pid, signal.SIGCONT)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 0, "test-async deadline: %s%s" % (out, err))
        self.assertIn("100 calls timed out", out)
        # The daemon serves on once it runs again.
        with self.d.rpc() as c:
            c.ok("server.status", {})


if __name__ == "__main__":
    main()
