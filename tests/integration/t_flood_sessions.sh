#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# mh-test: alone
# Issue 11, finding 3: a flood at one session's port from many forged
# source addresses must not starve the other sessions' slow path. The
# attacker namespace sends garbage to session A's port from 4,096 spoofed
# addresses (198.19.128.0/17, routed to it by the router) at 20,000/s, far
# above the global slow-path rate (slow_path_rate = 25 here, 5 per session
# port): each forged source stays under its per-source budget, so only the
# per-session budgets can keep the flood from the share of the global rate
# that B's datagrams (within B's own budget) are queued from. Meanwhile session B, a real mosh
# session with mosh-client in tmux, roams three times (the router moves it
# to a new address, a new port, a new address) and types after each: its
# first datagrams from each new source must reach the queue (test counters
# before and after the helper's input chain: none of B's datagrams is
# refused), each roam completes within 10 s and B
# types again afterwards. Without per-session budgets (the code before
# them) the flood takes the whole global budget and B's datagrams are
# refused there (how many depends on the gaps a loaded machine leaves in
# the flood: a datagram that falls into one can still pass).
# IPv4 (the per-port budget is the same for both families). Needs root.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

GLOBAL=25 PER_SESSION=5 FLOOD_PPS=20000 FLOOD_S=60 SOURCES=4096 SPOOF_NET=198.19.128.0/17
mh_require_build mosh-helperd mosh-helper-hook tests/spoofsend
mh_setup
# the forged sources are routed to the attacker, so no reverse-path filter
# (the router's or the server's) drops them as martians
ip -n "$NS_R" route add "$SPOOF_NET" via "$ATK4" || mh_fail "route to the spoofed net"
# A low ceiling: the flood's gaps (a sender on a loaded machine is not
# always scheduled) leave the global bucket a token less often. Each
# session port gets a fifth of it. The key is written only for a daemon
# that knows it, so that this script also runs against a build from before
# the per-session budgets (where it must fail).
conf=("slow_path_rate = $GLOBAL;")
if "$MH_BUILD/mosh-helperd" -c /dev/null --check-config 2>/dev/null | grep -q '^slow_path_rate_per_session'; then
	conf+=("slow_path_rate_per_session = $PER_SESSION;")
fi
# A has no client: without a first datagram it would expire after
# handshake_timeout, and its port would leave @sessions mid-flood
MH_HANDSHAKE=600
mh_start_daemon "${conf[@]}"

now_ms() { date +%s%3N; }
# packets of the mosh_in rule whose comment contains TEXT (empty: none)
counter() {
	mh_nsx "$NS_S" nft list chain inet "$MH_TABLE" mosh_in 2>/dev/null |
		grep -F "$1" | sed -nE 's/.*counter packets ([0-9]+) .*/\1/p' | head -n1
}
OVER="session port over the slow-path rate"

mh_step "two sessions: A (the flood's target, no client needed) and B (live)"
mh_session mhtest1
port_a=$MH_PORT
mh_live_session mhtest2 b
port_b=$MH_PORT
[ "$port_a" != "$port_b" ] || mh_fail "both sessions on port $port_a"

# Observers of the test's own (the daemon's table is owned, and a table
# it cannot own it rebuilds on any foreign change): B's datagrams as they
# arrive (before the helper's input chain, priority filter - 10) and as
# they leave it accepted (after). What the helper refused of B's is the
# difference; an honest client's datagrams are never refused.
mh_nsx "$NS_S" nft -f - <<EOF || mh_fail "the observer table"
table inet mhtobs {
	chain pre {
		type filter hook input priority filter - 20; policy accept;
		ip saddr 198.18.3.0/24 udp dport $port_b counter comment "t: B arrived"
	}
	chain post {
		type filter hook input priority filter + 10; policy accept;
		ip saddr 198.18.3.0/24 udp dport $port_b counter comment "t: B let through"
	}
}
EOF

