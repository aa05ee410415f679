#!/usr/bin/python3
"""test_daemon.py: one rolesd per socket and per database (a second one is
refused while the first keeps serving; only a stale socket is ever
removed, never a live one, never anything that is not a socket, and a
daemon unlinks only its own socket at exit), server.status counting only
committed writes, --db creating its missing parents, and messages that
name the offending value (and read right for one organization)."""

import os
import socket
import stat
import subprocess
import tempfile
import unittest

from harness import Daemon, RawClient, main, rolesd_path, wait_for, WAIT


def plain_env():
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("LISTEN_", "NOTIFY_", "WATCHDOG_"))
            and k not in ("RUNTIME_DIRECTORY", "STATE_DIRECTORY")}


def run_rolesd(*args):
    """A rolesd expected to refuse to start: its exit status and stderr."""
    p = subprocess.run([rolesd_path()] + list(args), capture_output=True, text=True,
                       timeout=WAIT, stdin=subprocess.DEVNULL, env=plain_env())
    return p.returncode, p.stderr


class OneDaemonTest(unittest.TestCase):

    def assertServes(self, d, org):
        with d.rpc() as c:
            c.ok("org.add", {"id": org})
            self.assertEqual(c.ok("role.create", {"org": org, "name": "still here"})["name"], "still here")

    def test_second_daemon_on_a_live_socket_is_refused(self):
        with Daemon(launch="direct") as d:
            before = os.stat(d.sock_path)
            other_db = os.path.join(d.dir, "other-db")
            rc, err = run_rolesd("--socket", d.sock_path, "--db", other_db)
            self.assertNotEqual(rc, 0)
            self.assertIn("Another daemon is listening on " + d.sock_path, err)
            self.assertFalse(os.path.exists(other_db), "the refused daemon made a database")
            after = os.stat(d.sock_path)
            self.assertEqual((after.st_dev, after.st_ino), (before.st_dev, before.st_ino),
                             "the live socket was replaced")
            self.assertServes(d, 31)

    def test_second_daemon_on_the_same_database_is_refused(self):
        with Daemon(launch="direct") as d:
            other_sock = os.path.join(d.dir, "other.sock")
            rc, err = run_rolesd("--socket", other_sock, "--db", d.db)
            self.assertNotEqual(rc, 0)
            self.assertIn("The role database in %s is in use by another rolesd (pid %d)"
                          % (d.db, d.pid), err)
            self.assertFalse(os.path.exists(other_sock), "the refused daemon left its socket behind")
            self.assertServes(d, 32)
            # once the first is gone, the database is free again
            self.assertEqual(d.stop(), 0, d.stderr_text())
            d.start()
            self.assertServes(d, 33)

    def test_anything_but_a_socket_is_left_alone(self):
        with tempfile.TemporaryDirectory(prefix="rolesd-it-") as tmp:
            path = os.path.join(tmp, "rolesd.sock")
            with open(path, "w") as f:
                f.write("precious")
            rc, err = run_rolesd("--socket", path, "--db", os.path.join(tmp, "db"))
            self.assertNotEqual(rc, 0)
            self.assertIn(path + " exists and is not a socket; not removing it", err)
            with open(path) as f:
                self.assertEqual(f.read(), "precious")
            os.unlink(path)
            os.mkdir(path)
            rc, err = run_rolesd("--socket", path, "--db", os.path.join(tmp, "db"))
            self.assertNotEqual(rc, 0)
            self.assertIn("not a socket", err)
            self.assertTrue(os.path.isdir(path))

    def test_stale_socket_is_replaced(self):
        with tempfile.TemporaryDirectory(prefix="rolesd-it-") as tmp:
            path = os.path.join(tmp, "rolesd.sock")
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)                # a socket file nobody listens on: connect() is refused
            s.close()
            self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))
            with open(os.path.join(tmp, "stderr"), "w+") as log:
                p = subprocess.Popen([rolesd_path(), "--socket", path, "--db", os.path.join(tmp, "db")],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=plain_env())
                try:
                    def serving():
                        try:
                            return RawClient(path)
                        except (ConnectionRefusedError, FileNotFoundError):
                            self.assertIsNone(p.poll(), "rolesd exited")
                            return None
                    with wait_for(serving, what="rolesd to serve " + path) as c:
                        self.assertIn("version", c.ok("server.status", {}))
                finally:
                    p.terminate()
                    self.assertEqual(p.wait(WAIT), 0)
                log.seek(0)
                self.assertIn("Removed the stale socket " + path, log.read())
            self.assertFalse(os.path.exists(path))

    def test_a_socket_that_is_no_longer_ours_stays_at_exit(self):
        with Daemon(launch="direct") as d:
            os.unlink(d.sock_path)
            theirs = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                theirs.bind(d.sock_path)
                theirs.listen(1)
                ino = os.lstat(d.sock_path).st_ino
                self.assertEqual(d.stop(), 0, d.stderr_text())
                self.assertTrue(os.path.exists(d.sock_path), "rolesd unlinked a socket not its own")
                self.assertEqual(os.lstat(d.sock_path).st_ino, ino)
                self.assertIn(d.sock_path + " is no longer the socket we bound; leaving it", d.stderr_text())
            finally:
                theirs.close()

    def test_own_socket_is_removed_at_exit(self):
        with Daemon(launch="direct") as d:
            self.assertEqual(d.stop(), 0, d.stderr_text())
            self.assertFalse(os.path.exists(d.sock_path))


