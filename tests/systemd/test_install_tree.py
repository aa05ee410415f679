#!/usr/bin/python3
"""test_install_tree.py: `meson install --destdir` puts binaries, units
(in systemd's unit directory from pkg-config for a /usr prefix, under the
prefix otherwise), the sysusers.d and tmpfiles.d snippets, the library,
its header and pkg-config file and the man pages in place, and nothing
else; the units name the installed binaries. Prints the tree. Needs
neither root nor the sandbox. (test_prefix_install.py: a private prefix.)"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD = os.environ.get("BUILD_ROOT") or sys.exit("BUILD_ROOT is not set: run through meson test")
SOURCE = os.environ["SOURCE_ROOT"]
HAVE_HTTP = os.environ.get("HAVE_HTTP") == "1"


def options():
    out = subprocess.run(["meson", "introspect", BUILD, "--buildoptions"],
                         capture_output=True, text=True, check=True).stdout
    return {o["name"]: o["value"] for o in json.loads(out)}


def pkgvar(var, fallback):
    p = subprocess.run(["pkg-config", "--variable=" + var, "systemd"], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else fallback


def systemd_dir(o, var, under_prefix):
    """The meson option if set; systemd's own directory for a /usr prefix;
    else under the prefix (units/meson.build)."""
    if o.get(var):
        return o[var]
    fallback = os.path.join(o["prefix"], under_prefix)
    return pkgvar(var, fallback) if o["prefix"] == "/usr" else fallback


class InstallTreeTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dest = tempfile.mkdtemp(prefix="rolesd-destdir-")
        p = subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild", "--destdir", cls.dest],
                           capture_output=True, text=True)
        if p.returncode != 0:
            shutil.rmtree(cls.dest, ignore_errors=True)
            raise AssertionError("meson install --destdir failed:\n" + p.stdout + p.stderr)
        cls.install_log = p.stdout + p.stderr
        cls.tree = sorted("/" + os.path.relpath(os.path.join(d, f), cls.dest)
                          for d, _, fs in os.walk(cls.dest) for f in fs)
        print("meson install --destdir %s:" % cls.dest)
        for f in cls.tree:
            full = cls.dest + f
            kind = ("-> " + os.readlink(full)) if os.path.islink(full) else \
                   "%o" % (os.stat(full).st_mode & 0o7777)
            print("  %s  %s" % (f, kind))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dest, ignore_errors=True)

    def expected(self):
        o = options()
        pre = o["prefix"]
        j = lambda d, *f: os.path.join(pre, o[d], *f)
        unitdir = systemd_dir(o, "systemdsystemunitdir", "lib/systemd/system")
        sysusersdir = systemd_dir(o, "sysusersdir", "lib/sysusers.d")
        tmpfilesdir = systemd_dir(o, "tmpfilesdir", "lib/tmpfiles.d")
        exp = {
            "rolesd": j("sbindir", "rolesd"),
            "rolesctl": j("bindir", "rolesctl"),
            "so": j("libdir", "librolesd.so"),
            "so.1": j("libdir", "librolesd.so.1"),
            "pc": j("libdir", "pkgconfig", "librolesd.pc"),
            "header": j("includedir", "rolesd", "client.h"),
            "rest header": j("includedir", "rolesd", "rest.h"),
            "rolesd.8": j("mandir", "man8", "rolesd.8"),
            "rolesd-http.8": j("mandir", "man8", "rolesd-http.8"),
            "rolesctl.1": j("mandir", "man1", "rolesctl.1"),
            "librolesd.3": j("mandir", "man3", "librolesd.3"),
            "rolesd-rpc.7": j("mandir", "man7", "rolesd-rpc.7"),
            "sysusers": os.path.join(sysusersdir, "rolesd.conf"),
            "tmpfiles": os.path.join(tmpfilesdir, "rolesd.conf"),
        }
        for u in ("rolesd.socket", "rolesd.service", "rolesd-http.socket", "rolesd-http.service"):
            exp[u] = os.path.join(unitdir, u)
        if HAVE_HTTP:
            exp["rolesd-http"] = j("sbindir", "rolesd-http")
        return o, exp

    def read(self, path):
        with open(self.dest + path) as f:
            return f.read()

    def test_tree(self):
        o, exp = self.expected()
        real_so = [f for f in self.tree if re.fullmatch(re.escape(exp["so.1"]) + r"\.\d+\.\d+", f)]
        self.assertEqual(len(real_so), 1, "the versioned librolesd.so.1.x.y")
        want = set(exp.values()) | set(real_so)
        have = set(self.tree)
        self.assertEqual(sorted(want - have), [], "missing from the install")
        self.assertEqual(sorted(have - want), [], "installed but not expected")
        for k in ("rolesd", "rolesctl") + (("rolesd-http",) if HAVE_HTTP else ()):
            self.assertTrue(os.access(self.dest + exp[k], os.X_OK), k)
        self.assertEqual(os.readlink(self.dest + exp["so.1"]), os.path.basename(real_so[0]))

    def test_units_name_installed_binaries(self):
        o, exp = self.expected()
        for u in ("rolesd.service", "rolesd-http.service"):
            text = self.read(exp[u])
            self.assertNotRegex(text, r"@[a-z_]+@", "unconfigured placeholder in " + u)
            m = re.search(r"^ExecStart=(\S+)", text, re.M)
            binary = exp["rolesd"] if u == "rolesd.service" else \
                os.path.join(o["prefix"], o["sbindir"], "rolesd-http")
            self.assertEqual(m.group(1), binary, u)
        self.assertIn("ListenStream=/run/rolesd/rolesd.sock", self.read(exp["rolesd.socket"]))
        self.assertIn("ListenStream=127.0.0.1:8080", self.read(exp["rolesd-http.socket"]))
        su = self.read(exp["sysusers"])
        self.assertRegex(su, r"(?m)^u rolesd ")
        self.assertRegex(su, r"(?m)^u rolesd-http ")
        self.assertRegex(su, r"(?m)^m rolesd-http rolesd$")
        self.assertRegex(self.read(exp["tmpfiles"]), r"(?m)^d /run/rolesd ")

    def test_man_pages(self):
        o, exp = self.expected()
        for k, title, sec in (("rolesd.8", "rolesd", 8), ("rolesd-http.8", "rolesd-http", 8),
                              ("rolesctl.1", "rolesctl", 1), ("librolesd.3", "librolesd", 3),
                              ("rolesd-rpc.7", "rolesd-rpc", 7)):
            text = self.read(exp[k])
            self.assertRegex(text, r'(?m)^\.TH "%s" "%d"' % (re.escape(title), sec), k)
            self.assertIn(".SH NAME", text)

    def test_library_usable_from_tree(self):
        """The man page's example compiles and links against the installed
        header and library (pkg-config file checked for its -l flag)."""
        o, exp = self.expected()
        pc = self.read(exp["pc"])
        self.assertRegex(pc, r"(?m)^Libs: .*-lrolesd")
        self.assertRegex(pc, r"(?m)^Requires: .*jansson")
        cc = shutil.which("cc")
        if not cc:
            self.skipTest("no C compiler")
        with open(os.path.join(SOURCE, "man", "librolesd.3.scd")) as f:
            scd = f.read()
        src = re.search(r"```\n(#include <stdio.h>.*?)```", scd, re.S).group(1).replace("\\\\", "\\")
        d = tempfile.mkdtemp(prefix="rolesd-ex-")
        try:
            with open(os.path.join(d, "ex.c"), "w") as f:
                f.write(src)
            jansson = subprocess.run(["pkg-config", "--cflags", "--libs", "jansson"],
                                     capture_output=True, text=True, check=True).stdout.split()
            libdir = self.dest + os.path.dirname(exp["so"])
            p = subprocess.run([cc, "-Wall", "-Werror", "-I", self.dest + os.path.dirname(os.path.dirname(exp["header"])),
                                os.path.join(d, "ex.c"), "-o", os.path.join(d, "ex"), "-L", libdir,
                                "-lrolesd"] + jansson, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
