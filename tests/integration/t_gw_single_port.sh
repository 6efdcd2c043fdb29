#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Single-port mode at the perimeter gateway (issue 13, issue 14 item 2),
# real parts only: the gateway daemon (role = gateway, single_port on UDP
# 60000) and a relay daemon on each login server (their hooks tell clients
# the public port), real mosh-server and mosh-client behind the NAT router.
# Checked: a client on the public port of each server at once (server1 over
# IPv4, server2 over IPv6), both type; the gateway's mapping (client .
# client port . server -> that session's own port), its pinhole and the
# conntrack entry of the NAT binding (what conntrackd must sync,
# contrib/ha/conntrackd.conf); a roam (the router's SNAT moves the client
# to another port) maps again and types; the attacker's probes to the
# public port and to the servers' own ports deliver 0 and bring no ICMP,
# including datagrams from a pinholed client's spoofed address and port
# and an authentic one sealed with the session key, sent straight to the
# session's own port (the guard: a server's port is reached only through
# the public port); an exit removes the session, its mapping and its
# conntrack entry. A forged-source replay of c3's datagrams (a third
# session, on server1) leaves a flow from a NAT port to c3's port; when c1
# roams onto that port, its first datagram cuts the flow and the next is
# mapped to c1 (before: the flow took every datagram of c1 to c3's port
# for as long as c1 kept sending).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gwlib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/udptool tests/spoofsend
mh_require_tools mosh-server mosh-client tmux openssl conntrack ss
gw_setup
chmod 755 "$MH_TMP"
mh_users
MH_TMUX=$MH_TMP/tmux.sock
SNAT4_ADDR=$NAT_4 SNAT6_ADDR=$NAT_6   # the SSH client hint the hook passes
PUB=60000
ATT4=198.18.2.2 ATT6=fd00:2::2
CERTS=$MH_TMP/certs
GW_LOG=$MH_TMP/gw.log
sh "$MH_SRC/tests/tools/mkcerts.sh" "$CERTS" >"$MH_TMP/mkcerts.log" 2>&1 ||
	mh_fail "mkcerts.sh: $(tail -n 3 "$MH_TMP/mkcerts.log")"

# ---------------------------------------------------------------- helpers

gw_start() {
	local n
	n=$(grep -c 'ready (gateway)' "$GW_LOG" 2>/dev/null)
	ip netns exec "$NS_G" "$MH_BUILD/mosh-helperd" -c "$MH_TMP/gw.conf" -f >>"$GW_LOG" 2>&1 &
	GW_PID=$!
	disown "$GW_PID"
	MH_PIDS+=("$GW_PID")
	mh_wait 15 eval "[ \$(grep -c 'ready (gateway)' '$GW_LOG') -gt ${n:-0} ]" ||
		mh_fail "the gateway did not start: $(tail -n 5 "$GW_LOG")"
}

relay_start() { # ns name cert gateway-address
	local ns=$1 name=$2
	cat >"$MH_TMP/$name.conf" <<CONF
role = "relay";
ports = "60000-61000";
control_socket = "$MH_TMP/$name.sock";
server_path = "/usr/bin/mosh-server";
log_level = "debug";
audit_log = "$MH_TMP/$name-audit.log";
user = "";
tls_ca = "$CERTS/site-ca.pem";
tls_cert = "$CERTS/$3.pem";
tls_key = "$CERTS/$3.key";
gateways = [ "$4:7710" ];
relay_heartbeat = 1;
gateway_timeout = 1500;
single_port = { enable = true; port = $PUB; };
CONF
	chmod 644 "$MH_TMP/$name.conf"
	ip netns exec "$ns" "$MH_BUILD/mosh-helperd" -c "$MH_TMP/$name.conf" -f >>"$MH_TMP/$name.log" 2>&1 &
	MH_PIDS+=("$!")
	disown $!
	mh_wait 15 grep -q 'relay: gateway .* up' "$MH_TMP/$name.log" ||
		mh_fail "relay $name did not come up: $(tail -n 5 "$MH_TMP/$name.log")"
}