class DaemonPointsTest(unittest.TestCase):

    def test_status_counts_committed_writes_only(self):
        with Daemon() as d, d.rpc() as c:
            c.ok("org.add", {"id": 41})
            c.ok("role.create", {"org": 41, "name": "taken"})
            before = c.ok("server.status", {})
            refused = [
                ("role.create", {"org": 41, "name": "taken"}, "duplicate"),
                ("role.create", {"org": 41, "name": "x", "permissions": ["foo_bar"]}, "invalid_argument"),
                ("role.create", {"org": 4242, "name": "x"}, "not_found"),
                ("org.add", {"id": 41}, "duplicate"),
                ("user.add", {"username": "u", "roles": ["nope"]}, "not_found"),
            ]
            for method, params, code in refused:
                err, _ = c.call(method, params)
                self.assertEqual((err or {}).get("code"), code, (method, params, err))
            after = c.ok("server.status", {})
            for k in ("writes", "write_batches", "write_commit_us"):
                self.assertEqual(after[k], before[k], "%s counted a refused write" % k)
            c.ok("role.create", {"org": 41, "name": "committed"})
            last = c.ok("server.status", {})
            self.assertEqual(last["writes"], before["writes"] + 1)
            self.assertEqual(last["write_batches"], before["write_batches"] + 1)

    def test_db_with_missing_parents_is_created(self):
        with Daemon(launch="direct", start=False) as d:
            d.db = os.path.join(d.dir, "a", "b", "c")
            d.start()
            with d.rpc() as c:
                c.ok("org.add", {"id": 42})
            self.assertTrue(os.path.exists(os.path.join(d.db, "data.mdb")))
            self.assertEqual(stat.S_IMODE(os.stat(d.db).st_mode), 0o700)
            self.assertTrue(os.path.isdir(os.path.join(d.dir, "a", "b")))
            # a path through a regular file cannot be: a clear error
            path = os.path.join(d.dir, "file")
            with open(path, "w"):
                pass
            rc, err = run_rolesd("--socket", os.path.join(d.dir, "x.sock"), "--db", path + "/sub/db")
            self.assertNotEqual(rc, 0)
            self.assertIn("Cannot open the role database in %s/sub/db: Not a directory" % path, err)

    def test_messages_name_the_offending_value(self):
        with Daemon() as d, d.rpc() as c:
            c.ok("org.add", {"id": 43})
            cases = [
                ("role.create", {"org": 43, "name": "x", "permissions": ["business_edit", "foo_bar"]},
                 "invalid_argument", "permissions", "unknown permission: foo_bar"),
                ("role.create", {"org": 43, "name": "x", "scope": "Rooms"},
                 "invalid_argument", "scope", "Rooms"),
                ("user.add", {"username": "v", "roles": ["user", "nope"]},
                 "not_found", "roles", "no such workspace role: nope"),
                ("key.add", {"user_role": "BOSS", "org": 43}, "invalid_argument", "user_role", "BOSS"),
                ("role.get", {"org": 43, "api_id": "missing-one"}, "not_found", "api_id", "missing-one"),
                ("org.add", {"id": 43}, "duplicate", "id", "organization 43 already exists"),
            ]
            for method, params, code, field, text in cases:
                err, _ = c.call(method, params)
                self.assertEqual((err.get("code"), err.get("field")), (code, field), (method, err))
                self.assertIn(text, err.get("message"), (method, err))
            c.ok("role.create", {"org": 43, "name": "Twice"})
            err, _ = c.call("role.create", {"org": 43, "name": "Twice", "api_id": "other"})
            self.assertEqual((err.get("code"), err.get("field")), ("duplicate", "name"))
            self.assertIn("Twice", err.get("message"))
            # a value too long for a message is cut, on a character boundary
            long_name = "é" * 5000
            err, _ = c.call("role.create", {"org": 43, "name": "y", "permissions": [long_name]})
            self.assertEqual(err.get("field"), "permissions")
            self.assertTrue(err.get("message").startswith("unknown permission: éé"))
            self.assertLess(len(err.get("message").encode()), 200)

    def test_one_organization_reads_right(self):
        with Daemon(launch="direct") as d:
            text = d.stderr_text()
            self.assertRegex(text, r"serving 12 roles in 1 organization from ")
            self.assertNotIn("1 organizations", text)
            self.assertIn("STATUS=Serving 12 roles in 1 organization", d.notify_lines())
            with d.rpc() as c:
                c.ok("org.add", {"id": 44})
            d.stop()
            d.start()
            self.assertRegex(d.stderr_text(), r"serving 17 roles in 2 organizations from ")


if __name__ == "__main__":
    main()
