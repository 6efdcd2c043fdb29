#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# mosh-helperctl status on the perimeter gateway and on a relay (issue 13
# item 5, issue 14 item 4), with real parts: the gateway daemon and a relay
# on each of the two login servers, over real TLS with the certificates
# README.md's "Perimeter gateway" section makes (its openssl lines, run
# here as the README shows them), the gateway under the README's forward
# policy. Checked: the gateway shows its role and each relay up (name,
# subject, heartbeat heard within a few seconds, the session it holds for
# server1's relay); a relay shows its gateway up with the gateway's
# subject; relay r2 stopped: the gateway shows it down while r1 stays up;
# the gateway stopped: r1 shows it down with the reason; restarted: up
# again. The gateway's socket refuses an announcement and other users.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gwlib.sh"

mh_require_build mosh-helperd mosh-helper-hook mosh-helperctl tests/ctlprobe
mh_require_tools mosh-server openssl
gw_setup
chmod 755 "$MH_TMP"
mh_users
CERTS=$MH_TMP/pki
GW_LOG=$MH_TMP/gw.log
CTL=$MH_BUILD/mosh-helperctl

mh_step "certificates: README.md's openssl lines (tools/readme-block.sh gateway-pki)"
mkdir -p "$CERTS"
"$MH_SRC/tools/readme-block.sh" gateway-pki >"$MH_TMP/pki.sh" || mh_fail "no gateway-pki block in README.md"
(cd "$CERTS" && bash -e "$MH_TMP/pki.sh") >"$MH_TMP/pki.log" 2>&1 ||
	mh_fail "README's openssl lines failed: $(tail -n 3 "$MH_TMP/pki.log")"
mh_assert "the README's certificates verify against its CA" \
	grep -q '^login2.pem: OK' "$MH_TMP/pki.log"

mh_step "the gateway under the README's forward policy"
"$MH_SRC/tools/readme-block.sh" gateway-policy >"$MH_TMP/policy.nft" || mh_fail "no gateway-policy block"
mh_nsx "$NS_G" nft -f "$MH_TMP/policy.nft" || mh_fail "the README's forward policy does not load"
gw_conf "$MH_TMP/gw.conf" "$CERTS" "[::]:7710" 30 3 "$MH_TMP/gw-audit.log"
sed -i '/^tls_crl/d' "$MH_TMP/gw.conf"   # the README's PKI has no CRL
gw_daemon_start
GW_SOCK=$MH_TMP/gw.sock
gw_relay_conf r1 login1 198.18.0.1
gw_relay_conf r2 login2 198.18.4.1 'relay_name = "login2";'
gw_relay_start "$NS_S" r1
gw_relay_start "$NS_S2" r2

gw_status() { "$CTL" -s "$GW_SOCK" status >"$MH_TMP/gw.status" 2>&1 && cat "$MH_TMP/gw.status"; }
r1_status() { "$CTL" -s "$MH_TMP/r1/ctl.sock" status >"$MH_TMP/r1.status" 2>&1 && cat "$MH_TMP/r1.status"; }
# a row's field: the row whose subject column (last) is SUBJECT
row_of() { awk -v s="$2" '$NF == s { print $'"$3"' }' "$1"; }
relay_state() { gw_status >/dev/null; [ "$(row_of "$MH_TMP/gw.status" "/CN=$1.example" 2)" = "$2" ]; }
gateway_state() { r1_status >/dev/null; [ "$(awk '$1 == "198.18.0.1:7710" { print $2 }' "$MH_TMP/r1.status")" = "$1" ]; }

mh_step "a session on server1 through relay r1"
NS_S=$NS_S MH_CONF=$MH_TMP/r1.conf SRV=$SRV1_4 mh_session_try mhtest1 ||
	mh_fail "server1's session refused: $(cat "$MH_HOOK_ERR")"
mh_assert "the gateway holds it" gw_has_session 4 "$SRV1_4" "$MH_PORT"

mh_step "mosh-helperctl status on the gateway: both relays up"
sleep 1.5   # a heartbeat (relay_heartbeat = 1) reaches the daemon
gw_status | sed 's/^/    /'
mh_assert "role gateway" grep -q '^role gateway$' "$MH_TMP/gw.status"
mh_assert "header RELAY STATE SINCE HEARTBEAT SESSIONS CONN SUBJECT" \
	grep -q -E '^RELAY +STATE +SINCE +HEARTBEAT +SESSIONS +CONN +SUBJECT$' "$MH_TMP/gw.status"