session() { # family ns relay server user
	MH_FAMILY=$1 NS_S=$2 MH_CONF=$MH_TMP/$3.conf SRV=$4 mh_session_try "$5" ||
		mh_fail "session on $4 refused: $(tail -n 2 "$MH_HOOK_ERR")"
}

real_port() { # ns pid: the UDP port that mosh-server is bound to
	mh_nsx "$1" ss -Hulnp | awk -v p="pid=$2," 'index($0, p) { n = split($4, a, ":"); print a[n]; exit }'
}

# mapping FAM CLIENT SERVER PORT: the gateway maps CLIENT (any port) . SERVER to PORT
gw_map() { mh_nsx "$NS_G" nft list map inet "$GW_TABLE" "$1" 2>/dev/null; }
mapping() { gw_map "gwmux$1" | tr '\n' ' ' | grep -q -E "$2 \. [0-9]+ \. $3( expires [0-9a-z]+)? : $4([^0-9]|$)"; }
mapped_ports() { # FAM CLIENT SERVER PORT: the client ports of those mappings
	gw_map "gwmux$1" | tr ',{}' '\n\n\n' | grep -E "$2 \. [0-9]+ \. $3( expires [0-9a-z]+)? : $4( |$)" |
		sed -n 's/.*\. \([0-9]*\) \..*/\1/p'
}
no_mapping() { ! mapping "$@"; }

# ct_binding FAM SERVER PORT: a conntrack entry on the gateway whose original
# direction is a client to SERVER:PUB and whose reply comes from SERVER:PORT
ct_binding() {
	mh_nsx "$NS_G" conntrack -L -f "ipv$1" -p udp --orig-port-dst "$PUB" 2>/dev/null |
		grep -q -E "dst=$2 .*dport=$PUB .*src=$2 .*sport=$3 "
}
no_ct_binding() { ! ct_binding "$@"; }

# arrivals NS FILE FILTER... -- CMD...: datagrams matching FILTER that reach
# the server namespace NS's link while CMD runs
arrivals() {
	local ns=$1 f=$2 filt=()
	shift 2
	while [ "$1" != -- ]; do filt+=("$1"); shift; done
	shift
	mh_tcpdump "$ns" "$f" "${filt[@]}" >/dev/null
	local pid=$MH_TCPDUMP_PID
	"$@" >/dev/null 2>&1
	sleep 0.5
	mh_tcpdump_stop "$pid"
	mh_pcap_count "$f"
}

ut() { mh_nsx "$NS_A" "$MH_BUILD/tests/udptool" send "$@" --interval-us 2000 >/dev/null 2>&1; }

attacker_probes() { # from the attacker's own addresses
	ut "$SRV1_4" "$PUB" --garbage 20
	ut "$SRV1_4" "$PUB" --forged 20
	ut "$SRV2_6" "$PUB" --garbage 20
	ut "$SRV2_6" "$PUB" --forged 20
	ut "$SRV1_4" "$REAL1" --forged 10
	ut "$SRV2_6" "$REAL2" --forged 10
	ut "$SRV1_4" 60999 --garbage 10
	ut "$SRV2_4" 60999 --garbage 10
	ut "$SRV1_4" "$REAL1" --sealed "$K1" 900000 10
	ut "$SRV2_6" "$REAL2" --sealed "$K2" 900000 10
}

# ---------------------------------------------------------------- set-up

mh_step "the table as nft/mosh_helper-gateway-single-port.nft shows it"
gw_nft gw-load --idle 60000 --single-port "$PUB" --provisional-ms 10000 >"$MH_TMP/load.out" 2>&1 ||
	mh_fail "gw-load: $(cat "$MH_TMP/load.out")"
normalize() { # as t_gw_datapath.sh
	sed -E -e '/^#/d' -e 's/ # handle [0-9]+//' -e 's/ # progname .*//' \
		-e '/^\tflags /{N;d}' -e 's/counter packets [0-9]+ bytes [0-9]+/counter/' \
		-e 's/[[:space:]]+$//' "$@"
}
mh_nsx "$NS_G" nft list table inet "$GW_TABLE" 2>/dev/null | normalize >"$MH_TMP/got"
normalize "$MH_SRC/nft/mosh_helper-gateway-single-port.nft" >"$MH_TMP/want"
if [ "$(gw_nft probe)" = native ]; then   # the reference shows the compat target
	sed -E -i 's/(packets) .*( comment "(unknown source|client|server))/\1 \2/' "$MH_TMP/got" "$MH_TMP/want"
