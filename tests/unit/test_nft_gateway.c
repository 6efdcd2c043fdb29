/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for nft/gateway.c (the perimeter gateway's table): the key
 * codec (exact bytes, round trips, refusals); the ruleset batch parsed
 * back with libnftnl (the table, one forward base chain, the sets and
 * their key lengths, the 4-tuple loaded into consecutive registers in each
 * direction, the refresh on inbound hits only, the accept mark, both queue
 * flavours in the slow chains, a drop at the end of every chain, no
 * reject, an adopting load that keeps the elements, refused parameters);
 * the element builder (set, key, timeout, op, refusals); single-port
 * mode (nft/gwmux.c): the mapping key codec, its maps, chains, guard and
 * NAT registers, the clean-up when off, a mapping element.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "check_main.h"
#include "nft_gw.h"

#define LIMIT  65536
#define MAXMSG 128
#define T(x)   (uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | (x))

static char buf[2 * LIMIT];
static const struct nlmsghdr *msgs[MAXMSG];
static int nmsgs;

static const struct mh_ruleset_params gw_defaults = {
	.table = "mosh_helper_gw", .port_low = 60000, .port_high = 61000,
	.idle_timeout_ms = 60000, .queue_num = 0, .queue_total = 1,
	.slow_path_rate = 20000, .native_queue = false, .per_source_rate = 200,
	.accept_mark = 0x10000000,
};

static struct mh_addr addr(const char *s, uint16_t port)
{
	struct mh_addr a = { .port = port };

	a.family = strchr(s, ':') ? AF_INET6 : AF_INET;
	ck_assert_int_eq(inet_pton(a.family, s, a.ip), 1);
	return a;
}

/* ------------------------------------------------------------------ */
/* Batches                                                             */

static void collect(struct mnl_nlmsg_batch *b)
{
	int len = (int)mnl_nlmsg_batch_size(b);
	const struct nlmsghdr *nlh = mnl_nlmsg_batch_head(b);

	nmsgs = 0;
	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		ck_assert_int_lt(nmsgs, MAXMSG);
		msgs[nmsgs++] = nlh;
	}
}

static int build_ruleset(const struct mh_ruleset_params *p)
{
	struct mnl_nlmsg_batch *b;
	uint32_t seq = 1;
	int err;

	memset(buf, 0, sizeof(buf));
	b = mnl_nlmsg_batch_start(buf, LIMIT);
	ck_assert_ptr_nonnull(b);
	mh_nft_batch_begin(b, &seq);
	err = mh_nft_build_gw_ruleset(b, &seq, p);
	mh_nft_batch_end(b, &seq);
	collect(b);
	mnl_nlmsg_batch_stop(b);
	return err;
}

static int build_elem(enum mh_gw_kind kind, enum mh_nft_op op,
		      const struct mh_addr *c, const struct mh_addr *s,
		      uint32_t timeout_ms)
{
	struct mnl_nlmsg_batch *b;
	uint32_t seq = 1;
	int err;

	memset(buf, 0, sizeof(buf));
	b = mnl_nlmsg_batch_start(buf, LIMIT);
	mh_nft_batch_begin(b, &seq);
	err = mh_nft_build_gw_elem(b, &seq, "mosh_helper_gw", kind, op, c, s,
				   timeout_ms);
	mh_nft_batch_end(b, &seq);
	collect(b);
	mnl_nlmsg_batch_stop(b);
	return err;
}

static uint16_t type_of(int i)
{
	return msgs[i]->nlmsg_type;
}

/* The rules of one chain, in order. */
struct prule {
	struct nftnl_rule *r;
	struct nftnl_expr *e[32];
	int n;
	char names[320];
};

static int chain_rules(const char *chain, struct prule *out, int max)
{
	int k = 0;

	for (int i = 0; i < nmsgs; i++) {
		struct nftnl_rule *r;
		struct nftnl_expr_iter *it;
		struct nftnl_expr *e;

		if (type_of(i) != T(NFT_MSG_NEWRULE))
			continue;
		r = nftnl_rule_alloc();
		ck_assert_int_eq(nftnl_rule_nlmsg_parse(msgs[i], r), 0);
		if (strcmp(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), chain)) {
			nftnl_rule_free(r);
			continue;
		}
		ck_assert_int_lt(k, max);
		memset(&out[k], 0, sizeof(out[k]));
		out[k].r = r;
		it = nftnl_expr_iter_create(r);
		while ((e = nftnl_expr_iter_next(it))) {
			ck_assert_int_lt(out[k].n, 32);
			out[k].e[out[k].n++] = e;
			if (out[k].names[0])
				strcat(out[k].names, " ");
			strcat(out[k].names, nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
		}
		nftnl_expr_iter_destroy(it);
		k++;
	}
	return k;
}

static void free_rules(struct prule *r, int n)
{
	for (int i = 0; i < n; i++)
		nftnl_rule_free(r[i].r);
}

/* The last NEWSET of that name in the batch (NULL if none). */
static struct nftnl_set *last_set(const char *name)
{
	struct nftnl_set *found = NULL;

	for (int i = 0; i < nmsgs; i++) {
		struct nftnl_set *s;

		if (type_of(i) != T(NFT_MSG_NEWSET))
			continue;
		s = nftnl_set_alloc();
		ck_assert_int_eq(nftnl_set_nlmsg_parse(msgs[i], s), 0);
		if (strcmp(nftnl_set_get_str(s, NFTNL_SET_NAME), name)) {
			nftnl_set_free(s);
			continue;
		}
		if (found)
			nftnl_set_free(found);
		found = s;
	}
	return found;
}

