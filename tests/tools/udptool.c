/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * udptool: the attacker and probe of the namespace integration tests. Sends
 * garbage, forged SSP headers or authentic sealed datagrams, replays every
 * UDP payload of a pcap capture, or counts datagrams on a port. Every loop
 * is bounded in count and time; IPv4 and IPv6. A replay with --spoof-src
 * A.B.C.D (IPv4, needs CAP_NET_RAW) writes the IP header itself, from
 * that address and --src-port: a forger's replay of another host's
 * datagrams, routed as any datagram to ADDR is.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ssp.h"
#include "ssp_test.h"
#include "tooling.h"

#define UT_MAX_COUNT     100000   /* datagrams per run */
#define UT_MAX_SECONDS   60       /* wall-clock limit of any sending run */
#define UT_MAX_LISTEN_S  600
#define UT_INTERVAL_US   200      /* pause between datagrams */
#define UT_BUF           2048

struct ut_opts {
	int src_port;        /* -1: ephemeral */
	unsigned interval_us;
	bool to_client;      /* --sealed: authentic but direction to-client */
	bool spoof;          /* replay: --spoof-src, from spoof_src:src_port */
	struct in_addr spoof_src;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: udptool send ADDR PORT --garbage N [opts]\n"
		"       udptool send ADDR PORT --forged N [opts]\n"
		"       udptool send ADDR PORT --sealed KEY SEQ N [--to-client] [opts]\n"
		"       udptool replay ADDR PORT PCAPFILE [--spoof-src A.B.C.D] [opts]\n"
		"       udptool listen PORT SECONDS\n"
		"opts: --src-port P, --interval-us U (default %d)\n"
		"limits: %d datagrams, %d s per run\n",
		UT_INTERVAL_US, UT_MAX_COUNT, UT_MAX_SECONDS);
	exit(2);
}

static long parse_num(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "udptool: bad %s '%s' (allowed %ld-%ld)\n", what, s,
			min, max);
		exit(2);
	}
	return v;
}

static void fill_random(uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom(buf + done, len - done, 0);

		if (n < 0) {
			perror("udptool: getrandom");
			exit(1);
		}
		done += (size_t)n;
	}
}

static uint32_t rand_u32(void)
{
	uint32_t v;

	fill_random((uint8_t *)&v, sizeof(v));
	return v;
}

