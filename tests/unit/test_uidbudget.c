/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/uidbudget.c, the per-uid budgets of the crowded-port
 * check: a request goes through while its uid holds a token and its cost
 * is charged after, into debt; the debt keeps that uid (and only that uid)
 * waiting until the refill has paid it; a uid is never charged for another
 * one's work, even with every slot taken (33 uids in debt, then 1,024: the
 * next uid still gets its check); a slot whose bucket is full again goes to
 * a new uid; a new rate keeps the debts.
 */
#include <check.h>
#include <math.h>

#include "check_main.h"
#include "uidbudget.h"

static struct mh_uidbudget b;

START_TEST(debt_then_refill)
{
	mh_uidbudget_init(&b, 100, 200);
	ck_assert(mh_uidbudget_may(&b, 1002, 1000));
	mh_uidbudget_charge(&b, 1002, 1500);
	ck_assert(fabs(mh_uidbudget_tokens(&b, 1002, 1000) + 1300) < 1e-9);
	ck_assert(!mh_uidbudget_may(&b, 1002, 1000));
	ck_assert(mh_uidbudget_may(&b, 1001, 1000));        /* another uid */
	ck_assert(!mh_uidbudget_may(&b, 1002, 14000));      /* 0 tokens */
	ck_assert(mh_uidbudget_may(&b, 1002, 14010));       /* 1 token */
	/* nothing charged, nothing taken: may alone costs nothing */
	ck_assert(mh_uidbudget_may(&b, 1002, 14010));
	mh_uidbudget_charge(&b, 1002, 0);
	mh_uidbudget_charge(&b, 1002, -5);
	ck_assert(fabs(mh_uidbudget_tokens(&b, 1002, 14010) - 1) < 1e-9);
}
END_TEST

/* n uids from base, each with one check of cost in debt at time now */
static void in_debt(uint32_t base, unsigned n, double cost, uint64_t now)
{
	for (unsigned i = 0; i < n; i++) {
		ck_assert(mh_uidbudget_may(&b, base + i, now));
		mh_uidbudget_charge(&b, base + i, cost);
	}
}

START_TEST(nobody_pays_for_others)
{
	mh_uidbudget_init(&b, 1, 2);
	in_debt(100000, 33, 1476, 1000);
	/* a 34th uid has a bucket of its own, full */
	ck_assert(mh_uidbudget_may(&b, 1001, 1000));
	mh_uidbudget_charge(&b, 1001, 1476);
	ck_assert(!mh_uidbudget_may(&b, 1001, 1000));
	ck_assert(mh_uidbudget_may(&b, 1002, 1000));
	/* every slot in debt: the next uid is served uncharged */
	mh_uidbudget_init(&b, 1, 2);
	in_debt(100000, MH_UIDBUDGET_SLOTS, 1476, 1000);
	ck_assert(mh_uidbudget_may(&b, 1001, 1000));
	mh_uidbudget_charge(&b, 1001, 1476);
	ck_assert(mh_uidbudget_may(&b, 1001, 1000));
	ck_assert(fabs(mh_uidbudget_tokens(&b, 1001, 1000)) < 1e-9);   /* no slot */
	/* and the uids in debt stay in debt */
	ck_assert(!mh_uidbudget_may(&b, 100000, 1000));
	ck_assert(!mh_uidbudget_may(&b, 100000 + MH_UIDBUDGET_SLOTS - 1, 1000));
}
END_TEST

START_TEST(full_slots_given_back)
{
	mh_uidbudget_init(&b, 100, 200);
	in_debt(100000, MH_UIDBUDGET_SLOTS, 150, 1000);   /* 50 tokens each */
	/* 1.5 s later every bucket is full again: a new uid takes a slot and
	 * pays for its own check */
	ck_assert(mh_uidbudget_may(&b, 1001, 2500));
	mh_uidbudget_charge(&b, 1001, 500);
	ck_assert(fabs(mh_uidbudget_tokens(&b, 1001, 2500) + 300) < 1e-9);
	ck_assert(!mh_uidbudget_may(&b, 1001, 2500));
	/* the uid whose slot it took starts full, as any new uid */
	ck_assert(mh_uidbudget_may(&b, 100000, 2500));
	/* a slot still in debt is not given away */
	mh_uidbudget_init(&b, 100, 200);
	in_debt(100000, MH_UIDBUDGET_SLOTS, 500, 1000);
	ck_assert(mh_uidbudget_may(&b, 1001, 2500));     /* served, uncharged */
	ck_assert(!mh_uidbudget_may(&b, 100000, 2500));  /* -300 + 150: still short */
}
END_TEST

START_TEST(new_rate_keeps_debts)
{
	mh_uidbudget_init(&b, 100, 200);
	ck_assert(mh_uidbudget_may(&b, 1002, 1000));
	mh_uidbudget_charge(&b, 1002, 1500);
	mh_uidbudget_set(&b, 1000, 2000);
	ck_assert(!mh_uidbudget_may(&b, 1002, 1000));
	ck_assert(!mh_uidbudget_may(&b, 1002, 2300));   /* -1300 + 1300 */
	ck_assert(mh_uidbudget_may(&b, 1002, 2301));
	/* a lower burst caps what is banked */
	mh_uidbudget_set(&b, 1, 2);
	ck_assert(fabs(mh_uidbudget_tokens(&b, 1001, 2301)) < 1e-9);   /* no slot */
	ck_assert(mh_uidbudget_tokens(&b, 1002, 9999999) <= 2.0);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("uidbudget");
	TCase *tc = tcase_create("uidbudget");

	tcase_add_test(tc, debt_then_refill);
	tcase_add_test(tc, nobody_pays_for_others);
	tcase_add_test(tc, full_slots_given_back);
	tcase_add_test(tc, new_rate_keeps_debts);
	suite_add_tcase(su, tc);
	return mh_check_run(su);
}
