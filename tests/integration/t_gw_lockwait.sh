#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A relay daemon whose restart-state lock is busy at start-up (the keeper
# of an earlier daemon still writing) waits for it before it opens its
# gateway connections: a TLS handshake begun before the wait would go
# unanswered for its length and time out at the gateway. Real parts: the
# gateway daemon, a relay on server1, real TLS (mkcerts.sh's PKI); the
# lock is held by flock(1) for 4 s, the gateway's relay_handshake_timeout
# is 2 s. Checked: the relay waited for the lock, came up to the gateway
# on its first connection (no retry), the gateway closed no handshake.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gwlib.sh"

mh_require_build mosh-helperd
command -v flock >/dev/null 2>&1 || mh_skip "missing tool: flock"
gw_setup
chmod 755 "$MH_TMP"
gw_certs

mh_step "the gateway, relay handshakes limited to 2 s"
gw_conf "$MH_TMP/gw.conf" "$CERTS" "[::]:7710" 6 3 "$MH_TMP/gw-audit.log"
echo 'relay_handshake_timeout = 2;' >>"$MH_TMP/gw.conf"
gw_daemon_start

mh_step "a relay started while its state lock is held for 4 s"
gw_relay_conf r1 relay-lab 198.18.0.1
flock -x "$MH_TMP/r1/state.lock" sleep 4 &
MH_PIDS+=("$!")
mh_wait 5 eval "! flock -n '$MH_TMP/r1/state.lock' true" || mh_fail "flock did not take the lock"
gw_relay_start "$NS_S" r1

mh_assert "the relay waited for the state lock" grep -q 'waited [0-9]* ms for the state keeper' "$MH_TMP/r1.log"
mh_assert_not "its first connection to the gateway did not fail" grep -q 'next attempt in' "$MH_TMP/r1.log"
mh_assert_not "the gateway closed no relay handshake as stalled" \
	grep -q 'within relay_handshake_timeout' "$GW_LOG"
mh_assert_no_sanitizer "$GW_LOG" "$MH_TMP/r1.log"
mh_pass "a relay waits for its state lock before it connects to its gateways"
