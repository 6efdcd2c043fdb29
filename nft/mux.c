/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Single-port mode (mosh #295) in mosh-helper's table: the mux maps (client
 * address . client port -> server port; confirmed ones refreshed by the
 * client, provisional ones not), the prerouting chains that gate the public
 * port and DNAT it to the session's port, the guard at the head of mosh_in,
 * the clean-up when the mode is turned off, and mapping elements.
 */
#include <errno.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>

#include "muxsel.h"
#include "nft.h"
#include "nft_int.h"

#define MUX_PRE_PRIORITY (-150)   /* after conntrack (-200), before dstnat */
#define MUX_NAT_PRIORITY (-100)   /* dstnat */
#define MUX_DREG         NFT_REG_3 /* the map's data; clear of both keys */

enum { MAP_MUX4, MAP_MUX6, MAP_MUXP4, MAP_MUXP6, MAP_COUNT };

/* The four maps: family and confirmed/provisional by index. */
static const struct mux_map {
	const char *name;
	uint32_t id;
	int family;
	bool confirmed;
} maps[MAP_COUNT] = {
	{ MH_MAP_MUX4, MH_ID_MUX4, AF_INET, true },
	{ MH_MAP_MUX6, MH_ID_MUX6, AF_INET6, true },
	{ MH_MAP_MUXP4, MH_ID_MUXP4, AF_INET, false },
	{ MH_MAP_MUXP6, MH_ID_MUXP6, AF_INET6, false },
};

