"""harness.py: black-box helpers for rolesd's tests (the integration,
http, reliability and systemd suites share it; see tests/lib/meson.build).

Runs the real daemon under systemd-socket-activate in a private temp dir,
talks to it with a MessagePack-RPC client of our own (python3-msgpack, not
librolesd), and runs the real rolesctl.

Environment:
  ROLESD    path of the built rolesd (set by tests/lib/meson.build)
  ROLESCTL  path of the built rolesctl
  SOCKET_ACTIVATE  optional override of /usr/bin/systemd-socket-activate

Everything waits for conditions with generous upper bounds (WAIT seconds);
nothing asserts on durations.
"""

import json as jsonlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

try:
    import msgpack
except ImportError as e:  # pragma: no cover
    sys.stderr.write(
        "harness: cannot import msgpack (%s). Run the tests with Debian's "
        "/usr/bin/python3 and python3-msgpack installed (apt-get install "
        "python3-msgpack); %s was used.\n" % (e, sys.executable))
    raise

WAIT = 30.0                     # upper bound of every wait, seconds
FRAME_MAX = 1024 * 1024         # RPC_FRAME_MAX in proto/limits.h
CODES = ("invalid_argument", "duplicate", "not_found", "permission_denied",
         "unauthenticated", "resource_exhausted", "unavailable", "internal",
         "protected", "in_use", "conflict", "compacted")

ORG0_BUILTINS = ("admin", "moderator", "leader", "owner", "user", "bot", "app",
                 "guest", "anonymous", "livechat-agent", "livechat-manager",
                 "livechat-monitor")
PARTOO_BUILTINS = ("ORG_ADMIN", "ORG_MANAGER", "GROUP_MANAGER",
                   "BUSINESS_MANAGER", "PUBLISHER")


class HarnessError(Exception):
    """The test environment (not the product) is broken: say exactly how."""


def _binary(var):
    p = os.environ.get(var)
    if not p:
        raise HarnessError(
            "environment variable %s is not set: run the integration tests "
            "through meson (meson test -C BUILD --suite integration) or set "
            "%s=/path/to/the/built/binary" % (var, var))
    if not os.path.isfile(p) or not os.access(p, os.X_OK):
        raise HarnessError("%s=%s is not an executable file (build first: ninja -C BUILD)"
                           % (var, p))
    return p


def rolesd_path():
    return _binary("ROLESD")


def rolesctl_path():
    return _binary("ROLESCTL")


def daemon_wrapper():
    """$ROLESD_WRAPPER split into words, put before the daemon's command
    (e.g. valgrind; see tests/reliability/valgrind-integration.sh)."""
    import shlex
    return shlex.split(os.environ.get("ROLESD_WRAPPER", ""))


def socket_activate_path():
    p = os.environ.get("SOCKET_ACTIVATE") or shutil.which("systemd-socket-activate") \
        or "/usr/bin/systemd-socket-activate"
    if not os.path.exists(p):
        raise HarnessError("systemd-socket-activate not found (apt-get install systemd)")
    return p


def wait_for(pred, timeout=WAIT, interval=0.02, what="condition"):
    """Polls pred() until it returns a true value (returned) or timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def runs_stderr(directory, runs):
    """The stderr of every run of a process under test: the files
    stderr.1 .. stderr.RUNS in directory, concatenated."""
    out = b""
    for i in range(1, runs + 1):
        try:
            with open(os.path.join(directory, "stderr.%d" % i), "rb") as f:
                out += f.read()
        except OSError:
            pass
    return out


def kill_and_reap(proc):
    """SIGKILL to proc (a Popen or None) if it still runs, and its exit
    status collected."""
    if proc is not None and proc.poll() is None:
        try:
            proc.kill()
            proc.wait(WAIT)
        except Exception:
            pass


def remove_dir(directory, who):
    """A test's temp folder removed, or kept (and named) when
    ROLESD_IT_KEEP is set."""
    if os.environ.get("ROLESD_IT_KEEP"):
        sys.stderr.write("%s: kept %s\n" % (who, directory))
    else:
        shutil.rmtree(directory, ignore_errors=True)


def report(text):
    """One line of figures in the test's log (stderr)."""
    sys.stderr.write("  [figures] %s\n" % text)
    sys.stderr.flush()


