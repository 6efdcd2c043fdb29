#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make check-valgrind: every unit test (Check, CK_FORK=no so each test runs
# inside the checked process) under valgrind's memcheck, then every
# integration test through tests/run.sh with MH_VALGRIND=1, which runs the
# daemon and the hook under memcheck (tests/integration/lib.sh). Any
# memcheck error or definite/indirect leak fails.
# Usage: tests/run-valgrind.sh BUILD_DIR [PATTERN]
set -u
B=${1:?usage: run-valgrind.sh BUILD_DIR [PATTERN]}
PAT=${2:-}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$B" && pwd)
export MH_SRC=$SRC MH_BUILD=$BUILD   # as tests/run.sh does
# shellcheck disable=SC2054  # the commas are valgrind's
VG=(valgrind --leak-check=full --show-leak-kinds=definite,indirect
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=30
	"--suppressions=$SRC/tests/valgrind/mosh-helper.supp")
pass=0 fail=0 failed=()

command -v valgrind >/dev/null 2>&1 || { echo "valgrind is not installed"; exit 1; }
mkdir -p "$BUILD/logs/unit"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=unit/$(basename "$t")
	[ -n "$PAT" ] && [[ $name != *$PAT* ]] && continue
	log=$BUILD/logs/$name.log
	start=$SECONDS
	CK_FORK=no timeout --kill-after=10 1800 "${VG[@]}" --log-file="$log.vg" "$t" >"$log" 2>&1
	rc=$?
	# one summary per process (tests that fork write theirs too)
	nproc=$(grep -c 'ERROR SUMMARY' "$log.vg")
	nbad=$(grep -c -E 'ERROR SUMMARY: [1-9]' "$log.vg")
	summary="$nproc processes, $nbad with errors or leaks"
	[ $rc = 0 ] && [ "$nbad" != 0 ] && rc=99
	if [ $rc = 0 ]; then
		pass=$((pass + 1)); echo "PASS $name under valgrind ($((SECONDS - start))s; $summary)"
	else
		fail=$((fail + 1)); failed+=("$name")
		echo "FAIL $name under valgrind (rc=$rc; $summary); $log, $log.vg:"
		tail -n 5 "$log" | sed 's/^/    /'
		grep -E -A 12 '^==[0-9]+== [A-Z]' "$log.vg" | grep -v 'HEAP SUMMARY' | head -n 40 | sed 's/^/    /'
	fi
	grep -h '^[0-9]*%: Checks' "$log" | sed 's/^/    /'
done
echo "unit tests under valgrind: $pass passed, $fail failed"

ipat=integration/
[ -n "$PAT" ] && ipat=$PAT
MH_VALGRIND=1 "$SRC/tests/run.sh" "$B" "$ipat"
irc=$?
[ ${#failed[@]} = 0 ] || echo "failed under valgrind: ${failed[*]}"
[ $fail = 0 ] && [ $irc = 0 ]
