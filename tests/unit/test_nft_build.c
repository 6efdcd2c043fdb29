/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for nft/ (build.c, mux.c): every batch is built into a buffer,
 * then its messages are parsed back with libnftnl and checked against the
 * ruleset of the brief: order and types, table, chains, sets, each rule's
 * expressions (the base chains jump on a range compare of the configured
 * ports), the removal of the `ports` set of earlier versions, both queue
 * flavours, pinhole and session-port elements;
 * single-port mode's maps, chains, rules, guard and mapping elements, and
 * that with the mode off the batch is the plain one plus a clean-up tail;
 * the per-source budgets (slowsrc sets, their flush, the drop rules with
 * a limit inside the dynset, in mosh_in and mux_in), the per-session ones
 * (slowport_in/out keyed by the session port, a drop rule before the queue
 * rule of mosh_in and of mosh_out, none in mux_in), that with either off
 * the batch is the old one plus a clean-up tail, and the set size; the
 * host's own flows in localflows4/6 (an opt-in: without it the batch lacks
 * their sets and rules and deletes the sets an earlier load left, and the
 * range sends only to pinholes) and no ct expression in the plain table
 * (single-port mode: only its own guard and mux rules have one); mux_in's
 * mapping rules in both lookup forms (with and without a value register,
 * as the map probe picks) and the probe's batch.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_NFQUEUE.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "nft.h"
#include "../../nft/nft_int.h"

#define LIMIT   65536
#define MAXMSG  128
#define T(x)    (uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | (x))

static char buf[2 * LIMIT];
static const struct nlmsghdr *msgs[MAXMSG];
static int nmsgs;
static uint32_t seq0 = 1000;

/* per-source budgets off, default set size, local flows on (the opt-in):
 * the table as it was before either option existed. Without local flows
 * the batch is this one minus their sets and rules plus a clean-up tail
 * (localflows_off_*). */
static const struct mh_ruleset_params defaults = {
	.table = "mosh_helper", .port_low = 60000, .port_high = 61000,
	.idle_timeout_ms = 60000, .queue_num = 0, .queue_total = 1,
	.slow_path_rate = 2000, .native_queue = false, .public_port = 0,
	.provisional_timeout_ms = 10000, .per_source_rate = 0, .set_size = 0,
	.local_flows = true,
};

/* Split a finished batch into its messages. */
static void collect(struct mnl_nlmsg_batch *b)
{
	int len = (int)mnl_nlmsg_batch_size(b);
	const struct nlmsghdr *nlh = mnl_nlmsg_batch_head(b);

	nmsgs = 0;
	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		ck_assert_int_lt(nmsgs, MAXMSG);
		msgs[nmsgs++] = nlh;
	}
	ck_assert_int_eq(len, 0);
}

typedef int (*build_fn)(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg);

static void build(build_fn fn, const void *arg, int expect)
{
	struct mnl_nlmsg_batch *b;
	uint32_t seq = seq0;

	/* libnftnl leaves attribute padding unwritten: start from zeros so
	 * that two batches compare byte for byte */
	memset(buf, 0, sizeof(buf));
	b = mnl_nlmsg_batch_start(buf, LIMIT);

	ck_assert_ptr_nonnull(b);
	mh_nft_batch_begin(b, &seq);
	ck_assert_int_eq(fn(b, &seq, arg), expect);
	mh_nft_batch_end(b, &seq);
	collect(b);
	mnl_nlmsg_batch_stop(b);
	/* every message numbered in order from the caller's seq */
	for (int i = 0; i < nmsgs; i++)
		ck_assert_uint_eq(msgs[i]->nlmsg_seq, seq0 + (uint32_t)i);
	ck_assert_uint_eq(seq, seq0 + (uint32_t)nmsgs);
}

static int b_ruleset(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg)
{
	return mh_nft_build_ruleset(b, seq, arg);
}

static uint16_t family_of(const struct nlmsghdr *nlh)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);

	return g->nfgen_family;
}

/* ------------------------------------------------------------------ */
/* Parsed objects                                                      */

struct prule {
	struct nftnl_rule *r;
	struct nftnl_expr *e[24];
	int n;
	char names[256];      /* expression names, space separated */
};

static void parse_rule(const struct nlmsghdr *nlh, struct prule *p)
{
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;

	ck_assert_uint_eq(nlh->nlmsg_type, T(NFT_MSG_NEWRULE));
	memset(p, 0, sizeof(*p));
	p->r = nftnl_rule_alloc();
	ck_assert_int_eq(nftnl_rule_nlmsg_parse(nlh, p->r), 0);
	it = nftnl_expr_iter_create(p->r);
	while ((e = nftnl_expr_iter_next(it))) {
		ck_assert_int_lt(p->n, 24);
		p->e[p->n++] = e;
		if (p->names[0])
			strcat(p->names, " ");
		strcat(p->names, nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
	}
	nftnl_expr_iter_destroy(it);
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT)
		*(const char **)data = nftnl_udata_get(attr);
	return 0;
}

static const char *rule_comment(const struct prule *p)
{
	uint32_t len = 0;
	const void *ud = nftnl_rule_get_data(p->r, NFTNL_RULE_USERDATA, &len);
	const char *c = NULL;

	if (ud)
		nftnl_udata_parse(ud, len, comment_cb, &c);
	return c;
}

/* libnftnl numbers the element nests it builds 1, 2, ... but its parser
 * (1.2.4) accepts only NFTA_LIST_ELEM (1); the kernel ignores the number.
 * Parse a copy with the nests renumbered. */
static char elem_copy[LIMIT];

static const struct nlmsghdr *renumber_elems(const struct nlmsghdr *nlh)
{
	struct nlmsghdr *c = (struct nlmsghdr *)elem_copy;
	struct nlattr *a, *e;

	ck_assert_uint_le(nlh->nlmsg_len, sizeof(elem_copy));
	memcpy(c, nlh, nlh->nlmsg_len);
	mnl_attr_for_each(a, c, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(e, a)
			e->nla_type = (uint16_t)((e->nla_type & ~NLA_TYPE_MASK) | NFTA_LIST_ELEM);
	}
	return c;
}

static struct nftnl_set *parse_set(const struct nlmsghdr *nlh, bool elems)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (elems)
		ck_assert_int_eq(nftnl_set_elems_nlmsg_parse(renumber_elems(nlh), s), 0);
	else
		ck_assert_int_eq(nftnl_set_nlmsg_parse(nlh, s), 0);
	return s;
}

struct elem_list {
	struct nftnl_set_elem *e[8];
	int n;
};

static int elem_collect(struct nftnl_set_elem *e, void *data)
{
	struct elem_list *l = data;

	ck_assert_int_lt(l->n, 8);
	l->e[l->n++] = e;
	return 0;
}

/* The n-th element of a parsed set (0-based), NULL past the end. */
static struct nftnl_set_elem *elem_at(struct nftnl_set *s, int n)
{
	struct elem_list l = { { NULL }, 0 };

	nftnl_set_elem_foreach(s, elem_collect, &l);
	return n < l.n ? l.e[n] : NULL;
}

static int count_elems(struct nftnl_set *s)
{
	struct elem_list l = { { NULL }, 0 };

	nftnl_set_elem_foreach(s, elem_collect, &l);
	return l.n;
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

static void assert_cmp_u8(struct nftnl_expr *e, uint8_t val)
{
	uint32_t len = 0;
	const uint8_t *d = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);

	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP), NFT_CMP_EQ);
	ck_assert_uint_eq(len, 1);
	ck_assert_uint_eq(d[0], val);
}

static void assert_verdict(struct nftnl_expr *e, int verdict, const char *chain)
{
	ck_assert_str_eq(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "immediate");
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_DREG), NFT_REG_VERDICT);
	ck_assert_int_eq((int)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT), verdict);
	if (chain)
		ck_assert_str_eq(nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN), chain);
}

static void assert_lookup(struct nftnl_expr *e, const char *set)
{
	ck_assert_str_eq(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "lookup");
	ck_assert_str_eq(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), set);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SREG), NFT_REG_1);
	ck_assert(!nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_FLAGS) ||
		  nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_FLAGS) == 0); /* not inverted */
}

/* Indexes of messages in the default ruleset batch. */
enum {
	M_BEGIN, M_TABLE,
	M_ENSURE_SESSIONS, M_ENSURE_PH4, M_ENSURE_PH6,
	M_ENSURE_LF4, M_ENSURE_LF6, M_ENSURE_SEEN4, M_ENSURE_SEEN6,
	M_CHAIN_INPUT, M_CHAIN_IN, M_CHAIN_OUTPUT, M_CHAIN_OUT,
	M_FLUSH_INPUT, M_FLUSH_IN, M_FLUSH_OUTPUT, M_FLUSH_OUT,
	M_FLUSH_SESSIONS, M_DEL_PH4, M_DEL_PH6, M_DEL_LF4, M_DEL_LF6,
	M_SET_PH4, M_SET_PH6, M_SET_LF4, M_SET_LF6, M_DEL_SEEN4, M_DEL_SEEN6,
	M_RULE_INPUT, M_RULES_IN, M_RULE_OUTPUT = M_RULES_IN + 7,
	M_RULES_OUT,
	/* single-port mode off: objects an earlier load may have left */
	M_OFF_CHAINS = M_RULES_OUT + 7, M_OFF_FLUSH = M_OFF_CHAINS + 3,
	M_OFF_DELCHAINS = M_OFF_FLUSH + 3, M_OFF_MAPS = M_OFF_DELCHAINS + 3,
	M_OFF_DELMAPS = M_OFF_MAPS + 4,
	/* the `ports` set of earlier versions, named then deleted */
	M_OLD_PORTS = M_OFF_DELMAPS + 4,
	/* per-source budgets off: their sets, if an earlier load left them */
	M_OFF_SLOW = M_OLD_PORTS + 2, M_OFF_DELSLOW = M_OFF_SLOW + 2,
	/* per-session budgets off: the same for theirs */
	M_OFF_PORT = M_OFF_DELSLOW + 2, M_OFF_DELPORT = M_OFF_PORT + 2,
	M_END = M_OFF_DELPORT + 2, M_COUNT,
};

START_TEST(ruleset_message_order)
{
	static const uint16_t want[M_COUNT] = {
		NFNL_MSG_BATCH_BEGIN, T(NFT_MSG_NEWTABLE),
		T(NFT_MSG_NEWSET), T(NFT_MSG_NEWSET), T(NFT_MSG_NEWSET), T(NFT_MSG_NEWSET),
		T(NFT_MSG_NEWSET),
		T(NFT_MSG_NEWSET), T(NFT_MSG_NEWSET),   /* seen4/6 made to exist */
		T(NFT_MSG_NEWCHAIN), T(NFT_MSG_NEWCHAIN), T(NFT_MSG_NEWCHAIN),
		T(NFT_MSG_NEWCHAIN),
		T(NFT_MSG_DELRULE), T(NFT_MSG_DELRULE), T(NFT_MSG_DELRULE),
		T(NFT_MSG_DELRULE),
		T(NFT_MSG_DELSETELEM),
		T(NFT_MSG_DELSET), T(NFT_MSG_DELSET), T(NFT_MSG_DELSET), T(NFT_MSG_DELSET),
		T(NFT_MSG_NEWSET), T(NFT_MSG_NEWSET), T(NFT_MSG_NEWSET), T(NFT_MSG_NEWSET),
		T(NFT_MSG_DELSET), T(NFT_MSG_DELSET),   /* seen4/6: not used */
		/* input, mosh_in (7), output, mosh_out (7) */
		T(NFT_MSG_NEWRULE), T(NFT_MSG_NEWRULE), T(NFT_MSG_NEWRULE),
		T(NFT_MSG_NEWRULE), T(NFT_MSG_NEWRULE), T(NFT_MSG_NEWRULE),
		T(NFT_MSG_NEWRULE), T(NFT_MSG_NEWRULE), T(NFT_MSG_NEWRULE),
		T(NFT_MSG_NEWRULE), T(NFT_MSG_NEWRULE), T(NFT_MSG_NEWRULE),
		T(NFT_MSG_NEWRULE), T(NFT_MSG_NEWRULE), T(NFT_MSG_NEWRULE),
		T(NFT_MSG_NEWRULE),
		T(NFT_MSG_NEWCHAIN), T(NFT_MSG_NEWCHAIN), T(NFT_MSG_NEWCHAIN),
		T(NFT_MSG_DELRULE), T(NFT_MSG_DELRULE), T(NFT_MSG_DELRULE),
		T(NFT_MSG_DELCHAIN), T(NFT_MSG_DELCHAIN), T(NFT_MSG_DELCHAIN),
		T(NFT_MSG_NEWSET), T(NFT_MSG_NEWSET), T(NFT_MSG_NEWSET), T(NFT_MSG_NEWSET),
		T(NFT_MSG_DELSET), T(NFT_MSG_DELSET), T(NFT_MSG_DELSET), T(NFT_MSG_DELSET),
		T(NFT_MSG_NEWSET), T(NFT_MSG_DELSET),
		T(NFT_MSG_NEWSET), T(NFT_MSG_NEWSET), T(NFT_MSG_DELSET), T(NFT_MSG_DELSET),
		T(NFT_MSG_NEWSET), T(NFT_MSG_NEWSET), T(NFT_MSG_DELSET), T(NFT_MSG_DELSET),
		NFNL_MSG_BATCH_END,
	};

	build(b_ruleset, &defaults, 0);
	ck_assert_int_eq(nmsgs, M_COUNT);
	for (int i = 0; i < nmsgs; i++) {
		ck_assert_uint_eq(msgs[i]->nlmsg_type, want[i]);
		ck_assert(msgs[i]->nlmsg_flags & NLM_F_REQUEST);
		/* objects that exist already are kept, never an error */
		ck_assert(!(msgs[i]->nlmsg_flags & (NLM_F_EXCL | NLM_F_REPLACE)));
		if (i != M_BEGIN && i != M_END)
			ck_assert_uint_eq(family_of(msgs[i]), NFPROTO_INET);
	}
	for (int i = M_TABLE; i <= M_CHAIN_OUT; i++)
		ck_assert(msgs[i]->nlmsg_flags & NLM_F_CREATE);
	/* the table is never deleted: its base chains keep their hooks */
	for (int i = 0; i < nmsgs; i++)
		ck_assert_uint_ne(msgs[i]->nlmsg_type, T(NFT_MSG_DELTABLE));
	for (int i = M_RULE_INPUT; i < M_OFF_CHAINS; i++)
		ck_assert(msgs[i]->nlmsg_flags & NLM_F_APPEND);
}
END_TEST

/* The reload part: every chain flushed, sessions emptied in place, the
 * pinhole and local-flow sets deleted (and re-created after). */
START_TEST(ruleset_flushes_before_refill)
{
	static const char *chains[] = { "input", "mosh_in", "output", "mosh_out" };

	build(b_ruleset, &defaults, 0);
	for (int i = 0; i < 4; i++) {
		struct nftnl_rule *r = nftnl_rule_alloc();

		ck_assert_int_eq(nftnl_rule_nlmsg_parse(msgs[M_FLUSH_INPUT + i], r), 0);
		ck_assert_str_eq(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), "mosh_helper");
		ck_assert_str_eq(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), chains[i]);
		ck_assert(!nftnl_rule_is_set(r, NFTNL_RULE_HANDLE));  /* whole chain */
		nftnl_rule_free(r);
	}
	for (int i = M_FLUSH_SESSIONS; i <= M_DEL_LF6; i++) {
		static const char *names[] = { "sessions", "pinholes4", "pinholes6",
					       "localflows4", "localflows6" };
		struct nftnl_set *s = parse_set(msgs[i], i == M_FLUSH_SESSIONS);

		ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_NAME), names[i - M_FLUSH_SESSIONS]);
		ck_assert_int_eq(count_elems(s), 0);                  /* whole set */
		nftnl_set_free(s);
	}
}
END_TEST

START_TEST(ruleset_table_no_owner)
{
	struct nftnl_table *t = nftnl_table_alloc();

	build(b_ruleset, &defaults, 0);
	ck_assert_int_eq(nftnl_table_nlmsg_parse(msgs[M_TABLE], t), 0);
	ck_assert_str_eq(nftnl_table_get_str(t, NFTNL_TABLE_NAME), "mosh_helper");
	ck_assert_uint_eq(nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY), NFPROTO_INET);
	if (nftnl_table_is_set(t, NFTNL_TABLE_FLAGS))
		ck_assert_uint_eq(nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS) &
				  (NFT_TABLE_F_OWNER | NFT_TABLE_F_DORMANT), 0);
	nftnl_table_free(t);
}
END_TEST

START_TEST(ruleset_table_name_from_params)
{
	struct mh_ruleset_params p = defaults;
	struct nftnl_chain *c = nftnl_chain_alloc();

	p.table = "other_table";
	build(b_ruleset, &p, 0);
	ck_assert_int_eq(nftnl_chain_nlmsg_parse(msgs[M_CHAIN_OUT], c), 0);
	ck_assert_str_eq(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), "other_table");
	nftnl_chain_free(c);
}
END_TEST

static void check_chain(int idx, const char *name, int hook)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	ck_assert_int_eq(nftnl_chain_nlmsg_parse(msgs[idx], c), 0);
	ck_assert_str_eq(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), name);
	ck_assert_str_eq(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), "mosh_helper");
	if (hook < 0) {
		ck_assert(!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM));
		ck_assert(!nftnl_chain_is_set(c, NFTNL_CHAIN_PRIO));
	} else {
		ck_assert_uint_eq(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), (uint32_t)hook);
		ck_assert_int_eq(nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO), -10);
		ck_assert_str_eq(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), "filter");
		ck_assert_uint_eq(nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY), NF_ACCEPT);
	}
	nftnl_chain_free(c);
}

