#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The gateway's relay listener under a flood of connections that never
# start TLS, from an address its input policy lets reach TCP 7710: login
# server 2 (198.18.4.2), as any local user there could. The gateway runs
# under the README's policy; the flood (tests/relayprobe flood) opens more
# connections than relay_max_connections (64) and holds them. Checked:
# relay r1 on login server 1 still connects and its hook's session is
# announced and held by the gateway; of the flood, the listener keeps
# GWL_PRE_PER_SOURCE (4) connections and closes every other one at once;
# its log has at most GWL_NOISE_BURST (20) refusal lines and one line
# that counts the rest. relay_handshake_timeout is 30 s, longer than the
# flood lasts: it stands for an attacker that reopens each connection the
# timeout closes, so no slot comes free by itself during the test. A
# relay on login server 2 then keeps that host's other users from 7710
# (its table drops their connections; root's pass).
# Then the listener short of descriptors: the gateway restarted with a
# descriptor limit of 48 and relay_max_connections = 200, no input policy,
# and 20 addresses of login server 2 open 4 connections each (each within
# its per-source limit). accept4 fails (EMFILE) with connections still
# queued: the listener must leave the listening socket out of its wait
# until its next tick rather than spin on it (seen before: a whole core,
# the CPU time the listener used over 2 s near 2 s; now near none).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gwlib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/relayprobe
mh_require_tools mosh-server openssl
gw_setup
chmod 755 "$MH_TMP"
mh_users
gw_certs
MH_DAEMON_LOG=$GW_LOG   # mh_diag shows it on a failure
PROBE=$MH_BUILD/tests/relayprobe
FLOOD_N=80 FLOOD_S=20 PER_SRC=4 BURST=20
ATTACKER=198.18.4.2

# the flood's connections, seen from the gateway (established, the
# listener holds them) and from login server 2 (closed by the gateway)
held() { mh_nsx "$NS_G" ss -Htn state established '( sport = :7710 )' | grep -c -F "$ATTACKER"; }
closed() { mh_nsx "$NS_S2" ss -Htn state close-wait '( dport = :7710 )' | grep -c -F 198.18.4.1; }
accept_queue_empty() { mh_nsx "$NS_G" ss -Hltn '( sport = :7710 )' | awk '{ q += $2 } END { exit q != 0 }'; }

mh_step "the gateway under the README's policy (7710 from the login servers only)"
"$MH_SRC/tools/readme-block.sh" gateway-policy >"$MH_TMP/policy.nft" || mh_fail "no gateway-policy block"
mh_nsx "$NS_G" nft -f "$MH_TMP/policy.nft" || mh_fail "the README's policy does not load"
gw_conf "$MH_TMP/gw.conf" "$CERTS" "[::]:7710" 30 3 "$MH_TMP/gw-audit.log"
echo 'relay_handshake_timeout = 30;' >>"$MH_TMP/gw.conf"
gw_daemon_start

mh_step "login server 2 opens $FLOOD_N connections to 7710 and holds them, no TLS"
mh_ns_bg "$NS_S2" "$MH_TMP/flood.out" env ASAN_OPTIONS=detect_leaks=0 timeout 60 \
	"$PROBE" 198.18.4.1 7710 "$CERTS" flood "$FLOOD_N" "$FLOOD_S"
FLOOD=$MH_BG_PID
mh_assert "all connected" mh_wait 10 grep -q "^flood: $FLOOD_N connected" "$MH_TMP/flood.out"
mh_assert "the listener has taken each of them" mh_wait 5 accept_queue_empty
mh_log "flood connections the listener holds: $(held); closed: $(closed)"

mh_step "relay r1 on login server 1 connects meanwhile, and a session is announced"
gw_relay_conf r1 relay-lab 198.18.0.1
gw_relay_start "$NS_S" r1
gw_session "$NS_S" r1 "$SRV1_4" mhtest1 || mh_fail "server1's session refused: $(cat "$MH_HOOK_ERR")"
mh_log "session: server1 port $MH_PORT, mosh-server pid $MH_SPID"
mh_assert "the gateway holds $SRV1_4 . $MH_PORT" gw_has_session 4 "$SRV1_4" "$MH_PORT"
mh_assert "the flood is still on" kill -0 "$FLOOD"

