/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The table watch: a netlink socket subscribed to nftables events
 * (NFNLGRP_NFTABLES), and the pure test that says whether a buffer of
 * events changed mosh-helper's table from a socket other than the
 * daemon's own (so the daemon's own batches never set off a rebuild).
 * Where the table cannot be owned and persistent, this is how a flush or
 * delete of it is noticed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft.h"

#define WATCH_RCVBUF (4 * 1024 * 1024)
#define WATCH_BUF    65536
/* Every object message (table, chain, rule, set, element list, object,
 * flowtable) names its table in attribute 1: NFTA_TABLE_NAME,
 * NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE, ... */
#define ATTR_TABLE   1

struct mh_nft_watch {
	struct mnl_socket *nl;
	char buf[WATCH_BUF];
};

struct mh_nft_watch *mh_nft_watch_open(void)
{
	struct mh_nft_watch *w = calloc(1, sizeof(*w));
	int rcv = WATCH_RCVBUF, err;

	if (!w)
		return NULL;
	w->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!w->nl || mnl_socket_bind(w->nl, 1u << (NFNLGRP_NFTABLES - 1),
				      MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	if (setsockopt(mnl_socket_get_fd(w->nl), SOL_SOCKET, SO_RCVBUFFORCE,
		       &rcv, sizeof(rcv)) < 0)
		setsockopt(mnl_socket_get_fd(w->nl), SOL_SOCKET, SO_RCVBUF,
			   &rcv, sizeof(rcv));
	return w;
fail:
	err = errno;
	if (w->nl)
		mnl_socket_close(w->nl);
	free(w);
	errno = err;
	return NULL;
}

void mh_nft_watch_close(struct mh_nft_watch *w)
{
	if (!w)
		return;
	mnl_socket_close(w->nl);
	free(w);
}

int mh_nft_watch_fd(const struct mh_nft_watch *w)
{
	return mnl_socket_get_fd(w->nl);
}

/* The table attribute of an nftables object message, or NULL. Walked
 * within nlmsg_len itself: libmnl's attribute loop ends at the aligned
 * length, up to 3 bytes past a last message of unaligned length (found by
 * fuzz_nftevent). */
static const struct nlattr *table_attr(const struct nlmsghdr *nlh)
{
	size_t end = nlh->nlmsg_len;
	size_t off = mnl_nlmsg_size(MNL_ALIGN(sizeof(struct nfgenmsg)));

	while (off <= end && end - off >= sizeof(struct nlattr)) {
		const struct nlattr *a = (const void *)((const char *)nlh + off);

		if (a->nla_len < sizeof(*a) || a->nla_len > end - off)
			return NULL;
		if (mnl_attr_get_type(a) == ATTR_TABLE)
			return a;
		off += MNL_ALIGN(a->nla_len);
	}
	return NULL;
}

static bool names_table(const struct nlattr *a, const char *table)
{
	size_t n = strlen(table);
	uint16_t len = mnl_attr_get_payload_len(a);
	const char *v = mnl_attr_get_payload(a);

	/* the kernel's strings carry their NUL; accept one without, too */
	return (len == n + 1 && v[n] == '\0' && !memcmp(v, table, n)) ||
	       (len == n && !memcmp(v, table, n));
}

static bool event_touches(const struct nlmsghdr *nlh, const char *table,
			  uint32_t own_portid)
{
	const struct nfgenmsg *g;
	const struct nlattr *a;
	uint16_t type = nlh->nlmsg_type;

	if (NFNL_SUBSYS_ID(type) != NFNL_SUBSYS_NFTABLES ||
	    NFNL_MSG_TYPE(type) == NFT_MSG_NEWGEN ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*g)) ||
	    nlh->nlmsg_pid == own_portid)
		return false;
	g = mnl_nlmsg_get_payload(nlh);
	if (g->nfgen_family != NFPROTO_INET)
		return false;
	a = table_attr(nlh);
	return a && names_table(a, table);
}

/* Walks the messages with size_t bounds: mnl_nlmsg_ok() takes a length
 * of 2 GiB or more for a negative int and walks off the buffer (found by
 * fuzz_nftevent). */
bool mh_nft_event_touches(const void *buf, size_t len, const char *table,
			  uint32_t own_portid)
{
	size_t off = 0;

	while (len - off >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const void *)((const char *)buf + off);
		size_t step = NLMSG_ALIGN((size_t)nlh->nlmsg_len);

		if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len - off)
			return false;
		if (event_touches(nlh, table, own_portid))
			return true;
		if (step >= len - off)
			return false;
		off += step;
	}
	return false;
}

int mh_nft_watch_read(struct mh_nft_watch *w, const char *table,
		      uint32_t own_portid)
{
	char *buf = w->buf;
	int touched = 0;

	for (;;) {
		ssize_t r = recv(mnl_socket_get_fd(w->nl), buf, WATCH_BUF, MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ENOBUFS) {
			touched = 1;     /* events lost: assume the worst */
			continue;
		}
		if (r < 0)
			return errno == EAGAIN ? touched : -errno;
		if (r == 0)
			return touched;
		if (mh_nft_event_touches(buf, (size_t)r, table, own_portid))
			touched = 1;
	}
}