static int count_type(uint16_t type, const char *set)
{
	int n = 0;

	for (int i = 0; i < nmsgs; i++) {
		struct nftnl_set *s;

		if (type_of(i) != T(type))
			continue;
		s = nftnl_set_alloc();
		nftnl_set_nlmsg_parse(msgs[i], s);
		n += !set || !strcmp(nftnl_set_get_str(s, NFTNL_SET_NAME), set);
		nftnl_set_free(s);
	}
	return n;
}

static void assert_payload(struct nftnl_expr *e, uint32_t base, uint32_t off,
			   uint32_t len, uint32_t dreg)
{
	ck_assert_str_eq(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "payload");
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE), base);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET), off);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN), len);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_DREG), dreg);
}

static void assert_drop_last(struct prule *r, int n)
{
	struct nftnl_expr *v = r[n - 1].e[r[n - 1].n - 1];

	ck_assert_str_eq(r[n - 1].names, "counter immediate");
	ck_assert_int_eq((int)nftnl_expr_get_u32(v, NFTNL_EXPR_IMM_VERDICT), NF_DROP);
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */

START_TEST(key_bytes_v4)
{
	struct mh_addr c = addr("198.18.3.2", 51004), s = addr("198.18.0.2", 60001);
	static const uint8_t ph[] = { 198, 18, 3, 2, 0xc7, 0x3c, 0, 0,
				      198, 18, 0, 2, 0xea, 0x61, 0, 0 };
	uint8_t key[MH_GW_KEY_MAX];

	ck_assert_uint_eq(mh_nft_gw_key(MH_GW_PINHOLE, &c, &s, key), sizeof(ph));
	ck_assert_mem_eq(key, ph, sizeof(ph));
	ck_assert_uint_eq(mh_nft_gw_key(MH_GW_SESSION, NULL, &s, key), 8);
	ck_assert_mem_eq(key, ph + 8, 8);
}
END_TEST

START_TEST(key_round_trip)
{
	const char *cs[] = { "198.18.3.2", "fd00:3::2" }, *ss[] = { "198.18.0.2", "fd00::2" };
	static const size_t plen[] = { MH_GW_PH_KEY4_LEN, MH_GW_PH_KEY6_LEN };
	static const size_t slen[] = { MH_GW_SESS_KEY4_LEN, MH_GW_SESS_KEY6_LEN };

	for (int f = 0; f < 2; f++) {
		struct mh_addr c = addr(cs[f], 41000), s = addr(ss[f], 60999), c2, s2;
		uint8_t key[MH_GW_KEY_MAX];
		size_t n = mh_nft_gw_key(MH_GW_PINHOLE, &c, &s, key);

		ck_assert_uint_eq(n, plen[f]);
		ck_assert_int_eq(mh_nft_gw_from_key(MH_GW_PINHOLE, key, n, &c2, &s2), 0);
		ck_assert(mh_addr_equal(&c, &c2) && mh_addr_equal(&s, &s2));
		n = mh_nft_gw_key(MH_GW_SESSION, &c, &s, key);   /* client ignored */
		ck_assert_uint_eq(n, slen[f]);
		ck_assert_int_eq(mh_nft_gw_from_key(MH_GW_SESSION, key, n, &c2, &s2), 0);
		ck_assert(mh_addr_equal(&s, &s2));
		ck_assert_int_eq(c2.family, 0);
	}
}
END_TEST

START_TEST(key_refusals)
{
	struct mh_addr c4 = addr("198.18.3.2", 1), s6 = addr("fd00::2", 60001);
	struct mh_addr bad = { .family = AF_UNIX, .port = 1 }, c, s;
	uint8_t key[MH_GW_KEY_MAX] = { 0 };

	ck_assert_uint_eq(mh_nft_gw_key(MH_GW_PINHOLE, &c4, &s6, key), 0);
	ck_assert_uint_eq(mh_nft_gw_key(MH_GW_PINHOLE, NULL, &s6, key), 0);
	ck_assert_uint_eq(mh_nft_gw_key(MH_GW_SESSION, NULL, &bad, key), 0);
	ck_assert_ptr_null(mh_nft_gw_set(MH_GW_PINHOLE, AF_UNIX));
	/* a session key is no pinhole key and the other way round */
	ck_assert_int_eq(mh_nft_gw_from_key(MH_GW_PINHOLE, key, 8, &c, &s), -EINVAL);
	ck_assert_int_eq(mh_nft_gw_from_key(MH_GW_SESSION, key, 16, &c, &s), -EINVAL);
	ck_assert_int_eq(mh_nft_gw_from_key(MH_GW_SESSION, key, 12, &c, &s), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Ruleset                                                             */

START_TEST(table_chains_sets)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_set *s;
	int base = 0;

	ck_assert_int_eq(build_ruleset(&gw_defaults), 0);
	ck_assert_uint_eq(type_of(1), T(NFT_MSG_NEWTABLE));
	ck_assert_int_eq(nftnl_table_nlmsg_parse(msgs[1], t), 0);
	ck_assert_str_eq(nftnl_table_get_str(t, NFTNL_TABLE_NAME), "mosh_helper_gw");
	nftnl_table_free(t);
	for (int i = 0; i < nmsgs; i++) {
		struct nftnl_chain *c;

		if (type_of(i) != T(NFT_MSG_NEWCHAIN))
			continue;
		c = nftnl_chain_alloc();
		ck_assert_int_eq(nftnl_chain_nlmsg_parse(msgs[i], c), 0);
		if (nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM)) {
			base++;
			ck_assert_str_eq(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), "forward");
			ck_assert_uint_eq(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), NF_INET_FORWARD);
			ck_assert_int_eq(nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO), -10);
			ck_assert_uint_eq(nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY), NF_ACCEPT);
		}
		nftnl_chain_free(c);
	}
	ck_assert_int_eq(base, 1);
	{
		static const struct { const char *n; uint32_t len; bool dyn; } want[] = {
			{ "sessions4", 8, false }, { "sessions6", 20, false },
			{ "pinholes4", 16, true }, { "pinholes6", 40, true },
		};

		for (size_t i = 0; i < 4; i++) {
			s = last_set(want[i].n);
			ck_assert_ptr_nonnull(s);
			ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), want[i].len);
			ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_FLAGS),
					  want[i].dyn ? NFT_SET_TIMEOUT | NFT_SET_EVAL : 0);
			if (want[i].dyn) {
				ck_assert_uint_eq(nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT), 60000);
				ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE), 65535);
			}
			nftnl_set_free(s);
		}
	}
	/* a plain load empties the sessions and re-creates the pinhole sets */
	ck_assert_int_eq(count_type(NFT_MSG_DELSETELEM, "sessions4"), 1);
	ck_assert_int_eq(count_type(NFT_MSG_DELSET, "pinholes6"), 1);
}
END_TEST

