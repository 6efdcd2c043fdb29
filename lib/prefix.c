/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Address prefixes (include/prefix.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "prefix.h"

/* the bits of ip past len, zero? */
static bool host_bits_zero(const uint8_t *ip, unsigned bytes, unsigned len)
{
	for (unsigned i = len / 8; i < bytes; i++) {
		uint8_t keep = i == len / 8 ? (uint8_t)(0xff00 >> (len % 8)) : 0;

		if (ip[i] & (uint8_t)~keep)
			return false;
	}
	return true;
}

int mh_prefix_parse(const char *s, struct mh_prefix *p, const char **why)
{
	char text[INET6_ADDRSTRLEN], *end;
	const char *slash = strchr(s, '/');
	unsigned max;
	long len;

	*why = "not ADDR/LEN";
	if (!slash || (size_t)(slash - s) >= sizeof(text) || !slash[1])
		return -EINVAL;
	memcpy(text, s, (size_t)(slash - s));
	text[slash - s] = 0;
	memset(p, 0, sizeof(*p));
	p->family = strchr(text, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(p->family, text, p->ip) != 1)
		return -EINVAL;
	max = p->family == AF_INET ? 32 : 128;
	errno = 0;
	len = strtol(slash + 1, &end, 10);
	if (errno || *end || slash[1] < '0' || slash[1] > '9' || len > (long)max) {
		*why = "prefix length out of range";
		return -EINVAL;
	}
	p->len = (unsigned)len;
	if (!host_bits_zero(p->ip, max / 8, p->len)) {
		*why = "address has bits set past the prefix length";
		return -EINVAL;
	}
	return 0;
}

static bool in_prefix(const struct mh_prefix *p, const struct mh_addr *a)
{
	unsigned whole = p->len / 8, rest = p->len % 8;

	if (p->family != a->family || memcmp(p->ip, a->ip, whole))
		return false;
	return !rest || !((p->ip[whole] ^ a->ip[whole]) & (uint8_t)(0xff00 >> rest));
}

bool mh_prefix_match(const struct mh_prefix *p, unsigned n,
		     const struct mh_addr *a)
{
	for (unsigned i = 0; i < n; i++)
		if (in_prefix(&p[i], a))
			return true;
	return false;
}

/* ::ffff:0:0/96, IPv4 addresses on an IPv6 socket */
static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

bool mh_ip_loopback(int family, const uint8_t *ip)
{
	static const uint8_t one[16] = { [15] = 1 };

	if (family == AF_INET)
		return ip[0] == 127;
	if (family != AF_INET6)
		return false;
	return !memcmp(ip, one, 16) || (!memcmp(ip, v4mapped, 12) && ip[12] == 127);
}

unsigned mh_ip_reach(int family, const uint8_t *ip, bool v6only)
{
	static const uint8_t zero[16];
	bool v4 = family == AF_INET ||
		  (family == AF_INET6 && !memcmp(ip, v4mapped, 12));

	if (mh_ip_loopback(family, ip))
		return v4 ? MH_REACH_LO4 : 0;
	if (v4)
		return MH_REACH_V4;
	if (family != AF_INET6)
		return 0;
	if (!memcmp(ip, zero, 16) && !v6only)
		return MH_REACH_V4 | MH_REACH_V6;
	return MH_REACH_V6;
}
