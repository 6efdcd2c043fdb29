/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helperctl's transport: connect to the control socket, send one
 * request, wait (bounded) for the one reply and any descriptor passed with
 * it, decode it. Every failure to get a reply is one line on stderr.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

static int open_conn(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, CTL_NAME ": cannot connect to %s: %s\n", path,
			strerror(ENAMETOOLONG));
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, CTL_NAME ": cannot connect to mosh-helperd at %s: %s\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The passed descriptor of a received message, or -1. */
static int passed_fd(struct msghdr *mh)
{
	struct cmsghdr *c;
	int fd = -1;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)) && fd < 0)
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static ssize_t recv_reply(int fd, const char *path, uint8_t *buf, size_t cap,
			  int *pidfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int r = poll(&p, 1, CTL_TIMEOUT_MS);

	if (r <= 0) {
		fprintf(stderr, CTL_NAME ": mosh-helperd at %s did not answer within "
			"%d ms%s%s\n", path, CTL_TIMEOUT_MS, r < 0 ? ": " : "",
			r < 0 ? strerror(errno) : "");
		return -1;
	}
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_TRUNC);
	*pidfd = n >= 0 ? passed_fd(&mh) : -1;
	if (n <= 0) {
		fprintf(stderr, CTL_NAME ": mosh-helperd at %s closed the connection "
			"without a reply%s%s\n", path, n < 0 ? ": " : "",
			n < 0 ? strerror(errno) : "");
		return -1;
	}
	if ((size_t)n > cap) {
		fprintf(stderr, CTL_NAME ": the reply of mosh-helperd at %s is longer "
			"than the protocol allows\n", path);
		return -1;
	}
	return n;
}

int ctl_ask(const char *path, const uint8_t *req, size_t len,
	    struct mhc_msg *m, int *pidfd)
{
	uint8_t buf[MHC_MAX_MSG + 1];
	const char *why = NULL;
	int fd = open_conn(path);
	ssize_t n = -1;

	*pidfd = -1;
	if (fd < 0)
		return CTL_UNREACHABLE;
	if (send(fd, req, len, MSG_NOSIGNAL) < 0)
		fprintf(stderr, CTL_NAME ": sending to mosh-helperd at %s: %s\n",
			path, strerror(errno));
	else
		n = recv_reply(fd, path, buf, MHC_MAX_MSG, pidfd);
	close(fd);
	if (n < 0)
		return CTL_UNREACHABLE;
	if (mhc_decode(buf, (size_t)n, m, &why) < 0) {
		fprintf(stderr, CTL_NAME ": malformed reply from mosh-helperd at %s: "
			"%s\n", path, why);
		if (*pidfd >= 0)
			close(*pidfd);
		*pidfd = -1;
		return CTL_UNREACHABLE;
	}
	return CTL_OK;
}
