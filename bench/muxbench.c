/*
 * Single-port mode (issue 4): the cost of finding the session of a datagram
 * from a new source on the public port (mh_decide_mux: trial
 * authentication), with 1, 100, 1,000 and 10,000 sessions, the SSH-address
 * hint hitting (the login came from that address) and missing (a roam to
 * an address no login came from, the wanted session last in scan order:
 * the worst case). Pure CPU, no kernel: prints p50/p99 in microseconds.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "session.h"
#include "verdict.h"

#define PUBLIC 60000
#define REPS 301

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

/* n sessions on ports 1..n, session i's login from 10.<i>; returns the key
 * of the session scanned last (the first one added). */
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
			size_t n = mkpkt(pkt, key, 1, "198.18.0.0", lens[l]);

			snprintf(name, sizeof(name), "hit%zu", lens[l]);
			measure(t, &pol, pkt, n, name, sizes[i]);
			/* miss: from nowhere any login came from */
			n = mkpkt(pkt, key, 1, "203.0.113.9", lens[l]);
			snprintf(name, sizeof(name), "miss%zu", lens[l]);
			measure(t, &pol, pkt, n, name, sizes[i]);
		}
		mh_table_clear(t);
		free(t);
	}
	return 0;
}
