#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The daemon's audit trail (issue 3, item 3) with the real mosh: every
# decision is in the JSON-lines audit log without key material; the key log
# is 0600 and opt-in; and mosh-helper-review, given the daemon's slow-path
# capture and key log, reproduces exactly the verdicts the daemon logged.
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook mosh-helper-review tests/udptool tests/mhannounce
mh_setup
MH_IDLE=8
mh_start_daemon "key_log = \"$MH_TMP/keys.log\";" "slowpath_pcap = \"$MH_TMP/slow.pcap\";"
AUDIT=$MH_TMP/audit.log

mh_step "audit: a session, an attack, a roam, a refusal and the end"
mh_live_session mhtest1 c1
port=$MH_PORT key=$MH_KEY
for dst in "$SRV4" "$SRV6"; do
	mh_udptool "$NS_A" send "$dst" "$port" --garbage 20 || mh_fail "udptool"
	mh_udptool "$NS_A" send "$dst" "$port" --forged 20 || mh_fail "udptool"
done
mh_udptool "$NS_A" send "$SRV4" "$port" --sealed "$key" 1 5 || mh_fail "udptool"
mh_udptool "$NS_A" send "$SRV4" "$port" --sealed "$key" 1 5 --to-client || mh_fail "udptool"
mh_roam_addr 198.18.3.11
mh_assert "the session works after the roam" mh_roundtrip c1 20
mh_assert "a pinhole from the new address" \
	mh_wait 5 mh_any_pinhole 198.18.3.11 "$(mh_snat_ports)" "$port"
mh_nsx "$NS_S" "$MH_BUILD/tests/mhannounce" "$MH_TMP/control.sock" 59000 1 \
	AAAAAAAAAAAAAAAAAAAAAA >/dev/null 2>&1
mh_type c1 "exit"
gone() { ! mh_has_session "$port"; }
mh_assert "the session ends" mh_wait 10 gone
kill -USR1 "$MH_DAEMON_PID"
stats_written() { grep -q '"event":"stats"' "$MH_TMP/audit.log"; }
mh_assert "SIGUSR1 writes the counters" mh_wait 5 stats_written
kill -TERM "$MH_DAEMON_PID"
mh_assert "the daemon stops cleanly" mh_wait 10 mh_pid_gone "$MH_DAEMON_PID"
MH_DAEMON_PID=

mh_step "audit: the log"
ev() { grep -c "\"event\":\"$1\"" "$AUDIT"; }
mh_log "events: $(grep -o '"event":"[a-z_]*"' "$AUDIT" | sort | uniq -c | tr -s ' \n' ' ')"
mh_assert "every line is one JSON object" \
	test "$(grep -cv '^{"time":[0-9.]*,"event":"[a-z_]*".*}$' "$AUDIT")" = 0
mh_assert "start and stop" test "$(ev start)" = 1 -a "$(ev stop)" = 1
mh_assert "the session accepted, with its port and uid" \
	grep -q "\"event\":\"session_accepted\",\"session\":1,\"port\":$port,\"uid\":$(id -u mhtest1)" "$AUDIT"
mh_assert "the refusal with its reason" \
	grep -q '"event":"session_refused".*"status":"MHC_ERR_RANGE","reason":"port 59000 is not in the managed range' "$AUDIT"
mh_assert "two pinholes opened (before and after the roam)" test "$(ev pinhole_open)" -ge 2
mh_assert "the roam, old -> new address" \
	grep -q "\"event\":\"roam\",\"session\":1,\"port\":$port,\"from\":\"198.18.3.10:[0-9]*\",\"to\":\"198.18.3.11:" "$AUDIT"
mh_assert "the session's end and why" \
	grep -q "\"event\":\"session_end\",\"session\":1,\"port\":$port,\"why\":\"mosh-server exited\"" "$AUDIT"
mh_assert "its remaining pinholes removed with it" \
	grep -q '"event":"pinhole_removed".*"why":"session_end"' "$AUDIT"
mh_assert "drop counts by reason" grep -q '"event":"drops","counts":{.*"forged":' "$AUDIT"
mh_assert_not "the key is not in the audit log" grep -qF "$key" "$AUDIT"
mh_assert_not "the key is not in the daemon's log" grep -qF "$key" "$MH_DAEMON_LOG"

stat_of() { grep '"event":"stats"' "$AUDIT" | sed -n "s/.*\"verdicts\":{.*\"$1\":\([0-9]*\).*/\1/p"; }
logged() { grep '"event":"datagram"' "$AUDIT" | grep -c "\"reason\":\"$1\""; }
for r in new_source confirmed forged wrong_direction not_bound; do
	mh_assert_eq "the $r counter agrees with the datagrams logged" "$(logged $r)" "$(stat_of $r)"
done

mh_step "audit: the key log"
mh_assert_eq "key log mode" 600 "$(stat -c %a "$MH_TMP/keys.log")"
mh_assert "it holds the session's port, key and bound address" \
	grep -qx "$port $key bound=$SRV4" "$MH_TMP/keys.log"

mh_step "audit: mosh-helper-review reproduces the daemon's verdicts"
# (client, server, direction, verdict, reason) for each slow-path datagram
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
from_audit >"$MH_TMP/v.audit"
from_review >"$MH_TMP/v.review"
n=$(wc -l <"$MH_TMP/v.audit")
records=$(tcpdump -r "$MH_TMP/slow.pcap" 2>/dev/null | wc -l)
mh_log "$n verdicts in the audit log, $records datagrams in the slow-path capture"
mh_log "verdicts: $(awk '{print $4 "/" $5}' "$MH_TMP/v.audit" | sort | uniq -c | tr -s ' \n' ' ')"
mh_assert_eq "one verdict per captured datagram" "$records" "$n"
mh_assert "accepts, confirmations and several kinds of drop among them" \
	test "$(awk '{print $5}' "$MH_TMP/v.audit" | sort -u | wc -l)" -ge 5
if ! diff -u "$MH_TMP/v.audit" "$MH_TMP/v.review" >"$MH_TMP/v.diff"; then
	cat "$MH_TMP/v.diff"
	mh_fail "the review's verdicts differ from the daemon's"
fi
mh_ok "the review gives the same verdict as the daemon for all $n datagrams"

mh_pass "audit trail"