static const struct mux_map *map_of(int family, bool confirmed)
{
	for (int i = 0; i < MAP_COUNT; i++)
		if (maps[i].family == family && maps[i].confirmed == confirmed)
			return &maps[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */

const char *mh_nft_mux_map(int family, bool confirmed)
{
	const struct mux_map *m = map_of(family, confirmed);

	return m ? m->name : NULL;
}

size_t mh_nft_mux_key(const struct mh_pinhole *m, uint8_t *key)
{
	size_t alen = m->family == AF_INET ? 4 : 16;
	uint16_t cport = htons(m->client_port);

	if (!mh_nft_mux_map(m->family, true))
		return 0;
	memset(key, 0, MH_MUX_KEY_MAX);
	memcpy(key, m->addr, alen);
	memcpy(key + alen, &cport, 2);      /* 2 bytes of padding follow */
	return alen + 4;
}

int mh_nft_mux_from_elem(const uint8_t *key, size_t key_len,
			 const uint8_t *data, size_t data_len,
			 struct mh_pinhole *m)
{
	size_t alen;
	uint16_t cport, sport;

	if (key_len == MH_MUX_KEY4_LEN)
		alen = 4;
	else if (key_len == MH_MUX_KEY6_LEN)
		alen = 16;
	else
		return -EINVAL;
	if (!data || data_len != MH_MUX_DATA_LEN)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->family = alen == 4 ? AF_INET : AF_INET6;
	memcpy(m->addr, key, alen);
	memcpy(&cport, key + alen, 2);
	memcpy(&sport, data, 2);
	m->client_port = ntohs(cport);
	m->server_port = ntohs(sport);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Maps and chains                                                     */

static void map_def(const struct mh_ruleset_params *p, int i,
		    struct nb_set_def *d)
{
	const struct mux_map *m = &maps[i];
	const uint32_t t[2] = {
		m->family == AF_INET ? MH_TYPE_IPV4 : MH_TYPE_IPV6, MH_TYPE_SERVICE,
	};

	memset(d, 0, sizeof(*d));
	d->name = m->name;
	d->id = m->id;
	/* only the confirmed maps are updated from the packet path */
	d->flags = NFT_SET_MAP | NFT_SET_TIMEOUT | (m->confirmed ? NFT_SET_EVAL : 0);
	d->key_type = nb_concat_type(t, 2);
	d->key_len = m->family == AF_INET ? MH_MUX_KEY4_LEN : MH_MUX_KEY6_LEN;
	d->size = nb_set_size(p);
	d->timeout_ms = m->confirmed ? p->idle_timeout_ms : p->provisional_timeout_ms;
	d->data_type = MH_TYPE_SERVICE;
	d->data_len = MH_MUX_DATA_LEN;
}

/* Made to exist with the same type (a temporary id, no timeout: see
 * ensure_sets in build.c), so that a delete can follow. */
static int ensure_maps(struct mnl_nlmsg_batch *b, uint32_t *seq,
		       const struct mh_ruleset_params *p)
{
	int err = 0;

	for (int i = 0; i < MAP_COUNT && !err; i++) {
		struct nb_set_def d;

		map_def(p, i, &d);
		d.id = (uint32_t)(MH_ID_MUX_TMP + i);
		d.timeout_ms = 0;
		err = nb_set(b, seq, p->table, &d);
	}
	return err;
}

static int delete_maps(struct mnl_nlmsg_batch *b, uint32_t *seq,
		       const char *table)
{
	int err = 0;

	for (int i = 0; i < MAP_COUNT && !err; i++)
		err = nb_set_delete(b, seq, table, maps[i].name);
	return err;
}

static int create_maps(struct mnl_nlmsg_batch *b, uint32_t *seq,
		       const struct mh_ruleset_params *p)
{
	int err = 0;

	for (int i = 0; i < MAP_COUNT && !err; i++) {
		struct nb_set_def d;

		map_def(p, i, &d);
		err = nb_set(b, seq, p->table, &d);
	}
	return err;
}

enum { CH_PRE, CH_IN, CH_NAT, CH_COUNT };

static const struct nb_chain_def chains[CH_COUNT] = {
	{ MH_CHAIN_MUX_PRE, NF_INET_PRE_ROUTING, MUX_PRE_PRIORITY, "filter" },
	{ MH_CHAIN_MUX_IN, -1, 0, NULL },
	{ MH_CHAIN_MUX_NAT, NF_INET_PRE_ROUTING, MUX_NAT_PRIORITY, "nat" },
};

/* bare: as regular chains, only to name them (no hook is registered, no
 * nat module is asked for); an existing base chain is left as it is. */
static int make_chains(struct mnl_nlmsg_batch *b, uint32_t *seq,
		       const char *table, bool bare)
{
	int err = 0;

	for (int i = 0; i < CH_COUNT && !err; i++) {
		struct nb_chain_def c = chains[i];

		if (bare)
			c.hook = -1;
		err = nb_chain(b, seq, NFT_MSG_NEWCHAIN, table, &c);
	}
	return err;
}

static int flush_chains(struct mnl_nlmsg_batch *b, uint32_t *seq,
			const char *table)
{
	int err = 0;

	for (int i = 0; i < CH_COUNT && !err; i++)
		err = nb_chain_flush(b, seq, table, chains[i].name);
	return err;
}

static int delete_chains(struct mnl_nlmsg_batch *b, uint32_t *seq,
			 const char *table)
{
	int err = 0;

	for (int i = 0; i < CH_COUNT && !err; i++)
		err = nb_chain(b, seq, NFT_MSG_DELCHAIN, table, &chains[i]);
	return err;
}

/* ------------------------------------------------------------------ */
/* Rules                                                               */

typedef void (*mux_rule_fn)(struct nb_rule *rb, const struct mh_ruleset_params *p,
			    const struct mux_map *m);

static int put_rule(struct mnl_nlmsg_batch *b, uint32_t *seq,
		    const struct mh_ruleset_params *p, const char *chain,
		    mux_rule_fn fn, const struct mux_map *m)
{
	struct nb_rule rb;
	int err = nb_rule_begin(&rb, p->table, chain);

	if (err)
		return err;
	fn(&rb, p, m);
	return nb_rule_end(b, seq, &rb);
}

static void m_public_port(struct nb_rule *rb, const struct mh_ruleset_params *p)
{
	uint16_t port = htons(p->public_port);

	nb_match_udp(rb);
	nb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_cmp(rb, NFT_CMP_EQ, &port, sizeof(port));
}

/* nfproto and udp, then source address . source port in reg 1.. */
static void m_mux_key(struct nb_rule *rb, const struct mux_map *m)
{
	bool v4 = m->family == AF_INET;
	uint32_t alen = v4 ? 4 : 16;

	nb_match_nfproto(rb, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
	nb_match_udp(rb);
	nb_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, v4 ? 12 : 8, alen, NFT_REG_1);
	nb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG32_00 + alen / 4);
}

/*
 * Is the key in reg 1.. a mapping of m? Kernels before 6.5 refuse a lookup
 * in a map that loads no value (p->map_lookup_dreg, probed at start): the
 * value, a server port and never 0, goes to MUX_DREG, clear of the key
 * that a refresh reads next, and is compared with 0. nft 1.0.6 lists that
 * form as `ip saddr . udp sport map @mux4 != 0` or similar, with an
 * `[invalid type]` after the 0: a listing quirk, the rule is the same
 * match.
 */
static void m_mux_lookup(struct nb_rule *rb, const struct mh_ruleset_params *p,
			 const struct mux_map *m)
{
	static const uint16_t zero;

	if (!p->map_lookup_dreg) {
		nb_lookup(rb, m->name, m->id, 0);
		return;
	}
	nb_lookup(rb, m->name, m->id, MUX_DREG);
	nb_cmp_reg(rb, MUX_DREG, NFT_CMP_NEQ, &zero, sizeof(zero));
}

static void rule_pre_jump(struct nb_rule *rb, const struct mh_ruleset_params *p,
			  const struct mux_map *m)
{
	(void)m;
	m_public_port(rb, p);
	nb_verdict(rb, NFT_JUMP, MH_CHAIN_MUX_IN);
	nb_comment(rb, "single-port mode: the public UDP port is open only through the mux maps");
}

/*
 * Match, then refresh. The kernel wants data on a dynset to a map; it is
 * used only if the element has to be created (it expired between the lookup
 * and the update), so it is the flow's server port as conntrack's NAT holds
 * it (ct reply proto-src). Not the value of a lookup into a register: nft
 * 1.0.6 aborts listing such a rule (netlink_parse_concat_expr assertion).
 */
static void rule_in_confirmed(struct nb_rule *rb, const struct mh_ruleset_params *p,
			      const struct mux_map *m)
{
	m_mux_key(rb, m);
	m_mux_lookup(rb, p, m);
	nb_ct_dir(rb, NFT_CT_PROTO_SRC, MH_CT_DIR_REPLY, MUX_DREG);
	nb_dynset_update(rb, m->name, m->id, MUX_DREG);
	nb_verdict(rb, NF_ACCEPT, NULL);
	nb_comment(rb, "confirmed mapping (mosh-server answered this source): accept, refresh idle timeout");
}

static void rule_in_provisional(struct nb_rule *rb, const struct mh_ruleset_params *p,
				const struct mux_map *m)
{
	m_mux_key(rb, m);
	m_mux_lookup(rb, p, m);
	nb_verdict(rb, NF_ACCEPT, NULL);
	nb_comment(rb, "provisional mapping (mosh-helperd authenticated this source): accept, not refreshed");
}

/* What no mosh client sends (lib/muxsel.h says why): dropped before the
 * per-source budgets and the queue, so it costs the daemon nothing. The
 * host's and the gateway's public port share these rule bodies. */
void nb_mux_drop_short(struct nb_rule *rb)
{
	uint16_t min = htons(8 + MH_MUX_MIN_PAYLOAD);   /* UDP length field */

	nb_match_udp(rb);
	nb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 4, 2, NFT_REG_1);
	nb_cmp(rb, NFT_CMP_LT, &min, sizeof(min));
	nb_counter(rb);
	nb_verdict(rb, NF_DROP, NULL);
	nb_comment(rb, "unknown source, shorter than any SSP datagram a client sends: drop");
}

void nb_mux_drop_header(struct nb_rule *rb)
{
	static const uint8_t zero[MH_MUX_ZERO_HEAD];

	nb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 8, MH_MUX_ZERO_HEAD, NFT_REG_1);
	nb_cmp(rb, NFT_CMP_NEQ, zero, sizeof(zero));
	nb_counter(rb);
	nb_verdict(rb, NF_DROP, NULL);
	nb_comment(rb, "unknown source, not a client's SSP header (direction bit set, or a sequence number of 2^40 or more): drop");
}

