#!/bin/bash
# Makes the review corpus in pcaps/: short captures of real mosh sessions
# (Debian's mosh, mosh-client, mosh-server; a real sshd for the login)
# going through mosh-helperd in the namespace topology of
# tests/integration/lib.sh, each with its key file, and the expected output
# of mosh-helper-review (text and JSON) once the review tells the story the
# capture was made for. Needs root. See pcaps/README.md.
#
# Usage: pcaps/make-corpus.sh [-o DIR] [NAME...]
#   NAME: handshake roam porthop idle two-sessions ipv6 attacks (default: all)
#   DIR:  where the files go (default: the directory of this script)
set -u

usage() {
	echo "usage: $0 [-o DIR] [handshake|roam|porthop|idle|two-sessions|ipv6|attacks ...]" >&2
	exit 2
}

CORPUS_ALL="handshake roam porthop idle two-sessions ipv6 attacks"
CORPUS_OUT=$(cd "$(dirname "$0")" && pwd)
while getopts o:h opt; do
	case $opt in
	o) CORPUS_OUT=$(cd "$OPTARG" && pwd) || exit 2 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
CORPUS_NAMES=${*:-$CORPUS_ALL}
for n in $CORPUS_NAMES; do
	[[ " $CORPUS_ALL " == *" $n "* ]] || usage
done

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"

# The daemon runs with the defaults mosh-helper-review simulates (idle
# timeout 60 s, candidate lifetime 10 s), so its verdicts and the review's
# agree for every datagram in the captures.
MH_IDLE=60
MH_LOGLEVEL=info
REVIEW=$MH_BUILD/mosh-helper-review
HOOK=$MH_BUILD/mosh-helper-hook
# Server ports, one per capture (mosh-server -p), so key files read clearly.
declare -A PORT=([handshake]=60010 [roam]=60020 [porthop]=60030 [idle]=60040
	[two-sessions]=60050 [ipv6]=60060 [attacks]=60070)
PORT2=60051              # the second session of two-sessions
ROAM4=198.18.3.11        # the router's new address for the client in roam
ATTEMPTS=${CORPUS_ATTEMPTS:-3}  # tries per capture: some stories depend on mosh's timers
CAP_PID='' SSHD_PID='' RUN_SSHD_MADE=0

# A real NAT maps all of a client's traffic, TCP included, so the SSH login
# and the mosh datagrams come from the same address (the review matches them
# by address). Replaces lib.sh's UDP-only rule; mh_roam_addr uses this too.
mh_nat_apply() {
	mh_nsx "$NS_R" nft -f - <<EOF
table inet mh_nat
delete table inet mh_nat
table inet mh_nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "rs" ip saddr $CLI4 meta l4proto { tcp, udp } snat ip to $SNAT4_ADDR:$SNAT4_PORTS
		oifname "rs" ip6 saddr $CLI6 meta l4proto { tcp, udp } snat ip6 to [$SNAT6_ADDR]:$SNAT6_PORTS
	}
}
EOF
}

# ---------------------------------------------------------------- captures

# cap_start NAME FILTER: tcpdump in the server namespace, whole packets.
cap_start() {
	local f=$CAPDIR/$1.pcap
	rm -f "$f"
	ip netns exec "$NS_S" tcpdump -i eth0 -n -s 0 -U --immediate-mode -Z root \
		-w "$f" "$2" 2>"$f.err" &
	CAP_PID=$!
	disown "$CAP_PID"
	MH_PIDS+=("$CAP_PID")
	mh_wait 10 grep -qs 'listening on' "$f.err" || mh_fail "tcpdump did not start: $(cat "$f.err")"
}

# cap_stop NAME: stop the capture and put it on the stage.
cap_stop() {
	mh_tcpdump_stop "$CAP_PID" || mh_fail "tcpdump $CAP_PID did not stop"
	CAP_PID=''
	cp "$CAPDIR/$1.pcap" "$STAGE/$1.pcap" || mh_fail "no capture $1"
	mh_log "$1.pcap: $(mh_pcap_count "$STAGE/$1.pcap") packets, $(stat -c %s "$STAGE/$1.pcap") bytes"
}

