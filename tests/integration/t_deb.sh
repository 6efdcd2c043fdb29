#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# mh-test: alone
# The Debian package (make deb, tools/mkdeb.sh): built out of tree with
# debhelper (the checkout is left as it was), lintian without errors, and
# what it holds checked without installing it on this machine: the files
# and conffiles, the system user (sysusers.d), units with Debian's paths
# and the guard enabled from sysinit.target, the maintainer scripts (units
# enabled, remove keeps the table, purge removes logs, runtime directory
# and user), the firewall
# profiles' ports; then the package unpacked into a scratch root, where the
# packaged daemon accepts the packaged conffile and man renders its pages;
# then (as root) installed with dpkg on this machine: the installed daemon
# checks the installed conffile, a real mosh session runs through the
# installed daemon and hook (t_a_session against /usr/sbin and /usr/bin),
# and purge leaves nothing behind. It runs alone: it adds the system user
# mosh-helper, which t_privilege creates and removes too.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

for c in dpkg-buildpackage dh lintian dpkg-deb man; do
	command -v "$c" >/dev/null || mh_skip "$c missing (make deps)"
done
T=$(mktemp -d /tmp/mh-deb.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
has() { grep -qE -- "$2" "$1" && echo yes || echo no; }

mh_step "build (tools/mkdeb.sh, out of tree)"
before=$(git -C "$MH_SRC" status --porcelain 2>/dev/null)
start=$SECONDS
"$MH_SRC/tools/mkdeb.sh" "$T/out" >"$T/mkdeb.log" 2>&1 ||
	{ cat "$T/mkdeb.log"; mh_fail "make deb failed"; }
mh_log "built in $((SECONDS - start)) s"
DEB=$(ls "$T"/out/mosh-helper_*_*.deb) || mh_fail "no .deb in $T/out"
mh_check_eq "the checkout is left as it was" "$before" \
	"$(git -C "$MH_SRC" status --porcelain 2>/dev/null)"
mh_check_eq "lintian: no error" no "$(has "$T/out/lintian.txt" '^E: ')"
sed 's/^/   lintian: /' "$T/out/lintian.txt"

mh_step "contents"
dpkg-deb -c "$DEB" | awk '{ print $6 }' | sed 's|^\./|/|' >"$T/files"
for f in /usr/sbin/mosh-helperd /usr/bin/mosh-helper-hook /usr/bin/mosh-helperctl \
	/usr/bin/mosh-helper-review /etc/mosh-helper.conf /etc/sysctl.d/60-mosh-helper.conf \
	/lib/systemd/system/mosh-helperd.service /lib/systemd/system/mosh-helper-guard.service \
	/usr/lib/sysusers.d/mosh-helper.conf \
	/usr/share/man/man8/mosh-helperd.8.gz /usr/share/man/man8/mosh-helperctl.8.gz \
	/usr/share/man/man1/mosh-helper-hook.1.gz /usr/share/man/man1/mosh-helper-review.1.gz \
	/usr/share/man/man5/mosh-helper.conf.5.gz \
	/usr/share/bash-completion/completions/mosh-helperctl \
	/usr/lib/firewalld/services/mosh-helper.xml \
	/usr/lib/firewalld/services/mosh-helper-single-port.xml \
	/etc/ufw/applications.d/mosh-helper; do
	mh_check_eq "$f in the package" yes "$(grep -qxF "$f" "$T/files" && echo yes || echo no)"
done
mh_check_eq "nothing under /usr/local" no "$(has "$T/files" '^/usr/local')"
mh_check_eq "the logrotate file, rotating the audit log with SIGUSR1" yes \
	"$(has "$T/files" 'etc/logrotate.d/mosh-helper')"

mkdir "$T/ctl" "$T/root"
dpkg-deb -e "$DEB" "$T/ctl"
dpkg-deb -x "$DEB" "$T/root"
R=$T/root
mh_check_eq "conffiles" "/etc/logrotate.d/mosh-helper /etc/mosh-helper.conf /etc/sysctl.d/60-mosh-helper.conf /etc/ufw/applications.d/mosh-helper" \
	"$(sort "$T/ctl/conffiles" | tr '\n' ' ' | sed 's/ $//')"
mh_check_eq "logrotate: the audit log, reopened by the daemon's main process on SIGUSR1" yes \
	"$(LR=$R/etc/logrotate.d/mosh-helper
	   grep -q '^/var/log/mosh-helper/audit.log {' "$LR" &&
	   grep -q 'kill-whom=main --signal=SIGUSR1 mosh-helperd' "$LR" &&
	   grep -q 'create 0640 mosh-helper adm' "$LR" && echo yes || echo no)"