fi
mh_assert "the listing equals the reference" diff -u "$MH_TMP/want" "$MH_TMP/got"
mh_nsx "$NS_G" nft delete table inet "$GW_TABLE"

mh_step "the gateway with single_port on UDP $PUB, a relay on each login server"
gw_conf "$MH_TMP/gw.conf" "$CERTS" "[::]:7710" 6 3 "$MH_TMP/gw-audit.log"
echo "single_port = { enable = true; port = $PUB; };" >>"$MH_TMP/gw.conf"
gw_start
mh_assert "the gateway says single-port mode" grep -q "single-port mode: .* UDP port $PUB" "$GW_LOG"
relay_start "$NS_S" r1 relay-lab 198.18.0.1
relay_start "$NS_S2" r2 relay-lab2 198.18.4.1

# ---------------------------------------------------------------- 1

mh_step "two clients on the public port: server1 over IPv4, server2 over IPv6"
session 4 "$NS_S" r1 "$SRV1_4" mhtest1
mh_assert_eq "server1's client is told the public port" "$PUB" "$MH_PORT"
K1=$MH_KEY S1=$MH_SPID REAL1=$(real_port "$NS_S" "$MH_SPID")
session 6 "$NS_S2" r2 "$SRV2_6" mhtest2
mh_assert_eq "server2's client is told the public port" "$PUB" "$MH_PORT"
K2=$MH_KEY S2=$MH_SPID REAL2=$(real_port "$NS_S2" "$MH_SPID")
mh_log "server1's session on its own port $REAL1, server2's on $REAL2"
[ -n "$REAL1" ] && [ -n "$REAL2" ] || mh_fail "no real port for a mosh-server"
mh_assert "the gateway holds $SRV1_4 . $REAL1" gw_has_session 4 "$SRV1_4" "$REAL1"
mh_assert "and $SRV2_6 . $REAL2" gw_has_session 6 "$SRV2_6" "$REAL2"
SRV=$SRV1_4 mh_client_start c1 "$PUB" "$K1"
SRV=$SRV2_6 mh_client_start c2 "$PUB" "$K2"
mh_assert "c1 types through the public port to server1" mh_roundtrip c1 20
mh_assert "c2 types through the public port to server2" mh_roundtrip c2 20
mh_assert "mapping $NAT_4 . * . $SRV1_4 -> $REAL1" mh_wait 5 mapping 4 "$NAT_4" "$SRV1_4" "$REAL1"
mh_assert "mapping $NAT_6 . * . $SRV2_6 -> $REAL2" mh_wait 5 mapping 6 "$NAT_6" "$SRV2_6" "$REAL2"
mh_assert "pinhole $NAT_4 -> $SRV1_4 . $REAL1" gw_has_pinhole 4 "$NAT_4" "$SRV1_4" "$REAL1"
mh_assert "pinhole $NAT_6 -> $SRV2_6 . $REAL2" gw_has_pinhole 6 "$NAT_6" "$SRV2_6" "$REAL2"
mh_assert "conntrack: $NAT_4 -> $SRV1_4:$PUB, replies from port $REAL1" ct_binding 4 "$SRV1_4" "$REAL1"
mh_assert "conntrack: $NAT_6 -> [$SRV2_6]:$PUB, replies from port $REAL2" ct_binding 6 "$SRV2_6" "$REAL2"
mh_log "$(mh_nsx "$NS_G" conntrack -L -p udp --orig-port-dst "$PUB" 2>/dev/null)"

# ---------------------------------------------------------------- 2

mh_step "roam: the router moves c1 to source ports 40000-40999"
gw_snat_set rg "meta l4proto udp snat ip to $NAT_4:40000-40999" "snat ip6 to $NAT_6" ||
	mh_fail "router SNAT"
