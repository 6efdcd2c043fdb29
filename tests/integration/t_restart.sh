#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Restart without losing sessions (issue 6, item 3), with the real mosh:
#  - a live session's key is in the kernel keyring (possessor-only), the
#    rest in a 0600 state file that never holds the key;
#  - SIGKILL mid-session: while the daemon is down the session keeps
#    working through its pinhole and a roam does not get in; started
#    again, the daemon resumes the session (log), the roamed client gets
#    through and a pinhole for its new address appears; sessions whose
#    mosh-server died meanwhile, or whose pid's start time no longer
#    matches, are dropped with their port, pinholes and key; the session
#    roams again afterwards;
#  - SIGQUIT then start: the same;
#  - SIGHUP with a new idle_timeout and per-user quota: applied (set
#    timeout, a refused announcement), sessions kept; SIGHUP with a broken
#    file: refused with file:line, daemon and sessions unchanged;
#  - SIGTERM keeps as SIGQUIT does (--keep-on-exit, still accepted,
#    changes nothing);
#  - the user exits: gone from state, keyring and table; --uninstall after
#    a stop: table, state file and keyring removed.
# MH_FAMILY=6 runs it over IPv6 (t_restart6.sh).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/mhkeys tests/mhstate
MHKEYS=$MH_BUILD/tests/mhkeys MHSTATE=$MH_BUILD/tests/mhstate
mh_setup
MH_IDLE=30 MH_HANDSHAKE=300
STATE=$MH_TMP/state
RING="mosh-helper:$MH_TABLE:net$MH_NETNS_INO"   # lib.sh purges it at the end
if [ "$MH_FAMILY" = 6 ]; then ROAM1=fd00:3::12 ROAM2=fd00:3::13; else ROAM1=198.18.3.12 ROAM2=198.18.3.13; fi

mh_start_daemon

ready_count() { grep -c 'ready: ports' "$MH_DAEMON_LOG"; }
resumed_count() { grep -c 'restart: resumed' "$MH_DAEMON_LOG"; }

# The daemon again, on the same configuration; waits for its "ready" line
# (the control socket and the table are there already).
start_again() { # [daemon options]
	local n vg
	n=$(ready_count)
	mapfile -t vg < <(mh_vg_prefix daemon)
	ip netns exec "$NS_S" "${vg[@]}" "$MH_BUILD/mosh-helperd" -c "$MH_CONF" -f "$@" \
		>>"$MH_DAEMON_LOG" 2>&1 &
	MH_DAEMON_PID=$!
	disown "$MH_DAEMON_PID"
	mh_wait $((MH_START_S + 5)) eval '[ "$(ready_count)" -gt '"$n"' ]' ||
		mh_fail "the restarted daemon did not get ready"
	mh_log "daemon started again, pid $MH_DAEMON_PID"
}

stop_daemon() { # SIGNAL
	kill -"$1" "$MH_DAEMON_PID" || mh_fail "kill -$1 daemon"
	mh_assert "the daemon (pid $MH_DAEMON_PID) is gone after SIG$1" \
		mh_wait $((MH_STOP_S + 10)) mh_pid_gone "$MH_DAEMON_PID"
	MH_DAEMON_PID=
	# its state keeper finishes what it was sent, then lets the lock go
	mh_assert "the state keeper has finished" \
		mh_wait $((MH_STOP_S + 10)) flock -n "$MH_TMP/state.lock" true
}

state_ports() { "$MHSTATE" show "$STATE" 2>/dev/null | awk '$1 == "session" {print $2}'; }
state_has() { state_ports | grep -qx "$1"; }
state_lacks() { "$MHSTATE" show "$STATE" >/dev/null 2>&1 && ! state_has "$1"; }
key_line() { "$MHKEYS" list "$RING" | awk -v d="$RING:$1" '$1 == "key" && $4 == d'; }
has_key() { [ -n "$(key_line "$1")" ]; }
no_key() { [ -z "$(key_line "$1")" ]; }
ring_gone() { [ -z "$("$MHKEYS" list "$RING")" ]; }
set_timeout() { mh_nft_set "pinholes$MH_FAMILY" | awk '$1 == "timeout" {print $2}'; }

mh_step "restart: a live session; its key in the keyring, the rest in the state file"
mh_live_session mhtest1 c1
port=$MH_PORT key=$MH_KEY ph1=$MH_PH
mh_assert "the state file lists port $port" mh_wait 5 state_has "$port"
mh_assert_eq "state file mode and owner" "600 root" "$(stat -c '%a %U' "$STATE")"
mh_assert_not "the session key ($key) is not in the state file" grep -q -F "$key" "$STATE"
hexkey=$(printf '%s==' "$key" | base64 -d 2>/dev/null | od -An -tx1 | tr -d ' \n')
mh_assert_not "nor its 16 bytes in hex" grep -q -i -F "$hexkey" "$STATE"
mh_assert_not "the state file is plain printable text (no raw bytes)" \
	env LC_ALL=C grep -q '[^[:print:]]' "$STATE"
