/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Single-port mode's conntrack clean-up (ctnetlink over libmnl). A flow
 * DNATed from the public port goes on to its session's port for as long as
 * conntrack remembers it, whatever the mux maps say. When a session ends or
 * a mapping is evicted, the entries that bind clients to that port are
 * found (a dump the kernel filters by ports, checked again here) and
 * deleted one by one by their exact tuple and id, a bounded number per call.
 * One source's flow is also looked up by its tuple (a hash lookup, no
 * dump) when the mapping path finds it authentic for another session, and
 * deleted by tuple and id if it is stale.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "daemon.h"

#define CT_MAX_CUT     64     /* entries deleted per call at most */
#define CT_TUPLE_MAX   160    /* a dumped CTA_TUPLE_ORIG payload, IPv6 with zone */
#define CT_DUMP_READS  4096   /* recv calls per dump at most */
#define CT_DRAIN_READS 64     /* leftovers of an aborted dump read at most */
#define CT_RCV_TIMEOUT_MS 1000
#define CT_REQ_LEN     1024   /* bytes of a request buffer zeroed first */
#define CT_WALKS_PER_SEC  4   /* dumps (whole-table walks) a second at most */

/* The kernel's tuple filter flags (CTA_FILTER_F_* of nf_conntrack_netlink,
 * not exported as UAPI; stable since 5.8). */
#define CT_F_PROTO_NUM      (1u << 3)
#define CT_F_PROTO_SRC_PORT (1u << 4)
#define CT_F_PROTO_DST_PORT (1u << 5)

/* What to cut: flows to public_port whose replies come from server_port,
 * and if client is set, only those from that address and port. */
struct ct_query {
	uint16_t public_port, server_port;
	const struct mh_addr *client;
	const struct mh_addr *server;   /* its address only; NULL: any */
};

/* One tuple of a dumped entry, as far as the match needs it. */
struct ct_tuple {
	uint8_t src[16], dst[16];
	bool has_src;
	uint8_t proto;
	uint16_t sport, dport;     /* host order */
};

/* An entry to delete: its original tuple as dumped, its id and zone. */
struct ct_flow {
	uint8_t tuple[CT_TUPLE_MAX];
	uint16_t tuple_len;
	bool has_id, has_zone;
	uint32_t id;               /* network order, as dumped */
	uint16_t zone;             /* network order, as dumped */
};

struct ct_found {
	const struct ct_query *q;
	int family;
	struct ct_flow flow[CT_MAX_CUT];
	unsigned n, more;          /* collected; matching beyond the bound */
};

static struct ct_found found;  /* 11 KB, off the stack: one loop thread */

/* ------------------------------------------------------------------ */
/* Requests                                                            */

/* buf holds MNL_SOCKET_BUFFER_SIZE bytes; a request is far smaller than
 * CT_REQ_LEN, all of it zeroed first so that no byte of the stack leaves
 * in an attribute's padding (valgrind found one). */
static struct nlmsghdr *ct_msg(char *buf, uint8_t type, uint16_t flags,
			       int family, uint32_t seq)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	memset(buf, 0, CT_REQ_LEN);
	nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = (uint8_t)family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

/* A filter tuple: UDP and both ports (the flags say which ones count). */
static void put_filter_tuple(struct nlmsghdr *nlh, uint16_t type,
			     uint16_t sport, uint16_t dport)
{
	struct nlattr *t = mnl_attr_nest_start(nlh, type);
	struct nlattr *p = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);

	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_UDP);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(sport));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(dport));
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, t);
}

/* Dump of one family, filtered by the kernel on protocol and ports only
 * (the client's address, when there is one, is compared here: ct_match
 * checks every condition again, whatever the kernel filtered). */
