/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The nftables socket edge: one NETLINK_NETFILTER socket that sends the
 * batches nft/build.c builds, either waiting for the kernel's answer to
 * every message (start-up, reload, stop) or not (hot path, errors read
 * later from the fd), probes the queue flavour, the table flags and the
 * form of a map lookup, reads a table's flags and owner, and dumps the
 * `sessions` set, the pinhole sets, single-port mode's mux maps or any
 * set's raw keys (the gateway's table). An owned table takes changes from
 * this socket only, so the daemon sends everything through one. A second
 * socket only reads: the walks, dumps taken a part at a time by the
 * periodic read-back between the daemon's other work.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "log.h"
#include "nft.h"
#include "nft_int.h"

#define MH_NFT_RCVBUF      (4 * 1024 * 1024)
#define MH_NFT_SNDBUF      (8 * 1024 * 1024)  /* a restore batch of every element */
#define MH_NFT_ACK_WAIT_MS 1000   /* kernel answers within sendmsg; safety net */
#define MH_NFT_PROBE_BUF   8192
#define MH_NFT_RECV_BUF    32768

struct mh_nft_walk;

struct mh_nft {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	struct mh_nft_walk *walk;   /* a dump read a message at a time */
};

static struct mh_nft_walk *walk_open(void);
static void walk_close(struct mh_nft_walk *w);

struct mh_nft *mh_nft_open(void)
{
	struct mh_nft *n = calloc(1, sizeof(*n));
	int one = 1, rcv = MH_NFT_RCVBUF, snd = MH_NFT_SNDBUF, err;

	if (!n)
		return NULL;
	n->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!n->nl || mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	/* acks carry only the header of the message they answer */
	mnl_socket_setsockopt(n->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(mnl_socket_get_fd(n->nl), SOL_SOCKET, SO_RCVBUFFORCE,
		       &rcv, sizeof(rcv)) < 0)
		setsockopt(mnl_socket_get_fd(n->nl), SOL_SOCKET, SO_RCVBUF,
			   &rcv, sizeof(rcv));
	if (setsockopt(mnl_socket_get_fd(n->nl), SOL_SOCKET, SO_SNDBUFFORCE,
		       &snd, sizeof(snd)) < 0)
		setsockopt(mnl_socket_get_fd(n->nl), SOL_SOCKET, SO_SNDBUF,
			   &snd, sizeof(snd));
	n->portid = mnl_socket_get_portid(n->nl);
	n->seq = (uint32_t)time(NULL);
	if (!(n->walk = walk_open()))
		goto fail;
	return n;
fail:
	err = errno;
	if (n->nl)
		mnl_socket_close(n->nl);
	free(n);
	errno = err;
	return NULL;
}

void mh_nft_close(struct mh_nft *n)
{
	if (!n)
		return;
	mnl_socket_close(n->nl);
	walk_close(n->walk);
	free(n);
}

int mh_nft_fd(const struct mh_nft *n)
{
	return mnl_socket_get_fd(n->nl);
}

uint32_t mh_nft_portid(const struct mh_nft *n)
{
	return n->portid;
}

/* Set or clear NLM_F_ACK on every message between begin and end; returns
 * how many messages will be answered when set. */
static int batch_mark_ack(struct mnl_nlmsg_batch *b, bool ack)
{
	int len = (int)mnl_nlmsg_batch_size(b), count = 0;
	struct nlmsghdr *nlh = mnl_nlmsg_batch_head(b);

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN ||
		    nlh->nlmsg_type == NFNL_MSG_BATCH_END)
			continue;
		if (ack)
			nlh->nlmsg_flags |= NLM_F_ACK;
		else
			nlh->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
		count++;
	}
	return count;
}

static int batch_send(struct mh_nft *n, struct mnl_nlmsg_batch *b)
{
	ssize_t r = mnl_socket_sendto(n->nl, mnl_nlmsg_batch_head(b),
				      mnl_nlmsg_batch_size(b));

	if (r < 0)
		return -errno;
	return (size_t)r == mnl_nlmsg_batch_size(b) ? 0 : -EMSGSIZE;
}

/* Answers read so far: acks and errors, the first error kept. */
struct answers {
	int answered, errors, first_err;
	int log_level;          /* level for each refused message */
	const char *who;        /* the public function reading them */
	const struct nlmsghdr *sent;   /* the batch answered, or NULL */
	size_t sent_len;
};

