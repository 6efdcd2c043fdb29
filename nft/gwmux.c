/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Single-port mode at the perimeter gateway: one public UDP port for every
 * login server behind it. The maps (client address . client port . server
 * address -> the session's own port; confirmed refreshed by the client,
 * provisional not), the prerouting chains that gate the public port and
 * DNAT its flows, port only, to that port; their clean-up when the mode is
 * off, and the mapping elements. Pure builders, as nft/gateway.c.
 */
#include <errno.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "muxsel.h"
#include "nft_gw.h"
#include "nft_int.h"

#define GWMUX_PRE_PRIORITY (-150)   /* after conntrack (-200), before dstnat */
#define GWMUX_NAT_PRIORITY (-100)   /* dstnat */
#define GWMUX_DREG   NFT_REG32_12   /* the map's data: clear of the longest key */
#define GWMUX_PRE    "gw_mux_pre"
#define GWMUX_IN     "gw_mux_in"
#define GWMUX_NAT    "gw_mux_nat"

enum { M_MUX4, M_MUX6, M_MUXP4, M_MUXP6, M_COUNT };

static const struct gw_map {
	const char *name;
	uint32_t id;
	int family;
	bool confirmed;
} gw_maps[M_COUNT] = {
	{ "gwmux4", 120, AF_INET, true },
	{ "gwmux6", 121, AF_INET6, true },
	{ "gwmuxp4", 122, AF_INET, false },
	{ "gwmuxp6", 123, AF_INET6, false },
};
#define GWMUX_ID_TMP 124   /* + index of the map (gwslow.c uses 110-113) */

/* ------------------------------------------------------------------ */
/* Keys                                                                */

const char *mh_nft_gw_mux_map(int family, bool confirmed)
{
	for (int i = 0; i < M_COUNT; i++)
		if (gw_maps[i].family == family && gw_maps[i].confirmed == confirmed)
			return gw_maps[i].name;
	return NULL;
}

size_t mh_nft_gw_mux_key(const struct mh_addr *client,
			 const struct mh_addr *server, uint8_t *key)
{
	size_t alen = client->family == AF_INET ? 4 : 16;
	uint16_t cport = htons(client->port);

	if (!mh_nft_gw_mux_map(client->family, true) ||
	    server->family != client->family)
		return 0;
	memset(key, 0, MH_GW_MUX_KEY_MAX);
	memcpy(key, client->ip, alen);
	memcpy(key + alen, &cport, 2);     /* 2 bytes of padding follow */
	memcpy(key + alen + 4, server->ip, alen);
	return 2 * alen + 4;
}

int mh_nft_gw_mux_from_elem(const uint8_t *key, size_t key_len,
			    const uint8_t *data, size_t data_len,
			    struct mh_addr *client, struct mh_addr *server)
{
	size_t alen = key_len == MH_GW_MUX_KEY4_LEN ? 4 : 16;
	uint16_t port;

	if ((key_len != MH_GW_MUX_KEY4_LEN && key_len != MH_GW_MUX_KEY6_LEN) ||
	    !data || data_len != 2)
		return -EINVAL;
	memset(client, 0, sizeof(*client));
	memset(server, 0, sizeof(*server));
	client->family = server->family = alen == 4 ? AF_INET : AF_INET6;
	memcpy(client->ip, key, alen);
	memcpy(&port, key + alen, 2);
	client->port = ntohs(port);
	memcpy(server->ip, key + alen + 4, alen);
	memcpy(&port, data, 2);
	server->port = ntohs(port);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Maps and chains                                                     */

static void map_def(const struct mh_ruleset_params *p, int i,
		    struct nb_set_def *d)
{
	const struct gw_map *m = &gw_maps[i];
	uint32_t a = m->family == AF_INET ? MH_TYPE_IPV4 : MH_TYPE_IPV6;
	const uint32_t t[3] = { a, MH_TYPE_SERVICE, a };

