/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/relaysync.c: which of a relay's sessions the gateway
 * ends after a resync or a disconnect. Each scenario holds a small table
 * of sessions (marks), plays the relay's frames and the clock, and checks
 * exactly which sessions are due when.
 */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "relaysync.h"

#define GRACE 5000
#define ORPHAN 60000
#define NS 6

struct world {
	struct mh_rsync r;
	struct mh_rsync_mark m[NS];
	bool held[NS];        /* the gateway holds this session */
};

static void open_session(struct world *w, int i, bool resync)
{
	const char *why = NULL;

	ck_assert_msg(mh_rsync_check_open(&w->r, resync, &why) == 0,
		      "open %d refused: %s", i, why);
	if (!w->held[i])
		memset(&w->m[i], 0, sizeof(w->m[i]));
	mh_rsync_confirm(&w->r, &w->m[i], resync);
	w->held[i] = true;
}

static void end_resync(struct world *w, uint32_t count, uint64_t now)
{
	const char *why = NULL;

	ck_assert_msg(mh_rsync_end(&w->r, count, &why) == 0, "end: %s", why);
	for (int i = 0; i < NS; i++)
		if (w->held[i])
			mh_rsync_after_end(&w->r, &w->m[i], now, GRACE);
}

/* A bitmask of the held sessions due at now; those are ended. */
static unsigned sweep(struct world *w, uint64_t now)
{
	unsigned due = 0;

	for (int i = 0; i < NS; i++)
		if (w->held[i] && mh_rsync_due(&w->m[i], now)) {
			due |= 1u << i;
			w->held[i] = false;
		}
	return due;
}

static void disconnect(struct world *w, uint64_t now)
{
	for (int i = 0; i < NS; i++)
		if (w->held[i])
			mh_rsync_orphan(&w->r, &w->m[i], now, ORPHAN);
}

static void begin(struct world *w, uint32_t count)
{
	const char *why = NULL;

	mh_rsync_connect(&w->r);
	ck_assert_msg(mh_rsync_begin(&w->r, count, &why) == 0, "begin: %s", why);
}

/* First connection: resync of two, then normal opens; nothing ends. */
START_TEST(test_first_connect_keeps_all)
{
	struct world w = { 0 };

	begin(&w, 2);
	open_session(&w, 0, true);
	open_session(&w, 1, true);
	open_session(&w, 2, false);          /* a new session during the resync */
	end_resync(&w, 2, 1000);
	open_session(&w, 3, false);
	ck_assert_uint_eq(sweep(&w, 1000 + 10 * ORPHAN), 0);
}
END_TEST

/* Reconnect: the resync lists 0 and 2 only; 1 and 3 end after the grace,
 * not before. */
START_TEST(test_missing_end_after_grace)
{
	struct world w = { 0 };

	begin(&w, 4);
	for (int i = 0; i < 4; i++)
		open_session(&w, i, true);
	end_resync(&w, 4, 1000);
	disconnect(&w, 2000);
	begin(&w, 2);
	open_session(&w, 0, true);
	open_session(&w, 2, true);
	end_resync(&w, 2, 3000);
	ck_assert_uint_eq(sweep(&w, 3000), 0);
	ck_assert_uint_eq(sweep(&w, 3000 + GRACE - 1), 0);
	ck_assert_uint_eq(sweep(&w, 3000 + GRACE), (1u << 1) | (1u << 3));
	ck_assert_uint_eq(sweep(&w, 3000 + 100 * ORPHAN), 0);
	ck_assert(w.held[0] && w.held[2]);
}
END_TEST

/* A session missing from the resync and re-opened within the grace stays. */
START_TEST(test_reopen_within_grace_keeps)
{
	struct world w = { 0 };

	begin(&w, 2);
	open_session(&w, 0, true);
	open_session(&w, 1, true);
	end_resync(&w, 2, 0);
	mh_rsync_connect(&w.r);
	begin(&w, 1);
	open_session(&w, 0, true);
	end_resync(&w, 1, 10000);
	open_session(&w, 1, false);             /* the relay re-announces it */
	ck_assert_uint_eq(sweep(&w, 10000 + GRACE * 10), 0);
}
END_TEST

/* A relay that never comes back: everything ends after the orphan grace. */
START_TEST(test_disconnect_orphans)
{
	struct world w = { 0 };

	begin(&w, 3);
	for (int i = 0; i < 3; i++)
		open_session(&w, i, true);
	end_resync(&w, 3, 0);
	disconnect(&w, 5000);
	ck_assert_uint_eq(sweep(&w, 5000 + ORPHAN - 1), 0);
	ck_assert_uint_eq(sweep(&w, 5000 + ORPHAN), 0x7);
}
END_TEST

/* Reconnected within the orphan grace and resynced: confirmed sessions
 * lose their doom; an unlisted one ends at the earlier of the two
 * deadlines (the resync grace here), never later than the orphan's. */
START_TEST(test_reconnect_lifts_orphan_doom)
{
	struct world w = { 0 };

	begin(&w, 2);
	open_session(&w, 0, true);
	open_session(&w, 1, true);
	end_resync(&w, 2, 0);
	disconnect(&w, 1000);                  /* both doomed at 61000 */
	begin(&w, 1);
	open_session(&w, 0, true);
	end_resync(&w, 1, 2000);               /* 1 doomed at min(61000, 7000) */
	ck_assert_uint_eq(sweep(&w, 2000 + GRACE), 1u << 1);
	ck_assert_uint_eq(sweep(&w, 1000 + ORPHAN * 10), 0);

	/* the resync deadline would be later than the orphan's: orphan's wins */
	memset(&w, 0, sizeof(w));
	begin(&w, 1);
	open_session(&w, 0, true);
	end_resync(&w, 1, 0);
	disconnect(&w, 0);                     /* doomed at ORPHAN */
	begin(&w, 0);
	end_resync(&w, 0, ORPHAN - 1);         /* would be ORPHAN - 1 + GRACE */
	ck_assert_uint_eq(sweep(&w, ORPHAN - 1), 0);
	ck_assert_uint_eq(sweep(&w, ORPHAN), 1u << 0);
}
END_TEST