/* Inbound: client = source, server = destination, in consecutive 32-bit
 * registers from reg 1, refreshed and marked; outbound the other way
 * round, not refreshed. */
START_TEST(pinhole_rules_registers)
{
	struct prule in[8], out[8];
	int nin, nout;

	ck_assert_int_eq(build_ruleset(&gw_defaults), 0);
	nin = chain_rules("gw_in", in, 8);
	nout = chain_rules("gw_out", out, 8);
	ck_assert_int_eq(nin, 6);
	ck_assert_int_eq(nout, 5);
	ck_assert_str_eq(in[0].names, "meta cmp meta cmp payload payload payload payload "
			 "lookup dynset meta bitwise meta immediate");
	assert_payload(in[0].e[4], NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG32_00);
	assert_payload(in[0].e[5], NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG32_01);
	assert_payload(in[0].e[6], NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG32_02);
	assert_payload(in[0].e[7], NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_03);
	ck_assert_str_eq(nftnl_expr_get_str(in[0].e[8], NFTNL_EXPR_LOOKUP_SET), "pinholes4");
	assert_payload(in[1].e[4], NFT_PAYLOAD_NETWORK_HEADER, 8, 16, NFT_REG32_00);
	assert_payload(in[1].e[5], NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG32_04);
	assert_payload(in[1].e[6], NFT_PAYLOAD_NETWORK_HEADER, 24, 16, NFT_REG32_05);
	assert_payload(in[1].e[7], NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_09);
	ck_assert_str_eq(nftnl_expr_get_str(in[1].e[8], NFTNL_EXPR_LOOKUP_SET), "pinholes6");
	ck_assert_str_eq(out[0].names, "meta cmp meta cmp payload payload payload payload "
			 "lookup meta bitwise meta immediate");
	assert_payload(out[0].e[4], NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG32_00);
	assert_payload(out[0].e[5], NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
	assert_payload(out[0].e[6], NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG32_02);
	assert_payload(out[0].e[7], NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG32_03);
	assert_payload(out[1].e[6], NFT_PAYLOAD_NETWORK_HEADER, 8, 16, NFT_REG32_05);
	/* sessions: server address . port (destination in, source out) */
	ck_assert_str_eq(in[2].names, "meta cmp meta cmp payload payload lookup immediate");
	assert_payload(in[2].e[4], NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG32_00);
	assert_payload(in[2].e[5], NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
	ck_assert_int_eq((int)nftnl_expr_get_u32(in[2].e[7], NFTNL_EXPR_IMM_VERDICT), NFT_GOTO);
	ck_assert_str_eq(nftnl_expr_get_str(in[2].e[7], NFTNL_EXPR_IMM_CHAIN), "gw_slow_in");
	assert_payload(out[3].e[4], NFT_PAYLOAD_NETWORK_HEADER, 8, 16, NFT_REG32_00);
	assert_payload(out[3].e[5], NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG32_04);
	ck_assert_str_eq(nftnl_expr_get_str(out[3].e[7], NFTNL_EXPR_IMM_CHAIN), "gw_slow_out");
	/* a datagram from a range port too goes on to gw_out (a reply to a
	 * client whose own port is in the range) */
	ck_assert_str_eq(in[4].names, "meta cmp payload range immediate");
	assert_payload(in[4].e[2], NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG_1);
	ck_assert_int_eq((int)nftnl_expr_get_u32(in[4].e[4], NFTNL_EXPR_IMM_VERDICT), NFT_GOTO);
	ck_assert_str_eq(nftnl_expr_get_str(in[4].e[4], NFTNL_EXPR_IMM_CHAIN), "gw_out");
	assert_drop_last(in, nin);
	assert_drop_last(out, nout);
	free_rules(in, nin);
	free_rules(out, nout);
}
END_TEST

/* The slow chains: per-source budgets inbound only, then a limited,
 * marked queue (compat target or native expression), then a drop. */
START_TEST(slow_chains_both_flavours)
{
	struct mh_ruleset_params p = gw_defaults;
	struct prule in[8], out[8];
	int nin, nout;

	for (int native = 0; native < 2; native++) {
		const char *q = native ? "queue" : "target";
		char want[64];

		p.native_queue = native;
		ck_assert_int_eq(build_ruleset(&p), 0);
		nin = chain_rules("gw_slow_in", in, 8);
		nout = chain_rules("gw_slow_out", out, 8);
		ck_assert_int_eq(nin, 4);
		ck_assert_int_eq(nout, 2);
		ck_assert_ptr_nonnull(strstr(in[0].names, "dynset"));
		snprintf(want, sizeof(want), "limit meta bitwise meta %s", q);
		ck_assert_str_eq(in[2].names, want);
		ck_assert_str_eq(out[0].names, want);
		ck_assert_uint_eq(nftnl_expr_get_u64(in[2].e[0], NFTNL_EXPR_LIMIT_RATE), 20000);
		assert_drop_last(in, nin);
		assert_drop_last(out, nout);
		free_rules(in, nin);
		free_rules(out, nout);
	}
}
END_TEST

/* reverse_path (every gateway daemon's table): gw_slow_out first drops what fib saddr . iif
 * finds no route back for (oif 0), before the queue; gw_slow_in and a
 * keyed table are unchanged. */
START_TEST(reverse_path_rule)
{
	struct mh_ruleset_params p = gw_defaults;
	struct prule in[8], out[8];
	int nin, nout;
	uint32_t flags, len;
	const uint32_t *zero;

	p.reverse_path = true;
	ck_assert_int_eq(build_ruleset(&p), 0);
	nin = chain_rules("gw_slow_in", in, 8);
	nout = chain_rules("gw_slow_out", out, 8);
	ck_assert_int_eq(nin, 4);
	ck_assert_int_eq(nout, 3);
	ck_assert_str_eq(out[0].names, "fib cmp counter immediate");
	flags = nftnl_expr_get_u32(out[0].e[0], NFTNL_EXPR_FIB_FLAGS);
	ck_assert_uint_eq(flags, NFTA_FIB_F_SADDR | NFTA_FIB_F_IIF);
	ck_assert_uint_eq(nftnl_expr_get_u32(out[0].e[0], NFTNL_EXPR_FIB_RESULT),
			  NFT_FIB_RESULT_OIF);
	ck_assert_uint_eq(nftnl_expr_get_u32(out[0].e[1], NFTNL_EXPR_CMP_OP), NFT_CMP_EQ);
	zero = nftnl_expr_get(out[0].e[1], NFTNL_EXPR_CMP_DATA, &len);
	ck_assert_uint_eq(len, 4);
	ck_assert_uint_eq(*zero, 0);
	ck_assert_int_eq(nftnl_expr_get_u32(out[0].e[3], NFTNL_EXPR_IMM_VERDICT), NF_DROP);
	ck_assert_ptr_nonnull(strstr(out[1].names, "target"));
	assert_drop_last(out, nout);
	free_rules(in, nin);
	free_rules(out, nout);
}
END_TEST

/* Per-session budgets (gwslow.c), keyed server address . port: in each
 * slow chain, before the shared queue rule, one rule per family that
 * queues a datagram within its session's budget from a reserved half of
 * the global rate; the shared rule has the other half. Off: the rules are
 * absent, the queue has the whole rate, the sets are removed. */
static void assert_gwslow_rule(struct prule *r, const char *set, uint32_t addr_off,
			       uint32_t alen, uint32_t port_off, const char *q)
{
	char want[96];

	snprintf(want, sizeof(want), "meta cmp meta cmp payload payload dynset limit meta bitwise meta %s", q);
	ck_assert_str_eq(r->names, want);
	assert_payload(r->e[4], NFT_PAYLOAD_NETWORK_HEADER, addr_off, alen, NFT_REG32_00);
	assert_payload(r->e[5], NFT_PAYLOAD_TRANSPORT_HEADER, port_off, 2,
		       NFT_REG32_00 + alen / 4);
	ck_assert_str_eq(nftnl_expr_get_str(r->e[6], NFTNL_EXPR_DYNSET_SET_NAME), set);
	ck_assert_uint_eq(nftnl_expr_get_u32(r->e[6], NFTNL_EXPR_DYNSET_SREG_KEY), NFT_REG_1);
	ck_assert_uint_eq(nftnl_expr_get_u64(r->e[7], NFTNL_EXPR_LIMIT_RATE), 10000);
}

START_TEST(per_session_budgets)
{
	static const char *sets[] = { "gwslow_in4", "gwslow_in6", "gwslow_out4", "gwslow_out6" };
	struct mh_ruleset_params p = gw_defaults;
	struct prule in[8], out[8];
	int nin, nout;

	p.per_session_rate = 10;
	ck_assert_int_eq(build_ruleset(&p), 0);
	for (int i = 0; i < 4; i++) {
		struct nftnl_set *s = last_set(sets[i]);

		ck_assert_ptr_nonnull(s);
		ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), i % 2 ? 20 : 8);
		ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_FLAGS),
				  NFT_SET_TIMEOUT | NFT_SET_EVAL);
		ck_assert_uint_eq(nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT), 2000);
		nftnl_set_free(s);
		ck_assert_int_eq(count_type(NFT_MSG_DELSETELEM, sets[i]), 1);   /* a load empties it */
		ck_assert_int_eq(count_type(NFT_MSG_DELSET, sets[i]), 0);
	}
	nin = chain_rules("gw_slow_in", in, 8);
	nout = chain_rules("gw_slow_out", out, 8);
	ck_assert_int_eq(nin, 6);
	ck_assert_int_eq(nout, 4);
	ck_assert_ptr_nonnull(strstr(in[0].names, "dynset"));   /* per source first */
	assert_gwslow_rule(&in[2], "gwslow_in4", 16, 4, 2, "target");
	assert_gwslow_rule(&in[3], "gwslow_in6", 24, 16, 2, "target");
	assert_gwslow_rule(&out[0], "gwslow_out4", 12, 4, 0, "target");
	assert_gwslow_rule(&out[1], "gwslow_out6", 8, 16, 0, "target");
	ck_assert_str_eq(in[4].names, "limit meta bitwise meta target");
	ck_assert_uint_eq(nftnl_expr_get_u64(in[4].e[0], NFTNL_EXPR_LIMIT_RATE), 10000);
	ck_assert_uint_eq(nftnl_expr_get_u64(out[2].e[0], NFTNL_EXPR_LIMIT_RATE), 10000);
	assert_drop_last(in, nin);
	assert_drop_last(out, nout);
	free_rules(in, nin);
	free_rules(out, nout);
	/* off: no such rule, the whole rate shared, the sets removed */
	p.per_session_rate = 0;
	ck_assert_int_eq(build_ruleset(&p), 0);
	nin = chain_rules("gw_slow_in", in, 8);
	ck_assert_int_eq(nin, 4);
	ck_assert_uint_eq(nftnl_expr_get_u64(in[2].e[0], NFTNL_EXPR_LIMIT_RATE), 20000);
	free_rules(in, nin);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(count_type(NFT_MSG_DELSET, sets[i]), 1);
}
END_TEST

