# SPDX-License-Identifier: GPL-3.0-or-later
# mosh-helper: plain Makefile, libraries through pkg-config.
#   make            build the daemon, the hook and the tools (build/)
#   make check      install missing packages, then unit + integration tests
#                   under AddressSanitizer and UndefinedBehaviorSanitizer
#   make demo       install missing packages, then the netns demo
#   make demo-gateway  the same for the perimeter gateway (two login servers)
#   make install    PREFIX=/usr/local DESTDIR=
#   make deb        install debhelper and lintian if missing, then the
#                   Debian package in build/deb (tools/mkdeb.sh)
#   make deps       apt-get install everything the project needs

PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
MANDIR     ?= $(PREFIX)/share/man
CC         ?= cc
B          ?= build

PKGS       := libnetfilter_queue libmnl libnftnl libcrypto libconfig libseccomp
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)
SSL_LIBS   := $(shell pkg-config --libs libssl 2>/dev/null || echo -lssl)
PCAP_LIBS  := $(shell pkg-config --libs libpcap 2>/dev/null || echo -lpcap)
# what each program links beyond libmoshhelper.a: the hook and
# mosh-helperctl only read the configuration
CONF_LIBS  := $(shell pkg-config --libs libconfig 2>/dev/null)
REVIEW_LIBS := $(shell pkg-config --libs libconfig libcrypto 2>/dev/null) $(PCAP_LIBS) -lz

SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

CFLAGS     ?= -O2 -g
override CFLAGS  += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude $(PKG_CFLAGS) $(EXTRA_CFLAGS)
override LDFLAGS += $(EXTRA_LDFLAGS)

