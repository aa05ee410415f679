#!/usr/bin/env python3
"""test_check_includes.py: the include rules hold in the tree, and the
checker (check-includes.py) really catches each kind of violation: a
forbidden edge between folders, the store reaching the wire format, a
daemon module including one above it, and an include circle."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CHECK = os.path.join(HERE, "check-includes.py")


def check(root):
    p = subprocess.run([sys.executable, CHECK, root], capture_output=True, text=True)
    return p.returncode, p.stdout


def tree(files):
    d = tempfile.TemporaryDirectory()
    for path, text in files.items():
        full = os.path.join(d.name, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
    return d


class Includes(unittest.TestCase):
    def test_the_tree_keeps_the_rules(self):
        rc, out = check(ROOT)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"check-includes: \d+ files, 0 violations")

    def test_a_clean_tree_passes(self):
        with tree({"proto/buf.h": "", "daemon/store.h": '#include "proto/buf.h"\n',
                   "daemon/conn.c": '#include "daemon/store.h"\n'}) as d:
            self.assertEqual(check(d)[0], 0)

    def test_each_violation_is_caught(self):
        cases = {
            "may not include from client/http": {
                "client/http/limits.h": "", "client/lib/conn.c": '#include "client/http/limits.h"\n'},
            "the store stores bytes": {
                "proto/wire-role.h": "", "daemon/store-role.c": '#include "proto/wire-role.h"\n'},
            "may only include lower ranks": {
                "daemon/conn.h": "", "daemon/dispatch.c": '#include "daemon/conn.h"\n'},
            "may not include from daemon": {
                "daemon/store.h": "", "proto/rpc.c": '#include "daemon/store.h"\n'},
            "include cycle between files": {
                "proto/a.h": '#include "proto/b.h"\n', "proto/b.h": '#include "proto/a.h"\n'},
            "no rank": {
                "daemon/store.h": "", "daemon/newthing.c": '#include "daemon/store.h"\n'},
        }
        for want, files in cases.items():
            with self.subTest(want), tree(files) as d:
                rc, out = check(d)
                self.assertEqual(rc, 1, out)
                self.assertIn(want, out)


if __name__ == "__main__":
    unittest.main()
