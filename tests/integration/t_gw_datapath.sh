#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The perimeter gateway's kernel datapath (issue 13), without the daemon:
# nfttool loads the gateway table in the forwarding gateway's namespace and
# adds its elements. Checks, IPv4 and IPv6: closed by default (probes from
# the attacker and from the client to range ports of both servers deliver
# 0 and bring back 0 ICMP unreachable); a session plus a pinhole for the
# client's exact 4-tuple passes UDP both ways for that client only; a
# server's range port sends 0 datagrams out to the attacker; a pinhole's
# timeout expires in the kernel; a client whose own port is in the range
# gets its replies (both directions share the forward hook); a session's
# unknown peer reaches the queue (both halves), with the accept mark, and
# an accept verdict delivers it.
# First, without the table, the same probes do arrive (the test can fail).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gwlib.sh"

mh_require_build tests/nfttool tests/udpsend tests/nfqcount
UDPSEND=$MH_BUILD/tests/udpsend
NFQCOUNT=$MH_BUILD/tests/nfqcount
MARK=0x10000000
gw_setup

send() { # ns from-port addr port [count]
	mh_nsx "$1" "$UDPSEND" send --from "$2" "$3" "$4" "${5:-1}" 5 || mh_fail "udpsend in $1"
}

recv_start() { # ns port file: a listener for 240 s at most
	mh_ns_bg "$1" "$3" "$UDPSEND" recv "$2" 240000
	mh_wait 5 grep -qx ready "$3" || mh_fail "listener on port $2 in $1 did not start"
}

lines_from() { grep -c "^$2 " "$1" || true; } # file addr: datagrams from addr

# Probes of every outside sender at range ports of both servers; $1 = tag.
probe_all() {
	local fam=$1 s1 s2 a
	if [ "$fam" = 6 ]; then s1=$SRV1_6 s2=$SRV2_6; else s1=$SRV1_4 s2=$SRV2_4; fi
	for a in "$NS_A" "$NS_C"; do
		send "$a" 50010 "$s1" 60001 5
		send "$a" 50010 "$s1" 60005 5   # no listener there: would bring ICMP
		send "$a" 50010 "$s2" 60002 5
		send "$a" 50010 "$s2" 60006 5
	done
	sleep 0.5
}

mh_step "listeners on server1 port 60001 and server2 port 60002 (v4 and v6)"
recv_start "$NS_S" 60001 "$MH_TMP/s1.out"
recv_start "$NS_S2" 60002 "$MH_TMP/s2.out"

mh_step "without the gateway table the range is open: probes arrive, unreachables come back"
a0=$(gw_udp_arrived "$NS_S") b0=$(gw_udp_arrived "$NS_S2") i0=$(gw_unreach_in "$NS_A")
probe_all 4
a1=$(gw_udp_arrived "$NS_S") b1=$(gw_udp_arrived "$NS_S2") i1=$(gw_unreach_in "$NS_A")
mh_assert "server1 receives the probes without the table ($((a1 - a0)))" [ $((a1 - a0)) -ge 20 ]
mh_assert "server2 receives the probes without the table ($((b1 - b0)))" [ $((b1 - b0)) -ge 20 ]
mh_assert "the attacker gets unreachables without the table ($((i1 - i0)))" [ $((i1 - i0)) -ge 1 ]

mh_step "gateway table loaded, no elements"
gw_nft gw-load --idle 60000 >"$MH_TMP/load.out" 2>&1 || mh_fail "gw-load: $(cat "$MH_TMP/load.out")"
mh_nsx "$NS_G" nft list table inet "$GW_TABLE" >"$MH_TMP/listing" 2>/dev/null
# as t_ruleset.sh: the listing equals the reference text, less its header,
# the flags line (nfttool loads none), handles and counter values
normalize() {
	sed -E -e '/^#/d' -e 's/ # handle [0-9]+//' -e 's/ # progname .*//' \
		-e '/^\tflags /{N;d}' -e 's/counter packets [0-9]+ bytes [0-9]+/counter/' \
		-e 's/[[:space:]]+$//' "$@"
}
normalize "$MH_TMP/listing" >"$MH_TMP/got"
normalize "$MH_SRC/nft/mosh_helper-gateway.nft" >"$MH_TMP/want"
if [ "$(gw_nft probe)" = native ]; then   # the reference shows the compat target
	sed -E -i 's/(\| 0x[0-9a-f]+) .*( comment ")/\1 \2/' "$MH_TMP/got" "$MH_TMP/want"
