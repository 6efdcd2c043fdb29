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

#include "session.h"
#include "verdict.h"

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

	ck_assert(d.accept);
	ck_assert_int_eq(d.reason, MH_R_MAPPED);
	ck_assert_uint_eq(d.session->port, 60006);
	ck_assert_uint_le(d.trials, 2);   /* only the two sessions of that login */
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

	s->seen_in = true;
	s->max_seq_in = 50;
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
	suite_add_tcase(s, tc);
	return mh_check_run(s);
}
