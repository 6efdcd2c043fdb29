#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Site defaults through the hook (mosh #1314, #439, #345), with the real
# mosh-server and mosh-client in the namespaces: server_ports = 60500-60509
# inside the managed range. (a) no -p: the hook adds the range and
# mosh-server listens in it; (b) a -p inside (port, range, -pPORT) is kept;
# (c) a -p outside (or --port=, which mosh-server reads as -p "ort=...") is
# refused before anything runs: one line on the user's stderr, no
# mosh-server, no socket, no session; (d) with server_network_timeout = 5
# a mosh-server whose client vanished exits by itself, while one started
# without it (session a, client killed too) keeps waiting.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

LO=60500 HI=60509 TMOUT=5
mh_require_build mosh-helperd mosh-helper-hook
mh_setup
mh_start_daemon "server_ports = \"$LO-$HI\";"

in_range() { [ "$1" -ge "$LO" ] && [ "$1" -le "$HI" ]; }
cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null; }
# the pid of the process bound to UDP port $1 in the server namespace
bound_pid() { mh_nsx "$NS_S" ss -uanpH "sport = :$1" | grep -o -E 'pid=[0-9]+' | head -n1 | cut -d= -f2; }
# mosh-servers of user $1 in this test's server namespace (the test users
# are shared with tests running beside this one)
servers_of() {
	local p n=0 uid
	uid=$(id -u "$1")
	for p in $(ip netns pids "$NS_S"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = mosh-server ] &&
			[ "$(stat -c %u "/proc/$p" 2>/dev/null)" = "$uid" ] && n=$((n + 1))
	done
	echo $n
}

mh_step "a: no -p given: mosh-server gets the site's range and listens in it"
mh_live_session mhtest1 c1
a_port=$MH_PORT a_spid=$MH_SPID
mh_check_eq "port $a_port is in $LO-$HI" yes "$(in_range "$a_port" && echo yes || echo no)"
mh_check_eq "the process bound to UDP $a_port is that mosh-server" "$a_spid" "$(bound_pid "$a_port")"
mh_log "mosh-server ran as: $(cmdline "$a_spid")"
mh_check_eq "the hook added -p $LO:$HI after 'new'" yes \
	"$(case "$(cmdline "$a_spid")" in *" new -p $LO:$HI -i "*) echo yes;; *) echo no;; esac)"
mh_check_eq "no MOSH_SERVER_NETWORK_TMOUT without server_network_timeout" "" \
	"$(tr '\0' '\n' <"/proc/$a_spid/environ" | grep '^MOSH_SERVER_NETWORK_TMOUT=')"

mh_step "b: a port or range inside the site's range is kept"
for spec in "-p 60507" "-p60508" "-p 60505:60506"; do
	# shellcheck disable=SC2086  # the spec is one or two words
	mh_session mhtest2 $spec
	want=${spec#-p}; want=${want# }; want=${want%%:*}
	mh_check_eq "$spec: mosh-server bound $want" "$want" "$MH_PORT"
	mh_check_eq "$spec: nothing added to its arguments" no \
		"$(case "$(cmdline "$MH_SPID")" in *"$LO:$HI"*) echo yes;; *) echo no;; esac)"
	mh_check_eq "$spec: port $MH_PORT is a session" yes "$(mh_has_session "$MH_PORT" && echo yes || echo no)"
done

mh_step "c: a port outside the site's range is refused before anything runs"
refuse() { # want-in-the-line, args...
	local want=$1; shift
	local before lines
	before=$(servers_of mhtest2)
	if mh_session_try mhtest2 "$@"; then
		mh_check_eq "$*: refused" yes "no: accepted, port $MH_PORT"
		return
	fi
	lines=$(wc -l <"$MH_HOOK_ERR")
	mh_log "the user sees: $(cat "$MH_HOOK_ERR")"
	mh_check_eq "$*: exit status 1" 1 "$MH_HOOK_RC"
	mh_check_eq "$*: exactly one line on stderr" 1 "$lines"
	mh_check_eq "$*: it says why" yes "$(grep -q -F -- "$want" "$MH_HOOK_ERR" && echo yes || echo no)"
	mh_check_eq "$*: no MOSH CONNECT reached the client" "" "$(cat "$MH_HOOK_OUT")"
	mh_check_eq "$*: no new mosh-server of mhtest2" "$before" "$(servers_of mhtest2)"
}
refuse 'port "60100" is outside the range this server gives mosh sessions (60500:60509)' -p 60100
mh_check_eq "nothing bound to UDP 60100" "" "$(bound_pid 60100)"
mh_check_eq "60100 is not a session" no "$(mh_has_session 60100 && echo yes || echo no)"
refuse 'port "61500" is outside' -p 61500
refuse 'port "60509:60510" is outside' -p 60509:60510
refuse 'port "ort=60503" (from "--port=60503") is not PORT or PORT:PORT2' --port=60503
mh_check_eq "nothing bound to UDP 60503" "" "$(bound_pid 60503)"

mh_step "d: server_network_timeout = $TMOUT: a server whose client vanished exits by itself"
echo "server_network_timeout = $TMOUT;" >>"$MH_CONF"   # the hook reads it at each login
mh_live_session mhtest1 c2
d_port=$MH_PORT d_spid=$MH_SPID
mh_check_eq "mosh-server has MOSH_SERVER_NETWORK_TMOUT=$TMOUT" "MOSH_SERVER_NETWORK_TMOUT=$TMOUT" \
	"$(tr '\0' '\n' <"/proc/$d_spid/environ" | grep '^MOSH_SERVER_NETWORK_TMOUT=')"
sleep $((TMOUT + 3))
mh_assert "with its client alive it outlives the timeout: typed text still comes back" mh_roundtrip c2 10
mh_signal_client KILL c2
mh_signal_client KILL c1
t0=$(date +%s%3N)
# (the result of the wait itself: a second look could race the reaping)
gone=no
mh_wait $((TMOUT + 15)) mh_server_gone "$d_spid" && gone=yes
dt=$(($(date +%s%3N) - t0))
mh_log "mosh-server $d_spid gone: $gone, ${dt} ms after its client was killed"
mh_check_eq "mosh-server $d_spid exited by itself within $((TMOUT + 15)) s of its client vanishing" yes "$gone"
mh_assert "its port $d_port left the sessions set" mh_wait 3 mh_no_session "$d_port"
mh_assert "the session started without the timeout (a, pid $a_spid) still waits for its client" \
	mh_server_alive "$a_spid"

mh_pass "site defaults through the hook"
