#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Role relay, what goes on the wire: the relay (real mosh-helperd, real
# hook, real mosh-server) announces to a recorder standing where the
# gateway would be (tests/tools/gwrecorder: it records every frame and
# answers as told; it is not the gateway). Checked: HELLO and an empty
# resync on connect; an accepted session's OPEN carries the session's port,
# the server address mosh-server bound, the uid, the SSH client and the
# session key, and is answered before the hook prints MOSH CONNECT; a
# restarted gateway gets every live session again (resync); a refusal and
# a silent gateway reach the user as one line and stop the user's
# mosh-server, and the silent one gets END (withdrawn); mosh-server's exit
# sends END (exited).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relaylib.sh"
mh_require_build mosh-helperd mosh-helper-hook tests/gwrecorder
mh_setup
rl_certs
REC=$MH_TMP/rec

mh_step "relay connects: HELLO, then a resync of no session"
rl_rec_start "$REC.1" ok
rl_conf "gateway_timeout = 1500;"
mh_start_daemon
rl_wait_up 1
mh_wait 5 rl_has "$REC.1" '^RESYNC_END id=[0-9]+ count=0$' || mh_fail "no resync: $(cat "$REC.1")"
mh_log "recorder: $(tr '\n' '|' <"$REC.1")"
mh_assert "the recorder saw the relay's certificate" rl_has "$REC.1" '^CONNECT /CN=relay-lab$'
mh_assert "HELLO first, with the heartbeat" rl_has "$REC.1" '^HELLO id=1 name=[A-Za-z0-9._-]+ hb=1000 '
mh_assert "then RESYNC_BEGIN count=0" rl_has "$REC.1" '^RESYNC_BEGIN id=2 count=0$'

mh_step "an accepted session is announced with its key, before the hook answers"
mh_session mhtest1
A_PORT=$MH_PORT A_SPID=$MH_SPID A_KEY=$(rl_key_hex "$MH_KEY")
A_UID=$(id -u mhtest1)
open_re="^OPEN id=[0-9]+ sid=[0-9]+ flags=0 uid=$A_UID server=$SRV4 port=$A_PORT hint=$(mh_snat_addr) key=$A_KEY$"
mh_assert "OPEN: port $A_PORT, server $SRV4, uid $A_UID, SSH client hint, the session's key" \
	rl_has "$REC.1" "$open_re"
A_SID=$(grep -E "$open_re" "$REC.1" | sed -E 's/.* sid=([0-9]+) .*/\1/')
mh_assert "the session is open on the relay's own table" mh_has_session "$A_PORT"

mh_step "a restarted gateway gets every live session again"
rl_rec_stop
rl_rec_start "$REC.2" ok
rl_wait_up 2
mh_wait 5 rl_has "$REC.2" '^RESYNC_END ' || mh_fail "no resync after the restart: $(cat "$REC.2")"
mh_log "recorder: $(tr '\n' '|' <"$REC.2")"
mh_assert "HELLO again" rl_has "$REC.2" '^HELLO id=1 '
mh_assert "RESYNC_BEGIN count=1" rl_has "$REC.2" '^RESYNC_BEGIN id=2 count=1$'
mh_assert "the live session, flagged resync, same sid and key" rl_has "$REC.2" \
	"^OPEN id=3 sid=$A_SID flags=1 uid=$A_UID server=$SRV4 port=$A_PORT hint=$(mh_snat_addr) key=$A_KEY$"
mh_assert "RESYNC_END count=1" rl_has "$REC.2" '^RESYNC_END id=4 count=1$'

mh_step "a gateway's refusal reaches the user as one line; mosh-server is stopped"
WHY="server address $SRV4 not in this relay's certificate"
rl_rec_stop
rl_rec_start "$REC.3" refuse "$WHY"
rl_wait_up 3
if mh_session_try mhtest2; then mh_fail "the refused session was accepted"; fi
B_SPID=$MH_SPID
mh_log "the user sees: $(tail -n1 "$MH_HOOK_ERR")"
mh_assert "the hook names the gateway and its reason" grep -q -F \
	"gateway $RL_GW refused: $WHY (not_allowed)" "$MH_HOOK_ERR"
