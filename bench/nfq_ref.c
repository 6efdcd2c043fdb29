/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nfq_ref: the reference slow path of `make bench`: the smallest accept-all
 * NFQUEUE loop, bound with the daemon's queue settings (copy whole packets,
 * the same maximum length, no fail-open, the same receive buffer) and read
 * the daemon's way (poll instead of epoll, recvmmsg of up to 8 messages,
 * 64 per wake-up at most, the packet attributes parsed). By default one
 * verdict per packet and per sendto; --multi: one verdict message per
 * packet, all the verdicts of one wake-up in a single sendto, as the
 * daemon sends them; --batch: one
 * NFQNL_MSG_VERDICT_BATCH per wake-up (accept-all only: the ceiling).
 *   nfq_ref QUEUE SECONDS [--maxlen N] [--batch|--multi]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "bench.h"

#define REF_BUF     (0xffff + 4096)
#define REF_RCVBUF  (8 * 1024 * 1024)
#define REF_VLEN     8      /* messages per recvmmsg, as the daemon */
#define REF_ROUNDS   8
#define REF_PER_WAKE (REF_VLEN * REF_ROUNDS)

#define REF_MULTI_BUF (REF_PER_WAKE * 64)

struct ref {
	struct mnl_socket *nl;
	unsigned portid;
	uint16_t queue;
	bool batch, multi;
	char mbuf[REF_MULTI_BUF];   /* --multi: verdicts of one wake-up */
	size_t mlen;
	uint32_t max_id;
	bool have_id;
	unsigned long verdicts, sendto_errors;
};

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int config(struct ref *r, uint8_t cmd, bool params, uint32_t maxlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, r->queue);

	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, cmd);
	if (params) {
		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
		mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(maxlen));
		mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
		mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(0));
	}
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	if (mnl_socket_recvfrom(r->nl, buf, sizeof(buf)) < 0)
		return -errno;
	if (mnl_cb_run(buf, sizeof(buf), 0, r->portid, NULL, NULL) < 0)
		return -errno;
	return 0;
}

static void verdict(struct ref *r, uint32_t id, bool batch)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, batch ? NFQNL_MSG_VERDICT_BATCH
						       : NFQNL_MSG_VERDICT, r->queue);

	nfq_nlmsg_verdict_put(nlh, id, NF_ACCEPT);
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		r->sendto_errors++;
}

static int packet_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	struct nfqnl_msg_packet_hdr *ph;
	struct ref *r = data;
	uint32_t id;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	id = ntohl(ph->packet_id);
	r->verdicts++;
	if (r->multi && r->mlen + 64 <= sizeof(r->mbuf)) {
		struct nlmsghdr *v = nfq_nlmsg_put(r->mbuf + r->mlen,
						   NFQNL_MSG_VERDICT, r->queue);

		nfq_nlmsg_verdict_put(v, id, NF_ACCEPT);
		r->mlen += NLMSG_ALIGN(v->nlmsg_len);
	} else if (!r->batch) {
		verdict(r, id, false);
	} else if (!r->have_id || (int32_t)(id - r->max_id) > 0) {
		r->max_id = id;
		r->have_id = true;
	}
	return MNL_CB_OK;
}

/* Read as the daemon does (nfq-helper/datapath/queue.c): recvmmsg of up to
 * REF_VLEN messages, REF_ROUNDS times at most per wake-up, stopping at the
 * first partial batch. */
static void input(struct ref *r)
{
	static uint8_t buf[REF_VLEN][REF_BUF];
	struct mmsghdr mm[REF_VLEN];
	struct iovec iov[REF_VLEN];
	int k, n;

	for (k = 0; k < REF_VLEN; k++) {
		iov[k] = (struct iovec){ buf[k], sizeof(buf[k]) };
		mm[k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[k], .msg_iovlen = 1 } };
	}
	for (int i = 0; i < REF_ROUNDS; i++) {
		n = recvmmsg(mnl_socket_get_fd(r->nl), mm, REF_VLEN, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		for (k = 0; k < n; k++)
			mnl_cb_run(buf[k], mm[k].msg_len, 0, r->portid, packet_cb, r);
		if (n < REF_VLEN)
			break;
	}
	if (r->mlen) {
		if (mnl_socket_sendto(r->nl, r->mbuf, r->mlen) < 0)
			r->sendto_errors++;
		r->mlen = 0;
	}
	if (r->batch && r->have_id) {
		verdict(r, r->max_id, true);
		r->have_id = false;
	}
}

int main(int argc, char **argv)
{
	struct ref r = { 0 };
	uint32_t maxlen = 4096;
	int one = 1, rcv = REF_RCVBUF, err;
	uint64_t end;
	long secs;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: nfq_ref QUEUE SECONDS [--maxlen N] [--batch]\n");
		return 2;
	}
	r.queue = (uint16_t)bench_num("nfq_ref", argv[1], 0, 65535, "queue");
	secs = bench_num("nfq_ref", argv[2], 1, 600, "seconds");
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--batch"))
			r.batch = true;
		else if (!strcmp(argv[i], "--multi"))
			r.multi = true;
		else if (!strcmp(argv[i], "--maxlen") && i + 1 < argc)
			maxlen = (uint32_t)bench_num("nfq_ref", argv[++i], 1, 65536, "maxlen");
		else
			return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	r.nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!r.nl || mnl_socket_bind(r.nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("nfq_ref: netlink");
		return 1;
	}
	r.portid = mnl_socket_get_portid(r.nl);
	mnl_socket_setsockopt(r.nl, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	setsockopt(mnl_socket_get_fd(r.nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv));
	err = config(&r, NFQNL_CFG_CMD_BIND, true, maxlen);
	if (err) {
		fprintf(stderr, "nfq_ref: binding queue %u: %s\n", r.queue, strerror(-err));
		return 1;
	}
	printf("ready\n");
	end = bench_now_ns() + (uint64_t)secs * 1000000000ull;
	while (!stop && bench_now_ns() < end) {
		struct pollfd p = { mnl_socket_get_fd(r.nl), POLLIN, 0 };

		if (poll(&p, 1, 100) > 0)
			input(&r);
	}
	config(&r, NFQNL_CFG_CMD_UNBIND, false, 0);
	mnl_socket_close(r.nl);
	printf("verdicts %lu sendto_errors %lu\n", r.verdicts, r.sendto_errors);
	return 0;
}
