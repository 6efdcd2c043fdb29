#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Keyless mode, host role (issue 16), with real mosh: the daemon never gets
# a session key, and still gives exact, roaming, idle-expiring pinholes.
#   1. keyless refuses single_port and key_log at start, with the reason;
#   2. a session: the hook's ANNOUNCE on the control socket carries no key
#      (its sendto traced; its write of MOSH CONNECT to the client, traced
#      too, does: the trace would show it), and the daemon's memory
#      (/proc/PID/mem, dontdump pages included) holds neither the key's 16
#      bytes nor its text; typed text comes back, a pinhole opens;
#   3. roam of the address, then of the port; idle past idle_timeout (the
#      pinhole expires) and return;
#   4. attacks from the attacker namespace, the client stopped so that only
#      the attack reaches the server: forged headers and garbage (at most
#      slow_path_rate_per_session a second delivered to sockets, counted in
#      the server namespace), replays of the session captured before the
#      last confirmation (none delivered), a spoofed victim address with
#      plausible headers (mosh-server sends nothing to it); no pinhole for
#      attacker or victim, nothing from the server reaches either; then the
#      legit session keeps working;
#   3b. a restart (SIGTERM, start again) resumes it, still without a key;
#   5. exit: the session and its pinholes go;
#   6. control: a keyed daemon, same searches: the key is on the wire and in
#      its memory (the checks of 2 can fail).
# Either way a hook of the other mode is refused, with the reason.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/udptool tests/spoofsend tests/memgrep
command -v strace >/dev/null 2>&1 || mh_skip "missing tool: strace"
mh_setup
MH_IDLE=8
BUDGET=10          # slow_path_rate_per_session (the default)
VICTIM=198.18.1.3  # an address of the client namespace nobody uses
ip -n "$NS_C" addr add "$VICTIM/24" dev eth0

mh_step "1: keyless refuses what needs keys, at start"
mh_write_conf 'keyless = true;' 'single_port = { enable = true; port = 60000; };'
out=$("$MH_BUILD/mosh-helperd" -c "$MH_CONF" --check-config 2>&1)
mh_check_eq "keyless + single_port: refused" 1 "$?"
mh_assert "with the reason" grep -q "keyless: single_port needs the session keys" <<<"$out"
mh_write_conf 'keyless = true;' "key_log = \"$MH_TMP/keys.log\";"
out=$("$MH_BUILD/mosh-helperd" -c "$MH_CONF" --check-config 2>&1)
mh_check_eq "keyless + key_log: refused" 1 "$?"
mh_assert "with the reason" grep -q "key_log cannot be on" <<<"$out"

# hook_session USER: mh_session_try with the hook under strace (its
# connect/sendto: the control socket; its writes: the client's stdout).
# LeakSanitizer cannot run under ptrace: off for this one hook.
hook_session() {
	local user=$1 n=$((MH_NSESS + 1)); MH_NSESS=$n
	MH_HOOK_OUT=$MH_TMP/hook$n.out MH_HOOK_ERR=$MH_TMP/hook$n.err
	STRACE=$MH_TMP/strace$n
	install -m 666 /dev/null "$STRACE"
	timeout 60 ip netns exec "$NS_S" runuser -u "$user" -- \
		strace -o "$STRACE" -e trace=connect,sendto,sendmsg,write -xx -s 2048 \
		env -i ASAN_OPTIONS=detect_leaks=0 PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$(getent passwd "$user" | cut -d: -f6)" \
		USER="$user" SHELL=/bin/sh SSH_CONNECTION="$(mh_snat_addr) 50000 $SRV 22" \
		"$MH_BUILD/mosh-helper-hook" -c "$MH_CONF" -- new -i "$SRV" -l LANG=C.UTF-8 \
		</dev/null >"$MH_HOOK_OUT" 2>"$MH_HOOK_ERR" || mh_fail "hook failed: $(tail -n 3 "$MH_HOOK_ERR")"
	mh_parse_connect "$MH_HOOK_OUT" "$MH_HOOK_ERR"
	[ -n "$MH_PORT" ] || mh_fail "no MOSH CONNECT line"
	mh_log "session of $user: port $MH_PORT, mosh-server pid $MH_SPID"
}

