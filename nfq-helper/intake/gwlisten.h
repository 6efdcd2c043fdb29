/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The gateway's relay listener (role = gateway): an unprivileged child
 * process that terminates the relays' TLS and parses their frames
 * (gwlisten.c), and the daemon's end of it (gwsep.c): the listening
 * socket bound and the child forked at start-up, its validated messages
 * handed to the gateway core (gwcore.h) and the answers sent back.
 */
#ifndef MH_GWLISTEN_H
#define MH_GWLISTEN_H

#include <stdbool.h>
#include <sys/types.h>

#include "daemon.h"

/* What the child is given at the fork. */
struct mh_gwl_cfg {
	int listen_fd, sock;            /* the bound socket, its socketpair end */
	const struct mh_config *cfg;    /* tls_*, relay_* keys, seccomp */
	bool switch_user;               /* become uid/gid (the daemon's user) */
	uid_t uid;
	gid_t gid;
	bool log_syslog;
};

/* gwsep.c, the daemon's side. Start-up (before any session key is in
 * memory, before hardening): fatal on failure. */
void mh_gwl_start(struct mh_daemon *d);
void mh_gwl_input(struct mh_daemon *d);   /* EV_GWL */
void mh_gwl_stop(struct mh_daemon *d);
/* mosh-helperctl status: the relay link at or after index i (name,
 * subject, up or down since, last heartbeat, sessions held), *next the
 * index after it; -ENOENT when there is none. */
int mh_gwl_peer(const struct mh_daemon *d, unsigned i, uint64_t now_ms,
		struct mhc_peer_info *p, unsigned *next);

/* gwlisten.c, the child: drops its privileges and serves; never returns. */
_Noreturn void mh_gwl_child(const struct mh_gwl_cfg *c);

#endif
