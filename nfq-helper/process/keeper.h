/* SPDX-License-Identifier: GPL-3.0-or-later */
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
#include <sys/types.h>

#include "statefile.h"

/* Key permissions (keyrings(7)): possessor in the top byte, then the owner
 * (the keeper's uid), group, others; 0x3f is everything, 0x01 view, 0x02
 * read, 0x04 write, 0x08 search, 0x10 link. A key: its possessor (the
 * daemon and the keeper, through the session keyring they share) does
 * everything, its owner may see that it exists, nobody else anything. The
 * keyring: its owner may also list, change, search and link it, which a
 * restarted daemon's keeper needs to take possession of it again. */
#define MH_PERM_KEY  0x3f010000u
#define MH_PERM_RING 0x3f1f0000u

/* The audit files the keeper reopens for the daemon (audit.c). */
enum mh_keeper_file { MH_KF_AUDIT, MH_KF_KEYS, MH_KF_PCAP, MH_KF_COUNT };

struct mh_keeper_cfg {
	const char *ring_name;       /* key descriptions are "<ring_name>:<port>" */
	const char *path, *tmp;      /* the state file and its temporary */
	int lock_fd;                 /* flock'ed: held by the keeper until it exits */
	bool seccomp;                /* its own syscall filter (seccomp.c) */
	/* the uid it runs as (the daemon's once hardened), whose user keyring
	 * holds ours; switch_user: it is not the starting one */
	bool switch_user;
	uid_t uid;
	gid_t gid;
	/* audit files, "" when off, and their modes */
	const char *files[MH_KF_COUNT];
	mode_t modes[MH_KF_COUNT];
};

struct mh_keeper;

/* Joins a session keyring of its own (kept by the keeper it forks), forks
 * the keeper and waits for it to find or make our keyring in its user
 * keyring and link it there: the daemon then possesses it too, whatever
 * its uid. NULL with errno on failure. */
struct mh_keeper *mh_keeper_start(const struct mh_keeper_cfg *c);
/* Our keyring and the user keyring that holds it, as the keeper found them. */
void mh_keeper_rings(const struct mh_keeper *k, int32_t *ring, int32_t *user_ring);
/* Reopen the audit files (logrotate): cur[i] is the device and inode of
 * the file the daemon writes now ({0, 0}: none). The keeper opens each
 * path anew; the answer comes on mh_keeper_fd (mh_keeper_reopened). */
struct mh_file_id { uint64_t dev, ino; };
int mh_keeper_reopen(struct mh_keeper *k, const struct mh_file_id cur[MH_KF_COUNT]);
/* The keeper's socket, readable when an answer is there. */
int mh_keeper_fd(const struct mh_keeper *k);
/* Reads one answer: fd[i] a new descriptor of file i (the caller owns it),
 * -1 if the file is unchanged (the same file, or off), or -errno if it
 * could not be opened. 0, -EAGAIN when nothing is there, or -errno. */
int mh_keeper_reopened(struct mh_keeper *k, int fd[MH_KF_COUNT]);
/* Queue operations (-ENOMEM, -EPIPE if the keeper is gone). */
int mh_keeper_key_add(struct mh_keeper *k, uint16_t port,
		      const uint8_t payload[MH_STATE_KEY_PAYLOAD_LEN]);
int mh_keeper_key_del(struct mh_keeper *k, uint16_t port);
/* A state file, in parts as it is encoded (other messages may come in
 * between): written to the temporary, renamed into place at its end; a
 * new begin drops one not ended. */
int mh_keeper_file_begin(struct mh_keeper *k);
int mh_keeper_file_part(struct mh_keeper *k, const char *buf, size_t len);
int mh_keeper_file_end(struct mh_keeper *k);
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