def fd_count(pid):
    """Open file descriptors of process pid."""
    return len(os.listdir("/proc/%d/fd" % pid))


def unix_connections(pid):
    """Connected AF_UNIX stream sockets process pid holds (its fds matched
    against /proc/net/unix, state 03)."""
    connected = set()
    with open("/proc/net/unix") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if parts[4] == "0001" and parts[5] == "03":
                connected.add(parts[6])
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in connected:
            n += 1
    return n


def rss_kib(pid):
    """Resident memory of process pid, KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def closed_by_peer(sock):
    """True once the peer has closed sock (EOF or reset); drains whatever
    arrived, without waiting."""
    t = sock.gettimeout()
    sock.settimeout(0)
    try:
        while True:
            data = sock.recv(1 << 20)
            if not data:
                return True
    except (BlockingIOError, socket.timeout):
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True
    finally:
        sock.settimeout(t)


# --------------------------------------------------------------------------
# MessagePack helpers

def packb(obj):
    return msgpack.packb(obj, use_bin_type=True)


def request_frame(msgid, method, params=None):
    return packb([0, msgid, method, [params if params is not None else {}]])


def raw_str(b):
    """MessagePack str header + raw bytes (which need not be UTF-8)."""
    n = len(b)
    if n < 32:
        return bytes([0xa0 | n]) + b
    if n < 256:
        return b"\xd9" + bytes([n]) + b
    if n < 65536:
        return b"\xda" + n.to_bytes(2, "big") + b
    return b"\xdb" + n.to_bytes(4, "big") + b


def map_header(n):
    if n < 16:
        return bytes([0x80 | n])
    return b"\xde" + n.to_bytes(2, "big")


def request_frame_raw_params(msgid, method, items):
    """A request whose params map is built from (key, encoded-value-bytes)
    pairs, so a value can be any byte sequence (e.g. a str with invalid UTF-8)."""
    body = map_header(len(items)) + b"".join(packb(k) + v for k, v in items)
    return b"\x94" + packb(0) + packb(msgid) + packb(method) + b"\x91" + body


# --------------------------------------------------------------------------
# The raw client

class ConnectionClosed(AssertionError):
    pass


class RawClient:
    """A MessagePack-RPC client written independently of librolesd."""

    def __init__(self, path, timeout=WAIT, connect=True):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.unpacker = msgpack.Unpacker(raw=False, max_buffer_size=64 * 1024 * 1024,
                                         strict_map_key=False)
        self.next_msgid = 1
        self.eof = False
        if connect:
            self.sock.connect(path)

    # context manager
    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def settimeout(self, t):
        self.sock.settimeout(t)

    # --- sending
    def send_raw(self, data):
        """sendall; returns False (instead of raising) if the daemon has
        closed the connection while we were sending."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def send_bytewise(self, data):
        for i in range(len(data)):
            self.sock.sendall(data[i:i + 1])

    def alloc_msgid(self):
        m = self.next_msgid
        self.next_msgid += 1
        return m

    def send_request(self, method, params=None, auth=None, msgid=None):
        if msgid is None:
            msgid = self.alloc_msgid()
        p = dict(params or {})
        if auth is not None:
            p["auth"] = auth
        self.send_raw(request_frame(msgid, method, p))
        return msgid

    def send_notify(self, method, params=None):
        self.send_raw(packb([2, method, [params or {}]]))

    # --- receiving
    def recv_msg(self):
        """Next whole message, or raises ConnectionClosed on EOF
        (socket.timeout after the timeout)."""
        while True:
            for msg in self.unpacker:
                return msg
            if self.eof:
                raise ConnectionClosed("daemon closed the connection")
            try:
                data = self.sock.recv(1 << 16)
            except ConnectionResetError:
                data = b""
            if not data:
                self.eof = True
                continue
            self.unpacker.feed(data)

    def recv_reply(self):
        """Next response as (msgid, error, result); asserts the envelope."""
        msg = self.recv_msg()
        if not (isinstance(msg, list) and len(msg) == 4 and msg[0] == 1):
            raise AssertionError("not a MessagePack-RPC response: %r" % (msg,))
        return msg[1], msg[2], msg[3]

    def drain_until_closed(self):
        """Reads until the daemon closes the connection; returns the
        messages that were still queued before EOF. A timeout (the daemon
        kept the connection open) raises AssertionError."""
        extra = []
        try:
            while True:
                extra.append(self.recv_msg())
        except ConnectionClosed:
            return extra
        except socket.timeout:
            raise AssertionError("the daemon did not close the connection; "
                                 "received meanwhile: %r" % (extra,))

    def recv_replies(self, n):
        """n responses, as {msgid: (error, result)}; asserts each msgid once."""
        out = {}
        for _ in range(n):
            msgid, err, res = self.recv_reply()
            if msgid in out:
                raise AssertionError("msgid %r answered twice" % (msgid,))
            out[msgid] = (err, res)
        return out

    def call(self, method, params=None, auth=None):
        """One request, its reply: (error, result)."""
        msgid = self.send_request(method, params, auth)
        rid, err, res = self.recv_reply()
        if rid != msgid:
            raise AssertionError("reply to msgid %r while waiting for %r (err=%r)"
                                 % (rid, msgid, err))
        return err, res

    def ok(self, method, params=None, auth=None):
        """call() that must succeed; returns the result."""
        err, res = self.call(method, params, auth)
        if err is not None:
            raise AssertionError("%s %r failed: %r" % (method, params, err))
        return res