/* Silent: no reject anywhere; without an accept mark no mark statement. */
START_TEST(no_reject_no_mark_when_off)
{
	struct mh_ruleset_params p = gw_defaults;
	static const char *chains[] = { "forward", "gw_in", "gw_slow_in", "gw_out", "gw_slow_out" };
	struct prule r[8];

	p.accept_mark = 0;
	p.per_source_rate = 0;
	ck_assert_int_eq(build_ruleset(&p), 0);
	for (size_t c = 0; c < 5; c++) {
		int n = chain_rules(chains[c], r, 8);

		ck_assert_int_gt(n, 0);
		for (int i = 0; i < n; i++) {
			ck_assert_ptr_null(strstr(r[i].names, "reject"));
			ck_assert_ptr_null(strstr(r[i].names, "bitwise"));
		}
		free_rules(r, n);
	}
	/* budgets off: their sets are named and removed at the end */
	ck_assert_int_eq(count_type(NFT_MSG_DELSET, "slowsrc4"), 1);
}
END_TEST

START_TEST(adopt_keeps_elements)
{
	struct mh_ruleset_params p = gw_defaults;

	p.adopt = true;
	ck_assert_int_eq(build_ruleset(&p), 0);
	ck_assert_int_eq(count_type(NFT_MSG_DELSETELEM, "sessions4"), 0);
	ck_assert_int_eq(count_type(NFT_MSG_DELSETELEM, "sessions6"), 0);
	ck_assert_int_eq(count_type(NFT_MSG_DELSET, "pinholes4"), 0);
	ck_assert_int_eq(count_type(NFT_MSG_DELSET, "pinholes6"), 0);
}
END_TEST