	memset(d, 0, sizeof(*d));
	d->name = m->name;
	d->id = m->id;
	d->flags = NFT_SET_MAP | NFT_SET_TIMEOUT | (m->confirmed ? NFT_SET_EVAL : 0);
	d->key_type = nb_concat_type(t, 3);
	d->key_len = m->family == AF_INET ? MH_GW_MUX_KEY4_LEN : MH_GW_MUX_KEY6_LEN;
	d->size = nb_set_size(p);
	d->timeout_ms = m->confirmed ? p->idle_timeout_ms : p->provisional_timeout_ms;
	d->data_type = MH_TYPE_SERVICE;
	d->data_len = 2;
}

/* each map: its full definition (tmp: a temporary id and no timeout, to
 * name it before a delete), or a delete */
static int each_map(struct mnl_nlmsg_batch *b, uint32_t *seq,
		    const struct mh_ruleset_params *p, bool tmp, bool del)
{
	int err = 0;

	for (int i = 0; i < M_COUNT && !err; i++) {
		struct nb_set_def d;

		map_def(p, i, &d);
		if (tmp) {
			d.id = (uint32_t)(GWMUX_ID_TMP + i);
			d.timeout_ms = 0;
		}
		err = del ? nb_set_delete(b, seq, p->table, d.name)
			  : nb_set(b, seq, p->table, &d);
	}
	return err;
}

enum { CH_PRE, CH_IN, CH_NAT, CH_COUNT };

static const struct nb_chain_def gw_mux_chains[CH_COUNT] = {
	{ GWMUX_PRE, NF_INET_PRE_ROUTING, GWMUX_PRE_PRIORITY, "filter" },
	{ GWMUX_IN, -1, 0, NULL },
	{ GWMUX_NAT, NF_INET_PRE_ROUTING, GWMUX_NAT_PRIORITY, "nat" },
};

/* op: NEWCHAIN (bare: as regular chains, only to name them), flush
 * (type 0) or DELCHAIN */
static int each_chain(struct mnl_nlmsg_batch *b, uint32_t *seq,
		      const char *table, uint16_t op, bool bare)
{
	int err = 0;

	for (int i = 0; i < CH_COUNT && !err; i++) {
		struct nb_chain_def c = gw_mux_chains[i];

		if (bare)
			c.hook = -1;
		err = op ? nb_chain(b, seq, op, table, &c)
			 : nb_chain_flush(b, seq, table, c.name);
	}
	return err;
}

/* ------------------------------------------------------------------ */
/* Rules                                                               */

typedef void (*gwmux_fn)(struct nb_rule *rb, const struct mh_ruleset_params *p,
			 const struct gw_map *m);

static void m_public(struct nb_rule *rb, const struct mh_ruleset_params *p)
{
	uint16_t port = htons(p->public_port);

	nb_match_udp(rb);
	nb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_cmp(rb, NFT_CMP_EQ, &port, sizeof(port));
}

/* saddr . sport . daddr into reg 1.. */
static void load_key(struct nb_rule *rb, const struct gw_map *m)
{
	bool v4 = m->family == AF_INET;
	uint32_t alen = v4 ? 4 : 16;

	nb_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, v4 ? 12 : 8, alen, NFT_REG32_00);
	nb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG32_00 + alen / 4);
	nb_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, v4 ? 16 : 24, alen,
		   NFT_REG32_00 + alen / 4 + 1);
}

/* nfproto, udp, then the key */
static void m_key(struct nb_rule *rb, const struct gw_map *m)
{
	nb_match_nfproto(rb, m->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6);
	nb_match_udp(rb);
	load_key(rb, m);
}

/* As nft/mux.c: kernels before 6.5 want the value loaded (and compared). */
static void m_lookup(struct nb_rule *rb, const struct mh_ruleset_params *p,
		     const struct gw_map *m)
{
	static const uint16_t zero;

	if (!p->map_lookup_dreg) {
		nb_lookup(rb, m->name, m->id, 0);
		return;
	}
	nb_lookup(rb, m->name, m->id, GWMUX_DREG);
	nb_cmp_reg(rb, GWMUX_DREG, NFT_CMP_NEQ, &zero, sizeof(zero));
}

