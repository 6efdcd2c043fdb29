#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Restart without losing sessions, single-port mode: two sessions reached
# through the public port; the daemon is killed (SIGKILL); one session's
# mosh-server dies meanwhile. Started again, the daemon adopts the mux
# maps: the live session's mapping stays and the session works and roams,
# the dead one's mapping, pinhole and session port are gone.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook
mh_setup
PUB=60000
MH_IDLE=30
mh_start_daemon "single_port = { enable = true; port = $PUB; };"

# "addr cport sport" per element of the confirmed map of the current family
mux() {
	mh_nsx "$NS_S" nft list map inet "$MH_TABLE" "mux$MH_FAMILY" 2>/dev/null |
		tr '\n' ' ' | sed -n 's/.*elements = {\([^}]*\)}.*/\1/p' | tr ',' '\n' |
		awk 'NF >= 5 { print $1, $3, $NF }'
}
mux_to() { mux | awk -v p="$1" '$3 == p' | wc -l; }
real_port() { # the UDP port mosh-server pid $1 is bound to
	mh_nsx "$NS_S" ss -Hulnp | awk -v p="pid=$1," 'index($0, p) { n = split($4, a, ":"); print a[n]; exit }'
}

mh_step "restart (single port): two sessions through UDP port $PUB"
mh_session mhtest1
p1=$(real_port "$MH_SPID")
mh_client_start c1 "$PUB" "$MH_KEY"
mh_assert "c1 works" mh_roundtrip c1 20
mh_session mhtest2
p2=$(real_port "$MH_SPID") s2=$MH_SPID
mh_client_start c2 "$PUB" "$MH_KEY"
mh_assert "c2 works" mh_roundtrip c2 20
mh_assert "a confirmed mapping to port $p1" mh_wait 5 eval '[ "$(mux_to '"$p1"')" -ge 1 ]'
mh_assert "a confirmed mapping to port $p2" mh_wait 5 eval '[ "$(mux_to '"$p2"')" -ge 1 ]'

mh_step "restart (single port): SIGKILL; the mosh-server of port $p2 dies meanwhile"
kill -KILL "$MH_DAEMON_PID"
mh_assert "the daemon is gone" mh_wait 10 mh_pid_gone "$MH_DAEMON_PID"
MH_DAEMON_PID=
mh_assert "its state keeper has finished" mh_wait 10 flock -n "$MH_TMP/state.lock" true
mh_assert "c1 works while the daemon is down" mh_roundtrip c1 20
kill -KILL "$s2"
mh_assert "mosh-server of port $p2 is gone" mh_wait 5 mh_server_gone "$s2"

mh_step "restart (single port): start again"
n=$(grep -c 'ready: ports' "$MH_DAEMON_LOG")
mapfile -t vg < <(mh_vg_prefix daemon)
ip netns exec "$NS_S" "${vg[@]}" "$MH_BUILD/mosh-helperd" -c "$MH_CONF" -f >>"$MH_DAEMON_LOG" 2>&1 &
MH_DAEMON_PID=$!
disown "$MH_DAEMON_PID"
mh_assert "the daemon is ready again" \
	mh_wait $((MH_START_S + 5)) eval '[ "$(grep -c "ready: ports" "$MH_DAEMON_LOG")" -gt '"$n"' ]'
mh_assert "the log counts one of two sessions resumed" mh_daemon_log_has "restart: resumed 1 of 2 session"
mh_assert "and one mapping removed" mh_daemon_log_has "removed from the table 1 session port.*1 mapping"
mh_assert "the mapping to port $p1 stays" test "$(mux_to "$p1")" -ge 1
mh_assert_eq "no mapping to port $p2 is left" 0 "$(mux_to "$p2")"
mh_assert "port $p2 left the sessions set" mh_no_session "$p2"
mh_assert "no pinhole for port $p2" mh_no_pinholes_for_port "$p2"
mh_assert "c1 works" mh_roundtrip c1 20
if [ "$MH_FAMILY" = 6 ]; then mh_roam_addr fd00:3::12; else mh_roam_addr 198.18.3.12; fi
mh_assert "c1 works after a roam" mh_roundtrip c1 30
mh_assert "a mapping from the new address appears" \
	mh_wait 10 eval 'mux | grep -q "^$(mh_snat_addr) .* $p1\$"'

mh_pass "restart without losing sessions (single port)"
