/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Makes the kernel's sets match the session table: after a restart, the
 * session ports, pinholes and single-port mappings an adopted table holds
 * for sessions that did not come back are removed, those of resumed
 * sessions kept (and pinholes recorded if the saved state missed them).
 * While the daemon runs, the periodic read-back (readback.c) does the
 * same with what the kernel expired, through the host's role here: keys
 * by session port, strays removed with their mappings, expiries logged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "stray.h"

struct elems {
	struct mh_pinhole *v;
	uint64_t *expires;
	unsigned n, cap;
	bool failed;
};

static void collect(const struct mh_pinhole *ph, uint64_t expires_ms, void *arg)
{
	struct elems *e = arg;

	if (e->n == e->cap) {
		unsigned cap = e->cap ? e->cap * 2 : 64;
		struct mh_pinhole *v = realloc(e->v, cap * sizeof(*v));
		uint64_t *x = v ? realloc(e->expires, cap * sizeof(*x)) : NULL;

		if (v)
			e->v = v;
		if (!v || !x) {
			e->failed = true;
			return;
		}
		e->expires = x;
		e->cap = cap;
	}
	e->v[e->n] = *ph;
	e->expires[e->n++] = expires_ms;
}

static void dump(struct mh_daemon *d, struct elems *e, enum mh_nft_kind kind,
		 int family)
{
	if (mh_nft_dump(d->nft, d->cfg.table, kind, family, collect, e) < 0)
		e->failed = true;
}


/* Session ports: those of sessions that did not come back are removed
 * (a resumed session put its own back as it opened). */
static unsigned ports(struct mh_daemon *d)
{
	struct elems e = { 0 };
	unsigned removed = 0;

	dump(d, &e, MH_NFT_PORT, 0);
	for (unsigned i = 0; i < e.n; i++)
		if (!mh_session_by_port(&d->sessions, e.v[i].server_port) &&
		    mh_kernel_elem(d, MH_NFT_PORT, MH_NFT_DEL, NULL,
				   e.v[i].server_port, MH_KERNEL_SYNC) == 0)
			removed++;
	free(e.v);
	free(e.expires);
	return removed;
}

/* Pinholes: those of resumed sessions are kept (and recorded if the file
 * did not know them yet: opened just before the earlier daemon died),
 * any other removed. The read-back that follows drops records of
 * pinholes that expired while no daemon ran. */
static unsigned pinholes(struct mh_daemon *d, uint64_t now)
{
	uint64_t idle = (uint64_t)d->cfg.idle_timeout * 1000;
	struct elems e = { 0 };
	unsigned removed = 0;

	dump(d, &e, MH_NFT_PINHOLE, AF_INET);
	dump(d, &e, MH_NFT_PINHOLE, AF_INET6);
	for (unsigned i = 0; i < e.n; i++) {
		struct mh_session *s = mh_session_by_port(&d->sessions, e.v[i].server_port);
		struct mh_addr a, ev;

		mh_elem_client(&e.v[i], &a);
		if (s && mh_pinhole_find(s, &a))
			continue;
		if (s && mh_pinhole_count(s) < s->max_pinholes) {
			mh_pinhole_record(s, &a, mh_pinhole_added_at(now, idle, e.expires[i]),
					  &ev);
			continue;
		}
		if (mh_kernel_elem(d, MH_NFT_PINHOLE, MH_NFT_DEL, &a,
				   e.v[i].server_port, MH_KERNEL_SYNC) == 0)
			removed++;
	}
	free(e.v);
	free(e.expires);
	return removed;
}

/* Single-port mode: confirmed mappings of sessions that did not come back
 * and every provisional one (they live for one datagram) are removed. */
