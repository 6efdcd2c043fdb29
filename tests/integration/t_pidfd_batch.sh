#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A session's pidfd in the daemon's epoll set (0242977, 2e6c4e4), with the
# real daemon and stand-in mosh-servers of mhtest1 (mhannounce --serve):
#  1. same wait: the old mosh-server of a port exits and a new one announces
#     the port, both before the daemon's next wait, the announcement
#     first. The daemon is stopped (SIGSTOP) while the old one closes its
#     socket, the new one binds the port and writes its announcement to a
#     connection the daemon has already accepted, and the old one exits;
#     the wait after SIGCONT returns the announcement (which ends the old
#     session and opens the new one), then the old mosh-server's pidfd
#     event. The new session stays (before 0242977 that event ended it at
#     once as "mosh-server exited", its mosh-server running).
#  2. a copy of the pidfd: the owner asks for the session's end and the
#     daemon, which may not signal another uid's process, passes it the
#     pidfd; the owner holds it, unused, and the mosh-server exits. The
#     session ends once and the daemon is idle after (before 2e6c4e4 the
#     copy kept the closed pidfd in the epoll set, where it fired on every
#     wait: a busy loop).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/mhannounce
mh_setup
mh_start_daemon
sock=$MH_TMP/control.sock
AUDIT=$MH_TMP/audit.log
P=60123
KEY=$(head -c 16 /dev/urandom | base64 | tr -d '=')

as_mhtest1() { ip netns exec "$NS_S" setpriv --reuid=mhtest1 --regid=mhtest1 --init-groups "$@"; }

# serve OUT [--late]: a stand-in mosh-server of mhtest1 for port $P on
# $SRV4, in the background; SV_PID is its pid (its first line).
serve() {
	local out=$1; shift
	as_mhtest1 "$MH_ANNOUNCE" --serve "$sock" "$P" "$KEY" "$SRV4" 120 "$@" >"$out" 2>&1 &
	disown $!
	MH_PIDS+=("$!")
	mh_wait 5 grep -q '^pid ' "$out" || mh_fail "mhannounce --serve: $(cat "$out")"
	SV_PID=$(sed -n 's/^pid //p' "$out")
	MH_PIDS+=("$SV_PID")
}

# has OUT REGEX: a line of a stand-in's output
has() { grep -q -E "$2" "$1"; }

# exited PID: a zombie or gone (its pidfd says so)
exited() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ]
}
running() { ! exited "$1"; }

# accepted PID: the daemon holds the other end of PID's connection to the
# control socket (its own fd: accepted, not only queued)
accepted() {
	local ino
	ino=$(find "/proc/$1/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null |
		sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p' | head -n 1)
	[ -n "$ino" ] && mh_nsx "$NS_S" ss -xpH 2>/dev/null |
		awk -v i="$ino" '$8 == i' | grep -q "pid=$MH_DAEMON_PID,"
}

stopped() { [ "$(awk '{ print $3 }' "/proc/$MH_DAEMON_PID/stat")" = T ]; }
ended() { grep "\"event\":\"session_end\",\"session\":[0-9]*,\"port\":$P," "$AUDIT"; }
cpu_ms() { echo $(( $(awk '{ print $14 + $15 }' "/proc/$MH_DAEMON_PID/stat") * 1000 / $(getconf CLK_TCK) )); }

mh_step "same wait: the old mosh-server's exit after the new one's announcement"
serve "$MH_TMP/old.out"
old=$SV_PID
mh_assert "the old session on port $P is accepted" mh_wait 5 has "$MH_TMP/old.out" '^MHC_OK'
mh_assert "port $P is in the sessions set" mh_has_session "$P"
serve "$MH_TMP/new.out" --late
new=$SV_PID
mh_wait 5 has "$MH_TMP/new.out" '^connected' || mh_fail "the new one: $(cat "$MH_TMP/new.out")"
mh_wait 1 accepted "$new" || mh_fail "the daemon did not accept the new one's connection"
kill -STOP "$MH_DAEMON_PID"
mh_wait 5 stopped || mh_fail "the daemon did not stop"
kill -USR1 "$old"
mh_wait 5 has "$MH_TMP/old.out" '^released' || mh_fail "the old one kept its socket"
kill -USR1 "$new"
mh_wait 5 has "$MH_TMP/new.out" '^sent' || mh_fail "the new one: $(cat "$MH_TMP/new.out")"
kill -TERM "$old"
mh_wait 5 exited "$old" || mh_fail "the old one (pid $old) did not exit"
mh_log "daemon stopped: old mosh-server $old released port $P and exited, new one $new announced it"
kill -CONT "$MH_DAEMON_PID"
mh_assert "the new session is accepted" mh_wait 5 has "$MH_TMP/new.out" '^MHC_OK'
mh_log "new: $(grep '^MHC' "$MH_TMP/new.out")"
sleep 1   # the daemon's next waits
mh_daemon_log_has "port $P ended" && grep "port $P ended" "$MH_DAEMON_LOG" | sed 's/^/   daemon: /'
mh_assert "the new mosh-server still runs" running "$new"
mh_assert "port $P is still in the sessions set" mh_has_session "$P"
mh_assert_eq "session_end lines for port $P (the old session's)" 1 "$(ended | wc -l)"
mh_assert_eq "its reason" '"mosh-server exited"' \
	"$(ended | sed -n -E 's/.*"why":("[^"]*").*/\1/p')"

mh_step "a copy of the pidfd held by the owner after the session ended"
mh_ns_bg "$NS_S" "$MH_TMP/holder.out" setpriv --reuid=mhtest1 --regid=mhtest1 --init-groups \
	"$MH_ANNOUNCE" --pidfd "$sock" "$P" 30
mh_wait 5 has "$MH_TMP/holder.out" '^(holding|no) pidfd' || mh_fail "holder: $(cat "$MH_TMP/holder.out")"
mh_log "holder: $(head -n 1 "$MH_TMP/holder.out")"
mh_assert "the daemon passed the pidfd (it may not signal mhtest1)" has "$MH_TMP/holder.out" '^holding pidfd'
mh_assert "the new mosh-server still runs" running "$new"
kill -TERM "$new"
mh_assert "it exits" mh_wait 5 exited "$new"
mh_assert "port $P leaves the sessions set" mh_wait 5 mh_no_session "$P"
c0=$(cpu_ms)
sleep 2
spent=$(( $(cpu_ms) - c0 ))
mh_log "daemon CPU over the 2 s after the end: $spent ms"
mh_assert "the daemon is idle (under 300 ms of CPU in 2 s)" test "$spent" -lt 300
mh_assert_eq "session_end lines for port $P (the old and the new)" 2 "$(ended | wc -l)"
mh_session mhtest1
mh_assert "the daemon still serves announcements" mh_has_session "$MH_PORT"

mh_pass "a stale pidfd event ends no session, a held copy no busy loop"
