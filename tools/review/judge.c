/*
 * The verdict mosh-helper would give a datagram. It simulates the kernel's
 * pinhole sets (client address . client port . server port, timeout
 * idle_timeout, refreshed by inbound hits only) and hands everything that
 * misses a pinhole to mh_decide(), the daemon's own decision function, so a
 * reviewer and the firewall never disagree.
 */
#include <stdlib.h>
#include <string.h>

#include "review.h"

static rv_time idle_us(const struct rv_review *r)
{
	return (rv_time)r->o->idle_timeout_s * RV_US_PER_S;
}

static struct rv_pinhole *ph_find(struct rv_review *r,
				  const struct mh_addr *client, uint16_t port)
{
	size_t i;

	for (i = 0; i < r->n_ph; i++)
		if (r->ph[i].port == port && mh_addr_equal(&r->ph[i].client, client))
			return &r->ph[i];
	return NULL;
}

static void ph_remove(struct rv_review *r, struct rv_pinhole *ph)
{
	*ph = r->ph[--r->n_ph];
}

static bool ph_add(struct rv_review *r, struct rv_session *s,
		   const struct mh_addr *client, rv_time expires)
{
	struct rv_pinhole *ph = ph_find(r, client, s->server.port);

	if (!ph) {
		if (r->n_ph == r->cap_ph) {
			size_t cap = r->cap_ph ? r->cap_ph * 2 : 16;

			ph = realloc(r->ph, cap * sizeof(*ph));
			if (!ph) {
				r->oom = true;
				return false;
			}
			r->ph = ph;
			r->cap_ph = cap;
		}
		ph = &r->ph[r->n_ph++];
	}
	ph->client = *client;
	ph->port = s->server.port;
	ph->s = s;
	ph->expires = expires;
	return true;
}

void rv_judge_expire(struct rv_review *r, rv_time now)
{
	struct rv_pinhole *first;
	struct rv_event *e;
	size_t i;

	for (;;) {   /* earliest first, so each session's events stay in order */
		first = NULL;
		for (i = 0; i < r->n_ph; i++)
			if (r->ph[i].expires <= now &&
			    (!first || r->ph[i].expires < first->expires))
				first = &r->ph[i];
		if (!first)
			return;
		e = rv_event_add(r, first->s, RV_EV_PINHOLE, first->expires);
		if (e) {
			e->u.ph.client = first->client;
			e->u.ph.action = RV_PH_EXPIRE;
		}
		/* the daemon's read-back of the kernel set forgets it too */
		if (first->s->mh)
			mh_pinhole_forget(first->s->mh, &first->client);
		ph_remove(r, first);
	}
}

void rv_judge_end(struct rv_review *r, struct rv_session *s, rv_time now)
{
	struct rv_event *e;
	size_t i = 0;

	s->ended = true;
	while (i < r->n_ph) {
		if (r->ph[i].s != s) {
			i++;
			continue;
		}
		e = rv_event_add(r, s, RV_EV_PINHOLE, now);
		if (e) {
			e->u.ph.client = r->ph[i].client;
			e->u.ph.action = RV_PH_END;
		}
		ph_remove(r, &r->ph[i]);   /* moves the last one here */
	}
}

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
	if (dec->evict && (old = ph_find(r, &dec->evicted, s->server.port))) {
		ch->evict = true;
		ch->evicted = dec->evicted;
		ph_remove(r, old);
	}
	if (r->o->slow_path) {       /* the kernel's set is not simulated */
		ch->open = true;
		ch->client = dec->pkt.dst;
	} else if (ph_add(r, s, &dec->pkt.dst, p->ts + idle_us(r))) {
		ch->open = true;
		ch->client = dec->pkt.dst;
	}
}

void rv_judge(struct rv_review *r, struct rv_session *s,
	      const struct rv_packet *p, struct rv_dgram *d,
	      struct rv_ph_change *ch)
{
	struct rv_pinhole *ph = ph_find(r, &d->peer, s->server.port);
	struct mh_decision dec;

	if (s->ended) {   /* the port left the sessions set: the kernel drops */
		d->verdict = RV_V_DROP;
		d->mh_reason = MH_R_NO_SESSION;
		d->reason = mh_reason_name(MH_R_NO_SESSION);
		return;
	}

	if (ph) {
		if (d->to_server)   /* nft `update`: inbound hits refresh */
			ph->expires = p->ts + idle_us(r);
		d->verdict = RV_V_PINHOLE;
		d->reason = "fast_path";
		return;
	}
	mh_decide(r->keys, &r->pol, d->to_server ? MH_INBOUND : MH_OUTBOUND,
		  p->l3, p->l3_len, (uint64_t)(p->ts / 1000), &dec);
	decided(r, s, p, &dec, d, ch);
}

unsigned rv_judge_open(const struct rv_review *r, const struct rv_session *s)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < r->n_ph; i++)
		n += r->ph[i].s == s;
	return n;
}