/* Name of a message this edge sends, for error logs. */
static const char *msg_name(uint16_t type)
{
	switch (type == NFNL_MSG_BATCH_BEGIN ? UINT16_MAX : type & 0xff) {
	case NFT_MSG_NEWTABLE:   return "add table";
	case NFT_MSG_DELTABLE:   return "delete table";
	case NFT_MSG_NEWCHAIN:   return "add chain";
	case NFT_MSG_DELCHAIN:   return "delete chain";
	case NFT_MSG_NEWRULE:    return "add rule";
	case NFT_MSG_DELRULE:    return "flush chain";
	case NFT_MSG_NEWSET:     return "add set";
	case NFT_MSG_DELSET:     return "delete set";
	case NFT_MSG_NEWSETELEM: return "add element";
	case NFT_MSG_DELSETELEM: return "delete element(s)";
	case UINT16_MAX:         return "batch commit";
	default:                 return "message";
	}
}

static int comment_cb(const struct nftnl_udata *u, void *arg)
{
	const char *v = nftnl_udata_get(u);
	uint8_t n = nftnl_udata_len(u);

	if (nftnl_udata_type(u) == NFTNL_UDATA_RULE_COMMENT && n && !v[n - 1])
		*(const char **)arg = v;
	return 0;
}

/* A refused rule named by its chain and comment, found by its sequence
 * number in the batch we sent (acks are capped: they carry only the
 * header), so an admin on an older kernel sees which rule it lacks. ""
 * for any other message. */
static void describe_refused(const struct answers *a, uint32_t seq,
			     char *out, size_t size)
{
	const struct nlmsghdr *nlh = a->sent;
	int len = (int)a->sent_len;
	struct nftnl_rule *r;
	const char *chain, *comment = NULL;
	const void *ud;
	uint32_t udlen = 0;

	out[0] = '\0';
	while (nlh && mnl_nlmsg_ok(nlh, len) && nlh->nlmsg_seq != seq)
		nlh = mnl_nlmsg_next(nlh, &len);
	if (!nlh || !mnl_nlmsg_ok(nlh, len) ||
	    (nlh->nlmsg_type & 0xff) != NFT_MSG_NEWRULE || !(r = nftnl_rule_alloc()))
		return;
	if (nftnl_rule_nlmsg_parse(nlh, r) == 0 &&
	    (chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN))) {
		ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udlen);
		if (ud)
			nftnl_udata_parse(ud, udlen, comment_cb, &comment);
		snprintf(out, size, " (chain %s%s%s%s)", chain, comment ? ": \"" : "",
			 comment ? comment : "", comment ? "\"" : "");
	}
	nftnl_rule_free(r);
}

static void scan_answers(const void *buf, int len, struct answers *a)
{
	const struct nlmsghdr *nlh = buf;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		const struct nlmsgerr *e;

		if (nlh->nlmsg_type != NLMSG_ERROR ||
		    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
			continue;
		char what[512];

		e = mnl_nlmsg_get_payload(nlh);
		a->answered++;
		if (!e->error)
			continue;
		a->errors++;
		if (!a->first_err)
			a->first_err = e->error;
		describe_refused(a, e->msg.nlmsg_seq, what, sizeof(what));
		mh_log(a->log_level, a->who, "nftables %s%s (seq %u) refused: %s",
		       msg_name(e->msg.nlmsg_type), what, e->msg.nlmsg_seq,
		       strerror(-e->error));
	}
}

/* One non-blocking read; 1 if something was read, 0 if nothing is
 * queued, -errno on a socket error. */
static int read_once(struct mh_nft *n, struct answers *a)
{
	char buf[MH_NFT_RECV_BUF];
	ssize_t r;

	do
		r = recv(mh_nft_fd(n), buf, sizeof(buf), MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN ? 0 : -errno;
	scan_answers(buf, (int)r, a);
	return 1;
}

/* Read until `want` answers arrived or an error was reported. The kernel
 * answers a batch inside sendmsg, so one short wait is only a safety net. */
static int read_answers(struct mh_nft *n, int want, struct answers *a)
{
	bool waited = false;

	while (a->answered < want && !a->first_err) {
		int r = read_once(n, a);
		struct pollfd pfd = { mh_nft_fd(n), POLLIN, 0 };

		if (r < 0)
			return r;
		if (r > 0)
			continue;
		if (waited || poll(&pfd, 1, MH_NFT_ACK_WAIT_MS) <= 0)
			return -ETIMEDOUT;
		waited = true;
	}
	/* after an error, take the rest of this batch's answers too */
	while (a->first_err && read_once(n, a) > 0)
		;
	return 0;
}

int mh_nft_drain(struct mh_nft *n)
{
	struct answers a = { 0, 0, 0, MH_LOG_WARN, __func__, NULL, 0 };
	int r;

	while ((r = read_once(n, &a)) != 0) {
		if (r == -ENOBUFS) {
			log_warn("nftables answers lost (receive buffer overrun)");
			a.errors++;
		} else if (r < 0) {
			log_warn("nftables socket: %s", strerror(-r));
			a.errors++;
			break;
		}
	}
	return a.errors;
}

int mh_nft_send_sync(struct mh_nft *n, struct mnl_nlmsg_batch *b)
{
	int want = batch_mark_ack(b, true), r;
	struct answers a = { 0, 0, 0, MH_LOG_DEBUG, __func__,
			     mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b) };

	mh_nft_drain(n); /* stale answers of async batches are not ours */
	r = batch_send(n, b);
	if (r < 0)
		return r;
	r = read_answers(n, want, &a);
	return a.first_err ? a.first_err : r;
}

