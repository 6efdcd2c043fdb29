/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The gateway role's seam: the unprivileged relay listener (gwlisten.c)
 * hands each validated relay message to the privileged daemon through
 * these calls, and sends back the answer they fill in.
 */
#ifndef MH_GWCORE_H
#define MH_GWCORE_H

#include "daemon.h"
#include "relaywire.h"

/* A relay finished its TLS handshake and HELLO. relay: the listener's
 * connection number (never reused while the daemon runs); subject: the
 * certificate's subject line, which names the relay across reconnections.
 * Fills ans, the HELLO's answer: refused (STATE, with the reason) while
 * another connection of that subject is up, or the relay table is full. */
void mh_gw_relay_up(struct mh_daemon *d, uint32_t relay, const char *subject,
		    const struct mhr_hello *h, struct mhr_answer *ans);

/* OPEN, END, RESYNC_BEGIN or RESYNC_END from that relay, already decoded
 * and, for OPEN and END, checked against the relay certificate's IP SANs.
 * Fills ans (of_type, status, reason); never blocks. */
void mh_gw_relay_msg(struct mh_daemon *d, uint32_t relay,
		     const struct mhr_msg *m, struct mhr_answer *ans);

/*
 * Batching (a relay's resync brings thousands of OPENs): between begin and
 * end, an OPEN that makes a session answers OK into *ans at once but its
 * kernel element waits for the next flush, which adds all waiting ones in
 * one transaction and rewrites the *ans of any the kernel refused (their
 * sessions removed). So each ans must stay in place, and unsent, until
 * the next flush; and the caller flushes before any other call here (END,
 * RESYNC_*, up, down), which then sees the elements in. An OPEN for a
 * server whose add is waiting flushes first by itself.
 */
void mh_gw_batch_begin(struct mh_daemon *d);
void mh_gw_batch_flush(struct mh_daemon *d);
void mh_gw_batch_end(struct mh_daemon *d);

/* The connection closed, failed or fell silent (three heartbeats). */
void mh_gw_relay_down(struct mh_daemon *d, uint32_t relay);

#endif
