#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The HA gateway pair's acceptance (issue 14), keyed (default) mode, real
# parts only: keepalived and conntrackd from contrib/ha on two gateways
# (halib.sh's topology), the gateway daemon on each, a relay daemon on each
# of two login servers announcing every session to both gateways (server1's
# relay with gateway_ack = "any", server2's with "all"), real mosh-server
# through the hook and real mosh-client behind the NAT router.
# Three sessions type through gw-a; gw-a fails (links down, keepalived,
# conntrackd and its daemon SIGKILLed); gw-b takes the addresses and every
# session types again without user action: gw-b held the sessions and keys
# (announced to both) and learns the pinholes from traffic. The
# interruption of each session (failure -> the echo of a keystroke typed
# at that moment) is printed. With gw-a down, server1's relay ("any") starts
# a new session through gw-b alone; server2's ("all") refuses one. The
# clients roam (new NAT ports); gw-a comes back (daemon adopts its table,
# relays resync to it, the session started without it included), takes the
# addresses back, and every session types again (interruption printed);
# a new session through server2's relay now starts. The attacker probes
# the servers' range ports throughout (0 delivered) and replays a
# client's captured datagrams after each takeover (no pinhole for it, no
# datagram from a server reaches it).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gwlib.sh"
. "$(dirname "$0")/halib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/udpsend tests/udptool
mh_require_tools mosh-server mosh-client tmux openssl tcpdump
ha_setup
ha_mosh_setup

ATK_PIDS=()

# The attacker: probes from source port 50010 to both servers' range ports
# (sessions' ports and others), v4 and v6, for the whole run; each server
# captures what of them arrives.
attack_start() {
	local t
	for t in "$SRV1_4 ${CLI_PORT[c1]}" "$SRV1_4 ${CLI_PORT[c2]}" "$SRV2_4 ${CLI_PORT[c3]}" \
		"$SRV1_4 60900" "$SRV2_4 60901" "$SRV1_6 ${CLI_PORT[c1]}" "$SRV2_6 ${CLI_PORT[c3]}"; do
		# shellcheck disable=SC2086  # address and port
		mh_ns_bg "$NS_A" "$MH_TMP/atk.$RANDOM" "$MH_BUILD/tests/udpsend" send --from 50010 $t 4000 25
		ATK_PIDS+=("$MH_BG_PID")
	done
}

# A replay of c1's captured datagrams from the attacker (source port
# 50020) to server1, through whichever gateway is active.
replay() { mh_udptool "$NS_A" replay "$SRV1_4" "${CLI_PORT[c1]}" "$MH_TMP/c1.pcap" --src-port 50020 >/dev/null || mh_fail "udptool replay"; }
no_attacker_pinhole() { ! ha_gw_pinholes a 4 | grep -q -F "$ATK_4" && ! ha_gw_pinholes b 4 | grep -q -F "$ATK_4"; }

# ---------------------------------------------------------------- set-up

mh_step "engines (keepalived, conntrackd) and the gateway daemons on gw-a and gw-b"
ha_engines_start
for g in a b; do ha_gw_conf $g; ha_gw_start $g; done

mh_step "relays: server1 (gateway_ack any), server2 (all), each announcing to both gateways"
gw_relay_conf_to "$MH_TMP/r1.conf" "$HA_CERTS" relay-lab r1 any "$GWA" "$GWB"
gw_relay_conf_to "$MH_TMP/r2.conf" "$HA_CERTS" relay-ha2 r2 all "$GWA" "$GWB"
ha_relay_start "$NS_S" r1
ha_relay_start "$NS_S2" r2
for r in r1 r2; do
	mh_assert "$r is up to both gateways" mh_wait 10 eval \
		"ha_relay_ups_at_least $r $GWA 1 && ha_relay_ups_at_least $r $GWB 1"
done

mh_step "three sessions through gw-a: two on server1, one on server2"
ha_client c1 "$NS_S" r1 "$SRV1_4" mhtest1
ha_client c2 "$NS_S" r1 "$SRV1_4" mhtest2
ha_client c3 "$NS_S2" r2 "$SRV2_4" mhtest1
for g in a b; do
	mh_assert "gw-$g holds all three sessions (announced to both)" eval \
		"ha_gw_has_session $g 4 $SRV1_4 ${CLI_PORT[c1]} && ha_gw_has_session $g 4 $SRV1_4 ${CLI_PORT[c2]} && ha_gw_has_session $g 4 $SRV2_4 ${CLI_PORT[c3]}"
done
mh_assert "gw-a learned c1's pinhole" mh_wait 5 ha_gw_has_pinhole a 4 "$NAT_4" "$SRV1_4" "${CLI_PORT[c1]}"
mh_assert_not "gw-b (backup) has no pinhole: it learns them from traffic" eval "ha_gw_pinholes b 4 | grep -q -F '$SRV1_4'"

