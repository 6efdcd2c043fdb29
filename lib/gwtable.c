/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The gateway's session and relay bookkeeping (include/gwtable.h): a hash
 * of sessions by server address . port over a ports-shared session table,
 * the relays by certificate subject (one live connection each), and what
 * each relay message does to them under relaysync.h's rules. Pure: no sockets, time passed in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include "gwtable.h"

void mh_gwt_init(struct mh_gw_table *g, struct mh_table *t,
		 unsigned max_sessions, unsigned max_pinholes)
{
	memset(g, 0, sizeof(*g));
	g->t = t;
	t->ports_shared = true;
	g->max_sessions = max_sessions;
	g->max_pinholes = max_pinholes;
}

void mh_gwt_limits(struct mh_gw_table *g, uint16_t port_low,
		   uint16_t port_high, unsigned max_per_relay)
{
	g->port_low = port_low;
	g->port_high = port_high;
	g->max_per_relay = max_per_relay;
}

static unsigned bucket_of(const struct mh_addr *a)
{
	size_t n = a->family == AF_INET ? 4 : 16;
	uint32_t h = 2166136261u;   /* FNV-1a over address and port */

	for (size_t i = 0; i < n; i++)
		h = (h ^ a->ip[i]) * 16777619u;
	h = (h ^ (a->port & 0xff)) * 16777619u;
	h = (h ^ (a->port >> 8)) * 16777619u;
	return h % MH_GW_BUCKETS;
}

struct mh_gw_sess *mh_gwt_find(const struct mh_gw_table *g,
			       const struct mh_addr *server)
{
	struct mh_gw_sess *gs;

	if (server->family != AF_INET && server->family != AF_INET6)
		return NULL;
	for (gs = g->bucket[bucket_of(server)]; gs; gs = gs->hnext)
		if (mh_addr_equal(&gs->server, server))
			return gs;
	return NULL;
}

struct mh_session *mh_gwt_find_session(void *arg, const struct mh_addr *server)
{
	struct mh_gw_sess *gs = mh_gwt_find(arg, server);

	/* an adopted session has no key yet: its slow path admits nobody
	 * (its placeholder key is all zeros, known to anyone) */
	return gs && (!gs->keyless || ((const struct mh_gw_table *)arg)->no_keys)
	       ? gs->s : NULL;
}

struct mh_gw_relay *mh_gwt_relay(struct mh_gw_table *g, uint32_t conn)
{
	if (!conn)
		return NULL;
	for (unsigned i = 0; i < MH_GW_RELAYS_MAX; i++)
		if (g->relay[i].subject[0] && g->relay[i].conn == conn)
			return &g->relay[i];
	return NULL;
}

/* The record of subject, made in a free slot if new; NULL (why) if full,
 * or if another connection holds that identity now: one live connection
 * per certificate subject, or a clone of a relay's certificate could end
 * or take over the first connection's sessions (issue 13). */
static struct mh_gw_relay *relay_by_subject(struct mh_gw_table *g,
					    const char *subject,
					    const char **why)
{
	struct mh_gw_relay *free_slot = NULL;

	*why = "the relay table is full";
	for (unsigned i = 0; i < MH_GW_RELAYS_MAX; i++) {
		struct mh_gw_relay *r = &g->relay[i];

		if (!r->subject[0]) {
			free_slot = free_slot ? free_slot : r;
			continue;
		}
		if (strcmp(r->subject, subject) != 0)
			continue;
		if (!r->conn)
			return r;
		*why = "another connection with this certificate subject is up: "
		       "one connection per relay identity";
		return NULL;
	}
	if (free_slot) {
		memset(free_slot, 0, sizeof(*free_slot));
		strcpy(free_slot->subject, subject);
	}
	return free_slot;
}

