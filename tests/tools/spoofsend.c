/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * spoofsend: the spoofed-source flood of the integration tests and of
 * `make bench`. Garbage UDP datagrams to ADDR:PORT, each from the next of
 * SOURCES addresses of a test network (a raw IPv4 socket writes the
 * header), at a paced rate or as fast as sendmmsg goes; bounded in count
 * and time. Needs CAP_NET_RAW. IPv4 only. --src A.B.C.D sends from that
 * one address (a spoofed victim) instead of a network; --ssp-seq S starts
 * each payload with a to-server SSP header word, sequence numbers S, S+1,
 * ... (what passes keyless mode's visible checks; the rest stays random);
 * --ssp-dir client sets the header's direction bit to-client instead (a
 * forged reply of mosh-server's, for the gateway's reverse-path check).
 *   spoofsend ADDR PORT --net A.B.C.D/N [--sources K] [--count N]
 *             [--seconds S] [--pps R] [--len BYTES] [--src-port P]
 *   spoofsend ADDR PORT --src A.B.C.D [--ssp-seq S] [same options]
 * Prints "ready" when it starts and "sent N pps R sources K" at the end.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tooling.h"

#define SS_MAX_COUNT   2000000UL   /* datagrams per run */
#define SS_MAX_SECONDS 60
#define SS_BATCH       64
#define SS_MAX_LEN     1400        /* UDP payload bytes */
#define SS_HDR         TOOL_UDP4_HDR

struct ss_opts {
	struct in_addr dst, net;
	uint16_t port, src_port;
	unsigned prefix, len;
	unsigned long sources, count, seconds, pps;
	bool ssp;                  /* --ssp-seq given */
	bool to_client;            /* --ssp-dir client */
	uint64_t ssp_seq;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: spoofsend ADDR PORT --net A.B.C.D/N [--sources K] [--count N]\n"
		"                 [--seconds S] [--pps R] [--len BYTES] [--src-port P]\n"
		"       spoofsend ADDR PORT --src A.B.C.D [--ssp-seq S [--ssp-dir client|server]]\n"
		"                 [same options]\n"
		"limits: %lu datagrams, %d s; --net prefix 8-30; --pps 0 = as fast as it goes\n",
		SS_MAX_COUNT, SS_MAX_SECONDS);
	exit(2);
}

static void parse_net(const char *s, struct ss_opts *o)
{
	char a[32];
	const char *slash = strchr(s, '/');

	if (!slash || (size_t)(slash - s) >= sizeof(a))
		usage();
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = '\0';
	if (inet_pton(AF_INET, a, &o->net) != 1)
		usage();
	o->prefix = (unsigned)tool_num(slash + 1, 8, 30, usage);
	/* the network itself: host bits cleared */
	o->net.s_addr &= htonl(~0u << (32 - o->prefix));
}

static void parse(int argc, char **argv, struct ss_opts *o)
{
	bool net = false;

	if (argc < 3 || inet_pton(AF_INET, argv[1], &o->dst) != 1)
		usage();
	o->port = (uint16_t)tool_num(argv[2], 1, 65535, usage);
	for (int i = 3; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		if (!strcmp(k, "--net")) {
			parse_net(v, o);
			net = true;
		} else if (!strcmp(k, "--sources")) {
			o->sources = tool_num(v, 1, 1UL << 22, usage);
		} else if (!strcmp(k, "--count")) {
			o->count = tool_num(v, 1, SS_MAX_COUNT, usage);
		} else if (!strcmp(k, "--seconds")) {
			o->seconds = tool_num(v, 1, SS_MAX_SECONDS, usage);
		} else if (!strcmp(k, "--pps")) {
			o->pps = tool_num(v, 0, 10000000, usage);
		} else if (!strcmp(k, "--len")) {
			o->len = (unsigned)tool_num(v, 1, SS_MAX_LEN, usage);
		} else if (!strcmp(k, "--src")) {
			if (inet_pton(AF_INET, v, &o->net) != 1)
				usage();
			o->prefix = 32;
			net = true;
		} else if (!strcmp(k, "--ssp-seq")) {
			o->ssp_seq = tool_num(v, 0, 1UL << 40, usage);
			o->ssp = true;
		} else if (!strcmp(k, "--ssp-dir")) {
			if (strcmp(v, "client") && strcmp(v, "server"))
				usage();
			o->to_client = !strcmp(v, "client");
		} else if (!strcmp(k, "--src-port")) {
			o->src_port = (uint16_t)tool_num(v, 1, 65535, usage);
		} else {
			usage();
		}
	}
	if (!net)
		usage();
	if (o->prefix == 32) {     /* --src: that address alone */
		o->sources = 1;
		return;
	}
	/* host numbers 1 .. 2^(32-prefix) - 2: never the network or broadcast */
	if (o->sources > (1UL << (32 - o->prefix)) - 2)
		o->sources = (1UL << (32 - o->prefix)) - 2;
}

