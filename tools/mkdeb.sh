#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds the Debian package out of tree (make deb): copies the source
# (the files git knows, or everything but build/ outside git) to
# OUT/src/mosh-helper-VERSION, runs dpkg-buildpackage there, leaves the
# .deb and .changes in OUT and runs lintian on them. The checkout is not
# written to. Usage: tools/mkdeb.sh [OUT]   (default build/deb)
set -eu

OUT=${1:-build/deb}
SRC=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
VER=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
TREE=$OUT/src/mosh-helper-$VER

rm -rf "$OUT/src"
mkdir -p "$TREE"
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$SRC" ls-files -z --cached --others --exclude-standard |
		(cd "$SRC" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
		(cd "$SRC" && cpio -0 -pdm --quiet "$TREE")
else
	(cd "$SRC" && tar -cf - --exclude=./build .) | (cd "$TREE" && tar -xf -)
fi

(cd "$TREE" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$OUT/build.log" 2>&1 || {
	tail -n 40 "$OUT/build.log" >&2
	echo "mkdeb: dpkg-buildpackage failed, log in $OUT/build.log" >&2
	exit 1
}
rm -f "$OUT"/*.deb "$OUT"/*.changes "$OUT"/*.buildinfo
mv "$OUT"/src/*.deb "$OUT"/src/*.changes "$OUT"/src/*.buildinfo "$OUT"/
rm -rf "$OUT/src"

CHANGES=$(ls "$OUT"/mosh-helper_*.changes)
if command -v lintian >/dev/null 2>&1; then
	# errors fail the build; warnings are printed (debian/README.lintian
	# says why each one left is there)
	lintian --fail-on error "$CHANGES" | tee "$OUT/lintian.txt"
fi
ls "$OUT"/*.deb
