/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Big-endian fields for the project's three binary wire formats (control
 * protocol, status reply, relay <-> gateway): a bounded reader that never
 * reads past what was received, and a writer of n-byte integers. Inline so
 * the fuzzed decoders share one copy without a new object file.
 */
#ifndef MH_WIREBUF_H
#define MH_WIREBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* What is left of a received body; every read shrinks it or fails. */
struct wb_rd {
	const uint8_t *p;
	size_t left;
};

/* An n-byte (n <= 8) big-endian integer; false when fewer bytes are left. */
static inline bool wb_rd_be(struct wb_rd *r, size_t n, uint64_t *v)
{
	if (n > 8 || r->left < n)
		return false;
	*v = 0;
	for (size_t i = 0; i < n; i++)
		*v = (*v << 8) | r->p[i];
	r->p += n;
	r->left -= n;
	return true;
}

/* The same into a 32-bit field (n <= 4). */
static inline bool wb_rd_be32(struct wb_rd *r, size_t n, uint32_t *v)
{
	uint64_t x;

	if (n > 4 || !wb_rd_be(r, n, &x))
		return false;
	*v = (uint32_t)x;
	return true;
}

static inline bool wb_rd_u8(struct wb_rd *r, uint8_t *v)
{
	if (r->left < 1)
		return false;
	*v = *r->p++;
	r->left--;
	return true;
}

static inline bool wb_rd_bytes(struct wb_rd *r, void *dst, size_t n)
{
	if (r->left < n)
		return false;
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
	return true;
}

/* Writes v as n big-endian bytes at p (the caller checked the room);
 * returns the byte after them. */
static inline uint8_t *wb_put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return p + n;
}

#endif
