/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/gwtable.c: the gateway's sessions by server address
 * . port and the relays by certificate subject (a second live connection
 * with the same subject refused: the clone attack). Same ports on two servers
 * and on both families stay apart; OPEN from a relay creates, confirms
 * (same sid), replaces (new sid) or is refused (another relay's, no relay,
 * quota); END only ends the relay's own; a disconnect dooms after the
 * orphan grace, a reconnection's resync keeps what it lists; a session
 * adopted at a restart takes the first relay's key; the decision
 * (verdict.c) finds the session by server address, and in single-port
 * mode judges a source's conntrack flow by server address . port.
 */
#include <check.h>

#include "check_main.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gwtable.h"
#include "ssp_test.h"
#include "verdict.h"

static struct mh_table *tab;
static struct mh_gw_table *g;

static void setup(void)
{
	tab = calloc(1, sizeof(*tab));
	g = calloc(1, sizeof(*g));
	ck_assert_ptr_nonnull(tab);
	ck_assert_ptr_nonnull(g);
	mh_table_init(tab);
	mh_gwt_init(g, tab, 8, 4);
}

static void teardown(void)
{
	mh_gwt_clear(g);
	mh_table_clear(tab);
	free(g);
	free(tab);
}

static struct mh_addr addr(const char *ip, uint16_t port)
{
	struct mh_addr a = { .family = strchr(ip, ':') ? AF_INET6 : AF_INET,
			     .port = port };

	ck_assert_int_eq(inet_pton(a.family, ip, a.ip), 1);
	return a;
}

static struct mhr_open open_msg(uint32_t sid, const char *ip, uint16_t port,
				bool resync)
{
	struct mhr_open o = { .sid = sid, .uid = 1000,
			      .flags = resync ? MHR_OPEN_RESYNC : 0 };

	o.server = addr(ip, port);
	memset(o.key, (int)sid, sizeof(o.key));
	return o;
}

static struct mh_gwt_open_res do_open(uint32_t conn, uint32_t sid,
				      const char *ip, uint16_t port, bool resync)
{
	struct mhr_open o = open_msg(sid, ip, port, resync);
	struct mh_gwt_open_res res;

	mh_gwt_open(g, conn, &o, 1000, NULL, NULL, &res);
	return res;
}

/* mh_gwt_relay_up, its refusal's reason in up_why */
static const char *up_why = "";
#define UP(conn, subject, name) mh_gwt_relay_up(g, conn, subject, name, &up_why)

static bool held(const char *ip, uint16_t port)
{
	struct mh_addr a = addr(ip, port);

	return mh_gwt_find(g, &a) != NULL;
}

START_TEST(test_same_port_two_servers)
{
	ck_assert_ptr_nonnull(UP(1, "/CN=r1", "r1"));
	ck_assert_ptr_nonnull(UP(2, "/CN=r2", "r2"));
	ck_assert_uint_eq(do_open(1, 1, "198.18.0.2", 60001, false).status, MHR_ST_OK);
	ck_assert_uint_eq(do_open(2, 1, "198.18.4.2", 60001, false).status, MHR_ST_OK);
	ck_assert_uint_eq(do_open(1, 2, "fd00::2", 60001, false).status, MHR_ST_OK);
	ck_assert_uint_eq(g->count, 3);
	ck_assert(held("198.18.0.2", 60001) && held("198.18.4.2", 60001) &&
		  held("fd00::2", 60001));
	ck_assert(!held("198.18.0.2", 60002) && !held("198.18.0.3", 60001));
	/* the host's port index is not used by a gateway's table */
	ck_assert_ptr_null(mh_session_by_port(tab, 60001));
}
END_TEST

