#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Acceptance d: the user exits the shell; within one second of mosh-server
# exiting, its port leaves the sessions set and its pinholes are gone.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook
mh_setup
MH_IDLE=30   # long, so only the session end can remove the pinhole in time
mh_start_daemon

mh_step "d: a live session"
mh_live_session mhtest1 c1
port=$MH_PORT spid=$MH_SPID

now_ms() { date +%s%3N; }

mh_step "d: the user exits the shell"
mh_type c1 "exit"
# Poll the pid every 20 ms so the exit time is known to ~20 ms.
end=$(($(now_ms) + 15000))
while mh_server_alive "$spid" && [ "$(now_ms)" -lt $end ]; do sleep 0.02; done
t_exit=$(now_ms)
mh_assert "mosh-server (pid $spid) exited within 15 s" mh_server_gone "$spid"
# Tight poll: the daemon watches the pid with a pidfd and acts at once.
gone() { mh_no_session "$port" && mh_no_pinholes_for_port "$port"; }
end=$((t_exit + 3000))
while ! gone && [ "$(now_ms)" -lt $end ]; do sleep 0.05; done
t_gone=$(now_ms)
gone && dt=$((t_gone - t_exit)) || dt=never
mh_log "session and pinholes gone ${dt} ms after mosh-server exited (poll granularity ~50 ms + nft listing)"
mh_assert "port $port left the sessions set" mh_no_session "$port"
mh_assert "no pinhole for port $port is left" mh_no_pinholes_for_port "$port"
mh_assert "both happened within 1 s of mosh-server exiting" test "$dt" != never -a "$dt" -le 1000
mh_assert "the daemon logged the end of the session" \
	mh_daemon_log_has "$port.*(end|exit|gone|clos)|(end|exit|gone|clos).*$port"

mh_pass "acceptance d"
