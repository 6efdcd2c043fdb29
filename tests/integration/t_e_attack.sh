#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Acceptance e: from the attacker namespace, garbage, forged SSP headers and
# replays of a capture of the live session (taken in the server namespace,
# up to the client's last datagram). No garbage or forgery reaches
# mosh-server, no replay opens a pinhole, no ICMP port-unreachable leaves
# the server, mosh-server never sends to the attacker, and the legit session
# keeps working.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/udptool
mh_setup
MH_IDLE=30   # the legit pinhole outlives the attack; only the attack is tested
mh_start_daemon

mh_step "e: a live session, captured in the server namespace"
mh_tcpdump "$NS_S" "$MH_TMP/session.pcap" udp
cap=$MH_TCPDUMP_PID
mh_live_session mhtest1 c1
port=$MH_PORT
for i in 1 2 3; do
	mh_assert "round trip $i" mh_roundtrip c1 15
done
# Stop the client first so the capture holds its most recent datagrams.
mh_signal_client STOP c1
sleep 1
mh_tcpdump_stop "$cap"
n_to=$(mh_pcap_count "$MH_TMP/session.pcap" dst port "$port")
n_from=$(mh_pcap_count "$MH_TMP/session.pcap" src port "$port")
mh_log "capture: $n_to datagrams to port $port, $n_from from it"
mh_assert "the capture holds the session's datagrams" test "$n_to" -gt 3 -a "$n_from" -gt 3

mh_step "e: watchers: attacker interface, server ICMP, pinhole sets"
mh_tcpdump "$NS_A" "$MH_TMP/attacker.pcap" "(ip src $SRV4) or (ip6 src $SRV6)"
cap_a=$MH_TCPDUMP_PID
mh_tcpdump "$NS_S" "$MH_TMP/icmp.pcap" \
	"(icmp and icmp[icmptype] == icmp-unreach) or (icmp6 and icmp6[icmp6type] == icmp6-destinationunreach)"
cap_i=$MH_TCPDUMP_PID
mh_tcpdump "$NS_S" "$MH_TMP/arrivals.pcap" "(ip src $ATK4) or (ip6 src $ATK6)"
cap_r=$MH_TCPDUMP_PID
mh_watch_start "$MH_TMP/pinholes.watch" 120

mh_step "e: garbage and forged headers never reach mosh-server"
# With the client stopped nothing else arrives: wait for a quiet second.
mh_assert "UDP deliveries in the server ns are quiet" mh_wait 10 mh_udp_quiet
before=$(mh_udp_in)
for dst in "$SRV4" "$SRV6"; do
	mh_udptool "$NS_A" send "$dst" "$port" --garbage 300 || mh_fail "udptool"
	mh_udptool "$NS_A" send "$dst" "$port" --forged 300 || mh_fail "udptool"
	for p in 60000 60500 61000; do
		[ "$p" = "$port" ] && continue
		mh_udptool "$NS_A" send "$dst" "$p" --garbage 30 || mh_fail "udptool"
		mh_udptool "$NS_A" send "$dst" "$p" --forged 30 || mh_fail "udptool"
	done
done
sleep 1
after=$(mh_udp_in)
mh_check_eq "UDP datagrams delivered to sockets in the server ns (before vs after)" "$before" "$after"

mh_step "e: replays of the captured session"
# First towards the server's IPv6 address, where mosh-server (bound to
# $SRV4) has no socket: a replay the daemon let through there would make
# the kernel answer with an ICMPv6 port-unreachable.
mh_udptool "$NS_A" replay "$SRV6" "$port" "$MH_TMP/session.pcap" || mh_fail "udptool replay"
mh_udptool "$NS_A" replay "$SRV4" "$port" "$MH_TMP/session.pcap" || mh_fail "udptool replay"
mh_udptool "$NS_A" replay "$SRV4" "$port" "$MH_TMP/session.pcap" \
	--src-port "$(echo "$MH_PH" | awk '{print $2}')" || mh_fail "udptool replay"
mh_log "UDP datagrams delivered in the server ns during the replays: $(($(mh_udp_in) - after))" \
	"(authentic replays may reach mosh-server, which ignores them)"
# A candidate lives candidate_lifetime (10 s); mosh-server heartbeats every
# 3 s: give a wrongly opened pinhole every chance to show up.
sleep 4

mh_watch_stop
mh_tcpdump_stop "$cap_a"
mh_tcpdump_stop "$cap_i"
mh_tcpdump_stop "$cap_r"
arrived=$(mh_pcap_count "$MH_TMP/arrivals.pcap")
mh_log "$arrived datagrams from the attacker arrived at the server's interface"
mh_assert "the attack did reach the server's interface" test "$arrived" -gt 1000
mh_log "daemon drop reasons logged (rate limited): $(mh_daemon_drops | tr '\n' ',')"
atk_ph=$(grep -c -E "^[46] ($ATK4|$ATK6) " "$MH_TMP/pinholes.watch")
mh_log "pinhole snapshots taken: $(grep -c . "$MH_TMP/pinholes.watch") lines"
mh_check_eq "no pinhole for the attacker's addresses ever appeared" 0 "$atk_ph"
mh_log "what reached the attacker from the server:"
tcpdump -n -r "$MH_TMP/attacker.pcap" 2>/dev/null | head -n 5 | sed 's/^/   | /'
mh_check_eq "mosh-server never sent a datagram to the attacker" \
	0 "$(mh_pcap_count "$MH_TMP/attacker.pcap" udp)"
mh_check_eq "no ICMP reached the attacker from the server" \
	0 "$(mh_pcap_count "$MH_TMP/attacker.pcap" icmp or icmp6)"
mh_check_eq "no ICMP destination-unreachable left the server" \
	0 "$(mh_pcap_count "$MH_TMP/icmp.pcap")"
mh_check_eq "nothing else from the server reached the attacker" \
	0 "$(mh_pcap_count "$MH_TMP/attacker.pcap")"

mh_step "e: the legit session keeps working"
mh_signal_client CONT c1
mh_assert "typed text comes back after the attack" mh_roundtrip c1 20
mh_assert "the client has a pinhole for port $port" \
	mh_wait 5 mh_any_pinhole "$(mh_snat_addr)" "$(mh_snat_ports)" "$port"
mh_assert "port $port is still a session" mh_has_session "$port"

mh_pass "acceptance e"