# session_end TMUX_NAME SERVER_PID: type exit, wait until mosh-server and
# mosh-client are gone and the last datagrams have arrived.
session_end() {
	sleep 0.5
	mh_type "$1" exit
	mh_wait 15 mh_server_gone "$2" || mh_fail "mosh-server $2 did not exit: $(mh_screen "$1")"
	mh_wait 10 mh_screen_has "$1" '\[(mosh-client|mosh) exit' || mh_fail "client $1 did not exit"
	mh_tmux kill-session -t "$1" 2>/dev/null
	sleep 0.5
}

# client_start NAME PORT KEY: mosh-client in tmux; returns once the shell
# prompt shows and the first datagrams have settled, so the capture shows
# the connection first and the typed command after it.
client_start() {
	mh_client_start "$@"
	mh_wait_screen "$1" '\$ *$' 20 || mh_fail "no shell prompt in $1: $(mh_screen "$1")"
	sleep 0.5
}

# hook_session USER PORT [family]: a session through the hook on PORT.
hook_session() {
	mh_family "${3:-4}"
	mh_session "$1" -p "$2"
	[ "$MH_PORT" = "$2" ] || mh_fail "asked for port $2, mosh-server took $MH_PORT"
}

# ---------------------------------------------------------------- sshd

# A real sshd on port 22 of the server namespace: its own host key and
# config in the temp dir, key-only login for mhtest1 with a throw-away key.
sshd_start() {
	local d=$MH_TMP/sshd
	mkdir -p "$d" && chmod 755 "$d"
	ssh-keygen -q -t ed25519 -N '' -C corpus-host -f "$d/host_key" || mh_fail "ssh-keygen"
	ssh-keygen -q -t ed25519 -N '' -C corpus-user -f "$d/user_key" || mh_fail "ssh-keygen"
	cp "$d/user_key.pub" "$d/authorized_keys" && chmod 644 "$d/authorized_keys"
	cat >"$d/sshd_config" <<EOF
Port 22
ListenAddress $SRV4
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
StrictModes no
AllowUsers mhtest1
PermitRootLogin no
PrintMotd no
X11Forwarding no
AllowTcpForwarding no
EOF
	# sshd's privilege separation directory (Debian's unit creates it).
	if [ ! -d /run/sshd ]; then
		mkdir -m 0755 /run/sshd && RUN_SSHD_MADE=1
	fi
	ip netns exec "$NS_S" /usr/sbin/sshd -D -e -f "$d/sshd_config" 2>"$d/sshd.log" &
	SSHD_PID=$!
	disown "$SSHD_PID"
	MH_PIDS+=("$SSHD_PID")
	mh_wait 10 grep -qs "listening on $SRV4 port 22" "$d/sshd.log" ||
		mh_fail "sshd did not start: $(cat "$d/sshd.log")"
	# ssh for mosh's --ssh: the real ssh, its output also copied to a file,
	# where the MOSH CONNECT line (port and key) is read from.
	cat >"$d/ssh-tee" <<EOF
#!/bin/sh
ssh -i $d/user_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "\$@" | tee -a $d/ssh.out
EOF
	chmod 755 "$d/ssh-tee"
	mh_log "sshd running in $NS_S (pid $SSHD_PID)"
}

sshd_stop() {
	[ -n "$SSHD_PID" ] && kill -TERM "$SSHD_PID" 2>/dev/null
	mh_wait 5 mh_pid_gone "$SSHD_PID"
	SSHD_PID=''
	[ "$RUN_SSHD_MADE" = 1 ] && rmdir /run/sshd 2>/dev/null
	RUN_SSHD_MADE=0
}

# ---------------------------------------------------------------- the captures

