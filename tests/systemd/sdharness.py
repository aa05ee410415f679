"""sdharness.py: the systemd tests' host: a sandbox with a real systemd as
PID 1 (sandbox.py, beside this file), into which the build is installed the
way a host installs it.

Environment (set by tests/systemd/meson.build):
  BUILD_ROOT       the build directory to `meson install`
  SOURCE_ROOT      the source tree
  SANITIZE         the build's b_sanitize option
  HAVE_HTTP        1 when the build has rolesd-http

These tests need root and systemd; without them, and in a sanitizer build,
they exit 77 (skipped) saying why in one line. The daemon tests that need
neither are in tests/integration (systemd-socket-activate with a notify
socket).
"""

import atexit
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

import harness
from harness import WAIT
from sandbox import SystemdSandbox, unavailable

SKIP = 77
UNITS = ("rolesd.socket", "rolesd.service", "rolesd-http.socket", "rolesd-http.service")
INSIDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "inside.py")


def env(name):
    v = os.environ.get(name)
    if not v:
        sys.exit("sdharness: %s is not set: run these tests through meson "
                 "(meson test -C BUILD --suite systemd)" % name)
    return v


def have_http():
    return os.environ.get("HAVE_HTTP") == "1"


def skip_unless_runnable():
    """Exits 77 with one clear line when the sandbox cannot run here."""
    why = unavailable()
    if not why and os.environ.get("SANITIZE", "none") not in ("", "none"):
        why = ("a sanitizer build (b_sanitize=%s): LeakSanitizer needs ptrace() at exit, which the "
               "units' SystemCallFilter= refuses, and these tests check the shipped units, not memory "
               "safety; they run in the plain build" % os.environ["SANITIZE"])
    if why:
        print("SKIP: %s" % why, flush=True)
        sys.exit(SKIP)


# Polls ten times a second, not fifty: each look runs a command in the sandbox.
wait_for = functools.partial(harness.wait_for, interval=0.1)


