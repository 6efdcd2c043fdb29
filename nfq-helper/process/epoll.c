/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Registering a file descriptor in the daemon's epoll set under its tag
 * (EV_TAG). A utility of every file that owns a descriptor; the loop that
 * waits on the set and dispatches by tag is loop.c.
 */
#include <errno.h>
#include <sys/epoll.h>

#include "daemon.h"

int mh_epoll_add(struct mh_daemon *d, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void mh_epoll_del(struct mh_daemon *d, int fd)
{
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
}
