/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * IPv4/IPv6 + UDP parsing of a queued packet (the layer-3 bytes NFQUEUE
 * hands over). Pure: checks every length and refuses fragments, so the
 * decision code only ever sees a whole UDP datagram.
 */
#ifndef MH_PKT_H
#define MH_PKT_H

#include <stddef.h>
#include <stdint.h>

struct mh_addr {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t ip[16];      /* network order; first 4 bytes for AF_INET */
	uint16_t port;       /* host order */
};

struct mh_pkt {
	struct mh_addr src, dst;
	const uint8_t *payload;  /* UDP payload inside the caller's buffer */
	size_t len;
};

/* 0, or -EINVAL with *why a static reason (truncated, not UDP, fragment,
 * bad length). */
int mh_pkt_parse(const uint8_t *l3, size_t len, struct mh_pkt *p,
		 const char **why);

int mh_addr_equal(const struct mh_addr *a, const struct mh_addr *b);
/* Same family and address, ports ignored. */
int mh_addr_equal_host(const struct mh_addr *a, const struct mh_addr *b);
/* Writes "198.18.0.2:60001" or "[fd00::2]:60001"; returns buf. */
char *mh_addr_str(const struct mh_addr *a, char *buf, size_t len);
#define MH_ADDRSTRLEN 56

#endif
