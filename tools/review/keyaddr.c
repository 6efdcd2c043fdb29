/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The server side of a mosh-helper-review key line: a port alone (the
 * host's daemon: its sessions by port), or a server's address with the
 * port (a capture taken on the perimeter gateway, whose sessions are by
 * server address . port): "A.B.C.D:PORT", "[A.B.C.D]:PORT", "[ADDR6]:PORT".
 * Numeric only, decimal port 1-65535. Pure.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "review.h"

#define ADDR_TEXT_MAX 46   /* INET6_ADDRSTRLEN */

/* Decimal 1..65535, digits only, the whole of s[0..len). */
static int port_of(const char *s, size_t len, uint16_t *port)
{
	unsigned long v = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > 65535)
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* An IPv4 or IPv6 address of len bytes into a. */
static int addr_of(const char *s, size_t len, struct mh_addr *a)
{
	char text[ADDR_TEXT_MAX];

	if (len == 0 || len >= sizeof(text))
		return -1;
	memcpy(text, s, len);
	text[len] = '\0';
	memset(a->ip, 0, sizeof(a->ip));
	if (inet_pton(AF_INET, text, a->ip) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, text, a->ip) == 1)
		a->family = AF_INET6;
	else
		return -1;
	return 0;
}

/* "[ADDR]:PORT" or "A.B.C.D:PORT": the address's text and the port's. */
static int split(const char *s, size_t len, size_t *alen, const char **port)
{
	const char *close, *colon;

	if (s[0] == '[') {
		close = memchr(s, ']', len);
		if (!close || (size_t)(close - s) + 1 >= len || close[1] != ':')
			return -1;
		*alen = (size_t)(close - s) - 1;
		*port = close + 2;
		return 1;
	}
	colon = memchr(s, ':', len);
	if (!colon || memchr(colon + 1, ':', len - (size_t)(colon - s) - 1))
		return -1;
	*alen = (size_t)(colon - s);
	*port = colon + 1;
	return 0;
}

int rv_keyaddr_parse(const char *s, size_t len, struct mh_addr *server,
		     const char **why)
{
	const char *port;
	size_t alen;
	int br;

	memset(server, 0, sizeof(*server));
	if (!memchr(s, ':', len)) {
		*why = "port must be a number 1-65535";
		return port_of(s, len, &server->port);
	}
	*why = "expected PORT, A.B.C.D:PORT or [ADDRESS]:PORT before the key";
	br = split(s, len, &alen, &port);
	if (br < 0 || addr_of(s + br, alen, server) < 0)
		return -1;
	if (!br && server->family != AF_INET)
		return -1;
	*why = "port must be a number 1-65535";
	return port_of(port, len - (size_t)(port - s), &server->port);
}

const char *rv_keyaddr_str(const struct mh_addr *server, char *out, size_t len)
{
	if (!server->family)
		snprintf(out, len, "%u", server->port);
	else
		mh_addr_str(server, out, len);
	return out;
}
