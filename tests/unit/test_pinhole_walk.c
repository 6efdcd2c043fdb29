/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the one walk over a session's pinholes (mh_pinhole_next,
 * mh_for_each_pinhole in lib/session.c): open records only, in slot order,
 * a record cleared during the walk does not stop it, and count and find
 * agree with it. And the eviction's copy of the oldest record (the slot's
 * new record knowing nothing of a read-back), and whether
 * an evicted record's kernel element is sure to be there still
 * (mh_pinhole_in_kernel: what decides an expiry in place over a delete),
 * and the read-back's re-arm (mh_pinhole_rearm_left) and its judgement
 * of a record it did not list (mh_pinhole_gone).
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

/* The oldest record goes, whole (with its read-back expiry); the new one
 * in its slot starts without one. */
START_TEST(test_evicted_copy)
{
	struct mh_table *t = malloc(sizeof(*t));
	struct mh_session *s;
	struct mh_pinhole_rec old;
	struct mh_addr a;

	mh_table_init(t);
	s = mh_session_add(t, 60001, key, 1000, 4242, 1, 2);
	ck_assert_ptr_nonnull(s);
	a = client(41000);
	ck_assert(!mh_pinhole_record_ex(s, &a, 100, &old));
	s->ph[0].alive_until_ms = 70000;
	s->ph[0].seen_gen = 7;   /* listed by read-back 7, missed by one since */
	s->ph[0].missed = 1;
	a = client(41001);
	ck_assert(!mh_pinhole_record_ex(s, &a, 200, &old));
	a = client(41002);
	ck_assert(mh_pinhole_record_ex(s, &a, 300, &old));
	ck_assert_uint_eq(old.client.port, 41000);
	ck_assert_uint_eq(old.added_ms, 100);
	ck_assert_uint_eq(old.alive_until_ms, 70000);
	ck_assert_uint_eq(s->ph[0].client.port, 41002);
	ck_assert_uint_eq(s->ph[0].alive_until_ms, 0);
	/* the new pinhole in the slot inherits nothing the read-back knew */
	ck_assert_uint_eq(s->ph[0].seen_gen, 0);
	ck_assert_uint_eq(s->ph[0].missed, 0);
	mh_table_clear(t);
	free(t);
}
END_TEST

START_TEST(test_in_kernel)
{
	struct mh_pinhole_rec r = { .added_ms = 1000 };

	/* added at 1 s with a 30 s timeout: there until 31 s at least */
	ck_assert(mh_pinhole_in_kernel(&r, 30000, 30999));
	ck_assert(!mh_pinhole_in_kernel(&r, 30000, 31000));
	ck_assert(!mh_pinhole_in_kernel(&r, 30000, 90000));
	/* a read-back at 60 s listed it with 20 s left: there until 80 s */
	r.alive_until_ms = 80000;
	ck_assert(mh_pinhole_in_kernel(&r, 30000, 79999));
	ck_assert(!mh_pinhole_in_kernel(&r, 30000, 80000));
	/* an older read-back never shortens what the add gives */
	r.alive_until_ms = 5000;
	ck_assert(mh_pinhole_in_kernel(&r, 30000, 30000));
	/* a record dated from an element's remaining time (an adopted one)
	 * is in the kernel exactly as long as the element */
	r.added_ms = mh_pinhole_added_at(50000, 30000, 5000);
	r.alive_until_ms = 0;
	ck_assert_uint_eq(r.added_ms, 25000);
	ck_assert(mh_pinhole_in_kernel(&r, 30000, 54999));
	ck_assert(!mh_pinhole_in_kernel(&r, 30000, 55000));
	/* more left than the idle timeout counts as a fresh add; a clock
	 * younger than the age never gives 0 (a free slot) */
	ck_assert_uint_eq(mh_pinhole_added_at(50000, 30000, 90000), 50000);
	ck_assert_uint_eq(mh_pinhole_added_at(1000, 30000, 0), 1);
	/* a free slot is in no kernel */
	r.added_ms = 0;
	r.alive_until_ms = 0;
	ck_assert(!mh_pinhole_in_kernel(&r, 30000, 1));
}
END_TEST

/* The read-back's re-arm (mh_pinhole_rearm_left): the time left that
 * makes the pinhole expire the idle timeout after its last inbound
 * datagram, only when that is later than the element already lasts. */
