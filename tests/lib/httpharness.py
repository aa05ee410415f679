"""httpharness.py: black-box helpers for rolesd-http's tests.

Builds on harness.py (beside it in tests/lib): the real rolesd under
systemd-socket-activate, the raw MessagePack-RPC client and the real
rolesctl. Adds:
  - Shim: the real rolesd-http, started with --listen 127.0.0.1:PORT (a port
    picked by binding port 0) or under systemd-socket-activate, waiting for
    READY=1 on a NOTIFY_SOCKET of our own (or for the port to answer);
  - provision(): orgs, Partoo API keys and Rocket.Chat users made with the
    real rolesctl;
  - Response / http_call(): http.client requests that keep everything a
    failure message needs (request and response);
  - OpenAPIDoc: the shim's GET /openapi.json and the seeds' documents
    (tests/http/api/: the OpenAPI parts of Partoo's and Rocket.Chat's
    documentation, verbatim), response bodies
    validated with jsonschema against the response schema of the matching
    operation and status;
  - ShimTestCase: one daemon + one shim per test class, and assertions in the
    two REST dialects.

Environment (set by the suites' meson.build):
  ROLESD, ROLESCTL   as for the integration tests
  ROLESD_HTTP        the built rolesd-http
  HTTP_TEST_NO_SHIM_SCHEMA=1   diagnosis only: skip validation against the
                               shim's own /openapi.json (seed schemas and
                               dialect checks still apply)

Every wait has a generous upper bound (harness.WAIT); nothing asserts on
durations.
"""

import contextlib
import http.client
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

import jsonschema
import yaml

import harness
from harness import WAIT, Daemon, HarnessError, wait_for  # noqa: F401 (re-exported)

SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
API_DIR = os.path.join(SOURCE_ROOT, "tests", "http", "api")

BODY_LIMIT = 64 * 1024


# rolesd-http's worker threads (HTTP_THREADS, in a header under client/).
# Each makes its pipe to rolesd lazily, on its first request: an eventfd
# and a socket, so up to twice this many descriptors appear after a
# baseline without being a leak.
def _shim_workers():
    for d, _, files in os.walk(os.path.join(SOURCE_ROOT, "client")):
        for f in files:
            if f.endswith(".h"):
                with open(os.path.join(d, f)) as h:
                    m = re.search(r"#define HTTP_THREADS\s+(\d+)u", h.read())
                if m:
                    return int(m.group(1))
    raise HarnessError("no #define HTTP_THREADS in client/*.h: say where rolesd-http's "
                       "worker count is defined")


SHIM_WORKERS = _shim_workers()
SHIM_LAZY_FDS = 2 * SHIM_WORKERS

# Organizations and credentials every ShimTestCase gets (made by rolesctl).
ORG_A = 101          # provider p1
ORG_B = 102          # provider p1
ORG_C = 201          # provider p2
ORG_UNKNOWN = 987654

ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

RC_MESSAGES = {
    "error-invalid-role-properties": "The role properties are invalid.",
    "error-duplicate-role-names-not-allowed": "Role name already exists",
    "error-action-not-allowed": "Accessing permissions is not allowed",
}
PARTOO_401 = {"errors": {"authentication": "User not authenticated"}}
PARTOO_403 = {"errors": {"authorization": "Operation not allowed"}}
PARTOO_404_ORG = {"errors": {"json": "Resource not found"}}
RC_401 = {"status": "error", "message": "You must be logged in to do this."}

# The seeds' own request examples, verbatim.
PARTOO_EXAMPLE = {
    "name": "My Custom Role",
    "api_id": "my_custom_role",
    "description": "This Custom Role is just an example for our API documentation",
    "permissions": ["business_edit", "business_edit_name", "review_read"],
}
RC_EXAMPLE_1 = {
    "name": "Test Role",
    "scope": "Users",
    "description": "Testing Role for API",
    "mandatory2fa": "false",
}