mh_nsx "$NS_R" conntrack -D -f ipv4 -p udp >/dev/null 2>&1
mh_assert "c1 types after the roam" mh_roundtrip c1 30
roamed() { mapped_ports 4 "$NAT_4" "$SRV1_4" "$REAL1" | awk '$1 >= 40000 && $1 <= 40999 { f = 1 } END { exit !f }'; }
mh_assert "its new source is mapped (a port in 40000-40999)" mh_wait 5 roamed
C1PORT=$(mapped_ports 4 "$NAT_4" "$SRV1_4" "$REAL1" | awk '$1 >= 40000 && $1 <= 40999' | head -n1)
mh_assert "and pinholed" gw_has_pinhole 4 "$NAT_4" "$SRV1_4" "$REAL1"
mh_log "c1 now comes from $NAT_4:$C1PORT"
mh_assert "c2 types on" mh_roundtrip c2 20

# ---------------------------------------------------------------- 3

mh_step "the attacker probes the public port and the servers' own ports"
i0=$(gw_unreach_in "$NS_A")
n1=$(arrivals "$NS_S" "$MH_TMP/a1.pcap" udp and src host "$ATT4" -- attacker_probes)
n2=$(arrivals "$NS_S2" "$MH_TMP/a2.pcap" udp and "(src host $ATT4 or src host $ATT6)" -- attacker_probes)
mh_check_eq "attacker datagrams delivered to server1" 0 "$n1"
mh_check_eq "attacker datagrams delivered to server2" 0 "$n2"
mh_check_eq "ICMP unreachables to the attacker" 0 $(($(gw_unreach_in "$NS_A") - i0))
mh_log "kernel drops at the public port: short $(gw_rule_count gw_mux_in 'shorter than any') header $(gw_rule_count gw_mux_in "not a client's SSP header")"

mh_step "spoofed as c1 ($NAT_4:$C1PORT, pinholed) straight to server1's own port $REAL1"
spoof() {
	mh_nsx "$NS_A" "$MH_BUILD/tests/spoofsend" "$SRV1_4" "$REAL1" --src "$NAT_4" \
		--src-port "$C1PORT" --len 333 --count 20 --pps 200 --ssp-seq 800000
}
n=$(arrivals "$NS_S" "$MH_TMP/sp.pcap" udp and src host "$NAT_4" and "udp[4:2] = 341" -- spoof)
mh_check_eq "spoofed datagrams delivered to server1" 0 "$n"
mh_log "guard drops: $(gw_rule_count gw_in 'reached only through the public port')"
mh_assert "c1 types on" mh_roundtrip c1 20
mh_assert "c2 types on" mh_roundtrip c2 20

# ---------------------------------------------------------------- 4

mh_step "the gateway SIGKILLed and restarted: mappings and bindings kept, the relays resync"
kill -KILL "$GW_PID"
mh_wait 5 mh_pid_gone "$GW_PID" || mh_fail "SIGKILL"
mh_assert "while it is down, c1's mapping stays in the kernel" mapping 4 "$NAT_4" "$SRV1_4" "$REAL1"
ups=$(grep -c 'relay .* up' "$GW_LOG")
gw_start
mh_assert "both relays come back" mh_wait 15 eval "[ \$(grep -c 'relay .* up' '$GW_LOG') -ge $((ups + 2)) ]"
mh_assert "c1 types again" mh_roundtrip c1 20
mh_assert "c2 types again" mh_roundtrip c2 20

# ---------------------------------------------------------------- 5

mh_step "exit on server2's session: its session, mapping and NAT binding go"
mh_type c2 "exit"
mh_wait 10 mh_server_gone "$S2" || mh_fail "server2's mosh-server ($S2) did not exit"
mh_assert "the gateway ends it" mh_wait 3 gw_no_session 6 "$SRV2_6" "$REAL2"
mh_assert "its mapping with it" mh_wait 2 no_mapping 6 "$NAT_6" "$SRV2_6" "$REAL2"
mh_assert "and its conntrack binding" mh_wait 2 no_ct_binding 6 "$SRV2_6" "$REAL2"
mh_assert "server1's session types on" mh_roundtrip c1 15

