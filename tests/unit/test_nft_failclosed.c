/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the fail-closed parts of nft/ (issue 10): the table flags
 * in the ruleset batch and the flags probe, the accept mark ORed in by
 * exactly the rules of mosh_in that let a datagram on (none with the mark
 * off, none in mosh_out), the restore elements (session ports, pinholes,
 * confirmed mappings, chunked), and the event test of the table watch (a
 * foreign change to our table, and nothing else, sets off a rebuild).
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

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "check_main.h"
#include "nft.h"
#include "../../nft/nft_int.h"

#define LIMIT  (256 * 1024)
#define MAXMSG 256
#define T(x)   (uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | (x))
#define MARK   0x10000000u

static char buf[2 * LIMIT];
static const struct nlmsghdr *msgs[MAXMSG];
static int nmsgs;

static const struct mh_ruleset_params defaults = {
	.table = "mosh_helper", .port_low = 60000, .port_high = 61000,
	.idle_timeout_ms = 60000, .queue_total = 1, .slow_path_rate = 2000,
	.provisional_timeout_ms = 10000, .per_source_rate = 200,
};

typedef int (*build_fn)(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg);

static int build(build_fn fn, const void *arg)
{
	struct mnl_nlmsg_batch *b;
	uint32_t seq = 1;
	int err, len;
	const struct nlmsghdr *nlh;

	memset(buf, 0, sizeof(buf));
	b = mnl_nlmsg_batch_start(buf, LIMIT);
	ck_assert_ptr_nonnull(b);
	mh_nft_batch_begin(b, &seq);
	err = fn(b, &seq, arg);
	mh_nft_batch_end(b, &seq);
	len = (int)mnl_nlmsg_batch_size(b);
	nlh = mnl_nlmsg_batch_head(b);
	for (nmsgs = 0; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		ck_assert_int_lt(nmsgs, MAXMSG);
		msgs[nmsgs++] = nlh;
	}
	mnl_nlmsg_batch_stop(b);
	return err;
}

static int b_ruleset(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg)
{
	return mh_nft_build_ruleset(b, seq, arg);
}

static uint32_t table_flags_of(const struct nlmsghdr *nlh)
{
	struct nftnl_table *t = nftnl_table_alloc();
	uint32_t f;

	ck_assert_uint_eq(nlh->nlmsg_type, T(NFT_MSG_NEWTABLE));
	ck_assert_int_eq(nftnl_table_nlmsg_parse(nlh, t), 0);
	f = nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS);
	nftnl_table_free(t);
	return f;
}

START_TEST(flags_owned_in_table_message)
{
	struct mh_ruleset_params p = defaults;

	ck_assert_int_eq(build(b_ruleset, &p), 0);
	ck_assert_uint_eq(table_flags_of(msgs[1]), 0);
	p.table_flags = MH_TABLE_F_OWNED;
	ck_assert_int_eq(build(b_ruleset, &p), 0);
	ck_assert_uint_eq(table_flags_of(msgs[1]), 0x6);   /* owner | persist */
	for (int i = 0; i < nmsgs; i++)   /* adopting or not, never deleted */
		ck_assert_uint_ne(msgs[i]->nlmsg_type, T(NFT_MSG_DELTABLE));
}
END_TEST

START_TEST(flags_owner_alone_refused)
{
	struct mh_ruleset_params p = defaults;

	p.table_flags = MH_TABLE_F_OWNER;   /* the range would fall open with the daemon */
	ck_assert_int_eq(build(b_ruleset, &p), -EINVAL);
	p.table_flags = MH_TABLE_F_PERSIST;
	ck_assert_int_eq(build(b_ruleset, &p), -EINVAL);
	p.table_flags = 0x1;                /* dormant */
	ck_assert_int_eq(build(b_ruleset, &p), -EINVAL);
}
END_TEST

static int b_probe(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg)
{
	return mh_nft_build_table_probe(b, seq, *(const uint32_t *)arg);
}

START_TEST(flags_probe_batch)
{
	const uint32_t f = MH_TABLE_F_OWNED;
	struct nftnl_table *t = nftnl_table_alloc();

	ck_assert_int_eq(build(b_probe, &f), 0);
	ck_assert_int_eq(nmsgs, 4);
	ck_assert_uint_eq(table_flags_of(msgs[1]), f);
	ck_assert_uint_eq(msgs[2]->nlmsg_type, T(NFT_MSG_DELTABLE));
	ck_assert_int_eq(nftnl_table_nlmsg_parse(msgs[2], t), 0);
	ck_assert_str_eq(nftnl_table_get_str(t, NFTNL_TABLE_NAME), "mosh_helper_probe");
	nftnl_table_free(t);
}
END_TEST

/* --- the accept mark --- */

struct markscan {
	int in_marked, out_marked, other_marked, in_rules;
};

