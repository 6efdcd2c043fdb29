/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Session tracking for mosh-helper-review: finds the session (server
 * address and port) of each UDP datagram, its key by the server's address
 * and port (a gateway's key line) or by its port alone (a host's), decodes
 * it with the key, asks judge.c for the daemon's verdict, and follows the
 * story: first contact and reply, roams and port hops, heartbeat intervals
 * and gaps (the sequence-number notes come from seq.c).
 */
#include <stdlib.h>
#include <string.h>

#include "review.h"

void rv_review_init(struct rv_review *r, const struct rv_opts *o,
		    struct rv_keys *keys)
{
	memset(r, 0, sizeof(*r));
	r->o = o;
	r->keys = keys;
	r->pol.candidate_lifetime_ms = o->candidate_lifetime_s * 1000;
	r->pol.idle_timeout_ms = o->idle_timeout_s * 1000;
	r->pol.kl.rate = o->keyless_rate;
	r->pol.kl.candidate_lifetime_ms = r->pol.candidate_lifetime_ms;
	r->tail = &r->head;
	r->key_ports = keys->ports;
	/* as the daemon's lifecycle starts a session: a full budget */
	for (size_t i = 0; i < keys->n; i++)
		mh_keyless_init(&keys->v[i]->mh->kl, &r->pol.kl, 0);
}

/* ---- storage -------------------------------------------------------------- */

static void add_interval(struct rv_review *r, struct rv_session *s, rv_time dt)
{
	if (s->n_intervals == s->cap_intervals) {
		size_t cap = s->cap_intervals ? s->cap_intervals * 2 : 8;
		rv_time *v = realloc(s->intervals, cap * sizeof(*v));

		if (!v) {
			r->oom = true;
			return;
		}
		s->intervals = v;
		s->cap_intervals = cap;
	}
	s->intervals[s->n_intervals++] = dt;
}

static int time_cmp(const void *a, const void *b)
{
	rv_time x = *(const rv_time *)a, y = *(const rv_time *)b;

	return (x > y) - (x < y);
}

static rv_time session_median(struct rv_session *s)
{
	size_t n = s->n_intervals;

	if (n == 0)
		return 0;
	qsort(s->intervals, n, sizeof(rv_time), time_cmp);
	return n % 2 ? s->intervals[n / 2] :
		       (s->intervals[n / 2 - 1] + s->intervals[n / 2]) / 2;
}

/* ---- the client's side of the story ------------------------------------- */

static void note_gap(struct rv_review *r, struct rv_session *s,
		     const struct rv_dgram *d, rv_time ts)
{
	rv_time dt = ts - s->last_client_ts;
	struct rv_event *e;

	add_interval(r, s, dt);
	if (dt <= (rv_time)RV_GAP_HEARTBEATS * MOSH_HEARTBEAT_MS * 1000)
		return;
	e = rv_event_add(r, s, RV_EV_GAP, ts);
	if (e) {
		e->u.gap.client = d->peer;
		e->u.gap.from = s->last_client_ts;
		e->u.gap.len = dt;
	}
	s->gaps++;
}

static void note_roam(struct rv_review *r, struct rv_session *s,
		      const struct rv_dgram *d, rv_time ts)
{
	struct rv_event *e = rv_event_add(r, s, RV_EV_ROAM, ts);

	if (e) {
		e->u.roam.from = s->client;
		e->u.roam.to = d->peer;
		e->u.roam.port_hop = s->client.family == d->peer.family &&
			!memcmp(s->client.ip, d->peer.ip, 16);
		e->u.roam.last_seq = s->last_client_seq;
		e->u.roam.first_seq = d->hdr.seq;
		e->u.roam.silent = ts - s->last_client_ts;
	}
	s->client = d->peer;
	s->roams++;
}

/* A new or reordered client datagram (not a replay or duplicate). Roams
 * follow what mosh-server does: only a newer datagram moves the client. */
