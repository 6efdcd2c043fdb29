# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# shellcheck disable=SC2046  # median/iqr take the numbers as words, as in run.sh
# Items relay and gwresync of `make bench` (issue 13), sourced by
# bench/run.sh (its helpers: nsx, bg, mkns, wait_for, wait_pid, kv, median,
# fig, AS_USER): a real relay daemon (role relay, namespace rly, 198.18.0.2,
# certificate relay-lab of tests/tools/mkcerts.sh) announcing to a real
# gateway daemon (role gateway, namespace rgw, 198.18.0.1:7710) over mutual
# TLS 1.3, and a host-role daemon (namespace rhs) as the same-run reference.
# Sessions come from bench/mhmany as an ordinary user (ports it binds, its
# own pid), as the hook's would. Printed, never asserted.

GR_GW=198.18.0.1 GR_SRV=198.18.0.2
GR_UP=0

# gr_conf FILE LINES...: a daemon's configuration, the bench's common keys first
gr_conf() {
	local f=$1 d
	d=$(dirname "$1")
	shift
	{
		echo "# written by bench/run.sh (relay/gateway items)"
		echo 'ports = "50000-60999";'
		echo 'idle_timeout = 600;'
		echo 'handshake_timeout = 3600;'
		echo 'session_timeout = 3600;'
		echo 'max_sessions = 12000;'
		echo 'max_sessions_per_relay = 12000;'
		echo 'max_sessions_per_user = 12000;'
		echo "log_level = \"${BENCH_GR_LOG:-info}\";"
		echo "audit_log = \"$d/audit.log\";"
		echo 'user = "";'
		printf '%s\n' "$@"
	} >"$f"
}

# gr_start NS LOG-REGEX: the daemon of $TMP/NS/mosh-helper.conf (the hard
# RLIMIT_NOFILE: one pidfd per session), its pid in GR_PID[NS], once its
# log (a fresh file each start) has LOG-REGEX (@listen: once the relay
# listener's port listens, for a gateway that logs warnings only; a
# listing of its table would cost the resync being timed)
gr_start() {
	local ns=$1 d=$TMP/$1 hard
	hard=$(ulimit -Hn)
	[ "$hard" = unlimited ] && hard=1048576
	bg "$ns" "$d/daemon.out" prlimit --nofile="$hard:$hard" taskset -c 1 "$DAEMON" \
		-c "$d/mosh-helper.conf" -f
	GR_PID[$ns]=$BG
	local end=$((SECONDS + 20))
	until if [ "$2" = @listen ]; then nsx "$ns" ss -Hltn 'sport = :7710' 2>/dev/null | grep -q .
		else grep -q -E "$2" "$d/daemon.out.err" 2>/dev/null; fi; do
		kill -0 "$BG" 2>/dev/null || die "daemon in $ns exited: $(tail -n 5 "$d/daemon.out.err")"
		[ $SECONDS -ge $end ] && die "daemon in $ns not ready in 20 s: $(tail -n 3 "$d/daemon.out.err")"
		sleep 0.02
	done
}
declare -A GR_PID