hexkey() { printf '%s==' "$1" | base64 -d | od -An -tx1 | tr -d ' \n'; }
# strace -xx writes every byte as \xNN
sx() { printf '%s' "$1" | od -An -tx1 | tr -d '\n' | sed 's/ /\\\\x/g'; }
# the ANNOUNCE sendto: version 1, type 1
announce_line() { grep -E '^sendto\([0-9]+, "\\x01\\x01' "$STRACE" | head -n1; }
key_on_wire() { grep -E '^(sendto|sendmsg)' "$STRACE" | grep -q -i "$(sx "$MH_KEY")"; }
key_to_client() { grep -E '^write\(1,' "$STRACE" | grep -q -i "$(sx "$MH_KEY")"; }
mem_hits() { # counts of the key's bytes and its text in the daemon's memory
	"$MH_BUILD/tests/memgrep" "$MH_DAEMON_PID" "$(hexkey "$MH_KEY")" "=$MH_KEY" >"$MH_TMP/memgrep" ||
		mh_fail "memgrep failed"
	mh_log "memgrep: $(tr '\n' ' ' <"$MH_TMP/memgrep")" >&2
	awk 'NR <= 2 { n += $2 } END { print n + 0 }' "$MH_TMP/memgrep"
}
# keys the daemon keeps for a restart (root's user keyring: user = "")
ring_keys() { "$MH_BUILD/tests/mhkeys" list ":net$MH_NETNS_INO" | grep -c '^key '; }

mh_step "2: a keyless session: no key on the control socket or in the daemon"
MH_CONF=
mh_start_daemon 'keyless = true;'
mh_tcpdump "$NS_S" "$MH_TMP/session.pcap" udp
cap=$MH_TCPDUMP_PID
hook_session mhtest1
port=$MH_PORT
mh_log "announce on the wire: $(announce_line | cut -c1-160)"
mh_assert "the hook sent an ANNOUNCE" test -n "$(announce_line)"
# body: port (2), pid (4), key length (1): \x00
mh_assert "its key field is empty (length byte 0)" \
	grep -q -E '^sendto\([0-9]+, "(\\x[0-9a-f]{2}){10}\\x00' <<<"$(announce_line)"
mh_assert_not "the session key is in nothing the hook sent the daemon" key_on_wire
mh_assert "(the trace sees the key: the hook wrote it to the client)" key_to_client
mh_assert "port $port is in the sessions set" mh_has_session "$port"
mh_client_start c1 "$port" "$MH_KEY"
mh_assert "typed text comes back" mh_roundtrip c1 20
mh_assert "a pinhole opens" mh_wait 5 mh_any_pinhole "$(mh_snat_addr)" "$(mh_snat_ports)" "$port"
MH_PH=$(mh_find_pinholes "$(mh_snat_addr)" "$(mh_snat_ports)" "$port" | head -n1)
mh_assert "the daemon decided unverified datagrams" mh_daemon_log_has "keyless"
mh_check_eq "the key (16 bytes or its text) in the daemon's memory" 0 "$(mem_hits)"
mh_assert "(memgrep reads the daemon's heap: the SSH client address is there)" \
	test "$("$MH_BUILD/tests/memgrep" "$MH_DAEMON_PID" "=$(mh_snat_addr)" | awk 'NR == 1 { print $2 }')" -gt 0
mh_check_eq "keys kept in the keyring for a restart" 0 "$(ring_keys)"
# mismatch: a hook that reads another configuration (keyed) is refused,
# and says why
mismatch() { # sed-expression expected-reason
	local conf=$MH_CONF key=$MH_KEY p=$MH_PORT spid=$MH_SPID
	sed "$1" "$conf" >"$MH_TMP/other.conf"
	MH_CONF=$MH_TMP/other.conf
	mh_session_try mhtest2 && mh_fail "a hook of the other mode was accepted"
	MH_CONF=$conf MH_KEY=$key MH_PORT=$p MH_SPID=$spid
	mh_assert "a hook of the other mode is refused: $2" grep -q "$2" "$MH_HOOK_ERR"
}
mismatch 's/^keyless = true;/keyless = false;/' "is keyless and takes no session key"
mh_assert_not "the state file holds no key" grep -q -F "$MH_KEY" "$MH_TMP/state"

mh_step "3: roams and idle expiry"
roam() { # what (the old pinhole's expiry: t_b_roam; here, idle below)
	mh_assert "typed text comes back after the $1 change" mh_roundtrip c1 20
	mh_assert "a pinhole from $(mh_snat_addr) ports $(mh_snat_ports) opens" \
		mh_wait 5 mh_any_pinhole "$(mh_snat_addr)" "$(mh_snat_ports)" "$port"
	MH_PH=$(mh_find_pinholes "$(mh_snat_addr)" "$(mh_snat_ports)" "$port" | head -n1)
}
mh_roam_addr 198.18.3.11
roam address
mh_roam_port 42000-42099
roam port
mh_tcpdump_stop "$cap"    # the replays below: all before the next confirmation
mh_signal_client STOP c1
# shellcheck disable=SC2086
mh_assert "idle: the pinhole expires (idle_timeout $MH_IDLE s)" mh_wait $((MH_IDLE + 6)) mh_no_pinhole $MH_PH
# mosh-server keeps sending to its silent client for 40 s: those datagrams
# go to no candidate and must not leave, nor reopen anything (one
# heartbeat, 3 s, and some)
sleep 4
mh_check_eq "mosh-server's datagrams to the silent client reopen nothing" 0 \
	"$(mh_pinholes_for_port "$port")"
