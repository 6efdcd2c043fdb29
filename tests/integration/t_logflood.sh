#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Log flood (issue 11, finding 4): a local user (mhtest2) sends at least
# 20,000 requests the daemon must refuse, as fast as it answers them. Each uid has
# its own budget of full log and audit lines (20 at once, then 1 a second);
# the rest is counted and reported per uid every 10 s ("suppressed"), so:
#   - the lines mhtest2's flood adds to the log and to the audit trail stay
#     within that budget (asserted against the elapsed time),
#   - every refusal is accounted for: lines written + counts reported =
#     requests sent, in the log and in the audit trail,
#   - another user's (mhtest1) real mosh session, announced while the flood
#     runs, is accepted, logged in full and carries typed text.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/announceflood
mh_setup
N=20000 NMAX=100000   # at least N refusals, then the flood is stopped
# nfq-helper/process/audit.c: NOISY_BURST, NOISY_PER_SEC, DROPS_EVERY_MS
BURST=20 PER_SEC=1 EVERY_S=10
mh_start_daemon
sock=$MH_TMP/control.sock AUDIT=$MH_TMP/audit.log
U2=$(id -u mhtest2) U1=$(id -u mhtest1)

lines() { wc -l <"$1"; }
log0=$(lines "$MH_DAEMON_LOG") audit0=$(lines "$AUDIT")
t0=$SECONDS

mh_step "logflood: mhtest2 floods the daemon with refused requests; mhtest1 logs in meanwhile"
mh_ns_bg "$NS_S" "$MH_TMP/flood.out" setpriv --reuid=mhtest2 --regid=mhtest2 --init-groups \
	"$MH_BUILD/tests/announceflood" "$sock" "$NMAX" 60
flood=$MH_BG_PID
progress() { sed -n 's/^progress //p' "$MH_TMP/flood.out" | tail -n 1; }
mh_wait 5 eval '[ "$(progress)" -gt 0 ] 2>/dev/null' || mh_fail "the flood did not reach the daemon"
mh_session mhtest1
mh_log "mhtest1's session accepted on port $MH_PORT with $(progress) flood requests answered so far"
mh_client_start c1 "$MH_PORT" "$MH_KEY"
mh_assert "mhtest1's session carries typed text during the flood" mh_roundtrip c1 20
mh_assert "the flood was still running" kill -0 "$flood"
# at least N refusals, then the flood stops (the requests in flight are answered)
mh_wait 60 eval '[ "$(progress)" -ge $N ] || mh_pid_gone $flood'
kill -TERM "$flood" 2>/dev/null
mh_assert "the flood ends" mh_wait 15 mh_pid_gone "$flood"
mh_log "flood: $(grep '^sent' "$MH_TMP/flood.out") $(cat "$MH_TMP/flood.out.err" 2>/dev/null)"
read -r _ sent _ answered _ refused _ accepted _ lost _ ms < <(grep '^sent' "$MH_TMP/flood.out")
mh_assert "at least $N flood requests were answered ($answered)" test "${answered:-0}" -ge "$N"
mh_assert_eq "every flood request sent was answered" "$sent" "$answered"
mh_assert_eq "and refused" "$sent" "$refused"
mh_assert_eq "none accepted" 0 "$accepted"
mh_log "the flood took $ms ms ($((answered * 1000 / (ms + 1))) requests a second)"
N=$answered

mh_step "logflood: every refusal is accounted for (lines + reported counts = $N)"
# Refusals written one by one: the log's per-request lines of uid U2.
logged() { grep -c -E "control: (refused uid $U2 |uid $U2: )" "$MH_DAEMON_LOG"; }
suppressed_log() {
	sed -n -E "s/.*uid $U2: ([0-9]+) control requests not logged.*/\\1/p" "$MH_DAEMON_LOG" |
		awk '{ n += $1 } END { print n + 0 }'
}
audited() { grep '"event":"session_refused"' "$AUDIT" | grep -c "\"uid\":$U2,"; }
suppressed_audit() {
	grep '"event":"suppressed"' "$AUDIT" | grep "\"uid\":$U2," |
		sed -n -E 's/.*"control_requests":([0-9]+).*/\1/p' | awk '{ n += $1 } END { print n + 0 }'
}
all_counted() { [ $(($(logged) + $(suppressed_log))) -ge "$N" ]; }
mh_wait $((EVERY_S + 5)) all_counted
mh_log "log: $(logged) refusals of uid $U2 written, $(suppressed_log) reported as counts"
mh_log "summary lines: $(grep -E "uid $U2: [0-9]+ control requests" "$MH_DAEMON_LOG" | sed 's/^/\n     /')"
mh_check_eq "log: refusals written + counted" "$N" "$(($(logged) + $(suppressed_log)))"
# The audit trail has a line for each refused announcement let through (3 of
# the flood's 4 kinds: the 4th is no request at all) and the same counts.
mh_log "audit: $(audited) refusals of uid $U2 written, $(suppressed_audit) reported as counts"
mh_check_eq "audit: suppressed counts agree with the log's" "$(suppressed_log)" "$(suppressed_audit)"
mh_assert "audit: the suppressed event names uid $U2 and a count" \
	grep -q -E "\"event\":\"suppressed\",\"uid\":$U2,\"control_requests\":[1-9]" "$AUDIT"

mh_step "logflood: the files grew within the budget"
elapsed=$((SECONDS - t0 + 1))
# One uid, one kind: BURST lines, PER_SEC a second after that, a summary
# every EVERY_S (and the first at once).
budget=$((BURST + PER_SEC * elapsed + elapsed / EVERY_S + 2))
mh_log "elapsed ${elapsed}s: budget $budget lines for uid $U2"
mh_check_eq "log lines of uid $U2 within $budget" yes \
	"$([ $(($(logged) + $(grep -c "uid $U2: [0-9]* control" "$MH_DAEMON_LOG"))) -le $budget ] && echo yes || echo no)"
mh_check_eq "audit lines of uid $U2 within $budget" yes \
	"$([ "$(grep -c "\"uid\":$U2," "$AUDIT")" -le $budget ] && echo yes || echo no)"
# Whole files: mhtest1's session adds a handful of lines of its own.
grown_log=$(($(lines "$MH_DAEMON_LOG") - log0)) grown_audit=$(($(lines "$AUDIT") - audit0))
mh_log "the log grew by $grown_log lines, the audit trail by $grown_audit, for $N refusals"
mh_check_eq "the log grew by at most $((budget + 50)) lines" yes \
	"$([ $grown_log -le $((budget + 50)) ] && echo yes || echo no)"
mh_check_eq "the audit trail grew by at most $((budget + 50)) lines" yes \
	"$([ $grown_audit -le $((budget + 50)) ] && echo yes || echo no)"

mh_step "logflood: mhtest1's session is logged in full"
mh_assert "its acceptance is in the audit trail" \
	grep -q -E "\"event\":\"session_accepted\".*\"port\":$MH_PORT,\"uid\":$U1," "$AUDIT"
mh_assert "its pinhole is in the audit trail" \
	grep -q -E "\"event\":\"pinhole_open\".*\"port\":$MH_PORT," "$AUDIT"
mh_assert "its session is in the log" mh_daemon_log_has "port $MH_PORT: uid $U1 "
mh_assert "the session still carries typed text" mh_roundtrip c1 20

mh_pass "log flood"
