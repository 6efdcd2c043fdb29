/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/proc.c: /proc/PID/stat is parsed whatever the command
 * name holds (spaces, parentheses), a line cut short is refused rather than
 * read wrong, the live reader agrees with getppid(), and a pidfd reports
 * its process's exit without blocking.
 */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

/* 52 fields as Linux writes them; the start time (field 22) is 4242. */
#define TAIL " 1000 1000 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 4242 " \
	     "1000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 " \
	     "0 0 0 0 0 0 0 0 0 0 0\n"

START_TEST(test_parse_plain)
{
	struct mh_proc_stat ps;

	ck_assert_int_eq(mh_proc_stat_parse("77 (mosh-server) S 12" TAIL, &ps), 0);
	ck_assert_int_eq(ps.state, 'S');
	ck_assert_int_eq(ps.ppid, 12);
	ck_assert_uint_eq(ps.flags, 4194560);
	ck_assert(!(ps.flags & MH_PF_EXITING));
	ck_assert_uint_eq(ps.start, 4242);
	/* the same process as do_exit begins */
	ck_assert_int_eq(mh_proc_stat_parse("77 (mosh-server) S 12 1000 1000 0 -1 "
					    "4194564 100 0 0 0 1 2 0 0 20 0 1 0 "
					    "4242 1000\n", &ps), 0);
	ck_assert(ps.flags & MH_PF_EXITING);
	ck_assert_uint_eq(ps.start, 4242);
}
END_TEST

START_TEST(test_parse_hostile_name)
{
	struct mh_proc_stat ps;

	/* a name made to look like the fields that follow it */
	ck_assert_int_eq(mh_proc_stat_parse("77 (x) R 1 2 3) Z 9" TAIL, &ps), 0);
	ck_assert_int_eq(ps.state, 'Z');
	ck_assert_int_eq(ps.ppid, 9);
	ck_assert_uint_eq(ps.start, 4242);
}
END_TEST

START_TEST(test_parse_refused)
{
	struct mh_proc_stat ps = { .start = 5 };

	ck_assert_int_eq(mh_proc_stat_parse("77 mosh-server S 12" TAIL, &ps), -EINVAL);
	ck_assert_int_eq(mh_proc_stat_parse("77 (m) S 12 1000 1000\n", &ps), -EINVAL);
	ck_assert_int_eq(mh_proc_stat_parse("77 (m) SS 12" TAIL, &ps), -EINVAL);
	ck_assert_int_eq(mh_proc_stat_parse("77 (m) S x" TAIL, &ps), -EINVAL);
	ck_assert_int_eq(mh_proc_stat_parse("77 (m) S 12 1 1 0 -1 4x 1 0 0 0 1 2 0 "
					    "0 20 0 1 0 4242\n", &ps), -EINVAL);
	ck_assert_int_eq(mh_proc_stat_parse("", &ps), -EINVAL);
	ck_assert_uint_eq(ps.start, 5);   /* a refused line leaves the start time */
}
END_TEST

START_TEST(test_read_self)
{
	struct mh_proc_stat ps;

	ck_assert_int_eq(mh_proc_stat(getpid(), &ps), 0);
	ck_assert_int_eq(ps.ppid, getppid());
	ck_assert_int_eq(ps.state, 'R');
	ck_assert_uint_gt(ps.start, 0);
	ck_assert_int_lt(mh_proc_stat(-1, &ps), 0);
}
END_TEST

START_TEST(test_pidfd_exit)
{
	pid_t pid = fork();
	siginfo_t info;
	int pidfd;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ck_assert_int_ge(pidfd, 0);
	ck_assert(!mh_pidfd_exited(pidfd));
	ck_assert(!mh_proc_exiting(pid));
	ck_assert(!mh_proc_exiting(getpid()));
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT), 0);
	ck_assert(mh_pidfd_exited(pidfd));
	ck_assert(mh_proc_exiting(pid));          /* a zombie */
	waitpid(pid, NULL, 0);
	ck_assert(mh_proc_exiting(pid));          /* gone */
	close(pidfd);
}
END_TEST

START_TEST(test_clock)
{
	uint64_t a = mh_now_ms(), b;

	usleep(20000);
	b = mh_now_ms();
	ck_assert_uint_ge(b - a, 19);
	ck_assert_uint_lt(b - a, 10000);
}
END_TEST

static Suite *proc_suite(void)
{
	Suite *s = suite_create("proc");
	TCase *tc = tcase_create("proc");

	tcase_add_test(tc, test_parse_plain);
	tcase_add_test(tc, test_parse_hostile_name);
	tcase_add_test(tc, test_parse_refused);
	tcase_add_test(tc, test_read_self);
	tcase_add_test(tc, test_pidfd_exit);
	tcase_add_test(tc, test_clock);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(proc_suite());
}
