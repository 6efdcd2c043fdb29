# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# shellcheck disable=SC2034  # variables here are used by the sourcing scripts
# The HA gateway pair's topology for the namespace tests (issue 14), on top
# of lib.sh's harness: client - NAT router - two gateways (gw-a, gw-b)
# sharing an outside and an inside segment (bridges in a switch namespace)
# with VRRP on both and a dedicated sync link - two login servers; the
# attacker on the outside segment. Real keepalived and conntrackd per
# gateway, configured from contrib/ha/ with every file (config, pid, lock,
# socket, logs) under the test's temp dir. Test addresses only.
#
#   client 198.18.1.2 --- .1 NAT router (SNAT to 198.18.3.2, ports kept)
#   outside 198.18.3.0/24, fd00:3::/64: router .2, attacker .66,
#       gw-a .11 (eth0), gw-b .12 (eth0), virtual .1
#   inside 198.18.0.0/24, fd00::/64: server1 .2, server2 .3,
#       gw-a .11 (eth1), gw-b .12 (eth1), virtual .1
#   sync link 198.18.9.0/24: gw-a .1 (eth2) --- gw-b .2 (eth2)
# Source lib.sh first, then this (it sources gwlib.sh, whose helpers it
# shares, unless that is done already), then call ha_setup and
# ha_engines_start.

# shellcheck source=tests/integration/gwlib.sh
declare -F gw_setup >/dev/null || . "$(dirname "${BASH_SOURCE[0]}")/gwlib.sh"
NS_GA=$MH_P-gwa NS_GB=$MH_P-gwb NS_SW=$MH_P-sw NS_S2=$MH_P-server2
SRV1_4=198.18.0.2 SRV1_6=fd00::2
SRV2_4=198.18.0.3 SRV2_6=fd00::3
NAT_4=198.18.3.2 NAT_6=fd00:3::2
ATK_4=198.18.3.66 ATK_6=fd00:3::66
VIP_OUT4=198.18.3.1 VIP_IN4=198.18.0.1 VIP_OUT6=fd00:3::1 VIP_IN6=fd00::1
GW_TABLE=mosh_helper_gw
GW_NFTTOOL=$MH_BUILD/tests/nfttool
HA_CONTRIB=${HA_CONTRIB:-$MH_SRC/contrib/ha}   # the configs and notify script under test
HA_ADVERT=${HA_ADVERT:-0.5}     # VRRP advertisement interval (s) for the tests
HA_PREEMPT=${HA_PREEMPT:-2}     # the first gateway takes back after this (s)
HA_PURGE=${HA_PURGE:-3}         # conntrackd's PurgeTimeout (s) for the tests
HA_PIDS=()                      # keepalived, conntrackd and gateway daemon main processes
HA_GWD_a='' HA_GWD_b=''         # the gateway daemons (ha_gw_start)

ha_ns() { case $1 in a) echo "$NS_GA" ;; b) echo "$NS_GB" ;; esac; }
ha_dir() { echo "$MH_TMP/gw-$1"; }

ha_cleanup() {
	local rc=$? p ns nss=("$NS_GA" "$NS_GB" "$NS_SW" "$NS_S2")
	set +e
	for p in "${HA_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${HA_PIDS[@]}"; do
		mh_wait 5 mh_pid_gone "$p" || kill -KILL "$p" 2>/dev/null
	done
	# keepalived's children and notify scripts, anything else left in our
	# own namespaces: all started by this script
	mh_ns_kill "${nss[@]}"
	for ns in "${nss[@]}"; do
		ha_keys_purge "$ns"
	done
	mh_ns_del "${nss[@]}"
	(exit "$rc")
	mh_cleanup
}

# Session keys a stopped daemon (a relay on server2) left in root's keyring
# for its namespace's next start (lib.sh's mh_cleanup does server1's).
ha_keys_purge() { # ns
	local ino
	[ -x "$MH_BUILD/tests/mhkeys" ] || return 0
	ino=$(mh_nsx "$1" stat -L -c %i /proc/self/ns/net 2>/dev/null) || return 0
	"$MH_BUILD/tests/mhkeys" purge ":net$ino" >/dev/null 2>&1
	return 0
}

