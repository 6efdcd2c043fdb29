#!/bin/bash
# Runs every unit test binary (Check) and every integration script, then
# prints one summary line. Usage: tests/run.sh BUILD_DIR [PATTERN]
# Integration scripts exit 0 (pass), 77 (skipped, with the reason as their
# last line: those that build network namespaces skip without root) or
# anything else (fail).
set -u
B=${1:?usage: run.sh BUILD_DIR [PATTERN]}
PAT=${2:-}
export B
export MH_BUILD=$(cd "$B" && pwd)
export MH_SRC=$(cd "$(dirname "$0")/.." && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0 fail=0 skip=0 failed=()

run_one() { # name, timeout_s, command...
	local name=$1 t=$2; shift 2
	local log="$MH_BUILD/logs/$name.log"
	mkdir -p "$(dirname "$log")"
	local start=$SECONDS
	timeout --kill-after=10 "$t" "$@" >"$log" 2>&1
	local rc=$?
	local dt=$((SECONDS - start))
	if [ $rc = 0 ]; then
		pass=$((pass + 1)); echo "PASS $name (${dt}s)"
	elif [ $rc = 77 ]; then
		skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$log")"
	else
		fail=$((fail + 1)); failed+=("$name")
		echo "FAIL $name (rc=$rc, ${dt}s); last lines of $log:"
		tail -n 25 "$log" | sed 's/^/    /'
	fi
}

for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	name=unit/$(basename "$t")
	[ -n "$PAT" ] && [[ $name != *$PAT* ]] && continue
	run_one "$name" 300 "$t"
	grep -h '^[0-9]*%: Checks' "$MH_BUILD/logs/$name.log" | sed 's/^/    /'
done

for t in "$MH_SRC"/tests/integration/t_*.sh; do
	[ -e "$t" ] || continue
	name=integration/$(basename "$t" .sh)
	[ -n "$PAT" ] && [[ $name != *$PAT* ]] && continue
	run_one "$name" 600 bash "$t"
done

[ ${#failed[@]} = 0 ] || echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
