# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# shellcheck disable=SC2034  # variables here are used by the sourcing scripts
# Shared harness for the namespace integration tests and tools/demo.sh:
# the client / router (SNAT) / server / attacker topology on test addresses
# only, the daemon and hook launchers, mosh-client driving through tmux, nft
# set parsing, counters, assertions, and a cleanup trap that ends only what
# this script started (by PID) and deletes its namespaces.
#
# Source it, then call mh_setup. Knobs (environment, before mh_setup):
#   MH_BUILD   build directory with mosh-helperd, mosh-helper-hook, tests/udptool
#   MH_FAMILY  4 (default) or 6: which addresses mh_session/mh_client_start use
#   MH_KEEP=1  keep the temp dir (logs, captures) after the run
#   MH_NS_PREFIX  the namespaces' names begin with it and the script's pid
#              (default mhit)
#   MH_VALGRIND=1  run the daemon and the hook under valgrind's memcheck
#              (make check-valgrind); their reports go to $MH_TMP/vg/ and
#              any error or leak fails the test at cleanup

set -u
MH_SRC=${MH_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MH_BUILD=${MH_BUILD:-$MH_SRC/build}
MH_BUILD=$(cd "$MH_BUILD" 2>/dev/null && pwd || echo "$MH_BUILD")
MH_FAMILY=${MH_FAMILY:-4}
MH_UDPTOOL=$MH_BUILD/tests/udptool
MH_ANNOUNCE=$MH_BUILD/tests/mhannounce

MH_P=${MH_NS_PREFIX:-mhit}$$
NS_C=$MH_P-client NS_R=$MH_P-router NS_S=$MH_P-server NS_A=$MH_P-attacker
MH_TABLE=mosh_helper

# Addresses (router sides are .1 / ::1 of each link).
SRV4=198.18.0.2 CLI4=198.18.1.2 ATK4=198.18.2.2
SRV6=fd00::2 CLI6=fd00:1::2 ATK6=fd00:2::2
# The router maps the client to one address and a port range per family
# (a real NAT picks a free port in the range for each new flow, so a
# client that changes its own source port still gets through).
SNAT4_ADDR=198.18.3.10 SNAT4_PORTS=41000-41099
SNAT6_ADDR=fd00:3::10 SNAT6_PORTS=41000-41099

MH_NETNS_INO='' MH_TMP='' MH_TMUX='' MH_DAEMON_PID='' MH_CONF='' MH_DAEMON_LOG='' MH_NSESS=0
MH_PORT='' MH_KEY='' MH_SPID='' MH_PH='' MH_HOOK_OUT='' MH_HOOK_ERR='' MH_HOOK_RC=0
MH_TCPDUMP_PID='' MH_BG_PID='' MH_WATCH_PID=''
MH_PIDS=()          # background helpers (tcpdump, listeners, watchers)
MH_SERVER_PIDS=()   # mosh-server session processes (detached children)
MH_FAILED=0
MH_FAILED_CHECKS=()

# Under valgrind everything the daemon does takes longer: start-up and
# clean exit (the leak check) get longer bounds.
MH_VALGRIND=${MH_VALGRIND:-0}
if [ "$MH_VALGRIND" = 1 ]; then MH_START_S=90 MH_STOP_S=60; else MH_START_S=15 MH_STOP_S=5; fi
# shellcheck disable=SC2054  # the commas are valgrind's
MH_VG_FLAGS=(--leak-check=full --show-leak-kinds=definite,indirect
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99
	--num-callers=30 "--suppressions=$MH_SRC/tests/valgrind/mosh-helper.supp")

# ---------------------------------------------------------------- output

mh_log()  { printf '%s %s\n' "$(date +%T.%3N)" "$*"; }
mh_step() { printf '\n== %s\n' "$*"; }
mh_ok()   { printf '   ok: %s\n' "$*"; }

# Print diagnostics and exit 1 (the EXIT trap cleans up).
mh_fail() {
	printf '   FAIL: %s\n' "$*"
	MH_FAILED=1
	mh_diag
	exit 1
}

mh_skip() {
	echo "skip: $*" >&2
	exit 77
}

# mh_assert "what is checked" command...: the command must succeed.
mh_assert() {
	local what=$1; shift
	if "$@"; then mh_ok "$what"; else mh_fail "$what"; fi
}

# mh_assert_not "what is checked" command...: the command must fail.
mh_assert_not() {
	local what=$1; shift
	if "$@"; then mh_fail "$what"; else mh_ok "$what"; fi
}

mh_assert_eq() { # what, expected, actual
	if [ "$2" = "$3" ]; then mh_ok "$1 ($3)"; else mh_fail "$1: expected '$2', got '$3'"; fi
}

# mh_check_eq what expected actual: like mh_assert_eq, but a mismatch is
# recorded and the test goes on (mh_pass then fails it), so one run
# reports every independent check of a phase.
mh_check_eq() {
	if [ "$2" = "$3" ]; then
		mh_ok "$1 ($3)"
	else
		printf '   FAIL: %s: expected %s, got %s\n' "$1" "'$2'" "'$3'"
		MH_FAILED=1
		MH_FAILED_CHECKS+=("$1")
	fi
}

mh_diag() {
	echo "---- diagnostics"
	if [ -n "$NS_S" ] && ip netns list 2>/dev/null | grep -q "^$NS_S"; then
		echo "-- nft list table inet $MH_TABLE (server ns)"
		ip netns exec "$NS_S" nft list table inet "$MH_TABLE" 2>&1 | sed 's/^/   /'
		echo "-- udp sockets (server ns)"
		ip netns exec "$NS_S" ss -uanp 2>&1 | sed 's/^/   /'
		echo "-- Udp counters (server ns): $(mh_udp_in)"
		echo "-- router conntrack"
		ip netns exec "$NS_R" conntrack -L -p udp 2>/dev/null | sed 's/^/   /'
		ip netns exec "$NS_R" conntrack -L -f ipv6 -p udp 2>/dev/null | sed 's/^/   /'
	fi
	if [ -n "$MH_DAEMON_LOG" ] && [ -f "$MH_DAEMON_LOG" ]; then
		echo "-- daemon log (last 40 lines of $MH_DAEMON_LOG)"
		tail -n 40 "$MH_DAEMON_LOG" | sed 's/^/   /'
	fi
	if [ -n "$MH_TMUX" ] && [ -S "$MH_TMUX" ]; then
		local s
		for s in $(tmux -S "$MH_TMUX" list-sessions -F '#{session_name}' 2>/dev/null); do
			echo "-- screen of tmux session $s"
			tmux -S "$MH_TMUX" capture-pane -p -t "$s" 2>/dev/null | grep -v '^$' | sed 's/^/   |/'
		done
	fi
	echo "----"
}

# mh_wait TIMEOUT_S command...: poll every 0.2 s until the command succeeds.
mh_wait() {
	local t=$1; shift
	local end=$((SECONDS + t))
	while :; do
		"$@" && return 0
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}

# ---------------------------------------------------------------- prerequisites

mh_require_root() {
	[ "$(id -u)" = 0 ] || mh_skip "needs root for network namespaces"
}

mh_require_tools() {
	local c
	for c in ip nft tmux tcpdump conntrack mosh-server mosh-client runuser setpriv ss; do
		command -v "$c" >/dev/null 2>&1 || mh_skip "missing tool: $c"
	done
}

mh_require_build() { # files relative to MH_BUILD
	local f
	for f in "$@"; do
		[ -x "$MH_BUILD/$f" ] || mh_skip "missing $MH_BUILD/$f (build first: make tests)"
	done
}

mh_users() {
	local u
	for u in mhtest1 mhtest2; do
		id "$u" >/dev/null 2>&1 && continue
		# a concurrent test may be creating the same user: check again
		useradd -m -s /bin/sh "$u" || id "$u" >/dev/null 2>&1 || mh_fail "useradd $u"
	done
}

# ---------------------------------------------------------------- topology

mh_cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	if [ -n "$MH_TMUX" ] && [ -S "$MH_TMUX" ]; then
		tmux -S "$MH_TMUX" kill-server 2>/dev/null
	fi
	if [ -n "$MH_DAEMON_PID" ] && kill -0 "$MH_DAEMON_PID" 2>/dev/null; then
		kill -TERM "$MH_DAEMON_PID" 2>/dev/null
		mh_wait "$MH_STOP_S" mh_pid_gone "$MH_DAEMON_PID" || kill -KILL "$MH_DAEMON_PID" 2>/dev/null
	fi
	local p
	for p in "${MH_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${MH_SERVER_PIDS[@]}"; do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = mosh-server ] && kill -TERM "$p" 2>/dev/null
	done
	# Anything still running inside our own namespaces was started by this
	# script (the namespaces are unique to it): end it by PID.
	mh_ns_kill "$NS_C" "$NS_S" "$NS_A" "$NS_R"
	# A stopped daemon (any stop) leaves its session keys in root's
	# keyring for the next start: none comes now.
	if [ -n "$MH_NETNS_INO" ] && [ -x "$MH_BUILD/tests/mhkeys" ]; then
		"$MH_BUILD/tests/mhkeys" purge ":net$MH_NETNS_INO" >/dev/null 2>&1
	fi
	mh_ns_del "$NS_C" "$NS_S" "$NS_A" "$NS_R"
	if [ -n "$MH_TMP" ] && mh_sanitizer_reports; then
		echo "FAIL: sanitizer reports from the daemon or the hook (above)"
		[ $rc = 0 ] && rc=1
	fi
	if [ -n "$MH_TMP" ] && mh_valgrind_reports; then
		echo "FAIL: valgrind reports from the daemon or the hook (above)"
		[ $rc = 0 ] && rc=1
	fi
	if [ -n "$MH_TMP" ] && [ -d "$MH_TMP" ]; then
		if [ "${MH_KEEP:-0}" = 1 ] || { [ $rc != 0 ] && [ $rc != 77 ]; }; then
			echo "(logs kept in $MH_TMP)"
		else
			rm -rf "$MH_TMP"
		fi
	fi
	exit $rc
}

