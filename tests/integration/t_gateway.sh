#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The perimeter gateway end to end (issue 13), real parts only: the gateway
# daemon (role = gateway, its TLS relay listener) in the gateway namespace,
# a relay daemon (role = relay, certificate naming its own server address)
# on each of the two login servers with the real hook and mosh-server, and
# real mosh-client behind the NAT router. Checked: a session to each server
# types through relay -> gateway and shows in the gateway's sessions and
# pinholes; the attacker's probes to both servers' range ports deliver 0
# and bring no ICMP; exit ends the session on the gateway within 1 s (END
# from the relay); a relay whose certificate does not name the session's
# server address refuses it (the relay's own check, before any OPEN); a
# second connection with r1's certificate while r1 is up (a clone) is
# refused with the reason and touches none of r1's sessions; a relay whose
# valid certificate names an address outside the gateway's relay_servers
# (the login servers' prefixes) is refused that address; a SIGKILLed
# gateway restarted learns the live session again from the relays' resync.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gwlib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/udpsend
mh_require_tools mosh-server mosh-client tmux openssl
gw_setup
chmod 755 "$MH_TMP"
mh_users
MH_TMUX=$MH_TMP/tmux.sock
SNAT4_ADDR=$NAT_4   # the SSH client hint the hook passes (lib.sh's mh_snat_addr)
gw_certs

# ---------------------------------------------------------------- helpers

send() { mh_nsx "$1" "$MH_BUILD/tests/udpsend" send --from "$2" "$3" "$4" "${5:-1}" 5 >/dev/null || mh_fail "udpsend in $1"; }

probe_arrivals() { # fn args...: probe datagrams (source port 50010) at the servers
	local c1 c2
	mh_tcpdump "$NS_S" "$MH_TMP/pa1.pcap" udp and src port 50010 >/dev/null
	c1=$MH_TCPDUMP_PID
	mh_tcpdump "$NS_S2" "$MH_TMP/pa2.pcap" udp and src port 50010 >/dev/null
	c2=$MH_TCPDUMP_PID
	"$@" >/dev/null
	sleep 0.5
	mh_tcpdump_stop "$c1"
	mh_tcpdump_stop "$c2"
	echo $(($(mh_pcap_count "$MH_TMP/pa1.pcap") + $(mh_pcap_count "$MH_TMP/pa2.pcap")))
}
probes() {
	send "$NS_A" 50010 "$SRV1_4" "$P1" 5
	send "$NS_A" 50010 "$SRV2_4" "$P2" 5
	send "$NS_A" 50010 "$SRV1_4" 60999 5
	send "$NS_A" 50010 "$SRV2_4" 60999 5
}

# ---------------------------------------------------------------- set-up

mh_step "the gateway (role = gateway, its relay listener on [::]:7710)"
gw_conf "$MH_TMP/gw.conf" "$CERTS" "[::]:7710" 6 3 "$MH_TMP/gw-audit.log"
echo "relay_servers = [ \"$SRV1_4/32\", \"198.18.4.0/24\", \"fd00::/64\", \"fd00:4::/64\" ];" \
	>>"$MH_TMP/gw.conf"
gw_daemon_start

mh_step "a relay on each login server, each certificate naming its own server"
gw_relay_conf r1 relay-lab 198.18.0.1
gw_relay_conf r2 relay-lab2 198.18.4.1
gw_relay_start "$NS_S" r1
gw_relay_start "$NS_S2" r2

# ---------------------------------------------------------------- 1

mh_step "a session to each server through relay -> gateway"
gw_session "$NS_S" r1 "$SRV1_4" mhtest1 || mh_fail "server1's session refused: $(cat "$MH_HOOK_ERR")"
P1=$MH_PORT K1=$MH_KEY S1=$MH_SPID
gw_session "$NS_S2" r2 "$SRV2_4" mhtest1 || mh_fail "server2's session refused: $(cat "$MH_HOOK_ERR")"
P2=$MH_PORT K2=$MH_KEY S2=$MH_SPID
mh_log "server1 port $P1 (pid $S1), server2 port $P2 (pid $S2)"
mh_assert "the gateway's sessions4 holds $SRV1_4 . $P1" gw_has_session 4 "$SRV1_4" "$P1"
mh_assert "and $SRV2_4 . $P2" gw_has_session 4 "$SRV2_4" "$P2"
SRV=$SRV1_4 mh_client_start c1 "$P1" "$K1"
SRV=$SRV2_4 mh_client_start c2 "$P2" "$K2"
mh_assert "c1 types through the gateway to server1" mh_roundtrip c1 20
mh_assert "c2 types through the gateway to server2" mh_roundtrip c2 20
mh_assert "pinhole $NAT_4 -> $SRV1_4 . $P1" mh_wait 5 gw_has_pinhole 4 "$NAT_4" "$SRV1_4" "$P1"
mh_assert "pinhole $NAT_4 -> $SRV2_4 . $P2" mh_wait 5 gw_has_pinhole 4 "$NAT_4" "$SRV2_4" "$P2"

# ---------------------------------------------------------------- 2

mh_step "the attacker probes both servers' range ports"
i0=$(gw_unreach_in "$NS_A")
n=$(probe_arrivals probes)
mh_check_eq "probe datagrams delivered to the servers" 0 "$n"
mh_check_eq "ICMP unreachables to the attacker" 0 $(($(gw_unreach_in "$NS_A") - i0))

# ---------------------------------------------------------------- 3

