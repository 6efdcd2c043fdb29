/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for single-port mode's session finding (mh_decide_mux) and the
 * SSH client address index: a datagram to the public port is given to the
 * one session whose key authenticates it, the login's address is tried
 * first, and nothing else (forgery, replay, wrong direction, an address the
 * session is not bound to) ever maps to a session.
 */
#include <arpa/inet.h>
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muxsel.h"
#include "session.h"
#include "verdict.h"
#include "ssp_test.h"

#define PUBLIC 60000
#define NSESS 8
static struct mh_table *tab;
static struct mh_policy pol = { .candidate_lifetime_ms = 10000, .public_port = PUBLIC };
static uint8_t keys[NSESS][SSP_KEY_LEN];

/* session i: port 60001+i, its SSH login from 198.18.3.(10+i/2): two
 * sessions share each login address */
static void setup(void)
{
	char ip[32];
	int i;

	tab = malloc(sizeof(*tab));
	mh_table_init(tab);
	for (i = 0; i < NSESS; i++) {
		struct mh_session *s;

		memset(keys[i], 'a' + i, SSP_KEY_LEN);
		s = mh_session_add(tab, (uint16_t)(60001 + i), keys[i], 1000, 1, 1, 4);
		ck_assert_ptr_nonnull(s);
		snprintf(ip, sizeof(ip), "198.18.3.%d", 10 + i / 2);
		ck_assert_int_eq(mh_session_set_ssh_client(tab, s, ip), 0);
	}
}

static void teardown(void)
{
	mh_table_clear(tab);
	free(tab);
}

static size_t pkt(uint8_t *out, int key, enum ssp_direction dir, uint64_t seq,
		  const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
	uint8_t plain[16] = { 0 }, dg[64];
	struct ssp_ctx *c = ssp_ctx_new(keys[key]);
	long n = ssp_seal(c, dir, seq, plain, sizeof(plain), dg, sizeof(dg));
	uint16_t tot = htons((uint16_t)(28 + n)), ulen = htons((uint16_t)(8 + n));

	ssp_ctx_free(c);
	memset(out, 0, 28);
	out[0] = 0x45;
	memcpy(out + 2, &tot, 2);
	out[9] = IPPROTO_UDP;
	inet_pton(AF_INET, src, out + 12);
	inet_pton(AF_INET, dst, out + 16);
	out[20] = sport >> 8; out[21] = sport & 0xff;
	out[22] = dport >> 8; out[23] = dport & 0xff;
	memcpy(out + 24, &ulen, 2);
	memcpy(out + 28, dg, (size_t)n);
	return 28 + (size_t)n;
}

static struct mh_decision mux(int key, uint64_t seq, const char *src)
{
	uint8_t p[128];
	size_t n = pkt(p, key, SSP_TO_SERVER, seq, src, 41000, "198.18.0.2", PUBLIC);
	struct mh_decision d;

	mh_decide_mux(tab, &pol, p, n, &d);
	return d;
}

START_TEST(hint_hit_tries_the_login_address_first)
{
	struct mh_decision d = mux(5, 0, "198.18.3.12");   /* session 5's login */

	struct mh_session *c[MH_MUX_MAX_TRIALS];

	ck_assert(d.accept);
	ck_assert_int_eq(d.reason, MH_R_MAPPED);
	ck_assert_uint_eq(d.session->port, 60006);
	ck_assert_uint_le(d.trials, 4);   /* the first batch of first blocks */
	/* the two sessions of that login come first */
	ck_assert_uint_ge(mh_mux_candidates(tab, &d.pkt.src, &d.pkt.dst, 0, c), 2);
	ck_assert_uint_eq((c[0]->port - 60001) / 2, 2);
	ck_assert_uint_eq((c[1]->port - 60001) / 2, 2);
}
END_TEST

START_TEST(hint_miss_scans_the_rest)
{
	struct mh_decision d = mux(6, 0, "198.18.9.9");     /* roamed elsewhere */

	ck_assert(d.accept);
	ck_assert_uint_eq(d.session->port, 60007);
	ck_assert_uint_le(d.trials, NSESS);
}
END_TEST

START_TEST(decision_changes_no_state)
{
	struct mh_decision d = mux(1, 7, "198.18.3.10");
	const struct mh_addr src = d.pkt.src;

	ck_assert(d.accept);
	ck_assert(!d.session->seen_in);
	ck_assert(!d.session->contacted);
	ck_assert(!mh_candidate_take(d.session, &src, 1, false));
}
END_TEST

