/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The relay's guard of its gateways' listeners (role = relay): in the base
 * output chain, one rule per gateway that drops a TCP packet to its relay
 * listener from a socket of any uid but the daemon's own and root's. The
 * gateway lets each source address hold only a few connections that have
 * not finished TLS; without the guard a local user of this login server
 * could hold them and keep the relay, and with it the host's mosh users,
 * away from the gateway. A packet without a full socket (a reset, a
 * timewait answer) has no uid: the rule does not match it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nft_int.h"

static void rule_guard(struct nb_rule *rb, const struct mh_nft_endpoint *g,
		       uint32_t uid)
{
	bool v4 = g->family == AF_INET;
	uint16_t port = htons(g->port);
	uint32_t root = 0;

	nb_match_nfproto(rb, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
	nb_meta(rb, NFT_META_L4PROTO);
	nb_cmp_u8(rb, IPPROTO_TCP);
	nb_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, v4 ? 16 : 24, v4 ? 4 : 16,
		   NFT_REG_1);
	nb_cmp(rb, NFT_CMP_EQ, g->ip, v4 ? 4 : 16);
	nb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_cmp(rb, NFT_CMP_EQ, &port, sizeof(port));
	nb_meta(rb, NFT_META_SKUID);
	nb_cmp(rb, NFT_CMP_NEQ, &root, sizeof(root));
	if (uid != root)
		nb_cmp(rb, NFT_CMP_NEQ, &uid, sizeof(uid));
	nb_counter(rb);
	nb_verdict(rb, NF_DROP, NULL);
	nb_comment(rb, "a gateway's relay listener: only mosh-helperd (and root) "
		       "may connect from this host");
}

int nb_relay_guard_rules(struct mnl_nlmsg_batch *b, uint32_t *seq,
			 const struct mh_ruleset_params *p, const char *chain)
{
	int err = 0;

	for (unsigned i = 0; i < p->n_relay_gateways && !err; i++) {
		const struct mh_nft_endpoint *g = &p->relay_gateways[i];
		struct nb_rule rb;

		if (g->family != AF_INET && g->family != AF_INET6)
			return -EINVAL;
		err = nb_rule_begin(&rb, p->table, chain);
		if (err)
			return err;
		rule_guard(&rb, g, p->relay_uid);
		err = nb_rule_end(b, seq, &rb);
	}
	return err;
}
