#!/usr/bin/python3
"""test_watchdog.py: a hung rolesd (SIGSTOP) is killed by systemd's
watchdog after WatchdogSec= and restarted (Restart=on-failure), and serves
again with all its data. The test shortens WatchdogSec= with a drop-in; the
shipped unit keeps 30 s."""

import time

from sdharness import SandboxTestCase, main, wait_for

WATCHDOG_SEC = 2
RESTART_SEC = 1


class WatchdogTest(SandboxTestCase):

    def test_sigstop_is_restarted(self):
        sb = self.sb
        sb.drop_in("rolesd.service", "50-test-watchdog.conf",
                   "[Service]\nWatchdogSec=%ds\nRestartSec=%ds\n" % (WATCHDOG_SEC, RESTART_SEC))
        sb.rolesctl("org", "add", "5", "--name", "Dog")
        names = ["Wd%02d" % i for i in range(10)]
        for n in names:
            sb.rolesctl("role", "create", "--org", "5", "--name", n)
        self.assertEqual(sb.prop("rolesd.service", "WatchdogUSec"), "%ds" % WATCHDOG_SEC)
        pid = sb.main_pid("rolesd.service")
        # Healthy: it feeds the watchdog; nothing happens for a few periods.
        time.sleep(WATCHDOG_SEC * 2)
        self.assertEqual(sb.main_pid("rolesd.service"), pid, "a healthy rolesd was restarted")
        self.assertEqual(sb.prop("rolesd.service", "NRestarts"), "0")

        sb.x("kill", "-STOP", str(pid))
        t0 = time.monotonic()
        # Between the kill and the restart the unit sits in auto-restart
        # with Result=watchdog for RestartSec.
        seen = wait_for(lambda: sb.prop("rolesd.service", "Result") == "watchdog",
                        timeout=WATCHDOG_SEC + 15, interval=0.1, what="Result=watchdog")
        t_wd = time.monotonic() - t0
        self.assertTrue(seen)
        wait_for(lambda: sb.prop("rolesd.service", "ActiveState") == "active"
                 and sb.main_pid("rolesd.service") not in (0, pid),
                 timeout=15, what="rolesd restarted")
        t_up = time.monotonic() - t0
        print("SIGSTOP of pid %d: Result=watchdog after %.1f s (WatchdogSec=%ds), "
              "running again as pid %d after %.1f s, NRestarts=%s"
              % (pid, t_wd, WATCHDOG_SEC, sb.main_pid("rolesd.service"), t_up,
                 sb.prop("rolesd.service", "NRestarts")))
        # sd-event pings between 1/2 and 3/4 of WatchdogSec after the last
        # ping, so the timeout comes between 1/4 and all of it after SIGSTOP.
        self.assertGreaterEqual(t_wd, WATCHDOG_SEC * 0.2)
        self.assertEqual(sb.prop("rolesd.service", "NRestarts"), "1")
        self.assertNotEqual(sb.x("test", "-d", "/proc/%d" % pid, check=False).returncode, 0,
                            "the hung process is still there")
        for n in names:
            sb.rolesctl("role", "get", "--org", "5", "--name", n)
        sb.rolesctl("role", "create", "--org", "5", "--name", "AfterWatchdog")


if __name__ == "__main__":
    main()
