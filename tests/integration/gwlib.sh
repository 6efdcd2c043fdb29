# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# shellcheck disable=SC2034  # variables here are used by the sourcing scripts
# The perimeter gateway's topology for the namespace tests (issue 13), on
# top of lib.sh's harness (assertions, logging, cleanup of what the script
# started): client - NAT router - gateway (forwarding) - two login servers,
# and an attacker outside on a leg of the gateway of its own. Test
# addresses only. Source lib.sh first, then this, then call gw_setup.
#
#   client 198.18.1.2 / fd00:1::2 --- .1 NAT router .2 (198.18.3.2 / fd00:3::2,
#                                       SNAT, source ports kept)
#   NAT 198.18.3.2 --- 198.18.3.1 gateway 198.18.2.1 --- 198.18.2.2 attacker
#   gateway 198.18.0.1 --- server1 198.18.0.2 / fd00::2
#   gateway 198.18.4.1 --- server2 198.18.4.2 / fd00:4::2
# (IPv6: the same with fd00:N::, N the third IPv4 byte.)

NS_G=$MH_P-gw NS_S2=$MH_P-server2
SRV1_4=198.18.0.2 SRV1_6=fd00::2
SRV2_4=198.18.4.2 SRV2_6=fd00:4::2
NAT_4=198.18.3.2 NAT_6=fd00:3::2
GW_TABLE=mosh_helper_gw
GW_NFTTOOL=$MH_BUILD/tests/nfttool

gw_cleanup() {
	local rc=$?
	mh_ns_kill "$NS_G" "$NS_S2"
	mh_ns_del "$NS_G" "$NS_S2"
	(exit "$rc")
	mh_cleanup
}

gw_setup() {
	mh_require_root
	for c in ip nft tcpdump; do
		command -v "$c" >/dev/null 2>&1 || mh_skip "missing tool: $c"
	done
	MH_TMP=$(mktemp -d "/tmp/$MH_P.XXXXXX") || exit 1
	trap gw_cleanup EXIT
	trap 'exit 130' INT TERM
	mh_ns_add "$NS_C" "$NS_R" "$NS_G" "$NS_S" "$NS_S2" "$NS_A"
	mh_link "$NS_R" rc "$NS_C" eth0 || mh_fail "veth nat-client"
	mh_link "$NS_R" rg "$NS_G" go || mh_fail "veth nat-gateway"
	mh_link "$NS_G" ga "$NS_A" eth0 || mh_fail "veth gateway-attacker"
	mh_link "$NS_G" s1 "$NS_S" eth0 || mh_fail "veth gateway-server1"
	mh_link "$NS_G" s2 "$NS_S2" eth0 || mh_fail "veth gateway-server2"
	gw_addr "$NS_R" rc 1 1; gw_addr "$NS_R" rg 3 2
	gw_addr "$NS_G" go 3 1; gw_addr "$NS_G" ga 2 1
	gw_addr "$NS_G" s1 0 1; gw_addr "$NS_G" s2 4 1
	mh_host "$NS_C" 198.18.1.2 198.18.1.1 fd00:1::2 fd00:1::1
	mh_host "$NS_A" 198.18.2.2 198.18.2.1 fd00:2::2 fd00:2::1
	mh_host "$NS_S" "$SRV1_4" 198.18.0.1 "$SRV1_6" fd00::1
	mh_host "$NS_S2" "$SRV2_4" 198.18.4.1 "$SRV2_6" fd00:4::1
	ip -n "$NS_R" route add 198.18.0.0/15 via 198.18.3.1
	ip -n "$NS_R" -6 route add fd00::/8 via fd00:3::1
	mh_nsx "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	mh_nsx "$NS_G" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	gw_nat rg || mh_fail "NAT router's SNAT table"
	gw_ping_all
	mh_log "gateway topology ready: $NS_C $NS_R $NS_G $NS_S $NS_S2 $NS_A (temp dir $MH_TMP)"
}

gw_addr() { # ns dev N host: 198.18.N.host/24 and fd00:N::host/64
	local v6=fd00:$3::$4
	[ "$3" = 0 ] && v6=fd00::$4
	gw_addr_pair "$1" "$2" "198.18.$3.$4/24" "$v6/64"
}

