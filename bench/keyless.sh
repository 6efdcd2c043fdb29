# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# shellcheck disable=SC2046  # median/paired/iqr take the numbers as words, as in run.sh
# Items klroam and klgarbage of `make bench` (issue 16, host role), sourced
# by bench/run.sh (its helpers: fs_ns, daemon_start, roam_one, nsx, bg,
# wait_for, wait_pid, field, median, paired, iqr, fig): keyless mode's roam
# round trip against the bare queue path, and the garbage it lets through to
# mosh-server at a sender's maximum rate. Namespaces kl (keyless daemon),
# kk (keyed daemon, for information), kq (the reference: the helper's table
# loaded by the builders and the accept-all queue loop, no daemon), kz
# (keyless, no audit trail, warnings only: a what-if), kg (keyless daemon,
# product defaults): 198.18.60-64.0/24 from cl, 198.19.60-64.0/24 from at.
# Printed, never asserted.

KL_RAISED=100000   # per-session budget where it must not bind (latency)

# kl_echo NS PORT MODE [--keyless]: mhecho as $USER_ announced to NS's daemon
kl_echo() {
	local ns=$1 port=$2 mode=$3 k
	k=$(newkey)
	KEY[$ns-$port]=$k
	bg "$ns" "$TMP/$ns-echo-$port" taskset -c 0-1 "${AS_USER[@]}" "$MHECHO" "$port" 900 --key "$k" \
		"--$mode" --announce "$TMP/$ns/control.sock" "${@:4}"
	KL_ECHO[$ns-$port]=$BG
	wait_for "$TMP/$ns-echo-$port" ready 10 || die "mhecho $ns:$port: $(cat "$TMP/$ns-echo-$port.err")"
}
declare -A KL_ECHO

kl_setup_roam() {
	local err=$TMP/kq-nfttool.err
	fs_ns kl 60; fs_ns kk 61; fs_ns kq 62; fs_ns kz 64
	DAEMON_EXTRA="keyless = true;
slow_path_rate_per_session = $KL_RAISED;" daemon_start kl 1000000
	DAEMON_EXTRA="keyless = true;
slow_path_rate_per_session = $KL_RAISED;" daemon_start kz 1000000 quiet
	DAEMON_EXTRA="slow_path_rate_per_session = $KL_RAISED;" daemon_start kk 1000000
	kl_echo kl 60002 echo --keyless
	kl_echo kz 60002 echo --keyless
	kl_echo kk 60002 echo
	# the reference: the same table, rates raised alike, both directions
	# through the accept-all loop (as item 4's)
	nsx kq "$NFTTOOL" load --idle 600000 --rate 1000000 --per-source 0 --per-session "$KL_RAISED" \
		2>"$err" || die "nfttool load (kq): $(cat "$err")"
	nsx kq "$NFTTOOL" add-session 60002 2>>"$err" || die "nfttool add-session: $(cat "$err")"
	KEY["kq-60002"]=$(newkey)
	bg kq "$TMP/kq-echo-60002" taskset -c 0-1 "${AS_USER[@]}" "$MHECHO" 60002 900 --key "${KEY["kq-60002"]}" --echo
	wait_for "$TMP/kq-echo-60002" ready 10 || die "mhecho kq: $(cat "$TMP/kq-echo-60002.err")"
	bg kq "$TMP/kq-ref.out" taskset -c 1 "$NFQREF" 0 600 --maxlen 4096 --multi
	wait_for "$TMP/kq-ref.out" ready 5 || die "nfq_ref in kq did not start: $(cat "$TMP/kq-ref.out.err")"
}

