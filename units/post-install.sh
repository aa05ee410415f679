#!/bin/sh
# post-install.sh SYSUSERS_CONF TMPFILES_CONF: what a package's postinst
# would do, run by `meson install` on the live system (never with DESTDIR):
# refresh the dynamic linker's cache (librolesd in a non-default libdir such
# as /usr/local/lib/x86_64-linux-gnu), create the rolesd users and groups and
# /run/rolesd, and make a running systemd see the new units. After it,
# `systemctl enable --now rolesd.socket rolesd-http.socket` is all a host
# needs. As non-root it only says what to run.
set -eu
sysusers_conf=$1
tmpfiles_conf=$2

if [ "$(id -u)" != 0 ]; then
        echo "rolesd: not root; as root, run: ldconfig; systemd-sysusers $sysusers_conf;" \
             "systemd-tmpfiles --create $tmpfiles_conf; systemctl daemon-reload"
        exit 0
fi
echo "rolesd: ldconfig; systemd-sysusers; systemd-tmpfiles --create"
ldconfig
systemd-sysusers "$sysusers_conf"
systemd-tmpfiles --create "$tmpfiles_conf"
if [ -d /run/systemd/system ]; then
        echo "rolesd: systemctl daemon-reload"
        systemctl daemon-reload
fi