LIB_SRCS    := $(sort $(wildcard lib/*.c nft/*.c))
LIB         := $(B)/libmoshhelper.a
# the daemon's rooms (nfq-helper/intake, lifecycle, datapath, process) and
# any file still at its top level
DAEMON_SRCS := $(sort $(wildcard nfq-helper/*.c nfq-helper/*/*.c))
HOOK_SRCS   := $(sort $(wildcard hook/*.c))
REVIEW_SRCS := $(sort $(wildcard tools/review/*.c))
CTL_SRCS    := $(sort $(wildcard tools/ctl/*.c))
UNIT_SRCS   := $(sort $(wildcard tests/unit/test_*.c))
TTOOL_SRCS  := $(sort $(wildcard tests/tools/*.c))

DAEMON := $(B)/mosh-helperd
HOOK   := $(B)/mosh-helper-hook
REVIEW := $(if $(REVIEW_SRCS),$(B)/mosh-helper-review)
CTL    := $(if $(CTL_SRCS),$(B)/mosh-helperctl)
UNITS  := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
TTOOLS := $(TTOOL_SRCS:tests/tools/%.c=$(B)/tests/%)

obj = $(patsubst %.c,$(B)/%.o,$(1))

.PHONY: all check check-run check-kernels demo demo-run demo-gateway demo-gateway-run deb deps deps-ok install clean tests
.DELETE_ON_ERROR:

all: $(DAEMON) $(HOOK) $(REVIEW) $(CTL)

tests: all $(UNITS) $(TTOOLS)

# -MMD -MP: the compiler lists each object's headers in a .d file beside it
$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(B) -name '*.d' 2>/dev/null)

$(LIB): $(call obj,$(LIB_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# daemon.h and a room's header are found from every room ("lifecycle/
# lifecycle.h"); the library's objects never see the daemon's headers
$(call obj,$(DAEMON_SRCS)) $(B)/tests/tools/seccompcheck.o: override CFLAGS += -Infq-helper

$(DAEMON): $(call obj,$(DAEMON_SRCS)) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(SSL_LIBS) $(PKG_LIBS) $(PCAP_LIBS)

$(HOOK): $(call obj,$(HOOK_SRCS)) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CONF_LIBS)

$(B)/mosh-helper-review: $(call obj,$(REVIEW_SRCS)) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(REVIEW_LIBS)

$(B)/mosh-helperctl: $(call obj,$(CTL_SRCS)) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CONF_LIBS)

$(B)/tests/test_%: $(B)/tests/unit/test_%.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(PKG_LIBS) $(PCAP_LIBS) -lz

# the relay/gateway TLS channel lives in the daemon's sources (I/O)
$(B)/tests/test_tls: $(B)/tests/unit/test_tls.o $(B)/nfq-helper/intake/tls.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(SSL_LIBS) $(PKG_LIBS)

# the relay listener's connections (gwconn.c) with real TLS relays; the
# test holds the daemon's end of the socketpair
$(B)/tests/test_gwconn: $(B)/tests/unit/test_gwconn.o $(B)/nfq-helper/intake/gwconn.o $(B)/nfq-helper/intake/tls.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(SSL_LIBS) $(PKG_LIBS)

# test builds only: the gateway daemon whole, with a stand-in for the
# relay listener (gwseam.o's seam hooks replace the daemon's weak ones)
$(B)/tests/gwseam: $(B)/tests/tools/gwseam.o $(call obj,$(DAEMON_SRCS)) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(SSL_LIBS) $(PKG_LIBS) $(PCAP_LIBS)

# the hostile relay of the gateway listener's tests speaks TLS itself
$(B)/tests/relayprobe: $(B)/tests/tools/relayprobe.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(SSL_LIBS) $(PKG_LIBS)

# the relay tests' stand-in gateway speaks TLS through tls.c too
$(B)/tests/gwrecorder: $(B)/tests/tools/gwrecorder.o $(B)/nfq-helper/intake/tls.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(SSL_LIBS) $(PKG_LIBS)

$(B)/tests/%: $(B)/tests/tools/%.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(PCAP_LIBS) -lz

# Packages: installed only when something is missing.
deps:
	./tools/deps.sh install

deps-ok:
	@./tools/deps.sh ensure

check: deps-ok
	$(MAKE) B=build/san EXTRA_CFLAGS="$(SAN_FLAGS)" EXTRA_LDFLAGS="$(SAN_FLAGS)" check-run

check-run: tests
	./tests/run.sh $(B)

# The ruleset, fail-closed and single-session tests on other kernels
# (Debian 12's by default) under QEMU: tools/check-kernels.sh.
check-kernels: deps-ok
	./tools/check-kernels.sh

demo: deps-ok
	$(MAKE) demo-run

demo-run: all
	./tools/demo.sh $(B)

demo-gateway: deps-ok
	$(MAKE) demo-gateway-run

demo-gateway-run: all
	./tools/demo-gateway.sh $(B)

deb: deps-ok
	./tools/mkdeb.sh build/deb

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)
	install -m 0755 $(DAEMON) $(DESTDIR)$(SBINDIR)/mosh-helperd
	install -m 0755 $(HOOK) $(DESTDIR)$(BINDIR)/mosh-helper-hook
	$(if $(REVIEW),install -m 0755 $(REVIEW) $(DESTDIR)$(BINDIR)/mosh-helper-review)
	$(if $(CTL),install -m 0755 $(CTL) $(DESTDIR)$(BINDIR)/mosh-helperctl)
	test -e $(DESTDIR)$(SYSCONFDIR)/mosh-helper.conf || \
		install -m 0644 mosh-helper.conf $(DESTDIR)$(SYSCONFDIR)/mosh-helper.conf
	install -d $(DESTDIR)$(SYSCONFDIR)/sysctl.d
	test -e $(DESTDIR)$(SYSCONFDIR)/sysctl.d/60-mosh-helper.conf || \
		install -m 0644 contrib/60-mosh-helper.conf $(DESTDIR)$(SYSCONFDIR)/sysctl.d/60-mosh-helper.conf
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	for u in mosh-helperd.service mosh-helper-guard.service; do \
		sed 's|/usr/local/sbin/|$(SBINDIR)/|; s|/etc/mosh-helper.conf|$(SYSCONFDIR)/mosh-helper.conf|' \
			contrib/$$u >$(DESTDIR)$(PREFIX)/lib/systemd/system/$$u || exit 1; \
	done
	for s in 1 5 8; do \
		install -d $(DESTDIR)$(MANDIR)/man$$s && \
		install -m 0644 man/*.$$s $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; \
	done

clean:
	rm -rf build

# Benchmarks (make bench) and fuzzing (make fuzz) keep their rules beside
# their sources.
-include bench/bench.mk
-include tests/fuzz/fuzz.mk
-include tests/valgrind.mk
