/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Which of a relay's sessions the gateway ends after a resync or a
 * disconnect, and when (rules in include/relaysync.h). Generations and
 * deadlines only: pure, no clock, no allocation.
 */
#include <errno.h>

#include "relaysync.h"

static int refuse(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -EPROTO;
}

/* Sets a deadline that never moves later; 0 means none. */
static void doom(struct mh_rsync_mark *m, uint64_t at)
{
	if (at == 0)
		at = 1;   /* 0 is "kept" */
	if (m->end_at_ms == 0 || at < m->end_at_ms)
		m->end_at_ms = at;
}

void mh_rsync_connect(struct mh_rsync *r)
{
	r->in_resync = false;
	r->announced = 0;
	r->listed = 0;
}

int mh_rsync_begin(struct mh_rsync *r, uint32_t count, const char **why)
{
	if (r->in_resync)
		return refuse(why, "resync begun twice");
	r->gen++;
	r->in_resync = true;
	r->announced = count;
	r->listed = 0;
	return 0;
}

int mh_rsync_check_open(const struct mh_rsync *r, bool resync_flag,
			const char **why)
{
	if (!resync_flag)
		return 0;
	if (!r->in_resync)
		return refuse(why, "resync open outside a resync");
	if (r->listed >= r->announced)
		return refuse(why, "more resync opens than announced");
	return 0;
}

void mh_rsync_confirm(struct mh_rsync *r, struct mh_rsync_mark *m,
		      bool resync_flag)
{
	m->gen = r->gen;
	m->end_at_ms = 0;
	if (resync_flag && r->in_resync)
		r->listed++;
}

int mh_rsync_end(struct mh_rsync *r, uint32_t count, const char **why)
{
	if (!r->in_resync)
		return refuse(why, "resync end without a begin");
	if (count != r->announced)
		return refuse(why, "resync end count differs from its begin");
	if (count != r->listed)
		return refuse(why, "resync end count differs from the opens accepted");
	r->in_resync = false;
	return 0;
}

bool mh_rsync_after_end(const struct mh_rsync *r, struct mh_rsync_mark *m,
			uint64_t now_ms, uint64_t grace_ms)
{
	if (r->in_resync || m->gen == r->gen)
		return m->end_at_ms != 0;
	doom(m, now_ms + grace_ms);
	return true;
}

void mh_rsync_orphan(struct mh_rsync *r, struct mh_rsync_mark *m,
		     uint64_t now_ms, uint64_t grace_ms)
{
	r->in_resync = false;
	doom(m, now_ms + grace_ms);
}

bool mh_rsync_due(const struct mh_rsync_mark *m, uint64_t now_ms)
{
	return m->end_at_ms != 0 && now_ms >= m->end_at_ms;
}

bool mh_rsync_silent(uint64_t last_ms, uint32_t heartbeat_ms, uint64_t now_ms)
{
	return now_ms > last_ms && now_ms - last_ms > 3 * (uint64_t)heartbeat_ms;
}