gr_setup() {
	[ "$GR_UP" = 1 ] && return
	local c
	command -v openssl >/dev/null 2>&1 || die "missing tool: openssl"
	command -v prlimit >/dev/null 2>&1 || die "missing tool: prlimit"
	for c in mhmany gwcount; do
		[ -x "$B/bench/$c" ] || die "missing $B/bench/$c (make bench builds it)"
		cp "$B/bench/$c" "$TMP/bin/" || die "copying $c"
	done
	sh "$SRC/tests/tools/mkcerts.sh" "$TMP/certs" >"$TMP/mkcerts.log" 2>&1 ||
		die "mkcerts.sh: $(tail -n 3 "$TMP/mkcerts.log")"
	chmod 755 "$TMP/certs"
	mkns rgw; mkns rly; mkns rhs
	ip -n "$P-rly" link add eth0 type veth peer name eth0 netns "$P-rgw" || die veth
	ip -n "$P-rgw" addr add "$GR_GW/24" dev eth0
	ip -n "$P-rly" addr add "$GR_SRV/24" dev eth0
	ip -n "$P-rgw" link set eth0 up
	ip -n "$P-rly" link set eth0 up
	mkdir -p "$TMP/rgw" "$TMP/rly" "$TMP/rhs" && chmod 755 "$TMP/rgw" "$TMP/rly" "$TMP/rhs"
	# (a gateway opens an admin control socket: ours stays in the temp dir)
	gr_conf "$TMP/rgw/mosh-helper.conf" 'role = "gateway";' "control_socket = \"$TMP/rgw/control.sock\";" \
		"tls_ca = \"$TMP/certs/site-ca.pem\";" "tls_cert = \"$TMP/certs/gateway.pem\";" \
		"tls_key = \"$TMP/certs/gateway.key\";" "tls_crl = \"$TMP/certs/site.crl\";" \
		"relay_listen = \"$GR_GW:7710\";" 'relay_orphan_grace = 120;' 'relay_resync_grace = 10;'
	gr_conf "$TMP/rly/mosh-helper.conf" 'role = "relay";' \
		"control_socket = \"$TMP/rly/control.sock\";" \
		"tls_ca = \"$TMP/certs/site-ca.pem\";" "tls_cert = \"$TMP/certs/relay-lab.pem\";" \
		"tls_key = \"$TMP/certs/relay-lab.key\";" "gateways = [ \"$GR_GW:7710\" ];" \
		"relay_addresses = [ \"$GR_SRV\" ];" 'relay_heartbeat = 1;'
	gr_conf "$TMP/rhs/mosh-helper.conf" "control_socket = \"$TMP/rhs/control.sock\";"
	gr_start rgw 'ready \(gateway\)'
	gr_start rly 'relay: gateway .* up'
	gr_start rhs 'ready: ports'
	log "gateway pid ${GR_PID[rgw]} in $P-rgw ($GR_GW:7710), relay pid ${GR_PID[rly]} in $P-rly" \
		"(certificate IP $GR_SRV), host reference pid ${GR_PID[rhs]} in $P-rhs; log level ${BENCH_GR_LOG:-info}, audit on"
	GR_UP=1
}

# gr_many NS BASE COUNT OUT [--times]: COUNT sessions announced by one mhmany
# as $USER_ to the daemon of NS; its pid in BG once it printed "ready"
gr_many() {
	local ns=$1 base=$2 n=$3 out=$4
	shift 4
	bg "$ns" "$out" "${AS_USER[@]}" "$TMP/bin/mhmany" "$base" "$n" 900 --announce "$TMP/$ns/control.sock" "$@"
	wait_for "$out" ready 120 || die "mhmany in $ns: $(tail -n 2 "$out.err")"
}

# p99 of the numbers on stdin (nearest rank)
pct99() { sort -g | awk '{ a[NR] = $1 } END { if (!NR) { print "nan"; exit } i = int(NR * 0.99 + 0.999); if (i > NR) i = NR; print a[i] }'; }
us_to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.3f\n", v / 1000; else print "nan" }'; }

