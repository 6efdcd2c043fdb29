/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The gateway's per-session slow-path budgets: the dynamic sets
 * gwslow_in4/6 and gwslow_out4/6, keyed server address . server port (a
 * gateway's session), each element with its own limit; the rules of the
 * slow chains that queue a datagram within its session's budget from a
 * share of the global rate the other sessions cannot use up; and the
 * removal of the sets when the budgets are off.
 */
#include <string.h>

#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nft_gw.h"
#include "nft_int.h"

/* As slowsrc.c's: a bucket refills in 1 s; forgotten 2 s after its last
 * datagram. Keys are sessions the slow chains were reached for, so the
 * sets hold at most the sessions plus those ended within 2 s. */
#define GWSLOW_SIZE       65535
#define GWSLOW_TIMEOUT_MS 2000

/* Set ids apart from the host table's (nft_int.h) and gateway.c's. */
enum { GWSLOW_ID_IN4 = 110, GWSLOW_ID_IN6, GWSLOW_ID_OUT4, GWSLOW_ID_OUT6 };

static const struct gwslow_set {
	const char *name;
	uint32_t id;
	int family;
	bool inbound;
} gwslow[4] = {
	{ "gwslow_in4", GWSLOW_ID_IN4, AF_INET, true },
	{ "gwslow_in6", GWSLOW_ID_IN6, AF_INET6, true },
	{ "gwslow_out4", GWSLOW_ID_OUT4, AF_INET, false },
	{ "gwslow_out6", GWSLOW_ID_OUT6, AF_INET6, false },
};

static void gwslow_def(int i, struct nb_set_def *d)
{
	uint32_t a = gwslow[i].family == AF_INET ? MH_TYPE_IPV4 : MH_TYPE_IPV6;
	const uint32_t t[2] = { a, MH_TYPE_SERVICE };

	memset(d, 0, sizeof(*d));
	d->name = gwslow[i].name;
	d->id = gwslow[i].id;
	d->flags = NFT_SET_TIMEOUT | NFT_SET_EVAL;
	d->key_type = nb_concat_type(t, 2);
	d->key_len = gwslow[i].family == AF_INET ? MH_GW_SESS_KEY4_LEN
						  : MH_GW_SESS_KEY6_LEN;
	d->size = GWSLOW_SIZE;
	d->timeout_ms = GWSLOW_TIMEOUT_MS;
}

const char *nb_gw_slow_set(int family, bool inbound)
{
	for (int i = 0; i < 4; i++)
		if (gwslow[i].family == family && gwslow[i].inbound == inbound)
			return gwslow[i].name;
	return NULL;
}

int nb_gw_slow_ensure(struct mnl_nlmsg_batch *b, uint32_t *seq,
		      const struct mh_ruleset_params *p)
{
	int err = 0;

	for (int i = 0; i < 4 && p->per_session_rate && !err; i++) {
		struct nb_set_def d;

		gwslow_def(i, &d);
		err = nb_set(b, seq, p->table, &d);
	}
	return err;
}

int nb_gw_slow_flush(struct mnl_nlmsg_batch *b, uint32_t *seq,
		     const struct mh_ruleset_params *p)
{
	int err = 0;

	for (int i = 0; i < 4 && p->per_session_rate && !err; i++)
		err = nb_elems(b, seq, NFT_MSG_DELSETELEM, p->table,
			       gwslow[i].name, NULL, 0);
	return err;
}

/* nfproto, udp, the server's address . port into reg 1 (destination
 * inbound, source outbound) */
static void load_server(struct nb_rule *rb, int family, bool inbound)
{
	bool v4 = family == AF_INET;
	uint32_t alen = v4 ? 4 : 16;
	uint32_t off = v4 ? (inbound ? 16 : 12) : (inbound ? 24 : 8);

	nb_match_nfproto(rb, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
	nb_match_udp(rb);
	nb_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, off, alen, NFT_REG32_00);
	nb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, inbound ? 2 : 0, 2,
		   NFT_REG32_00 + alen / 4);
}

/* [ip|ip6] daddr . udp dport update @gwslow_inN { ... limit rate R/second
 * burst R packets } limit rate S/second burst S packets [mark] queue
 * (outbound: saddr . sport, gwslow_outN). */
static int put_rule(struct mnl_nlmsg_batch *b, uint32_t *seq,
		    const struct mh_ruleset_params *p, const char *chain, int i)
{
	struct nb_rule rb;
	int err = nb_rule_begin(&rb, p->table, chain);

	if (err)
		return err;
	load_server(&rb, gwslow[i].family, gwslow[i].inbound);
	nb_dynset_limit(&rb, gwslow[i].name, gwslow[i].id, p->per_session_rate,
			false);
	nb_limit(&rb, nb_slow_share(p));
	if (p->accept_mark)   /* as the gateway's shared queue rule */
		nb_mark_or(&rb, p->accept_mark);
	nb_queue(&rb, p->native_queue, p->queue_num, p->queue_total);
	nb_comment(&rb, gwslow[i].inbound
		   ? "session within its own slow-path budget: queue from a share other sessions cannot use up"
		   : "session's reply within its own budget for new peers: queue from a share other sessions cannot use up");
	return nb_rule_end(b, seq, &rb);
}

int nb_gw_slow_rules(struct mnl_nlmsg_batch *b, uint32_t *seq,
		     const struct mh_ruleset_params *p, const char *chain,
		     bool inbound)
{
	int err = 0;

	for (int i = 0; i < 4 && p->per_session_rate && !err; i++)
		if (gwslow[i].inbound == inbound)
			err = put_rule(b, seq, p, chain, i);
	return err;
}

/* Named (created if missing), then deleted: a no-op in effect when an
 * earlier load did not leave them. */
int nb_gw_slow_tail(struct mnl_nlmsg_batch *b, uint32_t *seq,
		    const struct mh_ruleset_params *p)
{
	int err = 0;

	for (int i = 0; i < 4 && !p->per_session_rate && !err; i++) {
		struct nb_set_def d;

		gwslow_def(i, &d);
		err = nb_set(b, seq, p->table, &d);
		if (!err)
			err = nb_set_delete(b, seq, p->table, gwslow[i].name);
	}
	return err;
}
