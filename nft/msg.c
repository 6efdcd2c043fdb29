/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Batch plumbing of nft/: the begin/end markers and one message per
 * table, chain, set or element operation, built with libnftnl into a
 * caller's mnl batch (no socket). As libmnl expects, the buffer behind the
 * batch must be twice the batch limit; a message that crosses the limit
 * returns -ENOSPC and the batch must not be sent.
 */
#include <errno.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "nft.h"
#include "nft_int.h"

static struct nlmsghdr *msg_start(struct mnl_nlmsg_batch *b, uint32_t *seq,
				  uint16_t type, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), type,
				     NFPROTO_INET, flags, (*seq)++);
}

static int msg_end(struct mnl_nlmsg_batch *b)
{
	return mnl_nlmsg_batch_next(b) ? 0 : -ENOSPC;
}

void mh_nft_batch_begin(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), (*seq)++);
	mnl_nlmsg_batch_next(b);
}

void mh_nft_batch_end(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	nftnl_batch_end(mnl_nlmsg_batch_current(b), (*seq)++);
	mnl_nlmsg_batch_next(b);
}

int nb_table(struct mnl_nlmsg_batch *b, uint32_t *seq, uint16_t type,
	     const char *name, uint32_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	if (type == NFT_MSG_NEWTABLE)
		nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, flags);
	nlh = msg_start(b, seq, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	return msg_end(b);
}

/* A base chain has policy accept: the table only narrows, never widens. */
int nb_chain(struct mnl_nlmsg_batch *b, uint32_t *seq, uint16_t type,
	     const char *table, const struct nb_chain_def *d)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c)
		return -ENOMEM;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, d->name);
	if (type == NFT_MSG_NEWCHAIN && d->hook >= 0) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, (uint32_t)d->hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, d->prio);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, d->type);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nlh = msg_start(b, seq, type, type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	return msg_end(b);
}

int nb_chain_flush(struct mnl_nlmsg_batch *b, uint32_t *seq,
		   const char *table, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!r)
		return -ENOMEM;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nlh = msg_start(b, seq, NFT_MSG_DELRULE, 0);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	return msg_end(b);
}

uint32_t nb_concat_type(const uint32_t *t, size_t n)
{
	uint32_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = (v << MH_TYPE_BITS) | t[i];
	return v;
}

/* Concatenated keys are hash sets: like nft for non-interval
 * concatenations, no per-field description is sent (the kernel refuses one
 * without NFT_SET_CONCAT); key_len is the padded total. */
int nb_set(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *table,
	   const struct nb_set_def *d)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, d->name);
	nftnl_set_set_u32(s, NFTNL_SET_ID, d->id);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, d->flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, d->key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, d->key_len);
	if (d->flags & NFT_SET_MAP) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, d->data_type);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, d->data_len);
	}
	if (d->size)
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, d->size);
	if (d->timeout_ms)
		nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, d->timeout_ms);
	nlh = msg_start(b, seq, NFT_MSG_NEWSET, NLM_F_CREATE);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return msg_end(b);
}

int nb_set_delete(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *table,
		  const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nlh = msg_start(b, seq, NFT_MSG_DELSET, 0);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return msg_end(b);
}

static struct nftnl_set_elem *elem_new(const struct nb_elem *d)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	if (!e)
		return NULL;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, d->key, d->key_len);
	if (d->data)
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, d->data, d->data_len);
	if (d->flags)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, d->flags);
	if (d->timeout_ms)
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, d->timeout_ms);
	if (d->expire_ms)
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_EXPIRATION, d->expire_ms);
	return e;
}

int nb_elems(struct mnl_nlmsg_batch *b, uint32_t *seq, uint16_t type,
	     const char *table, const char *set, const struct nb_elem *ev,
	     size_t n)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	int err = 0;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	for (size_t i = 0; i < n && !err; i++) {
		struct nftnl_set_elem *e = elem_new(&ev[i]);

		if (e)
			nftnl_set_elem_add(s, e);
		else
			err = -ENOMEM;
	}
	if (!err) {
		nlh = msg_start(b, seq, type,
				type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		err = msg_end(b);
	}
	nftnl_set_free(s);
	return err;
}
