/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/muxprefer.c: a session whose SSH login came from host
 * X displaces the mappings other sessions hold for clients on X, keeps
 * those of sessions whose login came from X too and those of other hosts,
 * displaces nothing without a login address, and reports more than fit.
 */
#include <check.h>

#include "check_main.h"
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "muxprefer.h"

static const uint8_t key[SSP_KEY_LEN] = "0123456789abcdef";
static struct mh_table *t;

static void setup(void)
{
	t = malloc(sizeof(*t));
	mh_table_init(t);
}

static void teardown(void)
{
	mh_table_clear(t);
	free(t);
}

static struct mh_session *session(uint16_t port, const char *ssh)
{
	struct mh_session *s = mh_session_add(t, port, key, 1000 + port % 10,
					      port, 1, 4);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(mh_session_set_ssh_client(t, s, ssh), 0);
	return s;
}

static struct mh_addr addr(const char *ip, uint16_t port)
{
	struct mh_addr a;

	memset(&a, 0, sizeof(a));
	a.family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	ck_assert_int_eq(inet_pton(a.family, ip, a.ip), 1);
	a.port = port;
	return a;
}

static void map(struct mh_session *s, const char *ip, uint16_t port)
{
	struct mh_addr a = addr(ip, port), ev;

	mh_pinhole_record(s, &a, 1000, &ev);
}

START_TEST(test_displaces_other_sessions_on_that_host)
{
	struct mh_session *squat = session(60001, "198.18.7.7");
	struct mh_session *roamer = session(60002, "fd00:7::7");
	struct mh_session *same = session(60003, "198.18.3.10");
	struct mh_session *pref;
	struct mh_displaced x[8];
	struct mh_addr want1 = addr("198.18.3.10", 41000), want2 = addr("198.18.3.10", 41001);
	unsigned n;

	map(squat, "198.18.3.10", 41000);   /* the preferred host: displaced */
	map(squat, "198.18.7.7", 41000);    /* its own host: kept */
	map(roamer, "198.18.3.10", 41001);  /* roamed onto the host: displaced */
	map(same, "198.18.3.10", 41002);    /* logged in from that host too: kept */
	pref = session(60004, "198.18.3.10");
	map(pref, "198.18.3.10", 41003);    /* its own: kept */
	n = mh_mux_displaced(t, pref, x, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert(x[0].s == squat || x[1].s == squat);
	ck_assert(x[0].s == roamer || x[1].s == roamer);
	for (unsigned i = 0; i < n; i++)
		ck_assert(mh_addr_equal(&x[i].client, x[i].s == squat ? &want1 : &want2));
}
END_TEST

START_TEST(test_no_login_address_no_preference)
{
	struct mh_session *other = session(60001, "198.18.7.7");
	struct mh_session *pref = session(60002, "");
	struct mh_displaced x[4];

	map(other, "198.18.3.10", 41000);
	ck_assert_uint_eq(mh_mux_displaced(t, pref, x, 4), 0);
}
END_TEST

START_TEST(test_ipv6_and_more_than_fit)
{
	struct mh_session *a = session(60001, "198.18.7.7");
	struct mh_session *b = session(60002, "198.18.7.8");
	struct mh_session *pref;
	struct mh_displaced x[2];

	map(a, "fd00:3::10", 41000);
	map(a, "fd00:3::10", 41001);
	map(b, "fd00:3::10", 41002);
	map(b, "fd00:3::11", 41003);        /* another host of the same net */
	pref = session(60003, "fd00:3::10");
	ck_assert_uint_eq(mh_mux_displaced(t, pref, x, 2), 3);
	/* the caller forgets those and asks again: the third one comes */
	struct mh_displaced first[2] = { x[0], x[1] };
	struct mh_addr host = addr("fd00:3::10", 0);

	ck_assert(mh_pinhole_forget(x[0].s, &x[0].client));
	ck_assert(mh_pinhole_forget(x[1].s, &x[1].client));
	ck_assert_uint_eq(mh_mux_displaced(t, pref, x, 2), 1);
	ck_assert(mh_addr_equal_host(&x[0].client, &host));
	ck_assert(!mh_addr_equal(&x[0].client, &first[0].client) &&
		  !mh_addr_equal(&x[0].client, &first[1].client));
	ck_assert(x[0].s == a || x[0].s == b);
}
END_TEST

/* Displacement is rate-limited per uid (the SSH login address is the
 * announcer's claim): once per MH_PREFER_EVERY_MS, other uids apart, the
 * least recent uid forgotten when more than MH_PREFER_UIDS announce. */
START_TEST(test_prefer_limit)
{
	static struct mh_prefer_limit l;
	const uint64_t t0 = 100000;

	memset(&l, 0, sizeof(l));
	ck_assert(mh_prefer_allow(&l, 1003, t0));
	for (uint64_t t = t0; t < t0 + MH_PREFER_EVERY_MS; t += 7)
		ck_assert(!mh_prefer_allow(&l, 1003, t));   /* the attacker's loop */
	ck_assert(mh_prefer_allow(&l, 1001, t0 + 1));       /* another uid */
	ck_assert(mh_prefer_allow(&l, 1003, t0 + MH_PREFER_EVERY_MS));
	ck_assert(!mh_prefer_allow(&l, 1003, t0 + MH_PREFER_EVERY_MS + 1));
	/* a full table: every uid remembered; one more forgets the least
	 * recent (the bound's price: that uid may displace again at once) */
	memset(&l, 0, sizeof(l));
	ck_assert(mh_prefer_allow(&l, 1003, t0));
	ck_assert(mh_prefer_allow(&l, 1001, t0 + 1));
	for (uid_t u = 2000; u < 2000 + MH_PREFER_UIDS - 2; u++)
		ck_assert(mh_prefer_allow(&l, u, t0 + 10));
	ck_assert(!mh_prefer_allow(&l, 1001, t0 + 20));
	ck_assert(!mh_prefer_allow(&l, 1003, t0 + 20));
	ck_assert(mh_prefer_allow(&l, 5000, t0 + 30));   /* 1003 forgotten */
	ck_assert(!mh_prefer_allow(&l, 1001, t0 + 35));
	ck_assert(mh_prefer_allow(&l, 1003, t0 + 40));
}
END_TEST

static Suite *muxprefer_suite(void)
{
	Suite *s = suite_create("muxprefer");
	TCase *tc = tcase_create("displaced");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_displaces_other_sessions_on_that_host);
	tcase_add_test(tc, test_no_login_address_no_preference);
	tcase_add_test(tc, test_ipv6_and_more_than_fit);
	tcase_add_test(tc, test_prefer_limit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(muxprefer_suite());
}
