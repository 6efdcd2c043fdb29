#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# mosh-helperctl stats --prometheus against the real daemon and a real mosh
# session: the output passes tests/tools/promcheck (a strict parser of the
# text format with promtool's lints, which first shows it rejects broken
# input), carries every counter `stats` prints with the same value under its
# mosh_helper_ name, and changes when a session opens. The contrib systemd
# units pass systemd-analyze verify, and their ExecStart, run as written,
# replaces the textfile atomically (a reader in a loop never sees a partial
# file) and removes it when the daemon cannot be asked.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook mosh-helperctl tests/promcheck
CHECK=$MH_BUILD/tests/promcheck
UNIT=$MH_SRC/contrib/mosh-helper-metrics.service

mh_step "promcheck rejects what the format forbids"
bad() { # WHY TEXT (printf format)
	# shellcheck disable=SC2059  # the format is the test input
	if printf "$2" | "$CHECK" -p mosh_helper_ >/dev/null 2>&1; then
		mh_fail "promcheck accepted: $1"
	fi
	mh_ok "rejected: $1"
}
H='# HELP mosh_helper_x_total X.\n# TYPE mosh_helper_x_total counter\n'
# shellcheck disable=SC2059
printf "${H}mosh_helper_x_total{a=\"b\\\\\"c\"} 1\n" | "$CHECK" -p mosh_helper_ >/dev/null ||
	mh_fail "promcheck refused a valid exposition"
bad "sample before TYPE" 'mosh_helper_x_total 1\n# HELP mosh_helper_x_total X.\n# TYPE mosh_helper_x_total counter\n'
bad "no HELP" '# TYPE mosh_helper_x_total counter\nmosh_helper_x_total 1\n'
bad "second TYPE" "${H}# TYPE mosh_helper_x_total counter\nmosh_helper_x_total 1\n"
bad "counter without _total" '# HELP mosh_helper_x X.\n# TYPE mosh_helper_x counter\nmosh_helper_x 1\n'
bad "gauge with _total" '# HELP mosh_helper_x_total X.\n# TYPE mosh_helper_x_total gauge\nmosh_helper_x_total 1\n'
bad "negative counter" "${H}mosh_helper_x_total -1\n"
bad "family split" "${H}mosh_helper_x_total{a=\"1\"} 1\n# HELP mosh_helper_y Y.\n# TYPE mosh_helper_y gauge\nmosh_helper_y 1\nmosh_helper_x_total{a=\"2\"} 1\n"
bad "duplicate sample" "${H}mosh_helper_x_total{a=\"1\",b=\"2\"} 1\nmosh_helper_x_total{b=\"2\",a=\"1\"} 1\n"
bad "bad escape in a label value" "${H}mosh_helper_x_total{a=\"\\\\q\"} 1\n"
bad "unterminated label value" "${H}mosh_helper_x_total{a=\"1} 1\n"
bad "bad value" "${H}mosh_helper_x_total 1x\n"
bad "no final newline" "${H}mosh_helper_x_total 1"
bad "wrong prefix" '# HELP other_x_total X.\n# TYPE other_x_total counter\nother_x_total 1\n'
bad "not a base unit" '# HELP mosh_helper_age_ms X.\n# TYPE mosh_helper_age_ms gauge\nmosh_helper_age_ms 1\n'

mh_setup
MH_IDLE=30 MH_HANDSHAKE=120   # nothing expires by itself during the test
mh_start_daemon
CTL=$MH_BUILD/mosh-helperctl SOCK=$MH_TMP/control.sock

# snapshot: `stats` ($MH_TMP/stats), `stats --prometheus` ($MH_TMP/prom) and
# promcheck's canonical samples ($MH_TMP/samples), taken between two equal
# `stats` so the counters did not move in between (bounded retries).
snapshot() {
	local i
	for i in 1 2 3 4 5; do
		"$CTL" -s "$SOCK" stats >"$MH_TMP/stats" || mh_fail "stats failed"
		"$CTL" -s "$SOCK" stats --prometheus >"$MH_TMP/prom" || mh_fail "stats --prometheus failed"
		"$CTL" -s "$SOCK" stats >"$MH_TMP/stats2" || mh_fail "stats failed"
		cmp -s "$MH_TMP/stats" "$MH_TMP/stats2" && break
		[ "$i" = 5 ] && mh_fail "the counters moved in each of 5 tries"
	done
	"$CHECK" -p mosh_helper_ "$MH_TMP/prom" >"$MH_TMP/samples" 2>"$MH_TMP/check.err" ||
		mh_fail "promcheck: $(cat "$MH_TMP/check.err")"
	mh_ok "promcheck accepts the output ($(wc -l <"$MH_TMP/samples") samples)"
}