START_TEST(ruleset_chains)
{
	build(b_ruleset, &defaults, 0);
	check_chain(M_CHAIN_INPUT, "input", NF_INET_LOCAL_IN);
	check_chain(M_CHAIN_IN, "mosh_in", -1);
	check_chain(M_CHAIN_OUTPUT, "output", NF_INET_LOCAL_OUT);
	check_chain(M_CHAIN_OUT, "mosh_out", -1);
}
END_TEST

static void check_set(int idx, const char *name, uint32_t flags,
		      uint32_t key_type, uint32_t key_len, uint64_t timeout)
{
	struct nftnl_set *s = parse_set(msgs[idx], false);

	ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_NAME), name);
	ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_TABLE), "mosh_helper");
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), flags);
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), key_type);
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), key_len);
	ck_assert(!nftnl_set_is_set(s, NFTNL_SET_DATA_TYPE)); /* sets, not maps */
	if (timeout)
		ck_assert_uint_eq(nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT), timeout);
	else
		ck_assert(!nftnl_set_is_set(s, NFTNL_SET_TIMEOUT));
	nftnl_set_free(s);
}

START_TEST(ruleset_sets)
{
	struct mh_ruleset_params p = defaults;
	/* nft datatypes: inet_service 13, ipv4_addr 7, ipv6_addr 8, 6 bits each */
	const uint32_t k4 = (7u << 12) | (13u << 6) | 13u;
	const uint32_t k6 = (8u << 12) | (13u << 6) | 13u;

	p.idle_timeout_ms = 45000;
	build(b_ruleset, &p, 0);
	check_set(M_ENSURE_SESSIONS, "sessions", 0, 13, 2, 0);
	/* made to exist with the same type, then re-created with the timeout */
	check_set(M_ENSURE_PH4, "pinholes4", NFT_SET_TIMEOUT | NFT_SET_EVAL, k4, 12, 0);
	check_set(M_ENSURE_PH6, "pinholes6", NFT_SET_TIMEOUT | NFT_SET_EVAL, k6, 24, 0);
	check_set(M_SET_PH4, "pinholes4", NFT_SET_TIMEOUT | NFT_SET_EVAL, k4, 12, 45000);
	check_set(M_SET_PH6, "pinholes6", NFT_SET_TIMEOUT | NFT_SET_EVAL, k6, 24, 45000);
	/* the host's own flows: the pinhole key, conntrack's UDP stream
	 * timeout (120 s) whatever the idle timeout */
	check_set(M_ENSURE_LF4, "localflows4", NFT_SET_TIMEOUT | NFT_SET_EVAL, k4, 12, 0);
	check_set(M_ENSURE_LF6, "localflows6", NFT_SET_TIMEOUT | NFT_SET_EVAL, k6, 24, 0);
	check_set(M_SET_LF4, "localflows4", NFT_SET_TIMEOUT | NFT_SET_EVAL, k4, 12, 120000);
	check_set(M_SET_LF6, "localflows6", NFT_SET_TIMEOUT | NFT_SET_EVAL, k6, 24, 120000);
}
END_TEST

/* Does the set message (NEWSET, DELSET, NEWSETELEM, DELSETELEM) name the
 * set `name`? Any other message: false. */
static bool set_msg_names(const struct nlmsghdr *nlh, const char *name)
{
	uint16_t t = nlh->nlmsg_type;
	bool elems = t == T(NFT_MSG_NEWSETELEM) || t == T(NFT_MSG_DELSETELEM);
	struct nftnl_set *s;
	bool hit;

	if (!elems && t != T(NFT_MSG_NEWSET) && t != T(NFT_MSG_DELSET))
		return false;
	s = parse_set(nlh, elems);
	hit = !strcmp(nftnl_set_get_str(s, NFTNL_SET_NAME), name);
	nftnl_set_free(s);
	return hit;
}

/* Does the rule message look up or update the set `name`? */
static bool rule_uses_set(const struct nlmsghdr *nlh, const char *name)
{
	struct prule r;
	bool hit = false;

	if (nlh->nlmsg_type != T(NFT_MSG_NEWRULE))
		return false;
	parse_rule(nlh, &r);
	for (int k = 0; k < r.n; k++) {
		const char *en = nftnl_expr_get_str(r.e[k], NFTNL_EXPR_NAME);

		if (!strcmp(en, "lookup"))
			hit |= !strcmp(nftnl_expr_get_str(r.e[k], NFTNL_EXPR_LOOKUP_SET), name);
		else if (!strcmp(en, "dynset"))
			hit |= !strcmp(nftnl_expr_get_str(r.e[k], NFTNL_EXPR_DYNSET_SET_NAME),
				       name);
	}
	nftnl_rule_free(r.r);
	return hit;
}

/* The `ports` set of earlier versions in the last batch: no rule uses it;
 * exactly two messages name it, a NEWSET with its old type (interval of
 * inet_service; created if missing, never an error if there) right
 * followed by its DELSET, both after every chain flush of the batch (mux
 * chains' included), so the kernel finds it unused. Returns the index of
 * the NEWSET. */
static int check_old_ports(void)
{
	int at = -1, named = 0, last_flush = -1;
	struct nftnl_set *s;

	for (int i = 0; i < nmsgs; i++) {
		if (msgs[i]->nlmsg_type == T(NFT_MSG_DELRULE))
			last_flush = i;
		ck_assert_msg(!rule_uses_set(msgs[i], "ports"), "rule %d uses @ports", i);
		if (!set_msg_names(msgs[i], "ports"))
			continue;
		if (!named++)
			at = i;
	}
	ck_assert_int_eq(named, 2);
	ck_assert_int_gt(at, last_flush);
	check_set(at, "ports", NFT_SET_INTERVAL, 13, 2, 0);
	ck_assert(msgs[at]->nlmsg_flags & NLM_F_CREATE);
	ck_assert_uint_eq(msgs[at + 1]->nlmsg_type, T(NFT_MSG_DELSET));
	s = parse_set(msgs[at + 1], false);
	ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_NAME), "ports");
	ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_TABLE), "mosh_helper");
	nftnl_set_free(s);
	return at;
}

START_TEST(ruleset_removes_old_ports_set)
{
	struct mh_ruleset_params p = defaults;

	build(b_ruleset, &defaults, 0);
	ck_assert_int_eq(check_old_ports(), M_OLD_PORTS);
	/* a restart or reload adopting an older version's table */
	p.adopt = true;
	build(b_ruleset, &p, 0);
	check_old_ports();
	/* budgets on: no tail of theirs follows */
	p.per_source_rate = 200;
	p.per_session_rate = 20;
	build(b_ruleset, &p, 0);
	ck_assert_int_eq(check_old_ports(), nmsgs - 3);
	/* single-port mode: after mux_pre/mux_in/mux_nat are flushed */
	p = defaults;
	p.public_port = 443;
	build(b_ruleset, &p, 0);
	check_old_ports();
	p.adopt = true;
	build(b_ruleset, &p, 0);
	check_old_ports();
}
END_TEST

/* A base chain's jump rule: udp, the server port (dport in, sport out)
 * into reg 1, `range eq` LOW..HIGH in network order, jump. */
static void check_jump(int idx, uint32_t port_off, uint16_t lo, uint16_t hi,
		       const char *chain)
{
	uint16_t want_lo = htons(lo), want_hi = htons(hi);
	uint32_t len = 0;
	const void *d;
	struct prule r;

	parse_rule(msgs[idx], &r);
	ck_assert_str_eq(r.names, "meta cmp payload range immediate");
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[0], NFTNL_EXPR_META_KEY), NFT_META_L4PROTO);
	assert_cmp_u8(r.e[1], IPPROTO_UDP);
	assert_payload(r.e[2], NFT_PAYLOAD_TRANSPORT_HEADER, port_off, 2, NFT_REG_1);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[3], NFTNL_EXPR_RANGE_SREG), NFT_REG_1);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[3], NFTNL_EXPR_RANGE_OP), NFT_RANGE_EQ);
	d = nftnl_expr_get(r.e[3], NFTNL_EXPR_RANGE_FROM_DATA, &len);
	ck_assert_uint_eq(len, 2);
	ck_assert_mem_eq(d, &want_lo, 2);
	d = nftnl_expr_get(r.e[3], NFTNL_EXPR_RANGE_TO_DATA, &len);
	ck_assert_uint_eq(len, 2);
	ck_assert_mem_eq(d, &want_hi, 2);
	assert_verdict(r.e[4], NFT_JUMP, chain);
	nftnl_rule_free(r.r);
}

static void check_jumps(uint16_t lo, uint16_t hi)
{
	struct mh_ruleset_params p = defaults;

	p.port_low = lo;
	p.port_high = hi;
	build(b_ruleset, &p, 0);
	check_jump(M_RULE_INPUT, 2, lo, hi, "mosh_in");
	check_jump(M_RULE_OUTPUT, 0, lo, hi, "mosh_out");
}

START_TEST(ruleset_port_range)
{
	check_jumps(60000, 61000);
	check_jumps(1000, 1000);       /* a single port */
	check_jumps(60000, 65535);     /* up to the top */
	check_jumps(1, 65535);
	check_jumps(0x12fe, 0x3401);   /* network order: the bytes swap */
}
END_TEST

/* rule index -> chain, expression names */
struct rule_want {
	int idx;
	const char *chain, *names;
};

static void check_rule_shapes(bool native)
{
	static const char *ph_in = "meta cmp meta cmp payload payload payload lookup dynset immediate";
	static const char *ph_out = "meta cmp meta cmp payload payload payload lookup immediate";
	static const char *lf_out = "meta cmp meta cmp payload payload payload dynset immediate";
	const char *queue = native ? "meta cmp payload lookup limit queue"
				   : "meta cmp payload lookup limit target";
	const struct rule_want want[] = {
		{ M_RULE_INPUT, "input", "meta cmp payload range immediate" },
		{ M_RULES_IN + 0, "mosh_in", ph_in },
		{ M_RULES_IN + 1, "mosh_in", ph_in },
		{ M_RULES_IN + 2, "mosh_in", queue },
		{ M_RULES_IN + 3, "mosh_in", "meta cmp payload lookup counter immediate" },
		{ M_RULES_IN + 4, "mosh_in", ph_in },
		{ M_RULES_IN + 5, "mosh_in", ph_in },
		{ M_RULES_IN + 6, "mosh_in", "counter immediate" },
		{ M_RULE_OUTPUT, "output", "meta cmp payload range immediate" },
		{ M_RULES_OUT + 0, "mosh_out", ph_out },
		{ M_RULES_OUT + 1, "mosh_out", ph_out },
		{ M_RULES_OUT + 2, "mosh_out", queue },
		{ M_RULES_OUT + 3, "mosh_out", "meta cmp payload lookup counter immediate" },
		{ M_RULES_OUT + 4, "mosh_out", lf_out },
		{ M_RULES_OUT + 5, "mosh_out", lf_out },
		{ M_RULES_OUT + 6, "mosh_out", "counter immediate" },
	};
	struct mh_ruleset_params p = defaults;

	p.native_queue = native;
	build(b_ruleset, &p, 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct prule r;
		const char *c;

		parse_rule(msgs[want[i].idx], &r);
		ck_assert_str_eq(nftnl_rule_get_str(r.r, NFTNL_RULE_TABLE), "mosh_helper");
		ck_assert_str_eq(nftnl_rule_get_str(r.r, NFTNL_RULE_CHAIN), want[i].chain);
		ck_assert_str_eq(r.names, want[i].names);
		c = rule_comment(&r);
		ck_assert_ptr_nonnull(c);
		ck_assert_uint_gt(strlen(c), 10);
		ck_assert_uint_lt(strlen(c), NFTNL_UDATA_COMMENT_MAXLEN);
		nftnl_rule_free(r.r);
	}
}

START_TEST(rules_compat_shapes)
{
	check_rule_shapes(false);
}
END_TEST

START_TEST(rules_native_shapes)
{
	check_rule_shapes(true);
}
END_TEST

/* The pinhole rule: nfproto, udp, addr . client port . server port in
 * consecutive 32-bit registers, lookup, (update of the set update names),
 * accept. */
static void check_pinhole_rule(int idx, uint8_t nfproto, uint32_t addr_off,
			       uint32_t alen, uint32_t cport_off,
			       uint32_t sport_off, const char *set,
			       const char *update)
{
	uint32_t preg = NFT_REG32_00 + alen / 4;
	struct prule r;

	parse_rule(msgs[idx], &r);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[0], NFTNL_EXPR_META_KEY), NFT_META_NFPROTO);
	assert_cmp_u8(r.e[1], nfproto);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[2], NFTNL_EXPR_META_KEY), NFT_META_L4PROTO);
	assert_cmp_u8(r.e[3], IPPROTO_UDP);
	assert_payload(r.e[4], NFT_PAYLOAD_NETWORK_HEADER, addr_off, alen, NFT_REG_1);
	assert_payload(r.e[5], NFT_PAYLOAD_TRANSPORT_HEADER, cport_off, 2, preg);
	assert_payload(r.e[6], NFT_PAYLOAD_TRANSPORT_HEADER, sport_off, 2, preg + 1);
	assert_lookup(r.e[7], set);
	if (update) {
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[8], NFTNL_EXPR_DYNSET_OP),
				  NFT_DYNSET_OP_UPDATE);
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[8], NFTNL_EXPR_DYNSET_SREG_KEY),
				  NFT_REG_1);
		ck_assert_str_eq(nftnl_expr_get_str(r.e[8], NFTNL_EXPR_DYNSET_SET_NAME), update);
	}
	assert_verdict(r.e[update ? 9 : 8], NF_ACCEPT, NULL);
	nftnl_rule_free(r.r);
}

START_TEST(rules_pinholes)
{
	build(b_ruleset, &defaults, 0);
	/* inbound: saddr . sport . dport, refreshed */
	check_pinhole_rule(M_RULES_IN + 0, NFPROTO_IPV4, 12, 4, 0, 2, "pinholes4",
			   "pinholes4");
	check_pinhole_rule(M_RULES_IN + 1, NFPROTO_IPV6, 8, 16, 0, 2, "pinholes6",
			   "pinholes6");
	/* outbound: daddr . dport . sport, not refreshed */
	check_pinhole_rule(M_RULES_OUT + 0, NFPROTO_IPV4, 16, 4, 2, 0, "pinholes4", NULL);
	check_pinhole_rule(M_RULES_OUT + 1, NFPROTO_IPV6, 24, 16, 2, 0, "pinholes6", NULL);
}
END_TEST

/* The NEWSET messages of name in the batch, the last one in *last. */
static int newsets(const char *name, struct nftnl_set **last)
{
	int n = 0;

	*last = NULL;
	for (int i = 0; i < nmsgs; i++) {
		struct nftnl_set *s;

		if (msgs[i]->nlmsg_type != T(NFT_MSG_NEWSET))
			continue;
		s = parse_set(msgs[i], false);
		if (strcmp(nftnl_set_get_str(s, NFTNL_SET_NAME), name)) {
			nftnl_set_free(s);
			continue;
		}
		n++;
		if (*last)
			nftnl_set_free(*last);
		*last = s;
	}
	return n;
}

/* With pinhole_seen: the inbound pinhole rules look the pinhole up and
 * note its key in seen4/6, so nothing in the packet path adds a pinhole;
 * the sets are made to exist, deleted and made again (key as the
 * pinholes', half the idle timeout). Without: made to exist and deleted
 * (what an earlier load may have left), and the rules refresh. */
START_TEST(rules_pinholes_seen)
{
	struct mh_ruleset_params p = defaults;
	struct nftnl_set *s;

	p.pinhole_seen = true;
	p.idle_timeout_ms = 45000;
	build(b_ruleset, &p, 0);
	check_pinhole_rule(M_RULES_IN + 2, NFPROTO_IPV4, 12, 4, 0, 2, "pinholes4", "seen4");
	check_pinhole_rule(M_RULES_IN + 3, NFPROTO_IPV6, 8, 16, 0, 2, "pinholes6", "seen6");
	check_pinhole_rule(M_RULES_OUT + 2, NFPROTO_IPV4, 16, 4, 2, 0, "pinholes4", NULL);
	check_pinhole_rule(M_RULES_OUT + 3, NFPROTO_IPV6, 24, 16, 2, 0, "pinholes6", NULL);
	ck_assert_int_eq(newsets("seen4", &s), 2);
	ck_assert_uint_eq(nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT), 22500);
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), 12);
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_FLAGS),
			  NFT_SET_TIMEOUT | NFT_SET_EVAL);
	nftnl_set_free(s);
	ck_assert_int_eq(newsets("seen6", &s), 2);
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), 24);
	nftnl_set_free(s);
	/* the set is made again after the rules that used it are flushed,
	 * and before those that use it now */
	ck_assert_uint_eq(msgs[M_DEL_SEEN4 + 2]->nlmsg_type, T(NFT_MSG_NEWSET));
	ck_assert_uint_eq(msgs[M_DEL_SEEN4 + 4]->nlmsg_type, T(NFT_MSG_NEWRULE));

	build(b_ruleset, &defaults, 0);
	ck_assert_int_eq(newsets("seen4", &s), 1);
	ck_assert(!nftnl_set_is_set(s, NFTNL_SET_TIMEOUT));   /* made to exist */
	nftnl_set_free(s);
	ck_assert_uint_eq(msgs[M_DEL_SEEN4]->nlmsg_type, T(NFT_MSG_DELSET));
	ck_assert_uint_eq(msgs[M_DEL_SEEN6]->nlmsg_type, T(NFT_MSG_DELSET));
	ck_assert_uint_eq(mh_nft_seen_timeout(60000), 30000);
	ck_assert_uint_eq(mh_nft_seen_timeout(3000), 2000);   /* at least 2 s */

	/* an adopting load keeps them, keys and all: named with their whole
	 * definition (twice the pinholes' size), never deleted */
	p.adopt = true;
	build(b_ruleset, &p, 0);
	ck_assert_int_eq(newsets("seen4", &s), 1);
	ck_assert_uint_eq(nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT), 22500);
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE), 2 * 65535);
	nftnl_set_free(s);
	for (int i = 0; i < nmsgs; i++)
		ck_assert(!(msgs[i]->nlmsg_type == T(NFT_MSG_DELSET) &&
			    (set_msg_names(msgs[i], "seen4") ||
			     set_msg_names(msgs[i], "seen6"))));
}
END_TEST

