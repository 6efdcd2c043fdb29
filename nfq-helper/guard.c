/*
 * mosh-helperd --guard: the range closed before any daemon runs (a oneshot
 * unit ordered before the network comes up). Installs the table a start
 * with no sessions builds, leaves a table already there alone, and exits;
 * the daemon takes that table over when it starts.
 */
#include <errno.h>
#include <string.h>

#include "daemon.h"

/* config_err: the file did not load (d->cfg holds the built-in settings).
 * The range is closed all the same, with those, and the run reported as
 * failed, so that the admin sees it while the host stays closed. */
int mh_guard(struct mh_daemon *d, const char *config_err)
{
	int err;

	if (config_err)
		log_err("%s; closing the built-in range %u-%u (table inet %s) "
			"instead", config_err, d->cfg.port_low, d->cfg.port_high,
			d->cfg.table);
	d->pol.public_port = d->cfg.single_port ? d->cfg.public_port : 0;
	err = mh_kernel_guard(d);
	if (err == 1)
		log_info("table inet %s is already there: left as it is",
			 d->cfg.table);
	else if (err < 0)
		log_err("installing table inet %s: %s; the range is NOT closed",
			d->cfg.table, strerror(-err));
	else
		log_info("table inet %s installed: ports %u-%u closed (no session) "
			 "until mosh-helperd takes the table over", d->cfg.table,
			 d->cfg.port_low, d->cfg.port_high);
	if (d->nft)
		mh_nft_close(d->nft);
	d->nft = NULL;
	return err < 0 || config_err ? 1 : 0;
}
