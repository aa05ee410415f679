#!/usr/bin/python3
"""test_errnos.py: librolesd's return values tell failures apart without
its rolesd_error, against the real rolesd (started by harness.py), through
the C program test-errors ($TEST_ERRORS): a missing socket, a missing
role and a missing organization; a peer the daemon refuses and a socket
file the peer may not open; -EEXIST, -EBUSY, -ECANCELED; the typed server
status and rolesd_version()."""

import os
import subprocess
import unittest

import harness
from harness import WAIT, Daemon, DaemonTestCase, fresh_org, main

NEED_ROOT = unittest.skipUnless(os.geteuid() == 0, "needs root to run a peer as nobody")


def program():
    p = os.environ.get("TEST_ERRORS")
    if not p or not os.access(p, os.X_OK):
        raise harness.HarnessError("TEST_ERRORS is not the test-errors program (run through meson)")
    return p


def run(sock, mode, org, as_nobody=False):
    cmd = [program(), sock, mode, str(org)]
    if as_nobody:
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + cmd
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=WAIT * 2, cwd="/")


class Errors(DaemonTestCase):

    def org(self):
        with self.d.rpc() as c:
            return fresh_org(c)

    def check(self, p, mode):
        self.assertEqual(p.returncode, 0, "test-errors %s: %s%s" % (mode, p.stdout, p.stderr))
        harness.report("test-errors %s: %s" % (mode, p.stdout.strip()))

    def test_calls(self):
        self.check(run(self.d.sock_path, "calls", self.org()), "calls")

    @NEED_ROOT
    def test_refused_peer(self):
        self.check(run(self.d.sock_path, "refused", self.org(), as_nobody=True), "refused")

    @NEED_ROOT
    def test_socket_file_not_accessible(self):
        d = Daemon(socket_mode=0o600)
        self.addCleanup(d.close)
        self.check(run(d.sock_path, "noaccess", 1, as_nobody=True), "noaccess")


if __name__ == "__main__":
    main()
