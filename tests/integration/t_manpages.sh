#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The man pages (man/) stay true to the programs: every key the parser
# knows (`mosh-helperd --check-config -c /dev/null` prints its whole key
# table) has an entry in mosh-helper.conf(5) with its default; every option
# (and mosh-helperctl command) of each program's usage text appears in its
# page; groff renders each page without a warning (-ww). No root needed.
# MH_MAN_DIR checks another copy of the pages (to see this test fail).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

mh_require_build mosh-helperd mosh-helperctl mosh-helper-hook mosh-helper-review
command -v groff >/dev/null || mh_skip "groff missing (make deps)"
MAN=${MH_MAN_DIR:-$MH_SRC/man}
T=$(mktemp -d /tmp/mh-man.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT

# plain PAGE: the roff source with escapes of hyphens, quotes and fonts
# undone, so that names and options read as on the terminal
plain() {
	sed -e 's/\\-/-/g; s/\\(dq/"/g; s/\\f[BIRP]//g; s/\\(lq//g; s/\\(rq//g' "$1"
}

mh_step "groff -ww renders every page without a warning"
for p in mosh-helperd.8 mosh-helperctl.8 mosh-helper-hook.1 mosh-helper-review.1 mosh-helper.conf.5; do
	[ -f "$MAN/$p" ] || { mh_check_eq "$p exists" yes no; continue; }
	groff -man -ww -z "$MAN/$p" >"$T/warn" 2>&1
	mh_check_eq "$p: groff warnings" "" "$(head -c 300 "$T/warn")"
done

mh_step "every key of the parser, with its default, in mosh-helper.conf(5)"
"$MH_BUILD/mosh-helperd" --check-config -c /dev/null >"$T/keys" 2>&1 ||
	mh_fail "mosh-helperd --check-config -c /dev/null failed: $(cat "$T/keys")"
plain "$MAN/mosh-helper.conf.5" >"$T/conf5"
n=0
while IFS= read -r line; do
	case $line in
	"# "*": not set"*)                     # a key with no value by default
		key=${line#\# }; key=${key%%:*}; val='' ;;
	[a-z]*" = "*)
		key=${line%% = *}; val=${line#* = }; val=${val%;} ;;
	*) continue ;;
	esac
	n=$((n + 1))
	entry=$(grep -E "^\.BR? $key( |$)" "$T/conf5" | head -n 1)
	mh_check_eq "$key has an entry" yes "$([ -n "$entry" ] && echo yes || echo no)"
	case $val in
	'{'*)                                  # a group: each member named
		for m in $(echo "$val" | grep -oE '[a-z_]+ =' | sed 's/ =//'); do
			n=$((n + 1))
			mh_check_eq "$key.$m is named" yes \
				"$(grep -qF "$key.$m" "$T/conf5" && echo yes || echo no)"
		done ;;
	'') ;;
	*)
		[ -z "$entry" ] && continue
		# the entry without the quoting of .BR; "" is written "empty"
		bare=${val#\"}; bare=${bare%\"}; bare=${bare:-empty}
		flat=$(echo "$entry" | tr -d '"' | tr -s ' ')
		mh_check_eq "$key: the page gives the default $val" yes \
			"$(case "$flat " in *"default $bare "*|*"default $bare)"*|*"default $bare,"*|*"default $bare:"*) echo yes;; *) echo no;; esac)" ;;
	esac
done <"$T/keys"
[ "$n" -ge 25 ] || mh_fail "only $n keys read from --check-config"
mh_log "$n keys checked"

mh_step "every option of each usage text in the program's page"
# opts PROGRAM ARG: the options (and, for mosh-helperctl, commands) its
# usage text names
opts() {
	"$MH_BUILD/$1" "$2" 2>&1 | grep -oE '(^|[][ ,|])--?[a-z][a-z0-9-]*' | sed 's/^[][ ,|]//'
	[ "$1" != mosh-helperctl ] ||
		"$MH_BUILD/$1" "$2" 2>&1 | grep -oE '^  [a-z]+( |$)' | tr -d ' '
}
for pa in mosh-helperd.8:--help mosh-helperctl.8:--help mosh-helper-hook.1:-h mosh-helper-review.1:--help; do
	page=${pa%%:*} prog=${page%.*}
	plain "$MAN/$page" >"$T/page"
	opts "$prog" "${pa#*:}" | sort -u >"$T/opts"
	[ -s "$T/opts" ] || mh_fail "$prog ${pa#*:}: no options read"
	while read -r o; do
		mh_check_eq "$prog $o in $page" yes \
			"$(grep -qE -- "(^|[^a-z-])$o([^a-z-]|$)" "$T/page" && echo yes || echo no)"
	done <"$T/opts"
done

[ "$MH_FAILED" = 0 ] || { echo "failed: ${MH_FAILED_CHECKS[*]}"; exit 1; }
echo "all man page checks passed"
