/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The verdict mosh-helper would give a datagram. It simulates the kernel's
 * pinhole sets (client address . client port . server port on a host;
 * . server address . server port on a gateway, for a key line naming the
 * server) and hands everything that misses a pinhole to mh_decide_by(),
 * the daemon's own decision function (keyed, or keyless.h's rule), so a
 * reviewer and the firewall never disagree.
 *
 * A pinhole is added with a timeout of idle_timeout, and only inbound
 * datagrams keep it open. On older kernels each one restarts the timeout
 * in the packet path (nft `update`). On newer ones the packet path only
 * notes the pinhole's key (seen4/6); every P (a quarter of idle_timeout,
 * at least 1 s, at a phase the capture does not show) the daemon's sync
 * re-arms each listed pinhole to expire idle_timeout after its last
 * inbound datagram, unless that is within MH_REARM_SLACK_MS of its
 * current expiry; one whose timeout ran out before the sync is gone.
 * The capture does not say which kernel it was. On both, a pinhole
 * closes at most idle_timeout after its last inbound datagram (plus
 * RV_SLACK: the re-arm's precision, the add's delay); it may close
 * earlier when a sync could miss it. So the review keeps, per pinhole,
 * sure_until (certainly open before) and expires (certainly closed from):
 *   - opened at t: sure_until = t + idle, expires = t + idle + RV_SLACK;
 *   - an inbound datagram at t: if sure_until >= t + P (the next sync
 *     surely lists it), sure_until = t + idle - RV_SLACK, else unchanged;
 *     expires = t + idle + RV_SLACK.
 * A datagram in [sure_until, expires) still passes on the pinhole but is
 * marked (RV_REASON_IDLE_WINDOW: the permissive guess).
 */
#include <stdlib.h>
#include <string.h>

#include "review.h"

static rv_time idle_us(const struct rv_review *r)
{
	return (rv_time)r->o->idle_timeout_s * RV_US_PER_S;
}

/* The daemon's sync period: a quarter of idle_timeout, at least 1 s,
 * computed in milliseconds as the daemon does. */
static rv_time sync_us(const struct rv_review *r)
{
	rv_time every_ms = (rv_time)r->o->idle_timeout_s * 1000 / 4;

	return (every_ms < 1000 ? 1000 : every_ms) * 1000;
}

/* Both the sync's slack towards an earlier close (a re-arm within it is
 * skipped) and the margin for a later one (the re-arm's precision, the
 * add entering the kernel after the capture shows the confirming reply). */
#define RV_SLACK ((rv_time)MH_REARM_SLACK_MS * 1000)

/* The daemon added the pinhole at ts with a full timeout. */
static void ph_arm_opened(struct rv_review *r, struct rv_pinhole *ph, rv_time ts)
{
	ph->last_in = ts;
	ph->sure_until = ts + idle_us(r);
	ph->expires = ts + idle_us(r) + RV_SLACK;
}

/* An inbound datagram hit the pinhole at ts: re-armed to idle_timeout
 * after ts if it surely lasts until the next sync, else perhaps not. */
static void ph_arm_hit(struct rv_review *r, struct rv_pinhole *ph, rv_time ts)
{
	if (ph->sure_until >= ts + sync_us(r))
		ph->sure_until = ts + idle_us(r) - RV_SLACK;
	ph->last_in = ts;
	ph->expires = ts + idle_us(r) + RV_SLACK;
}

/* ---- the heap of pinholes by expiry ---------------------------------------- */

static bool earlier(const struct rv_review *r, uint32_t a, uint32_t b)
{
	const struct rv_pinhole *x = &r->ph[a], *y = &r->ph[b];

	return x->expires < y->expires || (x->expires == y->expires && x->seq < y->seq);
}

static void heap_set(struct rv_review *r, size_t pos, uint32_t slot)
{
	r->heap[pos] = slot;
	r->ph[slot].heap_pos = (uint32_t)pos;
}