/* A socket connected to addr:port, optionally bound to src_port. */
static int open_sender(const char *addr, const char *port, int src_port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct sockaddr_storage local = { 0 };
	struct addrinfo *ai;
	int fd, one = 1, rc;

	rc = getaddrinfo(addr, port, &hints, &ai);
	if (rc) {
		fprintf(stderr, "udptool: %s port %s: %s\n", addr, port,
			gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (fd < 0)
		goto fail;
	if (src_port >= 0) {
		local.ss_family = (sa_family_t)ai->ai_family;
		if (ai->ai_family == AF_INET)
			((struct sockaddr_in *)&local)->sin_port = htons((uint16_t)src_port);
		else
			((struct sockaddr_in6 *)&local)->sin6_port = htons((uint16_t)src_port);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&local, ai->ai_addrlen) < 0)
			goto fail;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		goto fail;
	freeaddrinfo(ai);
	return fd;
fail:
	rc = -errno;
	perror("udptool: socket");
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

static bool icmp_error(int err)
{
	return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH;
}

/* Send one datagram. An ICMP error reported back on the connected socket
 * (ECONNREFUSED: port unreachable) makes that send fail without sending:
 * it is counted (tests look for it) and the datagram is sent again. */
static int send_one(int fd, const uint8_t *buf, size_t len, unsigned *refused)
{
	for (int tries = 0; tries < 2; tries++) {
		if (send(fd, buf, len, 0) >= 0)
			return 0;
		if (!icmp_error(errno))
			break;
		(*refused)++;
	}
	if (icmp_error(errno))
		return 0;
	perror("udptool: send");
	return -errno;
}

/* One garbage datagram: random length 1-1200, random bytes. */
static size_t make_garbage(uint8_t *buf)
{
	size_t len = 1 + rand_u32() % 1200;

	fill_random(buf, len);
	return len;
}

/* A to-server header (small or random sequence number) and random body. */
static size_t make_forged(uint8_t *buf)
{
	size_t len = SSP_MIN_DATAGRAM_LEN + rand_u32() % 300;
	uint64_t seq;

	fill_random(buf, len);
	seq = (rand_u32() & 1) ? rand_u32() % 1000 : ((uint64_t)rand_u32() << 31 ^ rand_u32());
	seq &= SSP_SEQ_MASK;
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)(seq >> (56 - 8 * i));
	return len;
}

/* Plaintext that parses as timestamps plus one final fragment. */
static size_t make_plain(uint8_t *p, uint64_t seq)
{
	size_t len = SSP_TIMESTAMPS_LEN + SSP_FRAG_HEADER_LEN + 16;

	fill_random(p, len);
	for (int i = 0; i < 8; i++)
		p[SSP_TIMESTAMPS_LEN + i] = (uint8_t)(seq >> (56 - 8 * i));
	p[SSP_TIMESTAMPS_LEN + 8] = SSP_FRAG_FINAL_BIT >> 8;
	p[SSP_TIMESTAMPS_LEN + 9] = 0;
	return len;
}

static struct ssp_ctx *sealed_ctx(const char *key_b64)
{
	uint8_t key[SSP_KEY_LEN];
	struct ssp_ctx *ctx;
	const char *why = NULL;

	if (ssp_key_decode(key_b64, strlen(key_b64), key, &why) < 0) {
		fprintf(stderr, "udptool: bad key: %s\n", why ? why : "?");
		exit(2);
	}
	ctx = ssp_ctx_new(key);
	OPENSSL_cleanse(key, sizeof(key));
	if (!ctx) {
		fprintf(stderr, "udptool: ssp_ctx_new failed\n");
		exit(1);
	}
	return ctx;
}

enum send_kind { SEND_GARBAGE, SEND_FORGED, SEND_SEALED };

struct send_job {
	enum send_kind kind;
	long count;
	struct ssp_ctx *ctx;   /* SEND_SEALED */
	uint64_t seq;          /* SEND_SEALED: first sequence number */
	enum ssp_direction dir; /* SEND_SEALED */
};

static long build_one(struct send_job *j, long i, uint8_t *buf)
{
	uint8_t plain[64];
	size_t plen;

	switch (j->kind) {
	case SEND_GARBAGE:
		return (long)make_garbage(buf);
	case SEND_FORGED:
		return (long)make_forged(buf);
	case SEND_SEALED:
		plen = make_plain(plain, j->seq + (uint64_t)i);
		return ssp_seal(j->ctx, j->dir, j->seq + (uint64_t)i, plain,
				plen, buf, UT_BUF);
	}
	return -EINVAL;
}

/* SIGUSR1 ends a sending run early; the summary line is still printed. */
static volatile sig_atomic_t stop_sending;

static void on_usr1(int sig)
{
	(void)sig;
	stop_sending = 1;
}

static int run_send(int fd, struct send_job *j, const struct ut_opts *o,
		    const char *what)
{
	uint8_t buf[UT_BUF];
	uint64_t deadline = tool_now_ms() + UT_MAX_SECONDS * 1000;
	struct sigaction sa = { .sa_handler = on_usr1 };
	unsigned refused = 0;
	long i, len;

	sigaction(SIGUSR1, &sa, NULL);
	for (i = 0; i < j->count && tool_now_ms() < deadline && !stop_sending; i++) {
		len = build_one(j, i, buf);
		if (len < 0) {
			fprintf(stderr, "udptool: building datagram: %s\n",
				strerror((int)-len));
			return 1;
		}
		if (send_one(fd, buf, (size_t)len, &refused) < 0)
			return 1;
		if (o->interval_us)
			usleep(o->interval_us);
	}
	printf("sent %ld %s datagrams (ICMP errors: %u)\n", i, what,
	       refused);
	return 0;
}

static int cmd_send(int argc, char **argv, struct ut_opts *o)
{
	struct send_job j = { 0 };
	const char *what;
	int fd, rc, k = 3;

	if (argc < 5)
		usage();
	if (!strcmp(argv[k], "--garbage")) {
		j.kind = SEND_GARBAGE, what = "garbage";
	} else if (!strcmp(argv[k], "--forged")) {
		j.kind = SEND_FORGED, what = "forged";
	} else if (!strcmp(argv[k], "--sealed") && argc >= 7) {
		j.kind = SEND_SEALED, what = "sealed";
		j.ctx = sealed_ctx(argv[++k]);
		j.seq = (uint64_t)parse_num(argv[++k], 0, 0x7fffffffffffffffL, "SEQ");
		j.dir = o->to_client ? SSP_TO_CLIENT : SSP_TO_SERVER;
	} else {
		usage();
	}
	j.count = parse_num(argv[++k], 0, UT_MAX_COUNT, "count");
	fd = open_sender(argv[1], argv[2], o->src_port);
	if (fd < 0) {
		ssp_ctx_free(j.ctx);
		return 1;
	}
	rc = run_send(fd, &j, o, what);
	close(fd);
	ssp_ctx_free(j.ctx);
	return rc;
}

/* --- replay --- */

/* Offset of the IP header for a link type, -1 if unsupported. */
static int link_offset(int dlt, const uint8_t *p, size_t caplen)
{
	switch (dlt) {
	case DLT_EN10MB:
		if (caplen >= 18 && p[12] == 0x81 && p[13] == 0x00)
			return 18;
		return 14;
	case DLT_LINUX_SLL:
		return 16;
	case DLT_LINUX_SLL2:
		return 20;
	case DLT_NULL:
		return 4;
	case DLT_RAW:
#ifdef DLT_IPV4
	case DLT_IPV4:
	case DLT_IPV6:
#endif
		return 0;
	}
	return -1;
}

/* Find the UDP payload of an IPv4/IPv6 packet; 0 or -EINVAL. */
static int udp_payload(const uint8_t *ip, size_t len, const uint8_t **pl,
		       size_t *pl_len)
{
	size_t hl, ulen;

	if (len < 1)
		return -EINVAL;
	if ((ip[0] >> 4) == 4) {
		hl = (size_t)(ip[0] & 0x0f) * 4;
		if (len < 20 || hl < 20 || len < hl + 8 || ip[9] != 17)
			return -EINVAL;
		if ((ip[6] & 0x1f) || ip[7])   /* non-first fragment */
			return -EINVAL;
	} else if ((ip[0] >> 4) == 6) {
		hl = 40;
		if (len < hl + 8 || ip[6] != 17)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	ulen = (size_t)ip[hl + 4] << 8 | ip[hl + 5];
	if (ulen < 8)
		return -EINVAL;
	*pl = ip + hl + 8;
	*pl_len = ulen - 8;
	if (*pl_len > len - hl - 8)    /* truncated capture: send what we have */
		*pl_len = len - hl - 8;
	return 0;
}

/* A raw IPv4 socket that writes its own headers, and where to: 0 or -1. */
static int open_spoofer(const char *addr, const char *port, struct sockaddr_in *to)
{
	int fd;

	memset(to, 0, sizeof(*to));
	to->sin_family = AF_INET;
	to->sin_port = htons((uint16_t)parse_num(port, 1, 65535, "PORT"));
	if (inet_pton(AF_INET, addr, &to->sin_addr) != 1) {
		fprintf(stderr, "udptool: --spoof-src needs an IPv4 ADDR, not %s\n", addr);
		return -1;
	}
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);   /* the IP header as written */
	if (fd < 0)
		perror("udptool: raw socket");
	return fd;
}

/* payload from o->spoof_src:o->src_port to *to (UDP checksum 0: none) */
static int send_spoofed(int fd, const struct sockaddr_in *to, const struct ut_opts *o,
			const uint8_t *pl, size_t len)
{
	uint8_t pkt[TOOL_UDP4_HDR + UT_BUF];

	if (len > UT_BUF)
		return 0;   /* larger than any mosh datagram: skipped */
	tool_udp4_header(pkt, o->spoof_src.s_addr, to->sin_addr.s_addr,
			 htons((uint16_t)(o->src_port < 0 ? 40000 : o->src_port)),
			 to->sin_port, len);
	memcpy(pkt + TOOL_UDP4_HDR, pl, len);
	if (sendto(fd, pkt, TOOL_UDP4_HDR + len, 0, (const struct sockaddr *)to,
		   sizeof(*to)) < 0) {
		perror("udptool: sendto");
		return -1;
	}
	return 0;
}

static int cmd_replay(int argc, char **argv, const struct ut_opts *o)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	uint64_t deadline = tool_now_ms() + UT_MAX_SECONDS * 1000;
	struct pcap_pkthdr *hdr;
	const uint8_t *pkt, *pl;
	unsigned refused = 0, seen = 0, sent = 0;
	size_t pl_len;
	pcap_t *pc;
	struct sockaddr_in to;
	int fd, dlt, off, rc = 0;

	if (argc < 4)
		usage();
	pc = pcap_open_offline(argv[3], errbuf);
	if (!pc) {
		fprintf(stderr, "udptool: %s\n", errbuf);
		return 1;
	}
	dlt = pcap_datalink(pc);
	fd = o->spoof ? open_spoofer(argv[1], argv[2], &to)
		      : open_sender(argv[1], argv[2], o->src_port);
	if (fd < 0) {
		pcap_close(pc);
		return 1;
	}
	while (sent < UT_MAX_COUNT && tool_now_ms() < deadline &&
	       pcap_next_ex(pc, &hdr, &pkt) == 1) {
		off = link_offset(dlt, pkt, hdr->caplen);
		if (off < 0) {
			fprintf(stderr, "udptool: unsupported link type %d\n", dlt);
			rc = 1;
			break;
		}
		if ((size_t)off > hdr->caplen ||
		    udp_payload(pkt + off, hdr->caplen - (size_t)off, &pl, &pl_len) < 0)
			continue;
		seen++;
		if (o->spoof ? send_spoofed(fd, &to, o, pl, pl_len) < 0
			     : send_one(fd, pl, pl_len, &refused) < 0) {
			rc = 1;
			break;
		}
		sent++;
		if (o->interval_us)
			usleep(o->interval_us);
	}
	printf("replayed %u of %u UDP payloads from %s (ICMP errors: %u)\n",
	       sent, seen, argv[3], refused);
	close(fd);
	pcap_close(pc);
	return rc;
}

