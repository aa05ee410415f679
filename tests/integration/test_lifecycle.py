#!/usr/bin/python3
"""test_lifecycle.py: rolesd outside socket activation (--socket, and the
RUNTIME_DIRECTORY / STATE_DIRECTORY defaults), its command line, and its
log format (sd-daemon priority prefixes on every stderr line)."""

import os
import re
import signal
import subprocess
import unittest

from harness import Daemon, main, rolesd_path

PREFIX = re.compile(rb"^<[0-7]>")


class LifecycleTest(unittest.TestCase):

    def serve_and_stop(self, d):
        with d.rpc() as c:
            st = c.ok("server.status", {})
            self.assertIn("version", st)
            c.ok("org.add", {"id": 9})
            c.ok("role.create", {"org": 9, "name": "kept"})
        self.assertEqual(d.stop(), 0, d.stderr_text())
        self.assertTrue(os.path.exists(os.path.join(d.db, "data.mdb")),
                        "no LMDB environment in %s" % d.db)
        d.start()
        with d.rpc() as c:
            self.assertEqual(c.ok("role.get", {"org": 9, "name": "kept"})["name"], "kept")

    def test_socket_option(self):
        with Daemon(launch="direct") as d:
            self.serve_and_stop(d)

    def test_runtime_and_state_directory(self):
        with Daemon(launch="env") as d:
            self.serve_and_stop(d)

    def test_socket_activation_binds_nothing_else(self):
        with Daemon() as d:
            inodes = set()
            fd_dir = "/proc/%d/fd" % d.pid
            for fd in os.listdir(fd_dir):
                try:
                    target = os.readlink(os.path.join(fd_dir, fd))
                except OSError:
                    continue
                m = re.match(r"socket:\[(\d+)\]$", target)
                if m:
                    inodes.add(m.group(1))
            listening = []
            with open("/proc/net/unix") as f:
                next(f)
                for line in f:
                    parts = line.split()
                    # Num RefCount Protocol Flags Type St Inode [Path]
                    if parts[6] in inodes and int(parts[3], 16) & 0x10000:   # __SO_ACCEPTCON
                        listening.append(parts[7] if len(parts) > 7 else "")
            self.assertEqual(listening, [d.sock_path],
                             "with LISTEN_FDS rolesd serves the passed socket only")

    def test_log_lines_have_priority_prefixes(self):
        with Daemon(launch="direct", extra_args=["--verbose"]) as d:
            with d.rpc() as c:
                c.ok("server.status", {})
                c.call("role.get", {"org": 0, "name": "no-such"})
                c.send_raw(b"\xc1")
            d.stop()
            d.start()       # a second run logs the reopen too
            d.stop(signal.SIGINT)
            lines = [l for l in d.stderr_bytes().split(b"\n") if l]
            self.assertTrue(lines, "rolesd logged nothing at all with --verbose")
            for l in lines:
                self.assertRegex(l, PREFIX, "log line without a <N> priority prefix")

    def test_command_line(self):
        for flag in ("--help", "--version"):
            p = subprocess.run([rolesd_path(), flag], capture_output=True, text=True,
                               timeout=30, stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 0)
            self.assertTrue(p.stdout.strip())
        p = subprocess.run([rolesd_path(), "--no-such-option"], capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(len(p.stderr.strip("\n").split("\n")), 1,
                         "one stderr line: %r" % p.stderr)
        p = subprocess.run([rolesd_path(), "extra-argument"], capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
        self.assertNotEqual(p.returncode, 0)

    def test_unusable_db_fails_cleanly(self):
        with Daemon(start=False) as d:
            with open(d.db, "w") as f:       # a file where the directory should be
                f.write("not a directory")
            p = subprocess.run([rolesd_path(), "--socket", d.sock_path, "--db", d.db],
                               capture_output=True, text=True, timeout=30,
                               stdin=subprocess.DEVNULL,
                               env={k: v for k, v in os.environ.items()
                                    if not k.startswith(("LISTEN_", "NOTIFY_"))})
            self.assertNotEqual(p.returncode, 0)
            self.assertTrue(p.stderr.strip(), "no error message")


if __name__ == "__main__":
    main()
