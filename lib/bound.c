/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The text form of a session's bound addresses, written by the daemon into
 * its key log and read back by mosh-helper-review, so that the review
 * judges "datagram to an address mosh-server is not bound to" exactly as
 * the daemon did: "198.18.0.2", "[fd00::2]", "[::]/v6only", comma-separated.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "session.h"

int mh_bound_format(const struct mh_bound *b, unsigned n, char *buf, size_t len)
{
	size_t used = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < n && i < MH_MAX_BOUND; i++) {
		char ip[INET6_ADDRSTRLEN];
		int k;

		if (!inet_ntop(b[i].family, b[i].ip, ip, sizeof(ip)))
			return -EINVAL;
		k = snprintf(buf + used, len - used, "%s%s%s%s%s", i ? "," : "",
			     b[i].family == AF_INET6 ? "[" : "", ip,
			     b[i].family == AF_INET6 ? "]" : "",
			     b[i].v6only ? "/v6only" : "");
		if (k < 0 || (size_t)k >= len - used)
			return -ENOSPC;
		used += (size_t)k;
	}
	return 0;
}

static int parse_one(const char *s, size_t n, struct mh_bound *b)
{
	static const char v6only[] = "/v6only";
	static const uint8_t zero[16];
	char tmp[INET6_ADDRSTRLEN + 16];

	memset(b, 0, sizeof(*b));
	if (n >= sizeof(v6only) && !memcmp(s + n - (sizeof(v6only) - 1), v6only,
					    sizeof(v6only) - 1)) {
		b->v6only = true;
		n -= sizeof(v6only) - 1;
	}
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		b->family = AF_INET6;
		s++;
		n -= 2;
	} else {
		b->family = AF_INET;
	}
	if (n == 0 || n >= sizeof(tmp) || (b->v6only && b->family != AF_INET6))
		return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(b->family, tmp, b->ip) != 1)
		return -EINVAL;
	b->any = !memcmp(b->ip, zero, b->family == AF_INET ? 4 : 16);
	return 0;
}

int mh_bound_parse(const char *s, struct mh_bound *b, unsigned *n)
{
	*n = 0;
	while (*s) {
		size_t k = strcspn(s, ",");

		if (*n == MH_MAX_BOUND || parse_one(s, k, &b[*n]) < 0)
			return -EINVAL;
		(*n)++;
		s += k;
		if (*s == ',' && *++s == '\0')
			return -EINVAL;
	}
	return *n ? 0 : -EINVAL;
}