static struct nlmsghdr *dump_request(char *buf, int family, uint32_t seq,
				     const struct ct_query *q)
{
	struct nlmsghdr *nlh = ct_msg(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP,
				      family, seq);
	uint16_t cport = q->client ? q->client->port : 0;
	uint32_t orig = CT_F_PROTO_NUM | CT_F_PROTO_DST_PORT |
			(cport ? CT_F_PROTO_SRC_PORT : 0);
	struct nlattr *f;

	put_filter_tuple(nlh, CTA_TUPLE_ORIG, cport, q->public_port);
	put_filter_tuple(nlh, CTA_TUPLE_REPLY, q->server_port, 0);
	f = mnl_attr_nest_start(nlh, CTA_FILTER);
	mnl_attr_put_u32(nlh, CTA_FILTER_ORIG_FLAGS, orig);
	mnl_attr_put_u32(nlh, CTA_FILTER_REPLY_FLAGS,
			 CT_F_PROTO_NUM | CT_F_PROTO_SRC_PORT);
	mnl_attr_nest_end(nlh, f);
	return nlh;
}

/* ------------------------------------------------------------------ */
/* Parsing a dumped entry                                              */

struct nest_attrs {
	const struct nlattr *a[CTA_MAX + 1];
	unsigned max;
};

static int nest_cb(const struct nlattr *attr, void *data)
{
	struct nest_attrs *n = data;
	unsigned type = mnl_attr_get_type(attr);

	if (type <= n->max)
		n->a[type] = attr;
	return MNL_CB_OK;
}

static int parse_nest(const struct nlattr *nest, unsigned max,
		      struct nest_attrs *n)
{
	memset(n, 0, sizeof(*n));
	n->max = max;
	return mnl_attr_parse_nested(nest, nest_cb, n) < 0 ? -EINVAL : 0;
}

static bool attr_len_is(const struct nlattr *a, size_t len)
{
	return a && mnl_attr_get_payload_len(a) == len;
}

static void copy_addr(const struct nlattr *a, size_t len, uint8_t *out,
		      bool *set)
{
	if (attr_len_is(a, len)) {
		memcpy(out, mnl_attr_get_payload(a), len);
		if (set)
			*set = true;
	}
}

static int parse_tuple(const struct nlattr *nest, int family,
		       struct ct_tuple *t)
{
	struct nest_attrs tup, ip, pr;
	bool v4 = family == AF_INET;

	memset(t, 0, sizeof(*t));
	if (parse_nest(nest, CTA_TUPLE_MAX, &tup) < 0 ||
	    !tup.a[CTA_TUPLE_IP] || !tup.a[CTA_TUPLE_PROTO] ||
	    parse_nest(tup.a[CTA_TUPLE_IP], CTA_IP_MAX, &ip) < 0 ||
	    parse_nest(tup.a[CTA_TUPLE_PROTO], CTA_PROTO_MAX, &pr) < 0)
		return -EINVAL;
	copy_addr(ip.a[v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC], v4 ? 4 : 16,
		  t->src, &t->has_src);
	copy_addr(ip.a[v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST], v4 ? 4 : 16,
		  t->dst, NULL);
	if (!attr_len_is(pr.a[CTA_PROTO_NUM], 1))
		return -EINVAL;
	t->proto = mnl_attr_get_u8(pr.a[CTA_PROTO_NUM]);
	if (attr_len_is(pr.a[CTA_PROTO_SRC_PORT], 2))
		t->sport = ntohs(mnl_attr_get_u16(pr.a[CTA_PROTO_SRC_PORT]));
	if (attr_len_is(pr.a[CTA_PROTO_DST_PORT], 2))
		t->dport = ntohs(mnl_attr_get_u16(pr.a[CTA_PROTO_DST_PORT]));
	return 0;
}

/* The whole condition, whatever the kernel's filter did. */
static bool ct_match(const struct ct_query *q, int family,
		     const struct ct_tuple *orig, const struct ct_tuple *reply)
{
	if (orig->proto != IPPROTO_UDP || reply->proto != IPPROTO_UDP ||
	    orig->dport != q->public_port || reply->sport != q->server_port)
		return false;
	if (q->server && (q->server->family != family || !reply->has_src ||
			  memcmp(reply->src, q->server->ip,
				 family == AF_INET ? 4 : 16)))
		return false;   /* the same port on another server */
	if (!q->client)
		return true;
	return q->client->family == family && orig->has_src &&
	       orig->sport == q->client->port &&
	       !memcmp(orig->src, q->client->ip, family == AF_INET ? 4 : 16);
}