# --------------------------------------------------------------------------
# The daemon

class NotifyReceiver:
    """An sd_notify datagram socket (the NOTIFY_SOCKET of a daemon under
    test) and every datagram received on it, read by a thread."""

    def _notify_open(self, path):
        self._cond = threading.Condition()
        self.notify_msgs = []            # every datagram, in order, as str
        self._notify_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._notify_sock.bind(path)
        os.chmod(path, 0o777)
        self._notify_sock.settimeout(0.2)
        self._stop_reader = False
        self._reader = threading.Thread(target=self._read_notify, daemon=True)
        self._reader.start()

    def _read_notify(self):
        while not self._stop_reader:
            try:
                data = self._notify_sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._cond:
                self.notify_msgs.append(data.decode("utf-8", "replace"))
                self._cond.notify_all()

    def notify_lines(self, since=0):
        """Assignments (KEY=VALUE) received, from datagram index `since`."""
        with self._cond:
            msgs = list(self.notify_msgs[since:])
        return [l for m in msgs for l in m.split("\n") if l]

    def _notify_close(self):
        self._stop_reader = True
        try:
            self._notify_sock.close()
        except OSError:
            pass
        self._reader.join(2)


class Daemon(NotifyReceiver):
    """rolesd under systemd-socket-activate in a private temp dir.

    Daemon(socket_gid=None, socket_mode=0o666, start=True, watchdog_usec=None,
           extra_args=(), launch="activate"|"direct"|"env")
    """

    def __init__(self, start=True, socket_gid=None, socket_mode=0o666,
                 watchdog_usec=None, extra_args=(), launch="activate"):
        self.dir = tempfile.mkdtemp(prefix="rolesd-it-")
        os.chmod(self.dir, 0o755)       # so `nobody` can reach the socket
        self.sock_path = os.path.join(self.dir, "rolesd.sock")
        self.notify_path = os.path.join(self.dir, "notify")
        self.db = os.path.join(self.dir, "db")
        self.socket_gid = socket_gid
        self.socket_mode = socket_mode
        self.watchdog_usec = watchdog_usec
        self.extra_args = list(extra_args)
        # activate: systemd-socket-activate; direct: rolesd --socket --db;
        # env: rolesd with RUNTIME_DIRECTORY and STATE_DIRECTORY only
        self.launch = launch
        self.proc = None
        self.runs = 0
        self.stderr_file = None
        self._notify_open(self.notify_path)
        if start:
            try:
                self.start()
            except BaseException:
                self.close()
                raise

    # --- notify socket: NotifyReceiver
    def wait_notify(self, line, since=0, timeout=WAIT):
        """Waits until a datagram from index `since` holds `line` exactly
        (e.g. READY=1), or for a prefix ending in '=' (e.g. STATUS=)."""
        def seen():
            for l in self.notify_lines(since):
                if l == line or (line.endswith("=") and l.startswith(line)):
                    return True
            return False
        deadline = time.monotonic() + timeout
        with self._cond:
            while not seen():
                if self.proc is not None and self.proc.poll() is not None and not seen():
                    # one more look: the datagram may race the exit
                    self._cond.wait(0.2)
                    if seen():
                        break
                    raise HarnessError("rolesd exited with status %s before sending %s;"
                                       " its stderr:\n%s" % (self.proc.returncode, line,
                                                             self.stderr_text()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no %s on NOTIFY_SOCKET within %ss; got %r; stderr:\n%s"
                                         % (line, timeout, self.notify_lines(since),
                                            self.stderr_text()))
                self._cond.wait(min(left, 0.2))

    # --- lifecycle
    def start(self):
        """Starts a new daemon process on the same db and waits for READY=1."""
        if self.proc is not None and self.proc.poll() is None:
            raise HarnessError("daemon already running")
        rolesd = rolesd_path()
        self.runs += 1
        self.stderr_path = os.path.join(self.dir, "stderr.%d" % self.runs)
        if self.stderr_file:
            self.stderr_file.close()
        self.stderr_file = open(self.stderr_path, "wb")
        try:
            os.unlink(self.sock_path)
        except FileNotFoundError:
            pass
        with self._cond:
            self.ready_index = len(self.notify_msgs)
        if self.launch != "activate":
            self._start_plain(rolesd)
            return
        cmd = [socket_activate_path(), "-l", self.sock_path,
               "-E", "NOTIFY_SOCKET=" + self.notify_path]
        if self.watchdog_usec:
            cmd += ["-E", "WATCHDOG_USEC=%d" % self.watchdog_usec]
        cmd += ["--"] + daemon_wrapper() + [rolesd, "--db", self.db] + self.extra_args
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.stderr_file, stderr=self.stderr_file,
                                     cwd=self.dir)
        self.pid = self.proc.pid
        wait_for(lambda: os.path.exists(self.sock_path) or self.proc.poll() is not None,
                 what="systemd-socket-activate to create " + self.sock_path)
        if self.proc.poll() is not None:
            raise HarnessError("systemd-socket-activate exited with %s; output:\n%s"
                               % (self.proc.returncode, self.stderr_text()))
        if self.socket_gid is not None:
            os.chown(self.sock_path, -1, self.socket_gid)
        os.chmod(self.sock_path, self.socket_mode)
        # the first connection makes systemd-socket-activate exec rolesd
        # (the path exists from bind(); connect() is refused until listen())
        def connected():
            t = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                t.connect(self.sock_path)
                return t
            except (ConnectionRefusedError, FileNotFoundError):
                t.close()
                if self.proc.poll() is not None:
                    raise HarnessError("systemd-socket-activate exited with %s; output:\n%s"
                                       % (self.proc.returncode, self.stderr_text()))
                return None
        trigger = wait_for(connected, what="the listening socket to accept connections")
        try:
            self.wait_notify("READY=1", since=self.ready_index)
        finally:
            trigger.close()

    def _start_plain(self, rolesd):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("LISTEN_") and k not in ("RUNTIME_DIRECTORY",
                                                            "STATE_DIRECTORY")}
        env["NOTIFY_SOCKET"] = self.notify_path
        if self.watchdog_usec:
            env["WATCHDOG_USEC"] = "%d" % self.watchdog_usec
        if self.launch == "direct":
            cmd = [rolesd, "--socket", self.sock_path, "--db", self.db]
        elif self.launch == "env":
            cmd = [rolesd]
            env["RUNTIME_DIRECTORY"] = self.dir
            env["STATE_DIRECTORY"] = self.db
        else:
            raise HarnessError("unknown launch mode %r" % self.launch)
        self.proc = subprocess.Popen(daemon_wrapper() + cmd + self.extra_args, stdin=subprocess.DEVNULL,
                                     stdout=self.stderr_file, stderr=self.stderr_file,
                                     cwd=self.dir, env=env)
        self.pid = self.proc.pid
        self.wait_notify("READY=1", since=self.ready_index)
        if not os.path.exists(self.sock_path):
            raise AssertionError("rolesd is READY but %s does not exist; stderr:\n%s"
                                 % (self.sock_path, self.stderr_text()))
        if self.socket_gid is not None:
            os.chown(self.sock_path, -1, self.socket_gid)
        os.chmod(self.sock_path, self.socket_mode)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.running():
            os.kill(self.proc.pid, sig)

    def wait_exit(self, timeout=WAIT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("rolesd did not exit within %ss; stderr:\n%s"
                                 % (timeout, self.stderr_text()))

    def stop(self, sig=signal.SIGTERM):
        """Sends sig (SIGTERM) and returns the exit status (negative: signal)."""
        if self.proc is None:
            return None
        self.kill(sig)
        return self.wait_exit()

    def restart(self, sig=signal.SIGTERM):
        """Stops (sig; SIGKILL for a crash) and starts again on the same db."""
        if self.running():
            self.kill(sig)
            self.wait_exit()
        self.start()

    def close(self):
        if daemon_wrapper() and self.proc is not None and self.proc.poll() is None:
            try:        # a clean exit, so a wrapper such as valgrind reports leaks
                self.proc.terminate()
                self.proc.wait(WAIT)
            except Exception:
                pass
        kill_and_reap(self.proc)
        self._notify_close()
        if self.stderr_file:
            self.stderr_file.close()
            self.stderr_file = None
        remove_dir(self.dir, "harness")

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    # --- output
    def stderr_bytes(self):
        """Everything the daemon (all runs) wrote to stderr."""
        return runs_stderr(self.dir, self.runs)

    def stderr_text(self):
        return self.stderr_bytes().decode("utf-8", "replace")

    # --- clients
    def rpc(self, timeout=WAIT):
        return RawClient(self.sock_path, timeout=timeout)

    def rolesctl(self, *args, json=False, check=True, socket_path=None, env=None,
                 socket_after=False):
        """Runs the real rolesctl. Returns CompletedProcess (text); with
        json=True and check=True also sets .json to the parsed stdout."""
        sock = socket_path or self.sock_path
        return run_rolesctl(*args, json=json, check=check, socket_path=sock, env=env,
                            socket_after=socket_after, daemon=self)

    # --- convenience
    def status(self):
        with self.rpc() as c:
            return c.ok("server.status", {})


def run_rolesctl(*args, json=False, check=True, socket_path=None, env=None,
                 socket_after=False, daemon=None):
    cmd = [rolesctl_path()]
    opts = []
    if socket_path is not None:
        opts += ["--socket", socket_path]
    if json:
        opts += ["--json"]
    cmd += (list(args) + opts) if socket_after else (opts + list(args))
    e = dict(os.environ)
    e.pop("ROLESD_SOCKET", None)
    if env:
        e.update(env)
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=WAIT * 2, env=e)
    except subprocess.TimeoutExpired:
        raise AssertionError("rolesctl %r did not finish" % (args,))
    p.cmd = cmd
    p.json = None
    if check and p.returncode != 0:
        raise AssertionError("%r exited %d\nstdout: %s\nstderr: %s%s"
                             % (cmd, p.returncode, p.stdout, p.stderr,
                                ("\ndaemon stderr:\n" + daemon.stderr_text()[-4000:])
                                if daemon else ""))
    if json and p.returncode == 0:
        try:
            p.json = jsonlib.loads(p.stdout)
        except ValueError as ex:
            raise AssertionError("rolesctl --json %r printed no JSON (%s): %r"
                                 % (args, ex, p.stdout))
    return p


