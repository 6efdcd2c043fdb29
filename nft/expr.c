/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The rule builder of nft/: a rule's expressions appended in order with
 * libnftnl (meta, ct, cmp, range, bitwise, mark set, payload, lookup, dynset, limit,
 * dynset with a per-element limit, counter, verdicts, queue in both
 * flavours, port-only DNAT) and its comment. The first failure sticks in the
 * builder; later calls are no-ops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_NFQUEUE.h>

#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>

#include "nft.h"
#include "nft_int.h"

#define MH_LIMIT_UNIT_S 1

int nb_rule_begin(struct nb_rule *rb, const char *table, const char *chain)
{
	rb->err = 0;
	rb->r = nftnl_rule_alloc();
	if (!rb->r)
		return -ENOMEM;
	nftnl_rule_set_str(rb->r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(rb->r, NFTNL_RULE_CHAIN, chain);
	return 0;
}

int nb_rule_end(struct mnl_nlmsg_batch *b, uint32_t *seq, struct nb_rule *rb)
{
	int err = rb->err;

	if (!err) {
		struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(
			mnl_nlmsg_batch_current(b), NFT_MSG_NEWRULE, NFPROTO_INET,
			NLM_F_APPEND | NLM_F_CREATE, (*seq)++);

		nftnl_rule_nlmsg_build_payload(nlh, rb->r);
		err = mnl_nlmsg_batch_next(b) ? 0 : -ENOSPC;
	}
	nftnl_rule_free(rb->r);
	rb->r = NULL;
	return err;
}

static struct nftnl_expr *expr_new(struct nb_rule *rb, const char *name)
{
	struct nftnl_expr *e;

	if (rb->err)
		return NULL;
	e = nftnl_expr_alloc(name);
	if (!e) {
		rb->err = -ENOMEM;
		return NULL;
	}
	nftnl_rule_add_expr(rb->r, e);
	return e;
}

void nb_meta(struct nb_rule *rb, uint32_t key)
{
	struct nftnl_expr *e = expr_new(rb, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

void nb_ct(struct nb_rule *rb, uint32_t key)
{
	struct nftnl_expr *e = expr_new(rb, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
}

void nb_ct_dir(struct nb_rule *rb, uint32_t key, uint8_t dir, uint32_t dreg)
{
	struct nftnl_expr *e = expr_new(rb, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, dir);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
}

void nb_cmp_reg(struct nb_rule *rb, uint32_t sreg, uint32_t op, const void *val,
		uint32_t len)
{
	struct nftnl_expr *e = expr_new(rb, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, val, len);
}

void nb_cmp(struct nb_rule *rb, uint32_t op, const void *val, uint32_t len)
{
	nb_cmp_reg(rb, NFT_REG_1, op, val, len);
}

void nb_cmp_u8(struct nb_rule *rb, uint8_t val)
{
	nb_cmp(rb, NFT_CMP_EQ, &val, sizeof(val));
}

/* fib saddr . iif oif -> reg 1: the interface the route back to the
 * source leaves by, looked up only among routes through the interface
 * the packet came in on; 0 if there is none (strict reverse path). */
void nb_fib_rpf(struct nb_rule *rb)
{
	struct nftnl_expr *e = expr_new(rb, "fib");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_OIF);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_SADDR | NFTA_FIB_F_IIF);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
}

/* The kernel compares the register with both bounds byte by byte, so
 * values in network order compare as numbers. */
void nb_range(struct nb_rule *rb, const void *from, const void *to, uint32_t len)
{
	struct nftnl_expr *e = expr_new(rb, "range");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, NFT_RANGE_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_RANGE_FROM_DATA, from, len);
	nftnl_expr_set(e, NFTNL_EXPR_RANGE_TO_DATA, to, len);
}

void nb_bitwise_and(struct nb_rule *rb, const void *mask, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *e = expr_new(rb, "bitwise");

	if (!e)
		return;
	if (len > sizeof(zero)) {
		rb->err = -EINVAL;
		return;
	}
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
}

/* meta mark = (meta mark & ~bits) ^ bits, through reg 1: the bits are ORed
 * in and every other bit of the mark is kept (the mark is a host-order u32
 * in the register, as nft writes it). */
void nb_mark_or(struct nb_rule *rb, uint32_t bits)
{
	uint32_t mask = ~bits;
	struct nftnl_expr *e;

	nb_meta(rb, NFT_META_MARK);
	e = expr_new(rb, "bitwise");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof(bits));
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof(mask));
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &bits, sizeof(bits));
	e = expr_new(rb, "meta");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
}

void nb_payload(struct nb_rule *rb, uint32_t base, uint32_t off, uint32_t len,
		uint32_t dreg)
{
	struct nftnl_expr *e = expr_new(rb, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
}

void nb_lookup(struct nb_rule *rb, const char *set, uint32_t set_id,
	       uint32_t dreg)
{
	struct nftnl_expr *e = expr_new(rb, "lookup");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
	if (dreg)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, dreg);
}

