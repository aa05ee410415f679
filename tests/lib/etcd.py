"""etcd.py: real etcd members for the tests (the fleet suite) and the
benchmark, from Debian's etcd-server (/usr/bin/etcd).

  with Cluster(3) as c:           # or Cluster(1); data under a temp dir
      c.endpoints                 # "http://127.0.0.1:P1,http://127.0.0.1:P2,..."
      c.leader()                  # index of the member that leads now
      c.signal(i, signal.SIGSTOP) # SIGTERM, SIGKILL, SIGSTOP/SIGCONT: by its pid
      c.restart(i)                # the same member again, on its data

Each member listens on loopback ports found free at start, keeps its data
and its log (member-N.log) under the cluster's directory (a temporary one
unless given) and is stopped by its pid. Waits (members healthy, a leader
elected) are bounded by WAIT seconds and name what they waited for.
Talks to the members through etcd's JSON gateway (/v3/...) with urllib:
keys and values base64, 64-bit integers as strings.

Environment:
  ETCD   the etcd binary (default /usr/bin/etcd); absent -> available()
         says so and the tests skip (scripts/install-deps installs it).
"""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

WAIT = 30.0                     # upper bound of every wait, seconds
PROGRESS_NOTIFY = "1s"          # watch progress notifications this often (etcd's default: 10m)


def etcd_path():
    return os.environ.get("ETCD") or "/usr/bin/etcd"


def available():
    """True when the etcd binary can be run."""
    p = etcd_path()
    return os.path.isfile(p) and os.access(p, os.X_OK)


def b64(s):
    if isinstance(s, str):
        s = s.encode()
    return base64.b64encode(s).decode()


def unb64(s):
    return base64.b64decode(s or "")


def free_ports(n):
    """n distinct loopback TCP ports free right now (held open together,
    so they differ, then released for etcd to bind)."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


class EtcdError(Exception):
    pass


def call(url, path, body, timeout=5.0):
    """POST body (a dict) as JSON to url + path; the decoded answer, or
    EtcdError with etcd's message."""
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        raise EtcdError("%s%s: HTTP %d %s" % (url, path, e.code, e.read()[:200]))
    except (OSError, ValueError) as e:
        raise EtcdError("%s%s: %s" % (url, path, e))


class Member:
    def __init__(self, index, name, client_port, peer_port, data_dir, log_path):
        self.index = index
        self.name = name
        self.url = "http://127.0.0.1:%d" % client_port
        self.peer_url = "http://127.0.0.1:%d" % peer_port
        self.data_dir = data_dir
        self.log_path = log_path
        self.proc = None
        self.stopped = False        # SIGSTOPped by us

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def status(self, timeout=2.0):
        """/v3/maintenance/status: member_id, leader, revision (ints), or None."""
        try:
            r = call(self.url, "/v3/maintenance/status", {}, timeout)
        except EtcdError:
            return None
        h = r.get("header", {})
        return {"member_id": int(h.get("member_id", 0)), "leader": int(r.get("leader", 0)),
                "revision": int(h.get("revision", 0)), "raft_term": int(h.get("raft_term", 0))}


