/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/gwstatus.c: the gateway's relay links as
 * mosh-helperctl status shows them. A relay identity (its certificate
 * subject) keeps one entry across reconnections; down and heartbeats find
 * it by connection; a full table makes room by the link down the longest
 * and never by one that is up.
 */
#include <check.h>

#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwstatus.h"

static unsigned count(const struct mh_gws *g)
{
	unsigned n = 0, i = 0;

	while (mh_gws_at(g, i, &i))
		n++;
	return n;
}

static const struct mh_gws_entry *find(const struct mh_gws *g, const char *subject)
{
	const struct mh_gws_entry *e;
	unsigned i = 0;

	while ((e = mh_gws_at(g, i, &i)))
		if (!strcmp(e->subject, subject))
			return e;
	return NULL;
}

START_TEST(test_up_down_up)
{
	static struct mh_gws g;
	const struct mh_gws_entry *e;

	memset(&g, 0, sizeof(g));
	mh_gws_up(&g, 7, "/CN=login1", "login1", 1000);
	mh_gws_beat(&g, 7, 1500);
	mh_gws_beat(&g, 8, 1600);          /* not a connection we know */
	e = find(&g, "/CN=login1");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->conn, 7);
	ck_assert_uint_eq(e->since_ms, 1000);
	ck_assert_uint_eq(e->beat_ms, 1500);
	mh_gws_down(&g, 7, 2000);
	ck_assert_uint_eq(e->conn, 0);
	ck_assert_uint_eq(e->since_ms, 2000);
	ck_assert_uint_eq(e->beat_ms, 1500);  /* the last one heard stays */
	mh_gws_down(&g, 7, 3000);            /* already down: nothing */
	ck_assert_uint_eq(e->since_ms, 2000);
	mh_gws_up(&g, 9, "/CN=login1", "login1b", 4000);   /* the same identity */
	ck_assert_uint_eq(count(&g), 1);
	ck_assert_uint_eq(e->conn, 9);
	ck_assert_uint_eq(e->beat_ms, 0);
	ck_assert_str_eq(e->name, "login1b");
}
END_TEST

START_TEST(test_full_table)
{
	struct mh_gws *g = calloc(1, sizeof(*g));
	char subj[32];

	ck_assert_ptr_nonnull(g);
	for (unsigned i = 0; i < MH_GWS_MAX; i++) {
		snprintf(subj, sizeof(subj), "/CN=r%u", i);
		mh_gws_up(g, i + 1, subj, "", 100 + i);
	}
	ck_assert_uint_eq(count(g), MH_GWS_MAX);
	mh_gws_up(g, 1000, "/CN=new", "", 5000);      /* every one up: not taken */
	ck_assert_ptr_null(find(g, "/CN=new"));
	mh_gws_down(g, 5, 6000);
	mh_gws_down(g, 3, 6100);
	mh_gws_up(g, 1001, "/CN=new", "", 7000);      /* takes r4's slot (down first) */
	ck_assert_ptr_nonnull(find(g, "/CN=new"));
	ck_assert_ptr_null(find(g, "/CN=r4"));
	ck_assert_ptr_nonnull(find(g, "/CN=r2"));
	ck_assert_uint_eq(count(g), MH_GWS_MAX);
	free(g);
}
END_TEST

START_TEST(test_long_and_empty_subjects)
{
	static struct mh_gws g;
	char big[400];

	memset(&g, 0, sizeof(g));
	memset(big, 'S', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mh_gws_up(&g, 1, big, NULL, 1);
	mh_gws_up(&g, 2, "", "x", 2);
	mh_gws_up(&g, 3, NULL, "y", 3);     /* "?" again: the same entry */
	ck_assert_uint_eq(count(&g), 2);
	ck_assert_uint_eq(strlen(find(&g, "?") ? find(&g, "?")->subject : ""), 1);
	ck_assert_uint_eq(find(&g, "?")->conn, 3);
	ck_assert_uint_eq(strlen(mh_gws_at(&g, 0, &(unsigned){ 0 })->subject),
			  MHC_PEER_SUBJ_MAX);
}
END_TEST

static Suite *gwstatus_suite(void)
{
	Suite *s = suite_create("gwstatus");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_up_down_up);
	tcase_add_test(tc, test_full_table);
	tcase_add_test(tc, test_long_and_empty_subjects);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(gwstatus_suite());
}
