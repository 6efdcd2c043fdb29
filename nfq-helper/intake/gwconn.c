/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One relay connection in the unprivileged relay listener: the TLS
 * handshake, bounded input framed and decoded (relaywire.h), HEARTBEAT
 * answered here (the daemon hears of heartbeats, two a second at most, for
 * mosh-helperctl status), HELLO by the daemon (a refused one closes the
 * connection once its answer is written), OPEN and END checked against
 * the relay certificate's IP SANs, the rest handed to the daemon (HELLO
 * alone; once it is accepted, up to GWC_WINDOW frames at a time, answered
 * in order), bounded output, deadlines.
 * Whatever a relay sends ends, at worst, its own connection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "gwlisten_int.h"
#include "gwtable.h"
#include "proc.h"
#include "relaysync.h"

#define BEAT_EVERY_MS 500   /* BEATs to the daemon, per relay, at most */

static void rearm(struct gwl *l, struct gwc *c);

/* One more frame with the daemon; the wait for its answers starts now if
 * none was pending. */
static void waiting(struct gwc *c)
{
	if (!c->pending++)
		c->answer_ms = mh_now_ms();
}

bool gwl_noise_ok(struct gwl *l, enum gwl_noise kind, const char *who)
{
	if (mh_ratelimit_ok(&l->noise[kind], mh_now_ms()))
		return true;
	snprintf(l->noise_who, sizeof(l->noise_who), "%.*s",
		 (int)sizeof(l->noise_who) - 1, who);
	return false;
}

