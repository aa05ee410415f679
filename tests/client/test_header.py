#!/usr/bin/python3
"""test_header.py: a program written against the installed header, as a
new user would (example-async.c: the asynchronous API in an event loop of
its own, then a synchronous call), builds with `meson install --destdir`'s
header and library as C99 and as C++11, both -pedantic -Wall -Wextra
-Werror, and both builds run against the real rolesd."""

import json
import os
import shutil
import subprocess
import tempfile

import harness
from harness import DaemonTestCase, fresh_org, main

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("BUILD_ROOT")


def options():
    out = subprocess.run(["meson", "introspect", BUILD, "--buildoptions"],
                         capture_output=True, text=True, check=True).stdout
    return {o["name"]: o["value"] for o in json.loads(out)}


class InstalledHeader(DaemonTestCase):

    @classmethod
    def setUpClass(cls):
        if not BUILD:
            raise harness.HarnessError("BUILD_ROOT is not set: run through meson test")
        super().setUpClass()
        cls.dest = tempfile.mkdtemp(prefix="rolesd-header-")
        cls.addClassCleanup(shutil.rmtree, cls.dest, True)
        p = subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild", "--destdir", cls.dest],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError("meson install --destdir failed:\n" + p.stdout + p.stderr)
        o = options()
        cls.include = cls.dest + os.path.join(o["prefix"], o["includedir"])
        cls.libdir = cls.dest + os.path.join(o["prefix"], o["libdir"])
        cls.jansson = subprocess.run(["pkg-config", "--cflags", "--libs", "jansson"],
                                     capture_output=True, text=True, check=True).stdout.split()

    def build_and_run(self, compiler, std, *lang):
        cc = shutil.which(compiler)
        if not cc:
            self.skipTest("no %s" % compiler)
        exe = os.path.join(self.dest, "example-" + std)
        # A library built with sanitizers runs only in a program built with them.
        sanitize = os.environ.get("SANITIZE", "none")
        flags = ["-fsanitize=" + sanitize] if sanitize not in ("", "none") else []
        p = subprocess.run([cc, "-std=" + std, "-pedantic", "-Wall", "-Wextra", "-Werror"] + flags + list(lang) +
                           ["-I", self.include, os.path.join(HERE, "example-async.c"), "-x", "none",
                            "-o", exe, "-L", self.libdir, "-lrolesd"] + self.jansson,
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, "%s -std=%s:\n%s" % (compiler, std, p.stderr))
        with self.d.rpc() as c:
            org = fresh_org(c)
        env = dict(os.environ, LD_LIBRARY_PATH=self.libdir)
        p = subprocess.run([exe, self.d.sock_path, str(org), std], capture_output=True, text=True,
                           env=env, timeout=harness.WAIT)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        created = [l for l in p.stdout.splitlines() if l.startswith("created %s " % std)]
        self.assertEqual(len(created), 10, p.stdout)
        self.assertIn("organization %d has 15 roles" % org, p.stdout)    # + 5 built-in

    def test_c99(self):
        self.build_and_run("cc", "c99")

    def test_cxx11(self):
        self.build_and_run("c++", "c++11", "-x", "c++")


if __name__ == "__main__":
    main()