/* Session rules: the queue rule's limit and queue, then counter drop. */
static void check_session_rules(int base, uint32_t port_off, bool native,
				uint16_t qnum, uint16_t qtotal, uint32_t rate)
{
	uint16_t want_flags = qtotal > 1 ? NFQ_FLAG_CPU_FANOUT : 0;
	struct prule r;

	parse_rule(msgs[base + 2], &r);
	assert_payload(r.e[2], NFT_PAYLOAD_TRANSPORT_HEADER, port_off, 2, NFT_REG_1);
	assert_lookup(r.e[3], "sessions");
	ck_assert_uint_eq(nftnl_expr_get_u64(r.e[4], NFTNL_EXPR_LIMIT_RATE), rate);
	ck_assert_uint_eq(nftnl_expr_get_u64(r.e[4], NFTNL_EXPR_LIMIT_UNIT), 1);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[4], NFTNL_EXPR_LIMIT_BURST), rate);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[4], NFTNL_EXPR_LIMIT_TYPE), NFT_LIMIT_PKTS);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[4], NFTNL_EXPR_LIMIT_FLAGS), 0); /* not inverted */
	if (native) {
		ck_assert_uint_eq(nftnl_expr_get_u16(r.e[5], NFTNL_EXPR_QUEUE_NUM), qnum);
		ck_assert_uint_eq(nftnl_expr_get_u16(r.e[5], NFTNL_EXPR_QUEUE_TOTAL), qtotal);
		ck_assert_uint_eq(nftnl_expr_get_u16(r.e[5], NFTNL_EXPR_QUEUE_FLAGS), want_flags);
	} else {
		uint32_t len = 0;
		const struct xt_NFQ_info_v3 *info =
			nftnl_expr_get(r.e[5], NFTNL_EXPR_TG_INFO, &len);

		ck_assert_str_eq(nftnl_expr_get_str(r.e[5], NFTNL_EXPR_TG_NAME), "NFQUEUE");
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[5], NFTNL_EXPR_TG_REV), 3);
		ck_assert_uint_eq(len, sizeof(*info));
		ck_assert_uint_eq(info->queuenum, qnum);
		ck_assert_uint_eq(info->queues_total, qtotal);
		ck_assert_uint_eq(info->flags, want_flags);  /* never NFQ_FLAG_BYPASS */
	}
	nftnl_rule_free(r.r);
	parse_rule(msgs[base + 3], &r);
	assert_payload(r.e[2], NFT_PAYLOAD_TRANSPORT_HEADER, port_off, 2, NFT_REG_1);
	assert_lookup(r.e[3], "sessions");
	assert_verdict(r.e[5], NF_DROP, NULL);
	nftnl_rule_free(r.r);
}

START_TEST(rules_queue_compat_and_native)
{
	struct mh_ruleset_params p = defaults;

	for (int native = 0; native < 2; native++) {
		p.native_queue = native;
		p.queue_num = 0;
		p.queue_total = 1;
		p.slow_path_rate = 2000;
		build(b_ruleset, &p, 0);
		check_session_rules(M_RULES_IN, 2, native, 0, 1, 2000);
		check_session_rules(M_RULES_OUT, 0, native, 0, 1, 2000);
		p.queue_num = 7;
		p.queue_total = 4;     /* fanout over queues 7..10 */
		p.slow_path_rate = 123;
		build(b_ruleset, &p, 0);
		check_session_rules(M_RULES_IN, 2, native, 7, 4, 123);
		check_session_rules(M_RULES_OUT, 0, native, 7, 4, 123);
	}
}
END_TEST

/* The local-flow rule: the pinhole key of its direction, (inbound: lookup),
 * update, accept. */
static void check_localflow_rule(int idx, uint8_t nfproto, uint32_t addr_off,
				 uint32_t alen, uint32_t peer_port_off,
				 uint32_t local_port_off, const char *set, bool lookup)
{
	uint32_t preg = NFT_REG32_00 + alen / 4;
	int at = lookup ? 8 : 7;
	struct prule r;
	const char *c;

	parse_rule(msgs[idx], &r);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[0], NFTNL_EXPR_META_KEY), NFT_META_NFPROTO);
	assert_cmp_u8(r.e[1], nfproto);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[2], NFTNL_EXPR_META_KEY), NFT_META_L4PROTO);
	assert_cmp_u8(r.e[3], IPPROTO_UDP);
	assert_payload(r.e[4], NFT_PAYLOAD_NETWORK_HEADER, addr_off, alen, NFT_REG_1);
	assert_payload(r.e[5], NFT_PAYLOAD_TRANSPORT_HEADER, peer_port_off, 2, preg);
	assert_payload(r.e[6], NFT_PAYLOAD_TRANSPORT_HEADER, local_port_off, 2, preg + 1);
	if (lookup)
		assert_lookup(r.e[7], set);
	ck_assert_str_eq(nftnl_expr_get_str(r.e[at], NFTNL_EXPR_NAME), "dynset");
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[at], NFTNL_EXPR_DYNSET_OP), NFT_DYNSET_OP_UPDATE);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[at], NFTNL_EXPR_DYNSET_SREG_KEY), NFT_REG_1);
	ck_assert_str_eq(nftnl_expr_get_str(r.e[at], NFTNL_EXPR_DYNSET_SET_NAME), set);
	ck_assert(!nftnl_expr_is_set(r.e[at], NFTNL_EXPR_DYNSET_SREG_DATA));
	ck_assert(!nftnl_expr_is_set(r.e[at], NFTNL_EXPR_DYNSET_TIMEOUT)); /* the set's */
	assert_verdict(r.e[at + 1], NF_ACCEPT, NULL);
	ck_assert_int_eq(r.n, at + 2);
	c = rule_comment(&r);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(strstr(c, "non-session port"));
	nftnl_rule_free(r.r);
}

/* Does any rule of the last batch hold a ct expression? */
static int ct_rules(void)
{
	int n = 0;

	for (int i = 0; i < nmsgs; i++) {
		struct prule r;

		if (msgs[i]->nlmsg_type != T(NFT_MSG_NEWRULE))
			continue;
		parse_rule(msgs[i], &r);
		for (int k = 0; k < r.n; k++)
			if (!strcmp(nftnl_expr_get_str(r.e[k], NFTNL_EXPR_NAME), "ct")) {
				n++;
				break;
			}
		nftnl_rule_free(r.r);
	}
	return n;
}

START_TEST(rules_localflows_and_final_drop)
{
	struct prule r;

	build(b_ruleset, &defaults, 0);
	/* inbound: peer = source; a flow already remembered, refreshed */
	check_localflow_rule(M_RULES_IN + 4, NFPROTO_IPV4, 12, 4, 0, 2, "localflows4", true);
	check_localflow_rule(M_RULES_IN + 5, NFPROTO_IPV6, 8, 16, 0, 2, "localflows6", true);
	/* outbound: peer = destination; added or refreshed */
	check_localflow_rule(M_RULES_OUT + 4, NFPROTO_IPV4, 16, 4, 2, 0, "localflows4", false);
	check_localflow_rule(M_RULES_OUT + 5, NFPROTO_IPV6, 24, 16, 2, 0, "localflows6", false);
	parse_rule(msgs[M_RULES_IN + 6], &r);
	assert_verdict(r.e[1], NF_DROP, NULL);
	nftnl_rule_free(r.r);
	parse_rule(msgs[M_RULES_OUT + 6], &r);
	assert_verdict(r.e[1], NF_DROP, NULL);
	nftnl_rule_free(r.r);
	/* nothing in the plain table asks the kernel for conntrack, budgets
	 * on or off */
	ck_assert_int_eq(ct_rules(), 0);
}
END_TEST

START_TEST(plain_table_has_no_ct)
{
	struct mh_ruleset_params p = defaults;

	p.per_source_rate = 200;
	p.native_queue = true;
	build(b_ruleset, &p, 0);
	ck_assert_int_eq(ct_rules(), 0);
	p.adopt = true;
	build(b_ruleset, &p, 0);
	ck_assert_int_eq(ct_rules(), 0);
	/* control: single-port mode has its two guards and two confirmed
	 * mappings with ct, so the count above can see one */
	p.public_port = 60000;
	p.provisional_timeout_ms = 10000;
	build(b_ruleset, &p, 0);
	ck_assert_int_eq(ct_rules(), 4);
}
END_TEST

/* Role relay: one guard rule per gateway in the base output chain, ahead
 * of its jump: nfproto, tcp, the gateway's address and port, skuid not
 * root's and (when the daemon runs as another user) not the daemon's,
 * then counter and drop. None without gateways. */
static int guard_rules(uint32_t uid, int *neq, uint8_t *ip6)
{
	int n = 0;

	for (int i = 0; i < nmsgs; i++) {
		struct prule r;
		const char *c;

		if (msgs[i]->nlmsg_type != T(NFT_MSG_NEWRULE))
			continue;
		parse_rule(msgs[i], &r);
		c = rule_comment(&r);
		if (c && strstr(c, "relay listener")) {
			ck_assert_str_eq(nftnl_rule_get_str(r.r, NFTNL_RULE_CHAIN), "output");
			ck_assert_str_eq(r.names, uid ?
				"meta cmp meta cmp payload cmp payload cmp meta cmp cmp counter immediate" :
				"meta cmp meta cmp payload cmp payload cmp meta cmp counter immediate");
			assert_cmp_u8(r.e[3], IPPROTO_TCP);
			*neq = 0;
			for (int k = 9; k < r.n - 2; k++)
				*neq += nftnl_expr_get_u32(r.e[k], NFTNL_EXPR_CMP_OP) == NFT_CMP_NEQ;
			if (nftnl_expr_get_u32(r.e[4], NFTNL_EXPR_PAYLOAD_LEN) == 16) {
				uint32_t len = 0;
				const void *d = nftnl_expr_get(r.e[5], NFTNL_EXPR_CMP_DATA, &len);

				ck_assert_uint_eq(len, 16);
				memcpy(ip6, d, 16);
			}
			assert_verdict(r.e[r.n - 1], NF_DROP, NULL);
			n++;
		}
		nftnl_rule_free(r.r);
	}
	return n;
}

START_TEST(relay_guard_rules)
{
	const struct mh_nft_endpoint gw[2] = {
		{ AF_INET, { 198, 18, 0, 1 }, 7710 },
		{ AF_INET6, { 0xfd, 0, [15] = 1 }, 7711 },
	};
	struct mh_ruleset_params p = defaults;
	uint8_t ip6[16] = { 0 };
	int neq = 0;

	build(b_ruleset, &p, 0);
	ck_assert_int_eq(guard_rules(0, &neq, ip6), 0);
	p.relay_gateways = gw;
	p.n_relay_gateways = 2;
	build(b_ruleset, &p, 0);
	ck_assert_int_eq(guard_rules(0, &neq, ip6), 2);
	ck_assert_int_eq(neq, 1);
	ck_assert_mem_eq(ip6, gw[1].ip, 16);
	p.relay_uid = 123;
	build(b_ruleset, &p, 0);
	ck_assert_int_eq(guard_rules(123, &neq, ip6), 2);
	ck_assert_int_eq(neq, 2);
}
END_TEST

START_TEST(ruleset_rejects_bad_params)
{
	struct mh_ruleset_params bad[8];

	for (int i = 0; i < 8; i++)
		bad[i] = defaults;
	bad[0].port_low = 61001;        /* low > high */
	bad[1].slow_path_rate = 0;
	bad[2].queue_total = 0;
	bad[3].queue_num = 65535;       /* 65535 + 2 queues overflows */
	bad[3].queue_total = 2;
	bad[4].table = "";
	bad[5].idle_timeout_ms = 0;
	bad[6].port_low = 0;
	bad[7].public_port = 60000;     /* single-port mode without ... */
	bad[7].provisional_timeout_ms = 0;  /* ... a provisional lifetime */
	for (int i = 0; i < 8; i++) {
		build(b_ruleset, &bad[i], -EINVAL);
		ck_assert_int_eq(nmsgs, 2);   /* nothing between begin and end */
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* Elements                                                            */

struct ph_arg {
	struct mh_pinhole ph;
	bool add;
	uint32_t timeout;
};

static int b_pinhole(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg)
{
	const struct ph_arg *a = arg;

	return mh_nft_build_pinhole(b, seq, "mosh_helper", &a->ph, a->add, a->timeout);
}

static struct nftnl_set *one_elem_msg(uint16_t type, const char *set)
{
	struct nftnl_set *s;

	ck_assert_int_eq(nmsgs, 3);
	ck_assert_uint_eq(msgs[1]->nlmsg_type, T(type));
	ck_assert_uint_eq(family_of(msgs[1]), NFPROTO_INET);
	s = parse_set(msgs[1], true);
	ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_TABLE), "mosh_helper");
	ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_NAME), set);
	ck_assert_int_eq(count_elems(s), 1);
	return s;
}

static void check_key(struct nftnl_set *s, const uint8_t *want, uint32_t wlen)
{
	uint32_t len = 0;
	const void *k = nftnl_set_elem_get(elem_at(s, 0), NFTNL_SET_ELEM_KEY, &len);

	ck_assert_uint_eq(len, wlen);
	ck_assert_mem_eq(k, want, wlen);
}

/* 198.18.0.1 . 40000 . 60001, ports padded to 4 bytes: the key of
 * pinholes4 both element tests build */
static const uint8_t pinhole4_key[12] = {
	198, 18, 0, 1, 0x9c, 0x40, 0, 0, 0xea, 0x61, 0, 0,
};

START_TEST(pinhole_ipv4_key)
{
	struct ph_arg a = { { AF_INET, { 198, 18, 0, 1 }, 40000, 60001 }, true, 2500 };
	struct nftnl_set *s;

	build(b_pinhole, &a, 0);
	s = one_elem_msg(NFT_MSG_NEWSETELEM, "pinholes4");
	check_key(s, pinhole4_key, sizeof(pinhole4_key));
	ck_assert_uint_eq(nftnl_set_elem_get_u64(elem_at(s, 0), NFTNL_SET_ELEM_TIMEOUT), 2500);
	nftnl_set_free(s);

	a.timeout = 0;                  /* the set's default: no attribute */
	build(b_pinhole, &a, 0);
	s = one_elem_msg(NFT_MSG_NEWSETELEM, "pinholes4");
	ck_assert(!nftnl_set_elem_is_set(elem_at(s, 0), NFTNL_SET_ELEM_TIMEOUT));
	nftnl_set_free(s);

	a.add = false;
	a.timeout = 999;                /* ignored on delete */
	build(b_pinhole, &a, 0);
	s = one_elem_msg(NFT_MSG_DELSETELEM, "pinholes4");
	check_key(s, pinhole4_key, sizeof(pinhole4_key));
	ck_assert(!nftnl_set_elem_is_set(elem_at(s, 0), NFTNL_SET_ELEM_TIMEOUT));
	nftnl_set_free(s);
}
END_TEST

static int b_pinhole_expire(struct mnl_nlmsg_batch *b, uint32_t *seq,
			    const void *arg)
{
	const struct ph_arg *a = arg;

	return mh_nft_build_pinhole_expire(b, seq, "mosh_helper", &a->ph, a->timeout);
}

static int b_elem_expire(struct mnl_nlmsg_batch *b, uint32_t *seq,
			 const void *arg)
{
	const enum mh_nft_kind *kind = arg;
	struct mh_addr c = { .family = AF_INET, .port = 40000 };

	return mh_nft_build_elem(b, seq, "mosh_helper", *kind, MH_NFT_EXPIRE,
				 &c, 60001, 30000);
}

/* An eviction in place: an update of the existing element (create, never
 * exclusive: the element is there), the same key, the element's timeout
 * and MH_NFT_EXPIRE_MS left; refused without a timeout, and for any kind
 * but a pinhole. */
START_TEST(pinhole_expire_in_place)
{
	struct ph_arg a = { { AF_INET, { 198, 18, 0, 1 }, 40000, 60001 }, true, 30000 };
	struct nftnl_set *s;

	build(b_pinhole_expire, &a, 0);
	s = one_elem_msg(NFT_MSG_NEWSETELEM, "pinholes4");
	ck_assert(msgs[1]->nlmsg_flags & NLM_F_CREATE);
	ck_assert(!(msgs[1]->nlmsg_flags & NLM_F_EXCL));
	check_key(s, pinhole4_key, sizeof(pinhole4_key));
	ck_assert_uint_eq(nftnl_set_elem_get_u64(elem_at(s, 0), NFTNL_SET_ELEM_TIMEOUT), 30000);
	ck_assert_uint_eq(nftnl_set_elem_get_u64(elem_at(s, 0), NFTNL_SET_ELEM_EXPIRATION),
			  MH_NFT_EXPIRE_MS);
	nftnl_set_free(s);

	a.timeout = 0;
	build(b_pinhole_expire, &a, -EINVAL);
	for (enum mh_nft_kind k = MH_NFT_PORT; k <= MH_NFT_MUXP; k++)
		build(b_elem_expire, &k, k == MH_NFT_PINHOLE ? 0 : -EINVAL);
}
END_TEST

