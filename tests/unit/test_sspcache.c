/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the shared OpenSSL context cache behind ssp_ctx (lib/ssp.c):
 * more sessions than slots still verify and decrypt exactly (every use a
 * re-key), a context is never used for another key (a freed ssp_ctx whose
 * memory is recycled, neighbours' datagrams), hits and misses are what the
 * LRU promises, freeing a context wipes its slot, and single-port peeks do
 * not evict the contexts of live sessions.
 */
#include <check.h>

#include "check_main.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ssp.h"
#include "ssp_test.h"

#define N (3 * SSP_CACHE_SLOTS + 5)
#define PLAIN 100

struct sess {
	uint8_t key[SSP_KEY_LEN];
	uint8_t plain[PLAIN];
	uint8_t dg[PLAIN + SSP_MIN_DATAGRAM_LEN];
	struct ssp_ctx *c;
};

static struct sess ss[N];

static void rnd(uint8_t *p, size_t n)
{
	while (n--)
		*p++ = (uint8_t)random();
}

static void make(struct sess *s, uint64_t seq)
{
	rnd(s->key, sizeof(s->key));
	rnd(s->plain, sizeof(s->plain));
	s->c = ssp_ctx_new(s->key);
	ck_assert_ptr_nonnull(s->c);
	ck_assert_int_eq(ssp_seal(s->c, SSP_TO_SERVER, seq, s->plain, PLAIN, s->dg,
				  sizeof(s->dg)), (long)sizeof(s->dg));
}

static void setup(void)
{
	srandom(5);
	for (int i = 0; i < N; i++)
		make(&ss[i], (uint64_t)i);
}

static void teardown(void)
{
	for (int i = 0; i < N; i++)
		ssp_ctx_free(ss[i].c);
	ssp_cache_flush();
}

START_TEST(more_sessions_than_slots)
{
	struct ssp_cache_stats a, b;
	uint8_t out[PLAIN];
	size_t n;

	ssp_cache_stats(&a);
	for (int pass = 0; pass < 3; pass++)
		for (int i = 0; i < N; i++) {
			struct sess *s = &ss[i], *other = &ss[(i + 1) % N];

			ck_assert_int_eq(ssp_verify(s->c, s->dg, sizeof(s->dg), NULL), 0);
			ck_assert_int_eq(ssp_open(s->c, s->dg, sizeof(s->dg), NULL, out,
						  sizeof(out), &n), 0);
			ck_assert_uint_eq(n, PLAIN);
			ck_assert_mem_eq(out, s->plain, PLAIN);
			/* a neighbour's datagram never verifies under this key */
			ck_assert_int_eq(ssp_verify(s->c, other->dg, sizeof(other->dg), NULL),
					 -EBADMSG);
		}
	ssp_cache_stats(&b);
	/* round robin over more contexts than slots: the LRU one is always
	 * the next wanted, so every first use in a pass is a miss */
	ck_assert_uint_ge(b.misses - a.misses, 3 * N);
	ck_assert_uint_le(b.keyed, SSP_CACHE_SLOTS + 1);
}
END_TEST

START_TEST(hits_stay_hits)
{
	struct ssp_cache_stats a, b;
	struct sess *s = &ss[0];

	ck_assert_int_eq(ssp_verify(s->c, s->dg, sizeof(s->dg), NULL), 0);
	ssp_cache_stats(&a);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(ssp_verify(s->c, s->dg, sizeof(s->dg), NULL), 0);
	/* fewer other sessions than slots in between: still cached */
	for (int i = 1; i < SSP_CACHE_SLOTS; i++)
		ck_assert_int_eq(ssp_verify(ss[i].c, ss[i].dg, sizeof(ss[i].dg), NULL), 0);
	ck_assert_int_eq(ssp_verify(s->c, s->dg, sizeof(s->dg), NULL), 0);
	ssp_cache_stats(&b);
	ck_assert_uint_ge(b.hits - a.hits, 101);
	ck_assert_uint_le(b.misses - a.misses, SSP_CACHE_SLOTS - 1);
}
END_TEST

#ifdef __SANITIZE_ADDRESS__
#define ASAN_BUILD 1
#else
#define ASAN_BUILD 0
#endif

static bool under_valgrind(void)
{
#if __has_include(<valgrind/valgrind.h>)
	return RUNNING_ON_VALGRIND;
#else
	return false;
#endif
}

START_TEST(recycled_context_never_borrows_a_key)
{
	struct ssp_cache_stats a, b;
	struct sess old = { 0 }, fresh = { 0 };
	void *addr;
	int same = 0;

	for (int round = 0; round < 200; round++) {
		make(&old, 7);
		ck_assert_int_eq(ssp_verify(old.c, old.dg, sizeof(old.dg), NULL), 0);
		ssp_cache_stats(&a);
		addr = old.c;
		ssp_ctx_free(old.c);
		ssp_cache_stats(&b);
		ck_assert_uint_eq(b.keyed + 1, a.keyed);   /* its slot was wiped */
		make(&fresh, 7);                            /* same sequence number */
		same += (void *)fresh.c == addr;
		ck_assert_int_eq(ssp_verify(fresh.c, old.dg, sizeof(old.dg), NULL), -EBADMSG);
		ck_assert_int_eq(ssp_verify(fresh.c, fresh.dg, sizeof(fresh.dg), NULL), 0);
		ssp_ctx_free(fresh.c);
	}
	/* glibc hands the same block back, which is the case of interest
	 * (AddressSanitizer and valgrind quarantine freed blocks instead) */
	if (!ASAN_BUILD && !under_valgrind())
		ck_assert_int_gt(same, 0);
}
END_TEST

START_TEST(peeks_do_not_evict)
{
	struct ssp_cache_stats a, b;
	uint8_t first[16];

	for (int i = 0; i < SSP_CACHE_SLOTS; i++)
		ck_assert_int_eq(ssp_verify(ss[i].c, ss[i].dg, sizeof(ss[i].dg), NULL), 0);
	/* a single-port scan over every session through OpenSSL */
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(ssp_peek(ss[i].c, ss[i].dg, sizeof(ss[i].dg), first), 0);
		ck_assert_mem_eq(first, ss[i].plain, 16);
	}
	ssp_cache_stats(&a);
	for (int i = 0; i < SSP_CACHE_SLOTS; i++)
		ck_assert_int_eq(ssp_verify(ss[i].c, ss[i].dg, sizeof(ss[i].dg), NULL), 0);
	ssp_cache_stats(&b);
	ck_assert_uint_eq(b.misses, a.misses);
	ck_assert_uint_eq(b.hits - a.hits, SSP_CACHE_SLOTS);
}
END_TEST

