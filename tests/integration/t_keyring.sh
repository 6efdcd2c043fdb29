#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Who can read the session keys the daemon keeps for a restart (issue 11,
# "Keys"). The daemon starts as root and runs as a system user ($DUSER, as
# `user` or the default mosh-helper makes it); its state keeper runs as that
# user too and keeps the keyring in that user's user keyring, linked into a
# session keyring only the daemon and the keeper share. With a real mosh
# session live, an attacker hunts for its key with keyctl (tests/mhkeys
# hunt: every such keyring in the caller's user keyring, every key
# /proc/keys shows the caller, each read and compared with the key):
#   - as another local user (mhtest2): not found;
#   - as a root process that is not the daemon (uid 0, all capabilities,
#     but not taking the daemon's uid): not found. Before this change the
#     keyring sat in root's user keyring and this read the key;
#   - full root can still take the key (it can become $DUSER, or read the
#     daemon's memory): shown here as what it is, and said in the README;
#   - the session still resumes across a restart, and the key stays hidden.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helper-hook tests/mhkeys
mh_setup
DUSER=mhdaemon
id "$DUSER" >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin "$DUSER" ||
	id "$DUSER" >/dev/null 2>&1 || mh_fail "useradd $DUSER"
RING=":net$MH_NETNS_INO"
KEYS=$MH_BUILD/tests/mhkeys
# the daemon's runtime directory belongs to it (as RuntimeDirectory= does)
chown "$DUSER" "$MH_TMP"
duser_purge() { runuser -u "$DUSER" -- "$KEYS" purge "$RING" >/dev/null 2>&1; chown root "$MH_TMP"; }
trap 'r=$?; duser_purge; (exit $r); mh_cleanup' EXIT INT TERM

MH_CONF=''
mh_write_conf "user = \"$DUSER\";"
mh_start_daemon
mh_live_session mhtest1 c1
key=$MH_KEY port=$MH_PORT

hunt_as() { # who, command prefix...
	local who=$1; shift
	"$@" "$KEYS" hunt "$RING" "$key" >"$MH_TMP/hunt.out" 2>&1
	local rc=$?
	mh_log "$who: $(cat "$MH_TMP/hunt.out")" >&2
	return $rc
}
hidden() {
	mh_step "keyring: $1: who can read the key of the session on port $port"
	mh_check_eq "the daemon kept it in $DUSER's keyring (one key)" 1 \
		"$(runuser -u "$DUSER" -- "$KEYS" list "$RING" | grep -c "^key ")"
	found() { hunt_as "$@" && echo found || echo "not found"; }
	mh_check_eq "another local user (mhtest2) cannot find or read it" "not found" \
		"$(found mhtest2 runuser -u mhtest2 --)"
	mh_check_eq "a root process that is not the daemon cannot find or read it" "not found" \
		"$(found root env)"
	mh_check_eq "nor can a root process in the daemon's network namespace" "not found" \
		"$(found "root in the namespace" ip netns exec "$NS_S")"
	mh_check_eq "root that becomes uid $DUSER (CAP_SETUID) can: full root is not kept out" \
		found "$(found "root as $DUSER" setpriv --reuid="$DUSER" --regid="$DUSER" --clear-groups)"
	mh_assert_eq "the keeper runs as $DUSER" "$(id -u "$DUSER")" \
		"$(awk '/^Uid:/ { print $2 }' "/proc/$(keeper_of "$MH_DAEMON_PID")/status")"
}
keeper_of() {
	local c
	for c in $(cat "/proc/$1/task/$1/children" 2>/dev/null); do
		[ "$(cat "/proc/$c/comm" 2>/dev/null)" = mh-state-keeper ] && { echo "$c"; return 0; }
	done
	return 1
}
hidden "started as root, running as $DUSER"

mh_step "keyring: a restart resumes the session from $DUSER's keyring"
mh_stop_daemon
mh_start_daemon
mh_assert "the session resumed" mh_wait 10 mh_daemon_log_has "session [0-9]+ port $port resumed"
mh_assert "restart: 1 of 1" mh_daemon_log_has "restart: resumed 1 of 1 session"
mh_assert "typed text still comes back" mh_roundtrip c1 20
hidden "after the restart"

mh_pass "keyring"
