/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Parses the layer-3 packet NFQUEUE delivers into addresses, ports and the
 * UDP payload. Refuses anything that is not one whole UDP datagram: short
 * headers, lengths that disagree, fragments, other protocols.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "pkt.h"

#define IPV4_MIN_HDR 20
#define IPV6_HDR 40
#define UDP_HDR 8
#define IPV6_MAX_EXT 8   /* extension headers walked before giving up */

static int fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -EINVAL;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int parse_udp(const uint8_t *u, size_t len, struct mh_pkt *p,
		     const char **why)
{
	size_t ulen;

	if (len < UDP_HDR)
		return fail(why, "truncated UDP header");
	ulen = rd16(u + 4);
	if (ulen < UDP_HDR || ulen > len)
		return fail(why, "UDP length disagrees with the packet");
	p->src.port = rd16(u);
	p->dst.port = rd16(u + 2);
	p->payload = u + UDP_HDR;
	p->len = ulen - UDP_HDR;
	return 0;
}

static int parse_v4(const uint8_t *b, size_t len, struct mh_pkt *p,
		    const char **why)
{
	size_t ihl, tot;

	if (len < IPV4_MIN_HDR)
		return fail(why, "truncated IPv4 header");
	ihl = (size_t)(b[0] & 0x0f) * 4;
	tot = rd16(b + 2);
	if (ihl < IPV4_MIN_HDR || tot < ihl || tot > len)
		return fail(why, "IPv4 lengths disagree with the packet");
	if (rd16(b + 6) & 0x3fff)
		return fail(why, "IPv4 fragment");
	if (b[9] != IPPROTO_UDP)
		return fail(why, "not UDP");
	p->src.family = p->dst.family = AF_INET;
	memcpy(p->src.ip, b + 12, 4);
	memcpy(p->dst.ip, b + 16, 4);
	return parse_udp(b + ihl, tot - ihl, p, why);
}

static int parse_v6(const uint8_t *b, size_t len, struct mh_pkt *p,
		    const char **why)
{
	size_t off = IPV6_HDR, end;
	uint8_t next;
	int i;

	if (len < IPV6_HDR)
		return fail(why, "truncated IPv6 header");
	end = IPV6_HDR + rd16(b + 4);
	if (end > len)
		return fail(why, "IPv6 payload length exceeds the packet");
	next = b[6];
	for (i = 0; i < IPV6_MAX_EXT && next != IPPROTO_UDP; i++) {
		if (next == IPPROTO_FRAGMENT)
			return fail(why, "IPv6 fragment");
		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING &&
		    next != IPPROTO_DSTOPTS)
			return fail(why, "not UDP");
		if (off + 8 > end)
			return fail(why, "truncated IPv6 extension header");
		next = b[off];
		off += 8 + (size_t)b[off + 1] * 8;
		if (off > end)
			return fail(why, "truncated IPv6 extension header");
	}
	if (next != IPPROTO_UDP)
		return fail(why, "not UDP");
	p->src.family = p->dst.family = AF_INET6;
	memcpy(p->src.ip, b + 8, 16);
	memcpy(p->dst.ip, b + 24, 16);
	return parse_udp(b + off, end - off, p, why);
}

int mh_pkt_parse(const uint8_t *l3, size_t len, struct mh_pkt *p,
		 const char **why)
{
	memset(p, 0, sizeof(*p));
	if (len < 1)
		return fail(why, "empty packet");
	switch (l3[0] >> 4) {
	case 4:
		return parse_v4(l3, len, p, why);
	case 6:
		return parse_v6(l3, len, p, why);
	default:
		return fail(why, "not IPv4 or IPv6");
	}
}

int mh_addr_equal(const struct mh_addr *a, const struct mh_addr *b)
{
	size_t n = a->family == AF_INET ? 4 : 16;

	return a->family == b->family && a->port == b->port &&
	       memcmp(a->ip, b->ip, n) == 0;
}

int mh_addr_equal_host(const struct mh_addr *a, const struct mh_addr *b)
{
	return a->family == b->family &&
	       memcmp(a->ip, b->ip, a->family == AF_INET ? 4 : 16) == 0;
}

char *mh_addr_str(const struct mh_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(a->family, a->ip, ip, sizeof(ip));
	if (a->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, a->port);
	else
		snprintf(buf, len, "%s:%u", ip, a->port);
	return buf;
}
