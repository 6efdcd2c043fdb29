/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The gateway's privilege-separation transport: the messages between the
 * unprivileged relay listener (nfq-helper/gwlisten.c) and the privileged
 * daemon over a SOCK_SEQPACKET socketpair, one message per packet. Each
 * carries relay frames in their wire form (relaywire.h), so the daemon
 * decodes every frame again: it trusts nothing the listener parsed. Pure.
 *
 * Message: kind u8, relay u32 (big endian), then by kind
 *   READY  (listener -> daemon, once)  nothing
 *   FAIL   (listener -> daemon, once)  text: why it could not start
 *   UP     relay != 0; subject: len u8 (1..255) + printable bytes; SANs:
 *          count u8 (0..MH_GWP_ADDRS_MAX) + per address family u8 (4/6)
 *          and 4/16 bytes; then one HELLO frame
 *   MSG    relay != 0; one frame: OPEN, END, RESYNC_BEGIN or RESYNC_END
 *   DOWN   relay != 0; nothing
 *   BEAT   relay != 0; nothing: the relay's heartbeat was answered (for
 *          mosh-helperctl status: its last heartbeat)
 *   ANS    (daemon -> listener) relay != 0; one ANSWER frame: to each MSG,
 *          and to each UP (its HELLO: refused, the listener closes it)
 */
#ifndef MH_GWPRIV_H
#define MH_GWPRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pkt.h"
#include "relaywire.h"

#define MH_GWP_SUBJ_MAX   255
#define MH_GWP_ADDRS_MAX  32
#define MH_GWP_TEXT_MAX   255
#define MH_GWP_MAX        2048   /* bytes of the largest message */

enum mh_gwp_kind {
	MH_GWP_READY = 'R',
	MH_GWP_FAIL = 'F',
	MH_GWP_UP = 'U',
	MH_GWP_MSG = 'M',
	MH_GWP_DOWN = 'D',
	MH_GWP_BEAT = 'B',
	MH_GWP_ANS = 'A',
};

struct mh_gwp {
	uint8_t kind;
	uint32_t relay;
	char subject[MH_GWP_SUBJ_MAX + 1];        /* UP */
	unsigned n_addrs;                         /* UP: the certificate's IP SANs */
	struct mh_addr addrs[MH_GWP_ADDRS_MAX];
	char text[MH_GWP_TEXT_MAX + 1];           /* FAIL */
	struct mhr_msg msg;                       /* UP, MSG, ANS: the frame */
};

/* The message's length, or -EINVAL (a field decode would refuse) or
 * -ENOBUFS. An OPEN's key is in buf afterwards: wipe it. */
ssize_t mh_gwp_encode(const struct mh_gwp *p, uint8_t *buf, size_t cap);

/* 0, or -EPROTO with why (static text) set. Every frame is decoded with
 * mhr_decode and its type checked against the kind. Wipe p after use
 * (mh_gwp_wipe): an OPEN carries a key. */
int mh_gwp_decode(const uint8_t *buf, size_t len, struct mh_gwp *p,
		  const char **why);

/* Whether the server address a (port ignored) is one of p's SANs. */
int mh_gwp_addr_listed(const struct mh_addr *addrs, unsigned n,
		       const struct mh_addr *a);

void mh_gwp_wipe(struct mh_gwp *p);

#endif
