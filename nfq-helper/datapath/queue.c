/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The NFQUEUE edge: binds the queue (copy whole packets, never fail open),
 * reads queued packets, asks mh_decide() for the verdict, applies a new
 * pinhole to the kernel before letting mosh-server's reply out, and sends
 * exactly one verdict per packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libnetfilter_queue/libnetfilter_queue.h>

#include "daemon.h"
#include "gwtable.h"
#include "muxsel.h"

#define QUEUE_BUF_LEN (0xffff + 4096)
#define QUEUE_RCVBUF  (8 * 1024 * 1024)
#define QUEUE_VLEN    8     /* messages per recvmmsg */
#define QUEUE_ROUNDS  8     /* recvmmsg calls per wake-up at most */
#define VERDICT_BUF   (64 * 1024)  /* verdicts of one wake-up, sent at once */
#define AFTER_MAX     256          /* kernel deletions that wait for the verdicts */

/* A kernel element to delete once the verdicts of a wake-up are sent: a
 * provisional mapping that has done its work, or a pinhole (and in single-
 * port mode its mapping) evicted for a newer one, which need not cost the
 * datagram that caused it any time. */
/* AFTER_EXPIRE: an evicted pinhole known to be in the kernel, expired in
 * place (MH_NFT_EXPIRE, nft.h); AFTER_PINHOLE: deleted. */
enum after_kind { AFTER_PROVISIONAL, AFTER_PINHOLE, AFTER_MAPPING, AFTER_EXPIRE };
struct after {
	struct mh_addr client;
	uint16_t port;
	uint8_t kind;
	struct mh_addr server;      /* gateway: the server's address and port */
};

/* The queue's socket, and the verdicts of a wake-up with what must follow
 * them. */
struct mh_queue_rt {
	struct mnl_socket *sock;
	unsigned portid;
	char vbuf[VERDICT_BUF];
	struct mnl_nlmsg_batch *vb;
	struct after after[AFTER_MAX];
	unsigned n_after;
};

static void verdicts_flush(struct mh_daemon *d);

static int queue_config(struct mh_daemon *d, uint8_t cmd, bool params)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, d->cfg.queue_num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, cmd);
	if (params) {
		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
		mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN,
				 htonl(d->cfg.queue_maxlen));
		/* fail closed: a full queue drops, it never bypasses us */
		mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
		mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(0));
	}
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(d->q->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	if (mnl_socket_recvfrom(d->q->sock, buf, sizeof(buf)) < 0)
		return -errno;
	if (mnl_cb_run(buf, sizeof(buf), 0, d->q->portid, NULL, NULL) < 0)
		return -errno;
	return 0;
}

