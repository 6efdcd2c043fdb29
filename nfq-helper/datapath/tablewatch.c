/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Keeps the table whole while the daemon runs: nftables events tell when
 * another program deleted, flushed or changed it (`nft flush ruleset`,
 * `systemctl restart nftables`), and it is rebuilt at once with every
 * session port, pinhole and single-port mapping the daemon holds. Where
 * the table is owned and persistent no other program can touch it and the
 * watch stays quiet.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

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

/* The table rebuilt in place and refilled from the session table (no
 * NLM_F_EXCL: what is still there stays); 0 or -errno. */
static int restore(struct mh_daemon *d)
{
	struct mh_nft_elems e = { 0 };
	uint64_t t0 = mh_now_ms();
	int err = mh_elems_of_sessions(d, &e);

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
	mh_elems_free(&e);
	return err;
}

void mh_tablewatch_input(struct mh_daemon *d)
{
	int r = mh_nft_watch_read(d->watch, d->cfg.table, mh_nft_portid(d->nft));

	if (r < 0)
		log_warn("nftables events: %s", strerror(-r));
	if (r > 0)
		restore(d);
}
