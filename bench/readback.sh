# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# shellcheck disable=SC2046  # median takes the numbers as words, as in run.sh
# Item readback of `make bench`, sourced by bench/run.sh (its helpers: nsx,
# bg, mkns, wait_for, wait_pid, median, fig, log, step, die): the gateway
# daemon's periodic read-back of its table at the scale of item gwfast,
# 100,000 pinholes (10,000 sessions of 10 pinholes each), timed by the
# daemon itself (readback_ms of `mosh-helperctl stats`, start to end, and
# readback_busy_ms, its slices alone: the daemon serves its other work
# between them), one every idle_timeout / 4 (here idle_timeout 20 s: one
# every 5 s), while control requests are timed (rb_probe): how long one
# waits behind a read-back. Two phases on the same table:
#   rearm: the pinholes expire within idle_timeout, and before each
#          read-back every key is noted in seen4, as if each client had sent
#          a datagram since the last one: the read-back re-arms all 100,000
#          (in batches of 512, nfq-helper/datapath/kernel.c);
#   dump:  then the pinholes are given an hour (an expiry moved forward,
#          which the next read-back learns): the read-back lists both sets
#          and re-arms nothing.
# The table is filled with nft (the daemon's table_flags = "none" lets it)
# while the daemon is stopped; a start adopts it (sessions held without keys
# for relay_orphan_grace). Printed, never asserted. Namespace rbk, no link.

# server addresses x ports sessions, 10 pinholes each: 100,000 by default
RB_SESS_ADDRS=${BENCH_RB_ADDRS:-10} RB_PORTS=1000 RB_PER=10

# rb_script SET KIND SUFFIX: an nft script that adds to SET the sessions
# (KIND sessions) or the pinhole keys, each followed by SUFFIX
rb_script() {
	local set=$1 kind=$2 suffix=$3
	awk -v set="$set" -v kind="$kind" -v sfx="$suffix" -v na="$RB_SESS_ADDRS" \
		-v np=$RB_PORTS -v per=$RB_PER '
	function flush() { if (n) printf "add element inet mosh_helper_gw %s { %s }\n", set, buf; buf = ""; n = 0 }
	function add(e) { buf = n ? buf ", " e : e; if (++n == 5000) flush() }
	BEGIN {
		for (a = 1; a <= na; a++)
			for (p = 60000; p < 60000 + np; p++) {
				if (kind == "sessions") { add("198.18.60." a " . " p); continue }
				for (j = 0; j < per; j++)
					add("198.19." j "." a " . " 40000 + p - 60000 " . 198.18.60." a " . " p sfx)
			}
		flush()
	}'
}

# rb_stat NAME: the daemon's stat NAME
rb_stat() { nsx rbk "$RB_CTL" -s "$TMP/rbk/control.sock" stats 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }'; }

# rb_next: wait (10 s at most) for the daemon's next read-back; its ms
rb_next() {
	local end=$((SECONDS + 10)) before
	before=$(rb_stat readbacks)
	while [ "$(rb_stat readbacks)" = "$before" ]; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2   # (each stats request counts every pinhole)
	done
	rb_stat readback_ms
}

# rb_probe OUT: in the background, `mosh-helperctl status` every 50 ms (at
# most 4000 times, 300 s), each answer's wall-clock us appended to OUT: how
# long a control request waits while the daemon reads back; its PID in
# RB_PROBE
rb_probe() {
	# shellcheck disable=SC2016  # the loop's own variables, expanded by its bash
	bg rbk "$1.log" timeout 300 bash -c '
		for ((i = 0; i < 4000; i++)); do
			t0=$(date +%s%N)
			"$0" -s "$1" status >/dev/null 2>&1 || echo "status failed" >&2
			echo $((($(date +%s%N) - t0) / 1000)) >>"$2"
			sleep 0.05
		done' "$RB_CTL" "$TMP/rbk/control.sock" "$1"
	RB_PROBE=$BG
}

# rb_answers FILE: "p50 p99 max" of the answer times in FILE, in ms
rb_answers() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		if (!NR) { print "nan nan nan"; exit }
		printf "%.1f %.1f %.1f\n", v[int((NR + 1) / 2)] / 1000,
			v[int(NR * 0.99 + 0.999)] / 1000, v[NR] / 1000 }'
}

rb_start() {
	bg rbk "$TMP/rbk/daemon.out" taskset -c 1 "$DAEMON" -c "$TMP/rbk/mosh-helper.conf" -f
	RB_PID=$BG
	wait_for "$TMP/rbk/daemon.out.err" 'ready \(gateway\)' 30 ||
		die "readback: the gateway did not start: $(tail -n 3 "$TMP/rbk/daemon.out.err")"
}

rb_stop() {
	kill -TERM "$RB_PID" 2>/dev/null
	wait_pid "$RB_PID" 20
}

