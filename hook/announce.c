/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helper-hook's only conversation with mosh-helperd: connect to the
 * control socket, send one ANNOUNCE (port, key unless keyless, pid,
 * SSH_CONNECTION) and wait at most hook_timeout seconds for the REPLY.
 * Every way this can fail becomes one sentence for the user.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctlproto.h"
#include "hook.h"

/* SSH_CONNECTION is a hint for the daemon; a value the protocol cannot
 * carry is sent as "". */
static void fill_announce(const struct hook_run *h, struct mhc_announce *a)
{
	const char *ssh = getenv("SSH_CONNECTION");
	size_t n = ssh ? strlen(ssh) : 0;

	memset(a, 0, sizeof(*a));
	a->port = h->port;
	a->pid = (uint32_t)h->detached;
	if (!h->cfg->keyless)   /* keyless: the key stays between us and the client */
		memcpy(a->key, h->key, sizeof(a->key));
	for (size_t i = 0; i < n; i++)
		if (ssh[i] < 0x20 || ssh[i] > 0x7e)
			n = 0;
	if (n && n <= MHC_SSH_CONN_MAX)
		memcpy(a->ssh_connection, ssh, n);
}

static int connect_daemon(const struct mh_config *cfg, int *fd, char *msg,
			  size_t msglen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = cfg->hook_timeout };
	int r;

	/* the config guarantees the path fits with its NUL */
	memcpy(sun.sun_path, cfg->control_socket,
	       strnlen(cfg->control_socket, sizeof(sun.sun_path) - 1));
	*fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (*fd < 0) {
		r = -errno;
		snprintf(msg, msglen, "cannot create a socket: %s", strerror(-r));
		return r;
	}
	/* a full listen backlog makes connect wait: bounded by SO_SNDTIMEO */
	setsockopt(*fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(*fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return 0;
	r = -errno;
	if (r == -EAGAIN || r == -EINPROGRESS)
		snprintf(msg, msglen, "mosh-helperd at %s did not answer within %u s",
			 cfg->control_socket, cfg->hook_timeout);
	else
		snprintf(msg, msglen, "cannot reach mosh-helperd at %s: %s",
			 cfg->control_socket, strerror(-r));
	return r;
}

/* Waits for one message until end_ms; its length, or -errno with msg set. */
static ssize_t await_reply(const struct hook_run *h, int fd, uint64_t end_ms,
			   uint8_t *buf, size_t cap, char *msg, size_t msglen)
{
	const char *path = h->cfg->control_socket;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t now;
	ssize_t n = -1;
	int e = ETIMEDOUT;

	while ((now = mh_now_ms()) < end_ms) {
		struct timespec ts = { .tv_sec = (time_t)((end_ms - now) / 1000),
				       .tv_nsec = (long)((end_ms - now) % 1000) * 1000000 };
		int r = ppoll(&pfd, 1, &ts, &h->wait_mask);

		if (r < 0 && errno == EINTR && hook_signal) {
			snprintf(msg, msglen, "interrupted by signal %d while waiting for mosh-helperd",
				 (int)hook_signal);
			return -EINTR;
		}
		if (r <= 0)
			continue;
		n = recv(fd, buf, cap, MSG_TRUNC | MSG_DONTWAIT);
		if (n >= 0)
			break;
		if (errno != EINTR && errno != EAGAIN) {
			e = errno;
			break;
		}
	}
	if (n > 0)
		return n;
	if (n == 0)
		snprintf(msg, msglen, "mosh-helperd at %s closed the connection without answering",
			 path);
	else if (e == ETIMEDOUT)
		snprintf(msg, msglen, "mosh-helperd at %s did not answer within %u s",
			 path, h->cfg->hook_timeout);
	else
		snprintf(msg, msglen, "cannot talk to mosh-helperd at %s: %s", path,
			 strerror(e));
	return n == 0 ? -ECONNRESET : -e;
}

static int judge_reply(const uint8_t *buf, size_t len, size_t cap,
		       struct mhc_reply *reply, char *msg, size_t msglen)
{
	struct mhc_msg m;
	const char *why = NULL;

	if (len > cap)
		why = "longer than the largest message";
	else if (mhc_decode(buf, len, &m, &why) == 0 && m.type != MHC_REPLY)
		why = "not a reply";
	if (why) {
		snprintf(msg, msglen, "mosh-helperd sent a malformed reply (%s)", why);
		return -EPROTO;
	}
	if (m.u.reply.status == MHC_OK)
		return 0;
	*reply = m.u.reply;
	if (m.u.reply.reason[0])
		snprintf(msg, msglen, "mosh-helperd refused the session: %s (%s)",
			 m.u.reply.reason, mhc_status_name(m.u.reply.status));
	else
		snprintf(msg, msglen, "mosh-helperd refused the session (%s)",
			 mhc_status_name(m.u.reply.status));
	return -EPERM;
}

int hook_announce(const struct hook_run *h, struct mhc_reply *reply, char *msg,
		  size_t msglen)
{
	uint64_t end_ms = mh_now_ms() + (uint64_t)h->cfg->hook_timeout * 1000;
	uint8_t buf[MHC_MAX_MSG + 1];
	struct mhc_announce a;
	ssize_t n;
	int fd = -1, r;

	memset(reply, 0, sizeof(*reply));   /* MHC_OK: no refusal */
	fill_announce(h, &a);
	n = mhc_encode_announce(&a, buf, sizeof(buf));
	explicit_bzero(a.key, sizeof(a.key));
	if (n < 0) {
		snprintf(msg, msglen, "cannot encode the announcement: %s", strerror((int)-n));
		r = (int)n;
		goto out;
	}
	r = connect_daemon(h->cfg, &fd, msg, msglen);
	if (r)
		goto out;
	if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n) {
		r = -errno;
		snprintf(msg, msglen, "cannot talk to mosh-helperd at %s: %s",
			 h->cfg->control_socket, strerror(-r));
		goto out;
	}
	n = await_reply(h, fd, end_ms, buf, sizeof(buf) - 1, msg, msglen);
	r = n < 0 ? (int)n : judge_reply(buf, (size_t)n, sizeof(buf) - 1, reply,
					 msg, msglen);
out:
	explicit_bzero(buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	return r;
}
