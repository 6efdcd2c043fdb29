/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Single-port mode: the session whose SSH login came from a client's host
 * is preferred for that host's sources. A mapping (a confirmed source ->
 * session port, and its pinhole record) another session holds for a client
 * on that host is displaced when such a session starts, unless that other
 * session's login came from the same host: the source is judged again on
 * its next datagram, the preferred session tried first. Pure: no sockets.
 */
#ifndef MH_MUXPREFER_H
#define MH_MUXPREFER_H

#include "session.h"

struct mh_displaced {
	struct mh_session *s;    /* the session that loses the mapping */
	struct mh_addr client;
};

/* The mappings the start of session pref displaces, up to max into out;
 * how many there are (more than max: the caller asks again after
 * forgetting those). None if pref has no SSH login address. */
unsigned mh_mux_displaced(const struct mh_table *t,
			  const struct mh_session *pref,
			  struct mh_displaced *out, unsigned max);

/* How often one uid's announcements may displace: at most once per
 * MH_PREFER_EVERY_MS. The SSH login address is the announcer's own claim,
 * so without this a local user announcing again and again (close the
 * socket, bind the port again) with a victim's host in it would take the
 * victim's mappings away hundreds of times a second (a finding of session
 * 13's security read); once per 2 s costs a victim one datagram's trial.
 * The last MH_PREFER_UIDS uids are remembered; the least recent is
 * forgotten first. */
#define MH_PREFER_EVERY_MS 2000
#define MH_PREFER_UIDS 64
struct mh_prefer_limit {
	struct {
		uid_t uid;
		uint64_t at_ms;   /* 0: unused */
	} e[MH_PREFER_UIDS];
};
/* true (and the time noted) if uid may displace at now_ms (> 0) */
bool mh_prefer_allow(struct mh_prefer_limit *l, uid_t uid, uint64_t now_ms);

#endif
