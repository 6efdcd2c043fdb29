/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Makes the kernel's sets match the session table: after a restart, the
 * session ports, pinholes and single-port mappings an adopted table holds
 * for sessions that did not come back are removed, those of resumed
 * sessions kept (and pinholes recorded if the saved state missed them).
 * While the daemon runs, the periodic sync reads the pinhole sets back:
 * the session table learns which pinholes the kernel expired, those no
 * session records (strays) are removed the same way, and where the rules
 * note inbound datagrams in seen4/6 instead of refreshing the pinholes
 * (nft.h, pinhole_seen), the pinholes that passed one are re-armed.
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

/* --- strays, while the daemon runs --- */

static struct mh_pinhole strays[MH_STRAYS_MAX];
static unsigned n_strays;

static void note_stray(const struct mh_pinhole *ph)
{
	if (n_strays < MH_STRAYS_MAX)
		strays[n_strays++] = *ph;
}

/* A stray pinhole lets one client address reach a port outside any
 * session's control (kept alive by its own traffic, and inherited by the
 * next session on that port): it goes, with its confirmed mapping. */
static void remove_strays(struct mh_daemon *d)
{
	static struct mh_ratelimit warn = { .tokens = 20, .per_sec = 1, .burst = 20 };
	char cl[MH_ADDRSTRLEN], what[MH_ADDRSTRLEN + 16];
	unsigned i;

	for (i = 0; i < n_strays; i++) {
		const struct mh_pinhole *ph = &strays[i];
		struct mh_addr a;

		mh_elem_client(ph, &a);
		if (mh_kernel_elem(d, MH_NFT_PINHOLE, MH_NFT_DEL, &a, ph->server_port,
				   MH_KERNEL_SYNC) < 0)
			continue;
		if (d->pol.public_port)
			mh_kernel_elem(d, MH_NFT_MUX, MH_NFT_DEL, &a, ph->server_port,
				       MH_KERNEL_SYNC);
		mh_addr_str(&a, cl, sizeof(cl));
		snprintf(what, sizeof(what), "%s -> %u", cl, ph->server_port);
		mh_audit_simple(d, "stray_removed", "pinhole", what);
		if (mh_ratelimit_ok(&warn, mh_now_ms()))
			log_warn("pinhole %s to port %u is recorded by no session: "
				 "removed", cl, ph->server_port);
	}
	n_strays = 0;
}

/* --- the periodic sync: learning what the kernel expired --- */

#define SYNC_GRACE_MS 2000   /* a pinhole this young may not be in a dump yet */

static void sync_cb(const struct mh_pinhole *ph, uint64_t expires_ms, void *arg)
{
	struct mh_daemon *d = arg;
	struct mh_pinhole_rec *r = mh_elem_record(&d->sessions, ph);

	if (r) {
		uint64_t until = expires_ms ? mh_now_ms() + expires_ms : 0;

		r->seen_gen = d->sync_gen;
		if (until > r->alive_until_ms)
			r->alive_until_ms = until;
	} else
		note_stray(ph);   /* removed after the read-back */
}

static void sync_session(struct mh_daemon *d, struct mh_session *s,
			 uint64_t now_ms)
{
	char cl[MH_ADDRSTRLEN];
	struct mh_pinhole_rec *r;

	mh_for_each_pinhole(s, r) {
		if (r->seen_gen == d->sync_gen || now_ms - r->added_ms < SYNC_GRACE_MS) {
			s->last_alive_ms = now_ms;
			continue;
		}
		d->stats.pinholes_expired++;
		if (mh_audit_allow(d, s->uid, MH_NOISY_PINHOLE)) {
			log_info("session %u port %u: pinhole for %s expired (idle)",
				 s->id, s->port, mh_addr_str(&r->client, cl, sizeof(cl)));
			mh_audit_pinhole(d, s, "pinhole_expired", &r->client, "idle");
		}
		memset(r, 0, sizeof(*r));
	}
}

/* --- re-arms: the idle timeout, where the rules do not refresh it --- */

/* A key of seen4/6: its pinhole passed an inbound datagram seen_left ms
 * less than the seen timeout ago. Only a pinhole this read-back listed is
 * re-armed (a re-arm would create one that is gone); a key no record
 * names (a pinhole deleted since, a stray's) opens nothing and expires. */
static void seen_cb(const struct mh_pinhole *ph, uint64_t seen_left, void *arg)
{
	struct mh_daemon *d = arg;
	struct mh_addr client, server = { .port = ph->server_port };

	mh_elem_client(ph, &client);
	mh_kernel_rearm_seen(d, mh_elem_record(&d->sessions, ph), &client, &server,
			     seen_left);
}

static void rearm_seen(struct mh_daemon *d)
{
	int a = mh_nft_dump_seen(d->nft, d->cfg.table, AF_INET, seen_cb, d);
	int b = mh_nft_dump_seen(d->nft, d->cfg.table, AF_INET6, seen_cb, d);

	mh_kernel_rearm_flush(d, a < 0 ? a : b);
}

bool mh_readback_tick(struct mh_daemon *d, uint64_t now_ms,
		      void (*sync)(struct mh_daemon *d, uint64_t now_ms))
{
	unsigned every = d->cfg.idle_timeout * 1000 / 4;
	uint64_t start, took;

	if (every < 1000)
		every = 1000;
	if (now_ms < d->next_sync_ms)
		return false;
	start = mh_now_ms();   /* the caller's now_ms may predate other work */
	sync(d, now_ms);
	took = mh_now_ms() - start;
	d->stats.readbacks++;
	d->stats.readback_ms = took;
	if (took > d->stats.readback_max_ms)
		d->stats.readback_max_ms = took;
	if (took >= every / 2)
		log_warn("the read-back of table inet %s took %llu ms, half its interval: "
			 "the daemon serves nothing else meanwhile", d->cfg.table,
			 (unsigned long long)took);
	d->next_sync_ms = now_ms + every;
	return true;
}

void mh_reconcile_sync(struct mh_daemon *d, uint64_t now_ms)
{
	struct mh_session *s;
	int a, b;

	d->sync_gen++;
	a = mh_nft_dump_pinholes(d->nft, d->cfg.table, AF_INET, sync_cb, d);
	b = mh_nft_dump_pinholes(d->nft, d->cfg.table, AF_INET6, sync_cb, d);
	remove_strays(d);
	if (d->timeout_update && a >= 0 && b >= 0)
		rearm_seen(d);
	if (a < 0 || b < 0) {
		log_warn("reading pinholes back: %s", strerror(-(a < 0 ? a : b)));
		return;   /* never forget pinholes on a failed read */
	}
	for (s = d->sessions.head; s; s = s->next)
		sync_session(d, s, now_ms);
}
