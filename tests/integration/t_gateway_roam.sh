#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The perimeter gateway end to end, the rest of issue 13's acceptance list
# that t_gateway leaves out, real parts only (gateway daemon, a relay
# daemon on each login server, the hook, mosh-server, mosh-client behind
# the NAT router). Checked: an IPv4 session through relay r1 (its TLS to
# the gateway over IPv4) and an IPv6 session through relay r2 (its TLS
# over IPv6) both type; a roam of each (the router maps the client to
# another address) types again from a new gateway pinhole; a client
# stopped (SIGSTOP) beyond idle_timeout loses its gateway pinhole, keeps
# its session, and types again after SIGCONT; relay r1 SIGKILLed and
# restarted: its session is kept (the gateway holds it for
# relay_orphan_grace, the restarted relay's resync lists it) and types;
# the gateway stalled (SIGSTOP): the hook refuses within its timeout with
# the reason, the user's mosh-server is stopped, and once the gateway runs
# again no session is left open for it. (A gateway with no listener at
# all: t_relay_failclosed.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gwlib.sh"

mh_require_build mosh-helperd mosh-helper-hook
mh_require_tools mosh-server mosh-client tmux openssl conntrack
gw_setup
chmod 755 "$MH_TMP"
mh_users
MH_TMUX=$MH_TMP/tmux.sock
SNAT4_ADDR=$NAT_4 SNAT6_ADDR=$NAT_6   # the SSH client hints the hook passes
gw_certs
ROAM_4=198.18.3.3 ROAM_6=fd00:3::3

mh_step "the gateway, relay r1 (server1, TLS over IPv4), relay r2 (server2, TLS over IPv6)"
gw_conf "$MH_TMP/gw.conf" "$CERTS" "[::]:7710" 6 3 "$MH_TMP/gw-audit.log"
gw_daemon_start
gw_relay_conf r1 relay-lab 198.18.0.1
gw_relay_conf r2 relay-lab2 fd00:4::1
gw_relay_start "$NS_S" r1
gw_relay_start "$NS_S2" r2
mh_assert "r2's connection reached the gateway over IPv6" \
	grep -q -E 'relay #[0-9]+ from \[?fd00:4::2.*relay r2|relay #[0-9]+ from \[?fd00:4::2' "$GW_LOG"

mh_step "an IPv4 session to server1 (r1) and an IPv6 session to server2 (r2)"
gw_session "$NS_S" r1 "$SRV1_4" mhtest1 || mh_fail "server1's session refused: $(cat "$MH_HOOK_ERR")"
P1=$MH_PORT K1=$MH_KEY S1=$MH_SPID
MH_FAMILY=6 gw_session "$NS_S2" r2 "$SRV2_6" mhtest1 ||
	mh_fail "server2's IPv6 session refused: $(cat "$MH_HOOK_ERR")"
P2=$MH_PORT K2=$MH_KEY S2=$MH_SPID
mh_log "server1 port $P1 (pid $S1), server2 [$SRV2_6] port $P2 (pid $S2)"
mh_assert "the gateway's sessions4 holds $SRV1_4 . $P1" gw_has_session 4 "$SRV1_4" "$P1"
mh_assert "its sessions6 holds $SRV2_6 . $P2" gw_has_session 6 "$SRV2_6" "$P2"
SRV=$SRV1_4 mh_client_start c1 "$P1" "$K1"
SRV=$SRV2_6 mh_client_start c2 "$P2" "$K2"
mh_assert "c1 types through the gateway to server1" mh_roundtrip c1 20
mh_assert "c2 types through the gateway to server2 over IPv6" mh_roundtrip c2 20
mh_assert "pinhole $NAT_4 -> $SRV1_4 . $P1" mh_wait 5 gw_has_pinhole 4 "$NAT_4" "$SRV1_4" "$P1"
mh_assert "pinhole $NAT_6 -> $SRV2_6 . $P2" mh_wait 5 gw_has_pinhole 6 "$NAT_6" "$SRV2_6" "$P2"