gw_addr_pair() { # ns dev v4/len v6/len
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$1" addr add "$4" dev "$2" nodad
}

# gw_nat [DEV]: the router maps the client to its outside address ($NAT_4,
# $NAT_6) on DEV (rg, its gateway side; halib.sh's topology: eth1); the
# kernel keeps the client's source port when it is free, so a test knows
# the 4-tuple the gateway sees.
gw_nat() {
	local dev=${1:-rg}
	gw_snat_set "$dev" "snat ip to $NAT_4" "snat ip6 to $NAT_6"
}

# gw_snat_set DEV V4 [V6]: the router's SNAT table (inet gw_nat) made
# anew in one transaction, the clients' IPv4 datagrams out of DEV getting
# the statement V4 ("snat ip to ADDR[:PORTS]", with a protocol match
# before it if ports are given), their IPv6 ones V6 (none if empty).
gw_snat_set() {
	local dev=$1 v4=$2 v6=${3:-} r6=''
	[ -n "$v6" ] && r6="oifname \"$dev\" ip6 saddr fd00:1::/64 $v6"
	mh_nsx "$NS_R" nft -f - <<EOF
table inet gw_nat
delete table inet gw_nat
table inet gw_nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "$dev" ip saddr 198.18.1.0/24 $v4
		$r6
	}
}
EOF
}

# Neighbour discovery settles before the first datagram counts.
gw_ping_all() {
	local ns a
	for ns in "$NS_C" "$NS_A"; do
		for a in "$SRV1_4" "$SRV2_4"; do mh_nsx "$ns" ping -c1 -W2 "$a" >/dev/null 2>&1; done
		for a in "$SRV1_6" "$SRV2_6"; do mh_nsx "$ns" ping -6 -c1 -W2 "$a" >/dev/null 2>&1; done
	done
}

# nfttool in the gateway's namespace (gw-* commands).
gw_nft() { mh_nsx "$NS_G" "$GW_NFTTOOL" "$@"; }

# UDP datagrams that reached a namespace's UDP layer (delivered to a
# socket, or to no socket: InDatagrams + NoPorts + InErrors, v4 + v6).
gw_udp_arrived() {
	mh_nsx "$1" cat /proc/net/snmp /proc/net/snmp6 | awk '
		$1 == "Udp:" { if (h) { s += $2 + $3 + $4 } h = 1 }
		$1 == "Udp6InDatagrams" || $1 == "Udp6NoPorts" || $1 == "Udp6InErrors" { s += $2 }
		END { print s + 0 }'
}

# ICMP / ICMPv6 destination-unreachable messages a namespace received.
gw_unreach_in() {
	mh_nsx "$1" cat /proc/net/snmp /proc/net/snmp6 | awk '
		$1 == "Icmp:" { if (h) { for (i = 2; i <= NF; i++) if (name[i] == "InDestUnreachs") s += $i }
				else { for (i = 2; i <= NF; i++) name[i] = $i; h = 1 } }
		$1 == "Icmp6InDestUnreachs" { s += $2 }
		END { print s + 0 }'
}

# The packet counter of the gateway table's rule whose comment has TEXT.
gw_rule_count() { # chain text
	mh_nsx "$NS_G" nft list chain inet "$GW_TABLE" "$1" 2>/dev/null |
		grep -F "$2" | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | head -n1
}

# The gateway table's sets: a session (fam addr port) and a pinhole
# (fam client-addr server-addr server-port), as the gateway's table lists them.
gw_set() { mh_nsx "$NS_G" nft list set inet "$GW_TABLE" "$1" 2>/dev/null; }
gw_has_session() { gw_set "sessions$1" | grep -q -F "$2 . $3"; }
gw_no_session() { ! gw_has_session "$@"; }
gw_has_pinhole() { gw_set "pinholes$1" | grep -q -E "$2 \. [0-9]+ \. $3 \. $4([^0-9]|$)"; }
gw_no_pinhole() { ! gw_has_pinhole "$@"; }

