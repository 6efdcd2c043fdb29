#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The daemon's files (issue 11, finding 4): the audit log, the key log and
# the slow-path capture are opened without following a symbolic link and
# must be the daemon's own regular files, not writable by group or other;
# each refusal stops the start with a clear error and leaves the file (or
# what a link points to) untouched. The control socket gets its mode 0666
# from bind itself (umask), with no chmod of its path afterwards.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd tests/mhannounce
mh_setup
D=$MH_TMP/files
mkdir -m 755 "$D"

# conf LINES...: the test configuration, its audit_log replaced by LINES
conf() {
	MH_CONF=''
	mh_write_conf
	sed -i '/^audit_log = /d' "$MH_CONF"
	printf '%s\n' "$@" >>"$MH_CONF"
}

# refused WHAT REGEX LINES...: the daemon refuses to start, saying why
refused() {
	local what=$1 re=$2 rc=0; shift 2
	echo precious >"$D/target"
	chmod 644 "$D/target"
	conf "$@"
	timeout -s TERM 10 ip netns exec "$NS_S" "$MH_BUILD/mosh-helperd" -c "$MH_CONF" -f \
		>"$D/out" 2>&1 || rc=$?
	rm -f "$MH_TMP/control.sock"
	mh_log "$what: exit $rc: $(grep -v -E 'debug:' "$D/out" | tail -n 2 | tr '\n' ' ')"
	# checks recorded, not fatal: one run reports every case
	mh_check_eq "$what: the daemon refuses to start" yes "$(yes_no test "$rc" != 0 -a "$rc" != 124)"
	mh_check_eq "$what: it says why ($re)" yes "$(yes_no grep -q -E "$re" "$D/out")"
	if [ "$rc" = 124 ] || [ "$rc" = 0 ]; then   # it started: stop it
		mh_wait 10 eval '! mh_table_exists' || ip netns exec "$NS_S" nft delete table inet "$MH_TABLE"
	fi
	mh_check_eq "$what: the link's target is untouched" yes \
		"$(yes_no eval '[ "$(cat "$D/target")" = precious ] && [ "$(stat -c %a "$D/target")" = 644 ]')"
}
yes_no() { if "$@"; then echo yes; else echo no; fi; }

mh_step "files: symbolic links"
ln -s "$D/target" "$D/audit.link"
refused "audit_log is a symlink" "audit_log $D/audit.link: a symbolic link: refused" \
	"audit_log = \"$D/audit.link\";"
refused "key_log is a symlink" "key_log $D/audit.link: a symbolic link: refused" \
	"audit_log = \"$D/audit.log\";" "key_log = \"$D/audit.link\";"
refused "slowpath_pcap is a symlink" "slowpath_pcap $D/audit.link: a symbolic link: refused" \
	"audit_log = \"$D/audit.log\";" "slowpath_pcap = \"$D/audit.link\";"

mh_step "files: owner and mode"
install -m 600 -o mhtest1 /dev/null "$D/theirs.log"
refused "audit_log owned by mhtest1" "audit_log $D/theirs.log refused: owned by another user" \
	"audit_log = \"$D/theirs.log\";"
install -m 666 /dev/null "$D/open.log"
refused "audit_log mode 666" "audit_log $D/open.log refused: writable by group or other" \
	"audit_log = \"$D/open.log\";"
mh_check_eq "its mode is left as it was" 666 "$(stat -c %a "$D/open.log")"
install -m 620 /dev/null "$D/keys.log"
refused "key_log mode 620" "key_log $D/keys.log refused: writable by group or other" \
	"audit_log = \"$D/audit.log\";" "key_log = \"$D/keys.log\";"
install -m 666 /dev/null "$D/slow.pcap"
refused "slowpath_pcap mode 666" "slowpath_pcap $D/slow.pcap refused: writable by group or other" \
	"audit_log = \"$D/audit.log\";" "slowpath_pcap = \"$D/slow.pcap\";"
mkfifo -m 600 "$D/fifo"
refused "audit_log is a FIFO" "audit_log $D/fifo: not a regular file: refused" "audit_log = \"$D/fifo\";"

mh_step "files: the daemon's own files are taken; read bits too wide are narrowed"
chmod 644 "$D/keys.log"
rm -f "$D/slow.pcap"
conf "audit_log = \"$D/audit.log\";" "key_log = \"$D/keys.log\";" "slowpath_pcap = \"$D/slow.pcap\";"
# strace records every chmod the daemon (and its keeper) makes
ip netns exec "$NS_S" strace -f -qq -e trace=chmod,fchmodat -o "$D/strace" \
	"$MH_BUILD/mosh-helperd" -c "$MH_CONF" -f >>"$D/daemon.log" 2>&1 &
tracer=$!
MH_PIDS+=("$tracer")
MH_DAEMON_LOG=$D/daemon.log
mh_assert "the daemon starts" mh_wait "$MH_START_S" eval '[ -S "$MH_TMP/control.sock" ] && mh_table_exists'
for p in $(ip netns pids "$NS_S"); do
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = mosh-helperd ] && [ "$(awk '{print $4}' "/proc/$p/stat")" = "$tracer" ] &&
		MH_DAEMON_PID=$p
done
mh_check_eq "key_log mode" 600 "$(stat -c %a "$D/keys.log")"
mh_check_eq "slowpath_pcap mode" 600 "$(stat -c %a "$D/slow.pcap")"
mh_check_eq "audit_log mode" 640 "$(stat -c %a "$D/audit.log")"
mh_check_eq "the control socket's mode" 666 "$(stat -c %a "$MH_TMP/control.sock")"
mh_log "chmod calls: $(grep -c . "$D/strace") ($(tr '\n' ' ' <"$D/strace" | cut -c1-300))"
mh_check_eq "no chmod of the control socket's path" yes "$(yes_no eval '! grep -q "control.sock" "$D/strace"')"
# exit 1: the daemon answered (a refusal: port 1000 is outside the range)
announce_rc() {
	ip netns exec "$NS_S" setpriv --reuid=mhtest2 --regid=mhtest2 --init-groups \
		"$MH_BUILD/tests/mhannounce" "$MH_TMP/control.sock" 1000 1 4NeCCgvZFe2RnPgrcU1PQw >/dev/null
	echo $?
}
mh_assert_eq "another user connects and is answered" 1 "$(announce_rc)"
mh_stop_daemon

mh_pass "daemon files"
