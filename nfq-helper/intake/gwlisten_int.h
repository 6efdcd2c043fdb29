/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Private to the relay listener's child (gwlisten.c: start-up, the loop,
 * accepting; gwconn.c: one relay connection, its TLS and its frames, the
 * messages to the daemon, and which slot is free while DOWNs wait; the
 * unit test test_gwconn drives gwconn.c alone).
 */
#ifndef MH_GWLISTEN_INT_H
#define MH_GWLISTEN_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "gwpriv.h"
#include "log.h"
#include "relaywire.h"
#include "tls.h"

#define GWC_IN_CAP    (2 * MHR_MAX_FRAME)  /* bytes read, not yet framed */
/* Frames of one relay with the daemon at once once its HELLO is answered
 * (a resync's OPENs then reach the daemon together: their session adds go
 * into the kernel as one transaction, gwcore.h); the answers of all of
 * them fit in the half of out that reading leaves free. */
#define GWC_WINDOW    64
#define GWC_OUT_CAP   (2 * (GWC_WINDOW + 4) * MHR_MAX_FRAME)  /* answers not yet written */
#define GWC_CLOSE_MS  2000                 /* to flush a last answer */
#define GWC_ANSWER_MS 30000                /* the daemon's answers are lost */

/* Connections still in their TLS handshake that one source may hold (an
 * IPv4 address, or an IPv6 /64: a host commonly has its whole prefix, so a
 * finer key would give one host more). A login server's relay handshakes
 * on one connection at a time, in milliseconds; the margin is for a retry
 * while a stalled attempt still waits for its timeout, or a few relays
 * behind one address. A peer that opens connections and never finishes
 * TLS holds this many, each until relay_handshake_timeout, and further
 * ones are closed at once, so relays from other addresses still find
 * free slots. Never more than half of relay_max_connections, so that one
 * source cannot hold all of them. */
#define GWL_PRE_PER_SOURCE 4

/* Log lines a peer causes before its certificate is checked (refused at
 * accept, failed or stalled handshakes) come from a token bucket per kind:
 * GWL_NOISE_BURST lines, then one every 5 s. What a bucket holds back is
 * counted and summed up in one line at most every GWL_NOISE_SUMMARY_MS,
 * so a flood writes a few lines a minute, and still says it is there. */
#define GWL_NOISE_BURST      20
#define GWL_NOISE_PER_SEC    0.2
#define GWL_NOISE_SUMMARY_MS 60000
enum gwl_noise { GWL_NOISE_REFUSED, GWL_NOISE_HANDSHAKE, GWL_NOISE_KINDS };

/* An address as GWL_PRE_PER_SOURCE counts it: family 4 (the address in
 * b[0..3]; also a v4-mapped IPv6 one) or 6 (its /64 prefix in b). */
struct gwl_addr_key {
	uint8_t fam;
	uint8_t b[8];
};

/* A connection's source, and the gateway's own address it came to (to:
 * all zero if unknown). A relay connects to the address its configuration
 * names, which its host's table keeps that host's other users from
 * (nft/relayguard.c); they can still reach the gateway's other
 * addresses, but each address has its own count. */
struct gwl_src {
	struct gwl_addr_key from, to;
};

enum gwc_state { GWC_HANDSHAKE, GWC_HELLO, GWC_UP, GWC_CLOSING };

struct gwc {
	uint32_t id;                 /* connection number, never reused */
	unsigned slot;
	struct gwl_src src;
	int fd;
	struct mh_tls_conn *t;
	enum gwc_state state;
	unsigned pending;            /* frames with the daemon */
	uint64_t answer_ms;          /* its last answer, or when pending left 0 */
	bool greeted;                /* the daemon accepted its HELLO */
	bool was_up;                 /* the daemon knows it (UP sent) */
	bool registered;             /* in the epoll set */
	uint32_t events;             /* what it is registered for */
	char name[MH_TLS_SUBJ_MAX + 80];  /* for log lines */
	struct mh_tls_peer peer;
	uint64_t deadline_ms;        /* handshake + HELLO, or the last flush */
	uint64_t last_ms;            /* last frame received */
	uint32_t hb_ms;              /* from HELLO */
	uint64_t beat_ms;            /* last BEAT told to the daemon */
	size_t in_len, out_len;
	uint8_t in[GWC_IN_CAP];
	uint8_t out[GWC_OUT_CAP];
};

struct gwl {
	int lfd, sock, epfd;
	struct mh_tls_ctx *tls;
	unsigned max, n_open;
	unsigned per_src;            /* GWL_PRE_PER_SOURCE, or less (max / 2) */
	uint64_t hs_ms;
	uint32_t next_id;
	struct gwc **conns;          /* max slots */
	uint32_t *down;              /* per slot: the DOWN of a connection closed
					there that the daemon has not taken yet
					(0: none); the slot waits for it */
	struct mh_ratelimit noise[GWL_NOISE_KINDS];
	uint64_t noise_ms;           /* the last summary of held-back lines */
	char noise_who[96];          /* the peer of the last line held back */
	bool parent_gone;
	bool accept_paused;          /* accept4 failed short of descriptors or
					memory: the listening socket is left out
					of the wait until the next tick */
	bool keyless;                /* keyless gateway: a keyed OPEN stops here */
};

/* gwconn.c. gwl_noise_ok: true if a line of this kind about peer `who`
 * may be logged now; else it is counted for the next summary (which
 * gwlisten.c writes). */
bool gwl_noise_ok(struct gwl *l, enum gwl_noise kind, const char *who);
void gwc_open(struct gwl *l, int fd, const char *peer,
	      const struct gwl_src *src, unsigned slot);
void gwc_service(struct gwl *l, struct gwc *c);      /* readable / writable */
void gwc_answered(struct gwl *l, struct gwc *c, const struct mhr_msg *ans);
void gwc_tick(struct gwl *l, struct gwc *c, uint64_t now_ms);
void gwc_close(struct gwl *l, struct gwc *c, const char *why);
/* a message to the daemon: 0 or -errno */
int gwl_send(struct gwl *l, const struct mh_gwp *p);
/* the DOWNs l->down holds, in slot order, until the daemon takes no more;
 * true if none is left waiting */
bool gwl_flush_downs(struct gwl *l);
/* a slot for a connection just accepted (the DOWNs waiting sent first; a
 * slot whose DOWN still waits is not free), or -1 */
int gwl_free_slot(struct gwl *l);

#endif
