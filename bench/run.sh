#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# `make bench` (issue 5): mosh-helper's costs measured against references
# taken in the same run, interleaved over several rounds (medians reported):
# fast path, slow path, pinhole installs, roam latency, roaming under a
# garbage flood. Builds its own network namespaces (test addresses only:
# 198.18.0.0/15, fd00::/8), bounds every load in time and count, and its
# EXIT trap ends only the processes it started and deletes its namespaces.
# Usage: bench/run.sh BUILD_DIR   Knobs: BENCH_ROUNDS, BENCH_WINDOW_S, BENCH_CYCLES,
# BENCH_ROAM_BLOCKS, BENCH_ITEMS (mux muxcost pinholes fast servers slow roam attack
# daemonmem muxflood floodsess rebuild review gwfast readback relay gwresync klroam klgarbage ha),
# BENCH_GW_PINHOLES, BENCH_DM_SESSIONS, BENCH_MF_SESSIONS, BENCH_RW_TRIALS, BENCH_FS_ROAMS,
# BENCH_FS_ROUNDS, BENCH_RA_PER, BENCH_GR_SESSIONS, BENCH_GR_ROUNDS, BENCH_GR_LOG, BENCH_RB_ROUNDS, BENCH_RB_ADDRS,
# BENCH_KL_BLOCKS, BENCH_KL_FLOOD_S, BENCH_HA_* (bench/ha.sh), BENCH_KEEP=1

set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:-build}" && pwd) || { echo "run.sh: no build dir ${1:-build}" >&2; exit 2; }
FLOOD=$B/bench/flood PINBENCH=$B/bench/pinbench NFQREF=$B/bench/nfq_ref
MHECHO=$B/bench/mhecho ROAM=$B/bench/roam NFTTOOL=$B/tests/nfttool
MUXBENCH=$B/bench/muxbench
DAEMON=$B/mosh-helperd
ROUNDS=${BENCH_ROUNDS:-5}        # interleaved rounds per comparison
WIN=${BENCH_WINDOW_S:-2}         # seconds each throughput sample counts
USER_=mhtest1                    # owns the session sockets (created if missing)
PORT=60001                       # the session / flood port
RESULTS=$SRC/bench/results
P=mhb$$
TMP=
PIDS=()
NSS=()
declare -A FIG UNIT
ORDER=()
T_START=$SECONDS

# ------------------------------------------------------------ plumbing

log() { printf '   %s\n' "$*"; }
step() { printf '\n== %s (t=%ds)\n' "$*" $((SECONDS - T_START)); }
die() { echo "run.sh: $*" >&2; exit 1; }

