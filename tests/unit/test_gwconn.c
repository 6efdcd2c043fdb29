/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of the relay listener's connections (nfq-helper/intake/gwconn.c)
 * and what they tell the daemon, with real TLS 1.3 relays over
 * socketpairs (certificates by tests/tools/mkcerts.sh) and the daemon's
 * end of the listener's SEQPACKET socketpair held by the test, which
 * reads it (or lets it fill up) and answers as the daemon would:
 * - a DOWN the full socketpair refused is not lost: the slot stays taken
 *   until it goes, it goes at the next accept or close once the daemon
 *   catches up, and before the UP of a relay that says HELLO meanwhile
 *   (else the daemon would refuse that relay, its old connection still up);
 * - a frame the daemon never answers (it drops an answer it cannot send at
 *   once) closes the relay's connection after GWC_ANSWER_MS, not before,
 *   and the daemon gets its DOWN;
 * - connection ids after 2^32 connections skip 0, an open connection's id
 *   and the id a waiting DOWN carries.
 */
#include <check.h>

#include "check_main.h"
#include "certdir.h"
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gwpriv.h"
#include "proc.h"
#include "relaywire.h"
#include "../../nfq-helper/intake/gwlisten_int.h"


static void path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", certdir, name);
}

static void make_certs(void)
{
	certdir_make("gwconn");
}

/* The listener as gwlisten.c's setup leaves it, and the daemon's end. */
struct fix {
	struct gwl l;
	int daemon;
	struct mh_tls_ctx *rctx;
};

/* A relay: its end of the TCP stand-in and its TLS. */
struct relay {
	int fd;
	struct mh_tls_conn *t;
	uint32_t id;
	unsigned slot;
};

static struct mh_tls_ctx *ctx(enum mh_tls_role role, const char *cert,
			      const char *key)
{
	char ca[128], c[128], k[128], err[MH_TLS_ERR_MAX] = "";
	struct mh_tls_files f = { ca, c, k, NULL };
	struct mh_tls_ctx *x;

	path(ca, sizeof(ca), "site-ca.pem");
	path(c, sizeof(c), cert);
	path(k, sizeof(k), key);
	x = mh_tls_ctx_new(role, &f, err, sizeof(err));
	ck_assert_msg(x != NULL, "context: %s", err);
	return x;
}

static void start(struct fix *f, unsigned max)
{
	int sv[2];

	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	f->daemon = sv[0];
	f->l.sock = sv[1];
	f->l.lfd = -1;
	f->l.max = max;
	f->l.per_src = 1;
	f->l.hs_ms = 10000;
	f->l.conns = calloc(max, sizeof(*f->l.conns));
	f->l.down = calloc(max, sizeof(*f->l.down));
	f->l.epfd = epoll_create1(EPOLL_CLOEXEC);
	ck_assert(f->l.conns && f->l.down && f->l.epfd >= 0);
	for (int k = 0; k < GWL_NOISE_KINDS; k++)
		mh_ratelimit_init(&f->l.noise[k], GWL_NOISE_PER_SEC, GWL_NOISE_BURST);
	f->l.tls = ctx(MH_TLS_GATEWAY, "gateway.pem", "gateway.key");
	f->rctx = ctx(MH_TLS_RELAY, "relay1.pem", "relay1.key");
}

static void relay_free(struct relay *r)
{
	if (r->t)
		mh_tls_conn_free(r->t);
	if (r->fd >= 0)
		close(r->fd);
	r->t = NULL;
	r->fd = -1;
}

static void stop(struct fix *f)
{
	for (unsigned i = 0; i < f->l.max; i++)
		if (f->l.conns[i])
			gwc_close(&f->l, f->l.conns[i], "end of test");
	mh_tls_ctx_free(f->l.tls);
	mh_tls_ctx_free(f->rctx);
	free(f->l.conns);
	free(f->l.down);
	close(f->l.epfd);
	close(f->l.sock);
	close(f->daemon);
}

