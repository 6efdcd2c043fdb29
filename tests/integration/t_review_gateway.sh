#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# mosh-helper-review on a capture taken on the perimeter gateway (issue 13
# item 4), real parts only: the gateway daemon (role = gateway, its TLS
# relay listener, audit_log and slowpath_pcap on), a relay on each of the
# two login servers with the real hook and mosh-server, both sessions on
# the SAME port number, real mosh-client behind the NAT router; tcpdump in
# the gateway's namespace takes every datagram once, where it enters the
# gateway (-i any -Q in: before the forward hook judged it). The attacker
# replays a session's datagrams at server1 and sends forged headers at
# server2; c2 falls silent past idle_timeout, so that the gateway's
# pinhole expires and server2's heartbeats to it meet the anti-reflection
# rule (judged by the daemon, dropped), then c2 returns. The key file names each server ("[ADDR]:PORT KEY"). Checked:
#   1. the review of the daemon's slow-path capture (--slow-path) gives
#      exactly the verdicts of the gateway's audit log (client, server,
#      direction, verdict, reason; every record);
#   2. the review of tcpdump's capture: two sessions, one per server
#      address on the one port; every datagram its simulated forward set
#      does not pass is one the daemon judged, with the daemon's verdict,
#      and every verdict of the daemon's is the review's but for a client's
#      datagram that raced its new pinhole into the kernel (tcpdump stamps
#      it before the queue's latency), or one the review passed on a
#      pinhole in its idle window (a pinhole closes at most idle_timeout
#      after its last inbound datagram, a few ms more at most, and may
#      close earlier, from when the daemon's sync, every 2 s here, could
#      miss it: the review cannot tell when; after the window it judges as
#      the daemon does); the pinholes it opens are the daemon's (server,
#      client);
#      c1's own address and port spoofed towards server2 are judged by the
#      daemon (forged), not passed on c1's pinhole to server1;
#   3. the old port-only form still reads the same capture, as a host's
#      review, and then disagrees with the gateway (the check can fail).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gwlib.sh"

mh_require_build mosh-helperd mosh-helper-hook mosh-helper-review tests/udptool tests/spoofsend
mh_require_tools mosh-server mosh-client tmux openssl
gw_setup
chmod 755 "$MH_TMP"
mh_users
MH_TMUX=$MH_TMP/tmux.sock
SNAT4_ADDR=$NAT_4
AUDIT=$MH_TMP/gw-audit.log
PORT=60100
REVIEW=$MH_BUILD/mosh-helper-review
gw_certs

session() { # ns relay-name server-address user
	NS_S=$1 MH_CONF=$MH_TMP/$2.conf SRV=$3 mh_session_try "$4" -p "$PORT"
}

mh_step "the gateway with its audit log and slow-path capture, a relay on each server"
gw_conf "$MH_TMP/gw.conf" "$CERTS" "[::]:7710" 6 3 "$AUDIT"
echo "slowpath_pcap = \"$MH_TMP/slow.pcap\";" >>"$MH_TMP/gw.conf"
ip netns exec "$NS_G" tcpdump -i any -Q in -n -U --immediate-mode -w "$MH_TMP/gw.pcap" udp 2>"$MH_TMP/gw.pcap.err" &
CAP=$!
MH_PIDS+=("$CAP")
mh_wait 5 grep -q listening "$MH_TMP/gw.pcap.err" || mh_skip "tcpdump -i any -Q in: $(cat "$MH_TMP/gw.pcap.err")"
gw_daemon_start
gw_relay_conf r1 relay-lab 198.18.0.1
gw_relay_conf r2 relay-lab2 198.18.4.1
gw_relay_start "$NS_S" r1
gw_relay_start "$NS_S2" r2