cleanup() {
	local rc=$? p ns
	set +e
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	# anything left inside our own namespaces was started by this script
	for ns in "${NSS[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	done
	# a stop keeps the session keys in root's keyring: --uninstall drops
	# them (and the table) in each namespace a daemon ran in
	for c in "$TMP"/*/mosh-helper.conf; do
		[ -n "$TMP" ] && [ -f "$c" ] || continue
		ns=$P-$(basename "$(dirname "$c")")
		ip netns exec "$ns" "$DAEMON" -c "$c" --uninstall >/dev/null 2>&1
	done
	for ns in "${NSS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		if [ "${BENCH_KEEP:-0}" = 1 ] || [ $rc != 0 ]; then
			echo "(logs kept in $TMP)"
		else
			rm -rf "$TMP"
		fi
	fi
	exit $rc
}

nsx() { local ns=$1; shift; ip netns exec "$P-$ns" "$@"; }

# bg NS OUT cmd...: a bounded helper in a namespace; its PID in BG
bg() {
	local ns=$1 out=$2; shift 2
	ip netns exec "$P-$ns" "$@" >"$out" 2>"$out.err" &
	BG=$!
	PIDS+=("$BG")
}

# wait_for FILE REGEX SECONDS
wait_for() {
	local end=$((SECONDS + $3))
	until grep -q -E "$2" "$1" 2>/dev/null; do
		[ $SECONDS -ge "$end" ] && return 1
		sleep 0.05
	done
}

# wait_pid PID SECONDS: wait for a background helper, kill it after S
wait_pid() {
	local end=$((SECONDS + $2))
	while kill -0 "$1" 2>/dev/null; do
		if [ $SECONDS -ge "$end" ]; then kill -KILL "$1" 2>/dev/null; break; fi
		sleep 0.05
	done
	wait "$1" 2>/dev/null
}

# field FILE KEY: the value after KEY on the last line that has it
field() { awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) v = $(i + 1) } END { print v }' "$1"; }
# kv FILE NAME: value of a "NAME: value unit" line
kv() { awk -v k="$2:" '$1 == k { print $2 }' "$1" | tail -n 1; }

median() {
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
		awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# quartiles "q1..q3" of numbers (the spread next to a median)
iqr() {
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
		awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else printf "%.3f..%.3f\n", a[int((NR + 3) / 4)], a[int((3 * NR + 3) / 4)] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "nan"; else printf "%.3f\n", a / b }'; }

# fig NAME VALUE UNIT: one figure, printed and kept for the summary/JSON
fig() {
	FIG[$1]=$2 UNIT[$1]=$3
	ORDER+=("$1")
	printf '%s: %s %s\n' "$1" "$2" "$3"
}

# ------------------------------------------------------------ topology

# Namespaces: cl (clients, senders), at (attacker), and one server
# namespace per condition, each on its own veth from cl (and from at):
# cl side 198.18.<10+i>.1, server 198.18.<10+i>.2; at side 198.19.<10+i>.1.
SERVERS=(sa sb sc sk se sd sr sm sx sg sw sq)
declare -A IDX=([sa]=0 [sb]=1 [sc]=2 [sk]=3 [sd]=4 [sr]=5 [sg]=6 [se]=7 [sw]=8 [sm]=9 [sx]=10 [sq]=11)
srv_addr() { echo "198.18.$((10 + IDX[$1])).2"; }
cl_addr() { echo "198.18.$((10 + IDX[$1])).1"; }
srv_addr_at() { echo "198.19.$((10 + IDX[$1])).2"; }

mkns() {
	ip netns add "$P-$1" || die "ip netns add $P-$1"
	NSS+=("$P-$1")
	ip -n "$P-$1" link set lo up
}

setup() {
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces, nftables)"
	local c s i
	for c in ip nft taskset setpriv awk; do
		command -v "$c" >/dev/null 2>&1 || die "missing tool: $c"
	done
	for c in "$FLOOD" "$PINBENCH" "$NFQREF" "$MHECHO" "$ROAM" "$NFTTOOL" "$DAEMON"; do
		[ -x "$c" ] || die "missing $c (make bench builds it)"
	done
	id "$USER_" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$USER_" ||
		id "$USER_" >/dev/null 2>&1 || die "useradd $USER_"
	TMP=$(mktemp -d "/tmp/$P.XXXXXX") || exit 1
	chmod 755 "$TMP"
	# run private copies: the build directory may be rebuilt meanwhile
	mkdir -p "$TMP/bin" && chmod 755 "$TMP/bin"
	cp "$FLOOD" "$PINBENCH" "$NFQREF" "$MHECHO" "$ROAM" "$NFTTOOL" "$DAEMON" "$MUXBENCH" "$TMP/bin/" ||
		die "copying the programs"
	FLOOD=$TMP/bin/flood PINBENCH=$TMP/bin/pinbench NFQREF=$TMP/bin/nfq_ref
	MHECHO=$TMP/bin/mhecho ROAM=$TMP/bin/roam NFTTOOL=$TMP/bin/nfttool DAEMON=$TMP/bin/mosh-helperd
	MUXBENCH=$TMP/bin/muxbench
	mkns cl; mkns at; mkns sp
	for s in "${SERVERS[@]}"; do
		i=${IDX[$s]}
		mkns "$s"
		ip -n "$P-cl" link add "v$s" type veth peer name eth0 netns "$P-$s" || die veth
		ip -n "$P-cl" addr add "198.18.$((10 + i)).1/24" dev "v$s"
		ip -n "$P-$s" addr add "198.18.$((10 + i)).2/24" dev eth0
		ip -n "$P-cl" link set "v$s" up
		ip -n "$P-$s" link set eth0 up
		ip -n "$P-at" link add "v$s" type veth peer name eth1 netns "$P-$s" || die veth
		ip -n "$P-at" addr add "198.19.$((10 + i)).1/24" dev "v$s"
		ip -n "$P-$s" addr add "198.19.$((10 + i)).2/24" dev eth1
		ip -n "$P-at" link set "v$s" up
		ip -n "$P-$s" link set eth1 up
	done
	log "namespaces $P-{cl,at,sp,${SERVERS[*]}} ready (temp dir $TMP)"
}

# ------------------------------------------------------------ item 1: fast path

fast_setup() {
	nsx sa nft -f - <<-EOF || die "ruleset (a)"
	table inet bench_open {
		chain input { type filter hook input priority -10; policy accept;
			udp dport 60000-61000 accept comment "status quo: the range open"
		}
	}
	EOF
	nsx sk nft -f - <<-EOF || die "ruleset (d)"
	table inet bench_open_ct {
		chain input { type filter hook input priority -10; policy accept;
			ct state established,related accept
			udp dport 60000-61000 accept comment "status quo with conntrack"
		}
	}
	EOF
	# (e) only the range jump and the pinhole lookup and timeout update of
	# (b)'s mosh_in, nothing else: the cost of the pinhole rule itself
	nsx se nft -f - <<-EOF || die "ruleset (e)"
	table inet bench_pin {
		set pinholes4 { type ipv4_addr . inet_service . inet_service; size 65535;
			flags dynamic,timeout; timeout 1h; }
		chain input { type filter hook input priority -10; policy accept;
			udp dport 60000-61000 jump mosh_in
		}
		chain mosh_in {
			ip saddr . udp sport . udp dport @pinholes4 update @pinholes4 { ip saddr . udp sport . udp dport } accept
			counter drop
		}
	}
	EOF
	local err=$TMP/nfttool.err
	nsx se "$NFTTOOL" add-pinhole "$(cl_addr se)" 40000 $PORT --table bench_pin 2>>"$err" || die "nfttool: $(cat "$err")"
	nsx se "$NFTTOOL" add-pinhole 198.18.128.0 40000 $PORT --count 65534 --table bench_pin 2>>"$err" || die "nfttool: $(cat "$err")"
	nsx sb "$NFTTOOL" load --idle 3600000 --rate 2000 --per-source 0 2>"$err" || die "nfttool load: $(cat "$err")"
	# the measured flow, then as many others as the table holds: the IPv4
	# set is full at 65,535 (its size in nft/build.c); the rest IPv6
	nsx sb "$NFTTOOL" add-pinhole "$(cl_addr sb)" 40000 $PORT 2>>"$err" || die "nfttool: $(cat "$err")"
	nsx sb "$NFTTOOL" add-pinhole 198.18.128.0 40000 $PORT --count 65534 2>>"$err" || die "nfttool: $(cat "$err")"
	nsx sb "$NFTTOOL" add-pinhole fd00:b:: 40000 $PORT --count 34465 2>>"$err" || die "nfttool: $(cat "$err")"
	FAST_PH4=$(nsx sb "$NFTTOOL" dump | grep -c -v ':')
	FAST_PH6=$(nsx sb "$NFTTOOL" dump | grep -c ':')
	log "(b) mosh-helper table: $FAST_PH4 IPv4 + $FAST_PH6 IPv6 pinholes, the flow $(cl_addr sb):40000 -> $PORT among them"
}

udp_rcvbuf_errors() { nsx "$1" awk '$1 == "Udp:" { if (h) { print $6; exit } h = 1 }' /proc/net/snmp; }

# fast_one NS: one sample: datagrams/s at the receiver (wall clock) and
# the CPU ns one datagram cost the sender's CPU (send + veth + the receive
# path with its rules, all in the sender's softirq: schedstat run time of
# the sender and of that CPU's ksoftirqd), which other load cannot skew
fast_one() {
	local ns=$1 out=$TMP/fast-recv.out e0 e1 rate sent cost
	e0=$(udp_rcvbuf_errors "$ns")
	bg "$ns" "$out" taskset -c 1 "$FLOOD" recv $PORT "$WIN" --warmup-ms 300
	local rpid=$BG
	wait_for "$out" ready 5 || { log "receiver in $ns did not start"; return; }
	nsx cl timeout $((WIN + 15)) taskset -c 0 "$FLOOD" send "$(srv_addr "$ns")" $PORT $((WIN + 1)) \
		--src-port 40000 --len 100 >"$TMP/fast-send.out" 2>&1
	wait_pid "$rpid" 10
	e1=$(udp_rcvbuf_errors "$ns")
	rate=$(field "$out" rate)
	sent=$(field "$TMP/fast-send.out" pps)
	cost=$(field "$TMP/fast-send.out" ns_per_dgram)
	log "  $ns: received ${rate:-?}/s (sent ${sent:-?}/s), ${cost:-?} CPU ns per datagram, receive-buffer drops $((e1 - e0))"
	echo "${rate:-nan}" >>"$TMP/fast-$ns.samples"
	echo "${cost:-nan}" >>"$TMP/fast-$ns.ns"
}

# per-round ratio of two sample files (line by line: A/B), their median
paired() { paste "$1" "$2" | awk '$1 ~ /^[0-9.]+$/ && $2 > 0 { print $1 / $2 }'; }

bench_fast() {
	step "1. fast path: sendmmsg flood, 100-byte datagrams, cl -> server ns over a veth"
	fast_setup
	log "(a) sa: udp dport 60000-61000 accept  (b) sb: mosh-helper's table  (c) sc: no ruleset"
	log "(d) sk: (a) after 'ct state established,related accept'  (e) se: (b)'s pinhole rule alone, no conntrack"
	local conds=(sa sb sc sk se) r k
	for ((r = 0; r < ROUNDS; r++)); do
		log "round $((r + 1))/$ROUNDS"
		for ((k = 0; k < 5; k++)); do
			fast_one "${conds[$(((k + r) % 5))]}"
		done
	done
	local c n
	for c in sa sb sc sk se; do
		FAST_PPS[$c]=$(median $(cat "$TMP/fast-$c.samples"))
		FAST_NS[$c]=$(median $(cat "$TMP/fast-$c.ns"))
	done
	for c in "sa open" "sb helper" "sc none" "sk open_ct" "se pinhole_only"; do
		read -r k n <<<"$c"
		fig "fastpath_${n}_pps" "${FAST_PPS[$k]}" "datagrams/s received (wall clock, median)"
		fig "fastpath_${n}_ns" "${FAST_NS[$k]}" "CPU ns per datagram (median)"
	done
	fig fastpath_pinholes_in_table "$((FAST_PH4 + FAST_PH6))" "elements ($FAST_PH4 IPv4 + $FAST_PH6 IPv6)"
	fig fastpath_ratio "$(median $(paired "$TMP/fast-sa.ns" "$TMP/fast-sb.ns"))" \
		"(b/a capacity = CPU ns a / CPU ns b, per-round pairs, median; quartiles $(iqr $(paired "$TMP/fast-sa.ns" "$TMP/fast-sb.ns")))"
	fig fastpath_ratio_vs_none "$(median $(paired "$TMP/fast-sc.ns" "$TMP/fast-sb.ns"))" "(b/c)"
	fig fastpath_ratio_vs_open_ct "$(median $(paired "$TMP/fast-sk.ns" "$TMP/fast-sb.ns"))" \
		"(b/d: against an open range on a host that runs conntrack anyway)"
	fig fastpath_pinhole_only_ratio "$(median $(paired "$TMP/fast-sa.ns" "$TMP/fast-se.ns"))" \
		"(e/a: the pinhole lookup + update alone, without conntrack)"
	fig fastpath_ratio_wall "$(median $(paired "$TMP/fast-sb.samples" "$TMP/fast-sa.samples"))" \
		"(b/a received datagrams/s, per-round pairs, median; noisy on a shared machine)"
}
declare -A FAST_PPS FAST_NS

# ------------------------------------------------------------ item 3: pinholes

bench_pinholes() {
	step "3. pinhole install: library (resident process) vs nft command line; bulk; memory"
	local out=$TMP/pinbench.out
	nsx sp timeout 120 "$PINBENCH" --installs 20000 --cli 300 --bulk 100000 >"$out" 2>&1 ||
		{ cat "$out"; die "pinbench failed"; }
	sed 's/^/   | /' "$out"
	local sp99 ap99 sp50 ap50 c50 c99
	sp50=$(kv "$out" pinhole_sync_p50_us) sp99=$(kv "$out" pinhole_sync_p99_us)
	ap50=$(kv "$out" pinhole_async_p50_us) ap99=$(kv "$out" pinhole_async_p99_us)
	c50=$(kv "$out" pinhole_cli_p50_us) c99=$(kv "$out" pinhole_cli_p99_us)
	fig pinhole_install_sync_p50_us "$sp50" us
	fig pinhole_install_sync_p99_us "$sp99" us
	fig pinhole_install_async_p50_us "$ap50" us
	fig pinhole_install_async_p99_us "$ap99" us
	fig pinhole_cli_p50_us "$c50" us
	fig pinhole_cli_p99_us "$c99" us
	fig pinhole_install_p99_us "$sp99" "us (sync: until the kernel's ack)"
	fig pinhole_vs_cli_speedup "$(ratio "$c50" "$sp50")" "x (p50 cli / p50 sync)"
	fig bulk_100k_sessions_s "$(kv "$out" bulk_100k_sessions_s)" "s (100,000 mh_session_add + 100,000 pinholes, 256 per batch)"
	fig session_memory_bytes "$(kv "$out" session_memory_bytes)" "bytes (VmRSS delta / 100,000 sessions in 2 mh_tables)"
	fig session_struct_bytes "$(kv "$out" session_struct_bytes)" "bytes (sizeof struct mh_session)"
	fig ssp_ctx_memory_bytes "$(kv "$out" ssp_ctx_memory_bytes)" "bytes (VmRSS delta per ssp_ctx_new)"
	fig pinholes4_capacity "$(kv "$out" pinholes4_capacity)" "elements ($(awk -F': ' '$1 == "pinholes4_add_past_capacity" { print $2 }' "$out") past it)"
}

# ------------------------------------------------------------ daemons, sessions

newkey() { head -c 16 /dev/urandom | base64 | cut -c1-22; }
AS_USER=(setpriv --reuid="$USER_" --regid="$USER_" --clear-groups)

# daemon_start NS RATE [quiet]: mosh-helperd in NS (pinned to CPU 1), its
# own config; quiet: no audit trail, log level warning (a what-if)
daemon_start() {
	local ns=$1 rate=$2 quiet=${3:-} d=$TMP/$1 level=info
	[ -n "$quiet" ] && level=warning
	mkdir -p "$d" && chmod 755 "$d"
	cat >"$d/mosh-helper.conf" <<-EOF
	# written by bench/run.sh
	ports = "60000-61000";
	idle_timeout = 600;
	handshake_timeout = 600;
	session_timeout = 3600;
	candidate_lifetime = 10;
	control_socket = "$d/control.sock";
	max_pinholes_per_session = 4;
	queue_num = 0;
	queue_maxlen = 4096;
	slow_path_rate = $rate;
	log_level = "$level";
	EOF
	# DAEMON_EXTRA: more config lines (a what-if)
	[ -n "${DAEMON_EXTRA:-}" ] && printf '%s\n' "$DAEMON_EXTRA" >>"$d/mosh-helper.conf"
	# a raised global rate means "measure the daemon": no per-source budget
	[ "$rate" -ge 1000000 ] && echo 'slow_path_rate_per_source = 0;' >>"$d/mosh-helper.conf"
	# the audit trail stays on, as installed, but in our temp dir
	if "$DAEMON" -c /dev/null --check-config 2>/dev/null | grep -q '^audit_log'; then
		if [ -n "$quiet" ]; then
			echo 'audit_log = "";' >>"$d/mosh-helper.conf"
		else
			echo "audit_log = \"$d/audit.log\";" >>"$d/mosh-helper.conf"
		fi
	fi
	# any other path the daemon may write, by default outside our temp dir
	"$DAEMON" -c "$d/mosh-helper.conf" --check-config 2>/dev/null |
		grep -E '^[a-z_]+ = "/' | grep -v -F "\"$TMP/" | grep -v -E '^(server_path) ' |
		sed 's/^/   note: daemon config path outside the temp dir: /' >&2
	bg "$ns" "$d/daemon" taskset -c 1 "$DAEMON" -c "$d/mosh-helper.conf" -f
	DPID[$ns]=$BG
	local end=$((SECONDS + 15))
	until [ -S "$d/control.sock" ] && nsx "$ns" nft list table inet mosh_helper >/dev/null 2>&1; do
		kill -0 "${DPID[$ns]}" 2>/dev/null || die "daemon in $ns exited: $(tail -n 5 "$d/daemon.err")"
		[ $SECONDS -ge $end ] && die "daemon in $ns not ready in 15 s"
		sleep 0.1
	done
	log "mosh-helperd in $P-$ns (slow_path_rate $rate/s, log level $level${quiet:+, no audit trail}), log $d/daemon.err"
}
declare -A DPID KEY

# session NS PORT MODE [announce]: mhecho as $USER_ on PORT (drain|echo)
session() {
	local ns=$1 port=$2 mode=$3 ann=${4:-} out=$TMP/$1-echo-$2
	local k=${KEY[$ns-$port]:-$(newkey)}
	KEY[$ns-$port]=$k
	# the drain sink stays off CPU 1, where the queue consumers run
	local pin=(taskset -c 0-1)
	[ "$mode" = drain ] && pin=(taskset -c 0)
	if [ -n "$ann" ]; then
		bg "$ns" "$out" "${pin[@]}" "${AS_USER[@]}" "$MHECHO" "$port" 600 --key "$k" "--$mode" \
			--announce "$TMP/$ns/control.sock"
	else
		bg "$ns" "$out" "${pin[@]}" "${AS_USER[@]}" "$MHECHO" "$port" 600 --key "$k" "--$mode"
	fi
	ECHO_PID=$BG
	wait_for "$out" ready 10 || die "mhecho $ns:$port: $(cat "$out.err")"
}

# a reference namespace: mosh-helper's table, loaded with the builders,
# rate raised like the daemon's, the session ports in @sessions, no daemon;
# ref_setup NS [nfq_ref options]: the table, a drain on 60001 and the
# reference loop on queue 0 (pinned to CPU 1, like the daemon), left running
ref_setup() {
	local ns=$1 err=$TMP/ref-nfttool.err p
	shift
	nsx "$ns" "$NFTTOOL" load --idle 600000 --rate 1000000 --per-source 0 2>"$err" || die "nfttool load ($ns): $(cat "$err")"
	for p in 60001 60002; do
		nsx "$ns" "$NFTTOOL" add-session $p 2>>"$err" || die "nfttool add-session: $(cat "$err")"
	done
	session "$ns" 60001 drain
	bg "$ns" "$TMP/$ns-ref.out" taskset -c 1 "$NFQREF" 0 600 --maxlen 4096 "$@"
	REF_PID[$ns]=$BG
	wait_for "$TMP/$ns-ref.out" ready 5 || die "nfq_ref in $ns did not start: $(cat "$TMP/$ns-ref.out.err")"
}
declare -A REF_PID

NEXT_PORT=20000
ports_for() { ROAM_BASE=$NEXT_PORT; NEXT_PORT=$((NEXT_PORT + $1 + 1)); }

# ------------------------------------------------------------ item 2: slow path

# slow_cycle NS PID KIND LABEL: the queue's consumer PID is stopped, a
# KIND flood fills its queue, then it is resumed and the drain timed, in
# wall-clock time and in the consumer's CPU time (nothing else competes)
slow_cycle() {
	local ns=$1 pid=$2 kind=$3 label=$4
	kill -STOP "$pid" || return
	nsx cl timeout 20 taskset -c 0 "$FLOOD" send "$(srv_addr "$ns")" 60001 5 --max 8000 \
		--kind "$kind" --key "${KEY[$ns-60001]}" --src-port 41000 --len 100 >"$TMP/slow-send.out" 2>&1
	nsx "$ns" taskset -c 0 "$FLOOD" qdrain 0 "$pid" >>"$TMP/qd-$label.cur" 2>&1 || kill -CONT "$pid"
}

# slow_sample LABEL: the cycles of this round summed into one sample
slow_sample() {
	local label=$1 f=$TMP/qd-$1.cur res rate cpurate backlog n
	cat "$f" >>"$TMP/qdrain-$label.all"
	res=$(awk '$1 == "backlog" && $6 > 0 && $10 > 0 { v += $4; t += $6; c += $10; b += $2; n++ }
		END { if (t > 0) printf "%.0f %.0f %.0f %d\n", v / t, v / (c / 1e9), b / n, n; else print "nan nan 0 0" }' "$f")
	rm -f "$f"
	read -r rate cpurate backlog n <<<"$res"
	log "  $label: $rate verdicts/s wall clock, $cpurate verdicts per CPU second ($n cycles, backlog $backlog each)"
	echo "$rate" >>"$TMP/slow-$label.samples"
	echo "$cpurate" >>"$TMP/slow-$label.cpu"
	echo "$backlog" >>"$TMP/slow-backlog.samples"
}

CYCLES=${BENCH_CYCLES:-10}
SLOW=("sd daemon sealed daemon-sealed" "sr ref sealed ref" "sd daemon garbage daemon-garbage"
      "sm ref sealed ref-multi" "sd daemon mix daemon-mix" "sx ref sealed ref-batch")

bench_slow() {
	step "2. slow path: NFQUEUE verdicts/s with a backlog, daemon vs reference loops"
	log "slow_path_rate raised to 1000000/s in every table so the nft limit is not the bottleneck;"
	log "queue_maxlen 4096 (the default) everywhere; a cycle: consumer stopped (SIGSTOP), 8,000"
	log "datagrams sent (the queue fills), consumer resumed, the drain timed; the consumers take"
	log "turns cycle by cycle; a sample = $CYCLES cycles of one consumer"
	local r c t ns who kind label pid
	for ((r = 0; r < ROUNDS; r++)); do
		log "round $((r + 1))/$ROUNDS"
		for ((c = 0; c < CYCLES; c++)); do
			for t in "${SLOW[@]}"; do
				read -r ns who kind label <<<"$t"
				if [ "$who" = daemon ]; then pid=${DPID[$ns]}; else pid=${REF_PID[$ns]}; fi
				slow_cycle "$ns" "$pid" "$kind" "$label"
			done
		done
		for t in "${SLOW[@]}"; do
			read -r ns who kind label <<<"$t"
			slow_sample "$label"
		done
	done
	local l n what
	for l in "daemon-sealed daemon_authentic" "daemon-garbage daemon_garbage" "daemon-mix daemon_mix" \
		"ref ref" "ref-multi ref_multi" "ref-batch ref_batch"; do
		read -r what n <<<"$l"
		fig "slowpath_${n}_vps" "$(median $(cat "$TMP/slow-$what.samples"))" "verdicts/s (wall clock, median)"
		fig "slowpath_${n}_cpu_vps" "$(median $(cat "$TMP/slow-$what.cpu"))" "verdicts per CPU second (median)"
	done
	log "every reference reads as the daemon does (recvmmsg, up to 64 messages per wake-up); ref: one"
	log "verdict per sendto; ref_multi: per-packet verdicts, all of a wake-up in one sendto (the daemon's"
	log "way, the reference of slowpath_ratio); ref_batch: one NFQNL_MSG_VERDICT_BATCH per wake-up"
	fig slowpath_ratio "$(median $(paired "$TMP/slow-daemon-sealed.cpu" "$TMP/slow-ref-multi.cpu"))" \
		"(daemon authentic / reference sending its verdicts the daemon's way, all of a wake-up in one sendto; verdicts per CPU second, per-round pairs, median; quartiles $(iqr $(paired "$TMP/slow-daemon-sealed.cpu" "$TMP/slow-ref-multi.cpu")))"
	fig slowpath_ratio_wall "$(median $(paired "$TMP/slow-daemon-sealed.samples" "$TMP/slow-ref-multi.samples"))" \
		"(same from wall-clock verdicts/s)"
	fig slowpath_ratio_vs_single "$(median $(paired "$TMP/slow-daemon-sealed.cpu" "$TMP/slow-ref.cpu"))" \
		"(daemon authentic / the plainest loop, one verdict per sendto: for information)"
	fig slowpath_ratio_vs_batch "$(median $(paired "$TMP/slow-daemon-sealed.cpu" "$TMP/slow-ref-batch.cpu"))" \
		"(daemon authentic / one verdict-batch message per wake-up, the accept-all ceiling: for information)"
	fig slowpath_backlog "$(median $(cat "$TMP/slow-backlog.samples"))" "datagrams queued when the consumer resumes (median)"
}

# ------------------------------------------------------------ item 4: roam latency

# roam_one NS MODE COUNT LABEL [extra roam args]: one run, percentiles kept
roam_one() {
	local ns=$1 mode=$2 n=$3 label=$4 out=$TMP/roam.out
	shift 4
	ports_for "$n"
	nsx cl timeout 90 taskset -c 0 "$ROAM" "$(srv_addr "$ns")" 60002 --key "${KEY[$ns-60002]}" --mode "$mode" \
		--count "$n" --port-base "$ROAM_BASE" --timeout-ms 1000 --retry-ms 250 --max-seconds 60 "$@" \
		>"$out" 2>&1 || { log "roam $label failed: $(cat "$out")"; return; }
	log "  $label: rtt p50 $(field "$out" rtt_p50_us) us p99 $(field "$out" rtt_p99_us) us ($(field "$out" samples) samples, $(field "$out" lost) lost)"
	[ "$(field "$out" lost)" = 0 ] || log "  ($label: a lost sample counts as infinitely late)"
	field "$out" rtt_p50_us >>"$TMP/roam-$label.p50"
	field "$out" rtt_p99_us >>"$TMP/roam-$label.p99"
}

bench_roam() {
	step "4. roam latency: authentic ping-pong, pinhole vs first datagram from a new source"
	local b blocks=${BENCH_ROAM_BLOCKS:-12}
	log "$blocks blocks of 200 samples per target, the targets taking turns; ratios per block"
	for ((b = 0; b < blocks; b++)); do
		log "block $((b + 1))/$blocks"
		roam_one sr newsrc 200 ref
		roam_one sd pinhole 200 pinhole
		roam_one sd newsrc 200 newsrc
		roam_one sq newsrc 200 quiet
	done
	local p50 p99 r50 r99 n50 n99
	p50=$(median $(cat "$TMP/roam-pinhole.p50")) p99=$(median $(cat "$TMP/roam-pinhole.p99"))
	n50=$(median $(cat "$TMP/roam-newsrc.p50")) n99=$(median $(cat "$TMP/roam-newsrc.p99"))
	r50=$(median $(cat "$TMP/roam-ref.p50")) r99=$(median $(cat "$TMP/roam-ref.p99"))
	fig roam_pinhole_rtt_p50_us "$p50" us
	fig roam_pinhole_rtt_p99_us "$p99" us
	fig roam_newsrc_rtt_p50_us "$n50" "us (first datagram from a new source: verify, candidate, reply, pinhole)"
	fig roam_newsrc_rtt_p99_us "$n99" us
	fig roam_ref_queue_rtt_p50_us "$r50" "us (both directions through the accept-all reference queue)"
	fig roam_ref_queue_rtt_p99_us "$r99" us
	fig roam_extra_rtt_ratio "$(median $(paired "$TMP/roam-newsrc.p50" "$TMP/roam-ref.p50"))" \
		"(newsrc p50 / reference queue p50, per-block pairs, median; quartiles $(iqr $(paired "$TMP/roam-newsrc.p50" "$TMP/roam-ref.p50")))"
	fig roam_newsrc_vs_pinhole_ratio "$(median $(paired "$TMP/roam-newsrc.p50" "$TMP/roam-pinhole.p50"))" \
		"(newsrc p50 / pinhole p50, per block)"
	local q50 q99
	q50=$(median $(cat "$TMP/roam-quiet.p50")) q99=$(median $(cat "$TMP/roam-quiet.p99"))
	fig roam_quiet_newsrc_rtt_p50_us "$q50" "us (WHAT-IF: same daemon, audit_log \"\", log_level warning)"
	fig roam_quiet_newsrc_rtt_p99_us "$q99" us
	fig roam_quiet_extra_rtt_ratio "$(median $(paired "$TMP/roam-quiet.p50" "$TMP/roam-ref.p50"))" \
		"(WHAT-IF: quiet newsrc p50 / reference queue p50, per block; quartiles $(iqr $(paired "$TMP/roam-quiet.p50" "$TMP/roam-ref.p50")))"
}

# ------------------------------------------------------------ item 5: under attack

over_rate_drops() {
	nsx "$1" nft list chain inet mosh_helper mosh_in 2>/dev/null |
		grep 'over the slow-path rate' | grep -o -E 'packets [0-9]+' | awk '{ print $2 }'
}
queue_full_drops() { nsx "$1" awk '$1 == 0 { print $6 }' /proc/net/netfilter/nfnetlink_queue; }

# attack_one NS LABEL ROAMS: roams of a live session while `at` floods its port
attack_one() {
	local ns=$1 label=$2 roams=$3 port=60003 out=$TMP/attack-$2.roam fl=$TMP/attack-$2.flood
	local logf=$TMP/$1/daemon.err o0 o1 q0 q1 l0 sent auth lost ddrop cl
	session "$ns" $port echo announce
	local epid=$ECHO_PID
	ports_for 1
	# a live session: the client has its pinhole before the flood starts
	nsx cl timeout 30 "$ROAM" "$(srv_addr "$ns")" $port --key "${KEY[$ns-$port]}" --mode pinhole \
		--count 5 --port-base "$ROAM_BASE" >"$out.warm" 2>&1
	o0=$(over_rate_drops "$ns") q0=$(queue_full_drops "$ns") l0=$(wc -l <"$logf")
	bg at "$fl" taskset -c 0 "$FLOOD" send "$(srv_addr_at "$ns")" $port 80 --kind garbage --len 100
	local fpid=$BG
	sleep 1
	ports_for "$roams"
	nsx cl timeout 90 "$ROAM" "$(srv_addr "$ns")" $port --key "${KEY[$ns-$port]}" --mode newsrc \
		--count "$roams" --port-base "$ROAM_BASE" --timeout-ms 3000 --retry-ms 50 --gap-ms 200 \
		--max-seconds 75 >"$out" 2>&1
	kill -TERM "$fpid" 2>/dev/null; wait_pid "$fpid" 5
	o1=$(over_rate_drops "$ns") q1=$(queue_full_drops "$ns")
	kill -TERM "$epid" 2>/dev/null; wait_pid "$epid" 5
	# every authentic datagram the client sent (warm-up included) against
	# what mosh-server (mhecho) received
	sent=$(($(field "$out.warm" sent) + $(field "$out" sent)))
	auth=$(field "$TMP/$ns-echo-$port" authentic)
	lost=$((sent - auth))
	cl=$(cl_addr "$ns")
	# authentic datagrams the daemon dropped: drop lines naming the client
	# (the attacker is 198.19.x.1); the drop log is rate limited (5/s)
	ddrop=$(tail -n +"$((l0 + 1))" "$logf" | grep -c -E "drop ($cl:[0-9]+ ->|[0-9.]+:[0-9]+ -> $cl:)")
	log "  $label: flood $(field "$fl" pps) datagrams/s; roams delivered $(field "$out" samples), undelivered $(field "$out" lost), delivery p50 $(field "$out" delivery_p50_us) us p99 $(field "$out" delivery_p99_us) us max $(field "$out" delivery_max_us) us, max attempts $(field "$out" attempts_max)"
	log "  $label: authentic sent $sent, delivered $auth, lost $lost; over-rate drops $((o1 - o0)), queue-full drops $((q1 - q0)); daemon drop lines naming the client: $ddrop"
	ATK_P99=$(field "$out" delivery_p99_us) ATK_P50=$(field "$out" delivery_p50_us)
	ATK_DONE=$(field "$out" samples) ATK_LOST_ROAMS=$(field "$out" lost)
	ATK_LOST=$lost ATK_DDROP=$ddrop ATK_OVER=$((o1 - o0)) ATK_QFULL=$((q1 - q0)) ATK_PPS=$(field "$fl" pps)
}

ms_of() { # microseconds (or inf) -> milliseconds
	if [ "$1" = inf ]; then echo ">3000"; else awk -v u="$1" 'BEGIN { printf "%.1f\n", u / 1000 }'; fi
}

bench_attack() {
	step "5. under attack: garbage flood at a live session's port while it roams"
	attack_one sg default 20
	fig flood_garbage_pps "$ATK_PPS" "datagrams/s (attacker, sendmmsg, default config)"
	fig flood_roam_p50_ms "$(ms_of "$ATK_P50")" "ms (slow_path_rate 2000, the default)"
	fig flood_roam_p99_ms "$(ms_of "$ATK_P99")" "ms (slow_path_rate 2000, the default; p99 of 20 roams = the slowest; >3000 = one not delivered within 3 s)"
	fig flood_roams_undelivered "$ATK_LOST_ROAMS" "of $((ATK_DONE + ATK_LOST_ROAMS)) roams (3 s each, resent every 50 ms)"
	fig flood_authentic_lost "$ATK_LOST" "datagrams (sent by the client, never reached mosh-server)"
	fig flood_over_rate_drops "$ATK_OVER" "datagrams (nft 'over the slow-path rate' counter: garbage + authentic)"
	fig flood_authentic_dropped_by_daemon "$ATK_DDROP" "datagrams (daemon drop log lines naming the client)"
	attack_one sd raised 50
	fig flood_hirate_garbage_pps "$ATK_PPS" "datagrams/s (attacker, slow_path_rate 1000000)"
	fig flood_hirate_roam_p50_ms "$(ms_of "$ATK_P50")" "ms (slow_path_rate 1000000)"
	fig flood_hirate_roam_p99_ms "$(ms_of "$ATK_P99")" "ms (slow_path_rate 1000000)"
	fig flood_hirate_roams_undelivered "$ATK_LOST_ROAMS" "of $((ATK_DONE + ATK_LOST_ROAMS)) roams"
	fig flood_hirate_authentic_lost "$ATK_LOST" datagrams
	fig flood_hirate_queue_full_drops "$ATK_QFULL" "datagrams (queue_maxlen 4096 full: garbage + authentic)"
	fig flood_hirate_authentic_dropped_by_daemon "$ATK_DDROP" datagrams
	# what-if, not the product: the default daemon behind a per-source
	# address limit in a separate table (evidence for the lead's decision)
	daemon_start sw 2000
	nsx sw nft -f - <<-EOF || die "what-if table"
	table inet bench_persrc {
		set src4 { type ipv4_addr; size 65535; flags dynamic,timeout; timeout 10s; }
		chain input { type filter hook input priority -20; policy accept;
			udp dport 60000-61000 update @src4 { ip saddr limit rate over 200/second burst 200 packets } counter drop comment "bench what-if: per-source limit"
		}
	}
	EOF
	attack_one sw whatif 50
	fig flood_whatif_persrc_roam_p50_ms "$(ms_of "$ATK_P50")" "ms (WHAT-IF: default rate + 200/s per source address in front)"
	fig flood_whatif_persrc_roam_p99_ms "$(ms_of "$ATK_P99")" "ms (WHAT-IF, same)"
	fig flood_whatif_persrc_authentic_lost "$ATK_LOST" datagrams
}

# the daemons and sessions items 2, 4 and 5 share
bench_servers() {
	step "daemons and sessions"
	daemon_start sd 1000000
	daemon_start sg 2000
	session sd 60001 drain announce
	session sd 60002 echo announce
	ref_setup sr
	ref_setup sm --multi
	ref_setup sx --batch
	session sr 60002 echo
	daemon_start sq 1000000 quiet
	session sq 60002 echo announce
	log "sessions announced: sd 60001 (drain), sd 60002 (echo); references: sr (one verdict"
	log "per sendto), sm (--multi), sx (--batch), each with a drain on 60001; sr echo on 60002"
}

# ------------------------------------------------------------ flood at another session

# Issue 11, finding 3 (`floodsess`): one daemon in default mode (not single
# port) per condition, in a namespace of its own with a veth from cl and one
# from at: fs (per-session budgets, the defaults) and fz (WHAT-IF:
# slow_path_rate_per_session = 0, one budget shared by all, the code before
# finding 3). Session A (60001, drained, no client) and session B (60002,
# echo, live). `at` floods A's port with spoofsend from FS_SOURCES forged
# addresses of 198.19.128.0/17 (each far under slow_path_rate_per_source)
# at the sender's maximum rate while the client roams B FS_ROAMS times; the
# same roams with no flood first are the same-run reference.
FS_SOURCES=4096 FS_NET=198.19.128.0/17
# fs_ns NS I: namespace NS, cl side 198.18.I.1, server 198.18.I.2 / 198.19.I.2
fs_ns() {
	local ns=$1 i=$2
	mkns "$ns"
	ip -n "$P-cl" link add "v$ns" type veth peer name eth0 netns "$P-$ns" || die veth
	ip -n "$P-cl" addr add "198.18.$i.1/24" dev "v$ns"
	ip -n "$P-$ns" addr add "198.18.$i.2/24" dev eth0
	ip -n "$P-at" link add "v$ns" type veth peer name eth1 netns "$P-$ns" || die veth
	ip -n "$P-at" addr add "198.19.$i.1/24" dev "v$ns"
	ip -n "$P-$ns" addr add "198.19.$i.2/24" dev eth1
	ip -n "$P-cl" link set "v$ns" up; ip -n "$P-$ns" link set eth0 up
	ip -n "$P-at" link set "v$ns" up; ip -n "$P-$ns" link set eth1 up
	# the forged sources have no route back: no reverse-path filter
	nsx "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.eth1.rp_filter=0
	IDX[$ns]=$((i - 10))
	# B's datagrams before the helper's input chain and after it: what the
	# helper refused of an honest client's is the difference
	nsx "$ns" nft -f - <<-EOF || die "observer table ($ns)"
	table inet bench_obs {
		chain pre { type filter hook input priority filter - 20; policy accept;
			ip saddr 198.18.$i.1 udp dport 60002 counter comment "B arrived"
		}
		chain post { type filter hook input priority filter + 10; policy accept;
			ip saddr 198.18.$i.1 udp dport 60002 counter comment "B let through"
		}
	}
	EOF
}
# datagrams the kernel dropped because the daemon's queue 0 was full
fs_qdrops() { awk '$1 == 0 { print $6 }' "/proc/${DPID[$1]}/net/netfilter/nfnetlink_queue" 2>/dev/null || echo 0; }
fs_obs() { nsx "$1" nft list table inet bench_obs 2>/dev/null | grep -F "$2" | grep -o -E 'packets [0-9]+' | awk '{ print $2 }'; }

# fs_roams NS LABEL FLOOD(0|1): FS_ROAMS roams of B; FS_* figures
fs_roams() {
	local d0 ns=$1 label=$2 flood=$3 out=$TMP/fs-$1-$2.roam fl=$TMP/fs-$1-$2.flood fpid="" o0 o1 a0 a1 p0 p1 c0 c1 t0 t1 run=no
	o0=$(over_rate_drops "$ns") a0=$(fs_obs "$ns" "B arrived") p0=$(fs_obs "$ns" "B let through")
	c0=$(awk '{ print $14 + $15 }' "/proc/${DPID[$ns]}/stat") t0=$(date +%s%N)
	d0=$(fs_qdrops "$ns")
	if [ "$flood" = 1 ]; then
		bg at "$fl" taskset -c 0 "$TMP/bin/spoofsend" "$(srv_addr_at "$ns")" 60001 --net "$FS_NET" \
			--sources "$FS_SOURCES" --pps 0 --len 100 --seconds 50 --count 2000000
		fpid=$BG
		wait_for "$fl" ready 5 || log "  $label: spoofsend not ready: $(cat "$fl.err")"
		sleep 1
	fi
	# the daemon's queue depth (its netns's nfnetlink_queue, queue 0, field
	# 3) every 20 ms: B's datagrams wait behind what the flood got queued
	( for ((j = 0; j < 4000; j++)); do
		awk '$1 == 0 { print $3 }' "/proc/${DPID[$ns]}/net/netfilter/nfnetlink_queue" 2>/dev/null
		sleep 0.02
	done ) >"$TMP/fs-$ns-$label.qdepth" 2>/dev/null &
	local qpid=$!
	PIDS+=("$qpid")
	ports_for "$FS_N"
	nsx cl timeout 90 "$ROAM" "$(srv_addr "$ns")" 60002 --key "${KEY[$ns-60002]}" --mode newsrc \
		--count "$FS_N" --port-base "$ROAM_BASE" --timeout-ms 3000 --retry-ms 50 --gap-ms 200 \
		--max-seconds 75 >"$out" 2>&1
	FS_LOAD=$(cut -d' ' -f1 /proc/loadavg)
	if [ -n "$fpid" ]; then
		kill -0 "$fpid" 2>/dev/null && run=yes
		kill -TERM "$fpid" 2>/dev/null; wait_pid "$fpid" 5
	fi
	kill -TERM "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null
	FS_QMAX=$(sort -n "$TMP/fs-$ns-$label.qdepth" | tail -n 1)
	FS_QDROP=$(($(fs_qdrops "$ns") - d0))
	o1=$(over_rate_drops "$ns") a1=$(fs_obs "$ns" "B arrived") p1=$(fs_obs "$ns" "B let through")
	c1=$(awk '{ print $14 + $15 }' "/proc/${DPID[$ns]}/stat") t1=$(date +%s%N)
	FS_P50=$(field "$out" delivery_p50_us) FS_P99=$(field "$out" delivery_p99_us)
	FS_DONE=$(field "$out" samples) FS_LOST=$(field "$out" lost)
	FS_PPS="" FS_OVER=$((o1 - o0)) FS_REFUSED=$(((a1 - a0) - (p1 - p0)))
	[ "$flood" = 1 ] && FS_PPS=$(field "$fl" pps)
	FS_CPU=$(awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v ns=$((t1 - t0)) \
		'BEGIN { printf "%.3f", c / hz / (ns / 1e9) }')
	[ "$flood" = 1 ] && [ -z "$FS_PPS" ] && FS_PPS=n/a
	local k v f=$TMP/fs-$ns-$label
	for k in "p50 $FS_P50" "p99 $FS_P99" "lost $FS_LOST" "done $FS_DONE" "refused $FS_REFUSED" "over $FS_OVER" \
		"pps $FS_PPS" "cpu $FS_CPU" "load $FS_LOAD" "qmax ${FS_QMAX:-nan}" "qdrop $FS_QDROP"; do
		read -r k v <<<"$k"
		echo "${v:-nan}" >>"$f.$k"
	done
	log "  $label: roams $FS_DONE delivered, $FS_LOST lost; delivery p50 $(ms_of "$FS_P50") ms p99 $(ms_of "$FS_P99") ms max $(ms_of "$(field "$out" delivery_max_us)") ms; B's datagrams $((a1 - a0)) arrived, $FS_REFUSED refused by the helper; queue depth max ${FS_QMAX:-?}, queue-full drops $FS_QDROP"
	[ "$flood" = 1 ] && log "  $label: flood ${FS_PPS}/s ($(tail -n 1 "$fl")), still running after the last roam: $run; over-rate drops $FS_OVER; daemon CPU share $FS_CPU; load average $FS_LOAD"
}

# the per-round values of fs_roams: listed, median (a lost roam's "inf"
# counts as later than any), median in ms, sum
fs_list() {
	if [ "$2" = p50 ] || [ "$2" = p99 ]; then
		while read -r v; do ms_of "$v"; done <"$TMP/fs-$1.$2" | paste -s -d, -
	else
		paste -s -d, "$TMP/fs-$1.$2"
	fi
}
fs_med() {
	local m
	m=$(median $(sed 's/^inf$/1e15/' "$TMP/fs-$1.$2"))
	awk -v m="$m" 'BEGIN { if (m != "nan" && m + 0 >= 1e14) print "inf"; else print m }'
}
fs_ms() { ms_of "$(fs_med "$1" "$2")"; }
fs_sum() { awk '$1 ~ /^[0-9]+$/ { s += $1 } END { print s + 0 }' "$TMP/fs-$1.$2"; }

bench_floodsess() {
	step "11. flood at one session's port from $FS_SOURCES forged sources while another session roams"
	local ns epid=() p n=${BENCH_FS_ROAMS:-30}
	[ "$n" -ge 1 ] && [ "$n" -le 200 ] || die "BENCH_FS_ROAMS must be 1..200"
	[ -x "$B/tests/spoofsend" ] || die "missing $B/tests/spoofsend (make bench builds it)"
	cp "$B/tests/spoofsend" "$TMP/bin/" || die "copying spoofsend"
	"$DAEMON" -c /dev/null --check-config 2>/dev/null | grep -q '^slow_path_rate_per_session' ||
		die "this daemon has no slow_path_rate_per_session"
	FS_N=$n
	fs_ns fs 41
	fs_ns fz 42
	# the defaults otherwise (slow_path_rate, per source, per session)
	FS_RATE=$("$DAEMON" -c /dev/null --check-config 2>/dev/null | awk '$1 == "slow_path_rate" { print $3 + 0 }')
	FS_PERSESS=$("$DAEMON" -c /dev/null --check-config 2>/dev/null | awk '$1 == "slow_path_rate_per_session" { print $3 + 0 }')
	daemon_start fs "$FS_RATE"
	DAEMON_EXTRA="slow_path_rate_per_session = 0;" daemon_start fz "$FS_RATE"
	for ns in fs fz; do
		session "$ns" 60001 drain announce
		epid+=("$ECHO_PID")
		session "$ns" 60002 echo announce
		epid+=("$ECHO_PID")
		# B is live: its client has a pinhole before any roam
		ports_for 5
		nsx cl timeout 30 "$ROAM" "$(srv_addr "$ns")" 60002 --key "${KEY[$ns-60002]}" --mode pinhole \
			--count 5 --port-base "$ROAM_BASE" >"$TMP/fs-$ns.warm" 2>&1 || log "warm-up $ns: $(tail -n 1 "$TMP/fs-$ns.warm")"
	done
	log "slow_path_rate $FS_RATE/s; fs: slow_path_rate_per_session $FS_PERSESS (default), fz: 0 (WHAT-IF);"
	log "$n roams of B each (new source port, resent every 50 ms, 3 s at most, 200 ms apart)"
	local r rounds=${BENCH_FS_ROUNDS:-3}
	[ "$rounds" -ge 1 ] && [ "$rounds" -le 10 ] || die "BENCH_FS_ROUNDS must be 1..10"
	log "$rounds rounds, each: fs no flood, fs flood, fz no flood, fz flood"
	for ((r = 0; r < rounds; r++)); do
		log "round $((r + 1))/$rounds"
		fs_roams fs quiet 0
		fs_roams fs flood 1
		fs_roams fz quiet 0
		fs_roams fz flood 1
	done
	local per="per round: $(fs_list fs-quiet p99) ms; load averages $(fs_list fs-quiet load)"
	fig flood_other_session_noflood_roam_p99_ms "$(fs_ms fs-quiet p99)" "ms (same run, no flood: the reference; median of $rounds rounds' p99 of $n roams, $per; 2 cores shared with other work)"
	fig flood_other_session_pps "$(fs_med fs-flood pps)" "datagrams/s (at A's port, $FS_SOURCES forged sources, sender's maximum rate; median, per round $(fs_list fs-flood pps))"
	fig flood_other_session_roam_p50_ms "$(fs_ms fs-flood p50)" ms
	fig flood_other_session_roam_p99_ms "$(fs_ms fs-flood p99)" "ms (B's roams under the flood, per-session budgets $FS_PERSESS/s: median of $rounds rounds' p99 of $n, per round $(fs_list fs-flood p99) ms; load averages $(fs_list fs-flood load))"
	fig flood_other_session_roams_lost "$(fs_sum fs-flood lost)" "of $(($(fs_sum fs-flood done) + $(fs_sum fs-flood lost))) roams accounted for, $((n * rounds)) meant (3 s each, resent every 50 ms)"
	fig flood_other_session_b_refused "$(fs_sum fs-flood refused)" "datagrams (B's, refused by the helper's chain, all rounds)"
	fig flood_other_session_over_rate_drops "$(fs_sum fs-flood over)" "datagrams (nft 'over the slow-path rate' counter, all rounds)"
	fig flood_other_session_daemon_cpu_share "$(fs_med fs-flood cpu)" "(daemon CPU seconds per second, median)"
	fig flood_other_session_queue_depth_max "$(fs_med fs-flood qmax)" "datagrams (the daemon's queue, sampled every 20 ms, max per round, median; per round $(fs_list fs-flood qmax); no flood $(fs_list fs-quiet qmax))"
	fig flood_other_session_queue_full_drops "$(fs_sum fs-flood qdrop)" "datagrams (queue_maxlen full: flood + B's, all rounds; per round $(fs_list fs-flood qdrop))"
	fig flood_other_session_nobudget_noflood_roam_p99_ms "$(fs_ms fz-quiet p99)" "ms (WHAT-IF per-session 0, no flood; per round $(fs_list fz-quiet p99) ms)"
	fig flood_other_session_nobudget_pps "$(fs_med fz-flood pps)" "datagrams/s (WHAT-IF per-session 0; per round $(fs_list fz-flood pps))"
	fig flood_other_session_nobudget_roam_p50_ms "$(fs_ms fz-flood p50)" "ms (WHAT-IF)"
	fig flood_other_session_nobudget_roam_p99_ms "$(fs_ms fz-flood p99)" "ms (WHAT-IF: slow_path_rate_per_session = 0, one budget for all; per round $(fs_list fz-flood p99) ms; load averages $(fs_list fz-flood load))"
	fig flood_other_session_nobudget_roams_lost "$(fs_sum fz-flood lost)" "of $(($(fs_sum fz-flood done) + $(fs_sum fz-flood lost))) roams accounted for, $((n * rounds)) meant (WHAT-IF)"
	fig flood_other_session_nobudget_b_refused "$(fs_sum fz-flood refused)" "datagrams (WHAT-IF: B's, refused by the helper's chain, all rounds)"
	fig flood_other_session_nobudget_daemon_cpu_share "$(fs_med fz-flood cpu)" "(WHAT-IF: daemon CPU seconds per second, median)"
	fig flood_other_session_nobudget_queue_depth_max "$(fs_med fz-flood qmax)" "datagrams (WHAT-IF; per round $(fs_list fz-flood qmax))"
	fig flood_other_session_nobudget_queue_full_drops "$(fs_sum fz-flood qdrop)" "datagrams (WHAT-IF; per round $(fs_list fz-flood qdrop))"
	for p in "${epid[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${epid[@]}"; do wait_pid "$p" 5; done
	for ns in fs fz; do kill -TERM "${DPID[$ns]}" 2>/dev/null; wait_pid "${DPID[$ns]}" 15; done
}

# ------------------------------------------------------------ single port

# Issue 4: finding the session of a new source on the public port (trial
# authentication), 1..10,000 sessions, hint hit and miss (the wanted session
# scanned last: the worst case). CPU only, pinned to one core.
bench_mux() {
	step "6. single port: finding the session of a new source (mh_decide_mux)"
	local out=$TMP/muxbench.out n
	timeout 120 taskset -c 0 "$MUXBENCH" >"$out" 2>&1 || { cat "$out"; die "muxbench failed"; }
	printf '   %-8s %-22s %-22s %-22s %-22s\n' sessions "hit p50/p99 us (100B)" "miss p50/p99 us (100B)" \
		"hit p50/p99 us (1200B)" "miss p50/p99 us (1200B)"
	for n in 1 100 1000 10000; do
		printf '   %-8s %-22s %-22s %-22s %-22s\n' "$n" \
			"$(kv "$out" mux_hit100_${n}_p50_us)/$(kv "$out" mux_hit100_${n}_p99_us)" \
			"$(kv "$out" mux_miss100_${n}_p50_us)/$(kv "$out" mux_miss100_${n}_p99_us)" \
			"$(kv "$out" mux_hit1200_${n}_p50_us)/$(kv "$out" mux_hit1200_${n}_p99_us)" \
			"$(kv "$out" mux_miss1200_${n}_p50_us)/$(kv "$out" mux_miss1200_${n}_p99_us)"
	done
	fig mux_hint_hit_1_p50_us "$(kv "$out" mux_hit1200_1_p50_us)" "us (1 session, 1200-byte datagram)"
	fig mux_hint_hit_10000_p50_us "$(kv "$out" mux_hit1200_10000_p50_us)" "us (10,000 sessions: independent of the count)"
	fig mux_worst_10000_p50_ms "$(awk -v v="$(kv "$out" mux_miss1200_10000_p50_us)" 'BEGIN { printf "%.3f", v / 1000 }')" \
		"ms (10,000 sessions, hint miss, wanted session scanned last, 1200 bytes)"
	fig mux_worst_10000_p99_ms "$(awk -v v="$(kv "$out" mux_miss1200_10000_p99_us)" 'BEGIN { printf "%.3f", v / 1000 }')" \
		"ms (same, p99 of 301: includes preemption on a shared machine)"
}

# ------------------------------------------------------------ single port under a flood

# Issue 11: mosh-helperd in single-port mode (public port 60000) holding
# BENCH_MF_SESSIONS idle sessions (default 10,000, announced by mhmany as
# $USER_) and one live echo session announced last; a client roams (each
# sample from a new source port, mosh-like sequence numbers) to the public
# port, first with no flood (the same-run reference), then while `at`
# floods the public port with spoofed-source garbage (random addresses of
# 198.19.0.0/16, random lengths 1-1500) at the sender's maximum rate, then
# (a harder what-if) with every datagram given a plausible to-server
# header. Figures: roam delivery p99, roams lost, flood rate, the daemon's
# CPU share during each flood, and the kernel's shape drops.
MF_PER=50
mf_daemon() {
	local d=$1 hard=$2
	mkdir -p "$d" && chmod 755 "$d"
	cat >"$d/mosh-helper.conf" <<-EOF
	# written by bench/run.sh (single port under a flood)
	ports = "40000-59999";
	idle_timeout = 600;
	handshake_timeout = 3600;
	session_timeout = 3600;
	control_socket = "$d/control.sock";
	max_sessions = 30000;
	max_sessions_per_user = 30000;
	max_pinholes_per_session = 4;
	queue_num = 0;
	log_level = "warning";
	audit_log = "";
	single_port = { enable = true; port = 60000; };
	EOF
	bg mf "$d/daemon" prlimit --nofile="$hard:$hard" taskset -c 1 "$DAEMON" -c "$d/mosh-helper.conf" -f
	MF_DPID=$BG
	local end=$((SECONDS + 15))
	until [ -S "$d/control.sock" ] && nsx mf nft list table inet mosh_helper >/dev/null 2>&1; do
		kill -0 "$MF_DPID" 2>/dev/null || die "daemon in mf exited: $(tail -n 5 "$d/daemon.err")"
		[ $SECONDS -ge $end ] && die "daemon in mf not ready in 15 s"
		sleep 0.1
	done
}
mf_cpu() { awk '{ print $14 + $15 }' "/proc/$MF_DPID/stat"; }
mf_drops() { # packets of the mux_in rules whose comment has $1
	nsx mf nft list chain inet mosh_helper mux_in 2>/dev/null | grep -F "$1" |
		grep -o -E 'packets [0-9]+' | awk '{ s += $2 } END { print s + 0 }'
}
# mf_roams LABEL COUNT [spoofflood args...]: COUNT roams, a flood meanwhile
mf_roams() {
	local label=$1 count=$2 out=$TMP/mf-$1.roam fl=$TMP/mf-$1.flood c0 c1 t0 t1 fpid=
	shift 2
	ports_for "$count"
	c0=$(mf_cpu) t0=$(date +%s%N)
	if [ $# -gt 0 ]; then
		bg at "$fl" taskset -c 0 "$TMP/bin/spoofflood" "$(srv_addr_at mf)" 60000 60 100000000 "$@"
		fpid=$BG
		sleep 1
	fi
	nsx cl timeout 90 "$ROAM" "$(srv_addr mf)" 60000 --key "$MF_KEY" --mode newsrc \
		--count "$count" --port-base "$ROAM_BASE" --timeout-ms 3000 --retry-ms 50 --gap-ms 100 \
		--max-seconds 60 --seq-base "$MF_SEQ" >"$out" 2>&1
	MF_SEQ=$((MF_SEQ + $(field "$out" sent) + 10))
	[ -n "$fpid" ] && { kill -TERM "$fpid" 2>/dev/null; wait_pid "$fpid" 5; }
	c1=$(mf_cpu) t1=$(date +%s%N)
	MF_P99=$(field "$out" delivery_p99_us) MF_P50=$(field "$out" delivery_p50_us)
	MF_LOST=$(field "$out" lost) MF_DONE=$(field "$out" samples)
	MF_PPS=$(awk '$1 == "sent" { print $4 }' "$fl" 2>/dev/null)
	# no "sent" line: the flood did not end cleanly; say so, never print 0
	if [ -n "$fpid" ] && [ -z "$MF_PPS" ]; then
		MF_PPS=n/a
		log "  $label: spoofflood printed no rate: $(tail -n 2 "$fl.err" 2>/dev/null)"
	fi
	MF_CPU=$(awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v ns=$((t1 - t0)) \
		'BEGIN { printf "%.3f", c / hz / (ns / 1e9) }')
	log "  $label: roams $MF_DONE delivered, $MF_LOST lost; delivery p50 $(ms_of "$MF_P50") ms p99 $(ms_of "$MF_P99") ms; flood ${MF_PPS:-none}/s; daemon CPU share $MF_CPU"
}
bench_muxflood() {
	step "8. single port, ${BENCH_MF_SESSIONS:-10000} sessions: a client roams while spoofed garbage floods the public port"
	local n=${BENCH_MF_SESSIONS:-10000} d=$TMP/mf hard i out a r ok=0 pids=() p
	hard=$(ulimit -Hn)
	[ "$hard" = unlimited ] && hard=1048576
	[ "$n" -gt $((hard - 300)) ] && n=$(((hard - 300) / MF_PER * MF_PER))
	[ -x "$B/bench/mhmany" ] && [ -x "$B/tests/spoofflood" ] || die "missing mhmany/spoofflood (make bench builds them)"
	cp "$B/bench/mhmany" "$B/tests/spoofflood" "$TMP/bin/" || die "copying mhmany"
	mkns mf
	ip -n "$P-cl" link add vmf type veth peer name eth0 netns "$P-mf" || die veth
	ip -n "$P-cl" addr add 198.18.40.1/24 dev vmf
	ip -n "$P-mf" addr add 198.18.40.2/24 dev eth0
	ip -n "$P-at" link add vmf type veth peer name eth1 netns "$P-mf" || die veth
	ip -n "$P-at" addr add 198.19.40.1/24 dev vmf
	ip -n "$P-mf" addr add 198.19.40.2/24 dev eth1
	ip -n "$P-cl" link set vmf up; ip -n "$P-mf" link set eth0 up
	ip -n "$P-at" link set vmf up; ip -n "$P-mf" link set eth1 up
	nsx mf sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.eth1.rp_filter=0
	IDX[mf]=30   # srv_addr mf = 198.18.40.2, srv_addr_at mf = 198.19.40.2
	mf_daemon "$d" "$hard"
	local deadline=$((SECONDS + 300))
	for ((i = 0; i < n / MF_PER; i++)); do
		[ $SECONDS -ge $deadline ] && { log "300 s deadline: stopped after $ok sessions"; break; }
		out=$TMP/mf-many-$i
		bg mf "$out" "${AS_USER[@]}" "$TMP/bin/mhmany" $((40000 + i * MF_PER)) "$MF_PER" 900 \
			--announce "$d/control.sock"
		pids+=("$BG")
		wait_for "$out" ready 60 || { log "mhmany $i: $(tail -n 2 "$out.err")"; break; }
		read -r a r <<<"$(awk '$1 == "ready" { print $3, $5 }' "$out")"
		ok=$((ok + a))
	done
	MF_KEY=$(newkey) MF_SEQ=1
	bg mf "$TMP/mf-echo" taskset -c 0-1 "${AS_USER[@]}" "$MHECHO" 59999 600 --key "$MF_KEY" --echo \
		--announce "$d/control.sock"
	local epid=$BG
	wait_for "$TMP/mf-echo" ready 10 || die "mhecho mf: $(cat "$TMP/mf-echo.err")"
	log "$ok idle sessions + the echo session (port 59999) in $P-mf; daemon pid $MF_DPID"
	fig mux_flood_sessions "$((ok + 1))" sessions
	mf_roams warmup 5
	mf_roams quiet 30
	fig mux_noflood_roam_p99_ms "$(ms_of "$MF_P99")" "ms (same run, no flood: the reference)"
	local s0 h0
	s0=$(mf_drops "shorter than any SSP") h0=$(mf_drops "not a client's SSP header")
	mf_roams garbage 30 --prefix 198.19 --len 1 1500
	fig mux_flood_pps "${MF_PPS:-n/a}" "datagrams/s (spoofed sources, random lengths 1-1500, sender's maximum rate)"
	fig mux_flood_roam_p50_ms "$(ms_of "$MF_P50")" ms
	fig mux_flood_roam_p99_ms "$(ms_of "$MF_P99")" "ms (p99 of 30 roams; reference mux_noflood_roam_p99_ms)"
	fig mux_flood_roams_lost "$MF_LOST" "of $((MF_DONE + MF_LOST)) roams (3 s each, resent every 50 ms)"
	fig mux_flood_daemon_cpu_share "$MF_CPU" "(daemon CPU seconds per second of flood)"
	fig mux_flood_kernel_shape_drops "$(($(mf_drops "shorter than any SSP") - s0 + $(mf_drops "not a client's SSP header") - h0))" \
		"datagrams (mux_in: short or impossible header, never queued)"
	mf_roams plausible 30 --prefix 198.19 --len 40 1500 --plausible 100
	fig mux_flood_plausible_pps "${MF_PPS:-n/a}" "datagrams/s (WHAT-IF: every datagram a plausible to-server header)"
	fig mux_flood_plausible_roam_p99_ms "$(ms_of "$MF_P99")" "ms (WHAT-IF, same; the global slow_path_rate ($("$DAEMON" -c /dev/null --check-config 2>/dev/null | awk '$1 == "slow_path_rate" { print $3 + 0 }')/s by default) is shared with the flood)"
	fig mux_flood_plausible_roams_lost "$MF_LOST" "of $((MF_DONE + MF_LOST)) roams"
	fig mux_flood_plausible_daemon_cpu_share "$MF_CPU" "(daemon CPU seconds per second of flood)"
	kill -TERM "$epid" 2>/dev/null; wait_pid "$epid" 5
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait_pid "$p" 5; done
	kill -TERM "$MF_DPID" 2>/dev/null
	wait_pid "$MF_DPID" 15
}

# Issue 11: the CPU of one forged datagram of every length at the public
# port, 10,000 sessions (muxbench, CPU time, pinned).
bench_muxcost() {
	step "9. single port, 10,000 sessions: CPU per forged datagram, every length 1-1500"
	local out=$TMP/muxcost.out
	timeout 300 taskset -c 0 "$MUXBENCH" >"$out" 2>&1 || { cat "$out"; die "muxbench failed"; }
	fig mux_forged_cost_p99_us "$(kv "$out" mux_forged_cost_p99_us)" \
		"us (CPU per forged datagram; mean of 50 per length and kind, p99 over 1-1500 x random/plausible header)"
	fig mux_forged_cost_40_1500_p99_us "$(kv "$out" mux_forged_cost_40_1500_p99_us)" "us (the lengths that get trials)"
	fig mux_forged_trials_max "$(kv "$out" mux_forged_trials_max)" "trials (the bound; sessions 10,000)"
	fig mux_ref_verify1200_us "$(kv "$out" mux_ref_verify1200_p50_us)" "us (same run: one authentic 1200-byte datagram verified)"
	fig mux_sweep_10000_ms "$(kv "$out" mux_sweep_ms)" "ms (background sweep of one unplaced source over 10,000 sessions)"
}

# ------------------------------------------------------------ daemon memory

# The daemon's resident memory per session, measured: mosh-helperd in its
# own namespace (wide port range, high quotas, RLIMIT_NOFILE raised: each
# session holds a pidfd), BENCH_DM_SESSIONS idle sessions (default 20,000;
# one session per server port, so 65,536 at most, 21,000 in this range)
# announced by mhmany processes of $USER_, DM_PER ports each, one process at
# a time; VmRSS before and after. Every process is ours, ended by PID.
DM_PER=50
bench_daemonmem() {
	step "7. daemon resident memory per session: idle sessions announced to mosh-helperd"
	local hard n base=40000 d=$TMP/dm i out procs
	# one pidfd per session: the daemon gets the hard RLIMIT_NOFILE (raising
	# it needs CAP_SYS_RESOURCE), 200 descriptors kept for its own use
	hard=$(ulimit -Hn)
	[ "$hard" = unlimited ] && hard=1048576
	n=${BENCH_DM_SESSIONS:-20000}
	[ "$n" -gt $((hard - 200)) ] && n=$(((hard - 200) / DM_PER * DM_PER))
	local rss0 rss_mid= rss1 ok=0 refused=0 a r mid_ok=0 deadline pids=() p
	[ "$n" -ge "$DM_PER" ] && [ "$n" -le 21000 ] || die "BENCH_DM_SESSIONS must be $DM_PER..21000"
	[ -x "$B/bench/mhmany" ] || die "missing $B/bench/mhmany (make bench builds it)"
	command -v prlimit >/dev/null 2>&1 || die "missing tool: prlimit"
	cp "$B/bench/mhmany" "$TMP/bin/" || die "copying mhmany"
	mkns dm
	mkdir -p "$d" && chmod 755 "$d"
	cat >"$d/mosh-helper.conf" <<-EOF
	# written by bench/run.sh (daemon memory)
	ports = "40000-60999";
	idle_timeout = 600;
	handshake_timeout = 3600;
	session_timeout = 3600;
	control_socket = "$d/control.sock";
	max_sessions = 30000;
	max_sessions_per_user = 30000;
	max_pinholes_per_session = 4;
	queue_num = 0;
	slow_path_rate = 2000;
	log_level = "warning";
	audit_log = "";
	EOF
	bg dm "$d/daemon" prlimit --nofile="$hard:$hard" taskset -c 1 "$DAEMON" -c "$d/mosh-helper.conf" -f
	local dpid=$BG end=$((SECONDS + 15))
	until [ -S "$d/control.sock" ] && nsx dm nft list table inet mosh_helper >/dev/null 2>&1; do
		kill -0 "$dpid" 2>/dev/null || die "daemon in dm exited: $(tail -n 5 "$d/daemon.err")"
		[ $SECONDS -ge $end ] && die "daemon in dm not ready in 15 s"
		sleep 0.1
	done
	sleep 1
	rss0=$(awk '$1 == "VmRSS:" { print $2 * 1024 }' "/proc/$dpid/status")
	procs=$(((n + DM_PER - 1) / DM_PER))
	deadline=$((SECONDS + 300))
	log "$procs processes x $DM_PER ports from $base, as $USER_; daemon pid $dpid (RLIMIT_NOFILE $hard), VmRSS $((rss0 / 1024)) KiB"
	for ((i = 0; i < procs; i++)); do
		if [ $SECONDS -ge $deadline ]; then log "300 s deadline: stopped after $i processes"; break; fi
		out=$TMP/dm-many-$i
		bg dm "$out" "${AS_USER[@]}" "$TMP/bin/mhmany" $((base + i * DM_PER)) "$DM_PER" 900 \
			--announce "$d/control.sock"
		pids+=("$BG")
		if ! wait_for "$out" ready 60; then log "mhmany $i: $(tail -n 2 "$out.err")"; break; fi
		read -r a r <<<"$(awk '$1 == "ready" { print $3, $5 }' "$out")"
		ok=$((ok + a)) refused=$((refused + r))
		if [ $((i + 1)) = $((procs / 2)) ]; then
			rss_mid=$(awk '$1 == "VmRSS:" { print $2 * 1024 }' "/proc/$dpid/status") mid_ok=$ok
		fi
		[ $(((i + 1) % 100)) = 0 ] && log "  $((i + 1)) processes, $ok sessions (t=$((SECONDS - T_START))s)"
	done
	sleep 1
	rss1=$(awk '$1 == "VmRSS:" { print $2 * 1024 }' "/proc/$dpid/status")
	log "sessions announced $ok, refused $refused; daemon VmRSS $((rss0 / 1024)) -> $((rss1 / 1024)) KiB"
	[ "$refused" = 0 ] || log "refusals: $(cat "$TMP"/dm-many-*.err | sort | uniq -c | sort -rn | head -n 3)"
	[ "$ok" -gt 0 ] || die "no session announced"
	fig daemon_sessions "$ok" "sessions (one per server port: a daemon holds 65,536 at most)"
	fig daemon_session_memory_bytes "$(((rss1 - rss0) / ok))" \
		"bytes (mosh-helperd VmRSS delta / $ok idle sessions, memory locked, audit off)"
	if [ -n "$rss_mid" ] && [ "$ok" -gt "$mid_ok" ]; then
		fig daemon_session_memory_marginal_bytes "$(((rss1 - rss_mid) / (ok - mid_ok)))" \
			"bytes (the second half alone: $mid_ok -> $ok sessions)"
	fi
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait_pid "$p" 5; done
	kill -TERM "$dpid" 2>/dev/null
	wait_pid "$dpid" 15
}

# ------------------------------------------------------------ item 8: table rebuild

# The window of the rebuild path (issue 10; kernels without persistent
# tables, here table_flags = "none"): `rebuildwin` flushes the whole
# ruleset BENCH_RW_TRIALS times (default 100, 200 ms apart) and times the
# table's deletion to the daemon's rebuild on one event socket; first with
# no session, then with the sessions of 4 mhmany processes (200 session
# ports). The reference: the same flush loop against a table of its own
# that nothing rebuilds is not a window at all, so the figure stands alone.
bench_rebuild() {
	step "8. table rebuild window: nft flush ruleset -> the table is back (table_flags = none)"
	local d=$TMP/rw trials=${BENCH_RW_TRIALS:-100} out pids=() p i dpid end
	[ "$trials" -ge 1 ] && [ "$trials" -le 1000 ] || die "BENCH_RW_TRIALS must be 1..1000"
	for p in rebuildwin mhmany; do
		[ -x "$B/bench/$p" ] || die "missing $B/bench/$p (make bench builds it)"
		cp "$B/bench/$p" "$TMP/bin/" || die "copying $p"
	done
	mkns rw
	mkdir -p "$d" && chmod 755 "$d"
	cat >"$d/mosh-helper.conf" <<-EOF
	# written by bench/run.sh (table rebuild)
	control_socket = "$d/control.sock";
	handshake_timeout = 3600;
	max_sessions_per_user = 1000;
	log_level = "warning";
	audit_log = "";
	table_flags = "none";
	EOF
	bg rw "$d/daemon" taskset -c 1 "$DAEMON" -c "$d/mosh-helper.conf" -f
	dpid=$BG end=$((SECONDS + 15))
	until [ -S "$d/control.sock" ] && nsx rw nft list table inet mosh_helper >/dev/null 2>&1; do
		kill -0 "$dpid" 2>/dev/null || die "daemon in rw exited: $(tail -n 5 "$d/daemon.err")"
		[ $SECONDS -ge $end ] && die "daemon in rw not ready in 15 s"
		sleep 0.1
	done
	out=$TMP/rw-empty.out
	nsx rw timeout $((trials + 60)) taskset -c 0 "$TMP/bin/rebuildwin" mosh_helper "$trials" 200 >"$out" 2>&1 ||
		die "rebuildwin: $(tail -n 2 "$out")"
	sed 's/^/   | /' "$out"
	fig table_rebuild_window_ms_p50 "$(kv "$out" table_rebuild_window_ms_p50)" "ms (no session; $(head -n 1 "$out"))"
	fig table_rebuild_window_ms_p99 "$(kv "$out" table_rebuild_window_ms_p99)" "ms (no session)"
	for ((i = 0; i < 4; i++)); do
		bg rw "$TMP/rw-many-$i" "${AS_USER[@]}" "$TMP/bin/mhmany" $((60100 + i * DM_PER)) "$DM_PER" 600 \
			--announce "$d/control.sock"
		pids+=("$BG")
		wait_for "$TMP/rw-many-$i" ready 60 || die "mhmany $i: $(tail -n 2 "$TMP/rw-many-$i.err")"
	done
	log "sessions held: $(nsx rw nft list set inet mosh_helper sessions 2>/dev/null | grep -o '6[0-9]\{4\}' | wc -l)"
	out=$TMP/rw-200.out
	nsx rw timeout $((trials + 60)) taskset -c 0 "$TMP/bin/rebuildwin" mosh_helper "$trials" 200 >"$out" 2>&1 ||
		die "rebuildwin: $(tail -n 2 "$out")"
	sed 's/^/   | /' "$out"
	fig table_rebuild_window_ms_200_sessions_p50 "$(kv "$out" table_rebuild_window_ms_p50)" "ms (200 session ports)"
	fig table_rebuild_window_ms_200_sessions_p99 "$(kv "$out" table_rebuild_window_ms_p99)" "ms (200 session ports)"
	fig table_rebuild_window_ms "$(kv "$TMP/rw-empty.out" table_rebuild_window_ms_p50)" \
		"ms (p50, no session; p99 $(kv "$TMP/rw-empty.out" table_rebuild_window_ms_p99) ms)"
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait_pid "$p" 5; done
	kill -TERM "$dpid" 2>/dev/null
	wait_pid "$dpid" 15
}

# ------------------------------------------------------------ summary

# target NAME OP LIMIT: "met" / "MISSED" / "n/a"
verdict() {
	awk -v v="${FIG[$1]:-nan}" -v op="$2" -v t="$3" 'BEGIN {
		if (v ~ /^>[0-9.]+$/) { v = substr(v, 2); if (op == "<=" && v + 0 >= t + 0) { print "MISSED"; exit } }
		if (v !~ /^[0-9.]+$/) { print "n/a"; exit }
		ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0)
		print ok ? "met" : "MISSED" }'
}

TARGETS=(
	"fastpath_ratio >= 0.95"
	"slowpath_ratio >= 0.85"
	"pinhole_install_p99_us <= 25"
	"pinhole_vs_cli_speedup >= 100"
	"roam_extra_rtt_ratio <= 1.5"
	"session_memory_bytes <= 1024"
	"daemon_session_memory_bytes <= 1024"
	"flood_roam_p99_ms <= 50"
	"flood_authentic_dropped_by_daemon <= 0"
	"mux_worst_10000_p50_ms <= 3"
	"mux_forged_cost_p99_us <= 5"
	"mux_flood_roam_p99_ms <= 50"
	"mux_flood_roams_lost <= 0"
	"flood_other_session_roam_p99_ms <= 50"
	"flood_other_session_roams_lost <= 0"
	"gw_fastpath_ratio >= 0.95"
	"relay_announce_p99_ms <= 5"
	"gw_resync_10000_s <= 1"
	"keyless_roam_extra_rtt_ratio <= 1.2"
	"keyless_garbage_delivered_per_s <= 10"   # the default per-session budget klgarbage runs with
	"ha_failover_p99_s <= 5"
	"ha_sessions_lost <= 0"
)

summary() {
	local name k t v
	step "figures"
	for name in "${ORDER[@]}"; do printf '%s: %s %s\n' "$name" "${FIG[$name]}" "${UNIT[$name]}"; done
	step "summary (targets of issues 5, 11, 13, 14, 16)"
	printf '%-34s %-8s %-14s %s\n' figure target measured status
	for t in "${TARGETS[@]}"; do
		read -r name k v <<<"$t"
		printf '%-34s %-8s %-14s %s\n' "$name" "$k $v" "${FIG[$name]:-n/a}" "$(verdict "$name" "$k" "$v")"
	done
}

json_str() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }

write_json() {
	local f stamp name first=1 t k v
	stamp=$(date -u +%Y%m%dT%H%M%SZ)
	mkdir -p "$RESULTS"
	f=$RESULTS/bench-$stamp.json
	{
		printf '{\n  "time": "%s",\n  "kernel": "%s",\n  "cpus": %s,\n  "rounds": %s,\n  "window_s": %s,\n  "loadavg_start": "%s",\n  "loadavg_end": "%s",\n  "seconds": %s,\n  "figures": {\n' \
			"$stamp" "$(uname -r)" "$(nproc)" "$ROUNDS" "$WIN" "$LOAD0" "$(cut -d' ' -f1-3 /proc/loadavg)" $((SECONDS - T_START))
		for name in "${ORDER[@]}"; do
			[ $first = 1 ] || printf ',\n'
			first=0
			v=${FIG[$name]}
			if [[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
				printf '    "%s": {"value": %s, "unit": "%s"}' "$name" "$v" "$(json_str "${UNIT[$name]}")"
			else
				printf '    "%s": {"value": "%s", "unit": "%s"}' "$name" "$(json_str "$v")" "$(json_str "${UNIT[$name]}")"
			fi
		done
		printf '\n  },\n  "targets": {\n'
		first=1
		for t in "${TARGETS[@]}"; do
			read -r name k v <<<"$t"
			[ $first = 1 ] || printf ',\n'
			first=0
			printf '    "%s": {"target": "%s %s", "status": "%s"}' "$name" "$k" "$v" "$(verdict "$name" "$k" "$v")"
		done
		printf '\n  }\n}\n'
	} >"$f"
	cp "$f" "$RESULTS/latest.json"
	echo "results: $f (and bench/results/latest.json)"
}

# ------------------------------------------------------------ review tool

# Issue 11: mosh-helper-review on hostile captures (tests/pcapforge flood):
# N SSH SYNs from N clients (syn), and each followed by a keyless datagram
# to a server port of its own (flows). CPU seconds (user + system) of one
# run each, pinned to one core; the 80k/20k ratio is the same-run reference
# (linear: about 4, quadratic: about 16).
bench_review() {
	step "9. review tool: hostile captures (CPU per capture size)"
	local kind n t
	for kind in syn flows; do
		for n in 20000 40000 80000; do
			"$B/tests/pcapforge" flood $kind $n "$TMP/rv.pcap" "$TMP/rv.key" || die "pcapforge failed"
			t=$( { /usr/bin/time -f '%U %S' taskset -c 0 "$B/mosh-helper-review" \
				--keys "$TMP/rv.key" "$TMP/rv.pcap" >/dev/null; } 2>&1 | tail -n 1 |
				awk '{ printf "%.3f", $1 + $2 }')
			fig "review_${kind}_$((n / 1000))k_cpu_s" "$t" s
			eval "RV_$n=$t"
		done
		fig "review_${kind}_80k_per_20k" "$(ratio "$RV_80000" "$RV_20000")" x
	done
}

# ------------------------------------------------------------ main

. "$SRC/bench/gwfast.sh"   # item gwfast: the perimeter gateway (issue 13)
. "$SRC/bench/gwrelay.sh"  # items relay, gwresync: relay -> gateway over TLS (issue 13)
. "$SRC/bench/readback.sh" # item readback: the gateway's read-back of 100,000 pinholes
. "$SRC/bench/keyless.sh"  # items klroam, klgarbage: keyless host mode (issue 16)

# Item ha (issue 14): bench/ha.sh in a process of its own (its own
# namespaces and cleanup trap, on the integration tests' halib.sh); its
# "ha_*: value unit" lines become figures.
bench_ha() {
	step "ha. HA gateway pair: the active gateway fails under ${BENCH_HA_SESSIONS:-200} authentic sessions"
	local out=$TMP/ha.out rc=0 name v u
	timeout 600 bash "$SRC/bench/ha.sh" "$B" >"$out" 2>&1 || rc=$?
	sed 's/^/   | /' "$out"
	if [ $rc = 77 ]; then log "ha: skipped ($(tail -n 1 "$out"))"; return; fi
	[ $rc = 0 ] || log "ha: bench/ha.sh failed (exit $rc): figures so far only"
	while IFS= read -r line; do
		name=${line%%:*} v=${line#*: }
		u=${v#* } v=${v%% *}
		fig "$name" "$v" "$u"
	done < <(grep -E '^ha_[a-z0-9_]+: ' "$out")
}

trap cleanup EXIT
trap 'exit 130' INT TERM
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "mosh-helper bench: $(nproc) CPUs, kernel $(uname -r), $ROUNDS rounds, ${WIN}s windows, load average $LOAD0"
setup
for item in ${BENCH_ITEMS:-mux muxcost pinholes fast servers slow roam attack daemonmem muxflood floodsess rebuild review gwfast readback relay gwresync klroam klgarbage ha}; do
	"bench_$item"
done
summary
write_json
echo "bench took $((SECONDS - T_START)) s"