struct mh_gw_relay *mh_gwt_relay_up(struct mh_gw_table *g, uint32_t conn,
				    const char *subject, const char *name,
				    const char **why)
{
	struct mh_gw_relay *r;

	*why = "no connection number";
	if (!conn)
		return NULL;
	*why = "this connection is up already";
	if (mh_gwt_relay(g, conn))
		return NULL;
	*why = "no certificate subject, or one too long";
	if (!subject[0] || strlen(subject) >= MH_GW_SUBJECT_MAX)
		return NULL;
	r = relay_by_subject(g, subject, why);
	if (!r)
		return NULL;
	r->conn = conn;    /* the identity was down: it takes its sessions back */
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "");
	mh_rsync_connect(&r->rs);
	*why = "";
	return r;
}

/* A relay down with no session left frees its slot. */
static void relay_maybe_free(struct mh_gw_relay *r)
{
	if (r && !r->conn && !r->sessions)
		memset(r, 0, sizeof(*r));
}

unsigned mh_gwt_relay_down(struct mh_gw_table *g, uint32_t conn,
			   uint64_t now_ms, uint64_t grace_ms)
{
	struct mh_gw_relay *r = mh_gwt_relay(g, conn);
	struct mh_gw_sess *gs = NULL;
	unsigned n = 0;

	if (!r)
		return 0;
	r->conn = 0;
	while ((gs = mh_gwt_next(g, gs))) {
		if (gs->relay != r)
			continue;
		mh_rsync_orphan(&r->rs, &gs->mark, now_ms, grace_ms);
		n++;
	}
	relay_maybe_free(r);
	return n;
}

/* ---- sessions ----------------------------------------------------------- */

static struct mh_gw_sess *sess_new(struct mh_gw_table *g,
				   const struct mh_addr *server,
				   const uint8_t key[SSP_KEY_LEN], uint32_t uid,
				   uint64_t now_ms)
{
	struct mh_gw_sess *gs = calloc(1, sizeof(*gs));
	unsigned b = bucket_of(server);

	if (!gs)
		return NULL;
	gs->s = mh_session_add(g->t, server->port, key, (uid_t)uid, 0, now_ms,
			       g->max_pinholes);
	if (!gs->s) {
		free(gs);
		return NULL;
	}
	/* the server's address is where datagrams must go (verdict.c's
	 * bound check) and what the audit trail names */
	gs->s->bound[0].family = server->family;
	memcpy(gs->s->bound[0].ip, server->ip, sizeof(server->ip));
	gs->s->n_bound = 1;
	gs->server = *server;
	gs->hnext = g->bucket[b];
	g->bucket[b] = gs;
	g->count++;
	return gs;
}

void mh_gwt_remove(struct mh_gw_table *g, struct mh_gw_sess *gs)
{
	struct mh_gw_sess **pp = &g->bucket[bucket_of(&gs->server)];

	while (*pp && *pp != gs)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = gs->hnext;
	if (gs->relay && gs->relay->sessions)
		gs->relay->sessions--;
	relay_maybe_free(gs->relay);
	mh_session_remove(g->t, gs->s);
	free(gs);
	g->count--;
}

void mh_gwt_clear(struct mh_gw_table *g)
{
	struct mh_gw_sess *gs;

	while ((gs = mh_gwt_next(g, NULL)))
		mh_gwt_remove(g, gs);
}

struct mh_gw_sess *mh_gwt_next(const struct mh_gw_table *g,
			       const struct mh_gw_sess *prev)
{
	unsigned b = 0;

	if (prev) {
		if (prev->hnext)
			return prev->hnext;
		b = bucket_of(&prev->server) + 1;
	}
	for (; b < MH_GW_BUCKETS; b++)
		if (g->bucket[b])
			return g->bucket[b];
	return NULL;
}

static void set_owner(struct mh_gw_sess *gs, struct mh_gw_relay *r, uint32_t sid)
{
	if (gs->relay == r)
		return;
	if (gs->relay && gs->relay->sessions)
		gs->relay->sessions--;
	relay_maybe_free(gs->relay);
	gs->relay = r;
	gs->sid = sid;
	r->sessions++;
}

