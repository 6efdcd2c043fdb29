#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The gateway role's privileged core (issue 13), with real mosh: the daemon
# in role = gateway on the forwarding gateway (tests/gwseam: mosh-helperd
# whole, plus a test stand-in for the relay listener that reads relay
# messages from a FIFO and calls the seam of nfq-helper/gwcore.h, exactly
# as the TLS listener will), mosh-server on two login servers behind it,
# mosh-client in the client namespace behind a NAT router.
# Checks: closed by default (attacker and client probes deliver 0, 0 ICMP);
# sessions announced through the seam (IPv4 on both servers, IPv6 on
# server1) type through the gateway, each pinhole opened only by the
# server's own reply; a roam of the client's address; the attacker's probes
# deliver 0, a replay of the client's datagrams opens nothing, nor do
# mosh-server's captured replies forged to that replay's source from
# outside (the reverse-path rule drops them); a
# server's session port sending to the attacker: 0 leave the gateway; END
# closes that session at once; a relay that goes away and resyncs keeps
# what it lists and loses the rest after the grace; a SIGKILLed gateway
# leaves the range closed, and restarted adopts its table (sessions held
# keyless until the relay's resync gives the key back; a roam then works);
# the table stays at stop.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gwlib.sh"

mh_require_build tests/gwseam tests/udpsend tests/spoofsend
mh_require_tools mosh-server mosh-client tmux conntrack openssl
UDPSEND=$MH_BUILD/tests/udpsend
SPOOF=$MH_BUILD/tests/spoofsend
gw_setup
mh_users
MH_TMUX=$MH_TMP/tmux.sock
ATK4=198.18.2.2 ATK6=fd00:2::2

# ---------------------------------------------------------------- helpers

# gw_server NS ADDR: a mosh-server of mhtest1 in NS bound to ADDR; sets
# MH_PORT, MH_KEY, MH_SPID.
gw_server() {
	local n=$((${MH_NSESS:-0} + 1)); MH_NSESS=$n
	local out=$MH_TMP/srv$n.out err=$MH_TMP/srv$n.err
	timeout 30 ip netns exec "$1" runuser -u mhtest1 -- \
		env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$(getent passwd mhtest1 | cut -d: -f6)" \
		USER=mhtest1 SHELL=/bin/sh /usr/bin/mosh-server new -i "$2" -l LANG=C.UTF-8 \
		</dev/null >"$out" 2>"$err" || mh_fail "mosh-server in $1 failed: $(cat "$err")"
	mh_parse_connect "$out" "$err"
	[ -n "$MH_PORT" ] || mh_fail "mosh-server in $1 printed no MOSH CONNECT line"
	mh_log "mosh-server in $1 on $2 port $MH_PORT (pid $MH_SPID)"
}

seam() { # one relay message line through the FIFO; waits for its answer
	local before
	before=$(grep -c "gwseam: " "$MH_DAEMON_LOG")
	echo "$*" >"$SEAM" || mh_fail "writing to the seam FIFO"
	mh_wait 5 eval "[ \$(grep -c 'gwseam: ' '$MH_DAEMON_LOG') -gt $before ]" ||
		mh_fail "no answer to '$*'"
	grep "gwseam: " "$MH_DAEMON_LOG" | tail -n1 | sed 's/^.*gwseam: /   seam: /'
}

seam_answer_is() { # pattern: the last answer matches
	grep "gwseam: " "$MH_DAEMON_LOG" | tail -n1 | grep -q -E -- "-> $1"
}

client() { # name server-address port key
	SRV=$2
	mh_client_start "$1" "$3" "$4"
}

probes() { # fam: the attacker and the client at all three sessions' ports and a free one
	local a s p
	for a in "$NS_A" "$NS_C"; do
		if [ "$1" = 6 ]; then
			send "$a" 50010 "$SRV1_6" "$P3" 5
			send "$a" 50010 "$SRV1_6" 60999 5
		else
			send "$a" 50010 "$SRV1_4" "$P1" 5
			send "$a" 50010 "$SRV2_4" "$P2" 5
			send "$a" 50010 "$SRV1_4" 60999 5
		fi
	done
	sleep 0.5
}

send() { mh_nsx "$1" "$UDPSEND" send --from "$2" "$3" "$4" "${5:-1}" 5 >/dev/null || mh_fail "udpsend in $1"; }