bench_readback() {
	local n=$((RB_SESS_ADDRS * RB_PORTS * RB_PER))
	step "rb. gateway read-back: $n pinholes read back, dumped only and all re-armed"
	local rounds=${BENCH_RB_ROUNDS:-5} r ms n0 n1
	RB_CTL=$TMP/bin/mosh-helperctl
	cp "$B/mosh-helperctl" "$RB_CTL" || die "copying mosh-helperctl"
	[ -d "$TMP/certs" ] || sh "$SRC/tests/tools/mkcerts.sh" "$TMP/certs" >"$TMP/mkcerts.log" 2>&1 ||
		die "mkcerts.sh: $(tail -n 3 "$TMP/mkcerts.log")"
	chmod 755 "$TMP/certs"
	mkns rbk
	mkdir -p "$TMP/rbk" && chmod 755 "$TMP/rbk"
	cat >"$TMP/rbk/mosh-helper.conf" <<-EOF
	# written by bench/run.sh (item readback)
	role = "gateway";
	ports = "60000-61000";
	idle_timeout = 20;
	table_flags = "none";
	max_sessions = $((RB_SESS_ADDRS * RB_PORTS));
	max_pinholes_per_session = $RB_PER;
	relay_orphan_grace = 3600;
	control_socket = "$TMP/rbk/control.sock";
	tls_ca = "$TMP/certs/site-ca.pem";
	tls_cert = "$TMP/certs/gateway.pem";
	tls_key = "$TMP/certs/gateway.key";
	relay_listen = "127.0.0.1:7712";
	log_level = "info";
	audit_log = "";
	user = "";
	EOF
	rb_start   # makes the table, with its own set sizes
	rb_stop
	log "filling the stopped gateway's table: $((RB_SESS_ADDRS * RB_PORTS)) sessions," \
		"$((RB_SESS_ADDRS * RB_PORTS * RB_PER)) pinholes (timeout 20 s)"
	rb_script sessions4 sessions "" >"$TMP/rbk/sessions.nft"
	rb_script pinholes4 pinholes " timeout 20s" >"$TMP/rbk/pinholes.nft"
	rb_script pinholes4 pinholes " timeout 1h expires 1h" >"$TMP/rbk/hour.nft"
	# (with its timeout, idle_timeout / 2: an add of a key that is there
	# then moves its expiry, as a datagram's note does)
	rb_script seen4 pinholes " timeout 10s expires 10s" >"$TMP/rbk/seen.nft"
	nsx rbk nft -f "$TMP/rbk/sessions.nft" || die "readback: adding the sessions"
	nsx rbk nft -f "$TMP/rbk/pinholes.nft" || die "readback: adding the pinholes"
	rb_start
	log "$(grep -o 'adopted: [0-9].*' "$TMP/rbk/daemon.out.err" | head -n 1)"
	rb_probe "$TMP/rb-answer-rearm"
	for ((r = 0; r < rounds; r++)); do
		nsx rbk nft -f "$TMP/rbk/seen.nft" || die "readback: noting the seen keys"
		n0=$(rb_stat pinholes_rearmed)
		ms=$(rb_next) || die "readback: no read-back in 10 s"
		n1=$(rb_stat pinholes_rearmed) busy=$(rb_stat readback_busy_ms)
		log "  re-arm round $((r + 1)): $ms ms (its own work $busy ms)," \
			"$((n1 - n0)) pinholes re-armed, $(rb_stat pinholes) held"
		echo "$ms" >>"$TMP/rb-rearm"
		echo "$busy" >>"$TMP/rb-rearm-busy"
		echo $((n1 - n0)) >>"$TMP/rb-count"
	done
	kill -TERM "$RB_PROBE" 2>/dev/null
	wait_pid "$RB_PROBE" 5
	nsx rbk nft -f "$TMP/rbk/hour.nft" || die "readback: giving the pinholes an hour"
	rb_next >/dev/null || die "readback: no read-back in 10 s"   # learns the hour
	rb_probe "$TMP/rb-answer-dump"
	for ((r = 0; r < rounds; r++)); do
		n0=$(rb_stat pinholes_rearmed)
		ms=$(rb_next) || die "readback: no read-back in 10 s"
		busy=$(rb_stat readback_busy_ms)
		log "  dump round $((r + 1)): $ms ms (its own work $busy ms)," \
			"$(($(rb_stat pinholes_rearmed) - n0)) re-armed, $(rb_stat pinholes) held"
		echo "$ms" >>"$TMP/rb-dump"
		echo "$busy" >>"$TMP/rb-dump-busy"
	done
	kill -TERM "$RB_PROBE" 2>/dev/null
	wait_pid "$RB_PROBE" 5
	log "the daemon's longest read-back: $(rb_stat readback_max_ms) ms;" \
		"warnings: $(grep -c 'read-back of table' "$TMP/rbk/daemon.out.err")"
	fig gw_readback_pinholes "$n" "pinholes (BENCH_RB_ADDRS x 1000 sessions x 10)"
	fig gw_readback_dump_ms "$(median $(cat "$TMP/rb-dump"))" \
		"ms (read-back of the pinholes, none to re-arm, start to end; its own work $(median $(cat "$TMP/rb-dump-busy")) ms; median of $rounds)"
	fig gw_readback_rearm_ms "$(median $(cat "$TMP/rb-rearm"))" \
		"ms (the same, every pinhole re-armed: $(median $(cat "$TMP/rb-count")) a round; its own work $(median $(cat "$TMP/rb-rearm-busy")) ms; median of $rounds)"
	local a
	read -r -a a <<<"$(rb_answers "$TMP/rb-answer-rearm")"
	fig gw_readback_answer_max_ms "${a[2]}" \
		"ms (the longest a control request waited during the re-arm rounds; p50 ${a[0]}, p99 ${a[1]}, $(wc -l <"$TMP/rb-answer-rearm") requests every 50 ms)"
	read -r -a a <<<"$(rb_answers "$TMP/rb-answer-dump")"
	log "control requests during the dump rounds: p50 ${a[0]} ms, p99 ${a[1]} ms, max ${a[2]} ms"
	rb_stop
}