int mh_queue_open(struct mh_daemon *d)
{
	int one = 1, rcvbuf = QUEUE_RCVBUF, err;

	d->q = calloc(1, sizeof(*d->q));
	if (!d->q)
		return -ENOMEM;
	d->q->sock = mnl_socket_open(NETLINK_NETFILTER);
	if (!d->q->sock)
		return -errno;
	if (mnl_socket_bind(d->q->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	d->q->portid = mnl_socket_get_portid(d->q->sock);
	/* libmnl wants a buffer twice the batch limit */
	d->q->vb = mnl_nlmsg_batch_start(d->q->vbuf, sizeof(d->q->vbuf) / 2);
	if (!d->q->vb)
		return -ENOMEM;
	mnl_socket_setsockopt(d->q->sock, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	if (setsockopt(mnl_socket_get_fd(d->q->sock), SOL_SOCKET, SO_RCVBUFFORCE,
		       &rcvbuf, sizeof(rcvbuf)) < 0)
		log_debug("SO_RCVBUFFORCE: %s", strerror(errno));
	err = queue_config(d, NFQNL_CFG_CMD_BIND, true);
	if (err < 0)
		return err;
	return mh_epoll_add(d, mnl_socket_get_fd(d->q->sock), EV_TAG(EV_QUEUE, 0));
}

void mh_queue_close(struct mh_daemon *d)
{
	if (!d->q)
		return;
	if (!d->q->sock) {
		free(d->q);
		d->q = NULL;
		return;
	}
	if (d->q->vb) {
		verdicts_flush(d);
		mnl_nlmsg_batch_stop(d->q->vb);
		d->q->vb = NULL;
	}
	queue_config(d, NFQNL_CFG_CMD_UNBIND, false);
	mnl_socket_close(d->q->sock);
	free(d->q);
	d->q = NULL;
}

/* Verdicts are collected for one wake-up and sent in one sendto; whatever
 * must happen after a verdict (dropping a provisional mapping, an evicted
 * pinhole) follows the send. Pinholes are installed before, so a reply
 * never precedes its pinhole. */
static bool still_recorded(const struct mh_daemon *d, const struct after *a)
{
	const struct mh_session *s = d->gw ? mh_gwt_find_session(d->gw, &a->server)
				   : mh_session_by_port(&d->sessions, a->port);

	return s && mh_pinhole_find(s, &a->client);
}

/* An evicted mapping's conntrack entry would keep its source bound to the
 * session's port: deleted after the mapping, like a session's at its end. */
static void cut_evicted_flow(struct mh_daemon *d, const struct after *a)
{
	char cl[MH_ADDRSTRLEN];
	int n = mh_ct_cut(d, a->server.family ? &a->server : NULL, a->port,
			  &a->client, 0);

	if (n > 0)
		log_info("port %u: conntrack flow of evicted %s deleted", a->port,
			 mh_addr_str(&a->client, cl, sizeof(cl)));
}

/* An evicted pinhole stops matching within a jiffy (MH_NFT_EXPIRE, nft.h)
 * and the set's garbage collection frees it. Expiring in place takes the
 * same kernel as the read-back's re-arm, so the rules do not refresh
 * pinholes there (nft.h, pinhole_seen): nothing in the packet path can
 * bring the evicted one back. */
static void expire_pinhole(struct mh_daemon *d, const struct after *a)
{
	mh_kernel_elem(d, MH_NFT_PINHOLE, MH_NFT_EXPIRE, &a->client, a->port,
		       MH_KERNEL_ASYNC);
}

static void verdicts_flush(struct mh_daemon *d)
{
	unsigned i;

	if (mnl_nlmsg_batch_size(d->q->vb) > 0 &&
	    mnl_socket_sendto(d->q->sock, mnl_nlmsg_batch_head(d->q->vb),
			      mnl_nlmsg_batch_size(d->q->vb)) < 0)
		log_warn("sending verdicts: %s", strerror(errno));
	mnl_nlmsg_batch_reset(d->q->vb);
	for (i = 0; i < d->q->n_after; i++) {
		const struct after *a = &d->q->after[i];

		if (d->gw && a->kind == AFTER_PROVISIONAL)
			mh_kernel_gw_mux(d, &a->client, &a->server, false, false,
					 MH_KERNEL_ASYNC);
		else if (d->gw && !still_recorded(d, a))  /* an evicted pinhole's */
			mh_gw_mux_gone(d, &a->client, &a->server);
		if (d->gw)
			continue;
		/* evicted, then opened again within the same wake-up: keep it */
		if (a->kind != AFTER_PROVISIONAL && still_recorded(d, a))
			continue;
		if (a->kind == AFTER_EXPIRE)
			expire_pinhole(d, a);
		else if (a->kind == AFTER_PINHOLE)
			mh_kernel_pinhole(d, &a->client, a->port, false, false);
		else
			mh_kernel_mux(d, &a->client, a->port,
				      a->kind == AFTER_MAPPING, false, false);
		if (a->kind == AFTER_MAPPING)
			cut_evicted_flow(d, a);
	}
	d->q->n_after = 0;
}

/* Queues a deletion for after the verdicts (sending them first if the
 * list is full). */
static void after_verdicts(struct mh_daemon *d, const struct mh_addr *client,
			   uint16_t port, enum after_kind kind)
{
	if (d->q->n_after == AFTER_MAX)
		verdicts_flush(d);
	d->q->after[d->q->n_after++] = (struct after){ *client, port, (uint8_t)kind,
							{ 0 } };
}

/* A gateway's mapping of client to server goes once the verdicts are
 * out: a provisional one, or (AFTER_MAPPING) an evicted pinhole's, with
 * its conntrack flow. */
static void after_verdicts_gw(struct mh_daemon *d, const struct mh_addr *client,
			      const struct mh_addr *server, enum after_kind kind)
{
	if (d->q->n_after == AFTER_MAX)
		verdicts_flush(d);
	d->q->after[d->q->n_after++] = (struct after){ *client, server->port,
							(uint8_t)kind, *server };
}

static void send_verdict(struct mh_daemon *d, uint32_t id, bool accept)
{
	struct nlmsghdr *nlh;

	nlh = nfq_nlmsg_put(mnl_nlmsg_batch_current(d->q->vb), NFQNL_MSG_VERDICT,
			    d->cfg.queue_num);
	nfq_nlmsg_verdict_put(nlh, id, accept ? NF_ACCEPT : NF_DROP);
	if (!mnl_nlmsg_batch_next(d->q->vb)) {
		/* full: the last message moves to the front of the next batch */
		if (mnl_socket_sendto(d->q->sock, mnl_nlmsg_batch_head(d->q->vb),
				      mnl_nlmsg_batch_size(d->q->vb)) < 0)
			log_warn("sending verdicts: %s", strerror(errno));
		mnl_nlmsg_batch_reset(d->q->vb);
	}
}

static void log_drop(struct mh_daemon *d, const struct mh_decision *dec,
		     uint64_t now)
{
	char src[MH_ADDRSTRLEN], dst[MH_ADDRSTRLEN];

	if (!mh_ratelimit_ok(&d->drop_log, now))
		return;
	log_info("drop %s -> %s: %s (%llu so far)",
		 mh_addr_str(&dec->pkt.src, src, sizeof(src)),
		 mh_addr_str(&dec->pkt.dst, dst, sizeof(dst)),
		 mh_reason_name(dec->reason),
		 (unsigned long long)d->stats.verdicts[dec->reason]);
}

/* The pinhole the session used before this one, if any: a roam. */
static const struct mh_addr *previous_pinhole(const struct mh_session *s,
					      const struct mh_addr *now)
{
	const struct mh_pinhole_rec *best = NULL, *r;

	mh_for_each_pinhole(s, r) {
		if (!mh_addr_equal(&r->client, now) &&
		    (!best || r->added_ms > best->added_ms))
			best = r;
	}
	return best ? &best->client : NULL;
}

/* The kernel side of a confirmed decision: the client's pinhole to the
 * session's port (host), or to its server's address and port (gateway:
 * the server is the reply's source). An evicted pinhole goes after the
 * verdicts on a host; a gateway's at once, without waiting. */
static int add_pinhole(struct mh_daemon *d, const struct mh_decision *dec)
{
	if (d->gw)
		return mh_kernel_gw_elem(d, MH_GW_PINHOLE, MH_NFT_ADD, &dec->pkt.dst,
					 &dec->pkt.src, MH_KERNEL_ASYNC);
	return mh_kernel_pinhole(d, &dec->pkt.dst, dec->session->port, true, false);
}

/* An expiry in place adds the element if it is not there (a NEWSETELEM
 * creates): so only a pinhole sure to be in the kernel now is expired in
 * place, one whose element cannot have expired yet (added, re-armed, or
 * last read back, with that much time left: an element's expiry only
 * moves forward until it goes); any other is deleted, which does nothing
 * if it is gone (lib/session.c mh_pinhole_in_kernel). */
#define IN_KERNEL_MARGIN_MS 200

static bool in_kernel(const struct mh_daemon *d, const struct mh_pinhole_rec *r)
{
	return d->timeout_update &&
	       mh_pinhole_in_kernel(r, (uint64_t)d->cfg.idle_timeout * 1000,
				    mh_now_ms() + IN_KERNEL_MARGIN_MS);
}

static void evict_pinhole(struct mh_daemon *d, const struct mh_decision *dec)
{
	uint16_t port = dec->session->port;

	if (d->gw) {
		mh_kernel_gw_elem(d, MH_GW_PINHOLE, MH_NFT_DEL, &dec->evicted,
				  &dec->pkt.src, MH_KERNEL_ASYNC);
		if (d->pol.public_port)
			after_verdicts_gw(d, &dec->evicted, &dec->pkt.src,
					  AFTER_MAPPING);
		return;
	}
	after_verdicts(d, &dec->evicted, port,
		       in_kernel(d, &dec->evicted_rec) ? AFTER_EXPIRE : AFTER_PINHOLE);
	if (d->pol.public_port)
		after_verdicts(d, &dec->evicted, port, AFTER_MAPPING);
}

/* Opens the pinhole a confirmed decision asks for; false if the kernel
 * refused it (the datagram is then dropped and mosh-server retries). */
static bool apply_pinhole(struct mh_daemon *d, struct mh_decision *dec)
{
	struct mh_session *s = dec->session;
	/* the session's owner can churn pinholes at will: its uid's budget */
	bool loud = mh_audit_allow(d, s->uid, MH_NOISY_PINHOLE);
	const struct mh_addr *prev;
	char cl[MH_ADDRSTRLEN];

	if (dec->evict) {
		evict_pinhole(d, dec);
		if (loud)
			mh_audit_pinhole(d, s, "pinhole_removed", &dec->evicted, "evicted");
	}
	if (add_pinhole(d, dec) < 0) {
		mh_pinhole_forget(s, &dec->pkt.dst);
		return false;
	}
	/* single port: mosh-server answered through the provisional mapping,
	 * which now becomes a lasting one (a gateway's: to the server that
	 * answered, the reply's source) */
	if (d->pol.public_port && d->gw)
		mh_gw_mux_confirm(d, &dec->pkt.dst, &dec->pkt.src);
	else if (d->pol.public_port &&
	    mh_kernel_mux(d, &dec->pkt.dst, s->port, true, true, false) == 0)
		mh_kernel_mux(d, &dec->pkt.dst, s->port, false, false, false);
	d->stats.pinholes_opened++;
	if (!loud)
		return true;
	log_info("session %u port %u: pinhole opened for %s", s->id, s->port,
		 mh_addr_str(&dec->pkt.dst, cl, sizeof(cl)));
	mh_audit_pinhole(d, s, "pinhole_open", &dec->pkt.dst, NULL);
	prev = previous_pinhole(s, &dec->pkt.dst);
	if (prev)
		mh_audit_roam(d, s, prev, &dec->pkt.dst);
	return true;
}

/* The gateway's side of a source its trial placed: the session must be
 * one whose relay gave its key (an adopted one holds a placeholder key),
 * and the provisional mapping goes to that session's own port on the
 * server the datagram was sent to (pkt.dst, whose port becomes the
 * session's: after_verdicts_gw names the same element). */
static bool gw_provisional(struct mh_daemon *d, struct mh_decision *dec)
{
	dec->pkt.dst.port = dec->session->port;
	if (mh_gwt_find_session(d->gw, &dec->pkt.dst) != dec->session) {
		dec->reason = MH_R_NO_MATCH;
		return false;
	}
	return mh_kernel_gw_mux(d, &dec->pkt.src, &dec->pkt.dst, false, true,
				MH_KERNEL_SYNC) == 0;
}

/* The session that lives where a flow goes: a host's by its port, a
 * gateway's by server address . port (an adopted one without its key
 * too: its pinhole records are the ones that count). */
static struct mh_session *flow_holder(struct mh_daemon *d,
				      const struct mh_addr *to)
{
	const struct mh_gw_sess *gs;

	if (!d->gw)
		return mh_session_by_port(&d->sessions, to->port);
	gs = mh_gwt_find(d->gw, to);
	return gs ? gs->s : NULL;
}

/* "port 60001" on a host, "server 198.18.0.2:60001" at a gateway */
static const char *place_str(const struct mh_daemon *d,
			     const struct mh_addr *a, char *buf, size_t len)
{
	char sv[MH_ADDRSTRLEN];

	if (d->gw)
		snprintf(buf, len, "server %s", mh_addr_str(a, sv, sizeof(sv)));
	else
		snprintf(buf, len, "port %u", a->port);
	return buf;
}

static void log_flow_cut(struct mh_daemon *d, const struct mh_decision *dec,
			 const struct mh_addr *to, int err)
{
	char cl[MH_ADDRSTRLEN], at[MH_ADDRSTRLEN + 8], was[MH_ADDRSTRLEN + 8];
	struct mh_addr here = dec->pkt.dst;

	mh_addr_str(&dec->pkt.src, cl, sizeof(cl));
	place_str(d, to, was, sizeof(was));
	here.port = dec->session->port;
	if (err && err != -ENOENT)
		log_warn("deleting the conntrack flow of %s to %s: %s", cl, was,
			 strerror(-err));
	else if (mh_audit_allow(d, dec->session->uid, MH_NOISY_PINHOLE))
		log_info("session %u %s: %s authenticates for it but had a flow "
			 "to %s: flow deleted, its next datagram is mapped anew",
			 dec->session->id, place_str(d, &here, at, sizeof(at)),
			 cl, was);
}

/* Single port: the datagram may already belong to a conntrack flow,
 * which takes it wherever its DNAT chose, whatever mapping is added now
 * (a flow left by an earlier datagram of this source that another
 * session's trial placed: a forged-source replay of that session's
 * captured datagram, say). The flow is looked up by its tuple and
 * mh_decide_mux_flow says whether it stays or goes; a stale one is
 * deleted before the verdict, so that the source's next datagram (mosh
 * resends) starts a new flow, mapped anew. Before gw_provisional, which
 * gives pkt.dst the session's port. */
static void check_flow(struct mh_daemon *d, uint64_t now,
		       struct mh_decision *dec)
{
	struct mh_ct_flow f;

	if (mh_ct_flow_get(d, &dec->pkt.src, &dec->pkt.dst, &f) < 0)
		return;
	mh_decide_mux_flow(&d->pol, flow_holder(d, &f.to), &f.to, now, dec);
	if (dec->cut_flow)
		log_flow_cut(d, dec, &f.to,
			     mh_ct_flow_cut(d, &dec->pkt.src, &dec->pkt.dst, &f));
}

/* Single port: the public port, a source without a mapping. The session
 * that authenticates it gets a provisional mapping, which the NAT chain
 * uses for this very datagram: the kernel reinjects an accepted packet
 * within the verdict's sendmsg, so by the time that returns the flow's
 * conntrack entry holds the DNAT and the element has done its work. It is
 * deleted at once; its short timeout only backs that up. A lasting
 * (confirmed) mapping comes only with mosh-server's reply. A datagram
 * whose flow already goes to another session's port is dropped instead
 * (check_flow). */
static void handle_mux(struct mh_daemon *d, uint32_t id, const uint8_t *l3,
		       size_t len)
{
	uint64_t now = mh_now_ms();
	struct mh_decision dec;
	char cl[MH_ADDRSTRLEN];

	mh_decide_mux(&d->sessions, &d->pol, l3, len, &dec);
	if (dec.accept)
		check_flow(d, now, &dec);
	if (dec.accept && d->gw)
		dec.accept = gw_provisional(d, &dec);
	else if (dec.accept && mh_kernel_mux(d, &dec.pkt.src, dec.session->port,
					     false, true, true) < 0)
		dec.accept = false;
	d->stats.verdicts[dec.reason]++;
	if (dec.accept && mh_audit_allow(d, dec.session->uid, MH_NOISY_PINHOLE)) {
		log_info("session %u port %u: %s maps to it (provisional, %u trials)",
			 dec.session->id, dec.session->port,
			 mh_addr_str(&dec.pkt.src, cl, sizeof(cl)), dec.trials);
		mh_audit_pinhole(d, dec.session, "mapping_provisional", &dec.pkt.src, NULL);
	} else if (!dec.accept) {
		log_drop(d, &dec, now);
	}
	send_verdict(d, id, dec.accept);
	if (dec.accept && d->gw)
		after_verdicts_gw(d, &dec.pkt.src, &dec.pkt.dst, AFTER_PROVISIONAL);
	else if (dec.accept)
		after_verdicts(d, &dec.pkt.src, dec.session->port, AFTER_PROVISIONAL);
}

/* The gateway's forward path: inbound when the destination is a session's
 * server (as the table's gw_in takes it first), else outbound; the same
 * decision, the session found by server address . port. */
static void gw_decide(struct mh_daemon *d, const uint8_t *l3, size_t len,
		      uint64_t now, enum mh_path *path, struct mh_decision *dec)
{
	struct mh_pkt pkt;
	const char *why;

	*path = MH_INBOUND;
	if (mh_pkt_parse(l3, len, &pkt, &why) == 0 && !mh_gwt_find(d->gw, &pkt.dst))
		*path = MH_OUTBOUND;
	mh_decide_by(&d->sessions, &d->pol, *path, l3, len, now,
		     mh_gwt_find_session, d->gw, dec);
}

static void handle_packet(struct mh_daemon *d, uint32_t id, uint8_t hook,
			  const uint8_t *l3, size_t len)
{
	enum mh_path path = hook == NF_INET_LOCAL_OUT ? MH_OUTBOUND : MH_INBOUND;
	uint64_t now = mh_now_ms();
	struct mh_decision dec;

	if (hook == NF_INET_PRE_ROUTING) {
		handle_mux(d, id, l3, len);
		return;
	}
	if (hook == NF_INET_FORWARD && d->gw)
		gw_decide(d, l3, len, now, &path, &dec);
	else
		mh_decide(&d->sessions, &d->pol, path, l3, len, now, &dec);
	if (dec.accept && dec.add_pinhole && !apply_pinhole(d, &dec))
		dec.accept = false;
	d->stats.verdicts[dec.reason]++;
	mh_audit_datagram(d, path, l3, len, &dec);
	if (!dec.accept)
		log_drop(d, &dec, now);
	send_verdict(d, id, dec.accept);
}

static int packet_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	struct nfqnl_msg_packet_hdr *ph;
	struct mh_daemon *d = data;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	if (!attr[NFQA_PAYLOAD]) {
		send_verdict(d, ntohl(ph->packet_id), false);
		return MNL_CB_OK;
	}
	handle_packet(d, ntohl(ph->packet_id), ph->hook,
		      mnl_attr_get_payload(attr[NFQA_PAYLOAD]),
		      mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]));
	return MNL_CB_OK;
}

