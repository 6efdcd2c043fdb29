/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gwcount: the resync item of `make bench` (issue 13). Counts the elements
 * added to the gateway table's IPv4 sessions set as the kernel announces
 * them (NEWSETELEM events, less DELSETELEM, on an nftables event socket,
 * each stamped when read) until N are in, then confirms with one dump of
 * the set half a second later. Times are CLOCK_REALTIME ns, for run.sh to set against the
 * gateway's start, which comes after "ready". Bounded by TIMEOUT_MS. If the event
 * socket overflows it says so and polls dumps instead (every 10 ms; a dump
 * of 10,000 elements takes 100+ ms on a loaded machine).
 *   gwcount TABLE N TIMEOUT_MS
 * Prints "ready", then "first_ns F all_ns A count C dumped D events E
 * overflow O" (0: not seen); exit 1 if N was not reached in time.
 */
#include <poll.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libmnl/libmnl.h>

#include "bench.h"
#include "nft.h"
#include "nft_gw.h"

#define GC_SET   "sessions4"
#define GC_BUF   (1 << 16)
#define GC_RCVBUF (64 << 20)

struct gc {
	const char *table;
	uint64_t end, first, all;
	long want, count, events;
	bool overflow;
};

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void count_one(const struct mh_addr *client, const struct mh_addr *server,
		      uint64_t expires_ms, void *arg)
{
	(void)client;
	(void)server;
	(void)expires_ms;
	++*(long *)arg;
}

/* Elements in sessions4 by one dump now (0 while the table is missing). */
static long dumped(const char *table)
{
	struct mh_nft *n = mh_nft_open();
	long c = 0;

	if (!n)
		return 0;
	if (mh_nft_gw_dump(n, table, MH_GW_SESSION, AF_INET, count_one, &c) < 0)
		c = 0;
	mh_nft_close(n);
	return c;
}

/* The elements of a set-element event of TABLE's sessions4, or 0. */
static long event_elems(const struct nlmsghdr *nlh, const char *table)
{
	const struct nlattr *a, *e;
	const char *t = "", *s = "";
	long n = 0;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		switch (mnl_attr_get_type(a)) {
		case NFTA_SET_ELEM_LIST_TABLE:
			t = mnl_attr_get_str(a);
			break;
		case NFTA_SET_ELEM_LIST_SET:
			s = mnl_attr_get_str(a);
			break;
		case NFTA_SET_ELEM_LIST_ELEMENTS:
			mnl_attr_for_each_nested(e, a)
				n++;
			break;
		}
	}
	return strcmp(t, table) || strcmp(s, GC_SET) ? 0 : n;
}

static void on_events(struct gc *g, const char *buf, int len)
{
	const struct nlmsghdr *nlh;

	for (nlh = (const void *)buf; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);
		long n;

		if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
		    (type != NFT_MSG_NEWSETELEM && type != NFT_MSG_DELSETELEM))
			continue;
		n = event_elems(nlh, g->table);
		g->events++;
		g->count += type == NFT_MSG_NEWSETELEM ? n : -n;
		if (g->count > 0 && !g->first)
			g->first = real_ns();
	}
}

/* Events until N are in: 0, -ENOBUFS (overflow) or -ETIMEDOUT. */
static int by_events(struct gc *g, struct mnl_socket *ev)
{
	static char buf[GC_BUF];

	while (g->count < g->want) {
		struct pollfd p = { mnl_socket_get_fd(ev), POLLIN, 0 };
		uint64_t now = bench_now_ns();
		ssize_t n;

		if (now >= g->end)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)((g->end - now) / 1000000) + 1) <= 0)
			continue;
		n = recv(p.fd, buf, sizeof(buf), 0);
		if (n < 0)
			return errno == ENOBUFS ? -ENOBUFS : -errno;
		on_events(g, buf, (int)n);
	}
	g->all = real_ns();
	return 0;
}

/* The fallback: a dump every 10 ms. */
static void by_dumps(struct gc *g)
{
	while (bench_now_ns() < g->end) {
		g->count = dumped(g->table);
		if (g->count > 0 && !g->first)
			g->first = real_ns();
		if (g->count >= g->want) {
			g->all = real_ns();
			return;
		}
		poll(NULL, 0, 10);
	}
}

static struct mnl_socket *event_socket(void)
{
	struct mnl_socket *ev = mnl_socket_open(NETLINK_NETFILTER);
	int sz = GC_RCVBUF;

	if (!ev || mnl_socket_bind(ev, 1u << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) < 0) {
		perror("gwcount: netlink");
		exit(1);
	}
	if (setsockopt(mnl_socket_get_fd(ev), SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(mnl_socket_get_fd(ev), SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	return ev;
}

int main(int argc, char **argv)
{
	struct gc g = { 0 };
	struct mnl_socket *ev;
	long d;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 4) {
		fprintf(stderr, "usage: gwcount TABLE N TIMEOUT_MS\n");
		return 2;
	}
	g.table = argv[1];
	g.want = bench_num("gwcount", argv[2], 1, 1000000, "count");
	g.end = bench_now_ns() + (uint64_t)bench_num("gwcount", argv[3], 1,
						   BENCH_MAX_SECONDS * 1000, "timeout") * 1000000ull;
	ev = event_socket();
	g.count = dumped(g.table);   /* what is in already (0 on a fresh table) */
	printf("ready\n");
	if (g.count >= g.want)
		g.first = g.all = real_ns();
	else if (by_events(&g, ev) == -ENOBUFS) {
		g.overflow = true;
		by_dumps(&g);
	}
	/* the set's hash table may still be resizing after the burst of adds:
	 * a dump across a resize can return an element twice */
	poll(NULL, 0, 500);
	d = dumped(g.table);
	printf("first_ns %llu all_ns %llu count %ld dumped %ld events %ld overflow %d\n",
	       (unsigned long long)g.first, (unsigned long long)g.all, g.count, d,
	       g.events, g.overflow);
	mnl_socket_close(ev);
	return g.all ? 0 : 1;
}