static void client_datagram(struct rv_review *r, struct rv_session *s,
			    const struct rv_dgram *d, rv_time ts)
{
	bool moved;

	if (!s->have_client) {
		s->have_client = true;
		s->first_client = s->client = d->peer;
		s->first_ts = ts;
		s->first_seq = d->hdr.seq;
		s->ssh = rv_ssh_find(&r->ssh, &d->peer, ts);
	} else {
		moved = !mh_addr_equal(&d->peer, &s->client);
		if (moved && d->note != RV_SEQ_NEW)
			return;   /* late datagram from an earlier address */
		note_gap(r, s, d, ts);
		if (moved)
			note_roam(r, s, d, ts);
	}
	s->last_client_ts = ts;
	if (d->note == RV_SEQ_NEW)
		s->last_client_seq = d->hdr.seq;
}

static void server_datagram(struct rv_session *s, const struct rv_dgram *d,
			    rv_time ts)
{
	if (s->have_reply || !s->have_client)
		return;
	s->have_reply = true;
	s->first_reply_ts = ts;
	s->first_reply_seq = d->hdr.seq;
}

/* ---- per datagram --------------------------------------------------------- */

static bool in_range(const struct rv_review *r, uint16_t port)
{
	return port >= r->o->port_low && port <= r->o->port_high;
}

/* Which end is the server: a port with a key, else a port in the range
 * (both in the range: the SSP direction bit decides). -1: not mosh. */
static int to_server(const struct rv_review *r, const struct mh_pkt *pk)
{
	bool dr = in_range(r, pk->dst.port), sr = in_range(r, pk->src.port);

	if (rv_keys_find(r->keys, &pk->dst))
		return 1;
	if (rv_keys_find(r->keys, &pk->src))
		return 0;
	if (dr && sr && pk->len >= SSP_HEADER_LEN)
		return !(pk->payload[0] & 0x80);
	return dr ? 1 : sr ? 0 : -1;
}

/* Could key k have sealed this datagram? As the daemon's single-port
 * search: the first block decrypted with a wrong key is noise, which real
 * mosh plaintext almost never is; only a plausible one pays for the tag. */
static bool trial(const struct rv_key *k, const struct mh_pkt *pk)
{
	const struct ssp_fastpeek *fp = ssp_ctx_fastpeek(k->mh->ssp);
	uint8_t first[16];

	if ((fp ? ssp_fastpeek(fp, pk->payload, pk->len, first)
		: ssp_peek(k->mh->ssp, pk->payload, pk->len, first)) == 0 &&
	    !ssp_plausible_start(first))
		return false;
	return ssp_verify(k->mh->ssp, pk->payload, pk->len, NULL) == 0;
}

/* The server side of the pinholes of a session whose server end is server
 * and whose port's first key is first: the address too if the key line
 * named it (a gateway's set), else the port alone (a host's). */
static struct mh_addr ph_server_of(const struct rv_key *first,
				   const struct mh_addr *server)
{
	struct mh_addr a = { .port = server->port };

	if (first && first->server.family)
		a = *server;
	return a;
}

/* The key of a datagram on a port with several: a pinhole names it (the
 * kernel maps that client to its session), else trial authentication
 * against the port's keys. NULL if none authenticates it. */
static const struct rv_key *attribute(struct rv_review *r, const struct rv_key *first,
				      const struct mh_pkt *pk, bool ts_side)
{
	const struct mh_addr *peer = ts_side ? &pk->src : &pk->dst;
	struct mh_addr phs = ph_server_of(first, ts_side ? &pk->dst : &pk->src);
	const struct rv_session *ps = rv_judge_pinholed(r, peer, &phs);
	const struct rv_key *k;

	if (ps && ps->key)
		return ps->key;
	for (k = first; k; k = k->next) {
		r->trials++;
		if (trial(k, pk))
			return k;
	}
	return NULL;
}

struct sess_key {
	const struct rv_review *r;
	const struct mh_addr *server;
	const struct rv_key *key;
};

static bool sess_eq(const void *ctx, uint32_t val)
{
	const struct sess_key *k = ctx;
	const struct rv_session *s = k->r->sv[val - 1];

	return s->key == k->key && mh_addr_equal(&s->server, k->server);
}

static uint64_t sess_hash(const struct mh_addr *server, const struct rv_key *key)
{
	return rv_hash_addr(server, true, (uint64_t)(uintptr_t)key);
}