static int b_pinhole_rearm(struct mnl_nlmsg_batch *b, uint32_t *seq,
			   const void *arg)
{
	const struct ph_arg *a = arg;

	return mh_nft_build_pinhole_rearm(b, seq, "mosh_helper", &a->ph, 30000,
					  a->timeout);
}

/* The read-back's re-arm: an update of the existing element like the
 * expiry in place, with the timeout and the time left it is given;
 * refused with no time left or more than the timeout. */
START_TEST(pinhole_rearm)
{
	struct ph_arg a = { { AF_INET, { 198, 18, 0, 1 }, 40000, 60001 }, true, 12345 };
	struct nftnl_set *s;

	build(b_pinhole_rearm, &a, 0);
	s = one_elem_msg(NFT_MSG_NEWSETELEM, "pinholes4");
	ck_assert(msgs[1]->nlmsg_flags & NLM_F_CREATE);
	ck_assert(!(msgs[1]->nlmsg_flags & NLM_F_EXCL));
	check_key(s, pinhole4_key, sizeof(pinhole4_key));
	ck_assert_uint_eq(nftnl_set_elem_get_u64(elem_at(s, 0), NFTNL_SET_ELEM_TIMEOUT), 30000);
	ck_assert_uint_eq(nftnl_set_elem_get_u64(elem_at(s, 0), NFTNL_SET_ELEM_EXPIRATION),
			  12345);
	nftnl_set_free(s);

	a.timeout = 0;
	build(b_pinhole_rearm, &a, -EINVAL);
	a.timeout = 30001;
	build(b_pinhole_rearm, &a, -EINVAL);
	a.timeout = 30000;
	build(b_pinhole_rearm, &a, 0);
}
END_TEST

static int b_seen_destroy(struct mnl_nlmsg_batch *b, uint32_t *seq,
			  const void *arg)
{
	return mh_nft_build_seen_destroy(b, seq, "mosh_helper", arg);
}

/* A deleted pinhole's key leaves seen4/6 too: a destroy (no error if it
 * is not there), the pinhole's own key, the family's set. */
START_TEST(seen_destroy)
{
	struct mh_pinhole ph = { AF_INET, { 198, 18, 0, 1 }, 40000, 60001 };
	struct nftnl_set *s;

	build(b_seen_destroy, &ph, 0);
	s = one_elem_msg(30 /* NFT_MSG_DESTROYSETELEM */, "seen4");
	check_key(s, pinhole4_key, sizeof(pinhole4_key));
	nftnl_set_free(s);
	ph.family = AF_INET6;
	build(b_seen_destroy, &ph, 0);
	s = one_elem_msg(30, "seen6");
	nftnl_set_free(s);
	ph.family = AF_UNIX;
	build(b_seen_destroy, &ph, -EINVAL);
}
END_TEST

START_TEST(pinhole_ipv6_key)
{
	static const uint8_t want[24] = {
		0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34,
		0x01, 0xbb, 0, 0, 0xee, 0x48, 0, 0,   /* 443 . 61000 */
	};
	struct ph_arg a = { { AF_INET6, { 0 }, 443, 61000 }, true, 0 };
	struct nftnl_set *s;
	struct mh_pinhole back;

	ck_assert_int_eq(inet_pton(AF_INET6, "fd00::1234", a.ph.addr), 1);
	build(b_pinhole, &a, 0);
	s = one_elem_msg(NFT_MSG_NEWSETELEM, "pinholes6");
	check_key(s, want, sizeof(want));
	nftnl_set_free(s);
	/* and the dump decoder reads the same layout back */
	ck_assert_int_eq(mh_nft_pinhole_from_key(want, sizeof(want), &back), 0);
	ck_assert_int_eq(back.family, AF_INET6);
	ck_assert_mem_eq(back.addr, a.ph.addr, 16);
	ck_assert_uint_eq(back.client_port, 443);
	ck_assert_uint_eq(back.server_port, 61000);
	ck_assert_int_eq(mh_nft_pinhole_from_key(want, 13, &back), -EINVAL);
}
END_TEST

START_TEST(pinhole_bad_family)
{
	struct ph_arg a = { { AF_UNIX, { 0 }, 1, 2 }, true, 0 };

	build(b_pinhole, &a, -EINVAL);
	ck_assert_int_eq(nmsgs, 2);
}
END_TEST

static int b_session(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg)
{
	const int *v = arg;   /* { port, add } */

	return mh_nft_build_session_port(b, seq, "mosh_helper", (uint16_t)v[0], v[1]);
}

START_TEST(session_port_elements)
{
	static const uint8_t want[2] = { 0xea, 0x62 };  /* 60002 */
	int add[2] = { 60002, 1 }, del[2] = { 60002, 0 };
	struct nftnl_set *s;

	build(b_session, add, 0);
	s = one_elem_msg(NFT_MSG_NEWSETELEM, "sessions");
	check_key(s, want, 2);
	nftnl_set_free(s);
	build(b_session, del, 0);
	s = one_elem_msg(NFT_MSG_DELSETELEM, "sessions");
	check_key(s, want, 2);
	nftnl_set_free(s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Single-port mode                                                    */

/* Public port outside the range, timeouts of their own: nothing in the
 * checks below can come from the defaults by accident. */
static const struct mh_ruleset_params sp = {
	.table = "mosh_helper", .port_low = 60000, .port_high = 61000,
	.idle_timeout_ms = 45000, .queue_num = 3, .queue_total = 1,
	.slow_path_rate = 700, .native_queue = false, .public_port = 443,
	.provisional_timeout_ms = 7000, .per_source_rate = 0, .set_size = 0,
	.local_flows = true,
};

/* Indexes of messages in the single-port batch. */
enum {
	S_GUARD = M_RULES_IN, S_RULES_IN = M_RULES_IN + 2,
	S_RULE_OUTPUT = S_RULES_IN + 7, S_RULES_OUT,
	S_ENSURE_MAPS = S_RULES_OUT + 7, S_CHAINS = S_ENSURE_MAPS + 4,
	S_FLUSH = S_CHAINS + 3, S_DELMAPS = S_FLUSH + 3, S_MAPS = S_DELMAPS + 4,
	S_RULE_PRE = S_MAPS + 4, S_RULES_MUXIN, S_RULES_NAT = S_RULES_MUXIN + 8,
	S_OLD_PORTS = S_RULES_NAT + 4, S_SLOW_TAIL = S_OLD_PORTS + 2,
	S_PORT_TAIL = S_SLOW_TAIL + 4, S_END = S_PORT_TAIL + 4, S_COUNT,
};

static const char *const map_names[4] = { "mux4", "mux6", "muxp4", "muxp6" };

START_TEST(sp_message_order)
{
	build(b_ruleset, &sp, 0);
	ck_assert_int_eq(nmsgs, S_COUNT);
	/* the plain table's part, with two more rules in mosh_in */
	for (int i = M_TABLE; i < M_RULE_INPUT; i++)
		ck_assert_uint_ne(msgs[i]->nlmsg_type, T(NFT_MSG_NEWRULE));
	for (int i = M_RULE_INPUT; i < S_ENSURE_MAPS; i++)
		ck_assert_uint_eq(msgs[i]->nlmsg_type, T(NFT_MSG_NEWRULE));
	for (int i = 0; i < 4; i++) {
		ck_assert_uint_eq(msgs[S_ENSURE_MAPS + i]->nlmsg_type, T(NFT_MSG_NEWSET));
		ck_assert_uint_eq(msgs[S_DELMAPS + i]->nlmsg_type, T(NFT_MSG_DELSET));
		ck_assert_uint_eq(msgs[S_MAPS + i]->nlmsg_type, T(NFT_MSG_NEWSET));
	}
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(msgs[S_CHAINS + i]->nlmsg_type, T(NFT_MSG_NEWCHAIN));
		ck_assert(msgs[S_CHAINS + i]->nlmsg_flags & NLM_F_CREATE);
		ck_assert_uint_eq(msgs[S_FLUSH + i]->nlmsg_type, T(NFT_MSG_DELRULE));
	}
	for (int i = S_RULE_PRE; i < S_OLD_PORTS; i++) {
		ck_assert_uint_eq(msgs[i]->nlmsg_type, T(NFT_MSG_NEWRULE));
		ck_assert(msgs[i]->nlmsg_flags & NLM_F_APPEND);
	}
	/* the old `ports` set: named, deleted, after the mux chains' flush */
	ck_assert_uint_eq(msgs[S_OLD_PORTS]->nlmsg_type, T(NFT_MSG_NEWSET));
	ck_assert_uint_eq(msgs[S_OLD_PORTS + 1]->nlmsg_type, T(NFT_MSG_DELSET));
	ck_assert_int_eq(check_old_ports(), S_OLD_PORTS);
	ck_assert_uint_eq(msgs[S_END]->nlmsg_type, NFNL_MSG_BATCH_END);
	for (int i = 0; i < nmsgs; i++) {
		ck_assert(!(msgs[i]->nlmsg_flags & (NLM_F_EXCL | NLM_F_REPLACE)));
		ck_assert_uint_ne(msgs[i]->nlmsg_type, T(NFT_MSG_DELTABLE));
		ck_assert_uint_ne(msgs[i]->nlmsg_type, T(NFT_MSG_DELCHAIN));
	}
}
END_TEST

static void check_map(int idx, const char *name, uint32_t flags, uint32_t key_type,
		      uint32_t key_len, uint64_t timeout)
{
	struct nftnl_set *s = parse_set(msgs[idx], false);

	ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_NAME), name);
	ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_TABLE), "mosh_helper");
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), flags);
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), key_type);
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), key_len);
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE), 13); /* inet_service */
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN), 2);
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE), 65535);
	if (timeout)
		ck_assert_uint_eq(nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT), timeout);
	else
		ck_assert(!nftnl_set_is_set(s, NFTNL_SET_TIMEOUT));
	nftnl_set_free(s);
}

START_TEST(sp_maps)
{
	const uint32_t k4 = (7u << 6) | 13u, k6 = (8u << 6) | 13u;
	const uint32_t conf = NFT_SET_MAP | NFT_SET_TIMEOUT | NFT_SET_EVAL;
	const uint32_t prov = NFT_SET_MAP | NFT_SET_TIMEOUT;
	const uint32_t flags[4] = { conf, conf, prov, prov };
	const uint32_t types[4] = { k4, k6, k4, k6 }, lens[4] = { 8, 20, 8, 20 };
	const uint64_t tmo[4] = { 45000, 45000, 7000, 7000 };
	uint32_t ids[64];
	int nids = 0;

	build(b_ruleset, &sp, 0);
	for (int i = 0; i < 4; i++) {
		struct nftnl_set *s = parse_set(msgs[S_DELMAPS + i], false);

		/* made to exist with the same type first, without timeout */
		check_map(S_ENSURE_MAPS + i, map_names[i], flags[i], types[i], lens[i], 0);
		ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_NAME), map_names[i]);
		nftnl_set_free(s);
		check_map(S_MAPS + i, map_names[i], flags[i], types[i], lens[i], tmo[i]);
	}
	/* every new set of the batch has an id of its own */
	for (int i = 0; i < nmsgs; i++) {
		struct nftnl_set *s;

		if (msgs[i]->nlmsg_type != T(NFT_MSG_NEWSET))
			continue;
		s = parse_set(msgs[i], false);
		ck_assert(nftnl_set_is_set(s, NFTNL_SET_ID));
		ids[nids] = nftnl_set_get_u32(s, NFTNL_SET_ID);
		for (int k = 0; k < nids; k++)
			ck_assert_uint_ne(ids[k], ids[nids]);
		nids++;
		nftnl_set_free(s);
	}
	/* + the local-flow sets (made to exist, re-created), the slowsrc
	 * and slowport clean-ups, seen4/6 made to exist */
	ck_assert_int_eq(nids, 4 + 2 + 4 + 4 + 2 + 4 + 2 + 2);
}
END_TEST

static void check_chain_full(int idx, const char *name, int hook, int prio,
			     const char *type)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	ck_assert_int_eq(nftnl_chain_nlmsg_parse(msgs[idx], c), 0);
	ck_assert_str_eq(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), name);
	ck_assert_str_eq(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), "mosh_helper");
	if (hook < 0) {
		ck_assert(!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM));
		ck_assert(!nftnl_chain_is_set(c, NFTNL_CHAIN_TYPE));
	} else {
		ck_assert_uint_eq(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), (uint32_t)hook);
		ck_assert_int_eq(nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO), prio);
		ck_assert_str_eq(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), type);
		ck_assert_uint_eq(nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY), NF_ACCEPT);
	}
	nftnl_chain_free(c);
}

static void check_flush(int idx, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	ck_assert_uint_eq(msgs[idx]->nlmsg_type, T(NFT_MSG_DELRULE));
	ck_assert_int_eq(nftnl_rule_nlmsg_parse(msgs[idx], r), 0);
	ck_assert_str_eq(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), chain);
	ck_assert(!nftnl_rule_is_set(r, NFTNL_RULE_HANDLE));
	nftnl_rule_free(r);
}

START_TEST(sp_chains)
{
	build(b_ruleset, &sp, 0);
	/* after conntrack (-200), before the dstnat priority (-100) */
	check_chain_full(S_CHAINS + 0, "mux_pre", NF_INET_PRE_ROUTING, -150, "filter");
	check_chain_full(S_CHAINS + 1, "mux_in", -1, 0, NULL);
	check_chain_full(S_CHAINS + 2, "mux_nat", NF_INET_PRE_ROUTING, -100, "nat");
	check_flush(S_FLUSH + 0, "mux_pre");
	check_flush(S_FLUSH + 1, "mux_in");
	check_flush(S_FLUSH + 2, "mux_nat");
	/* the plain chains are unchanged */
	check_chain(M_CHAIN_INPUT, "input", NF_INET_LOCAL_IN);
	check_chain(M_CHAIN_OUT, "mosh_out", -1);
}
END_TEST

static void check_sp_shapes(bool native)
{
	static const char *conf = "meta cmp meta cmp payload payload lookup ct dynset immediate";
	static const char *prov = "meta cmp meta cmp payload payload lookup immediate";
	static const char *nat = "meta cmp meta cmp payload cmp payload payload lookup nat";
	const struct rule_want want[] = {
		{ S_GUARD + 0, "mosh_in", "ct bitwise cmp counter immediate" },
		{ S_GUARD + 1, "mosh_in", "ct cmp meta cmp ct cmp counter immediate" },
		{ S_RULES_IN + 0, "mosh_in", "meta cmp meta cmp payload payload payload lookup dynset immediate" },
		{ S_RULES_IN + 4, "mosh_in", "meta cmp meta cmp payload payload payload lookup dynset immediate" },
		{ S_RULES_IN + 6, "mosh_in", "counter immediate" },
		{ S_RULES_OUT + 4, "mosh_out", "meta cmp meta cmp payload payload payload dynset immediate" },
		{ S_RULES_OUT + 6, "mosh_out", "counter immediate" },
		{ S_RULE_PRE, "mux_pre", "meta cmp payload cmp immediate" },
		{ S_RULES_MUXIN + 0, "mux_in", conf },
		{ S_RULES_MUXIN + 1, "mux_in", conf },
		{ S_RULES_MUXIN + 2, "mux_in", prov },
		{ S_RULES_MUXIN + 3, "mux_in", prov },
		{ S_RULES_MUXIN + 4, "mux_in", "meta cmp payload cmp counter immediate" },
		{ S_RULES_MUXIN + 5, "mux_in", "payload cmp counter immediate" },
		{ S_RULES_MUXIN + 6, "mux_in", native ? "limit queue" : "limit target" },
		{ S_RULES_MUXIN + 7, "mux_in", "counter immediate" },
		{ S_RULES_NAT + 0, "mux_nat", nat },
		{ S_RULES_NAT + 1, "mux_nat", nat },
		{ S_RULES_NAT + 2, "mux_nat", nat },
		{ S_RULES_NAT + 3, "mux_nat", nat },
	};
	struct mh_ruleset_params p = sp;

	p.native_queue = native;
	build(b_ruleset, &p, 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct prule r;
		const char *c;

		parse_rule(msgs[want[i].idx], &r);
		ck_assert_str_eq(nftnl_rule_get_str(r.r, NFTNL_RULE_CHAIN), want[i].chain);
		ck_assert_str_eq(r.names, want[i].names);
		c = rule_comment(&r);
		ck_assert_ptr_nonnull(c);
		ck_assert_uint_gt(strlen(c), 10);
		ck_assert_uint_lt(strlen(c), NFTNL_UDATA_COMMENT_MAXLEN);
		nftnl_rule_free(r.r);
	}
}

START_TEST(sp_shapes_compat)
{
	check_sp_shapes(false);
}
END_TEST

START_TEST(sp_shapes_native)
{
	check_sp_shapes(true);
}
END_TEST

static void assert_cmp16(struct nftnl_expr *e, uint32_t op, uint16_t host)
{
	uint32_t len = 0;
	const void *d = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
	uint16_t want = htons(host);

	ck_assert_str_eq(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "cmp");
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_SREG), NFT_REG_1);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP), op);
	ck_assert_uint_eq(len, 2);
	ck_assert_mem_eq(d, &want, 2);
}

START_TEST(sp_pre_jump)
{
	struct prule r;

	build(b_ruleset, &sp, 0);
	parse_rule(msgs[S_RULE_PRE], &r);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[0], NFTNL_EXPR_META_KEY), NFT_META_L4PROTO);
	assert_cmp_u8(r.e[1], IPPROTO_UDP);
	assert_payload(r.e[2], NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	assert_cmp16(r.e[3], NFT_CMP_EQ, 443);
	assert_verdict(r.e[4], NFT_JUMP, "mux_in");
	nftnl_rule_free(r.r);
}
END_TEST

