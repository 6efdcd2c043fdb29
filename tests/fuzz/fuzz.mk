# SPDX-License-Identifier: GPL-3.0-or-later
# Fuzzing (included by the top Makefile): libFuzzer targets built with
# clang-14 under ASan+UBSan into $(B)/fuzz/, the library sources compiled
# again with clang and the same sanitizers (the gcc objects are not reused).
#   make fuzz-build                 build the targets
#   make fuzz [FUZZ_SECONDS=300] [FUZZ_RUNS=N]
#                                   run each target on a copy of its corpus
#                                   (for SECONDS, or N executions if sooner),
#                                   print executions, exec/s, cov and ft
#   make fuzz-corpus                regenerate the seed corpora from pcaps/
# `make check` runs tests/integration/t_fuzz.sh (20 s per target plus a
# replay of every corpus and regression input).

FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 300
FUZZ_OUT     := $(B)/fuzz
FUZZ_TARGETS := ssp control config verdict review reviewkeys nftevent portlist journal serverargs relaywire gwpriv
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=gnu11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror \
		-Iinclude -Itests/fuzz -Itools/review $(PKG_CFLAGS) $(FUZZ_SAN)
FUZZ_LIBS    := $(shell pkg-config --libs libcrypto libconfig 2>/dev/null || echo -lcrypto -lconfig)
FUZZ_LIB_SRC := $(sort $(wildcard lib/*.c))
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:lib/%.c=$(FUZZ_OUT)/obj/%.o)
# mosh-helper-review without its main(), for fuzz_review
FUZZ_RV_SRC  := $(filter-out tools/review/main.c,$(sort $(wildcard tools/review/*.c)))
FUZZ_RV_OBJ  := $(FUZZ_RV_SRC:tools/review/%.c=$(FUZZ_OUT)/obj/review/%.o)
FUZZ_RV_LIBS := $(shell pkg-config --libs libpcap 2>/dev/null || echo -lpcap) -lz
FUZZ_LIB     := $(FUZZ_OUT)/libmoshhelper-fuzz.a
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_OUT)/fuzz_%)
FUZZ_DEPS    := $(wildcard include/*.h lib/*_int.h tests/fuzz/*.h tools/review/*.h)

.PHONY: fuzz fuzz-build fuzz-corpus

fuzz-build: $(FUZZ_BINS)

$(FUZZ_OUT)/obj/%.o: lib/%.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_OUT)/obj/review/%.o: tools/review/%.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_OUT)/fuzz_review: tests/fuzz/fuzz_review.c $(FUZZ_RV_OBJ) $(FUZZ_LIB) $(FUZZ_DEPS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_RV_OBJ) $(FUZZ_LIB) \
		$(FUZZ_LIBS) $(FUZZ_RV_LIBS)

# the table watch's event test (nft/watch.c, libmnl)
$(FUZZ_OUT)/fuzz_nftevent: tests/fuzz/fuzz_nftevent.c nft/watch.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< nft/watch.c -lmnl

# the review tool's key-file parser
$(FUZZ_OUT)/fuzz_reviewkeys: tests/fuzz/fuzz_reviewkeys.c $(FUZZ_RV_OBJ) $(FUZZ_LIB) $(FUZZ_DEPS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_RV_OBJ) $(FUZZ_LIB) \
		$(FUZZ_LIBS) $(FUZZ_RV_LIBS)

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB) $(FUZZ_DEPS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(FUZZ_LIBS)

fuzz: fuzz-build
	FUZZ_RUNS=$(FUZZ_RUNS) tests/fuzz/run-fuzz.sh $(FUZZ_OUT) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-corpus:
	tests/fuzz/make-corpus.sh $(B)
