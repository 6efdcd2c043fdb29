/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for lib/portlist.c, the parser of the kernel's port
 * sysctls. The input is the text of net.ipv4.ip_local_reserved_ports (and,
 * separately, of ip_local_port_range). An accepted list must print as the
 * kernel prints (digits, commas, dashes, ascending runs), parse back to the
 * same set and print identically again; merging a range into it must cover
 * that range and keep every port it had. An accepted range pair must have
 * lo <= hi and read back the same from its own printing.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "portlist.h"

static struct mh_portset a, b;
static char t1[MH_PORTSET_TEXT_MAX], t2[MH_PORTSET_TEXT_MAX];

static void check_printed(const char *t, int n)
{
	long prev = -1;

	FUZZ_ASSERT(n >= 0 && (size_t)n < sizeof(t1), "format: %d", n);
	FUZZ_ASSERT(strlen(t) == (size_t)n, "length %zu != %d", strlen(t), n);
	for (const char *p = t; *p;) {
		char *end;
		long lo = strtol(p, &end, 10), hi = lo;
		bool dash = *end == '-';

		FUZZ_ASSERT(end != p && *p >= '0' && *p <= '9', "not a port: %s", t);
		if (dash)
			hi = strtol(end + 1, &end, 10);
		FUZZ_ASSERT(prev < 0 || lo > prev + 1, "runs not joined/ascending: %s", t);
		FUZZ_ASSERT(dash ? hi > lo : hi == lo, "bad run in %s", t);
		FUZZ_ASSERT(hi <= 65535, "port above 65535 in %s", t);
		FUZZ_ASSERT(*end == ',' || *end == 0, "junk in %s", t);
		prev = hi;
		p = *end ? end + 1 : end;
	}
}

static void check_list(const uint8_t *data, size_t size)
{
	int n;
	uint16_t lo, hi, glo, ghi;

	if (mh_portset_parse(&a, (const char *)data, size))
		return;
	n = mh_portset_format(&a, t1, sizeof(t1));
	check_printed(t1, n);
	FUZZ_ASSERT(mh_portset_parse(&b, t1, (size_t)n) == 0, "own output refused: %s", t1);
	FUZZ_ASSERT(!memcmp(&a, &b, sizeof(a)), "round trip changed the set: %s", t1);
	FUZZ_ASSERT(mh_portset_format(&b, t2, sizeof(t2)) == n && !strcmp(t1, t2),
		    "printed differently: %s / %s", t1, t2);
	/* merge a range taken from the input's first bytes */
	lo = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 60000;
	hi = size >= 4 ? (uint16_t)(data[2] << 8 | data[3]) : 61000;
	if (lo > hi) {
		uint16_t t = lo; lo = hi; hi = t;
	}
	b = a;
	mh_portset_add(&b, lo, hi);
	FUZZ_ASSERT(mh_portset_count(&b, lo, hi) == (unsigned)(hi - lo + 1), "merge short");
	FUZZ_ASSERT(!mh_portset_first_gap(&b, lo, hi, &glo, &ghi), "gap after merge");
	for (size_t i = 0; i < sizeof(a.bits); i++)
		FUZZ_ASSERT((a.bits[i] & b.bits[i]) == a.bits[i], "merge lost a port");
}

static void check_range(const uint8_t *data, size_t size)
{
	uint16_t lo, hi, lo2, hi2;
	char t[32];
	int n;

	if (mh_port_range_parse((const char *)data, size, &lo, &hi))
		return;
	FUZZ_ASSERT(lo <= hi, "range %u > %u", lo, hi);
	n = snprintf(t, sizeof(t), "%u\t%u\n", lo, hi);
	FUZZ_ASSERT(mh_port_range_parse(t, (size_t)n, &lo2, &hi2) == 0 &&
		    lo2 == lo && hi2 == hi, "range does not read back");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_list(data, size);
	check_range(data, size);
	return 0;
}
