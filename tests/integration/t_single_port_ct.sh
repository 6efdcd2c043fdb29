#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Single-port mode: a session's end cuts its conntrack flows. With the real
# mosh through the public port, the flows DNATed to an ended session's port
# leave the server's conntrack table at once (they were there before), the
# other sessions' flows stay and keep working, and a datagram from the very
# source address and port of the ended session is a new source again: it
# is mapped to the live session it authenticates for, not sent on to the
# dead port. Ends by exit (c2) and by killing mosh-server (c1); a roam that
# evicts a mapping (one pinhole per session) cuts that mapping's flow too.
# A forged-source replay of c2's datagrams leaves a flow from a NAT port
# to c2's port; when c1 roams onto that port, its first datagram cuts the
# flow and the next is mapped to c1 (before: the flow took every datagram
# of c1 to c2's port for as long as c1 kept sending, or until it hopped).
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/udptool
mh_setup
PUB=60000
MH_IDLE=30
MH_HANDSHAKE=300   # the spare session c3 waits without a client
mh_start_daemon "single_port = { enable = true; port = $PUB; };" "max_pinholes_per_session = 1;"

# "orig-src orig-sport orig-dport reply-sport" per UDP entry of the server
ct_flows() {
	mh_nsx "$NS_S" conntrack -L -f "ipv$MH_FAMILY" -p udp 2>/dev/null | awk '{
		ns = 0; nd = 0; nsrc = 0; os = osp = odp = rsp = ""
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "src" && ++nsrc == 1) os = kv[2]
			else if (kv[1] == "sport") { if (++ns == 1) osp = kv[2]; else rsp = kv[2] }
			else if (kv[1] == "dport" && ++nd == 1) odp = kv[2]
		}
		if (rsp != "") print os, osp, odp, rsp
	}'
}
# flows through the public port whose replies come from port $1
flows_to() { ct_flows | awk -v p="$PUB" -v r="$1" '$3 == p && $4 == r'; }
has_flows_to() { [ -n "$(flows_to "$1")" ]; }
no_flows_to() { [ -z "$(flows_to "$1")" ]; }
from_c2_to() { ct_flows | grep -qx "$(mh_snat_addr) $sport $PUB $1"; }  # c2's source -> port $1
real_port() { # the UDP port mosh-server pid $1 is bound to
	mh_nsx "$NS_S" ss -Hulnp | awk -v p="pid=$1," 'index($0, p) { n = split($4, a, ":"); print a[n]; exit }'
}
client_port() { # the UDP port of mosh-client in tmux session $1
	local pid
	pid=$(mh_client_pid "$1") || return 1
	mh_nsx "$NS_C" ss -Huanp | awk -v p="pid=$pid," 'index($0, p) { n = split($4, a, ":"); print a[n]; exit }'
}
snat_port_of() { # the router's source port for the client's port $1
	mh_nsx "$NS_R" conntrack -L -f "ipv$MH_FAMILY" -p udp --orig-port-src "$1" 2>/dev/null |
		awk '{ nd = 0; for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "dport" && ++nd == 2) { print kv[2]; exit } } }'
}

