/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the per-uid log budgets of lib/log.c (mh_uidlimit): the
 * burst, the refill, one uid's flood leaving another's budget whole, every
 * held-back event counted and handed out once by the drain, the shared
 * bucket beyond MH_UIDLIMIT_SLOTS uids, and idle slots given back. And
 * the journald priority prefixes: the line format per level, the strict
 * JOURNAL_STREAM match, and stderr (a real file) prefixed only when the
 * variable names that file.
 */
#include <check.h>

#include "check_main.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

START_TEST(test_journal_format)
{
	static const char *const want[] = {
		"<3>prog: error: f: boom\n", "<4>prog: warning: f: boom\n",
		"<6>prog: info: f: boom\n", "<7>prog: debug: f: boom\n",
	};
	char buf[128];
	int level;

	for (level = MH_LOG_ERR; level <= MH_LOG_DEBUG; level++) {
		ck_assert_int_eq(mh_log_format(buf, sizeof(buf), true, "prog", level,
					       "f: boom"), (int)strlen(want[level]));
		ck_assert_str_eq(buf, want[level]);
		mh_log_format(buf, sizeof(buf), false, "prog", level, "f: boom");
		ck_assert_str_eq(buf, want[level] + 3);      /* no prefix */
	}
	/* out of range: as an error */
	mh_log_format(buf, sizeof(buf), true, "prog", 9, "x");
	ck_assert_str_eq(buf, "<3>prog: error: x\n");
}
END_TEST

START_TEST(test_journal_stream_match)
{
	static const char *const bad[] = {
		"", ":", "64769:", ":1234", "64769:1234x", "64769:1234:1", "-64769:1234",
		"+64769:1234", " 64769:1234", "64769: 1234", "64769;1234", "0x10:1234",
		"99999999999999999999999:1234", "64769:99999999999999999999999",
	};
	unsigned i;

	ck_assert(mh_journal_stream_is("64769:1234", 64769, 1234));
	ck_assert(mh_journal_stream_is("0:18446744073709551615", 0, UINT64_MAX));
	ck_assert(!mh_journal_stream_is("64769:1234", 64769, 1235));
	ck_assert(!mh_journal_stream_is("64769:1234", 64768, 1234));
	ck_assert(!mh_journal_stream_is(NULL, 0, 0));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!mh_journal_stream_is(bad[i], 64769, 1234), "%s", bad[i]);
}
END_TEST

/* Logs one line per level with stderr on a fresh file, JOURNAL_STREAM
 * naming `named` (or that file when NULL); returns what the file got. */
static char *log_to_file(const char *named, char *out, size_t len)
{
	char path[] = "/tmp/test_log_XXXXXX", env[64];
	struct stat st;
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	unlink(path);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", named ? named : env, 1);
	fflush(stderr);
	ck_assert_int_eq(dup2(fd, 2), 2);
	mh_log_init("t", false, MH_LOG_DEBUG);
	log_err("e%d", 1);
	log_warn("w");
	log_info("i");
	log_debug("d");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, out, len - 1, 0);
	ck_assert_int_ge(n, 0);
	out[n] = '\0';
	close(fd);
	unsetenv("JOURNAL_STREAM");
	mh_log_init("t", false, MH_LOG_INFO);
	return out;
}

START_TEST(test_journal_stderr)
{
	char got[512], other[64];
	struct stat st;

	ck_assert_str_eq(log_to_file(NULL, got, sizeof(got)),
			 "<3>t: error: log_to_file: e1\n<4>t: warning: log_to_file: w\n"
			 "<6>t: info: log_to_file: i\n<7>t: debug: log_to_file: d\n");
	/* the variable names another file (stdout's, say): plain lines */
	ck_assert_int_eq(stat("/dev/null", &st), 0);
	snprintf(other, sizeof(other), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	ck_assert_str_eq(log_to_file(other, got, sizeof(got)),
			 "t: error: log_to_file: e1\nt: warning: log_to_file: w\n"
			 "t: info: log_to_file: i\nt: debug: log_to_file: d\n");
	ck_assert_str_eq(log_to_file("garbage", got, sizeof(got)),
			 "t: error: log_to_file: e1\nt: warning: log_to_file: w\n"
			 "t: info: log_to_file: i\nt: debug: log_to_file: d\n");
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("uidlimit");
	TCase *tj = tcase_create("journal");

	tcase_add_test(tc, test_burst_then_rate);
	tcase_add_test(tc, test_uids_and_kinds_apart);
	tcase_add_test(tc, test_drain_counts_once);
	tcase_add_test(tc, test_many_uids_share_one_bucket);
	tcase_add_test(tc, test_idle_slots_given_back);
	suite_add_tcase(s, tc);
	tcase_add_test(tj, test_journal_format);
	tcase_add_test(tj, test_journal_stream_match);
	tcase_add_test(tj, test_journal_stderr);
	suite_add_tcase(s, tj);
	return s;
}

int main(void)
{
	return mh_check_run(log_suite());
}
