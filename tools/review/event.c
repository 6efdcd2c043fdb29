/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The story of one session for mosh-helper-review: its events (datagrams,
 * pinholes, roams, gaps) in a growable array, appended by the tracker
 * (track.c) and the verdict simulation (judge.c) alike.
 */
#include <stdlib.h>
#include <string.h>

#include "review.h"

struct rv_event *rv_event_add(struct rv_review *r, struct rv_session *s,
			      enum rv_ev_type type, rv_time ts)
{
	struct rv_event *e;

	if (s->n_ev == s->cap_ev) {
		size_t cap = s->cap_ev ? s->cap_ev * 2 : 8;

		e = realloc(s->ev, cap * sizeof(*e));
		if (!e) {
			r->oom = true;
			return NULL;
		}
		s->ev = e;
		s->cap_ev = cap;
	}
	e = &s->ev[s->n_ev++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->ts = ts;
	return e;
}
