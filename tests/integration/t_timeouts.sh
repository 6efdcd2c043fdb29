#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# handshake_timeout: a session announced through the hook whose client never
# sends a datagram is forgotten after handshake_timeout (its port leaves the
# sessions set, so datagrams to it are dropped again), while a session that
# was contacted outlives it.
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook
mh_setup
MH_HANDSHAKE=5
mh_start_daemon

mh_step "handshake_timeout: a contacted session and one never contacted"
mh_live_session mhtest1 c1
live=$MH_PORT
mh_session mhtest2
idle=$MH_PORT
t0=$(date +%s%3N)
mh_assert "port $idle (never contacted) is in the sessions set" mh_has_session "$idle"

never_contacted_gone() { ! mh_has_session "$idle"; }
mh_assert "port $idle leaves the sessions set within handshake_timeout + 2 s" \
	mh_wait $((MH_HANDSHAKE + 2)) never_contacted_gone
dt=$(($(date +%s%3N) - t0))
mh_log "never-contacted session forgotten after $dt ms"
mh_assert "not before handshake_timeout - 1 s" test "$dt" -ge $(((MH_HANDSHAKE - 1) * 1000))
mh_assert "the daemon says why" grep -q "port $idle ended: never contacted" "$MH_DAEMON_LOG"
mh_assert "the contacted session on port $live is still known" mh_has_session "$live"
mh_assert "and still works" mh_roundtrip c1 15

mh_pass "handshake_timeout"
