/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/stray.c: a kernel pinhole element belongs to the
 * record its session holds for that client address and port, and is a
 * stray (removed by the periodic read-back) when its port has no session, when
 * the session does not record that client, port or family, or when the
 * record went (a delete that failed in the kernel).
 */
#include <check.h>

#include "check_main.h"
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "stray.h"

static const uint8_t key[SSP_KEY_LEN] = "0123456789abcdef";

static struct mh_pinhole elem(int family, const char *ip, uint16_t cport,
			      uint16_t sport)
{
	struct mh_pinhole ph;

	memset(&ph, 0, sizeof(ph));
	ph.family = family;
	ck_assert_int_eq(inet_pton(family, ip, ph.addr), 1);
	ph.client_port = cport;
	ph.server_port = sport;
	return ph;
}

static void record(struct mh_session *s, const struct mh_pinhole *ph)
{
	struct mh_addr a, ev;

	mh_elem_client(ph, &a);
	mh_pinhole_record(s, &a, 1000, &ev);
}

START_TEST(test_stray_selection)
{
	struct mh_table *t = malloc(sizeof(*t));
	struct mh_session *s;
	struct mh_pinhole ok4 = elem(AF_INET, "198.18.3.10", 41000, 60001);
	struct mh_pinhole ok6 = elem(AF_INET6, "fd00:3::10", 41000, 60001);
	struct mh_pinhole other_port = elem(AF_INET, "198.18.3.10", 41001, 60001);
	struct mh_pinhole other_addr = elem(AF_INET, "198.18.3.11", 41000, 60001);
	struct mh_pinhole no_session = elem(AF_INET, "198.18.3.10", 41000, 60002);
	struct mh_pinhole v4_as_v6 = elem(AF_INET6, "::ffff:198.18.3.10", 41000, 60001);
	struct mh_pinhole bad_family = ok4;

	mh_table_init(t);
	s = mh_session_add(t, 60001, key, 1000, 4242, 1, 4);
	ck_assert_ptr_nonnull(s);
	record(s, &ok4);
	record(s, &ok6);
	ck_assert_ptr_nonnull(mh_elem_record(t, &ok4));
	ck_assert_ptr_nonnull(mh_elem_record(t, &ok6));
	ck_assert_ptr_null(mh_elem_record(t, &other_port));
	ck_assert_ptr_null(mh_elem_record(t, &other_addr));
	ck_assert_ptr_null(mh_elem_record(t, &no_session));
	ck_assert_ptr_null(mh_elem_record(t, &v4_as_v6));
	bad_family.family = AF_UNIX;
	ck_assert_ptr_null(mh_elem_record(t, &bad_family));
	/* the record goes (a delete the kernel refused): the element is a stray */
	{
		struct mh_addr a;

		mh_elem_client(&ok4, &a);
		ck_assert(mh_pinhole_forget(s, &a));
	}
	ck_assert_ptr_null(mh_elem_record(t, &ok4));
	ck_assert_ptr_nonnull(mh_elem_record(t, &ok6));
	/* the session ends; a new one takes the port: it inherits no record */
	mh_session_remove(t, s);
	s = mh_session_add(t, 60001, key, 1001, 4343, 2, 4);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(mh_elem_record(t, &ok6));
	mh_table_clear(t);
	free(t);
}
END_TEST

START_TEST(test_elem_client)
{
	struct mh_pinhole ph = elem(AF_INET6, "fd00:3::10", 41234, 60001);
	struct mh_addr a;
	char buf[MH_ADDRSTRLEN];

	memset(&a, 0x5a, sizeof(a));
	mh_elem_client(&ph, &a);
	ck_assert_int_eq(a.family, AF_INET6);
	ck_assert_uint_eq(a.port, 41234);
	ck_assert_str_eq(mh_addr_str(&a, buf, sizeof(buf)), "[fd00:3::10]:41234");
	ph = elem(AF_INET, "198.18.3.10", 41000, 60001);
	mh_elem_client(&ph, &a);
	ck_assert_str_eq(mh_addr_str(&a, buf, sizeof(buf)), "198.18.3.10:41000");
	for (unsigned i = 4; i < 16; i++)
		ck_assert_uint_eq(a.ip[i], 0);   /* nothing left of an earlier value */
}
END_TEST

static Suite *stray_suite(void)
{
	Suite *s = suite_create("stray");
	TCase *tc = tcase_create("selection");

	tcase_add_test(tc, test_stray_selection);
	tcase_add_test(tc, test_elem_client);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(stray_suite());
}
