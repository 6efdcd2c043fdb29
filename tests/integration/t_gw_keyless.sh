#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Keyless mode, relay and gateway roles (issue 16), real parts only: the
# gateway daemon (role = gateway, keyless = true, its TLS relay listener),
# a keyless relay daemon on login server 1 with the real hook and
# mosh-server, real mosh-client behind the NAT router. Checked:
#   1. a session: the gateway opens it keyless (the relay's OPEN had no key
#      field), typed text comes back, the gateway's pinhole opens; neither
#      the gateway daemon, its relay listener nor the relay daemon holds
#      the key's 16 bytes or its text in memory (/proc/PID/mem); memgrep
#      finds the key in mosh-server's memory (so the search can fail);
#   2. a keyed relay (keyless = false) on server 2: the keyless gateway
#      refuses its OPEN and the hook's user reads why;
#   3. roam of the address, then of the port; idle expiry and return;
#   4. attacks from outside, the client stopped: forged headers and
#      garbage (at most the gateway's per-session budget a second reaches
#      server 1's interface), replays of datagrams from before the last
#      confirmation (none reaches it), a spoofed victim (mosh-server's
#      reply never goes to it); no pinhole for the attacker or the victim,
#      no datagram from the server to either; the session keeps working;
#   5. inside spoofing: server 2 forges mosh-server's reply from server 1's
#      address and session port to a live candidate of the attacker's: the
#      gateway's reverse-path rule drops it (its counter moves), no
#      pinhole opens and nothing reaches the attacker;
#   6. exit: END from the relay, the session and its pinholes go.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gwlib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/udptool tests/spoofsend tests/memgrep
mh_require_tools mosh-server mosh-client tmux openssl strace
gw_setup
chmod 755 "$MH_TMP"
mh_users
MH_TMUX=$MH_TMP/tmux.sock
SNAT4_ADDR=$NAT_4   # the SSH client hint the hook passes (lib.sh's mh_snat_addr)
BUDGET=10             # the gateway's slow_path_rate_per_session
VICTIM=198.18.2.3     # an address of the attacker's leg nobody uses
ip -n "$NS_A" addr add "$VICTIM/24" dev eth0
ip -n "$NS_R" addr add 198.18.3.12/24 dev rg   # the client's address after a roam
# The kernel's own rp_filter is off in the gateway namespace (it is by
# default): the reverse-path check tested here is the gateway table's.
mh_nsx "$NS_G" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
for i in go ga s1 s2; do mh_nsx "$NS_G" sysctl -qw "net.ipv4.conf.$i.rp_filter=0"; done
gw_certs

# ---------------------------------------------------------------- helpers

