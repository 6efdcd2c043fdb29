/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the adopt mode of the table builder (nft/build.c, mux.c):
 * a restarted daemon or a reload keeps `sessions`, pinholes4/6 and the mux
 * maps with their elements (never deleted, never flushed; their full
 * definitions update the timeouts in place), while chains and rules are
 * rebuilt exactly as without adopt mode, and the `ports` set of earlier
 * versions is removed once the rules that used it are flushed; so are the
 * local-flow sets when they are off.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libnftnl/set.h>

#include "nft.h"
#include "../../nft/nft_int.h"

#define LIMIT 65536
#define MAXMSG 160

struct built {
	char buf[2 * LIMIT];
	const struct nlmsghdr *m[MAXMSG];
	int n;
};

static struct mh_ruleset_params params(bool adopt, bool single_port)
{
	struct mh_ruleset_params p = {
		.table = "mosh_helper", .port_low = 60000, .port_high = 61000,
		.idle_timeout_ms = 45000, .queue_num = 0, .queue_total = 1,
		.slow_path_rate = 2000, .provisional_timeout_ms = 10000,
		.public_port = single_port ? 60000 : 0, .adopt = adopt,
	};
	return p;
}

static void build(struct built *b, const struct mh_ruleset_params *p)
{
	struct mnl_nlmsg_batch *mb;
	uint32_t seq = 1;
	int len;
	const struct nlmsghdr *nlh;

	memset(b, 0, sizeof(*b));
	mb = mnl_nlmsg_batch_start(b->buf, LIMIT);
	mh_nft_batch_begin(mb, &seq);
	ck_assert_int_eq(mh_nft_build_ruleset(mb, &seq, p), 0);
	mh_nft_batch_end(mb, &seq);
	len = (int)mnl_nlmsg_batch_size(mb);
	for (nlh = mnl_nlmsg_batch_head(mb); mnl_nlmsg_ok(nlh, len);
	     nlh = mnl_nlmsg_next(nlh, &len)) {
		ck_assert_int_lt(b->n, MAXMSG);
		b->m[b->n++] = nlh;
	}
	mnl_nlmsg_batch_stop(mb);
}

static int type_of(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_type & 0xff;
}

/* Name (and for NEWSET timeout and id) of a set or element message: the
 * name is attribute 2 in both (NFTA_SET_NAME, NFTA_SET_ELEM_LIST_SET). */
static const char *set_name(const struct nlmsghdr *nlh, uint64_t *timeout,
			    uint32_t *id, char *out, size_t len)
{
	const struct nlattr *a;

	out[0] = 0;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_SET_NAME)
			snprintf(out, len, "%s", mnl_attr_get_str(a));
	if (type_of(nlh) == NFT_MSG_NEWSET && (timeout || id)) {
		struct nftnl_set *s = nftnl_set_alloc();

		ck_assert_int_eq(nftnl_set_nlmsg_parse(nlh, s), 0);
		if (timeout)
			*timeout = nftnl_set_is_set(s, NFTNL_SET_TIMEOUT)
				   ? nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT) : 0;
		if (id)
			*id = nftnl_set_is_set(s, NFTNL_SET_ID)
			      ? nftnl_set_get_u32(s, NFTNL_SET_ID) : 0;
		nftnl_set_free(s);
	}
	return out;
}

/* How many messages of type touch the named set. */
static int count(const struct built *b, int type, const char *name)
{
	char n[64];
	int c = 0;

	for (int i = 0; i < b->n; i++)
		if (type_of(b->m[i]) == type &&
		    !strcmp(set_name(b->m[i], NULL, NULL, n, sizeof(n)), name))
			c++;
	return c;
}

/* Every NEWSET of name: timeout and id as wanted. */
static void newsets_are(const struct built *b, const char *name, uint64_t timeout,
			uint32_t id)
{
	int seen = 0;

	for (int i = 0; i < b->n; i++) {
		uint64_t t;
		uint32_t sid;
		char n[64];

		if (type_of(b->m[i]) != NFT_MSG_NEWSET ||
		    strcmp(set_name(b->m[i], &t, &sid, n, sizeof(n)), name))
			continue;
		ck_assert_msg(t == timeout, "%s: timeout %llu, want %llu", name,
			      (unsigned long long)t, (unsigned long long)timeout);
		ck_assert_uint_eq(sid, id);
		seen++;
	}
	ck_assert_int_eq(seen, 1);
}

/* Index of the last message of type touching the named set (set
 * messages) or of type at all (others); -1 if none. */
static int last_of(const struct built *b, int type, const char *name)
{
	char n[64];
	int at = -1;

	for (int i = 0; i < b->n; i++)
		if (type_of(b->m[i]) == type &&
		    (!name || !strcmp(set_name(b->m[i], NULL, NULL, n, sizeof(n)), name)))
			at = i;
	return at;
}

/* The `ports` set of earlier versions: never filled or emptied, deleted
 * once, after the last chain flush (every rule that looked it up gone). */
static void old_ports_removed(const struct built *b)
{
	ck_assert_int_eq(count(b, NFT_MSG_NEWSETELEM, MH_SET_OLD_PORTS), 0);
	ck_assert_int_eq(count(b, NFT_MSG_DELSETELEM, MH_SET_OLD_PORTS), 0);
	ck_assert_int_eq(count(b, NFT_MSG_DELSET, MH_SET_OLD_PORTS), 1);
	ck_assert_int_gt(last_of(b, NFT_MSG_DELSET, MH_SET_OLD_PORTS),
			 last_of(b, NFT_MSG_DELRULE, NULL));
}

