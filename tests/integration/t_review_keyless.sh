#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# mosh-helper-review's keyless verdict simulation (issue 16) against the
# keyless daemon (host role, keyless = true, audit_log and slowpath_pcap
# on), real mosh: a session that roams (address, then port), then from
# the attacker short bursts of forged headers and of garbage, a replay of
# the session's own datagrams and a spoofed victim with plausible headers
# (each burst faster than the budget refills one datagram, so which ones
# the budget takes does not depend on the clock the daemon and the capture
# each read). The review of the daemon's slow-path capture must give the
# daemon's verdict for every record:
#   1. key file "PORT keyless" (the keyless daemon's own view: no key);
#   2. the session's key (from MOSH CONNECT) with --keyless: the same
#      verdicts, the datagrams still decoded (authentic or not);
#   3. control: the same key judged by the keyed rule disagrees (so the
#      comparison fails when the simulation diverges).
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook mosh-helper-review tests/udptool tests/spoofsend
mh_require_tools mosh-server mosh-client tmux
mh_setup
MH_IDLE=8
VICTIM=198.18.1.3
REVIEW=$MH_BUILD/mosh-helper-review
AUDIT=$MH_TMP/audit.log
ip -n "$NS_C" addr add "$VICTIM/24" dev eth0

mh_step "a keyless daemon with its slow-path capture; a session"
mh_start_daemon 'keyless = true;' "slowpath_pcap = \"$MH_TMP/slow.pcap\";"
mh_tcpdump "$NS_S" "$MH_TMP/session.pcap" udp
cap=$MH_TCPDUMP_PID
mh_session mhtest1
port=$MH_PORT key=$MH_KEY
mh_client_start c1 "$port" "$key"
mh_assert "typed text comes back" mh_roundtrip c1 20
mh_assert "a pinhole opens" mh_wait 5 mh_any_pinhole "$(mh_snat_addr)" "$(mh_snat_ports)" "$port"

mh_step "roams: the address, then the port"
mh_roam_addr 198.18.3.11
mh_assert "typed text comes back after the address change" mh_roundtrip c1 20
mh_assert "its pinhole opens" mh_wait 5 mh_any_pinhole "$(mh_snat_addr)" "$(mh_snat_ports)" "$port"
mh_roam_port 42000-42099
mh_assert "typed text comes back after the port change" mh_roundtrip c1 20
mh_assert "its pinhole opens" mh_wait 5 mh_any_pinhole "$(mh_snat_addr)" "$(mh_snat_ports)" "$port"
mh_tcpdump_stop "$cap"

mh_step "the attacker: bursts of forged headers, garbage, replays, a spoofed victim"
burst() { sleep 1.5; "$@" >/dev/null || mh_fail "attack tool: $*"; }
burst mh_udptool "$NS_A" send "$SRV4" "$port" --forged 30 --interval-us 0
burst mh_udptool "$NS_A" send "$SRV4" "$port" --garbage 30 --interval-us 0
burst mh_udptool "$NS_A" replay "$SRV4" "$port" "$MH_TMP/session.pcap" --interval-us 0
burst ip netns exec "$NS_A" "$MH_BUILD/tests/spoofsend" "$SRV4" "$port" --src "$VICTIM" \
	--ssp-seq 100000 --count 25 --pps 2000 --len 80
sleep 1
mh_assert "the legit session keeps working" mh_roundtrip c1 20
mh_stop_daemon
mh_assert_no_sanitizer "$MH_DAEMON_LOG"

# (client, server, direction, verdict, reason) of each slow-path datagram
from_audit() {
	sed -n 's/.*"path":"\([a-z]*\)","src":"\([^"]*\)","dst":"\([^"]*\)".*"verdict":"\([a-z]*\)","reason":"\([a-z_]*\)".*/\1 \2 \3 \4 \5/p' "$AUDIT" |
		awk '$1 == "in" { print $2, $3, "to_server", $4, $5 } $1 == "out" { print $3, $2, "to_client", $4, $5 }' | sort
}
from_review() { # json
	grep '"event":"datagram"' "$1" |
		sed -n 's/.*"server":"\([^"]*\)","client":"\([^"]*\)","direction":"\([a-z_]*\)".*"verdict":"\([a-z]*\)","reason":"\([a-z_]*\)".*/\2 \1 \3 \4 \5/p' | sort
}
review() { # out-json args...
	local out=$1; shift
	"$REVIEW" --slow-path --json "$@" "$MH_TMP/slow.pcap" >"$out" 2>"$MH_TMP/review.err" ||
		mh_fail "review $*: $(cat "$MH_TMP/review.err")"
	from_review "$out" >"$out.v"
}
from_audit >"$MH_TMP/v.audit"
n=$(wc -l <"$MH_TMP/v.audit")
mh_log "daemon's verdicts: $(awk '{print $4 "/" $5}' "$MH_TMP/v.audit" | sort | uniq -c | tr -s ' \n' ' ')"
mh_assert_eq "one verdict per slow-path record" "$(tcpdump -r "$MH_TMP/slow.pcap" 2>/dev/null | wc -l)" "$n"
for r in unverified confirmed over_budget replay wrong_direction implausible_seq; do
	mh_assert "the daemon gave $r" grep -q " $r\$" "$MH_TMP/v.audit"
done
mh_assert "three confirmations at least (the first contact, two roams)" \
	test "$(grep -c ' confirmed$' "$MH_TMP/v.audit")" -ge 3

agree() { # what file
	if ! diff -u "$MH_TMP/v.audit" "$2" >"$MH_TMP/v.diff"; then
		cat "$MH_TMP/v.diff"
		mh_fail "$1: the review's verdicts differ from the keyless daemon's"
	fi
	mh_ok "$1: the review gives the daemon's verdict for all $n datagrams"
}

mh_step "1: key file \"$port keyless\""
printf '%s keyless\n' "$port" >"$MH_TMP/keyless.key"
review "$MH_TMP/r1.json" --keys "$MH_TMP/keyless.key" --config "$MH_CONF"
agree "keyless line" "$MH_TMP/r1.json.v"
mh_assert "the session is marked keyless" grep -q '"event":"session".*"keyless":true' "$MH_TMP/r1.json"

mh_step "2: the session's key, with --keyless"
printf '%s %s\n' "$port" "$key" >"$MH_TMP/key.key"
review "$MH_TMP/r2.json" --keyless --keys "$MH_TMP/key.key"
agree "--keyless with the key" "$MH_TMP/r2.json.v"
a=$(grep '"event":"datagram"' "$MH_TMP/r2.json" | grep -c '"authentic":true')
f=$(grep '"event":"datagram"' "$MH_TMP/r2.json" | grep -c '"authentic":false')
mh_log "decoded: $a authentic, $f not"
mh_assert "the key still decodes: the client's datagrams authentic, the attacker's not" \
	test "$a" -gt 0 -a "$f" -gt 0
mh_assert "garbage the budget let through shows as unverified and not authentic" \
	test "$(grep '"event":"datagram"' "$MH_TMP/r2.json" | grep '"authentic":false' | grep -c '"reason":"unverified"')" -gt 0

mh_step "3: control: the keyed rule on the same capture disagrees"
review "$MH_TMP/r3.json" --keys "$MH_TMP/key.key"
mh_assert_not "keyed verdicts differ from the keyless daemon's" cmp -s "$MH_TMP/v.audit" "$MH_TMP/r3.json.v"

mh_pass "the review's keyless simulation agrees with the keyless daemon"