ha_setup() {
	local c
	mh_require_root
	for c in ip nft conntrack keepalived conntrackd; do
		command -v "$c" >/dev/null 2>&1 || mh_skip "missing tool: $c (tools/deps.sh installs it)"
	done
	MH_TMP=$(mktemp -d "/tmp/$MH_P.XXXXXX") || exit 1
	trap ha_cleanup EXIT
	trap 'exit 130' INT TERM
	mh_ns_add "$NS_C" "$NS_R" "$NS_GA" "$NS_GB" "$NS_SW" "$NS_S" "$NS_S2" "$NS_A"
	ha_links || mh_fail "links of the HA topology"
	ha_addresses
	gw_nat eth1 || mh_fail "NAT router's SNAT table"
	mh_log "HA topology ready: $NS_C $NS_R $NS_GA $NS_GB $NS_S $NS_S2 $NS_A (temp dir $MH_TMP)"
}

# Two bridges in the switch namespace; every other link is a veth pair.
ha_links() {
	local br
	for br in out in; do
		ip -n "$NS_SW" link add "br$br" type bridge || return 1
		ip -n "$NS_SW" link set "br$br" up || return 1
	done
	mh_link "$NS_R" rc "$NS_C" eth0 || return 1
	ha_port out r "$NS_R" eth1 && ha_port out x "$NS_A" eth0 &&
	ha_port out a "$NS_GA" eth0 && ha_port out b "$NS_GB" eth0 &&
	ha_port in a "$NS_GA" eth1 && ha_port in b "$NS_GB" eth1 &&
	ha_port in 1 "$NS_S" eth0 && ha_port in 2 "$NS_S2" eth0 &&
	mh_link "$NS_GA" eth2 "$NS_GB" eth2
}

ha_port() { # bridge tag ns dev: a veth from the bridge to dev in ns
	mh_link "$NS_SW" "$1-$2" "$3" "$4" && ip -n "$NS_SW" link set "$1-$2" master "br$1"
}

ha_addresses() {
	local g n ns
	ha_addr "$NS_R" rc 198.18.1.1/24 fd00:1::1/64
	ha_addr "$NS_R" eth1 "$NAT_4/24" "$NAT_6/64"
	ip -n "$NS_R" route add 198.18.0.0/24 via "$VIP_OUT4"
	ip -n "$NS_R" -6 route add fd00::/64 via "$VIP_OUT6"
	mh_host "$NS_C" 198.18.1.2 198.18.1.1 fd00:1::2 fd00:1::1
	ha_addr "$NS_A" eth0 "$ATK_4/24" "$ATK_6/64"
	ip -n "$NS_A" route add 198.18.0.0/24 via "$VIP_OUT4"
	ip -n "$NS_A" -6 route add fd00::/64 via "$VIP_OUT6"
	for g in a b; do
		n=$([ $g = a ] && echo 11 || echo 12)
		ha_addr "$(ha_ns $g)" eth0 "198.18.3.$n/24" "fd00:3::$n/64"
		ha_addr "$(ha_ns $g)" eth1 "198.18.0.$n/24" "fd00::$n/64"
		ip -n "$(ha_ns $g)" addr add "198.18.9.$([ $g = a ] && echo 1 || echo 2)/24" dev eth2
		mh_nsx "$(ha_ns $g)" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	done
	ha_addr "$NS_S" eth0 "$SRV1_4/24" "$SRV1_6/64"
	ha_addr "$NS_S2" eth0 "$SRV2_4/24" "$SRV2_6/64"
	for ns in "$NS_S" "$NS_S2"; do
		ip -n "$ns" route add 198.18.0.0/15 via "$VIP_IN4"
		ip -n "$ns" -6 route add fd00::/8 via "$VIP_IN6"
	done
	mh_nsx "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
}

ha_addr() { gw_addr_pair "$@"; } # ns dev v4/len v6/len

# ---------------------------------------------------------------- engines