static void heap_fix(struct rv_review *r, size_t pos)
{
	uint32_t slot = r->heap[pos];
	size_t n = r->n_ph, c;

	while (pos > 0 && earlier(r, slot, r->heap[(pos - 1) / 2])) {
		heap_set(r, pos, r->heap[(pos - 1) / 2]);
		pos = (pos - 1) / 2;
	}
	for (; (c = 2 * pos + 1) < n; pos = c) {
		if (c + 1 < n && earlier(r, r->heap[c + 1], r->heap[c]))
			c++;
		if (!earlier(r, r->heap[c], slot))
			break;
		heap_set(r, pos, r->heap[c]);
	}
	heap_set(r, pos, slot);
}

/* ---- the set --------------------------------------------------------------- */

struct ph_key {
	const struct rv_review *r;
	const struct mh_addr *client, *server;
};

static bool ph_eq(const void *ctx, uint32_t val)
{
	const struct ph_key *k = ctx;
	const struct rv_pinhole *ph = &k->r->ph[val - 1];

	return mh_addr_equal(&ph->server, k->server) &&
	       mh_addr_equal(&ph->client, k->client);
}

static uint64_t ph_hash(const struct mh_addr *client, const struct mh_addr *server)
{
	return rv_hash_addr(client, true, rv_hash_addr(server, true, 0));
}

static struct rv_pinhole *ph_find(struct rv_review *r,
				  const struct mh_addr *client,
				  const struct mh_addr *server)
{
	struct ph_key k = { r, client, server };
	uint32_t v = rv_idx_find(&r->ph_idx, ph_hash(client, server), ph_eq, &k);

	return v ? &r->ph[v - 1] : NULL;
}

static void ph_remove(struct rv_review *r, struct rv_pinhole *ph)
{
	uint32_t slot = (uint32_t)(ph - r->ph), last;
	struct rv_session *s = ph->s;
	size_t pos = ph->heap_pos;

	rv_idx_del(&r->ph_idx, ph_hash(&ph->client, &ph->server), slot + 1);
	if (ph->s_prev)
		r->ph[ph->s_prev - 1].s_next = ph->s_next;
	else
		s->ph_head = ph->s_next;
	if (ph->s_next)
		r->ph[ph->s_next - 1].s_prev = ph->s_prev;
	else
		s->ph_tail = ph->s_prev;
	s->n_ph--;
	last = r->heap[--r->n_ph];
	if (pos < r->n_ph) {
		heap_set(r, pos, last);
		heap_fix(r, pos);
	}
	ph->s = NULL;
	ph->free_next = r->ph_free;
	r->ph_free = slot + 1;
}

/* A free slot (the heap grows with the slots), or NULL. */
static struct rv_pinhole *ph_slot(struct rv_review *r)
{
	struct rv_pinhole *ph;
	uint32_t *heap;

	if (r->ph_free) {
		ph = &r->ph[r->ph_free - 1];
		r->ph_free = ph->free_next;
		return ph;
	}
	if (r->used_ph == r->cap_ph) {
		size_t cap = r->cap_ph ? r->cap_ph * 2 : 16;

		if (cap > UINT32_MAX / 2)
			return NULL;
		ph = realloc(r->ph, cap * sizeof(*ph));
		if (!ph)
			return NULL;
		r->ph = ph;
		heap = realloc(r->heap, cap * sizeof(*heap));
		if (!heap)
			return NULL;
		r->heap = heap;
		r->cap_ph = cap;
	}
	return &r->ph[r->used_ph++];
}