void nb_mux_drop_over_rate(struct nb_rule *rb)
{
	nb_counter(rb);
	nb_verdict(rb, NF_DROP, NULL);
	nb_comment(rb, "public port over the slow-path rate: silent drop, no ICMP");
}

static void rule_in_short(struct nb_rule *rb, const struct mh_ruleset_params *p,
			  const struct mux_map *m)
{
	(void)p;
	(void)m;
	nb_mux_drop_short(rb);
}

static void rule_in_header(struct nb_rule *rb, const struct mh_ruleset_params *p,
			   const struct mux_map *m)
{
	(void)p;
	(void)m;
	nb_mux_drop_header(rb);
}

static void rule_in_queue(struct nb_rule *rb, const struct mh_ruleset_params *p,
			  const struct mux_map *m)
{
	(void)m;
	nb_limit(rb, p->slow_path_rate);
	nb_queue(rb, p->native_queue, p->queue_num, p->queue_total);
	nb_comment(rb, "unknown source: rate-limited queue to mosh-helperd, which finds its session (fail-closed)");
}

static void rule_in_drop(struct nb_rule *rb, const struct mh_ruleset_params *p,
			 const struct mux_map *m)
{
	(void)p;
	(void)m;
	nb_mux_drop_over_rate(rb);
}

