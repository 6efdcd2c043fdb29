/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Port sets in the kernel's sysctl text: a strict parser for the comma
 * list of ip_local_reserved_ports and for the pair of ip_local_port_range,
 * the bitmap they fill, and the printer that writes a set back as the
 * kernel does (ascending, runs joined). Pure: the daemon reads and writes
 * the files (nfq-helper/process/reserve.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "portlist.h"

#define PORT_DIGITS_MAX 5

void mh_portset_clear(struct mh_portset *s)
{
	memset(s->bits, 0, sizeof(s->bits));
}

void mh_portset_add(struct mh_portset *s, uint16_t lo, uint16_t hi)
{
	for (uint32_t p = lo; p <= hi; p++)
		s->bits[p >> 3] |= (uint8_t)(1u << (p & 7));
}

bool mh_portset_has(const struct mh_portset *s, uint16_t port)
{
	return s->bits[port >> 3] & (1u << (port & 7));
}

unsigned mh_portset_count(const struct mh_portset *s, uint16_t lo, uint16_t hi)
{
	unsigned n = 0;

	for (uint32_t p = lo; p <= hi; p++)
		n += mh_portset_has(s, (uint16_t)p);
	return n;
}

bool mh_portset_first_gap(const struct mh_portset *s, uint16_t lo, uint16_t hi,
			  uint16_t *rlo, uint16_t *rhi)
{
	uint32_t p = lo, q;

	while (p <= hi && mh_portset_has(s, (uint16_t)p))
		p++;
	if (p > hi)
		return false;
	for (q = p; q < hi && !mh_portset_has(s, (uint16_t)(q + 1)); q++)
		;
	*rlo = (uint16_t)p;
	*rhi = (uint16_t)q;
	return true;
}

/* A decimal of 1-5 digits at *pos, at most 65535; *pos moves past it. */
static int get_port(const char *t, size_t len, size_t *pos, uint16_t *v)
{
	uint32_t n = 0;
	size_t start = *pos;

	while (*pos < len && t[*pos] >= '0' && t[*pos] <= '9' &&
	       *pos - start < PORT_DIGITS_MAX + 1)
		n = n * 10 + (uint32_t)(t[(*pos)++] - '0');
	if (*pos == start || *pos - start > PORT_DIGITS_MAX || n > 65535)
		return -EINVAL;
	*v = (uint16_t)n;
	return 0;
}

/* Without the one trailing newline the kernel prints. */
static size_t body_len(const char *text, size_t len)
{
	return len && text[len - 1] == '\n' ? len - 1 : len;
}

/* One item, "A" or "A-B", at *pos. */
static int get_item(const char *t, size_t len, size_t *pos, uint16_t *lo,
		    uint16_t *hi)
{
	int err = get_port(t, len, pos, lo);

	*hi = *lo;
	if (!err && *pos < len && t[*pos] == '-') {
		(*pos)++;
		err = get_port(t, len, pos, hi);
		if (!err && *hi < *lo)
			err = -EINVAL;
	}
	return err;
}

int mh_portset_parse(struct mh_portset *s, const char *text, size_t len)
{
	size_t n = body_len(text, len), pos = 0;

	mh_portset_clear(s);
	while (pos < n) {
		uint16_t lo, hi;
		int err = get_item(text, n, &pos, &lo, &hi);

		if (err)
			return err;
		if (pos < n && (text[pos] != ',' || pos + 1 == n))
			return -EINVAL;   /* junk, or a comma ending the list */
		if (pos < n)
			pos++;
		mh_portset_add(s, lo, hi);
	}
	return 0;
}

/* Appends "A" or "A-B" (with a comma before it unless first). */
static int put_run(char *buf, size_t len, size_t *used, uint32_t a, uint32_t b)
{
	size_t room = len - *used;
	int n = a == b ? snprintf(buf + *used, room, "%s%u", *used ? "," : "", a)
		       : snprintf(buf + *used, room, "%s%u-%u", *used ? "," : "", a, b);

	if (n < 0 || (size_t)n >= room)
		return -ENOSPC;
	*used += (size_t)n;
	return 0;
}

int mh_portset_format(const struct mh_portset *s, char *buf, size_t len)
{
	size_t used = 0;
	uint32_t p = 0;

	if (!len)
		return -ENOSPC;
	buf[0] = 0;
	while (p <= 65535) {
		uint32_t q;

		if (!mh_portset_has(s, (uint16_t)p)) {
			p++;
			continue;
		}
		for (q = p; q < 65535 && mh_portset_has(s, (uint16_t)(q + 1)); q++)
			;
		if (put_run(buf, len, &used, p, q))
			return -ENOSPC;
		p = q + 1;
	}
	return (int)used;
}

static size_t skip_blanks(const char *t, size_t len, size_t pos)
{
	while (pos < len && (t[pos] == ' ' || t[pos] == '\t'))
		pos++;
	return pos;
}

int mh_port_range_parse(const char *text, size_t len, uint16_t *lo, uint16_t *hi)
{
	size_t n = body_len(text, len), pos = 0, mid;
	uint16_t a, b;

	if (get_port(text, n, &pos, &a))
		return -EINVAL;
	mid = skip_blanks(text, n, pos);
	if (mid == pos)
		return -EINVAL;
	pos = mid;
	if (get_port(text, n, &pos, &b) || pos != n || b < a)
		return -EINVAL;
	*lo = a;
	*hi = b;
	return 0;
}