# The shipped conntrackd.conf for gateway a or b, its paths in the temp dir
# and the test's PurgeTimeout; gw-b swaps the two sync addresses.
ha_conntrackd_conf() { # a|b
	local d me=198.18.9.1 peer=198.18.9.2
	d=$(ha_dir "$1")
	[ "$1" = b ] && me=198.18.9.2 peer=198.18.9.1
	sed -E -e "s|^(\s*LogFile ).*|\1$d/conntrackd.log|" \
		-e "s|^(\s*LockFile ).*|\1$d/conntrackd.lock|" \
		-e "s|^(\s*Path ).*|\1$d/conntrackd.ctl|" \
		-e "s|^(\s*PurgeTimeout ).*|\1$HA_PURGE|" \
		-e 's/^(General \{)$/\1\n\tSystemd off/' \
		-e "/^\s*UDP \{/,/\}/s/(IPv4_address) .*/\1 $me/" \
		-e "/^\s*UDP \{/,/\}/s/(IPv4_Destination_Address) .*/\1 $peer/" \
		"$HA_CONTRIB/conntrackd.conf" >"$d/conntrackd.conf"
	# a test's own change to the shipped file (t_ha_single_port's wrong filter)
	[ -z "${HA_CTD_EDIT:-}" ] || sed -i -E "$HA_CTD_EDIT" "$d/conntrackd.conf"
	ha_no_host_paths "$d/conntrackd.conf"
}

# The shipped keepalived.conf for gateway a or b: the test's advertisement
# interval and preempt delay, gw-b's lower priority, the shipped notify
# script pointed at this gateway's conntrackd.conf and a log.
ha_keepalived_conf() { # a|b
	local d prio=150
	d=$(ha_dir "$1")
	[ "$1" = b ] && prio=100
	sed -E -e "s|^(\s*router_id ).*|\1ha-gw-$1|" \
		-e "s|^(\s*priority ).*|\1$prio|" \
		-e "s|^(\s*advert_int ).*|\1$HA_ADVERT|" \
		-e "s|^(\s*preempt_delay ).*|\1$HA_PREEMPT|" \
		-e "s|^(\s*notify ).*|\1\"$d/notify -C $d/conntrackd.conf -L $d/notify.log\"|" \
		"$HA_CONTRIB/keepalived.conf" >"$d/keepalived.conf"
	# enable_script_security: the script and every directory above it
	# writable by root alone (the temp dir is 0700 root)
	install -m 0755 "$HA_CONTRIB/mosh-helper-ha-notify" "$d/notify"
	ha_no_host_paths "$d/keepalived.conf"
}

# A config that still names /etc, /run or /var would touch the host's files.
ha_no_host_paths() {
	if grep -n -E '(^|[" ])/(etc|run|var)/' "$1"; then
		mh_fail "$1 still names a host path (above)"
	fi
}

ha_conntrackd_start() { # a|b
	local d ns
	d=$(ha_dir "$1") ns=$(ha_ns "$1")
	rm -f "$d/conntrackd.lock" "$d/conntrackd.ctl"
	ip netns exec "$ns" conntrackd -C "$d/conntrackd.conf" >>"$d/conntrackd.out" 2>&1 &
	eval "HA_CTD_$1=\$!"
	HA_PIDS+=("$!")
	disown "$!"
	mh_wait 10 ha_ctd "$1" -s >/dev/null || mh_fail "conntrackd of gw-$1 does not answer: $(tail -n 5 "$d/conntrackd.log" "$d/conntrackd.out")"
}

ha_keepalived_start() { # a|b
	local d ns
	d=$(ha_dir "$1") ns=$(ha_ns "$1")
	ip netns exec "$ns" keepalived -n -l -G -D -P -f "$d/keepalived.conf" \
		-p "$d/keepalived.pid" -r "$d/vrrp.pid" >>"$d/keepalived.log" 2>&1 &
	eval "HA_KA_$1=\$!"
	HA_PIDS+=("$!")
	disown "$!"
	mh_wait 10 test -s "$d/vrrp.pid" || mh_fail "keepalived of gw-$1 did not start: $(tail -n 5 "$d/keepalived.log")"
}

# Both engines on both gateways; gw-a first, so it is the active one.
ha_engines_start() {
	local g
	for g in a b; do
		mkdir -p "$(ha_dir $g)"
		ha_conntrackd_conf $g
		ha_keepalived_conf $g
		ha_conntrackd_start $g
	done
	ha_keepalived_start a
	mh_wait 15 ha_is_master a || mh_fail "gw-a did not become master: $(tail -n 20 "$(ha_dir a)/keepalived.log")"
	ha_keepalived_start b
	mh_wait 10 grep -q "is BACKUP" "$(ha_dir b)/notify.log" ||
		mh_fail "gw-b did not become backup: $(tail -n 20 "$(ha_dir b)/keepalived.log")"
	mh_log "keepalived and conntrackd up on both gateways (gw-a master)"
}

