/*
 * Logging for every program: stderr with the program name, or syslog for a
 * detached daemon; a level filter; and a token bucket for per-packet
 * messages so a flood cannot flood the log.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "log.h"

static const char *log_prog = "mosh-helper";
static bool log_syslog;
static int log_level = MH_LOG_INFO;

void mh_log_init(const char *progname, bool to_syslog, int level)
{
	log_prog = progname;
	log_syslog = to_syslog;
	log_level = level;
	if (to_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void vlog(int level, const char *func, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *name[] = { "error", "warning", "info", "debug" };
	char msg[1024];

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog)
		syslog(prio[level], "%s: %s", func, msg);
	else
		fprintf(stderr, "%s: %s: %s: %s\n", log_prog, name[level], func, msg);
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
