#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make check-kernels: the ruleset, fail-closed and single-session
# integration tests on kernels other than the one this machine runs.
# Each kernel is a Debian package (default: Debian 12's linux-image-amd64,
# which has the native nft queue expression and the table flag owner but not
# persist); it boots under QEMU (KVM when /dev/kvm is usable, TCG
# otherwise) with this machine's root read-only and the checkout read-write
# over virtio-9p, runs tools/kernels/guest.sh and powers off. The result
# (kernel version, the paths it offers, PASS/FAIL per test) is printed and
# kept in build/kernels/result.
#   MH_KERNEL_PKGS  packages to boot, space-separated (default linux-image-amd64)
#   MH_KERNEL_TESTS integration tests to run (default: see TESTS below)
#   MH_KERNEL_MEM   guest memory in MiB (default 3072)
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=$SRC/build/kernels
PKGS=${MH_KERNEL_PKGS:-linux-image-amd64}
TESTS=${MH_KERNEL_TESTS:-t_ruleset,t_failclosed_flush,t_failclosed_stop,t_a_session}
MEM=${MH_KERNEL_MEM:-3072}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# what the 9p root needs before it is mounted; the rest loads on demand
ROOT_MODS="virtio_pci 9pnet_virtio 9p"

need() {
	local missing=()
	command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
	[ -x /bin/busybox ] || missing+=(busybox-static)
	command -v depmod >/dev/null || missing+=(kmod)
	command -v cpio >/dev/null || missing+=(cpio)
	[ ${#missing[@]} = 0 ] && return
	echo "check-kernels: installing ${missing[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
}

# fetch PKG: downloads and unpacks the kernel package (and the versioned
# image it depends on); prints the unpacked directory.
fetch() {
	local pkg=$1 dir=$OUT/pkgs real
	mkdir -p "$dir"
	real=$(apt-cache depends "$pkg" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)/\1/p' | head -n 1)
	real=${real:-$pkg}
	if ! ls "$dir/$real"_*.deb >/dev/null 2>&1; then
		(cd "$dir" && apt-get download "$real" >&2 2>/dev/null) ||
			{ echo "check-kernels: apt-get download $real failed" >&2; return 1; }
	fi
	local x=$dir/$real.x
	if [ ! -d "$x" ]; then
		dpkg-deb -x "$dir/$real"_*.deb "$x.tmp" && mv "$x.tmp" "$x"
		depmod -b "$x" "$(ls "$x/lib/modules")"
	fi
	echo "$x"
}

# initrd X: the initramfs for the unpacked kernel X (busybox, root modules,
# tools/kernels/init).
initrd() {
	local x=$1 kver r m
	kver=$(ls "$x/lib/modules")
	r=$(mktemp -d)
	mkdir -p "$r/bin" "$r/mods" "$r/proc" "$r/sys" "$r/dev"
	cp /bin/busybox "$r/bin/busybox"
	cp "$SRC/tools/kernels/init" "$r/init"
	for m in $ROOT_MODS; do
		modprobe -d "$x" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++' | while read -r m; do
		cp "$m" "$r/mods/"
		basename "$m" >>"$r/modules.list"
	done
	(cd "$r" && find . | cpio -o -H newc --quiet) | gzip -1 >"$x.initrd"
	rm -rf "$r"
	echo "$x.initrd"
}

boot() { # unpacked kernel dir, initrd
	local x=$1 rd=$2 kver accel=tcg,thread=multi cpu=max
	kver=$(ls "$x/lib/modules")
	if [ -w /dev/kvm ]; then accel=kvm cpu=host; fi
	echo "== $kver under QEMU ($accel), tests: $TESTS"
	rm -f "$OUT/result" "$OUT/result.log"
	timeout 3600 qemu-system-x86_64 -machine q35 -accel "$accel" -cpu "$cpu" -smp 2 -m "$MEM" \
		-nographic -no-reboot -nic none \
		-kernel "$x/boot/vmlinuz-$kver" -initrd "$rd" \
		-append "console=ttyS0 panic=-1 quiet loglevel=3 mh.src=$SRC mh.tests=$TESTS" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap \
		-virtfs "local,path=$x/lib/modules/$kver,mount_tag=modules,security_model=passthrough,readonly=on" \
		-virtfs "local,path=$SRC,mount_tag=src,security_model=passthrough" \
		>"$OUT/console-$kver.log" 2>&1 || true
	if [ ! -s "$OUT/result" ]; then
		echo "check-kernels: the guest left no result; its console:"
		tail -n 40 "$OUT/console-$kver.log"
		return 1
	fi
	cat "$OUT/result"
	grep -q '^rc: 0$' "$OUT/result"
}

need
mkdir -p "$OUT"
# the guest's /etc is this machine's, read-only: the test users come first
# and the guest mounts its own modules at /lib/modules/VERSION
mkdir -p /lib/modules
for u in mhtest1 mhtest2; do id "$u" >/dev/null 2>&1 || useradd -m -s /bin/sh "$u"; done
# the tests run the checkout's sanitizer build, made here on the host
make -C "$SRC" -j2 B=build/kernels/san EXTRA_CFLAGS="$SAN" EXTRA_LDFLAGS="$SAN" tests >/dev/null
rc=0
for p in $PKGS; do
	x=$(fetch "$p")
	boot "$x" "$(initrd "$x")" || rc=1
done
exit $rc
