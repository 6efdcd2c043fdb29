/*
 * The state keeper (keeper.c), used by state.c only: a child forked at
 * start-up that keeps the keyring and the state file up to date while the
 * daemon runs, so that the daemon itself, once hardened, makes no keyring
 * or file-system calls. The daemon queues messages; they go out as the
 * socket takes them, in order, never blocking the event loop.
 */
#ifndef MH_KEEPER_H
#define MH_KEEPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statefile.h"

/* Key permissions (keyrings(7)): possessor in the top byte, then the owner
 * (root), group, others; 0x3f is everything, 0x01 view, 0x02 read, 0x04
 * write, 0x08 search, 0x10 link. A key: its possessor (the daemon and the
 * keeper, through their process keyrings) does everything, root may see
 * that it exists, nobody else anything. The keyring: root may also list,
 * change, search and link it, which a restarted daemon needs to take
 * possession of it again. */
#define MH_PERM_KEY  0x3f010000u
#define MH_PERM_RING 0x3f1f0000u

struct mh_keeper_cfg {
	int32_t ring, user_ring;     /* our keyring, root's user keyring */
	const char *ring_name;       /* key descriptions are "<ring_name>:<port>" */
	const char *path, *tmp;      /* the state file and its temporary */
	int lock_fd;                 /* flock'ed: held by the keeper until it exits */
	bool seccomp;                /* its own syscall filter (seccomp.c) */
};

struct mh_keeper;

/* Forks the keeper; NULL with errno on failure. */
struct mh_keeper *mh_keeper_start(const struct mh_keeper_cfg *c);
/* Queue operations (-ENOMEM, -EPIPE if the keeper is gone). */
int mh_keeper_key_add(struct mh_keeper *k, uint16_t port,
		      const uint8_t payload[MH_STATE_KEY_PAYLOAD_LEN]);
int mh_keeper_key_del(struct mh_keeper *k, uint16_t port);
/* A whole state file: written to the temporary, renamed into place. */
int mh_keeper_write(struct mh_keeper *k, const char *buf, size_t len);
/* Keys, keyring and file removed (a clean stop). */
int mh_keeper_forget(struct mh_keeper *k);
/* true while a state file is still queued. */
bool mh_keeper_file_queued(const struct mh_keeper *k);
/* Sends what the socket takes now; -EPIPE once the keeper is gone. */
int mh_keeper_pump(struct mh_keeper *k);
/* Sends the rest, waits up to timeout_ms for the keeper to confirm it
 * did all of it, and lets it go. 0, or -errno (-ETIMEDOUT). Frees k. */
int mh_keeper_finish(struct mh_keeper *k, int timeout_ms);

#endif
