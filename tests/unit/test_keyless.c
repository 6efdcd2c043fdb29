/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for keyless mode (issue 16): the pure rule of lib/keyless.c
 * and mh_decide() with a session that holds no key, and the control
 * protocol's keyless announcement. Each test states one rule and tries to
 * break it: nothing unverified opens a pinhole, mosh-server's datagram to a
 * stranger never leaves, garbage is bounded by the budget, a forgery cannot
 * poison the sequence state.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "ctlproto.h"
#include "keyless.h"
#include "session.h"
#include "verdict.h"

#define SPORT  60001
#define CLIENT "198.18.3.10"
#define SERVER "198.18.0.2"
#define ATTACK "198.18.2.2"
#define RATE   10

static struct mh_table *tab;
static struct mh_session *sess;
static struct mh_policy pol = {
	.candidate_lifetime_ms = 10000, .keyless = true,
	.kl = { .rate = RATE, .candidate_lifetime_ms = 10000 },
};

static void setup(void)
{
	tab = malloc(sizeof(*tab));
	mh_table_init(tab);
	sess = mh_session_add(tab, SPORT, NULL, 1000, 4242, 1, 4);
	ck_assert_ptr_nonnull(sess);
	mh_keyless_init(&sess->kl, &pol.kl, 1);
}

static void teardown(void)
{
	pol.idle_timeout_ms = 0;   /* a test that set it leaves the others none */
	mh_table_clear(tab);
	free(tab);
}

/* IPv4 + UDP around payload; the length. */
static size_t mkpkt(uint8_t *out, const char *src, uint16_t sport,
		    const char *dst, uint16_t dport, const uint8_t *pl, size_t n)
{
	uint16_t tot = htons((uint16_t)(20 + 8 + n)), ulen = htons((uint16_t)(8 + n));

	memset(out, 0, 28);
	out[0] = 0x45;
	memcpy(out + 2, &tot, 2);
	out[8] = 64;
	out[9] = IPPROTO_UDP;
	inet_pton(AF_INET, src, out + 12);
	inet_pton(AF_INET, dst, out + 16);
	out[20] = sport >> 8;
	out[21] = sport & 0xff;
	out[22] = dport >> 8;
	out[23] = dport & 0xff;
	memcpy(out + 24, &ulen, 2);
	memcpy(out + 28, pl, n);
	return 28 + n;
}

/* What an attacker without the key sends: a header word of its choice,
 * then noise. */
static size_t garbage(uint8_t *pl, bool to_client, uint64_t seq, size_t n)
{
	uint64_t w = (seq & SSP_SEQ_MASK) | (to_client ? SSP_DIRECTION_BIT : 0);

	for (size_t i = 0; i < n; i++)
		pl[i] = (uint8_t)(i * 37 + 11);
	for (int i = 0; i < 8; i++)
		pl[i] = (uint8_t)(w >> (56 - 8 * i));
	return n;
}

static struct mh_decision in_n(uint64_t seq, const char *src, uint16_t sport,
			       uint64_t now, size_t len)
{
	uint8_t pl[128], p[256];
	size_t n = mkpkt(p, src, sport, SERVER, SPORT, pl, garbage(pl, false, seq, len));
	struct mh_decision d;

	mh_decide(tab, &pol, MH_INBOUND, p, n, now, &d);
	return d;
}

static struct mh_decision in(uint64_t seq, const char *src, uint16_t sport,
			     uint64_t now)
{
	return in_n(seq, src, sport, now, 60);
}

static struct mh_decision out(const char *dst, uint16_t dport, uint64_t now)
{
	uint8_t pl[128], p[256];
	size_t n = mkpkt(p, SERVER, SPORT, dst, dport, pl, garbage(pl, true, 3, 60));
	struct mh_decision d;

	mh_decide(tab, &pol, MH_OUTBOUND, p, n, now, &d);
	return d;
}

