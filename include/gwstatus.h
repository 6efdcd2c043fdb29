/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The gateway's record of its relays' links for mosh-helperctl status
 * (lib/gwstatus.c): each relay identity (certificate subject) with its
 * last connection, up or down since when, and its last heartbeat. Fed by
 * the daemon's end of the relay listener (gwsep.c). Pure: the caller
 * gives the time.
 */
#ifndef MH_GWSTATUS_H
#define MH_GWSTATUS_H

#include <stdint.h>

#include "ctlproto.h"

#define MH_GWS_MAX 256     /* identities remembered; the oldest down one goes */

struct mh_gws_entry {
	char subject[MHC_PEER_SUBJ_MAX + 1];   /* "": slot free */
	char name[MHC_PEER_NAME_MAX + 1];
	uint32_t conn;                         /* while up; 0: down */
	uint64_t since_ms, beat_ms;            /* beat_ms 0: none yet */
};

struct mh_gws {
	struct mh_gws_entry e[MH_GWS_MAX];
};

void mh_gws_up(struct mh_gws *g, uint32_t conn, const char *subject,
	       const char *name, uint64_t now_ms);
void mh_gws_down(struct mh_gws *g, uint32_t conn, uint64_t now_ms);
void mh_gws_beat(struct mh_gws *g, uint32_t conn, uint64_t now_ms);
/* The i-th identity in use (subject order is not kept: slot order), or
 * NULL past the last; *next_i is the slot after it. */
const struct mh_gws_entry *mh_gws_at(const struct mh_gws *g, unsigned i,
				     unsigned *next_i);

#endif
