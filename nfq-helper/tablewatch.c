/*
 * Keeps the table whole while the daemon runs: nftables events tell when
 * another program deleted, flushed or changed it (`nft flush ruleset`,
 * `systemctl restart nftables`), and it is rebuilt at once with every
 * session port, pinhole and single-port mapping the daemon holds. Where
 * the table is owned and persistent no other program can touch it and the
 * watch stays quiet. Also collects the elements of a table being replaced.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "stray.h"

int mh_tablewatch_open(struct mh_daemon *d)
{
	d->watch = mh_nft_watch_open();
	if (!d->watch)
		return -errno;
	return mh_epoll_add(d, mh_nft_watch_fd(d->watch), EV_TAG(EV_NFT_WATCH, 0));
}

void mh_tablewatch_close(struct mh_daemon *d)
{
	mh_nft_watch_close(d->watch);
	d->watch = NULL;
}

/* Growable arrays behind a struct mh_nft_elems. */
static int add_port(struct mh_nft_elems *e, size_t *cap, uint16_t port)
{
	uint16_t *v = (uint16_t *)e->ports;

	if (e->n_ports == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		v = realloc(v, *cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		e->ports = v;
	}
	v[e->n_ports++] = port;
	return 0;
}

static int add_pinhole(struct mh_nft_elems *e, size_t *cap,
		       const struct mh_pinhole *ph)
{
	struct mh_pinhole *v = (struct mh_pinhole *)e->pinholes;

	if (e->n_pinholes == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		v = realloc(v, *cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		e->pinholes = v;
	}
	v[e->n_pinholes++] = *ph;
	return 0;
}

void mh_tablewatch_free_elems(struct mh_nft_elems *e)
{
	free((void *)e->ports);
	free((void *)e->pinholes);
	memset(e, 0, sizeof(*e));
}

/* Every session's port and every pinhole it records. */
static int collect_memory(struct mh_daemon *d, struct mh_nft_elems *e)
{
	size_t cap_p = 0, cap_ph = 0;
	int err = 0;

	for (struct mh_session *s = d->sessions.head; s && !err; s = s->next) {
		const struct mh_pinhole_rec *r;

		err = add_port(e, &cap_p, s->port);

		mh_for_each_pinhole(s, r) {
			struct mh_pinhole ph;

			if (err)
				break;
			mh_elem_of(&r->client, s->port, &ph);
			err = add_pinhole(e, &cap_ph, &ph);
		}
	}
	return err;
}

struct dump_ctx {
	struct mh_nft_elems *e;
	size_t cap_p, cap_ph;
	int err;
};

static void dump_port(const struct mh_pinhole *ph, uint64_t exp, void *arg)
{
	struct dump_ctx *c = arg;

	(void)exp;
	if (!c->err)
		c->err = add_port(c->e, &c->cap_p, ph->server_port);
}

static void dump_pinhole(const struct mh_pinhole *ph, uint64_t exp, void *arg)
{
	struct dump_ctx *c = arg;

	(void)exp;
	if (!c->err)
		c->err = add_pinhole(c->e, &c->cap_ph, ph);
}

int mh_tablewatch_dump_elems(struct mh_daemon *d, struct mh_nft_elems *e)
{
	struct dump_ctx c = { e, 0, 0, 0 };
	int r;

	memset(e, 0, sizeof(*e));
	e->pinhole_timeout_ms = d->cfg.idle_timeout * 1000;
	e->mux = d->pol.public_port != 0;
	r = mh_nft_dump_session_ports(d->nft, d->cfg.table, dump_port, &c);
	if (r >= 0)
		r = mh_nft_dump_pinholes(d->nft, d->cfg.table, AF_INET, dump_pinhole, &c);
	if (r >= 0)
		r = mh_nft_dump_pinholes(d->nft, d->cfg.table, AF_INET6, dump_pinhole, &c);
	if (r >= 0 && c.err)
		r = c.err;
	if (r < 0)
		mh_tablewatch_free_elems(e);
	return r < 0 ? r : 0;
}

int mh_tablewatch_restore(struct mh_daemon *d)
{
	struct mh_nft_elems e = { 0 };
	uint64_t t0 = mh_now_ms();
	int err = collect_memory(d, &e);

	e.pinhole_timeout_ms = d->cfg.idle_timeout * 1000;
	e.mux = d->pol.public_port != 0;
	if (!err)
		err = mh_kernel_install(d, true, false, &e);
	if (err)
		log_err("table inet %s: rebuilding it failed: %s", d->cfg.table,
			strerror(-err));
	else
		log_warn("table inet %s was deleted or changed by another program: "
			 "rebuilt in %llu ms with %zu session port(s) and %zu "
			 "pinhole(s)", d->cfg.table,
			 (unsigned long long)(mh_now_ms() - t0), e.n_ports,
			 e.n_pinholes);
	mh_audit_simple(d, "table_rebuilt", "result", err ? strerror(-err) : "ok");
	mh_tablewatch_free_elems(&e);
	return err;
}

void mh_tablewatch_input(struct mh_daemon *d)
{
	int r = mh_nft_watch_read(d->watch, d->cfg.table, mh_nft_portid(d->nft));

	if (r < 0)
		log_warn("nftables events: %s", strerror(-r));
	if (r > 0)
		mh_tablewatch_restore(d);
}
