#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make demo: a narrated run of mosh-helper with the real kernel and the real
# mosh in throw-away network namespaces (client, router with SNAT, server).
# Starts the daemon, a session through the hook, types a command, roams the
# client to a new address: shows the nftables table once, then only what
# changes in it (pinhole added, moved, expired, session gone), and ends with
# a three-line summary.
# Usage: tools/demo.sh BUILD_DIR   (builds nothing; `make demo` builds first)
set -u
B=${1:?usage: tools/demo.sh BUILD_DIR}
MH_SRC=$(cd "$(dirname "$0")/.." && pwd)
MH_BUILD=$(cd "$B" && pwd) || exit 1
export MH_SRC MH_BUILD
MH_FAMILY=4
MH_IDLE=10          # short, so the old pinhole is seen expiring
MH_LOGLEVEL=info
# shellcheck source=tests/integration/lib.sh
. "$MH_SRC/tests/integration/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "demo: needs root (it creates network namespaces); try: sudo make demo" >&2
	exit 1
fi
for f in mosh-helperd mosh-helper-hook; do
	[ -x "$MH_BUILD/$f" ] || { echo "demo: $MH_BUILD/$f is missing (make first)" >&2; exit 1; }
done

# nft cannot print the xt NFQUEUE target the daemon uses on kernels without
# the native queue expression; it says so on stderr. Keep the listing clean.
show_table() {
	mh_nsx "$NS_S" nft list table inet "$MH_TABLE" 2>/dev/null | sed 's/^/    /'
	if [ -n "$(mh_nsx "$NS_S" nft list table inet "$MH_TABLE" 2>&1 >/dev/null)" ]; then
		echo "    (this nft cannot print the xt NFQUEUE target used through nft compat on"
		echo "     kernels without the native queue expression: it belongs after"
		echo "     \"limit rate ... packets\" in the two queue rules)"
	fi
}

# The part of the table that changes, one line per element, no timers:
# "session PORT" and "pinhole ADDR:CPORT -> PORT".
snapshot() {
	mh_sessions | sed 's/^/session /'
	mh_pinholes 4 | awk '{print "pinhole " $1 ":" $2 " -> " $3}'
}

# What changed since the last call: "+" added, "-" removed, with a note.
changes() { # note-for-added note-for-removed
	local now
	now=$(snapshot | sort)
	comm -13 <(printf '%s\n' "$PREV" | sed '/^$/d') <(printf '%s\n' "$now" | sed '/^$/d') |
		sed "s/^/    + /; s/\$/${1:+   ($1)}/"
	comm -23 <(printf '%s\n' "$PREV" | sed '/^$/d') <(printf '%s\n' "$now" | sed '/^$/d') |
		sed "s/^/    - /; s/\$/${2:+   ($2)}/"
	PREV=$now
}
PREV=''

ph() { echo "$1" | awk 'NF == 3 {print $1 ":" $2 " -> " $3; next} {print "none"}'; }

show_screen() {
	mh_screen c1 | grep -v '^$' | tail -n 3 | sed 's/^/    | /'
}

start=$SECONDS
SUM_PH='' SUM_ROAM='' SUM_EXP='' SUM_END=''
mh_step "step: create namespaces: client $CLI4 -> router (SNAT to $SNAT4_ADDR) -> server $SRV4"
mh_setup >/dev/null
echo "    namespaces $NS_C, $NS_R, $NS_S (test addresses 198.18.0.0/15 only)"

mh_step "step: start mosh-helperd in the server namespace (idle_timeout ${MH_IDLE} s)"
mh_start_daemon 'server_ports = "60001-60999";'
echo "    daemon log: $MH_DAEMON_LOG"

mh_step "step: the table, once: the whole range 60000-61000 is closed"
show_table
echo "    From here on only what changes is shown: the elements of @sessions and"
echo "    @pinholes4 (+ added, - removed)."

