/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * systemd readiness (the sd_notify datagram protocol, no libsystemd): one
 * datagram such as "READY=1" or "STOPPING=1" to the unix socket named by
 * $NOTIFY_SOCKET ('@' starts an abstract name). The socket is made before
 * the syscall filter; without $NOTIFY_SOCKET everything here is a no-op.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_len;

/* $NOTIFY_SOCKET as an address; -EINVAL if it is not a unix socket name. */
static int notify_address(const char *name)
{
	size_t n = strlen(name);

	memset(&notify_addr, 0, sizeof(notify_addr));
	notify_addr.sun_family = AF_UNIX;
	if ((name[0] != '/' && name[0] != '@') || n < 2 ||
	    n >= sizeof(notify_addr.sun_path))
		return -EINVAL;
	memcpy(notify_addr.sun_path, name, n);
	if (name[0] == '@')
		notify_addr.sun_path[0] = '\0';   /* abstract: no NUL at the end */
	notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
				 (name[0] == '/'));
	return 0;
}

int mh_notify_open(void)
{
	const char *name = getenv("NOTIFY_SOCKET");
	int err;

	if (!name || !name[0] || notify_fd >= 0)
		return 0;
	err = notify_address(name);
	if (err)
		return err;
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return notify_fd < 0 ? -errno : 0;
}

void mh_notify(const char *state)
{
	if (notify_fd < 0)
		return;
	if (sendto(notify_fd, state, strlen(state), MSG_NOSIGNAL,
		   (const struct sockaddr *)&notify_addr, notify_len) < 0)
		log_warn("NOTIFY_SOCKET: sending %s: %s", state, strerror(errno));
	else
		log_debug("told systemd: %s", state);
}
