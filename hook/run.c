/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helper-hook's event loop: relay mosh-server's output until it has
 * printed both the MOSH CONNECT line and the detached pid, announce the
 * session, then release the line (accepted) or stop the server (anything
 * else). After mosh-server exits, what is left in the pipes is read for at
 * most HOOK_DRAIN_MS: the detached server may keep them open. A refusal of
 * a port someone else holds (another session on it, bound to another local
 * address, or another user's socket) would come again on every start, as
 * mosh-server takes the lowest free port of its range: the server is
 * stopped and started again on the ports above it, while the range and
 * HOOK_PORT_TRIES last.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hook.h"

static bool holding(const struct hook_run *h)
{
	return h->held && !h->accepted;
}

/* The daemon refused the port as someone else's: h->next_argv runs
 * mosh-server on the ports above it, if its range has one and tries are
 * left. A gateway's refusal (MHC_ERR_GATEWAY) and every other is final. */
static bool next_try(struct hook_run *h, const struct mhc_reply *reply)
{
	if (h->started >= HOOK_PORT_TRIES ||
	    !mhc_port_taken(reply->status, reply->reason))
		return false;
	return hook_server_next(h, &h->next_argv) == 0;
}

/* Both facts known and not yet announced: ask the daemon. */
static int maybe_announce(struct hook_run *h)
{
	struct mhc_reply reply;
	char msg[512];
	int r;

	if (!holding(h) || h->detached <= 0)
		return 0;
	r = hook_announce(h, &reply, msg, sizeof(msg));
	if (r == -EPERM && next_try(h, &reply))
		hook_say(h, "%s; trying the next port", msg);
	else if (r && r != -EINTR)        /* a signal is reported by hook_run */
		hook_say(h, "%s", msg);
	explicit_bzero(&reply, sizeof(reply));
	if (r)
		return r;
	hook_out_release(h);
	return 0;
}

static void stream_closed(int *fd)
{
	close(*fd);
	*fd = -1;
}

static int read_out(struct hook_run *h)
{
	char buf[HOOK_CHUNK];
	size_t cap = sizeof(buf);
	ssize_t n;

	if (holding(h) && sizeof(h->pending) - h->pending_len < cap)
		cap = sizeof(h->pending) - h->pending_len;
	n = read(h->out_fd, buf, cap);
	if (n < 0 && errno != EINTR && errno != EAGAIN) {
		hook_say(h, "cannot read mosh-server's output: %s", strerror(errno));
		return -EIO;
	}
	if (n < 0)
		return 0;
	if (n == 0) {
		stream_closed(&h->out_fd);
		return hook_out_eof(h);
	}
	return hook_out_feed(h, buf, (size_t)n);
}

static int read_err(struct hook_run *h)
{
	char buf[HOOK_CHUNK];
	ssize_t n = read(h->err_fd, buf, sizeof(buf));

	if (n < 0 && errno != EINTR && errno != EAGAIN) {
		hook_say(h, "cannot read mosh-server's output: %s", strerror(errno));
		return -EIO;
	}
	if (n < 0)
		return 0;
	if (n == 0)
		stream_closed(&h->err_fd);
	else
		hook_err_feed(h, buf, (size_t)n);
	return 0;
}

/* stdout is not read while it is held and the hold buffer is full. */
static bool want_out(const struct hook_run *h)
{
	return h->out_fd >= 0 &&
	       !(holding(h) && h->pending_len == sizeof(h->pending));
}

static bool streams_done(const struct hook_run *h)
{
	return h->err_fd < 0 && !want_out(h);
}

static int wait_timeout_ms(const struct hook_run *h, uint64_t drain_end)
{
	uint64_t now = mh_now_ms();

	if (h->server_done)
		return drain_end > now ? (int)(drain_end - now) : 0;
	return h->pidfd >= 0 ? -1 : HOOK_TICK_MS;
}

/* One wait for output, mosh-server's exit or a signal. */
static int wait_once(struct hook_run *h, uint64_t drain_end)
{
	struct pollfd p[3];
	int n = 0, out = -1, err = -1, ms = wait_timeout_ms(h, drain_end), r;
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	if (want_out(h))
		p[out = n++] = (struct pollfd){ .fd = h->out_fd, .events = POLLIN };
	if (h->err_fd >= 0)
		p[err = n++] = (struct pollfd){ .fd = h->err_fd, .events = POLLIN };
	if (h->pidfd >= 0)
		p[n++] = (struct pollfd){ .fd = h->pidfd, .events = POLLIN };
	r = ppoll(p, (nfds_t)n, ms < 0 ? NULL : &ts, &h->wait_mask);
	if (r < 0 && errno == EINTR)
		return hook_signal ? -EINTR : 0;
	if (r < 0) {
		hook_say(h, "waiting for mosh-server failed: %s", strerror(errno));
		return -EIO;
	}
	r = 0;
	if (out >= 0 && p[out].revents)
		r = read_out(h);
	if (!r && err >= 0 && p[err].revents)
		r = read_err(h);
	hook_reap(h);
	return r;
}

static int exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 1;
}