/* nfproto and udp matches */
static void check_mux_matches(struct prule *r, int first, uint8_t nfproto)
{
	ck_assert_uint_eq(nftnl_expr_get_u32(r->e[first], NFTNL_EXPR_META_KEY), NFT_META_NFPROTO);
	assert_cmp_u8(r->e[first + 1], nfproto);
	ck_assert_uint_eq(nftnl_expr_get_u32(r->e[first + 2], NFTNL_EXPR_META_KEY),
			  NFT_META_L4PROTO);
	assert_cmp_u8(r->e[first + 3], IPPROTO_UDP);
}

/* source address . source port into consecutive registers */
static void check_key_loads(struct prule *r, int at, uint8_t nfproto)
{
	uint32_t alen = nfproto == NFPROTO_IPV4 ? 4 : 16;

	assert_payload(r->e[at], NFT_PAYLOAD_NETWORK_HEADER, alen == 4 ? 12 : 8, alen,
		       NFT_REG_1);
	assert_payload(r->e[at + 1], NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2,
		       NFT_REG32_00 + alen / 4);
}

/* register r (nft numbering) -> first 32-bit register it covers */
static uint32_t reg32(uint32_t reg)
{
	return reg <= NFT_REG_4 ? NFT_REG32_00 + (reg - NFT_REG_1) * 4 : reg;
}

START_TEST(sp_mux_in_rules)
{
	for (int i = 0; i < 2; i++) {
		uint8_t nfp = i == 0 ? NFPROTO_IPV4 : NFPROTO_IPV6;
		uint32_t keyend = NFT_REG32_00 + (i == 0 ? 2 : 5);  /* past the key */
		const char *conf = i == 0 ? "mux4" : "mux6";
		const char *prov = i == 0 ? "muxp4" : "muxp6";
		uint32_t dreg;
		struct prule r;

		build(b_ruleset, &sp, 0);
		/* confirmed: match, then refresh with data from the flow */
		parse_rule(msgs[S_RULES_MUXIN + i], &r);
		check_mux_matches(&r, 0, nfp);
		check_key_loads(&r, 4, nfp);
		assert_lookup(r.e[6], conf);
		ck_assert(!nftnl_expr_is_set(r.e[6], NFTNL_EXPR_LOOKUP_DREG));
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[7], NFTNL_EXPR_CT_KEY), NFT_CT_PROTO_SRC);
		ck_assert_uint_eq(nftnl_expr_get_u8(r.e[7], NFTNL_EXPR_CT_DIR), IP_CT_DIR_REPLY);
		dreg = nftnl_expr_get_u32(r.e[7], NFTNL_EXPR_CT_DREG);
		ck_assert_uint_ge(reg32(dreg), keyend);       /* the key stays intact */
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[8], NFTNL_EXPR_DYNSET_OP),
				  NFT_DYNSET_OP_UPDATE);
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[8], NFTNL_EXPR_DYNSET_SREG_KEY), NFT_REG_1);
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[8], NFTNL_EXPR_DYNSET_SREG_DATA), dreg);
		ck_assert_str_eq(nftnl_expr_get_str(r.e[8], NFTNL_EXPR_DYNSET_SET_NAME), conf);
		ck_assert(!nftnl_expr_is_set(r.e[8], NFTNL_EXPR_DYNSET_TIMEOUT)); /* map's */
		assert_verdict(r.e[9], NF_ACCEPT, NULL);
		nftnl_rule_free(r.r);
		/* provisional: a plain match, never refreshed */
		parse_rule(msgs[S_RULES_MUXIN + 2 + i], &r);
		check_mux_matches(&r, 0, nfp);
		check_key_loads(&r, 4, nfp);
		assert_lookup(r.e[6], prov);
		ck_assert(!nftnl_expr_is_set(r.e[6], NFTNL_EXPR_LOOKUP_DREG));
		assert_verdict(r.e[7], NF_ACCEPT, NULL);
		nftnl_rule_free(r.r);
	}
}
END_TEST

/* Issue 11: what no client sends is dropped before the queue (and before
 * the per-source budgets): a UDP length under 48 (payload under 40), and a
 * payload whose first 3 bytes are not zero. */
START_TEST(sp_mux_in_drops_what_cannot_be_ssp)
{
	static const uint8_t zero3[3];
	struct mh_ruleset_params p = sp;
	uint32_t len = 0;
	const void *d;
	struct prule r;

	build(b_ruleset, &p, 0);   /* (slow_rules_mux_in: before the budgets) */
	parse_rule(msgs[S_RULES_MUXIN + 4], &r);
	ck_assert_str_eq(r.names, "meta cmp payload cmp counter immediate");
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[0], NFTNL_EXPR_META_KEY), NFT_META_L4PROTO);
	assert_cmp_u8(r.e[1], IPPROTO_UDP);
	assert_payload(r.e[2], NFT_PAYLOAD_TRANSPORT_HEADER, 4, 2, NFT_REG_1);
	assert_cmp16(r.e[3], NFT_CMP_LT, 48);
	assert_verdict(r.e[5], NF_DROP, NULL);
	nftnl_rule_free(r.r);
	parse_rule(msgs[S_RULES_MUXIN + 5], &r);
	ck_assert_str_eq(r.names, "payload cmp counter immediate");
	assert_payload(r.e[0], NFT_PAYLOAD_TRANSPORT_HEADER, 8, 3, NFT_REG_1);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[1], NFTNL_EXPR_CMP_OP), NFT_CMP_NEQ);
	d = nftnl_expr_get(r.e[1], NFTNL_EXPR_CMP_DATA, &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(d, zero3, 3);
	assert_verdict(r.e[3], NF_DROP, NULL);
	nftnl_rule_free(r.r);
}
END_TEST

START_TEST(sp_mux_in_queue_and_drop)
{
	for (int native = 0; native < 2; native++) {
		struct mh_ruleset_params p = sp;
		struct prule r;

		p.native_queue = native;
		p.queue_total = 2;
		build(b_ruleset, &p, 0);
		parse_rule(msgs[S_RULES_MUXIN + 6], &r);
		ck_assert_uint_eq(nftnl_expr_get_u64(r.e[0], NFTNL_EXPR_LIMIT_RATE), 700);
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[0], NFTNL_EXPR_LIMIT_BURST), 700);
		ck_assert_uint_eq(nftnl_expr_get_u64(r.e[0], NFTNL_EXPR_LIMIT_UNIT), 1);
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[0], NFTNL_EXPR_LIMIT_FLAGS), 0);
		if (native) {
			ck_assert_uint_eq(nftnl_expr_get_u16(r.e[1], NFTNL_EXPR_QUEUE_NUM), 3);
			ck_assert_uint_eq(nftnl_expr_get_u16(r.e[1], NFTNL_EXPR_QUEUE_TOTAL), 2);
			ck_assert_uint_eq(nftnl_expr_get_u16(r.e[1], NFTNL_EXPR_QUEUE_FLAGS),
					  NFT_QUEUE_FLAG_CPU_FANOUT);   /* never bypass */
		} else {
			uint32_t len = 0;
			const struct xt_NFQ_info_v3 *info =
				nftnl_expr_get(r.e[1], NFTNL_EXPR_TG_INFO, &len);

			ck_assert_str_eq(nftnl_expr_get_str(r.e[1], NFTNL_EXPR_TG_NAME), "NFQUEUE");
			ck_assert_uint_eq(nftnl_expr_get_u32(r.e[1], NFTNL_EXPR_TG_REV), 3);
			ck_assert_uint_eq(len, sizeof(*info));
			ck_assert_uint_eq(info->queuenum, 3);
			ck_assert_uint_eq(info->queues_total, 2);
			ck_assert_uint_eq(info->flags, NFQ_FLAG_CPU_FANOUT);
		}
		nftnl_rule_free(r.r);
		parse_rule(msgs[S_RULES_MUXIN + 7], &r);
		assert_verdict(r.e[1], NF_DROP, NULL);
		nftnl_rule_free(r.r);
	}
}
END_TEST

/* mux_nat: v4 confirmed, v4 provisional, v6 confirmed, v6 provisional */
START_TEST(sp_nat_rules)
{
	static const char *sets[4] = { "mux4", "muxp4", "mux6", "muxp6" };

	build(b_ruleset, &sp, 0);
	for (int i = 0; i < 4; i++) {
		uint8_t nfp = i < 2 ? NFPROTO_IPV4 : NFPROTO_IPV6;
		uint32_t keyend = NFT_REG32_00 + (i < 2 ? 2 : 5), dreg;
		struct prule r;

		parse_rule(msgs[S_RULES_NAT + i], &r);
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[0], NFTNL_EXPR_META_KEY), NFT_META_NFPROTO);
		assert_cmp_u8(r.e[1], nfp);
		assert_cmp_u8(r.e[3], IPPROTO_UDP);
		assert_payload(r.e[4], NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
		assert_cmp16(r.e[5], NFT_CMP_EQ, 443);
		check_key_loads(&r, 6, nfp);
		ck_assert_str_eq(nftnl_expr_get_str(r.e[8], NFTNL_EXPR_LOOKUP_SET), sets[i]);
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[8], NFTNL_EXPR_LOOKUP_SREG), NFT_REG_1);
		ck_assert(nftnl_expr_is_set(r.e[8], NFTNL_EXPR_LOOKUP_DREG));
		dreg = nftnl_expr_get_u32(r.e[8], NFTNL_EXPR_LOOKUP_DREG);
		ck_assert_uint_ge(reg32(dreg), keyend);
		ck_assert_str_eq(nftnl_expr_get_str(r.e[9], NFTNL_EXPR_NAME), "nat");
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[9], NFTNL_EXPR_NAT_TYPE), NFT_NAT_DNAT);
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[9], NFTNL_EXPR_NAT_FAMILY), nfp);
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[9], NFTNL_EXPR_NAT_REG_PROTO_MIN), dreg);
		/* port only: the destination address is kept */
		ck_assert(!nftnl_expr_is_set(r.e[9], NFTNL_EXPR_NAT_REG_ADDR_MIN));
		ck_assert(!nftnl_expr_is_set(r.e[9], NFTNL_EXPR_NAT_REG_ADDR_MAX));
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[9], NFTNL_EXPR_NAT_FLAGS),
				  NF_NAT_RANGE_PROTO_SPECIFIED);
		nftnl_rule_free(r.r);
	}
}
END_TEST

START_TEST(sp_input_guard)
{
	uint32_t len = 0, state_mask = NF_CT_STATE_INVALID_BIT | NF_CT_STATE_UNTRACKED_BIT;
	const void *d;
	struct prule r;

	build(b_ruleset, &sp, 0);
	/* first: no conntrack entry (untracked, invalid) -> drop */
	parse_rule(msgs[S_GUARD], &r);
	ck_assert_str_eq(nftnl_rule_get_str(r.r, NFTNL_RULE_CHAIN), "mosh_in");
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[0], NFTNL_EXPR_CT_KEY), NFT_CT_STATE);
	d = nftnl_expr_get(r.e[1], NFTNL_EXPR_BITWISE_MASK, &len);
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(d, &state_mask, 4);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[2], NFTNL_EXPR_CMP_OP), NFT_CMP_NEQ);
	assert_verdict(r.e[4], NF_DROP, NULL);
	nftnl_rule_free(r.r);
	/* then: original direction whose original destination port is not the
	 * public port -> drop (replies to the host's own flows pass on) */
	parse_rule(msgs[S_GUARD + 1], &r);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[0], NFTNL_EXPR_CT_KEY), NFT_CT_DIRECTION);
	assert_cmp_u8(r.e[1], IP_CT_DIR_ORIGINAL);
	assert_cmp_u8(r.e[3], IPPROTO_UDP);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[4], NFTNL_EXPR_CT_KEY), NFT_CT_PROTO_DST);
	ck_assert_uint_eq(nftnl_expr_get_u8(r.e[4], NFTNL_EXPR_CT_DIR), IP_CT_DIR_ORIGINAL);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[4], NFTNL_EXPR_CT_DREG), NFT_REG_1);
	assert_cmp16(r.e[5], NFT_CMP_NEQ, 443);
	assert_verdict(r.e[7], NF_DROP, NULL);
	nftnl_rule_free(r.r);
	/* the pinhole rule follows, and the replies to the host's own flows
	 * take the same sets as without the mode */
	check_pinhole_rule(S_RULES_IN + 0, NFPROTO_IPV4, 12, 4, 0, 2, "pinholes4",
			   "pinholes4");
	check_localflow_rule(S_RULES_IN + 4, NFPROTO_IPV4, 12, 4, 0, 2, "localflows4", true);
	check_localflow_rule(S_RULES_IN + 5, NFPROTO_IPV6, 8, 16, 0, 2, "localflows6", true);
	check_localflow_rule(S_RULES_OUT + 4, NFPROTO_IPV4, 16, 4, 2, 0, "localflows4", false);
}
END_TEST

/* Copies of one batch's messages, to compare two batches. */
struct saved {
	char buf[2 * LIMIT];
	const struct nlmsghdr *m[MAXMSG];
	int n;
};

static void save(struct saved *sv)
{
	size_t off = 0;

	sv->n = nmsgs;
	for (int i = 0; i < nmsgs; i++) {
		memcpy(sv->buf + off, msgs[i], msgs[i]->nlmsg_len);
		sv->m[i] = (const struct nlmsghdr *)(sv->buf + off);
		off += NLMSG_ALIGN(msgs[i]->nlmsg_len);
	}
}

/* same message but for the sequence number */
static bool same_msg(const struct nlmsghdr *a, const struct nlmsghdr *b)
{
	return a->nlmsg_len == b->nlmsg_len && a->nlmsg_type == b->nlmsg_type &&
	       a->nlmsg_flags == b->nlmsg_flags &&
	       !memcmp((const char *)a + sizeof(*a), (const char *)b + sizeof(*b),
		       a->nlmsg_len - sizeof(*a));
}

/* Single-port mode changes nothing of the plain table but the two guard
 * rules; with the mode off, the plain batch is followed only by the
 * clean-up of the mode's objects. */
START_TEST(sp_off_is_plain_batch)
{
	static struct saved off, on;
	struct mh_ruleset_params p = sp;

	p.public_port = 0;
	build(b_ruleset, &p, 0);
	save(&off);
	build(b_ruleset, &sp, 0);
	save(&on);
	ck_assert_int_eq(off.n, M_COUNT);
	for (int i = 0; i < M_OFF_CHAINS; i++) {
		int k = i < S_GUARD ? i : i + 2;

		ck_assert_msg(same_msg(off.m[i], on.m[k]), "message %d differs", i);
	}
	/* and the guard rules really are extra: the on-batch's next message
	 * after the plain rules is the mode's first map */
	ck_assert_uint_eq(on.m[M_OFF_CHAINS + 2]->nlmsg_type, T(NFT_MSG_NEWSET));
}
END_TEST

/* Kernels before 6.5 refuse a lookup in a map that loads no value
 * (map_lookup_dreg): only mux_in's four mapping rules change, each to a
 * lookup that loads the server port into a register clear of the key and
 * a compare of it with 0; the confirmed rules still refresh with the key
 * in reg 1 and the flow's port. */
START_TEST(sp_mux_in_rules_dreg)
{
	static const char *conf = "meta cmp meta cmp payload payload lookup cmp ct dynset immediate";
	static const char *prov = "meta cmp meta cmp payload payload lookup cmp immediate";
	static struct saved plain, dreg;
	struct mh_ruleset_params p = sp;

	build(b_ruleset, &sp, 0);
	save(&plain);
	p.map_lookup_dreg = true;
	build(b_ruleset, &p, 0);
	save(&dreg);
	ck_assert_int_eq(dreg.n, plain.n);
	for (int i = 0; i < plain.n; i++)
		if (i < S_RULES_MUXIN || i >= S_RULES_MUXIN + 4)
			ck_assert_msg(same_msg(plain.m[i], dreg.m[i]), "message %d differs", i);
	for (int i = 0; i < 4; i++) {
		bool confirmed = i < 2;
		uint32_t keyend = NFT_REG32_00 + (i % 2 == 0 ? 2 : 5);  /* past the key */
		uint32_t len = 0, reg;
		const uint8_t *d;
		struct prule r;

		parse_rule(dreg.m[S_RULES_MUXIN + i], &r);
		ck_assert_str_eq(r.names, confirmed ? conf : prov);
		assert_lookup(r.e[6], map_names[i]);
		ck_assert(nftnl_expr_is_set(r.e[6], NFTNL_EXPR_LOOKUP_DREG));
		reg = nftnl_expr_get_u32(r.e[6], NFTNL_EXPR_LOOKUP_DREG);
		ck_assert_uint_ge(reg32(reg), keyend);        /* the key stays intact */
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[7], NFTNL_EXPR_CMP_SREG), reg);
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[7], NFTNL_EXPR_CMP_OP), NFT_CMP_NEQ);
		d = nftnl_expr_get(r.e[7], NFTNL_EXPR_CMP_DATA, &len);
		ck_assert_uint_eq(len, 2);                     /* a server port, never 0 */
		ck_assert(d[0] == 0 && d[1] == 0);
		if (confirmed) {
			ck_assert_uint_eq(nftnl_expr_get_u32(r.e[9], NFTNL_EXPR_DYNSET_SREG_KEY),
					  NFT_REG_1);
			ck_assert_uint_eq(nftnl_expr_get_u32(r.e[9], NFTNL_EXPR_DYNSET_SREG_DATA),
					  nftnl_expr_get_u32(r.e[8], NFTNL_EXPR_CT_DREG));
		}
		nftnl_rule_free(r.r);
	}
}
END_TEST

