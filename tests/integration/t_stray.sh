#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Stray pinholes (issue 11, finding 4): a pinhole element in the kernel that
# no session records (left by a delete that failed; kept alive by its own
# traffic, it would let that client reach whatever session next takes the
# port) is removed by the daemon's periodic read-back, for a port without a
# session and for a port with one, IPv4 and IPv6, long before its own
# timeout; the session's real pinhole stays and the session keeps working.
# The strays are put there from the shell with `nft add element`, standing
# for the failed delete; that takes table_flags = "none" (an owned table
# refuses every other program's change; the watch's rebuild of a table
# changed by another program keeps its elements, so the strays stay until
# the sync finds them).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_setup
MH_IDLE=8   # the sync reads the pinholes back every idle_timeout/4 = 2 s
mh_start_daemon 'table_flags = "none";'
S() { mh_nsx "$NS_S" "$@"; }

mh_step "stray: a live session of mhtest1"
mh_live_session mhtest1 c1
port=$MH_PORT free=60123
read -r ph_addr ph_cport ph_sport <<<"$MH_PH"

mh_step "stray: three pinholes no session records, each with a timeout of an hour"
S nft add element inet "$MH_TABLE" pinholes4 "{ 198.18.9.9 . 40000 . $free timeout 1h }" ||
	mh_fail "nft add element (no session)"
S nft add element inet "$MH_TABLE" pinholes4 "{ 198.18.9.9 . 40001 . $port timeout 1h }" ||
	mh_fail "nft add element (the session's port)"
S nft add element inet "$MH_TABLE" pinholes6 "{ fd00:9::9 . 40002 . $free timeout 1h }" ||
	mh_fail "nft add element (IPv6)"
# (each add succeeded: they were in the kernel. With table_flags none the
# first add sets off a rebuild in place, and the sync that follows may
# remove them before a listing here could see them.)
t0=$SECONDS

mh_step "stray: the next sync removes them"
mh_assert "the stray to port $free (no session) goes" mh_wait 6 mh_no_pinhole 198.18.9.9 40000 "$free" 4
# (each within two syncs of the first: an add may land just after a
# sync's read-back of its set)
mh_assert "the stray to port $port (mhtest1's session) goes" mh_wait 4 mh_no_pinhole 198.18.9.9 40001 "$port" 4
mh_assert "the IPv6 stray to port $free goes" mh_wait 4 mh_no_pinhole fd00:9::9 40002 "$free" 6
mh_log "removed within $((SECONDS - t0)) s (their own timeout: 3600 s)"
mh_assert "the session's own pinhole stays ($MH_PH)" mh_has_pinhole "$ph_addr" "$ph_cport" "$ph_sport" 4
mh_assert "the session still carries typed text" mh_roundtrip c1 20
mh_assert_eq "the audit trail names each removal" 3 \
	"$(grep -c '"event":"stray_removed"' "$MH_TMP/audit.log")"
mh_assert "the log says why" mh_daemon_log_has "198.18.9.9:40001 to port $port is recorded by no session: removed"
mh_assert "no session ended" eval '! grep -q "session_end" "$MH_TMP/audit.log"'

mh_pass "stray pinholes"
