#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# mosh-helper-review, no namespaces needed:
#  1. golden files: for every pcaps/X.review.txt / .json the tool's output on
#     pcaps/X.pcap with pcaps/X.key must match byte for byte
#     (REVIEW_UPDATE=1 rewrites them instead; inspect the diff before keeping it);
#  2. truncated and corrupted captures: an error naming the byte offset of the
#     broken record, exit status 1, and every datagram before it still reported;
#  3. key files: a bad line is reported as FILE:LINE, exit status 2;
#  4. without keys: authentic null, never a verdict of accept;
#  5. forged captures (tests/tools/pcapforge, sealed with a known key) in every
#     supported link type, IPv4/IPv6, pcap/pcapng: the verdicts of attacks
#     (replay, garbage, reflection, stranger), roams, gaps, reordering,
#     fragments, pinhole expiry and eviction; the idle window (a pinhole
#     closes at most idle_timeout after its last inbound datagram, a few ms
#     more at most, and may close earlier, from when the daemon's sync
#     could miss it): a datagram in it still on the pinhole but marked, one
#     at or after the expiry judged by the daemon, steady traffic without
#     a window, a late single datagram that does not extend the pinhole,
#     both edges of the window (also in restamped records of the capture);
#  6. a key file whose last line ends without a newline right at the end of
#     the parser's buffer (a heap over-read under ASan before the fix);
#  7. several keys for one port (a single-port capture): each datagram goes
#     to the key that authenticates it, judged as the daemon would;
#  8. a hostile capture past the review's bound on sessions: a LIMIT note,
#     the sessions before it still reported (no times asserted);
#  9. key lines naming the server's address (a gateway's capture: sessions
#     and pinholes by server address . port), IPv4 and IPv6: the same
#     verdicts as the port-only line on the real captures, another address
#     takes nothing; "PORT keyless" and --keyless judge by the keyless rule;
#     their refusals (bad address, bound= after an address, keyless beside
#     a key on one port).
# Uses $MH_BUILD/mosh-helper-review, $MH_BUILD/tests/pcapforge and $MH_SRC.
set -u

