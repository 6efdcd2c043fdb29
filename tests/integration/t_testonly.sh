#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Test-only functions stay test-only: the declarations in include/ssp_test.h
# (ssp_seal, the SSP cache's counters) reach no program. No source of lib,
# nft, the daemon, the hook or the tools but lib/ssp.c (which defines them)
# includes that header, and no object of theirs leaves one of its
# functions undefined (nm), so none calls it.
set -u
B=${MH_BUILD:?run through tests/run.sh}
SRC=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v nm >/dev/null 2>&1 || { echo "nm (binutils) is needed"; exit 77; }
cd "$SRC" || exit 1
DIRS="lib nft nfq-helper hook tools/review tools/ctl"
syms=$(sed -n 's/^[a-z].*[ *]\(ssp_[a-z_]*\)(.*/\1/p' include/ssp_test.h)
[ "$(wc -w <<<"$syms")" -ge 3 ] || { echo "FAIL: read only '$syms' from ssp_test.h"; exit 1; }
rc=0
inc=$(grep -rl --include='*.[ch]' '#include "ssp_test.h"' $DIRS | grep -vx lib/ssp.c)
[ -z "$inc" ] || { echo "FAIL: programs include ssp_test.h: $inc"; rc=1; }
objs=$(cd "$B" && find $DIRS -name '*.o' ! -path lib/ssp.o 2>/dev/null)
[ -n "$objs" ] || { echo "no objects in $B (build first)"; exit 1; }
for s in $syms; do
	users=$(cd "$B" && nm -A -u $objs | awk -v s="$s" '$NF == s { sub(/:.*/, "", $1); print $1 }')
	[ -z "$users" ] || { echo "FAIL: $s called by $users"; rc=1; }
done
[ $rc = 0 ] && echo "test-only: $(echo $syms) used by no program"
exit $rc
