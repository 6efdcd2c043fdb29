# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# shellcheck disable=SC2034  # variables here are used by the sourcing scripts
# The flood of t_delete_sticks.sh (host table) and t_gw_delete_sticks.sh
# (gateway table): datagrams at full speed from exactly one pinhole's
# client address and port to its server port, from spoofsend's raw socket,
# while the daemon deletes that pinhole. Source lib.sh first.
# Knobs (environment):
#   MH_DS_ROUNDS    deletes checked, one a round (default 10, at most 10)
#   MH_DS_FLOODERS  flooders at once (default: the CPUs less one, for the
#                   daemon's delete to run beside the packet path; 1 to 4)
#   MH_DS_LEN       UDP payload bytes (default 1: the most datagrams a second)
# Each flooder is bounded: at most 5 runs of spoofsend back to back, each
# at most 8 s and 2 million datagrams (spoofsend's own limit; a fast
# machine sends that many before a round's check, so one run would not
# do); each round ends its flooders by PID after some 3 s.

DS_ROUNDS=${MH_DS_ROUNDS:-10}
[ "$DS_ROUNDS" -ge 1 ] 2>/dev/null && [ "$DS_ROUNDS" -le 10 ] || DS_ROUNDS=10
DS_NFL=${MH_DS_FLOODERS:-$(($(nproc) - 1))}
[ "$DS_NFL" -ge 1 ] 2>/dev/null || DS_NFL=1
[ "$DS_NFL" -le 4 ] || DS_NFL=4
DS_LEN=${MH_DS_LEN:-1}
# After the delete: DS_GRACE s, then the datagrams that pass in DS_WINDOW s
# are counted (none may), then the set is read (the element must be gone).
DS_GRACE=0.2 DS_WINDOW=0.5
DS_FLOOD_PIDS=() DS_FLOOD_OUT='' DS_FLOOD_T0='' DS_SENT=0 DS_PPS=0

# ds_skip_if_refreshed LOG: a daemon that says its rules still refresh
# pinholes (a kernel that cannot update an element's timeout, before
# 6.10: the README's Hardening keeps the limit there) is not tested.
ds_skip_if_refreshed() {
	if grep -q 'pinhole idle timeout: refreshed by the rules' "$1"; then
		mh_skip "this kernel cannot update an element's timeout: the daemon's rules refresh pinholes, a delete can be undone (README, Hardening)"
	fi
	return 0
}

# ds_flood_start NS OUT DST DPORT SRC SPORT: DS_NFL flooders in NS from
# SRC:SPORT to DST:DPORT (their output in OUT.1, OUT.2, ...); returns once
# each has started.
ds_flood_start() {
	local ns=$1 out=$2 k
	shift 2
	DS_FLOOD_PIDS=() DS_FLOOD_OUT=$out
	for k in $(seq 1 "$DS_NFL"); do
		# (a TERM ends the running spoofsend, which then prints its count)
		# shellcheck disable=SC2016  # expanded by the inner bash
		mh_ns_bg "$ns" "$out.$k" bash -c '
			trap "kill -TERM \$c 2>/dev/null; wait \$c; exit 0" TERM
			for i in 1 2 3 4 5; do "$0" "$1" "$2" --src "$3" --src-port "$4" \
				--len "$5" --seconds 8 --count 2000000 & c=$!; wait $c; done' \
			"$MH_BUILD/tests/spoofsend" "$1" "$2" "$3" "$4" "$DS_LEN"
		DS_FLOOD_PIDS+=("$MH_BG_PID")
	done
	for k in $(seq 1 "$DS_NFL"); do
		mh_wait 5 grep -q ready "$out.$k" || mh_fail "flooder $k ($out.$k) did not start"
	done
	DS_FLOOD_T0=$EPOCHREALTIME
}

# True while every flooder still runs.
ds_flood_running() {
	local p
	for p in "${DS_FLOOD_PIDS[@]}"; do kill -0 "$p" 2>/dev/null || return 1; done
}

