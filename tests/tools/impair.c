/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * impair: a stand-in for tc netem (absent from the test kernels) on one
 * host's UDP traffic with a port range: datagrams to the range (output) and
 * from it (input) go through an NFQUEUE of this namespace, where each is
 * dropped with a probability, held back (delivered late, so later ones
 * overtake it) with another, or passed at once. Duplicates come from an nft
 * `dup` rule the test adds itself. SIGUSR1 toggles an outage (every
 * datagram dropped). The table (inet mh_impair) is removed at the end.
 * Bounded in time and in packets held.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "nft.h"
#include "../../nft/nft_int.h"
#include "tooling.h"

#define IM_TABLE       "mh_impair"
#define IM_MAX_SECONDS 600
#define IM_MAX_HELD    4096
#define IM_BATCH       (64 * 1024)

struct held {
	uint32_t id;
	uint64_t due_ms;
};

struct dir_stats {
	unsigned long seen, dropped, delayed;
};

struct impair {
	struct mnl_socket *nl;
	unsigned portid;
	uint16_t queue;
	unsigned loss_pct, delay_pct, delay_min_ms, delay_max_ms;
	struct held held[IM_MAX_HELD];
	unsigned n_held;
	struct dir_stats out, in;   /* to the range, from the range */
};

static volatile sig_atomic_t stop, outage;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		outage = !outage;
	else
		stop = 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: impair QUEUE LOW-HIGH LOSS%% DELAY%% MIN_MS-MAX_MS SECONDS\n"
		"  each UDP datagram to or from ports LOW-HIGH: dropped (LOSS%%), or\n"
		"  delivered MIN..MAX ms late (DELAY%%), or passed; runs SECONDS (<= %d);\n"
		"  SIGUSR1 starts or ends an outage (everything dropped)\n",
		IM_MAX_SECONDS);
	exit(2);
}

static void parse_pair(const char *s, unsigned *lo, unsigned *hi, unsigned long max)
{
	char buf[32];
	char *dash;

	snprintf(buf, sizeof(buf), "%s", s);
	dash = strchr(buf, '-');
	if (!dash)
		usage();
	*dash = '\0';
	*lo = (unsigned)tool_num(buf, 0, max, usage);
	*hi = (unsigned)tool_num(dash + 1, 0, max, usage);
	if (*lo > *hi)
		usage();
}

/* --- the table: udp dport/sport in LOW-HIGH -> queue (never bypassed) --- */

static void queue_rule(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *chain,
		       uint32_t port_off, uint16_t lo, uint16_t hi, uint16_t q,
		       int *err)
{
	uint16_t lo_be = htons(lo), hi_be = htons(hi);
	struct nb_rule rb;

	if (*err || (*err = nb_rule_begin(&rb, IM_TABLE, chain)) < 0)
		return;
	nb_match_udp(&rb);
	nb_payload(&rb, NFT_PAYLOAD_TRANSPORT_HEADER, port_off, 2, NFT_REG_1);
	nb_cmp(&rb, NFT_CMP_GTE, &lo_be, 2);
	nb_cmp(&rb, NFT_CMP_LTE, &hi_be, 2);
	nb_queue(&rb, false, q, 1);
	*err = nb_rule_end(b, seq, &rb);
}

static int table_load(uint16_t lo, uint16_t hi, uint16_t q, bool add)
{
	static char buf[IM_BATCH];
	const struct nb_chain_def out = { "out", NF_INET_LOCAL_OUT, 10, "filter" };
	const struct nb_chain_def in = { "in", NF_INET_LOCAL_IN, 10, "filter" };
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, sizeof(buf) / 2);
	struct mh_nft *n = mh_nft_open();
	uint32_t seq = (uint32_t)time(NULL);
	int err = 0;

	if (!b || !n) {
		err = -ENOMEM;
		goto out;
	}
	mh_nft_batch_begin(b, &seq);
	if (add) {
		err = nb_table(b, &seq, NFT_MSG_NEWTABLE, IM_TABLE, 0);
		if (!err)
			err = nb_chain(b, &seq, NFT_MSG_NEWCHAIN, IM_TABLE, &out);
		if (!err)
			err = nb_chain(b, &seq, NFT_MSG_NEWCHAIN, IM_TABLE, &in);
		queue_rule(b, &seq, "out", 2, lo, hi, q, &err);   /* udp dport */
		queue_rule(b, &seq, "in", 0, lo, hi, q, &err);    /* udp sport */
	} else {
		err = mh_nft_build_table_delete(b, &seq, IM_TABLE);
	}
	mh_nft_batch_end(b, &seq);
	if (!err)
		err = mh_nft_send_sync(n, b);
out:
	if (b)
		mnl_nlmsg_batch_stop(b);
	if (n)
		mh_nft_close(n);
	return err;
}

/* --- the queue --- */

