/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Logging: one small API for every program. Messages go to stderr (with the
 * program name) or to syslog; each carries the calling function's name.
 * Per-packet messages go through mh_ratelimit. Never pass key material.
 */
#ifndef MH_LOG_H
#define MH_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mh_log_level { MH_LOG_ERR = 0, MH_LOG_WARN, MH_LOG_INFO, MH_LOG_DEBUG };

/* Not to syslog: stderr, with sd-daemon priority prefixes if it is the
 * journal (checked here, at each call). */
void mh_log_init(const char *progname, bool to_syslog, int level);
void mh_log(int level, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
_Noreturn void mh_fatal(const char *func, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Lines logged between mh_log_hold and mh_log_release are kept in memory
 * (16 KB; more goes out early, in order) and written at the release: the
 * daemon holds them while verdicts are pending, so a slow log never delays
 * a datagram. mh_fatal releases first. */
void mh_log_hold(void);
void mh_log_release(void);

/* true if env, JOURNAL_STREAM's value ("DEVICE:INODE", decimal), names
 * exactly this device and inode. */
bool mh_journal_stream_is(const char *env, uint64_t dev, uint64_t ino);
/* One stderr line into buf: "prog: level: line\n", led by "<3>" (error),
 * "<4>" (warning), "<6>" (info) or "<7>" (debug) when journal. Returns what
 * snprintf returns. */
int mh_log_format(char *buf, size_t len, bool journal, const char *prog,
		  int level, const char *line);

#define log_warn(...)  mh_log(MH_LOG_WARN, __func__, __VA_ARGS__)
#define log_info(...)  mh_log(MH_LOG_INFO, __func__, __VA_ARGS__)
#define log_debug(...) mh_log(MH_LOG_DEBUG, __func__, __VA_ARGS__)
#define log_err(...)   mh_log(MH_LOG_ERR, __func__, __VA_ARGS__)
#define fatal(...)     mh_fatal(__func__, __VA_ARGS__)

/* Token bucket: allows `burst` events, refilled at `per_sec`. */
struct mh_ratelimit {
	uint64_t last_ms;
	double tokens;
	double per_sec;
	double burst;
	uint64_t suppressed;
};
void mh_ratelimit_init(struct mh_ratelimit *rl, double per_sec, double burst);
/* true if the event may be logged now; counts suppressed ones. */
bool mh_ratelimit_ok(struct mh_ratelimit *rl, uint64_t now_ms);

/* Per-uid budgets for the lines a local user's own actions cause (refused
 * announcements and other control requests they may repeat at will,
 * pinhole churn of their sessions): a token bucket per uid and kind, so one
 * user's flood neither fills the log nor silences another user. What a
 * bucket refuses is counted and handed out by mh_uidlimit_drain, which
 * the caller turns into one summary line per uid. MH_UIDLIMIT_SLOTS uids
 * have their own buckets; any more share one (reported as uid "other"),
 * so the lines written stay bounded whatever the number of uids. */
enum mh_noisy { MH_NOISY_CONTROL, MH_NOISY_PINHOLE, MH_NOISY_KINDS };
#define MH_UIDLIMIT_SLOTS 32
struct mh_uid_budget {
	uint32_t uid;
	bool used;
	struct mh_ratelimit rl[MH_NOISY_KINDS];
};
struct mh_uidlimit {
	struct mh_uid_budget slot[MH_UIDLIMIT_SLOTS];
	struct mh_uid_budget other;
	double per_sec, burst;
};
void mh_uidlimit_init(struct mh_uidlimit *u, double per_sec, double burst);
/* true if this event of uid may be written in full now; else counted. */
bool mh_uidlimit_ok(struct mh_uidlimit *u, uint32_t uid, enum mh_noisy kind,
		    uint64_t now_ms);
/* cb once per uid with events suppressed since the last drain (other: the
 * shared bucket, uid meaningless), their counts by kind; the counts are
 * reset, and uids whose buckets are full again give their slot back. */
typedef void (*mh_uidlimit_cb)(void *arg, uint32_t uid, bool other,
			       const uint64_t n[MH_NOISY_KINDS]);
void mh_uidlimit_drain(struct mh_uidlimit *u, uint64_t now_ms,
		       mh_uidlimit_cb cb, void *arg);
/* The kind's name in summaries ("refused announcements", ...). */
const char *mh_noisy_name(enum mh_noisy kind);

#endif