# ds_flood_stop: the flooders ended (by PID); DS_SENT datagrams sent in
# all, DS_PPS a second on average.
ds_flood_stop() {
	local p t1
	for p in "${DS_FLOOD_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${DS_FLOOD_PIDS[@]}"; do mh_wait 5 mh_pid_gone "$p" || mh_fail "flooder $p did not stop"; done
	t1=$EPOCHREALTIME
	DS_SENT=$(cat "$DS_FLOOD_OUT".* | awk '$1 == "sent" { s += $2 } END { print s + 0 }')
	DS_PPS=$(awk -v n="$DS_SENT" -v a="$DS_FLOOD_T0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
	DS_FLOOD_PIDS=()
}

# ds_rounds NS DST SRC: the DS_ROUNDS rounds, the flood from NS, SRC
# (address) to DST. The caller defines, for CPORT SPORT: ds_name (the
# stray as the steps name it), ds_add (the stray, an hour's timeout),
# ds_deleted (the daemon's delete is seen), ds_present (the element is in
# the set); and passed (datagrams let through so far, counted past the
# daemon's table). Sets DS_UNDONE, DS_LET_IN, DS_REACHED; checks each is
# as it must be.
ds_rounds() {
	local ns=$1 dst=$2 src=$3 r cport sport a0 a_del a_chk state
	local results=() sent_total=0 t_start=$SECONDS

	DS_UNDONE=0 DS_LET_IN=0 DS_REACHED=0
	for r in $(seq 1 "$DS_ROUNDS"); do
		cport=$((40100 + r)) sport=$((60200 + r))
		mh_step "round $r of $DS_ROUNDS: stray $(ds_name "$cport" "$sport"), flooded from its own address and port"
		ds_flood_start "$ns" "$MH_TMP/flood$r" "$dst" "$sport" "$src" "$cport"
		a0=$(passed)
		ds_add "$cport" "$sport" || mh_fail "nft add element (round $r)"
		mh_wait 6 ds_deleted "$cport" "$sport" ||
			mh_fail "round $r: the daemon did not delete the stray within 6 s"
		sleep "$DS_GRACE"
		a_del=$(passed)
		sleep "$DS_WINDOW"
		a_chk=$(passed)
		ds_flood_running || mh_fail "round $r: a flooder ended before the check"
		state=stuck
		if ds_present "$cport" "$sport"; then
			state=undone DS_UNDONE=$((DS_UNDONE + 1))
		fi
		ds_flood_stop
		sent_total=$((sent_total + DS_SENT)) DS_LET_IN=$((DS_LET_IN + a_chk - a_del))
		[ "$a_del" -gt "$a0" ] && DS_REACHED=$((DS_REACHED + 1))
		mh_log "round $r: delete $state; the flood sent $DS_SENT datagrams (~$DS_PPS/s), $((a_del - a0)) passed up to $DS_GRACE s after the delete, $((a_chk - a_del)) in the $DS_WINDOW s after that"
		results+=("$state")
		# no flood now: the next read-back removes a stray that came back
		mh_wait 5 eval "! ds_present $cport $sport" ||
			mh_fail "round $r: the stray is still there 5 s after its flood ended"
	done
	mh_step "result"
	mh_log "rounds: ${results[*]}; $DS_UNDONE of $DS_ROUNDS deletes undone; $sent_total datagrams sent in all ($DS_NFL flooder(s)); $((SECONDS - t_start)) s"
	mh_check_eq "rounds whose flood the pinhole let through before its delete" "$DS_ROUNDS" "$DS_REACHED"
	mh_check_eq "deletes undone by the pinhole's own flood (of $DS_ROUNDS)" 0 "$DS_UNDONE"
	mh_check_eq "flood datagrams let through after a delete" 0 "$DS_LET_IN"
}