def shim_path():
    p = os.environ.get("ROLESD_HTTP")
    if not p:
        raise HarnessError("ROLESD_HTTP is not set: run through meson (meson test -C BUILD "
                           "--suite http) or set ROLESD_HTTP=/path/to/rolesd-http")
    if not os.path.isfile(p) or not os.access(p, os.X_OK):
        raise HarnessError("ROLESD_HTTP=%s is not an executable file (ninja -C BUILD)" % p)
    return p


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def port_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------
# The shim

class Shim(harness.NotifyReceiver):
    """rolesd-http in a private temp dir.

    Shim(daemon_sock, activate=False, socket_arg=True, env=None, extra_args=())
      activate:   run under systemd-socket-activate -l 127.0.0.1:PORT
      socket_arg: pass --socket DAEMON_SOCK (else ROLESD_SOCKET in env)
    """

    def __init__(self, daemon_sock, activate=False, socket_arg=True, env=None,
                 extra_args=()):
        self.daemon_sock = daemon_sock
        self.activate = activate
        self.socket_arg = socket_arg
        self.extra_env = dict(env or {})
        self.extra_args = list(extra_args)
        self.dir = tempfile.mkdtemp(prefix="rolesd-http-test-")
        self.notify_path = os.path.join(self.dir, "notify")
        self.proc = None
        self.port = None
        self.runs = 0
        self.ready_seen = False
        self._notify_open(self.notify_path)

    def has_ready(self, since=0):
        return "READY=1" in self.notify_lines(since)

    def _cmd_env(self, port):
        shim = shim_path()
        env = {k: v for k, v in os.environ.items()
               if k not in ("ROLESD_SOCKET", "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID",
                            "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID")}
        args = []
        if self.socket_arg:
            args += ["--socket", self.daemon_sock]
        else:
            self.extra_env.setdefault("ROLESD_SOCKET", self.daemon_sock)
        args += self.extra_args
        if self.activate:
            cmd = [harness.socket_activate_path(), "-l", "127.0.0.1:%d" % port,
                   "-E", "NOTIFY_SOCKET=" + self.notify_path]
            for k, v in self.extra_env.items():
                cmd += ["-E", "%s=%s" % (k, v)]
            cmd += ["--", shim] + args
        else:
            cmd = [shim, "--listen", "127.0.0.1:%d" % port] + args
            env["NOTIFY_SOCKET"] = self.notify_path
            env.update(self.extra_env)
        return cmd, env

    def start(self):
        """Starts the shim on a fresh port; waits for READY=1 (or, failing
        that, for the port to answer) with generous bounds."""
        last = None
        for attempt in range(6):
            port = free_port()
            self.runs += 1
            self.stderr_path = os.path.join(self.dir, "stderr.%d" % self.runs)
            with self._cond:
                since = len(self.notify_msgs)
            cmd, env = self._cmd_env(port)
            with open(self.stderr_path, "wb") as errf:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=errf,
                                             stderr=errf, env=env, cwd=self.dir)
            self.port = port
            if self.activate:
                # systemd-socket-activate binds; the first connection execs the shim
                wait_for(lambda: port_answers(port) or self.proc.poll() is not None,
                         what="systemd-socket-activate to listen on port %d" % port)
                if self.proc.poll() is not None:
                    last = self.stderr_text()
                    continue
            deadline = time.monotonic() + WAIT
            while True:
                if self.has_ready(since):
                    self.ready_seen = True
                    break
                if self.proc.poll() is not None:
                    break
                if not self.activate and port_answers(port):
                    # the port answers: go on (test_lifecycle asserts READY=1)
                    self.ready_seen = self.has_ready(since)
                    break
                if time.monotonic() > deadline:
                    raise HarnessError("rolesd-http neither sent READY=1 nor answered on "
                                       "port %d within %ss; stderr:\n%s"
                                       % (port, WAIT, self.stderr_text()))
                time.sleep(0.02)
            if self.proc.poll() is None:
                self.ready_since = since
                return self
            last = self.stderr_text()
            if "in use" not in last.lower() and "eaddrinuse" not in last.lower():
                break
        raise HarnessError("rolesd-http %r exited with status %s before serving; stderr:\n%s"
                           % (cmd, self.proc.returncode, last))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return None
        if self.running():
            os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            raise AssertionError("rolesd-http did not exit within %ss after signal %d; "
                                 "stderr:\n%s" % (WAIT, sig, self.stderr_text()))

    def close(self):
        harness.kill_and_reap(self.proc)
        self._notify_close()
        harness.remove_dir(self.dir, "httpharness")

    def stderr_text(self):
        return harness.runs_stderr(self.dir, self.runs).decode("utf-8", "replace")

    def conn(self, timeout=WAIT):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)


