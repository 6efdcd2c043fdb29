/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The elements of a table to install, as growable lists: those the
 * kernel's table holds (a table replaced at start-up keeps them) or those
 * the session table records (a table rebuilt after another program
 * deleted or flushed it). Only lists: kernel.c installs them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "stray.h"

static void start(const struct mh_daemon *d, struct mh_nft_elems *e)
{
	memset(e, 0, sizeof(*e));
	e->pinhole_timeout_ms = d->cfg.idle_timeout * 1000;
	e->mux = d->pol.public_port != 0;
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

void mh_elems_free(struct mh_nft_elems *e)
{
	free((void *)e->ports);
	free((void *)e->pinholes);
	memset(e, 0, sizeof(*e));
}

/* Every session's port and every pinhole it records. */
int mh_elems_of_sessions(const struct mh_daemon *d, struct mh_nft_elems *e)
{
	size_t cap_p = 0, cap_ph = 0;
	int err = 0;

	start(d, e);
	for (const struct mh_session *s = d->sessions.head; s && !err; s = s->next) {
		const struct mh_pinhole_rec *r;

		err = add_port(e, &cap_p, s->port);
		mh_for_each_pinhole(s, r) {
			struct mh_pinhole ph;

			if (err)
				break;
			ph = mh_pinhole_of(&r->client, s->port);
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

int mh_elems_dump(const struct mh_daemon *d, struct mh_nft_elems *e)
{
	struct dump_ctx c = { e, 0, 0, 0 };
	int r;

	start(d, e);
	r = mh_nft_dump_session_ports(d->nft, d->cfg.table, dump_port, &c);
	if (r >= 0)
		r = mh_nft_dump_pinholes(d->nft, d->cfg.table, AF_INET, dump_pinhole, &c);
	if (r >= 0)
		r = mh_nft_dump_pinholes(d->nft, d->cfg.table, AF_INET6, dump_pinhole, &c);
	if (r >= 0 && c.err)
		r = c.err;
	if (r < 0)
		mh_elems_free(e);
	return r < 0 ? r : 0;
}