mh_assert_not "no MOSH CONNECT line reached the user" grep -q 'MOSH CONNECT' "$MH_HOOK_OUT"
mh_assert "the user's mosh-server ($B_SPID) is stopped" mh_wait 5 mh_server_gone "$B_SPID"
B_PORT=$(grep -E '^OPEN .* flags=0 ' "$REC.3" | tail -n1 | sed -E 's/.* port=([0-9]+) .*/\1/')
mh_assert "the relay sent the refused session's OPEN (port $B_PORT)" test -n "$B_PORT"
mh_assert "its port left the relay's table" mh_wait 3 mh_no_session "$B_PORT"
mh_assert "the relay ended it for the gateway's reason (not for mosh-server's exit)" \
	grep -q -F "port $B_PORT ended: gateway $RL_GW refused: $WHY" "$MH_DAEMON_LOG"
B_SID=$(grep -E "^OPEN .* flags=0 .* port=$B_PORT " "$REC.3" | sed -E 's/.* sid=([0-9]+) .*/\1/')
sleep 1
mh_assert_not "the gateway that refused it gets no END for it" rl_has "$REC.3" "^END id=[0-9]+ sid=$B_SID "
mh_assert "the end is audited with the gateway's reason" grep -q -F "$WHY" "$MH_TMP/audit.log"
mh_assert "the first session is still open" mh_has_session "$A_PORT"

mh_step "a silent gateway: the hook waits for it (OPEN sent meanwhile), then refuses"
rl_rec_stop
rl_rec_start "$REC.4" silent
rl_wait_up 4
SILENT_ERR=$MH_TMP/hook$((MH_NSESS + 1)).err   # the subshell's session number
t0=$(date +%s%3N)
( mh_session_try mhtest2; echo "$MH_HOOK_RC" >"$MH_TMP/silent.rc"; echo "$MH_SPID" >"$MH_TMP/silent.spid" ) &
HOOK_BG=$!
MH_NSESS=$((MH_NSESS + 1))
mh_wait 5 rl_has "$REC.4" '^OPEN .* flags=0 ' || mh_fail "no OPEN reached the silent gateway"
mh_assert "the OPEN was sent while the hook still waited" kill -0 "$HOOK_BG"
wait "$HOOK_BG"
dt=$(($(date +%s%3N) - t0))
C_SPID=$(cat "$MH_TMP/silent.spid")
mh_log "the user sees, after $dt ms: $(tail -n1 "$SILENT_ERR")"
mh_assert "the hook refused" test "$(cat "$MH_TMP/silent.rc")" != 0
mh_assert "within the hook's timeout (5 s): $dt ms" test "$dt" -lt 5000
mh_assert "the user is told which gateway did not answer" grep -q -F \
	"gateway $RL_GW did not answer within 1500 ms" "$SILENT_ERR"
mh_assert "the user's mosh-server ($C_SPID) is stopped" mh_wait 5 mh_server_gone "$C_SPID"
C_SID=$(grep -E '^OPEN .* flags=0 ' "$REC.4" | tail -n1 | sed -E 's/.* sid=([0-9]+) .*/\1/')
mh_assert "the silent gateway got END (withdrawn) for it" mh_wait 3 rl_has "$REC.4" \
	"^END id=[0-9]+ sid=$C_SID server=$SRV4 port=[0-9]+ reason=withdrawn$"

mh_step "a relay SIGKILLed and restarted resends its sessions"
kill -KILL "$MH_DAEMON_PID"
mh_wait 5 mh_pid_gone "$MH_DAEMON_PID" || mh_fail "the relay did not die"
mh_assert "its table stayed: session $A_PORT still closed to all but its pinholes" mh_has_session "$A_PORT"
ups=$(rl_ups)
mh_start_daemon
rl_wait_up $((ups + 1))
mh_wait 5 rl_has "$REC.4" '^RESYNC_END id=[0-9]+ count=1$' || mh_fail "no resync of 1 after the restart: $(tail -n 5 "$REC.4")"
mh_assert "the resumed session is resent: same sid, port and key" rl_has "$REC.4" \
	"^OPEN id=[0-9]+ sid=$A_SID flags=1 uid=$A_UID server=$SRV4 port=$A_PORT hint=$(mh_snat_addr) key=$A_KEY$"

mh_step "mosh-server's exit sends END (exited)"
kill -TERM "$A_SPID"
mh_assert "END (exited) for session $A_SID within 2 s" mh_wait 2 rl_has "$REC.4" \
	"^END id=[0-9]+ sid=$A_SID server=$SRV4 port=$A_PORT reason=exited$"

mh_pass "relay wire: HELLO, resync on reconnect, OPEN before the answer, refusals, END"
