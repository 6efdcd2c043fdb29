#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# mosh-helperctl against the real daemon and real mosh: two users' sessions
# (one contacted through the SNAT router, one never contacted); root's list
# shows both with the right uid, port, pid and the contacted session's
# pinhole from the client's SNAT address; each user lists only its own;
# kill by the non-owner is refused and changes nothing, kill by the owner
# ends the session (mosh-server gone, port out of the sessions set, the
# other session untouched); stats match what happened; reload works for
# root and is refused to a user; malformed requests get MHC_ERR_PROTOCOL and
# the daemon still serves the hook; --json lines parse.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook mosh-helperctl tests/ctlprobe
command -v python3 >/dev/null 2>&1 || mh_skip "python3 is needed to parse the JSON lines"
mh_setup
MH_IDLE=30 MH_HANDSHAKE=120   # nothing expires by itself during the test
mh_start_daemon

CTL=$MH_BUILD/mosh-helperctl SOCK=$MH_TMP/control.sock
OUT=$MH_TMP/ctl.out ERR=$MH_TMP/ctl.err
uid1=$(id -u mhtest1) uid2=$(id -u mhtest2)

# ctl USER args...: mosh-helperctl as USER (root: directly); stdout in $OUT,
# stderr in $ERR, exit status in $RC.
ctl() {
	local user=$1; shift
	RC=0
	if [ "$user" = root ]; then
		"$CTL" -s "$SOCK" "$@" >"$OUT" 2>"$ERR" || RC=$?
	else
		runuser -u "$user" -- "$CTL" -s "$SOCK" "$@" >"$OUT" 2>"$ERR" || RC=$?
	fi
	sed 's/^/   | /' "$OUT" "$ERR"
}

# json_check PYTHON-EXPR: every line of $OUT parses; EXPR (over `rows`, the
# parsed objects) must hold.
json_check() {
	python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$OUT" "$1"
}

# The text row of a session: "PORT UID USER PID ID AGE ALIVE CONTACTED PINHOLES SSH".
row() { awk -v p="$1" '$1 == p' "$OUT"; }
field() { row "$1" | awk -v f="$2" '{print $f}'; }

mh_step "two sessions: mhtest1 with a client (contacted), mhtest2 without"
mh_live_session mhtest1 c1
port1=$MH_PORT spid1=$MH_SPID
read -r ph_addr ph_cport _ <<<"$MH_PH"
mh_session mhtest2
port2=$MH_PORT spid2=$MH_SPID
mh_assert "port $port2 is in the sessions set" mh_has_session "$port2"

mh_step "root: list shows both sessions"
ctl root list
mh_check_eq "exit status" 0 "$RC"
mh_check_eq "header line" "PORT UID USER PID" "$(head -n1 "$OUT" | awk '{print $1, $2, $3, $4}')"
mh_check_eq "session 1: uid user pid contacted pinholes" "$uid1 mhtest1 $spid1 yes 1" \
	"$(field "$port1" 2) $(field "$port1" 3) $(field "$port1" 4) $(field "$port1" 8) $(field "$port1" 9)"
mh_check_eq "session 1: ssh client" "$(mh_snat_addr)" "$(field "$port1" 10)"
mh_check_eq "session 2: uid user pid contacted pinholes" "$uid2 mhtest2 $spid2 no 0" \
	"$(field "$port2" 2) $(field "$port2" 3) $(field "$port2" 4) $(field "$port2" 8) $(field "$port2" 9)"
mh_check_eq "session 1's pinhole is listed below it, from the SNAT address" \
	"pinhole $ph_addr:$ph_cport" \
	"$(awk -v p="$port1" '$1 == p { on = 1; next } /^[0-9]/ { on = 0 } on && $1 == "pinhole" { print $1, $2 }' "$OUT")"
mh_check_eq "two session rows" 2 "$(grep -c -E '^[0-9]+ ' "$OUT")"

ctl root --json list
mh_check_eq "--json: exit status" 0 "$RC"
mh_assert "--json: every line parses, both sessions with uid/pid, the pinhole from $ph_addr:$ph_cport" json_check "
	any(r['type'] == 'session' and r['port'] == $port1 and r['uid'] == $uid1 and r['pid'] == $spid1
	    and r['contacted'] and r['pinholes'] == 1 for r in rows) and
	any(r['type'] == 'session' and r['port'] == $port2 and r['uid'] == $uid2 and r['pid'] == $spid2
	    and not r['contacted'] and r['pinholes'] == 0 for r in rows) and
	[r['client'] for r in rows if r['type'] == 'pinhole' and r['port'] == $port1] == ['$ph_addr:$ph_cport'] and
	len(rows) == 3"

