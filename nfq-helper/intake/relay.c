/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Role relay (relay.h): one TLS 1.3 connection to each configured gateway,
 * driven by the epoll loop and a 100 ms timer: non-blocking connect, the
 * handshake (the gateway's certificate verified against the site CA before
 * any frame is written), HELLO and a resync of every live session, then
 * OPEN and END as sessions start and end, HEARTBEATs, and the gateways'
 * ANSWERs matched by id to what they answer. A held announcement is
 * decided by relaypeer.c's all/any rule, bounded by gateway_timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "daemon.h"
#include "intake/relay.h"
#include "intake/tls.h"
#include "lifecycle/lifecycle.h"
#include "relaypeer.h"
#include "relaywire.h"

#define TICK_MS            100
#define CONNECT_TIMEOUT_MS 5000
#define OUT_MAX            (16u << 20)   /* unsent bytes before the link is cut */
#define WHY_LEN            (MHR_REASON_MAX + 96)

enum gw_state { GW_IDLE, GW_CONNECTING, GW_HANDSHAKE, GW_UP };

struct sent {                 /* a frame awaiting its ANSWER */
	uint32_t id;          /* 0: answered out of order */
	uint8_t type;
	uint16_t port;
	uint32_t sid;
};

struct gw {
	char name[MH_GATEWAY_TEXT_MAX];     /* as configured, for every message */
	struct sockaddr_storage sa;
	socklen_t salen;
	enum gw_state state;
	int fd;
	uint32_t events;                    /* registered with epoll (0: not) */
	struct mh_tls_conn *tls;
	unsigned failures;                  /* attempts since the last good HELLO */
	uint64_t retry_ms, deadline_ms, last_rx_ms, next_hb_ms;
	uint64_t since_ms;                  /* up since, or down since */
	uint32_t ctr;                       /* frame ids */
	uint8_t *out;                       /* frames not yet written */
	size_t out_len, out_cap, out_hw;    /* out_hw: bytes written to since wiped */
	uint8_t in[2 * MHR_MAX_FRAME];
	size_t in_len;
	struct sent *sent;                  /* ring, oldest at sent_head */
	size_t sent_head, sent_n, sent_cap;
	char err[MH_TLS_ERR_MAX];           /* why it is down */
};

struct pend {                 /* an announcement waiting for the gateways */
	bool used, resolving;
	bool announcing;                    /* being sent: decided once that is done */
	struct mh_relay_waiter w;
	uint32_t sid;
	uint64_t deadline_ms;
	uint8_t st[MH_GATEWAYS_MAX];        /* enum mh_gw_ack */
	char why[MH_GATEWAYS_MAX][WHY_LEN];
};

struct mh_relay_rt {
	struct mh_tls_ctx *ctx;
	struct mh_tls_peer self;            /* our certificate: the addresses we may announce */
	struct mh_addr conf[MH_RELAY_ADDRS_MAX];
	unsigned n_conf;
	struct gw gw[MH_GATEWAYS_MAX];
	unsigned n;
	struct pend pend[MH_MAX_CONNS];
	int timerfd;
	uint64_t instance;
	char name[MHR_NAME_MAX + 1];
};