static bool ph_add(struct rv_review *r, struct rv_session *s,
		   const struct mh_addr *client, rv_time ts)
{
	struct rv_pinhole *ph = ph_find(r, client, &s->ph_server);
	uint32_t slot;

	if (ph && ph->s != s) {   /* another session's: it moves to this one */
		ph_remove(r, ph);
		ph = NULL;
	}
	if (ph) {
		ph_arm_opened(r, ph, ts);
		heap_fix(r, ph->heap_pos);
		return true;
	}
	ph = ph_slot(r);
	slot = ph ? (uint32_t)(ph - r->ph) : 0;
	if (!ph || rv_idx_add(&r->ph_idx, ph_hash(client, &s->ph_server), slot + 1) < 0) {
		if (ph) {
			ph->s = NULL;
			ph->free_next = r->ph_free;
			r->ph_free = slot + 1;
		}
		r->oom = true;
		return false;
	}
	memset(ph, 0, sizeof(*ph));
	ph->client = *client;
	ph->server = s->ph_server;
	ph->s = s;
	ph_arm_opened(r, ph, ts);
	ph->seq = r->ph_seq++;
	ph->s_prev = s->ph_tail;
	if (s->ph_tail)
		r->ph[s->ph_tail - 1].s_next = slot + 1;
	else
		s->ph_head = slot + 1;
	s->ph_tail = slot + 1;
	s->n_ph++;
	heap_set(r, r->n_ph++, slot);
	heap_fix(r, r->n_ph - 1);
	return true;
}

void rv_judge_expire(struct rv_review *r, rv_time now)
{
	struct rv_pinhole *first;
	struct rv_event *e;

	/* earliest first, so each session's events stay in order */
	while (r->n_ph && (first = &r->ph[r->heap[0]])->expires <= now) {
		e = rv_event_add(r, first->s, RV_EV_PINHOLE, first->expires);
		if (e) {
			e->u.ph.client = first->client;
			e->u.ph.action = RV_PH_EXPIRE;
			e->u.ph.idle_since = first->last_in;
			e->u.ph.may_close = first->sure_until;
		}
		/* the daemon's read-back of the kernel set forgets it too */
		if (first->s->mh)
			mh_pinhole_forget(first->s->mh, &first->client);
		ph_remove(r, first);
	}
}

void rv_judge_end(struct rv_review *r, struct rv_session *s, rv_time now)
{
	struct rv_pinhole *ph;
	struct rv_event *e;

	s->ended = true;
	while (s->ph_head) {
		ph = &r->ph[s->ph_head - 1];
		e = rv_event_add(r, s, RV_EV_PINHOLE, now);
		if (e) {
			e->u.ph.client = ph->client;
			e->u.ph.action = RV_PH_END;
		}
		ph_remove(r, ph);
	}
}

void rv_judge_free(struct rv_review *r)
{
	rv_idx_free(&r->ph_idx);
	free(r->ph);
	free(r->heap);
	r->ph = NULL;
	r->heap = NULL;
	r->n_ph = r->cap_ph = r->used_ph = 0;
}

/* ---- verdicts -------------------------------------------------------------- */

static void decided(struct rv_review *r, struct rv_session *s,
		    const struct rv_packet *p, const struct mh_decision *dec,
		    struct rv_dgram *d, struct rv_ph_change *ch)
{
	struct rv_pinhole *old;

	d->verdict = dec->accept ? RV_V_ACCEPT : RV_V_DROP;
	d->mh_reason = (int)dec->reason;
	d->reason = mh_reason_name(dec->reason);
	if (!dec->accept || !dec->add_pinhole)
		return;
	if (dec->evict && (old = ph_find(r, &dec->evicted, &s->ph_server))) {
		ch->evict = true;
		ch->evicted = dec->evicted;
		ph_remove(r, old);
	}
	if (r->o->slow_path) {       /* the kernel's set is not simulated */
		ch->open = true;
		ch->client = dec->pkt.dst;
	} else if (ph_add(r, s, &dec->pkt.dst, p->ts)) {
		ch->open = true;
		ch->client = dec->pkt.dst;
	}
}

/* The tracker found the session by the datagram's server end (its port,
 * or on a gateway its address . port), as the daemon's lookup does. */