START_TEST(first_contact_opens_on_the_reply_only)
{
	struct mh_decision d = in(0, CLIENT, 41000, 100);

	ck_assert(d.accept);
	ck_assert_int_eq(d.reason, MH_R_UNVERIFIED);
	ck_assert(!d.add_pinhole);
	ck_assert(!sess->contacted);            /* nobody verified it */
	d = out(CLIENT, 41000, 150);
	ck_assert(d.accept);
	ck_assert_int_eq(d.reason, MH_R_CONFIRMED);
	ck_assert(d.add_pinhole);
	ck_assert_int_eq(d.pkt.dst.port, 41000);
	ck_assert(sess->contacted);
	ck_assert_uint_eq(mh_pinhole_count(sess), 1);
	/* a second reply queued before the pinhole reached the kernel */
	d = out(CLIENT, 41000, 160);
	ck_assert(d.accept);
	ck_assert_int_eq(d.reason, MH_R_PINHOLED);
	ck_assert(!d.add_pinhole);
}
END_TEST

START_TEST(no_reflection_to_strangers)
{
	struct mh_decision d;

	in(0, CLIENT, 41000, 100);
	d = out(ATTACK, 5555, 120);             /* never sent anything */
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_NOT_CANDIDATE);
	d = out(CLIENT, 41001, 130);            /* same address, other port */
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_NOT_CANDIDATE);
	ck_assert_uint_eq(mh_pinhole_count(sess), 0);
}
END_TEST

/* The spoofed victim: its address is a candidate, but only mosh-server's
 * own datagram to it could open anything, and it never sends one. */
START_TEST(spoofed_victim_stays_a_candidate)
{
	struct mh_decision d = in(5, "198.18.1.3", 40000, 100);

	ck_assert_int_eq(d.reason, MH_R_UNVERIFIED);
	ck_assert(!d.add_pinhole);
	ck_assert_uint_eq(mh_pinhole_count(sess), 0);
	/* mosh-server keeps talking to its real client */
	in(6, CLIENT, 41000, 110);
	d = out(CLIENT, 41000, 120);
	ck_assert_int_eq(d.reason, MH_R_CONFIRMED);
	ck_assert_uint_eq(mh_pinhole_count(sess), 1);
}
END_TEST

START_TEST(visible_checks)
{
	struct mh_decision d = in_n(0, ATTACK, 1, 100, MH_KL_MIN_PAYLOAD - 1);
	uint8_t pl[64], p[128];
	size_t n;

	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_SHORT);
	d = in_n(0, ATTACK, 1, 100, 20);        /* not even an SSP header and tag */
	ck_assert_int_eq(d.reason, MH_R_SHORT);
	d = in(MH_KL_MAX_SEQ + 1, ATTACK, 1, 100);
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_IMPLAUSIBLE_SEQ);
	ck_assert_str_eq(mh_reason_name(d.reason), "implausible_seq");
	n = mkpkt(p, ATTACK, 1, SERVER, SPORT, pl, garbage(pl, true, 1, 60));
	mh_decide(tab, &pol, MH_INBOUND, p, n, 100, &d);
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_WRONG_DIRECTION);
	/* mosh-server's own datagrams must carry the to-client bit */
	n = mkpkt(p, SERVER, SPORT, CLIENT, 41000, pl, garbage(pl, false, 1, 60));
	in(0, CLIENT, 41000, 100);
	mh_decide(tab, &pol, MH_OUTBOUND, p, n, 110, &d);
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_WRONG_DIRECTION);
	ck_assert_uint_eq(mh_keyless_candidates(&sess->kl, &pol.kl, 110), 1);
}
END_TEST

START_TEST(budget_bounds_garbage)
{
	unsigned ok = 0, i;
	struct mh_decision d;

	for (i = 0; i < 100; i++)               /* 100 in one millisecond */
		ok += in(i + 1, ATTACK, (uint16_t)(1000 + i), 500).accept;
	ck_assert_uint_eq(ok, RATE);
	d = in(200, CLIENT, 41000, 500);
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_OVER_BUDGET);
	/* over the budget: not a candidate either */
	ck_assert_int_eq(out(CLIENT, 41000, 510).reason, MH_R_NOT_CANDIDATE);
	/* 100 ms later one more datagram's worth is back */
	ck_assert(in(201, CLIENT, 41000, 600).accept);
	ck_assert(!in(202, CLIENT, 41000, 600).accept);
	/* a steady flood over 10 s gets rate a second, not more */
	ok = 0;
	for (uint64_t t = 1000; t < 11000; t += 2)
		ok += in(1000 + t, ATTACK, 7, t).accept;
	ck_assert_uint_le(ok, RATE * 10 + RATE);
	ck_assert_uint_ge(ok, RATE * 10 - 1);
}
END_TEST