/* Relays until mosh-server has exited and its output is read (or the
 * drain time is over). */
static int relay(struct hook_run *h)
{
	uint64_t drain_end = 0;
	int r;

	for (;;) {
		r = maybe_announce(h);
		if (r)
			return r;
		if (h->server_done) {
			if (!drain_end)
				drain_end = mh_now_ms() + HOOK_DRAIN_MS;
			if (streams_done(h) || mh_now_ms() >= drain_end)
				break;
		}
		r = wait_once(h, drain_end);
		if (r)
			return r;
	}
	if (h->out_fd >= 0)
		r = hook_out_eof(h);      /* what stays unread is mosh-server's */
	return r ? r : maybe_announce(h);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A refused try's servers are stopped, and nothing of it is left for the
 * next: its pipes, pidfd, held line and key (wiped), the output held
 * behind the line (never shown), the detached pid. What belongs to the
 * hook's own output (err_mid_line, out_broken) stays. */
static void try_clear(struct hook_run *h)
{
	hook_kill_all(h);
	close_fd(&h->pidfd);
	close_fd(&h->out_fd);
	close_fd(&h->err_fd);
	explicit_bzero(h->line, sizeof(h->line));
	explicit_bzero(h->key, sizeof(h->key));
	explicit_bzero(h->pending, h->pending_len);
	explicit_bzero(h->eline, sizeof(h->eline));
	h->server = 0;
	h->wstatus = 0;
	h->server_done = false;
	h->ostate = OUT_START;
	h->line_len = h->pending_len = h->eline_len = 0;
	h->held = h->eline_long = false;
	h->port = 0;
	h->detached = 0;
}

/* The next try's mosh-server, once a refusal set h->next_argv. */
static int spawn_next(struct hook_run *h)
{
	int r = hook_spawn(h, h->cfg->server_path, h->next_argv);

	free(h->next_argv);
	h->next_argv = NULL;
	if (r)
		hook_say(h, "cannot start %s: %s", h->cfg->server_path, strerror(-r));
	return r;
}

int hook_run(struct hook_run *h)
{
	int r = relay(h);

	while (r && h->next_argv) {
		try_clear(h);
		if (spawn_next(h) < 0)
			return 1;         /* no server runs: nothing to stop */
		r = relay(h);
	}
	if (r == -EINTR) {
		if (h->accepted)
			return 128 + hook_signal;
		hook_say(h, "interrupted by signal %d; stopping mosh-server",
			 (int)hook_signal);
	} else if (!r && holding(h)) {
		hook_say(h, "mosh-server exited without reporting the pid of its "
			 "session server; not announcing the session");
		r = -ESRCH;
	}
	if (!r)
		return exit_code(h->wstatus);
	if (!h->accepted)
		hook_kill_all(h);
	return 1;
}
