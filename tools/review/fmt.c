/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Names and formats both outputs of mosh-helper-review share: verdicts,
 * sequence notes, pinhole actions, and times (microseconds printed as
 * seconds with six decimals, absolute or relative, and as UTC dates).
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "review.h"
#include "fmt.h"

const char *rv_verdict_name(enum rv_verdict v)
{
	switch (v) {
	case RV_V_PINHOLE: return "pinhole";
	case RV_V_ACCEPT: return "accept";
	case RV_V_DROP: return "drop";
	case RV_V_NO_SESSION: return "no_session";
	default: return "none";
	}
}

const char *rv_seqnote_name(enum rv_seqnote n)
{
	switch (n) {
	case RV_SEQ_REPLAY: return "replay";
	case RV_SEQ_DUPLICATE: return "duplicate";
	case RV_SEQ_REORDERED: return "reordered";
	case RV_SEQ_IMPLAUSIBLE: return "implausible";
	default: return "new";
	}
}

const char *rv_ph_action_name(enum rv_ph_action a)
{
	switch (a) {
	case RV_PH_OPEN: return "open";
	case RV_PH_EXPIRE: return "expire";
	case RV_PH_END: return "session_end";
	default: return "evict";
	}
}

const char *rv_dir_name(bool to_server)
{
	return to_server ? "to_server" : "to_client";
}

char *rv_fmt_secs(char *buf, size_t len, rv_time us)
{
	const char *sign = us < 0 ? "-" : "";
	uint64_t a = us < 0 ? (uint64_t)-us : (uint64_t)us;

	snprintf(buf, len, "%s%" PRIu64 ".%06" PRIu64, sign, a / 1000000, a % 1000000);
	return buf;
}

char *rv_fmt_rel(char *buf, size_t len, rv_time us, rv_time start)
{
	char s[40];

	rv_fmt_secs(s, sizeof(s), us - start);
	snprintf(buf, len, "%s%s", us < start ? "" : "+", s);   /* "-1.5" before start */
	return buf;
}

char *rv_fmt_dur(char *buf, size_t len, rv_time us)
{
	if (us < 1000000 && us > -1000000)
		snprintf(buf, len, "%.3f ms", (double)us / 1000.0);
	else
		snprintf(buf, len, "%.3f s", (double)us / 1e6);
	return buf;
}

char *rv_fmt_utc(char *buf, size_t len, rv_time us)
{
	time_t sec = (time_t)(us / 1000000);
	struct tm tm;

	if (!gmtime_r(&sec, &tm) || us < 0) {
		snprintf(buf, len, "?");
		return buf;
	}
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%06ld UTC",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (long)(us % 1000000));
	return buf;
}
