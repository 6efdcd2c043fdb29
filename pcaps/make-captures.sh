#!/bin/bash
# Makes the real SSP captures in pcaps/ with Debian's mosh-server and
# mosh-client: two network namespaces joined by a veth pair, one short
# session per address family (type a command, see its output, exit), the
# traffic captured with tcpdump in the server namespace. Needs root.
# Usage: pcaps/make-captures.sh [OUT_DIR]   (default: the directory of this script)
set -euo pipefail

OUT=${1:-$(cd "$(dirname "$0")" && pwd)}
NS_S=mhssp-$$-srv
NS_C=mhssp-$$-cli
VS=mhsp$$s          # veth ends (<= 15 characters)
VC=mhsp$$c
TMUX_SOCK=mhssp-$$
USER_NAME=mhtest1
SRV4=198.18.0.1 CLI4=198.18.0.2
SRV6=fd00:5350::1 CLI6=fd00:5350::2
TMP=$(mktemp -d /tmp/mhssp-$$.XXXXXX)
chmod 755 "$TMP"
TCPDUMP_PID=
SERVER_PID=

die() { echo "make-captures: $*" >&2; exit 1; }

cleanup() {
	set +e
	tmux -L "$TMUX_SOCK" kill-server 2>/dev/null
	[ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID" 2>/dev/null
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
	ip netns del "$NS_S" 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
for p in mosh-server mosh-client tcpdump tmux ip runuser awk; do
	command -v "$p" >/dev/null || die "missing $p"
done
id "$USER_NAME" >/dev/null 2>&1 || useradd -m -s /bin/bash "$USER_NAME"

# wait_for SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds.
wait_for() {
	local n=$(($1 * 10)); shift
	while ! "$@" 2>/dev/null; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}

link_up() { ip -n "$1" link show dev "$2" | grep -q LOWER_UP; }

setup_net() {
	ip netns add "$NS_S"
	ip netns add "$NS_C"
	ip link add "$VS" type veth peer name "$VC"
	ip link set "$VS" netns "$NS_S"
	ip link set "$VC" netns "$NS_C"
	ip -n "$NS_S" addr add "$SRV4/24" dev "$VS"
	ip -n "$NS_C" addr add "$CLI4/24" dev "$VC"
	ip -n "$NS_S" addr add "$SRV6/64" dev "$VS" nodad
	ip -n "$NS_C" addr add "$CLI6/64" dev "$VC" nodad
	for ns in "$NS_S" "$NS_C"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$NS_S" link set "$VS" up
	ip -n "$NS_C" link set "$VC" up
	wait_for 5 link_up "$NS_S" "$VS" || die "veth $VS not up"
	wait_for 5 link_up "$NS_C" "$VC" || die "veth $VC not up"
}

pane() { tmux -L "$TMUX_SOCK" capture-pane -p -t mh; }
# pane_has REGEX: the client's screen shows a line matching REGEX.
pane_has() { pane | grep -qE "$1"; }
pid_gone() { ! kill -0 "$1"; }

# capture NAME SERVER_IP PORT IFACE: one session, writes NAME.pcap and NAME.key.
capture() {
	local name=$1 ip=$2 port=$3 iface=$4
	local out err line key

	ip netns exec "$NS_S" tcpdump -i "$iface" -n -U -Z root -s 2048 \
		-w "$TMP/$name.pcap" "udp port $port" 2>"$TMP/$name.tcpdump" &
	TCPDUMP_PID=$!
	wait_for 10 grep -q "listening on" "$TMP/$name.tcpdump" ||
		die "tcpdump did not start: $(cat "$TMP/$name.tcpdump")"

	out=$TMP/$name.out err=$TMP/$name.err
	(cd / && ip netns exec "$NS_S" runuser -u "$USER_NAME" -- \
		env LANG=C.UTF-8 mosh-server new -i "$ip" -p "$port" \
		-l LANG=C.UTF-8) >"$out" 2>"$err" </dev/null ||
		die "mosh-server failed: $(cat "$err")"
	line=$(grep -m1 '^MOSH CONNECT ' "$out") || die "no MOSH CONNECT: $(cat "$out" "$err")"
	[ "$(echo "$line" | awk '{print $3}')" = "$port" ] || die "unexpected port: $line"
	key=$(echo "$line" | awk '{print $4}')
	[[ $key =~ ^[A-Za-z0-9+/]{22}$ ]] || die "unexpected key format"
	SERVER_PID=$(sed -n 's/.*detached, pid = \([0-9]*\).*/\1/p' "$err")
	[ -n "$SERVER_PID" ] || die "no server pid: $(cat "$err")"

	ip netns exec "$NS_C" env MOSH_KEY="$key" LANG=C.UTF-8 \
		tmux -L "$TMUX_SOCK" new-session -d -s mh -x 80 -y 24 \
		"mosh-client $ip $port; sleep 30"
	# The shell prompt ends in "$ "; then type, wait for the output line.
	wait_for 15 pane_has '\$ *$' || die "no prompt: $(pane)"
	tmux -L "$TMUX_SOCK" send-keys -t mh 'echo hello-ssp' Enter
	wait_for 10 pane_has '^hello-ssp *$' || die "no output: $(pane)"
	sleep 4   # idle: one heartbeat (3 s) each way
	tmux -L "$TMUX_SOCK" send-keys -t mh 'exit' Enter
	wait_for 15 pid_gone "$SERVER_PID" || die "mosh-server did not exit"
	SERVER_PID=
	sleep 1   # let the client's last datagrams arrive
	tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true

	kill -INT "$TCPDUMP_PID"
	wait "$TCPDUMP_PID" || true
	TCPDUMP_PID=
	[ -s "$TMP/$name.pcap" ] || die "no capture file: $(cat "$TMP/$name.tcpdump")"
	cp "$TMP/$name.pcap" "$OUT/$name.pcap"
	echo "$port $key" >"$OUT/$name.key"
	echo "make-captures: $name.pcap: $(grep -h 'packets captured' "$TMP/$name.tcpdump")," \
		"$(stat -c %s "$OUT/$name.pcap") bytes"
}

setup_net
# IPv4 on the veth (Ethernet link type), IPv6 on "any" (Linux cooked v2).
capture ssp-v4 "$SRV4" 60001 "$VS"
capture ssp-v6 "$SRV6" 60002 any
