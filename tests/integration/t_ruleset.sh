#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The nftables table on a real kernel, driven by tests/nfttool: queue probe,
# load (listing equals nft/mosh_helper.nft; in single-port mode
# nft/mosh_helper-single-port.nft, and back; without per-source budgets the
# same minus their sets and rules, and back), pinhole and session elements,
# element timeouts, the inbound note in seen4/6 and the read-back's re-arm
# (and, loaded with --refresh, the rule's own refresh), the pinhole set
# size (65,535 per family by default, 100,000 with --set-size), real UDP
# over a veth pair
# between two namespaces (drops are silent, pinholes pass, session ports
# fail closed), strict anti-reflection by default (a non-session port of
# the range sends to no unpinholed peer), the opt-in host's own flows from
# range ports (--local-flows: localflows4/6 without conntrack; nothing
# tracked in the namespace, a scratch ct rule shows the check can see it),
# turned on and off again by adopting loads (the daemon's reload), atomic
# replacement under traffic, an adopting reload that moves the range (the
# base chains' jump rules and the traffic both ways), a load over a table
# of a version with the `ports` set (removed, adopting or not), and
# deletion. The budgets under a flood:
# t_ruleset_flood.sh.
# Needs root; exits 0 pass, 1 fail, 77 skip.
set -u

SRC=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MH_BUILD:-$SRC/build}
NFTTOOL=$BUILD/tests/nfttool
UDPSEND=$BUILD/tests/udpsend
REF=$SRC/nft/mosh_helper.nft
REF_SP=$SRC/nft/mosh_helper-single-port.nft

P=mhrs$$
NS_S=$P-srv NS_C=$P-cli
SRV4=198.18.7.1 CLI4=198.18.7.2 SRV6=fd00:7::1 CLI6=fd00:7::2
NETNS=("$NS_S" "$NS_C")
# shellcheck source=tests/integration/rulesetlib.sh
. "$(dirname "$0")/rulesetlib.sh"

fail_diag() {
	echo "---- nft list table inet mosh_helper (server ns; first 200 lines)"
	ip netns exec "$NS_S" nft list table inet mosh_helper 2>/dev/null | head -n 200 | sed 's/^/   /'
}

require_root
require_built "$NFTTOOL" "$UDPSEND"
require_cmds nft ip tcpdump
TMP=$(mktemp -d)

# ------------------------------------------------------------------ setup
# connectivity before any table: a datagram each way of both families
veth_pair

# Listing helpers: drop handles, counter values, trailing blanks and the
# header comment of the reference file.
# The table flags line (the daemon's owner,persist; nfttool loads none)
# and nft's "# progname" comment are left out of the comparison.
normalize() {
	sed -E -e '/^#/d' -e 's/ # handle [0-9]+//' -e 's/ # progname .*//' \
		-e '/^\tflags /{N;d}' \
		-e 's/counter packets [0-9]+ bytes [0-9]+/counter/' \
		-e 's/[[:space:]]+$//'
}
listing() { S nft list table inet mosh_helper 2>/dev/null; }
terse() { S nft -t list table inet mosh_helper 2>/dev/null; }   # without elements
# remaining ms of a pinhole from nfttool dump, empty if absent
expires_of() {
	nfttool dump | awk -v a="$1" -v c="$2" -v s="$3" \
		'$1 == a && $2 == c && $3 == s { print $5 }'
}
in_set() { S nft list set inet mosh_helper "$1" 2>/dev/null | grep -qF -- "$2"; }

# ------------------------------------------------------------------ probe
step "queue probe"
flavour=$(nfttool probe) || fail "nfttool probe failed"
# cross-check with nft itself in a scratch table
S nft add table inet mhrsprobe
S nft add chain inet mhrsprobe c
if S nft add rule inet mhrsprobe c queue num 0 2>/dev/null; then want=native; else want=compat; fi
S nft delete table inet mhrsprobe
eq "probe agrees with what nft can load" "$want" "$flavour"
S nft list tables 2>/dev/null | grep -q mosh_helper_probe && fail "probe left its scratch table"
ok "probe table removed"

# ------------------------------------------------------------------ load
step "load with defaults; listing equals nft/mosh_helper.nft"
nfttool load || fail "load"
listing | normalize >"$TMP/got"
normalize <"$REF" >"$TMP/want"
if [ "$flavour" = native ]; then
	# the reference shows the compat target (printed as nothing); compare
	# everything else
	sed -E -i 's/(burst [0-9]+ packets) .*( comment ")/\1 \2/' "$TMP/got" "$TMP/want"