int mh_nft_send_async(struct mh_nft *n, struct mnl_nlmsg_batch *b)
{
	batch_mark_ack(b, false);
	return batch_send(n, b);
}

typedef int (*probe_fn)(struct mnl_nlmsg_batch *b, uint32_t *seq, uint32_t arg);

/* A probe's batch (a scratch table, deleted in the same batch) sent; 0 or
 * the kernel's -errno, logged at debug level as what. */
static int try_probe(struct mh_nft *n, probe_fn build, uint32_t arg,
		     const char *what)
{
	char buf[2 * MH_NFT_PROBE_BUF];
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, MH_NFT_PROBE_BUF);
	int err;

	if (!b)
		return -ENOMEM;
	mh_nft_batch_begin(b, &n->seq);
	err = build(b, &n->seq, arg);
	mh_nft_batch_end(b, &n->seq);
	if (!err)
		err = mh_nft_send_sync(n, b);
	mnl_nlmsg_batch_stop(b);
	if (err)
		log_debug("%s refused: %s", what, strerror(-err));
	return err;
}

static int queue_probe(struct mnl_nlmsg_batch *b, uint32_t *seq, uint32_t native)
{
	return mh_nft_build_queue_probe(b, seq, native != 0);
}

static int map_probe(struct mnl_nlmsg_batch *b, uint32_t *seq, uint32_t unused)
{
	(void)unused;
	return mh_nft_build_map_probe(b, seq);
}

bool mh_nft_probe_native_queue(struct mh_nft *n)
{
	return try_probe(n, queue_probe, 1, "native nft queue") == 0;
}

bool mh_nft_probe_map_lookup(struct mh_nft *n)
{
	return try_probe(n, map_probe, 0, "map lookup without a value register") == 0;
}

static int try_table_flags(struct mh_nft *n, uint32_t flags)
{
	char what[32];

	snprintf(what, sizeof(what), "table flags 0x%x", flags);
	return try_probe(n, mh_nft_build_table_probe, flags, what);
}

uint32_t mh_nft_probe_table_flags(struct mh_nft *n)
{
	if (try_table_flags(n, MH_TABLE_F_OWNED) == 0)
		return MH_TABLE_F_OWNED;
	return try_table_flags(n, MH_TABLE_F_OWNER) == 0 ? MH_TABLE_F_OWNER : 0;
}

struct table_info {
	uint32_t flags, owner;
	bool found;
};

static int table_info_cb(const struct nlmsghdr *nlh, void *data)
{
	struct table_info *ti = data;
	struct nftnl_table *t = nftnl_table_alloc();

	if (!t)
		return MNL_CB_ERROR;
	if (nftnl_table_nlmsg_parse(nlh, t) == 0) {
		ti->found = true;
		if (nftnl_table_is_set(t, NFTNL_TABLE_FLAGS))
			ti->flags = nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS);
		if (nftnl_table_is_set(t, NFTNL_TABLE_OWNER))
			ti->owner = nftnl_table_get_u32(t, NFTNL_TABLE_OWNER);
	}
	nftnl_table_free(t);
	return MNL_CB_OK;
}

