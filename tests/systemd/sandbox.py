#!/usr/bin/python3
"""sandbox.py: the systemd tests' launcher of a throwaway host: a real
systemd (/lib/systemd/systemd) as PID 1 in new PID, mount, cgroup, UTS and
IPC namespaces, and a network namespace of its own (loopback only) unless
asked for the machine's, over this machine's file system.

Inside the sandbox:
  - /etc, /usr and /var are overlays whose upper layers are on a tmpfs of
    the sandbox's own: what a test installs, enables or creates there
    (meson install, systemd-sysusers, systemctl enable, StateDirectory=)
    never reaches the machine, and goes with the sandbox;
  - /run is a fresh tmpfs, /sys is read-only, and /sys/fs/cgroup is the
    cgroup2 hierarchy rooted at a cgroup made for this sandbox (under this
    process's own), so the sandbox's units have cgroups of their own: two
    sandboxes, or a sandbox and the machine's systemd, never share one;
  - the manager loads units only from /etc/systemd/system (an empty tmpfs,
    which hides the machine's enabled units) and from STATE/units, where
    the launcher writes empty stand-ins for the targets units order
    against and a default.target that starts journald (its units copied
    from this machine): nothing of the machine's own units starts;
  - /dev/console is a pseudo-terminal copied to STATE/console.log (systemd
    logs only to a terminal); the rest of /dev and /tmp are the machine's:
    tests hand files through /tmp. journald's /dev/log socket is left out,
    as it would make the link /dev/log on the machine.

STATE is a folder for the sandbox's files: pid (systemd's PID on this
machine), cgroup (the sandbox's cgroup), console.log, units/ and layers/
(the mount point of the upper layers' tmpfs, empty from outside). stop()
removes the cgroup and the pid file, not STATE.

By hand (as root), to look around a sandbox:
  sandbox.py start STATE [--host-network]   boot; returns once systemd is up
  sandbox.py exec STATE CMD [ARG]...        run CMD inside (systemctl, journalctl, a shell)
  sandbox.py stop STATE                     stop its services and end it
"""

import argparse
import os
import pty
import shutil
import signal
import subprocess
import sys
import time

SYSTEMD = "/lib/systemd/systemd"
MACHINE_UNITS = "/lib/systemd/system"
OVERLAID = ("/etc", "/usr", "/var")
STAND_IN_TARGETS = ("sysinit", "sockets", "basic", "shutdown", "local-fs", "local-fs-pre",
                    "remote-fs", "swap", "umount", "paths", "timers", "slices", "network",
                    "network-pre", "network-online", "nss-user-lookup", "multi-user", "graphical",
                    "time-set", "time-sync")
JOURNALD = ("systemd-journald.socket", "systemd-journald.service")
TOOLS = ("unshare", "nsenter", "mount", "ip")
# The sandbox's namespaces, as unshare(1) makes them and nsenter(1) enters them.
UNSHARE = ["--pid", "--fork", "--mount-proc", "--mount", "--propagation", "private", "--cgroup",
           "--uts", "--ipc"]
ENTER = ["-m", "-p", "-C", "-u", "-i", "-n"]
BOOT_WAIT = 60.0
KILL_WAIT = 30.0


def unavailable():
    """Why no sandbox can run here (one line), or None."""
    if not os.access(SYSTEMD, os.X_OK):
        return "systemd is absent (no %s)" % SYSTEMD
    for tool in TOOLS:
        if not shutil.which(tool):
            return "%s is absent" % tool
    if os.geteuid() != 0:
        return "needs root (the sandbox boots systemd in new namespaces)"
    return None


def own_cgroup2():
    """This process's cgroup, as a folder of the machine's cgroup2
    hierarchy (mounted at /sys/fs/cgroup, or /sys/fs/cgroup/unified on a
    host with the hybrid layout)."""
    with open("/proc/self/mountinfo") as f:
        mounts = [l.split() for l in f]
    mount = next((m[4] for m in mounts if m[m.index("-") + 1] == "cgroup2"), None)
    if mount is None:
        raise RuntimeError("this machine has no cgroup2 hierarchy mounted")
    with open("/proc/self/cgroup") as f:
        path = next(l.split(":", 2)[2].strip() for l in f if l.startswith("0::"))
    return mount + path


def _mount(*args):
    subprocess.run(["mount", *args], check=True)