/* Only the port changes: mosh-server may be bound to one address. */
static void rule_nat(struct nb_rule *rb, const struct mh_ruleset_params *p,
		     const struct mux_map *m)
{
	bool v4 = m->family == AF_INET;

	nb_match_nfproto(rb, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
	m_public_port(rb, p);
	nb_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, v4 ? 12 : 8, v4 ? 4 : 16, NFT_REG_1);
	nb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2,
		   NFT_REG32_00 + (v4 ? 1 : 4));
	nb_lookup(rb, m->name, m->id, MUX_DREG);
	nb_dnat_port(rb, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6, MUX_DREG);
	nb_comment(rb, m->confirmed
		   ? "confirmed mapping: to its mosh-server's port (conntrack maps the replies back)"
		   : "provisional mapping: to its mosh-server's port (conntrack maps the replies back)");
}

/* Untracked datagrams (an admin's notrack) and those conntrack calls
 * invalid have no original tuple to check: they never reach a server. */
static void rule_guard_untracked(struct nb_rule *rb,
				 const struct mh_ruleset_params *p,
				 const struct mux_map *m)
{
	uint32_t mask = NF_CT_STATE_INVALID_BIT | NF_CT_STATE_UNTRACKED_BIT, zero = 0;

	(void)p;
	(void)m;
	nb_ct(rb, NFT_CT_STATE);
	nb_bitwise_and(rb, &mask, sizeof(mask));
	nb_cmp(rb, NFT_CMP_NEQ, &zero, sizeof(zero));
	nb_counter(rb);
	nb_verdict(rb, NF_DROP, NULL);
	nb_comment(rb, "single-port mode: datagrams conntrack cannot follow never reach a server port");
}

/* A flow DNATed from the public port keeps it as its original destination;
 * a datagram sent to a server's own port does not. Replies to flows this
 * host opened (ct direction reply) are left to the rules below: the
 * local-flow rules of build.c, the same as without single-port mode. */
static void rule_guard_direct(struct nb_rule *rb,
			      const struct mh_ruleset_params *p,
			      const struct mux_map *m)
{
	uint16_t port = htons(p->public_port);

	(void)m;
	nb_ct(rb, NFT_CT_DIRECTION);
	nb_cmp_u8(rb, MH_CT_DIR_ORIGINAL);
	nb_match_udp(rb);
	nb_ct_dir(rb, NFT_CT_PROTO_DST, MH_CT_DIR_ORIGINAL, NFT_REG_1);
	nb_cmp(rb, NFT_CMP_NEQ, &port, sizeof(port));
	nb_counter(rb);
	nb_verdict(rb, NF_DROP, NULL);
	nb_comment(rb, "single-port mode: the servers' own ports are reached only through the public port");
}

int nb_mux_guard(struct mnl_nlmsg_batch *b, uint32_t *seq,
		 const struct mh_ruleset_params *p, const char *chain)
{
	int err = put_rule(b, seq, p, chain, rule_guard_untracked, NULL);

	if (!err)
		err = put_rule(b, seq, p, chain, rule_guard_direct, NULL);
	return err;
}

int nb_mux_input_guard(struct mnl_nlmsg_batch *b, uint32_t *seq,
		       const struct mh_ruleset_params *p)
{
	return nb_mux_guard(b, seq, p, MH_CHAIN_MOSH_IN);
}

/* mux_pre: one jump; mux_in: confirmed, provisional, what cannot be a
 * client's SSP datagram, (per-source budget drops, slowsrc.c), queue, drop; mux_nat: confirmed before provisional,
 * IPv4 then IPv6. */
