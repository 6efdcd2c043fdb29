/*
 * Single-port trial selection (include/muxsel.h): the bounded candidate
 * list of one datagram, and the sweep that finds, in the background and
 * within a CPU budget, the session of a source the bound left out. Nothing
 * here authenticates: verdict.c verifies every candidate's tag.
 */
#include <string.h>

#include "muxsel.h"

/* ---- the candidate list ------------------------------------------------- */

struct pick {
	struct mh_session **out;
	unsigned n;
	const struct mh_addr *dst;
	uint64_t seq;
};

static bool can_take(const struct mh_session *s, const struct pick *p)
{
	return s->seq_key <= p->seq && mh_session_bound_to(s, p->dst);
}

/* Adds s unless it is listed or cannot take the datagram; false when the
 * list is full. */
static bool add(struct pick *p, struct mh_session *s)
{
	unsigned i;

	if (p->n >= MH_MUX_MAX_TRIALS)
		return false;
	if (!can_take(s, p))
		return true;
	for (i = 0; i < p->n; i++)
		if (p->out[i] == s)
			return true;
	p->out[p->n++] = s;
	return true;
}

static struct mh_mux_pending *pend_find(const struct mh_table *t,
					const struct mh_addr *src)
{
	unsigned i;

	for (i = 0; i < MH_MUX_PENDING; i++)
		if (t->pend[i].stamp && mh_addr_equal(&t->pend[i].src, src))
			return (struct mh_mux_pending *)&t->pend[i];
	return NULL;
}

/* The session the sweep found for src, if it still exists. */
static struct mh_session *swept(const struct mh_table *t,
				const struct mh_addr *src)
{
	const struct mh_mux_pending *e = pend_find(t, src);
	struct mh_session *s;

	if (!e || !e->match_id)
		return NULL;
	s = t->by_port[e->match_port];
	return s && s->id == e->match_id ? s : NULL;
}

static void add_hints(const struct mh_table *t, const struct mh_addr *src,
		      struct pick *p)
{
	unsigned walked = 0, before = p->n;
	struct mh_session *s;

	for (s = mh_session_hint_first(t, src);
	     s && walked < MH_MUX_WALK && p->n - before < MH_MUX_HINT_TRIALS;
	     s = mh_session_hint_next(s, src), walked++)
		add(p, s);
}

/* Walks down from the nearest key below seq. */
static void add_by_seq(const struct mh_table *t, struct pick *p)
{
	unsigned i = mh_session_seq_upper(t, p->seq), walked = 0;

	while (i > 0 && walked++ < MH_MUX_WALK && add(p, t->by_seq[i - 1]))
		i--;
}

unsigned mh_mux_candidates(const struct mh_table *t, const struct mh_addr *src,
			   const struct mh_addr *dst, uint64_t seq,
			   struct mh_session **out)
{
	struct pick p = { out, 0, dst, seq };
	struct mh_session *s = swept(t, src);

	if (s)
		add(&p, s);
	add_hints(t, src, &p);
	add_by_seq(t, &p);
	return p.n;
}

/* ---- unplaced sources --------------------------------------------------- */

/* Which entry a new source takes: a free one, else one the sweep finished
 * without a match, else the one seen least, oldest first. */
static struct mh_mux_pending *pend_victim(struct mh_table *t)
{
	struct mh_mux_pending *v = &t->pend[0];
	unsigned i;

	for (i = 0; i < MH_MUX_PENDING; i++) {
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
		e = pend_victim(t);
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

bool mh_mux_first_block(const struct mh_session *s, const uint8_t *payload,
			size_t len)
{
	const struct ssp_fastpeek *fp = ssp_ctx_fastpeek(s->ssp);
	uint8_t first[16];
	int rc = fp ? ssp_fastpeek(fp, payload, len, first)
		    : ssp_peek(s->ssp, payload, len, first);

	return rc == 0 && ssp_plausible_start(first);
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

/* Tests e against sessions from its cursor on, up to budget trials (port
 * slots without a session cost nothing but the read, at most 4 per trial
 * budgeted). Returns the trials spent. */
static unsigned sweep_one(struct mh_table *t, struct mh_mux_pending *e,
			  unsigned budget)
{
	unsigned spent = 0, slots = 0;

	while (e->next_port <= 0xffff && spent < budget && slots < 4 * budget) {
		struct mh_session *s = t->by_port[e->next_port++];

		slots++;
		if (!s)
			continue;
		spent++;
		if (mh_mux_first_block(s, e->head, sizeof(e->head))) {
			e->match_id = s->id;
			e->match_port = s->port;
			break;
		}
	}
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
