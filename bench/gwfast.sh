# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# shellcheck disable=SC2046  # median/paired/iqr take the numbers as words, as in run.sh
# Item gwfast of `make bench` (issue 13), sourced by bench/run.sh (its
# helpers: nsx, bg, mkns, wait_for, wait_pid, field, median, paired, iqr,
# fig): the perimeter gateway's fast path. The sender in `cl` floods
# through a forwarding namespace to a receiver behind it, two paths side by
# side: (g) the gateway table (nft/gateway.c, loaded by tests/nfttool)
# holding the flow's pinhole among 100,000, (o) a forward chain that accepts
# `udp dport 60000-61000`, (f) the floor of any pinhole check: one rule in
# the base chain that accepts the range on a lookup of the same 100,000
# pinholes, nothing else (no seen note, no accept mark, no jump). On veths
# the whole path (send, forward, the rules, delivery) runs in the sender
# CPU's softirq, so the figure is the sender CPU's time per datagram,
# per-round pairs, median. Printed, never asserted. Addresses:
# 198.18.50-55.0/24.

GWF_PINHOLES=${BENCH_GW_PINHOLES:-100000}

# gwf_path NAME N: cl --198.18.N.0/24-- gNAME --198.18.(N+1).0/24-- dNAME
gwf_path() {
	local g=g$1 d=d$1 n=$2
	mkns "$g"; mkns "$d"
	ip -n "$P-cl" link add "v$g" type veth peer name eth0 netns "$P-$g" || die veth
	ip -n "$P-$g" link add eth1 type veth peer name eth0 netns "$P-$d" || die veth
	ip -n "$P-cl" addr add "198.18.$n.1/24" dev "v$g"
	ip -n "$P-$g" addr add "198.18.$n.2/24" dev eth0
	ip -n "$P-$g" addr add "198.18.$((n + 1)).1/24" dev eth1
	ip -n "$P-$d" addr add "198.18.$((n + 1)).2/24" dev eth0
	ip -n "$P-cl" link set "v$g" up
	ip -n "$P-$g" link set eth0 up
	ip -n "$P-$g" link set eth1 up
	ip -n "$P-$d" link set eth0 up
	ip -n "$P-cl" route add "198.18.$((n + 1)).0/24" via "198.18.$n.2"
	ip -n "$P-$d" route add default via "198.18.$((n + 1)).1"
	nsx "$g" sysctl -qw net.ipv4.ip_forward=1
}

gwf_setup() {
	local err=$TMP/gwf-nfttool.err
	gwf_path gw 50
	gwf_path op 52
	gwf_path fl 54
	nsx gop nft -f - <<-EOF || die "gwfast: open forward ruleset"
	table inet bench_gw_open {
		chain forward { type filter hook forward priority -10; policy accept;
			udp dport 60000-61000 accept comment "status quo: the range open at the perimeter"
		}
	}
	EOF
	nsx gfl nft -f - <<-EOF || die "gwfast: floor ruleset"
	table inet bench_gw_floor {
		set pinholes4 { type ipv4_addr . inet_service . ipv4_addr . inet_service;
			size $GWF_PINHOLES; flags dynamic,timeout; timeout 1h; }
		chain forward { type filter hook forward priority -10; policy accept;
			udp dport 60000-61000 ip saddr . udp sport . ip daddr . udp dport @pinholes4 accept comment "floor: the lookup alone"
			udp dport 60000-61000 drop
		}
	}
	EOF
	nsx gfl "$NFTTOOL" gw-add-pinhole 198.18.54.1 40000 198.18.55.2 "$PORT" --table bench_gw_floor \
		2>>"$err" || die "gwfast: $(cat "$err")"
	nsx gfl "$NFTTOOL" gw-add-pinhole 198.18.128.0 40000 198.18.55.2 "$PORT" --table bench_gw_floor \
		--count $((GWF_PINHOLES - 1)) 2>>"$err" || die "gwfast: $(cat "$err")"
	nsx ggw "$NFTTOOL" gw-load --idle 3600000 --set-size "$GWF_PINHOLES" 2>"$err" ||
		die "gwfast: gw-load: $(cat "$err")"
	nsx ggw "$NFTTOOL" gw-add-session 198.18.51.2 "$PORT" 2>>"$err" || die "gwfast: $(cat "$err")"
	nsx ggw "$NFTTOOL" gw-add-pinhole 198.18.50.1 40000 198.18.51.2 "$PORT" 2>>"$err" ||
		die "gwfast: $(cat "$err")"
	nsx ggw "$NFTTOOL" gw-add-pinhole 198.18.128.0 40000 198.18.51.2 "$PORT" \
		--count $((GWF_PINHOLES - 1)) 2>>"$err" || die "gwfast: $(cat "$err")"
	GWF_N=$(nsx ggw "$NFTTOOL" gw-dump | grep -c '^pinhole ')
	log "(g) gateway table: $GWF_N pinholes, the flow 198.18.50.1:40000 -> 198.18.51.2:$PORT among them"
}

