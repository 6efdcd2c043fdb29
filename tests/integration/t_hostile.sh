#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# mh-test: alone
# Hostile local clients of the control socket (issue 6, item 5), each
# against a legit uid whose announcements must stay prompt (< 500 ms; 3 s
# under valgrind):
#  (1) 60 connections that never send anything: each is cut off after the
#      daemon's 2 s timeout; meanwhile another uid is answered at once;
#  (2) one uid holding more connections than the daemon has slots (200,
#      reopened as soon as they are closed): the other uid is still
#      answered every time (the daemon evicts the greediest uid's oldest
#      connection, never refuses the newcomer);
#  (3) malformed messages (empty, short, oversized, truncated, bad length,
#      version, type, key, ssh_connection, trailing bytes, a REPLY, random
#      bytes): each refused with MHC_ERR_PROTOCOL and a reason, nothing
#      opened;
#  (4) a flood of announcements from one uid (rounds of 300): never more
#      than its quota accepted, every one answered, the other uid unaffected.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/announceburst tests/ctlprobe
mh_setup
QUOTA=5 MAX_MS=500
[ "$MH_VALGRIND" = 1 ] && MAX_MS=3000   # valgrind: the daemon runs ~20x slower
mh_write_conf "max_sessions_per_user = $QUOTA;"
mh_start_daemon
sock=$MH_TMP/control.sock
BURST=$MH_BUILD/tests/announceburst PROBE=$MH_BUILD/tests/ctlprobe
U=$MH_TMP/u
mkdir -m 1777 "$U"

as_user() { # USER command...: in the server ns as USER
	local user=$1; shift
	ip netns exec "$NS_S" setpriv --reuid="$user" --regid="$user" --init-groups "$@"
}

# legit PORT WHAT: one announcement of mhtest1 (its own socket and pid),
# accepted within MAX_MS; the latency goes to $U/latencies.
legit() {
	local out ms
	out=$(as_user mhtest1 "$BURST" "$sock" "$1" 1 --inflight 1) || true
	ms=$(echo "$out" | sed -n -E 's/^latency_ms min ([0-9.]+) .*/\1/p')
	if ! echo "$out" | grep -q '^status MHC_OK 1$'; then
		echo "$out" | sed 's/^/   | /'
		mh_check_eq "$2: mhtest1's announcement on port $1 is accepted" MHC_OK \
			"$(echo "$out" | grep -E '^reason|^no_answer' | tr '\n' ' ')"
		return
	fi
	echo "$ms" >>"$U/latencies"
	mh_check_eq "$2: mhtest1's announcement accepted within $MAX_MS ms ($ms ms)" yes \
		"$(awk -v m="$ms" -v x=$MAX_MS 'BEGIN { print (m < x) ? "yes" : "no" }')"
}

probe_field() { sed -n -E "s/$1/\\1/p" "$2"; }

mh_step "(1) 60 idle connections of mhtest2, each cut off after the timeout"
mh_ns_bg "$NS_S" "$MH_TMP/idle1.out" setpriv --reuid=mhtest2 --regid=mhtest2 --init-groups \
	"$PROBE" "$sock" idle 60 4
idle=$MH_BG_PID
mh_assert "60 idle connections are open" mh_wait 5 grep -qs '^ready: 60' "$MH_TMP/idle1.out"
for p in 60001 60002 60003; do
	legit $p "60 idle connections open"
	sleep 0.3
done
mh_assert "the prober finishes" mh_wait 10 mh_pid_gone "$idle"
sed 's/^/   | /' "$MH_TMP/idle1.out"
mh_check_eq "idle connections cut off by the daemon" 60 \
	"$(probe_field '^cut_off ([0-9]+):.*' "$MH_TMP/idle1.out")"
mh_check_eq "none of them cut off early (< 1 s)" 0 \
	"$(probe_field '.*within [0-9]+ ms ([0-9]+),.*' "$MH_TMP/idle1.out")"
cmin=$(probe_field '.*held min ([0-9]+) ms.*' "$MH_TMP/idle1.out")
cmax=$(probe_field '.*max ([0-9]+) ms\).*' "$MH_TMP/idle1.out")
mh_assert "cut off between 1.9 s and 3.5 s after connecting ($cmin-$cmax ms)" \
	test "$cmin" -ge 1900 -a "$cmax" -le 3500
mh_assert "the daemon logged the cut-offs" mh_daemon_log_has 'sent nothing in time'

mh_step "(2) mhtest2 holds more connections than the daemon has slots (200, reopened)"
mh_ns_bg "$NS_S" "$MH_TMP/idle2.out" setpriv --reuid=mhtest2 --regid=mhtest2 --init-groups \
	"$PROBE" "$sock" idle 200 30 --reconnect
idle=$MH_BG_PID
t_attack=$SECONDS
mh_assert "the prober has opened 200 connections" mh_wait 5 grep -qs '^ready' "$MH_TMP/idle2.out"
sleep 0.5
for p in 60011 60012 60013 60014 60015; do
	legit $p "200 idle connections of another uid"
	sleep 0.5
