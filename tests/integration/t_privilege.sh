#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Least privilege (issue 6, item 2). The syscall filter decides as it
# should, one call at a time, and so does the state keeper's own (issue 11,
# finding 4), which the running keeper is under. The running daemon keeps CAP_NET_ADMIN alone
# (effective, permitted, bounding), runs under seccomp in filter mode with
# no_new_privs, as root, as a configured system user or, with no `user`
# set, as mosh-helper when that user exists (issue 11) (not dumpable,
# memory locked when RLIMIT_MEMLOCK allows), tells systemd it is ready only
# once its control socket exists, and still carries a real mosh session
# that roams. The session key never shows in its logs, its environment or
# a core file: without fs.suid_dumpable no core is written at all (not
# dumpable), and with suid_dumpable = 2 the core has no key in it.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/notifylisten tests/seccompcheck tests/mhkeys
mh_no_valgrind "it checks the syscall filter, which valgrind's own calls would trip"
mh_setup
DUSER=mhdaemon
CAPS=$(printf '%016x' $((1 << 12)))   # CAP_NET_ADMIN
NONE=0000000000000000
SAN=0
ldd "$MH_BUILD/mosh-helperd" 2>/dev/null | grep -q libasan && SAN=1

# Core dump settings are global: saved here, restored by the EXIT trap (and
# right after each use).
OLD_PATTERN=$(cat /proc/sys/kernel/core_pattern)
OLD_SUID=$(cat /proc/sys/fs/suid_dumpable)
core_restore() {
	echo "$OLD_SUID" >/proc/sys/fs/suid_dumpable
	printf '%s\n' "$OLD_PATTERN" >/proc/sys/kernel/core_pattern
}
# core_set SUID_DUMPABLE: cores into our directory (the pattern first: the
# kernel refuses suid_dumpable = 2 with a relative one)
core_set() {
	echo "$MH_TMP/cores/core.%p" >/proc/sys/kernel/core_pattern
	echo "$1" >/proc/sys/fs/suid_dumpable
}
trap 'rc=$?; core_restore; (exit $rc); mh_cleanup' EXIT

st() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ +/, ""); gsub(/[ \t]+/, " "); print }' "/proc/$1/status"; }

# privileges PID UID: the status of a hardened daemon
privileges() {
	local p=$1 uid=$2 f
	mh_check_eq "Uid (real, effective, saved, fs)" "$uid $uid $uid $uid" "$(st "$p" Uid)"
	for f in CapEff CapPrm CapBnd; do
		mh_check_eq "$f: CAP_NET_ADMIN only" "$CAPS" "$(st "$p" $f)"
	done
	mh_check_eq "CapInh: empty" $NONE "$(st "$p" CapInh)"
	mh_check_eq "CapAmb: empty" $NONE "$(st "$p" CapAmb)"
	mh_check_eq "Seccomp: 2 (filter mode)" 2 "$(st "$p" Seccomp)"
	mh_check_eq "NoNewPrivs" 1 "$(st "$p" NoNewPrivs)"
	mh_assert "the daemon logs what it dropped" mh_daemon_log_has "privileges dropped: uid $uid"
}

# notify_start NAME: a listener in the server ns for two messages
notify_start() {
	mh_ns_bg "$NS_S" "$MH_TMP/notify.$2.out" "$MH_BUILD/tests/notifylisten" \
		"$1" "$MH_TMP/control.sock" 2 120
	NOTIFY_PID=$MH_BG_PID
	mh_wait 5 grep -q listening "$MH_TMP/notify.$2.out" || mh_fail "notifylisten did not start"
}
# notify_has N STATE yes|no|any: STATE arrived, the control socket then there or not
notify_has() {
	local sock=$3
	[ "$sock" = any ] && sock='(yes|no)'
	grep -q -x -E "message $2 \| socket $sock" "$MH_TMP/notify.$1.out"
}

# no_key WHAT KEY: the key in neither log nor the environment
no_key() {
	local k=$2
	mh_check_eq "$1: the key is not in the daemon's log" 0 "$(grep -c -F -- "$k" "$MH_DAEMON_LOG")"
	mh_check_eq "$1: the key is not in the audit log" 0 "$(grep -c -F -- "$k" "$MH_TMP/audit.log")"
	mh_check_eq "$1: the key is not in /proc/PID/environ" 0 \
		"$(tr '\0' '\n' <"/proc/$MH_DAEMON_PID/environ" | grep -c -F -- "$k")"
}