# gwf_one PATH: one sample through gPATH to dPATH
gwf_one() {
	local p=$1 dst out=$TMP/gwf-recv.out rate cost
	case $p in gw) dst=198.18.51.2 ;; op) dst=198.18.53.2 ;; *) dst=198.18.55.2 ;; esac
	bg "d$p" "$out" taskset -c 1 "$FLOOD" recv "$PORT" "$WIN" --warmup-ms 300
	local rpid=$BG
	wait_for "$out" ready 5 || { log "receiver in d$p did not start"; return; }
	nsx cl timeout $((WIN + 15)) taskset -c 0 "$FLOOD" send "$dst" "$PORT" $((WIN + 1)) \
		--src-port 40000 --len 100 >"$TMP/gwf-send.out" 2>&1
	wait_pid "$rpid" 10
	rate=$(field "$out" rate)
	cost=$(field "$TMP/gwf-send.out" ns_per_dgram)
	log "  $p: received ${rate:-?}/s, ${cost:-?} CPU ns per datagram"
	echo "${rate:-nan}" >>"$TMP/gwf-$p.samples"
	echo "${cost:-nan}" >>"$TMP/gwf-$p.ns"
}

bench_gwfast() {
	step "gw. gateway fast path: forwarded sendmmsg flood, 100-byte datagrams, cl -> gateway ns -> server ns"
	gwf_setup
	log "(g) ggw: the gateway table, $GWF_N pinholes  (o) gop: forward 'udp dport 60000-61000 accept'"
	log "(f) gfl: the same pinholes, one base-chain rule that looks them up and accepts, nothing else"
	local r paths=(gw op fl) i
	for ((r = 0; r < ROUNDS; r++)); do
		log "round $((r + 1))/$ROUNDS"
		for ((i = 0; i < 3; i++)); do gwf_one "${paths[(i + r) % 3]}"; done
	done
	fig gw_fastpath_pinholes "$GWF_N" "elements in pinholes4"
	fig gw_fastpath_gw_ns "$(median $(cat "$TMP/gwf-gw.ns"))" "CPU ns per forwarded datagram (median)"
	fig gw_fastpath_open_ns "$(median $(cat "$TMP/gwf-op.ns"))" "CPU ns per forwarded datagram (median)"
	fig gw_fastpath_ratio "$(median $(paired "$TMP/gwf-op.ns" "$TMP/gwf-gw.ns"))" \
		"(g/o capacity = CPU ns o / CPU ns g, per-round pairs, median; quartiles $(iqr $(paired "$TMP/gwf-op.ns" "$TMP/gwf-gw.ns")))"
	fig gw_fastpath_floor_ratio "$(median $(paired "$TMP/gwf-op.ns" "$TMP/gwf-fl.ns"))" \
		"(f/o: a bare pinhole lookup, the most any pinhole check can reach; quartiles $(iqr $(paired "$TMP/gwf-op.ns" "$TMP/gwf-fl.ns")))"
	fig gw_fastpath_ratio_wall "$(median $(paired "$TMP/gwf-gw.samples" "$TMP/gwf-op.samples"))" \
		"(g/o received datagrams/s, per-round pairs, median; noisy on a shared machine)"
}