START_TEST(flush_rebuilds)
{
	struct ssp_cache_stats st;

	ck_assert_int_eq(ssp_verify(ss[0].c, ss[0].dg, sizeof(ss[0].dg), NULL), 0);
	ssp_cache_flush();
	ssp_cache_stats(&st);
	ck_assert_uint_eq(st.keyed, 0);
	ck_assert_uint_eq(st.hits + st.misses, 0);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(ssp_verify(ss[i].c, ss[i].dg, sizeof(ss[i].dg), NULL), 0);
	ssp_cache_stats(&st);
	ck_assert_uint_eq(st.misses, N);
	ck_assert_uint_eq(st.keyed, SSP_CACHE_SLOTS);
}
END_TEST

START_TEST(context_schedule_matches)
{
	for (int i = 0; i < N; i++) {
		const struct ssp_fastpeek *fp = ssp_ctx_fastpeek(ss[i].c);
		struct ssp_fastpeek own;
		uint8_t first[16];

		if (ssp_fastpeek_init(&own, ss[i].key) != 0) {
			ck_assert_ptr_null(fp);        /* no AES-NI: ssp_peek only */
			continue;
		}
		ck_assert_ptr_nonnull(fp);
		ck_assert_int_eq(ssp_fastpeek(fp, ss[i].dg, sizeof(ss[i].dg), first), 0);
		ck_assert_mem_eq(first, ss[i].plain, 16);
		ck_assert_mem_eq(fp, &own, sizeof(own));
		ssp_fastpeek_wipe(&own);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sspcache");
	TCase *tc = tcase_create("cache");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, more_sessions_than_slots);
	tcase_add_test(tc, hits_stay_hits);
	tcase_add_test(tc, recycled_context_never_borrows_a_key);
	tcase_add_test(tc, peeks_do_not_evict);
	tcase_add_test(tc, flush_rebuilds);
	tcase_add_test(tc, context_schedule_matches);
	suite_add_tcase(s, tc);
	return mh_check_run(s);
}
