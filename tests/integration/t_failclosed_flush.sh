#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Issue 10, items 1 and 2: the range stays closed when the admin reloads
# the ruleset. A live session; in the server namespace the admin loads a
# file that begins with `flush ruleset` (what `systemctl restart nftables`
# does with Debian's /etc/nftables.conf), then a policy. An attacker's
# probes, 2 ms apart, run across the reload and 2 s after it, at the
# session's port and at a listener on a non-session port of the range
# (IPv4 and IPv6); none may be delivered: the listener counts what it
# receives, and a counting chain after every filter (priority filter + 50,
# loaded in the same file) counts what reaches the session's port. The
# session keeps typing and roams after each reload.
#   1. owner + persist (this kernel): Debian's default policy plus an
#      accept of the range (the status quo); the owned table survives the
#      flush. On main's code the flush deletes the table: the range opens.
#   2. the same with the fail-closed hand-off policy (policy drop; the
#      range accepted only with accept_mark).
#   3. table_flags = "none" (the path of kernels without persist): the
#      daemon restarts keeping its sessions (its table replaced by one
#      without the flags), the hand-off policy is reloaded, the table is
#      rebuilt from the daemon's memory; 0 delivered (the window itself is
#      measured by `make bench`, table_rebuild_window_ms).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/udptool
mh_setup
MARK=0x10000000
FREE=60999          # a range port without a session: the listener's
PROBES=1500         # 2 ms apart: 3 s per train, 2 s of it after the reload
MH_IDLE=30
mh_start_daemon

# (the daemon says when the kernel lacks them; a daemon that says nothing
# is held to the promise too)
persist=1
if mh_daemon_log_has 'table flags: none, this kernel has'; then
	persist=0
	mh_log "this kernel has no persistent tables: parts 1 and 2 are skipped"
fi

mh_step "a live session"
mh_live_session mhtest1 c1
port=$MH_PORT

# policy NAME: an admin ruleset file that starts with `flush ruleset`
policy() {
	local f=$MH_TMP/policy-$1.nft accept
	if [ "$1" = quo ]; then
		# Debian's default /etc/nftables.conf, plus the range accepted
		accept='udp dport 60000-61000 accept'
		echo '#!/usr/sbin/nft -f'
		echo 'flush ruleset'
		cat <<-EOF
		table inet filter {
			chain input {
				type filter hook input priority filter;
				$accept
			}
			chain forward {
				type filter hook forward priority filter;
			}
			chain output {
				type filter hook output priority filter;
			}
		}
		EOF
	else
		# the fail-closed hand-off (README): the range only with the mark,
		# and an explicit drop of the rest (not the policy alone: a new
		# chain's drop policy takes effect a moment after its rules)
		echo 'flush ruleset'
		cat <<-EOF
		table inet filter {
			chain input {
				type filter hook input priority filter; policy drop;
				iif lo accept
				meta l4proto { icmp, ipv6-icmp } accept
				udp dport 60000-61000 meta mark & $MARK == $MARK accept
				udp dport 60000-61000 drop
			}
		}
		EOF
	fi >"$f"
	# the test's own count of what got past every filter
	cat >>"$f" <<-EOF
	table inet mhcount {
		chain input {
			type filter hook input priority filter + 50; policy accept;
			ip saddr $ATK4 udp dport $port counter
			ip6 saddr $ATK6 udp dport $port counter
			ip saddr $ATK4 udp dport $FREE counter
			ip6 saddr $ATK6 udp dport $FREE counter
		}
	}
	EOF
	echo "$f"
}

# counted N: packets of the Nth rule of the counting chain
counted() {
	mh_nsx "$NS_S" nft list chain inet mhcount input 2>/dev/null |
		grep -o 'packets [0-9]*' | sed -n "${1}p" | awk '{ print $2 }'
}