static struct mh_session *this_session(void *arg, const struct mh_addr *server)
{
	(void)server;
	return arg;
}

/* The daemon's decision on the session's own port (on a port with several
 * keys, the port the daemon's single-port mapping leads to), or for its
 * server address . port (a gateway); keyless.h's rule for a keyless one. */
static void decide(struct rv_review *r, struct rv_session *s,
		   const struct rv_packet *p, const struct rv_dgram *d,
		   struct mh_decision *dec)
{
	struct mh_policy pol = r->pol;

	pol.keyless = s->keyless;
	mh_decide_by(r->keys->t, &pol, d->to_server ? MH_INBOUND : MH_OUTBOUND,
		     p->l3, p->l3_len, (uint64_t)(p->ts / 1000), this_session,
		     s->mh, dec);
}

/* A datagram on a port with several keys that none of them authenticates:
 * the daemon's single-port verdict (inbound: no session could take it). */
static void unmatched(struct rv_dgram *d)
{
	enum mh_reason why = !d->have_hdr ? MH_R_SHORT :
		(d->hdr.direction == SSP_TO_SERVER) != d->to_server ? MH_R_WRONG_DIRECTION :
		d->to_server ? MH_R_NO_MATCH : MH_R_FORGED;

	d->verdict = RV_V_DROP;
	d->mh_reason = (int)why;
	d->reason = mh_reason_name(why);
}

/* A datagram the pinhole passes: marked if the kernel may already have
 * closed it (the permissive guess: that it had not). An inbound one keeps
 * the pinhole open. */
static void fast_path(struct rv_review *r, struct rv_pinhole *ph,
		      const struct rv_packet *p, struct rv_dgram *d)
{
	d->verdict = RV_V_PINHOLE;
	d->reason = "fast_path";
	if (p->ts >= ph->sure_until) {
		d->reason = RV_REASON_IDLE_WINDOW;
		d->idle_window = true;
		d->ph_idle = p->ts - ph->last_in;
		ph->s->idle_window++;
	}
	if (d->to_server) {
		ph_arm_hit(r, ph, p->ts);
		heap_fix(r, ph->heap_pos);
	}
}

void rv_judge(struct rv_review *r, struct rv_session *s,
	      const struct rv_packet *p, struct rv_dgram *d,
	      struct rv_ph_change *ch)
{
	struct rv_pinhole *ph = ph_find(r, &d->peer, &s->ph_server);
	struct mh_decision dec;

	if (s->ended) {   /* the port left the sessions set: the kernel drops */
		d->verdict = RV_V_DROP;
		d->mh_reason = MH_R_NO_SESSION;
		d->reason = mh_reason_name(MH_R_NO_SESSION);
		return;
	}

	if (ph) {   /* the kernel's set: client . client port . server side */
		fast_path(r, ph, p, d);
		return;
	}
	if (!s->mh) {
		unmatched(d);
		return;
	}
	decide(r, s, p, d, &dec);
	/* on a shared port a new source reaches a session only through the
	 * daemon's single-port search, which takes no replay and nothing sent
	 * to an address the session is not bound to */
	if (s->shared && d->to_server &&
	    (dec.reason == MH_R_REPLAY || dec.reason == MH_R_NOT_BOUND))
		dec.reason = MH_R_NO_MATCH;
	decided(r, s, p, &dec, d, ch);
}

/* The session whose pinhole client's datagrams to that server side take,
 * or NULL. */
struct rv_session *rv_judge_pinholed(struct rv_review *r, const struct mh_addr *client,
				     const struct mh_addr *ph_server)
{
	struct rv_pinhole *ph = ph_find(r, client, ph_server);

	return ph ? ph->s : NULL;
}

unsigned rv_judge_open(const struct rv_review *r, const struct rv_session *s)
{
	(void)r;
	return s->n_ph;
}
