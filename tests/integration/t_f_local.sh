#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Acceptance f: local abuse of the control socket. A second uid announcing a
# port it does not own, a wrong pid, a port outside the range, a per-user
# quota exceeded: each refused with a clear reason, nothing opened (the
# sessions set does not change, refused mosh-servers are stopped).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/mhannounce tests/subreaper
mh_setup
mh_write_conf "max_sessions_per_user = 1;"
mh_start_daemon
sock=$MH_TMP/control.sock

# mosh-server processes of USER running inside our server namespace.
ns_servers() {
	local uid p
	uid=$(id -u "$1")
	for p in $(ip netns pids "$NS_S"); do
		mh_server_alive "$p" && [ "$(stat -c %u "/proc/$p")" = "$uid" ] && echo "$p"
	done
	return 0
}

# announce USER PORT PID KEY: the direct client, run as USER in the server ns.
announce() {
	ip netns exec "$NS_S" setpriv --reuid="$1" --regid="$1" --init-groups \
		"$MH_ANNOUNCE" "$sock" "$2" "$3" "$4" "$(mh_snat_addr) 50000 $SRV 22"
}

# refused WHAT EXPECTED_STATUS REASON_REGEX USER PORT PID KEY
refused() {
	local what=$1 status=$2 re=$3 out rc=0; shift 3
	out=$(announce "$@") || rc=$?
	mh_log "daemon answered: $out"
	mh_assert_eq "$what: refused" 1 "$rc"
	mh_assert "$what: status $status" eval '[[ ${out%% *} =~ ^($status)$ ]]'
	mh_assert "$what: the reason says why ($re)" eval 'echo "$out" | grep -q -i -E "$re"'
	mh_assert_eq "$what: the sessions set is unchanged" "$sessions" "$(mh_sessions | tr '\n' ' ')"
}

# hook_refused WHAT REASON_REGEX USER [mosh-server args]: through the real hook.
hook_refused() {
	local what=$1 re=$2 user=$3; shift 2
	local before
	before=$(ns_servers "$user" | tr '\n' ' ')
	if mh_session_try "$@"; then mh_fail "$what: the hook accepted (port $MH_PORT)"; fi
	mh_log "hook exit status $MH_HOOK_RC; its stderr ends with: $(tail -n 1 "$MH_HOOK_ERR")"
	mh_assert "$what: the hook exits non-zero" test "$MH_HOOK_RC" != 0
	mh_assert "$what: no MOSH CONNECT line reaches the client" \
		eval '! grep -q "MOSH CONNECT" "$MH_HOOK_OUT"'
	mh_assert "$what: one clear line on stderr says why ($re)" \
		grep -q -i -E "$re" "$MH_HOOK_ERR"
	mh_assert "$what: the mosh-server it started is stopped" \
		mh_wait 5 eval '[ "$(ns_servers "$user" | tr "\n" " ")" = "$before" ]'
	mh_assert_eq "$what: the sessions set is unchanged" "$sessions" "$(mh_sessions | tr '\n' ' ')"
}

mh_step "f: a first session of mhtest1 through the hook (quota 1 per user)"
mh_session mhtest1
p1=$MH_PORT s1=$MH_SPID k1=$MH_KEY
sessions=$(mh_sessions | tr '\n' ' ')
mh_assert_eq "the sessions set holds exactly its port" "$p1 " "$sessions"

mh_step "f: quota exceeded: a second session of mhtest1"
hook_refused "quota" "quota|max_sessions|sessions" mhtest1

mh_step "f: a port outside the managed range (mosh-server -p 61500)"
hook_refused "outside the range" "range|61500" mhtest2 -p 61500

mh_step "f: a second uid announces a port it does not own"
mh_plain_server mhtest1
p2=$MH_PORT s2=$MH_SPID k2=$MH_KEY
refused "mhtest2 announcing mhtest1's port $p2" MHC_ERR_NOT_OWNER "not bound|owner|uid" \
	mhtest2 "$p2" "$s2" "$k2"
refused "mhtest2 announcing mhtest1's session port $p1" "MHC_ERR_(NOT_OWNER|EXISTS)" "not bound|owner|uid|already" \
	mhtest2 "$p1" "$s1" "$k1"

mh_step "f: wrong pids"
mh_plain_server mhtest2
p3=$MH_PORT s3=$MH_SPID k3=$MH_KEY
ip netns exec "$NS_S" setpriv --reuid=mhtest2 --regid=mhtest2 --init-groups sleep 60 &
other=$!
MH_PIDS+=("$other")
mh_wait 5 eval '[ "$(stat -c %u /proc/$other 2>/dev/null)" = "$(id -u mhtest2)" ]'
refused "mhtest2's port with mhtest1's mosh-server pid" MHC_ERR_PID "pid" \
	mhtest2 "$p3" "$s2" "$k3"
refused "mhtest2's port with a pid of mhtest2 that is not the announcer's (nor its descendant)" \
	MHC_ERR_PID "pid.*descendant" mhtest2 "$p3" "$other" "$k3"
refused "mhtest2's port with pid 1" MHC_ERR_PID "pid" \
	mhtest2 "$p3" 1 "$k3"

mh_step "f: nothing was opened"
mh_assert "no pinholes at all" test -z "$(mh_pinholes 4)$(mh_pinholes 6)"
mh_assert "mhtest1's first session is intact" mh_has_session "$p1"

mh_step "f: control: the same client, announcing a mosh-server it started, is accepted"
# Like the hook, the client is a child subreaper: the server mosh-server
# detaches becomes its child, and it announces that pid (the daemon accepts
# the announcer itself or its descendants, read from /proc without any
# capability). The shell runs mosh-server, then becomes mhannounce.
U=$MH_TMP/u
mkdir -m 1777 "$U"
out=$(ip netns exec "$NS_S" setpriv --reuid=mhtest2 --regid=mhtest2 --init-groups \
	env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$(getent passwd mhtest2 | cut -d: -f6)" \
	USER=mhtest2 SHELL=/bin/sh "$MH_BUILD/tests/subreaper" sh -c '
		/usr/bin/mosh-server new -i "$1" -l LANG=C.UTF-8 >"$2.out" 2>"$2.err" </dev/null || exit 2
		port=$(sed -n "s/^MOSH CONNECT \([0-9]*\) .*/\1/p" "$2.out")
		key=$(sed -n "s/^MOSH CONNECT [0-9]* \([A-Za-z0-9/+]*\).*/\1/p" "$2.out")
		pid=$(sed -n "s/.*detached, pid = \([0-9]*\).*/\1/p" "$2.err")
		exec "$3" "$4" "$port" "$pid" "$key" "$5"' \
	sh "$SRV" "$U/direct" "$MH_ANNOUNCE" "$sock" "$(mh_snat_addr) 50000 $SRV 22") && rc=0 || rc=$?
mh_parse_connect "$U/direct.out" "$U/direct.err"
mh_log "daemon answered: $out (mosh-server pid $MH_SPID, port $MH_PORT)"
mh_assert_eq "mhtest2 announcing its own port $MH_PORT with the pid of the mosh-server it started is accepted" 0 "$rc"
mh_assert "port $MH_PORT is now in the sessions set" mh_has_session "$MH_PORT"

mh_pass "acceptance f"