# handshake: mosh (the Perl wrapper) logs in with ssh, ssh runs the hook in
# place of mosh-server, the hook announces the session and prints MOSH
# CONNECT, the wrapper starts mosh-client; one command, exit.
make_handshake() {
	local d=$MH_TMP/sshd port=${PORT[handshake]}
	[ -n "$SSHD_PID" ] || sshd_start
	: >"$d/ssh.out"
	mh_family 4
	cap_start handshake "tcp port 22 or udp port $port"
	ip netns exec "$NS_C" tmux -S "$MH_TMUX" -f /dev/null new-session -d -s hs -x 80 -y 24 \
		"env LANG=C.UTF-8 TERM=xterm-256color mosh --ssh=$d/ssh-tee --server='$HOOK -c $MH_CONF --' --port=$port mhtest1@$SRV4; echo \"[mosh exit \$?]\"" ||
		mh_fail "tmux new-session hs"
	mh_tmux set-option -w -t hs remain-on-exit on >/dev/null
	mh_wait 20 grep -qa '^MOSH CONNECT ' "$d/ssh.out" ||
		mh_fail "no MOSH CONNECT from ssh: $(cat "$d/ssh.out"; mh_screen hs; tail -n 5 "$d/sshd.log")"
	mh_wait 5 grep -qa 'detached, pid = ' "$d/ssh.out"
	mh_parse_connect "$d/ssh.out" "$d/ssh.out"
	[ "$MH_PORT" = "$port" ] || mh_fail "MOSH CONNECT port '$MH_PORT', wanted $port"
	[ -n "$MH_SPID" ] || mh_fail "no mosh-server pid in the ssh output"
	mh_log "login through ssh: port $MH_PORT, mosh-server pid $MH_SPID"
	mh_assert "mosh-client shows the shell prompt" mh_wait_screen hs '\$ *$' 20
	sleep 0.5   # the first datagrams, then the command
	mh_assert "typed text comes back through the session" mh_roundtrip hs 20
	mh_wait 5 mh_any_pinhole "$SNAT4_ADDR" "$SNAT4_PORTS" "$port" || mh_fail "no pinhole for port $port"
	session_end hs "$MH_SPID"
	cap_stop handshake
	echo "$port $MH_KEY" >"$STAGE/handshake.key"
}

# roam: the router moves the client to a new address mid-session.
make_roam() {
	local port=${PORT[roam]} old=$SNAT4_ADDR
	hook_session mhtest1 "$port"
	cap_start roam "udp port $port"
	client_start ro "$port" "$MH_KEY"
	mh_assert "round trip before the roam" mh_roundtrip ro 20
	mh_roam_addr "$ROAM4"
	mh_assert "round trip after the roam" mh_roundtrip ro 20
	mh_assert "a pinhole from $ROAM4" mh_wait 5 mh_any_pinhole "$ROAM4" "$SNAT4_PORTS" "$port"
	session_end ro "$MH_SPID"
	cap_stop roam
	echo "$port $MH_KEY" >"$STAGE/roam.key"
	mh_roam_addr "$old"
}

# porthop: the client is stopped for 12 s; after SIGCONT mosh-client finds
# no round trip for more than 10 s and moves to a new source port by itself.
make_porthop() {
	local port=${PORT[porthop]}
	hook_session mhtest1 "$port"
	cap_start porthop "udp port $port"
	client_start ph "$port" "$MH_KEY"
	mh_assert "round trip before the outage" mh_roundtrip ph 20
	mh_signal_client STOP ph
	sleep 12
	mh_signal_client CONT ph
	mh_assert "round trip after the outage" mh_roundtrip ph 20
	session_end ph "$MH_SPID"
	cap_stop porthop
	echo "$port $MH_KEY" >"$STAGE/porthop.key"
}

