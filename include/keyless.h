/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Keyless mode's slow-path rule (issue 16), for any role that holds no
 * session key (the host today, the gateway next): what one session keeps
 * (the sequence number mosh-server's reply confirmed, a bounded list of
 * unverified candidate sources, a delivery budget) and the two decisions.
 * Pure: no sockets, no session table; time is passed in.
 *
 * Inbound, from a source without a pinhole, only what is visible in clear
 * is checked: the length, the direction bit, a sequence number a client
 * can reach and above the one last confirmed. Such a datagram is delivered
 * within the session's budget and its source becomes a candidate (at most
 * MH_KL_CANDIDATES, the least recently seen goes first), unless its own
 * pinhole has just reached the kernel (it was queued before: see
 * mh_keyless_inbound). Outbound,
 * mosh-server's datagram to a candidate is the proof (mosh-server moves to
 * a new address only after it authenticated a newer datagram from it):
 * the pinhole opens. To anyone else it is dropped.
 *
 * State per session, and why no more: one confirmed sequence number, only
 * ever raised at a confirmation, to the lowest number the confirmed source
 * sent while a candidate (and no higher than any candidate evicted or
 * expired since the last confirmation sent: the real client's slot may
 * have been pushed out and its address spoofed since). An unauthenticated
 * datagram can therefore never raise it (a forged 2^40-1 would otherwise
 * lock the real client out of every later roam); a forgery can only lower
 * what a confirmation records, which lets more old datagrams reach
 * mosh-server, within the budget, where SSP drops them. A lowest number
 * per candidate and one for the candidates lost is all it takes.
 */
#ifndef MH_KEYLESS_H
#define MH_KEYLESS_H

#include <stdbool.h>
#include <stdint.h>

#include "mh_consts.h"
#include "pkt.h"
#include "ssp.h"

#define MH_KL_CANDIDATES   8
/* No mosh client sends less (the shortest real datagram is 46 bytes:
 * header, timestamps, fragment header, a zlib stream, tag), nor a
 * sequence number near 2^40 (one datagram a millisecond for 34 years). */
#define MH_KL_MIN_PAYLOAD  (SSP_MIN_DATAGRAM_LEN + 16)
#define MH_KL_MAX_SEQ      ((UINT64_C(1) << 40) - 1)

struct mh_kl_cand {
	struct mh_addr src;
	uint64_t seen_ms;        /* its latest datagram; 0: slot free */
	uint64_t low_seq;        /* lowest sequence number it sent as a candidate */
};

struct mh_keyless {
	bool confirmed;          /* confirmed_seq is valid */
	uint64_t confirmed_seq;  /* see above */
	bool lost;               /* lost_low is valid */
	uint64_t lost_low;       /* lowest sequence number of the candidates
				    evicted or expired since the last
				    confirmation: a confirmation never rises
				    above it (a source evicted, then spoofed
				    with a high number, poisons nothing) */
	uint64_t tokens;         /* budget, in thousandths of a datagram */
	uint64_t refill_ms;      /* when tokens were last topped up */
	struct mh_kl_cand cand[MH_KL_CANDIDATES];
};

struct mh_kl_policy {
	unsigned rate;           /* unverified datagrams a second a session takes
				    (burst: the same number); at least 1 */
	unsigned candidate_lifetime_ms;
};

enum mh_kl_verdict {
	MH_KL_DELIVER,           /* within the budget; the source is a candidate
				  * (if one was given) */
	MH_KL_SHORT,             /* shorter than any mosh datagram */
	MH_KL_WRONG_DIRECTION,   /* the to-client direction bit */
	MH_KL_IMPLAUSIBLE_SEQ,   /* a sequence number no client reaches */
	MH_KL_REPLAY,            /* sequence number not above the confirmed one */
	MH_KL_OVER_BUDGET,       /* the session's budget is spent */
};

/* A new session: nothing confirmed, a full budget. */
void mh_keyless_init(struct mh_keyless *k, const struct mh_kl_policy *p,
		     uint64_t now_ms);
/* A resumed session: what an earlier daemon had confirmed. */
void mh_keyless_restore(struct mh_keyless *k, uint64_t confirmed_seq);

/* An inbound datagram (payload len bytes, header h) from src, which holds
 * no pinhole. src NULL: its source's pinhole is in the kernel already
 * (the datagram was queued before the pinhole got there), so the datagram
 * is checked and counted against the budget like any other, but not noted
 * as a candidate: a stale candidate of that source would let a later
 * datagram of mosh-server's, after the pinhole has idled out, reopen it. */
enum mh_kl_verdict mh_keyless_inbound(struct mh_keyless *k,
				      const struct mh_kl_policy *p,
				      const struct ssp_header *h, size_t len,
				      const struct mh_addr *src, uint64_t now_ms);

/* mosh-server sends to dst, which holds no pinhole: true if dst is a
 * candidate seen within the candidate lifetime (it is taken, and the
 * confirmed sequence number follows), false if the datagram must go. */
bool mh_keyless_confirm(struct mh_keyless *k, const struct mh_kl_policy *p,
			const struct mh_addr *dst, uint64_t now_ms);

/* Candidates live now (tests, mosh-helperctl). */
unsigned mh_keyless_candidates(const struct mh_keyless *k,
			       const struct mh_kl_policy *p, uint64_t now_ms);

#endif