fi
if ! diff -u "$TMP/want" "$TMP/got"; then
	fail "listing differs from $REF"
fi
ok "listing equals the reference"
listing | grep -q 'flags.*owner' && fail "table has the owner flag"
ok "no owner flag"

step "single-port mode: listing equals nft/mosh_helper-single-port.nft; off again restores the plain one"
# compare LISTING_FILE with the normalized REFERENCE, native queue aside
same_as() { # reference, got file, what
	normalize <"$1" >"$TMP/want.x"
	if [ "$flavour" = native ]; then
		sed -E -i 's/(burst [0-9]+ packets) .*( comment ")/\1 \2/' "$2" "$TMP/want.x"
	fi
	diff -u "$TMP/want.x" "$2" || fail "$3: listing differs from $1"
	ok "$3: listing equals $(basename "$1")"
}
for round in 1 2; do   # on, off, on, off: leftovers of each mode removed
	nfttool load --single-port 60000 || fail "load single-port (round $round)"
	listing | normalize >"$TMP/got.sp"
	same_as "$REF_SP" "$TMP/got.sp" "single-port on (round $round)"
	nfttool load || fail "load plain (round $round)"
	listing | normalize >"$TMP/got.plain"
	same_as "$REF" "$TMP/got.plain" "single-port off (round $round)"
done

step "per-source budgets off and on again (plain and single-port): listing is the reference without their sets and rules"
# the reference without slowsrc4/slowsrc6 and the rules that use them
strip_slow() {
	sed -E -e '/^\tset slowsrc[46] \{/,/^\t\}/d' -e '/@slowsrc[46]/d' | cat -s
}
# listing after `load ARGS...` compared with REFERENCE, stripped or not
load_same() { # reference, strip|keep, what, load args...
	local ref=$1 how=$2 what=$3
	shift 3
	nfttool load "$@" >/dev/null 2>&1 || fail "load $*"
	listing | normalize | cat -s >"$TMP/got.ps"
	normalize <"$ref" >"$TMP/want.ps0"
	if [ "$how" = strip ]; then strip_slow <"$TMP/want.ps0"; else cat -s "$TMP/want.ps0"; fi >"$TMP/want.ps"
	if [ "$flavour" = native ]; then
		sed -E -i 's/(burst [0-9]+ packets) .*( comment ")/\1 \2/' "$TMP/got.ps" "$TMP/want.ps"
	fi
	diff -u "$TMP/want.ps" "$TMP/got.ps" || fail "$what: listing differs"
	ok "$what"
}
load_same "$REF" strip "plain, budgets off" --per-source 0
listing | grep -q slowsrc && fail "slowsrc sets left"
load_same "$REF_SP" keep "single-port, budgets on" --single-port 60000
load_same "$REF_SP" strip "single-port, budgets off (mux_in used them)" --single-port 60000 --per-source 0
load_same "$REF_SP" keep "single-port, budgets on again" --single-port 60000
load_same "$REF" strip "plain, budgets off (leaving single-port mode)" --per-source 0
load_same "$REF" keep "plain, budgets on again (the defaults)"
check "per-source rate from --per-source" bash -c "ip netns exec $NS_S $NFTTOOL load --per-source 77 2>/dev/null &&
	ip netns exec $NS_S nft list chain inet mosh_helper mosh_in 2>/dev/null | grep -c 'limit rate over 77/second burst 77 packets' | grep -qx 2"
nfttool load >/dev/null 2>&1 || fail "reload with defaults"

# ------------------------------------------------------------------ elements
step "pinholes and session ports"
nfttool add-pinhole $CLI4 40000 60001 || fail "add v4 pinhole"
nfttool add-pinhole $CLI6 40000 60001 || fail "add v6 pinhole"
nfttool add-session 60002 || fail "add session"
check "v4 pinhole listed" in_set pinholes4 "$CLI4 . 40000 . 60001"
check "v6 pinhole listed" in_set pinholes6 "$CLI6 . 40000 . 60001"
check "session port listed" in_set sessions "60002"
e=$(expires_of $CLI4 40000 60001)
[ -n "$e" ] && [ "$e" -gt 50000 ] && [ "$e" -le 60000 ] || fail "dump v4 expiry '$e' not in (50000, 60000]"
ok "dump shows the v4 pinhole, $e ms left"
e=$(expires_of $CLI6 40000 60001)
[ -n "$e" ] && [ "$e" -gt 50000 ] || fail "dump v6 expiry '$e'"
ok "dump shows the v6 pinhole, $e ms left"
nfttool del-pinhole $CLI6 40000 60001 || fail "del v6 pinhole"
in_set pinholes6 "$CLI6 . 40000" && fail "v6 pinhole still listed after delete"
ok "v6 pinhole deleted"
out=$(nfttool del-pinhole $CLI6 40000 60001 2>&1) && fail "deleting a missing pinhole succeeded"
echo "$out" | grep -q "No such file or directory" || fail "unclear error: $out"
ok "missing pinhole: $out"
nfttool del-session 60002 || fail "del session"
in_set sessions 60002 && fail "session port still listed"
ok "session port deleted"