START_TEST(replay_never_maps)
{
	struct mh_session *s = tab->by_port[60003];
	struct mh_decision d;

	mh_session_seq_seen(tab, s, 50);
	d = mux(2, 50, "198.18.9.9");
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_NO_MATCH);
	ck_assert_uint_eq(d.trials, NSESS - 1);   /* its own session skipped before any crypto */
	ck_assert(mux(2, 51, "198.18.9.9").accept);
}
END_TEST

START_TEST(forgeries_and_strangers_never_map)
{
	uint8_t p[128];
	size_t n = pkt(p, 0, SSP_TO_SERVER, 0, "198.18.3.10", 41000, "198.18.0.2", PUBLIC);
	struct mh_decision d;
	size_t i;

	for (i = 28; i < n; i++) {     /* a bit flip anywhere in the payload */
		p[i] ^= 0x10;
		mh_decide_mux(tab, &pol, p, n, &d);
		ck_assert(!d.accept);
		p[i] ^= 0x10;
	}
	memset(keys[0], 'z', SSP_KEY_LEN); /* a key no session has */
	n = pkt(p, 0, SSP_TO_SERVER, 0, "198.18.3.10", 41000, "198.18.0.2", PUBLIC);
	mh_decide_mux(tab, &pol, p, n, &d);
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_NO_MATCH);
	ck_assert_uint_eq(d.trials, NSESS);
}
END_TEST

START_TEST(server_datagrams_never_map)
{
	uint8_t p[128];
	size_t n = pkt(p, 3, SSP_TO_CLIENT, 0, "198.18.3.11", 41000, "198.18.0.2", PUBLIC);
	struct mh_decision d;

	mh_decide_mux(tab, &pol, p, n, &d);
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_WRONG_DIRECTION);
}
END_TEST

START_TEST(only_the_public_port)
{
	uint8_t p[128];
	size_t n = pkt(p, 3, SSP_TO_SERVER, 0, "198.18.3.11", 41000, "198.18.0.2", 60004);
	struct mh_decision d;

	mh_decide_mux(tab, &pol, p, n, &d);
	ck_assert_int_eq(d.reason, MH_R_NO_SESSION);
	pol.public_port = 0;
	ck_assert(!mux(3, 0, "198.18.3.11").accept);
	pol.public_port = PUBLIC;
}
END_TEST

START_TEST(unbound_address_skipped)
{
	struct mh_session *s = tab->by_port[60005];

	s->n_bound = 1;
	s->bound[0].family = AF_INET;
	inet_pton(AF_INET, "198.18.0.7", s->bound[0].ip);
	ck_assert(!mux(4, 0, "198.18.3.12").accept);
	inet_pton(AF_INET, "198.18.0.2", s->bound[0].ip);
	ck_assert(mux(4, 0, "198.18.3.12").accept);
}
END_TEST

/* Where a host's port-only DNAT sends d's flow: the address the
 * datagram was sent to, port. */
static struct mh_addr to_port(const struct mh_decision *d, uint16_t port)
{
	struct mh_addr a = d->pkt.dst;

	a.port = port;
	return a;
}

/* A source whose datagram already rides a flow: the flow's port decides
 * (mh_decide_mux_flow). Session 1 (port 60002) authenticates it. */
static struct mh_decision mux_with_flow(uint16_t flow_port)
{
	struct mh_decision d = mux(1, 9, "198.18.3.10");
	struct mh_addr to = to_port(&d, flow_port);

	ck_assert(d.accept);
	mh_decide_mux_flow(&pol, tab->by_port[flow_port], &to, 1000, &d);
	return d;
}

START_TEST(flow_to_its_own_port_or_none_kept)
{
	static const uint16_t ports[] = { 0, PUBLIC, 60002 };
	struct mh_decision d = mux(1, 9, "198.18.3.10");

	for (unsigned i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		d = mux_with_flow(ports[i]);
		ck_assert(d.accept);
		ck_assert_int_eq(d.reason, MH_R_MAPPED);
		ck_assert(!d.cut_flow);
	}
	mh_decide_mux_flow(&pol, NULL, NULL, 1000, &d);   /* no flow at all */
	ck_assert(d.accept && !d.cut_flow);
}
END_TEST

