#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs every unit test binary (Check) and every integration script, then
# prints one summary line. Usage: tests/run.sh BUILD_DIR [PATTERN]
# Integration scripts exit 0 (pass), 77 (skipped, with the reason as their
# last line: those that build network namespaces skip without root) or
# anything else (fail).
# Integration scripts run MH_JOBS at a time (default 2): each builds its
# own namespaces, temp dir and tmux socket, so they cannot collide. A
# script whose header has the line "# mh-test: alone" (it floods, measures
# CPU or needs the machine quiet for its timing) runs by itself after the
# others.
set -u
B=${1:?usage: run.sh BUILD_DIR [PATTERN]}
PAT=${2:-}
JOBS=${MH_JOBS:-2}
export B
export MH_BUILD=$(cd "$B" && pwd)
export MH_SRC=$(cd "$(dirname "$0")/.." && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
RES=$(mktemp -d "/tmp/mh-run.$$.XXXXXX") || exit 1
trap 'rm -rf "$RES"' EXIT
pass=0 fail=0 skip=0 failed=()

# run_one NAME TIMEOUT_S COMMAND...: runs it with its log in logs/NAME.log
# and writes "rc seconds" to the result directory.
run_one() {
	local name=$1 t=$2; shift 2
	local log="$MH_BUILD/logs/$name.log"
	mkdir -p "$(dirname "$log")"
	local start=$SECONDS
	timeout --kill-after=10 "$t" "$@" >"$log" 2>&1
	echo "$? $((SECONDS - start))" >"$RES/${name//\//_}"
}

# report NAME: prints the outcome run_one recorded and counts it.
report() {
	local name=$1 log="$MH_BUILD/logs/$1.log" rc dt
	read -r rc dt <"$RES/${name//\//_}"
	if [ "$rc" = 0 ]; then
		pass=$((pass + 1)); echo "PASS $name (${dt}s)"
	elif [ "$rc" = 77 ]; then
		skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$log")"
	else
		fail=$((fail + 1)); failed+=("$name")
		echo "FAIL $name (rc=$rc, ${dt}s); last lines of $log:"
		tail -n 25 "$log" | sed 's/^/    /'
	fi
}

wanted() { [ -z "$PAT" ] || [[ $1 == *$PAT* ]]; }

for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	name=unit/$(basename "$t")
	wanted "$name" || continue
	run_one "$name" 300 "$t"
	report "$name"
	grep -h '^[0-9]*%: Checks' "$MH_BUILD/logs/$name.log" | sed 's/^/    /'
done

together=() alone=()
for t in "$MH_SRC"/tests/integration/t_*.sh; do
	[ -e "$t" ] || continue
	name=integration/$(basename "$t" .sh)
	wanted "$name" || continue
	if grep -q '^# mh-test: alone' "$t"; then alone+=("$t"); else together+=("$t"); fi
done

# A pool of JOBS scripts; each result is printed as soon as it is known.
declare -A running=()
reap_one() {
	local pid
	wait -n -p pid "${!running[@]}"
	report "${running[$pid]}"
	unset "running[$pid]"
}
for t in "${together[@]}"; do
	while [ ${#running[@]} -ge "$JOBS" ]; do reap_one; done
	name=integration/$(basename "$t" .sh)
	run_one "$name" 600 bash "$t" &
	running[$!]=$name
done
while [ ${#running[@]} -gt 0 ]; do reap_one; done

for t in "${alone[@]}"; do
	name=integration/$(basename "$t" .sh)
	run_one "$name" 600 bash "$t"
	report "$name"
done

[ ${#failed[@]} = 0 ] || echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
