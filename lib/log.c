/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Logging for every program: stderr with the program name, or syslog for a
 * detached daemon; a level filter; a token bucket for per-packet
 * messages so a flood cannot flood the log; and per-uid buckets for what
 * a local user's own requests cause, with counts of what they held back.
 * When stderr is the journal (JOURNAL_STREAM names fd 2), each line starts
 * with its sd-daemon priority so journalctl -p can filter.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "log.h"

static const char *log_prog = "mosh-helper";
static bool log_syslog;
static int log_level = MH_LOG_INFO;
static bool log_journal;

/* One unsigned decimal number of s up to the character stop, strictly. */
static bool parse_u64(const char *s, char stop, const char **end,
		      unsigned long long *v)
{
	char *e;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoull(s, &e, 10);
	if (errno || *e != stop)
		return false;
	*end = e;
	return true;
}

bool mh_journal_stream_is(const char *env, uint64_t dev, uint64_t ino)
{
	unsigned long long d, i;
	const char *p;

	if (!env || !parse_u64(env, ':', &p, &d) || !parse_u64(p + 1, '\0', &p, &i))
		return false;
	return d == dev && i == ino;
}

/* stderr is the journal: JOURNAL_STREAM names fd 2's device and inode
 * (a child whose stderr went elsewhere inherits the variable, hence the
 * check). */
static bool stderr_is_journal(void)
{
	struct stat st;

	if (fstat(2, &st) < 0)
		return false;
	return mh_journal_stream_is(getenv("JOURNAL_STREAM"), (uint64_t)st.st_dev,
				    (uint64_t)st.st_ino);
}

int mh_log_format(char *buf, size_t len, bool journal, const char *prog,
		  int level, const char *line)
{
	static const char *const name[] = { "error", "warning", "info", "debug" };
	static const char *const prio[] = { "<3>", "<4>", "<6>", "<7>" };

	if (level < MH_LOG_ERR || level > MH_LOG_DEBUG)
		level = MH_LOG_ERR;
	return snprintf(buf, len, "%s%s: %s: %s\n", journal ? prio[level] : "",
			prog, name[level], line);
}

