#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Single-port mode (issue 4, mosh #295) with the real mosh: three concurrent
# sessions of two users reached through ONE public UDP port, the client
# being stock mosh-client told that port by the hook. Typed output is right
# in each (no cross-talk); each roams through the router's SNAT and keeps
# working; one exits and only its mappings go; the servers' own ports are
# unreachable from outside. MH_FAMILY=6 runs it over IPv6.
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/udptool
mh_setup
PUB=60000
MH_IDLE=8
mh_start_daemon "single_port = { enable = true; port = $PUB; };"

# map NAME: "addr cport sport" per element of map NAME (mux4, muxp6, ...)
map_elems() {
	mh_nsx "$NS_S" nft list map inet "$MH_TABLE" "$1" 2>/dev/null | tr '\n' ' ' |
		sed -n 's/.*elements = {\([^}]*\)}.*/\1/p' | tr ',' '\n' |
		awk 'NF >= 5 { print $1, $3, $NF }'
}
mux() { map_elems "mux$MH_FAMILY"; }
real_port() { # the UDP port mosh-server pid $1 is bound to
	mh_nsx "$NS_S" ss -Hulnp | awk -v p="pid=$1," 'index($0, p) { n = split($4, a, ":"); print a[n]; exit }'
}
has_session() { mh_has_session "$1"; }

mh_step "single port: three sessions of two users through UDP port $PUB (IPv$MH_FAMILY)"
declare -A REAL KEY
n=0
for spec in mhtest1:c1 mhtest1:c2 mhtest2:c3; do
	user=${spec%%:*} name=${spec#*:}
	mh_session "$user"
	mh_assert_eq "the client of $name is told the public port" "$PUB" "$MH_PORT"
	REAL[$name]=$(real_port "$MH_SPID")
	KEY[$name]=$MH_KEY
	mh_log "$name: mosh-server of $user on its own port ${REAL[$name]}"
	mh_assert "port ${REAL[$name]} is a session and not the public port" \
		test -n "${REAL[$name]}" -a "${REAL[$name]}" != "$PUB"
	mh_client_start "$name" "$PUB" "$MH_KEY"
	n=$((n + 1))
done
mh_assert "three different server ports" \
	test "$(printf '%s\n' "${REAL[@]}" | sort -u | wc -l)" = 3

# typed text comes back in NAME and nowhere else
only_in() {
	local name=$1 tag="XT$RANDOM$RANDOM" other
	mh_type "$name" "echo $tag-\$((6*7))"
	mh_wait_screen "$name" "$tag-42" 20 || return 1
	for other in c1 c2 c3; do
		[ "$other" = "$name" ] && continue
		mh_screen_has "$other" "$tag" && { echo "   cross-talk: $tag in $other"; return 1; }
	done
	return 0
}
for name in c1 c2 c3; do
	mh_assert "typed output comes back in $name, and only there" only_in "$name"
done

# every pinhole (a p R) has its confirmed mapping a . p : R
mapped() { # name addr
	local r=${REAL[$1]} ph
	ph=$(mh_find_pinholes "$2" "$(mh_snat_ports)" "$r" | head -n1)
	[ -n "$ph" ] && mux | grep -qx "$ph"
}
for name in c1 c2 c3; do
	mh_assert "$name: a confirmed mapping $(mh_snat_addr) -> port ${REAL[$name]}" \
		mh_wait 5 mapped "$name" "$(mh_snat_addr)"
done
mh_log "confirmed mappings: $(mux | tr '\n' ',')"

mh_step "single port: the router changes the clients' source address"
old_addr=$(mh_snat_addr)
if [ "$MH_FAMILY" = 6 ]; then mh_roam_addr fd00:3::11; else mh_roam_addr 198.18.3.11; fi
for name in c1 c2 c3; do
	mh_assert "$name keeps working after the roam" only_in "$name"
	mh_assert "$name: a new mapping from $(mh_snat_addr) -> port ${REAL[$name]}" \
		mh_wait 5 mapped "$name" "$(mh_snat_addr)"
done
old_gone() { ! mux | grep -q "^$old_addr "; }
mh_assert "the old mappings expire within idle_timeout + 4 s" mh_wait $((MH_IDLE + 4)) old_gone

mh_step "single port: the servers' own ports are unreachable from outside"
quiet() { local a; a=$(mh_udp_in); sleep 1; [ "$a" = "$(mh_udp_in)" ]; }
mh_tcpdump "$NS_A" "$MH_TMP/atk.pcap" "(ip src $SRV4) or (ip6 src $SRV6)"
cap=$MH_TCPDUMP_PID
for name in c1 c2 c3; do
	# authentic datagrams, newer than the client's, straight at the real
	# port: mosh-server would take them as a roam if they got through
	mh_udptool "$NS_A" send "$SRV" "${REAL[$name]}" --sealed "${KEY[$name]}" 100000 10 || mh_fail udptool
	mh_udptool "$NS_A" send "$SRV" "${REAL[$name]}" --garbage 10 || mh_fail udptool
done
sleep 2
mh_tcpdump_stop "$cap"
mh_assert_eq "nothing came back to the attacker" 0 "$(mh_pcap_count "$MH_TMP/atk.pcap")"
atk_mapped() { { mux; map_elems "muxp$MH_FAMILY"; mh_pinholes; } | grep -q "^$ATK "; }
mh_assert_not "no mapping or pinhole for the attacker" atk_mapped
for name in c1 c2 c3; do
	mh_assert "$name still works (mosh-server did not follow the attacker)" only_in "$name"
done

mh_step "single port: one user exits; only that session's mappings go"
r3=${REAL[c3]}
mh_type c3 "exit"
gone3() { ! has_session "$r3" && ! mux | grep -q " $r3\$"; }
mh_assert "port $r3 and its mappings are gone within 2 s" mh_wait 2 gone3
for name in c1 c2; do
	mh_assert "$name's mapping is still there" mapped "$name" "$(mh_snat_addr)"
	mh_assert "$name still works" only_in "$name"
done

mh_pass "single port (IPv$MH_FAMILY)"