# clean_stop: SIGTERM with the filter on: the stop runs to its end (the
# table kept, the range closed), systemd hears it
stopped_lines() { grep -c "stopped; table inet $MH_TABLE, .*the range stays closed" "$MH_DAEMON_LOG"; }
clean_stop() {
	local n
	n=$(stopped_lines)
	kill -TERM "$MH_DAEMON_PID"
	mh_assert "SIGTERM stops the daemon" mh_wait 15 mh_pid_gone "$MH_DAEMON_PID"
	mh_assert "the clean stop ran under the filter to its last line" \
		mh_wait 5 eval '[ "$(stopped_lines)" -gt '"$n"' ]'
	mh_assert "the table is kept" mh_table_exists
	mh_assert "systemd is told STOPPING=1" mh_wait 5 notify_has "$1" STOPPING=1 any
	MH_DAEMON_PID=
}

mh_step "the syscall filter, one call at a time"
mkdir "$MH_TMP/sc"
mh_nsx "$NS_S" "$MH_BUILD/tests/seccompcheck" "$MH_TMP/sc" >"$MH_TMP/sc.out" 2>&1 ||
	mh_fail "seccompcheck: $(cat "$MH_TMP/sc.out")"
sed 's/^/   | /' "$MH_TMP/sc.out"
# normal build: everything not listed kills; sanitizer build: EPERM, but
# the dangerous ones still kill
if [ $SAN = 1 ]; then
	want="build sanitized|open-create-excl allowed|socket-unix-stream refused EPERM|socket-inet refused EPERM|socket-netlink refused EPERM|execve refused EPERM|setuid killed|mount killed"
else
	want="build normal|open-create-excl killed|open-write-existing killed|open-truncate killed|open-append killed|socket-unix-stream killed|socket-inet killed|socket-netlink killed|mmap-exec killed|getuid killed|setuid killed|execve killed|mount killed|ptrace killed|tgkill-other killed"
fi
want="$want|open-read allowed|socket-unix-dgram allowed|pidfd_open allowed|mmap-rw allowed|tgkill-self allowed"
want="$want|pidfd_send_signal allowed|sendmsg allowed"
IFS='|' read -r -a lines <<<"$want"
for l in "${lines[@]}"; do
	mh_check_eq "seccompcheck: ${l% *}" "$l" "$(grep -x -F -- "$l" "$MH_TMP/sc.out")"
done

mh_step "the state keeper's own syscall filter, one call at a time"
mh_nsx "$NS_S" "$MH_BUILD/tests/seccompcheck" "$MH_TMP/sc" keeper >"$MH_TMP/sck.out" 2>&1 ||
	mh_fail "seccompcheck keeper: $(cat "$MH_TMP/sck.out")"
sed 's/^/   | /' "$MH_TMP/sck.out"
# what it needs: the keyring, its temporary created and renamed, the audit
# files reopened to append and handed to the daemon (sendmsg, SCM_RIGHTS)
want="keyctl allowed|open-create-excl allowed|rename allowed|socket-unix-dgram allowed"
want="$want|open-append allowed|sendmsg allowed"
# what the daemon may do and the keeper may not
if [ $SAN = 1 ]; then
	want="$want|pidfd_open refused EPERM|pidfd_send_signal refused EPERM|socket-netlink refused EPERM|setuid killed|mount killed"
else
	want="$want|pidfd_open killed|pidfd_send_signal killed|socket-netlink killed|tgkill-self killed|open-write-existing killed|open-truncate killed|execve killed|setuid killed|ptrace killed"
fi
IFS='|' read -r -a lines <<<"$want"
for l in "${lines[@]}"; do
	mh_check_eq "seccompcheck keeper: ${l% *}" "$l" "$(grep -x -F -- "$l" "$MH_TMP/sck.out")"
done