static void gw_down(struct mh_daemon *d, struct gw *g, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static unsigned gw_index(const struct mh_relay_rt *r, const struct gw *g)
{
	return (unsigned)(g - r->gw);
}

static int set_events(struct mh_daemon *d, struct gw *g, uint32_t ev)
{
	struct epoll_event e = { .events = ev,
				 .data.u64 = EV_TAG(EV_RELAY, gw_index(d->relay, g)) };
	int op = g->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	if (ev == g->events)
		return 0;
	if (epoll_ctl(d->epfd, op, g->fd, &e) < 0)
		return -errno;
	g->events = ev;
	return 0;
}

/* What the connection waits for now. */
static void want(struct mh_daemon *d, struct gw *g)
{
	uint32_t ev = EPOLLIN;

	if (g->fd < 0)
		return;
	if (g->state == GW_CONNECTING || g->out_len)
		ev |= EPOLLOUT;
	if (g->state == GW_HANDSHAKE)
		ev = mh_tls_wants(g->tls) ? mh_tls_wants(g->tls) : EPOLLIN;
	if (set_events(d, g, ev) < 0)
		log_warn("relay: gateway %s: epoll: %s", g->name, strerror(errno));
}

/* ---- the ring of frames awaiting an answer ---- */

static int sent_push(struct gw *g, const struct sent *e)
{
	if (g->sent_n == g->sent_cap) {
		size_t cap = g->sent_cap ? 2 * g->sent_cap : 64;
		struct sent *n = calloc(cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		for (size_t i = 0; i < g->sent_n; i++)
			n[i] = g->sent[(g->sent_head + i) % g->sent_cap];
		free(g->sent);
		g->sent = n;
		g->sent_cap = cap;
		g->sent_head = 0;
	}
	g->sent[(g->sent_head + g->sent_n++) % g->sent_cap] = *e;
	return 0;
}

/* The frame id answers (answers come in order, so the search is short). */
static bool sent_take(struct gw *g, uint32_t id, struct sent *out)
{
	size_t i;

	for (i = 0; id && i < g->sent_n; i++) {
		struct sent *e = &g->sent[(g->sent_head + i) % g->sent_cap];

		if (e->id != id)
			continue;
		*out = *e;
		e->id = 0;
		while (g->sent_n && g->sent[g->sent_head].id == 0) {
			g->sent_head = (g->sent_head + 1) % g->sent_cap;
			g->sent_n--;
		}
		return true;
	}
	return false;
}

/* ---- frames out ---- */

static int out_room(struct gw *g, size_t more)
{
	size_t cap = g->out_cap ? g->out_cap : 4096;
	uint8_t *n;

	if (g->out_len + more <= g->out_cap)
		return 0;
	if (g->out_len + more > OUT_MAX)
		return -ENOBUFS;
	while (cap < g->out_len + more)
		cap *= 2;
	n = OPENSSL_zalloc(cap);   /* OPENs hold keys: OpenSSL's (locked) memory */
	if (!n)
		return -ENOMEM;
	if (g->out_len)
		memcpy(n, g->out, g->out_len);
	OPENSSL_clear_free(g->out, g->out_cap);
	g->out = n;
	g->out_cap = cap;
	return 0;
}

/* Encodes m after what waits to be written; its id is taken here. */
static int queue(struct mh_daemon *d, struct gw *g, struct mhr_msg *m,
		 uint16_t port, uint32_t sid)
{
	struct sent e = { .type = m->type, .port = port, .sid = sid };
	ssize_t n;
	int err;

	m->id = e.id = mh_relay_next_id(&g->ctr);
	err = out_room(g, MHR_MAX_FRAME);
	if (err || (err = sent_push(g, &e)) < 0) {
		gw_down(d, g, "%s frames wait to be written (%s)",
			err == -ENOBUFS ? "too many" : "no memory for the", strerror(-err));
		return err;
	}
	n = mhr_encode(m, g->out + g->out_len, g->out_cap - g->out_len);
	if (n < 0) {
		log_err("relay: cannot encode a %s frame: %s", mhr_type_name(m->type),
			strerror((int)-n));
		return (int)n;
	}
	g->out_len += (size_t)n;
	if (g->out_len > g->out_hw)
		g->out_hw = g->out_len;
	want(d, g);
	return 0;
}

static int flush(struct mh_daemon *d, struct gw *g)
{
	ssize_t n;

	while (g->state == GW_UP && g->out_len) {
		n = mh_tls_write(g->tls, g->out, g->out_len);
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			gw_down(d, g, "%s", mh_tls_error(g->tls));
			return -EPIPE;
		}
		memmove(g->out, g->out + n, g->out_len - (size_t)n);
		g->out_len -= (size_t)n;
	}
	if (!g->out_len && g->out_hw) {   /* nothing kept that held a key */
		OPENSSL_cleanse(g->out, g->out_hw);
		g->out_hw = 0;
	}
	want(d, g);
	return 0;
}

static void flush_all(struct mh_daemon *d)
{
	for (unsigned i = 0; i < d->relay->n; i++)
		flush(d, &d->relay->gw[i]);
}

/* ---- announcements waiting for the gateways ---- */

static struct pend *pend_find(struct mh_relay_rt *r, uint16_t port, uint32_t sid)
{
	for (unsigned i = 0; i < MH_MAX_CONNS; i++)
		if (r->pend[i].used && r->pend[i].w.port == port && r->pend[i].sid == sid)
			return &r->pend[i];
	return NULL;
}

/* The waiter gets its answer; the slot is free again. */
static void pend_done(struct mh_daemon *d, struct pend *p, uint8_t status,
		      const char *line)
{
	struct mh_relay_waiter w = p->w;

	memset(p, 0, sizeof(*p));
	w.answer(d, &w, status, line);
}

/* "gateway A refused: ...", "gateway A unreachable: ...", "gateway A did
 * not answer within N ms". */
static void refusal_line(const struct mh_daemon *d, const struct pend *p,
			 unsigned c, char *line, size_t len)
{
	const struct gw *g = &d->relay->gw[c];

	if (p->st[c] == MH_GWA_WAIT)
		snprintf(line, len, "gateway %s did not answer within %u ms (gateway_timeout)",
			 g->name, d->cfg.gateway_timeout);
	else
		snprintf(line, len, "gateway %s %s", g->name, p->why[c]);
}

/* A refusal ends the session here, as a local refusal would: the END
 * (withdrawn) goes to the gateways that did not refuse it. */
static void refuse(struct mh_daemon *d, struct pend *p, unsigned culprit,
		   char *line, size_t len)
{
	struct mh_session *s = mh_session_by_port(&d->sessions, p->w.port);

	refusal_line(d, p, culprit, line, len);
	log_warn("relay: session %u port %u refused: %s", p->sid, p->w.port, line);
	p->resolving = true;
	if (s && s->id == p->sid)
		mh_life_end(d, s, MH_END_REFUSED, line);
}

static void decide(struct mh_daemon *d, struct pend *p, bool timed_out)
{
	char line[WHY_LEN + MH_GATEWAY_TEXT_MAX + 64];
	unsigned c, ok = 0;

	if (p->announcing)
		return;
	switch (mh_ack_decide(d->cfg.gateway_ack, p->st, d->relay->n, timed_out, &c)) {
	case MH_AV_PENDING:
		return;
	case MH_AV_ACCEPT:
		for (unsigned i = 0; i < d->relay->n; i++)
			ok += p->st[i] == MH_GWA_OK;
		snprintf(line, sizeof(line), "session accepted on port %u (%u of %u "
			 "gateway%s acknowledged)", p->w.port, ok, d->relay->n,
			 d->relay->n == 1 ? "" : "s");
		pend_done(d, p, MHC_OK, line);
		return;
	case MH_AV_REFUSE:
		refuse(d, p, c, line, sizeof(line));
		pend_done(d, p, MHC_ERR_GATEWAY, line);
	}
}

/* ---- sessions to frames ---- */

static int sess_of(struct mh_relay_rt *r, const struct mh_session *s,
		   struct mh_relay_sess *rs, char *why, size_t len)
{
	return mh_relay_sess_of(s, r->self.addrs, r->self.n_addrs, r->conf,
				r->n_conf, rs, why, len);
}

static int send_open(struct mh_daemon *d, struct gw *g,
		     const struct mh_relay_sess *rs, bool resync)
{
	struct mhr_msg m;
	int err;

	mh_relay_open_msg(rs, 0, resync, &m);
	err = queue(d, g, &m, rs->server.port, rs->sid);
	mhr_msg_wipe(&m);
	return err;
}

static int send_count(struct mh_daemon *d, struct gw *g, uint8_t type,
		      uint32_t n)
{
	struct mhr_msg m = { .type = type, .u.resync_count = n };

	return queue(d, g, &m, 0, 0);
}

static void send_hello(struct mh_daemon *d, struct gw *g)
{
	struct mhr_msg m = { .type = MHR_HELLO };

	m.u.hello.instance = d->relay->instance;
	m.u.hello.heartbeat_ms = d->cfg.relay_heartbeat * 1000;
	snprintf(m.u.hello.name, sizeof(m.u.hello.name), "%s", d->relay->name);
	snprintf(m.u.hello.software, sizeof(m.u.hello.software), "mosh-helperd");
	queue(d, g, &m, 0, 0);
}

/* Every live session, flagged resync, between RESYNC_BEGIN and _END. */
static void send_resync(struct mh_daemon *d, struct gw *g)
{
	struct mh_relay_rt *r = d->relay;
	unsigned n = d->sessions.count, skipped, i;
	struct mh_relay_sess *list = OPENSSL_zalloc((n ? n : 1) * sizeof(*list));

	if (!list) {
		gw_down(d, g, "no memory for the resync of %u sessions", n);
		return;
	}
	n = mh_relay_list(&d->sessions, r->self.addrs, r->self.n_addrs, r->conf,
			  r->n_conf, list, n, &skipped);
	if (skipped)
		log_warn("relay: gateway %s: %u session(s) without an address of "
			 "this relay's certificate left out of the resync", g->name,
			 skipped);
	if (!send_count(d, g, MHR_RESYNC_BEGIN, n)) {
		for (i = 0; i < n && g->state == GW_UP; i++)
			send_open(d, g, &list[i], true);
		if (g->state == GW_UP)
			send_count(d, g, MHR_RESYNC_END, n);
	}
	OPENSSL_clear_free(list, (d->sessions.count ? d->sessions.count : 1) * sizeof(*list));
	log_info("relay: gateway %s up (%s): HELLO and a resync of %u session(s) sent",
		 g->name, mh_tls_peer(g->tls)->subject, n);
}

/* ---- the connection ---- */

static void gw_reset(struct gw *g)
{
	if (g->tls) {
		mh_tls_close(g->tls);
		mh_tls_conn_free(g->tls);
		g->tls = NULL;
	}
	if (g->fd >= 0)
		close(g->fd);   /* also leaves the epoll set */
	g->fd = -1;
	g->events = 0;
	OPENSSL_clear_free(g->out, g->out_cap);
	g->out = NULL;
	g->out_len = g->out_cap = g->out_hw = 0;
	free(g->sent);
	g->sent = NULL;
	g->sent_head = g->sent_n = g->sent_cap = 0;
	g->in_len = 0;
}

/* Announcements waiting for g learn it is gone, and are decided again. */
static void pends_lose(struct mh_daemon *d, struct gw *g)
{
	unsigned gi = gw_index(d->relay, g);

	for (unsigned i = 0; i < MH_MAX_CONNS; i++) {
		struct pend *p = &d->relay->pend[i];

		if (!p->used || p->resolving || p->st[gi] != MH_GWA_WAIT)
			continue;
		p->st[gi] = MH_GWA_DOWN;
		snprintf(p->why[gi], WHY_LEN, "unreachable: %.270s", g->err);
		decide(d, p, false);
	}
}

static void gw_down(struct mh_daemon *d, struct gw *g, const char *fmt, ...)
{
	uint32_t rnd = 0, delay;
	bool was_up = g->state == GW_UP;
	char why[MH_TLS_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
	delay = mh_relay_backoff_ms(++g->failures, rnd);
	if (was_up || strcmp(why, g->err) || g->failures == 1)
		log_warn("relay: gateway %s: %s; next attempt in %u ms", g->name, why,
			 delay);
	snprintf(g->err, sizeof(g->err), "%s", why);
	gw_reset(g);
	if (was_up)
		g->since_ms = mh_now_ms();
	g->state = GW_IDLE;
	g->retry_ms = mh_now_ms() + delay;
	pends_lose(d, g);
}

static void gw_connect(struct mh_daemon *d, struct gw *g)
{
	int one = 1;

	g->fd = socket(g->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g->fd < 0) {
		gw_down(d, g, "cannot create a socket: %s", strerror(errno));
		return;
	}
	setsockopt(g->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(g->fd, (struct sockaddr *)&g->sa, g->salen) < 0 &&
	    errno != EINPROGRESS) {
		gw_down(d, g, "cannot connect: %s", strerror(errno));
		return;
	}
	g->state = GW_CONNECTING;
	g->deadline_ms = mh_now_ms() + CONNECT_TIMEOUT_MS;
	want(d, g);
}

static void gw_start_tls(struct mh_daemon *d, struct gw *g)
{
	char err[MH_TLS_ERR_MAX];
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(g->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr) {
		gw_down(d, g, "cannot connect: %s", strerror(soerr));
		return;
	}
	g->tls = mh_tls_conn_new(d->relay->ctx, g->fd, err, sizeof(err));
	if (!g->tls) {
		gw_down(d, g, "%s", err);
		return;
	}
	g->state = GW_HANDSHAKE;
}

/* The gateway's certificate is verified here, before any frame. */
static void gw_handshake(struct mh_daemon *d, struct gw *g)
{
	uint64_t now = mh_now_ms();
	int r = mh_tls_handshake(g->tls);

	if (r == -EAGAIN)
		return;
	if (r < 0) {
		gw_down(d, g, "%s", mh_tls_error(g->tls));
		return;
	}
	g->state = GW_UP;
	g->ctr = 0;
	g->last_rx_ms = g->since_ms = now;
	g->next_hb_ms = now + d->cfg.relay_heartbeat * 1000;
	send_hello(d, g);
	if (g->state == GW_UP)
		send_resync(d, g);
}

/* ---- answers in ---- */

static void on_open_answer(struct mh_daemon *d, struct gw *g,
			   const struct sent *e, const struct mhr_answer *a)
{
	unsigned gi = gw_index(d->relay, g);
	struct pend *p = pend_find(d->relay, e->port, e->sid);

	if (!p && a->status != MHR_ST_OK)
		log_warn("relay: gateway %s refused session %u port %u: %s (%s)",
			 g->name, e->sid, e->port, a->reason, mhr_status_name(a->status));
	if (!p || p->resolving || p->st[gi] != MH_GWA_WAIT)
		return;
	p->st[gi] = a->status == MHR_ST_OK ? MH_GWA_OK : MH_GWA_REFUSED;
	snprintf(p->why[gi], WHY_LEN, "refused: %s (%s)",
		 a->reason[0] ? a->reason : "no reason given",
		 mhr_status_name(a->status));
	decide(d, p, false);
}

static void on_answer(struct mh_daemon *d, struct gw *g, const struct mhr_msg *m)
{
	const struct mhr_answer *a = &m->u.answer;
	struct sent e;

	if (m->type != MHR_ANSWER) {
		gw_down(d, g, "gateway sent a %s frame (a gateway only answers)",
			mhr_type_name(m->type));
		return;
	}
	if (!sent_take(g, m->id, &e) || e.type != a->of_type) {
		gw_down(d, g, "gateway answered frame %u (%s), which was not sent or "
			"is answered already", m->id, mhr_type_name(a->of_type));
		return;
	}
	if (e.type == MHR_OPEN) {
		on_open_answer(d, g, &e, a);
	} else if (e.type == MHR_HELLO && a->status != MHR_ST_OK) {
		gw_down(d, g, "gateway refused HELLO: %s (%s)", a->reason,
			mhr_status_name(a->status));
	} else if (e.type == MHR_HELLO) {
		g->failures = 0;
	} else if (a->status != MHR_ST_OK) {
		log_warn("relay: gateway %s answered %s %u with %s: %s", g->name,
			 mhr_type_name(e.type), e.sid, mhr_status_name(a->status),
			 a->reason);
	}
}

/* Whole frames out of g->in; false once the connection went down. */
static bool frames(struct mh_daemon *d, struct gw *g)
{
	struct mhr_error e;
	struct mhr_msg m;
	size_t len;

	while (g->state == GW_UP && g->in_len) {
		if (mhr_frame_len(g->in, g->in_len, &len, &e) < 0 ||
		    (len && mhr_decode(g->in, len, &m, &e) < 0)) {
			gw_down(d, g, "gateway sent a malformed frame: %s (%s)", e.why,
				mhr_err_name(e.code));
			return false;
		}
		if (!len)
			break;
		memmove(g->in, g->in + len, g->in_len - len);
		g->in_len -= len;
		on_answer(d, g, &m);
	}
	return g->state == GW_UP;
}

static void gw_read(struct mh_daemon *d, struct gw *g)
{
	ssize_t n;

	while (g->state == GW_UP) {
		n = mh_tls_read(g->tls, g->in + g->in_len, sizeof(g->in) - g->in_len);
		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			gw_down(d, g, "%s", n == 0 ? "gateway closed the connection"
					       : mh_tls_error(g->tls));
			return;
		}
		g->in_len += (size_t)n;
		g->last_rx_ms = mh_now_ms();
		if (!frames(d, g))
			return;
	}
}

void mh_relay_input(struct mh_daemon *d, unsigned idx)
{
	struct gw *g;

	if (!d->relay || idx >= d->relay->n)
		return;
	g = &d->relay->gw[idx];
	if (g->state == GW_CONNECTING)
		gw_start_tls(d, g);
	if (g->state == GW_HANDSHAKE)
		gw_handshake(d, g);
	if (g->state == GW_UP && flush(d, g) == 0)
		gw_read(d, g);
	want(d, g);
	flush_all(d);
}

/* ---- time ---- */

static void gw_tick(struct mh_daemon *d, struct gw *g, uint64_t now)
{
	uint64_t hb = (uint64_t)d->cfg.relay_heartbeat * 1000;
	struct mhr_msg m = { .type = MHR_HEARTBEAT };

	if (g->state == GW_IDLE && now >= g->retry_ms) {
		gw_connect(d, g);
	} else if ((g->state == GW_CONNECTING || g->state == GW_HANDSHAKE) &&
		   now >= g->deadline_ms) {
		gw_down(d, g, "no TLS connection within %u ms", CONNECT_TIMEOUT_MS);
	} else if (g->state == GW_UP && now - g->last_rx_ms > 3 * hb + hb / 2) {
		gw_down(d, g, "gateway silent for %llu ms (3 heartbeats)",
			(unsigned long long)(now - g->last_rx_ms));
	} else if (g->state == GW_UP && now >= g->next_hb_ms) {
		m.u.heartbeat_ms = now;
		g->next_hb_ms = now + hb;
		queue(d, g, &m, 0, 0);
	}
}

void mh_relay_timer(struct mh_daemon *d)
{
	uint64_t ticks, now = mh_now_ms();
	struct mh_relay_rt *r = d->relay;

	if (!r || read(r->timerfd, &ticks, sizeof(ticks)) < 0)
		return;
	for (unsigned i = 0; i < r->n; i++)
		gw_tick(d, &r->gw[i], now);
	for (unsigned i = 0; i < MH_MAX_CONNS; i++)
		if (r->pend[i].used && !r->pend[i].resolving &&
		    now >= r->pend[i].deadline_ms)
			decide(d, &r->pend[i], true);
	flush_all(d);
}

/* ---- sessions ---- */

static struct pend *pend_new(struct mh_relay_rt *r)
{
	for (unsigned i = 0; i < MH_MAX_CONNS; i++)
		if (!r->pend[i].used)
			return &r->pend[i];
	return NULL;
}

/* The OPEN to each gateway: sent now to those up, carried by the resync
 * of those connecting, and a gateway down counts as one that cannot. */
static void announce_all(struct mh_daemon *d, struct pend *p,
			 const struct mh_relay_sess *rs)
{
	for (unsigned i = 0; i < d->relay->n; i++) {
		struct gw *g = &d->relay->gw[i];

		p->st[i] = MH_GWA_WAIT;
		if (g->state == GW_UP)
			send_open(d, g, rs, false);
		if (g->state == GW_IDLE) {
			p->st[i] = MH_GWA_DOWN;
			snprintf(p->why[i], WHY_LEN, "unreachable: %.270s",
				 g->err[0] ? g->err : "not connected");
		}
	}
}

int mh_relay_announce(struct mh_daemon *d, struct mh_session *s,
		      const struct mh_relay_waiter *w, char *why, size_t whylen)
{
	struct mh_relay_rt *r = d->relay;
	struct mh_relay_sess rs;
	struct pend *p = pend_new(r);
	unsigned c;

	if (!p || sess_of(r, s, &rs, why, whylen) < 0) {
		if (!p)
			snprintf(why, whylen, "too many announcements wait for the gateways");
		log_warn("relay: session %u port %u refused: %s", s->id, s->port, why);
		mh_life_end(d, s, MH_END_REFUSED, why);
		return -ECONNREFUSED;
	}
	memset(p, 0, sizeof(*p));
	p->used = p->announcing = true;
	p->w = *w;
	p->sid = s->id;
	p->deadline_ms = mh_now_ms() + d->cfg.gateway_timeout;
	announce_all(d, p, &rs);   /* written when epoll says so: never answered here */
	OPENSSL_cleanse(&rs, sizeof(rs));
	p->announcing = false;
	if (mh_ack_decide(d->cfg.gateway_ack, p->st, r->n, false, &c) == MH_AV_REFUSE) {
		refuse(d, p, c, why, whylen);
		memset(p, 0, sizeof(*p));
		return -ECONNREFUSED;
	}
	return 0;
}

/* mh_life_end's listener: END to each gateway up (not to one that refused
 * the session), and a waiting hook told the session is gone. */
static void session_end(struct mh_daemon *d, const struct mh_session *s,
			enum mh_end why)
{
	struct mh_relay_rt *r = d->relay;
	struct pend *p = pend_find(r, s->port, s->id);
	struct mh_relay_sess rs;
	struct mhr_msg m = { .type = MHR_END };
	char line[200];

	if (sess_of(r, s, &rs, line, sizeof(line)) == 0) {
		m.u.end.sid = s->id;
		m.u.end.server = rs.server;
		m.u.end.reason = mh_relay_end_reason(why);
		OPENSSL_cleanse(&rs, sizeof(rs));
		for (unsigned i = 0; i < r->n; i++)
			if (r->gw[i].state == GW_UP && !(p && p->st[i] == MH_GWA_REFUSED))
				queue(d, &r->gw[i], &m, s->port, s->id);
	}
	if (p && !p->resolving) {
		snprintf(line, sizeof(line), "the session ended before the gateways "
			 "answered: %s", mh_end_text(why));
		pend_done(d, p, MHC_ERR_GATEWAY, line);
	}
}

/* ---- start and stop ---- */

/* A gateway's address and port, for its connection and for the table's
 * guard of its listener (*guard) */
static int gw_parse(struct gw *g, struct mh_nft_endpoint *guard,
		    const char *text)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&g->sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&g->sa;
	struct mh_addr a = { 0 };

	g->fd = -1;
	if (mh_config_parse_gateway(text, &a.family, a.ip, &a.port) < 0)
		return -EINVAL;
	*guard = (struct mh_nft_endpoint){ .family = a.family, .port = a.port };
	memcpy(guard->ip, a.ip, sizeof(guard->ip));
	mh_addr_str(&a, g->name, sizeof(g->name));
	memset(&g->sa, 0, sizeof(g->sa));
	if (a.family == AF_INET) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(a.port);
		memcpy(&s4->sin_addr, a.ip, 4);
		g->salen = sizeof(*s4);
	} else {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a.port);
		memcpy(&s6->sin6_addr, a.ip, 16);
		g->salen = sizeof(*s6);
	}
	return 0;
}