NEXT_ROAM=20
# reload_under_probes NAME WHAT: the attack across the reload of policy NAME
reload_under_probes() {
	local f what=$2 trains=() p dst lpid cap atk a
	f=$(policy "$1")
	mh_step "$what: probes across 'nft -f' of a file that flushes the ruleset"
	mh_ns_bg "$NS_S" "$MH_TMP/listen-$1.out" "$MH_UDPTOOL" listen $FREE 8
	lpid=$MH_BG_PID
	mh_assert "listener on port $FREE (in the range, no session) is up" \
		mh_wait 5 grep -qs listening "$MH_TMP/listen-$1.out.err"
	mh_tcpdump "$NS_S" "$MH_TMP/probes-$1.pcap" "udp and (src host $ATK4 or src host $ATK6)"
	cap=$MH_TCPDUMP_PID
	for dst in "$SRV4" "$SRV6"; do
		for p in "$port" $FREE; do
			mh_ns_bg "$NS_A" "$MH_TMP/train-$1-$dst-$p.out" "$MH_UDPTOOL" send "$dst" "$p" \
				--garbage $PROBES --interval-us 2000
			trains+=("$MH_BG_PID")
		done
	done
	sleep 1
	mh_log "the admin reloads: nft -f $f"
	mh_nsx "$NS_S" nft -f "$f" || mh_fail "loading the admin policy $1"
	for p in "${trains[@]}"; do
		mh_assert "a probe train ends" mh_wait 20 mh_pid_gone "$p"
	done
	mh_assert "the listener finishes" mh_wait 15 mh_pid_gone "$lpid"
	mh_tcpdump_stop "$cap"
	atk=$(mh_pcap_count "$MH_TMP/probes-$1.pcap")
	mh_log "probes that arrived at the server's interface: $atk"
	mh_assert "the probes did arrive (at least 5000 of $((4 * PROBES)))" test "$atk" -ge 5000
	mh_check_eq "$what: datagrams the listener on port $FREE received" 0 "$(cat "$MH_TMP/listen-$1.out")"
	mh_check_eq "$what: probes past every filter to the session's port $port (IPv4)" 0 "$(counted 1)"
	mh_check_eq "$what: probes past every filter to the session's port $port (IPv6)" 0 "$(counted 2)"
	mh_check_eq "$what: probes past every filter to port $FREE (IPv4)" 0 "$(counted 3)"
	mh_check_eq "$what: probes past every filter to port $FREE (IPv6)" 0 "$(counted 4)"
	mh_assert "$what: the table is there" mh_table_exists
	mh_assert "$what: its sessions set holds port $port" mh_has_session "$port"
	mh_assert "$what: typed text still comes back" mh_roundtrip c1 20
	NEXT_ROAM=$((NEXT_ROAM + 1))
	if [ "$MH_FAMILY" = 6 ]; then a=fd00:3::$NEXT_ROAM; else a=198.18.3.$NEXT_ROAM; fi
	mh_roam_addr "$a"
	mh_assert "$what: typed text comes back after a roam to $a" mh_roundtrip c1 20
	mh_assert "$what: a pinhole for $a" mh_wait 5 mh_any_pinhole "$a" "$(mh_snat_ports)" "$port"
}

if [ $persist = 1 ]; then
	reload_under_probes quo "1 (owner+persist, the range accepted)"
	mh_assert "the table is still the daemon's (owner flag)" \
		eval "mh_nsx $NS_S nft list table inet $MH_TABLE 2>/dev/null | grep -q 'flags owner'"
	mh_assert "another program cannot change it (EPERM)" \
		eval "! mh_nsx $NS_S nft add element inet $MH_TABLE sessions '{ 60998 }' 2>/dev/null"
	reload_under_probes mark "2 (owner+persist, the fail-closed hand-off)"
fi

mh_step "3: table_flags = \"none\": the daemon restarts keeping its sessions"
kill -QUIT "$MH_DAEMON_PID"
mh_assert "the daemon stops" mh_wait 10 mh_pid_gone "$MH_DAEMON_PID"
echo 'table_flags = "none";' >>"$MH_CONF"
mh_start_daemon
mh_assert "its table has no flags" \
	eval "! mh_nsx $NS_S nft list table inet $MH_TABLE 2>/dev/null | grep -q '^[[:space:]]flags'"
mh_assert "the session was resumed" mh_daemon_log_has "resumed 1 of 1 session"
mh_assert "typed text still comes back" mh_roundtrip c1 20
reload_under_probes mark "3 (no flags: the rebuild, the fail-closed hand-off)"
mh_assert "the daemon rebuilt its table" mh_daemon_log_has "deleted or changed by another program: rebuilt"

mh_pass "the range stays closed across a ruleset flush"
