/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Single-port mode (issues 4, 11): the cost of finding the session of a
 * datagram from a new source on the public port (mh_decide_mux: trial
 * authentication), with 1, 100, 1,000 and 10,000 sessions, the SSH-address
 * hint hitting (the login came from that address) and missing (a roam to
 * an address no login came from, with the sequence number just above what
 * the daemon last saw of its session, every other session seen at a
 * random one); then, with 10,000 sessions, the CPU of one forged datagram
 * of every length 1-1500 (random bytes, and a plausible to-server header
 * from a login's address), against one authentic verify of 1200 bytes in
 * the same run; and the background sweep. Pure CPU, no kernel; builds on
 * main's code too (without the sweep), for the before figures.
 * MUXBENCH_REPS: forged datagrams per length and kind (default 50).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "session.h"
#include "verdict.h"
#if __has_include("muxsel.h")
#include "muxsel.h"
#include "ssp_test.h"
#define HAVE_MUXSEL 1
#endif

#define PUBLIC 60000
#define REPS 301
#define WANTED_SEQ 50000

static size_t mkpkt(uint8_t *out, const uint8_t key[SSP_KEY_LEN], uint64_t seq,
		    const char *src, size_t plain_len)
{
	static uint8_t plain[1300];
	struct ssp_ctx *c = ssp_ctx_new(key);
	long n = ssp_seal(c, SSP_TO_SERVER, seq, plain, plain_len, out + 28, 1400);
	uint16_t tot = htons((uint16_t)(28 + n)), ulen = htons((uint16_t)(8 + n));

	ssp_ctx_free(c);
	if (n < 0)
		exit(1);
	memset(out, 0, 28);
	out[0] = 0x45;
	memcpy(out + 2, &tot, 2);
	out[9] = IPPROTO_UDP;
	inet_pton(AF_INET, src, out + 12);
	inet_pton(AF_INET, "198.18.0.2", out + 16);
	out[20] = 0xa0; out[21] = 0x28;                /* source port 41000 */
	out[22] = PUBLIC >> 8; out[23] = PUBLIC & 0xff;
	memcpy(out + 24, &ulen, 2);
	return 28 + (size_t)n;
}

static void seen(struct mh_table *t, struct mh_session *s, uint64_t seq)
{
#ifdef HAVE_MUXSEL
	mh_session_seq_seen(t, s, seq);
#else
	(void)t;
	s->max_seq_in = seq;
	s->seen_in = true;
#endif
}

/* n sessions on ports 1..n, session i's login from 198.<18+i/65536>.x.y,
 * each seen at a random sequence number below 2 * WANTED_SEQ; returns the
 * key of the session scanned last by a full scan (the first one added),
 * seen at WANTED_SEQ - 1. */
static void fill(struct mh_table *t, unsigned n, uint8_t last_key[SSP_KEY_LEN])
{
	uint8_t key[SSP_KEY_LEN];
	char ip[32];
	unsigned i, j;

	for (i = 0; i < n; i++) {
		struct mh_session *s;

		for (j = 0; j < SSP_KEY_LEN; j++)
			key[j] = (uint8_t)random();
		if (i == 0)
			memcpy(last_key, key, SSP_KEY_LEN);
		s = mh_session_add(t, (uint16_t)(i + 1), key, 1000, 1, 1, 4);
		if (!s)
			exit(1);
		snprintf(ip, sizeof(ip), "198.%u.%u.%u", 18 + (i >> 16), (i >> 8) & 255, i & 255);
		mh_session_set_ssh_client(t, s, ip);
		seen(t, s, i == 0 ? WANTED_SEQ - 1 : (uint64_t)random() % (2 * WANTED_SEQ));
	}
}

static void measure(struct mh_table *t, const struct mh_policy *pol,
		    const uint8_t *p, size_t len, const char *name, unsigned n)
{
	uint64_t ns[REPS];
	struct mh_decision d;
	unsigned trials = 0;
	int i;

	for (i = 0; i < REPS; i++) {
		uint64_t t0 = bench_now_ns();

		mh_decide_mux(t, pol, p, len, &d);
		ns[i] = bench_now_ns() - t0;
		if (!d.accept) {
			fprintf(stderr, "muxbench: %s: not found (%s)\n", name,
				mh_reason_name(d.reason));
			exit(1);
		}
		trials = d.trials;
	}
	bench_sort(ns, REPS);
	printf("mux_%s_%u_p50_us: %.2f\n", name, n, bench_pct(ns, REPS, 50) / 1000.0);
	printf("mux_%s_%u_p99_us: %.2f\n", name, n, bench_pct(ns, REPS, 99) / 1000.0);
	printf("mux_%s_%u_trials: %u\n", name, n, trials);
}

/* A forged datagram: len bytes of UDP payload, random; plausible: a
 * to-server header of a small sequence number (what the kernel lets
 * through). From a login's address (its hint is tried too). */
static size_t forged(uint8_t *out, size_t len, bool plausible)
{
	uint16_t tot = htons((uint16_t)(28 + len)), ulen = htons((uint16_t)(8 + len));
	size_t i;

	memset(out, 0, 28);
	out[0] = 0x45;
	memcpy(out + 2, &tot, 2);
	out[9] = IPPROTO_UDP;
	inet_pton(AF_INET, "198.18.0.7", out + 12);
	inet_pton(AF_INET, "198.18.0.2", out + 16);
	out[20] = 0xa0; out[21] = 0x29;
	out[22] = PUBLIC >> 8; out[23] = PUBLIC & 0xff;
	memcpy(out + 24, &ulen, 2);
	for (i = 0; i < len; i++)
		out[28 + i] = (uint8_t)random();
	if (plausible && len >= 8) {
		uint64_t seq = (uint64_t)random() % (2 * WANTED_SEQ);

		for (i = 0; i < 8; i++)
			out[28 + i] = (uint8_t)(seq >> (56 - 8 * i));
	}
	return 28 + len;
}

/* This thread's CPU time: a datagram's cost without the time other
 * processes of a shared machine ran in between. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* What reading cpu_ns twice costs (median of 1001), taken off each sample. */
static uint64_t cpu_ns_overhead(void)
{
	uint64_t v[1001];
	int i;

	for (i = 0; i < 1001; i++) {
		uint64_t t0 = cpu_ns();

		v[i] = cpu_ns() - t0;
	}
	bench_sort(v, 1001);
	return v[500];
}

static double pct_us(uint64_t *v, size_t n, double p)
{
	bench_sort(v, n);
	return bench_pct(v, n, p) / 1000.0;
}

/* Every length 1-1500, random and plausible: for each length and kind a
 * batch of `reps` different datagrams is decided and timed in this
 * thread's CPU time (the shared machine's other processes do not count),
 * the batch's mean is one point; percentiles over the 3,000 points. */
static void forged_cost(struct mh_table *t, const struct mh_policy *pol)
{
	const char *e = getenv("MUXBENCH_REPS");
	unsigned reps = e ? (unsigned)atoi(e) : 50, r, maxtr = 0;
	size_t n = 0, nc[3] = { 0 }, len;
	static uint64_t all[3000], cls[3][3000];
	static uint8_t pkt[200][1600];
	size_t plen[200];
	uint64_t over = cpu_ns_overhead();
	struct mh_decision d;
	int k, c;

	if (reps < 1 || reps > 200)
		reps = 50;
	for (len = 1; len <= 1500; len++)
		for (k = 0; k < 2; k++) {
			uint64_t t0, dt;

			for (r = 0; r < reps; r++)
				plen[r] = forged(pkt[r], len, k);
			t0 = cpu_ns();
			for (r = 0; r < reps; r++) {
				mh_decide_mux(t, pol, pkt[r], plen[r], &d);
				if (d.accept) {
					fprintf(stderr, "muxbench: a forged datagram mapped\n");
					exit(1);
				}
				if (d.trials > maxtr)
					maxtr = d.trials;
			}
			dt = cpu_ns() - t0;
			dt = (dt > over ? dt - over : 0) / reps;
			c = len < SSP_MIN_DATAGRAM_LEN ? 0 : len < SSP_MIN_DATAGRAM_LEN + 16 ? 1 : 2;
			cls[c][nc[c]++] = dt;
			all[n++] = dt;
		}
	printf("mux_forged_cost_p50_us: %.3f\n", pct_us(all, n, 50));
	printf("mux_forged_cost_p99_us: %.3f\n", pct_us(all, n, 99));
	printf("mux_forged_cost_max_us: %.3f\n", pct_us(all, n, 100));
	printf("mux_forged_cost_1_23_p99_us: %.3f\n", pct_us(cls[0], nc[0], 99));
	printf("mux_forged_cost_24_39_p99_us: %.3f\n", pct_us(cls[1], nc[1], 99));
	printf("mux_forged_cost_40_1500_p99_us: %.3f\n", pct_us(cls[2], nc[2], 99));
	printf("mux_forged_trials_max: %u\n", maxtr);
	printf("mux_forged_points: %zu (x %u datagrams)\n", n, reps);
}

/* Reference: one authentic 1200-byte datagram verified with its session's
 * key (what the daemon pays for every datagram it lets through). */
static void verify_reference(void)
{
	uint8_t key[SSP_KEY_LEN] = { 1, 2, 3 }, dg[1400];
	static uint8_t plain[1200 - SSP_MIN_DATAGRAM_LEN];
	struct ssp_ctx *c = ssp_ctx_new(key);
	uint64_t ns[REPS];
	long n;
	int i;

	if (!c || (n = ssp_seal(c, SSP_TO_SERVER, 1, plain, sizeof(plain), dg, sizeof(dg))) < 0)
		exit(1);
	for (i = 0; i < REPS; i++) {
		uint64_t t0 = cpu_ns();
		int j;

		for (j = 0; j < 50; j++)
			if (ssp_verify(c, dg, (size_t)n, NULL) < 0)
				exit(1);
		ns[i] = (cpu_ns() - t0) / 50;
	}
	printf("mux_ref_verify1200_p50_us: %.3f\n", pct_us(ns, REPS, 50));
	ssp_ctx_free(c);
}

#ifdef HAVE_MUXSEL
/* A client outside the bound: its session last seen long ago (every other
 * session nearer below its number). Its first datagram is noted, the sweep
 * finds its session, its next datagram maps: the sweep's CPU for it. */
static void outside_bound(struct mh_table *t, const struct mh_policy *pol,
			  const uint8_t key[SSP_KEY_LEN])
{
	uint8_t pkt[1500];
	struct mh_decision d;
	uint64_t now = 1000, t0, ns = 0, trials = 0;
	size_t n = mkpkt(pkt, key, 3 * WANTED_SEQ, "203.0.113.10", 100);
	unsigned calls = 0, got;

	mh_decide_mux(t, pol, pkt, n, &d);
	printf("mux_outside_first_accept: %d (trials %u)\n", d.accept, d.trials);
	do {
		now += 1000;       /* a second apart: the whole burst each call */
		t0 = bench_now_ns();
		got = mh_mux_sweep(t, now);
		ns += bench_now_ns() - t0;
		trials += got;
		calls++;
	} while (got && calls < 100);
	n = mkpkt(pkt, key, 3 * WANTED_SEQ + 1, "203.0.113.10", 100);
	mh_decide_mux(t, pol, pkt, n, &d);
	printf("mux_outside_next_accept: %d (trials %u)\n", d.accept, d.trials);
	printf("mux_sweep_trials: %llu\n", (unsigned long long)trials);
	printf("mux_sweep_ms: %.3f\n", ns / 1e6);
	printf("mux_sweep_ns_per_trial: %.1f\n", trials ? (double)ns / (double)trials : 0);
	if (!d.accept)
		exit(1);
}
#endif

int main(void)
{
	static const unsigned sizes[] = { 1, 100, 1000, 10000 };
	static const size_t lens[] = { 100, 1200 };
	struct mh_policy pol = { .candidate_lifetime_ms = 10000, .public_port = PUBLIC };
	uint8_t key[SSP_KEY_LEN], pkt[1500];
	size_t i, l;

	srandom(42);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct mh_table *t = calloc(1, sizeof(*t));
		char name[32];

		mh_table_init(t);
		fill(t, sizes[i], key);
		for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			/* hint hit: from the address the login came from */
			size_t n = mkpkt(pkt, key, WANTED_SEQ, "198.18.0.0", lens[l]);

			snprintf(name, sizeof(name), "hit%zu", lens[l]);
			measure(t, &pol, pkt, n, name, sizes[i]);
			/* miss: from nowhere any login came from */
			n = mkpkt(pkt, key, WANTED_SEQ, "203.0.113.9", lens[l]);
			snprintf(name, sizeof(name), "miss%zu", lens[l]);
			measure(t, &pol, pkt, n, name, sizes[i]);
		}
		if (sizes[i] == 10000) {
			verify_reference();
			forged_cost(t, &pol);
#ifdef HAVE_MUXSEL
			outside_bound(t, &pol, key);
#endif
		}
		mh_table_clear(t);
		free(t);
	}
	return 0;
}
