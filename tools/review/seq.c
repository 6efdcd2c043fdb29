/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sequence numbers of one SSP direction of a session: every number seen
 * (open-addressing hash: where from, when, a hash of the bytes) and the
 * highest, to tell a new datagram from a duplicate (same bytes, same peer,
 * within a second), a replay (seen before, otherwise) or a late one.
 */
#include <stdlib.h>
#include <string.h>

#include "review.h"

struct rv_seen {
	bool used;
	uint64_t seq;
	uint64_t hash;          /* of the payload */
	rv_time ts;
	struct mh_addr peer;
};

/* Keyed (hash.c): a capture cannot pick sequence numbers that collide. */
static size_t slot_for(uint64_t seq, size_t cap)
{
	return (size_t)rv_hash(&seq, sizeof(seq)) & (cap - 1);
}

static struct rv_seen *seen_find(struct rv_seqspace *sp, uint64_t seq)
{
	size_t i;

	if (!sp->cap)
		return NULL;
	for (i = slot_for(seq, sp->cap); sp->seen[i].used; i = (i + 1) & (sp->cap - 1))
		if (sp->seen[i].seq == seq)
			return &sp->seen[i];
	return NULL;
}

static void seen_put(struct rv_seen *v, size_t cap, const struct rv_seen *e)
{
	size_t i;

	for (i = slot_for(e->seq, cap); v[i].used; i = (i + 1) & (cap - 1))
		;
	v[i] = *e;
}

static int seen_grow(struct rv_seqspace *sp)
{
	size_t cap = sp->cap ? sp->cap * 2 : 16, i;
	struct rv_seen *v = calloc(cap, sizeof(*v));

	if (!v)
		return -1;
	for (i = 0; i < sp->cap; i++)
		if (sp->seen[i].used)
			seen_put(v, cap, &sp->seen[i]);
	free(sp->seen);
	sp->seen = v;
	sp->cap = cap;
	return 0;
}

static int seen_add(struct rv_seqspace *sp, uint64_t seq, uint64_t hash,
		    rv_time ts, const struct mh_addr *peer)
{
	struct rv_seen e = { true, seq, hash, ts, *peer };

	if ((sp->n + 1) * 2 > sp->cap && seen_grow(sp) < 0)
		return -1;
	seen_put(sp->seen, sp->cap, &e);
	sp->n++;
	return 0;
}

static uint64_t fnv1a(const uint8_t *p, size_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	while (len--)
		h = (h ^ *p++) * UINT64_C(0x100000001b3);
	return h;
}

int rv_seq_analyse(struct rv_seqspace *sp, struct rv_session *s,
		   struct rv_dgram *d, const struct mh_pkt *pk, rv_time ts)
{
	uint64_t hash = fnv1a(pk->payload, pk->len);
	struct rv_seen *e = seen_find(sp, d->hdr.seq);

	d->counted = true;
	if (d->authentic < 0 && (pk->len < RV_KEYLESS_MIN_LEN ||
	    (sp->have_max && d->hdr.seq > sp->max &&
	     d->hdr.seq - sp->max > RV_KEYLESS_MAX_JUMP))) {
		d->note = RV_SEQ_IMPLAUSIBLE;
		return 0;
	}
	if (e) {
		bool dup = e->hash == hash && mh_addr_equal(&e->peer, &d->peer) &&
			   ts - e->ts <= RV_DUP_WINDOW_US;

		d->note = dup ? RV_SEQ_DUPLICATE : RV_SEQ_REPLAY;
		d->orig_src = e->peer;
		d->orig_ts = e->ts;
		if (dup)
			s->duplicates++;
		else
			s->replays++;
		return 0;
	}
	if (sp->have_max && d->hdr.seq < sp->max) {
		d->note = RV_SEQ_REORDERED;
		d->late_by = sp->max - d->hdr.seq;
		s->reordered++;
	} else {
		d->note = RV_SEQ_NEW;
		sp->max = d->hdr.seq;
		sp->have_max = true;
	}
	return seen_add(sp, d->hdr.seq, hash, ts, &d->peer);
}

void rv_seq_free(struct rv_seqspace *sp)
{
	free(sp->seen);
	memset(sp, 0, sizeof(*sp));
}

