# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Helpers of the relay-role tests (t_relay_*.sh), on top of lib.sh: the
# test certificates (tests/tools/mkcerts.sh), the recorder that stands
# where a gateway would (tests/tools/gwrecorder: it records the frames the
# relay sends and answers as told; it is a recorder, not the gateway), and
# the relay's configuration. The recorder listens in the router namespace
# on its address towards the server, 198.18.0.1:7710.

RL_GW=198.18.0.1:7710
RL_CERTS='' RL_REC_PID='' RL_REC_LOG=''

# rl_certs: the certificate set into $MH_TMP/certs.
rl_certs() {
	RL_CERTS=$MH_TMP/certs
	sh "$MH_SRC/tests/tools/mkcerts.sh" "$RL_CERTS" || mh_fail "mkcerts.sh"
}

# rl_rec_start LOG MODE [REASON] [CERTNAME]: a recorder (ok|refuse|silent),
# with the gateway's certificate unless CERTNAME names another.
rl_rec_start() {
	local log=$1 mode=$2 reason=${3:-refused} cert=${4:-gateway}
	RL_REC_LOG=$log
	# (ip netns exec execs in place: $! is the recorder itself)
	ip netns exec "$NS_R" "$MH_BUILD/tests/gwrecorder" 198.18.0.1 7710 "$RL_CERTS/site-ca.pem" \
		"$RL_CERTS/$cert.pem" "$RL_CERTS/$cert.key" "$log" "$mode" "$reason" \
		>>"$MH_TMP/gwrecorder.err" 2>&1 &
	RL_REC_PID=$!
	MH_PIDS+=("$RL_REC_PID")
	mh_wait 5 grep -qs '^LISTEN' "$log" || mh_fail "gwrecorder did not start: $(cat "$MH_TMP/gwrecorder.err")"
}

rl_rec_stop() {
	[ -n "$RL_REC_PID" ] || return 0
	kill -TERM "$RL_REC_PID" 2>/dev/null
	mh_wait 5 mh_pid_gone "$RL_REC_PID"
	RL_REC_PID=''
}

# rl_conf [lines...]: the relay's configuration ($MH_CONF); a line given
# replaces the default line of the same key.
rl_conf() {
	local defaults=("role = \"relay\";"
		"tls_ca = \"$RL_CERTS/site-ca.pem\";"
		"tls_cert = \"$RL_CERTS/relay-lab.pem\";"
		"tls_key = \"$RL_CERTS/relay-lab.key\";"
		"gateways = [ \"$RL_GW\" ];"
		"relay_heartbeat = 1;")
	local lines=() l
	for l in "${defaults[@]}"; do
		printf '%s\n' "$@" | grep -q "^${l%% *} " || lines+=("$l")
	done
	mh_write_conf "${lines[@]}" "$@"
}

# rl_ups: how many times the relay has come up to the gateway so far.
rl_ups() { grep -c "relay: gateway $RL_GW up" "$MH_DAEMON_LOG" 2>/dev/null; }
rl_wait_up() { # N: until the relay has been up N times
	mh_wait 15 rl_ups_at_least "$1" || mh_fail "the relay did not connect to $RL_GW (up $(rl_ups) times, wanted $1)"
}
rl_ups_at_least() { [ "$(rl_ups)" -ge "$1" ]; }

# rl_key_hex B64: the 22-character session key as the recorder prints it.
rl_key_hex() { printf '%s==' "$1" | base64 -d | od -An -tx1 | tr -d ' \n'; }

# rl_has LOG REGEX: a line of the recorder's log matches.
rl_has() { grep -qs -E "$2" "$1"; }
