/*
 * Pure builders of mosh-helper's nftables batches with libnftnl: the whole
 * table (sets, base chains, mosh_in/mosh_out rules), its deletion, the queue
 * probe, and pinhole / session-port elements. Messages are appended to a
 * caller's mnl batch and no socket is touched. As libmnl expects, the buffer
 * behind the batch must be twice the batch limit; a builder that crosses the
 * limit returns -ENOSPC and the batch must not be sent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_NFQUEUE.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "nft.h"
#include "nft_int.h"

/* nft datatype numbers (as `nft list` decodes set key types). */
enum { NFT_TYPE_BITS = 6, TYPE_IPV4 = 7, TYPE_IPV6 = 8, TYPE_SERVICE = 13 };
/* Set ids let later messages of the same batch refer to a new set. */
enum { ID_PORTS = 1, ID_SESSIONS, ID_PINHOLES4, ID_PINHOLES6,
       ID_PINHOLES4_TMP, ID_PINHOLES6_TMP };
/* ct direction values (enum ip_conntrack_dir) */
enum { CT_DIR_ORIGINAL = 0, CT_DIR_REPLY = 1 };

#define MH_CHAIN_PRIORITY   (-10)      /* NF_IP_PRI_FILTER - 10 */
#define MH_PINHOLE_SET_SIZE 65535
#define MH_LIMIT_UNIT_S     1

/* ------------------------------------------------------------------ */
/* Batch plumbing                                                      */

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

/* ------------------------------------------------------------------ */
/* Tables and chains                                                   */

static int put_table(struct mnl_nlmsg_batch *b, uint32_t *seq, uint16_t type,
		     const char *name)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	if (type == NFT_MSG_NEWTABLE)
		nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0); /* never `owner` */
	nlh = msg_start(b, seq, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	return msg_end(b);
}

/* hook < 0: a regular chain; else a filter base chain, policy accept. */
static int put_chain(struct mnl_nlmsg_batch *b, uint32_t *seq,
		     const char *table, const char *name, int hook, int prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c)
		return -ENOMEM;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	if (hook >= 0) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nlh = msg_start(b, seq, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	return msg_end(b);
}

/* ------------------------------------------------------------------ */
/* Sets and elements                                                   */

struct set_def {
	const char *name;
	uint32_t id, flags, key_type, key_len, size;
	uint32_t timeout_ms;
};

/* Concatenated keys (pinholes) are hash sets: like nft for non-interval
 * concatenations, no per-field description is sent (the kernel refuses one
 * without NFT_SET_CONCAT); key_len is the padded total. */
static uint32_t concat_type(uint32_t addr_type)
{
	uint32_t t = addr_type;

	t = (t << NFT_TYPE_BITS) | TYPE_SERVICE;
	return (t << NFT_TYPE_BITS) | TYPE_SERVICE;
}

static int put_set(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *table,
		   const struct set_def *d)
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
	if (d->size)
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, d->size);
	if (d->timeout_ms)
		nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, d->timeout_ms);
	nlh = msg_start(b, seq, NFT_MSG_NEWSET, NLM_F_CREATE);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return msg_end(b);
}

/* One element description: key, flags, timeout (0 = set default). */
struct elem_def {
	const void *key;
	uint32_t key_len, flags;
	uint64_t timeout_ms;
};

static int put_elems(struct mnl_nlmsg_batch *b, uint32_t *seq, uint16_t type,
		     const char *table, const char *set,
		     const struct elem_def *ev, size_t n)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	int err = 0;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	for (size_t i = 0; i < n && !err; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();

		if (!e) {
			err = -ENOMEM;
			break;
		}
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, ev[i].key, ev[i].key_len);
		if (ev[i].flags)
			nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, ev[i].flags);
		if (ev[i].timeout_ms)
			nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, ev[i].timeout_ms);
		nftnl_set_elem_add(s, e);
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

/* The managed range as an interval: LOW, then HIGH+1 flagged as the end
 * (no end element when HIGH is 65535: the interval runs to the top). */
