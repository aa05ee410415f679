#!/usr/bin/python3
"""test_rolesctl_feed.py: rolesctl's watch, audit, backup, export and
import against the real daemon: a watch prints a create made by another
client (text and --json) and exits 0 on SIGINT and SIGTERM; audit pages
through more than one page of the log; a backup restores (stop, replace
data.mdb, start) to a database that passes the consistency walk and
serves the roles; export | import into an empty daemon gives the same
records, and a second import changes nothing; a truncated, duplicated or
hand-edited file is refused with its line number and writes nothing;
--dry-run says what would change; the progress line shows on a terminal
(a pty) and nothing extra when piped."""

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import tempfile
import time

import harness
from harness import WAIT, Daemon, DaemonTestCase, fresh_org, list_all, main, rolesctl_path, wait_for
from storewalk import walk

EXIT_REFUSED = 1


def comparable(export):
    """Export lines as records, without what an import makes anew: the
    revisions, and the times of the built-in roles (made with their org)."""
    out = []
    for line in export.splitlines():
        r = json.loads(line)
        r.pop("revision", None)
        if r.get("protected"):
            r.pop("created_at")
            r.pop("updated_at")
        out.append(r)
    return out


def populate(c, org, n_roles=5):
    """An org with roles, users and memberships."""
    roles = [c.ok("role.create", {"org": org, "name": "R%d" % i, "description": "d%d" % i,
                                  "permissions": ["business_edit"]}) for i in range(n_roles)]
    c.ok("user.add", {"org": org, "username": "ann", "name": "Ann", "roles": [roles[0]["api_id"]]})
    c.ok("user.add", {"org": org, "username": "bob", "roles": [roles[1]["api_id"], roles[2]["api_id"]]})
    return roles


