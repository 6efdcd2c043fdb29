/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ephemeral: what the kernel's ephemeral port allocator hands out, for
 * tests/integration/t_reserve.sh. `bind` holds N UDP sockets bound to port
 * 0 at once (IPv4 and IPv6 alternately) and counts those that got a port
 * in LO..HI; `ask` sends N requests, each from a fresh port-0 socket, and
 * counts the answers (DNS-style traffic); `echo` answers them. Every loop
 * is bounded in count and time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tooling.h"

#define EPH_MAX_SOCKETS 10000
#define EPH_MAX_ASK     5000
#define EPH_ASK_WAIT_MS 1000     /* per request */
#define EPH_MAX_ECHO_S  120

static void usage(void)
{
	fprintf(stderr,
		"usage: ephemeral bind N LO HI      N port-0 sockets at once (4 and 6);\n"
		"                                   prints bound, in_range, min, max\n"
		"       ephemeral ask ADDR PORT N   N requests from fresh port-0 sockets;\n"
		"                                   prints asked, answered, in_range LO-HI\n"
		"       ephemeral echo PORT SECONDS answer every datagram (IPv4 and IPv6)\n"
		"limits: %d sockets, %d requests, %d s\n",
		EPH_MAX_SOCKETS, EPH_MAX_ASK, EPH_MAX_ECHO_S);
	exit(2);
}

static void die(const char *what)
{
	fprintf(stderr, "ephemeral: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A UDP socket of family f bound to port 0 (the kernel picks one); its port. */
static int bind_any(int f, uint16_t *port)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)f };
	socklen_t len = f == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int fd = socket(f, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		die("port-0 socket");
	*port = ntohs(f == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
				   : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int do_bind(char **argv)
{
	unsigned long n = tool_num(argv[0], 1, EPH_MAX_SOCKETS, usage);
	unsigned long lo = tool_num(argv[1], 0, 65535, usage);
	unsigned long hi = tool_num(argv[2], lo, 65535, usage);
	static int fds[EPH_MAX_SOCKETS];
	unsigned in = 0, min = 65535, max = 0;

	raise_nofile();
	for (unsigned long i = 0; i < n; i++) {
		uint16_t p;

		fds[i] = bind_any(i % 2 ? AF_INET6 : AF_INET, &p);
		in += p >= lo && p <= hi;
		min = p < min ? p : min;
		max = p > max ? p : max;
	}
	printf("bound %lu in_range %u min %u max %u\n", n, in, min, max);
	for (unsigned long i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}

static int parse_addr(const char *s, uint16_t port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
		return AF_INET6;
	}
	usage();
	return -1;
}

/* One request from a fresh port-0 socket; true if answered in time. */
static bool ask_one(int f, const struct sockaddr_storage *to, socklen_t len,
		    unsigned long i, uint16_t *port)
{
	char q[32], a[64];
	int fd = bind_any(f, port), qn = snprintf(q, sizeof(q), "query %lu", i);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	bool ok = false;
	uint64_t end = tool_now_ms() + EPH_ASK_WAIT_MS;

	if (sendto(fd, q, (size_t)qn, 0, (const struct sockaddr *)to, len) < 0)
		die("sendto");
	while (!ok && tool_now_ms() < end &&
	       poll(&pfd, 1, (int)(end - tool_now_ms())) > 0) {
		ssize_t n = recv(fd, a, sizeof(a), 0);

		ok = n == qn && !memcmp(a, q, (size_t)qn);
	}
	close(fd);
	return ok;
}

static int do_ask(char **argv)
{
	struct sockaddr_storage to;
	socklen_t len;
	int f = parse_addr(argv[0], (uint16_t)tool_num(argv[1], 1, 65535, usage), &to, &len);
	unsigned long n = tool_num(argv[2], 1, EPH_MAX_ASK, usage), answered = 0;
	unsigned lo = 65535, hi = 0;

	for (unsigned long i = 0; i < n; i++) {
		uint16_t p;

		answered += ask_one(f, &to, len, i, &p);
		lo = p < lo ? p : lo;
		hi = p > hi ? p : hi;
	}
	printf("asked %lu answered %lu ports %u-%u\n", n, answered, lo, hi);
	return 0;
}

static int do_echo(char **argv)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	unsigned long secs = tool_num(argv[1], 1, EPH_MAX_ECHO_S, usage), answered = 0;
	uint64_t end = tool_now_ms() + secs * 1000;
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), off = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	sa.sin6_port = htons((uint16_t)tool_num(argv[0], 1, 65535, usage));
	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("echo socket");
	printf("ready\n");
	fflush(stdout);
	tool_catch_stop();
	while (!tool_stop && tool_now_ms() < end) {
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		char buf[512];
		ssize_t n;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n >= 0 && sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl) == n)
			answered++;
	}
	printf("answered %lu\n", answered);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "bind"))
		return do_bind(argv + 2);
	if (argc == 5 && !strcmp(argv[1], "ask"))
		return do_ask(argv + 2);
	if (argc == 4 && !strcmp(argv[1], "echo"))
		return do_echo(argv + 2);
	usage();
	return 2;
}
