/*
 * Unit tests for the per-uid log budgets of lib/log.c (mh_uidlimit): the
 * burst, the refill, one uid's flood leaving another's budget whole, every
 * held-back event counted and handed out once by the drain, the shared
 * bucket beyond MH_UIDLIMIT_SLOTS uids, and idle slots given back.
 */
#include <check.h>

#include "check_main.h"
#include <string.h>

#include "log.h"

struct seen {
	unsigned calls;
	uint32_t uid[MH_UIDLIMIT_SLOTS + 2];
	bool other[MH_UIDLIMIT_SLOTS + 2];
	uint64_t n[MH_UIDLIMIT_SLOTS + 2][MH_NOISY_KINDS];
};

static void collect(void *arg, uint32_t uid, bool other,
		    const uint64_t n[MH_NOISY_KINDS])
{
	struct seen *s = arg;

	ck_assert_uint_lt(s->calls, MH_UIDLIMIT_SLOTS + 2);
	s->uid[s->calls] = uid;
	s->other[s->calls] = other;
	memcpy(s->n[s->calls], n, sizeof(s->n[0]));
	s->calls++;
}

static unsigned allowed(struct mh_uidlimit *u, uint32_t uid, enum mh_noisy k,
			unsigned events, uint64_t now)
{
	unsigned i, ok = 0;

	for (i = 0; i < events; i++)
		ok += mh_uidlimit_ok(u, uid, k, now);
	return ok;
}

START_TEST(test_burst_then_rate)
{
	struct mh_uidlimit u;

	mh_uidlimit_init(&u, 1, 20);
	ck_assert_uint_eq(allowed(&u, 1001, MH_NOISY_CONTROL, 20000, 1000), 20);
	/* 10 s later: 10 more, not 20 */
	ck_assert_uint_eq(allowed(&u, 1001, MH_NOISY_CONTROL, 20000, 11000), 10);
}
END_TEST

START_TEST(test_uids_and_kinds_apart)
{
	struct mh_uidlimit u;

	mh_uidlimit_init(&u, 1, 20);
	ck_assert_uint_eq(allowed(&u, 1002, MH_NOISY_CONTROL, 50000, 5000), 20);
	/* another uid, and the same uid's other kind, keep their whole budget */
	ck_assert_uint_eq(allowed(&u, 1001, MH_NOISY_CONTROL, 20, 5000), 20);
	ck_assert_uint_eq(allowed(&u, 1002, MH_NOISY_PINHOLE, 20, 5000), 20);
}
END_TEST

START_TEST(test_drain_counts_once)
{
	struct mh_uidlimit u;
	struct seen s = { 0 };

	mh_uidlimit_init(&u, 1, 20);
	allowed(&u, 1002, MH_NOISY_CONTROL, 23476, 1000);
	allowed(&u, 1002, MH_NOISY_PINHOLE, 25, 1000);
	allowed(&u, 1001, MH_NOISY_CONTROL, 3, 1000);   /* within its budget */
	mh_uidlimit_drain(&u, 2000, collect, &s);
	ck_assert_uint_eq(s.calls, 1);
	ck_assert_uint_eq(s.uid[0], 1002);
	ck_assert(!s.other[0]);
	ck_assert_uint_eq(s.n[0][MH_NOISY_CONTROL], 23456);
	ck_assert_uint_eq(s.n[0][MH_NOISY_PINHOLE], 5);
	/* reported once: nothing new, nothing again */
	s.calls = 0;
	mh_uidlimit_drain(&u, 3000, collect, &s);
	ck_assert_uint_eq(s.calls, 0);
}
END_TEST

START_TEST(test_many_uids_share_one_bucket)
{
	struct mh_uidlimit u;
	struct seen s = { 0 };
	unsigned i, ok = 0;

	mh_uidlimit_init(&u, 1, 2);
	for (i = 0; i < MH_UIDLIMIT_SLOTS; i++)
		ck_assert_uint_eq(allowed(&u, 2000 + i, MH_NOISY_CONTROL, 2, 1000), 2);
	/* 100 more uids: together they get one budget, so the lines written
	 * stay bounded whatever the number of uids */
	for (i = 0; i < 100; i++)
		ok += allowed(&u, 5000 + i, MH_NOISY_CONTROL, 3, 1000);
	ck_assert_uint_eq(ok, 2);
	mh_uidlimit_drain(&u, 1000, collect, &s);
	ck_assert_uint_eq(s.calls, 1);
	ck_assert(s.other[0]);
	ck_assert_uint_eq(s.n[0][MH_NOISY_CONTROL], 298);
}
END_TEST

START_TEST(test_idle_slots_given_back)
{
	struct mh_uidlimit u;
	struct seen s = { 0 };
	unsigned i;

	mh_uidlimit_init(&u, 1, 2);
	for (i = 0; i < MH_UIDLIMIT_SLOTS; i++)
		allowed(&u, 2000 + i, MH_NOISY_CONTROL, 2, 1000);
	/* still spending (buckets empty): slots kept */
	mh_uidlimit_drain(&u, 1000, collect, &s);
	ck_assert_uint_eq(allowed(&u, 9999, MH_NOISY_CONTROL, 3, 1000), 2);
	/* refilled: the slots are free again, a newcomer gets its own */
	mh_uidlimit_drain(&u, 10000, collect, &s);
	ck_assert_uint_eq(allowed(&u, 7777, MH_NOISY_CONTROL, 3, 10000), 2);
	ck_assert_uint_eq(allowed(&u, 7778, MH_NOISY_CONTROL, 3, 10000), 2);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("uidlimit");

	tcase_add_test(tc, test_burst_then_rate);
	tcase_add_test(tc, test_uids_and_kinds_apart);
	tcase_add_test(tc, test_drain_counts_once);
	tcase_add_test(tc, test_many_uids_share_one_bucket);
	tcase_add_test(tc, test_idle_slots_given_back);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(log_suite());
}