class RolesctlFeedTest(DaemonTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="rolesctl-feed-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def ctl(self, *args, **kw):
        return self.d.rolesctl(*args, **kw)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def fresh_daemon(self):
        d = Daemon()
        self.addCleanup(d.close)
        return d

    def revision(self, d=None):
        with (d or self.d).rpc() as c:
            return c.ok("server.status", {})["revision"]

    # ------------------------------------------------------------ watch

    def watcher(self, *args):
        cmd = [rolesctl_path(), "--socket", self.d.sock_path, "watch"] + list(args)
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, bufsize=0)
        self.addCleanup(harness.kill_and_reap, p)
        return p

    def read_line(self, p):
        ready, _, _ = select.select([p.stdout], [], [], WAIT)
        self.assertTrue(ready, "the watch printed nothing")
        return p.stdout.readline().decode()     # unbuffered: select sees what is left

    def watches(self):
        with self.d.rpc() as c:
            return c.ok("server.status", {})["watches"]

    def test_watch_sees_another_clients_create(self):
        with self.d.rpc() as c:
            org = fresh_org(c)
            before = self.watches()
            p = self.watcher("--org", str(org))                     # from now
            wait_for(lambda: self.watches() > before, what="the watch to begin")
            role = c.ok("role.create", {"org": org, "name": "Watched"})
            line = self.read_line(p)
            self.assertTrue(line.startswith("%d " % role["revision"]), line)
            self.assertIn(" create role in org %d: %s \"Watched\" by uid " % (org, role["id"]), line)
            # another org's change is not this watch's
            other = fresh_org(c)
            c.ok("role.create", {"org": other, "name": "Elsewhere"})
            c.ok("role.update", {"org": org, "id": role["id"], "set": {"description": "x"}})
            line = self.read_line(p)
            self.assertIn(" update role in org %d: %s" % (org, role["id"]), line)
        p.send_signal(signal.SIGINT)
        self.assertEqual(p.wait(WAIT), 0, p.stderr.read())
        self.assertEqual(p.stdout.read(), b"")          # nothing else came: not the other org's

    def test_watch_json_from_a_revision(self):
        with self.d.rpc() as c:
            org = fresh_org(c)
            made = [c.ok("role.create", {"org": org, "name": "J%d" % i}) for i in range(3)]
            p = self.watcher("--org", str(org), "--after", str(made[0]["revision"]), "--json")
            got = [json.loads(self.read_line(p)) for _ in range(2)]     # history first
            self.assertEqual([g["id"] for g in got], [m["id"] for m in made[1:]])
            live = c.ok("role.create", {"org": org, "name": "Live"})
            got = json.loads(self.read_line(p))
            self.assertEqual((got["revision"], got["op"], got["kind"], got["after"]["name"]),
                             (live["revision"], "create", "role", "Live"))
            self.assertEqual(got["principal"]["kind"], "peer")
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(WAIT), 0, p.stderr.read())

    def test_watch_goes_on_after_changes_lost(self):
        """A watch that stops reading (SIGSTOP) while thousands of changes
        are made is cut off by the daemon (changes.lost); once it reads
        again it watches again from the last change it printed: every
        change, in order, none twice."""
        with self.d.rpc() as c:
            org = fresh_org(c)
            before = self.watches()
            p = self.watcher("--org", str(org), "--json")
            wait_for(lambda: self.watches() > before, what="the watch to begin")
            p.send_signal(signal.SIGSTOP)
            made = []
            for k in range(10):
                ids = [c.send_request("role.create", {"org": org, "name": "L%d-%d" % (k, i),
                                                      "description": "x" * 200})
                       for i in range(500)]
                got = c.recv_replies(len(ids))
                made += [got[m][1]["revision"] for m in ids]
            p.send_signal(signal.SIGCONT)
            seen = []
            while len(seen) < len(made):
                seen.append(json.loads(self.read_line(p))["revision"])
        self.assertEqual(seen, sorted(made))
        p.send_signal(signal.SIGINT)
        self.assertEqual(p.wait(WAIT), 0)
        self.assertEqual(p.stdout.read(), b"")
        # it was dropped, and said so
        self.assertIn(b"rolesd dropped the watch", p.stderr.read())

    # ------------------------------------------------------------ audit

    def test_audit_pages(self):
        with self.d.rpc() as c:
            org = fresh_org(c)
            start = self.revision()
            ids = [c.send_request("role.create", {"org": org, "name": "A%d" % i}) for i in range(1100)]
            got = c.recv_replies(len(ids))
            self.assertTrue(all(e is None for e, _ in got.values()))
            want, after = [], start
            while True:
                page = c.ok("changes.list", {"after": after, "org": org, "limit": 1000})
                if not page["changes"]:
                    break
                want += page["changes"]
                after = page["next_after"]
        self.assertEqual(len(want), 1100)
        p = self.ctl("audit", "--org", str(org), "--after", str(start), json=False)
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 1100)              # more than a page of 1000
        self.assertEqual([int(x.split()[0]) for x in lines], [w["revision"] for w in want])
        self.assertIn(" create role in org %d: " % org, lines[0])
        # --json: the records themselves; --limit: that many
        p = self.ctl("audit", "--org", str(org), "--after", str(start), "--limit", "1050", "--json")
        self.assertEqual([json.loads(x) for x in p.stdout.splitlines()], want[:1050])
        # from the start of the log: the org's add first
        first = json.loads(self.ctl("audit", "--org", str(org), "--limit", "1", "--json").stdout)
        self.assertEqual((first["op"], first["kind"]), ("create", "org"))
        # a future revision: refused, exit 1
        p = self.ctl("audit", "--after", str(10 ** 9), check=False)
        self.assertEqual(p.returncode, EXIT_REFUSED, p.stderr)
        self.assertIn("invalid_argument", p.stderr)
        self.assertIn("field after", p.stderr)

    # ------------------------------------------------------------ backup

    def test_backup_then_restore(self):
        with self.d.rpc() as c:
            org = fresh_org(c)
            made = populate(c, org)
        rev = self.revision()
        path = self.path("rolesd.backup")
        p = self.ctl("backup", path)
        size = os.path.getsize(path)
        self.assertRegex(p.stdout, r"^backup %s: revision (\d+), %d bytes\n$" % (path, size))
        self.assertGreaterEqual(int(p.stdout.split("revision ")[1].split(",")[0]), rev)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        j = self.ctl("backup", path, json=True).json
        self.assertEqual(j["bytes"], os.path.getsize(path))
        # restore: stop, replace data.mdb, start
        d = Daemon(start=False)
        self.addCleanup(d.close)
        os.makedirs(d.db, mode=0o700)
        shutil.copyfile(path, os.path.join(d.db, "data.mdb"))
        report = walk(d.db)
        self.assertTrue(report, report)
        d.start()
        with d.rpc() as c:
            roles, _ = list_all(c, org)
            self.assertEqual([r for r in roles if not r["protected"]], made)
        # a file that cannot be made: exit 1, nothing left
        p = self.ctl("backup", self.path("no/such/dir/x"), check=False)
        self.assertEqual(p.returncode, EXIT_REFUSED)
        self.assertIn("cannot open", p.stderr)

    # ------------------------------------------------------------ export / import

    def test_export_import_round_trip(self):
        with self.d.rpc() as c:
            org = fresh_org(c, name="Exported", provider="exp")
            populate(c, org)
        out = self.ctl("export", "--org", str(org)).stdout
        records = [json.loads(x) for x in out.splitlines()]
        self.assertEqual(records[0]["type"], "org")
        self.assertEqual({r["type"] for r in records}, {"org", "role", "user", "member"})
        self.assertNotIn("token", out)
        path = self.path("export.jsonl")
        with open(path, "w") as f:
            f.write(out)
        d = self.fresh_daemon()
        p = d.rolesctl("import", path)
        n = len(records)
        # the org's built-ins exist with it: created by the org record, then unchanged
        self.assertRegex(p.stdout, r"^%d records: \d+ created, 0 updated, \d+ unchanged\n$" % n)
        self.assertEqual(p.stderr, "")                  # piped: no progress line
        self.assertEqual(comparable(d.rolesctl("export", "--org", str(org)).stdout), comparable(out))
        # twice: nothing changes
        rev = self.revision(d)
        p = d.rolesctl("import", path)
        self.assertEqual(p.stdout, "%d records, all unchanged\n" % n)
        self.assertEqual(self.revision(d), rev)
        j = d.rolesctl("import", path, json=True).json
        self.assertEqual(j, {"records": n, "created": 0, "updated": 0, "unchanged": n, "dry_run": False})

    def test_whole_database_round_trip(self):
        with self.d.rpc() as c:
            populate(c, fresh_org(c), 3)
        out = self.ctl("export").stdout
        path = self.path("all.jsonl")
        with open(path, "w") as f:
            f.write(out)
        d = self.fresh_daemon()
        d.rolesctl("import", path)
        self.assertEqual(comparable(d.rolesctl("export").stdout), comparable(out))
        self.assertIn("all unchanged", d.rolesctl("import", path).stdout)

    def import_refused(self, d, lines, want_line, words):
        path = self.path("bad.jsonl")
        with open(path, "w") as f:
            f.write(lines)
        rev = self.revision(d)
        p = d.rolesctl("import", path, check=False)
        self.assertEqual(p.returncode, EXIT_REFUSED, p.stdout + p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertIn("%s:%d: " % (path, want_line), p.stderr)
        self.assertIn(words, p.stderr)
        self.assertEqual(self.revision(d), rev)         # nothing written
        return p

    def test_bad_files_refused_by_line(self):
        with self.d.rpc() as c:
            org = fresh_org(c)
            populate(c, org)
        out = self.ctl("export", "--org", str(org)).stdout
        lines = out.splitlines(keepends=True)
        d = self.fresh_daemon()
        # truncated in the middle of its last line
        self.import_refused(d, "".join(lines)[:-20], len(lines), "truncated")
        # cut in the middle of a line, then more lines: not JSON
        self.import_refused(d, "".join(lines[:2]) + lines[2][:30] + "\n" + "".join(lines[3:]), 3,
                            "not a JSON record")
        # a line twice
        self.import_refused(d, "".join(lines[:4]) + lines[2] + "".join(lines[4:]), 5, "duplicate of line 3")
        # hand-edited: a role's scope the daemon refuses, in the 4th line
        i = next(k for k, x in enumerate(lines) if json.loads(x).get("name") == "R1")
        rec = json.loads(lines[i])
        rec["scope"] = "Everything"
        edited = lines[:i] + [json.dumps(rec) + "\n"] + lines[i + 1:]
        p = self.import_refused(d, "".join(edited), i + 1, "invalid_argument")
        self.assertIn("field scope", p.stderr)
        # the database is still empty of that org
        with d.rpc() as c:
            self.assertIsNotNone(c.call("role.list", {"org": org})[0])

    def test_dry_run_says_what_would_change(self):
        with self.d.rpc() as c:
            org = fresh_org(c)
            made = populate(c, org)
        out = self.ctl("export", "--org", str(org)).stdout
        lines = out.splitlines(keepends=True)
        path = self.path("dry.jsonl")
        d = self.fresh_daemon()
        with open(path, "w") as f:
            f.write(out)
        rev = self.revision(d)
        p = d.rolesctl("import", path, "--dry-run")
        self.assertEqual(self.revision(d), rev)         # nothing written
        self.assertIn("%s:1: would be created: org %d\n" % (path, org), p.stdout)
        self.assertTrue(p.stdout.endswith("(dry run: nothing written)\n"), p.stdout)
        d.rolesctl("import", path)
        # a description changed by hand: that one would be updated
        i = next(k for k, x in enumerate(lines) if json.loads(x).get("id") == made[3]["id"])
        rec = json.loads(lines[i])
        rec["description"] = "changed by hand"
        lines[i] = json.dumps(rec) + "\n"
        with open(path, "w") as f:
            f.write("".join(lines))
        p = d.rolesctl("import", path, "--dry-run")
        self.assertEqual(p.stdout.splitlines()[0], "%s:%d: would be updated: role %s \"R3\"" % (path, i + 1, made[3]["id"]))
        self.assertIn(" 0 would be created, 1 would be updated, ", p.stdout)
        with d.rpc() as c:
            self.assertEqual(c.ok("role.get", {"org": org, "id": made[3]["id"]})["description"], "d3")

    def test_progress_line_on_a_terminal_only(self):
        with self.d.rpc() as c:
            org = fresh_org(c)
            ids = [c.send_request("role.create", {"org": org, "name": "P%d" % i}) for i in range(3000)]
            c.recv_replies(len(ids))
        path = self.path("big.jsonl")
        with open(path, "w") as f:
            f.write(self.ctl("export", "--org", str(org)).stdout)
        d = self.fresh_daemon()
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        p = subprocess.Popen([rolesctl_path(), "--socket", d.sock_path, "import", path],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        seen = b""
        deadline = time.monotonic() + WAIT * 2
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 1)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            elif p.poll() is not None:
                break
        out, _ = p.communicate(timeout=WAIT)
        self.assertEqual(p.returncode, 0, seen)
        text = seen.decode()
        self.assertRegex(text, r"importing \d+/\d+ records, \d+/s, ETA \d+s")
        self.assertIn("\r\x1b[K", text)                 # the line cleared at the end
        self.assertRegex(out.decode(), r"^\d+ records: 3\d\d\d created, ")


if __name__ == "__main__":
    main()
