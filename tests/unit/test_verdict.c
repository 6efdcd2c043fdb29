/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the slow-path policy: packet parsing, the session table
 * and mh_decide(), with datagrams sealed by the real SSP code under a test
 * key. Each test states one rule of the policy and tries to break it.
 */
#include <arpa/inet.h>
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "verdict.h"
#include "ssp_test.h"

#define SPORT 60001
static const uint8_t key[SSP_KEY_LEN] = "0123456789abcdef";
static const uint8_t other_key[SSP_KEY_LEN] = "fedcba9876543210";
static struct mh_table *tab;
static struct mh_policy pol = { .candidate_lifetime_ms = 10000 };

static void setup(void)
{
	tab = malloc(sizeof(*tab));
	mh_table_init(tab);
	ck_assert_ptr_nonnull(mh_session_add(tab, SPORT, key, 1000, 4242, 1, 4));
}

static void teardown(void)
{
	mh_table_clear(tab);
	free(tab);
}

/* Builds IPv4 (or IPv6 when v6) + UDP around payload. Returns length. */
static size_t mkpkt(uint8_t *out, bool v6, const char *src, uint16_t sport,
		    const char *dst, uint16_t dport, const uint8_t *pl, size_t n)
{
	size_t ih = v6 ? 40 : 20;
	uint16_t ulen = htons((uint16_t)(8 + n));

	memset(out, 0, ih + 8);
	if (v6) {
		uint16_t plen = ulen;
		out[0] = 0x60;
		memcpy(out + 4, &plen, 2);
		out[6] = IPPROTO_UDP;
		inet_pton(AF_INET6, src, out + 8);
		inet_pton(AF_INET6, dst, out + 24);
	} else {
		uint16_t tot = htons((uint16_t)(20 + 8 + n));
		out[0] = 0x45;
		memcpy(out + 2, &tot, 2);
		out[8] = 64;
		out[9] = IPPROTO_UDP;
		inet_pton(AF_INET, src, out + 12);
		inet_pton(AF_INET, dst, out + 16);
	}
	out[ih] = sport >> 8; out[ih + 1] = sport & 0xff;
	out[ih + 2] = dport >> 8; out[ih + 3] = dport & 0xff;
	memcpy(out + ih + 4, &ulen, 2);
	memcpy(out + ih + 8, pl, n);
	return ih + 8 + n;
}

/* A sealed SSP datagram inside a packet. */
static size_t ssp_pkt(uint8_t *out, const uint8_t *k, enum ssp_direction dir,
		      uint64_t seq, bool v6, const char *src, uint16_t sport,
		      const char *dst, uint16_t dport)
{
	uint8_t plain[32] = { 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 7, 0x80, 0, 'h', 'i' };
	uint8_t dg[128];
	struct ssp_ctx *c = ssp_ctx_new(k);
	long n = ssp_seal(c, dir, seq, plain, 16, dg, sizeof(dg));

	ssp_ctx_free(c);
	ck_assert_int_gt(n, 0);
	return mkpkt(out, v6, src, sport, dst, dport, dg, (size_t)n);
}

#define CLIENT "198.18.3.10"
#define SERVER "198.18.0.2"
#define ATTACK "198.18.2.2"

static struct mh_decision in(uint64_t seq, const char *src, uint16_t sport,
			     uint64_t now)
{
	uint8_t p[256];
	size_t n = ssp_pkt(p, key, SSP_TO_SERVER, seq, false, src, sport, SERVER, SPORT);
	struct mh_decision d;

	mh_decide(tab, &pol, MH_INBOUND, p, n, now, &d);
	return d;
}

static struct mh_decision out(uint64_t seq, const char *dst, uint16_t dport,
			      uint64_t now)
{
	uint8_t p[256];
	size_t n = ssp_pkt(p, key, SSP_TO_CLIENT, seq, false, SERVER, SPORT, dst, dport);
	struct mh_decision d;

	mh_decide(tab, &pol, MH_OUTBOUND, p, n, now, &d);
	return d;
}

START_TEST(first_contact_opens_after_reply)
{
	struct mh_decision d = in(0, CLIENT, 41000, 100);

	ck_assert(d.accept);
	ck_assert_int_eq(d.reason, MH_R_NEW_SOURCE);
	ck_assert(!d.add_pinhole);
	d = out(0, CLIENT, 41000, 200);
	ck_assert(d.accept);
	ck_assert_int_eq(d.reason, MH_R_CONFIRMED);
	ck_assert(d.add_pinhole);
	ck_assert_int_eq(d.pkt.dst.port, 41000);
	ck_assert_uint_eq(mh_pinhole_count(tab->by_port[SPORT]), 1);
}
END_TEST