START_TEST(test_rearm_left)
{
	struct mh_pinhole_rec r = { .added_ms = 1000 };

	/* listed at 10 s with 20 s left (until 30 s); a datagram 1 s ago:
	 * idle 30 s from then is 39 s, so 29 s left */
	r.alive_until_ms = 30000;
	ck_assert_uint_eq(mh_pinhole_rearm_left(&r, 10000, 30000, 1000), 29000);
	ck_assert_uint_eq(r.alive_until_ms, 30000);   /* the caller's, once in */
	r.alive_until_ms = 39000;
	/* the next read-back, no new datagram (the same one, 3 s ago): the
	 * element already lasts that long, nothing to do */
	ck_assert_uint_eq(mh_pinhole_rearm_left(&r, 12000, 30000, 3000), 0);
	/* nor within the slack (the kernel's expiry has jiffy steps) */
	ck_assert_uint_eq(mh_pinhole_rearm_left(&r, 12000, 30000,
						3000 - MH_REARM_SLACK_MS), 0);
	ck_assert_uint_eq(mh_pinhole_rearm_left(&r, 12000, 30000,
						3000 - MH_REARM_SLACK_MS - 1),
			  27000 + MH_REARM_SLACK_MS + 1);
	/* a datagram since */
	ck_assert_uint_eq(mh_pinhole_rearm_left(&r, 14000, 30000, 100), 29900);
	/* a last datagram an idle timeout ago or more: over, no re-arm */
	ck_assert_uint_eq(mh_pinhole_rearm_left(&r, 90000, 30000, 30000), 0);
	ck_assert_uint_eq(mh_pinhole_rearm_left(&r, 90000, 30000, 45000), 0);
}
END_TEST

/* The read-back's judgement of a record it did not list (mh_pinhole_gone):
 * a record listed, young or with a known expiry ahead stays; after a
 * listing disturbed by adds or deletes it takes two misses in a row. */
START_TEST(test_gone)
{
	struct mh_pinhole_rec r = { .added_ms = 1000 };
	const uint64_t from = 20000;

	/* listed by this read-back (gen 7) */
	r.seen_gen = 7;
	ck_assert(!mh_pinhole_gone(&r, 7, from, false));
	r.seen_gen = 6;
	/* not listed, old, no known expiry: gone */
	ck_assert(mh_pinhole_gone(&r, 7, from, false));
	/* added within the grace before the listing started: it stays */
	r.added_ms = from - MH_READBACK_GRACE_MS + 1;
	ck_assert(!mh_pinhole_gone(&r, 7, from, false));
	r.added_ms = from - MH_READBACK_GRACE_MS;
	ck_assert(mh_pinhole_gone(&r, 7, from, false));
	/* an earlier read-back saw it expire after this one started */
	r.alive_until_ms = from + 1;
	ck_assert(!mh_pinhole_gone(&r, 7, from, false));
	r.alive_until_ms = from;
	ck_assert(mh_pinhole_gone(&r, 7, from, false));
	ck_assert_uint_eq(r.missed, 0);
	/* a disturbed listing: the first miss marks it, the next decides,
	 * disturbed or not */
	ck_assert(!mh_pinhole_gone(&r, 7, from, true));
	ck_assert_uint_eq(r.missed, 1);
	ck_assert(mh_pinhole_gone(&r, 8, from + 5000, true));
	r.missed = 0;
	ck_assert(!mh_pinhole_gone(&r, 7, from, true));
	ck_assert(mh_pinhole_gone(&r, 8, from + 5000, false));
	/* a record listed meanwhile (the listing clears the mark) starts over */
	r.missed = 0;
	ck_assert(!mh_pinhole_gone(&r, 9, from + 10000, true));
	r.seen_gen = 10;
	r.missed = 0;      /* what the listing of read-back 10 does */
	ck_assert(!mh_pinhole_gone(&r, 10, from + 15000, true));
	ck_assert(!mh_pinhole_gone(&r, 11, from + 20000, true));
	ck_assert_uint_eq(r.missed, 1);
}
END_TEST

static Suite *walk_suite(void)
{
	Suite *s = suite_create("pinhole_walk");
	TCase *tc = tcase_create("walk");

	tcase_add_test(tc, test_walk);
	tcase_add_test(tc, test_evicted_copy);
	tcase_add_test(tc, test_in_kernel);
	tcase_add_test(tc, test_rearm_left);
	tcase_add_test(tc, test_gone);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(walk_suite());
}
