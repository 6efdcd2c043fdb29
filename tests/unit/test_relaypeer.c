/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/relaypeer.c: the all/any acknowledgement rule, the
 * reconnection backoff, the server address a session is announced under,
 * the resync list built from a session table (and its frames decoding back
 * to what the table holds), and the END reasons.
 */
#include <check.h>

#include "check_main.h"
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "relaypeer.h"
#include "relaywire.h"
#include "session.h"

enum { W = MH_GWA_WAIT, O = MH_GWA_OK, R = MH_GWA_REFUSED, D = MH_GWA_DOWN };

static enum mh_ack_verdict decide(int policy, const uint8_t *st, unsigned n,
				  bool late, unsigned *c)
{
	return mh_ack_decide(policy, st, n, late, c);
}

START_TEST(test_ack_all)
{
	unsigned c = 99;

	ck_assert_int_eq(decide(MH_ACK_ALL, (uint8_t[]){ W, W }, 2, false, &c), MH_AV_PENDING);
	ck_assert_int_eq(decide(MH_ACK_ALL, (uint8_t[]){ O, W }, 2, false, &c), MH_AV_PENDING);
	ck_assert_int_eq(decide(MH_ACK_ALL, (uint8_t[]){ O, O }, 2, false, &c), MH_AV_ACCEPT);
	/* one refusal decides at once, while the other still waits */
	ck_assert_int_eq(decide(MH_ACK_ALL, (uint8_t[]){ W, R }, 2, false, &c), MH_AV_REFUSE);
	ck_assert_uint_eq(c, 1);
	ck_assert_int_eq(decide(MH_ACK_ALL, (uint8_t[]){ O, D }, 2, false, &c), MH_AV_REFUSE);
	ck_assert_uint_eq(c, 1);
	/* the refusal is named before an unreachable gateway */
	ck_assert_int_eq(decide(MH_ACK_ALL, (uint8_t[]){ D, O, R }, 3, false, &c), MH_AV_REFUSE);
	ck_assert_uint_eq(c, 2);
	/* time is up: the one still waiting is the culprit */
	ck_assert_int_eq(decide(MH_ACK_ALL, (uint8_t[]){ O, W }, 2, true, &c), MH_AV_REFUSE);
	ck_assert_uint_eq(c, 1);
	ck_assert_int_eq(decide(MH_ACK_ALL, (uint8_t[]){ O, O }, 2, true, &c), MH_AV_ACCEPT);
}
END_TEST

START_TEST(test_ack_any)
{
	unsigned c = 99;

	ck_assert_int_eq(decide(MH_ACK_ANY, (uint8_t[]){ W, W }, 2, false, &c), MH_AV_PENDING);
	ck_assert_int_eq(decide(MH_ACK_ANY, (uint8_t[]){ R, W }, 2, false, &c), MH_AV_PENDING);
	ck_assert_int_eq(decide(MH_ACK_ANY, (uint8_t[]){ R, O }, 2, false, &c), MH_AV_ACCEPT);
	ck_assert_int_eq(decide(MH_ACK_ANY, (uint8_t[]){ D, O }, 2, false, &c), MH_AV_ACCEPT);
	ck_assert_int_eq(decide(MH_ACK_ANY, (uint8_t[]){ D, R }, 2, false, &c), MH_AV_REFUSE);
	ck_assert_uint_eq(c, 1);
	ck_assert_int_eq(decide(MH_ACK_ANY, (uint8_t[]){ D, D }, 2, false, &c), MH_AV_REFUSE);
	ck_assert_uint_eq(c, 0);
	ck_assert_int_eq(decide(MH_ACK_ANY, (uint8_t[]){ D, W }, 2, true, &c), MH_AV_REFUSE);
	ck_assert_uint_eq(c, 0);
}
END_TEST