# --------------------------------------------------------------------------
# Test base

class FailureTrackingTestCase(unittest.TestCase):
    """Sets the class's _failed when one of its tests fails, so that
    tearDownClass can print the logs of the processes it ran."""
    _failed = False

    def run(self, result=None):
        if result is None:
            result = self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        r = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            type(self)._failed = True
        return r


class DaemonTestCase(FailureTrackingTestCase):
    """One daemon per test class (setUpClass), shared by its tests; its
    stderr is printed when a test of the class fails."""

    daemon_kwargs = {}

    @classmethod
    def setUpClass(cls):
        cls._failed = False
        cls.d = Daemon(**cls.daemon_kwargs)
        # a class cleanup also runs when a subclass's setUpClass fails later
        cls.addClassCleanup(cls._close_daemon, cls.d)

    @classmethod
    def _close_daemon(cls, d):
        if cls._failed or os.environ.get("ROLESD_IT_VERBOSE"):
            sys.stderr.write("\n----- rolesd stderr (%s) -----\n%s\n-----\n"
                             % (cls.__name__, d.stderr_text()[-20000:]))
        d.close()

    # assertions
    def assertError(self, err, code, field=None, msg=None):
        ctx = (" (%s)" % msg) if msg else ""
        self.assertIsNotNone(err, "expected error %s, got success%s" % (code, ctx))
        self.assertIsInstance(err, dict, "error is not a map: %r%s" % (err, ctx))
        self.assertEqual(err.get("code"), code, "error %r%s" % (err, ctx))
        self.assertIsInstance(err.get("message"), str, "error without message: %r" % (err,))
        if field is not None:
            self.assertEqual(err.get("field"), field, "error %r%s" % (err, ctx))

    def assertOk(self, err, msg=None):
        self.assertIsNone(err, "expected success, got %r%s" % (err, (" (%s)" % msg) if msg else ""))


