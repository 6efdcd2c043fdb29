#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Faults on the client path (issue 6, item 4). The kernels here lack
# sch_netem, so the client namespace's UDP to and from the mosh range goes
# through tests/impair (an NFQUEUE stand-in for netem: 30% loss in each
# direction, 25% held back 20-80 ms so later datagrams overtake them) and
# an nft `dup` rule (10% of the client's datagrams sent twice). A live
# mosh session through the helper survives: typed text keeps coming back,
# the router changes the client's address and then its port, and each time
# the session carries on with a new pinhole. Then the daemon's own record
# (audit log with slowpath_pcap on: one verdict per slow-path datagram) is
# checked: no datagram from or to the client was dropped as forged, as
# not_candidate or for any other reason than `replay`, and every `replay`
# drop was old (its sequence number not above one the daemon had already
# delivered to mosh-server); mosh-helper-review, replaying the slow-path
# capture with the key log, gives the same verdict for every datagram.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook mosh-helper-review tests/impair
mh_setup
MH_IDLE=30   # old pinholes outlive the test: mosh-server never targets a closed one
LOSS=30 DELAY=25 DELAY_MS=20-80 DUP=10 RT_S=60
CLIENTS='^198\.18\.3\.(10|11)$'   # the client's addresses after the router's SNAT
mh_start_daemon "key_log = \"$MH_TMP/keys.log\";" "slowpath_pcap = \"$MH_TMP/slow.pcap\";"
AUDIT=$MH_TMP/audit.log

now_ms() { date +%s%3N; }
RTS=()
# rt WHAT: one round trip within RT_S, its time recorded
rt() {
	local t0
	t0=$(now_ms)
	mh_assert "$1" mh_roundtrip c1 $RT_S
	RTS+=($(($(now_ms) - t0)))
	mh_log "round trip took ${RTS[-1]} ms"
}

mh_step "a live session (before any impairment)"
mh_live_session mhtest1 c1
port=$MH_PORT

mh_step "impairment on the client: $LOSS% loss each way, $DELAY% delayed $DELAY_MS ms, $DUP% duplicated"
mh_nsx "$NS_C" nft -f - <<EOF || mh_fail "the dup rule"
table ip mh_dup {
	chain out {
		type filter hook output priority -10; policy accept;
		udp dport 60000-61000 numgen random mod 100 < $DUP dup to 198.18.1.1 device "eth0"
	}
}
EOF
mh_ns_bg "$NS_C" "$MH_TMP/impair.out" "$MH_BUILD/tests/impair" 7 60000-61000 $LOSS $DELAY $DELAY_MS 300
impair=$MH_BG_PID
mh_assert "the impairment is in place" mh_wait 10 grep -qs '^impairing' "$MH_TMP/impair.out"

mh_step "the session survives"
for i in $(seq 10); do
	rt "round trip $i under impairment (within $RT_S s)"
done

# storm SECONDS: typing in the background (a shell comment line, ~20
# keystrokes/s), so that a roam happens while datagrams are in flight.
storm() {
	(
		end=$((SECONDS + $1))
		mh_tmux send-keys -t c1 -l "# "
		while [ $SECONDS -lt $end ]; do
			mh_tmux send-keys -t c1 -l "abc"
			sleep 0.05
		done
		mh_tmux send-keys -t c1 Enter
	) >/dev/null 2>&1 &
	STORM=$!
}

# roam WHAT NEWADDR PORTS: while typing, the router moves the client; the
# session carries on and a pinhole from the new mapping appears.
roam() {
	storm 4
	sleep 1.5
	if [ "$2" != "$(mh_snat_addr)" ]; then mh_roam_addr "$2"; fi
	mh_roam_port "$3"
	wait "$STORM"
	rt "typed text comes back after the $1"
	mh_assert "a pinhole from $2 ports $3 appears" \
		mh_wait 30 mh_any_pinhole "$2" "$3" "$port"
	rt "and again"
}

mh_step "roams under impairment, each while typing"
roam "address change" 198.18.3.11 41000-41099
roam "port change" 198.18.3.11 42000-42099
roam "address and port change" 198.18.3.10 43000-43099
roam "port change" 198.18.3.10 44000-44099

mh_step "an outage of 14 s: the client hops to a new source port by itself"
before=$(mh_find_pinholes 198.18.3.10 44000-44099 "$port" | awk '{print $2}' | sort | tr '\n' ' ')
kill -USR1 "$impair"
sleep 14
kill -USR1 "$impair"
rt "typed text comes back after the outage"
hopped() {
	mh_find_pinholes 198.18.3.10 44000-44099 "$port" | awk '{print $2}' | sort | tr '\n' ' ' |
		grep -q -v -x -F "$before"
}
mh_assert "a pinhole for the client's new source port appears (had: $before)" mh_wait 30 hopped
mh_log "pinholes now: $(mh_find_pinholes 198.18.3.10 44000-44099 "$port" | tr '\n' ',')"
rt "and again"
mh_assert "the session is still known" mh_has_session "$port"