void nb_dynset_update(struct nb_rule *rb, const char *set, uint32_t set_id,
		      uint32_t sdata)
{
	struct nftnl_expr *e = expr_new(rb, "dynset");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
	if (sdata)
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_DATA, sdata);
	nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, set_id);
}

/* packets per second, burst as many; flags NFT_LIMIT_F_INV = `over` */
static void limit_fill(struct nftnl_expr *e, uint32_t rate, uint32_t flags)
{
	nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, rate);
	nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, MH_LIMIT_UNIT_S);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, rate);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_FLAGS, flags);
}

void nb_limit(struct nb_rule *rb, uint32_t rate)
{
	struct nftnl_expr *e = expr_new(rb, "limit");

	if (e)
		limit_fill(e, rate, 0);
}

/* The limit is the template of every element's own limit (the kernel
 * clones it, with a full bucket, into each element it adds); the dynset
 * owns it. */
void nb_dynset_limit_over(struct nb_rule *rb, const char *set, uint32_t set_id,
			  uint32_t rate)
{
	nb_dynset_limit(rb, set, set_id, rate, true);
}

void nb_dynset_limit(struct nb_rule *rb, const char *set, uint32_t set_id,
		     uint32_t rate, bool over)
{
	struct nftnl_expr *lim, *e = expr_new(rb, "dynset");

	if (!e)
		return;
	lim = nftnl_expr_alloc("limit");
	if (!lim) {
		rb->err = -ENOMEM;
		return;
	}
	limit_fill(lim, rate, over ? NFT_LIMIT_F_INV : 0);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, set_id);
	nftnl_expr_add_expr(e, NFTNL_EXPR_DYNSET_EXPRESSIONS, lim);
}

void nb_counter(struct nb_rule *rb)
{
	expr_new(rb, "counter");
}

void nb_verdict(struct nb_rule *rb, int verdict, const char *chain)
{
	struct nftnl_expr *e = expr_new(rb, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
}

static void queue_native(struct nb_rule *rb, uint16_t num, uint16_t total)
{
	struct nftnl_expr *e = expr_new(rb, "queue");

	if (!e)
		return;
	nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_NUM, num);
	nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_TOTAL, total);
	nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_FLAGS,
			   total > 1 ? NFT_QUEUE_FLAG_CPU_FANOUT : 0);
}

/* Same through nft compat: xt NFQUEUE rev 3; libnftnl owns `info`. */
static void queue_compat(struct nb_rule *rb, uint16_t num, uint16_t total)
{
	struct xt_NFQ_info_v3 *info;
	struct nftnl_expr *e = expr_new(rb, "target");

	if (!e)
		return;
	info = calloc(1, sizeof(*info));
	if (!info) {
		rb->err = -ENOMEM;
		return;
	}
	info->queuenum = num;
	info->queues_total = total;
	info->flags = total > 1 ? NFQ_FLAG_CPU_FANOUT : 0;
	nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
	nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 3);
	nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, sizeof(*info));
}

void nb_queue(struct nb_rule *rb, bool native, uint16_t num, uint16_t total)
{
	if (native)
		queue_native(rb, num, total);
	else
		queue_compat(rb, num, total);
}

/* No address register: the kernel keeps the destination address (no
 * NF_NAT_RANGE_MAP_IPS) and maps only the port. */
void nb_dnat_port(struct nb_rule *rb, uint32_t nfproto, uint32_t preg)
{
	struct nftnl_expr *e = expr_new(rb, "nat");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, nfproto);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, preg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
}

void nb_comment(struct nb_rule *rb, const char *text)
{
	struct nftnl_udata_buf *u;

	if (rb->err)
		return;
	u = nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 16);
	if (!u || !nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, text))
		rb->err = u ? -EINVAL : -ENOMEM;
	else
		nftnl_rule_set_data(rb->r, NFTNL_RULE_USERDATA,
				    nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
	if (u)
		nftnl_udata_buf_free(u);
}

void nb_match_udp(struct nb_rule *rb)
{
	nb_meta(rb, NFT_META_L4PROTO);
	nb_cmp_u8(rb, IPPROTO_UDP);
}

void nb_match_port_range(struct nb_rule *rb, uint32_t off,
			 const struct mh_ruleset_params *p)
{
	uint16_t lo = htons(p->port_low), hi = htons(p->port_high);

	nb_match_udp(rb);
	nb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, off, 2, NFT_REG_1);
	nb_range(rb, &lo, &hi, sizeof(lo));
}

void nb_match_nfproto(struct nb_rule *rb, uint8_t nfproto)
{
	nb_meta(rb, NFT_META_NFPROTO);
	nb_cmp_u8(rb, nfproto);
}
