/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The slow-path decision (see verdict.h for the policy). Cheap checks come
 * first (packet shape, session, length, direction), the tag check next,
 * and state changes only after a datagram is proven authentic.
 */
#include <string.h>

#include "muxsel.h"
#include "verdict.h"

static const char *const reason_names[MH_R_COUNT] = {
	[MH_R_NEW_SOURCE] = "new_source",
	[MH_R_REORDERED] = "reordered",
	[MH_R_CONFIRMED] = "confirmed",
	[MH_R_MAPPED] = "mapped",
	[MH_R_PINHOLED] = "pinholed",
	[MH_R_UNVERIFIED] = "unverified",
	[MH_R_MALFORMED] = "malformed",
	[MH_R_NO_SESSION] = "no_session",
	[MH_R_NOT_BOUND] = "not_bound",
	[MH_R_SHORT] = "short",
	[MH_R_WRONG_DIRECTION] = "wrong_direction",
	[MH_R_FORGED] = "forged",
	[MH_R_REPLAY] = "replay",
	[MH_R_NOT_CANDIDATE] = "not_candidate",
	[MH_R_NO_MATCH] = "no_match",
	[MH_R_OVER_BUDGET] = "over_budget",
	[MH_R_IMPLAUSIBLE_SEQ] = "implausible_seq",
	[MH_R_STALE_FLOW] = "stale_flow",
	[MH_R_CLAIMED] = "claimed",
};

const char *mh_reason_name(enum mh_reason r)
{
	return (unsigned)r < MH_R_COUNT ? reason_names[r] : "unknown";
}

static void verdict(struct mh_decision *d, bool accept, enum mh_reason r)
{
	d->accept = accept;
	d->reason = r;
}

static void decide_inbound(struct mh_table *t, struct mh_session *s,
			   const struct mh_policy *pol, uint64_t now_ms,
			   struct mh_decision *d)
{
	const struct mh_addr *src = &d->pkt.src;

	if (d->hdr.seq > s->max_seq_in || !s->seen_in) {
		mh_session_seq_seen(t, s, d->hdr.seq);
		s->contacted = true;
		s->last_alive_ms = now_ms;
		mh_candidate_add(s, src, now_ms + pol->candidate_lifetime_ms);
		verdict(d, true, MH_R_NEW_SOURCE);
	} else if (mh_candidate_take(s, src, now_ms, false)) {
		verdict(d, true, MH_R_REORDERED);
	} else {
		verdict(d, false, MH_R_REPLAY);
	}
}

/* true if r (a pinhole record, or NULL) was opened within the last
 * lifetime_ms. */
static bool pinholed_lately(const struct mh_pinhole_rec *r, uint64_t now_ms,
			    uint64_t lifetime_ms)
{
	return r && now_ms - r->added_ms <= lifetime_ms;
}

/* mosh-server's authentic reply to a candidate opens its pinhole. A second
 * reply queued before that pinhole reached the kernel finds the candidate
 * already taken: it goes out too, as long as the pinhole is that fresh. */
static void decide_outbound(struct mh_session *s, const struct mh_policy *pol,
			    uint64_t now_ms, struct mh_decision *d)
{
	const struct mh_addr *dst = &d->pkt.dst;

	if (!mh_candidate_take(s, dst, now_ms, true)) {
		if (pinholed_lately(mh_pinhole_find(s, dst), now_ms,
				    pol->candidate_lifetime_ms))
			verdict(d, true, MH_R_PINHOLED);
		else
			verdict(d, false, MH_R_NOT_CANDIDATE);
		return;
	}
	d->add_pinhole = true;
	d->evict = mh_pinhole_record_ex(s, dst, now_ms, &d->evicted_rec);
	d->evicted = d->evicted_rec.client;
	s->last_alive_ms = now_ms;
	verdict(d, true, MH_R_CONFIRMED);
}