START_TEST(adopt_keeps_sessions_and_pinholes)
{
	static struct built b;
	struct mh_ruleset_params p = params(true, false);

	build(&b, &p);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSETELEM, MH_SET_SESSIONS), 0);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSET, MH_SET_PINHOLES4), 0);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSET, MH_SET_PINHOLES6), 0);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSETELEM, MH_SET_PINHOLES4), 0);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSETELEM, MH_SET_PINHOLES6), 0);
	/* one NEWSET each, with the timeout (an update in place) and the id
	 * the rules use */
	newsets_are(&b, MH_SET_PINHOLES4, 45000, MH_ID_PINHOLES4);
	newsets_are(&b, MH_SET_PINHOLES6, 45000, MH_ID_PINHOLES6);
	/* the range lives in the rules: the interval set an older version
	 * left is deleted, after the chain flushes that unhook it */
	old_ports_removed(&b);
}
END_TEST

/* The same builder without adopt mode does empty them: the checks above
 * would see it. */
START_TEST(without_adopt_they_are_reset)
{
	static struct built b;
	struct mh_ruleset_params p = params(false, true);

	build(&b, &p);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSETELEM, MH_SET_SESSIONS), 1);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSET, MH_SET_PINHOLES4), 1);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSET, MH_SET_PINHOLES6), 1);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSET, MH_MAP_MUX4), 1);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSET, MH_MAP_MUXP6), 1);
	old_ports_removed(&b);
}
END_TEST

START_TEST(adopt_keeps_mux_maps)
{
	static struct built b;
	struct mh_ruleset_params p = params(true, true);

	build(&b, &p);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSET, MH_MAP_MUX4), 0);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSET, MH_MAP_MUX6), 0);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSET, MH_MAP_MUXP4), 0);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSET, MH_MAP_MUXP6), 0);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSETELEM, MH_MAP_MUX4), 0);
	newsets_are(&b, MH_MAP_MUX4, 45000, MH_ID_MUX4);
	newsets_are(&b, MH_MAP_MUX6, 45000, MH_ID_MUX6);
	newsets_are(&b, MH_MAP_MUXP4, 10000, MH_ID_MUXP4);
	newsets_are(&b, MH_MAP_MUXP6, 10000, MH_ID_MUXP6);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSETELEM, MH_SET_SESSIONS), 0);
	old_ports_removed(&b);
}
END_TEST

/* Local flows: kept with their elements when on (one NEWSET each, with
 * the timeout and the id the rules use, never deleted or emptied); when
 * off, the sets a table with them had are deleted once, after the last
 * chain flush (no rule uses them any more). */
START_TEST(adopt_local_flows_on_and_off)
{
	static struct built b;
	struct mh_ruleset_params p = params(true, false);

	p.local_flows = true;
	build(&b, &p);
	newsets_are(&b, MH_SET_LOCALFLOWS4, 120000, MH_ID_LOCALFLOWS4);
	newsets_are(&b, MH_SET_LOCALFLOWS6, 120000, MH_ID_LOCALFLOWS6);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSET, MH_SET_LOCALFLOWS4), 0);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSETELEM, MH_SET_LOCALFLOWS4), 0);
	p.local_flows = false;
	build(&b, &p);
	newsets_are(&b, MH_SET_LOCALFLOWS4, 120000, MH_ID_LOCALFLOWS4);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSET, MH_SET_LOCALFLOWS4), 1);
	ck_assert_int_eq(count(&b, NFT_MSG_DELSET, MH_SET_LOCALFLOWS6), 1);
	ck_assert_int_gt(last_of(&b, NFT_MSG_DELSET, MH_SET_LOCALFLOWS6),
			 last_of(&b, NFT_MSG_NEWRULE, NULL));
	ck_assert_int_gt(last_of(&b, NFT_MSG_NEWSET, MH_SET_LOCALFLOWS4),
			 last_of(&b, NFT_MSG_DELRULE, NULL));
}
END_TEST

/* Rules and chains: the same messages, byte for byte, adopt or not. */
static void same_rules(bool single_port)
{
	static struct built a, b;
	struct mh_ruleset_params pa = params(true, single_port);
	struct mh_ruleset_params pb = params(false, single_port);
	int i = 0, j = 0, rules = 0;

	build(&a, &pa);
	build(&b, &pb);
	for (;;) {
		while (i < a.n && type_of(a.m[i]) != NFT_MSG_NEWRULE &&
		       type_of(a.m[i]) != NFT_MSG_NEWCHAIN)
			i++;
		while (j < b.n && type_of(b.m[j]) != NFT_MSG_NEWRULE &&
		       type_of(b.m[j]) != NFT_MSG_NEWCHAIN)
			j++;
		if (i == a.n || j == b.n)
			break;
		ck_assert_uint_eq(a.m[i]->nlmsg_len, b.m[j]->nlmsg_len);
		ck_assert_uint_eq(a.m[i]->nlmsg_type, b.m[j]->nlmsg_type);
		ck_assert_mem_eq(mnl_nlmsg_get_payload(a.m[i]),
				 mnl_nlmsg_get_payload(b.m[j]),
				 mnl_nlmsg_get_payload_len(a.m[i]));
		rules += type_of(a.m[i]) == NFT_MSG_NEWRULE;
		i++;
		j++;
	}
	ck_assert_int_eq(i, a.n);
	ck_assert_int_eq(j, b.n);
	ck_assert_int_ge(rules, 12);
}

START_TEST(adopt_rules_identical)
{
	same_rules(false);
	same_rules(true);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("nft_adopt");
	TCase *tc = tcase_create("adopt");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, adopt_keeps_sessions_and_pinholes);
	tcase_add_test(tc, without_adopt_they_are_reset);
	tcase_add_test(tc, adopt_keeps_mux_maps);
	tcase_add_test(tc, adopt_rules_identical);
	tcase_add_test(tc, adopt_local_flows_on_and_off);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