def installed_paths(build_root):
    """{basename-ish key: installed absolute path} from meson introspect."""
    out = subprocess.run(["meson", "introspect", build_root, "--installed"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


class Sandbox(SystemdSandbox):
    """One sandbox with a network of its own: start() boots it, x() runs a
    command inside, stop() ends it (also at exit and on SIGTERM, so a
    failing or timed-out test leaves nothing behind) and removes its
    files."""

    _live = []

    def __init__(self):
        self.build = env("BUILD_ROOT")
        self.files = tempfile.mkdtemp(prefix="rolesd-sdtest-", dir="/tmp")
        os.chmod(self.files, 0o755)
        super().__init__(tempfile.mkdtemp(prefix="rolesd-sandbox-", dir="/tmp"))

    # --- lifecycle
    def start(self):
        Sandbox._live.append(self)
        super().start()

    def stop(self):
        super().stop()
        if self in Sandbox._live:
            Sandbox._live.remove(self)
        shutil.rmtree(self.state, ignore_errors=True)
        shutil.rmtree(self.files, ignore_errors=True)

    # --- running things inside
    def x(self, *cmd, check=True, timeout=WAIT * 2, input=None, user=None, env=None):
        """Runs cmd inside; returns the CompletedProcess (text)."""
        cmd = list(cmd)
        if user is not None:
            cmd = ["setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups", "--"] + cmd
        if env:
            cmd = ["env"] + ["%s=%s" % kv for kv in env.items()] + cmd
        p = subprocess.run(self.argv(cmd), capture_output=True, text=True,
                           timeout=timeout, input=input,
                           stdin=None if input is not None else subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s"
                                 % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
        return p

    def popen(self, *cmd, **kw):
        return subprocess.Popen(self.argv(list(cmd)), **kw)

    def inside(self, *args, check=True, timeout=WAIT * 3):
        """tests/systemd/inside.py with tests/lib (harness.py) on PYTHONPATH."""
        return self.x("env", "PYTHONPATH=" + os.path.join(os.environ["SOURCE_ROOT"], "tests/lib"),
                      "PYTHONDONTWRITEBYTECODE=1", "/usr/bin/python3", INSIDE, *args,
                      check=check, timeout=timeout)

    def inside_popen(self, *args, **kw):
        return self.popen("env", "PYTHONPATH=" + os.path.join(os.environ["SOURCE_ROOT"], "tests/lib"),
                          "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "/usr/bin/python3",
                          INSIDE, *args, **kw)

    def show(self, unit, *props):
        out = self.x("systemctl", "show", unit, *("-p" + p for p in props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def prop(self, unit, p):
        return self.show(unit, p).get(p, "")

    def main_pid(self, unit):
        return int(self.prop(unit, "MainPID") or 0)

    def rolesctl(self, *args, user=None, check=True, json_out=False):
        p = self.x("rolesctl", *args, *(["--json"] if json_out else []), user=user, check=check)
        p.json = json.loads(p.stdout) if json_out and p.returncode == 0 else None
        return p

    def drop_in(self, unit, name, text):
        """A drop-in in /etc/systemd/system (the sandbox manager's unit path)."""
        d = "/etc/systemd/system/%s.d" % unit
        self.x("sh", "-c", 'mkdir -p "$1" && cat > "$1/$2"', "sh", d, name, input=text)
        self.x("systemctl", "daemon-reload")

    def journal(self, unit, n=300):
        return self.x("journalctl", "--no-pager", "-u", unit, "-n", str(n), check=False).stdout

    # --- the host's installation steps
    def install(self, enable=True):
        """meson install, then what a host (or its package's postinst) does:
        systemd-sysusers, systemd-tmpfiles --create, systemctl daemon-reload,
        systemctl enable --now rolesd.socket rolesd-http.socket."""
        p = self.x("meson", "install", "-C", self.build, "--no-rebuild", timeout=120)
        self.install_output = p.stdout + p.stderr
        # What meson install's post-install step did on its own (units/post-install.sh).
        self.post_install = {
            "user rolesd": self.x("getent", "passwd", "rolesd", check=False).returncode == 0,
            "user rolesd-http in group rolesd":
                "rolesd-http" in self.x("getent", "group", "rolesd", check=False).stdout,
            "/run/rolesd": self.x("test", "-d", "/run/rolesd", check=False).returncode == 0,
            "ld.so.cache has librolesd": "librolesd.so.1" in self.x("ldconfig", "-p").stdout,
        }
        inst = installed_paths(self.build)
        self.unit_paths = sorted(v for v in inst.values() if os.path.basename(v) in UNITS)
        # The sandbox's systemd loads units only from /etc/systemd/system and
        # the launcher's own folder: it does not search systemd's system unit
        # directory, which would bring in this machine's own units. A real
        # host does search it; here the installed unit files are linked into
        # /etc/systemd/system instead (systemctl link), and used from where
        # meson installed them.
        self.x("systemctl", "link", *self.unit_paths)
        self.x("systemd-sysusers")
        self.x("systemd-tmpfiles", "--create")
        self.x("systemctl", "daemon-reload")
        if enable:
            socks = ["rolesd.socket"] + (["rolesd-http.socket"] if have_http() else [])
            self.x("systemctl", "enable", "--now", *socks)


class SandboxTestCase(unittest.TestCase):
    """One sandbox for the class, installed and enabled in setUpClass;
    test methods run in name order (test_01_..., test_02_...)."""

    install_enable = True

    @classmethod
    def setUpClass(cls):
        cls.sb = Sandbox()
        try:
            cls.sb.start()
            cls.sb.install(enable=cls.install_enable)
        except BaseException:
            cls.sb.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.sb.stop()

    def run(self, result=None):
        """On failure, show the journal of the sandbox before it goes."""
        nfail = len(result.failures) + len(result.errors) if result else 0
        r = super().run(result)
        if result and len(result.failures) + len(result.errors) > nfail and self.sb.started:
            print("\n--- sandbox journal (last 150 lines) ---\n%s---"
                  % self.sb.x("journalctl", "--no-pager", "-n", "150", "_TRANSPORT=stdout", "+",
                              "_TRANSPORT=syslog", "+", "_TRANSPORT=journal", check=False).stdout,
                  flush=True)
        return r


def _emergency(signum, frame):
    """SIGTERM (meson's timeout) or SIGINT: meson kills this process group
    0.5 s later, but the sandbox runs in a session of its own. Hand each
    live sandbox to a detached child that stops it properly (services
    first, so their PrivateTmp= folders go too) and removes its files."""
    for s in list(Sandbox._live):
        if os.fork() == 0:
            try:
                os.setsid()
                if os.fork() == 0:
                    s.stop()
            finally:
                os._exit(0)
    os._exit(1)


@atexit.register
def _at_exit():
    for s in list(Sandbox._live):
        s.stop()


def main():
    skip_unless_runnable()
    signal.signal(signal.SIGTERM, _emergency)
    signal.signal(signal.SIGINT, _emergency)
    unittest.main(verbosity=2)


def exposure(sb, unit):
    """systemd-analyze security's overall exposure of a loaded unit."""
    out = sb.x("systemd-analyze", "security", "--no-pager", unit).stdout
    m = re.search(r"Overall exposure level for %s: ([0-9.]+)" % re.escape(unit), out)
    if not m:
        raise AssertionError("no exposure figure for %s in:\n%s" % (unit, out))
    return float(m.group(1)), out
