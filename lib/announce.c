/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The pure side of a session's birth and death (include/announce.h): a
 * saved session as an announcement, the fields the audit trail records of
 * an opened session, whichever its source, and the end reasons.
 */
#include <stdio.h>
#include <string.h>

#include "announce.h"

void mh_announce_from_saved(const struct mh_saved_session *sv,
			    const uint8_t key[SSP_KEY_LEN],
			    struct mh_announcement *a)
{
	memset(a, 0, sizeof(*a));
	a->source = MH_SOURCE_RESTART;
	a->port = sv->port;
	a->uid = sv->uid;
	a->pid = sv->pid;
	a->pid_start = sv->pid_start;
	memcpy(a->key, key, SSP_KEY_LEN);
	a->key_kept = true;
	snprintf(a->ssh_connection, sizeof(a->ssh_connection), "%s", sv->ssh_client);
	a->n_bound = sv->n_bound < MH_MAX_BOUND ? sv->n_bound : MH_MAX_BOUND;
	memcpy(a->bound, sv->bound, sizeof(a->bound));
	a->n_sock = sv->n_sock < MH_MAX_BOUND ? sv->n_sock : MH_MAX_BOUND;
	memcpy(a->sock, sv->sock, sizeof(a->sock));
	a->saved = sv;
}

void mh_announce_ssh_client(const char *ssh_connection, char *out, size_t len)
{
	size_t n = strcspn(ssh_connection, " ");

	if (n >= len)
		n = 0;
	memcpy(out, ssh_connection, n);
	out[n] = 0;
}

void mh_announce_view(const struct mh_announcement *a, struct mhc_announce *v)
{
	memset(v, 0, sizeof(*v));
	v->port = a->port;
	v->pid = (uint32_t)a->pid;
	snprintf(v->ssh_connection, sizeof(v->ssh_connection), "%s",
		 a->ssh_connection);
}

void mh_announce_reason(const struct mh_announcement *a, char *out, size_t len)
{
	if (a->source == MH_SOURCE_RESTART)
		snprintf(out, len, "session resumed on port %u after a restart",
			 a->port);
	else
		snprintf(out, len, "session accepted on port %u", a->port);
}

static const char *const end_text[] = {
	[MH_END_EXITED] = "mosh-server exited",
	[MH_END_SOCKET_GONE] = "socket_gone",
	[MH_END_HANDSHAKE] = "never contacted (handshake_timeout)",
	[MH_END_DORMANT] = "dormant (session_timeout)",
	[MH_END_UNDONE] = "undone (the open failed)",
	[MH_END_STOP] = "the daemon stops (kept for the next start)",
};

const char *mh_end_text(enum mh_end why)
{
	if ((unsigned)why >= sizeof(end_text) / sizeof(end_text[0]))
		return "?";
	return end_text[why];
}

bool mh_end_releases(enum mh_end why)
{
	return why != MH_END_UNDONE && why != MH_END_STOP;
}
