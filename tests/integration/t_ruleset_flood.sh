#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# mh-test: alone
# Per-source slow-path budgets of the nftables table on a real kernel,
# driven by tests/nfttool without the daemon (the queue has no reader, so
# whatever reaches the queue rule is dropped there: fail closed). An
# attacker namespace and a client namespace each have a veth to the
# server; test-only counting rules are inserted into mosh_in right before
# the queue rule ("at queue") and right after it ("over global": what its
# global limit refused), one per source address.
#  (1) with a budget of 50/s, a garbage flood from one source is mostly
#      dropped by the per-source rule, and exactly what it does not drop
#      reaches the queue rule: the burst plus 50/s;
#  (2) while that flood goes on, a second source's datagrams all reach the
#      queue rule, and the global limit never refuses any of them;
#  (3) control, same global limit (100/s) without budgets: the flood
#      starves the second source (the regression the benchmark measured);
#  (4) IPv6: one budget per /64: while one address floods, a second
#      address of the same /64 finds it spent, a client in another /64 is
#      untouched;
#  (5) set full (65,535 sources): a new source is not tracked, so it meets
#      only the global limit (never opened), while a tracked flooder stays
#      held to its budget.
# Needs root; exits 0 pass, 1 fail, 77 skip.
set -u

SRC=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MH_BUILD:-$SRC/build}
NFTTOOL=$BUILD/tests/nfttool
UDPSEND=$BUILD/tests/udpsend
UDPTOOL=$BUILD/tests/udptool

P=mhfl$$
NS_S=$P-srv NS_A=$P-att NS_C=$P-cli
SRV4A=198.18.21.1 ATT4=198.18.21.2 ATT4B=198.18.21.3
SRV4C=198.18.22.1 CLI4=198.18.22.2
SRV6A=fd00:21::1 ATT6=fd00:21::2 ATT6B=fd00:21::3
SRV6C=fd00:22::1 CLI6=fd00:22::2
PORT=60005 BUDGET=50 GLOBAL=100
NETNS=("$NS_S" "$NS_A" "$NS_C")
# shellcheck source=tests/integration/rulesetlib.sh
. "$(dirname "$0")/rulesetlib.sh"

fail_diag() {
	echo "---- nft list chain inet mosh_helper mosh_in (server ns)"
	ip netns exec "$NS_S" nft list chain inet mosh_helper mosh_in 2>/dev/null | sed 's/^/   /'
}
A() { ip netns exec "$NS_A" "$@"; }

# packets of the mosh_in rule whose comment contains TEXT
cnt() { counter mosh_in "$1"; }
PERSRC4="one source address over its own slow-path budget"
PERSRC6="one IPv6 /64 over its own slow-path budget"
OVER="session port over the slow-path rate"
QUEUE="session port, unknown source"

