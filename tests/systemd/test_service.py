#!/usr/bin/python3
"""test_service.py: rolesd and rolesd-http installed into a fresh sandbox
host exactly as a host installs them (meson install, systemd-sysusers,
systemd-tmpfiles --create, daemon-reload, enable --now of the two sockets):
socket activation, who may connect, the service's user, STATUS=, the
journal's priorities, the audit trail's structured entries, curl through the shim, systemd-analyze verify and
systemd-analyze security (exposure <= 2.0 for each service), and a restart
of rolesd underneath a running shim."""

import json
import os
import subprocess
import time

from sdharness import (SandboxTestCase, exposure, have_http, main, wait_for)

EXPOSURE_MAX = 2.0


class ServiceTest(SandboxTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.sb.x("useradd", "-M", "-G", "rolesd", "alice")     # a member of group rolesd
            cls.sb.x("useradd", "-M", "bob")                       # not a member
        except BaseException:
            cls.sb.stop()
            raise

    def need_http(self):
        if not have_http():
            self.skipTest("rolesd-http is not built in this build directory")

    def uid_of(self, user):
        return int(self.sb.x("id", "-u", user).stdout)

    def proc_status(self, pid):
        out = self.sb.x("cat", "/proc/%d/status" % pid).stdout
        return dict(l.split(":", 1) for l in out.splitlines() if ":" in l)

    def test_01_socket_activation(self):
        sb = self.sb
        print("meson install's post-install step: %s" % sb.post_install)
        # It acts on the host only for a system install (prefix /usr); the
        # default /usr/local is private and touches nothing (units/meson.build).
        prefix = json.loads(subprocess.run(["meson", "introspect", sb.build, "--buildoptions"],
                                           capture_output=True, text=True, check=True).stdout)
        system_install = [o["value"] for o in prefix if o["name"] == "prefix"] == ["/usr"]
        self.assertEqual(sb.post_install, {k: system_install for k in sb.post_install}, sb.install_output)
        self.assertEqual(sb.prop("rolesd.socket", "ActiveState"), "active")
        self.assertEqual(sb.prop("rolesd.service", "ActiveState"), "inactive",
                         "rolesd ran before any client connected")
        st = sb.x("stat", "-c", "%U:%G %a %F", "/run/rolesd/rolesd.sock").stdout.strip()
        self.assertEqual(st, "root:rolesd 660 socket")
        st = sb.x("stat", "-c", "%U:%G %a", "/run/rolesd").stdout.strip()
        self.assertEqual(st, "root:root 755")

        p = sb.rolesctl("status", json_out=True)          # the first connection starts it
        self.assertIn("version", p.json)
        self.assertEqual(sb.prop("rolesd.service", "ActiveState"), "active")
        self.assertEqual(sb.prop("rolesd.service", "TriggeredBy"), "rolesd.socket")

        pid = sb.main_pid("rolesd.service")
        self.assertGreater(pid, 0)
        st = self.proc_status(pid)
        uid = self.uid_of("rolesd")
        self.assertEqual(st["Uid"].split(), [str(uid)] * 4, "rolesd does not run as user rolesd")
        self.assertNotEqual(uid, 0)
        self.assertEqual(int(st["CapEff"], 16), 0)
        self.assertEqual(int(st["CapBnd"], 16), 0)
        self.assertEqual(st["NoNewPrivs"].strip(), "1")
        self.assertEqual(st["Seccomp"].strip(), "2")
        print("rolesd: pid %d, %s" % (pid, st["Uid"].strip()))

        # Its state directory, owned by it; /run/rolesd survives a stop.
        st = sb.x("stat", "-c", "%U:%G %a", "/var/lib/rolesd").stdout.strip()
        self.assertEqual(st, "rolesd:rolesd 700")
        sb.x("systemctl", "stop", "rolesd.service")
        self.assertTrue(sb.x("test", "-S", "/run/rolesd/rolesd.sock", check=False).returncode == 0,
                        "stopping rolesd.service removed the socket")
        sb.rolesctl("status")                                # activated again
        self.assertEqual(sb.prop("rolesd.service", "ActiveState"), "active")

    def test_02_peers(self):
        sb = self.sb
        sb.rolesctl("status")
        sb.rolesctl("org", "add", "42", "--name", "Acme", "--provider", "acme")
        # root and a member of group rolesd may create roles
        sb.rolesctl("role", "create", "--org", "42", "--name", "ByRoot")
        p = sb.rolesctl("role", "create", "--org", "42", "--name", "ByAlice",
                        "--permission", "review_read", user="alice", json_out=True)
        self.assertEqual(p.json["name"], "ByAlice")
        p = sb.rolesctl("role", "list", "--org", "42", user="alice", json_out=True)
        self.assertIn("ByAlice", json.dumps(p.json))
        # anyone else may not even connect: the socket file is root:rolesd 0660
        p = sb.rolesctl("status", user="bob", check=False)
        self.assertEqual(p.returncode, 4, p.stderr)     # exit 4: unavailable, the socket file not ours to open (rolesctl(1))
        self.assertRegex(p.stderr, r"Permission denied|permission_denied")

    def test_03_status_text(self):
        sb = self.sb
        sb.rolesctl("status")
        text = sb.prop("rolesd.service", "StatusText")
        print("StatusText=%s" % text)
        self.assertRegex(text, r"^Serving (1 role|(?!1 )\d+ roles) in (1 organization|(?!1 )\d+ organizations)$")

    def journal_entries(self):
        out = self.sb.x("journalctl", "--no-pager", "-u", "rolesd.service", "-o", "json").stdout
        return [json.loads(l) for l in out.splitlines() if l.strip()]

    def test_04_journal(self):
        sb = self.sb
        sb.rolesctl("status")
        # A frame that is not MessagePack (0xc1 is never used): rolesd logs a warning.
        sb.x("/usr/bin/python3", "-c",
             "import socket; s = socket.socket(socket.AF_UNIX); s.connect('/run/rolesd/rolesd.sock'); "
             "s.sendall(b'\\xc1'); s.settimeout(10); s.recv(4096)")

        def find():
            e = self.journal_entries()
            info = [x for x in e if "serving" in str(x.get("MESSAGE"))]
            warn = [x for x in e if "is not valid MessagePack" in str(x.get("MESSAGE"))]
            return (info, warn) if info and warn else None
        info, warn = wait_for(find, what="rolesd's log lines in the journal")
        print("journal: %r at PRIORITY=%s; %r at PRIORITY=%s"
              % (info[0]["MESSAGE"], info[0]["PRIORITY"], warn[-1]["MESSAGE"], warn[-1]["PRIORITY"]))
        self.assertTrue(all(x["PRIORITY"] == "6" for x in info))
        self.assertTrue(all(x["PRIORITY"] == "4" for x in warn))
        for x in self.journal_entries():    # the <N> prefixes were parsed, never stored
            self.assertFalse(str(x.get("MESSAGE")).startswith("<"), x.get("MESSAGE"))
        # journalctl -p warning shows the warning but not the info line
        out = sb.x("journalctl", "--no-pager", "-u", "rolesd.service", "-p", "warning").stdout
        self.assertIn("is not valid MessagePack", out)
        self.assertNotIn("serving", out)

    def test_04b_audit_trail(self):
        """Each committed change is a structured journal entry with
        rolesd's fixed MESSAGE_ID and its ROLESD_* fields, sent by the
        sandboxed service: journalctl MESSAGE_ID=... is an audit trail."""
        sb = self.sb
        message_id = "cc2ec0bf706047638b3e61a240d44604"
        sb.rolesctl("org", "add", "4242", "--name", "Audited")
        role = sb.rolesctl("role", "create", "--org", "4242", "--name", "AuditedRole", user="alice",
                           json_out=True).json
        uid = self.uid_of("alice")

        def find():
            out = sb.x("journalctl", "--no-pager", "-o", "json", "MESSAGE_ID=" + message_id,
                       "ROLESD_ORG=4242").stdout
            e = [json.loads(l) for l in out.splitlines() if l.strip()]
            return e if any(x.get("ROLESD_KIND") == "role" for x in e) else None
        entries = wait_for(find, what="the audit entries of organization 4242")
        org_entry = [x for x in entries if x["ROLESD_KIND"] == "org"]
        role_entry = [x for x in entries if x["ROLESD_KIND"] == "role"]
        self.assertEqual(len(org_entry), 1, entries)
        self.assertEqual(len(role_entry), 1, entries)
        x = role_entry[0]
        print("journal: %r with ROLESD_REVISION=%s ROLESD_ROLE=%s ROLESD_PRINCIPAL_UID=%s"
              % (x["MESSAGE"], x["ROLESD_REVISION"], x["ROLESD_ROLE"], x["ROLESD_PRINCIPAL_UID"]))
        self.assertEqual(x["_SYSTEMD_UNIT"], "rolesd.service")
        self.assertEqual(x["PRIORITY"], "6")
        self.assertEqual((x["ROLESD_OP"], x["ROLESD_ORG"], x["ROLESD_ROLE"], x["ROLESD_ID"]),
                         ("create", "4242", role["id"], role["id"]))
        self.assertEqual(x["ROLESD_PRINCIPAL"], "peer")
        self.assertEqual(x["ROLESD_PRINCIPAL_UID"], str(uid))
        revision = int(x["ROLESD_REVISION"])
        self.assertEqual(int(org_entry[0]["ROLESD_REVISION"]), revision - 1)
        self.assertEqual(org_entry[0]["ROLESD_PRINCIPAL_UID"], "0")
        # the same change in the change log, by revision
        log = sb.x("/usr/bin/python3", "-c",
                   "import socket, msgpack; s = socket.socket(socket.AF_UNIX); "
                   "s.connect('/run/rolesd/rolesd.sock'); "
                   "s.sendall(msgpack.packb([0, 1, 'changes.list', [{'after': %d, 'limit': 1}]])); "
                   "u = msgpack.Unpacker(raw=False)\n"
                   "while True:\n"
                   "    u.feed(s.recv(65536))\n"
                   "    for m in u: print(m[3]['changes'][0]['id'], m[3]['changes'][0]['principal']['uid']); raise SystemExit"
                   % (revision - 1)).stdout.split()
        self.assertEqual(log, [role["id"], str(uid)])

    def test_05_http(self):
        self.need_http()
        sb = self.sb
        self.assertEqual(sb.prop("rolesd-http.socket", "ActiveState"), "active")
        self.assertEqual(sb.prop("rolesd-http.service", "ActiveState"), "inactive",
                         "rolesd-http ran before any client connected")
        u = sb.rolesctl("user", "add", "carol", "--role", "admin", json_out=True).json
        hdr = ["-H", "X-User-Id: " + u["userId"], "-H", "X-Auth-Token: " + u["authToken"]]
        p = sb.x("curl", "-sS", "-w", "\n%{http_code}", *hdr, "http://127.0.0.1:8080/api/v1/roles.list")
        body, code = p.stdout.rsplit("\n", 1)
        self.assertEqual(code, "200", p.stdout)
        self.assertTrue(json.loads(body)["success"])
        self.assertEqual(sb.prop("rolesd-http.service", "ActiveState"), "active")
        p = sb.x("curl", "-sS", "-w", "\n%{http_code}", *hdr, "-H", "Content-Type: application/json",
                 "-d", '{"name": "Curled", "description": "via rolesd-http"}',
                 "http://127.0.0.1:8080/api/v1/roles.create")
        body, code = p.stdout.rsplit("\n", 1)
        self.assertEqual(code, "200", p.stdout)
        self.assertEqual(json.loads(body)["role"]["name"], "Curled")
        p = sb.rolesctl("role", "get", "--org", "0", "--name", "Curled", json_out=True)
        self.assertEqual(p.json["description"], "via rolesd-http")

        pid = sb.main_pid("rolesd-http.service")
        st = self.proc_status(pid)
        uid = self.uid_of("rolesd-http")
        self.assertEqual(st["Uid"].split(), [str(uid)] * 4, "rolesd-http does not run as its user")
        gid_rolesd = sb.x("getent", "group", "rolesd").stdout.split(":")[2]
        self.assertIn(gid_rolesd, st["Groups"].split(), "rolesd-http is not in group rolesd")
        self.assertEqual(int(st["CapEff"], 16), 0)
        # it really is sandboxed: no network of its own (only lo, down or up)
        links = sb.x("nsenter", "-t", str(pid), "-n", "ip", "-o", "link").stdout
        self.assertEqual([l.split(":")[1].strip() for l in links.splitlines()], ["lo"])

    def test_06_verify_and_security(self):
        sb = self.sb
        sb.rolesctl("status")
        units = [u for u in sb.unit_paths if have_http() or "rolesd-http" not in u]
        p = sb.x("systemd-analyze", "verify", *units, check=False)
        print("systemd-analyze verify %s: exit %d%s"
              % (" ".join(units), p.returncode,
                 ("\n" + p.stdout + p.stderr) if (p.stdout + p.stderr).strip() else ", no output"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn("rolesd", p.stdout + p.stderr, "verify complained about our units")

        services = ["rolesd.service"] + (["rolesd-http.service"] if have_http() else [])
        figures = {}
        for s in services:
            figures[s], out = exposure(sb, s)
            bad = [l for l in out.splitlines() if l.startswith("✗")]
            print("systemd-analyze security %s: exposure %.1f; not satisfied:\n  %s"
                  % (s, figures[s], "\n  ".join(bad)))
        print("EXPOSURE " + ", ".join("%s=%.1f" % kv for kv in figures.items()), flush=True)
        for s, v in figures.items():
            self.assertLessEqual(v, EXPOSURE_MAX, "%s exposure %.1f > %.1f" % (s, v, EXPOSURE_MAX))

    def test_07_restart_under_shim(self):
        """systemctl restart rolesd underneath a running rolesd-http: the
        shim keeps running and its requests recover; what it acknowledged
        is there."""
        self.need_http()
        sb = self.sb
        sb.rolesctl("org", "add", "77", "--name", "Restart", "--provider", "r", check=False)
        key = sb.rolesctl("key", "add", "--user-role", "ORG_ADMIN", "--org", "77",
                          json_out=True).json["api_key"]
        sb.x("curl", "-sSf", "-o", "/dev/null", "http://127.0.0.1:8080/openapi.json")
        shim_pid = sb.main_pid("rolesd-http.service")
        self.assertGreater(shim_pid, 0)
        daemon_pid = sb.main_pid("rolesd.service")

        out = os.path.join(sb.files, "http-load.json")
        stop = os.path.join(sb.files, "http-load.stop")
        load = sb.inside_popen("http-load", out, "--key", key, "--org", "77", "--stop-file", stop)
        try:
            time.sleep(1.0)
            t_restart = time.monotonic()
            sb.x("systemctl", "restart", "rolesd.service")
            t_restarted = time.monotonic()
            self.assertNotEqual(sb.main_pid("rolesd.service"), daemon_pid)
            time.sleep(2.0)
        finally:
            open(stop, "w").close()
            load.wait(60)
        with open(out) as f:
            results = json.load(f)
        # time.monotonic() is CLOCK_MONOTONIC inside and out (no time namespace)
        before = [r for r in results if r[0] < t_restart]
        after = [r for r in results if r[0] > t_restarted + 0.5]
        statuses = {}
        for r in results:
            statuses[str(r[1])] = statuses.get(str(r[1]), 0) + 1
        print("requests through the restart: %d (%s); %d before, %d from 0.5 s after"
              % (len(results), ", ".join("%s: %d" % kv for kv in sorted(statuses.items())),
                 len(before), len(after)))
        self.assertTrue(before and all(r[1] == 200 for r in before), before[-5:])
        self.assertGreater(len(after), 5)
        self.assertTrue(all(r[1] == 200 for r in after),
                        "requests did not recover after the restart: %r"
                        % [r for r in after if r[1] != 200][:5])
        for r in results:
            self.assertIn(r[1], (200, 503), "unexpected answer during the restart: %r" % (r,))
        self.assertEqual(sb.main_pid("rolesd-http.service"), shim_pid, "the shim was restarted")
        self.assertEqual(sb.prop("rolesd-http.service", "NRestarts"), "0")
        acked = [r[2] for r in results if r[1] == 200]
        for api_id in acked[-20:] + acked[:5]:
            sb.rolesctl("role", "get", "--org", "77", "--api-id", api_id)
        p = sb.rolesctl("role", "list", "--org", "77", "--per-page", "1", json_out=True)
        self.assertGreaterEqual(p.json["count"], len(acked))

    def test_99_error_priority(self):
        """An unusable database: rolesd fails to start, logs why at
        PRIORITY=3, and systemd reports the failure. Last: it leaves the
        service failed (cleaned up afterwards)."""
        sb = self.sb
        sb.x("systemctl", "stop", "rolesd.service")
        sb.drop_in("rolesd.service", "90-test-bad-db.conf",
                   "[Service]\nEnvironment=STATE_DIRECTORY=/nonexistent/rolesd\nRestart=no\n")
        try:
            p = sb.x("systemctl", "start", "rolesd.service", check=False)
            self.assertNotEqual(p.returncode, 0, "rolesd started without a usable database")
            st = sb.show("rolesd.service", "ActiveState", "Result", "ExecMainStatus")
            print("with an unusable database: %s" % st)
            self.assertEqual(st["ActiveState"], "failed")
            self.assertEqual(st["Result"], "exit-code")
            self.assertNotEqual(st["ExecMainStatus"], "0")
            err = wait_for(lambda: [x for x in self.journal_entries()
                                    if "Cannot open the role database" in str(x.get("MESSAGE"))],
                           what="the error in the journal")
            print("journal: %r at PRIORITY=%s" % (err[-1]["MESSAGE"], err[-1]["PRIORITY"]))
            self.assertEqual(err[-1]["PRIORITY"], "3")
            out = sb.x("journalctl", "--no-pager", "-u", "rolesd.service", "-p", "err").stdout
            self.assertIn("Cannot open the role database", out)
        finally:
            sb.x("rm", "-rf", "/etc/systemd/system/rolesd.service.d")
            sb.x("systemctl", "daemon-reload")
            sb.x("systemctl", "reset-failed", "rolesd.service", "rolesd.socket", check=False)
            sb.x("systemctl", "start", "rolesd.socket")
        sb.rolesctl("status")


if __name__ == "__main__":
    main()