START_TEST(test_open_outcomes)
{
	struct mh_gwt_open_res r;
	struct mh_gw_sess *first;

	ck_assert_uint_eq(do_open(1, 1, "198.18.0.2", 60001, false).status, MHR_ST_STATE);
	UP(1, "/CN=r1", "r1");
	UP(2, "/CN=r2", "r2");
	r = do_open(1, 7, "198.18.0.2", 60001, false);
	ck_assert_uint_eq(r.status, MHR_ST_OK);
	ck_assert_int_eq(r.kind, MH_GWT_NEW);
	first = r.gs;
	ck_assert_uint_eq(first->s->n_bound, 1);
	/* again, same sid: the session held (a resync, a retry) */
	r = do_open(1, 7, "198.18.0.2", 60001, false);
	ck_assert_int_eq(r.kind, MH_GWT_CONFIRMED);
	ck_assert_ptr_eq(r.gs, first);
	/* another relay: refused, the session untouched */
	r = do_open(2, 9, "198.18.0.2", 60001, false);
	ck_assert_uint_eq(r.status, MHR_ST_EXISTS);
	ck_assert_uint_eq(g->count, 1);
	/* the same relay, a new sid: the old one replaced */
	r = do_open(1, 8, "198.18.0.2", 60001, false);
	ck_assert_uint_eq(r.status, MHR_ST_OK);
	ck_assert_int_eq(r.kind, MH_GWT_REPLACED);
	ck_assert_uint_eq(r.gs->sid, 8);
	ck_assert_uint_eq(g->count, 1);
	/* a resync-flagged OPEN outside a resync */
	ck_assert_uint_eq(do_open(1, 3, "198.18.0.3", 60001, true).status, MHR_ST_STATE);
}
END_TEST

START_TEST(test_quota)
{
	UP(1, "/CN=r1", "r1");
	for (uint16_t p = 0; p < 8; p++)
		ck_assert_uint_eq(do_open(1, p + 1, "198.18.0.2", 60001 + p, false).status,
				  MHR_ST_OK);
	ck_assert_uint_eq(do_open(1, 99, "198.18.0.2", 60100, false).status, MHR_ST_QUOTA);
	ck_assert_uint_eq(g->count, 8);
}
END_TEST

/* A security read's finding: one relay could take every slot (OPENs on
 * ports 1..max_sessions, which guard nothing), so that every other login
 * server's users got QUOTA. With the daemon's limits: a port outside the
 * range is refused, and one relay stops at its own quota while another
 * still opens. */
START_TEST(test_relay_limits)
{
	struct mh_gwt_open_res r;

	mh_gwt_limits(g, 60000, 61000, 5);
	UP(1, "/CN=r1", "r1");
	UP(2, "/CN=r2", "r2");
	for (uint16_t p = 1; p <= 8; p++) {
		r = do_open(1, p, "198.18.0.2", p, false);
		ck_assert_uint_eq(r.status, MHR_ST_NOT_ALLOWED);
		ck_assert_ptr_nonnull(strstr(r.why, "range"));
	}
	ck_assert_uint_eq(do_open(1, 9, "198.18.0.2", 59999, false).status,
			  MHR_ST_NOT_ALLOWED);
	ck_assert_uint_eq(do_open(1, 9, "198.18.0.2", 61001, false).status,
			  MHR_ST_NOT_ALLOWED);
	ck_assert_uint_eq(g->count, 0);
	for (uint16_t p = 0; p < 5; p++)
		ck_assert_uint_eq(do_open(1, 10 + p, "198.18.0.2", 60000 + p * 250,
					  false).status, MHR_ST_OK);
	r = do_open(1, 20, "198.18.0.2", 60002, false);
	ck_assert_uint_eq(r.status, MHR_ST_QUOTA);
	ck_assert_ptr_nonnull(strstr(r.why, "max_sessions_per_relay"));
	/* the other relay is not held back by it */
	for (uint16_t p = 0; p < 3; p++)
		ck_assert_uint_eq(do_open(2, 1 + p, "198.18.4.2", 60001 + p,
					  false).status, MHR_ST_OK);
	ck_assert_uint_eq(g->count, 8);
	/* the same session again is no new one: confirmed, not refused */
	ck_assert_int_eq(do_open(1, 10, "198.18.0.2", 60000, false).kind,
			 MH_GWT_CONFIRMED);
}
END_TEST

