#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The gateway's periodic read-back at scale serves other work as it goes
# (issue 13; bench/README item 17: at 100,000 pinholes the read-back once
# held the event loop for 0.9 s, so a verdict or a control request waited
# that long). The gateway daemon alone in a namespace (role gateway, the
# site PKI of mkcerts.sh, no relay: its listener on loopback), on a table
# filled by nft while it was stopped (table_flags = "none"), as bench item
# readback does: RB_SERVERS x 1000 sessions of 10 pinholes each (40,000),
# each pinhole with the idle timeout (8 s: a read-back every 2 s) and its
# key noted in seen4 every second by a loop of the test's own, as if each
# client sent a datagram a second, so every read-back lists 40,000
# pinholes and 40,000 seen keys and re-arms them all. The daemon adopts
# the sessions without keys; no relay announces them, so they end
# relay_orphan_grace (16 s) after the start, during the read-backs.
# Checked, from `mosh-helperctl stats` asked every ~20 ms:
#  - some answers come while a read-back is under way (readback_running
#    1): the loop serves the control socket between its slices (the daemon
#    that read back in one go never could);
#  - in the read-backs meanwhile no pinhole is lost (40,000 held, none
#    expired) and each re-arms them all (pinholes_rearmed);
#  - a read-back's own work is no more than its duration;
#  - once the sessions ended, with seen4 still noting their keys, two
#    read-backs later the pinhole set is empty: a re-arm never brings back
#    a pinhole whose record went, even during the read-back (sessions end
#    at a tick, every 500 ms, and a read-back starts at one: this bites
#    when the read-back runs past the next tick, as it does under the
#    sanitizers, about 800 ms here, but not in a plain build, 340 ms);
#  - no sanitizer report.
# Skipped on kernels that cannot update an element's timeout (before
# 6.10): the rules refresh pinholes there, and there is no seen4.
# Knob: MH_RB_SERVERS (server addresses, 1000 sessions each; default 4).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/gwlib.sh
. "$(dirname "$0")/gwlib.sh"

RB_SERVERS=${MH_RB_SERVERS:-4} RB_PER=10
RB_SESS=$((RB_SERVERS * 1000)) RB_PH=$((RB_SERVERS * 1000 * RB_PER))

rb_cleanup() {
	local rc=$?
	mh_ns_kill "$NS_G"
	mh_ns_del "$NS_G"
	(exit "$rc")
	mh_cleanup
}

mh_require_root
mh_require_build mosh-helperd mosh-helperctl
command -v openssl >/dev/null 2>&1 || mh_skip "missing tool: openssl"
MH_TMP=$(mktemp -d "/tmp/$MH_P.XXXXXX") || exit 1
trap rb_cleanup EXIT
trap 'exit 130' INT TERM
mh_ns_add "$NS_G"
gw_certs
G() { mh_nsx "$NS_G" "$@"; }
CTL=$MH_BUILD/mosh-helperctl SOCK=$MH_TMP/gw.sock

# rb_script SET KIND SUFFIX: an nft script adding to SET the sessions
# (KIND sessions) or the pinhole keys, each followed by SUFFIX
rb_script() {
	awk -v set="$1" -v kind="$2" -v sfx="$3" -v na="$RB_SERVERS" -v per=$RB_PER \
		-v table="$GW_TABLE" '
	function flush() { if (n) printf "add element inet %s %s { %s }\n", table, set, buf; buf = ""; n = 0 }
	function add(e) { buf = n ? buf ", " e : e; if (++n == 5000) flush() }
	BEGIN {
		for (a = 1; a <= na; a++)
			for (p = 60000; p < 61000; p++) {
				if (kind == "sessions") { add("198.18.60." a " . " p); continue }
				for (j = 0; j < per; j++)
					add("198.19." j "." a " . " 40000 + p - 60000 " . 198.18.60." a " . " p sfx)
			}
		flush()
	}'
}
stat_of() { awk -v n="$1" '$1 == n { print $2 }' "$2"; }
stats() { G "$CTL" -s "$SOCK" stats; }
in_set() { G nft list set inet "$GW_TABLE" pinholes4 | grep -o ' \. 198\.18\.60\.' | wc -l; }

mh_step "the gateway's table: $RB_SESS sessions, $RB_PH pinholes, filled while no daemon runs"
gw_conf "$MH_TMP/gw.conf" "$CERTS" 127.0.0.1:7710 16 2 "$MH_TMP/gw-audit.log"
gw_conf_merge 'table_flags = "none";' "max_sessions = $RB_SESS;" \
	"max_pinholes_per_session = $RB_PER;" 'log_level = "info";' \
	<"$MH_TMP/gw.conf" >"$MH_TMP/gw.conf.new" && mv "$MH_TMP/gw.conf.new" "$MH_TMP/gw.conf"
