#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Acceptance c: the client stopped (SIGSTOP) beyond idle_timeout loses its
# pinhole while the session stays known; after SIGCONT it comes back (from
# the same or a new source port), gets a new pinhole and works. Before
# that, a running client keeps its pinhole past idle_timeout: on kernels
# where the rules only note its datagrams (seen4/6), that is the daemon's
# re-arm at each read-back.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook
mh_setup
MH_IDLE=8
mh_start_daemon

mh_step "c: a live session"
mh_live_session mhtest1 c1
port=$MH_PORT
ph=$MH_PH

mh_step "c: a running client keeps its pinhole past idle_timeout ($MH_IDLE s)"
sleep $((MH_IDLE + 2))
mh_assert "the pinhole is there after $((MH_IDLE + 2)) s ($ph)" mh_has_pinhole $ph
mh_assert "typed text still comes back" mh_roundtrip c1 10
# the same pinhole all along: never expired and opened again
mh_assert_eq "pinholes opened so far (audit)" 1 \
	"$(grep -c '"event":"pinhole_open"' "$MH_TMP/audit.log")"
mh_assert_eq "pinholes expired so far (audit)" 0 \
	"$(grep -c '"event":"pinhole_expired"' "$MH_TMP/audit.log")"

mh_step "c: the client is stopped (SIGSTOP) beyond idle_timeout ($MH_IDLE s)"
mh_signal_client STOP c1
t0=$SECONDS
mh_assert "the pinhole stays while the client is only briefly quiet (2 s)" \
	eval "sleep 2; mh_has_pinhole $ph"
mh_assert "the pinhole is gone within idle_timeout + 4 s" \
	mh_wait $((MH_IDLE + 4)) mh_no_pinholes_for_port "$port"
gone=$((SECONDS - t0))
mh_log "pinhole gone ${gone} s after SIGSTOP"
mh_assert "it lasted about idle_timeout (>= $((MH_IDLE - 3)) s), not less" \
	test "$gone" -ge $((MH_IDLE - 3))
sleep 2
mh_assert "the session stays known: port $port still in the sessions set" mh_has_session "$port"
mh_assert "mosh-server (pid $MH_SPID) still runs" mh_server_alive "$MH_SPID"

mh_step "c: SIGCONT: the client comes back"
mh_signal_client CONT c1
mh_assert "typed text comes back after SIGCONT" mh_roundtrip c1 30
mh_assert "a new pinhole from $(mh_snat_addr) appears for port $port" \
	mh_wait 5 mh_any_pinhole "$(mh_snat_addr)" "$(mh_snat_ports)" "$port"
mh_log "pinhole now: $(mh_find_pinholes "$(mh_snat_addr)" "$(mh_snat_ports)" "$port" | tr '\n' ' ')"
mh_assert "typed text still comes back" mh_roundtrip c1 15

mh_pass "acceptance c"