START_TEST(test_ack_no_gateway)
{
	unsigned c = 99;

	ck_assert_int_eq(decide(MH_ACK_ALL, NULL, 0, false, &c), MH_AV_REFUSE);
	ck_assert_uint_eq(c, 0);
	ck_assert_int_eq(decide(MH_ACK_ANY, NULL, 0, false, &c), MH_AV_REFUSE);
}
END_TEST

START_TEST(test_backoff)
{
	uint32_t total = 0;

	ck_assert_uint_eq(mh_relay_backoff_ms(1, 0), 50);
	ck_assert_uint_eq(mh_relay_backoff_ms(2, 0), 100);
	ck_assert_uint_eq(mh_relay_backoff_ms(8, 0), 100);
	ck_assert_uint_eq(mh_relay_backoff_ms(9, 0), 200);
	ck_assert_uint_eq(mh_relay_backoff_ms(10, 0), 400);
	ck_assert_uint_eq(mh_relay_backoff_ms(16, 0), 25600);
	ck_assert_uint_eq(mh_relay_backoff_ms(17, 0), 30000);
	ck_assert_uint_eq(mh_relay_backoff_ms(1000, 0), 30000);
	ck_assert_uint_eq(mh_relay_backoff_ms(0, 0), 50);
	/* jitter takes at most a quarter off */
	for (uint32_t r = 0; r < 100000; r += 997) {
		uint32_t d = mh_relay_backoff_ms(10, r);

		ck_assert(d <= 400 && d >= 300);
		ck_assert(mh_relay_backoff_ms(50, r * 7919u) >= 22500);
		/* the first attempts after a drop come quickly, whatever rnd */
		ck_assert(mh_relay_backoff_ms(1, r * 7919u) <= 50);
		ck_assert(mh_relay_backoff_ms(1, r * 7919u) >= 37);
		ck_assert(mh_relay_backoff_ms(5, r) <= 100 && mh_relay_backoff_ms(5, r) >= 75);
	}
	/* a dead gateway is still backed off: 20 attempts span over a
	 * minute, with the worst jitter */
	for (unsigned f = 1; f <= 20; f++)
		total += mh_relay_backoff_ms(f, 0xffffffffu);
	ck_assert(total >= 60000);
}
END_TEST

static struct mh_addr ip(const char *text)
{
	struct mh_addr a = { .family = strchr(text, ':') ? AF_INET6 : AF_INET };

	ck_assert_int_eq(inet_pton(a.family, text, a.ip), 1);
	return a;
}

static struct mh_bound bound(const char *text, bool any, bool v6only)
{
	struct mh_addr a = ip(text);
	struct mh_bound b = { .family = a.family, .any = any, .v6only = v6only };

	memcpy(b.ip, a.ip, sizeof(b.ip));
	return b;
}

static struct mh_addr mine[3], conf[2];

static void setup_addrs(void)
{
	mine[0] = ip("198.18.4.2");
	mine[1] = ip("fd00:4::2");
	mine[2] = ip("198.18.4.3");
	conf[0] = ip("fd00:4::2");
	conf[1] = ip("198.18.4.3");
}

static int choose(const struct mh_bound *b, unsigned n, unsigned n_conf,
		  struct mh_addr *out, char *why)
{
	return mh_relay_server_addr(b, n, mine, 3, conf, n_conf, out, why, 200);
}

START_TEST(test_addr_bound)
{
	struct mh_bound b[2] = { bound("198.18.4.2", false, false) };
	struct mh_addr out;
	char why[200] = "";

	setup_addrs();
	ck_assert_int_eq(choose(b, 1, 2, &out, why), 0);
	ck_assert(mh_addr_equal_host(&out, &mine[0]));
	ck_assert_uint_eq(out.port, 0);
	/* IPv4-mapped: announced as the IPv4 address the gateway sees */
	b[0] = bound("::ffff:198.18.4.3", false, false);
	ck_assert_int_eq(choose(b, 1, 2, &out, why), 0);
	ck_assert_int_eq(out.family, AF_INET);
	ck_assert(mh_addr_equal_host(&out, &mine[2]));
	/* an address outside the certificate: refused, named */
	b[0] = bound("198.18.4.9", false, false);
	ck_assert_int_eq(choose(b, 1, 2, &out, why), -EADDRNOTAVAIL);
	ck_assert_str_eq(why, "server address 198.18.4.9 (mosh-server's socket) is not "
			 "in this relay's certificate");
	/* a second socket with a good address is taken */
	b[1] = bound("fd00:4::2", false, false);
	ck_assert_int_eq(choose(b, 2, 2, &out, why), 0);
	ck_assert(mh_addr_equal_host(&out, &mine[1]));
}
END_TEST

