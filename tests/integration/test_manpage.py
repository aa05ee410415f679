#!/usr/bin/python3
"""test_manpage.py: rolesd-rpc(7) says what the daemon does. Its example
exchange is sent to the real daemon byte for byte and answered as the page
shows it; its Python client runs as printed; every method it documents
exists, and every wire error code is documented."""

import json
import os
import re
import subprocess
import sys

import msgpack

from harness import CODES, DaemonTestCase, main

PAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                    "man", "rolesd-rpc.7.scd")


def section(text, name):
    """The body of "# NAME" up to the next top-level heading."""
    m = re.search(r"^# %s\n(.*?)(?=^# )" % re.escape(name), text + "\n# END\n", re.S | re.M)
    if not m:
        raise AssertionError("rolesd-rpc.7.scd has no section %s" % name)
    return m.group(1)


def literal_blocks(text):
    return re.findall(r"^```\n(.*?)^```", text, re.S | re.M)


def notation(s):
    """The page's JSON-like notation (nil for null) as Python values."""
    return json.loads(re.sub(r"\bnil\b", "null", s))


class ManPageTest(DaemonTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(PAGE, encoding="utf-8") as f:
            cls.page = f.read()
        cls.example = section(cls.page, "EXAMPLE")

    def exchange(self):
        """[(direction, bytes or None, value)] of the example exchange:
        '->' requests (their hex, then their notation), '<-' responses."""
        out = []
        block = literal_blocks(self.example)[0]
        for part in re.split(r"^(?=-> |<- )", block, flags=re.M):
            if not part.strip():
                continue
            direction, body = part[:2], part[3:]
            if direction == "->":
                lines = body.splitlines()
                hex_lines = [l for l in lines if re.fullmatch(r"\s*([0-9a-f]{2} ?)+", l)]
                value = notation(" ".join(l for l in lines if l not in hex_lines))
                out.append((direction, bytes.fromhex(" ".join(hex_lines)), value))
            else:
                out.append((direction, None, notation(body)))
        return out

    def test_example_exchange(self):
        ex = self.exchange()
        requests = [(raw, v) for d, raw, v in ex if d == "->"]
        responses = [v for d, _, v in ex if d == "<-"]
        self.assertEqual(len(requests), 2)
        self.assertEqual(len(responses), 2)
        for raw, value in requests:
            self.assertEqual(raw, msgpack.packb(value), "hex and notation differ")
        with self.d.rpc() as c:
            c.send_raw(b"".join(raw for raw, _ in requests))    # pipelined, as the page says
            got = [c.recv_msg() for _ in responses]
        for want, have in zip(responses, got):
            self.assertEqual([have[0], have[1], have[2]], want[:3], "response %r" % (have,))
            if want[3] is None:
                self.assertIsNone(have[3])
                continue
            self.assertEqual(sorted(have[3]), sorted(want[3]), "the role's keys")
            for k in ("org", "api_id", "name", "description", "scope", "permissions",
                      "mandatory2fa", "protected"):
                self.assertEqual(have[3][k], want[3][k], k)
            for k in ("id", "created_at", "updated_at", "revision"):
                self.assertIsInstance(have[3][k], type(want[3][k]), k)
        # the read waited for the write before it: it found the role, answered after it
        self.assertEqual([m[1] for m in got], [1, 2])
        self.assertEqual(got[1][3], got[0][3])

    def test_role_keys_as_documented(self):
        block = next(b for b in literal_blocks(section(self.page, "DATA")) if "mandatory2fa" in b)
        keys = [l.split()[0] for l in block.splitlines() if l.strip()]
        with self.d.rpc() as c:
            role = c.ok("role.get", {"org": 0, "name": "admin"})
        self.assertEqual(sorted(keys), sorted(role))

    def test_python_client_runs(self):
        block = next(b for b in literal_blocks(self.example) if "import socket, msgpack" in b)
        self.assertIn('"/run/rolesd/rolesd.sock"', block)
        src = block.replace('"/run/rolesd/rolesd.sock"', repr(self.d.sock_path))
        p = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        print(p.stdout, end="")
        self.assertEqual(len(lines), 3, p.stdout)
        for line in lines:
            self.assertTrue(line.startswith("(None, {"), "a call failed: %s" % line)
        self.assertIn("'name': 'Support'", lines[1])
        self.assertIn("'count': 6", lines[2])       # 5 Partoo built-ins and Support

    def test_every_documented_method_exists(self):
        methods = re.findall(r"^## ([a-z]+\.[a-z]+) ", section(self.page, "METHODS"), re.M)
        self.assertGreaterEqual(len(methods), 9, methods)
        def unknown(err):       # not_found without a field: no such method
            return err is not None and err.get("code") == "not_found" and "field" not in err
        with self.d.rpc() as c:
            self.assertTrue(unknown(c.call("no.such", {})[0]))
            for m in methods:
                self.assertFalse(unknown(c.call(m, {})[0]), m)

    def test_every_method_documented(self):
        """The other way round: every method of the daemon's table
        (daemon/dispatch.c) has its section, marked read or write as the
        table says (a SESSION method, such as changes.watch, is a read that
        acts on its connection; an ASIDE one, db.backup, a read that runs
        on a thread of its own)."""
        src = os.path.join(os.path.dirname(os.path.dirname(PAGE)), "daemon", "dispatch.c")
        with open(src, encoding="utf-8") as f:
            table = re.findall(r'^\s*(READ|WRITE|SESSION|ASIDE)\("([a-z]+\.[a-z]+)"', f.read(), re.M)
        self.assertGreaterEqual(len(table), 25, "no method table found in %s" % src)
        documented = dict(re.findall(r"^## ([a-z]+\.[a-z]+) \((read|write)", section(self.page, "METHODS"), re.M))
        for kind, name in table:
            self.assertIn(name, documented, "%s is not documented" % name)
            kind = "read" if kind in ("SESSION", "ASIDE") else kind.lower()
            self.assertEqual(documented[name], kind, "%s is a %s" % (name, kind))

    def test_every_error_code_documented(self):
        text = section(self.page, "ERRORS")
        for code in CODES:
            self.assertRegex(text, r"(?m)^\*%s\*$" % code)


if __name__ == "__main__":
    main()