step "a pinhole with a 2 s timeout expires"
nfttool add-pinhole 198.18.7.9 1234 60003 2000 || fail "add short pinhole"
check "short pinhole listed" in_set pinholes4 "198.18.7.9 . 1234 . 60003"
sleep 3
in_set pinholes4 "198.18.7.9 . 1234 . 60003" && fail "short pinhole still listed after 3 s"
ok "gone after 3 s"

step "pinhole set size: 65,535 per family by default, 100,000 with --set-size 100000"
# with the daemon's defaults a family holds 65,535 pinholes and no more
nfttool load >/dev/null 2>&1 || fail "reload (empty sets)"
nfttool add-pinhole 198.18.128.0 40000 60001 --count 65535 || fail "65,535 pinholes"
eq "v4 pinholes in the default set" 65535 "$(nfttool dump | grep -c '^198\.')"
out=$(nfttool add-pinhole 198.18.100.1 40000 60001 2>&1) && fail "a 65,536th v4 pinhole was accepted"
echo "$out" | grep -q "Too many open files" || fail "unclear error: $out"
ok "the 65,536th is refused: $out"
nfttool load --set-size 100000 >/dev/null 2>&1 || fail "load --set-size 100000"
S nft list set inet mosh_helper pinholes4 2>/dev/null | grep -q 'size 100000' || fail "pinholes4 size"
S nft list set inet mosh_helper pinholes6 2>/dev/null | grep -q 'size 100000' || fail "pinholes6 size"
eq "pinholes after the reload" 0 "$(nfttool dump | grep -c .)"
nfttool add-pinhole 198.18.0.0 40000 60001 --count 100000 || fail "100,000 pinholes in one family"
eq "v4 pinholes in the 100,000 set" 100000 "$(nfttool dump | grep -c '^198\.')"
out=$(nfttool add-pinhole 198.19.200.1 40000 60001 2>&1) && fail "a 100,001st v4 pinhole was accepted"
ok "the 100,001st is refused: $out"
nfttool load >/dev/null 2>&1 || fail "reload with defaults"
S nft list set inet mosh_helper pinholes4 2>/dev/null | grep -q 'size 65535' || fail "pinholes4 size back to 65535"
ok "back to 65,535, emptied"

# ------------------------------------------------------------------ traffic
step "real traffic over veth"
bg "$NS_S" "$TMP/rx" /dev/null "$UDPSEND" recv 60005 120000
bg "$NS_S" "$TMP/rx8" /dev/null "$UDPSEND" recv 60008 120000
bg "$NS_C" "$TMP/crx" /dev/null "$UDPSEND" recv 40008 120000
bg "$NS_C" "$TMP/crx99" /dev/null "$UDPSEND" recv 40099 120000
bg "$NS_C" "$TMP/icmp" "$TMP/tcpdump.err" \
	tcpdump -i "$P-c" -n -l -U 'icmp or (icmp6 and ip6[40] == 1)'
for _ in $(seq 100); do
	grep -q ready "$TMP/rx" && grep -q ready "$TMP/rx8" && grep -q ready "$TMP/crx" &&
		grep -q ready "$TMP/crx99" && grep -q "listening on" "$TMP/tcpdump.err" && break
	sleep 0.1
done
grep -q "listening on" "$TMP/tcpdump.err" || fail "tcpdump did not start"

d0=$(counter mosh_in "nothing else enters")
C "$UDPSEND" send --from 40005 $SRV4 60005 3 || fail "send"
C "$UDPSEND" send --from 40006 $SRV4 60006 3 || fail "send"   # nobody listens there
sleep 0.5
eq "datagrams without pinhole delivered" 0 "$(rx "$TMP/rx" "^$CLI4 ")"
d1=$(counter mosh_in "nothing else enters")
eq "final drop counter increments" $((d0 + 6)) "$d1"
eq "ICMP sent back for dropped datagrams" 0 "$(wc -l <"$TMP/icmp")"
# control: outside the range the kernel does answer with port unreachable,
# so the capture above would have seen it
C "$UDPSEND" send --from 40006 $SRV4 59999 1 || fail "send"
for _ in $(seq 20); do [ "$(wc -l <"$TMP/icmp")" -gt 0 ] && break; sleep 0.1; done
[ "$(wc -l <"$TMP/icmp")" -gt 0 ] || fail "control: no ICMP for a closed port outside the range"
ok "control: outside the range a closed port answers ICMP ($(head -c 80 "$TMP/icmp"))"
: >"$TMP/icmp.seen"; cp "$TMP/icmp" "$TMP/icmp.seen"

