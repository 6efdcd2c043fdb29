# SPDX-License-Identifier: GPL-3.0-or-later
# `make bench`: the benchmarks of issue 5 (bench/README.md). Never part of
# `make check`. Each bench/NAME.c is one program, built into $(B)/bench/NAME
# with the project library; bench/run.sh builds the namespaces and runs them.

BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(B)/bench/%)

.PHONY: bench bench-run bench-progs

bench:
	./tools/deps.sh ensure
	$(MAKE) bench-run

bench-progs: all $(BENCH_BINS) $(B)/tests/nfttool $(B)/tests/spoofflood $(B)/tests/spoofsend

bench-run: bench-progs
	./bench/run.sh $(B)

$(call obj,$(BENCH_SRCS)): bench/bench.h

# static pattern: applies to the bench programs only
$(BENCH_BINS): $(B)/bench/%: $(B)/bench/%.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(PCAP_LIBS) -lz -lpthread
