#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The range stays closed when no daemon runs (issue 10, items 3 and 4),
# under an admin policy that accepts the mosh range (policy drop, then
# `udp dport 60000-61000 accept`), with the real mosh:
#  - SIGTERM: the table stays; an attacker's probes (IPv4 and IPv6, several
#    per port) to a listener on a non-session range port and to the
#    session's port deliver 0 datagrams; the live session types on while
#    no daemon runs, and the next start adopts the table and resumes it;
#  - --uninstall: refused while a daemon runs; after a stop it removes the
#    table, the state file and the keyring;
#  - --guard alone: the range closed (0 delivered), no daemon left running,
#    a second --guard leaves the table alone; the daemon then takes the
#    table over and a new session works;
#  - a broken configuration: the daemon refuses with file:line and reason,
#    and the range stays closed; so does a start that fails after the
#    table is in place; --guard with that file still closes the built-in
#    range and reports the failure.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/udptool tests/mhkeys
MHKEYS=$MH_BUILD/tests/mhkeys
mh_setup
MH_IDLE=30
LPORT=60990          # a listener on a range port no session uses
STATE=$MH_TMP/state
RING="mosh-helper:$MH_TABLE:net$MH_NETNS_INO"   # lib.sh purges it at the end

mh_step "the admin's own policy: drop by default, the mosh range accepted"
mh_nsx "$NS_S" nft -f - <<'EOF' || mh_fail "admin table"
table inet admin {
	chain input {
		type filter hook input priority filter; policy drop;
		iif lo accept
		meta l4proto { icmp, ipv6-icmp } accept
		udp dport 60000-61000 accept
	}
}
EOF

daemon_pids() { # mosh-helperd processes in the server namespace
	local p
	for p in $(ip netns pids "$NS_S" 2>/dev/null); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = mosh-helperd ] && echo "$p"
	done
}
no_daemon() { [ -z "$(daemon_pids)" ]; }
ring_gone() { [ -z "$("$MHKEYS" list "$RING" 2>/dev/null)" ]; }
# UDP datagrams that got past every firewall table of the server namespace
# (delivered to a socket, or to a port without one), IPv4 + IPv6.
udp_reached() {
	local v4 v6
	v4=$(mh_nsx "$NS_S" cat /proc/net/snmp | awk '$1 == "Udp:" {
		if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1; next }
		print $c["InDatagrams"] + $c["NoPorts"] + $c["InErrors"]; exit }')
	v6=$(mh_nsx "$NS_S" cat /proc/net/snmp6 |
		awk '$1 ~ /^Udp6(InDatagrams|NoPorts|InErrors)$/ { n += $2 } END { print n + 0 }')
	echo $((v4 + v6))
}
helperd() { ip netns exec "$NS_S" "$MH_BUILD/mosh-helperd" "$@"; }

start_again() { # the daemon on $MH_CONF; waits for a new "ready" line
	local n
	n=$(grep -c 'ready: ports' "$MH_DAEMON_LOG" 2>/dev/null)
	ip netns exec "$NS_S" "$MH_BUILD/mosh-helperd" -c "$MH_CONF" -f >>"$MH_DAEMON_LOG" 2>&1 &
	MH_DAEMON_PID=$!
	disown "$MH_DAEMON_PID"
	mh_wait $((MH_START_S + 5)) eval '[ "$(grep -c "ready: ports" "$MH_DAEMON_LOG")" -gt '"${n:-0}"' ]' ||
		mh_fail "the daemon did not get ready"
	mh_log "daemon started again, pid $MH_DAEMON_PID"
}

term_daemon() {
	kill -TERM "$MH_DAEMON_PID" || mh_fail "kill -TERM daemon"
	mh_assert "SIGTERM stops the daemon" mh_wait $((MH_STOP_S + 10)) mh_pid_gone "$MH_DAEMON_PID"
	MH_DAEMON_PID=
	mh_assert "its state keeper has finished" \
		mh_wait $((MH_STOP_S + 10)) flock -n "$MH_TMP/state.lock" true
}