static int put_port_range(struct mnl_nlmsg_batch *b, uint32_t *seq,
			  const struct mh_ruleset_params *p)
{
	uint16_t lo = htons(p->port_low);
	uint16_t end = htons((uint16_t)(p->port_high + 1));
	struct elem_def ev[2] = {
		{ &lo, sizeof(lo), 0, 0 },
		{ &end, sizeof(end), NFT_SET_ELEM_INTERVAL_END, 0 },
	};

	return put_elems(b, seq, NFT_MSG_NEWSETELEM, p->table, MH_SET_PORTS,
			 ev, p->port_high == UINT16_MAX ? 1 : 2);
}

enum { SET_PORTS, SET_SESSIONS, SET_PH4, SET_PH6, SET_COUNT };

static void set_defs(const struct mh_ruleset_params *p, struct set_def d[SET_COUNT])
{
	const uint32_t dyn = NFT_SET_TIMEOUT | NFT_SET_EVAL;

	d[SET_PORTS] = (struct set_def){ MH_SET_PORTS, ID_PORTS, NFT_SET_INTERVAL,
					 TYPE_SERVICE, 2, 0, 0 };
	d[SET_SESSIONS] = (struct set_def){ MH_SET_SESSIONS, ID_SESSIONS, 0,
					    TYPE_SERVICE, 2, 0, 0 };
	d[SET_PH4] = (struct set_def){ MH_SET_PINHOLES4, ID_PINHOLES4, dyn,
				       concat_type(TYPE_IPV4), MH_PH_KEY4_LEN,
				       MH_PINHOLE_SET_SIZE, p->idle_timeout_ms };
	d[SET_PH6] = (struct set_def){ MH_SET_PINHOLES6, ID_PINHOLES6, dyn,
				       concat_type(TYPE_IPV6), MH_PH_KEY6_LEN,
				       MH_PINHOLE_SET_SIZE, p->idle_timeout_ms };
}

/* Create every set if missing (an existing set of the same type is left
 * alone). The pinhole sets are re-created later, so here they carry ids of
 * their own (the kernel wants one on every new set) and no timeout (a
 * timeout would be an update on newer kernels). */
static int ensure_sets(struct mnl_nlmsg_batch *b, uint32_t *seq,
		       const struct mh_ruleset_params *p)
{
	struct set_def d[SET_COUNT];
	int err = 0;

	set_defs(p, d);
	d[SET_PH4].id = ID_PINHOLES4_TMP;
	d[SET_PH6].id = ID_PINHOLES6_TMP;
	d[SET_PH4].timeout_ms = d[SET_PH6].timeout_ms = 0;
	for (int i = 0; i < SET_COUNT && !err; i++)
		err = put_set(b, seq, p->table, &d[i]);
	return err;
}

static int put_set_delete(struct mnl_nlmsg_batch *b, uint32_t *seq,
			  const char *table, const char *name)
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

/* After the rules are flushed: empty `ports` and `sessions` (kept, so the
 * interval set the base chains look up never changes identity), re-create
 * the pinhole sets with the configured timeout, fill in the range. */
static int reset_sets(struct mnl_nlmsg_batch *b, uint32_t *seq,
		      const struct mh_ruleset_params *p)
{
	struct set_def d[SET_COUNT];
	int err;

	set_defs(p, d);
	err = put_elems(b, seq, NFT_MSG_DELSETELEM, p->table, MH_SET_PORTS, NULL, 0);
	if (!err)
		err = put_elems(b, seq, NFT_MSG_DELSETELEM, p->table, MH_SET_SESSIONS,
				NULL, 0);
	for (int i = SET_PH4; i <= SET_PH6 && !err; i++)
		err = put_set_delete(b, seq, p->table, d[i].name);
	for (int i = SET_PH4; i <= SET_PH6 && !err; i++)
		err = put_set(b, seq, p->table, &d[i]);
	if (!err)
		err = put_port_range(b, seq, p);
	return err;
}

