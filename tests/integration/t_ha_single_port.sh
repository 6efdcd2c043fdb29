#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The HA gateway pair in single-port mode (issue 14): halib.sh's topology,
# keepalived and conntrackd from contrib/ha, the gateway daemon on each
# gateway with single_port on UDP 60000, a relay on each login server
# announcing to both (r1 gateway_ack "any", r2 "all"), real mosh through
# the NAT router. Three clients on the public port (two to server1 over
# IPv4, one to server2 over IPv6) type through gw-a. Checked before the
# failure: gw-a's NAT bindings (conntrack: client -> server:60000, replies
# from the session's own port) are in gw-b's conntrackd external cache,
# the sync contrib/ha/conntrackd.conf sets up. gw-a fails as a crashed box;
# gw-b takes the addresses and commits them (its first conntrack event for
# each binding is the commit, already replied and assured, with the
# session's port), every session types again (interruption printed), and
# gw-b's daemon maps each client itself from its next authentic datagram.
# A new session starts through gw-b alone, the clients roam, gw-a comes
# back and takes over again (interruption printed), a new session starts
# through r2. The attacker's probes (public port and the sessions' own
# ports) and replays of a client's datagrams deliver 0 throughout.
# HA_SP_SYNC=off: gw-b's conntrackd syncs no UDP (Protocol Accept TCP, a
# wrong filter): the sync checks are reversed (nothing in the cache, the
# first event is traffic's) and the sessions must come back all the same
# through the daemon's relearning; the README reports both runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gwlib.sh"
. "$(dirname "$0")/halib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/udpsend tests/udptool
mh_require_tools mosh-server mosh-client tmux openssl tcpdump conntrack ss
PUB=60000
SYNC=${HA_SP_SYNC:-on}
ha_setup
ha_mosh_setup
declare -A REAL FAM CPORT
ATK_PIDS=()
SP_LINE="single_port = { enable = true; port = $PUB; };"

# ---------------------------------------------------------------- helpers

real_port() { # ns pid: the UDP port mosh-server is bound to
	mh_nsx "$1" ss -Hulnp | awk -v p="pid=$2," 'index($0, p) { n = split($4, a, ":"); print a[n]; exit }'
}

sp_client() { # name family ns relay server user
	MH_FAMILY=$2 ha_client "$1" "$3" "$4" "$5" "$6"
	mh_check_eq "$1 is told the public port" "$PUB" "${CLI_PORT[$1]}"
	REAL[$1]=$(real_port "$3" "${CLI_SPID[$1]}") FAM[$1]=$2
	[ -n "${REAL[$1]}" ] || mh_fail "no port for $1's mosh-server"
	mh_log "$1: mosh-server on $5 port ${REAL[$1]}"
}

# binding G C: gateway G's conntrack holds client C's NAT binding (to the
# public port, replies from its session's port); NAT ports from the router
bindings() { ha_ct "$1" -L -f "ipv${FAM[$2]}" -p udp --orig-port-dst "$PUB"; }
binding() { bindings "$1" "$2" | grep -q -E "dst=${CLI_SRV[$2]} .*dport=$PUB .*src=${CLI_SRV[$2]} .*sport=${REAL[$2]} "; }
# The client's NAT address . port of C's binding on gateway G (CPORT).
nat_addr() { if [ "${FAM[$1]}" = 4 ]; then echo "$NAT_4"; else echo "$NAT_6"; fi; }
cport() {
	bindings "$1" "$2" | grep -E "dst=${CLI_SRV[$2]} .*dport=$PUB .*src=${CLI_SRV[$2]} .*sport=${REAL[$2]} " |
		head -n1 | grep -o -E 'sport=[0-9]+' | head -n1 | cut -d= -f2
}
# ext_binding G C: C's binding in G's conntrackd external cache (what the
# other gateway synced; the dump shows the original tuple only)
ext_binding() {
	ha_ctd "$1" -e 2>/dev/null |
		grep -q -E "^udp .*src=$(nat_addr "$2") dst=${CLI_SRV[$2]} sport=${CPORT[$2]} dport=$PUB "
}
gw_map() { mh_nsx "$(ha_ns "$1")" nft list map inet "$GW_TABLE" "$2" 2>/dev/null; }
# mapped G C: gateway G's daemon mapped C (gwmux4/6 or the provisional map)
mapped() {
	local m
	for m in "gwmux${FAM[$2]}" "gwmuxp${FAM[$2]}"; do
		gw_map "$1" "$m" | tr '\n' ' ' |
			grep -q -E "\. ${CLI_SRV[$2]}( expires [0-9a-z]+)? : ${REAL[$2]}([^0-9]|$)" && return 0
	done
	return 1
}

