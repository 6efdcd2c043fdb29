#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Acceptance g: the daemon killed with SIGKILL leaves its table in place and
# the range closed: datagrams from the attacker (garbage, forged, even
# authentic ones) reach no socket, a listener on a free port of the range
# receives nothing, and a roamed legit client gets no new pinhole.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/udptool
mh_setup
MH_IDLE=30
mh_start_daemon

mh_step "g: a live session"
mh_live_session mhtest1 c1
port=$MH_PORT key=$MH_KEY

mh_step "g: SIGKILL the daemon"
kill -KILL "$MH_DAEMON_PID"
mh_assert "the daemon is gone" mh_wait 5 mh_pid_gone "$MH_DAEMON_PID"
MH_DAEMON_PID=
mh_assert "the table inet $MH_TABLE is still there" mh_table_exists
mh_assert "its sessions set still holds port $port" mh_has_session "$port"

mh_step "g: the legit client roams (router changes its address)"
if [ "$MH_FAMILY" = 6 ]; then mh_roam_addr fd00:3::12; else mh_roam_addr 198.18.3.12; fi
new_addr=$(mh_snat_addr)
sleep 1   # datagrams in flight before the roam settle

mh_step "g: datagrams to the range from the attacker and the roamed client"
mh_assert "UDP deliveries in the server ns are quiet" mh_wait 10 mh_udp_quiet
before=$(mh_udp_in)
mh_tcpdump "$NS_S" "$MH_TMP/arrivals.pcap" "udp and dst portrange 60000-61000"
cap=$MH_TCPDUMP_PID
mh_ns_bg "$NS_S" "$MH_TMP/listen.out" "$MH_UDPTOOL" listen 60999 8
lpid=$MH_BG_PID
mh_assert "listener on port 60999 (in the range, no session) is up" \
	mh_wait 5 grep -qs listening "$MH_TMP/listen.out.err"
for dst in "$SRV4" "$SRV6"; do
	for p in "$port" 60999 60000; do
		mh_udptool "$NS_A" send "$dst" "$p" --garbage 50 || mh_fail "udptool"
		mh_udptool "$NS_A" send "$dst" "$p" --forged 50 || mh_fail "udptool"
	done
	mh_udptool "$NS_A" send "$dst" "$port" --sealed "$key" 1000000 20 || mh_fail "udptool"
	mh_udptool "$NS_A" send "$dst" 60999 --sealed "$key" 1000000 20 || mh_fail "udptool"
done
mh_log "the roamed client types"
a=$((RANDOM % 9000 + 1000))
mh_type c1 "echo G-\$(($a+1))-G"
mh_assert "the listener finishes" mh_wait 15 mh_pid_gone "$lpid"
after=$(mh_udp_in)
mh_tcpdump_stop "$cap"
from_atk=$(mh_pcap_count "$MH_TMP/arrivals.pcap" "src host $ATK4 or src host $ATK6")
from_cli=$(mh_pcap_count "$MH_TMP/arrivals.pcap" "src host $new_addr")
mh_log "arrived at the server's interface: $from_atk datagrams from the attacker, $from_cli from the roamed client"
mh_assert "the attacker's datagrams did arrive" test "$from_atk" -gt 500
mh_assert "the roamed client's datagrams did arrive" test "$from_cli" -gt 0
mh_assert_eq "datagrams received by the listener on port 60999" 0 "$(cat "$MH_TMP/listen.out")"
mh_assert_eq "UDP datagrams delivered to sockets in the server ns (before vs after)" "$before" "$after"
mh_assert_not "the roamed client's typed text never came back" mh_screen_has c1 "G-$((a + 1))-G"
mh_assert "no pinhole for the roamed client's new address $new_addr" \
	test -z "$(mh_pinholes | awk -v a="$new_addr" '$1 == a')"
mh_assert "no pinhole for the attacker" \
	test -z "$(mh_pinholes 4 | grep -F "$ATK4 ")$(mh_pinholes 6 | grep -F "$ATK6 ")"
mh_assert "the table is still there" mh_table_exists

mh_pass "acceptance g"
