#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# bench/sockcheck.sh [BUILD]: what the daemon's periodic socket check (issue
# 11, finding 1: a session lives only while its socket holds its port)
# costs with 1,000 sessions, against 1 session in the same run. One user
# process binds and announces the ports (tests/announceburst); the daemon
# (idle_timeout 5: a check every 1.25 s) logs the time of each check at
# debug level ("socket check: ... N us"); the median of SAMPLES checks is
# printed per size, with the CPU share at the default period (idle_timeout
# 60: every 15 s) and at the shortest (every 1 s). Runs as root, ~1 minute.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
export MH_BUILD=${1:-$SRC/build}
SAMPLES=${SAMPLES:-20}
# shellcheck source=tests/integration/lib.sh
. "$SRC/tests/integration/lib.sh"

mh_require_build mosh-helperd tests/announceburst
mh_setup
MH_IDLE=5 MH_HANDSHAKE=3600 MH_LOGLEVEL=debug
mh_write_conf "max_sessions = 1000;" "max_sessions_per_user = 1000;"
mh_start_daemon
sock=$MH_TMP/control.sock

checks() { grep -c "socket check: .* $1 session(s)" "$MH_DAEMON_LOG"; }
median_us() {
	grep -o "socket check: .* $1 session(s).* [0-9]* us" "$MH_DAEMON_LOG" |
		tail -n "$SAMPLES" | awk '{ print $(NF - 1) }' | sort -n |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# measure N: N sessions held by one process, SAMPLES checks of them
measure() {
	local n=$1 before
	before=$(checks "$n")
	mh_ns_bg "$NS_S" "$MH_TMP/burst$n.out" setpriv --reuid=mhtest1 --regid=mhtest1 \
		--init-groups "$MH_BUILD/tests/announceburst" "$sock" 60001 "$n" \
		--inflight 50 --hold 120
	local holder=$MH_BG_PID
	mh_wait 60 eval '[ "$(checks '"$n"')" -ge $((before + SAMPLES)) ]' ||
		mh_fail "fewer than $SAMPLES checks of $n sessions: $(cat "$MH_TMP/burst$n.out")"
	kill "$holder"
	mh_wait 10 eval '[ -z "$(mh_sessions)" ]' || mh_fail "sessions of $n did not end"
	US[$n]=$(median_us "$n")
}

declare -A US
measure 1
measure 1000
echo
for n in 1 1000; do
	echo "socket_check_us_$n: ${US[$n]} us (median of $SAMPLES checks)"
done
awk -v us="${US[1000]}" 'BEGIN {
	printf "socket_check_cpu_1000: %.4f%% of a core every 15 s (idle_timeout 60), %.3f%% every 1 s\n",
		us / 150000, us / 10000 }'
mh_pass "socket check measured"
