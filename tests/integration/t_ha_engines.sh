#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The HA gateway pair's engines (issue 14, without the gateway daemon):
# real keepalived and conntrackd on two gateways, configured from
# contrib/ha/, with the gateway's forward table (nft/gateway.c, loaded by
# nfttool) on both. Two UDP flows run from the client through the active
# gateway: one on a session's own port (pinholed), one DNAT'ed from the
# public port to the session's port, as single-port mode makes it. gw-a
# fails (its links go down; keepalived and conntrackd are SIGKILLed, its
# connection table, addresses and NAT rule lost, as in a crash): gw-b takes
# the virtual addresses, commits the DNAT'ed entry conntrackd synced, and
# both flows go on through gw-b; gw-a comes back (engines restarted), fetches
# the table from gw-b and takes the addresses back after its preempt delay:
# both flows go on through gw-a. The attacker's probes deliver 0 throughout.
# The interruption of each flow is printed (not asserted).
# What stands in for the gateway daemon: the sessions and pinholes on both
# gateways (relays will announce to both; the backup will relearn pinholes
# from traffic) and gw-a's DNAT rule (the single-port binding).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/halib.sh"

mh_require_build tests/nfttool tests/udpsend tests/udpflow
UDPSEND=$MH_BUILD/tests/udpsend
UDPFLOW=$MH_BUILD/tests/udpflow
PUB=60000 REAL=60042 PLAIN=60001 S2PORT=60002
CP_PLAIN=51001 CP_NAT=51002 CP_NEW=51003
RUN_S=90
GUARD=drop
[ "${HA_NO_GUARD:-0}" = 1 ] && GUARD=''
ha_setup

now_ms() { date +%s%3N; }

# The daemon's stand-ins: sessions and pinholes in the forward table, and on
# gw-a the single-port binding of the client's port to the session's port.
gateway_tables() { # a|b
	ha_nfttool "$1" gw-load --idle 60000 >"$MH_TMP/load-$1.out" 2>&1 ||
		mh_fail "gw-load on gw-$1: $(cat "$MH_TMP/load-$1.out")"
	ha_nfttool "$1" gw-add-session "$SRV1_4" "$PLAIN" &&
	ha_nfttool "$1" gw-add-session "$SRV1_4" "$REAL" &&
	ha_nfttool "$1" gw-add-session "$SRV2_4" "$S2PORT" &&
	ha_nfttool "$1" gw-add-pinhole "$NAT_4" "$CP_PLAIN" "$SRV1_4" "$PLAIN" &&
	ha_nfttool "$1" gw-add-pinhole "$NAT_4" "$CP_NAT" "$SRV1_4" "$REAL" ||
		mh_fail "sessions and pinholes on gw-$1"
	mh_nsx "$(ha_ns "$1")" nft -f - <<EOF || mh_fail "single-port stand-in table on gw-$1"
table inet ha_sp {
	map mux4 {
		type ipv4_addr . inet_service : ipv4_addr . inet_service
	}
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		udp dport $PUB dnat ip to ip saddr . udp sport map @mux4
	}
	chain watch {
		type filter hook forward priority filter - 20; policy accept;
		iifname "eth1" ip saddr $SRV1_4 udp sport $REAL ct direction original counter $GUARD comment "guard"
		ip saddr $NAT_4 ip daddr $SRV1_4 udp dport $PLAIN counter comment "plain"
		ip saddr $NAT_4 ip daddr $SRV1_4 udp dport $REAL counter comment "dnat"
	}
}
EOF
}

# The table stands in for single-port mode's: a map of client address .
# port to the session's server address . port, and the DNAT that looks it
# up. On gw-b the map stays empty (a backup learns bindings from traffic,
# or here from conntrackd), but the nat statement must be there: it is what
# turns conntrack on in that namespace, and without conntrack's hooks the
# entries conntrackd commits are never consulted (an empty nat chain alone
# does not do it).
# The "guard" rule: a single-port session's port never starts a connection;
# its datagrams leave only as the reply of a client's entry. Without it a
# server's datagram reaching the new master before conntrackd's commit
# would make an entry whose tuple clashes with the synced one (EEXIST), and
# the binding would be lost. (HA_NO_GUARD=1: the rule only counts.)
bind_nat() { # the binding gw-a's daemon makes for the client's port
	mh_nsx "$NS_GA" nft add element inet ha_sp mux4 "{ $NAT_4 . $CP_NAT : $SRV1_4 . $REAL }" ||
		mh_fail "gw-a's single-port binding"
}

fwd_count() { # a|b plain|dnat
	mh_nsx "$(ha_ns "$1")" nft list chain inet ha_sp watch 2>/dev/null |
		grep -F "comment \"$2\"" | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}