# idle: heartbeats only, then a stopped client whose silence (> 9 s, three
# heartbeats) stays under mosh's 10 s port-hop threshold, so the session
# resumes from the same address and port. mosh-client hops when it sends
# more than 10 s after sending the last state mosh-server acknowledged;
# mosh-server acknowledges a heartbeat only with its own next heartbeat, so
# after SIGCONT nothing is typed until that has come (4 s). IDLE_STOP is
# tuned between attempts.
IDLE_STOP=${CORPUS_IDLE_STOP:-9.3}
make_idle() {
	local port=${PORT[idle]}
	hook_session mhtest1 "$port"
	cap_start idle "udp port $port"
	client_start id "$port" "$MH_KEY"
	mh_assert "round trip" mh_roundtrip id 20
	sleep 6.5            # idle: heartbeats every 3 s each way
	mh_type id ':'       # a keystroke; stop right after its round trip
	sleep 0.3
	mh_signal_client STOP id
	sleep "$IDLE_STOP"
	mh_signal_client CONT id
	sleep 4
	mh_assert "round trip after the silence" mh_roundtrip id 20
	session_end id "$MH_SPID"
	cap_stop idle
	echo "$port $MH_KEY" >"$STAGE/idle.key"
}

# two-sessions: two users, two sessions, two clients at once.
make_two-sessions() {
	local port=${PORT[two-sessions]} k1 k2 s1 s2
	hook_session mhtest1 "$port"
	k1=$MH_KEY s1=$MH_SPID
	hook_session mhtest2 "$PORT2"
	k2=$MH_KEY s2=$MH_SPID
	cap_start two-sessions "udp port $port or udp port $PORT2"
	client_start t1 "$port" "$k1"
	client_start t2 "$PORT2" "$k2"
	mh_assert "round trip in session 1" mh_roundtrip t1 20
	mh_assert "round trip in session 2" mh_roundtrip t2 20
	mh_assert "round trip in session 1 again" mh_roundtrip t1 20
	session_end t1 "$s1"
	session_end t2 "$s2"
	cap_stop two-sessions
	printf '%s %s\n%s %s\n' "$port" "$k1" "$PORT2" "$k2" >"$STAGE/two-sessions.key"
}

# ipv6: a session between fd00:1::2 (mapped to fd00:3::10) and fd00::2.
make_ipv6() {
	local port=${PORT[ipv6]}
	hook_session mhtest1 "$port" 6
	cap_start ipv6 "udp port $port"
	client_start v6 "$port" "$MH_KEY"
	mh_assert "round trip over IPv6" mh_roundtrip v6 20
	mh_assert "an IPv6 pinhole" mh_wait 5 mh_any_pinhole "$SNAT6_ADDR" "$SNAT6_PORTS" "$port"
	session_end v6 "$MH_SPID"
	cap_stop ipv6
	echo "$port $MH_KEY" >"$STAGE/ipv6.key"
	mh_family 4
}

# attacks: a live session; from the attacker namespace short garbage,
# forged headers, then a replay of the session's first datagrams (both
# directions: the to-server ones are replays from another address, the
# to-client ones are reflected server datagrams); the session goes on.
make_attacks() {
	local port=${PORT[attacks]} rp=$CAPDIR/attacks-replay.pcap rpid
	hook_session mhtest1 "$port"
	cap_start attacks "udp port $port"
	# the first 8 datagrams of the session, for the replay
	rm -f "$rp"
	ip netns exec "$NS_S" tcpdump -i eth0 -n -s 0 -U --immediate-mode -Z root -c 8 \
		-w "$rp" "udp port $port" 2>"$rp.err" &
	rpid=$!
	disown "$rpid"
	MH_PIDS+=("$rpid")
	mh_wait 10 grep -qs 'listening on' "$rp.err" || mh_fail "tcpdump did not start: $(cat "$rp.err")"
	client_start at "$port" "$MH_KEY"
	mh_assert "round trip" mh_roundtrip at 20
	mh_assert "round trip" mh_roundtrip at 20
	mh_wait 10 mh_pid_gone "$rpid" || mh_fail "the replay source capture did not fill"
	if [ "$(mh_pcap_count "$rp" "udp dst port $port")" = 0 ] ||
		[ "$(mh_pcap_count "$rp" "udp src port $port")" = 0 ]; then
		mh_fail "the replay source lacks a direction: $(tcpdump -n -r "$rp" 2>&1)"
	fi
	# shorter than an SSP header and tag: one write, one datagram each
	ip netns exec "$NS_A" bash -c "printf 'mosh?' >/dev/udp/$SRV4/$port &&
		printf '%023d' 0 >/dev/udp/$SRV4/$port" || mh_fail "garbage"
	sleep 0.2
	mh_udptool "$NS_A" send "$SRV4" "$port" --forged 3 --interval-us 100000 || mh_fail "udptool forged"
	sleep 0.2
	mh_udptool "$NS_A" replay "$SRV4" "$port" "$rp" --interval-us 50000 || mh_fail "udptool replay"
	sleep 1
	mh_assert "round trip after the attack" mh_roundtrip at 20
	session_end at "$MH_SPID"
	cap_stop attacks
	echo "$port $MH_KEY" >"$STAGE/attacks.key"
}

