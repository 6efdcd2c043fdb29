#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# mh-test: alone
# The restart state file of a table bigger than one slice (issue 11): the
# daemon encodes it 128 sessions per loop round and streams it to its
# keeper, so that a queued datagram never waits for the whole table. With
# 800 sessions, one more announcement (a single event) has the whole file
# (seven slices) written at once, not a slice per timer tick (500 ms:
# 3 s); it decodes, lists exactly the 800 ports, and after a restart all
# 800 sessions are resumed. When their process exits, the file is rewritten
# without them.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/announceburst tests/mhstate
MHSTATE=$MH_BUILD/tests/mhstate
mh_setup
sock=$MH_TMP/control.sock STATE=$MH_TMP/state
N=800 BASE=60000

state_count() { "$MHSTATE" show "$STATE" 2>/dev/null | awk '$1 == "ok" { print $2 }'; }
state_ports() { "$MHSTATE" show "$STATE" 2>/dev/null | awk '$1 == "session" { print $2 }'; }
ready_count() { grep -c 'ready: ports' "$MH_DAEMON_LOG"; }

mh_write_conf "max_sessions = $((N + 10));" "max_sessions_per_user = $N;"
mh_start_daemon

mh_step "$N sessions at once; the state file is written in slices"
mh_ns_bg "$NS_S" "$MH_TMP/burst.out" setpriv --reuid=mhtest1 --regid=mhtest1 --init-groups \
	"$MH_BUILD/tests/announceburst" "$sock" $BASE $N --inflight 50 --hold 120
holder=$MH_BG_PID
mh_wait 60 grep -q '^holding' "$MH_TMP/burst.out" ||
	mh_fail "the burst did not finish: $(cat "$MH_TMP/burst.out" "$MH_TMP/burst.out.err")"
mh_assert "the state file lists $N sessions" mh_wait 10 eval '[ "$(state_count)" = '$N' ]'
sleep 1   # quiet: no write under way, nothing queued

mh_step "one more session: the whole file again ($((N + 1)) sessions, seven slices), from one event"
mh_ns_bg "$NS_S" "$MH_TMP/one.out" setpriv --reuid=mhtest2 --regid=mhtest2 --init-groups \
	"$MH_BUILD/tests/announceburst" "$sock" $((BASE + N)) 1 --hold 120
one=$MH_BG_PID
until grep -q '^holding' "$MH_TMP/one.out" 2>/dev/null || ! kill -0 "$one" 2>/dev/null; do sleep 0.02; done
t0=$(date +%s%3N)
until [ "$(state_count)" = $((N + 1)) ] || [ $(($(date +%s%3N) - t0)) -gt 10000 ]; do sleep 0.05; done
ms=$(($(date +%s%3N) - t0))
mh_log "the state file listed all $((N + 1)) sessions $ms ms after the announcement was answered"
mh_check_eq "sessions in the state file" $((N + 1)) "$(state_count)"
mh_assert "... within 1.5 s (a slice per timer tick would take 3 s)" test "$ms" -lt 1500
kill -TERM "$one"
mh_assert "that session ends, and the file lists $N again" \
	mh_wait 10 eval '[ "$(state_count)" = '$N' ]'
mh_check_eq "ports in the sessions set" $N "$(mh_sessions | wc -l)"
mh_check_eq "the state file holds exactly ports $BASE-$((BASE + N - 1))" "" \
	"$(seq $BASE $((BASE + N - 1)) | diff - <(state_ports | sort -n) | head -n 3)"
mh_assert_eq "state file mode and owner" "600 root" "$(stat -c '%a %U' "$STATE")"

mh_step "restart: all $N sessions come back from that file"
mh_stop_daemon
mh_assert "the state keeper has finished" mh_wait 15 flock -n "$MH_TMP/state.lock" true
n=$(ready_count)
mh_start_daemon
mh_wait 30 eval '[ "$(ready_count)" -gt '"$n"' ]' || mh_fail "the restarted daemon did not get ready"
mh_assert "the log counts $N of $N resumed" mh_daemon_log_has "restart: resumed $N of $N session"
mh_check_eq "ports in the sessions set" $N "$(mh_sessions | wc -l)"

mh_step "the holder exits: the sessions end and the file is rewritten without them"
kill -TERM "$holder"
mh_assert "the sessions set empties within 30 s" mh_wait 30 eval '[ -z "$(mh_sessions)" ]'
mh_assert "the state file lists no session within 5 s" mh_wait 5 eval '[ "$(state_count)" = 0 ]'
mh_assert "the daemon is still running" kill -0 "$MH_DAEMON_PID"

mh_pass "state file in slices"