# gw_conf FILE PKI LISTEN ORPHAN_S RESYNC_S AUDIT: writes a gateway
# daemon's configuration (role gateway, the site PKI of mkcerts.sh in PKI,
# the relay listener on LISTEN, the two graces in seconds; the admin's
# control socket beside FILE, FILE's name with .sock)
gw_conf() {
	{
		gw_conf_site gateway "${1%.conf}.sock" "$6" "$2" gateway
		cat <<CONF
idle_timeout = 8;
tls_crl = "$2/site.crl";
relay_listen = "$3";
relay_orphan_grace = $4;
relay_resync_grace = $5;
CONF
	} >"$1"
}

# gw_conf_site ROLE SOCKET AUDIT PKI CERT: the lines a gateway's and a
# relay's configurations share (the role, the range, the control socket,
# debug logs, the audit log, no user switch, the certificate CERT of the
# site PKI in PKI).
gw_conf_site() {
	cat <<CONF
role = "$1";
ports = "60000-61000";
control_socket = "$2";
log_level = "debug";
audit_log = "$3";
user = "";
tls_ca = "$4/site-ca.pem";
tls_cert = "$4/$5.pem";
tls_key = "$4/$5.key";
CONF
}

# ---------------------------------------------------------------- real
# daemons: the gateway and the relays (t_gateway, t_gateway_roam)

# gw_certs: the site PKI of mkcerts.sh in $CERTS; the gateway's log is $GW_LOG.
gw_certs() {
	CERTS=$MH_TMP/certs GW_LOG=$MH_TMP/gw.log
	sh "$MH_SRC/tests/tools/mkcerts.sh" "$CERTS" >"$MH_TMP/mkcerts.log" 2>&1 ||
		mh_fail "mkcerts.sh: $(tail -n 3 "$MH_TMP/mkcerts.log")"
}

# gw_daemon_start: the gateway daemon ($MH_TMP/gw.conf) in the gateway
# namespace, pid in GW_PID; waits for its next 'ready (gateway)'
# (gw_daemon_run's simple form).
gw_daemon_start() {
	gw_daemon_run "$NS_G" "$MH_TMP/gw.conf" "$GW_LOG" gateway
	GW_PID=$GW_DAEMON_PID
	mh_log "gateway daemon pid $GW_PID"
}

# gw_relay_conf NAME CERT GATEWAY-ADDR [lines...]: $MH_TMP/NAME.conf, a
# relay daemon with CERT of $CERTS towards the gateway's listener port 7710,
# its control socket (and so its restart state) $MH_TMP/NAME/ctl.sock, its
# audit log $MH_TMP/NAME-audit.log, each line ("key = value;") added
# (gw_relay_conf_to's simple form: the daemon's default name and ack).
gw_relay_conf() {
	local name=$1 cert=$2 gw=$3; shift 3
	case $gw in *:*) gw="[$gw]" ;; esac
	gw_relay_conf_to "$MH_TMP/$name.conf" "$CERTS" "$cert" '' '' "$gw:7710" \
		"control_socket = \"$MH_TMP/$name/ctl.sock\";" \
		"audit_log = \"$MH_TMP/$name-audit.log\";" "$@"
}

# gw_relay_start NS NAME: the relay daemon NAME ($MH_TMP/NAME.conf, its
# output appended to $MH_TMP/NAME.log), pid in PID_NAME and MH_PIDS; waits
# until it is up to its gateway (gw_daemon_run's simple form).
gw_relay_start() {
	gw_daemon_run "$1" "$MH_TMP/$2.conf" "$MH_TMP/$2.log" relay
	eval "PID_$2=$GW_DAEMON_PID"
	MH_PIDS+=("$GW_DAEMON_PID")
	mh_log "relay $2 in $1: pid $GW_DAEMON_PID"
}
gw_relay_ups() { grep -c 'relay: gateway .* up' "$MH_TMP/$1.log" 2>/dev/null; }
gw_relay_ups_at_least() { [ "$(gw_relay_ups "$1")" -ge "$2" ]; }

# gw_session NS RELAY SERVER-ADDR USER: a session through the hook of that
# relay (lib.sh's mh_session_try: MH_PORT, MH_KEY, MH_SPID).
gw_session() {
	NS_S=$1 MH_CONF=$MH_TMP/$2.conf SRV=$3 mh_session_try "$4"
}