/* A resync cut short by a disconnect dooms nothing by itself: only the
 * orphan grace applies, and the next full resync decides. */
START_TEST(test_interrupted_resync)
{
	struct world w = { 0 };
	const char *why;

	begin(&w, 3);
	for (int i = 0; i < 3; i++)
		open_session(&w, i, true);
	end_resync(&w, 3, 0);
	begin(&w, 3);
	open_session(&w, 0, true);
	disconnect(&w, 100);                   /* cut before 1, 2 and the END */
	ck_assert(!w.r.in_resync);
	ck_assert_int_eq(mh_rsync_end(&w.r, 3, &why), -EPROTO);
	begin(&w, 3);
	for (int i = 0; i < 3; i++)
		open_session(&w, i, true);
	end_resync(&w, 3, 200);
	ck_assert_uint_eq(sweep(&w, 100 + ORPHAN * 10), 0);
}
END_TEST

/* Bad sequences are refused with a reason and doom nothing. */
START_TEST(test_bad_sequences)
{
	struct world w = { 0 };
	const char *why = NULL;

	ck_assert_int_eq(mh_rsync_end(&w.r, 0, &why), -EPROTO);
	ck_assert_str_eq(why, "resync end without a begin");
	ck_assert_int_eq(mh_rsync_check_open(&w.r, true, &why), -EPROTO);
	ck_assert_str_eq(why, "resync open outside a resync");
	ck_assert_int_eq(mh_rsync_check_open(&w.r, false, &why), 0);

	begin(&w, 1);
	ck_assert_int_eq(mh_rsync_begin(&w.r, 1, &why), -EPROTO);
	ck_assert_str_eq(why, "resync begun twice");
	open_session(&w, 0, true);
	ck_assert_int_eq(mh_rsync_check_open(&w.r, true, &why), -EPROTO);
	ck_assert_str_eq(why, "more resync opens than announced");
	ck_assert_int_eq(mh_rsync_end(&w.r, 2, &why), -EPROTO);
	ck_assert_str_eq(why, "resync end count differs from its begin");
	ck_assert(w.r.in_resync);
	/* while incomplete, nothing is doomed even if asked */
	open_session(&w, 1, false);
	w.m[1].gen = 0;                       /* as if from an older generation */
	ck_assert(!mh_rsync_after_end(&w.r, &w.m[1], 0, GRACE));
	ck_assert_int_eq(mh_rsync_end(&w.r, 1, &why), 0);

	/* announced 2, listed 1: END(2) and END(1) both refused */
	memset(&w, 0, sizeof(w));
	begin(&w, 2);
	open_session(&w, 0, true);
	ck_assert_int_eq(mh_rsync_end(&w.r, 2, &why), -EPROTO);
	ck_assert_str_eq(why, "resync end count differs from the opens accepted");
	ck_assert_int_eq(mh_rsync_end(&w.r, 1, &why), -EPROTO);
}
END_TEST

/* A gateway restart restores sessions without a relay: orphaned, then
 * the relay's first resync decides (generation 0 never counts as
 * confirmed by generation 1). */
START_TEST(test_restored_sessions)
{
	struct world w = { 0 };

	for (int i = 0; i < 3; i++) {
		w.held[i] = true;
		mh_rsync_orphan(&w.r, &w.m[i], 0, ORPHAN);
	}
	begin(&w, 1);
	open_session(&w, 2, true);
	end_resync(&w, 1, 1000);
	ck_assert_uint_eq(sweep(&w, 1000 + GRACE), 0x3);
	ck_assert(w.held[2]);
	ck_assert_uint_eq(sweep(&w, ORPHAN * 10), 0);
}
END_TEST

START_TEST(test_time_edges)
{
	struct mh_rsync r = { 0 };
	struct mh_rsync_mark m = { 0 };

	mh_rsync_orphan(&r, &m, 0, 0);       /* "now" at time 0 is still a doom */
	ck_assert(mh_rsync_due(&m, 0) || mh_rsync_due(&m, 1));
	ck_assert_uint_ne(m.end_at_ms, 0);
	ck_assert(!mh_rsync_silent(1000, 3000, 10000));
	ck_assert(mh_rsync_silent(1000, 3000, 10001));
	ck_assert(!mh_rsync_silent(5000, 3000, 1000));  /* clock behind: not silent */
}
END_TEST

static Suite *relaysync_suite(void)
{
	Suite *s = suite_create("relaysync");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_first_connect_keeps_all);
	tcase_add_test(tc, test_missing_end_after_grace);
	tcase_add_test(tc, test_reopen_within_grace_keeps);
	tcase_add_test(tc, test_disconnect_orphans);
	tcase_add_test(tc, test_reconnect_lifts_orphan_doom);
	tcase_add_test(tc, test_interrupted_resync);
	tcase_add_test(tc, test_bad_sequences);
	tcase_add_test(tc, test_restored_sessions);
	tcase_add_test(tc, test_time_edges);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(relaysync_suite());
}
