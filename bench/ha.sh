#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Item ha of `make bench` (issue 14): the interruption of N authentic
# sessions (default 200) when the active gateway of an HA pair fails, on
# t_ha's parts (halib.sh: keepalived with a 1 s VRRP advertisement,
# conntrackd, the gateway daemon on gw-a and gw-b, a relay on each login
# server announcing to both). A few sessions are real mosh (hook, tmux);
# the rest are hapong ping-pong sessions announced through the relays'
# control sockets by the process that holds their sockets. Prints
# "ha_*: value unit" lines for bench/run.sh. Run by run.sh as its own
# process (lib.sh's cleanup trap ends what it started, deletes its
# namespaces). Usage: bench/ha.sh BUILD_DIR
# shellcheck disable=SC1091,SC2034,SC2153,SC2154  # lib.sh/halib.sh (sourced) set and read these

export HA_ADVERT=${BENCH_HA_ADVERT:-1}
MH_BUILD=$(cd "${1:-build}" && pwd) || exit 2
T=$(cd "$(dirname "$0")/../tests/integration" && pwd)
. "$T/lib.sh"
. "$T/gwlib.sh"
. "$T/halib.sh"

N=${BENCH_HA_SESSIONS:-200}          # sessions in all
NMOSH=${BENCH_HA_MOSH:-4}            # of them real mosh (2 per server at most 10)
NSRC=${BENCH_HA_SOURCES:-25}         # public addresses the ping-pong clients come from
IVL=${BENCH_HA_INTERVAL_MS:-250}     # ping-pong: one exchange per session per IVL ms
LIMIT=${BENCH_HA_LIMIT_S:-30}        # a session silent this long after the failure is lost
in_range() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
in_range "$N" 10 1000 || mh_fail "BENCH_HA_SESSIONS must be 10..1000"
in_range "$NMOSH" 0 10 || mh_fail "BENCH_HA_MOSH must be 0..10"
in_range "$NSRC" 1 100 || mh_fail "BENCH_HA_SOURCES must be 1..100"
in_range "$IVL" 10 5000 || mh_fail "BENCH_HA_INTERVAL_MS must be 10..5000"
in_range "$LIMIT" 5 120 || mh_fail "BENCH_HA_LIMIT_S must be 5..120"
NPP=$((N - NMOSH))
PP1=$((NPP / 2)) PP2=$((NPP - NPP / 2))

mh_require_build mosh-helperd mosh-helper-hook bench/hapong
mh_require_tools mosh-server mosh-client tmux openssl
ha_setup
chmod 755 "$MH_TMP"
mh_users
MH_TMUX=$MH_TMP/tmux.sock
SNAT4_ADDR=$NAT_4
HA_CERTS=$MH_TMP/certs
GWA=198.18.0.11:7710 GWB=198.18.0.12:7710
sh "$MH_SRC/tests/tools/mkcerts.sh" "$HA_CERTS" >"$MH_TMP/mkcerts.log" 2>&1 ||
	mh_fail "mkcerts.sh: $(tail -n 3 "$MH_TMP/mkcerts.log")"
MH_NETNS_INO=$(mh_nsx "$NS_S" stat -L -c %i /proc/self/ns/net)
mkdir -p "$MH_TMP/bin" && install -m 0755 "$MH_BUILD/bench/hapong" "$MH_TMP/bin/"
HAPONG=$MH_TMP/bin/hapong

now_ms() { date +%s%3N; }
master_ms() { awk '/is MASTER/ { t = $1 } END { printf "%.0f\n", t * 1000 }' "$(ha_dir "$1")/notify.log"; }
relay_ups() { grep -c -F "relay: gateway $2 up" "$MH_TMP/$1.log" 2>/dev/null; }
relay_ups_at_least() { [ "$(relay_ups "$1" "$2")" -ge "${3:-1}" ]; }
pp_done() { [ "$(grep -c '^done ' "$MH_TMP/pp.out")" -ge "$1" ]; }

# ---------------------------------------------------------------- set-up

mh_step "engines and gateway daemons (VRRP advertisement $HA_ADVERT s)"
ha_engines_start
for g in a b; do ha_gw_conf $g; ha_gw_start $g; done
for r in "r1 relay-lab any" "r2 relay-ha2 all"; do
	read -r name cert ack <<<"$r"
	gw_relay_conf_to "$MH_TMP/$name.conf" "$HA_CERTS" "$cert" "$name" "$ack" "$GWA" "$GWB"
	# one user holds up to N/2 + mosh sessions here (default 20 per user)
	echo "max_sessions_per_user = 1000;" >>"$MH_TMP/$name.conf"