# Datagrams of the probes (source ports 50010, 50020) that reach the
# servers, counted by captures in both server namespaces while fn runs
# (the live sessions' own datagrams do not count).
probe_arrivals() { # fn args...: prints the count
	local c1 c2
	mh_tcpdump "$NS_S" "$MH_TMP/pa1.pcap" udp and '(src port 50010 or src port 50020)' >/dev/null
	c1=$MH_TCPDUMP_PID
	mh_tcpdump "$NS_S2" "$MH_TMP/pa2.pcap" udp and '(src port 50010 or src port 50020)' >/dev/null
	c2=$MH_TCPDUMP_PID
	"$@" >/dev/null
	sleep 0.5
	mh_tcpdump_stop "$c1"
	mh_tcpdump_stop "$c2"
	echo $(($(mh_pcap_count "$MH_TMP/pa1.pcap") + $(mh_pcap_count "$MH_TMP/pa2.pcap")))
}

closed_check() { # what fam
	local n i0 c0
	i0=$(gw_unreach_in "$NS_A") c0=$(gw_unreach_in "$NS_C")
	n=$(probe_arrivals probes "$2")
	mh_check_eq "$1: IPv$2 probes delivered to the servers" 0 "$n"
	mh_check_eq "$1: IPv$2 ICMP unreachables to the attacker" 0 $(($(gw_unreach_in "$NS_A") - i0))
	mh_check_eq "$1: IPv$2 ICMP unreachables to the client" 0 $(($(gw_unreach_in "$NS_C") - c0))
}

# ---------------------------------------------------------------- set-up

mh_step "certificates (the listener will load them; the core only needs the keys set)"
sh "$MH_SRC/tests/tools/mkcerts.sh" "$MH_TMP/pki" >"$MH_TMP/mkcerts.log" 2>&1 ||
	mh_fail "mkcerts.sh: $(tail -n 3 "$MH_TMP/mkcerts.log")"

mh_step "mosh-servers: server1 (IPv4 and IPv6) and server2 (IPv4), before the gateway knows them"
gw_server "$NS_S" "$SRV1_4"; P1=$MH_PORT K1=$MH_KEY
gw_server "$NS_S2" "$SRV2_4"; P2=$MH_PORT K2=$MH_KEY
gw_server "$NS_S" "$SRV1_6"; P3=$MH_PORT K3=$MH_KEY

mh_step "the gateway daemon (role = gateway) with the test seam"
SEAM=$MH_TMP/seam.fifo
mkfifo "$SEAM"
MH_CONF=$MH_TMP/gw.conf
gw_conf "$MH_CONF" "$MH_TMP/pki" 198.18.3.1:7710 4 2 "$MH_TMP/audit.log"
MH_DAEMON_LOG=$MH_TMP/daemon.log
start_gw() {
	local n
	n=$(grep -c 'ready (gateway)' "$MH_DAEMON_LOG" 2>/dev/null)
	ip netns exec "$NS_G" env MH_GWSEAM="$SEAM" "$MH_BUILD/tests/gwseam" -c "$MH_CONF" -f \
		>>"$MH_DAEMON_LOG" 2>&1 &
	MH_DAEMON_PID=$!
	disown "$MH_DAEMON_PID"
	mh_wait 15 eval "[ \$(grep -c 'ready (gateway)' '$MH_DAEMON_LOG') -gt ${n:-0} ]" ||
		mh_fail "the gateway daemon did not start: $(tail -n 5 "$MH_DAEMON_LOG")"
	mh_log "gateway daemon pid $MH_DAEMON_PID"
}
start_gw
mh_assert "table inet $GW_TABLE is there" mh_nsx "$NS_G" nft list table inet "$GW_TABLE"
mh_assert "it is owned and persistent (fail-closed)" \
	eval "mh_nsx '$NS_G' nft list table inet '$GW_TABLE' | grep -q 'flags owner'"
mh_assert "the host's table is not installed" eval "! mh_nsx '$NS_G' nft list table inet mosh_helper >/dev/null 2>&1"

mh_step "closed by default: no session yet"
closed_check "no session" 4
closed_check "no session" 6

mh_step "relays up, sessions opened through the seam"
seam up 1 /CN=relay-1 relay-1
seam up 2 /CN=relay-2 relay-2
seam open 1 11 "$SRV1_4" "$P1" "$K1"
mh_assert "OPEN server1 v4 answered ok" seam_answer_is ok
seam open 2 21 "$SRV2_4" "$P2" "$K2"
mh_assert "OPEN server2 answered ok" seam_answer_is ok
seam open 1 12 "$SRV1_6" "$P3" "$K3"
mh_assert "OPEN server1 v6 answered ok" seam_answer_is ok
seam open 2 22 "$SRV1_4" "$P1" "$K2"
mh_assert "relay-2's OPEN of relay-1's server port is refused: exists" seam_answer_is exists
seam end 2 11 "$SRV1_4" "$P1"
mh_assert "relay-2's END of relay-1's session: not_found" seam_answer_is not_found
mh_assert "sessions4 holds both servers' sessions" eval "gw_has_session 4 $SRV1_4 $P1 && gw_has_session 4 $SRV2_4 $P2"
mh_assert "sessions6 holds server1's" gw_has_session 6 "$SRV1_6" "$P3"
mh_assert "no pinhole yet" eval "! gw_set pinholes4 | grep -q elements && ! gw_set pinholes6 | grep -q elements"