/* The k-th source address of the network (host number k + 1). */
static uint32_t source_of(const struct ss_opts *o, unsigned long k)
{
	if (o->prefix == 32)
		return o->net.s_addr;
	return htonl(ntohl(o->net.s_addr) + (uint32_t)(k % o->sources) + 1);
}

/* One datagram: IPv4 and UDP headers (tool_udp4_header), random payload
 * that never looks like anything. */
static size_t build(uint8_t *p, const struct ss_opts *o, uint32_t saddr,
		    unsigned long k)
{
	tool_udp4_header(p, saddr, o->dst.s_addr, htons(o->src_port),
			 htons(o->port), o->len);
	for (int i = 0; o->ssp && i < 8 && (unsigned)i < o->len; i++)
		p[SS_HDR + i] = (uint8_t)((o->ssp_seq + k) >> (56 - 8 * i));
	if (o->ssp && o->to_client)
		p[SS_HDR] |= 0x80;   /* the direction bit, to-client */
	return SS_HDR + o->len;
}

static uint8_t bufs[SS_BATCH][SS_HDR + SS_MAX_LEN];

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	struct ss_opts o = { .sources = 4096, .count = 100000, .seconds = 10,
			     .len = 100, .src_port = 40000 };
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct iovec iov[SS_BATCH];
	struct mmsghdr msg[SS_BATCH];
	unsigned long sent = 0, errors = 0;
	uint64_t t0, end;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse(argc, argv, &o);
	dst.sin_addr = o.dst;
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0) {
		perror("spoofsend: raw socket");
		return 1;
	}
	for (int i = 0; i < SS_BATCH; i++) {
		if (getrandom(bufs[i] + SS_HDR, o.len, 0) != (ssize_t)o.len) {
			perror("spoofsend: getrandom");
			return 1;
		}
		memset(&msg[i], 0, sizeof(msg[i]));
		msg[i].msg_hdr.msg_name = &dst;
		msg[i].msg_hdr.msg_namelen = sizeof(dst);
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	tool_catch_stop();
	printf("ready\n");
	t0 = now_us();
	end = t0 + o.seconds * 1000000;
	while (sent < o.count && !tool_stop) {
		uint64_t now = now_us();
		unsigned long n = o.count - sent < SS_BATCH ? o.count - sent : SS_BATCH;
		int r;

		if (now >= end)
			break;
		if (o.pps) {
			/* paced evenly: what is due by now, never a burst of more
			 * than 100 us worth (a token bucket must see a steady flood,
			 * not bursts with gaps a legitimate datagram could use) */
			unsigned long due = o.pps * (now - t0) / 1000000 + 1;

			if (sent >= due) {
				usleep(20);
				continue;
			}
			if (n > due - sent)
				n = due - sent;
			if (n > o.pps / 10000 + 1)
				n = o.pps / 10000 + 1;
		}
		for (unsigned long i = 0; i < n; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = build(bufs[i], &o, source_of(&o, sent + i),
					       sent + i);
		}
		r = sendmmsg(fd, msg, (unsigned)n, 0);
		if (r > 0)
			sent += (unsigned long)r;
		else
			errors++;                  /* ENOBUFS and the like: go on */
	}
	printf("sent %lu pps %.0f sources %lu errors %lu\n", sent,
	       sent * 1e6 / (double)(now_us() - t0 + 1),
	       o.sources < sent ? o.sources : sent, errors);
	close(fd);
	return 0;
}