mh_step "the attacker starts; a capture of c1's datagrams at server1 to replay later"
mh_tcpdump "$NS_S" "$MH_TMP/c1.pcap" udp and dst port "${CLI_PORT[c1]}" and src host "$NAT_4" >/dev/null
cap=$MH_TCPDUMP_PID
mh_roundtrip c1 10 || mh_fail "c1 while capturing"
mh_tcpdump_stop "$cap"
mh_tcpdump "$NS_S" "$MH_TMP/probes1.pcap" udp and src port 50010 >/dev/null
cap1=$MH_TCPDUMP_PID
mh_tcpdump "$NS_S2" "$MH_TMP/probes2.pcap" udp and src port 50010 >/dev/null
cap2=$MH_TCPDUMP_PID
mh_tcpdump "$NS_A" "$MH_TMP/to-atk.pcap" "udp and (src host $SRV1_4 or src host $SRV2_4 or src host $SRV1_6 or src host $SRV2_6)" >/dev/null
capa=$MH_TCPDUMP_PID
attack_start

# ---------------------------------------------------------------- failover

mh_step "gw-a fails: its links go down; keepalived, conntrackd and the gateway daemon SIGKILLed"
ha_crash_a
t_fail=$HA_T_FAIL
ha_interruptions failover "$t_fail" 30 c1 c2 c3 &
ipid=$!
mh_assert "gw-b takes the virtual addresses" mh_wait 10 ha_is_master b
wait "$ipid" || mh_fail "failover: a session did not type again (above)"
mh_log "failover: gw-b master $(($(ha_master_ms b) - t_fail)) ms after gw-a failed (VRRP advert ${HA_ADVERT} s)"
for c in c1 c2 c3; do
	mh_assert "gw-b learned $c's pinhole from traffic" \
		ha_gw_has_pinhole b 4 "$NAT_4" "${CLI_SRV[$c]}" "${CLI_PORT[$c]}"
done

mh_step "with gw-a down: a new session through server1's relay (any) starts via gw-b alone"
ha_client c4 "$NS_S" r1 "$SRV1_4" mhtest1
mh_assert "gw-b holds it" ha_gw_has_session b 4 "$SRV1_4" "${CLI_PORT[c4]}"
mh_step "... and server2's relay (all) refuses one: gw-a does not answer"
s2_sessions() { NS_G=$NS_GB gw_set sessions4 | grep -o -E "$SRV2_4 \. [0-9]+" | sort | tr '\n' ' '; }
before=$(s2_sessions)
if ha_session "$NS_S2" r2 "$SRV2_4" mhtest2; then mh_fail "r2 (gateway_ack all) accepted a session with gw-a down"; fi
mh_log "the user sees: $(tail -n 1 "$MH_HOOK_ERR")"
[ -n "$MH_SPID" ] && mh_assert "its mosh-server is stopped" mh_wait 5 mh_server_gone "$MH_SPID"
sleep 0.5
mh_check_eq "server2's sessions on gw-b (the refused one withdrawn or never kept)" "$before" "$(s2_sessions)"

mh_step "replay of c1's datagrams to gw-b; the clients roam (new NAT ports)"
replay
ha_roam
for c in c1 c2 c3 c4; do mh_assert "$c types after the roam" mh_roundtrip "$c" 20; done
mh_assert "gw-b pinholed the new ports (420xx)" eval "ha_gw_pinholes b 4 | grep -q -E '$NAT_4 \. 420[0-9]{2} '"

# ---------------------------------------------------------------- failback

mh_step "gw-a comes back: links up, conntrackd, its daemon (adopts its table), the relays resync to it"
ha_return_a
mh_assert "gw-a learned c4 (started while it was down) from r1's resync" \
	mh_wait 5 ha_gw_has_session a 4 "$SRV1_4" "${CLI_PORT[c4]}"
ha_keepalived_start a
mh_assert "gw-a takes the virtual addresses back (preempt ${HA_PREEMPT} s)" mh_wait 15 ha_is_master a
t_back=$(ha_master_ms a)
ha_interruptions failback "$t_back" 30 c1 c2 c3 c4
mh_assert "gw-b gives them up" mh_wait 5 ha_holds_none b
replay

mh_step "after failback: a new session through server2's relay (all) starts"
ha_client c5 "$NS_S2" r2 "$SRV2_4" mhtest2
for g in a b; do mh_assert "gw-$g holds it" ha_gw_has_session $g 4 "$SRV2_4" "${CLI_PORT[c5]}"; done

# ---------------------------------------------------------------- attacker

mh_step "the attacker delivered nothing"
sleep 2   # a wrongly opened pinhole would show by now (the replay was >= 2 s ago)
for p in "${ATK_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
mh_tcpdump_stop "$cap1"; mh_tcpdump_stop "$cap2"; mh_tcpdump_stop "$capa"
mh_check_eq "probe datagrams delivered to server1" 0 "$(mh_pcap_count "$MH_TMP/probes1.pcap")"
mh_check_eq "probe datagrams delivered to server2" 0 "$(mh_pcap_count "$MH_TMP/probes2.pcap")"
mh_assert "no pinhole for the attacker on either gateway" no_attacker_pinhole
mh_check_eq "datagrams from the servers to the attacker" 0 "$(mh_pcap_count "$MH_TMP/to-atk.pcap")"
for g in a b; do
	n=$(NS_G=$(ha_ns $g) gw_rule_count gw_in "silent drop")
	mh_assert "the probes reached gw-$g's table and were dropped there (${n:-none})" [ "${n:-0}" -gt 0 ]
done

ha_finish "HA pair: failover and failback with real gateway daemons and mosh, no user action, attacker 0"
