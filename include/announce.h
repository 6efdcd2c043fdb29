/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A verified announcement: what the daemon needs to open a session, in one
 * plain struct whichever source checked it (the control socket today, the
 * state file at a restart, tomorrow a relay), and why a session ends. The
 * daemon opens and ends sessions in one place
 * (nfq-helper/lifecycle/lifecycle.c);
 * what can be decided without I/O is here. Pure: no sockets, no clock.
 */
#ifndef MH_ANNOUNCE_H
#define MH_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctlproto.h"
#include "session.h"
#include "statefile.h"

enum mh_source {
	MH_SOURCE_CONTROL,   /* the hook, through the control socket */
	MH_SOURCE_RESTART,   /* an earlier daemon's state file and keyring */
};

struct mh_announcement {
	enum mh_source source;
	uint16_t port;
	uid_t uid;
	pid_t pid;
	uint64_t pid_start;     /* 0: whichever process has pid now (just
				   checked by the source); else it must be that one */
	uint8_t key[SSP_KEY_LEN];   /* wipe after use */
	bool key_kept;          /* the key is in the keyring already */
	char ssh_connection[MHC_SSH_CONN_MAX + 1]; /* as announced ("" if
				   none); from a restart, the client address */
	struct mh_bound bound[MH_MAX_BOUND];   /* mosh-server's socket(s) */
	unsigned n_bound;
	struct mh_sockid sock[MH_MAX_BOUND];
	unsigned n_sock;
	const struct mh_saved_session *saved;  /* restart: id, times, sequence
				   state and pinholes; else NULL */
};

/* The announcement a saved session stands for, with its key. */
void mh_announce_from_saved(const struct mh_saved_session *sv,
			    const uint8_t key[SSP_KEY_LEN],
			    struct mh_announcement *a);
/* The first field of SSH_CONNECTION (where the login came from) into out;
 * "" if it does not fit. */
void mh_announce_ssh_client(const char *ssh_connection, char *out, size_t len);
/* What the audit trail records of an opened session (the control
 * protocol's view, without the key) and the reason it gives. */
void mh_announce_view(const struct mh_announcement *a, struct mhc_announce *v);
void mh_announce_reason(const struct mh_announcement *a, char *out, size_t len);

/* Why a session ends. The first ones release its port, pinholes, flows
 * and key and are logged and audited; an open undone half-way and the
 * daemon's stop (which keeps everything for the next start) are neither. */
enum mh_end {
	MH_END_EXITED,       /* mosh-server exited */
	MH_END_SOCKET_GONE,  /* its socket no longer holds the port */
	MH_END_HANDSHAKE,    /* never contacted within handshake_timeout */
	MH_END_DORMANT,      /* no authentic datagram within session_timeout */
	MH_END_UNDONE,       /* the open failed after the session was made */
	MH_END_STOP,         /* the daemon stops: kernel elements, key, state kept */
};
const char *mh_end_text(enum mh_end why);
bool mh_end_releases(enum mh_end why);

#endif
