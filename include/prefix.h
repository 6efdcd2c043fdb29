/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Address prefixes, "ADDR/LEN" (IPv4 or IPv6, numeric): the gateway's
 * relay_servers, the addresses its login servers may have. Pure.
 */
#ifndef MH_PREFIX_H
#define MH_PREFIX_H

#include <stdbool.h>
#include <stdint.h>

#include "pkt.h"

struct mh_prefix {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t ip[16];      /* network order, host bits zero */
	unsigned len;        /* 0..32 or 0..128 */
};

/* 0, or -EINVAL with *why saying what is wrong (no LEN, LEN too long,
 * bits set past LEN: "198.18.0.5/24" is refused, not read as /24). */
int mh_prefix_parse(const char *s, struct mh_prefix *p, const char **why);

/* Whether ip (family's length) is a loopback address, which no datagram
 * from another host reaches: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104. */
bool mh_ip_loopback(int family, const uint8_t *ip);

/* Which datagrams from another host a UDP socket bound to ip (family's
 * length) can receive: MH_REACH_V4 and/or MH_REACH_V6; on an IPv4
 * loopback address (a v4-mapped one too) MH_REACH_LO4 alone, IPv4 that
 * only route_localnet lets in from the wire; on ::1 none. An IPv6 socket
 * on :: takes IPv4 too unless v6only; one on a v4-mapped address takes
 * IPv4 only. */
#define MH_REACH_V4 1u
#define MH_REACH_V6 2u
#define MH_REACH_LO4 4u
unsigned mh_ip_reach(int family, const uint8_t *ip, bool v6only);

/* Whether a's address lies in one of the n prefixes. */
bool mh_prefix_match(const struct mh_prefix *p, unsigned n,
		     const struct mh_addr *a);

#endif
