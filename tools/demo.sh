#!/bin/bash
# make demo: a narrated run of mosh-helper with the real kernel and the real
# mosh in throw-away network namespaces (client, router with SNAT, server).
# Starts the daemon, a session through the hook, types a command, roams the
# client to a new address, and shows the nftables table before and after.
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

show_sets() {
	local set
	for set in sessions pinholes4; do
		mh_nft_set "$set" | grep -E 'set |elements|^\s+[0-9]' | sed 's/^/    /'
	done
}

show_screen() {
	mh_screen c1 | grep -v '^$' | sed 's/^/    | /'
}

start=$SECONDS
mh_step "step: create namespaces: client $CLI4 -> router (SNAT to $SNAT4_ADDR) -> server $SRV4"
mh_setup >/dev/null
echo "    namespaces $NS_C, $NS_R, $NS_S (test addresses 198.18.0.0/15 only)"

mh_step "step: start mosh-helperd in the server namespace (idle_timeout ${MH_IDLE} s)"
mh_start_daemon
echo "    daemon log: $MH_DAEMON_LOG"

mh_step "step: the table before any session: the whole range 60000-61000 is closed"
show_table

mh_step "step: a user starts mosh-server through mosh-helper-hook (as ssh would)"
mh_session mhtest1
echo "    the hook announced port $MH_PORT (mosh-server pid $MH_SPID) and passed on: MOSH CONNECT $MH_PORT <key>"

mh_step "step: mosh-client connects from the client namespace and types a command"
mh_client_start c1 "$MH_PORT" "$MH_KEY"
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

mh_step "step: with the session: port $MH_PORT in @sessions, one pinhole for the client"
show_sets

mh_step "step: roam: the router now maps the client to 198.18.3.11 (new address)"
mh_roam_addr 198.18.3.11 >/dev/null
echo "    SNAT $SNAT4_ADDR ports $SNAT4_PORTS; router conntrack flushed"
mh_type c1 'echo "still here after the roam: $((6*7+1))"'
if mh_wait_screen c1 'after the roam: 43' 20; then
	echo "    the session carried on:"
	show_screen
else
	echo "    (no output came back within 20 s)"; show_screen
	MH_FAILED=1
fi
mh_wait 5 mh_any_pinhole 198.18.3.11 "$SNAT4_PORTS" "$MH_PORT"

mh_step "step: the table after the roam: a new pinhole; the old one expires on its own"
show_table

mh_step "step: the client no longer uses its old address: that pinhole expires after idle_timeout"
t0=$SECONDS
# shellcheck disable=SC2086
if [ -n "$old_ph" ] && mh_wait $((MH_IDLE + 5)) mh_no_pinhole $old_ph; then
	echo "    old pinhole ($old_ph) gone after $((SECONDS - t0)) s; the new one is kept alive by the client:"
else
	echo "    (the old pinhole did not expire in time)"
	MH_FAILED=1
fi
show_sets

mh_step "step: the user exits the shell: the session and its pinholes go at once"
spid=$MH_SPID
mh_type c1 exit
mh_wait 15 mh_server_gone "$spid"
if mh_wait 3 mh_no_session "$MH_PORT" && mh_wait 2 mh_no_pinholes_for_port "$MH_PORT"; then
	echo "    mosh-server exited; port $MH_PORT left @sessions and its pinhole is gone:"
else
	echo "    (the session was not removed)"
	MH_FAILED=1
fi
show_sets

mh_step "step: what the daemon logged"
grep -v -E 'debug|probe' "$MH_DAEMON_LOG" | sed 's/^/    /'

mh_step "step: clean up (daemon stopped, namespaces deleted) after $((SECONDS - start)) s"
if [ "$MH_FAILED" = 0 ]; then
	echo "demo finished"
	exit 0
fi
echo "demo FAILED: see the output above"
exit 1