mh_step "the flood's excess was closed at once"
mh_check_eq "flood connections the listener holds" "$PER_SRC" "$(held)"
mh_check_eq "flood connections the gateway closed" $((FLOOD_N - PER_SRC)) "$(closed)"
n=$(grep -c "refused: $PER_SRC connections from its address (IPv6: its /64) to this one still in their TLS handshake" "$GW_LOG")
mh_log "per-source refusal lines in the gateway's log: $n"
mh_assert "the refusals are logged ($n lines)" test "$n" -ge 1
mh_assert "at most $BURST of them" test "$n" -le "$BURST"
mh_assert "and one line counts those not logged" mh_wait 3 grep -q -E \
	"lines not logged .*: [0-9]+ about refused relay connections, .*the last about $ATTACKER:" "$GW_LOG"
grep -E 'lines not logged' "$GW_LOG" | sed 's/^/    /'

mh_step "when the flood ends"
mh_assert "relayprobe flood finishes" mh_wait $((FLOOD_S + 10)) mh_pid_gone "$FLOOD"
sed 's/^/    /' "$MH_TMP/flood.out"
mh_assert "it saw the same: $((FLOOD_N - PER_SRC)) closed, $PER_SRC held" grep -q -x \
	"flood: $FLOOD_N connections, $((FLOOD_N - PER_SRC)) closed by the gateway, $PER_SRC held" "$MH_TMP/flood.out"
mh_assert "r1 is still up to the gateway" test "$(gw_relay_ups r1)" = 1
mh_assert "and its session held" gw_has_session 4 "$SRV1_4" "$MH_PORT"

# A local user of a login server shares its address with the relay, so its
# unfinished handshakes would count against the relay's: the relay's own
# table lets only the daemon (and root) reach its gateways' listeners.
mh_step "relay r2 on login server 2: its local users cannot reach the gateway's 7710"
gw_relay_conf r2 relay-lab2 198.18.4.1
gw_relay_start "$NS_S2" r2
tcp7710() { timeout 5 bash -c 'exec 3<>/dev/tcp/198.18.4.1/7710' 2>/dev/null; }
mh_assert_not "mhtest2 on login server 2 cannot connect" \
	mh_nsx "$NS_S2" setpriv --reuid=mhtest2 --regid=mhtest2 --init-groups \
	bash -c "$(declare -f tcp7710); tcp7710"
mh_assert "root there still can" mh_nsx "$NS_S2" bash -c "$(declare -f tcp7710); tcp7710"
guard=$(mh_nsx "$NS_S2" nft list chain inet mosh_helper output | grep "relay listener")
mh_log "guard: $(echo $guard)"
mh_assert "the relay's guard counted mhtest2's attempt" \
	grep -q -E 'counter packets [1-9]' <<<"$guard"
mh_assert "r2 is up to the gateway" test "$(gw_relay_ups r2)" = 1

# The guard covers the address the relay is configured with; a local user
# may still reach the gateway's other addresses, whose connections the
# listener counts apart (per source and gateway address).
mh_step "mhtest2 holds 6 connections to the gateway's other address; r2 restarts"
mh_ns_bg "$NS_S2" "$MH_TMP/other.out" setpriv --reuid=mhtest2 --regid=mhtest2 \
	--init-groups env ASAN_OPTIONS=detect_leaks=0 timeout 60 \
	"$PROBE" 198.18.0.1 7710 "$CERTS" flood 6 20
OTHER=$MH_BG_PID
mh_assert "they connected (198.18.0.1 is not the relay's gateway address)" \
	mh_wait 10 grep -q "^flood: 6 connected" "$MH_TMP/other.out"
kill -TERM "$PID_r2"
mh_wait 10 mh_pid_gone "$PID_r2" || mh_fail "relay r2 did not stop"
gw_relay_start "$NS_S2" r2
mh_assert "r2 is up again while they are held" kill -0 "$OTHER"
kill "$OTHER" 2>/dev/null   # its connections close with it

