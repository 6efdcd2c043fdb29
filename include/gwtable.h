/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The gateway's sessions (role = gateway): keyed by server address .
 * server port, each with its key and slow-path state (a struct
 * mh_session of a ports-shared table), the relay identity that announced
 * it and its resync mark; and the relays, by certificate subject (one
 * live connection each), with their resync state (relaysync.h). Pure: no
 * sockets, no clock; the caller (nfq-helper/gwcore.c) applies each
 * outcome to the kernel.
 */
#ifndef MH_GWTABLE_H
#define MH_GWTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "pkt.h"
#include "relaysync.h"
#include "relaywire.h"
#include "session.h"

#define MH_GW_BUCKETS     4096
#define MH_GW_RELAYS_MAX  256
#define MH_GW_SUBJECT_MAX 256

struct mh_gw_relay {
	char subject[MH_GW_SUBJECT_MAX];   /* "" : slot free */
	char name[MHR_NAME_MAX + 1];       /* its HELLO's name, for the logs */
	uint32_t conn;                     /* listener's connection while up; 0: down */
	struct mh_rsync rs;
	unsigned sessions;                 /* sessions it announced, held now */
};

struct mh_gw_sess {
	struct mh_gw_sess *hnext;          /* bucket chain */
	struct mh_addr server;             /* address . port */
	struct mh_session *s;              /* key, candidates, pinhole records */
	struct mh_gw_relay *relay;         /* the announcing relay */
	uint32_t sid;                      /* its session id on that relay */
	struct mh_rsync_mark mark;
	bool keyless;                      /* adopted at a restart: no key yet
					      (keyless mode: no_keys below) */
};

struct mh_gw_table {
	struct mh_table *t;                /* where the struct mh_session live */
	struct mh_gw_sess *bucket[MH_GW_BUCKETS];
	struct mh_gw_relay relay[MH_GW_RELAYS_MAX];
	unsigned count;
	unsigned max_sessions, max_pinholes;
	/* mh_gwt_limits: the server ports a relay may announce (0, 0: any)
	 * and the sessions one relay may hold (0: max_sessions) */
	uint16_t port_low, port_high;
	unsigned max_per_relay;
	bool no_keys;                      /* keyless mode (issue 16): only
					      keyless OPENs, sessions without
					      keys; set after mh_gwt_init */
};

/* t must be empty; it is marked ports-shared. */
void mh_gwt_init(struct mh_gw_table *g, struct mh_table *t,
		 unsigned max_sessions, unsigned max_pinholes);
/* Only server ports port_low..port_high (the range the table guards: a
 * session on another port would guard nothing and take a slot), and at
 * most max_per_relay sessions per relay (so no one login server, broken
 * or taken over, holds every slot of the gateway). */
void mh_gwt_limits(struct mh_gw_table *g, uint16_t port_low,
		   uint16_t port_high, unsigned max_per_relay);
/* Frees every session (wiping keys). */
void mh_gwt_clear(struct mh_gw_table *g);

struct mh_gw_sess *mh_gwt_find(const struct mh_gw_table *g,
			       const struct mh_addr *server);
/* The session of server's address and port (mh_find_session_fn's form,
 * arg the struct mh_gw_table); NULL for an adopted one without its key
 * (in keyless mode no session has one: every session is found). */
struct mh_session *mh_gwt_find_session(void *arg, const struct mh_addr *server);
/* The relay up on connection conn, or NULL. */
struct mh_gw_relay *mh_gwt_relay(struct mh_gw_table *g, uint32_t conn);

/* A relay is up on conn (its certificate's subject and its HELLO's name):
 * the identity's record, made if new; any resync it had is abandoned.
 * NULL with why (static text) if the identity is up on another connection
 * (one live connection per subject: a second one, a clone of the
 * certificate say, would otherwise share the first one's sessions; a
 * relay reconnecting after its old connection went down takes them
 * back), if conn is up already, if the relay table is full or the
 * subject empty or too long. */
struct mh_gw_relay *mh_gwt_relay_up(struct mh_gw_table *g, uint32_t conn,
				    const char *subject, const char *name,
				    const char **why);
/* The relay on conn went away: each of its sessions is doomed at now +
 * grace (unless confirmed before). How many; 0 if conn is not up. A relay
 * down with no session left is forgotten (its slot freed). */