mh_check_eq "login1's relay: state" up "$(row_of "$MH_TMP/gw.status" /CN=login1.example 2)"
mh_check_eq "login1's relay: sessions held" 1 "$(row_of "$MH_TMP/gw.status" /CN=login1.example 5)"
mh_check_eq "login2's relay: name, state, sessions" "login2 up 0" \
	"$(row_of "$MH_TMP/gw.status" /CN=login2.example '1" "$2" "$5')"
hb=$("$CTL" -s "$GW_SOCK" --json status | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
print(" ".join(str(r.get("heartbeat_ago_ms", -1)) for r in rows if r["type"] == "relay"))')
mh_log "heartbeats heard (ms ago): $hb"
mh_assert "each relay's last heartbeat within 3 s" \
	eval "[ -n '$hb' ] && for v in $hb; do [ \$v -ge 0 ] && [ \$v -le 3000 ] || exit 1; done"

mh_step "mosh-helperctl status on relay r1: its gateway up"
r1_status | sed 's/^/    /'
mh_assert "role relay" grep -q '^role relay$' "$MH_TMP/r1.status"
mh_check_eq "gateway 198.18.0.1:7710: state, sessions, subject" "up 1 /CN=gw.example" \
	"$(awk '$1 == "198.18.0.1:7710" { print $2, $5, $7 }' "$MH_TMP/r1.status")"

mh_step "relay r2 stopped: the gateway shows it down, r1 still up"
kill -TERM "$PID_r2"
mh_wait 10 mh_pid_gone "$PID_r2" || mh_fail "relay r2 did not stop"
mh_assert "login2 down on the gateway" mh_wait 5 relay_state login2 down
gw_status | sed 's/^/    /'
mh_check_eq "login2: no connection, no session held" "- 0" \
	"$(row_of "$MH_TMP/gw.status" /CN=login2.example '6" "$5')"
mh_check_eq "login1 still up" up "$(row_of "$MH_TMP/gw.status" /CN=login1.example 2)"

mh_step "the gateway stopped: r1 shows it down, with the reason"
kill -TERM "$GW_PID"
mh_wait 10 mh_pid_gone "$GW_PID" || mh_fail "the gateway did not stop"
mh_assert "198.18.0.1:7710 down on r1" mh_wait 8 gateway_state down
r1_status | sed 's/^/    /'
mh_assert "a reason line under it" grep -q -E '^    reason: .+' "$MH_TMP/r1.status"
mh_assert_not "the gateway's socket is gone with it" "$CTL" -s "$GW_SOCK" status

mh_step "the gateway restarted: up again on r1; the gateway sees r1 anew"
gw_daemon_start
mh_assert "198.18.0.1:7710 up on r1" mh_wait 15 gateway_state up
mh_assert "login1 up on the gateway" mh_wait 5 relay_state login1 up
gw_status | sed 's/^/    /'

mh_step "the gateway's socket is the admin's alone"
mh_check_eq "socket mode" 600 "$(stat -c %a "$GW_SOCK")"
out=$(runuser -u mhtest1 -- "$CTL" -s "$GW_SOCK" status 2>&1)
mh_log "mhtest1: $out"
mh_assert "another user cannot ask it" test -n "$out"
mh_assert_not "nor gets a status" eval "printf '%s' '$out' | grep -q '^role'"
out=$("$MH_BUILD/tests/ctlprobe" "$GW_SOCK" raw valid 2>&1)
mh_log "a well-formed announcement: $out"
mh_assert "an announcement to the gateway is refused, saying why" \
	eval "printf '%s' '$out' | grep -q 'is a gateway'"
out=$(runuser -u mhtest1 -- "$CTL" -s "$MH_TMP/r1/ctl.sock" status 2>&1)
mh_assert "a relay's status is for root only" eval "printf '%s' '$out' | grep -q MHC_ERR_PERM"

gw_stop_checked "$MH_TMP"/r[12].log
mh_pass "mosh-helperctl status: gateway and relay links, up and down"
