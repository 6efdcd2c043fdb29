#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Acceptance a (and h with MH_FAMILY=6): a mosh session started through the
# hook works end to end with the real mosh-client; a mosh-server started
# without the hook, on another port of the range, stays unreachable.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook
mh_setup
mh_start_daemon

mh_step "a: the range is closed before any session (IPv$MH_FAMILY)"
mh_assert "the sessions set is empty" test -z "$(mh_sessions)"
mh_assert "no pinholes" test -z "$(mh_pinholes 4)$(mh_pinholes 6)"

mh_step "a: a session through the hook, typed output comes back"
mh_live_session mhtest1 c1
mh_assert_eq "exactly one pinhole for port $MH_PORT" 1 "$(mh_pinholes_for_port "$MH_PORT")"
hooked_port=$MH_PORT

mh_step "a: a mosh-server started WITHOUT the hook is unreachable"
mh_plain_server mhtest1
plain_port=$MH_PORT
mh_assert "the unhooked server's port $plain_port is another port in the range" \
	test "$plain_port" != "$hooked_port" -a "$plain_port" -ge 60000 -a "$plain_port" -le 61000
mh_assert "port $plain_port is not in the sessions set" mh_no_session "$plain_port"
# Watch the server's interface: the client's datagrams arrive there, and if
# any reached mosh-server it would answer (it always does on first contact).
mh_tcpdump "$NS_S" "$MH_TMP/plain.pcap" udp port "$plain_port"
cap=$MH_TCPDUMP_PID
mh_client_start c2 "$plain_port" "$MH_KEY"
mh_assert_not "typed text never comes back from the unhooked server within 10 s" \
	mh_roundtrip c2 10
mh_tcpdump_stop "$cap"
inbound=$(mh_pcap_count "$MH_TMP/plain.pcap" dst port "$plain_port")
outbound=$(mh_pcap_count "$MH_TMP/plain.pcap" src port "$plain_port")
mh_log "at the server's interface: $inbound datagrams to port $plain_port, $outbound from it"
mh_assert "the client's datagrams did reach the server's interface" test "$inbound" -gt 0
mh_assert_eq "mosh-server on port $plain_port never answered" 0 "$outbound"
mh_assert "no pinhole for port $plain_port" mh_no_pinholes_for_port "$plain_port"

mh_step "a: the hooked session still works"
mh_assert "typed text comes back through the session" mh_roundtrip c1 15

mh_pass "acceptance a (IPv$MH_FAMILY)"
