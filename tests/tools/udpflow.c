/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * udpflow: a steady UDP flow for the failover tests. "echo" answers every
 * datagram to its sender and names each new source once; "ping" sends a
 * numbered datagram every INTERVAL_MS and prints each echo with the wall
 * clock (ms since the epoch), so a test can tell when a flow stopped and
 * when it came back. IPv4 and IPv6; bounded in time.
 *   udpflow echo PORT SECONDS
 *   udpflow ping [--from PORT] ADDR PORT SECONDS INTERVAL_MS
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tooling.h"

#define UF_MAX_SECONDS 600
#define UF_MAX_SOURCES 64
#define UF_BUF         512

struct uf_source {
	struct sockaddr_in6 a;
	unsigned long n;
};

static void usage(void)
{
	fprintf(stderr, "usage: udpflow echo PORT SECONDS\n"
		"       udpflow ping [--from PORT] ADDR PORT SECONDS INTERVAL_MS\n"
		"limits: %d s\n", UF_MAX_SECONDS);
	exit(2);
}

static int die(const char *what)
{
	fprintf(stderr, "udpflow: %s: %s\n", what, strerror(errno));
	return 1;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* a dual-stack UDP socket bound to port (0: any) */
static int open_socket(uint16_t port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	int fd = socket(AF_INET6, SOCK_DGRAM, 0), off = 0, one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin6_port = htons(port);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* "ADDR PORT" of a v6 (or v4-mapped) socket address */
static void show(const struct sockaddr_in6 *a, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
		inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, sizeof(ip));
	else
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
	snprintf(out, len, "%s %u", ip, ntohs(a->sin6_port));
}

static struct uf_source *source_of(struct uf_source *s, size_t *n, const struct sockaddr_in6 *a)
{
	char txt[INET6_ADDRSTRLEN + 8];

	for (size_t i = 0; i < *n; i++)
		if (!memcmp(&s[i].a.sin6_addr, &a->sin6_addr, 16) && s[i].a.sin6_port == a->sin6_port)
			return &s[i];
	if (*n == UF_MAX_SOURCES)
		return NULL;
	s[*n] = (struct uf_source){ .a = *a };
	show(a, txt, sizeof(txt));
	printf("new %s\n", txt);
	fflush(stdout);
	return &s[(*n)++];
}

static void echo_summary(const struct uf_source *s, size_t n)
{
	char txt[INET6_ADDRSTRLEN + 8];

	for (size_t i = 0; i < n; i++) {
		show(&s[i].a, txt, sizeof(txt));
		printf("count %s %lu\n", txt, s[i].n);
	}
}

static int do_echo(int argc, char **argv)
{
	struct uf_source src[UF_MAX_SOURCES];
	size_t nsrc = 0;
	uint64_t end;
	int fd;

	if (argc != 2)
		usage();
	fd = open_socket((uint16_t)tool_num(argv[0], 1, 65535, usage));
	end = tool_now_ms() + 1000 * tool_num(argv[1], 1, UF_MAX_SECONDS, usage);
	if (fd < 0)
		return die("socket");
	printf("ready\n");
	fflush(stdout);
	while (!tool_stop && tool_now_ms() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		char buf[UF_BUF];
		ssize_t r;
		struct uf_source *s;

		if (poll(&p, 1, 200) <= 0)
			continue;
		r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (r < 0)
			continue;
		if ((s = source_of(src, &nsrc, &from)))
			s->n++;
		sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&from, fl);
	}
	echo_summary(src, nsrc);
	return 0;
}

struct uf_ping {
	int fd;
	struct sockaddr_storage dst;
	socklen_t dlen;
	unsigned long sent, echoed;
	uint64_t last_echo, max_gap;
};

static socklen_t make_addr(const char *s, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	/* the socket is dual-stack: IPv4 goes as a v4-mapped address */
	memset(ss, 0, sizeof(*ss));
	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons(port);
	if (inet_pton(AF_INET, s, &a6->sin6_addr.s6_addr[12]) == 1) {
		a6->sin6_addr.s6_addr[10] = a6->sin6_addr.s6_addr[11] = 0xff;
		return sizeof(*a6);
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1)
		return sizeof(*a6);
	usage();
	return 0;
}

static void ping_recv(struct uf_ping *pg)
{
	char buf[UF_BUF];
	ssize_t r = recv(pg->fd, buf, sizeof(buf) - 1, 0);
	uint64_t now = wall_ms();

	if (r <= 0)
		return;
	buf[r] = '\0';
	if (pg->last_echo && now - pg->last_echo > pg->max_gap)
		pg->max_gap = now - pg->last_echo;
	pg->last_echo = now;
	pg->echoed++;
	printf("echo %s %llu\n", strncmp(buf, "seq ", 4) ? "?" : buf + 4,
	       (unsigned long long)now);
	fflush(stdout);
}

static void ping_loop(struct uf_ping *pg, uint64_t end, unsigned interval)
{
	uint64_t next = tool_now_ms();

	while (!tool_stop && tool_now_ms() < end) {
		uint64_t now = tool_now_ms();
		struct pollfd p = { pg->fd, POLLIN, 0 };

		if (now >= next) {
			char msg[32];
			int n = snprintf(msg, sizeof(msg), "seq %lu", pg->sent++);

			/* a refused datagram (a drop in output) is not fatal */
			sendto(pg->fd, msg, (size_t)n, 0, (struct sockaddr *)&pg->dst, pg->dlen);
			next += interval;
			continue;
		}
		if (poll(&p, 1, (int)(next - now)) > 0)
			ping_recv(pg);
	}
}

static int do_ping(int argc, char **argv)
{
	struct uf_ping pg = { 0 };
	unsigned long from = 0, secs, interval;

	if (argc >= 2 && !strcmp(argv[0], "--from")) {
		from = tool_num(argv[1], 1, 65535, usage);
		argc -= 2;
		argv += 2;
	}
	if (argc != 4)
		usage();
	pg.dlen = make_addr(argv[0], (uint16_t)tool_num(argv[1], 1, 65535, usage), &pg.dst);
	secs = tool_num(argv[2], 1, UF_MAX_SECONDS, usage);
	interval = tool_num(argv[3], 1, 10000, usage);
	pg.fd = open_socket((uint16_t)from);
	if (pg.fd < 0)
		return die("socket");
	printf("ready\n");
	fflush(stdout);
	ping_loop(&pg, tool_now_ms() + 1000 * secs, (unsigned)interval);
	printf("sent %lu echoed %lu max_gap_ms %llu\n", pg.sent, pg.echoed,
	       (unsigned long long)pg.max_gap);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	tool_catch_stop();
	if (!strcmp(argv[1], "echo"))
		return do_echo(argc - 2, argv + 2);
	if (!strcmp(argv[1], "ping"))
		return do_ping(argc - 2, argv + 2);
	usage();
	return 2;
}