/* an earlier trial's flow to session 4, whose server never answered (a
 * forged-source replay of its datagram): cut, its candidate withdrawn */
START_TEST(unanswered_flow_elsewhere_cut)
{
	struct mh_session *old = tab->by_port[60005];
	struct mh_decision d = mux(1, 9, "198.18.3.10");

	struct mh_addr to = to_port(&d, 60005);

	mh_candidate_add(old, &d.pkt.src, 5000);
	mh_decide_mux_flow(&pol, old, &to, 1000, &d);
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_STALE_FLOW);
	ck_assert_str_eq(mh_reason_name(d.reason), "stale_flow");
	ck_assert(d.cut_flow);
	ck_assert_uint_eq(d.session->port, 60002);
	ck_assert(!mh_candidate_take(old, &d.pkt.src, 1000, false));
}
END_TEST

/* a flow to a port no session holds any more: cut */
START_TEST(flow_to_a_gone_session_cut)
{
	struct mh_decision d = mux_with_flow(60999);

	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_STALE_FLOW);
	ck_assert(d.cut_flow);
}
END_TEST

/* session 4's mosh-server answered this source (its pinhole record): a
 * datagram authentic for another session, a replay as like as not, does
 * not take it; nothing of session 4's changes */
START_TEST(answered_flow_elsewhere_kept)
{
	struct mh_session *old = tab->by_port[60005];
	struct mh_decision d = mux(1, 9, "198.18.3.10");
	struct mh_addr ev, to = to_port(&d, 60005);

	ck_assert(!mh_pinhole_record(old, &d.pkt.src, 500, &ev));
	mh_decide_mux_flow(&pol, old, &to, 1000, &d);
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_CLAIMED);
	ck_assert_str_eq(mh_reason_name(d.reason), "claimed");
	ck_assert(!d.cut_flow);
	ck_assert_ptr_nonnull(mh_pinhole_find(old, &d.pkt.src));
}
END_TEST

/* a drop stays a drop whatever the flow */
START_TEST(flow_ignored_for_a_drop)
{
	struct mh_decision d = mux(1, 9, "198.18.3.10");
	struct mh_addr to = to_port(&d, 60005);

	d.accept = false;
	d.reason = MH_R_NO_MATCH;
	mh_decide_mux_flow(&pol, tab->by_port[60005], &to, 1000, &d);
	ck_assert_int_eq(d.reason, MH_R_NO_MATCH);
	ck_assert(!d.cut_flow);
}
END_TEST

START_TEST(hint_index_follows_the_table)
{
	struct mh_addr a = { .family = AF_INET };
	struct mh_session *s;
	int n = 0;

	inet_pton(AF_INET, "198.18.3.11", a.ip);
	for (s = mh_session_hint_first(tab, &a); s; s = mh_session_hint_next(s, &a))
		n++;
	ck_assert_int_eq(n, 2);
	mh_session_remove(tab, tab->by_port[60003]);
	s = mh_session_hint_first(tab, &a);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->port, 60004);
	ck_assert_ptr_null(mh_session_hint_next(s, &a));
	ck_assert_int_eq(mh_session_set_ssh_client(tab, s, "fd00:3::10"), 0);
	ck_assert_ptr_null(mh_session_hint_first(tab, &a));
	ck_assert_int_eq(mh_session_set_ssh_client(tab, s, "not an address"), -EINVAL);
	ck_assert_int_eq(s->ssh_addr.family, 0);
}
END_TEST

/* ---- issue 11: the bound on trials ---------------------------------- */

#define BIG 2048
static struct mh_table *big;
static uint8_t bigkey[BIG][SSP_KEY_LEN];

/* BIG sessions on ports 20000.., each seen at a random sequence number
 * below 100000, its login from 198.19.<i/256>.<i%256>. */
static void big_setup(void)
{
	char ip[32];
	int i, j;

	srandom(7);
	big = malloc(sizeof(*big));
	mh_table_init(big);
	for (i = 0; i < BIG; i++) {
		struct mh_session *s;

		for (j = 0; j < SSP_KEY_LEN; j++)
			bigkey[i][j] = (uint8_t)random();
		s = mh_session_add(big, (uint16_t)(20000 + i), bigkey[i], 1000, 1, 1, 4);
		ck_assert_ptr_nonnull(s);
		snprintf(ip, sizeof(ip), "198.19.%d.%d", i / 256, i % 256);
		ck_assert_int_eq(mh_session_set_ssh_client(big, s, ip), 0);
		mh_session_seq_seen(big, s, (uint64_t)random() % 100000);
	}
}

