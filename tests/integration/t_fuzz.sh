#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The libFuzzer targets (tests/fuzz/: SSP, control protocol, config, verdict,
# review tool and its key files, nftables events, kernel port lists,
# mosh-server command lines, relay <-> gateway frames):
# built with clang-14 under ASan+UBSan, every seed corpus and saved
# regression input replayed once, then each
# target fuzzed for FUZZ_CHECK_SECONDS (default 15) on a copy of its corpus.
# Any crash, sanitizer report or broken invariant fails. clang-14 is a
# project dependency (tools/deps.sh installs it): missing, this test fails.
# No root or namespaces needed. Exits 0 pass, 1 fail.
set -u
SRC=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MH_BUILD:-$SRC/build}
SECS=${FUZZ_CHECK_SECONDS:-15}
TARGETS=(ssp control config verdict review reviewkeys nftevent portlist journal serverargs relaywire gwpriv)
start=$SECONDS

if ! command -v clang-14 >/dev/null 2>&1; then
	echo "FAIL: clang-14 not found: run 'make deps' (tools/deps.sh installs clang-14 libclang-rt-14-dev)"
	exit 1
fi

echo "== build (clang-14, -fsanitize=fuzzer,address,undefined) into $BUILD/fuzz"
# a clean sub-make: not the caller's variables or jobserver
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u EXTRA_CFLAGS -u EXTRA_LDFLAGS \
	make -s -C "$SRC" B="$BUILD" fuzz-build; then
	echo "FAIL: fuzz targets do not build"
	exit 1
fi

echo "== replay every corpus and regression input"
"$SRC/tests/fuzz/run-fuzz.sh" --replay "$BUILD/fuzz" "${TARGETS[@]}" || {
	echo "FAIL: a saved input crashes"
	exit 1
}

echo "== fuzz each target for ${SECS}s"
"$SRC/tests/fuzz/run-fuzz.sh" "$BUILD/fuzz" "$SECS" "${TARGETS[@]}" || {
	echo "FAIL: a fuzz target crashed (see above)"
	exit 1
}
echo "== t_fuzz: $((SECONDS - start))s"
