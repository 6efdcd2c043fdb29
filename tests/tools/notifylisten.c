/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * notifylisten: the systemd side of the readiness protocol, for the
 * hardening test. Binds a unix datagram socket (a path, or '@name' for an
 * abstract one), prints "listening", then one line per datagram received:
 * its text (newlines as spaces) and whether CHECK_PATH was a socket at that
 * moment. Stops after COUNT datagrams (exit 0) or TIMEOUT seconds (exit 1).
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: notifylisten SOCKET CHECK_PATH COUNT TIMEOUT_S\n");
	exit(2);
}

static int bind_name(const char *name)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	socklen_t len;
	int fd;

	if (n < 2 || n >= sizeof(sun.sun_path) || (name[0] != '/' && name[0] != '@'))
		usage();
	memcpy(sun.sun_path, name, n);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, len) < 0) {
		fprintf(stderr, "notifylisten: %s: %s\n", name, strerror(errno));
		exit(2);
	}
	if (name[0] == '/')
		chmod(name, 0666);   /* a daemon that dropped root may send too */
	return fd;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int main(int argc, char **argv)
{
	struct stat st;
	char buf[4096];
	long end, got = 0, count;
	int fd;

	if (argc != 5)
		usage();
	count = atol(argv[3]);
	end = now_ms() + atol(argv[4]) * 1000L;
	fd = bind_name(argv[1]);
	printf("listening\n");
	fflush(stdout);
	while (got < count && now_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, (int)(end - now_ms())) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			continue;
		buf[n] = '\0';
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n')
				buf[i] = ' ';
		printf("message %s | socket %s\n", buf,
		       stat(argv[2], &st) == 0 && S_ISSOCK(st.st_mode) ? "yes" : "no");
		fflush(stdout);
		got++;
	}
	if (argv[1][0] == '/')
		unlink(argv[1]);
	return got == count ? 0 : 1;
}