/* --- listen --- */

static int cmd_listen(int argc, char **argv)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	uint8_t buf[UT_BUF];
	uint64_t deadline;
	unsigned long count = 0;
	int fd, zero = 0;

	if (argc != 3)
		usage();
	sa.sin6_port = htons((uint16_t)parse_num(argv[1], 1, 65535, "PORT"));
	deadline = tool_now_ms() + (uint64_t)parse_num(argv[2], 0, UT_MAX_LISTEN_S, "SECONDS") * 1000;
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("udptool: listen");
		return 1;
	}
	fprintf(stderr, "listening on port %s for %s s\n", argv[1], argv[2]);
	for (;;) {
		uint64_t now = tool_now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (now >= deadline)
			break;
		if (poll(&pfd, 1, (int)(deadline - now)) > 0 &&
		    recv(fd, buf, sizeof(buf), 0) >= 0)
			count++;
	}
	printf("%lu\n", count);
	close(fd);
	return 0;
}

/* Strip --src-port / --interval-us / --to-client / --spoof-src from argv. */
static int parse_opts(int argc, char **argv, struct ut_opts *o)
{
	int out = 0;

	o->src_port = -1;
	o->interval_us = UT_INTERVAL_US;
	o->to_client = false;
	o->spoof = false;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--src-port") && i + 1 < argc)
			o->src_port = (int)parse_num(argv[++i], 1, 65535, "source port");
		else if (!strcmp(argv[i], "--interval-us") && i + 1 < argc)
			o->interval_us = (unsigned)parse_num(argv[++i], 0, 1000000, "interval");
		else if (!strcmp(argv[i], "--to-client"))
			o->to_client = true;
		else if (!strcmp(argv[i], "--spoof-src") && i + 1 < argc) {
			if (inet_pton(AF_INET, argv[++i], &o->spoof_src) != 1) {
				fprintf(stderr, "udptool: --spoof-src: not an IPv4 address: %s\n", argv[i]);
				exit(2);
			}
			o->spoof = true;
		} else
			argv[out++] = argv[i];
	}
	return out;
}

int main(int argc, char **argv)
{
	struct ut_opts o;

	setvbuf(stdout, NULL, _IOLBF, 0);
	argc = parse_opts(argc - 1, argv + 1, &o);
	argv++;
	if (argc < 1)
		usage();
	if (!strcmp(argv[0], "send"))
		return cmd_send(argc, argv, &o);
	if (!strcmp(argv[0], "replay"))
		return cmd_replay(argc, argv, &o);
	if (!strcmp(argv[0], "listen"))
		return cmd_listen(argc, argv);
	usage();
}
