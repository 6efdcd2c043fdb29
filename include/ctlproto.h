/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The control protocol between mosh-helper-hook (and mosh-helperctl) and
 * mosh-helperd over a SOCK_SEQPACKET unix socket. Every message starts with
 * a 4-byte header: version (1 byte), type (1 byte), body length (2 bytes,
 * big endian); the body length must match the received size exactly.
 * Encoders write into a caller's buffer; the decoder checks every length.
 * Pure: no sockets.
 */
#ifndef MH_CTLPROTO_H
#define MH_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mh_consts.h"
#include "pkt.h"

#define MHC_VERSION        1
#define MHC_HEADER_LEN     4
#define MHC_MAX_MSG        1024   /* no message is longer; longer is refused */
#define MHC_SSH_CONN_MAX   200    /* SSH_CONNECTION value, bytes */
#define MHC_REASON_MAX     200

enum mhc_type {
	MHC_ANNOUNCE = 1,  /* hook -> daemon: a new session */
	MHC_REPLY    = 2,  /* daemon -> client: status and reason */
	/* mosh-helperctl (admin requests; each refused one gets an MHC_REPLY) */
	MHC_LIST        = 3,  /* ctl -> daemon: u16 first port */
	MHC_LIST_REPLY  = 4,  /* daemon -> ctl: sessions from that port on */
	MHC_STATS       = 5,  /* ctl -> daemon: u8 first counter index */
	MHC_STATS_REPLY = 6,  /* daemon -> ctl: "name value\n" lines */
	MHC_KILL        = 7,  /* ctl -> daemon: u16 session port; MHC_REPLY */
	MHC_RELOAD      = 8,  /* ctl -> daemon: empty body; MHC_REPLY */
	MHC_STATUS       = 9,  /* ctl -> daemon: u16 first peer index */
	MHC_STATUS_REPLY = 10, /* daemon -> ctl: role, peers from that index */
	/* 11 and above are unknown (tests/tools/ctlprobe sends 11 as a bad type) */
};

enum mhc_status {
	MHC_OK = 0,
	MHC_ERR_PROTOCOL,    /* malformed or unknown message */
	MHC_ERR_RANGE,       /* port outside the managed range */
	MHC_ERR_NOT_OWNER,   /* port not bound by a UDP socket of the caller */
	MHC_ERR_PID,         /* pid not the caller's, or does not hold the socket */
	MHC_ERR_QUOTA,       /* per-user or global session quota */
	MHC_ERR_EXISTS,      /* port already has a session */
	MHC_ERR_KEY,         /* key is not 22 base64 characters */
	MHC_ERR_INTERNAL,    /* daemon-side failure (nftables, memory) */
	MHC_ERR_PERM,        /* admin request the caller's uid may not make */
	MHC_ERR_NOT_FOUND,   /* no session on the port named */
	MHC_ERR_GATEWAY,     /* role relay: a gateway refused it, or none answered */
};
#define MHC_STATUS_MAX MHC_ERR_GATEWAY

/* ANNOUNCE body: port u16, pid u32, key (u8 length + base64), then
 * SSH_CONNECTION (u8 length + printable text). The key is 22 characters,
 * or none at all (length 0) from a hook in keyless mode: the session key
 * never leaves it. A daemon of either mode refuses the other form. */
struct mhc_announce {
	uint16_t port;
	uint32_t pid;
	char key[SSP_KEY_B64_LEN + 1];            /* NUL-terminated; "": keyless */
	char ssh_connection[MHC_SSH_CONN_MAX + 1]; /* NUL-terminated, may be "" */
};

struct mhc_reply {
	uint8_t status;                            /* enum mhc_status */
	char reason[MHC_REASON_MAX + 1];           /* NUL-terminated */
};

/*
 * Admin messages. A list reply carries the sessions with port >= the
 * requested first port, ascending, as many as fit in one message, and the
 * port to ask for next (0: done); the daemon keeps no cursor, so each page
 * is one connection. Session record: port u16, uid u32, pid u32, id u32,
 * age_ms u64 (since announced), alive_ago_ms u64 (last authentic inbound
 * datagram or live pinhole), flags u8 (bit 0: contacted), ssh_client
 * (u8 length + printable text), n_pinholes u8, then per pinhole: family u8
 * (4 or 6), address (4 or 16 bytes), client port u16, age_ms u64. A
 * session with MHC_PINHOLES_MAX pinholes always fits in one message.
 * A stats reply: next index u8 (0: done), then "name value\n" lines (name
 * [a-z0-9_], value decimal, no leading zeros). Integers big endian.
 */
