/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The gateway role's privileged core: the sessions the relays announce
 * (lib/gwtable.c) and their elements in the gateway's forward table
 * (nft/gateway.c), the relay seam (gwcore.h) that applies each relay
 * message and answers it, the batching of session adds (a resync's OPENs
 * in one transaction), and the deadlines of sessions no relay confirms.
 * Every session is opened and ended here, each logged and audited once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwcore.h"
#include "gwtable.h"

int mh_gw_open(struct mh_daemon *d)
{
	d->gw = calloc(1, sizeof(*d->gw));
	if (!d->gw)
		return -ENOMEM;
	mh_gwt_init(d->gw, &d->sessions, d->cfg.max_sessions,
		    d->cfg.max_pinholes_per_session);
	mh_gwt_limits(d->gw, d->cfg.port_low, d->cfg.port_high,
		      d->cfg.max_sessions_per_relay);
	d->gw->no_keys = d->cfg.keyless;
	return 0;
}

void mh_gw_close(struct mh_daemon *d)
{
	if (!d->gw)
		return;
	mh_gwt_clear(d->gw);
	free(d->gw);
	d->gw = NULL;
}

/* ---- ending ------------------------------------------------------------- */

static const char *relay_of(const struct mh_gw_sess *gs)
{
	return gs->relay ? gs->relay->subject : "";
}

/* Its session element and pinholes out of the kernel, each pinhole
 * audited; then the session is gone from memory. */
static void release(struct mh_daemon *d, struct mh_gw_sess *gs)
{
	const struct mh_pinhole_rec *r;

	mh_kernel_gw_elem(d, MH_GW_SESSION, MH_NFT_DEL, NULL, &gs->server,
			  MH_KERNEL_SYNC);
	mh_for_each_pinhole(gs->s, r) {
		mh_kernel_gw_elem(d, MH_GW_PINHOLE, MH_NFT_DEL, &r->client,
				  &gs->server, MH_KERNEL_SYNC);
		if (d->pol.public_port)
			mh_gw_mux_gone(d, &r->client, &gs->server);
		mh_audit_pinhole(d, gs->s, "pinhole_removed", &r->client,
				 "session_end");
	}
}

static void end_session(struct mh_daemon *d, struct mh_gw_sess *gs,
			const char *why)
{
	char sv[MH_ADDRSTRLEN];

	release(d, gs);
	log_info("session %u server %s (relay %s) ended: %s", gs->s->id,
		 mh_addr_str(&gs->server, sv, sizeof(sv)), relay_of(gs), why);
	mh_audit_session_end(d, gs->s, why);
	d->stats.sessions_ended++;
	mh_gwt_remove(d->gw, gs);
}

/* A relay's older session on a port it announces again. */
static void replaced(void *arg, struct mh_gw_sess *old)
{
	struct mh_daemon *d = arg;
	char sv[MH_ADDRSTRLEN];

	/* the session element stays: the new session takes it */
	for (struct mh_pinhole_rec *r = mh_pinhole_next(old->s, NULL); r;
	     r = mh_pinhole_next(old->s, r)) {
		mh_kernel_gw_elem(d, MH_GW_PINHOLE, MH_NFT_DEL, &r->client,
				  &old->server, MH_KERNEL_SYNC);
		if (d->pol.public_port)
			mh_gw_mux_gone(d, &r->client, &old->server);
	}
	log_info("session %u server %s ended: its relay announced a new one there",
		 old->s->id, mh_addr_str(&old->server, sv, sizeof(sv)));
	mh_audit_session_end(d, old->s, "replaced");
	d->stats.sessions_ended++;
}

void mh_gw_tick(struct mh_daemon *d, uint64_t now_ms)
{
	struct mh_gw_sess *gs;

	if (!d->gw)
		return;
	while ((gs = mh_gwt_due(d->gw, now_ms)))
		end_session(d, gs, "not confirmed by its relay in time");
	mh_readback_tick(d, now_ms, &mh_gw_readback);
	mh_gw_test_tick(d);
}

/* ---- the seam ------------------------------------------------------------- */

static void answer(struct mhr_answer *ans, uint8_t type, uint8_t status,
		   const char *why)
{
	memset(ans, 0, sizeof(*ans));
	ans->of_type = type;
	ans->status = status;
	snprintf(ans->reason, sizeof(ans->reason), "%s", why ? why : "");
}