# keeper PID: the daemon's child named mh-state-keeper
keeper_of() {
	local c
	for c in $(cat "/proc/$1/task/$1/children" 2>/dev/null); do
		[ "$(cat "/proc/$c/comm" 2>/dev/null)" = mh-state-keeper ] && { echo "$c"; return 0; }
	done
	return 1
}

mh_step "1: user = \"$DUSER\": unprivileged, not dumpable, memory locked if allowed, abstract notify socket"
id "$DUSER" >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin "$DUSER" ||
	id "$DUSER" >/dev/null 2>&1 || mh_fail "useradd $DUSER"
duid=$(id -u "$DUSER")
# the daemon's runtime directory belongs to it (as RuntimeDirectory= does)
chown "$DUSER" "$MH_TMP"
MH_CONF=''
mh_write_conf "user = \"$DUSER\";"
LOCK=0
ulimit -l unlimited 2>/dev/null && LOCK=1
notify_start "@mhnotify$$" 2
export NOTIFY_SOCKET=@mhnotify$$
mh_start_daemon
unset NOTIFY_SOCKET
privileges "$MH_DAEMON_PID" "$duid"
kp=$(keeper_of "$MH_DAEMON_PID") || mh_fail "no state keeper under the daemon"
mh_check_eq "the state keeper runs under its own filter (Seccomp: 2)" 2 "$(st "$kp" Seccomp)"
mh_check_eq "the state keeper: no capability" $NONE "$(st "$kp" CapEff)"
mh_check_eq "Gid is $DUSER's group" "$(id -g "$DUSER")" "$(st "$MH_DAEMON_PID" Gid | cut -d' ' -f1)"
mh_check_eq "not dumpable: its /proc files belong to root, not to $DUSER" 0 \
	"$(stat -c %u "/proc/$MH_DAEMON_PID/environ")"
if [ $SAN = 0 ] && [ $LOCK = 1 ]; then
	mh_assert "memory locked (VmLck > 0)" test "$(st "$MH_DAEMON_PID" VmLck | cut -d' ' -f1)" -gt 0
	mh_assert "the daemon says so" mh_daemon_log_has "memory locked, syscall filter on"
elif [ $SAN = 0 ]; then
	mh_log "RLIMIT_MEMLOCK cannot be raised here (hard limit $(ulimit -H -l) KiB, no CAP_SYS_RESOURCE)"
	mh_assert "memory not locked: a warning naming the limit, and the daemon goes on" \
		mh_daemon_log_has "memory not locked: RLIMIT_MEMLOCK is $(ulimit -H -l) KiB"
fi
mh_assert "READY=1 arrives on the abstract socket once the control socket exists" \
	mh_wait 5 notify_has 2 READY=1 yes
mh_live_session mhtest1 c1
mh_roam_addr 198.18.3.11
mh_assert "typed text comes back after the roam" mh_roundtrip c1 20
mh_assert "a pinhole from the new address" \
	mh_wait 5 mh_any_pinhole 198.18.3.11 "$(mh_snat_ports)" "$MH_PORT"
no_key "user $DUSER" "$MH_KEY"
clean_stop 2
mh_assert "the control socket is removed by the unprivileged daemon" test ! -e "$MH_TMP/control.sock"
mh_tmux kill-session -t c1 2>/dev/null

mh_step "1b: started the way the systemd unit starts it: as $DUSER, CAP_NET_ADMIN ambient"
MH_CONF=''
mh_write_conf
chown "$DUSER" "$MH_TMP/audit.log"   # LogsDirectory= belongs to the user too
ip netns exec "$NS_S" setpriv --reuid="$DUSER" --regid="$DUSER" --clear-groups \
	--inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin \
	--bounding-set=-all,+net_admin \
	"$MH_BUILD/mosh-helperd" -c "$MH_CONF" -f >>"$MH_DAEMON_LOG" 2>&1 &