mh_step "each user lists only its own session"
ctl mhtest2 list
mh_check_eq "mhtest2: exit status" 0 "$RC"
mh_check_eq "mhtest2 sees only port $port2" "$port2" "$(grep -E '^[0-9]+ ' "$OUT" | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')"
ctl mhtest1 --json list
mh_assert "mhtest1 sees only port $port1 (JSON)" json_check \
	"[r['port'] for r in rows if r['type'] == 'session'] == [$port1]"

mh_step "kill by the non-owner is refused; the session stays"
ctl mhtest2 kill "$port1"
mh_check_eq "exit status 1" 1 "$RC"
mh_check_eq "one line on stderr: MHC_ERR_PERM, not yours" yes \
	"$(grep -q -E "^mosh-helperctl: MHC_ERR_PERM: .*port $port1 is not yours" "$ERR" && [ "$(wc -l <"$ERR")" = 1 ] && echo yes)"
sleep 1
mh_assert "mosh-server $spid1 still runs" mh_server_alive "$spid1"
mh_assert "port $port1 is still in the sessions set" mh_has_session "$port1"
mh_assert "the session still carries typed text" mh_roundtrip c1 20

mh_step "kill of a port without a session"
ctl root kill 60999
mh_check_eq "exit status 1" 1 "$RC"
mh_check_eq "MHC_ERR_NOT_FOUND with the port" yes \
	"$(grep -q 'MHC_ERR_NOT_FOUND: no session on port 60999' "$ERR" && echo yes)"
ctl root kill 70000
mh_check_eq "a port out of range is a usage error (2)" 2 "$RC"

mh_step "stats and reload are root's"
ctl mhtest1 stats
mh_check_eq "stats as mhtest1: exit status 1" 1 "$RC"
mh_check_eq "stats as mhtest1: MHC_ERR_PERM" yes "$(grep -q 'MHC_ERR_PERM: stats is for root' "$ERR" && echo yes)"
ctl mhtest2 reload
mh_check_eq "reload as mhtest2: exit status 1" 1 "$RC"
mh_check_eq "reload as mhtest2: MHC_ERR_PERM" yes "$(grep -q 'MHC_ERR_PERM: reload is for root' "$ERR" && echo yes)"

mh_step "root: stats match what happened"
ctl root stats
mh_check_eq "exit status" 0 "$RC"
stat() { awk -v n="$1" '$1 == n { print $2 }' "$OUT"; }
mh_check_eq "sessions" 2 "$(stat sessions)"
mh_check_eq "announce_accepted" 2 "$(stat announce_accepted)"
mh_check_eq "sessions_ended" 0 "$(stat sessions_ended)"
mh_check_eq "pinholes (open now) = pinholes in the kernel set" "$(mh_pinholes_for_port "$port1")" "$(stat pinholes)"
mh_check_eq "pinholes_opened >= 1" yes "$([ "$(stat pinholes_opened)" -ge 1 ] && echo yes)"
mh_check_eq "accept_new_source >= 1 and accept_confirmed >= 1" yes \
	"$([ "$(stat accept_new_source)" -ge 1 ] && [ "$(stat accept_confirmed)" -ge 1 ] && echo yes)"
mh_check_eq "every line is 'name value'" 0 "$(grep -c -v -E '^[a-z0-9_]+ [0-9]+$' "$OUT")"
ctl root --json stats
mh_assert "--json stats: one object with the same counters" json_check \
	"len(rows) == 1 and rows[0]['sessions'] == 2 and rows[0]['announce_accepted'] == 2"

mh_step "root: reload applies a changed setting, sessions kept"
sed -i 's/^handshake_timeout = .*/handshake_timeout = 121;/' "$MH_CONF"
ctl root reload
mh_check_eq "exit status" 0 "$RC"
mh_check_eq "the reply names the change" yes "$(grep -q 'reloaded; applied: handshake_timeout' "$OUT" && echo yes)"
mh_assert "the daemon logged it as for SIGHUP" mh_daemon_log_has 'SIGHUP: handshake_timeout: 120 -> 121'
mh_assert "both sessions kept" eval 'mh_has_session "$port1" && mh_has_session "$port2"'
ctl root reload
mh_check_eq "a second reload: nothing to apply" yes "$(grep -q 'nothing to apply now' "$OUT" && echo yes)"

