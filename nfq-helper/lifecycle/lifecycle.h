/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * lifecycle.c: the one place a session of the daemon is opened (from a
 * verified announcement, include/announce.h, whatever its source) and
 * ended (for a reason), each logged and audited there once.
 */
#ifndef MH_LIFECYCLE_H
#define MH_LIFECYCLE_H

#include "announce.h"

struct mh_daemon;

/* 0, or -errno with why set (nothing of the session is left). */
int mh_life_open(struct mh_daemon *d, const struct mh_announcement *a,
		 char *why, size_t whylen);
/* detail (may be NULL) says more than the reason's text. */
void mh_life_end(struct mh_daemon *d, struct mh_session *s, enum mh_end why,
		 const char *detail);
void mh_life_pidfd(struct mh_daemon *d, uint16_t port);
void mh_life_expire(struct mh_daemon *d, uint64_t now_ms);
void mh_life_stop(struct mh_daemon *d);
/* A session lives only while one of the sockets recorded at its
 * announcement is bound to its port by its uid. mh_life_sockets_held: 1 if
 * one of sock[] (bound to bound[], the same order) holds port, 0 if none
 * does, -errno if the kernel could not be asked; each asked for by
 * itself, not found in a dump of the port that a crowd of other sockets
 * there could make miss it; with *n_sock 0 (not known: a state file of
 * version 1) the uid's sockets there are taken from a dump. mh_life_socket_gone: checks one
 * session and ends it if its sockets are gone (when says when: "port
 * announced again"; patient: a mosh-server still running and not exiting
 * is given until the next check, since it closes its socket just before
 * it exits); true if it ended. mh_life_check_sockets: every
 * session at once (one dump of the range, each session missing from it
 * confirmed by a dump of its port). */
int mh_life_sockets_held(struct mh_daemon *d, uint16_t port, uid_t uid,
			 const struct mh_bound *bound, unsigned n_bound,
			 struct mh_sockid sock[MH_MAX_BOUND], unsigned *n_sock);
bool mh_life_socket_gone(struct mh_daemon *d, struct mh_session *s,
			 const char *when, bool patient);
void mh_life_check_sockets(struct mh_daemon *d);

#endif
