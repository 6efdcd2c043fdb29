/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Keyless mode's slow-path rule (include/keyless.h): the visible checks,
 * the per-session delivery budget (a token bucket), the bounded candidate
 * list (least recently seen out) and the confirmation by mosh-server's own
 * datagram. Nothing here needs or sees a key.
 */
#include <string.h>

#include "keyless.h"

#define MILLI 1000u   /* tokens per datagram */

static uint64_t budget_cap(const struct mh_kl_policy *p)
{
	return (uint64_t)(p->rate ? p->rate : 1) * MILLI;
}

void mh_keyless_init(struct mh_keyless *k, const struct mh_kl_policy *p,
		     uint64_t now_ms)
{
	memset(k, 0, sizeof(*k));
	k->tokens = budget_cap(p);
	k->refill_ms = now_ms;
}

void mh_keyless_restore(struct mh_keyless *k, uint64_t confirmed_seq)
{
	k->confirmed = true;
	k->confirmed_seq = confirmed_seq & SSP_SEQ_MASK;
}

/* rate tokens a second (rate thousandths a millisecond), burst rate. */
static bool budget_take(struct mh_keyless *k, const struct mh_kl_policy *p,
			uint64_t now_ms)
{
	uint64_t cap = budget_cap(p);

	if (now_ms > k->refill_ms) {
		uint64_t dt = now_ms - k->refill_ms;

		/* a second refills all of it (and bounds the product) */
		k->tokens = dt >= 1000 ? cap : k->tokens + dt * (cap / MILLI);
		k->refill_ms = now_ms;
	}
	if (k->tokens > cap)   /* full, or the rate was lowered (SIGHUP) */
		k->tokens = cap;
	if (k->tokens < MILLI)
		return false;
	k->tokens -= MILLI;
	return true;
}

static bool live(const struct mh_kl_cand *c, const struct mh_kl_policy *p,
		 uint64_t now_ms)
{
	return c->seen_ms && now_ms - c->seen_ms <= p->candidate_lifetime_ms;
}

static struct mh_kl_cand *find(struct mh_keyless *k, const struct mh_kl_policy *p,
			       const struct mh_addr *a, uint64_t now_ms)
{
	for (unsigned i = 0; i < MH_KL_CANDIDATES; i++)
		if (live(&k->cand[i], p, now_ms) && mh_addr_equal(&k->cand[i].src, a))
			return &k->cand[i];
	return NULL;
}

/* A slot for a new candidate: a free or expired one, else the least
 * recently seen. What an overwritten slot knew is kept in lost_low. */
static struct mh_kl_cand *cand_slot(struct mh_keyless *k,
				    const struct mh_kl_policy *p, uint64_t now_ms)
{
	struct mh_kl_cand *c = &k->cand[0];

	for (unsigned i = 0; i < MH_KL_CANDIDATES; i++) {
		struct mh_kl_cand *o = &k->cand[i];

		if (!live(o, p, now_ms)) {
			c = o;
			break;
		}
		if (o->seen_ms < c->seen_ms)
			c = o;
	}
	if (c->seen_ms && (!k->lost || c->low_seq < k->lost_low)) {
		k->lost_low = c->low_seq;
		k->lost = true;
	}
	return c;
}

static void cand_note(struct mh_keyless *k, const struct mh_kl_policy *p,
		      const struct mh_addr *src, uint64_t seq, uint64_t now_ms)
{
	struct mh_kl_cand *c = NULL;

	/* its own slot, live or expired (what it sent before still counts) */
	for (unsigned i = 0; i < MH_KL_CANDIDATES && !c; i++)
		if (k->cand[i].seen_ms && mh_addr_equal(&k->cand[i].src, src))
			c = &k->cand[i];
	if (!c) {
		c = cand_slot(k, p, now_ms);
		c->src = *src;
		c->low_seq = seq;
	} else if (seq < c->low_seq) {
		c->low_seq = seq;
	}
	c->seen_ms = now_ms ? now_ms : 1;
}

enum mh_kl_verdict mh_keyless_inbound(struct mh_keyless *k,
				      const struct mh_kl_policy *p,
				      const struct ssp_header *h, size_t len,
				      const struct mh_addr *src, uint64_t now_ms)
{
	if (len < MH_KL_MIN_PAYLOAD)
		return MH_KL_SHORT;
	if (h->direction != SSP_TO_SERVER)
		return MH_KL_WRONG_DIRECTION;
	if (h->seq > MH_KL_MAX_SEQ)
		return MH_KL_IMPLAUSIBLE_SEQ;
	if (k->confirmed && h->seq <= k->confirmed_seq)
		return MH_KL_REPLAY;
	if (!budget_take(k, p, now_ms))
		return MH_KL_OVER_BUDGET;
	if (src)
		cand_note(k, p, src, h->seq, now_ms);
	return MH_KL_DELIVER;
}

bool mh_keyless_confirm(struct mh_keyless *k, const struct mh_kl_policy *p,
			const struct mh_addr *dst, uint64_t now_ms)
{
	struct mh_kl_cand *c = find(k, p, dst, now_ms);
	uint64_t low;

	if (!c)
		return false;
	low = k->lost && k->lost_low < c->low_seq ? k->lost_low : c->low_seq;
	if (!k->confirmed || low > k->confirmed_seq)
		k->confirmed_seq = low;
	k->confirmed = true;
	k->lost = false;
	memset(c, 0, sizeof(*c));
	return true;
}

unsigned mh_keyless_candidates(const struct mh_keyless *k,
			       const struct mh_kl_policy *p, uint64_t now_ms)
{
	unsigned n = 0;

	for (unsigned i = 0; i < MH_KL_CANDIDATES; i++)
		n += live(&k->cand[i], p, now_ms);
	return n;
}
