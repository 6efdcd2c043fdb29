/*
 * Logging: one small API for every program. Messages go to stderr (with the
 * program name) or to syslog; each carries the calling function's name.
 * Per-packet messages go through mh_ratelimit. Never pass key material.
 */
#ifndef MH_LOG_H
#define MH_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum mh_log_level { MH_LOG_ERR = 0, MH_LOG_WARN, MH_LOG_INFO, MH_LOG_DEBUG };

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

#endif