/* One recvmmsg takes every queued message there is, up to QUEUE_VLEN: a
 * lone datagram costs one system call, not a second one that finds the
 * socket empty. */
void mh_queue_input(struct mh_daemon *d)
{
	static uint8_t buf[QUEUE_VLEN][QUEUE_BUF_LEN];
	struct mmsghdr mm[QUEUE_VLEN];
	struct iovec iov[QUEUE_VLEN];
	int i, k, n;

	for (k = 0; k < QUEUE_VLEN; k++) {
		iov[k] = (struct iovec){ buf[k], sizeof(buf[k]) };
		mm[k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[k], .msg_iovlen = 1 } };
	}
	/* log lines wait until the verdicts are out */
	mh_log_hold();
	/* bounded: let the other event sources in between bursts */
	for (i = 0; i < QUEUE_ROUNDS; i++) {
		n = recvmmsg(mnl_socket_get_fd(d->q->sock), mm, QUEUE_VLEN,
			     MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ENOBUFS)
				log_warn("queue: %s", strerror(errno));
			break;
		}
		for (k = 0; k < n; k++)
			if (mnl_cb_run(buf[k], mm[k].msg_len, 0, d->q->portid,
				       packet_cb, d) < 0 && errno != 0)
				log_debug("queue message: %s", strerror(errno));
		if (n < QUEUE_VLEN)
			break;
	}
	verdicts_flush(d);
	/* single port: the sources no bounded trial placed, after the
	 * verdicts are out and within its own CPU budget (lib/muxsel.c) */
	if (d->pol.public_port)
		mh_mux_sweep(&d->sessions, mh_now_ms());
	mh_log_release();
	mh_audit_flush(d);
}
