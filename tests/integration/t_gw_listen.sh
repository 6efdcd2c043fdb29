#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The gateway's relay listener (issue 13, item 2): with role = gateway the
# daemon forks an unprivileged listener (no capability in any set, the
# daemon's user, not dumpable, no_new_privs, its own syscall filter) that
# terminates the relays' mutually authenticated TLS 1.3 and passes their
# validated frames to the daemon over a socketpair. Real sockets, real TLS,
# certificates made by tests/tools/mkcerts.sh. While one well-behaved relay
# keeps sending OPEN, END and HEARTBEAT frames and must get every answer
# within 2 s, hostile relays (tests/relayprobe) try: a certificate of
# another CA, an expired one, a revoked one, a valid one announcing another
# server's address, garbage frames, a slowloris, a relay that falls silent,
# 68 connections from 17 addresses (more than relay_max_connections) and
# 150 from one address (more than one address may hold before TLS). Each
# is refused with its reason in the gateway's log, and the good relay
# never notices.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd tests/relayprobe tests/seccompcheck
mh_no_valgrind "it checks the listener's syscall filter, which valgrind's own calls would trip"
command -v openssl >/dev/null 2>&1 || mh_skip "missing tool: openssl"
mh_setup
DUSER=mhdaemon
NONE=0000000000000000
GW=$SRV4
PORT=7710
PROBE=$MH_BUILD/tests/relayprobe
CERTS=$MH_TMP/certs

"$MH_SRC/tests/tools/mkcerts.sh" "$CERTS" || mh_fail "mkcerts.sh"
id "$DUSER" >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin "$DUSER" ||
	id "$DUSER" >/dev/null 2>&1 || mh_fail "useradd $DUSER"
duid=$(id -u "$DUSER")
chown "$DUSER" "$MH_TMP"
MH_CONF=''
mh_write_conf "user = \"$DUSER\";" 'role = "gateway";' \
	"tls_ca = \"$CERTS/site-ca.pem\";" "tls_cert = \"$CERTS/gateway.pem\";" \
	"tls_key = \"$CERTS/gateway.key\";" "tls_crl = \"$CERTS/site.crl\";" \
	"relay_listen = \"[::]:$PORT\";" 'relay_max_connections = 64;' \
	'relay_handshake_timeout = 3;'
# a gateway's control socket is the admin's (0600): it is ready when its table is there
MH_TABLE=mosh_helper_gw
mh_daemon_ready() {
	kill -0 "$MH_DAEMON_PID" 2>/dev/null || mh_fail "daemon exited during start-up"
	mh_table_exists &&
		[ "$(grep -c 'ready (gateway)' "$MH_DAEMON_LOG" 2>/dev/null)" -gt "$READY_BEFORE" ]
}
gw_start() {
	READY_BEFORE=$(grep -c 'ready (gateway)' "$MH_TMP/daemon.log" 2>/dev/null)
	READY_BEFORE=${READY_BEFORE:-0}
	mh_start_daemon
}
gw_start
mh_assert "the daemon says its listener is up" \
	mh_wait 5 mh_daemon_log_has "relay listener \(pid [0-9]+\) on \[::\]:$PORT, up to 64 relays"

st() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ +/, ""); gsub(/[ \t]+/, " "); print }' "/proc/$1/status"; }
listener_of() {
	local c
	for c in $(cat "/proc/$1/task/$1/children" 2>/dev/null); do
		[ "$(cat "/proc/$c/comm" 2>/dev/null)" = mh-relay-listen ] && { echo "$c"; return 0; }
	done
	return 1
}
probe() { # NS OUT MODE ARGS...: relayprobe against the gateway, output in OUT
	local ns=$1 out=$2; shift 2
	mh_nsx "$ns" env ASAN_OPTIONS=detect_leaks=0 timeout 30 "$PROBE" "$GW" "$PORT" "$CERTS" "$@" >"$out" 2>&1
}
log_count() { grep -c -E "$1" "$MH_DAEMON_LOG"; }