mh_step "the impairment ends"
kill -TERM "$impair"
mh_assert "impair removed its table" mh_wait 10 mh_pid_gone "$impair"
sed 's/^/   | /' "$MH_TMP/impair.out"
dropped=$(sed -n -E 's/^to the range: [0-9]+ datagrams, ([0-9]+) dropped.*/\1/p' "$MH_TMP/impair.out")
delayed=$(sed -n -E 's/^to the range: .* ([0-9]+) delayed$/\1/p' "$MH_TMP/impair.out")
mh_assert "client datagrams were dropped and delayed ($dropped, $delayed)" \
	test "${dropped:-0}" -gt 10 -a "${delayed:-0}" -gt 10
mh_log "round trips (ms): ${RTS[*]}"
mh_log "pinholes opened: $(grep -c '"event":"pinhole_open"' "$AUDIT"), roams: $(grep -c '"event":"roam"' "$AUDIT")"

mh_step "the daemon's verdicts on the client's datagrams (audit log)"
# Per datagram event, in order: path, peer (the client side), session
# port, seq, verdict, reason.
sed -n 's/.*"event":"datagram".*"path":"\([a-z]*\)","src":"\([^"]*\)","dst":"\([^"]*\)","seq":\([0-9]*\),"verdict":"\([a-z]*\)","reason":"\([a-z_]*\)".*/\1 \2 \3 \4 \5 \6/p' "$AUDIT" |
	awk '$1 == "in" { print $1, $2, $3, $4, $5, $6 } $1 == "out" { print $1, $3, $2, $4, $5, $6 }' |
	awk -v re="$CLIENTS" '{ h = $2; sub(/:[0-9]+$/, "", h); if (h ~ re) print }' >"$MH_TMP/client.verdicts"
total=$(grep -c '"event":"datagram"' "$AUDIT")
n=$(wc -l <"$MH_TMP/client.verdicts")
mh_log "$total slow-path datagrams logged, $n of them from or to the client:"
awk '{ print $1, $5, $6 }' "$MH_TMP/client.verdicts" | sort | uniq -c | sed 's/^/   | /'
mh_assert "the client's datagrams took the slow path at each new source" test "$n" -ge 4
# replay drops: old unless their seq is above every seq accepted before
awk '$1 == "in" && $5 == "accept" { p = $3; sub(/.*:/, "", p); if ($4 + 0 > max[p] + 0) max[p] = $4 }
     $1 == "in" && $6 == "replay" { p = $3; sub(/.*:/, "", p); if ($4 + 0 <= max[p] + 0) old++; else newer++ }
     END { print old + 0, newer + 0 }' "$MH_TMP/client.verdicts" >"$MH_TMP/replays"
read -r old newer <"$MH_TMP/replays"
mh_log "replay drops of the client's datagrams: $old old (a newer one already delivered), $newer newer"
mh_check_eq "client datagrams dropped as replay although newer than all delivered" 0 "$newer"
for r in forged not_candidate; do
	mh_check_eq "client datagrams dropped as $r" 0 "$(awk -v r=$r '$6 == r' "$MH_TMP/client.verdicts" | wc -l)"
done
mh_check_eq "client datagrams dropped for any other reason than replay" 0 \
	"$(awk '$5 == "drop" && $6 != "replay"' "$MH_TMP/client.verdicts" | wc -l)"

mh_step "mosh-helper-review gives the daemon's verdicts"
from_audit() {
	sed -n 's/.*"path":"\([a-z]*\)","src":"\([^"]*\)","dst":"\([^"]*\)".*"verdict":"\([a-z]*\)","reason":"\([a-z_]*\)".*/\1 \2 \3 \4 \5/p' "$AUDIT" |
		awk '$1 == "in" { print $2, $3, "to_server", $4, $5 } $1 == "out" { print $3, $2, "to_client", $4, $5 }' | sort
}
from_review() {
	"$MH_BUILD/mosh-helper-review" --slow-path --json --keys "$MH_TMP/keys.log" \
		--config "$MH_CONF" "$MH_TMP/slow.pcap" |
		grep '"event":"datagram"' |
		sed -n 's/.*"server":"\([^"]*\)","client":"\([^"]*\)","direction":"\([a-z_]*\)".*"verdict":"\([a-z]*\)","reason":"\([a-z_]*\)".*/\2 \1 \3 \4 \5/p' | sort
}
sleep 1
from_audit >"$MH_TMP/v.audit"
from_review >"$MH_TMP/v.review"
mh_log "$(wc -l <"$MH_TMP/v.audit") verdicts in the audit log, $(wc -l <"$MH_TMP/v.review") from the review"
if diff -u "$MH_TMP/v.audit" "$MH_TMP/v.review" >"$MH_TMP/v.diff"; then
	mh_ok "the review agrees with the daemon on every slow-path datagram"
else
	head -n 20 "$MH_TMP/v.diff" | sed 's/^/   | /'
	mh_check_eq "verdicts that differ between the daemon and the review" 0 \
		"$(grep -c '^[-+][0-9]' "$MH_TMP/v.diff")"
fi

mh_pass "faults on the client path"