/* ------------------------------------------------------------------ */
/* Pinhole keys                                                        */

const char *mh_nft_pinhole_set(int family)
{
	if (family == AF_INET)
		return MH_SET_PINHOLES4;
	if (family == AF_INET6)
		return MH_SET_PINHOLES6;
	return NULL;
}

size_t mh_nft_pinhole_key(const struct mh_pinhole *ph, uint8_t *key)
{
	size_t alen = ph->family == AF_INET ? 4 : 16;
	uint16_t cport = htons(ph->client_port), sport = htons(ph->server_port);

	if (!mh_nft_pinhole_set(ph->family))
		return 0;
	memset(key, 0, MH_PH_KEY_MAX);
	memcpy(key, ph->addr, alen);
	memcpy(key + alen, &cport, 2);      /* 2 bytes of padding follow */
	memcpy(key + alen + 4, &sport, 2);
	return alen + 8;
}

int mh_nft_pinhole_from_key(const uint8_t *key, size_t len,
			    struct mh_pinhole *ph)
{
	size_t alen;
	uint16_t cport, sport;

	if (len == MH_PH_KEY4_LEN)
		alen = 4;
	else if (len == MH_PH_KEY6_LEN)
		alen = 16;
	else
		return -EINVAL;
	memset(ph, 0, sizeof(*ph));
	ph->family = alen == 4 ? AF_INET : AF_INET6;
	memcpy(ph->addr, key, alen);
	memcpy(&cport, key + alen, 2);
	memcpy(&sport, key + alen + 4, 2);
	ph->client_port = ntohs(cport);
	ph->server_port = ntohs(sport);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Rule builder: expressions are appended in order; the first failure
 * sticks in rb->err and makes every later helper a no-op. */

struct rb {
	struct nftnl_rule *r;
	int err;
};

static struct nftnl_expr *expr_new(struct rb *rb, const char *name)
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

static void e_meta(struct rb *rb, uint32_t key)
{
	struct nftnl_expr *e = expr_new(rb, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

static void e_ct(struct rb *rb, uint32_t key)
{
	struct nftnl_expr *e = expr_new(rb, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
}

/* reg 1 == one byte */
static void e_cmp_u8(struct rb *rb, uint8_t val)
{
	struct nftnl_expr *e = expr_new(rb, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, &val, sizeof(val));
}

static void e_payload(struct rb *rb, uint32_t base, uint32_t off, uint32_t len,
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

static void e_lookup(struct rb *rb, const char *set, uint32_t set_id)
{
	struct nftnl_expr *e = expr_new(rb, "lookup");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
}

/* Refresh the timeout of the element whose key is still in reg 1. */
static void e_dynset_update(struct rb *rb, const char *set, uint32_t set_id)
{
	struct nftnl_expr *e = expr_new(rb, "dynset");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, set_id);
}

static void e_limit(struct rb *rb, uint32_t rate)
{
	struct nftnl_expr *e = expr_new(rb, "limit");

	if (!e)
		return;
	nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, rate);
	nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, MH_LIMIT_UNIT_S);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, rate);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_FLAGS, 0);
}

static void e_counter(struct rb *rb)
{
	expr_new(rb, "counter");
}

static void e_verdict(struct rb *rb, int verdict, const char *chain)
{
	struct nftnl_expr *e = expr_new(rb, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
}

/* Queue verdict: never bypass (fail closed); CPU fanout over >1 queue. */
static void e_queue_native(struct rb *rb, uint16_t num, uint16_t total)
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
static void e_queue_compat(struct rb *rb, uint16_t num, uint16_t total)
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

static void e_queue(struct rb *rb, bool native, uint16_t num, uint16_t total)
{
	if (native)
		e_queue_native(rb, num, total);
	else
		e_queue_compat(rb, num, total);
}

/* The rule's nft comment (shown by `nft list` as comment "..."). */
static void r_comment(struct rb *rb, const char *text)
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

/* ------------------------------------------------------------------ */
/* Matches                                                             */

static void m_udp(struct rb *rb)
{
	e_meta(rb, NFT_META_L4PROTO);
	e_cmp_u8(rb, IPPROTO_UDP);
}

/* udp sport (off 0) or dport (off 2) in a port set */
static void m_udp_port_in(struct rb *rb, uint32_t off, const char *set,
			  uint32_t set_id)
{
	m_udp(rb);
	e_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, off, 2, NFT_REG_1);
	e_lookup(rb, set, set_id);
}

