#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Port squatting by a local user (issue 11, finding 1). mhtest2 binds a
# port, announces it with its own long-lived pid, closes the socket and
# stays alive; one datagram sealed with its own key makes the session
# "contacted", so handshake_timeout does not end it. A session lives only
# while the socket it was announced with is bound to its port:
#  1. conflict: mhtest1's real mosh-server then binds that port; its hook
#     is accepted (the squat ends, audited "socket_gone"), and the session
#     works (typed text comes back);
#  2. restart: a squat found at restart is not resumed (audited), the real
#     session is;
#  3. periodic: with no one else wanting the port, the periodic check ends
#     a squat (audit line), and leaves the real session alone.
# IPv6 and IPv4 squatting sockets (dual-stack [::], a v4 and a v6 address);
# mosh-server's socket is IPv4 (-i).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook mosh-helperctl tests/mhannounce tests/udptool
mh_setup
# A long idle_timeout puts the periodic check (with each sync, every
# idle_timeout/4) out of reach for phases 1 and 2; phase 3 shortens it.
MH_IDLE=3600 MH_HANDSHAKE=5
mh_start_daemon
sleep 2   # the first sync runs at the first timer tick (0.5 s); the next in 15 min
AUDIT=$MH_TMP/audit.log
sock=$MH_TMP/control.sock
SQ_N=0

# squat PORT ADDR [nowait]: mhtest2 binds ADDR:PORT, announces it with its
# own pid, closes the socket and stays; one datagram sealed with its key
# contacts the session (checked unless "nowait": the periodic check may end
# it first). Sets SQ_PID.
squat() {
	local port=$1 addr=$2 out key dst=$SRV4
	SQ_N=$((SQ_N + 1))
	out=$MH_TMP/squat$SQ_N.out
	key=$(head -c 16 /dev/urandom | base64 | tr -d '=')
	ip netns exec "$NS_S" setpriv --reuid=mhtest2 --regid=mhtest2 --init-groups \
		"$MH_ANNOUNCE" --squat "$sock" "$port" "$key" "$addr" 300 \
		"$ATK4 50000 $SRV4 22" >"$out" 2>&1 &
	SQ_PID=$!
	disown "$SQ_PID"
	MH_PIDS+=("$SQ_PID")
	mh_wait 10 grep -q '^released' "$out" || mh_fail "squatter: $(cat "$out")"
	mh_log "squatter pid $SQ_PID on [$addr]:$port: $(head -n 1 "$out")"
	mh_assert "the squat on port $port is accepted" grep -q '^MHC_OK' "$out"
	mh_assert "nothing is bound to port $port any more" \
		test -z "$(mh_nsx "$NS_S" ss -Hun "sport = :$port")"
	[ "$addr" = "$SRV6" ] && dst=$SRV6
	mh_udptool "$NS_A" send "$dst" "$port" --sealed "$key" 1 1 || mh_fail "udptool"
	[ "${3:-}" = nowait ] && return 0
	mh_assert "the self-sealed datagram contacts the squatted session" \
		mh_wait 5 contacted "$port"
}

# contacted PORT: mosh-helperctl list shows the session contacted
contacted() {
	mh_nsx "$NS_S" "$MH_BUILD/mosh-helperctl" -s "$sock" list 2>/dev/null |
		awk -v p="$1" '$1 == p { print $8 }' | grep -qx yes
}

squat_ended() { # PORT WHEN: the audit says the squat ended, and why
	grep -q "\"event\":\"session_end\",\"session\":[0-9]*,\"port\":$1,\"why\":\"socket_gone: .*($2)\"" "$AUDIT"
}

ready_count() { grep -c 'ready: ports' "$MH_DAEMON_LOG"; }

# SIGQUIT (keep sessions), then the daemon again on $MH_CONF.
restart() {
	local n vg
	kill -QUIT "$MH_DAEMON_PID" || mh_fail "kill -QUIT daemon"
	mh_wait $((MH_STOP_S + 10)) mh_pid_gone "$MH_DAEMON_PID" || mh_fail "the daemon did not stop"
	mh_wait $((MH_STOP_S + 10)) flock -n "$MH_TMP/state.lock" true || mh_fail "state keeper"
	n=$(ready_count)
	mapfile -t vg < <(mh_vg_prefix daemon)
	ip netns exec "$NS_S" "${vg[@]}" "$MH_BUILD/mosh-helperd" -c "$MH_CONF" -f \
		>>"$MH_DAEMON_LOG" 2>&1 &
	MH_DAEMON_PID=$!
	disown "$MH_DAEMON_PID"
	mh_wait $((MH_START_S + 5)) eval '[ "$(ready_count)" -gt '"$n"' ]' ||
		mh_fail "the restarted daemon did not get ready"
	mh_log "daemon restarted, pid $MH_DAEMON_PID"
}

mh_step "squat 1: mhtest2 holds port 60001 with no socket (dual-stack [::])"
squat 60001 ::
sq1=$SQ_PID
sleep $((MH_HANDSHAKE + 2))
mh_assert "past handshake_timeout the squat still holds port 60001" mh_has_session 60001

mh_step "squat 1: mhtest1's real mosh session gets port 60001 and works"
mh_live_session mhtest1 c1
mh_assert_eq "mhtest1's mosh-server bound the lowest free port" 60001 "$MH_PORT"
mh_assert "the squat ended at the conflict, audited socket_gone" \
	mh_wait 5 squat_ended 60001 "port announced again"
mh_assert "mhtest1's session was accepted on port 60001" mh_wait 5 \
	grep -q "\"event\":\"session_accepted\",\"session\":[0-9]*,\"port\":60001,\"uid\":$(id -u mhtest1)" "$AUDIT"
mh_assert "the squatter's process is still alive (not a pidfd exit)" kill -0 "$sq1"
real=$MH_PORT

mh_step "squat 2: a squat found at restart is not resumed"
squat 60002 "$SRV4"
restart
mh_assert "the squat is not resumed, and the log says why" \
	mh_daemon_log_has "port 60002 not resumed: socket_gone"
mh_assert "the audit trail says so" mh_wait 5 \
	grep -q '"event":"session_not_resumed".*port 60002: socket_gone' "$AUDIT"
mh_assert "port 60002 is out of the sessions set" mh_no_session 60002
mh_assert "mhtest1's session is resumed" mh_daemon_log_has "port $real resumed"
mh_assert "and still works" mh_roundtrip c1 20

mh_step "squat 3: the periodic check ends a squat nobody else wants"
MH_IDLE=8
mh_write_conf
restart
squat 60002 "$SRV6" nowait
mh_assert "the periodic check ends it within two periods, audited socket_gone" \
	mh_wait 10 squat_ended 60002 "periodic check"
mh_assert "port 60002 is out of the sessions set" mh_no_session 60002
mh_assert "the squatter's process is still alive" kill -0 "$SQ_PID"
mh_assert "mhtest1's session is still there" mh_has_session "$real"
mh_assert "and still works" mh_roundtrip c1 20
mh_assert_eq "sessions ended socket_gone: squats 1 and 3, no other" 2 \
	"$(grep -c '"event":"session_end".*"why":"socket_gone' "$AUDIT")"

mh_pass "port squatting"