# --------------------------------------------------------------------------
# Provisioning through the real rolesctl

def provision(d):
    """Orgs A, B (provider p1), C (provider p2); Partoo keys; Rocket.Chat
    users alice (admin) and bob (user). Returns a dict."""
    def ctl(*a):
        return d.rolesctl(*a, json=True).json

    ctl("org", "add", str(ORG_A), "--name", "Org A", "--provider", "p1")
    ctl("org", "add", str(ORG_B), "--name", "Org B", "--provider", "p1")
    ctl("org", "add", str(ORG_C), "--name", "Org C", "--provider", "p2")
    keys = {}
    for label, role, org in [("admin_a", "ORG_ADMIN", ORG_A),
                             ("admin_c", "ORG_ADMIN", ORG_C),
                             ("manager_a", "ORG_MANAGER", ORG_A),
                             ("group_manager_a", "GROUP_MANAGER", ORG_A),
                             ("business_manager_a", "BUSINESS_MANAGER", ORG_A),
                             ("publisher_a", "PUBLISHER", ORG_A)]:
        keys[label] = ctl("key", "add", "--user-role", role, "--org", str(org))["api_key"]
    for label, prov in [("provider_p1", "p1"), ("provider_p2", "p2")]:
        keys[label] = ctl("key", "add", "--user-role", "PROVIDER", "--provider", prov)["api_key"]
    users = {}
    users["alice"] = ctl("user", "add", "alice", "--role", "admin")
    users["bob"] = ctl("user", "add", "bob")
    for u in users.values():
        assert u.get("userId") and u.get("authToken"), users
    return {"keys": keys, "users": users}


# --------------------------------------------------------------------------
# HTTP

class Response:
    def __init__(self, req, status, reason, headers, body, sock_same=None):
        self.req = req                 # (method, path, headers, body bytes or None)
        self.status = status
        self.reason = reason
        self.headers = headers         # list of (name, value)
        self.body = body
        self._json = None
        self._json_err = None
        try:
            self._json = json.loads(body.decode("utf-8"))
        except Exception as e:         # noqa: BLE001
            self._json_err = e

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def json(self):
        if self._json_err is not None:
            raise AssertionError("response body is not JSON (%s)\n%s" % (self._json_err, self))
        return self._json

    def __str__(self):
        m, p, h, b = self.req
        if b is None:
            bs = "(no body)"
        else:
            bs = repr(b[:400]) + ("... (%d bytes)" % len(b) if len(b) > 400 else "")
        hs = ", ".join("%s: %s" % (k, v) for k, v in (h or {}).items())
        rb = self.body[:1200]
        return ("request:  %s %s [%s] %s\nresponse: %s %s [%s]\n          %r"
                % (m, p, hs, bs, self.status, self.reason,
                   ", ".join("%s: %s" % kv for kv in self.headers), rb))


def encode_body(body):
    if body is None:
        return None
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def http_call(port_or_conn, method, path, body=None, headers=None, json_ct=True,
              timeout=WAIT):
    """One request; returns Response. body: dict/list (JSON-encoded), str,
    bytes or None. port_or_conn: a port (new connection, closed after) or an
    http.client.HTTPConnection (kept open)."""
    b = encode_body(body)
    h = dict(headers or {})
    if b is not None and json_ct and not any(k.lower() == "content-type" for k in h):
        h["Content-Type"] = "application/json"
    own = not isinstance(port_or_conn, http.client.HTTPConnection)
    conn = http.client.HTTPConnection("127.0.0.1", port_or_conn, timeout=timeout) if own \
        else port_or_conn
    try:
        conn.request(method, path, body=b, headers=h)
        r = conn.getresponse()
        data = r.read()
        return Response((method, path, h, b), r.status, r.reason, r.getheaders(), data)
    finally:
        if own:
            conn.close()