START_TEST(server_reply_to_stranger_dropped)
{
	struct mh_decision d;

	in(0, CLIENT, 41000, 100);
	d = out(0, ATTACK, 41000, 200);
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_NOT_CANDIDATE);
	ck_assert(!d.add_pinhole);
}
END_TEST

START_TEST(candidate_expires)
{
	struct mh_decision d;

	in(0, CLIENT, 41000, 100);
	d = out(0, CLIENT, 41000, 100 + pol.candidate_lifetime_ms + 1);
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_NOT_CANDIDATE);
}
END_TEST

/* The candidate is taken by the reply that opens the pinhole; a second
 * reply queued behind it goes out only while that pinhole is fresh, and
 * never opens anything. */
START_TEST(candidate_used_once)
{
	uint64_t life = pol.candidate_lifetime_ms;
	struct mh_decision d;

	in(0, CLIENT, 41000, 100);
	ck_assert(out(0, CLIENT, 41000, 200).accept);
	d = out(1, CLIENT, 41000, 300);
	ck_assert(d.accept);
	ck_assert_int_eq(d.reason, MH_R_PINHOLED);
	ck_assert(!d.add_pinhole && !d.evict);
	ck_assert_uint_eq(mh_pinhole_count(tab->by_port[SPORT]), 1);
	d = out(2, CLIENT, 41001, 300);        /* same address, other port */
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_NOT_CANDIDATE);
	d = out(3, CLIENT, 41000, 200 + life + 1);
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_NOT_CANDIDATE);
}
END_TEST

START_TEST(replay_from_new_source_never_candidate)
{
	struct mh_decision d;

	in(5, CLIENT, 41000, 100);
	d = in(5, ATTACK, 5555, 150);          /* same datagram, other source */
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_REPLAY);
	d = in(3, ATTACK, 5555, 150);          /* older one */
	ck_assert_int_eq(d.reason, MH_R_REPLAY);
	d = out(6, ATTACK, 5555, 200);
	ck_assert(!d.accept);
}
END_TEST

START_TEST(reordered_from_candidate_delivered)
{
	struct mh_decision d;

	in(5, CLIENT, 41000, 100);
	d = in(4, CLIENT, 41000, 120);
	ck_assert(d.accept);
	ck_assert_int_eq(d.reason, MH_R_REORDERED);
	ck_assert_uint_eq(tab->by_port[SPORT]->max_seq_in, 5);
}
END_TEST

START_TEST(roam_newer_from_new_source)
{
	struct mh_decision d;

	in(5, CLIENT, 41000, 100);
	out(5, CLIENT, 41000, 110);
	d = in(9, "198.18.3.11", 41000, 5000);
	ck_assert(d.accept);
	ck_assert_int_eq(d.reason, MH_R_NEW_SOURCE);
	d = out(9, "198.18.3.11", 41000, 5100);
	ck_assert(d.add_pinhole);
	ck_assert_uint_eq(mh_pinhole_count(tab->by_port[SPORT]), 2);
}
END_TEST

START_TEST(pinholes_bounded_oldest_evicted)
{
	char ip[32];
	struct mh_decision d;
	int i;

	for (i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "198.18.4.%d", i + 1);
		in((uint64_t)i, ip, 40000, 100 + (uint64_t)i * 10);
		d = out((uint64_t)i, ip, 40000, 105 + (uint64_t)i * 10);
		ck_assert(d.add_pinhole);
		ck_assert(d.evict == (i == 4));
	}
	ck_assert_uint_eq(mh_pinhole_count(tab->by_port[SPORT]), 4);
	ck_assert_int_eq(d.evicted.ip[3], 1);   /* 198.18.4.1 was oldest */
}
END_TEST

START_TEST(forged_and_wrong_key_dropped)
{
	uint8_t p[256];
	size_t n = ssp_pkt(p, other_key, SSP_TO_SERVER, 0, false, ATTACK, 1, SERVER, SPORT);
	struct mh_decision d;

	mh_decide(tab, &pol, MH_INBOUND, p, n, 100, &d);
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_FORGED);
	ck_assert(!tab->by_port[SPORT]->seen_in);   /* no state from forgeries */
	ck_assert(!mh_candidate_take(tab->by_port[SPORT], &d.pkt.src, 100, false));
}
END_TEST