static void refuse(struct mh_gwt_open_res *res, uint8_t status, const char *why)
{
	res->status = status;
	res->why = why;
	res->gs = NULL;
}

const char *mh_gwt_mode_why(bool no_keys, const struct mhr_open *o)
{
	bool keyless = o->flags & MHR_OPEN_KEYLESS;

	if (no_keys && !keyless)
		return "this gateway is keyless and takes no session key; the relay "
		       "sent one (set keyless = true on the relay)";
	if (!no_keys && keyless)
		return "this gateway needs the session key (keyless = false); the "
		       "relay sent a keyless OPEN";
	return NULL;
}

/* The first relay to announce an adopted session's port gives it its key. */
static bool take_adopted(struct mh_gw_sess *gs, struct mh_gw_relay *r,
			 const struct mhr_open *o, struct mh_gwt_open_res *res)
{
	bool keyless = o->flags & MHR_OPEN_KEYLESS;   /* no key to take */
	struct ssp_ctx *c = keyless ? NULL : ssp_ctx_new(o->key);

	if (!c && !keyless) {
		refuse(res, MHR_ST_INTERNAL, "out of memory");
		return true;
	}
	if (c) {
		ssp_ctx_free(gs->s->ssp);
		gs->s->ssp = c;
	}
	gs->s->uid = (uid_t)o->uid;
	gs->keyless = false;
	set_owner(gs, r, o->sid);
	res->kind = MH_GWT_CONFIRMED;
	res->gs = gs;
	return true;
}

/* An OPEN for a server port that holds a session: the relay's own (same
 * sid: confirmed; another sid: the older one ends first) or another's. */
static bool open_held(struct mh_gw_table *g, struct mh_gw_relay *r,
		      struct mh_gw_sess *held, const struct mhr_open *o,
		      mh_gwt_gone_fn gone, void *arg, struct mh_gwt_open_res *res)
{
	if (held->keyless)
		return take_adopted(held, r, o, res);
	if (held->relay && held->relay != r) {
		refuse(res, MHR_ST_EXISTS,
		       "another relay's session holds that server address and port");
		return true;
	}
	if (held->sid == o->sid) {
		set_owner(held, r, o->sid);
		res->kind = MH_GWT_CONFIRMED;
		res->gs = held;
		return true;
	}
	if (gone)
		gone(arg, held);
	mh_gwt_remove(g, held);
	res->kind = MH_GWT_REPLACED;
	return false;
}

void mh_gwt_open(struct mh_gw_table *g, uint32_t conn, const struct mhr_open *o,
		 uint64_t now_ms, mh_gwt_gone_fn gone, void *arg,
		 struct mh_gwt_open_res *res)
{
	struct mh_gw_relay *r = mh_gwt_relay(g, conn);
	bool resync = o->flags & MHR_OPEN_RESYNC;
	struct mh_gw_sess *held;
	const char *why;

	memset(res, 0, sizeof(*res));
	res->why = "";
	if (!r)
		return refuse(res, MHR_ST_STATE, "no relay is up on this connection");
	if ((why = mh_gwt_mode_why(g->no_keys, o)))
		return refuse(res, MHR_ST_NOT_ALLOWED, why);
	if (g->port_high && (o->server.port < g->port_low ||
			     o->server.port > g->port_high))
		return refuse(res, MHR_ST_NOT_ALLOWED, "the server port is not in the "
			      "range the gateway guards (ports)");
	if (mh_rsync_check_open(&r->rs, resync, &why) < 0)
		return refuse(res, MHR_ST_STATE, why);
	res->kind = MH_GWT_NEW;
	held = mh_gwt_find(g, &o->server);
	if (held && open_held(g, r, held, o, gone, arg, res)) {
		if (res->gs)
			mh_rsync_confirm(&r->rs, &res->gs->mark, resync);
		return;
	}
	if (g->max_per_relay && r->sessions >= g->max_per_relay)
		return refuse(res, MHR_ST_QUOTA, "this login server's relay holds "
			      "max_sessions_per_relay sessions on the gateway");
	if (g->count >= g->max_sessions)
		return refuse(res, MHR_ST_QUOTA, "the gateway holds max_sessions sessions");
	res->gs = sess_new(g, &o->server,
			   o->flags & MHR_OPEN_KEYLESS ? NULL : o->key, o->uid,
			   now_ms);
	if (!res->gs)
		return refuse(res, MHR_ST_INTERNAL, "out of memory");
	set_owner(res->gs, r, o->sid);
	mh_rsync_confirm(&r->rs, &res->gs->mark, resync);
}