mh_pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# AddressSanitizer / UBSan / LeakSanitizer reports in the daemon's log or
# the hook's stderr (sanitizer builds write them there); true if any.
MH_SAN_RE='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error|UndefinedBehaviorSanitizer'
mh_sanitizer_reports() {
	local re=$MH_SAN_RE
	local f found=1
	for f in "$MH_TMP"/daemon.log "$MH_TMP"/hook*.err; do
		[ -f "$f" ] || continue
		if grep -q -E "$re" "$f"; then
			echo "---- sanitizer report in $f"
			grep -E -A 30 "$re" "$f" | head -n 60 | sed 's/^/   /'
			found=0
		fi
	done
	return $found
}

# mh_assert_no_sanitizer FILE...: none of the logs (of daemons a test
# stopped with TERM, so LeakSanitizer had its say) holds a report.
mh_assert_no_sanitizer() {
	local f
	for f in "$@"; do
		mh_assert "no sanitizer report in ${f#"$MH_TMP"/}" eval "! grep -q -E '$MH_SAN_RE' '$f'"
	done
}

# valgrind (MH_VALGRIND=1): errors or definite/indirect leaks in any report
# of the daemon or the hook; true if any. A process killed with SIGKILL
# leaves no summary: its report is checked for error records alone.
mh_valgrind_reports() {
	local re='^==[0-9]+== (Invalid|Conditional jump|Use of uninitialised|Syscall param|Mismatched|Source and destination overlap|Argument .* of function)|^==[0-9]+== .* (definitely|indirectly) lost in loss record|ERROR SUMMARY: [1-9]'
	local f found=1
	for f in "$MH_TMP"/vg/*.log; do
		[ -f "$f" ] || continue
		if grep -q -E "$re" "$f"; then
			echo "---- valgrind report $f"
			head -n 80 "$f" | sed 's/^/   /'
			found=0
		fi
	done
	return $found
}

# mh_no_valgrind REASON: skip a test that cannot run under valgrind (one
# that checks the daemon's seccomp mode, say).
mh_no_valgrind() {
	[ "$MH_VALGRIND" = 1 ] && mh_skip "not under valgrind: $*"
	return 0
}

# The command prefix that runs PROGRAM-NAME under valgrind, or nothing.
# valgrind 3.19 fails pidfd_open (ENOSYS): the daemon ("daemon*") gets it
# from tests/valgrind/pidfd_shim.c, built by tests/valgrind.mk.
mh_vg_prefix() {
	[ "$MH_VALGRIND" = 1 ] || return 0
	if [[ $1 == daemon* ]]; then
		printf '%s\n' /usr/bin/env "LD_PRELOAD=$MH_BUILD/tests/pidfd_shim.so"
	fi
	# MH_VG_EXTRA: more valgrind options, e.g. --track-origins=yes
	# shellcheck disable=SC2086
	printf '%s\n' /usr/bin/valgrind "${MH_VG_FLAGS[@]}" ${MH_VG_EXTRA:-} "--log-file=$MH_TMP/vg/$1.%p.log"
}

mh_nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# mh_ns_add NS...: new namespaces, loopback up, no duplicate address
# detection (addresses are usable at once). mh_ns_kill NS...: anything
# still running in these namespaces of the script's own was started by it:
# ended by PID (SIGKILL). mh_ns_del NS...: the namespaces deleted.
mh_ns_add() {
	local ns
	for ns in "$@"; do
		ip netns add "$ns" || mh_fail "ip netns add $ns"
		ip -n "$ns" link set lo up
		mh_nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
}
mh_ns_kill() {
	local ns p
	for ns in "$@"; do
		ip netns list 2>/dev/null | grep -q "^$ns\b" || continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
	done
}
mh_ns_del() {
	local ns
	for ns in "$@"; do
		ip netns del "$ns" 2>/dev/null
	done
}

mh_link() { # nsA ifA nsB ifB
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" || return 1
	ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

mh_setup() {
	mh_require_root
	mh_require_tools
	MH_TMP=$(mktemp -d "/tmp/$MH_P.XXXXXX") || exit 1
	chmod 755 "$MH_TMP"
	MH_TMUX=$MH_TMP/tmux.sock
	if [ "$MH_VALGRIND" = 1 ]; then
		command -v valgrind >/dev/null 2>&1 || mh_skip "MH_VALGRIND=1 but valgrind is not installed"
		[ -f "$MH_BUILD/tests/pidfd_shim.so" ] ||
			mh_skip "MH_VALGRIND=1 needs $MH_BUILD/tests/pidfd_shim.so (make check-valgrind builds it)"
		mkdir -m 1777 "$MH_TMP/vg"   # the hook runs as the test users
	fi
	trap mh_cleanup EXIT
	trap 'exit 130' INT TERM
	mh_users
	mh_ns_add "$NS_C" "$NS_R" "$NS_S" "$NS_A"
	mh_link "$NS_R" rs "$NS_S" eth0 || mh_fail "veth router-server"
	mh_link "$NS_R" rc "$NS_C" eth0 || mh_fail "veth router-client"
	mh_link "$NS_R" ra "$NS_A" eth0 || mh_fail "veth router-attacker"
	ip -n "$NS_R" addr add 198.18.0.1/24 dev rs
	ip -n "$NS_R" addr add 198.18.1.1/24 dev rc
	ip -n "$NS_R" addr add 198.18.2.1/24 dev ra
	ip -n "$NS_R" addr add fd00::1/64 dev rs nodad
	ip -n "$NS_R" addr add fd00:1::1/64 dev rc nodad
	ip -n "$NS_R" addr add fd00:2::1/64 dev ra nodad
	mh_nsx "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	mh_host "$NS_S" "$SRV4" 198.18.0.1 "$SRV6" fd00::1
	mh_host "$NS_C" "$CLI4" 198.18.1.1 "$CLI6" fd00:1::1
	mh_host "$NS_A" "$ATK4" 198.18.2.1 "$ATK6" fd00:2::1
	mh_nat_apply || mh_fail "router SNAT table"
	# Neighbour discovery settles before the first datagram counts.
	mh_nsx "$NS_C" ping -c1 -W2 198.18.0.2 >/dev/null 2>&1
	mh_nsx "$NS_C" ping -6 -c1 -W2 fd00::2 >/dev/null 2>&1
	mh_nsx "$NS_A" ping -c1 -W2 198.18.0.2 >/dev/null 2>&1
	mh_nsx "$NS_A" ping -6 -c1 -W2 fd00::2 >/dev/null 2>&1
	mh_family "$MH_FAMILY"
	# names the daemon's keyring (restart state): mosh-helper:TABLE:netINODE
	MH_NETNS_INO=$(mh_nsx "$NS_S" stat -L -c %i /proc/self/ns/net)
	mh_log "namespaces $NS_C $NS_R $NS_S $NS_A ready (temp dir $MH_TMP)"
}

mh_host() { # ns v4 gw4 v6 gw6: one leg of the star, routes for the test ranges
	ip -n "$1" addr add "$2/24" dev eth0
	ip -n "$1" addr add "$4/64" dev eth0 nodad
	ip -n "$1" route add 198.18.0.0/15 via "$3"
	ip -n "$1" -6 route add fd00::/8 via "$5"
}

# Select the address family mh_session / mh_client_start / pinhole helpers use.
mh_family() {
	MH_FAMILY=$1
	if [ "$1" = 6 ]; then
		SRV=$SRV6 CLI=$CLI6 ATK=$ATK6
	else
		SRV=$SRV4 CLI=$CLI4 ATK=$ATK4
	fi
}

mh_snat_addr() { if [ "$MH_FAMILY" = 6 ]; then echo "$SNAT6_ADDR"; else echo "$SNAT4_ADDR"; fi; }
mh_snat_ports() { if [ "$MH_FAMILY" = 6 ]; then echo "$SNAT6_PORTS"; else echo "$SNAT4_PORTS"; fi; }

# The router's SNAT: client UDP towards the server leaves from one chosen
# address and port range per family. Replaces the whole table atomically.
mh_nat_apply() {
	mh_nsx "$NS_R" nft -f - <<EOF
table inet mh_nat
delete table inet mh_nat
table inet mh_nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "rs" ip saddr $CLI4 meta l4proto udp snat ip to $SNAT4_ADDR:$SNAT4_PORTS
		oifname "rs" ip6 saddr $CLI6 meta l4proto udp snat ip6 to [$SNAT6_ADDR]:$SNAT6_PORTS
	}
}
EOF
}

# Forget the router's UDP NAT bindings so the next datagram takes the new one.
mh_nat_flush() {
	mh_nsx "$NS_R" conntrack -D -f ipv4 -p udp >/dev/null 2>&1
	mh_nsx "$NS_R" conntrack -D -f ipv6 -p udp >/dev/null 2>&1
	return 0
}

# mh_roam_addr NEWADDR / mh_roam_port LOW-HIGH: for the current family.
mh_roam_addr() {
	if [ "$MH_FAMILY" = 6 ]; then SNAT6_ADDR=$1; else SNAT4_ADDR=$1; fi
	mh_nat_apply || mh_fail "router SNAT update"
	mh_nat_flush
	mh_log "router now maps the client to $(mh_snat_addr) ports $(mh_snat_ports)"
}

mh_roam_port() {
	if [ "$MH_FAMILY" = 6 ]; then SNAT6_PORTS=$1; else SNAT4_PORTS=$1; fi
	mh_nat_apply || mh_fail "router SNAT update"
	mh_nat_flush
	mh_log "router now maps the client to $(mh_snat_addr) ports $(mh_snat_ports)"
}

# ---------------------------------------------------------------- daemon

# mh_write_conf [extra libconfig lines...]: writes $MH_CONF.
mh_write_conf() {
	MH_CONF=$MH_TMP/mosh-helper.conf
	{
		echo "# written by tests/integration/lib.sh"
		echo "ports = \"60000-61000\";"
		echo "idle_timeout = ${MH_IDLE:-8};"
		echo "handshake_timeout = ${MH_HANDSHAKE:-30};"
		echo "session_timeout = ${MH_SESSION_TIMEOUT:-600};"
		echo "control_socket = \"$MH_TMP/control.sock\";"
		echo "server_path = \"/usr/bin/mosh-server\";"
		echo "log_level = \"${MH_LOGLEVEL:-debug}\";"
		echo "audit_log = \"$MH_TMP/audit.log\";"
		local l
		for l in "$@"; do echo "$l"; done
		# the daemon stays root unless a test names a user (the default,
		# mosh-helper when it exists, would depend on the machine)
		printf '%s\n' "$@" | grep -q '^user' || echo 'user = "";'
		# valgrind's own system calls are not on the daemon's filter
		if [ "$MH_VALGRIND" = 1 ] && ! printf '%s\n' "$@" | grep -q '^seccomp'; then
			echo "seccomp = false;"
		fi
	} >"$MH_CONF"
	chmod 644 "$MH_CONF"
}

# mh_start_daemon [extra config lines...]
mh_start_daemon() {
	mh_require_build mosh-helperd mosh-helper-hook
	[ -n "$MH_CONF" ] || mh_write_conf "$@"
	MH_DAEMON_LOG=$MH_TMP/daemon.log
	local vg
	mapfile -t vg < <(mh_vg_prefix daemon)
	# (ip netns exec and valgrind exec in place: $! is the daemon itself)
	ip netns exec "$NS_S" "${vg[@]}" "$MH_BUILD/mosh-helperd" -c "$MH_CONF" -f >>"$MH_DAEMON_LOG" 2>&1 &
	MH_DAEMON_PID=$!
	disown "$MH_DAEMON_PID"   # no job-control notice when a test kills it
	if ! mh_wait "$MH_START_S" mh_daemon_ready; then
		mh_fail "daemon did not create its control socket $MH_TMP/control.sock within $MH_START_S s"
	fi
	mh_log "daemon running, pid $MH_DAEMON_PID, log $MH_DAEMON_LOG"
}

mh_daemon_ready() {
	kill -0 "$MH_DAEMON_PID" 2>/dev/null || mh_fail "daemon exited during start-up"
	[ -S "$MH_TMP/control.sock" ] && mh_table_exists
}

mh_table_exists() { mh_nsx "$NS_S" nft list table inet "$MH_TABLE" >/dev/null 2>&1; }

# mh_stop_daemon: SIGTERM, wait for the clean exit (longer under valgrind).
mh_stop_daemon() {
	kill -TERM "$MH_DAEMON_PID" 2>/dev/null
	mh_wait "$MH_STOP_S" mh_pid_gone "$MH_DAEMON_PID" ||
		mh_fail "the daemon did not stop within $MH_STOP_S s of SIGTERM"
	MH_DAEMON_PID=
}

# ---------------------------------------------------------------- sessions

# mh_session USER [extra mosh-server args...]: a session through the hook.
# Sets MH_PORT, MH_KEY, MH_SPID (mosh-server pid); fails clearly on refusal.
mh_session() {
	mh_session_try "$@" || mh_fail "the hook refused the session for $1: $(tail -n 3 "$MH_HOOK_ERR" | tr '\n' ' ')"
	mh_log "session of $1 through the hook: port $MH_PORT, mosh-server pid $MH_SPID"
}

# mh_session_try USER [args...]: same, returns the hook's status instead of
# failing. Output in $MH_HOOK_OUT / $MH_HOOK_ERR.
mh_session_try() {
	local user=$1; shift
	local n=$((${MH_NSESS:-0} + 1)); MH_NSESS=$n
	MH_HOOK_OUT=$MH_TMP/hook$n.out MH_HOOK_ERR=$MH_TMP/hook$n.err
	local conn vg
	conn="$(mh_snat_addr) 50000 $SRV 22"
	mapfile -t vg < <(mh_vg_prefix "hook$n")
	MH_HOOK_RC=0
	timeout 60 ip netns exec "$NS_S" runuser -u "$user" -- \
		env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$(getent passwd "$user" | cut -d: -f6)" \
		USER="$user" SHELL=/bin/sh SSH_CONNECTION="$conn" \
		"${vg[@]}" "$MH_BUILD/mosh-helper-hook" -c "$MH_CONF" -- new -i "$SRV" -l LANG=C.UTF-8 "$@" \
		</dev/null >"$MH_HOOK_OUT" 2>"$MH_HOOK_ERR" || MH_HOOK_RC=$?
	mh_parse_connect "$MH_HOOK_OUT" "$MH_HOOK_ERR"
	[ $MH_HOOK_RC = 0 ] && [ -n "$MH_PORT" ]
}

# mh_plain_server USER [args...]: mosh-server started directly, no hook.
mh_plain_server() {
	local user=$1; shift
	local n=$((${MH_NSESS:-0} + 1)); MH_NSESS=$n
	local out=$MH_TMP/plain$n.out err=$MH_TMP/plain$n.err
	timeout 30 ip netns exec "$NS_S" runuser -u "$user" -- \
		env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$(getent passwd "$user" | cut -d: -f6)" \
		USER="$user" SHELL=/bin/sh SSH_CONNECTION="$(mh_snat_addr) 50000 $SRV 22" \
		/usr/bin/mosh-server new -i "$SRV" -l LANG=C.UTF-8 "$@" \
		</dev/null >"$out" 2>"$err" || mh_fail "plain mosh-server for $user failed: $(cat "$err")"
	mh_parse_connect "$out" "$err"
	[ -n "$MH_PORT" ] || mh_fail "plain mosh-server printed no MOSH CONNECT line"
	mh_log "plain mosh-server (no hook) of $user: port $MH_PORT, pid $MH_SPID"
}

mh_parse_connect() { # stdout-file stderr-file
	MH_PORT='' MH_KEY='' MH_SPID=''
	local l
	l=$(grep -a -m1 -E '^MOSH CONNECT [0-9]+ [A-Za-z0-9/+]{22}' "$1")
	if [ -n "$l" ]; then
		MH_PORT=$(echo "$l" | awk '{print $3}')
		MH_KEY=$(echo "$l" | awk '{print $4}' | tr -d '\r')
	fi
	# the hook starts mosh-server again on the next port after a refusal of
	# a port someone else holds: the last one is the session's
	local pids
	mapfile -t pids < <(grep -a -o -E 'detached, pid = [0-9]+' "$2" | grep -o -E '[0-9]+$')
	MH_SPID=${pids[${#pids[@]} - 1]:-}
	MH_SERVER_PIDS+=("${pids[@]}")
	return 0
}

# A mosh-server that runs (not exited, not a zombie awaiting its reaper).
mh_server_alive() {
	[ "$(cat "/proc/$1/comm" 2>/dev/null)" = mosh-server ] &&
		[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}
mh_server_gone() { ! mh_server_alive "$1"; }

# ---------------------------------------------------------------- client (tmux)

mh_tmux() { tmux -S "$MH_TMUX" "$@"; }

# mh_client_start NAME PORT KEY: mosh-client in the client ns, in tmux.
mh_client_start() {
	local name=$1 port=$2 key=$3
	# mosh-client runs under a shell, not as tmux's direct child: tmux sends
	# SIGCONT to a pane process that stops, which would undo SIGSTOP.
	ip netns exec "$NS_C" tmux -S "$MH_TMUX" -f /dev/null new-session -d -s "$name" -x 80 -y 24 \
		"env MOSH_KEY=$key LANG=C.UTF-8 TERM=xterm-256color mosh-client $SRV $port; echo \"[mosh-client exit \$?]\"" \
		|| mh_fail "tmux new-session $name"
	mh_tmux set-option -w -t "$name" remain-on-exit on >/dev/null
	mh_wait 5 mh_client_pid "$name" >/dev/null || mh_fail "mosh-client $name did not start: $(mh_screen "$name")"
	mh_log "mosh-client '$name' started towards $SRV port $port (pid $(mh_client_pid "$name"))"
}

# The mosh-client process: the child of the pane's shell.
mh_client_pid() {
	local sh c
	sh=$(mh_tmux display-message -p -t "$1" '#{pane_pid}')
	for c in $(cat "/proc/$sh/task/$sh/children" 2>/dev/null); do
		[ "$(cat "/proc/$c/comm" 2>/dev/null)" = mosh-client ] && { echo "$c"; return 0; }
	done
	return 1
}

mh_screen() { mh_tmux capture-pane -p -t "$1"; }

mh_type() { # name text: types the text and Enter
	mh_tmux send-keys -t "$1" -l "$2" && mh_tmux send-keys -t "$1" Enter
}

mh_screen_has() { mh_screen "$1" | grep -q -E "$2"; }

# mh_wait_screen NAME REGEX TIMEOUT
mh_wait_screen() { mh_wait "$3" mh_screen_has "$1" "$2"; }

# mh_roundtrip NAME TIMEOUT: types an echo whose output differs from what is
# typed (so local echo cannot fake it) and waits for the shell's output.
mh_roundtrip() {
	local a=$((RANDOM % 9000 + 1000)) b=$((RANDOM % 9000 + 1000))
	mh_type "$1" "echo RT-\$(($a+$b))-TR"
	mh_wait_screen "$1" "RT-$((a + b))-TR" "$2"
}

# ---------------------------------------------------------------- nft state

mh_nft_set() { mh_nsx "$NS_S" nft list set inet "$MH_TABLE" "$1" 2>/dev/null; }

# The elements of a set, one per line (text between "elements = {" and "}").
mh_set_elements() {
	mh_nft_set "$1" | tr '\n' ' ' | sed -n 's/.*elements = {\([^}]*\)}.*/\1/p' |
		tr ',' '\n' | sed 's/^ *//; s/ *$//' | grep -v '^$'
}