START_TEST(test_end)
{
	struct mhr_end e = { .sid = 5, .reason = MHR_END_EXITED };
	const char *why;
	uint8_t st;

	UP(1, "/CN=r1", "r1");
	UP(2, "/CN=r2", "r2");
	do_open(1, 5, "198.18.0.2", 60001, false);
	e.server = addr("198.18.0.2", 60001);
	ck_assert_ptr_null(mh_gwt_end(g, 2, &e, &st, &why));   /* not its own */
	ck_assert_uint_eq(st, MHR_ST_NOT_FOUND);
	e.sid = 6;
	ck_assert_ptr_null(mh_gwt_end(g, 1, &e, &st, &why));   /* stale sid */
	ck_assert_uint_eq(st, MHR_ST_NOT_FOUND);
	ck_assert_ptr_null(mh_gwt_end(g, 3, &e, &st, &why));   /* no relay */
	ck_assert_uint_eq(st, MHR_ST_STATE);
	e.sid = 5;
	struct mh_gw_sess *gs = mh_gwt_end(g, 1, &e, &st, &why);
	ck_assert_ptr_nonnull(gs);
	ck_assert_uint_eq(st, MHR_ST_OK);
	mh_gwt_remove(g, gs);
	ck_assert_uint_eq(g->count, 0);
	ck_assert_uint_eq(g->relay[0].sessions, 0);
}
END_TEST

START_TEST(test_down_and_resync)
{
	const char *why;

	UP(1, "/CN=r1", "r1");
	do_open(1, 1, "198.18.0.2", 60001, false);
	do_open(1, 2, "198.18.0.2", 60002, false);
	ck_assert_ptr_null(mh_gwt_due(g, 1000000));
	ck_assert_uint_eq(mh_gwt_relay_down(g, 1, 2000, 60000), 2);
	ck_assert_uint_eq(mh_gwt_relay_down(g, 1, 2000, 60000), 0);   /* once */
	ck_assert_ptr_null(mh_gwt_due(g, 61999));
	/* back on connection 5, listing only the first: the second is doomed
	 * at the resync's end + grace, the first kept */
	ck_assert_ptr_nonnull(UP(5, "/CN=r1", "r1"));
	ck_assert_uint_eq(mh_gwt_resync_begin(g, 5, 1, &why), MHR_ST_OK);
	ck_assert_uint_eq(do_open(5, 1, "198.18.0.2", 60001, true).kind, MH_GWT_CONFIRMED);
	ck_assert_uint_eq(mh_gwt_resync_end(g, 5, 1, 3000, 5000, &why), MHR_ST_OK);
	ck_assert_ptr_null(mh_gwt_due(g, 7999));
	struct mh_gw_sess *gs = mh_gwt_due(g, 8000);
	ck_assert_ptr_nonnull(gs);
	ck_assert_uint_eq(gs->server.port, 60002);
	mh_gwt_remove(g, gs);
	ck_assert_ptr_null(mh_gwt_due(g, 10000000));
	/* a count that does not match ends nothing */
	ck_assert_uint_eq(mh_gwt_resync_begin(g, 5, 2, &why), MHR_ST_OK);
	ck_assert_uint_eq(mh_gwt_resync_end(g, 5, 2, 3000, 5000, &why), MHR_ST_STATE);
	ck_assert_ptr_null(mh_gwt_due(g, 10000000));
}
END_TEST

/* Identities that come and go without sessions never fill the relay
 * table; one holding sessions keeps its slot while down. */
