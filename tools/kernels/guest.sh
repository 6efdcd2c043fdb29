#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs inside the QEMU guest of tools/check-kernels.sh, as its init after
# switch_root: mounts what a Debian system has (proc, sys, devpts, shm,
# cgroup-free), prints the kernel and the paths it offers mosh-helper, runs
# the chosen integration tests with the checkout's sanitizer build, leaves
# their summary in build/kernels/result and powers the guest off.
set -u
mount -t proc proc /proc
mount -t sysfs sys /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
ln -sf /proc/self/fd /dev/fd 2>/dev/null
hostname mh-kernel-guest
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=xterm
src=$(sed 's/.*mh.src=\([^ ]*\).*/\1/' /proc/cmdline)
tests=$(sed -n 's/.*mh.tests=\([^ ]*\).*/\1/p' /proc/cmdline | tr , ' ')
build=$src/build/kernels/san
out=$src/build/kernels/result
ip link set lo up
modprobe -a veth nfnetlink_queue nft_compat xt_NFQUEUE nft_queue nf_conntrack_netlink \
	nft_ct nft_nat nft_limit nft_reject_inet 2>/dev/null
{
	echo "kernel: $(uname -r) ($(uname -v))"
	MH_BUILD=$build "$src/tools/kernels/features" 2>&1 | sed 's/^/feature: /'
} | tee "$out"
cd "$src" || exit 1
rc=0
for t in $tests; do
	MH_JOBS=1 ./tests/run.sh "$build" "integration/$t" 2>&1 | tee -a "$out.log" |
		grep -E '^(PASS|FAIL|SKIP)' | tee -a "$out"
	[ "${PIPESTATUS[0]}" = 0 ] || rc=1
	grep -hE 'queue rule:|table flags:|map lookups|rebuilt in' "$build/logs/integration/$t.log" 2>/dev/null |
		sort | uniq -c | sed "s/^/path ($t): /" | tee -a "$out"
done
echo "rc: $rc" >>"$out"
sync
echo o >/proc/sysrq-trigger
sleep 30