static void keep_flow(struct ct_found *f, const struct nest_attrs *ct)
{
	const struct nlattr *o = ct->a[CTA_TUPLE_ORIG];
	struct ct_flow *fl;

	if (f->n == CT_MAX_CUT || mnl_attr_get_payload_len(o) > CT_TUPLE_MAX) {
		f->more++;
		return;
	}
	fl = &f->flow[f->n++];
	memset(fl, 0, sizeof(*fl));
	fl->tuple_len = (uint16_t)mnl_attr_get_payload_len(o);
	memcpy(fl->tuple, mnl_attr_get_payload(o), fl->tuple_len);
	if (attr_len_is(ct->a[CTA_ID], 4)) {
		fl->has_id = true;
		fl->id = mnl_attr_get_u32(ct->a[CTA_ID]);
	}
	if (attr_len_is(ct->a[CTA_ZONE], 2)) {
		fl->has_zone = true;
		fl->zone = mnl_attr_get_u16(ct->a[CTA_ZONE]);
	}
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ct_found *f = data;
	struct ct_tuple orig, reply;
	struct nest_attrs ct = { .max = CTA_MAX };

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), nest_cb, &ct) < 0 ||
	    !ct.a[CTA_TUPLE_ORIG] || !ct.a[CTA_TUPLE_REPLY])
		return MNL_CB_OK;            /* not ours to judge: skipped */
	if (parse_tuple(ct.a[CTA_TUPLE_ORIG], f->family, &orig) < 0 ||
	    parse_tuple(ct.a[CTA_TUPLE_REPLY], f->family, &reply) < 0)
		return MNL_CB_OK;
	if (ct_match(f->q, f->family, &orig, &reply))
		keep_flow(f, &ct);
	return MNL_CB_OK;
}

/* ------------------------------------------------------------------ */
/* Talking to the kernel                                               */

static uint32_t ct_seq;   /* of the requests on d->ct */

/* Whatever an earlier, aborted exchange left on the socket. */
static void drain(struct mh_daemon *d)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int fd = mnl_socket_get_fd(d->ct);

	for (int i = 0; i < CT_DRAIN_READS; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
}

static int dump_family(struct mh_daemon *d, int family, struct ct_found *f)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = ++ct_seq, portid = mnl_socket_get_portid(d->ct);
	struct nlmsghdr *nlh = dump_request(buf, family, seq, f->q);
	ssize_t n;
	int ret = MNL_CB_OK;

	f->family = family;
	if (mnl_socket_sendto(d->ct, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (int i = 0; i < CT_DUMP_READS && ret > MNL_CB_STOP; i++) {
		n = mnl_socket_recvfrom(d->ct, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, dump_cb, f);
	}
	if (ret == MNL_CB_ERROR)
		return errno ? -errno : -EPROTO;
	return ret > MNL_CB_STOP ? -EOVERFLOW : 0;   /* not done: too big */
}

/* Sends one request and runs cb over its one answer: 0 or -errno. After
 * a failure (other than -ENOENT, the kernel's plain "no such entry"),
 * what is left of the answer is drained: a late one must not meet the
 * next request. */
static int exchange(struct mh_daemon *d, const struct nlmsghdr *nlh,
		    mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;
	int err = 0;

	if (mnl_socket_sendto(d->ct, nlh, nlh->nlmsg_len) < 0)
		err = -errno;
	else if ((n = mnl_socket_recvfrom(d->ct, buf, sizeof(buf))) < 0)
		err = -errno;
	else if (mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq,
			    mnl_socket_get_portid(d->ct), cb, data) < 0)
		err = errno ? -errno : -EPROTO;
	if (err && err != -ENOENT)
		drain(d);
	return err;
}