/* Keyless: what is visible decides, within the session's budget. */
static void keyless_inbound(struct mh_session *s, const struct mh_policy *pol,
			    uint64_t now_ms, struct mh_decision *d)
{
	static const enum mh_reason why[] = {
		[MH_KL_DELIVER] = MH_R_UNVERIFIED,
		[MH_KL_SHORT] = MH_R_SHORT,
		[MH_KL_WRONG_DIRECTION] = MH_R_WRONG_DIRECTION,
		[MH_KL_IMPLAUSIBLE_SEQ] = MH_R_IMPLAUSIBLE_SEQ,
		[MH_KL_REPLAY] = MH_R_REPLAY,
		[MH_KL_OVER_BUDGET] = MH_R_OVER_BUDGET,
	};
	const struct mh_addr *src = &d->pkt.src;
	const struct mh_pinhole_rec *r = mh_pinhole_find(s, src);
	enum mh_kl_verdict v;

	/* Queued before its own pinhole reached the kernel: no candidate.
	 * Only within candidate_lifetime of the add (the window the outbound
	 * race gets, pinholed_lately), so that a record the kernel no longer
	 * has (an add it refused, an adopted pinhole near its end, a raised
	 * idle timeout) delays a returning client by that much at most. */
	if (pinholed_lately(r, now_ms, pol->candidate_lifetime_ms) &&
	    mh_pinhole_in_kernel(r, pol->idle_timeout_ms, now_ms))
		src = NULL;
	v = mh_keyless_inbound(&s->kl, &pol->kl, &d->hdr, d->pkt.len, src, now_ms);
	verdict(d, v == MH_KL_DELIVER, why[v]);
}

/* Keyless: mosh-server's own datagram to a candidate is the proof; the
 * session counts as contacted from then on (not on a datagram nobody
 * verified). */
static void keyless_outbound(struct mh_table *t, struct mh_session *s,
			     const struct mh_policy *pol, uint64_t now_ms,
			     struct mh_decision *d)
{
	const struct mh_addr *dst = &d->pkt.dst;

	if (!mh_keyless_confirm(&s->kl, &pol->kl, dst, now_ms)) {
		if (pinholed_lately(mh_pinhole_find(s, dst), now_ms,
				    pol->candidate_lifetime_ms))
			verdict(d, true, MH_R_PINHOLED);
		else
			verdict(d, false, MH_R_NOT_CANDIDATE);
		return;
	}
	mh_session_seq_seen(t, s, s->kl.confirmed_seq);
	s->contacted = true;
	d->add_pinhole = true;
	d->evict = mh_pinhole_record_ex(s, dst, now_ms, &d->evicted_rec);
	d->evicted = d->evicted_rec.client;
	s->last_alive_ms = now_ms;
	verdict(d, true, MH_R_CONFIRMED);
}

static struct mh_session *find_by_port(void *arg, const struct mh_addr *server)
{
	return mh_session_by_port(arg, server->port);
}

/* The checks every queued datagram passes before its path's rule: returns
 * the session, or NULL with the drop reason set. Keyless: no tag check. */
static struct mh_session *authenticate(enum mh_path path, const uint8_t *l3,
				       size_t len, mh_find_session_fn find,
				       void *arg, bool keyless,
				       struct mh_decision *d)
{
	enum ssp_direction want = path == MH_INBOUND ? SSP_TO_SERVER : SSP_TO_CLIENT;
	struct mh_session *s;
	const char *why;

	d->accept = false;
	d->reason = MH_R_MALFORMED;
	if (mh_pkt_parse(l3, len, &d->pkt, &why) < 0)
		return NULL;
	s = find(arg, path == MH_INBOUND ? &d->pkt.dst : &d->pkt.src);
	d->session = s;
	d->reason = MH_R_NO_SESSION;
	if (!s)
		return NULL;
	d->reason = MH_R_NOT_BOUND;
	if (path == MH_INBOUND && !mh_session_bound_to(s, &d->pkt.dst))
		return NULL;
	d->reason = MH_R_SHORT;
	if (ssp_parse_header(d->pkt.payload, d->pkt.len, &d->hdr) < 0)
		return NULL;
	d->reason = MH_R_WRONG_DIRECTION;
	if (d->hdr.direction != want)
		return NULL;
	if (keyless)
		return s;
	d->reason = MH_R_FORGED;
	if (!s->ssp || ssp_verify(s->ssp, d->pkt.payload, d->pkt.len, &d->hdr) < 0)
		return NULL;
	return s;
}

void mh_decide(struct mh_table *t, const struct mh_policy *pol,
	       enum mh_path path, const uint8_t *l3, size_t len,
	       uint64_t now_ms, struct mh_decision *d)
{
	mh_decide_by(t, pol, path, l3, len, now_ms, find_by_port, t, d);
}

void mh_decide_by(struct mh_table *t, const struct mh_policy *pol,
		  enum mh_path path, const uint8_t *l3, size_t len,
		  uint64_t now_ms, mh_find_session_fn find, void *arg,
		  struct mh_decision *d)
{
	struct mh_session *s;

