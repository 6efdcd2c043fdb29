/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Private to the relay listener's child (gwlisten.c: start-up, the loop,
 * accepting; gwconn.c: one relay connection, its TLS and its frames, and
 * the messages to the daemon).
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

enum gwc_state { GWC_HANDSHAKE, GWC_HELLO, GWC_UP, GWC_CLOSING };

struct gwc {
	uint32_t id;                 /* connection number, never reused */
	unsigned slot;
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
	uint64_t hs_ms;
	uint32_t next_id;
	struct gwc **conns;          /* max slots */
	uint32_t *down;              /* per slot: the DOWN of a connection closed
					there that the daemon has not taken yet
					(0: none); the slot waits for it */
	struct mh_ratelimit full_log;
	bool parent_gone;
	bool keyless;                /* keyless gateway: a keyed OPEN stops here */
};

/* gwconn.c */
void gwc_open(struct gwl *l, int fd, const char *peer, unsigned slot);
void gwc_service(struct gwl *l, struct gwc *c);      /* readable / writable */
void gwc_answered(struct gwl *l, struct gwc *c, const struct mhr_msg *ans);
void gwc_tick(struct gwl *l, struct gwc *c, uint64_t now_ms);
void gwc_close(struct gwl *l, struct gwc *c, const char *why);
/* a message to the daemon: 0 or -errno */
int gwl_send(struct gwl *l, const struct mh_gwp *p);
/* the DOWNs l->down holds, in slot order, until the daemon takes no more;
 * true if none is left waiting */
bool gwl_flush_downs(struct gwl *l);

#endif