static void rule_jump(struct nb_rule *rb, const struct mh_ruleset_params *p,
		      const struct gw_map *m)
{
	(void)m;
	m_public(rb, p);
	nb_verdict(rb, NFT_JUMP, GWMUX_IN);
	nb_comment(rb, "single-port mode: the site's public UDP port is open only through the mappings");
}

/* The data of the update is used only if the element has to be made
 * again: the flow's server port as conntrack's NAT holds it. */
static void rule_confirmed(struct nb_rule *rb, const struct mh_ruleset_params *p,
			   const struct gw_map *m)
{
	m_key(rb, m);
	m_lookup(rb, p, m);
	nb_ct_dir(rb, NFT_CT_PROTO_SRC, MH_CT_DIR_REPLY, GWMUX_DREG);
	nb_dynset_update(rb, m->name, m->id, GWMUX_DREG);
	nb_verdict(rb, NF_ACCEPT, NULL);
	nb_comment(rb, "confirmed mapping (its server answered this source): accept, refresh idle timeout");
}

static void rule_provisional(struct nb_rule *rb, const struct mh_ruleset_params *p,
			     const struct gw_map *m)
{
	m_key(rb, m);
	m_lookup(rb, p, m);
	nb_verdict(rb, NF_ACCEPT, NULL);
	nb_comment(rb, "provisional mapping (mosh-helperd authenticated this source): accept, not refreshed");
}

/* What no mosh client sends (lib/muxsel.h): dropped in the kernel, so a
 * flood of it costs the daemon nothing (the rule bodies are the host's,
 * nft/mux.c). */
static void rule_short(struct nb_rule *rb, const struct mh_ruleset_params *p,
		       const struct gw_map *m)
{
	(void)p;
	(void)m;
	nb_mux_drop_short(rb);
}

static void rule_header(struct nb_rule *rb, const struct mh_ruleset_params *p,
			const struct gw_map *m)
{
	(void)p;
	(void)m;
	nb_mux_drop_header(rb);
}

static void rule_queue(struct nb_rule *rb, const struct mh_ruleset_params *p,
		       const struct gw_map *m)
{
	(void)m;
	nb_limit(rb, p->slow_path_rate);
	nb_queue(rb, p->native_queue, p->queue_num, p->queue_total);
	nb_comment(rb, "unknown source: rate-limited queue to mosh-helperd, which finds its session among its server's (fail-closed)");
}

static void rule_drop(struct nb_rule *rb, const struct mh_ruleset_params *p,
		      const struct gw_map *m)
{
	(void)p;
	(void)m;
	nb_mux_drop_over_rate(rb);
}

/* Only the port changes: the datagram goes on to the server it was sent
 * to; conntrack maps the replies' source port back to the public one. */