/* A connection accepted into slot: the listener's end given to gwc_open,
 * the relay's TLS made; nothing sent yet. */
static void accepted(struct fix *f, struct relay *r, unsigned slot)
{
	struct gwl_src src;
	char err[MH_TLS_ERR_MAX];
	int sv[2];

	memset(&src, 0, sizeof(src));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
				    0, sv), 0);
	r->fd = sv[1];
	r->t = mh_tls_conn_new(f->rctx, r->fd, err, sizeof(err));
	ck_assert_msg(r->t != NULL, "relay TLS: %s", err);
	r->slot = slot;
	ck_assert_ptr_null(f->l.conns[slot]);
	gwc_open(&f->l, sv[0], "test", &src, slot);
	ck_assert_ptr_nonnull(f->l.conns[slot]);
	r->id = f->l.conns[slot]->id;
}

/* The TLS handshake of a connection accepted, to its end on both sides. */
static void handshake(struct fix *f, struct relay *r)
{
	int rc = -EAGAIN;

	for (int i = 0; i < 1000; i++) {
		struct gwc *c = f->l.conns[r->slot];

		ck_assert_ptr_nonnull(c);
		if (rc == -EAGAIN)
			rc = mh_tls_handshake(r->t);
		ck_assert_int_le(rc, 0);
		ck_assert_msg(rc == 0 || rc == -EAGAIN, "relay handshake: %s",
			      mh_tls_error(r->t));
		if (c->state == GWC_HANDSHAKE)
			gwc_service(&f->l, c);
		if (!rc && f->l.conns[r->slot] && f->l.conns[r->slot]->state == GWC_HELLO)
			return;
	}
	ck_abort_msg("TLS handshake of relay #%u did not end", r->id);
}