mh_step "closed for everyone not authenticated, sessions or not"
closed_check "sessions, no pinhole" 4
closed_check "sessions, no pinhole" 6

mh_step "real mosh through the gateway: both servers over IPv4, server1 over IPv6"
client c1 "$SRV1_4" "$P1" "$K1"
client c2 "$SRV2_4" "$P2" "$K2"
client c3 "$SRV1_6" "$P3" "$K3"
mh_assert "c1 types through the gateway (server1, IPv4)" mh_roundtrip c1 20
mh_assert "c2 types through the gateway (server2)" mh_roundtrip c2 20
mh_assert "c3 types through the gateway (server1, IPv6)" mh_roundtrip c3 20
mh_assert "pinhole $NAT_4 -> $SRV1_4 $P1" mh_wait 5 gw_has_pinhole 4 "$NAT_4" "$SRV1_4" "$P1"
mh_assert "pinhole $NAT_4 -> $SRV2_4 $P2" mh_wait 5 gw_has_pinhole 4 "$NAT_4" "$SRV2_4" "$P2"
mh_assert "pinhole $NAT_6 -> $SRV1_6 $P3" mh_wait 5 gw_has_pinhole 6 "$NAT_6" "$SRV1_6" "$P3"
mh_assert "each pinhole was opened by the server's confirmed reply" \
	eval "[ \$(grep -c 'pinhole opened for' '$MH_DAEMON_LOG') -ge 3 ]"
mh_assert "the audit trail names the server address" \
	grep -q -E '"event":"pinhole_open".*"server":"\[?(198\.18\.0\.2|fd00::2)' "$MH_TMP/audit.log"

mh_step "a roam: the router maps the client to another address"
mh_nsx "$NS_R" ip addr add 198.18.3.3/24 dev rg
mh_nsx "$NS_R" nft flush table inet gw_nat
mh_nsx "$NS_R" nft add rule inet gw_nat post oifname rg ip saddr 198.18.1.0/24 snat ip to 198.18.3.3
mh_nsx "$NS_R" nft add rule inet gw_nat post oifname rg ip6 saddr fd00:1::/64 snat ip6 to "$NAT_6"
mh_nsx "$NS_R" conntrack -D -f ipv4 -p udp >/dev/null 2>&1
mh_assert "c1 types after the roam" mh_roundtrip c1 25
mh_assert "c2 types after the roam" mh_roundtrip c2 25
mh_assert "a pinhole from the new address 198.18.3.3 to server1" mh_wait 5 gw_has_pinhole 4 198.18.3.3 "$SRV1_4" "$P1"
mh_assert "the roam is audited" grep -q '"event":"roam"' "$MH_TMP/audit.log"

mh_step "attacker: probes to the live sessions, a replay of c1's datagrams, reflection"
closed_check "live sessions" 4
closed_check "live sessions" 6
# a replay: c1's own datagrams, captured at server1, sent again from
# the attacker's address (authentic, old: the slow path drops them)
mh_tcpdump "$NS_S" "$MH_TMP/c1.pcap" udp and dst host "$SRV1_4" and dst port "$P1"
cap=$MH_TCPDUMP_PID
# and mosh-server's replies to c1, for the forger below
mh_tcpdump "$NS_S" "$MH_TMP/s1.pcap" udp and src host "$SRV1_4" and src port "$P1"
cap2=$MH_TCPDUMP_PID
mh_roundtrip c1 15 >/dev/null
mh_tcpdump_stop "$cap"
mh_tcpdump_stop "$cap2"
nrep=$(mh_pcap_count "$MH_TMP/c1.pcap")
mh_assert "captured c1's datagrams to replay ($nrep)" test "$nrep" -ge 1
i0=$(gw_unreach_in "$NS_A")
n=$(probe_arrivals mh_udptool "$NS_A" replay "$SRV1_4" "$P1" "$MH_TMP/c1.pcap" --src-port 50020)
# as on a host: an authentic replay from a new source may reach
# mosh-server, which ignores it (it is old); it opens nothing, since only
# mosh-server's own reply opens a pinhole
mh_log "replayed datagrams that reached server1: $n (mosh-server ignores them)"
mh_check_eq "ICMP unreachables to the attacker after the replay" 0 $(($(gw_unreach_in "$NS_A") - i0))
mh_assert "no pinhole for the attacker" eval "! gw_set pinholes4 | grep -q 198.18.2.2"
# The replay made the attacker's 198.18.2.2:50020 a candidate of server1's
# session (authentic, from a new source; candidate_lifetime 10 s). Now a
# forger outside (the NAT router: its route to the attacker runs through
# the gateway) replays mosh-server's captured replies to that candidate,
# from server1's address and port. Authentic and, to the slow path, no
# older than any it saw (the pinholes pass the rest in the kernel): taken
# as mosh-server's reply they would open a pinhole for the attacker. The
# gateway's reverse-path rule drops them (server1 does not live behind
# the interface they came in by), the kernel's own check left off here.
mh_nsx "$NS_G" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
	net.ipv4.conf.go.rp_filter=0
