#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# mh-test: alone
# Single-port mode under a spoofed-source flood (issue 11, finding 2): two
# real mosh sessions on the public port; the attacker sends garbage of
# random lengths 1-1500 from random addresses of 198.19.0.0/16 (a tenth of
# it with a plausible to-server header) at 20,000 datagrams/s for at most
# 30 s while the router moves both clients to a new address. Both roam
# and keep working; the kernel drops what cannot be a client's SSP
# datagram (short, impossible header) before the queue, so the daemon
# sees only the plausible tenth; no mapping or pinhole ever names a
# spoofed source; the daemon's CPU over the flood is printed.
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/spoofflood
mh_setup
PUB=60000
MH_IDLE=30
mh_start_daemon "single_port = { enable = true; port = $PUB; };"
# the spoofed sources have no route back: no reverse-path filter on the way
for ns in "$NS_R" "$NS_S"; do
	mh_nsx "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	for f in /proc/sys/net/ipv4/conf/*/rp_filter; do mh_nsx "$ns" sh -c "echo 0 >$f" 2>/dev/null; done
done

# packets counted by the mux_in rule whose comment has $1
rule_packets() {
	mh_nsx "$NS_S" nft list chain inet "$MH_TABLE" mux_in 2>/dev/null |
		grep -F "$1" | grep -o -E 'packets [0-9]+' | awk '{ s += $2 } END { print s + 0 }'
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$MH_DAEMON_PID/stat"; }
spoofed_state() { # mappings or pinholes naming a 198.19.x.y source
	local m
	for m in mux4 muxp4; do
		mh_nsx "$NS_S" nft list map inet "$MH_TABLE" "$m" 2>/dev/null
	done | grep -c -E '198\.19\.[0-9]+\.[0-9]+'
	mh_pinholes 4 | grep -c -E '^198\.19\.'
}

mh_step "flood: two live sessions through port $PUB"
mh_session mhtest1
mh_client_start c1 "$PUB" "$MH_KEY"
mh_session mhtest2
mh_client_start c2 "$PUB" "$MH_KEY"
mh_assert "c1 round trip" mh_roundtrip c1 20
mh_assert "c2 round trip" mh_roundtrip c2 20

mh_step "flood: spoofed garbage at the public port while both clients roam"
short0=$(rule_packets "shorter than any SSP datagram") hdr0=$(rule_packets "not a client's SSP header")
tick0=$(cpu_ticks) t0=$SECONDS
mh_nsx "$NS_A" "$MH_BUILD/tests/spoofflood" "$SRV4" "$PUB" 30 600000 --prefix 198.19 \
	--len 1 1500 --plausible 10 --pps 20000 >"$MH_TMP/flood.out" 2>&1 &
flood=$!
MH_PIDS+=("$flood")
sleep 2
mh_roam_addr 198.18.3.11
mh_assert "c1 works after the roam, under the flood" mh_roundtrip c1 20
mh_assert "c2 works after the roam, under the flood" mh_roundtrip c2 20
mh_assert "the flood was still running during both roams" kill -0 "$flood"
mh_assert_eq "no mapping or pinhole for a spoofed source" "0 0" "$(spoofed_state | tr '\n' ' ' | sed 's/ $//')"
wait "$flood"
tick1=$(cpu_ticks) secs=$((SECONDS - t0))
sent=$(awk '$1 == "sent" { print $2 }' "$MH_TMP/flood.out")
short=$(($(rule_packets "shorter than any SSP datagram") - short0))
hdr=$(($(rule_packets "not a client's SSP header") - hdr0))
mh_log "flood: $(cat "$MH_TMP/flood.out"); kernel drops: short $short, impossible header $hdr"
mh_log "daemon CPU over the ${secs} s of flood: $(((tick1 - tick0) * 1000 / $(getconf CLK_TCK))) ms"
mh_assert "the flood sent at least 100,000 datagrams" test "${sent:-0}" -ge 100000
# random lengths 1-1500: 39 of 1,500 are under 40 bytes (2.6%); 90% of the
# rest have a random header (a 2^-24 chance of 3 zero bytes)
mh_assert "the kernel dropped the short ones (>= 1.5% of the flood)" \
	test $((short * 1000)) -ge $((sent * 15))
mh_assert "the kernel dropped the impossible headers (>= 80% of the flood)" \
	test $((hdr * 100)) -ge $((sent * 80))
mh_log "daemon decisions: $(grep -o 'drop [^ ]* -> [^ ]*:'$PUB': [a-z_]*' "$MH_DAEMON_LOG" | awk '{print $NF}' | sort | uniq -c | tr -s ' \n' ' ')"

mh_step "flood: both sessions still work afterwards"
mh_assert "c1 works" mh_roundtrip c1 20
mh_assert "c2 works" mh_roundtrip c2 20

mh_pass "single port under a spoofed-source flood"