/* 0 deleted, -ENOENT already gone (or re-created: another id), else -errno */
static int delete_flow(struct mh_daemon *d, int family, const struct ct_flow *fl)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = ct_msg(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK,
				      family, ++ct_seq);

	mnl_attr_put(nlh, CTA_TUPLE_ORIG | NLA_F_NESTED, fl->tuple_len, fl->tuple);
	if (fl->has_id)
		mnl_attr_put_u32(nlh, CTA_ID, fl->id);
	if (fl->has_zone)
		mnl_attr_put_u16(nlh, CTA_ZONE, fl->zone);
	return exchange(d, nlh, NULL, NULL);
}

static int cut_family(struct mh_daemon *d, int family, const struct ct_query *q,
		      unsigned *cut, unsigned *left)
{
	int err;

	memset(&found, 0, sizeof(found));
	found.q = q;
	err = dump_family(d, family, &found);
	if (err) {
		drain(d);
		return err;
	}
	*left += found.more;
	for (unsigned i = 0; i < found.n; i++) {
		err = delete_flow(d, family, &found.flow[i]);
		if (err == 0) {
			(*cut)++;
		} else if (err != -ENOENT) {
			return err;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* One source's flow, by its tuple                                     */

/* The original tuple of a flow from client to dst (the public port). */
static void put_tuple(struct nlmsghdr *nlh, const struct mh_addr *client,
		      const struct mh_addr *dst)
{
	bool v4 = client->family == AF_INET;
	size_t alen = v4 ? 4 : 16;
	struct nlattr *t = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	struct nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	struct nlattr *p;

	mnl_attr_put(nlh, v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, alen, client->ip);
	mnl_attr_put(nlh, v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, alen, dst->ip);
	mnl_attr_nest_end(nlh, ip);
	p = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_UDP);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(client->port));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(dst->port));
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, t);
}

struct ct_got {
	const struct mh_addr *client;
	uint16_t public_port;
	struct mh_ct_flow *f;
};

/* The entry a lookup returned, if its original direction is the
 * client's datagram to the public port (a lookup also finds a tuple in
 * the reply direction); its reply's source is where the flow goes. */
static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ct_got *g = data;
	int family = g->client->family;
	struct nest_attrs ct = { .max = CTA_MAX };
	struct ct_tuple orig, reply;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), nest_cb, &ct) < 0 ||
	    !ct.a[CTA_TUPLE_ORIG] || !ct.a[CTA_TUPLE_REPLY] ||
	    parse_tuple(ct.a[CTA_TUPLE_ORIG], family, &orig) < 0 ||
	    parse_tuple(ct.a[CTA_TUPLE_REPLY], family, &reply) < 0)
		return MNL_CB_OK;
	if (orig.proto != IPPROTO_UDP || !orig.has_src || !reply.has_src ||
	    orig.sport != g->client->port || orig.dport != g->public_port ||
	    memcmp(orig.src, g->client->ip, family == AF_INET ? 4 : 16))
		return MNL_CB_OK;
	g->f->found = true;
	g->f->to.family = family;
	memcpy(g->f->to.ip, reply.src, sizeof(g->f->to.ip));
	g->f->to.port = reply.sport;
	g->f->has_id = attr_len_is(ct.a[CTA_ID], 4);
	if (g->f->has_id)
		g->f->id = mnl_attr_get_u32(ct.a[CTA_ID]);
	return MNL_CB_OK;
}

int mh_ct_flow_get(struct mh_daemon *d, const struct mh_addr *client,
		   const struct mh_addr *dst, struct mh_ct_flow *f)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ct_got g = { client, d->pol.public_port, f };
	struct nlmsghdr *nlh;
	int err;

	memset(f, 0, sizeof(*f));
	if (!d->ct)
		return -ENOTCONN;
	nlh = ct_msg(buf, IPCTNL_MSG_CT_GET, 0, client->family, ++ct_seq);
	put_tuple(nlh, client, dst);
	err = exchange(d, nlh, get_cb, &g);
	if (err)
		return err;
	return f->found ? 0 : -ENOENT;
}

