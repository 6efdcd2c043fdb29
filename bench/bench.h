/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Small helpers shared by the bench programs (header only; each bench/NAME.c
 * is its own program): monotonic time, bounded argument parsing, a session
 * key from --key, sorting and percentiles of latency samples, and a seq
 * base that rises across processes so authentic datagrams of one session
 * are always "newer".
 */
#ifndef MH_BENCH_H
#define MH_BENCH_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "ssp.h"

#define BENCH_MAX_SECONDS 120   /* no single load runs longer than this */

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A sequence-number base from the wall clock (4 per microsecond), so a
 * later process of the same session always starts above an earlier one
 * as long as no process sends more than 4 datagrams per microsecond. */
static inline uint64_t bench_seq_base(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000) * 4;
}

static inline long bench_num(const char *prog, const char *s, long min,
			     long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "%s: bad %s '%s' (allowed %ld-%ld)\n", prog, what,
			s, min, max);
		exit(2);
	}
	return v;
}

/* The SSP context of the base64 session key b64 (a --key argument); exits 2
 * when it is missing or malformed, 1 when no context can be made. */
static inline struct ssp_ctx *bench_key_ctx(const char *prog, const char *b64)
{
	uint8_t key[SSP_KEY_LEN];
	const char *why = NULL;
	struct ssp_ctx *ctx;

	if (!b64 || ssp_key_decode(b64, strlen(b64), key, &why) < 0) {
		fprintf(stderr, "%s: --key: %s\n", prog, why ? why : "missing");
		exit(2);
	}
	ctx = ssp_ctx_new(key);
	OPENSSL_cleanse(key, sizeof(key));
	if (!ctx)
		exit(1);
	return ctx;
}

static inline int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static inline void bench_sort(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp_u64);
}

/* Nearest-rank percentile of a sorted array (p in 0..100). */
static inline uint64_t bench_pct(const uint64_t *sorted, size_t n, double p)
{
	size_t k;

	if (n == 0)
		return 0;
	k = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return sorted[k - 1];
}

/* Resident memory of this process in bytes (VmRSS), 0 if unreadable. */
static inline uint64_t bench_rss_bytes(void)
{
	char line[256];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

#endif