int mh_nft_table_flags(struct mh_nft *n, const char *table, uint32_t *flags,
		       uint32_t *owner)
{
	char buf[MH_NFT_RECV_BUF];
	struct table_info ti = { 0, 0, false };
	struct nftnl_table *t = nftnl_table_alloc();
	uint32_t seq = n->seq++;
	struct nlmsghdr *nlh;
	int r;

	if (!t)
		return -ENOMEM;
	mh_nft_drain(n);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	r = mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0 ? -errno : MNL_CB_OK;
	while (r > MNL_CB_STOP) {
		ssize_t len = mnl_socket_recvfrom(n->nl, buf, sizeof(buf));

		if (len < 0)
			return -errno;
		r = mnl_cb_run(buf, (size_t)len, seq, n->portid, table_info_cb, &ti);
		if (r < 0)
			return -errno;
	}
	if (r < 0)
		return r;
	if (!ti.found)
		return -ENOENT;
	*flags = ti.flags;
	*owner = ti.owner;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Pinhole and mux dumps                                               */

/* Element -> mh_pinhole, by the layout of the set being dumped. */
typedef int (*elem_decode_fn)(struct nftnl_set_elem *e, struct mh_pinhole *ph);

struct dump_ctx {
	elem_decode_fn decode;
	mh_pinhole_cb cb;
	void *arg;
	int count;
	int err;
};

/* mh_nft_dump_keys: the decode of a dump_ctx whose arg is a raw_dump */
struct raw_dump {
	mh_nft_key_cb cb;
	void *arg;
};

static int decode_raw(struct nftnl_set_elem *e, struct mh_pinhole *ph)
{
	(void)e;
	(void)ph;
	return -EINVAL;   /* never called: dump_elem hands the key on */
}

static int decode_pinhole(struct nftnl_set_elem *e, struct mh_pinhole *ph)
{
	uint32_t len = 0;
	const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);

	return key ? mh_nft_pinhole_from_key(key, len, ph) : -EPROTO;
}

static int decode_session_port(struct nftnl_set_elem *e, struct mh_pinhole *ph)
{
	uint32_t len = 0;
	const uint8_t *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);

	if (!key || len != 2)
		return -EPROTO;
	memset(ph, 0, sizeof(*ph));
	ph->server_port = (uint16_t)(key[0] << 8 | key[1]);
	return 0;
}

static int decode_mux(struct nftnl_set_elem *e, struct mh_pinhole *m)
{
	uint32_t klen = 0, dlen = 0;
	const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	const void *data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dlen);

	if (!key || !data)
		return -EPROTO;
	return mh_nft_mux_from_elem(key, klen, data, dlen, m);
}

/* An element's key as it is, with its remaining time in ms. */
static int dump_key(struct nftnl_set_elem *e, struct dump_ctx *c)
{
	const struct raw_dump *r = c->arg;
	uint32_t len = 0;
	const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	uint64_t exp = 0;

	if (!key) {
		c->err = -EPROTO;
		return 0;
	}
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
		exp = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION);
	c->count++;
	r->cb(key, len, exp, r->arg);
	return 0;
}

static int dump_elem(struct nftnl_set_elem *e, void *data)
{
	struct dump_ctx *c = data;
	struct mh_pinhole ph;
	uint64_t exp = 0;

	if (c->decode == decode_raw)
		return dump_key(e, c);
	if (c->decode(e, &ph) < 0) {
		c->err = -EPROTO;
		return 0;
	}
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
		exp = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION);
	c->count++;
	if (c->cb)
		c->cb(&ph, exp, c->arg);
	return 0;
}

static int dump_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *c = data;
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s) {
		c->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0)
		c->err = -EPROTO;
	else
		nftnl_set_elem_foreach(s, dump_elem, c);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static int dump_request(struct mnl_socket *nl, const char *table,
			const char *set, uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET,
				    NLM_F_DUMP, seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ? -errno : 0;
}

/* One message of a dump through c: 1 if more follow, 0 at its end, or
 * -errno (the kernel's refusal, or a set element it could not read). */
static int dump_part(const char *buf, ssize_t len, uint32_t seq,
		     uint32_t portid, struct dump_ctx *c)
{
	int r = mnl_cb_run(buf, (size_t)len, seq, portid, dump_msg_cb, c);

	if (r > MNL_CB_STOP)
		return 1;
	if (r == MNL_CB_STOP)
		return c->err ? c->err : 0;
	return c->err ? c->err : -errno;
}

/* Dump one set: elements seen or -errno. */
static int dump_set(struct mh_nft *n, const char *table, const char *set,
		    struct dump_ctx *c)
{
	char buf[MH_NFT_RECV_BUF];
	uint32_t seq = n->seq++;
	int r;

	if (!set || !table)
		return -EINVAL;
	mh_nft_drain(n);
	r = dump_request(n->nl, table, set, seq);
	while (r == 0) {
		ssize_t len = mnl_socket_recvfrom(n->nl, buf, sizeof(buf));

		if (len < 0) {
			r = -errno;
			break;
		}
		r = dump_part(buf, len, seq, n->portid, c);
		r = r > 0 ? 0 : r == 0 ? 1 : r;
	}
	if (r < 0)
		return r;
	return c->err ? c->err : c->count;
}