/* Per direction: where the peer (client) address and ports are. */
struct dir {
	const char *base, *chain;
	int hook;
	uint32_t client_port_off, server_port_off; /* in the UDP header */
	uint32_t addr4_off, addr6_off;             /* peer address */
	uint8_t ct_dir;                            /* flows to let through */
	bool refresh;                              /* update pinhole timeout */
	const char *c_jump, *c_pin4, *c_pin6, *c_queue, *c_over, *c_ct, *c_drop;
};

static const struct dir dir_in = {
	"input", "mosh_in", NF_INET_LOCAL_IN, 0, 2, 12, 8, CT_DIR_REPLY, true,
	"UDP to the mosh range: only pinholes and authenticated sessions",
	"pinholed mosh client: accept, refresh idle timeout",
	"pinholed mosh client: accept, refresh idle timeout",
	"session port, unknown source: rate-limited queue to mosh-helperd (fail-closed)",
	"session port over the slow-path rate: drop",
	"replies to flows this host opened from a port in the range",
	"nothing else enters the mosh range: silent drop, no ICMP",
};

static const struct dir dir_out = {
	"output", "mosh_out", NF_INET_LOCAL_OUT, 2, 0, 16, 24, CT_DIR_ORIGINAL, false,
	"UDP from the mosh range: only to pinholed peers",
	"to a pinholed mosh client: accept",
	"to a pinholed mosh client: accept",
	"session reply to a new peer: queue to mosh-helperd to confirm a roam (fail-closed)",
	"session port over the slow-path rate: drop",
	"flows this host opens itself from a non-session port in the range",
	"nothing else leaves the mosh range (anti-reflection): drop",
};

/* peer addr . client port . server port in reg 1.., then lookup */
static void m_pinhole(struct rb *rb, const struct dir *d, int family)
{
	bool v4 = family == AF_INET;
	uint32_t alen = v4 ? 4 : 16, preg = NFT_REG32_00 + alen / 4;
	const char *set = mh_nft_pinhole_set(family);
	uint32_t id = v4 ? ID_PINHOLES4 : ID_PINHOLES6;

	e_meta(rb, NFT_META_NFPROTO);
	e_cmp_u8(rb, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
	m_udp(rb);
	e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, v4 ? d->addr4_off : d->addr6_off,
		  alen, NFT_REG_1);
	e_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, d->client_port_off, 2, preg);
	e_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, d->server_port_off, 2, preg + 1);
	e_lookup(rb, set, id);
	if (d->refresh)
		e_dynset_update(rb, set, id);
}

/* ------------------------------------------------------------------ */
/* Rules                                                               */

typedef void (*rule_fn)(struct rb *rb, const struct dir *d,
			const struct mh_ruleset_params *p);

static void rule_jump(struct rb *rb, const struct dir *d,
		      const struct mh_ruleset_params *p)
{
	(void)p;
	m_udp_port_in(rb, d->server_port_off, MH_SET_PORTS, ID_PORTS);
	e_verdict(rb, NFT_JUMP, d->chain);
	r_comment(rb, d->c_jump);
}

static void rule_pinhole4(struct rb *rb, const struct dir *d,
			  const struct mh_ruleset_params *p)
{
	(void)p;
	m_pinhole(rb, d, AF_INET);
	e_verdict(rb, NF_ACCEPT, NULL);
	r_comment(rb, d->c_pin4);
}

