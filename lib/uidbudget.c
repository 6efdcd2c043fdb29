/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Per-uid budgets of the daemon's work (uidbudget.h). A linear walk of the
 * slots: it runs once per crowded-port check, beside hundreds of socket
 * lookups.
 */
#include <string.h>

#include "uidbudget.h"

void mh_uidbudget_init(struct mh_uidbudget *b, double rate, double burst)
{
	memset(b, 0, sizeof(*b));
	b->rate = rate;
	b->burst = burst;
}

void mh_uidbudget_set(struct mh_uidbudget *b, double rate, double burst)
{
	b->rate = rate;
	b->burst = burst;
	for (unsigned i = 0; i < MH_UIDBUDGET_SLOTS; i++)
		if (b->slot[i].used && b->slot[i].tokens > burst)
			b->slot[i].tokens = burst;
}

static void refill(const struct mh_uidbudget *b, struct mh_uidbudget_slot *s,
		   uint64_t now_ms)
{
	if (now_ms > s->last_ms) {
		s->tokens += (double)(now_ms - s->last_ms) * b->rate / 1000.0;
		if (s->tokens > b->burst)
			s->tokens = b->burst;
		s->last_ms = now_ms;
	}
}

/* uid's slot; with take, a free one or one whose bucket is full again
 * (its uid is as if new) if it has none; else NULL */
static struct mh_uidbudget_slot *slot_of(struct mh_uidbudget *b, uint32_t uid,
					 uint64_t now_ms, bool take)
{
	struct mh_uidbudget_slot *spare = NULL;

	for (unsigned i = 0; i < MH_UIDBUDGET_SLOTS; i++) {
		struct mh_uidbudget_slot *s = &b->slot[i];

		if (s->used && s->uid == uid)
			return s;
		if (!take || spare)
			continue;
		if (s->used)
			refill(b, s, now_ms);
		if (!s->used || s->tokens >= b->burst)
			spare = s;
	}
	if (spare)
		*spare = (struct mh_uidbudget_slot){ uid, true, b->burst, now_ms };
	return spare;
}

bool mh_uidbudget_may(struct mh_uidbudget *b, uint32_t uid, uint64_t now_ms)
{
	struct mh_uidbudget_slot *s = slot_of(b, uid, now_ms, true);

	if (!s)
		return true;
	refill(b, s, now_ms);
	return s->tokens >= 1.0;
}

void mh_uidbudget_charge(struct mh_uidbudget *b, uint32_t uid, double cost)
{
	struct mh_uidbudget_slot *s = slot_of(b, uid, 0, false);

	if (s && cost > 0)
		s->tokens -= cost;
}

double mh_uidbudget_tokens(struct mh_uidbudget *b, uint32_t uid,
			   uint64_t now_ms)
{
	struct mh_uidbudget_slot *s = slot_of(b, uid, now_ms, false);

	if (!s)
		return 0;
	refill(b, s, now_ms);
	return s->tokens;
}