class Cluster:
    """n real etcd members (1 or 3) on loopback."""

    def __init__(self, n=3, directory=None, extra_args=(), start=True, progress_notify=PROGRESS_NOTIFY):
        if n < 1:
            raise ValueError("a cluster has at least one member")
        if not available():
            raise EtcdError("%s is not there (scripts/install-deps installs etcd-server)" % etcd_path())
        self.own_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="rolesd-etcd-")
        self.extra_args = list(extra_args)
        self.progress_notify = progress_notify
        ports = free_ports(2 * n)
        self.members = [Member(i, "m%d" % i, ports[2 * i], ports[2 * i + 1],
                               os.path.join(self.dir, "member-%d" % i),
                               os.path.join(self.dir, "member-%d.log" % i)) for i in range(n)]
        self.token = "rolesd-test-%d-%d" % (os.getpid(), ports[0])
        if start:
            try:
                for m in self.members:
                    self._spawn(m)
                self.wait_healthy()
            except BaseException:
                self.close()
                raise

    # -- lifetime ---------------------------------------------------------
    def _command(self, m):
        cluster = ",".join("%s=%s" % (x.name, x.peer_url) for x in self.members)
        return [etcd_path(), "--name", m.name, "--data-dir", m.data_dir,
                "--listen-client-urls", m.url, "--advertise-client-urls", m.url,
                "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
                "--initial-cluster", cluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", self.token,
                "--experimental-watch-progress-notify-interval", self.progress_notify,
                "--logger", "zap", "--log-outputs", "stderr"] + self.extra_args

    def _spawn(self, m):
        with open(m.log_path, "ab") as log:
            m.proc = subprocess.Popen(self._command(m), stdin=subprocess.DEVNULL,
                                      stdout=log, stderr=log, start_new_session=True)
        m.stopped = False

    def commands(self):
        """The command lines that start the members, as a shell would show them."""
        return [" ".join(self._command(m)) for m in self.members]

    def close(self):
        for m in self.members:
            if m.running():
                if m.stopped:
                    os.kill(m.pid, signal.SIGCONT)
                m.proc.terminate()
        for m in self.members:
            if m.proc is not None:
                try:
                    m.proc.wait(WAIT)
                except subprocess.TimeoutExpired:
                    m.proc.kill()
                    m.proc.wait(WAIT)
        if self.own_dir and not os.environ.get("ROLESD_IT_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    # -- what the tests do to members -------------------------------------
    def signal(self, i, sig):
        """Sends sig to member i by its pid; SIGKILL/SIGTERM also reap it."""
        m = self.members[i]
        os.kill(m.pid, sig)
        if sig == signal.SIGSTOP:
            m.stopped = True
        elif sig == signal.SIGCONT:
            m.stopped = False
        elif sig in (signal.SIGKILL, signal.SIGTERM):
            if m.stopped:
                os.kill(m.pid, signal.SIGCONT)
                m.stopped = False
            m.proc.wait(WAIT)

    def restart(self, i):
        """Member i again on its data (after SIGKILL or SIGTERM)."""
        m = self.members[i]
        if m.running():
            raise EtcdError("member %d still runs (pid %d)" % (i, m.pid))
        self._spawn(m)

    @property
    def endpoints(self):
        return ",".join(m.url for m in self.members)

    def urls(self):
        return [m.url for m in self.members]

    def live(self):
        return [m for m in self.members if m.running() and not m.stopped]

    def leader(self, timeout=WAIT):
        """The index of the member that leads now (waits for an election)."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.live():
                st = m.status()
                if st and st["leader"]:
                    for x in self.live():
                        xs = x.status()
                        if xs and xs["member_id"] == st["leader"]:
                            return x.index
            if time.monotonic() > deadline:
                raise EtcdError("no leader among the live members after %ss (logs in %s)"
                                % (timeout, self.dir))
            time.sleep(0.05)

    def wait_healthy(self, timeout=WAIT):
        """Every live member answers /health with true (it has a leader and
        serves a quorum read)."""
        deadline = time.monotonic() + timeout
        for m in self.live():
            while True:
                if not m.running():
                    raise EtcdError("member %d exited with %s; its log: %s"
                                    % (m.index, m.proc.returncode, m.log_path))
                try:
                    with urllib.request.urlopen(m.url + "/health", timeout=2.0) as r:
                        if json.loads(r.read()).get("health") == "true":
                            break
                except (OSError, ValueError):
                    pass
                if time.monotonic() > deadline:
                    raise EtcdError("member %d not healthy after %ss; its log: %s"
                                    % (m.index, timeout, m.log_path))
                time.sleep(0.05)
        self.leader(max(1.0, deadline - time.monotonic()))

    # -- the gateway, for checks ------------------------------------------
    def any_url(self):
        return self.live()[0].url

    def put(self, key, value):
        return int(call(self.any_url(), "/v3/kv/put", {"key": b64(key), "value": b64(value)})
                   ["header"]["revision"])

    def get(self, key, prefix=False, revision=0):
        """[(key, value, mod_revision)] of key (or keys under the prefix)."""
        body = {"key": b64(key)}
        if prefix:
            body["range_end"] = b64(prefix_end(key.encode() if isinstance(key, str) else key))
        if revision:
            body["revision"] = str(revision)
        r = call(self.any_url(), "/v3/kv/range", body)
        return [(unb64(kv["key"]).decode(), unb64(kv.get("value")).decode(), int(kv["mod_revision"]))
                for kv in r.get("kvs", [])]

    def revision(self):
        return int(call(self.any_url(), "/v3/kv/range", {"key": b64("\0"), "count_only": True})
                   ["header"]["revision"])

    def compact(self, revision):
        call(self.any_url(), "/v3/kv/compaction", {"revision": str(revision), "physical": True})


def prefix_end(key):
    """The range_end that covers every key starting with key."""
    k = bytearray(key)
    while k:
        if k[-1] < 0xff:
            k[-1] += 1
            return bytes(k)
        k.pop()
    return b"\0"
