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

#endif