START_TEST(every_bit_flip_dropped)
{
	uint8_t p[256], q[256];
	size_t n = ssp_pkt(p, key, SSP_TO_SERVER, 3, false, CLIENT, 41000, SERVER, SPORT);
	struct mh_decision d;
	size_t i;
	int b;

	for (i = 28; i < n; i++)        /* every byte of the UDP payload */
		for (b = 0; b < 8; b++) {
			memcpy(q, p, n);
			q[i] ^= (uint8_t)(1 << b);
			mh_decide(tab, &pol, MH_INBOUND, q, n, 100, &d);
			ck_assert_msg(!d.accept, "flip at %zu bit %d accepted", i, b);
		}
	ck_assert(!tab->by_port[SPORT]->seen_in);
}
END_TEST

START_TEST(wrong_direction_dropped)
{
	uint8_t p[256];
	size_t n = ssp_pkt(p, key, SSP_TO_CLIENT, 0, false, ATTACK, 1, SERVER, SPORT);
	struct mh_decision d;

	/* a real server->client datagram reflected back at the server */
	mh_decide(tab, &pol, MH_INBOUND, p, n, 100, &d);
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_WRONG_DIRECTION);
	n = ssp_pkt(p, key, SSP_TO_SERVER, 0, false, SERVER, SPORT, ATTACK, 1);
	mh_decide(tab, &pol, MH_OUTBOUND, p, n, 100, &d);
	ck_assert_int_eq(d.reason, MH_R_WRONG_DIRECTION);
}
END_TEST

START_TEST(no_session_and_short)
{
	uint8_t p[256], junk[23] = { 0 };
	size_t n = ssp_pkt(p, key, SSP_TO_SERVER, 0, false, CLIENT, 1, SERVER, SPORT + 1);
	struct mh_decision d;

	mh_decide(tab, &pol, MH_INBOUND, p, n, 100, &d);
	ck_assert_int_eq(d.reason, MH_R_NO_SESSION);
	n = mkpkt(p, false, CLIENT, 1, SERVER, SPORT, junk, sizeof(junk));
	mh_decide(tab, &pol, MH_INBOUND, p, n, 100, &d);
	ck_assert_int_eq(d.reason, MH_R_SHORT);
}
END_TEST

START_TEST(malformed_packets)
{
	uint8_t p[256];
	size_t n = ssp_pkt(p, key, SSP_TO_SERVER, 0, false, CLIENT, 1, SERVER, SPORT);
	struct mh_decision d;
	size_t cut;

	for (cut = 0; cut < 28; cut++) {   /* every truncation of the headers */
		mh_decide(tab, &pol, MH_INBOUND, p, cut, 100, &d);
		ck_assert_int_eq(d.reason, MH_R_MALFORMED);
	}
	p[6] = 0x20;                        /* IPv4 MF: a fragment */
	mh_decide(tab, &pol, MH_INBOUND, p, n, 100, &d);
	ck_assert_int_eq(d.reason, MH_R_MALFORMED);
	p[6] = 0; p[9] = IPPROTO_TCP;
	mh_decide(tab, &pol, MH_INBOUND, p, n, 100, &d);
	ck_assert_int_eq(d.reason, MH_R_MALFORMED);
}
END_TEST

START_TEST(ipv6_path)
{
	uint8_t p[256];
	size_t n = ssp_pkt(p, key, SSP_TO_SERVER, 0, true, "fd00:3::10", 41000, "fd00::2", SPORT);
	struct mh_decision d;

	mh_decide(tab, &pol, MH_INBOUND, p, n, 100, &d);
	ck_assert(d.accept);
	ck_assert_int_eq(d.pkt.src.family, AF_INET6);
	n = ssp_pkt(p, key, SSP_TO_CLIENT, 0, true, "fd00::2", SPORT, "fd00:3::10", 41000);
	mh_decide(tab, &pol, MH_OUTBOUND, p, n, 200, &d);
	ck_assert(d.add_pinhole);
	/* the same address over IPv4-mapped bytes is a different source */
	n = ssp_pkt(p, key, SSP_TO_CLIENT, 1, true, "fd00::2", SPORT, "fd00:3::11", 41000);
	mh_decide(tab, &pol, MH_OUTBOUND, p, n, 200, &d);
	ck_assert(!d.accept);
}
END_TEST

START_TEST(random_packets_never_accepted)
{
	uint8_t p[300];
	struct mh_decision d;
	unsigned i, j;

	srandom(1234);
	for (i = 0; i < 20000; i++) {
		size_t n = (size_t)(random() % sizeof(p));
		for (j = 0; j < n; j++)
			p[j] = (uint8_t)random();
		if (n > 0)
			p[0] = (i & 1) ? 0x45 : 0x60;
		mh_decide(tab, &pol, (i & 2) ? MH_OUTBOUND : MH_INBOUND, p, n, 100, &d);
		ck_assert(!d.accept);
	}
}
END_TEST

