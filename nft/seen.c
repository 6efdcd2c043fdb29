/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * seen4/seen6 (nft.h, pinhole_seen): the keys of the pinholes that passed
 * an inbound datagram lately. The inbound pinhole rules note them here
 * instead of refreshing the pinhole itself, because a refresh (`update`)
 * adds an element that is missing and so could bring back a pinhole the
 * daemon had just deleted; a key noted here opens nothing. mosh-helperd
 * reads them back and re-arms the pinholes. The host's table and the
 * gateway's alike: the key is the caller's pinhole key.
 */
#include <stdint.h>

#include <linux/netfilter/nf_tables.h>
#include <sys/socket.h>

#include "nft_int.h"

uint32_t mh_nft_seen_timeout(uint32_t idle_timeout_ms)
{
	uint32_t t = idle_timeout_ms / 2;

	return t < 2000 ? 2000 : t;
}

static void seen_defs(const struct mh_ruleset_params *p,
		      const struct nb_seen_keys *k, bool tmp,
		      struct nb_set_def d[2])
{
	const uint32_t dyn = NFT_SET_TIMEOUT | NFT_SET_EVAL;
	uint32_t timeout = tmp ? 0 : mh_nft_seen_timeout(p->idle_timeout_ms);

	/* twice the pinholes: the daemon destroys a key with its pinhole,
	 * but a datagram that passed the lookup just before may note it
	 * again (it then lives out its timeout) */
	uint32_t size = nb_set_size(p) > UINT32_MAX / 2 ? UINT32_MAX
			: 2 * nb_set_size(p);

	d[0] = (struct nb_set_def){ MH_NFT_SEEN4, tmp ? MH_ID_SEEN4_TMP : MH_ID_SEEN4,
				    dyn, k->type4, k->len4, size, timeout, 0, 0 };
	d[1] = (struct nb_set_def){ MH_NFT_SEEN6, tmp ? MH_ID_SEEN6_TMP : MH_ID_SEEN6,
				    dyn, k->type6, k->len6, size, timeout, 0, 0 };
}

/* An adopting load with seen4/6 keeps them and their keys (the kernel
 * that re-arms takes a NEWSET of an existing set as an update of its
 * timeout); any other load names them to delete them after the flush. */
static bool keep(const struct mh_ruleset_params *p)
{
	return p->pinhole_seen && p->adopt;
}

int nb_seen_ensure(struct mnl_nlmsg_batch *b, uint32_t *seq,
		   const struct mh_ruleset_params *p, const struct nb_seen_keys *k)
{
	struct nb_set_def d[2];
	int err = 0;

	seen_defs(p, k, !keep(p), d);
	for (int i = 0; i < 2 && !err; i++)
		err = nb_set(b, seq, p->table, &d[i]);
	return err;
}

int nb_seen_reset(struct mnl_nlmsg_batch *b, uint32_t *seq,
		  const struct mh_ruleset_params *p, const struct nb_seen_keys *k)
{
	struct nb_set_def d[2];
	int err = 0;

	if (keep(p))
		return 0;
	seen_defs(p, k, false, d);
	for (int i = 0; i < 2 && !err; i++)
		err = nb_set_delete(b, seq, p->table, d[i].name);
	for (int i = 0; i < 2 && !err && p->pinhole_seen; i++)
		err = nb_set(b, seq, p->table, &d[i]);
	return err;
}

const char *mh_nft_seen_set(int family)
{
	return family == AF_INET ? MH_NFT_SEEN4 : family == AF_INET6 ? MH_NFT_SEEN6
	       : NULL;
}

void nb_seen_note(struct nb_rule *rb, int family)
{
	nb_dynset_update(rb, mh_nft_seen_set(family),
			 family == AF_INET ? MH_ID_SEEN4 : MH_ID_SEEN6, 0);
}