static struct rv_session *session_new(struct rv_review *r,
				      const struct mh_addr *server,
				      const struct rv_key *key, rv_time ts)
{
	struct rv_session *s, **sv;

	if (r->n_sessions == r->cap_sv) {
		size_t cap = r->cap_sv ? r->cap_sv * 2 : 16;

		sv = realloc(r->sv, cap * sizeof(*sv));
		if (!sv)
			return NULL;
		r->sv = sv;
		r->cap_sv = cap;
	}
	s = calloc(1, sizeof(*s));
	if (!s || rv_idx_add(&r->sess_idx, sess_hash(server, key), r->n_sessions + 1) < 0) {
		free(s);
		return NULL;
	}
	s->server = *server;
	s->key = key;
	s->mh = key ? key->mh : NULL;
	s->group = rv_keys_find(r->keys, server);
	s->shared = s->group && s->group->of > 1;
	s->ph_server = ph_server_of(s->group, server);
	s->keyless = s->mh && (r->o->keyless || key->keyless);
	s->ssh = -1;
	s->start_ts = ts;
	r->sv[r->n_sessions++] = s;
	*r->tail = s;
	r->tail = &s->next;
	return s;
}

/* The session of (server, key), made on first sight; NULL past the cap on
 * sessions (counted) or out of memory. */
static struct rv_session *session_get(struct rv_review *r,
				      const struct mh_addr *server,
				      const struct rv_key *key, rv_time ts)
{
	struct sess_key k = { r, server, key };
	uint32_t v = rv_idx_find(&r->sess_idx, sess_hash(server, key), sess_eq, &k);
	struct rv_session *s;

	if (v)
		return r->sv[v - 1];
	if (r->n_sessions >= RV_MAX_SESSIONS) {
		r->untracked++;
		return NULL;
	}
	s = session_new(r, server, key, ts);
	if (!s)
		r->oom = true;
	return s;
}

static void add_pinhole_events(struct rv_review *r, struct rv_session *s,
			       const struct rv_ph_change *ch, rv_time ts)
{
	struct rv_event *e;

	if (ch->evict && (e = rv_event_add(r, s, RV_EV_PINHOLE, ts))) {
		e->u.ph.client = ch->evicted;
		e->u.ph.action = RV_PH_EVICT;
	}
	if (ch->open && (e = rv_event_add(r, s, RV_EV_PINHOLE, ts))) {
		e->u.ph.client = ch->client;
		e->u.ph.action = RV_PH_OPEN;
	}
}

static void decode(struct rv_review *r, struct rv_session *s,
		   const struct mh_pkt *pk, struct rv_dgram *d)
{
	struct ssp_header h;
	int rc;

	d->authentic = -1;
	d->have_hdr = ssp_parse_header(pk->payload, pk->len, &d->hdr) == 0;
	if ((!s->mh && !s->shared) || (s->mh && !s->mh->ssp))
		return;             /* no key, or a keyless line */
	d->authentic = 0;           /* on a shared port: no key authenticates it */
	if (!d->have_hdr || !s->mh)
		return;
	rc = rv_instr_datagram(s->mh->ssp, &s->reasm[d->hdr.direction],
			       pk->payload, pk->len, &h, &d->plain);
	if (rc < 0)
		r->oom = true;
	d->authentic = rc == 1;
}

static void judge(struct rv_review *r, struct rv_session *s,
		  const struct rv_packet *p, struct rv_dgram *d,
		  struct rv_ph_change *ch)
{
	memset(ch, 0, sizeof(*ch));
	d->mh_reason = -1;
	if (s->mh || s->shared) {
		rv_judge(r, s, p, d, ch);
	} else {
		d->verdict = RV_V_NO_SESSION;
		d->reason = "no_key";
	}
	s->verdicts[d->verdict]++;
	if (d->mh_reason >= 0)
		s->reasons[d->mh_reason]++;
}

/* The client's acknowledgement of mosh's shutdown (ack of state -1): its
 * mosh-server exits next, and with it the daemon's session. */
