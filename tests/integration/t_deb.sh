#!/bin/bash
# The Debian package (make deb, tools/mkdeb.sh): built out of tree with
# debhelper (the checkout is left as it was), lintian without errors, and
# what it holds checked without installing it on this machine: the files
# and conffiles, the system user (sysusers.d), units with Debian's paths
# and the guard enabled from sysinit.target, the maintainer scripts (units
# enabled, purge removes logs, runtime directory and user), the firewall
# profiles' ports; then the package unpacked into a scratch root, where the
# packaged daemon accepts the packaged conffile and man renders its pages.
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
mh_check_eq "no logrotate file (the daemon cannot reopen its log yet)" no \
	"$(has "$T/files" 'logrotate')"

mkdir "$T/ctl" "$T/root"
dpkg-deb -e "$DEB" "$T/ctl"
dpkg-deb -x "$DEB" "$T/root"
R=$T/root
mh_check_eq "conffiles" "/etc/mosh-helper.conf /etc/sysctl.d/60-mosh-helper.conf /etc/ufw/applications.d/mosh-helper" \
	"$(sort "$T/ctl/conffiles" | tr '\n' ' ' | sed 's/ $//')"
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
mh_check_eq "prerm removes the table on remove" yes "$(has "$T/ctl/prerm" 'mosh-helperd --uninstall')"
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

[ "$MH_FAILED" = 0 ] || { echo "failed: ${MH_FAILED_CHECKS[*]}"; exit 1; }
echo "the package checks passed"
