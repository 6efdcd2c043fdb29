#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# An evicted pinhole closes at once, however the kernel is told. With one
# pinhole a session (max_pinholes_per_session = 1) every roam of the real
# mosh evicts the pinhole of the address it left: the daemon expires it in
# place by a timeout update where the kernel takes one (probed at start,
# logged), or deletes it. Either way the old pinhole is out of the set
# (a lookup treats an expired element as absent, as the listing does)
# within a second, long before idle_timeout, the new one stays and the
# session types. A daemon that left the evicted pinhole to its idle
# timeout, or a kernel that ignored the update while the probe said it
# took it, fails here. Last, the evicted client keeps sending (a flood
# from its address and port, spoofed by the router): a datagram in the
# expired element's last jiffy refreshes it, and the destroy at the
# daemon's next tick must still take it away while the flood goes on.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/spoofsend
mh_setup
MH_IDLE=30
mh_start_daemon "max_pinholes_per_session = 1;"

mh_step "evict: how this kernel is told"
mh_assert "the daemon logged how it evicts pinholes" mh_daemon_log_has "evicted pinholes: (expired in place|deleted)"
how=$(grep -o -E "evicted pinholes: (expired in place|deleted)" "$MH_DAEMON_LOG" | head -n1)
mh_log "$how"
mh_assert "the probe's pinhole is not left in the set" mh_no_pinhole 0.0.0.0 0 0 4

mh_step "evict: a live session (IPv$MH_FAMILY), one pinhole"
mh_live_session mhtest1 c1
port=$MH_PORT
mh_assert_eq "one pinhole for port $port" 1 "$(mh_pinholes_for_port "$port")"

# evicted OLD WHAT: after the router's change the session types, the new
# pinhole is there and the old one left within 1 s of it
evicted() {
	local old=$1 what=$2
	mh_assert "typed text comes back after the $what change" mh_roundtrip c1 20
	mh_assert "a new pinhole from $(mh_snat_addr) ports $(mh_snat_ports) appears" \
		mh_wait 5 mh_any_pinhole "$(mh_snat_addr)" "$(mh_snat_ports)" "$port"
	MH_PH=$(mh_find_pinholes "$(mh_snat_addr)" "$(mh_snat_ports)" "$port" | head -n1)
	# shellcheck disable=SC2086
	mh_assert "the evicted pinhole ($old) is gone within 1 s (idle_timeout is $MH_IDLE s)" \
		mh_wait 1 mh_no_pinhole $old
	mh_assert_eq "one pinhole for port $port" 1 "$(mh_pinholes_for_port "$port")"
	mh_assert "typed text still comes back" mh_roundtrip c1 15
}

mh_step "evict: the router changes the client's source port"
old=$MH_PH
mh_roam_port 42000-42099
evicted "$old" port

mh_step "evict: the router changes the client's source address"
old=$MH_PH
if [ "$MH_FAMILY" = 6 ]; then mh_roam_addr fd00:3::11; else mh_roam_addr 198.18.3.11; fi
evicted "$old" address

mh_step "evict: the evicted client keeps sending (IPv4)"
if [ "$MH_FAMILY" = 4 ]; then
	read -r ph_addr ph_cport _ <<<"$MH_PH"
	# the router's own flood is not tracked: its NAT would move a source
	# port its clients' mappings hold
	mh_nsx "$NS_R" nft -f - <<NFT || mh_fail "router: notrack rule"
table ip t_evict {
	chain out {
		type filter hook output priority raw; policy accept;
		ip saddr $ph_addr udp sport $ph_cport notrack
	}
}
NFT
	mh_ns_bg "$NS_R" "$MH_TMP/flood" "$MH_BUILD/tests/spoofsend" "$SRV4" "$port" \
		--src "$ph_addr" --src-port "$ph_cport" --pps 20000 --seconds 6 --len 60
	flood=$MH_BG_PID
	mh_assert "the flood runs" mh_wait 5 grep -q ready "$MH_TMP/flood"
	old=$MH_PH
	mh_roam_port 43000-43099
	mh_assert "typed text comes back after the port change" mh_roundtrip c1 20
	mh_assert "a new pinhole from $(mh_snat_addr) ports $(mh_snat_ports) appears" \
		mh_wait 5 mh_any_pinhole "$(mh_snat_addr)" "$(mh_snat_ports)" "$port"
	# shellcheck disable=SC2086
	mh_assert "the evicted pinhole ($old) is gone within 2 s, flood or not" \
		mh_wait 2 mh_no_pinhole $old
	sleep 1
	mh_assert "the flood still runs" kill -0 "$flood"
	# shellcheck disable=SC2086
	mh_assert "and it does not come back" mh_no_pinhole $old
	mh_assert_eq "one pinhole for port $port" 1 "$(mh_pinholes_for_port "$port")"
	mh_assert "typed text still comes back" mh_roundtrip c1 15
	mh_nsx "$NS_R" nft delete table ip t_evict
fi

mh_assert_no_sanitizer "$MH_DAEMON_LOG"
mh_pass "evicted pinholes close at once ($how)"
