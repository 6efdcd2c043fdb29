/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The gateway's account of one relay's sessions across disconnects and
 * resyncs: which sessions the relay still confirms, which end, and when.
 * Pure: the caller keeps one struct mh_rsync per relay (by certificate
 * identity) and one struct mh_rsync_mark in each session that relay opened;
 * nothing here allocates or reads a clock.
 *
 * Rules. On every (re)connection the relay sends RESYNC_BEGIN(n), n OPENs
 * flagged resync (its whole live list), RESYNC_END(n). Every OPEN the
 * gateway accepts confirms its session under the current generation.
 * A good RESYNC_END dooms the relay's sessions it did not confirm: they end
 * `grace` ms later unless an OPEN confirms them first. A disconnect (and a
 * gateway start with restored sessions) dooms all of the relay's sessions
 * after the orphan grace. A doom never moves later, only a confirmation
 * lifts it. A bad RESYNC_END (counts differ, no BEGIN) ends nothing: the
 * gateway closes the connection, and the disconnect's grace bounds it all.
 */
#ifndef MH_RELAYSYNC_H
#define MH_RELAYSYNC_H

#include <stdbool.h>
#include <stdint.h>

struct mh_rsync {
	uint32_t gen;         /* resyncs begun; a mark of this gen is confirmed */
	bool in_resync;       /* between BEGIN and END */
	uint32_t announced;   /* count of the BEGIN */
	uint32_t listed;      /* resync OPENs accepted since the BEGIN */
};

struct mh_rsync_mark {
	uint32_t gen;         /* generation that last confirmed the session */
	uint64_t end_at_ms;   /* 0: kept; else it ends at this time */
};

/* A (re)connection: any resync of the previous connection is abandoned. */
void mh_rsync_connect(struct mh_rsync *r);

/* RESYNC_BEGIN(count): 0, or -EPROTO (*why) if a resync is under way. */
int mh_rsync_begin(struct mh_rsync *r, uint32_t count, const char **why);

/* Checks an OPEN before the gateway acts on it: -EPROTO (*why) for a
 * resync-flagged OPEN outside a resync or beyond the announced count. */
int mh_rsync_check_open(const struct mh_rsync *r, bool resync_flag,
			const char **why);

/* An OPEN the gateway accepted (new session, or one it already held):
 * confirms the mark under the current generation and lifts any doom. */
void mh_rsync_confirm(struct mh_rsync *r, struct mh_rsync_mark *m,
		      bool resync_flag);

/* RESYNC_END(count): 0 when count equals both the BEGIN's and the OPENs
 * accepted; else -EPROTO (*why) and the resync stays incomplete (nothing
 * may be doomed for it). After 0, call mh_rsync_after_end on each of the
 * relay's sessions. */
int mh_rsync_end(struct mh_rsync *r, uint32_t count, const char **why);

/* After a good RESYNC_END: an unconfirmed session ends at now + grace
 * (or earlier if it was already doomed). Returns whether it is doomed. */
bool mh_rsync_after_end(const struct mh_rsync *r, struct mh_rsync_mark *m,
			uint64_t now_ms, uint64_t grace_ms);

/* The relay went away (or the gateway restored the session without a
 * relay): the session ends at now + grace unless confirmed before. */
void mh_rsync_orphan(struct mh_rsync *r, struct mh_rsync_mark *m,
		     uint64_t now_ms, uint64_t grace_ms);

/* Whether the session must end now. */
bool mh_rsync_due(const struct mh_rsync_mark *m, uint64_t now_ms);

/* Whether a relay silent since last_ms is gone: more than three of its
 * heartbeat intervals without a frame. */
bool mh_rsync_silent(uint64_t last_ms, uint32_t heartbeat_ms, uint64_t now_ms);

#endif
