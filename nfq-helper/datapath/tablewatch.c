/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Keeps the table whole while the daemon runs: nftables events tell when
 * another program deleted, flushed or changed it (`nft flush ruleset`,
 * `systemctl restart nftables`), and it is rebuilt at once with every
 * session port, pinhole and single-port mapping the daemon holds. Where
 * the table is owned and persistent no other program can touch it: the
 * watch is closed once the table is in.
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

/* The table installed: owned and persistent, no other socket can delete,
 * flush or change it (the kernel refuses, and `flush ruleset` skips it),
 * so the watch would only ever hear the daemon's own batches. Closed: the
 * kernel then builds no event for each pinhole added or deleted, and the
 * daemon does not wake up to read it (two a roam, on the roam's path). */
void mh_tablewatch_settle(struct mh_daemon *d)
{
	if ((d->table_flags & MH_TABLE_F_OWNED) != MH_TABLE_F_OWNED || !d->watch)
		return;
	mh_tablewatch_close(d);
	log_debug("table inet %s owned and persistent: nftables events not watched",
		  d->cfg.table);
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