# Pinholes of a family as "ADDR CPORT SPORT" lines.
mh_pinholes() { # [4|6]
	local set=pinholes${1:-$MH_FAMILY}
	mh_set_elements "$set" | awk '{print $1, $3, $5}'
}

mh_sessions() { mh_set_elements sessions | awk '{print $1}'; }

mh_has_pinhole() { # addr cport sport [family]
	mh_pinholes "${4:-$MH_FAMILY}" | grep -qx "$1 $2 $3"
}
mh_no_pinhole() { ! mh_has_pinhole "$@"; }

# mh_find_pinholes ADDR LOW-HIGH SPORT: pinholes of the current family from
# ADDR with a client port in LOW-HIGH to server port SPORT.
mh_find_pinholes() {
	local lo=${2%-*} hi=${2#*-}
	mh_pinholes | awk -v a="$1" -v lo="$lo" -v hi="$hi" -v p="$3" \
		'$1 == a && $2 >= lo && $2 <= hi && $3 == p'
}
mh_any_pinhole() { [ -n "$(mh_find_pinholes "$@")" ]; }

mh_pinholes_for_port() { # sport [family] -> count
	mh_pinholes "${2:-$MH_FAMILY}" | awk -v p="$1" '$3 == p' | wc -l
}
mh_no_pinholes_for_port() { [ "$(mh_pinholes_for_port "$@")" = 0 ]; }
mh_has_session() { mh_sessions | grep -qx "$1"; }
mh_no_session() { ! mh_has_session "$1"; }

# ---------------------------------------------------------------- counters

# UDP datagrams delivered to sockets in the server ns (IPv4 + IPv6).
mh_udp_in() {
	local v4 v6
	v4=$(mh_nsx "$NS_S" cat /proc/net/snmp | awk '$1 == "Udp:" { if (h) { print $2; exit } h = 1 }')
	v6=$(mh_nsx "$NS_S" cat /proc/net/snmp6 | awk '$1 == "Udp6InDatagrams" { print $2 }')
	echo $((v4 + v6))
}

# True if no UDP datagram is delivered in the server ns for one second.
mh_udp_quiet() {
	local a
	a=$(mh_udp_in)
	sleep 1
	[ "$a" = "$(mh_udp_in)" ]
}

# mh_tcpdump NS FILE.pcap FILTER...: start a capture, wait until it listens.
mh_tcpdump() {
	local ns=$1 file=$2; shift 2
	ip netns exec "$ns" tcpdump -i eth0 -n -U --immediate-mode -Z root -w "$file" "$@" 2>"$file.err" &
	local pid=$!
	disown "$pid"
	MH_PIDS+=("$pid")
	mh_wait 10 grep -qs 'listening on' "$file.err" || mh_fail "tcpdump in $ns did not start: $(cat "$file.err")"
	MH_TCPDUMP_PID=$pid
}

mh_tcpdump_stop() { # pid: stop and wait until the file is complete
	kill -INT "$1" 2>/dev/null
	mh_wait 5 mh_pid_gone "$1"
}

mh_pcap_count() { # file [filter...]: packets in a capture
	tcpdump -n -r "$1" "${@:2}" 2>/dev/null | wc -l
}

# ---------------------------------------------------------------- composites

# mh_live_session USER NAME: a session through the hook, a mosh-client in
# tmux session NAME, one checked round trip, and its pinhole. Sets MH_PORT,
# MH_KEY, MH_SPID and MH_PH ("ADDR CPORT SPORT" of the client's pinhole).
mh_live_session() {
	mh_session "$1"
	mh_assert "port $MH_PORT is in the sessions set" mh_has_session "$MH_PORT"
	mh_client_start "$2" "$MH_PORT" "$MH_KEY"
	mh_assert "typed text comes back through the session" mh_roundtrip "$2" 20
	mh_assert "a pinhole from $(mh_snat_addr) ports $(mh_snat_ports) to port $MH_PORT appears" \
		mh_wait 5 mh_any_pinhole "$(mh_snat_addr)" "$(mh_snat_ports)" "$MH_PORT"
	MH_PH=$(mh_find_pinholes "$(mh_snat_addr)" "$(mh_snat_ports)" "$MH_PORT" | head -n1)
	mh_log "pinhole: $MH_PH"
}

mh_signal_client() { # SIG NAME
	local pid
	pid=$(mh_client_pid "$2") || mh_fail "no mosh-client in tmux session $2"
	kill -"$1" "$pid" || mh_fail "kill -$1 mosh-client $2"
	if [ "$1" = STOP ]; then
		mh_wait 5 eval '[ "$(awk "{print \$3}" /proc/$pid/stat)" = T ]' ||
			mh_fail "mosh-client $2 (pid $pid) did not stop"
	fi
	mh_log "mosh-client '$2' (pid $pid) got SIG$1"
}

# mh_ns_bg NS OUTFILE command...: a bounded helper in a namespace, in the
# background; its PID is recorded for cleanup and left in MH_BG_PID.
mh_ns_bg() {
	local ns=$1 out=$2; shift 2
	ip netns exec "$ns" "$@" >"$out" 2>"$out.err" &
	MH_BG_PID=$!
	disown "$MH_BG_PID"
	MH_PIDS+=("$MH_BG_PID")
}

# mh_udptool NS args...: udptool in a namespace, output logged.
mh_udptool() {
	local ns=$1; shift
	mh_require_build tests/udptool
	ip netns exec "$ns" "$MH_UDPTOOL" "$@" | sed 's/^/   udptool: /'
	return "${PIPESTATUS[0]}"
}

# mh_watch_start FILE SECONDS: snapshot both pinhole sets every 0.2 s into
# FILE (one "family addr cport sport" line per element and round).
mh_watch_start() {
	local file=$1 t=$2
	(
		end=$((SECONDS + t))
		while [ $SECONDS -lt "$end" ]; do
			mh_pinholes 4 | sed 's/^/4 /'
			mh_pinholes 6 | sed 's/^/6 /'
			sleep 0.2
		done
	) >"$file" 2>/dev/null &
	MH_WATCH_PID=$!
	disown "$MH_WATCH_PID"
	MH_PIDS+=("$MH_WATCH_PID")
}

mh_watch_stop() { kill "$MH_WATCH_PID" 2>/dev/null; mh_wait 3 mh_pid_gone "$MH_WATCH_PID"; return 0; }

mh_daemon_log_has() { grep -q -E "$1" "$MH_DAEMON_LOG"; }

# Summary of the daemon's logged drop reasons ("reason count" lines).
mh_daemon_drops() {
	grep -o -E 'drop .*: [a-z_]+ \(' "$MH_DAEMON_LOG" 2>/dev/null |
		sed -E 's/.*: ([a-z_]+) \($/\1/' | sort | uniq -c | awk '{print $2, $1}'
}

mh_pass() {
	echo
	if [ "$MH_FAILED" != 0 ]; then
		echo "FAIL: $* (failed checks: $(printf '%s; ' "${MH_FAILED_CHECKS[@]}"))"
		mh_diag
		exit 1
	fi
	echo "PASS: $*"
	exit 0
}
