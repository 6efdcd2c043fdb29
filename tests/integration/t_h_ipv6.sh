#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Acceptance h: the IPv6 versions of a (session through the hook, unhooked
# server unreachable) and b (address and port roaming, old pinhole expires),
# with the server on fd00::2 and the client behind the router's IPv6 SNAT.
# Each part runs in its own namespaces.
dir=$(dirname "$0")
rc=0
for t in t_a_session t_b_roam; do
	echo "######## h: $t over IPv6"
	MH_FAMILY=6 bash "$dir/$t.sh"
	r=$?
	echo "######## h: $t over IPv6 -> exit $r"
	[ $r = 77 ] && exit 77
	[ $r != 0 ] && rc=1
done
[ $rc = 0 ] && echo "PASS: acceptance h (IPv6 a and b)"
exit $rc