nfttool add-pinhole $CLI4 40005 60005 || fail "add pinhole"
C "$UDPSEND" send --from 40005 $SRV4 60005 3 || fail "send"
sleep 0.5
eq "datagrams through the v4 pinhole" 3 "$(rx "$TMP/rx" "^$CLI4 40005 ")"
C "$UDPSEND" send --from 40015 $SRV4 60005 2 || fail "send"
sleep 0.3
eq "another client port is not pinholed" 0 "$(rx "$TMP/rx" "^$CLI4 40015 ")"

nfttool add-pinhole $CLI6 40005 60005 || fail "add v6 pinhole"
C "$UDPSEND" send --from 40016 $SRV6 60005 2 || fail "send"
C "$UDPSEND" send --from 40005 $SRV6 60005 2 || fail "send"
sleep 0.5
eq "v6 datagrams without pinhole delivered" 0 "$(rx "$TMP/rx" "^$CLI6 40016 ")"
eq "v6 datagrams through the pinhole" 2 "$(rx "$TMP/rx" "^$CLI6 40005 ")"
diff -q "$TMP/icmp" "$TMP/icmp.seen" >/dev/null || fail "ICMP appeared: $(cat "$TMP/icmp")"
ok "no further ICMP"

step "an inbound hit is noted in seen4, the pinhole is not refreshed; the re-arm sets its time"
seen_of() {
	nfttool dump-seen | awk -v a="$1" -v c="$2" -v s="$3" \
		'$1 == a && $2 == c && $3 == s { print $5 }'
}
nfttool add-pinhole $CLI4 40007 60005 4000 || fail "add short pinhole"
C "$UDPSEND" send --from 40007 $SRV4 60005 3 || fail "send"
sleep 0.3
e=$(expires_of $CLI4 40007 60005)
[ -n "$e" ] && [ "$e" -le 4000 ] || fail "an inbound hit changed the timeout (left: '$e' ms)"
n=$(seen_of $CLI4 40007 60005)
[ -n "$n" ] && [ "$n" -gt 25000 ] && [ "$n" -le 30000 ] || fail "seen4 has no fresh key (left: '$n' ms)"
nfttool rearm-pinhole $CLI4 40007 60005 60000 45000 || fail "rearm-pinhole"
e=$(expires_of $CLI4 40007 60005)
[ -n "$e" ] && [ "$e" -gt 40000 ] && [ "$e" -le 45000 ] || fail "the re-arm did not set the time left (left: '$e' ms)"
ok "not refreshed, seen4 noted it ($n ms to go there); re-armed: $e ms left"
nfttool del-pinhole $CLI4 40007 60005 || fail "del pinhole"
C "$UDPSEND" send --from 40007 $SRV4 60005 20 || fail "send"
sleep 0.3
[ -z "$(expires_of $CLI4 40007 60005)" ] || fail "datagrams after the delete brought the pinhole back"
eq "datagrams after the delete delivered" 3 "$(rx "$TMP/rx" "^$CLI4 40007 ")"
ok "deleted, and its own datagrams neither bring it back nor pass"

step "an outbound hit does not refresh"
nfttool add-pinhole $CLI4 40008 60010 5000 || fail "add short pinhole"
S "$UDPSEND" send --from 60010 $CLI4 40008 1 || fail "send"
sleep 0.3
e=$(expires_of $CLI4 40008 60010)
[ -n "$e" ] && [ "$e" -le 5000 ] || fail "outbound hit changed the timeout (left: '$e' ms)"
eq "server datagram through the pinhole" 1 "$(rx "$TMP/crx" "^$SRV4 60010 ")"
ok "not refreshed: $e ms left"