static void rule_pinhole6(struct rb *rb, const struct dir *d,
			  const struct mh_ruleset_params *p)
{
	(void)p;
	m_pinhole(rb, d, AF_INET6);
	e_verdict(rb, NF_ACCEPT, NULL);
	r_comment(rb, d->c_pin6);
}

static void rule_queue(struct rb *rb, const struct dir *d,
		       const struct mh_ruleset_params *p)
{
	m_udp_port_in(rb, d->server_port_off, MH_SET_SESSIONS, ID_SESSIONS);
	e_limit(rb, p->slow_path_rate);
	e_queue(rb, p->native_queue, p->queue_num, p->queue_total);
	r_comment(rb, d->c_queue);
}

static void rule_over_rate(struct rb *rb, const struct dir *d,
			   const struct mh_ruleset_params *p)
{
	(void)p;
	m_udp_port_in(rb, d->server_port_off, MH_SET_SESSIONS, ID_SESSIONS);
	e_counter(rb);
	e_verdict(rb, NF_DROP, NULL);
	r_comment(rb, d->c_over);
}

static void rule_ct_return(struct rb *rb, const struct dir *d,
			   const struct mh_ruleset_params *p)
{
	(void)p;
	e_ct(rb, NFT_CT_DIRECTION);
	e_cmp_u8(rb, d->ct_dir);
	e_verdict(rb, NFT_RETURN, NULL);
	r_comment(rb, d->c_ct);
}

static void rule_drop(struct rb *rb, const struct dir *d,
		      const struct mh_ruleset_params *p)
{
	(void)p;
	e_counter(rb);
	e_verdict(rb, NF_DROP, NULL);
	r_comment(rb, d->c_drop);
}