static int put_mux_rules(struct mnl_nlmsg_batch *b, uint32_t *seq,
			 const struct mh_ruleset_params *p)
{
	static const struct { int chain; mux_rule_fn fn; int map; } rules[] = {
		{ CH_PRE, rule_pre_jump, -1 },
		{ CH_IN, rule_in_confirmed, MAP_MUX4 },
		{ CH_IN, rule_in_confirmed, MAP_MUX6 },
		{ CH_IN, rule_in_provisional, MAP_MUXP4 },
		{ CH_IN, rule_in_provisional, MAP_MUXP6 },
		{ CH_IN, rule_in_short, -1 },
		{ CH_IN, rule_in_header, -1 },
		{ CH_IN, rule_in_queue, -1 },
		{ CH_IN, rule_in_drop, -1 },
		{ CH_NAT, rule_nat, MAP_MUX4 },
		{ CH_NAT, rule_nat, MAP_MUXP4 },
		{ CH_NAT, rule_nat, MAP_MUX6 },
		{ CH_NAT, rule_nat, MAP_MUXP6 },
	};
	int err = 0;

	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]) && !err; i++) {
		if (rules[i].fn == rule_in_queue)
			err = nb_slow_rules(b, seq, p, MH_CHAIN_MUX_IN, false);
		if (!err)
			err = put_rule(b, seq, p, chains[rules[i].chain].name,
				       rules[i].fn,
				       rules[i].map < 0 ? NULL : &maps[rules[i].map]);
	}
	return err;
}

/*
 * On: like the rest of the table, create what is missing, flush the
 * chains, re-create the maps (emptied, with this load's timeouts), add the
 * rules; adopting, the maps keep their mappings (their full definitions
 * create them if missing, else update their timeouts). Off: the builder
 * cannot know whether an earlier load left the mode's objects, so it
 * names them (bare chains, maps of the same type), flushes and deletes
 * them: a no-op in effect when there were none.
 */
int nb_mux_tail(struct mnl_nlmsg_batch *b, uint32_t *seq,
		const struct mh_ruleset_params *p)
{
	bool on = p->public_port != 0;
	int err = on && !p->adopt ? ensure_maps(b, seq, p) : 0;

	if (!err)
		err = make_chains(b, seq, p->table, !on);
	if (!err)
		err = flush_chains(b, seq, p->table);
	if (on) {
		if (!err && !p->adopt)
			err = delete_maps(b, seq, p->table);
		if (!err)
			err = create_maps(b, seq, p);
		if (!err)
			err = put_mux_rules(b, seq, p);
		return err;
	}
	if (!err)
		err = delete_chains(b, seq, p->table);
	if (!err)
		err = ensure_maps(b, seq, p);
	if (!err)
		err = delete_maps(b, seq, p->table);
	return err;
}

/* A scratch table with muxp4 and its mux_in rule in the form newer kernels
 * take (no value register), deleted in the same batch. */
int mh_nft_build_map_probe(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	const struct mh_ruleset_params p = { .table = MH_PROBE_TABLE,
					     .provisional_timeout_ms = 1000 };
	const struct nb_chain_def probe = { "probe", -1, 0, NULL };
	struct nb_set_def d;
	int err = nb_table(b, seq, NFT_MSG_NEWTABLE, p.table, 0);

	map_def(&p, MAP_MUXP4, &d);
	if (!err)
		err = nb_set(b, seq, p.table, &d);
	if (!err)
		err = nb_chain(b, seq, NFT_MSG_NEWCHAIN, p.table, &probe);
	if (!err)
		err = put_rule(b, seq, &p, probe.name, rule_in_provisional,
			       &maps[MAP_MUXP4]);
	if (!err)
		err = nb_table(b, seq, NFT_MSG_DELTABLE, p.table, 0);
	return err;
}

/* ------------------------------------------------------------------ */
/* Elements                                                            */

int mh_nft_build_mux(struct mnl_nlmsg_batch *b, uint32_t *seq,
		     const char *table, const struct mh_pinhole *m,
		     bool confirmed, bool add, uint32_t timeout_ms)
{
	uint8_t key[MH_MUX_KEY_MAX];
	uint16_t data = htons(m->server_port);
	size_t len = mh_nft_mux_key(m, key);
	struct nb_elem ev = { key, (uint32_t)len, 0, add ? timeout_ms : 0,
			      add ? &data : NULL, add ? sizeof(data) : 0, 0 };

	if (!len || nb_check_table_name(table) || (add && !m->server_port))
		return -EINVAL;
	return nb_elems(b, seq, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
			table, mh_nft_mux_map(m->family, confirmed), &ev, 1);
}
