/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * udpsend: the smallest UDP sender and receiver the netns tests need.
 *   udpsend send [--from PORT] ADDR PORT [COUNT [INTERVAL_MS]]
 *   udpsend recv PORT TIMEOUT_MS     (IPv4 and IPv6; prints "ready" once
 *                                     bound, then "ADDR PORT LEN" per datagram)
 * Exits 0 on success, 1 on a socket error, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_COUNT 10000000

_Noreturn static void usage(void)
{
	fprintf(stderr, "usage: udpsend send [--from PORT] ADDR PORT [COUNT [INTERVAL_MS]]\n"
			"       udpsend recv PORT TIMEOUT_MS\n");
	exit(2);
}

static unsigned long num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		usage();
	return v;
}

static int die(const char *what)
{
	fprintf(stderr, "udpsend: %s: %s\n", what, strerror(errno));
	return 1;
}

static socklen_t make_addr(const char *s, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		return sizeof(*a4);
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		return sizeof(*a6);
	}
	usage();
}

static int do_send(int argc, char **argv)
{
	struct sockaddr_storage dst, src;
	unsigned long from = 0, count = 1, interval = 0;
	socklen_t len;
	int fd, one = 1;

	if (argc >= 2 && !strcmp(argv[0], "--from")) {
		from = num(argv[1], 65535);
		argc -= 2;
		argv += 2;
	}
	if (argc < 2 || argc > 4)
		usage();
	len = make_addr(argv[0], (uint16_t)num(argv[1], 65535), &dst);
	if (argc >= 3)
		count = num(argv[2], MAX_COUNT);
	if (argc == 4)
		interval = num(argv[3], 10000);
	fd = socket(dst.ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&src, 0, sizeof(src));
	src.ss_family = dst.ss_family;
	((struct sockaddr_in *)&src)->sin_port = htons((uint16_t)from); /* same offset in v6 */
	if (bind(fd, (struct sockaddr *)&src, len) < 0)
		return die("bind");
	for (unsigned long i = 0; i < count; i++) {
		char msg[64];
		int n = snprintf(msg, sizeof(msg), "mosh-helper test datagram %lu", i);
		struct timespec ts = { (time_t)(interval / 1000), (long)(interval % 1000) * 1000000L };

		/* a refused datagram (EPERM from a drop in output) is not fatal */
		if (sendto(fd, msg, (size_t)n, 0, (struct sockaddr *)&dst, len) < 0 &&
		    errno != EPERM)
			return die("sendto");
		if (interval && i + 1 < count)
			nanosleep(&ts, NULL);
	}
	close(fd);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int do_recv(int argc, char **argv)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	long long end;
	int fd, off = 0, one = 1;

	if (argc != 2)
		usage();
	a.sin6_port = htons((uint16_t)num(argv[0], 65535));
	end = now_ms() + (long long)num(argv[1], 3600000);
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0)
		return die("socket");
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	/* a sender may share the port (a server answering from it) */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return die("bind");
	printf("ready\n");
	fflush(stdout);
	for (long long left; (left = end - now_ms()) > 0;) {
		struct pollfd p = { fd, POLLIN, 0 };
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		char buf[2048], addr[INET6_ADDRSTRLEN];
		const char *shown;
		ssize_t n;

		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		inet_ntop(AF_INET6, &from.sin6_addr, addr, sizeof(addr));
		shown = strncmp(addr, "::ffff:", 7) ? addr : addr + 7;  /* v4-mapped */
		printf("%s %u %zd\n", shown, ntohs(from.sin6_port), n);
		fflush(stdout);
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "send"))
		return do_send(argc - 2, argv + 2);
	if (!strcmp(argv[1], "recv"))
		return do_recv(argc - 2, argv + 2);
	usage();
}