# How C's binding came into gw-b's kernel, from its event log: each NEW
# event with the session's port in order, "commit" when conntrackd -c made
# it (replacing the entry traffic made before, if any), "traffic" when the
# daemon's mapping of the client's datagram did.
binding_origins() {
	grep -F '[NEW]' "$MH_TMP/ct-events-b" |
		grep -E "sport=${CPORT[$1]} dport=$PUB .*src=${CLI_SRV[$1]} .*sport=${REAL[$1]} " |
		awk '{ printf "%s%s", n++ ? " " : "", /progname=conntrackd/ ? "commit" : "traffic" }'
}
committed() { case " $(binding_origins "$1") " in *" commit "*) return 0 ;; esac; return 1; }

# The attacker: from source port 50010 to the public port and the sessions'
# own ports of both servers, v4 and v6, the whole run.
attack_start() {
	local t
	for t in "$SRV1_4 $PUB" "$SRV1_4 ${REAL[c1]}" "$SRV1_4 ${REAL[c2]}" "$SRV2_6 $PUB" \
		"$SRV2_6 ${REAL[c3]}" "$SRV2_4 ${REAL[c3]}" "$SRV1_6 $PUB"; do
		# shellcheck disable=SC2086  # address and port
		mh_ns_bg "$NS_A" "$MH_TMP/atk.$RANDOM" "$MH_BUILD/tests/udpsend" send --from 50010 $t 4000 25
		ATK_PIDS+=("$MH_BG_PID")
	done
}

# After each takeover: c1's captured datagrams replayed (source port 50020)
# to the public port and to c1's session port; forged and sealed ones.
attack_burst() {
	local ut=("$MH_BUILD/tests/udptool")
	mh_udptool "$NS_A" replay "$SRV1_4" "$PUB" "$MH_TMP/c1.pcap" --src-port 50020 >/dev/null &&
		mh_udptool "$NS_A" replay "$SRV1_4" "${REAL[c1]}" "$MH_TMP/c1.pcap" --src-port 50020 >/dev/null ||
		mh_fail "udptool replay"
	mh_nsx "$NS_A" "${ut[@]}" send "$SRV1_4" "$PUB" --forged 20 --src-port 50020 --interval-us 2000 >/dev/null 2>&1
	mh_nsx "$NS_A" "${ut[@]}" send "$SRV2_6" "$PUB" --garbage 20 --src-port 50020 --interval-us 2000 >/dev/null 2>&1
	mh_nsx "$NS_A" "${ut[@]}" send "$SRV1_4" "${REAL[c1]}" --sealed "$K1" 900000 10 --src-port 50020 \
		--interval-us 2000 >/dev/null 2>&1
	return 0
}

# ---------------------------------------------------------------- set-up

mh_step "engines, the gateway daemons with $SP_LINE (conntrackd UDP sync: $SYNC)"
# a wrong filter: UDP not synced (ha_conntrackd_conf applies HA_CTD_EDIT)
[ "$SYNC" = off ] && HA_CTD_EDIT='/Protocol Accept/,/\}/s/^(\s*)UDP$/\1TCP/'
ha_engines_start
for g in a b; do
	ha_gw_conf $g
	echo "$SP_LINE" >>"$(ha_dir $g)/gw.conf"
	ha_gw_start $g
