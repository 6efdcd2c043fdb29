#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Import cycles within a folder, from the objects' symbols: file A uses
# file B when A's object leaves undefined a global symbol B's object
# defines. Prints, per folder, the number of cycles (strongly connected
# groups of two or more files) and the files of each; exits 1 if any.
# Usage: tests/structure/cycles.sh BUILD_DIR [FOLDER...]
set -u
B=${1:?usage: cycles.sh BUILD_DIR [FOLDER...]}
shift
FOLDERS=${*:-nfq-helper hook lib nft tools/review tools/ctl}
NM=${NM:-nm}
total=0

SRC=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}

# objects FOLDER: the objects of the folder's sources (a stale object of a
# source renamed since is left out)
objects() {
	local c
	for c in "$SRC/$1"/*.c; do
		[ -e "$B/$1/$(basename "$c" .c).o" ] && echo "$B/$1/$(basename "$c" .c).o"
	done
}

# edges FOLDER: "user definer" lines, one per pair of its objects
edges() {
	local objs
	mapfile -t objs < <(objects "$1")
	{
		"$NM" -A -g --defined-only "${objs[@]}" | awk '{ print "D", $1, $NF }'
		"$NM" -A -u "${objs[@]}" | awk '{ print "U", $1, $NF }'
	} | awk '
		{ f = $2; sub(/:.*/, "", f); sub(/.*\//, "", f); sub(/\.o$/, "", f) }
		$1 == "D" { def[$3] = f; next }
		{ use[++n] = f " " $3 }
		END {
			for (i = 1; i <= n; i++) {
				split(use[i], p, " ")
				if ((p[2] in def) && def[p[2]] != p[1] && !seen[p[1], def[p[2]]]++)
					print p[1], def[p[2]]
			}
		}'
}

# cycles: from "user definer" lines, the strongly connected groups of two or
# more files (reachability closure, folders are small), one line each
cycles() {
	awk '
		{ id($1); id($2); r[ix[$1], ix[$2]] = 1 }
		function id(f) { if (!(f in ix)) { ix[f] = ++n; name[n] = f } }
		END {
			for (k = 1; k <= n; k++)
				for (i = 1; i <= n; i++)
					if (r[i, k])
						for (j = 1; j <= n; j++)
							if (r[k, j])
								r[i, j] = 1
			for (i = 1; i <= n; i++) {
				if (done[i])
					continue
				line = ""
				for (j = 1; j <= n; j++)
					if (j == i || (r[i, j] && r[j, i])) {
						if (j != i)
							c++
						done[j] = 1
						line = line " " name[j]
					}
				if (c)
					print line
				c = 0
			}
		}'
}

for f in $FOLDERS; do
	if [ -z "$(objects "$f")" ]; then
		echo "$f: no objects in $B/$f (build first)" >&2
		exit 2
	fi
	mapfile -t cyc < <(edges "$f" | cycles)
	printf '%-14s %d cycle(s)\n' "$f:" "${#cyc[@]}"
	for c in "${cyc[@]}"; do
		echo "    $(wc -w <<<"$c") files:$c"
	done
	total=$((total + ${#cyc[@]}))
done
[ "$total" = 0 ]