START_TEST(refused_params)
{
	struct mh_ruleset_params p;

	p = gw_defaults; p.public_port = 60000;   /* without a provisional timeout */
	ck_assert_int_eq(build_ruleset(&p), -EINVAL);
	p = gw_defaults; p.local_flows = true;
	ck_assert_int_eq(build_ruleset(&p), -EINVAL);
	p = gw_defaults; p.port_low = 61001;
	ck_assert_int_eq(build_ruleset(&p), -EINVAL);
	p = gw_defaults; p.table_flags = MH_TABLE_F_OWNER;   /* never alone */
	ck_assert_int_eq(build_ruleset(&p), -EINVAL);
	p = gw_defaults; p.table_flags = MH_TABLE_F_OWNED;
	ck_assert_int_eq(build_ruleset(&p), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Elements                                                            */

/* libnftnl 1.2.4 parses only element nests numbered NFTA_LIST_ELEM; the
 * builder numbers them 1, 2, ... (the kernel ignores the number). */
static struct nftnl_set *parse_elems(int i)
{
	static char copy[LIMIT];
	struct nlmsghdr *c = (struct nlmsghdr *)copy;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlattr *a, *e;

	memcpy(c, msgs[i], msgs[i]->nlmsg_len);
	mnl_attr_for_each(a, c, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(e, a)
			e->nla_type = (uint16_t)((e->nla_type & ~NLA_TYPE_MASK) | NFTA_LIST_ELEM);
	}
	ck_assert_int_eq(nftnl_set_elems_nlmsg_parse(c, s), 0);
	return s;
}

static int first_elem(struct nftnl_set_elem *e, void *data)
{
	*(struct nftnl_set_elem **)data = e;
	return 1;   /* stop */
}

START_TEST(elem_pinhole_v6)
{
	struct mh_addr c = addr("fd00:3::2", 41000), s = addr("fd00::2", 60001);
	uint8_t want[MH_GW_KEY_MAX];
	struct nftnl_set_elem *e = NULL;
	struct nftnl_set *set;
	uint32_t len = 0;
	const void *key;

	ck_assert_int_eq(build_elem(MH_GW_PINHOLE, MH_NFT_ADD, &c, &s, 5000), 0);
	ck_assert_int_eq(nmsgs, 3);
	ck_assert_uint_eq(type_of(1), T(NFT_MSG_NEWSETELEM));
	set = parse_elems(1);
	ck_assert_str_eq(nftnl_set_get_str(set, NFTNL_SET_NAME), "pinholes6");
	ck_assert_str_eq(nftnl_set_get_str(set, NFTNL_SET_TABLE), "mosh_helper_gw");
	nftnl_set_elem_foreach(set, first_elem, &e);
	ck_assert_ptr_nonnull(e);
	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	ck_assert_uint_eq(len, mh_nft_gw_key(MH_GW_PINHOLE, &c, &s, want));
	ck_assert_mem_eq(key, want, len);
	ck_assert_uint_eq(nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT), 5000);
	nftnl_set_free(set);

	ck_assert_int_eq(build_elem(MH_GW_PINHOLE, MH_NFT_DEL, &c, &s, 5000), 0);
	ck_assert_uint_eq(type_of(1), T(NFT_MSG_DELSETELEM));
	set = parse_elems(1);
	e = NULL;
	nftnl_set_elem_foreach(set, first_elem, &e);
	ck_assert(!nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT));
	nftnl_set_free(set);
}
END_TEST

