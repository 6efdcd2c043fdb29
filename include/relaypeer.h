/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The relay's pure decisions about its gateways (deployment 3, issue 13):
 * the hook's answer from the gateways' answers (gateway_ack all / any),
 * the reconnection backoff, the server address a session is announced
 * under, and the frames of a resync. No sockets, no clock: relay.c feeds
 * them what happened and sends what they build.
 */
#ifndef MH_RELAYPEER_H
#define MH_RELAYPEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "announce.h"
#include "pkt.h"
#include "relaywire.h"
#include "session.h"

/* One gateway's part in an announcement. */
enum mh_gw_ack {
	MH_GWA_WAIT,       /* OPEN sent (or due with the resync), no answer yet */
	MH_GWA_OK,         /* answered ok */
	MH_GWA_REFUSED,    /* answered with another status */
	MH_GWA_DOWN,       /* not connected, or the connection broke */
};

enum mh_ack_verdict { MH_AV_PENDING, MH_AV_ACCEPT, MH_AV_REFUSE };

/*
 * policy MH_ACK_ALL: accepted once every gateway said ok; refused as soon
 * as one refused or is down. MH_ACK_ANY: accepted once one said ok;
 * refused when none can any more. timed_out: whatever still waits counts
 * as down. A refusal names *culprit: the first gateway that refused, else
 * the first down, else the first still waiting (no gateway: refused, 0).
 */
enum mh_ack_verdict mh_ack_decide(int policy, const uint8_t *st, unsigned n,
				  bool timed_out, unsigned *culprit);

/* Delay before reconnection attempt `failures` (1, 2, ...): 50 ms, then
 * 100 ms up to attempt MH_BACKOFF_FAST_N (a restarted gateway is usually
 * listening again within some 100s of ms), then doubling from 200 ms up
 * to 30 s against a gateway that stays away; minus up to a quarter of it
 * from rnd (jitter, so that relays restarted together do not come back
 * in step). */
#define MH_BACKOFF_MIN_MS 50u
#define MH_BACKOFF_FAST_MS 100u
#define MH_BACKOFF_FAST_N 8u
#define MH_BACKOFF_MAX_MS 30000u
uint32_t mh_relay_backoff_ms(unsigned failures, uint32_t rnd);

/*
 * The server address a session is announced under: the address its
 * mosh-server's socket is bound to (an IPv4-mapped IPv6 one as IPv4), or,
 * for a socket bound to the wildcard (or not known), the first of conf
 * (relay_addresses) that the socket can receive. Either must be one of
 * mine (this relay's certificate IP SANs: the gateway refuses any other).
 * 0 with *out filled (port 0), or -EADDRNOTAVAIL with why.
 */
int mh_relay_server_addr(const struct mh_bound *b, unsigned n_bound,
			 const struct mh_addr *mine, unsigned n_mine,
			 const struct mh_addr *conf, unsigned n_conf,
			 struct mh_addr *out, char *why, size_t whylen);

/* What an OPEN says of a live session. */
struct mh_relay_sess {
	uint32_t sid;
	uint32_t uid;
	struct mh_addr server;       /* with the session's port */
	struct mh_addr hint;         /* family 0: none */
	bool keyless;                /* keyless mode: no key (key all zero) */
	uint8_t key[SSP_KEY_LEN];
};

/* The next frame id of a connection (never 0). */
uint32_t mh_relay_next_id(uint32_t *ctr);

void mh_relay_open_msg(const struct mh_relay_sess *s, uint32_t id, bool resync,
		       struct mhr_msg *m);

/* The OPEN of session s: its server address (as above, with its port),
 * uid, SSH client hint and key (wipe out after use); a session without a
 * key (keyless mode) gives a keyless OPEN. 0, or -EADDRNOTAVAIL
 * with why. */
int mh_relay_sess_of(const struct mh_session *s, const struct mh_addr *mine,
		     unsigned n_mine, const struct mh_addr *conf, unsigned n_conf,
		     struct mh_relay_sess *out, char *why, size_t whylen);

/* A resync's list: every session of t that has an address to announce,
 * into out (at most max), in the table's order; how many. *skipped: the
 * sessions left out (no address of the certificate). */
unsigned mh_relay_list(const struct mh_table *t, const struct mh_addr *mine,
		       unsigned n_mine, const struct mh_addr *conf,
		       unsigned n_conf, struct mh_relay_sess *out, unsigned max,
		       unsigned *skipped);

/* The END reason the gateways get for a local end. */
uint8_t mh_relay_end_reason(enum mh_end why);

#endif