mh_assert "the keyring holds a key for port $port" has_key "$port"
kline=$(key_line "$port")
mh_log "keyring: $("$MHKEYS" list "$RING" | head -n1); $kline"
mh_assert_eq "key permissions: possessor all, root view only, nobody else" \
	3f010000 "$(echo "$kline" | awk '{print $3}')"
mh_assert_eq "keyring permissions: possessor all, root view/read/write/search/link" \
	3f1f0000 "$("$MHKEYS" list "$RING" | awk '$1 == "ring" {print $3}')"
mh_assert_not "another user cannot read the key" \
	runuser -u mhtest2 -- "$MHKEYS" read "$(echo "$kline" | awk '{print $2}')"
mh_assert_not "the key is in no log" grep -q -F "$key" "$MH_DAEMON_LOG" "$MH_TMP/audit.log"

mh_step "restart: two more sessions (one to lose its mosh-server, one its identity)"
mh_live_session mhtest2 c2
port2=$MH_PORT spid2=$MH_SPID
mh_session mhtest1
port3=$MH_PORT
mh_assert "the state file lists ports $port2 and $port3" \
	mh_wait 5 eval "state_has $port2 && state_has $port3"

mh_step "restart: SIGKILL the daemon mid-session"
stop_daemon KILL
mh_assert "the table is still there" mh_table_exists
mh_assert "its sessions set still holds port $port" mh_has_session "$port"
mh_assert "the keyring still holds the key for port $port" has_key "$port"
mh_assert "typed text still comes back through the pinhole while the daemon is down" \
	mh_roundtrip c1 20
kill -KILL "$spid2" && mh_log "mosh-server of port $port2 (pid $spid2) killed while the daemon is down"
mh_assert "it is gone" mh_wait 5 mh_server_gone "$spid2"
"$MHSTATE" set-start "$STATE" "$port3" 12345 || mh_fail "mhstate set-start"
mh_log "state file: port $port3 now records another start time (as if its pid had been reused)"

mh_step "restart: while down, the client roams and does not get in"
mh_roam_addr "$ROAM1"
new_addr=$(mh_snat_addr)
sleep 1
mh_assert "UDP deliveries in the server ns are quiet" mh_wait 10 mh_udp_quiet
before=$(mh_udp_in)
mh_tcpdump "$NS_S" "$MH_TMP/down.pcap" "udp and src host $new_addr"
cap=$MH_TCPDUMP_PID
a=$((RANDOM % 9000 + 1000))
mh_type c1 "echo R-\$(($a+1))-R"
sleep 8
mh_tcpdump_stop "$cap"
arrived=$(mh_pcap_count "$MH_TMP/down.pcap")
mh_log "$arrived datagrams from the roamed client reached the server's interface"
mh_assert "the roamed client's datagrams did arrive" test "$arrived" -gt 0
mh_assert_eq "none was delivered to a socket" "$before" "$(mh_udp_in)"
mh_assert_not "the typed text did not come back" mh_screen_has c1 "R-$((a + 1))-R"
mh_assert "no pinhole for the new address $new_addr" \
	test -z "$(mh_pinholes | awk -v a="$new_addr" '$1 == a')"

mh_step "restart: start the daemon again"
start_again
mh_assert "the log says the session on port $port was resumed" \
	mh_daemon_log_has "session [0-9]+ port $port resumed"
mh_assert "the session on port $port2 was not (its mosh-server is gone)" \
	mh_daemon_log_has "port $port2 not resumed: mosh-server pid $spid2 (is gone|has exited)"
mh_assert "the session on port $port3 was not (its pid is another process now)" \
	mh_daemon_log_has "port $port3 not resumed: pid [0-9]+ now belongs to another process"
mh_assert "the log counts them" mh_daemon_log_has "restart: resumed 1 of 3 session"
mh_assert "the roamed client's typed text comes back" mh_wait_screen c1 "R-$((a + 1))-R" 40
mh_assert "a pinhole for the new address $new_addr appears" \
	mh_wait 10 mh_any_pinhole "$new_addr" "$(mh_snat_ports)" "$port"
mh_assert "port $port is in the sessions set" mh_has_session "$port"
for p in "$port2" "$port3"; do
	mh_assert "port $p left the sessions set" mh_no_session "$p"
	mh_assert "no pinhole for port $p is left" mh_no_pinholes_for_port "$p"
	mh_assert "no key for port $p is left" no_key "$p"
	mh_assert "the state file no longer lists port $p" mh_wait 5 state_lacks "$p"
done
mh_assert "the key for port $port is still there" has_key "$port"

mh_step "restart: the resumed session roams again"
mh_roam_port 42000-42099
mh_assert "typed text comes back after the port change" mh_roundtrip c1 30
mh_assert "a pinhole from $new_addr ports 42000-42099 appears" \
	mh_wait 10 mh_any_pinhole "$new_addr" 42000-42099 "$port"

