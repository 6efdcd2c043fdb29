#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Install the Debian packages mosh-helper needs to build, test and run its
# demo. "ensure" installs only when something is missing; "install" always;
# the tools of `make deb` (debhelper, lintian) are among them: t_deb builds
# the package.
set -eu

# make deb: the Debian packaging tools
DEB_PKGS="debhelper lintian dpkg-dev fakeroot cpio groff-base"
PKGS="build-essential pkg-config libnetfilter-queue-dev libmnl-dev libnftnl-dev
libssl-dev openssl libconfig-dev libseccomp-dev check libpcap-dev zlib1g-dev mosh nftables iproute2
tcpdump tmux openssh-server openssh-client conntrack procps locales gdb
clang-14 libclang-rt-14-dev valgrind $DEB_PKGS"
PCS="libnetfilter_queue libmnl libnftnl libcrypto libssl libconfig libseccomp check libpcap"
CMDS="mosh-server mosh-client nft ip tcpdump tmux conntrack sshd ssh clang-14 gdb
dh dpkg-buildpackage lintian groff openssl"

missing() {
	command -v pkg-config >/dev/null 2>&1 || return 0
	pkg-config --exists $PCS || return 0
	for c in $CMDS; do
		command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || return 0
	done
	return 1
}

install_all() {
	if [ "$(id -u)" != 0 ]; then
		echo "deps.sh: installing packages needs root (apt-get)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
}

case "${1:-ensure}" in
install) install_all ;;
ensure)
	if missing; then
		echo "deps.sh: installing missing packages" >&2
		install_all
	fi ;;
*) echo "usage: deps.sh install|ensure" >&2; exit 2 ;;
esac