# conntrack's entry for the DNAT'ed flow in a gateway's kernel table (or in
# a listing on stdin): original to the public port, reply from the real one
nat_entry_in() { grep -E "src=$NAT_4 dst=$SRV1_4 sport=$CP_NAT dport=$PUB src=$SRV1_4 dst=$NAT_4 sport=$REAL dport=$CP_NAT"; }
kernel_has_nat() { ha_ct "$1" -L -p udp | nat_entry_in >/dev/null; }
# (conntrackd's cache lists the original tuple; the NAT part shows once committed)
external_has_nat() { ha_ctd "$1" -e ct 2>/dev/null | grep -q -E "src=$NAT_4 dst=$SRV1_4 sport=$CP_NAT dport=$PUB "; }

# when a gateway's notify script last saw it become master (ms)
master_ms() { awk '/is MASTER/ { t = $1 } END { printf "%.0f\n", t * 1000 }' "$(ha_dir "$1")/notify.log"; }
echoes_after() { awk -v t="$2" '$1 == "echo" && $3 > t { n++ } END { print n + 0 }' "$1"; }
flows_after() { # T N: both flows echoed N times after T
	[ "$(echoes_after "$MH_TMP/plain.out" "$1")" -ge "$2" ] &&
		[ "$(echoes_after "$MH_TMP/nat.out" "$1")" -ge "$2" ]
}
# the longest silence of a flow between T0 and T1 (ms)
gap_in() { # file t0 t1
	awk -v a="$2" -v b="$3" '$1 == "echo" { if (p && $3 > a && p < b && $3 - p > g) g = $3 - p; p = $3 }
		END { print g + 0 }' "$1"
}

drops_at() { # a|b: gw_in's silent drops (the probes to range ports without a session)
	mh_nsx "$(ha_ns "$1")" nft list chain inet "$GW_TABLE" gw_in 2>/dev/null |
		grep -F "silent drop" | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}

noports() { # UDP datagrams to no socket in a namespace (v4 + v6)
	mh_nsx "$1" cat /proc/net/snmp /proc/net/snmp6 | awk '
		$1 == "Udp:" { if (h) s += $3; h = 1 } $1 == "Udp6NoPorts" { s += $2 } END { print s + 0 }'
}
unreach_in() {
	mh_nsx "$1" cat /proc/net/snmp /proc/net/snmp6 | awk '
		$1 == "Icmp:" { if (h) { for (i = 2; i <= NF; i++) if (name[i] == "InDestUnreachs") s += $i }
				else { for (i = 2; i <= NF; i++) name[i] = $i; h = 1 } }
		$1 == "Icmp6InDestUnreachs" { s += $2 }
		END { print s + 0 }'
}
# The refusals among them (port unreachable, administratively prohibited,
# v4 and v6), counted by a table of the attacker's own: what a closed or
# rejecting range would send. A host or net unreachable is the outside
# router's while the virtual addresses move (its neighbour entry for them
# fails before gw-b's gratuitous ARP lands): counted apart, not a refusal.
refusals_table() {
	mh_nsx "$NS_A" nft -f - <<'NFT' || mh_fail "the attacker's ICMP counters"
table inet t_ha_icmp {
	chain in {
		type filter hook input priority 0; policy accept;
		icmp type destination-unreachable icmp code { port-unreachable, net-prohibited, host-prohibited, admin-prohibited } counter
		icmpv6 type destination-unreachable icmpv6 code { port-unreachable, admin-prohibited } counter
	}
}
NFT
}
refusals_in() {
	mh_nsx "$NS_A" nft list chain inet t_ha_icmp in |
		awk '{ for (i = 1; i < NF; i++) if ($i == "packets") s += $(i + 1) } END { print s + 0 }'
}

# The attacker, outside, for the whole run: range ports of both servers
# with and without a session or a listener, the public port, v4 and v6.
attack_start() {
	local t
	for t in "$SRV1_4 $PLAIN" "$SRV1_4 $REAL" "$SRV1_4 $PUB" "$SRV2_4 $S2PORT" \
		"$SRV1_4 60005" "$SRV2_4 60006" "$SRV1_6 $PLAIN" "$SRV2_6 $S2PORT"; do
		# shellcheck disable=SC2086  # address and port
		mh_ns_bg "$NS_A" "$MH_TMP/atk.$RANDOM" "$UDPSEND" send --from 50010 $t 3000 20
	done
}

