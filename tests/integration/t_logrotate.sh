#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Log rotation (issue 15, item 5): the audit log, key log and slow-path
# capture are renamed and the daemon is sent SIGUSR1, as logrotate's
# postrotate does, ROT times while a bounded flood of audited events runs
# (garbage datagrams to a live session's port from the attacker, refused
# announcements, a second session). The seccomp'd daemon cannot open a file
# for writing: its state keeper reopens them and hands them over. Then:
#   - every audit file is valid JSON lines (each line one object, none
#     split, each file ending with a newline), and every file after the
#     first begins with the "reopened" event;
#   - every slow-path datagram the daemon decided is in exactly one file:
#     the "record" numbers across all files are 1..N, each once, and N is
#     the sum of the verdict counters the last stats event gives;
#   - every capture file is a valid pcap and together they hold N records;
#   - the 2 accepted sessions, the refused announcements and the key log
#     lines are each there exactly once.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/udptool tests/mhannounce
mh_require_tools python3 tcpdump
mh_setup
ROT=10 NREF=10 FLOOD=60000
AUDIT=$MH_TMP/audit.log KEYLOG=$MH_TMP/keys.log PCAP=$MH_TMP/slow.pcap
mh_start_daemon "key_log = \"$KEYLOG\";" "slowpath_pcap = \"$PCAP\";" \
	"slow_path_rate = 20000;" "slow_path_rate_per_source = 0;"
mh_live_session mhtest1 c1
port=$MH_PORT key1=$MH_KEY
U2=$(id -u mhtest2)

reopened() { grep -c "audit files reopened: audit_log,key_log,slowpath_pcap" "$MH_DAEMON_LOG"; }
rotate() { # n: rename the three files to .n, then the signal
	mv "$AUDIT" "$AUDIT.$1" && mv "$KEYLOG" "$KEYLOG.$1" && mv "$PCAP" "$PCAP.$1" ||
		mh_fail "rename $1"
	local before
	before=$(reopened)
	kill -USR1 "$MH_DAEMON_PID"
	mh_wait 10 eval '[ "$(reopened)" -gt '"$before"' ]' ||
		mh_fail "rotation $1: the daemon did not say it reopened its files"
}

mh_step "logrotate: $ROT rotations during a flood of $FLOOD garbage datagrams to port $port"
mh_ns_bg "$NS_A" "$MH_TMP/flood.out" "$MH_UDPTOOL" send "$SRV4" "$port" --garbage "$FLOOD" \
	--interval-us 100
flood=$MH_BG_PID
during=0
for i in $(seq 1 "$ROT"); do
	sleep 0.3
	kill -0 "$flood" 2>/dev/null && during=$((during + 1))
	mh_nsx "$NS_S" runuser -u mhtest2 -- "$MH_ANNOUNCE" "$MH_TMP/control.sock" 59000 1 \
		AAAAAAAAAAAAAAAAAAAAAA >/dev/null 2>&1
	[ "$i" = 5 ] && mh_session mhtest1
	rotate "$i"
done
key2=$MH_KEY
mh_log "the flood ran during $during of the $ROT rotations"
mh_assert "the flood ran during most rotations" test "$during" -ge $((ROT / 2))
mh_assert "the flood ends" mh_wait 60 mh_pid_gone "$flood"
for i in $(seq $((ROT + 1)) "$NREF"); do   # the refusals the loop did not send
	mh_nsx "$NS_S" runuser -u mhtest2 -- "$MH_ANNOUNCE" "$MH_TMP/control.sock" 59000 1 \
		AAAAAAAAAAAAAAAAAAAAAA >/dev/null 2>&1
done
# no datagram after the last counters: the client goes, then the counters
mh_tmux kill-session -t c1 2>/dev/null
sleep 1
rotate $((ROT + 1))
mh_stop_daemon