done
gw_relay_conf_to "$MH_TMP/r1.conf" "$HA_CERTS" relay-lab r1 any "$GWA" "$GWB" "$SP_LINE"
gw_relay_conf_to "$MH_TMP/r2.conf" "$HA_CERTS" relay-ha2 r2 all "$GWA" "$GWB" "$SP_LINE"
ha_relay_start "$NS_S" r1
ha_relay_start "$NS_S2" r2
for r in r1 r2; do
	mh_assert "$r is up to both gateways" mh_wait 10 eval \
		"ha_relay_ups_at_least $r $GWA 1 && ha_relay_ups_at_least $r $GWB 1"
done

mh_step "three clients on the public port through gw-a: server1 (IPv4) twice, server2 (IPv6)"
sp_client c1 4 "$NS_S" r1 "$SRV1_4" mhtest1
K1=$MH_KEY
sp_client c2 4 "$NS_S" r1 "$SRV1_4" mhtest2
sp_client c3 6 "$NS_S2" r2 "$SRV2_6" mhtest1
for c in c1 c2 c3; do
	mh_assert "gw-a maps $c to its session's port ${REAL[$c]}" mh_wait 5 mapped a "$c"
	mh_assert "gw-a's conntrack binds $c: $PUB -> ${REAL[$c]}" binding a "$c"
	mh_assert_not "gw-b (backup) has no binding of $c in its kernel" binding b "$c"
	CPORT[$c]=$(cport a "$c")
done
mh_log "gw-a's bindings: $(bindings a c1; bindings a c3)"

mh_step "the sync: gw-a's bindings in gw-b's conntrackd external cache"
for c in c1 c2 c3; do
	if [ "$SYNC" = on ]; then
		mh_assert "gw-b's external cache holds $c's binding" mh_wait 5 ext_binding b "$c"
	else
		mh_assert_not "gw-b's external cache holds no binding of $c (UDP not synced)" ext_binding b "$c"
	fi
done
mh_log "gw-b's external cache: $(ha_ctd b -e 2>/dev/null | grep -F "dport=$PUB" | head -n 3)"
mh_ns_bg "$NS_GB" "$MH_TMP/ct-events-b" conntrack -E -e NEW,DESTROY -p udp -o timestamp,id
sleep 0.3

mh_step "the attacker starts; a capture of c1's datagrams at server1 to replay later"
mh_tcpdump "$NS_S" "$MH_TMP/c1.pcap" udp and dst port "${REAL[c1]}" and src host "$NAT_4" >/dev/null
cap=$MH_TCPDUMP_PID
mh_roundtrip c1 10 || mh_fail "c1 while capturing"
mh_tcpdump_stop "$cap"
mh_tcpdump "$NS_S" "$MH_TMP/probes1.pcap" udp and "(src port 50010 or src port 50020)" >/dev/null
cap1=$MH_TCPDUMP_PID
mh_tcpdump "$NS_S2" "$MH_TMP/probes2.pcap" udp and "(src port 50010 or src port 50020)" >/dev/null
cap2=$MH_TCPDUMP_PID
mh_tcpdump "$NS_A" "$MH_TMP/to-atk.pcap" "udp and (src host $SRV1_4 or src host $SRV2_4 or src host $SRV1_6 or src host $SRV2_6)" >/dev/null
capa=$MH_TCPDUMP_PID
attack_start

# ---------------------------------------------------------------- failover

mh_step "gw-a fails: links down; keepalived, conntrackd and the gateway daemon SIGKILLed"
ha_crash_a
ha_interruptions failover "$HA_T_FAIL" 30 c1 c2 c3 &
ipid=$!
mh_assert "gw-b takes the virtual addresses" mh_wait 10 ha_is_master b
wait "$ipid" || mh_fail "failover: a session did not type again (above)"
mh_log "failover: gw-b master $(($(ha_master_ms b) - HA_T_FAIL)) ms after gw-a failed; $(grep -F 'conntrackd -c' "$(ha_dir b)/notify.log" | tail -n1)"
for c in c1 c2 c3; do
	mh_assert "gw-b's conntrack binds $c: $PUB -> ${REAL[$c]}" binding b "$c"
	mh_log "$c's binding on gw-b made by: $(binding_origins "$c")"
	if [ "$SYNC" = on ]; then
		mh_assert "gw-b's conntrackd committed $c's binding, $PUB -> ${REAL[$c]}" committed "$c"
	else
		mh_assert_not "gw-b's conntrackd committed no binding of $c" committed "$c"
	fi
	mh_assert "gw-b's daemon mapped $c itself (its next authentic datagram)" mh_wait 5 mapped b "$c"
	mh_assert "and pinholed it" ha_gw_has_pinhole b "${FAM[$c]}" "$(nat_addr "$c")" "${CLI_SRV[$c]}" "${REAL[$c]}"
