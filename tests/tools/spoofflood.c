/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * spoofflood: UDP garbage from spoofed IPv4 sources (issue 11), for the
 * single-port flood test and bench. A raw socket (IP_HDRINCL) sends
 * datagrams of random length MIN..MAX with random bytes, each from a random
 * address of a /16 test prefix and a random port; --plausible PCT makes
 * that share start with a to-server SSP header of a small sequence number
 * (6 zero bytes), what the kernel's shape checks let through. As fast as
 * the socket takes them, or --pps; bounded by SECONDS (<= 60) and COUNT.
 *   spoofflood DST PORT SECONDS COUNT --prefix A.B --len MIN MAX
 *              [--plausible PCT] [--pps N]
 * Prints "sent N pps P".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tooling.h"

#define SF_BATCH 64
#define SF_MAX_LEN 1500

static void usage(void)
{
	fprintf(stderr, "usage: spoofflood DST PORT SECONDS COUNT --prefix A.B "
		"--len MIN MAX [--plausible PCT] [--pps N]\n");
	exit(2);
}

struct sf {
	struct in_addr dst;
	uint16_t port;
	uint8_t prefix[2];
	unsigned min, max, plausible, pps;
	uint8_t rnd[65536];
	unsigned rpos;
};

/* getrandom of more than 256 bytes returns short (or fails with EINTR)
 * when a signal arrives, as the SIGTERM that ends a flood does: retry, so
 * the flood still ends with its "sent" line. */
static void refill(uint8_t *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = getrandom(p + done, n - done, 0);

		if (r < 0 && errno != EINTR) {
			perror("spoofflood: getrandom");
			exit(1);
		}
		if (r > 0)
			done += (size_t)r;
	}
}

static uint32_t rnd32(struct sf *f)
{
	uint32_t v;

	if (f->rpos + 4 > sizeof(f->rnd)) {
		refill(f->rnd, sizeof(f->rnd));
		f->rpos = 0;
	}
	memcpy(&v, f->rnd + f->rpos, 4);
	f->rpos += 4;
	return v;
}

/* One datagram into buf (IP header, UDP header, payload); its length. */
static size_t make(struct sf *f, uint8_t *buf)
{
	size_t len = f->min + rnd32(f) % (f->max - f->min + 1), i;
	struct iphdr *ip = (struct iphdr *)buf;
	struct udphdr *u = (struct udphdr *)(buf + sizeof(*ip));
	uint8_t *pl = buf + sizeof(*ip) + sizeof(*u);
	uint32_t a = rnd32(f);

	memset(buf, 0, sizeof(*ip) + sizeof(*u));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons((uint16_t)(sizeof(*ip) + sizeof(*u) + len));
	ip->saddr = htonl((uint32_t)f->prefix[0] << 24 | (uint32_t)f->prefix[1] << 16 |
			  ((a & 0xffff) ? (a & 0xffff) : 1));
	ip->daddr = f->dst.s_addr;
	u->source = htons((uint16_t)(1024 + (a >> 16) % 60000));
	u->dest = htons(f->port);
	u->len = htons((uint16_t)(sizeof(*u) + len));
	for (i = 0; i < len; i += 4) {
		uint32_t v = rnd32(f);

		memcpy(pl + i, &v, len - i < 4 ? len - i : 4);
	}
	if (f->plausible && rnd32(f) % 100 < f->plausible)
		memset(pl, 0, len < 6 ? len : 6);
	return sizeof(*ip) + sizeof(*u) + len;
}

static void parse(int argc, char **argv, struct sf *f, unsigned long *secs,
		  unsigned long *count)
{
	int i;

	if (argc < 5 || inet_pton(AF_INET, argv[1], &f->dst) != 1)
		usage();
	f->port = (uint16_t)tool_num(argv[2], 1, 65535, usage);
	*secs = tool_num(argv[3], 1, 60, usage);
	*count = tool_num(argv[4], 1, 100000000, usage);
	for (i = 5; i < argc; i++) {
		if (!strcmp(argv[i], "--prefix") && i + 1 < argc) {
			unsigned a, b;

			if (sscanf(argv[++i], "%u.%u", &a, &b) != 2 || a > 255 || b > 255)
				usage();
			f->prefix[0] = (uint8_t)a;
			f->prefix[1] = (uint8_t)b;
		} else if (!strcmp(argv[i], "--len") && i + 2 < argc) {
			f->min = (unsigned)tool_num(argv[++i], 1, SF_MAX_LEN, usage);
			f->max = (unsigned)tool_num(argv[++i], f->min, SF_MAX_LEN, usage);
		} else if (!strcmp(argv[i], "--plausible") && i + 1 < argc) {
			f->plausible = (unsigned)tool_num(argv[++i], 0, 100, usage);
		} else if (!strcmp(argv[i], "--pps") && i + 1 < argc) {
			f->pps = (unsigned)tool_num(argv[++i], 1, 10000000, usage);
		} else {
			usage();
		}
	}
	if (!f->min || !f->prefix[0])
		usage();
}

int main(int argc, char **argv)
{
	static struct sf f = { .rpos = sizeof(f.rnd) };
	static uint8_t buf[SF_BATCH][SF_MAX_LEN + 28];
	struct mmsghdr mm[SF_BATCH];
	struct iovec iov[SF_BATCH];
	struct sockaddr_in to = { .sin_family = AF_INET };
	unsigned long secs, count, sent = 0;
	uint64_t t0, now;
	int fd, one = 1, k;

	parse(argc, argv, &f, &secs, &count);
	to.sin_addr = f.dst;
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0) {
		perror("spoofflood: raw socket");
		return 1;
	}
	tool_catch_stop();
	t0 = now = tool_now_ms();
	while (!tool_stop && sent < count && now - t0 < secs * 1000) {
		unsigned n = count - sent < SF_BATCH ? (unsigned)(count - sent) : SF_BATCH;
		int r;

		if (f.pps && sent > (now - t0) * f.pps / 1000) {
			usleep(1000);
			now = tool_now_ms();
			continue;
		}
		for (k = 0; k < (int)n; k++) {
			iov[k] = (struct iovec){ buf[k], make(&f, buf[k]) };
			mm[k] = (struct mmsghdr){ .msg_hdr = { .msg_name = &to,
				.msg_namelen = sizeof(to), .msg_iov = &iov[k], .msg_iovlen = 1 } };
		}
		r = sendmmsg(fd, mm, n, 0);
		if (r > 0)
			sent += (unsigned long)r;
		now = tool_now_ms();
	}
	printf("sent %lu pps %lu\n", sent,
	       sent * 1000 / (now - t0 ? now - t0 : 1));
	close(fd);
	return 0;
}