START_TEST(test_relay_slots)
{
	char subject[32];

	for (unsigned i = 0; i < 3 * MH_GW_RELAYS_MAX; i++) {
		snprintf(subject, sizeof(subject), "/CN=r%u", i);
		ck_assert_ptr_nonnull(UP(i + 1, subject, "r"));
		mh_gwt_relay_down(g, i + 1, 0, 1000);
	}
	ck_assert_ptr_null(UP(1, "", "r"));
	UP(9000, "/CN=keep", "k");
	do_open(9000, 1, "198.18.0.2", 60001, false);
	mh_gwt_relay_down(g, 9000, 0, 1000);
	struct mh_gw_sess *gs = mh_gwt_next(g, NULL);
	ck_assert_ptr_nonnull(gs);
	ck_assert_str_eq(gs->relay->subject, "/CN=keep");
	mh_gwt_remove(g, gs);   /* its last session: the slot goes too */
	for (unsigned i = 0; i < MH_GW_RELAYS_MAX; i++)
		ck_assert_str_eq(g->relay[i].subject, "");
}
END_TEST

/* Keyless mode (issue 16): only keyless OPENs, refused the other way
 * round with the reason; its sessions hold no key and are found for the
 * slow path, adopted ones too. */
START_TEST(test_keyless_mode)
{
	struct mhr_open o = open_msg(3, "198.18.0.2", 60001, false);
	struct mh_addr a = addr("198.18.0.2", 60001), b = addr("198.18.0.3", 60002);
	struct mh_gwt_open_res res;

	UP(1, "/CN=r1", "r1");
	o.flags |= MHR_OPEN_KEYLESS;   /* a keyed gateway: refused */
	memset(o.key, 0, sizeof(o.key));
	mh_gwt_open(g, 1, &o, 1000, NULL, NULL, &res);
	ck_assert_uint_eq(res.status, MHR_ST_NOT_ALLOWED);
	ck_assert_ptr_nonnull(strstr(res.why, "needs the session key"));
	ck_assert(!held("198.18.0.2", 60001));

	g->no_keys = true;
	ck_assert_uint_eq(do_open(1, 3, "198.18.0.2", 60001, false).status,
			  MHR_ST_NOT_ALLOWED);   /* keyed OPEN to a keyless gateway */
	ck_assert(!held("198.18.0.2", 60001));
	mh_gwt_open(g, 1, &o, 1000, NULL, NULL, &res);
	ck_assert_uint_eq(res.status, MHR_ST_OK);
	ck_assert_ptr_null(res.gs->s->ssp);   /* no key */
	ck_assert_ptr_eq(mh_gwt_find_session(g, &a), res.gs->s);

	ck_assert_ptr_nonnull(mh_gwt_adopt(g, &b, 0, 30000));
	ck_assert_ptr_null(mh_gwt_find(g, &b)->s->ssp);
	ck_assert_ptr_nonnull(mh_gwt_find_session(g, &b));
	o.server = b;
	mh_gwt_open(g, 1, &o, 1000, NULL, NULL, &res);
	ck_assert_uint_eq(res.kind, MH_GWT_CONFIRMED);
	ck_assert_ptr_null(res.gs->s->ssp);
}
END_TEST

/* Issue 13's clone attack: a second connection presenting the same
 * certificate (a copy of the relay's key, or the relay started twice)
 * while the first is up is refused, and whatever it sends touches none
 * of the first connection's sessions: its empty resync dooms nothing, its
 * END ends nothing. Once the first connection is down, a connection with
 * that subject (the relay restarted) takes the sessions back. */