# send_probes WHAT PORT...: a listener on $LPORT; the attacker sends 5
# garbage datagrams (2 ms apart) per port and family to $LPORT and each
# PORT. Nothing else reaches the server meanwhile (clients stopped or
# absent). Sets PASSED (the server's UDP input counters' rise: datagrams
# that got past every firewall table) and GOT (the listener's count).
send_probes() {
	local what=$1; shift
	local out=$MH_TMP/listen.$RANDOM before after p dst
	mh_ns_bg "$NS_S" "$out" "$MH_UDPTOOL" listen "$LPORT" 4
	local lpid=$MH_BG_PID
	mh_wait 5 grep -qs listening "$out.err" || mh_fail "the listener did not start"
	before=$(udp_reached)
	for p in "$LPORT" "$@"; do
		for dst in "$SRV4" "$SRV6"; do
			mh_nsx "$NS_A" "$MH_UDPTOOL" send "$dst" "$p" --garbage 5 --interval-us 2000 \
				>/dev/null 2>&1 || mh_fail "udptool send $dst $p"
		done
	done
	sleep 0.5
	after=$(udp_reached)
	mh_wait 6 mh_pid_gone "$lpid"
	PASSED=$((after - before)) GOT=$(tail -n1 "$out")
	mh_log "$what: sent $((2 * 5 * ($# + 1))) probes to ports $LPORT $*; past the firewall $PASSED, listener got '$GOT'"
}

probe() { # WHAT PORT...: the range is closed (both checks reported)
	send_probes "$@"
	mh_check_eq "$1: probes that got past the firewall (UDP InDatagrams + NoPorts + InErrors)" \
		0 "$PASSED"
	mh_check_eq "$1: probes the listener on port $LPORT got" 0 "$GOT"
}

mh_step "1. a live session, then SIGTERM"
mh_start_daemon
mh_live_session mhtest1 c1
port=$MH_PORT
term_daemon
mh_assert "the live session types on while no daemon runs" mh_roundtrip c1 20
# (stopped for more than 10 s without a round trip, mosh-client would hop
# to a new source port, which only a running daemon lets in)
mh_signal_client STOP c1
probe "after SIGTERM" "$port" 60500
mh_signal_client CONT c1
mh_assert "the table inet $MH_TABLE is still there after SIGTERM" mh_table_exists
mh_assert "port $port is still in its sessions set" mh_has_session "$port"
mh_assert "the daemon's log says the range stays closed" mh_daemon_log_has "the range stays closed"

mh_step "2. the next start adopts the table and resumes the session"
start_again
mh_assert "the table was adopted" mh_daemon_log_has "table inet $MH_TABLE adopted"
mh_assert "the session was resumed" mh_daemon_log_has "session [0-9]+ port $port resumed"
mh_assert "the session carries on typing" mh_roundtrip c1 20

mh_step "3. --uninstall is refused while the daemon runs"
rc=0
helperd -c "$MH_CONF" --uninstall >"$MH_TMP/un1.out" 2>&1 || rc=$?
sed 's/^/   | /' "$MH_TMP/un1.out"
mh_assert_eq "--uninstall exit status with a daemon running" 1 "$rc"
mh_assert "it says why" grep -q "a daemon answers on $MH_TMP/control.sock: stop it first" "$MH_TMP/un1.out"
mh_assert "the table is still there" mh_table_exists
mh_assert "the daemon still runs" kill -0 "$MH_DAEMON_PID"

mh_step "4. --uninstall after a stop removes table, state and keys"
term_daemon
mh_assert "the stop kept the state file" test -e "$STATE"
mh_assert_not "and the keyring" ring_gone
rc=0
helperd -c "$MH_CONF" --uninstall >"$MH_TMP/un2.out" 2>&1 || rc=$?
sed 's/^/   | /' "$MH_TMP/un2.out"
mh_assert_eq "--uninstall exit status" 0 "$rc"
mh_assert "the table is gone" eval '! mh_table_exists'
mh_assert "the state file is gone" test ! -e "$STATE"
mh_assert "the keyring is gone" ring_gone
mh_tmux kill-session -t c1 2>/dev/null
kill -TERM "$MH_SPID" 2>/dev/null
send_probes "no table (the probe's own check)" 60500
mh_assert_eq "without the table the admin's policy lets the listener get all 10" 10 "$GOT"
rc=0
helperd -c "$MH_CONF" --uninstall >"$MH_TMP/un3.out" 2>&1 || rc=$?
mh_assert_eq "a second --uninstall finds nothing and succeeds" 0 "$rc"
mh_assert "saying so" grep -q "no table inet $MH_TABLE: nothing to remove" "$MH_TMP/un3.out"