fi
mh_assert "the listing equals nft/mosh_helper-gateway.nft" diff -u "$MH_TMP/want" "$MH_TMP/got"
for fam in 4 6; do
	a0=$(gw_udp_arrived "$NS_S") b0=$(gw_udp_arrived "$NS_S2")
	i0=$(gw_unreach_in "$NS_A") c0=$(gw_unreach_in "$NS_C")
	d0=$(gw_rule_count gw_in "silent drop")
	probe_all "$fam"
	mh_check_eq "IPv$fam: probes delivered to server1" 0 $(($(gw_udp_arrived "$NS_S") - a0))
	mh_check_eq "IPv$fam: probes delivered to server2" 0 $(($(gw_udp_arrived "$NS_S2") - b0))
	mh_check_eq "IPv$fam: ICMP unreachables to the attacker" 0 $(($(gw_unreach_in "$NS_A") - i0))
	mh_check_eq "IPv$fam: ICMP unreachables to the client" 0 $(($(gw_unreach_in "$NS_C") - c0))
	mh_check_eq "IPv$fam: probes dropped by gw_in's last rule" 40 $(($(gw_rule_count gw_in "silent drop") - d0))
done

for fam in 4 6; do
	if [ "$fam" = 6 ]; then
		S1=$SRV1_6 S2=$SRV2_6 NAT=$NAT_6 ATK=fd00:2::2
	else
		S1=$SRV1_4 S2=$SRV2_4 NAT=$NAT_4 ATK=198.18.2.2
	fi
	CP=$((51000 + fam))

	mh_step "IPv$fam: session $S1 60001 and a pinhole for $NAT $CP -> $S1 60001"
	gw_nft gw-add-session "$S1" 60001 || mh_fail "gw-add-session"
	gw_nft gw-add-pinhole "$NAT" "$CP" "$S1" 60001 || mh_fail "gw-add-pinhole"
	recv_start "$NS_C" "$CP" "$MH_TMP/c$fam.out"
	n0=$(lines_from "$MH_TMP/s1.out" "$NAT")
	send "$NS_C" "$CP" "$S1" 60001 5
	mh_assert "IPv$fam: the pinholed client's 5 datagrams reach server1" \
		mh_wait 3 eval "[ \$((\$(lines_from $MH_TMP/s1.out $NAT) - $n0)) = 5 ]"
	send "$NS_S" 60001 "$NAT" "$CP" 5
	mh_assert "IPv$fam: server1's 5 replies reach the client through the NAT" \
		mh_wait 3 eval "[ \$(lines_from $MH_TMP/c$fam.out $S1) = 5 ]"

	mh_step "IPv$fam: a client whose own port is in the range (Linux's ephemeral ports reach 60999)"
	RP=$((60120 + fam))
	gw_nft gw-add-pinhole "$NAT" "$RP" "$S1" 60001 || mh_fail "gw-add-pinhole"
	recv_start "$NS_C" "$RP" "$MH_TMP/cr$fam.out"
	n0=$(lines_from "$MH_TMP/s1.out" "$NAT")
	send "$NS_C" "$RP" "$S1" 60001 3
	mh_assert "IPv$fam: its 3 datagrams from port $RP reach server1" \
		mh_wait 3 eval "[ \$((\$(lines_from $MH_TMP/s1.out $NAT) - $n0)) = 3 ]"
	send "$NS_S" 60001 "$NAT" "$RP" 3
	mh_assert "IPv$fam: server1's 3 replies to port $RP reach the client" \
		mh_wait 3 eval "[ \$(lines_from $MH_TMP/cr$fam.out $S1) = 3 ]"
	gw_nft gw-del-pinhole "$NAT" "$RP" "$S1" 60001 || mh_fail "gw-del-pinhole"

	mh_step "IPv$fam: only that 4-tuple: the client's other port, the attacker, server2"
	a0=$(gw_udp_arrived "$NS_S") b0=$(gw_udp_arrived "$NS_S2") i0=$(gw_unreach_in "$NS_A")
	send "$NS_C" $((CP + 10)) "$S1" 60001 5     # session port, other client port
	send "$NS_C" "$CP" "$S1" 60003 5            # same client port, other server port
	send "$NS_C" "$CP" "$S2" 60001 5            # same port number on server2
	send "$NS_A" "$CP" "$S1" 60001 5            # attacker, session port
	sleep 0.5
	mh_check_eq "IPv$fam: unpinholed datagrams delivered to server1" 0 $(($(gw_udp_arrived "$NS_S") - a0))
	mh_check_eq "IPv$fam: unpinholed datagrams delivered to server2" 0 $(($(gw_udp_arrived "$NS_S2") - b0))
	mh_check_eq "IPv$fam: ICMP unreachables to the attacker" 0 $(($(gw_unreach_in "$NS_A") - i0))

	mh_step "IPv$fam: anti-reflection: servers' range ports send nothing out to the attacker"
	mh_tcpdump "$NS_A" "$MH_TMP/refl$fam.pcap" udp
	cap=$MH_TCPDUMP_PID
	send "$NS_S" 60001 "$ATK" 40000 5      # session port, peer without a pinhole
	send "$NS_S" 60009 "$ATK" 40000 5      # range port without a session
	send "$NS_S2" 60002 "$ATK" 40000 5
	send "$NS_S" 60001 "$NAT" $((CP + 1)) 5   # the client's address, other port
	send "$NS_S" 60001 "$ATK" 60500 5      # to a range port: through gw_in to gw_out
	send "$NS_S" 60009 "$ATK" 60500 5
	sleep 0.5
	mh_tcpdump_stop "$cap"
	mh_check_eq "IPv$fam: datagrams from the servers' range ports at the attacker" 0 \
		"$(mh_pcap_count "$MH_TMP/refl$fam.pcap")"
	mh_check_eq "IPv$fam: the client got only the 5 pinholed replies" 5 "$(lines_from "$MH_TMP/c$fam.out" "$S1")"

	mh_step "IPv$fam: queue path: a session's unknown peer reaches NFQUEUE 0 (both halves)"
	mh_ns_bg "$NS_G" "$MH_TMP/q$fam.out" "$NFQCOUNT" 0 20 --max 2
	mh_wait 5 grep -qx ready "$MH_TMP/q$fam.out" || mh_fail "nfqcount did not start"
	mh_nsx "$NS_G" cat /proc/net/netfilter/nfnetlink_queue | sed 's/^/   nfnetlink_queue: /'
	send "$NS_A" 40001 "$S1" 60001 1
	send "$NS_S" 60001 "$ATK" 40001 1
	mh_wait 5 grep -q '^count' "$MH_TMP/q$fam.out"
	sed 's/^/   nfqcount: /' "$MH_TMP/q$fam.out"
	qa=$(grep -c -F "queued $( [ "$fam" = 6 ] && echo "[$ATK]" || echo "$ATK"):40001 > " "$MH_TMP/q$fam.out" || true)
	qs=$(grep -c -F "> $( [ "$fam" = 6 ] && echo "[$ATK]" || echo "$ATK"):40001 " "$MH_TMP/q$fam.out" || true)
	mh_check_eq "IPv$fam: the attacker's datagram to the session port was queued" 1 "$qa"
	mh_check_eq "IPv$fam: server1's first reply to a new peer was queued" 2 "$((qa + qs))"
	mh_check_eq "IPv$fam: queued datagrams carry the accept mark" 2 "$(grep -c "mark $MARK" "$MH_TMP/q$fam.out" || true)"

	mh_step "IPv$fam: an accept verdict delivers the queued datagram (the daemon's authenticated half)"
	mh_ns_bg "$NS_G" "$MH_TMP/qa$fam.out" "$NFQCOUNT" 0 20 --max 1 --accept
	mh_wait 5 grep -qx ready "$MH_TMP/qa$fam.out" || mh_fail "nfqcount did not start"
	n0=$(lines_from "$MH_TMP/s1.out" "$ATK")
	send "$NS_A" 40002 "$S1" 60001 1
	mh_assert "IPv$fam: the accepted datagram reaches server1" \
		mh_wait 3 eval "[ \$((\$(lines_from $MH_TMP/s1.out $ATK) - $n0)) = 1 ]"

	mh_step "IPv$fam: a pinhole with a 1.5 s timeout expires in the kernel"
	gw_nft gw-add-pinhole "$NAT" $((CP + 20)) "$S1" 60001 1500 || mh_fail "gw-add-pinhole"
	gw_nft gw-dump | grep -F "pinhole $NAT $((CP + 20)) " | sed 's/^/   /'
	sleep 2.5
	mh_check_eq "IPv$fam: the expired pinhole is gone from the set" 0 \
		"$(gw_nft gw-dump | grep -c -F "pinhole $NAT $((CP + 20)) " || true)"
	a0=$(gw_udp_arrived "$NS_S")
	send "$NS_C" $((CP + 20)) "$S1" 60001 3
	sleep 0.5
	mh_check_eq "IPv$fam: datagrams of the expired pinhole delivered" 0 $(($(gw_udp_arrived "$NS_S") - a0))
	mh_check_eq "IPv$fam: the pinhole the client used is still there" 1 \
		"$(gw_nft gw-dump | grep -c -F "pinhole $NAT $CP $S1 60001 " || true)"

	mh_step "IPv$fam: a client's datagram is noted in seen, its pinhole not refreshed (mosh-helperd re-arms)"
	gw_nft gw-add-pinhole "$NAT" $((CP + 30)) "$S1" 60001 3000 || mh_fail "gw-add-pinhole"
	n0=$(lines_from "$MH_TMP/s1.out" "$NAT")
	send "$NS_C" $((CP + 30)) "$S1" 60001 2
	mh_assert "IPv$fam: the short pinhole lets its datagrams through" \
		mh_wait 3 eval "[ \$((\$(lines_from $MH_TMP/s1.out $NAT) - $n0)) = 2 ]"
	exp=$(gw_nft gw-dump | grep -F "pinhole $NAT $((CP + 30)) " | awk '{print $NF}')
	seen=$(gw_nft gw-dump | grep -F "seen $NAT $((CP + 30)) " | awk '{print $NF}')
	mh_log "after the datagrams: the pinhole expires in ${exp:-?} ms, its key in seen in ${seen:-?} ms"
	mh_assert "IPv$fam: not refreshed beyond its 3 s (${exp:-none} ms left)" [ "${exp:-99999}" -le 3000 ]
	mh_assert "IPv$fam: its key is in seen (${seen:-none} ms left)" [ "${seen:-0}" -gt 20000 ]
	gw_nft gw-del-pinhole "$NAT" $((CP + 30)) "$S1" 60001 || mh_fail "gw-del-pinhole"
	send "$NS_C" $((CP + 30)) "$S1" 60001 5
	sleep 0.3
	mh_check_eq "IPv$fam: its own datagrams after the delete do not bring it back" 0 \
		"$(gw_nft gw-dump | grep -c -F "pinhole $NAT $((CP + 30)) " || true)"
	mh_check_eq "IPv$fam: nor pass" 2 $(($(lines_from "$MH_TMP/s1.out" "$NAT") - n0))

	mh_step "IPv$fam: deleting the pinhole and the session closes the 4-tuple"
	gw_nft gw-del-pinhole "$NAT" "$CP" "$S1" 60001 || mh_fail "gw-del-pinhole"
	gw_nft gw-del-session "$S1" 60001 || mh_fail "gw-del-session"
	a0=$(gw_udp_arrived "$NS_S")
	send "$NS_C" "$CP" "$S1" 60001 3
	sleep 0.5
	mh_check_eq "IPv$fam: datagrams of the deleted pinhole delivered" 0 $(($(gw_udp_arrived "$NS_S") - a0))
	mh_check_eq "IPv$fam: no session or pinhole left (seen keys open nothing)" "" \
		"$(gw_nft gw-dump | grep -v '^seen ' || true)"
done

mh_log "table listing (nft list table inet $GW_TABLE, compat queue rules print empty):"
sed 's/^/   /' "$MH_TMP/listing"
mh_pass "gateway datapath: closed by default, 4-tuple pinholes both ways, anti-reflection, expiry, queue halves (v4, v6)"
