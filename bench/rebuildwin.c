/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rebuildwin: how long the range is without mosh-helper's table after an
 * admin's `nft flush ruleset` (issue 10, the rebuild path of kernels
 * without persistent tables). Run next to a daemon with
 * table_flags = "none": each trial flushes the whole ruleset (the message
 * `nft flush ruleset` sends) and times, on one event socket, the
 * deletion of the table (its DELTABLE event) to the daemon's rebuild (the
 * NEWTABLE event of another socket), both stamped when read. Bounded in
 * trials and time; prints table_rebuild_window_ms p50/p99.
 * Usage: rebuildwin TABLE TRIALS [PAUSE_MS]
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/table.h>

#include "bench.h"

#define MAX_TRIALS 1000
#define WAIT_MS    2000     /* a rebuild later than this counts as lost */
#define BUF        65536

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* `nft flush ruleset`: a table delete without a name, family unspec. */
static int flush_ruleset(struct mnl_socket *nl, uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, sizeof(buf) / 2);
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	ssize_t r;

	nftnl_batch_begin(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_DELTABLE,
				    NFPROTO_UNSPEC, NLM_F_ACK, seq++);
	nftnl_table_nlmsg_build_payload(nlh, t);
	mnl_nlmsg_batch_next(b);
	nftnl_batch_end(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	r = mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b));
	mnl_nlmsg_batch_stop(b);
	nftnl_table_free(t);
	return r < 0 ? -errno : 0;
}

/* The table named by a table event, or "" */
static void event_table(const struct nlmsghdr *nlh, char *name, size_t len)
{
	const struct nlattr *a;

	name[0] = 0;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_TABLE_NAME)
			snprintf(name, len, "%s", mnl_attr_get_str(a));
}

/* Reads events until the deletion (*t_del) and the rebuild (*t_new) of
 * table are both seen, or WAIT_MS passed: 0, or -ETIMEDOUT. */
static int wait_events(struct mnl_socket *ev, const char *table, uint32_t own,
		       double *t_del, double *t_new)
{
	static char buf[BUF];
	double end = now_ms() + WAIT_MS;

	*t_del = *t_new = 0;
	while (!*t_new) {
		struct pollfd pfd = { mnl_socket_get_fd(ev), POLLIN, 0 };
		double left = end - now_ms();
		ssize_t n;
		int len;
		const struct nlmsghdr *nlh;

		if (left <= 0 || poll(&pfd, 1, (int)left + 1) <= 0)
			return -ETIMEDOUT;
		n = recv(pfd.fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -errno;
		len = (int)n;
		for (nlh = (void *)buf; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);
			char name[64];

			if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
			    (type != NFT_MSG_DELTABLE && type != NFT_MSG_NEWTABLE))
				continue;
			event_table(nlh, name, sizeof(name));
			if (strcmp(name, table))
				continue;
			if (type == NFT_MSG_DELTABLE && nlh->nlmsg_pid == own && !*t_del)
				*t_del = now_ms();
			else if (type == NFT_MSG_NEWTABLE && nlh->nlmsg_pid != own && *t_del)
				*t_new = now_ms();
		}
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static double w[MAX_TRIALS];
	struct mnl_socket *nl, *ev;
	int trials, pause_ms, got = 0, lost = 0;
	uint32_t seq = (uint32_t)time(NULL), own;

	if (argc < 3 || (trials = atoi(argv[2])) < 1 || trials > MAX_TRIALS) {
		fprintf(stderr, "usage: rebuildwin TABLE TRIALS(1-%d) [PAUSE_MS]\n", MAX_TRIALS);
		return 2;
	}
	pause_ms = argc > 3 ? atoi(argv[3]) : 200;
	nl = mnl_socket_open(NETLINK_NETFILTER);
	ev = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || !ev || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_bind(ev, 1u << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) < 0) {
		perror("rebuildwin: netlink");
		return 1;
	}
	own = mnl_socket_get_portid(nl);
	for (int i = 0; i < trials; i++) {
		double t_del, t_new;
		struct timespec p = { pause_ms / 1000, (pause_ms % 1000) * 1000000L };

		if (flush_ruleset(nl, seq) < 0) {
			perror("rebuildwin: flush");
			return 1;
		}
		seq += 3;
		if (wait_events(ev, argv[1], own, &t_del, &t_new) == 0)
			w[got++] = t_new - t_del;
		else
			lost++;
		nanosleep(&p, NULL);
	}
	if (!got) {
		fprintf(stderr, "rebuildwin: the table never came back\n");
		return 1;
	}
	qsort(w, (size_t)got, sizeof(w[0]), cmp_double);
	printf("trials: %d rebuilt, %d not within %d ms\n", got, lost, WAIT_MS);
	printf("table_rebuild_window_ms_p50: %.3f ms\n", w[(got - 1) / 2]);
	printf("table_rebuild_window_ms_p99: %.3f ms\n", w[(got * 99 + 99) / 100 - 1]);
	printf("table_rebuild_window_ms_max: %.3f ms\n", w[got - 1]);
	return 0;
}