# Under valgrind 3.19 (MH_VALGRIND=1) the daemon's pidfds are emulated by
# tests/valgrind/pidfd_shim.c (valgrind knows neither pidfd_open nor
# pidfd_send_signal), so a pidfd it hands over cannot be used: the kill
# itself is checked in the normal and sanitizer runs; here mosh-server is
# ended directly and the rest of each step still runs.
ctl_kill() { # USER PORT SPID
	if [ "$MH_VALGRIND" = 1 ]; then
		mh_log "under valgrind: emulated pidfds cannot be handed over; mosh-server $3 ended with kill(1) instead"
		kill -TERM "$3"
		return
	fi
	ctl "$1" kill "$2"
	mh_check_eq "exit status" 0 "$RC"
	mh_check_eq "says SIGTERM went to the mosh-server of port $2" yes \
		"$(grep -q "SIGTERM.*$2\|$2.*SIGTERM" "$OUT" && echo yes)"
}

mh_step "kill by the owner ends the session"
ctl_kill mhtest1 "$port1" "$spid1"
mh_assert "mosh-server $spid1 exits within 5 s" mh_wait 5 mh_server_gone "$spid1"
mh_assert "port $port1 leaves the sessions set within 5 s" mh_wait 5 mh_no_session "$port1"
mh_assert "its pinholes are gone" mh_wait 5 mh_no_pinholes_for_port "$port1"
mh_assert "mhtest2's mosh-server $spid2 still runs" mh_server_alive "$spid2"
mh_assert "port $port2 is still in the sessions set" mh_has_session "$port2"
mh_assert "the daemon ended it through the pidfd path" mh_daemon_log_has "port $port1 ended: mosh-server exited"
ctl root stats
mh_check_eq "stats: sessions 1, sessions_ended 1" "1 1" "$(stat sessions) $(stat sessions_ended)"
ctl root kill "$port1"
mh_check_eq "killing it again: MHC_ERR_NOT_FOUND" yes "$(grep -q MHC_ERR_NOT_FOUND "$ERR" && echo yes)"

mh_step "malformed requests: MHC_ERR_PROTOCOL, nothing changes"
out=$(runuser -u mhtest1 -- "$MH_BUILD/tests/ctlprobe" "$SOCK" raw garbage) || true
mh_log "garbage: $out"
mh_check_eq "garbage: MHC_ERR_PROTOCOL with a reason" yes \
	"$(echo "$out" | grep -q -E '^MHC_ERR_PROTOCOL malformed request: .+' && echo yes)"
# hand-made admin requests with bad bodies (python: SOCK_SEQPACKET records)
raw() { # HEX-BYTES: one record, prints "STATUS REASON" of the reply
	runuser -u mhtest1 -- python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
s.send(bytes.fromhex(sys.argv[2]))
r = s.recv(2048)
print(r[4], r[6:6 + r[5]].decode())' "$SOCK" "$1"
}
for req in "01070001ea:kill request truncated" "01030003010203:trailing bytes" \
	"01050000:stats request truncated" "0108000100:trailing bytes" "01040003000000:not an announcement"; do
	out=$(raw "${req%%:*}" 2>&1)
	mh_log "${req%%:*}: $out"
	mh_check_eq "${req%%:*}: status 1 (MHC_ERR_PROTOCOL), reason '${req#*:}'" yes \
		"$(echo "$out" | grep -q -E "^1 malformed request: .*${req#*:}" && echo yes)"
done
mh_assert "mhtest2's session untouched" eval 'mh_has_session "$port2" && mh_server_alive "$spid2"'
mh_assert "the daemon still runs" kill -0 "$MH_DAEMON_PID"
mh_session mhtest1
mh_assert "and still serves the hook: port $MH_PORT is in the sessions set" mh_has_session "$MH_PORT"
ctl root list
mh_check_eq "root's list: the two sessions now" "$(printf '%s\n' "$port2" "$MH_PORT" | sort -n | tr '\n' ' ' | sed 's/ $//')" \
	"$(grep -E '^[0-9]+ ' "$OUT" | awk '{print $1}' | sort -n | tr '\n' ' ' | sed 's/ $//')"

mh_step "root may kill any user's session"
ctl_kill root "$port2" "$spid2"
mh_assert "mhtest2's mosh-server $spid2 exits within 5 s" mh_wait 5 mh_server_gone "$spid2"
mh_assert "port $port2 leaves the sessions set within 5 s" mh_wait 5 mh_no_session "$port2"
mh_assert "mhtest1's new session stays" mh_has_session "$MH_PORT"

mh_step "no daemon at the path: exit 2 with the path and the reason"
ctl root -s "$MH_TMP/nowhere.sock" list
mh_check_eq "exit status 2" 2 "$RC"
mh_check_eq "says which path and why" yes \
	"$(grep -q "cannot connect to mosh-helperd at $MH_TMP/nowhere.sock: No such file or directory" "$ERR" && echo yes)"

mh_pass "mosh-helperctl"
