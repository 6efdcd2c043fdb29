#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The daemon's command line and the install target: --check-config prints
# an effective configuration that loads back to itself, broken files are
# refused with file, line and reason, and `make install` honours PREFIX and
# DESTDIR. No namespaces needed.
set -u
D=$MH_BUILD/mosh-helperd
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
check() { # description, command...
	local what=$1; shift
	if "$@"; then echo "   ok: $what"; else echo "   FAIL: $what"; fails=$((fails + 1)); fi
}

"$D" -c "$MH_SRC/mosh-helper.conf" --check-config >"$T/eff1.conf"
check "--check-config accepts the shipped configuration" test $? = 0
"$D" -c "$T/eff1.conf" --check-config >"$T/eff2.conf"
check "the printed configuration loads back to the same text" cmp -s "$T/eff1.conf" "$T/eff2.conf"
check "it lists every key" test "$(grep -c ' = ' "$T/eff1.conf")" -ge 16

printf 'idle_timeout = 30;\nports = "61000-60000";\n' >"$T/bad.conf"
"$D" -c "$T/bad.conf" --check-config >"$T/out" 2>"$T/err"
rc=$?
check "a broken file exits 1" test $rc = 1
check "the error names file and line: $(cat "$T/err")" grep -q "^mosh-helperd: $T/bad.conf:2: ports" "$T/err"
check "nothing on stdout for a broken file" test ! -s "$T/out"

printf 'idle_timeout = ;\n' >"$T/syntax.conf"
"$D" -c "$T/syntax.conf" --check-config 2>"$T/err" >/dev/null
check "a syntax error is refused with its line: $(cat "$T/err")" grep -q "syntax.conf:1:" "$T/err"

printf 'idle_timout = 30;\n' >"$T/typo.conf"
"$D" -c "$T/typo.conf" --check-config 2>"$T/err" >/dev/null
check "a misspelt key is refused: $(cat "$T/err")" grep -q "idle_timout" "$T/err"

"$D" -c "$T/missing.conf" --check-config 2>"$T/err" >/dev/null
check "a missing file is refused: $(cat "$T/err")" grep -q "missing.conf: No such file" "$T/err"

"$D" --no-such-option >/dev/null 2>&1
check "an unknown option exits 2" test $? = 2

"$D" -c "$MH_SRC/mosh-helper.conf" --guard --uninstall >/dev/null 2>"$T/err"
rc=$?
check "--guard and --uninstall together exit 2: $(cat "$T/err")" test $rc = 2
"$D" -c "$T/bad.conf" --uninstall >/dev/null 2>"$T/err"
rc=$?
check "--uninstall with a broken file exits 2: $(cat "$T/err")" test $rc = 2
check "naming file and line" grep -q "bad.conf:2: ports" "$T/err"

make -s -C "$MH_SRC" B="$MH_BUILD" install DESTDIR="$T/root" PREFIX=/opt/mh >/dev/null 2>"$T/err"
check "make install succeeds" test $? = 0
for f in opt/mh/sbin/mosh-helperd opt/mh/bin/mosh-helper-hook etc/mosh-helper.conf \
	etc/sysctl.d/60-mosh-helper.conf; do
	check "installed $f" test -s "$T/root/$f"
done
for u in mosh-helperd mosh-helper-guard; do
	check "installed unit $u.service, ExecStart in PREFIX" \
		grep -q '^ExecStart=/opt/mh/sbin/mosh-helperd .*-c /etc/mosh-helper.conf' \
		"$T/root/opt/mh/lib/systemd/system/$u.service"
done
check "the guard unit runs --guard" \
	grep -q '^ExecStart=.* --guard ' "$T/root/opt/mh/lib/systemd/system/mosh-helper-guard.service"
check "the daemon's unit starts after the guard" \
	grep -q '^After=.*mosh-helper-guard.service' "$T/root/opt/mh/lib/systemd/system/mosh-helperd.service"
installed_check() { "$T/root/opt/mh/sbin/mosh-helperd" -c "$T/root/etc/mosh-helper.conf" --check-config >/dev/null; }
check "the installed daemon validates the installed configuration" installed_check

[ $fails = 0 ] && echo "PASS: daemon command line and install" || echo "$fails check(s) failed"
[ $fails = 0 ]