bench_relay() {
	step "gw. relay announcement: hook's announcement to its answer through relay -> gateway (TLS) vs a host-role daemon"
	gr_setup
	local r per=${BENCH_RA_PER:-100} rounds=$ROUNDS ns t p pids
	[ "$per" -ge 1 ] && [ "$per" -le 250 ] || die "BENCH_RA_PER must be 1..250"
	log "$rounds rounds x $per announcements to each daemon, one at a time, the daemons taking turns"
	: >"$TMP/ra-rly.us"; : >"$TMP/ra-rhs.us"
	for ((r = 0; r < rounds; r++)); do
		pids=()
		for t in 0 1; do
			if (((r + t) % 2)); then ns=rhs; else ns=rly; fi
			gr_many "$ns" $((60000 + (r % 4) * 250)) "$per" "$TMP/ra-$ns-$r" --times
			pids+=("$BG")
			grep '^announce_us ' "$TMP/ra-$ns-$r" | awk '{ print $2 }' >>"$TMP/ra-$ns.us"
			log "  round $((r + 1)) $ns: $(grep '^ready' "$TMP/ra-$ns-$r"), p50 $(median $(awk '$1 == "announce_us" { print $2 }' "$TMP/ra-$ns-$r")) us"
		done
		# the sessions end with their process (the relay sends END)
		for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
		for p in "${pids[@]}"; do wait_pid "$p" 5; done
		sleep 0.5
	done
	local n50 n99 h50 h99
	n50=$(median $(cat "$TMP/ra-rly.us")) n99=$(pct99 <"$TMP/ra-rly.us")
	h50=$(median $(cat "$TMP/ra-rhs.us")) h99=$(pct99 <"$TMP/ra-rhs.us")
	fig relay_announce_p50_ms "$(us_to_ms "$n50")" "ms (relay -> gateway over TLS, $(wc -l <"$TMP/ra-rly.us") announcements)"
	fig relay_announce_p99_ms "$(us_to_ms "$n99")" "ms (p99 of all rounds; the same-run host-role reference below)"
	fig relay_announce_host_p50_ms "$(us_to_ms "$h50")" "ms (host-role daemon, $(wc -l <"$TMP/ra-rhs.us") announcements)"
	fig relay_announce_host_p99_ms "$(us_to_ms "$h99")" ms
	fig relay_announce_over_5ms "$(awk '$1 > 5000' "$TMP/ra-rly.us" | wc -l)" \
		"of $(wc -l <"$TMP/ra-rly.us") announcements over 5 ms (host-role reference: $(awk '$1 > 5000' "$TMP/ra-rhs.us" | wc -l); load average $(cut -d' ' -f1 /proc/loadavg))"
	fig relay_announce_extra_p50_ms "$(awk -v a="$n50" -v b="$h50" 'BEGIN { printf "%.3f\n", (a - b) / 1000 }')" \
		"ms (relay p50 - host p50: the gateway's round trip)"
	grep -h 'refused' "$TMP"/ra-*.err 2>/dev/null | head -n 3 | sed 's/^/   refused: /'
}

# gr_count TIMEOUT_S OUT: gwcount on the gateway's sessions4 (its
# set-element events, then one dump), ready
gr_count() {
	bg rgw "$2" taskset -c 0 "$TMP/bin/gwcount" mosh_helper_gw "$GR_N" $(($1 * 1000))
	GR_CPID=$BG
	wait_for "$2" ready 5 || die "gwcount: $(cat "$2.err")"
}
# gr_ms OUT KEY T0: ms from T0 (ns) to gwcount's KEY (ns), or nothing
gr_ms() { awk -v k="$2" -v t="$3" '$1 == "first_ns" { for (i = 1; i < NF; i++) if ($i == k && $(i + 1) > 0) printf "%.1f\n", ($(i + 1) - t) / 1e6 }' "$1"; }

# gr_hold N: N sessions held by the relay (and so by the gateway), 250 per
# mhmany, 4 processes announcing at once; each group's announcement p50
# logged (the relay checks each one against every UDP socket of the host)
gr_hold() {
	local n=$1 per=250 i k procs ok=0 refused=0 a b
	procs=$(((n + per - 1) / per))
	GR_HOLD=()
	for ((i = 0; i < procs; i += 4)); do
		for ((k = i; k < i + 4 && k < procs; k++)); do
			bg rly "$TMP/gr-many-$k" "${AS_USER[@]}" "$TMP/bin/mhmany" $((50000 + k * per)) \
				$((k == procs - 1 ? n - k * per : per)) 900 --announce "$TMP/rly/control.sock" --times
			GR_HOLD+=("$BG")
		done
		for ((k = i; k < i + 4 && k < procs; k++)); do
			wait_for "$TMP/gr-many-$k" ready 300 || die "mhmany $k: $(tail -n 2 "$TMP/gr-many-$k.err")"
			read -r a b <<<"$(awk '$1 == "ready" { print $3, $5 }' "$TMP/gr-many-$k")"
			ok=$((ok + a)) refused=$((refused + b))
		done
		[ $(((i + 4) % 8)) = 0 ] && log "  $ok sessions held (t=$((SECONDS - T_START))s); the last 1,000" \
			"announcements' p50 $(median $(for ((k = i; k < i + 4; k++)); do
				awk '$1 == "announce_us" { print $2 }' "$TMP/gr-many-$k" 2>/dev/null; done)) us"
	done
	log "sessions announced through the relay: $ok, refused $refused (t=$((SECONDS - T_START))s)"
	[ "$refused" = 0 ] || log "refusals: $(cat "$TMP"/gr-many-*.err | sort | uniq -c | sort -rn | head -n 3)"
	GR_N=$ok
}