void mh_log_init(const char *progname, bool to_syslog, int level)
{
	log_prog = progname;
	log_syslog = to_syslog;
	log_level = level;
	log_journal = !to_syslog && stderr_is_journal();
	if (to_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Held lines (mh_log_hold): each is a level byte, then "func: message",
 * then a NUL. */
#define HOLD_LEN 16384
static char hold_buf[HOLD_LEN];
static size_t hold_len;
static bool holding;

static void emit(int level, const char *line)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char out[1200];
	int n;

	if (log_syslog) {
		syslog(prio[level], "%s", line);
		return;
	}
	n = mh_log_format(out, sizeof(out), log_journal, log_prog, level, line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out)) {      /* cut, but still one whole line */
		n = (int)sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	fwrite(out, 1, (size_t)n, stderr);
}

static void vlog(int level, const char *func, const char *fmt, va_list ap)
{
	char line[1100];
	int n;

	if (level > log_level)
		return;
	n = snprintf(line, 64, "%s: ", func);
	if (n < 0 || n >= 64)
		n = 0;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (!holding) {
		emit(level, line);
		return;
	}
	n = (int)strlen(line) + 2;
	if (hold_len + (size_t)n > sizeof(hold_buf))
		mh_log_release();      /* full: out in order, then keep holding */
	holding = true;
	hold_buf[hold_len] = (char)level;
	memcpy(hold_buf + hold_len + 1, line, (size_t)n - 1);
	hold_len += (size_t)n;
}

void mh_log_hold(void)
{
	holding = true;
}

void mh_log_release(void)
{
	size_t off = 0;

	holding = false;
	while (off < hold_len) {
		const char *line = hold_buf + off + 1;

		emit(hold_buf[off], line);
		off += strlen(line) + 2;
	}
	hold_len = 0;
}

void mh_log(int level, const char *func, const char *fmt, ...)
{
	va_list ap;

	if (level < MH_LOG_ERR || level > MH_LOG_DEBUG)
		level = MH_LOG_ERR;
	va_start(ap, fmt);
	vlog(level, func, fmt, ap);
	va_end(ap);
}

void mh_fatal(const char *func, const char *fmt, ...)
{
	va_list ap;

	mh_log_release();
	va_start(ap, fmt);
	vlog(MH_LOG_ERR, func, fmt, ap);
	va_end(ap);
	exit(1);
}

void mh_ratelimit_init(struct mh_ratelimit *rl, double per_sec, double burst)
{
	rl->last_ms = 0;
	rl->tokens = burst;
	rl->per_sec = per_sec;
	rl->burst = burst;
	rl->suppressed = 0;
}

bool mh_ratelimit_ok(struct mh_ratelimit *rl, uint64_t now_ms)
{
	if (now_ms > rl->last_ms) {
		rl->tokens += (double)(now_ms - rl->last_ms) * rl->per_sec / 1000.0;
		if (rl->tokens > rl->burst)
			rl->tokens = rl->burst;
		rl->last_ms = now_ms;
	}
	if (rl->tokens >= 1.0) {
		rl->tokens -= 1.0;
		return true;
	}
	rl->suppressed++;
	return false;
}

void mh_uidlimit_init(struct mh_uidlimit *u, double per_sec, double burst)
{
	memset(u, 0, sizeof(*u));
	u->per_sec = per_sec;
	u->burst = burst;
}

static void budget_init(struct mh_uidlimit *u, struct mh_uid_budget *b,
			uint32_t uid)
{
	int k;

	b->uid = uid;
	b->used = true;
	for (k = 0; k < MH_NOISY_KINDS; k++)
		mh_ratelimit_init(&b->rl[k], u->per_sec, u->burst);
}

/* The uid's slot, a free one taken for it, or the shared one. */
static struct mh_uid_budget *budget_of(struct mh_uidlimit *u, uint32_t uid)
{
	struct mh_uid_budget *free_slot = NULL;
	unsigned i;

	for (i = 0; i < MH_UIDLIMIT_SLOTS; i++) {
		if (u->slot[i].used && u->slot[i].uid == uid)
			return &u->slot[i];
		if (!u->slot[i].used && !free_slot)
			free_slot = &u->slot[i];
	}
	if (free_slot) {
		budget_init(u, free_slot, uid);
		return free_slot;
	}
	if (!u->other.used)
		budget_init(u, &u->other, 0);
	return &u->other;
}

bool mh_uidlimit_ok(struct mh_uidlimit *u, uint32_t uid, enum mh_noisy kind,
		    uint64_t now_ms)
{
	struct mh_uid_budget *b = budget_of(u, uid);

	if (kind >= MH_NOISY_KINDS)
		kind = MH_NOISY_CONTROL;
	return mh_ratelimit_ok(&b->rl[kind], now_ms);
}

/* Counts handed to cb and reset; true if every bucket is full again
 * (the slot can go: a new one starts full as well). */
static bool budget_drain(struct mh_uid_budget *b, uint64_t now_ms,
			 mh_uidlimit_cb cb, void *arg, bool other)
{
	uint64_t n[MH_NOISY_KINDS];
	bool any = false, idle = true;
	int k;

	for (k = 0; k < MH_NOISY_KINDS; k++) {
		struct mh_ratelimit *rl = &b->rl[k];
		double refill = now_ms > rl->last_ms ?
			(double)(now_ms - rl->last_ms) * rl->per_sec / 1000.0 : 0;

		n[k] = rl->suppressed;
		rl->suppressed = 0;
		any |= n[k] != 0;
		idle &= rl->tokens + refill >= rl->burst;
	}
	if (any)
		cb(arg, b->uid, other, n);
	return idle;
}

void mh_uidlimit_drain(struct mh_uidlimit *u, uint64_t now_ms,
		       mh_uidlimit_cb cb, void *arg)
{
	unsigned i;

	for (i = 0; i < MH_UIDLIMIT_SLOTS; i++)
		if (u->slot[i].used && budget_drain(&u->slot[i], now_ms, cb, arg, false))
			u->slot[i].used = false;
	if (u->other.used && budget_drain(&u->other, now_ms, cb, arg, true))
		u->other.used = false;
}

const char *mh_noisy_name(enum mh_noisy kind)
{
	static const char *const names[MH_NOISY_KINDS] = {
		[MH_NOISY_CONTROL] = "control requests",
		[MH_NOISY_PINHOLE] = "pinhole events",
	};

	return kind < MH_NOISY_KINDS ? names[kind] : "events";
}
