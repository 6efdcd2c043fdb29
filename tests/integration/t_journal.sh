#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# journald priorities: the real daemon, with a real session, started with
# JOURNAL_STREAM naming the device:inode of its stderr (a file here: no
# systemd-journald runs on the test machine, and the daemon sees the same
# thing either way: a variable and fstat of fd 2). Every line then carries
# its sd-daemon priority matching its level: an error (a SIGHUP with a
# broken configuration) <3>, a warning (a SIGHUP changing a restart-only
# key) <4>, info <6>, debug <7>, also after a reload set the log up again
# under the syscall filter. Restarted with JOURNAL_STREAM naming another
# file (what a child whose stderr went elsewhere inherits): no prefix.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook

if [ -S /run/systemd/journal/stdout ]; then
	mh_log "systemd-journald runs here; this test still uses a file it can read back"
else
	mh_log "no systemd-journald here (/run/systemd/journal/stdout absent): JOURNAL_STREAM names a file"
fi

mh_setup
MH_IDLE=30 MH_HANDSHAKE=120
LOG=$MH_TMP/daemon.log
: >"$LOG"

# prefixed_ok FROM: every line of $LOG after line FROM is
# "<P>mosh-helperd: LEVEL: ..." with P the priority of LEVEL.
prefixed_ok() {
	tail -n +"$(($1 + 1))" "$LOG" | awk '
	{
		if (match($0, /^<[0-9]>mosh-helperd: (error|warning|info|debug): /)) {
			p = substr($0, 2, 1); l = $2
			if ((l == "error:" && p == 3) || (l == "warning:" && p == 4) ||
			    (l == "info:" && p == 6) || (l == "debug:" && p == 7))
				next
		}
		print "   | bad: " $0; bad++
	}
	END { exit bad ? 1 : 0 }'
}

mh_step "stderr is the journal: lines carry their priority"
JOURNAL_STREAM=$(stat -c '%d:%i' "$LOG") mh_start_daemon
mh_live_session mhtest1 c1
# one SIGHUP: ports (takes a restart: a warning) and handshake_timeout
# (applied: the log is set up again, under the syscall filter; the lines
# after it must keep their prefixes)
sed -i 's/^ports = .*/ports = "60000-60999";/; s/^handshake_timeout = .*/handshake_timeout = 121;/' "$MH_CONF"
kill -HUP "$MH_DAEMON_PID"
mh_assert "a warning at <4>: ports takes a restart" \
	mh_wait 5 mh_daemon_log_has '^<4>mosh-helperd: warning: .*SIGHUP: ports: .* takes a restart'
mh_assert "info at <6>: handshake_timeout applied" \
	mh_wait 5 mh_daemon_log_has '^<6>mosh-helperd: info: .*SIGHUP: handshake_timeout: 120 -> 121'
cp "$MH_CONF" "$MH_TMP/good.conf"
echo 'idle_timeout = "not a number";' >>"$MH_CONF"
kill -HUP "$MH_DAEMON_PID"
mh_assert "an error at <3>: the configuration refused" \
	mh_wait 5 mh_daemon_log_has '^<3>mosh-helperd: error: .*SIGHUP: configuration refused'
mh_assert "info at <6>: the session" mh_daemon_log_has '^<6>mosh-helperd: info: .*session [0-9]+ port [0-9]+'
mh_assert "debug at <7>" mh_daemon_log_has '^<7>mosh-helperd: debug: '
mh_assert "the session still carries typed text" mh_roundtrip c1 20
mh_stop_daemon
mh_log "$(wc -l <"$LOG") lines"
mh_assert "every line: <3> error, <4> warning, <6> info, <7> debug, nothing else" prefixed_ok 0

mh_step "JOURNAL_STREAM names another file: no prefixes"
cp "$MH_TMP/good.conf" "$MH_CONF"
from=$(wc -l <"$LOG")
: >"$MH_TMP/other"
JOURNAL_STREAM=$(stat -c '%d:%i' "$MH_TMP/other") mh_start_daemon
mh_session mhtest2
kill -HUP "$MH_DAEMON_PID"
mh_assert "SIGHUP read" mh_wait 5 mh_daemon_log_has 'SIGHUP: nothing to apply'
mh_stop_daemon
mh_check_eq "new lines" yes "$([ "$(wc -l <"$LOG")" -gt "$((from + 5))" ] && echo yes)"
mh_check_eq "none starts with <" 0 "$(tail -n +"$((from + 1))" "$LOG" | grep -c '^<')"
mh_check_eq "each is 'mosh-helperd: LEVEL: ...'" 0 \
	"$(tail -n +"$((from + 1))" "$LOG" | grep -c -v -E '^mosh-helperd: (error|warning|info|debug): ')"

mh_pass "journald priorities"
