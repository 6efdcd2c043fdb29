/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/portlist.c: the kernel's reserved-ports list parsed
 * (what the kernel prints, and text it never prints refused), merged with
 * the mosh range and printed back as the kernel prints it; the ephemeral
 * range pair; counting and the first unreserved run of a range.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "portlist.h"

static struct mh_portset s;
static char out[MH_PORTSET_TEXT_MAX];

static int parse(const char *t)
{
	return mh_portset_parse(&s, t, strlen(t));
}

/* parse, then format: the text without its newline */
static const char *round_trip(const char *t)
{
	ck_assert_int_eq(parse(t), 0);
	ck_assert_int_ge(mh_portset_format(&s, out, sizeof(out)), 0);
	return out;
}

START_TEST(kernel_text)
{
	ck_assert_str_eq(round_trip("\n"), "");
	ck_assert_str_eq(round_trip(""), "");
	ck_assert_str_eq(round_trip("8080\n"), "8080");
	ck_assert_str_eq(round_trip("5,7-8,60000-61000\n"), "5,7-8,60000-61000");
	ck_assert_str_eq(round_trip("0,65535"), "0,65535");
	ck_assert_str_eq(round_trip("0-65535\n"), "0-65535");
	/* not the kernel's own form, but the same set: printed canonically */
	ck_assert_str_eq(round_trip("9,8,7,7-7,1-3,2-4"), "1-4,7-9");
	ck_assert_int_eq(mh_portset_count(&s, 0, 65535), 7);
}
END_TEST

START_TEST(refused_text)
{
	static const char *bad[] = {
		",", "1,", ",1", "1,,2", "1-", "-1", "1--2", "2-1", "65536",
		"123456", "000001", " 1", "1 ", "1\n\n", "1,\n", "+1", "1-2-3",
		"a", "1;2", "1\t2", "\n1", "1-65536",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i]) == -EINVAL, "accepted \"%s\"", bad[i]);
	/* a NUL inside the given length is junk, not the end */
	ck_assert_int_eq(mh_portset_parse(&s, "1\0002", 3), -EINVAL);
	/* text need not be NUL-terminated: only len counts */
	ck_assert_int_eq(mh_portset_parse(&s, "12345", 2), 0);
	ck_assert(mh_portset_has(&s, 12));
	ck_assert_int_eq(mh_portset_count(&s, 0, 65535), 1);
}
END_TEST

START_TEST(merge_with_range)
{
	ck_assert_int_eq(parse("22,59990-60010,61000-61005\n"), 0);
	ck_assert_int_eq(mh_portset_count(&s, 60000, 61000), 12);
	mh_portset_add(&s, 60000, 61000);
	ck_assert_int_eq(mh_portset_format(&s, out, sizeof(out)), 14);
	ck_assert_str_eq(out, "22,59990-61005");
	ck_assert_int_eq(mh_portset_count(&s, 60000, 61000), 1001);
}
END_TEST

START_TEST(first_gap)
{
	uint16_t lo = 0, hi = 0;

	ck_assert_int_eq(parse("60000-60099,60200-61000"), 0);
	ck_assert(mh_portset_first_gap(&s, 60000, 61000, &lo, &hi));
	ck_assert_uint_eq(lo, 60100);
	ck_assert_uint_eq(hi, 60199);
	ck_assert(!mh_portset_first_gap(&s, 60200, 61000, &lo, &hi));
	ck_assert(mh_portset_first_gap(&s, 59000, 61000, &lo, &hi));
	ck_assert_uint_eq(lo, 59000);
	ck_assert_uint_eq(hi, 59999);
	ck_assert_int_eq(parse(""), 0);
	ck_assert(mh_portset_first_gap(&s, 65535, 65535, &lo, &hi));
	ck_assert_uint_eq(lo, 65535);
	ck_assert_uint_eq(hi, 65535);
	mh_portset_add(&s, 0, 65535);
	ck_assert(!mh_portset_first_gap(&s, 0, 65535, &lo, &hi));
}
END_TEST

START_TEST(format_limits)
{
	char small[8];
	int n;

	mh_portset_clear(&s);
	for (uint32_t p = 0; p <= 65535; p += 2)
		mh_portset_add(&s, (uint16_t)p, (uint16_t)p);
	n = mh_portset_format(&s, out, sizeof(out));
	ck_assert_int_gt(n, 0);
	ck_assert_uint_lt((size_t)n, sizeof(out));
	ck_assert_uint_eq(strlen(out), (size_t)n);
	ck_assert_int_eq(mh_portset_format(&s, small, sizeof(small)), -ENOSPC);
	ck_assert_int_eq(mh_portset_format(&s, small, 0), -ENOSPC);
	ck_assert_int_eq(parse("1-5"), 0);
	ck_assert_int_eq(mh_portset_format(&s, small, 3), -ENOSPC);
	ck_assert_int_eq(mh_portset_format(&s, small, 4), 3);      /* "1-5" + NUL */
	ck_assert_str_eq(small, "1-5");
}
END_TEST

START_TEST(port_range)
{
	uint16_t lo = 0, hi = 0;
	static const char *bad[] = {
		"", "\n", "32768", "32768\t", "32768 60999 1", "60999\t32768",
		"32768-60999", "-1\t5", "1\t65536", "1\t2\n\n", "1\t2x",
	};

	ck_assert_int_eq(mh_port_range_parse("32768\t60999\n", 12, &lo, &hi), 0);
	ck_assert_uint_eq(lo, 32768);
	ck_assert_uint_eq(hi, 60999);
	ck_assert_int_eq(mh_port_range_parse("1024  1024", 10, &lo, &hi), 0);
	ck_assert_uint_eq(lo, 1024);
	ck_assert_uint_eq(hi, 1024);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(mh_port_range_parse(bad[i], strlen(bad[i]), &lo, &hi) == -EINVAL,
			      "accepted \"%s\"", bad[i]);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("portlist");
	TCase *tc = tcase_create("portlist");

	tcase_add_test(tc, kernel_text);
	tcase_add_test(tc, refused_text);
	tcase_add_test(tc, merge_with_range);
	tcase_add_test(tc, first_gap);
	tcase_add_test(tc, format_limits);
	tcase_add_test(tc, port_range);
	suite_add_tcase(su, tc);
	return mh_check_run(su);
}
