#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# mh-test: alone
# A pinhole the daemon deletes stays deleted while its own client keeps
# sending (README, Hardening: "A deleted pinhole stays deleted", once the
# known limit "a delete undone by the pinhole's own traffic"). A pinhole
# rule that refreshes the element's timeout with nftables' dynset `update`
# adds the element back when a datagram whose lookup matched just before
# the delete committed reaches the update: the delete is undone. Here, on the host's table, for DS_ROUNDS rounds: a
# stray pinhole (no session records it, timeout 1 h, put there with `nft
# add element` as t_stray.sh does, so table_flags = "none") to a range
# port; a flood at full speed from exactly its client address and port to
# that port (dslib.sh: spoofsend on the router, the source not tracked
# there, bounded, ended by PID each round; a table of the test's own on
# the server counts and drops what the daemon's table lets in); the
# daemon's periodic read-back (every idle_timeout/4 = 2 s) removes the stray,
# audit event stray_removed; then, the flood still running, no datagram
# may pass in the 0.5 s from 0.2 s after that, and the element must be
# absent from the set. Every round's flood must have passed the pinhole
# before its delete (else the round proves nothing), and every delete must
# stick. With `update` in the packet path many do not (measured: 20 of 25
# at ~300,000 datagrams/s; here about 1 in 3 at 200,000-500,000/s, so
# 10 rounds). Skipped where the daemon says its rules still refresh
# pinholes (kernels before 6.10). The gateway's table:
# t_gw_delete_sticks.sh.
# Knobs (dslib.sh): MH_DS_ROUNDS, MH_DS_FLOODERS, MH_DS_LEN.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# shellcheck source=tests/integration/dslib.sh
. "$(dirname "$0")/dslib.sh"
STRAY=198.18.9.9   # routed back through the router: rp_filter lets it in

mh_require_build mosh-helperd mosh-helper-hook tests/spoofsend
mh_setup
S() { mh_nsx "$NS_S" "$@"; }

# What the daemon's table lets in from the flood's address is counted and
# dropped by a table of the test's own, after the daemon's (priority filter
# - 10): no socket lookup, no ICMP unreachable per datagram, so the flood
# is as fast as the pinhole rule can take it.
S nft -f - <<NFT || mh_fail "server: the flood's sink"
table inet t_delete_sticks {
	chain input {
		type filter hook input priority filter + 10; policy accept;
		ip saddr $STRAY counter drop comment "the flood, past the pinhole"
	}
}
NFT
passed() { # datagrams of the flood the pinhole let in so far
	S nft list chain inet t_delete_sticks input | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}

# The router's flood is not tracked (no conntrack entry per datagram, and
# nothing of its NAT touches it): faster, and the same on every run.
mh_nsx "$NS_R" nft -f - <<NFT || mh_fail "router: notrack rule"
table ip t_delete_sticks {
	chain out {
		type filter hook output priority raw; policy accept;
		ip saddr $STRAY notrack
	}
}
NFT

MH_IDLE=8   # the sync reads the pinholes back every idle_timeout/4 = 2 s
mh_start_daemon 'table_flags = "none";'
ds_skip_if_refreshed "$MH_DAEMON_LOG"

# The stray_removed audit events for STRAY:CPORT -> SPORT.
removals() { grep -c -F "\"event\":\"stray_removed\",\"pinhole\":\"$STRAY:$1 -> $2\"" "$MH_TMP/audit.log"; }
removed() { [ "$(removals "$1" "$2")" -ge 1 ]; }

ds_add() { S nft add element inet "$MH_TABLE" pinholes4 "{ $STRAY . $1 . $2 timeout 1h }"; }
ds_deleted() { removed "$1" "$2"; }
ds_present() { mh_has_pinhole "$STRAY" "$1" "$2" 4; }
ds_name() { echo "$STRAY . $1 . $2"; }
ds_rounds "$NS_R" "$SRV4" "$STRAY"
mh_assert "the daemon still runs" kill -0 "$MH_DAEMON_PID"
mh_nsx "$NS_R" nft delete table ip t_delete_sticks
S nft delete table inet t_delete_sticks
mh_pass "a deleted pinhole stays deleted under its own flood (host table)"