# ---------------------------------------------------------------- the review

# review NAME: the golden outputs, made as t_review.sh compares them (from
# the parent of the stage, paths "pcaps/NAME.*").
review() {
	local n=$1
	(cd "$STAGE/.." &&
		"$REVIEW" --keys "pcaps/$n.key" "pcaps/$n.pcap" >"pcaps/$n.review.txt" &&
		"$REVIEW" --json --keys "pcaps/$n.key" "pcaps/$n.pcap" >"pcaps/$n.review.json") ||
		mh_fail "mosh-helper-review failed on $n.pcap"
}

# jn NAME SUBSTRING...: JSON lines of NAME's review holding every substring.
jn() {
	local f=$STAGE/$1.review.json lines; shift
	lines=$(cat "$f")
	local s
	for s in "$@"; do
		lines=$(printf '%s\n' "$lines" | grep -F -- "$s")
	done
	printf '%s' "$lines" | grep -c .
}

# story WHAT CONDITION...: one check of a review's story; sets STORY=1 on failure.
story() {
	local what=$1; shift
	if "$@"; then mh_ok "$what"; else echo "   story: NOT $what"; STORY=1; fi
}
gt0() { [ "$1" -gt 0 ]; }
eq() { [ "$1" = "$2" ]; }

# What every review must show: the whole capture read, all of the real
# client's and server's datagrams authentic.
story_common() {
	local n=$1
	story "$n: capture read to its end" gt0 "$(jn "$n" '"event":"capture"' '"complete":true')"
	story "$n: a session with a key" gt0 "$(jn "$n" '"event":"session"' '"key":true')"
	story "$n: the first datagram is accepted as a new source" \
		gt0 "$(jn "$n" '"event":"datagram"' '"seq":0,' '"direction":"to_server"' '"verdict":"accept","reason":"new_source"')"
	story "$n: mosh-server's first reply opens the pinhole" \
		gt0 "$(jn "$n" '"event":"pinhole"' '"action":"open"')"
	story "$n: every datagram of the client and the server is authentic" \
		eq 0 "$(grep -F '"event":"datagram"' "$STAGE/$n.review.json" | grep -F '"authentic":false' |
			grep -vcF "\"client\":\"$ATK4:")"
}

check_handshake() {
	story_common handshake
	story "handshake: the SSH login from the client's address is found" \
		eq 1 "$(jn handshake '"event":"session"' "\"ssh_client\":\"$SNAT4_ADDR:" '"ssh_server":"198.18.0.2:22"' '"ssh_established":true')"
	story "handshake: no roam" eq 0 "$(jn handshake '"event":"roam"')"
}

check_roam() {
	story_common roam
	story "roam: one roam to $ROAM4" \
		eq 1 "$(jn roam '"event":"roam"' "\"client\":\"$ROAM4:" "\"old_client\":\"$SNAT4_ADDR:" '"kind":"roam"')"
	story "roam: the new address is accepted, then confirmed" \
		gt0 "$(jn roam '"event":"datagram"' "\"client\":\"$ROAM4:" '"reason":"confirmed"')"
}

check_porthop() {
	story_common porthop
	story "porthop: one port hop, no address change" \
		eq "1 0" "$(jn porthop '"event":"roam"' '"kind":"port_hop"') $(jn porthop '"event":"roam"' '"kind":"roam"')"
	story "porthop: a gap over 9 s before it" gt0 "$(jn porthop '"event":"gap"')"
	story "porthop: the new port is confirmed" eq 2 "$(jn porthop '"event":"pinhole"' '"action":"open"')"
}