step "session ports fail closed without the daemon; outbound only to pinholes"
nfttool add-session 60008 || fail "add session"
nfttool add-pinhole $CLI4 40008 60008 || fail "add pinhole"
C "$UDPSEND" send --from 40009 $SRV4 60008 2 || fail "send"
sleep 0.3
eq "queued datagrams with no reader delivered" 0 "$(rx "$TMP/rx8" "^$CLI4 40009 ")"
S "$UDPSEND" send --from 60008 $CLI4 40008 2 || fail "send"
sleep 0.3
eq "server to its pinholed peer" 2 "$(rx "$TMP/crx" "^$SRV4 60008 ")"
o0=$(counter mosh_out "nothing else leaves")
S "$UDPSEND" send --from 60008 $CLI4 40099 2
sleep 0.3
eq "session port to an unpinholed peer" 0 "$(rx "$TMP/crx99" "^$SRV4 60008 ")"
eq "mosh_out final drop untouched (queue ate them)" "$o0" "$(counter mosh_out "nothing else leaves")"
S "$UDPSEND" send --from 60009 $CLI4 40008 2   # range port without session
S "$UDPSEND" send --from 60009 $CLI6 40008 2
sleep 0.3
eq "strict: a non-session range port to an unpinholed peer (v4)" 0 "$(rx "$TMP/crx" "^$SRV4 60009 ")"
eq "strict: a non-session range port to an unpinholed peer (v6)" 0 "$(rx "$TMP/crx" "^$SRV6 60009 ")"
eq "mosh_out final drop" $((o0 + 4)) "$(counter mosh_out "nothing else leaves")"

step "opt-in local flows (--local-flows, adopting): localflows4/6 instead of conntrack"
# the listing: the reference plus two sets and a rule per family before
# each final drop
strip_lf() {
	sed -E -e '/^\tset localflows[46] \{/,/^\t\}/d' -e '/@localflows[46]/d' | cat -s
}
lf_listing_ok() {
	terse | normalize >"$TMP/got.lf"
	[ "$flavour" = native ] &&
		sed -E -i 's/(burst [0-9]+ packets) .*( comment ")/\1 \2/' "$TMP/got.lf"
	diff -u <(cat -s "$TMP/want") <(strip_lf <"$TMP/got.lf") || return 1
	[ "$(grep -c '^[[:space:]]set localflows[46] {' "$TMP/got.lf")" = 2 ] &&
		[ "$(grep -c '@localflows[46]' "$TMP/got.lf")" = 4 ] &&
		grep -B1 'nothing else enters' "$TMP/got.lf" | head -n1 | grep -q '@localflows6' &&
		grep -B1 'nothing else leaves' "$TMP/got.lf" | head -n1 | grep -q '@localflows6'
}
nfttool load --adopt --local-flows || fail "adopting load with local flows"
check "listing: the reference plus the local-flow sets and rules" lf_listing_ok
check "the pinhole survived the adopting load" in_set pinholes4 "$CLI4 . 40008 . 60008"
S "$UDPSEND" send --from 60009 $CLI4 40008 2 || fail "send"
sleep 0.3
eq "a host flow from a non-session range port passes" 2 "$(rx "$TMP/crx" "^$SRV4 60009 ")"
check "the flow is remembered (peer . peer port . local port)" in_set localflows4 "$CLI4 . 40008 . 60009"
bg "$NS_S" "$TMP/rx9" /dev/null "$UDPSEND" recv 60009 60000
bg "$NS_S" "$TMP/rx12" /dev/null "$UDPSEND" recv 60012 60000
for _ in $(seq 50); do
	grep -q ready "$TMP/rx9" && grep -q ready "$TMP/rx12" && break
	sleep 0.05
done
C "$UDPSEND" send --from 40008 $SRV4 60009 2 || fail "send"
sleep 0.3
eq "the peer's replies to that flow come back" 2 "$(rx "$TMP/rx9" "^$CLI4 40008 ")"
d0=$(counter mosh_in "nothing else enters")
C "$UDPSEND" send --from 40031 $SRV4 60009 2 || fail "send"   # another peer port
C "$UDPSEND" send --from 40008 $SRV4 60012 2 || fail "send"   # another local port
sleep 0.3
eq "unsolicited datagrams to a non-session range port delivered" 0 "$(rx "$TMP/rx9" "^$CLI4 40031 ")"
eq "the flow's peer to another non-session port delivered" 0 "$(rx "$TMP/rx12" "^$CLI4 40008 ")"
eq "final drop counter" $((d0 + 4)) "$(counter mosh_in "nothing else enters")"
S "$UDPSEND" send --from 60009 $CLI6 40008 2 || fail "send"
sleep 0.3
eq "an IPv6 host flow from a non-session range port passes" 2 "$(rx "$TMP/crx" "^$SRV6 60009 ")"
check "the IPv6 flow is remembered" in_set localflows6 "$CLI6 . 40008 . 60009"
C "$UDPSEND" send --from 40008 $SRV6 60009 2 || fail "send"
C "$UDPSEND" send --from 40031 $SRV6 60009 2 || fail "send"
sleep 0.3
eq "IPv6 replies come back" 2 "$(rx "$TMP/rx9" "^$CLI6 40008 ")"
eq "IPv6 unsolicited datagrams delivered" 0 "$(rx "$TMP/rx9" "^$CLI6 40031 ")"
# a local-flow entry for a session port lets nothing past the daemon
nfttool add-session 60012 || fail "add session"
S nft add element inet mosh_helper localflows4 "{ $CLI4 . 40008 . 60012 }" || fail "add element"
check "a local-flow entry for the session port" in_set localflows4 "$CLI4 . 40008 . 60012"
C "$UDPSEND" send --from 40008 $SRV4 60012 2 || fail "send"
sleep 0.3
eq "that peer's datagrams to the session port delivered (queued, no reader)" 0 "$(rx "$TMP/rx12" "^$CLI4 40008 ")"
nfttool del-session 60012 || fail "del session"
C "$UDPSEND" send --from 40008 $SRV4 60012 1 || fail "send"
sleep 0.3
eq "control: the same entry, the port without a session: delivered" 1 "$(rx "$TMP/rx12" "^$CLI4 40008 ")"

