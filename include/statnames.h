/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's named counters and gauges: the one list of their names (the
 * audit trail's stats event, mosh-helperctl stats) with what a metrics
 * consumer needs besides: the Prometheus metric name, counter or gauge,
 * and a help line. Verdict counters are named by lib/verdict.c's reasons.
 */
#ifndef MH_STATNAMES_H
#define MH_STATNAMES_H

#include <stdbool.h>

/* In the order every report gives them. The first MH_STATS_NAMED are the
 * audit trail's; MH_STAT_PINHOLES (open now) only the control socket's,
 * which lists it right after "sessions". */
enum mh_stat_id {
	MH_STAT_SESSIONS,
	MH_STAT_ANNOUNCE_ACCEPTED,
	MH_STAT_ANNOUNCE_REFUSED,
	MH_STAT_PINHOLES_OPENED,
	MH_STAT_PINHOLES_EXPIRED,
	MH_STAT_SESSIONS_ENDED,
	MH_STAT_NFT_ERRORS,
	MH_STAT_PINHOLES_REARMED,
	MH_STAT_READBACKS,
	MH_STAT_READBACK_MS,
	MH_STAT_READBACK_MAX_MS,
	MH_STAT_READBACK_BUSY_MS,
	MH_STAT_READBACK_RUNNING,
	MH_STATS_NAMED,
	MH_STAT_PINHOLES = MH_STATS_NAMED,
	MH_STAT_IDS
};

struct mh_stat_desc {
	const char *name;     /* as reported: "announce_accepted" */
	const char *metric;   /* Prometheus name, units and _total included */
	bool gauge;           /* a level now, else a counter since start */
	const char *help;
	bool ms;              /* reported in milliseconds, a metric in seconds */
};

extern const struct mh_stat_desc mh_stat_descs[MH_STAT_IDS];
/* The description of a reported name, or NULL. */
const struct mh_stat_desc *mh_stat_find(const char *name);

#endif