check_idle() {
	story_common idle
	story "idle: one gap over 9 s" eq 1 "$(jn idle '"event":"gap"')"
	story "idle: no roam or port hop" eq 0 "$(jn idle '"event":"roam"')"
	story "idle: one pinhole" eq 1 "$(jn idle '"event":"pinhole"' '"action":"open"')"
}

check_two-sessions() {
	story_common two-sessions
	story "two-sessions: two sessions with keys" eq 2 "$(jn two-sessions '"event":"session"' '"key":true')"
	story "two-sessions: two pinholes, one per session" \
		eq "1 1" "$(jn two-sessions '"event":"pinhole"' "\"server\":\"198.18.0.2:${PORT[two-sessions]}\"") $(jn two-sessions '"event":"pinhole"' "\"server\":\"198.18.0.2:$PORT2\"")"
}

check_ipv6() {
	story_common ipv6
	story "ipv6: server and client are IPv6" \
		eq 1 "$(jn ipv6 '"event":"session"' "\"server\":\"[$SRV6]:${PORT[ipv6]}\"" "\"client\":\"[$SNAT6_ADDR]:")"
}

check_attacks() {
	local a="\"client\":\"$ATK4:"
	story_common attacks
	story "attacks: short garbage dropped (short)" eq 2 "$(jn attacks "$a" '"reason":"short"')"
	story "attacks: forged headers dropped (forged)" eq 3 "$(jn attacks "$a" '"reason":"forged"')"
	story "attacks: the replay of seq 0 from another address dropped (replay)" \
		eq 1 "$(jn attacks "$a" '"seq":0,' '"direction":"to_server"' '"seq_note":"replay"' '"verdict":"drop","reason":"replay"')"
	story "attacks: every to-server datagram from the attacker is a replay" \
		eq "$(jn attacks "$a" '"ssp_direction":"to_server"' '"authentic":true')" \
		"$(jn attacks "$a" '"ssp_direction":"to_server"' '"seq_note":"replay"')"
	story "attacks: reflected server datagrams dropped (wrong_direction)" \
		gt0 "$(jn attacks "$a" '"ssp_direction":"to_client"' '"reason":"wrong_direction"')"
	story "attacks: nothing goes to the attacker, no pinhole for it" \
		eq "0 0" "$(jn attacks "$a" '"direction":"to_client"') $(jn attacks '"event":"pinhole"' "$a")"
	story "attacks: one pinhole (the client's)" eq 1 "$(jn attacks '"event":"pinhole"' '"action":"open"')"
}

# ---------------------------------------------------------------- the daemon

# A fresh daemon for every capture: the review's simulated firewall starts
# cold at the capture's first packet, and so does the daemon. Its audit log
# (one file for the whole run) is read from line AUDIT_FROM on.
AUDIT_FROM=1
daemon_start() {
	local audit=$MH_TMP/audit.log
	AUDIT_FROM=$(($( (cat "$audit" 2>/dev/null || true) | wc -l) + 1))
	rm -f "$MH_TMP/control.sock"
	mh_start_daemon "slowpath_pcap = \"$MH_TMP/slowpath.pcap\";"
}

daemon_stop() {
	kill -TERM "$MH_DAEMON_PID" 2>/dev/null
	mh_wait 10 mh_pid_gone "$MH_DAEMON_PID" || mh_fail "the daemon did not stop"
	MH_DAEMON_PID=''
}

# This capture's part of the daemon's audit log.
audit_slice() { tail -n +"$AUDIT_FROM" "$MH_TMP/audit.log" 2>/dev/null; }