START_TEST(test_clone_refused)
{
	const char *why = "";
	uint8_t st;
	struct mhr_end e = { .sid = 1, .reason = MHR_END_EXITED };

	ck_assert_ptr_nonnull(UP(1, "/CN=r1", "r1"));
	ck_assert_uint_eq(do_open(1, 1, "198.18.0.2", 60001, false).status, MHR_ST_OK);
	ck_assert_uint_eq(do_open(1, 2, "198.18.0.2", 60002, false).status, MHR_ST_OK);
	ck_assert_ptr_null(UP(2, "/CN=r1", "clone"));
	ck_assert_ptr_nonnull(strstr(up_why, "another connection with this "
				     "certificate subject is up"));
	/* the clone's messages: no relay on its connection */
	ck_assert_uint_eq(mh_gwt_resync_begin(g, 2, 0, &why), MHR_ST_STATE);
	ck_assert_uint_eq(mh_gwt_resync_end(g, 2, 0, 3000, 5000, &why), MHR_ST_STATE);
	e.server = addr("198.18.0.2", 60001);
	ck_assert_ptr_null(mh_gwt_end(g, 2, &e, &st, &why));
	ck_assert_uint_eq(st, MHR_ST_STATE);
	ck_assert_uint_eq(do_open(2, 9, "198.18.0.2", 60003, false).status, MHR_ST_STATE);
	/* the first connection's sessions: all there, none doomed, still its */
	ck_assert_uint_eq(g->count, 2);
	ck_assert_ptr_null(mh_gwt_due(g, 100000000));
	ck_assert_ptr_nonnull(mh_gwt_relay(g, 1));
	ck_assert_uint_eq(mh_gwt_relay(g, 1)->sessions, 2);
	ck_assert_uint_eq(do_open(1, 1, "198.18.0.2", 60001, false).kind, MH_GWT_CONFIRMED);
	ck_assert_ptr_nonnull(mh_gwt_end(g, 1, &e, &st, &why));
	/* the same connection twice is refused too */
	ck_assert_ptr_null(UP(1, "/CN=r1", "r1"));
	/* the first goes down: the relay restarted takes its sessions back */
	ck_assert_uint_eq(mh_gwt_relay_down(g, 1, 2000, 60000), 2);
	ck_assert_ptr_nonnull(UP(3, "/CN=r1", "r1"));
	ck_assert_uint_eq(mh_gwt_resync_begin(g, 3, 2, &why), MHR_ST_OK);
	ck_assert_uint_eq(do_open(3, 1, "198.18.0.2", 60001, true).kind, MH_GWT_CONFIRMED);
	ck_assert_uint_eq(do_open(3, 2, "198.18.0.2", 60002, true).kind, MH_GWT_CONFIRMED);
	ck_assert_uint_eq(mh_gwt_resync_end(g, 3, 2, 3000, 5000, &why), MHR_ST_OK);
	ck_assert_ptr_null(mh_gwt_due(g, 100000000));
	ck_assert_uint_eq(mh_gwt_relay(g, 3)->sessions, 2);
}
END_TEST

START_TEST(test_adopt)
{
	struct mh_addr a = addr("198.18.0.2", 60001);
	struct mh_gw_sess *gs = mh_gwt_adopt(g, &a, 0, 30000);

	ck_assert_ptr_nonnull(gs);
	ck_assert(gs->keyless);
	ck_assert_ptr_null(mh_gwt_find_session(g, &a));   /* no slow path */
	ck_assert_ptr_null(mh_gwt_adopt(g, &a, 0, 30000));
	ck_assert_ptr_null(mh_gwt_due(g, 29999));
	ck_assert_ptr_eq(mh_gwt_due(g, 30000), gs);
	/* a relay announces it (any sid): its key, no longer doomed */
	UP(1, "/CN=r1", "r1");
	ck_assert_int_eq(do_open(1, 4, "198.18.0.2", 60001, false).kind, MH_GWT_CONFIRMED);
	ck_assert(!gs->keyless);
	ck_assert_ptr_eq(mh_gwt_find_session(g, &a), gs->s);
	ck_assert_uint_eq(gs->sid, 4);
	ck_assert_ptr_null(mh_gwt_due(g, 10000000));
	/* now it is that relay's: another's OPEN is refused */
	UP(2, "/CN=r2", "r2");
	ck_assert_uint_eq(do_open(2, 4, "198.18.0.2", 60001, false).status, MHR_ST_EXISTS);
}
END_TEST

