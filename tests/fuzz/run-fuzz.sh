#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs the libFuzzer targets built by fuzz.mk and prints one line per target
# from libFuzzer's final statistics: executions, exec/s, cov (edges) and ft
# (features), new units, peak RSS. Fails if any target crashes.
#   run-fuzz.sh FUZZ_BUILD_DIR SECONDS TARGET...   fuzz each on a fresh copy
#                                                  of tests/fuzz/corpus/TARGET
#                                                  (FUZZ_RUNS=N: stop after N
#                                                  executions if sooner)
#   run-fuzz.sh --replay FUZZ_BUILD_DIR TARGET...  run every corpus and
#                                                  regression input once
# Crash inputs land in FUZZ_BUILD_DIR/artifacts/TARGET/; after the fix, copy
# them to tests/fuzz/regressions/TARGET/.
set -u
FUZZ_SRC=$(cd "$(dirname "$0")" && pwd)
replay=0
if [ "${1:-}" = --replay ]; then
	replay=1
	shift
fi
OUT=${1:?usage: run-fuzz.sh [--replay] FUZZ_BUILD_DIR [SECONDS] TARGET...}
shift
if [ $replay = 0 ]; then
	SECS=${1:?seconds}
	shift
fi
[ $# -gt 0 ] || { echo "run-fuzz.sh: no targets" >&2; exit 2; }
OUT=$(cd "$OUT" && pwd)

# Per-target options, one per line: the largest input worth trying, a
# dictionary. review: libFuzzer's default, the largest seed capture.
target_opts() {
	case $1 in
	ssp) echo "-max_len=4096" ;;          # > 1024: several OCB chunks
	control) echo "-max_len=1200" ;;      # > MHC_MAX_MSG
	relaywire) echo "-max_len=2048" ;;    # > MHR_MAX_FRAME, a few frames
	gwpriv) echo "-max_len=2100" ;;       # > MH_GWP_MAX
	config)
		echo "-max_len=4096"
		echo "-dict=$FUZZ_SRC/config.dict"
		# libconfig 1.5 leaks a string buffer on many syntax errors
		# (suppressed in fuzz_config.c): per-input leak checks would run a
		# full LSan scan for each such input. Leaks are still checked
		# once, at exit, over the whole run (and per input on replay).
		[ $replay = 1 ] || echo "-detect_leaks=0" ;;
	verdict) echo "-max_len=4096" ;;      # > a whole captured session
	nftevent) echo "-max_len=2048" ;;     # several event messages
	portlist) echo "-max_len=4096" ;;     # a page: what the kernel takes in one write
	reviewkeys) echo "-max_len=4096" ;;   # > a line (1024), several keys
	serverargs)                           # a command line of a few dozen words
		echo "-max_len=512"
		echo "-dict=$FUZZ_SRC/serverargs.dict" ;;
	esac
}

# stat NAME LOG: one value of libFuzzer's -print_final_stats output.
stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

failed=0
[ $replay = 1 ] || printf '%-8s %6s %12s %8s %6s %6s %6s %7s\n' target secs executions exec/s cov ft units rss_mb
for t in "$@"; do
	bin=$OUT/fuzz_$t
	[ -x "$bin" ] || { echo "run-fuzz.sh: $bin not built" >&2; exit 2; }
	log=$OUT/logs/$t.log
	art=$OUT/artifacts/$t/
	mkdir -p "$OUT/logs" "$art" "$FUZZ_SRC/regressions/$t"
	mapfile -t opts < <(target_opts "$t")
	if [ $replay = 1 ]; then
		# -runs=0: load (execute) every input in the directories, fuzz nothing
		"$bin" -runs=0 -timeout=10 -artifact_prefix="$art" "${opts[@]}" \
			"$FUZZ_SRC/corpus/$t" "$FUZZ_SRC/regressions/$t" >"$log" 2>&1
		rc=$?
		n=$(cat "$FUZZ_SRC/corpus/$t"/* "$FUZZ_SRC/regressions/$t"/* 2>/dev/null | wc -c)
		nfiles=$(find "$FUZZ_SRC/corpus/$t" "$FUZZ_SRC/regressions/$t" -type f ! -name ".*" | wc -l)
		if [ $rc = 0 ] && grep -q 'INITED' "$log"; then
			echo "replay $t: $nfiles inputs ($n bytes), no crash"
			continue
		fi
	else
		work=$OUT/work/$t
		rm -rf "$work"
		mkdir -p "$work/corpus"
		cp "$FUZZ_SRC/corpus/$t"/* "$work/corpus/"
		runs=()
		[ -n "${FUZZ_RUNS:-}" ] && runs=("-runs=$FUZZ_RUNS")
		t0=$SECONDS
		# new inputs go to the copy; the regressions are read only
		(cd "$work" && exec "$bin" -max_total_time="$SECS" "${runs[@]}" -print_final_stats=1 -timeout=10 \
			-jobs=1 -workers=1 -artifact_prefix="$art" "${opts[@]}" \
			"$work/corpus" "$FUZZ_SRC/regressions/$t") >"$log" 2>&1
		rc=$?
		if [ $rc = 0 ]; then
			done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
			cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
			ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
			printf '%-8s %6s %12s %8s %6s %6s %6s %7s\n' "$t" \
				"$((SECONDS - t0))" \
				"$(stat number_of_executed_units "$log")" \
				"$(stat average_exec_per_sec "$log")" "${cov:-?}" "${ft:-?}" \
				"$(stat new_units_added "$log")" "$(stat peak_rss_mb "$log")"
			continue
		fi
	fi
	failed=1
	echo "FAIL $t (rc=$rc): log $log, crash inputs in $art"
	grep -E 'ERROR|invariant failed|SUMMARY|Test unit written' "$log" | head -n 10 | sed 's/^/    /'
done
exit $failed