done
gw_daemon_run "$NS_S" "$MH_TMP/r1.conf" "$MH_TMP/r1.log" relay; MH_PIDS+=("$GW_DAEMON_PID")
gw_daemon_run "$NS_S2" "$MH_TMP/r2.conf" "$MH_TMP/r2.log" relay; MH_PIDS+=("$GW_DAEMON_PID")
for r in r1 r2; do
	mh_wait 10 eval "relay_ups_at_least $r $GWA && relay_ups_at_least $r $GWB" ||
		mh_fail "relay $r not up to both gateways"
done

# The ping-pong clients come from NSRC addresses of the client network,
# each mapped by the router to a public address of its own (a site's
# users come from many addresses; BENCH_HA_SOURCES=1 puts them all behind
# one, where the gateway's per-source slow-path budget applies to all).
pp_sources() {
	local i map=''
	for ((i = 0; i < NSRC; i++)); do
		ip -n "$NS_C" addr add "198.18.1.$((100 + i))/24" dev eth0
		ip -n "$NS_R" addr add "198.18.3.$((100 + i))/24" dev eth1
		map="$map${map:+, }198.18.1.$((100 + i)) : 198.18.3.$((100 + i))"
	done
	mh_nsx "$NS_R" nft -f - <<-EOF || mh_fail "router: the ping-pong clients' SNAT"
	table ip ha_bench_nat {
		chain post { type nat hook postrouting priority srcnat - 5; policy accept;
			oifname "eth1" ip saddr 198.18.1.100-198.18.1.199 snat ip to ip saddr map { $map }
		}
	}
	EOF
}

declare -A CLI_PORT CLI_SRV
mosh_client() { # name ns relay server user
	NS_S=$2 MH_CONF=$MH_TMP/$3.conf SRV=$4 mh_session_try "$5" ||
		mh_fail "session $1 refused: $(tail -n 2 "$MH_HOOK_ERR")"
	CLI_PORT[$1]=$MH_PORT CLI_SRV[$1]=$4
	SRV=$4 mh_client_start "$1" "$MH_PORT" "$MH_KEY"
	mh_roundtrip "$1" 20 || mh_fail "$1 does not type"
}

mh_step "$NMOSH real mosh sessions, $NPP ping-pong sessions ($PP1 on server1, $PP2 on server2)"
MOSH=()
for ((i = 0; i < NMOSH; i++)); do
	if ((i % 2)); then mosh_client "m$i" "$NS_S2" r2 "$SRV2_4" mhtest$((1 + i / 2 % 2))
	else mosh_client "m$i" "$NS_S" r1 "$SRV1_4" mhtest$((1 + i / 2 % 2)); fi
	MOSH+=("m$i")
done
pp_sources
install -m 0600 -o mhtest1 /dev/null "$MH_TMP/keys1"
install -m 0600 -o mhtest1 /dev/null "$MH_TMP/keys2"
mh_ns_bg "$NS_S" "$MH_TMP/pps1.out" setpriv --reuid=mhtest1 --regid=mhtest1 --clear-groups \
	"$HAPONG" serve "$SRV1_4" 60500 "$PP1" 600 --announce "$MH_TMP/r1.d/control.sock" --keys "$MH_TMP/keys1"
mh_ns_bg "$NS_S2" "$MH_TMP/pps2.out" setpriv --reuid=mhtest1 --regid=mhtest1 --clear-groups \
	"$HAPONG" serve "$SRV2_4" 60500 "$PP2" 600 --announce "$MH_TMP/r2.d/control.sock" --keys "$MH_TMP/keys2"
for s in 1 2; do
	mh_wait 60 grep -q '^ready' "$MH_TMP/pps$s.out" || mh_fail "hapong serve $s: $(tail -n 3 "$MH_TMP/pps$s.out"*)"
	mh_log "server$s: $(cat "$MH_TMP/pps$s.out")"
done
cat "$MH_TMP/keys1" "$MH_TMP/keys2" >"$MH_TMP/keys"
mh_ns_bg "$NS_C" "$MH_TMP/pp.out" "$HAPONG" ping "$MH_TMP/keys" 198.18.1.100 "$NSRC" 30000 600 \
	--interval-ms "$IVL" --limit-s "$LIMIT"
