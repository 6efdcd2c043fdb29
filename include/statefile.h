/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helperd's restart state, pure part: the text file that carries every
 * session across a daemon restart (all but the keys), and the small binary
 * payload of the keyring entry that carries each session's key. Input is
 * checked strictly: a truncated or corrupt file is refused as a whole, with
 * the line and the reason, and never half applied. No I/O here.
 */
#ifndef MH_STATEFILE_H
#define MH_STATEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mh_consts.h"
#include "pkt.h"
#include "session.h"

#define MH_STATE_VERSION     2         /* written; 1 (no sockets) is still read */
#define MH_STATE_BOOT_ID_LEN 36        /* /proc/sys/kernel/random/boot_id */
#define MH_STATE_TABLE_MAX   64
#define MH_STATE_MAX_FILE    (64u << 20) /* far above 65535 full sessions */

struct mh_saved_pinhole {
	struct mh_addr client;
	uint64_t added_ms;                 /* CLOCK_MONOTONIC */
};

/* What a session needs to resume, its key aside. Times are CLOCK_MONOTONIC
 * milliseconds, meaningful within one boot (the file names its boot). */
struct mh_saved_session {
	uint32_t id;
	uint16_t port;
	uid_t uid;
	pid_t pid;
	uint64_t pid_start;                /* /proc/PID/stat field 22 */
	char ssh_client[46];
	uint64_t announced_ms, last_alive_ms;
	bool contacted, seen_in;
	uint64_t max_seq_in;
	unsigned max_pinholes;
	struct mh_bound bound[MH_MAX_BOUND];
	unsigned n_bound;
	struct mh_sockid sock[MH_MAX_BOUND];  /* the sockets it lives by */
	unsigned n_sock;                      /* 0: unknown (a version 1 file) */
	struct mh_saved_pinhole ph[MH_PINHOLES_CAP];
	unsigned n_ph;
};

/* A decoded file. */
struct mh_statefile {
	unsigned version;                  /* of the file read */
	char boot_id[MH_STATE_BOOT_ID_LEN + 1];
	char table[MH_STATE_TABLE_MAX];
	uint32_t next_id;
	struct mh_saved_session *s;        /* n of them (malloc'ed), ports unique */
	unsigned n;
};

/* --- encoding: begin, one call per session, end --- */
struct mh_statefile_enc {
	char *buf;                         /* the file once end returned 0
					      (what follows the last take) */
	size_t len, cap;
	unsigned n;
	int err;                           /* first error; later calls do nothing */
	uint64_t fnv;                      /* checksum of all text so far, */
	size_t hashed;                     /* of which buf[0..hashed) */
};

int mh_statefile_enc_begin(struct mh_statefile_enc *e, const char *boot_id,
			   const char *table, uint32_t next_id);
void mh_statefile_enc_session(struct mh_statefile_enc *e, const struct mh_saved_session *s);
/* Appends the closing line (session count and checksum): 0 or -errno. */
int mh_statefile_enc_end(struct mh_statefile_enc *e);
/* The text encoded since the last take (from the start without one), to
 * be written out before the next call, which reuses the buffer: a big
 * file can go out in parts. Its length; *text points into e->buf. */
size_t mh_statefile_enc_take(struct mh_statefile_enc *e, const char **text);
void mh_statefile_enc_free(struct mh_statefile_enc *e);

/* Decodes a whole file. 0, or -EINVAL (-ENOMEM) with err holding the line
 * and the reason; st is then empty. Free with mh_statefile_free. */
int mh_statefile_decode(const char *text, size_t len, struct mh_statefile *st,
			char *err, size_t errlen);
void mh_statefile_free(struct mh_statefile *st);

/* A live session into its saved form. */
void mh_saved_from_session(const struct mh_session *s, struct mh_saved_session *out);
/* Saved fields onto a session just made by mh_session_add (id, pid start,
 * times, sequence state, bound addresses, sockets, pinhole records up to
 * s->max_pinholes, the newest kept). The SSH client address goes through
 * mh_session_set_ssh_client (it needs the table). Returns the number of
 * pinhole records that did not fit. */
unsigned mh_saved_apply(const struct mh_saved_session *in, struct mh_session *s);

/* --- the keyring payload: magic, pid, pid start time, key --- */
#define MH_STATE_KEY_PAYLOAD_LEN (4 + 4 + 8 + SSP_KEY_LEN)

void mh_statefile_key_encode(pid_t pid, uint64_t pid_start,
			     const uint8_t key[SSP_KEY_LEN],
			     uint8_t out[MH_STATE_KEY_PAYLOAD_LEN]);
/* 0, or -EINVAL if in is not such a payload. */
int mh_statefile_key_decode(const uint8_t *in, size_t len, pid_t *pid,
			    uint64_t *pid_start, uint8_t key[SSP_KEY_LEN]);

#endif
