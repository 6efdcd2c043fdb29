/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nfqcount: a queue reader for the datapath tests: binds one NFQUEUE queue
 * (no fail-open), prints one line per queued packet (its UDP addresses,
 * ports and packet mark) and gives it a verdict, drop by default or
 * accept with --accept; then the count. Bounded in time.
 *   nfqcount QUEUE SECONDS [--accept] [--max N]   (stops after N packets)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "pkt.h"
#include "tooling.h"

#define NQ_MAX_SECONDS 600
#define NQ_BUF         (0xffff + 4096)

struct nq {
	struct mnl_socket *nl;
	unsigned portid;
	uint16_t queue;
	bool accept;
	unsigned long count, max;
};

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: nfqcount QUEUE SECONDS [--accept] [--max N]\n"
		"limits: %d s\n", NQ_MAX_SECONDS);
	exit(2);
}

static int config(struct nq *q, uint8_t cmd, bool params)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->queue);
	ssize_t len;

	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, cmd);
	if (params) {
		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
		mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
		mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(0));
	}
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	len = mnl_socket_recvfrom(q->nl, buf, sizeof(buf));
	if (len < 0)
		return -errno;
	return mnl_cb_run(buf, (size_t)len, 0, q->portid, NULL, NULL) < 0 ? -errno : 0;
}

static void verdict(struct nq *q, uint32_t id)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, q->queue);

	nfq_nlmsg_verdict_put(nlh, id, q->accept ? NF_ACCEPT : NF_DROP);
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		perror("nfqcount: verdict");
}

static void print_packet(struct nlattr **attr)
{
	char s[MH_ADDRSTRLEN], d[MH_ADDRSTRLEN];
	const char *why = NULL;
	struct mh_pkt p;
	uint32_t mark = 0;

	if (attr[NFQA_MARK])
		mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	if (!attr[NFQA_PAYLOAD] ||
	    mh_pkt_parse(mnl_attr_get_payload(attr[NFQA_PAYLOAD]),
			 mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]), &p, &why) < 0) {
		printf("queued non-udp (%s) mark 0x%x\n", why ? why : "no payload", mark);
		return;
	}
	printf("queued %s > %s len %zu mark 0x%x\n", mh_addr_str(&p.src, s, sizeof(s)),
	       mh_addr_str(&p.dst, d, sizeof(d)), p.len, mark);
}

static int packet_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	struct nfqnl_msg_packet_hdr *ph;
	struct nq *q = data;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	print_packet(attr);
	verdict(q, ntohl(ph->packet_id));
	if (++q->count >= q->max)
		stop = 1;
	return MNL_CB_OK;
}

static void input(struct nq *q)
{
	static char buf[NQ_BUF];
	ssize_t len = recv(mnl_socket_get_fd(q->nl), buf, sizeof(buf), MSG_DONTWAIT);

	if (len > 0)
		mnl_cb_run(buf, (size_t)len, 0, q->portid, packet_cb, q);
}

int main(int argc, char **argv)
{
	struct nq q = { .max = ~0ul };
	unsigned long secs;
	uint64_t end;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		usage();
	q.queue = (uint16_t)tool_num(argv[1], 0, 65535, usage);
	secs = tool_num(argv[2], 1, NQ_MAX_SECONDS, usage);
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--accept"))
			q.accept = true;
		else if (!strcmp(argv[i], "--max") && i + 1 < argc)
			q.max = tool_num(argv[++i], 1, 1000000, usage);
		else
			usage();
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	q.nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!q.nl || mnl_socket_bind(q.nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("nfqcount: netlink");
		return 1;
	}
	q.portid = mnl_socket_get_portid(q.nl);
	err = config(&q, NFQNL_CFG_CMD_BIND, true);
	if (err) {
		fprintf(stderr, "nfqcount: binding queue %u: %s\n", q.queue, strerror(-err));
		return 1;
	}
	printf("ready\n");
	end = tool_now_ms() + secs * 1000;
	while (!stop && tool_now_ms() < end) {
		struct pollfd p = { mnl_socket_get_fd(q.nl), POLLIN, 0 };

		if (poll(&p, 1, 100) > 0)
			input(&q);
	}
	config(&q, NFQNL_CFG_CMD_UNBIND, false);
	mnl_socket_close(q.nl);
	printf("count %lu\n", q.count);
	return 0;
}
