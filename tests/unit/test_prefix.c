/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/prefix.c: "ADDR/LEN" read (and refused when it is
 * not one), and addresses matched against a list of prefixes at the
 * edges of each: the last address inside, the first outside, lengths
 * that cut a byte, /0 and full length, IPv4 never matching IPv6; and
 * which addresses are loopback ones, and which datagrams from another
 * host a socket bound to an address can receive.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "check_main.h"
#include "prefix.h"

static struct mh_addr addr(const char *s)
{
	struct mh_addr a = { .family = strchr(s, ':') ? AF_INET6 : AF_INET };

	ck_assert_int_eq(inet_pton(a.family, s, a.ip), 1);
	return a;
}

static struct mh_prefix prefix(const char *s)
{
	struct mh_prefix p;
	const char *why = NULL;

	ck_assert_msg(mh_prefix_parse(s, &p, &why) == 0, "%s: %s", s, why);
	return p;
}

START_TEST(parsed)
{
	struct mh_prefix p = prefix("198.18.2.0/23");
	const uint8_t v4[4] = { 198, 18, 2, 0 };

	ck_assert_int_eq(p.family, AF_INET);
	ck_assert_uint_eq(p.len, 23);
	ck_assert_mem_eq(p.ip, v4, 4);
	p = prefix("fd00:2::/64");
	ck_assert_int_eq(p.family, AF_INET6);
	ck_assert_uint_eq(p.len, 64);
	ck_assert_uint_eq(prefix("0.0.0.0/0").len, 0);
	ck_assert_uint_eq(prefix("198.18.0.2/32").len, 32);
	ck_assert_uint_eq(prefix("fd00::2/128").len, 128);
}
END_TEST

START_TEST(refused)
{
	static const char *const bad[] = {
		"198.18.0.2", "198.18.0.0/", "/24", "198.18.0.0/33", "fd00::/129",
		"198.18.0.0/-1", "198.18.0.0/+8", "198.18.0.0/ 8", "198.18.0.0/8x",
		"198.18.0.5/24", "198.19.0.0/15", "fd00::1/64", "example.org/24",
		"198.18.0.0/24/1", "198.18.0.0/99999999999999999999", "",
	};
	struct mh_prefix p;
	const char *why;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		ck_assert_msg(mh_prefix_parse(bad[i], &p, &why) == -EINVAL,
			      "\"%s\" was read", bad[i]);
		ck_assert_ptr_nonnull(why);
	}
}
END_TEST

static bool in(const struct mh_prefix *p, unsigned n, const char *s)
{
	struct mh_addr a = addr(s);

	return mh_prefix_match(p, n, &a);
}

START_TEST(matched)
{
	struct mh_prefix p[3] = {
		prefix("198.18.2.0/23"), prefix("fd00:2::/63"), prefix("198.18.9.7/32"),
	};

	ck_assert(in(p, 3, "198.18.2.0"));
	ck_assert(in(p, 3, "198.18.3.255"));
	ck_assert(!in(p, 3, "198.18.4.0"));
	ck_assert(!in(p, 3, "198.18.1.255"));
	ck_assert(in(p, 3, "198.18.9.7"));
	ck_assert(!in(p, 3, "198.18.9.6"));
	ck_assert(in(p, 3, "fd00:2:0:1::5"));
	ck_assert(!in(p, 3, "fd00:2:0:2::5"));
	/* the same 32 bits as an IPv4 prefix are no IPv6 address */
	ck_assert(!in(p, 3, "c612:200::"));
	ck_assert(!in(p, 0, "198.18.2.1"));
	p[0] = prefix("0.0.0.0/0");
	ck_assert(in(p, 1, "203.0.113.9"));
	ck_assert(!in(p, 1, "fd00::1"));
}
END_TEST

static bool lo(const char *s)
{
	struct mh_addr a = addr(s);

	return mh_ip_loopback(a.family, a.ip);
}

START_TEST(loopback)
{
	ck_assert(lo("127.0.0.1"));
	ck_assert(lo("127.255.0.9"));
	ck_assert(lo("::1"));
	ck_assert(lo("::ffff:127.0.0.5"));
	ck_assert(!lo("128.0.0.1"));
	ck_assert(!lo("198.18.0.2"));
	ck_assert(!lo("::"));
	ck_assert(!lo("::2"));
	ck_assert(!lo("::ffff:198.18.0.2"));
	ck_assert(!lo("::127.0.0.1"));   /* IPv4-compatible, not mapped */
	ck_assert(!lo("fd00::1"));
	ck_assert(!mh_ip_loopback(AF_UNIX, (const uint8_t *)"\x7f\0\0\1"));
}
END_TEST

static unsigned reach(const char *s, bool v6only)
{
	struct mh_addr a = addr(s);

	return mh_ip_reach(a.family, a.ip, v6only);
}

START_TEST(reached)
{
	ck_assert_uint_eq(reach("198.18.0.2", false), MH_REACH_V4);
	ck_assert_uint_eq(reach("0.0.0.0", false), MH_REACH_V4);
	ck_assert_uint_eq(reach("127.0.0.2", false), MH_REACH_LO4);
	ck_assert_uint_eq(reach("::", false), MH_REACH_V4 | MH_REACH_V6);
	ck_assert_uint_eq(reach("::", true), MH_REACH_V6);
	ck_assert_uint_eq(reach("fd00::2", false), MH_REACH_V6);
	ck_assert_uint_eq(reach("fd00::2", true), MH_REACH_V6);
	ck_assert_uint_eq(reach("::ffff:198.18.0.2", false), MH_REACH_V4);
	ck_assert_uint_eq(reach("::ffff:127.0.0.1", false), MH_REACH_LO4);
	ck_assert_uint_eq(reach("::1", false), 0);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("prefix");
	TCase *tc = tcase_create("prefix");

	tcase_add_test(tc, parsed);
	tcase_add_test(tc, refused);
	tcase_add_test(tc, matched);
	tcase_add_test(tc, loopback);
	tcase_add_test(tc, reached);
	suite_add_tcase(su, tc);
	return mh_check_run(su);
}