def _init(state, private_network):
    """PID 1 of the new namespaces, before it becomes systemd: the mounts.
    Its standard streams are the console's terminal."""
    layers = os.path.join(state, "layers")
    _mount("-t", "tmpfs", "-o", "mode=700", "tmpfs", layers)
    for d in OVERLAID:
        up, work = (os.path.join(layers, d.strip("/") + ext) for ext in (".up", ".work"))
        os.mkdir(up)
        os.mkdir(work)
        _mount("-t", "overlay", "-o", "lowerdir=%s,upperdir=%s,workdir=%s" % (d, up, work),
               "overlay", d)
    os.makedirs("/etc/systemd/system", exist_ok=True)
    _mount("-t", "tmpfs", "-o", "mode=755", "tmpfs", "/etc/systemd/system")
    _mount("-t", "tmpfs", "-o", "mode=755,nosuid,nodev", "tmpfs", "/run")
    _mount("--bind", os.ttyname(1), "/dev/console")
    _mount("-t", "cgroup2", "cgroup2", "/sys/fs/cgroup")
    _mount("-o", "remount,bind,ro", "/sys")     # this mount only: the cgroups stay writable
    if private_network:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    os.execve(SYSTEMD, [SYSTEMD, "--system", "--log-target=console", "--log-level=info"],
              {"container": "rolesd-sandbox", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
               "SYSTEMD_UNIT_PATH": "/etc/systemd/system:" + os.path.join(state, "units")})


def _copy_console():
    """Copies the console (standard input: a pseudo-terminal's master side)
    to standard output until the last process holding its other side ends."""
    while True:
        try:
            data = os.read(0, 65536)
        except OSError:             # EIO: nobody has the terminal open any more
            return
        if not data:
            return
        os.write(1, data)


def _kill_cgroup(cg):
    """SIGKILL to every process in cg and below until none is left, then
    rmdir of the tree, deepest first."""
    deadline = time.monotonic() + KILL_WAIT
    while True:
        pids = []
        for d, _, _ in os.walk(cg):
            try:
                with open(os.path.join(d, "cgroup.procs")) as f:
                    pids += [int(p) for p in f.read().split()]
            except FileNotFoundError:
                pass
        if not pids:
            break
        if time.monotonic() > deadline:
            raise RuntimeError("processes %s in %s outlived SIGKILL" % (pids, cg))
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    for d, _, _ in os.walk(cg, topdown=False):
        while True:
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError:         # EBUSY until the last exit is accounted for
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


