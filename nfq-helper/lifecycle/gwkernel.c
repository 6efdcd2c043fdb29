/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The gateway's view of its kernel table: what a restarted daemon adopts
 * from it (sessions held keyless until their relays announce them, their
 * pinholes), and the gateway's role in the periodic read-back
 * (readback.c): keys by client and server address and port.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon.h"
#include "gwtable.h"

struct walk {
	struct mh_daemon *d;
	uint64_t now;
	unsigned sessions, pinholes, n_strays;
	struct { struct mh_addr client, server; } strays[MH_STRAYS_MAX];
};

static void note_stray(struct walk *w, const struct mh_addr *client,
		       const struct mh_addr *server)
{
	if (w->n_strays == MH_STRAYS_MAX)
		return;
	w->strays[w->n_strays].client = *client;
	w->strays[w->n_strays++].server = *server;
}

static unsigned remove_strays(struct walk *w)
{
	for (unsigned i = 0; i < w->n_strays; i++)
		mh_kernel_gw_elem(w->d, MH_GW_PINHOLE, MH_NFT_DEL, &w->strays[i].client,
				  &w->strays[i].server, MH_KERNEL_SYNC);
	return w->n_strays;
}

/* both families of kind through fn; -errno of the first failure, else 0 */
static int dump_both(struct walk *w, enum mh_gw_kind kind, mh_gw_cb fn)
{
	static const int fam[2] = { AF_INET, AF_INET6 };
	int err = 0;

	for (int i = 0; i < 2; i++) {
		int r = mh_nft_gw_dump(w->d->nft, w->d->cfg.table, kind, fam[i], fn, w);

		if (r < 0 && !err)
			err = r;
	}
	return err;
}

/* ---- a restart ------------------------------------------------------------ */

static void adopt_session(const struct mh_addr *client,
			  const struct mh_addr *server, uint64_t expires_ms,
			  void *arg)
{
	struct walk *w = arg;

	(void)client;
	(void)expires_ms;
	if (mh_gwt_adopt(w->d->gw, server, w->now,
			 (uint64_t)w->d->cfg.relay_orphan_grace * 1000))
		w->sessions++;
	else   /* over max_sessions: not held, so not left in the table */
		mh_kernel_gw_elem(w->d, MH_GW_SESSION, MH_NFT_DEL, NULL, server,
				  MH_KERNEL_SYNC);
}

static void adopt_pinhole(const struct mh_addr *client,
			  const struct mh_addr *server, uint64_t expires_ms,
			  void *arg)
{
	struct walk *w = arg;
	struct mh_gw_sess *gs = mh_gwt_find(w->d->gw, server);
	uint64_t idle = (uint64_t)w->d->cfg.idle_timeout * 1000;
	struct mh_addr evicted;

	if (!gs) {
		note_stray(w, client, server);
		return;
	}
	if (mh_pinhole_record(gs->s, client,
			      mh_pinhole_added_at(w->now, idle, expires_ms), &evicted))
		note_stray(w, &evicted, server);   /* over its pinhole quota */
	w->pinholes++;
}

void mh_gw_adopt(struct mh_daemon *d)
{
	static struct walk w;   /* large; start-up only */
	unsigned strays;

	memset(&w, 0, sizeof(w));
	w.d = d;
	w.now = mh_now_ms();
	if (dump_both(&w, MH_GW_SESSION, adopt_session) < 0)
		log_warn("reading the sessions of table inet %s", d->cfg.table);
	if (dump_both(&w, MH_GW_PINHOLE, adopt_pinhole) < 0)
		log_warn("reading the pinholes of table inet %s", d->cfg.table);
	strays = remove_strays(&w);
	log_info("table inet %s adopted: %u session%s kept without keys until "
		 "their relays announce them (else they end in %us), %u pinhole%s, "
		 "%u stray pinhole%s removed", d->cfg.table, w.sessions,
		 w.sessions == 1 ? "" : "s", d->cfg.relay_orphan_grace, w.pinholes,
		 w.pinholes == 1 ? "" : "s", strays, strays == 1 ? "" : "s");
	mh_audit_simple(d, "adopted", "table", d->cfg.table);
}

/* ---- the read-back (readback.c) ----------------------------------------- */

static const char *gw_set(bool seen, int family)
{
	return mh_nft_gw_set(seen ? MH_GW_SEEN : MH_GW_PINHOLE, family);
}

static int gw_decode(bool seen, const uint8_t *key, uint32_t len,
		     struct mh_addr *client, struct mh_addr *server)
{
	return mh_nft_gw_from_key(seen ? MH_GW_SEEN : MH_GW_PINHOLE, key, len,
				  client, server) < 0 ? -EPROTO : 0;
}

static struct mh_pinhole_rec *gw_find(struct mh_daemon *d,
				      const struct mh_addr *client,
				      const struct mh_addr *server)
{
	struct mh_gw_sess *gs = mh_gwt_find(d->gw, server);

	return gs ? mh_pinhole_find(gs->s, client) : NULL;
}

static void gw_stray(struct mh_daemon *d, const struct mh_addr *client,
		     const struct mh_addr *server)
{
	mh_kernel_gw_elem(d, MH_GW_PINHOLE, MH_NFT_DEL, client, server,
			  MH_KERNEL_SYNC);
}

/* The gateway audits an expiry, and logs none. */
static void gw_expired(struct mh_daemon *d, const struct mh_session *s,
		       const struct mh_pinhole_rec *r)
{
	mh_audit_pinhole(d, s, "pinhole_expired", &r->client, "idle");
}

const struct mh_readback_role mh_gw_readback = {
	gw_set, gw_decode, gw_find, gw_stray, gw_expired, false,
};