PING=$MH_BG_PID
mh_wait 10 grep -q '^ready' "$MH_TMP/pp.out" || mh_fail "hapong ping: $(tail -n 3 "$MH_TMP/pp.out"*)"
NPP=$(awk '/^ready/ { print $3 }' "$MH_TMP/pp.out")

# A round without a failure: the first learns every pinhole on gw-a
# (warm-up); the second is the same-run reference for the answer time.
pp_round() { # k: sends the mark, waits for the k-th report
	kill -USR1 "$PING"
	mh_wait $((LIMIT + 10)) pp_done "$1" || mh_fail "hapong ping: no report $1"
}
pp_last() { awk '/^(intr|lost) / { if (d) { n = 0; d = 0 } l[++n] = $0 } /^done / { d = 1 } END { for (i = 1; i <= n; i++) print l[i] }' "$MH_TMP/pp.out"; }
pp_round 1
mh_log "warm-up: $(grep '^done' "$MH_TMP/pp.out" | tail -n 1)"
pp_round 2
REF=$(grep '^done' "$MH_TMP/pp.out" | tail -n 1)
mh_log "steady state (no failure): $REF"
PH=$(ha_gw_pinholes a 4 | grep -o -E '[0-9.]+ \. [0-9]+ \. 198\.18\.0\.[23] \. [0-9]+' | sort -u | wc -l)
mh_log "gw-a holds $PH pinholes (IPv4), gw-b $(ha_gw_pinholes b 4 | grep -c -E '198\.18\.0\.[23] \. 6') before the failure"

# ---------------------------------------------------------------- failover

