/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The periodic read-back of the pinhole sets, host and gateway alike (the
 * role says which sets, how their keys decode and where the records are;
 * daemon.h, mh_readback_role). At 100,000 pinholes it takes the better
 * part of a second, so it runs in slices of MH_READBACK_SLICE_MS, one a
 * round of the event loop: the queue, the control socket and the relays
 * are served in between. The session table may change between slices,
 * so nothing here holds a record across one: each step looks its records
 * up again by key.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "daemon.h"

#define MH_READBACK_SLICE_MS 5     /* work a loop round, at most (about) */

enum { RB_PINHOLES = 1, RB_STRAYS, RB_SEEN, RB_REARM, RB_JUDGE };

static const int families[2] = { AF_INET, AF_INET6 };

/* elements listed that no record names, removed after the listing */
static struct stray { struct mh_addr client, server; } strays[MH_STRAYS_MAX];
static unsigned n_strays;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static unsigned interval_ms(const struct mh_daemon *d)
{
	unsigned every = d->cfg.idle_timeout * 1000 / 4;

	return every < 1000 ? 1000 : every;
}

/* An element of a pinhole set: its record learns it is in the kernel. */
static void listed(const uint8_t *key, uint32_t len, uint64_t expires_ms,
		   void *arg)
{
	struct mh_daemon *d = arg;
	struct mh_addr client, server;
	struct mh_pinhole_rec *r;

	if (d->rb.role->decode(false, key, len, &client, &server) < 0) {
		d->rb.err = -EPROTO;
		return;
	}
	r = d->rb.role->find(d, &client, &server);
	if (r) {
		uint64_t until = expires_ms ? mh_now_ms() + expires_ms : 0;

		r->seen_gen = d->sync_gen;
		r->missed = 0;
		if (until > r->alive_until_ms)
			r->alive_until_ms = until;
	} else if (n_strays < MH_STRAYS_MAX) {
		strays[n_strays++] = (struct stray){ client, server };
	}
}

/* A key of seen4/6 (mh_kernel_rearm_seen). */
static void seen(const uint8_t *key, uint32_t len, uint64_t left_ms, void *arg)
{
	struct mh_daemon *d = arg;
	struct mh_addr client, server;

	if (d->rb.role->decode(true, key, len, &client, &server) < 0) {
		d->rb.seen_err = -EPROTO;
		return;
	}
	mh_kernel_rearm_seen(d, d->rb.role->find(d, &client, &server), &client,
			     &server, left_ms);
}

/* One part of a listing (or the start of the next family's). */
static void list_part(struct mh_daemon *d)
{
	struct mh_readback_run *rb = &d->rb;
	bool is_seen = rb->phase == RB_SEEN;
	int *err = is_seen ? &rb->seen_err : &rb->err;
	int r;

	if (rb->fam == 2) {
		rb->fam = 0;
		if (!is_seen)
			rb->disturbed = d->elem_ops != rb->elem_ops;
		if (is_seen && rb->seen_err)
			log_warn("reading seen4/seen6 back: %s; the pinholes that "
				 "passed datagrams since may idle out (their "
				 "clients' next datagrams reopen them)",
				 strerror(-rb->seen_err));
		rb->phase = is_seen ? RB_REARM : RB_STRAYS;
		return;
	}
	if (!rb->walking) {
		r = mh_nft_walk_start(d->nft, d->cfg.table,
				      rb->role->set(is_seen, families[rb->fam]),
				      is_seen ? seen : listed, d);
		if (r == 0) {
			rb->walking = true;
			return;
		}
	} else if ((r = mh_nft_walk_step(d->nft)) > 0) {
		return;
	}
	rb->walking = false;
	rb->fam++;
	if (r < 0 && !*err)
		*err = r;
}

/* Strays go unless a record names them now (a pinhole opened since its
 * listing is the same key, and stays). */
static void remove_strays(struct mh_daemon *d)
{
	for (unsigned i = 0; i < n_strays; i++)
		if (!d->rb.role->find(d, &strays[i].client, &strays[i].server))
			d->rb.role->stray(d, &strays[i].client, &strays[i].server);
	n_strays = 0;
}