START_TEST(test_addr_wildcard)
{
	struct mh_bound b = bound("0.0.0.0", true, false);
	struct mh_addr out;
	char why[200] = "";

	setup_addrs();
	/* an IPv4 wildcard cannot receive the IPv6 address listed first */
	ck_assert_int_eq(choose(&b, 1, 2, &out, why), 0);
	ck_assert(mh_addr_equal_host(&out, &conf[1]));
	/* a dual-stack IPv6 wildcard takes the first */
	b = bound("::", true, false);
	ck_assert_int_eq(choose(&b, 1, 2, &out, why), 0);
	ck_assert(mh_addr_equal_host(&out, &conf[0]));
	/* not known (a state file of version 1): the first */
	ck_assert_int_eq(choose(NULL, 0, 2, &out, why), 0);
	ck_assert(mh_addr_equal_host(&out, &conf[0]));
	/* IPv6-only wildcard, only an IPv4 address configured: refused */
	b = bound("::", true, true);
	ck_assert_int_eq(mh_relay_server_addr(&b, 1, mine, 3, &conf[1], 1, &out, why,
					      sizeof(why)), -EADDRNOTAVAIL);
	ck_assert(strstr(why, "wildcard"));
	/* nothing configured */
	b = bound("0.0.0.0", true, false);
	ck_assert_int_eq(choose(&b, 1, 0, &out, why), -EADDRNOTAVAIL);
	/* a configured address outside the certificate is never used */
	ck_assert_int_eq(mh_relay_server_addr(&b, 1, mine, 1, &conf[1], 1, &out, why,
					      sizeof(why)), -EADDRNOTAVAIL);
}
END_TEST

static struct mh_session *add(struct mh_table *t, uint16_t port, uint8_t k,
			      const char *bound_ip, const char *ssh)
{
	uint8_t key[SSP_KEY_LEN];
	struct mh_session *s;

	memset(key, k, sizeof(key));
	s = mh_session_add(t, port, key, 1000 + port, 4242, 1, 4);
	ck_assert_ptr_nonnull(s);
	s->bound[0] = bound(bound_ip, false, false);
	s->n_bound = 1;
	mh_session_set_ssh_client(t, s, ssh);
	return s;
}

/* The resync a gateway gets: BEGIN(n), n OPENs flagged resync with each
 * session's id, uid, server address and port, SSH client and key, END(n);
 * a session without an address of the certificate is left out. */
