#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# mh-test: alone
# t_delete_sticks.sh on the perimeter gateway's table: a pinhole the
# gateway daemon deletes stays deleted while its own client keeps sending
# through the gateway (README, Hardening: "A deleted pinhole stays
# deleted"; with the rule's `update`, 9 of 15 were undone on this table at
# ~300,000 datagrams/s). The gateway daemon (role = gateway, the site PKI
# of mkcerts.sh, no relay: none is needed) with table_flags = "none", so
# the shell can put a stray pinhole into inet mosh_helper_gw (an owned
# table refuses every other program's change). For DS_ROUNDS rounds: a
# stray (client address . client port . server address . server port, the
# NAT router's outside address to a range port of server1, no session,
# timeout 1 h), a flood at full speed from exactly that address and port
# to that server port (spoofsend on the NAT router, forwarded by the
# gateway from its client side to server1, where a table of the test's
# own counts and drops it), the daemon's periodic read-back deletes the
# stray (every idle_timeout/4 = 2 s; the gateway neither logs nor audits
# it, so `nft monitor` in the gateway's namespace tells the delete), and
# then, the flood still running, no datagram of it may reach server1 in
# the 0.5 s from 0.2 s after the delete, and the element must be absent.
# Every round's flood must have reached server1 before its delete.
# Knobs (dslib.sh): MH_DS_ROUNDS, MH_DS_FLOODERS, MH_DS_LEN.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/gwlib.sh
. "$(dirname "$0")/gwlib.sh"
# shellcheck source=tests/integration/dslib.sh
. "$(dirname "$0")/dslib.sh"

mh_require_build mosh-helperd tests/spoofsend
command -v openssl >/dev/null 2>&1 || mh_skip "missing tool: openssl"
gw_setup
gw_certs
G() { mh_nsx "$NS_G" "$@"; }
CLIENT=$NAT_4   # the client side as the gateway sees it (the NAT router's outside address)

# What the gateway forwards of the flood is counted and dropped on server1
# by a table of the test's own: no socket lookup, no ICMP back.
mh_nsx "$NS_S" nft -f - <<NFT || mh_fail "server1: the flood's sink"
table inet t_gw_delete_sticks {
	chain input {
		type filter hook input priority filter; policy accept;
		ip saddr $CLIENT udp sport 40101-40199 counter drop comment "the flood, forwarded by the gateway"
	}
}
NFT
passed() {
	mh_nsx "$NS_S" nft list chain inet t_gw_delete_sticks input |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}

# The router's flood is not tracked (its SNAT table makes conntrack run
# there): faster, and its NAT leaves it alone.
mh_nsx "$NS_R" nft -f - <<NFT || mh_fail "router: notrack rule"
table ip t_gw_delete_sticks {
	chain out {
		type filter hook output priority raw; policy accept;
		ip saddr $CLIENT udp sport 40101-40199 notrack
	}
}
NFT

mh_step "the gateway daemon, table_flags = \"none\" (idle_timeout 8 s: a read-back every 2 s)"
gw_conf "$MH_TMP/gw.conf" "$CERTS" 198.18.3.1:7710 4 2 "$MH_TMP/gw-audit.log"
echo 'table_flags = "none";' >>"$MH_TMP/gw.conf"
gw_daemon_start
MH_DAEMON_PID=$GW_PID MH_DAEMON_LOG=$GW_LOG   # lib.sh's cleanup and diagnostics
ds_skip_if_refreshed "$GW_LOG"
mh_assert "table inet $GW_TABLE is there, not owned" \
	eval "G nft list table inet $GW_TABLE >/dev/null && ! G nft list table inet $GW_TABLE | grep -q 'flags owner'"

# Element deletes in the gateway's namespace, one line each, as they commit.
mh_ns_bg "$NS_G" "$MH_TMP/monitor" timeout 300 stdbuf -oL nft monitor destroy elements
MONITOR=$MH_BG_PID
sleep 0.3
deletes() { # cport sport: the deletes of that stray so far
	grep -c -E "^delete element inet $GW_TABLE pinholes4 \{ $CLIENT \. $1 \. $SRV1_4 \. $2[ }]" "$MH_TMP/monitor"
}
deleted() { [ "$(deletes "$1" "$2")" -ge 1 ]; }
has_stray() { # cport sport
	G nft list set inet "$GW_TABLE" pinholes4 | tr '\n' ' ' |
		grep -q -E "$CLIENT \. $1 \. $SRV1_4 \. $2([^0-9]|$)"
}

ds_add() { G nft add element inet "$GW_TABLE" pinholes4 "{ $CLIENT . $1 . $SRV1_4 . $2 timeout 1h }"; }
ds_deleted() { deleted "$1" "$2"; }
ds_present() { has_stray "$1" "$2"; }
ds_name() { echo "$CLIENT . $1 . $SRV1_4 . $2"; }
ds_rounds "$NS_R" "$SRV1_4" "$CLIENT"
mh_assert "the gateway daemon still runs" kill -0 "$GW_PID"
kill -TERM "$MONITOR" 2>/dev/null
gw_stop_checked   # TERM, then no sanitizer report in its log
MH_DAEMON_PID=
mh_nsx "$NS_R" nft delete table ip t_gw_delete_sticks
mh_nsx "$NS_S" nft delete table inet t_gw_delete_sticks
mh_pass "a deleted pinhole stays deleted under its own flood (gateway table)"
