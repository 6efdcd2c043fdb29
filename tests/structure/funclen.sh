#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The length of every function of the production code (lib, nft, the
# daemon, the hook, the tools), from its opening brace to its closing one
# (both in column 0, as every file here writes them). Prints the count,
# p50, p90 and max with the longest functions; exits 1 if p90 is over
# MAX_P90 (30) lines or any function over MAX_LEN (60).
# Usage: tests/structure/funclen.sh [SRC_DIR]
set -u
SRC=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
MAX_P90=${MAX_P90:-30} MAX_LEN=${MAX_LEN:-60}
cd "$SRC" || exit 2
shopt -s nullglob   # nfq-helper/*.c: the daemon may have no top-level file

# "length file:line name" per function
lengths() {
	awk '
		FNR == 1 { prev = ""; open = 0 }
		/^\{/ && !open { open = FNR; name = prev; next }
		/^\}/ && open {
			sub(/\(.*/, "", name); n = split(name, w, /[ *]+/)
			print FNR - open + 1, FILENAME ":" open, w[n]
			open = 0
		}
		!open && /^[A-Za-z_]/ { prev = $0 }
		!open && /^\t*[A-Za-z_].*\(/ && prev !~ /\(/ { prev = $0 }
	' lib/*.c nft/*.c nfq-helper/*.c nfq-helper/*/*.c hook/*.c tools/review/*.c tools/ctl/*.c
}

sorted=$(lengths | sort -n)
n=$(wc -l <<<"$sorted")
pct() { sed -n "$(( ($1 * n + 99) / 100 ))p" <<<"$sorted" | cut -d' ' -f1; }
p50=$(pct 50) p90=$(pct 90) max=$(tail -n 1 <<<"$sorted" | cut -d' ' -f1)
echo "functions: $n  p50: $p50  p90: $p90  max: $max lines"
echo "longest:"
tail -n 5 <<<"$sorted" | sort -rn | sed 's/^/    /'
over=$(awk -v m="$MAX_LEN" '$1 > m' <<<"$sorted")
rc=0
if [ "$p90" -gt "$MAX_P90" ]; then
	echo "FAIL: p90 $p90 > $MAX_P90 lines"; rc=1
fi
if [ -n "$over" ]; then
	echo "FAIL: functions over $MAX_LEN lines:"; sed 's/^/    /' <<<"$over"; rc=1
fi
exit $rc