mh_step "the listener's privileges"
lp=$(listener_of "$MH_DAEMON_PID") || mh_fail "no mh-relay-listen process under the daemon"
mh_log "daemon pid $MH_DAEMON_PID, listener pid $lp"
grep -E '^(Uid|Gid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' "/proc/$lp/status" | sed 's/^/   | /'
mh_check_eq "listener Uid (real, effective, saved, fs): $DUSER" "$duid $duid $duid $duid" "$(st "$lp" Uid)"
for f in CapEff CapPrm CapInh CapAmb CapBnd; do
	mh_check_eq "listener $f: no capability" $NONE "$(st "$lp" $f)"
done
mh_check_eq "listener Seccomp: 2 (a filter)" 2 "$(st "$lp" Seccomp)"
mh_check_eq "listener NoNewPrivs" 1 "$(st "$lp" NoNewPrivs)"
mh_check_eq "listener not dumpable: its /proc files belong to root" 0 "$(stat -c %u "/proc/$lp/environ")"
mh_check_eq "the daemon keeps CAP_NET_ADMIN" "$(printf '%016x' $((1 << 12)))" "$(st "$MH_DAEMON_PID" CapEff)"
mh_check_eq "the listener holds no nftables or NFQUEUE socket" 0 \
	"$(ls -l "/proc/$lp/fd" 2>/dev/null | grep -c netlink)"

mh_step "the listener's syscall filter, one call at a time"
mkdir "$MH_TMP/sc"
mh_nsx "$NS_S" "$MH_BUILD/tests/seccompcheck" "$MH_TMP/sc" gwlisten >"$MH_TMP/sc.out" 2>&1 ||
	mh_fail "seccompcheck gwlisten: $(cat "$MH_TMP/sc.out")"
sed 's/^/   | /' "$MH_TMP/sc.out"
# what it needs: its socketpair, syslog's socket, the heap; no file, no
# other socket, no process, no identity change
want="socket-unix-dgram allowed|sendmsg allowed|mmap-rw allowed|setuid killed|mount killed"
if ldd "$MH_BUILD/mosh-helperd" 2>/dev/null | grep -q libasan; then
	want="$want|build sanitized|socket-inet refused EPERM|socket-netlink refused EPERM|execve refused EPERM|keyctl refused EPERM|pidfd_open refused EPERM"
else
	want="$want|build normal|open-read refused EACCES|open-create-excl refused EACCES|open-append refused EACCES"
	want="$want|socket-inet killed|socket-netlink killed|socket-unix-stream killed|execve killed|fork killed"
	want="$want|mmap-exec killed|ptrace killed|keyctl killed|pidfd_open killed|tgkill-other killed|rename killed"
fi
IFS='|' read -r -a lines <<<"$want"
for l in "${lines[@]}"; do
	mh_check_eq "seccompcheck gwlisten: ${l% *}" "$l" "$(grep -x -F -- "$l" "$MH_TMP/sc.out")"
done

mh_step "a well-behaved relay (relay1) keeps sending through everything below"
mh_ns_bg "$NS_C" "$MH_TMP/steady.out" env ASAN_OPTIONS=detect_leaks=0 "$PROBE" "$GW" "$PORT" "$CERTS" steady relay1 198.18.1.2 40
STEADY=$MH_BG_PID
mh_assert "relay1 is up (TLS, HELLO) and its OPENs reach the daemon" \
	mh_wait 10 mh_daemon_log_has "server 198\.18\.1\.2:[0-9]+ opened by relay /CN=relay1"

mh_step "a certificate of another CA"
probe "$NS_A" "$MH_TMP/other.out" tls relay-other && mh_fail "relay-other got through: $(cat "$MH_TMP/other.out")"
mh_assert "refused, and the log says why" \
	mh_wait 5 mh_daemon_log_has "relay certificate /CN=relay-other is not issued by the site CA"

mh_step "an expired certificate"
probe "$NS_A" "$MH_TMP/expired.out" tls relay-expired && mh_fail "relay-expired got through"
mh_assert "refused, and the log says why" \
	mh_wait 5 mh_daemon_log_has "relay certificate /CN=relay-expired has expired"

mh_step "a revoked certificate (site CRL)"
probe "$NS_A" "$MH_TMP/revoked.out" tls relay-revoked && mh_fail "relay-revoked got through"
mh_assert "refused, and the log says why" \
	mh_wait 5 mh_daemon_log_has "relay certificate /CN=relay-revoked is revoked"