MH_DAEMON_PID=$!
disown "$MH_DAEMON_PID"
mh_wait 15 mh_daemon_ready || mh_fail "the daemon started as $DUSER did not come up"
privileges "$MH_DAEMON_PID" "$duid"
mh_live_session mhtest1 c1b
no_key "started as $DUSER" "$MH_KEY"
n_stopped=$(grep -c "stopped; table inet" "$MH_DAEMON_LOG")
kill -TERM "$MH_DAEMON_PID"
mh_assert "SIGTERM stops it" mh_wait 15 mh_pid_gone "$MH_DAEMON_PID"
mh_assert "the stop ran to its last line, keeping the table" \
	mh_wait 5 eval '[ "$(grep -c "stopped; table inet" "$MH_DAEMON_LOG")" -gt "$n_stopped" ] && mh_table_exists'
MH_DAEMON_PID=
mh_tmux kill-session -t c1b 2>/dev/null

mh_step "1c: --uninstall, as root, removes the keys the daemon kept as $DUSER"
# the keyring is in $DUSER's user keyring, which lib.sh's clean-up (root's) never sees
duser_ring() {
	runuser -u "$DUSER" -- "$MH_BUILD/tests/mhkeys" list "mosh-helper:$MH_TABLE:net$MH_NETNS_INO"
}
mh_assert "the stop kept the session key in $DUSER's keyring" \
	mh_wait 10 eval '[ -n "$(duser_ring | awk '"'"'$1 == "key"'"'"')" ]'
mh_assert "--uninstall succeeds" \
	ip netns exec "$NS_S" "$MH_BUILD/mosh-helperd" -c "$MH_CONF" --uninstall
mh_assert "the table is gone" eval '! mh_table_exists'
mh_assert "the state file is gone" test ! -e "$MH_TMP/state"
mh_assert "$DUSER's keyring is gone" test -z "$(duser_ring)"
chown root "$MH_TMP" "$MH_TMP/audit.log"

mh_step "2: as root: CAP_NET_ADMIN only, readiness through a socket file"
ulimit -l 1024    # soft and hard: far below what locking needs, warn and go on
MH_CONF=''
mh_write_conf
notify_start "$MH_TMP/notify.sock" 1
export NOTIFY_SOCKET=$MH_TMP/notify.sock
mh_start_daemon
unset NOTIFY_SOCKET
privileges "$MH_DAEMON_PID" 0
mh_assert "READY=1 arrives, and only once the control socket exists" \
	mh_wait 5 notify_has 1 READY=1 yes
if [ $SAN = 0 ]; then
	mh_assert "RLIMIT_MEMLOCK too low: a warning, and the daemon goes on" \
		mh_daemon_log_has "memory not locked: RLIMIT_MEMLOCK is 1024 KiB"
fi
mh_live_session mhtest1 c2
mh_roam_addr 198.18.3.12
mh_assert "typed text comes back after the roam" mh_roundtrip c2 20
mh_assert "a pinhole from the new address" \
	mh_wait 5 mh_any_pinhole 198.18.3.12 "$(mh_snat_ports)" "$MH_PORT"
no_key "root" "$MH_KEY"
clean_stop 1
mh_tmux kill-session -t c2 2>/dev/null

mh_step "2b: user not set: the dedicated user mosh-helper when it exists, else uid 0 with a warning"
# conf_default: the test configuration without any `user` line
conf_default() {
	MH_CONF=''
	mh_write_conf
	sed -i '/^user = /d' "$MH_CONF"
}
made_user=0
if ! id mosh-helper >/dev/null 2>&1; then
	conf_default
	mh_start_daemon
	mh_check_eq "no such user: the daemon stays uid 0" "0 0 0 0" "$(st "$MH_DAEMON_PID" Uid)"
	mh_assert "and says how to create it" mh_daemon_log_has 'no user "mosh-helper": staying uid 0'
	mh_stop_daemon
	useradd --system --no-create-home --shell /usr/sbin/nologin mosh-helper ||
		id mosh-helper >/dev/null 2>&1 || mh_fail "useradd mosh-helper"
	made_user=1
fi
huid=$(id -u mosh-helper)
chown mosh-helper "$MH_TMP"
conf_default
mh_start_daemon
privileges "$MH_DAEMON_PID" "$huid"
mh_live_session mhtest1 c2b
mh_stop_daemon
chown root "$MH_TMP"
mh_tmux kill-session -t c2b 2>/dev/null
[ $made_user = 1 ] && userdel mosh-helper 2>/dev/null

