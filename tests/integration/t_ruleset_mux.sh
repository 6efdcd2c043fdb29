#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Single-port mode (mosh #295) of the nftables table on a real kernel,
# driven by tests/nfttool without the daemon: public port 60000, session
# port 60005 with a UDP listener, client and server namespaces over veth,
# IPv4 and IPv6. (1) an unknown source on the public port is not delivered
# (no queue reader: fail closed) and gets no ICMP; (2) a provisional mapping
# delivers to 60005, the reply leaves from 60000 (conntrack NAT), and the
# mapping expires on time while the client keeps sending, after which the
# conntrack entry alone lets nothing in; (3) a confirmed mapping lives while
# the client sends and expires after it stops; (4) a datagram sent straight
# to 60005 is dropped even with a pinhole, also when an admin's notrack
# rule leaves it untracked (and, as a control, passes once single-port mode
# is turned off by a reload); (5) a non-session range port sends to no
# unpinholed peer, and with the opt-in local flows (an adopting reload) it
# does and the replies to that flow pass.
# The form of mux_in's map lookups is the one `nfttool probe-map` finds
# (a value register on kernels before 6.5); MH_MAP_FORM=dreg or plain
# forces one (the dreg form works on newer kernels too).
# Needs root; exits 0 pass, 1 fail, 77 skip.
set -u

SRC=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MH_BUILD:-$SRC/build}
NFTTOOL=$BUILD/tests/nfttool
UDPSEND=$BUILD/tests/udpsend

P=mhmx$$
NS_S=$P-srv NS_C=$P-cli
SRV4=198.18.9.1 CLI4=198.18.9.2 SRV6=fd00:9::1 CLI6=fd00:9::2
PUB=60000 SPORT=60005
IDLE_MS=3000          # confirmed mappings (and pinholes) idle timeout
NETNS=("$NS_S" "$NS_C")
# shellcheck source=tests/integration/rulesetlib.sh
. "$(dirname "$0")/rulesetlib.sh"

fail_diag() {
	echo "---- nft list table inet mosh_helper (server ns)"
	ip netns exec "$NS_S" nft list table inet mosh_helper 2>/dev/null | sed 's/^/   /'
	echo "---- conntrack -L (server ns)"
	ip netns exec "$NS_S" conntrack -L -p udp 2>/dev/null | sed 's/^/   /'
}

# remaining ms of a mapping (confirmed|provisional) from dump-mux, empty if absent
mux_left() { # addr cport sport kind
	nfttool dump-mux | awk -v a="$1" -v c="$2" -v s="$3" -v k="$4" \
		'$1 == a && $2 == c && $3 == s && $4 == k { print $6 }'
}
# wait until FILE holds WANT lines matching PATTERN, at most MAX_MS (a
# loaded machine writes them late; the count is asserted afterwards)
rx_wait() { # file pattern want max_ms
	local i
	for i in $(seq $(( $4 / 20 ))); do   # bounded: max_ms / 20 polls
		[ "$(rx "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.02
	done
	return 0
}
# wait until the mapping is gone, at most $5 ms; prints the ms it took
wait_gone() { # addr cport sport kind max_ms
	local t0 t
	t0=$(now_ms)
	for _ in $(seq 200); do   # bounded: 200 polls of >= 50 ms
		t=$(( $(now_ms) - t0 ))
		[ -z "$(mux_left "$1" "$2" "$3" "$4")" ] && { echo "$t"; return 0; }
		[ "$t" -gt "$5" ] && break
		sleep 0.05
	done
	echo "$t"
	return 1
}

require_root
require_built "$NFTTOOL" "$UDPSEND"
require_cmds nft ip tcpdump
TMP=$(mktemp -d)

# ------------------------------------------------------------------ setup
veth_pair
link_pid=${PIDS[-1]}
kill "$link_pid" 2>/dev/null; reap "$link_pid"

FORM=${MH_MAP_FORM:-$(nfttool probe-map)}
case $FORM in dreg|plain) ;; *) fail "map lookup form: '$FORM'" ;; esac
MAPOPT=--map-$FORM
step "load single-port mode (public port $PUB), session port $SPORT, map lookups: $FORM"
nfttool load --idle $IDLE_MS --single-port $PUB $MAPOPT || fail "load"
if [ "$FORM" = dreg ]; then want='saddr . udp sport map @muxp4 != '; else want='saddr . udp sport @muxp4 accept'; fi
S nft list chain inet mosh_helper mux_in 2>/dev/null | grep -qF "$want" ||
	fail "mux_in's provisional IPv4 rule is not in the $FORM form ('$want')"