_org_counter = [1000]


def fresh_org(client, provider=None, name=None):
    """Creates a new Partoo organization through RPC and returns its id."""
    while True:
        _org_counter[0] += 1
        oid = _org_counter[0]
        p = {"id": oid}
        if provider is not None:
            p["provider"] = provider
        if name is not None:
            p["name"] = name
        err, res = client.call("org.add", p)
        if err is None:
            return oid
        if err.get("code") != "duplicate":
            raise AssertionError("org.add %r: %r" % (p, err))


def catalog_names(node):
    """Every permission name in a permission.catalog result (any nesting)."""
    out = set()
    if isinstance(node, dict):
        perms = node.get("permissions")
        if isinstance(perms, list):
            for p in perms:
                if isinstance(p, dict) and isinstance(p.get("name"), str):
                    out.add(p["name"])
                elif isinstance(p, str):
                    out.add(p)
        for v in node.values():
            out |= catalog_names(v)
    elif isinstance(node, list):
        for v in node:
            out |= catalog_names(v)
    return out


def list_all(client, org, per_page=100, auth=None):
    """All roles of an org through numbered pages."""
    roles = []
    page = 1
    while True:
        res = client.ok("role.list", {"org": org, "page": page, "per_page": per_page}, auth)
        roles += res["roles"]
        if page >= res["max_page"]:
            return roles, res["count"]
        page += 1


def main():
    unittest.main(verbosity=2)
