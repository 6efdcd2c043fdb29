/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for mh_session_pidfd_event (lib/session.c), with real
 * processes, pidfds and an epoll set as the daemon's loop holds them: a
 * pidfd event names a port, not a session. When the old mosh-server of a
 * port exits and, in the same wait, an announcement handled before its
 * event ends the old session and gives the port to a new one, that event
 * does not end the new session (it did before 0242977: the new session
 * ended as "mosh-server exited" while its mosh-server ran); the new
 * session's own exit does. An event with no exit behind it, for a port
 * without a session or for a session without a pidfd, ends nothing.
 */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "session.h"

#define PORT 60001
#define UID  1000

/* valgrind 3.19 does not know pidfd_open (ENOSYS; the daemon gets it from
 * tests/valgrind/pidfd_shim.c there): nothing to test without it. */
static bool no_pidfd(void)
{
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);

	if (fd >= 0) {
		close(fd);
		return false;
	}
	ck_assert_int_eq(errno, ENOSYS);
	fprintf(stderr, "pidfd_open: ENOSYS (valgrind?): not tested\n");
	return true;
}

/* A stand-in mosh-server: a child that waits to be killed. */
static pid_t server(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static int pidfd_of(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	ck_assert_int_ge(fd, 0);
	return fd;
}

/* The server exits; left a zombie (its pidfd says exited) until reaped. */
static void server_exits(pid_t pid)
{
	siginfo_t info;

	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT), 0);
}

/* A session on port watched as the daemon does (mh_life_open): its
 * pidfd in the epoll set, tagged with the port. */
static struct mh_session *open_session(struct mh_table *t, int ep, pid_t pid,
				       uint64_t now_ms)
{
	struct mh_session *s = mh_session_add(t, PORT, NULL, UID, pid, now_ms, 1);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = PORT };

	ck_assert_ptr_nonnull(s);
	s->pidfd = pidfd_of(pid);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, s->pidfd, &ev), 0);
	return s;
}

/* Its end as mh_life_end does it: the pidfd out of the set, closed. */
static void end_session(struct mh_table *t, int ep, struct mh_session *s)
{
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_DEL, s->pidfd, NULL), 0);
	close(s->pidfd);
	mh_session_remove(t, s);
}

START_TEST(test_replaced_in_same_wait)
{
	static struct mh_table t;
	struct epoll_event ev[4];
	struct mh_session *old, *new;
	pid_t a, b;
	int ep;

	if (no_pidfd())
		return;
	a = server();
	b = server();
	ep = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_ge(ep, 0);
	mh_table_init(&t);
	old = open_session(&t, ep, a, 1);
	/* the old mosh-server exits: one wait returns its event ... */
	server_exits(a);
	ck_assert_int_eq(epoll_wait(ep, ev, 4, 5000), 1);
	ck_assert_uint_eq(ev[0].data.u64, PORT);
	/* ... and, handled before it, an announcement for the same port that
	 * ends the old session (its mosh-server gone) and opens a new one */
	end_session(&t, ep, old);
	new = open_session(&t, ep, b, 2);
	/* the old mosh-server's event comes next: the new session stays */
	ck_assert_ptr_null(mh_session_pidfd_event(&t, (uint16_t)ev[0].data.u64));
	ck_assert_ptr_eq(mh_session_by_port(&t, PORT), new);
	ck_assert_int_eq(epoll_wait(ep, ev, 4, 0), 0);
	/* its own mosh-server's exit ends it */
	server_exits(b);
	ck_assert_int_eq(epoll_wait(ep, ev, 4, 5000), 1);
	ck_assert_ptr_eq(mh_session_pidfd_event(&t, (uint16_t)ev[0].data.u64), new);
	end_session(&t, ep, new);
	ck_assert_uint_eq(t.count, 0);
	close(ep);
	waitpid(a, NULL, 0);
	waitpid(b, NULL, 0);
	mh_table_clear(&t);
}
END_TEST

START_TEST(test_nothing_exited)
{
	static struct mh_table t;
	struct mh_session *s;
	pid_t a;
	int ep;

	if (no_pidfd())
		return;
	a = server();
	ep = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_ge(ep, 0);
	mh_table_init(&t);
	ck_assert_ptr_null(mh_session_pidfd_event(&t, PORT));   /* no session */
	s = open_session(&t, ep, a, 1);
	/* its mosh-server runs: an event for the port ends nothing */
	ck_assert_ptr_null(mh_session_pidfd_event(&t, PORT));
	ck_assert_ptr_null(mh_session_pidfd_event(&t, PORT + 1));
	server_exits(a);
	ck_assert_ptr_eq(mh_session_pidfd_event(&t, PORT), s);
	end_session(&t, ep, s);
	/* a session without a pidfd: nothing says its process exited */
	s = mh_session_add(&t, PORT, NULL, UID, a, 3, 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->pidfd, -1);
	ck_assert_ptr_null(mh_session_pidfd_event(&t, PORT));
	close(ep);
	waitpid(a, NULL, 0);
	mh_table_clear(&t);
}
END_TEST

static Suite *pidfd_event_suite(void)
{
	Suite *s = suite_create("pidfd_event");
	TCase *tc = tcase_create("pidfd_event");

	tcase_add_test(tc, test_replaced_in_same_wait);
	tcase_add_test(tc, test_nothing_exited);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(pidfd_event_suite());
}