struct mh_gw_sess *mh_gwt_end(struct mh_gw_table *g, uint32_t conn,
			      const struct mhr_end *e, uint8_t *status,
			      const char **why)
{
	struct mh_gw_relay *r = mh_gwt_relay(g, conn);
	struct mh_gw_sess *gs;

	*status = MHR_ST_STATE;
	*why = "no relay is up on this connection";
	if (!r)
		return NULL;
	gs = mh_gwt_find(g, &e->server);
	*status = MHR_ST_NOT_FOUND;
	*why = "no session of this relay with that id on that server port";
	if (!gs || gs->relay != r || gs->sid != e->sid)
		return NULL;
	*status = MHR_ST_OK;
	*why = "";
	return gs;
}

uint8_t mh_gwt_resync_begin(struct mh_gw_table *g, uint32_t conn,
			    uint32_t count, const char **why)
{
	struct mh_gw_relay *r = mh_gwt_relay(g, conn);

	*why = "no relay is up on this connection";
	if (!r)
		return MHR_ST_STATE;
	if (mh_rsync_begin(&r->rs, count, why) < 0)
		return MHR_ST_STATE;
	*why = "";
	return MHR_ST_OK;
}

uint8_t mh_gwt_resync_end(struct mh_gw_table *g, uint32_t conn, uint32_t count,
			  uint64_t now_ms, uint64_t grace_ms, const char **why)
{
	struct mh_gw_relay *r = mh_gwt_relay(g, conn);
	struct mh_gw_sess *gs = NULL;

	*why = "no relay is up on this connection";
	if (!r)
		return MHR_ST_STATE;
	if (mh_rsync_end(&r->rs, count, why) < 0)
		return MHR_ST_STATE;
	while ((gs = mh_gwt_next(g, gs)))
		if (gs->relay == r)
			mh_rsync_after_end(&r->rs, &gs->mark, now_ms, grace_ms);
	*why = "";
	return MHR_ST_OK;
}

struct mh_gw_sess *mh_gwt_adopt(struct mh_gw_table *g,
				const struct mh_addr *server, uint64_t now_ms,
				uint64_t grace_ms)
{
	static const uint8_t no_key[SSP_KEY_LEN];
	struct mh_rsync nobody = { 0 };
	struct mh_gw_sess *gs;

	if (g->count >= g->max_sessions) {
		errno = ENOSPC;
		return NULL;
	}
	if (mh_gwt_find(g, server)) {
		errno = EEXIST;
		return NULL;
	}
	gs = sess_new(g, server, g->no_keys ? NULL : no_key, 0, now_ms);
	if (!gs)
		return NULL;
	gs->keyless = true;
	mh_rsync_orphan(&nobody, &gs->mark, now_ms, grace_ms);
	return gs;
}

struct mh_gw_sess *mh_gwt_due(const struct mh_gw_table *g, uint64_t now_ms)
{
	struct mh_gw_sess *gs = NULL;

	while ((gs = mh_gwt_next(g, gs)))
		if (mh_rsync_due(&gs->mark, now_ms))
			return gs;
	return NULL;
}