handle_of() { # comment text of a mosh_in rule
	S nft -a list chain inet mosh_helper mosh_in 2>/dev/null |
		grep -F "$1" | sed -nE 's/.*# handle ([0-9]+)$/\1/p' | head -n 1
}
# observe BEFORE_TEXT LABEL MATCH...: a counting rule (no verdict) for one
# source, inserted right before the mosh_in rule whose comment has BEFORE_TEXT
observe() {
	local h label=$2 before=$1
	shift 2
	h=$(handle_of "$before")
	[ -n "$h" ] || fail "no mosh_in rule '$before'"
	S nft insert rule inet mosh_helper mosh_in handle "$h" "$@" \
		udp dport $PORT counter comment "\"t: $label\"" ||
		fail "inserting the observer $label"
}
# load ARGS...: the table, the session port, the observers
load() {
	local who
	# per source only: the per-session budgets have t_flood_sessions.sh
	nfttool load --rate $GLOBAL --per-session 0 "$@" 2>"$TMP/load.err" || fail "load $*: $(cat "$TMP/load.err")"
	nfttool add-session $PORT || fail "add-session"
	for who in "att4 ip saddr $ATT4" "att4b ip saddr $ATT4B" "cli4 ip saddr $CLI4" \
		"att6 ip6 saddr $ATT6" "att6b ip6 saddr $ATT6B" "cli6 ip6 saddr $CLI6"; do
		# shellcheck disable=SC2086  # the match is several words
		observe "$QUEUE" "${who%% *} at queue" ${who#* }
		# shellcheck disable=SC2086
		observe "$OVER" "${who%% *} over global" ${who#* }
	done
}
at_queue() { cnt "t: $1 at queue"; }
over_global() { cnt "t: $1 over global"; }
# flood NS ADDR N: garbage from NS, one datagram per ~200 us; prints ms taken
flood() {
	local t0
	t0=$(now_ms)
	ip netns exec "$1" "$UDPTOOL" send "$2" $PORT --garbage "$3" --src-port 41000 \
		--interval-us 200 >"$TMP/flood.out" 2>&1 || fail "flood: $(cat "$TMP/flood.out")"
	echo $(( $(now_ms) - t0 ))
}
# the source address the attacker namespace uses towards the server
use_src() { # dst src
	A ip route replace "$1" dev "$P-a" src "$2" || fail "route to $1 from $2"
}

require_root
require_built "$NFTTOOL" "$UDPSEND" "$UDPTOOL"
require_cmds nft ip
TMP=$(mktemp -d)

# ------------------------------------------------------------------ setup
for ns in "$NS_S" "$NS_A" "$NS_C"; do
	ip netns add "$ns" || fail "netns add $ns"
	ip -n "$ns" link set lo up
done
ip link add "$P-sa" type veth peer name "$P-a" || fail "veth"
ip link add "$P-sc" type veth peer name "$P-c" || fail "veth"
ip link set "$P-sa" netns "$NS_S"; ip link set "$P-sc" netns "$NS_S"
ip link set "$P-a" netns "$NS_A"; ip link set "$P-c" netns "$NS_C"
S ip addr add $SRV4A/24 dev "$P-sa"; S ip addr add $SRV6A/64 dev "$P-sa" nodad
S ip addr add $SRV4C/24 dev "$P-sc"; S ip addr add $SRV6C/64 dev "$P-sc" nodad
A ip addr add $ATT4/24 dev "$P-a"; A ip addr add $ATT4B/24 dev "$P-a"
A ip addr add $ATT6/64 dev "$P-a" nodad; A ip addr add $ATT6B/64 dev "$P-a" nodad
C ip addr add $CLI4/24 dev "$P-c"; C ip addr add $CLI6/64 dev "$P-c" nodad
for l in "$NS_S $P-sa" "$NS_S $P-sc" "$NS_A $P-a" "$NS_C $P-c"; do
	ip -n "${l% *}" link set "${l#* }" up
done
# the attacker has two addresses per family; which one it sends from is
# chosen here, not by the kernel's source selection
use_src $SRV4A/32 $ATT4
use_src $SRV6A/128 $ATT6
# connectivity before any table, both families, both namespaces
bg "$NS_S" "$TMP/link" - "$UDPSEND" recv $PORT 15000
for _ in $(seq 100); do   # bounded: 10 s
	A "$UDPSEND" send $SRV4A $PORT 1 2>/dev/null; A "$UDPSEND" send $SRV6A $PORT 1 2>/dev/null
	C "$UDPSEND" send $SRV4C $PORT 1 2>/dev/null; C "$UDPSEND" send $SRV6C $PORT 1 2>/dev/null
	n=0
	for a in $ATT4 $ATT6 $CLI4 $CLI6; do grep -q "^$a " "$TMP/link" && n=$((n + 1)); done
	[ $n = 4 ] && break
	sleep 0.1
done
[ "$n" = 4 ] || fail "veth links do not come up (seen: $(cut -d" " -f1 "$TMP/link" | sort -u | tr "\n" " "))"
reap "${PIDS[-1]}"
ok "links up"
# a receiver on the session port: nothing may reach it (no daemon)
bg "$NS_S" "$TMP/rx" - "$UDPSEND" recv $PORT 300000

# ------------------------------------------------------------------ (1)
step "(1) a flood from one source: dropped by its budget ($BUDGET/s), the rest reaches the queue rule"
load --per-source $BUDGET
N=3000
d0=$(cnt "$PERSRC4")
ms=$(flood "$NS_A" $SRV4A $N)
# read at once: the flooder's element lives 2 s after its last datagram,
# and four nft listings can take longer than that on a slow machine (6.1
# under QEMU TCG lost it that way)
els=$(S nft list set inet mosh_helper slowsrc4 2>/dev/null)
sleep 0.2
q=$(at_queue att4) d=$(( $(cnt "$PERSRC4") - d0 ))
eq "every flood datagram either dropped by the budget or at the queue rule" $N $((q + d))
ge "the budget's burst reached the queue rule" "$q" $BUDGET
le "at the queue rule: burst + $BUDGET/s over ${ms} ms (+5)" "$q" $((BUDGET + BUDGET * ms / 1000 + 5))
ge "dropped by the per-source rule (>= 90%)" "$d" $((N * 9 / 10))
eq "refused by the global limit" 0 "$(over_global att4)"
echo "$els" | grep -q "$ATT4 limit rate over $BUDGET/second" ||
	fail "slowsrc4 has no element with its own limit for $ATT4: $els"
ok "slowsrc4 tracks $ATT4 with a limit of its own"

# ------------------------------------------------------------------ (2)
step "(2) during the flood a second source reaches the queue rule every time"
d0=$(cnt "$PERSRC4") o0=$(cnt "$OVER") q0=$(at_queue att4)
t0=$(now_ms)
bg "$NS_A" "$TMP/flood2" - "$UDPTOOL" send $SRV4A $PORT --garbage 8000 --src-port 41001 --interval-us 200
fpid=${PIDS[-1]}
sleep 0.3
# slowsrc4 is read while the client sends: its element expires 2 s after
# the client's last datagram, less than one listing takes on a slow
# (emulated) machine
( for _ in $(seq 40); do   # bounded: 40 listings
	S nft list set inet mosh_helper slowsrc4 2>/dev/null | grep -qF "$CLI4 limit rate over" &&
		{ echo seen; break; }
	sleep 0.05
done ) >"$TMP/seen2" &
lister=$!
C "$UDPSEND" send --from 42000 $SRV4C $PORT 20 20 || fail "client send"
wait "$lister"
grep -q seen "$TMP/seen2" || fail "the client's address is not in slowsrc4"
ok "the client has a budget of its own in slowsrc4"
kill -0 "$fpid" 2>/dev/null || fail "the flood ended before the client did: $(cat "$TMP/flood2")"
reap "$fpid"
ms=$(( $(now_ms) - t0 ))
sleep 0.2
sent=$(sed -nE 's/^sent ([0-9]+) .*/\1/p' "$TMP/flood2")
eq "the flood ran to its end" 8000 "$sent"
eq "client datagrams at the queue rule" 20 "$(at_queue cli4)"
eq "client datagrams refused by the global limit" 0 "$(over_global cli4)"
eq "global limit refusals (over-rate counter)" 0 $(( $(cnt "$OVER") - o0 ))
q=$(( $(at_queue att4) - q0 )) d=$(( $(cnt "$PERSRC4") - d0 ))
eq "flood: budget drops + at queue" 8000 $((q + d))
le "flood at the queue rule: burst + $BUDGET/s over ${ms} ms (+5)" "$q" $((BUDGET + BUDGET * ms / 1000 + 5))
eq "datagrams delivered without the daemon" 0 "$(grep -cv "^ready" "$TMP/rx")"

# ------------------------------------------------------------------ (3)
step "(3) control: same global limit ($GLOBAL/s) without budgets: the flood starves the second source"
load --per-source 0
S nft list table inet mosh_helper 2>/dev/null | grep -q slowsrc && fail "budget sets left with --per-source 0"
ok "no slowsrc sets or rules"
bg "$NS_A" "$TMP/flood3" - "$UDPTOOL" send $SRV4A $PORT --garbage 8000 --src-port 41002 --interval-us 200
fpid=${PIDS[-1]}
sleep 0.3
C "$UDPSEND" send --from 42001 $SRV4C $PORT 20 20 || fail "client send"
reap "$fpid"
sleep 0.2
ge "client datagrams refused by the global limit (at least half)" "$(over_global cli4)" 10
ok "client datagrams at the queue rule: $(at_queue cli4), of which queued: $(( $(at_queue cli4) - $(over_global cli4) ))"

# ------------------------------------------------------------------ (4)
step "(4) IPv6: one budget per /64"
load --per-source $BUDGET
d0=$(cnt "$PERSRC6")
t0=$(now_ms)
bg "$NS_A" "$TMP/flood4" - "$UDPTOOL" send $SRV6A $PORT --garbage 8000 --src-port 41003 --interval-us 200
fpid=${PIDS[-1]}
sleep 0.3
use_src $SRV6A/128 $ATT6B   # the flood's socket is connected: it keeps $ATT6
A "$UDPSEND" send --from 41004 $SRV6A $PORT 20 20 || fail "send from $ATT6B"
use_src $SRV6A/128 $ATT6
C "$UDPSEND" send --from 42002 $SRV6C $PORT 20 || fail "client send"
els=$(S nft list set inet mosh_helper slowsrc6 2>/dev/null)
kill -0 "$fpid" 2>/dev/null || fail "the flood ended before the other senders did: $(cat "$TMP/flood4")"
reap "$fpid"
ms=$(( $(now_ms) - t0 ))
sleep 0.2
eq "the flood ran to its end" 8000 "$(sed -nE 's/^sent ([0-9]+) .*/\1/p' "$TMP/flood4")"
q=$(at_queue att6)
le "flood from $ATT6 at the queue rule: burst + $BUDGET/s over ${ms} ms (+5)" "$q" $((BUDGET + BUDGET * ms / 1000 + 5))
le "another address of the same /64 ($ATT6B) finds the budget spent" "$(at_queue att6b)" 5
eq "flood + second address: budget drops + at queue" 8020 $(( $(cnt "$PERSRC6") - d0 + q + $(at_queue att6b) ))
eq "client in another /64 at the queue rule" 20 "$(at_queue cli6)"
echo "$els" | grep -q "fd00:21:: limit rate over $BUDGET/second" || fail "no /64 element fd00:21:: in slowsrc6"
echo "$els" | grep -q "fd00:22:: limit rate over $BUDGET/second" || fail "no /64 element fd00:22:: in slowsrc6"
echo "$els" | grep -qE "$ATT6|$ATT6B|$CLI6" && fail "slowsrc6 holds a full address"
ok "slowsrc6 holds prefixes (fd00:21::, fd00:22::), not addresses"

# ------------------------------------------------------------------ (5)
step "(5) set full: a new source meets only the global limit; a tracked one stays held"
load --per-source $BUDGET
S nft flush set inet mosh_helper slowsrc4 || fail "flush slowsrc4"
bg "$NS_A" "$TMP/flood5" - "$UDPTOOL" send $SRV4A $PORT --garbage 100000 --src-port 41004 --interval-us 500
fpid=${PIDS[-1]}   # runs until SIGUSR1 below (bounded: 100,000 datagrams, 60 s)
sleep 0.3   # the flooder is tracked (and kept: every datagram refreshes it)
# all other room taken (test addresses only, as elements: no traffic)
awk 'BEGIN { printf "add element inet mosh_helper slowsrc4 { ";
	for (i = 0; i < 65534; i++) printf "%s198.19.%d.%d timeout 1m", i ? ", " : "", int(i / 256), i % 256;
	print " }" }' >"$TMP/fill.nft"
S nft -f "$TMP/fill.nft" || fail "filling slowsrc4"
S nft add element inet mosh_helper slowsrc4 "{ 198.18.99.99 }" 2>"$TMP/full.err" &&
	fail "slowsrc4 took a 65,536th element"
grep -q "Too many open files" "$TMP/full.err" || fail "unexpected error: $(cat "$TMP/full.err")"
ok "slowsrc4 is full (ENFILE)"
d0=$(cnt "$PERSRC4") q0=$(at_queue att4) t0=$(now_ms)
C "$UDPSEND" send --from 42003 $SRV4C $PORT 20 20 || fail "client send"
eq "client (untracked) datagrams at the queue rule" 20 "$(at_queue cli4)"
eq "client datagrams refused by the global limit (flooder still held)" 0 "$(over_global cli4)"
S nft list set inet mosh_helper slowsrc4 2>/dev/null | grep -qF "$CLI4 " &&
	fail "the client was added to a full set"
ok "the client is not tracked"
# a second, untracked flooder: every datagram reaches the queue rule and
# the global limit caps it
use_src $SRV4A/32 $ATT4B   # the running flood's socket is connected: it keeps $ATT4
ms=$(flood "$NS_A" $SRV4A 3000)
use_src $SRV4A/32 $ATT4
kill -0 "$fpid" 2>/dev/null || fail "the tracked flood ended too early: $(cat "$TMP/flood5")"
kill -USR1 "$fpid"
reap "$fpid"
sleep 0.2
eq "untracked flooder: every datagram at the queue rule" 3000 "$(at_queue att4b)"
ge "untracked flooder: refused by the global limit ($GLOBAL/s)" "$(over_global att4b)" \
	$((3000 - GLOBAL - GLOBAL * ms / 1000 - 20))
ms=$(( $(now_ms) - t0 ))
ge "the tracked flood ran until stopped" "$(sed -nE 's/^sent ([0-9]+) .*/\1/p' "$TMP/flood5")" 1000
le "tracked flooder at the queue rule: $BUDGET/s over ${ms} ms (+5)" \
	$(( $(at_queue att4) - q0 )) $((BUDGET * ms / 1000 + 5))
ge "tracked flooder still dropped by its budget" $(( $(cnt "$PERSRC4") - d0 )) 1000
eq "datagrams delivered without the daemon" 0 "$(grep -cv "^ready" "$TMP/rx")"

echo
echo "PASS"
exit 0
