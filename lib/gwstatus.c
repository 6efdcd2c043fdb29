/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The gateway's relay links as mosh-helperctl status shows them
 * (gwstatus.h): one entry per relay identity, its certificate subject,
 * made or refreshed when the relay comes up, marked down (and since when)
 * when its connection ends, its heartbeats timed. Bounded: past
 * MH_GWS_MAX identities the one down the longest makes room.
 */
#include <stdio.h>
#include <string.h>

#include "gwstatus.h"

static struct mh_gws_entry *by_subject(struct mh_gws *g, const char *subject)
{
	for (unsigned i = 0; i < MH_GWS_MAX; i++)
		if (g->e[i].subject[0] && !strcmp(g->e[i].subject, subject))
			return &g->e[i];
	return NULL;
}

static struct mh_gws_entry *by_conn(struct mh_gws *g, uint32_t conn)
{
	for (unsigned i = 0; conn && i < MH_GWS_MAX; i++)
		if (g->e[i].subject[0] && g->e[i].conn == conn)
			return &g->e[i];
	return NULL;
}

/* A free slot, else the one down the longest; NULL if every one is up. */
static struct mh_gws_entry *room(struct mh_gws *g)
{
	struct mh_gws_entry *old = NULL;

	for (unsigned i = 0; i < MH_GWS_MAX; i++) {
		struct mh_gws_entry *e = &g->e[i];

		if (!e->subject[0])
			return e;
		if (!e->conn && (!old || e->since_ms < old->since_ms))
			old = e;
	}
	return old;
}

void mh_gws_up(struct mh_gws *g, uint32_t conn, const char *subject,
	       const char *name, uint64_t now_ms)
{
	char subj[MHC_PEER_SUBJ_MAX + 1];
	struct mh_gws_entry *e;

	snprintf(subj, sizeof(subj), "%s", subject && subject[0] ? subject : "?");
	e = by_subject(g, subj);
	if (!e && !(e = room(g)))
		return;
	snprintf(e->subject, sizeof(e->subject), "%s", subj);
	snprintf(e->name, sizeof(e->name), "%s", name ? name : "");
	e->conn = conn;
	e->since_ms = now_ms;
	e->beat_ms = 0;
}

void mh_gws_down(struct mh_gws *g, uint32_t conn, uint64_t now_ms)
{
	struct mh_gws_entry *e = by_conn(g, conn);

	if (!e)
		return;
	e->conn = 0;
	e->since_ms = now_ms;
}

void mh_gws_beat(struct mh_gws *g, uint32_t conn, uint64_t now_ms)
{
	struct mh_gws_entry *e = by_conn(g, conn);

	if (e)
		e->beat_ms = now_ms;
}

const struct mh_gws_entry *mh_gws_at(const struct mh_gws *g, unsigned i,
				     unsigned *next_i)
{
	for (; i < MH_GWS_MAX; i++) {
		if (g->e[i].subject[0]) {
			*next_i = i + 1;
			return &g->e[i];
		}
	}
	*next_i = MH_GWS_MAX;
	return NULL;
}