static void big_teardown(void)
{
	mh_table_clear(big);
	free(big);
}

/* an IPv4/UDP packet to the public port around payload */
static size_t wrap(uint8_t *out, const uint8_t *pl, size_t n, const char *src,
		   uint16_t sport)
{
	uint16_t tot = htons((uint16_t)(28 + n)), ulen = htons((uint16_t)(8 + n));

	memset(out, 0, 28);
	out[0] = 0x45;
	memcpy(out + 2, &tot, 2);
	out[9] = IPPROTO_UDP;
	inet_pton(AF_INET, src, out + 12);
	inet_pton(AF_INET, "198.18.0.2", out + 16);
	out[20] = sport >> 8; out[21] = sport & 0xff;
	out[22] = PUBLIC >> 8; out[23] = PUBLIC & 0xff;
	memcpy(out + 24, &ulen, 2);
	memcpy(out + 28, pl, n);
	return 28 + n;
}

static struct mh_decision big_sealed(int i, uint64_t seq, const char *src,
				     uint16_t sport)
{
	uint8_t plain[40] = { 0 }, dg[128], p[200];
	struct ssp_ctx *c = ssp_ctx_new(bigkey[i]);
	long n = ssp_seal(c, SSP_TO_SERVER, seq, plain, sizeof(plain), dg, sizeof(dg));
	struct mh_decision d;

	ssp_ctx_free(c);
	ck_assert_int_gt(n, 0);
	mh_decide_mux(big, &pol, p, wrap(p, dg, (size_t)n, src, sport), &d);
	return d;
}

/* Forged datagrams of every length 1-1500, random and with a plausible
 * to-server header, from a login's address and from elsewhere: none maps,
 * none costs more than MH_MUX_MAX_TRIALS trials (2,048 sessions), the
 * short ones and the impossible headers none at all, and no trial keys a
 * context of the shared cache. */
START_TEST(forged_trials_bounded)
{
	static uint8_t pl[1500], p[1600];
	struct ssp_cache_stats before, after;
	struct mh_decision d;
	unsigned maxtr = 0;
	size_t len, i;
	int k;

	ssp_cache_stats(&before);
	for (len = 1; len <= 1500; len++)
		for (k = 0; k < 3; k++) {
			for (i = 0; i < len; i++)
				pl[i] = (uint8_t)random();
			if (k > 0)   /* plausible: small sequence number, to server */
				memset(pl, 0, len < 6 ? len : 6);
			mh_decide_mux(big, &pol, p, wrap(p, pl, len, k == 2 ? "198.19.3.4" : "203.0.113.5",
							 (uint16_t)(1024 + len)), &d);
			ck_assert(!d.accept);
			ck_assert_uint_le(d.trials, MH_MUX_MAX_TRIALS);
			if (d.trials > maxtr)
				maxtr = d.trials;
			if (len < MH_MUX_MIN_PAYLOAD) {
				ck_assert_int_eq(d.reason, MH_R_SHORT);
				ck_assert_uint_eq(d.trials, 0);
			} else if (k == 0 && (pl[0] || pl[1] || pl[2])) {
				ck_assert_int_eq(d.reason, MH_R_WRONG_DIRECTION);
				ck_assert_uint_eq(d.trials, 0);
			} else {
				ck_assert_int_eq(d.reason, MH_R_NO_MATCH);
			}
		}
	ck_assert_uint_eq(maxtr, MH_MUX_MAX_TRIALS);   /* the bound is reached */
	ssp_cache_stats(&after);
	if (ssp_ctx_fastpeek(big->head->ssp))   /* with AES-NI: no OpenSSL context at all */
		ck_assert_uint_eq(after.misses, before.misses);
}
END_TEST

/* A roam from an address no login came from: the sequence index finds the
 * session whose last seen number is just below, within the bound. */
START_TEST(roam_found_by_sequence_window)
{
	int i;

	for (i = 0; i < BIG; i += 97) {
		struct mh_session *s = mh_session_by_port(big, (uint16_t)(20000 + i));
		struct mh_decision d = big_sealed(i, s->max_seq_in + 1, "203.0.113.7", 5000);

		ck_assert(d.accept);
		ck_assert_ptr_eq(d.session, s);
		ck_assert_uint_le(d.trials, MH_MUX_MAX_TRIALS);
	}
}
END_TEST