static bool acks_shutdown(const struct rv_dgram *d)
{
	return d->to_server && d->authentic == 1 && d->plain.complete &&
	       !d->plain.instr_err &&
	       (d->plain.instr.present & (1u << RV_F_ACK_NUM)) &&
	       d->plain.instr.num[RV_F_ACK_NUM] == UINT64_MAX;
}

static void datagram(struct rv_review *r, const struct rv_packet *p,
		     const struct mh_pkt *pk, bool ts_side)
{
	const struct mh_addr *server = ts_side ? &pk->dst : &pk->src;
	const struct rv_key *key = rv_keys_find(r->keys, server);
	struct rv_ph_change ch;
	struct rv_session *s;
	struct rv_event *e;
	struct rv_dgram d;

	if (key && key->of > 1)
		key = attribute(r, key, pk, ts_side);
	s = session_get(r, server, key, p->ts);
	if (!s)
		return;
	if (s->key)
		((struct rv_key *)s->key)->used = true;
	memset(&d, 0, sizeof(d));
	d.to_server = ts_side;
	d.peer = ts_side ? pk->src : pk->dst;
	d.len = pk->len;
	decode(r, s, pk, &d);
	judge(r, s, p, &d, &ch);
	if (d.have_hdr && d.authentic != 0) {
		if (rv_seq_analyse(&s->sp[d.hdr.direction], s, &d, pk, p->ts) < 0)
			r->oom = true;
		if (d.to_server && d.hdr.direction == SSP_TO_SERVER &&
		    (d.note == RV_SEQ_NEW || d.note == RV_SEQ_REORDERED))
			client_datagram(r, s, &d, p->ts);
		else if (!d.to_server && d.hdr.direction == SSP_TO_CLIENT &&
			 d.note != RV_SEQ_IMPLAUSIBLE)
			server_datagram(s, &d, p->ts);
	}
	s->dgrams[d.to_server]++;
	s->authentic += d.authentic == 1;
	s->forged += d.authentic == 0;
	s->last_ts = p->ts;
	e = rv_event_add(r, s, RV_EV_DATAGRAM, p->ts);
	if (e)
		e->u.d = d;
	add_pinhole_events(r, s, &ch, p->ts);
	if (acks_shutdown(&d) && !s->ended)
		rv_judge_end(r, s, p->ts);
}

void rv_review_packet(void *ctx, const struct rv_packet *p)
{
	struct rv_review *r = ctx;
	struct mh_pkt pk;
	const char *why;
	int side;

	if (!r->have_start) {
		r->have_start = true;
		r->start = p->ts;
	}
	rv_judge_expire(r, p->ts);
	if (rv_ssh_packet(&r->ssh, p)) {
		r->tcp++;
		return;
	}
	if (mh_pkt_parse(p->l3, p->l3_len, &pk, &why) < 0) {
		if (strcmp(why, "not UDP") == 0) {
			r->not_udp++;
		} else {
			if (!r->bad_udp)
				r->bad_why = p->l3_len < p->wire_len ?
					"cut short by the capture's snap length" : why;
			r->bad_udp++;
		}
		return;
	}
	side = to_server(r, &pk);
	if (side < 0)
		r->other_udp++;
	else
		datagram(r, p, &pk, side == 1);
}

void rv_review_finish(struct rv_review *r)
{
	struct rv_session *s;

	for (s = r->head; s; s = s->next) {
		s->median = session_median(s);
		s->pinholes_open = rv_judge_open(r, s);
	}
	if (r->ssh.oom)
		r->oom = true;
}

void rv_review_free(struct rv_review *r)
{
	struct rv_session *s, *next;

	for (s = r->head; s; s = next) {
		next = s->next;
		rv_seq_free(&s->sp[0]);
		rv_seq_free(&s->sp[1]);
		rv_reasm_free(&s->reasm[0]);
		rv_reasm_free(&s->reasm[1]);
		free(s->intervals);
		free(s->ev);
		free(s);
	}
	free(r->sv);
	rv_idx_free(&r->sess_idx);
	rv_judge_free(r);
	rv_ssh_free(&r->ssh);
	memset(r, 0, sizeof(*r));
}