# Every mosh session types at once; the time from the failure to its
# echo is its interruption ("m NAME MS", or "m NAME lost").
mosh_interruptions() { # t0-ms
	local t0=$1 c left=${#MOSH[@]}
	declare -A want seen
	for c in "${MOSH[@]}"; do
		want[$c]=$((RANDOM % 9000 + 1000))
		mh_type "$c" "echo HA-\$((${want[$c]}+1))-AH"
	done
	while [ "$left" -gt 0 ] && [ $(($(now_ms) - t0)) -lt $((LIMIT * 1000)) ]; do
		for c in "${MOSH[@]}"; do
			[ -n "${seen[$c]:-}" ] && continue
			mh_screen_has "$c" "HA-$((${want[$c]} + 1))-AH" || continue
			seen[$c]=$(($(now_ms) - t0)) left=$((left - 1))
		done
		sleep 0.05
	done
	for c in "${MOSH[@]}"; do echo "m $c ${seen[$c]:-lost}"; done
}

mh_step "gw-a fails: links down; keepalived, conntrackd and its daemon SIGKILLed"
# the failure is the links going down (the rest tidies up the dead box):
# the mark follows it, so no datagram sent before it counts
ha_links_set a down
kill -USR1 "$PING"
t_fail=$(now_ms)
ha_kill a keepalived KILL
vrrp=$(cat "$(ha_dir a)/vrrp.pid" 2>/dev/null) && kill -KILL "$vrrp" 2>/dev/null
ha_kill a conntrackd KILL
kill -KILL "$HA_GWD_a"
mosh_interruptions "$t_fail" >"$MH_TMP/mosh.intr" &
mpid=$!
mh_wait 15 ha_is_master b || mh_fail "gw-b did not take the addresses"
mh_wait $((LIMIT + 10)) pp_done 3 || mh_fail "hapong ping: no report after the failover"
wait "$mpid"
takeover=$(($(master_ms b) - t_fail))
sed 's/^/   /' "$MH_TMP/mosh.intr"
mh_log "ping-pong: $(grep '^done' "$MH_TMP/pp.out" | tail -n 1)"

# ---------------------------------------------------------------- figures

{ pp_last | awk '$1 == "intr" { print $3 } $1 == "lost" { print "lost" }'
  awk '{ print $3 }' "$MH_TMP/mosh.intr"; } >"$MH_TMP/all.intr"
total=$(wc -l <"$MH_TMP/all.intr")
lost=$(grep -c lost "$MH_TMP/all.intr")
mlost=$(grep -c lost "$MH_TMP/mosh.intr")
pct() { grep -v lost "$MH_TMP/all.intr" | sort -n | awk -v p="$1" '{ a[NR] = $1 } END {
	if (!NR) { print "nan"; exit } k = int(p / 100 * NR + 0.999999); if (k < 1) k = 1; printf "%.3f\n", a[k] / 1000 }'; }
mmax=$(awk '$3 != "lost" && $3 > m { m = $3 } END { printf "%.3f\n", m / 1000 }' "$MH_TMP/mosh.intr")
ref99=$(echo "$REF" | awk '{ printf "%.3f\n", $9 / 1000 }')
echo "ha_failover_p99_s: $(pct 99) s (gw-a fails -> next answer; $total sessions: $NPP ping-pong every $IVL ms from $NSRC addresses + ${#MOSH[@]} mosh; p50 $(pct 50), max $(pct 100))"
echo "ha_failover_pingpong_p99_s: $(grep '^done' "$MH_TMP/pp.out" | tail -n 1 | awk '{ printf "%.3f", $9 / 1000 }') s (the $NPP ping-pong sessions alone)"
echo "ha_sessions_lost: $lost sessions (no answer within $LIMIT s; $mlost of them mosh)"
echo "ha_vrrp_takeover_s: $(awk -v t="$takeover" 'BEGIN { printf "%.3f", t / 1000 }') s (reference: gw-a fails -> gw-b's notify 'MASTER', advert $HA_ADVERT s)"
echo "ha_failover_p99_over_takeover_s: $(awk -v a="$(pct 99)" -v t="$takeover" 'BEGIN { printf "%.3f", a - t / 1000 }') s (p99 less the VRRP takeover: the relearning)"
echo "ha_mosh_failover_max_s: $mmax s (real mosh sessions, kill -> echoed keystroke)"
echo "ha_steady_answer_p99_s: $ref99 s (reference: the same sessions without a failure)"
echo "ha_gw_a_pinholes_before: $PH pinholes"

# ---------------------------------------------------------------- failback

# gw-a comes back as in t_ha (links, conntrackd, its daemon; the relays
# resync to it), then keepalived: it takes the addresses back after its
# preempt delay. Not a failure: no session needs to be silent, so the
# figure is each ping-pong session's longest silence in a window around
# the takeover, and for mosh the takeover to the echo of a keystroke.
mh_step "failback: gw-a comes back and takes the addresses back (preempt $HA_PREEMPT s)"
u1=$(relay_ups r1 "$GWA") u2=$(relay_ups r2 "$GWA")
ha_links_set a up
ha_conntrackd_start a
ha_gw_start a
mh_wait 40 eval "relay_ups_at_least r1 $GWA $((u1 + 1)) && relay_ups_at_least r2 $GWA $((u2 + 1))" ||
	mh_fail "the relays did not resync to gw-a"
kill -USR2 "$PING"
ha_keepalived_start a
mh_wait 20 ha_is_master a || mh_fail "gw-a did not take the addresses back"
t_back=$(master_ms a)
mosh_interruptions "$t_back" >"$MH_TMP/mosh.back"
sleep 3
kill -USR2 "$PING"
mh_wait 10 grep -q '^gapdone' "$MH_TMP/pp.out" || mh_fail "hapong ping: no failback report"
sed 's/^/   /' "$MH_TMP/mosh.back"
GAP=$(grep '^gapdone' "$MH_TMP/pp.out" | tail -n 1)
mh_log "ping-pong longest silences: $GAP"
bl=$(grep -c lost "$MH_TMP/mosh.back")
echo "ha_failback_gap_p99_s: $(echo "$GAP" | awk '{ printf "%.3f", $7 / 1000 }') s (ping-pong: longest silence around gw-a's takeover, p99; max $(echo "$GAP" | awk '{ printf "%.3f", $9 / 1000 }'); a silence of $IVL ms is none)"
echo "ha_failback_mosh_max_s: $(awk '$3 != "lost" && $3 > m { m = $3 } END { printf "%.3f\n", m / 1000 }' "$MH_TMP/mosh.back") s (real mosh: gw-a MASTER -> echoed keystroke; $bl lost)"
# a sanitizer build (make check's) reports at exit: stop everything first
for p in "$HA_GWD_a" "$HA_GWD_b" "${MH_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "$HA_GWD_a" "$HA_GWD_b" "${MH_PIDS[@]}"; do mh_wait 10 mh_pid_gone "$p"; done
for f in "$(ha_dir a)/gw.log" "$(ha_dir b)/gw.log" "$MH_TMP"/r[12].log "$MH_TMP"/pp*.err; do
	! grep -q -E "$MH_SAN_RE" "$f" ||
		mh_fail "sanitizer report in $f: $(grep -m 3 -E 'ERROR|runtime error' "$f")"
done
mh_pass "HA failover bench"