# gw_roam ADDR: the NAT router maps the client to ADDR (198.18.3.x, added
# to its gateway side) from now on; its translations are flushed.
gw_roam() {
	ip -n "$NS_R" addr add "$1/24" dev rg 2>/dev/null
	NAT_4=$1
	gw_nat rg || mh_fail "router SNAT update"
	mh_nat_flush
	mh_log "the router now maps the client to $NAT_4"
}

# ---- the general forms (t_ha, halib.sh): any file, several gateways

# gw_relay_conf_to FILE CERTS CERT NAME ACK ITEM...: writes a relay daemon's
# configuration (role relay, the site PKI of mkcerts.sh in CERTS, its
# certificate CERT, its control socket (and so its restart state) in a
# directory of its own, FILE less .conf plus .d, its audit log there, the
# acknowledgement policy ACK, heartbeats every second so a silent gateway
# is gone within 3 s). An ITEM that ends in ";" is a line of the file that
# takes the place of its key's default; any other is a GATEWAY, "ADDR:PORT"
# in `gateways`. NAME or ACK empty: the daemon's default. The control
# socket's directory is made (0755).
gw_relay_conf_to() {
	local f=$1 certs=$2 cert=$3 name=$4 ack=$5 list='' g lines=()
	shift 5
	for g in "$@"; do
		case $g in
		*\;) lines+=("$g") ;;
		*) list="$list${list:+, }\"$g\"" ;;
		esac
	done
	{
		gw_conf_site relay "${f%.conf}.d/control.sock" "${f%.conf}.d/audit.log" "$certs" "$cert"
		cat <<CONF
server_path = "/usr/bin/mosh-server";
gateways = [ $list ];
${ack:+gateway_ack = \"$ack\";}
${name:+relay_name = \"$name\";}
relay_heartbeat = 1;
gateway_timeout = 1500;
CONF
	} | gw_conf_merge "${lines[@]}" >"$f"
	chmod 644 "$f"
	g=$(sed -n 's|^control_socket = "\(.*\)/[^/]*";$|\1|p' "$f")
	mkdir -p "$g"
	chmod 755 "$g"
}

# gw_conf_merge LINE...: the lines on stdin ("key = value;"), but for
# those whose key a LINE sets, then the LINEs; empty lines dropped.
gw_conf_merge() {
	local line o keep
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		keep=1
		for o in "$@"; do
			[ "${o%% =*}" = "${line%% =*}" ] && keep=
		done
		[ -z "$keep" ] || printf '%s\n' "$line"
	done
	[ $# -eq 0 ] || printf '%s\n' "$@"
}

# gw_daemon_run NS CONF LOG WHAT: mosh-helperd -f in NS, its output
# appended to LOG; waits for one more "ready (WHAT)" line (gateway) or
# "relay: gateway ... up" line (relay). Sets GW_DAEMON_PID.
# (GW_WRAP, if set: a command the daemon runs under, such as prlimit's)
gw_daemon_run() {
	local ns=$1 conf=$2 log=$3 what=$4 re n
	re='ready \(gateway\)'
	[ "$what" = relay ] && re='relay: gateway .* up'
	touch "$log"
	n=$(grep -c -E "$re" "$log")
	ip netns exec "$ns" ${GW_WRAP:-} "$MH_BUILD/mosh-helperd" -c "$conf" -f >>"$log" 2>&1 &
	GW_DAEMON_PID=$!
	disown "$GW_DAEMON_PID"
	mh_wait 15 eval "[ \$(grep -c -E '$re' '$log') -gt ${n:-0} ]" ||
		mh_fail "mosh-helperd ($what, $conf) did not come up: $(tail -n 5 "$log")"
}

# gw_stop_checked [LOG...]: the gateway daemon stopped with TERM (so
# LeakSanitizer reports), then no sanitizer report in its log or in LOGs.
gw_stop_checked() {
	kill -TERM "$GW_PID"
	mh_wait 10 mh_pid_gone "$GW_PID" || mh_fail "the gateway did not stop"
	mh_assert_no_sanitizer "$GW_LOG" "$@"
}