class SystemdSandbox:
    """One sandbox, named by its STATE folder: start() boots it, argv()
    makes a command line that runs inside, stop() ends it (from any
    process that knows STATE)."""

    def __init__(self, state, private_network=True):
        self.state = os.path.realpath(state)
        self.private_network = private_network
        self.started = False
        self._children = []         # what start() spawned, reaped by stop()

    def _path(self, name):
        return os.path.join(self.state, name)

    def _read(self, name):
        try:
            with open(self._path(name)) as f:
                return f.read().strip()
        except FileNotFoundError:
            return None

    def _write(self, name, text):
        with open(self._path(name), "w") as f:
            f.write(text)

    def pid(self):
        """systemd's PID on this machine, or None when no sandbox runs."""
        p = self._read("pid")
        return int(p) if p else None

    def argv(self, cmd):
        """The command line that runs cmd (a list) inside the sandbox."""
        pid = self.pid()
        if pid is None:
            raise RuntimeError("no sandbox runs in %s" % self.state)
        return ["nsenter", "-t", str(pid), *ENTER, "--", *cmd]

    def console(self, lines=40):
        """The last lines systemd wrote to its console."""
        try:
            with open(self._path("console.log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except FileNotFoundError:
            return ""

    def _systemctl(self, *args, timeout=30):
        return subprocess.run(self.argv(["systemctl", *args]), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def _write_units(self):
        units = self._path("units")
        os.makedirs(units, exist_ok=True)
        for t in STAND_IN_TARGETS:
            with open(os.path.join(units, t + ".target"), "w") as f:
                f.write("[Unit]\nDescription=%s (a stand-in of the sandbox)\n" % t)
        with open(os.path.join(units, "default.target"), "w") as f:
            f.write("[Unit]\nDescription=the sandbox's default target\nWants=%s\nAfter=%s\n"
                    % (" ".join(JOURNALD), " ".join(JOURNALD)))
        for u in JOURNALD:
            shutil.copy(os.path.join(MACHINE_UNITS, u), units)

    def _child_of(self, ppid):
        for p in os.listdir("/proc"):
            try:
                with open("/proc/%s/stat" % p) as f:
                    # "pid (comm) state ppid ...": comm may hold spaces and parentheses
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == ppid:
                        return int(p)
            except (OSError, ValueError, IndexError):
                pass
        return None

    def start(self):
        """Boots systemd; returns once it has reached its default target
        (journald running)."""
        why = unavailable()
        if why:
            raise RuntimeError(why)
        if self.pid():
            raise RuntimeError("%s already holds a sandbox (stop it first)" % self.state)
        os.makedirs(self._path("layers"), exist_ok=True)
        self._write_units()
        cg = os.path.join(own_cgroup2(), "rolesd-sandbox-%s-%d"
                          % (os.path.basename(self.state), os.getpid()))
        os.mkdir(cg)
        self._write("cgroup", cg)

        console, tty = pty.openpty()
        try:
            with open(self._path("console.log"), "wb") as log:
                self._children.append(subprocess.Popen(
                    [sys.executable, os.path.abspath(__file__), "_console"],
                    stdin=console, stdout=log, stderr=subprocess.DEVNULL, start_new_session=True))
            # The shell joins the sandbox's cgroup before unshare runs, so
            # that the new cgroup namespace is rooted there.
            unshare = subprocess.Popen(
                ["sh", "-c", 'echo 0 > "$0" && exec "$@"', os.path.join(cg, "cgroup.procs"),
                 "unshare", *UNSHARE, *(["--net"] if self.private_network else []), "--",
                 sys.executable, os.path.abspath(__file__), "_init", self.state,
                 "1" if self.private_network else "0"],
                stdin=tty, stdout=tty, stderr=tty, start_new_session=True)
            self._children.append(unshare)
        finally:
            os.close(console)
            os.close(tty)

        deadline = time.monotonic() + BOOT_WAIT
        state = "not started"
        while time.monotonic() < deadline and unshare.poll() is None:
            if not self.pid():
                pid = self._child_of(unshare.pid)       # PID 1 inside
                if pid:
                    self._write("pid", str(pid))
                    self.started = True
            else:
                state = self._systemctl("is-system-running").stdout.strip() or state
                if state in ("running", "degraded"):
                    return
            time.sleep(0.1)
        why = "systemd did not come up in the sandbox: %s; its console:\n%s" % (
            "it exited (%d)" % unshare.returncode if unshare.poll() is not None else
            "still %r after %.0f s" % (state, BOOT_WAIT), self.console())
        self.stop()
        raise RuntimeError(why)

    def stop(self):
        """Stops the services first (they clean up after themselves:
        PrivateTmp= folders live in the machine's /tmp), then kills
        everything in the sandbox's cgroup, systemd included (its end takes
        every process of its PID namespace with it), and removes the
        cgroup."""
        if self.pid():
            try:
                self._systemctl("stop", "*.service", "*.socket", timeout=15)
            except subprocess.TimeoutExpired:
                pass
        cg = self._read("cgroup")
        if cg:
            _kill_cgroup(cg)
            os.unlink(self._path("cgroup"))
        for p in self._children:
            p.wait(KILL_WAIT)
        self._children = []
        if self.pid():
            os.unlink(self._path("pid"))
        self.started = False


def main():
    if sys.argv[1:2] == ["_init"]:
        return _init(sys.argv[2], sys.argv[3] == "1")
    if sys.argv[1:2] == ["_console"]:
        return _copy_console()
    p = argparse.ArgumentParser(description="A throwaway host with a real systemd as PID 1.")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start", help="boot a sandbox whose files go in STATE")
    s.add_argument("state")
    s.add_argument("--host-network", action="store_true", help="share this machine's network")
    s = sub.add_parser("exec", help="run a command inside")
    s.add_argument("state")
    s.add_argument("command", nargs=argparse.REMAINDER)
    s = sub.add_parser("stop", help="end the sandbox")
    s.add_argument("state")
    a = p.parse_args()
    box = SystemdSandbox(a.state, private_network=not getattr(a, "host_network", False))
    try:
        if a.cmd == "start":
            box.start()
        elif a.cmd == "exec":
            if not a.command:
                p.error("exec needs a command")
            argv = box.argv(a.command)
            os.execvp(argv[0], argv)
        else:
            box.stop()
    except (RuntimeError, OSError) as e:
        sys.exit("sandbox.py: %s" % e)


if __name__ == "__main__":
    main()