# The daemon's own slow-path verdicts ("in|out reason", sorted) against
# the review's verdicts for every datagram not on a pinhole, and the
# pinholes it opened against the review's; a difference is printed.
daemon_agrees() {
	local n=$1 d r
	if ! audit_slice | grep -q '"event":"datagram"'; then
		echo "   (no slow-path events in the daemon's audit log: not compared)"
		return 0
	fi
	d=$(audit_slice | grep -F '"event":"datagram"' |
		sed -E 's/.*"path":"([a-z]+)".*"reason":"([a-z_]+)".*/\1 \2/' | sort)
	r=$(grep -F '"event":"datagram"' "$STAGE/$n.review.json" | grep -vF '"verdict":"pinhole"' |
		sed -E 's/.*"direction":"to_(server|client)".*"reason":"([a-z_]+)".*/\1 \2/' |
		sed 's/^server /in /; s/^client /out /' | sort)
	if [ "$d" != "$r" ]; then
		echo "   slow-path verdicts, daemon (<) vs review (>):"
		diff <(echo "$d") <(echo "$r") | sed 's/^/      /'
		return 1
	fi
	d=$(audit_slice | grep -F '"event":"pinhole_open"' | grep -o '"client":"[^"]*"' | sort)
	r=$(grep -F '"event":"pinhole"' "$STAGE/$n.review.json" | grep -F '"action":"open"' |
		grep -o '"client":"[^"]*"' | sort)
	if [ "$d" != "$r" ]; then
		echo "   pinholes opened, daemon (<) vs review (>):"
		diff <(echo "$d") <(echo "$r") | sed 's/^/      /'
		return 1
	fi
}

# corpus_make NAME: capture, review and check; again while the story is not
# right (mosh's timers decide port hops); idle tunes its silence between tries.
corpus_make() {
	local n=$1 try
	for try in $(seq 1 "$ATTEMPTS"); do
		mh_step "$n (try $try of $ATTEMPTS)"
		daemon_start
		"make_$n"
		daemon_stop
		review "$n"
		STORY=0
		"check_$n"
		story "$n: the daemon's own verdicts and pinholes are the review's" daemon_agrees "$n"
		[ $STORY = 0 ] && return 0
		if [ "$n" = idle ]; then
			if [ "$(jn idle '"event":"roam"')" != 0 ]; then
				IDLE_STOP=$(awk -v s="$IDLE_STOP" 'BEGIN { print s - 0.2 }')
			elif [ "$(jn idle '"event":"gap"')" = 0 ]; then
				IDLE_STOP=$(awk -v s="$IDLE_STOP" 'BEGIN { print s + 0.2 }')
			fi
			mh_log "idle: the client will be stopped for $IDLE_STOP s next time"
		fi
	done
	mh_fail "$n: the review does not tell the expected story after $ATTEMPTS tries (see $STAGE/$n.review.txt)"
}

# ---------------------------------------------------------------- main

mh_require_build mosh-helperd mosh-helper-hook mosh-helper-review tests/udptool
for c in ssh sshd:/usr/sbin/sshd ssh-keygen mosh; do
	command -v "${c#*:}" >/dev/null 2>&1 || mh_skip "missing tool: ${c%%:*}"
done
mh_setup
# sshd and /run/sshd first, then lib.sh's cleanup (which exits).
corpus_exit() {
	local rc=$?
	[ -n "$SSHD_PID" ] && sshd_stop
	(exit $rc)
	mh_cleanup
}
trap corpus_exit EXIT
STAGE=$MH_TMP/stage/pcaps CAPDIR=$MH_TMP/cap
mkdir -p "$STAGE" "$CAPDIR"

for n in $CORPUS_NAMES; do
	corpus_make "$n"
done
sshd_stop

mh_step "copying into $CORPUS_OUT"
for n in $CORPUS_NAMES; do
	for x in pcap key review.txt review.json; do
		cp "$STAGE/$n.$x" "$CORPUS_OUT/$n.$x" || mh_fail "copy $n.$x"
	done
	mh_log "$n: $(stat -c %s "$CORPUS_OUT/$n.pcap") bytes, $(mh_pcap_count "$CORPUS_OUT/$n.pcap") packets"
done
echo "make-corpus: done; now READ the *.review.txt files before keeping them"
