/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Single-port trial selection (include/muxsel.h): the bounded candidate
 * list of one datagram, and the sweep that finds, in the background and
 * within a CPU budget, the session of a source the bound left out (by port,
 * or in a gateway's table, whose ports are shared, by the sequence index).
 * Nothing here authenticates: verdict.c verifies every candidate's tag.
 */
#include <string.h>

#include <sys/socket.h>

#include "muxsel.h"

/* ---- the candidate list ------------------------------------------------- */

/* The pending table is 4-way set associative on the source. */
#define PEND_WAYS 4
#define PEND_SETS (MH_MUX_PENDING / PEND_WAYS)

static unsigned pend_set(const struct mh_addr *a)
{
	uint32_t h = 2166136261u ^ a->port;   /* FNV-1a */
	size_t i, n = a->family == AF_INET ? 4 : 16;

	for (i = 0; i < n; i++)
		h = (h ^ a->ip[i]) * 16777619u;
	return (h % PEND_SETS) * PEND_WAYS;
}

static struct mh_mux_pending *pend_find(const struct mh_table *t,
					const struct mh_addr *src)
{
	unsigned i, set = pend_set(src);

	for (i = set; i < set + PEND_WAYS; i++)
		if (t->pend[i].stamp && mh_addr_equal(&t->pend[i].src, src))
			return (struct mh_mux_pending *)&t->pend[i];
	return NULL;
}

/* The session with that id (on that port), if it still exists. A table
 * whose ports are shared (a gateway's) has no port index: its sequence
 * index is searched, once per datagram of a source the sweep placed. */
static struct mh_session *by_id(const struct mh_table *t, uint32_t id,
				uint16_t port)
{
	struct mh_session *s = t->ports_shared ? NULL : t->by_port[port];

	for (unsigned i = 0; t->ports_shared && i < t->count && !s; i++)
		if (t->by_seq[i].s->id == id)
			s = t->by_seq[i].s;
	return s && s->id == id ? s : NULL;
}

/* The session the sweep found for src, if it still exists. */
static struct mh_session *swept(const struct mh_table *t,
				const struct mh_addr *src)
{
	const struct mh_mux_pending *e = pend_find(t, src);

	if (!e || !e->match_id)
		return NULL;
	return by_id(t, e->match_id, e->match_port);
}

static bool can_take(const struct mh_session *s, const struct mh_addr *dst,
		     uint64_t seq)
{
	return s->seq_key <= seq && mh_session_bound_to(s, dst);
}

/* Up to MH_MUX_HINT_TRIALS sessions of src's login address that can take
 * the datagram, into raw[n..]; returns the new n. */
static unsigned hints(const struct mh_table *t, const struct mh_addr *src,
		      const struct mh_addr *dst, uint64_t seq,
		      struct mh_session **raw, unsigned n)
{
	unsigned walked = 0, took = 0;
	struct mh_session *s;

	for (s = mh_session_hint_first(t, src);
	     s && walked < MH_MUX_WALK && took < MH_MUX_HINT_TRIALS;
	     s = mh_session_hint_next(s, src), walked++)
		if (can_take(s, dst, seq)) {
			raw[n++] = s;
			took++;
		}
	return n;
}

/*
 * Three steps, so the memory reads of different sessions overlap: the
 * index is read alone (its keys are inline) and the sessions it names are
 * prefetched; then each is checked (bound, listed once); then the crypto
 * context of each one kept is prefetched for verdict.c's trials.
 */
unsigned mh_mux_candidates(const struct mh_table *t, const struct mh_addr *src,
			   const struct mh_addr *dst, uint64_t seq,
			   struct mh_session **out)
{
	struct mh_session *raw[1 + MH_MUX_HINT_TRIALS + MH_MUX_WALK];
	unsigned nraw = 0, n = 0, i, j, top;
	struct mh_session *s = swept(t, src);

	if (s && can_take(s, dst, seq))
		raw[nraw++] = s;
	nraw = hints(t, src, dst, seq, raw, nraw);
	top = mh_session_seq_upper(t, seq);
	for (i = 0; i < MH_MUX_WALK && i < top; i++) {
		raw[nraw] = t->by_seq[top - 1 - i].s;
		__builtin_prefetch(raw[nraw++]);
	}
	for (i = 0; i < nraw && n < MH_MUX_MAX_TRIALS; i++) {
		s = raw[i];
		if (!mh_session_bound_to(s, dst))
			continue;
		for (j = 0; j < n && out[j] != s; j++)
			;
		if (j == n)
			out[n++] = s;
	}
	for (i = 0; i < n; i++)
		ssp_ctx_prefetch(out[i]->ssp);
	return n;
}

/* ---- unplaced sources --------------------------------------------------- */

/* Which entry of its set a new source takes: a free one, else one the
 * sweep finished without a match, else the one seen least, oldest first. */
static struct mh_mux_pending *pend_victim(struct mh_table *t,
					  const struct mh_addr *src)
{
	unsigned i, set = pend_set(src);
	struct mh_mux_pending *v = &t->pend[set];

	for (i = set; i < set + PEND_WAYS; i++) {
		struct mh_mux_pending *e = &t->pend[i];
		bool e_done = e->next_port > 0xffff && !e->match_id;
		bool v_done = v->next_port > 0xffff && !v->match_id;

		if (!e->stamp)
			return e;
		if (e_done != v_done) {
			if (e_done)
				v = e;
			continue;
		}
		if (e->hits < v->hits || (e->hits == v->hits && e->stamp < v->stamp))
			v = e;
	}
	return v;
}

void mh_mux_note(struct mh_table *t, const struct mh_addr *src,
		 const uint8_t *payload, size_t len)
{
	struct mh_mux_pending *e = pend_find(t, src);

	if (len < MH_MUX_MIN_PAYLOAD)
		return;
	if (!e) {
		e = pend_victim(t, src);
		memset(e, 0, sizeof(*e));
		e->src = *src;
	}
	/* the latest head: the sweep tests keys on it, and a match found on
	 * an older one stays (the key does not change) */
	memcpy(e->head, payload, sizeof(e->head));
	e->stamp = ++t->pend_clock;
	if (e->hits < UINT16_MAX)
		e->hits++;
}

void mh_mux_forget(struct mh_table *t, const struct mh_addr *src)
{
	struct mh_mux_pending *e = pend_find(t, src);

	if (e)
		memset(e, 0, sizeof(*e));
}

/* ---- the sweep ---------------------------------------------------------- */

static bool mh_mux_first_block(const struct mh_session *s, const uint8_t *payload,
			       size_t len)
{
	const struct ssp_fastpeek *fp = ssp_ctx_fastpeek(s->ssp);
	uint8_t first[16];
	int rc = fp ? ssp_fastpeek(fp, payload, len, first)
		    : ssp_peek(s->ssp, payload, len, first);

	return rc == 0 && ssp_plausible_start(first);
}

void mh_mux_first_blocks(struct mh_session *const s[], unsigned n,
			 const uint8_t *payload, size_t len, bool plausible[])
{
	const struct ssp_fastpeek *fp[MH_MUX_MAX_TRIALS] = { 0 };
	uint8_t first[MH_MUX_MAX_TRIALS][16];
	unsigned i;

	for (i = 0; i < n && i < MH_MUX_MAX_TRIALS; i++)
		fp[i] = ssp_ctx_fastpeek(s[i]->ssp);
	if (n <= MH_MUX_MAX_TRIALS &&
	    ssp_fastpeek_many(fp, n, payload, len, first) == 0) {
		for (i = 0; i < n; i++)
			plausible[i] = ssp_plausible_start(first[i]);
		return;
	}
	for (i = 0; i < n; i++)   /* without AES-NI: one by one */
		plausible[i] = mh_mux_first_block(s[i], payload, len);
}

/* The entry to sweep next: unfinished, seen most often, newest. */
static struct mh_mux_pending *sweep_pick(struct mh_table *t)
{
	struct mh_mux_pending *best = NULL;
	unsigned i;

	for (i = 0; i < MH_MUX_PENDING; i++) {
		struct mh_mux_pending *e = &t->pend[i];

		if (!e->stamp || e->match_id || e->next_port > 0xffff)
			continue;
		if (!best || e->hits > best->hits ||
		    (e->hits == best->hits && e->stamp > best->stamp))
			best = e;
	}
	return best;
}

/* The cursor's end: every port, or in a table whose ports are shared
 * every place of the sequence index (sessions that move in it while a
 * sweep runs may be skipped or tried twice: a hint, never a verdict). */
static uint32_t sweep_end(const struct mh_table *t)
{
	return t->ports_shared ? t->count : 0x10000;
}

static struct mh_session *sweep_at(const struct mh_table *t, uint32_t i)
{
	return t->ports_shared ? t->by_seq[i].s : t->by_port[i];
}

/* Tests e against sessions from its cursor on, up to budget trials (port
 * slots without a session cost nothing but the read, at most 4 per trial
 * budgeted). Returns the trials spent. */
static unsigned sweep_one(struct mh_table *t, struct mh_mux_pending *e,
			  unsigned budget)
{
	unsigned spent = 0, slots = 0;

	if (e->next_port >= sweep_end(t))   /* the index shrank: finished */
		e->next_port = 0x10000;
	while (e->next_port < sweep_end(t) && spent < budget && slots < 4 * budget) {
		struct mh_session *s = sweep_at(t, e->next_port++);

		slots++;
		if (!s)
			continue;
		spent++;
		/* the first-block tests read only the head; the length
		 * stands for the datagram's (at least MH_MUX_MIN_PAYLOAD) */
		if (mh_mux_first_block(s, e->head, MH_MUX_MIN_PAYLOAD)) {
			e->match_id = s->id;
			e->match_port = s->port;
			break;
		}
	}
	if (e->next_port >= sweep_end(t))
		e->next_port = 0x10000;
	return spent ? spent : slots > 0;
}

static void sweep_refill(struct mh_table *t, uint64_t now_ms)
{
	uint64_t add;

	if (now_ms <= t->sweep_ms && t->sweep_ms)
		return;
	add = t->sweep_ms ? (now_ms - t->sweep_ms) * (MH_MUX_SWEEP_RATE / 1000)
			  : MH_MUX_SWEEP_BURST;
	t->sweep_ms = now_ms;
	t->sweep_tokens = t->sweep_tokens + add > MH_MUX_SWEEP_BURST
			  ? MH_MUX_SWEEP_BURST : t->sweep_tokens + add;
}

unsigned mh_mux_sweep(struct mh_table *t, uint64_t now_ms)
{
	unsigned spent = 0;
	struct mh_mux_pending *e;

	sweep_refill(t, now_ms);
	while (spent < t->sweep_tokens && (e = sweep_pick(t)) != NULL)
		spent += sweep_one(t, e, (unsigned)t->sweep_tokens - spent);
	t->sweep_tokens -= spent;
	return spent;
}
