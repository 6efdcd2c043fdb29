/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Single-port preference for the session whose SSH login came from a
 * client's host: which mappings of other sessions its start displaces.
 */
#include "muxprefer.h"

/* true if s keeps its mapping for a client on pref's SSH host */
static bool keeps(const struct mh_session *s, const struct mh_session *pref)
{
	return s == pref || mh_addr_equal_host(&s->ssh_addr, &pref->ssh_addr);
}

bool mh_prefer_allow(struct mh_prefer_limit *l, uid_t uid, uint64_t now_ms)
{
	unsigned i, oldest = 0;

	for (i = 0; i < MH_PREFER_UIDS; i++) {
		if (l->e[i].at_ms && l->e[i].uid == uid)
			break;
		if (l->e[i].at_ms < l->e[oldest].at_ms)
			oldest = i;
	}
	if (i < MH_PREFER_UIDS) {
		if (now_ms - l->e[i].at_ms < MH_PREFER_EVERY_MS)
			return false;
	} else {
		i = oldest;
		l->e[i].uid = uid;
	}
	l->e[i].at_ms = now_ms;
	return true;
}

unsigned mh_mux_displaced(const struct mh_table *t,
			  const struct mh_session *pref,
			  struct mh_displaced *out, unsigned max)
{
	const struct mh_session *s;
	const struct mh_pinhole_rec *r;
	unsigned n = 0;

	if (!pref->ssh_addr.family)
		return 0;
	for (s = t->head; s; s = s->next) {
		if (keeps(s, pref))
			continue;
		mh_for_each_pinhole(s, r) {
			if (!mh_addr_equal_host(&r->client, &pref->ssh_addr))
				continue;
			if (n < max)
				out[n] = (struct mh_displaced){ (struct mh_session *)s, r->client };
			n++;
		}
	}
	return n;
}