gw_daemon_start   # makes the table
kill -TERM "$GW_PID"
mh_wait 10 mh_pid_gone "$GW_PID" || mh_fail "the gateway did not stop"
rb_script sessions4 sessions "" >"$MH_TMP/sessions.nft"
rb_script pinholes4 pinholes " timeout 8s" >"$MH_TMP/pinholes.nft"
rb_script seen4 pinholes " timeout 4s expires 4s" >"$MH_TMP/seen.nft"
G nft -f "$MH_TMP/sessions.nft" || mh_fail "adding the sessions"
G nft -f "$MH_TMP/pinholes.nft" || mh_fail "adding the pinholes"
mh_check_eq "pinholes in the set" "$RB_PH" "$(in_set)"
# every key noted each second (bounded: 90 times), as if each client sent
mh_ns_bg "$NS_G" "$MH_TMP/noter" bash -c \
	'for ((i = 0; i < 90; i++)); do nft -f "$0" || exit 1; sleep 1; done' "$MH_TMP/seen.nft"
NOTER=$MH_BG_PID

mh_step "the daemon adopts them and reads back every 2 s; stats asked meanwhile"
gw_daemon_start
MH_DAEMON_PID=$GW_PID MH_DAEMON_LOG=$GW_LOG   # lib.sh's cleanup and diagnostics
grep -q 'pinhole idle timeout: refreshed by the rules' "$GW_LOG" &&
	mh_skip "this kernel cannot update an element's timeout: no seen4, nothing to re-arm"
grep -o 'adopted: [0-9].*' "$GW_LOG" | head -n 1 | sed 's/^/   /'
stats >"$MH_TMP/s0" || mh_fail "no stats from the gateway"
running=0 asked=0 least=$RB_PH expired=0
end=$((SECONDS + 12))
# until 3 read-backs more are done (12 s at most, sessions end at 16 s)
while [ $SECONDS -lt $end ]; do
	stats >"$MH_TMP/s" 2>/dev/null || continue
	asked=$((asked + 1))
	[ "$(stat_of readback_running "$MH_TMP/s")" = 1 ] && running=$((running + 1))
	n=$(stat_of pinholes "$MH_TMP/s")
	[ -n "$n" ] && [ "$n" -lt "$least" ] && least=$n
	expired=$(stat_of pinholes_expired "$MH_TMP/s")
	[ "$(stat_of readbacks "$MH_TMP/s")" -ge $(($(stat_of readbacks "$MH_TMP/s0") + 3)) ] && break
	sleep 0.02
done
mh_log "$asked answers, $running while a read-back was under way"
mh_assert "answers came while a read-back was under way" [ "$running" -ge 1 ]
r0=$(stat_of readbacks "$MH_TMP/s0") r1=$(stat_of readbacks "$MH_TMP/s")
mh_assert "3 read-backs in 12 s ($r0 -> $r1)" [ "$r1" -ge $((r0 + 3)) ]
mh_check_eq "pinholes held throughout (the least seen)" "$RB_PH" "$least"
mh_check_eq "pinholes expired" 0 "$expired"
mh_check_eq "pinholes in the set" "$RB_PH" "$(in_set)"
a0=$(stat_of pinholes_rearmed "$MH_TMP/s0") a1=$(stat_of pinholes_rearmed "$MH_TMP/s")
mh_log "re-armed: $((a1 - a0)) in $((r1 - r0)) read-backs;" \
	"the last took $(stat_of readback_ms "$MH_TMP/s") ms, its own work" \
	"$(stat_of readback_busy_ms "$MH_TMP/s") ms"
mh_assert "each read-back re-armed every pinhole" [ $((a1 - a0)) -ge $(((r1 - r0 - 1) * RB_PH)) ]
# (busy is rounded from us, the duration a difference of whole ms: 1 ms apart)
mh_assert "a read-back's work is no more than its duration" \
	[ "$(stat_of readback_busy_ms "$MH_TMP/s")" -le $(($(stat_of readback_ms "$MH_TMP/s") + 1)) ]

mh_step "the sessions end (no relay announced them) while read-backs run"
no_sessions() { stats >"$MH_TMP/s" && [ "$(stat_of sessions "$MH_TMP/s")" = 0 ]; }
mh_wait 20 no_sessions || mh_fail "sessions left: $(stat_of sessions "$MH_TMP/s")"
r2=$(stat_of readbacks "$MH_TMP/s")
two_more() { stats >"$MH_TMP/s" && [ "$(stat_of readbacks "$MH_TMP/s")" -ge $((r2 + 2)) ]; }
mh_wait 10 two_more || mh_fail "no two read-backs after the sessions ended"
mh_assert "seen4 still notes their keys" kill -0 "$NOTER"
mh_check_eq "pinholes in the set two read-backs later" 0 "$(in_set)"
mh_check_eq "pinholes the daemon holds" 0 "$(stat_of pinholes "$MH_TMP/s")"
kill -TERM "$NOTER"
gw_stop_checked
