#!/usr/bin/python3
"""test_lifecycle_calls.py: librolesd 1.1's typed calls of the role
lifecycle (role update, delete, duplicate; member add, remove, list; user
roles; access check; org list; user add in any org, list, remove; key list
and revoke), each synchronously and asynchronously, with its results and
distinct errnos, against the real rolesd, through the C program
test-lifecycle ($TEST_LIFECYCLE) on the public header only."""

import os
import subprocess

import harness
from harness import WAIT, DaemonTestCase, main


def program():
    p = os.environ.get("TEST_LIFECYCLE")
    if not p or not os.access(p, os.X_OK):
        raise harness.HarnessError("TEST_LIFECYCLE is not the test-lifecycle program (run through meson)")
    return p


class LifecycleCalls(DaemonTestCase):

    def test_calls(self):
        with self.d.rpc() as c:
            c.ok("org.add", {"id": 4242, "name": "Lifecycle", "provider": "lifecycle"})
        p = subprocess.run([program(), self.d.sock_path, "4242"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=WAIT * 2)
        self.assertEqual(p.returncode, 0, "test-lifecycle: %s%s\ndaemon:\n%s"
                         % (p.stdout, p.stderr, self.d.stderr_text()[-3000:]))
        harness.report(p.stdout.strip())
        # what the program left, seen by another client: its writes are durable
        with self.d.rpc() as c:
            users = c.ok("user.list", {"org": 4242})
            self.assertEqual([u["username"] for u in users["users"]], ["bob"])
            self.assertEqual(users["users"][0]["roles"], [])
            names = [r["name"] for r in c.ok("role.list", {"org": 4242})["roles"]]
            self.assertEqual(names[-2:], ["Beta", "Alpha - 2"])
            self.assertEqual(c.ok("role.get", {"org": 4242, "name": "Beta"})["description"], "async")


if __name__ == "__main__":
    main()
