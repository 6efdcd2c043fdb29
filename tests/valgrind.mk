# SPDX-License-Identifier: GPL-3.0-or-later
# Valgrind (included by the top Makefile): the whole suite under memcheck.
#   make check-valgrind [VG_PATTERN=...]
# builds the normal binaries (no sanitizers) into build/vg, then runs every
# unit test under valgrind and every integration test with the daemon and
# the hook under valgrind (MH_VALGRIND=1, see tests/integration/lib.sh).
# Any memcheck error, or a definite or indirect leak, fails the test.
# valgrind 3.19 (Debian 12) lacks pidfd_open: the daemon gets it from
# tests/valgrind/pidfd_shim.c there (preloaded under valgrind only).

VG_B       := build/vg
VG_PATTERN ?=
VG_SHIM     = $(B)/tests/pidfd_shim.so

.PHONY: check-valgrind check-valgrind-run

check-valgrind: deps-ok
	@command -v valgrind >/dev/null 2>&1 || apt-get install -y --no-install-recommends valgrind
	$(MAKE) B=$(VG_B) EXTRA_CFLAGS= EXTRA_LDFLAGS= check-valgrind-run

check-valgrind-run: tests $(VG_SHIM)
	./tests/run-valgrind.sh $(B) $(VG_PATTERN)

$(B)/tests/pidfd_shim.so: tests/valgrind/pidfd_shim.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -fPIC -shared -pthread -o $@ $< -ldl
