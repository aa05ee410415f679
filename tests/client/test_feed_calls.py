#!/usr/bin/python3
"""test_feed_calls.py: librolesd 1.2's calls of the change feed (watch
with notifications, list, unwatch), backup over a passed descriptor,
export, import and role.sync, synchronously and asynchronously, against
the real rolesd, through the C program test-feed ($TEST_FEED) on the
public header only; then what it left, read by another client."""

import os
import subprocess

import harness
from harness import WAIT, DaemonTestCase, main


def program():
    p = os.environ.get("TEST_FEED")
    if not p or not os.access(p, os.X_OK):
        raise harness.HarnessError("TEST_FEED is not the test-feed program (run through meson)")
    return p


class FeedCalls(DaemonTestCase):

    def test_calls(self):
        with self.d.rpc() as c:
            c.ok("org.add", {"id": 4343, "name": "Feed", "provider": "feed"})
        backup = os.path.join(self.d.dir, "backup.mdb")
        p = subprocess.run([program(), self.d.sock_path, "4343", backup], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=WAIT * 2)
        self.assertEqual(p.returncode, 0, "test-feed: %s%s\ndaemon:\n%s"
                         % (p.stdout, p.stderr, self.d.stderr_text()[-3000:]))
        harness.report(p.stdout.strip())
        self.assertGreater(os.path.getsize(backup), 0)
        with self.d.rpc() as c:
            role = c.ok("role.get", {"org": 4343, "name": "Watched"})
            self.assertEqual(role["description"], "imported")
            # the import's update is in the log, after the create
            changes = c.ok("changes.list", {"org": 4343, "limit": 1000})["changes"]
            ops = [(x["op"], x["kind"]) for x in changes if x["id"] == role["id"]]
            self.assertEqual(ops, [("create", "role"), ("update", "role")])


if __name__ == "__main__":
    main()
