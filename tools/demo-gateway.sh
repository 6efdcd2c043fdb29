#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make demo-gateway: the perimeter gateway (README, "Perimeter gateway")
# with real parts in throw-away network namespaces: a client behind a NAT
# router, the gateway (role = gateway, under the README's forward policy)
# and two login servers each with a relay (role = relay); certificates made
# by the README's own openssl lines; real TLS, the real hook, mosh-server
# and mosh-client to each server, a roam, the gateway's table before and
# after, mosh-helperctl status on both sides. The namespaces and daemons go
# on every exit (gwlib.sh's trap).
# Usage: tools/demo-gateway.sh BUILD_DIR   (builds nothing; make demo-gateway does)
set -u
B=${1:?usage: tools/demo-gateway.sh BUILD_DIR}
MH_SRC=$(cd "$(dirname "$0")/.." && pwd)
MH_BUILD=$(cd "$B" && pwd) || exit 1
export MH_SRC MH_BUILD
MH_FAMILY=4
MH_LOGLEVEL=info
# shellcheck source=tests/integration/lib.sh
. "$MH_SRC/tests/integration/lib.sh"
# shellcheck source=tests/integration/gwlib.sh
. "$MH_SRC/tests/integration/gwlib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "demo-gateway: needs root (it creates network namespaces); try: sudo make demo-gateway" >&2
	exit 1
fi
for f in mosh-helperd mosh-helper-hook mosh-helperctl; do
	[ -x "$MH_BUILD/$f" ] || { echo "demo-gateway: $MH_BUILD/$f is missing (make first)" >&2; exit 1; }
done

indent() { sed 's/^/    /'; }
# nft's listing of the gateway's table (stderr: xt NFQUEUE notes, see demo.sh)
show_table() { mh_nsx "$NS_G" nft list table inet "$GW_TABLE" 2>/dev/null | indent; }
show_sets() {
	local s
	for s in sessions4 pinholes4; do
		echo "    set $s: $(gw_set "$s" | tr '\n' ' ' |
			sed -n 's/.*elements = {\([^}]*\)}.*/\1/p' | sed 's/  */ /g; s/^ //; s/ $//')"
	done
}
ctl_status() { "$MH_BUILD/mosh-helperctl" -s "$1" status 2>&1 | indent; }
typed() { # client text regex
	mh_type "$1" "$2"
	if mh_wait_screen "$1" "$3" 20; then
		mh_screen "$1" | grep -v '^$' | tail -n 2 | sed 's/^/    | /'
	else
		echo "    (no answer within 20 s)"; MH_FAILED=1
	fi
}

start=$SECONDS
mh_step "step: namespaces: client -> NAT router -> gateway -> login1 $SRV1_4, login2 $SRV2_4"
gw_setup >/dev/null
chmod 755 "$MH_TMP"
mh_users >/dev/null
MH_TMUX=$MH_TMP/tmux.sock
SNAT4_ADDR=$NAT_4
CERTS=$MH_TMP/pki
GW_LOG=$MH_TMP/gw.log
echo "    client 198.18.1.2, NAT to $NAT_4; gateway 198.18.3.1 (outside), 198.18.0.1 / 198.18.4.1 (inside)"

mh_step "step: certificates: the README's openssl lines, run as shown"
mkdir -p "$CERTS"
"$MH_SRC/tools/readme-block.sh" gateway-pki >"$MH_TMP/pki.sh" || exit 1
grep -v '^#' "$MH_TMP/pki.sh" | indent
(cd "$CERTS" && bash -e "$MH_TMP/pki.sh") >"$MH_TMP/pki.log" 2>&1 ||
	mh_fail "the openssl lines failed: $(tail -n 3 "$MH_TMP/pki.log")"
grep ': OK$' "$MH_TMP/pki.log" | indent
openssl x509 -in "$CERTS/login2.pem" -noout -ext subjectAltName 2>/dev/null | indent

mh_step "step: the gateway's own forward policy (README), then mosh-helperd role = gateway"
"$MH_SRC/tools/readme-block.sh" gateway-policy >"$MH_TMP/policy.nft" || exit 1
mh_nsx "$NS_G" nft -f "$MH_TMP/policy.nft" || mh_fail "the README's forward policy does not load"
echo "    loaded the README's table inet filter (forward: the range only with the accept mark)"
gw_conf "$MH_TMP/gw.conf" "$CERTS" "[::]:7710" 30 5 "$MH_TMP/gw-audit.log"
sed -i '/^tls_crl/d; s/^log_level = .*/log_level = "info";/' "$MH_TMP/gw.conf"
echo "relay_servers = [ \"198.18.0.0/24\", \"198.18.4.0/24\", \"fd00::/64\", \"fd00:4::/64\" ];" \
	>>"$MH_TMP/gw.conf"
