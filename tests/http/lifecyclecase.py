"""lifecyclecase.py: what test_rocketchat_roles.py and test_partoo_roles.py
share (beside them, imported as the scripts' own directory is on sys.path):
RPC calls to the daemon under test, the database's revision as the proof
that a refused request committed nothing, and exact response bodies."""

import contextlib

from httpharness import ShimTestCase


class LifecycleCase(ShimTestCase):

    def rpc_ok(self, method, params):
        with self.rpc() as c:
            return c.ok(method, params)

    def rpc_call(self, method, params):
        with self.rpc() as c:
            return c.call(method, params)

    @contextlib.contextmanager
    def nothing_committed(self, what=""):
        before = self.d.status()["revision"]
        yield
        self.assertEqual(self.d.status()["revision"], before,
                         "a refused request committed a change %s" % what)

    def assertBody(self, r, status, expected):
        """The status, a body valid against /openapi.json, equal to expected."""
        body = self.check_json(r, status)
        self.assertEqual(body, expected, str(r))
        return body
