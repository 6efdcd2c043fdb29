/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the expiry-in-place probe's decision (lib/expireprobe.c)
 * against fake kernels, one per way a real one can answer: a kernel that
 * takes the expiry and has the destroy message says yes; one that keeps an
 * existing element as it is, one without the destroy message, a failed
 * read-back or a refused add say no, and every no but the refused add
 * deletes the probe pinhole it left.
 */
#include <check.h>
#include <errno.h>

#include "check_main.h"
#include "expireprobe.h"

/* A fake kernel holding at most the probe element. */
struct fake {
	/* how it behaves */
	bool refuse_add, refuse_expire, ignore_expire, dump_fails;
	bool destroy_unknown;       /* no such message: every destroy refused */
	bool destroy_as_delete;     /* a destroy of nothing is an error */
	uint64_t left_after_expire;    /* what a read-back lists after it */
	/* what it holds and what was asked */
	bool present;
	uint64_t left;
	unsigned adds, expires, finds, destroys, dels;
};

#define IDLE_MS 30000

static int f_add(void *arg)
{
	struct fake *f = arg;

	f->adds++;
	if (f->refuse_add)
		return -EPERM;
	f->present = true;
	f->left = IDLE_MS;
	return 0;
}

static int f_expire(void *arg)
{
	struct fake *f = arg;

	f->expires++;
	if (f->refuse_expire)
		return -EINVAL;
	if (!f->ignore_expire)
		f->left = f->left_after_expire;
	return 0;
}

static int f_find(void *arg, bool *found, uint64_t *left)
{
	struct fake *f = arg;

	f->finds++;
	if (f->dump_fails)
		return -ENOBUFS;
	/* an expired element is not listed */
	*found = f->present && f->left > 0;
	*left = *found ? f->left : 0;
	return *found;
}

static int f_destroy(void *arg)
{
	struct fake *f = arg;

	f->destroys++;
	if (f->destroy_unknown)
		return -EOPNOTSUPP;
	if (f->destroy_as_delete && !f->present)
		return -ENOENT;
	f->present = false;
	return 0;
}

static void f_del(void *arg)
{
	struct fake *f = arg;

	f->dels++;
	f->present = false;
}

static const struct mh_expire_probe_ops ops = {
	f_add, f_expire, f_find, f_destroy, f_del,
};

START_TEST(expiring_kernel_says_yes)
{
	struct fake f = { .left_after_expire = 1 };

	ck_assert(mh_expire_probe(&ops, &f));
	ck_assert_uint_eq(f.finds, 1);
	ck_assert_uint_eq(f.destroys, 2);
	ck_assert_uint_eq(f.dels, 0);
	ck_assert(!f.present);
	/* expired already when read back (not listed): the same */
	f = (struct fake){ .left_after_expire = 0 };
	ck_assert(mh_expire_probe(&ops, &f));
	/* a slow read-back, within the bound */
	f = (struct fake){ .left_after_expire = MH_EXPIRE_PROBE_MAX_LEFT_MS };
	ck_assert(mh_expire_probe(&ops, &f));
}
END_TEST

START_TEST(kernel_that_keeps_the_element_says_no)
{
	struct fake f = { .ignore_expire = true };

	ck_assert(!mh_expire_probe(&ops, &f));
	ck_assert_uint_eq(f.dels, 1);
	ck_assert(!f.present);
	/* just over the bound is not an expiry either */
	f = (struct fake){ .left_after_expire = MH_EXPIRE_PROBE_MAX_LEFT_MS + 1 };
	ck_assert(!mh_expire_probe(&ops, &f));
	ck_assert_uint_eq(f.dels, 1);
}
END_TEST

START_TEST(kernel_without_destroy_says_no)
{
	struct fake f = { .left_after_expire = 1, .destroy_unknown = true };

	ck_assert(!mh_expire_probe(&ops, &f));
	ck_assert_uint_eq(f.destroys, 2);
	ck_assert_uint_eq(f.dels, 1);       /* the element it left goes */
	ck_assert(!f.present);
	f = (struct fake){ .left_after_expire = 1, .destroy_as_delete = true };
	ck_assert(!mh_expire_probe(&ops, &f));
	ck_assert_uint_eq(f.destroys, 2);
	ck_assert_uint_eq(f.dels, 1);
}
END_TEST

START_TEST(refused_expiry_or_failed_read_back_says_no)
{
	struct fake f = { .refuse_expire = true };

	ck_assert(!mh_expire_probe(&ops, &f));
	ck_assert_uint_eq(f.finds, 0);       /* nothing to read back */
	ck_assert_uint_eq(f.dels, 1);
	ck_assert(!f.present);
	f = (struct fake){ .left_after_expire = 1, .dump_fails = true };
	ck_assert(!mh_expire_probe(&ops, &f));
	ck_assert_uint_eq(f.dels, 1);
}
END_TEST

START_TEST(refused_add_asks_nothing_more)
{
	struct fake f = { .refuse_add = true };

	ck_assert(!mh_expire_probe(&ops, &f));
	ck_assert_uint_eq(f.expires + f.finds + f.destroys + f.dels, 0);
}
END_TEST

static Suite *probe_suite(void)
{
	Suite *s = suite_create("expireprobe");
	TCase *tc = tcase_create("decision");

	tcase_add_test(tc, expiring_kernel_says_yes);
	tcase_add_test(tc, kernel_that_keeps_the_element_says_no);
	tcase_add_test(tc, kernel_without_destroy_says_no);
	tcase_add_test(tc, refused_expiry_or_failed_read_back_says_no);
	tcase_add_test(tc, refused_add_asks_nothing_more);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(probe_suite());
}