static void finish(struct mh_daemon *d)
{
	uint64_t took = mh_now_ms() - d->rb.start_ms;

	d->stats.readbacks++;
	d->stats.readback_ms = took;
	if (took > d->stats.readback_max_ms)
		d->stats.readback_max_ms = took;
	if (took >= interval_ms(d) / 2)
		log_warn("the read-back of table inet %s took %llu ms, half its "
			 "interval", d->cfg.table, (unsigned long long)took);
	d->rb.role = NULL;
}

/* Every record of every session judged: those gone dropped. */
static void judge(struct mh_daemon *d)
{
	uint64_t now = mh_now_ms();
	struct mh_pinhole_rec *r;

	for (struct mh_session *s = d->sessions.head; s; s = s->next)
		mh_for_each_pinhole(s, r) {
			if (!mh_pinhole_gone(r, d->sync_gen, d->rb.start_ms,
					     d->rb.disturbed)) {
				if (d->rb.role->alive)
					s->last_alive_ms = now;
				continue;
			}
			d->stats.pinholes_expired++;
			d->rb.role->expired(d, s, r);
			memset(r, 0, sizeof(*r));
		}
}

/* One step; false once the read-back is over. */
static bool advance(struct mh_daemon *d)
{
	struct mh_readback_run *rb = &d->rb;

	switch (rb->phase) {
	case RB_PINHOLES:
	case RB_SEEN:
		list_part(d);
		return true;
	case RB_STRAYS:
		remove_strays(d);
		if (rb->err) {   /* never forget pinholes on a failed read */
			log_warn("reading pinholes back: %s", strerror(-rb->err));
			finish(d);
			return false;
		}
		rb->phase = d->timeout_update ? RB_SEEN : RB_JUDGE;
		return true;
	case RB_REARM:
		if (!mh_kernel_rearm_step(d, rb->role->find))
			rb->phase = RB_JUDGE;
		return true;
	default:
		judge(d);
		finish(d);
		return false;
	}
}

static void start(struct mh_daemon *d, const struct mh_readback_role *role)
{
	d->sync_gen++;
	d->rb = (struct mh_readback_run){ .role = role, .phase = RB_PINHOLES,
					  .start_ms = mh_now_ms(),
					  .table_gen = d->table_gen,
					  .elem_ops = d->elem_ops };
	n_strays = 0;
	mh_kernel_rearm_drop();
}

bool mh_readback_tick(struct mh_daemon *d, uint64_t now_ms,
		      const struct mh_readback_role *role)
{
	if (now_ms < d->next_sync_ms || d->rb.role)
		return false;
	start(d, role);
	d->next_sync_ms = now_ms + interval_ms(d);
	return true;
}

bool mh_readback_pending(const struct mh_daemon *d)
{
	return d->rb.role != NULL;
}

/* The read-back under way dropped, its re-arms unsent: the table it
 * listed was replaced (mh_kernel_install). The next tick starts another. */
static void abandon(struct mh_daemon *d)
{
	if (d->rb.walking)
		mh_nft_walk_stop(d->nft);
	mh_kernel_rearm_drop();
	n_strays = 0;
	d->rb.role = NULL;
	d->next_sync_ms = 0;
	log_debug("read-back abandoned: the table was installed again");
}

/* Steps until the read-back ends or limit_us has passed; its time goes
 * into busy_us, and when it ends into readback_busy_ms. */
static void slice(struct mh_daemon *d, uint64_t limit_us)
{
	uint64_t from = now_us(), at = from;
	bool more = true;

	while (more && at - from < limit_us) {
		if (d->rb.table_gen != d->table_gen) {
			abandon(d);
			return;
		}
		more = advance(d);
		at = now_us();
	}
	d->rb.busy_us += at - from;
	if (!more)
		d->stats.readback_busy_ms = (d->rb.busy_us + 500) / 1000;
}

void mh_readback_step(struct mh_daemon *d)
{
	if (d->rb.role)
		slice(d, MH_READBACK_SLICE_MS * 1000);
}

void mh_readback_run(struct mh_daemon *d, const struct mh_readback_role *role)
{
	start(d, role);
	slice(d, UINT64_MAX);
}
