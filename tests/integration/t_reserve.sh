#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Strict anti-reflection (issue 10 item 5), on the real kernel in the
# server namespace, whose ephemeral range (32768-60999) overlaps mosh's as
# on a stock host: the daemon reserves the range in
# net.ipv4.ip_local_reserved_ports at start, merged with an admin's own
# ports; an ordinary user's socket on a non-session port of the range sends
# nothing to the attacker (IPv4 and IPv6; a port outside the range does, as
# a control); 2,000 port-0 sockets get no port of the range; DNS-style
# request/answer traffic from port-0 sockets to another namespace keeps
# working; the shipped contrib/60-mosh-helper.conf reserves the range; with
# /proc/sys read-only (ProtectKernelTunables) the daemon starts if the
# range is reserved and refuses to start, saying why, if not; with
# reserve_ports = false a warning names the overlap (none without one),
# and the opt-in local_flows lets the user's socket through (its
# documented trade-off) until a SIGHUP turns it off again (the table is
# rebuilt strict, the session kept).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/udpsend tests/ephemeral
UDPSEND=$MH_BUILD/tests/udpsend
EPH=$MH_BUILD/tests/ephemeral
RESERVED=/proc/sys/net/ipv4/ip_local_reserved_ports
EPHEMERAL=/proc/sys/net/ipv4/ip_local_port_range
mh_setup

reserved() { mh_nsx "$NS_S" cat "$RESERVED"; }
set_reserved() { mh_nsx "$NS_S" sh -c "printf '%s\n' '$1' >$RESERVED" || mh_fail "writing $RESERVED"; }
# the daemon log from line $1 on
log_since() { tail -n "+$1" "$MH_DAEMON_LOG" 2>/dev/null; }
log_lines() { if [ -f "${MH_DAEMON_LOG:-}" ]; then wc -l <"$MH_DAEMON_LOG"; else echo 0; fi; }

# as_user USER command...: in the server namespace, as an ordinary user
as_user() { local u=$1; shift; mh_nsx "$NS_S" setpriv --reuid="$u" --regid="$u" --init-groups "$@"; }

# from_port PORT FAMILY: datagrams the attacker got from the server's PORT
from_port() {
	local a=$SRV4
	[ "$2" = 6 ] && a=$SRV6
	grep -c "^$a $1 " "$MH_TMP/atk.rx" 2>/dev/null
}

# user_sends PORT: mhtest2 sends 5 datagrams from PORT to the attacker,
# over IPv4 and over IPv6
user_sends() {
	as_user mhtest2 "$UDPSEND" send --from "$1" "$ATK4" 40000 5 10 >/dev/null 2>&1
	as_user mhtest2 "$UDPSEND" send --from "$1" "$ATK6" 40000 5 10 >/dev/null 2>&1
	sleep 0.5
}

# start_ro: the daemon with /proc/sys read-only, as systemd's
# ProtectKernelTunables=yes runs it (exec all the way: $! is the daemon)
start_ro() {
	MH_DAEMON_LOG=$MH_TMP/daemon.log
	ip netns exec "$NS_S" unshare -m sh -c \
		'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys &&
		 exec "$0" -c "$1" -f' "$MH_BUILD/mosh-helperd" "$MH_CONF" >>"$MH_DAEMON_LOG" 2>&1 &
	MH_DAEMON_PID=$!
	disown "$MH_DAEMON_PID"
}

mh_step "the server namespace as a stock host: the ephemeral range overlaps, an admin reserved 22,61005"
eph=$(mh_nsx "$NS_S" cat "$EPHEMERAL" | tr '\t' '-')
mh_log "ip_local_port_range $eph"
mh_assert "ip_local_port_range $eph overlaps 60000-61000" \
	test "${eph#*-}" -ge 60000
set_reserved "22,61005"

mh_step "start: the range is reserved, merged with what was there"
n=$(log_lines)
mh_start_daemon
# (checks that go on after a failure: a run against an older daemon shows
# every consequence below)
mh_check_eq "ip_local_reserved_ports" "22,60000-61000,61005" "$(reserved)"
log_since $((n + 1)) | grep -q "reserve_ports: reserved ports 60000-61000 .*was \"22,61005\", now \"22,60000-61000,61005\""
mh_check_eq "the log says what it reserved (grep status)" 0 $?

mh_step "a live session; an ordinary user's socket on a non-session port of the range sends to the attacker"
mh_session mhtest1
P=60777
[ "$MH_PORT" = "$P" ] && P=60778
mh_ns_bg "$NS_A" "$MH_TMP/atk.rx" "$UDPSEND" recv 40000 120000
mh_wait 5 grep -q ready "$MH_TMP/atk.rx" || mh_fail "attacker listener did not start"
user_sends "$P"
mh_check_eq "IPv4 datagrams from port $P (no session) at the attacker" 0 "$(from_port "$P" 4)"
mh_check_eq "IPv6 datagrams from port $P (no session) at the attacker" 0 "$(from_port "$P" 6)"
user_sends 50777
mh_check_eq "control: IPv4 from port 50777 (outside the range) at the attacker" 5 "$(from_port 50777 4)"
mh_check_eq "control: IPv6 from port 50777 at the attacker" 5 "$(from_port 50777 6)"

mh_step "2,000 UDP sockets bound to port 0 at once (IPv4 and IPv6): none in the range"
out=$(as_user mhtest1 "$EPH" bind 2000 60000 61000) || mh_fail "ephemeral bind: $out"
mh_log "$out"
mh_check_eq "sockets with a port in 60000-61000" 0 "$(echo "$out" | awk '{print $4}')"