# raw KEY -> its 16 bytes in hex; TEXT -> hex
key_hex() { printf '%s==' "$1" | base64 -d | od -An -v -tx1 | tr -d ' \n'; }
text_hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
core_done() { # FILE: written and no longer growing
	local s
	[ -s "$1" ] || return 1
	s=$(stat -c %s "$1"); sleep 0.5
	[ "$s" = "$(stat -c %s "$1")" ]
}

mh_step "3a: SIGABRT, even with fs.suid_dumpable = 2: no core, the daemon is not dumpable"
mkdir -m 700 "$MH_TMP/cores"
ulimit -c unlimited
MH_CONF=''
mh_write_conf
mh_start_daemon
mh_live_session mhtest1 c3
k3=$MH_KEY
core_set 2
mh_nsx "$NS_S" sleep 30 &
ctl=$!
MH_PIDS+=("$ctl")
sleep 0.2
kill -ABRT "$ctl"
mh_assert "control: a dumpable process killed the same way leaves a core" \
	mh_wait 10 core_done "$MH_TMP/cores/core.$ctl"
kill -ABRT "$MH_DAEMON_PID"
mh_assert "the daemon dies of SIGABRT" mh_wait 10 mh_pid_gone "$MH_DAEMON_PID"
sleep 1
core_restore
mh_assert "no core file of the daemon (pid $MH_DAEMON_PID): PR_SET_DUMPABLE 0 stops the kernel" \
	test ! -e "$MH_TMP/cores/core.$MH_DAEMON_PID"
rm -f "$MH_TMP"/cores/core.*

mh_step "3b: a core taken from outside (gcore, as a debugger would) holds no key"
if [ $SAN = 1 ]; then
	mh_log "skipped in a sanitizer build (its terabytes of reserved mappings)"
	mh_pass "least privilege (sanitizer build)"
fi
command -v gdb >/dev/null 2>&1 || mh_skip "gdb is not installed (tools/deps.sh installs it)"
rm -f "$MH_TMP/control.sock"
MH_DAEMON_PID=
mh_start_daemon             # may adopt the session above (key k3)
mh_live_session mhtest1 c4
k4=$MH_KEY
mh_assert "the session works" mh_roundtrip c4 15
# gcore FILE [gdb settings...]: the running daemon's memory into FILE
gcore() {
	local f=$1; shift
	gdb -batch -nx -p "$MH_DAEMON_PID" "$@" -ex "gcore $f" >"$f.log" 2>&1
	od -An -v -tx1 "$f" | tr -d ' \n' >"$f.hex"
}
gcore "$MH_TMP/cores/plain"
mh_assert "gcore wrote a core" test -s "$MH_TMP/cores/plain"
mh_log "core: $(stat -c %s "$MH_TMP/cores/plain") bytes"
mh_assert "control: the core holds the daemon's heap (the control socket path)" \
	grep -q -F "$(text_hex "$MH_TMP/control.sock")" "$MH_TMP/cores/plain.hex"
mh_assert "control: and session data (the SSH client address)" \
	grep -q -F "$(text_hex "$(mh_snat_addr)")" "$MH_TMP/cores/plain.hex"
for k in "$k3" "$k4"; do
	mh_check_eq "key ${k:0:4}...: not in the core as text" 0 \
		"$(grep -c -a -F -- "$k" "$MH_TMP/cores/plain")"
	mh_check_eq "key ${k:0:4}...: not in the core as its 16 bytes" 0 \
		"$(grep -c -F "$(key_hex "$k")" "$MH_TMP/cores/plain.hex")"
done
# The same with the MADV_DONTDUMP mappings included: the key is there, so
# it is only the key memory's marking that keeps it out of a core.
gcore "$MH_TMP/cores/all" -ex 'set dump-excluded-mappings on'
mh_assert "control: with the excluded mappings dumped too, the key's bytes are found" \
	grep -q -F "$(key_hex "$k4")" "$MH_TMP/cores/all.hex"
mh_assert "the daemon runs on after both" kill -0 "$MH_DAEMON_PID"
mh_assert "the session still works" mh_roundtrip c4 15
rm -f "$MH_TMP"/cores/*

mh_pass "least privilege"
