/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * relay.c: role relay. Every session the local checks accepted goes to
 * each configured gateway over mutually authenticated TLS 1.3 (OPEN), each
 * end too (END); the hook's answer waits for the gateways' (gateway_ack
 * all / any, at most gateway_timeout ms); every (re)connection starts with
 * HELLO and a resync of every live session. Intake: it opens nothing
 * itself, and ends a refused session through lifecycle.c.
 */
#ifndef MH_RELAY_H
#define MH_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "announce.h"

struct mh_daemon;
struct mh_session;

/* Whoever waits for the gateways' verdict (control.c: the hook's
 * connection); answer is called exactly once, unless the daemon stops. */
struct mh_relay_waiter {
	void (*answer)(struct mh_daemon *d, const struct mh_relay_waiter *w,
		       uint8_t status, const char *why);
	unsigned idx;       /* the waiter's own: its connection slot */
	uint32_t gen;       /* and its generation */
	uint16_t port;
};

/* Start-up (before hardening): the TLS context, this relay's certificate
 * addresses against relay_addresses. 0, or -errno with err holding one
 * line. mh_relay_connect: the first connections, once every blocking
 * start-up step (the state lock) is done: a handshake begun earlier would
 * stall unanswered and time out at the gateway. */
int mh_relay_open(struct mh_daemon *d, char *err, size_t errlen);
void mh_relay_connect(struct mh_daemon *d);
void mh_relay_close(struct mh_daemon *d);
/* EV_RELAY (idx: the gateway) and EV_RELAY_TIMER. */
void mh_relay_input(struct mh_daemon *d, unsigned idx);
void mh_relay_timer(struct mh_daemon *d);
/*
 * A session just opened: sent to every connected gateway. 0: w->answer
 * comes later (MHC_OK, or MHC_ERR_GATEWAY once the session was ended);
 * -ECONNREFUSED: refused now (no gateway can take it; the session was
 * ended), why says which gateway and why.
 */
/* mosh-helperctl status: gateway i (as configured; up or down since,
 * last frame heard while up, live sessions resent to it while up, the
 * reason it is down); -ENOENT past the last. */
struct mhc_peer_info;
int mh_relay_peer(const struct mh_daemon *d, unsigned i, uint64_t now_ms,
		  struct mhc_peer_info *p);
int mh_relay_announce(struct mh_daemon *d, struct mh_session *s,
		      const struct mh_relay_waiter *w, char *why, size_t whylen);

#endif
