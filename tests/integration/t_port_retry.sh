#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A local user cannot deny mosh to the others by holding the lowest port
# of the range on another local address. Sessions are keyed by port alone,
# and mosh-server takes the lowest port free on the address it binds: with
# mhtest2's session on 127.0.0.1:60001, every other user's mosh-server
# binds 60001 on the server's address, and its announcement was refused
# ("port 60001 already has a session"), every time; the same for
# mhtest2's socket on 60002 at a second address of the server ("shared
# with another user's socket"). The hook now stops that mosh-server and
# starts it again on the ports above the refused one, one line each on
# the user's stderr. Checked: mhtest1's real session gets port 60003 and
# types, the client saw one MOSH CONNECT line, the refused tries' servers
# are gone; a fixed port (-p 60001), a range used up (-p 60001:60002) and
# HOOK_PORT_TRIES (16) mosh-servers refused in a row end as before, with
# the last refusal. About 15 s.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/mhannounce
mh_require_tools mosh-server mosh-client tmux
mh_setup
mh_write_conf
mh_start_daemon
sock=$MH_TMP/control.sock
ALT4=198.18.0.9   # a second address of the server; mosh-server binds $SRV4 (-i)
ip -n "$NS_S" addr add "$ALT4/24" dev eth0 || mh_fail "address $ALT4"
KEY=$(head -c 16 /dev/urandom | base64 | tr -d '=')

as_mhtest2() { ip netns exec "$NS_S" setpriv --reuid=mhtest2 --regid=mhtest2 --init-groups "$@"; }

# bg OUT command...: mhtest2's helper in the background, ended at cleanup
bg() {
	local out=$1; shift
	as_mhtest2 "$@" >"$out" 2>&1 &
	disown $!
	MH_PIDS+=("$!")
}

tries() { grep -c 'trying the next port$' "$MH_HOOK_ERR"; }
hook_lines() { grep -c '^mosh-helper-hook: ' "$MH_HOOK_ERR"; }
connect_lines() { grep -a -c '^MOSH CONNECT ' "$MH_HOOK_OUT"; }

# every mosh-server the last hook run started (each try's) is gone, but
# the session's own (MH_SPID) when one was accepted
servers_gone() {
	local p
	for p in $(grep -a -o -E 'detached, pid = [0-9]+' "$MH_HOOK_ERR" | grep -o -E '[0-9]+$'); do
		[ "$p" = "${1:-}" ] && continue
		mh_wait 3 mh_server_gone "$p" || return 1
	done
}

mh_step "mhtest2: a session on 127.0.0.1:60001, a socket on $ALT4:60002"
bg "$MH_TMP/serve.out" "$MH_ANNOUNCE" --serve "$sock" 60001 "$KEY" 127.0.0.1 120
mh_assert "its session on port 60001 is accepted" mh_wait 5 grep -q '^MHC_OK' "$MH_TMP/serve.out"
mh_assert "the daemon holds port 60001" mh_has_session 60001
bg "$MH_TMP/hold.out" "$MH_ANNOUNCE" --hold "$ALT4" 60002 120
mh_assert "it holds $ALT4:60002" mh_wait 5 grep -q "^holding $ALT4" "$MH_TMP/hold.out"

mh_step "mhtest1's real session (no -p: mosh-server's 60001-60999) skips 60001 and 60002"
mh_live_session mhtest1 c1
sed 's/^/   | /' "$MH_HOOK_ERR" | grep -a 'mosh-helper-hook'
mh_assert_eq "accepted on the first port nobody else holds" 60003 "$MH_PORT"
mh_assert_eq "two lines 'trying the next port'" 2 "$(tries)"
mh_assert "60001: another session" grep -q -E \
	"^mosh-helper-hook: mosh-helperd refused the session: port 60001 already has a session \(MHC_ERR_EXISTS\); trying the next port$" "$MH_HOOK_ERR"
mh_assert "60002: another user's socket" grep -q -E \
	"^mosh-helper-hook: mosh-helperd refused the session: UDP port 60002 is shared with another user's socket \(uid $(id -u mhtest2), at $ALT4\) \(MHC_ERR_NOT_OWNER\); trying the next port$" "$MH_HOOK_ERR"
mh_assert_eq "the client got one MOSH CONNECT line" 1 "$(connect_lines)"
mh_assert "the refused tries' mosh-servers are gone" servers_gone "$MH_SPID"
mh_assert "the session's mosh-server runs" mh_server_alive "$MH_SPID"
mh_assert "mhtest2's session is untouched" mh_has_session 60001

mh_step "a fixed port (-p 60001): the refusal is final, as before"
if mh_session_try mhtest1 -p 60001; then mh_fail "accepted on port $MH_PORT"; fi
mh_log "the hook's user sees: $(grep '^mosh-helper-hook' "$MH_HOOK_ERR")"
mh_assert_eq "one line from the hook" 1 "$(hook_lines)"
mh_assert "the refusal" grep -q -E \
	"^mosh-helper-hook: mosh-helperd refused the session: port 60001 already has a session \(MHC_ERR_EXISTS\)$" "$MH_HOOK_ERR"
mh_assert_eq "no MOSH CONNECT line" 0 "$(connect_lines)"
mh_assert "its mosh-server is gone" servers_gone

mh_step "a range used up (-p 60001:60002): the last refusal is final"
if mh_session_try mhtest1 -p 60001:60002; then mh_fail "accepted on port $MH_PORT"; fi
mh_log "the hook's user sees: $(grep '^mosh-helper-hook' "$MH_HOOK_ERR" | tr '\n' '|')"
mh_assert_eq "one next port tried" 1 "$(tries)"
mh_assert "the last line is 60002's refusal" eval "tail -n 1 '$MH_HOOK_ERR' | grep -q -E \
	'^mosh-helper-hook: mosh-helperd refused the session: UDP port 60002 is shared with another user.s socket .*\(MHC_ERR_NOT_OWNER\)$'"
mh_assert_eq "no MOSH CONNECT line" 0 "$(connect_lines)"
mh_assert "both mosh-servers are gone" servers_gone

# 60003 is c1's; mhtest2 holds 60004-60040 on $ALT4 too: the tries are
# 60001, 60002, then 60004 on, and the 16th (60017) is the last.
mh_step "mhtest2 holds 60004-60040 on $ALT4 too: 16 mosh-servers, then the refusal"
bg "$MH_TMP/hold2.out" "$MH_ANNOUNCE" --hold "$ALT4" 60004 120 37
mh_assert "it holds them" mh_wait 5 grep -q "^holding $ALT4" "$MH_TMP/hold2.out"
t0=$SECONDS
if mh_session_try mhtest1; then mh_fail "accepted on port $MH_PORT"; fi
mh_log "16 tries in $((SECONDS - t0)) s; last line: $(tail -n 1 "$MH_HOOK_ERR")"
mh_assert_eq "15 next ports tried" 15 "$(tries)"
mh_assert "the 16th, port 60017, is refused and final" eval "tail -n 1 '$MH_HOOK_ERR' | grep -q -E \
	'^mosh-helper-hook: mosh-helperd refused the session: UDP port 60017 is shared .*\(MHC_ERR_NOT_OWNER\)$'"
mh_assert_eq "no MOSH CONNECT line" 0 "$(connect_lines)"
mh_assert "every one of its mosh-servers is gone" servers_gone
mh_assert "c1 still types" mh_roundtrip c1 20
mh_pass "a port held on another address costs a try, not the session; fixed ports, used-up ranges and tries end as before"