mh_step "restart: SIGQUIT keeps table, state and keys; start again"
n=$(resumed_count)
stop_daemon QUIT
mh_assert "the log says what was kept" mh_daemon_log_has "stopped; table inet $MH_TABLE, session state and keys kept"
mh_assert "the table is still there" mh_table_exists
mh_assert "port $port is still in the sessions set" mh_has_session "$port"
mh_assert "the state file still lists port $port" state_has "$port"
mh_assert "the keyring still holds its key" has_key "$port"
mh_assert "typed text comes back while the daemon is down" mh_roundtrip c1 20
start_again
mh_assert "the session was resumed" mh_daemon_log_has "restart: resumed 1 of 1 session"
mh_assert_eq "resume lines in the log" $((n + 1)) "$(resumed_count)"
mh_assert "typed text comes back" mh_roundtrip c1 20
mh_roam_addr "$ROAM2"
mh_assert "after a roam, typed text comes back" mh_roundtrip c1 30
mh_assert "a pinhole for $ROAM2 appears" \
	mh_wait 10 mh_any_pinhole "$ROAM2" 42000-42099 "$port"

mh_step "restart: SIGHUP with a new idle_timeout and per-user quota"
pid=$MH_DAEMON_PID
mh_assert_eq "pinhole set timeout before" 30s "$(set_timeout)"
sed -i 's/^idle_timeout = .*/idle_timeout = 45;/' "$MH_CONF"
echo 'max_sessions_per_user = 1;' >>"$MH_CONF"
kill -HUP "$pid"
mh_assert "the log says the table was rebuilt with the sessions kept" mh_wait 5 \
	mh_daemon_log_has "SIGHUP: applied idle_timeout,max_sessions_per_user \(table rebuilt in place\); 1 session\(s\) kept"
mh_assert "it names the changes" mh_daemon_log_has "SIGHUP: idle_timeout: 30 -> 45"
mh_assert "both of them" mh_daemon_log_has "SIGHUP: max_sessions_per_user: 20 -> 1"
mh_assert_eq "pinhole set timeout after" 45s "$(set_timeout)"
mh_assert "the same daemon still runs" kill -0 "$pid"
mh_assert "port $port is still in the sessions set" mh_has_session "$port"
mh_assert "its pinhole is still there" mh_any_pinhole "$ROAM2" 42000-42099 "$port"
mh_assert "typed text comes back" mh_roundtrip c1 20
mh_assert_not "the new quota holds: a second session of mhtest1 is refused" mh_session_try mhtest1
mh_assert "for that reason" grep -q "max_sessions_per_user" "$MH_HOOK_ERR"

mh_step "restart: SIGHUP with a broken file"
cp "$MH_CONF" "$MH_TMP/good.conf"
sed -i 's/^idle_timeout = .*/idle_timeout = 60;/' "$MH_CONF"
echo 'frobnicate = 1;' >>"$MH_CONF"
bad_line=$(wc -l <"$MH_CONF")
kill -HUP "$pid"
mh_assert "refused with file and line" \
	mh_wait 5 mh_daemon_log_has "configuration refused: $MH_CONF:$bad_line: unknown setting 'frobnicate'"
mh_assert "the daemon still runs" kill -0 "$pid"
mh_assert_eq "pinhole set timeout unchanged" 45s "$(set_timeout)"
mh_assert "port $port is still in the sessions set" mh_has_session "$port"
mh_assert "typed text comes back" mh_roundtrip c1 20
cp "$MH_TMP/good.conf" "$MH_CONF"

mh_step "restart: the user exits"
mh_type c1 exit
mh_assert "port $port leaves the sessions set" mh_wait 20 mh_no_session "$port"
mh_assert "no pinhole for port $port is left" mh_no_pinholes_for_port "$port"
mh_assert "the state file no longer lists it" mh_wait 5 state_lacks "$port"
mh_assert "its key left the keyring" mh_wait 5 no_key "$port"

mh_step "restart: SIGTERM keeps as SIGQUIT does (--keep-on-exit changes nothing)"
mh_session mhtest1
port4=$MH_PORT
mh_assert "a new session's key is in the keyring" mh_wait 5 has_key "$port4"
n=$(grep -c -E "session [0-9]+ port $port4 resumed" "$MH_DAEMON_LOG")
stop_daemon TERM
mh_assert "SIGTERM kept the table" mh_table_exists
mh_assert "and the session" mh_has_session "$port4"
mh_assert "and its key" has_key "$port4"
start_again --keep-on-exit
mh_assert "which the next start resumes" \
	test "$(grep -c -E "session [0-9]+ port $port4 resumed" "$MH_DAEMON_LOG")" -gt "$n"

mh_step "restart: --uninstall after a stop removes table, state file and keyring"
stop_daemon TERM
mh_assert "the stop kept the table" mh_table_exists
mh_assert "and the state file" test -e "$STATE"
mh_assert "--uninstall succeeds" \
	ip netns exec "$NS_S" "$MH_BUILD/mosh-helperd" -c "$MH_CONF" --uninstall
mh_assert "the table is gone" eval '! mh_table_exists'
mh_assert "the state file is gone" test ! -e "$STATE"
mh_assert "the keyring is gone" ring_gone

mh_pass "restart without losing sessions"
