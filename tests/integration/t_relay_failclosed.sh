#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Role relay fails closed. A relay whose TLS configuration is broken (a
# key that is not its certificate's, relay_addresses outside its
# certificate, no certificate at all) refuses to start with one clear line
# and installs nothing. A "gateway" whose certificate another CA issued is
# refused by the relay during the handshake: it receives no frame at all
# (tests/tools/gwrecorder records what arrives; it is a recorder, not the
# gateway), and a session meanwhile is refused naming that gateway. With
# no gateway reachable the hook refuses at once, well within its timeout,
# naming the gateway, and the user's mosh-server (real, started through
# the hook) is stopped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relaylib.sh"
mh_require_build mosh-helperd mosh-helper-hook tests/gwrecorder
mh_setup
rl_certs
REC=$MH_TMP/rec

# start_fails WHAT EXPECTED-TEXT [config lines...]: the daemon must exit
# non-zero within 20 s, say EXPECTED-TEXT, and leave no table behind.
start_fails() {
	local what=$1 want=$2 rc=0 out=$MH_TMP/start-$RANDOM.log
	shift 2
	MH_CONF=''
	rl_conf "$@"
	timeout 20 ip netns exec "$NS_S" "$MH_BUILD/mosh-helperd" -c "$MH_CONF" -f >"$out" 2>&1 || rc=$?
	mh_log "$what: exit $rc: $(grep -v -E 'debug|reserve' "$out" | tail -n1)"
	mh_assert "$what: refused to start (exit $rc)" test "$rc" != 0 -a "$rc" != 124
	mh_assert "$what: says \"$want\"" grep -q -F "$want" "$out"
	mh_assert_not "$what: no table installed" mh_table_exists
}

mh_step "a broken TLS configuration stops the relay at start"
start_fails "key of another certificate" \
	"relay: TLS: key $RL_CERTS/relay2.key does not match certificate $RL_CERTS/relay-lab.pem" \
	"tls_key = \"$RL_CERTS/relay2.key\";"
start_fails "relay_addresses outside the certificate" \
	"relay: relay_addresses: 198.18.9.9 is not in this relay's certificate" \
	"relay_addresses = [ \"198.18.9.9\" ];"
start_fails "CA file missing" "relay: TLS: cannot read CA file $RL_CERTS/nothere.pem" \
	"tls_ca = \"$RL_CERTS/nothere.pem\";"
MH_CONF=''
mh_write_conf 'role = "relay";' "gateways = [ \"$RL_GW\" ];"
rc=0
out=$("$MH_BUILD/mosh-helperd" -c "$MH_CONF" --check-config 2>&1) || rc=$?
mh_log "no certificate: exit $rc: $out"
mh_assert "no certificate: a configuration error naming tls_ca" \
	test "$rc" != 0 -a -n "$(echo "$out" | grep -F 'role: "relay" needs tls_ca')"

mh_step "a gateway certificate of another CA: refused before any frame"
rl_rec_start "$REC.1" ok refused gateway-other
MH_CONF=''
rl_conf "gateway_timeout = 1500;"
mh_start_daemon
mh_wait 10 grep -q -F "gateway $RL_GW: gateway certificate /CN=gateway-other is not issued by the site CA" \
	"$MH_DAEMON_LOG" || mh_fail "the relay did not refuse the gateway's certificate"
mh_ok "the relay refused it: $(grep -m1 -F 'gateway-other' "$MH_DAEMON_LOG" | sed 's/.*relay: //')"
mh_assert_not "the relay never counted it up" grep -q "relay: gateway $RL_GW up" "$MH_DAEMON_LOG"
mh_log "recorder: $(tr '\n' '|' <"$REC.1")"
mh_assert_not "the impostor received no frame" grep -q -E '^(HELLO|OPEN|END|RESYNC|HEARTBEAT|MALFORMED)' "$REC.1"
mh_assert "it saw the handshake fail" rl_has "$REC.1" '^HANDSHAKE_FAILED'
t0=$(date +%s%3N)
if mh_session_try mhtest1; then mh_fail "a session was accepted with no trusted gateway"; fi
dt=$(($(date +%s%3N) - t0))
mh_log "the user sees, after $dt ms: $(tail -n1 "$MH_HOOK_ERR")"
mh_assert "the user is told which gateway and why" grep -q -F \
	"gateway $RL_GW unreachable: gateway certificate /CN=gateway-other is not issued by the site CA" "$MH_HOOK_ERR"
mh_assert "the user's mosh-server ($MH_SPID) is stopped" mh_wait 5 mh_server_gone "$MH_SPID"
mh_assert_not "still no frame at the impostor" grep -q -E '^(HELLO|OPEN|END|RESYNC)' "$REC.1"

mh_step "no gateway reachable: the hook refuses at once"
rl_rec_stop
mh_wait 10 grep -q -F "gateway $RL_GW: cannot connect: Connection refused" "$MH_DAEMON_LOG" ||
	mh_fail "the relay did not notice the gateway gone"
t0=$(date +%s%3N)
if mh_session_try mhtest2; then mh_fail "a session was accepted with no gateway"; fi
dt=$(($(date +%s%3N) - t0))
mh_log "the user sees, after $dt ms: $(tail -n1 "$MH_HOOK_ERR")"
mh_assert "refused at once, well within hook_timeout (5 s): $dt ms" test "$dt" -lt 2500
mh_assert "the user is told the gateway is unreachable" grep -q -F \
	"gateway $RL_GW unreachable: cannot connect: Connection refused" "$MH_HOOK_ERR"
mh_assert "the user's mosh-server ($MH_SPID) is stopped" mh_wait 5 mh_server_gone "$MH_SPID"
mh_assert "no session is left open on the relay" test -z "$(mh_sessions)"

mh_pass "relay fails closed: broken TLS config, impostor gateway, no gateway"
