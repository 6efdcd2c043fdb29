/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mhannounce: a direct control-socket client for the local-abuse tests. It
 * sends one announcement with whatever port, pid and key it is given (no
 * mosh-server involved) and prints the daemon's status and reason.
 * --squat: the port squatter of issue 11: binds PORT on ADDR itself,
 * announces it with its own pid, closes the socket ("released" once it is
 * closed) and stays alive SECONDS (at most 600), holding only the session.
 * Exit: 0 accepted, 1 refused, 2 usage or transport error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlproto.h"

#define MA_TIMEOUT_MS 5000

static void usage(void)
{
	fprintf(stderr, "usage: mhannounce SOCKET PORT PID KEY [SSH_CONNECTION]\n"
			"       mhannounce --squat SOCKET PORT KEY ADDR SECONDS "
			"[SSH_CONNECTION]\n");
	exit(2);
}

static long parse_num(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < 0 || v > max)
		usage();
	return v;
}

static int connect_ctl(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Send the announcement, wait for one reply; 0 or -errno. */
static int exchange(int fd, const struct mhc_announce *a, struct mhc_msg *r)
{
	uint8_t buf[MHC_MAX_MSG];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	const char *why = NULL;
	ssize_t n = mhc_encode_announce(a, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
		return -errno;
	if (poll(&pfd, 1, MA_TIMEOUT_MS) <= 0)
		return -ETIMEDOUT;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	if (mhc_decode(buf, (size_t)n, r, &why) < 0 || r->type != MHC_REPLY) {
		fprintf(stderr, "mhannounce: bad reply: %s\n", why ? why : "not a reply");
		return -EPROTO;
	}
	return 0;
}

/* A UDP socket bound to addr:port (IPv6 takes IPv4 too, as the host's
 * default has it); the descriptor or -errno. */
static int bind_udp(const char *addr, uint16_t port)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	bool v6 = strchr(addr, ':') != NULL;
	int fd, ok;

	ok = v6 ? inet_pton(AF_INET6, addr, &s6.sin6_addr)
		: inet_pton(AF_INET, addr, &s4.sin_addr);
	if (ok != 1)
		usage();
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if ((v6 ? bind(fd, (struct sockaddr *)&s6, sizeof(s6))
		: bind(fd, (struct sockaddr *)&s4, sizeof(s4))) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int squat(int argc, char **argv)
{
	struct mhc_announce a = { 0 };
	struct mhc_msg r;
	unsigned seconds;
	int fd, udp, err;

	if (argc < 7 || argc > 8)
		usage();
	a.port = (uint16_t)parse_num(argv[3], 65535);
	a.pid = (uint32_t)getpid();
	snprintf(a.key, sizeof(a.key), "%s", argv[4]);
	seconds = (unsigned)parse_num(argv[6], 600);
	if (argc == 8)
		snprintf(a.ssh_connection, sizeof(a.ssh_connection), "%s", argv[7]);
	udp = bind_udp(argv[5], a.port);
	if (udp < 0) {
		fprintf(stderr, "mhannounce: bind %s port %u: %s\n", argv[5], a.port,
			strerror(-udp));
		return 2;
	}
	fd = connect_ctl(argv[2]);
	if (fd < 0) {
		fprintf(stderr, "mhannounce: %s: %s\n", argv[2], strerror(-fd));
		return 2;
	}
	err = exchange(fd, &a, &r);
	close(fd);
	close(udp);
	if (err < 0) {
		fprintf(stderr, "mhannounce: %s\n", strerror(-err));
		return 2;
	}
	printf("%s %s\nreleased port %u, pid %d stays\n",
	       mhc_status_name(r.u.reply.status), r.u.reply.reason, a.port,
	       (int)getpid());
	fflush(stdout);
	while (seconds)
		seconds = sleep(seconds);
	return r.u.reply.status == MHC_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct mhc_announce a = { 0 };
	struct mhc_msg r;
	int fd, err;

	if (argc > 1 && !strcmp(argv[1], "--squat"))
		return squat(argc, argv);
	if (argc < 5 || argc > 6)
		usage();
	a.port = (uint16_t)parse_num(argv[2], 65535);
	a.pid = (uint32_t)parse_num(argv[3], 0x7fffffffL);
	snprintf(a.key, sizeof(a.key), "%s", argv[4]);
	if (argc == 6)
		snprintf(a.ssh_connection, sizeof(a.ssh_connection), "%s", argv[5]);
	fd = connect_ctl(argv[1]);
	if (fd < 0) {
		fprintf(stderr, "mhannounce: %s: %s\n", argv[1], strerror(-fd));
		return 2;
	}
	err = exchange(fd, &a, &r);
	close(fd);
	if (err < 0) {
		fprintf(stderr, "mhannounce: %s\n", strerror(-err));
		return 2;
	}
	printf("%s %s\n", mhc_status_name(r.u.reply.status), r.u.reply.reason);
	return r.u.reply.status == MHC_OK ? 0 : 1;
}
