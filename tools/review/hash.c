/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Hashed lookups for mosh-helper-review, so that a hostile capture (many
 * SSH logins, flows or pinholes) costs time linear in its size: a keyed
 * hash (SipHash-2-4 with a key drawn at start, so a capture cannot be made
 * to collide) and an open-addressing index of 32-bit values.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "review.h"

#define RV_IDX_TOMB UINT32_MAX

static uint64_t hash_key[2];
static bool hash_keyed;

static uint64_t rotl(uint64_t x, int b)
{
	return x << b | x >> (64 - b);
}

static void sip_round(uint64_t v[4])
{
	v[0] += v[1]; v[1] = rotl(v[1], 13); v[1] ^= v[0]; v[0] = rotl(v[0], 32);
	v[2] += v[3]; v[3] = rotl(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = rotl(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = rotl(v[1], 17); v[1] ^= v[2]; v[2] = rotl(v[2], 32);
}

static void sip_block(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sip_round(v);
	sip_round(v);
	v[0] ^= m;
}

uint64_t rv_hash(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t v[4], m;
	size_t i, k;

	if (!hash_keyed) {
		if (getrandom(hash_key, sizeof(hash_key), 0) != sizeof(hash_key))
			hash_key[0] = (uint64_t)(uintptr_t)&hash_key ^ UINT64_C(0x9e3779b97f4a7c15);
		hash_keyed = true;
	}
	v[0] = hash_key[0] ^ UINT64_C(0x736f6d6570736575);
	v[1] = hash_key[1] ^ UINT64_C(0x646f72616e646f6d);
	v[2] = hash_key[0] ^ UINT64_C(0x6c7967656e657261);
	v[3] = hash_key[1] ^ UINT64_C(0x7465646279746573);
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, p + i, 8);
		sip_block(v, m);
	}
	m = (uint64_t)len << 56;
	for (k = 0; i + k < len; k++)
		m |= (uint64_t)p[i + k] << (8 * k);
	sip_block(v, m);
	v[2] ^= 0xff;
	for (k = 0; k < 4; k++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

uint64_t rv_hash_addr(const struct mh_addr *a, bool with_port, uint64_t extra)
{
	uint8_t b[1 + 16 + 2 + 8];
	size_t n = a->family == AF_INET6 ? 16 : 4;

	b[0] = (uint8_t)a->family;
	memcpy(b + 1, a->ip, n);
	b[1 + n] = with_port ? (uint8_t)(a->port >> 8) : 0;
	b[2 + n] = with_port ? (uint8_t)a->port : 0;
	memcpy(b + 3 + n, &extra, 8);
	return rv_hash(b, 11 + n);
}

/* ---- the index ------------------------------------------------------------ */

static size_t idx_slot(const struct rv_idx *x, uint64_t h)
{
	return (size_t)h & (x->cap - 1);
}

static void idx_put(struct rv_idx *x, uint64_t h, uint32_t val)
{
	size_t i = idx_slot(x, h);

	while (x->val[i])
		i = (i + 1) & (x->cap - 1);
	x->val[i] = val;
	x->h[i] = h;
}

/* Room for one more (grows at 70 % including tombstones). */
static int idx_room(struct rv_idx *x)
{
	struct rv_idx old = *x;
	size_t cap = x->cap ? x->cap : 64, i;

	if (x->cap && (x->n + x->tombs + 1) * 10 < x->cap * 7)
		return 0;
	while ((x->n + 1) * 10 >= cap * 5)
		cap *= 2;
	x->val = calloc(cap, sizeof(*x->val));
	x->h = malloc(cap * sizeof(*x->h));
	if (!x->val || !x->h) {
		free(x->val);
		free(x->h);
		*x = old;
		return -1;
	}
	x->cap = cap;
	x->tombs = 0;
	for (i = 0; i < old.cap; i++)
		if (old.val[i] && old.val[i] != RV_IDX_TOMB)
			idx_put(x, old.h[i], old.val[i]);
	free(old.val);
	free(old.h);
	return 0;
}

int rv_idx_add(struct rv_idx *x, uint64_t h, uint32_t val)
{
	if (val == 0 || val == RV_IDX_TOMB || idx_room(x) < 0)
		return -1;
	idx_put(x, h, val);
	x->n++;
	return 0;
}

uint32_t rv_idx_find(const struct rv_idx *x, uint64_t h, rv_idx_eq eq,
		     const void *ctx)
{
	size_t i;

	if (!x->cap)
		return 0;
	for (i = idx_slot(x, h); x->val[i]; i = (i + 1) & (x->cap - 1))
		if (x->val[i] != RV_IDX_TOMB && x->h[i] == h && eq(ctx, x->val[i]))
			return x->val[i];
	return 0;
}

void rv_idx_del(struct rv_idx *x, uint64_t h, uint32_t val)
{
	size_t i;

	if (!x->cap)
		return;
	for (i = idx_slot(x, h); x->val[i]; i = (i + 1) & (x->cap - 1))
		if (x->val[i] == val && x->h[i] == h) {
			x->val[i] = RV_IDX_TOMB;
			x->n--;
			x->tombs++;
			return;
		}
}

void rv_idx_free(struct rv_idx *x)
{
	free(x->val);
	free(x->h);
	memset(x, 0, sizeof(*x));
}