hexkey() { printf '%s==' "$1" | base64 -d | od -An -tx1 | tr -d ' \n'; }
key_hits() { # pid: the key's bytes and its text in that process's memory
	"$MH_BUILD/tests/memgrep" "$1" "$(hexkey "$K1")" "=$K1" >"$MH_TMP/memgrep" ||
		mh_fail "memgrep $1 failed"
	mh_log "memgrep $1 ($(cat "/proc/$1/comm")): $(tr '\n' ' ' <"$MH_TMP/memgrep")" >&2
	awk 'NR <= 2 { n += $2 } END { print n + 0 }' "$MH_TMP/memgrep"
}
children() { cat /proc/"$1"/task/*/children 2>/dev/null; }

# UDP datagrams from the outside that reached server 1's interface (what
# the gateway let through), counted by a capture around CMD...
arrived() { # cmd...: datagrams to server 1's session port from the attacker's leg
	local c
	mh_tcpdump "$NS_S" "$MH_TMP/arr.pcap" udp and dst port "$P1" and src net 198.18.2.0/24 >/dev/null
	c=$MH_TCPDUMP_PID
	"$@" >/dev/null || mh_fail "attack tool: $*"
	sleep 1
	mh_tcpdump_stop "$c"
	mh_pcap_count "$MH_TMP/arr.pcap"
}
within() { [ "$1" -le "$2" ] && echo yes || echo "no ($1 > $2)"; }
atk_pinholes() { # pinholes of the attacker's leg in the watch file
	grep -c -E "(198\.18\.2\.[0-9]+) \. " "$MH_TMP/pinholes.watch"
}

# ---------------------------------------------------------------- set-up

mh_step "the gateway (keyless) and a keyless relay on server 1"
gw_conf "$MH_TMP/gw.conf" "$CERTS" "[::]:7710" 6 3 "$MH_TMP/gw-audit.log"
printf 'keyless = true;\nslow_path_rate_per_session = %s;\n' "$BUDGET" >>"$MH_TMP/gw.conf"
gw_daemon_start
mh_assert "the gateway says it is keyless" grep -q 'keyless mode' "$GW_LOG"
mh_check_eq "its table has the reverse-path rule" 1 \
	"$(mh_nsx "$NS_G" nft list chain inet "$GW_TABLE" gw_slow_out 2>/dev/null | grep -c 'fib saddr . iif oif')"
gw_relay_conf r1 relay-lab 198.18.0.1 'keyless = true;'
gw_relay_start "$NS_S" r1

# ---------------------------------------------------------------- 1

mh_step "1: a keyless session through relay -> gateway; no key in either daemon"
mh_tcpdump "$NS_S" "$MH_TMP/session.pcap" udp and dst portrange 60000-61000
cap=$MH_TCPDUMP_PID
# the frames the listener passes the gateway daemon (its recv calls)
strace -p "$GW_PID" -e trace=recvfrom -xx -s 1024 -o "$MH_TMP/gw.strace" 2>"$MH_TMP/strace.err" &
STRACE_PID=$!
MH_PIDS+=("$STRACE_PID")
mh_wait 5 grep -q attached "$MH_TMP/strace.err" || mh_fail "strace: $(cat "$MH_TMP/strace.err")"
gw_session "$NS_S" r1 "$SRV1_4" mhtest1 || mh_fail "refused: $(cat "$MH_HOOK_ERR")"
P1=$MH_PORT K1=$MH_KEY S1=$MH_SPID
kill -INT "$STRACE_PID"
mh_wait 5 mh_pid_gone "$STRACE_PID" || mh_fail "strace did not detach"
# OPEN, version 1, body 21 bytes (0x15): sid, flags, uid, v4 server and
# port, v4 hint, and no key (a keyed one is 37, 0x25); flags 0x02: keyless
mh_assert "the gateway daemon got a keyless OPEN (body 21 bytes, flag 0x02)" grep -q -E \
	'\\x01\\x02\\x00\\x15(\\x[0-9a-f]{2}){8}\\x02' "$MH_TMP/gw.strace"
sx() { printf '%s' "$1" | sed 's/../\\\\x&/g'; }
mh_assert_not "the key's 16 bytes are in nothing it received" \
	grep -q -i "$(sx "$(hexkey "$K1")")" "$MH_TMP/gw.strace"
mh_assert "the gateway opened $SRV1_4 . $P1 keyless" \
	grep -q -E "server $SRV1_4:$P1 opened by relay .*keyless" "$GW_LOG"
mh_assert "its sessions4 holds it" gw_has_session 4 "$SRV1_4" "$P1"
SRV=$SRV1_4 mh_client_start c1 "$P1" "$K1"
mh_assert "typed text comes back" mh_roundtrip c1 20
mh_assert "the gateway's pinhole opens" mh_wait 5 gw_has_pinhole 4 "$NAT_4" "$SRV1_4" "$P1"
LISTENER=$(children "$GW_PID" | tr ' ' '\n' | grep -m1 .)
mh_assert "the gateway's relay listener runs (pid $LISTENER)" test -n "$LISTENER"
mh_check_eq "the key in the gateway daemon's memory" 0 "$(key_hits "$GW_PID")"
mh_check_eq "the key in the relay listener's memory" 0 "$(key_hits "$LISTENER")"
mh_check_eq "the key in the relay daemon's memory" 0 "$(key_hits "$PID_r1")"
mh_assert "(memgrep reads the gateway's heap: the relay's subject is there)" test \
	"$("$MH_BUILD/tests/memgrep" "$GW_PID" "=CN=relay-lab" | awk 'NR == 1 { print $2 }')" -gt 0
mh_check_eq "(control: memgrep finds the key in mosh-server's memory)" yes \
	"$([ "$(key_hits "$S1")" -gt 0 ] && echo yes)"

# ---------------------------------------------------------------- 2

mh_step "2: a keyed relay's OPEN is refused by the keyless gateway, with the reason"
gw_relay_conf r2 relay-lab2 198.18.4.1
gw_relay_start "$NS_S2" r2
if gw_session "$NS_S2" r2 "$SRV2_4" mhtest2; then mh_fail "the keyed session was accepted"; fi
mh_log "the user sees: $(tail -n1 "$MH_HOOK_ERR")"
mh_assert "the hook's user reads why" grep -q "this gateway is keyless and takes no session key" "$MH_HOOK_ERR"
mh_assert_not "nothing for server 2 in the gateway's sessions" eval "gw_set sessions4 | grep -q -F '$SRV2_4 .'"
kill -TERM "$PID_r2"
mh_wait 10 mh_pid_gone "$PID_r2" || mh_fail "relay r2 did not stop"
# server 2 plays a hostile inside host below: without r2's table
mh_nsx "$NS_S2" "$MH_BUILD/mosh-helperd" -c "$MH_TMP/r2.conf" --uninstall >>"$MH_TMP/r2.log" 2>&1 ||
	mh_fail "uninstalling r2's table: $(tail -n 2 "$MH_TMP/r2.log")"

# ---------------------------------------------------------------- 3

mh_step "3: roams (address, then port), idle expiry and return"
roam_to() { # address ports
	gw_snat_set rg "meta l4proto udp snat ip to $1:$2" || mh_fail "router SNAT update"
	mh_nat_flush
	mh_log "router now maps the client to $1 ports $2"
	mh_assert "typed text comes back from $1" mh_roundtrip c1 25
	mh_assert "a pinhole from $1 opens" mh_wait 5 gw_has_pinhole 4 "$1" "$SRV1_4" "$P1"
}
roam_to 198.18.3.12 41000-41099
mh_tcpdump_stop "$cap"   # the replays below: all from before the next confirmation
roam_to 198.18.3.12 42000-42099
mh_signal_client STOP c1
mh_assert "idle: the pinhole expires (idle_timeout 8 s)" mh_wait 16 gw_no_pinhole 4 198.18.3.12 "$SRV1_4" "$P1"
mh_signal_client CONT c1
mh_assert "the client returns: typed text comes back" mh_roundtrip c1 25
mh_assert "and a pinhole opens again" mh_wait 5 gw_has_pinhole 4 198.18.3.12 "$SRV1_4" "$P1"

# ---------------------------------------------------------------- 4

mh_step "4: attacks from outside (the client stopped)"
mh_tcpdump "$NS_A" "$MH_TMP/attacker.pcap" "src host $SRV1_4"
cap_a=$MH_TCPDUMP_PID
(   # the gateway's pinholes4, every 0.2 s, for 40 s at most
	end=$((SECONDS + 40))
	while [ $SECONDS -lt $end ]; do gw_set pinholes4; sleep 0.2; done
) >"$MH_TMP/pinholes.watch" 2>/dev/null &
WATCH=$!
MH_PIDS+=("$WATCH")
mh_signal_client STOP c1
t0=$SECONDS
n=$(arrived mh_udptool "$NS_A" send "$SRV1_4" "$P1" --forged 3000)
dt=$((SECONDS - t0))
mh_log "forged headers: $n reached server 1 in about $dt s"
mh_check_eq "forged headers within the budget ($BUDGET/s x ${dt}s + burst)" yes \
	"$(within "$n" $((BUDGET * dt + BUDGET)))"
t0=$SECONDS
n=$(arrived mh_udptool "$NS_A" send "$SRV1_4" "$P1" --garbage 2000)
dt=$((SECONDS - t0))
mh_check_eq "garbage within the budget ($n in ${dt}s)" yes "$(within "$n" $((BUDGET * dt + BUDGET)))"
n=$(arrived mh_udptool "$NS_A" replay "$SRV1_4" "$P1" "$MH_TMP/session.pcap")
mh_check_eq "replays from before the last confirmation that reached server 1" 0 "$n"
t0=$SECONDS
n=$(arrived mh_nsx "$NS_A" "$MH_BUILD/tests/spoofsend" "$SRV1_4" "$P1" \
	--src "$VICTIM" --ssp-seq 100000000 --count 3000 --pps 1000 --seconds 3 --len 80)
dt=$((SECONDS - t0))
mh_log "spoofed victim $VICTIM: $n reached server 1 in ${dt}s"
mh_check_eq "spoofed victim: within the budget" yes "$(within "$n" $((BUDGET * dt + BUDGET)))"
sleep 4   # mosh-server heartbeats every 3 s: every chance for a wrong pinhole
kill "$WATCH" 2>/dev/null
mh_tcpdump_stop "$cap_a"
mh_check_eq "gateway pinholes for the attacker or the victim" 0 "$(atk_pinholes)"
mh_check_eq "datagrams from server 1 to the attacker or the victim" 0 \
	"$(mh_pcap_count "$MH_TMP/attacker.pcap")"
mh_signal_client CONT c1
mh_assert "the legit session keeps working" mh_roundtrip c1 25
mh_assert "with its pinhole" mh_wait 5 gw_has_pinhole 4 198.18.3.12 "$SRV1_4" "$P1"

# ---------------------------------------------------------------- 5

mh_step "5: inside spoofing: server 2 forges server 1's reply to the attacker's candidate"
rpf_drops() { gw_rule_count gw_slow_out "reverse path"; }
r0=$(rpf_drops)
mh_tcpdump "$NS_A" "$MH_TMP/spoof.pcap" "udp and dst port 45000"
cap_s=$MH_TCPDUMP_PID
sleep 1.2   # a full budget again
# the attacker's plausible datagram makes (198.18.2.2, 45000) a candidate
mh_nsx "$NS_A" "$MH_BUILD/tests/spoofsend" "$SRV1_4" "$P1" --src "$ATK4" \
	--src-port 45000 --ssp-seq 200000000 --count 2 --pps 10 --seconds 2 --len 80
# server 2 sends "mosh-server's reply" from server 1's address and port
mh_nsx "$NS_S2" "$MH_BUILD/tests/spoofsend" "$ATK4" 45000 --src "$SRV1_4" \
	--src-port "$P1" --ssp-seq 5 --ssp-dir client --count 5 --pps 10 --seconds 2 --len 80
sleep 1
mh_tcpdump_stop "$cap_s"
mh_log "reverse-path drops: $r0 -> $(rpf_drops)"
mh_check_eq "the gateway's reverse-path rule dropped them" yes \
	"$([ "$(rpf_drops)" -ge $((r0 + 5)) ] 2>/dev/null && echo yes)"
mh_check_eq "pinholes for the attacker" 0 "$(gw_set pinholes4 | grep -c -F "$ATK4 . 45000 . $SRV1_4 . $P1")"
mh_check_eq "forged replies that reached the attacker" 0 "$(mh_pcap_count "$MH_TMP/spoof.pcap")"
mh_assert "the legit session keeps working" mh_roundtrip c1 20

# ---------------------------------------------------------------- 6

mh_step "6: exit: END from the relay, the session and its pinholes go"
mh_type c1 exit
mh_assert "mosh-server exits" mh_wait 15 mh_server_gone "$S1"
mh_assert "the gateway drops the session" mh_wait 5 gw_no_session 4 "$SRV1_4" "$P1"
mh_assert "and its pinholes" mh_wait 5 eval "! gw_set pinholes4 | grep -q -F '$SRV1_4 . $P1'"

gw_stop_checked "$MH_TMP"/r[12].log
mh_pass "keyless relay and gateway: no key on the relay wire, budgets, replays, victim, inside spoofing"
