#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Acceptance b (and h with MH_FAMILY=6): the router changes the client's
# source address, then separately its source port. Each time the session
# carries on, a new pinhole appears and the old one expires after
# idle_timeout.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook
mh_setup
MH_IDLE=8
mh_start_daemon

mh_step "b: a live session (IPv$MH_FAMILY)"
mh_live_session mhtest1 c1
port=$MH_PORT

now_ms() { date +%s%3N; }

# roam_check OLD_PINHOLE WHAT T0_MS: after a change of the router's mapping
# at T0_MS, the session works, a pinhole from the new mapping appears, and
# the old one expires by itself about idle_timeout after its last datagram.
roam_check() {
	local old=$1 what=$2 t0=$3 dt
	mh_assert "typed text comes back after the $what change" mh_roundtrip c1 20
	mh_assert "a new pinhole from $(mh_snat_addr) ports $(mh_snat_ports) appears" \
		mh_wait 5 mh_any_pinhole "$(mh_snat_addr)" "$(mh_snat_ports)" "$port"
	MH_PH=$(mh_find_pinholes "$(mh_snat_addr)" "$(mh_snat_ports)" "$port" | head -n1)
	mh_log "new pinhole: $MH_PH"
	# shellcheck disable=SC2086
	mh_assert "the old pinhole ($old) expires within idle_timeout ($MH_IDLE s) + 4 s" \
		mh_wait $((MH_IDLE + 4)) mh_no_pinhole $old
	dt=$(($(now_ms) - t0))
	mh_log "old pinhole gone $dt ms after the router's change"
	mh_assert "it was not removed early (>= idle_timeout - 3 s: it expired, nobody deleted it)" \
		test "$dt" -ge $(((MH_IDLE - 3) * 1000))
	# shellcheck disable=SC2086
	mh_assert "the new pinhole ($MH_PH) is still there (refreshed by the client)" \
		mh_has_pinhole $MH_PH
	mh_assert_eq "one pinhole for port $port" 1 "$(mh_pinholes_for_port "$port")"
	mh_assert "typed text still comes back" mh_roundtrip c1 15
}

mh_step "b: the router changes the client's source ADDRESS"
old=$MH_PH t0=$(now_ms)
if [ "$MH_FAMILY" = 6 ]; then mh_roam_addr fd00:3::11; else mh_roam_addr 198.18.3.11; fi
roam_check "$old" address "$t0"

mh_step "b: the router changes the client's source PORT (same address)"
old=$MH_PH t0=$(now_ms)
mh_roam_port 42000-42099
roam_check "$old" port "$t0"

mh_step "b: the session is still known to the daemon"
mh_assert "port $port is in the sessions set" mh_has_session "$port"

mh_pass "acceptance b (IPv$MH_FAMILY)"