step "no conntrack: the plain table starts none, after traffic both ways"
eq "ct expressions in the listing" 0 "$(listing | grep -c -E '(^|[[:space:]])ct ')"
# entries the server namespace tracks: its own count (absent without the
# module: none) and, if installed, what conntrack -L lists there
ct_entries() {
	local n l
	n=$(S cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null) || n=0
	if command -v conntrack >/dev/null; then
		l=$(S conntrack -L 2>/dev/null | grep -c .)
		[ "$l" -gt "$n" ] && n=$l
	fi
	echo "${n:-0}"
}
eq "conntrack entries in the server namespace" 0 "$(ct_entries)"
# control: one ct rule in a scratch table, one datagram: now it counts
S nft add table inet mhrsct
S nft add chain inet mhrsct c '{ type filter hook input priority 0; policy accept; }'
S nft add rule inet mhrsct c ct state established counter
C "$UDPSEND" send --from 40032 $SRV4 5000 1 || fail "send"
sleep 0.3
n=$(ct_entries)
S nft delete table inet mhrsct
[ "$n" -gt 0 ] || fail "control: a ct rule did not make the namespace track anything ($n)"
ok "control: with a ct rule the namespace tracks $n flow(s)"

step "local flows off again (adopting load): sets deleted, strict again"
nfttool load --adopt || fail "adopting load without local flows"
listing | grep -q localflows && fail "local-flow sets left after the load without them"
terse | normalize >"$TMP/got.nolf"
[ "$flavour" = native ] &&
	sed -E -i 's/(burst [0-9]+ packets) .*( comment ")/\1 \2/' "$TMP/got.nolf"
diff -u "$TMP/want" "$TMP/got.nolf" || fail "listing after local flows off differs from $REF"
ok "listing equals the reference"
n0=$(rx "$TMP/crx" "^$SRV4 60009 ")
S "$UDPSEND" send --from 60009 $CLI4 40008 2 || fail "send"
sleep 0.3
eq "the once-remembered flow from 60009 passes no more" "$n0" "$(rx "$TMP/crx" "^$SRV4 60009 ")"
check "the pinhole survived both adopting loads" in_set pinholes4 "$CLI4 . 40008 . 60008"

step "a second load replaces the table atomically, under a flood"
nfttool add-session 60011 || fail "add session"
# as fast as it goes; killed after the reloads
bg "$NS_C" /dev/null /dev/null "$UDPSEND" send --from 40020 $SRV4 60005 5000000 0
flood=${PIDS[-1]}
sleep 0.2
for i in $(seq 50); do   # alternate parameters: sets are re-created each time
	sp=()   # single-port mode on and off too; the last load is plain
	[ $((i % 3)) = 0 ] && sp=(--single-port 60000)
	nfttool load --idle $((30000 + i % 2 * 30000)) --rate $((1000 + i)) "${sp[@]}" \
		>/dev/null 2>&1 || fail "reload $i"
done
kill -0 "$flood" 2>/dev/null || echo "   (note: the flood ended before the reloads did)"
kill "$flood" 2>/dev/null
reap "$flood"   # never signal a recycled PID
sleep 0.3
eq "datagrams delivered during 50 reloads" 0 "$(rx "$TMP/rx" "^$CLI4 40020 ")"
d=$(counter mosh_in "nothing else enters")
[ -n "$d" ] && [ "$d" -gt 0 ] || fail "the flood did not reach the final drop after the last reload"
ok "flood dropped by the last table ($d datagrams since its load)"
in_set pinholes4 "$CLI4 . 40005" && fail "pinholes survived the replacement"
in_set sessions 60011 && fail "session ports survived the replacement"
ok "pinholes and session ports emptied by the replacement"
nfttool load >/dev/null 2>&1 || fail "reload with defaults"
listing | normalize >"$TMP/got2"
[ "$flavour" = native ] &&
	sed -E -i 's/(burst [0-9]+ packets) .*( comment ")/\1 \2/' "$TMP/got2"