void mh_gw_relay_up(struct mh_daemon *d, uint32_t relay, const char *subject,
		    const struct mhr_hello *h, struct mhr_answer *ans)
{
	const char *subj = subject ? subject : "", *why;
	struct mh_gw_relay *r = mh_gwt_relay_up(d->gw, relay, subj,
						h ? h->name : "", &why);

	if (!r) {
		log_err("relay %s (%s, connection %u) refused: %s", subj,
			h ? h->name : "", relay, why);
		mh_audit_relay(d, "relay_refused", subj, NULL, why);
		answer(ans, MHR_HELLO, MHR_ST_STATE, why);
		return;
	}
	log_info("relay %s (%s, connection %u) up, %u session%s held for it",
		 r->subject, r->name, relay, r->sessions,
		 r->sessions == 1 ? "" : "s");
	mh_audit_relay(d, "relay_up", r->subject, NULL, NULL);
	answer(ans, MHR_HELLO, MHR_ST_OK, "");
}

void mh_gw_relay_down(struct mh_daemon *d, uint32_t relay)
{
	struct mh_gw_relay *r = mh_gwt_relay(d->gw, relay);
	unsigned n;

	if (!r)
		return;
	n = mh_gwt_relay_down(d->gw, relay, mh_now_ms(),
			      (uint64_t)d->cfg.relay_orphan_grace * 1000);
	log_info("relay %s (connection %u) down: its %u session%s end in %us "
		 "unless it comes back", r->subject, relay, n, n == 1 ? "" : "s",
		 d->cfg.relay_orphan_grace);
	mh_audit_relay(d, "relay_down", r->subject, NULL, NULL);
}

/* ---- a new session's element ----------------------------------------- */

/* Deferred element adds (mh_gw_batch_begin): sessions opened, answered OK
 * for now, their elements not yet in the kernel. */
#define BATCH_MAX 256

static struct {
	bool on;
	unsigned n;
	struct { struct mh_gw_sess *gs; struct mhr_answer *ans; uint32_t sid, uid; } e[BATCH_MAX];
	struct mh_addr servers[BATCH_MAX];
} batch;

/* Its element is in: the slow path now authenticates its clients. */
static void open_done(struct mh_daemon *d, struct mh_gw_sess *gs,
		      uint32_t sid, uint32_t uid)
{
	char sv[MH_ADDRSTRLEN];

	if (!gs->s->ssp)   /* keyless: lib/keyless.c decides its slow path */
		mh_keyless_init(&gs->s->kl, &d->pol.kl, mh_now_ms());
	log_info("session %u server %s opened by relay %s (sid %u, uid %u%s)",
		 gs->s->id, mh_addr_str(&gs->server, sv, sizeof(sv)),
		 relay_of(gs), sid, uid, gs->s->ssp ? "" : ", keyless");
	mh_audit_relay(d, "session_open", relay_of(gs), gs->s, NULL);
	d->stats.announce_ok++;
}

/* Single-port mode: the SSH login's address (the OPEN's client hint) is
 * the first guess of the trial at the public port (lib/muxsel.c). */
static void set_hint(struct mh_daemon *d, struct mh_gw_sess *gs,
		     const struct mhr_open *o)
{
	char txt[INET6_ADDRSTRLEN] = "";

	if (!d->pol.public_port || !o->client_hint.family)
		return;
	if (inet_ntop(o->client_hint.family, o->client_hint.ip, txt, sizeof(txt)))
		mh_session_set_ssh_client(&d->sessions, gs->s, txt);
}

/* The public port is the gateway's own: no session may be announced on it
 * (its flows would be taken for the mappings' ones). */
static bool on_public_port(struct mh_daemon *d, const struct mhr_open *o,
			   struct mhr_answer *ans)
{
	if (!d->pol.public_port || o->server.port != d->pol.public_port)
		return false;
	answer(ans, MHR_OPEN, MHR_ST_NOT_ALLOWED,
	       "that port is the gateway's single-port public port");
	d->stats.announce_refused++;
	return true;
}

static void open_failed(struct mh_daemon *d, struct mh_gw_sess *gs,
			struct mhr_answer *ans)
{
	mh_gwt_remove(d->gw, gs);
	answer(ans, MHR_OPEN, MHR_ST_INTERNAL,
	       "the gateway's table refused the session");
}

static bool batch_has(const struct mh_addr *server)
{
	for (unsigned i = 0; i < batch.n; i++)
		if (mh_addr_equal(&batch.servers[i], server))
			return true;
	return false;
}

void mh_gw_batch_begin(struct mh_daemon *d)
{
	(void)d;
	batch.on = true;
}

/*
 * One transaction for the lot. The kernel applies it whole or not at
 * all, so on an error no element of it is in: each is then tried alone,
 * and only those the kernel refuses alone are refused to their relays
 * (their sessions removed), as without batching.
 */