	memset(d, 0, sizeof(*d));
	s = authenticate(path, l3, len, find, arg, pol->keyless, d);
	if (!s)
		return;
	if (pol->keyless && path == MH_INBOUND)
		keyless_inbound(s, pol, now_ms, d);
	else if (pol->keyless)
		keyless_outbound(t, s, pol, now_ms, d);
	else if (path == MH_INBOUND)
		decide_inbound(t, s, pol, now_ms, d);
	else
		decide_outbound(s, pol, now_ms, d);
}

/* Which of the candidates takes this datagram as a new source? The first
 * block decrypted with a wrong key is noise, and real mosh plaintext has
 * zeros where noise almost never does: first blocks are computed four
 * candidates at a time (d->trials counts them), and only a plausible one
 * pays for the tag check, which never re-keys a context of the shared
 * cache. */
static struct mh_session *mux_find(struct mh_table *t, struct mh_decision *d)
{
	struct mh_session *c[MH_MUX_MAX_TRIALS];
	unsigned i, k, n = mh_mux_candidates(t, &d->pkt.src, &d->pkt.dst,
					     d->hdr.seq, c);

	for (i = 0; i < n; i += 4) {
		unsigned m = n - i < 4 ? n - i : 4;
		bool plausible[4];

		mh_mux_first_blocks(c + i, m, d->pkt.payload, d->pkt.len, plausible);
		d->trials += m;
		for (k = 0; k < m; k++) {
			struct mh_session *s = c[i + k];

			if (!plausible[k] || (s->seen_in && d->hdr.seq <= s->max_seq_in))
				continue;   /* noise, or it would be dropped as a replay */
			if (ssp_verify_trial(s->ssp, d->pkt.payload, d->pkt.len) == 0)
				return s;
		}
	}
	return NULL;
}

/* What no client sends to the public port: too short for the first-block
 * test (and for any mosh datagram), or a header word that is not a
 * to-server one of a sequence number a session can reach. The kernel
 * drops both before the queue; checked again here. */
static enum mh_reason mux_shape(const struct mh_decision *d)
{
	if (d->pkt.len < MH_MUX_MIN_PAYLOAD)
		return MH_R_SHORT;
	if (d->hdr.direction != SSP_TO_SERVER || d->hdr.seq > MH_MUX_MAX_SEQ)
		return MH_R_WRONG_DIRECTION;
	return MH_R_NO_MATCH;
}

void mh_decide_mux(struct mh_table *t, const struct mh_policy *pol,
		   const uint8_t *l3, size_t len, struct mh_decision *d)
{
	const char *why;

	memset(d, 0, sizeof(*d));
	d->reason = MH_R_MALFORMED;
	if (mh_pkt_parse(l3, len, &d->pkt, &why) < 0)
		return;
	d->reason = MH_R_NO_SESSION;
	/* keyless: no key to find a session with (config.c refuses both) */
	if (!pol->public_port || d->pkt.dst.port != pol->public_port ||
	    pol->keyless)
		return;
	d->reason = MH_R_SHORT;
	if (ssp_parse_header(d->pkt.payload, d->pkt.len, &d->hdr) < 0)
		return;
	d->reason = mux_shape(d);
	if (d->reason != MH_R_NO_MATCH)
		return;
	d->session = mux_find(t, d);
	if (d->session) {
		mh_mux_forget(t, &d->pkt.src);
		d->reason = MH_R_MAPPED;
		d->accept = true;
	} else {
		mh_mux_note(t, &d->pkt.src, d->pkt.payload, d->pkt.len);
	}
}

/* Does the flow end where the datagram would go anyway: at the address
 * it was sent to, on the session's own port or (not NATed) the public
 * one? */
static bool flow_goes_to_its_session(const struct mh_policy *pol,
				     const struct mh_addr *to,
				     const struct mh_decision *d)
{
	return mh_addr_equal_host(to, &d->pkt.dst) &&
	       (to->port == d->session->port || to->port == pol->public_port);
}

void mh_decide_mux_flow(const struct mh_policy *pol, struct mh_session *held,
			const struct mh_addr *flow_to, uint64_t now_ms,
			struct mh_decision *d)
{
	if (!d->accept || !d->session || !flow_to || !flow_to->port ||
	    flow_goes_to_its_session(pol, flow_to, d))
		return;
	if (held && mh_pinhole_find(held, &d->pkt.src)) {
		verdict(d, false, MH_R_CLAIMED);
		return;
	}
	if (held)
		mh_candidate_take(held, &d->pkt.src, now_ms, true);
	d->cut_flow = true;
	verdict(d, false, MH_R_STALE_FLOW);
}