bench_klroam() {
	step "kl. keyless roam: first datagram from a new source, keyless daemon vs the bare queue path"
	kl_setup_roam
	local b blocks=${BENCH_KL_BLOCKS:-8}
	log "slow_path_rate_per_session raised to $KL_RAISED/s in all three (the budget must not pace the roams);"
	log "$blocks blocks of 200 samples per target, the targets taking turns; ratios per block"
	# mosh-like sequence numbers (a client counts from 0): keyless mode
	# takes a number past 2^40 for no client's (keyless.h), and the
	# clock-based default of roam is far past it; each run starts above
	# every number sent before (200 samples never send 100,000)
	local seq=1000 t ns label
	for ((b = 0; b < blocks; b++)); do
		log "block $((b + 1))/$blocks"
		for t in "kq klref" "kl keyless" "kk keyed" "kz klquiet"; do
			read -r ns label <<<"$t"
			roam_one "$ns" newsrc 200 "$label" --seq-base "$seq"
			seq=$((seq + 100000))
		done
	done
	fig keyless_roam_rtt_p50_us "$(median $(cat "$TMP/roam-keyless.p50"))" \
		"us (keyless: visible checks, delivered unverified, candidate, mosh-server's reply confirms)"
	fig keyless_roam_rtt_p99_us "$(median $(cat "$TMP/roam-keyless.p99"))" "us (median of the blocks' p99)"
	fig keyless_ref_queue_rtt_p50_us "$(median $(cat "$TMP/roam-klref.p50"))" \
		"us (both directions through the accept-all reference queue)"
	fig keyless_keyed_roam_rtt_p50_us "$(median $(cat "$TMP/roam-keyed.p50"))" "us (keyed daemon, same set-up: information)"
	fig keyless_roam_extra_rtt_ratio "$(median $(paired "$TMP/roam-keyless.p50" "$TMP/roam-klref.p50"))" \
		"(keyless p50 / reference queue p50, per-block pairs, median; quartiles $(iqr $(paired "$TMP/roam-keyless.p50" "$TMP/roam-klref.p50")))"
	fig keyless_quiet_roam_extra_rtt_ratio "$(median $(paired "$TMP/roam-klquiet.p50" "$TMP/roam-klref.p50"))" \
		"(WHAT-IF: keyless daemon with audit_log \"\" and log_level warning / reference, per block; quartiles $(iqr $(paired "$TMP/roam-klquiet.p50" "$TMP/roam-klref.p50")))"
	fig keyless_vs_keyed_roam_ratio "$(median $(paired "$TMP/roam-keyless.p50" "$TMP/roam-keyed.p50"))" \
		"(keyless p50 / keyed p50, per block: information)"
}

udp_in() { nsx "$1" awk '$1 == "Udp:" { if (h) { print $2; exit } h = 1 }' /proc/net/snmp; }
now_s() { date +%s.%N; }

# kl_flood NS LABEL SECONDS SPOOFSEND-ARGS...: a flood at NS's session port
# 60001 from at. Delivered: the datagrams mosh-server's socket (mhecho
# --stamps) read, with their arrival times; the sustained rate is taken
# from the arrivals 2 s after the first on (the budget's burst spent). The
# namespace's UDP InDatagrams over the whole flood + 1 s cross-check it.
kl_flood() {
	local ns=$1 label=$2 s=$3 fl=$TMP/kl-$1-$2.flood echo=$TMP/$1-echo-60001 a0 a3 t0 t3 fpid l0
	shift 3
	l0=$(wc -l <"$echo")
	a0=$(udp_in "$ns") t0=$(now_s)
	bg at "$fl" taskset -c 0 "$TMP/bin/spoofsend" "$(srv_addr_at "$ns")" 60001 --net 198.19.128.0/17 \
		--sources 4096 --pps 0 --len 100 --seconds "$s" --count 2000000 "$@"
	fpid=$BG
	wait_for "$fl" ready 5 || log "  $label: spoofsend not ready: $(cat "$fl.err")"
	wait_pid "$fpid" $((s + 10))
	sleep 1
	a3=$(udp_in "$ns") t3=$(now_s)
	KL_WHOLE=$(awk -v a="$a0" -v b="$a3" -v x="$t0" -v y="$t3" 'BEGIN { printf "%.2f\n", (b - a) / (y - x) }')
	# the least-squares slope of the running count over arrival time: every
	# arrival counts, so one late wake-up of the reader at either end of
	# the window does not move it (a ratio of the ends would, by ~1%);
	# printed to 0.1/s, what the reader's wake-ups on a loaded machine
	# leave of its resolution
	KL_STEADY=$(tail -n +$((l0 + 1)) "$echo" | awk '$1 == "arrival_ns" {
			if (!t1) t1 = $2
			if ($2 >= t1 + 2e9) { x = ($2 - t1) / 1e9; y += $3; n++; sx += x; sy += y; sxx += x * x; sxy += x * y } }
		END { d = n * sxx - sx * sx; if (n > 2 && d > 0) printf "%.1f\n", (n * sxy - sx * sy) / d; else if (!n) print 0; else print "n/a" }')
	KL_PPS=$(field "$fl" pps)
	log "  $label: flood $(grep '^sent' "$fl" || echo "n/a: $(tail -n 1 "$fl.err")"); delivered" \
		"$((a3 - a0)) in $(awk -v x="$t0" -v y="$t3" 'BEGIN { printf "%.1f", y - x }') s ($KL_WHOLE/s)," \
		"sustained (from 2 s after the first arrival) $KL_STEADY/s"
}