START_TEST(candidates_bounded_least_recent_out)
{
	char a[32];
	unsigned i;

	for (i = 0; i < MH_KL_CANDIDATES + 1; i++) {
		snprintf(a, sizeof(a), "198.18.2.%u", 10 + i);
		ck_assert(in(i + 1, a, 2000, 100 + i * 150).accept);
	}
	ck_assert_uint_eq(mh_keyless_candidates(&sess->kl, &pol.kl, 2000),
			  MH_KL_CANDIDATES);
	/* the first one went */
	ck_assert_int_eq(out("198.18.2.10", 2000, 2000).reason, MH_R_NOT_CANDIDATE);
	ck_assert_int_eq(out("198.18.2.11", 2000, 2000).reason, MH_R_CONFIRMED);
	snprintf(a, sizeof(a), "198.18.2.%u", 10 + MH_KL_CANDIDATES);
	ck_assert_int_eq(out(a, 2000, 2000).reason, MH_R_CONFIRMED);
}
END_TEST

START_TEST(candidate_expires)
{
	in(0, CLIENT, 41000, 100);
	ck_assert_int_eq(out(CLIENT, 41000, 100 + 10001).reason, MH_R_NOT_CANDIDATE);
	/* resent: a candidate again */
	in(1, CLIENT, 41000, 20000);
	ck_assert_int_eq(out(CLIENT, 41000, 20100).reason, MH_R_CONFIRMED);
}
END_TEST

/* A datagram of the client's queued before its pinhole reached the kernel
 * (the lookup missed just before the add) is delivered but leaves no
 * candidate behind: after the pinhole idles out, mosh-server's datagram to
 * the silent client must not reopen it (t_keyless once caught that). */
START_TEST(queued_behind_the_pinhole_is_no_candidate)
{
	struct mh_decision d;

	pol.idle_timeout_ms = 8000;              /* undone by teardown */
	in(1, CLIENT, 41000, 100);
	ck_assert_int_eq(out(CLIENT, 41000, 110).reason, MH_R_CONFIRMED);
	d = in(2, CLIENT, 41000, 112);           /* queued behind the add */
	ck_assert(d.accept);
	ck_assert_int_eq(d.reason, MH_R_UNVERIFIED);
	ck_assert_uint_eq(mh_keyless_candidates(&sess->kl, &pol.kl, 112), 0);
	/* the pinhole idled out (8 s after the add), the candidate would
	 * still live (10 s): mosh-server's heartbeat opens nothing */
	d = out(CLIENT, 41000, 110 + 8000 + 500);
	ck_assert(!d.add_pinhole);
	ck_assert_int_eq(d.reason, MH_R_PINHOLED);   /* out, opening nothing */
	/* once the pinhole may be gone, the client's datagram is a candidate
	 * again, and the reply reopens it (a resumed client) */
	in(3, CLIENT, 41000, 110 + 8000 + 600);
	d = out(CLIENT, 41000, 110 + 8000 + 700);
	ck_assert_int_eq(d.reason, MH_R_CONFIRMED);
	ck_assert(d.add_pinhole);
}
END_TEST

/* The record may say "in the kernel" when the kernel no longer has it (an
 * add it refused, an adopted pinhole near its end): past candidate_lifetime
 * after the add, the client's datagram is a candidate again, so such a
 * record delays a returning client by candidate_lifetime at most. */
START_TEST(in_kernel_rule_ends_with_the_candidate_lifetime)
{
	struct mh_pinhole_rec *r;
	struct mh_addr c = { .family = AF_INET, .port = 41000 };

	pol.idle_timeout_ms = 60000;             /* undone by teardown */
	inet_pton(AF_INET, CLIENT, c.ip);
	in(1, CLIENT, 41000, 100);
	ck_assert_int_eq(out(CLIENT, 41000, 110).reason, MH_R_CONFIRMED);
	r = mh_pinhole_find(sess, &c);
	ck_assert_ptr_nonnull(r);
	r->alive_until_ms = 110 + 120000;        /* a read-back said so */
	in(2, CLIENT, 41000, 110 + 9000);        /* within the lifetime */
	ck_assert_uint_eq(mh_keyless_candidates(&sess->kl, &pol.kl, 110 + 9000), 0);
	in(3, CLIENT, 41000, 110 + 10001);       /* past it */
	ck_assert_uint_eq(mh_keyless_candidates(&sess->kl, &pol.kl, 110 + 10001), 1);
	ck_assert_int_eq(out(CLIENT, 41000, 110 + 10002).reason, MH_R_CONFIRMED);
}
END_TEST