mh_step "a session on port $PORT of each server, typed through the gateway"
session "$NS_S" r1 "$SRV1_4" mhtest1 || mh_fail "server1's session refused: $(cat "$MH_HOOK_ERR")"
P1=$MH_PORT K1=$MH_KEY
session "$NS_S2" r2 "$SRV2_4" mhtest1 || mh_fail "server2's session refused: $(cat "$MH_HOOK_ERR")"
P2=$MH_PORT K2=$MH_KEY
mh_assert_eq "both servers' sessions on one port number" "$PORT $PORT" "$P1 $P2"
mh_tcpdump "$NS_S" "$MH_TMP/s1.pcap" udp port "$PORT"
S1CAP=$MH_TCPDUMP_PID
SRV=$SRV1_4 mh_client_start c1 "$PORT" "$K1"
SRV=$SRV2_4 mh_client_start c2 "$PORT" "$K2"
mh_assert "c1 types through the gateway to server1" mh_roundtrip c1 20
mh_assert "c2 types through the gateway to server2" mh_roundtrip c2 20
mh_assert "pinhole $NAT_4 -> $SRV1_4 . $PORT" mh_wait 5 gw_has_pinhole 4 "$NAT_4" "$SRV1_4" "$PORT"
mh_assert "pinhole $NAT_4 -> $SRV2_4 . $PORT" mh_wait 5 gw_has_pinhole 4 "$NAT_4" "$SRV2_4" "$PORT"
mh_tcpdump_stop "$S1CAP"

mh_step "the attacker: server1's datagrams replayed at it, forged headers at server2"
mh_udptool "$NS_A" replay "$SRV1_4" "$PORT" "$MH_TMP/s1.pcap" --interval-us 20000 >/dev/null
mh_udptool "$NS_A" send "$SRV2_4" "$PORT" --forged 10 --interval-us 20000 >/dev/null
mh_udptool "$NS_A" send "$SRV2_4" 60999 --garbage 3 >/dev/null
# c1's own address and port (its pinhole is to server1 only) towards
# server2's session: the gateway's pinholes are per server address
CP1=$(gw_set pinholes4 | grep -o -E "$NAT_4 \. [0-9]+ \. $SRV1_4 \. $PORT" | awk '{print $3}' | head -n1)
[ -n "$CP1" ] || mh_fail "c1's client port not found in the gateway's pinholes"
ip netns exec "$NS_A" "$MH_BUILD/tests/spoofsend" "$SRV2_4" "$PORT" --src "$NAT_4" --src-port "$CP1" \
	--ssp-seq 100000 --count 5 --pps 50 --len 80 >/dev/null || mh_fail "spoofsend"
mh_step "c2 silent past idle_timeout: its pinhole expires, server2's heartbeats to it stay in"
# its last datagram 3 s after its pinhole opened: mosh-server's first
# datagram after the expiry comes beyond candidate_lifetime (10 s) of the
# opening, so the daemon's verdict does not hang on when it reads back the
# kernel's set (until then a reply within 10 s is still "pinholed")
sleep 3
mh_assert "c2 types" mh_roundtrip c2 20
mh_signal_client STOP c2
mh_assert "the gateway's pinhole to server2 expires (idle_timeout 8 s)" \
	mh_wait 14 gw_no_pinhole 4 "$NAT_4" "$SRV2_4" "$PORT"
sleep 4   # a heartbeat of mosh-server (every 3 s) meets no pinhole
mh_signal_client CONT c2
mh_assert "c1 still types" mh_roundtrip c1 20
mh_assert "c2 still types" mh_roundtrip c2 20
mh_assert_not "no pinhole for the attacker" eval "gw_set pinholes4 | grep -q -F 198.18.2.2"

mh_step "stop the capture and the gateway (its audit log and slow-path capture complete)"
sleep 1
mh_tcpdump_stop "$CAP"
gw_stop_checked
printf '# the gateway: server address and port\n[%s]:%s %s\n%s:%s %s\n' \
	"$SRV1_4" "$PORT" "$K1" "$SRV2_4" "$PORT" "$K2" >"$MH_TMP/gw.key"