# The sample each `stats` line must appear as (the test's own table).
expected() {
	awk '
	BEGIN {
		m["sessions"] = "mosh_helper_sessions"
		m["pinholes"] = "mosh_helper_pinholes"
		m["announce_accepted"] = "mosh_helper_announcements_accepted_total"
		m["announce_refused"] = "mosh_helper_announcements_refused_total"
		m["pinholes_opened"] = "mosh_helper_pinholes_opened_total"
		m["pinholes_expired"] = "mosh_helper_pinholes_expired_total"
		m["sessions_ended"] = "mosh_helper_sessions_ended_total"
		m["nft_errors"] = "mosh_helper_nft_errors_total"
		m["pinholes_rearmed"] = "mosh_helper_pinholes_rearmed_total"
		m["readbacks"] = "mosh_helper_readbacks_total"
		m["readback_running"] = "mosh_helper_readback_running"
		s["readback_ms"] = "mosh_helper_readback_seconds"
		s["readback_max_ms"] = "mosh_helper_readback_max_seconds"
		s["readback_busy_ms"] = "mosh_helper_readback_busy_seconds"
	}
	$1 in m { print m[$1], $2; next }
	$1 in s { printf "%s %d.%03d\n", s[$1], int($2 / 1000), $2 % 1000; next }
	$1 ~ /^(accept|drop)_/ {
		v = $1; sub(/_.*/, "", v); r = $1; sub(/^[a-z]+_/, "", r)
		printf "mosh_helper_verdicts_total{reason=\"%s\",verdict=\"%s\"} %s\n", r, v, $2
		next
	}
	{ print "UNMAPPED", $0 }' "$MH_TMP/stats" | sort
}
value() { awk -v n="$1" '$1 == n { print $2 }' "$MH_TMP/samples"; }

check_same() {
	sort "$MH_TMP/samples" >"$MH_TMP/samples.sorted"
	expected >"$MH_TMP/expected"
	if ! cmp -s "$MH_TMP/expected" "$MH_TMP/samples.sorted"; then
		diff "$MH_TMP/expected" "$MH_TMP/samples.sorted" | sed 's/^/   | /'
		mh_fail "the Prometheus samples differ from stats"
	fi
	mh_ok "all $(wc -l <"$MH_TMP/stats") counters of stats, same values, one sample each"
	mh_check_eq "every family has HELP and TYPE" \
		"$(grep -c '^# HELP' "$MH_TMP/prom")" "$(grep -c '^# TYPE' "$MH_TMP/prom")"
}

mh_step "no session yet: the metrics are the counters of stats"
snapshot
check_same
mh_check_eq "sessions gauge" 0 "$(value mosh_helper_sessions)"
mh_check_eq "announcements accepted" 0 "$(value mosh_helper_announcements_accepted_total)"
mh_check_eq "counter and gauge types" "counter gauge" \
	"$(awk '$2 == "TYPE" && $3 == "mosh_helper_verdicts_total" { c = $4 } $2 == "TYPE" && $3 == "mosh_helper_pinholes" { g = $4 } END { print c, g }' "$MH_TMP/prom")"

mh_step "the read-back is counted and timed (the first runs at the first tick)"
st_of() { awk -v n="$1" '$1 == n { print $2 }' "$MH_TMP/stats"; }
read_back() { "$CTL" -s "$SOCK" stats >"$MH_TMP/stats" && [ "$(st_of readbacks)" -ge 1 ]; }
mh_wait 5 read_back || mh_fail "no read-back counted 5 s after the start"
snapshot   # stats and the Prometheus text of one moment
check_same
mh_check_eq "the longest read-back is at least the last" yes \
	"$([ "$(st_of readback_max_ms)" -ge "$(st_of readback_ms)" ] && echo yes)"
mh_check_eq "mosh_helper_readback_seconds is readback_ms in seconds" \
	"$(st_of readback_ms | awk '{ printf "%d.%03d", $1 / 1000, $1 % 1000 }')" \
	"$(value mosh_helper_readback_seconds)"

mh_step "a real session opens: the metrics follow"
mh_live_session mhtest1 c1
snapshot
sed 's/^/   | /' "$MH_TMP/prom"
check_same
mh_check_eq "sessions gauge" 1 "$(value mosh_helper_sessions)"
mh_check_eq "announcements accepted" 1 "$(value mosh_helper_announcements_accepted_total)"
mh_check_eq "pinholes gauge = pinholes in the kernel set" "$(mh_pinholes_for_port "$MH_PORT")" \
	"$(value mosh_helper_pinholes)"
mh_check_eq "pinholes opened >= 1, verdict accept/new_source >= 1" yes \
	"$([ "$(value mosh_helper_pinholes_opened_total)" -ge 1 ] &&
	   [ "$(value 'mosh_helper_verdicts_total{reason="new_source",verdict="accept"}')" -ge 1 ] && echo yes)"