bench_klgarbage() {
	step "kl. keyless garbage: a spoofed flood at a session's port, what reaches mosh-server's socket"
	local s=${BENCH_KL_FLOOD_S:-20} budget
	[ "$s" -ge 4 ] && [ "$s" -le 60 ] || die "BENCH_KL_FLOOD_S must be 4..60"
	[ -x "$B/tests/spoofsend" ] || die "missing $B/tests/spoofsend (make bench builds it)"
	cp "$B/tests/spoofsend" "$TMP/bin/" || die "copying spoofsend"
	fs_ns kg 63
	DAEMON_EXTRA='keyless = true;' daemon_start kg 20000
	budget=$("$DAEMON" -c "$TMP/kg/mosh-helper.conf" --check-config 2>/dev/null |
		awk '$1 == "slow_path_rate_per_session" { gsub(";", "", $3); print $3 }')
	kl_echo kg 60001 drain --keyless --stamps
	# plausible headers first, on the fresh session: the highest sequence
	# number the daemon has seen is still low (the worst case)
	log "keyless daemon with the product's budgets (slow_path_rate 20000, per source 200, per session" \
		"${budget:-?}); session 60001 drained by its owner, no client; spoofsend from 4,096 forged" \
		"addresses of 198.19.128.0/17 at its maximum rate for $s s"
	kl_flood kg headers "$s" --ssp-seq 1000
	fig keyless_headers_flood_pps "${KL_PPS:-n/a}" "datagrams/s sent (to-server header, rising sequence numbers)"
	fig keyless_garbage_delivered_per_s "$KL_STEADY" \
		"datagrams/s read by mosh-server's socket, plausible headers (the worst case), sustained from 2 s after the first; whole flood + 1 s: $KL_WHOLE/s; budget ${budget:-?}/s"
	kl_flood kg garbage "$s"
	fig keyless_garbage_flood_pps "${KL_PPS:-n/a}" "datagrams/s sent (random bytes, 100 B)"
	fig keyless_garbage_random_delivered_per_s "$KL_STEADY" \
		"datagrams/s read by mosh-server's socket, sustained (whole flood + 1 s: $KL_WHOLE/s)"
	fig keyless_garbage_budget_per_s "${budget:-n/a}" "slow_path_rate_per_session (the target's bound)"
	kill -TERM "${KL_ECHO[kg-60001]}" 2>/dev/null
	wait_pid "${KL_ECHO[kg-60001]}" 5
	log "  mosh-server's socket (mhecho): $(tail -n 1 "$TMP/kg-echo-60001")"
}