# Servers share port numbers, and a NAT may give two clients the same
# source address and port when they go to different servers. A session's
# end cuts, for each of its clients, that client's flows to its own
# server only. Before, it cut the client's flows to the session's port
# number on every server: c1's, from the same NAT port to server1's port
# of the same number, was deleted too (and came back, a new entry, only
# at c1's next datagram).
mh_step "server2's IPv4 session on server1's port number, c1 and c4 on one NAT port: c4's end leaves c1's flow alone"
session 4 "$NS_S2" r2 "$SRV2_4" mhtest2
K4=$MH_KEY S4=$MH_SPID REAL4=$(real_port "$NS_S2" "$MH_SPID")
mh_assert_eq "server2's mosh-server takes port $REAL1, as server1's did" "$REAL1" "$REAL4"
SRV=$SRV2_4 mh_client_start c4 "$PUB" "$K4"
mh_assert "c4 types through the public port to server2" mh_roundtrip c4 20
mh_assert "conntrack: $NAT_4 -> $SRV2_4:$PUB, replies from port $REAL4" \
	mh_wait 5 ct_binding 4 "$SRV2_4" "$REAL4"
SHARED=41291
gw_snat_set rg "meta l4proto udp snat ip to $NAT_4:$SHARED" "snat ip6 to $NAT_6" ||
	mh_fail "router SNAT"
mh_nsx "$NS_R" conntrack -D -f ipv4 -p udp >/dev/null 2>&1
mh_assert "c1 types from $NAT_4:$SHARED" mh_roundtrip c1 20
mh_assert "c4 types from $NAT_4:$SHARED" mh_roundtrip c4 20
flow_id() { # SERVER: the id of the gateway's entry from $NAT_4:$SHARED to SERVER:$PUB, to port $REAL1
	mh_nsx "$NS_G" conntrack -L -f ipv4 -p udp --orig-src "$NAT_4" --orig-port-src "$SHARED" \
		--orig-port-dst "$PUB" -o id 2>/dev/null |
		grep -E "dst=$1 .*src=$1 .*sport=$REAL1 " | sed -n 's/.*id=\([0-9]*\).*/\1/p' | head -n 1
}
c1_flow_id() { flow_id "$SRV1_4"; }
mh_assert "the gateway has c4's flow from $NAT_4:$SHARED" mh_wait 5 eval '[ -n "$(flow_id "$SRV2_4")" ]'
mh_assert "and c1's" mh_wait 5 eval '[ -n "$(c1_flow_id)" ]'
id1=$(c1_flow_id)
mh_log "c1's conntrack entry: id ${id1:-none}"
[ -n "$id1" ] || mh_fail "no conntrack entry of c1's"
mh_type c4 "exit"
mh_wait 10 mh_server_gone "$S4" || mh_fail "server2's mosh-server ($S4) did not exit"
mh_assert "the gateway ends server2's session" mh_wait 3 gw_no_session 4 "$SRV2_4" "$REAL4"
mh_assert "its conntrack binding goes" mh_wait 2 no_ct_binding 4 "$SRV2_4" "$REAL4"
mh_assert_eq "c1's conntrack entry is the same one" "$id1" "$(c1_flow_id)"
mh_assert "c1 types on" mh_roundtrip c1 15
gw_snat_set rg "meta l4proto udp snat ip to $NAT_4:40000-40999" "snat ip6 to $NAT_6" ||
	mh_fail "router SNAT"
mh_nsx "$NS_R" conntrack -D -f ipv4 -p udp >/dev/null 2>&1
mh_assert "c1 types from the NAT's range again" mh_roundtrip c1 20

# ---------------------------------------------------------------- 6

