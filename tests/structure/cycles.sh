#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Import cycles within a folder, from the objects' symbols: file A uses
# file B when A's object leaves undefined a global symbol B's object
# defines. Prints, per folder, the number of cycles (strongly connected
# groups of two or more files) and the files of each. The daemon
# (nfq-helper) is one folder with its rooms: a cycle through two rooms is
# a cycle too. Its rooms' arrows are checked as well (DESIGN.md, Layout):
# intake -> lifecycle -> datapath, so no datapath file uses a symbol a
# lifecycle or intake file defines, and no lifecycle file one of intake's;
# process may use every room and every room process. An edge that breaks
# the direction is allowed only when tests/structure/rooms.allow names it
# ("user definer symbol", each with its reason). Exits 1 on any cycle or
# wrong-way edge.
# Usage: tests/structure/cycles.sh BUILD_DIR [FOLDER...]
set -u
B=${1:?usage: cycles.sh BUILD_DIR [FOLDER...]}
shift
FOLDERS=${*:-nfq-helper hook lib nft tools/review tools/ctl}
DAEMON=nfq-helper
NM=${NM:-nm}
total=0

SRC=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
ALLOW=${MH_ROOMS_ALLOW:-$SRC/tests/structure/rooms.allow}

# objects FOLDER: the objects of the folder's sources, the daemon's rooms
# (its subfolders) included (a stale object of a source renamed since is
# left out)
objects() {
	local c o srcs=("$SRC/$1"/*.c)
	[ "$1" = "$DAEMON" ] && srcs+=("$SRC/$1"/*/*.c)
	for c in "${srcs[@]}"; do
		o=$B/${c#"$SRC/"}
		o=${o%.c}.o
		[ -e "$c" ] && [ -e "$o" ] && echo "$o"
	done
}

# edges FOLDER: "user definer symbol" lines between two of its objects,
# files named within the folder ("intake/control", "hook")
edges() {
	local objs
	mapfile -t objs < <(objects "$1")
	{
		"$NM" -A -g --defined-only "${objs[@]}" | awk '{ print "D", $1, $NF }'
		"$NM" -A -u "${objs[@]}" | awk '{ print "U", $1, $NF }'
	} | awk -v pre="$B/$1/" '
		{ f = $2; sub(/:.*/, "", f); f = substr(f, length(pre) + 1); sub(/\.o$/, "", f) }
		$1 == "D" { def[$3] = f; next }
		{ use[++n] = f " " $3 }
		END {
			for (i = 1; i <= n; i++) {
				split(use[i], p, " ")
				if ((p[2] in def) && def[p[2]] != p[1] && !seen[p[1], p[2]]++)
					print p[1], def[p[2]], p[2]
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

# wrong_way: from "user definer symbol" lines of the daemon, those that
# run against its rooms' arrows and rooms.allow does not name
wrong_way() {
	awk -v allow="$ALLOW" '
		BEGIN {
			rank["intake"] = 3; rank["lifecycle"] = 2; rank["datapath"] = 1
			while ((getline l < allow) > 0) {
				sub(/#.*/, "", l)
				if (split(l, w, " ") == 3)
					ok[w[1], w[2], w[3]] = 1
			}
		}
		function room(f) { return f ~ /\// ? substr(f, 1, index(f, "/") - 1) : "" }
		{
			u = room($1); d = room($2)
			if ((u in rank) && (d in rank) && rank[d] > rank[u] && !ok[$1, $2, $3])
				print
		}'
}

for f in $FOLDERS; do
	if [ -z "$(objects "$f")" ]; then
		echo "$f: no objects in $B/$f (build first)" >&2
		exit 2
	fi
	mapfile -t edg < <(edges "$f")
	mapfile -t cyc < <(printf '%s\n' "${edg[@]}" | sed '/^$/d' | cycles)
	printf '%-14s %d cycle(s)\n' "$f:" "${#cyc[@]}"
	for c in "${cyc[@]}"; do
		echo "    $(wc -w <<<"$c") files:$c"
	done
	total=$((total + ${#cyc[@]}))
	[ "$f" = "$DAEMON" ] || continue
	mapfile -t bad < <(printf '%s\n' "${edg[@]}" | sed '/^$/d' | wrong_way)
	printf '%-14s %d wrong-way edge(s) (intake -> lifecycle -> datapath)\n' \
		"$f:" "${#bad[@]}"
	for e in "${bad[@]}"; do
		echo "    $e"
	done
	total=$((total + ${#bad[@]}))
done
[ "$total" = 0 ]