nrep=$(mh_pcap_count "$MH_TMP/s1.pcap")
mh_assert "captured mosh-server's replies to forge ($nrep)" test "$nrep" -ge 1
rpf0=$(gw_rule_count gw_slow_out "reverse path")
mh_tcpdump "$NS_A" "$MH_TMP/forged.pcap" udp and src port "$P1"
cap=$MH_TCPDUMP_PID
mh_udptool "$NS_A" replay "$SRV1_4" "$P1" "$MH_TMP/c1.pcap" --src-port 50020 >/dev/null
mh_udptool "$NS_R" replay 198.18.2.2 50020 "$MH_TMP/s1.pcap" --spoof-src "$SRV1_4" \
	--src-port "$P1" >/dev/null || mh_fail "the forger's replay"
sleep 0.5
mh_tcpdump_stop "$cap"
mh_log "reverse-path drops: ${rpf0:-none} -> $(gw_rule_count gw_slow_out "reverse path")"
mh_check_eq "forged replies of server1 that reached the attacker" 0 "$(mh_pcap_count "$MH_TMP/forged.pcap")"
mh_assert "no pinhole for the attacker after the forged replies" \
	eval "! gw_set pinholes4 | grep -q 198.18.2.2"
mh_check_eq "the reverse-path rule dropped them" yes \
	"$([ "$(gw_rule_count gw_slow_out "reverse path")" -ge $((${rpf0:-0} + 1)) ] 2>/dev/null && echo yes)"

mh_tcpdump "$NS_A" "$MH_TMP/refl.pcap" udp
cap=$MH_TCPDUMP_PID
# (spoofsend's sources are the net's first hosts: .1 and .2, the server)
mh_nsx "$NS_S" "$SPOOF" "$ATK4" 40000 --net 198.18.0.0/30 --sources 2 --src-port "$P1" --count 10 >/dev/null ||
	mh_fail "spoofsend from server1's session port"
mh_nsx "$NS_S2" "$SPOOF" "$ATK4" 40000 --net 198.18.4.0/30 --sources 2 --src-port "$P2" --count 10 >/dev/null ||
	mh_fail "spoofsend from server2's session port"
send "$NS_S" 60998 "$ATK4" 40000 5
send "$NS_S" 60998 "$ATK6" 40000 5
sleep 0.5
mh_tcpdump_stop "$cap"
mh_check_eq "datagrams from the servers' range ports at the attacker" 0 "$(mh_pcap_count "$MH_TMP/refl.pcap")"
mh_assert "the sessions still type" eval "mh_roundtrip c1 15 && mh_roundtrip c2 15 && mh_roundtrip c3 15"

mh_step "END: relay-2 ends server2's session"
seam end 2 21 "$SRV2_4" "$P2"
mh_assert "END answered ok" seam_answer_is ok
mh_assert "server2's session left sessions4" gw_no_session 4 "$SRV2_4" "$P2"
mh_assert "and its pinhole left pinholes4" gw_no_pinhole 4 "$NAT_4" "$SRV2_4" "$P2"
a0=$(gw_udp_arrived "$NS_S2")
mh_type c2 "echo AFTER-END"
sleep 2
mh_check_eq "c2's datagrams delivered to server2 after END" 0 $(($(gw_udp_arrived "$NS_S2") - a0))

mh_step "the pinhole c1 left at its roam expires in the kernel; the read-back notices"
mh_assert "pinhole $NAT_4 -> $SRV1_4 $P1 expired (idle_timeout 8 s)" \
	mh_wait 15 gw_no_pinhole 4 "$NAT_4" "$SRV1_4" "$P1"