int mh_ct_flow_cut(struct mh_daemon *d, const struct mh_addr *client,
		   const struct mh_addr *dst, const struct mh_ct_flow *f)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	if (!d->ct)
		return -ENOTCONN;
	nlh = ct_msg(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, client->family, ++ct_seq);
	put_tuple(nlh, client, dst);
	if (f->has_id)
		mnl_attr_put_u32(nlh, CTA_ID, f->id);
	return exchange(d, nlh, NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* The daemon's side                                                   */

int mh_ct_open(struct mh_daemon *d)
{
	struct timeval tv = { CT_RCV_TIMEOUT_MS / 1000,
			      (CT_RCV_TIMEOUT_MS % 1000) * 1000 };
	struct ct_query q = { d->pol.public_port, 0, NULL, NULL };
	int err;

	d->ct = mnl_socket_open(NETLINK_NETFILTER);
	if (!d->ct)
		return -errno;
	if (mnl_socket_bind(d->ct, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(d->ct), SOL_SOCKET, SO_RCVTIMEO,
		       &tv, sizeof(tv)) < 0) {
		err = -errno;
		mh_ct_close(d);
		return err;
	}
	/* A first dump (no flow has its replies from port 0) says now, not
	 * at the first session end, whether ctnetlink answers. */
	memset(&found, 0, sizeof(found));
	found.q = &q;
	err = dump_family(d, AF_INET, &found);
	if (err) {
		drain(d);
		mh_ct_close(d);
	}
	return err;
}

void mh_ct_close(struct mh_daemon *d)
{
	if (d->ct)
		mnl_socket_close(d->ct);
	d->ct = NULL;
}

/* A dump walks the kernel's whole conntrack hash table, shared by every
 * namespace (about 11 ms for 262,144 buckets on a test machine), whatever
 * it returns, and the event loop waits for it. So many session ends at
 * once cost at most this many walks a second (under 5% of the loop's
 * time), and the ones over it leave their flows to conntrack's timeouts.
 * (A flush with a filter instead of a dump would be faster, but a kernel
 * that ignores the filter would flush every flow of the host.) */
static bool walk_budget(unsigned walks)
{
	static uint64_t second;
	static unsigned used;
	uint64_t now = mh_now_ms() / 1000;

	if (now != second) {
		second = now;
		used = 0;
	}
	if (used + walks > CT_WALKS_PER_SEC)
		return false;
	used += walks;
	return true;
}

int mh_ct_cut(struct mh_daemon *d, const struct mh_addr *server,
	      uint16_t server_port, const struct mh_addr *client,
	      unsigned families)
{
	static const struct { int family; unsigned bit; } fam[] = {
		{ AF_INET, MH_CT_IPV4 }, { AF_INET6, MH_CT_IPV6 },
	};
	struct ct_query q = { d->pol.public_port, server_port, client, server };
	unsigned cut = 0, left = 0, walks = 0;
	int err;

	if (!d->ct || !q.public_port || !server_port)
		return 0;
	if (server)
		families &= server->family == AF_INET ? MH_CT_IPV4 : MH_CT_IPV6;
	if (client)
		families = client->family == AF_INET ? MH_CT_IPV4 : MH_CT_IPV6;
	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++)
		walks += !!(families & fam[i].bit);
	if (!walk_budget(walks)) {
		log_info("port %u: too many session ends this second; its conntrack "
			 "flows expire by themselves", server_port);
		return 0;
	}
	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		if (!(families & fam[i].bit))
			continue;
		err = cut_family(d, fam[i].family, &q, &cut, &left);
		if (err)
			log_warn("port %u: deleting conntrack flows through port %u "
				 "(IPv%d): %s", server_port, q.public_port,
				 fam[i].family == AF_INET ? 4 : 6, strerror(-err));
	}
	if (left)
		log_warn("port %u: %u more conntrack flows than the %u deleted at "
			 "once; they expire by themselves", server_port, left,
			 CT_MAX_CUT);
	return (int)cut;
}
