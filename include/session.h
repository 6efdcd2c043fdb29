/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The session table: one entry per announced mosh-server port, holding the
 * session's crypto context, the sequence state the daemon has seen, the
 * recent authentic sources waiting for mosh-server's reply (candidates) and
 * the pinholes the daemon opened. Pure: no sockets; time is passed in (a
 * session's pidfd is polled by mh_session_pidfd_event alone).
 */
#ifndef MH_SESSION_H
#define MH_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "keyless.h"
#include "pkt.h"
#include "ssp.h"

#define MH_MAX_CANDIDATES 4
#define MH_MAX_BOUND      4    /* local addresses a session's sockets are bound to */
#define MH_PINHOLES_CAP   16   /* the most max_pinholes_per_session accepts (config.c) */
#define MH_HINT_BUCKETS   4096 /* SSH client address index (single-port mode) */
#define MH_SSH_CLIENT_MAX 45   /* bytes of SSH_CONNECTION's first field kept */
#define MH_MUX_PENDING    256  /* single port: unplaced sources kept for the sweep */

struct mh_candidate {
	struct mh_addr src;
	uint64_t expires_ms;     /* 0: slot free */
};

struct mh_pinhole_rec {
	struct mh_addr client;
	uint64_t added_ms;       /* 0: slot free */
	uint32_t seen_gen;       /* last kernel read-back that listed it */
	uint64_t alive_until_ms; /* its element is in the kernel at least until
				  * then (a read-back's expiry; 0: none yet) */
	uint8_t missed;          /* read-backs in a row that did not list it */
};

/* A local address mosh-server's socket is bound to (from sock_diag). */
struct mh_bound {
	int family;              /* AF_INET or AF_INET6 */
	uint8_t ip[16];
	bool any;                /* wildcard address */
	bool v6only;             /* AF_INET6 wildcard that refuses IPv4 */
};

/* The identity of one socket (sock_diag): its cookie, unique for the
 * boot and never reused, and its inode number, for the logs. A session
 * lives only while one of the sockets recorded at its announcement is
 * still bound to its port by its uid (nfq-helper/lifecycle/lifecycle.c). */
struct mh_sockid {
	uint64_t cookie;
	uint32_t ino;
	uint32_t ifindex;        /* the device it is bound to (SO_BINDTODEVICE, a
				    VRF), 0 if none or not known (a state
				    file older than this field): for
				    mh_sockdiag_one's lookup */
};

/* One session, allocated with room for max_pinholes pinhole records
 * (ph[] is a flexible array: never copy a struct mh_session by value). The
 * fields a single-port scan reads come first (one cache line). */
struct mh_session {
	struct mh_session *next, *prev;
	struct ssp_ctx *ssp;     /* the key; its first-block schedule (ssp_ctx_fastpeek) */
	struct mh_session *hint_next; /* chain of the SSH client address index */
	struct mh_addr ssh_addr; /* the SSH client address parsed (port 0); family 0 if none */
	uint64_t max_seq_in;     /* highest to-server sequence number the daemon saw
				    (set it with mh_session_seq_seen: it is indexed) */
	bool contacted;          /* an authentic datagram has arrived */
	bool seen_in;            /* max_seq_in is valid */
	uint64_t seq_key;        /* its place in the sequence index: the lowest
				    to-server sequence number it can take
				    (0 if unseen, else max_seq_in + 1) */
	uint64_t seq_tie;        /* order among equal keys: later sessions higher */
	uint16_t port;
	unsigned n_bound;        /* 0: unknown, any address accepted */
	uint32_t id;
	uid_t uid;
	pid_t pid;
	int pidfd;               /* owned by the daemon's I/O layer; -1 if none */
	uint64_t pid_start;      /* mosh-server's start time (/proc/PID/stat field 22,
				    clock ticks after boot), 0 if unknown: with pid,
				    the process a restarted daemon looks for */
	const char *ssh_client;  /* first field of SSH_CONNECTION as announced,
				    "" if none (never NULL; set it with
				    mh_session_set_ssh_client) */
	uint64_t announced_ms;
	uint64_t last_alive_ms;  /* last authentic inbound datagram or live pinhole seen */
	struct mh_bound bound[MH_MAX_BOUND];
	struct mh_sockid sock[MH_MAX_BOUND]; /* mosh-server's socket(s) at announcement */
	unsigned n_sock;         /* 0: not known (never after start or resume) */
	uint32_t sock_seen;      /* socket check round that last found one of them */
	bool sock_missed;        /* the last check found none, mosh-server running */
	struct mh_candidate cand[MH_MAX_CANDIDATES];
	struct mh_keyless kl;    /* keyless mode's state (ssp is NULL then) */
	unsigned max_pinholes;   /* entries in ph[] */
	struct mh_pinhole_rec ph[];
};

/* Single port: a source at the public port that no bounded trial could
 * place, with what the background sweep needs to test keys against it (the
 * header word and the first cipher block of its latest datagram). Nothing
 * here is authenticated: a match only puts that session first in the
 * source's next trial list. */
struct mh_mux_pending {
	struct mh_addr src;      /* address and port */
	uint8_t head[SSP_HEADER_LEN + 16];
	uint64_t stamp;          /* table clock at its latest datagram; 0: free */
	uint32_t next_port;      /* the sweep's cursor (65536: every port tried) */
	uint32_t match_id;       /* session the sweep found (id and port); 0: none */
	uint16_t match_port;
	uint16_t hits;           /* datagrams seen from this source */
};

/* An entry of the sequence index: the keys inline, so a search reads one
 * array and no session. */
struct mh_seq_ent {
	uint64_t key, tie;       /* the session's seq_key, seq_tie */
	struct mh_session *s;
};

struct mh_table {
	struct mh_session *by_port[65536];
	bool ports_shared;       /* gateway: many servers' sessions share ports;
				    by_port unused (lib/gwtable.c indexes them) */
	struct mh_session *hint[MH_HINT_BUCKETS];  /* by SSH client address */
	struct mh_session *head;
	unsigned count;
	uint32_t next_id;
	/* sequence index: every session, ascending (seq_key, seq_tie) */
	struct mh_seq_ent *by_seq;
	unsigned by_seq_cap;
	uint64_t next_tie;
	/* single port: unplaced sources and the sweep's budget (lib/muxsel.c) */
	struct mh_mux_pending pend[MH_MUX_PENDING];
	uint64_t pend_clock;
	uint64_t sweep_ms;       /* when the sweep's tokens were last added */
	uint64_t sweep_tokens;   /* trials it may spend now */
};

void mh_table_init(struct mh_table *t);
/* Frees every session (wiping keys). */
void mh_table_clear(struct mh_table *t);

/* Creates a session for port with room for max_pinholes pinhole records
 * (clamped to 1..MH_PINHOLES_CAP); the key is copied into the crypto
 * context and the caller's copy should be wiped. key NULL: a keyless
 * session (no crypto context; the caller sets up s->kl). NULL with errno:
 * EEXIST (not in a table whose ports are shared), ENOMEM. */
struct mh_session *mh_session_add(struct mh_table *t, uint16_t port,
				  const uint8_t key[SSP_KEY_LEN], uid_t uid,
				  pid_t pid, uint64_t now_ms,
				  unsigned max_pinholes);
/* Records the address the session's SSH login came from ("" or an IPv4 or
 * IPv6 literal; s->ssh_client keeps the text, up to 45 bytes) and indexes
 * it for single-port lookups. -EINVAL if s is neither empty nor an address
 * (the session is kept without a hint), -ENOMEM (kept without text). */
int mh_session_set_ssh_client(struct mh_table *t, struct mh_session *s,
			      const char *ssh_client);
/* First session whose SSH login came from addr (port ignored); iterate with
 * mh_session_hint_next. */
struct mh_session *mh_session_hint_first(const struct mh_table *t,
					 const struct mh_addr *addr);
struct mh_session *mh_session_hint_next(const struct mh_session *s,
					const struct mh_addr *addr);

/* An authentic to-server datagram with sequence number seq: max_seq_in =
 * seq, seen_in, and the session's place in the sequence index follows. */
void mh_session_seq_seen(struct mh_table *t, struct mh_session *s, uint64_t seq);
/* Re-indexes s after its max_seq_in / seen_in were written directly (a
 * restored session). */
void mh_session_seq_sync(struct mh_table *t, struct mh_session *s);
/* How many sessions can take a to-server datagram with sequence number seq
 * as newer (seq_key <= seq): they are t->by_seq[0 .. n-1].s, the last ones
 * the nearest below seq. */
unsigned mh_session_seq_upper(const struct mh_table *t, uint64_t seq);

/* Unlinks and frees (wiping the key). */
void mh_session_remove(struct mh_table *t, struct mh_session *s);

static inline struct mh_session *mh_session_by_port(const struct mh_table *t,
						    uint16_t port)
{
	return t->by_port[port];
}
unsigned mh_table_count_uid(const struct mh_table *t, uid_t uid);

/* The session a pidfd event ends, or NULL. The event names a port (its
 * epoll tag), not a session: one returned in the same wait as an
 * announcement that ended the port's session (closing its pidfd) and gave
 * the port to a new one is the old mosh-server's, so the port's session
 * ends only if its own pidfd says its process exited (one poll, no wait). */
struct mh_session *mh_session_pidfd_event(const struct mh_table *t,
					  uint16_t port);

/* true if a datagram to dst would reach one of the session's sockets (a
 * datagram to any other local address would only earn an ICMP error). */
bool mh_session_bound_to(const struct mh_session *s, const struct mh_addr *dst);

/* true if the socket with this cookie, of uid, is one the session
 * recorded: it still holds the session's port. */
bool mh_session_has_sock(const struct mh_session *s, uid_t uid,
			 uint64_t cookie);

/* Text form of bound addresses (lib/bound.c): "198.18.0.2,[::]/v6only".
 * 0, -ENOSPC or -EINVAL. */
int mh_bound_format(const struct mh_bound *b, unsigned n, char *buf, size_t len);
int mh_bound_parse(const char *s, struct mh_bound *b, unsigned *n);

/* Candidates: authentic sources awaiting mosh-server's reply. */
void mh_candidate_add(struct mh_session *s, const struct mh_addr *src,
		      uint64_t expires_ms);
bool mh_candidate_take(struct mh_session *s, const struct mh_addr *src,
		       uint64_t now_ms, bool remove);

/* Records a pinhole for client. If the session already holds its maximum,
 * the oldest record is evicted into *evicted and true is returned (the
 * caller deletes it from the kernel). An existing record is refreshed. */
bool mh_pinhole_record(struct mh_session *s, const struct mh_addr *client,
		       uint64_t now_ms, struct mh_addr *evicted);
/* Whether a record's kernel element is sure to be there still at at_ms:
 * its expiry, which only moves forward until it goes, was at least the
 * add plus idle_ms, or a read-back's (alive_until_ms). */
bool mh_pinhole_in_kernel(const struct mh_pinhole_rec *r, uint64_t idle_ms,
			  uint64_t at_ms);
/* The add time to record for an element the kernel lists with left_ms to
 * go (an adopted or re-learned pinhole): as if added idle_ms - left_ms
 * ago (left_ms capped at idle_ms), so that mh_pinhole_in_kernel ends when
 * the element does. Never 0 (a free slot). */
uint64_t mh_pinhole_added_at(uint64_t now_ms, uint64_t idle_ms, uint64_t left_ms);
/* The same as mh_pinhole_record, with a copy of the whole evicted record
 * in *old. */
bool mh_pinhole_record_ex(struct mh_session *s, const struct mh_addr *client,
			  uint64_t now_ms, struct mh_pinhole_rec *old);
/* The read-back's re-arm (nft.h, pinhole_seen) of r, whose element it
 * listed (in the kernel until r->alive_until_ms at least) and whose last
 * inbound datagram was ago_ms before now_ms: the time left to give the
 * element, idle_ms - ago_ms; 0 when the element already lasts that long
 * (within MH_REARM_SLACK_MS: only a new datagram moves it) or that time is
 * over. The caller moves r->alive_until_ms once the re-arm is in. */
#define MH_REARM_SLACK_MS 50
uint64_t mh_pinhole_rearm_left(const struct mh_pinhole_rec *r, uint64_t now_ms,
			       uint64_t idle_ms, uint64_t ago_ms);
/* A read-back's judgement of r, which it did not list (r->seen_gen is
 * not gen): whether r's element is gone from the kernel. Not while r is
 * younger than MH_READBACK_GRACE_MS at from_ms (the listing's start: the
 * add may not have been in force yet) or its known expiry
 * (alive_until_ms) is after from_ms. If the listing was disturbed
 * (pinholes added or deleted while it ran: the kernel's walk of a set
 * that changes can skip an element), a first miss only marks r
 * (r->missed) and a second in a row decides; a listing that names r
 * clears the mark. */
#define MH_READBACK_GRACE_MS 2000
bool mh_pinhole_gone(struct mh_pinhole_rec *r, uint32_t gen, uint64_t from_ms,
		     bool disturbed);
/* Drops a record (the kernel expired or refused it). true if it existed. */
bool mh_pinhole_forget(struct mh_session *s, const struct mh_addr *client);
/* The record of client's pinhole, or NULL (like strchr, a record of a
 * const session comes back writable: the caller knows which it holds). */
struct mh_pinhole_rec *mh_pinhole_find(const struct mh_session *s,
				       const struct mh_addr *client);
unsigned mh_pinhole_count(const struct mh_session *s);
/* The session's open pinhole after prev (NULL: the first), in slot order;
 * NULL after the last. prev may be cleared in between (the walk goes on
 * from its slot). Writable like mh_pinhole_find's. */
struct mh_pinhole_rec *mh_pinhole_next(const struct mh_session *s,
				       const struct mh_pinhole_rec *prev);
/* Every open pinhole r of session s: the one walk over ph[]. */
#define mh_for_each_pinhole(s, r) \
	for ((r) = mh_pinhole_next((s), NULL); (r); (r) = mh_pinhole_next((s), (r)))

#endif
