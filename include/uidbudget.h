/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Per-uid budgets of work that a local user's requests make the daemon do
 * (the socket lookups of a crowded port's ownership check, owner.c): a
 * token bucket per uid, refilled at `rate` a second up to `burst`. The
 * cost is known only once the work is done, so a request is let through
 * while its uid's bucket holds a token, and the work is charged after it,
 * which may take the bucket below zero: the refill pays that back before
 * the uid's next request. Nobody is ever charged for another uid's work:
 * a uid whose bucket is full again gives its slot to whoever needs one,
 * and a uid that finds every slot in debt (more than MH_UIDBUDGET_SLOTS
 * uids each within cost/rate seconds of its last request, far more than
 * the daemon can serve) goes through uncharged. Pure: time is passed in.
 */
#ifndef MH_UIDBUDGET_H
#define MH_UIDBUDGET_H

#include <stdbool.h>
#include <stdint.h>

#define MH_UIDBUDGET_SLOTS 1024

struct mh_uidbudget_slot {
	uint32_t uid;
	bool used;
	double tokens;
	uint64_t last_ms;
};

struct mh_uidbudget {
	double rate, burst;
	struct mh_uidbudget_slot slot[MH_UIDBUDGET_SLOTS];
};

void mh_uidbudget_init(struct mh_uidbudget *b, double rate, double burst);
/* New rate and burst, every uid's debt and tokens kept (capped at the new
 * burst). */
void mh_uidbudget_set(struct mh_uidbudget *b, double rate, double burst);
/* May uid's request be served now? true if its bucket holds a token (or
 * no slot was free: served uncharged). */
bool mh_uidbudget_may(struct mh_uidbudget *b, uint32_t uid, uint64_t now_ms);
/* The cost of uid's request, once known; nothing if uid has no slot. */
void mh_uidbudget_charge(struct mh_uidbudget *b, uint32_t uid, double cost);
/* uid's tokens now, below zero while in debt; 0 for a uid without a
 * slot. For tests and logs. */
double mh_uidbudget_tokens(struct mh_uidbudget *b, uint32_t uid,
			   uint64_t now_ms);

#endif