unsigned mh_gwt_relay_down(struct mh_gw_table *g, uint32_t conn,
			   uint64_t now_ms, uint64_t grace_ms);

/* Keyless mode is the whole site's or nobody's: NULL if the OPEN's mode
 * is the gateway's (no_keys: keyless), else why it is refused, naming
 * both (as a host tells a hook of the other mode). Static text. */
const char *mh_gwt_mode_why(bool no_keys, const struct mhr_open *o);

/* What an OPEN does (status MHR_ST_OK): */
enum mh_gwt_open_kind {
	MH_GWT_NEW,        /* a session made: its element goes into the kernel */
	MH_GWT_CONFIRMED,  /* the relay's session it held already: nothing */
	MH_GWT_REPLACED,   /* the relay's older session on that server port
			      ended first (its pinholes go; *old was passed
			      to the caller before it was freed: see below) */
};
struct mh_gwt_open_res {
	enum mh_gwt_open_kind kind;
	struct mh_gw_sess *gs;             /* the session (new or held) */
	uint8_t status;                    /* enum mhr_status */
	const char *why;                   /* static; "" if ok */
};
/* The pinholes of a session about to be freed, for the kernel: called on
 * a REPLACED OPEN's old session before it goes. */
typedef void (*mh_gwt_gone_fn)(void *arg, struct mh_gw_sess *old);
/*
 * An OPEN from the relay on conn (already checked against its
 * certificate). Refused: NOT_ALLOWED (a keyed OPEN to a keyless gateway,
 * or a keyless one to a keyed gateway, with which in why), STATE (no relay up on conn, or a resync flag out
 * of turn), EXISTS (another relay's session holds that server port),
 * QUOTA (max_sessions), INTERNAL (memory). The relay's own session on
 * that port with the same sid is confirmed (a resync); with another sid
 * it is replaced (the relay missed telling its end). An adopted session
 * (mh_gwt_adopt) is confirmed, taking the relay, sid and key.
 */
void mh_gwt_open(struct mh_gw_table *g, uint32_t conn, const struct mhr_open *o,
		 uint64_t now_ms, mh_gwt_gone_fn gone, void *arg,
		 struct mh_gwt_open_res *res);

/* An END from the relay on conn: the session to end (the caller removes
 * its elements, then mh_gwt_remove), or NULL with status NOT_FOUND (no
 * such session of that relay with that sid) or STATE (no relay up). */
struct mh_gw_sess *mh_gwt_end(struct mh_gw_table *g, uint32_t conn,
			      const struct mhr_end *e, uint8_t *status,
			      const char **why);

/* RESYNC_BEGIN / RESYNC_END from the relay on conn: status OK or STATE
 * (why). A good END dooms the relay's sessions it did not list at now +
 * grace. */
uint8_t mh_gwt_resync_begin(struct mh_gw_table *g, uint32_t conn,
			    uint32_t count, const char **why);
uint8_t mh_gwt_resync_end(struct mh_gw_table *g, uint32_t conn, uint32_t count,
			  uint64_t now_ms, uint64_t grace_ms, const char **why);

/* A session the kernel's table held when the gateway restarted: no key
 * and no relay yet (its datagrams verify under no key, so its slow path
 * admits nobody), doomed at now + grace. The first OPEN for its server
 * port from a relay the listener admitted gives it that relay and key,
 * whatever the sid, and keeps its pinholes. NULL with errno (EEXIST,
 * ENOSPC, ENOMEM). */
struct mh_gw_sess *mh_gwt_adopt(struct mh_gw_table *g,
				const struct mh_addr *server, uint64_t now_ms,
				uint64_t grace_ms);

/* The first session whose doom is due at now, or NULL. */
struct mh_gw_sess *mh_gwt_due(const struct mh_gw_table *g, uint64_t now_ms);

/* Unlinks and frees a session (its mh_session too, wiping the key). */
void mh_gwt_remove(struct mh_gw_table *g, struct mh_gw_sess *gs);

/* Every session, in bucket order. */
struct mh_gw_sess *mh_gwt_next(const struct mh_gw_table *g,
			       const struct mh_gw_sess *prev);

#endif