/* relay_name, or the host name made fit for the wire ([A-Za-z0-9._-]). */
static void relay_name(const struct mh_config *c, char *name, size_t len)
{
	char host[256] = "";

	if (c->relay_name[0]) {
		snprintf(name, len, "%s", c->relay_name);
		return;
	}
	gethostname(host, sizeof(host) - 1);
	for (char *p = host; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			*p = '-';
	snprintf(name, len, "%s", host[0] ? host : "relay");
}

/* Our certificate and relay_addresses: each configured address must be
 * one the gateways will accept from us. */
static int own_addresses(struct mh_daemon *d, char *err, size_t errlen)
{
	struct mh_relay_rt *r = d->relay;
	char e[MH_TLS_ERR_MAX];
	int ret = mh_tls_peer_load(d->cfg.tls_cert, &r->self, e, sizeof(e));

	if (ret < 0) {
		snprintf(err, errlen, "relay: tls_cert: %s", e);
		return ret;
	}
	if (!r->self.n_addrs) {
		snprintf(err, errlen, "relay: certificate %s (%s) names no IP address "
			 "(subjectAltName IP:...): every gateway would refuse every "
			 "session", d->cfg.tls_cert, r->self.subject);
		return -EINVAL;
	}
	for (unsigned i = 0; i < d->cfg.n_relay_addresses; i++) {
		const char *t = d->cfg.relay_addresses[i];
		struct mh_addr *a = &r->conf[r->n_conf++];

		memset(a, 0, sizeof(*a));
		a->family = strchr(t, ':') ? AF_INET6 : AF_INET;
		if (inet_pton(a->family, t, a->ip) != 1 ||
		    !mh_tls_may_announce(&r->self, a, e, sizeof(e))) {
			snprintf(err, errlen, "relay: relay_addresses: %s is not in this "
				 "relay's certificate %s (%s)", t, d->cfg.tls_cert,
				 r->self.subject);
			return -EINVAL;
		}
	}
	return 0;
}

static int tls_setup(struct mh_daemon *d, char *err, size_t errlen)
{
	const struct mh_config *c = &d->cfg;
	struct mh_tls_files f = { c->tls_ca, c->tls_cert, c->tls_key,
				  c->tls_crl[0] ? c->tls_crl : NULL };
	char e[MH_TLS_ERR_MAX];

	d->relay->ctx = mh_tls_ctx_new(MH_TLS_RELAY, &f, e, sizeof(e));
	if (!d->relay->ctx) {
		snprintf(err, errlen, "relay: TLS: %s", e);
		return -EINVAL;
	}
	return own_addresses(d, err, errlen);
}

static int timer_open(struct mh_daemon *d)
{
	struct itimerspec its = {
		.it_interval = { 0, TICK_MS * 1000000L },
		.it_value = { 0, TICK_MS * 1000000L },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	d->relay->timerfd = fd;
	if (fd < 0 || timerfd_settime(fd, 0, &its, NULL) < 0)
		return -errno;
	return mh_epoll_add(d, fd, EV_TAG(EV_RELAY_TIMER, 0));
}

int mh_relay_open(struct mh_daemon *d, char *err, size_t errlen)
{
	struct mh_relay_rt *r = calloc(1, sizeof(*r));
	int ret;

	if (!r) {
		snprintf(err, errlen, "relay: out of memory");
		return -ENOMEM;
	}
	d->relay = r;
	r->timerfd = -1;
	for (unsigned i = 0; i < d->cfg.n_gateways; i++, r->n++) {
		if (gw_parse(&r->gw[r->n], &d->relay_guard[r->n],
			     d->cfg.gateways[i]) < 0) {
			snprintf(err, errlen, "relay: gateway \"%s\" is not ADDR:PORT",
				 d->cfg.gateways[i]);
			return -EINVAL;
		}
		d->n_relay_guard = r->n + 1;
	}
	if ((ret = tls_setup(d, err, errlen)) < 0)
		return ret;
	if ((ret = timer_open(d)) < 0) {
		snprintf(err, errlen, "relay: timer: %s", strerror(-ret));
		return ret;
	}
	relay_name(&d->cfg, r->name, sizeof(r->name));
	RAND_bytes((unsigned char *)&r->instance, sizeof(r->instance));
	d->on_session_end = session_end;
	log_info("relay %s: %u gateway(s), ack %s, gateway_timeout %u ms; "
		 "certificate %s with %u address(es)", r->name, r->n,
		 d->cfg.gateway_ack == MH_ACK_ANY ? "any" : "all",
		 d->cfg.gateway_timeout, r->self.subject, r->self.n_addrs);
	return 0;
}

void mh_relay_connect(struct mh_daemon *d)
{
	struct mh_relay_rt *r = d->relay;

	for (unsigned i = 0; r && i < r->n; i++) {
		r->gw[i].since_ms = mh_now_ms();
		gw_connect(d, &r->gw[i]);
	}
}

int mh_relay_peer(const struct mh_daemon *d, unsigned i, uint64_t now_ms,
		  struct mhc_peer_info *p)
{
	const struct gw *g;

	memset(p, 0, sizeof(*p));
	if (!d->relay || i >= d->relay->n)
		return -ENOENT;
	g = &d->relay->gw[i];
	p->state = g->state == GW_UP ? MHC_PEER_UP : MHC_PEER_DOWN;
	p->since_ago_ms = now_ms - g->since_ms;
	p->beat_ago_ms = g->state == GW_UP ? now_ms - g->last_rx_ms : MHC_NEVER;
	p->sessions = g->state == GW_UP ? d->sessions.count : MHC_UNCOUNTED;
	snprintf(p->name, sizeof(p->name), "%s", g->name);
	if (g->state == GW_UP)
		snprintf(p->subject, sizeof(p->subject), "%.*s", MHC_PEER_SUBJ_MAX,
			 mh_tls_peer(g->tls)->subject);
	else
		snprintf(p->why, sizeof(p->why), "%.*s%s", MHC_PEER_WHY_MAX - 20,
			 g->err[0] ? g->err :
			 "not connected yet", g->state == GW_IDLE ? "" :
			 " (connecting again)");
	return 0;
}

void mh_relay_close(struct mh_daemon *d)
{
	struct mh_relay_rt *r = d->relay;

	if (!r)
		return;
	for (unsigned i = 0; i < r->n; i++)
		gw_reset(&r->gw[i]);
	if (r->timerfd >= 0)
		close(r->timerfd);
	mh_tls_ctx_free(r->ctx);
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
	d->relay = NULL;
	d->on_session_end = NULL;
}
