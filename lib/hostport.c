/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Parsing of "ADDR:PORT" / "[ADDR6]:PORT" (hostport.h) into a socket
 * address; strict: numeric address, decimal port without sign or spaces.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "hostport.h"

#define ADDR_MAX 64

static int port_of(const char *p, uint16_t *port)
{
	unsigned long v = 0;
	size_t n = strlen(p);

	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* Splits s into its address text and its port. */
static int split(const char *s, char *addr, uint16_t *port, int *family)
{
	const char *colon;
	size_t n;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		n = (size_t)(close - s - 1);
		colon = close + 1;
		*family = AF_INET6;
		s++;
	} else {
		colon = strchr(s, ':');
		if (!colon || strchr(colon + 1, ':'))
			return -EINVAL;
		n = (size_t)(colon - s);
		*family = AF_INET;
	}
	if (n == 0 || n >= ADDR_MAX)
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	return port_of(colon + 1, port);
}

int mh_hostport_parse(const char *s, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	char addr[ADDR_MAX];
	uint16_t port;
	int family;

	memset(ss, 0, sizeof(*ss));
	if (split(s, addr, &port, &family) < 0)
		return -EINVAL;
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		*len = sizeof(*a);
		return inet_pton(AF_INET6, addr, &a->sin6_addr) == 1 ? 0 : -EINVAL;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		*len = sizeof(*a);
		return inet_pton(AF_INET, addr, &a->sin_addr) == 1 ? 0 : -EINVAL;
	}
}