static int b_map_probe(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg)
{
	(void)arg;
	return mh_nft_build_map_probe(b, seq);
}

/* The bytes of a rule message's expressions (NFTA_RULE_EXPRESSIONS). */
static const struct nlattr *rule_exprs(const struct nlmsghdr *nlh)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_RULE_EXPRESSIONS)
			return a;
	return NULL;
}

/* The map probe tries exactly the rule the plain form puts in mux_in (the
 * IPv4 provisional one), in a scratch table: what the kernel accepts
 * there, it accepts in the ruleset. */
START_TEST(map_probe_batch)
{
	static struct saved probe;
	const struct nlattr *pe, *re;
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_set *s;
	struct prule r;

	build(b_map_probe, NULL, 0);
	save(&probe);
	ck_assert_int_eq(probe.n, 7);
	ck_assert_uint_eq(probe.m[1]->nlmsg_type, T(NFT_MSG_NEWTABLE));
	ck_assert_int_eq(nftnl_table_nlmsg_parse(probe.m[1], t), 0);
	ck_assert_str_eq(nftnl_table_get_str(t, NFTNL_TABLE_NAME), "mosh_helper_probe");
	s = parse_set(probe.m[2], false);
	ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_NAME), "muxp4");
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), NFT_SET_MAP | NFT_SET_TIMEOUT);
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), 8);
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN), 2);
	ck_assert_int_eq(nftnl_chain_nlmsg_parse(probe.m[3], c), 0);
	ck_assert(!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM));  /* no hook, no module */
	ck_assert_uint_eq(probe.m[5]->nlmsg_type, T(NFT_MSG_DELTABLE));
	parse_rule(probe.m[4], &r);
	ck_assert_str_eq(nftnl_rule_get_str(r.r, NFTNL_RULE_TABLE), "mosh_helper_probe");
	ck_assert(!nftnl_expr_is_set(r.e[6], NFTNL_EXPR_LOOKUP_DREG));
	nftnl_rule_free(r.r);
	build(b_ruleset, &sp, 0);
	pe = rule_exprs(probe.m[4]);
	re = rule_exprs(msgs[S_RULES_MUXIN + 2]);
	ck_assert_ptr_nonnull(pe);
	ck_assert_ptr_nonnull(re);
	ck_assert_uint_eq(pe->nla_len, re->nla_len);
	ck_assert_mem_eq(pe, re, pe->nla_len);
	nftnl_table_free(t);
	nftnl_chain_free(c);
	nftnl_set_free(s);
}
END_TEST

START_TEST(sp_off_cleanup_tail)
{
	static const char *chains[3] = { "mux_pre", "mux_in", "mux_nat" };
	const uint32_t k4 = (7u << 6) | 13u, k6 = (8u << 6) | 13u;
	const uint32_t conf = NFT_SET_MAP | NFT_SET_TIMEOUT | NFT_SET_EVAL;
	const uint32_t prov = NFT_SET_MAP | NFT_SET_TIMEOUT;
	const uint32_t flags[4] = { conf, conf, prov, prov };
	const uint32_t types[4] = { k4, k6, k4, k6 }, lens[4] = { 8, 20, 8, 20 };

	build(b_ruleset, &defaults, 0);
	for (int i = 0; i < 3; i++) {
		struct nftnl_chain *c = nftnl_chain_alloc();

		/* named as bare chains: no hook registered, no nat module asked */
		check_chain_full(M_OFF_CHAINS + i, chains[i], -1, 0, NULL);
		check_flush(M_OFF_FLUSH + i, chains[i]);
		ck_assert_int_eq(nftnl_chain_nlmsg_parse(msgs[M_OFF_DELCHAINS + i], c), 0);
		ck_assert_str_eq(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), chains[i]);
		nftnl_chain_free(c);
	}
	for (int i = 0; i < 4; i++) {
		struct nftnl_set *s = parse_set(msgs[M_OFF_DELMAPS + i], false);

		check_map(M_OFF_MAPS + i, map_names[i], flags[i], types[i], lens[i], 0);
		ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_NAME), map_names[i]);
		nftnl_set_free(s);
	}
}
END_TEST

START_TEST(sp_table_name_from_params)
{
	struct mh_ruleset_params p = sp;
	struct prule r;

	p.table = "other_table";
	build(b_ruleset, &p, 0);
	parse_rule(msgs[S_RULES_NAT], &r);
	ck_assert_str_eq(nftnl_rule_get_str(r.r, NFTNL_RULE_TABLE), "other_table");
	nftnl_rule_free(r.r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Per-source budgets and set size                                     */

/* Indexes of messages in the plain batch with per-source budgets on:
 * two sets made to exist after the pinhole sets, both emptied after
 * `sessions`, two rules before mosh_in's queue rule, no clean-up tail. */
enum {
	O_ENSURE_SLOW = M_ENSURE_LF6 + 1,
	O_FLUSH_SLOW = M_FLUSH_SESSIONS + 3,
	O_RULES_IN = M_RULES_IN + 4,
	O_SLOW_RULES = O_RULES_IN + 2,
	O_RULE_OUTPUT = O_RULES_IN + 9,
	O_RULES_OUT,
	O_END = M_END + 2, O_COUNT,
};

static const char *dynset_set(struct prule *r)
{
	for (int i = 0; i < r->n; i++)
		if (!strcmp(nftnl_expr_get_str(r->e[i], NFTNL_EXPR_NAME), "dynset"))
			return nftnl_expr_get_str(r->e[i], NFTNL_EXPR_DYNSET_SET_NAME);
	return NULL;
}

/* Does the message create, empty or delete a set whose name starts with
 * prefix, or is it a rule that updates one? */
static bool names_set(const struct nlmsghdr *nlh, const char *prefix)
{
	uint16_t t = nlh->nlmsg_type;
	bool hit = false;

	if (t == T(NFT_MSG_NEWSET) || t == T(NFT_MSG_DELSET) ||
	    t == T(NFT_MSG_NEWSETELEM) || t == T(NFT_MSG_DELSETELEM)) {
		struct nftnl_set *s = parse_set(nlh, t == T(NFT_MSG_NEWSETELEM) ||
						     t == T(NFT_MSG_DELSETELEM));

		hit = !strncmp(nftnl_set_get_str(s, NFTNL_SET_NAME), prefix, strlen(prefix));
		nftnl_set_free(s);
	} else if (t == T(NFT_MSG_NEWRULE)) {
		struct prule r;
		const char *set;

		parse_rule(nlh, &r);
		set = dynset_set(&r);
		hit = set && !strncmp(set, prefix, strlen(prefix));
		nftnl_rule_free(r.r);
	}
	return hit;
}

static bool names_slowsrc(const struct nlmsghdr *nlh)
{
	return names_set(nlh, "slowsrc");
}

static bool names_slowport(const struct nlmsghdr *nlh)
{
	return names_set(nlh, "slowport");
}

/* Off (0): the batch is the one from before the budgets existed plus a
 * clean-up tail. On: the same batch with six messages more and no tail. */
START_TEST(slow_off_is_old_batch_plus_tail)
{
	static struct saved off, on;
	struct mh_ruleset_params p = defaults;
	int k = 0, extra = 0;

	build(b_ruleset, &defaults, 0);
	save(&off);
	p.per_source_rate = 200;
	build(b_ruleset, &p, 0);
	save(&on);
	ck_assert_int_eq(off.n, M_COUNT);
	ck_assert_int_eq(on.n, O_COUNT);
	for (int i = 0; i < on.n - 1; i++) {
		if (names_slowsrc(on.m[i])) {
			extra++;
			continue;
		}
		if (k == M_OFF_SLOW)
			k = M_OFF_PORT;        /* skip the off-batch's slowsrc tail */
		ck_assert_msg(same_msg(on.m[i], off.m[k]), "on %d differs from off %d", i, k);
		k++;
	}
	ck_assert_int_eq(extra, 6);
	/* what the on-batch lacks is the off-batch's slowsrc tail; the
	 * per-session one (off in both) follows, then both end */
	ck_assert_int_eq(k, M_END);
	ck_assert(same_msg(on.m[on.n - 1], off.m[M_END]));
	for (int i = 0; i < M_OFF_SLOW; i++)
		ck_assert_msg(!names_slowsrc(off.m[i]), "off message %d uses slowsrc", i);
	for (int i = M_OFF_SLOW; i < M_OFF_PORT; i++)
		ck_assert(names_slowsrc(off.m[i]));
}
END_TEST

/* a slowsrc set as the batch creates it */
static void check_slow_set(const struct nlmsghdr *nlh, const char *name,
			   uint32_t key_type, uint32_t key_len)
{
	struct nftnl_set *s = parse_set(nlh, false);

	ck_assert_uint_eq(nlh->nlmsg_type, T(NFT_MSG_NEWSET));
	ck_assert(nlh->nlmsg_flags & NLM_F_CREATE);
	ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_NAME), name);
	ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_TABLE), "mosh_helper");
	/* flags dynamic,timeout: updated from the packet path, elements expire */
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), NFT_SET_TIMEOUT | NFT_SET_EVAL);
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), key_type);
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), key_len);
	ck_assert(!nftnl_set_is_set(s, NFTNL_SET_DATA_TYPE));
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE), 65535);
	/* longer than the bucket's refill time (burst / rate = 1 s) */
	ck_assert_uint_ge(nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT), 1500);
	ck_assert_uint_le(nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT), 10000);
	ck_assert(nftnl_set_is_set(s, NFTNL_SET_ID));
	nftnl_set_free(s);
}

START_TEST(slow_sets_and_flush)
{
	struct mh_ruleset_params p = defaults;

	p.per_source_rate = 200;
	build(b_ruleset, &p, 0);
	check_slow_set(msgs[O_ENSURE_SLOW], "slowsrc4", 7, 4);
	check_slow_set(msgs[O_ENSURE_SLOW + 1], "slowsrc6", 8, 16);
	for (int i = 0; i < 2; i++) {
		struct nftnl_set *s = parse_set(msgs[O_FLUSH_SLOW + i], true);

		/* emptied in place: every source starts with a full budget */
		ck_assert_uint_eq(msgs[O_FLUSH_SLOW + i]->nlmsg_type, T(NFT_MSG_DELSETELEM));
		ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_NAME), i ? "slowsrc6" : "slowsrc4");
		ck_assert_int_eq(count_elems(s), 0);
		nftnl_set_free(s);
	}
	/* after the chains are flushed, never deleted (mux_in, flushed only
	 * later, may still use them) */
	ck_assert_int_gt(O_FLUSH_SLOW, M_FLUSH_OUT + 2);
	for (int i = 0; i < nmsgs; i++)
		if (msgs[i]->nlmsg_type == T(NFT_MSG_DELSET))
			ck_assert(!names_slowsrc(msgs[i]));
}
END_TEST

START_TEST(slow_off_tail)
{
	build(b_ruleset, &defaults, 0);
	check_slow_set(msgs[M_OFF_SLOW], "slowsrc4", 7, 4);
	check_slow_set(msgs[M_OFF_SLOW + 1], "slowsrc6", 8, 16);
	for (int i = 0; i < 2; i++) {
		struct nftnl_set *s = parse_set(msgs[M_OFF_DELSLOW + i], false);

		ck_assert_uint_eq(msgs[M_OFF_DELSLOW + i]->nlmsg_type, T(NFT_MSG_DELSET));
		ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_NAME), i ? "slowsrc6" : "slowsrc4");
		nftnl_set_free(s);
	}
}
END_TEST

/* The per-source rule: [udp dport @sessions] source (v6: & /64) into
 * reg 1, dynset update with limit over RATE inside, counter, drop. first
 * is the index of the nfproto match. */
static void check_slow_rule(int idx, const char *chain, int first, bool v4,
			    uint32_t rate)
{
	static const uint8_t mask64[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct prule r;
	struct nftnl_expr *d, *lim;
	uint32_t len = 0;
	int at = first + 3;
	const char *c;

	parse_rule(msgs[idx], &r);
	ck_assert_str_eq(nftnl_rule_get_str(r.r, NFTNL_RULE_CHAIN), chain);
	if (first) {
		assert_cmp_u8(r.e[1], IPPROTO_UDP);
		assert_payload(r.e[2], NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
		assert_lookup(r.e[3], "sessions");
	}
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[first], NFTNL_EXPR_META_KEY), NFT_META_NFPROTO);
	assert_cmp_u8(r.e[first + 1], v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
	assert_payload(r.e[first + 2], NFT_PAYLOAD_NETWORK_HEADER, v4 ? 12 : 8,
		       v4 ? 4 : 16, NFT_REG_1);
	if (!v4) {
		const void *m = nftnl_expr_get(r.e[at], NFTNL_EXPR_BITWISE_MASK, &len);

		ck_assert_str_eq(nftnl_expr_get_str(r.e[at], NFTNL_EXPR_NAME), "bitwise");
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[at], NFTNL_EXPR_BITWISE_SREG), NFT_REG_1);
		ck_assert_uint_eq(nftnl_expr_get_u32(r.e[at], NFTNL_EXPR_BITWISE_DREG), NFT_REG_1);
		ck_assert_uint_eq(len, 16);
		ck_assert_mem_eq(m, mask64, 16);       /* the /64 */
		at++;
	}
	d = r.e[at];
	ck_assert_str_eq(nftnl_expr_get_str(d, NFTNL_EXPR_NAME), "dynset");
	ck_assert_uint_eq(nftnl_expr_get_u32(d, NFTNL_EXPR_DYNSET_OP), NFT_DYNSET_OP_UPDATE);
	ck_assert_uint_eq(nftnl_expr_get_u32(d, NFTNL_EXPR_DYNSET_SREG_KEY), NFT_REG_1);
	ck_assert_str_eq(nftnl_expr_get_str(d, NFTNL_EXPR_DYNSET_SET_NAME),
			 v4 ? "slowsrc4" : "slowsrc6");
	ck_assert(!nftnl_expr_is_set(d, NFTNL_EXPR_DYNSET_SREG_DATA));  /* a set */
	ck_assert(!nftnl_expr_is_set(d, NFTNL_EXPR_DYNSET_TIMEOUT));    /* the set's */
	/* not inverted: the rule goes on only for an element that exists */
	ck_assert(!nftnl_expr_is_set(d, NFTNL_EXPR_DYNSET_FLAGS) ||
		  nftnl_expr_get_u32(d, NFTNL_EXPR_DYNSET_FLAGS) == 0);
	lim = (struct nftnl_expr *)nftnl_expr_get(d, NFTNL_EXPR_DYNSET_EXPR, &len);
	ck_assert_ptr_nonnull(lim);
	ck_assert_str_eq(nftnl_expr_get_str(lim, NFTNL_EXPR_NAME), "limit");
	ck_assert_uint_eq(nftnl_expr_get_u64(lim, NFTNL_EXPR_LIMIT_RATE), rate);
	ck_assert_uint_eq(nftnl_expr_get_u64(lim, NFTNL_EXPR_LIMIT_UNIT), 1);
	ck_assert_uint_eq(nftnl_expr_get_u32(lim, NFTNL_EXPR_LIMIT_BURST), rate);
	ck_assert_uint_eq(nftnl_expr_get_u32(lim, NFTNL_EXPR_LIMIT_TYPE), NFT_LIMIT_PKTS);
	/* `over`: matches only while the source is above its rate */
	ck_assert_uint_eq(nftnl_expr_get_u32(lim, NFTNL_EXPR_LIMIT_FLAGS), NFT_LIMIT_F_INV);
	ck_assert_str_eq(nftnl_expr_get_str(r.e[at + 1], NFTNL_EXPR_NAME), "counter");
	assert_verdict(r.e[at + 2], NF_DROP, NULL);
	ck_assert_int_eq(r.n, at + 3);
	c = rule_comment(&r);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(strstr(c, "budget"));
	ck_assert_uint_lt(strlen(c), NFTNL_UDATA_COMMENT_MAXLEN);
	nftnl_rule_free(r.r);
}

/* The per-session rule: udp, the session port (dport in, sport out) into
 * reg 1, lookup @sessions, the port again, dynset update of slowport_in /
 * slowport_out with limit RATE inside (not inverted: the rule goes on only
 * within the budget), then the reserved share's limit SHARE and the queue
 * (native or the xt target). */