static void rule_nat(struct nb_rule *rb, const struct mh_ruleset_params *p,
		     const struct gw_map *m)
{
	bool v4 = m->family == AF_INET;

	nb_match_nfproto(rb, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
	m_public(rb, p);
	load_key(rb, m);
	nb_lookup(rb, m->name, m->id, GWMUX_DREG);
	nb_dnat_port(rb, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6, GWMUX_DREG);
	nb_comment(rb, m->confirmed
		   ? "confirmed mapping: to its session's own port on the same server (conntrack maps the replies back)"
		   : "provisional mapping: to its session's own port on the same server (conntrack maps the replies back)");
}

static int put_rule(struct mnl_nlmsg_batch *b, uint32_t *seq,
		    const struct mh_ruleset_params *p, const char *chain,
		    gwmux_fn fn, const struct gw_map *m)
{
	struct nb_rule rb;
	int err = nb_rule_begin(&rb, p->table, chain);

	if (err)
		return err;
	fn(&rb, p, m);
	return nb_rule_end(b, seq, &rb);
}

/* gw_mux_pre: the jump; gw_mux_in: mappings, what no client sends, the
 * per-source budgets (slowsrc.c), queue, drop; gw_mux_nat: confirmed
 * before provisional, IPv4 then IPv6. s: the gateway's budgets (per
 * source only: no session is known before the trial). */
static int put_rules(struct mnl_nlmsg_batch *b, uint32_t *seq,
		     const struct mh_ruleset_params *p,
		     const struct mh_ruleset_params *s)
{
	static const struct { int chain; gwmux_fn fn; int map; } rules[] = {
		{ CH_PRE, rule_jump, -1 },
		{ CH_IN, rule_confirmed, M_MUX4 },
		{ CH_IN, rule_confirmed, M_MUX6 },
		{ CH_IN, rule_provisional, M_MUXP4 },
		{ CH_IN, rule_provisional, M_MUXP6 },
		{ CH_IN, rule_short, -1 },
		{ CH_IN, rule_header, -1 },
		{ CH_IN, rule_queue, -1 },
		{ CH_IN, rule_drop, -1 },
		{ CH_NAT, rule_nat, M_MUX4 },
		{ CH_NAT, rule_nat, M_MUXP4 },
		{ CH_NAT, rule_nat, M_MUX6 },
		{ CH_NAT, rule_nat, M_MUXP6 },
	};
	int err = 0;

	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]) && !err; i++) {
		if (rules[i].fn == rule_queue)
			err = nb_slow_rules(b, seq, s, GWMUX_IN, false);
		if (!err)
			err = put_rule(b, seq, p, gw_mux_chains[rules[i].chain].name,
				       rules[i].fn,
				       rules[i].map < 0 ? NULL : &gw_maps[rules[i].map]);
	}
	return err;
}

/*
 * As nft/mux.c's tail: on, the chains made if missing and flushed, the
 * maps re-created (kept with their mappings when adopting), the rules
 * added; off, whatever an earlier load left is named and deleted.
 */
int nb_gwmux_tail(struct mnl_nlmsg_batch *b, uint32_t *seq,
		  const struct mh_ruleset_params *p,
		  const struct mh_ruleset_params *s)
{
	bool on = p->public_port != 0;
	int err = on && !p->adopt ? each_map(b, seq, p, true, false) : 0;

	if (!err)
		err = each_chain(b, seq, p->table, NFT_MSG_NEWCHAIN, !on);
	if (!err)
		err = each_chain(b, seq, p->table, 0, false);
	if (on) {
		if (!err && !p->adopt)
			err = each_map(b, seq, p, false, true);
		if (!err)
			err = each_map(b, seq, p, false, false);
		return err ? err : put_rules(b, seq, p, s);
	}
	if (!err)
		err = each_chain(b, seq, p->table, NFT_MSG_DELCHAIN, false);
	if (!err)
		err = each_map(b, seq, p, true, false);
	return err ? err : each_map(b, seq, p, false, true);
}

/* ------------------------------------------------------------------ */
/* Elements                                                            */

int mh_nft_build_gw_mux(struct mnl_nlmsg_batch *b, uint32_t *seq,
			const char *table, const struct mh_addr *client,
			const struct mh_addr *server, bool confirmed, bool add)
{
	uint8_t key[MH_GW_MUX_KEY_MAX];
	uint16_t data = htons(server->port);
	size_t len = mh_nft_gw_mux_key(client, server, key);
	struct nb_elem ev = { key, (uint32_t)len, 0, 0,
			      add ? &data : NULL, add ? sizeof(data) : 0, 0 };

	if (!len || nb_check_table_name(table) || !client->port ||
	    (add && !server->port))
		return -EINVAL;
	return nb_elems(b, seq, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
			table, mh_nft_gw_mux_map(client->family, confirmed), &ev, 1);
}