done
mh_log "gw-b's daemon: $(grep -c 'maps to it (provisional' "$(ha_dir b)/gw.log") provisional mappings"
mh_log "gw-b's conntrackd: $(grep -o -E 'Committed [0-9]+ new entries' "$(ha_dir b)/conntrackd.log" | tail -n1)"
attack_burst

mh_step "with gw-a down: a new session through server1's relay (any) via gw-b alone"
sp_client c4 4 "$NS_S" r1 "$SRV1_4" mhtest1
mh_assert "gw-b maps it" mh_wait 5 mapped b c4

mh_step "the clients roam (new NAT ports 42000-42099)"
ha_roam
for c in c1 c2 c3 c4; do mh_assert "$c types after the roam" mh_roundtrip "$c" 20; done
roamed() { ha_ct b -L -p udp --orig-port-dst "$PUB" | grep -q -E "src=$NAT_4 .*sport=420[0-9]{2} "; }
mh_assert "gw-b binds the new ports (420xx)" roamed

# ---------------------------------------------------------------- failback

mh_step "gw-a comes back: links up, conntrackd, its daemon, the relays resync to it"
ha_return_a
mh_assert "gw-a learned c4 from r1's resync" \
	mh_wait 5 ha_gw_has_session a 4 "$SRV1_4" "${REAL[c4]}"
ha_keepalived_start a
mh_assert "gw-a takes the virtual addresses back (preempt ${HA_PREEMPT} s)" mh_wait 15 ha_is_master a
ha_interruptions failback "$(ha_master_ms a)" 30 c1 c2 c3 c4
mh_assert "gw-b gives them up" mh_wait 5 ha_holds_none b
mh_log "gw-a's conntrackd: $(grep -o -E 'Committed [0-9]+ new entries' "$(ha_dir a)/conntrackd.log" | tail -n1) (gw-b's table)"
for c in c1 c2 c3 c4; do
	mh_assert "gw-a maps $c again" mh_wait 5 mapped a "$c"
	mh_assert "gw-a binds $c" binding a "$c"
done
attack_burst

mh_step "after failback: a new session through server2's relay (all)"
sp_client c5 6 "$NS_S2" r2 "$SRV2_6" mhtest2
for g in a b; do mh_assert "gw-$g holds it" ha_gw_has_session $g 6 "$SRV2_6" "${REAL[c5]}"; done

# ---------------------------------------------------------------- attacker

mh_step "the attacker delivered nothing"
sleep 2
for p in "${ATK_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
mh_tcpdump_stop "$cap1"; mh_tcpdump_stop "$cap2"; mh_tcpdump_stop "$capa"
mh_check_eq "attacker datagrams delivered to server1" 0 "$(mh_pcap_count "$MH_TMP/probes1.pcap")"
mh_check_eq "attacker datagrams delivered to server2" 0 "$(mh_pcap_count "$MH_TMP/probes2.pcap")"
mh_check_eq "datagrams from the servers to the attacker" 0 "$(mh_pcap_count "$MH_TMP/to-atk.pcap")"
for g in a b; do
	mh_assert_not "no mapping for the attacker on gw-$g" eval \
		"gw_map $g gwmux4 | grep -q -F $ATK_4 || gw_map $g gwmux6 | grep -q -F $ATK_6"
done

ha_finish "HA pair in single-port mode: bindings synced ($SYNC), failover and failback, no user action, attacker 0"