static int queue_bind(struct impair *im)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	im->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!im->nl || mnl_socket_bind(im->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	im->portid = mnl_socket_get_portid(im->nl);
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, im->queue);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (mnl_socket_sendto(im->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, im->queue);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_META, 0);
	if (mnl_socket_sendto(im->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

static void verdict(struct impair *im, uint32_t id, int v)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, im->queue);

	nfq_nlmsg_verdict_put(nlh, id, v);
	if (mnl_socket_sendto(im->nl, nlh, nlh->nlmsg_len) < 0)
		perror("impair: verdict");
}

static unsigned rand_below(unsigned n)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)random();
	return n ? r % n : 0;
}

static void decide(struct impair *im, uint32_t id, bool outbound)
{
	struct dir_stats *st = outbound ? &im->out : &im->in;
	unsigned r = rand_below(100);

	st->seen++;
	if (outage || r < im->loss_pct) {
		st->dropped++;
		verdict(im, id, NF_DROP);
	} else if (r < im->loss_pct + im->delay_pct && im->n_held < IM_MAX_HELD) {
		st->delayed++;
		im->held[im->n_held++] = (struct held){
			.id = id,
			.due_ms = tool_now_ms() + im->delay_min_ms +
				  rand_below(im->delay_max_ms - im->delay_min_ms + 1),
		};
	} else {
		verdict(im, id, NF_ACCEPT);
	}
}

static int packet_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	struct nfqnl_msg_packet_hdr *ph;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	decide(data, ntohl(ph->packet_id), ph->hook == NF_INET_LOCAL_OUT);
	return MNL_CB_OK;
}

/* Release the held packets that are due (all of them with flush). */
static void release(struct impair *im, bool flush)
{
	uint64_t now = tool_now_ms();
	unsigned i = 0;

	while (i < im->n_held) {
		if (flush || im->held[i].due_ms <= now) {
			verdict(im, im->held[i].id, NF_ACCEPT);
			im->held[i] = im->held[--im->n_held];
		} else {
			i++;
		}
	}
}

static int next_due(const struct impair *im)
{
	uint64_t now = tool_now_ms(), due = now + 100;

	for (unsigned i = 0; i < im->n_held; i++)
		if (im->held[i].due_ms < due)
			due = im->held[i].due_ms;
	return due > now ? (int)(due - now) : 0;
}

static void run(struct impair *im, unsigned seconds)
{
	static char buf[0xffff + 4096];
	uint64_t end = tool_now_ms() + (uint64_t)seconds * 1000;
	struct pollfd pfd = { .fd = mnl_socket_get_fd(im->nl), .events = POLLIN };

	while (!stop && tool_now_ms() < end) {
		if (poll(&pfd, 1, next_due(im)) > 0) {
			ssize_t n = recv(pfd.fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (n > 0)
				mnl_cb_run(buf, (size_t)n, 0, im->portid, packet_cb, im);
		}
		release(im, false);
	}
	release(im, true);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	static struct impair im;
	unsigned lo, hi, seconds;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 7)
		usage();
	im.queue = (uint16_t)tool_num(argv[1], 0, 65535, usage);
	parse_pair(argv[2], &lo, &hi, 65535);
	im.loss_pct = (unsigned)tool_num(argv[3], 0, 100, usage);
	im.delay_pct = (unsigned)tool_num(argv[4], 0, 100 - im.loss_pct, usage);
	parse_pair(argv[5], &im.delay_min_ms, &im.delay_max_ms, 10000);
	seconds = (unsigned)tool_num(argv[6], 0, IM_MAX_SECONDS, usage);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	err = queue_bind(&im);
	if (!err)
		err = table_load((uint16_t)lo, (uint16_t)hi, im.queue, true);
	if (err) {
		fprintf(stderr, "impair: set-up: %s\n", strerror(-err));
		return 1;
	}
	printf("impairing udp %u-%u: loss %u%%, %u%% delayed %u-%u ms, for %u s\n",
	       lo, hi, im.loss_pct, im.delay_pct, im.delay_min_ms, im.delay_max_ms,
	       seconds);
	run(&im, seconds);
	err = table_load(0, 0, 0, false);
	if (err)
		fprintf(stderr, "impair: removing table inet %s: %s\n", IM_TABLE,
			strerror(-err));
	/* what was queued before the table went: passed unharmed */
	im.loss_pct = im.delay_pct = 0;
	stop = outage = 0;
	run(&im, 1);
	printf("to the range: %lu datagrams, %lu dropped, %lu delayed\n",
	       im.out.seen, im.out.dropped, im.out.delayed);
	printf("from the range: %lu datagrams, %lu dropped, %lu delayed\n",
	       im.in.seen, im.in.dropped, im.in.delayed);
	mnl_socket_close(im.nl);
	return err ? 1 : 0;
}