ok "mux_in's map lookups in the $FORM form"
nfttool add-session $SPORT || fail "add session"
S nft list chain inet mosh_helper mux_nat >/dev/null 2>&1 || fail "no mux_nat chain"
ok "loaded"

# Listeners: the session's server port and, as a witness, the public port
# itself (nothing may ever be delivered to it); ICMP capture on the client.
bg "$NS_S" "$TMP/rx" /dev/null "$UDPSEND" recv $SPORT 300000
bg "$NS_S" "$TMP/rxpub" /dev/null "$UDPSEND" recv $PUB 300000
bg "$NS_C" "$TMP/icmp" "$TMP/tcpdump.err" \
	tcpdump -i "$P-c" -n -l -U 'icmp or (icmp6 and ip6[40] == 1)'
for _ in $(seq 100); do
	grep -q ready "$TMP/rx" && grep -q ready "$TMP/rxpub" &&
		grep -q "listening on" "$TMP/tcpdump.err" && break
	sleep 0.1
done
grep -q "listening on" "$TMP/tcpdump.err" || fail "tcpdump did not start"
grep -q ready "$TMP/rx" || fail "listener on $SPORT did not start"

run_family() { # 4 or 6
	local f=$1 SRV CLI base e t n0 n1 sender d0 d1
	if [ "$f" = 4 ]; then SRV=$SRV4 CLI=$CLI4 base=40100; else SRV=$SRV6 CLI=$CLI6 base=40200; fi
	local CP1=$((base + 1)) CP2=$((base + 2)) CP3=$((base + 3)) CP4=$((base + 4))
	local CP5=$((base + 5)) ct

	step "IPv$f (1): unknown source on the public port: not delivered, no ICMP"
	C "$UDPSEND" send --from $CP1 "$SRV" $PUB 3 || fail "send"
	sleep 0.5
	eq "delivered to the session port" 0 "$(rx "$TMP/rx" "^$CLI $CP1 ")"
	eq "delivered to the public port itself" 0 "$(rx "$TMP/rxpub" "^$CLI ")"
	eq "ICMP messages to the client" 0 "$(wc -l <"$TMP/icmp")"

	step "IPv$f (2): provisional mapping, 4 s"
	# the client's listener first: the mapping's 4 s start at add-mux
	bg "$NS_C" "$TMP/crx$CP2" /dev/null "$UDPSEND" recv $CP2 30000
	for _ in $(seq 50); do grep -q ready "$TMP/crx$CP2" && break; sleep 0.02; done
	nfttool add-pinhole "$CLI" $CP2 $SPORT 60000 || fail "add pinhole"
	nfttool add-mux "$CLI" $CP2 $SPORT 4000 --provisional || fail "add provisional mapping"
	t0=$(now_ms)
	e=$(mux_left "$CLI" $CP2 $SPORT provisional)
	[ -n "$e" ] && [ "$e" -le 4000 ] && [ "$e" -gt 0 ] ||
		fail "dump-mux: provisional mapping left '$e' ms, want (0, 4000]"
	ok "dump-mux shows $CLI $CP2 -> $SPORT provisional, $e ms left"
	[ -z "$(mux_left "$CLI" $CP2 $SPORT confirmed)" ] || fail "listed as confirmed too"
	C "$UDPSEND" send --from $CP2 "$SRV" $PUB 1 || fail "send"
	rx_wait "$TMP/rx" "^$CLI $CP2 " 1 1000
	eq "datagram to $PUB delivered to $SPORT" 1 "$(rx "$TMP/rx" "^$CLI $CP2 ")"
	S "$UDPSEND" send --from $SPORT "$CLI" $CP2 1 || fail "send reply"
	rx_wait "$TMP/crx$CP2" "^$SRV $PUB " 1 1000
	eq "reply from $SPORT reaches the client from port $PUB" 1 "$(rx "$TMP/crx$CP2" "^$SRV $PUB ")"
	eq "reply seen from the real port" 0 "$(rx "$TMP/crx$CP2" "^$SRV $SPORT ")"
	if command -v conntrack >/dev/null; then
		# original tuple to the public port, reply from the same address
		# and the session's port: only the port was translated
		ct=$(S conntrack -L -f "ipv$f" -p udp --orig-port-src $CP2 2>/dev/null)
		echo "$ct" | grep -q "dst=$SRV sport=$CP2 dport=$PUB .*src=$SRV dst=$CLI sport=$SPORT dport=$CP2" ||
			fail "conntrack entry is not a port-only DNAT: $ct"
		ok "conntrack: $CLI $CP2 -> $SRV $PUB translated to $SRV $SPORT (address kept)"
	fi
	# the client keeps sending every 200 ms for 6 s
	bg "$NS_C" /dev/null /dev/null "$UDPSEND" send --from $CP2 "$SRV" $PUB 30 200
	sender=${PIDS[-1]}
	sleep 0.5
	n0=$(rx "$TMP/rx" "^$CLI $CP2 ")
	[ "$n0" -ge 2 ] || fail "datagrams through the provisional mapping: $n0"
	t=$(wait_gone "$CLI" $CP2 $SPORT provisional 6000) ||
		fail "provisional mapping still there after $t ms of traffic"
	t=$(( $(now_ms) - t0 ))
	kill -0 "$sender" 2>/dev/null || fail "the sender stopped before the mapping expired"
	[ "$t" -ge 3500 ] && [ "$t" -le 5500 ] || fail "provisional mapping lived $t ms, want ~4000"
	ok "provisional mapping gone after $t ms while the client kept sending (not refreshed)"
	reap "$sender"
	n0=$(rx "$TMP/rx" "^$CLI $CP2 ")
	C "$UDPSEND" send --from $CP2 "$SRV" $PUB 3 || fail "send"
	sleep 0.3
	n1=$(rx "$TMP/rx" "^$CLI $CP2 ")
	eq "delivered after expiry (conntrack's NAT entry alone lets nothing in)" "$n0" "$n1"

	step "IPv$f (3): confirmed mapping, $IDLE_MS ms, refreshed by the client"
	nfttool add-pinhole "$CLI" $CP3 $SPORT 60000 || fail "add pinhole"
	nfttool add-mux "$CLI" $CP3 $SPORT $IDLE_MS || fail "add confirmed mapping"
	[ -n "$(mux_left "$CLI" $CP3 $SPORT confirmed)" ] || fail "confirmed mapping not listed"
	bg "$NS_C" /dev/null /dev/null "$UDPSEND" send --from $CP3 "$SRV" $PUB 10 500
	sender=${PIDS[-1]}
	sleep 4.2        # past the element's own 3 s
	e=$(mux_left "$CLI" $CP3 $SPORT confirmed)
	[ -n "$e" ] && [ "$e" -gt 2000 ] || fail "confirmed mapping not refreshed at 4.2 s (left: '$e' ms)"
	ok "alive at 4.2 s, $e ms left"
	reap "$sender"
	t0=$(now_ms)
	eq "datagrams through the confirmed mapping" 10 "$(rx "$TMP/rx" "^$CLI $CP3 ")"
	bg "$NS_C" "$TMP/crx$CP3" /dev/null "$UDPSEND" recv $CP3 30000
	for _ in $(seq 50); do grep -q ready "$TMP/crx$CP3" && break; sleep 0.02; done
	S "$UDPSEND" send --from $SPORT "$CLI" $CP3 1 || fail "send reply"
	sleep 0.2
	eq "reply reaches the client from port $PUB" 1 "$(rx "$TMP/crx$CP3" "^$SRV $PUB ")"
	t=$(wait_gone "$CLI" $CP3 $SPORT confirmed 5000) ||
		fail "confirmed mapping still there $t ms after the client stopped"
	t=$(( $(now_ms) - t0 ))
	[ "$t" -ge 1800 ] && [ "$t" -le 4500 ] || fail "confirmed mapping expired $t ms after the client stopped, want ~$IDLE_MS"
	ok "confirmed mapping gone $t ms after the client stopped"

	step "IPv$f (4): straight to the server's own port: dropped even with a pinhole"
	nfttool add-pinhole "$CLI" $CP4 $SPORT 60000 || fail "add pinhole"
	d0=$(counter mosh_in "reached only through the public port")
	C "$UDPSEND" send --from $CP4 "$SRV" $SPORT 3 || fail "send"
	sleep 0.3
	eq "direct datagrams delivered" 0 "$(rx "$TMP/rx" "^$CLI $CP4 ")"
	d1=$(counter mosh_in "reached only through the public port")
	eq "guard counter" $((d0 + 3)) "$d1"
	eq "ICMP messages to the client" 0 "$(wc -l <"$TMP/icmp")"

	step "IPv$f (4b): the same, untracked by an admin's notrack rule"
	S nft add table inet $P-raw || fail "raw table"
	S nft add chain inet $P-raw pre '{ type filter hook prerouting priority raw; }'
	S nft add rule inet $P-raw pre udp dport $SPORT notrack
	d0=$(counter mosh_in "conntrack cannot follow")
	C "$UDPSEND" send --from $CP4 "$SRV" $SPORT 2 || fail "send"
	sleep 0.3
	S nft delete table inet $P-raw
	eq "untracked direct datagrams delivered" 0 "$(rx "$TMP/rx" "^$CLI $CP4 ")"
	eq "untracked guard counter" $((d0 + 2)) "$(counter mosh_in "conntrack cannot follow")"

	step "IPv$f (5): a non-session range port sends to nobody; with the opt-in local flows it does and its replies pass"
	bg "$NS_S" "$TMP/rx9$f" /dev/null "$UDPSEND" recv 60009 30000
	bg "$NS_C" "$TMP/crx$CP5" /dev/null "$UDPSEND" recv $CP5 30000
	for _ in $(seq 50); do
		grep -q ready "$TMP/rx9$f" && grep -q ready "$TMP/crx$CP5" && break
		sleep 0.02
	done
	S "$UDPSEND" send --from 60009 "$CLI" $CP5 1 || fail "send"
	sleep 0.2
	eq "strict (default): the host's own datagram from 60009 out" 0 "$(rx "$TMP/crx$CP5" "^$SRV 60009 ")"
	nfttool load --adopt --idle $IDLE_MS --single-port $PUB $MAPOPT --local-flows >/dev/null ||
		fail "adopting load with local flows"
	S "$UDPSEND" send --from 60009 "$CLI" $CP5 1 || fail "send"
	sleep 0.2
	eq "local flows: the host's own datagram from 60009 out" 1 "$(rx "$TMP/crx$CP5" "^$SRV 60009 ")"
	C "$UDPSEND" send --from $CP5 "$SRV" 60009 1 || fail "send"
	sleep 0.2
	eq "the peer's reply to 60009 in (localflows: the host opened the flow)" 1 "$(rx "$TMP/rx9$f" "^$CLI $CP5 ")"
	nfttool load --adopt --idle $IDLE_MS --single-port $PUB $MAPOPT >/dev/null ||
		fail "adopting load without local flows"
	S nft list table inet mosh_helper 2>/dev/null | grep -q localflows && fail "local-flow sets left"
	ok "local flows off again: their sets are gone"
}