/* The decision finds the session by server address: a sealed to-server
 * datagram to server 1 is authentic there, and the same bytes to server
 * 2's same port (another key) are forged. */
static size_t udp4(uint8_t *buf, const struct mh_addr *src,
		   const struct mh_addr *dst, const uint8_t *pl, size_t n)
{
	memset(buf, 0, 28);
	buf[0] = 0x45;
	buf[2] = (uint8_t)((28 + n) >> 8);
	buf[3] = (uint8_t)(28 + n);
	buf[8] = 64;
	buf[9] = 17;
	memcpy(buf + 12, src->ip, 4);
	memcpy(buf + 16, dst->ip, 4);
	buf[20] = (uint8_t)(src->port >> 8);
	buf[21] = (uint8_t)src->port;
	buf[22] = (uint8_t)(dst->port >> 8);
	buf[23] = (uint8_t)dst->port;
	buf[24] = (uint8_t)((8 + n) >> 8);
	buf[25] = (uint8_t)(8 + n);
	memcpy(buf + 28, pl, n);
	return 28 + n;
}

START_TEST(test_decide_by_server)
{
	struct mh_policy pol = { .candidate_lifetime_ms = 10000 };
	struct mh_addr cl = addr("198.18.3.2", 40000);
	struct mh_addr s1 = addr("198.18.0.2", 60001), s2 = addr("198.18.4.2", 60001);
	uint8_t key[SSP_KEY_LEN], plain[32] = { 0 }, dgram[128], pkt[256];
	struct mh_decision d;
	struct ssp_ctx *c;
	long n;
	size_t len;

	UP(1, "/CN=r1", "r1");
	ck_assert_uint_eq(do_open(1, 1, "198.18.0.2", 60001, false).status, MHR_ST_OK);
	ck_assert_uint_eq(do_open(1, 2, "198.18.4.2", 60001, false).status, MHR_ST_OK);
	memset(key, 1, sizeof(key));     /* do_open's key for sid 1 */
	c = ssp_ctx_new(key);
	ck_assert_ptr_nonnull(c);
	n = ssp_seal(c, SSP_TO_SERVER, 5, plain, sizeof(plain), dgram, sizeof(dgram));
	ck_assert_int_gt(n, 0);
	ssp_ctx_free(c);
	len = udp4(pkt, &cl, &s1, dgram, (size_t)n);
	mh_decide_by(tab, &pol, MH_INBOUND, pkt, len, 1000, mh_gwt_find_session, g, &d);
	ck_assert_msg(d.accept && d.reason == MH_R_NEW_SOURCE, "%s", mh_reason_name(d.reason));
	len = udp4(pkt, &cl, &s2, dgram, (size_t)n);
	mh_decide_by(tab, &pol, MH_INBOUND, pkt, len, 1000, mh_gwt_find_session, g, &d);
	ck_assert_int_eq(d.reason, MH_R_FORGED);
	s1.port = 60002;
	len = udp4(pkt, &cl, &s1, dgram, (size_t)n);
	mh_decide_by(tab, &pol, MH_INBOUND, pkt, len, 1000, mh_gwt_find_session, g, &d);
	ck_assert_int_eq(d.reason, MH_R_NO_SESSION);
}
END_TEST

/* Single port at a gateway: a datagram from cl to server 1's public
 * port, sealed with sid's key (do_open's), through the trial. */
static struct mh_decision mux_gw(const struct mh_policy *pol, uint32_t sid,
				 const struct mh_addr *cl)
{
	struct mh_addr pub = addr("198.18.0.2", pol->public_port);
	uint8_t key[SSP_KEY_LEN], plain[32] = { 0 }, dgram[128], pkt[256];
	struct ssp_ctx *c;
	struct mh_decision d;
	long n;

	memset(key, (int)sid, sizeof(key));
	c = ssp_ctx_new(key);
	ck_assert_ptr_nonnull(c);
	n = ssp_seal(c, SSP_TO_SERVER, 5, plain, sizeof(plain), dgram, sizeof(dgram));
	ssp_ctx_free(c);
	ck_assert_int_gt(n, 0);
	mh_decide_mux(tab, pol, pkt, udp4(pkt, cl, &pub, dgram, (size_t)n), &d);
	return d;
}

