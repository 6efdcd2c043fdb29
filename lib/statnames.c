/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's named counters and gauges (statnames.h): reported names,
 * Prometheus names and help lines in one table, so the daemon's reports and
 * mosh-helperctl's metrics cannot drift apart.
 */
#include <string.h>

#include "statnames.h"

#define P "mosh_helper_"

const struct mh_stat_desc mh_stat_descs[MH_STAT_IDS] = {
	[MH_STAT_SESSIONS] = { "sessions", P "sessions", true,
		"Sessions the daemon holds now.", false },
	[MH_STAT_ANNOUNCE_ACCEPTED] = { "announce_accepted",
		P "announcements_accepted_total", false,
		"Session announcements (from the hook) accepted.", false },
	[MH_STAT_ANNOUNCE_REFUSED] = { "announce_refused",
		P "announcements_refused_total", false,
		"Session announcements refused.", false },
	[MH_STAT_PINHOLES_OPENED] = { "pinholes_opened",
		P "pinholes_opened_total", false,
		"Pinholes opened for a client address and port.", false },
	[MH_STAT_PINHOLES_EXPIRED] = { "pinholes_expired",
		P "pinholes_expired_total", false,
		"Pinholes gone from the kernel set after their idle timeout.",
		false },
	[MH_STAT_SESSIONS_ENDED] = { "sessions_ended", P "sessions_ended_total",
		false, "Sessions ended, whatever the reason (the audit log says "
		"which).", false },
	[MH_STAT_NFT_ERRORS] = { "nft_errors", P "nft_errors_total", false,
		"nftables batches that failed (not sent, or refused by the "
		"kernel).", false },
	[MH_STAT_PINHOLES_REARMED] = { "pinholes_rearmed",
		P "pinholes_rearmed_total", false,
		"Pinhole idle timeouts re-armed by the read-back (pinholes that "
		"passed datagrams; kernels where the rules do not refresh them).", false },
	[MH_STAT_READBACKS] = { "readbacks", P "readbacks_total", false,
		"Periodic read-backs of the table (one every idle_timeout / 4).", false },
	[MH_STAT_READBACK_MS] = { "readback_ms", P "readback_seconds", true,
		"How long the last periodic read-back of the table took, start "
		"to end (the daemon serves its other work between its slices).",
		true },
	[MH_STAT_READBACK_MAX_MS] = { "readback_max_ms", P "readback_max_seconds",
		true, "The longest periodic read-back of the table since the start.",
		true },
	[MH_STAT_READBACK_BUSY_MS] = { "readback_busy_ms",
		P "readback_busy_seconds", true, "The work of the last periodic "
		"read-back alone: its slices, without what the daemon served "
		"between them.", true },
	[MH_STAT_READBACK_RUNNING] = { "readback_running", P "readback_running",
		true, "1 while a periodic read-back of the table is under way.",
		false },
	[MH_STAT_PINHOLES] = { "pinholes", P "pinholes", true,
		"Pinholes open now.", false },
};

const struct mh_stat_desc *mh_stat_find(const char *name)
{
	for (int i = 0; i < MH_STAT_IDS; i++)
		if (!strcmp(mh_stat_descs[i].name, name))
			return &mh_stat_descs[i];
	return NULL;
}
