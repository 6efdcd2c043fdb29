#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# No import cycle within a folder of the production code and no wrong-way
# arrow between the daemon's rooms (intake -> lifecycle -> datapath): from
# the objects' symbols (nm), no two files of one folder use each other,
# even through others, and no datapath file uses lifecycle or intake, no
# lifecycle file intake (tests/structure/cycles.sh prints what it finds).
# First the check itself must fail on a small daemon that breaks each rule.
set -u
B=${MH_BUILD:?run through tests/run.sh}
SRC=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v nm >/dev/null 2>&1 || { echo "nm (binutils) is needed"; exit 77; }
CC=${CC:-cc}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# fixture NAME 'room/file:body' ...: a daemon of one-function files, each
# calling what its body says, built into $T/NAME/b; prints cycles.sh's rc
fixture() {
	local name=$1 spec f body src
	shift
	for spec in "$@"; do
		f=${spec%%:*} body=${spec#*:}
		src=$T/$name/s/nfq-helper/$f.c
		mkdir -p "$(dirname "$src")" "$(dirname "$T/$name/b/nfq-helper/$f.o")"
		{
			[ -n "$body" ] && echo "void $body(void);"
			echo "void fn_$(basename "$f")(void) { ${body:+$body();} }"
		} >"$src"
		"$CC" -c -o "$T/$name/b/nfq-helper/$f.o" "$src" || return 2
	done
	MH_SRC=$T/$name/s MH_ROOMS_ALLOW=/dev/null \
		"$SRC/tests/structure/cycles.sh" "$T/$name/b" nfq-helper >"$T/$name.out"
	echo $?
}

rc=$(fixture ok 'intake/a:fn_b' 'lifecycle/b:fn_c' 'datapath/c:fn_d' 'process/d:')
[ "$rc" = 0 ] || { cat "$T/ok.out"; echo "FAIL: a daemon that keeps the arrows fails ($rc)"; exit 1; }
rc=$(fixture wrong 'intake/a:' 'lifecycle/b:' 'datapath/c:fn_a' 'process/d:')
grep -q 'datapath/c intake/a fn_a' "$T/wrong.out" && [ "$rc" = 1 ] ||
	{ cat "$T/wrong.out"; echo "FAIL: datapath -> intake not caught ($rc)"; exit 1; }
rc=$(fixture up 'intake/a:' 'lifecycle/b:fn_a' 'datapath/c:' 'process/d:')
grep -q 'lifecycle/b intake/a fn_a' "$T/up.out" && [ "$rc" = 1 ] ||
	{ cat "$T/up.out"; echo "FAIL: lifecycle -> intake not caught ($rc)"; exit 1; }
rc=$(fixture loop 'process/a:fn_c' 'datapath/c:fn_a' 'intake/b:')
grep -q '2 files: process/a datapath/c\|2 files: datapath/c process/a' "$T/loop.out" &&
	[ "$rc" = 1 ] || { cat "$T/loop.out"; echo "FAIL: a cycle through two rooms not caught ($rc)"; exit 1; }
echo "the check fails on datapath -> intake, lifecycle -> intake and a cycle across rooms"

exec "$SRC/tests/structure/cycles.sh" "$B"