/* The flow a gateway's port-only DNAT made goes to a server address .
 * port; mh_decide_mux_flow judges it by both (the session of 60001 on
 * server 1 authenticates the datagram; server 2 holds a session on
 * 60001 too). */
START_TEST(test_mux_flow_by_server)
{
	struct mh_policy pol = { .candidate_lifetime_ms = 10000, .public_port = 60000 };
	struct mh_addr cl = addr("198.18.3.2", 41290), ev;
	struct mh_addr own = addr("198.18.0.2", 60001), pub = addr("198.18.0.2", 60000);
	struct mh_addr other = addr("198.18.0.2", 60002), far = addr("198.18.4.2", 60001);
	struct mh_session *s2;
	struct mh_decision d;

	UP(1, "/CN=r1", "r1");
	ck_assert_uint_eq(do_open(1, 1, "198.18.0.2", 60001, false).status, MHR_ST_OK);
	ck_assert_uint_eq(do_open(1, 2, "198.18.0.2", 60002, false).status, MHR_ST_OK);
	ck_assert_uint_eq(do_open(1, 3, "198.18.4.2", 60001, false).status, MHR_ST_OK);
	s2 = mh_gwt_find(g, &other)->s;
	/* its own server . port, or not NATed yet: nothing changes */
	d = mux_gw(&pol, 1, &cl);
	ck_assert_msg(d.accept && d.session == mh_gwt_find(g, &own)->s, "%s",
		      mh_reason_name(d.reason));
	mh_decide_mux_flow(&pol, d.session, &own, 1000, &d);
	mh_decide_mux_flow(&pol, NULL, &pub, 1000, &d);
	ck_assert(d.accept && !d.cut_flow);
	/* the same port on server 2 is not its own: cut */
	mh_decide_mux_flow(&pol, mh_gwt_find(g, &far)->s, &far, 1000, &d);
	ck_assert(!d.accept && d.cut_flow);
	ck_assert_int_eq(d.reason, MH_R_STALE_FLOW);
	/* server 1's other session, which its server never answered (a
	 * replay's trial): cut, its candidate withdrawn */
	d = mux_gw(&pol, 1, &cl);
	mh_candidate_add(s2, &cl, 5000);
	mh_decide_mux_flow(&pol, s2, &other, 1000, &d);
	ck_assert(!d.accept && d.cut_flow);
	ck_assert(!mh_candidate_take(s2, &cl, 1000, false));
	/* the same, its server having answered (a pinhole): the flow stays */
	d = mux_gw(&pol, 1, &cl);
	ck_assert(!mh_pinhole_record(s2, &cl, 500, &ev));
	mh_decide_mux_flow(&pol, s2, &other, 1000, &d);
	ck_assert(!d.accept && !d.cut_flow);
	ck_assert_int_eq(d.reason, MH_R_CLAIMED);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gwtable");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_same_port_two_servers);
	tcase_add_test(tc, test_open_outcomes);
	tcase_add_test(tc, test_quota);
	tcase_add_test(tc, test_relay_limits);
	tcase_add_test(tc, test_end);
	tcase_add_test(tc, test_down_and_resync);
	tcase_add_test(tc, test_adopt);
	tcase_add_test(tc, test_keyless_mode);
	tcase_add_test(tc, test_relay_slots);
	tcase_add_test(tc, test_clone_refused);
	tcase_add_test(tc, test_decide_by_server);
	tcase_add_test(tc, test_mux_flow_by_server);
	suite_add_tcase(s, tc);
	return mh_check_run(s);
}