static unsigned mappings(struct mh_daemon *d)
{
	unsigned removed = 0;

	static const enum mh_nft_kind kinds[] = { MH_NFT_MUX, MH_NFT_MUXP };

	for (unsigned k = 0; k < 2 && d->pol.public_port; k++) {
		bool conf = kinds[k] == MH_NFT_MUX;
		struct elems e = { 0 };

		dump(d, &e, kinds[k], AF_INET);
		dump(d, &e, kinds[k], AF_INET6);
		for (unsigned i = 0; i < e.n; i++) {
			struct mh_addr a;

			if (conf && mh_session_by_port(&d->sessions, e.v[i].server_port))
				continue;
			mh_elem_client(&e.v[i], &a);
			if (mh_kernel_elem(d, kinds[k], MH_NFT_DEL, &a,
					   e.v[i].server_port, MH_KERNEL_SYNC) == 0)
				removed++;
		}
		free(e.v);
		free(e.expires);
	}
	return removed;
}

void mh_reconcile_table(struct mh_daemon *d, uint64_t now_ms,
			struct mh_reconciled *gone)
{
	gone->ports = ports(d);
	gone->pinholes = pinholes(d, now_ms);
	gone->mappings = mappings(d);
}

/* --- the host's read-back (readback.c) --- */

static const char *host_set(bool seen, int family)
{
	return seen ? mh_nft_seen_set(family) : mh_nft_pinhole_set(family);
}

/* A key of pinholes4/6 or seen4/6: the session's port in server->port. */
static int host_decode(bool seen, const uint8_t *key, uint32_t len,
		       struct mh_addr *client, struct mh_addr *server)
{
	struct mh_pinhole ph;

	(void)seen;
	if (mh_nft_pinhole_from_key(key, len, &ph) < 0)
		return -EPROTO;
	mh_elem_client(&ph, client);
	memset(server, 0, sizeof(*server));
	server->port = ph.server_port;
	return 0;
}

static struct mh_pinhole_rec *host_find(struct mh_daemon *d,
					const struct mh_addr *client,
					const struct mh_addr *server)
{
	const struct mh_session *s = mh_session_by_port(&d->sessions, server->port);

	return s ? mh_pinhole_find(s, client) : NULL;
}

/* A stray pinhole lets one client address reach a port outside any
 * session's control (kept alive by its own traffic, and inherited by the
 * next session on that port): it goes, with its confirmed mapping. */
static void host_stray(struct mh_daemon *d, const struct mh_addr *client,
		       const struct mh_addr *server)
{
	static struct mh_ratelimit warn = { .tokens = 20, .per_sec = 1, .burst = 20 };
	char cl[MH_ADDRSTRLEN], what[MH_ADDRSTRLEN + 16];

	if (mh_kernel_elem(d, MH_NFT_PINHOLE, MH_NFT_DEL, client, server->port,
			   MH_KERNEL_SYNC) < 0)
		return;
	if (d->pol.public_port)
		mh_kernel_elem(d, MH_NFT_MUX, MH_NFT_DEL, client, server->port,
			       MH_KERNEL_SYNC);
	mh_addr_str(client, cl, sizeof(cl));
	snprintf(what, sizeof(what), "%s -> %u", cl, server->port);
	mh_audit_simple(d, "stray_removed", "pinhole", what);
	if (mh_ratelimit_ok(&warn, mh_now_ms()))
		log_warn("pinhole %s to port %u is recorded by no session: "
			 "removed", cl, server->port);
}

/* The host logs an expiry (within the uid's audit budget) as it audits it. */
static void host_expired(struct mh_daemon *d, const struct mh_session *s,
			 const struct mh_pinhole_rec *r)
{
	char cl[MH_ADDRSTRLEN];

	if (!mh_audit_allow(d, s->uid, MH_NOISY_PINHOLE))
		return;
	log_info("session %u port %u: pinhole for %s expired (idle)", s->id,
		 s->port, mh_addr_str(&r->client, cl, sizeof(cl)));
	mh_audit_pinhole(d, s, "pinhole_expired", &r->client, "idle");
}

const struct mh_readback_role mh_host_readback = {
	host_set, host_decode, host_find, host_stray, host_expired, true,
};