done
mh_assert "the prober was still at it after the last announcement" kill -0 "$idle"
kill -TERM "$idle"
t_attack=$((SECONDS - t_attack + 1))
mh_assert "the prober finishes" mh_wait 10 mh_pid_gone "$idle"
sed 's/^/   | /' "$MH_TMP/idle2.out"
mh_assert "the daemon stayed up" kill -0 "$MH_DAEMON_PID"
n=$(grep -c 'connection slots taken' "$MH_DAEMON_LOG")
mh_log "connections the prober opened: $(probe_field '^idle: opened ([0-9]+) .*' "$MH_TMP/idle2.out"); daemon log lines about it: $n"
mh_assert "the daemon's log about it stays rate limited (<= 20 + 5/s over ${t_attack} s)" \
	test "$n" -le $((20 + 5 * t_attack))

mh_step "(3) malformed messages: MHC_ERR_PROTOCOL with a reason"
raw() { # KIND REASON_REGEX
	local out rc=0
	out=$(as_user mhtest2 "$PROBE" "$sock" raw "$1") || rc=$?
	mh_log "$1: $out"
	mh_check_eq "$1: answered" 0 "$rc"
	mh_check_eq "$1: MHC_ERR_PROTOCOL, reason matches '$2'" yes \
		"$(echo "$out" | grep -q -E "^MHC_ERR_PROTOCOL .*($2)" && echo yes || echo "no: $out")"
}
raw empty      'empty'
raw short      'shorter than the header'
raw oversized  'longer than'
raw huge       'longer than'
raw truncated  'length does not match'
raw badlen     'length does not match'
raw badversion 'version'
raw badtype    'unknown message type'
raw reply      'not an announcement'
raw badkey     'outside base64'
raw shortkey   'not 22 characters'
raw badssh     'not printable'
raw trailing   'trailing bytes'
raw garbage    'malformed request'
mh_check_eq "the sessions set is empty" "" "$(mh_sessions | tr '\n' ' ')"
mh_check_eq "audit: no session was accepted for mhtest2" 0 \
	"$(grep '"event":"session_accepted"' "$MH_TMP/audit.log" | grep -c "\"uid\":$(id -u mhtest2)")"
legit 60021 "after the malformed messages"

mh_step "(4) a flood of announcements from mhtest2 (quota $QUOTA), mhtest1 unaffected"
# Rounds of 300 announcements, 50 in flight; each round's process exits
# (and its sessions end) before the next one. Bounded: 15 rounds.
mh_ns_bg "$NS_S" "$MH_TMP/flood.out" setpriv --reuid=mhtest2 --regid=mhtest2 --init-groups \
	bash -c 'for r in $(seq 15); do "$0" "$1" 60100 300 --inflight 50; echo "round $r rc $?"; done' \
	"$BURST" "$sock"
flood=$MH_BG_PID
sleep 0.2
for p in 60031 60032 60033 60034 60035; do
	legit $p "during the announcement flood"
	sleep 0.2
done
mh_assert "the flood finishes within 60 s" mh_wait 60 mh_pid_gone "$flood"
rounds=$(grep -c '^round' "$MH_TMP/flood.out")
mh_log "flood: $rounds rounds; per round: $(grep -E '^(status MHC_OK|announced)' "$MH_TMP/flood.out" |
	sed -n -E 's/^announced .* in ([0-9.]+) ms.*/\1 ms/p; s/^status MHC_OK ([0-9]+)/\1 ok;/p' | tr '\n' ' ')"
mh_check_eq "flood rounds that ran" 15 "$rounds"
mh_check_eq "rounds with an unanswered announcement" 0 "$(grep -c -v 'rc 0$' <(grep '^round' "$MH_TMP/flood.out"))"
mh_check_eq "rounds that got more than the quota" 0 \
	"$(awk -v q=$QUOTA '/^status MHC_OK/ && $3 > q' "$MH_TMP/flood.out" | wc -l)"
mh_check_eq "refusals other than quota / port already taken" 0 \
	"$(grep -E '^status MHC_ERR_' "$MH_TMP/flood.out" | grep -v -E 'QUOTA|EXISTS' | awk '$3 != 0' | wc -l)"
mh_assert "the quota refusals say why" grep -q -E "^reason [0-9]+ x MHC_ERR_QUOTA: uid $(id -u mhtest2) already has $QUOTA sessions" "$MH_TMP/flood.out"

mh_step "latency of mhtest1's announcements under all of the above"
mh_log "$(sort -n "$U/latencies" | awk '{ a[NR] = $1 } END { printf "%d announcements: min %s ms, median %s ms, max %s ms", NR, a[1], a[int((NR + 1) / 2)], a[NR] }')"
mh_assert "the daemon is still running" kill -0 "$MH_DAEMON_PID"

mh_pass "hostile local clients"
