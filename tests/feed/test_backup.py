#!/usr/bin/python3
"""test_backup.py: db.backup, with the file's descriptor passed over the
socket (SCM_RIGHTS, Python's socket.send_fds) as rolesctl passes it: the
copy is a whole, compacted LMDB database that restores (stop, replace
data.mdb, start) to one that passes the consistency walk and holds every
role acknowledged before the backup began, also when it is taken under a
create storm; what comes without a descriptor, with an unusable one, or
descriptors sent with other calls, refused or closed, nothing leaked, the
connection serving on."""

import os
import shutil
import socket
import tempfile
import threading

from harness import (Daemon, DaemonTestCase, fd_count, fresh_org, list_all, main, request_frame,
                     wait_for)
from storewalk import walk


def backup(client, fd, params=None, fds=None):
    """db.backup with fd (or the descriptors fds) sent with the request."""
    msgid = client.alloc_msgid()
    frame = request_frame(msgid, "db.backup", params or {})
    socket.send_fds(client.sock, [frame], fds if fds is not None else [fd])
    rid, err, res = client.recv_reply()
    assert rid == msgid, (rid, msgid)
    return err, res


class BackupTest(DaemonTestCase):

    def setUp(self):
        self.c = self.d.rpc()
        self.addCleanup(self.c.close)
        self.tmp = tempfile.mkdtemp(prefix="rolesd-backup-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def restore(self, path):
        """A daemon started on a database directory whose data.mdb is the
        copy at path (the README's restore: stop, replace, start)."""
        d = Daemon(start=False)
        self.addCleanup(d.close)
        os.makedirs(d.db, mode=0o700)
        shutil.copyfile(path, os.path.join(d.db, "data.mdb"))
        report = walk(d.db)
        self.assertTrue(report, report)
        d.start()
        return d

    def test_copy_restores(self):
        org = fresh_org(self.c)
        made = [self.c.ok("role.create", {"org": org, "name": "b%d" % i}) for i in range(20)]
        rev = self.c.ok("server.status", {})["revision"]
        path = os.path.join(self.tmp, "copy.mdb")
        with open(path, "wb") as f:
            err, res = backup(self.c, f.fileno())
        self.assertIsNone(err, err)
        self.assertEqual(set(res), {"revision", "bytes"})
        self.assertEqual(res["revision"], rev)
        self.assertEqual(res["bytes"], os.path.getsize(path))
        self.assertGreater(res["bytes"], 0)
        # compacted: no larger than the live file
        self.assertLessEqual(res["bytes"], os.path.getsize(os.path.join(self.d.db, "data.mdb")))
        r = self.restore(path)
        with r.rpc() as c:
            roles, _ = list_all(c, org)
            self.assertEqual([x for x in roles if not x["protected"]], made)
            st = c.ok("server.status", {})
            self.assertEqual(st["revision"], rev)
            # the change log came along: the last change is the last create
            self.assertEqual(c.ok("changes.list", {"after": rev - 1})["changes"][0]["id"], made[-1]["id"])
            # and the restored daemon writes on
            self.assertEqual(c.ok("role.create", {"org": org, "name": "after"})["revision"], rev + 1)

    def test_under_a_create_storm(self):
        """Clients create roles while the backup runs: the restored
        database passes the walk and holds every role acknowledged before
        the backup was asked for (and nothing half written)."""
        org = fresh_org(self.c)
        stop = threading.Event()
        lock = threading.Lock()
        acked = []          # ids, in the order the replies came
        errors = []

        def storm(k):
            try:
                with self.d.rpc() as w:
                    i = 0
                    while not stop.is_set():
                        names = ["s%d-%d-%d" % (k, i, j) for j in range(16)]
                        ids = [w.send_request("role.create", {"org": org, "name": n,
                                                              "description": "storm %d" % k})
                               for n in names]
                        got = w.recv_replies(len(ids))
                        with lock:
                            for m in ids:
                                err, res = got[m]
                                if err is not None:
                                    errors.append(err)
                                else:
                                    acked.append(res["id"])
                        i += 1
            except Exception as e:      # pragma: no cover - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=storm, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: len(acked) > 500, what="the storm to get going")
            with lock:
                before = list(acked)
            path = os.path.join(self.tmp, "storm.mdb")
            with open(path, "wb") as f:
                err, res = backup(self.c, f.fileno())
            with lock:
                during = len(acked) - len(before)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(errors, [])
        self.assertIsNone(err, err)
        r = self.restore(path)
        with r.rpc() as c:
            roles, count = list_all(c, org)
            have = {x["id"] for x in roles}
            missing = [i for i in before if i not in have]
            self.assertEqual(missing, [], "acknowledged before the backup, missing from it")
            st = c.ok("server.status", {})
            self.assertGreaterEqual(st["revision"], res["revision"])
            self.assertEqual(count, len(roles))
        sys_report = "backup under a storm: %d roles acked before, %d during; copy at revision %d, %d bytes" \
            % (len(before), during, res["revision"], res["bytes"])
        import sys
        sys.stderr.write(sys_report + "\n")

    def test_bad_descriptors(self):
        self.c.ok("server.status", {})     # our connection is accepted: its descriptor counts
        base = fd_count(self.d.pid)
        # none
        err, _ = self.c.call("db.backup", {})
        self.assertError(err, "invalid_argument")
        self.assertIn("descriptor", err["message"])
        # read-only, a pipe, a directory
        path = os.path.join(self.tmp, "ro")
        open(path, "wb").close()
        with open(path, "rb") as f:
            self.assertError(backup(self.c, f.fileno())[0], "invalid_argument")
        rd, wr = os.pipe()
        try:
            self.assertError(backup(self.c, wr)[0], "invalid_argument")
        finally:
            os.close(rd)
            os.close(wr)
        dfd = os.open(self.tmp, os.O_RDONLY | os.O_DIRECTORY)
        try:
            self.assertError(backup(self.c, dfd)[0], "invalid_argument")
        finally:
            os.close(dfd)
        self.assertEqual(os.path.getsize(path), 0)
        # unknown keys, REST credentials
        with open(os.path.join(self.tmp, "x"), "wb") as f:
            self.assertError(backup(self.c, f.fileno(), {"file": "x"})[0], "invalid_argument", "file")
            self.assertError(backup(self.c, f.fileno(), {"auth": {"api_key": "k" * 40}})[0],
                             "permission_denied", "auth")
            # descriptors with other calls, and more than a frame may hold: closed
            for i in range(20):
                msgid = self.c.alloc_msgid()
                socket.send_fds(self.c.sock, [request_frame(msgid, "server.status", {})],
                                [f.fileno()] * (1 + i % 6))
                rid, err, _ = self.c.recv_reply()
                self.assertEqual((rid, err), (msgid, None))
            # two in one: the first taken, the second closed
            err, res = backup(self.c, None, fds=[f.fileno(), f.fileno()])
            self.assertIsNone(err, err)
            self.assertEqual(res["bytes"], os.path.getsize(f.name))
        wait_for(lambda: fd_count(self.d.pid) <= base, what="the daemon to close every descriptor sent")
        self.assertIsNone(self.c.call("server.status", {})[0])


if __name__ == "__main__":
    main()