mh_step "engines: keepalived and conntrackd from contrib/ha on both gateways"
for g in a b; do
	mkdir -p "$(ha_dir $g)"
	ha_keepalived_conf $g
	mh_assert "gw-$g: keepalived accepts its config (keepalived -t)" \
		mh_nsx "$(ha_ns $g)" keepalived -t -f "$(ha_dir $g)/keepalived.conf"
done
ha_engines_start
mh_assert "gw-a holds the virtual addresses" ha_is_master a
mh_assert "gw-b holds none" ha_holds_none b

mh_step "forward tables (nfttool gw-load) and the daemon's stand-ins on both gateways"
gateway_tables a
gateway_tables b
bind_nat
refusals_table
a_noports0=$(noports "$NS_S") b_noports0=$(noports "$NS_S2") atk_unreach0=$(unreach_in "$NS_A")

mh_step "flows: client -> server1 port $PLAIN (pinholed), client -> public port $PUB (DNAT to $REAL)"
for p in "$PLAIN" "$REAL"; do
	mh_ns_bg "$NS_S" "$MH_TMP/echo$p.out" "$UDPFLOW" echo "$p" "$RUN_S"
	mh_wait 5 grep -qsx ready "$MH_TMP/echo$p.out" || mh_fail "echo on $p"
done
mh_ns_bg "$NS_S2" "$MH_TMP/echo$S2PORT.out" "$UDPFLOW" echo "$S2PORT" "$RUN_S"
mh_wait 5 grep -qsx ready "$MH_TMP/echo$S2PORT.out" || mh_fail "echo on server2"
attack_start
t0=$(now_ms)
mh_ns_bg "$NS_C" "$MH_TMP/plain.out" "$UDPFLOW" ping --from "$CP_PLAIN" "$SRV1_4" "$PLAIN" "$RUN_S" 20
PING_PLAIN=$MH_BG_PID
mh_ns_bg "$NS_C" "$MH_TMP/nat.out" "$UDPFLOW" ping --from "$CP_NAT" "$SRV1_4" "$PUB" "$RUN_S" 20
PING_NAT=$MH_BG_PID
mh_assert "both flows echo through gw-a" mh_wait 10 flows_after "$t0" 50
mh_assert "gw-a's kernel holds the DNAT'ed entry" kernel_has_nat a
mh_assert "gw-b's conntrackd holds it in its external cache (synced over eth2)" mh_wait 10 external_has_nat b
mh_assert_not "gw-b's kernel does not hold it while backup" kernel_has_nat b
mh_log "gw-a's entry: $(ha_ct a -L -p udp | nat_entry_in)"
pa0=$(fwd_count b plain) na0=$(fwd_count b dnat)

mh_step "gw-a fails: its links go down; keepalived and conntrackd SIGKILLed, table and binding lost"
t_fail=$(now_ms)
ha_links_set a down
ha_kill a keepalived KILL
vrrp=$(cat "$(ha_dir a)/vrrp.pid" 2>/dev/null) && kill -KILL "$vrrp" 2>/dev/null
ha_kill a conntrackd KILL
ha_ct a -F
mh_nsx "$NS_GA" nft flush map inet ha_sp mux4
for v in "$VIP_OUT4/24 dev eth0" "$VIP_OUT6/64 dev eth0" "$VIP_IN4/24 dev eth1" "$VIP_IN6/64 dev eth1"; do
	# shellcheck disable=SC2086  # address and device
	ip -n "$NS_GA" addr del $v 2>/dev/null
done
mh_assert "gw-b takes the virtual addresses" mh_wait 10 ha_is_master b
mh_assert "gw-b's kernel holds the DNAT'ed entry (conntrackd committed it)" mh_wait 5 kernel_has_nat b
mh_assert "both flows echo again, through gw-b" mh_wait 10 flows_after "$t_fail" 50
mh_log "gw-b's entry: $(ha_ct b -L -p udp | nat_entry_in)"
mh_log "guard (${GUARD:-count only}): gw-a $(fwd_count a guard), gw-b $(fwd_count b guard) server datagrams that would start an entry"
mh_assert "gw-b forwarded the pinholed flow ($(fwd_count b plain) datagrams)" [ "$(fwd_count b plain)" -gt "$pa0" ]
mh_assert "gw-b forwarded the DNAT'ed flow ($(fwd_count b dnat) datagrams)" [ "$(fwd_count b dnat)" -gt "$na0" ]
tm_b=$(master_ms b)
fo_plain=$(gap_in "$MH_TMP/plain.out" "$t_fail" "$(now_ms)")
fo_nat=$(gap_in "$MH_TMP/nat.out" "$t_fail" "$(now_ms)")
mh_log "failover: gw-b master $((tm_b - t_fail)) ms after gw-a's links went down; interruption (longest silence) pinholed flow ${fo_plain} ms, DNAT'ed flow ${fo_nat} ms (VRRP advert ${HA_ADVERT} s)"