# (client, server, direction, verdict, reason) of the audit log's datagrams
from_audit() {
	sed -n 's/.*"path":"\([a-z]*\)","src":"\([^"]*\)","dst":"\([^"]*\)".*"verdict":"\([a-z]*\)","reason":"\([a-z_]*\)".*/\1 \2 \3 \4 \5/p' "$AUDIT" |
		awk '$1 == "in" { print $2, $3, "to_server", $4, $5 } $1 == "out" { print $3, $2, "to_client", $4, $5 }' | sort
}
# the same of a review's datagrams the daemon judged (not on a pinhole,
# of a session with a key)
from_review() { # json
	grep '"event":"datagram"' "$1" | grep -v -F -e '"verdict":"pinhole"' -e '"reason":"no_key"' |
		sed -n 's/.*"server":"\([^"]*\)","client":"\([^"]*\)","direction":"\([a-z_]*\)".*"verdict":"\([a-z]*\)","reason":"\([a-z_]*\)".*/\2 \1 \3 \4 \5/p' | sort
}
agree() { # what review-json
	from_review "$2" >"$MH_TMP/v.review"
	if ! diff -u "$MH_TMP/v.audit" "$MH_TMP/v.review" >"$MH_TMP/v.diff"; then
		cat "$MH_TMP/v.diff"
		mh_fail "$1: the review's verdicts differ from the gateway's audit log"
	fi
	mh_ok "$1: the review gives the gateway's verdict for all $(wc -l <"$MH_TMP/v.audit") datagrams it judged"
}
from_audit >"$MH_TMP/v.audit"
mh_log "gateway verdicts: $(awk '{print $5}' "$MH_TMP/v.audit" | sort | uniq -c | tr -s ' \n' ' ')"
for r in confirmed forged; do
	mh_assert "the audit log has $r verdicts" grep -q " $r\$" "$MH_TMP/v.audit"
done
mh_assert "server2's heartbeats to its silent client: dropped not_candidate" \
	grep -q "^$NAT_4:[0-9]* $SRV2_4:$PORT to_client drop not_candidate\$" "$MH_TMP/v.audit"
mh_assert "for both servers" test "$(grep ' confirmed$' "$MH_TMP/v.audit" | awk '{print $2}' | sort -u | wc -l)" -eq 2

mh_step "1: the daemon's slow-path capture, reviewed with --slow-path"
"$REVIEW" --slow-path --json --keys "$MH_TMP/gw.key" --config "$MH_TMP/gw.conf" \
	"$MH_TMP/slow.pcap" >"$MH_TMP/slow.json" 2>"$MH_TMP/review.err" ||
	mh_fail "review of the slow-path capture: $(cat "$MH_TMP/review.err")"
records=$(tcpdump -r "$MH_TMP/slow.pcap" 2>/dev/null | wc -l)
mh_assert_eq "one audit verdict per slow-path record" "$records" "$(wc -l <"$MH_TMP/v.audit")"
agree "slow-path capture" "$MH_TMP/slow.json"

mh_step "2: tcpdump's capture on the gateway"
"$REVIEW" --json --keys "$MH_TMP/gw.key" --config "$MH_TMP/gw.conf" \
	"$MH_TMP/gw.pcap" >"$MH_TMP/gw.json" 2>"$MH_TMP/review.err" ||
	mh_fail "review of the gateway capture: $(cat "$MH_TMP/review.err")"
sess() { grep '"event":"session"' "$MH_TMP/gw.json" | grep -F "\"server\":\"$1:$PORT\"" | grep -c '"key":true'; }
mh_assert_eq "a keyed session for $SRV1_4:$PORT" 1 "$(sess "$SRV1_4")"
mh_assert_eq "a keyed session for $SRV2_4:$PORT" 1 "$(sess "$SRV2_4")"
mh_assert "most datagrams pass the simulated forward set" \
	test "$(grep -c '"verdict":"pinhole"' "$MH_TMP/gw.json")" -gt "$(wc -l <"$MH_TMP/v.audit")"
grep '"event":"pinhole_open"' "$AUDIT" | grep -o '"server":"[^"]*","client":"[^"]*"' | sort >"$MH_TMP/p.audit"
grep '"event":"pinhole"' "$MH_TMP/gw.json" | grep -F '"action":"open"' |
	grep -o '"server":"[^"]*","client":"[^"]*"' | sort >"$MH_TMP/p.review"