mh_step "--prometheus is root's, and goes with stats alone"
rc=0; runuser -u mhtest1 -- "$CTL" -s "$SOCK" stats --prometheus >/dev/null 2>"$MH_TMP/err" || rc=$?
mh_check_eq "as mhtest1: exit 1, MHC_ERR_PERM" "1 yes" "$rc $(grep -q MHC_ERR_PERM "$MH_TMP/err" && echo yes)"
rc=0; "$CTL" -s "$SOCK" list --prometheus >/dev/null 2>&1 || rc=$?
mh_check_eq "list --prometheus: usage error (2)" 2 "$rc"
rc=0; "$CTL" -s "$SOCK" --json stats --prometheus >/dev/null 2>&1 || rc=$?
mh_check_eq "--json with --prometheus: usage error (2)" 2 "$rc"

mh_step "contrib: the systemd units verify"
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir "$MH_TMP/units"
	sed "s#/usr/local/bin/mosh-helperctl#$CTL#" "$UNIT" >"$MH_TMP/units/mosh-helper-metrics.service"
	cp "$MH_SRC/contrib/mosh-helper-metrics.timer" "$MH_TMP/units/"
	out=$(cd "$MH_TMP/units" && systemd-analyze verify --man=no ./mosh-helper-metrics.service \
		./mosh-helper-metrics.timer 2>&1) || mh_fail "systemd-analyze verify: $out"
	mh_check_eq "systemd-analyze verify says nothing" "" "$out"
else
	mh_log "systemd-analyze not installed: units not verified"
fi

mh_step "contrib: ExecStart writes the textfile atomically"
# ExecStart as systemd runs it: "$$" is a "$"; CTL and DIR from the
# environment, as Environment= sets them.
cmd=$(sed -n 's/^ExecStart=//p' "$UNIT" | sed 's/\$\$/$/g')
[ -n "$cmd" ] || mh_fail "no ExecStart in $UNIT"
DIR=$MH_TMP/textfile
mkdir "$DIR"
printf '#!/bin/sh\nexec %s -s %s "$@"\n' "$CTL" "$SOCK" >"$MH_TMP/ctl-wrap"
chmod 755 "$MH_TMP/ctl-wrap"
run_unit() { CTL=$1 DIR=$DIR bash -c "$cmd"; }
run_unit "$MH_TMP/ctl-wrap" || mh_fail "ExecStart failed"
"$CHECK" -p mosh_helper_ "$DIR/mosh_helper.prom" >/dev/null || mh_fail "the textfile does not pass promcheck"
mh_check_eq "the textfile says 1 session" 1 \
	"$(awk '$1 == "mosh_helper_sessions" { print $2 }' "$DIR/mosh_helper.prom")"
# a reader in a loop while ExecStart runs 30 times: every read is whole
# (as many lines as the first file, the last one a sample with its newline)
lines=$(wc -l <"$DIR/mosh_helper.prom")
( for _ in $(seq 30); do run_unit "$MH_TMP/ctl-wrap" || exit 1; done ) &
writer=$!
reads=0 partial=0
while kill -0 "$writer" 2>/dev/null && [ "$reads" -lt 20000 ]; do
	reads=$((reads + 1))
	text=$(cat "$DIR/mosh_helper.prom" 2>/dev/null; echo .) || true
	mapfile -t got <<<"${text%.}"
	if [ "${#got[@]}" != "$((lines + 1))" ] || [ -n "${got[lines]}" ] ||
	   [[ ! ${got[lines - 1]} =~ ^mosh_helper_[a-z_]+(\{.*\})?\ [0-9]+$ ]]; then
		partial=$((partial + 1))
	fi
done
wait "$writer" || mh_fail "an ExecStart run failed"
mh_log "$reads reads during 30 rewrites"
mh_check_eq "no read saw a missing or partial file" 0 "$partial"
mh_check_eq "only mosh_helper.prom in the directory (no temporary left)" "mosh_helper.prom" "$(ls -A "$DIR")"

mh_step "contrib: the daemon cannot be asked: failure, no stale file"
printf '#!/bin/sh\nexec %s -s %s "$@"\n' "$CTL" "$MH_TMP/nowhere.sock" >"$MH_TMP/ctl-gone"
chmod 755 "$MH_TMP/ctl-gone"
rc=0; run_unit "$MH_TMP/ctl-gone" 2>/dev/null || rc=$?
mh_check_eq "ExecStart fails" 1 "$rc"
mh_check_eq "the directory is empty" "" "$(ls -A "$DIR")"

mh_pass "Prometheus metrics"