mh_step "control: a new client port to the public port gets no binding on gw-b"
n0=$(noports "$NS_S")
mh_nsx "$NS_C" "$UDPSEND" send --from "$CP_NEW" "$SRV1_4" "$PUB" 5 20 || mh_fail "udpsend"
sleep 0.5
mh_check_eq "datagrams of the unbound client port delivered to server1" 0 $(($(noports "$NS_S") - n0))
mh_check_eq "the session port's echo never saw that client port" 0 \
	"$(grep -c "^new $NAT_4 $CP_NEW\$" "$MH_TMP/echo$REAL.out" || true)"

mh_step "gw-a comes back: links up, conntrackd and keepalived restarted; it takes the addresses back after ${HA_PREEMPT} s"
pa1=$(fwd_count a plain) na1=$(fwd_count a dnat)
t_up=$(now_ms)
ha_links_set a up
ha_conntrackd_start a
ha_keepalived_start a
mh_assert "gw-a's conntrackd fetched the DNAT'ed entry from gw-b" mh_wait 10 external_has_nat a
mh_assert "gw-a takes the virtual addresses back" mh_wait 15 ha_is_master a
mh_assert "gw-b gives them up" mh_wait 5 ha_holds_none b
mh_assert "gw-a's kernel holds the DNAT'ed entry (committed; its own table was flushed)" mh_wait 5 kernel_has_nat a
t_back=$(master_ms a)
mh_assert "both flows echo through gw-a again" mh_wait 10 flows_after "$t_back" 50
mh_assert "gw-a forwarded the pinholed flow again" [ "$(fwd_count a plain)" -gt "$pa1" ]
mh_assert "gw-a forwarded the DNAT'ed flow again" [ "$(fwd_count a dnat)" -gt "$na1" ]
fb_plain=$(gap_in "$MH_TMP/plain.out" "$t_up" "$(now_ms)")
fb_nat=$(gap_in "$MH_TMP/nat.out" "$t_up" "$(now_ms)")
mh_log "failback: gw-a master $((t_back - t_up)) ms after its links came up; longest silence pinholed flow ${fb_plain} ms, DNAT'ed flow ${fb_nat} ms"

mh_step "the commit outlives the purge conntrackd -t scheduled when gw-a went backup (${HA_PURGE} s)"
sleep $((HA_PURGE + 1))
mh_assert "gw-a's kernel still holds the DNAT'ed entry" kernel_has_nat a
t_late=$(now_ms)
mh_assert "the DNAT'ed flow still echoes" mh_wait 5 flows_after "$t_late" 20

mh_step "the attacker delivered nothing through either gateway"
for p in "${MH_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${MH_PIDS[@]}"; do mh_wait 5 mh_pid_gone "$p"; done
for f in "$MH_TMP"/echo*.out; do
	mh_check_eq "sources from the attacker seen by $(basename "$f" .out)" 0 \
		"$(grep -c -E "^new ($ATK_4|$ATK_6) " "$f" || true)"
done
for g in a b; do
	n=$(drops_at "$g")
	mh_assert "the probes reached gw-$g and were dropped there (gw_in's silent drop: ${n:-none})" [ "${n:-0}" -gt 0 ]
done
mh_check_eq "datagrams to closed ports of server1" 0 $(($(noports "$NS_S") - a_noports0))
mh_check_eq "datagrams to closed ports of server2" 0 $(($(noports "$NS_S2") - b_noports0))
mh_check_eq "ICMP refusals (port unreachable, prohibited) to the attacker" 0 "$(refusals_in)"
mh_log "ICMP destination unreachables of any code to the attacker: $(($(unreach_in "$NS_A") - atk_unreach0)) (a host unreachable from the outside router while the addresses move is not a refusal)"
tail -n 1 "$MH_TMP/plain.out" | sed 's/^/   pinholed flow: /'
tail -n 1 "$MH_TMP/nat.out" | sed 's/^/   DNAT'"'"'ed flow: /'

mh_step "engines stop: no keepalived or conntrackd left"
for p in "${HA_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${HA_PIDS[@]}"; do mh_wait 10 mh_pid_gone "$p"; done
mh_check_eq "processes left in the gateways' namespaces" "" "$(ha_leftovers | tr '\n' ' ')"
: "$PING_PLAIN" "$PING_NAT"
mh_pass "HA engines: VRRP takeover and failback, DNAT'ed entry synced and committed both ways, flows go on, attacker 0"
