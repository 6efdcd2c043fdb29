/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The ruleset parameters as nft/'s builders read them: the check of a whole
 * mh_ruleset_params, of a table name, and the size of the pinhole sets and
 * mux maps. Apart from build.c so that mux.c uses them without calling
 * back into the file that calls it (no cycle within nft/).
 */
#include <errno.h>
#include <string.h>

#include <linux/netfilter/nf_tables.h>

#include "nft.h"
#include "nft_int.h"

uint32_t nb_set_size(const struct mh_ruleset_params *p)
{
	return p->set_size ? p->set_size : MH_NFT_DEFAULT_SET_SIZE;
}

int nb_check_table_name(const char *table)
{
	if (!table || !*table || strlen(table) >= NFT_TABLE_MAXNAMELEN)
		return -EINVAL;
	return 0;
}

/* Single-port mode needs a lifetime for unconfirmed mappings. */
int nb_check_params(const struct mh_ruleset_params *p)
{
	if (nb_check_table_name(p->table) || p->port_low == 0 ||
	    p->port_low > p->port_high || p->idle_timeout_ms == 0 ||
	    p->queue_total == 0 || p->slow_path_rate == 0 ||
	    (uint32_t)p->queue_num + p->queue_total - 1 > UINT16_MAX ||
	    (p->public_port && p->provisional_timeout_ms == 0) ||
	    (p->table_flags && p->table_flags != MH_TABLE_F_OWNED))
		return -EINVAL;
	return 0;
}