static void check_port_rule(int idx, const char *chain, bool inbound, uint32_t rate,
			    uint32_t share)
{
	uint32_t off = inbound ? 2 : 0, len = 0;
	struct nftnl_expr *d, *lim;
	struct prule r;
	const char *c;

	ck_assert_int_ge(idx, 0);
	parse_rule(msgs[idx], &r);
	ck_assert_str_eq(nftnl_rule_get_str(r.r, NFTNL_RULE_CHAIN), chain);
	ck_assert_msg(!strcmp(r.names, "meta cmp payload lookup payload dynset limit target") ||
		      !strcmp(r.names, "meta cmp payload lookup payload dynset limit queue"),
		      "%s", r.names);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[0], NFTNL_EXPR_META_KEY), NFT_META_L4PROTO);
	assert_cmp_u8(r.e[1], IPPROTO_UDP);
	assert_payload(r.e[2], NFT_PAYLOAD_TRANSPORT_HEADER, off, 2, NFT_REG_1);
	assert_lookup(r.e[3], "sessions");
	assert_payload(r.e[4], NFT_PAYLOAD_TRANSPORT_HEADER, off, 2, NFT_REG_1);
	d = r.e[5];
	ck_assert_uint_eq(nftnl_expr_get_u32(d, NFTNL_EXPR_DYNSET_OP), NFT_DYNSET_OP_UPDATE);
	ck_assert_uint_eq(nftnl_expr_get_u32(d, NFTNL_EXPR_DYNSET_SREG_KEY), NFT_REG_1);
	ck_assert_str_eq(nftnl_expr_get_str(d, NFTNL_EXPR_DYNSET_SET_NAME),
			 inbound ? "slowport_in" : "slowport_out");
	ck_assert(!nftnl_expr_is_set(d, NFTNL_EXPR_DYNSET_SREG_DATA));
	ck_assert(!nftnl_expr_is_set(d, NFTNL_EXPR_DYNSET_TIMEOUT));
	lim = (struct nftnl_expr *)nftnl_expr_get(d, NFTNL_EXPR_DYNSET_EXPR, &len);
	ck_assert_ptr_nonnull(lim);
	ck_assert_str_eq(nftnl_expr_get_str(lim, NFTNL_EXPR_NAME), "limit");
	ck_assert_uint_eq(nftnl_expr_get_u64(lim, NFTNL_EXPR_LIMIT_RATE), rate);
	ck_assert_uint_eq(nftnl_expr_get_u64(lim, NFTNL_EXPR_LIMIT_UNIT), 1);
	ck_assert_uint_eq(nftnl_expr_get_u32(lim, NFTNL_EXPR_LIMIT_BURST), rate);
	ck_assert_uint_eq(nftnl_expr_get_u32(lim, NFTNL_EXPR_LIMIT_TYPE), NFT_LIMIT_PKTS);
	ck_assert_uint_eq(nftnl_expr_get_u32(lim, NFTNL_EXPR_LIMIT_FLAGS), 0);
	/* the reserved share: a limit of the rule itself, not inverted */
	ck_assert_uint_eq(nftnl_expr_get_u64(r.e[6], NFTNL_EXPR_LIMIT_RATE), share);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[6], NFTNL_EXPR_LIMIT_BURST), share);
	ck_assert_uint_eq(nftnl_expr_get_u32(r.e[6], NFTNL_EXPR_LIMIT_FLAGS), 0);
	ck_assert_int_eq(r.n, 8);
	c = rule_comment(&r);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(strstr(c, "session port"));
	ck_assert_ptr_nonnull(strstr(c, "budget"));
	ck_assert_uint_lt(strlen(c), NFTNL_UDATA_COMMENT_MAXLEN);
	nftnl_rule_free(r.r);
}

/* mosh_in: pinholes, the two budget drops, then the queue rule with its
 * global limit; mosh_out unchanged. */
START_TEST(slow_rules_mosh_in)
{
	struct mh_ruleset_params p = defaults;

	for (int native = 0; native < 2; native++) {
		static const char *ph_in = "meta cmp meta cmp payload payload payload lookup dynset immediate";
		const char *queue = native ? "meta cmp payload lookup limit queue"
					   : "meta cmp payload lookup limit target";
		const struct rule_want want[] = {
			{ O_RULES_IN + 0, "mosh_in", ph_in },
			{ O_RULES_IN + 1, "mosh_in", ph_in },
			{ O_SLOW_RULES, "mosh_in",
			  "meta cmp payload lookup meta cmp payload dynset counter immediate" },
			{ O_SLOW_RULES + 1, "mosh_in",
			  "meta cmp payload lookup meta cmp payload bitwise dynset counter immediate" },
			{ O_RULES_IN + 4, "mosh_in", queue },
			{ O_RULES_IN + 5, "mosh_in", "meta cmp payload lookup counter immediate" },
			{ O_RULES_IN + 6, "mosh_in", ph_in },
			{ O_RULES_IN + 7, "mosh_in", ph_in },
			{ O_RULES_IN + 8, "mosh_in", "counter immediate" },
			{ O_RULE_OUTPUT, "output", "meta cmp payload range immediate" },
			{ O_RULES_OUT + 2, "mosh_out", queue },
			{ O_RULES_OUT + 6, "mosh_out", "counter immediate" },
		};

		p.native_queue = native;
		p.per_source_rate = 137;
		p.slow_path_rate = 2500;
		build(b_ruleset, &p, 0);
		ck_assert_int_eq(nmsgs, O_COUNT);
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			struct prule r;

			parse_rule(msgs[want[i].idx], &r);
			ck_assert_str_eq(nftnl_rule_get_str(r.r, NFTNL_RULE_CHAIN), want[i].chain);
			ck_assert_msg(!strcmp(r.names, want[i].names), "rule %d: %s", want[i].idx,
				      r.names);
			nftnl_rule_free(r.r);
		}
		check_slow_rule(O_SLOW_RULES, "mosh_in", 4, true, 137);
		check_slow_rule(O_SLOW_RULES + 1, "mosh_in", 4, false, 137);
		/* the global limit is still the queue rule's own */
		check_session_rules(O_RULES_IN + 2, 2, native, 0, 1, 2500);
		check_session_rules(O_RULES_OUT, 0, native, 0, 1, 2500);
		/* mosh_out: seven rules, none of them a budget */
		ck_assert_uint_eq(msgs[O_RULES_OUT + 7]->nlmsg_type, T(NFT_MSG_NEWCHAIN));
		for (int i = O_RULES_OUT; i < O_RULES_OUT + 7; i++)
			ck_assert(!names_slowsrc(msgs[i]));
	}
}
END_TEST

/* index of the n-th (0-based) rule of chain in the last batch, -1 if none */
static int nth_rule_of(const char *chain, int n)
{
	for (int i = 0; i < nmsgs; i++) {
		struct nftnl_rule *r;
		bool match;

		if (msgs[i]->nlmsg_type != T(NFT_MSG_NEWRULE))
			continue;
		r = nftnl_rule_alloc();
		ck_assert_int_eq(nftnl_rule_nlmsg_parse(msgs[i], r), 0);
		match = !strcmp(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), chain);
		nftnl_rule_free(r);
		if (match && n-- == 0)
			return i;
	}
	return -1;
}

/* mux_in's queue rule (the next to last) limits to rate. */
static void check_mux_queue_rate(uint32_t rate)
{
	struct prule r;

	parse_rule(msgs[nth_rule_of("mux_in", 8)], &r);
	ck_assert_str_eq(nftnl_expr_get_str(r.e[0], NFTNL_EXPR_NAME), "limit");
	ck_assert_uint_eq(nftnl_expr_get_u64(r.e[0], NFTNL_EXPR_LIMIT_RATE), rate);
	nftnl_rule_free(r.r);
}

/* Single-port mode: the same two drops before mux_in's queue rule (no
 * session match: the chain sees only the public port), after its drops of
 * what cannot be SSP, and in mosh_in; the per-session budget only in mosh_in (after the DNAT: per mapped
 * session port), never in mux_in (the public port is every session's). */
START_TEST(slow_rules_mux_in)
{
	static const char *names[] = {
		"meta cmp meta cmp payload payload lookup ct dynset immediate",
		"meta cmp meta cmp payload payload lookup ct dynset immediate",
		"meta cmp meta cmp payload payload lookup immediate",
		"meta cmp meta cmp payload payload lookup immediate",
		"meta cmp payload cmp counter immediate",
		"payload cmp counter immediate",
		"meta cmp payload dynset counter immediate",
		"meta cmp payload bitwise dynset counter immediate",
		"limit target",
		"counter immediate",
	};
	struct mh_ruleset_params p = sp;
	int n;

	p.per_source_rate = 55;
	p.per_session_rate = 9;
	build(b_ruleset, &p, 0);
	for (n = 0; n < 10; n++) {
		struct prule r;
		int idx = nth_rule_of("mux_in", n);

		ck_assert_int_ge(idx, 0);
		parse_rule(msgs[idx], &r);
		ck_assert_msg(!strcmp(r.names, names[n]), "mux_in rule %d: %s", n, r.names);
		nftnl_rule_free(r.r);
	}
	ck_assert_int_eq(nth_rule_of("mux_in", 10), -1);
	check_slow_rule(nth_rule_of("mux_in", 6), "mux_in", 0, true, 55);
	check_slow_rule(nth_rule_of("mux_in", 7), "mux_in", 0, false, 55);
	/* mosh_in: guard (2), pinholes (2), the budgets, the queue */
	check_slow_rule(nth_rule_of("mosh_in", 4), "mosh_in", 4, true, 55);
	check_slow_rule(nth_rule_of("mosh_in", 5), "mosh_in", 4, false, 55);
	check_port_rule(nth_rule_of("mosh_in", 6), "mosh_in", true, 9, 350);
	/* mux_in's queue rule keeps all of the global rate (no port budget) */
	check_mux_queue_rate(700);
	for (n = 0; n < 8; n++)
		ck_assert(!names_slowport(msgs[nth_rule_of("mux_in", n)]));
	/* no clean-up: nothing deletes the sets the rules use */
	for (int i = 0; i < nmsgs; i++)
		if (msgs[i]->nlmsg_type == T(NFT_MSG_DELSET))
			ck_assert(!names_slowsrc(msgs[i]) && !names_slowport(msgs[i]));
	/* after the rules, only the old `ports` set's removal */
	ck_assert_int_eq(check_old_ports(), nmsgs - 3);
	ck_assert_uint_eq(msgs[nmsgs - 4]->nlmsg_type, T(NFT_MSG_NEWRULE));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Local flows off (the default of the daemon)                         */

static bool names_localflows(const struct nlmsghdr *nlh)
{
	return names_set(nlh, "localflows");
}

/* Off: the batch with local flows minus their 2 + 2 + 2 set messages and
 * 4 rules, plus a tail that names both sets (created if missing) and
 * deletes them, after every rule; nothing before the tail uses them. */
START_TEST(localflows_off_is_batch_minus_them_plus_tail)
{
	static struct saved off, on;
	struct mh_ruleset_params p = defaults;
	int k = 0, extra = 0;

	build(b_ruleset, &defaults, 0);
	save(&on);
	p.local_flows = false;
	build(b_ruleset, &p, 0);
	save(&off);
	ck_assert_int_eq(on.n, M_COUNT);
	ck_assert_int_eq(off.n, M_COUNT - 10 + 4);
	for (int i = 0; i < on.n - 1; i++) {
		if (names_localflows(on.m[i])) {
			extra++;
			continue;
		}
		ck_assert_msg(same_msg(on.m[i], off.m[k]), "on %d differs from off %d", i, k);
		k++;
	}
	ck_assert_int_eq(extra, 10);
	ck_assert_int_eq(k, off.n - 5);
	for (int i = 0; i < k; i++)
		ck_assert_msg(!names_localflows(off.m[i]), "off message %d uses localflows", i);
	for (int i = k; i < k + 2; i++) {
		struct nftnl_set *s = parse_set(off.m[i], false);

		ck_assert_uint_eq(off.m[i]->nlmsg_type, T(NFT_MSG_NEWSET));
		ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_NAME),
				 i == k ? "localflows4" : "localflows6");
		/* the definition the sets had: the kernel takes it as the same set */
		ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_FLAGS),
				  NFT_SET_TIMEOUT | NFT_SET_EVAL);
		ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), i == k ? 12 : 24);
		nftnl_set_free(s);
		ck_assert_uint_eq(off.m[i + 2]->nlmsg_type, T(NFT_MSG_DELSET));
		ck_assert(names_localflows(off.m[i + 2]));
	}
	ck_assert(same_msg(off.m[off.n - 1], on.m[M_END]));
}
END_TEST

/* Off: mosh_out is pinholes, the session queue and its drop, then the
 * final drop: a non-session port of the range sends to nobody unpinholed;
 * mosh_in likewise ends in its drop right after the session rules. */
START_TEST(localflows_off_strict_chains)
{
	static const char *out_names[] = {
		"meta cmp meta cmp payload payload payload lookup immediate",
		"meta cmp meta cmp payload payload payload lookup immediate",
		NULL, "meta cmp payload lookup counter immediate", "counter immediate",
	};
	struct mh_ruleset_params p = defaults;

	p.local_flows = false;
	for (int adopt = 0; adopt < 2; adopt++) {
		p.adopt = adopt;
		build(b_ruleset, &p, 0);
		for (int n = 0; n < 5; n++) {
			struct prule r;
			int idx = nth_rule_of("mosh_out", n);

			ck_assert_int_ge(idx, 0);
			parse_rule(msgs[idx], &r);
			if (out_names[n])
				ck_assert_msg(!strcmp(r.names, out_names[n]), "mosh_out %d: %s",
					      n, r.names);
			if (n == 4)
				ck_assert_str_eq(rule_comment(&r),
						 "nothing else leaves the mosh range (anti-reflection): drop");
			nftnl_rule_free(r.r);
		}
		ck_assert_int_eq(nth_rule_of("mosh_out", 5), -1);
		ck_assert_int_ge(nth_rule_of("mosh_in", 4), 0);
		ck_assert_int_eq(nth_rule_of("mosh_in", 5), -1);
		/* the tail comes after the last rule */
		ck_assert_int_gt(nmsgs - 5, nth_rule_of("mosh_out", 4));
		ck_assert(names_localflows(msgs[nmsgs - 2]));
	}
}
END_TEST

/* index of the first message of type that names set, -1 if none */
static int msg_for_set(uint16_t type, const char *set)
{
	for (int i = 0; i < nmsgs; i++)
		if (msgs[i]->nlmsg_type == T(type) && set_msg_names(msgs[i], set))
			return i;
	return -1;
}

/* Per-session budgets: both sets (key: a port) made to exist with the
 * other budget sets, emptied after `sessions`, never deleted while on;
 * alone or with the per-source ones. */
START_TEST(port_sets_and_flush)
{
	static const char *names[2] = { "slowport_in", "slowport_out" };
	struct mh_ruleset_params p = defaults;

	for (int src = 0; src < 2; src++) {
		p.per_source_rate = src ? 200 : 0;
		p.per_session_rate = 20;
		build(b_ruleset, &p, 0);
		for (int i = 0; i < 2; i++) {
			int mk = msg_for_set(NFT_MSG_NEWSET, names[i]);
			int fl = msg_for_set(NFT_MSG_DELSETELEM, names[i]);
			struct nftnl_set *s;

			/* after the local-flow sets, before any slowsrc one */
			ck_assert_int_eq(mk, M_ENSURE_LF6 + 1 + i);
			check_slow_set(msgs[mk], names[i], 13, 2);
			ck_assert_int_gt(fl, M_FLUSH_OUT);
			s = parse_set(msgs[fl], true);
			ck_assert_int_eq(count_elems(s), 0);
			nftnl_set_free(s);
			ck_assert_int_eq(msg_for_set(NFT_MSG_DELSET, names[i]), -1);
		}
		ck_assert_int_eq(nmsgs, M_COUNT + 2 * src + 2);
	}
}
END_TEST

START_TEST(port_off_tail)
{
	build(b_ruleset, &defaults, 0);
	check_slow_set(msgs[M_OFF_PORT], "slowport_in", 13, 2);
	check_slow_set(msgs[M_OFF_PORT + 1], "slowport_out", 13, 2);
	for (int i = 0; i < 2; i++) {
		struct nftnl_set *s = parse_set(msgs[M_OFF_DELPORT + i], false);

		ck_assert_uint_eq(msgs[M_OFF_DELPORT + i]->nlmsg_type, T(NFT_MSG_DELSET));
		ck_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_NAME),
				 i ? "slowport_out" : "slowport_in");
		nftnl_set_free(s);
	}
	/* nothing else in the batch names them */
	for (int i = 0; i < M_OFF_PORT; i++)
		ck_assert(!names_slowport(msgs[i]));
}
END_TEST

/* On: the off-batch without its slowport tail, plus two sets made to
 * exist, two flushes and one rule in each of mosh_in and mosh_out; the
 * queue rules the same but for their rate, half the global one. */
START_TEST(port_off_is_old_batch_plus_tail)
{
	static struct saved off, on;
	struct mh_ruleset_params p = defaults;
	int k = 0, extra = 0;

	p.slow_path_rate = 1000;   /* off: all of it in the queue rules */
	build(b_ruleset, &p, 0);
	save(&off);
	p.slow_path_rate = 2000;   /* on: 1000 in each share */
	p.per_session_rate = 20;
	build(b_ruleset, &p, 0);
	save(&on);
	for (int i = 0; i < on.n - 1; i++) {
		if (names_slowport(on.m[i])) {
			extra++;
			continue;
		}
		ck_assert_msg(same_msg(on.m[i], off.m[k]), "on %d differs from off %d", i, k);
		k++;
	}
	ck_assert_int_eq(extra, 6);
	ck_assert_int_eq(k, M_OFF_PORT);
	ck_assert(same_msg(on.m[on.n - 1], off.m[M_END]));
}
END_TEST

/* The rules: in mosh_in after the per-source drops (a datagram its source's
 * budget drops takes nothing from the port's), right before the queue
 * rule; in mosh_out right before its queue rule. */