mh_step "step: a user starts mosh-server through mosh-helper-hook (as ssh would)"
mh_session mhtest1 >/dev/null
echo "    the hook ran: $(tr '\0' ' ' <"/proc/$MH_SPID/cmdline" | sed 's|^/usr/bin/||; s/ $//')"
echo "    (-p 60001:60999 added: server_ports, the site's range for mosh-server)"
echo "    and announced port $MH_PORT before passing on: MOSH CONNECT $MH_PORT <key>"
changes "announced by the hook"

mh_step "step: mosh-client connects from the client namespace and types a command"
mh_client_start c1 "$MH_PORT" "$MH_KEY" >/dev/null
mh_type c1 'echo "hello through the pinhole: 6*7=$((6*7))"'
if mh_wait_screen c1 'pinhole: 6\*7=42' 20; then
	echo "    the shell's output came back:"
	show_screen
else
	echo "    (no output came back within 20 s)"; show_screen
	MH_FAILED=1
fi
mh_wait 5 mh_any_pinhole "$SNAT4_ADDR" "$SNAT4_PORTS" "$MH_PORT"
old_ph=$(mh_find_pinholes "$SNAT4_ADDR" "$SNAT4_PORTS" "$MH_PORT" | head -n1)
changes "the client's first authentic datagram, answered by mosh-server"
SUM_PH=${old_ph:-none}

mh_step "step: roam: the router now maps the client to 198.18.3.11 (new address)"
mh_roam_addr 198.18.3.11 >/dev/null
mh_type c1 'echo "still here after the roam: $((6*7+1))"'
if mh_wait_screen c1 'after the roam: 43' 20; then
	echo "    the session carried on:"
	show_screen
else
	echo "    (no output came back within 20 s)"; show_screen
	MH_FAILED=1
fi
mh_wait 5 mh_any_pinhole 198.18.3.11 "$SNAT4_PORTS" "$MH_PORT"
new_ph=$(mh_find_pinholes 198.18.3.11 "$SNAT4_PORTS" "$MH_PORT" | head -n1)
changes "the roam: authenticated again from the new address"
echo "    (the old pinhole stays until idle_timeout: nothing refreshes it now)"
SUM_ROAM=${new_ph:-none}

mh_step "step: the old address falls silent: its pinhole expires after idle_timeout"
t0=$SECONDS
# shellcheck disable=SC2086
if [ -n "$old_ph" ] && mh_wait $((MH_IDLE + 5)) mh_no_pinhole $old_ph; then
	SUM_EXP="$((SECONDS - t0)) s"
	changes "" "expired in the kernel after $SUM_EXP; the new one is kept alive by the client"
else
	echo "    (the old pinhole did not expire in time)"
	MH_FAILED=1
fi

mh_step "step: the user exits the shell: the session and its pinholes go at once"
spid=$MH_SPID
mh_type c1 exit
mh_wait 15 mh_server_gone "$spid"
if mh_wait 3 mh_no_session "$MH_PORT" && mh_wait 2 mh_no_pinholes_for_port "$MH_PORT"; then
	SUM_END=yes
	changes "" "mosh-server exited"
else
	echo "    (the session was not removed)"
	MH_FAILED=1
fi

mh_step "step: what the daemon logged about the session"
grep -E 'mh_sessions_(start|end)|apply_pinhole' "$MH_DAEMON_LOG" | sed 's/^mosh-helperd: info: [a-z_]*: /    /'

mh_step "summary (after $((SECONDS - start)) s; namespaces and daemon removed at exit)"
echo "    table: one nftables table closes UDP 60000-61000; a session port reaches the daemon, a pinhole passes in the kernel"
echo "    session: port $MH_PORT from the hook; pinhole $(ph "$SUM_PH") opened, moved to $(ph "$SUM_ROAM") on the roam, old one expired after ${SUM_EXP:-never}"
echo "    end: the shell exited, so mosh-server did: session and pinhole $([ -n "$SUM_END" ] && echo "removed at once" || echo "NOT removed")"
if [ "$MH_FAILED" = 0 ]; then
	exit 0
fi
echo "demo FAILED: see the output above"
exit 1