mh_signal_client CONT c1
mh_assert "the client returns: typed text comes back" mh_roundtrip c1 25
mh_assert "and a pinhole opens again" \
	mh_wait 5 mh_any_pinhole "$(mh_snat_addr)" "$(mh_snat_ports)" "$port"

mh_step "3b: a restart resumes the keyless session"
mh_stop_daemon
mh_start_daemon
mh_assert "resumed without a key" mh_daemon_log_has "restart: resumed 1 of 1"
mh_assert "typed text comes back" mh_roundtrip c1 20

mh_step "4: attacks (the client stopped: only the attack reaches the server)"
mh_tcpdump "$NS_A" "$MH_TMP/attacker.pcap" "ip src $SRV4 or ip6 src $SRV6"
cap_a=$MH_TCPDUMP_PID
mh_tcpdump "$NS_C" "$MH_TMP/victim.pcap" "dst host $VICTIM"
cap_v=$MH_TCPDUMP_PID
mh_watch_start "$MH_TMP/pinholes.watch" 120
mh_signal_client STOP c1
mh_assert "UDP deliveries in the server ns are quiet" mh_wait 15 mh_udp_quiet
# delivered ATTACK_CMD...: datagrams delivered to sockets in the server ns
# while the command runs, and after it for a second
delivered() {
	local a b
	a=$(mh_udp_in)
	"$@" >/dev/null || mh_fail "attack tool: $*"
	sleep 1
	b=$(mh_udp_in)
	echo $((b - a))
}
t0=$SECONDS
n=$(delivered mh_udptool "$NS_A" send "$SRV4" "$port" --forged 5000)
dt=$((SECONDS - t0))
mh_log "forged headers: $n delivered in about $dt s"
mh_check_eq "forged headers delivered within the budget ($BUDGET/s x ${dt}s + burst)" yes \
	"$([ "$n" -le $((BUDGET * dt + BUDGET)) ] && echo yes)"
n=$(delivered mh_udptool "$NS_A" send "$SRV4" "$port" --garbage 2000)
mh_check_eq "random garbage delivered within the budget" yes \
	"$([ "$n" -le $((BUDGET * 3 + BUDGET)) ] && echo yes)"
n=$(delivered mh_udptool "$NS_A" replay "$SRV4" "$port" "$MH_TMP/session.pcap")
mh_check_eq "replays older than the last confirmation delivered" 0 "$n"
n=$(delivered ip netns exec "$NS_A" "$MH_BUILD/tests/spoofsend" "$SRV4" "$port" \
	--src "$VICTIM" --ssp-seq 100000 --count 3000 --pps 1000 --seconds 5 --len 80)
mh_log "spoofed victim $VICTIM: $n delivered"
mh_check_eq "spoofed victim: delivered within the budget" yes \
	"$([ "$n" -le $((BUDGET * 4 + BUDGET)) ] && echo yes)"
# a candidate lives candidate_lifetime (10 s) and mosh-server heartbeats
# every 3 s: every chance for a wrong pinhole to show
sleep 4
mh_watch_stop
mh_tcpdump_stop "$cap_a"
mh_tcpdump_stop "$cap_v"
mh_check_eq "pinholes for the attacker or the victim" 0 \
	"$(grep -c -E "^[46] ($ATK4|$ATK6|$VICTIM) " "$MH_TMP/pinholes.watch")"
mh_check_eq "datagrams from the server to the attacker" 0 "$(mh_pcap_count "$MH_TMP/attacker.pcap")"
mh_check_eq "datagrams from the server to the victim" 0 \
	"$(mh_pcap_count "$MH_TMP/victim.pcap" src host "$SRV4")"
mh_log "daemon drop reasons (rate limited log): $(mh_daemon_drops | tr '\n' ',')"
mh_signal_client CONT c1
mh_assert "the legit session keeps working" mh_roundtrip c1 25
mh_assert "with its pinhole" mh_wait 5 mh_any_pinhole "$(mh_snat_addr)" "$(mh_snat_ports)" "$port"

mh_step "5: exit"
mh_type c1 exit
mh_assert "mosh-server exits" mh_wait 15 mh_server_gone "$MH_SPID"
mh_assert "the session leaves the sessions set" mh_wait 5 mh_no_session "$port"
mh_assert "its pinholes go" mh_wait 5 mh_no_pinholes_for_port "$port"

mh_step "6: control: a keyed daemon gets the key (so the checks of 2 can fail)"
mh_stop_daemon
MH_CONF=
mh_start_daemon
hook_session mhtest2
mh_assert "keyed: the key is on the control socket" key_on_wire
mismatch '$a keyless = true;' "needs the session key"
mh_check_eq "keyed: one key in the keyring" 1 "$(ring_keys)"
mh_check_eq "keyed: the key is in the daemon's memory" yes "$([ "$(mem_hits)" -gt 0 ] && echo yes)"

mh_pass "keyless mode, host role"
