#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Prints a block of README.md marked for reuse, the lines of the fenced
# code between "<!-- NAME: begin" and "<!-- NAME: end -->", so that the
# demo and the tests run what the README shows (gateway-pki: the openssl
# commands of the perimeter gateway's certificates; gateway-policy: the
# admin's nftables forward policy). Exit 1 if the block is missing.
# Usage: tools/readme-block.sh NAME [README]
set -eu
NAME=${1:?usage: readme-block.sh NAME [README]}
README=${2:-$(dirname "$0")/../README.md}
out=$(awk -v b="<!-- $NAME: begin" -v e="<!-- $NAME: end -->" '
	index($0, b) == 1 { on = 1; next }
	index($0, e) == 1 { on = 0 }
	on && !/^```/ { print }' "$README")
[ -n "$out" ] || { echo "readme-block.sh: no block $NAME in $README" >&2; exit 1; }
printf '%s\n' "$out"