run_family 4
run_family 6

step "mappings: delete, and errors"
nfttool add-mux $CLI4 40999 $SPORT || fail "add"
nfttool del-mux $CLI4 40999 $SPORT || fail "del"
[ -z "$(mux_left $CLI4 40999 $SPORT confirmed)" ] || fail "deleted mapping still listed"
out=$(nfttool del-mux $CLI4 40999 $SPORT 2>&1) && fail "deleting a missing mapping succeeded"
ok "missing mapping: $out"
nfttool add-mux $CLI6 40999 $SPORT --provisional || fail "add v6 provisional"
e=$(mux_left $CLI6 40999 $SPORT provisional)
[ -n "$e" ] && [ "$e" -gt 8000 ] && [ "$e" -le 10000 ] ||
	fail "map default (10 s) not applied: '$e' ms left"
ok "without a timeout the map's default applies ($e ms left)"

step "control: single-port mode off by a reload, the direct datagram passes"
nfttool load --idle $IDLE_MS || fail "reload without single-port"
for x in mux_pre mux_in mux_nat; do
	S nft list chain inet mosh_helper $x >/dev/null 2>&1 && fail "chain $x left over"
done
for x in mux4 mux6 muxp4 muxp6; do
	S nft list map inet mosh_helper $x >/dev/null 2>&1 && fail "map $x left over"
done
ok "mux chains and maps removed"
nfttool add-pinhole $CLI4 40104 $SPORT 60000 || fail "add pinhole"
n0=$(rx "$TMP/rx" "^$CLI4 40104 ")
C "$UDPSEND" send --from 40104 $SRV4 $SPORT 1 || fail "send"
sleep 0.3
eq "direct datagram with a pinhole, single-port off" $((n0 + 1)) "$(rx "$TMP/rx" "^$CLI4 40104 ")"
eq "anything delivered to the public port itself, whole run" 0 "$(rx "$TMP/rxpub" "^[0-9a-f]")"

nfttool delete || fail "delete"

echo
echo "PASS"
exit 0