mh_assert "its record dropped and audited (pinhole_expired)" \
	mh_wait 5 grep -q '"event":"pinhole_expired".*"server":"198.18.0.2' "$MH_TMP/audit.log"

mh_step "relay-1 goes away and comes back on a new connection, listing only server1's IPv4 session"
seam down 1
seam up 3 /CN=relay-1 relay-1
seam begin 3 1
seam open 3 11 "$SRV1_4" "$P1" "$K1" resync
mh_assert "resync OPEN answered ok" seam_answer_is ok
seam done 3 1
mh_assert "RESYNC_END answered ok" seam_answer_is ok
mh_assert "the IPv6 session it left out ends after relay_resync_grace (2 s)" \
	mh_wait 6 gw_no_session 6 "$SRV1_6" "$P3"
mh_assert "and its pinhole with it" gw_no_pinhole 6 "$NAT_6" "$SRV1_6" "$P3"
sleep 5   # beyond relay_orphan_grace (4 s): the listed one was confirmed
mh_assert "the session it listed is kept past the orphan grace" gw_has_session 4 "$SRV1_4" "$P1"
mh_assert "c1 still types" mh_roundtrip c1 15

mh_step "the gateway daemon SIGKILLed: the range stays closed, pinholed sessions go on"
kill -KILL "$MH_DAEMON_PID"
mh_wait 5 mh_pid_gone "$MH_DAEMON_PID" || mh_fail "SIGKILL"
MH_DAEMON_PID=
closed_check "daemon killed" 4
mh_assert "c1 types with no daemon (its pinhole is in the kernel)" mh_roundtrip c1 15

mh_step "restarted: the table adopted, the session held without its key until relay-1 resyncs"
start_gw
mh_assert "one session and its pinholes adopted" \
	mh_daemon_log_has "adopted: 1 session kept without keys .*, [1-9][0-9]* pinholes?,"
mh_assert "c1 types through the restart" mh_roundtrip c1 15
closed_check "restarted, keyless" 4
seam up 4 /CN=relay-1 relay-1
seam begin 4 1
seam open 4 11 "$SRV1_4" "$P1" "$K1" resync
mh_assert "resync OPEN after the restart answered ok" seam_answer_is ok
seam done 4 1
mh_assert "RESYNC_END answered ok" seam_answer_is ok
sleep 5   # beyond relay_orphan_grace: the resync confirmed it
mh_assert "the session is kept past the orphan grace" gw_has_session 4 "$SRV1_4" "$P1"
mh_step "a roam after the restart (the slow path has the key again)"
opened=$(grep -c "pinhole opened for $NAT_4" "$MH_DAEMON_LOG")
mh_nsx "$NS_R" nft flush table inet gw_nat
mh_nsx "$NS_R" nft add rule inet gw_nat post oifname rg ip saddr 198.18.1.0/24 snat ip to "$NAT_4"
mh_nsx "$NS_R" conntrack -D -f ipv4 -p udp >/dev/null 2>&1
mh_assert "c1 types after roaming back to $NAT_4" mh_roundtrip c1 25
mh_assert "a pinhole from $NAT_4 to server1 again" mh_wait 5 gw_has_pinhole 4 "$NAT_4" "$SRV1_4" "$P1"
mh_assert "opened by the restarted daemon's slow path" \
	eval "[ \$(grep -c 'pinhole opened for $NAT_4' '$MH_DAEMON_LOG') -gt $opened ]"

mh_step "a relay that stays away: its sessions end after relay_orphan_grace (4 s)"
seam down 4
mh_assert "server1's session is still there at once" gw_has_session 4 "$SRV1_4" "$P1"
mh_assert "and gone within the grace + 2 s" mh_wait 6 gw_no_session 4 "$SRV1_4" "$P1"
mh_assert "its pinholes with it" eval "! gw_set pinholes4 | grep -q -F '$SRV1_4 . $P1'"

mh_step "stop: the table stays, closed"
kill -TERM "$MH_DAEMON_PID"
mh_wait 10 mh_pid_gone "$MH_DAEMON_PID" || mh_fail "the gateway daemon did not stop"
MH_DAEMON_PID=
mh_assert "table inet $GW_TABLE is still there" mh_nsx "$NS_G" nft list table inet "$GW_TABLE"
closed_check "daemon stopped" 4
mh_assert_no_sanitizer "$MH_DAEMON_LOG"

mh_pass "gateway core: sessions through the seam, real mosh forwarded, closed to the rest"
