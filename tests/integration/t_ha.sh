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
chmod 755 "$MH_TMP"
mh_users
MH_TMUX=$MH_TMP/tmux.sock
SNAT4_ADDR=$NAT_4   # the SSH client hint the hook passes
HA_CERTS=$MH_TMP/certs
GWA=198.18.0.11:7710 GWB=198.18.0.12:7710
sh "$MH_SRC/tests/tools/mkcerts.sh" "$HA_CERTS" >"$MH_TMP/mkcerts.log" 2>&1 ||
	mh_fail "mkcerts.sh: $(tail -n 3 "$MH_TMP/mkcerts.log")"
MH_NETNS_INO=$(mh_nsx "$NS_S" stat -L -c %i /proc/self/ns/net)   # lib.sh purges its keys

now_ms() { date +%s%3N; }
master_ms() { awk '/is MASTER/ { t = $1 } END { printf "%.0f\n", t * 1000 }' "$(ha_dir "$1")/notify.log"; }

relay_start() { # ns name
	gw_daemon_run "$1" "$MH_TMP/$2.conf" "$MH_TMP/$2.log" relay
	MH_PIDS+=("$GW_DAEMON_PID")
	mh_log "relay $2 in $1: pid $GW_DAEMON_PID"
}
relay_ups() { grep -c -F "relay: gateway $2 up" "$MH_TMP/$1.log" 2>/dev/null; }
relay_ups_at_least() { [ "$(relay_ups "$1" "$2")" -ge "$3" ]; }

session() { # ns relay server-address user
	NS_S=$1 MH_CONF=$MH_TMP/$2.conf SRV=$3 mh_session_try "$4"
}

# A client: its session through the hook, then mosh-client in tmux.
# CLI_PORT/CLI_SRV remember each client's port and server.
declare -A CLI_PORT CLI_SRV
ATK_PIDS=()
client() { # name ns relay server-address user
	local t0
	t0=$(now_ms)
	session "$2" "$3" "$4" "$5" || mh_fail "session $1 refused: $(tail -n 2 "$MH_HOOK_ERR")"
	HOOK_MS=$(($(now_ms) - t0))
	mh_log "$1: the hook answered in $HOOK_MS ms"
	CLI_PORT[$1]=$MH_PORT CLI_SRV[$1]=$4
	SRV=$4 mh_client_start "$1" "$MH_PORT" "$MH_KEY"
	mh_assert "$1 types (server $4 port $MH_PORT)" mh_roundtrip "$1" 20
}

# Interruption: at T0 (ms) each client gets a keystroke whose echo differs
# from what is typed (lib.sh's mh_roundtrip); the time to its echo is the
# session's interruption. Prints one line per session; fails if one does
# not echo within LIMIT s.
interruptions() { # label t0-ms limit-s clients...
	local label=$1 t0=$2 limit=$3 c t left
	shift 3
	declare -A want seen
	for c in "$@"; do
		want[$c]=$((RANDOM % 9000 + 1000))
		mh_type "$c" "echo HA-\$((${want[$c]}+1))-AH"
	done
	left=$#
	while [ "$left" -gt 0 ] && [ $(($(now_ms) - t0)) -lt $((limit * 1000)) ]; do
		for c in "$@"; do
			[ -n "${seen[$c]:-}" ] && continue
			if mh_screen_has "$c" "HA-$((${want[$c]} + 1))-AH"; then
				seen[$c]=$(($(now_ms) - t0))
				left=$((left - 1))
			fi
		done
		sleep 0.1
	done
	for c in "$@"; do
		if [ -z "${seen[$c]:-}" ]; then
			mh_fail "$label: session $c (server ${CLI_SRV[$c]} port ${CLI_PORT[$c]}) did not type again within $limit s"
		fi
		mh_log "$label: interruption of $c (server ${CLI_SRV[$c]} port ${CLI_PORT[$c]}): ${seen[$c]} ms"
		echo "$label $c ${seen[$c]}" >>"$MH_TMP/interruptions"
	done
}

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
relay_start "$NS_S" r1
relay_start "$NS_S2" r2
for r in r1 r2; do
	mh_assert "$r is up to both gateways" mh_wait 10 eval \
		"relay_ups_at_least $r $GWA 1 && relay_ups_at_least $r $GWB 1"
done

mh_step "three sessions through gw-a: two on server1, one on server2"
client c1 "$NS_S" r1 "$SRV1_4" mhtest1
client c2 "$NS_S" r1 "$SRV1_4" mhtest2
client c3 "$NS_S2" r2 "$SRV2_4" mhtest1
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
t_fail=$(now_ms)
ha_links_set a down
ha_kill a keepalived KILL
vrrp=$(cat "$(ha_dir a)/vrrp.pid" 2>/dev/null) && kill -KILL "$vrrp" 2>/dev/null
ha_kill a conntrackd KILL
kill -KILL "$HA_GWD_a"
mh_wait 5 mh_pid_gone "$HA_GWD_a" || mh_fail "gw-a's daemon survived SIGKILL"
for v in "$VIP_OUT4/24 dev eth0" "$VIP_OUT6/64 dev eth0" "$VIP_IN4/24 dev eth1" "$VIP_IN6/64 dev eth1"; do
	# shellcheck disable=SC2086  # address and device (a crashed box holds nothing)
	ip -n "$NS_GA" addr del $v 2>/dev/null