/* meta load mark, bitwise (mask ~MARK, xor MARK), meta set mark: true if
 * the rule has exactly that sequence followed only by its verdict */
static bool rule_sets_mark(struct nftnl_rule *r, uint32_t mark)
{
	struct nftnl_expr *e[24];
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	int n = 0, at = -1;

	while (n < 24 && (e[n] = nftnl_expr_iter_next(it)))
		n++;
	nftnl_expr_iter_destroy(it);
	for (int i = 0; i + 2 < n; i++) {
		const char *a = nftnl_expr_get_str(e[i], NFTNL_EXPR_NAME);

		if (!strcmp(a, "meta") &&
		    nftnl_expr_get_u32(e[i], NFTNL_EXPR_META_KEY) == NFT_META_MARK &&
		    nftnl_expr_is_set(e[i], NFTNL_EXPR_META_DREG))
			at = i;
	}
	if (at < 0)
		return false;
	{
		uint32_t len = 0;
		const uint32_t *mask = nftnl_expr_get(e[at + 1], NFTNL_EXPR_BITWISE_MASK, &len);
		const uint32_t *xor = nftnl_expr_get(e[at + 1], NFTNL_EXPR_BITWISE_XOR, &len);

		ck_assert_str_eq(nftnl_expr_get_str(e[at + 1], NFTNL_EXPR_NAME), "bitwise");
		ck_assert_uint_eq(len, 4);
		ck_assert_uint_eq(*mask, ~mark);
		ck_assert_uint_eq(*xor, mark);
		ck_assert_str_eq(nftnl_expr_get_str(e[at + 2], NFTNL_EXPR_NAME), "meta");
		ck_assert_uint_eq(nftnl_expr_get_u32(e[at + 2], NFTNL_EXPR_META_KEY), NFT_META_MARK);
		ck_assert(nftnl_expr_is_set(e[at + 2], NFTNL_EXPR_META_SREG));
		/* only the verdict (accept, queue or the xt target) follows */
		ck_assert_int_eq(at + 3, n - 1);
	}
	return true;
}

static void scan_marks(const struct mh_ruleset_params *p, struct markscan *m)
{
	memset(m, 0, sizeof(*m));
	ck_assert_int_eq(build(b_ruleset, p), 0);
	for (int i = 0; i < nmsgs; i++) {
		struct nftnl_rule *r;
		const char *chain;
		bool set;

		if (msgs[i]->nlmsg_type != T(NFT_MSG_NEWRULE))
			continue;
		r = nftnl_rule_alloc();
		ck_assert_int_eq(nftnl_rule_nlmsg_parse(msgs[i], r), 0);
		chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
		set = rule_sets_mark(r, p->accept_mark);
		if (!strcmp(chain, "mosh_in")) {
			m->in_rules++;
			m->in_marked += set;
		} else if (!strcmp(chain, "mosh_out")) {
			m->out_marked += set;
		} else {
			m->other_marked += set;
		}
		nftnl_rule_free(r);
	}
}

START_TEST(mark_on_what_mosh_in_lets_on)
{
	struct mh_ruleset_params p = defaults;
	struct markscan m;

	p.accept_mark = MARK;
	scan_marks(&p, &m);
	/* pinholes4/6 and the queue rule */
	ck_assert_int_eq(m.in_marked, 3);
	ck_assert_int_eq(m.out_marked, 0);
	ck_assert_int_eq(m.other_marked, 0);
	/* with per-session budgets, their queue rule too */
	p.per_session_rate = 10;
	scan_marks(&p, &m);
	ck_assert_int_eq(m.in_marked, 4);
	ck_assert_int_eq(m.out_marked + m.other_marked, 0);
	p.per_session_rate = 0;
	/* with the opt-in local flows, their replies 4/6 too */
	p.local_flows = true;
	scan_marks(&p, &m);
	ck_assert_int_eq(m.in_marked, 5);
	ck_assert_int_eq(m.out_marked, 0);
	ck_assert_int_eq(m.other_marked, 0);
	/* single-port mode: the same five, nothing in the mux chains */
	p.public_port = 60000;
	scan_marks(&p, &m);
	ck_assert_int_eq(m.in_marked, 5);
	ck_assert_int_eq(m.out_marked + m.other_marked, 0);
	/* another bit pattern is carried as given */
	p.public_port = 0;
	p.accept_mark = 0x80000001u;
	scan_marks(&p, &m);
	ck_assert_int_eq(m.in_marked, 5);
}
END_TEST

START_TEST(mark_off_adds_nothing)
{
	struct mh_ruleset_params p = defaults;
	struct markscan m;
	int with, without;

	p.accept_mark = MARK;
	scan_marks(&p, &m);
	with = nmsgs;
	p.accept_mark = 0;
	scan_marks(&p, &m);
	without = nmsgs;
	ck_assert_int_eq(m.in_marked + m.out_marked + m.other_marked, 0);
	ck_assert_int_eq(with, without);     /* same messages, fewer expressions */
}
END_TEST