mh_step "a roam of each: the router maps the client to $ROAM_4 and $ROAM_6"
mh_nsx "$NS_R" ip addr add "$ROAM_4/24" dev rg
mh_nsx "$NS_R" ip addr add "$ROAM_6/64" dev rg nodad
mh_nsx "$NS_R" nft flush table inet gw_nat
mh_nsx "$NS_R" nft add rule inet gw_nat post oifname rg ip saddr 198.18.1.0/24 snat ip to "$ROAM_4"
mh_nsx "$NS_R" nft add rule inet gw_nat post oifname rg ip6 saddr fd00:1::/64 snat ip6 to "$ROAM_6"
mh_nsx "$NS_R" conntrack -D -f ipv4 -p udp >/dev/null 2>&1
mh_nsx "$NS_R" conntrack -D -f ipv6 -p udp >/dev/null 2>&1
mh_assert "c1 types after its roam" mh_roundtrip c1 25
mh_assert "c2 types after its roam" mh_roundtrip c2 25
mh_assert "a gateway pinhole from $ROAM_4 to server1" mh_wait 5 gw_has_pinhole 4 "$ROAM_4" "$SRV1_4" "$P1"
mh_assert "a gateway pinhole from $ROAM_6 to server2" mh_wait 5 gw_has_pinhole 6 "$ROAM_6" "$SRV2_6" "$P2"
mh_assert "both roams audited by the gateway" eval \
	"[ \$(grep -c '\"event\":\"roam\"' '$MH_TMP/gw-audit.log') -ge 2 ]"

mh_step "c1 stopped (SIGSTOP) beyond idle_timeout (8 s), then resumed"
mh_signal_client STOP c1
t0=$SECONDS
mh_assert "its gateway pinhole expires within idle_timeout + 4 s" \
	mh_wait 12 gw_no_pinhole 4 "$ROAM_4" "$SRV1_4" "$P1"
mh_log "pinhole gone $((SECONDS - t0)) s after SIGSTOP"
mh_assert "its session stays on the gateway" gw_has_session 4 "$SRV1_4" "$P1"
mh_signal_client CONT c1
mh_assert "c1 types again after SIGCONT" mh_roundtrip c1 30
mh_assert "through a new gateway pinhole" mh_wait 5 gw_has_pinhole 4 "$ROAM_4" "$SRV1_4" "$P1"

mh_step "relay r1 SIGKILLed and restarted: its session is kept"
kill -KILL "$PID_r1"
mh_wait 5 mh_pid_gone "$PID_r1" || mh_fail "SIGKILL of r1"
mh_assert "the gateway saw r1 go down" mh_wait 5 grep -q 'relay /CN=relay-lab (connection [0-9]*) down' "$GW_LOG"
mh_assert "c1 types with r1 down (the gateway's pinhole and key)" mh_roundtrip c1 15
gw_relay_start "$NS_S" r1
sleep 7   # beyond relay_orphan_grace (6 s) and relay_resync_grace (3 s)
mh_assert "the session is kept past the graces" gw_has_session 4 "$SRV1_4" "$P1"
mh_assert_not "not ended at the gateway" grep -q "server $SRV1_4:$P1 .* ended" "$GW_LOG"
mh_assert "its mosh-server ($S1) runs" mh_server_alive "$S1"
mh_assert "c1 types after r1's restart" mh_roundtrip c1 15

mh_step "the gateway stalled (SIGSTOP): the hook refuses within its timeout"
kill -STOP "$GW_PID"
t0=$(date +%s%3N)
if MH_FAMILY=6 gw_session "$NS_S2" r2 "$SRV2_6" mhtest2; then
	kill -CONT "$GW_PID"; mh_fail "the session was accepted with the gateway stalled"
fi
dt=$(($(date +%s%3N) - t0))
BAD_PORT=$MH_PORT BAD_SPID=$MH_SPID
mh_log "refused after $dt ms: $(tail -n1 "$MH_HOOK_ERR")"
mh_assert "within the hook's timeout (5 s): $dt ms" test "$dt" -lt 5000
mh_assert "the user is told the gateway did not answer" grep -q -i 'gateway' "$MH_HOOK_ERR"
mh_assert_not "no MOSH CONNECT line" grep -q 'MOSH CONNECT' "$MH_HOOK_OUT"
[ -n "$BAD_SPID" ] && mh_assert "the user's mosh-server ($BAD_SPID) is stopped" mh_wait 5 mh_server_gone "$BAD_SPID"
kill -CONT "$GW_PID"
sleep 5   # the stalled OPEN reaches the gateway late: beyond relay_resync_grace
mh_assert "once the gateway runs again, no session of server2 but c2's" \
	eval "[ \"\$(gw_set sessions6 | grep -o -F '$SRV2_6 .' | wc -l)\" = 1 ] && gw_has_session 6 '$SRV2_6' '$P2'"
mh_assert "c2 types on" mh_roundtrip c2 15

gw_stop_checked "$MH_TMP"/r[12].log
mh_pass "gateway: IPv6, roams, a stopped client, a relay restart, a stalled gateway"