static int put_rule(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *table,
		    const char *chain, rule_fn fn, const struct dir *d,
		    const struct mh_ruleset_params *p)
{
	struct rb rb = { nftnl_rule_alloc(), 0 };
	struct nlmsghdr *nlh;

	if (!rb.r)
		return -ENOMEM;
	nftnl_rule_set_str(rb.r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(rb.r, NFTNL_RULE_CHAIN, chain);
	fn(&rb, d, p);
	if (!rb.err) {
		nlh = msg_start(b, seq, NFT_MSG_NEWRULE, NLM_F_APPEND | NLM_F_CREATE);
		nftnl_rule_nlmsg_build_payload(nlh, rb.r);
		rb.err = msg_end(b);
	}
	nftnl_rule_free(rb.r);
	return rb.err;
}

static const rule_fn sub_rules[] = {
	rule_pinhole4, rule_pinhole6, rule_queue, rule_over_rate,
	rule_ct_return, rule_drop,
};

static int put_direction_rules(struct mnl_nlmsg_batch *b, uint32_t *seq,
			       const struct mh_ruleset_params *p,
			       const struct dir *d)
{
	int err = put_rule(b, seq, p->table, d->base, rule_jump, d, p);

	for (size_t i = 0; i < sizeof(sub_rules) / sizeof(sub_rules[0]) && !err; i++)
		err = put_rule(b, seq, p->table, d->chain, sub_rules[i], d, p);
	return err;
}

/* ------------------------------------------------------------------ */
/* Public builders                                                     */

static int check_table_name(const char *table)
{
	if (!table || !*table || strlen(table) >= NFT_TABLE_MAXNAMELEN)
		return -EINVAL;
	return 0;
}

static int check_params(const struct mh_ruleset_params *p)
{
	if (check_table_name(p->table) || p->port_low == 0 ||
	    p->port_low > p->port_high || p->idle_timeout_ms == 0 ||
	    p->queue_total == 0 || p->slow_path_rate == 0 ||
	    (uint32_t)p->queue_num + p->queue_total - 1 > UINT16_MAX)
		return -EINVAL;
	return 0;
}

static int put_chains(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *table)
{
	int err = put_chain(b, seq, table, dir_in.base, dir_in.hook, MH_CHAIN_PRIORITY);

	if (!err)
		err = put_chain(b, seq, table, dir_in.chain, -1, 0);
	if (!err)
		err = put_chain(b, seq, table, dir_out.base, dir_out.hook, MH_CHAIN_PRIORITY);
	if (!err)
		err = put_chain(b, seq, table, dir_out.chain, -1, 0);
	return err;
}

/* Empty a chain (a rule delete naming only the chain). */
static int put_chain_flush(struct mnl_nlmsg_batch *b, uint32_t *seq,
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

static int flush_chains(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *table)
{
	const char *names[] = { dir_in.base, dir_in.chain, dir_out.base, dir_out.chain };
	int err = 0;

	for (size_t i = 0; i < 4 && !err; i++)
		err = put_chain_flush(b, seq, table, names[i]);
	return err;
}

/*
 * One transaction whether or not the table exists: create what is missing,
 * flush the rules, reset the sets, add the rules. The table, the base chains
 * and the `ports` interval set keep their identity across a reload: deleting
 * and re-adding the table would register new hooks and build a new interval
 * set at commit, and datagrams to the range were measured to slip through
 * during that commit (kernel 6.18). Flushed chains swap their rules
 * atomically at the generation flip.
 */
int mh_nft_build_ruleset(struct mnl_nlmsg_batch *b, uint32_t *seq,
			 const struct mh_ruleset_params *p)
{
	int err = check_params(p);

	if (!err)
		err = put_table(b, seq, NFT_MSG_NEWTABLE, p->table);
	if (!err)
		err = ensure_sets(b, seq, p);
	if (!err)
		err = put_chains(b, seq, p->table);
	if (!err)
		err = flush_chains(b, seq, p->table);
	if (!err)
		err = reset_sets(b, seq, p);
	if (!err)
		err = put_direction_rules(b, seq, p, &dir_in);
	if (!err)
		err = put_direction_rules(b, seq, p, &dir_out);
	return err;
}

int mh_nft_build_table_delete(struct mnl_nlmsg_batch *b, uint32_t *seq,
			      const char *table)
{
	int err = check_table_name(table);

	return err ? err : put_table(b, seq, NFT_MSG_DELTABLE, table);
}

static void rule_probe(struct rb *rb, const struct dir *d,
		       const struct mh_ruleset_params *p)
{
	(void)d;
	e_queue(rb, p->native_queue, p->queue_num, p->queue_total);
}

int mh_nft_build_queue_probe(struct mnl_nlmsg_batch *b, uint32_t *seq,
			     bool native)
{
	const struct mh_ruleset_params p = {
		.table = MH_PROBE_TABLE, .queue_total = 1, .native_queue = native,
	};
	int err = put_table(b, seq, NFT_MSG_NEWTABLE, p.table);

	if (!err)
		err = put_chain(b, seq, p.table, "probe", NF_INET_LOCAL_IN, 0);
	if (!err)
		err = put_rule(b, seq, p.table, "probe", rule_probe, &dir_in, &p);
	if (!err)
		err = put_table(b, seq, NFT_MSG_DELTABLE, p.table);
	return err;
}

int mh_nft_build_pinhole(struct mnl_nlmsg_batch *b, uint32_t *seq,
			 const char *table, const struct mh_pinhole *ph,
			 bool add, uint32_t timeout_ms)
{
	uint8_t key[MH_PH_KEY_MAX];
	size_t len = mh_nft_pinhole_key(ph, key);
	struct elem_def ev = { key, (uint32_t)len, 0, add ? timeout_ms : 0 };

	if (!len || check_table_name(table))
		return -EINVAL;
	return put_elems(b, seq, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
			 table, mh_nft_pinhole_set(ph->family), &ev, 1);
}

int mh_nft_build_session_port(struct mnl_nlmsg_batch *b, uint32_t *seq,
			      const char *table, uint16_t port, bool add)
{
	uint16_t key = htons(port);
	struct elem_def ev = { &key, sizeof(key), 0, 0 };

	if (check_table_name(table))
		return -EINVAL;
	return put_elems(b, seq, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
			 table, MH_SET_SESSIONS, &ev, 1);
}
