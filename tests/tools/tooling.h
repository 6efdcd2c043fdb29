/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Small helpers shared by the integration-test tools (header only: every
 * tests/tools/NAME.c is its own program): the monotonic clock in
 * milliseconds, bounded decimal arguments, and a stop flag raised by
 * SIGTERM or SIGINT.
 */
#ifndef MH_TOOLING_H
#define MH_TOOLING_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t tool_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* s as a decimal number in min..max; anything else calls bad(), a tool's
 * usage(), which exits. */
static inline unsigned long tool_num(const char *s, unsigned long min,
				     unsigned long max, void (*bad)(void))
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max) {
		bad();
		exit(2);   /* bad() does not return */
	}
	return v;
}

/* Raised by SIGTERM or SIGINT once tool_catch_stop() ran. Unused by the
 * tools that handle their signals themselves. */
static volatile sig_atomic_t tool_stop __attribute__((unused));

static inline void tool_on_stop(int sig)
{
	(void)sig;
	tool_stop = 1;
}

static inline void tool_catch_stop(void)
{
	struct sigaction sa = { .sa_handler = tool_on_stop };

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

#endif
