/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helperd --guard: the range closed before any daemon runs (a oneshot
 * unit ordered before the network comes up). Installs the table the way a
 * start with no sessions does (mh_kernel_setup), leaves a table already
 * there alone, and exits; the daemon takes that table over when it starts.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "daemon.h"

/* Whether our table exists (a dump of its sessions set answers). */
bool mh_guard_table_there(const struct mh_daemon *d)
{
	struct mh_nft *n = mh_nft_open();
	bool there;

	if (!n)
		return false;
	there = mh_nft_dump_session_ports(n, d->cfg.table, NULL, NULL) >= 0;
	mh_nft_close(n);
	return there;
}

/* The table of a start with no state to resume; the process's end leaves
 * it as a stopped daemon leaves its own. */
static int install(struct mh_daemon *d)
{
	int err;

	d->pol.public_port = d->cfg.single_port ? d->cfg.public_port : 0;
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	err = d->epfd < 0 ? -errno : mh_kernel_setup(d, false);
	d->keep = true;
	mh_kernel_teardown(d);
	if (d->epfd >= 0)
		close(d->epfd);
	return err;
}

/* config_err: the file did not load (d->cfg holds the built-in settings).
 * The range is closed all the same, with those, and the run reported as
 * failed, so that the admin sees it while the host stays closed. */
int mh_guard(struct mh_daemon *d, const char *config_err)
{
	int err = 0;

	if (config_err)
		log_err("%s; closing the built-in range %u-%u (table inet %s) "
			"instead", config_err, d->cfg.port_low, d->cfg.port_high,
			d->cfg.table);
	if (mh_guard_table_there(d))
		log_info("table inet %s is already there: left as it is",
			 d->cfg.table);
	else if ((err = install(d)) < 0)
		log_err("installing table inet %s: %s; the range is NOT closed",
			d->cfg.table, strerror(-err));
	else
		log_info("table inet %s installed: ports %u-%u closed (no session) "
			 "until mosh-helperd takes the table over", d->cfg.table,
			 d->cfg.port_low, d->cfg.port_high);
	return err < 0 || config_err ? 1 : 0;
}