START_TEST(port_rules)
{
	struct mh_ruleset_params p = defaults;

	for (int native = 0; native < 2; native++) {
		for (int src = 0; src < 2; src++) {
			int in = 2 + 2 * src;     /* pinholes (2), per-source drops */
			struct prule r;

			p.native_queue = native;
			p.per_source_rate = src ? 200 : 0;
			p.per_session_rate = 23;
			p.slow_path_rate = 20000;
			build(b_ruleset, &p, 0);
			check_port_rule(nth_rule_of("mosh_in", in), "mosh_in", true, 23, 10000);
			check_port_rule(nth_rule_of("mosh_out", 2), "mosh_out", false, 23, 10000);
			if (src)
				check_slow_rule(nth_rule_of("mosh_in", 3), "mosh_in", 4, false, 200);
			/* the queue rule with the other (shared) half follows each */
			parse_rule(msgs[nth_rule_of("mosh_in", in + 1)], &r);
			ck_assert_ptr_nonnull(strstr(r.names, "lookup limit"));
			ck_assert_uint_eq(nftnl_expr_get_u64(r.e[4], NFTNL_EXPR_LIMIT_RATE), 10000);
			nftnl_rule_free(r.r);
			parse_rule(msgs[nth_rule_of("mosh_out", 3)], &r);
			ck_assert_ptr_nonnull(strstr(r.names, "lookup limit"));
			ck_assert_uint_eq(nftnl_expr_get_u64(r.e[4], NFTNL_EXPR_LIMIT_RATE), 10000);
			nftnl_rule_free(r.r);
			/* one per chain, nowhere else */
			ck_assert_int_eq(nth_rule_of("mosh_in", 10 + 2 * src - 2), -1);
			ck_assert_int_eq(nth_rule_of("mosh_out", 8), -1);
		}
	}
	/* an odd global rate: each share rounded up */
	p.slow_path_rate = 25;
	p.per_session_rate = 5;
	p.per_source_rate = 0;
	build(b_ruleset, &p, 0);
	check_port_rule(nth_rule_of("mosh_in", 2), "mosh_in", true, 5, 13);
	check_session_rules(nth_rule_of("mosh_in", 3) - 2, 2, true, 0, 1, 13);
}
END_TEST

static uint32_t set_size_of(const struct nlmsghdr *nlh)
{
	struct nftnl_set *s = parse_set(nlh, false);
	uint32_t size = nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE);

	nftnl_set_free(s);
	return size;
}

/* set_size: the pinhole sets and the mux maps, nothing else; 0 is the
 * old default, byte for byte. */
START_TEST(set_size_param)
{
	static struct saved zero;
	struct mh_ruleset_params p = defaults;

	build(b_ruleset, &defaults, 0);
	save(&zero);
	for (int i = M_ENSURE_PH4; i <= M_ENSURE_PH6; i++)
		ck_assert_uint_eq(set_size_of(msgs[i]), 65535);
	for (int i = M_SET_PH4; i <= M_SET_LF6; i++)
		ck_assert_uint_eq(set_size_of(msgs[i]), 65535);
	p.set_size = 65535;
	build(b_ruleset, &p, 0);
	ck_assert_int_eq(nmsgs, zero.n);
	for (int i = 0; i < nmsgs; i++)
		ck_assert_msg(same_msg(msgs[i], zero.m[i]), "message %d differs", i);

	p.set_size = 100000;   /* more pinholes than one 65535 set holds */
	p.per_source_rate = 200;
	build(b_ruleset, &p, 0);
	ck_assert_uint_eq(set_size_of(msgs[M_ENSURE_PH4]), 100000);
	ck_assert_uint_eq(set_size_of(msgs[M_ENSURE_PH6]), 100000);
	ck_assert_uint_eq(set_size_of(msgs[M_SET_PH4 + 4]), 100000);
	ck_assert_uint_eq(set_size_of(msgs[M_SET_PH6 + 4]), 100000);
	/* the local flows: as many as the pinholes */
	ck_assert_uint_eq(set_size_of(msgs[M_ENSURE_LF4]), 100000);
	ck_assert_uint_eq(set_size_of(msgs[M_SET_LF4 + 4]), 100000);
	ck_assert_uint_eq(set_size_of(msgs[M_SET_LF6 + 4]), 100000);
	/* the per-source sets keep their own bound */
	ck_assert_uint_eq(set_size_of(msgs[O_ENSURE_SLOW]), 65535);

	p = sp;
	p.set_size = 250000;
	build(b_ruleset, &p, 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_uint_eq(set_size_of(msgs[S_MAPS + i]), 250000);
		ck_assert_uint_eq(set_size_of(msgs[S_ENSURE_MAPS + i]), 250000);
	}
	ck_assert_uint_eq(set_size_of(msgs[M_SET_PH4]), 250000);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Mux mapping elements                                                */

struct mux_arg {
	struct mh_pinhole m;
	bool confirmed, add;
	uint32_t timeout;
};

static int b_mux(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg)
{
	const struct mux_arg *a = arg;

	return mh_nft_build_mux(b, seq, "mosh_helper", &a->m, a->confirmed, a->add,
				a->timeout);
}

static void check_data(struct nftnl_set *s, uint16_t port)
{
	uint32_t len = 0;
	const void *d = nftnl_set_elem_get(elem_at(s, 0), NFTNL_SET_ELEM_DATA, &len);
	uint16_t want = htons(port);

	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(len, 2);
	ck_assert_mem_eq(d, &want, 2);
}

START_TEST(mux_ipv4_elements)
{
	/* 198.18.0.1 . 40000 -> 60005, the port padded to 4 bytes */
	static const uint8_t want[8] = { 198, 18, 0, 1, 0x9c, 0x40, 0, 0 };
	struct mux_arg a = { { AF_INET, { 198, 18, 0, 1 }, 40000, 60005 }, true, true, 3000 };
	struct nftnl_set *s;
	struct mh_pinhole back;

	build(b_mux, &a, 0);
	s = one_elem_msg(NFT_MSG_NEWSETELEM, "mux4");
	check_key(s, want, sizeof(want));
	check_data(s, 60005);
	ck_assert_uint_eq(nftnl_set_elem_get_u64(elem_at(s, 0), NFTNL_SET_ELEM_TIMEOUT), 3000);
	nftnl_set_free(s);

	a.confirmed = false;
	a.timeout = 0;                  /* the map's default: no attribute */
	build(b_mux, &a, 0);
	s = one_elem_msg(NFT_MSG_NEWSETELEM, "muxp4");
	check_key(s, want, sizeof(want));
	check_data(s, 60005);
	ck_assert(!nftnl_set_elem_is_set(elem_at(s, 0), NFTNL_SET_ELEM_TIMEOUT));
	nftnl_set_free(s);

	a.add = false;
	a.timeout = 999;                /* ignored on delete, as is the data */
	build(b_mux, &a, 0);
	s = one_elem_msg(NFT_MSG_DELSETELEM, "muxp4");
	check_key(s, want, sizeof(want));
	ck_assert(!nftnl_set_elem_is_set(elem_at(s, 0), NFTNL_SET_ELEM_TIMEOUT));
	ck_assert(!nftnl_set_elem_is_set(elem_at(s, 0), NFTNL_SET_ELEM_DATA));
	nftnl_set_free(s);

	/* the dump decoder reads key and data back */
	{
		uint16_t data = htons(60005);

		ck_assert_int_eq(mh_nft_mux_from_elem(want, 8, (const uint8_t *)&data, 2,
						      &back), 0);
	}
	ck_assert_int_eq(back.family, AF_INET);
	ck_assert_mem_eq(back.addr, a.m.addr, 4);
	ck_assert_uint_eq(back.client_port, 40000);
	ck_assert_uint_eq(back.server_port, 60005);
}
END_TEST

START_TEST(mux_ipv6_elements)
{
	static const uint8_t want[20] = {
		0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34,
		0x01, 0xbb, 0, 0,                       /* 443 */
	};
	static const uint8_t data[2] = { 0xee, 0x48 };  /* 61000 */
	struct mux_arg a = { { AF_INET6, { 0 }, 443, 61000 }, true, true, 0 };
	struct nftnl_set *s;
	struct mh_pinhole back;

	ck_assert_int_eq(inet_pton(AF_INET6, "fd00::1234", a.m.addr), 1);
	build(b_mux, &a, 0);
	s = one_elem_msg(NFT_MSG_NEWSETELEM, "mux6");
	check_key(s, want, sizeof(want));
	check_data(s, 61000);
	nftnl_set_free(s);
	a.confirmed = false;
	build(b_mux, &a, 0);
	s = one_elem_msg(NFT_MSG_NEWSETELEM, "muxp6");
	nftnl_set_free(s);
	ck_assert_int_eq(mh_nft_mux_from_elem(want, 20, data, 2, &back), 0);
	ck_assert_int_eq(back.family, AF_INET6);
	ck_assert_mem_eq(back.addr, a.m.addr, 16);
	ck_assert_uint_eq(back.client_port, 443);
	ck_assert_uint_eq(back.server_port, 61000);
	/* lengths of neither family, data of the wrong size */
	ck_assert_int_eq(mh_nft_mux_from_elem(want, 12, data, 2, &back), -EINVAL);
	ck_assert_int_eq(mh_nft_mux_from_elem(want, 20, data, 4, &back), -EINVAL);
	ck_assert_int_eq(mh_nft_mux_from_elem(want, 20, NULL, 0, &back), -EINVAL);
}
END_TEST

START_TEST(mux_bad_args)
{
	struct mux_arg a = { { AF_UNIX, { 0 }, 1, 2 }, true, true, 0 };

	build(b_mux, &a, -EINVAL);
	ck_assert_int_eq(nmsgs, 2);
	a.m.family = AF_INET;
	a.m.server_port = 0;            /* a mapping needs a destination */
	build(b_mux, &a, -EINVAL);
	ck_assert_int_eq(nmsgs, 2);
	a.add = false;                  /* a delete does not */
	build(b_mux, &a, 0);
	ck_assert_int_eq(nmsgs, 3);
	ck_assert_str_eq(mh_nft_mux_map(AF_INET, true), "mux4");
	ck_assert_str_eq(mh_nft_mux_map(AF_INET6, false), "muxp6");
	ck_assert_ptr_null(mh_nft_mux_map(AF_UNIX, true));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Probe, delete, limits                                               */

static int b_probe(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg)
{
	return mh_nft_build_queue_probe(b, seq, *(const bool *)arg);
}

START_TEST(probe_batch)
{
	for (int native = 0; native < 2; native++) {
		bool nat = native;
		struct nftnl_table *t = nftnl_table_alloc();
		struct prule r;

		build(b_probe, &nat, 0);
		ck_assert_int_eq(nmsgs, 6);
		ck_assert_uint_eq(msgs[1]->nlmsg_type, T(NFT_MSG_NEWTABLE));
		ck_assert_uint_eq(msgs[2]->nlmsg_type, T(NFT_MSG_NEWCHAIN));
		ck_assert_uint_eq(msgs[4]->nlmsg_type, T(NFT_MSG_DELTABLE));
		ck_assert_int_eq(nftnl_table_nlmsg_parse(msgs[4], t), 0);
		/* a scratch table, never the daemon's own */
		ck_assert_str_eq(nftnl_table_get_str(t, NFTNL_TABLE_NAME), "mosh_helper_probe");
		parse_rule(msgs[3], &r);
		ck_assert_str_eq(nftnl_rule_get_str(r.r, NFTNL_RULE_TABLE), "mosh_helper_probe");
		ck_assert_str_eq(r.names, native ? "queue" : "target");
		nftnl_rule_free(r.r);
		nftnl_table_free(t);
	}
}
END_TEST

static int b_delete(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg)
{
	return mh_nft_build_table_delete(b, seq, arg);
}

START_TEST(table_delete)
{
	struct nftnl_table *t = nftnl_table_alloc();

	build(b_delete, "mosh_helper", 0);
	ck_assert_int_eq(nmsgs, 3);
	ck_assert_uint_eq(msgs[1]->nlmsg_type, T(NFT_MSG_DELTABLE));
	ck_assert_uint_eq(family_of(msgs[1]), NFPROTO_INET);
	ck_assert_int_eq(nftnl_table_nlmsg_parse(msgs[1], t), 0);
	ck_assert_str_eq(nftnl_table_get_str(t, NFTNL_TABLE_NAME), "mosh_helper");
	nftnl_table_free(t);
	build(b_delete, "", -EINVAL);
}
END_TEST

START_TEST(small_batch_enospc)
{
	static char small[2 * 1024];
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(small, 1024);
	uint32_t seq = 1;

	mh_nft_batch_begin(b, &seq);
	ck_assert_int_eq(mh_nft_build_ruleset(b, &seq, &defaults), -ENOSPC);
	ck_assert_uint_le(mnl_nlmsg_batch_size(b), 1024);
	mnl_nlmsg_batch_stop(b);
}
END_TEST

/* The one element path (mh_nft_build_elem: kind, op, mh_addr, port) writes
 * the same bytes as the builder of each kind it stands for. */
static size_t elem_bytes(char *mem, bool one_path, enum mh_nft_kind kind,
			 enum mh_nft_op op, int family)
{
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(mem, 4096);
	struct mh_addr a = { .family = family, .port = 40001 };
	struct mh_pinhole ph = { .family = family, .client_port = 40001,
				 .server_port = 60001 };
	bool add = op == MH_NFT_ADD;
	uint32_t seq = 7;
	size_t n;
	int r;

	a.ip[0] = ph.addr[0] = family == AF_INET ? 198 : 0xfd;
	a.ip[3] = ph.addr[3] = 9;
	if (one_path)
		r = mh_nft_build_elem(b, &seq, "mosh_helper", kind, op, &a, 60001, 5000);
	else if (kind == MH_NFT_PORT)
		r = mh_nft_build_session_port(b, &seq, "mosh_helper", 60001, add);
	else if (kind == MH_NFT_PINHOLE)
		r = mh_nft_build_pinhole(b, &seq, "mosh_helper", &ph, add, 5000);
	else
		r = mh_nft_build_mux(b, &seq, "mosh_helper", &ph, kind == MH_NFT_MUX,
				     add, 5000);
	ck_assert_int_eq(r, 0);
	n = mnl_nlmsg_batch_size(b);
	mnl_nlmsg_batch_stop(b);
	return n;
}

START_TEST(elem_one_path_same_bytes)
{
	static char x[8192], y[8192];
	static const int families[] = { AF_INET, AF_INET6 };

	for (int k = MH_NFT_PORT; k <= MH_NFT_MUXP; k++)
		for (int op = MH_NFT_DEL; op <= MH_NFT_ADD; op++)
			for (int f = 0; f < 2; f++) {
				size_t nx = elem_bytes(x, false, k, op, families[f]);
				size_t ny = elem_bytes(y, true, k, op, families[f]);

				ck_assert_uint_gt(nx, 0);
				ck_assert_uint_eq(nx, ny);
				ck_assert_msg(!memcmp(x, y, nx), "kind %d op %d family %d",
					      k, op, families[f]);
			}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("nft_build");
	TCase *tc = tcase_create("batches");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, ruleset_message_order);
	tcase_add_test(tc, ruleset_flushes_before_refill);
	tcase_add_test(tc, ruleset_table_no_owner);
	tcase_add_test(tc, ruleset_table_name_from_params);
	tcase_add_test(tc, ruleset_chains);
	tcase_add_test(tc, ruleset_sets);
	tcase_add_test(tc, ruleset_port_range);
	tcase_add_test(tc, ruleset_removes_old_ports_set);
	tcase_add_test(tc, rules_compat_shapes);
	tcase_add_test(tc, rules_native_shapes);
	tcase_add_test(tc, rules_pinholes);
	tcase_add_test(tc, rules_pinholes_seen);
	tcase_add_test(tc, rules_queue_compat_and_native);
	tcase_add_test(tc, rules_localflows_and_final_drop);
	tcase_add_test(tc, plain_table_has_no_ct);
	tcase_add_test(tc, relay_guard_rules);
	tcase_add_test(tc, ruleset_rejects_bad_params);
	tcase_add_test(tc, pinhole_ipv4_key);
	tcase_add_test(tc, pinhole_expire_in_place);
	tcase_add_test(tc, pinhole_rearm);
	tcase_add_test(tc, seen_destroy);
	tcase_add_test(tc, pinhole_ipv6_key);
	tcase_add_test(tc, pinhole_bad_family);
	tcase_add_test(tc, session_port_elements);
	tcase_add_test(tc, probe_batch);
	tcase_add_test(tc, table_delete);
	tcase_add_test(tc, small_batch_enospc);
	tcase_add_test(tc, sp_message_order);
	tcase_add_test(tc, sp_maps);
	tcase_add_test(tc, sp_chains);
	tcase_add_test(tc, sp_shapes_compat);
	tcase_add_test(tc, sp_shapes_native);
	tcase_add_test(tc, sp_pre_jump);
	tcase_add_test(tc, sp_mux_in_rules);
	tcase_add_test(tc, sp_mux_in_queue_and_drop);
	tcase_add_test(tc, sp_mux_in_drops_what_cannot_be_ssp);
	tcase_add_test(tc, sp_nat_rules);
	tcase_add_test(tc, sp_input_guard);
	tcase_add_test(tc, sp_off_is_plain_batch);
	tcase_add_test(tc, sp_off_cleanup_tail);
	tcase_add_test(tc, sp_mux_in_rules_dreg);
	tcase_add_test(tc, map_probe_batch);
	tcase_add_test(tc, sp_table_name_from_params);
	tcase_add_test(tc, mux_ipv4_elements);
	tcase_add_test(tc, mux_ipv6_elements);
	tcase_add_test(tc, mux_bad_args);
	tcase_add_test(tc, slow_off_is_old_batch_plus_tail);
	tcase_add_test(tc, slow_sets_and_flush);
	tcase_add_test(tc, slow_off_tail);
	tcase_add_test(tc, slow_rules_mosh_in);
	tcase_add_test(tc, slow_rules_mux_in);
	tcase_add_test(tc, set_size_param);
	tcase_add_test(tc, localflows_off_is_batch_minus_them_plus_tail);
	tcase_add_test(tc, localflows_off_strict_chains);
	tcase_add_test(tc, port_sets_and_flush);
	tcase_add_test(tc, port_off_tail);
	tcase_add_test(tc, port_off_is_old_batch_plus_tail);
	tcase_add_test(tc, port_rules);
	tcase_add_test(tc, elem_one_path_same_bytes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