# conntrackd's client commands against one gateway's daemon.
ha_ctd() { local g=$1; shift; mh_nsx "$(ha_ns "$g")" conntrackd -C "$(ha_dir "$g")/conntrackd.conf" "$@"; }

# Stop one gateway's engine by the PID this script started (keepalived's
# SIGTERM ends its VRRP child too; SIGKILL leaves the child to the cleanup).
ha_kill() { # a|b keepalived|conntrackd SIGNAL
	local v p
	v=HA_$([ "$2" = keepalived ] && echo KA || echo CTD)_$1
	p=${!v:-}
	[ -n "$p" ] || mh_fail "no $2 started on gw-$1"
	kill "-$3" "$p" 2>/dev/null
	mh_wait 10 mh_pid_gone "$p" || mh_fail "$2 of gw-$1 (pid $p) still runs after SIG$3"
}

# The gateway that holds both virtual addresses (VRRP master).
ha_is_master() { # a|b
	local ns
	ns=$(ha_ns "$1")
	ip -n "$ns" -4 addr show dev eth0 | grep -q " $VIP_OUT4/" &&
		ip -n "$ns" -4 addr show dev eth1 | grep -q " $VIP_IN4/"
}

ha_holds_none() { # a|b
	local ns
	ns=$(ha_ns "$1")
	! ip -n "$ns" addr show | grep -q -E " ($VIP_OUT4|$VIP_IN4|$VIP_OUT6|$VIP_IN6)/"
}

ha_links_set() { # a|b up|down: every link of a gateway
	local d
	for d in eth0 eth1 eth2; do
		ip -n "$(ha_ns "$1")" link set "$d" "$2"
	done
}

# nfttool / nft / conntrack in a gateway's namespace.
ha_nfttool() { local g=$1; shift; mh_nsx "$(ha_ns "$g")" "$GW_NFTTOOL" "$@"; }
ha_ct() { local g=$1; shift; mh_nsx "$(ha_ns "$g")" conntrack "$@" 2>/dev/null; }

# Processes of this test's engines still running (main processes and
# anything in the gateways' namespaces).
ha_leftovers() {
	local p ns
	for p in "${HA_PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && echo "$p"
	done
	for ns in "$NS_GA" "$NS_GB"; do
		ip netns pids "$ns" 2>/dev/null
	done
}

# Diagnostics of a failed HA test (replaces lib.sh's, which shows the host
# table): each gateway's addresses, conntrack entries, counters and the
# engines' last log lines.
mh_diag() {
	local g ns
	echo "---- diagnostics"
	for g in a b; do
		ns=$(ha_ns "$g")
		ip netns list 2>/dev/null | grep -q "^$ns\b" || continue
		echo "-- gw-$g addresses"
		ip -n "$ns" -br addr 2>&1 | sed 's/^/   /'
		echo "-- gw-$g conntrack (UDP)"
		ha_ct "$g" -L -p udp | sed 's/^/   /'
		echo "-- gw-$g counters"
		mh_nsx "$ns" nft list ruleset 2>/dev/null | grep -E 'counter packets [1-9]' | sed 's/^\s*/   /'
		echo "-- gw-$g notify log, keepalived and conntrackd logs (last lines)"
		tail -n 12 "$(ha_dir "$g")/notify.log" 2>/dev/null | sed 's/^/   /'
		tail -n 8 "$(ha_dir "$g")/keepalived.log" 2>/dev/null | sed 's/^/   /'
		tail -n 8 "$(ha_dir "$g")/conntrackd.log" 2>/dev/null | sed 's/^/   /'
	done
	echo "----"
}

# ---------------------------------------------------------------- gateway daemons

# The gateway daemon (role = gateway, gwlib.sh's gw_conf) on gw-a or gw-b:
# its relay listener on [::]:7710, its own control socket and logs in the
# gateway's temp dir, the site PKI of mkcerts.sh in $HA_CERTS. Each
# gateway holds every session: the relays announce to both.
ha_gw_conf() { # a|b
	local d
	d=$(ha_dir "$1")
	mkdir -p "$d"
	gw_conf "$d/gw.conf" "$HA_CERTS" "[::]:7710" 6 3 "$d/gw-audit.log"
}

