/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the one walk over a session's pinholes (mh_pinhole_next,
 * mh_for_each_pinhole in lib/session.c): open records only, in slot order,
 * a record cleared during the walk does not stop it, and count and find
 * agree with it.
 */
#include <check.h>

#include "check_main.h"
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "session.h"

static const uint8_t key[SSP_KEY_LEN] = "0123456789abcdef";

static struct mh_addr client(uint16_t port)
{
	struct mh_addr a = { .family = AF_INET, .ip = { 198, 18, 3, 10 }, .port = port };

	return a;
}

START_TEST(test_walk)
{
	struct mh_table *t = malloc(sizeof(*t));
	struct mh_session *s;
	struct mh_pinhole_rec *r;
	struct mh_addr ev, a;
	uint16_t seen[8];
	unsigned n = 0;

	mh_table_init(t);
	s = mh_session_add(t, 60001, key, 1000, 4242, 1, 4);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(mh_pinhole_next(s, NULL));   /* none open yet */
	for (uint16_t p = 41000; p < 41004; p++) {
		a = client(p);
		ck_assert(!mh_pinhole_record(s, &a, 10 + p, &ev));
	}
	a = client(41001);
	ck_assert(mh_pinhole_forget(s, &a));           /* a hole in slot 1 */
	mh_for_each_pinhole(s, r) {
		seen[n++] = r->client.port;
		if (r->client.port == 41002)
			memset(r, 0, sizeof(*r));       /* cleared while walked */
	}
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(seen[0], 41000);
	ck_assert_uint_eq(seen[1], 41002);
	ck_assert_uint_eq(seen[2], 41003);
	ck_assert_uint_eq(mh_pinhole_count(s), 2);
	a = client(41003);
	ck_assert_ptr_eq(mh_pinhole_find(s, &a), &s->ph[3]);
	ck_assert_ptr_null(mh_pinhole_next(s, &s->ph[3]));
	mh_table_clear(t);
	free(t);
}
END_TEST

static Suite *walk_suite(void)
{
	Suite *s = suite_create("pinhole_walk");
	TCase *tc = tcase_create("walk");

	tcase_add_test(tc, test_walk);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(walk_suite());
}