mh_step "5. --guard alone closes the range, with no daemon running"
rc=0
helperd -c "$MH_CONF" --guard >"$MH_TMP/guard1.out" 2>&1 || rc=$?
sed 's/^/   | /' "$MH_TMP/guard1.out"
mh_assert_eq "--guard exit status" 0 "$rc"
mh_assert "the table is there" mh_table_exists
mh_assert "no daemon process runs in the server namespace" no_daemon
mh_assert "with no session port" test -z "$(mh_sessions)"
probe "--guard alone" 60001 60500
h1=$(mh_nsx "$NS_S" nft -a list table inet "$MH_TABLE" 2>/dev/null | md5sum)
rc=0
helperd -c "$MH_CONF" --guard >"$MH_TMP/guard2.out" 2>&1 || rc=$?
mh_assert_eq "a second --guard exits 0" 0 "$rc"
mh_assert "and leaves the table alone" grep -q "already there: left as it is" "$MH_TMP/guard2.out"
mh_assert_eq "the table is unchanged (rules and handles)" "$h1" \
	"$(mh_nsx "$NS_S" nft -a list table inet "$MH_TABLE" 2>/dev/null | md5sum)"

mh_step "6. the daemon takes the guard's table over (no state file)"
mh_assert "no state file is left" test ! -e "$STATE"
start_again
mh_assert "it takes the table over, saying so" \
	mh_daemon_log_has "table inet $MH_TABLE exists, with no session: taken over"
mh_live_session mhtest2 c2
port2=$MH_PORT

mh_step "7. a broken configuration: the daemon refuses, the range stays closed"
term_daemon
mh_signal_client STOP c2
cp "$MH_CONF" "$MH_TMP/good.conf"
echo 'frobnicate = 1;' >>"$MH_CONF"
bad_line=$(wc -l <"$MH_CONF")
rc=0
timeout 20 ip netns exec "$NS_S" "$MH_BUILD/mosh-helperd" -c "$MH_CONF" -f >"$MH_TMP/bad.out" 2>&1 || rc=$?
sed 's/^/   | /' "$MH_TMP/bad.out"
mh_assert_eq "the daemon exits with status 1" 1 "$rc"
mh_assert "with file, line and reason" \
	grep -q "$MH_CONF:$bad_line: unknown setting 'frobnicate'" "$MH_TMP/bad.out"
mh_assert "no daemon process runs" no_daemon
mh_assert "the table is still there" mh_table_exists
probe "broken configuration" "$port2" 60500

mh_step "7b. a start that fails after the table is in place (control socket unusable)"
: >"$MH_TMP/afile"
sed "s|^control_socket = .*|control_socket = \"$MH_TMP/afile/control.sock\";|" \
	"$MH_TMP/good.conf" >"$MH_TMP/nosock.conf"
rc=0
timeout 30 ip netns exec "$NS_S" "$MH_BUILD/mosh-helperd" -c "$MH_TMP/nosock.conf" -f \
	>"$MH_TMP/nosock.out" 2>&1 || rc=$?
grep -E 'error|fatal' "$MH_TMP/nosock.out" | sed 's/^/   | /'
mh_assert_eq "the daemon exits with status 1" 1 "$rc"
mh_assert "saying why" grep -q "control socket $MH_TMP/afile/control.sock" "$MH_TMP/nosock.out"
mh_assert "no daemon process runs" no_daemon
mh_assert "the table is still there (the one probed above)" mh_table_exists

mh_step "8. --guard with the broken file, no table: the built-in range closed all the same"
rc=0
helperd -c "$MH_TMP/good.conf" --uninstall >/dev/null 2>&1 || rc=$?
mh_assert_eq "--uninstall (the good file) exit status" 0 "$rc"
mh_assert "the table is gone" eval '! mh_table_exists'
rc=0
helperd -c "$MH_CONF" --guard >"$MH_TMP/guard3.out" 2>&1 || rc=$?
sed 's/^/   | /' "$MH_TMP/guard3.out"
mh_assert_eq "--guard reports the broken file (exit 1)" 1 "$rc"
mh_assert "naming it" grep -q "$MH_CONF:$bad_line: unknown setting 'frobnicate'" "$MH_TMP/guard3.out"
mh_assert "the table is there" mh_table_exists
probe "--guard, broken configuration" "$port2" 60500
cp "$MH_TMP/good.conf" "$MH_CONF"

mh_pass "the range stays closed: stop, guard, broken configuration, uninstall"