START_TEST(elem_session_v4)
{
	struct mh_addr s = addr("198.18.4.2", 60002);
	struct nftnl_set_elem *e = NULL;
	struct nftnl_set *set;
	uint32_t len = 0;

	ck_assert_int_eq(build_elem(MH_GW_SESSION, MH_NFT_ADD, NULL, &s, 7000), 0);
	set = parse_elems(1);
	ck_assert_str_eq(nftnl_set_get_str(set, NFTNL_SET_NAME), "sessions4");
	nftnl_set_elem_foreach(set, first_elem, &e);
	nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	ck_assert_uint_eq(len, MH_GW_SESS_KEY4_LEN);
	ck_assert(!nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT));  /* none */
	nftnl_set_free(set);
}
END_TEST

/* With pinhole_seen (nft.h): gw_in's pinhole rules look the 4-tuple up
 * and note it in seen4/6, gw_out's only look it up: nothing in the packet
 * path adds a pinhole. The seen sets are keyed as the pinholes. */
START_TEST(seen_no_refresh)
{
	struct mh_ruleset_params p = gw_defaults;
	struct prule in[8], out[8];
	struct nftnl_set *s;
	int nin, nout;

	p.pinhole_seen = true;
	ck_assert_int_eq(build_ruleset(&p), 0);
	nin = chain_rules("gw_in", in, 8);
	nout = chain_rules("gw_out", out, 8);
	for (int i = 0; i < 2; i++) {
		ck_assert_str_eq(in[i].names, "meta cmp meta cmp payload payload payload "
				 "payload lookup dynset meta bitwise meta immediate");
		ck_assert_str_eq(nftnl_expr_get_str(in[i].e[9], NFTNL_EXPR_DYNSET_SET_NAME),
				 i ? "seen6" : "seen4");
		ck_assert_str_eq(out[i].names, "meta cmp meta cmp payload payload payload "
				 "payload lookup meta bitwise meta immediate");
	}
	free_rules(in, nin);
	free_rules(out, nout);
	s = last_set("seen4");
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), MH_GW_PH_KEY4_LEN);
	ck_assert_uint_eq(nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT),
			  mh_nft_seen_timeout(p.idle_timeout_ms));
	nftnl_set_free(s);
	s = last_set("seen6");
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), MH_GW_PH_KEY6_LEN);
	nftnl_set_free(s);
	ck_assert_int_eq(count_type(NFT_MSG_DELSET, "seen4"), 1);
	/* without: the refresh of the pinhole itself, seen4/6 deleted */
	ck_assert_int_eq(build_ruleset(&gw_defaults), 0);
	nin = chain_rules("gw_in", in, 8);
	ck_assert_str_eq(nftnl_expr_get_str(in[0].e[9], NFTNL_EXPR_DYNSET_SET_NAME),
			 "pinholes4");
	free_rules(in, nin);
	ck_assert_int_eq(count_type(NFT_MSG_DELSET, "seen6"), 1);
	ck_assert_int_eq(count_type(NFT_MSG_NEWSET, "seen6"), 1);   /* made to exist */
	/* seen keys name the pinholes' sets' twins */
	ck_assert_str_eq(mh_nft_gw_set(MH_GW_SEEN, AF_INET6), "seen6");
}
END_TEST

static int build_rearm(const struct mh_addr *c, const struct mh_addr *s,
		       uint32_t timeout_ms, uint32_t left_ms)
{
	struct mnl_nlmsg_batch *b;
	uint32_t seq = 1;
	int err;

	memset(buf, 0, sizeof(buf));
	b = mnl_nlmsg_batch_start(buf, LIMIT);
	mh_nft_batch_begin(b, &seq);
	err = mh_nft_build_gw_rearm(b, &seq, "mosh_helper_gw", c, s, timeout_ms,
				    left_ms);
	mh_nft_batch_end(b, &seq);
	collect(b);
	mnl_nlmsg_batch_stop(b);
	return err;
}

/* A re-arm: a NEWSETELEM that creates, never exclusively (the element is
 * there), with the timeout and the time left it is given; refused with no
 * time left or more than the timeout. seen4/6 take no element from the
 * daemon, and an expiry in place is no gateway operation. */