#define MHC_SSH_CLIENT_MAX   45   /* = MH_SSH_CLIENT_MAX */
#define MHC_PINHOLES_MAX     16   /* = MH_PINHOLES_CAP */
#define MHC_LIST_SESSIONS    32   /* session records one reply can hold */
#define MHC_LIST_PINHOLES    72   /* pinhole records one reply can hold */
#define MHC_STAT_NAME_MAX    40
#define MHC_STATS_MAX        48   /* counters one reply can hold */
#define MHC_LIST_HEAD_LEN    3    /* next u16, count u8 */
#define MHC_FLAG_CONTACTED   0x01

struct mhc_pinhole_info {
	struct mh_addr client;     /* family, address, client port */
	uint64_t age_ms;           /* since the daemon opened it */
};

struct mhc_session_info {
	uint16_t port;
	uint32_t uid, pid, id;
	uint64_t age_ms, alive_ago_ms;
	bool contacted;
	char ssh_client[MHC_SSH_CLIENT_MAX + 1];  /* printable, may be "" */
	uint8_t n_pinholes;        /* <= MHC_PINHOLES_MAX */
	uint8_t first_pinhole;     /* index into mhc_list.ph */
};

struct mhc_list {
	uint16_t next;             /* port to ask for next; 0: no more sessions */
	uint8_t n_sessions;
	uint8_t n_pinholes;
	size_t len;                /* encoded size so far (header included) */
	struct mhc_session_info s[MHC_LIST_SESSIONS];
	struct mhc_pinhole_info ph[MHC_LIST_PINHOLES];
};

struct mhc_stat {
	char name[MHC_STAT_NAME_MAX + 1];
	uint64_t value;
};

struct mhc_stats {
	uint8_t next;              /* index to ask for next; 0: no more */
	uint8_t n;
	size_t len;                /* encoded size so far (header included) */
	struct mhc_stat st[MHC_STATS_MAX];
};

/*
 * Status reply (lib/ctlstatus.c): the daemon's role and its peers' links
 * (a gateway's relays, a relay's gateways), paged by index like stats.
 * Body: role u8 (enum mh_role), next u16 (0: done), count u8, then per
 * peer: state u8 (enum mhc_peer_state), since_ago_ms u64 (in that state
 * since), beat_ago_ms u64 (last heartbeat heard; MHC_NEVER: none),
 * sessions u32 (held for it; MHC_UNCOUNTED: not counted), conn u32 (the
 * gateway's connection number while up; 0), then three texts, each u8
 * length + printable: name (relay: its HELLO name; gateway: ADDR:PORT as
 * configured), subject (certificate subject, may be ""), why (down: the
 * reason, may be ""). Integers big endian.
 */
#define MHC_STATUS_PEERS     16   /* peer records one reply can hold */
#define MHC_PEER_NAME_MAX    64
#define MHC_PEER_SUBJ_MAX    255  /* a relay subject is refused at 256 (tls.c) */
#define MHC_PEER_WHY_MAX     160
#define MHC_NEVER            UINT64_MAX
#define MHC_UNCOUNTED        UINT32_MAX

enum mhc_peer_state { MHC_PEER_DOWN = 0, MHC_PEER_UP = 1 };

struct mhc_peer_info {
	uint8_t state;                      /* enum mhc_peer_state */
	uint64_t since_ago_ms, beat_ago_ms;
	uint32_t sessions, conn;
	char name[MHC_PEER_NAME_MAX + 1];   /* printable, NUL-terminated */
	char subject[MHC_PEER_SUBJ_MAX + 1];
	char why[MHC_PEER_WHY_MAX + 1];
};

struct mhc_status_reply {
	uint8_t role;              /* 0 host, 1 relay, 2 gateway (enum mh_role) */
	uint16_t next;             /* peer index to ask for next; 0: no more */
	uint8_t n;
	size_t len;                /* encoded size so far (header included) */
	struct mhc_peer_info p[MHC_STATUS_PEERS];
};