mh_step "DNS-style traffic from port-0 sockets to a responder in another namespace"
mh_ns_bg "$NS_A" "$MH_TMP/echo.out" "$EPH" echo 5353 120
mh_wait 5 grep -q ready "$MH_TMP/echo.out" || mh_fail "responder did not start"
for a in "$ATK4" "$ATK6"; do
	out=$(mh_nsx "$NS_S" "$EPH" ask "$a" 5353 300) || mh_fail "ephemeral ask $a: $out"
	mh_log "$a: $out"
	mh_check_eq "requests to $a answered" "asked 300 answered 300" "$(echo "$out" | cut -d' ' -f1-4)"
done

mh_step "clean stop; the shipped contrib/60-mosh-helper.conf reserves the range"
mh_stop_daemon
set_reserved ""
mh_nsx "$NS_S" sysctl -q -p "$MH_SRC/contrib/60-mosh-helper.conf" || mh_fail "sysctl -p"
mh_assert_eq "ip_local_reserved_ports after sysctl -p" "60000-61000" "$(reserved)"

mh_step "read-only /proc/sys (ProtectKernelTunables): the daemon starts when the range is reserved"
start_ro
mh_wait "$MH_START_S" mh_daemon_ready || mh_fail "the daemon did not start with the range reserved"
mh_assert "the log says the range is reserved" mh_daemon_log_has \
	"reserve_ports: ports 60000-61000 are reserved"
mh_stop_daemon

mh_step "read-only /proc/sys, nothing reserved: the daemon refuses to start and says why"
set_reserved ""
n=$(log_lines)
start_ro
pid=$MH_DAEMON_PID
mh_wait "$MH_START_S" mh_pid_gone "$pid" || mh_fail "the daemon kept running without the reservation"
MH_DAEMON_PID=
log_since $((n + 1)) | sed 's/^/   daemon: /' | tail -n 3
mh_assert "the reason names the ports, the sysctl, the error and the remedy" eval \
	'log_since $((n + 1)) | grep -q "cannot reserve ports 60000-61000 .*ip_local_reserved_ports failed: Read-only file system; install contrib/60-mosh-helper.conf"'
mh_assert "no control socket" test ! -S "$MH_TMP/control.sock"
mh_assert_eq "nothing reserved" "" "$(reserved)"

mh_step "reserve_ports = false on a host whose ephemeral range overlaps: a warning names the overlap"
mh_write_conf "reserve_ports = false;"
n=$(log_lines)
mh_start_daemon
log_since $((n + 1)) | grep 'reserve_ports = false' | sed 's/^/   daemon: /'
mh_assert "the warning names ip_local_port_range, the range and the overlap" eval \
	'log_since $((n + 1)) | grep -q "reserve_ports = false: ip_local_port_range 32768-60999 overlaps ports 60000-61000 (60000-60999, not reserved"'
mh_assert "... and what it means with local_flows off" eval \
	'log_since $((n + 1)) | grep "reserve_ports = false:" | grep -q "drops their datagrams"'
mh_assert_eq "the daemon reserved nothing" "" "$(reserved)"
mh_stop_daemon

mh_step "control: no overlap (ip_local_port_range 32768 59999), no warning"
mh_nsx "$NS_S" sh -c "printf '32768 59999\n' >$EPHEMERAL" || mh_fail "writing $EPHEMERAL"
n=$(log_lines)
mh_start_daemon
mh_assert_not "no overlap warning" eval 'log_since $((n + 1)) | grep -q "overlaps ports"'
mh_stop_daemon
mh_nsx "$NS_S" sh -c "printf '32768 60999\n' >$EPHEMERAL"

mh_step "the opt-in: reserve_ports = false, local_flows = true: warned, and the user's socket gets through"
mh_write_conf "reserve_ports = false;" "local_flows = true;"
n=$(log_lines)
mh_start_daemon
mh_assert "the warning says what local_flows costs" eval \
	'log_since $((n + 1)) | grep "overlaps ports 60000-61000" | grep -q "local_flows lets any local socket"'
user_sends "$P"
mh_check_eq "IPv4 from port $P at the attacker (the trade-off)" 5 "$(from_port "$P" 4)"
mh_check_eq "IPv6 from port $P at the attacker" 5 "$(from_port "$P" 6)"

mh_step "SIGHUP with local_flows = false: the table is rebuilt strict, the session kept"
mh_session mhtest1
mh_write_conf "reserve_ports = false;" "local_flows = false;"
n=$(log_lines)
kill -HUP "$MH_DAEMON_PID"
mh_assert "the reload applied local_flows, rebuilding the table" mh_wait 10 eval \
	'log_since $((n + 1)) | grep -q "SIGHUP: applied .*local_flows.*table rebuilt in place"'
mh_assert_not "no local-flow set left" eval \
	'mh_nsx "$NS_S" nft list table inet "$MH_TABLE" 2>/dev/null | grep -q localflows'
mh_assert "the session's port is still in the sessions set" mh_has_session "$MH_PORT"
user_sends "$P"
mh_check_eq "IPv4 from port $P at the attacker: no more" 5 "$(from_port "$P" 4)"
mh_check_eq "IPv6 from port $P at the attacker: no more" 5 "$(from_port "$P" 6)"
mh_stop_daemon

mh_pass "t_reserve"