/* From the login's address: that session is tried first, whatever its
 * number. */
START_TEST(ssh_address_first)
{
	struct mh_decision d = big_sealed(515, 999999, "198.19.2.3", 5001);
	struct mh_session *c[MH_MUX_MAX_TRIALS];

	ck_assert(d.accept);
	ck_assert_uint_eq(d.session->port, 20515);
	ck_assert_uint_le(d.trials, 4);
	ck_assert_uint_eq(mh_mux_candidates(big, &d.pkt.src, &d.pkt.dst, 999999, c),
			  MH_MUX_MAX_TRIALS);
	ck_assert_ptr_eq(c[0], d.session);
}
END_TEST

/* Outside the bound: the client's session was last seen long ago, more
 * than MH_MUX_MAX_TRIALS others nearer below its number. Its first
 * datagram is not placed (dropped: mosh resends); the sweep finds its
 * session within one burst; its next datagram maps at the first trial.
 * Another source gains nothing from it. */
START_TEST(outside_bound_placed_after_sweep)
{
	struct mh_session *s = mh_session_by_port(big, 20100);
	struct mh_decision d;
	unsigned spent;

	mh_session_seq_seen(big, s, 3);
	d = big_sealed(100, 200000, "203.0.113.8", 5002);
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_NO_MATCH);
	ck_assert_uint_eq(d.trials, MH_MUX_MAX_TRIALS);
	spent = mh_mux_sweep(big, 1000);
	ck_assert_uint_gt(spent, 0);
	ck_assert_uint_le(spent, MH_MUX_SWEEP_BURST);
	d = big_sealed(100, 200001, "203.0.113.8", 5002);
	ck_assert(d.accept);
	ck_assert_ptr_eq(d.session, s);
	ck_assert_uint_le(d.trials, 4);
	{
		struct mh_session *c[MH_MUX_MAX_TRIALS];

		mh_mux_note(big, &d.pkt.src, d.pkt.payload, d.pkt.len);
		ck_assert_uint_gt(mh_mux_candidates(big, &d.pkt.src, &d.pkt.dst, 200002, c), 0);
		ck_assert_ptr_ne(c[0], s);   /* a fresh entry: no match yet */
	}
	/* placed: the entry is gone; the session itself is unchanged */
	ck_assert_uint_eq(s->max_seq_in, 3);
	d = big_sealed(100, 200002, "203.0.113.9", 5002);
	ck_assert(!d.accept);
}
END_TEST

/* A table whose ports are shared (the gateway's): the BIG keys as
 * sessions of as many servers, all on port 60001. A source the bounded
 * trial misses is placed by the sweep, whose cursor runs over the sequence
 * index there (no port index), and its session is then found by id. */
START_TEST(shared_ports_placed_after_sweep)
{
	struct mh_table *sh = malloc(sizeof(*sh));
	struct mh_session *s[BIG];
	uint8_t plain[40] = { 0 }, dg[128], p[200];
	struct ssp_ctx *c = ssp_ctx_new(bigkey[100]);
	struct mh_decision d;
	long n;

	mh_table_init(sh);
	sh->ports_shared = true;
	for (int i = 0; i < BIG; i++) {
		s[i] = mh_session_add(sh, 60001, bigkey[i], 1000, 1, 1, 4);
		ck_assert_ptr_nonnull(s[i]);
		mh_session_seq_seen(sh, s[i], i == 100 ? 3 : 50000 + (uint64_t)i);
	}
	for (int k = 0; k < 2; k++) {
		n = ssp_seal(c, SSP_TO_SERVER, 200000 + (uint64_t)k, plain,
			     sizeof(plain), dg, sizeof(dg));
		mh_decide_mux(sh, &pol, p, wrap(p, dg, (size_t)n, "203.0.113.8", 5002), &d);
		if (k == 0) {
			ck_assert(!d.accept);
			ck_assert_uint_eq(d.trials, MH_MUX_MAX_TRIALS);
			ck_assert_uint_gt(mh_mux_sweep(sh, 1000), 0);
		}
	}
	ck_assert(d.accept);
	ck_assert_ptr_eq(d.session, s[100]);
	ck_assert_uint_le(d.trials, 4);
	ssp_ctx_free(c);
	mh_table_clear(sh);
	free(sh);
}
END_TEST