mh_step "a forged-source replay of c3's datagrams does not hold c1's next source"
session 4 "$NS_S" r1 "$SRV1_4" mhtest2
K3=$MH_KEY REAL3=$(real_port "$NS_S" "$MH_SPID")
[ -n "$REAL3" ] || mh_fail "no real port for c3's mosh-server"
SRV=$SRV1_4 mh_client_start c3 "$PUB" "$K3"
mh_assert "c3 types through the public port to server1 (port $REAL3)" mh_roundtrip c3 20
FORGED=41290   # outside the router's 40000-40999: c1 has not used it
mh_tcpdump "$NS_S" "$MH_TMP/c3.pcap" udp and dst port "$REAL3" and src host "$NAT_4"
cap=$MH_TCPDUMP_PID
mh_assert "c3 types while its datagrams are captured at server1" mh_roundtrip c3 20
mh_assert "and once more" mh_roundtrip c3 20
mh_tcpdump_stop "$cap"
mh_log "captured $(mh_pcap_count "$MH_TMP/c3.pcap") of c3's datagrams"
mh_signal_client STOP c3   # the one NAT port below is c1's alone
# a forger next to the router replays them from the NAT's address
mh_udptool "$NS_R" replay "$SRV1_4" "$PUB" "$MH_TMP/c3.pcap" --spoof-src "$NAT_4" \
	--src-port "$FORGED" --interval-us 20000 || mh_fail "the forged-source replay"
# gw_flow SPORT PORT: the gateway's conntrack carries $NAT_4:SPORT ->
# $SRV1_4:$PUB to server1's port PORT
gw_flow() {
	mh_nsx "$NS_G" conntrack -L -f ipv4 -p udp --orig-src "$NAT_4" --orig-port-src "$1" \
		--orig-port-dst "$PUB" 2>/dev/null | grep -q -E "dst=$SRV1_4 .*src=$SRV1_4 .*sport=$2 "
}
mh_assert "the forged source $NAT_4:$FORGED has a flow to c3's port $REAL3" \
	mh_wait 3 gw_flow "$FORGED" "$REAL3"
# one NAT port only: c1 cannot hop away from it
gw_snat_set rg "meta l4proto udp snat ip to $NAT_4:$FORGED" "snat ip6 to $NAT_6" ||
	mh_fail "router SNAT"
mh_nsx "$NS_R" conntrack -D -f ipv4 -p udp >/dev/null 2>&1
t0=$SECONDS
if ! mh_roundtrip c1 8; then
	mh_log "the gateway's flows from $NAT_4:$FORGED: $(mh_nsx "$NS_G" conntrack -L -p udp \
		--orig-port-src "$FORGED" 2>/dev/null | tr '\n' ';')"
	mh_log "the gateway's drops: $(grep -o -E 'drop .*: [a-z_]+ \(' "$GW_LOG" |
		sed -E 's/.*: ([a-z_]+) \($/\1/' | sort | uniq -c | tr '\n' ' ')"
	mh_fail "c1 types from $NAT_4:$FORGED within 8 s (before its own port hop)"
fi
mh_ok "c1 types from $NAT_4:$FORGED within 8 s ($((SECONDS - t0)) s)"
mh_assert "its flow goes to c1's port $REAL1" mh_wait 3 gw_flow "$FORGED" "$REAL1"
mh_assert_not "and none to c3's port $REAL3" gw_flow "$FORGED" "$REAL3"
mh_assert "the gateway deleted the stale flow" grep -q -E \
	"server $SRV1_4:$REAL1: $NAT_4:$FORGED authenticates for it but had a flow to server $SRV1_4:$REAL3: flow deleted" "$GW_LOG"
mh_log "$(grep -m1 -o 'session .* authenticates for it .*' "$GW_LOG")"
gw_snat_set rg "meta l4proto udp snat ip to $NAT_4:40000-40999" "snat ip6 to $NAT_6" ||
	mh_fail "router SNAT"
mh_nsx "$NS_R" conntrack -D -f ipv4 -p udp >/dev/null 2>&1
mh_signal_client CONT c3
mh_assert "c1 types after roaming back" mh_roundtrip c1 20
mh_assert "c3 types" mh_roundtrip c3 20

gw_stop_checked "$MH_TMP"/r[12].log
mh_pass "single-port gateway: two servers on one public port, roam, probes, guard, exit, stale flow"