/* A message to the daemon (also the listener's READY). */
int gwl_send(struct gwl *l, const struct mh_gwp *p)
{
	uint8_t buf[MH_GWP_MAX];
	ssize_t n = mh_gwp_encode(p, buf, sizeof(buf));
	int err = 0;

	if (n < 0)
		err = (int)n;
	else if (send(l->sock, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		err = -errno;
	OPENSSL_cleanse(buf, sizeof(buf));
	return err;
}

/* The next connection id: never 0 (no relay) and never one an open
 * connection holds (after 2^32 connections the counter comes round, and
 * a reused id would have the daemon take one relay's DOWN for another's). */
static uint32_t next_id(struct gwl *l)
{
	for (;;) {
		uint32_t id = ++l->next_id;
		unsigned i;

		if (!id)
			continue;
		for (i = 0; i < l->max; i++)
			if ((l->conns[i] && l->conns[i]->id == id) || l->down[i] == id)
				break;
		if (i == l->max)
			return id;
	}
}

bool gwl_flush_downs(struct gwl *l)
{
	for (unsigned i = 0; i < l->max; i++) {
		struct mh_gwp p = { .kind = MH_GWP_DOWN, .relay = l->down[i] };

		if (!p.relay)
			continue;
		if (gwl_send(l, &p) < 0)
			return false;
		l->down[i] = 0;
	}
	return true;
}

int gwl_free_slot(struct gwl *l)
{
	gwl_flush_downs(l);
	for (unsigned i = 0; i < l->max; i++)
		if (!l->conns[i] && !l->down[i])
			return (int)i;
	return -1;
}

void gwc_open(struct gwl *l, int fd, const char *peer,
	      const struct gwl_src *src, unsigned slot)
{
	struct gwc *c = calloc(1, sizeof(*c));
	char err[MH_TLS_ERR_MAX];

	if (!c || !(c->t = mh_tls_conn_new(l->tls, fd, err, sizeof(err)))) {
		if (gwl_noise_ok(l, GWL_NOISE_REFUSED, peer))
			log_warn("relay connection from %s refused: %s", peer,
				 c ? err : "out of memory");
		free(c);
		close(fd);
		return;
	}
	c->id = next_id(l);
	c->slot = slot;
	c->src = *src;
	c->fd = fd;
	c->state = GWC_HANDSHAKE;
	c->deadline_ms = mh_now_ms() + l->hs_ms;
	snprintf(c->name, sizeof(c->name), "relay #%u from %s", c->id, peer);
	l->conns[slot] = c;
	l->n_open++;
	log_debug("%s: connected (%u open)", c->name, l->n_open);
	rearm(l, c);
	gwc_service(l, c);
}

void gwc_close(struct gwl *l, struct gwc *c, const char *why)
{
	struct mh_gwp p = { .kind = MH_GWP_DOWN, .relay = c->id };

	/* before the handshake, the caller has said why (within its budget) */
	if (c->state != GWC_HANDSHAKE)
		log_info("%s: connection closed: %s", c->name, why);
	gwl_flush_downs(l);   /* earlier ones first */
	if (c->was_up && gwl_send(l, &p) < 0) {
		/* the daemon is behind (the socketpair full): a lost DOWN would
		 * leave this relay up there on a dead connection, and refused
		 * until the gateway restarts. Kept, and the slot with it. */
		l->down[c->slot] = c->id;
		log_warn("%s: the daemon is behind; its DOWN is sent when it "
			 "catches up", c->name);
	}
	mh_tls_close(c->t);
	mh_tls_conn_free(c->t);
	close(c->fd);           /* also leaves the epoll set */
	l->conns[c->slot] = NULL;
	l->n_open--;
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

/* Room for one more frame: none with the daemon, or (HELLO accepted)
 * fewer than the window; and out has room for all their answers. */
static bool may_take(const struct gwc *c)
{
	return (!c->pending || (c->greeted && c->pending < GWC_WINDOW)) &&
	       c->out_len <= GWC_OUT_CAP / 2;
}

/* What epoll should wake this connection for. */
static uint32_t wanted(const struct gwc *c)
{
	uint32_t ev = 0;

	if (c->state == GWC_HANDSHAKE)
		return mh_tls_wants(c->t) ? mh_tls_wants(c->t) : EPOLLIN;
	if (c->out_len)
		ev |= EPOLLOUT;
	if (c->state != GWC_CLOSING && may_take(c))
		ev |= EPOLLIN;
	return ev;
}

static void rearm(struct gwl *l, struct gwc *c)
{
	uint32_t ev = wanted(c);
	struct epoll_event e = { .events = ev,
				 .data.u64 = (uint64_t)c->id << 32 | (c->slot + 2) };

	if (c->registered && ev == c->events)
		return;
	if (epoll_ctl(l->epfd, c->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd,
		      &e) < 0)
		log_warn("%s: epoll: %s", c->name, strerror(errno));
	c->registered = true;
	c->events = ev;
}

/* ---- output ---- */

/* 0, or -1 when the connection failed (closed here). */
static int flush_out(struct gwl *l, struct gwc *c)
{
	while (c->out_len) {
		ssize_t n = mh_tls_write(c->t, c->out, c->out_len);
		char why[MH_TLS_ERR_MAX + 32];

		if (n == -EAGAIN)
			return 0;
		if (n <= 0) {
			snprintf(why, sizeof(why), "writing: %s", mh_tls_error(c->t));
			gwc_close(l, c, why);
			return -1;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	return 0;
}

/* Queues an answer frame. false: the relay does not read its answers. */
static bool queue_answer(struct gwc *c, const struct mhr_msg *ans)
{
	ssize_t n = mhr_encode(ans, c->out + c->out_len, GWC_OUT_CAP - c->out_len);

	return n > 0 && (c->out_len += (size_t)n, true);
}

static void answer(struct gwc *c, uint8_t type, uint32_t id, uint8_t status,
		   const char *reason)
{
	struct mhr_msg a;

	if (mhr_answer(&a, type, id, status, reason) < 0)
		mhr_answer(&a, type, id, status, "");
	if (!queue_answer(c, &a)) {   /* answers pile up: it is not reading */
		log_warn("%s: %zu bytes of answers unread; connection closed",
			 c->name, c->out_len);
		c->state = GWC_CLOSING;
		c->deadline_ms = mh_now_ms() + GWC_CLOSE_MS;
	}
}

/* An answer, and the connection closes once it is written. */
static void answer_close(struct gwc *c, uint8_t type, uint32_t id,
			 uint8_t status, const char *reason)
{
	answer(c, type, id, status, reason);
	c->state = GWC_CLOSING;
	c->deadline_ms = mh_now_ms() + GWC_CLOSE_MS;
}

/* ---- frames ---- */

static void protocol_error(struct gwc *c, const struct mhr_error *e)
{
	char why[MHR_REASON_MAX + 1];
	uint8_t st = e->code == MHR_E_VERSION ? MHR_ST_VERSION : MHR_ST_PROTOCOL;
	uint8_t type = e->type >= MHR_HELLO && e->type <= MHR_TYPE_MAX ? e->type : 0;

	snprintf(why, sizeof(why), "frame refused: %s (%s)",
		 e->why ? e->why : "does not decode", mhr_err_name(e->code));
	log_warn("%s: %s; connection closed", c->name, why);
	answer_close(c, type, e->id, st, why);
}

static void hello(struct gwl *l, struct gwc *c, const struct mhr_msg *m)
{
	struct mh_gwp p = { .kind = MH_GWP_UP, .relay = c->id, .msg = *m };
	unsigned n = c->peer.n_addrs < MH_GWP_ADDRS_MAX ? c->peer.n_addrs
							: MH_GWP_ADDRS_MAX;

	snprintf(p.subject, sizeof(p.subject), "%s", c->peer.subject);
	p.n_addrs = n;
	memcpy(p.addrs, c->peer.addrs, n * sizeof(p.addrs[0]));
	/* no UP before a DOWN still waiting: the daemon would refuse a
	 * relay reconnecting while its old connection still counts as up */
	if (!gwl_flush_downs(l)) {
		answer_close(c, MHR_HELLO, m->id, MHR_ST_INTERNAL, "gateway busy");
		return;
	}
	if (gwl_send(l, &p) < 0) {
		answer_close(c, MHR_HELLO, m->id, MHR_ST_INTERNAL,
			     "gateway daemon unreachable");
		return;
	}
	c->was_up = true;
	c->state = GWC_UP;
	waiting(c);             /* the daemon answers HELLO (gwc_answered) */
	c->hb_ms = m->u.hello.heartbeat_ms;
	log_info("%s: relay %s (%s, software \"%s\"), heartbeat %u ms",
		 c->name, m->u.hello.name, c->peer.subject, m->u.hello.software,
		 c->hb_ms);
}

/* OPEN and END: only for a server address the certificate names; an
 * OPEN of the other keyless mode is refused here too (the daemon checks
 * again), so a keyless gateway's privileged daemon never gets a key. */
static bool announce_ok(const struct gwl *l, struct gwc *c,
			const struct mhr_msg *m)
{
	const struct mh_addr *a = m->type == MHR_OPEN ? &m->u.open.server
						      : &m->u.end.server;
	char why[MHR_REASON_MAX + 1];
	const char *mode;

	if (m->type != MHR_OPEN && m->type != MHR_END)
		return true;
	if (m->type == MHR_OPEN && (mode = mh_gwt_mode_why(l->keyless, &m->u.open)))
		snprintf(why, sizeof(why), "%s", mode);
	else if (mh_tls_may_announce(&c->peer, a, why, sizeof(why)))
		return true;
	log_warn("%s: %s refused: %s", c->name, mhr_type_name(m->type), why);
	answer(c, m->type, m->id, MHR_ST_NOT_ALLOWED, why);
	return false;
}

static void forward(struct gwl *l, struct gwc *c, const struct mhr_msg *m)
{
	struct mh_gwp p = { .kind = MH_GWP_MSG, .relay = c->id, .msg = *m };
	int err = gwl_send(l, &p);

	mh_gwp_wipe(&p);
	if (err < 0) {
		log_warn("%s: %s id %u not passed to the daemon: %s", c->name,
			 mhr_type_name(m->type), m->id, strerror(-err));
		answer(c, m->type, m->id, MHR_ST_INTERNAL, "gateway busy");
		return;
	}
	waiting(c);
}

/* The daemon hears of a relay's heartbeats (mosh-helperctl status shows
 * the last one), at most two a second whatever the relay sends. */
static void beat(struct gwl *l, struct gwc *c)
{
	struct mh_gwp p = { .kind = MH_GWP_BEAT, .relay = c->id };
	uint64_t now = mh_now_ms();

	if (!c->was_up || now - c->beat_ms < BEAT_EVERY_MS)
		return;
	c->beat_ms = now;
	gwl_send(l, &p);
}

static void frame(struct gwl *l, struct gwc *c, const struct mhr_msg *m)
{
	if (m->type == MHR_ANSWER) {
		struct mhr_error e = { .code = MHR_E_TYPE, .type = m->type, .id = m->id,
				       .why = "ANSWER is the gateway's to send" };

		protocol_error(c, &e);
	} else if (c->state == GWC_HELLO) {
		if (m->type == MHR_HELLO)
			hello(l, c, m);
		else
			answer(c, m->type, m->id, MHR_ST_STATE, "HELLO first");
	} else if (m->type == MHR_HELLO) {
		answer(c, m->type, m->id, MHR_ST_STATE, "HELLO already received");
	} else if (m->type == MHR_HEARTBEAT) {
		answer(c, m->type, m->id, MHR_ST_OK, "");
		beat(l, c);
	} else if (announce_ok(l, c, m)) {
		forward(l, c, m);
	}
}

/* The frames in c->in, until one waits for the daemon. */
static void take_frames(struct gwl *l, struct gwc *c)
{
	while (may_take(c) && c->state != GWC_CLOSING) {
		struct mhr_error e;
		struct mhr_msg m;
		size_t flen;

		if (mhr_frame_len(c->in, c->in_len, &flen, &e) < 0 ||
		    (flen && mhr_decode(c->in, flen, &m, &e) < 0)) {
			protocol_error(c, &e);
			break;
		}
		if (!flen)
			break;
		c->last_ms = mh_now_ms();
		frame(l, c, &m);
		mhr_msg_wipe(&m);
		OPENSSL_cleanse(c->in, flen);
		memmove(c->in, c->in + flen, c->in_len - flen);
		c->in_len -= flen;
	}
}

/* Reads what TLS has: 1 more may come, 0 would block, -1 closed here. */
static int read_some(struct gwl *l, struct gwc *c)
{
	ssize_t n = mh_tls_read(c->t, c->in + c->in_len, GWC_IN_CAP - c->in_len);
	char why[MH_TLS_ERR_MAX + 32];

	if (n > 0) {
		c->in_len += (size_t)n;
		return 1;
	}
	if (n == -EAGAIN)
		return 0;
	if (n == 0)
		snprintf(why, sizeof(why), "the relay closed it");
	else
		snprintf(why, sizeof(why), "%s", mh_tls_error(c->t));
	gwc_close(l, c, why);
	return -1;
}

static int handshake(struct gwl *l, struct gwc *c)
{
	int r = mh_tls_handshake(c->t);
	char why[MH_TLS_ERR_MAX + 32];

	if (r == -EAGAIN)
		return 0;
	if (r < 0) {
		snprintf(why, sizeof(why), "refused: %s", mh_tls_error(c->t));
		if (gwl_noise_ok(l, GWL_NOISE_HANDSHAKE, c->name))
			log_warn("%s: %s", c->name, why);
		gwc_close(l, c, why);
		return -1;
	}
	c->peer = *mh_tls_peer(c->t);
	c->state = GWC_HELLO;
	snprintf(c->name + strlen(c->name), sizeof(c->name) - strlen(c->name),
		 " (%.200s)", c->peer.subject);
	log_info("%s: TLS 1.3 established, %u server address%s in its certificate",
		 c->name, c->peer.n_addrs, c->peer.n_addrs == 1 ? "" : "es");
	return 1;
}

/* Reads and frames until nothing more can be done now. -1: closed. */
static int pump(struct gwl *l, struct gwc *c)
{
	int r = 1;

	while (r > 0 && c->state != GWC_CLOSING && may_take(c)) {
		if (c->in_len < GWC_IN_CAP && (r = read_some(l, c)) < 0)
			return -1;
		take_frames(l, c);
		if (c->in_len >= GWC_IN_CAP)
			break;   /* cannot happen: a full buffer holds a frame */
	}
	return 0;
}

void gwc_service(struct gwl *l, struct gwc *c)
{
	int r = c->state == GWC_HANDSHAKE ? handshake(l, c) : 1;

	if (r < 0)
		return;
	if (r == 0) {
		rearm(l, c);
		return;
	}
	if (pump(l, c) < 0 || flush_out(l, c) < 0)
		return;
	if (c->state == GWC_CLOSING && !c->out_len) {
		gwc_close(l, c, "after its last answer");
		return;
	}
	rearm(l, c);
}

/* The daemon's answer to the frame this connection forwarded. */
void gwc_answered(struct gwl *l, struct gwc *c, const struct mhr_msg *ans)
{
	if (!c->pending) {
		log_warn("%s: an answer from the daemon nobody waits for; dropped",
			 c->name);
		return;
	}
	c->pending--;
	c->answer_ms = mh_now_ms();
	if (ans->u.answer.of_type == MHR_HELLO)
		c->greeted = ans->u.answer.status == MHR_ST_OK;
	if (c->state != GWC_CLOSING && !queue_answer(c, ans)) {
		log_warn("%s: %zu bytes of answers unread; connection closed",
			 c->name, c->out_len);
		c->state = GWC_CLOSING;
		c->deadline_ms = mh_now_ms() + GWC_CLOSE_MS;
	} else if (ans->u.answer.of_type == MHR_HELLO &&
		   ans->u.answer.status != MHR_ST_OK) {
		log_warn("%s: HELLO refused by the gateway: %s; connection closed",
			 c->name, ans->u.answer.reason);
		c->state = GWC_CLOSING;
		c->deadline_ms = mh_now_ms() + GWC_CLOSE_MS;
	}
	gwc_service(l, c);
}

/* Frames already waiting count: the listener itself may have been slow
 * (stopped, starved). Whether c has received a frame just now (false
 * also when c closed: the caller must not touch it then). */
static bool drained(struct gwl *l, struct gwc *c)
{
	uint32_t id = c->id;
	unsigned slot = c->slot;
	uint64_t before = c->last_ms;

	gwc_service(l, c);
	c = l->conns[slot];
	return !c || c->id != id || c->last_ms != before;
}

/* Deadlines: handshake and HELLO, three heartbeats of silence, the last
 * flush of a closing connection. */
void gwc_tick(struct gwl *l, struct gwc *c, uint64_t now_ms)
{
	char why[160];

	if (c->state == GWC_UP) {
		/* frames with the daemon and no answer for long: the daemon
		 * dropped them (it drops an answer it cannot send at once),
		 * and while they count the relay is not read, nor judged
		 * silent; closed, so that the relay connects again and resyncs */
		if (c->pending && now_ms - c->answer_ms > GWC_ANSWER_MS) {
			snprintf(why, sizeof(why), "%u frames with the gateway daemon "
				 "unanswered for %u s", c->pending,
				 GWC_ANSWER_MS / 1000);
			log_warn("%s: %s", c->name, why);
			gwc_close(l, c, why);
			return;
		}
		if (!c->pending && mh_rsync_silent(c->last_ms, c->hb_ms, now_ms) &&
		    !drained(l, c)) {
			snprintf(why, sizeof(why), "silent for %llu ms, more than three "
				 "heartbeats of %u ms",
				 (unsigned long long)(now_ms - c->last_ms), c->hb_ms);
			log_warn("%s: %s", c->name, why);
			gwc_close(l, c, why);
		}
		return;
	}
	if (now_ms < c->deadline_ms)
		return;
	if (c->state == GWC_CLOSING) {
		gwc_close(l, c, "its last answer could not be written in time");
		return;
	}
	snprintf(why, sizeof(why), "no %s within relay_handshake_timeout (%llu s): "
		 "slow or stalled peer", c->state == GWC_HANDSHAKE ?
		 "TLS handshake" : "HELLO after the handshake",
		 (unsigned long long)(l->hs_ms / 1000));
	if (c->state != GWC_HANDSHAKE || gwl_noise_ok(l, GWL_NOISE_HANDSHAKE, c->name))
		log_warn("%s: %s", c->name, why);
	gwc_close(l, c, why);
}