# gr_round R TAG READY: the gateway SIGKILLed, its table deleted, started
# again (READY: gr_start's); this round's times appended to
# $TMP/gr-TAG.{first,all,apply}
gr_round() {
	local r=$1 f=$TMP/gr-$2 out=$TMP/gr-count-$2-$1 t0 ready first all
	{ kill -KILL "${GR_PID[rgw]}"; wait_pid "${GR_PID[rgw]}" 5; } 2>/dev/null
	nsx rgw nft delete table inet mosh_helper_gw 2>/dev/null
	gr_count 60 "$out"
	t0=$(date +%s%N)
	gr_start rgw "$3"
	ready=$((($(date +%s%N) - t0) / 1000000))
	wait_pid "$GR_CPID" 70
	first=$(gr_ms "$out" first_ns "$t0") all=$(gr_ms "$out" all_ns "$t0")
	log "  $2 round $((r + 1)): gateway seen ready after $ready ms (an upper bound: its log polled), first session" \
		"after ${first:-?} ms, all $GR_N after ${all:-?} ms ($(tail -n 1 "$out"))"
	echo "${all:-nan}" | awk '$1 ~ /^[0-9.]+$/ { printf "%.3f\n", $1 / 1000 }' >>"$f.all"
	echo "${first:-nan}" | awk '$1 ~ /^[0-9.]+$/ { printf "%.3f\n", $1 / 1000 }' >>"$f.first"
	awk -v a="${all:-x}" -v f="${first:-x}" 'BEGIN { if (a ~ /^[0-9.]+$/ && f ~ /^[0-9.]+$/) printf "%.3f\n", (a - f) / 1000 }' >>"$f.apply"
	sleep 1
}

bench_gwresync() {
	step "gw. gateway resync: a restarted gateway (its table gone) relearns the relay's sessions"
	gr_setup
	local n=${BENCH_GR_SESSIONS:-10000} r rounds=${BENCH_GR_ROUNDS:-3} out p f=$TMP/gr-installed q=$TMP/gr-quiet
	[ "$n" -ge 250 ] && [ "$n" -le 10750 ] || die "BENCH_GR_SESSIONS must be 250..10750"
	gr_hold "$n"
	out=$TMP/gr-count-held
	gr_count 30 "$out"
	wait_pid "$GR_CPID" 40
	log "the gateway's sessions4 before the restarts: $(awk '$1 == "first_ns" { print $8 }' "$out")"
	log "each round: gateway SIGKILLed, its table deleted (a rebooted firewall), gateway started;"
	log "time from its start to all $GR_N sessions in sessions4 (the kernel's set-element events, stamped"
	log "when read, then one dump to confirm)"
	for ((r = 0; r < rounds; r++)); do gr_round "$r" installed 'ready \(gateway\)'; done
	fig gw_resync_sessions "$GR_N" "sessions held by the relay (real relay daemon, real TLS)"
	fig gw_resync_10000_s "$(median $(cat "$f.all"))" \
		"s (gateway start to all in sessions4, median of $rounds; rounds: $(tr '\n' ' ' <"$f.all"))"
	fig gw_resync_first_s "$(median $(cat "$f.first"))" \
		"s (gateway start to the first session: its start-up, the relay's reconnection backoff, TLS, HELLO)"
	fig gw_resync_apply_s "$(median $(cat "$f.apply"))" "s (first to last session: the resync itself)"
	# WHAT-IF: the same gateway with no audit trail and log level warning
	sed -i -e 's/^log_level = .*/log_level = "warning";/' -e 's/^audit_log = .*/audit_log = "";/' \
		"$TMP/rgw/mosh-helper.conf"
	for ((r = 0; r < rounds; r++)); do gr_round "$r" quiet @listen; done
	fig gw_resync_quiet_10000_s "$(median $(cat "$q.all"))" \
		"s (WHAT-IF: gateway with audit_log \"\" and log_level warning; rounds: $(tr '\n' ' ' <"$q.all"))"
	fig gw_resync_quiet_apply_s "$(median $(cat "$q.apply"))" "s (WHAT-IF: first to last session)"
	for p in "${GR_HOLD[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${GR_HOLD[@]}"; do wait_pid "$p" 5; done
}
