#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# One birth and one death for a session (issue 12, item 1), with the real
# daemon and the real mosh: a session opened through the control socket
# and the same session opened again from the state file at a restart are
# each audited exactly once, as session_accepted with the same fields (the
# same session id, port, uid and pid; the reason names the source); the
# stop in between ends nothing in the audit trail (it keeps the session);
# a session that is never contacted ends once, "never contacted
# (handshake_timeout)", and the resumed one once, "mosh-server exited".
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook
mh_setup
MH_IDLE=30 MH_HANDSHAKE=12
AUDIT=$MH_TMP/audit.log
mh_start_daemon

accepted() { grep "\"event\":\"session_accepted\",\"session\":[0-9]*,\"port\":$1," "$AUDIT"; }
ended() { grep "\"event\":\"session_end\",\"session\":[0-9]*,\"port\":$1," "$AUDIT"; }
keys_of() { grep -o '"[a-z_]*":' | tr -d '\n'; }
field() { sed -n -E "s/.*\"$1\":(\"[^\"]*\"|[0-9]+).*/\\1/p"; }
ready_count() { grep -c 'ready: ports' "$MH_DAEMON_LOG"; }

mh_step "lifecycle: a session opened through the control socket"
mh_live_session mhtest1 c1
port=$MH_PORT
mh_assert_eq "session_accepted lines for port $port" 1 "$(accepted "$port" | wc -l)"
first=$(accepted "$port")
mh_log "audit: $first"
mh_assert_eq "its reason" '"session accepted on port '"$port"'"' "$(field reason <<<"$first")"

mh_step "lifecycle: a stop keeps it (no end audited) and the restart opens it again"
n=$(ready_count)
kill -TERM "$MH_DAEMON_PID"
mh_assert "the daemon stops" mh_wait "$MH_STOP_S" mh_pid_gone "$MH_DAEMON_PID"
mh_assert "its keeper lets the state lock go" mh_wait 10 flock -n "$MH_TMP/state.lock" true
mh_assert_eq "session_end lines for port $port after the stop" 0 "$(ended "$port" | wc -l)"
ip netns exec "$NS_S" "$MH_BUILD/mosh-helperd" -c "$MH_CONF" -f >>"$MH_DAEMON_LOG" 2>&1 &
MH_DAEMON_PID=$!
disown "$MH_DAEMON_PID"
mh_wait $((MH_START_S + 5)) eval '[ "$(ready_count)" -gt '"$n"' ]' ||
	mh_fail "the restarted daemon did not get ready"
mh_assert "the log says it was resumed" mh_daemon_log_has "session [0-9]+ port $port resumed"
mh_assert_eq "session_accepted lines for port $port" 2 "$(accepted "$port" | wc -l)"
again=$(accepted "$port" | tail -n 1)
mh_log "audit: $again"
mh_assert_eq "the same fields, in the same order" "$(keys_of <<<"$first")" "$(keys_of <<<"$again")"
for f in session port uid pid status; do
	mh_assert_eq "the same $f" "$(field $f <<<"$first")" "$(field $f <<<"$again")"
done
mh_assert_eq "its reason names the restart" \
	'"session resumed on port '"$port"' after a restart"' "$(field reason <<<"$again")"
mh_assert "the resumed session works" mh_roundtrip c1 20

mh_step "lifecycle: a session never contacted ends once, for that reason"
mh_session mhtest2
port2=$MH_PORT
mh_assert_eq "session_accepted lines for port $port2" 1 "$(accepted "$port2" | wc -l)"
mh_assert "it ends after handshake_timeout" mh_wait 30 mh_no_session "$port2"
sleep 1
mh_assert_eq "session_end lines for port $port2" 1 "$(ended "$port2" | wc -l)"
mh_assert_eq "why" '"never contacted (handshake_timeout)"' "$(ended "$port2" | field why)"

mh_step "lifecycle: the resumed session ends once when mosh-server exits"
mh_type c1 exit
mh_assert "port $port leaves the sessions set" mh_wait 20 mh_no_session "$port"
sleep 1
mh_assert_eq "session_end lines for port $port" 1 "$(ended "$port" | wc -l)"
mh_assert_eq "why" '"mosh-server exited"' "$(ended "$port" | field why)"
mh_assert_eq "and it was opened twice, once per daemon" 2 "$(accepted "$port" | wc -l)"

mh_pass "one open and one end per session, each audited once"