# Each gateway address has its own count, so a source reaching many of
# them could hold many slots: past twice its allowance, each new
# connection to another address makes its oldest unfinished handshake to
# the address it holds most of give way.
mh_step "mhtest2 spreads 64 connections over 16 more gateway addresses; relays still connect"
more=()
for i in $(seq 200 215); do
	ip -n "$NS_G" addr add "198.18.4.$i/24" dev s2 || mh_fail "gateway address 198.18.4.$i"
done
for i in $(seq 200 215); do
	mh_ns_bg "$NS_S2" "$MH_TMP/spread-$i.out" setpriv --reuid=mhtest2 --regid=mhtest2 \
		--init-groups env ASAN_OPTIONS=detect_leaks=0 timeout 60 \
		"$PROBE" "198.18.4.$i" 7710 "$CERTS" flood 4 25
	more+=("$MH_BG_PID")
done
for i in $(seq 200 215); do
	mh_wait 10 grep -q "^flood: 4 connected" "$MH_TMP/spread-$i.out" ||
		mh_fail "the spread to 198.18.4.$i did not connect"
done
n=$(held)
mh_log "connections of 198.18.4.2 the listener holds (r2's among them): $n"
mh_assert "at most twice its allowance, plus r2's ($n)" test "$n" -le $((2 * PER_SRC + 1))
kill -TERM "$PID_r1"
mh_wait 10 mh_pid_gone "$PID_r1" || mh_fail "relay r1 did not stop"
gw_relay_start "$NS_S" r1
mh_assert "r1 (login server 1) comes up again meanwhile" kill -0 "${more[0]}"
kill "${more[@]}" 2>/dev/null

gw_stop_checked "$MH_TMP/r1.log" "$MH_TMP/r2.log"

mh_step "the listener short of descriptors (limit 48, 80 connections from 20 addresses)"
mh_nsx "$NS_G" nft delete table inet filter || mh_fail "removing the policy"
sed -i '/^relay_max_connections/d' "$MH_TMP/gw.conf"
echo 'relay_max_connections = 200;' >>"$MH_TMP/gw.conf"
GW_WRAP="prlimit --nofile=48:48" gw_daemon_start
srcs=$(seq -f '198.18.4.%g' 100 119)
for a in $srcs; do
	ip -n "$NS_S2" addr add "$a/24" dev eth0 || mh_fail "address $a on login server 2"
done
listener=''
for c in $(cat "/proc/$GW_PID/task/$GW_PID/children" 2>/dev/null); do
	[ "$(cat "/proc/$c/comm" 2>/dev/null)" = mh-relay-listen ] && listener=$c
done
[ -n "$listener" ] || mh_fail "no relay listener under the gateway ($GW_PID)"
pids=()
for a in $srcs; do
	mh_ns_bg "$NS_S2" "$MH_TMP/fd-$a.out" env ASAN_OPTIONS=detect_leaks=0 timeout 60 \
		"$PROBE" 198.18.4.1 7710 "$CERTS" flood 4 12 "$a"
	pids+=("$MH_BG_PID")
done
mh_assert "accept4 runs out of descriptors, and the log says it waits" mh_wait 10 \
	grep -q "accepting a relay: Too many open files; trying again in 250 ms" "$GW_LOG"
cpu() { awk '{ print $14 + $15 }' "/proc/$listener/stat"; }
t0=$(cpu); sleep 2; t1=$(cpu)
hz=$(getconf CLK_TCK)
mh_log "CPU time of the listener over 2 s: $((t1 - t0)) ticks of 1/$hz s"
mh_assert "it does not spin on the queued connections (< 0.5 s of 2 s)" \
	test $(((t1 - t0) * 2)) -lt "$hz"
mh_assert "the listener is still there" kill -0 "$listener"
kill "${pids[@]}" 2>/dev/null   # the floods end; their connections close
gw_stop_checked
mh_pass "relay listener: a flood from one address holds $PER_SRC slots, relays still connect; short of descriptors it waits"