mh_step "a valid certificate (relay2) announcing relay1's server address"
probe "$NS_A" "$MH_TMP/announce.out" open relay2 198.18.1.2 || mh_fail "relayprobe open: $(cat "$MH_TMP/announce.out")"
sed 's/^/   | /' "$MH_TMP/announce.out"
mh_assert "the relay is answered not_allowed with the reason" \
	grep -q 'answer OPEN id 2: not_allowed "server address 198.18.1.2 is not in the certificate of /CN=relay2"' "$MH_TMP/announce.out"
mh_assert "the gateway's log names relay and address" \
	mh_daemon_log_has "\(/CN=relay2\): OPEN refused: server address 198.18.1.2 is not in the certificate"
mh_check_eq "the daemon's core never opened relay1's address for relay2" 0 \
	"$(grep -c -E 'server 198\.18\.1\.2:[0-9]+ opened by relay /CN=relay2' "$MH_DAEMON_LOG")"
probe "$NS_A" "$MH_TMP/own.out" open relay2 198.18.2.2 || mh_fail "relayprobe open own"
mh_assert "control: relay2's own address is accepted" grep -q 'answer OPEN id 2: ok' "$MH_TMP/own.out"

mh_step "IPv6: relay2 over IPv6, announcing its IPv6 address (one socket takes both families)"
GW=$SRV6 probe "$NS_A" "$MH_TMP/own6.out" open relay2 fd00:2::2 || mh_fail "relayprobe over IPv6: $(cat "$MH_TMP/own6.out")"
mh_assert "accepted" grep -q 'answer OPEN id 2: ok' "$MH_TMP/own6.out"
mh_assert "the log shows the IPv6 peer" mh_daemon_log_has "relay #[0-9]+ from \[$ATK6\]:[0-9]+ \(/CN=relay2\): TLS 1.3 established"

mh_step "garbage frames"
probe "$NS_A" "$MH_TMP/garbage.out" garbage relay2
sed 's/^/   | /' "$MH_TMP/garbage.out"
mh_assert "answered protocol, then closed" \
	eval 'grep -q "answer OPEN id 9: protocol" "$MH_TMP/garbage.out" && grep -q "^closed" "$MH_TMP/garbage.out"'
mh_assert "the log says why" mh_daemon_log_has "\(/CN=relay2\): frame refused: .*; connection closed"

mh_step "a relay that falls silent (heartbeat 200 ms, then nothing)"
probe "$NS_A" "$MH_TMP/silent.out" silent relay2
sed 's/^/   | /' "$MH_TMP/silent.out"
mh_assert "closed by the gateway within 2 s" \
	awk '/^ended after/ { ok = $3 < 2000 } END { exit !ok }' "$MH_TMP/silent.out"
mh_assert "the log says why" mh_daemon_log_has "silent for [0-9]+ ms, more than three heartbeats of 200 ms"

mh_step "a slowloris (one byte a second, never a handshake)"
probe "$NS_A" "$MH_TMP/slow.out" slowloris 15
sed 's/^/   | /' "$MH_TMP/slow.out"
mh_assert "ended by the gateway after relay_handshake_timeout (3 s)" \
	awk '/^ended by the gateway after/ { ok = $6 >= 2500 && $6 < 6000 } END { exit !ok }' "$MH_TMP/slow.out"
mh_assert "the log says why" mh_daemon_log_has "no TLS handshake within relay_handshake_timeout \(3 s\)"

# first: the refusals of both floods share a log budget of 20 lines
mh_step "68 connections from 17 addresses, 4 each (relay_max_connections = 64)"
srcs=$(seq -f '198.18.2.%g' 100 116)
for a in $srcs; do
	ip -n "$NS_A" addr add "$a/24" dev eth0 || mh_fail "address $a on the attacker"
done
pids=()
for a in $srcs; do
	probe "$NS_A" "$MH_TMP/flood-$a.out" flood 4 5 "$a" &
	pids+=("$!")
done
wait "${pids[@]}"
cat "$MH_TMP"/flood-198.18.2.1*.out | sort | uniq -c | sed 's/^/   | /'
mh_assert "those over relay_max_connections are refused with the reason" \
	mh_daemon_log_has "refused: 64 relay connections open \(relay_max_connections\)"
