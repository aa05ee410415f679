#!/usr/bin/python3
"""test_errors.py: one test per wire error code, proving each is produced
by the daemon (or, for unavailable, by the client)."""

import os
import tempfile
import unittest

import msgpack

from harness import (Daemon, wait_for, DaemonTestCase, fresh_org, main, packb,
                     run_rolesctl)

try:
    import lmdb
except ImportError:          # Debian: apt-get install python3-lmdb
    lmdb = None


class ErrorCodesTest(DaemonTestCase):

    def setUp(self):
        self.c = self.d.rpc()
        self.addCleanup(self.c.close)

    def test_invalid_argument(self):
        err, _ = self.c.call("role.create", {"org": 0, "name": 12})
        self.assertError(err, "invalid_argument", "name")

    def test_duplicate(self):
        err, _ = self.c.call("role.create", {"org": 0, "name": "admin"})
        self.assertError(err, "duplicate", "name")

    def test_not_found(self):
        err, _ = self.c.call("role.create", {"org": 424242, "name": "x"})
        self.assertError(err, "not_found", "org")
        err, _ = self.c.call("role.get", {"org": 0, "id": "no-such-role-id"})
        self.assertError(err, "not_found")

    def test_permission_denied(self):
        org = fresh_org(self.c)
        key = self.c.ok("key.add", {"user_role": "ORG_MANAGER", "org": org})["api_key"]
        err, _ = self.c.call("role.create", {"org": org, "name": "x"}, auth={"api_key": key})
        self.assertError(err, "permission_denied")

    def test_unauthenticated(self):
        org = fresh_org(self.c)
        err, _ = self.c.call("role.create", {"org": org, "name": "x"},
                             auth={"api_key": "not-a-key-0123456789"})
        self.assertError(err, "unauthenticated")

    def test_resource_exhausted(self):
        self.c.send_raw(packb([0, 5, "role.get", [{"org": 0, "name": "y" * (1 << 21)}]]))
        _, err, _ = self.c.recv_reply()
        self.assertError(err, "resource_exhausted")
        with self.d.rpc() as c:
            self.assertIsNone(c.call("server.status", {})[0])

    def test_resource_exhausted_too_many_connections(self):
        with Daemon(extra_args=["--max-connections", "3"]) as d:
            # the harness's trigger connection may not be reaped yet
            first = d.rpc()
            conns = [first]

            def alone():
                err, st = first.call("server.status", {})
                return err is None and st.get("connections") == 1
            wait_for(alone, what="the daemon to have no other connection")
            conns += [d.rpc() for _ in range(2)]
            try:
                for c in conns:
                    self.assertIsNone(c.call("server.status", {})[0])
                extra = d.rpc()
                conns.append(extra)
                extra.send_request("server.status", {}, msgid=8)
                msgs = extra.drain_until_closed()
                self.assertEqual(len(msgs), 1, "one error reply then close: %r" % (msgs,))
                self.assertEqual(msgs[0][0], 1)
                self.assertError(msgs[0][2], "resource_exhausted")
                # the admitted ones carry on, and a slot frees when one leaves
                self.assertIsNone(conns[0].call("server.status", {})[0])
                conns[1].close()

                def admitted():
                    with d.rpc() as c:
                        try:
                            return c.call("server.status", {})[0] is None
                        except AssertionError:
                            return False
                wait_for(admitted, what="a freed connection slot")
            finally:
                for c in conns:
                    c.close()

    def test_unavailable(self):
        dead = tempfile.mkdtemp(prefix="rolesd-it-dead-")
        self.addCleanup(os.rmdir, dead)
        p = run_rolesctl("status", socket_path=os.path.join(dead, "nothing.sock"),
                         check=False)
        self.assertEqual(p.returncode, 4, p)     # exit 4: unavailable (rolesctl(1))
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, "one stderr line: %r" % p.stderr)
        self.assertIn("unavailable", lines[0])
        self.assertEqual(p.stdout, "")


class InternalErrorTest(unittest.TestCase):

    @unittest.skipIf(lmdb is None, "python3-lmdb is not installed (apt-get install "
                                   "python3-lmdb): cannot corrupt a stored role")
    def test_internal_on_corrupt_record(self):
        with Daemon() as d:
            with d.rpc() as c:
                c.ok("org.add", {"id": 5})
                victim = c.ok("role.create", {"org": 5, "name": "victim"})
                bystander = c.ok("role.create", {"org": 5, "name": "bystander"})
            self.assertEqual(d.stop(), 0)

            data_mdb = os.path.join(d.db, "data.mdb")
            env = lmdb.open(d.db, max_dbs=16, subdir=True,
                            map_size=max(os.path.getsize(data_mdb), 64 << 20))
            try:
                with env.begin() as txn:
                    names = [k for k, _ in txn.cursor()]
                self.assertIn(b"roles", names,
                              "no named database b'roles' in the store; it has %r" % names)
                rdb = env.open_db(b"roles")
                hit = None
                with env.begin(db=rdb) as txn:
                    for k, v in txn.cursor():
                        try:
                            o = msgpack.unpackb(v, raw=False)
                        except Exception:
                            continue
                        if isinstance(o, dict) and o.get("id") == victim["id"]:
                            hit = k
                            break
                self.assertIsNotNone(hit, "the victim's record was not found in b'roles'")
                with env.begin(db=rdb, write=True) as txn:
                    txn.put(hit, b"\xc1garbage")
            finally:
                env.close()

            d.start()
            with d.rpc() as c:
                err, _ = c.call("role.get", {"org": 5, "id": victim["id"]})
                self.assertIsNotNone(err, "a corrupt record was served")
                self.assertEqual(err.get("code"), "internal", err)
                # the daemon carries on
                self.assertEqual(c.ok("role.get", {"org": 5, "id": bystander["id"]}),
                                 bystander)
                self.assertIn("version", c.ok("server.status", {}))
            with d.rpc() as c:
                self.assertIsNone(c.call("role.get", {"org": 0, "name": "admin"})[0])
            self.assertTrue(d.running())


if __name__ == "__main__":
    main()
