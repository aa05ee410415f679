#!/usr/bin/python3
"""test_stop.py: `systemctl stop rolesd` while clients are creating roles:
rolesd exits 0 (Result=success), and every role it acknowledged is there
after the next start."""

import json
import os
import subprocess
import time

from sdharness import SandboxTestCase, main

ORG = 9


class StopTest(SandboxTestCase):

    def test_stop_under_load(self):
        sb = self.sb
        sb.rolesctl("status")
        out = os.path.join(sb.files, "load.json")
        load = sb.inside_popen("create-load", out, "--org", str(ORG), "--conns", "8", "--window", "8",
                               stdout=subprocess.PIPE, text=True)
        try:
            line = load.stdout.readline().strip()
            self.assertEqual(line, "running", "the load did not get going")
            t0 = time.monotonic()
            sb.x("systemctl", "stop", "rolesd.service")
            t_stop = time.monotonic() - t0
            st = sb.show("rolesd.service", "ActiveState", "Result", "ExecMainCode", "ExecMainStatus")
            print("systemctl stop took %.1f s; after it: %s"
                  % (t_stop, " ".join("%s=%s" % kv for kv in sorted(st.items()))))
            rest, _ = load.communicate(timeout=90)
            print("load: %s" % rest.strip())
        finally:
            if load.poll() is None:
                load.kill()
        self.assertEqual(st["ActiveState"], "inactive")
        self.assertEqual(st["Result"], "success")
        self.assertEqual(st["ExecMainCode"], "1")       # CLD_EXITED
        self.assertEqual(st["ExecMainStatus"], "0")
        self.assertEqual(load.returncode, 0)

        with open(out) as f:
            res = json.load(f)
        self.assertEqual(res["unexpected"], [])
        self.assertEqual(res["hung"], 0, "clients were left hanging by the stopped daemon")
        self.assertGreater(len(res["acked"]), 40)

        sb.x("systemctl", "start", "rolesd.service")
        chk = json.loads(sb.inside("check", out, "--org", str(ORG)).stdout)
        unacked_present = chk["count"] - 5 - len(res["acked"])    # 5 Partoo built-ins
        print("acknowledged %d, rejected (unavailable) %d, sent %d; after restart %d missing, "
              "%d present without acknowledgement"
              % (len(res["acked"]), len(res["rejected"]), len(res["sent"]), len(chk["missing"]),
                 unacked_present))
        self.assertEqual(chk["missing"], [], "acknowledged roles lost")
        self.assertGreaterEqual(unacked_present, 0)
        print("rolesd's log of the stop:\n" + "\n".join(
            l for l in sb.journal("rolesd.service").splitlines() if "rolesd[" in l))


if __name__ == "__main__":
    main()
