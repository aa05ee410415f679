#!/usr/bin/python3
"""test_concurrency.py: many clients at once. Parallel creates through both
APIs on keep-alive connections (all answered, all written, all visible);
racing creates of one name (exactly one wins, the others get the duplicate
error); and rolesd killed and restarted under load (every answer is 200 or
503, never a hang, a duplicate from a retried write or another error, and
every acknowledged role survives the kill)."""

import signal
import threading

from harness import report

from httpharness import ORG_A, SHIM_WORKERS, ShimTestCase, http_call, main, wait_for


def run_threads(n, fn):
    """Runs fn(i) in n threads released together; returns results by index
    (an exception is returned in place of a result)."""
    barrier = threading.Barrier(n)
    out = [None] * n

    def body(i):
        try:
            barrier.wait(30)
            out[i] = fn(i)
        except BaseException as e:      # noqa: BLE001
            out[i] = e
    ts = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    return out


class Parallel(ShimTestCase):

    def test_parallel_creates_on_keepalive_connections(self):
        nthreads, per = 8, 12
        before = self.roles_count()

        def worker(i):
            conn = self.shim.conn()
            got = []
            try:
                for j in range(per):
                    if j % 2:
                        r = http_call(conn, "POST", "/api/v1/roles.create",
                                      {"name": "par-%d-%d" % (i, j)}, self.rc_auth())
                    else:
                        r = http_call(conn, "POST", "/v2/custom_role",
                                      {"name": "par %d %d" % (i, j), "api_id": "par_%d_%d" % (i, j),
                                       "permissions": ["review_read"]}, self.pkey("admin_a"))
                    got.append(r)
            finally:
                conn.close()
            return got
        results = run_threads(nthreads, worker)
        for i, res in enumerate(results):
            self.assertNotIsInstance(res, BaseException, "thread %d: %r" % (i, res))
            for r in res:
                self.check_json(r, 200)
        self.assertEqual(self.roles_count(), before + nthreads * per)
        with self.rpc() as c:
            for i in range(nthreads):
                for j in range(per):
                    if j % 2:
                        err, _ = c.call("role.get", {"org": 0, "name": "par-%d-%d" % (i, j)})
                    else:
                        err, _ = c.call("role.get", {"org": ORG_A, "api_id": "par_%d_%d" % (i, j)})
                    self.assertIsNone(err, (i, j, err))

    def test_requests_share_pipelined_rpc_connections(self):
        # 48 HTTP clients at once reach rolesd over at most one connection
        # per shim worker (how many creates each commit carries depends on
        # timing: reported, not asserted; test_http_limits' FrozenDaemon
        # shows 48 requests pending at once on these connections).
        nthreads, per = 48, 6
        s0 = self.d.status()

        def worker(i):
            conn = self.shim.conn()
            try:
                return [http_call(conn, "POST", "/api/v1/roles.create", {"name": "pipe-%d-%d" % (i, j)},
                                  self.rc_auth()) for j in range(per)]
            finally:
                conn.close()
        results = run_threads(nthreads, worker)
        s1 = self.d.status()
        for i, res in enumerate(results):
            self.assertNotIsInstance(res, BaseException, "thread %d: %r" % (i, res))
            for r in res:
                self.assertRCRole(r)
        self.assertEqual(s1["roles"], s0["roles"] + nthreads * per)
        shim_conns = s1["connections"] - 1      # this test's own RPC connection
        self.assertLessEqual(shim_conns, SHIM_WORKERS, s1)
        writes, batches = s1["writes"] - s0["writes"], s1["write_batches"] - s0["write_batches"]
        report("pipelining: %d creates from %d HTTP clients over %d RPC connections in %d commits "
               "(%.1f per commit)" % (writes, nthreads, shim_conns, batches, writes / max(batches, 1)))

    def test_same_name_race_rocketchat(self):
        n = 16
        with self.nothing_written_but(1):
            rs = run_threads(n, lambda i: self.rc_create({"name": "race-rc"}))
        self.assert_one_winner(rs, lambda r: self.assertRCError(
            r, "error-duplicate-role-names-not-allowed"))

    def test_same_api_id_race_partoo(self):
        n = 16
        with self.nothing_written_but(1):
            rs = run_threads(n, lambda i: self.partoo_create(
                {"name": "race partoo %d" % i, "api_id": "race_partoo", "permissions": []}))
        self.assert_one_winner(rs, lambda r: self.assertPartooFieldError(r, "api_id"))

    def assert_one_winner(self, rs, loser_check):
        for r in rs:
            self.assertNotIsInstance(r, BaseException, repr(r))
        winners = [r for r in rs if r.status == 200]
        self.assertEqual(len(winners), 1, "\n".join(str(r) for r in rs if r.status == 200))
        self.check_json(winners[0], 200)
        for r in rs:
            if r.status != 200:
                loser_check(r)

    def nothing_written_but(self, n):
        test = self

        class Ctx:
            def __enter__(self):
                self.before = test.roles_count()

            def __exit__(self, *a):
                if a[0] is None:
                    test.assertEqual(test.roles_count(), self.before + n)
        return Ctx()


class RestartUnderLoad(ShimTestCase):

    def test_kill_and_restart_under_load(self):
        stop = threading.Event()
        lock = threading.Lock()
        acked = []              # (org, key, value) of every 200
        seen = {}               # status -> count
        bad = []

        def worker(i):
            j = 0
            conn = None
            while not stop.is_set():
                j += 1
                if conn is None:
                    conn = self.shim.conn(timeout=60)
                try:
                    if j % 2:
                        name = "load-%d-%d" % (i, j)
                        r = http_call(conn, "POST", "/api/v1/roles.create", {"name": name},
                                      self.rc_auth())
                        ident = (0, "name", name)
                    else:
                        a = "load_%d_%d" % (i, j)
                        r = http_call(conn, "POST", "/v2/custom_role",
                                      {"name": a, "api_id": a, "permissions": []},
                                      self.pkey("admin_a"))
                        ident = (ORG_A, "api_id", a)
                except Exception as e:      # noqa: BLE001
                    with lock:
                        bad.append("thread %d request %d: %r" % (i, j, e))
                    conn.close()
                    conn = None
                    continue
                with lock:
                    seen[r.status] = seen.get(r.status, 0) + 1
                    if r.status == 200:
                        acked.append(ident)
                    elif r.status != 503:
                        bad.append(str(r))
            if conn is not None:
                conn.close()

        ts = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(4)]
        for t in ts:
            t.start()
        try:
            wait_for(lambda: seen.get(200, 0) >= 20, what="20 successful creates under load")
            self.d.stop(signal.SIGKILL)
            wait_for(lambda: seen.get(503, 0) >= 8, what="503s while rolesd is down")
            ok_before = seen.get(200, 0)
            self.d.start()
            wait_for(lambda: seen.get(200, 0) >= ok_before + 20,
                     what="successful creates after rolesd restarted")
        finally:
            stop.set()
            for t in ts:
                t.join(120)
        self.assertEqual(bad, [], "answers other than 200/503 (or failures) under restart")
        self.assertTrue(self.shim.running())
        with self.rpc() as c:
            for org, k, v in acked:
                err, _ = c.call("role.get", {"org": org, k: v})
                self.assertIsNone(err, "acknowledged role %r of org %d lost: %r" % (v, org, err))


if __name__ == "__main__":
    main()