START_TEST(replays_below_the_confirmed_number)
{
	in(5, CLIENT, 41000, 100);
	ck_assert_int_eq(out(CLIENT, 41000, 110).reason, MH_R_CONFIRMED);
	ck_assert(sess->seen_in);
	ck_assert_uint_eq(sess->max_seq_in, 5);   /* kept in the state file */
	ck_assert_int_eq(in(5, ATTACK, 1, 200).reason, MH_R_REPLAY);
	ck_assert_int_eq(in(2, ATTACK, 1, 200).reason, MH_R_REPLAY);
	ck_assert_int_eq(in(6, ATTACK, 1, 200).reason, MH_R_UNVERIFIED);
}
END_TEST

/* A forged high sequence number must never lock the client out. */
START_TEST(forgery_cannot_poison_the_sequence)
{
	ck_assert(in(MH_KL_MAX_SEQ, ATTACK, 1, 100).accept);
	ck_assert(in(MH_KL_MAX_SEQ, CLIENT, 41000, 100).accept); /* spoofed client */
	ck_assert(in(7, CLIENT, 41000, 120).accept);             /* the real one */
	ck_assert_int_eq(out(CLIENT, 41000, 130).reason, MH_R_CONFIRMED);
	ck_assert_uint_eq(sess->kl.confirmed_seq, 7);
	ck_assert(in(8, "198.18.3.11", 41000, 200).accept);      /* a roam */
	ck_assert_int_eq(out("198.18.3.11", 41000, 210).reason, MH_R_CONFIRMED);
	ck_assert_uint_eq(sess->kl.confirmed_seq, 8);
	/* an older confirmation never lowers it */
	ck_assert(in(9, CLIENT, 41001, 300).accept);
	ck_assert(in(9, CLIENT, 41001, 300).accept);
	ck_assert_int_eq(out(CLIENT, 41001, 310).reason, MH_R_CONFIRMED);
	ck_assert_uint_eq(sess->kl.confirmed_seq, 9);
}
END_TEST

/* The real client's candidate pushed out by eight others, then its
 * address spoofed with a high number just before mosh-server's reply (to
 * the real datagram) comes: the confirmation stays at the real number. */
START_TEST(eviction_cannot_poison_the_sequence)
{
	char a[32];

	ck_assert(in(5, CLIENT, 41000, 100).accept);
	for (unsigned i = 0; i < MH_KL_CANDIDATES; i++) {
		snprintf(a, sizeof(a), "198.18.2.%u", 10 + i);
		ck_assert(in(100 + i, a, 2000, 110 + i).accept);
	}
	ck_assert(in(MH_KL_MAX_SEQ, CLIENT, 41000, 130).accept);
	ck_assert_int_eq(out(CLIENT, 41000, 140).reason, MH_R_CONFIRMED);
	ck_assert_uint_eq(sess->kl.confirmed_seq, 5);
	ck_assert(!sess->kl.lost);
	/* the same through expiry instead of eviction */
	ck_assert(in(20, "198.18.3.12", 41000, 1000).accept);
	ck_assert(in(MH_KL_MAX_SEQ, "198.18.3.12", 41000, 1000 + 10001).accept);
	ck_assert_int_eq(out("198.18.3.12", 41000, 11100).reason, MH_R_CONFIRMED);
	ck_assert_uint_eq(sess->kl.confirmed_seq, 20);
	ck_assert(in(21, "198.18.3.13", 41000, 11200).accept);
}
END_TEST

