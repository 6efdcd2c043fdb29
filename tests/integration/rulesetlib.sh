# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Shared preamble of the nfttool-driven table tests (t_ruleset*.sh): the
# cleanup trap (ends the PIDs started by bg, deletes the namespaces named in
# NETNS, removes TMP), the ok/fail/eq assertions, bg/reap, nft counters and
# the two-namespace veth set-up. Not the daemon harness (that is lib.sh).
#
# Before sourcing, set P (unique prefix with $$), NS_S, NS_C, NFTTOOL,
# UDPSEND and NETNS=(every namespace the test creates). A test may define
# fail_diag(): fail() calls it after the FAIL line, before exiting.

TMP='' PIDS=()

# shellcheck disable=SC2317  # called by the trap
cleanup() {
	local pid ns
	for pid in "${PIDS[@]}"; do
		[ -n "$pid" ] && kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		[ -n "$pid" ] && wait "$pid" 2>/dev/null
	done
	for ns in "${NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---------------------------------------------------------------- output
skip() { echo "skip: $*"; exit 77; }
ok()   { echo "   ok: $*"; }
step() { printf '\n== %s\n' "$*"; }
fail() {
	echo "   FAIL: $*"
	if declare -F fail_diag >/dev/null; then fail_diag; fi
	exit 1
}
check() { # what, command...
	local what=$1; shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
eq() { # what, expected, actual
	[ "$2" = "$3" ] && ok "$1 ($3)" || fail "$1: expected '$2', got '$3'"
}
le() { # what, value, bound
	[ -n "$2" ] && [ "$2" -le "$3" ] && ok "$1 ($2 <= $3)" || fail "$1: '$2' not <= $3"
}
ge() { # what, value, bound
	[ -n "$2" ] && [ "$2" -ge "$3" ] && ok "$1 ($2 >= $3)" || fail "$1: '$2' not >= $3"
}

# ---------------------------------------------------------------- prerequisites
require_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }
require_built() { # files
	local x
	for x in "$@"; do
		[ -x "$x" ] || skip "$x not built"
	done
}
require_cmds() { # commands
	local x
	for x in "$@"; do
		command -v "$x" >/dev/null || skip "$x not installed"
	done
}

# ---------------------------------------------------------------- processes
S() { ip netns exec "$NS_S" "$@"; }
C() { ip netns exec "$NS_C" "$@"; }
# bg NS OUT ERR command...: start in the background and remember its PID
# (`ip netns exec` execs the command, so $! is the command itself).
# ERR "-" sends stderr to OUT as well.
bg() {
	local ns=$1 out=$2 err=$3; shift 3
	if [ "$err" = - ]; then
		ip netns exec "$ns" "$@" >"$out" 2>&1 &
	else
		ip netns exec "$ns" "$@" >"$out" 2>"$err" &
	fi
	PIDS+=("$!")
}
reap() { # wait for a bg PID and forget it (never signal a recycled PID)
	local p keep=()
	wait "$1" 2>/dev/null
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}
nfttool() { S "$NFTTOOL" "$@"; }
now_ms() { date +%s%3N; }
rx() { grep -c "$2" "$1" 2>/dev/null; }   # file, pattern: datagrams seen
counter() { # chain, comment text: packets of that rule
	S nft list chain inet mosh_helper "$1" 2>/dev/null |
		grep -F "$2" | sed -nE 's/.*counter packets ([0-9]+) .*/\1/p'
}

# ---------------------------------------------------------------- topology
# NS_S and NS_C joined by the veth "$P-s" / "$P-c" with SRV4/SRV6 and
# CLI4/CLI6, then a datagram each family from C to S on port 5000 (bounded:
# 10 s). The listener stays running as the last entry of PIDS.
veth_pair() {
	ip netns add "$NS_S" || fail "netns add"
	ip netns add "$NS_C" || fail "netns add"
	ip link add "$P-s" type veth peer name "$P-c" || fail "veth"
	ip link set "$P-s" netns "$NS_S"
	ip link set "$P-c" netns "$NS_C"
	S ip link set lo up; C ip link set lo up
	S ip addr add "$SRV4/24" dev "$P-s"; C ip addr add "$CLI4/24" dev "$P-c"
	S ip addr add "$SRV6/64" dev "$P-s" nodad; C ip addr add "$CLI6/64" dev "$P-c" nodad
	S ip link set "$P-s" up; C ip link set "$P-c" up
	bg "$NS_S" "$TMP/link" /dev/null "$UDPSEND" recv 5000 15000
	for _ in $(seq 100); do
		C "$UDPSEND" send "$SRV4" 5000 1 2>/dev/null
		C "$UDPSEND" send "$SRV6" 5000 1 2>/dev/null
		grep -q "^$CLI4 " "$TMP/link" && grep -q "^$CLI6 " "$TMP/link" && break
		sleep 0.1
	done
	grep -q "^$CLI4 " "$TMP/link" || fail "veth link (IPv4) does not come up"
	grep -q "^$CLI6 " "$TMP/link" || fail "veth link (IPv6) does not come up"
}