# tcpdump stamps a datagram as it enters the gateway, before the queue:
# a datagram that follows the server's confirming reply by less than the
# queue's latency finds no pinhole in the kernel yet, and the daemon
# accepts it (the client's: new_source; the server's next: pinholed)
# where the review already passes it on the pinhole. Only that may be
# missing from the review; nothing else may differ.
from_review "$MH_TMP/gw.json" >"$MH_TMP/v.review"
comm -13 "$MH_TMP/v.audit" "$MH_TMP/v.review" >"$MH_TMP/v.extra"
comm -23 "$MH_TMP/v.audit" "$MH_TMP/v.review" >"$MH_TMP/v.missing"
raced() { # audit line: an accept of a client the review pinholed
	local c=$1 srv=$2 dir=$3 v=$4 why=$5
	[ "$dir $v $why" = "to_server accept new_source" ] ||
		[ "$dir $v $why" = "to_client accept pinholed" ] || return 1
	grep -q -F "\"server\":\"$srv\",\"client\":\"$c\"" "$MH_TMP/p.review"
}
# (client, server, direction) of the review's datagrams passed on a
# pinhole in its idle window
grep '"event":"datagram"' "$MH_TMP/gw.json" | grep -F '"reason":"fast_path_idle_window"' |
	sed -n 's/.*"server":"\([^"]*\)","client":"\([^"]*\)","direction":"\([a-z_]*\)".*/\2 \1 \3/p' >"$MH_TMP/v.window"
nwindow=$(grep -c . "$MH_TMP/v.window")
windowed() { # audit line: one of those (each stands for one audit line)
	local n
	n=$(grep -n -x -F "$1 $2 $3" "$MH_TMP/v.window" | head -n 1 | cut -d: -f1)
	[ -n "$n" ] && sed -i "${n}d" "$MH_TMP/v.window"
}
bad=0
while read -r line; do
	# shellcheck disable=SC2086
	raced $line || windowed $line || { mh_log "not in the review: $line"; bad=$((bad + 1)); }
done <"$MH_TMP/v.missing"
[ -s "$MH_TMP/v.extra" ] && mh_log "the review judged what the daemon did not: $(cat "$MH_TMP/v.extra")"
mh_assert_eq "gateway capture: the review's slow-path verdicts the daemon did not give" 0 "$(grep -c . "$MH_TMP/v.extra")"
mh_assert_eq "gateway capture: the daemon's verdicts the review misses (other than a client's datagram racing its new pinhole, or one in an idle window)" 0 "$bad"
mh_ok "gateway capture: $(grep -c . "$MH_TMP/v.review") of the daemon's $(grep -c . "$MH_TMP/v.audit") verdicts; $(grep -c . "$MH_TMP/v.missing") datagram(s) raced a new pinhole or came in one of the review's $nwindow idle-window datagrams ($(grep -c . "$MH_TMP/v.window") of these the daemon did not judge)"
mh_assert_eq "the pinholes opened (server, client): review = gateway" \
	"$(tr '\n' ' ' <"$MH_TMP/p.audit")" "$(tr '\n' ' ' <"$MH_TMP/p.review")"
mh_assert "text output names both sessions" \
	eval "'$REVIEW' --keys '$MH_TMP/gw.key' '$MH_TMP/gw.pcap' | grep -q 'keys: 2 server addresses with port named'"

mh_assert_eq "$NAT_4:$CP1 -> $SRV2_4 (c1's address, not its server): judged forged" 5 \
	"$(grep -c "^$NAT_4:$CP1 $SRV2_4:$PORT to_server drop forged\$" "$MH_TMP/v.review")"

mh_step "3: the port-only key form still reads it, as a host's review"
printf '%s %s\n' "$PORT" "$K1" "$PORT" "$K2" >"$MH_TMP/port.key"
"$REVIEW" --json --keys "$MH_TMP/port.key" "$MH_TMP/gw.pcap" >"$MH_TMP/port.json" ||
	mh_fail "review with the port-only key file failed"
mh_assert "keyed sessions, each its key line" \
	test "$(grep '"event":"session"' "$MH_TMP/port.json" | grep -c '"key_line":[12],"port_keys":2')" -ge 2
# a host's pinholes are client . port: c1's passes the spoofed datagrams
# to server2, which the gateway judged; the comparison sees it
from_review "$MH_TMP/port.json" >"$MH_TMP/v.port"
mh_assert_not "(so the comparison can fail: the host's rules disagree with the gateway's)" \
	cmp -s "$MH_TMP/v.audit" "$MH_TMP/v.port"

mh_pass "review of a gateway capture agrees with the gateway's audit log"