ha_gw_start() { # a|b: waits for its "ready (gateway)"; pid in HA_GWD_a/b
	local d
	d=$(ha_dir "$1")
	gw_daemon_run "$(ha_ns "$1")" "$d/gw.conf" "$d/gw.log" gateway
	eval "HA_GWD_$1=\$GW_DAEMON_PID"
	HA_PIDS+=("$GW_DAEMON_PID")
	mh_log "gateway daemon on gw-$1: pid $GW_DAEMON_PID"
}

# The gateway table's sets in gw-a's or gw-b's namespace (gwlib.sh's
# checks with NS_G pointed there).
ha_gw_has_session() { local g=$1; shift; NS_G=$(ha_ns "$g") gw_has_session "$@"; }
ha_gw_has_pinhole() { local g=$1; shift; NS_G=$(ha_ns "$g") gw_has_pinhole "$@"; }
ha_gw_pinholes() { NS_G=$(ha_ns "$1") gw_set "pinholes$2"; }

# ---------------------------------------------------------------- the
# pair with real daemons and mosh (t_ha, t_ha_single_port)

GWA=198.18.0.11:7710 GWB=198.18.0.12:7710   # the gateways' relay listeners

# After ha_setup: users, tmux, the site PKI (mkcerts.sh) in $HA_CERTS.
ha_mosh_setup() {
	chmod 755 "$MH_TMP"
	mh_users
	MH_TMUX=$MH_TMP/tmux.sock
	SNAT4_ADDR=$NAT_4 SNAT6_ADDR=$NAT_6   # the SSH client hint the hook passes
	HA_CERTS=$MH_TMP/certs
	sh "$MH_SRC/tests/tools/mkcerts.sh" "$HA_CERTS" >"$MH_TMP/mkcerts.log" 2>&1 ||
		mh_fail "mkcerts.sh: $(tail -n 3 "$MH_TMP/mkcerts.log")"
	MH_NETNS_INO=$(mh_nsx "$NS_S" stat -L -c %i /proc/self/ns/net)   # lib.sh purges its keys
}

ha_now_ms() { date +%s%3N; }
# when the gateway's notify script last logged MASTER (ms)
ha_master_ms() { awk '/is MASTER/ { t = $1 } END { printf "%.0f\n", t * 1000 }' "$(ha_dir "$1")/notify.log"; }

ha_relay_start() { # ns name: $MH_TMP/name.conf, its log $MH_TMP/name.log
	gw_daemon_run "$1" "$MH_TMP/$2.conf" "$MH_TMP/$2.log" relay
	MH_PIDS+=("$GW_DAEMON_PID")
	mh_log "relay $2 in $1: pid $GW_DAEMON_PID"
}
ha_relay_ups() { grep -c -F "relay: gateway $2 up" "$MH_TMP/$1.log" 2>/dev/null; }
ha_relay_ups_at_least() { [ "$(ha_relay_ups "$1" "$2")" -ge "$3" ]; }

ha_session() { # ns relay server-address user
	NS_S=$1 MH_CONF=$MH_TMP/$2.conf SRV=$3 mh_session_try "$4"
}

# A client: its session through the hook, then mosh-client in tmux.
# CLI_PORT/CLI_SRV/CLI_SPID remember each client's port (the one its hook
# told it), server and mosh-server.
declare -A CLI_PORT CLI_SRV CLI_SPID
ha_client() { # name ns relay server-address user
	local t0
	t0=$(ha_now_ms)
	ha_session "$2" "$3" "$4" "$5" || mh_fail "session $1 refused: $(tail -n 2 "$MH_HOOK_ERR")"
	mh_log "$1: the hook answered in $(($(ha_now_ms) - t0)) ms"
	CLI_PORT[$1]=$MH_PORT CLI_SRV[$1]=$4 CLI_SPID[$1]=$MH_SPID
	SRV=$4 mh_client_start "$1" "$MH_PORT" "$MH_KEY"
	mh_assert "$1 types (server $4 port $MH_PORT)" mh_roundtrip "$1" 20
}