/* The relay sends a frame; the listener reads it. */
static void relay_says(struct fix *f, struct relay *r, const struct mhr_msg *m)
{
	uint8_t buf[MHR_MAX_FRAME];
	ssize_t n = mhr_encode(m, buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(mh_tls_write(r->t, buf, (size_t)n), n);
	ck_assert_ptr_nonnull(f->l.conns[r->slot]);
	gwc_service(&f->l, f->l.conns[r->slot]);
}

static void say_hello(struct fix *f, struct relay *r)
{
	struct mhr_msg m;

	memset(&m, 0, sizeof(m));
	m.type = MHR_HELLO;
	m.id = 1;
	m.u.hello.instance = 1;
	m.u.hello.heartbeat_ms = 3000;
	strcpy(m.u.hello.name, "relay1");
	relay_says(f, r, &m);
}

/* The next message the listener sent the daemon, or false if none. */
static bool daemon_reads(struct fix *f, struct mh_gwp *p)
{
	uint8_t buf[MH_GWP_MAX];
	ssize_t n = recv(f->daemon, buf, sizeof(buf), MSG_DONTWAIT);
	const char *why = NULL;

	if (n < 0 && errno == EAGAIN)
		return false;
	ck_assert_int_gt(n, 0);
	ck_assert_msg(mh_gwp_decode(buf, (size_t)n, p, &why) == 0,
		      "the listener sent a message the daemon refuses: %s", why);
	return true;
}

/* The next message the daemon reads is kind for relay id. */
static void daemon_gets(struct fix *f, char kind, uint32_t id)
{
	struct mh_gwp p;

	ck_assert_msg(daemon_reads(f, &p), "the daemon got nothing; expected "
		      "'%c' for relay #%u", kind, id);
	ck_assert_msg(p.kind == kind && p.relay == id, "the daemon got '%c' for "
		      "relay #%u; expected '%c' for relay #%u", p.kind, p.relay,
		      kind, id);
	mh_gwp_wipe(&p);
}

/* The daemon catches up: everything waiting is read (the listener's
 * BEATs that filled the socketpair). No DOWN or UP among them. */
static void daemon_drains(struct fix *f)
{
	struct mh_gwp p;

	while (daemon_reads(f, &p)) {
		ck_assert_msg(p.kind == MH_GWP_BEAT, "the daemon got '%c' for relay "
			      "#%u among the BEATs", p.kind, p.relay);
		mh_gwp_wipe(&p);
	}
}

/* The daemon answers a relay's frame (as gwlisten.c's on_sock hands it). */
static void daemon_answers(struct fix *f, struct relay *r, uint8_t type, uint32_t id)
{
	struct mhr_msg a;

	ck_assert_int_eq(mhr_answer(&a, type, id, MHR_ST_OK, ""), 0);
	ck_assert_ptr_nonnull(f->l.conns[r->slot]);
	gwc_answered(&f->l, f->l.conns[r->slot], &a);
}

/* A relay connected, through TLS and HELLO, up in the daemon. */
static void relay_up(struct fix *f, struct relay *r, unsigned slot)
{
	accepted(f, r, slot);
	handshake(f, r);
	say_hello(f, r);
	daemon_gets(f, MH_GWP_UP, r->id);
	daemon_answers(f, r, MHR_HELLO, 1);
	ck_assert_int_eq(f->l.conns[slot]->state, GWC_UP);
}

/* The daemon lags: the listener's own messages (BEATs) fill the
 * socketpair until it takes no more. */
static void daemon_lags(struct fix *f)
{
	struct mh_gwp beat = { .kind = MH_GWP_BEAT, .relay = 1 };
	unsigned n = 0;

	while (gwl_send(&f->l, &beat) == 0)
		ck_assert_uint_lt(++n, 1000000);
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(gwl_send(&f->l, &beat), -EAGAIN);
}

/* The relay goes away; the listener sees it and closes the connection. */
static void relay_gone(struct fix *f, struct relay *r)
{
	relay_free(r);
	ck_assert_ptr_nonnull(f->l.conns[r->slot]);
	gwc_service(&f->l, f->l.conns[r->slot]);
	ck_assert_msg(f->l.conns[r->slot] == NULL, "relay #%u's connection not "
		      "closed when its relay went", r->id);
}

START_TEST(test_down_kept_until_sent)
{
	struct relay a, b;
	struct fix f;

	start(&f, 2);
	relay_up(&f, &a, 0);
	daemon_lags(&f);
	relay_gone(&f, &a);    /* its DOWN does not go now */
	/* a connection accepted meanwhile: not into a's slot */
	ck_assert_msg(gwl_free_slot(&f.l) == 1, "slot %d offered while relay "
		      "#%u's DOWN waits in slot 0", gwl_free_slot(&f.l), a.id);
	accepted(&f, &b, 1);
	handshake(&f, &b);
	/* the daemon catches up; then b (a again, say) says HELLO before the
	 * listener's next tick: the daemon hears of a's end first */
	daemon_drains(&f);
	say_hello(&f, &b);
	daemon_gets(&f, MH_GWP_DOWN, a.id);
	daemon_gets(&f, MH_GWP_UP, b.id);
	ck_assert_int_eq(gwl_free_slot(&f.l), 0);
	relay_free(&b);
	stop(&f);
}
END_TEST

START_TEST(test_down_sent_at_next_close)
{
	struct relay a, b;
	struct fix f;
	struct mh_gwp p;

	start(&f, 2);
	relay_up(&f, &a, 0);
	relay_up(&f, &b, 1);
	daemon_lags(&f);
	relay_gone(&f, &a);
	daemon_drains(&f);
	relay_gone(&f, &b);
	daemon_gets(&f, MH_GWP_DOWN, a.id);    /* the earlier one first */
	daemon_gets(&f, MH_GWP_DOWN, b.id);
	ck_assert(!daemon_reads(&f, &p));
	ck_assert_int_eq(gwl_free_slot(&f.l), 0);
	stop(&f);
}
END_TEST

/* The relay reads what the listener wrote: its answers, then the end. */
static bool relay_sees_end(struct relay *r)
{
	uint8_t buf[4096];

	for (int i = 0; i < 100; i++) {
		ssize_t n = mh_tls_read(r->t, buf, sizeof(buf));

		if (n == -EAGAIN)
			return false;
		if (n <= 0)
			return true;
	}
	return false;
}

START_TEST(test_unanswered_frame_closes)
{
	struct relay a;
	struct fix f;
	struct mhr_msg m;
	struct mh_gwp p;
	uint64_t sent;

	start(&f, 1);
	relay_up(&f, &a, 0);
	memset(&m, 0, sizeof(m));
	m.type = MHR_OPEN;
	m.id = 2;
	m.u.open.sid = 1;
	m.u.open.uid = 1000;
	m.u.open.server.family = AF_INET;
	inet_pton(AF_INET, "198.18.1.2", m.u.open.server.ip);
	m.u.open.server.port = 60001;
	memset(m.u.open.key, 0x5a, sizeof(m.u.open.key));
	sent = mh_now_ms();
	relay_says(&f, &a, &m);
	ck_assert(daemon_reads(&f, &p));
	ck_assert_msg(p.kind == MH_GWP_MSG && p.msg.type == MHR_OPEN &&
		      p.relay == a.id, "the daemon got '%c' for relay #%u",
		      p.kind, p.relay);
	mh_gwp_wipe(&p);
	/* the daemon drops its answer; nothing more comes */
	gwc_tick(&f.l, f.l.conns[0], sent + GWC_ANSWER_MS - 1000);
	ck_assert_msg(f.l.conns[0] != NULL, "closed before GWC_ANSWER_MS");
	ck_assert(!daemon_reads(&f, &p));
	gwc_tick(&f.l, f.l.conns[0], mh_now_ms() + GWC_ANSWER_MS + 1000);
	ck_assert_msg(f.l.conns[0] == NULL, "relay #%u's connection still open "
		      "with its OPEN unanswered for more than %d ms", a.id,
		      GWC_ANSWER_MS);
	daemon_gets(&f, MH_GWP_DOWN, a.id);
	ck_assert_msg(relay_sees_end(&a), "the relay does not see the end");
	relay_free(&a);
	stop(&f);
}
END_TEST

START_TEST(test_id_wrap)
{
	struct relay a, held, x, y;
	struct fix f;

	start(&f, 4);
	relay_up(&f, &a, 0);          /* id 1, its DOWN about to wait */
	accepted(&f, &held, 1);       /* id 2, open throughout */
	ck_assert_uint_eq(a.id, 1);
	ck_assert_uint_eq(held.id, 2);
	daemon_lags(&f);
	relay_gone(&f, &a);
	/* 2^32 - 3 connections later (each closed at once, say) */
	f.l.next_id = UINT32_MAX - 1;
	accepted(&f, &x, 2);
	ck_assert_uint_eq(x.id, UINT32_MAX);
	accepted(&f, &y, 3);
	ck_assert_msg(y.id == 3, "id %u after %u (0: none; 1: relay #1's DOWN "
		      "waits; 2: open)", y.id, x.id);
	relay_free(&held);
	relay_free(&x);
	relay_free(&y);
	stop(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gwconn");
	TCase *tc = tcase_create("core");

	signal(SIGPIPE, SIG_IGN);   /* as in the daemon and its listener */
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, make_certs, certdir_remove);
	tcase_add_test(tc, test_down_kept_until_sent);
	tcase_add_test(tc, test_down_sent_at_next_close);
	tcase_add_test(tc, test_unanswered_frame_closes);
	tcase_add_test(tc, test_id_wrap);
	suite_add_tcase(s, tc);
	return mh_check_run(s);
}