START_TEST(elem_rearm)
{
	struct mh_addr c = addr("198.18.3.2", 41000), s = addr("198.18.0.2", 60001);
	struct nftnl_set_elem *e = NULL;
	struct nftnl_set *set;

	ck_assert_int_eq(build_rearm(&c, &s, 8000, 6500), 0);
	ck_assert_uint_eq(type_of(1), T(NFT_MSG_NEWSETELEM));
	ck_assert(msgs[1]->nlmsg_flags & NLM_F_CREATE);
	ck_assert(!(msgs[1]->nlmsg_flags & NLM_F_EXCL));
	set = parse_elems(1);
	ck_assert_str_eq(nftnl_set_get_str(set, NFTNL_SET_NAME), "pinholes4");
	nftnl_set_elem_foreach(set, first_elem, &e);
	ck_assert_uint_eq(nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT), 8000);
	ck_assert_uint_eq(nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION), 6500);
	nftnl_set_free(set);
	/* a plain add leaves the time left to the kernel */
	ck_assert_int_eq(build_elem(MH_GW_PINHOLE, MH_NFT_ADD, &c, &s, 8000), 0);
	set = parse_elems(1);
	e = NULL;
	nftnl_set_elem_foreach(set, first_elem, &e);
	ck_assert(!nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION));
	nftnl_set_free(set);
	ck_assert_int_eq(build_rearm(&c, &s, 8000, 0), -EINVAL);
	ck_assert_int_eq(build_rearm(&c, &s, 8000, 8001), -EINVAL);
	ck_assert_int_eq(build_elem(MH_GW_SEEN, MH_NFT_ADD, &c, &s, 8000), -EINVAL);
	/* a deleted pinhole's key leaves seen4 too: a destroy, the same key */
	{
		struct mnl_nlmsg_batch *b;
		uint32_t seq = 1;
		uint8_t want[MH_GW_KEY_MAX];
		uint32_t len = 0;
		const void *key;

		memset(buf, 0, sizeof(buf));
		b = mnl_nlmsg_batch_start(buf, LIMIT);
		mh_nft_batch_begin(b, &seq);
		ck_assert_int_eq(mh_nft_build_gw_seen_destroy(b, &seq, "mosh_helper_gw",
							      &c, &s), 0);
		mh_nft_batch_end(b, &seq);
		collect(b);
		mnl_nlmsg_batch_stop(b);
		ck_assert_uint_eq(type_of(1), T(30));   /* NFT_MSG_DESTROYSETELEM */
		set = parse_elems(1);
		ck_assert_str_eq(nftnl_set_get_str(set, NFTNL_SET_NAME), "seen4");
		e = NULL;
		nftnl_set_elem_foreach(set, first_elem, &e);
		key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
		ck_assert_uint_eq(len, mh_nft_gw_key(MH_GW_PINHOLE, &c, &s, want));
		ck_assert_mem_eq(key, want, len);
		nftnl_set_free(set);
	}
	ck_assert_int_eq(build_elem(MH_GW_PINHOLE, MH_NFT_EXPIRE, &c, &s, 8000), -EINVAL);
}
END_TEST