def raw_exchange(port, method, path, headers, body_chunks=(), content_length=None,
                 chunked=False, timeout=WAIT):
    """Sends a request with raw bytes (the head, then each body chunk, from
    a thread) while this thread reads the response, so that a server that
    answers early (413) and closes is still heard. content_length: the
    Content-Length header to send (None: none); chunked: frame the chunks
    with Transfer-Encoding: chunked. Returns (Response or None, error)."""
    h = {"Host": "127.0.0.1:%d" % port}
    h.update(headers)
    if content_length is not None:
        h["Content-Length"] = str(content_length)
    if chunked:
        h["Transfer-Encoding"] = "chunked"
    head = ("%s %s HTTP/1.1\r\n" % (method, path)).encode("latin-1")
    for k, v in h.items():
        head += k.encode("latin-1") + b": " + (v if isinstance(v, bytes) else
                                               v.encode("latin-1")) + b"\r\n"
    head += b"\r\n"
    total = [0]

    def frames():
        for c in body_chunks:
            total[0] += len(c)
            yield (b"%x\r\n" % len(c) + c + b"\r\n") if chunked else c
        if chunked:
            yield b"0\r\n\r\n"

    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    send_err = []

    def sender():
        try:
            s.sendall(head)
            for c in frames():
                s.sendall(c)
        except OSError as e:
            send_err.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    resp, err = None, None
    try:
        r = http.client.HTTPResponse(s, method=method)
        r.begin()
        data = r.read()
        resp = Response((method, path, h, b"(%s body streamed)" % (b"chunked" if chunked
                                                                    else b"raw")),
                        r.status, r.reason, r.getheaders(), data)
    except (http.client.HTTPException, OSError) as e:
        err = e
    finally:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
        t.join(WAIT)
    return resp, (err or (send_err[0] if send_err else None))


# --------------------------------------------------------------------------
# OpenAPI documents and response validation

def _split_template(tmpl):
    out, pos = [], 0
    for m in re.finditer(r"\{[^}/]+\}", tmpl):
        out.append(re.escape(tmpl[pos:m.start()]))
        out.append("[^/]+")
        pos = m.end()
    out.append(re.escape(tmpl[pos:]))
    return "^" + "".join(out) + "$"


METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class OpenAPIDoc:
    """An OpenAPI document: routes (server path prefix + path template) and
    response schemas, validated with jsonschema ($ref resolved within the
    document)."""

    def __init__(self, doc, name):
        self.doc = doc
        self.name = name
        ver = str(doc.get("openapi", ""))
        self.validator_cls = (jsonschema.Draft202012Validator if ver.startswith("3.1")
                              else jsonschema.Draft4Validator)
        self.resolver = jsonschema.RefResolver.from_schema(doc)
        self.routes = []
        for tmpl, item in (doc.get("paths") or {}).items():
            item = self.deref(item)
            servers = item.get("servers") or doc.get("servers") or [{"url": "/"}]
            for srv in servers:
                prefix = urllib.parse.urlparse(srv.get("url", "/")).path.rstrip("/")
                self.routes.append((re.compile(_split_template(prefix + tmpl)),
                                    prefix + tmpl, item))

    def deref(self, node, depth=0):
        while isinstance(node, dict) and "$ref" in node and depth < 20:
            _, node = self.resolver.resolve(node["$ref"])
            depth += 1
        return node

    def path_item(self, path):
        """(full template, path item) for a request path (no query), or None.
        Literal templates win over templated ones."""
        path = urllib.parse.urlsplit(path).path
        hits = [(t, i) for rx, t, i in self.routes if rx.match(path)]
        hits.sort(key=lambda ti: ti[0].count("{"))
        return hits[0] if hits else None

    def operation(self, method, path):
        pi = self.path_item(path)
        if pi is None:
            return None
        return self.deref(pi[1].get(method.lower()))

    def response_object(self, method, path, status):
        """The response object for (method, path, status), or (None, why).
        For a method the path does not have (405), any operation of the path
        item listing that status is used."""
        pi = self.path_item(path)
        if pi is None:
            return None, "%s has no path matching %s" % (self.name, path)
        item = pi[1]
        ops = []
        op = self.deref(item.get(method.lower()))
        if op is not None:
            ops.append(op)
        else:
            ops += [self.deref(item[m]) for m in METHODS if m in item]
        for op in ops:
            resps = op.get("responses") or {}
            for key in (str(status), "%dXX" % (status // 100), "default"):
                if key in resps:
                    return self.deref(resps[key]), None
        return None, ("%s lists no %d response for %s %s (template %s)"
                      % (self.name, status, method, path, pi[0]))

    def response_schema(self, method, path, status):
        ro, why = self.response_object(method, path, status)
        if ro is None:
            return None, why
        content = ro.get("content") or {}
        for ct, mt in content.items():
            if ct.split(";")[0].strip().lower() == "application/json":
                mt = self.deref(mt)
                if "schema" in mt:
                    return mt["schema"], None
        return None, ("%s: the %d response of %s %s has no application/json schema"
                      % (self.name, status, method, path))

    def validate(self, schema, instance):
        v = self.validator_cls(schema, resolver=self.resolver)
        return ["%s at %s" % (e.message, "/".join(str(x) for x in e.absolute_path) or "(root)")
                for e in v.iter_errors(instance)]


def load_seed_docs():
    with open(os.path.join(API_DIR, "partoo-custom-role.openapi.yaml"), encoding="utf-8") as f:
        partoo = yaml.safe_load(f)
    with open(os.path.join(API_DIR, "rocketchat-roles-create.openapi.json"),
              encoding="utf-8") as f:
        rc = json.load(f)
    return [OpenAPIDoc(partoo, "seed Partoo document"),
            OpenAPIDoc(rc, "seed Rocket.Chat document")]


def fetch_shim_doc(port):
    """(OpenAPIDoc or None, problem or None)."""
    try:
        r = http_call(port, "GET", "/openapi.json")
    except Exception as e:      # noqa: BLE001
        return None, "GET /openapi.json failed: %s" % e
    if r.status != 200:
        return None, "GET /openapi.json answered %d\n%s" % (r.status, r)
    try:
        doc = r.json
    except AssertionError as e:
        return None, str(e)
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        return None, "GET /openapi.json is not an OpenAPI document: %r" % (r.body[:300],)
    return OpenAPIDoc(doc, "the shim's /openapi.json"), None


# --------------------------------------------------------------------------
# Test base

class ShimTestCase(harness.FailureTrackingTestCase):
    """One daemon (harness.Daemon) and one shim per test class; prints both
    stderr logs when a test of the class fails."""

    shim_kwargs = {}
    daemon_kwargs = {}
    do_provision = True
    _uniq = itertools.count(1)

    @classmethod
    def setUpClass(cls):
        cls._failed = False
        cls.d = Daemon(**cls.daemon_kwargs)
        cls.shim = None
        try:
            cls.creds = provision(cls.d) if cls.do_provision else None
            cls.shim = Shim(cls.d.sock_path, **cls.shim_kwargs)
            cls.shim.start()
            cls.seed_docs = load_seed_docs()
            cls.shim_doc, cls.shim_doc_problem = fetch_shim_doc(cls.shim.port)
        except BaseException:
            cls._dump_logs()
            if cls.shim:
                cls.shim.close()
            cls.d.close()
            raise

    @classmethod
    def _dump_logs(cls):
        sys.stderr.write("\n----- rolesd stderr (%s) -----\n%s\n" % (cls.__name__,
                         cls.d.stderr_text()[-8000:]))
        if getattr(cls, "shim", None):
            sys.stderr.write("----- rolesd-http stderr (%s) -----\n%s\n-----\n"
                             % (cls.__name__, cls.shim.stderr_text()[-8000:]))

    @classmethod
    def tearDownClass(cls):
        if cls._failed or os.environ.get("ROLESD_IT_VERBOSE"):
            cls._dump_logs()
        try:
            if cls.shim is not None and cls.shim.proc is not None and not cls.shim.running() \
                    and not getattr(cls, "shim_may_exit", False):
                raise AssertionError("rolesd-http died during %s with status %s; stderr:\n%s"
                                     % (cls.__name__, cls.shim.proc.returncode,
                                        cls.shim.stderr_text()[-4000:]))
        finally:
            if cls.shim is not None:
                cls.shim.close()
            cls.d.close()

    # --- helpers
    def uniq(self, prefix="role"):
        return "%s-%d" % (prefix, next(self._uniq))

    @property
    def keys(self):
        return self.creds["keys"]

    def pkey(self, label):
        """x-APIKey header for a provisioned key label (or a literal)."""
        return {"x-APIKey": self.keys.get(label, label)}

    def rc_auth(self, user="alice"):
        u = self.creds["users"][user]
        return {"X-User-Id": u["userId"], "X-Auth-Token": u["authToken"]}

    def call(self, method, path, body=None, headers=None, conn=None, **kw):
        return http_call(conn if conn is not None else self.shim.port, method, path, body,
                         headers, **kw)

    def rpc(self):
        return self.d.rpc()

    def roles_count(self):
        return self.d.status()["roles"]

    @contextlib.contextmanager
    def nothing_written(self, what=""):
        before = self.roles_count()
        yield
        after = self.roles_count()
        self.assertEqual(after, before, "a rejected request wrote roles (server.status roles "
                         "%d -> %d) %s" % (before, after, what))

    def assertShimAlive(self):
        self.assertTrue(self.shim.running(), "rolesd-http exited with %s; stderr:\n%s"
                        % (self.shim.proc.returncode, self.shim.stderr_text()[-4000:]))
        r = self.call("GET", "/openapi.json")
        self.assertEqual(r.status, 200, str(r))
        self.assertTrue(self.d.running(), "rolesd exited; stderr:\n%s"
                        % self.d.stderr_text()[-4000:])

    def assertListed(self, item, seq, what):
        """assertIn with a short message (lists of long role names are huge)."""
        if item not in seq:
            short = [(x[:40] + "...") if isinstance(x, str) and len(x) > 40 else x for x in seq]
            self.fail("%r not in %s (%d items: %r)" % (item, what, len(seq), short[:60]))

    # --- response checks
    def check_json(self, r, status, validate=True):
        """Asserts the status, an application/json body, and that the body
        validates against the shim's /openapi.json and (where they list the
        operation and status) the seeds' documents. Returns the parsed body."""
        self.assertEqual(r.status, status, "expected %d\n%s" % (status, r))
        ct = (r.header("Content-Type") or "").split(";")[0].strip().lower()
        self.assertEqual(ct, "application/json", "Content-Type\n%s" % r)
        body = r.json
        if validate:
            self.validate_response(r, body)
        return body

    def validate_response(self, r, body):
        method, path = r.req[0], r.req[1]
        problems = []
        if not os.environ.get("HTTP_TEST_NO_SHIM_SCHEMA"):
            if self.shim_doc is None:
                problems.append("no usable shim /openapi.json: %s" % self.shim_doc_problem)
            elif self.shim_doc.path_item(path) is not None:
                schema, why = self.shim_doc.response_schema(method, path, r.status)
                if schema is None:
                    problems.append(why)
                else:
                    problems += ["%s: %s" % (self.shim_doc.name, p)
                                 for p in self.shim_doc.validate(schema, body)]
        for doc in self.seed_docs:
            if doc.operation(method, path) is None:
                continue
            schema, _ = doc.response_schema(method, path, r.status)
            if schema is not None:
                problems += ["%s: %s" % (doc.name, p) for p in doc.validate(schema, body)]
        if problems:
            self.fail("response does not validate:\n  %s\n%s" % ("\n  ".join(problems), r))

    # Partoo dialect
    def assertPartooExact(self, r, status, expected):
        body = self.check_json(r, status)
        self.assertEqual(body, expected, str(r))
        return body

    def assertPartoo401(self, r):
        return self.assertPartooExact(r, 401, PARTOO_401)

    def assertPartoo403(self, r):
        return self.assertPartooExact(r, 403, PARTOO_403)

    def assertPartoo404Org(self, r):
        return self.assertPartooExact(r, 404, PARTOO_404_ORG)

    def assertPartooDialect(self, r, status):
        """{"errors":{"json":"..."}} (404, 405, 413, 503)."""
        body = self.check_json(r, status)
        self.assertIsInstance(body, dict, str(r))
        self.assertIsInstance(body.get("errors"), dict, str(r))
        self.assertIsInstance(body["errors"].get("json"), str, str(r))
        return body

    def assertPartooFieldError(self, r, field, where=("json",)):
        """400 {"errors":{WHERE:{FIELD:[MESSAGE,...]}}}; returns the messages."""
        if isinstance(where, str):
            where = (where,)
        body = self.check_json(r, 400)
        self.assertIsInstance(body, dict, str(r))
        errs = body.get("errors")
        self.assertIsInstance(errs, dict, str(r))
        fields = field if isinstance(field, tuple) else (field,)
        locs = [(w, f) for w in where for f in fields
                if isinstance(errs.get(w), dict) and f in errs[w]]
        self.assertTrue(locs, "expected a 400 error on field %s under %s\n%s"
                        % (" or ".join(repr(f) for f in fields),
                           " or ".join("errors.%s" % w for w in where), r))
        msgs = errs[locs[0][0]][locs[0][1]]
        self.assertIsInstance(msgs, list, str(r))
        self.assertTrue(msgs and all(isinstance(m, str) and m for m in msgs), str(r))
        return msgs

    # Rocket.Chat dialect
    def assertRC401(self, r):
        body = self.check_json(r, 401)
        self.assertEqual(body, RC_401, str(r))

    def assertRCError(self, r, error_type):
        body = self.check_json(r, 400)
        self.assertIsInstance(body, dict, str(r))
        expected = {"success": False,
                    "error": "%s [%s]" % (RC_MESSAGES[error_type], error_type),
                    "errorType": error_type}
        self.assertEqual({k: body.get(k) for k in expected}, expected, str(r))
        return body

    def assertRCDialect(self, r, status):
        """{"success":false,"error":"..."} (404, 405, 413, 503)."""
        body = self.check_json(r, status)
        self.assertIsInstance(body, dict, str(r))
        self.assertIs(body.get("success"), False, str(r))
        self.assertIsInstance(body.get("error"), str, str(r))
        return body

    def assertRCRole(self, r):
        """200 {"role":{...},"success":true}; returns the role."""
        body = self.check_json(r, 200)
        self.assertIs(body.get("success"), True, str(r))
        role = body.get("role")
        self.assertIsInstance(role, dict, str(r))
        for k, t in (("_id", str), ("name", str), ("scope", str), ("description", str),
                     ("protected", bool), ("mandatory2fa", bool), ("_updatedAt", str)):
            self.assertIsInstance(role.get(k), t, "role.%s\n%s" % (k, r))
        self.assertTrue(role["_id"], str(r))
        self.assertIn(role["scope"], ("Users", "Subscriptions"), str(r))
        self.assertIs(role["protected"], False, str(r))
        self.assertRegex(role["_updatedAt"], ISO_MS_Z, str(r))
        return role

    # requests
    def partoo_create(self, body, key="admin_a", query="", headers=None):
        h = dict(self.pkey(key)) if key is not None else {}
        h.update(headers or {})
        return self.call("POST", "/v2/custom_role" + query, body, h)

    def rc_create(self, body, user="alice", headers=None):
        h = dict(self.rc_auth(user)) if user is not None else {}
        h.update(headers or {})
        return self.call("POST", "/api/v1/roles.create", body, h)

    def partoo_body(self, **over):
        n = self.uniq("p")
        b = {"name": "Role " + n, "api_id": "api_" + n, "description": "d " + n,
             "permissions": ["business_edit"]}
        for k, v in over.items():
            if v is DELETE:
                b.pop(k, None)
            else:
                b[k] = v
        return b


DELETE = object()


def main():
    unittest.main(verbosity=2)