mh_check_eq "sysusers.d: system user mosh-helper" yes \
	"$(has "$R/usr/lib/sysusers.d/mosh-helper.conf" '^u mosh-helper ')"
mh_check_eq "postinst creates the user (systemd-sysusers)" yes \
	"$(has "$T/ctl/postinst" 'systemd-sysusers.*mosh-helper.conf')"
for u in mosh-helperd mosh-helper-guard; do
	mh_check_eq "$u.service runs /usr/sbin/mosh-helperd" yes \
		"$(has "$R/lib/systemd/system/$u.service" '^ExecStart=/usr/sbin/mosh-helperd ')"
	mh_check_eq "postinst enables $u.service" yes \
		"$(has "$T/ctl/postinst" "deb-systemd-helper enable '$u.service'")"
done
mh_check_eq "the guard starts with sysinit.target" yes \
	"$(has "$R/lib/systemd/system/mosh-helper-guard.service" '^WantedBy=sysinit.target')"
mh_check_eq "postinst applies the sysctl.d file" yes "$(has "$T/ctl/postinst" '60-mosh-helper.conf')"
mh_check_eq "remove keeps the table (the range stays closed)" no \
	"$(cat "$T/ctl/postrm" "$T/ctl/prerm" 2>/dev/null | grep -vE '^[[:space:]]*(#|echo)' |
		grep -qE -- '--uninstall|delete table' && echo yes || echo no)"
mh_check_eq "postrm purge removes the log and runtime directories" yes \
	"$(has "$T/ctl/postrm" 'rm -rf /var/log/mosh-helper /run/mosh-helper')"
mh_check_eq "postrm purge removes the user" yes "$(has "$T/ctl/postrm" 'userdel mosh-helper')"
mh_check_eq "sysctl.d reserves 60000-61000" yes \
	"$(has "$R/etc/sysctl.d/60-mosh-helper.conf" '^net.ipv4.ip_local_reserved_ports = 60000-61000$')"
mh_check_eq "firewalld: the range" yes \
	"$(has "$R/usr/lib/firewalld/services/mosh-helper.xml" '<port protocol="udp" port="60000-61000"/>')"
mh_check_eq "firewalld: the single port" yes \
	"$(has "$R/usr/lib/firewalld/services/mosh-helper-single-port.xml" '<port protocol="udp" port="60000"/>')"
mh_check_eq "ufw profiles" "[mosh-helper] ports=60000:61000/udp [mosh-helper-single-port] ports=60000/udp" \
	"$(grep -E '^\[|^ports=' "$R/etc/ufw/applications.d/mosh-helper" | tr '\n' ' ' | sed 's/ $//')"
EX=/usr/share/doc/mosh-helper/examples/ha
for f in keepalived.conf conntrackd.conf mosh-helper-ha-notify; do
	mh_check_eq "HA example $EX/$f in the package" yes "$(grep -qxF "$EX/$f" "$T/files" && echo yes || echo no)"
done
mh_check_eq "the HA notify script keeps its mode 0755 (examples, dh_fixperms)" 755 \
	"$(stat -c %a "$R$EX/mosh-helper-ha-notify" 2>/dev/null)"
mh_check_eq "the HA notify script is valid sh" 0 "$(sh -n "$R$EX/mosh-helper-ha-notify" >/dev/null 2>&1; echo $?)"
mh_check_eq "bash completion registers the programs" yes \
	"$(bash -c ". '$R/usr/share/bash-completion/completions/mosh-helper'; complete -p mosh-helperctl mosh-helperd mosh-helper-hook mosh-helper-review" >/dev/null 2>&1 && echo yes || echo no)"