START_TEST(elem_refusals)
{
	struct mh_addr c4 = addr("198.18.3.2", 41000), s6 = addr("fd00::2", 60001);
	struct mh_addr s4 = addr("198.18.0.2", 60001), s0 = addr("198.18.0.2", 0);
	struct mh_addr c0 = addr("198.18.3.2", 0);

	ck_assert_int_eq(build_elem(MH_GW_PINHOLE, MH_NFT_ADD, NULL, &s4, 0), -EINVAL);
	ck_assert_int_eq(build_elem(MH_GW_PINHOLE, MH_NFT_ADD, &c4, &s6, 0), -EINVAL);
	ck_assert_int_eq(build_elem(MH_GW_PINHOLE, MH_NFT_ADD, &c0, &s4, 0), -EINVAL);
	ck_assert_int_eq(build_elem(MH_GW_SESSION, MH_NFT_ADD, NULL, &s0, 0), -EINVAL);
	ck_assert_int_eq(build_elem(MH_GW_SESSION, MH_NFT_ADD, NULL, NULL, 0), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Single-port mode (nft/gwmux.c)                                      */

static const struct mh_ruleset_params *single_port(void)
{
	static struct mh_ruleset_params p;

	p = gw_defaults;
	p.public_port = 60000;
	p.provisional_timeout_ms = 10000;
	return &p;
}

static int count_msgs(uint16_t type)
{
	int n = 0;

	for (int i = 0; i < nmsgs; i++)
		n += type_of(i) == T(type);
	return n;
}

START_TEST(gwmux_key_bytes)
{
	struct mh_addr c = addr("198.18.3.2", 41000), s = addr("198.18.0.2", 60001);
	struct mh_addr c6 = addr("fd00:3::2", 41001), s6 = addr("fd00::2", 60002);
	const uint8_t want[12] = { 198, 18, 3, 2, 0xa0, 0x28, 0, 0, 198, 18, 0, 2 };
	uint8_t key[MH_GW_MUX_KEY_MAX], data[2] = { 0xea, 0x62 };
	struct mh_addr rc, rs;

	ck_assert_uint_eq(mh_nft_gw_mux_key(&c, &s, key), MH_GW_MUX_KEY4_LEN);
	ck_assert_mem_eq(key, want, sizeof(want));
	ck_assert_int_eq(mh_nft_gw_mux_from_elem(key, 12, data, 2, &rc, &rs), 0);
	ck_assert(mh_addr_equal(&rc, &c));
	ck_assert_uint_eq(rs.port, 60002);
	ck_assert_uint_eq(mh_nft_gw_mux_key(&c6, &s6, key), MH_GW_MUX_KEY6_LEN);
	ck_assert_int_eq(mh_nft_gw_mux_from_elem(key, 36, data, 2, &rc, &rs), 0);
	ck_assert(mh_addr_equal(&rc, &c6));
	rs.port = s6.port;
	ck_assert(mh_addr_equal(&rs, &s6));
	ck_assert_uint_eq(mh_nft_gw_mux_key(&c, &s6, key), 0);   /* mixed */
	ck_assert_int_eq(mh_nft_gw_mux_from_elem(key, 20, data, 2, &rc, &rs), -EINVAL);
	ck_assert_int_eq(mh_nft_gw_mux_from_elem(key, 12, data, 4, &rc, &rs), -EINVAL);
}
END_TEST

/* The maps, the chains and their rules; the guard heads gw_in; the NAT
 * rules load client . port . server (v6: registers 0-8) and take the port
 * from a register clear of it. */
START_TEST(gwmux_ruleset)
{
	struct prule r[16];
	struct nftnl_set *m;
	int n;

	ck_assert_int_eq(build_ruleset(single_port()), 0);
	m = last_set("gwmux6");
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(nftnl_set_get_u32(m, NFTNL_SET_KEY_LEN), MH_GW_MUX_KEY6_LEN);
	ck_assert_uint_eq(nftnl_set_get_u32(m, NFTNL_SET_DATA_LEN), 2);
	ck_assert_uint_eq(nftnl_set_get_u64(m, NFTNL_SET_TIMEOUT), 60000);
	nftnl_set_free(m);
	m = last_set("gwmuxp4");
	ck_assert_uint_eq(nftnl_set_get_u64(m, NFTNL_SET_TIMEOUT), 10000);
	nftnl_set_free(m);
	n = chain_rules("gw_mux_pre", r, 16);
	ck_assert_int_eq(n, 1);
	free_rules(r, n);
	n = chain_rules("gw_mux_in", r, 16);
	ck_assert_int_eq(n, 10);   /* 4 mappings, short, header, 2 budgets, queue, drop */
	assert_drop_last(r, n);
	free_rules(r, n);
	n = chain_rules("gw_mux_nat", r, 16);
	ck_assert_int_eq(n, 4);
	ck_assert(strstr(r[2].names, "lookup nat") != NULL);
	assert_payload(r[2].e[r[2].n - 3], NFT_PAYLOAD_NETWORK_HEADER, 24, 16,
		       NFT_REG32_05);   /* v6 server address: registers 5-8 */
	ck_assert_uint_eq(nftnl_expr_get_u32(r[2].e[r[2].n - 1],
					     NFTNL_EXPR_NAT_REG_PROTO_MIN), NFT_REG32_12);
	free_rules(r, n);
	n = chain_rules("gw_in", r, 16);
	ck_assert(strncmp(r[0].names, "ct bitwise cmp counter", 22) == 0);
	ck_assert(strncmp(r[1].names, "ct cmp meta cmp ct cmp", 22) == 0);
	free_rules(r, n);
	ck_assert_int_eq(count_msgs(NFT_MSG_DELCHAIN), 0);
}
END_TEST

/* Off: whatever an earlier load left is named and deleted. */
START_TEST(gwmux_off_cleans_up)
{
	struct prule r[16];
	int n;

	ck_assert_int_eq(build_ruleset(&gw_defaults), 0);
	ck_assert_int_eq(count_msgs(NFT_MSG_DELCHAIN), 3);
	ck_assert_int_eq(count_type(NFT_MSG_DELSET, "gwmux4"), 1);
	ck_assert_int_eq(count_type(NFT_MSG_DELSET, "gwmuxp6"), 1);
	n = chain_rules("gw_in", r, 16);
	ck_assert(strncmp(r[0].names, "ct ", 3) != 0);
	free_rules(r, n);
}
END_TEST

START_TEST(gwmux_elem)
{
	struct mh_addr c = addr("198.18.3.2", 41000), s = addr("198.18.0.2", 60001);
	struct nftnl_set_elem *e = NULL;
	struct mnl_nlmsg_batch *b;
	struct nftnl_set *set;
	uint32_t seq = 1, len = 0;
	const uint8_t *data;

	memset(buf, 0, sizeof(buf));
	b = mnl_nlmsg_batch_start(buf, LIMIT);
	mh_nft_batch_begin(b, &seq);
	ck_assert_int_eq(mh_nft_build_gw_mux(b, &seq, "mosh_helper_gw", &c, &s,
					     true, true), 0);
	s.port = 0;
	ck_assert_int_eq(mh_nft_build_gw_mux(b, &seq, "mosh_helper_gw", &c, &s,
					     false, true), -EINVAL);
	mh_nft_batch_end(b, &seq);
	collect(b);
	mnl_nlmsg_batch_stop(b);
	set = parse_elems(1);
	ck_assert_str_eq(nftnl_set_get_str(set, NFTNL_SET_NAME), "gwmux4");
	nftnl_set_elem_foreach(set, first_elem, &e);
	data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len);
	ck_assert_uint_eq(len, 2);
	ck_assert_uint_eq(data[0] << 8 | data[1], 60001);
	nftnl_set_free(set);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("nft_gateway");
	TCase *tc = tcase_create("gateway");

	tcase_add_test(tc, key_bytes_v4);
	tcase_add_test(tc, key_round_trip);
	tcase_add_test(tc, key_refusals);
	tcase_add_test(tc, table_chains_sets);
	tcase_add_test(tc, pinhole_rules_registers);
	tcase_add_test(tc, slow_chains_both_flavours);
	tcase_add_test(tc, per_session_budgets);
	tcase_add_test(tc, no_reject_no_mark_when_off);
	tcase_add_test(tc, adopt_keeps_elements);
	tcase_add_test(tc, refused_params);
	tcase_add_test(tc, elem_pinhole_v6);
	tcase_add_test(tc, elem_session_v4);
	tcase_add_test(tc, elem_refusals);
	tcase_add_test(tc, seen_no_refresh);
	tcase_add_test(tc, elem_rearm);
	tcase_add_test(tc, reverse_path_rule);
	tcase_add_test(tc, gwmux_key_bytes);
	tcase_add_test(tc, gwmux_ruleset);
	tcase_add_test(tc, gwmux_off_cleans_up);
	tcase_add_test(tc, gwmux_elem);
	suite_add_tcase(s, tc);
	return mh_check_run(s);
}