mh_step "exit on server2's session: END from relay r2 ends it on the gateway"
mh_type c2 "exit"
mh_wait 10 mh_server_gone "$S2" || mh_fail "server2's mosh-server ($S2) did not exit"
t0=$(date +%s%3N)
mh_wait 5 gw_no_session 4 "$SRV2_4" "$P2"
dt=$(($(date +%s%3N) - t0))
mh_log "the gateway dropped the session $dt ms after mosh-server exited"
mh_assert "within 1 s of the exit ($dt ms)" test "$dt" -le 1000
mh_assert "its pinhole with it" gw_no_pinhole 4 "$NAT_4" "$SRV2_4" "$P2"
mh_assert "the gateway logged the relay's END" grep -q -E "$SRV2_4.*$P2|$P2.*$SRV2_4" "$GW_LOG"
mh_assert "server1's session types on" mh_roundtrip c1 15

# ---------------------------------------------------------------- 4

mh_step "a second connection with relay r1's certificate while r1 is up (a clone): refused"
SID1=$(sed -n "s/.* server $SRV1_4:$P1 opened by relay .* (sid \([0-9]*\),.*/\1/p" "$GW_LOG" | tail -n1)
# HELLO, then (were it taken) an empty resync and the END of r1's session
clone=$(mh_nsx "$NS_S2" "$MH_BUILD/tests/relayprobe" 198.18.4.1 7710 "$CERTS" \
	clone relay-lab "$SRV1_4" "$P1" "${SID1:-1}")
mh_log "relayprobe clone (r1's session is sid ${SID1:-?}):"; echo "$clone" | sed 's/^/    /'
mh_assert "its HELLO is refused with the reason" grep -q -E \
	'^answer HELLO id 1: state "another connection with this certificate subject is up' <<<"$clone"
mh_assert "and the gateway closes the connection" grep -q '^closed' <<<"$clone"
mh_assert "the gateway logged the refusal" \
	grep -q 'relay /CN=relay-lab (clone, connection [0-9]*) refused: another connection' "$GW_LOG"
mh_assert "and audited it" grep -q '"event":"relay_refused".*another connection' "$MH_TMP/gw-audit.log"
sleep 4   # beyond relay_resync_grace (3 s), had its resync been taken
mh_assert "r1's session is still in the gateway's sessions" gw_has_session 4 "$SRV1_4" "$P1"
mh_assert "and its pinhole" gw_has_pinhole 4 "$NAT_4" "$SRV1_4" "$P1"
mh_assert "c1 types on" mh_roundtrip c1 15

mh_step "relay_servers: relay1's valid certificate names 198.18.1.2, outside them"
out=$(mh_nsx "$NS_S2" "$MH_BUILD/tests/relayprobe" 198.18.4.1 7710 "$CERTS" open relay1 198.18.1.2)
echo "$out" | sed 's/^/   | /'
mh_assert "its OPEN is refused with the reason" grep -q -F \
	"answer OPEN id 2: not_allowed \"server address is outside the gateway's relay_servers\"" <<<"$out"
mh_assert "the gateway logged it" mh_wait 2 grep -q 'names a server address outside relay_servers; refused' "$GW_LOG"
mh_assert_not "nothing for 198.18.1.2 in the gateway's sessions" eval "gw_set sessions4 | grep -q -F '198.18.1.2 .'"
mh_assert "c1 types on" mh_roundtrip c1 15

mh_step "a relay whose certificate does not name its server (relay1's certificate on server2)"
kill -TERM "$PID_r2"; mh_wait 10 mh_pid_gone "$PID_r2" || mh_fail "relay r2 did not stop"
gw_relay_conf r3 relay1 198.18.4.1
gw_relay_start "$NS_S2" r3
if gw_session "$NS_S2" r3 "$SRV2_4" mhtest2; then mh_fail "the session was accepted"; fi
BAD_SPID=$MH_SPID
mh_log "the user sees: $(tail -n1 "$MH_HOOK_ERR")"
# (the relay checks its own certificate before it announces: the refusal
# is the relay's, and the gateway's own check is not reached)
mh_assert "the hook's user sees the refusal: $SRV2_4 not in the relay's certificate" \
	grep -q -E "$SRV2_4 .*not in this relay's certificate" "$MH_HOOK_ERR"
mh_assert_not "no MOSH CONNECT line" grep -q 'MOSH CONNECT' "$MH_HOOK_OUT"
[ -n "$BAD_SPID" ] && mh_assert "its mosh-server is stopped" mh_wait 5 mh_server_gone "$BAD_SPID"
mh_assert_not "nothing for server2 in the gateway's sessions" eval "gw_set sessions4 | grep -q -F '$SRV2_4 .'"

# ---------------------------------------------------------------- 5

kill -TERM "$PID_r3"; mh_wait 10 mh_pid_gone "$PID_r3" || mh_fail "relay r3 did not stop"

mh_step "the gateway SIGKILLed and restarted: the relays resend, the live session types again"
kill -KILL "$GW_PID"
mh_wait 5 mh_pid_gone "$GW_PID" || mh_fail "SIGKILL"
ups=$(gw_relay_ups r1)
gw_daemon_start
mh_assert "relay r1 reconnects" mh_wait 15 gw_relay_ups_at_least r1 $((ups + 1))
mh_assert "the restarted gateway adopted the session, held until r1 resyncs" \
	grep -q 'adopted: 1 session kept without keys' "$GW_LOG"
sleep 7   # beyond relay_orphan_grace (6 s): the resync confirmed it
mh_assert "the session is kept past the orphan grace" gw_has_session 4 "$SRV1_4" "$P1"
mh_assert "c1 types again" mh_roundtrip c1 20

gw_stop_checked "$MH_TMP"/r[123].log
mh_pass "gateway end to end: relays, gateway, real mosh, probes, END, refusal, resync"
