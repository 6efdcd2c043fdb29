/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Small helpers shared by the integration-test tools (header only: every
 * tests/tools/NAME.c is its own program): the monotonic clock in
 * milliseconds, bounded decimal arguments, a stop flag raised by
 * SIGTERM or SIGINT, and the headers of a datagram sent from a forged
 * source through a raw socket.
 */
#ifndef MH_TOOLING_H
#define MH_TOOLING_H

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t tool_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* s as a decimal number in min..max; anything else calls bad(), a tool's
 * usage(), which exits. */
static inline unsigned long tool_num(const char *s, unsigned long min,
				     unsigned long max, void (*bad)(void))
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max) {
		bad();
		exit(2);   /* bad() does not return */
	}
	return v;
}

/* Raised by SIGTERM or SIGINT once tool_catch_stop() ran. Unused by the
 * tools that handle their signals themselves. */
static volatile sig_atomic_t tool_stop __attribute__((unused));

static inline void tool_on_stop(int sig)
{
	(void)sig;
	tool_stop = 1;
}

static inline void tool_catch_stop(void)
{
	struct sigaction sa = { .sa_handler = tool_on_stop };

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* The IPv4 and UDP headers at p of a datagram for an IPPROTO_RAW socket
 * (which takes the IP header as written: the kernel fills in the total
 * length, the id and the checksum), payload_len bytes of payload to
 * follow them; no UDP checksum, which IPv4 allows. Addresses and ports in
 * network order. */
#define TOOL_UDP4_HDR (sizeof(struct iphdr) + sizeof(struct udphdr))
static inline void tool_udp4_header(uint8_t *p, uint32_t saddr, uint32_t daddr,
				    uint16_t sport, uint16_t dport,
				    size_t payload_len)
{
	struct iphdr ip = {
		.version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP,
		.saddr = saddr, .daddr = daddr,
	};
	struct udphdr u = {
		.source = sport, .dest = dport,
		.len = htons((uint16_t)(sizeof(u) + payload_len)),
	};

	memcpy(p, &ip, sizeof(ip));
	memcpy(p + sizeof(ip), &u, sizeof(u));
}

#endif