done
interruptions failover "$t_fail" 30 c1 c2 c3 &
ipid=$!
mh_assert "gw-b takes the virtual addresses" mh_wait 10 ha_is_master b
wait "$ipid" || mh_fail "failover: a session did not type again (above)"
mh_log "failover: gw-b master $(($(master_ms b) - t_fail)) ms after gw-a failed (VRRP advert ${HA_ADVERT} s)"
for c in c1 c2 c3; do
	mh_assert "gw-b learned $c's pinhole from traffic" \
		ha_gw_has_pinhole b 4 "$NAT_4" "${CLI_SRV[$c]}" "${CLI_PORT[$c]}"
done

mh_step "with gw-a down: a new session through server1's relay (any) starts via gw-b alone"
client c4 "$NS_S" r1 "$SRV1_4" mhtest1
mh_assert "gw-b holds it" ha_gw_has_session b 4 "$SRV1_4" "${CLI_PORT[c4]}"
mh_step "... and server2's relay (all) refuses one: gw-a does not answer"
s2_sessions() { NS_G=$NS_GB gw_set sessions4 | grep -o -E "$SRV2_4 \. [0-9]+" | sort | tr '\n' ' '; }
before=$(s2_sessions)
if session "$NS_S2" r2 "$SRV2_4" mhtest2; then mh_fail "r2 (gateway_ack all) accepted a session with gw-a down"; fi
mh_log "the user sees: $(tail -n 1 "$MH_HOOK_ERR")"
[ -n "$MH_SPID" ] && mh_assert "its mosh-server is stopped" mh_wait 5 mh_server_gone "$MH_SPID"
sleep 0.5
mh_check_eq "server2's sessions on gw-b (the refused one withdrawn or never kept)" "$before" "$(s2_sessions)"

mh_step "replay of c1's datagrams to gw-b; the clients roam (new NAT ports)"
replay
mh_nsx "$NS_R" nft -f - <<EOF || mh_fail "router: new SNAT ports"
table inet gw_nat
delete table inet gw_nat
table inet gw_nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth1" ip saddr 198.18.1.0/24 meta l4proto udp snat ip to $NAT_4:42000-42099
	}
}
EOF
mh_nsx "$NS_R" conntrack -D -p udp >/dev/null 2>&1
for c in c1 c2 c3 c4; do mh_assert "$c types after the roam" mh_roundtrip "$c" 20; done
mh_assert "gw-b pinholed the new ports (420xx)" eval "ha_gw_pinholes b 4 | grep -q -E '$NAT_4 \. 420[0-9]{2} '"

# ---------------------------------------------------------------- failback

mh_step "gw-a comes back: links up, conntrackd, its daemon (adopts its table), the relays resync to it"
ups1=$(relay_ups r1 "$GWA") ups2=$(relay_ups r2 "$GWA")
ha_links_set a up
ha_conntrackd_start a
ha_gw_start a
mh_assert "r1 reconnects to gw-a" mh_wait 40 relay_ups_at_least r1 "$GWA" $((ups1 + 1))
mh_assert "r2 reconnects to gw-a" mh_wait 40 relay_ups_at_least r2 "$GWA" $((ups2 + 1))
mh_assert "gw-a learned c4 (started while it was down) from r1's resync" \
	mh_wait 5 ha_gw_has_session a 4 "$SRV1_4" "${CLI_PORT[c4]}"
ha_keepalived_start a
mh_assert "gw-a takes the virtual addresses back (preempt ${HA_PREEMPT} s)" mh_wait 15 ha_is_master a
t_back=$(master_ms a)
interruptions failback "$t_back" 30 c1 c2 c3 c4
mh_assert "gw-b gives them up" mh_wait 5 ha_holds_none b
replay

mh_step "after failback: a new session through server2's relay (all) starts"
client c5 "$NS_S2" r2 "$SRV2_4" mhtest2
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

mh_step "summary"
sed 's/^/   interruption (ms): /' "$MH_TMP/interruptions"
for p in "$HA_GWD_a" "$HA_GWD_b" "${MH_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "$HA_GWD_a" "$HA_GWD_b"; do mh_wait 10 mh_pid_gone "$p"; done
mh_assert_no_sanitizer "$(ha_dir a)/gw.log" "$(ha_dir b)/gw.log" "$MH_TMP"/r[12].log
mh_pass "HA pair: failover and failback with real gateway daemons and mosh, no user action, attacker 0"
