/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The SSP functions only tests, benchmarks, fuzz targets and test tools
 * call (lib/ssp.c defines them): sealing a datagram and the context
 * cache's counters. No program includes this header; t_testonly checks
 * that no program's object calls them.
 */
#ifndef MH_SSP_TEST_H
#define MH_SSP_TEST_H

#include "ssp.h"

/* The cache's counters (tests, benchmarks). */
struct ssp_cache_stats {
	uint64_t hits, misses;   /* misses = re-keys */
	unsigned keyed;          /* slots holding a key now */
};
void ssp_cache_stats(struct ssp_cache_stats *st);
/* Frees every cached OpenSSL context (wiping its keys) and the shared
 * scratch; the next use builds them again. For tests and clean exits. */
void ssp_cache_flush(void);

/* Encrypt: builds a datagram with the given direction and sequence number.
 * out must hold plain_len + SSP_MIN_DATAGRAM_LEN. Returns the datagram
 * length or -errno. For tests, benchmarks and attack tools. */
long ssp_seal(struct ssp_ctx *ctx, enum ssp_direction dir, uint64_t seq,
	      const uint8_t *plain, size_t plain_len, uint8_t *out,
	      size_t out_cap);

#endif