/* --- restore elements --- */

static struct mh_pinhole ph[300];
static uint16_t ports[3] = { 60001, 60002, 60003 };

static void fill_pinholes(void)
{
	memset(ph, 0, sizeof(ph));
	for (int i = 0; i < 300; i++) {
		ph[i].family = i < 200 ? AF_INET : AF_INET6;
		ph[i].addr[0] = 198;
		ph[i].addr[1] = 18;
		ph[i].addr[3] = (uint8_t)i;
		ph[i].client_port = (uint16_t)(40000 + i);
		ph[i].server_port = ports[i % 3];
	}
}

static int b_elems(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg)
{
	return mh_nft_build_elems(b, seq, "mosh_helper", arg);
}

struct elem_tally {
	int n;
	bool data_ok;
	uint16_t want_port;
};

static int tally(struct nftnl_set_elem *e, void *arg)
{
	struct elem_tally *t = arg;

	t->n++;
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA)) {
		uint32_t len = 0;
		const uint8_t *d = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len);

		t->data_ok = t->data_ok && len == 2 && d[0] == 0xea;  /* 6000x >> 8 */
	}
	return 0;
}

/* The elements of one NEWSETELEM message: how many, into which set. */
static int elems_of(const struct nlmsghdr *nlh, char *set, size_t setlen,
		    bool *data_ok)
{
	static char copy[LIMIT];
	struct nlmsghdr *c = (struct nlmsghdr *)copy;
	struct nftnl_set *s = nftnl_set_alloc();
	struct elem_tally t = { 0, true, 0 };
	struct nlattr *a, *e;

	/* libnftnl's parser wants every nest numbered NFTA_LIST_ELEM */
	memcpy(c, nlh, nlh->nlmsg_len);
	mnl_attr_for_each(a, c, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
			mnl_attr_for_each_nested(e, a)
				e->nla_type = (uint16_t)((e->nla_type & ~NLA_TYPE_MASK) | NFTA_LIST_ELEM);
	ck_assert_int_eq(nftnl_set_elems_nlmsg_parse(c, s), 0);
	snprintf(set, setlen, "%s", nftnl_set_get_str(s, NFTNL_SET_NAME));
	nftnl_set_elem_foreach(s, tally, &t);
	nftnl_set_free(s);
	*data_ok = t.data_ok;
	return t.n;
}

START_TEST(restore_elements_chunked)
{
	struct mh_nft_elems e = { ports, 3, ph, 300, 60000, true };
	static const char *want_set[] = { "sessions", "pinholes4", "pinholes4",
					  "pinholes6", "mux4", "mux4", "mux6" };
	static const int want_n[] = { 3, 128, 72, 100, 128, 72, 100 };
	size_t used;

	fill_pinholes();
	ck_assert_int_eq(build(b_elems, &e), 0);
	ck_assert_int_eq(nmsgs, 2 + 7);
	for (int i = 0; i < 7; i++) {
		char set[32];
		bool data_ok;

		ck_assert_uint_eq(msgs[i + 1]->nlmsg_type, T(NFT_MSG_NEWSETELEM));
		ck_assert(msgs[i + 1]->nlmsg_flags & NLM_F_CREATE);
		ck_assert(!(msgs[i + 1]->nlmsg_flags & NLM_F_EXCL));  /* kept if there */
		ck_assert_int_eq(elems_of(msgs[i + 1], set, sizeof(set), &data_ok), want_n[i]);
		ck_assert_str_eq(set, want_set[i]);
		ck_assert(data_ok);
	}
	used = (size_t)((const char *)msgs[nmsgs - 1] - buf);
	ck_assert_uint_lt(used, mh_nft_restore_size(&e));
}
END_TEST

START_TEST(restore_without_mux_and_bad_input)
{
	struct mh_nft_elems e = { ports, 3, ph, 300, 0, false };

	fill_pinholes();
	ck_assert_int_eq(build(b_elems, &e), 0);
	ck_assert_int_eq(nmsgs, 2 + 4);
	ph[7].family = AF_UNIX;
	ck_assert_int_eq(build(b_elems, &e), -EINVAL);
	fill_pinholes();
	ph[9].server_port = 0;
	ck_assert_int_eq(build(b_elems, &e), -EINVAL);
	e = (struct mh_nft_elems){ 0 };
	ck_assert_int_eq(build(b_elems, &e), 0);
	ck_assert_int_eq(nmsgs, 2);           /* nothing held: nothing sent */
}
END_TEST

/* --- the table watch's test --- */

static char ev[4096];

/* Appends one event: type, sender port id, family, table attribute. */
static size_t put_event(size_t off, uint16_t type, uint32_t pid, uint8_t family,
			const char *table)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(ev + off);
	struct nfgenmsg *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_pid = pid;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = family;
	if (table)
		mnl_attr_put_strz(nlh, 1, table);
	return off + nlh->nlmsg_len;
}