MH_SRC=${MH_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MH_BUILD=${MH_BUILD:-$MH_SRC/build}
REVIEW=$MH_BUILD/mosh-helper-review
FORGE=$MH_BUILD/tests/pcapforge
T0=1700000000          # pcapforge's first packet (epoch seconds)
TMP=$(mktemp -d "/tmp/t_review.$$.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
FAILED=0

ok()   { printf '   ok: %s\n' "$*"; }
fail() { printf '   FAIL: %s\n' "$*"; FAILED=1; }
step() { printf '\n== %s\n' "$*"; }

for b in "$REVIEW" "$FORGE"; do
	[ -x "$b" ] || { echo "missing $b (build with 'make tests')"; exit 1; }
done
cd "$MH_SRC" || exit 1

# ------------------------------------------------------------------ helpers

# The JSON line of event $2 at capture time $3 (seconds after T0) in file $1.
ev_at() {
	local t
	t=$(printf '%d.%06d' $((T0 + ${3%.*})) "$(frac_us "$3")")
	grep -F "\"event\":\"$2\"" "$1" | grep -F "\"time\":$t,"
}
frac_us() { # "3.5" -> 500000
	local f=0
	[[ $1 == *.* ]] && f=${1#*.}
	f=${f}000000
	echo $((10#${f:0:6}))
}

# expect WHAT FILE EVENT TIME SUBSTRING...: exactly one event of that kind at
# that time contains all the substrings.
expect() {
	local what=$1 f=$2 e=$3 t=$4 lines n s; shift 4
	lines=$(ev_at "$f" "$e" "$t")
	for s in "$@"; do
		lines=$(printf '%s\n' "$lines" | grep -F -- "$s")
	done
	n=$(printf '%s' "$lines" | grep -c .)
	if [ "$n" = 1 ]; then
		ok "$what"
	else
		fail "$what: $n $e events at +$t with: $*; there are:"
		ev_at "$f" "$e" "$t" | sed 's/^/      /'
	fi
}

# Start offsets of the records of a little-endian pcap file, one per line.
record_offsets() {
	local f=$1 size off=24 cap
	size=$(stat -c %s "$f")
	[ "$(od -An -tx1 -N4 "$f" | tr -d ' ')" = d4c3b2a1 ] || return 1
	while [ $((off + 16)) -le "$size" ]; do
		echo "$off"
		cap=$(od -An -tu4 -j $((off + 8)) -N4 "$f" | tr -d ' ')
		off=$((off + 16 + cap))
	done
}

datagrams() { grep -F '"event":"datagram"' "$1"; }

# ------------------------------------------------------------ 1. golden files

step "golden outputs of the real captures"
ngold=0
for golden in pcaps/*.review.txt; do
	[ -e "$golden" ] || continue
	x=${golden%.review.txt}
	for mode in txt json; do
		want=$x.review.$mode
		args=(--keys "$x.key")
		[ $mode = json ] && args+=(--json)
		if "$REVIEW" "${args[@]}" "$x.pcap" >"$TMP/out" 2>"$TMP/err"; then
			if [ "${REVIEW_UPDATE:-0}" = 1 ]; then
				cp "$TMP/out" "$want"
				ok "rewrote $want"
			elif diff -u "$want" "$TMP/out" >"$TMP/diff"; then
				ok "$want matches"
			else
				fail "$want differs:"; head -n 40 "$TMP/diff"
			fi
		else
			fail "$x.pcap: exit status $?: $(cat "$TMP/err")"
		fi
		ngold=$((ngold + 1))
	done
done
[ $ngold -ge 4 ] && ok "$ngold golden files compared" || fail "only $ngold golden files found"

step "what the golden IPv4 capture must say (mosh semantics)"
G=pcaps/ssp-v4.review.json
first=$(datagrams "$G" | head -n 1)
reply=$(datagrams "$G" | grep -F '"direction":"to_client"' | head -n 1)
[[ $first == *'"direction":"to_server","seq":0,'*'"authentic":true'*'"verdict":"accept","reason":"new_source"'* ]] &&
	ok "first datagram: seq 0 to the server, authentic, accept new_source" || fail "first datagram: $first"
[[ $reply == *'"seq":0,'*'"verdict":"accept","reason":"confirmed"'* ]] &&
	ok "first server reply: accept confirmed" || fail "first reply: $reply"
n=$(datagrams "$G" | tail -n +3 | grep -vc '"verdict":"pinhole"')
[ "$n" = 0 ] && ok "every later datagram takes the pinhole" || fail "$n later datagrams not on the pinhole"
grep -q '"protocol_version":2,' "$G" && ok "instructions decode (protocol version 2)" || fail "no decoded instruction"

# ------------------------------------------------------ 2. broken captures

step "truncated copies of a real capture"
SRC=pcaps/ssp-v4.pcap KEY=pcaps/ssp-v4.key
"$REVIEW" --json --keys "$KEY" "$SRC" >"$TMP/full.json"
datagrams "$TMP/full.json" >"$TMP/full.dg"
mapfile -t offs < <(record_offsets "$SRC")
[ ${#offs[@]} -ge 8 ] || fail "could not walk the records of $SRC"
size=$(stat -c %s "$SRC")
# cut inside the record header of record 1, inside the data of record 2,
# 5 bytes into record 6, and one byte short of the end
cuts=("$((offs[0] + 7)) 0" "$((offs[1] + 16 + 10)) 1" "$((offs[5] + 5)) 5" "$((size - 1)) $((${#offs[@]} - 1))")
for c in "${cuts[@]}"; do
	read -r cut k <<<"$c"
	head -c "$cut" "$SRC" >"$TMP/cut.pcap"
	"$REVIEW" --json --keys "$KEY" "$TMP/cut.pcap" >"$TMP/cut.json" 2>"$TMP/cut.err"
	rc=$?
	[ $rc = 1 ] && ok "cut at byte $cut: exit status 1" || fail "cut at byte $cut: exit status $rc"
	grep -q "truncated or corrupt capture at byte offset ${offs[$k]} (record $((k + 1)))" "$TMP/cut.err" &&
		ok "cut at byte $cut: error names byte offset ${offs[$k]}" ||
		fail "cut at byte $cut: stderr: $(cat "$TMP/cut.err")"
	grep -q "\"event\":\"error\",.*\"offset\":${offs[$k]}," "$TMP/cut.json" &&
		ok "cut at byte $cut: JSON error event with the offset" || fail "cut at byte $cut: no JSON error event"
	if datagrams "$TMP/cut.json" | cmp -s - <(head -n "$k" "$TMP/full.dg"); then
		ok "cut at byte $cut: the $k datagrams before it are reported as in the full capture"
	else
		fail "cut at byte $cut: datagrams before the cut differ"
	fi
done
head -c "${offs[3]}" "$SRC" >"$TMP/cut.pcap"
printf 'garbage' >>"$TMP/cut.pcap"
"$REVIEW" --keys "$KEY" "$TMP/cut.pcap" >"$TMP/cut.txt" 2>"$TMP/cut.err"
rc=$?
{ [ $rc = 1 ] && grep -q "^ERROR: .*byte offset ${offs[3]} " "$TMP/cut.txt" &&
  grep -q 'seq 0 len .*accept (new_source)' "$TMP/cut.txt"; } &&
	ok "text output: ERROR line with the offset, and the first datagram still there" ||
	fail "text output of a truncated capture (rc $rc): $(head -n 3 "$TMP/cut.txt")"

step "a corrupt record length"
cp "$SRC" "$TMP/bad.pcap"
printf '\xff\xff\xff\x7f' | dd of="$TMP/bad.pcap" bs=1 seek=$((offs[2] + 8)) conv=notrunc status=none
"$REVIEW" --json --keys "$KEY" "$TMP/bad.pcap" >"$TMP/bad.json" 2>"$TMP/bad.err"
rc=$?
{ [ $rc = 1 ] && grep -q "byte offset ${offs[2]} (record 3)" "$TMP/bad.err" &&
  [ "$(datagrams "$TMP/bad.json" | wc -l)" = 2 ]; } &&
	ok "corrupt record 3: offset ${offs[2]}, two datagrams reported" ||
	fail "corrupt record (rc $rc): $(cat "$TMP/bad.err")"

step "not a capture at all"
"$REVIEW" pcaps/ssp-v4.key >/dev/null 2>"$TMP/err"
rc=$?
{ [ $rc = 1 ] && grep -q 'byte offset 0' "$TMP/err"; } && ok "a text file: exit 1, byte offset 0" ||
	fail "text file as capture (rc $rc): $(cat "$TMP/err")"

# -------------------------------------------------------------- 3. key files

step "key file errors"
printf '# keys\n\n60001 CbDLtodmXl7cXbZmj5RVbg\n60002 not-a-key\n' >"$TMP/k"
"$REVIEW" --keys "$TMP/k" "$SRC" >/dev/null 2>"$TMP/err"
rc=$?
{ [ $rc = 2 ] && grep -q "$TMP/k:4: key" "$TMP/err"; } && ok "bad key on line 4: $(cat "$TMP/err")" ||
	fail "bad key line (rc $rc): $(cat "$TMP/err")"
printf '60001 CbDLtodmXl7cXbZmj5RVbg\n\n# x\n99999 CbDLtodmXl7cXbZmj5RVbg\n' >"$TMP/k"
"$REVIEW" --keys "$TMP/k" "$SRC" >/dev/null 2>"$TMP/err"
rc=$?
{ [ $rc = 2 ] && grep -q "$TMP/k:4: port" "$TMP/err"; } && ok "bad port on line 4" ||
	fail "bad port line (rc $rc): $(cat "$TMP/err")"
grep -q "CbDLtodm" "$TMP/err" && fail "an error message shows key material" || ok "no key material in errors"

# ------------------------------------------------------------- 4. no keys

step "without keys"
for x in pcaps/ssp-v4 pcaps/ssp-v6; do
	"$REVIEW" --json "$x.pcap" >"$TMP/nokey.json" || fail "$x without keys: exit status $?"
	n=$(datagrams "$TMP/nokey.json" | wc -l)
	a=$(datagrams "$TMP/nokey.json" | grep -c '"authentic":null,')
	{ [ "$n" -gt 0 ] && [ "$n" = "$a" ]; } && ok "$x: all $n datagrams authentic null" ||
		fail "$x: $a of $n datagrams authentic null"
	grep -q '"verdict":"accept"' "$TMP/nokey.json" && fail "$x: a verdict of accept without a key" ||
		ok "$x: no verdict of accept"
	[ "$(datagrams "$TMP/nokey.json" | grep -c '"verdict":"no_session","reason":"no_key"')" = "$n" ] &&
		ok "$x: every datagram no_session (no_key)" || fail "$x: verdicts without a key"
done

# -------------------------------------------------------- 5. forged captures

step "forged attack capture: verdicts"
"$FORGE" attack "$TMP/a.pcap" "$TMP/a.key" || fail "pcapforge failed"
"$REVIEW" --json --keys "$TMP/a.key" "$TMP/a.pcap" >"$TMP/a.json" || fail "review of the forged capture: exit $?"
A=$TMP/a.json
expect "ssh login found" "$A" session 1 '"ssh_client":"198.18.0.2:50022","ssh_server":"198.18.0.1:22"' '"ssh_established":true'
expect "first datagram accepted" "$A" datagram 1 '"direction":"to_server","seq":0,' '"authentic":true' '"verdict":"accept","reason":"new_source"'
expect "reply confirmed" "$A" datagram 1.005 '"direction":"to_client","seq":0,' '"verdict":"accept","reason":"confirmed"'
expect "pinhole opened" "$A" pinhole 1.005 '"client":"198.18.0.2:40001","action":"open"'
expect "duplicate on the pinhole" "$A" datagram 1.010 '"seq_note":"duplicate"' '"verdict":"pinhole"'
expect "replay from another address dropped" "$A" datagram 3.5 '"client":"198.18.9.9:5555"' '"seq":0,' '"seq_note":"replay"' '"first_seen_client":"198.18.0.2:40001"' '"verdict":"drop","reason":"replay"'
expect "replay of a fast-path seq: the daemon delivers it, the review flags it" "$A" datagram 3.6 '"seq_note":"replay"' '"verdict":"accept","reason":"new_source"'
expect "10-byte garbage dropped short" "$A" datagram 4 '"seq":null' '"authentic":false' '"verdict":"drop","reason":"short"'
expect "100-byte garbage dropped forged" "$A" datagram 4.1 '"authentic":false' '"verdict":"drop","reason":"forged"'
expect "reflected server datagram dropped" "$A" datagram 4.2 '"ssp_direction":"to_client"' '"verdict":"drop","reason":"wrong_direction"'
expect "server datagram to a stranger dropped" "$A" datagram 4.3 '"client":"198.18.7.7:7777"' '"verdict":"drop","reason":"not_candidate"'
expect "roam noticed" "$A" roam 9 '"client":"198.18.0.3:40002","old_client":"198.18.0.2:40001","kind":"roam","last_seq_old":2,"seq":3,'
expect "roam accepted" "$A" datagram 9 '"verdict":"accept","reason":"new_source"'
expect "roam confirmed" "$A" datagram 9.002 '"verdict":"accept","reason":"confirmed"'
expect "reordered datagram" "$A" datagram 10.1 '"seq":5,' '"seq_note":"reordered","behind":1'
expect "gap over 9 s" "$A" gap 22 '"since":1700000010.100000,"length":11.900000'
expect "port hop after the gap" "$A" roam 22 '"kind":"port_hop","last_seq_old":6,"seq":7,'
expect "two-fragment instruction reassembled" "$A" datagram 22.501 '"frag_num":0,' '"fragments":2,' '"new_num":10,' '"diff_len":1500,'
expect "oldest pinhole evicted at the limit" "$A" pinhole 31.002 '"client":"198.18.0.2:40001","action":"evict"'
# idle timeout 60 s, P 15 s, S = M = 50 ms (the rule below). 40001: opened
# +1.005 (sure until +61.005), +1.010 (+61.005 >= +16.010: +60.960), +3
# (+62.950), +6 (+65.950), evicted at +31.002; 40002: opened +9.002, +9.5,
# +10, +10.1 (+70.050), evicted at +32.002; 40003 to 40006: opened at
# +22.003, +30.002, +31.002, +32.002, no inbound datagram: each expires at
# its opening + 60.050, may have closed from its opening + 60
expect "idle pinhole expires idle_timeout + 50 ms after its opening" "$A" pinhole 82.053 '"client":"198.18.0.3:40003","action":"expire","idle_since":1700000022.003000,"may_close_from":1700000082.003000}'
expect "the last one too" "$A" pinhole 92.052 '"client":"198.18.0.3:40006","action":"expire","idle_since":1700000032.002000,"may_close_from":1700000092.002000}'
n=$(grep -c -e '"action":"expire"' "$A")
[ "$n" = 4 ] && ok "four expiries (40003 to 40006)" || fail "$n expiries: $(grep -e '"action":"expire"' "$A")"
n=$(grep -c -e '"reason":"fast_path_idle_window"' "$A")
[ "$n" = 0 ] && ok "no datagram in an idle window" || fail "$n idle-window datagrams: $(grep -e idle_window "$A" | head -n 3)"
expect "old address after expiry: replay dropped" "$A" datagram 95 '"client":"198.18.0.2:40001"' '"verdict":"drop","reason":"replay"'
grep -q '"event":"verdict",.*"pinhole":9,"accept":13,"drop":6,"no_session":0,"reasons":.*"pinholes_open":0}' "$A" &&
	ok "verdict totals, no pinhole open at the end" || fail "verdict totals: $(grep '"event":"verdict"' "$A")"
grep -q '"event":"summary",.*"other_udp":1,' "$A" && ok "non-mosh UDP counted apart" || fail "other UDP"

step "forged capture: --idle-timeout and the idle window"
# The review's rule (judge.c), P = max(1 s, idle_timeout/4), S = M = 50 ms:
# opened at t: sure until t + idle_timeout, expires t + idle_timeout + M;
# an inbound datagram at t: sure until t + idle_timeout - S if it was sure
# until t + P or later, else unchanged; expires t + idle_timeout + M. The
# window is [sure until, expires). 198.18.0.2:40001's pinhole opens at
# +1.005; inbound on it at +1.010, +3 and +6 (+3.001 is mosh-server's), the
# next from it at +95; 198.18.0.3:40002's opens at +9.002, inbound on it at
# +9.5, +10 and +10.1
none_at() { # what file event time
	[ -z "$(ev_at "$2" "$3" "$4")" ] && ok "$1" || fail "$1: $(ev_at "$2" "$3" "$4")"
}
ph40001='"client":"198.18.0.2:40001","action":"expire"'
ph40002='"client":"198.18.0.3:40002","action":"expire"'
I=$TMP/i.json

# idle 4, P 1, steady traffic. 40001: opened +1.005 (sure until +5.005,
# expires +5.055); +1.010 (+5.005 >= +2.010): sure until +4.960; +3 (before
# +4.960: fast_path; +4.960 >= +4): +6.950, expires +7.050; +6 (before
# +6.950: fast_path; +6.950 < +7: unchanged), expires +10.050. 40002:
# opened +9.002 (+13.002); +9.5: +13.450; +10: +13.950; +10.1 (+13.950 >=
# +11.1): +14.050, expires +14.150. 40003: opened +22.003, expires +26.053
"$REVIEW" --json --idle-timeout 4 --keys "$TMP/a.key" "$TMP/a.pcap" >"$I"
expect "4 s: +3: fast_path" "$I" datagram 3 '"client":"198.18.0.2:40001"' '"verdict":"pinhole","reason":"fast_path"}'
expect "4 s: +6, 3 s after +3 (before +3 + 4 - 0.05): fast_path" "$I" datagram 6 '"client":"198.18.0.2:40001"' '"verdict":"pinhole","reason":"fast_path"}'
expect "4 s: 40001 expires at +6 + 4.05, may have closed from +6.95 (+3 + 3.95)" "$I" pinhole 10.05 "$ph40001,\"idle_since\":$((T0 + 6)).000000,\"may_close_from\":$((T0 + 6)).950000}"
none_at "4 s: no expiry at +6 + idle_timeout exactly" "$I" pinhole 10
expect "4 s: 40002 expires at +10.1 + 4.05, may have closed from +10.1 + 3.95" "$I" pinhole 14.15 "$ph40002,\"idle_since\":$((T0 + 10)).100000,\"may_close_from\":$((T0 + 14)).050000}"
expect "4 s: a pinhole idle since its opening expires 4.05 s after it, may have closed from 4 s" "$I" pinhole 26.053 '"client":"198.18.0.3:40003","action":"expire","idle_since":1700000022.003000,"may_close_from":1700000026.003000}'
n=$(grep -c -e '"reason":"fast_path_idle_window"' "$I")
[ "$n" = 0 ] && ok "4 s: no datagram in a window" || fail "4 s: $n idle-window datagrams: $(grep -e idle_window "$I" | head -n 3)"
expect "4 s: verdicts, none counted in a window" "$I" verdict 95 '"pinhole":9,"accept":13,"drop":6,"no_session":0,"reasons":'
"$REVIEW" --idle-timeout 4 --keys "$TMP/a.key" "$TMP/a.pcap" >"$TMP/i.txt"
grep -q -x -F '    +3.000000 > 198.18.0.2:40001 seq 1 len 67 authentic ts 1001/- frag 2#0 final | instruction v2 old 1 new 2 ack 2 throwaway 1 diff 4 B chaff 3 B => pinhole' "$TMP/i.txt" &&
	ok "4 s: text output of a datagram outside the window unchanged" ||
	fail "4 s: text of the datagram at +3: $(grep -F '+3.000000 >' "$TMP/i.txt")"
grep -q -x -F '    +10.050000 pinhole expired (idle) for 198.18.0.2:40001: idle since +6.000000; closed at most the idle timeout (4 s) after that (a few ms more at most); it may have closed earlier, from +6.950000 on, when the daemon'"'"'s sync could miss it' "$TMP/i.txt" &&
	grep -q -F 'verdicts:       pinhole 9, accept 13,' "$TMP/i.txt" &&
	ok "4 s: text output dates the expiry and its window, counts no window" ||
	fail "4 s: text output: $(grep -e 'expired (idle) for' -e 'verdicts:' "$TMP/i.txt")"

# idle 3, P 1. 40001: opened +1.005 (sure until +4.005); +1.010: +3.960;
# +3 (before +3.960: fast_path; +3.960 < +4: unchanged), expires +6.050;
# +6 (from +3.960, before +6.050): in the window, 3 s after +3, expires
# +9.050
"$REVIEW" --json --idle-timeout 3 --keys "$TMP/a.key" "$TMP/a.pcap" >"$I"
expect "3 s: +3, 1.99 s after +1.010: fast_path" "$I" datagram 3 '"client":"198.18.0.2:40001"' '"verdict":"pinhole","reason":"fast_path"}'
expect "3 s: +6: in the window, still on the pinhole" "$I" datagram 6 '"client":"198.18.0.2:40001"' '"verdict":"pinhole","reason":"fast_path_idle_window","pinhole_idle":3.000000}'
expect "3 s: 40001 expires at +6 + 3.05, may have closed from +3.96" "$I" pinhole 9.05 "$ph40001,\"idle_since\":$((T0 + 6)).000000,\"may_close_from\":$((T0 + 3)).960000}"
expect "3 s: one datagram in the window counted" "$I" verdict 95 '"pinhole":9,' '"pinhole_idle_window":1,'
"$REVIEW" --idle-timeout 3 --keys "$TMP/a.key" "$TMP/a.pcap" >"$TMP/i.txt"
grep -q -x -F '    +6.000000 > 198.18.0.2:40001 seq 2 len 67 authentic ts 1002/- frag 3#0 final | instruction v2 old 2 new 3 ack 3 throwaway 2 diff 4 B chaff 3 B => pinhole (fast_path_idle_window: idle 3.000 s, the kernel may already have closed it)' "$TMP/i.txt" &&
	grep -q -F 'verdicts:       pinhole 9 (1 in the idle window), accept 13,' "$TMP/i.txt" &&
	ok "3 s: text output marks the datagram, counts the window" ||
	fail "3 s: text output: $(grep -e idle_window -e 'verdicts:' "$TMP/i.txt")"

# idle 2, P 1. 40001: opened +1.005 (sure until +3.005); +1.010 (+3.005 >=
# +2.010): +2.960, expires +3.060; +3 (from +2.960): in the window, 1.99 s
# after +1.010, +2.960 < +4: unchanged, expires +5.050; +3.001 in the
# window; expired at +5.050: +6 goes to the daemon
"$REVIEW" --json --idle-timeout 2 --keys "$TMP/a.key" "$TMP/a.pcap" >"$I"
expect "2 s: +3: in the window" "$I" datagram 3 '"client":"198.18.0.2:40001"' '"verdict":"pinhole","reason":"fast_path_idle_window","pinhole_idle":1.990000}'
expect "2 s: mosh-server's +3.001: in the window" "$I" datagram 3.001 '"client":"198.18.0.2:40001"' '"verdict":"pinhole","reason":"fast_path_idle_window","pinhole_idle":0.001000}'
expect "2 s: 40001 expires at +3 + 2.05, may have closed from +2.96" "$I" pinhole 5.05 "$ph40001,\"idle_since\":$((T0 + 3)).000000,\"may_close_from\":$((T0 + 2)).960000}"
expect "2 s: +6, after the expiry: the daemon's verdict" "$I" datagram 6 '"client":"198.18.0.2:40001"' '"verdict":"accept","reason":"new_source"'

# idle 1, P 1 (P = idle_timeout: no inbound datagram makes a pinhole sure
# for longer than its opening did). 40001: opened +1.005 (sure until
# +2.005, expires +2.055); +1.010 (+2.005 < +2.010: unchanged), expires
# +2.060; +3 goes to the daemon, its reply at +3.001 reopens the pinhole
# (sure until +4.001, expires +4.051), no inbound datagram follows; +6 goes
# to the daemon. 40002: opened +9.002 (sure until +10.002, expires
# +10.052); +9.5 (a single inbound datagram late in its life, +10.002 <
# +10.5: unchanged), +10 fast_path; +10.1, after the original expiry: in
# the window, expires +11.150
"$REVIEW" --json --idle-timeout 1 --keys "$TMP/a.key" "$TMP/a.pcap" >"$I"
expect "1 s: 40001 expires at +1.010 + 1.05, may have closed from +2.005 (its opening + 1)" "$I" pinhole 2.06 "$ph40001,\"idle_since\":$((T0 + 1)).010000,\"may_close_from\":$((T0 + 2)).005000}"
expect "1 s: +3, after the expiry: the daemon's verdict" "$I" datagram 3 '"client":"198.18.0.2:40001"' '"verdict":"accept","reason":"new_source"'
expect "1 s: its reply reopens the pinhole" "$I" pinhole 3.001 '"client":"198.18.0.2:40001","action":"open"'
expect "1 s: no inbound datagram after the reopening: expires 1.05 s after it" "$I" pinhole 4.051 "$ph40001,\"idle_since\":$((T0 + 3)).001000,\"may_close_from\":$((T0 + 4)).001000}"
expect "1 s: the next client datagram goes to the daemon again" "$I" datagram 6 '"client":"198.18.0.2:40001"' '"verdict":"accept","reason":"new_source"'
expect "1 s: 40002's +10, before +10.002: fast_path" "$I" datagram 10 '"client":"198.18.0.3:40002"' '"verdict":"pinhole","reason":"fast_path"}'
expect "1 s: 40002's +10.1: in the window" "$I" datagram 10.1 '"client":"198.18.0.3:40002"' '"verdict":"pinhole","reason":"fast_path_idle_window","pinhole_idle":0.100000}'
expect "1 s: 40002 expires at +10.1 + 1.05, may have closed from +10.002" "$I" pinhole 11.15 "$ph40002,\"idle_since\":$((T0 + 10)).100000,\"may_close_from\":$((T0 + 10)).002000}"

step "restamped records of the forged capture: the edges of the idle window"
# Records of the attack capture, from 0: 0-2 the SSH login (+0, +0.001,
# +0.002), 3 40001's seq 0 (+1), 4 the server's reply (+1.005), 5 its
# duplicate (+1.010), 6 seq 1 (+3), 7 the server's seq 1 (+3.001), 15
# seq 2 (+6).
# retime OUT SRC REC@TIME...: SRC's header and those records of SRC, in
# that order, stamped TIME seconds after T0
le32() { printf '%b' "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"; }
retime() {
	local out=$1 src=$2 r t off cap offs; shift 2
	mapfile -t offs < <(record_offsets "$src")
	head -c 24 "$src" >"$out"
	for r in "$@"; do
		t=${r#*@} off=${offs[${r%@*}]}
		cap=$(od -An -tu4 -j $((off + 8)) -N4 "$src" | tr -d ' ')
		{ le32 $((T0 + ${t%.*})); le32 "$(frac_us "$t")"; tail -c +$((off + 9)) "$src" | head -c $((8 + cap)); } >>"$out"
	done
}

# The daemon's sync may miss a late datagram (idle 4, P 1): 40001 opened at
# +1.005 (sure until +5.005, expires +5.055), its only inbound datagram at
# +4.6 (before +5.005: fast_path; +5.005 < +5.6: unchanged), expires
# +8.650; mosh-server's at +5.5, after the opening's timeout: in the
# window, 0.9 s after +4.6 (so is its repeat at +8.649999); at +8.65,
# +4.6 + 4.05, the pinhole expires and seq 2 goes to the daemon
retime "$TMP/late.pcap" "$TMP/a.pcap" 0@0 1@0.001 2@0.002 3@1 4@1.005 6@4.6 7@5.5 4@8.649999 15@8.65
"$REVIEW" --json --idle-timeout 4 --keys "$TMP/a.key" "$TMP/late.pcap" >"$I"
expect "late: +4.6: fast_path" "$I" datagram 4.6 '"client":"198.18.0.2:40001"' '"verdict":"pinhole","reason":"fast_path"}'
expect "late: +5.5, after the opening's timeout: in the window, not fast_path" "$I" datagram 5.5 '"client":"198.18.0.2:40001"' '"verdict":"pinhole","reason":"fast_path_idle_window","pinhole_idle":0.900000}'
expect "late: +8.649999, 1 us before the expiry: in the window" "$I" datagram 8.649999 '"client":"198.18.0.2:40001"' '"verdict":"pinhole","reason":"fast_path_idle_window","pinhole_idle":4.049999}'
none_at "late: no expiry at +5.055" "$I" pinhole 5.055
expect "late: expires at +4.6 + 4.05 exactly, may have closed from +5.005" "$I" pinhole 8.65 "$ph40001,\"idle_since\":$((T0 + 4)).600000,\"may_close_from\":$((T0 + 5)).005000}"
expect "late: +8.65, at the expiry: the daemon's verdict" "$I" datagram 8.65 '"client":"198.18.0.2:40001"' '"verdict":"accept","reason":"new_source"'

# Steady traffic (idle 4, P 1): opened +1.005 (sure until +5.005); +3.9
# (+5.005 >= +4.9): +7.850, expires +7.950; +6.85, 2.95 s later (= 4 - 1 -
# 0.05; +7.850 >= +7.850): +10.800, expires +10.900; mosh-server's at
# +10.799999 fast_path, its repeat at +10.8 in the window (3.95 s after
# +6.85); at +10.9 the pinhole expires and seq 2 goes to the daemon
retime "$TMP/steady.pcap" "$TMP/a.pcap" 0@0 1@0.001 2@0.002 3@1 4@1.005 5@3.9 6@6.85 7@10.799999 4@10.8 15@10.9
"$REVIEW" --json --idle-timeout 4 --keys "$TMP/a.key" "$TMP/steady.pcap" >"$I"
expect "steady: +3.9: fast_path" "$I" datagram 3.9 '"client":"198.18.0.2:40001"' '"verdict":"pinhole","reason":"fast_path"}'
expect "steady: +6.85: fast_path" "$I" datagram 6.85 '"client":"198.18.0.2:40001"' '"verdict":"pinhole","reason":"fast_path"}'
expect "steady: +10.799999, 1 us before +6.85 + 3.95: fast_path" "$I" datagram 10.799999 '"client":"198.18.0.2:40001"' '"verdict":"pinhole","reason":"fast_path"}'
expect "steady: +10.8: in the window" "$I" datagram 10.8 '"client":"198.18.0.2:40001"' '"verdict":"pinhole","reason":"fast_path_idle_window","pinhole_idle":3.950000}'
expect "steady: expires at +6.85 + 4.05 exactly, may have closed from +10.8" "$I" pinhole 10.9 "$ph40001,\"idle_since\":$((T0 + 6)).850000,\"may_close_from\":$((T0 + 10)).800000}"
expect "steady: +10.9, at the expiry: the daemon's verdict" "$I" datagram 10.9 '"client":"198.18.0.2:40001"' '"verdict":"accept","reason":"new_source"'
n=$(grep -c -e '"reason":"fast_path_idle_window"' "$I")
[ "$n" = 1 ] && ok "steady: only +10.8 in a window" || fail "steady: $n idle-window datagrams: $(grep -e idle_window "$I")"

step "forged capture without keys"
"$REVIEW" --json "$TMP/a.pcap" >"$TMP/n.json"
grep -q '"verdict":"accept"\|"authentic":true\|"authentic":false' "$TMP/n.json" &&
	fail "keyless review judged authenticity" || ok "keyless: no accept, authenticity unknown"
expect "keyless: garbage is not plausible" "$TMP/n.json" datagram 4.1 '"seq_note":"implausible"'
expect "keyless: replay still seen" "$TMP/n.json" datagram 3.5 '"seq_note":"replay"'

step "same story in every link type, IPv6 and pcapng"
"$REVIEW" --keys "$TMP/a.key" "$TMP/a.pcap" | tail -n +2 >"$TMP/ref4.txt"
for fam in "" --v6; do
	for link in en10mb vlan sll sll2 raw null; do
		for ng in "" --ng; do
			name="${link}${fam:+ v6}${ng:+ pcapng}"
			"$FORGE" --link $link $fam $ng attack "$TMP/l.cap" "$TMP/l.key" || { fail "$name: pcapforge"; continue; }
			"$REVIEW" --keys "$TMP/l.key" "$TMP/l.cap" | tail -n +2 | sed "s|$TMP/l.key|$TMP/a.key|" >"$TMP/l.txt"
			if [ -z "$fam" ]; then
				cmp -s "$TMP/ref4.txt" "$TMP/l.txt" && ok "$name: same review" ||
					fail "$name: review differs: $(diff "$TMP/ref4.txt" "$TMP/l.txt" | head -n 5)"
			else
				[ -e "$TMP/ref6.txt" ] || cp "$TMP/l.txt" "$TMP/ref6.txt"
				if cmp -s "$TMP/ref6.txt" "$TMP/l.txt" &&
				   grep -q 'REPLAY of the seq first seen at +1.000000 from \[fd00:5350::2\]:40001 => drop (replay)' "$TMP/l.txt"; then
					ok "$name: same review"
				else
					fail "$name: review differs"
				fi
			fi
		done
	done
done

step "truncated pcapng"
"$FORGE" --ng attack "$TMP/n.pcapng" "$TMP/n.key"
head -c 1500 "$TMP/n.pcapng" >"$TMP/nt.pcapng"
"$REVIEW" --json --keys "$TMP/n.key" "$TMP/nt.pcapng" >"$TMP/nt.json" 2>"$TMP/nt.err"
rc=$?
{ [ $rc = 1 ] && grep -q 'at or after byte offset [0-9]' "$TMP/nt.err" &&
  [ "$(datagrams "$TMP/nt.json" | wc -l)" -gt 3 ]; } &&
	ok "pcapng cut: $(cat "$TMP/nt.err")" || fail "pcapng cut (rc $rc): $(cat "$TMP/nt.err")"

# ------------------------------------------------- 6. key file without a newline

step "key line without a newline at the end of the buffer (over-read before the fix)"
# getline's buffer is 120 bytes, then 240: a last line of 119 or 239 bytes
# ending in bound=ADDR filled it to the NUL; the parser stepped past that.
for len in 119 239 60; do
	line="60001 CbDLtodmXl7cXbZmj5RVbg bound=198.18.0.1"
	printf '%*s%s' $((len - ${#line})) '' "$line" >"$TMP/k$len"
	"$REVIEW" --keys "$TMP/k$len" "$SRC" >"$TMP/o" 2>"$TMP/err"
	rc=$?
	{ [ $rc = 0 ] && ! grep -q 'Sanitizer' "$TMP/err" && grep -q "keys: $TMP/k$len, 1 port" "$TMP/o"; } &&
		ok "$len-byte key line without a newline: read, exit 0" ||
		fail "$len-byte key line (rc $rc): $(head -n 3 "$TMP/err")"
done
printf '60001 CbDLtodmXl7cXbZmj5RVbg\n60001 CbDLtodmXl7cXbZmj5RVbg' >"$TMP/k"
"$REVIEW" --keys "$TMP/k" "$SRC" >/dev/null 2>"$TMP/err"
rc=$?
{ [ $rc = 2 ] && grep -q "$TMP/k:2: the same key for this port was given before" "$TMP/err"; } &&
	ok "the same key twice for one port refused on line 2" || fail "same key twice (rc $rc): $(cat "$TMP/err")"
printf '60001 CbDLtodmXl7cXbZmj5RVbg\n60001 Cb\0DLtodmXl7cXbZmj5RVbg\n' >"$TMP/k"
"$REVIEW" --keys "$TMP/k" "$SRC" >/dev/null 2>"$TMP/err"
rc=$?
{ [ $rc = 2 ] && grep -q "$TMP/k:2: a NUL byte in the line" "$TMP/err"; } &&
	ok "a NUL byte refused on line 2" || fail "NUL byte (rc $rc): $(cat "$TMP/err")"

# --------------------------------------------- 7. several keys for one port

step "several keys for one port (a single-port capture)"
"$FORGE" mux 3 "$TMP/m.pcap" "$TMP/m.key" || fail "pcapforge mux failed"
[ "$(grep -c '^60001 ' "$TMP/m.key")" = 3 ] && ok "three keys for port 60001" || fail "key file: $(cat "$TMP/m.key")"
"$REVIEW" --json --keys "$TMP/m.key" "$TMP/m.pcap" >"$TMP/m.json" 2>"$TMP/err" &&
	ok "reviewed: exit 0" || fail "review with three keys on one port: exit $?: $(cat "$TMP/err")"
M=$TMP/m.json
for i in 0 1 2; do
	line=$((i + 2)) c=198.18.1.$((10 + i)):$((41000 + i))
	expect "session $i (key line $line): ssh login found" "$M" session 1.0$i "\"key_line\":$line,\"port_keys\":3" "\"ssh_client\":\"198.18.1.$((10 + i)):$((50000 + i))\""
	d=$(datagrams "$M" | grep -F "\"time\":$((T0 + 1)).0${i}0000," )
	[[ $d == *"\"client\":\"$c\""*'"authentic":true'*'"verdict":"accept","reason":"new_source"'* ]] &&
		ok "session $i: first datagram authentic, accept new_source" || fail "session $i first datagram: $d"
	expect "session $i: reply confirmed" "$M" datagram 1.5$i "\"client\":\"$c\"" '"verdict":"accept","reason":"confirmed"'
	expect "session $i: pinhole opened" "$M" pinhole 1.5$i "\"client\":\"$c\",\"action\":\"open\""
	expect "session $i: later datagrams on the pinhole" "$M" datagram 2.0$i "\"client\":\"$c\"" '"verdict":"pinhole"'
done
expect "garbage on the shared port: no key takes it, drop no_match" "$M" datagram 3 '"authentic":false' '"verdict":"drop","reason":"no_match"'
expect "replay of session 0 from a stranger: drop no_match, flagged replay" "$M" datagram 3.1 '"seq_note":"replay"' '"verdict":"drop","reason":"no_match"'
expect "reflected datagram of session 1: drop wrong_direction" "$M" datagram 3.2 '"ssp_direction":"to_client"' '"verdict":"drop","reason":"wrong_direction"'
expect "session 0 roams" "$M" roam 4 '"client":"198.18.0.3:40002","old_client":"198.18.1.10:41000"'
expect "roam accepted and confirmed" "$M" datagram 4.005 '"verdict":"accept","reason":"confirmed"'
n=$(grep -c '"event":"session",.*"key_line":[0-9]' "$M")
u=$(grep -c '"event":"session",.*"key_line":null,"port_keys":3' "$M")
{ [ "$n" = 3 ] && [ "$u" = 1 ]; } && ok "three keyed sessions and one for what no key authenticates" ||
	fail "$n keyed sessions, $u unattributed"
for i in 0 1 2; do
	awk -v l="\"key_line\":$((i + 2))," 'index($0, "\"event\":\"session\"") { on = index($0, l) > 0 }
		on && /"event":"datagram"/ && /"authentic":false/ { bad = 1 } END { exit bad }' "$M" &&
		ok "session $i: every datagram filed under it authenticates with its key" ||
		fail "session $i holds a datagram its key does not authenticate"
done
"$REVIEW" --keys "$TMP/m.key" "$TMP/m.pcap" >"$TMP/m.txt"
grep -q "keys: $TMP/m.key, 3 keys for 1 port" "$TMP/m.txt" && grep -q 'key: line 3 (2 of 3 for this port)' "$TMP/m.txt" &&
	ok "text output names each session's key line" || fail "text output: $(grep -E '^keys|^session' "$TMP/m.txt")"

# --------------------------------------------------- 8. hostile capture bounds

step "a hostile capture past the bound on sessions"
"$FORGE" flood flows 50010 "$TMP/f.pcap" "$TMP/f.key" || fail "pcapforge flood failed"
"$REVIEW" --json --keys "$TMP/f.key" "$TMP/f.pcap" >"$TMP/f.json" 2>"$TMP/err"
rc=$?
[ $rc = 0 ] && ok "reviewed: exit 0" || fail "flood review: exit $rc: $(head -n 3 "$TMP/err")"
grep -q '"event":"limit","what":"sessions","max":50000,"datagrams_not_followed":10}' "$TMP/f.json" &&
	ok "LIMIT: 10 datagrams past 50,000 sessions not followed" || fail "no limit event: $(grep -v datagram "$TMP/f.json" | tail -n 2)"
grep -q '"event":"summary","sessions":50000,"tcp":50010,' "$TMP/f.json" && ok "50,000 sessions, 50,010 SSH SYNs" ||
	fail "summary: $(tail -n 1 "$TMP/f.json")"
last=$(grep -F '"server":"198.18.0.49:60999"' "$TMP/f.json" | grep -F '"event":"session"')
[[ $last == *'"ssh_client":"198.18.195.79:51023"'* ]] &&
	ok "the last session followed still finds its own SSH login among 50,010" || fail "last session: $last"

# ------------------------------------------ 9. server addresses, keyless

step "key lines naming the server's address; keyless lines"
verdicts() { datagrams "$1" | sed -E 's/.*"direction":"([a-z_]+)".*"verdict":"([a-z]+)","reason":"([a-z_]+)".*/\1 \2 \3/'; }
for c in "ssp-v4 [198.18.0.1]:60001" "ssp-v4 198.18.0.1:60001" "ssp-v6 [fd00:5350::1]:60002"; do
	x=pcaps/${c%% *} srv=${c#* }
	printf '# the server named\n%s %s\n' "$srv" "$(awk '{print $2}' "$x.key")" >"$TMP/a.key"
	"$REVIEW" --json --keys "$x.key" "$x.pcap" >"$TMP/p.json"
	if "$REVIEW" --json --keys "$TMP/a.key" "$x.pcap" >"$TMP/s.json" 2>"$TMP/err" &&
		[ "$(verdicts "$TMP/s.json")" = "$(verdicts "$TMP/p.json")" ] && [ -n "$(verdicts "$TMP/p.json")" ]; then
		ok "$srv: the verdicts of the port-only line ($(verdicts "$TMP/s.json" | grep -c .) datagrams)"
	else
		fail "$srv: $(cat "$TMP/err") $(diff <(verdicts "$TMP/p.json") <(verdicts "$TMP/s.json") | head -n 5)"
	fi
done
printf '198.18.0.9:60001 CbDLtodmXl7cXbZmj5RVbg\n' >"$TMP/a.key"
"$REVIEW" --json --keys "$TMP/a.key" pcaps/ssp-v4.pcap >"$TMP/s.json"
{ grep -q '"event":"session",.*"key":false' "$TMP/s.json" &&
	grep -q '"event":"unused_key","port":60001,"server":"198.18.0.9:60001","line":1' "$TMP/s.json" &&
	! datagrams "$TMP/s.json" | grep -q '"verdict":"accept"'; } &&
	ok "another server's address takes nothing: no key, the key unused" || fail "other address: $(grep -v datagram "$TMP/s.json")"
"$REVIEW" --keys "$TMP/a.key" pcaps/ssp-v4.pcap | grep -q '^key for 198.18.0.9:60001 (line 1): no datagrams' &&
	ok "text: the unused key names its server" || fail "text: unused key line"

printf '60001 keyless\n' >"$TMP/kl.key"
"$REVIEW" --json --keys "$TMP/kl.key" pcaps/ssp-v4.pcap >"$TMP/kl.json" 2>"$TMP/err"
first=$(datagrams "$TMP/kl.json" | head -n 1)
reply=$(datagrams "$TMP/kl.json" | grep -F '"direction":"to_client"' | head -n 1)
{ grep -q '"event":"session",.*"keyless":true' "$TMP/kl.json" &&
	[[ $first == *'"authentic":null'*'"verdict":"accept","reason":"unverified"'* ]] &&
	[[ $reply == *'"verdict":"accept","reason":"confirmed"'* ]]; } &&
	ok "keyless line: first datagram unverified (not authenticated), the reply confirms" ||
	fail "keyless line: $first / $reply $(cat "$TMP/err")"
"$REVIEW" --json --keyless --keys pcaps/ssp-v4.key pcaps/ssp-v4.pcap >"$TMP/kk.json"
first=$(datagrams "$TMP/kk.json" | head -n 1)
{ [[ $first == *'"authentic":true'*'"verdict":"accept","reason":"unverified"'* ]] &&
	[ "$(verdicts "$TMP/kk.json")" = "$(verdicts "$TMP/kl.json")" ] &&
	grep -q '"event":"summary",.*"keyless":true' "$TMP/kk.json"; } &&
	ok "--keyless with the key: decoded, judged as the keyless line" || fail "--keyless: $first"
"$REVIEW" --keyless --keys pcaps/ssp-v4.key pcaps/ssp-v4.pcap | grep -q 'judged by the keyless rule' &&
	ok "text: the session says it is judged by the keyless rule" || fail "text of --keyless"

refused() { # what line expected-reason
	printf '60002 qh9e7rix4JeE2Fm2NidACw\n%s\n' "$2" >"$TMP/k"
	"$REVIEW" --keys "$TMP/k" "$SRC" >/dev/null 2>"$TMP/err"
	local rc=$?
	{ [ $rc = 2 ] && grep -q -F "$TMP/k:2: $3" "$TMP/err"; } && ok "$1 refused: $(cat "$TMP/err")" ||
		fail "$1 (rc $rc): $(cat "$TMP/err")"
}
refused "an unclosed bracket" "[fd00::1:60001 CbDLtodmXl7cXbZmj5RVbg" "expected PORT, A.B.C.D:PORT or [ADDRESS]:PORT"
refused "IPv6 without brackets" "fd00::1:60001 CbDLtodmXl7cXbZmj5RVbg" "expected"
refused "a name, not an address" "[server1]:60001 CbDLtodmXl7cXbZmj5RVbg" "expected PORT, A.B.C.D:PORT"
refused "port 0 after an address" "[198.18.0.1]:0 CbDLtodmXl7cXbZmj5RVbg" "port must be a number 1-65535"
refused "bound= after an address" "198.18.0.1:60001 CbDLtodmXl7cXbZmj5RVbg bound=198.18.0.1" "bound= goes with a port alone"
refused "keyless beside a key" "60002 keyless" "a keyless port takes no other line"
refused "bound= after keyless" "60003 keyless bound=198.18.0.1" "bound= goes with a key"
printf '[198.18.0.1]:60001 keyless\n[198.18.0.2]:60001 keyless\n60001 CbDLtodmXl7cXbZmj5RVbg\n' >"$TMP/k"
"$REVIEW" --keys "$TMP/k" "$SRC" >"$TMP/o" 2>"$TMP/err" &&
	grep -q 'keys: 2 server addresses with port named' "$TMP/o" && ok "keyless per server address, and a port-only key beside them" ||
	fail "keyless per server: $(cat "$TMP/err")"

echo
[ $FAILED = 0 ] && echo "t_review: all passed" || echo "t_review: FAILED"
exit $FAILED