int mh_nft_dump_pinholes(struct mh_nft *n, const char *table, int family,
			 mh_pinhole_cb cb, void *arg)
{
	struct dump_ctx c = { decode_pinhole, cb, arg, 0, 0 };

	return dump_set(n, table, mh_nft_pinhole_set(family), &c);
}

int mh_nft_dump_seen(struct mh_nft *n, const char *table, int family,
		     mh_pinhole_cb cb, void *arg)
{
	struct dump_ctx c = { decode_pinhole, cb, arg, 0, 0 };

	return dump_set(n, table, mh_nft_seen_set(family), &c);
}

int mh_nft_dump_session_ports(struct mh_nft *n, const char *table,
			      mh_pinhole_cb cb, void *arg)
{
	struct dump_ctx c = { decode_session_port, cb, arg, 0, 0 };

	return dump_set(n, table, MH_SET_SESSIONS, &c);
}

int mh_nft_dump_mux(struct mh_nft *n, const char *table, int family,
		    bool confirmed, mh_pinhole_cb cb, void *arg)
{
	struct dump_ctx c = { decode_mux, cb, arg, 0, 0 };

	return dump_set(n, table, mh_nft_mux_map(family, confirmed), &c);
}

int mh_nft_dump_keys(struct mh_nft *n, const char *table, const char *set,
		     mh_nft_key_cb cb, void *arg)
{
	struct raw_dump r = { cb, arg };
	struct dump_ctx c = { decode_raw, NULL, &r, 0, 0 };

	return cb ? dump_set(n, table, set, &c) : -EINVAL;
}

int mh_nft_dump(struct mh_nft *n, const char *table, enum mh_nft_kind kind,
		int family, mh_pinhole_cb cb, void *arg)
{
	switch (kind) {
	case MH_NFT_PORT:
		return mh_nft_dump_session_ports(n, table, cb, arg);
	case MH_NFT_PINHOLE:
		return mh_nft_dump_pinholes(n, table, family, cb, arg);
	default:
		return mh_nft_dump_mux(n, table, family, kind == MH_NFT_MUX, cb, arg);
	}
}

/* ------------------------------------------------------------------ */
/* Walks: a dump read one message at a time                             */

/* On a socket of its own, so that the event loop can serve other work
 * between the parts of a long dump while the main socket goes on taking
 * the hot path's batches and errors. A get needs no ownership of the
 * table. */
struct mh_nft_walk {
	struct mnl_socket *nl;
	uint32_t portid, seq;
	bool running;
	struct raw_dump r;
	struct dump_ctx c;
};

static struct mh_nft_walk *walk_open(void)
{
	struct mh_nft_walk *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!w->nl || mnl_socket_bind(w->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;

		if (w->nl)
			mnl_socket_close(w->nl);
		free(w);
		errno = err;
		return NULL;
	}
	w->portid = mnl_socket_get_portid(w->nl);
	w->seq = (uint32_t)time(NULL);
	return w;
}

static void walk_close(struct mh_nft_walk *w)
{
	if (!w)
		return;
	mnl_socket_close(w->nl);
	free(w);
}

/* What an abandoned walk left: the kernel fills the next part of a dump
 * as the last is read, so this reads to its end. */
static void walk_drain(struct mh_nft_walk *w)
{
	char buf[MH_NFT_RECV_BUF];

	while (recv(mnl_socket_get_fd(w->nl), buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	w->running = false;
}

int mh_nft_walk_start(struct mh_nft *n, const char *table, const char *set,
		      mh_nft_key_cb cb, void *arg)
{
	struct mh_nft_walk *w = n->walk;
	int r;

	if (!table || !set || !cb)
		return -EINVAL;
	walk_drain(w);
	w->r = (struct raw_dump){ cb, arg };
	w->c = (struct dump_ctx){ decode_raw, NULL, &w->r, 0, 0 };
	r = dump_request(w->nl, table, set, ++w->seq);
	w->running = r == 0;
	return r;
}

int mh_nft_walk_step(struct mh_nft *n)
{
	char buf[MH_NFT_RECV_BUF];
	struct mh_nft_walk *w = n->walk;
	ssize_t len;
	int r;

	if (!w->running)
		return 0;
	len = mnl_socket_recvfrom(w->nl, buf, sizeof(buf));
	r = len < 0 ? -errno : dump_part(buf, len, w->seq, w->portid, &w->c);
	if (r <= 0)
		w->running = false;
	return r;
}

void mh_nft_walk_stop(struct mh_nft *n)
{
	walk_drain(n->walk);
}