# Interruption: at T0 (ms) each client gets a keystroke whose echo differs
# from what is typed (lib.sh's mh_roundtrip); the time to its echo is the
# session's interruption. Prints one line per session (and appends it to
# $MH_TMP/interruptions); fails if one does not echo within LIMIT s.
ha_interruptions() { # label t0-ms limit-s clients...
	local label=$1 t0=$2 limit=$3 c
	shift 3
	declare -A want seen
	for c in "$@"; do
		want[$c]=$((RANDOM % 9000 + 1000))
		mh_type "$c" "echo HA-\$((${want[$c]}+1))-AH"
	done
	local left=$#
	while [ "$left" -gt 0 ] && [ $(($(ha_now_ms) - t0)) -lt $((limit * 1000)) ]; do
		for c in "$@"; do
			[ -n "${seen[$c]:-}" ] && continue
			if mh_screen_has "$c" "HA-$((${want[$c]} + 1))-AH"; then
				seen[$c]=$(($(ha_now_ms) - t0))
				left=$((left - 1))
			fi
		done
		sleep 0.1
	done
	for c in "$@"; do
		[ -n "${seen[$c]:-}" ] ||
			mh_fail "$label: session $c (server ${CLI_SRV[$c]} port ${CLI_PORT[$c]}) did not type again within $limit s"
		mh_log "$label: interruption of $c (server ${CLI_SRV[$c]} port ${CLI_PORT[$c]}): ${seen[$c]} ms"
		echo "$label $c ${seen[$c]}" >>"$MH_TMP/interruptions"
	done
}

# gw-a fails as a crashed box does: links down; keepalived (and its VRRP
# child), conntrackd and the gateway daemon SIGKILLed; the virtual
# addresses gone. HA_T_FAIL: when (ms).
ha_crash_a() {
	local vrrp v
	HA_T_FAIL=$(ha_now_ms)
	ha_links_set a down
	ha_kill a keepalived KILL
	vrrp=$(cat "$(ha_dir a)/vrrp.pid" 2>/dev/null) && kill -KILL "$vrrp" 2>/dev/null
	ha_kill a conntrackd KILL
	kill -KILL "$HA_GWD_a"
	mh_wait 5 mh_pid_gone "$HA_GWD_a" || mh_fail "gw-a's daemon survived SIGKILL"
	for v in "$VIP_OUT4/24 dev eth0" "$VIP_OUT6/64 dev eth0" "$VIP_IN4/24 dev eth1" "$VIP_IN6/64 dev eth1"; do
		# shellcheck disable=SC2086  # address and device
		ip -n "$NS_GA" addr del $v 2>/dev/null
	done
	return 0
}

# The router moves its clients to NAT ports 42000-42099 (a roam of every
# session) and forgets its translations.
ha_roam() {
	gw_snat_set eth1 "meta l4proto udp snat ip to $NAT_4:42000-42099" \
		"meta l4proto udp snat ip6 to [$NAT_6]:42000-42099" ||
		mh_fail "router: new SNAT ports"
	mh_nsx "$NS_R" conntrack -D -p udp >/dev/null 2>&1
	mh_nsx "$NS_R" conntrack -D -f ipv6 -p udp >/dev/null 2>&1
	return 0
}

# gw-a comes back: links up, conntrackd (fetches gw-b's table), its daemon
# (adopts its table); waits until both relays (r1, r2) are up to it again.
ha_return_a() {
	local ups1 ups2
	ups1=$(ha_relay_ups r1 "$GWA") ups2=$(ha_relay_ups r2 "$GWA")
	ha_links_set a up
	ha_conntrackd_start a
	ha_gw_start a
	mh_assert "r1 reconnects to gw-a" mh_wait 40 ha_relay_ups_at_least r1 "$GWA" $((ups1 + 1))
	mh_assert "r2 reconnects to gw-a" mh_wait 40 ha_relay_ups_at_least r2 "$GWA" $((ups2 + 1))
}

# The last step of an HA test: the interruptions it printed, both gateway
# daemons and the test's processes stopped, no sanitizer report in their
# logs, then the pass line MSG.
ha_finish() { # msg
	local p
	mh_step "summary"
	sed 's/^/   interruption (ms): /' "$MH_TMP/interruptions"
	for p in "$HA_GWD_a" "$HA_GWD_b" "${MH_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "$HA_GWD_a" "$HA_GWD_b"; do mh_wait 10 mh_pid_gone "$p"; done
	mh_assert_no_sanitizer "$(ha_dir a)/gw.log" "$(ha_dir b)/gw.log" "$MH_TMP"/r[12].log
	mh_pass "$1"
}