mh_step "single port, conntrack: three sessions through UDP port $PUB (IPv$MH_FAMILY)"
declare -A REAL KEY SPID
for spec in mhtest1:c1 mhtest2:c2 mhtest1:c3; do
	user=${spec%%:*} name=${spec#*:}
	mh_session "$user"
	mh_assert_eq "the client of $name is told the public port" "$PUB" "$MH_PORT"
	REAL[$name]=$(real_port "$MH_SPID") KEY[$name]=$MH_KEY SPID[$name]=$MH_SPID
	mh_log "$name: mosh-server pid $MH_SPID on port ${REAL[$name]}"
	[ "$name" = c3 ] || mh_client_start "$name" "$PUB" "$MH_KEY"
done
for name in c1 c2; do
	mh_assert "$name: typed text comes back" mh_roundtrip "$name" 20
	mh_assert "$name: conntrack holds a flow from port $PUB to port ${REAL[$name]}" \
		mh_wait 5 has_flows_to "${REAL[$name]}"
done
mh_log "server conntrack: $(ct_flows | tr '\n' ';')"

r2=${REAL[c2]} r1=${REAL[c1]} r3=${REAL[c3]}
from_to() { ct_flows | grep -qx "$(mh_snat_addr) $1 $PUB $2"; }  # source port $1 -> port $2

# IPv4 only: udptool forges IPv4 sources
if [ "$MH_FAMILY" = 4 ]; then
	mh_step "single port, conntrack: a forged-source replay of c2's datagrams does not hold c1's next source"
	ports0=$(mh_snat_ports)
	FORGED=41290   # a NAT port outside that range: c1 has not used it
	s2=$(snat_port_of "$(client_port c2)")
	mh_tcpdump "$NS_S" "$MH_TMP/c2.pcap" "udp dst port $PUB and src port $s2"
	cap=$MH_TCPDUMP_PID
	mh_assert "c2 works while its datagrams are captured" mh_roundtrip c2 20
	mh_assert "and once more" mh_roundtrip c2 20
	mh_tcpdump_stop "$cap"
	mh_log "captured $(mh_pcap_count "$MH_TMP/c2.pcap") of c2's datagrams (source port $s2)"
	mh_signal_client STOP c2   # the NAT port below is c1's alone
	# a forger next to the router replays them from the NAT's address
	mh_udptool "$NS_R" replay "$SRV" "$PUB" "$MH_TMP/c2.pcap" --spoof-src "$(mh_snat_addr)" \
		--src-port "$FORGED" --interval-us 20000 || mh_fail "the forged-source replay"
	mh_assert "the forged source $(mh_snat_addr) port $FORGED has a flow to c2's port $r2" \
		mh_wait 3 from_to "$FORGED" "$r2"
	# one NAT port only: c1 cannot hop away from it
	mh_roam_port "$FORGED-$FORGED"
	if ! mh_roundtrip c1 8; then
		mh_log "flows from port $FORGED: $(ct_flows | awk -v p="$FORGED" '$2 == p' | tr '\n' ';')"
		mh_fail "c1 works from that source within 8 s (before its own port hop)"
	fi
	mh_ok "c1 works from that source within 8 s (before its own port hop)"
	mh_assert "its flow goes to c1's port $r1" mh_wait 3 from_to "$FORGED" "$r1"
	mh_assert_not "and none to c2's port $r2" from_to "$FORGED" "$r2"
	mh_assert "the daemon deleted the stale flow" mh_daemon_log_has \
		"port $r1: \\[?$(mh_snat_addr)\\]?:$FORGED authenticates for it but had a flow to port $r2: flow deleted"
	mh_roam_port "$ports0"
	mh_signal_client CONT c2
	mh_assert "c1 works after roaming back" mh_roundtrip c1 20
	mh_assert "c2 works" mh_roundtrip c2 20
fi

mh_step "single port, conntrack: c2 exits; its flows go, c1's stay"
cport=$(client_port c2)
sport=$(snat_port_of "$cport")
mh_log "c2's mosh-client: client port $cport, seen by the server as $(mh_snat_addr) port $sport"
mh_assert "the server's flow of c2 is $(mh_snat_addr) port $sport -> $PUB -> $r2" \
	from_c2_to "$r2"
mh_type c2 "exit"
mh_assert "c2's session ends" mh_wait 10 mh_no_session "$r2"
mh_assert "no conntrack flow is left to port $r2 within 1 s of its end" mh_wait 1 no_flows_to "$r2"
mh_assert "the daemon logged how many flows it deleted" \
	mh_daemon_log_has "port $r2: [1-9][0-9]* conntrack flows? through port $PUB deleted"
mh_assert "c1's flows are still there" has_flows_to "$r1"
mh_assert "c1 still works" mh_roundtrip c1 20
no_client_port() { [ -z "$(client_port "$1")" ]; }
mh_assert "c2's mosh-client has exited (its port is free)" mh_wait 15 no_client_port c2

mh_step "single port, conntrack: c2's source address and port are a new source again"
# authentic for c3, from c2's very client port: the router maps it to the
# same address and port the server saw for c2
mh_udptool "$NS_C" send "$SRV" "$PUB" --sealed "${KEY[c3]}" 0 3 --src-port "$cport" --interval-us 100000 ||
	mh_fail udptool
mh_assert "the flow from $(mh_snat_addr) port $sport now goes to c3's port $r3" mh_wait 3 from_c2_to "$r3"
mh_assert_not "and none from it to the dead port $r2" from_c2_to "$r2"
mh_assert "the daemon mapped that source to c3" \
	mh_daemon_log_has "port $r3: \\[?$(mh_snat_addr)\\]?:$sport maps to it"

mh_step "single port, conntrack: c1 roams; the evicted mapping's flow goes"
old1=$(flows_to "$r1")
mh_log "c1's flows before the roam: $(echo "$old1" | tr '\n' ';')"
mh_roam_port 41200-41299
mh_assert "c1 works after the roam" mh_roundtrip c1 20
old_gone() { # none of c1's flows from before the roam is left
	local f
	while read -r f; do
		[ -z "$f" ] || ! ct_flows | grep -qx "$f" || return 1
	done <<<"$old1"
}
mh_assert "c1's flow from before the roam is deleted with its evicted mapping" mh_wait 3 old_gone
mh_assert "the daemon logged it" mh_daemon_log_has "port $r1: conntrack flow of evicted"
mh_assert "c1's new flow is there" has_flows_to "$r1"

mh_step "single port, conntrack: c1's mosh-server is killed; its flows go"
mh_assert "c1 has flows before" has_flows_to "$r1"
kill -TERM "${SPID[c1]}" || mh_fail "kill mosh-server of c1"
mh_assert "c1's session ends" mh_wait 10 mh_no_session "$r1"
mh_assert "no conntrack flow is left to port $r1 within 1 s of its end" mh_wait 1 no_flows_to "$r1"

mh_pass "single port conntrack clean-up (IPv$MH_FAMILY)"