diff -u "$TMP/want" "$TMP/got2" || fail "listing after reloads differs from $REF"
ok "listing after reloads equals the reference"
nfttool load --ports 60000-60500 --idle 30000 --rate 500 || fail "load with other parameters"
# the range is in the base chains' jump rules
jumps_are() { # low-high
	S nft list chain inet mosh_helper input 2>/dev/null | grep -qF "udp dport $1 jump mosh_in" &&
		S nft list chain inet mosh_helper output 2>/dev/null | grep -qF "udp sport $1 jump mosh_out"
}
check "new range in both jump rules" jumps_are 60000-60500
check "new timeout" bash -c "ip netns exec $NS_S nft list set inet mosh_helper pinholes4 2>/dev/null | grep -q 'timeout 30s'"
# with per-session budgets (the default) each of the two queue buckets has half
check "new rate" bash -c "ip netns exec $NS_S nft list chain inet mosh_helper mosh_in 2>/dev/null | grep -q 'limit rate 250/second burst 250 packets'"
eq "one table" 1 "$(S nft list tables 2>/dev/null | grep -c 'inet mosh_helper$')"

step "an adopting reload (the daemon's) moves the range"
nfttool add-session 60150 || fail "add session"
bg "$NS_C" "$TMP/crx41" /dev/null "$UDPSEND" recv 40041 30000
nfttool load --adopt --ports 60100-60200 || fail "adopting load"
check "the jump rules carry the new range" jumps_are 60100-60200
jumps_are 60000-60500 && fail "the old range is still in a jump rule"
eq "jump rules in the base chains" 2 "$(listing | grep -c ' jump mosh_\(in\|out\)')"
check "session port kept" in_set sessions 60150
for _ in $(seq 50); do grep -q ready "$TMP/crx41" && break; sleep 0.05; done
n0=$(rx "$TMP/rx" "^$CLI4 40041 ")
d0=$(counter mosh_in "nothing else enters")
C "$UDPSEND" send --from 40041 $SRV4 60005 1 || fail "send"   # left the range
C "$UDPSEND" send --from 40041 $SRV4 60160 1 || fail "send"   # joined it
sleep 0.3
eq "a port that left the range is reachable" $((n0 + 1)) "$(rx "$TMP/rx" "^$CLI4 40041 ")"
eq "a port that joined the range: final drop" $((d0 + 1)) "$(counter mosh_in "nothing else enters")"
# outbound: the session port now in the range is held to its pinholes
# (queued, no reader); another port that joined it is held to pinholes
# too (strict: dropped); one that left it passes untouched
S "$UDPSEND" send --from 60150 $CLI4 40041 1 || fail "send"
S "$UDPSEND" send --from 60160 $CLI4 40041 1 || fail "send"
S "$UDPSEND" send --from 60006 $CLI4 40041 1 || fail "send"
sleep 0.3
eq "from the session port in the new range to an unpinholed peer" 0 "$(rx "$TMP/crx41" "^$SRV4 60150 ")"
eq "from a non-session port that joined the range" 0 "$(rx "$TMP/crx41" "^$SRV4 60160 ")"
eq "from a port that left the range (mosh_out no longer sees it)" 1 "$(rx "$TMP/crx41" "^$SRV4 60006 ")"

step "local flows on and off by plain (non-adopting) loads, single-port mode too"
for sp in "" "--single-port 60000"; do
	# shellcheck disable=SC2086  # empty: no argument
	nfttool load --local-flows $sp >/dev/null 2>&1 || fail "load --local-flows $sp"
	eq "local-flow sets ($sp)" 2 "$(listing | grep -c '^.set localflows[46] {')"
	eq "local-flow rules ($sp)" 4 "$(listing | grep -c '@localflows[46]')"
	# shellcheck disable=SC2086
	nfttool load $sp >/dev/null 2>&1 || fail "load $sp"
	listing | grep -q localflows && fail "local-flow sets or rules left ($sp)"
	ok "off again: none left ($sp)"
