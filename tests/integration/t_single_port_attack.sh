#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Single-port mode under attack (issue 4): garbage, forged headers, replays
# of two live sessions' datagrams from another address (both directions:
# client datagrams re-sent, server datagrams reflected) at the public port
# never leave a mapping or a pinhole for the attacker, nothing comes back
# to it, and both sessions keep working.
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/udptool
mh_setup
PUB=60000
MH_IDLE=30
mh_start_daemon "single_port = { enable = true; port = $PUB; };"

maps_and_pinholes() { # "FAMILY-SET addr ..." lines of every map and set
	local m
	for m in mux4 muxp4 mux6 muxp6; do
		mh_nsx "$NS_S" nft list map inet "$MH_TABLE" "$m" 2>/dev/null | tr '\n' ' ' |
			sed -n 's/.*elements = {\([^}]*\)}.*/\1/p' | tr ',' '\n' |
			awk -v m="$m" 'NF >= 3 { print m, $1, $3 }'
	done
	mh_pinholes 4 | sed 's/^/pinholes4 /'
	mh_pinholes 6 | sed 's/^/pinholes6 /'
}

mh_step "attack: two live sessions through port $PUB, captured on the server"
mh_tcpdump "$NS_S" "$MH_TMP/live.pcap" "udp port $PUB"
cap=$MH_TCPDUMP_PID
mh_session mhtest1
mh_client_start c1 "$PUB" "$MH_KEY"
mh_session mhtest2
mh_client_start c2 "$PUB" "$MH_KEY"
for i in 1 2 3; do
	mh_assert "c1 round trip $i" mh_roundtrip c1 20
	mh_assert "c2 round trip $i" mh_roundtrip c2 20
done
mh_signal_client STOP c1
mh_signal_client STOP c2
sleep 1
mh_tcpdump_stop "$cap"
mh_log "captured $(mh_pcap_count "$MH_TMP/live.pcap") datagrams of the two sessions"

mh_step "attack: garbage, forgeries and replays at the public port"
(
	end=$((SECONDS + 60))
	while [ $SECONDS -lt $end ]; do maps_and_pinholes; sleep 0.1; done
) >"$MH_TMP/watch" 2>/dev/null &
watch=$!
MH_PIDS+=("$watch")
mh_tcpdump "$NS_A" "$MH_TMP/back.pcap" "(ip src $SRV4) or (ip6 src $SRV6)"
back=$MH_TCPDUMP_PID
for dst in "$SRV4" "$SRV6"; do
	mh_udptool "$NS_A" send "$dst" "$PUB" --garbage 300 || mh_fail udptool
	mh_udptool "$NS_A" send "$dst" "$PUB" --forged 300 || mh_fail udptool
	mh_udptool "$NS_A" replay "$dst" "$PUB" "$MH_TMP/live.pcap" || mh_fail udptool
done
sleep 3
kill "$watch" 2>/dev/null
mh_tcpdump_stop "$back"
mh_log "map and set snapshots: $(wc -l <"$MH_TMP/watch") lines; attacker lines:"
grep -E " ($ATK4|$ATK6) " "$MH_TMP/watch" | sort -u | head -5
mh_assert_eq "no mapping or pinhole for the attacker in any snapshot" 0 \
	"$(grep -cE " ($ATK4|$ATK6) " "$MH_TMP/watch")"
mh_assert_eq "nothing came back to the attacker (no reply, no ICMP)" 0 \
	"$(mh_pcap_count "$MH_TMP/back.pcap")"
mh_log "daemon decisions on the public port: $(grep -o 'drop [^ ]* -> [^ ]*:'$PUB': [a-z_]*' "$MH_DAEMON_LOG" | awk '{print $NF}' | sort | uniq -c | tr -s ' \n' ' ')"
mh_log "transient provisional mappings for the attacker (deleted after the verdict): $(grep -c "$ATK4\|$ATK6" "$MH_TMP/audit.log" | head -1)"

mh_step "attack: both sessions keep working"
mh_signal_client CONT c1
mh_signal_client CONT c2
mh_assert "c1 works" mh_roundtrip c1 20
mh_assert "c2 works" mh_roundtrip c2 20

mh_pass "single port under attack"