START_TEST(watch_foreign_change_to_our_table)
{
	static const uint16_t kinds[] = {
		NFT_MSG_DELTABLE, NFT_MSG_NEWTABLE, NFT_MSG_DELCHAIN, NFT_MSG_DELRULE,
		NFT_MSG_NEWRULE, NFT_MSG_DELSET, NFT_MSG_DELSETELEM, NFT_MSG_NEWSETELEM,
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = put_event(0, T(kinds[i]), 4242, NFPROTO_INET, "mosh_helper");

		ck_assert(mh_nft_event_touches(ev, n, "mosh_helper", 77));
		/* the daemon's own batches never count */
		ck_assert(!mh_nft_event_touches(ev, n, "mosh_helper", 4242));
	}
}
END_TEST

START_TEST(watch_ignores_the_rest)
{
	size_t n;

	n = put_event(0, T(NFT_MSG_DELTABLE), 1, NFPROTO_INET, "filter");
	ck_assert(!mh_nft_event_touches(ev, n, "mosh_helper", 77));
	n = put_event(0, T(NFT_MSG_DELTABLE), 1, NFPROTO_IPV4, "mosh_helper");
	ck_assert(!mh_nft_event_touches(ev, n, "mosh_helper", 77));
	n = put_event(0, T(NFT_MSG_DELTABLE), 1, NFPROTO_INET, "mosh_helper2");
	ck_assert(!mh_nft_event_touches(ev, n, "mosh_helper", 77));
	n = put_event(0, T(NFT_MSG_DELTABLE), 1, NFPROTO_INET, "mosh_helpe");
	ck_assert(!mh_nft_event_touches(ev, n, "mosh_helper", 77));
	n = put_event(0, T(NFT_MSG_NEWGEN), 1, NFPROTO_INET, "mosh_helper");
	ck_assert(!mh_nft_event_touches(ev, n, "mosh_helper", 77));
	n = put_event(0, T(NFT_MSG_DELTABLE), 1, NFPROTO_INET, NULL);
	ck_assert(!mh_nft_event_touches(ev, n, "mosh_helper", 77));
	/* another subsystem (conntrack) */
	n = put_event(0, (uint16_t)(NFNL_SUBSYS_CTNETLINK << 8), 1, NFPROTO_INET, "mosh_helper");
	ck_assert(!mh_nft_event_touches(ev, n, "mosh_helper", 77));
	/* truncated buffers */
	n = put_event(0, T(NFT_MSG_DELTABLE), 1, NFPROTO_INET, "mosh_helper");
	ck_assert(!mh_nft_event_touches(ev, n - 4, "mosh_helper", 77));
	ck_assert(!mh_nft_event_touches(ev, 10, "mosh_helper", 77));
	ck_assert(!mh_nft_event_touches(ev, 0, "mosh_helper", 77));
}
END_TEST

START_TEST(watch_finds_one_among_many)
{
	size_t n = 0;

	/* a `flush ruleset`: other tables first, ours in the middle */
	n = put_event(n, T(NFT_MSG_DELRULE), 9, NFPROTO_INET, "filter");
	n = put_event(n, T(NFT_MSG_DELTABLE), 9, NFPROTO_INET, "filter");
	n = put_event(n, T(NFT_MSG_DELRULE), 9, NFPROTO_INET, "mosh_helper");
	n = put_event(n, T(NFT_MSG_NEWGEN), 9, NFPROTO_UNSPEC, NULL);
	ck_assert(mh_nft_event_touches(ev, n, "mosh_helper", 77));
	ck_assert(!mh_nft_event_touches(ev, n, "mosh_helper", 9));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("nft_failclosed");
	TCase *tc = tcase_create("failclosed");

	tcase_add_test(tc, flags_owned_in_table_message);
	tcase_add_test(tc, flags_owner_alone_refused);
	tcase_add_test(tc, flags_probe_batch);
	tcase_add_test(tc, mark_on_what_mosh_in_lets_on);
	tcase_add_test(tc, mark_off_adds_nothing);
	tcase_add_test(tc, restore_elements_chunked);
	tcase_add_test(tc, restore_without_mux_and_bad_input);
	tcase_add_test(tc, watch_foreign_change_to_our_table);
	tcase_add_test(tc, watch_ignores_the_rest);
	tcase_add_test(tc, watch_finds_one_among_many);
	suite_add_tcase(s, tc);
	return mh_check_run(s);
}