START_TEST(test_resync_list)
{
	static struct mh_table t;
	struct mh_relay_sess list[4];
	unsigned skipped, n;
	uint32_t ctr = 0xfffffffe;   /* ids wrap over 0 */
	struct mhr_msg m;
	struct mhr_error e;
	uint8_t buf[MHR_MAX_FRAME];
	ssize_t len;

	setup_addrs();
	mh_table_init(&t);
	add(&t, 60001, 0x11, "198.18.4.2", "198.18.3.10");
	add(&t, 60002, 0x22, "198.18.9.9", "");          /* not ours */
	add(&t, 60003, 0x33, "fd00:4::2", "fd00:3::10");
	n = mh_relay_list(&t, mine, 3, conf, 2, list, 4, &skipped);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(skipped, 1);
	for (unsigned i = 0; i < n; i++) {
		uint32_t id = mh_relay_next_id(&ctr);
		const struct mh_session *s = mh_session_by_port(&t, list[i].server.port);

		ck_assert_uint_ne(id, 0);
		mh_relay_open_msg(&list[i], id, true, &m);
		len = mhr_encode(&m, buf, sizeof(buf));
		ck_assert_int_gt(len, 0);
		mhr_msg_wipe(&m);
		ck_assert_int_eq(mhr_decode(buf, (size_t)len, &m, &e), 0);
		ck_assert_ptr_nonnull(s);
		ck_assert_uint_eq(m.id, id);
		ck_assert_uint_eq(m.u.open.flags, MHR_OPEN_RESYNC);
		ck_assert_uint_eq(m.u.open.sid, s->id);
		ck_assert_uint_eq(m.u.open.uid, 1000u + s->port);
		ck_assert_uint_eq(m.u.open.server.port, s->port);
		ck_assert(mh_addr_equal_host(&m.u.open.server,
					     s->port == 60001 ? &mine[0] : &mine[1]));
		ck_assert(mh_addr_equal_host(&m.u.open.client_hint, &s->ssh_addr));
		for (unsigned k = 0; k < SSP_KEY_LEN; k++)
			ck_assert_uint_eq(m.u.open.key[k], s->port == 60001 ? 0x11 : 0x33);
		mhr_msg_wipe(&m);
	}
	ck_assert_uint_eq(ctr, 1);   /* 0xffffffff, then 1: never 0 */
	mh_table_clear(&t);
}
END_TEST

/* Keyless mode: a session without a key gives a keyless OPEN (flag bit
 * 1, no key field on the wire: 16 bytes shorter than a keyed one), with or
 * without the resync flag. */
START_TEST(test_keyless_open)
{
	static struct mh_table t;
	struct mh_relay_sess rs, keyed;
	struct mh_session *s;
	struct mhr_msg m;
	struct mhr_error e;
	uint8_t buf[MHR_MAX_FRAME];
	ssize_t len, klen;
	char why[200];

	setup_addrs();
	mh_table_init(&t);
	add(&t, 60001, 0x11, "198.18.4.2", "198.18.3.10");
	s = mh_session_add(&t, 60002, NULL, 1000, 4242, 1, 4);
	ck_assert_ptr_nonnull(s);
	s->bound[0] = bound("198.18.4.2", false, false);
	s->n_bound = 1;
	mh_session_set_ssh_client(&t, s, "198.18.3.10");
	ck_assert_int_eq(mh_relay_sess_of(mh_session_by_port(&t, 60001), mine, 3,
					  conf, 2, &keyed, why, sizeof(why)), 0);
	ck_assert_int_eq(mh_relay_sess_of(s, mine, 3, conf, 2, &rs, why, sizeof(why)), 0);
	ck_assert(!keyed.keyless);
	ck_assert(rs.keyless);
	for (int resync = 0; resync < 2; resync++) {
		mh_relay_open_msg(&keyed, 7, resync, &m);
		klen = mhr_encode(&m, buf, sizeof(buf));
		mhr_msg_wipe(&m);
		mh_relay_open_msg(&rs, 8, resync, &m);
		ck_assert_uint_eq(m.u.open.flags,
				  MHR_OPEN_KEYLESS | (resync ? MHR_OPEN_RESYNC : 0));
		len = mhr_encode(&m, buf, sizeof(buf));
		ck_assert_int_eq(len, klen - SSP_KEY_LEN);
		mhr_msg_wipe(&m);
		ck_assert_int_eq(mhr_decode(buf, (size_t)len, &m, &e), 0);
		ck_assert(m.u.open.flags & MHR_OPEN_KEYLESS);
		for (unsigned k = 0; k < SSP_KEY_LEN; k++)
			ck_assert_uint_eq(m.u.open.key[k], 0);
		mhr_msg_wipe(&m);
	}
	mh_table_clear(&t);
}
END_TEST