mh_step "flood at A's port $port_a: $SOURCES forged sources, $FLOOD_PPS/s, at most $FLOOD_S s"
# niced: on a loaded machine an ordinary sender waits its turn and leaves
# gaps in the flood long enough for the global bucket to refill
mh_ns_bg "$NS_A" "$MH_TMP/flood" nice -n -15 "$MH_BUILD/tests/spoofsend" "$SRV4" "$port_a" \
	--net "$SPOOF_NET" --sources $SOURCES --pps $FLOOD_PPS --seconds $FLOOD_S --count $((FLOOD_PPS * FLOOD_S))
flood_pid=$MH_BG_PID
mh_assert "the flood started" mh_wait 5 grep -q ready "$MH_TMP/flood"
sleep 2
mh_assert "the flood is running" kill -0 "$flood_pid"
n=$(mh_nsx "$NS_S" nft list set inet "$MH_TABLE" slowsrc4 2>/dev/null | grep -o -E '198\.19\.(1[2-9][0-9]|2[0-5][0-9])\.[0-9]+' | sort -u | wc -l)
mh_log "forged sources tracked in slowsrc4: $n"

mh_step "B roams three times (new address, new port, new address) and types while the flood goes on"
roams_ok=0 typed=0
for roam in "addr 198.18.3.11" "port 42000-42099" "addr 198.18.3.12"; do
	t0=$(now_ms)
	mh_roam_"${roam% *}" "${roam#* }"
	if mh_roundtrip b 10; then
		roams_ok=$((roams_ok + 1))
		mh_log "B's first round trip after the roam ($roam): $(($(now_ms) - t0)) ms"
		mh_roundtrip b 10 && typed=$((typed + 1))
	else
		mh_log "B's first round trip after the roam ($roam): none within 10 s"
	fi
	kill -0 "$flood_pid" 2>/dev/null || break
done
if kill -0 "$flood_pid" 2>/dev/null; then running=yes; else running=no; fi
mh_check_eq "the flood was still running after the last roam" yes "$running"
if mh_nsx "$NS_S" nft list set inet "$MH_TABLE" slowport_in 2>/dev/null |
	grep -q -E "\b$port_a limit rate "; then element=yes; else element=no; fi
# one listing for both counters: B's datagrams in flight between them are
# those of a pinhole (no queue): microseconds
tobs=$(mh_nsx "$NS_S" nft list table inet mhtobs 2>/dev/null)
arrived_b=$(grep -F "t: B arrived" <<<"$tobs" | sed -nE 's/.*counter packets ([0-9]+) .*/\1/p')
passed_b=$(grep -F "t: B let through" <<<"$tobs" | sed -nE 's/.*counter packets ([0-9]+) .*/\1/p')
refused_b=$(( ${arrived_b:-0} - ${passed_b:-0} ))
[ -n "$arrived_b" ] && [ -n "$passed_b" ] || refused_b=missing
refused_flood=$(counter "$OVER")
kill -TERM "$flood_pid" 2>/dev/null
mh_wait 5 mh_pid_gone "$flood_pid"
mh_log "flood: $(tail -n 1 "$MH_TMP/flood")"
mh_log "B's datagrams: ${arrived_b:-?} arrived, ${passed_b:-?} let through; over the global limit ($GLOBAL/s): ${refused_flood:-?}"
sent=$(sed -nE 's/^sent ([0-9]+) .*/\1/p' "$MH_TMP/flood")
mh_assert "B's datagrams were seen" test "${arrived_b:-0}" -gt 0
mh_check_eq "B's datagrams the helper refused" 0 "$refused_b"
mh_assert "the flood was far above the global limit (sent $sent in >= 2 s)" test "${sent:-0}" -ge $((GLOBAL * 20))
mh_check_eq "B's roams that got through within 10 s under the flood" 3 "$roams_ok"
mh_check_eq "B typed again after each" 3 "$typed"
mh_assert "B has a pinhole from its last address" mh_wait 5 mh_any_pinhole 198.18.3.12 "$(mh_snat_ports)" "$port_b"
mh_assert "the flood's excess was refused by the shared half of the global limit" test "${refused_flood:-0}" -ge $((GLOBAL * 100))
mh_check_eq "A's port had a budget element of its own during the flood" yes "$element"
mh_assert "port $port_a still has its session" mh_has_session "$port_a"

mh_pass "a spoofed flood at one session's port leaves the other sessions' roams alone"