done
nfttool load >/dev/null 2>&1 || fail "reload with defaults"
listing | normalize >"$TMP/got3"
[ "$flavour" = native ] &&
	sed -E -i 's/(burst [0-9]+ packets) .*( comment ")/\1 \2/' "$TMP/got3"
diff -u "$TMP/want" "$TMP/got3" || fail "table differs from $REF"
ok "listing equals the reference"

step "a table of a version with the ports set: the load removes the set, adopting or not"
# rebuild what such a version left: the range in an interval set that the
# base chains' jump rules look up
old_style() {
	nfttool load >/dev/null 2>&1 || fail "reload with defaults"
	S nft add set inet mosh_helper ports '{ type inet_service; flags interval; }' &&
		S nft add element inet mosh_helper ports '{ 60000-61000 }' &&
		S nft flush chain inet mosh_helper input &&
		S nft add rule inet mosh_helper input udp dport @ports jump mosh_in &&
		S nft flush chain inet mosh_helper output &&
		S nft add rule inet mosh_helper output udp sport @ports jump mosh_out ||
		fail "building the old-style table"
	S nft list set inet mosh_helper ports 2>/dev/null | grep -qF '60000-61000' ||
		fail "the old-style table has no ports set"
	# control: the set is in use, so the kernel refuses to delete it
	# while the rules that look it up are there
	S nft delete set inet mosh_helper ports 2>/dev/null &&
		fail "control: a ports set in use could be deleted"
	ok "old-style table: @ports in use by the jump rules"
}
for how in --adopt ""; do
	old_style
	nfttool add-session 60150 || fail "add session"
	# shellcheck disable=SC2086  # empty: no argument
	nfttool load $how || fail "load ${how:-(no adopt)} over the old-style table"
	S nft list set inet mosh_helper ports >/dev/null 2>&1 && fail "ports set left (${how:-no adopt})"
	if [ -n "$how" ]; then
		check "adopting: session port kept" in_set sessions 60150
		nfttool del-session 60150 || fail "del session"
	else
		in_set sessions 60150 && fail "plain load kept a session port"
		ok "plain load: session ports emptied"
	fi
	listing | normalize >"$TMP/got4"
	[ "$flavour" = native ] &&
		sed -E -i 's/(burst [0-9]+ packets) .*( comment ")/\1 \2/' "$TMP/got4"
	diff -u "$TMP/want" "$TMP/got4" || fail "table after the ${how:-plain} load differs from $REF"
	ok "${how:-plain} load: ports set gone, listing equals the reference"
done
bg "$NS_S" "$TMP/rx13" /dev/null "$UDPSEND" recv 60013 20000
for _ in $(seq 50); do grep -q ready "$TMP/rx13" && break; sleep 0.05; done
C "$UDPSEND" send --from 40042 $SRV4 60013 1 || fail "send"
sleep 0.3
eq "after it, the range is closed" 0 "$(rx "$TMP/rx13" "^$CLI4 40042 ")"
nfttool add-pinhole $CLI4 40042 60013 || fail "add pinhole"
C "$UDPSEND" send --from 40042 $SRV4 60013 1 || fail "send"
sleep 0.3
eq "and a pinhole opens it" 1 "$(rx "$TMP/rx13" "^$CLI4 40042 ")"

step "without seen4/6 (kernels without element timeout updates) an inbound hit refreshes"
nfttool delete >/dev/null 2>&1 || fail "delete"
nfttool load --refresh || fail "load --refresh"
S nft list set inet mosh_helper seen4 >/dev/null 2>&1 && fail "seen4 left"
nfttool add-pinhole $CLI4 40007 60005 2000 || fail "add short pinhole"
C "$UDPSEND" send --from 40007 $SRV4 60005 1 || fail "send"
sleep 0.3
e=$(expires_of $CLI4 40007 60005)
[ -n "$e" ] && [ "$e" -gt 50000 ] || fail "pinhole not refreshed to the set timeout (left: '$e' ms)"
ok "refreshed: $e ms left"
nfttool load || fail "load (seen4/6 again, adopting nothing)"
S nft list set inet mosh_helper seen4 >/dev/null 2>&1 || fail "seen4 not made again"
ok "a load with them makes seen4/6 again"

step "delete"
nfttool delete || fail "delete"
S nft list table inet mosh_helper >/dev/null 2>&1 && fail "table still there"
ok "table gone"
C "$UDPSEND" send --from 40021 $SRV4 60005 1 || fail "send"
sleep 0.3
eq "range reachable again without the table" 1 "$(rx "$TMP/rx" "^$CLI4 40021 ")"
out=$(nfttool delete 2>&1) && fail "second delete succeeded"
ok "second delete: $out"

echo
echo "PASS"
exit 0
