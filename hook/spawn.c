/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helper-hook's processes: starting the real mosh-server with its
 * stdout and stderr on pipes, noticing its exit (pidfd), the termination
 * signals, and stopping every server process the hook started when the
 * session is refused (SIGTERM, then SIGKILL after a grace period).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hook.h"

volatile sig_atomic_t hook_signal;

static const int term_signals[] = { SIGTERM, SIGINT, SIGHUP };

static void on_signal(int sig)
{
	hook_signal = sig;
}

/* Termination signals stay blocked except inside ppoll (wait_mask), so a
 * signal is never lost between a check and a wait. SIGPIPE is ignored: a
 * closed stdout shows up as EPIPE. */
int hook_signals_init(struct hook_run *h)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(term_signals) / sizeof(term_signals[0]); i++) {
		if (sigaction(term_signals[i], &sa, NULL) < 0)
			return -errno;
		sigaddset(&block, term_signals[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &block, &h->orig_mask) < 0)
		return -errno;
	h->wait_mask = h->orig_mask;
	for (size_t i = 0; i < sizeof(term_signals) / sizeof(term_signals[0]); i++)
		sigdelset(&h->wait_mask, term_signals[i]);
	return 0;
}

static _Noreturn void exec_server(const struct hook_run *h, const char *path,
				  char *const argv[], int out, int err)
{
	char msg[PATH_MAX + 128];
	int n;

	if (dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &h->orig_mask, NULL);
	execv(path, argv);
	n = snprintf(msg, sizeof(msg), HOOK_NAME ": cannot run %s: %s\n", path,
		     strerror(errno));
	if (n > 0)
		hook_write_all(STDERR_FILENO, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	_exit(127);
}

/* Starts mosh-server. The hook becomes a child subreaper first, so that the
 * session server mosh-server detaches stays our descendant and can be
 * found and stopped even if its pid line never arrives. */
int hook_spawn(struct hook_run *h, const char *path, char *const argv[])
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int r = 0;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(err, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	h->server = fork();
	if (h->server < 0) {
		r = -errno;
		goto out;
	}
	if (h->server == 0)
		exec_server(h, path, argv, out[1], err[1]);
	h->started++;
	h->out_fd = out[0];
	h->err_fd = err[0];
	out[0] = err[0] = -1;
	h->pidfd = (int)syscall(SYS_pidfd_open, h->server, 0);
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return r;
}

void hook_reap(struct hook_run *h)
{
	int st;

	if (h->server_done || waitpid(h->server, &st, WNOHANG) != h->server)
		return;
	h->wstatus = st;
	h->server_done = true;
	if (h->pidfd >= 0) {
		close(h->pidfd);
		h->pidfd = -1;
	}
}

/* Dead means reaped by us, gone, or a zombie of someone else. */
static bool is_dead(struct hook_run *h, pid_t pid)
{
	struct mh_proc_stat ps;
	int st;

	if (pid == h->server) {
		hook_reap(h);
		if (h->server_done)
			return true;
	} else if (waitpid(pid, &st, WNOHANG) == pid) {
		return true;
	}
	return mh_proc_stat(pid, &ps) < 0 || ps.state == 'Z';
}

/* Our children: the server, and the processes it left to us (subreaper). */
static size_t collect_children(struct hook_run *h, pid_t *pids, size_t cap)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	if (h->detached > 0)
		pids[n++] = h->detached;
	if (!h->server_done && n < cap)
		pids[n++] = h->server;
	while (d && n < cap && (e = readdir(d))) {
		pid_t pid = (pid_t)atoi(e->d_name);
		struct mh_proc_stat ps;

		if (pid > 0 && pid != h->detached && pid != h->server &&
		    mh_proc_stat(pid, &ps) == 0 && ps.ppid == getpid())
			pids[n++] = pid;
	}
	if (d)
		closedir(d);
	return n;
}

static bool all_dead(struct hook_run *h, const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_dead(h, pids[i]))
			return false;
	return true;
}

void hook_kill_all(struct hook_run *h)
{
	pid_t pids[64];
	size_t n = collect_children(h, pids, sizeof(pids) / sizeof(pids[0]));
	uint64_t end = mh_now_ms() + HOOK_KILL_GRACE_MS;

	for (size_t i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	while (!all_dead(h, pids, n) && mh_now_ms() < end)
		poll(NULL, 0, 20);
	for (size_t i = 0; i < n; i++) {
		if (!is_dead(h, pids[i])) {
			kill(pids[i], SIGKILL);
			while (!is_dead(h, pids[i]) && mh_now_ms() < end + 1000)
				poll(NULL, 0, 10);
		}
	}
}