START_TEST(restored_confirmation)
{
	struct mh_keyless k;

	mh_keyless_init(&k, &pol.kl, 5);
	mh_keyless_restore(&k, 40);
	sess->kl = k;
	ck_assert_int_eq(in(40, CLIENT, 41000, 10).reason, MH_R_REPLAY);
	ck_assert_int_eq(in(41, CLIENT, 41000, 10).reason, MH_R_UNVERIFIED);
}
END_TEST

/* The same garbage under the keyed policy is a forgery: what keyless
 * gives up is exactly this first check. A keyless session never passes a
 * keyed decision. */
START_TEST(keyed_policy_unchanged)
{
	struct mh_policy keyed = { .candidate_lifetime_ms = 10000 };
	uint8_t pl[128], p[256];
	size_t n = mkpkt(p, CLIENT, 41000, SERVER, SPORT, pl, garbage(pl, false, 1, 60));
	struct mh_decision d;

	mh_decide(tab, &keyed, MH_INBOUND, p, n, 100, &d);
	ck_assert(!d.accept);
	ck_assert_int_eq(d.reason, MH_R_FORGED);
	ck_assert_uint_eq(mh_keyless_candidates(&sess->kl, &pol.kl, 100), 0);
}
END_TEST

START_TEST(reason_names)
{
	ck_assert_str_eq(mh_reason_name(MH_R_UNVERIFIED), "unverified");
	ck_assert_str_eq(mh_reason_name(MH_R_OVER_BUDGET), "over_budget");
	ck_assert_int_lt(MH_R_UNVERIFIED, MH_R_FIRST_DROP);
	ck_assert_int_ge(MH_R_OVER_BUDGET, MH_R_FIRST_DROP);
}
END_TEST

/* ---- the control protocol ---------------------------------------------- */

START_TEST(announce_without_a_key)
{
	struct mhc_announce a = { .port = 60001, .pid = 77 };
	uint8_t buf[MHC_MAX_MSG];
	struct mhc_msg m;
	const char *why;
	ssize_t n;

	strcpy(a.ssh_connection, "198.18.3.10 50000 198.18.0.2 22");
	n = mhc_encode_announce(&a, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	/* the key field is its length byte alone: 0 */
	ck_assert_uint_eq(buf[MHC_HEADER_LEN + 6], 0);
	ck_assert_int_eq(mhc_decode(buf, (size_t)n, &m, &why), 0);
	ck_assert_int_eq(m.type, MHC_ANNOUNCE);
	ck_assert_str_eq(m.u.announce.key, "");
	ck_assert_str_eq(m.u.announce.ssh_connection, a.ssh_connection);
	/* an old hook's keyed announcement still decodes */
	strcpy(a.key, "AAAAAAAAAAAAAAAAAAAAAA");
	n = mhc_encode_announce(&a, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(mhc_decode(buf, (size_t)n, &m, &why), 0);
	ck_assert_str_eq(m.u.announce.key, a.key);
	/* anything between is refused both ways */
	strcpy(a.key, "AAAAAAAAAAAAAAAAAAAAA");
	ck_assert_int_eq(mhc_encode_announce(&a, buf, sizeof(buf)), -EINVAL);
	buf[MHC_HEADER_LEN + 6] = 21;
	ck_assert_int_eq(mhc_decode(buf, (size_t)n, &m, &why), -EPROTO);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("keyless");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, first_contact_opens_on_the_reply_only);
	tcase_add_test(tc, no_reflection_to_strangers);
	tcase_add_test(tc, spoofed_victim_stays_a_candidate);
	tcase_add_test(tc, visible_checks);
	tcase_add_test(tc, budget_bounds_garbage);
	tcase_add_test(tc, candidates_bounded_least_recent_out);
	tcase_add_test(tc, candidate_expires);
	tcase_add_test(tc, queued_behind_the_pinhole_is_no_candidate);
	tcase_add_test(tc, in_kernel_rule_ends_with_the_candidate_lifetime);
	tcase_add_test(tc, replays_below_the_confirmed_number);
	tcase_add_test(tc, forgery_cannot_poison_the_sequence);
	tcase_add_test(tc, eviction_cannot_poison_the_sequence);
	tcase_add_test(tc, restored_confirmation);
	tcase_add_test(tc, keyed_policy_unchanged);
	tcase_add_test(tc, reason_names);
	tcase_add_test(tc, announce_without_a_key);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(suite());
}