void mh_gw_batch_flush(struct mh_daemon *d)
{
	unsigned n = batch.n;
	int err;

	if (!n)
		return;
	batch.n = 0;
	err = n == 1 ? mh_kernel_gw_elem(d, MH_GW_SESSION, MH_NFT_ADD, NULL,
					 &batch.servers[0], MH_KERNEL_SYNC)
		     : mh_kernel_gw_sessions_add(d, batch.servers, n);
	if (err < 0 && n > 1)
		log_warn("adding %u session elements in one transaction: %s; none "
			 "was added, each is tried alone", n, strerror(-err));
	for (unsigned i = 0; i < n; i++) {
		bool ok = !err || (n > 1 &&
			  mh_kernel_gw_elem(d, MH_GW_SESSION, MH_NFT_ADD, NULL,
					    &batch.servers[i], MH_KERNEL_SYNC) == 0);

		if (ok)
			open_done(d, batch.e[i].gs, batch.e[i].sid, batch.e[i].uid);
		else
			open_failed(d, batch.e[i].gs, batch.e[i].ans);
	}
}

void mh_gw_batch_end(struct mh_daemon *d)
{
	mh_gw_batch_flush(d);
	batch.on = false;
}

/* The session element added now, or deferred to the batch's flush. */
static void opened(struct mh_daemon *d, struct mh_gw_sess *gs,
		   const struct mhr_open *o, struct mhr_answer *ans)
{
	if (batch.on) {
		if (batch.n == BATCH_MAX)
			mh_gw_batch_flush(d);
		batch.e[batch.n].gs = gs;
		batch.e[batch.n].ans = ans;
		batch.e[batch.n].sid = o->sid;
		batch.e[batch.n].uid = o->uid;
		batch.servers[batch.n++] = gs->server;
		return;
	}
	if (mh_kernel_gw_elem(d, MH_GW_SESSION, MH_NFT_ADD, NULL, &gs->server,
			      MH_KERNEL_SYNC) < 0)
		open_failed(d, gs, ans);
	else
		open_done(d, gs, o->sid, o->uid);
}

static void on_open(struct mh_daemon *d, uint32_t relay,
		    const struct mhr_open *o, struct mhr_answer *ans)
{
	struct mh_gwt_open_res res;
	char sv[MH_ADDRSTRLEN];

	if (on_public_port(d, o, ans))
		return;
	if (batch_has(&o->server))   /* it may replace that session */
		mh_gw_batch_flush(d);
	mh_gwt_open(d->gw, relay, o, mh_now_ms(), replaced, d, &res);
	answer(ans, MHR_OPEN, res.status, res.why);
	if (res.status != MHR_ST_OK) {
		struct mh_gw_relay *r = mh_gwt_relay(d->gw, relay);

		d->stats.announce_refused++;
		if (res.kind == MH_GWT_REPLACED)   /* the old one went, no new one */
			mh_kernel_gw_elem(d, MH_GW_SESSION, MH_NFT_DEL, NULL,
					  &o->server, MH_KERNEL_SYNC);
		log_info("relay connection %u: OPEN %s refused: %s", relay,
			 mh_addr_str(&o->server, sv, sizeof(sv)), res.why);
		mh_audit_relay(d, "refused", r ? r->subject : "", NULL, res.why);
		return;
	}
	set_hint(d, res.gs, o);
	if (res.kind != MH_GWT_CONFIRMED)
		opened(d, res.gs, o, ans);
}

static void on_end(struct mh_daemon *d, uint32_t relay,
		   const struct mhr_end *e, struct mhr_answer *ans)
{
	const char *why;
	uint8_t status;
	struct mh_gw_sess *gs = mh_gwt_end(d->gw, relay, e, &status, &why);

	answer(ans, MHR_END, status, why);
	if (gs)
		end_session(d, gs, mhr_end_reason_name(e->reason));
}

void mh_gw_relay_msg(struct mh_daemon *d, uint32_t relay,
		     const struct mhr_msg *m, struct mhr_answer *ans)
{
	uint64_t grace = (uint64_t)d->cfg.relay_resync_grace * 1000;
	const char *why = "";
	uint8_t st;

	switch (m->type) {
	case MHR_OPEN:
		on_open(d, relay, &m->u.open, ans);
		return;
	case MHR_END:
		on_end(d, relay, &m->u.end, ans);
		return;
	case MHR_RESYNC_BEGIN:
		st = mh_gwt_resync_begin(d->gw, relay, m->u.resync_count, &why);
		break;
	case MHR_RESYNC_END:
		st = mh_gwt_resync_end(d->gw, relay, m->u.resync_count,
				       mh_now_ms(), grace, &why);
		break;
	default:
		st = MHR_ST_PROTOCOL;
		why = "not a request the gateway's core takes";
	}
	answer(ans, m->type, st, why);
}

/* The daemon's own build has no test seam. */
__attribute__((weak)) void mh_gw_test_open(struct mh_daemon *d)
{
	(void)d;
}

__attribute__((weak)) void mh_gw_test_tick(struct mh_daemon *d)
{
	(void)d;
}