mh_step "logrotate: every line accounted for"
files=()
for i in $(seq 1 $((ROT + 1))); do files+=("$AUDIT.$i"); done
files+=("$AUDIT")
mh_log "audit files: ${#files[@]}: $(wc -l "${files[@]}" | tail -n 1)"
python3 - "${files[@]}" >"$MH_TMP/check.out" 2>&1 <<'EOF'
import json, sys
records, bad, last_stats, first = [], 0, None, []
for path in sys.argv[1:]:
    data = open(path, 'rb').read()
    if data and not data.endswith(b'\n'):
        bad += 1; print('no final newline:', path)
    lines = data.decode().splitlines()
    first.append(json.loads(lines[0])['event'] if lines else '')
    for line in lines:
        try:
            o = json.loads(line)
            assert isinstance(o, dict) and 'event' in o
        except Exception:
            bad += 1; print('bad line in', path, ':', line[:80]); continue
        if o['event'] == 'datagram':
            records.append(o['record'])
        if o['event'] == 'stats':
            last_stats = sum(o['verdicts'].values())
n = max(records) if records else 0
print('bad', bad)
print('records', len(records), 'unique', len(set(records)), 'max', n,
      'contiguous', sorted(records) == list(range(1, n + 1)))
print('last_stats', last_stats)
print('first', ' '.join(first[1:]))
EOF
sed 's/^/   | /' "$MH_TMP/check.out"
field() { sed -n "s/^$1 //p" "$MH_TMP/check.out"; }
N=$(field records | awk '{print $5}')
mh_check_eq "every line of every audit file is one JSON object" 0 "$(field bad)"
mh_assert "thousands of slow-path datagrams were decided" test "${N:-0}" -ge 1000
mh_check_eq "the records across the files are 1..$N, each once" \
	"records $N unique $N max $N contiguous True" "$(grep '^records' "$MH_TMP/check.out")"
mh_check_eq "$N is what the daemon counted (its last stats event)" "$N" "$(field last_stats)"
mh_check_eq "each new audit file begins with the reopened event" \
	"$(printf 'reopened %.0s' $(seq 1 $((ROT + 1))) | sed 's/ $//')" "$(field first)"
cnt() { cat "${files[@]}" | grep -c "$1"; }
mh_check_eq "both sessions accepted, each once" 2 "$(cnt '"event":"session_accepted"')"
mh_check_eq "the $NREF refused announcements, each once" "$NREF" \
	"$(cnt "\"event\":\"session_refused\".*\"uid\":$U2,")"
mh_check_eq "one reopened event per rotation" $((ROT + 1)) "$(cnt '"event":"reopened"')"
mh_check_eq "one start, one stop" "1 1" "$(cnt '"event":"start"') $(cnt '"event":"stop"')"

mh_step "logrotate: the captures and the key log"
total=0 badpcap=0
for f in "$PCAP".* "$PCAP"; do
	if ! tcpdump -n -r "$f" >/dev/null 2>&1; then
		badpcap=$((badpcap + 1)); mh_log "not a valid capture: $f"
	fi
	total=$((total + $(mh_pcap_count "$f")))
done
mh_check_eq "every capture file reads" 0 "$badpcap"
mh_check_eq "the captures hold the $N records together" "$N" "$total"
mh_check_eq "the key log: each session's key once, across its files" \
	"1 1" "$(cat "$KEYLOG".* "$KEYLOG" | grep -c "^[0-9]* $key1\( \|$\)") $(cat "$KEYLOG".* "$KEYLOG" | grep -c "^[0-9]* $key2\( \|$\)")"
mh_check_eq "no other line in the key logs" 2 "$(cat "$KEYLOG".* "$KEYLOG" | wc -l)"
mh_check_eq "the rotated files keep their modes (audit 640, keys 600, capture 600)" \
	"640 600 600" "$(stat -c %a "$AUDIT" "$KEYLOG" "$PCAP" | tr '\n' ' ' | sed 's/ $//')"

mh_pass "log rotation"