mh_check_eq "floods whose connections were all gone after the handshake timeout" 17 \
	"$(cat "$MH_TMP"/flood-198.18.2.1*.out | grep -c -x 'flood: 4 connections, 4 closed by the gateway, 0 held')"

mh_step "150 connections at once from one address"
probe "$NS_A" "$MH_TMP/flood.out" flood 150 5
sed 's/^/   | /' "$MH_TMP/flood.out"
mh_assert "those over 4 still in their handshake are refused with the reason" \
	mh_daemon_log_has "relay connection from $ATK4:[0-9]+ refused: 4 connections from its address \(IPv6: its /64\) to this one still in their TLS handshake"
mh_assert "and every flood connection is gone after the handshake timeout" \
	grep -q "flood: 150 connections, 150 closed by the gateway" "$MH_TMP/flood.out"
mh_assert "a relay can connect again once they are gone" \
	probe "$NS_A" "$MH_TMP/after.out" open relay2 198.18.2.2

mh_step "the well-behaved relay saw none of it"
mh_assert "relay1 finishes" mh_wait 40 mh_pid_gone "$STEADY"
sed 's/^/   | /' "$MH_TMP/steady.out" | tail -n 3
mh_assert "every answer ok and in time (<= 2 s)" \
	grep -q -E '^steady: [0-9]+ answers, 0 not ok, slowest [0-9]+ ms$' "$MH_TMP/steady.out"
n=$(awk '/^steady:/ { print $2 }' "$MH_TMP/steady.out")
mh_assert "it sent a frame stream throughout ($n answers)" test "${n:-0}" -gt 150
mh_assert "the daemon runs on" kill -0 "$MH_DAEMON_PID"
mh_assert "the listener runs on, the same process" test "$(listener_of "$MH_DAEMON_PID")" = "$lp"

mh_step "the listener's memory holds no key it forwarded"
# gcore stops the listener for a moment: only once the good relay is done.
# The OPEN below passes its key through the listener to the daemon (which
# confirms it: relay2 announced that address before).
probe "$NS_A" "$MH_TMP/key.out" open relay2 198.18.2.2 || mh_fail "relayprobe open: $(cat "$MH_TMP/key.out")"
mh_assert "the OPEN reached the daemon" grep -q -E 'answer OPEN id 2: (ok|exists)' "$MH_TMP/key.out"
if command -v gdb >/dev/null 2>&1 && ! ldd "$MH_BUILD/mosh-helperd" | grep -q libasan; then
	gdb -batch -nx -p "$lp" -ex 'set dump-excluded-mappings on' -ex "gcore $MH_TMP/listener.core" \
		>"$MH_TMP/gcore.log" 2>&1
	mh_assert "gcore wrote the listener's memory" test -s "$MH_TMP/listener.core"
	mh_check_eq "no forwarded OPEN key in the listener's memory" 0 \
		"$(grep -c -a -F MHKEY-relayprobe "$MH_TMP/listener.core")"
	rm -f "$MH_TMP/listener.core"
else
	mh_log "listener memory not inspected (no gdb, or a sanitizer build)"
fi

mh_check_eq "no OPEN key in the gateway's log" 0 "$(grep -c -a -F MHKEY-relayprobe "$MH_DAEMON_LOG")"
mh_stop_daemon
mh_assert "the listener ends with the daemon" mh_wait 5 eval '! kill -0 '"$lp"' 2>/dev/null'

mh_step "the listener killed (as its filter would kill it): the daemon stops, fail-closed"
gw_start
lp=$(listener_of "$MH_DAEMON_PID") || mh_fail "no listener after the restart"
kill -KILL "$lp"
mh_assert "the daemon stops at once" mh_wait 5 mh_pid_gone "$MH_DAEMON_PID"
mh_assert "saying why" mh_daemon_log_has "relay listener \(pid $lp\) is gone .*: stopping, keeping the table"
mh_assert "the table (closed range) stays" mh_table_exists
MH_DAEMON_PID=
chown root "$MH_TMP"
mh_pass "gateway relay listener"
