#!/usr/bin/python3
"""test_prefix_install.py: an install under a private prefix is private.
The source tree is configured afresh with --prefix TMP/prefix (and
-Dtests=false: only what is installed is built), and `meson install`
puts every file under TMP/prefix (the units and the sysusers.d and
tmpfiles.d snippets too), runs no post-install step on the host (no
ldconfig, systemd-sysusers or systemd-tmpfiles: /etc/ld.so.cache,
/etc/passwd and /etc/group are untouched), and the installed programs run
from there: rolesd serves, rolesctl and rolesd-http find librolesd.so.1
through their RUNPATH ($ORIGIN-relative, no LD_LIBRARY_PATH) and talk to
it. The same build installed into a DESTDIR runs from there as well.
Needs neither root nor systemd."""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

from harness import wait_for

SOURCE = os.environ.get("SOURCE_ROOT") or sys.exit("SOURCE_ROOT is not set: run through meson test")
HAVE_HTTP = os.environ.get("HAVE_HTTP") == "1"
WAIT = 60

HOST_FILES = ("/etc/ld.so.cache", "/etc/passwd", "/etc/group")


def host_state():
    state = {}
    for f in HOST_FILES:
        try:
            st = os.stat(f)
            with open(f, "rb") as fh:
                state[f] = (st.st_mtime_ns, fh.read())
        except FileNotFoundError:
            state[f] = None
    state["/run/rolesd"] = os.path.exists("/run/rolesd")
    return state


def clean_env():
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_LIBRARY_PATH", "ROLESD_SOCKET") and not k.startswith(("LISTEN_", "NOTIFY_"))}
    env.pop("LD_PRELOAD", None)
    return env


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PrefixInstallTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="rolesd-prefix-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        cls.build = os.path.join(cls.tmp, "build")
        cls.dest = os.path.join(cls.tmp, "dest")
        cls.before = host_state()
        p = subprocess.run(["meson", "setup", cls.build, SOURCE, "--prefix", cls.prefix,
                            "-Dtests=false", "--buildtype=plain"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError("meson setup failed:\n" + p.stdout + p.stderr)
        p = subprocess.run(["meson", "install", "-C", cls.build], capture_output=True, text=True)
        cls.install_out = p.stdout + p.stderr
        if p.returncode != 0:
            raise AssertionError("meson install failed:\n" + cls.install_out)
        cls.after = host_state()
        with open(os.path.join(cls.build, "meson-logs", "install-log.txt")) as f:
            cls.installed = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        opts = json.loads(subprocess.run(["meson", "introspect", cls.build, "--buildoptions"],
                                         capture_output=True, text=True, check=True).stdout)
        o = {x["name"]: x["value"] for x in opts}
        cls.bindir = os.path.join(cls.prefix, o["bindir"])
        cls.sbindir = os.path.join(cls.prefix, o["sbindir"])
        cls.libdir = os.path.join(cls.prefix, o["libdir"])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_everything_under_the_prefix(self):
        self.assertTrue(self.installed, "empty install log")
        outside = [f for f in self.installed if f != self.prefix and not f.startswith(self.prefix + "/")]
        self.assertEqual(outside, [], "installed outside the prefix")
        for f in ("lib/systemd/system/rolesd.socket", "lib/systemd/system/rolesd.service",
                  "lib/sysusers.d/rolesd.conf", "lib/tmpfiles.d/rolesd.conf"):
            self.assertIn(os.path.join(self.prefix, f), self.installed)
        with open(os.path.join(self.prefix, "lib/systemd/system/rolesd.service")) as f:
            self.assertRegex(f.read(), r"(?m)^ExecStart=%s$" % re.escape(os.path.join(self.sbindir, "rolesd")))

    def test_nothing_done_to_the_host(self):
        self.assertNotIn("rolesd: ", self.install_out, "a post-install step ran")
        self.assertEqual(self.after, self.before, "the install changed the host")

    def test_programs_run_from_the_prefix(self):
        self.run_tree(self.bindir, self.sbindir, self.libdir)

    def test_destdir_install_runs_too(self):
        p = subprocess.run(["meson", "install", "-C", self.build, "--no-rebuild", "--destdir", self.dest],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(host_state(), self.before)
        self.run_tree(self.dest + self.bindir, self.dest + self.sbindir, self.dest + self.libdir)

    def run_tree(self, bindir, sbindir, libdir):
        env = clean_env()
        rolesctl = os.path.join(bindir, "rolesctl")
        out = subprocess.run(["readelf", "-d", rolesctl], capture_output=True, text=True).stdout
        self.assertRegex(out, r"RUNPATH.*\$ORIGIN/")
        self.assertTrue(os.path.exists(os.path.join(libdir, "librolesd.so.1")))
        run = tempfile.mkdtemp(dir=self.tmp)
        sock = os.path.join(run, "rolesd.sock")
        daemon = subprocess.Popen([os.path.join(sbindir, "rolesd"), "--socket", sock, "--db",
                                   os.path.join(run, "db")], env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs = [daemon]
        try:
            def ctl(*args):
                return subprocess.run([rolesctl, "--socket", sock, "--json"] + list(args),
                                      capture_output=True, text=True, env=env, timeout=WAIT)

            def serving():
                self.assertIsNone(daemon.poll(), "the installed rolesd exited")
                return ctl("status").returncode == 0
            wait_for(serving, WAIT, what="the installed rolesd")
            st = json.loads(ctl("status").stdout)
            self.assertEqual(st["organizations"], 1)
            self.assertEqual(ctl("org", "add", "7").returncode, 0)
            key = json.loads(ctl("key", "add", "--user-role", "ORG_ADMIN", "--org", "7").stdout)["api_key"]
            if not HAVE_HTTP:
                return
            port = free_port()
            http_proc = subprocess.Popen([os.path.join(sbindir, "rolesd-http"), "--socket", sock,
                                          "--listen", "127.0.0.1:%d" % port], env=env,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            procs.append(http_proc)

            def get():
                self.assertIsNone(http_proc.poll(), "the installed rolesd-http exited")
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
                try:
                    c.request("GET", "/v2/custom_role/ORG_ADMIN", headers={"x-APIKey": key})
                    r = c.getresponse()
                    return r.status, json.loads(r.read())
                except ConnectionRefusedError:
                    return None
                finally:
                    c.close()
            status, body = wait_for(get, WAIT, what="the installed rolesd-http")
            self.assertEqual(status, 200, body)
            self.assertEqual(body.get("api_id"), "ORG_ADMIN")
        finally:
            for p in reversed(procs):
                p.terminate()
                p.wait(WAIT)
            err = daemon.stderr.read().decode()
            daemon.stderr.close()
        self.assertEqual(daemon.returncode, 0, err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