/* The session socket is bound to 198.18.0.2 only: an authentic datagram
 * sent to another local address (or over IPv6) must not be delivered, or
 * the kernel would answer the sender with an ICMP port unreachable. */
START_TEST(only_bound_addresses_receive)
{
	struct mh_session *s = tab->by_port[SPORT];
	uint8_t p[256];
	size_t n;
	struct mh_decision d;

	s->n_bound = 1;
	s->bound[0].family = AF_INET;
	inet_pton(AF_INET, SERVER, s->bound[0].ip);
	n = ssp_pkt(p, key, SSP_TO_SERVER, 0, true, "fd00:2::2", 1, "fd00::2", SPORT);
	mh_decide(tab, &pol, MH_INBOUND, p, n, 100, &d);
	ck_assert_int_eq(d.reason, MH_R_NOT_BOUND);
	n = ssp_pkt(p, key, SSP_TO_SERVER, 0, false, ATTACK, 1, "198.18.0.3", SPORT);
	mh_decide(tab, &pol, MH_INBOUND, p, n, 100, &d);
	ck_assert_int_eq(d.reason, MH_R_NOT_BOUND);
	ck_assert(!s->seen_in);          /* refused before it could move state */
	ck_assert(in(0, CLIENT, 41000, 100).accept);
}
END_TEST

START_TEST(dual_stack_wildcard)
{
	struct mh_session *s = tab->by_port[SPORT];
	const struct mh_addr v4 = { .family = AF_INET, .ip = { 198, 18, 0, 9 } };
	const struct mh_addr v6 = { .family = AF_INET6, .ip = { 0xfd } };

	s->n_bound = 1;
	s->bound[0].family = AF_INET6;
	s->bound[0].any = true;
	ck_assert(mh_session_bound_to(s, &v4));
	ck_assert(mh_session_bound_to(s, &v6));
	s->bound[0].v6only = true;
	ck_assert(!mh_session_bound_to(s, &v4));
	ck_assert(mh_session_bound_to(s, &v6));
	s->bound[0].family = AF_INET;       /* 0.0.0.0 takes IPv4 only */
	s->bound[0].v6only = false;
	ck_assert(mh_session_bound_to(s, &v4));
	ck_assert(!mh_session_bound_to(s, &v6));
}
END_TEST

START_TEST(table_quota_and_lookup)
{
	ck_assert_ptr_null(mh_session_add(tab, SPORT, key, 1, 1, 1, 4));
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_ptr_nonnull(mh_session_add(tab, SPORT + 1, key, 1000, 2, 1, 4));
	ck_assert_ptr_nonnull(mh_session_add(tab, SPORT + 2, key, 1001, 3, 1, 4));
	ck_assert_uint_eq(mh_table_count_uid(tab, 1000), 2);
	ck_assert_uint_eq(tab->count, 3);
	mh_session_remove(tab, tab->by_port[SPORT]);
	ck_assert_ptr_null(mh_session_by_port(tab, SPORT));
	ck_assert_uint_eq(mh_table_count_uid(tab, 1000), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("verdict");
	TCase *tc = tcase_create("policy");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, first_contact_opens_after_reply);
	tcase_add_test(tc, server_reply_to_stranger_dropped);
	tcase_add_test(tc, candidate_expires);
	tcase_add_test(tc, candidate_used_once);
	tcase_add_test(tc, replay_from_new_source_never_candidate);
	tcase_add_test(tc, reordered_from_candidate_delivered);
	tcase_add_test(tc, roam_newer_from_new_source);
	tcase_add_test(tc, pinholes_bounded_oldest_evicted);
	tcase_add_test(tc, forged_and_wrong_key_dropped);
	tcase_add_test(tc, every_bit_flip_dropped);
	tcase_add_test(tc, wrong_direction_dropped);
	tcase_add_test(tc, no_session_and_short);
	tcase_add_test(tc, malformed_packets);
	tcase_add_test(tc, ipv6_path);
	tcase_add_test(tc, random_packets_never_accepted);
	tcase_add_test(tc, only_bound_addresses_receive);
	tcase_add_test(tc, dual_stack_wildcard);
	tcase_add_test(tc, table_quota_and_lookup);
	suite_add_tcase(s, tc);
	return mh_check_run(s);
}