struct mhc_msg {
	uint8_t type;
	union {
		struct mhc_announce announce;
		struct mhc_reply reply;
		uint16_t first_port;       /* MHC_LIST */
		uint8_t first_stat;        /* MHC_STATS */
		uint16_t kill_port;        /* MHC_KILL */
		struct mhc_list list;      /* MHC_LIST_REPLY */
		struct mhc_stats stats;    /* MHC_STATS_REPLY */
		uint16_t first_peer;       /* MHC_STATUS */
		struct mhc_status_reply status;  /* MHC_STATUS_REPLY */
	} u;
};

/* Encoders return the message length, or -ENOBUFS / -EINVAL. */
ssize_t mhc_encode_announce(const struct mhc_announce *a, uint8_t *buf,
			    size_t cap);
ssize_t mhc_encode_reply(uint8_t status, const char *reason, uint8_t *buf,
			 size_t cap);

/* Admin requests: LIST (first port), STATS (first index), KILL (port),
 * RELOAD. Return the length, or -ENOBUFS. */
ssize_t mhc_encode_list_req(uint16_t first_port, uint8_t *buf, size_t cap);
ssize_t mhc_encode_stats_req(uint8_t first, uint8_t *buf, size_t cap);
ssize_t mhc_encode_kill(uint16_t port, uint8_t *buf, size_t cap);
ssize_t mhc_encode_reload(uint8_t *buf, size_t cap);

/* Building a list reply: init, then add sessions in ascending port order
 * until one returns -ENOBUFS (it would not fit in MHC_MAX_MSG: that port is
 * the next page's first) or -EINVAL (bad fields: ssh_client not printable
 * or too long, more than MHC_PINHOLES_MAX pinholes, a family other than
 * AF_INET/AF_INET6, ports not ascending). The session's n_pinholes and
 * first_pinhole are set from ph/n_ph. Nothing is added on failure. */
void mhc_list_init(struct mhc_list *l);
int mhc_list_add(struct mhc_list *l, const struct mhc_session_info *s,
		 const struct mhc_pinhole_info *ph, unsigned n_ph);
ssize_t mhc_encode_list(const struct mhc_list *l, uint8_t *buf, size_t cap);

/* Building a stats reply: same pattern; -EINVAL for a name outside
 * [a-z0-9_]{1,MHC_STAT_NAME_MAX}. */
void mhc_stats_init(struct mhc_stats *st);
int mhc_stats_add(struct mhc_stats *st, const char *name, uint64_t value);
ssize_t mhc_encode_stats(const struct mhc_stats *st, uint8_t *buf, size_t cap);

/* Status (lib/ctlstatus.c). The request names the first peer index.
 * Building a reply: init with the role, then add peers until one returns
 * -ENOBUFS (that index is the next page's first) or -EINVAL (a text too
 * long or not printable, a state or role unknown). */
ssize_t mhc_encode_status_req(uint16_t first, uint8_t *buf, size_t cap);
void mhc_status_init(struct mhc_status_reply *st, uint8_t role);
int mhc_status_add(struct mhc_status_reply *st, const struct mhc_peer_info *p);
ssize_t mhc_encode_status(const struct mhc_status_reply *st, uint8_t *buf, size_t cap);
/* The reply's body (after the header, len bytes): NULL, or why not. */
const char *mhc_decode_status(const uint8_t *body, size_t len,
			      struct mhc_status_reply *st);
const char *mhc_role_name(uint8_t role);

/* Decode one received message. Returns 0, or -EPROTO with *why set to a
 * static reason (bad version, unknown type, length mismatch, field not
 * printable, ...). */
int mhc_decode(const uint8_t *buf, size_t len, struct mhc_msg *m,
	       const char **why);

const char *mhc_status_name(uint8_t status);

/* The part of MHC_ERR_NOT_OWNER's reason that says another user's socket
 * on an address the session's clients reach holds the port too. */
#define MHC_WHY_SHARED "is shared with another user's socket"

/* A refusal for someone else's hold on the port itself: another session
 * has it (MHC_ERR_EXISTS; sessions are keyed by port alone, so one on
 * another local address counts), or another user's socket shares it.
 * mosh-server may find a higher port free of both; no other refusal
 * (a gateway's included) depends on the port. */
bool mhc_port_taken(uint8_t status, const char *reason);

#endif