mh_step "the unpacked package in a scratch root"
out=$("$R/usr/sbin/mosh-helperd" --check-config -c "$R/etc/mosh-helper.conf" 2>&1); rc=$?
mh_check_eq "packaged daemon accepts the packaged conffile" 0 "$rc"
mh_check_eq "... and reports the range" yes \
	"$(echo "$out" | grep -qxF 'ports = "60000-61000";' && echo yes || echo no)"
for p in man8/mosh-helperd.8 man8/mosh-helperctl.8 man1/mosh-helper-hook.1 \
	man1/mosh-helper-review.1 man5/mosh-helper.conf.5; do
	w=$(MANWIDTH=80 man --warnings -l "$R/usr/share/man/$p.gz" 2>&1 >/dev/null)
	mh_check_eq "man --warnings $p" "" "$w"
done

# snap: what the package may touch on this machine, one path or name a line
snap() {
	find /etc /usr /lib /var/log /run/mosh-helper /var/lib/systemd -xdev 2>/dev/null |
		grep -v -e '^/var/log/journal' -e '^/etc/ld.so.cache' | sort
	# the test users of the session step are the harness's, not the package's
	{ getent passwd | cut -d: -f1; getent group | cut -d: -f1; } | grep -vx 'mhtest[12]'
}

# As root (MH_DEB_INSTALL=0 turns it off): install the package with dpkg,
# check it, run a session through it, purge it and compare the file lists.
# No unit starts during the test: an absent policy-rc.d is made for it.
if [ "${MH_DEB_INSTALL:-1}" = 1 ] && [ "$(id -u)" = 0 ]; then
	mh_step "dpkg -i, check, a session, dpkg --purge on this machine"
	dpkg -s mosh-helper >/dev/null 2>&1 && mh_fail "mosh-helper is installed already"
	id mosh-helper >/dev/null 2>&1 && mh_fail "user mosh-helper exists already (purge would remove it)"
	resv=$(cat /proc/sys/net/ipv4/ip_local_reserved_ports)
	snap >"$T/before"
	made_policy=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
		trap 'rm -rf "$T"; rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	dpkg -i "$DEB" >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; mh_fail "dpkg -i"; }
	mh_check_eq "user mosh-helper created" yes "$(id mosh-helper >/dev/null 2>&1 && echo yes || echo no)"
	mh_check_eq "installed daemon accepts the installed conffile" 0 \
		"$(/usr/sbin/mosh-helperd --check-config -c /etc/mosh-helper.conf >/dev/null 2>&1; echo $?)"
	mh_check_eq "guard enabled at boot" yes \
		"$([ -L /etc/systemd/system/sysinit.target.wants/mosh-helper-guard.service ] && echo yes || echo no)"
	mh_step "a real mosh session through the installed daemon and hook"
	# t_a_session with MH_BUILD made of the installed programs (and the
	# build's test tools)
	mkdir "$T/inst"
	chmod 755 "$T" "$T/inst"   # the hook runs as the test users
	ln -s /usr/sbin/mosh-helperd /usr/bin/mosh-helper-hook /usr/bin/mosh-helperctl "$T/inst/"
	ln -s "$MH_BUILD/tests" "$T/inst/tests"
	MH_BUILD=$T/inst bash "$MH_SRC/tests/integration/t_a_session.sh" >"$T/session.log" 2>&1
	rc=$?
	sed 's/^/   session: /' "$T/session.log" | grep -E 'ok|FAIL|PASS|step|==' | head -n 30
	mh_check_eq "t_a_session passes on the installed binaries" 0 "$rc"
	mkdir -p /var/log/mosh-helper && echo '{}' >/var/log/mosh-helper/audit.log
	dpkg --purge mosh-helper >>"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; mh_fail "dpkg --purge"; }
	snap >"$T/after"
	mh_check_eq "purge leaves nothing behind" "" "$(diff "$T/before" "$T/after" | head -n 20)"
	sysctl -q -w "net.ipv4.ip_local_reserved_ports=$resv"
	[ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

[ "$MH_FAILED" = 0 ] || { echo "failed: ${MH_FAILED_CHECKS[*]}"; exit 1; }
echo "the package checks passed"