/* The sweep's budget: a burst at most per call, then MH_MUX_SWEEP_RATE a
 * second; forged sources fill the pending table but never evict each
 * other's progress for free, and nothing maps. */
START_TEST(sweep_budget)
{
	static uint8_t pl[100], p[200];
	struct mh_decision d;
	char src[32];
	unsigned i, spent;

	for (i = 0; i < 600; i++) {
		size_t j;

		for (j = 0; j < sizeof(pl); j++)
			pl[j] = (uint8_t)random();
		memset(pl, 0, 6);
		snprintf(src, sizeof(src), "203.0.%u.%u", 100 + i / 256, i % 256);
		mh_decide_mux(big, &pol, p, wrap(p, pl, sizeof(pl), src, 7000), &d);
		ck_assert(!d.accept);
	}
	spent = mh_mux_sweep(big, 5000);
	ck_assert_uint_le(spent, MH_MUX_SWEEP_BURST);
	ck_assert_uint_gt(spent, MH_MUX_SWEEP_BURST / 2);
	spent = mh_mux_sweep(big, 5001);    /* one millisecond later */
	ck_assert_uint_le(spent, MH_MUX_SWEEP_RATE / 1000);
	spent = mh_mux_sweep(big, 5001);
	ck_assert_uint_eq(spent, 0);
}
END_TEST

/* The sequence index stays sorted and complete through adds, updates and
 * removals. */
START_TEST(sequence_index_consistent)
{
	unsigned i, n;

	for (i = 0; i < 500; i++) {
		struct mh_session *s = mh_session_by_port(big, (uint16_t)(20000 + random() % BIG));

		if (s && i % 5 == 0)
			mh_session_remove(big, s);
		else if (s)
			mh_session_seq_seen(big, s, (uint64_t)random() % 200000);
	}
	for (i = 0, n = 0; i < big->count; i++, n++) {
		ck_assert_uint_eq(big->by_seq[i].key, big->by_seq[i].s->seq_key);
		ck_assert_uint_eq(big->by_seq[i].s->seq_key, big->by_seq[i].s->max_seq_in + 1);
		if (i)
			ck_assert(big->by_seq[i - 1].key < big->by_seq[i].key ||
				  (big->by_seq[i - 1].key == big->by_seq[i].key &&
				   big->by_seq[i - 1].tie < big->by_seq[i].tie));
	}
	ck_assert_uint_eq(n, big->count);
	ck_assert_uint_eq(mh_session_seq_upper(big, 0), 0);
	ck_assert_uint_eq(mh_session_seq_upper(big, UINT64_MAX >> 1), big->count);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mux");
	TCase *tc = tcase_create("single-port");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hint_hit_tries_the_login_address_first);
	tcase_add_test(tc, hint_miss_scans_the_rest);
	tcase_add_test(tc, decision_changes_no_state);
	tcase_add_test(tc, replay_never_maps);
	tcase_add_test(tc, forgeries_and_strangers_never_map);
	tcase_add_test(tc, server_datagrams_never_map);
	tcase_add_test(tc, only_the_public_port);
	tcase_add_test(tc, unbound_address_skipped);
	tcase_add_test(tc, hint_index_follows_the_table);
	tcase_add_test(tc, flow_to_its_own_port_or_none_kept);
	tcase_add_test(tc, unanswered_flow_elsewhere_cut);
	tcase_add_test(tc, flow_to_a_gone_session_cut);
	tcase_add_test(tc, answered_flow_elsewhere_kept);
	tcase_add_test(tc, flow_ignored_for_a_drop);
	suite_add_tcase(s, tc);
	tc = tcase_create("bounded");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, big_setup, big_teardown);
	tcase_add_test(tc, forged_trials_bounded);
	tcase_add_test(tc, roam_found_by_sequence_window);
	tcase_add_test(tc, ssh_address_first);
	tcase_add_test(tc, outside_bound_placed_after_sweep);
	tcase_add_test(tc, shared_ports_placed_after_sweep);
	tcase_add_test(tc, sweep_budget);
	tcase_add_test(tc, sequence_index_consistent);
	suite_add_tcase(s, tc);
	return mh_check_run(s);
}