START_TEST(test_list_bounded)
{
	static struct mh_table t;
	struct mh_relay_sess list[2];
	unsigned skipped;

	setup_addrs();
	mh_table_init(&t);
	add(&t, 60001, 1, "198.18.4.2", "");
	add(&t, 60002, 2, "198.18.4.2", "");
	add(&t, 60003, 3, "198.18.4.2", "");
	ck_assert_uint_eq(mh_relay_list(&t, mine, 3, conf, 2, list, 2, &skipped), 2);
	ck_assert_uint_eq(mh_relay_list(&t, mine, 3, conf, 2, list, 0, &skipped), 0);
	mh_table_clear(&t);
}
END_TEST

START_TEST(test_end_reasons)
{
	ck_assert_uint_eq(mh_relay_end_reason(MH_END_EXITED), MHR_END_EXITED);
	ck_assert_uint_eq(mh_relay_end_reason(MH_END_SOCKET_GONE), MHR_END_SOCKET_GONE);
	ck_assert_uint_eq(mh_relay_end_reason(MH_END_HANDSHAKE), MHR_END_EXPIRED);
	ck_assert_uint_eq(mh_relay_end_reason(MH_END_DORMANT), MHR_END_EXPIRED);
	ck_assert_uint_eq(mh_relay_end_reason(MH_END_REFUSED), MHR_END_WITHDRAWN);
	ck_assert_str_eq(mh_end_text(MH_END_REFUSED), "refused by the gateways");
	ck_assert(mh_end_releases(MH_END_REFUSED));
}
END_TEST

START_TEST(test_parse_gateway)
{
	uint8_t a[16];
	uint16_t port;
	int fam;

	ck_assert_int_eq(mh_config_parse_gateway("198.18.0.1", &fam, a, &port), 0);
	ck_assert_int_eq(fam, AF_INET);
	ck_assert_uint_eq(port, MH_RELAY_DEFAULT_PORT);
	ck_assert_int_eq(mh_config_parse_gateway("[fd00::1]:9", &fam, a, &port), 0);
	ck_assert_int_eq(fam, AF_INET6);
	ck_assert_uint_eq(port, 9);
	ck_assert_int_eq(mh_config_parse_gateway("[fd00::1]", &fam, a, &port), 0);
	ck_assert_uint_eq(port, MH_RELAY_DEFAULT_PORT);
	ck_assert_int_eq(mh_config_parse_gateway("fd00::1", &fam, a, &port), -EINVAL);
	ck_assert_int_eq(mh_config_parse_gateway("198.18.0.1:", &fam, a, &port), -EINVAL);
	ck_assert_int_eq(mh_config_parse_gateway("198.18.0.1:65536", &fam, a, &port), -EINVAL);
	ck_assert_int_eq(mh_config_parse_gateway("[198.18.0.1]:1", &fam, a, &port), -EINVAL);
	ck_assert_int_eq(mh_config_parse_gateway("[fd00::1]x", &fam, a, &port), -EINVAL);
	ck_assert_int_eq(mh_config_parse_gateway("", &fam, a, &port), -EINVAL);
	ck_assert_int_eq(mh_config_parse_gateway("[]:1", &fam, a, &port), -EINVAL);
}
END_TEST

static Suite *relaypeer_suite(void)
{
	Suite *s = suite_create("relaypeer");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_ack_all);
	tcase_add_test(tc, test_ack_any);
	tcase_add_test(tc, test_ack_no_gateway);
	tcase_add_test(tc, test_backoff);
	tcase_add_test(tc, test_addr_bound);
	tcase_add_test(tc, test_addr_wildcard);
	tcase_add_test(tc, test_resync_list);
	tcase_add_test(tc, test_list_bounded);
	tcase_add_test(tc, test_end_reasons);
	tcase_add_test(tc, test_parse_gateway);
	tcase_add_test(tc, test_keyless_open);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(relaypeer_suite());
}
