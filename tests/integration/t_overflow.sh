#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# mh-test: alone
# Queue overflow (issue 6, item 4): with queue_maxlen = 64 and no slow-path
# rate limit in the way (global or per source), a garbage flood at a live session's port fills the
# kernel's queue. A full queue drops (fail closed, never bypasses the
# daemon): no flood datagram reaches a socket in the server namespace (the
# client is stopped meanwhile, so Udp InDatagrams must not move).
#  (A) the daemon stalled (SIGSTOP): the queue holds exactly 64 packets and
#      the kernel counts every other flood datagram as queue_dropped; once
#      resumed, the daemon drains and drops the 64;
#  (B) the daemon running, a flood at full speed: whatever the queue takes
#      the daemon drops, the rest the kernel drops;
# afterwards the daemon has recovered: the session works, and a roam (new
# SNAT address) takes the slow path and gets a pinhole.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/udptool
mh_setup
MH_IDLE=30
MAXLEN=64
# No slow-path rate limits in the way (neither the global one nor the
# per-source budget): the flood meets the queue itself.
mh_start_daemon "queue_maxlen = $MAXLEN;" "slow_path_rate = 1000000;" \
	"slow_path_rate_per_source = 0;"

# The kernel's view of our queue (queue_num 0) in the server ns:
# "total dropped user_dropped" = packets waiting for a verdict, dropped
# because the queue was full, dropped because the socket buffer was full.
queue_stats() {
	mh_nsx "$NS_S" awk '$1 == 0 { print $3, $6, $7 }' /proc/net/netfilter/nfnetlink_queue
}
qfield() { queue_stats | awk -v f="$1" '{ print $f }'; }

mh_step "a live session, then its client stopped"
mh_live_session mhtest1 c1
port=$MH_PORT
mh_assert "the queue is bound by the daemon" test -n "$(queue_stats)"
mh_log "queue 0 (total dropped user_dropped): $(queue_stats)"
mh_signal_client STOP c1
mh_assert "UDP deliveries in the server ns are quiet" mh_wait 15 mh_udp_quiet

mh_step "(A) the daemon stalled: the queue fills to $MAXLEN, the rest is dropped"
before=$(mh_udp_in) d0=$(qfield 2) u0=$(qfield 3)
kill -STOP "$MH_DAEMON_PID"
mh_udptool "$NS_A" send "$SRV4" "$port" --garbage 20000 --interval-us 0 || mh_fail "udptool"
sleep 0.5
total=$(qfield 1) dropped=$(( $(qfield 2) - d0 )) udrop=$(( $(qfield 3) - u0 ))
mh_log "queue while stalled: $total waiting, $dropped dropped (queue full), $udrop dropped (socket buffer)"
mh_check_eq "packets waiting in the queue" $MAXLEN "$total"
mh_check_eq "every other flood datagram dropped by the kernel" $((20000 - MAXLEN)) "$((dropped + udrop))"
mh_check_eq "UDP datagrams delivered in the server ns" "$before" "$(mh_udp_in)"
kill -CONT "$MH_DAEMON_PID"
mh_assert "once resumed the daemon drains the queue" mh_wait 5 eval '[ "$(qfield 1)" = 0 ]'
sleep 0.5
mh_check_eq "UDP datagrams delivered in the server ns (after the drain)" "$before" "$(mh_udp_in)"

mh_step "(B) the daemon running: a flood at full speed"
before=$(mh_udp_in) d0=$(qfield 2) u0=$(qfield 3)
t0=$(date +%s%3N)
mh_udptool "$NS_A" send "$SRV4" "$port" --garbage 100000 --interval-us 0 || mh_fail "udptool"
ms=$(( $(date +%s%3N) - t0 ))
sleep 0.5
dropped=$(( $(qfield 2) - d0 )) udrop=$(( $(qfield 3) - u0 ))
mh_log "100000 garbage datagrams in $ms ms: the kernel dropped $dropped (queue full) + $udrop (socket buffer); the daemon decided the rest"
mh_check_eq "UDP datagrams delivered in the server ns" "$before" "$(mh_udp_in)"
mh_assert "the queue is empty again" mh_wait 5 eval '[ "$(qfield 1)" = 0 ]'
mh_assert "the daemon is running" kill -0 "$MH_DAEMON_PID"
mh_log "daemon drop reasons logged (rate limited): $(mh_daemon_drops | tr '\n' ',')"

mh_step "the daemon recovered: the session works and roams"
mh_signal_client CONT c1
mh_assert "typed text comes back after the floods" mh_roundtrip c1 20
old=$MH_PH
mh_roam_addr 198.18.3.11
mh_assert "typed text comes back after the roam" mh_roundtrip c1 20
mh_assert "a pinhole from the new address appears" \
	mh_wait 10 mh_any_pinhole 198.18.3.11 "$(mh_snat_ports)" "$port"
mh_log "new pinhole: $(mh_find_pinholes 198.18.3.11 "$(mh_snat_ports)" "$port")  (old: $old)"
mh_assert "the session is still known" mh_has_session "$port"
mh_log "queue 0 at the end (total dropped user_dropped): $(queue_stats)"

mh_pass "queue overflow"
