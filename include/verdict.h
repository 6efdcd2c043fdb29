/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The slow-path policy: one function decides every queued datagram and
 * states why. Inbound (client -> server port): authentic to-server datagram,
 * newer than anything seen -> deliver and remember the source as a
 * candidate. Outbound (server port -> client): authentic to-client datagram
 * to a candidate -> open a pinhole and let it out. Everything else is
 * dropped. Pure: the caller applies the pinhole to the kernel.
 */
#ifndef MH_VERDICT_H
#define MH_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

#include "keyless.h"
#include "pkt.h"
#include "session.h"

enum mh_reason {
	MH_R_NEW_SOURCE = 0,  /* accept: authentic, newer; source is a candidate */
	MH_R_REORDERED,       /* accept: authentic, older, from a candidate */
	MH_R_CONFIRMED,       /* accept: mosh-server answered a candidate: pinhole */
	MH_R_MAPPED,          /* accept: single port, the session found by its key */
	MH_R_PINHOLED,        /* accept: server datagram to a client whose pinhole
				 opened within candidate_lifetime (queued before the
				 pinhole was in the kernel) */
	MH_R_UNVERIFIED,      /* accept: keyless, plausible and newer, within the
				 session's budget; source is a candidate (not
				 if its pinhole has just reached the kernel) */
	MH_R_MALFORMED,       /* drop: not a whole UDP datagram */
	MH_R_NO_SESSION,      /* drop: no session on that port */
	MH_R_NOT_BOUND,       /* drop: to a local address mosh-server is not bound to */
	MH_R_SHORT,           /* drop: shorter than an SSP header and tag */
	MH_R_WRONG_DIRECTION, /* drop: direction bit does not fit the path */
	MH_R_FORGED,          /* drop: tag does not verify */
	MH_R_REPLAY,          /* drop: authentic but old, from a non-candidate */
	MH_R_NOT_CANDIDATE,   /* drop: server datagram to an unconfirmed address */
	MH_R_NO_MATCH,        /* drop: single port, no session could accept it */
	MH_R_OVER_BUDGET,     /* drop: keyless, the session's budget is spent */
	MH_R_IMPLAUSIBLE_SEQ, /* drop: keyless, a sequence number of 2^40 or more,
				 which no mosh client reaches (keyless.h) */
	MH_R_STALE_FLOW,      /* drop: single port, authentic for one session but
				 carried by a flow to another's port that no
				 answered client of it holds: the flow is cut */
	MH_R_CLAIMED,         /* drop: single port, authentic for one session but
				 from a source another session's mosh-server
				 answered (its pinhole): that flow stays */
	MH_R_COUNT,
	MH_R_FIRST_DROP = MH_R_MALFORMED  /* reasons below this one accept */
};

enum mh_path { MH_INBOUND, MH_OUTBOUND };

struct mh_decision {
	bool accept;
	enum mh_reason reason;
	struct mh_session *session;   /* NULL if none was found */
	struct mh_pkt pkt;
	struct ssp_header hdr;        /* valid from MH_R_WRONG_DIRECTION on */
	bool add_pinhole;             /* open (client = pkt.dst, session port) */
	bool evict;                   /* and delete the evicted one */
	struct mh_addr evicted;
	struct mh_pinhole_rec evicted_rec;   /* its record, as it was */
	unsigned trials;              /* single port: sessions tried */
	bool cut_flow;                /* single port: delete the datagram's own
					 conntrack entry (MH_R_STALE_FLOW) */
};

struct mh_policy {
	unsigned candidate_lifetime_ms;
	unsigned idle_timeout_ms;      /* a pinhole's idle timeout (keyless:
					* whether its element is in the kernel) */
	uint16_t public_port;          /* single-port mode; 0 = off */
	bool keyless;                  /* no session keys: keyless.h's rule */
	struct mh_kl_policy kl;        /* its budget and candidate lifetime */
};

/* Decide one queued layer-3 packet, updating the session state it proves
 * (sequence, candidates, pinhole records). Never allocates. */
void mh_decide(struct mh_table *t, const struct mh_policy *pol,
	       enum mh_path path, const uint8_t *l3, size_t len,
	       uint64_t now_ms, struct mh_decision *d);

/* The same decision where a session is not found by its port alone (the
 * gateway: by server address and port). find gets the server's side of
 * the datagram (its destination inbound, its source outbound) and returns
 * that session or NULL. */
typedef struct mh_session *(*mh_find_session_fn)(void *arg,
						  const struct mh_addr *server);
void mh_decide_by(struct mh_table *t, const struct mh_policy *pol,
		  enum mh_path path, const uint8_t *l3, size_t len,
		  uint64_t now_ms, mh_find_session_fn find, void *arg,
		  struct mh_decision *d);

/* Single-port mode: a datagram to the public port from a source with no
 * mapping. Finds the session it authenticates with (to-server, newer than
 * that session has seen, sent to an address the session is bound to),
 * trying at most MH_MUX_MAX_TRIALS sessions whatever their number (see
 * muxsel.h: the one the sweep found for this source, the SSH login's
 * address, the sequence index). Shorter than MH_MUX_MIN_PAYLOAD: dropped
 * MH_R_SHORT; a header word no client sends (direction bit, sequence
 * number above MH_MUX_MAX_SEQ): MH_R_WRONG_DIRECTION. Accepts with
 * MH_R_MAPPED and d->session set (the caller adds a provisional mapping).
 * Changes no session state, since the same datagram is decided again on
 * the session's own port after the DNAT; a source it cannot place is
 * noted for the background sweep (mh_mux_sweep), which may put its
 * session first for that source's next datagram. */
void mh_decide_mux(struct mh_table *t, const struct mh_policy *pol,
		   const uint8_t *l3, size_t len, struct mh_decision *d);

/* Single-port mode, after mh_decide_mux accepted d: the datagram already
 * belongs to a conntrack flow whose DNAT sends it to flow_to (the entry's
 * reply source, address and port; NULL or port 0: no flow), and held is
 * the session that lives there (NULL if none): on a host the session of
 * that port, at a gateway the one of that server address . port. The
 * flow, not a mapping added now, decides where the datagram goes. Nothing
 * changes if flow_to is where d->session lives (the address the datagram
 * was sent to, the session's port) or the public port there (a flow not
 * NATed yet): the DNAT changes the port only, so a flow to another
 * address or another port is another session's or nobody's. If held's
 * mosh-server answered this source (held keeps its pinhole record), the
 * source stays held's: MH_R_CLAIMED; a replay of a captured datagram can
 * pass the trial but never makes a server answer, so a forged source
 * cannot take an answered client's flow. Otherwise the flow is stale (an
 * earlier trial's that its server never answered, or one whose session
 * is gone): held's candidate for the source is withdrawn (a late answer
 * must not open a pinhole to it) and d says MH_R_STALE_FLOW with
 * cut_flow set; the caller deletes the entry, and the source's next
 * datagram starts a new flow, decided again. Both drop this datagram,
 * which can only follow its flow. */
void mh_decide_mux_flow(const struct mh_policy *pol, struct mh_session *held,
			const struct mh_addr *flow_to, uint64_t now_ms,
			struct mh_decision *d);

const char *mh_reason_name(enum mh_reason r);

#endif