grep -E '^(role|tls_|relay_listen|relay_servers|control_socket)' "$MH_TMP/gw.conf" | indent
gw_daemon_start >/dev/null

mh_step "step: a relay (role = relay) on each login server, TLS to the gateway"
gw_relay_conf r1 login1 198.18.0.1 'relay_name = "login1";'
gw_relay_conf r2 login2 198.18.4.1 'relay_name = "login2";'
grep -E '^(role|tls_cert|gateways)' "$MH_TMP/r1.conf" | indent
gw_relay_start "$NS_S" r1 >/dev/null
gw_relay_start "$NS_S2" r2 >/dev/null
sleep 1.2   # a heartbeat
echo "    gateway# mosh-helperctl status"
ctl_status "$MH_TMP/gw.sock"

mh_step "step: the gateway's table before any session (inet $GW_TABLE)"
show_table

mh_step "step: a user starts mosh-server through the hook on each login server"
NS_S=$NS_S MH_CONF=$MH_TMP/r1.conf SRV=$SRV1_4 mh_session_try mhtest1 ||
	mh_fail "login1 refused: $(cat "$MH_HOOK_ERR")"
P1=$MH_PORT K1=$MH_KEY
NS_S=$NS_S2 MH_CONF=$MH_TMP/r2.conf SRV=$SRV2_4 mh_session_try mhtest1 ||
	mh_fail "login2 refused: $(cat "$MH_HOOK_ERR")"
P2=$MH_PORT K2=$MH_KEY
echo "    login1: MOSH CONNECT $P1 (relay r1 announced it, the gateway acknowledged)"
echo "    login2: MOSH CONNECT $P2"

mh_step "step: mosh-client in the client namespace to each server, through NAT and gateway"
SRV=$SRV1_4 mh_client_start c1 "$P1" "$K1" >/dev/null
SRV=$SRV2_4 mh_client_start c2 "$P2" "$K2" >/dev/null
typed c1 'echo "login1 via gateway: $((6*7))"' 'login1 via gateway: 42'
typed c2 'echo "login2 via gateway: $((6*8))"' 'login2 via gateway: 48'
mh_wait 5 gw_has_pinhole 4 "$NAT_4" "$SRV1_4" "$P1"
mh_wait 5 gw_has_pinhole 4 "$NAT_4" "$SRV2_4" "$P2"
show_sets

mh_step "step: roam: the router now maps the client to 198.18.3.12"
old=$NAT_4
gw_roam 198.18.3.12 >/dev/null
typed c1 'echo "login1 after the roam: $((6*7+1))"' 'login1 after the roam: 43'
typed c2 'echo "login2 after the roam: $((6*8+1))"' 'login2 after the roam: 49'
mh_wait 5 gw_has_pinhole 4 "$NAT_4" "$SRV1_4" "$P1" || MH_FAILED=1
mh_wait 5 gw_has_pinhole 4 "$NAT_4" "$SRV2_4" "$P2" || MH_FAILED=1
echo "    pinholes from $NAT_4 learned from the new address (the ones from $old idle out)"

mh_step "step: the gateway's table after (inet $GW_TABLE)"
show_table
echo "    gateway# mosh-helperctl status"
ctl_status "$MH_TMP/gw.sock"
echo "    login1# mosh-helperctl status"
ctl_status "$MH_TMP/r1/ctl.sock"

mh_step "step: the users exit; the gateway drops both sessions at once"
mh_type c1 exit; mh_type c2 exit
if mh_wait 15 gw_no_session 4 "$SRV1_4" "$P1" && mh_wait 5 gw_no_session 4 "$SRV2_4" "$P2"; then
	show_sets
else
	echo "    (a session stayed on the gateway)"; MH_FAILED=1
fi

mh_step "summary (after $((SECONDS - start)) s; namespaces and daemons removed at exit)"
echo "    certificates: the README's openssl lines; TLS 1.3 relay -> gateway, both verified"
echo "    sessions: login1 port $P1 and login2 port $P2 typed through the gateway, before and after a roam"
echo "    gateway: its forward table held the range closed but for the pinholes it learned"
if [ "$MH_FAILED" = 0 ]; then
	exit 0
fi
echo "demo-gateway FAILED: see the output above"
exit 1
