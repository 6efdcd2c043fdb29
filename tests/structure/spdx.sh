#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Every source file of the project carries its licence in an SPDX line
# within its first three lines: C sources and headers, shell scripts and
# anything else run through a #! line, makefiles, reference rulesets and
# man pages. Data (captures, fuzz corpora, golden config files) does not.
# Usage: spdx.sh [SRC]; prints each file without the line, exits 1 if any.
set -u
SRC=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
TAG='SPDX-License-Identifier: GPL-3.0-or-later'
cd "$SRC" || exit 2

# the tracked files (any file when the tree is not a git checkout)
files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files
	else
		find . -type f ! -path './build*' ! -path './.git/*' | sed 's|^\./||'
	fi
}

# whether FILE is code that must carry the line
is_code() {
	case "$1" in
	tests/fuzz/corpus/*|tests/fuzz/regress/*|pcaps/*) return 1 ;;
	*.c|*.h|*.sh|*.mk|*.nft|*.py|Makefile|man/*) return 0 ;;
	esac
	[ "$(head -c 2 "$1" 2>/dev/null | tr -d '\0')" = '#!' ]
}

missing=0 checked=0
while IFS= read -r f; do
	[ -f "$f" ] && is_code "$f" || continue
	checked=$((checked + 1))
	if ! head -n 3 "$f" | grep -qF "$TAG"; then
		echo "no licence line: $f"
		missing=$((missing + 1))
	fi
done < <(files)
echo "$checked source files, $missing without '$TAG'"
[ "$missing" = 0 ] && [ "$checked" -gt 0 ]
